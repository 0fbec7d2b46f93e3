/* RDP (dissectors/rdp.c): TPKT / X.224 connection requests and confirms,
 * MCS connect data and RDPEUDP datagrams built field by field, fed the way
 * the core feeds a stream, and the record read back as JSON. */
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
#include "portolan/session.h"

extern const struct dissector rdp_dissector;
#define D rdp_dissector

/* ---- a stream the way src/dissect.c drives it ---- */

struct flow {
	struct session *s;
	void *state;
	uint8_t *pending[2];
	size_t len[2];
};

static struct flow *flow_open_on(bool tcp)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 33}};
	struct flow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->s = session_detached_new(tcp, &client, 40000, &server, 3389);
	f->state = calloc(1, D.state_size);
	assert_non_null(f->s);
	assert_non_null(f->state);
	return f;
}

static struct flow *flow_open(void)
{
	return flow_open_on(true);
}

static void flow_close(struct flow *f)
{
	D.release(f->state);
	free(f->state);
	free(f->pending[0]);
	free(f->pending[1]);
	session_detached_free(f->s);
	free(f);
}

static void feed(struct flow *f, enum direction dir, const void *data, size_t n)
{
	uint8_t *p = realloc(f->pending[dir], f->len[dir] + n + 1);
	assert_non_null(p);
	if (n)
		memcpy(p + f->len[dir], data, n);
	f->pending[dir] = p;
	f->len[dir] += n;
	while (f->len[dir]) {
		size_t used = D.on_data(f->s, f->state, dir, rd_init(f->pending[dir], f->len[dir]));
		assert_true(used <= f->len[dir]);
		if (used == 0)
			break;
		memmove(f->pending[dir], f->pending[dir] + used, f->len[dir] - used);
		f->len[dir] -= used;
		if (session_handoff_target(f->s))
			break; /* the rest is the TLS dissector's */
	}
}

static void gap(struct flow *f, enum direction dir, size_t missing)
{
	f->len[dir] = 0;
	D.on_gap(f->s, f->state, dir, missing);
}

static char *render(const struct flow *f)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	D.emit(f->state, &jw.e);
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

/* ---- building messages ---- */

struct buf {
	uint8_t b[4096];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof b->b);
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put_u8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put_le16(struct buf *b, uint16_t v)
{
	put_u8(b, (uint8_t)v);
	put_u8(b, (uint8_t)(v >> 8));
}

static void put_le32(struct buf *b, uint32_t v)
{
	put_le16(b, (uint16_t)v);
	put_le16(b, (uint16_t)(v >> 16));
}

/* A TPKT around an X.224 CR (0xe0) or CC (0xd0) with a variable part. */
static void put_x224(struct buf *b, uint8_t code, const void *var, size_t n)
{
	size_t len = 4 + 7 + n;
	uint8_t h[11] = {
	    3, 0, (uint8_t)(len >> 8), (uint8_t)len, (uint8_t)(6 + n), code, 0, 0, 0x12, 0x34, 0};
	put(b, h, sizeof h);
	put(b, var, n);
}

static void put_neg(struct buf *b, uint8_t type, uint8_t flags, uint32_t v)
{
	put_u8(b, type);
	put_u8(b, flags);
	put_le16(b, 8);
	put_le32(b, v);
}

/* A client CR with a cookie and a negotiation request. */
static void put_cr(struct buf *b, const char *cookie, bool neg, uint32_t requested)
{
	struct buf v = {.n = 0};
	if (cookie)
		put(&v, cookie, strlen(cookie));
	if (neg)
		put_neg(&v, 1, 0, requested);
	put_x224(b, 0xe0, v.b, v.n);
}

static void put_cc(struct buf *b, int type, uint8_t flags, uint32_t v)
{
	struct buf var = {.n = 0};
	if (type)
		put_neg(&var, (uint8_t)type, flags, v);
	put_x224(b, 0xd0, var.b, var.n);
}

/* X.224 Data with an MCS Connect Initial (client) or Response (server)
 * holding GCC user data blocks (the BER/PER around them is filler here:
 * the dissector finds the blocks by their headers). */
