/* PostgreSQL (dissectors/postgresql.c): startup-phase messages, SSL and
 * GSSENC requests and their one-byte answers, authentication, queries and
 * errors built field by field from the protocol's "Message Formats", fed the
 * way the core feeds a stream, and the record read back as JSON. */
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

extern const struct dissector postgresql_dissector;
#define D postgresql_dissector

/* ---- a stream the way src/dissect.c drives it ---- */

struct tflow {
	struct session *s;
	void *state;
	uint8_t *pending[2];
	size_t len[2];
};

static struct tflow *flow_open(void)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 15}};
	struct tflow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->s = session_detached_new(true, &client, 40000, &server, 5432);
	f->state = calloc(1, D.state_size);
	assert_non_null(f->s);
	assert_non_null(f->state);
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

static char *summary(const struct tflow *f)
{
	static char sum[512];
	D.summarize(f->state, sum, sizeof sum);
	return sum;
}

/* ---- building messages ---- */

struct buf {
	uint8_t b[16384];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof b->b);
	if (n)
		memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put_u8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put_be16(struct buf *b, uint16_t v)
{
	put_u8(b, (uint8_t)(v >> 8));
	put_u8(b, (uint8_t)v);
}

static void put_be32(struct buf *b, uint32_t v)
{
	put_be16(b, (uint16_t)(v >> 16));
	put_be16(b, (uint16_t)v);
}

static void put_cstr(struct buf *b, const char *s)
{
	put(b, s, strlen(s) + 1);
}

/* A typed message: type byte, length (itself included), body. */
static void msg(struct buf *b, uint8_t type, const struct buf *body)
{
	put_u8(b, type);
	put_be32(b, (uint32_t)body->n + 4);
	put(b, body->b, body->n);
}

/* A message whose body is one C string. */
static void msg_str(struct buf *b, uint8_t type, const char *s)
{
	struct buf p = {.n = 0};
	put_cstr(&p, s);
	msg(b, type, &p);
}

/* An untyped startup-phase message: length, code, body. */
static void untyped(struct buf *b, uint32_t code, const struct buf *body)
{
	put_be32(b, (uint32_t)(body ? body->n : 0) + 8);
	put_be32(b, code);
	if (body)
		put(b, body->b, body->n);
}

/* StartupMessage 3.0 with name/value pairs (NULL-terminated list). */
static void startup(struct buf *b, const char *const *pairs)
{
	struct buf p = {.n = 0};
	for (size_t i = 0; pairs[i]; i += 2) {
		put_cstr(&p, pairs[i]);
		put_cstr(&p, pairs[i + 1]);
	}
	put_u8(&p, 0);
	untyped(b, 0x00030000, &p);
}

static void ssl_request(struct buf *b)
{
	untyped(b, 80877103, NULL);
}

static void gssenc_request(struct buf *b)
{
	untyped(b, 80877104, NULL);
}

static void auth(struct buf *b, uint32_t code)
{
	struct buf p = {.n = 0};
	put_be32(&p, code);
	if (code == 5)
		put(&p, "salt", 4);
	if (code == 11 || code == 12)
		put(&p, "r=nonce,s=c2FsdA==,i=4096", 25);
	msg(b, 'R', &p);
}

static void auth_sasl(struct buf *b, const char *const *mechs)
{
	struct buf p = {.n = 0};
	put_be32(&p, 10);
	for (size_t i = 0; mechs[i]; i++)
		put_cstr(&p, mechs[i]);
	put_u8(&p, 0);
	msg(b, 'R', &p);
}

static void sasl_initial(struct buf *b, const char *mech, const char *data)
{
	struct buf p = {.n = 0};
	put_cstr(&p, mech);
	put_be32(&p, (uint32_t)strlen(data));
	put(&p, data, strlen(data));
	msg(b, 'p', &p);
}

static void sasl_response(struct buf *b, const char *data)
{
	struct buf p = {.n = 0};
	put(&p, data, strlen(data));
	msg(b, 'p', &p);
}

static void param_status(struct buf *b, const char *name, const char *value)
{
	struct buf p = {.n = 0};
	put_cstr(&p, name);
	put_cstr(&p, value);
	msg(b, 'S', &p);
}

static void key_data(struct buf *b, uint32_t pid)
{
	struct buf p = {.n = 0};
	put_be32(&p, pid);
	put_be32(&p, 0x5ec7e7);
	msg(b, 'K', &p);
}

static void ready(struct buf *b, char status)
{
	struct buf p = {.n = 0};
	put_u8(&p, (uint8_t)status);
	msg(b, 'Z', &p);
}

/* ErrorResponse ('E') or NoticeResponse ('N'); v: the non-localized severity or NULL. */
static void error(struct buf *b, uint8_t type, const char *sev, const char *v, const char *code,
                  const char *text)
{
	struct buf p = {.n = 0};
	put_u8(&p, 'S');
	put_cstr(&p, sev);
	if (v) {
		put_u8(&p, 'V');
		put_cstr(&p, v);
	}
	put_u8(&p, 'C');
	put_cstr(&p, code);
	put_u8(&p, 'M');
	put_cstr(&p, text);
	put_u8(&p, 'F');
	put_cstr(&p, "parse_relation.c");
	put_u8(&p, 'L');
	put_cstr(&p, "1392");
	put_u8(&p, 0);
	msg(b, type, &p);
}

