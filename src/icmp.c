/* ICMP and ICMPv6 (portolan/icmp.h): query sessions, errors matched to
 * their flows, the rest counted. */
#include "portolan/icmp.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/community_id.h"
#include "portolan/counters.h"
#include "portolan/decode.h"
#include "portolan/emitter.h"
#include "portolan/flow.h"
#include "portolan/reader.h"

/* ---- names ---- */

#define T(type, kind, counterpart, name, counter)                                                  \
	{                                                                                          \
		type, kind, counterpart, name, counter                                             \
	}

static const struct icmp_type_info icmp4_types[] = {
    T(0, ICMP_KIND_REPLY, 8, "echo-reply", "icmp.echo-reply"),
    T(3, ICMP_KIND_ERROR, 0, "destination-unreachable", "icmp.destination-unreachable"),
    T(4, ICMP_KIND_ERROR, 0, "source-quench", "icmp.source-quench"),
    T(5, ICMP_KIND_ERROR, 0, "redirect", "icmp.redirect"),
    T(8, ICMP_KIND_REQUEST, 0, "echo-request", "icmp.echo-request"),
    T(9, ICMP_KIND_INFO, 10, "router-advertisement", "icmp.router-advertisement"),
    T(10, ICMP_KIND_INFO, 9, "router-solicitation", "icmp.router-solicitation"),
    T(11, ICMP_KIND_ERROR, 0, "time-exceeded", "icmp.time-exceeded"),
    T(12, ICMP_KIND_ERROR, 0, "parameter-problem", "icmp.parameter-problem"),
    T(13, ICMP_KIND_REQUEST, 14, "timestamp-request", "icmp.timestamp-request"),
    T(14, ICMP_KIND_REPLY, 13, "timestamp-reply", "icmp.timestamp-reply"),
    T(15, ICMP_KIND_REQUEST, 16, "information-request", "icmp.information-request"),
    T(16, ICMP_KIND_REPLY, 15, "information-reply", "icmp.information-reply"),
    T(17, ICMP_KIND_REQUEST, 18, "address-mask-request", "icmp.address-mask-request"),
    T(18, ICMP_KIND_REPLY, 17, "address-mask-reply", "icmp.address-mask-reply"),
};

static const struct icmp_type_info icmp6_types[] = {
    T(1, ICMP_KIND_ERROR, 0, "destination-unreachable", "icmp6.destination-unreachable"),
    T(2, ICMP_KIND_ERROR, 0, "packet-too-big", "icmp6.packet-too-big"),
    T(3, ICMP_KIND_ERROR, 0, "time-exceeded", "icmp6.time-exceeded"),
    T(4, ICMP_KIND_ERROR, 0, "parameter-problem", "icmp6.parameter-problem"),
    T(128, ICMP_KIND_REQUEST, 129, "echo-request", "icmp6.echo-request"),
    T(129, ICMP_KIND_REPLY, 128, "echo-reply", "icmp6.echo-reply"),
    T(130, ICMP_KIND_INFO, 0, "multicast-listener-query", "icmp6.multicast-listener-query"),
    T(131, ICMP_KIND_INFO, 0, "multicast-listener-report", "icmp6.multicast-listener-report"),
    T(132, ICMP_KIND_INFO, 0, "multicast-listener-done", "icmp6.multicast-listener-done"),
    T(133, ICMP_KIND_INFO, 0, "router-solicitation", "icmp6.router-solicitation"),
    T(134, ICMP_KIND_INFO, 0, "router-advertisement", "icmp6.router-advertisement"),
    T(135, ICMP_KIND_INFO, 0, "neighbor-solicitation", "icmp6.neighbor-solicitation"),
    T(136, ICMP_KIND_INFO, 0, "neighbor-advertisement", "icmp6.neighbor-advertisement"),
    T(137, ICMP_KIND_INFO, 0, "redirect", "icmp6.redirect"),
    T(139, ICMP_KIND_OTHER, 0, "node-information-query", "icmp6.node-information-query"),
    T(140, ICMP_KIND_OTHER, 0, "node-information-response", "icmp6.node-information-response"),
    T(143, ICMP_KIND_INFO, 0, "multicast-listener-report-v2", "icmp6.multicast-listener-report-v2"),
};

#undef T

