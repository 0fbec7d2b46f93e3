/* SNMP v1, v2c and v3 (dissectors/snmp.c) on messages built here element
 * by element, plus one literal minimal encoding. */
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

extern const struct dissector snmp_dissector;

/* ---- building messages (lengths in the 2-octet long form, which BER
 * allows; the literal test below uses the minimal form) ---- */

struct wire {
	uint8_t b[8192];
	size_t len;
	size_t open[16];
	int depth;
};

static void w8(struct wire *w, unsigned v)
{
	assert_true(w->len < sizeof w->b);
	w->b[w->len++] = (uint8_t)v;
}

static void wbytes(struct wire *w, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		w8(w, ((const uint8_t *)p)[i]);
}

static void begin(struct wire *w, unsigned id)
{
	w8(w, id);
	w8(w, 0x82);
	w->open[w->depth++] = w->len;
	w8(w, 0);
	w8(w, 0);
}

static void end(struct wire *w)
{
	size_t at = w->open[--w->depth];
	size_t n = w->len - at - 2;
	w->b[at] = (uint8_t)(n >> 8);
	w->b[at + 1] = (uint8_t)n;
}

static void wint(struct wire *w, int64_t v)
{
	uint8_t tmp[8];
	int n = 8;
	for (int i = 7; i >= 0; i--, v >>= 8)
		tmp[i] = (uint8_t)v;
	int skip = 0;
	while (skip < 7 && ((tmp[skip] == 0 && !(tmp[skip + 1] & 0x80)) ||
	                    (tmp[skip] == 0xff && (tmp[skip + 1] & 0x80))))
		skip++;
	w8(w, 0x02);
	w8(w, (unsigned)(n - skip));
	wbytes(w, tmp + skip, (size_t)(n - skip));
}

static void wstr(struct wire *w, unsigned id, const void *p, size_t n)
{
	begin(w, id);
	wbytes(w, p, n);
	end(w);
}

/* OIDs here have arcs below 128 except where written by hand. */
static void woid(struct wire *w, const char *dotted)
{
	unsigned arcs[256] = {0}, n = 0;
	const char *p = dotted;
	while (*p) {
		arcs[n++] = (unsigned)strtoul(p, (char **)&p, 10);
		if (*p == '.')
			p++;
	}
	begin(w, 0x06);
	w8(w, arcs[0] * 40 + arcs[1]);
	for (unsigned i = 2; i < n; i++) {
		if (arcs[i] >= 128)
			w8(w, 0x80 | arcs[i] >> 7);
		w8(w, arcs[i] & 0x7f);
	}
	end(w);
}

static void wvarbinds(struct wire *w, const char *const *oids, unsigned n)
{
	begin(w, 0x30);
	for (unsigned i = 0; i < n; i++) {
		begin(w, 0x30);
		woid(w, oids[i]);
		w8(w, 0x05);
		w8(w, 0x00);
		end(w);
	}
	end(w);
}

/* A v1/v2c message with a standard PDU. */
static void community_msg(struct wire *w, int version, const char *community, unsigned pdu,
                          int64_t id, int64_t err, int64_t idx, const char *const *oids, unsigned n)
{
	memset(w, 0, sizeof *w);
	begin(w, 0x30);
	wint(w, version);
	wstr(w, 0x04, community, strlen(community));
	begin(w, 0xa0 | pdu);
	wint(w, id);
	wint(w, err);
	wint(w, idx);
	wvarbinds(w, oids, n);
	end(w);
	end(w);
}

#define FLAG_AUTH 1
#define FLAG_PRIV 2
#define FLAG_REPORTABLE 4

static const uint8_t engine[] = {0x80, 0x00, 0x1f, 0x88, 0x80, 0xa9, 0x49};