static void put_mcs(struct buf *b, bool client)
{
	struct buf m = {.n = 0};
	put_u8(&m, 0x7f);
	put_u8(&m, client ? 0x65 : 0x66);
	static const uint8_t filler[24] = {0x82, 0x01, 0x80, 0x04, 0x01, 0x01, 0x04, 0x01,
	                                   0x01, 0x01, 0x01, 0xff, 0x30, 0x19, 0x02, 0x01,
	                                   0x22, 0x02, 0x01, 0x02, 0x00, 0x05, 0x00, 0x14};
	put(&m, filler, sizeof filler);
	if (client) {
		put_le16(&m, 0xc001); /* CS_CORE */
		put_le16(&m, 136);
		put_le32(&m, 0x00080004);
		put_le16(&m, 1920);
		put_le16(&m, 1080);
		put_le16(&m, 0xca01);
		put_le16(&m, 0xaa03);
		put_le32(&m, 0x409);
		put_le32(&m, 9600);
		const char *name = "JOHN-PC-LAPTOP";
		for (int i = 0; i < 16; i++)
			put_le16(&m, i < (int)strlen(name) ? (uint16_t)name[i] : 0);
		put_le32(&m, 4);
		put_le32(&m, 0);
		put_le32(&m, 12);
		for (int i = 0; i < 64; i++)
			put_u8(&m, 0);
		put_le16(&m, 0xc002); /* CS_SECURITY */
		put_le16(&m, 12);
		put_le32(&m, 0x1b);
		put_le32(&m, 0);
	} else {
		put_le16(&m, 0x0c01); /* SC_CORE */
		put_le16(&m, 8);
		put_le32(&m, 0x00080004);
		put_le16(&m, 0x0c02); /* SC_SECURITY */
		put_le16(&m, 12);
		put_le32(&m, 2);
		put_le32(&m, 2);
	}
	size_t len = 4 + 3 + m.n;
	uint8_t h[7] = {3, 0, (uint8_t)(len >> 8), (uint8_t)len, 2, 0xf0, 0x80};
	put(b, h, sizeof h);
	put(b, m.b, m.n);
}

/* A standard-security session: CR, CC, connect initial and response, a
 * fast-path PDU each way. */
static void standard_session(struct buf *c, struct buf *v)
{
	c->n = v->n = 0;
	put_cr(c, "Cookie: mstshash=JOHN-PC\r\n", true, 0);
	put_mcs(c, true);
	put(c, "\x04\x06\x01\x02\x03\x04", 6);
	put_cc(v, 2, 0x01, 0);
	put_mcs(v, false);
	put(v, "\x00\x80\x05\x01\x02", 5);
}

static char *session_text(const struct buf *c, const struct buf *v)
{
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, c->b, c->n);
	feed(f, DIR_SERVER, v->b, v->n);
	char *t = render(f);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
	return t;
}

/* ---- tests ---- */

static enum verdict probe(const struct buf *b, size_t n, enum direction dir)
{
	return D.probe(rd_init(b->b, n), dir);
}