const struct icmp_type_info *icmp_type_info(uint8_t ip_version, uint8_t type)
{
	const struct icmp_type_info *t = ip_version == 6 ? icmp6_types : icmp4_types;
	size_t n = ip_version == 6 ? sizeof icmp6_types / sizeof icmp6_types[0]
	                           : sizeof icmp4_types / sizeof icmp4_types[0];
	for (size_t i = 0; i < n; i++)
		if (t[i].type == type)
			return &t[i];
	return NULL;
}

const char *icmp_type_name(uint8_t ip_version, uint8_t type)
{
	const struct icmp_type_info *ti = icmp_type_info(ip_version, type);
	return ti ? ti->name : NULL;
}

struct code_name {
	uint8_t version, type, code;
	const char *name;
};

static const struct code_name code_names[] = {
    {4, 3, 0, "net-unreachable"},
    {4, 3, 1, "host-unreachable"},
    {4, 3, 2, "protocol-unreachable"},
    {4, 3, 3, "port-unreachable"},
    {4, 3, 4, "fragmentation-needed"},
    {4, 3, 5, "source-route-failed"},
    {4, 3, 6, "net-unknown"},
    {4, 3, 7, "host-unknown"},
    {4, 3, 8, "source-host-isolated"},
    {4, 3, 9, "net-prohibited"},
    {4, 3, 10, "host-prohibited"},
    {4, 3, 11, "net-tos-unreachable"},
    {4, 3, 12, "host-tos-unreachable"},
    {4, 3, 13, "communication-prohibited"},
    {4, 3, 14, "host-precedence-violation"},
    {4, 3, 15, "precedence-cutoff"},
    {4, 4, 0, "source-quench"},
    {4, 5, 0, "redirect-net"},
    {4, 5, 1, "redirect-host"},
    {4, 5, 2, "redirect-tos-net"},
    {4, 5, 3, "redirect-tos-host"},
    {4, 11, 0, "ttl-exceeded"},
    {4, 11, 1, "reassembly-time-exceeded"},
    {4, 12, 0, "pointer-indicates-error"},
    {4, 12, 1, "missing-required-option"},
    {4, 12, 2, "bad-length"},
    {6, 1, 0, "no-route"},
    {6, 1, 1, "admin-prohibited"},
    {6, 1, 2, "beyond-scope"},
    {6, 1, 3, "address-unreachable"},
    {6, 1, 4, "port-unreachable"},
    {6, 1, 5, "source-policy-failed"},
    {6, 1, 6, "reject-route"},
    {6, 1, 7, "source-routing-header-error"},
    {6, 2, 0, "packet-too-big"},
    {6, 3, 0, "hop-limit-exceeded"},
    {6, 3, 1, "reassembly-time-exceeded"},
    {6, 4, 0, "erroneous-header-field"},
    {6, 4, 1, "unrecognized-next-header"},
    {6, 4, 2, "unrecognized-ipv6-option"},
    {6, 4, 3, "incomplete-header-chain"},
};

const char *icmp_code_name(uint8_t ip_version, uint8_t type, uint8_t code)
{
	for (size_t i = 0; i < sizeof code_names / sizeof code_names[0]; i++)
		if (code_names[i].version == ip_version && code_names[i].type == type &&
		    code_names[i].code == code)
			return code_names[i].name;
	return NULL;
}

/* ---- the quoted datagram ---- */

#define QUOTE_MAX_EXTENSIONS 8
#define QUOTE_TRANSPORT_BYTES 8 /* RFC 792 quotes the IP header + 8 bytes */

/* The first 8 bytes of the quoted transport header: its flow key. */
static enum icmp_quote_status quote_transport(uint8_t ip_version, uint8_t proto, struct reader r,
                                              struct icmp_quote *q)
{
	uint8_t icmp = ip_version == 6 ? TRANSPORT_ICMPV6 : TRANSPORT_ICMP;
	if (proto != TRANSPORT_TCP && proto != TRANSPORT_UDP && proto != icmp)
		return QUOTE_UNTRACKED;
	if (!rd_has(&r, QUOTE_TRANSPORT_BYTES))
		return QUOTE_TRUNCATED;
	q->proto = proto;
	if (proto != icmp) {
		q->sport = rd_be16(&r);
		q->dport = rd_be16(&r);
		return QUOTE_OK;
	}
	/* an ICMP query the error answers (a ping to an unreachable host) */
	uint8_t type = rd_u8(&r);
	rd_skip(&r, 3); /* code, checksum */
	uint16_t id = rd_be16(&r);
	const struct icmp_type_info *ti = icmp_type_info(ip_version, type);
	if (!ti || (ti->kind != ICMP_KIND_REQUEST && ti->kind != ICMP_KIND_REPLY))
		return QUOTE_UNTRACKED;
	q->sport = q->dport = id;
	return QUOTE_OK;
}

