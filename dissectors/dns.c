/* DNS over UDP and TCP, and mDNS (RFC 6762) and LLMNR (RFC 4795) by the same
 * code.
 *
 * Each datagram is one message (src/dns_message.c parses it).  On TCP each
 * message comes with a 2-byte length in front (RFC 1035 4.2.2, RFC 7766),
 * several to a segment or one across several: the core's PDU framer
 * (portolan/framing.h) cuts them out, one framer per direction, and each is
 * then taken like a datagram.  A zone transfer answers one query with many
 * messages (RFC 5936 2.2): on a stream they all go to that query's
 * transaction, whose answers stay capped like any other.  A flow keeps
 * its transactions: a query and the response that carries its id (and, when
 * both have one, its question), with the response time on packet time.  A
 * response whose query was not seen still makes a transaction.  Everything
 * that grows is capped: DNS_MAX_TRANSACTIONS per flow, DNS_MAX_ANSWERS and
 * DNS_MAX_QUESTIONS per message, each overflow counted.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/dns_message.h"
#include "portolan/framing.h"
#include "portolan/json.h"
#include "portolan/summary.h"

/* Transactions kept per flow; later ones are counted in "truncated". */
#define DNS_MAX_TRANSACTIONS 64
#define DNS_FIRST_TXN_ALLOC 2

/* The largest length-prefixed message a TCP framer takes whole, prefix
 * included (so messages of up to 65534 bytes); a longer one is skipped by
 * the framer without being buffered, and counted in "dns.tcp_too_big". */
#define DNS_TCP_MAX_PDU (64 * 1024)
/* Zone transfers (RFC 5936, RFC 1995): one query, many response messages. */
#define DNS_TYPE_IXFR 251
#define DNS_TYPE_AXFR 252

/* The flag bits a transaction reports. */
#define DNS_REPORTED_FLAGS (DNS_FLAG_AA | DNS_FLAG_TC | DNS_FLAG_RD | DNS_FLAG_RA)
/* mDNS puts the unicast-response (questions) or cache-flush (answers) bit
 * on top of the class. */
#define MDNS_CLASS_MASK 0x7fffu

enum dns_flavor { FLAVOR_DNS = 0, FLAVOR_MDNS, FLAVOR_LLMNR };

/* Texts kept back to back in one allocation, so a transaction costs one
 * malloc per list however many items it holds. */
struct text_list {
	char *text;
	uint16_t count;
	uint16_t len[DNS_MAX_ANSWERS];
};

struct dns_txn {
	usec_t query_time, response_time;
	uint16_t id;
	uint16_t flags; /* DNS_REPORTED_FLAGS seen in the query and the response */
	uint8_t opcode;
	bool seen_query, seen_response, has_question;
	unsigned rcode;
	struct dns_question question;    /* the first one */
	struct text_list more_questions; /* names of the others */
	uint16_t more_qtypes[DNS_MAX_QUESTIONS - 1];
	struct text_list answers;
	uint32_t ttls[DNS_MAX_ANSWERS];
	unsigned answers_dropped;
};

/* A TCP flow's framing: one framer per direction, and whether that
 * direction lost its place in the stream (after a gap) for good. */
struct dns_tcp {
	struct pdu_state framer[2];
	bool desync[2];
};

struct dns_state {
	struct dns_txn *txns; /* grown on demand, at most DNS_MAX_TRANSACTIONS */
	struct dns_tcp *tcp;  /* TCP only, made on the first bytes or gap */
	unsigned n_txns, txn_alloc;
	unsigned truncated; /* transactions left out */
	bool flavor_known;
	uint8_t flavor;
	bool tcp_lost; /* the TCP framing state could not be made */
};

/* The per-flow cost before the first transaction: keep it small (UDP flows
 * are the many; the TCP framers live behind a pointer). */
_Static_assert(sizeof(struct dns_state) <= 32, "struct dns_state grew");

static const uint16_t dns_ports[] = {DNS_PORT, MDNS_PORT, LLMNR_PORT, 0};

/* ---- protocol flavor ---- */

static enum dns_flavor flavor_of_port(uint16_t port)
{
	switch (port) {
	case MDNS_PORT:
		return FLAVOR_MDNS;
	case LLMNR_PORT:
		return FLAVOR_LLMNR;
	default:
		return FLAVOR_DNS;
	}
}