static void test_probe(void **unused)
{
	(void)unused;
	struct buf b = {.n = 0};
	put_cr(&b, "Cookie: mstshash=x\r\n", true, 3);
	assert_int_equal(probe(&b, b.n, DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe(&b, b.n, DIR_SERVER), VERDICT_NO);
	for (size_t i = 0; i < 19; i++)
		assert_int_equal(probe(&b, i, DIR_CLIENT), VERDICT_NEED_MORE);
	b.n = 0;
	put_cr(&b, NULL, true, 0xb);
	assert_int_equal(probe(&b, b.n, DIR_CLIENT), VERDICT_YES);
	b.n = 0;
	put_cr(&b, NULL, false, 0);
	assert_int_equal(probe(&b, b.n, DIR_CLIENT), VERDICT_YES);
	b.n = 0;
	put_cc(&b, 2, 0, 2);
	assert_int_equal(probe(&b, b.n, DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe(&b, b.n, DIR_CLIENT), VERDICT_NO);
	/* S7comm's COTP connection request carries TSAPs */
	static const uint8_t s7[] = {3,    0, 0, 0x16, 0x11, 0xe0, 0, 0, 0,    1, 0,
	                             0xc1, 2, 1, 0,    0xc2, 2,    1, 2, 0xc0, 1, 0x0a};
	assert_int_equal(D.probe(rd_init(s7, sizeof s7), DIR_CLIENT), VERDICT_NO);
	/* other protocols' first bytes */
	assert_int_equal(D.probe(rd_init("GET / HTTP/1.1\r\n", 16), DIR_CLIENT), VERDICT_NO);
	assert_int_equal(D.probe(rd_init("SSH-2.0-x\r\n", 11), DIR_SERVER), VERDICT_NO);
	assert_int_equal(D.probe(rd_init("\x16\x03\x01\x02\x00\x01\x00", 7), DIR_CLIENT),
	                 VERDICT_NO);
	assert_int_equal(D.probe(rd_init("\x12\x01\x00\x2f\x00\x00\x01\x00", 8), DIR_CLIENT),
	                 VERDICT_NO);
	assert_int_equal(D.probe(rd_init("\x03\x01\x00\x13", 4), DIR_CLIENT), VERDICT_NO);
	assert_int_equal(D.probe(rd_init("", 0), DIR_CLIENT), VERDICT_NEED_MORE);
	/* a DNS query over UDP */
	static const uint8_t dns[] = {0x12, 0x34, 1, 0,   0, 1, 0, 0, 0, 0,
	                              0,    0,    1, 'a', 0, 0, 1, 0, 1};
	assert_int_equal(D.probe(rd_init(dns, sizeof dns), DIR_CLIENT), VERDICT_NO);
}

static void test_nla_hands_off_to_tls(void **unused)
{
	(void)unused;
	struct buf c = {.n = 0}, v = {.n = 0};
	put_cr(&c, "Cookie: mstshash=AWAKECODI\r\n", true, 0x3);
	put_cc(&v, 2, 0x1f, 2);
	put(&v, "\x16\x03\x01\x00\x05hello", 10);
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	feed(f, DIR_SERVER, v.b, v.n);
	/* the bytes after the confirm are left for TLS */
	assert_int_equal(f->len[DIR_SERVER], 10);
	assert_string_equal(session_handoff_target(f->s), "tls");
	char *t = render(f);
	assert_contains(t, "\"cookie\":\"AWAKECODI\"");
	assert_contains(t, "\"cookie_line\":\"mstshash=AWAKECODI\"");
	assert_contains(t, "\"requested_protocols\":[\"SSL\",\"HYBRID\"]");
	assert_contains(t, "\"selected_protocol\":\"HYBRID\"");
	assert_contains(t, "\"security\":\"nla\"");
	assert_contains(t, "\"response_flags\":[\"EXTENDED_CLIENT_DATA_SUPPORTED\","
	                   "\"DYNVC_GFX_PROTOCOL_SUPPORTED\",\"NEGRSP_FLAG_RESERVED\","
	                   "\"RESTRICTED_ADMIN_MODE_SUPPORTED\","
	                   "\"REDIRECTED_AUTHENTICATION_MODE_SUPPORTED\"]");
	assert_contains(t, "\"pdus\":{\"client\":1,\"server\":1}");
	assert_false(session_has_alert(f->s, ALERT_WEAK_SECURITY));
	char line[128];
	D.summarize(f->state, line, sizeof line);
	assert_string_equal(line, "mstshash=AWAKECODI -> HYBRID (nla)");
	free(t);
	flow_close(f);
}

static void test_requested_protocol_names(void **unused)
{
	(void)unused;
	struct buf c = {.n = 0}, v = {.n = 0};
	put_cr(&c, NULL, true, 0x1f | 0x100);
	put_cc(&v, 2, 0, 0x10);
	char *t = session_text(&c, &v);
	assert_contains(t, "\"cookie\":null");
	assert_contains(t, "\"requested_protocols\":[\"SSL\",\"HYBRID\",\"RDSTLS\",\"HYBRID_EX\","
	                   "\"RDSAAD\",\"0x100\"]");
	assert_contains(t, "\"selected_protocol\":\"RDSAAD\"");
	assert_contains(t, "\"security\":\"tls\"");
	free(t);
}

static void test_standard_security(void **unused)
{
	(void)unused;
	struct buf c, v;
	standard_session(&c, &v);
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	feed(f, DIR_SERVER, v.b, v.n);
	assert_true(session_has_alert(f->s, ALERT_WEAK_SECURITY));
	assert_null(session_handoff_target(f->s));
	char *t = render(f);
	assert_contains(t, "\"cookie\":\"JOHN-PC\"");
	assert_contains(t, "\"requested_protocols\":[\"RDP\"]");
	assert_contains(t, "\"selected_protocol\":\"RDP\"");
	assert_contains(t, "\"security\":\"standard\"");
	assert_contains(t, "\"client\":{\"name\":\"JOHN-PC-LAPTOP\",\"build\":9600,"
	                   "\"keyboard_layout\":\"0x00000409\",\"version\":\"0x00080004\","
	                   "\"desktop_width\":1920,\"desktop_height\":1080}");
	assert_contains(t, "\"client_encryption_methods\":[\"40BIT\",\"128BIT\",\"56BIT\","
	                   "\"FIPS\"]");
	assert_contains(t, "\"encryption_method\":\"128BIT\"");
	assert_contains(t, "\"encryption_level\":\"CLIENT_COMPATIBLE\"");
	assert_contains(t, "\"pdus\":{\"client\":3,\"server\":3}");
	char line[128];
	D.summarize(f->state, line, sizeof line);
	assert_string_equal(line, "mstshash=JOHN-PC -> RDP (standard) client JOHN-PC-LAPTOP");
	free(t);
	flow_close(f);
}

static void test_no_negotiation_is_standard(void **unused)
{
	(void)unused;
	struct buf c = {.n = 0}, v = {.n = 0};
	put_cr(&c, "Cookie: mstshash=A70067\r\n", false, 0);
	put_cc(&v, 0, 0, 0);
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	feed(f, DIR_SERVER, v.b, v.n);
	assert_true(session_has_alert(f->s, ALERT_WEAK_SECURITY));
	char *t = render(f);
	assert_contains(t, "\"requested_protocols\":null");
	assert_contains(t, "\"selected_protocol\":\"RDP\"");
	free(t);
	flow_close(f);
}

static void test_failure(void **unused)
{
	(void)unused;
	struct buf c = {.n = 0}, v = {.n = 0};
	put_cr(&c, "Cookie: mstshash=FTBCO\\A70\r\n", true, 1);
	put_cc(&v, 3, 0, 2);
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	feed(f, DIR_SERVER, v.b, v.n);
	char *t = render(f);
	assert_contains(t, "\"cookie\":\"FTBCO\\\\A70\"");
	assert_contains(t, "\"failure\":\"SSL_NOT_ALLOWED_BY_SERVER\"");
	assert_contains(t, "\"selected_protocol\":null");
	assert_lacks(t, "\"security\":\"");
	assert_false(session_has_alert(f->s, ALERT_WEAK_SECURITY));
	char line[128];
	D.summarize(f->state, line, sizeof line);
	/* the wire's backslash (a DOMAIN\\user cookie) doubled in text output */
	assert_string_equal(line, "mstshash=FTBCO\\\\A70 -> failure SSL_NOT_ALLOWED_BY_SERVER");
	free(t);
	flow_close(f);
}

static void test_routing_token_and_correlation(void **unused)
{
	(void)unused;
	struct buf var = {.n = 0}, c = {.n = 0};
	put(&var, "Cookie: msts=3640205228.15629.0000\r\n", 36);
	put_u8(&var, 1);
	put_u8(&var, 0x08);
	put_le16(&var, 8);
	put_le32(&var, 3);
	put_u8(&var, 6);
	put_u8(&var, 0);
	put_le16(&var, 36);
	for (int i = 0; i < 16; i++)
		put_u8(&var, (uint8_t)i);
	for (int i = 0; i < 16; i++)
		put_u8(&var, 0);
	put_x224(&c, 0xe0, var.b, var.n);
	assert_int_equal(D.probe(rd_init(c.b, c.n), DIR_CLIENT), VERDICT_YES);
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	char *t = render(f);
	assert_contains(t, "\"cookie\":\"msts=3640205228.15629.0000\"");
	assert_contains(t, "\"routing_token\":\"3640205228.15629.0000\"");
	assert_contains(t, "\"request_flags\":[\"CORRELATION_INFO_PRESENT\"]");
	assert_contains(t, "\"correlation_id\":\"000102030405060708090a0b0c0d0e0f\"");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(t);
	flow_close(f);
}

static void test_every_split(void **unused)
{
	(void)unused;
	struct buf c, v;
	standard_session(&c, &v);
	char *whole = session_text(&c, &v);
	for (size_t i = 0; i <= c.n; i++) {
		struct flow *f = flow_open();
		size_t j = i < v.n ? i : v.n;
		feed(f, DIR_CLIENT, c.b, i);
		feed(f, DIR_SERVER, v.b, j);
		feed(f, DIR_CLIENT, c.b + i, c.n - i);
		feed(f, DIR_SERVER, v.b + j, v.n - j);
		char *t = render(f);
		if (strcmp(t, whole) != 0)
			fail_msg("split at %zu: %s\nwhole: %s", i, t, whole);
		free(t);
		flow_close(f);
	}
	struct flow *f = flow_open();
	for (size_t i = 0; i < c.n; i++)
		feed(f, DIR_CLIENT, c.b + i, 1);
	for (size_t i = 0; i < v.n; i++)
		feed(f, DIR_SERVER, v.b + i, 1);
	char *t = render(f);
	assert_string_equal(t, whole);
	free(t);
	flow_close(f);
	free(whole);
}

static void test_every_truncation(void **unused)
{
	(void)unused;
	struct buf c, v;
	standard_session(&c, &v);
	for (size_t i = 0; i <= c.n; i++) {
		struct flow *f = flow_open();
		feed(f, DIR_CLIENT, c.b, i);
		feed(f, DIR_SERVER, v.b, i < v.n ? i : v.n);
		char *t = render(f);
		if (i >= 45)
			assert_contains(t, "\"cookie\":\"JOHN-PC\"");
		else
			assert_contains(t, "\"cookie\":null");
		free(t);
		assert_false(session_has_alert(f->s, ALERT_MALFORMED));
		flow_close(f);
	}
}

static void test_malformed(void **unused)
{
	(void)unused;
	/* not a TPKT at all */
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, "\x01\x02\x03\x04", 4);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "rdp.bad_tpkt"), 1);
	feed(f, DIR_CLIENT, "more", 4);
	assert_int_equal(f->len[DIR_CLIENT], 0);
	flow_close(f);

	/* a negotiation request of a wrong length */
	struct buf var = {.n = 0}, c = {.n = 0};
	put_u8(&var, 1);
	put_u8(&var, 0);
	put_le16(&var, 9);
	put_le32(&var, 3);
	put_x224(&c, 0xe0, var.b, var.n);
	f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	assert_int_equal(session_counter_value(f->s, "rdp.bad_negotiation"), 1);
	flow_close(f);

	/* an X.224 length indicator past the TPKT */
	f = flow_open();
	feed(f, DIR_CLIENT, "\x03\x00\x00\x07\x20\xe0\x00", 7);
	assert_int_equal(session_counter_value(f->s, "rdp.bad_x224"), 1);
	flow_close(f);
}

