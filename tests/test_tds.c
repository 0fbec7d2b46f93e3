/* TDS (dissectors/tds.c): PRELOGIN, LOGIN7, batches, RPCs, results, TLS
 * inside PRELOGIN and TDS 5 logins built field by field, fed the way the
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

extern const struct dissector tds_dissector;
#define D tds_dissector

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
	f->s = session_detached_new(tcp, &client, 40000, &server, 1433);
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

static void put_be16(struct buf *b, uint16_t v)
{
	put_u8(b, (uint8_t)(v >> 8));
	put_u8(b, (uint8_t)v);
}

static void put_ucs2(struct buf *b, const char *s)
{
	for (; *s; s++)
		put_le16(b, (uint8_t)*s);
}

/* A message in TDS packets of at most `size` bytes. */
static void put_packets(struct buf *b, uint8_t type, const struct buf *msg, size_t size)
{
	size_t at = 0;
	uint8_t id = 1;
	do {
		size_t n = msg->n - at < size - 8 ? msg->n - at : size - 8;
		bool eom = at + n >= msg->n;
		put_u8(b, type);
		put_u8(b, eom ? 1 : 0);
		put_be16(b, (uint16_t)(8 + n));
		put_be16(b, 0);
		put_u8(b, id++);
		put_u8(b, 0);
		put(b, msg->b + at, n);
		at += n;
	} while (at < msg->n);
}

struct option {
	uint8_t token;
	const char *value;
	size_t len;
};

static void put_prelogin(struct buf *b, uint8_t type, const struct option *o, size_t n)
{
	struct buf m = {.n = 0};
	size_t head = 5 * n + 1, at = 0;
	for (size_t i = 0; i < n; i++) {
		put_u8(&m, o[i].token);
		put_be16(&m, (uint16_t)(head + at));
		put_be16(&m, (uint16_t)o[i].len);
		at += o[i].len;
	}
	put_u8(&m, 0xff);
	for (size_t i = 0; i < n; i++)
		put(&m, o[i].value, o[i].len);
	put_packets(b, type, &m, 4096);
}

static void client_prelogin(struct buf *b, uint8_t enc)
{
	char e = (char)enc;
	const struct option o[] = {
	    {0, "\x10\x00\x03\xe8\x06\x00", 6}, {1, &e, 1},     {2, "MSSQLServer", 12},
	    {3, "\x00\x00\x10\x92", 4},         {4, "\x01", 1},
	};
	put_prelogin(b, 0x12, o, 5);
}

static void server_prelogin(struct buf *b, uint8_t enc)
{
	char e = (char)enc;
	const struct option o[] = {{0, "\x0f\x00\x07\xd0\x05\x00", 6}, {1, &e, 1}, {4, "\x00", 1}};
	put_prelogin(b, 0x04, o, 3);
}

static void put_login7(struct buf *b, size_t packet_size, bool sspi)
{
	const char *strs[9] = {"WS-ALICE", "alice", "Secret!1",   "sqlcmd", "db.example.com",
	                       "",         "ODBC",  "us_english", "sales"};
	struct buf m = {.n = 0}, data = {.n = 0};
	uint16_t at = 94;
	put_le32(&m, 0); /* Length, patched below */
	put_le32(&m, 0x74000004);
	put_le32(&m, 4096);
	put_le32(&m, 0x07000000);
	put_le32(&m, 4242);
	put_le32(&m, 0);
	put_u8(&m, 0xe0);
	put_u8(&m, sspi ? 0x83 : 0x03);
	put_u8(&m, 0);
	put_u8(&m, 0);
	put_le32(&m, (uint32_t)-60);
	put_le32(&m, 0x409);
	for (int i = 0; i < 9; i++) {
		size_t n = strlen(strs[i]);
		put_le16(&m, n ? at : 0);
		put_le16(&m, (uint16_t)n);
		for (size_t j = 0; j < n; j++) {
			uint8_t c[2] = {(uint8_t)strs[i][j], 0};
			if (i == 2)
				for (int k = 0; k < 2; k++)
					c[k] = (uint8_t)(((c[k] << 4) | (c[k] >> 4)) ^ 0xa5);
			put(&data, c, 2);
		}
		at = (uint16_t)(at + 2 * n);
	}
	put(&m, "\x00\x50\x56\xab\xcd\xef", 6);
	for (int i = 0; i < 3; i++)
		put_le32(&m, 0); /* SSPI, AtchDBFile, ChangePassword */
	put_le32(&m, 0);         /* cbSSPILong */
	assert_int_equal(m.n, 94);
	put(&m, data.b, data.n);
	m.b[0] = (uint8_t)m.n;
	m.b[1] = (uint8_t)(m.n >> 8);
	put_packets(b, 0x10, &m, packet_size);
}

