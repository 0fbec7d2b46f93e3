/* Parsing one DNS message (RFC 1035 4.1) into struct dns_message.
 *
 * Every byte is read through struct reader.  Names follow compression
 * pointers only backwards: each pointer must land before the start of the
 * labels that led to it, so a walk can never revisit a byte, and a hop limit
 * bounds it again.  A message is taken whole or not at all: any record that
 * does not fit or does not make sense refuses the message, so a truncated
 * datagram never yields half-read fields.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "portolan/dns_message.h"

/* The probe's limit on questions: real queries ask one (mDNS a handful). */
#define DNS_PROBE_MAX_QUESTIONS 32
/* Smallest question (root name, type, class) and record (root name, type,
 * class, TTL, rdlength), to check the counts against the length. */
#define DNS_MIN_QUESTION_LEN 5
#define DNS_MIN_RECORD_LEN 11
#define DNS_MAX_MESSAGE_LEN 65535

static const struct value_name dns_types[] = {
    {1, "A"},       {2, "NS"},      {3, "MD"},        {4, "MF"},          {5, "CNAME"},
    {6, "SOA"},     {7, "MB"},      {8, "MG"},        {9, "MR"},          {10, "NULL"},
    {11, "WKS"},    {12, "PTR"},    {13, "HINFO"},    {14, "MINFO"},      {15, "MX"},
    {16, "TXT"},    {17, "RP"},     {18, "AFSDB"},    {24, "SIG"},        {25, "KEY"},
    {28, "AAAA"},   {29, "LOC"},    {30, "NXT"},      {33, "SRV"},        {35, "NAPTR"},
    {36, "KX"},     {37, "CERT"},   {39, "DNAME"},    {41, "OPT"},        {42, "APL"},
    {43, "DS"},     {44, "SSHFP"},  {45, "IPSECKEY"}, {46, "RRSIG"},      {47, "NSEC"},
    {48, "DNSKEY"}, {49, "DHCID"},  {50, "NSEC3"},    {51, "NSEC3PARAM"}, {52, "TLSA"},
    {53, "SMIMEA"}, {55, "HIP"},    {59, "CDS"},      {60, "CDNSKEY"},    {61, "OPENPGPKEY"},
    {62, "CSYNC"},  {63, "ZONEMD"}, {64, "SVCB"},     {65, "HTTPS"},      {99, "SPF"},
    {249, "TKEY"},  {250, "TSIG"},  {251, "IXFR"},    {252, "AXFR"},      {253, "MAILB"},
    {254, "MAILA"}, {255, "ANY"},   {256, "URI"},     {257, "CAA"},       {32768, "TA"},
    {32769, "DLV"}, {0, NULL},
};

static const struct value_name dns_classes[] = {
    {1, "IN"}, {2, "CS"}, {3, "CH"}, {4, "HS"}, {254, "NONE"}, {255, "ANY"}, {0, NULL},
};

/* RFC 1035, 2136, 2845, 6891, 7873, 8490. */
static const struct value_name dns_rcodes[] = {
    {0, "NOERROR"},  {1, "FORMERR"},    {2, "SERVFAIL"}, {3, "NXDOMAIN"},  {4, "NOTIMP"},
    {5, "REFUSED"},  {6, "YXDOMAIN"},   {7, "YXRRSET"},  {8, "NXRRSET"},   {9, "NOTAUTH"},
    {10, "NOTZONE"}, {11, "DSOTYPENI"}, {16, "BADVERS"}, {17, "BADKEY"},   {18, "BADTIME"},
    {19, "BADMODE"}, {20, "BADNAME"},   {21, "BADALG"},  {22, "BADTRUNC"}, {23, "BADCOOKIE"},
    {0, NULL},
};

static const struct value_name dns_opcodes[] = {
    {0, "QUERY"}, {1, "IQUERY"}, {2, "STATUS"}, {4, "NOTIFY"}, {5, "UPDATE"}, {6, "DSO"}, {0, NULL},
};

const char *dns_type_name(unsigned type)
{
	return value_name_lookup(dns_types, type);
}

const char *dns_class_name(unsigned qclass)
{
	return value_name_lookup(dns_classes, qclass);
}

const char *dns_rcode_name(unsigned rcode)
{
	return value_name_lookup(dns_rcodes, rcode);
}

const char *dns_opcode_name(unsigned opcode)
{
	return value_name_lookup(dns_opcodes, opcode);
}

/* The name from the table, else prefix<n> in buf. */
static const char *code_text(const char *name, const char *prefix, unsigned v, char *buf, size_t n)
{
	if (name)
		return name;
	snprintf(buf, n, "%s%u", prefix, v);
	return buf;
}