static void test_caps(void **unused)
{
	(void)unused;
	/* a cookie over the cap is kept cut */
	char cookie[200];
	memcpy(cookie, "Cookie: mstshash=", 17);
	memset(cookie + 17, 'u', sizeof cookie - 20);
	memcpy(cookie + sizeof cookie - 3, "\r\n", 3);
	struct buf c = {.n = 0};
	put_cr(&c, cookie, true, 0);
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	assert_int_equal(session_counter_value(f->s, "rdp.cookie_too_long"), 1);
	flow_close(f);

	/* an oversize TPKT is skipped; the next one is read */
	f = flow_open();
	static uint8_t big[40000];
	big[0] = 3;
	big[2] = 40000 >> 8;
	big[3] = 40000 & 0xff;
	feed(f, DIR_CLIENT, big, sizeof big);
	c.n = 0;
	put_cr(&c, "Cookie: mstshash=after\r\n", false, 0);
	feed(f, DIR_CLIENT, c.b, c.n);
	char *t = render(f);
	assert_contains(t, "\"cookie\":\"after\"");
	assert_int_equal(session_counter_value(f->s, "rdp.pdu_too_big"), 1);
	free(t);
	flow_close(f);
}

static void test_gaps(void **unused)
{
	(void)unused;
	struct buf c, v;
	standard_session(&c, &v);
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, 50);
	gap(f, DIR_CLIENT, 30);
	feed(f, DIR_CLIENT, c.b + 80, c.n - 80);
	assert_int_equal(f->len[DIR_CLIENT], 0);
	char *t = render(f);
	assert_contains(t, "\"gap\":true");
	assert_contains(t, "\"cookie\":\"JOHN-PC\"");
	assert_lacks(t, "JOHN-PC-LAPTOP");
	free(t);
	flow_close(f);
}

