/* What a dissector may ask of the session it is dissecting.
 *
 * The struct is opaque to dissectors: they learn about the flow and report
 * findings only through these calls, so the core can change its flow layout
 * freely.
 */
#ifndef PORTOLAN_SESSION_H
#define PORTOLAN_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "portolan/types.h"

struct session;

/* Alerts a record can carry (../shared/SESSION-SCHEMA.md, "Alerts"). */
enum alert {
	ALERT_CLEARTEXT_CREDENTIALS = 0,
	ALERT_INSECURE_PROTOCOL,
	ALERT_NTP_CONTROL_QUERY,
	ALERT_DEPRECATED_VERSION,
	ALERT_WEAK_SECURITY,
	ALERT_NON_STANDARD_PORT,
	ALERT_MALFORMED,
	ALERT_TRUNCATED,
	ALERT_GAP,
	ALERT_COUNT
};
const char *alert_name(enum alert a);

void session_alert(struct session *s, enum alert a);

/* Increments a named run-wide counter, e.g. "dns.too_many_queries".  The
 * name must be a string literal (it is kept by pointer). */
void session_count(struct session *s, const char *counter);

/* Time of the packet being processed. */
usec_t session_now(const struct session *s);

/* The endpoints: side DIR_CLIENT is the client. */
const struct ip_addr *session_addr(const struct session *s, enum direction side);
uint16_t session_port(const struct session *s, enum direction side);
bool session_is_tcp(const struct session *s);

/* Whether credentials may be shown (--show-credentials). */
bool session_show_credentials(const struct session *s);

/* Hands the rest of this stream (both directions, from the first byte the
 * current on_data call did not consume) to the dissector called `name`
 * (STARTTLS, HTTP CONNECT, NetBIOS session -> SMB, RDP/TDS -> TLS).  The
 * session keeps its protocol; its record gains the new dissector's object
 * beside the first one's.  Returns false when no dissector has that name
 * (the caller then marks the session itself, e.g. "tunnelled"). */
bool session_handoff(struct session *s, const char *name);

/* A flow this session announces (FTP data channels, SIP media): when a new
 * flow to server:port (and from client, when has_client) appears before the
 * deadline (packet time), it is pinned to the dissector `name` and linked to
 * this session (its record gets "parent": this session's uid). */
struct expectation {
	struct ip_addr server;
	uint16_t server_port;
	bool has_client;
	struct ip_addr client;
	usec_t deadline;
	const char *dissector;
	uint8_t transport; /* TRANSPORT_TCP or TRANSPORT_UDP */
	/* what the new flow's dissector should know, e.g. "RETR report.pdf";
	 * copied (at most EXPECT_NOTE_MAX - 1 bytes), may be NULL */
	const char *note;
};
#define EXPECT_NOTE_MAX 256

/* What a flow made by an expectation inherits: the announcer's note and
 * endpoints (its client and server). */
struct expected_from {
	char note[EXPECT_NOTE_MAX];
	struct ip_addr client, server;
	uint16_t client_port, server_port;
};
/* Returns false when the expectation table is full (counted). */
bool session_expect(struct session *s, const struct expectation *e);

/* For a session made by expect: the uid of the session that announced it,
 * or NULL. */
const char *session_parent_uid(const struct session *s);
/* Changes the note of an expectation this session filed for server:port,
 * also after the flow it announced has started (an FTP transfer command
 * usually follows the data connection).  The new flow's dissector reads
 * the note again with session_expected_from.  False when none matches. */
bool session_expect_note(struct session *s, const struct ip_addr *server, uint16_t port,
                         const char *note);

/* For a session made by expect: what it inherits, or NULL. */
const struct expected_from *session_expected_from(const struct session *s);

/* The run-wide uid of this session's record ("C..."); valid until the next
 * call from the same thread. */
const char *session_uid(const struct session *s);

/* Cross-flow records (portolan/exchange.h): a conversation whose messages
 * cross flows (a DHCP exchange: client 0.0.0.0:68 -> 255.255.255.255:67,
 * then server -> client) is kept in the run's exchange table under a key the
 * dissector chooses, and written as its own record ("type": ops->type) when
 * it ends or times out.  The state is the dissector's: ops->state_size
 * bytes, zeroed when the exchange is made. */
struct emitter;
struct exchange_ops {
	const char *type;    /* the record's "type", e.g. "dhcp" */
	size_t state_size;   /* per exchange, zeroed by the core */
	usec_t idle_timeout; /* written after this much packet time without a message */
	usec_t linger;       /* after session_exchange_end: late duplicates still join */
	/* the record's keys after the core's common ones */
	void (*emit)(const void *state, struct emitter *e);
	/* the text line, e.g. "DHCP exchange 0x3903f326 ... -> 192.168.0.10" */
	void (*summarize)(const void *state, char *buf, size_t n);
	void (*release)(void *state); /* frees what the state owns (may be NULL) */
};
/* The exchange under (ops, key), made when new (a full table writes its
 * oldest exchange early, counted as "exchange.evicted").  The pointer is
 * valid until the next session_exchange call or the end of this dissector
 * call, whichever comes first.  NULL when there is no table (a
 * detached session without one) or memory ran out; key_len is at most
 * EXCHANGE_KEY_MAX (32) bytes. */
void *session_exchange(struct session *s, const struct exchange_ops *ops, const void *key,
                       size_t key_len);
/* The exchange under (ops, key) is over: it is written after ops->linger
 * more packet time.  False when there is no such exchange. */
bool session_exchange_end(struct session *s, const struct exchange_ops *ops, const void *key,
                          size_t key_len);

/* A session attached to no flow table, for unit tests and fuzzers: alerts
 * and counters are kept on it and can be read back. */
struct session *session_detached_new(bool tcp, const struct ip_addr *client, uint16_t client_port,
                                     const struct ip_addr *server, uint16_t server_port);
void session_detached_free(struct session *s);
void session_set_now(struct session *s, usec_t now);
bool session_has_alert(const struct session *s, enum alert a);
/* Gives a detached session what an expectation would have (tests). */
void session_detached_set_expected(struct session *s, const struct expected_from *from);
/* Gives a detached session an exchange table (tests; NULL: none). */
struct exchange_table;
void session_detached_set_exchanges(struct session *s, struct exchange_table *t);
/* The dissector a detached session was handed off to, or NULL. */
const char *session_handoff_target(const struct session *s);
/* How often a named counter was incremented on this session. */
uint64_t session_counter_value(const struct session *s, const char *counter);

#endif
