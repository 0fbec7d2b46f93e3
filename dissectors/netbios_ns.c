/* NetBIOS Name Service (RFC 1001 15, RFC 1002 4.2), UDP port 137.
 *
 * NBNS uses DNS's wire format (header, questions, resource records,
 * compression pointers), so names are read with src/dns_message.c's
 * dns_read_name; its names are one 32-byte first-level-encoded label plus
 * the scope (src/netbios_name.c decodes them).  Its records are its own:
 * NB (a list of flags + IPv4 address), NBSTAT (the node's name table and
 * MAC address) and the WACK (a wait).  A flow keeps transactions: a request
 * (query, registration, release, refresh) and the response that carries its
 * id and name; a retransmitted request is counted on the first, a WACK
 * marks the registration it delays.  Capped: NBNS_MAX_TRANSACTIONS per flow,
 * NBNS_MAX_ANSWERS per transaction, NBNS_MAX_NAMES distinct names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "portolan/dissector.h"
#include "portolan/dns_message.h"
#include "portolan/netbios_name.h"
#include "portolan/summary.h"

#define NBNS_PORT 137
#define NBNS_MAX_TRANSACTIONS 64
#define NBNS_FIRST_TXN_ALLOC 2
#define NBNS_MAX_ANSWERS 16
/* "NAME<20>" with its 15 raw bytes, or a dotted IPv4 address. */
#define NBNS_ANSWER_TEXT 24
/* Distinct "NAME<xx>" seen in the flow (questions, answers, node status). */
#define NBNS_MAX_NAMES 64
/* The probe's limits: NBNS messages carry one name, a few records. */
#define NBNS_PROBE_MAX_COUNT 8

#define NBNS_TYPE_NB 0x20
#define NBNS_TYPE_NBSTAT 0x21
#define NBNS_OPCODE_QUERY 0
#define NBNS_OPCODE_WACK 7

/* NM_FLAGS (RFC 1002 4.2.1.1) in the second header word. */
#define NBNS_FLAG_R 0x8000u
#define NBNS_FLAG_AA 0x0400u
#define NBNS_FLAG_TC 0x0200u
#define NBNS_FLAG_RD 0x0100u
#define NBNS_FLAG_RA 0x0080u
#define NBNS_FLAG_ZERO 0x0060u
#define NBNS_FLAG_B 0x0010u

/* NB_FLAGS / NAME_FLAGS: group bit and owner node type. */
#define NB_FLAG_G 0x8000u
#define NB_ONT_SHIFT 13
/* NBSTAT: 6-byte unit id (MAC) at the start of the statistics. */
#define NBSTAT_ENTRY_LEN 18

static const struct value_name nbns_opcodes[] = {
    {0, "query"},
    {5, "registration"},
    {6, "release"},
    {7, "wack"},
    {8, "refresh"},
    {9, "refresh"},
    {15, "multi-homed registration"},
    {0, NULL},
};

static const struct value_name nbns_rcodes[] = {
    {0, "NOERROR"}, {1, "FMT_ERR"}, {2, "SRV_ERR"}, {3, "NAM_ERR"}, {4, "IMP_ERR"},
    {5, "RFS_ERR"}, {6, "ACT_ERR"}, {7, "CFT_ERR"}, {0, NULL},
};

static const struct value_name nbns_types[] = {
    {1, "A"},  {2, "NS"}, {10, "NULL"}, {NBNS_TYPE_NB, "NB"}, {NBNS_TYPE_NBSTAT, "NBSTAT"},
    {0, NULL},
};

static const char *const node_types[] = {"B", "P", "M", "H"};

struct nbns_txn {
	uint16_t id;
	uint8_t opcode;
	uint8_t rcode;
	uint16_t qtype;
	uint16_t flags; /* AA TC RD RA B of request and response */
	bool seen_query, seen_response, wack, has_name;
	bool has_nb_flags, group, has_address, has_ttl, has_mac;
	uint8_t node_type;
	uint8_t address[4]; /* what a registration, refresh or release names */
	uint32_t ttl;
	uint8_t mac[6];
	uint16_t retransmissions;
	uint16_t answers_dropped;
	uint8_t n_answers;
	uint8_t answer_len[NBNS_MAX_ANSWERS];
	char answers[NBNS_MAX_ANSWERS][NBNS_ANSWER_TEXT];
	struct nb_name name;
};

