/* DNS, mDNS and LLMNR: the message parser (src/dns_message.c) and the
 * dissector (dissectors/dns.c) over UDP and TCP, on messages built here
 * field by field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portolan/dissector.h"
#include "portolan/dns_message.h"
#include "portolan/json.h"
#include "portolan/session.h"

extern const struct dissector dns_dissector;

#define T_A 1
#define T_NS 2
#define T_CNAME 5
#define T_SOA 6
#define T_PTR 12
#define T_MX 15
#define T_TXT 16
#define T_AAAA 28
#define T_SRV 33
#define T_RRSIG 46
#define C_IN 1

/* ---- building messages ---- */

struct wire {
	uint8_t b[4096];
	size_t len;
};

static void w8(struct wire *w, unsigned v)
{
	assert_true(w->len < sizeof w->b);
	w->b[w->len++] = (uint8_t)v;
}

static void w16(struct wire *w, unsigned v)
{
	w8(w, v >> 8);
	w8(w, v & 0xff);
}

static void w32(struct wire *w, uint32_t v)
{
	w16(w, v >> 16);
	w16(w, v & 0xffff);
}

static void wbytes(struct wire *w, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		w8(w, ((const uint8_t *)p)[i]);
}

static void wlabel(struct wire *w, const void *p, size_t n)
{
	w8(w, (unsigned)n);
	wbytes(w, p, n);
}

/* "www.example.com" as labels, without the root byte. */
static void wlabels(struct wire *w, const char *dotted)
{
	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t n = dot ? (size_t)(dot - dotted) : strlen(dotted);
		wlabel(w, dotted, n);
		dotted += n + (dot ? 1 : 0);
	}
}

/* A whole uncompressed name ("" is the root). */
static void wname(struct wire *w, const char *dotted)
{
	wlabels(w, dotted);
	w8(w, 0);
}

static void wptr(struct wire *w, unsigned off)
{
	w16(w, 0xc000 | off);
}

static void wheader(struct wire *w, unsigned id, unsigned flags, unsigned qd, unsigned an,
                    unsigned ns, unsigned ar)
{
	w16(w, id);
	w16(w, flags);
	w16(w, qd);
	w16(w, an);
	w16(w, ns);
	w16(w, ar);
}

static void wquestion(struct wire *w, const char *name, unsigned type, unsigned qclass)
{
	wname(w, name);
	w16(w, type);
	w16(w, qclass);
}

/* Type, class, TTL and a placeholder rdlength (after the owner name);
 * returns where the rdlength goes, for wrr_end. */
static size_t wrr_begin(struct wire *w, unsigned type, uint32_t ttl)
{
	w16(w, type);
	w16(w, C_IN);
	w32(w, ttl);
	size_t at = w->len;
	w16(w, 0);
	return at;
}

static void wrr_end(struct wire *w, size_t at)
{
	size_t n = w->len - at - 2;
	w->b[at] = (uint8_t)(n >> 8);
	w->b[at + 1] = (uint8_t)n;
}

#define FLAGS_QUERY 0x0100u    /* RD */
#define FLAGS_RESPONSE 0x8180u /* QR RD RA, NOERROR */

static void build_query(struct wire *w, unsigned id, const char *name, unsigned type)
{
	w->len = 0;
	wheader(w, id, FLAGS_QUERY, 1, 0, 0, 0);
	wquestion(w, name, type, C_IN);
}

/* The answer to "A www.example.com", compressed the way servers do it:
 *   12 www.example.com A IN      (example.com at 16)
 *   33 ptr(12) CNAME 300 -> "edge" ptr(16), rdata at 45
 *   52 ptr(45) A 60 -> 93.184.216.34 */
static void build_response(struct wire *w, unsigned id)
{
	w->len = 0;
	wheader(w, id, FLAGS_RESPONSE, 1, 2, 0, 0);
	wquestion(w, "www.example.com", T_A, C_IN);
	wptr(w, 12);
	size_t at = wrr_begin(w, T_CNAME, 300);
	assert_int_equal(w->len, 45);
	wlabel(w, "edge", 4);
	wptr(w, 16);
	wrr_end(w, at);
	wptr(w, 45);
	at = wrr_begin(w, T_A, 60);
	wbytes(w, "\x5d\xb8\xd8\x22", 4);
	wrr_end(w, at);
}

/* One record of each type shown as text, and two shown by name. */
static void build_all_types(struct wire *w)
{
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	size_t at;

	w->len = 0;
	wheader(w, 0x4242, FLAGS_RESPONSE, 1, 11, 0, 0);
	wquestion(w, "example.com", 255, C_IN); /* example.com at 12, com at 20 */
	wptr(w, 12);
	at = wrr_begin(w, T_A, 1);
	wbytes(w, "\xc0\x00\x02\x01", 4);
	wrr_end(w, at);
	wptr(w, 12);
	at = wrr_begin(w, T_AAAA, 2);
	wbytes(w, v6, sizeof v6);
	wrr_end(w, at);
	wptr(w, 12);
	at = wrr_begin(w, T_CNAME, 3);
	wlabel(w, "alias", 5);
	wptr(w, 12);
	wrr_end(w, at);
	wptr(w, 12);
	at = wrr_begin(w, T_PTR, 4);
	wname(w, "host.example.net");
	wrr_end(w, at);
	wptr(w, 12);
	at = wrr_begin(w, T_MX, 5);
	w16(w, 10);
	wlabel(w, "mail", 4);
	wptr(w, 12);
	wrr_end(w, at);
	wptr(w, 12);
	at = wrr_begin(w, T_NS, 6);
	wlabel(w, "ns", 2);
	wptr(w, 12);
	wrr_end(w, at);
	wptr(w, 12);
	at = wrr_begin(w, T_TXT, 7);
	wlabel(w, "v=spf1 -all", 11);
	wlabel(w, "second", 6);
	wrr_end(w, at);
	wptr(w, 12);
	at = wrr_begin(w, T_SRV, 8);
	w16(w, 0);
	w16(w, 5);
	w16(w, 5060);
	wlabel(w, "sip", 3);
	wptr(w, 12);
	wrr_end(w, at);
	wptr(w, 12);
	at = wrr_begin(w, T_SOA, 9);
	wlabel(w, "ns", 2);
	wptr(w, 12);
	wlabel(w, "hostmaster", 10);
	wptr(w, 12);
	w32(w, 2024010101);
	w32(w, 7200);
	w32(w, 3600);
	w32(w, 1209600);
	w32(w, 300);
	wrr_end(w, at);
	wptr(w, 12);
	at = wrr_begin(w, 65280, 10);
	wbytes(w, "xyz", 3);
	wrr_end(w, at);
	wptr(w, 12);
	at = wrr_begin(w, T_RRSIG, 11);
	w8(w, 0);
	wrr_end(w, at);
}

static const char *const all_types_text[] = {
    "192.0.2.1",
    "2001:db8::1",
    "alias.example.com",
    "host.example.net",
    "10 mail.example.com",
    "ns.example.com",
    "v=spf1 -all second",
    "0 5 5060 sip.example.com",
    "ns.example.com hostmaster.example.com 2024010101 7200 3600 1209600 300",
    "TYPE65280",
    "RRSIG",
};

/* ---- running the parser and the dissector ---- */

static struct dns_message *parse(const struct wire *w, int *rc)
{
	struct dns_message *m = malloc(sizeof *m);
	assert_non_null(m);
	*rc = dns_parse_message(rd_init(w->b, w->len), m);
	return m;
}

static int parse_rc(const struct wire *w)
{
	int rc;
	free(parse(w, &rc));
	return rc;
}

static void assert_answer(const struct dns_answer *a, const char *text)
{
	assert_int_equal(a->text_len, strlen(text));
	assert_memory_equal(a->text, text, a->text_len);
}

struct flow {
	struct session *s;
	void *state;
};

static struct flow flow_open(uint16_t client_port, uint16_t server_port)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 53}};
	struct flow f = {
	    session_detached_new(false, &client, client_port, &server, server_port),
	    calloc(1, dns_dissector.state_size),
	};
	assert_non_null(f.s);
	assert_non_null(f.state);
	return f;
}

