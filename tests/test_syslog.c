/* Syslog: the examples of RFC 3164 section 5.4 and RFC 5424 section 6.5,
 * cut at every byte, batches, caps and the probe. */
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

extern const struct dissector syslog_dissector;

/* RFC 3164 section 5.4 */
static const char bsd1[] =
    "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8";
static const char bsd2[] = "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!";
static const char bsd3[] = "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time "
                           "to make the do-nuts.  %%  Ingredients: Mix=OK, Jected=OK, Fill=OK";
static const char bsd4[] = "<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 "
                           "sched[0]: That's All Folks!";

/* RFC 5424 section 6.5 (the BOM before the first message's text) */
static const char ietf1[] = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
                            "\xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8";
static const char ietf2[] = "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - "
                            "%% It's time to make the do-nuts.";
static const char ietf3[] =
    "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
    "iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \xEF\xBB\xBF"
    "An application event log entry...";
static const char ietf4[] =
    "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
    "iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]";

struct flow {
	struct session *s;
	void *state;
};

static struct flow flow_open(void)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 14}};
	struct flow f = {
	    session_detached_new(false, &client, 40000, &server, 514),
	    calloc(1, syslog_dissector.state_size),
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

static void feed(struct flow *f, const void *p, size_t n)
{
	syslog_dissector.on_data(f->s, f->state, DIR_CLIENT, rd_init(p, n));
}

static void feed_str(struct flow *f, const char *s)
{
	feed(f, s, strlen(s));
}

static char *render(const struct flow *f)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	syslog_dissector.emit(f->state, &jw.e);
	emit_object_end(&jw.e);
	assert_false(jw.overflow);
	char *text = strdup(json_writer_text(&jw));
	json_writer_free(&jw);
	assert_non_null(text);
	return text;
}

static char *render_one(const char *msg)
{
	struct flow f = flow_open();
	feed_str(&f, msg);
	char *json = render(&f);
	flow_close(&f);
	return json;
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("\"%s\" not in %s", needle, haystack);
}

static enum verdict probe(const char *s)
{
	return syslog_dissector.probe(rd_init(s, strlen(s)), DIR_CLIENT);
}

/* ---- RFC 3164 ---- */

static void test_bsd_example_1(void **unused)
{
	(void)unused;
	char *json = render_one(bsd1);
	assert_string_equal(
	    json,
	    "{\"facility\":\"auth\",\"severity\":\"crit\",\"message\":\"'su root' failed for "
	    "lonvick on /dev/pts/8\",\"count\":1,\"messages\":[{\"facility\":\"auth\","
	    "\"severity\":\"crit\",\"pri\":34,\"format\":\"rfc3164\",\"timestamp\":\"Oct 11 "
	    "22:14:15\",\"host\":\"mymachine\",\"app\":\"su\",\"procid\":null,\"message\":\"'su "
	    "root' failed for lonvick on /dev/pts/8\"}]}");
	free(json);
}

static void test_bsd_example_2(void **unused)
{
	(void)unused;
	char *json = render_one(bsd2);
	assert_contains(json,
	                "{\"facility\":\"user\",\"severity\":\"notice\",\"message\":\"Use the "
	                "BFG!\"");
	assert_contains(json,
	                "\"timestamp\":\"Feb  5 17:32:18\",\"host\":\"10.0.0.99\",\"app\":null");
	free(json);
}

static void test_bsd_examples_3_and_4(void **unused)
{
	(void)unused;
	char *json = render_one(bsd3);
	assert_contains(json, "\"facility\":\"local4\",\"severity\":\"notice\"");
	assert_contains(json, "\"timestamp\":\"Aug 24 05:34:00\",\"host\":\"CST\"");
	assert_contains(json, "Ingredients: Mix=OK, Jected=OK, Fill=OK\"");
	free(json);
	/* no BSD timestamp: the relay's view is "the rest is the message" */
	json = render_one(bsd4);
	assert_contains(json,
	                "{\"facility\":\"kern\",\"severity\":\"emerg\",\"message\":\"1990 Oct "
	                "22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: "
	                "That's All Folks!\"");
	free(json);
}

