/* NetBIOS (src/netbios_name.c, dissectors/netbios_ns.c, netbios_dgm.c,
 * netbios_ssn.c): names, name service messages, datagrams with browser
 * announcements, and session service streams, all built field by field;
 * every truncation, pointer loops, label lies, caps, splits at every byte,
 * and the handoff to smb. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portolan/dissector.h"
#include "portolan/json.h"
#include "portolan/netbios_name.h"
#include "portolan/session.h"

extern const struct dissector netbios_ns_dissector;
extern const struct dissector netbios_dgm_dissector;
extern const struct dissector netbios_ssn_dissector;

/* ---- a byte builder ---- */

struct buf {
	uint8_t b[200000];
	size_t n;
};

static void put8(struct buf *b, unsigned v)
{
	assert_true(b->n < sizeof b->b);
	b->b[b->n++] = (uint8_t)v;
}
static void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v & 0xff);
}
static void put16le(struct buf *b, unsigned v)
{
	put8(b, v & 0xff);
	put8(b, v >> 8);
}
static void put32(struct buf *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}
static void put32le(struct buf *b, uint32_t v)
{
	put16le(b, v & 0xffff);
	put16le(b, v >> 16);
}
static void putn(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof b->b);
	memcpy(b->b + b->n, p, n);
	b->n += n;
}
static void puts_(struct buf *b, const char *s)
{
	putn(b, s, strlen(s));
}

/* First-level encoding of name (space padded to 15) and suffix, as one
 * label, then the scope's labels (dot separated, may be NULL), then 0. */
static void put_nbname(struct buf *b, const char *name, unsigned suffix, const char *scope)
{
	uint8_t raw[16];
	memset(raw, ' ', 15);
	memcpy(raw, name, strlen(name) < 15 ? strlen(name) : 15);
	raw[15] = (uint8_t)suffix;
	put8(b, 32);
	for (int i = 0; i < 16; i++) {
		put8(b, 'A' + (raw[i] >> 4));
		put8(b, 'A' + (raw[i] & 0xf));
	}
	while (scope && *scope) {
		const char *dot = strchr(scope, '.');
		size_t n = dot ? (size_t)(dot - scope) : strlen(scope);
		put8(b, (unsigned)n);
		putn(b, scope, n);
		scope = dot ? dot + 1 : scope + n;
	}
	put8(b, 0);
}

/* ---- sessions and rendering ---- */

static struct session *new_session(bool tcp, uint16_t port)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 20}};
	struct session *s = session_detached_new(tcp, &client, tcp ? 40000 : port, &server, port);
	assert_non_null(s);
	return s;
}

static char *render(const struct dissector *d, const void *state)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	d->emit(state, &jw.e);
	emit_object_end(&jw.e);
	assert_false(jw.overflow);
	char *text = strdup(json_writer_text(&jw));
	json_writer_free(&jw);
	assert_non_null(text);
	return text;
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("\"%s\" not in %s", needle, haystack);
}

static void assert_lacks(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle))
		fail_msg("\"%s\" unexpectedly in %s", needle, haystack);
}

/* A UDP flow of one of the datagram dissectors. */
struct dflow {
	const struct dissector *d;
	struct session *s;
	void *state;
};

static struct dflow dflow_open(const struct dissector *d, uint16_t port)
{
	struct dflow f = {d, new_session(false, port), calloc(1, d->state_size)};
	assert_non_null(f.state);
	return f;
}

static void dflow_send(struct dflow *f, enum direction dir, const struct buf *b, size_t n)
{
	f->d->on_data(f->s, f->state, dir, rd_init(b->b, n));
}

static char *dflow_json(struct dflow *f)
{
	return render(f->d, f->state);
}

static void dflow_close(struct dflow *f)
{
	if (f->d->on_end)
		f->d->on_end(f->s, f->state);
	char summary[256];
	if (f->d->summarize)
		f->d->summarize(f->state, summary, sizeof summary);
	if (f->d->release)
		f->d->release(f->state);
	free(f->state);
	session_detached_free(f->s);
}

/* ======================= names ======================= */

static void test_name_decode(void **unused)
{
	(void)unused;
	struct buf b = {.n = 0};
	struct nb_name n;

	put_nbname(&b, "FILESRV", 0x20, "corp.example");
	struct reader r = rd_init(b.b, b.n);
	assert_int_equal(nb_read_name(&r, &n), NB_OK);
	assert_true(rd_ok(&r));
	assert_int_equal(rd_remaining(&r), 0);
	assert_true(n.encoded);
	assert_int_equal(n.len, 7);
	assert_memory_equal(n.text, "FILESRV", 7);
	assert_int_equal(n.suffix, 0x20);
	assert_int_equal(n.scope_len, strlen("corp.example"));
	assert_memory_equal(n.scope, "corp.example", n.scope_len);

	char label[80];
	assert_int_equal(nb_name_label(&n, label, sizeof label), 11);
	assert_string_equal(label, "FILESRV<20>");
	/* a tiny buffer cuts, NUL kept */
	assert_int_equal(nb_name_label(&n, label, 4), 3);
	assert_string_equal(label, "FIL");
	assert_int_equal(nb_name_label(&n, label, 0), 0);

	/* the wildcard "*" is NUL padded */
	uint8_t enc[32];
	enc[0] = 'C';
	enc[1] = 'K';
	for (int i = 2; i < 32; i++)
		enc[i] = 'A';
	assert_true(nb_decode_label(enc, 32, &n));
	assert_int_equal(n.len, 1);
	assert_int_equal(n.text[0], '*');
	assert_int_equal(n.suffix, 0);
	/* not first-level encoding */
	enc[5] = 'Q';
	assert_false(nb_decode_label(enc, 32, &n));
	assert_false(nb_decode_label(enc, 31, &n));
	nb_name_from_text("www.example.com", 15, &n);
	assert_false(n.encoded);
	assert_int_equal(n.len, 15);
	assert_int_equal(n.scope_len, 0);

	/* a raw name longer than the cap is cut */
	char longtext[200];
	memset(longtext, 'x', sizeof longtext);
	nb_name_from_text(longtext, sizeof longtext, &n);
	assert_int_equal(n.len, NB_RAW_MAX);

	/* an internal space is kept, trailing ones are not */
	b.n = 0;
	put_nbname(&b, "MARTIN ROSENAU", 0x03, NULL);
	r = rd_init(b.b, b.n);
	assert_int_equal(nb_read_name(&r, &n), NB_OK);
	assert_int_equal(n.len, 14);
	assert_memory_equal(n.text, "MARTIN ROSENAU", 14);
}

static void test_name_errors(void **unused)
{
	(void)unused;
	struct buf b = {.n = 0};
	struct nb_name n;

	put_nbname(&b, "HOST", 0x00, "a.b");
	for (size_t cut = 0; cut < b.n; cut++) {
		struct reader r = rd_init(b.b, cut);
		assert_int_equal(nb_read_name(&r, &n), NB_ERR_SHORT);
		assert_false(rd_ok(&r));
	}
	/* a compression pointer has no place in datagram and session names */
	uint8_t ptr[] = {0xc0, 0x0c};
	struct reader r = rd_init(ptr, sizeof ptr);
	assert_int_equal(nb_read_name(&r, &n), NB_ERR_LABEL);
	uint8_t ext[] = {0x41, 'x'};
	r = rd_init(ext, sizeof ext);
	assert_int_equal(nb_read_name(&r, &n), NB_ERR_LABEL);
	/* more than 255 bytes of labels */
	b.n = 0;
	for (int i = 0; i < 5; i++) {
		put8(&b, 63);
		for (int j = 0; j < 63; j++)
			put8(&b, 'a');
	}
	put8(&b, 0);
	r = rd_init(b.b, b.n);
	assert_int_equal(nb_read_name(&r, &n), NB_ERR_TOO_LONG);
}

