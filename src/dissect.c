/* Choosing a flow's dissector and feeding it (portolan/dissect.h).
 *
 * Classification is by payload first and port second, with the tie rule of
 * the session schema: when several dissectors would accept the bytes (DNS,
 * mDNS and LLMNR share a format; FTP and SMTP both greet with 220), the one
 * registered for the port wins, and payload only overrides a port whose own
 * dissector rejects the bytes.  Once a dissector claims a flow it stays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/dissect.h"
#include "portolan/exchange.h"
#include "portolan/ports.h"
#include "portolan/session_internal.h"

struct byte_buffer {
	uint8_t *data;
	size_t len, cap;
	size_t *charged; /* the run's total the capacity is charged to */
};

/* How many times a dissector that keeps returning 0-but-not-all is called
 * again on the same bytes before the core stops asking. */
#define MAX_REDELIVERIES 64

void dissect_config_default(struct dissect_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->probe_bytes = 2048;
	cfg->probe_packets = 4;
	cfg->pending_cap = 256 * 1024;
	cfg->exchange_max = EXCHANGE_MAX_DEFAULT;
}

static struct session make_session(struct dissect_ctx *c, struct flow *f, usec_t now)
{
	struct session s = {.flow = f,
	                    .counters = c->counters,
	                    .now = now,
	                    .show_credentials = c->cfg.show_credentials,
	                    .expects = &c->expects,
	                    .exchanges = c->exchanges};
	return s;
}

/* ---- byte buffers ---- */

/* Appends len bytes to *bp (made on first use), keeping it within cap and
 * the whole run's pending capacity within c's total (0: no total). */
static bool buffer_append(struct dissect_ctx *c, struct byte_buffer **bp, const uint8_t *data,
                          size_t len, size_t cap)
{
	struct byte_buffer *b = *bp;
	if (!b) {
		b = calloc(1, sizeof *b);
		if (!b)
			return false;
		b->charged = &c->pending_held;
		*bp = b;
	}
	if (b->len + len > cap)
		return false;
	if (b->len + len > b->cap) {
		size_t ncap = b->cap ? b->cap : 512;
		while (ncap < b->len + len)
			ncap *= 2;
		if (ncap > cap)
			ncap = cap;
		size_t total = c->cfg.pending_total_cap;
		if (total && c->pending_held - b->cap + ncap > total) {
			counters_add(c->counters, "dissect.pending_total_cap", 1);
			return false;
		}
		uint8_t *nd = realloc(b->data, ncap);
		if (!nd)
			return false;
		c->pending_held = c->pending_held - b->cap + ncap;
		if (c->pending_held > c->pending_peak)
			c->pending_peak = c->pending_held;
		b->data = nd;
		b->cap = ncap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return true;
}

static void buffer_consume(struct byte_buffer *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

static void buffer_free(struct byte_buffer **bp)
{
	if (*bp) {
		*(*bp)->charged -= (*bp)->cap;
		free((*bp)->data);
		free(*bp);
		*bp = NULL;
	}
}

/* ---- choosing the dissector ---- */

static bool handles_transport(const struct dissector *d, const struct flow *f)
{
	unsigned bit = f->proto == TRANSPORT_TCP ? TRANSPORT_BIT_TCP : TRANSPORT_BIT_UDP;
	return (d->transports & bit) != 0;
}

static bool registered_on(const struct dissector *d, uint16_t port)
{
	for (const uint16_t *p = d->ports; p && *p; p++)
		if (*p == port)
			return true;
	return false;
}

static const struct dissector *decode_as(const struct dissect_ctx *c, const struct flow *f)
{
	for (size_t i = 0; i < c->cfg.n_decode_as; i++) {
		const struct decode_as *da = &c->cfg.decode_as[i];
		if ((da->port == f->port[DIR_SERVER] || da->port == f->port[DIR_CLIENT]) &&
		    handles_transport(da->dissector, f))
			return da->dissector;
	}
	return NULL;
}

static void pin(struct dissect_ctx *c, struct flow *f, const struct dissector *d, uint8_t how)
{
	f->dstate = d->state_size ? calloc(1, d->state_size) : NULL;
	if (d->state_size && !f->dstate) {
		counters_add(c->counters, "dissect.out_of_memory", 1);
		return;
	}
	f->dissector = d;
	f->detected_by = how;
}

/* Probes the dissectors registered on the flow's ports (server port first),
 * then all the others.  Returns the one that said yes; sets *wait when a
 * dissector that ranks before any yes asked for more bytes. */
static const struct dissector *probe_all(const struct flow *f, struct reader r, enum direction dir,
                                         bool datagram, bool *wait)
{
	const uint16_t order[2] = {f->port[DIR_SERVER], f->port[DIR_CLIENT]};
	*wait = false;

	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < dissector_count; i++) {
			const struct dissector *d = dissector_registry[i];
			bool on_port =
			    pass < 2 ? registered_on(d, order[pass])
			             : !registered_on(d, order[0]) && !registered_on(d, order[1]);
			if (!on_port || !handles_transport(d, f) || !d->probe)
				continue;
			enum verdict v = d->probe(r, dir);
			if (v == VERDICT_YES)
				return d;
			if (v == VERDICT_NEED_MORE && !datagram) {
				*wait = true;
				return NULL;
			}
		}
	}
	return NULL;
}