/* The server's port decides; the client's only when the server's is no DNS
 * port (mDNS and LLMNR responders answer from their port to any port). */
static void learn_flavor(struct dns_state *st, const struct session *s)
{
	uint16_t server = session_port(s, DIR_SERVER);

	if (st->flavor_known)
		return;
	st->flavor_known = true;
	if (server == DNS_PORT || server == MDNS_PORT || server == LLMNR_PORT)
		st->flavor = (uint8_t)flavor_of_port(server);
	else
		st->flavor = (uint8_t)flavor_of_port(session_port(s, DIR_CLIENT));
}

const char *dns_protocol_name(const void *state)
{
	const struct dns_state *st = state;

	switch (st->flavor) {
	case FLAVOR_MDNS:
		return "mdns";
	case FLAVOR_LLMNR:
		return "llmnr";
	default:
		return "dns";
	}
}

/* ---- transactions ---- */

static void text_list_free(struct text_list *l)
{
	free(l->text);
	l->text = NULL;
	l->count = 0;
}

/* Appends n texts to l (the caller keeps l->count + n within
 * DNS_MAX_ANSWERS); false when memory ran out (l is left as it was). */
static bool text_list_add(struct text_list *l, const char *const *texts, const uint16_t *lens,
                          unsigned n)
{
	size_t have = 0, total = 0;

	for (unsigned i = 0; i < l->count; i++)
		have += l->len[i];
	for (unsigned i = 0; i < n; i++)
		total += lens[i];
	char *text = realloc(l->text, have + total ? have + total : 1);
	if (!text)
		return false;
	l->text = text;
	char *p = text + have;
	for (unsigned i = 0; i < n; i++) {
		memcpy(p, texts[i], lens[i]);
		p += lens[i];
		l->len[l->count + i] = lens[i];
	}
	l->count = (uint16_t)(l->count + n);
	return true;
}

/* DNS names compare without regard to ASCII case (RFC 4343), which also
 * matches a response that echoes a 0x20-randomised query. */
static bool names_equal(const struct dns_name *a, const struct dns_name *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (tolower((unsigned char)a->text[i]) != tolower((unsigned char)b->text[i]))
			return false;
	return true;
}

static bool same_question(const struct dns_txn *t, const struct dns_message *m)
{
	const struct dns_question *q = &m->questions[0];

	if (!t->has_question || m->n_questions == 0)
		return t->has_question == (m->n_questions > 0);
	return t->question.qtype == q->qtype && names_equal(&t->question.name, &q->name);
}

/* A query seen again (a retransmission) while its answer is awaited. */
static struct dns_txn *find_open_query(struct dns_state *st, const struct dns_message *m)
{
	for (unsigned i = st->n_txns; i-- > 0;) {
		struct dns_txn *t = &st->txns[i];
		if (t->seen_query && !t->seen_response && t->id == m->header.id &&
		    same_question(t, m))
			return t;
	}
	return NULL;
}

/* The latest unanswered query this response answers.  A response without
 * a question matches on the id alone, except in mDNS, where ids are zero
 * and say nothing (RFC 6762 18.1). */
static struct dns_txn *find_query_for(struct dns_state *st, const struct dns_message *m)
{
	bool has_question = m->n_questions > 0;

	if (!has_question && st->flavor == FLAVOR_MDNS)
		return NULL;
	for (unsigned i = st->n_txns; i-- > 0;) {
		struct dns_txn *t = &st->txns[i];
		if (t->seen_response || t->id != m->header.id)
			continue;
		if (!has_question || !t->has_question || same_question(t, m))
			return t;
	}
	return NULL;
}

static bool is_zone_transfer(uint16_t qtype)
{
	return qtype == DNS_TYPE_AXFR || qtype == DNS_TYPE_IXFR;
}

/* A further message of a zone transfer already answered: same id, and the
 * same question when the message repeats it (RFC 5936 2.2.1 lets the later
 * messages leave it out). */
static struct dns_txn *find_transfer_for(struct dns_state *st, const struct dns_message *m)
{
	for (unsigned i = st->n_txns; i-- > 0;) {
		struct dns_txn *t = &st->txns[i];
		if (!t->seen_response || t->id != m->header.id || !t->has_question ||
		    !is_zone_transfer(t->question.qtype))
			continue;
		if (m->n_questions == 0 || same_question(t, m))
			return t;
	}
	return NULL;
}