struct nbns_state {
	struct nbns_txn *txns;
	unsigned n_txns, txn_alloc;
	unsigned truncated;
	unsigned malformed;
	unsigned n_names, names_dropped;
	char (*names)[NBNS_ANSWER_TEXT]; /* NBNS_MAX_NAMES, made on first use */
	uint8_t *name_len;
};

/* ---- one message ---- */

struct nbns_rr {
	struct nb_name name;
	uint16_t type, rclass;
	uint32_t ttl;
	struct reader rdata;
};

struct nbns_msg {
	uint16_t id, flags;
	uint16_t qdcount, ancount, nscount, arcount;
	bool has_question;
	struct nb_name qname;
	uint16_t qtype;
	bool has_answer, has_additional;
	struct nbns_rr answer;     /* the first answer record */
	struct nbns_rr additional; /* the first additional record */
};

static unsigned msg_opcode(const struct nbns_msg *m)
{
	return (m->flags >> 11) & 0xf;
}

static int read_nb_name(struct reader *msg, struct nb_name *out)
{
	struct dns_name dn;
	int rc = dns_read_name(msg, &dn);
	if (rc != DNS_OK)
		return rc;
	nb_name_from_text(dn.text, dn.len, out);
	return DNS_OK;
}

static int read_rr(struct reader *msg, struct nbns_rr *rr)
{
	int rc = read_nb_name(msg, &rr->name);
	if (rc != DNS_OK)
		return rc;
	rr->type = rd_be16(msg);
	rr->rclass = rd_be16(msg);
	rr->ttl = rd_be32(msg);
	uint16_t rdlength = rd_be16(msg);
	rr->rdata = rd_sub(msg, rdlength);
	return rd_ok(msg) ? DNS_OK : DNS_ERR_SHORT;
}

/* Reads the whole message; the first question, answer and additional
 * record are kept.  Any record that does not fit refuses the message. */
static int parse_message(struct reader r, struct nbns_msg *m)
{
	struct reader msg = rd_rest(&r);
	struct nbns_rr scratch;

	memset(m, 0, sizeof *m);
	m->id = rd_be16(&msg);
	m->flags = rd_be16(&msg);
	m->qdcount = rd_be16(&msg);
	m->ancount = rd_be16(&msg);
	m->nscount = rd_be16(&msg);
	m->arcount = rd_be16(&msg);
	if (!rd_ok(&msg))
		return DNS_ERR_SHORT;
	for (unsigned i = 0; i < m->qdcount; i++) {
		struct nb_name name;
		int rc = read_nb_name(&msg, &name);
		if (rc != DNS_OK)
			return rc;
		uint16_t qtype = rd_be16(&msg);
		rd_skip(&msg, 2); /* class */
		if (!rd_ok(&msg))
			return DNS_ERR_SHORT;
		if (!m->has_question) {
			m->has_question = true;
			m->qname = name;
			m->qtype = qtype;
		}
	}
	unsigned records = (unsigned)m->ancount + m->nscount + m->arcount;
	for (unsigned i = 0; i < records; i++) {
		struct nbns_rr *rr = &scratch;
		if (i == 0 && m->ancount)
			rr = &m->answer;
		else if (i == (unsigned)m->ancount + m->nscount)
			rr = &m->additional;
		int rc = read_rr(&msg, rr);
		if (rc != DNS_OK)
			return rc;
		if (rr == &m->answer)
			m->has_answer = true;
		else if (rr == &m->additional)
			m->has_additional = true;
	}
	return DNS_OK;
}

/* ---- transactions ---- */

static bool same_name(const struct nb_name *a, const struct nb_name *b)
{
	return a->encoded == b->encoded && a->suffix == b->suffix && a->len == b->len &&
	       strncasecmp(a->text, b->text, a->len) == 0;
}

