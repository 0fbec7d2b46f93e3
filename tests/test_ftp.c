/* FTP and FTP data (dissectors/ftp.c): control sessions fed the way the core
 * feeds a stream (unconsumed bytes kept and handed back with the next ones),
 * in arbitrary splits, the expectations they file, and the records read
 * back as JSON. */
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
#include "portolan/session_internal.h" /* the detached session's last expectation */

extern const struct dissector ftp_dissector;
extern const struct dissector ftp_data_dissector;

static const struct ip_addr client_ip = {.version = 4, .b = {192, 0, 2, 10}};
static const struct ip_addr server_ip = {.version = 4, .b = {192, 0, 2, 21}};

/* ---- a stream the way src/dissect.c drives it ---- */

struct tflow {
	const struct dissector *d;
	struct session *s;
	void *state;
	uint8_t *pending[2];
	size_t len[2];
};

static struct tflow *flow_open_with(const struct dissector *d, const struct ip_addr *c,
                                    const struct ip_addr *srv, uint16_t port)
{
	struct tflow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->d = d;
	f->s = session_detached_new(true, c, 40000, srv, port);
	f->state = calloc(1, d->state_size);
	assert_non_null(f->s);
	assert_non_null(f->state);
	session_set_now(f->s, 1000 * USEC_PER_SEC);
	return f;
}

static struct tflow *flow_open(void)
{
	return flow_open_with(&ftp_dissector, &client_ip, &server_ip, 21);
}