static void flow_close(struct flow *f)
{
	dns_dissector.release(f->state);
	free(f->state);
	session_detached_free(f->s);
}

static void feed(struct flow *f, usec_t now, const struct wire *w)
{
	session_set_now(f->s, now);
	dns_dissector.on_data(f->s, f->state, DIR_CLIENT, rd_init(w->b, w->len));
}

/* The dissector's keys rendered as one JSON object; the caller frees it. */
static char *render(const struct flow *f)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	dns_dissector.emit(f->state, &jw.e);
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

#define SEC(s) ((usec_t)(s)*USEC_PER_SEC)

/* ---- the parser ---- */

static void test_parse_compressed_response(void **unused)
{
	(void)unused;
	struct wire w;
	int rc;
	build_response(&w, 0x1234);
	struct dns_message *m = parse(&w, &rc);

	assert_int_equal(rc, DNS_OK);
	assert_int_equal(m->header.id, 0x1234);
	assert_true(dns_is_response(&m->header));
	assert_int_equal(m->rcode, 0);
	assert_int_equal(m->n_questions, 1);
	assert_string_equal(m->questions[0].name.text, "www.example.com");
	assert_int_equal(m->questions[0].qtype, T_A);
	assert_int_equal(m->n_answers, 2);
	assert_answer(&m->answers[0], "edge.example.com");
	assert_int_equal(m->answers[0].ttl, 300);
	assert_answer(&m->answers[1], "93.184.216.34");
	assert_int_equal(m->answers[1].ttl, 60);
	free(m);
}

/* The shapes of RFC 1035 4.1.4's example: F.ISI.ARPA in full, FOO.F.ISI.ARPA
 * as FOO and a pointer to it, ARPA as a pointer into its middle, and the
 * root as one zero byte. */
static void test_parse_rfc1035_compression_example(void **unused)
{
	(void)unused;
	struct wire w = {{0}, 0};
	wheader(&w, 1, FLAGS_RESPONSE, 0, 3, 0, 0);
	size_t f_isi = w.len;
	wlabel(&w, "F", 1);
	wname(&w, "ISI.ARPA");
	size_t at = wrr_begin(&w, T_A, 0);
	wbytes(&w, "\x0a\x00\x00\x01", 4);
	wrr_end(&w, at);
	size_t foo = w.len;
	wlabel(&w, "FOO", 3);
	wptr(&w, (unsigned)f_isi);
	at = wrr_begin(&w, T_PTR, 0);
	wptr(&w, (unsigned)f_isi + 6); /* past "F" and "ISI": ARPA */
	wrr_end(&w, at);
	w8(&w, 0);
	at = wrr_begin(&w, T_CNAME, 0);
	wptr(&w, (unsigned)foo);
	wrr_end(&w, at);

	int rc;
	struct dns_message *m = parse(&w, &rc);
	assert_int_equal(rc, DNS_OK);
	assert_int_equal(m->n_answers, 3);
	assert_answer(&m->answers[0], "10.0.0.1");
	assert_answer(&m->answers[1], "ARPA");
	assert_answer(&m->answers[2], "FOO.F.ISI.ARPA");
	free(m);
}

static void test_parse_every_type_as_text(void **unused)
{
	(void)unused;
	struct wire w;
	int rc;
	build_all_types(&w);
	struct dns_message *m = parse(&w, &rc);

	assert_int_equal(rc, DNS_OK);
	assert_int_equal(m->n_answers, 11);
	for (size_t i = 0; i < 11; i++) {
		assert_answer(&m->answers[i], all_types_text[i]);
		assert_int_equal(m->answers[i].ttl, i + 1);
	}
	free(m);
}

static void test_parse_root_and_odd_labels(void **unused)
{
	(void)unused;
	struct wire w = {{0}, 0};
	wheader(&w, 7, 0, 1, 0, 0, 0);
	wlabel(&w, "a.b", 3);        /* a dot inside a label */
	wlabel(&w, "x\0\"\x01y", 5); /* NUL, quote and a control byte */
	wname(&w, "example");
	w16(&w, T_A);
	w16(&w, C_IN);
	int rc;
	struct dns_message *m = parse(&w, &rc);
	assert_int_equal(rc, DNS_OK);
	assert_int_equal(m->questions[0].name.len, 17);
	assert_memory_equal(m->questions[0].name.text, "a.b.x\0\"\x01y.example", 17);
	free(m);

	w.len = 0;
	wheader(&w, 7, 0, 1, 0, 0, 0);
	wquestion(&w, "", T_NS, C_IN);
	m = parse(&w, &rc);
	assert_int_equal(rc, DNS_OK);
	assert_string_equal(m->questions[0].name.text, ".");
	free(m);
}

/* A question whose name is given by raw bytes, padded so that pointers to
 * offsets past the name still land inside the message. */
static int parse_question_name(const void *name, size_t n)
{
	struct wire w = {{0}, 0};
	wheader(&w, 9, 0, 1, 0, 0, 0);
	wbytes(&w, name, n);
	w16(&w, T_A);
	w16(&w, C_IN);
	for (int i = 0; i < 64; i++)
		w8(&w, 0);
	return parse_rc(&w);
}

static void test_parse_pointer_loops(void **unused)
{
	(void)unused;
	/* a pointer to itself */
	assert_int_equal(parse_question_name("\xc0\x0c", 2), DNS_ERR_POINTER);
	/* a pointer back to an earlier label of the same name: a.a.a... */
	assert_int_equal(parse_question_name("\001a\xc0\x0c", 4), DNS_ERR_POINTER);
	/* a forward pointer, even to a well-formed name */
	assert_int_equal(parse_question_name("\xc0\x0e\x01z\x00", 5), DNS_ERR_POINTER);
	/* into the header */
	assert_int_equal(parse_question_name("\001a\xc0\x02", 4), DNS_ERR_POINTER);
	/* past the end of the message */
	assert_int_equal(parse_question_name("\xc0\xff", 2), DNS_ERR_POINTER);
	assert_int_equal(parse_question_name("\xff\xff", 2), DNS_ERR_POINTER);
}

/* Two pointers pointing at each other: the first answer's data holds a
 * pointer to the second answer's owner, which points back at it. */
static void test_parse_mutual_pointers(void **unused)
{
	(void)unused;
	struct wire w = {{0}, 0};
	wheader(&w, 9, FLAGS_RESPONSE, 1, 2, 0, 0);
	wquestion(&w, "a", T_A, C_IN);
	wptr(&w, 12);
	size_t at = wrr_begin(&w, 65280, 0);
	size_t first = w.len;
	wptr(&w, 0); /* patched below to point at the next owner */
	wrr_end(&w, at);
	size_t owner = w.len;
	wptr(&w, (unsigned)first);
	at = wrr_begin(&w, T_A, 0);
	wbytes(&w, "\x01\x02\x03\x04", 4);
	wrr_end(&w, at);
	w.b[first] = (uint8_t)(0xc0 | owner >> 8);
	w.b[first + 1] = (uint8_t)owner;
	assert_int_equal(parse_rc(&w), DNS_ERR_POINTER);
}

/* A chain of pointers, each to the one before, ending at the question's
 * name; the second answer's owner enters it at the far end. */
static int parse_pointer_chain(unsigned links)
{
	struct wire w = {{0}, 0};
	wheader(&w, 9, FLAGS_RESPONSE, 1, 2, 0, 0);
	wquestion(&w, "a", T_A, C_IN);
	wptr(&w, 12);
	size_t at = wrr_begin(&w, 65280, 0);
	size_t prev = 12;
	for (unsigned i = 0; i < links; i++) {
		size_t here = w.len;
		wptr(&w, (unsigned)prev);
		prev = here;
	}
	wrr_end(&w, at);
	wptr(&w, (unsigned)prev);
	at = wrr_begin(&w, T_A, 0);
	wbytes(&w, "\x01\x02\x03\x04", 4);
	wrr_end(&w, at);
	return parse_rc(&w);
}