static void note_name(struct nbns_state *st, struct session *s, const char *text, size_t len)
{
	if (len > NBNS_ANSWER_TEXT)
		len = NBNS_ANSWER_TEXT;
	for (unsigned i = 0; i < st->n_names; i++)
		if (st->name_len[i] == len && memcmp(st->names[i], text, len) == 0)
			return;
	if (st->n_names >= NBNS_MAX_NAMES) {
		if (st->names_dropped++ == 0)
			session_count(s, "netbios-ns.too_many_names");
		return;
	}
	if (!st->names) {
		st->names = calloc(NBNS_MAX_NAMES, sizeof *st->names);
		st->name_len = calloc(NBNS_MAX_NAMES, 1);
		if (!st->names || !st->name_len) {
			free(st->names);
			free(st->name_len);
			st->names = NULL;
			st->name_len = NULL;
			session_count(s, "netbios-ns.out_of_memory");
			return;
		}
	}
	memcpy(st->names[st->n_names], text, len);
	st->name_len[st->n_names++] = (uint8_t)len;
}

static void note_nb_name(struct nbns_state *st, struct session *s, const struct nb_name *n)
{
	char buf[NB_RAW_MAX + 8];
	size_t len = nb_name_label(n, buf, sizeof buf);
	if (len)
		note_name(st, s, buf, len);
}

static struct nbns_txn *new_txn(struct nbns_state *st, struct session *s)
{
	if (st->n_txns >= NBNS_MAX_TRANSACTIONS) {
		if (st->truncated++ == 0)
			session_count(s, "netbios-ns.too_many_transactions");
		return NULL;
	}
	if (st->n_txns == st->txn_alloc) {
		unsigned alloc = st->txn_alloc ? st->txn_alloc * 2 : NBNS_FIRST_TXN_ALLOC;
		if (alloc > NBNS_MAX_TRANSACTIONS)
			alloc = NBNS_MAX_TRANSACTIONS;
		struct nbns_txn *t = realloc(st->txns, alloc * sizeof *t);
		if (!t) {
			st->truncated++;
			session_count(s, "netbios-ns.out_of_memory");
			return NULL;
		}
		st->txns = t;
		st->txn_alloc = alloc;
	}
	struct nbns_txn *t = &st->txns[st->n_txns++];
	memset(t, 0, sizeof *t);
	return t;
}

static void add_answer(struct nbns_txn *t, struct session *s, const char *text, size_t len)
{
	if (t->n_answers >= NBNS_MAX_ANSWERS) {
		if (t->answers_dropped++ == 0)
			session_count(s, "netbios-ns.too_many_answers");
		return;
	}
	if (len > NBNS_ANSWER_TEXT)
		len = NBNS_ANSWER_TEXT;
	memcpy(t->answers[t->n_answers], text, len);
	t->answer_len[t->n_answers++] = (uint8_t)len;
}