const char *dns_type_text(unsigned type, char *buf, size_t n)
{
	return code_text(dns_type_name(type), "TYPE", type, buf, n);
}

const char *dns_class_text(unsigned qclass, char *buf, size_t n)
{
	return code_text(dns_class_name(qclass), "CLASS", qclass, buf, n);
}

const char *dns_rcode_text(unsigned rcode, char *buf, size_t n)
{
	return code_text(dns_rcode_name(rcode), "RCODE", rcode, buf, n);
}

const char *dns_opcode_text(unsigned opcode, char *buf, size_t n)
{
	return code_text(dns_opcode_name(opcode), "OPCODE", opcode, buf, n);
}

const char *dns_parse_result_name(int result)
{
	switch (result) {
	case DNS_OK:
		return "ok";
	case DNS_ERR_SHORT:
		return "short";
	case DNS_ERR_POINTER:
		return "bad-pointer";
	case DNS_ERR_POINTER_HOPS:
		return "too-many-pointers";
	case DNS_ERR_LABEL_TYPE:
		return "bad-label-type";
	case DNS_ERR_NAME_TOO_LONG:
		return "name-too-long";
	case DNS_ERR_RDATA:
		return "bad-rdata";
	}
	return "unknown";
}

/* A bounded text buffer: appends past the end are cut, never overflow. */
struct text {
	char *buf;
	size_t cap; /* including the NUL */
	size_t len;
};