static void test_parse_pointer_hop_limit(void **unused)
{
	(void)unused;
	/* the owner's own pointer is one hop */
	assert_int_equal(parse_pointer_chain(DNS_MAX_POINTER_HOPS - 1), DNS_OK);
	assert_int_equal(parse_pointer_chain(DNS_MAX_POINTER_HOPS), DNS_ERR_POINTER_HOPS);
}

static void test_parse_name_length_limits(void **unused)
{
	(void)unused;
	uint8_t label[64];
	memset(label, 'x', sizeof label);
	struct wire name = {{0}, 0};

	/* 3 x 63 + 61 octets of labels, 4 length bytes, the root: 255 */
	for (int i = 0; i < 3; i++)
		wlabel(&name, label, 63);
	wlabel(&name, label, 61);
	w8(&name, 0);
	assert_int_equal(name.len, 255);
	assert_int_equal(parse_question_name(name.b, name.len), DNS_OK);

	/* one more octet: 256 */
	name.len = 0;
	for (int i = 0; i < 3; i++)
		wlabel(&name, label, 63);
	wlabel(&name, label, 62);
	w8(&name, 0);
	assert_int_equal(parse_question_name(name.b, name.len), DNS_ERR_NAME_TOO_LONG);

	/* far longer */
	name.len = 0;
	for (int i = 0; i < 5; i++)
		wlabel(&name, label, 63);
	w8(&name, 0);
	assert_int_equal(parse_question_name(name.b, name.len), DNS_ERR_NAME_TOO_LONG);

	/* too long only through compression: 128 octets of labels before a
	 * pointer to a question name of 193 */
	struct wire w = {{0}, 0};
	wheader(&w, 9, FLAGS_RESPONSE, 1, 1, 0, 0);
	for (int i = 0; i < 3; i++)
		wlabel(&w, label, 63);
	w8(&w, 0);
	w16(&w, T_A);
	w16(&w, C_IN);
	wlabel(&w, label, 63);
	wlabel(&w, label, 63);
	wptr(&w, 12);
	size_t at = wrr_begin(&w, T_A, 0);
	w32(&w, 0);
	wrr_end(&w, at);
	assert_int_equal(parse_rc(&w), DNS_ERR_NAME_TOO_LONG);
}

static void test_parse_label_longer_than_63(void **unused)
{
	(void)unused;
	uint8_t name[80];
	memset(name, 'x', sizeof name);
	name[0] = 64; /* 0x40: the extended label type, not a length */
	name[65] = 0;
	assert_int_equal(parse_question_name(name, 66), DNS_ERR_LABEL_TYPE);
	name[0] = 0x80;
	assert_int_equal(parse_question_name(name, 66), DNS_ERR_LABEL_TYPE);
}

static void test_parse_rdata_must_fit_its_length(void **unused)
{
	(void)unused;
	struct wire w;
	build_response(&w, 1);
	/* the A record claims 5 bytes of data and has them */
	w.b[w.len - 5] = 5;
	w8(&w, 0);
	assert_int_equal(parse_rc(&w), DNS_ERR_RDATA);

	/* a CNAME whose name runs past its rdlength */
	build_response(&w, 1);
	w.b[44] = 6; /* was 7 */
	assert_int_equal(parse_rc(&w), DNS_ERR_RDATA);
}

/* Records without data: an RFC 2136 update deleting an RRset (class ANY,
 * no rdata) and an inverse query's answer. */
static void test_parse_empty_rdata(void **unused)
{
	(void)unused;
	struct wire w = {{0}, 0};
	wheader(&w, 6, 5u << 11, 1, 0, 1, 0); /* UPDATE: zone, one update */
	wquestion(&w, "example.com", T_SOA, C_IN);
	wlabel(&w, "www", 3);
	wptr(&w, 12);
	w16(&w, T_A);
	w16(&w, 255); /* ANY: delete the RRset */
	w32(&w, 0);
	w16(&w, 0);
	assert_int_equal(parse_rc(&w), DNS_OK);

	w.len = 0;
	wheader(&w, 7, 1u << 11, 0, 1, 0, 0); /* IQUERY */
	wname(&w, "216.58.202.4");
	size_t at = wrr_begin(&w, T_A, 0);
	wrr_end(&w, at);
	int rc;
	struct dns_message *m = parse(&w, &rc);
	assert_int_equal(rc, DNS_OK);
	assert_int_equal(m->n_questions, 0);
	assert_answer(&m->answers[0], "A");
	free(m);
}

static void test_parse_truncated_at_every_offset(void **unused)
{
	(void)unused;
	struct wire whole, cut;
	build_all_types(&whole);
	for (size_t n = 0; n < whole.len; n++) {
		memcpy(cut.b, whole.b, n);
		cut.len = n;
		assert_int_not_equal(parse_rc(&cut), DNS_OK);
	}
	/* trailing bytes after the last record are tolerated */
	whole.b[whole.len++] = 0;
	assert_int_equal(parse_rc(&whole), DNS_OK);
}

static void test_parse_edns_extended_rcode(void **unused)
{
	(void)unused;
	struct wire w = {{0}, 0};
	wheader(&w, 5, 0x8180, 1, 0, 0, 1);
	wquestion(&w, "example.com", T_A, C_IN);
	w8(&w, 0); /* OPT owner: the root */
	w16(&w, DNS_TYPE_OPT);
	w16(&w, 1232);       /* UDP payload size */
	w32(&w, 0x01000000); /* extended rcode 1, version 0 */
	w16(&w, 0);
	int rc;
	struct dns_message *m = parse(&w, &rc);
	assert_int_equal(rc, DNS_OK);
	assert_int_equal(m->rcode, 16);
	char buf[16];
	assert_string_equal(dns_rcode_text(m->rcode, buf, sizeof buf), "BADVERS");
	free(m);
}

static void test_code_names(void **unused)
{
	(void)unused;
	char buf[16];
	assert_string_equal(dns_type_text(T_AAAA, buf, sizeof buf), "AAAA");
	assert_string_equal(dns_type_text(65280, buf, sizeof buf), "TYPE65280");
	assert_string_equal(dns_class_text(C_IN, buf, sizeof buf), "IN");
	assert_string_equal(dns_class_text(42, buf, sizeof buf), "CLASS42");
	assert_string_equal(dns_rcode_text(3, buf, sizeof buf), "NXDOMAIN");
	assert_string_equal(dns_rcode_text(14, buf, sizeof buf), "RCODE14");
	assert_string_equal(dns_opcode_text(5, buf, sizeof buf), "UPDATE");
	assert_null(dns_opcode_name(3));
	assert_string_equal(dns_parse_result_name(DNS_ERR_POINTER), "bad-pointer");
}

/* ---- the probe ---- */

static enum verdict probe_bytes(const void *p, size_t n)
{
	return dns_dissector.probe(rd_init(p, n), DIR_CLIENT);
}

static void test_probe_yes(void **unused)
{
	(void)unused;
	struct wire w;
	build_query(&w, 1, "www.example.com", T_A);
	assert_int_equal(probe_bytes(w.b, w.len), VERDICT_YES);
	build_response(&w, 1);
	assert_int_equal(probe_bytes(w.b, w.len), VERDICT_YES);
	build_all_types(&w);
	assert_int_equal(probe_bytes(w.b, w.len), VERDICT_YES);

	/* an inverse query asks no question but carries an answer */
	w.len = 0;
	wheader(&w, 2, 0x0800, 0, 1, 0, 0);
	w8(&w, 0);
	size_t at = wrr_begin(&w, T_A, 0);
	wbytes(&w, "\x01\x02\x03\x04", 4);
	wrr_end(&w, at);
	assert_int_equal(probe_bytes(w.b, w.len), VERDICT_YES);

	/* the probe reads the header only: a name that loops makes a DNS flow
	 * whose message on_data reports as malformed */
	assert_int_equal(probe_bytes("\0\1\1\0\0\1\0\0\0\0\0\0\xc0\x0c\0\1\0\1", 18), VERDICT_YES);
}