static bool grow_txns(struct dns_state *st)
{
	unsigned alloc = st->txn_alloc ? st->txn_alloc * 2 : DNS_FIRST_TXN_ALLOC;
	if (alloc > DNS_MAX_TRANSACTIONS)
		alloc = DNS_MAX_TRANSACTIONS;
	struct dns_txn *txns = realloc(st->txns, alloc * sizeof *txns);
	if (!txns)
		return false;
	st->txns = txns;
	st->txn_alloc = alloc;
	return true;
}

/* A new, zeroed transaction, or NULL when the flow has its fill. */
static struct dns_txn *new_txn(struct dns_state *st, struct session *s)
{
	if (st->n_txns >= DNS_MAX_TRANSACTIONS) {
		st->truncated++;
		session_count(s, "dns.too_many_transactions");
		return NULL;
	}
	if (st->n_txns == st->txn_alloc && !grow_txns(st)) {
		st->truncated++;
		session_count(s, "dns.out_of_memory");
		return NULL;
	}
	struct dns_txn *t = &st->txns[st->n_txns++];
	memset(t, 0, sizeof *t);
	return t;
}

static void take_questions(struct dns_txn *t, const struct dns_message *m, struct session *s)
{
	const char *texts[DNS_MAX_QUESTIONS];
	uint16_t lens[DNS_MAX_QUESTIONS];
	unsigned more = m->n_questions ? m->n_questions - 1 : 0;

	t->id = m->header.id;
	t->opcode = (uint8_t)dns_opcode(&m->header);
	t->has_question = m->n_questions > 0;
	if (!t->has_question)
		return;
	t->question = m->questions[0];
	for (unsigned i = 0; i < more; i++) {
		const struct dns_question *q = &m->questions[i + 1];
		texts[i] = q->name.text;
		lens[i] = q->name.len;
		t->more_qtypes[i] = q->qtype;
	}
	if (more && !text_list_add(&t->more_questions, texts, lens, more))
		session_count(s, "dns.out_of_memory");
	if (m->questions_dropped)
		session_count(s, "dns.too_many_questions");
}

/* Adds the message's answers to the transaction's (a zone transfer brings
 * many messages), keeping DNS_MAX_ANSWERS in all; the overflow is counted
 * once per transaction. */
static void take_answers(struct dns_txn *t, const struct dns_message *m, struct session *s)
{
	const char *texts[DNS_MAX_ANSWERS];
	uint16_t lens[DNS_MAX_ANSWERS];
	unsigned room = DNS_MAX_ANSWERS - t->answers.count;
	unsigned keep = m->n_answers < room ? m->n_answers : room;
	unsigned had_dropped = t->answers_dropped;

	for (unsigned i = 0; i < keep; i++) {
		texts[i] = m->answers[i].text;
		lens[i] = m->answers[i].text_len;
	}
	if (keep && text_list_add(&t->answers, texts, lens, keep)) {
		for (unsigned i = 0; i < keep; i++)
			t->ttls[t->answers.count - keep + i] = m->answers[i].ttl;
	} else if (keep) {
		session_count(s, "dns.out_of_memory");
	}
	t->answers_dropped += (m->n_answers - keep) + m->answers_dropped;
	if (t->answers_dropped && !had_dropped)
		session_count(s, "dns.too_many_answers");
}

static void record_query(struct dns_state *st, struct session *s, const struct dns_message *m)
{
	if (find_open_query(st, m))
		return; /* a retransmission: the first one times the response */
	struct dns_txn *t = new_txn(st, s);
	if (!t)
		return;
	take_questions(t, m, s);
	t->seen_query = true;
	t->query_time = session_now(s);
	t->flags = m->header.flags & DNS_REPORTED_FLAGS;
}

static void record_response(struct dns_state *st, struct session *s, const struct dns_message *m)
{
	struct dns_txn *t = find_query_for(st, m);

	if (!t && session_is_tcp(s) && (t = find_transfer_for(st, m))) {
		/* the transfer goes on: its answers join the first message's,
		 * and the first error it reports stays */
		if (t->rcode == 0)
			t->rcode = m->rcode;
		t->flags |= m->header.flags & DNS_REPORTED_FLAGS;
		take_answers(t, m, s);
		return;
	}
	if (!t) {
		t = new_txn(st, s);
		if (!t)
			return;
		take_questions(t, m, s);
	} else if (!t->has_question && m->n_questions) {
		take_questions(t, m, s); /* the query had none to match on */
	}
	t->seen_response = true;
	t->response_time = session_now(s);
	t->rcode = m->rcode;
	t->flags |= m->header.flags & DNS_REPORTED_FLAGS;
	take_answers(t, m, s);
}

