/* Telnet (dissectors/telnet.c): sessions fed the way the core feeds a stream
 * (unconsumed bytes kept and handed back with the next ones), in arbitrary
 * splits, and the record read back as JSON. */
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

extern const struct dissector telnet_dissector;

/* ---- a stream the way src/dissect.c drives it ---- */

struct tflow {
	struct session *s;
	void *state;
	uint8_t *pending[2];
	size_t len[2];
};

static struct tflow *flow_open(void)
{
	struct ip_addr client = {.version = 4, .b = {192, 168, 0, 2}};
	struct ip_addr server = {.version = 4, .b = {192, 168, 0, 1}};
	struct tflow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->s = session_detached_new(true, &client, 1550, &server, 23);
	f->state = calloc(1, telnet_dissector.state_size);
	assert_non_null(f->s);
	assert_non_null(f->state);
	return f;
}

static void flow_close(struct tflow *f)
{
	if (telnet_dissector.release)
		telnet_dissector.release(f->state);
	free(f->state);
	free(f->pending[0]);
	free(f->pending[1]);
	session_detached_free(f->s);
	free(f);
}

/* Appends bytes to the direction's pending ones and hands them over until
 * the dissector stops consuming, as drain_pending does. */
static void feed(struct tflow *f, enum direction dir, const void *data, size_t n)
{
	uint8_t *p = realloc(f->pending[dir], f->len[dir] + n + 1);
	assert_non_null(p);
	if (n)
		memcpy(p + f->len[dir], data, n);
	f->pending[dir] = p;
	f->len[dir] += n;
	while (f->len[dir]) {
		size_t used = telnet_dissector.on_data(f->s, f->state, dir,
		                                       rd_init(f->pending[dir], f->len[dir]));
		assert_true(used <= f->len[dir]);
		if (used == 0)
			break;
		memmove(f->pending[dir], f->pending[dir] + used, f->len[dir] - used);
		f->len[dir] -= used;
	}
}

static void feed_str(struct tflow *f, enum direction dir, const char *text)
{
	feed(f, dir, text, strlen(text));
}

/* A string literal with NULs in it, whole. */
#define FEED_LIT(f, dir, lit) feed((f), (dir), (lit), sizeof(lit) - 1)

/* One byte per segment, as a character-mode client types. */
static void type_chars(struct tflow *f, const char *text, bool echo)
{
	for (const char *p = text; *p; p++) {
		feed(f, DIR_CLIENT, p, 1);
		if (echo && *p != '\r')
			feed(f, DIR_SERVER, p, 1);
	}
}

static void gap(struct tflow *f, enum direction dir, size_t missing)
{
	f->len[dir] = 0;
	telnet_dissector.on_gap(f->s, f->state, dir, missing);
}

static void end(struct tflow *f)
{
	telnet_dissector.on_end(f->s, f->state);
}

static char *render(const struct tflow *f)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	telnet_dissector.emit(f->state, &jw.e);
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

/* ---- a real session: OpenBSD telnetd (the ndpi corpus capture) ---- */

struct segment {
	enum direction dir;
	const char *data;
	size_t len;
};