static size_t format_ipv4(const uint8_t a[4], char *buf, size_t n)
{
	int w = snprintf(buf, n, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	return w > 0 && (size_t)w < n ? (size_t)w : 0;
}

/* NB rdata: (NB_FLAGS, NB_ADDRESS) pairs; a query answer lists them all, a
 * registration's additional record names one. */
static bool take_nb(struct nbns_txn *t, struct session *s, struct reader rd, bool as_answers)
{
	if (rd_remaining(&rd) % 6 != 0)
		return false;
	while (rd_remaining(&rd) >= 6) {
		uint16_t fl = rd_be16(&rd);
		uint8_t a[4];
		rd_copy(&rd, a, sizeof a);
		if (!t->has_nb_flags) {
			t->has_nb_flags = true;
			t->group = fl & NB_FLAG_G;
			t->node_type = (uint8_t)((fl >> NB_ONT_SHIFT) & 3);
		}
		if (as_answers) {
			char buf[16];
			add_answer(t, s, buf, format_ipv4(a, buf, sizeof buf));
		} else if (!t->has_address) {
			t->has_address = true;
			memcpy(t->address, a, 4);
		}
	}
	return rd_ok(&rd);
}

/* NBSTAT rdata: the node's name table ("NAME<xx>" each) and its MAC. */
static bool take_nbstat(struct nbns_state *st, struct nbns_txn *t, struct session *s,
                        struct reader rd)
{
	uint8_t count = rd_u8(&rd);
	for (unsigned i = 0; i < count && rd_ok(&rd); i++) {
		struct nb_name n;
		const uint8_t *raw = rd_take(&rd, NB_NAME_LEN + 1);
		rd_skip(&rd, 2); /* NAME_FLAGS */
		if (!raw)
			break;
		memset(&n, 0, sizeof n);
		n.encoded = true;
		memcpy(n.text, raw, NB_NAME_LEN);
		n.suffix = raw[NB_NAME_LEN];
		size_t len = NB_NAME_LEN;
		while (len && (n.text[len - 1] == ' ' || n.text[len - 1] == '\0'))
			len--;
		n.len = (uint8_t)len;
		char buf[NB_RAW_MAX + 8];
		size_t bl = nb_name_label(&n, buf, sizeof buf);
		add_answer(t, s, buf, bl);
		note_name(st, s, buf, bl);
	}
	if (!rd_ok(&rd))
		return false;
	if (rd_remaining(&rd) >= 6) { /* statistics are often cut: tolerated */
		rd_copy(&rd, t->mac, 6);
		t->has_mac = true;
	}
	return true;
}

static struct nbns_txn *find_request(struct nbns_state *st, const struct nbns_msg *m,
                                     const struct nb_name *name, bool open_only)
{
	for (unsigned i = st->n_txns; i-- > 0;) {
		struct nbns_txn *t = &st->txns[i];
		if (t->id != m->id || (open_only && t->seen_response))
			continue;
		if (!name || !t->has_name || same_name(&t->name, name))
			return t;
	}
	return NULL;
}

static bool take_request(struct nbns_state *st, struct session *s, const struct nbns_msg *m)
{
	const struct nb_name *name = m->has_question ? &m->qname : NULL;
	struct nbns_txn *t = find_request(st, m, name, true);

	if (t && t->seen_query && t->opcode == msg_opcode(m)) {
		t->retransmissions++;
		return true;
	}
	if (name) /* the flow's names list outlives the transactions cap */
		note_nb_name(st, s, name);
	t = new_txn(st, s);
	if (!t)
		return true;
	t->id = m->id;
	t->opcode = (uint8_t)msg_opcode(m);
	t->seen_query = true;
	t->flags = m->flags & (NBNS_FLAG_RD | NBNS_FLAG_B | NBNS_FLAG_TC);
	if (name) {
		t->has_name = true;
		t->name = *name;
		t->qtype = m->qtype;
	}
	/* registration, release, refresh: the name's owner in an additional
	 * NB record (RFC 1002 4.2.2) */
	if (m->has_additional && m->additional.type == NBNS_TYPE_NB) {
		t->ttl = m->additional.ttl;
		t->has_ttl = t->opcode != NBNS_OPCODE_QUERY;
		return take_nb(t, s, m->additional.rdata, false);
	}
	return true;
}

static bool take_response(struct nbns_state *st, struct session *s, const struct nbns_msg *m)
{
	const struct nb_name *name = m->has_answer     ? &m->answer.name
	                             : m->has_question ? &m->qname
	                                               : NULL;
	struct nbns_txn *t;

	if (msg_opcode(m) == NBNS_OPCODE_WACK) {
		/* "wait for acknowledgement": the ttl says how long */
		t = find_request(st, m, name, true);
		if (t) {
			t->wack = true;
			t->ttl = m->has_answer ? m->answer.ttl : 0;
			t->has_ttl = m->has_answer;
			return true;
		}
	}
	if (name)
		note_nb_name(st, s, name);
	t = find_request(st, m, name, true);
	if (!t) {
		t = new_txn(st, s);
		if (!t)
			return true;
		t->id = m->id;
		t->opcode = (uint8_t)msg_opcode(m);
	}
	t->seen_response = true;
	t->rcode = (uint8_t)(m->flags & 0xf);
	t->flags |= m->flags & (NBNS_FLAG_AA | NBNS_FLAG_RA | NBNS_FLAG_TC);
	if (name && !t->has_name) {
		t->has_name = true;
		t->name = *name;
	}
	if (!m->has_answer)
		return true;
	if (!t->qtype)
		t->qtype = m->answer.type;
	if (msg_opcode(m) == NBNS_OPCODE_WACK) {
		t->wack = true;
		t->ttl = m->answer.ttl;
		t->has_ttl = true;
		return true;
	}
	if (t->opcode != NBNS_OPCODE_QUERY || m->answer.ttl) {
		t->ttl = m->answer.ttl;
		t->has_ttl = true;
	}
	if (m->answer.type == NBNS_TYPE_NB)
		return take_nb(t, s, m->answer.rdata, t->opcode == NBNS_OPCODE_QUERY);
	if (m->answer.type == NBNS_TYPE_NBSTAT)
		return take_nbstat(st, t, s, m->answer.rdata);
	return true;
}

static void malformed(struct nbns_state *st, struct session *s)
{
	st->malformed++;
	session_alert(s, ALERT_MALFORMED);
	session_count(s, "netbios-ns.malformed");
}

static size_t nbns_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct nbns_state *st = state;
	struct nbns_msg m;
	size_t n = rd_remaining(&r);
	(void)dir;

	if (parse_message(r, &m) != DNS_OK) {
		malformed(st, s);
		return n;
	}
	bool ok = (m.flags & NBNS_FLAG_R) ? take_response(st, s, &m) : take_request(st, s, &m);
	if (!ok)
		malformed(st, s);
	return n;
}