static void test_bsd_tag_forms(void **unused)
{
	(void)unused;
	char *json = render_one("<30>Jan  1 00:00:00 host dhclient[1234]: bound to 10.0.0.5");
	assert_contains(json, "\"host\":\"host\",\"app\":\"dhclient\",\"procid\":\"1234\","
	                      "\"message\":\"bound to 10.0.0.5\"");
	free(json);
	json = render_one("<30>Jan  1 00:00:00 cron[77]: job done"); /* no host */
	assert_contains(json, "\"host\":null,\"app\":\"cron\",\"procid\":\"77\",\"message\":\"job "
	                      "done\"");
	free(json);
	json = render_one("<30>sshd[9]: Accepted publickey"); /* no timestamp, no host */
	assert_contains(json, "\"timestamp\":null,\"host\":null,\"app\":\"sshd\",\"procid\":\"9\"");
	free(json);
	json = render_one("<30>2024-01-02T03:04:05+01:00 web nginx: GET /");
	assert_contains(json, "\"timestamp\":\"2024-01-02T03:04:05+01:00\",\"host\":\"web\","
	                      "\"app\":\"nginx\",\"procid\":null,\"message\":\"GET /\"");
	free(json);
	json = render_one("<30>just some text\n");
	assert_contains(json, "\"app\":null,\"procid\":null,\"message\":\"just some text\"");
	free(json);
}

/* ---- RFC 5424 ---- */

static void test_ietf_example_1(void **unused)
{
	(void)unused;
	char *json = render_one(ietf1);
	assert_string_equal(
	    json, "{\"facility\":\"auth\",\"severity\":\"crit\",\"message\":\"'su root' failed for "
	          "lonvick on /dev/pts/8\",\"count\":1,\"messages\":[{\"facility\":\"auth\","
	          "\"severity\":\"crit\",\"pri\":34,\"format\":\"rfc5424\",\"version\":1,"
	          "\"timestamp\":\"2003-10-11T22:14:15.003Z\",\"host\":\"mymachine.example.com\","
	          "\"app\":\"su\",\"procid\":null,\"msgid\":\"ID47\",\"structured_data\":null,"
	          "\"message\":\"'su root' failed for lonvick on /dev/pts/8\"}]}");
	free(json);
}

static void test_ietf_example_2(void **unused)
{
	(void)unused;
	char *json = render_one(ietf2);
	assert_contains(json, "\"facility\":\"local4\",\"severity\":\"notice\",\"pri\":165");
	assert_contains(json, "\"timestamp\":\"2003-08-24T05:14:15.000003-07:00\",\"host\":\"192.0."
	                      "2.1\",\"app\":\"myproc\",\"procid\":\"8710\",\"msgid\":null,"
	                      "\"structured_data\":null,\"message\":\"%% It's time to make the "
	                      "do-nuts.\"");
	free(json);
}

static void test_ietf_examples_3_and_4(void **unused)
{
	(void)unused;
	char *json = render_one(ietf3);
	assert_contains(json, "\"app\":\"evntslog\",\"procid\":null,\"msgid\":\"ID47\","
	                      "\"structured_data\":\"[exampleSDID@32473 iut=\\\"3\\\" "
	                      "eventSource=\\\"Application\\\" eventID=\\\"1011\\\"]\","
	                      "\"message\":\"An application event log entry...\"");
	free(json);
	json = render_one(ietf4);
	assert_contains(json,
	                "\"structured_data\":\"[exampleSDID@32473 iut=\\\"3\\\" "
	                "eventSource=\\\"Application\\\" eventID=\\\"1011\\\"][examplePriority@"
	                "32473 class=\\\"high\\\"]\",\"message\":null");
	assert_contains(json, "{\"facility\":\"local4\",\"severity\":\"notice\",\"message\":null");
	free(json);
	/* escaped quote and bracket inside a value */
	json = render_one("<14>1 - - - - - [a@1 x=\"q\\\"]\\]\"] text");
	assert_contains(json, "\"structured_data\":\"[a@1 x=\\\"q\\\\\\\"]\\\\]\\\"]\","
	                      "\"message\":\"text\"");
	assert_contains(json, "\"timestamp\":null,\"host\":null,\"app\":null");
	free(json);
}