static void parse(struct buf *b, const char *name, const char *query)
{
	struct buf p = {.n = 0};
	put_cstr(&p, name);
	put_cstr(&p, query);
	put_be16(&p, 1);
	put_be32(&p, 23); /* int4 */
	msg(b, 'P', &p);
}

static void empty(struct buf *b, uint8_t type)
{
	struct buf p = {.n = 0};
	msg(b, type, &p);
}

static void row(struct buf *b)
{
	struct buf p = {.n = 0};
	put_be16(&p, 1);
	put_be32(&p, 1);
	put_u8(&p, '1');
	msg(b, 'D', &p);
}

static const char *const alice_params[] = {
    "user", "alice",     "database", "shop", "application_name", "psql", "client_encoding",
    "UTF8", "DateStyle", "ISO",      NULL};
static const char *const scram[] = {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", NULL};

/* A whole SCRAM conversation, as the two directions' byte streams.  A 'p'
 * message is read in the light of the authentication requests seen before
 * it (as on the wire, where the request always comes first), so the tests
 * feed the server's stream before the client's unless they interleave. */
static void session_bytes(struct buf *srv, struct buf *cli)
{
	startup(cli, alice_params);
	auth_sasl(srv, scram);
	sasl_initial(cli, "SCRAM-SHA-256", "n,,n=,r=clientnonce");
	auth(srv, 11);
	sasl_response(cli, "c=biws,r=clientnonceserver,p=proof");
	auth(srv, 12);
	auth(srv, 0);
	param_status(srv, "application_name", "psql");
	param_status(srv, "server_version", "15.18 (Debian 15.18-0+deb12u1)");
	param_status(srv, "client_encoding", "UTF8");
	key_data(srv, 4242);
	ready(srv, 'I');
	msg_str(cli, 'Q', "SELECT 1");
	row(srv);
	msg_str(srv, 'C', "SELECT 1");
	ready(srv, 'I');
	msg_str(cli, 'Q', "SELECT * FROM nope");
	error(srv, 'E', "ERROR", "ERROR", "42P01", "relation \"nope\" does not exist");
	ready(srv, 'I');
	parse(cli, "", "SELECT $1::int");
	empty(cli, 'S');
	empty(srv, '1');
	ready(srv, 'I');
	empty(cli, 'X');
}

/* ---- tests ---- */

static void test_full_session(void **unused)
{
	(void)unused;
	struct buf srv = {.n = 0}, cli = {.n = 0};
	session_bytes(&srv, &cli);
	struct tflow *f = flow_open();
	feed(f, DIR_SERVER, srv.b, srv.n);
	feed(f, DIR_CLIENT, cli.b, cli.n);
	char *j = render(f);
	assert_contains(j, "\"protocol_version\":\"3.0\"");
	assert_contains(j, "\"user\":\"alice\"");
	assert_contains(j, "\"database\":\"shop\"");
	assert_contains(j, "\"application_name\":\"psql\"");
	assert_contains(j, "\"client_encoding\":\"UTF8\"");
	assert_contains(j, "\"startup_parameters\":[{\"name\":\"DateStyle\",\"value\":\"ISO\"}]");
	assert_contains(j, "\"auth\":\"sasl\"");
	assert_contains(j, "\"auth_requests\":[\"sasl\",\"sasl-continue\",\"sasl-final\",\"ok\"]");
	assert_contains(j, "\"sasl_mechanisms\":[\"SCRAM-SHA-256-PLUS\",\"SCRAM-SHA-256\"]");
	assert_contains(j, "\"sasl_mechanism\":\"SCRAM-SHA-256\"");
	assert_contains(j, "\"auth_ok\":true");
	assert_contains(j, "\"server_version\":\"15.18 (Debian 15.18-0+deb12u1)\"");
	assert_contains(j, "{\"name\":\"client_encoding\",\"value\":\"UTF8\"}");
	assert_contains(j, "\"backend_pid\":4242");
	assert_lacks(j, "5ec7e7");
	assert_contains(j, "\"queries\":[\"SELECT 1\",\"SELECT * FROM nope\"]");
	assert_contains(j, "\"statements\":[\"SELECT $1::int\"]");
	assert_contains(j, "\"command_tags\":[\"SELECT 1\"]");
	assert_contains(j, "\"errors\":[{\"severity\":\"ERROR\",\"code\":\"42P01\",\"message\":"
	                   "\"relation \\\"nope\\\" does not exist\"}]");
	assert_contains(j, "\"ready_for_query\":4");
	assert_contains(j, "\"transaction_status\":\"idle\"");
	assert_contains(j, "\"terminated\":true");
	assert_contains(j, "\"client\":{\"StartupMessage\":1,\"Query\":2,\"Parse\":1,\"Sync\":1,"
	                   "\"Terminate\":1,\"SASLInitialResponse\":1,\"SASLResponse\":1}");
	assert_contains(j, "\"server\":{\"Authentication\":4,\"ParameterStatus\":3,"
	                   "\"BackendKeyData\":1,\"ReadyForQuery\":4,\"DataRow\":1,"
	                   "\"CommandComplete\":1,\"ErrorResponse\":1,\"ParseComplete\":1}");
	assert_lacks(j, "malformed");
	assert_lacks(j, "\"ssl\"");
	assert_lacks(j, "clientnonce");
	assert_lacks(j, "proof");
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_string_equal(summary(f), "PostgreSQL 15.18 (Debian 15.18-0+deb12u1) user=alice "
	                                "db=shop auth=scram-sha-256 2 queries 1 statement 1 error");
	free(j);
	flow_close(f);
}

/* Interleaved the way the wire carries them, one message at a time. */
static void test_interleaved(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf b = {.n = 0};
	startup(&b, alice_params);
	feed(f, DIR_CLIENT, b.b, b.n);
	b.n = 0;
	auth(&b, 5);
	feed(f, DIR_SERVER, b.b, b.n);
	b.n = 0;
	msg_str(&b, 'p', "md5a3556571e93b0d20722ba62be61e8c2d");
	feed(f, DIR_CLIENT, b.b, b.n);
	b.n = 0;
	auth(&b, 0);
	ready(&b, 'T');
	feed(f, DIR_SERVER, b.b, b.n);
	char *j = render(f);
	assert_contains(j, "\"auth\":\"md5-password\"");
	assert_contains(j, "\"auth_requests\":[\"md5-password\",\"ok\"]");
	assert_contains(j, "\"PasswordMessage\":1");
	assert_contains(j, "\"transaction_status\":\"in-transaction\"");
	assert_lacks(j, "md5a35");
	assert_lacks(j, "cleartext_password");
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_string_equal(summary(f), "PostgreSQL user=alice db=shop auth=md5-password");
	free(j);
	flow_close(f);
}

static void test_cleartext_password(void **unused)
{
	(void)unused;
	for (int show = 0; show < 2; show++) {
		struct tflow *f = flow_open();
		f->s->show_credentials = show;
		struct buf srv = {.n = 0}, cli = {.n = 0};
		static const char *const bob[] = {"user", "bob", NULL};
		startup(&cli, bob);
		msg_str(&cli, 'p', "bob-secret-1");
		auth(&srv, 3);
		auth(&srv, 0);
		feed(f, DIR_CLIENT, cli.b, 8); /* part of the startup message */
		feed(f, DIR_SERVER, srv.b, 9); /* the cleartext request */
		feed(f, DIR_CLIENT, cli.b + 8, cli.n - 8);
		feed(f, DIR_SERVER, srv.b + 9, srv.n - 9);
		assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
		assert_int_equal(session_counter_value(f->s, "postgresql.cleartext_password"), 1);
		char *j = render(f);
		assert_contains(j, "\"auth\":\"cleartext-password\"");
		assert_contains(j, "\"cleartext_password\":true");
		assert_lacks(j, "\"database\"");
		if (show)
			assert_contains(j, "\"password\":\"bob-secret-1\"");
		else
			assert_lacks(j, "bob-secret");
		assert_lacks(summary(f), "secret");
		free(j);
		flow_close(f);
	}
}

/* A PasswordMessage whose request was not seen: neither shown nor alerted. */
static void test_password_unknown_method(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	f->s->show_credentials = true;
	struct buf cli = {.n = 0};
	static const char *const u[] = {"user", "u", NULL};
	startup(&cli, u);
	msg_str(&cli, 'p', "maybe-a-password");
	feed(f, DIR_CLIENT, cli.b, cli.n);
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_int_equal(session_counter_value(f->s, "postgresql.password_unknown_method"), 1);
	char *j = render(f);
	assert_lacks(j, "maybe-a-password");
	assert_lacks(j, "auth_ok");
	free(j);
	flow_close(f);
}

static void test_ssl_accepted(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf cli = {.n = 0}, srv = {.n = 0};
	ssl_request(&cli);
	feed(f, DIR_CLIENT, cli.b, cli.n);
	assert_null(session_handoff_target(f->s));
	put(&srv, "S\x16\x03\x03\x00\x05hello", 11); /* 'S', then the ServerHello */
	size_t used = D.on_data(f->s, f->state, DIR_SERVER, rd_init(srv.b, srv.n));
	assert_int_equal(used, 1);
	assert_string_equal(session_handoff_target(f->s), "tls");
	char *j = render(f);
	assert_contains(j, "\"ssl\":\"accepted\"");
	assert_contains(j, "\"starttls\":true");
	assert_contains(j, "\"SSLRequest\":1");
	assert_lacks(j, "\"user\"");
	free(j);
	assert_string_equal(summary(f), "PostgreSQL SSL");
	flow_close(f);
}

/* The ClientHello seen before the server's 'S' waits for it. */
static void test_ssl_client_hello_first(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf cli = {.n = 0};
	ssl_request(&cli);
	put(&cli, "\x16\x03\x01\x00\x05hello", 10);
	size_t used = D.on_data(f->s, f->state, DIR_CLIENT, rd_init(cli.b, cli.n));
	assert_int_equal(used, 8);
	used = D.on_data(f->s, f->state, DIR_CLIENT, rd_init(cli.b + 8, cli.n - 8));
	assert_int_equal(used, 0);
	assert_null(session_handoff_target(f->s));
	used = D.on_data(f->s, f->state, DIR_SERVER, rd_init("S", 1));
	assert_int_equal(used, 1);
	assert_string_equal(session_handoff_target(f->s), "tls");
	flow_close(f);

	/* no answer at all (server side not captured): handed over past a bound */
	f = flow_open();
	static uint8_t hello[20000];
	memset(hello, 0x16, sizeof hello);
	feed(f, DIR_CLIENT, cli.b, 8);
	used = D.on_data(f->s, f->state, DIR_CLIENT, rd_init(hello, sizeof hello));
	assert_int_equal(used, 0);
	assert_string_equal(session_handoff_target(f->s), "tls");
	assert_int_equal(session_counter_value(f->s, "postgresql.ssl_answer_missing"), 1);
	flow_close(f);
}

static void test_ssl_refused_then_startup(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf b = {.n = 0};
	gssenc_request(&b);
	feed(f, DIR_CLIENT, b.b, b.n);
	feed(f, DIR_SERVER, "N", 1);
	b.n = 0;
	ssl_request(&b);
	feed(f, DIR_CLIENT, b.b, b.n);
	feed(f, DIR_SERVER, "N", 1);
	b.n = 0;
	startup(&b, alice_params);
	feed(f, DIR_CLIENT, b.b, b.n);
	b.n = 0;
	auth(&b, 0);
	feed(f, DIR_SERVER, b.b, b.n);
	assert_null(session_handoff_target(f->s));
	char *j = render(f);
	assert_contains(j, "\"ssl\":\"refused\"");
	assert_contains(j, "\"gssenc\":\"refused\"");
	assert_contains(j, "\"user\":\"alice\"");
	assert_contains(j, "\"auth\":\"ok\"");
	assert_contains(j, "\"SSLRequest\":1,\"GSSENCRequest\":1");
	assert_lacks(j, "starttls");
	assert_lacks(j, "malformed");
	free(j);
	flow_close(f);
}

static void test_gssenc_accepted(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf b = {.n = 0};
	gssenc_request(&b);
	feed(f, DIR_CLIENT, b.b, b.n);
	feed(f, DIR_SERVER, "G\x00\x00\x00\x10wrapped-token!!!", 21);
	feed(f, DIR_CLIENT, "\x00\x00\x00\x10wrapped-token!!!", 20);
	char *j = render(f);
	assert_contains(j, "\"gssenc\":\"accepted\"");
	assert_contains(j, "\"gss_encrypted\":true");
	assert_lacks(j, "malformed");
	assert_lacks(j, "StartupMessage");
	free(j);
	assert_string_equal(summary(f), "PostgreSQL GSSENC");
	flow_close(f);
}

/* An old server answers the SSLRequest with an ErrorResponse. */
static void test_ssl_answered_by_error(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf b = {.n = 0};
	ssl_request(&b);
	feed(f, DIR_CLIENT, b.b, b.n);
	b.n = 0;
	error(&b, 'E', "FATAL", NULL, "0A000", "unsupported frontend protocol");
	feed(f, DIR_SERVER, b.b, b.n);
	char *j = render(f);
	assert_contains(j, "\"ssl\":\"error\"");
	assert_contains(j, "{\"severity\":\"FATAL\",\"code\":\"0A000\"");
	assert_lacks(j, "malformed");
	free(j);
	flow_close(f);
}

static void test_cancel(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf p = {.n = 0}, b = {.n = 0};
	put_be32(&p, 31337);
	put_be32(&p, 0xdeadbeef);
	untyped(&b, 80877102, &p);
	feed(f, DIR_CLIENT, b.b, b.n);
	char *j = render(f);
	assert_contains(j, "\"cancel_request\":{\"pid\":31337}");
	assert_contains(j, "\"CancelRequest\":1");
	assert_lacks(j, "3735928559");
	free(j);
	assert_string_equal(summary(f), "PostgreSQL cancel pid=31337");
	flow_close(f);
}

/* A refused login, a notice with only the localized severity, NegotiateProtocolVersion. */
static void test_errors_and_notices(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf cli = {.n = 0}, srv = {.n = 0};
	static const char *const carol[] = {"user", "carol", "database", "nope", NULL};
	startup(&cli, carol);
	struct buf p = {.n = 0};
	put_be32(&p, 0);
	put_be32(&p, 1);
	put_cstr(&p, "_pq_.unknown");
	msg(&srv, 'v', &p);
	error(&srv, 'N', "AVIS", NULL, "01000", "bonjour");
	error(&srv, 'E', "FATAL", "FATAL", "3D000", "database \"nope\" does not exist");
	feed(f, DIR_CLIENT, cli.b, cli.n);
	feed(f, DIR_SERVER, srv.b, srv.n);
	char *j = render(f);
	assert_contains(j, "\"notices\":[{\"severity\":\"AVIS\",\"code\":\"01000\","
	                   "\"message\":\"bonjour\"}]");
	assert_contains(j, "\"errors\":[{\"severity\":\"FATAL\",\"code\":\"3D000\"");
	assert_contains(j, "\"auth_ok\":false");
	assert_contains(j, "\"negotiated_minor_version\":0");
	assert_contains(summary(f), "login-failed 1 error");
	free(j);
	flow_close(f);

	/* an error without code or severity fields */
	f = flow_open();
	srv.n = 0;
	p.n = 0;
	put_u8(&p, 'M');
	put_cstr(&p, "bare");
	put_u8(&p, 0);
	msg(&srv, 'E', &p);
	feed(f, DIR_SERVER, srv.b, srv.n);
	j = render(f);
	assert_contains(j, "{\"severity\":null,\"code\":null,\"message\":\"bare\"}");
	free(j);
	flow_close(f);
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
			assert_contains(j, "\"user\":\"alice\"");
			assert_contains(j, "\"database\":\"shop\"");
			assert_contains(j, "\"sasl_mechanism\":\"SCRAM-SHA-256\"");
			assert_contains(j, "\"server_version\":\"15.18");
			assert_contains(j, "\"queries\":[\"SELECT 1\",\"SELECT * FROM nope\"]");
			assert_contains(j, "\"code\":\"42P01\"");
			assert_contains(j, "\"terminated\":true");
			assert_lacks(j, "malformed");
			free(j);
			flow_close(f);
		}
	}
	/* and one byte at a time */
	struct tflow *f = flow_open();
	for (size_t i = 0; i < srv.n; i++)
		feed(f, DIR_SERVER, srv.b + i, 1);
	for (size_t i = 0; i < cli.n; i++)
		feed(f, DIR_CLIENT, cli.b + i, 1);
	char *j = render(f);
	assert_contains(j, "\"ready_for_query\":4");
	assert_contains(j, "\"SASLResponse\":1");
	free(j);
	flow_close(f);
}