static bool classification_over(const struct flow *f)
{
	return f->classify_done == 3;
}

/* Records that a direction gave one more payload without a verdict. */
static void note_failed_probe(struct dissect_ctx *c, struct flow *f, enum direction dir)
{
	if (f->probes[dir] < 255)
		f->probes[dir]++;
	if (f->probes[dir] >= c->cfg.probe_packets)
		f->classify_done |= (uint8_t)(1u << dir);
}

/* ---- delivery ---- */

/* The dissector bytes go to now: the one handed the stream, if any. */
static const struct dissector *active(const struct flow *f, void **state)
{
	if (f->inner) {
		*state = f->inner_state;
		return f->inner;
	}
	*state = f->dstate;
	return f->dissector;
}

/* A dissector asked to hand the rest of the stream to another one. */
static void hand_off(struct dissect_ctx *c, struct flow *f, const struct dissector *d)
{
	if (f->inner || d == f->dissector) {
		counters_add(c->counters, "dissect.handoff_refused", 1);
		return;
	}
	void *st = d->state_size ? calloc(1, d->state_size) : NULL;
	if (d->state_size && !st) {
		counters_add(c->counters, "dissect.out_of_memory", 1);
		return;
	}
	f->inner = d;
	f->inner_state = st;
	counters_add(c->counters, "dissect.handoff", 1);
}

/* Calls the active dissector's on_data and carries out a handoff it asked
 * for.  A dissector without on_data consumes everything. */
static size_t call_on_data(struct dissect_ctx *c, struct flow *f, enum direction dir, usec_t now,
                           struct reader r, bool truncated)
{
	void *st;
	const struct dissector *d = active(f, &st);
	if (!d->on_data)
		return rd_remaining(&r);
	struct session s = make_session(c, f, now);
	s.input_truncated = truncated;
	size_t used = d->on_data(&s, st, dir, r);
	if (s.handoff_to)
		hand_off(c, f, s.handoff_to);
	return used;
}

void dissect_datagram(struct dissect_ctx *c, struct flow *f, enum direction dir, usec_t now,
                      const uint8_t *data, size_t len, bool truncated)
{
	if (!f->dissector && !classification_over(f)) {
		const struct dissector *d = decode_as(c, f);
		bool wait;
		if (d)
			pin(c, f, d, DETECTED_PORT);
		else if (len && (d = probe_all(f, rd_init(data, len), dir, true, &wait)))
			pin(c, f, d, DETECTED_PAYLOAD);
		else if (len)
			note_failed_probe(c, f, dir);
	}
	if (f->dissector)
		call_on_data(c, f, dir, now, rd_init(data, len), truncated);
}

/* Hands the direction's pending bytes to the dissector until it stops
 * consuming; what it leaves stays pending for the next bytes.  After a
 * handoff the new dissector gets what the old one left. */
static void drain_pending(struct dissect_ctx *c, struct flow *f, enum direction dir, usec_t now)
{
	struct byte_buffer *b = f->pending[dir];

	for (int i = 0; b && b->len && i < MAX_REDELIVERIES; i++) {
		const struct dissector *before = f->inner;
		size_t used = call_on_data(c, f, dir, now, rd_init(b->data, b->len), false);
		buffer_consume(b, used > b->len ? b->len : used);
		if (used == 0 && f->inner == before)
			break;
	}
	if (b && !b->len)
		buffer_free(&f->pending[dir]); /* an idle flow holds no buffer */
}

/* Keeps bytes a dissector did not consume, within the cap; past it they
 * are lost and the dissector is told so. */
static void keep_pending(struct dissect_ctx *c, struct flow *f, enum direction dir, usec_t now,
                         const uint8_t *data, size_t len)
{
	if (!buffer_append(c, &f->pending[dir], data, len, c->cfg.pending_cap)) {
		struct byte_buffer *b = f->pending[dir];
		size_t lost = (b ? b->len : 0) + len;
		counters_add(c->counters, "dissect.pending_cap", 1);
		dissect_gap(c, f, dir, now, lost);
	}
}

