/* SMTP (dissectors/smtp.c): conversations fed the way the core feeds a
 * stream (unconsumed bytes kept and handed back with the next ones), whole,
 * split at every byte, byte by byte and cut short, and the record read back
 * as JSON. */
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

extern const struct dissector smtp_dissector;

/* ---- a stream the way src/dissect.c drives it ---- */

struct smtp_flow {
	struct session *s;
	void *state;
	uint8_t *pending[2];
	size_t len[2];
};

static struct smtp_flow *flow_open_creds(bool show_credentials)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 25}};
	struct smtp_flow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->s = session_detached_new(true, &client, 40000, &server, 25);
	f->state = calloc(1, smtp_dissector.state_size);
	assert_non_null(f->s);
	assert_non_null(f->state);
	f->s->show_credentials = show_credentials;
	return f;
}

static struct smtp_flow *flow_open(void)
{
	return flow_open_creds(false);
}

static void flow_close(struct smtp_flow *f)
{
	smtp_dissector.release(f->state);
	free(f->state);
	free(f->pending[0]);
	free(f->pending[1]);
	session_detached_free(f->s);
	free(f);
}

/* Appends bytes to the direction's pending ones and hands them over until
 * the dissector stops consuming, as drain_pending does. */
static void feed(struct smtp_flow *f, enum direction dir, const void *data, size_t n)
{
	uint8_t *p = realloc(f->pending[dir], f->len[dir] + n + 1);
	assert_non_null(p);
	if (n)
		memcpy(p + f->len[dir], data, n);
	f->pending[dir] = p;
	f->len[dir] += n;
	while (f->len[dir]) {
		size_t used = smtp_dissector.on_data(f->s, f->state, dir,
		                                     rd_init(f->pending[dir], f->len[dir]));
		assert_true(used <= f->len[dir]);
		if (used == 0)
			break;
		memmove(f->pending[dir], f->pending[dir] + used, f->len[dir] - used);
		f->len[dir] -= used;
	}
}

static void feed_str(struct smtp_flow *f, enum direction dir, const char *text)
{
	feed(f, dir, text, strlen(text));
}

/* Bytes lost: the core drops what was pending and tells the dissector. */
static void gap(struct smtp_flow *f, enum direction dir, size_t missing)
{
	f->len[dir] = 0;
	smtp_dissector.on_gap(f->s, f->state, dir, missing);
}

static void end(struct smtp_flow *f)
{
	smtp_dissector.on_end(f->s, f->state);
}

/* The dissector's keys rendered as one JSON object; the caller frees it. */
static char *render(const struct smtp_flow *f)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	smtp_dissector.emit(f->state, &jw.e);
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