/* ---- the dissector ---- */

/* NetBIOS Name Service shares DNS's wire format, but its names are one
 * 32-byte label in "first-level encoding" (each nibble as 'A'..'P').  Such
 * a question is NBNS, whatever the port. */
static bool looks_like_nbns(struct reader r)
{
	rd_skip(&r, DNS_HEADER_LEN);
	if (rd_u8(&r) != 32)
		return false;
	for (int i = 0; i < 32; i++) {
		uint8_t c = rd_u8(&r);
		if (c < 'A' || c > 'P')
			return false;
	}
	return rd_ok(&r);
}

/* The bytes as one datagram: all there is, so a prefix that might grow is
 * no DNS. */
static bool probe_as_datagram(struct reader r)
{
	return dns_probe_message(r) == VERDICT_YES && !looks_like_nbns(r);
}

/* What of the header is there, of a message still arriving: an opcode that
 * exists and a clear Z bit (a header cut short cannot be judged whole). */
static bool partial_header_plausible(struct reader msg)
{
	int hi = rd_peek(&msg, 2), lo = rd_peek(&msg, 3);

	if (hi >= 0 && !dns_opcode_name(((unsigned)hi >> 3) & 0xf))
		return false;
	return lo < 0 || !(lo & DNS_FLAG_Z);
}

/* The bytes as the start of a stream: a length prefix that can hold a
 * header, then a plausible header.  Whatever the header's counts promise
 * beyond the bytes seen is on_data's to judge, as for a datagram. */
static enum verdict probe_as_stream(struct reader r)
{
	if (!rd_has(&r, 1))
		return VERDICT_NO;
	if (!rd_has(&r, 2))
		return VERDICT_NEED_MORE; /* any first byte may start a length */
	size_t len = rd_be16(&r);
	if (len < DNS_HEADER_LEN)
		return VERDICT_NO;
	size_t avail = rd_remaining(&r);
	struct reader msg = rd_sub(&r, avail < len ? avail : len);
	if (!rd_has(&msg, DNS_HEADER_LEN))
		return partial_header_plausible(msg) ? VERDICT_NEED_MORE : VERDICT_NO;
	enum verdict v = dns_probe_message(msg);
	if (v == VERDICT_NO)
		return VERDICT_NO;
	/* A whole message must hold what its header promises. */
	if (v == VERDICT_NEED_MORE && avail >= len)
		return VERDICT_NO;
	return VERDICT_YES;
}

/* The core probes datagrams and the starts of streams alike, and says
 * nothing of which: a datagram is tried first (so UDP behaves as before),
 * then a length-prefixed message.  NEED_MORE (which a datagram's probe
 * takes as no) only while the bytes could be the start of a TCP prefix and
 * header. */
static enum verdict dns_probe(struct reader r, enum direction dir)
{
	(void)dir;
	if (probe_as_datagram(r))
		return VERDICT_YES;
	return probe_as_stream(r);
}

/* One whole message, from a datagram or cut out of a stream. */
static void take_message(struct dns_state *st, struct session *s, struct reader r)
{
	struct dns_message msg;

	if (dns_parse_message(r, &msg) != DNS_OK) {
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "dns.malformed");
		return;
	}
	/* the QR bit says query or response, whoever sent it */
	if (dns_is_response(&msg.header))
		record_response(st, s, &msg);
	else
		record_query(st, s, &msg);
}

/* The flow's TCP framing, made on first use; NULL when memory ran out (the
 * stream is then left alone: its framing is lost). */
static struct dns_tcp *tcp_state(struct dns_state *st, struct session *s)
{
	if (st->tcp || st->tcp_lost)
		return st->tcp;
	st->tcp = calloc(1, sizeof *st->tcp);
	if (!st->tcp) {
		st->tcp_lost = true;
		session_count(s, "dns.out_of_memory");
		return NULL;
	}
	st->tcp->framer[DIR_CLIENT].max_pdu = DNS_TCP_MAX_PDU;
	st->tcp->framer[DIR_SERVER].max_pdu = DNS_TCP_MAX_PDU;
	return st->tcp;
}