static enum icmp_quote_status quote_ipv4(struct reader r, struct icmp_quote *q)
{
	struct reader h = r;
	uint8_t version_ihl = rd_u8(&h);
	rd_skip(&h, 1);
	size_t total_len = rd_be16(&h);
	rd_skip(&h, 2); /* id */
	uint16_t flags_offset = rd_be16(&h);
	rd_skip(&h, 1); /* ttl */
	uint8_t proto = rd_u8(&h);
	rd_skip(&h, 2);
	q->src.version = q->dst.version = 4;
	rd_copy(&h, q->src.b, 4);
	rd_copy(&h, q->dst.b, 4);
	if (!rd_ok(&h))
		return QUOTE_TRUNCATED;
	size_t header_len = (size_t)(version_ihl & 0x0f) * 4;
	if (version_ihl >> 4 != 4 || header_len < 20)
		return QUOTE_MALFORMED;
	/* the quote is cut, but the length it claims cannot be shorter than
	 * the headers it shows (0 is a TSO datagram: allowed) */
	if (total_len != 0 && total_len < header_len + QUOTE_TRANSPORT_BYTES)
		return QUOTE_MALFORMED;
	if (flags_offset & 0x1fff)
		return QUOTE_FRAGMENT;
	rd_skip(&r, header_len);
	if (!rd_ok(&r))
		return QUOTE_TRUNCATED;
	return quote_transport(4, proto, r, q);
}

static enum icmp_quote_status quote_ipv6(struct reader r, struct icmp_quote *q)
{
	uint8_t first = rd_u8(&r);
	rd_skip(&r, 3);
	size_t payload_len = rd_be16(&r);
	uint8_t nh = rd_u8(&r);
	rd_skip(&r, 1);
	q->src.version = q->dst.version = 6;
	rd_copy(&r, q->src.b, 16);
	rd_copy(&r, q->dst.b, 16);
	if (!rd_ok(&r))
		return QUOTE_TRUNCATED;
	if (first >> 4 != 6)
		return QUOTE_MALFORMED;
	size_t used = 0; /* bytes of the payload the extensions take */
	for (unsigned count = 0; ipv6_is_extension(nh); count++) {
		if (count == QUOTE_MAX_EXTENSIONS)
			return QUOTE_MALFORMED;
		struct reader h = r;
		uint8_t next = rd_u8(&h);
		uint8_t len_field = rd_u8(&h);
		uint16_t offset_flags = rd_be16(&h); /* only meaningful in a fragment header */
		if (!rd_ok(&h))
			return QUOTE_TRUNCATED;
		size_t len = ipv6_extension_length(nh, len_field);
		used += len;
		if (payload_len != 0 && used + QUOTE_TRANSPORT_BYTES > payload_len)
			return QUOTE_MALFORMED;
		if (nh == 44 && (offset_flags & 0xfff8))
			return QUOTE_FRAGMENT;
		rd_skip(&r, len);
		if (!rd_ok(&r))
			return QUOTE_TRUNCATED;
		nh = next;
	}
	if (payload_len != 0 && used + QUOTE_TRANSPORT_BYTES > payload_len)
		return QUOTE_MALFORMED;
	return quote_transport(6, nh, r, q);
}

enum icmp_quote_status icmp_parse_quote(uint8_t ip_version, const uint8_t *data, size_t len,
                                        struct icmp_quote *q)
{
	memset(q, 0, sizeof *q);
	struct reader r = rd_init(data, len);
	int first = rd_peek(&r, 0);
	if (first < 0)
		return QUOTE_TRUNCATED;
	if (first >> 4 != ip_version)
		return QUOTE_MALFORMED;
	return ip_version == 6 ? quote_ipv6(r, q) : quote_ipv4(r, q);
}

/* ---- per-flow state ---- */

static struct icmp_state *state_of(struct flow *f)
{
	if (!f->icmp)
		f->icmp = calloc(1, sizeof *f->icmp);
	return f->icmp;
}