static size_t count_of(const char *haystack, const char *needle)
{
	size_t n = 0;
	for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- conversations: the steps in the order they cross the wire ---- */

struct step {
	enum direction dir;
	const char *text;
	size_t len;
};
#define C(t)                                                                                       \
	{                                                                                          \
		DIR_CLIENT, t, sizeof(t) - 1                                                       \
	}
#define S(t)                                                                                       \
	{                                                                                          \
		DIR_SERVER, t, sizeof(t) - 1                                                       \
	}
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Feeds the steps; step k (when k < n) in two pieces cut at `at`, or in
 * pieces of `piece` bytes when piece is not 0. */
static void feed_steps(struct smtp_flow *f, const struct step *steps, size_t n, size_t k, size_t at,
                       size_t piece)
{
	for (size_t i = 0; i < n; i++) {
		const struct step *st = &steps[i];
		if (piece) {
			for (size_t o = 0; o < st->len; o += piece)
				feed(f, st->dir, st->text + o,
				     st->len - o < piece ? st->len - o : piece);
		} else if (i == k) {
			feed(f, st->dir, st->text, at);
			feed(f, st->dir, st->text + at, st->len - at);
		} else {
			feed(f, st->dir, st->text, st->len);
		}
	}
}

static char *run_creds(const struct step *steps, size_t n, bool show_credentials)
{
	struct smtp_flow *f = flow_open_creds(show_credentials);
	feed_steps(f, steps, n, n, 0, 0);
	end(f);
	char *text = render(f);
	flow_close(f);
	return text;
}

static char *run(const struct step *steps, size_t n)
{
	return run_creds(steps, n, false);
}

/* Every step split at every byte, and every step byte by byte, renders the
 * same as the whole conversation. */
static void assert_same_at_every_split(const struct step *steps, size_t n)
{
	char *whole = run(steps, n);
	for (size_t k = 0; k < n; k++) {
		for (size_t at = 0; at <= steps[k].len; at++) {
			struct smtp_flow *f = flow_open();
			feed_steps(f, steps, n, k, at, 0);
			end(f);
			char *text = render(f);
			if (strcmp(whole, text) != 0)
				fail_msg("step %zu split at %zu: %s\nwhole: %s", k, at, text,
				         whole);
			free(text);
			flow_close(f);
		}
	}
	for (size_t piece = 1; piece <= 3; piece++) {
		struct smtp_flow *f = flow_open();
		feed_steps(f, steps, n, n, 0, piece);
		end(f);
		char *text = render(f);
		if (strcmp(whole, text) != 0)
			fail_msg("in pieces of %zu: %s\nwhole: %s", piece, text, whole);
		free(text);
		flow_close(f);
	}
	free(whole);
}

/* Every prefix of the conversation, then the end of the flow: no crash, no
 * leak, and a record with the minimum keys. */
static void assert_every_truncation(const struct step *steps, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += steps[i].len;
	for (size_t cut = 0; cut <= total; cut++) {
		struct smtp_flow *f = flow_open();
		size_t left = cut;
		for (size_t i = 0; i < n && left; i++) {
			size_t take = steps[i].len < left ? steps[i].len : left;
			feed(f, steps[i].dir, steps[i].text, take);
			left -= take;
		}
		end(f);
		char *text = render(f);
		assert_contains(text, "\"helo\":");
		assert_contains(text, "\"rcpt_to\":[");
		assert_contains(text, "\"starttls\":");
		free(text);
		flow_close(f);
	}
}

/* ---- the probe ---- */

static enum verdict probe_dir(const char *text, enum direction dir)
{
	return smtp_dissector.probe(rd_init(text, strlen(text)), dir);
}

static void test_probe(void **unused)
{
	(void)unused;
	/* greetings that say SMTP */
	assert_int_equal(probe_dir("220 mx.example.org ESMTP Postfix\r\n", DIR_SERVER),
	                 VERDICT_YES);
	assert_int_equal(probe_dir("220-xc90.example.com ESMTP Exim 4.69\r\n", DIR_SERVER),
	                 VERDICT_YES);
	assert_int_equal(probe_dir("220 smtp.example.org ready\r\n", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe_dir("220 mail Microsoft ESMTP MAIL Service", DIR_SERVER),
	                 VERDICT_YES);
	/* 220 alone: FTP greets the same way */
	assert_int_equal(probe_dir("220 ProFTPD Server (Debian) [::ffff:10.0.0.1]\r\n", DIR_SERVER),
	                 VERDICT_NEED_MORE);
	assert_int_equal(probe_dir("220 (vsFTPd 3.0.3)\r\n", DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe_dir("220 mail.example.org ready\r\n", DIR_SERVER),
	                 VERDICT_NEED_MORE);
	assert_int_equal(probe_dir("", DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe_dir("2", DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe_dir("220", DIR_SERVER), VERDICT_NEED_MORE);
	/* the client's first command */
	assert_int_equal(probe_dir("EHLO client.example.com\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe_dir("HELO x\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe_dir("ehlo x\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe_dir("EH", DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe_dir("EHLO", DIR_CLIENT), VERDICT_NEED_MORE);
	/* other protocols */
	assert_int_equal(probe_dir("USER anonymous\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe_dir("+OK POP3 server ready\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe_dir("* OK IMAP4rev1 ready\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe_dir("a001 LOGIN x y\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe_dir("GET / HTTP/1.1\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe_dir("HTTP/1.1 200 OK\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe_dir("SSH-2.0-OpenSSH_9.2\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe_dir("230 Login successful\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe_dir("220SMTP\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe_dir("MAIL FROM:<a@b>\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(smtp_dissector.probe(rd_init("\x16\x03\x01\x02\x00", 5), DIR_CLIENT),
	                 VERDICT_NO);
	assert_int_equal(smtp_dissector.probe(rd_init(NULL, 0), DIR_CLIENT), VERDICT_NEED_MORE);
}

static void test_descriptor(void **unused)
{
	(void)unused;
	assert_string_equal(smtp_dissector.name, "smtp");
	assert_int_equal(smtp_dissector.ports[0], 25);
	assert_int_equal(smtp_dissector.ports[1], 587);
	assert_int_equal(smtp_dissector.ports[2], 0);
	assert_true(smtp_dissector.transports & TRANSPORT_BIT_TCP);
}

/* ---- a whole session ---- */

/* "\0alice\0secret" */
static const struct step full_session[] = {
    S("220 mail.example.org ESMTP Postfix\r\n"),
    C("EHLO client.example.com\r\n"),
    S("250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
      "250-AUTH PLAIN LOGIN\r\n250 CHUNKING\r\n"),
    C("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
    S("235 2.7.0 Authentication successful\r\n"),
    C("MAIL FROM:<alice@example.com> SIZE=123\r\n"),
    S("250 2.1.0 Ok\r\n"),
    C("RCPT TO:<bob@example.net>\r\n"),
    S("250 2.1.5 Ok\r\n"),
    C("RCPT TO: <carol@example.net> NOTIFY=NEVER\r\n"),
    S("250 2.1.5 Ok\r\n"),
    C("DATA\r\n"),
    S("354 End data with <CR><LF>.<CR><LF>\r\n"),
    C("Subject: Hello\r\n there\r\nMessage-ID: <1@example.com>\r\n\r\nBody line\r\n"
      "..dot line\r\nSubject: not a header\r\n.\r\n"),
    S("250 2.0.0 Ok: queued as ABC\r\n"),
    C("QUIT\r\n"),
    S("221 2.0.0 Bye\r\n"),
};

static const char full_message[] = "Subject: Hello\r\n there\r\nMessage-ID: <1@example.com>\r\n"
                                   "\r\nBody line\r\n.dot line\r\nSubject: not a header\r\n";

static void test_full_session(void **unused)
{
	(void)unused;
	char *text = run(full_session, N(full_session));
	char expected[2048];
	snprintf(expected, sizeof expected,
	         "{\"helo\":\"client.example.com\",\"mail_from\":\"alice@example.com\","
	         "\"rcpt_to\":[\"bob@example.net\",\"carol@example.net\"],"
	         "\"auth\":\"PLAIN\",\"auth_user\":\"alice\",\"auth_reply\":235,"
	         "\"starttls\":false,\"banner\":\"mail.example.org ESMTP Postfix\","
	         "\"pipelining\":true,"
	         "\"commands\":[\"EHLO client.example.com\",\"AUTH PLAIN <hidden>\","
	         "\"MAIL FROM:<alice@example.com> SIZE=123\",\"RCPT TO:<bob@example.net>\","
	         "\"RCPT TO: <carol@example.net> NOTIFY=NEVER\",\"DATA\",\"QUIT\"],"
	         "\"replies\":[220,250,235,250,250,250,354,250,221],"
	         "\"transactions\":[{\"mail_from\":\"alice@example.com\","
	         "\"rcpt_to\":[\"bob@example.net\",\"carol@example.net\"],"
	         "\"subject\":\"Hello there\",\"message_id\":\"<1@example.com>\","
	         "\"size\":%zu,\"reply\":250}]}",
	         strlen(full_message));
	assert_string_equal(text, expected);
	assert_lacks(text, "secret");
	assert_lacks(text, "AGFsaWNl");
	free(text);

	struct smtp_flow *f = flow_open();
	feed_steps(f, full_session, N(full_session), N(full_session), 0, 0);
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_null(session_handoff_target(f->s));
	char buf[160];
	smtp_dissector.summarize(f->state, buf, sizeof buf);
	assert_string_equal(buf, "HELO client.example.com AUTH PLAIN alice: <alice@example.com> "
	                         "-> <bob@example.net> (+1 more)");
	smtp_dissector.summarize(f->state, buf, 8);
	assert_int_equal(strlen(buf), 7);
	flow_close(f);

	assert_same_at_every_split(full_session, N(full_session));
	assert_every_truncation(full_session, N(full_session));
}

static void test_summary_empty(void **unused)
{
	(void)unused;
	struct smtp_flow *f = flow_open();
	char buf[64];
	smtp_dissector.summarize(f->state, buf, sizeof buf);
	assert_string_equal(buf, "");
	char *text = render(f);
	assert_string_equal(text, "{\"helo\":null,\"mail_from\":null,\"rcpt_to\":[],\"auth\":null,"
	                          "\"starttls\":false,\"banner\":null,\"pipelining\":false,"
	                          "\"commands\":[],\"replies\":[],\"transactions\":[]}");
	free(text);
	flow_close(f);
}

/* ---- credentials ---- */

static const struct step plain_later[] = {
    S("220 mx ESMTP\r\n"), C("EHLO c\r\n"), S("250 mx\r\n"),
    C("AUTH PLAIN\r\n"),   S("334 \r\n"),   C("YWRtaW4AYWxpY2UAc2VjcmV0\r\n"),
    S("235 ok\r\n"),       C("QUIT\r\n"),   S("221 bye\r\n"),
};

static void test_auth_plain_hidden_and_shown(void **unused)
{
	(void)unused;
	char *text = run(plain_later, N(plain_later));
	assert_contains(text, "\"auth\":\"PLAIN\",\"auth_user\":\"alice\",\"auth_reply\":235,");
	assert_lacks(text, "secret");
	assert_lacks(text, "auth_password");
	assert_contains(text, "\"commands\":[\"EHLO c\",\"AUTH PLAIN\",\"QUIT\"]");
	assert_contains(text, "\"replies\":[220,250,334,235,221]");
	free(text);

	text = run_creds(plain_later, N(plain_later), true);
	assert_contains(text, "\"auth_user\":\"alice\",\"auth_reply\":235,"
	                      "\"auth_password\":\"secret\"");
	free(text);

	text = run_creds(full_session, N(full_session), true);
	assert_contains(text, "\"auth_password\":\"secret\"");
	assert_contains(text, "\"AUTH PLAIN AGFsaWNlAHNlY3JldA==\"");
	free(text);
	assert_same_at_every_split(plain_later, N(plain_later));
}

static const struct step login_session[] = {
    S("220-mx.example.com ESMTP Exim 4.69\r\n220-We do not authorize\r\n220 bulk mail.\r\n"),
    C("EHLO GP\r\n"),
    S("250-mx.example.com Hello GP\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n"),
    C("AUTH LOGIN\r\n"),
    S("334 VXNlcm5hbWU6\r\n"),
    C("YWxpY2U=\r\n"),
    S("334 UGFzc3dvcmQ6\r\n"),
    C("c2VjcmV0\r\n"),
    S("235 Authentication succeeded\r\n"),
    C("MAIL FROM: <alice@example.com>\r\n"),
    S("250 OK\r\n"),
};

static void test_auth_login(void **unused)
{
	(void)unused;
	char *text = run(login_session, N(login_session));
	assert_contains(text, "\"auth\":\"LOGIN\",\"auth_user\":\"alice\",\"auth_reply\":235,");
	assert_contains(text, "\"banner\":\"mx.example.com ESMTP Exim 4.69\"");
	assert_contains(text, "\"pipelining\":false");
	assert_contains(text, "\"commands\":[\"EHLO GP\",\"AUTH LOGIN\","
	                      "\"MAIL FROM: <alice@example.com>\"]");
	assert_contains(text, "\"replies\":[220,250,334,334,235,250]");
	assert_contains(text, "\"mail_from\":\"alice@example.com\"");
	assert_lacks(text, "secret");
	assert_lacks(text, "c2VjcmV0");
	free(text);
	text = run_creds(login_session, N(login_session), true);
	assert_contains(text, "\"auth_password\":\"secret\"");
	free(text);
	assert_same_at_every_split(login_session, N(login_session));
	assert_every_truncation(login_session, N(login_session));
}

static void test_auth_login_initial_and_cram(void **unused)
{
	(void)unused;
	static const struct step login_initial[] = {
	    S("220 mx ESMTP\r\n"),     C("EHLO c\r\n"),
	    S("250 mx\r\n"),           C("AUTH LOGIN YWxpY2U=\r\n"),
	    S("334 UGFzc3dvcmQ6\r\n"), C("c2VjcmV0\r\n"),
	    S("535 bad\r\n"),          C("QUIT\r\n"),
	};
	char *text = run(login_initial, N(login_initial));
	assert_contains(text, "\"auth_user\":\"alice\",\"auth_reply\":535");
	assert_contains(text, "\"AUTH LOGIN <hidden>\",\"QUIT\"");
	free(text);

	static const struct step cram[] = {
	    S("220 mx ESMTP\r\n"),
	    C("EHLO c\r\n"),
	    S("250 mx\r\n"),
	    C("AUTH CRAM-MD5\r\n"),
	    S("334 PDQxOTI5NDIzNDEuMTI4Mjg0NzJAc291cmNlZm91ci5hbmRyZXcuY211LmVkdT4=\r\n"),
	    C("Ym9iIDNkYmM4OGYwNjI0Nzc2YTczN2IzOTA5M2Y2ZWI2NDI3\r\n"),
	    S("235 ok\r\n"),
	    C("QUIT\r\n"),
	};
	struct smtp_flow *f = flow_open();
	feed_steps(f, cram, N(cram), N(cram), 0, 0);
	text = render(f);
	assert_contains(text, "\"auth\":\"CRAM-MD5\",\"auth_user\":\"bob\",\"auth_reply\":235");
	assert_contains(text, "\"commands\":[\"EHLO c\",\"AUTH CRAM-MD5\",\"QUIT\"]");
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	free(text);
	flow_close(f);

	/* EXTERNAL carries no secret: no alert */
	static const struct step external[] = {
	    S("220 mx ESMTP\r\n"),    C("EHLO c\r\n"), S("250 mx\r\n"),
	    C("AUTH EXTERNAL =\r\n"), S("235 ok\r\n"), C("QUIT\r\n"),
	};
	f = flow_open();
	feed_steps(f, external, N(external), N(external), 0, 0);
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	text = render(f);
	assert_contains(text, "\"auth\":\"EXTERNAL\",\"auth_user\":null,\"auth_reply\":235");
	assert_contains(text, "\"QUIT\"]");
	free(text);
	flow_close(f);

	/* a cancelled exchange and a bad base64 response */
	static const struct step cancel[] = {
	    S("220 mx ESMTP\r\n"),  C("EHLO c\r\n"),           S("250 mx\r\n"),
	    C("AUTH LOGIN\r\n"),    S("334 VXNlcm5hbWU6\r\n"), C("*\r\n"),
	    S("501 cancelled\r\n"), C("AUTH PLAIN @@@@\r\n"),  S("501 bad\r\n"),
	    C("QUIT\r\n"),
	};
	f = flow_open();
	feed_steps(f, cancel, N(cancel), N(cancel), 0, 0);
	text = render(f);
	assert_contains(text, "\"auth\":\"PLAIN\",\"auth_user\":null,\"auth_reply\":501");
	assert_contains(text, "\"replies\":[220,250,334,501,501]");
	assert_contains(text, "\"QUIT\"]");
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "smtp.bad_base64"), 1);
	free(text);
	flow_close(f);
}

/* The server's side is missing: an exchange of unknown length ends at the
 * first line that cannot be base64. */
static void test_auth_unanswered(void **unused)
{
	(void)unused;
	struct smtp_flow *f = flow_open();
	feed_str(f, DIR_CLIENT,
	         "EHLO c\r\nAUTH NTLM TlRMTVNTUAABAAAA\r\nTlRMTVNTUAADAAAA\r\n"
	         "MAIL FROM:<a@b.example>\r\n");
	char *text = render(f);
	assert_contains(text, "\"auth\":\"NTLM\"");
	assert_contains(text, "\"mail_from\":\"a@b.example\"");
	assert_int_equal(session_counter_value(f->s, "smtp.auth_unanswered"), 1);
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	free(text);
	flow_close(f);
}

/* ---- STARTTLS ---- */

static const struct step starttls_session[] = {
    S("220 mx.google.com ESMTP gsmtp\r\n"),
    C("EHLO client.example\r\n"),
    S("250-mx.google.com at your service\r\n250-STARTTLS\r\n250 PIPELINING\r\n"),
    C("STARTTLS\r\n"),
    S("220 2.0.0 Ready to start TLS\r\n"),
    C("\x16\x03\x01\x00\x05hello AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
    S("\x16\x03\x03\x00\x02hi\r\n500 not parsed\r\n"),
};

static void test_starttls(void **unused)
{
	(void)unused;
	struct smtp_flow *f = flow_open();
	feed_steps(f, starttls_session, N(starttls_session), N(starttls_session), 0, 0);
	end(f);
	char *text = render(f);
	assert_string_equal(text, "{\"helo\":\"client.example\",\"mail_from\":null,\"rcpt_to\":[],"
	                          "\"auth\":null,\"starttls\":true,"
	                          "\"banner\":\"mx.google.com ESMTP gsmtp\",\"pipelining\":true,"
	                          "\"commands\":[\"EHLO client.example\",\"STARTTLS\"],"
	                          "\"replies\":[220,250,220],\"transactions\":[]}");
	/* handed to the TLS dissector: what follows the 220 is left for it */
	assert_string_equal(session_handoff_target(f->s), "tls");
	assert_int_equal(f->len[DIR_CLIENT], starttls_session[5].len);
	assert_int_equal(f->len[DIR_SERVER], starttls_session[6].len);
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "smtp.starttls_not_dissected"), 0);
	free(text);
	flow_close(f);
	assert_same_at_every_split(starttls_session, N(starttls_session));
	assert_every_truncation(starttls_session, N(starttls_session));
}

/* The client's bytes after STARTTLS wait for its reply. */
static void test_starttls_held_until_reply(void **unused)
{
	(void)unused;
	struct smtp_flow *f = flow_open();
	feed_str(f, DIR_SERVER, "220 mx ESMTP\r\n");
	feed_str(f, DIR_CLIENT, "EHLO c\r\n");
	feed_str(f, DIR_SERVER, "250 mx\r\n");
	feed_str(f, DIR_CLIENT, "STARTTLS\r\nQUIT\r\n");
	assert_int_equal(f->len[DIR_CLIENT], 6); /* QUIT held */
	feed_str(f, DIR_SERVER, "454 TLS not available\r\n");
	feed_str(f, DIR_CLIENT, "MAIL FROM:<a@example.com>\r\n");
	assert_int_equal(f->len[DIR_CLIENT], 0);
	char *text = render(f);
	assert_contains(text, "\"starttls\":false");
	assert_lacks(text, "encrypted");
	assert_contains(text, "\"commands\":[\"EHLO c\",\"STARTTLS\",\"QUIT\","
	                      "\"MAIL FROM:<a@example.com>\"]");
	assert_int_equal(session_counter_value(f->s, "smtp.starttls_refused"), 1);
	free(text);
	flow_close(f);

	/* no reply seen, but the client went on with a TLS record */
	f = flow_open();
	feed_str(f, DIR_CLIENT, "EHLO c\r\nSTARTTLS\r\n");
	feed(f, DIR_CLIENT, "\x16\x03\x01\x00\x01x", 6);
	assert_int_equal(f->len[DIR_CLIENT], 6); /* left for TLS */
	assert_string_equal(session_handoff_target(f->s), "tls");
	text = render(f);
	assert_contains(text, "\"starttls\":true,");
	assert_lacks(text, "encrypted");
	free(text);
	flow_close(f);

	/* no reply, and the held bytes overflow: given up */
	f = flow_open();
	feed_str(f, DIR_CLIENT, "EHLO c\r\nSTARTTLS\r\nxyz");
	gap(f, DIR_CLIENT, 300000);
	feed_str(f, DIR_CLIENT, "more\r\n");
	assert_int_equal(f->len[DIR_CLIENT], 0);
	text = render(f);
	assert_contains(text, "\"starttls\":false");
	free(text);
	flow_close(f);
}

/* ---- messages ---- */

/* Pipelined commands, replies in one segment (zeek's smtp-multi-addr). */
static const struct step pipelined[] = {
    S("220 cernmx Microsoft ESMTP MAIL Service ready\r\n"),
    C("EHLO gras-os-desk.cern.ch\r\n"),
    S("250-cernmx Hello\r\n250-SIZE\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
    C("MAIL From:<root@gras-os-desk.cern.ch> SIZE=695\r\n"),
    S("250 2.1.0 Sender OK\r\n"),
    C("RCPT To:<jan@cern.ch>\r\nDATA\r\n"),
    S("250 2.1.5 Recipient OK\r\n354 Start mail input\r\n"),
    C("Message-Id: <20151208@gras>\r\nsubject: Testmail\r\n\r\nhi\r\n.\r\n"),
    S("250 2.6.0 Queued mail for delivery\r\n"),
    C("MAIL FROM:<>\r\nRCPT TO:<postmaster>\r\nDATA\r\n"),
    S("250 ok\r\n250 ok\r\n354 go\r\n"),
    C(".\r\n"),
    S("554 no\r\n"),
    C("QUIT\r\n"),
    S("221 bye\r\n"),
};

static void test_pipelined_transactions(void **unused)
{
	(void)unused;
	char *text = run(pipelined, N(pipelined));
	assert_contains(text,
	                "\"mail_from\":\"root@gras-os-desk.cern.ch\",\"rcpt_to\":[\"jan@cern.ch\","
	                "\"postmaster\"]");
	assert_contains(text, "\"pipelining\":true");
	assert_contains(text, "\"replies\":[220,250,250,250,354,250,250,250,354,554,221]");
	assert_contains(
	    text, "{\"mail_from\":\"root@gras-os-desk.cern.ch\",\"rcpt_to\":[\"jan@cern.ch\"],"
	          "\"subject\":\"Testmail\",\"message_id\":\"<20151208@gras>\","
	          "\"size\":54,\"reply\":250}");
	assert_contains(text, "{\"mail_from\":\"\",\"rcpt_to\":[\"postmaster\"],\"subject\":null,"
	                      "\"message_id\":null,\"size\":0,\"reply\":554}");
	free(text);
	assert_same_at_every_split(pipelined, N(pipelined));
	assert_every_truncation(pipelined, N(pipelined));
}

static void test_data_refused_and_rset(void **unused)
{
	(void)unused;
	static const struct step refused[] = {
	    S("220 mx ESMTP\r\n"),
	    C("HELO c\r\n"),
	    S("250 mx\r\n"),
	    C("MAIL FROM:<a@x>\r\n"),
	    S("550 no\r\n"),
	    C("RCPT TO:<b@y>\r\n"),
	    S("503 need MAIL\r\n"),
	    C("DATA\r\n"),
	    S("554 no valid recipients\r\n"),
	    C("RSET\r\n"),
	    S("250 ok\r\n"),
	    C("QUIT\r\n"),
	    S("221 bye\r\n"),
	};
	char *text = run(refused, N(refused));
	assert_contains(text, "\"helo\":\"c\"");
	assert_contains(text, "\"commands\":[\"HELO c\",\"MAIL FROM:<a@x>\",\"RCPT TO:<b@y>\","
	                      "\"DATA\",\"RSET\",\"QUIT\"]");
	assert_contains(text, "\"transactions\":[{\"mail_from\":\"a@x\",\"rcpt_to\":[\"b@y\"],"
	                      "\"subject\":null,\"message_id\":null,\"size\":null,\"reply\":554}]");
	free(text);
	assert_same_at_every_split(refused, N(refused));

	/* DATA refused, the client's next command already sent: taken as one */
	struct smtp_flow *f = flow_open();
	feed_str(f, DIR_CLIENT, "HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nQUIT\r\n");
	feed_str(f, DIR_SERVER, "220 mx\r\n250 mx\r\n250 ok\r\n550 no\r\n554 no\r\n221 bye\r\n");
	text = render(f);
	assert_contains(text, "\"DATA\",\"QUIT\"]");
	assert_contains(text, "\"size\":null,\"reply\":554");
	free(text);
	flow_close(f);
}

/* The server's side is missing: what follows DATA is the message. */
static void test_message_without_354(void **unused)
{
	(void)unused;
	struct smtp_flow *f = flow_open();
	feed_str(f, DIR_CLIENT,
	         "HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"
	         "Subject: s\r\n\r\nQUIT\r\n.\r\nQUIT\r\n");
	char *text = render(f);
	assert_contains(text, "\"subject\":\"s\",\"message_id\":null,\"size\":20,\"reply\":null");
	assert_contains(text, "\"DATA\",\"QUIT\"]");
	assert_int_equal(session_counter_value(f->s, "smtp.message_before_354"), 1);
	free(text);
	flow_close(f);
}

/* Lines far over the line cap, header folding and caps on kept headers. */
static void test_long_lines_and_headers(void **unused)
{
	(void)unused;
	struct smtp_flow *f = flow_open();
	feed_str(f, DIR_SERVER, "220 mx ESMTP\r\n");
	feed_str(f, DIR_CLIENT, "HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
	feed_str(f, DIR_SERVER, "250 a\r\n250 b\r\n250 c\r\n354 go\r\n");
	size_t body = 0;
	feed_str(f, DIR_CLIENT, "Message-ID:\r\n <folded@x>\r\nSubject: ");
	body += strlen("Message-ID:\r\n <folded@x>\r\nSubject: ");
	char chunk[1000];
	memset(chunk, 's', sizeof chunk);
	for (int i = 0; i < 10; i++) /* a 10000-byte subject line */
		feed(f, DIR_CLIENT, chunk, sizeof chunk);
	body += 10 * sizeof chunk;
	feed_str(f, DIR_CLIENT, "\r\n\r\n");
	body += 4;
	memset(chunk, 'b', sizeof chunk);
	chunk[0] = '.';
	for (int i = 0; i < 20; i++) /* a 20000-byte body line, dot-stuffed */
		feed(f, DIR_CLIENT, chunk, sizeof chunk);
	body += 20 * sizeof chunk - 1;
	feed_str(f, DIR_CLIENT, "\r\n.\r\n");
	body += 2;
	feed_str(f, DIR_SERVER, "250 ok\r\n");
	feed_str(f, DIR_CLIENT, "QUIT\r\n");
	char *text = render(f);
	char want[128];
	snprintf(want, sizeof want, "\"message_id\":\"<folded@x>\",\"size\":%zu,\"reply\":250",
	         body);
	assert_contains(text, want);
	assert_contains(text, "\"DATA\",\"QUIT\"]");
	const char *subject = strstr(text, "\"subject\":\"");
	assert_non_null(subject);
	assert_int_equal(strcspn(subject + 11, "\""), 256); /* SMTP_MAX_HEADER */
	assert_true(session_counter_value(f->s, "smtp.long_message_line") >= 2);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
}

/* ---- BDAT (RFC 3030) ---- */

static const struct step bdat_session[] = {
    S("220 example.com ESMTP Postfix\r\n"),
    C("EHLO localhost\r\n"),
    S("250-example.com\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
    C("MAIL FROM:<zeek@localhost>\r\n"),
    S("250 2.1.0 Ok\r\n"),
    C("RCPT TO:<root@localhost>\r\n"),
    S("250 2.1.5 Ok\r\n"),
    /* the chunks split a header line; the second has an end-of-data line
	 * and a command in it, both mere bytes */
    C("BDAT 33\r\nTo: Susan@random.com\r\nSubject: Th"),
    C("BDAT 43\r\nis is\r\nMessage-ID: <x@y>\r\n\r\n.\r\nQUIT\r\nbody\r\n"),
    C("BDAT 0 LAST\r\n"),
    S("250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok: 85 bytes queued\r\n"),
    C("BDAT 5 LAST\r\nhello"),
    S("250 2.0.0 Ok: 5 bytes\r\n"),
    C("QUIT\r\n"),
    S("221 2.0.0 Bye\r\n"),
};

static void test_bdat(void **unused)
{
	(void)unused;
	char *text = run(bdat_session, N(bdat_session));
	assert_contains(text, "\"commands\":[\"EHLO localhost\",\"MAIL FROM:<zeek@localhost>\","
	                      "\"RCPT TO:<root@localhost>\",\"BDAT 33\",\"BDAT 43\","
	                      "\"BDAT 0 LAST\",\"BDAT 5 LAST\",\"QUIT\"]");
	assert_contains(text, "\"replies\":[220,250,250,250,250,250,250,250,221]");
	/* the header line split across chunks is lost (counted); the next
	 * header is kept */
	assert_contains(text, "{\"mail_from\":\"zeek@localhost\",\"rcpt_to\":[\"root@localhost\"],"
	                      "\"subject\":null,\"message_id\":\"<x@y>\",\"size\":76,"
	                      "\"reply\":250,\"bdat\":true}");
	/* BDAT without MAIL (a new transaction after LAST) */
	assert_contains(text, "{\"mail_from\":null,\"rcpt_to\":[],\"subject\":null,"
	                      "\"message_id\":null,\"size\":5,\"reply\":250,\"bdat\":true}");
	free(text);
	assert_same_at_every_split(bdat_session, N(bdat_session));
	assert_every_truncation(bdat_session, N(bdat_session));

	static const struct step one_chunk[] = {
	    S("220 example.com ESMTP Postfix\r\n"),
	    C("EHLO localhost\r\n"),
	    S("250 CHUNKING\r\n"),
	    C("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 42 LAST\r\n"
	      "Subject: This is a bodyless test message\r\n"
	      "QUIT\r\n"),
	    S("250 ok\r\n250 ok\r\n250 queued\r\n221 bye\r\n"),
	};
	text = run(one_chunk, N(one_chunk));
	assert_contains(text, "\"subject\":\"This is a bodyless test message\",\"message_id\":null,"
	                      "\"size\":42,\"reply\":250,\"bdat\":true}");
	assert_contains(text, "\"BDAT 42 LAST\",\"QUIT\"]");
	assert_contains(text, "\"pipelining\":true");
	free(text);
	assert_same_at_every_split(one_chunk, N(one_chunk));
}

static void test_bdat_bad_and_gap(void **unused)
{
	(void)unused;
	struct smtp_flow *f = flow_open();
	feed_str(f, DIR_CLIENT,
	         "EHLO c\r\nMAIL FROM:<a@b>\r\nBDAT x\r\nBDAT 5 MORE\r\n"
	         "BDAT 99999999999999999999\r\nQUIT\r\n");
	char *text = render(f);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "smtp.bad_bdat"), 3);
	assert_contains(text, "\"QUIT\"]");
	free(text);
	flow_close(f);

	/* a hole inside a chunk keeps the position */
	f = flow_open();
	feed_str(f, DIR_CLIENT, "EHLO c\r\nMAIL FROM:<a@b>\r\nBDAT 100 LAST\r\nSubject: x\r\n\r\n");
	gap(f, DIR_CLIENT, 50);
	feed_str(f, DIR_CLIENT, "012345678901234567890123456789012345QUIT\r\n");
	text = render(f);
	assert_contains(text, "\"subject\":\"x\",\"message_id\":null,\"size\":100,\"reply\":null,"
	                      "\"bdat\":true,\"gap\":true}");
	assert_contains(text, "\"BDAT 100 LAST\",\"QUIT\"]");
	free(text);
	flow_close(f);

	/* a hole past the chunk's end: the chunk is lost, lines follow */
	f = flow_open();
	feed_str(f, DIR_CLIENT, "EHLO c\r\nMAIL FROM:<a@b>\r\nBDAT 10\r\nabc");
	gap(f, DIR_CLIENT, 50);
	feed_str(f, DIR_CLIENT, "ng line\r\nQUIT\r\n");
	end(f);
	text = render(f);
	assert_contains(text, "\"incomplete\":true,\"gap\":true}");
	assert_contains(text, "\"BDAT 10\",\"QUIT\"]");
	free(text);
	flow_close(f);

	/* the flow ends inside a chunk */
	f = flow_open();
	feed_str(f, DIR_CLIENT, "EHLO c\r\nMAIL FROM:<a@b>\r\nBDAT 10 LAST\r\n\r\nabc");
	end(f);
	text = render(f);
	assert_contains(text, "\"size\":5,\"reply\":null,\"bdat\":true,\"incomplete\":true}");
	assert_int_equal(session_counter_value(f->s, "smtp.incomplete_message"), 1);
	free(text);
	flow_close(f);
}

/* ---- gaps ---- */

static void test_gaps(void **unused)
{
	(void)unused;
	/* the end-of-data line lost: the server's reply ends the message */
	struct smtp_flow *f = flow_open();
	feed_str(f, DIR_SERVER, "220 mx ESMTP\r\n");
	feed_str(f, DIR_CLIENT, "HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
	feed_str(f, DIR_SERVER, "250 a\r\n250 b\r\n250 c\r\n354 go\r\n");
	feed_str(f, DIR_CLIENT, "Subject: gap\r\n\r\nbody");
	gap(f, DIR_CLIENT, 1000);
	feed_str(f, DIR_SERVER, "250 queued\r\n");
	feed_str(f, DIR_CLIENT, "QUIT\r\n");
	feed_str(f, DIR_SERVER, "221 bye\r\n");
	char *text = render(f);
	assert_contains(text, "\"subject\":\"gap\",\"message_id\":null,\"size\":1016,\"reply\":250,"
	                      "\"incomplete\":true,\"gap\":true}");
	assert_contains(text, "\"DATA\",\"QUIT\"]");
	assert_contains(text, "\"replies\":[220,250,250,250,354,250,221]");
	assert_int_equal(session_counter_value(f->s, "smtp.gap"), 1);
	free(text);
	flow_close(f);

	/* a gap among commands and in the server's replies: next lines parse */
	f = flow_open();
	feed_str(f, DIR_SERVER, "220 mx ESMTP\r\n250-mx\r\n250-PIPE");
	gap(f, DIR_SERVER, 20);
	feed_str(f, DIR_SERVER, "LINING\r\n250 ok\r\n");
	feed_str(f, DIR_CLIENT, "EHLO c\r\nMAIL FROM:<a@");
	gap(f, DIR_CLIENT, 10);
	feed_str(f, DIR_CLIENT, "x>\r\nRCPT TO:<b@y>\r\n");
	text = render(f);
	assert_contains(text, "\"rcpt_to\":[\"b@y\"]");
	assert_contains(text, "\"commands\":[\"EHLO c\",\"RCPT TO:<b@y>\"]");
	free(text);
	flow_close(f);

	/* a gap in an AUTH exchange, and after the session went encrypted */
	f = flow_open();
	feed_str(f, DIR_CLIENT, "EHLO c\r\nAUTH LOGIN\r\n");
	gap(f, DIR_CLIENT, 10);
	feed_str(f, DIR_CLIENT, "x\r\nQUIT\r\n");
	text = render(f);
	assert_contains(text, "\"commands\":[\"EHLO c\",\"AUTH LOGIN\",\"QUIT\"]");
	free(text);
	flow_close(f);

	f = flow_open();
	feed_str(f, DIR_SERVER, "220 mx ESMTP\r\n");
	feed_str(f, DIR_CLIENT, "STARTTLS\r\n");
	feed_str(f, DIR_SERVER, "220 go\r\n");
	gap(f, DIR_CLIENT, 10);
	gap(f, DIR_SERVER, 10);
	feed_str(f, DIR_CLIENT, "x\r\nQUIT\r\n");
	text = render(f);
	assert_contains(text, "\"commands\":[\"STARTTLS\"]");
	free(text);
	flow_close(f);

	/* a gap before anything */
	f = flow_open();
	gap(f, DIR_CLIENT, 10);
	feed_str(f, DIR_CLIENT, "tail\r\nQUIT\r\n");
	text = render(f);
	assert_contains(text, "\"commands\":[\"QUIT\"]");
	free(text);
	flow_close(f);
}

/* ---- caps ---- */

static void test_caps(void **unused)
{
	(void)unused;
	struct smtp_flow *f = flow_open();
	feed_str(f, DIR_SERVER, "220 mx ESMTP\r\n");
	feed_str(f, DIR_CLIENT, "EHLO c\r\nMAIL FROM:<a@x>\r\n");
	for (int i = 0; i < 70; i++) {
		char line[64];
		snprintf(line, sizeof line, "RCPT TO:<r%d@y>\r\n", i);
		feed_str(f, DIR_CLIENT, line);
	}
	for (int i = 0; i < 72; i++)
		feed_str(f, DIR_SERVER, "250 ok\r\n");
	char *text = render(f);
	assert_contains(text, "\"r63@y\"],\"rcpt_to_truncated\":6,");
	assert_int_equal(count_of(text, "\"r0@y\""), 2); /* top level and the transaction */
	assert_int_equal(count_of(text, "\"rcpt_to_truncated\":6"), 2);
	assert_contains(text, "],\"commands_truncated\":8,");
	assert_contains(text, "],\"replies_truncated\":9,");
	assert_int_equal(session_counter_value(f->s, "smtp.too_many_rcpts"), 2);
	assert_int_equal(session_counter_value(f->s, "smtp.too_many_commands"), 1);
	assert_int_equal(session_counter_value(f->s, "smtp.too_many_replies"), 1);
	free(text);
	flow_close(f);

	/* transactions, and the queue of unanswered commands */
	f = flow_open();
	for (int i = 0; i < 40; i++) {
		char line[128];
		snprintf(line, sizeof line,
		         "MAIL FROM:<m%d@x>\r\nRCPT TO:<t@y>\r\nBDAT 3 LAST\r\nabc", i);
		feed_str(f, DIR_CLIENT, line);
	}
	text = render(f);
	assert_int_equal(count_of(text, "\"bdat\":true"), 32);
	assert_contains(text, "}],\"truncated\":8}");
	assert_int_equal(session_counter_value(f->s, "smtp.too_many_transactions"), 1);
	assert_true(session_counter_value(f->s, "smtp.too_many_pending") > 0);
	free(text);
	/* replies past the queue pair with nothing */
	for (int i = 0; i < 130; i++)
		feed_str(f, DIR_SERVER, "250 ok\r\n");
	assert_true(session_counter_value(f->s, "smtp.unsolicited_reply") > 0);
	flow_close(f);

	/* a long command and a long HELO are cut */
	f = flow_open();
	char line[700];
	memset(line, 'h', sizeof line);
	memcpy(line, "HELO ", 5);
	memcpy(line + sizeof line - 2, "\r\n", 2);
	feed(f, DIR_CLIENT, line, sizeof line);
	text = render(f);
	const char *helo = strstr(text, "\"helo\":\"");
	assert_non_null(helo);
	assert_int_equal(strcspn(helo + 8, "\""), 256);
	free(text);
	flow_close(f);
}

/* ---- malformed input ---- */

static void test_malformed(void **unused)
{
	(void)unused;
	struct smtp_flow *f = flow_open();
	feed_str(f, DIR_SERVER, "220 mx ESMTP\r\n");
	feed_str(f, DIR_CLIENT, "EHLO c\r\n");
	feed_str(f, DIR_SERVER, "hello there\r\n2x0 no\r\n250xok\r\n\r\n250 ok\r\n");
	feed(f, DIR_CLIENT, "\x01\x02\x03\r\nMAIL <a@b>\r\nRCPT TO:<unclosed\r\n\r\nNOOP\r\n", 44);
	char *text = render(f);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "smtp.bad_reply"), 3);
	assert_int_equal(session_counter_value(f->s, "smtp.bad_command"), 1);
	assert_int_equal(session_counter_value(f->s, "smtp.bad_mail_from"), 1);
	assert_int_equal(session_counter_value(f->s, "smtp.bad_rcpt_to"), 1);
	assert_contains(text, "\"replies\":[220,250]");
	assert_contains(text, "\"\\u0001\\u0002\\u0003\"");
	assert_contains(text, "\"NOOP\"]");
	free(text);
	flow_close(f);

	/* a bare-LF end-of-data and garbage bytes in a message are fine */
	f = flow_open();
	feed_str(f, DIR_CLIENT, "HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
	feed_str(f, DIR_SERVER, "220 mx\r\n250 a\r\n250 b\r\n250 c\r\n354 go\r\n");
	feed(f, DIR_CLIENT, "Subject: \xff\x00z\n\nx\n.\nQUIT\n", 23);
	text = render(f);
	assert_contains(text, "\"subject\":\"\\\\xff\\u0000z\",\"message_id\":null,\"size\":16");
	assert_contains(text, "\"QUIT\"]");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
}

/* Random pieces of SMTP and random bytes, in random splits and gaps: no
 * crash, no leak, every byte consumed or held within reason. */
static void test_random_input(void **unused)
{
	(void)unused;
	static const char *const pieces[] = {
	    "220 mx ESMTP\r\n",
	    "250-PIPELINING\r\n",
	    "250 ok\r\n",
	    "354 go\r\n",
	    "334 \r\n",
	    "220 go\r\n",
	    "EHLO c\r\n",
	    "MAIL FROM:<a@b>\r\n",
	    "RCPT TO:<c@d>\r\n",
	    "DATA\r\n",
	    "BDAT 7\r\n",
	    "BDAT 3 LAST\r\n",
	    "AUTH PLAIN\r\n",
	    "AUTH LOGIN\r\n",
	    "YWxpY2U=\r\n",
	    ".\r\n",
	    "Subject: x\r\n",
	    "\r\n",
	    "..\r\n",
	    "STARTTLS\r\n",
	    "QUIT\r\n",
	    "*\r\n",
	    "\x16\x03",
	    "\n",
	};
	uint32_t seed = 12345;
	for (int round = 0; round < 300; round++) {
		struct smtp_flow *f = flow_open_creds(round % 2);
		for (int i = 0; i < 60; i++) {
			seed = seed * 1103515245u + 12345u;
			enum direction dir = (seed >> 8) & 1 ? DIR_SERVER : DIR_CLIENT;
			unsigned what = (seed >> 12) % 40;
			if (what < N(pieces)) {
				feed_str(f, dir, pieces[what]);
			} else if (what < 36) {
				uint8_t junk[64];
				for (size_t j = 0; j < sizeof junk; j++) {
					seed = seed * 1103515245u + 12345u;
					junk[j] = (uint8_t)(seed >> 16);
				}
				feed(f, dir, junk, (seed >> 4) % sizeof junk);
			} else {
				gap(f, dir, (seed >> 4) % 100 + 1);
			}
		}
		end(f);
		char *text = render(f);
		assert_contains(text, "\"starttls\":");
		free(text);
		flow_close(f);
	}
}

static void test_release_of_empty_state(void **unused)
{
	(void)unused;
	void *state = calloc(1, smtp_dissector.state_size);
	assert_non_null(state);
	smtp_dissector.release(state);
	smtp_dissector.release(state); /* twice is harmless */
	free(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_descriptor),
	    cmocka_unit_test(test_full_session),
	    cmocka_unit_test(test_summary_empty),
	    cmocka_unit_test(test_auth_plain_hidden_and_shown),
	    cmocka_unit_test(test_auth_login),
	    cmocka_unit_test(test_auth_login_initial_and_cram),
	    cmocka_unit_test(test_auth_unanswered),
	    cmocka_unit_test(test_starttls),
	    cmocka_unit_test(test_starttls_held_until_reply),
	    cmocka_unit_test(test_pipelined_transactions),
	    cmocka_unit_test(test_data_refused_and_rset),
	    cmocka_unit_test(test_message_without_354),
	    cmocka_unit_test(test_long_lines_and_headers),
	    cmocka_unit_test(test_bdat),
	    cmocka_unit_test(test_bdat_bad_and_gap),
	    cmocka_unit_test(test_gaps),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_random_input),
	    cmocka_unit_test(test_release_of_empty_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