static const struct segment openbsd[] = {
    {DIR_CLIENT,
     "\xff\xfd\x03\xff\xfb\x18\xff\xfb\x1f\xff\xfb "
     "\xff\xfb!\xff\xfb\x22\xff\xfb'\xff\xfd\x05\xff\xfb#",
     27},
    {DIR_SERVER, "\xff\xfd%", 3},
    {DIR_CLIENT, "\xff\xfc%", 3},
    {DIR_SERVER,
     "\xff\xfb\x03\xff\xfd\x18\xff\xfd\x1f\xff\xfd "
     "\xff\xfd!\xff\xfd\x22\xff\xfa\x22\x01\x0b\xff\xf0",
     25},
    {DIR_CLIENT,
     "\xff\xfa\x1f\x00P\x00 \xff\xf0\xff\xfa\x22\x03\x01\x00\x00\x03"
     "b\x03\x04\x02\x0f\x05\x00\x00\x07"
     "b\x1c\x08\x02\x04\x09"
     "B\x1a\x0a\x02\x7f\x0b\x02\x15\x0f\x02\x11\x10\x02\x13\x11\x00\x00\x12\x00\x00\xff\xf0\xff\xfd"
     "\x03\xff\xfa\x22\x01\x0f\xff\xf0",
     64},
    {DIR_SERVER, "\xff\xfd'\xff\xfb\x05\xff\xfd#\xff\xfb&\xff\xfd&\xff\xfd$", 18},
    {DIR_CLIENT, "\xff\xfe&\xff\xfc&\xff\xfc$", 9},
    {DIR_SERVER,
     "\xff\xfa \x01\xff\xf0\xff\xfa#\x01\xff\xf0\xff\xfa'\x01\xff\xf0\xff\xfa\x18\x01\xff\xf0", 24},
    {DIR_CLIENT,
     "\xff\xfa \x00"
     "9600,9600\xff\xf0\xff\xfa#\x00"
     "bam.zing.org:0.0\xff\xf0\xff\xfa'\x00\x00"
     "DISPLAY\x01"
     "bam.zing.org:0.0\xff\xf0\xff\xfa\x18\x00xterm-color\xff\xf0",
     85},
    {DIR_SERVER, "\xff\xfd\x01", 3},
    {DIR_CLIENT, "\xff\xfc\x01", 3},
    {DIR_SERVER, "\xff\xfb\x01\xff\xfa!\x02\xff\xf0\xff\xfc\x01", 12},
    {DIR_CLIENT, "\xff\xfd\x01\xff\xfe\x01", 6},
    {DIR_SERVER, "\xff\xfa\x22\x03\x05\x80\x00\x11\x80\x00\x12\x80\x00\xff\xf0", 15},
    {DIR_SERVER, "\x0d\x0aOpenBSD/i386 (oof) (ttyp2)\x0d\x0a\x0d\x0a", 32},
    {DIR_SERVER, "login: ", 7},
    {DIR_CLIENT, "fake\x0d\x0a", 6},
    {DIR_SERVER, "\xff\xfb\x01", 3},
    {DIR_CLIENT, "\xff\xfd\x01", 3},
    {DIR_SERVER, "Password:", 9},
    {DIR_CLIENT, "user\x0d\x0a", 6},
    {DIR_SERVER, "\x0d\x0a", 2},
    {DIR_SERVER, "\xff\xfc\x01", 3},
    {DIR_CLIENT, "\xff\xfe\x01", 3},
    {DIR_SERVER, "Last login: Sat Nov 27 20:11:43 on ttyp2 from bam.zing.org\x0d\x0a", 60},
};
#define N_OPENBSD (sizeof openbsd / sizeof openbsd[0])

static size_t session_len(const struct segment *seg, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += seg[i].len;
	return total;
}

/* The first `limit` bytes of the session (over both directions, in order),
 * each segment cut into pieces of `step` bytes (0: whole). */
static void feed_session(struct tflow *f, const struct segment *seg, size_t n, size_t limit,
                         size_t step)
{
	size_t done = 0;
	for (size_t i = 0; i < n && done < limit; i++) {
		size_t len = seg[i].len < limit - done ? seg[i].len : limit - done;
		size_t st = step ? step : len;
		for (size_t at = 0; at < len; at += st)
			feed(f, seg[i].dir, seg[i].data + at, len - at < st ? len - at : st);
		done += len;
	}
}

static char *session_record(const struct segment *seg, size_t n, size_t step)
{
	struct tflow *f = flow_open();
	feed_session(f, seg, n, SIZE_MAX, step);
	end(f);
	char *text = render(f);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
	return text;
}