static void stream_to_dissector(struct dissect_ctx *c, struct flow *f, enum direction dir,
                                usec_t now, const uint8_t *data, size_t len)
{
	struct byte_buffer *b = f->pending[dir];

	if (b && b->len) {
		if (!buffer_append(c, &f->pending[dir], data, len, c->cfg.pending_cap)) {
			keep_pending(c, f, dir, now, data, len); /* reports the loss */
			return;
		}
		drain_pending(c, f, dir, now);
		return;
	}
	/* the common case: nothing pending, no copy unless bytes are left */
	for (int i = 0; len && i < MAX_REDELIVERIES; i++) {
		const struct dissector *before = f->inner;
		size_t used = call_on_data(c, f, dir, now, rd_init(data, len), false);
		if (used > len)
			used = len;
		data += used;
		len -= used;
		if (f->inner == before)
			break; /* no handoff: the rest waits for more bytes */
	}
	if (len)
		keep_pending(c, f, dir, now, data, len);
}

void dissect_stream(struct dissect_ctx *c, struct flow *f, enum direction dir, usec_t now,
                    const uint8_t *data, size_t len)
{
	if (f->dissector) {
		stream_to_dissector(c, f, dir, now, data, len);
		return;
	}
	if (classification_over(f) || (f->classify_done & (1u << dir)))
		return;

	/* keep the first bytes of this direction until a probe decides */
	struct byte_buffer **bp = &f->pending[dir];
	size_t room = c->cfg.probe_bytes - ((*bp) ? (*bp)->len : 0);
	size_t taken = len < room ? len : room;
	if (!buffer_append(c, bp, data, taken, c->cfg.probe_bytes)) {
		dissect_gap(c, f, dir, now, len); /* no room to keep them: lost */
		return;
	}
	const struct dissector *d = decode_as(c, f);
	bool wait = false;
	if (!d)
		d = probe_all(f, rd_init((*bp)->data, (*bp)->len), dir, false, &wait);
	if (d) {
		pin(c, f, d, decode_as(c, f) ? DETECTED_PORT : DETECTED_PAYLOAD);
		/* the other direction's probe bytes are its first bytes too */
		for (int side = 0; side < 2 && f->dissector; side++)
			drain_pending(c, f, (enum direction)side, now);
		if (f->dissector && taken < len)
			stream_to_dissector(c, f, dir, now, data + taken, len - taken);
		return;
	}
	if (!wait || (*bp)->len >= c->cfg.probe_bytes) {
		f->classify_done |= (uint8_t)(1u << dir);
		/* When we saw the connection open, these were its very first
		 * bytes: if no dissector knows them, a dissector recognising
		 * the other side later would parse a conversation it missed
		 * the start of (a TLS ClientHello, then a plaintext banner). */
		if (f->direction_basis == BASIS_HANDSHAKE && !f->pending[dir_other(dir)])
			f->classify_done = 3;
		buffer_free(bp);
	}
}

void dissect_gap(struct dissect_ctx *c, struct flow *f, enum direction dir, usec_t now,
                 size_t missing)
{
	struct session s = make_session(c, f, now);
	void *st;
	const struct dissector *d = active(f, &st);

	f->missed_bytes[dir] += missing;
	session_alert(&s, ALERT_GAP);
	if (f->pending[dir])
		f->pending[dir]->len = 0; /* bytes after a hole do not continue them */
	if (d && d->on_gap)
		d->on_gap(&s, st, dir, missing);
	else if (!d)
		f->classify_done |= (uint8_t)(1u << dir);
}

void dissect_end(struct dissect_ctx *c, struct flow *f, usec_t now)
{
	struct session s = make_session(c, f, now);
	if (f->dissector && f->dissector->on_end)
		f->dissector->on_end(&s, f->dstate);
	if (f->inner && f->inner->on_end)
		f->inner->on_end(&s, f->inner_state);
}

void dissect_release(struct flow *f)
{
	if (f->dissector && f->dissector->release && f->dstate)
		f->dissector->release(f->dstate);
	if (f->inner && f->inner->release && f->inner_state)
		f->inner->release(f->inner_state);
	free(f->dstate);
	free(f->inner_state);
	if (f->expected_owned)
		free(f->expected);
	if (f->expect_slot)
		f->expect_slot->child_live = false; /* the slot may be reused now */
	f->expected = NULL;
	f->expect_slot = NULL;
	f->dstate = f->inner_state = NULL;
	buffer_free(&f->pending[DIR_CLIENT]);
	buffer_free(&f->pending[DIR_SERVER]);
}

/* ---- expectations ---- */