static void put_bvarchar(struct buf *b, const char *s)
{
	put_u8(b, (uint8_t)strlen(s));
	put_ucs2(b, s);
}

static void put_token(struct buf *b, uint8_t token, const struct buf *body)
{
	put_u8(b, token);
	put_le16(b, (uint16_t)body->n);
	put(b, body->b, body->n);
}

static void put_login_response(struct buf *b)
{
	struct buf m = {.n = 0}, t = {.n = 0};
	put_u8(&t, 1);
	put_bvarchar(&t, "sales");
	put_bvarchar(&t, "master");
	put_token(&m, 0xe3, &t);
	t.n = 0;
	put_u8(&t, 1);
	put(&t, "\x74\x00\x00\x04", 4);
	put_bvarchar(&t, "Microsoft SQL Server");
	put(&t, "\x0f\x00\x07\xd0", 4);
	put_token(&m, 0xad, &t);
	put(&m, "\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 13);
	put_packets(b, 0x04, &m, 4096);
}

static void put_all_headers(struct buf *m)
{
	put_le32(m, 22);
	put_le32(m, 18);
	put_le16(m, 2);
	put(m, "\0\0\0\0\0\0\0\0\1\0\0\0", 12);
}

static void put_batch(struct buf *b, const char *sql, bool headers)
{
	struct buf m = {.n = 0};
	if (headers)
		put_all_headers(&m);
	put_ucs2(&m, sql);
	put_packets(b, 0x01, &m, 4096);
}

static void put_rpc_id(struct buf *b, uint16_t id)
{
	struct buf m = {.n = 0};
	put_all_headers(&m);
	put_le16(&m, 0xffff);
	put_le16(&m, id);
	put_le16(&m, 0);
	put_packets(b, 0x03, &m, 4096);
}

static void put_error(struct buf *b, uint32_t number, const char *msg)
{
	struct buf m = {.n = 0}, t = {.n = 0};
	put_le32(&t, number);
	put_u8(&t, 1);
	put_u8(&t, 16);
	put_le16(&t, (uint16_t)strlen(msg));
	put_ucs2(&t, msg);
	put_bvarchar(&t, "DB1");
	put_bvarchar(&t, "");
	put_le32(&t, 1);
	put_token(&m, 0xaa, &t);
	put_packets(b, 0x04, &m, 4096);
}

/* A whole cleartext session. */
static void clear_session(struct buf *c, struct buf *v)
{
	c->n = v->n = 0;
	client_prelogin(c, 2);
	put_login7(c, 128, false);
	put_batch(c, "SELECT 1", true);
	put_rpc_id(c, 10);
	server_prelogin(v, 2);
	put_login_response(v);
	put_error(v, 208, "Invalid object name 'x'.");
}

static char *session_text(const struct buf *c, const struct buf *v)
{
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, c->b, c->n);
	feed(f, DIR_SERVER, v->b, v->n);
	D.on_end(f->s, f->state);
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

/* A TLS ClientHello record with an ALPN list, padded to look real. */
static void put_client_hello(struct buf *b, const char *alpn)
{
	struct buf h = {.n = 0};
	put(&h, "\x03\x03", 2);
	for (int i = 0; i < 32; i++)
		put_u8(&h, (uint8_t)i);
	put(&h, "\x00\x00\x02\x13\x01\x01\x00", 7);
	struct buf ext = {.n = 0};
	if (alpn) {
		put_be16(&ext, 16);
		put_be16(&ext, (uint16_t)(strlen(alpn) + 3));
		put_be16(&ext, (uint16_t)(strlen(alpn) + 1));
		put_u8(&ext, (uint8_t)strlen(alpn));
		put(&ext, alpn, strlen(alpn));
	}
	put_be16(&h, (uint16_t)ext.n);
	put(&h, ext.b, ext.n);
	put(b, "\x16\x03\x01", 3);
	put_be16(b, (uint16_t)(h.n + 4));
	put_u8(b, 1);
	put_u8(b, 0);
	put_be16(b, (uint16_t)h.n);
	put(b, h.b, h.n);
}

static void test_probe(void **unused)
{
	(void)unused;
	struct buf b = {.n = 0};
	client_prelogin(&b, 0);
	assert_int_equal(probe(&b, b.n, DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe(&b, 1, DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe(&b, 7, DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe(&b, 12, DIR_CLIENT), VERDICT_NEED_MORE);
	b.n = 0;
	server_prelogin(&b, 0);
	assert_int_equal(probe(&b, b.n, DIR_SERVER), VERDICT_YES);
	b.n = 0;
	put_login7(&b, 4096, false);
	assert_int_equal(probe(&b, b.n, DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe(&b, b.n, DIR_SERVER), VERDICT_NO);
	b.n = 0;
	put_batch(&b, "SELECT 1", true);
	assert_int_equal(probe(&b, b.n, DIR_CLIENT), VERDICT_YES);
	b.n = 0;
	put_batch(&b, "SELECT 1", false); /* TDS 7.1: no ALL_HEADERS */
	assert_int_equal(probe(&b, b.n, DIR_CLIENT), VERDICT_YES);
	b.n = 0;
	put_rpc_id(&b, 10);
	assert_int_equal(probe(&b, b.n, DIR_CLIENT), VERDICT_YES);
	b.n = 0;
	put_login_response(&b);
	assert_int_equal(probe(&b, b.n, DIR_SERVER), VERDICT_YES);
	/* TDS 8.0: a ClientHello with ALPN tds/8.0 */
	b.n = 0;
	put_client_hello(&b, "tds/8.0");
	assert_int_equal(probe(&b, b.n, DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe(&b, 20, DIR_CLIENT), VERDICT_NEED_MORE);
	b.n = 0;
	put_client_hello(&b, "h2");
	assert_int_equal(probe(&b, b.n, DIR_CLIENT), VERDICT_NO);
	/* other protocols' first bytes */
	static const char *const others[] = {"GET / HTTP/1.1\r\n", "SSH-2.0-x\r\n", "220 ftp\r\n",
	                                     "\x03\x00\x00\x13\x0e\xe0\x00\x00\x12\x34\x00\x01\x00"
	                                     "\x08\x00\x03\x00\x00\x00",
	                                     "\x00\x00\x00\x85\xffSMBr"};
	static const size_t lens[] = {16, 11, 9, 19, 9};
	for (size_t i = 0; i < 5; i++)
		for (int d = 0; d < 2; d++)
			assert_int_equal(D.probe(rd_init(others[i], lens[i]), (enum direction)d),
			                 VERDICT_NO);
	assert_int_equal(D.probe(rd_init("", 0), DIR_CLIENT), VERDICT_NEED_MORE);
	/* a bad status or window */
	assert_int_equal(D.probe(rd_init("\x12\x40\x00\x20\x00\x00\x01\x00", 8), DIR_CLIENT),
	                 VERDICT_NO);
	assert_int_equal(D.probe(rd_init("\x12\x01\x00\x20\x00\x00\x01\x05", 8), DIR_CLIENT),
	                 VERDICT_NO);
}

static void test_clear_session(void **unused)
{
	(void)unused;
	struct buf c, v;
	clear_session(&c, &v);
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	feed(f, DIR_SERVER, v.b, v.n);
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	char *t = render(f);
	assert_contains(t, "\"version\":\"7.4\"");
	assert_contains(t, "\"encryption\":\"ENCRYPT_NOT_SUP\",\"encryption_client\":"
	                   "\"ENCRYPT_NOT_SUP\",\"encryption_server\":\"ENCRYPT_NOT_SUP\","
	                   "\"encrypted\":\"none\"");
	assert_contains(t, "\"packet_types\":[\"PRELOGIN\",\"LOGIN7\",\"SQL batch\",\"RPC\","
	                   "\"Tabular result\"]");
	assert_contains(t, "\"user\":\"alice\",\"app\":\"sqlcmd\",\"server\":\"db.example.com\","
	                   "\"database\":\"sales\",\"host\":\"WS-ALICE\",\"library\":\"ODBC\","
	                   "\"language\":\"us_english\",\"auth\":\"sql\",\"password_sent\":true");
	assert_lacks(t, "Secret");
	assert_contains(t, "\"instance\":\"MSSQLServer\"");
	assert_contains(t, "\"server_version\":\"15.0.2000.5\"");
	assert_contains(t, "\"client_version\":\"16.0.1000.6\"");
	assert_contains(t, "\"mars\":true");
	assert_contains(t, "\"login_ack\":true,\"server_program\":\"Microsoft SQL Server\"");
	assert_contains(t, "\"queries\":[\"SELECT 1\"]");
	assert_contains(t, "\"rpcs\":[\"sp_executesql\"]");
	assert_contains(t,
	                "\"errors\":[{\"number\":208,\"message\":\"Invalid object name 'x'.\"}]");
	assert_contains(t, "\"messages\":{\"client\":4,\"server\":3}");
	char line[160];
	D.summarize(f->state, line, sizeof line);
	assert_string_equal(line, "TDS 7.4 ENCRYPT_NOT_SUP alice@sales query SELECT 1");
	free(t);
	flow_close(f);
}

static void test_show_credentials(void **unused)
{
	(void)unused;
	struct buf c = {.n = 0};
	put_login7(&c, 4096, false);
	struct tflow *f = flow_open();
	f->s->show_credentials = true;
	feed(f, DIR_CLIENT, c.b, c.n);
	char *t = render(f);
	assert_contains(t, "\"password\":\"Secret!1\"");
	free(t);
	flow_close(f);
}

static void test_sspi_login(void **unused)
{
	(void)unused;
	struct buf c = {.n = 0};
	put_login7(&c, 4096, true);
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	char *t = render(f);
	assert_contains(t, "\"auth\":\"sspi\"");
	free(t);
	flow_close(f);
}

/* Encryption ON: the TLS handshake inside PRELOGIN packets, then bare
 * records; the login is not readable. */
static void test_prelogin_tls(void **unused)
{
	(void)unused;
	struct buf c = {.n = 0}, v = {.n = 0}, hello = {.n = 0};
	client_prelogin(&c, 1);
	put_client_hello(&hello, NULL);
	put_packets(&c, 0x12, &hello, 4096);
	put(&c,
	    "\x17\x03\x03\x00\x04"
	    "abcd",
	    9);
	server_prelogin(&v, 3);
	struct buf sh = {.n = 0};
	put(&sh, "\x14\x03\x03\x00\x01\x01", 6);
	put_packets(&v, 0x12, &sh, 4096);
	put(&v, "\x17\x03\x03\x00\x02xy", 7);
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	feed(f, DIR_SERVER, v.b, v.n);
	char *t = render(f);
	assert_contains(t, "\"encryption\":\"ENCRYPT_REQ\"");
	assert_contains(t, "\"encryption_client\":\"ENCRYPT_ON\"");
	assert_contains(t, "\"encrypted\":\"all\"");
	assert_contains(t, "\"tls_records\":2");
	assert_contains(t, "\"tls\":{");
	assert_contains(t, "\"user\":null");
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(t);
	flow_close(f);

	/* ENCRYPT_OFF on the server: only the login is encrypted */
	c.n = v.n = 0;
	client_prelogin(&c, 0);
	server_prelogin(&v, 0);
	f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	feed(f, DIR_SERVER, v.b, v.n);
	t = render(f);
	assert_contains(t, "\"encrypted\":\"login\"");
	free(t);
	flow_close(f);
}

static void test_strict_hands_off(void **unused)
{
	(void)unused;
	struct buf c = {.n = 0};
	put_client_hello(&c, "tds/8.0");
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	assert_string_equal(session_handoff_target(f->s), "tls");
	assert_int_equal(f->len[DIR_CLIENT], c.n); /* all left for TLS */
	char *t = render(f);
	assert_contains(t, "\"version\":\"8.0\",\"encryption\":\"STRICT\"");
	assert_contains(t, "\"strict\":true");
	free(t);
	flow_close(f);
}

/* TDS 5 (Sybase): a 512-byte login record with fixed fields. */
static void put_login5(struct buf *b)
{
	struct buf m = {.n = 0};
	uint8_t rec[560];
	memset(rec, 0, sizeof rec);
	memcpy(rec + 31, "USER___USER", 11);
	rec[61] = 11;
	memcpy(rec + 62, "PASSWORDHERE", 12);
	rec[92] = 12;
	memcpy(rec + 171, "db.example.com", 14);
	rec[201] = 14;
	memcpy(rec + 140, "isql", 4);
	rec[170] = 4;
	memcpy(rec + 458, "\x05\x00\x00\x00", 4);
	memcpy(rec + 462, "MERANT-TDS", 10);
	rec[472] = 10;
	put(&m, rec, 504);
	/* the first packet is exactly 512 bytes, status 0; the rest follows as
	 * another type */
	put_u8(b, 0x02);
	put_u8(b, 0x00);
	put_be16(b, 512);
	put(b, "\0\0\1\0", 4);
	put(b, m.b, m.n);
	struct buf q = {.n = 0};
	put(&q, rec + 504, 40);
	put_packets(b, 0x0f, &q, 4096);
}

static void test_tds5(void **unused)
{
	(void)unused;
	struct buf c = {.n = 0}, v = {.n = 0};
	put_login5(&c);
	assert_int_equal(probe(&c, c.n, DIR_CLIENT), VERDICT_YES);
	struct buf q = {.n = 0};
	put(&q, "\x21\x0e\x00\x00\x00\x00use aaaa_prod", 19);
	put_packets(&c, 0x0f, &q, 4096);
	struct buf r = {.n = 0};
	put(&r,
	    "\xe3\x12\x00\x01\x09"
	    "aaaa_prod"
	    "\x06"
	    "master",
	    21);
	put(&r,
	    "\xad\x14\x00\x05\x05\x00\x00\x00\x0a"
	    "sql server\x0c\x05\x00\x00",
	    23);
	put_packets(&v, 0x04, &r, 4096);
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	feed(f, DIR_SERVER, v.b, v.n);
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	char *t = render(f);
	assert_contains(t, "\"version\":\"5.0\"");
	assert_contains(t,
	                "\"user\":\"USER___USER\",\"app\":\"isql\",\"server\":\"db.example.com\","
	                "\"database\":\"aaaa_prod\"");
	assert_contains(t, "\"library\":\"MERANT-TDS\"");
	assert_contains(t, "\"packet_types\":[\"TDS4/5 login\",\"TDS5 query\",\"Tabular result\"]");
	assert_contains(t, "\"queries\":[\"use aaaa_prod\"]");
	assert_contains(t, "\"server_program\":\"sql server\"");
	assert_lacks(t, "PASSWORDHERE");
	free(t);
	flow_close(f);

	f = flow_open();
	f->s->show_credentials = true;
	feed(f, DIR_CLIENT, c.b, c.n);
	t = render(f);
	assert_contains(t, "\"password\":\"PASSWORDHERE\"");
	free(t);
	flow_close(f);
}

static void test_every_split(void **unused)
{
	(void)unused;
	struct buf c, v;
	clear_session(&c, &v);
	char *whole = session_text(&c, &v);
	for (size_t i = 0; i <= c.n; i++) {
		struct tflow *f = flow_open();
		size_t j = i < v.n ? i : v.n;
		feed(f, DIR_CLIENT, c.b, i);
		feed(f, DIR_SERVER, v.b, j);
		feed(f, DIR_CLIENT, c.b + i, c.n - i);
		feed(f, DIR_SERVER, v.b + j, v.n - j);
		D.on_end(f->s, f->state);
		char *t = render(f);
		if (strcmp(t, whole) != 0)
			fail_msg("split at %zu: %s\nwhole: %s", i, t, whole);
		free(t);
		flow_close(f);
	}
	struct tflow *f = flow_open();
	for (size_t i = 0; i < c.n; i++)
		feed(f, DIR_CLIENT, c.b + i, 1);
	for (size_t i = 0; i < v.n; i++)
		feed(f, DIR_SERVER, v.b + i, 1);
	D.on_end(f->s, f->state);
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
	clear_session(&c, &v);
	for (size_t i = 0; i <= c.n; i++) {
		struct tflow *f = flow_open();
		feed(f, DIR_CLIENT, c.b, i);
		feed(f, DIR_SERVER, v.b, i < v.n ? i : v.n);
		D.on_end(f->s, f->state);
		char *t = render(f);
		assert_contains(t, "\"packet_types\":");
		free(t);
		flow_close(f);
	}
}

static void test_malformed(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, "\x12\x01\x00\x04\x00\x00\x01\x00", 8); /* length under 8 */
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "tds.bad_packet"), 1);
	feed(f, DIR_CLIENT, "more", 4);
	assert_int_equal(f->len[DIR_CLIENT], 0);
	flow_close(f);

	/* a PRELOGIN option pointing past the message */
	struct buf b = {.n = 0};
	const struct option o[] = {{1, "\x00", 1}};
	put_prelogin(&b, 0x12, o, 1);
	b.b[8 + 2] = 0x40; /* offset 0x4005 */
	f = flow_open();
	feed(f, DIR_CLIENT, b.b, b.n);
	assert_int_equal(session_counter_value(f->s, "tds.bad_prelogin"), 1);
	flow_close(f);

	/* a LOGIN7 too short for its fixed part */
	struct buf m = {.n = 0};
	put(&m, "\x20\x00\x00\x00\x04\x00\x00\x74", 8);
	b.n = 0;
	put_packets(&b, 0x10, &m, 4096);
	f = flow_open();
	feed(f, DIR_CLIENT, b.b, b.n);
	assert_int_equal(session_counter_value(f->s, "tds.bad_login7"), 1);
	flow_close(f);
}

static void test_caps(void **unused)
{
	(void)unused;
	struct buf c = {.n = 0};
	for (int i = 0; i < 10; i++)
		put_batch(&c, "SELECT 1", true);
	for (int i = 0; i < 10; i++)
		put_rpc_id(&c, (uint16_t)(i + 1));
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	char *t = render(f);
	assert_contains(t, "\"queries_truncated\":2");
	assert_contains(t, "\"rpcs_truncated\":2");
	assert_int_equal(session_counter_value(f->s, "tds.too_many_queries"), 1);
	free(t);
	flow_close(f);

	/* a long query is cut to TDS_MAX_QUERY characters */
	char sql[600];
	memset(sql, 'x', sizeof sql - 1);
	sql[sizeof sql - 1] = '\0';
	c.n = 0;
	put_batch(&c, sql, true);
	f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	assert_int_equal(session_counter_value(f->s, "tds.string_too_long"), 1);
	flow_close(f);

	/* a message over TDS_MAX_MESSAGE is read from its first bytes */
	static uint8_t big[20000];
	struct buf *m = calloc(1, sizeof *m);
	assert_non_null(m);
	put_all_headers(m);
	put_ucs2(m, "SELECT 2 ");
	f = flow_open();
	for (int part = 0; part < 3; part++) {
		struct buf pk = {.n = 0};
		size_t n = part == 0 ? m->n : 5000;
		put_u8(&pk, 0x01);
		put_u8(&pk, part == 2 ? 1 : 0);
		put_be16(&pk, (uint16_t)(8 + n));
		put(&pk, "\0\0\1\0", 4);
		put(&pk, part == 0 ? m->b : big, n);
		feed(f, DIR_CLIENT, pk.b, pk.n);
	}
	t = render(f);
	assert_contains(t, "\"queries\":[\"SELECT 2 ");
	assert_int_equal(session_counter_value(f->s, "tds.message_cut"), 1);
	free(t);
	free(m);
	flow_close(f);

	/* an oversize packet is skipped */
	f = flow_open();
	static uint8_t huge[70000];
	huge[0] = 0x01;
	huge[2] = 0xff;
	huge[3] = 0xff;
	feed(f, DIR_CLIENT, huge, 65535);
	assert_int_equal(f->len[DIR_CLIENT], 0);
	flow_close(f);
}

static void test_gaps(void **unused)
{
	(void)unused;
	struct buf c, v;
	clear_session(&c, &v);
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, 70);
	gap(f, DIR_CLIENT, 30);
	feed(f, DIR_CLIENT, c.b + 100, c.n - 100);
	assert_int_equal(f->len[DIR_CLIENT], 0);
	char *t = render(f);
	assert_contains(t, "\"gap\":true");
	assert_contains(t, "\"user\":null");
	free(t);
	flow_close(f);
}

static void test_release_of_empty_state(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	char *t = render(f);
	assert_contains(t, "\"version\":null,\"encryption\":null");
	free(t);
	flow_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_clear_session),
	    cmocka_unit_test(test_show_credentials),
	    cmocka_unit_test(test_sspi_login),
	    cmocka_unit_test(test_prelogin_tls),
	    cmocka_unit_test(test_strict_hands_off),
	    cmocka_unit_test(test_tds5),
	    cmocka_unit_test(test_every_split),
	    cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_gaps),
	    cmocka_unit_test(test_release_of_empty_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