/* The standard query with its header's flags and counts replaced. */
static enum verdict probe_header(unsigned flags, unsigned qd, unsigned an)
{
	struct wire w;
	build_query(&w, 1, "www.example.com", T_A);
	w.b[2] = (uint8_t)(flags >> 8);
	w.b[3] = (uint8_t)flags;
	w.b[4] = (uint8_t)(qd >> 8);
	w.b[5] = (uint8_t)qd;
	w.b[6] = (uint8_t)(an >> 8);
	w.b[7] = (uint8_t)an;
	return probe_bytes(w.b, w.len);
}

static void test_probe_no(void **unused)
{
	(void)unused;
	assert_int_equal(probe_header(FLAGS_QUERY, 1, 0), VERDICT_YES);
	assert_int_equal(probe_header(3u << 11, 1, 0), VERDICT_NO);        /* opcode 3 */
	assert_int_equal(probe_header(7u << 11, 1, 0), VERDICT_NO);        /* opcode 7 */
	assert_int_equal(probe_header(DNS_FLAG_Z, 1, 0), VERDICT_NO);      /* Z bit */
	assert_int_equal(probe_header(FLAGS_QUERY, 0, 0), VERDICT_NO);     /* asks nothing */
	assert_int_equal(probe_header(FLAGS_QUERY | 3, 1, 0), VERDICT_NO); /* rcode */
	assert_int_equal(probe_header(FLAGS_QUERY, 40, 0), VERDICT_NO);    /* questions */
	assert_int_equal(probe_header(0x8000 | 12, 1, 0), VERDICT_NO);     /* rcode 12 */
	/* more records than a message can hold, or than this datagram has */
	assert_int_equal(probe_header(0x8000, 1, 0xffff), VERDICT_NO);
	assert_int_equal(probe_header(0x8000, 1, 3), VERDICT_NO);

	/* text that is no DNS */
	const char *http = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
	assert_int_equal(probe_bytes(http, strlen(http)), VERDICT_NO);
	/* a datagram shorter than a header is all there is */
	assert_int_equal(probe_bytes("\0\1\1\0\0", 5), VERDICT_NO);
	assert_int_equal(probe_bytes(NULL, 0), VERDICT_NO);
}

static void test_probe_need_more(void **unused)
{
	(void)unused;
	struct wire w;
	build_query(&w, 1, "www.example.com", T_A);

	/* the message-level probe (a stream's start may grow) */
	assert_int_equal(dns_probe_message(rd_init(w.b, 5)), VERDICT_NEED_MORE);
	assert_int_equal(dns_probe_message(rd_init(w.b, 12)), VERDICT_NEED_MORE);
	/* a question takes 5 bytes at least */
	assert_int_equal(dns_probe_message(rd_init(w.b, 16)), VERDICT_NEED_MORE);
	assert_int_equal(dns_probe_message(rd_init(w.b, 17)), VERDICT_YES);
	assert_int_equal(dns_probe_message(rd_init(w.b, w.len)), VERDICT_YES);
	/* a datagram cannot grow */
	assert_int_equal(probe_bytes(w.b, 12), VERDICT_NO);
	assert_int_equal(probe_bytes(w.b, 16), VERDICT_NO);
}

/* ---- the dissector ---- */

static void test_query_and_response(void **unused)
{
	(void)unused;
	struct flow f = flow_open(40000, 53);
	struct wire w;

	build_query(&w, 0x1234, "www.example.com", T_A);
	feed(&f, SEC(1000), &w);
	build_response(&w, 0x1234);
	feed(&f, SEC(1000) + 12500, &w);

	char *json = render(&f);
	assert_string_equal(json, "{\"queries\":[{\"id\":4660,\"name\":\"www.example.com\","
	                          "\"qtype\":\"A\",\"qclass\":\"IN\",\"rcode\":\"NOERROR\","
	                          "\"flags\":[\"rd\",\"ra\"],"
	                          "\"answers\":[\"edge.example.com\",\"93.184.216.34\"],"
	                          "\"ttls\":[300,60],\"rtt_ms\":12.500}]}");
	free(json);

	char line[128];
	dns_dissector.summarize(f.state, line, sizeof line);
	assert_string_equal(line, "A www.example.com -> NOERROR edge.example.com (+1)");
	assert_string_equal(dns_protocol_name(f.state), "dns");
	assert_false(session_has_alert(f.s, ALERT_MALFORMED));
	flow_close(&f);
}

static void test_every_type_in_the_record(void **unused)
{
	(void)unused;
	struct flow f = flow_open(40000, 53);
	struct wire w;
	build_all_types(&w);
	feed(&f, SEC(1), &w);

	char *json = render(&f);
	assert_contains(json, "\"name\":\"example.com\",\"qtype\":\"ANY\"");
	for (size_t i = 0; i < 11; i++) {
		char quoted[128];
		snprintf(quoted, sizeof quoted, "\"%s\"", all_types_text[i]);
		assert_contains(json, quoted);
	}
	assert_contains(json, "\"ttls\":[1,2,3,4,5,6,7,8,9,10,11]");
	free(json);
	flow_close(&f);
}

static void test_nxdomain(void **unused)
{
	(void)unused;
	struct flow f = flow_open(40000, 53);
	struct wire w;

	build_query(&w, 77, "nope.example.com", T_AAAA);
	feed(&f, SEC(5), &w);
	/* NXDOMAIN, authoritative, with the zone's SOA in the authority part */
	w.len = 0;
	wheader(&w, 77, 0x8583, 1, 0, 1, 0);
	wquestion(&w, "nope.example.com", T_AAAA, C_IN);
	wptr(&w, 17);
	size_t at = wrr_begin(&w, T_SOA, 900);
	wlabel(&w, "ns", 2);
	wptr(&w, 17);
	wlabel(&w, "hostmaster", 10);
	wptr(&w, 17);
	for (int i = 0; i < 5; i++)
		w32(&w, 1);
	wrr_end(&w, at);
	feed(&f, SEC(5) + 2000, &w);

	char *json = render(&f);
	assert_contains(json, "\"qtype\":\"AAAA\"");
	assert_contains(json, "\"rcode\":\"NXDOMAIN\"");
	assert_contains(json, "\"flags\":[\"rd\",\"ra\",\"aa\"]");
	assert_contains(json, "\"answers\":[],\"ttls\":[],\"rtt_ms\":2.000");
	free(json);

	char line[128];
	dns_dissector.summarize(f.state, line, sizeof line);
	assert_string_equal(line, "AAAA nope.example.com -> NXDOMAIN");
	flow_close(&f);
}

static void test_unanswered_query(void **unused)
{
	(void)unused;
	struct flow f = flow_open(40000, 53);
	struct wire w;
	build_query(&w, 9, "slow.example.com", T_MX);
	feed(&f, SEC(1), &w);
	feed(&f, SEC(2), &w); /* a retransmission is the same transaction */

	char *json = render(&f);
	assert_string_equal(json, "{\"queries\":[{\"id\":9,\"name\":\"slow.example.com\","
	                          "\"qtype\":\"MX\",\"qclass\":\"IN\",\"rcode\":null,"
	                          "\"flags\":[\"rd\"],\"answers\":[],\"ttls\":[],"
	                          "\"rtt_ms\":null}]}");
	free(json);
	char line[128];
	dns_dissector.summarize(f.state, line, sizeof line);
	assert_string_equal(line, "MX slow.example.com -> no response");
	flow_close(&f);
}

static void test_response_without_query(void **unused)
{
	(void)unused;
	struct flow f = flow_open(40000, 53);
	struct wire w;
	build_response(&w, 0xbeef);
	feed(&f, SEC(1), &w);

	char *json = render(&f);
	assert_contains(json, "\"id\":48879,\"name\":\"www.example.com\",\"qtype\":\"A\"");
	assert_contains(json, "\"rcode\":\"NOERROR\"");
	assert_contains(json, "\"rtt_ms\":null");
	free(json);
	flow_close(&f);
}

