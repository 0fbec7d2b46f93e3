/* The core side of the dissector interface: choosing a flow's dissector
 * (decode-as, port hint, payload probes) and handing it datagrams, stream
 * bytes, gaps and the end of the flow. */
#ifndef PORTOLAN_DISSECT_H
#define PORTOLAN_DISSECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portolan/counters.h"
#include "portolan/dissector.h"
#include "portolan/flow.h"

#define DECODE_AS_MAX 32

struct decode_as {
	uint16_t port;
	const struct dissector *dissector;
};

struct dissect_config {
	size_t probe_bytes;     /* bytes kept per direction while probing: 2048 */
	unsigned probe_packets; /* payloads per direction before giving up: 4 */
	size_t pending_cap;     /* unconsumed bytes kept per direction: 256 KiB */
	/* all flows' pending and probe buffers together (their capacity);
	 * 0: no limit.  Set from --memcap. */
	size_t pending_total_cap;
	bool show_credentials;
	struct decode_as decode_as[DECODE_AS_MAX];
	size_t n_decode_as;
	size_t exchange_max; /* cross-flow records open at once: EXCHANGE_MAX_DEFAULT */
};

/* Flows that sessions announced (FTP data channels, SIP media). */
#define EXPECT_MAX 256

struct expect_entry {
	struct expectation e; /* e.note points into from.note */
	struct expected_from from;
	uint64_t parent_serial;
	const struct dissector *dissector;
	bool used;
	bool child_live; /* the flow it made still reads from.note: keep the slot */
};

struct expect_table {
	struct expect_entry entries[EXPECT_MAX];
	size_t n;
	struct counters *counters;
};

struct dissect_ctx {
	struct dissect_config cfg;
	struct counters *counters;
	struct expect_table expects;
	size_t pending_held, pending_peak; /* bytes of capacity, now and at most */
	/* cross-flow records (portolan/exchange.h); NULL: none are kept */
	struct exchange_table *exchanges;
};

/* A new flow: when a session announced it, it is pinned to the announced
 * dissector and linked to that session.  Returns true when it was. */
bool dissect_expected(struct dissect_ctx *c, struct flow *f, usec_t now);

void dissect_config_default(struct dissect_config *cfg);

/* A datagram sent by side dir; truncated when the snaplen cut it (the
 * dissector's "malformed" then becomes "truncated"). */
void dissect_datagram(struct dissect_ctx *c, struct flow *f, enum direction dir, usec_t now,
                      const uint8_t *data, size_t len, bool truncated);
/* The next in-order bytes of direction dir of a stream. */
void dissect_stream(struct dissect_ctx *c, struct flow *f, enum direction dir, usec_t now,
                    const uint8_t *data, size_t len);
/* missing bytes of direction dir were lost. */
void dissect_gap(struct dissect_ctx *c, struct flow *f, enum direction dir, usec_t now,
                 size_t missing);
/* The flow ends: finishes classification and calls on_end. */
void dissect_end(struct dissect_ctx *c, struct flow *f, usec_t now);
/* Frees the dissector state and buffers. */
void dissect_release(struct flow *f);

/* The record's `protocol` and `detected_by` ("payload", "port" or NULL). */
const char *dissect_protocol(const struct flow *f);
const char *dissect_detected_by(const struct flow *f);
/* True when the payload was offered to the dissector registered on the
 * server port, it said no, and nobody else said yes. */
bool dissect_rejected_by_port(const struct flow *f);

#endif