/* A v3 message with USM parameters; a plaintext PDU unless priv. */
static void v3_msg(struct wire *w, unsigned flags, const char *user, bool with_engine, unsigned pdu,
                   int64_t id, const char *const *oids, unsigned n)
{
	memset(w, 0, sizeof *w);
	begin(w, 0x30);
	wint(w, 3);
	begin(w, 0x30);
	wint(w, 12345);
	wint(w, 65507);
	uint8_t f = (uint8_t)flags;
	wstr(w, 0x04, &f, 1);
	wint(w, 3);
	end(w);
	begin(w, 0x04);
	begin(w, 0x30);
	wstr(w, 0x04, engine, with_engine ? sizeof engine : 0);
	wint(w, 7);
	wint(w, 1234);
	wstr(w, 0x04, user, strlen(user));
	wstr(w, 0x04, (flags & FLAG_AUTH) ? "123456789012" : "", (flags & FLAG_AUTH) ? 12 : 0);
	wstr(w, 0x04, (flags & FLAG_PRIV) ? "saltsalt" : "", (flags & FLAG_PRIV) ? 8 : 0);
	end(w);
	end(w);
	if (flags & FLAG_PRIV) {
		wstr(w, 0x04, "\x9a\x41\x00\xfe ciphertext", 15);
	} else {
		begin(w, 0x30);
		wstr(w, 0x04, engine, sizeof engine);
		wstr(w, 0x04, "", 0);
		begin(w, 0xa0 | pdu);
		wint(w, id);
		wint(w, 0);
		wint(w, 0);
		wvarbinds(w, oids, n);
		end(w);
		end(w);
	}
	end(w);
}

/* ---- a flow ---- */

struct flow {
	struct session *s;
	void *state;
};

static void flow_open(struct flow *f, bool show)
{
	struct ip_addr c = {0}, sv = {0};
	(void)show;
	f->s = session_detached_new(false, &c, 40000, &sv, 161);
	assert_non_null(f->s);
	f->state = calloc(1, snmp_dissector.state_size);
	assert_non_null(f->state);
}

static void flow_close(struct flow *f)
{
	snmp_dissector.on_end ? snmp_dissector.on_end(f->s, f->state) : (void)0;
	snmp_dissector.release(f->state);
	free(f->state);
	session_detached_free(f->s);
}

static void feed(struct flow *f, enum direction dir, const void *b, size_t n)
{
	/* a copy of exactly n bytes, so ASan sees any overread */
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, b, n);
	snmp_dissector.on_data(f->s, f->state, dir, rd_init(p, n));
	free(p);
}

static void feedw(struct flow *f, enum direction dir, const struct wire *w)
{
	feed(f, dir, w->b, w->len);
}

static char *render(const struct flow *f)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	snmp_dissector.emit(f->state, &jw.e);
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

static const char *const sys_oids[] = {"1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.6.0"};

/* ---- tests ---- */

/* snmpget -v1 -c public: the minimal encoding, as captured. */
static const uint8_t v1_get[] = {0x30, 0x26, 0x02, 0x01, 0x00, 0x04, 0x06, 'p',  'u',  'b',
                                 'l',  'i',  'c',  0xa0, 0x19, 0x02, 0x01, 0x26, 0x02, 0x01,
                                 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08,
                                 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x02, 0x00, 0x05, 0x00};

