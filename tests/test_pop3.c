/* POP3 (dissectors/pop3.c): sessions fed the way the core feeds a stream
 * (unconsumed bytes kept and handed back with the next ones), in order,
 * in arbitrary splits, and the record read back as JSON. */
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
#include "portolan/session_internal.h"

extern const struct dissector pop3_dissector;
#define D pop3_dissector

/* ---- a stream the way src/dissect.c drives it ---- */

struct tflow {
	struct session *s;
	void *state;
	uint8_t *pending[2];
	size_t len[2];
	size_t consumed[2];
};

static struct tflow *flow_open(bool show_credentials)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 110}};
	struct tflow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->s = session_detached_new(true, &client, 40000, &server, 110);
	f->state = calloc(1, D.state_size);
	assert_non_null(f->s);
	assert_non_null(f->state);
	f->s->show_credentials = show_credentials;
	return f;
}

static void flow_close(struct tflow *f)
{
	D.release(f->state);
	free(f->state);
	free(f->pending[0]);
	free(f->pending[1]);
	session_detached_free(f->s);
	free(f);
}

static void feed(struct tflow *f, enum direction dir, const void *data, size_t n)
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
		f->consumed[dir] += used;
	}
}

static void feed_str(struct tflow *f, enum direction dir, const char *text)
{
	feed(f, dir, text, strlen(text));
}

static void gap(struct tflow *f, enum direction dir, size_t missing)
{
	f->len[dir] = 0;
	D.on_gap(f->s, f->state, dir, missing);
}

static char *render(const struct tflow *f)
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

/* A conversation: lines each side sends, in the order they cross. */
struct step {
	enum direction dir;
	const char *text;
};

/* Feeds the steps; step `split` (or none, -1) in two pieces at `at`, and
 * every step in pieces of `piece` bytes when piece is not 0. */
static void play(struct tflow *f, const struct step *st, int split, size_t at, size_t piece)
{
	for (int i = 0; st[i].text; i++) {
		const char *t = st[i].text;
		size_t n = strlen(t);
		if (i == split) {
			feed(f, st[i].dir, t, at);
			feed(f, st[i].dir, t + at, n - at);
		} else if (piece) {
			for (size_t k = 0; k < n; k += piece)
				feed(f, st[i].dir, t + k, n - k < piece ? n - k : piece);
		} else {
			feed(f, st[i].dir, t, n);
		}
	}
}

static char *run(const struct step *st, bool show)
{
	struct tflow *f = flow_open(show);
	play(f, st, -1, 0, 0);
	D.on_end(f->s, f->state);
	char *text = render(f);
	flow_close(f);
	return text;
}

/* Every split of every step, and small pieces, render the same. */
static void assert_same_in_pieces(const struct step *st)
{
	char *whole = run(st, false);
	for (int i = 0; st[i].text; i++) {
		for (size_t at = 0; at <= strlen(st[i].text); at++) {
			struct tflow *f = flow_open(false);
			play(f, st, i, at, 0);
			D.on_end(f->s, f->state);
			char *text = render(f);
			if (strcmp(text, whole) != 0)
				fail_msg("step %d split at %zu: %s\nwhole: %s", i, at, text, whole);
			free(text);
			flow_close(f);
		}
	}
	for (size_t piece = 1; piece <= 7; piece++) {
		struct tflow *f = flow_open(false);
		play(f, st, -1, 0, piece);
		D.on_end(f->s, f->state);
		char *text = render(f);
		if (strcmp(text, whole) != 0)
			fail_msg("pieces of %zu: %s\nwhole: %s", piece, text, whole);
		free(text);
		flow_close(f);
	}
	free(whole);
}

/* ---- the probe ---- */

static enum verdict probe(const char *text, enum direction dir)
{
	return D.probe(rd_init(text, strlen(text)), dir);
}

