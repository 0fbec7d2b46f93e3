/* The flow table: one bidirectional entry per 5-tuple.
 *
 * A flow knows its client and server (see direction_basis), its per-side
 * counters, Zeek's endpoint states and history letters, which dissector owns
 * it, and when it should end.  Flows live on one of a few LRU lists, one per
 * timeout class, so expiring idle flows only ever looks at the oldest entry
 * of each list.
 */
#ifndef PORTOLAN_FLOW_H
#define PORTOLAN_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portolan/decode.h"
#include "portolan/dissector.h"
#include "portolan/types.h"

/* Zeek's TCP endpoint states (TCP_Endpoint.h), and UDP's two. */
enum endpoint_state {
	EP_INACTIVE = 0,
	EP_SYN_SENT,
	EP_SYN_ACK_SENT,
	EP_PARTIAL,
	EP_ESTABLISHED,
	EP_CLOSED,
	EP_RESET,
	EP_UDP_ACTIVE, /* UDP: this side sent a datagram */
};

enum direction_basis { BASIS_HANDSHAKE = 0, BASIS_PORT, BASIS_FIRST_PACKET };

enum detected_by { DETECTED_NONE = 0, DETECTED_PAYLOAD, DETECTED_PORT };

/* Which LRU list (timeout class) a flow is on. */
enum flow_class {
	FLOW_CLASS_TCP_OPENING = 0, /* TCP, not established: short timeout */
	FLOW_CLASS_TCP_ESTABLISHED,
	FLOW_CLASS_UDP,     /* and ICMP sessions, on the same timeout */
	FLOW_CLASS_CLOSING, /* closed or reset: waits the close delay */
	FLOW_CLASS_COUNT
};

#define HISTORY_MAX 32

/* Zeek's per-endpoint sequence bookkeeping, relative to the endpoint's
 * initial sequence number (a partial flow pretends its SYN was just before
 * the first byte seen, as Zeek does). */
struct tcp_endpoint {
	uint8_t state, prev_state;
	bool seq_init;
	uint8_t fin_count;
	uint32_t start_seq; /* absolute ISN */
	uint32_t last_seq;  /* absolute: one past the highest sequence sent */
	uint32_t ack_seq;   /* absolute: highest ack the peer sent for our data */
	uint64_t last_rel;  /* last_seq relative to start, 64-bit (wraps folded in) */
	uint64_t ack_rel;   /* ack_seq relative to start */
	bool ack_seen;
	uint32_t hist_last_syn, hist_last_fin, hist_last_rst; /* low 32 bits: compared only */
	uint32_t rxmit_count, rxmit_thresh;
	uint32_t zero_win_count, zero_win_thresh;
	uint32_t gap_count, gap_thresh;
	uint8_t window_scale;
};

struct flow_stream;  /* TCP reassembly state of both directions (stream.c) */
struct byte_buffer;  /* bytes a dissector has not consumed yet, or probe bytes */
struct expect_entry; /* an expectation that made a flow (dissect.h) */
struct explain_log;  /* --explain's packet log (explain.c) */
struct icmp_state;   /* ICMP session and error state (icmp.c) */

struct flow {
	struct flow *hash_next;
	struct flow *lru_prev, *lru_next;
	uint32_t hash;
	uint8_t lru_class;

	uint8_t ip_version;
	uint8_t proto; /* TRANSPORT_TCP, TRANSPORT_UDP, TRANSPORT_ICMP or TRANSPORT_ICMPV6 */
	uint8_t direction_basis;
	bool flipped;           /* the first packet came from the server: '^' */
	bool ended;             /* closed: waiting only for the close delay */
	struct ip_addr addr[2]; /* [DIR_CLIENT], [DIR_SERVER] */
	uint16_t port[2];

	uint64_t serial; /* order of creation, for the uid */
	usec_t ts_first, ts_last;
	uint64_t packets[2];
	uint64_t payload_bytes[2]; /* as captured: UDP's bytes, TCP's upper bound */

	struct tcp_endpoint ep[2];
	usec_t syn_ts, synack_ts;
	int64_t handshake_rtt_us; /* -1 when unknown */

	char history[HISTORY_MAX + 1];
	uint8_t history_len;
	uint32_t history_seen; /* one bit per letter and side already recorded */

	bool has_mac;
	uint8_t mac[2][6]; /* by sending side */
	uint8_t n_vlans;
	uint16_t vlans[2];

	uint32_t alerts; /* bit per enum alert */
	bool snap_truncated;
	bool explain_refused; /* --explain over its session cap: never logged */
	uint64_t missed_bytes[2];