void icmp_release(struct flow *f)
{
	free(f->icmp);
	f->icmp = NULL;
}

static void count_message(struct icmp_state *s, uint8_t type, uint8_t code, struct counters *c)
{
	for (unsigned i = 0; i < s->n_messages; i++)
		if (s->messages[i].type == type && s->messages[i].code == code) {
			s->messages[i].count++;
			return;
		}
	if (s->n_messages == ICMP_MESSAGES_MAX) {
		s->messages_truncated++;
		counters_add(c, "icmp.too_many_message_types", 1);
		return;
	}
	s->messages[s->n_messages++] = (struct icmp_message_count){type, code, 1};
}

static void add_pending(struct icmp_state *s, enum direction dir, const struct packet *p,
                        struct counters *c)
{
	struct icmp_pending *slot = NULL, *oldest = NULL;
	for (unsigned i = 0; i < ICMP_PENDING_MAX; i++) {
		struct icmp_pending *x = &s->pending[i];
		if (!x->used) {
			if (!slot)
				slot = x;
			continue;
		}
		if (x->seq == p->icmp_seq && x->dir == dir && x->type == p->icmp_type) {
			s->duplicate_requests++; /* the first one times the answer */
			return;
		}
		if (!oldest || x->ts < oldest->ts)
			oldest = x;
	}
	if (!slot) { /* full: the oldest is given up as unanswered */
		slot = oldest;
		s->pending_dropped++;
		s->n_pending--;
		counters_add(c, "icmp.too_many_pending", 1);
	}
	*slot = (struct icmp_pending){.seq = p->icmp_seq,
	                              .dir = (uint8_t)dir,
	                              .type = p->icmp_type,
	                              .used = true,
	                              .ts = p->ts};
	s->n_pending++;
}

static void match_reply(struct icmp_state *s, enum direction dir, const struct packet *p,
                        uint8_t request_type)
{
	for (unsigned i = 0; i < ICMP_PENDING_MAX; i++) {
		struct icmp_pending *x = &s->pending[i];
		if (!x->used || x->seq != p->icmp_seq || x->dir == dir || x->type != request_type)
			continue;
		usec_t rtt = p->ts > x->ts ? p->ts - x->ts : 0;
		if (!s->rtt_count || rtt < s->rtt_min)
			s->rtt_min = rtt;
		if (rtt > s->rtt_max)
			s->rtt_max = rtt;
		s->rtt_sum += rtt;
		s->rtt_count++;
		x->used = false;
		s->n_pending--;
		return;
	}
	s->unmatched_replies++; /* a duplicate, or its request was not seen */
}

void icmp_session_packet(struct flow *f, enum direction dir, const struct packet *p,
                         struct counters *c)
{
	const struct icmp_type_info *ti = icmp_type_info(p->ip_version, p->icmp_type);
	struct icmp_state *s = state_of(f);
	if (!s) {
		counters_add(c, "icmp.out_of_memory", 1);
		return;
	}
	if (!ti)
		return;
	if (!s->session) {
		s->session = true;
		s->version = p->ip_version;
		s->id = p->sport;
		s->req_type = ti->kind == ICMP_KIND_REQUEST ? ti->type : ti->counterpart;
		s->rep_type = ti->kind == ICMP_KIND_REQUEST ? ti->counterpart : ti->type;
	}
	count_message(s, p->icmp_type, p->icmp_code, c);
	if (ti->kind == ICMP_KIND_REQUEST) {
		s->requests++;
		if (!s->seq_seen)
			s->first_seq = p->icmp_seq;
		s->seq_seen = true;
		s->last_seq = p->icmp_seq;
		add_pending(s, dir, p, c);
	} else if (ti->kind == ICMP_KIND_REPLY) {
		s->replies++;
		match_reply(s, dir, p, ti->counterpart);
	}
}