/* ---- robustness ---- */

static void truncate_everywhere(const char *msg)
{
	size_t len = strlen(msg);
	for (size_t n = 0; n <= len; n++) {
		struct flow f = flow_open();
		feed(&f, msg, n);
		if (syslog_dissector.on_end)
			syslog_dissector.on_end(f.s, f.state);
		char *json = render(&f);
		if (n == 0)
			assert_contains(json,
			                "\"facility\":null,\"severity\":null,\"message\":null,"
			                "\"count\":0");
		else
			assert_contains(json, "\"count\":1");
		/* once the PRI is whole, facility and severity are known */
		const char *close = strchr(msg, '>');
		if (n > (size_t)(close - msg))
			assert_false(session_has_alert(f.s, ALERT_MALFORMED));
		free(json);
		char line[256];
		syslog_dissector.summarize(f.state, line, sizeof line);
		assert_true(strlen(line) < sizeof line);
		flow_close(&f);
	}
}

static void test_truncated_at_every_offset(void **unused)
{
	(void)unused;
	const char *const all[] = {bsd1, bsd2, bsd3, bsd4, ietf1, ietf2, ietf3, ietf4};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		truncate_everywhere(all[i]);
	/* a cut 5424 header says so */
	char *json = render_one("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su");
	assert_contains(json, "\"app\":\"su\",\"procid\":null,\"msgid\":null");
	assert_contains(json, "\"short_header\":true");
	free(json);
}

static void test_bad_pri(void **unused)
{
	(void)unused;
	static const char *const bad[] = {"<192>too big", "<>empty",       "<1a>x",
	                                  "<1234>x",      "no pri at all", "<12"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct flow f = flow_open();
		feed_str(&f, bad[i]);
		char *json = render(&f);
		assert_contains(json, "{\"facility\":null,\"severity\":null,\"message\":\"");
		assert_contains(json, "\"malformed\":1");
		free(json);
		assert_true(session_has_alert(f.s, ALERT_MALFORMED));
		flow_close(&f);
	}
	char *json = render_one("<191>x");
	assert_contains(json, "\"facility\":\"local7\",\"severity\":\"debug\"");
	free(json);
	json = render_one("<0>x");
	assert_contains(json, "\"facility\":\"kern\",\"severity\":\"emerg\"");
	free(json);
}

static void test_binary_bytes_kept_raw(void **unused)
{
	(void)unused;
	static const char msg[] = "<13>Jan  1 00:00:00 h app: a\x01"
	                          "b\xff\x1b[31m";
	struct flow f = flow_open();
	feed(&f, msg, sizeof msg - 1);
	char *json = render(&f);
	assert_contains(json, "\"message\":\"a\\u0001b\\\\xff\\u001b[31m\"");
	free(json);
	char line[128];
	syslog_dissector.summarize(f.state, line, sizeof line);
	assert_null(strchr(line, '\x1b'));
	flow_close(&f);
}

static void test_batch_and_trailers(void **unused)
{
	(void)unused;
	struct flow f = flow_open();
	feed_str(&f, "<13>Jan  1 00:00:00 h a: one\n<14>Jan  1 00:00:01 h b: two\r\n\n");
	feed(&f, "<15>three\0", 10);
	feed_str(&f, "<11>multi\nline text\n"); /* a line without a PRI continues */
	feed(&f, "", 0);
	feed_str(&f, "\n");
	char *json = render(&f);
	assert_contains(json, "\"count\":4");
	assert_contains(json, "\"app\":\"a\",\"procid\":null,\"message\":\"one\"");
	assert_contains(json, "\"app\":\"b\",\"procid\":null,\"message\":\"two\"");
	assert_contains(json, "\"severity\":\"debug\",\"pri\":15,\"format\":\"rfc3164\","
	                      "\"timestamp\":null,\"host\":null,\"app\":null,\"procid\":null,"
	                      "\"message\":\"three\"");
	assert_contains(json, "\"message\":\"multi\\nline text\"");
	free(json);
	char line[256];
	syslog_dissector.summarize(f.state, line, sizeof line);
	assert_string_equal(line, "user.notice h a: one (4 messages)");
	flow_close(&f);
}

