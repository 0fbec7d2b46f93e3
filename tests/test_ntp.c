/* NTP: time packets of modes 1-5, control (mode 6) and private (mode 7)
 * requests, built field by field. */
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

extern const struct dissector ntp_dissector;

struct wire {
	uint8_t b[512];
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

static void wzero(struct wire *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		w8(w, 0);
}

/* The 48-byte time header. */
static void time_packet(struct wire *w, unsigned leap, unsigned version, unsigned mode,
                        unsigned stratum, int poll, int precision, uint32_t refid)
{
	w->len = 0;
	w8(w, leap << 6 | version << 3 | mode);
	w8(w, stratum);
	w8(w, (uint8_t)(int8_t)poll);
	w8(w, (uint8_t)(int8_t)precision);
	w32(w, 0x00000b00); /* root delay */
	w32(w, 0x00001000); /* root dispersion */
	w32(w, refid);
	for (int i = 0; i < 4; i++) {
		w32(w, 0xe0000000u + (uint32_t)i); /* timestamps */
		w32(w, 0x12345678);
	}
	assert_int_equal(w->len, 48);
}

static void control_packet(struct wire *w, unsigned version, unsigned opcode, unsigned count)
{
	w->len = 0;
	w8(w, version << 3 | 6);
	w8(w, opcode);
	w16(w, 1); /* sequence */
	w16(w, 0); /* status */
	w16(w, 0); /* association id */
	w16(w, 0); /* offset */
	w16(w, count);
	for (unsigned i = 0; i < count; i++)
		w8(w, 'a');
	while (w->len % 4)
		w8(w, 0);
}

static void private_packet(struct wire *w, unsigned version, unsigned impl, unsigned req,
                           size_t pad)
{
	w->len = 0;
	w8(w, version << 3 | 7);
	w8(w, 0);
	w8(w, impl);
	w8(w, req);
	w16(w, 0);
	w16(w, 0);
	wzero(w, pad);
}

struct flow {
	struct session *s;
	void *state;
};

static struct flow flow_open(void)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 123}};
	struct flow f = {
	    session_detached_new(false, &client, 40000, &server, 123),
	    calloc(1, ntp_dissector.state_size),
	};
	assert_non_null(f.s);
	assert_non_null(f.state);
	return f;
}

static void flow_close(struct flow *f)
{
	free(f->state);
	session_detached_free(f->s);
}

static void feed(struct flow *f, enum direction dir, const void *p, size_t n)
{
	ntp_dissector.on_data(f->s, f->state, dir, rd_init(p, n));
}

static char *render(const struct flow *f)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	ntp_dissector.emit(f->state, &jw.e);
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

static enum verdict probe(const struct wire *w)
{
	return ntp_dissector.probe(rd_init(w->b, w->len), DIR_CLIENT);
}

/* ---- tests ---- */

static void test_client_server_exchange(void **unused)
{
	(void)unused;
	struct flow f = flow_open();
	struct wire w;
	time_packet(&w, 3, 4, 3, 0, 6, -20, 0);
	feed(&f, DIR_CLIENT, w.b, w.len);
	time_packet(&w, 0, 4, 4, 2, 6, -23, 0xc0000201); /* 192.0.2.1 */
	feed(&f, DIR_SERVER, w.b, w.len);
	char *json = render(&f);
	assert_string_equal(
	    json, "{\"version\":4,\"mode\":\"server\",\"stratum\":2,\"poll\":6,\"precision\":-23,"
	          "\"reference_id\":\"192.0.2.1\",\"leap\":\"no-warning\","
	          "\"client\":{\"version\":4,\"mode\":\"client\",\"stratum\":0,\"poll\":6,"
	          "\"precision\":-20,\"reference_id\":null,\"leap\":\"unsynchronized\"},"
	          "\"packets\":2,\"modes\":{\"client\":1,\"server\":1}}");
	free(json);
	assert_false(session_has_alert(f.s, ALERT_NTP_CONTROL_QUERY));
	assert_false(session_has_alert(f.s, ALERT_MALFORMED));
	char line[128];
	ntp_dissector.summarize(f.state, line, sizeof line);
	assert_string_equal(line, "v4 server stratum 2 ref 192.0.2.1");
	flow_close(&f);
}

