/* The dissector interface: one const descriptor per protocol.
 *
 * The core decides which dissector owns a flow (port hint first, then each
 * dissector's probe on the first payload bytes) and then hands it datagrams
 * or the in-order bytes of each direction of a stream.  A dissector keeps its
 * own per-flow state (state_size bytes, zeroed by the core), never prints,
 * and reads wire bytes only through struct reader.
 */
#ifndef PORTOLAN_DISSECTOR_H
#define PORTOLAN_DISSECTOR_H

#include "portolan/emitter.h"
#include "portolan/reader.h"
#include "portolan/session.h"
#include "portolan/types.h"

enum verdict { VERDICT_NO = 0, VERDICT_YES, VERDICT_NEED_MORE };

struct dissector {
	const char *name;      /* "dns": also the JSON key of its object */
	unsigned transports;   /* TRANSPORT_BIT_TCP | TRANSPORT_BIT_UDP */
	const uint16_t *ports; /* well-known ports, 0-terminated: a hint */
	size_t state_size;     /* per-flow state, zeroed by the core */

	/* A cheap look at the first bytes one side sent (a datagram, or the
	 * start of a stream): yes, no, or need more.  Looks at a bounded number
	 * of bytes and never fails on short input. */
	enum verdict (*probe)(struct reader r, enum direction dir);

	/* A datagram, or the next in-order bytes of one direction of a stream.
	 * Returns how many bytes it consumed; for streams the core keeps the
	 * rest (up to a cap) and hands it back with the next bytes.  For
	 * datagrams the return value is ignored. */
	size_t (*on_data)(struct session *s, void *state, enum direction dir, struct reader r);

	/* `missing` bytes of a stream direction were lost (may be NULL). */
	void (*on_gap)(struct session *s, void *state, enum direction dir, size_t missing);

	/* The flow ends; last chance to finish state (may be NULL). */
	void (*on_end)(struct session *s, void *state);

	/* Writes the protocol's keys (inside its own object) through e. */
	void (*emit)(const void *state, struct emitter *e);

	/* A short human summary for the text line, e.g. "A www.example.com ->
	 * NOERROR 93.184.216.34" (may be NULL).  Writes at most n bytes. */
	void (*summarize)(const void *state, char *buf, size_t n);

	/* The record's `protocol` when it is not `name` (DNS says "mdns" or
	 * "llmnr" on their ports); may be NULL. */
	const char *(*protocol_name)(const void *state);

	/* Frees anything the state owns beyond state_size (may be NULL). */
	void (*release)(void *state);
};

/* The registry: every dissector, in the order probes are tried. */
extern const struct dissector *const dissector_registry[];
extern const size_t dissector_count;

const struct dissector *dissector_by_name(const char *name);

/* A value-to-name table entry (tcpdump's struct tok). */
struct value_name {
	unsigned value;
	const char *name;
};
/* The name for v in a {0, NULL}-terminated table, or NULL. */
const char *value_name_lookup(const struct value_name *table, unsigned v);

#endif