static void test_caps(void **unused)
{
	(void)unused;
	struct flow f = flow_open();
	for (int i = 0; i < 20; i++) {
		char msg[64];
		snprintf(msg, sizeof msg, "<13>Jan  1 00:00:00 h app: message %d", i);
		feed_str(&f, msg);
	}
	char *json = render(&f);
	assert_contains(json, "\"count\":20");
	assert_contains(json, "\"truncated\":4");
	assert_contains(json, "\"message\":\"message 15\"");
	assert_null(strstr(json, "\"message 16\""));
	free(json);
	assert_int_equal(session_counter_value(f.s, "syslog.too_many_messages"), 4);
	flow_close(&f);

	/* a long message is cut at 1024 bytes */
	static char big[4096];
	size_t n = (size_t)snprintf(big, sizeof big, "<13>1 - h app - - - ");
	memset(big + n, 'x', 3000);
	big[n + 3000] = '\0';
	f = flow_open();
	feed_str(&f, big);
	json = render(&f);
	char want[1100];
	want[0] = '"';
	memset(want + 1, 'x', 1024);
	strcpy(want + 1025, "\",\"message_truncated\":true");
	assert_contains(json, want);
	free(json);
	assert_int_equal(session_counter_value(f.s, "syslog.message_capped"), 1);
	flow_close(&f);

	/* long header fields are cut too */
	n = (size_t)snprintf(big, sizeof big, "<13>1 - ");
	memset(big + n, 'h', 400);
	strcpy(big + n + 400, " app - - - m");
	f = flow_open();
	feed_str(&f, big);
	json = render(&f);
	assert_contains(json, "\"app\":\"app\"");
	assert_contains(json, "\"message\":\"m\"");
	free(json);
	assert_int_equal(session_counter_value(f.s, "syslog.field_capped"), 1);
	flow_close(&f);
}

static void test_probe(void **unused)
{
	(void)unused;
	assert_int_equal(probe(bsd1), VERDICT_YES);
	assert_int_equal(probe(ietf3), VERDICT_YES);
	assert_int_equal(probe("<0>"), VERDICT_YES);
	assert_int_equal(probe("<191>x"), VERDICT_YES);
	assert_int_equal(probe(""), VERDICT_NEED_MORE);
	assert_int_equal(probe("<"), VERDICT_NEED_MORE);
	assert_int_equal(probe("<13"), VERDICT_NEED_MORE);
	assert_int_equal(probe("<192>x"), VERDICT_NO);
	assert_int_equal(probe("<>x"), VERDICT_NO);
	assert_int_equal(probe("<1234>x"), VERDICT_NO);
	assert_int_equal(probe("<a>"), VERDICT_NO);
	assert_int_equal(probe("<html>"), VERDICT_NO);
	assert_int_equal(probe("220 mail.example.com ESMTP"), VERDICT_NO);
	assert_int_equal(probe("+OK POP3 ready"), VERDICT_NO);
	assert_int_equal(probe("GET / HTTP/1.1\r\n"), VERDICT_NO);
	assert_int_equal(probe("SSH-2.0-OpenSSH_9.0"), VERDICT_NO);
	static const uint8_t ntp[48] = {0x23};
	assert_int_equal(syslog_dissector.probe(rd_init(ntp, sizeof ntp), DIR_CLIENT), VERDICT_NO);
}

/* ---- over TCP (RFC 6587) ---- */

static struct flow tcp_flow_open(void)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 14}};
	struct flow f = {
	    session_detached_new(true, &client, 40000, &server, 514),
	    calloc(1, syslog_dissector.state_size),
	};
	assert_non_null(f.s);
	assert_non_null(f.state);
	return f;
}