static void test_reference_id_text(void **unused)
{
	(void)unused;
	static const struct {
		unsigned stratum;
		uint32_t refid;
		const char *text;
	} cases[] = {
	    {1, 0x47505300, "\"GPS\""},
	    {1, 0x4c4f434c, "\"LOCL\""},
	    {0, 0x52415445, "\"RATE\""},
	    {0, 0x44454e59, "\"DENY\""},
	    {3, 0x0a000001, "\"10.0.0.1\""},
	    {16, 0x7f000001, "\"127.0.0.1\""},
	    {1, 0x01020304, "\"1.2.3.4\""}, /* not text: the bytes */
	    {2, 0, "null"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct flow f = flow_open();
		struct wire w;
		time_packet(&w, 0, 4, 4, cases[i].stratum, 4, -20, cases[i].refid);
		feed(&f, DIR_SERVER, w.b, w.len);
		char *json = render(&f);
		char want[64];
		snprintf(want, sizeof want, "\"reference_id\":%s", cases[i].text);
		assert_contains(json, want);
		free(json);
		flow_close(&f);
	}
}

static void test_every_mode_and_leap(void **unused)
{
	(void)unused;
	static const char *const modes[] = {NULL,     "symmetric-active", "symmetric-passive",
	                                    "client", "server",           "broadcast"};
	static const char *const leaps[] = {"no-warning", "add-second", "delete-second",
	                                    "unsynchronized"};
	for (unsigned mode = 1; mode <= 5; mode++) {
		for (unsigned version = 1; version <= 4; version++) {
			struct flow f = flow_open();
			struct wire w;
			time_packet(&w, version - 1, version, mode, 2, 10, -6, 0x0a000001);
			assert_int_equal(probe(&w), VERDICT_YES);
			feed(&f, DIR_CLIENT, w.b, w.len);
			char *json = render(&f);
			char want[96];
			snprintf(want, sizeof want, "{\"version\":%u,\"mode\":\"%s\",\"stratum\":2",
			         version, modes[mode]);
			assert_contains(json, want);
			snprintf(want, sizeof want, "\"leap\":\"%s\"", leaps[version - 1]);
			assert_contains(json, want);
			free(json);
			flow_close(&f);
		}
	}
}

static void test_control_query(void **unused)
{
	(void)unused;
	struct flow f = flow_open();
	struct wire w;
	control_packet(&w, 2, 1, 0); /* readstat */
	assert_int_equal(w.len, 12);
	assert_int_equal(probe(&w), VERDICT_YES);
	feed(&f, DIR_CLIENT, w.b, w.len);
	control_packet(&w, 2, 2, 5); /* readvar "aaaaa" */
	assert_int_equal(probe(&w), VERDICT_YES);
	feed(&f, DIR_CLIENT, w.b, w.len);
	feed(&f, DIR_CLIENT, w.b, w.len);
	control_packet(&w, 2, 0x80 | 2, 5); /* the response */
	feed(&f, DIR_SERVER, w.b, w.len);
	char *json = render(&f);
	assert_string_equal(json,
	                    "{\"version\":2,\"mode\":\"control\",\"stratum\":null,\"packets\":4,"
	                    "\"modes\":{\"control\":4},\"opcodes\":[\"readstat\",\"readvar\"],"
	                    "\"control_response\":true}");
	free(json);
	assert_true(session_has_alert(f.s, ALERT_NTP_CONTROL_QUERY));
	char line[128];
	ntp_dissector.summarize(f.state, line, sizeof line);
	assert_string_equal(line, "v2 control control readstat");
	flow_close(&f);
}

static void test_monlist(void **unused)
{
	(void)unused;
	struct flow f = flow_open();
	struct wire w;
	private_packet(&w, 2, 3, 42, 184); /* ntpdc pads to 192 bytes */
	assert_int_equal(probe(&w), VERDICT_YES);
	feed(&f, DIR_CLIENT, w.b, w.len);
	char *json = render(&f);
	assert_string_equal(json,
	                    "{\"version\":2,\"mode\":\"private\",\"stratum\":null,\"packets\":1,"
	                    "\"modes\":{\"private\":1},\"implementation\":\"xntpd\","
	                    "\"request_codes\":[42],\"requests\":[\"MON_GETLIST_1\"],"
	                    "\"monlist\":true,\"control_response\":false}");
	free(json);
	assert_true(session_has_alert(f.s, ALERT_NTP_CONTROL_QUERY));
	flow_close(&f);
}

static void test_unknown_codes_shown_as_numbers(void **unused)
{
	(void)unused;
	struct flow f = flow_open();
	struct wire w;
	private_packet(&w, 2, 9, 200, 0);
	assert_int_equal(probe(&w), VERDICT_NO);
	feed(&f, DIR_CLIENT, w.b, w.len);
	control_packet(&w, 2, 20, 0);
	assert_int_equal(probe(&w), VERDICT_NO);
	feed(&f, DIR_CLIENT, w.b, w.len);
	char *json = render(&f);
	assert_contains(json, "\"opcodes\":[\"20\"]");
	assert_contains(json,
	                "\"implementation\":9,\"request_codes\":[200],\"requests\":[\"200\"]");
	free(json);
	flow_close(&f);
}

static void test_code_cap(void **unused)
{
	(void)unused;
	struct flow f = flow_open();
	struct wire w;
	for (unsigned op = 1; op <= 12; op++) {
		control_packet(&w, 3, op, 0);
		feed(&f, DIR_CLIENT, w.b, w.len);
		feed(&f, DIR_CLIENT, w.b, w.len); /* a repeat: kept once, or dropped again */
	}
	for (unsigned req = 0; req < 20; req++) {
		private_packet(&w, 2, 3, req, 0);
		feed(&f, DIR_CLIENT, w.b, w.len);
	}
	char *json = render(&f);
	assert_contains(json, "\"opcodes_truncated\":8");
	assert_contains(json, "\"requests_truncated\":12");
	assert_contains(json, "\"packets\":44");
	free(json);
	assert_int_equal(session_counter_value(f.s, "ntp.too_many_opcodes"), 8);
	assert_int_equal(session_counter_value(f.s, "ntp.too_many_requests"), 12);
	flow_close(&f);
}

static void test_mac_and_extensions(void **unused)
{
	(void)unused;
	struct flow f = flow_open();
	struct wire w;
	time_packet(&w, 0, 4, 3, 2, 6, -20, 0x0a000001);
	w32(&w, 1);    /* key id */
	wzero(&w, 16); /* MD5 digest */
	assert_int_equal(probe(&w), VERDICT_YES);
	feed(&f, DIR_CLIENT, w.b, w.len);
	char *json = render(&f);
	assert_contains(json, "\"mac\":true");
	assert_lacks(json, "\"nts\"");
	free(json);
	flow_close(&f);

	f = flow_open();
	time_packet(&w, 0, 4, 3, 0, 6, -20, 0);
	w16(&w, 0x0104); /* NTS unique identifier */
	w16(&w, 36);
	wzero(&w, 32);
	w16(&w, 0x0404); /* NTS authenticator */
	w16(&w, 24);
	wzero(&w, 20);
	assert_int_equal(probe(&w), VERDICT_YES);
	feed(&f, DIR_CLIENT, w.b, w.len);
	json = render(&f);
	assert_contains(json, "\"extensions\":2,\"nts\":true");
	free(json);
	flow_close(&f);
}

static void test_truncated_at_every_offset(void **unused)
{
	(void)unused;
	struct wire w;
	time_packet(&w, 0, 4, 4, 2, 6, -20, 0x0a000001);
	for (size_t n = 0; n <= w.len; n++) {
		struct flow f = flow_open();
		feed(&f, DIR_SERVER, w.b, n);
		char *json = render(&f);
		if (n == 0) {
			assert_string_equal(json,
			                    "{\"version\":null,\"mode\":null,\"stratum\":null}");
		} else {
			assert_contains(json, "\"version\":4,\"mode\":\"server\"");
			if (n < 48)
				assert_true(session_has_alert(f.s, ALERT_MALFORMED));
			else
				assert_false(session_has_alert(f.s, ALERT_MALFORMED));
			if (n >= 4 && n < 48)
				assert_contains(json, "\"stratum\":2");
		}
		free(json);
		ntp_dissector.on_end ? ntp_dissector.on_end(f.s, f.state) : (void)0;
		char line[128];
		ntp_dissector.summarize(f.state, line, sizeof line);
		flow_close(&f);
		assert_int_equal(probe(&(struct wire){{0}, 0}), VERDICT_NEED_MORE);
	}
	/* the control and private headers too */
	struct wire c, p;
	control_packet(&c, 2, 2, 8);
	private_packet(&p, 2, 3, 42, 40);
	for (size_t n = 1; n <= c.len; n++) {
		struct flow f = flow_open();
		feed(&f, DIR_CLIENT, c.b, n);
		feed(&f, DIR_CLIENT, p.b, n < p.len ? n : p.len);
		char *json = render(&f);
		assert_contains(json, "\"mode\":\"control\"");
		free(json);
		assert_true(session_has_alert(f.s, ALERT_NTP_CONTROL_QUERY));
		flow_close(&f);
	}
}

static void test_garbage(void **unused)
{
	(void)unused;
	struct flow f = flow_open();
	static const uint8_t zero[48];
	feed(&f, DIR_CLIENT, zero, sizeof zero); /* version 0, mode 0 */
	uint8_t v7[48] = {0x3b};                 /* version 7 */
	feed(&f, DIR_CLIENT, v7, sizeof v7);
	char *json = render(&f);
	assert_contains(json, "\"malformed\":");
	free(json);
	assert_true(session_has_alert(f.s, ALERT_MALFORMED));
	flow_close(&f);
}

static void test_probe(void **unused)
{
	(void)unused;
	struct wire w;
	time_packet(&w, 0, 4, 3, 0, 6, -20, 0);
	assert_int_equal(probe(&w), VERDICT_YES);
	w.len = 47; /* too short for a time packet */
	assert_int_equal(probe(&w), VERDICT_NO);
	time_packet(&w, 0, 4, 3, 17, 6, -20, 0); /* stratum 17 */
	assert_int_equal(probe(&w), VERDICT_NO);
	time_packet(&w, 0, 4, 3, 2, 30, -20, 0); /* poll 2^30 */
	assert_int_equal(probe(&w), VERDICT_NO);
	time_packet(&w, 0, 4, 4, 2, 6, 5, 0); /* a server with precision 2^5 */
	assert_int_equal(probe(&w), VERDICT_NO);
	time_packet(&w, 0, 4, 3, 0, 6, 32, 0); /* chrony's client request: precision +32 */
	assert_int_equal(probe(&w), VERDICT_YES);
	time_packet(&w, 0, 0, 3, 2, 6, -20, 0); /* version 0 */
	assert_int_equal(probe(&w), VERDICT_NO);
	time_packet(&w, 0, 5, 3, 2, 6, -20, 0); /* version 5 */
	assert_int_equal(probe(&w), VERDICT_NO);
	time_packet(&w, 0, 4, 0, 2, 6, -20, 0); /* mode 0 */
	assert_int_equal(probe(&w), VERDICT_NO);
	time_packet(&w, 0, 4, 3, 2, 6, -20, 0);
	wzero(&w, 7); /* a trailer that is neither MAC nor extension */
	assert_int_equal(probe(&w), VERDICT_NO);
	control_packet(&w, 2, 1, 0);
	w.len = 11;
	assert_int_equal(probe(&w), VERDICT_NO);
	control_packet(&w, 2, 2, 0);
	w.b[11] = 200; /* count past the end */
	assert_int_equal(probe(&w), VERDICT_NO);
	private_packet(&w, 2, 3, 42, 0);
	w.len = 7;
	assert_int_equal(probe(&w), VERDICT_NO);
	private_packet(&w, 2, 3, 42, 0);
	w.b[6] = 0xf0; /* must-be-zero bits */
	assert_int_equal(probe(&w), VERDICT_NO);
	private_packet(&w, 1, 3, 42, 0); /* ntpdc never spoke version 1 */
	assert_int_equal(probe(&w), VERDICT_NO);
	/* other protocols' first bytes */
	static const char *const others[] = {
	    "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
	    "GET / HTTP/1.1\r\nHost: example.com\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "220 mail.example.com ESMTP Postfix ready xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	};
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
		assert_int_equal(
		    ntp_dissector.probe(rd_init(others[i], strlen(others[i])), DIR_CLIENT),
		    VERDICT_NO);
	/* a DNS query */
	static const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	                              0x00, 0x00, 0x00, 3,    'w',  'w',  'w',  7,    'e',
	                              'x',  'a',  'm',  'p',  'l',  'e',  3,    'c',  'o',
	                              'm',  0,    0,    1,    0,    1};
	assert_int_equal(ntp_dissector.probe(rd_init(dns, sizeof dns), DIR_CLIENT), VERDICT_NO);
	/* a QUIC short-header packet that looks like mode 7 */
	static const uint8_t quic[] = {0xe7, 0xff, 0x00, 0x00, 0x1d, 0x12, 0xb8, 0xe8, 1, 2, 3, 4};
	assert_int_equal(ntp_dissector.probe(rd_init(quic, sizeof quic), DIR_CLIENT), VERDICT_NO);
}

static void test_descriptor(void **unused)
{
	(void)unused;
	assert_string_equal(ntp_dissector.name, "ntp");
	assert_int_equal(ntp_dissector.transports, TRANSPORT_BIT_UDP);
	assert_int_equal(ntp_dissector.ports[0], 123);
	assert_int_equal(ntp_dissector.ports[1], 0);
	assert_ptr_equal(dissector_by_name("ntp"), &ntp_dissector);
	struct flow f = flow_open();
	char line[8];
	ntp_dissector.summarize(f.state, line, sizeof line); /* a small buffer */
	assert_true(strlen(line) < sizeof line);
	flow_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_client_server_exchange),
	    cmocka_unit_test(test_reference_id_text),
	    cmocka_unit_test(test_every_mode_and_leap),
	    cmocka_unit_test(test_control_query),
	    cmocka_unit_test(test_monlist),
	    cmocka_unit_test(test_unknown_codes_shown_as_numbers),
	    cmocka_unit_test(test_code_cap),
	    cmocka_unit_test(test_mac_and_extensions),
	    cmocka_unit_test(test_truncated_at_every_offset),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_descriptor),
	};
	return cmocka_run_group_tests_name("ntp", tests, NULL, NULL);
}