static void test_openbsd_session(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed_session(f, openbsd, N_OPENBSD, SIZE_MAX, 0);
	end(f);
	char *text = render(f);
	assert_contains(text, "\"options\":[\"SGA\",\"TTYPE\",\"NAWS\",\"TSPEED\",\"LFLOW\","
	                      "\"LINEMODE\",\"NEW-ENVIRON\",\"STATUS\",\"XDISPLOC\","
	                      "\"AUTHENTICATION\",\"ENCRYPT\",\"OLD-ENVIRON\",\"ECHO\"]");
	assert_contains(text, "\"negotiation\":[\"client DO SGA\",\"client WILL TTYPE\","
	                      "\"client WILL NAWS\"");
	assert_contains(text, "\"server DO AUTHENTICATION\",\"client WONT AUTHENTICATION\"");
	assert_contains(text, "\"server SB LINEMODE MODE\"");
	assert_contains(text, "\"client SB TTYPE IS\"");
	assert_contains(text, "\"server SB TTYPE SEND\"");
	assert_contains(text, "\"terminal_type\":\"xterm-color\"");
	assert_contains(text, "\"window\":{\"width\":80,\"height\":32}");
	assert_contains(text, "\"terminal_speed\":\"9600,9600\"");
	assert_contains(text, "\"x_display\":\"bam.zing.org:0.0\"");
	assert_contains(text, "\"environment_vars\":[\"DISPLAY\"]");
	assert_contains(text, "\"user\":\"fake\",\"login_prompt_seen\":true,"
	                      "\"password_prompt_seen\":true,\"password_sent\":true,"
	                      "\"login_attempts\":1}");
	assert_lacks(text, "\"user\":\"user\""); /* the password */
	assert_lacks(text, "password\":\"");
	assert_lacks(text, "failed_login");
	assert_lacks(text, "truncated");
	assert_true(session_has_alert(f->s, ALERT_INSECURE_PROTOCOL));
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
}

static void test_openbsd_in_steps(void **unused)
{
	(void)unused;
	char *whole = session_record(openbsd, N_OPENBSD, 0);
	for (size_t step = 1; step <= 8; step++) {
		char *text = session_record(openbsd, N_OPENBSD, step);
		if (strcmp(whole, text) != 0)
			fail_msg("in steps of %zu: %s\nwhole: %s", step, text, whole);
		free(text);
	}
	free(whole);
}

/* Each segment split in two at every byte renders as the whole does. */
static void test_openbsd_every_split(void **unused)
{
	(void)unused;
	char *whole = session_record(openbsd, N_OPENBSD, 0);
	for (size_t i = 0; i < N_OPENBSD; i++) {
		for (size_t cut = 1; cut < openbsd[i].len; cut++) {
			struct tflow *f = flow_open();
			for (size_t j = 0; j < N_OPENBSD; j++) {
				if (j != i) {
					feed(f, openbsd[j].dir, openbsd[j].data, openbsd[j].len);
					continue;
				}
				feed(f, openbsd[j].dir, openbsd[j].data, cut);
				feed(f, openbsd[j].dir, openbsd[j].data + cut,
				     openbsd[j].len - cut);
			}
			end(f);
			char *text = render(f);
			if (strcmp(whole, text) != 0)
				fail_msg("segment %zu cut at %zu: %s\nwhole: %s", i, cut, text,
				         whole);
			free(text);
			flow_close(f);
		}
	}
	free(whole);
}

/* Every prefix of the session, then the end: no crash, nothing malformed,
 * and what is known is what the prefix carried. */
static void test_openbsd_every_truncation(void **unused)
{
	(void)unused;
	size_t total = session_len(openbsd, N_OPENBSD);
	for (size_t limit = 0; limit <= total; limit++) {
		struct tflow *f = flow_open();
		feed_session(f, openbsd, N_OPENBSD, limit, 0);
		end(f);
		char *text = render(f);
		assert_false(session_has_alert(f->s, ALERT_MALFORMED));
		assert_contains(text, "\"options\":[");
		if (strstr(text, "\"user\":\"") && !strstr(text, "\"user\":\"fake\""))
			fail_msg("prefix %zu: %s", limit, text);
		free(text);
		flow_close(f);
	}
}

/* ---- the probe ---- */

static enum verdict probe_n(const char *bytes, size_t n, enum direction dir)
{
	return telnet_dissector.probe(rd_init(bytes, n), dir);
}

static enum verdict probe(const char *text, enum direction dir)
{
	return probe_n(text, strlen(text), dir);
}