/* Every prefix of both streams, and every message body cut inside a
 * well-framed message: no crash, nothing invented. */
static void test_every_truncation(void **unused)
{
	(void)unused;
	struct buf srv = {.n = 0}, cli = {.n = 0};
	session_bytes(&srv, &cli);
	for (int side = 0; side < 2; side++) {
		const struct buf *b = side ? &cli : &srv;
		for (size_t n = 0; n <= b->n; n++) {
			struct tflow *f = flow_open();
			feed(f, side ? DIR_CLIENT : DIR_SERVER, b->b, n);
			if (D.on_end)
				D.on_end(f->s, f->state);
			char *j = render(f);
			if (side && n < 30)
				assert_lacks(j, "\"user\"");
			if (side && n < cli.n)
				assert_lacks(j, "\"terminated\"");
			assert_lacks(j, "malformed"); /* only whole messages are read */
			free(j);
			summary(f);
			flow_close(f);
		}
	}
	/* each client / server message with its body cut to k bytes, re-framed */
	struct buf msgs[8];
	size_t nm = 0;
	memset(msgs, 0, sizeof msgs);
	startup(&msgs[nm++], alice_params);
	auth_sasl(&msgs[nm++], scram);
	error(&msgs[nm++], 'E', "ERROR", "ERROR", "42P01", "x");
	param_status(&msgs[nm++], "server_version", "15");
	key_data(&msgs[nm++], 1);
	parse(&msgs[nm++], "s1", "SELECT 1");
	msg_str(&msgs[nm++], 'C', "SELECT 1");
	sasl_initial(&msgs[nm++], "SCRAM-SHA-256", "n,,n=,r=x");
	for (size_t i = 0; i < nm; i++) {
		bool untyped_msg = i == 0;
		size_t hdr = untyped_msg ? 8 : 5;
		enum direction dir = (i == 0 || i == 5 || i == 7) ? DIR_CLIENT : DIR_SERVER;
		for (size_t k = 0; k + hdr <= msgs[i].n; k++) {
			struct buf m = {.n = 0};
			if (untyped_msg) {
				struct buf body = {.n = 0};
				put(&body, msgs[i].b + 8, k);
				untyped(&m, 0x00030000, &body);
			} else {
				struct buf body = {.n = 0};
				put(&body, msgs[i].b + 5, k);
				msg(&m, msgs[i].b[0], &body);
			}
			struct tflow *f = flow_open();
			f->s->show_credentials = true;
			if (i == 7) {
				struct buf a = {.n = 0};
				auth_sasl(&a, scram);
				feed(f, DIR_SERVER, a.b, a.n);
				struct buf st = {.n = 0};
				startup(&st, alice_params);
				feed(f, DIR_CLIENT, st.b, st.n);
			} else if (dir == DIR_CLIENT && !untyped_msg) {
				struct buf st = {.n = 0};
				startup(&st, alice_params);
				feed(f, DIR_CLIENT, st.b, st.n);
			}
			feed(f, dir, m.b, m.n);
			char *j = render(f); /* whatever was read, no crash */
			free(j);
			summary(f);
			flow_close(f);
		}
	}
}