bool expect_table_add(struct expect_table *t, const struct expectation *e,
                      const struct flow *parent, usec_t now)
{
	const struct dissector *d = dissector_by_name(e->dissector);
	size_t slot = t->n;

	if (!d)
		return false;
	for (size_t i = 0; i < t->n; i++) /* reuse a used or expired slot */
		if (!t->entries[i].child_live &&
		    (t->entries[i].used || t->entries[i].e.deadline < now)) {
			slot = i;
			break;
		}
	if (slot == EXPECT_MAX) {
		if (t->counters)
			counters_add(t->counters, "expect.table_full", 1);
		return false;
	}
	if (slot == t->n)
		t->n++;
	struct expect_entry *x = &t->entries[slot];
	memset(x, 0, sizeof *x);
	x->e = *e;
	snprintf(x->from.note, sizeof x->from.note, "%s", e->note ? e->note : "");
	x->e.note = x->from.note;
	x->from.client = parent->addr[DIR_CLIENT];
	x->from.server = parent->addr[DIR_SERVER];
	x->from.client_port = parent->port[DIR_CLIENT];
	x->from.server_port = parent->port[DIR_SERVER];
	x->parent_serial = parent->serial;
	x->dissector = d;
	return true;
}

bool expect_table_note(struct expect_table *t, const struct flow *parent,
                       const struct ip_addr *server, uint16_t port, const char *note)
{
	/* the newest matching slot: a server port may be announced again */
	for (size_t i = t->n; i-- > 0;) {
		struct expect_entry *x = &t->entries[i];
		if (x->parent_serial != parent->serial || x->e.server_port != port ||
		    ip_addr_compare(&x->e.server, server) != 0 || (x->used && !x->child_live))
			continue;
		snprintf(x->from.note, sizeof x->from.note, "%s", note ? note : "");
		return true;
	}
	return false;
}

static bool endpoint_is(const struct flow *f, enum direction side, const struct ip_addr *a,
                        uint16_t port)
{
	return f->port[side] == port && ip_addr_compare(&f->addr[side], a) == 0;
}

static bool expectation_matches(const struct expect_entry *x, const struct flow *f, usec_t now)
{
	const struct expectation *e = &x->e;
	if (x->used || e->deadline < now || e->transport != f->proto)
		return false;
	/* the announced side is the server; a flow whose direction was
	 * guessed from ports may have it the other way round */
	for (int side = 0; side < 2; side++) {
		enum direction srv = (enum direction)side;
		if (!endpoint_is(f, srv, &e->server, e->server_port))
			continue;
		if (!e->has_client || ip_addr_compare(&f->addr[dir_other(srv)], &e->client) == 0)
			return true;
	}
	return false;
}

bool dissect_expected(struct dissect_ctx *c, struct flow *f, usec_t now)
{
	for (size_t i = 0; i < c->expects.n; i++) {
		struct expect_entry *x = &c->expects.entries[i];
		if (!expectation_matches(x, f, now))
			continue;
		x->used = true;
		pin(c, f, x->dissector, DETECTED_PORT);
		f->has_parent = true;
		f->parent_serial = x->parent_serial;
		x->child_live = true;
		f->expected = &x->from;
		f->expect_slot = x;
		counters_add(c->counters, "expect.matched", 1);
		return true;
	}
	return false;
}

/* ---- what the record says ---- */

static bool saw_payload(const struct flow *f)
{
	return f->payload_bytes[DIR_CLIENT] + f->payload_bytes[DIR_SERVER] > 0;
}

/* True when some dissector is registered for the server port: its rejection
 * of the bytes is then a finding, not a lack of knowledge. */
static bool port_has_dissector(const struct flow *f)
{
	for (size_t i = 0; i < dissector_count; i++)
		if (handles_transport(dissector_registry[i], f) &&
		    registered_on(dissector_registry[i], f->port[DIR_SERVER]))
			return true;
	return false;
}

/* With no dissector, the port table's protocol is given (detected_by
 * "port"), as Wireshark dissects by port: a port whose own dissector
 * rejected the payload is then flagged malformed (dissect_rejected_by_port). */
const char *dissect_protocol(const struct flow *f)
{
	if (f->dissector)
		return f->dissector->protocol_name ? f->dissector->protocol_name(f->dstate)
		                                   : f->dissector->name;
	if (transport_is_icmp(f->proto))
		return "icmp"; /* an ICMP query session: the core decoded it */
	const struct port_entry *pe = port_lookup(f->proto, f->port[DIR_SERVER]);
	return pe ? pe->protocol : "unknown";
}

bool dissect_rejected_by_port(const struct flow *f)
{
	return !f->dissector && saw_payload(f) && port_has_dissector(f);
}

const char *dissect_detected_by(const struct flow *f)
{
	if (f->dissector)
		return f->detected_by == DETECTED_PAYLOAD ? "payload" : "port";
	if (transport_is_icmp(f->proto))
		return "payload";
	return strcmp(dissect_protocol(f), "unknown") ? "port" : NULL;
}