static void test_matching_by_id_and_question(void **unused)
{
	(void)unused;
	struct flow f = flow_open(40000, 53);
	struct wire w;

	build_query(&w, 1, "www.example.com", T_A);
	feed(&f, SEC(1), &w);
	build_query(&w, 2, "www.example.com", T_A);
	feed(&f, SEC(2), &w);
	/* id 1 again, for another name: a transaction of its own */
	build_query(&w, 1, "other.example.com", T_A);
	feed(&f, SEC(3), &w);
	/* the answer to id 1 in a 0x20-mixed case answers the first query */
	build_response(&w, 1);
	memcpy(w.b + 13, "WwW", 3);
	feed(&f, SEC(4), &w);

	char *json = render(&f);
	assert_contains(json, "{\"id\":1,\"name\":\"www.example.com\",\"qtype\":\"A\","
	                      "\"qclass\":\"IN\",\"rcode\":\"NOERROR\"");
	assert_contains(json, "\"rtt_ms\":3000.000");
	assert_contains(json, "{\"id\":2,\"name\":\"www.example.com\",\"qtype\":\"A\","
	                      "\"qclass\":\"IN\",\"rcode\":null");
	assert_contains(json, "{\"id\":1,\"name\":\"other.example.com\",\"qtype\":\"A\","
	                      "\"qclass\":\"IN\",\"rcode\":null");
	free(json);

	char line[128];
	dns_dissector.summarize(f.state, line, sizeof line);
	assert_string_equal(line, "A www.example.com -> NOERROR edge.example.com (+1) (+2 more)");
	flow_close(&f);
}

static void test_odd_bytes_escaped_only_at_output(void **unused)
{
	(void)unused;
	struct flow f = flow_open(40000, 53);
	struct wire w = {{0}, 0};
	wheader(&w, 3, FLAGS_QUERY, 1, 0, 0, 0);
	wlabel(&w, "a.b", 3);
	wlabel(&w, "x\0\"\x01y", 5);
	wname(&w, "example");
	w16(&w, T_A);
	w16(&w, C_IN);
	feed(&f, SEC(1), &w);

	char *json = render(&f);
	assert_contains(json, "\"name\":\"a.b.x\\u0000\\\"\\u0001y.example\"");
	free(json);
	char line[128];
	dns_dissector.summarize(f.state, line, sizeof line);
	assert_string_equal(line, "A a.b.x\\x00\"\\x01y.example -> no response");
	flow_close(&f);
}

/* Every prefix of a valid response is refused whole: an alert, a count,
 * and nothing in the record. */
static void check_every_prefix(const struct wire *whole)
{
	struct wire cut;
	for (size_t n = 0; n < whole->len; n++) {
		struct flow f = flow_open(40000, 53);
		memcpy(cut.b, whole->b, n);
		cut.len = n;
		feed(&f, SEC(1), &cut);
		assert_true(session_has_alert(f.s, ALERT_MALFORMED));
		assert_int_equal(session_counter_value(f.s, "dns.malformed"), 1);
		char *json = render(&f);
		assert_string_equal(json, "{\"queries\":[]}");
		free(json);
		flow_close(&f);
	}
}

static void test_truncated_at_every_offset(void **unused)
{
	(void)unused;
	struct wire w;
	build_response(&w, 0x1234);
	check_every_prefix(&w);
	build_all_types(&w);
	check_every_prefix(&w);
}

static void test_truncated_response_leaves_query_open(void **unused)
{
	(void)unused;
	struct flow f = flow_open(40000, 53);
	struct wire w;
	build_query(&w, 0x1234, "www.example.com", T_A);
	feed(&f, SEC(1), &w);
	build_response(&w, 0x1234);
	w.len -= 1;
	feed(&f, SEC(2), &w);

	assert_true(session_has_alert(f.s, ALERT_MALFORMED));
	char *json = render(&f);
	assert_contains(json, "\"rcode\":null");
	assert_lacks(json, "93.184");
	free(json);
	flow_close(&f);
}

static void test_malformed_names_alert(void **unused)
{
	(void)unused;
	struct flow f = flow_open(40000, 53);
	struct wire w = {{0}, 0};
	wheader(&w, 1, FLAGS_QUERY, 1, 0, 0, 0);
	wptr(&w, 12);
	w16(&w, T_A);
	w16(&w, C_IN);
	feed(&f, SEC(1), &w);
	assert_true(session_has_alert(f.s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f.s, "dns.malformed"), 1);
	char *json = render(&f);
	assert_string_equal(json, "{\"queries\":[]}");
	free(json);
	flow_close(&f);
}

static void test_transaction_cap(void **unused)
{
	(void)unused;
	struct flow f = flow_open(40000, 53);
	struct wire w;
	const unsigned extra = 6;

	for (unsigned id = 0; id < 64 + extra; id++) {
		build_query(&w, id, "www.example.com", T_A);
		feed(&f, SEC(1) + id, &w);
	}
	/* a response for a kept query still finds it */
	build_response(&w, 63);
	feed(&f, SEC(2), &w);
	/* one without a kept query is left out too */
	build_response(&w, 64);
	feed(&f, SEC(2), &w);

	assert_int_equal(session_counter_value(f.s, "dns.too_many_transactions"), extra + 1);
	char *json = render(&f);
	assert_contains(json, "],\"truncated\":7}");
	assert_contains(json, "{\"id\":63,\"name\":\"www.example.com\",\"qtype\":\"A\","
	                      "\"qclass\":\"IN\",\"rcode\":\"NOERROR\"");
	assert_lacks(json, "\"id\":64,");
	size_t n = 0;
	for (const char *p = json; (p = strstr(p, "\"id\":")); p++)
		n++;
	assert_int_equal(n, 64);
	free(json);

	char line[160];
	dns_dissector.summarize(f.state, line, sizeof line);
	assert_string_equal(line, "A www.example.com -> no response (+70 more)");
	flow_close(&f);
}

static void test_answer_cap(void **unused)
{
	(void)unused;
	struct flow f = flow_open(40000, 53);
	struct wire w = {{0}, 0};
	const unsigned answers = DNS_MAX_ANSWERS + 8;

	wheader(&w, 5, FLAGS_RESPONSE, 1, answers, 0, 0);
	wquestion(&w, "many.example.com", T_A, C_IN);
	for (unsigned i = 0; i < answers; i++) {
		wptr(&w, 12);
		size_t at = wrr_begin(&w, T_A, i);
		w32(&w, 0x0a000000u + i);
		wrr_end(&w, at);
	}
	feed(&f, SEC(1), &w);

	assert_int_equal(session_counter_value(f.s, "dns.too_many_answers"), 1);
	char *json = render(&f);
	assert_contains(json, "\"10.0.0.31\"]");
	assert_lacks(json, "\"10.0.0.32\"");
	assert_contains(json, "\"answers_truncated\":8");
	free(json);
	char line[128];
	dns_dissector.summarize(f.state, line, sizeof line);
	assert_string_equal(line, "A many.example.com -> NOERROR 10.0.0.0 (+39)");
	flow_close(&f);
}

static void test_protocol_by_port(void **unused)
{
	(void)unused;
	static const struct {
		uint16_t client, server;
		const char *name;
	} cases[] = {
	    {40000, 53, "dns"},     {5353, 5353, "mdns"},   {40000, 5353, "mdns"},
	    {40000, 5355, "llmnr"}, {5355, 40000, "llmnr"}, {5353, 53, "dns"},
	};
	struct wire w;
	build_query(&w, 1, "host", T_A);

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct flow f = flow_open(cases[i].client, cases[i].server);
		assert_string_equal(dns_protocol_name(f.state), "dns"); /* before any data */
		feed(&f, SEC(1), &w);
		assert_string_equal(dns_protocol_name(f.state), cases[i].name);
		assert_ptr_equal(dns_dissector.protocol_name, dns_protocol_name);
		flow_close(&f);
	}
}

/* mDNS: a query of two questions with the unicast-response bit, and an
 * announcement (id 0, no question) that answers no query by id. */
