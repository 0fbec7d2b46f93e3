/* IMAP (dissectors/imap.c): sessions fed the way the core feeds a stream
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

extern const struct dissector imap_dissector;
#define D imap_dissector

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
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 143}};
	struct tflow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->s = session_detached_new(true, &client, 40000, &server, 143);
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
	assert_int_equal(probe("* OK IMAP4rev2 Service Ready\r\n", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("* PREAUTH IMAP4rev2 server logged in as Smith\r\n", DIR_SERVER),
	                 VERDICT_YES);
	assert_int_equal(probe("* BYE Autologout; idle for too long\r\n", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("a001 CAPABILITY\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe(". capability\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("A1 LOGIN smith sesame\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("a AUTHENTICATE PLAIN\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("x1 STARTTLS\r\n", DIR_CLIENT), VERDICT_YES);

	assert_int_equal(probe("", DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe("*", DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe("* O", DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe("a001", DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe("a001 CAPA", DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe("a001 LOGIN", DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(D.probe(rd_init(NULL, 0), DIR_CLIENT), VERDICT_NEED_MORE);

	/* other protocols' first bytes */
	assert_int_equal(probe("+OK POP3 ready\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("220 mail.example.com ESMTP\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("220 (vsFTPd 3.0.3)\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("EHLO client.example\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("AUTH LOGIN\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("USER alice\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("GET / HTTP/1.1\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("HTTP/1.1 200 OK\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("SSH-2.0-OpenSSH_9.2\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("* 1 FETCH (FLAGS ())\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("a1 SELECT INBOX\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("a1 LOGINX\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("\x16\x03\x01\x02\x00", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("\xff\xfd\x18", DIR_SERVER), VERDICT_NO);
}

/* ---- sessions ---- */

/* After RFC 9051 section 8, with a quoted LOGIN and a FETCH literal whose
 * content looks like protocol lines. */
static const struct step basic[] = {
    {DIR_SERVER, "* OK [CAPABILITY IMAP4rev2 STARTTLS AUTH=PLAIN] IMAP4rev2 Service Ready\r\n"},
    {DIR_CLIENT, "a001 CAPABILITY\r\n"},
    {DIR_SERVER, "* CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n"
                 "a001 OK CAPABILITY completed\r\n"},
    {DIR_CLIENT, "a002 LOGIN \"sm\\\"ith\" \"open sesame\"\r\n"},
    {DIR_SERVER, "a002 OK [CAPABILITY IMAP4rev2 IDLE] LOGIN completed\r\n"},
    {DIR_CLIENT, "a003 SELECT INBOX\r\n"},
    {DIR_SERVER, "* 172 EXISTS\r\n* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
                 "a003 OK [READ-WRITE] SELECT completed\r\n"},
    {DIR_CLIENT, "a004 FETCH 12 (FLAGS BODY[HEADER])\r\n"},
    {DIR_SERVER, "* 12 FETCH (FLAGS (\\Seen) BODY[HEADER] {44}\r\n"
                 "a004 OK fake\r\n* BYE fake\r\n{99}\r\nSubject: x\r\n"
                 ")\r\na004 OK FETCH completed\r\n"},
    {DIR_CLIENT, "a005 STORE 12 +FLAGS (\\Deleted)\r\n"},
    {DIR_SERVER, "a005 NO [READ-ONLY] not allowed\r\n"},
    {DIR_CLIENT, "a006 LOGOUT\r\n"},
    {DIR_SERVER, "* BYE IMAP4rev2 Server logging out\r\na006 OK LOGOUT completed\r\n"},
    {0, NULL},
};

static void test_basic_session(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open(false);
	play(f, basic, -1, 0, 0);
	D.on_end(f->s, f->state);
	char *text = render(f);
	assert_string_equal(
	    text,
	    "{\"banner\":\"[CAPABILITY IMAP4rev2 STARTTLS AUTH=PLAIN] IMAP4rev2 Service Ready\","
	    "\"user\":\"sm\\\"ith\",\"auth\":null,\"authenticated\":true,"
	    "\"commands\":[\"a001 CAPABILITY\",\"a002 LOGIN sm\\\"ith ****\",\"a003 SELECT INBOX\","
	    "\"a004 FETCH 12 (FLAGS BODY[HEADER])\",\"a005 STORE 12 +FLAGS (\\\\Deleted)\","
	    "\"a006 LOGOUT\"],"
	    "\"results\":[\"OK\",\"OK\",\"OK\",\"OK\",\"NO\",\"OK\"],"
	    "\"capabilities\":[\"IMAP4rev2\",\"STARTTLS\",\"AUTH=PLAIN\",\"AUTH=GSSAPI\","
	    "\"LOGINDISABLED\",\"IDLE\"],"
	    "\"responses\":{\"ok\":5,\"no\":1,\"bad\":0,\"untagged\":6,\"continuations\":0},"
	    "\"last_error\":\"[READ-ONLY] not allowed\",\"bye\":true,"
	    "\"literal_bytes\":{\"client\":0,\"server\":44},\"starttls\":false}");
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_lacks(text, "sesame");
	char buf[64];
	D.summarize(f->state, buf, sizeof buf);
	assert_string_equal(buf, "user sm\"ith, 6 commands");
	free(text);
	flow_close(f);
	assert_same_in_pieces(basic);

	text = run(basic, true);
	assert_contains(text, "\"password\":\"open sesame\"");
	assert_contains(text, "\"a002 LOGIN sm\\\"ith open sesame\"");
	free(text);
}

/* LOGIN with literals: synchronising (after "+ ") and non-synchronising. */
static const struct step login_literal[] = {
    {DIR_SERVER, "* OK ready\r\n"},
    {DIR_CLIENT, "A1 LOGIN {5}\r\n"},
    {DIR_SERVER, "+ Ready for additional command text\r\n"},
    {DIR_CLIENT, "fr{d} {6}\r\n"},
    {DIR_SERVER, "+ go\r\n"},
    {DIR_CLIENT, "s\r\n ec\r\n"},
    {DIR_SERVER, "A1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"},
    {DIR_CLIENT, "A2 LOGIN {4+}\r\nfred \"pass\\\\word\"\r\n"},
    {DIR_SERVER, "A2 OK done\r\n"},
    {0, NULL},
};

static void test_login_literal(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open(false);
	play(f, login_literal, -1, 0, 0);
	char *text = render(f);
	assert_contains(text, "\"user\":\"fred\"");
	assert_contains(text, "\"commands\":[\"A1 LOGIN fr{d} ****\",\"A2 LOGIN fred ****\"]");
	assert_contains(text, "\"results\":[\"NO\",\"OK\"]");
	assert_contains(text, "\"literal_bytes\":{\"client\":15,\"server\":0}");
	assert_contains(text, "\"responses\":{\"ok\":1,\"no\":1,\"bad\":0,\"untagged\":1,"
	                      "\"continuations\":2}");
	assert_lacks(text, "\"password\"");
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
	assert_same_in_pieces(login_literal);

	text = run(login_literal, true);
	assert_contains(text, "\"password\":\"pass\\\\word\"");
	assert_contains(text, "\"A1 LOGIN fr{d} s\\r\\n ec\"");
	free(text);

	/* an atom user, then the server's literal-looking text is not one */
	static const struct step atom[] = {
	    {DIR_SERVER, "* OK ready\r\n"},
	    {DIR_CLIENT, "t LOGIN joe secret\r\n"},
	    {DIR_SERVER, "t OK welcome {not a literal}\r\n"},
	    {DIR_CLIENT, "u NOOP\r\n"},
	    {DIR_SERVER, "u OK\r\n"},
	    {0, NULL},
	};
	text = run(atom, false);
	assert_contains(text, "\"user\":\"joe\"");
	assert_contains(text, "\"commands\":[\"t LOGIN joe ****\",\"u NOOP\"]");
	assert_contains(text, "\"results\":[\"OK\",\"OK\"]");
	free(text);
}

/* APPEND carries a message as a literal: its lines are not commands. */
static const struct step append[] = {
    {DIR_SERVER, "* PREAUTH logged in as joe\r\n"},
    {DIR_CLIENT, "A003 APPEND saved-messages (\\Seen) {34}\r\n"},
    {DIR_SERVER, "+ Ready for literal data\r\n"},
    {DIR_CLIENT, "a9 LOGIN x y\r\nb9 DELETE INBOX\r\n\r\n\r\n"},
    {DIR_SERVER, "A003 OK APPEND completed\r\n"},
    {DIR_CLIENT, "A004 APPEND box ~{3+}\r\nabc UTF8 (~{2+}\r\nxy)\r\n"},
    {DIR_SERVER, "A004 OK\r\n"},
    {0, NULL},
};

static void test_append_literal(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open(false);
	play(f, append, -1, 0, 0);
	D.on_end(f->s, f->state);
	char *text = render(f);
	assert_contains(text, "\"preauth\":true,\"user\":null");
	assert_contains(text, "\"commands\":[\"A003 APPEND saved-messages (\\\\Seen) {34}\","
	                      "\"A004 APPEND box ~{3+} UTF8 (~{2+})\"]");
	assert_contains(text, "\"results\":[\"OK\",\"OK\"]");
	assert_contains(text, "\"literal_bytes\":{\"client\":39,\"server\":0}");
	assert_lacks(text, "LOGIN");
	assert_lacks(text, "incomplete");
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
	assert_same_in_pieces(append);
}

/* AUTHENTICATE PLAIN after "+ ", the response decoded, never listed. */
static const struct step auth_plain[] = {
    {DIR_SERVER, "* OK ready\r\n"},
    {DIR_CLIENT, "a AUTHENTICATE PLAIN\r\n"},
    {DIR_SERVER, "+ \r\n"},
    /* "\0tim\0tanstaaftanstaaf" */
    {DIR_CLIENT, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"},
    {DIR_SERVER, "a OK [CAPABILITY IMAP4rev2] Success\r\n"},
    {DIR_CLIENT, "b IDLE\r\n"},
    {DIR_SERVER, "+ idling\r\n* 4 EXISTS\r\n"},
    {DIR_CLIENT, "DONE\r\n"},
    {DIR_SERVER, "b OK IDLE terminated\r\n"},
    {0, NULL},
};

static void test_authenticate(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open(false);
	play(f, auth_plain, -1, 0, 0);
	char *text = render(f);
	assert_contains(text, "\"user\":\"tim\",\"auth\":\"PLAIN\",\"authenticated\":true");
	assert_contains(text, "\"commands\":[\"a AUTHENTICATE PLAIN\",\"b IDLE\"]");
	assert_contains(text, "\"results\":[\"OK\",\"OK\"]");
	assert_lacks(text, "AHRpbQB0");
	assert_lacks(text, "DONE");
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "imap.auth_challenge"), 1);
	assert_int_equal(session_counter_value(f->s, "imap.idle_done"), 1);
	free(text);
	flow_close(f);
	assert_same_in_pieces(auth_plain);

	text = run(auth_plain, true);
	assert_contains(text, "\"password\":\"tanstaaftanstaaf\"");
	free(text);

	/* LOGIN mechanism; SASL-IR; a cancelled exchange */
	static const struct step more[] = {
	    {DIR_SERVER, "* OK\r\n"},
	    {DIR_CLIENT, "1 AUTHENTICATE LOGIN\r\n"},
	    {DIR_SERVER, "+ VXNlcm5hbWU6\r\n"},
	    {DIR_CLIENT, "Ym9i\r\n"},
	    {DIR_SERVER, "+ UGFzc3dvcmQ6\r\n"},
	    {DIR_CLIENT, "aHVudGVyMg==\r\n"},
	    {DIR_SERVER, "1 NO [AUTHENTICATIONFAILED] no\r\n"},
	    {DIR_CLIENT, "2 AUTHENTICATE GSSAPI\r\n"},
	    {DIR_SERVER, "+ \r\n"},
	    {DIR_CLIENT, "*\r\n"},
	    {DIR_SERVER, "2 BAD cancelled\r\n"},
	    {DIR_CLIENT, "3 AUTHENTICATE PLAIN AGNhcm9sAHNlY3JldA==\r\n"},
	    {DIR_SERVER, "3 OK\r\n"},
	    {0, NULL},
	};
	f = flow_open(false);
	play(f, more, -1, 0, 0);
	text = render(f);
	assert_contains(text, "\"user\":\"carol\",\"auth\":\"PLAIN\",\"authenticated\":true");
	assert_contains(text, "\"commands\":[\"1 AUTHENTICATE LOGIN\",\"2 AUTHENTICATE GSSAPI\","
	                      "\"3 AUTHENTICATE PLAIN ****\"]");
	assert_contains(text, "\"results\":[\"NO\",\"BAD\",\"OK\"]");
	assert_lacks(text, "hunter2");
	assert_lacks(text, "AGNhcm9s");
	assert_int_equal(session_counter_value(f->s, "imap.auth_cancelled"), 1);
	free(text);
	flow_close(f);
	text = run(more, true);
	assert_contains(text, "\"password\":\"secret\"");
	free(text);
}

static const char tls_hello[] = "\x16\x03\x01\x00\x05hello";

static void test_starttls(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open(false);
	feed_str(f, DIR_SERVER, "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n");
	feed_str(f, DIR_CLIENT, ". STARTTLS\r\n");
	feed(f, DIR_CLIENT, tls_hello, sizeof tls_hello - 1);
	assert_int_equal(f->consumed[DIR_CLIENT], strlen(". STARTTLS\r\n"));
	feed_str(f, DIR_SERVER, ". OK Begin TLS negotiation now\r\n");
	feed(f, DIR_SERVER, "\x16\x03\x03\x00\x01x", 6);
	const char *target = session_handoff_target(f->s);
	assert_true((target != NULL) == (dissector_by_name("tls") != NULL));
	char *text = render(f);
	assert_contains(text, "\"commands\":[\". STARTTLS\"],\"results\":[\"OK\"]");
	assert_contains(text, "\"starttls\":true");
	if (!target) {
		assert_int_equal(session_counter_value(f->s, "imap.starttls_not_dissected"), 1);
		feed_str(f, DIR_CLIENT, "a LOGIN not parsed\r\n");
		assert_int_equal(f->len[DIR_CLIENT], 0);
		free(text);
		text = render(f);
		assert_contains(text, "\"encrypted_bytes\":{\"client\":30,\"server\":6}");
		assert_lacks(text, "parsed");
	}
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);

	static const struct step refused[] = {
	    {DIR_SERVER, "* OK\r\n"},     {DIR_CLIENT, "s STARTTLS\r\n"},
	    {DIR_SERVER, "s BAD no\r\n"}, {DIR_CLIENT, "l LOGIN u p\r\n"},
	    {DIR_SERVER, "l OK\r\n"},     {0, NULL},
	};
	text = run(refused, false);
	assert_contains(text, "\"user\":\"u\"");
	assert_contains(text, "\"results\":[\"BAD\",\"OK\"]");
	assert_contains(text, "\"starttls\":false");
	free(text);
}

/* Overlapping commands complete by tag, in any order. */
static void test_out_of_order_completion(void **unused)
{
	(void)unused;
	static const struct step overlap[] = {
	    {DIR_SERVER, "* OK\r\n"},
	    {DIR_CLIENT, "x1 FETCH 1 RFC822\r\nx2 NOOP\r\nx3 STATUS a (MESSAGES)\r\n"},
	    {DIR_SERVER, "x2 OK\r\n* 1 FETCH (RFC822 {5}\r\nx1 OK)\r\nx3 NO\r\nx1 BAD\r\n"},
	    {DIR_SERVER, "zz OK unknown\r\n"},
	    {0, NULL},
	};
	struct tflow *f = flow_open(false);
	play(f, overlap, -1, 0, 0);
	char *text = render(f);
	assert_contains(text, "\"results\":[\"BAD\",\"OK\",\"NO\"]");
	assert_int_equal(session_counter_value(f->s, "imap.unknown_tag"), 1);
	free(text);
	flow_close(f);
}

static void test_every_truncation_point(void **unused)
{
	(void)unused;
	const struct step *sessions[] = {basic, login_literal, append, NULL};
	for (int k = 0; sessions[k]; k++) {
		const struct step *st = sessions[k];
		size_t total = 0;
		for (int i = 0; st[i].text; i++)
			total += strlen(st[i].text);
		for (size_t cutoff = 0; cutoff <= total; cutoff++) {
			struct tflow *f = flow_open(false);
			size_t fed = 0;
			for (int i = 0; st[i].text && fed < cutoff; i++) {
				size_t n = strlen(st[i].text);
				size_t take = cutoff - fed < n ? cutoff - fed : n;
				feed(f, st[i].dir, st[i].text, take);
				fed += take;
			}
			D.on_end(f->s, f->state);
			char *text = render(f);
			assert_contains(text, "\"starttls\":false");
			if (cutoff == total)
				assert_lacks(text, "incomplete");
			assert_false(session_has_alert(f->s, ALERT_MALFORMED));
			free(text);
			flow_close(f);
		}
	}
}

static void test_gap(void **unused)
{
	(void)unused;
	/* a hole inside a server literal: still in step */
	struct tflow *f = flow_open(false);
	feed_str(f, DIR_SERVER, "* OK\r\n");
	feed_str(f, DIR_CLIENT, "f FETCH 1 BODY[]\r\n");
	feed_str(f, DIR_SERVER, "* 1 FETCH (BODY[] {1000}\r\nabc");
	gap(f, DIR_SERVER, 990);
	feed_str(f, DIR_SERVER, "1234567)\r\nf OK done\r\n");
	D.on_end(f->s, f->state);
	char *text = render(f);
	assert_contains(text, "\"results\":[\"OK\"]");
	assert_contains(text, "\"literal_bytes\":{\"client\":0,\"server\":1000}");
	assert_contains(text, "\"gap\":true");
	assert_lacks(text, "incomplete");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);

	/* a hole past a literal: lines again from the next one */
	f = flow_open(false);
	feed_str(f, DIR_SERVER, "* OK\r\n");
	feed_str(f, DIR_CLIENT, "f FETCH 1 BODY[]\r\ng NOOP\r\n");
	feed_str(f, DIR_SERVER, "* 1 FETCH (BODY[] {10}\r\nabc");
	gap(f, DIR_SERVER, 30);
	feed_str(f, DIR_SERVER, "rest of a line\r\ng OK\r\n");
	text = render(f);
	assert_contains(text, "\"results\":[null,\"OK\"]");
	free(text);
	flow_close(f);

	/* a client hole inside a LOGIN: that command is lost */
	f = flow_open(false);
	feed_str(f, DIR_SERVER, "* OK\r\n");
	feed_str(f, DIR_CLIENT, "a LOGIN {5}\r\nal");
	gap(f, DIR_CLIENT, 100);
	feed_str(f, DIR_CLIENT, "x\r\nb NOOP\r\n");
	text = render(f);
	assert_contains(text, "\"commands\":[\"b NOOP\"]");
	assert_int_equal(session_counter_value(f->s, "imap.incomplete_command"), 1);
	free(text);
	flow_close(f);
}

static void test_caps_and_malformed(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open(false);
	char line[64];
	feed_str(f, DIR_SERVER, "* OK\r\n* CAPABILITY");
	for (int i = 0; i < 70; i++) {
		snprintf(line, sizeof line, " X-CAP%d", i);
		feed_str(f, DIR_SERVER, line);
	}
	feed_str(f, DIR_SERVER, " x-cap1\r\n");
	for (int i = 0; i < 70; i++) {
		snprintf(line, sizeof line, "t%d NOOP\r\n", i);
		feed_str(f, DIR_CLIENT, line);
	}
	for (int i = 0; i < 70; i++) {
		snprintf(line, sizeof line, "t%d OK\r\n", i);
		feed_str(f, DIR_SERVER, line);
	}
	char *text = render(f);
	assert_contains(text, "\"truncated\":6");
	assert_contains(text, "\"capabilities_truncated\":6");
	assert_int_equal(session_counter_value(f->s, "imap.too_many_commands"), 1);
	assert_int_equal(session_counter_value(f->s, "imap.too_many_capabilities"), 1);
	/* 70 outstanding tags, 32 remembered: the first 38 were forgotten */
	assert_int_equal(session_counter_value(f->s, "imap.too_many_pending"), 38);
	assert_int_equal(session_counter_value(f->s, "imap.unknown_tag"), 38);
	free(text);
	flow_close(f);

	f = flow_open(false);
	feed_str(f, DIR_SERVER, "* OK\r\n");
	feed_str(f, DIR_CLIENT, "\x16\x03\x01\r\nnoverb\r\na1 NOOP\r\n");
	feed_str(f, DIR_SERVER, "garbage here\r\n* 1 FETCH {99999999999999999999}\r\na1 OK\r\n");
	text = render(f);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "imap.bad_command"), 2);
	assert_int_equal(session_counter_value(f->s, "imap.bad_response"), 1);
	assert_int_equal(session_counter_value(f->s, "imap.bad_literal"), 1);
	assert_contains(text, "\"commands\":[\"a1 NOOP\"],\"results\":[\"OK\"]");
	free(text);
	flow_close(f);

	/* a long line is cut, never buffered whole; a long literal is skipped */
	f = flow_open(false);
	feed_str(f, DIR_SERVER, "* OK\r\n");
	char *big = malloc(40001);
	assert_non_null(big);
	memset(big, 'q', 40000);
	big[40000] = '\0';
	feed_str(f, DIR_CLIENT, "a1 SEARCH ");
	for (int i = 0; i < 40; i++)
		feed(f, DIR_CLIENT, big + i * 1000, 1000);
	assert_true(f->len[DIR_CLIENT] <= 16384 + 2);
	feed_str(f, DIR_CLIENT, "\r\n");
	feed_str(f, DIR_SERVER, "* 1 FETCH (BODY[] {40000}\r\n");
	for (int i = 0; i < 40; i++)
		feed(f, DIR_SERVER, big + i * 1000, 1000);
	assert_int_equal(f->len[DIR_SERVER], 0);
	feed_str(f, DIR_SERVER, ")\r\na1 OK\r\n");
	text = render(f);
	assert_int_equal(session_counter_value(f->s, "imap.line_too_long"), 1);
	assert_contains(text, "\"results\":[\"OK\"]");
	assert_contains(text, "\"server\":40000}");
	free(text);
	free(big);
	flow_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_basic_session),
	    cmocka_unit_test(test_login_literal),
	    cmocka_unit_test(test_append_literal),
	    cmocka_unit_test(test_authenticate),
	    cmocka_unit_test(test_starttls),
	    cmocka_unit_test(test_out_of_order_completion),
	    cmocka_unit_test(test_every_truncation_point),
	    cmocka_unit_test(test_gap),
	    cmocka_unit_test(test_caps_and_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