static void test_suffix_meanings(void **unused)
{
	(void)unused;
	char buf[8];
	assert_string_equal(nb_suffix_text(0x1c, buf, sizeof buf), "<1C>");
	assert_string_equal(nb_suffix_meaning(0x00, false), "Workstation/Redirector");
	assert_string_equal(nb_suffix_meaning(0x00, true), "Domain/Workgroup Name");
	assert_string_equal(nb_suffix_meaning(0x20, false), "Server service");
	assert_string_equal(nb_suffix_meaning(0x1c, true), "Domain Controllers");
	assert_string_equal(nb_suffix_meaning(0x1b, false), "Domain Master Browser");
	assert_string_equal(nb_suffix_meaning(0x1d, false), "Local Master Browser");
	assert_string_equal(nb_suffix_meaning(0x1e, true), "Browser Election Service");
	assert_string_equal(nb_suffix_meaning(0x03, false), "Messenger service/Main name");
	assert_string_equal(nb_suffix_meaning(0x01, true), "Master Browser");
	assert_null(nb_suffix_meaning(0x99, false));
}

/* ======================= name service ======================= */

static void ns_header(struct buf *b, unsigned id, unsigned flags, unsigned qd, unsigned an,
                      unsigned ns, unsigned ar)
{
	put16(b, id);
	put16(b, flags);
	put16(b, qd);
	put16(b, an);
	put16(b, ns);
	put16(b, ar);
}

#define OP(x) ((unsigned)(x) << 11)
#define F_R 0x8000u
#define F_AA 0x0400u
#define F_RD 0x0100u
#define F_B 0x0010u

static void ns_question(struct buf *b, const char *name, unsigned suffix, unsigned type)
{
	put_nbname(b, name, suffix, NULL);
	put16(b, type);
	put16(b, 1);
}

/* Record header after its name. */
static void ns_rr_tail(struct buf *b, unsigned type, uint32_t ttl, unsigned rdlength)
{
	put16(b, type);
	put16(b, 1);
	put32(b, ttl);
	put16(b, rdlength);
}

static void ns_nb(struct buf *b, unsigned flags, unsigned a, unsigned b2, unsigned c, unsigned d)
{
	put16(b, flags);
	put8(b, a);
	put8(b, b2);
	put8(b, c);
	put8(b, d);
}

static void build_name_query(struct buf *b, unsigned id)
{
	b->n = 0;
	ns_header(b, id, OP(0) | F_RD | F_B, 1, 0, 0, 0);
	ns_question(b, "FILESRV", 0x20, 0x20);
}

static void build_query_response(struct buf *b, unsigned id)
{
	b->n = 0;
	ns_header(b, id, F_R | OP(0) | F_AA | F_RD, 0, 1, 0, 0);
	put_nbname(b, "FILESRV", 0x20, NULL);
	ns_rr_tail(b, 0x20, 300000, 12);
	ns_nb(b, 0x6000, 10, 0, 0, 5); /* H node, unique */
	ns_nb(b, 0x6000, 10, 0, 0, 6);
}

static void test_ns_query_response(void **unused)
{
	(void)unused;
	struct buf q = {.n = 0}, a = {.n = 0};
	struct dflow f = dflow_open(&netbios_ns_dissector, 137);

	build_name_query(&q, 0x1234);
	build_query_response(&a, 0x1234);
	assert_int_equal(netbios_ns_dissector.probe(rd_init(q.b, q.n), DIR_CLIENT), VERDICT_YES);
	assert_int_equal(netbios_ns_dissector.probe(rd_init(a.b, a.n), DIR_SERVER), VERDICT_YES);
	dflow_send(&f, DIR_CLIENT, &q, q.n);
	dflow_send(&f, DIR_SERVER, &a, a.n);
	char *j = dflow_json(&f);
	assert_contains(j, "\"queries\":[{\"id\":4660,\"opcode\":\"query\",\"name\":\"FILESRV\","
	                   "\"suffix\":\"<20>\",\"service\":\"Server service\",\"type\":\"NB\"");
	assert_contains(j, "\"broadcast\":true");
	assert_contains(j, "\"group\":false,\"node_type\":\"H\"");
	assert_contains(j, "\"rcode\":\"NOERROR\"");
	assert_contains(j, "\"authoritative\":true");
	assert_contains(j, "\"answers\":[\"10.0.0.5\",\"10.0.0.6\"]");
	assert_contains(j, "\"ttl\":300000");
	assert_contains(j, "\"names\":[\"FILESRV<20>\"]");
	assert_lacks(j, "malformed");
	free(j);
	char summary[128];
	netbios_ns_dissector.summarize(f.state, summary, sizeof summary);
	assert_string_equal(summary, "query FILESRV<20> -> NOERROR 10.0.0.5");
	assert_false(session_has_alert(f.s, ALERT_MALFORMED));
	dflow_close(&f);
}

/* Registration with its NB record as an additional record whose name is a
 * compression pointer to the question; a WACK, then the answer. */
static void build_registration(struct buf *b, unsigned id, unsigned opcode)
{
	b->n = 0;
	ns_header(b, id, OP(opcode) | F_RD, 1, 0, 0, 1);
	ns_question(b, "WORKGROUP", 0x1c, 0x20);
	put16(b, 0xc00c);
	ns_rr_tail(b, 0x20, 300000, 6);
	ns_nb(b, 0x8000 | 0x2000, 192, 0, 2, 10); /* group, P node */
}

static void test_ns_registration_wack(void **unused)
{
	(void)unused;
	struct buf b = {.n = 0};
	struct dflow f = dflow_open(&netbios_ns_dissector, 137);

	build_registration(&b, 7, 5);
	dflow_send(&f, DIR_CLIENT, &b, b.n);
	/* WACK: the answer's rdata is the request's flags */
	b.n = 0;
	ns_header(&b, 7, F_R | OP(7) | F_AA, 0, 1, 0, 0);
	put_nbname(&b, "WORKGROUP", 0x1c, NULL);
	ns_rr_tail(&b, 0x20, 15, 2);
	put16(&b, OP(5) | F_RD);
	dflow_send(&f, DIR_SERVER, &b, b.n);
	/* a negative response: conflict */
	b.n = 0;
	ns_header(&b, 7, F_R | OP(5) | F_AA | 7, 0, 1, 0, 0);
	put_nbname(&b, "WORKGROUP", 0x1c, NULL);
	ns_rr_tail(&b, 0x20, 0, 6);
	ns_nb(&b, 0x8000, 192, 0, 2, 10);
	dflow_send(&f, DIR_SERVER, &b, b.n);

	char *j = dflow_json(&f);
	assert_contains(j, "\"opcode\":\"registration\",\"name\":\"WORKGROUP\",\"suffix\":\"<1C>\","
	                   "\"service\":\"Domain Controllers\",\"type\":\"NB\",\"group\":true,"
	                   "\"node_type\":\"P\",\"address\":\"192.0.2.10\"");
	assert_contains(j, "\"rcode\":\"CFT_ERR\"");
	assert_contains(j, "\"wack\":true");
	/* one transaction: the WACK and the answer joined the request */
	assert_lacks(j, "},{");
	free(j);
	dflow_close(&f);
}