static void test_mdns(void **unused)
{
	(void)unused;
	struct flow f = flow_open(5353, 5353);
	struct wire w = {{0}, 0};

	wheader(&w, 0, 0, 2, 0, 0, 0);
	wquestion(&w, "_ipp._tcp.local", T_PTR, 0x8001);
	wlabel(&w, "_ipps", 5);
	wptr(&w, 17); /* _tcp.local */
	w16(&w, T_PTR);
	w16(&w, 0x8001);
	feed(&f, SEC(1), &w);

	w.len = 0;
	wheader(&w, 0, 0x8400, 0, 1, 0, 0);
	wname(&w, "printer.local");
	w16(&w, T_A);
	w16(&w, 0x8001); /* cache flush */
	w32(&w, 120);
	w16(&w, 4);
	wbytes(&w, "\x0a\x00\x02\x07", 4);
	feed(&f, SEC(2), &w);

	char *json = render(&f);
	assert_contains(json, "{\"id\":0,\"name\":\"_ipp._tcp.local\",\"qtype\":\"PTR\","
	                      "\"qclass\":\"IN\",\"rcode\":null");
	assert_contains(json, "\"more_questions\":[{\"name\":\"_ipps._tcp.local\","
	                      "\"qtype\":\"PTR\"}]");
	assert_contains(json, "{\"id\":0,\"name\":null,\"qtype\":null,\"qclass\":null,"
	                      "\"rcode\":\"NOERROR\",\"flags\":[\"aa\"],"
	                      "\"answers\":[\"10.0.2.7\"],\"ttls\":[120],\"rtt_ms\":null}");
	free(json);
	assert_string_equal(dns_protocol_name(f.state), "mdns");
	flow_close(&f);
}

static void test_llmnr_flags(void **unused)
{
	(void)unused;
	struct flow f = flow_open(40000, 5355);
	struct wire w;
	build_query(&w, 0x77, "wpad", T_A);
	w.b[2] = 0x01; /* T (tentative) where DNS has RD */
	feed(&f, SEC(1), &w);
	w.len = 0;
	wheader(&w, 0x77, 0x8400, 1, 1, 0, 0); /* QR, C */
	wquestion(&w, "wpad", T_A, C_IN);
	wptr(&w, 12);
	size_t at = wrr_begin(&w, T_A, 30);
	wbytes(&w, "\xc0\xa8\x01\x02", 4);
	wrr_end(&w, at);
	feed(&f, SEC(1) + 1500, &w);

	char *json = render(&f);
	assert_contains(json, "\"rcode\":\"NOERROR\",\"flags\":[\"c\",\"t\"],"
	                      "\"answers\":[\"192.168.1.2\"],\"ttls\":[30],\"rtt_ms\":1.500");
	free(json);
	assert_string_equal(dns_protocol_name(f.state), "llmnr");
	flow_close(&f);
}

/* ---- DNS over TCP ---- */

/* A TCP flow fed the way the core feeds it (src/dissect.c): each call sees
 * what the dissector left last time followed by the new bytes, and what it
 * does not consume is kept. */
struct stream {
	struct flow f;
	uint8_t pending[2][16384];
	size_t len[2];
};

static struct stream *stream_open(void)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 53}};
	struct stream *st = calloc(1, sizeof *st);
	assert_non_null(st);
	st->f.s = session_detached_new(true, &client, 40000, &server, 53);
	st->f.state = calloc(1, dns_dissector.state_size);
	assert_non_null(st->f.s);
	assert_non_null(st->f.state);
	return st;
}

static void stream_close(struct stream *st)
{
	flow_close(&st->f);
	free(st);
}

static void stream_feed(struct stream *st, enum direction dir, usec_t now, const void *p, size_t n)
{
	assert_true(st->len[dir] + n <= sizeof st->pending[dir]);
	memcpy(st->pending[dir] + st->len[dir], p, n);
	st->len[dir] += n;
	session_set_now(st->f.s, now);
	size_t used = dns_dissector.on_data(st->f.s, st->f.state, dir,
	                                    rd_init(st->pending[dir], st->len[dir]));
	assert_true(used <= st->len[dir]);
	memmove(st->pending[dir], st->pending[dir] + used, st->len[dir] - used);
	st->len[dir] -= used;
}

/* Lost bytes: the core drops what it kept of that direction. */
static void stream_gap(struct stream *st, enum direction dir, size_t missing)
{
	st->len[dir] = 0;
	dns_dissector.on_gap(st->f.s, st->f.state, dir, missing);
}

/* Appends msg to out with its 2-byte length in front. */
static void wtcp(struct wire *out, const struct wire *msg)
{
	w16(out, (unsigned)msg->len);
	wbytes(out, msg->b, msg->len);
}

static size_t count_ids(const char *json)
{
	size_t n = 0;
	for (const char *p = json; (p = strstr(p, "\"id\":")); p++)
		n++;
	return n;
}

static void test_tcp_transport(void **unused)
{
	(void)unused;
	assert_true(dns_dissector.transports & TRANSPORT_BIT_TCP);
	assert_true(dns_dissector.transports & TRANSPORT_BIT_UDP);
	assert_non_null(dns_dissector.on_gap);
}

static void test_tcp_two_messages_in_one_segment(void **unused)
{
	(void)unused;
	struct stream *st = stream_open();
	struct wire msg, seg = {{0}, 0};

	build_query(&msg, 1, "www.example.com", T_A);
	wtcp(&seg, &msg);
	build_query(&msg, 2, "mail.example.com", T_MX);
	wtcp(&seg, &msg);
	stream_feed(st, DIR_CLIENT, SEC(1), seg.b, seg.len);
	assert_int_equal(st->len[DIR_CLIENT], 0);

	seg.len = 0;
	build_response(&msg, 1);
	wtcp(&seg, &msg);
	stream_feed(st, DIR_SERVER, SEC(1) + 4000, seg.b, seg.len);
	assert_int_equal(st->len[DIR_SERVER], 0);

	char *json = render(&st->f);
	assert_string_equal(json, "{\"queries\":[{\"id\":1,\"name\":\"www.example.com\","
	                          "\"qtype\":\"A\",\"qclass\":\"IN\",\"rcode\":\"NOERROR\","
	                          "\"flags\":[\"rd\",\"ra\"],"
	                          "\"answers\":[\"edge.example.com\",\"93.184.216.34\"],"
	                          "\"ttls\":[300,60],\"rtt_ms\":4.000},"
	                          "{\"id\":2,\"name\":\"mail.example.com\",\"qtype\":\"MX\","
	                          "\"qclass\":\"IN\",\"rcode\":null,\"flags\":[\"rd\"],"
	                          "\"answers\":[],\"ttls\":[],\"rtt_ms\":null}]}");
	free(json);
	char line[128];
	dns_dissector.summarize(st->f.state, line, sizeof line);
	assert_string_equal(line, "A www.example.com -> NOERROR edge.example.com (+1) (+1 more)");
	assert_string_equal(dns_protocol_name(st->f.state), "dns");
	assert_false(session_has_alert(st->f.s, ALERT_MALFORMED));
	stream_close(st);
}

static void test_tcp_message_across_two_segments(void **unused)
{
	(void)unused;
	struct stream *st = stream_open();
	struct wire msg, seg = {{0}, 0};

	build_response(&msg, 7);
	wtcp(&seg, &msg);
	stream_feed(st, DIR_SERVER, SEC(1), seg.b, 30);
	char *json = render(&st->f);
	assert_string_equal(json, "{\"queries\":[]}");
	free(json);
	assert_int_equal(st->len[DIR_SERVER], 30); /* kept whole for the next bytes */

	stream_feed(st, DIR_SERVER, SEC(2), seg.b + 30, seg.len - 30);
	assert_int_equal(st->len[DIR_SERVER], 0);
	json = render(&st->f);
	assert_contains(json, "{\"id\":7,\"name\":\"www.example.com\"");
	assert_contains(json, "\"answers\":[\"edge.example.com\",\"93.184.216.34\"]");
	free(json);
	assert_false(session_has_alert(st->f.s, ALERT_MALFORMED));
	stream_close(st);
}