	/* classification and the owning dissector */
	const struct dissector *dissector;
	void *dstate;
	uint8_t detected_by;
	uint8_t classify_done; /* bit per direction that has been probed to the end */
	bool forced;           /* -d PORT=PROTO */
	struct byte_buffer *pending[2];
	uint8_t probes[2];  /* payloads probed per direction without a verdict */
	uint8_t reassembly; /* 0 none, 1 ours only, 2 libnids (then maybe ours) */
	bool has_parent;
	bool expected_owned;
	struct flow_stream *tcp;
	/* a second dissector the stream was handed to (STARTTLS, CONNECT...) */
	const struct dissector *inner;
	void *inner_state;
	/* the session that announced this flow (an expectation), by serial */
	uint64_t parent_serial;
	/* set with has_parent: the expectation's slot (kept while the flow
	 * lives, so its announcer can still annotate it), or a copy of our
	 * own for detached test sessions (expected_owned) */
	struct expected_from *expected;
	struct expect_entry *expect_slot;
	/* --explain: the packets logged for the ladder (explain.c) */
	struct explain_log *explain;
	/* ICMP: a query session's counts, and errors about this flow (icmp.c) */
	struct icmp_state *icmp;
};

_Static_assert(sizeof(struct flow) <= 512, "keep the per-flow core struct small");

struct flow_config {
	size_t max_flows;               /* default 262144 */
	usec_t tcp_opening_timeout;     /* 30 s */
	usec_t tcp_established_timeout; /* 5 min */
	usec_t udp_timeout;             /* 60 s */
	usec_t close_delay;             /* 5 s after FIN/RST closes, as Zeek's tcp_close_delay */
	/* creation serials (the uid) run first, first + step, ...: --workers
	 * gives each worker its own residue so uids stay unique (step 0 = 1) */
	uint64_t serial_first, serial_step;
};
void flow_config_default(struct flow_config *cfg);

struct flow_table;

/* Called for each flow that ends (timeout, close, eviction or flush), just
 * before it is freed. */
enum flow_end_reason { END_IDLE = 0, END_CLOSED, END_EVICTED, END_FLUSH, END_REUSED };
typedef void (*flow_end_fn)(struct flow *f, enum flow_end_reason why, void *ctx);

struct flow_table *flow_table_new(const struct flow_config *cfg, flow_end_fn on_end, void *ctx);
void flow_table_free(struct flow_table *t);

/* Finds the flow of packet p, creating it if needed (and evicting when at
 * the cap).  *dir says which side sent p.  NULL only when memory fails. */
struct flow *flow_lookup(struct flow_table *t, const struct packet *p, enum direction *dir,
                         bool *created);

/* Finds the flow of a tuple (sender src:sport, receiver dst:dport) without
 * creating one; *dir is the sender's side.  NULL when there is none. */
struct flow *flow_find(struct flow_table *t, uint8_t proto, const struct ip_addr *src,
                       uint16_t sport, const struct ip_addr *dst, uint16_t dport,
                       enum direction *dir);

/* Updates counters, states and history for p sent by side dir, and moves
 * the flow to the right timeout list. */
void flow_update(struct flow_table *t, struct flow *f, const struct packet *p, enum direction dir);

/* Ends flows whose timeout passed at packet time now. */
void flow_table_expire(struct flow_table *t, usec_t now);
/* Ends every flow (end of input or shutdown). */
void flow_table_flush(struct flow_table *t);
/* Ends one flow now (e.g. a dissector saw it end). */
void flow_end(struct flow_table *t, struct flow *f, enum flow_end_reason why);

struct flow_table_stats {
	uint64_t created, ended, evicted, active, max_active;
	uint64_t ended_by[5];
};
const struct flow_table_stats *flow_table_stats(const struct flow_table *t);

/* A Zeek-style uid ("C" + base62) from a flow's creation serial: unique
 * within a run and the same on every run over the same input. */
void flow_uid(uint64_t serial, char *out, size_t n);

/* Zeek's CheckHistory: records a history letter (given in upper case; the
 * server's is written in lower case) the first time it happens in that
 * direction.  Returns true when it had been recorded already. */
bool flow_history_check(struct flow *f, enum direction dir, char letter);
/* Appends the letter unconditionally (Zeek's AddHistory). */
void flow_history_add(struct flow *f, enum direction dir, char letter);
/* Zeek's ScaledHistoryEntry: adds the letter when count reaches 1, 10,
 * 100... */
void flow_history_scaled(struct flow *f, enum direction dir, char letter, uint32_t *count,
                         uint32_t *thresh);

/* Zeek's conn_state for the flow as it stands. */
const char *flow_conn_state(const struct flow *f);
/* Payload bytes sent by side dir: by sequence space for TCP. */
uint64_t flow_bytes(const struct flow *f, enum direction dir);

/* Zeek's TCP endpoint state machine and history (tcp_state.c). */
void tcp_state_update(struct flow *f, enum direction dir, const struct packet *p);

#endif