static void test_ns_opcodes(void **unused)
{
	(void)unused;
	static const struct {
		unsigned op;
		const char *name;
	} ops[] = {
	    {6, "release"}, {8, "refresh"}, {9, "refresh"}, {15, "multi-homed registration"}};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		struct buf b = {.n = 0};
		struct dflow f = dflow_open(&netbios_ns_dissector, 137);
		build_registration(&b, 100 + (unsigned)i, ops[i].op);
		dflow_send(&f, DIR_CLIENT, &b, b.n);
		/* a name error answers it */
		b.n = 0;
		ns_header(&b, 100 + (unsigned)i, F_R | OP(ops[i].op) | 3, 0, 1, 0, 0);
		put_nbname(&b, "WORKGROUP", 0x1c, NULL);
		ns_rr_tail(&b, 0x20, 0, 0);
		dflow_send(&f, DIR_SERVER, &b, b.n);
		char *j = dflow_json(&f);
		char want[80];
		snprintf(want, sizeof want, "\"opcode\":\"%s\"", ops[i].name);
		assert_contains(j, want);
		assert_contains(j, "\"rcode\":\"NAM_ERR\"");
		free(j);
		dflow_close(&f);
	}
}

static void build_node_status(struct buf *q, struct buf *a)
{
	q->n = 0;
	ns_header(q, 9, OP(0), 1, 0, 0, 0);
	put8(q, 32);
	puts_(q, "CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	put8(q, 0);
	put16(q, 0x21);
	put16(q, 1);

	a->n = 0;
	ns_header(a, 9, F_R | OP(0) | F_AA, 0, 1, 0, 0);
	put8(a, 32);
	puts_(a, "CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	put8(a, 0);
	static const char *const names[] = {"HOST1          ", "WORKGROUP      ",
	                                    "HOST1          "};
	static const unsigned suffixes[] = {0x00, 0x00, 0x20};
	ns_rr_tail(a, 0x21, 0, 1 + 3 * 18 + 46);
	put8(a, 3);
	for (int i = 0; i < 3; i++) {
		puts_(a, names[i]);
		put8(a, suffixes[i]);
		put16(a, i == 1 ? 0x8400 : 0x0400);
	}
	uint8_t mac[6] = {0x00, 0x0c, 0x29, 0xaa, 0xbb, 0xcc};
	putn(a, mac, 6);
	for (int i = 0; i < 40; i++)
		put8(a, 0);
}

static void test_ns_node_status(void **unused)
{
	(void)unused;
	struct buf q = {.n = 0}, a = {.n = 0};
	struct dflow f = dflow_open(&netbios_ns_dissector, 137);
	build_node_status(&q, &a);
	dflow_send(&f, DIR_CLIENT, &q, q.n);
	dflow_send(&f, DIR_SERVER, &a, a.n);
	char *j = dflow_json(&f);
	assert_contains(j, "\"name\":\"*\",\"suffix\":\"<00>\"");
	assert_contains(j, "\"type\":\"NBSTAT\"");
	assert_contains(j, "\"answers\":[\"HOST1<00>\",\"WORKGROUP<00>\",\"HOST1<20>\"]");
	assert_contains(j, "\"mac\":\"00:0c:29:aa:bb:cc\"");
	assert_contains(j, "\"names\":[\"*<00>\",\"HOST1<00>\",\"WORKGROUP<00>\",\"HOST1<20>\"]");
	free(j);
	dflow_close(&f);
}

static void test_ns_scope_and_empty(void **unused)
{
	(void)unused;
	struct buf q = {.n = 0};
	struct dflow f = dflow_open(&netbios_ns_dissector, 137);
	char summary[64];

	netbios_ns_dissector.summarize(f.state, summary, sizeof summary);
	assert_string_equal(summary, "");
	char *j = dflow_json(&f);
	assert_string_equal(j, "{\"queries\":[],\"names\":[]}");
	free(j);
	ns_header(&q, 3, OP(0), 1, 0, 0, 0);
	put_nbname(&q, "PRINTER", 0x20, "corp.example");
	put16(&q, 0x20);
	put16(&q, 1);
	dflow_send(&f, DIR_CLIENT, &q, q.n);
	j = dflow_json(&f);
	assert_contains(j, "\"name\":\"PRINTER\",\"suffix\":\"<20>\",\"service\":\"Server "
	                   "service\",\"scope\":\"corp.example\"");
	free(j);
	netbios_ns_dissector.summarize(f.state, summary, sizeof summary);
	assert_string_equal(summary, "query PRINTER<20>");
	dflow_close(&f);
}

static void test_ns_retransmission(void **unused)
{
	(void)unused;
	struct buf q = {.n = 0};
	struct dflow f = dflow_open(&netbios_ns_dissector, 137);
	build_name_query(&q, 5);
	for (int i = 0; i < 3; i++)
		dflow_send(&f, DIR_CLIENT, &q, q.n);
	char *j = dflow_json(&f);
	assert_contains(j, "\"rcode\":null");
	assert_contains(j, "\"retransmissions\":2");
	free(j);
	dflow_close(&f);
}

/* A response whose query was not seen still makes a transaction. */
static void test_ns_unsolicited_response(void **unused)
{
	(void)unused;
	struct buf a = {.n = 0};
	struct dflow f = dflow_open(&netbios_ns_dissector, 137);
	build_query_response(&a, 77);
	dflow_send(&f, DIR_SERVER, &a, a.n);
	char *j = dflow_json(&f);
	assert_contains(j, "\"request_seen\":false");
	assert_contains(j, "\"name\":\"FILESRV\"");
	free(j);
	dflow_close(&f);
}

static void test_ns_every_truncation(void **unused)
{
	(void)unused;
	struct buf msgs[4], other = {.n = 0};
	build_query_response(&msgs[0], 1);
	build_registration(&msgs[1], 2, 5);
	build_node_status(&other, &msgs[2]);
	build_name_query(&msgs[3], 3);
	for (int m = 0; m < 4; m++) {
		for (size_t cut = 0; cut < msgs[m].n; cut++) {
			struct dflow f = dflow_open(&netbios_ns_dissector, 137);
			dflow_send(&f, DIR_SERVER, &msgs[m], cut);
			assert_true(session_has_alert(f.s, ALERT_MALFORMED));
			char *j = dflow_json(&f);
			free(j);
			dflow_close(&f);
		}
	}
}

static void test_ns_pointer_loops_and_lies(void **unused)
{
	(void)unused;
	struct buf b;

	/* an answer name that points at itself */
	b.n = 0;
	ns_header(&b, 1, F_R, 0, 1, 0, 0);
	put16(&b, 0xc00c);
	ns_rr_tail(&b, 0x20, 0, 0);
	struct dflow f = dflow_open(&netbios_ns_dissector, 137);
	dflow_send(&f, DIR_SERVER, &b, b.n);
	assert_true(session_has_alert(f.s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f.s, "netbios-ns.malformed"), 1);
	char *j = dflow_json(&f);
	assert_contains(j, "\"malformed\":1");
	free(j);
	dflow_close(&f);

	/* a pointer forward, a pointer into the header */
	static const unsigned targets[] = {0xc020, 0xc002};
	for (int i = 0; i < 2; i++) {
		b.n = 0;
		ns_header(&b, 1, 0, 1, 0, 0, 1);
		ns_question(&b, "HOST", 0, 0x20);
		put16(&b, targets[i]);
		ns_rr_tail(&b, 0x20, 0, 6);
		ns_nb(&b, 0, 1, 2, 3, 4);
		f = dflow_open(&netbios_ns_dissector, 137);
		dflow_send(&f, DIR_CLIENT, &b, b.n);
		assert_true(session_has_alert(f.s, ALERT_MALFORMED));
		dflow_close(&f);
	}

	/* a label that says it is longer than the message */
	b.n = 0;
	ns_header(&b, 1, 0, 1, 0, 0, 0);
	put8(&b, 63);
	puts_(&b, "ABCDEF");
	f = dflow_open(&netbios_ns_dissector, 137);
	dflow_send(&f, DIR_CLIENT, &b, b.n);
	assert_true(session_has_alert(f.s, ALERT_MALFORMED));
	dflow_close(&f);

	/* an rdlength longer than the message; an NB rdata not a multiple of 6 */
	build_query_response(&b, 1);
	b.b[12 + 34 + 8] = 0;
	b.b[12 + 34 + 9] = 13;
	f = dflow_open(&netbios_ns_dissector, 137);
	dflow_send(&f, DIR_SERVER, &b, b.n);
	assert_true(session_has_alert(f.s, ALERT_MALFORMED));
	dflow_close(&f);
	build_query_response(&b, 1);
	b.b[12 + 34 + 9] = 11;
	f = dflow_open(&netbios_ns_dissector, 137);
	dflow_send(&f, DIR_SERVER, &b, b.n - 1);
	assert_true(session_has_alert(f.s, ALERT_MALFORMED));
	dflow_close(&f);

	/* a label that is not first-level encoding is kept raw */
	b.n = 0;
	ns_header(&b, 1, 0, 1, 0, 0, 0);
	put8(&b, 4);
	puts_(&b, "host");
	put8(&b, 0);
	put16(&b, 0x20);
	put16(&b, 1);
	f = dflow_open(&netbios_ns_dissector, 137);
	dflow_send(&f, DIR_CLIENT, &b, b.n);
	j = dflow_json(&f);
	assert_contains(j, "\"name\":\"host\",\"encoded\":false");
	free(j);
	dflow_close(&f);
}

static void test_ns_caps(void **unused)
{
	(void)unused;
	struct buf b;
	struct dflow f = dflow_open(&netbios_ns_dissector, 137);

	for (unsigned i = 0; i < 70; i++) {
		char name[16];
		snprintf(name, sizeof name, "HOST%u", i);
		b.n = 0;
		ns_header(&b, i, OP(0), 1, 0, 0, 0);
		ns_question(&b, name, 0x20, 0x20);
		dflow_send(&f, DIR_CLIENT, &b, b.n);
	}
	char *j = dflow_json(&f);
	assert_contains(j, "\"truncated\":6");
	assert_contains(j, "\"names_truncated\":6");
	assert_lacks(j, "HOST64");
	free(j);
	assert_int_equal(session_counter_value(f.s, "netbios-ns.too_many_transactions"), 1);
	assert_int_equal(session_counter_value(f.s, "netbios-ns.too_many_names"), 1);
	dflow_close(&f);

	/* 20 addresses in one answer: 16 kept */
	f = dflow_open(&netbios_ns_dissector, 137);
	b.n = 0;
	ns_header(&b, 1, F_R, 0, 1, 0, 0);
	put_nbname(&b, "MANY", 0x1c, NULL);
	ns_rr_tail(&b, 0x20, 10, 20 * 6);
	for (unsigned i = 0; i < 20; i++)
		ns_nb(&b, 0x8000, 10, 0, 0, i);
	dflow_send(&f, DIR_SERVER, &b, b.n);
	j = dflow_json(&f);
	assert_contains(j, "\"answers_truncated\":4");
	assert_contains(j, "\"10.0.0.15\"]");
	assert_lacks(j, "10.0.0.16");
	free(j);
	assert_int_equal(session_counter_value(f.s, "netbios-ns.too_many_answers"), 1);
	dflow_close(&f);
}

static void test_ns_probe(void **unused)
{
	(void)unused;
	struct buf b;
	build_name_query(&b, 1);
	assert_int_equal(netbios_ns_dissector.probe(rd_init(b.b, b.n), DIR_CLIENT), VERDICT_YES);
	assert_int_equal(netbios_ns_dissector.probe(rd_init(b.b, 20), DIR_CLIENT),
	                 VERDICT_NEED_MORE);
	/* a DNS query for www.example.com */
	b.n = 0;
	ns_header(&b, 0xabcd, 0x0100, 1, 0, 0, 0);
	put8(&b, 3);
	puts_(&b, "www");
	put8(&b, 7);
	puts_(&b, "example");
	put8(&b, 3);
	puts_(&b, "com");
	put8(&b, 0);
	put16(&b, 1);
	put16(&b, 1);
	for (int i = 0; i < 20; i++)
		put8(&b, 0);
	assert_int_equal(netbios_ns_dissector.probe(rd_init(b.b, b.n), DIR_CLIENT), VERDICT_NO);
	/* an opcode NBNS does not have */
	build_name_query(&b, 1);
	b.b[2] = (uint8_t)(OP(3) >> 8);
	assert_int_equal(netbios_ns_dissector.probe(rd_init(b.b, b.n), DIR_CLIENT), VERDICT_NO);
	/* a query with an rcode; reserved bits */
	build_name_query(&b, 1);
	b.b[3] |= 1;
	assert_int_equal(netbios_ns_dissector.probe(rd_init(b.b, b.n), DIR_CLIENT), VERDICT_NO);
	build_name_query(&b, 1);
	b.b[3] |= 0x40;
	assert_int_equal(netbios_ns_dissector.probe(rd_init(b.b, b.n), DIR_CLIENT), VERDICT_NO);
	static const char *const others[] = {"220 mail ESMTP\r\n", "SSH-2.0-OpenSSH_9.0\r\n",
	                                     "GET / HTTP/1.1\r\nHost: x\r\n\r\n0123456789012345"};
	for (int i = 0; i < 3; i++)
		assert_int_not_equal(
		    netbios_ns_dissector.probe(rd_init(others[i], strlen(others[i])), DIR_CLIENT),
		    VERDICT_YES);
}

/* ======================= datagram service ======================= */

/* An SMB Transaction request to a mailslot carrying data. */
static void put_smb_mailslot(struct buf *b, const char *mailslot, const struct buf *data)
{
	size_t smb_start = b->n;
	put8(b, 0xff);
	puts_(b, "SMB");
	put8(b, 0x25);
	for (int i = 0; i < 27; i++)
		put8(b, 0);
	unsigned setup = 3;
	size_t name_len = strlen(mailslot) + 1;
	unsigned data_offset = (unsigned)(32 + 1 + (14 + setup) * 2 + 2 + name_len);
	put8(b, 14 + setup);
	put16le(b, 0);                 /* total parameter count */
	put16le(b, (unsigned)data->n); /* total data count */
	put16le(b, 0);                 /* max parameter count */
	put16le(b, 0);                 /* max data count */
	put8(b, 0);                    /* max setup count */
	put8(b, 0);                    /* reserved */
	put16le(b, 0);                 /* flags */
	put32le(b, 1000);              /* timeout */
	put16le(b, 0);                 /* reserved */
	put16le(b, 0);                 /* parameter count */
	put16le(b, data_offset);       /* parameter offset */
	put16le(b, (unsigned)data->n); /* data count */
	put16le(b, data_offset);       /* data offset */
	put8(b, (uint8_t)setup);
	put8(b, 0);
	put16le(b, 1);
	put16le(b, 0);
	put16le(b, 2);
	put16le(b, (unsigned)(name_len + data->n));
	putn(b, mailslot, name_len);
	assert_int_equal(b->n - smb_start, data_offset);
	putn(b, data->b, data->n);
}

static void put_announcement(struct buf *d, unsigned cmd, const char *name, uint32_t type,
                             const char *comment)
{
	d->n = 0;
	put8(d, cmd);
	put8(d, 3);
	put32le(d, 720000);
	char n16[16] = {0};
	memcpy(n16, name, strlen(name));
	putn(d, n16, 16);
	put8(d, 6);
	put8(d, 1);
	put32le(d, type);
	put8(d, 15);
	put8(d, 1);
	put16le(d, 0xaa55);
	putn(d, comment, strlen(comment) + 1);
}

static void build_dgm(struct buf *b, unsigned type, const char *src, unsigned src_sfx,
                      const char *dst, unsigned dst_sfx, const struct buf *data,
                      const char *mailslot)
{
	struct buf body = {.n = 0};
	put_nbname(&body, src, src_sfx, NULL);
	put_nbname(&body, dst, dst_sfx, NULL);
	if (data)
		put_smb_mailslot(&body, mailslot, data);
	b->n = 0;
	put8(b, type);
	put8(b, 0x02 | 0x04); /* first, P node */
	put16(b, 0x4242);
	put8(b, 192);
	put8(b, 0);
	put8(b, 2);
	put8(b, 10);
	put16(b, 138);
	put16(b, (unsigned)body.n);
	put16(b, 0);
	putn(b, body.b, body.n);
}

static void test_dgm_host_announcement(void **unused)
{
	(void)unused;
	static struct buf d, b;
	put_announcement(&d, 1, "NVR9", 0x00011003, "Camera server");
	build_dgm(&b, 0x11, "NVR9", 0x20, "WORKGROUP", 0x1d, &d, "\\MAILSLOT\\BROWSE");
	assert_int_equal(netbios_dgm_dissector.probe(rd_init(b.b, b.n), DIR_CLIENT), VERDICT_YES);
	struct dflow f = dflow_open(&netbios_dgm_dissector, 138);
	dflow_send(&f, DIR_CLIENT, &b, b.n);
	char *j = dflow_json(&f);
	assert_contains(j, "{\"source_name\":\"NVR9<20>\",\"destination_name\":\"WORKGROUP<1D>\","
	                   "\"server_name\":\"NVR9\"");
	assert_contains(j, "\"type\":\"direct_group\",\"id\":16962,\"source_ip\":\"192.0.2.10\","
	                   "\"source_port\":138,\"node_type\":\"P\"");
	assert_contains(j, "\"mailslot\":\"\\\\MAILSLOT\\\\BROWSE\"");
	assert_contains(j, "\"command\":\"Host Announcement\",\"server_name\":\"NVR9\","
	                   "\"os_version\":\"6.1\",\"server_type\":69635,\"server_types\":["
	                   "\"Workstation\",\"Server\",\"NT Workstation\",\"Potential Browser\"],"
	                   "\"comment\":\"Camera server\"");
	assert_lacks(j, "malformed");
	free(j);
	char summary[200];
	netbios_dgm_dissector.summarize(f.state, summary, sizeof summary);
	assert_string_equal(summary,
	                    "direct_group NVR9<20> -> WORKGROUP<1D> Host Announcement NVR9");
	dflow_close(&f);
}

static void test_dgm_browser_commands(void **unused)
{
	(void)unused;
	static struct buf d, b;
	struct dflow f = dflow_open(&netbios_dgm_dissector, 138);

	put_announcement(&d, 12, "WORKGROUP", 0x80001000, "MASTER1");
	build_dgm(&b, 0x12, "MASTER1", 0x00, "\x01\x02__MSBROWSE__\x02", 0x01, &d,
	          "\\MAILSLOT\\BROWSE");
	dflow_send(&f, DIR_CLIENT, &b, b.n);
	put_announcement(&d, 15, "MASTER1", 0x00040003, "");
	build_dgm(&b, 0x11, "MASTER1", 0x00, "WORKGROUP", 0x1e, &d, "\\MAILSLOT\\BROWSE");
	dflow_send(&f, DIR_CLIENT, &b, b.n);
	/* election: version, criteria, uptime, reserved, name */
	d.n = 0;
	put8(&d, 8);
	put8(&d, 1);
	put32le(&d, 0x20011f0f);
	put32le(&d, 1000);
	put32le(&d, 0);
	putn(&d, "ELECTOR", 8);
	build_dgm(&b, 0x11, "ELECTOR", 0x00, "WORKGROUP", 0x1e, &d, "\\MAILSLOT\\BROWSE");
	dflow_send(&f, DIR_CLIENT, &b, b.n);
	/* request announcement */
	d.n = 0;
	put8(&d, 2);
	put8(&d, 0);
	putn(&d, "ASKER", 6);
	build_dgm(&b, 0x11, "ASKER", 0x00, "WORKGROUP", 0x1d, &d, "\\MAILSLOT\\BROWSE");
	dflow_send(&f, DIR_CLIENT, &b, b.n);
	/* another mailslot: only named */
	build_dgm(&b, 0x10, "A", 0x00, "B", 0x00, &d, "\\MAILSLOT\\NET\\NETLOGON");
	dflow_send(&f, DIR_CLIENT, &b, b.n);

	char *j = dflow_json(&f);
	assert_contains(j, "\"server_name\":\"MASTER1\"");
	assert_contains(j,
	                "\"command\":\"Domain/Workgroup Announcement\",\"domain\":\"WORKGROUP\"");
	assert_contains(j, "\"server_types\":[\"NT Workstation\",\"Domain Enum\"],"
	                   "\"master_browser\":\"MASTER1\"");
	assert_contains(j, "\"destination_name\":\"\\u0001\\u0002__MSBROWSE__\\u0002<01>\"");
	assert_contains(j, "\"command\":\"Local Master Announcement\",\"server_name\":\"MASTER1\"");
	assert_contains(j, "\"Master Browser\"");
	assert_contains(j, "\"command\":\"Election Request\",\"server_name\":\"ELECTOR\"}");
	assert_contains(j, "\"command\":\"Request Announcement\",\"server_name\":\"ASKER\"}");
	assert_contains(j, "\"type\":\"direct_unique\"");
	assert_contains(j, "\"mailslot\":\"\\\\MAILSLOT\\\\NET\\\\NETLOGON\"}");
	assert_lacks(j, "malformed");
	free(j);
	dflow_close(&f);
}

static void test_dgm_other_types(void **unused)
{
	(void)unused;
	struct buf b = {.n = 0};
	struct dflow f = dflow_open(&netbios_dgm_dissector, 138);

	/* error */
	put8(&b, 0x13);
	put8(&b, 0x02);
	put16(&b, 1);
	put32(&b, 0xc0000201);
	put16(&b, 138);
	put8(&b, 0x82);
	dflow_send(&f, DIR_SERVER, &b, b.n);
	/* query request */
	b.n = 0;
	put8(&b, 0x14);
	put8(&b, 0x02);
	put16(&b, 2);
	put32(&b, 0xc0000201);
	put16(&b, 138);
	put_nbname(&b, "WANTED", 0x00, NULL);
	dflow_send(&f, DIR_CLIENT, &b, b.n);
	/* a later fragment carries no names */
	b.n = 0;
	put8(&b, 0x12);
	put8(&b, 0x00);
	put16(&b, 3);
	put32(&b, 0xc0000201);
	put16(&b, 138);
	put16(&b, 3);
	put16(&b, 500);
	puts_(&b, "xyz");
	dflow_send(&f, DIR_CLIENT, &b, b.n);
	/* an unknown type */
	b.n = 0;
	put8(&b, 0x42);
	for (int i = 0; i < 12; i++)
		put8(&b, 0);
	dflow_send(&f, DIR_CLIENT, &b, b.n);

	char *j = dflow_json(&f);
	assert_contains(j, "\"type\":\"error\"");
	assert_contains(j, "\"error\":\"DESTINATION NAME NOT PRESENT\"");
	assert_contains(j, "\"type\":\"query_request\"");
	assert_contains(j, "\"destination_name\":\"WANTED<00>\"");
	assert_contains(j, "\"fragment\":true");
	assert_contains(j, "\"type\":66");
	assert_contains(j, "\"malformed\":1");
	free(j);
	assert_true(session_has_alert(f.s, ALERT_MALFORMED));
	dflow_close(&f);
}

static void test_dgm_every_truncation(void **unused)
{
	(void)unused;
	static struct buf d, b;
	put_announcement(&d, 1, "NVR9", 0x3, "comment");
	build_dgm(&b, 0x11, "NVR9", 0x20, "WORKGROUP", 0x1d, &d, "\\MAILSLOT\\BROWSE");
	for (size_t cut = 0; cut < b.n; cut++) {
		struct dflow f = dflow_open(&netbios_dgm_dissector, 138);
		dflow_send(&f, DIR_CLIENT, &b, cut);
		assert_true(session_has_alert(f.s, ALERT_MALFORMED));
		char *j = dflow_json(&f);
		free(j);
		dflow_close(&f);
	}
	/* names that lie about their label length */
	build_dgm(&b, 0x11, "NVR9", 0x20, "WORKGROUP", 0x1d, NULL, NULL);
	b.b[14] = 0xc0;
	struct dflow f = dflow_open(&netbios_dgm_dissector, 138);
	dflow_send(&f, DIR_CLIENT, &b, b.n);
	assert_true(session_has_alert(f.s, ALERT_MALFORMED));
	dflow_close(&f);
}

static void test_dgm_caps(void **unused)
{
	(void)unused;
	static struct buf d, b;
	struct dflow f = dflow_open(&netbios_dgm_dissector, 138);
	char comment[300];
	memset(comment, 'c', sizeof comment - 1);
	comment[sizeof comment - 1] = 0;
	put_announcement(&d, 1, "LONGCOMMENT", 0x3, comment);
	build_dgm(&b, 0x11, "NVR9", 0x20, "WORKGROUP", 0x1d, &d, "\\MAILSLOT\\BROWSE");
	for (int i = 0; i < 40; i++)
		dflow_send(&f, DIR_CLIENT, &b, b.n);
	char *j = dflow_json(&f);
	assert_contains(j, "\"truncated\":8");
	char want[140];
	memset(want, 'c', 128);
	want[128] = 0;
	assert_contains(j, want);
	want[128] = '"';
	want[129] = 0;
	assert_contains(j, want); /* cut at 128 */
	free(j);
	assert_int_equal(session_counter_value(f.s, "netbios-dgm.too_many_datagrams"), 1);
	dflow_close(&f);
}

static void test_dgm_probe(void **unused)
{
	(void)unused;
	struct buf b;
	build_dgm(&b, 0x12, "A", 0, "B", 0, NULL, NULL);
	assert_int_equal(netbios_dgm_dissector.probe(rd_init(b.b, b.n), DIR_CLIENT), VERDICT_YES);
	assert_int_equal(netbios_dgm_dissector.probe(rd_init(b.b, 10), DIR_CLIENT),
	                 VERDICT_NEED_MORE);
	assert_int_equal(netbios_dgm_dissector.probe(rd_init(b.b, 0), DIR_CLIENT),
	                 VERDICT_NEED_MORE);
	b.b[1] = 0x40;
	assert_int_equal(netbios_dgm_dissector.probe(rd_init(b.b, b.n), DIR_CLIENT), VERDICT_NO);
	build_dgm(&b, 0x12, "A", 0, "B", 0, NULL, NULL);
	b.b[20] = 'z';
	assert_int_equal(netbios_dgm_dissector.probe(rd_init(b.b, b.n), DIR_CLIENT), VERDICT_NO);
	static const char *const others[] = {"220 mail ESMTP\r\n", "\x16\x03\x01\x02\x00\x01",
	                                     "+OK POP3 ready\r\n"};
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    netbios_dgm_dissector.probe(rd_init(others[i], strlen(others[i])), DIR_CLIENT),
		    VERDICT_NO);
}

/* ======================= session service ======================= */

struct sflow {
	struct session *s;
	void *state;
	uint8_t *pending[2];
	size_t len[2];
	size_t consumed[2];
	bool handed; /* on_data asked for the smb handoff: nothing more goes to it */
};

static struct sflow *sflow_open(void)
{
	struct sflow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->s = new_session(true, 139);
	f->state = calloc(1, netbios_ssn_dissector.state_size);
	assert_non_null(f->state);
	return f;
}

static void sflow_close(struct sflow *f)
{
	char summary[256];
	netbios_ssn_dissector.summarize(f->state, summary, sizeof summary);
	free(f->state);
	free(f->pending[0]);
	free(f->pending[1]);
	session_detached_free(f->s);
	free(f);
}

/* As src/dissect.c drives it; after a handoff the bytes would go to smb. */
static void sfeed(struct sflow *f, enum direction dir, const void *data, size_t n)
{
	if (f->handed)
		return;
	uint8_t *p = realloc(f->pending[dir], f->len[dir] + n + 1);
	assert_non_null(p);
	if (n)
		memcpy(p + f->len[dir], data, n);
	f->pending[dir] = p;
	f->len[dir] += n;
	while (f->len[dir]) {
		size_t used = netbios_ssn_dissector.on_data(f->s, f->state, dir,
		                                            rd_init(f->pending[dir], f->len[dir]));
		assert_true(used <= f->len[dir]);
		memmove(f->pending[dir], f->pending[dir] + used, f->len[dir] - used);
		f->len[dir] -= used;
		f->consumed[dir] += used;
		if (session_handoff_target(f->s)) {
			f->handed = true;
			return;
		}
		if (used == 0)
			break;
	}
}

static void sgap(struct sflow *f, enum direction dir, size_t missing)
{
	f->len[dir] = 0;
	netbios_ssn_dissector.on_gap(f->s, f->state, dir, missing);
}

static char *sjson(struct sflow *f)
{
	return render(&netbios_ssn_dissector, f->state);
}

static void nbss(struct buf *b, unsigned type, const struct buf *body)
{
	size_t n = body ? body->n : 0;
	put8(b, type);
	put8(b, (unsigned)(n >> 16) & 1);
	put16(b, (unsigned)(n & 0xffff));
	if (n)
		putn(b, body->b, n);
}

static void build_request(struct buf *b)
{
	struct buf names = {.n = 0};
	put_nbname(&names, "FILESRV", 0x20, NULL);
	put_nbname(&names, "LAPTOP-7", 0x00, NULL);
	nbss(b, 0x81, &names);
}

static void build_smb_message(struct buf *b, uint8_t magic)
{
	struct buf smb = {.n = 0};
	put8(&smb, magic);
	puts_(&smb, "SMB");
	put8(&smb, 0x72);
	for (int i = 0; i < 40; i++)
		put8(&smb, 0);
	nbss(b, 0x00, &smb);
}

static void test_ssn_request_and_handoff(void **unused)
{
	(void)unused;
	static struct buf c, sv;
	build_request(&c);
	size_t before = c.n;
	build_smb_message(&c, 0xff);
	nbss(&sv, 0x82, NULL);

	assert_int_equal(netbios_ssn_dissector.probe(rd_init(c.b, c.n), DIR_CLIENT), VERDICT_YES);
	struct sflow *f = sflow_open();
	sfeed(f, DIR_CLIENT, c.b, before);
	sfeed(f, DIR_SERVER, sv.b, sv.n);
	assert_null(session_handoff_target(f->s));
	assert_string_equal(netbios_ssn_dissector.protocol_name(f->state), "netbios-ssn");
	sfeed(f, DIR_CLIENT, c.b + before, c.n - before);
	assert_non_null(session_handoff_target(f->s));
	assert_string_equal(session_handoff_target(f->s), "smb");
	/* smb gets the session message from its first byte */
	assert_int_equal(f->consumed[DIR_CLIENT], before);
	assert_string_equal(netbios_ssn_dissector.protocol_name(f->state), "smb");
	char *j = sjson(f);
	assert_contains(j, "\"called\":\"FILESRV<20>\",\"calling\":\"LAPTOP-7<00>\","
	                   "\"response\":\"positive\"");
	assert_contains(j, "\"smb\":true");
	free(j);
	char summary[128];
	netbios_ssn_dissector.summarize(f->state, summary, sizeof summary);
	assert_string_equal(summary, "LAPTOP-7<00> -> FILESRV<20> accepted (smb)");
	sflow_close(f);
}

/* The whole exchange split at every byte, and fed byte by byte. */
static void test_ssn_splits(void **unused)
{
	(void)unused;
	static struct buf c;
	build_request(&c);
	size_t before = c.n;
	build_smb_message(&c, 0xfe);
	for (size_t at = 0; at <= c.n; at++) {
		struct sflow *f = sflow_open();
		sfeed(f, DIR_CLIENT, c.b, at);
		sfeed(f, DIR_CLIENT, c.b + at, c.n - at);
		assert_string_equal(session_handoff_target(f->s), "smb");
		assert_int_equal(f->consumed[DIR_CLIENT], before);
		char *j = sjson(f);
		assert_contains(j, "\"called\":\"FILESRV<20>\",\"calling\":\"LAPTOP-7<00>\"");
		free(j);
		sflow_close(f);
	}
	struct sflow *f = sflow_open();
	for (size_t i = 0; i < c.n; i++)
		sfeed(f, DIR_CLIENT, c.b + i, 1);
	assert_string_equal(session_handoff_target(f->s), "smb");
	assert_int_equal(f->consumed[DIR_CLIENT], before);
	sflow_close(f);
}

static void test_ssn_responses(void **unused)
{
	(void)unused;
	static struct buf c, sv;
	struct buf body = {.n = 0};
	struct sflow *f = sflow_open();

	build_request(&c);
	sfeed(f, DIR_CLIENT, c.b, c.n);
	put8(&body, 0x82);
	nbss(&sv, 0x83, &body);
	sfeed(f, DIR_SERVER, sv.b, sv.n);
	char *j = sjson(f);
	assert_contains(j, "\"response\":\"negative\",\"error\":\"Called name not present\"");
	free(j);
	/* a retarget, a second request, keepalives, a plain session message */
	sv.n = 0;
	body.n = 0;
	put32(&body, 0xc0000205);
	put16(&body, 1139);
	nbss(&sv, 0x84, &body);
	nbss(&sv, 0x85, NULL);
	sfeed(f, DIR_SERVER, sv.b, sv.n);
	c.n = 0;
	build_request(&c);
	nbss(&c, 0x85, NULL);
	body.n = 0;
	puts_(&body, "not smb at all");
	nbss(&c, 0x00, &body);
	sfeed(f, DIR_CLIENT, c.b, c.n);
	j = sjson(f);
	assert_contains(j, "\"response\":\"retarget\",\"retarget_ip\":\"192.0.2.5\","
	                   "\"retarget_port\":1139");
	assert_contains(j, "\"session_requests\":2");
	assert_contains(j, "\"session_messages\":1,\"session_message_bytes\":14");
	assert_contains(j, "\"keepalives\":2");
	assert_lacks(j, "malformed");
	free(j);
	assert_null(session_handoff_target(f->s));
	sflow_close(f);

	/* a negative response without its error code, a short retarget */
	f = sflow_open();
	sv.n = 0;
	nbss(&sv, 0x83, NULL);
	nbss(&sv, 0x84, NULL);
	sfeed(f, DIR_SERVER, sv.b, sv.n);
	j = sjson(f);
	assert_contains(j, "\"malformed\":true");
	assert_contains(j, "\"called\":null");
	free(j);
	sflow_close(f);
}

/* 17-bit length: the flags byte's low bit. */
static void test_ssn_long_message(void **unused)
{
	(void)unused;
	static struct buf c, body;
	body.n = 0;
	for (int i = 0; i < 70000; i++)
		put8(&body, 'x');
	c.n = 0;
	nbss(&c, 0x00, &body);
	assert_int_equal(c.b[1], 1);
	struct sflow *f = sflow_open();
	for (size_t at = 0; at < c.n; at += 1460)
		sfeed(f, DIR_CLIENT, c.b + at, c.n - at < 1460 ? c.n - at : 1460);
	char *j = sjson(f);
	assert_contains(j, "\"session_messages\":1,\"session_message_bytes\":70000");
	free(j);
	assert_int_equal(f->consumed[DIR_CLIENT], c.n);
	sflow_close(f);
}

/* A capture that starts with SMB (no session request), or in the middle of
 * a message and then SMB. */
static void test_ssn_midstream(void **unused)
{
	(void)unused;
	static struct buf c;
	c.n = 0;
	build_smb_message(&c, 0xff);
	assert_int_equal(netbios_ssn_dissector.probe(rd_init(c.b, c.n), DIR_CLIENT), VERDICT_YES);
	struct sflow *f = sflow_open();
	sfeed(f, DIR_CLIENT, c.b, c.n);
	assert_string_equal(session_handoff_target(f->s), "smb");
	assert_int_equal(f->consumed[DIR_CLIENT], 0);
	char *j = sjson(f);
	assert_contains(j, "\"called\":null");
	free(j);
	sflow_close(f);

	c.n = 0;
	puts_(&c, "\x77garbage in the middle of a message");
	size_t junk = c.n;
	build_smb_message(&c, 0xfd);
	for (size_t at = 0; at <= c.n; at++) {
		f = sflow_open();
		sfeed(f, DIR_CLIENT, c.b, at);
		sfeed(f, DIR_CLIENT, c.b + at, c.n - at);
		assert_string_equal(session_handoff_target(f->s), "smb");
		assert_int_equal(f->consumed[DIR_CLIENT], junk);
		assert_int_equal(session_counter_value(f->s, "netbios-ssn.midstream"), 1);
		sflow_close(f);
	}
}

static void test_ssn_gap(void **unused)
{
	(void)unused;
	static struct buf c;
	struct sflow *f = sflow_open();
	c.n = 0;
	build_request(&c);
	sfeed(f, DIR_CLIENT, c.b, 20);
	sgap(f, DIR_CLIENT, 100);
	assert_true(session_has_alert(f->s, ALERT_GAP));
	/* after the hole: the tail of something, then SMB */
	c.n = 0;
	puts_(&c, "tail of a lost message");
	size_t junk = c.n;
	build_smb_message(&c, 0xfe);
	sfeed(f, DIR_CLIENT, c.b, c.n);
	assert_string_equal(session_handoff_target(f->s), "smb");
	assert_int_equal(f->consumed[DIR_CLIENT], junk);
	char *j = sjson(f);
	assert_contains(j, "\"gap\":true");
	free(j);
	sflow_close(f);

	/* a long stretch of nothing recognisable is dropped, never kept */
	f = sflow_open();
	sgap(f, DIR_CLIENT, 5);
	static uint8_t junkbytes[100000];
	memset(junkbytes, 0x41, sizeof junkbytes);
	sfeed(f, DIR_CLIENT, junkbytes, sizeof junkbytes);
	assert_true(f->len[DIR_CLIENT] < 8);
	assert_null(session_handoff_target(f->s));
	sflow_close(f);
}

static void test_ssn_every_truncation(void **unused)
{
	(void)unused;
	static struct buf c;
	c.n = 0;
	build_request(&c);
	nbss(&c, 0x85, NULL);
	for (size_t cut = 0; cut < c.n; cut++) {
		struct sflow *f = sflow_open();
		sfeed(f, DIR_CLIENT, c.b, cut);
		netbios_ssn_dissector.on_end(f->s, f->state);
		char *j = sjson(f);
		if (cut > 0 && cut < c.n - 4) {
			assert_contains(j, "\"called\":null");
			assert_contains(j, "\"incomplete\":true");
			assert_true(session_has_alert(f->s, ALERT_TRUNCATED));
		}
		free(j);
		sflow_close(f);
	}
	/* the flow ends while a session message's first bytes wait to show
	 * whether they are SMB */
	static const uint8_t part[] = {0x00, 0x00, 0x00, 0x40, 0xff, 'S'};
	struct sflow *w = sflow_open();
	sfeed(w, DIR_CLIENT, part, sizeof part);
	netbios_ssn_dissector.on_end(w->s, w->state);
	assert_true(session_has_alert(w->s, ALERT_TRUNCATED));
	sflow_close(w);

	/* a request whose names lie */
	c.n = 0;
	struct buf names = {.n = 0};
	put_nbname(&names, "FILESRV", 0x20, NULL);
	put8(&names, 50);
	puts_(&names, "short");
	nbss(&c, 0x81, &names);
	struct sflow *f = sflow_open();
	sfeed(f, DIR_CLIENT, c.b, c.n);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	char *j = sjson(f);
	assert_contains(j, "\"called\":null");
	free(j);
	sflow_close(f);
}

static void test_ssn_probe(void **unused)
{
	(void)unused;
	static struct buf c;
	c.n = 0;
	build_request(&c);
	const struct dissector *d = &netbios_ssn_dissector;
	assert_int_equal(d->probe(rd_init(c.b, c.n), DIR_CLIENT), VERDICT_YES);
	assert_int_equal(d->probe(rd_init(c.b, 0), DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(d->probe(rd_init(c.b, 3), DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(d->probe(rd_init(c.b, 10), DIR_CLIENT), VERDICT_NEED_MORE);
	c.b[10] = 'z';
	assert_int_equal(d->probe(rd_init(c.b, c.n), DIR_CLIENT), VERDICT_NO);
	static const uint8_t pos[] = {0x82, 0, 0, 0}, neg[] = {0x83, 0, 0, 1, 0x80},
	                     badneg[] = {0x83, 0, 0, 1, 0x10}, keep[] = {0x85, 0, 0, 0},
	                     plain[] = {0x00, 0, 0, 4, 'a', 'b', 'c', 'd'},
	                     smb_short[] = {0x00, 0, 0, 0x40, 0xff, 'S'};
	assert_int_equal(d->probe(rd_init(pos, sizeof pos), DIR_SERVER), VERDICT_YES);
	assert_int_equal(d->probe(rd_init(neg, sizeof neg), DIR_SERVER), VERDICT_YES);
	assert_int_equal(d->probe(rd_init(neg, 4), DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(d->probe(rd_init(badneg, sizeof badneg), DIR_SERVER), VERDICT_NO);
	assert_int_equal(d->probe(rd_init(keep, sizeof keep), DIR_SERVER), VERDICT_NO);
	assert_int_equal(d->probe(rd_init(plain, sizeof plain), DIR_CLIENT), VERDICT_NO);
	assert_int_equal(d->probe(rd_init(smb_short, sizeof smb_short), DIR_CLIENT),
	                 VERDICT_NEED_MORE);
	static const char *const others[] = {"220 mail ESMTP\r\n", "SSH-2.0-OpenSSH_9.0\r\n",
	                                     "\x16\x03\x01\x02\x00\x01\x00\x01\xfc",
	                                     "GET / HTTP/1.1\r\n", "+OK ready\r\n"};
	for (int i = 0; i < 5; i++)
		assert_int_equal(d->probe(rd_init(others[i], strlen(others[i])), DIR_CLIENT),
		                 VERDICT_NO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_decode),
	    cmocka_unit_test(test_name_errors),
	    cmocka_unit_test(test_suffix_meanings),
	    cmocka_unit_test(test_ns_query_response),
	    cmocka_unit_test(test_ns_registration_wack),
	    cmocka_unit_test(test_ns_opcodes),
	    cmocka_unit_test(test_ns_node_status),
	    cmocka_unit_test(test_ns_scope_and_empty),
	    cmocka_unit_test(test_ns_retransmission),
	    cmocka_unit_test(test_ns_unsolicited_response),
	    cmocka_unit_test(test_ns_every_truncation),
	    cmocka_unit_test(test_ns_pointer_loops_and_lies),
	    cmocka_unit_test(test_ns_caps),
	    cmocka_unit_test(test_ns_probe),
	    cmocka_unit_test(test_dgm_host_announcement),
	    cmocka_unit_test(test_dgm_browser_commands),
	    cmocka_unit_test(test_dgm_other_types),
	    cmocka_unit_test(test_dgm_every_truncation),
	    cmocka_unit_test(test_dgm_caps),
	    cmocka_unit_test(test_dgm_probe),
	    cmocka_unit_test(test_ssn_request_and_handoff),
	    cmocka_unit_test(test_ssn_splits),
	    cmocka_unit_test(test_ssn_responses),
	    cmocka_unit_test(test_ssn_long_message),
	    cmocka_unit_test(test_ssn_midstream),
	    cmocka_unit_test(test_ssn_gap),
	    cmocka_unit_test(test_ssn_every_truncation),
	    cmocka_unit_test(test_ssn_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