static void test_tcp_length_prefix_split(void **unused)
{
	(void)unused;
	struct stream *st = stream_open();
	struct wire msg, seg = {{0}, 0};

	build_query(&msg, 3, "www.example.com", T_AAAA);
	wtcp(&seg, &msg);
	stream_feed(st, DIR_CLIENT, SEC(1), seg.b, 1);
	assert_int_equal(st->len[DIR_CLIENT], 1);
	stream_feed(st, DIR_CLIENT, SEC(1), seg.b + 1, 1);
	assert_int_equal(st->len[DIR_CLIENT], 2);
	stream_feed(st, DIR_CLIENT, SEC(1), seg.b + 2, seg.len - 2);
	assert_int_equal(st->len[DIR_CLIENT], 0);

	char *json = render(&st->f);
	assert_contains(json, "{\"id\":3,\"name\":\"www.example.com\",\"qtype\":\"AAAA\"");
	assert_int_equal(count_ids(json), 1);
	free(json);
	assert_false(session_has_alert(st->f.s, ALERT_MALFORMED));
	stream_close(st);
}

/* Three messages in one direction (a query, its answer and another query),
 * cut in two at every offset, and fed one byte at a time: the record is the
 * one the unbroken stream gives. */
static void test_tcp_split_at_every_offset(void **unused)
{
	(void)unused;
	struct wire msg, all = {{0}, 0};
	build_query(&msg, 0x1234, "www.example.com", T_A);
	wtcp(&all, &msg);
	build_response(&msg, 0x1234);
	wtcp(&all, &msg);
	build_all_types(&msg);
	wtcp(&all, &msg);

	struct stream *st = stream_open();
	stream_feed(st, DIR_CLIENT, SEC(1), all.b, all.len);
	char *whole = render(&st->f);
	assert_int_equal(count_ids(whole), 2);
	assert_contains(whole, "\"v=spf1 -all second\"");
	stream_close(st);

	for (size_t cut = 0; cut <= all.len; cut++) {
		st = stream_open();
		stream_feed(st, DIR_CLIENT, SEC(1), all.b, cut);
		stream_feed(st, DIR_CLIENT, SEC(1), all.b + cut, all.len - cut);
		assert_int_equal(st->len[DIR_CLIENT], 0);
		char *json = render(&st->f);
		if (strcmp(json, whole) != 0)
			fail_msg("cut at %zu: %s", cut, json);
		free(json);
		assert_false(session_has_alert(st->f.s, ALERT_MALFORMED));
		stream_close(st);
	}

	st = stream_open();
	for (size_t i = 0; i < all.len; i++)
		stream_feed(st, DIR_CLIENT, SEC(1), all.b + i, 1);
	assert_int_equal(st->len[DIR_CLIENT], 0);
	char *json = render(&st->f);
	assert_string_equal(json, whole);
	free(json);
	stream_close(st);
	free(whole);
}

/* A malformed message is refused alone: the framing goes on. */
static void test_tcp_malformed_message_keeps_framing(void **unused)
{
	(void)unused;
	struct stream *st = stream_open();
	struct wire msg, seg = {{0}, 0};

	w16(&seg, 5);
	wbytes(&seg, "\1\2\3\4\5", 5);
	w16(&seg, 0); /* an empty message */
	build_query(&msg, 8, "www.example.com", T_A);
	wtcp(&seg, &msg);
	stream_feed(st, DIR_CLIENT, SEC(1), seg.b, seg.len);

	assert_true(session_has_alert(st->f.s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(st->f.s, "dns.malformed"), 2);
	assert_int_equal(session_counter_value(st->f.s, "dns.tcp_desync"), 0);
	char *json = render(&st->f);
	assert_contains(json, "{\"id\":8,\"name\":\"www.example.com\"");
	assert_int_equal(count_ids(json), 1);
	free(json);
	stream_close(st);
}

/* Bytes lost in the middle of a message: that direction's framing is gone,
 * so it is not parsed again (no made-up messages, no malformed alerts); the
 * other direction goes on. */
static void test_tcp_gap_desyncs_direction(void **unused)
{
	(void)unused;
	struct stream *st = stream_open();
	struct wire msg, seg = {{0}, 0};

	build_query(&msg, 1, "www.example.com", T_A);
	wtcp(&seg, &msg);
	stream_feed(st, DIR_CLIENT, SEC(1), seg.b, 9);
	stream_gap(st, DIR_CLIENT, 10);
	assert_int_equal(session_counter_value(st->f.s, "dns.tcp_desync"), 1);

	/* what follows looks like a message: it is not taken */
	seg.len = 0;
	build_query(&msg, 2, "after.example.com", T_A);
	wtcp(&seg, &msg);
	stream_feed(st, DIR_CLIENT, SEC(2), seg.b, seg.len);
	assert_int_equal(st->len[DIR_CLIENT], 0); /* nothing kept either */
	stream_gap(st, DIR_CLIENT, 5);            /* counted once */
	assert_int_equal(session_counter_value(st->f.s, "dns.tcp_desync"), 1);

	/* the server's side is still in step */
	seg.len = 0;
	build_response(&msg, 1);
	wtcp(&seg, &msg);
	stream_feed(st, DIR_SERVER, SEC(3), seg.b, seg.len);

	char *json = render(&st->f);
	assert_lacks(json, "after.example.com");
	assert_contains(json, "{\"id\":1,\"name\":\"www.example.com\"");
	assert_contains(json, "\"rcode\":\"NOERROR\"");
	assert_int_equal(count_ids(json), 1);
	free(json);
	assert_false(session_has_alert(st->f.s, ALERT_MALFORMED));
	stream_close(st);
}

/* A gap inside an oversize message the framer is skipping leaves it in
 * step: the message after it is read. */
static void test_tcp_gap_inside_skipped_message(void **unused)
{
	(void)unused;
	struct stream *st = stream_open();
	uint8_t big[102] = {0xff, 0xff}; /* 65535 bytes announced: over the cap */

	stream_feed(st, DIR_SERVER, SEC(1), big, sizeof big);
	assert_int_equal(session_counter_value(st->f.s, "dns.tcp_too_big"), 1);
	assert_int_equal(st->len[DIR_SERVER], 0);
	stream_gap(st, DIR_SERVER, 65535 - 100);
	assert_int_equal(session_counter_value(st->f.s, "dns.tcp_desync"), 0);

	struct wire msg, seg = {{0}, 0};
	build_response(&msg, 0x42);
	wtcp(&seg, &msg);
	stream_feed(st, DIR_SERVER, SEC(2), seg.b, seg.len);
	char *json = render(&st->f);
	assert_contains(json, "{\"id\":66,\"name\":\"www.example.com\"");
	free(json);
	assert_false(session_has_alert(st->f.s, ALERT_MALFORMED));
	stream_close(st);
}

/* One zone-transfer response message of n A records (10.0.k.i), with the
 * question or without it (RFC 5936 2.2.1 allows both after the first). */
static void build_axfr_part(struct wire *w, unsigned id, bool question, unsigned k, unsigned n)
{
	w->len = 0;
	wheader(w, id, 0x8480, question ? 1 : 0, n, 0, 0); /* QR AA RA */
	size_t owner = w->len;
	if (question)
		wquestion(w, "example.com", 252, C_IN);
	for (unsigned i = 0; i < n; i++) {
		if (!question && i == 0)
			wname(w, "example.com");
		else
			wptr(w, (unsigned)owner);
		size_t at = wrr_begin(w, T_A, 3600);
		w8(w, 10);
		w8(w, 0);
		w8(w, k);
		w8(w, i);
		wrr_end(w, at);
	}
}

/* An AXFR query answered by three messages (20 + 20 + 5 records, the second
 * without its question), the stream cut inside the second: one transaction,
 * whose answers stop at the cap. */
static void test_tcp_zone_transfer(void **unused)
{
	(void)unused;
	struct stream *st = stream_open();
	struct wire msg, seg = {{0}, 0};

	build_query(&msg, 0x99, "example.com", 252);
	wtcp(&seg, &msg);
	stream_feed(st, DIR_CLIENT, SEC(1), seg.b, seg.len);

	seg.len = 0;
	build_axfr_part(&msg, 0x99, true, 1, 20);
	wtcp(&seg, &msg);
	build_axfr_part(&msg, 0x99, false, 2, 20);
	wtcp(&seg, &msg);
	size_t cut = seg.len - 7;
	build_axfr_part(&msg, 0x99, true, 3, 5);
	wtcp(&seg, &msg);
	stream_feed(st, DIR_SERVER, SEC(1) + 3000, seg.b, cut);
	stream_feed(st, DIR_SERVER, SEC(2), seg.b + cut, seg.len - cut);
	assert_int_equal(st->len[DIR_SERVER], 0);

	char *json = render(&st->f);
	assert_int_equal(count_ids(json), 1);
	assert_contains(json, "{\"id\":153,\"name\":\"example.com\",\"qtype\":\"AXFR\","
	                      "\"qclass\":\"IN\",\"rcode\":\"NOERROR\","
	                      "\"flags\":[\"rd\",\"ra\",\"aa\"],\"answers\":[\"10.0.1.0\",");
	assert_contains(json, "\"10.0.1.19\",\"10.0.2.0\",");
	assert_contains(json, "\"10.0.2.11\"],"); /* 20 + 12: the cap */
	assert_lacks(json, "\"10.0.2.12\"");
	assert_lacks(json, "\"10.0.3.");
	assert_contains(json, "\"rtt_ms\":3.000,\"answers_truncated\":13}");
	free(json);
	assert_int_equal(session_counter_value(st->f.s, "dns.too_many_answers"), 1);
	assert_int_equal(session_counter_value(st->f.s, "dns.too_many_transactions"), 0);

	char line[128];
	dns_dissector.summarize(st->f.state, line, sizeof line);
	assert_string_equal(line, "AXFR example.com -> NOERROR 10.0.1.0 (+44)");
	assert_false(session_has_alert(st->f.s, ALERT_MALFORMED));
	stream_close(st);
}

static void test_tcp_probe(void **unused)
{
	(void)unused;
	struct wire msg, seg = {{0}, 0};
	build_query(&msg, 0x1234, "www.example.com", T_A);
	wtcp(&seg, &msg);

	assert_int_equal(probe_bytes(seg.b, seg.len), VERDICT_YES);
	/* a stream's start: the prefix and a header are enough to tell */
	assert_int_equal(probe_bytes(seg.b, 2 + DNS_HEADER_LEN), VERDICT_YES);
	/* a prefix of the prefix and header may grow */
	assert_int_equal(probe_bytes(seg.b, 1), VERDICT_NEED_MORE);
	assert_int_equal(probe_bytes(seg.b, 2), VERDICT_NEED_MORE);
	assert_int_equal(probe_bytes(seg.b, 7), VERDICT_NEED_MORE);
	assert_int_equal(probe_bytes(seg.b, 2 + DNS_HEADER_LEN - 1), VERDICT_NEED_MORE);

	/* a response, and a message followed by the next */
	seg.len = 0;
	build_response(&msg, 0x1234);
	wtcp(&seg, &msg);
	wtcp(&seg, &msg);
	assert_int_equal(probe_bytes(seg.b, seg.len), VERDICT_YES);

	/* garbage */
	const char *http = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
	assert_int_equal(probe_bytes(http, strlen(http)), VERDICT_NO);
	/* a TLS ClientHello's start */
	static const uint8_t hello[20] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01,
	                                  0x00, 0x01, 0xfc, 0x03, 0x03};
	assert_int_equal(probe_bytes(hello, sizeof hello), VERDICT_NO);
	/* a length too short for a header */
	assert_int_equal(probe_bytes("\0\x0b\0\1\1\0\0\1\0\0\0\0\0\0", 14), VERDICT_NO);
	/* a bad opcode or the Z bit, seen before the header is whole */
	assert_int_equal(probe_bytes("\0\x21\0\1\x18\0", 6), VERDICT_NO);
	assert_int_equal(probe_bytes("\0\x21\0\1\1\x40", 6), VERDICT_NO);
	/* a whole message whose header promises more than it holds */
	seg.len = 0;
	build_query(&msg, 1, "www.example.com", T_A);
	msg.b[7] = 3; /* three answers */
	wtcp(&seg, &msg);
	assert_int_equal(probe_bytes(seg.b, seg.len), VERDICT_NO);
}