static void flow_close(struct tflow *f)
{
	if (f->d->release)
		f->d->release(f->state);
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
		size_t used =
		    f->d->on_data(f->s, f->state, dir, rd_init(f->pending[dir], f->len[dir]));
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

static void gap(struct tflow *f, enum direction dir, size_t missing)
{
	f->len[dir] = 0;
	f->d->on_gap(f->s, f->state, dir, missing);
}

static void end(struct tflow *f)
{
	f->d->on_end(f->s, f->state);
}

static char *render(const struct tflow *f)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	f->d->emit(f->state, &jw.e);
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

/* A dialogue: lines starting "C:" are the client's, "S:" the server's; fed
 * in order, one line at a time, each with its CRLF. */
static void play(struct tflow *f, const char *const *script)
{
	char buf[4096];
	for (; *script; script++) {
		snprintf(buf, sizeof buf, "%s\r\n", *script + 2);
		feed_str(f, (*script)[0] == 'C' ? DIR_CLIENT : DIR_SERVER, buf);
	}
}

/* The whole of each direction of a script, for split tests. */
static void script_text(const char *const *script, char *client, char *server, size_t n)
{
	client[0] = server[0] = '\0';
	for (; *script; script++) {
		char *out = (*script)[0] == 'C' ? client : server;
		size_t at = strlen(out);
		snprintf(out + at, n - at, "%s\r\n", *script + 2);
	}
}

/* A session in the RFC 959 style: greeting, login, a passive LIST, an
 * active RETR, an EPSV and an EPRT transfer, an aborted one, QUIT. */
static const char *const session_script[] = {
    "S:220-Welcome to the test server",
    "S:220 ProFTPD 1.3.8 Server ready.",
    "C:USER alice",
    "S:331 Password required for alice",
    "C:PASS s3cret",
    "S:230 User alice logged in",
    "C:SYST",
    "S:215 UNIX Type: L8",
    "C:PASV",
    "S:227 Entering Passive Mode (198,51,100,7,195,80).",
    "C:LIST",
    "S:150 Opening ASCII mode data connection for file list",
    "S:226 Transfer complete",
    "C:TYPE I",
    "S:200 Type set to I",
    "C:PORT 192,0,2,10,7,138",
    "S:200 PORT command successful",
    "C:RETR report.pdf",
    "S:150 Opening BINARY mode data connection for report.pdf (1234 bytes)",
    "S:226 Transfer complete",
    "C:EPSV",
    "S:229 Entering Extended Passive Mode (|||6446|)",
    "C:STOR upload.bin",
    "S:125 Data connection already open; transfer starting",
    "S:426 Connection closed; transfer aborted",
    "C:EPRT |1|192.0.2.10|6275|",
    "S:200 EPRT command successful",
    "C:NLST",
    "S:550 No files found",
    "C:QUIT",
    "S:221 Goodbye.",
    NULL,
};

static char *run_script(const char *const *script, struct tflow **keep)
{
	struct tflow *f = flow_open();
	play(f, script);
	end(f);
	char *text = render(f);
	if (keep)
		*keep = f;
	else
		flow_close(f);
	return text;
}

/* ---- the probe ---- */

static enum verdict probe(const char *text, enum direction dir)
{
	return ftp_dissector.probe(rd_init(text, strlen(text)), dir);
}

static void test_probe_client(void **unused)
{
	(void)unused;
	assert_int_equal(probe("USER anonymous\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("user bob\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("FEAT\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("AUTH TLS\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("AUTH SSL\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("SYST\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("EPSV\r\n", DIR_CLIENT), VERDICT_YES);
	/* other protocols' first commands */
	assert_int_equal(probe("EHLO mail.example.com\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("HELO x\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("AUTH PLAIN AGJvYgBwdw==\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("a001 LOGIN bob pw\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("GET / HTTP/1.1\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("SSH-2.0-OpenSSH_9.0\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("QUIT\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("\x16\x03\x01\x00\x50", DIR_CLIENT), VERDICT_NO);
	/* too short to tell */
	assert_int_equal(probe("", DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe("US", DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe("USER", DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe("AUTH ", DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe("AUTH T", DIR_CLIENT), VERDICT_NEED_MORE);
}

static void test_probe_server(void **unused)
{
	(void)unused;
	assert_int_equal(probe("220 ProFTPD 1.3.8 Server ready.\r\n", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("220 (vsFTPd 3.0.5)\r\n", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("220-FileZilla Server\r\n220 hi\r\n", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("220-Welcome\r\n220-This is an ftp site\r\n", DIR_SERVER),
	                 VERDICT_YES);
	/* an anonymous greeting waits; the next reply can tell */
	assert_int_equal(probe("220 Welcome.\r\n", DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe("220 Welcome.\r\n331 Password\r\n", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("220 Welcome.\r\n250-hello\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("220 Welc", DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe("22", DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe("220", DIR_SERVER), VERDICT_NEED_MORE);
	/* the other greeting-first protocols */
	assert_int_equal(probe("220 mail.example.com ESMTP Postfix\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("220 mx SMTP ready\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("+OK POP3 ready\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("* OK IMAP4rev1 ready\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("200 news.example.com NNTP\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("SSH-2.0-OpenSSH_9.0\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("HTTP/1.1 200 OK\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe("220x", DIR_SERVER), VERDICT_NO);
	/* mid-stream: FTP-only reply codes */
	assert_int_equal(probe("227 Entering Passive Mode (1,2,3,4,5,6)\r\n", DIR_SERVER),
	                 VERDICT_YES);
	assert_int_equal(probe("331 Password required\r\n", DIR_SERVER), VERDICT_YES);
}

/* ---- a whole session ---- */

static void test_session_fields(void **unused)
{
	(void)unused;
	struct tflow *f;
	char *t = run_script(session_script, &f);

	assert_contains(t, "\"banner\":\"Welcome to the test server\"");
	assert_contains(t, "\"user\":\"alice\"");
	assert_contains(t, "\"anonymous\":false");
	assert_contains(t, "\"password_seen\":true");
	assert_contains(t, "\"commands\":[\"USER alice\",\"PASS ****\",\"SYST\",\"PASV\",\"LIST\","
	                   "\"TYPE I\",\"PORT 192,0,2,10,7,138\",\"RETR report.pdf\",\"EPSV\","
	                   "\"STOR upload.bin\",\"EPRT |1|192.0.2.10|6275|\",\"NLST\",\"QUIT\"]");
	assert_lacks(t, "s3cret");
	assert_lacks(t, "\"password\"");
	assert_contains(t, "\"replies\":[220,331,230,215,227,150,226,200,200,150,226,229,125,426,"
	                   "200,550,221]");
	assert_contains(t, "\"data_channels\":["
	                   "{\"ip\":\"198.51.100.7\",\"port\":50000,\"mode\":\"passive\","
	                   "\"command\":\"PASV\",\"expected_ip\":\"192.0.2.21\",\"expected\":true},"
	                   "{\"ip\":\"192.0.2.10\",\"port\":1930,\"mode\":\"active\","
	                   "\"command\":\"PORT\",\"expected\":true},"
	                   "{\"ip\":\"192.0.2.21\",\"port\":6446,\"mode\":\"passive\","
	                   "\"command\":\"EPSV\",\"expected\":true},"
	                   "{\"ip\":\"192.0.2.10\",\"port\":6275,\"mode\":\"active\","
	                   "\"command\":\"EPRT\",\"expected\":true}]");
	assert_contains(t, "\"transfers\":["
	                   "{\"command\":\"LIST\",\"file\":null,\"reply\":226,"
	                   "\"data_channel\":{\"ip\":\"192.0.2.21\",\"port\":50000}},"
	                   "{\"command\":\"RETR\",\"file\":\"report.pdf\",\"reply\":226,"
	                   "\"data_channel\":{\"ip\":\"192.0.2.10\",\"port\":1930}},"
	                   "{\"command\":\"STOR\",\"file\":\"upload.bin\",\"reply\":426,"
	                   "\"data_channel\":{\"ip\":\"192.0.2.21\",\"port\":6446}},"
	                   "{\"command\":\"NLST\",\"file\":null,\"reply\":550,"
	                   "\"data_channel\":{\"ip\":\"192.0.2.10\",\"port\":6275}}]");
	assert_contains(t, "\"auth_tls\":false");
	assert_contains(t, "\"starttls\":false");
	assert_lacks(t, "encrypted_after");
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_true(session_has_alert(f->s, ALERT_INSECURE_PROTOCOL));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "ftp.data_channel_expected"), 4);

	char sum[128];
	ftp_dissector.summarize(f->state, sum, sizeof sum);
	assert_string_equal(sum, "user alice, 13 commands, 4 transfers");
	free(t);
	flow_close(f);
}

/* Each announcement files its expectation at once: the server side of the
 * data flow is the one that will receive the SYN. */
static void test_expectations(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	const struct expectation *e = &f->s->last_expect;

	play(f, (const char *const[]){"S:220 FTP ready", "C:USER bob", "S:331 pw", NULL});
	assert_false(f->s->has_expect);

	/* passive: the control server's address, the announced port */
	play(f,
	     (const char *const[]){"C:PASV", "S:227 Entering Passive Mode (10,0,0,1,4,1)", NULL});
	assert_true(f->s->has_expect);
	assert_int_equal(ip_addr_compare(&e->server, &server_ip), 0);
	assert_int_equal(e->server_port, 1025);
	assert_false(e->has_client);
	assert_string_equal(e->dissector, "ftp-data");
	assert_string_equal(e->note, "passive");
	assert_int_equal(e->transport, TRANSPORT_TCP);
	assert_int_equal(e->deadline, 1060 * USEC_PER_SEC);

	/* a 227 without parentheses */
	play(f, (const char *const[]){"C:PASV", "S:227 Entering Passive Mode 10,0,0,1,4,2", NULL});
	assert_int_equal(e->server_port, 1026);
	play(f, (const char *const[]){"C:PASV", "S:227 =10,0,0,1,4,3", NULL});
	assert_int_equal(e->server_port, 1027);

	/* active: the announced address and port, at the PORT command */
	f->s->has_expect = false;
	play(f, (const char *const[]){"C:PORT 192,0,2,99,39,16", NULL});
	assert_true(f->s->has_expect);
	struct ip_addr announced = {.version = 4, .b = {192, 0, 2, 99}};
	assert_int_equal(ip_addr_compare(&e->server, &announced), 0);
	assert_int_equal(e->server_port, 10000);
	assert_string_equal(e->note, "active");

	/* EPRT with IPv6, EPSV */
	play(f, (const char *const[]){"S:200 ok", "C:EPRT |2|2001:db8::7|5282|", NULL});
	assert_int_equal(e->server.version, 6);
	assert_int_equal(e->server.b[0], 0x20);
	assert_int_equal(e->server.b[15], 7);
	assert_int_equal(e->server_port, 5282);
	play(f, (const char *const[]){"S:200 ok", "C:EPSV", "S:229 Extended Passive (!!!6446!)",
	                              NULL});
	assert_int_equal(ip_addr_compare(&e->server, &server_ip), 0);
	assert_int_equal(e->server_port, 6446);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
}

/* A transfer command sent before the 227 came back rides in the note. */
static void test_pipelined_pasv(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	play(f, (const char *const[]){"S:220 FTP", "C:PASV", "C:RETR big.iso",
	                              "S:227 Entering Passive Mode (192,0,2,21,10,0)",
	                              "S:150 here it comes", "S:226 done", NULL});
	assert_string_equal(f->s->last_expect.note, "passive RETR big.iso");
	assert_int_equal(f->s->last_expect.server_port, 2560);
	char *t = render(f);
	assert_contains(t, "{\"command\":\"RETR\",\"file\":\"big.iso\",\"reply\":226,"
	                   "\"data_channel\":{\"ip\":\"192.0.2.21\",\"port\":2560}}");
	free(t);
	flow_close(f);
}

/* A PORT the server refuses is not the channel of the next transfer. */
static void test_port_refused(void **unused)
{
	(void)unused;
	char *t = run_script((const char *const[]){"S:220 FTP", "C:PORT 10,0,0,1,0,80",
	                                           "S:500 Illegal PORT command", "C:RETR x",
	                                           "S:425 Use PORT or PASV first", NULL},
	                     NULL);
	assert_contains(t, "{\"command\":\"RETR\",\"file\":\"x\",\"reply\":425,"
	                   "\"data_channel\":null}");
	free(t);
}

/* ---- credentials ---- */

static void test_anonymous(void **unused)
{
	(void)unused;
	struct tflow *f;
	char *t = run_script((const char *const[]){"S:220 FTP", "C:USER anonymous",
	                                           "S:331 Guest login ok",
	                                           "C:PASS guest@example.com", "S:230 ok", NULL},
	                     &f);
	assert_contains(t, "\"anonymous\":true");
	assert_contains(t, "\"PASS ****\"");
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_true(session_has_alert(f->s, ALERT_INSECURE_PROTOCOL));
	free(t);
	flow_close(f);

	t = run_script((const char *const[]){"C:USER FTP", "C:PASS x", NULL}, &f);
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	free(t);
	flow_close(f);

	/* a password without any USER seen */
	t = run_script((const char *const[]){"C:PASS x", NULL}, &f);
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	free(t);
	flow_close(f);
}

static void test_show_credentials(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	f->s->show_credentials = true;
	play(f, (const char *const[]){"S:220 FTP", "C:USER alice", "S:331 pw", "C:PASS s3cret",
	                              "S:230 ok", NULL});
	char *t = render(f);
	assert_contains(t, "\"PASS s3cret\"");
	assert_contains(t, "\"password\":\"s3cret\"");
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	free(t);
	flow_close(f);
}

/* ---- AUTH TLS ---- */

static const uint8_t client_hello[] = {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00};
static const uint8_t server_hello[] = {0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00};
static const uint8_t app_data[] = {0x17, 0x03, 0x03, 0x00, 0x03, 'U', 'S', 'E'};
static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00};

static void test_auth_tls(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	play(f, (const char *const[]){"S:220 (vsFTPd 3.0.5)", "C:FEAT", "S:211-Features:",
	                              "S: AUTH TLS", "S:211 End", "C:AUTH TLS", NULL});
	/* the 234 and the server's first TLS bytes in one segment */
	uint8_t seg[64];
	memcpy(seg, "234 Proceed with negotiation.\r\n", 31);
	memcpy(seg + 31, server_hello, sizeof server_hello);
	feed(f, DIR_CLIENT, client_hello, sizeof client_hello);
	feed(f, DIR_SERVER, seg, 31 + sizeof server_hello);

	if (session_handoff_target(f->s)) {
		/* a TLS dissector took the stream: the rest is not ours */
		assert_string_equal(session_handoff_target(f->s), "tls");
	} else {
		assert_int_equal(f->len[DIR_SERVER], 0); /* consumed as TLS */
		feed(f, DIR_CLIENT, app_data, sizeof app_data);
		feed(f, DIR_CLIENT, "\x17\x03\x03\x00\x06PASS x", 11);
		assert_int_equal(f->len[DIR_CLIENT], 0);
	}
	end(f);
	char *t = render(f);
	assert_contains(t, "\"auth_tls\":true");
	assert_contains(t, "\"starttls\":true");
	assert_contains(t, "\"encrypted_after\":\"AUTH TLS\"");
	assert_contains(t, "\"commands\":[\"FEAT\",\"AUTH TLS\"]");
	assert_contains(t, "\"replies\":[220,211,234]");
	assert_lacks(t, "cleartext_after_tls");
	assert_false(session_has_alert(f->s, ALERT_INSECURE_PROTOCOL));
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(t);
	flow_close(f);
}

/* CCC (RFC 4217 6): after close_notify each way, cleartext resumes. */
static void test_clear_command_channel(void **unused)
{
	(void)unused;
	if (dissector_by_name("tls"))
		skip(); /* the TLS dissector owns the stream after AUTH TLS */
	struct tflow *f = flow_open();
	play(f, (const char *const[]){"S:220 FTP", "C:AUTH SSL", "S:234 go ahead", NULL});
	feed(f, DIR_CLIENT, client_hello, sizeof client_hello);
	feed(f, DIR_SERVER, server_hello, sizeof server_hello);
	feed(f, DIR_CLIENT, app_data, sizeof app_data);
	/* the close_notify split across segments */
	feed(f, DIR_CLIENT, alert, 3);
	feed(f, DIR_CLIENT, alert + 3, sizeof alert - 3);
	feed(f, DIR_SERVER, alert, sizeof alert);
	play(f, (const char *const[]){"C:PASV", "S:227 Entering Passive Mode (192,0,2,21,1,2)",
	                              "C:STOR a.txt", "S:150 ok", NULL});
	end(f);
	char *t = render(f);
	assert_contains(t, "\"encrypted_after\":\"AUTH SSL\"");
	assert_contains(t, "\"cleartext_after_tls\":true");
	assert_contains(t, "\"commands\":[\"AUTH SSL\",\"PASV\",\"STOR a.txt\"]");
	assert_contains(t, "{\"command\":\"STOR\",\"file\":\"a.txt\",\"reply\":null,");
	assert_int_equal(f->s->last_expect.server_port, 258);
	assert_false(session_has_alert(f->s, ALERT_INSECURE_PROTOCOL));
	free(t);
	flow_close(f);
}

/* Bytes that are no TLS record, without an alert before: skipped whole. */
static void test_tls_out_of_step(void **unused)
{
	(void)unused;
	if (dissector_by_name("tls"))
		skip();
	struct tflow *f = flow_open();
	play(f, (const char *const[]){"S:220 FTP", "C:AUTH TLS", "S:234 go", NULL});
	feed_str(f, DIR_CLIENT, "USER sneaky\r\n");
	feed(f, DIR_SERVER, server_hello, sizeof server_hello);
	gap(f, DIR_SERVER, 100);
	feed_str(f, DIR_SERVER, "331 what\r\n");
	end(f);
	char *t = render(f);
	assert_lacks(t, "sneaky");
	assert_contains(t, "\"replies\":[220,234]");
	assert_int_equal(f->len[DIR_CLIENT] + f->len[DIR_SERVER], 0);
	free(t);
	flow_close(f);
}

/* AUTH refused: still cleartext, still insecure. */
static void test_auth_refused(void **unused)
{
	(void)unused;
	struct tflow *f;
	char *t = run_script((const char *const[]){"S:220 FTP", "C:AUTH TLS",
	                                           "S:530 Please login with USER and PASS",
	                                           "C:USER u", "S:331 pw", "C:PASS p", NULL},
	                     &f);
	assert_contains(t, "\"auth_tls\":false");
	assert_contains(t, "\"user\":\"u\"");
	assert_true(session_has_alert(f->s, ALERT_INSECURE_PROTOCOL));
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	free(t);
	flow_close(f);
}

/* ---- splits, truncation, gaps, garbage ---- */

static void test_every_split(void **unused)
{
	(void)unused;
	static char client[4096], server[4096];
	script_text(session_script, client, server, sizeof client);
	struct tflow *f = flow_open();
	feed_str(f, DIR_CLIENT, client);
	feed_str(f, DIR_SERVER, server);
	end(f);
	char *whole = render(f);
	flow_close(f);
	/* the client direction all at once is processed before any reply: the
	 * pairing and the links must still come out the same (only the order
	 * of data_channels differs: active ones are announced by the client) */
	char *scripted = run_script(session_script, NULL);
	assert_string_equal(strstr(whole, "\"transfers\""), strstr(scripted, "\"transfers\""));
	free(scripted);

	size_t nc = strlen(client), ns = strlen(server);
	for (size_t i = 0; i <= nc + ns; i++) {
		f = flow_open();
		size_t ci = i < nc ? i : nc, si = i < nc ? 0 : i - nc;
		feed(f, DIR_CLIENT, client, ci);
		feed(f, DIR_CLIENT, client + ci, nc - ci);
		feed(f, DIR_SERVER, server, si);
		feed(f, DIR_SERVER, server + si, ns - si);
		end(f);
		char *t = render(f);
		if (strcmp(t, whole) != 0)
			fail_msg("split at %zu: %s\nwhole: %s", i, t, whole);
		free(t);
		flow_close(f);
	}
	/* byte by byte */
	f = flow_open();
	for (size_t i = 0; i < nc; i++)
		feed(f, DIR_CLIENT, client + i, 1);
	for (size_t i = 0; i < ns; i++)
		feed(f, DIR_SERVER, server + i, 1);
	end(f);
	char *t = render(f);
	assert_string_equal(t, whole);
	free(t);
	flow_close(f);
	free(whole);
}

/* Every prefix of the session, then the end: no crash, a sensible record. */
static void test_every_truncation(void **unused)
{
	(void)unused;
	static char client[4096], server[4096];
	script_text(session_script, client, server, sizeof client);
	size_t nc = strlen(client), ns = strlen(server);
	for (size_t i = 0; i <= nc; i += 1) {
		for (size_t j = 0; j <= ns; j += 7) {
			struct tflow *f = flow_open();
			feed(f, DIR_CLIENT, client, i);
			feed(f, DIR_SERVER, server, j);
			end(f);
			char *t = render(f);
			assert_contains(t, "\"commands\":[");
			assert_false(session_has_alert(f->s, ALERT_MALFORMED));
			free(t);
			flow_close(f);
		}
	}
}

static void test_gap_resync(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	play(f, (const char *const[]){"S:220 FTP", "C:USER bob", "S:331 pw", NULL});
	feed_str(f, DIR_CLIENT, "PASS hun");
	gap(f, DIR_CLIENT, 20);
	feed_str(f, DIR_CLIENT, "ter2\r\nCWD /pub\r\n");
	feed_str(f, DIR_SERVER, "230 ok\r\n250 ok\r\n");
	gap(f, DIR_SERVER, 5);
	feed_str(f, DIR_SERVER, "sed\r\n221 bye\r\n");
	end(f);
	char *t = render(f);
	assert_contains(t, "\"commands\":[\"USER bob\",\"CWD /pub\"]");
	assert_contains(t, "\"replies\":[220,331,230,250,221]");
	assert_contains(t, "\"gap\":true");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(t);
	flow_close(f);
}

static void test_malformed(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed_str(f, DIR_SERVER, "220 FTP\r\n");
	feed(f, DIR_SERVER, "\x01\x02garbage\r\n", 11);
	end(f);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);

	f = flow_open();
	feed(f, DIR_CLIENT, "\x80\x81\x82\x00zz\r\n", 8);
	end(f);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);

	/* bad announcements */
	const char *const bad[] = {
	    "C:PORT 1,2,3",           "C:PORT 1,2,3,4,5,666",       "C:EPRT |3|x|1|",
	    "C:EPRT |1|1.2.3.4|0|",   "C:EPRT |2|1.2.3.4|99|",      "S:227 Passive (1,2,3)",
	    "S:229 Extended (|||x|)", "S:229 Extended (|||70000|)", NULL};
	for (const char *const *b = bad; *b; b++) {
		f = flow_open();
		play(f, (const char *const[]){*b, NULL});
		end(f);
		assert_true(session_has_alert(f->s, ALERT_MALFORMED));
		assert_false(f->s->has_expect);
		char *t = render(f);
		assert_contains(t, "\"data_channels\":[]");
		free(t);
		flow_close(f);
	}
}

/* Telnet IP / DM before ABOR, lower case verbs, a long line. */
static void test_odd_lines(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT,
	     "\xff\xf4\xff\xf2"
	     "ABOR\r\n",
	     10);
	feed_str(f, DIR_CLIENT, "retr x\r\n");
	static char line[6000];
	memset(line, 'a', sizeof line);
	memcpy(line, "CWD ", 4);
	memcpy(line + sizeof line - 2, "\r\n", 2);
	feed(f, DIR_CLIENT, line, sizeof line);
	feed_str(f, DIR_CLIENT, "NOOP\r\n");
	end(f);
	char *t = render(f);
	assert_contains(t, "\"commands\":[\"ABOR\",\"retr x\",\"CWD aaa");
	assert_contains(t, "\",\"NOOP\"]");
	assert_contains(t, "{\"command\":\"RETR\",\"file\":\"x\"");
	assert_true(session_counter_value(f->s, "ftp.line_too_long") == 1);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(t);
	flow_close(f);
}

/* ---- caps ---- */

static void test_caps(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	char buf[128];
	feed_str(f, DIR_SERVER, "220 FTP\r\n");
	for (int i = 0; i < 100; i++) {
		snprintf(buf, sizeof buf, "PORT 10,0,0,1,1,%d\r\nRETR f%d\r\n", i, i);
		feed_str(f, DIR_CLIENT, buf);
		feed_str(f, DIR_SERVER, "200 ok\r\n150 go\r\n226 done\r\n");
	}
	end(f);
	char *t = render(f);
	assert_contains(t, "\"truncated\":136");
	assert_contains(t, "\"replies_truncated\":237");
	assert_contains(t, "\"data_channels_truncated\":68");
	assert_contains(t, "\"transfers_truncated\":68");
	assert_int_equal(session_counter_value(f->s, "ftp.too_many_commands"), 1);
	assert_int_equal(session_counter_value(f->s, "ftp.too_many_replies"), 1);
	assert_int_equal(session_counter_value(f->s, "ftp.too_many_channels"), 1);
	assert_int_equal(session_counter_value(f->s, "ftp.too_many_transfers"), 1);
	/* every channel is still expected, the last one too */
	assert_int_equal(session_counter_value(f->s, "ftp.data_channel_expected"), 100);
	assert_int_equal(f->s->last_expect.server_port, 256 + 99);
	free(t);
	flow_close(f);

	/* too many commands awaiting replies: counted, nothing breaks */
	f = flow_open();
	for (int i = 0; i < 40; i++)
		feed_str(f, DIR_CLIENT, "NOOP\r\n");
	assert_int_equal(session_counter_value(f->s, "ftp.too_many_pending"), 24);
	end(f);
	flow_close(f);
}

/* ---- ftp-data ---- */

static struct tflow *data_flow(const char *note)
{
	struct ip_addr srv = {.version = 4, .b = {192, 0, 2, 10}};
	struct tflow *f = flow_open_with(&ftp_data_dissector, &server_ip, &srv, 1930);
	if (note) {
		struct expected_from from;
		memset(&from, 0, sizeof from);
		snprintf(from.note, sizeof from.note, "%s", note);
		from.client = client_ip;
		from.client_port = 40000;
		from.server = server_ip;
		from.server_port = 21;
		session_detached_set_expected(f->s, &from);
	}
	return f;
}

static void test_data_channel(void **unused)
{
	(void)unused;
	static uint8_t blob[5000];
	struct tflow *f = data_flow("active RETR report.pdf");
	feed(f, DIR_CLIENT, blob, sizeof blob);
	gap(f, DIR_CLIENT, 100);
	feed(f, DIR_CLIENT, blob, 10);
	assert_int_equal(f->len[DIR_CLIENT], 0);
	end(f);
	char *t = render(f);
	assert_string_equal(t, "{\"control\":{\"client\":{\"ip\":\"192.0.2.10\",\"port\":40000},"
	                       "\"server\":{\"ip\":\"192.0.2.21\",\"port\":21}},"
	                       "\"mode\":\"active\",\"command\":\"RETR\",\"file\":\"report.pdf\","
	                       "\"direction\":\"download\",\"bytes\":5110,\"missed_bytes\":100}");
	char sum[128];
	ftp_data_dissector.summarize(f->state, sum, sizeof sum);
	assert_string_equal(sum, "active RETR report.pdf, 5110 bytes");
	free(t);
	flow_close(f);

	/* passive, command unknown: the sender's address tells the direction */
	f = data_flow("passive");
	feed(f, DIR_SERVER, blob, 10); /* the data server is 192.0.2.10: the control client */
	end(f);
	t = render(f);
	assert_contains(t, "\"mode\":\"passive\",\"command\":null,\"file\":null,"
	                   "\"direction\":\"upload\",\"bytes\":10}");
	free(t);
	flow_close(f);

	f = data_flow("passive STOU");
	end(f);
	t = render(f);
	assert_contains(t,
	                "\"command\":\"STOU\",\"file\":null,\"direction\":\"upload\",\"bytes\":0");
	free(t);
	flow_close(f);

	/* pinned without an expectation (decode-as): nothing inherited */
	f = data_flow(NULL);
	feed(f, DIR_SERVER, blob, 3);
	end(f);
	t = render(f);
	assert_string_equal(t, "{\"control\":null,\"mode\":null,\"command\":null,\"file\":null,"
	                       "\"direction\":null,\"bytes\":3}");
	free(t);
	flow_close(f);
	assert_null(ftp_data_dissector.probe);
	assert_null(ftp_data_dissector.ports);
}

/* IPv6 control session: EPSV expects the server's IPv6 address. */
static void test_ipv6(void **unused)
{
	(void)unused;
	struct ip_addr c6 = {.version = 6, .b = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}};
	struct ip_addr s6 = {.version = 6, .b = {0x20, 0x01, 0x0d, 0xb8, [15] = 2}};
	struct tflow *f = flow_open_with(&ftp_dissector, &c6, &s6, 21);
	play(f, (const char *const[]){"S:220 FTP", "C:EPSV",
	                              "S:229 Entering Extended Passive Mode (|||50001|)", "C:LIST",
	                              "S:150 ok", "S:226 ok", NULL});
	assert_int_equal(ip_addr_compare(&f->s->last_expect.server, &s6), 0);
	assert_int_equal(f->s->last_expect.server_port, 50001);
	char *t = render(f);
	assert_contains(t, "{\"ip\":\"2001:db8::2\",\"port\":50001,\"mode\":\"passive\","
	                   "\"command\":\"EPSV\",\"expected\":true}");
	free(t);
	flow_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe_client),    cmocka_unit_test(test_probe_server),
	    cmocka_unit_test(test_session_fields),  cmocka_unit_test(test_expectations),
	    cmocka_unit_test(test_pipelined_pasv),  cmocka_unit_test(test_port_refused),
	    cmocka_unit_test(test_anonymous),       cmocka_unit_test(test_show_credentials),
	    cmocka_unit_test(test_auth_tls),        cmocka_unit_test(test_clear_command_channel),
	    cmocka_unit_test(test_tls_out_of_step), cmocka_unit_test(test_auth_refused),
	    cmocka_unit_test(test_every_split),     cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_gap_resync),      cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_odd_lines),       cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_data_channel),    cmocka_unit_test(test_ipv6),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