struct flow *icmp_error_packet(struct flow_table *t, const struct packet *p, struct counters *c)
{
	const struct icmp_type_info *ti = icmp_type_info(p->ip_version, p->icmp_type);
	if (ti)
		counters_add(c, ti->counter, 1);
	struct icmp_quote q;
	switch (icmp_parse_quote(p->ip_version, p->payload, p->payload_len, &q)) {
	case QUOTE_OK:
		break;
	case QUOTE_TRUNCATED:
		counters_add(c, "icmp.error_quote_truncated", 1);
		return NULL;
	case QUOTE_MALFORMED:
		counters_add(c, "icmp.error_quote_malformed", 1);
		return NULL;
	case QUOTE_FRAGMENT:
		counters_add(c, "icmp.error_quote_fragment", 1);
		return NULL;
	case QUOTE_UNTRACKED:
		counters_add(c, "icmp.error_quote_untracked", 1);
		return NULL;
	}
	enum direction dir;
	struct flow *f = flow_find(t, q.proto, &q.src, q.sport, &q.dst, q.dport, &dir);
	if (!f) {
		counters_add(c, "icmp.error_no_flow", 1);
		return NULL;
	}
	struct icmp_state *s = state_of(f);
	if (!s) {
		counters_add(c, "icmp.out_of_memory", 1);
		return NULL;
	}
	counters_add(c, "icmp.error_matched", 1);
	for (unsigned i = 0; i < s->n_errors; i++) {
		struct icmp_error_entry *x = &s->errors[i];
		if (x->type == p->icmp_type && x->code == p->icmp_code && x->answers == dir &&
		    memcmp(&x->from, &p->src, sizeof p->src) == 0) {
			x->count++;
			x->last = p->ts;
			return f;
		}
	}
	if (s->n_errors == ICMP_ERRORS_MAX) {
		s->errors_truncated++;
		counters_add(c, "icmp.too_many_errors", 1);
		return f;
	}
	s->errors[s->n_errors++] = (struct icmp_error_entry){
	    .type = p->icmp_type,
	    .code = p->icmp_code,
	    .answers = (uint8_t)dir,
	    .from = p->src,
	    .count = 1,
	    .first = p->ts,
	    .last = p->ts,
	};
	return f;
}

void icmp_count_other(const struct packet *p, struct counters *c)
{
	const struct icmp_type_info *ti = icmp_type_info(p->ip_version, p->icmp_type);
	if (ti)
		counters_add(c, ti->counter, 1);
	else
		counters_add(c, p->ip_version == 6 ? "icmp6.unknown_type" : "icmp.unknown_type", 1);
}

/* ---- the record ---- */

static double ms(usec_t t)
{
	return (double)t / 1000.0;
}

const char *icmp_error_name(const struct icmp_error_entry *x)
{
	const char *name = icmp_code_name(x->from.version, x->type, x->code);
	if (!name)
		name = icmp_type_name(x->from.version, x->type);
	return name ? name : "unknown";
}

static uint64_t unanswered(const struct icmp_state *s)
{
	return s->n_pending + s->pending_dropped;
}

static void emit_session(struct emitter *e, const struct icmp_state *s)
{
	emit_object_begin(e, "icmp");
	emit_int(e, "version", s->version);
	emit_int(e, "id", s->id);
	emit_str(e, "request", icmp_type_name(s->version, s->req_type));
	emit_str(e, "reply", icmp_type_name(s->version, s->rep_type));
	emit_array_begin(e, "messages");
	for (unsigned i = 0; i < s->n_messages; i++) {
		const struct icmp_message_count *m = &s->messages[i];
		emit_object_begin(e, NULL);
		emit_int(e, "type", m->type);
		emit_int(e, "code", m->code);
		emit_str(e, "name", icmp_type_name(s->version, m->type));
		emit_int(e, "count", m->count);
		emit_object_end(e);
	}
	emit_array_end(e);
	if (s->messages_truncated)
		emit_int(e, "truncated", s->messages_truncated);
	emit_int(e, "requests", (int64_t)s->requests);
	emit_int(e, "replies", (int64_t)s->replies);
	emit_int(e, "unanswered", (int64_t)unanswered(s));
	emit_int(e, "unmatched_replies", (int64_t)s->unmatched_replies);
	emit_int(e, "duplicate_requests", (int64_t)s->duplicate_requests);
	if (s->seq_seen) {
		emit_int(e, "first_seq", s->first_seq);
		emit_int(e, "last_seq", s->last_seq);
	}
	if (s->rtt_count) {
		emit_object_begin(e, "rtt_ms");
		emit_number(e, "min", ms(s->rtt_min), 3);
		emit_number(e, "avg", ms(s->rtt_sum) / (double)s->rtt_count, 3);
		emit_number(e, "max", ms(s->rtt_max), 3);
		emit_int(e, "count", (int64_t)s->rtt_count);
		emit_object_end(e);
	} else {
		emit_null(e, "rtt_ms");
	}
	emit_object_end(e);
}