static void test_release_of_empty_state(void **unused)
{
	(void)unused;
	void *state = calloc(1, dns_dissector.state_size);
	assert_non_null(state);
	char *json;
	struct json_writer jw;
	json_writer_init(&jw, 4096);
	emit_object_begin(&jw.e, NULL);
	dns_dissector.emit(state, &jw.e);
	emit_object_end(&jw.e);
	json = strdup(json_writer_text(&jw));
	json_writer_free(&jw);
	assert_string_equal(json, "{\"queries\":[]}");
	free(json);
	char line[16] = "x";
	dns_dissector.summarize(state, line, sizeof line);
	assert_string_equal(line, "");
	dns_dissector.release(state);
	free(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_compressed_response),
	    cmocka_unit_test(test_parse_rfc1035_compression_example),
	    cmocka_unit_test(test_parse_every_type_as_text),
	    cmocka_unit_test(test_parse_root_and_odd_labels),
	    cmocka_unit_test(test_parse_pointer_loops),
	    cmocka_unit_test(test_parse_mutual_pointers),
	    cmocka_unit_test(test_parse_pointer_hop_limit),
	    cmocka_unit_test(test_parse_name_length_limits),
	    cmocka_unit_test(test_parse_label_longer_than_63),
	    cmocka_unit_test(test_parse_rdata_must_fit_its_length),
	    cmocka_unit_test(test_parse_empty_rdata),
	    cmocka_unit_test(test_parse_truncated_at_every_offset),
	    cmocka_unit_test(test_parse_edns_extended_rcode),
	    cmocka_unit_test(test_code_names),
	    cmocka_unit_test(test_probe_yes),
	    cmocka_unit_test(test_probe_no),
	    cmocka_unit_test(test_probe_need_more),
	    cmocka_unit_test(test_query_and_response),
	    cmocka_unit_test(test_every_type_in_the_record),
	    cmocka_unit_test(test_nxdomain),
	    cmocka_unit_test(test_unanswered_query),
	    cmocka_unit_test(test_response_without_query),
	    cmocka_unit_test(test_matching_by_id_and_question),
	    cmocka_unit_test(test_odd_bytes_escaped_only_at_output),
	    cmocka_unit_test(test_truncated_at_every_offset),
	    cmocka_unit_test(test_truncated_response_leaves_query_open),
	    cmocka_unit_test(test_malformed_names_alert),
	    cmocka_unit_test(test_transaction_cap),
	    cmocka_unit_test(test_answer_cap),
	    cmocka_unit_test(test_protocol_by_port),
	    cmocka_unit_test(test_mdns),
	    cmocka_unit_test(test_llmnr_flags),
	    cmocka_unit_test(test_release_of_empty_state),
	    cmocka_unit_test(test_tcp_transport),
	    cmocka_unit_test(test_tcp_two_messages_in_one_segment),
	    cmocka_unit_test(test_tcp_message_across_two_segments),
	    cmocka_unit_test(test_tcp_length_prefix_split),
	    cmocka_unit_test(test_tcp_split_at_every_offset),
	    cmocka_unit_test(test_tcp_malformed_message_keeps_framing),
	    cmocka_unit_test(test_tcp_gap_desyncs_direction),
	    cmocka_unit_test(test_tcp_gap_inside_skipped_message),
	    cmocka_unit_test(test_tcp_zone_transfer),
	    cmocka_unit_test(test_tcp_probe),
	};
	return cmocka_run_group_tests_name("dns", tests, NULL, NULL);
}