static void test_v1_get_literal(void **unused)
{
	(void)unused;
	struct flow f;
	flow_open(&f, false);
	feed(&f, DIR_CLIENT, v1_get, sizeof v1_get);
	char *json = render(&f);
	assert_string_equal(json,
	                    "{\"version\":\"1\",\"community\":\"public\",\"encrypted\":false,"
	                    "\"pdus\":[{\"type\":\"get\",\"from\":\"client\",\"request_id\":38,"
	                    "\"error_status\":\"noError\",\"error_index\":0,"
	                    "\"oids\":[\"1.3.6.1.2.1.1.2.0\"]}]}");
	assert_true(session_has_alert(f.s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_true(session_has_alert(f.s, ALERT_INSECURE_PROTOCOL));
	assert_false(session_has_alert(f.s, ALERT_MALFORMED));
	char line[256];
	snmp_dissector.summarize(f.state, line, sizeof line);
	assert_string_equal(line, "v1 community=public get 1.3.6.1.2.1.1.2.0");
	free(json);
	flow_close(&f);
}

static void test_v2c_get_response(void **unused)
{
	(void)unused;
	struct flow f;
	struct wire w;
	flow_open(&f, false);
	community_msg(&w, 1, "s3cret", 0, 0x7fffffff, 0, 0, sys_oids, 2);
	feedw(&f, DIR_CLIENT, &w);
	community_msg(&w, 1, "s3cret", 2, 0x7fffffff, 2, 1, sys_oids, 1);
	feedw(&f, DIR_SERVER, &w);
	char *json = render(&f);
	assert_contains(json, "\"version\":\"2c\",\"community\":\"s3cret\",\"encrypted\":false");
	assert_contains(json, "{\"type\":\"get\",\"from\":\"client\",\"request_id\":2147483647,"
	                      "\"error_status\":\"noError\",\"error_index\":0,\"oids\":["
	                      "\"1.3.6.1.2.1.1.5.0\",\"1.3.6.1.2.1.1.6.0\"]}");
	assert_contains(json,
	                "{\"type\":\"response\",\"from\":\"server\",\"request_id\":2147483647,"
	                "\"error_status\":\"noSuchName\",\"error_index\":1,");
	assert_lacks(json, "\"user\"");
	assert_lacks(json, "\"communities\"");
	assert_true(session_has_alert(f.s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_true(session_has_alert(f.s, ALERT_INSECURE_PROTOCOL));
	free(json);
	flow_close(&f);
}

static void test_pdu_types_and_errors(void **unused)
{
	(void)unused;
	static const char *const names[] = {"get",     "getnext", "response", "set",   NULL,
	                                    "getbulk", "inform",  "trapv2",   "report"};
	for (unsigned t = 0; t < 9; t++) {
		if (t == 4)
			continue; /* trap v1 has its own layout */
		struct flow f;
		struct wire w;
		flow_open(&f, false);
		community_msg(&w, 1, "public", t, -5, 5, 3, sys_oids, 1);
		feedw(&f, DIR_CLIENT, &w);
		char *json = render(&f);
		char want[64];
		snprintf(want, sizeof want, "{\"type\":\"%s\",", names[t]);
		assert_contains(json, want);
		assert_contains(json, "\"request_id\":-5");
		if (t == 5)
			assert_contains(json, "\"non_repeaters\":5,\"max_repetitions\":3");
		else
			assert_contains(json, "\"error_status\":\"genErr\",\"error_index\":3");
		assert_false(session_has_alert(f.s, ALERT_MALFORMED));
		free(json);
		flow_close(&f);
	}
	/* every error name, and a number past the table */
	static const char *const errs[] = {"tooBig",
	                                   "badValue",
	                                   "readOnly",
	                                   "noAccess",
	                                   "wrongType",
	                                   "wrongLength",
	                                   "wrongEncoding",
	                                   "wrongValue",
	                                   "noCreation",
	                                   "inconsistentValue",
	                                   "resourceUnavailable",
	                                   "commitFailed",
	                                   "undoFailed",
	                                   "authorizationError",
	                                   "notWritable",
	                                   "inconsistentName"};
	static const int codes[] = {1, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
	for (unsigned i = 0; i < 16; i++) {
		struct flow f;
		struct wire w;
		flow_open(&f, false);
		community_msg(&w, 1, "public", 2, 1, codes[i], 0, sys_oids, 0);
		feedw(&f, DIR_SERVER, &w);
		char *json = render(&f);
		char want[64];
		snprintf(want, sizeof want, "\"error_status\":\"%s\"", errs[i]);
		assert_contains(json, want);
		free(json);
		flow_close(&f);
	}
	struct flow f;
	struct wire w;
	flow_open(&f, false);
	community_msg(&w, 1, "public", 2, 1, 99, 0, sys_oids, 0);
	feedw(&f, DIR_SERVER, &w);
	char *json = render(&f);
	assert_contains(json, "\"error_status\":\"99\"");
	free(json);
	flow_close(&f);
}

static void test_v1_trap(void **unused)
{
	(void)unused;
	struct flow f;
	struct wire w;
	memset(&w, 0, sizeof w);
	begin(&w, 0x30);
	wint(&w, 0);
	wstr(&w, 0x04, "traps", 5);
	begin(&w, 0xa4);
	woid(&w, "1.3.6.1.4.1.8072.3.2.10");
	wstr(&w, 0x40, "\xc0\xa8\x01\x02", 4);
	wint(&w, 2);
	wint(&w, 0);
	wstr(&w, 0x43, "\x01\x02\x03", 3);
	wvarbinds(&w, sys_oids, 1);
	end(&w);
	end(&w);
	flow_open(&f, false);
	feedw(&f, DIR_CLIENT, &w);
	char *json = render(&f);
	assert_contains(json, "{\"type\":\"trap\",\"from\":\"client\",\"request_id\":null,"
	                      "\"enterprise\":\"1.3.6.1.4.1.8072.3.2.10\",\"agent_addr\":"
	                      "\"192.168.1.2\",\"generic_trap\":\"linkDown\",\"specific_trap\":0,"
	                      "\"oids\":[\"1.3.6.1.2.1.1.5.0\"]}");
	assert_false(session_has_alert(f.s, ALERT_MALFORMED));
	free(json);
	flow_close(&f);
}

static void test_v3_discovery_then_authpriv(void **unused)
{
	(void)unused;
	struct flow f;
	struct wire w;
	flow_open(&f, false);
	/* discovery: noAuthNoPriv, empty user and engine, empty get */
	v3_msg(&w, FLAG_REPORTABLE, "", false, 0, 77, NULL, 0);
	feedw(&f, DIR_CLIENT, &w);
	static const char *const report_oid[] = {"1.3.6.1.6.3.15.1.1.4.0"};
	v3_msg(&w, 0, "", true, 8, 77, report_oid, 1);
	feedw(&f, DIR_SERVER, &w);
	v3_msg(&w, FLAG_AUTH | FLAG_PRIV | FLAG_REPORTABLE, "admin", true, 0, 0, NULL, 0);
	feedw(&f, DIR_CLIENT, &w);
	v3_msg(&w, FLAG_AUTH | FLAG_PRIV, "admin", true, 0, 0, NULL, 0);
	feedw(&f, DIR_SERVER, &w);
	char *json = render(&f);
	assert_contains(json,
	                "\"version\":\"3\",\"user\":\"admin\",\"security_level\":\"authPriv\","
	                "\"engine_id\":\"80001f8880a949\",\"encrypted\":true,"
	                "\"encrypted_pdus\":2,");
	assert_contains(json, "{\"type\":\"report\",\"from\":\"server\",\"request_id\":77,");
	assert_contains(json, "\"oids\":[\"1.3.6.1.6.3.15.1.1.4.0\"]");
	assert_lacks(json, "community");
	assert_lacks(json, "ciphertext");
	assert_false(session_has_alert(f.s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f.s, ALERT_INSECURE_PROTOCOL));
	assert_false(session_has_alert(f.s, ALERT_MALFORMED));
	char line[256];
	snmp_dissector.summarize(f.state, line, sizeof line);
	assert_contains(line, "v3 user=admin authPriv");
	assert_contains(line, "encrypted x2");
	free(json);
	flow_close(&f);
}

static void test_v3_auth_no_priv(void **unused)
{
	(void)unused;
	struct flow f;
	struct wire w;
	flow_open(&f, false);
	v3_msg(&w, FLAG_AUTH | FLAG_REPORTABLE, "monitor", true, 1, 9, sys_oids, 2);
	feedw(&f, DIR_CLIENT, &w);
	char *json = render(&f);
	assert_contains(json, "\"user\":\"monitor\",\"security_level\":\"authNoPriv\"");
	assert_contains(json, "\"encrypted\":false");
	assert_contains(json, "{\"type\":\"getnext\",\"from\":\"client\",\"request_id\":9,");
	assert_contains(json, "\"oids\":[\"1.3.6.1.2.1.1.5.0\",\"1.3.6.1.2.1.1.6.0\"]");
	free(json);
	flow_close(&f);
	/* noAuthNoPriv with a user */
	flow_open(&f, false);
	v3_msg(&w, 0, "username", true, 0, 1, sys_oids, 1);
	feedw(&f, DIR_CLIENT, &w);
	json = render(&f);
	assert_contains(json, "\"user\":\"username\",\"security_level\":\"noAuthNoPriv\"");
	free(json);
	flow_close(&f);
	/* priv without auth is invalid (RFC 3412) */
	flow_open(&f, false);
	v3_msg(&w, FLAG_PRIV, "x", true, 0, 1, NULL, 0);
	feedw(&f, DIR_CLIENT, &w);
	assert_true(session_has_alert(f.s, ALERT_MALFORMED));
	flow_close(&f);
}

static void test_several_communities(void **unused)
{
	(void)unused;
	struct flow f;
	struct wire w;
	flow_open(&f, false);
	for (int i = 0; i < 12; i++) {
		char c[16];
		snprintf(c, sizeof c, "guess%d", i % 10);
		community_msg(&w, 0, c, 0, i, 0, 0, sys_oids, 1);
		feedw(&f, DIR_CLIENT, &w);
	}
	char *json = render(&f);
	assert_contains(json, "\"community\":\"guess0\",\"communities\":[\"guess0\",\"guess1\"");
	assert_contains(json, "\"guess7\"],\"communities_truncated\":2");
	free(json);
	flow_close(&f);
}

static void test_long_community_capped(void **unused)
{
	(void)unused;
	char big[600];
	memset(big, 'c', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	struct flow f;
	struct wire w;
	flow_open(&f, false);
	community_msg(&w, 1, big, 0, 1, 0, 0, sys_oids, 1);
	feedw(&f, DIR_CLIENT, &w);
	char *json = render(&f);
	char want[160];
	snprintf(want, sizeof want, "\"community\":\"%.128s\",", big);
	assert_contains(json, want);
	free(json);
	flow_close(&f);
}

static void test_caps(void **unused)
{
	(void)unused;
	struct flow f;
	struct wire w;
	static char oid_text[40][32];
	const char *oids[40];
	for (int i = 0; i < 40; i++) {
		snprintf(oid_text[i], sizeof oid_text[i], "1.3.6.1.2.1.2.2.1.%d", i);
		oids[i] = oid_text[i];
	}
	flow_open(&f, false);
	community_msg(&w, 1, "public", 1, 1, 0, 0, oids, 40);
	feedw(&f, DIR_CLIENT, &w);
	for (int i = 0; i < 69; i++) {
		community_msg(&w, 1, "public", 2, i, 0, 0, oids, 1);
		feedw(&f, DIR_SERVER, &w);
	}
	char *json = render(&f);
	assert_contains(json, "\"1.3.6.1.2.1.2.2.1.31\"],\"truncated\":8}");
	assert_lacks(json, "\"1.3.6.1.2.1.2.2.1.32\"");
	assert_contains(json, "\"request_id\":62,");
	assert_lacks(json, "\"request_id\":63,");
	assert_contains(json, "],\"truncated\":6");
	assert_int_equal(session_counter_value(f.s, "snmp.too_many_pdus"), 6);
	assert_int_equal(session_counter_value(f.s, "snmp.too_many_oids"), 1);
	free(json);
	flow_close(&f);
}

static void test_long_oid(void **unused)
{
	(void)unused;
	char dotted[1024] = "1.3";
	for (int i = 0; i < 100; i++)
		strcat(dotted, ".127");
	const char *oids[] = {dotted};
	struct flow f;
	struct wire w;
	flow_open(&f, false);
	community_msg(&w, 1, "public", 0, 1, 0, 0, oids, 1);
	feedw(&f, DIR_CLIENT, &w);
	char *json = render(&f);
	assert_contains(json, ".127...\"]");
	assert_false(session_has_alert(f.s, ALERT_MALFORMED));
	free(json);
	flow_close(&f);
}

static void test_truncation_every_offset(void **unused)
{
	(void)unused;
	struct wire msgs[3];
	community_msg(&msgs[0], 1, "public", 5, 1, 0, 10, sys_oids, 2);
	v3_msg(&msgs[1], FLAG_AUTH | FLAG_PRIV, "admin", true, 0, 0, NULL, 0);
	v3_msg(&msgs[2], FLAG_AUTH, "admin", true, 0, 3, sys_oids, 2);
	for (int m = 0; m < 3; m++)
		for (size_t cut = 0; cut < msgs[m].len; cut++) {
			struct flow f;
			flow_open(&f, false);
			feed(&f, DIR_CLIENT, msgs[m].b, cut);
			snmp_dissector.on_end ? snmp_dissector.on_end(f.s, f.state) : (void)0;
			char *json = render(&f);
			assert_true(session_has_alert(f.s, ALERT_MALFORMED));
			assert_contains(json, "\"malformed\":1");
			char line[256];
			snmp_dissector.summarize(f.state, line, sizeof line);
			free(json);
			flow_close(&f);
		}
}

static void test_mutations(void **unused)
{
	(void)unused;
	struct wire msgs[3];
	community_msg(&msgs[0], 1, "public", 5, 1, 0, 10, sys_oids, 2);
	v3_msg(&msgs[1], FLAG_AUTH | FLAG_PRIV, "admin", true, 0, 0, NULL, 0);
	v3_msg(&msgs[2], 0, "admin", true, 0, 3, sys_oids, 2);
	for (int m = 0; m < 3; m++)
		for (size_t i = 0; i < msgs[m].len; i++)
			for (unsigned x = 0; x < 256; x += 7) {
				struct wire w = msgs[m];
				w.b[i] ^= (uint8_t)(x | 1);
				struct flow f;
				flow_open(&f, false);
				feedw(&f, DIR_CLIENT, &w);
				(void)snmp_dissector.probe(rd_init(w.b, w.len), DIR_CLIENT);
				char *json = render(&f);
				free(json);
				flow_close(&f);
			}
}

static void test_garbage_malformed(void **unused)
{
	(void)unused;
	struct flow f;
	flow_open(&f, false);
	feed(&f, DIR_CLIENT, "GET / HTTP/1.0\r\n\r\n", 18);
	/* indefinite length */
	static const uint8_t indef[] = {0x30, 0x80, 0x02, 0x01, 0x01, 0x04,
	                                0x00, 0xa0, 0x00, 0x00, 0x00};
	feed(&f, DIR_CLIENT, indef, sizeof indef);
	/* unknown version 2 */
	static const uint8_t v2[] = {0x30, 0x03, 0x02, 0x01, 0x02};
	feed(&f, DIR_CLIENT, v2, sizeof v2);
	/* PDU tag 9 */
	static const uint8_t bad_pdu[] = {0x30, 0x07, 0x02, 0x01, 0x01, 0x04, 0x00, 0xa9, 0x00};
	feed(&f, DIR_CLIENT, bad_pdu, sizeof bad_pdu);
	char *json = render(&f);
	assert_contains(json, "\"malformed\":4");
	assert_true(session_has_alert(f.s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f.s, "snmp.malformed"), 4);
	free(json);
	flow_close(&f);
	/* nothing at all: a record without a version */
	flow_open(&f, false);
	json = render(&f);
	assert_string_equal(json, "{\"version\":null,\"pdus\":[]}");
	free(json);
	flow_close(&f);
}

static void test_probe(void **unused)
{
	(void)unused;
	struct wire w;
	community_msg(&w, 0, "public", 0, 1, 0, 0, sys_oids, 1);
	assert_int_equal(snmp_dissector.probe(rd_init(w.b, w.len), DIR_CLIENT), VERDICT_YES);
	assert_int_equal(snmp_dissector.probe(rd_init(v1_get, sizeof v1_get), DIR_CLIENT),
	                 VERDICT_YES);
	v3_msg(&w, FLAG_REPORTABLE, "", false, 0, 1, NULL, 0);
	assert_int_equal(snmp_dissector.probe(rd_init(w.b, w.len), DIR_CLIENT), VERDICT_YES);
	v3_msg(&w, FLAG_AUTH | FLAG_PRIV, "admin", true, 0, 1, NULL, 0);
	assert_int_equal(snmp_dissector.probe(rd_init(w.b, w.len), DIR_SERVER), VERDICT_YES);
	/* a long response cut at the probe limit */
	static char oid_text[200][40];
	const char *oids[200];
	for (int i = 0; i < 200; i++) {
		snprintf(oid_text[i], sizeof oid_text[i], "1.3.6.1.2.1.2.2.1.%d.1", i % 100);
		oids[i] = oid_text[i];
	}
	community_msg(&w, 1, "public", 2, 1, 0, 0, oids, 200);
	assert_true(w.len > 2048);
	assert_int_equal(snmp_dissector.probe(rd_init(w.b, 2048), DIR_SERVER), VERDICT_YES);
	/* short cut: a lie */
	assert_int_equal(snmp_dissector.probe(rd_init(w.b, 100), DIR_SERVER), VERDICT_NO);

	/* other protocols */
	static const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0,
	                              0,    3,    'w',  'w',  'w',  0,    0, 1, 0, 1};
	static const uint8_t ntp[48] = {0x23};
	static const uint8_t ldap[] = {0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07,
	                               0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00};
	static const uint8_t kerberos[] = {0x6a, 0x03, 0x30, 0x01, 0x00};
	static const char *const texts[] = {"220 mail.example.com ESMTP\r\n", "+OK ready\r\n",
	                                    "<34>Oct 11 22:14:15 host su: failed\n",
	                                    "GET / HTTP/1.1\r\n", ""};
	assert_int_equal(snmp_dissector.probe(rd_init(dns, sizeof dns), DIR_CLIENT), VERDICT_NO);
	assert_int_equal(snmp_dissector.probe(rd_init(ntp, sizeof ntp), DIR_CLIENT), VERDICT_NO);
	assert_int_equal(snmp_dissector.probe(rd_init(ldap, sizeof ldap), DIR_CLIENT), VERDICT_NO);
	assert_int_equal(snmp_dissector.probe(rd_init(kerberos, sizeof kerberos), DIR_CLIENT),
	                 VERDICT_NO);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(
		    snmp_dissector.probe(rd_init(texts[i], strlen(texts[i])), DIR_CLIENT),
		    VERDICT_NO);
	/* every prefix of a valid message: never a crash */
	for (size_t cut = 0; cut <= sizeof v1_get; cut++)
		(void)snmp_dissector.probe(rd_init(v1_get, cut), DIR_CLIENT);
}

static void test_descriptor(void **unused)
{
	(void)unused;
	assert_string_equal(snmp_dissector.name, "snmp");
	assert_int_equal(snmp_dissector.transports, TRANSPORT_BIT_UDP);
	assert_int_equal(snmp_dissector.ports[0], 161);
	assert_int_equal(snmp_dissector.ports[1], 162);
	assert_int_equal(snmp_dissector.ports[2], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_descriptor),
	    cmocka_unit_test(test_v1_get_literal),
	    cmocka_unit_test(test_v2c_get_response),
	    cmocka_unit_test(test_pdu_types_and_errors),
	    cmocka_unit_test(test_v1_trap),
	    cmocka_unit_test(test_v3_discovery_then_authpriv),
	    cmocka_unit_test(test_v3_auth_no_priv),
	    cmocka_unit_test(test_several_communities),
	    cmocka_unit_test(test_long_community_capped),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_long_oid),
	    cmocka_unit_test(test_truncation_every_offset),
	    cmocka_unit_test(test_mutations),
	    cmocka_unit_test(test_garbage_malformed),
	    cmocka_unit_test(test_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