/* RDPEUDP: a SYN padded to 1232 bytes, the SYN+ACK, data carrying TLS. */
static void put_udp_syn(struct buf *b, bool ack)
{
	b->n = 0;
	put(b, ack ? "\x12\x34\x56\x78" : "\xff\xff\xff\xff", 4);
	put(b, "\x00\x40", 2);
	put(b, ack ? "\x00\x05" : "\x00\x01", 2);
	put(b, "\xbb\xff\x56\x87\x04\xd0\x04\xd0", 8);
	while (b->n < 1232)
		put_u8(b, 0);
}

static void test_udp(void **unused)
{
	(void)unused;
	struct buf syn, synack;
	put_udp_syn(&syn, false);
	put_udp_syn(&synack, true);
	assert_int_equal(D.probe(rd_init(syn.b, syn.n), DIR_CLIENT), VERDICT_YES);
	assert_int_equal(D.probe(rd_init(synack.b, synack.n), DIR_SERVER), VERDICT_YES);
	assert_int_equal(D.probe(rd_init(syn.b, 100), DIR_CLIENT), VERDICT_NO);
	static const uint8_t data[] = {0x10, 0x97, 0x60, 0x33, 0x04, 0x00, 0x00, 0x0c, 0x00,
	                               0x01, 0x00, 0x00, 0xe6, 0x5f, 0x84, 0x6d, 0xe6, 0x5f,
	                               0x84, 0x6d, 0x16, 0x03, 0x03, 0x01, 0x06, 0x10};
	static const uint8_t dtls[] = {0xc7, 0x6d, 0x5c, 0x17, 0x04, 0x00, 0x00, 0x0c,
	                               0x00, 0x00, 0x00, 0x00, 0x9f, 0xd6, 0x75, 0x2c,
	                               0x9f, 0xd6, 0x75, 0x2c, 0x16, 0xfe, 0xff, 0x00};
	assert_int_equal(D.probe(rd_init(data, sizeof data), DIR_CLIENT), VERDICT_YES);
	assert_int_equal(D.probe(rd_init(dtls, sizeof dtls), DIR_CLIENT), VERDICT_YES);
	for (size_t i = 0; i < 23; i++)
		assert_int_equal(D.probe(rd_init(data, i), DIR_CLIENT),
		                 i == 0 ? VERDICT_NEED_MORE : VERDICT_NO);

	struct flow *f = flow_open_on(false);
	D.on_data(f->s, f->state, DIR_CLIENT, rd_init(syn.b, syn.n));
	D.on_data(f->s, f->state, DIR_SERVER, rd_init(synack.b, synack.n));
	D.on_data(f->s, f->state, DIR_CLIENT, rd_init(dtls, sizeof dtls));
	D.on_data(f->s, f->state, DIR_CLIENT, rd_init("\x01\x02", 2));
	char *t = render(f);
	assert_contains(t, "\"transport\":\"udp\"");
	assert_contains(t, "\"syn\":true,\"syn_ack\":true");
	assert_contains(t, "\"flags\":[\"SYN\",\"ACK\",\"DATA\"]");
	assert_contains(t, "\"upstream_mtu\":1232,\"downstream_mtu\":1232");
	assert_contains(t, "\"datagrams\":{\"client\":3,\"server\":1}");
	assert_contains(t, "\"encryption\":\"dtls\"");
	char line[64];
	D.summarize(f->state, line, sizeof line);
	assert_string_equal(line, "RDPEUDP dtls");
	free(t);
	flow_close(f);
}

static void test_release_of_empty_state(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	char *t = render(f);
	assert_contains(t, "\"cookie\":null,\"requested_protocols\":null,"
	                   "\"selected_protocol\":null");
	free(t);
	flow_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_nla_hands_off_to_tls),
	    cmocka_unit_test(test_requested_protocol_names),
	    cmocka_unit_test(test_standard_security),
	    cmocka_unit_test(test_no_negotiation_is_standard),
	    cmocka_unit_test(test_failure),
	    cmocka_unit_test(test_routing_token_and_correlation),
	    cmocka_unit_test(test_every_split),
	    cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_gaps),
	    cmocka_unit_test(test_udp),
	    cmocka_unit_test(test_release_of_empty_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
