/* MySQL (dissectors/mysql.c): greeting, handshake responses, SSL request
 * handoff, commands and ERR packets built field by field, fed the way the
 * core feeds a stream, and the record read back as JSON. */
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

extern const struct dissector mysql_dissector;
#define D mysql_dissector

/* ---- a stream the way src/dissect.c drives it ---- */

struct tflow {
	struct session *s;
	void *state;
	uint8_t *pending[2];
	size_t len[2];
};

static struct tflow *flow_open_on(bool tcp)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 14}};
	struct tflow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->s = session_detached_new(tcp, &client, 40000, &server, 3306);
	f->state = calloc(1, D.state_size);
	assert_non_null(f->s);
	assert_non_null(f->state);
	return f;
}

static struct tflow *flow_open(void)
{
	return flow_open_on(true);
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
	}
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

/* ---- building messages ---- */

struct buf {
	uint8_t b[8192];
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

static void put_str0(struct buf *b, const char *s)
{
	put(b, s, strlen(s) + 1);
}

/* A MySQL packet: 3-byte length, sequence id, payload. */
static void put_packet(struct buf *b, uint8_t seq, const struct buf *payload)
{
	put_u8(b, (uint8_t)payload->n);
	put_u8(b, (uint8_t)(payload->n >> 8));
	put_u8(b, (uint8_t)(payload->n >> 16));
	put_u8(b, seq);
	put(b, payload->b, payload->n);
}

#define CAPS_BASE 0x0000a200u /* PROTOCOL_41 | SECURE_CONNECTION | TRANSACTIONS */

static void greeting(struct buf *b, const char *version, const char *plugin)
{
	struct buf p = {.n = 0};
	put_u8(&p, 10);
	put_str0(&p, version);
	put_le32(&p, 4242);
	put(&p, "abcdefgh", 8);
	put_u8(&p, 0);
	uint32_t caps = CAPS_BASE | 0x0008 | 0x0800 | 0x00080000 | 0x00200000;
	put_le16(&p, (uint16_t)caps);
	put_u8(&p, 33);
	put_le16(&p, 2);
	put_le16(&p, (uint16_t)(caps >> 16));
	put_u8(&p, 21);
	put(&p, "\0\0\0\0\0\0\0\0\0\0", 10);
	put(&p, "ijklmnopqrst", 13); /* 12 bytes and a NUL */
	put_str0(&p, plugin);
	put_packet(b, 0, &p);
}

static void response(struct buf *b, const char *user, const char *db, const char *plugin,
                     const char *auth, uint8_t auth_len, bool lenenc)
{
	struct buf p = {.n = 0};
	uint32_t caps = CAPS_BASE | 0x00080000 | (db ? 0x0008 : 0) | (lenenc ? 0x00200000 : 0);
	put_le32(&p, caps);
	put_le32(&p, 16777216);
	put_u8(&p, 33);
	for (int i = 0; i < 23; i++)
		put_u8(&p, 0);
	put_str0(&p, user);
	put_u8(&p, auth_len);
	put(&p, auth, auth_len);
	if (db)
		put_str0(&p, db);
	put_str0(&p, plugin);
	put_packet(b, 1, &p);
}

static void ssl_request(struct buf *b)
{
	struct buf p = {.n = 0};
	put_le32(&p, CAPS_BASE | 0x0800 | 0x00080000);
	put_le32(&p, 16777216);
	put_u8(&p, 33);
	for (int i = 0; i < 23; i++)
		put_u8(&p, 0);
	put_packet(b, 1, &p);
}

static void ok_packet(struct buf *b, uint8_t seq)
{
	struct buf p = {.n = 0};
	put(&p, "\x00\x00\x00\x02\x00\x00\x00", 7);
	put_packet(b, seq, &p);
}

static void err_packet(struct buf *b, uint8_t seq, uint16_t code, const char *state,
                       const char *msg)
{
	struct buf p = {.n = 0};
	put_u8(&p, 0xff);
	put_le16(&p, code);
	if (state) {
		put_u8(&p, '#');
		put(&p, state, 5);
	}
	put(&p, msg, strlen(msg));
	put_packet(b, seq, &p);
}

static void query(struct buf *b, const char *q)
{
	struct buf p = {.n = 0};
	put_u8(&p, 0x03);
	put(&p, q, strlen(q));
	put_packet(b, 0, &p);
}

static void simple_command(struct buf *b, uint8_t cmd)
{
	struct buf p = {.n = 0};
	put_u8(&p, cmd);
	put_packet(b, 0, &p);
}

static const char scramble[20] = "0123456789abcdefghij";

/* A whole conversation: server bytes and client bytes. */
static void session_bytes(struct buf *srv, struct buf *cli)
{
	greeting(srv, "8.0.36", "caching_sha2_password");
	response(cli, "alice", "shop", "mysql_native_password", scramble, 20, false);
	ok_packet(srv, 2);
	query(cli, "SELECT 1");
	err_packet(srv, 1, 1146, "42S02", "Table 'shop.x' doesn't exist");
	simple_command(cli, 0x01);
}

/* ---- tests ---- */

static void test_greeting(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf b = {.n = 0};
	greeting(&b, "5.7.31-log", "mysql_native_password");
	feed(f, DIR_SERVER, b.b, b.n);
	char *j = render(f);
	assert_contains(j, "\"protocol\":10");
	assert_contains(j, "\"server_version\":\"5.7.31-log\"");
	assert_contains(j, "\"connection_id\":4242");
	assert_contains(j, "\"auth_plugin\":\"mysql_native_password\"");
	assert_contains(j, "\"ssl\":false");
	char sum[256];
	D.summarize(f->state, sum, sizeof sum);
	assert_non_null(strstr(sum, "5.7.31-log"));
	free(j);
	flow_close(f);
}

static void test_response_with_db(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf srv = {.n = 0}, cli = {.n = 0};
	session_bytes(&srv, &cli);
	/* interleave: greeting, response, OK, query, ERR, quit */
	feed(f, DIR_SERVER, srv.b, srv.n);
	feed(f, DIR_CLIENT, cli.b, cli.n);
	char *j = render(f);
	assert_contains(j, "\"user\":\"alice\"");
	assert_contains(j, "\"database\":\"shop\"");
	assert_contains(j, "\"auth_plugin\":\"mysql_native_password\"");
	assert_contains(j, "\"queries\":[\"SELECT 1\"]");
	assert_contains(j, "\"COM_QUERY\":1");
	assert_contains(j, "\"COM_QUIT\":1");
	assert_lacks(j, "password\":\"");
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	free(j);
	flow_close(f);
}

static void test_response_without_db(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf srv = {.n = 0}, cli = {.n = 0};
	greeting(&srv, "8.0.36", "caching_sha2_password");
	response(&cli, "bob", NULL, "caching_sha2_password", scramble, 20, true);
	feed(f, DIR_SERVER, srv.b, srv.n);
	feed(f, DIR_CLIENT, cli.b, cli.n);
	char *j = render(f);
	assert_contains(j, "\"user\":\"bob\"");
	assert_lacks(j, "\"database\"");
	assert_contains(j, "\"auth_plugin\":\"caching_sha2_password\"");
	free(j);
	flow_close(f);
}

static void test_err(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf srv = {.n = 0}, cli = {.n = 0};
	session_bytes(&srv, &cli);
	feed(f, DIR_SERVER, srv.b, srv.n);
	feed(f, DIR_CLIENT, cli.b, cli.n);
	char *j = render(f);
	assert_contains(j, "\"errors\":[{\"code\":1146,\"state\":\"42S02\",\"message\":\"Table "
	                   "'shop.x' doesn't exist\"}]");
	free(j);
	flow_close(f);

	/* a refused connection: ERR instead of the greeting, no SQL state */
	f = flow_open();
	struct buf b = {.n = 0};
	err_packet(&b, 0, 1130, NULL, "Host 'x' is not allowed to connect to this MySQL server");
	feed(f, DIR_SERVER, b.b, b.n);
	j = render(f);
	assert_contains(j, "\"code\":1130,\"state\":null");
	assert_lacks(j, "server_version");
	free(j);
	flow_close(f);
}

static void test_ssl_handoff(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf srv = {.n = 0}, cli = {.n = 0};
	greeting(&srv, "8.0.36", "caching_sha2_password");
	ssl_request(&cli);
	size_t ssl_end = cli.n;
	put(&cli, "\x16\x03\x01\x00\x05hello", 10); /* the ClientHello */
	feed(f, DIR_SERVER, srv.b, srv.n);
	size_t used = D.on_data(f->s, f->state, DIR_CLIENT, rd_init(cli.b, cli.n));
	assert_int_equal(used, ssl_end);
	assert_string_equal(session_handoff_target(f->s), "tls");
	char *j = render(f);
	assert_contains(j, "\"ssl\":true");
	assert_lacks(j, "\"user\"");
	free(j);
	flow_close(f);
}

static void test_queries_cap(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf srv = {.n = 0}, cli = {.n = 0};
	greeting(&srv, "8.0.36", "caching_sha2_password");
	response(&cli, "alice", NULL, "mysql_native_password", scramble, 20, false);
	feed(f, DIR_SERVER, srv.b, srv.n);
	feed(f, DIR_CLIENT, cli.b, cli.n);
	char longq[1000];
	memset(longq, 'x', sizeof longq - 1);
	longq[sizeof longq - 1] = 0;
	for (int i = 0; i < 20; i++) {
		struct buf q = {.n = 0};
		query(&q, i == 0 ? longq : "SELECT 2");
		feed(f, DIR_CLIENT, q.b, q.n);
	}
	for (int i = 0; i < 20; i++) {
		struct buf e = {.n = 0};
		err_packet(&e, 1, 1064, "42000", "syntax");
		feed(f, DIR_SERVER, e.b, e.n);
	}
	char *j = render(f);
	assert_contains(j, "\"queries_truncated\":4");
	assert_contains(j, "\"errors_truncated\":4");
	assert_contains(j, "\"COM_QUERY\":20");
	assert_int_equal(session_counter_value(f->s, "mysql.too_many_queries"), 4);
	assert_int_equal(session_counter_value(f->s, "mysql.string_cut"), 1);
	free(j);
	flow_close(f);
}

static void test_clear_password(void **unused)
{
	(void)unused;
	for (int show = 0; show < 2; show++) {
		struct tflow *f = flow_open();
		f->s->show_credentials = show;
		struct buf srv = {.n = 0}, cli = {.n = 0};
		greeting(&srv, "8.0.36", "mysql_clear_password");
		response(&cli, "carol", NULL, "mysql_clear_password", "s3cret\0", 7, false);
		feed(f, DIR_SERVER, srv.b, srv.n);
		feed(f, DIR_CLIENT, cli.b, cli.n);
		assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
		char *j = render(f);
		if (show)
			assert_contains(j, "\"password\":\"s3cret\"");
		else
			assert_lacks(j, "s3cret");
		free(j);
		flow_close(f);
	}
}

static void test_every_split(void **unused)
{
	(void)unused;
	struct buf srv = {.n = 0}, cli = {.n = 0};
	session_bytes(&srv, &cli);
	for (int side = 0; side < 2; side++) {
		const struct buf *b = side ? &cli : &srv;
		for (size_t cut = 0; cut <= b->n; cut++) {
			struct tflow *f = flow_open();
			if (side) {
				feed(f, DIR_SERVER, srv.b, srv.n);
				feed(f, DIR_CLIENT, cli.b, cut);
				feed(f, DIR_CLIENT, cli.b + cut, cli.n - cut);
			} else {
				feed(f, DIR_SERVER, srv.b, cut);
				feed(f, DIR_SERVER, srv.b + cut, srv.n - cut);
				feed(f, DIR_CLIENT, cli.b, cli.n);
			}
			char *j = render(f);
			assert_contains(j, "\"server_version\":\"8.0.36\"");
			assert_contains(j, "\"user\":\"alice\"");
			assert_contains(j, "\"database\":\"shop\"");
			assert_contains(j, "\"queries\":[\"SELECT 1\"]");
			assert_contains(j, "\"code\":1146");
			assert_lacks(j, "malformed");
			free(j);
			flow_close(f);
		}
	}
}

/* Truncated payloads inside well-framed packets, and a prefix of the
 * stream: never a crash, nothing invented. */
static void test_every_truncation(void **unused)
{
	(void)unused;
	struct buf g = {.n = 0}, r = {.n = 0};
	greeting(&g, "8.0.36", "caching_sha2_password");
	response(&r, "alice", "shop", "mysql_native_password", scramble, 20, true);
	for (int which = 0; which < 2; which++) {
		const struct buf *b = which ? &r : &g;
		for (size_t n = 4; n <= b->n; n++) {
			/* the packet's payload cut to n - 4 bytes, re-framed */
			struct buf p = {.n = 0}, pkt = {.n = 0};
			put(&p, b->b + 4, n - 4);
			put_packet(&pkt, b->b[3], &p);
			struct tflow *f = flow_open();
			if (which)
				feed(f, DIR_SERVER, g.b, g.n);
			feed(f, which ? DIR_CLIENT : DIR_SERVER, pkt.b, pkt.n);
			char *j = render(f);
			free(j);
			flow_close(f);
			/* and the stream cut there */
			f = flow_open();
			if (which)
				feed(f, DIR_SERVER, g.b, g.n);
			feed(f, which ? DIR_CLIENT : DIR_SERVER, b->b, n);
			j = render(f);
			if (n < b->n)
				assert_lacks(j, which ? "\"user\"" : "\"server_version\"");
			free(j);
			flow_close(f);
		}
	}
}

static void test_gap(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf srv = {.n = 0}, cli = {.n = 0};
	session_bytes(&srv, &cli);
	feed(f, DIR_SERVER, srv.b, srv.n);
	feed(f, DIR_CLIENT, cli.b, 10);
	gap(f, DIR_CLIENT, 100);
	feed(f, DIR_CLIENT, cli.b + 10, cli.n - 10);
	char *j = render(f);
	assert_contains(j, "\"gap\":true");
	assert_lacks(j, "\"user\"");
	free(j);
	flow_close(f);
}

static void test_garbage(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf srv = {.n = 0}, p = {.n = 0};
	greeting(&srv, "8.0.36", "x");
	feed(f, DIR_SERVER, srv.b, srv.n);
	put(&p, "\x01\x02", 2); /* a 2-byte "handshake response" */
	struct buf cli = {.n = 0};
	put_packet(&cli, 1, &p);
	feed(f, DIR_CLIENT, cli.b, cli.n);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	/* an oversize packet is skipped */
	uint8_t big[4] = {0xff, 0xff, 0x7f, 0};
	feed(f, DIR_CLIENT, big, sizeof big);
	char *j = render(f);
	assert_contains(j, "\"too_big\":true");
	free(j);
	flow_close(f);
}

static enum verdict probe_bytes(const void *p, size_t n, enum direction dir)
{
	return D.probe(rd_init(p, n), dir);
}

static void test_probe(void **unused)
{
	(void)unused;
	struct buf g = {.n = 0};
	greeting(&g, "8.0.36", "caching_sha2_password");
	assert_int_equal(probe_bytes(g.b, g.n, DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe_bytes(g.b, 7, DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe_bytes(g.b, 3, DIR_SERVER), VERDICT_NEED_MORE);
	struct buf e = {.n = 0};
	err_packet(&e, 0, 1130, NULL, "Host 'x' is not allowed to connect");
	assert_int_equal(probe_bytes(e.b, e.n, DIR_SERVER), VERDICT_YES);

	static const char *const others[] = {
	    "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
	    "HTTP/1.1 200 OK\r\n\r\n",
	    "SSH-2.0-OpenSSH_9.6\r\n",
	    "220 mail.example.com ESMTP\r\n",
	    "+OK POP3 ready\r\n",
	    "* OK IMAP4rev1\r\n",
	};
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		assert_int_equal(probe_bytes(others[i], strlen(others[i]), DIR_SERVER), VERDICT_NO);
		assert_int_equal(probe_bytes(others[i], strlen(others[i]), DIR_CLIENT), VERDICT_NO);
	}
	static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01,
	                                0xfc, 0x03, 0x03, 0x11, 0x22, 0x33, 0x44, 0x55};
	assert_int_equal(probe_bytes(hello, sizeof hello, DIR_CLIENT), VERDICT_NO);
	/* a PostgreSQL startup message */
	static const uint8_t pg[] = {0, 0, 0, 0x29, 0, 3, 0, 0, 'u', 's', 'e', 'r', 0};
	assert_int_equal(probe_bytes(pg, sizeof pg, DIR_CLIENT), VERDICT_NO);
	/* a client's handshake response is not a greeting */
	struct buf r = {.n = 0};
	response(&r, "alice", NULL, "x", scramble, 20, false);
	assert_int_equal(probe_bytes(r.b, r.n, DIR_CLIENT), VERDICT_NO);
}

static void test_release_of_empty_state(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	char *j = render(f);
	assert_contains(j, "\"ssl\":false");
	free(j);
	flow_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_greeting),
	    cmocka_unit_test(test_response_with_db),
	    cmocka_unit_test(test_response_without_db),
	    cmocka_unit_test(test_err),
	    cmocka_unit_test(test_ssl_handoff),
	    cmocka_unit_test(test_queries_cap),
	    cmocka_unit_test(test_clear_password),
	    cmocka_unit_test(test_every_split),
	    cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_gap),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_release_of_empty_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