/* ---- probe ---- */

static bool encoded_label_at(struct reader r)
{
	if (rd_u8(&r) != NB_ENCODED_LEN)
		return false;
	for (int i = 0; i < NB_ENCODED_LEN; i++) {
		uint8_t c = rd_u8(&r);
		if (c < 'A' || c > 'P')
			return false;
	}
	return rd_ok(&r);
}

/* A header NBNS could send, then a first-level-encoded first name. */
static enum verdict nbns_probe(struct reader r, enum direction dir)
{
	(void)dir;
	if (!rd_has(&r, DNS_HEADER_LEN + 1 + NB_ENCODED_LEN))
		return VERDICT_NEED_MORE;
	struct reader h = r;
	rd_skip(&h, 2);
	uint16_t flags = rd_be16(&h);
	uint16_t qd = rd_be16(&h), an = rd_be16(&h), ns = rd_be16(&h), ar = rd_be16(&h);
	if (!value_name_lookup(nbns_opcodes, (flags >> 11) & 0xf) || (flags & NBNS_FLAG_ZERO))
		return VERDICT_NO;
	if (qd > NBNS_PROBE_MAX_COUNT || an > NBNS_PROBE_MAX_COUNT || ns > NBNS_PROBE_MAX_COUNT ||
	    ar > NBNS_PROBE_MAX_COUNT || qd + an == 0)
		return VERDICT_NO;
	if (!(flags & NBNS_FLAG_R) && (flags & 0xf))
		return VERDICT_NO;
	rd_skip(&r, DNS_HEADER_LEN);
	return encoded_label_at(r) ? VERDICT_YES : VERDICT_NO;
}

/* ---- output ---- */

