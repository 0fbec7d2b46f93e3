/* Cross-flow records: conversations whose messages travel between several
 * address pairs, so over several flows (a DHCP exchange goes from
 * 0.0.0.0:68 to 255.255.255.255:67 and comes back from the server's own
 * address).  They are separate records ("type": "dhcp"), never a second
 * record for one flow (../shared/SESSION-SCHEMA.md, "Other record types").
 *
 * The table belongs to one run (the pipeline's dissect context), never to
 * the process: one pipeline per thread gets one table each.  Dissectors
 * reach it only through session_exchange() and session_exchange_end()
 * (portolan/session.h); the pipeline expires it on packet time and flushes
 * it at the end of the run; the writers render its records.
 *
 * An exchange is found by (ops, key bytes).  Its state (ops->state_size
 * bytes, zeroed) belongs to the dissector that made it.  It is written when
 * the dissector says it ended (after ops->linger more packet time, so
 * duplicates and retransmissions still join it; a message in that time
 * reopens it until the dissector ends it again), after ops->idle_timeout
 * without a message, when the table is full and it is the oldest
 * ("exchange.evicted"), or at the end of the run.  Records are written in
 * the order the exchanges were created, at deterministic points of packet
 * time.
 */
#ifndef PORTOLAN_EXCHANGE_H
#define PORTOLAN_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portolan/counters.h"
#include "portolan/emitter.h"
#include "portolan/session.h"

/* Exchanges kept at once (all protocols); the oldest is written out early
 * when a new one does not fit. */
#define EXCHANGE_MAX_DEFAULT 1024
/* The longest key (DHCP: xid, htype, hlen and 16 bytes of chaddr). */
#define EXCHANGE_KEY_MAX 32

/* One exchange being written: what the writers get. */
struct exchange_record {
	const struct exchange_ops *ops;
	const void *state;
	usec_t first, last;     /* packet time of its first and last message */
	const char *end_reason; /* "complete", "idle", "evicted", "end-of-input" */
};

typedef void (*exchange_write_fn)(void *ctx, const struct exchange_record *x);

struct exchange_table;

/* write is called once per finished exchange (ctx passed through); counters
 * may be NULL.  NULL when out of memory. */
struct exchange_table *exchange_table_new(size_t cap, struct counters *counters,
                                          exchange_write_fn write, void *ctx);
/* Writes what ended, idled or lingered long enough by packet time now. */
void exchange_table_expire(struct exchange_table *t, usec_t now);
/* Writes everything still open ("end-of-input"). */
void exchange_table_flush(struct exchange_table *t);
/* Flushes, then frees. */
void exchange_table_free(struct exchange_table *t);
size_t exchange_table_count(const struct exchange_table *t);

/* What session_exchange / session_exchange_end do (tests may call them). */
void *exchange_table_get(struct exchange_table *t, const struct exchange_ops *ops, const void *key,
                         size_t key_len, usec_t now);
bool exchange_table_end(struct exchange_table *t, const struct exchange_ops *ops, const void *key,
                        size_t key_len, usec_t now);

/* The record as one object (key NULL): "type", "ts_start", "ts_end",
 * "duration", "end_reason", then the dissector's keys (ops->emit). */
void exchange_record_emit(struct emitter *e, const struct exchange_record *x);

#endif