/* A stream's pending bytes: every whole length-prefixed message in them;
 * the framer says how many bytes that used, the core keeps the rest. */
static size_t on_stream(struct dns_state *st, struct session *s, enum direction dir,
                        struct reader r)
{
	struct dns_tcp *tcp = tcp_state(st, s);
	size_t start = rd_offset(&r), all = rd_remaining(&r);
	struct reader pdu;
	enum frame_result fr;

	if (!tcp || tcp->desync[dir])
		return all; /* no framing: nothing worth keeping */
	while ((fr = pdu_next(&tcp->framer[dir], &r, pdu_length_dns_tcp, NULL, &pdu)) !=
	       FRAME_NEED_MORE) {
		if (fr == FRAME_OK) {
			rd_skip(&pdu, 2); /* the length */
			take_message(st, s, rd_rest(&pdu));
		} else if (fr == FRAME_TOO_BIG) {
			session_count(s, "dns.tcp_too_big");
		} else {
			/* the reader failed: no telling where messages start */
			tcp->desync[dir] = true;
			session_count(s, "dns.tcp_desync");
			return all;
		}
	}
	return rd_offset(&r) - start;
}

static size_t dns_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct dns_state *st = state;
	size_t len = rd_remaining(&r);

	learn_flavor(st, s);
	if (session_is_tcp(s))
		return on_stream(st, s, dir, r);
	take_message(st, s, r);
	return len;
}

/* Bytes of a stream were lost and the core dropped what it kept of that
 * direction: unless the hole fell inside a message being skipped, the next
 * length prefix cannot be found, and that direction is not parsed again
 * rather than misread. */
static void dns_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct dns_state *st = state;

	if (!session_is_tcp(s))
		return;
	struct dns_tcp *tcp = tcp_state(st, s);
	if (!tcp || tcp->desync[dir])
		return;
	if (!pdu_gap(&tcp->framer[dir], missing)) {
		tcp->desync[dir] = true;
		session_count(s, "dns.tcp_desync");
	}
}

static void dns_release(void *state)
{
	struct dns_state *st = state;

	for (unsigned i = 0; i < st->n_txns; i++) {
		text_list_free(&st->txns[i].answers);
		text_list_free(&st->txns[i].more_questions);
	}
	free(st->txns);
	st->txns = NULL;
	free(st->tcp);
	st->tcp = NULL;
	st->n_txns = st->txn_alloc = 0;
}

/* ---- output ---- */

static unsigned shown_class(const struct dns_state *st, unsigned qclass)
{
	return st->flavor == FLAVOR_MDNS ? qclass & MDNS_CLASS_MASK : qclass;
}

static void emit_flags(const struct dns_state *st, const struct dns_txn *t, struct emitter *e)
{
	emit_array_begin(e, "flags");
	if (st->flavor == FLAVOR_LLMNR) {
		/* LLMNR's C and T sit where DNS has AA and RD. */
		if (t->flags & DNS_FLAG_AA)
			emit_str(e, NULL, "c");
		if (t->flags & DNS_FLAG_TC)
			emit_str(e, NULL, "tc");
		if (t->flags & DNS_FLAG_RD)
			emit_str(e, NULL, "t");
	} else {
		if (t->flags & DNS_FLAG_RD)
			emit_str(e, NULL, "rd");
		if (t->flags & DNS_FLAG_RA)
			emit_str(e, NULL, "ra");
		if (t->flags & DNS_FLAG_AA)
			emit_str(e, NULL, "aa");
		if (t->flags & DNS_FLAG_TC)
			emit_str(e, NULL, "tc");
	}
	emit_array_end(e);
}

static void emit_text_list(struct emitter *e, const char *key, const struct text_list *l)
{
	const char *p = l->text;

	emit_array_begin(e, key);
	for (unsigned i = 0; i < l->count; i++) {
		emit_strn(e, NULL, p, l->len[i]);
		p += l->len[i];
	}
	emit_array_end(e);
}

static void emit_question(const struct dns_state *st, const struct dns_txn *t, struct emitter *e)
{
	char buf[16];

	if (!t->has_question) {
		emit_null(e, "name");
		emit_null(e, "qtype");
		emit_null(e, "qclass");
		return;
	}
	emit_strn(e, "name", t->question.name.text, t->question.name.len);
	emit_str(e, "qtype", dns_type_text(t->question.qtype, buf, sizeof buf));
	emit_str(e, "qclass", dns_class_text(shown_class(st, t->question.qclass), buf, sizeof buf));
}