static void test_gap(void **unused)
{
	(void)unused;
	struct buf srv = {.n = 0}, cli = {.n = 0};
	session_bytes(&srv, &cli);
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, cli.b, 20);
	gap(f, DIR_CLIENT, 100);
	feed(f, DIR_CLIENT, cli.b + 20, cli.n - 20);
	feed(f, DIR_SERVER, srv.b, srv.n);
	char *j = render(f);
	assert_contains(j, "\"gap\":true");
	assert_lacks(j, "\"user\"");
	assert_lacks(j, "\"queries\"");
	assert_contains(j, "\"server_version\""); /* the other side is still read */
	assert_lacks(j, "malformed");
	assert_int_equal(session_counter_value(f->s, "postgresql.gap"), 1);
	free(j);
	flow_close(f);
}

/* Lengths that lie: over the cap (skipped, counted, never held), under 4 (out
 * of sync), a startup packet over 10000 bytes. */
static void test_length_lies(void **unused)
{
	(void)unused;
	struct buf cli = {.n = 0};
	startup(&cli, alice_params);
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, cli.b, cli.n);
	/* a Query claiming 2 GiB: every byte that follows is consumed */
	static const uint8_t lie[] = {'Q', 0x7f, 0xff, 0xff, 0xf0, 'S', 'E', 'L'};
	size_t used = D.on_data(f->s, f->state, DIR_CLIENT, rd_init(lie, sizeof lie));
	assert_int_equal(used, sizeof lie);
	static uint8_t more[4096];
	memset(more, 'x', sizeof more);
	used = D.on_data(f->s, f->state, DIR_CLIENT, rd_init(more, sizeof more));
	assert_int_equal(used, sizeof more);
	char *j = render(f);
	assert_contains(j, "\"too_big\":true");
	assert_int_equal(session_counter_value(f->s, "postgresql.message_too_big"), 1);
	assert_true(session_has_alert(f->s, ALERT_TRUNCATED));
	free(j);
	flow_close(f);

	/* a real query over the cap is skipped and the next one is read */
	f = flow_open();
	feed(f, DIR_CLIENT, cli.b, cli.n);
	static char big[70000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	struct buf hdr = {.n = 0};
	put_u8(&hdr, 'Q');
	put_be32(&hdr, (uint32_t)sizeof big + 4);
	feed(f, DIR_CLIENT, hdr.b, hdr.n);
	for (size_t off = 0; off < sizeof big; off += 1000)
		feed(f, DIR_CLIENT, big + off, sizeof big - off < 1000 ? sizeof big - off : 1000);
	assert_true(f->len[DIR_CLIENT] < 8);
	struct buf q = {.n = 0};
	msg_str(&q, 'Q', "SELECT 2");
	feed(f, DIR_CLIENT, q.b, q.n);
	j = render(f);
	assert_contains(j, "\"queries\":[\"SELECT 2\"]");
	assert_contains(j, "\"Query\":1"); /* the skipped one is not counted as read */
	free(j);
	flow_close(f);

	/* a length under 4: out of sync, this side is not read any further */
	f = flow_open();
	feed(f, DIR_CLIENT, cli.b, cli.n);
	feed(f, DIR_CLIENT, "Q\x00\x00\x00\x02", 5);
	q.n = 0;
	msg_str(&q, 'Q', "SELECT 3");
	feed(f, DIR_CLIENT, q.b, q.n);
	j = render(f);
	assert_contains(j, "\"malformed\":true");
	assert_lacks(j, "SELECT 3");
	free(j);
	flow_close(f);

	/* an unknown type byte: the same */
	f = flow_open();
	feed(f, DIR_SERVER, "Y\x00\x00\x00\x04", 5);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);

	/* a startup packet over 10000 bytes */
	f = flow_open();
	feed(f, DIR_CLIENT, "\x00\x01\x00\x00\x00\x03\x00\x00", 8);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(f->len[DIR_CLIENT], 0);
	flow_close(f);

	/* a gap inside a skipped message keeps the framing */
	f = flow_open();
	feed(f, DIR_CLIENT, cli.b, cli.n);
	feed(f, DIR_CLIENT, hdr.b, hdr.n);
	feed(f, DIR_CLIENT, big, 1000);
	gap(f, DIR_CLIENT, 10000);
	feed(f, DIR_CLIENT, big + 11000, sizeof big - 11000);
	q.n = 0;
	msg_str(&q, 'Q', "SELECT 4");
	feed(f, DIR_CLIENT, q.b, q.n);
	j = render(f);
	assert_contains(j, "\"queries\":[\"SELECT 4\"]");
	assert_contains(j, "\"gap\":true");
	free(j);
	flow_close(f);
}