static void emit_txn(const struct nbns_txn *t, struct emitter *e)
{
	char buf[32];

	emit_object_begin(e, NULL);
	emit_int(e, "id", t->id);
	const char *op = value_name_lookup(nbns_opcodes, t->opcode);
	if (op)
		emit_str(e, "opcode", op);
	else {
		snprintf(buf, sizeof buf, "OPCODE%u", t->opcode);
		emit_str(e, "opcode", buf);
	}
	if (t->has_name) {
		emit_strn(e, "name", t->name.text, t->name.len);
		if (t->name.encoded) {
			emit_str(e, "suffix", nb_suffix_text(t->name.suffix, buf, sizeof buf));
			const char *meaning = nb_suffix_meaning(t->name.suffix, t->group);
			if (meaning)
				emit_str(e, "service", meaning);
		} else {
			emit_bool(e, "encoded", false);
		}
		if (t->name.scope_len)
			emit_strn(e, "scope", t->name.scope, t->name.scope_len);
	} else {
		emit_null(e, "name");
	}
	if (t->qtype) {
		const char *tn = value_name_lookup(nbns_types, t->qtype);
		if (!tn) {
			snprintf(buf, sizeof buf, "TYPE%u", t->qtype);
			tn = buf;
		}
		emit_str(e, "type", tn);
	}
	if (t->flags & NBNS_FLAG_B)
		emit_bool(e, "broadcast", true);
	if (t->has_nb_flags) {
		emit_bool(e, "group", t->group);
		emit_str(e, "node_type", node_types[t->node_type & 3]);
	}
	if (t->has_address) {
		format_ipv4(t->address, buf, sizeof buf);
		emit_str(e, "address", buf);
	}
	if (t->has_ttl)
		emit_int(e, "ttl", t->ttl);
	if (t->seen_response) {
		const char *rc = value_name_lookup(nbns_rcodes, t->rcode);
		if (rc)
			emit_str(e, "rcode", rc);
		else
			emit_int(e, "rcode", t->rcode);
	} else {
		emit_null(e, "rcode");
	}
	if (!t->seen_query)
		emit_bool(e, "request_seen", false);
	if (t->flags & NBNS_FLAG_AA)
		emit_bool(e, "authoritative", true);
	if (t->wack)
		emit_bool(e, "wack", true);
	emit_array_begin(e, "answers");
	for (unsigned i = 0; i < t->n_answers; i++)
		emit_strn(e, NULL, t->answers[i], t->answer_len[i]);
	emit_array_end(e);
	if (t->answers_dropped)
		emit_int(e, "answers_truncated", t->answers_dropped);
	if (t->has_mac) {
		snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", t->mac[0], t->mac[1],
		         t->mac[2], t->mac[3], t->mac[4], t->mac[5]);
		emit_str(e, "mac", buf);
	}
	if (t->retransmissions)
		emit_int(e, "retransmissions", t->retransmissions);
	emit_object_end(e);
}

static void nbns_emit(const void *state, struct emitter *e)
{
	const struct nbns_state *st = state;

	emit_array_begin(e, "queries");
	for (unsigned i = 0; i < st->n_txns; i++)
		emit_txn(&st->txns[i], e);
	emit_array_end(e);
	if (st->truncated)
		emit_int(e, "truncated", st->truncated);
	emit_array_begin(e, "names");
	for (unsigned i = 0; i < st->n_names; i++)
		emit_strn(e, NULL, st->names[i], st->name_len[i]);
	emit_array_end(e);
	if (st->names_dropped)
		emit_int(e, "names_truncated", st->names_dropped);
	if (st->malformed)
		emit_int(e, "malformed", st->malformed);
}

static void nbns_summarize(const void *state, char *buf, size_t n)
{
	const struct nbns_state *st = state;
	struct summary s = summary_start(buf, n);

	if (st->n_txns == 0) {
		summary_add(&s, st->malformed ? "malformed" : "");
		return;
	}
	const struct nbns_txn *t = &st->txns[0];
	summary_add(&s, value_name_lookup(nbns_opcodes, t->opcode)
	                    ? value_name_lookup(nbns_opcodes, t->opcode)
	                    : "?");
	if (t->has_name) {
		char label[NB_RAW_MAX + 8];
		size_t len = nb_name_label(&t->name, label, sizeof label);
		summary_add(&s, " ");
		summary_add_wire(&s, label, len);
	}
	if (t->seen_response) {
		const char *rc = value_name_lookup(nbns_rcodes, t->rcode);
		summary_addf(&s, " -> %s", rc ? rc : "?");
		if (t->n_answers) {
			summary_add(&s, " ");
			summary_add_wire(&s, t->answers[0], t->answer_len[0]);
		}
	}
	if (st->n_txns > 1)
		summary_addf(&s, " (+%u)", st->n_txns - 1);
}

static void nbns_release(void *state)
{
	struct nbns_state *st = state;
	free(st->txns);
	free(st->names);
	free(st->name_len);
	st->txns = NULL;
	st->names = NULL;
	st->name_len = NULL;
}

static const uint16_t nbns_ports[] = {NBNS_PORT, 0};

const struct dissector netbios_ns_dissector = {
    .name = "netbios-ns",
    .transports = TRANSPORT_BIT_UDP,
    .ports = nbns_ports,
    .state_size = sizeof(struct nbns_state),
    .probe = nbns_probe,
    .on_data = nbns_on_data,
    .emit = nbns_emit,
    .summarize = nbns_summarize,
    .release = nbns_release,
};
