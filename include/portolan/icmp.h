/* ICMP (RFC 792) and ICMPv6 (RFC 4443).
 *
 * Three fates for a message, by type:
 *   - a query or its reply (echo, timestamp, address mask...): a session of
 *     its own in the flow table, keyed by the address pair and the
 *     identifier (decode puts the identifier in sport and dport), with the
 *     requests matched to the replies by sequence number for the RTT;
 *   - an error (unreachable, time exceeded, packet too big, parameter
 *     problem, source quench, redirect): the datagram it quotes is parsed
 *     and the error is added to that datagram's flow (icmp_errors), or
 *     counted when no flow has it;
 *   - neighbour discovery, router and multicast listener messages, and
 *     anything else: counted by name in the statistics.
 */
#ifndef PORTOLAN_ICMP_H
#define PORTOLAN_ICMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portolan/types.h"

struct packet;
struct flow;
struct flow_table;
struct counters;
struct emitter;

enum icmp_kind {
	ICMP_KIND_OTHER = 0, /* counted */
	ICMP_KIND_REQUEST,   /* a query: makes or joins a session */
	ICMP_KIND_REPLY,     /* its answer */
	ICMP_KIND_ERROR,     /* quotes the datagram it is about */
	ICMP_KIND_INFO,      /* neighbour discovery, router, multicast listener: counted */
};

struct icmp_type_info {
	uint8_t type;
	uint8_t kind;        /* enum icmp_kind */
	uint8_t counterpart; /* a request's reply type and back */
	const char *name;    /* "echo-request" */
	const char *counter; /* the statistics counter, "icmp6.neighbor-solicitation" */
};

/* The type's entry, or NULL for a type we do not know. */
const struct icmp_type_info *icmp_type_info(uint8_t ip_version, uint8_t type);
/* The type's name, or NULL. */
const char *icmp_type_name(uint8_t ip_version, uint8_t type);
/* An error's code name ("port-unreachable", "ttl-exceeded"), or NULL. */
const char *icmp_code_name(uint8_t ip_version, uint8_t type, uint8_t code);

/* The flow key of the datagram an error quotes. */
struct icmp_quote {
	uint8_t proto; /* TRANSPORT_TCP, TRANSPORT_UDP, TRANSPORT_ICMP(V6) */
	struct ip_addr src, dst;
	uint16_t sport, dport; /* for an ICMP query: its identifier, twice */
};

enum icmp_quote_status {
	QUOTE_OK = 0,
	QUOTE_TRUNCATED, /* the quote stops before the transport's first 8 bytes */
	QUOTE_MALFORMED, /* a header that lies (version, lengths) */
	QUOTE_FRAGMENT,  /* a later fragment: it has no transport header */
	QUOTE_UNTRACKED, /* a transport (or ICMP type) that makes no flow */
};

/* Parses the quoted IP header (IPv4, or IPv6 with its extension headers)
 * and the first 8 bytes of its transport.  ip_version is the error's own:
 * the quote must be of the same version. */
enum icmp_quote_status icmp_parse_quote(uint8_t ip_version, const uint8_t *data, size_t len,
                                        struct icmp_quote *q);

/* Caps, per flow. */
#define ICMP_PENDING_MAX 64 /* requests awaiting their reply (for the RTT) */
#define ICMP_MESSAGES_MAX 8 /* distinct type/code pairs listed in a session */
#define ICMP_ERRORS_MAX 8   /* distinct errors listed on a flow */

struct icmp_message_count {
	uint8_t type, code;
	uint32_t count;
};

struct icmp_error_entry {
	uint8_t type, code;
	uint8_t answers; /* the side whose datagram the error quotes */
	struct ip_addr from;
	uint32_t count;
	usec_t first, last;
};

struct icmp_pending {
	uint16_t seq;
	uint8_t dir, type;
	bool used;
	usec_t ts;
};

/* Per-flow ICMP state, allocated on first use: a query session's counts
 * (session set) and the errors about the flow. */
struct icmp_state {
	bool session;
	uint8_t version;
	uint8_t req_type, rep_type;
	uint16_t id;
	uint64_t requests, replies;
	uint64_t unmatched_replies, duplicate_requests, pending_dropped;
	uint64_t rtt_count;
	usec_t rtt_min, rtt_max, rtt_sum;
	bool seq_seen;
	uint16_t first_seq, last_seq;
	uint8_t n_messages;
	uint32_t messages_truncated;
	struct icmp_message_count messages[ICMP_MESSAGES_MAX];
	uint8_t n_pending;
	struct icmp_pending pending[ICMP_PENDING_MAX];
	uint8_t n_errors;
	uint32_t errors_truncated;
	struct icmp_error_entry errors[ICMP_ERRORS_MAX];
};

/* A query or reply of flow f's session, sent by side dir. */
void icmp_session_packet(struct flow *f, enum direction dir, const struct packet *p,
                         struct counters *c);
/* An error: added to the flow of the datagram it quotes, which is
 * returned; NULL (and counted) when the quote is unusable or no flow has
 * it.  No flow is ever created for an error. */
struct flow *icmp_error_packet(struct flow_table *t, const struct packet *p, struct counters *c);
/* Any other message: counted by type name. */
void icmp_count_other(const struct packet *p, struct counters *c);

/* The record's "icmp" object (a session) and "icmp_errors" list. */
void icmp_emit(struct emitter *e, const struct flow *f);
/* The Community ID of an ICMP session (its request type and reply type as
 * the ports). */
void icmp_community_id(const struct flow *f, char *out, size_t n);
/* The text line's summary: "echo id 27 4 req 4 rep rtt 0.050/0.070/0.110 ms",
 * and " port-unreachable from 10.0.0.1" for each error kind. */
void icmp_summarize(const struct flow *f, char *buf, size_t n);
/* The first error of that name on the flow, or NULL. */
const struct icmp_error_entry *icmp_find_error(const struct flow *f, const char *name);
/* The error's name: its code's, else its type's. */
const char *icmp_error_name(const struct icmp_error_entry *x);
void icmp_release(struct flow *f);

#endif