/* Questions after the first (mDNS asks several at once). */
static void emit_more_questions(const struct dns_txn *t, struct emitter *e)
{
	const char *p = t->more_questions.text;
	char buf[16];

	emit_array_begin(e, "more_questions");
	for (unsigned i = 0; i < t->more_questions.count; i++) {
		emit_object_begin(e, NULL);
		emit_strn(e, "name", p, t->more_questions.len[i]);
		emit_str(e, "qtype", dns_type_text(t->more_qtypes[i], buf, sizeof buf));
		emit_object_end(e);
		p += t->more_questions.len[i];
	}
	emit_array_end(e);
}

static void emit_rtt(const struct dns_txn *t, struct emitter *e)
{
	/* Packet time can run backwards in merged captures: no made-up value. */
	if (t->seen_query && t->seen_response && t->response_time >= t->query_time)
		emit_number(e, "rtt_ms", (double)(t->response_time - t->query_time) / 1000.0, 3);
	else
		emit_null(e, "rtt_ms");
}

static void emit_txn(const struct dns_state *st, const struct dns_txn *t, struct emitter *e)
{
	char buf[16];

	emit_object_begin(e, NULL);
	emit_int(e, "id", t->id);
	emit_question(st, t, e);
	if (t->opcode != 0)
		emit_str(e, "opcode", dns_opcode_text(t->opcode, buf, sizeof buf));
	if (t->seen_response)
		emit_str(e, "rcode", dns_rcode_text(t->rcode, buf, sizeof buf));
	else
		emit_null(e, "rcode");
	emit_flags(st, t, e);
	emit_text_list(e, "answers", &t->answers);
	emit_array_begin(e, "ttls");
	for (unsigned i = 0; i < t->answers.count; i++)
		emit_int(e, NULL, t->ttls[i]);
	emit_array_end(e);
	emit_rtt(t, e);
	if (t->answers_dropped)
		emit_int(e, "answers_truncated", t->answers_dropped);
	if (t->more_questions.count)
		emit_more_questions(t, e);
	emit_object_end(e);
}

static void dns_emit(const void *state, struct emitter *e)
{
	const struct dns_state *st = state;

	emit_array_begin(e, "queries");
	for (unsigned i = 0; i < st->n_txns; i++)
		emit_txn(st, &st->txns[i], e);
	emit_array_end(e);
	if (st->truncated)
		emit_int(e, "truncated", st->truncated);
}

/* Appends to a summary buffer; the wire text made safe for a terminal. */
/* "A www.example.com -> NOERROR 93.184.216.34 (+2) (+3 more)" */
static void dns_summarize(const void *state, char *buf, size_t n)
{
	const struct dns_state *st = state;
	struct summary sum = summary_start(buf, n);
	char code[16];

	if (st->n_txns == 0)
		return;
	const struct dns_txn *t = &st->txns[0];
	if (t->has_question) {
		summary_add(&sum, dns_type_text(t->question.qtype, code, sizeof code));
		summary_add(&sum, " ");
		summary_add_wire(&sum, t->question.name.text, t->question.name.len);
	} else {
		summary_add(&sum, "(no question)");
	}
	if (!t->seen_response) {
		summary_add(&sum, " -> no response");
	} else {
		summary_add(&sum, " -> ");
		summary_add(&sum, dns_rcode_text(t->rcode, code, sizeof code));
		if (t->answers.count) {
			summary_add(&sum, " ");
			summary_add_wire(&sum, t->answers.text, t->answers.len[0]);
		}
		if (t->answers.count + t->answers_dropped > 1)
			summary_addf(&sum, " (+%u)", t->answers.count + t->answers_dropped - 1);
	}
	if (st->n_txns + st->truncated > 1)
		summary_addf(&sum, " (+%u more)", st->n_txns + st->truncated - 1);
}

const struct dissector dns_dissector = {
    .name = "dns",
    .transports = TRANSPORT_BIT_TCP | TRANSPORT_BIT_UDP,
    .ports = dns_ports,
    .state_size = sizeof(struct dns_state),
    .probe = dns_probe,
    .on_data = dns_on_data,
    .on_gap = dns_on_gap,
    .emit = dns_emit,
    .summarize = dns_summarize,
    .protocol_name = dns_protocol_name,
    .release = dns_release,
};