static void text_put(struct text *t, const void *s, size_t n)
{
	size_t room = t->cap - 1 - t->len;
	if (n > room)
		n = room;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void text_putf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_putf(struct text *t, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		text_put(t, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void text_put_name(struct text *t, const struct dns_name *name)
{
	text_put(t, name->text, name->len);
}

/* Reads the name at cur's position into out.  cur is a reader over the
 * message (offsets are message offsets, which is what pointers hold) and
 * moves past the name: past its first pointer when it is compressed. */
static int read_name(struct reader *cur, struct dns_name *out)
{
	struct reader walk = *cur;
	struct text t = {out->text, sizeof out->text, 0};
	size_t segment_start = rd_offset(cur);
	size_t wire_len = 0;
	unsigned hops = 0;
	bool jumped = false;

	out->len = 0;
	out->text[0] = '\0';
	for (;;) {
		uint8_t len = rd_u8(&walk);
		if (!rd_ok(&walk))
			return DNS_ERR_SHORT;
		if ((len & 0xc0) == 0xc0) {
			size_t target = (size_t)(len & 0x3f) << 8 | rd_u8(&walk);
			if (!rd_ok(&walk))
				return DNS_ERR_SHORT;
			if (!jumped) {
				*cur = walk;
				jumped = true;
			}
			/* Strictly before the labels that led here, and never
			 * into the header: this alone rules out every loop. */
			if (target >= segment_start || target < DNS_HEADER_LEN)
				return DNS_ERR_POINTER;
			if (++hops > DNS_MAX_POINTER_HOPS)
				return DNS_ERR_POINTER_HOPS;
			segment_start = target;
			rd_seek(&walk, target);
			continue;
		}
		if (len & 0xc0) /* 0x40 and 0x80: extended and reserved label types */
			return DNS_ERR_LABEL_TYPE;
		wire_len += 1u + len;
		if (wire_len > DNS_NAME_WIRE_MAX)
			return DNS_ERR_NAME_TOO_LONG;
		if (len == 0)
			break;
		const uint8_t *label = rd_take(&walk, len);
		if (!label)
			return DNS_ERR_SHORT;
		if (t.len)
			text_put(&t, ".", 1);
		text_put(&t, label, len);
	}
	if (!jumped)
		*cur = walk;
	if (t.len == 0)
		text_put(&t, ".", 1);
	out->len = (uint16_t)t.len;
	return DNS_OK;
}

int dns_read_name(struct reader *msg, struct dns_name *out)
{
	return read_name(msg, out);
}

static int read_header(struct reader *r, struct dns_header *h)
{
	h->id = rd_be16(r);
	h->flags = rd_be16(r);
	h->qdcount = rd_be16(r);
	h->ancount = rd_be16(r);
	h->nscount = rd_be16(r);
	h->arcount = rd_be16(r);
	return rd_ok(r) ? DNS_OK : DNS_ERR_SHORT;
}

static int read_question(struct reader *r, struct dns_question *q)
{
	int rc = read_name(r, &q->name);
	if (rc != DNS_OK)
		return rc;
	q->qtype = rd_be16(r);
	q->qclass = rd_be16(r);
	return rd_ok(r) ? DNS_OK : DNS_ERR_SHORT;
}

/* Appends a name read from rdata.  Running out of rdata inside the name is
 * bad rdata, not a short message. */
static int put_rdata_name(struct reader *rd, struct text *t)
{
	struct dns_name name;
	int rc = read_name(rd, &name);
	if (rc != DNS_OK)
		return rc == DNS_ERR_SHORT ? DNS_ERR_RDATA : rc;
	text_put_name(t, &name);
	return DNS_OK;
}

static void put_ipv4(struct reader *rd, struct text *t)
{
	uint8_t a[4];
	rd_copy(rd, a, sizeof a);
	text_putf(t, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

static void put_ipv6(struct reader *rd, struct text *t)
{
	uint8_t a[16];
	char buf[INET6_ADDRSTRLEN];
	rd_copy(rd, a, sizeof a);
	if (inet_ntop(AF_INET6, a, buf, sizeof buf))
		text_put(t, buf, strlen(buf));
}

/* TXT: one or more length-prefixed strings, shown raw and joined by a
 * space (TXT data longer than DNS_RDATA_TEXT_MAX is cut). */
static void put_txt(struct reader *rd, struct text *t)
{
	for (bool first = true; rd_remaining(rd) > 0 && rd_ok(rd); first = false) {
		uint8_t len = rd_u8(rd);
		const uint8_t *s = rd_take(rd, len);
		if (!s)
			return;
		if (!first)
			text_put(t, " ", 1);
		text_put(t, s, len);
	}
}

/* "10 mail.example.com" */
static int put_mx(struct reader *rd, struct text *t)
{
	text_putf(t, "%u ", rd_be16(rd));
	return put_rdata_name(rd, t);
}

/* "priority weight port target", e.g. "0 5 5060 sip.example.com" */
static int put_srv(struct reader *rd, struct text *t)
{
	unsigned priority = rd_be16(rd);
	unsigned weight = rd_be16(rd);
	unsigned port = rd_be16(rd);
	text_putf(t, "%u %u %u ", priority, weight, port);
	return put_rdata_name(rd, t);
}

/* "mname rname serial refresh retry expire minimum" */
static int put_soa(struct reader *rd, struct text *t)
{
	int rc = put_rdata_name(rd, t);
	if (rc != DNS_OK)
		return rc;
	text_put(t, " ", 1);
	rc = put_rdata_name(rd, t);
	if (rc != DNS_OK)
		return rc;
	for (int i = 0; i < 5; i++)
		text_putf(t, " %u", (unsigned)rd_be32(rd));
	return DNS_OK;
}

static int put_type_name(unsigned type, struct text *t)
{
	char buf[16];
	const char *name = dns_type_text(type, buf, sizeof buf);
	text_put(t, name, strlen(name));
	return DNS_OK;
}

/* Renders one record's data.  rd is a view of the message that ends where
 * the rdata ends, positioned at its start (so compression pointers still
 * reach back into the message).  Known types must fill their rdata exactly. */
static int render_rdata(struct reader *rd, unsigned type, struct text *t)
{
	int rc = DNS_OK;

	/* No data at all is legal for any type (RFC 2136 deletions, inverse
	 * queries): shown by the type's name, like types shown without data. */
	if (rd_remaining(rd) == 0)
		return put_type_name(type, t);
	switch (type) {
	case 1: /* A */
		put_ipv4(rd, t);
		break;
	case 28: /* AAAA */
		put_ipv6(rd, t);
		break;
	case 2:  /* NS */
	case 3:  /* MD */
	case 4:  /* MF */
	case 5:  /* CNAME */
	case 7:  /* MB */
	case 8:  /* MG */
	case 9:  /* MR */
	case 12: /* PTR */
	case 39: /* DNAME */
		rc = put_rdata_name(rd, t);
		break;
	case 15: /* MX */
		rc = put_mx(rd, t);
		break;
	case 16: /* TXT */
		put_txt(rd, t);
		break;
	case 33: /* SRV */
		rc = put_srv(rd, t);
		break;
	case 6: /* SOA */
		rc = put_soa(rd, t);
		break;
	default:
		return put_type_name(type, t); /* data not shown, so not checked */
	}
	if (rc != DNS_OK)
		return rc;
	if (!rd_ok(rd) || rd_remaining(rd) != 0)
		return DNS_ERR_RDATA;
	return DNS_OK;
}

/* Reads one resource record; its data is rendered into a as text. */
static int read_record(struct reader *r, struct dns_answer *a)
{
	struct dns_name owner;
	int rc = read_name(r, &owner);
	if (rc != DNS_OK)
		return rc;
	a->type = rd_be16(r);
	a->rclass = rd_be16(r);
	a->ttl = rd_be32(r);
	uint16_t rdlength = rd_be16(r);
	if (!rd_has(r, rdlength))
		return DNS_ERR_SHORT;

	struct reader rdata = rd_init(r->data, rd_offset(r) + rdlength);
	rd_seek(&rdata, rd_offset(r));
	rd_skip(r, rdlength);

	struct text t = {a->text, sizeof a->text, 0};
	a->text[0] = '\0';
	rc = render_rdata(&rdata, a->type, &t);
	a->text_len = (uint16_t)t.len;
	return rc;
}

static int read_questions(struct reader *r, struct dns_message *m)
{
	struct dns_question scratch;

	for (unsigned i = 0; i < m->header.qdcount; i++) {
		bool keep = m->n_questions < DNS_MAX_QUESTIONS;
		int rc = read_question(r, keep ? &m->questions[m->n_questions] : &scratch);
		if (rc != DNS_OK)
			return rc;
		if (keep)
			m->n_questions++;
		else
			m->questions_dropped++;
	}
	return DNS_OK;
}

/* The EDNS OPT record's TTL carries the upper 8 bits of a 12-bit rcode. */
static void note_record(struct dns_message *m, const struct dns_answer *a)
{
	if (a->type == DNS_TYPE_OPT)
		m->rcode = (a->ttl >> 24) << 4 | dns_header_rcode(&m->header);
}

static int read_answers(struct reader *r, struct dns_message *m)
{
	struct dns_answer scratch;

	for (unsigned i = 0; i < m->header.ancount; i++) {
		bool keep = m->n_answers < DNS_MAX_ANSWERS;
		struct dns_answer *a = keep ? &m->answers[m->n_answers] : &scratch;
		int rc = read_record(r, a);
		if (rc != DNS_OK)
			return rc;
		note_record(m, a);
		if (keep)
			m->n_answers++;
		else
			m->answers_dropped++;
	}
	return DNS_OK;
}

/* Authority and additional records: checked and read, not kept. */
static int read_other_records(struct reader *r, struct dns_message *m, unsigned count)
{
	struct dns_answer scratch;

	for (unsigned i = 0; i < count; i++) {
		int rc = read_record(r, &scratch);
		if (rc != DNS_OK)
			return rc;
		note_record(m, &scratch);
	}
	return DNS_OK;
}

int dns_parse_message(struct reader r, struct dns_message *m)
{
	if (!rd_has(&r, DNS_HEADER_LEN))
		return DNS_ERR_SHORT;
	/* Offsets in compression pointers count from the message's first byte. */
	struct reader msg = rd_rest(&r);

	m->n_questions = m->questions_dropped = 0;
	m->n_answers = m->answers_dropped = 0;
	int rc = read_header(&msg, &m->header);
	if (rc != DNS_OK)
		return rc;
	m->rcode = dns_header_rcode(&m->header);
	rc = read_questions(&msg, m);
	if (rc == DNS_OK)
		rc = read_answers(&msg, m);
	if (rc == DNS_OK)
		rc = read_other_records(&msg, m, (unsigned)m->header.nscount + m->header.arcount);
	/* Bytes after the last record are tolerated (padding is common). */
	return rc;
}

/* Header facts that no DNS, mDNS or LLMNR sender sets. */
static bool header_plausible(const struct dns_header *h)
{
	unsigned opcode = dns_opcode(h);

	if (!dns_opcode_name(opcode) || (h->flags & DNS_FLAG_Z))
		return false;
	if (h->qdcount > DNS_PROBE_MAX_QUESTIONS)
		return false;
	if (dns_is_response(h))
		return dns_header_rcode(h) <= 11;
	/* A query asks something (inverse queries and DSO carry no question)
	 * and has no error to report. */
	if (h->qdcount == 0 && opcode != 1 && opcode != 6)
		return false;
	return dns_header_rcode(h) == 0;
}

static size_t min_message_len(const struct dns_header *h)
{
	size_t records = (size_t)h->ancount + h->nscount + h->arcount;
	return DNS_HEADER_LEN + (size_t)h->qdcount * DNS_MIN_QUESTION_LEN +
	       records * DNS_MIN_RECORD_LEN;
}

enum verdict dns_probe_message(struct reader r)
{
	struct dns_header h;

	if (!rd_has(&r, DNS_HEADER_LEN))
		return VERDICT_NEED_MORE;
	struct reader msg = rd_rest(&r);
	read_header(&msg, &h);
	if (!header_plausible(&h) || min_message_len(&h) > DNS_MAX_MESSAGE_LEN)
		return VERDICT_NO;
	/* The header decides; names are on_data's to judge, so a malformed
	 * message on a DNS flow is reported as such, not as another protocol. */
	return rd_length(&msg) < min_message_len(&h) ? VERDICT_NEED_MORE : VERDICT_YES;
}