static void test_probe(void **unused)
{
	(void)unused;
	/* IAC and a negotiation, either side */
	assert_int_equal(probe("\xff\xfd\x03", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("\xff\xfb\x01", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("\xff\xfc\x01", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("\xff\xfe\x01", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("\xff\xfa\x18\x01\xff\xf0", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("\xff\xfd", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("\xff", DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe("", DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(telnet_dissector.probe(rd_init(NULL, 0), DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe("\xff\xf1", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("\xff\xff", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("\xff\x10", DIR_SERVER), VERDICT_NO);

	/* a server that prompts without negotiating */
	assert_int_equal(probe("\r\nUser Access Verification\r\n\r\nUsername: ", DIR_SERVER),
	                 VERDICT_YES);
	assert_int_equal(probe("Password:", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("router login: ", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("Welcome\r\n\xff\xfb\x01", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("Welcome\r\n\xff", DIR_SERVER), VERDICT_NEED_MORE);
	/* a banner before the prompt */
	assert_int_equal(probe("\r\nUser Access Verification\r\n", DIR_SERVER), VERDICT_NEED_MORE);
	/* the client never gets the benefit of the doubt */
	assert_int_equal(probe("login: ", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("root\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("GET / HTTP/1.1\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("USER anonymous\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("EHLO mail.example\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("a001 LOGIN joe secret\r\n", DIR_CLIENT), VERDICT_NO);
	/* other protocols' greetings: never YES */
	assert_int_equal(probe("+OK POP3 ready", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("* OK IMAP4rev1 ready", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("220 mail.example ESMTP", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("SSH-2.0-OpenSSH_9.2p1", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", DIR_SERVER),
	                 VERDICT_NO);
	assert_int_equal(probe_n("\x16\x03\x01\x00\x05hello", 10, DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe_n("\x00\x1c\x12\x34\x81\x80", 6, DIR_SERVER), VERDICT_NO);
	/* a MySQL greeting: NULs, then 0xff 0xf7 in its capability flags */
	assert_int_equal(probe_n("8\0\0\0\n5.1.67-log\0 \0\0\0HP={va_<\0\xff\xf7!", 30, DIR_SERVER),
	                 VERDICT_NO);
	assert_int_equal(probe_n("Hello\r\0\r\nlogin: ", 16, DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe_n("Hello\0login: ", 13, DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("Welcome\r\n\xff\xf9", DIR_SERVER), VERDICT_NO);
	/* a greeting line alone: its own dissector ranks first, we wait */
	assert_int_equal(probe("220 ftp.example FTP server ready\r\n", DIR_SERVER),
	                 VERDICT_NEED_MORE);
	/* a long text without a prompt is not a login */
	char big[700];
	memset(big, 'a', sizeof big);
	big[sizeof big - 2] = '\r';
	big[sizeof big - 1] = '\n';
	assert_int_equal(probe_n(big, sizeof big, DIR_SERVER), VERDICT_NO);
}

/* ---- logins typed a character at a time ---- */

static struct tflow *char_mode_login(bool show)
{
	struct tflow *f = flow_open();
	f->s->show_credentials = show;
	feed_str(f, DIR_SERVER, "\xff\xfb\x01\xff\xfb\x03");
	feed_str(f, DIR_CLIENT, "\xff\xfd\x01\xff\xfd\x03");
	feed_str(f, DIR_SERVER, "\r\nDebian GNU/Linux 12\r\n");
	feed_str(f, DIR_SERVER, "box login: ");
	/* "rpx", two backspaces (BS and DEL), "oot", CR NUL; echoed */
	type_chars(f, "rpx\b\x7foot", true);
	feed(f, DIR_CLIENT, "\r\0", 2);
	feed_str(f, DIR_SERVER, "\r\n");
	feed_str(f, DIR_SERVER, "Password: ");
	type_chars(f, "hunter2", false); /* not echoed */
	feed(f, DIR_CLIENT, "\r\0", 2);
	return f;
}

static void test_char_mode_login(void **unused)
{
	(void)unused;
	struct tflow *f = char_mode_login(false);
	feed_str(f, DIR_SERVER, "\r\nLinux box 6.1.0\r\n$ ");
	type_chars(f, "ls\r", true);
	end(f);
	char *text = render(f);
	assert_contains(text, "\"options\":[\"ECHO\",\"SGA\"]");
	assert_contains(text, "\"negotiation\":[\"server WILL ECHO\",\"server WILL SGA\","
	                      "\"client DO ECHO\",\"client DO SGA\"]");
	assert_contains(text, "\"terminal_type\":null");
	assert_contains(text, "\"user\":\"root\"");
	assert_contains(text, "\"password_sent\":true");
	assert_lacks(text, "hunter2");
	assert_lacks(text, "failed_login");
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_true(session_has_alert(f->s, ALERT_INSECURE_PROTOCOL));
	free(text);
	flow_close(f);
}

static void test_password_shown_on_request(void **unused)
{
	(void)unused;
	struct tflow *f = char_mode_login(true);
	end(f);
	char *text = render(f);
	assert_contains(text, "\"password\":\"hunter2\"");
	free(text);
	flow_close(f);
}

static void test_failed_login(void **unused)
{
	(void)unused;
	struct tflow *f = char_mode_login(false);
	feed_str(f, DIR_SERVER, "\r\n");
	feed_str(f, DIR_SERVER, "Login incorrect\r\nbox login: ");
	type_chars(f, "admin\r", true);
	feed_str(f, DIR_SERVER, "\r\nPassword: ");
	feed_str(f, DIR_CLIENT, "admin\r\n");
	feed_str(f, DIR_SERVER, "\r\nLast login: Mon Jan  1 on pts/0\r\n$ ");
	end(f);
	char *text = render(f);
	assert_contains(text, "\"user\":\"admin\"");
	assert_contains(text, "\"login_attempts\":2,\"failed_login\":true,\"failed_logins\":1");
	free(text);
	flow_close(f);
}

/* A login prompt right after a password, without a message, is a failure. */
static void test_reprompt_is_failure(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed_str(f, DIR_SERVER, "login: ");
	feed_str(f, DIR_CLIENT, "bob\r\n");
	feed_str(f, DIR_SERVER, "Password:");
	feed_str(f, DIR_CLIENT, "x\r\n");
	feed_str(f, DIR_SERVER, "\r\nlogin: ");
	end(f);
	char *text = render(f);
	assert_contains(text, "\"failed_logins\":1");
	free(text);
	flow_close(f);
}

/* Cisco-style: a password prompt alone. */
static void test_password_only(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed_str(f, DIR_SERVER, "\r\n\r\nUser Access Verification\r\n\r\nPassword: ");
	feed_str(f, DIR_CLIENT, "cisco\r\n");
	feed_str(f, DIR_SERVER, "\r\n% Login invalid\r\n\r\nPassword: ");
	end(f);
	char *text = render(f);
	assert_contains(text, "\"user\":null,\"login_prompt_seen\":false,"
	                      "\"password_prompt_seen\":true,\"password_sent\":true");
	assert_contains(text, "\"failed_login\":true");
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	free(text);
	flow_close(f);
}

/* "Username:" prompts; line editing with IAC EC, IAC EL and ^U; IAC IAC is
 * a literal 0xff. */
static void test_line_editing(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed_str(f, DIR_SERVER, "Username: ");
	feed_str(f, DIR_CLIENT,
	         "garbage\xff\xf8"
	         "wrong\x15"
	         "ad");
	feed_str(f, DIR_CLIENT, "mx\xff\xf7in\xff\xff\r\n");
	end(f);
	char *text = render(f);
	assert_contains(text, "\"user\":\"admin\\\\xff\"");
	assert_contains(text, "\"client EL\",\"client EC\"");
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	free(text);
	flow_close(f);
}

/* The client's lines answer only an armed prompt: not a stale one. */
static void test_no_prompt_no_user(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed_str(f, DIR_CLIENT, "typeahead\r\n");
	feed_str(f, DIR_SERVER, "login: ");
	feed_str(f, DIR_CLIENT, "fake\r\n");
	feed_str(f, DIR_SERVER, "\xff\xfb\x01"); /* commands only: the tail is old */
	feed_str(f, DIR_CLIENT, "later\r\n");
	feed_str(f, DIR_SERVER, "Last login: today\r\n"); /* not a prompt */
	feed_str(f, DIR_CLIENT, "ls\r\n");
	feed_str(f, DIR_SERVER, "\r\n"); /* an empty answer re-prompts nothing */
	end(f);
	char *text = render(f);
	assert_contains(text, "\"user\":\"fake\"");
	assert_contains(text, "\"password_sent\":false");
	free(text);
	flow_close(f);
}

/* An empty line at a login prompt answers nothing; the prompt stays armed. */
static void test_empty_login_line(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed_str(f, DIR_SERVER, "login: ");
	feed_str(f, DIR_CLIENT, "\r\n");
	feed_str(f, DIR_CLIENT, "joe\r\n");
	end(f);
	char *text = render(f);
	assert_contains(text, "\"user\":\"joe\"");
	assert_contains(text, "\"login_attempts\":1");
	free(text);
	flow_close(f);
}

/* ---- sub-negotiations ---- */

static void test_environ_and_auth_name(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	/* NEW-ENVIRON IS VAR "USER" VALUE "alice" USERVAR "X\x01Y" (ESC'd) VAR
	 * "TERM" (no value) */
	static const char env[] = "\xff\xfa\x27\x00\x00USER\x01"
	                          "alice\x03X\x02\x01Y\x00TERM\xff\xf0";
	feed(f, DIR_CLIENT, env, sizeof env - 1);
	/* AUTHENTICATION NAME "bob" */
	feed_str(f, DIR_CLIENT,
	         "\xff\xfa\x25\x03"
	         "bob\xff\xf0");
	/* NAWS with a 255 doubled: 255 x 24 */
	feed(f, DIR_CLIENT, "\xff\xfa\x1f\x00\xff\xff\x00\x18\xff\xf0", 10);
	end(f);
	char *text = render(f);
	assert_contains(text, "\"environment_user\":\"alice\"");
	assert_contains(text, "\"environment_vars\":[\"USER\",\"X\\u0001Y\",\"TERM\"]");
	assert_contains(text, "\"auth_name\":\"bob\"");
	assert_contains(text, "\"window\":{\"width\":255,\"height\":24}");
	assert_contains(text, "\"client SB NEW-ENVIRON IS\",\"client SB AUTHENTICATION NAME\","
	                      "\"client SB NAWS\"");
	assert_false(session_has_alert(f->s, ALERT_INSECURE_PROTOCOL)); /* no data yet */
	free(text);
	flow_close(f);
}

static void test_subnegotiation_cap(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, "\xff\xfa\x18\x00", 4);
	for (int i = 0; i < 100; i++)
		feed_str(f, DIR_CLIENT, "vt100-");
	feed_str(f, DIR_CLIENT, "\xff\xf0");
	end(f);
	char *text = render(f);
	assert_int_equal(session_counter_value(f->s, "telnet.subnegotiation_too_long"), 1);
	assert_contains(text, "\"terminal_type\":\"vt100-vt100-");
	free(text);
	flow_close(f);
}

/* An IAC that is not SE inside a sub-negotiation ends it. */
static void test_unterminated_subnegotiation(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, "\xff\xfa\x18\x00vt220\xff\xfb\x01", 12);
	end(f);
	char *text = render(f);
	assert_contains(text, "\"terminal_type\":\"vt220\"");
	assert_contains(text, "\"client SB TTYPE IS\",\"client WILL ECHO\"");
	assert_int_equal(session_counter_value(f->s, "telnet.unterminated_subnegotiation"), 1);
	free(text);
	flow_close(f);
}

static void test_encrypt_start(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	FEED_LIT(f, DIR_SERVER,
	         "\xff\xfa\x26\x03\x01\xff\xf0"
	         "\x8a\x13login: \xff\xfa\x18\x00x\xff\xf0");
	feed_str(f, DIR_CLIENT, "root\r\n");
	end(f);
	char *text = render(f);
	assert_contains(text, "\"server SB ENCRYPT START\"]");
	assert_contains(text, "\"encrypted\":true");
	assert_contains(text, "\"user\":null");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
}

static void test_start_tls(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed_str(f, DIR_SERVER, "\xff\xfd\x2e");
	feed_str(f, DIR_CLIENT, "\xff\xfb\x2e");
	feed_str(f, DIR_SERVER, "\xff\xfa\x2e\x01\xff\xf0");
	FEED_LIT(f, DIR_CLIENT, "\xff\xfa\x2e\x01\xff\xf0\x16\x03\x01\x02\x00\x01");
	FEED_LIT(f, DIR_SERVER, "\x16\x03\x03\x00\x10login: ");
	feed_str(f, DIR_CLIENT, "root\r\n");
	end(f);
	char *text = render(f);
	assert_contains(text, "\"client SB START-TLS FOLLOWS\"");
	assert_contains(text, "\"starttls\":true");
	assert_contains(text, "\"user\":null");
	if (session_handoff_target(f->s))
		assert_string_equal(session_handoff_target(f->s), "tls");
	free(text);
	flow_close(f);
}

/* ---- caps, gaps and garbage ---- */

static void test_negotiation_cap(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	for (int i = 0; i < 100; i++)
		feed_str(f, DIR_CLIENT, "\xff\xfb\x18");
	end(f);
	char *text = render(f);
	assert_int_equal(count_of(text, "\"client WILL TTYPE\""), 64);
	assert_contains(text, "\"truncated\":36");
	assert_contains(text, "\"options\":[\"TTYPE\"]");
	assert_int_equal(session_counter_value(f->s, "telnet.too_many_negotiations"), 36);
	free(text);
	flow_close(f);
}

static void test_options_cap(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	for (int i = 0; i < 256; i++) {
		char cmd[3] = {(char)0xff, (char)0xfd, (char)i};
		feed(f, DIR_SERVER, cmd, 3);
		feed(f, DIR_SERVER, cmd, 3); /* repeated: listed once */
	}
	end(f);
	char *text = render(f);
	assert_contains(text, "\"options\":[\"BINARY\",\"ECHO\",\"RCP\"");
	assert_contains(text, "\"OPT-63\"]");
	assert_contains(text, "\"options_truncated\":192");
	assert_contains(text, "\"truncated\":448");
	assert_int_equal(session_counter_value(f->s, "telnet.too_many_options"), 192);
	free(text);
	flow_close(f);
}

static void test_line_cap(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed_str(f, DIR_SERVER, "login: ");
	for (int i = 0; i < 100; i++)
		feed_str(f, DIR_CLIENT, "abcdefghij");
	feed_str(f, DIR_CLIENT, "\b\b\r\n"); /* erasing past the cap erases nothing kept */
	end(f);
	char *text = render(f);
	assert_contains(text, "\"user\":\"abcdefghijabcdefghij");
	assert_int_equal(session_counter_value(f->s, "telnet.line_too_long"), 1);
	free(text);
	flow_close(f);
}

static void test_long_server_output(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	for (int i = 0; i < 50; i++)
		feed_str(f, DIR_SERVER, "0123456789");
	feed_str(f, DIR_SERVER, " login: ");
	feed_str(f, DIR_CLIENT, "kim\r\n");
	end(f);
	char *text = render(f);
	assert_contains(text, "\"user\":\"kim\"");
	free(text);
	flow_close(f);
}

static void test_gap_in_client_line(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed_str(f, DIR_SERVER, "login: ");
	feed_str(f, DIR_CLIENT, "ro");
	gap(f, DIR_CLIENT, 3);
	feed_str(f, DIR_CLIENT, "ot\r\n"); /* the rest of a broken line: no user */
	end(f);
	char *text = render(f);
	assert_contains(text, "\"user\":null");
	assert_contains(text, "\"gap\":true");
	free(text);
	flow_close(f);

	/* a gap inside a sub-negotiation: the rest is data, not the SB */
	f = flow_open();
	feed(f, DIR_CLIENT, "\xff\xfa\x18\x00xte", 7);
	gap(f, DIR_CLIENT, 10);
	feed_str(f, DIR_CLIENT, "\xff\xfb\x01");
	end(f);
	text = render(f);
	assert_contains(text, "\"terminal_type\":null");
	assert_contains(text, "\"negotiation\":[\"client WILL ECHO\"]");
	free(text);
	flow_close(f);
}

static void test_gap_in_server_output(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed_str(f, DIR_SERVER, "login: ");
	gap(f, DIR_SERVER, 100); /* whatever the server said, we do not know */
	feed_str(f, DIR_CLIENT, "guess\r\n");
	feed_str(f, DIR_SERVER, "\r\nPassword: ");
	feed_str(f, DIR_CLIENT, "secret\r\n");
	end(f);
	char *text = render(f);
	assert_contains(text, "\"user\":null");
	assert_contains(text, "\"password_sent\":true");
	free(text);
	flow_close(f);
}

static void test_malformed_command(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, "\xff\x10\xff\x20hello\xff\xf0", 11);
	end(f);
	char *text = render(f);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "telnet.bad_command"), 2);
	assert_int_equal(session_counter_value(f->s, "telnet.stray_se"), 1);
	assert_contains(text, "\"negotiation\":[\"client SE\"]");
	free(text);
	flow_close(f);
}

/* Random bytes never crash it, and a half command at the end is counted. */
static void test_garbage(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	uint32_t x = 12345;
	for (int i = 0; i < 20000; i++) {
		x = x * 1103515245u + 12345u;
		uint8_t b = (uint8_t)(x >> 16);
		if ((x >> 8) % 5 == 0)
			b = 0xff;
		feed(f, (enum direction)((x >> 4) & 1), &b, 1);
	}
	feed(f, DIR_CLIENT, "\xff\xfa\x18", 3);
	end(f);
	char *text = render(f);
	assert_non_null(text);
	assert_true(session_counter_value(f->s, "telnet.incomplete_command") >= 1);
	free(text);
	flow_close(f);
}

static void test_summary(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	char buf[128];
	telnet_dissector.summarize(f->state, buf, sizeof buf);
	assert_string_equal(buf, "0 options");
	feed_session(f, openbsd, N_OPENBSD, SIZE_MAX, 0);
	telnet_dissector.summarize(f->state, buf, sizeof buf);
	assert_string_equal(buf, "user fake, xterm-color, 13 options");
	telnet_dissector.summarize(f->state, buf, 8);
	assert_int_equal(strlen(buf), 7);
	telnet_dissector.summarize(f->state, buf, 0);
	flow_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_openbsd_session),
	    cmocka_unit_test(test_openbsd_in_steps),
	    cmocka_unit_test(test_openbsd_every_split),
	    cmocka_unit_test(test_openbsd_every_truncation),
	    cmocka_unit_test(test_char_mode_login),
	    cmocka_unit_test(test_password_shown_on_request),
	    cmocka_unit_test(test_failed_login),
	    cmocka_unit_test(test_reprompt_is_failure),
	    cmocka_unit_test(test_password_only),
	    cmocka_unit_test(test_line_editing),
	    cmocka_unit_test(test_no_prompt_no_user),
	    cmocka_unit_test(test_empty_login_line),
	    cmocka_unit_test(test_environ_and_auth_name),
	    cmocka_unit_test(test_subnegotiation_cap),
	    cmocka_unit_test(test_unterminated_subnegotiation),
	    cmocka_unit_test(test_encrypt_start),
	    cmocka_unit_test(test_start_tls),
	    cmocka_unit_test(test_negotiation_cap),
	    cmocka_unit_test(test_options_cap),
	    cmocka_unit_test(test_line_cap),
	    cmocka_unit_test(test_long_server_output),
	    cmocka_unit_test(test_gap_in_client_line),
	    cmocka_unit_test(test_gap_in_server_output),
	    cmocka_unit_test(test_malformed_command),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_summary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
