/* The flow table (see portolan/flow.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "portolan/flow.h"
#include "portolan/icmp.h"
#include "portolan/ports.h"

struct lru_list {
	struct flow *oldest, *newest;
};

struct flow_table {
	struct flow_config cfg;
	struct flow **buckets;
	size_t bucket_mask;
	struct lru_list lists[FLOW_CLASS_COUNT];
	uint64_t seed;
	uint64_t next_serial;
	flow_end_fn on_end;
	void *ctx;
	struct flow_table_stats stats;
};

void flow_config_default(struct flow_config *cfg)
{
	cfg->max_flows = 262144;
	cfg->tcp_opening_timeout = 30 * USEC_PER_SEC;
	cfg->tcp_established_timeout = 300 * USEC_PER_SEC;
	cfg->udp_timeout = 60 * USEC_PER_SEC;
	cfg->close_delay = 5 * USEC_PER_SEC;
}

/* ---- hashing: symmetric in the two endpoints, seeded against floods ---- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t hash_endpoint(const struct ip_addr *a, uint16_t port, uint64_t h)
{
	uint64_t w0, w1;
	memcpy(&w0, a->b, 8);
	memcpy(&w1, a->b + 8, 8);
	h = mix64(h ^ w0);
	h = mix64(h ^ w1);
	return mix64(h ^ port);
}

static uint32_t flow_hash(const struct flow_table *t, uint8_t proto, const struct ip_addr *a,
                          uint16_t pa, const struct ip_addr *b, uint16_t pb)
{
	/* adding the two endpoint hashes makes the hash direction-free */
	uint64_t h = hash_endpoint(a, pa, t->seed) + hash_endpoint(b, pb, t->seed);
	return (uint32_t)mix64(h ^ proto);
}

static size_t next_pow2(size_t n)
{
	size_t p = 1024;
	while (p < n && p < ((size_t)1 << 24))
		p <<= 1;
	return p;
}

struct flow_table *flow_table_new(const struct flow_config *cfg, flow_end_fn on_end, void *ctx)
{
	struct flow_table *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->cfg = *cfg;
	if (t->cfg.max_flows < 1)
		t->cfg.max_flows = 1;
	size_t n = next_pow2(t->cfg.max_flows);
	t->buckets = calloc(n, sizeof *t->buckets);
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->bucket_mask = n - 1;
	if (getrandom(&t->seed, sizeof t->seed, GRND_NONBLOCK) != sizeof t->seed)
		t->seed = 0x9e3779b97f4a7c15ULL;
	t->on_end = on_end;
	t->ctx = ctx;
	t->next_serial = cfg->serial_first;
	return t;
}

/* ---- LRU lists, one per timeout class ---- */