void icmp_emit(struct emitter *e, const struct flow *f)
{
	const struct icmp_state *s = f->icmp;
	if (!s)
		return;
	if (s->session)
		emit_session(e, s);
	if (!s->n_errors)
		return;
	emit_array_begin(e, "icmp_errors");
	for (unsigned i = 0; i < s->n_errors; i++) {
		const struct icmp_error_entry *x = &s->errors[i];
		char ip[IP_ADDR_STRLEN];
		emit_object_begin(e, NULL);
		emit_int(e, "type", x->type);
		emit_int(e, "code", x->code);
		emit_str(e, "name", icmp_error_name(x));
		emit_str(e, "type_name", icmp_type_name(x->from.version, x->type));
		emit_str(e, "from", ip_addr_format(&x->from, ip, sizeof ip));
		emit_str(e, "answers", x->answers == DIR_CLIENT ? "client" : "server");
		emit_int(e, "count", x->count);
		emit_number(e, "ts_first", (double)x->first / 1e6, 6);
		emit_number(e, "ts_last", (double)x->last / 1e6, 6);
		emit_object_end(e);
	}
	emit_array_end(e);
	if (s->errors_truncated)
		emit_int(e, "icmp_errors_truncated", s->errors_truncated);
}

void icmp_community_id(const struct flow *f, char *out, size_t n)
{
	uint8_t req = f->ip_version == 6 ? 128 : 8;
	if (f->icmp && f->icmp->session)
		req = f->icmp->req_type;
	community_id_icmp(out, n, 0, f->proto, &f->addr[DIR_CLIENT], &f->addr[DIR_SERVER], req, 0);
}

/* "echo" for "echo-request": the exchange's name. */
static void exchange_name(const struct icmp_state *s, char *buf, size_t n)
{
	const char *name = icmp_type_name(s->version, s->req_type);
	if (!name)
		name = "query";
	const char *dash = strstr(name, "-request");
	snprintf(buf, n, "%.*s", dash ? (int)(dash - name) : (int)strlen(name), name);
}

void icmp_summarize(const struct flow *f, char *buf, size_t n)
{
	const struct icmp_state *s = f->icmp;
	size_t used = 0;
	buf[0] = '\0';
	if (!s || !n)
		return;
	if (s->session) {
		char name[32];
		exchange_name(s, name, sizeof name);
		int w = snprintf(buf, n, "%s id %u %" PRIu64 " req %" PRIu64 " rep", name, s->id,
		                 s->requests, s->replies);
		used = w < 0 ? 0 : (size_t)w;
		if (used < n && unanswered(s)) {
			w = snprintf(buf + used, n - used, " %" PRIu64 " unanswered",
			             unanswered(s));
			used += w < 0 ? 0 : (size_t)w;
		}
		if (used < n && s->rtt_count) {
			w = snprintf(buf + used, n - used, " rtt %.3f/%.3f/%.3f ms", ms(s->rtt_min),
			             ms(s->rtt_sum) / (double)s->rtt_count, ms(s->rtt_max));
			used += w < 0 ? 0 : (size_t)w;
		}
	}
	for (unsigned i = 0; i < s->n_errors && used < n; i++) {
		char ip[IP_ADDR_STRLEN];
		const struct icmp_error_entry *x = &s->errors[i];
		int w = snprintf(buf + used, n - used, "%sicmp %s from %s", used ? " " : "",
		                 icmp_error_name(x), ip_addr_format(&x->from, ip, sizeof ip));
		used += w < 0 ? 0 : (size_t)w;
		if (used < n && x->count > 1) {
			w = snprintf(buf + used, n - used, " x%" PRIu32, x->count);
			used += w < 0 ? 0 : (size_t)w;
		}
	}
}

const struct icmp_error_entry *icmp_find_error(const struct flow *f, const char *name)
{
	if (!f->icmp)
		return NULL;
	for (unsigned i = 0; i < f->icmp->n_errors; i++)
		if (!strcmp(icmp_error_name(&f->icmp->errors[i]), name))
			return &f->icmp->errors[i];
	return NULL;
}