static void test_probe(void **unused)
{
	(void)unused;
	assert_int_equal(
	    probe("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n", DIR_SERVER),
	    VERDICT_YES);
	assert_int_equal(probe("+OK\r\n", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("USER mrose\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("CAPA\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("AUTH PLAIN\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n", DIR_CLIENT),
	                 VERDICT_YES);
	assert_int_equal(probe("STLS\r\n", DIR_CLIENT), VERDICT_YES);

	assert_int_equal(probe("", DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe("+", DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe("+OK", DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe("US", DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe("CAPA", DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(D.probe(rd_init(NULL, 0), DIR_CLIENT), VERDICT_NEED_MORE);

	/* other protocols' first bytes */
	assert_int_equal(probe("* OK IMAP4rev1 ready\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("220 mail.example.com ESMTP\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("220 (vsFTPd 3.0.3)\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("EHLO client.example\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("GET / HTTP/1.1\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("HTTP/1.1 200 OK\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("SSH-2.0-OpenSSH_9.2\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("+OKAY\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("a1 LOGIN x y\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("\x16\x03\x01\x02\x00", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("\xff\xfd\x18", DIR_SERVER), VERDICT_NO);
}

/* ---- sessions ---- */

/* RFC 1939 section 10, with a dot-stuffed line in the message. */
static const struct step rfc1939[] = {
    {DIR_SERVER, "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"},
    {DIR_CLIENT, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"},
    {DIR_SERVER, "+OK mrose's maildrop has 2 messages (320 octets)\r\n"},
    {DIR_CLIENT, "STAT\r\n"},
    {DIR_SERVER, "+OK 2 320\r\n"},
    {DIR_CLIENT, "LIST\r\n"},
    {DIR_SERVER, "+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n"},
    {DIR_CLIENT, "RETR 1\r\n"},
    {DIR_SERVER, "+OK 120 octets\r\nSubject: hi\r\n\r\n..dot\r\n+OK not a status\r\n.\r\n"},
    {DIR_CLIENT, "DELE 1\r\n"},
    {DIR_SERVER, "+OK message 1 deleted\r\n"},
    {DIR_CLIENT, "RETR 2\r\n"},
    {DIR_SERVER, "-ERR no such message\r\n"},
    {DIR_CLIENT, "QUIT\r\n"},
    {DIR_SERVER, "+OK dewey POP3 server signing off (maildrop empty)\r\n"},
    {0, NULL},
};

static void test_rfc1939_session(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open(false);
	play(f, rfc1939, -1, 0, 0);
	D.on_end(f->s, f->state);
	char *text = render(f);
	assert_string_equal(
	    text, "{\"banner\":\"POP3 server ready <1896.697170952@dbc.mtview.ca.us>\","
	          "\"user\":\"mrose\",\"auth\":null,\"authenticated\":true,"
	          "\"commands\":[\"APOP mrose ****\",\"STAT\",\"LIST\",\"RETR 1\",\"DELE 1\","
	          "\"RETR 2\",\"QUIT\"],"
	          "\"results\":[\"+OK\",\"+OK\",\"+OK\",\"+OK\",\"+OK\",\"-ERR\",\"+OK\"],"
	          "\"responses\":{\"ok\":7,\"err\":1},\"last_error\":\"no such message\","
	          "\"messages_retrieved\":1,\"bytes_retrieved\":39,\"starttls\":false}");
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	char buf[64];
	D.summarize(f->state, buf, sizeof buf);
	assert_string_equal(buf, "user mrose, 7 commands");
	D.summarize(f->state, buf, 6);
	assert_int_equal(strlen(buf), 5);
	free(text);
	flow_close(f);
	assert_same_in_pieces(rfc1939);
}

static const struct step user_pass[] = {
    {DIR_SERVER, "+OK ready\r\n"},
    {DIR_CLIENT, "USER alice\r\n"},
    {DIR_SERVER, "+OK\r\n"},
    {DIR_CLIENT, "PASS s3cret\r\n"},
    {DIR_SERVER, "-ERR invalid\r\n"},
    {DIR_CLIENT, "USER alice\r\n"},
    {DIR_SERVER, "+OK\r\n"},
    {DIR_CLIENT, "PASS right\r\n"},
    {DIR_SERVER, "+OK logged in\r\n"},
    {DIR_CLIENT, "TOP 1 0\r\nUIDL 1\r\nLIST\r\n"},
    {DIR_SERVER, "+OK\r\nH: v\r\n.\r\n"},
    {DIR_SERVER, "+OK 1 abc\r\n"},
    {DIR_SERVER, "+OK\r\n1 5\r\n.\r\n"},
    {0, NULL},
};

static void test_user_pass_hidden(void **unused)
{
	(void)unused;
	char *text = run(user_pass, false);
	assert_contains(text, "\"user\":\"alice\"");
	assert_contains(text, "\"commands\":[\"USER alice\",\"PASS ****\",\"USER alice\","
	                      "\"PASS ****\",\"TOP 1 0\",\"UIDL 1\",\"LIST\"]");
	assert_contains(text, "\"results\":[\"+OK\",\"-ERR\",\"+OK\",\"+OK\",\"+OK\",\"+OK\","
	                      "\"+OK\"]");
	assert_contains(text, "\"authenticated\":true");
	assert_lacks(text, "s3cret");
	assert_lacks(text, "right");
	assert_lacks(text, "password");
	assert_lacks(text, "incomplete");
	free(text);
	assert_same_in_pieces(user_pass);

	text = run(user_pass, true);
	assert_contains(text, "\"password\":\"right\"");
	assert_contains(text, "\"PASS s3cret\"");
	assert_contains(text, "\"PASS right\"");
	free(text);
}

/* Pipelined commands (RFC 2449 PIPELINING): the multi-line answers are
 * told apart by the commands they answer. */
static const struct step pipelined[] = {
    {DIR_SERVER, "+OK hi\r\n"},
    {DIR_CLIENT, "CAPA\r\nLIST 1\r\nRETR 1\r\nNOOP\r\nUIDL\r\n"},
    {DIR_SERVER, "+OK Capability list follows\r\nTOP\r\nSASL PLAIN LOGIN\r\nPIPELINING\r\n.\r\n"
                 "+OK 1 5\r\n"
                 "+OK 5 octets\r\n..\r\n.\r\n"
                 "+OK\r\n"
                 "+OK\r\n1 aaa\r\n.\r\n"},
    {0, NULL},
};

static void test_pipelined(void **unused)
{
	(void)unused;
	char *text = run(pipelined, false);
	assert_contains(text, "\"commands\":[\"CAPA\",\"LIST 1\",\"RETR 1\",\"NOOP\",\"UIDL\"]");
	assert_contains(text, "\"results\":[\"+OK\",\"+OK\",\"+OK\",\"+OK\",\"+OK\"]");
	assert_contains(text, "\"capabilities\":[\"TOP\",\"SASL PLAIN LOGIN\",\"PIPELINING\"]");
	assert_contains(text, "\"messages_retrieved\":1,\"bytes_retrieved\":3");
	assert_lacks(text, "incomplete");
	free(text);
	assert_same_in_pieces(pipelined);
}

/* AUTH PLAIN with a "+ " challenge, the user decoded, the credentials line
 * never listed (RFC 5034). */
static const struct step auth_plain[] = {
    {DIR_SERVER, "+OK ready\r\n"},
    {DIR_CLIENT, "AUTH\r\n"},
    {DIR_SERVER, "+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n"},
    {DIR_CLIENT, "AUTH PLAIN\r\n"},
    {DIR_SERVER, "+ \r\n"},
    /* "\0tim\0tanstaaftanstaaf" */
    {DIR_CLIENT, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"},
    {DIR_SERVER, "+OK Maildrop locked and ready\r\n"},
    {DIR_CLIENT, "STAT\r\n"},
    {DIR_SERVER, "+OK 0 0\r\n"},
    {0, NULL},
};

static void test_auth_plain(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open(false);
	play(f, auth_plain, -1, 0, 0);
	char *text = render(f);
	assert_contains(text, "\"user\":\"tim\",\"auth\":\"PLAIN\",\"authenticated\":true");
	assert_contains(text, "\"commands\":[\"AUTH\",\"AUTH PLAIN\",\"STAT\"]");
	assert_lacks(text, "AHRpbQB0");
	assert_lacks(text, "tanstaaf");
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "pop3.auth_challenge"), 1);
	free(text);
	flow_close(f);
	assert_same_in_pieces(auth_plain);

	text = run(auth_plain, true);
	assert_contains(text, "\"password\":\"tanstaaftanstaaf\"");
	free(text);
}

static void test_auth_login_and_initial_response(void **unused)
{
	(void)unused;
	static const struct step login[] = {
	    {DIR_SERVER, "+OK\r\n"},
	    {DIR_CLIENT, "AUTH LOGIN\r\n"},
	    {DIR_SERVER, "+ VXNlcm5hbWU6\r\n"},
	    {DIR_CLIENT, "Ym9i\r\n"}, /* bob */
	    {DIR_SERVER, "+ UGFzc3dvcmQ6\r\n"},
	    {DIR_CLIENT, "aHVudGVyMg==\r\n"}, /* hunter2 */
	    {DIR_SERVER, "-ERR [AUTH] nope\r\n"},
	    {0, NULL},
	};
	char *text = run(login, false);
	assert_contains(text, "\"user\":\"bob\",\"auth\":\"LOGIN\",\"authenticated\":false");
	assert_contains(text, "\"commands\":[\"AUTH LOGIN\"]");
	assert_contains(text, "\"last_error\":\"[AUTH] nope\"");
	assert_lacks(text, "hunter2");
	free(text);
	text = run(login, true);
	assert_contains(text, "\"password\":\"hunter2\"");
	free(text);

	/* an initial response on the AUTH line (RFC 5034), then a cancel */
	static const struct step initial[] = {
	    {DIR_SERVER, "+OK\r\n"},
	    {DIR_CLIENT, "AUTH PLAIN AGNhcm9sAHNlY3JldA==\r\n"}, /* \0carol\0secret */
	    {DIR_SERVER, "+OK\r\n"},
	    {DIR_CLIENT, "AUTH CRAM-MD5\r\n"},
	    {DIR_SERVER, "+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2U+\r\n"},
	    {DIR_CLIENT, "*\r\n"},
	    {DIR_SERVER, "-ERR cancelled\r\n"},
	    {DIR_CLIENT, "NOOP\r\n"},
	    {DIR_SERVER, "+OK\r\n"},
	    {0, NULL},
	};
	struct tflow *f = flow_open(false);
	play(f, initial, -1, 0, 0);
	text = render(f);
	assert_contains(text, "\"user\":\"carol\",\"auth\":\"CRAM-MD5\",\"authenticated\":false");
	assert_contains(text, "\"commands\":[\"AUTH PLAIN ****\",\"AUTH CRAM-MD5\",\"NOOP\"]");
	assert_lacks(text, "AGNhcm9s");
	assert_int_equal(session_counter_value(f->s, "pop3.auth_cancelled"), 1);
	free(text);
	flow_close(f);
}

static void test_auth_xoauth2(void **unused)
{
	(void)unused;
	/* the capture suricata's pop3-auth-01 test carries, without greeting */
	static const struct step xo[] = {
	    {DIR_CLIENT, "CAPA\r\n"},
	    {DIR_SERVER, "+OK Capability list follows\r\nUSER\r\n.\r\n"},
	    {DIR_CLIENT, "AUTH XOAUTH2\r\n"},
	    {DIR_SERVER, "+ \r\n"},
	    {DIR_CLIENT, "dXNlcj1qb2Uuc3BlZWRib2F0AWF1dGg9QmVhcmVyIEFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
	                 "QUFBQUEBAQ==\r\n"},
	    {DIR_SERVER, "+OK Welcome.\r\n"},
	    {DIR_CLIENT, "STAT\r\n"},
	    {DIR_SERVER, "+OK 1 308661\r\n"},
	    {0, NULL},
	};
	char *text = run(xo, false);
	assert_contains(text, "\"banner\":null,\"user\":\"joe.speedboat\",\"auth\":\"XOAUTH2\"");
	assert_contains(text, "\"commands\":[\"CAPA\",\"AUTH XOAUTH2\",\"STAT\"]");
	assert_contains(text, "\"capabilities\":[\"USER\"]");
	free(text);

	static const struct step ob[] = {
	    {DIR_SERVER, "+OK\r\n"},
	    /* "n,a=dan@example.com,\x01host=x\x01\x01" */
	    {DIR_CLIENT, "AUTH OAUTHBEARER bixhPWRhbkBleGFtcGxlLmNvbSwBaG9zdD14AQE=\r\n"},
	    {DIR_SERVER, "+OK\r\n"},
	    {0, NULL},
	};
	text = run(ob, false);
	assert_contains(text, "\"user\":\"dan@example.com\",\"auth\":\"OAUTHBEARER\"");
	free(text);
}

static const char tls_hello[] = "\x16\x03\x01\x00\x05hello";

static void test_stls(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open(false);
	feed_str(f, DIR_SERVER, "+OK ready\r\n");
	feed_str(f, DIR_CLIENT, "CAPA\r\n");
	feed_str(f, DIR_SERVER, "+OK\r\nSTLS\r\n.\r\n");
	feed_str(f, DIR_CLIENT, "STLS\r\n");
	/* the client's next bytes wait for the answer */
	feed(f, DIR_CLIENT, tls_hello, sizeof tls_hello - 1);
	assert_int_equal(f->consumed[DIR_CLIENT], strlen("CAPA\r\nSTLS\r\n"));
	feed_str(f, DIR_SERVER, "+OK Begin TLS\r\n");
	size_t server_before_tls = f->consumed[DIR_SERVER];
	/* (after a handoff the core gives these to TLS; this helper still
	 * offers them to POP3, which ignores them) */
	feed(f, DIR_SERVER, "\x16\x03\x03\x00\x01x", 6);
	const char *target = session_handoff_target(f->s);
	assert_true((target != NULL) == (dissector_by_name("tls") != NULL));
	char *text = render(f);
	assert_contains(text, "\"commands\":[\"CAPA\",\"STLS\"]");
	assert_contains(text, "\"starttls\":true");
	if (target) {
		assert_string_equal(target, "tls");
		assert_int_equal(server_before_tls, strlen("+OK ready\r\n+OK\r\nSTLS\r\n.\r\n"
		                                           "+OK Begin TLS\r\n"));
	} else {
		assert_int_equal(session_counter_value(f->s, "pop3.starttls_not_dissected"), 1);
		feed_str(f, DIR_CLIENT, "USER not-parsed\r\n");
		assert_int_equal(f->len[DIR_CLIENT], 0);
		assert_int_equal(f->len[DIR_SERVER], 0);
		free(text);
		text = render(f);
		assert_contains(text, "\"encrypted_bytes\":{\"client\":27,\"server\":6}");
		assert_lacks(text, "not-parsed");
	}
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);

	/* STLS refused: POP3 goes on in clear */
	static const struct step refused[] = {
	    {DIR_SERVER, "+OK\r\n"},    {DIR_CLIENT, "STLS\r\n"}, {DIR_SERVER, "-ERR no TLS\r\n"},
	    {DIR_CLIENT, "USER u\r\n"}, {DIR_SERVER, "+OK\r\n"},  {0, NULL},
	};
	text = run(refused, false);
	assert_contains(text, "\"user\":\"u\"");
	assert_contains(text, "\"commands\":[\"STLS\",\"USER u\"]");
	assert_contains(text, "\"starttls\":false");
	free(text);
}

static void test_every_truncation_point(void **unused)
{
	(void)unused;
	size_t total = 0;
	for (int i = 0; rfc1939[i].text; i++)
		total += strlen(rfc1939[i].text);
	for (size_t cutoff = 0; cutoff <= total; cutoff++) {
		struct tflow *f = flow_open(false);
		size_t fed = 0;
		for (int i = 0; rfc1939[i].text && fed < cutoff; i++) {
			size_t n = strlen(rfc1939[i].text);
			size_t take = cutoff - fed < n ? cutoff - fed : n;
			feed(f, rfc1939[i].dir, rfc1939[i].text, take);
			fed += take;
		}
		D.on_end(f->s, f->state);
		char *text = render(f);
		assert_contains(text, "\"starttls\":false");
		if (cutoff >= strlen(rfc1939[0].text))
			assert_contains(text, "\"banner\":\"POP3 server ready");
		else
			assert_contains(text, "\"banner\":null");
		if (cutoff == total)
			assert_lacks(text, "incomplete");
		assert_false(session_has_alert(f->s, ALERT_MALFORMED));
		free(text);
		flow_close(f);
	}
}

static void test_gap(void **unused)
{
	(void)unused;
	/* a hole inside a message: its terminator still ends it */
	struct tflow *f = flow_open(false);
	feed_str(f, DIR_SERVER, "+OK\r\n");
	feed_str(f, DIR_CLIENT, "RETR 1\r\n");
	feed_str(f, DIR_SERVER, "+OK\r\nline one\r\nline t");
	gap(f, DIR_SERVER, 1000);
	feed_str(f, DIR_SERVER, "wo\r\nthree\r\n.\r\n");
	feed_str(f, DIR_CLIENT, "QUIT\r\n");
	feed_str(f, DIR_SERVER, "+OK bye\r\n");
	D.on_end(f->s, f->state);
	char *text = render(f);
	assert_contains(text, "\"results\":[\"+OK\",\"+OK\"]");
	assert_contains(text, "\"messages_retrieved\":1");
	assert_contains(text, "\"gap\":true");
	assert_lacks(text, "incomplete");
	free(text);
	flow_close(f);

	/* the terminator itself lost: the next status line ends the answer */
	f = flow_open(false);
	feed_str(f, DIR_SERVER, "+OK\r\n");
	feed_str(f, DIR_CLIENT, "RETR 1\r\n");
	feed_str(f, DIR_SERVER, "+OK\r\nbody\r\n");
	gap(f, DIR_SERVER, 50);
	feed_str(f, DIR_SERVER, "tail\r\n");
	feed_str(f, DIR_CLIENT, "DELE 1\r\n");
	feed_str(f, DIR_SERVER, "+OK deleted\r\n");
	text = render(f);
	assert_contains(text, "\"results\":[\"+OK\",\"+OK\"]");
	assert_int_equal(session_counter_value(f->s, "pop3.resync"), 1);
	free(text);
	flow_close(f);

	/* a client hole mid-line: the next whole line is a command again */
	f = flow_open(false);
	feed_str(f, DIR_SERVER, "+OK\r\n");
	feed_str(f, DIR_CLIENT, "USER bo");
	gap(f, DIR_CLIENT, 10);
	feed_str(f, DIR_CLIENT, "b\r\nNOOP\r\n");
	text = render(f);
	assert_contains(text, "\"commands\":[\"NOOP\"]");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
}

static void test_caps_and_malformed(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open(false);
	feed_str(f, DIR_SERVER, "+OK\r\n");
	for (int i = 0; i < 70; i++) {
		feed_str(f, DIR_CLIENT, "NOOP\r\n");
		feed_str(f, DIR_SERVER, "+OK\r\n");
	}
	feed_str(f, DIR_CLIENT, "CAPA\r\n");
	feed_str(f, DIR_SERVER, "+OK\r\n");
	for (int i = 0; i < 40; i++)
		feed_str(f, DIR_SERVER, "X-CAP\r\n");
	feed_str(f, DIR_SERVER, ".\r\n");
	D.on_end(f->s, f->state);
	char *text = render(f);
	assert_contains(text, "\"truncated\":7");
	assert_contains(text, "\"capabilities_truncated\":8");
	assert_int_equal(session_counter_value(f->s, "pop3.too_many_commands"), 1);
	assert_int_equal(session_counter_value(f->s, "pop3.too_many_capabilities"), 1);
	assert_lacks(text, "incomplete");
	free(text);
	flow_close(f);

	/* more unanswered commands than the ring holds: counted */
	f = flow_open(false);
	feed_str(f, DIR_SERVER, "+OK\r\n");
	for (int i = 0; i < 40; i++)
		feed_str(f, DIR_CLIENT, "NOOP\r\n");
	for (int i = 0; i < 40; i++)
		feed_str(f, DIR_SERVER, "+OK\r\n");
	assert_int_equal(session_counter_value(f->s, "pop3.too_many_pipelined"), 8);
	assert_int_equal(session_counter_value(f->s, "pop3.unexpected_response"), 8);
	flow_close(f);

	f = flow_open(false);
	feed_str(f, DIR_SERVER, "+OK\r\n");
	feed_str(f, DIR_CLIENT, "\x16\x03\x01 junk\r\nSTAT\r\n");
	feed_str(f, DIR_SERVER, "garbage\r\n+OK 0 0\r\n");
	text = render(f);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "pop3.bad_command"), 1);
	assert_int_equal(session_counter_value(f->s, "pop3.bad_response"), 1);
	assert_contains(text, "\"commands\":[\"STAT\"],\"results\":[\"+OK\"]");
	free(text);
	flow_close(f);

	/* a long line is cut, never buffered whole */
	f = flow_open(false);
	feed_str(f, DIR_SERVER, "+OK\r\n");
	char *big = malloc(20001);
	assert_non_null(big);
	memset(big, 'u', 20000);
	big[20000] = '\0';
	feed_str(f, DIR_CLIENT, "USER ");
	for (int i = 0; i < 20; i++)
		feed(f, DIR_CLIENT, big + i * 1000, 1000);
	assert_true(f->len[DIR_CLIENT] <= 8192 + 2);
	feed_str(f, DIR_CLIENT, "\r\n");
	text = render(f);
	assert_int_equal(session_counter_value(f->s, "pop3.line_too_long"), 1);
	char *user = strstr(text, "\"user\":\"");
	assert_non_null(user);
	assert_int_equal(strspn(user + 8, "u"), 256);
	free(text);
	free(big);
	flow_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_rfc1939_session),
	    cmocka_unit_test(test_user_pass_hidden),
	    cmocka_unit_test(test_pipelined),
	    cmocka_unit_test(test_auth_plain),
	    cmocka_unit_test(test_auth_login_and_initial_response),
	    cmocka_unit_test(test_auth_xoauth2),
	    cmocka_unit_test(test_stls),
	    cmocka_unit_test(test_every_truncation_point),
	    cmocka_unit_test(test_gap),
	    cmocka_unit_test(test_caps_and_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