static void lru_unlink(struct flow_table *t, struct flow *f)
{
	struct lru_list *l = &t->lists[f->lru_class];
	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		l->oldest = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		l->newest = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

static void lru_append(struct flow_table *t, struct flow *f, enum flow_class c)
{
	struct lru_list *l = &t->lists[c];
	f->lru_class = (uint8_t)c;
	f->lru_prev = l->newest;
	f->lru_next = NULL;
	if (l->newest)
		l->newest->lru_next = f;
	else
		l->oldest = f;
	l->newest = f;
}

static enum flow_class classify_timeout(const struct flow *f)
{
	if (f->ended)
		return FLOW_CLASS_CLOSING;
	if (f->proto != TRANSPORT_TCP)
		return FLOW_CLASS_UDP;
	bool established =
	    f->ep[DIR_CLIENT].state == EP_ESTABLISHED ||
	    f->ep[DIR_SERVER].state == EP_ESTABLISHED ||
	    (f->ep[DIR_CLIENT].state == EP_PARTIAL && f->ep[DIR_SERVER].state == EP_PARTIAL);
	return established ? FLOW_CLASS_TCP_ESTABLISHED : FLOW_CLASS_TCP_OPENING;
}

static usec_t class_timeout(const struct flow_table *t, enum flow_class c)
{
	switch (c) {
	case FLOW_CLASS_TCP_OPENING:
		return t->cfg.tcp_opening_timeout;
	case FLOW_CLASS_TCP_ESTABLISHED:
		return t->cfg.tcp_established_timeout;
	case FLOW_CLASS_UDP:
		return t->cfg.udp_timeout;
	default:
		return t->cfg.close_delay;
	}
}

/* ---- create, find, end ---- */

static bool endpoint_matches(const struct flow *f, enum direction side, const struct ip_addr *a,
                             uint16_t port)
{
	return f->port[side] == port && memcmp(&f->addr[side], a, sizeof *a) == 0;
}

static struct flow *find(struct flow_table *t, uint32_t h, const struct packet *p,
                         enum direction *dir)
{
	for (struct flow *f = t->buckets[h & t->bucket_mask]; f; f = f->hash_next) {
		if (f->hash != h || f->proto != p->ip_proto)
			continue;
		if (endpoint_matches(f, DIR_CLIENT, &p->src, p->sport) &&
		    endpoint_matches(f, DIR_SERVER, &p->dst, p->dport)) {
			*dir = DIR_CLIENT;
			return f;
		}
		if (endpoint_matches(f, DIR_SERVER, &p->src, p->sport) &&
		    endpoint_matches(f, DIR_CLIENT, &p->dst, p->dport)) {
			*dir = DIR_SERVER;
			return f;
		}
	}
	return NULL;
}

static void hash_remove(struct flow_table *t, struct flow *f)
{
	struct flow **pp = &t->buckets[f->hash & t->bucket_mask];
	while (*pp && *pp != f)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = f->hash_next;
}

void flow_end(struct flow_table *t, struct flow *f, enum flow_end_reason why)
{
	hash_remove(t, f);
	lru_unlink(t, f);
	t->stats.ended++;
	t->stats.ended_by[why]++;
	t->stats.active--;
	if (t->on_end)
		t->on_end(f, why, t->ctx);
	free(f->explain); /* a log the end callback did not draw */
	icmp_release(f);
	free(f);
}

/* Who is the client, decided from the first packet as the schema's
 * direction_basis says.  Returns true when the sender is the server. */
static bool sender_is_server(const struct packet *p, uint8_t *basis)
{
	if (p->ip_proto == TRANSPORT_TCP && (p->tcp_flags & TCP_SYN) && !(p->tcp_flags & TCP_RST)) {
		*basis = BASIS_HANDSHAKE; /* the SYN's sender; a SYN-ACK's receiver */
		return (p->tcp_flags & TCP_ACK) != 0;
	}
	if (transport_is_icmp(p->ip_proto)) {
		/* the type tells, as a port would: the requester is the client */
		const struct icmp_type_info *ti = icmp_type_info(p->ip_version, p->icmp_type);
		*basis = BASIS_PORT;
		return ti && ti->kind == ICMP_KIND_REPLY;
	}
	bool src_known = port_service(p->ip_proto, p->sport) != NULL;
	bool dst_known = port_service(p->ip_proto, p->dport) != NULL;
	*basis = BASIS_PORT;
	if (src_known != dst_known)
		return src_known;
	if (p->sport != p->dport)
		/* both or neither known: the higher port is the client's.  (Linux
		 * clients pick from 32768-60999, Windows from 49152-65535, so
		 * the port class alone cannot decide.) */
		return p->sport < p->dport;
	*basis = BASIS_FIRST_PACKET;
	return false;
}

/* Evicts one flow to make room: those already closing first, then
 * unanswered handshakes and one-packet flows, then the least recently
 * active of all. */
static void evict_one(struct flow_table *t)
{
	struct flow *victim = t->lists[FLOW_CLASS_CLOSING].oldest;
	if (!victim)
		victim = t->lists[FLOW_CLASS_TCP_OPENING].oldest;
	if (!victim) {
		int looked = 0;
		for (struct flow *f = t->lists[FLOW_CLASS_UDP].oldest; f && looked < 16;
		     f = f->lru_next, looked++)
			if (f->packets[0] + f->packets[1] <= 1) {
				victim = f;
				break;
			}
	}
	if (!victim) {
		for (int c = 0; c < FLOW_CLASS_COUNT; c++) {
			struct flow *f = t->lists[c].oldest;
			if (f && (!victim || f->ts_last < victim->ts_last))
				victim = f;
		}
	}
	if (victim) {
		t->stats.evicted++;
		flow_end(t, victim, END_EVICTED);
	}
}

static struct flow *create(struct flow_table *t, uint32_t h, const struct packet *p,
                           enum direction *dir)
{
	if (t->stats.active >= t->cfg.max_flows)
		evict_one(t);
	struct flow *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	uint8_t basis;
	bool flipped = sender_is_server(p, &basis);
	enum direction sender = flipped ? DIR_SERVER : DIR_CLIENT;

	f->hash = h;
	f->proto = p->ip_proto;
	f->ip_version = p->ip_version;
	f->direction_basis = basis;
	f->flipped = flipped;
	f->addr[sender] = p->src;
	f->port[sender] = p->sport;
	f->addr[dir_other(sender)] = p->dst;
	f->port[dir_other(sender)] = p->dport;
	f->serial = t->next_serial;
	t->next_serial += t->cfg.serial_step ? t->cfg.serial_step : 1;
	f->ts_first = f->ts_last = p->ts;
	f->handshake_rtt_us = -1;
	for (int d = 0; d < 2; d++) {
		f->ep[d].rxmit_thresh = f->ep[d].zero_win_thresh = f->ep[d].gap_thresh = 1;
	}
	if (flipped)
		f->history[f->history_len++] = '^';

	f->hash_next = t->buckets[h & t->bucket_mask];
	t->buckets[h & t->bucket_mask] = f;
	lru_append(t, f, p->ip_proto == TRANSPORT_TCP ? FLOW_CLASS_TCP_OPENING : FLOW_CLASS_UDP);
	t->stats.created++;
	t->stats.active++;
	if (t->stats.active > t->stats.max_active)
		t->stats.max_active = t->stats.active;
	*dir = sender;
	return f;
}

/* Zeek's IsReuse: a SYN on a finished connection starts a new one, and so
 * does a SYN whose sequence number is not the originator's ISN (a new
 * attempt, not a retransmission).  A SYN-ACK only counts while the client
 * has not been seen. */
static bool is_reuse(const struct flow *f, const struct packet *p)
{
	const struct tcp_endpoint *orig = &f->ep[DIR_CLIENT];

	if (f->proto != TRANSPORT_TCP || !(p->tcp_flags & TCP_SYN))
		return false;
	if (p->tcp_flags & TCP_ACK) {
		if (orig->state != EP_INACTIVE)
			return false;
		orig = &f->ep[DIR_SERVER];
	}
	if (f->ended)
		return true;
	return orig->seq_init && p->seq != orig->start_seq;
}

struct flow *flow_lookup(struct flow_table *t, const struct packet *p, enum direction *dir,
                         bool *created)
{
	uint32_t h = flow_hash(t, p->ip_proto, &p->src, p->sport, &p->dst, p->dport);
	struct flow *f = find(t, h, p, dir);

	*created = false;
	if (f && is_reuse(f, p)) {
		flow_end(t, f, END_REUSED);
		f = NULL;
	}
	if (f)
		return f;
	*created = true;
	return create(t, h, p, dir);
}

struct flow *flow_find(struct flow_table *t, uint8_t proto, const struct ip_addr *src,
                       uint16_t sport, const struct ip_addr *dst, uint16_t dport,
                       enum direction *dir)
{
	struct packet p = {
	    .ip_proto = proto, .src = *src, .dst = *dst, .sport = sport, .dport = dport};
	return find(t, flow_hash(t, proto, src, sport, dst, dport), &p, dir);
}

void flow_uid(uint64_t serial, char *out, size_t n)
{
	static const char digits[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	/* a bijective mix of the creation serial: unique per run, and the
	 * same on every run over the same input */
	uint64_t x = serial + 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	char tmp[16];
	int len = 0;
	do {
		tmp[len++] = digits[x % 62];
		x /= 62;
	} while (x && len < 15);
	size_t o = 0;
	if (n < 2)
		return;
	out[o++] = 'C';
	while (len > 0 && o + 1 < n)
		out[o++] = tmp[--len];
	out[o] = '\0';
}

/* ---- history ---- */

static int history_bit(char letter)
{
	static const char letters[] = "SHADFRCGTWIQ";
	const char *p = strchr(letters, letter);
	return p ? (int)(p - letters) : -1;
}

bool flow_history_check(struct flow *f, enum direction dir, char letter)
{
	int bit = history_bit(letter);
	if (bit < 0)
		return true;
	uint32_t mask = 1u << (bit + (dir == DIR_SERVER ? 16 : 0));
	if (f->history_seen & mask)
		return true;
	f->history_seen |= mask;
	flow_history_add(f, dir, letter);
	return false;
}

void flow_history_add(struct flow *f, enum direction dir, char letter)
{
	if (f->history_len >= HISTORY_MAX)
		return;
	f->history[f->history_len++] = dir == DIR_CLIENT ? letter : (char)(letter - 'A' + 'a');
	f->history[f->history_len] = '\0';
}

void flow_history_scaled(struct flow *f, enum direction dir, char letter, uint32_t *count,
                         uint32_t *thresh)
{
	if (++*count != *thresh)
		return;
	flow_history_add(f, dir, letter);
	if (*thresh <= UINT32_MAX / 10)
		*thresh *= 10;
}

/* ---- per-packet update and timeouts ---- */

static bool tcp_closed(const struct flow *f)
{
	uint8_t c = f->ep[DIR_CLIENT].state, s = f->ep[DIR_SERVER].state;
	return c == EP_RESET || s == EP_RESET || (c == EP_CLOSED && s == EP_CLOSED);
}

void flow_update(struct flow_table *t, struct flow *f, const struct packet *p, enum direction dir)
{
	f->ts_last = p->ts;
	f->packets[dir]++;
	f->payload_bytes[dir] += p->payload_wire_len;
	if (p->snap_truncated)
		f->snap_truncated = true;
	if (p->has_mac && !f->has_mac) {
		f->has_mac = true;
		memcpy(f->mac[dir], p->src_mac, 6);
		memcpy(f->mac[dir_other(dir)], p->dst_mac, 6);
	}
	if (p->n_vlans && !f->n_vlans) {
		f->n_vlans = p->n_vlans > 2 ? 2 : p->n_vlans;
		memcpy(f->vlans, p->vlans, f->n_vlans * sizeof f->vlans[0]);
	}
	if (f->proto == TRANSPORT_TCP) {
		tcp_state_update(f, dir, p);
		f->ended = tcp_closed(f);
	} else if (f->proto == TRANSPORT_UDP) {
		/* Zeek's UDP analyzer: a side that sent is active; D/d once */
		f->ep[dir].state = EP_UDP_ACTIVE;
		flow_history_check(f, dir, 'D');
	} else {
		f->ep[dir].state = EP_UDP_ACTIVE; /* ICMP: Zeek adds no letters */
	}
	lru_unlink(t, f);
	lru_append(t, f, classify_timeout(f));
}

void flow_table_expire(struct flow_table *t, usec_t now)
{
	for (int c = 0; c < FLOW_CLASS_COUNT; c++) {
		usec_t timeout = class_timeout(t, (enum flow_class)c);
		struct flow *f;
		while ((f = t->lists[c].oldest) && f->ts_last + timeout <= now)
			flow_end(t, f, c == FLOW_CLASS_CLOSING ? END_CLOSED : END_IDLE);
	}
}

/* Ends every flow, oldest activity first across all lists, so the order
 * of the last records is the same on every run. */
void flow_table_flush(struct flow_table *t)
{
	for (;;) {
		struct flow *oldest = NULL;
		for (int c = 0; c < FLOW_CLASS_COUNT; c++) {
			struct flow *f = t->lists[c].oldest;
			if (f && (!oldest || f->ts_last < oldest->ts_last ||
			          (f->ts_last == oldest->ts_last && f->serial < oldest->serial)))
				oldest = f;
		}
		if (!oldest)
			break;
		flow_end(t, oldest, oldest->ended ? END_CLOSED : END_FLUSH);
	}
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	flow_table_flush(t);
	free(t->buckets);
	free(t);
}

const struct flow_table_stats *flow_table_stats(const struct flow_table *t)
{
	return &t->stats;
}

/* ---- Zeek's conn_state (scripts/base/protocols/conn/main.zeek) ---- */

/* history =~ /^\^?S[^HAFGIQ]*R.*$/: a SYN then a RST with no sign of an
 * answer in between. */
static bool history_syn_then_rst(const char *h)
{
	if (*h == '^')
		h++;
	if (*h++ != 'S')
		return false;
	for (; *h; h++) {
		if (*h == 'R')
			return true;
		if (strchr("HAFGIQ", *h))
			return false;
	}
	return false;
}

static const char *tcp_conn_state(const struct flow *f)
{
	uint8_t os = f->ep[DIR_CLIENT].state, rs = f->ep[DIR_SERVER].state;
	bool o_inactive = os == EP_INACTIVE || os == EP_PARTIAL;
	bool r_inactive = rs == EP_INACTIVE || rs == EP_PARTIAL;

	if (rs == EP_RESET) {
		if (os == EP_SYN_SENT || os == EP_SYN_ACK_SENT ||
		    (os == EP_RESET && flow_bytes(f, DIR_CLIENT) == 0 &&
		     flow_bytes(f, DIR_SERVER) == 0))
			return "REJ";
		return o_inactive ? "RSTRH" : "RSTR";
	}
	if (os == EP_RESET) {
		if (r_inactive)
			return history_syn_then_rst(f->history) ? "RSTOS0" : "OTH";
		return "RSTO";
	}
	if (rs == EP_CLOSED && os == EP_CLOSED)
		return "SF";
	if (os == EP_CLOSED)
		return r_inactive ? "SH" : "S2";
	if (rs == EP_CLOSED)
		return o_inactive ? "SHR" : "S3";
	if (os == EP_SYN_SENT && rs == EP_INACTIVE)
		return "S0";
	if (os == EP_ESTABLISHED && rs == EP_ESTABLISHED)
		return "S1";
	return "OTH";
}

const char *flow_conn_state(const struct flow *f)
{
	if (f->proto == TRANSPORT_TCP)
		return tcp_conn_state(f);
	if (f->proto != TRANSPORT_UDP)
		return "OTH"; /* Zeek's conn_state for ICMP */
	bool o = f->ep[DIR_CLIENT].state == EP_UDP_ACTIVE;
	bool r = f->ep[DIR_SERVER].state == EP_UDP_ACTIVE;
	if (o)
		return r ? "SF" : "S0";
	return r ? "SHR" : "OTH";
}

/* Zeek's TCP_Endpoint::Size: the span of sequence space used, less the SYN
 * and FIN octets; an ACK beyond the last byte seen counts the missed data. */
uint64_t flow_bytes(const struct flow *f, enum direction dir)
{
	if (f->proto != TRANSPORT_TCP)
		return f->payload_bytes[dir];
	const struct tcp_endpoint *ep = &f->ep[dir];
	if (!ep->seq_init)
		return 0;
	uint64_t size = ep->ack_rel > ep->last_rel ? ep->ack_rel : ep->last_rel;
	if (size)
		size--;
	if (ep->fin_count && size)
		size--;
	return size;
}
