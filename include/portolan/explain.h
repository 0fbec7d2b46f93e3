/* `--explain`: a ladder diagram of each session's packets and a plain-English
 * account of what happened (the TCP handshake, data and acknowledgements,
 * retransmissions, the close; or UDP's bare datagrams and what the
 * application does instead).
 *
 * The pipeline logs the first packets of the first sessions (both capped)
 * while they happen, and draws a session when it ends, just before its
 * record.  Counters over the whole session (retransmissions, FINs, RSTs)
 * are kept past the packet cap, so the explanation is about all of it.
 */
#ifndef PORTOLAN_EXPLAIN_H
#define PORTOLAN_EXPLAIN_H

#include <stdbool.h>
#include <stdio.h>

#include "portolan/decode.h"
#include "portolan/flow.h"

struct explain_config {
	bool on;
	unsigned max_packets;  /* arrows drawn per session (default 40) */
	unsigned max_sessions; /* sessions drawn (default 20) */
	bool color;            /* ANSI colours */
};
void explain_config_default(struct explain_config *cfg);

struct explain_ctx {
	struct explain_config cfg;
	FILE *fp; /* where ladders are drawn (stdout) */
	unsigned sessions_logged;
	uint64_t sessions_not_drawn;
};

/* A packet of flow f sent by side dir (after flow_update). */
void explain_packet(struct explain_ctx *x, struct flow *f, enum direction dir,
                    const struct packet *p);

/* Draws f's ladder and explanation (protocol: the record's) and frees its
 * log.  Does nothing for a flow that was not logged. */
void explain_flow_end(struct explain_ctx *x, struct flow *f, const char *protocol);

/* Frees f's log without drawing it. */
void explain_release(struct flow *f);

/* The closing line after the run: how many sessions were not drawn. */
void explain_finish(const struct explain_ctx *x);

#endif