static void test_caps(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf cli = {.n = 0}, srv = {.n = 0};
	const char *many[2 * 24 + 1];
	char names[20][16];
	for (int i = 0; i < 20; i++) {
		snprintf(names[i], sizeof names[i], "opt%d", i);
		many[2 * i] = names[i];
		many[2 * i + 1] = "v";
	}
	many[40] = "user";
	many[41] = "alice";
	many[42] = NULL;
	startup(&cli, many);
	feed(f, DIR_CLIENT, cli.b, cli.n);
	const char *mechs[12];
	for (int i = 0; i < 11; i++)
		mechs[i] = "SCRAM-SHA-256";
	mechs[11] = NULL;
	auth_sasl(&srv, mechs);
	for (int i = 0; i < 9; i++)
		auth(&srv, 11);
	feed(f, DIR_SERVER, srv.b, srv.n);
	static char longq[3000];
	memset(longq, 'x', sizeof longq - 1);
	longq[sizeof longq - 1] = 0;
	for (int i = 0; i < 40; i++) {
		struct buf q = {.n = 0};
		msg_str(&q, 'Q', i == 0 ? longq : "SELECT 2");
		parse(&q, "", "SELECT 3");
		feed(f, DIR_CLIENT, q.b, q.n);
		struct buf e = {.n = 0};
		error(&e, 'E', "ERROR", "ERROR", "42601", "syntax");
		error(&e, 'N', "NOTICE", "NOTICE", "00000", "hello");
		msg_str(&e, 'C', "SELECT 1");
		char name[16];
		snprintf(name, sizeof name, "p%d", i);
		param_status(&e, name, "v");
		feed(f, DIR_SERVER, e.b, e.n);
	}
	char *j = render(f);
	assert_contains(j, "\"startup_parameters_truncated\":4");
	assert_contains(j, "\"user\":\"alice\"");
	assert_contains(j, "\"sasl_mechanisms_truncated\":3");
	assert_contains(j, "\"auth_requests_truncated\":2");
	assert_contains(j, "\"queries_truncated\":8");
	assert_contains(j, "\"statements_truncated\":24");
	assert_contains(j, "\"command_tags_truncated\":8");
	assert_contains(j, "\"errors_truncated\":24");
	assert_contains(j, "\"notices_truncated\":24");
	assert_contains(j, "\"server_parameters_truncated\":8");
	assert_contains(j, "\"Query\":40");
	assert_int_equal(session_counter_value(f->s, "postgresql.too_many_queries"), 8);
	assert_int_equal(session_counter_value(f->s, "postgresql.string_cut"), 1);
	assert_contains(summary(f), "40 queries 40 statements 40 errors");
	free(j);
	flow_close(f);
}