/* Feeds a stream in pieces of `step` bytes the way the core does: what
 * on_data leaves is handed back with the next bytes. */
static void feed_stream(struct flow *f, const char *s, size_t step)
{
	char kept[1024];
	size_t n_kept = 0, total = strlen(s);
	for (size_t off = 0; off < total; off += step) {
		size_t n = total - off < step ? total - off : step;
		assert_true(n_kept + n <= sizeof kept);
		memcpy(kept + n_kept, s + off, n);
		n_kept += n;
		size_t used =
		    syslog_dissector.on_data(f->s, f->state, DIR_CLIENT, rd_init(kept, n_kept));
		assert_true(used <= n_kept);
		memmove(kept, kept + used, n_kept - used);
		n_kept -= used;
	}
}

static void test_tcp_octet_counting_and_lines(void **unused)
{
	(void)unused;
	char stream[1024];
	snprintf(stream, sizeof stream, "%zu %s%zu %s%s\n", strlen(ietf1), ietf1, strlen(ietf2),
	         ietf2, bsd1);
	for (size_t step = 1; step <= strlen(stream); step++) {
		struct flow f = tcp_flow_open();
		feed_stream(&f, stream, step);
		char *json = render(&f);
		assert_contains(json, "\"count\":3");
		assert_contains(json, "\"host\":\"mymachine.example.com\"");
		assert_contains(json, "\"msgid\":\"ID47\"");
		assert_contains(json, "\"app\":\"su\"");
		free(json);
		flow_close(&f);
	}
	assert_int_equal(probe("131 <14>1 2026-11-26T12:00:00Z vm"), VERDICT_YES);
	assert_int_equal(probe("12"), VERDICT_NEED_MORE);
	assert_int_equal(probe("220 mail.example.com ESMTP"), VERDICT_NO);
}

static void test_tcp_bad_framing(void **unused)
{
	(void)unused;
	struct flow f = tcp_flow_open();
	feed_stream(&f, "99999999 <14>x\n", 4); /* a length past the cap */
	feed_stream(&f, ietf1, 8);              /* nothing more is parsed */
	char *json = render(&f);
	assert_contains(json, "\"count\":0");
	assert_true(session_has_alert(f.s, ALERT_MALFORMED));
	free(json);
	flow_close(&f);
}

static void test_descriptor(void **unused)
{
	(void)unused;
	assert_string_equal(syslog_dissector.name, "syslog");
	assert_int_equal(syslog_dissector.transports, TRANSPORT_BIT_UDP | TRANSPORT_BIT_TCP);
	assert_int_equal(syslog_dissector.ports[0], 514);
	assert_int_equal(syslog_dissector.ports[1], 0);
	assert_ptr_equal(dissector_by_name("syslog"), &syslog_dissector);
	struct flow f = flow_open();
	feed_str(&f, ietf1);
	char line[8];
	syslog_dissector.summarize(f.state, line, sizeof line);
	assert_true(strlen(line) < sizeof line);
	char full[256];
	syslog_dissector.summarize(f.state, full, sizeof full);
	assert_string_equal(full,
	                    "auth.crit mymachine.example.com su: 'su root' failed for lonvick "
	                    "on /dev/pts/8");
	flow_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bsd_example_1),
	    cmocka_unit_test(test_bsd_example_2),
	    cmocka_unit_test(test_bsd_examples_3_and_4),
	    cmocka_unit_test(test_bsd_tag_forms),
	    cmocka_unit_test(test_ietf_example_1),
	    cmocka_unit_test(test_ietf_example_2),
	    cmocka_unit_test(test_ietf_examples_3_and_4),
	    cmocka_unit_test(test_truncated_at_every_offset),
	    cmocka_unit_test(test_bad_pri),
	    cmocka_unit_test(test_binary_bytes_kept_raw),
	    cmocka_unit_test(test_batch_and_trailers),
	    cmocka_unit_test(test_tcp_octet_counting_and_lines),
	    cmocka_unit_test(test_tcp_bad_framing),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_descriptor),
	};
	return cmocka_run_group_tests_name("syslog", tests, NULL, NULL);
}