/* The server's side alone (the client's first bytes were missed). */
static void test_server_side_only(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf srv = {.n = 0};
	put_u8(&srv, 'N');
	auth(&srv, 3);
	feed(f, DIR_SERVER, srv.b, srv.n);
	char *j = render(f);
	assert_contains(j, "\"ssl\":\"refused\"");
	assert_contains(j, "\"auth\":\"cleartext-password\"");
	assert_lacks(j, "malformed");
	free(j);
	flow_close(f);
}

/* A connection picked up after its start: the client's typed messages. */
static void test_client_midstream(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct buf cli = {.n = 0};
	msg_str(&cli, 'Q', "SELECT 5");
	empty(&cli, 'X');
	feed(f, DIR_CLIENT, cli.b, cli.n);
	char *j = render(f);
	assert_contains(j, "\"queries\":[\"SELECT 5\"]");
	assert_contains(j, "\"terminated\":true");
	assert_lacks(j, "malformed");
	assert_lacks(j, "protocol_version");
	assert_int_equal(session_counter_value(f->s, "postgresql.midstream"), 1);
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
	struct buf b = {.n = 0};
	startup(&b, alice_params);
	assert_int_equal(probe_bytes(b.b, b.n, DIR_CLIENT), VERDICT_YES);
	for (size_t n = 0; n < 8; n++)
		assert_int_equal(probe_bytes(b.b, n, DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe_bytes(b.b, 10, DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe_bytes(b.b, 13, DIR_CLIENT), VERDICT_YES);
	b.n = 0;
	ssl_request(&b);
	assert_int_equal(probe_bytes(b.b, b.n, DIR_CLIENT), VERDICT_YES);
	b.n = 0;
	gssenc_request(&b);
	assert_int_equal(probe_bytes(b.b, b.n, DIR_CLIENT), VERDICT_YES);
	static const uint8_t cancel[] = {0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e,
	                                 0, 0, 0, 1,  0,    0,    0,    2};
	assert_int_equal(probe_bytes(cancel, sizeof cancel, DIR_CLIENT), VERDICT_YES);
	/* wrong lengths for the fixed-size requests, an unknown code */
	static const uint8_t bad_ssl[] = {0, 0, 0, 9, 0x04, 0xd2, 0x16, 0x2f, 0};
	assert_int_equal(probe_bytes(bad_ssl, sizeof bad_ssl, DIR_CLIENT), VERDICT_NO);
	static const uint8_t proto2[] = {0, 0, 1, 0x28, 0, 2, 0, 0, 's', 'h', 'o', 'p', 0};
	assert_int_equal(probe_bytes(proto2, sizeof proto2, DIR_CLIENT), VERDICT_NO);
	static const uint8_t binary_name[] = {0, 0, 0, 20, 0, 3, 0, 0, 0x01, 0x02, 0};
	assert_int_equal(probe_bytes(binary_name, sizeof binary_name, DIR_CLIENT), VERDICT_NO);

	/* the server's side */
	b.n = 0;
	auth(&b, 0);
	assert_int_equal(probe_bytes(b.b, b.n, DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe_bytes(b.b, 5, DIR_SERVER), VERDICT_NEED_MORE);
	b.n = 0;
	auth(&b, 5);
	assert_int_equal(probe_bytes(b.b, b.n, DIR_SERVER), VERDICT_YES);
	b.n = 0;
	auth_sasl(&b, scram);
	assert_int_equal(probe_bytes(b.b, b.n, DIR_SERVER), VERDICT_YES);
	b.n = 0;
	error(&b, 'E', "FATAL", "FATAL", "28000", "no pg_hba.conf entry");
	assert_int_equal(probe_bytes(b.b, b.n, DIR_SERVER), VERDICT_YES);
	b.n = 0;
	put_u8(&b, 'N');
	auth_sasl(&b, scram);
	assert_int_equal(probe_bytes(b.b, b.n, DIR_SERVER), VERDICT_YES);
	b.n = 0;
	auth(&b, 10); /* SASL without a mechanism list */
	assert_int_equal(probe_bytes(b.b, b.n, DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe_bytes("N", 1, DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe_bytes("S", 1, DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe_bytes("S\x16\x03\x03", 4, DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe_bytes("S\x16", 2, DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe_bytes("Nope", 4, DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe_bytes("R\x00\x00\x00\x08\x00\x00\x00\x63", 9, DIR_SERVER),
	                 VERDICT_NO);
	assert_int_equal(probe_bytes("Error: bad thing\n", 17, DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe_bytes("", 0, DIR_CLIENT), VERDICT_NEED_MORE);

	/* other protocols' first bytes */
	static const char *const others[] = {
	    "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
	    "HTTP/1.1 200 OK\r\n\r\n",
	    "SSH-2.0-OpenSSH_9.6\r\n",
	    "220 mail.example.com ESMTP\r\n",
	    "+OK POP3 ready\r\n",
	    "* OK IMAP4rev1\r\n",
	    "RFB 003.008\n",
	};
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		assert_int_equal(probe_bytes(others[i], strlen(others[i]), DIR_SERVER), VERDICT_NO);
		assert_int_equal(probe_bytes(others[i], strlen(others[i]), DIR_CLIENT), VERDICT_NO);
	}
	static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01,
	                                0xfc, 0x03, 0x03, 0x11, 0x22, 0x33, 0x44, 0x55};
	assert_int_equal(probe_bytes(hello, sizeof hello, DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe_bytes(hello, sizeof hello, DIR_SERVER), VERDICT_NO);
	/* a MySQL greeting (3-byte LE length, seq 0, protocol 10, version) */
	static const uint8_t mysql[] = {0x4a, 0, 0, 0, 10, '8', '.', '0', '.', '3', '6', 0, 1, 2};
	assert_int_equal(probe_bytes(mysql, sizeof mysql, DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe_bytes(mysql, sizeof mysql, DIR_CLIENT), VERDICT_NO);
	/* a TDS PRELOGIN */
	static const uint8_t tds[] = {0x12, 0x01, 0x00, 0x2f, 0, 0, 0x01, 0};
	assert_int_equal(probe_bytes(tds, sizeof tds, DIR_CLIENT), VERDICT_NO);
	/* DNS over TCP: a 2-byte length then a query id: not a startup code */
	static const uint8_t dns[] = {0, 0x1d, 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0};
	assert_int_equal(probe_bytes(dns, sizeof dns, DIR_CLIENT), VERDICT_NO);
}

static void test_release_of_empty_state(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	char *j = render(f);
	assert_string_equal(j, "{}");
	free(j);
	assert_string_equal(summary(f), "PostgreSQL");
	flow_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_session),
	    cmocka_unit_test(test_interleaved),
	    cmocka_unit_test(test_cleartext_password),
	    cmocka_unit_test(test_password_unknown_method),
	    cmocka_unit_test(test_ssl_accepted),
	    cmocka_unit_test(test_ssl_client_hello_first),
	    cmocka_unit_test(test_ssl_refused_then_startup),
	    cmocka_unit_test(test_gssenc_accepted),
	    cmocka_unit_test(test_ssl_answered_by_error),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_errors_and_notices),
	    cmocka_unit_test(test_every_split),
	    cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_gap),
	    cmocka_unit_test(test_length_lies),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_server_side_only),
	    cmocka_unit_test(test_client_midstream),
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_release_of_empty_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
