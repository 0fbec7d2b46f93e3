/* MySQL / MariaDB client/server protocol.
 *
 * Every packet is a 3-byte little-endian payload length and a 1-byte
 * sequence id, then the payload (the core's PDU framer cuts them).  The
 * server speaks first: the greeting (protocol version 10: server version,
 * connection id, capability flags, charset, status, auth plugin).  The
 * client answers with a HandshakeResponse41 (capabilities, max packet,
 * charset, 23 filler bytes, user, auth response, database, auth plugin), or
 * first with a 32-byte SSL request (CLIENT_SSL set, no user): TLS then
 * starts on both sides right after that packet, and the stream is handed to
 * the TLS dissector.  After the login each client packet with sequence id 0
 * is a command (COM_QUERY's text is kept); the server's ERR packets give an
 * error code, SQL state and message.
 *
 * Auth responses are scrambled hashes, except with the mysql_clear_password
 * plugin: that password is a cleartext credential (alert; shown only with
 * --show-credentials).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/framing.h"
#include "portolan/summary.h"
#include "portolan/wirestr.h"

/* A packet over this is skipped unread. */
#define MYSQL_MAX_PACKET (64 * 1024)
/* Bytes kept of a name (version, user, database, plugin) and of a query. */
#define MYSQL_MAX_NAME 128
#define MYSQL_MAX_QUERY 256
#define MYSQL_MAX_MESSAGE 256
/* Queries and errors kept. */
#define MYSQL_MAX_QUERIES 16
#define MYSQL_MAX_ERRORS 16

/* Capability flags. */
#define CLIENT_CONNECT_WITH_DB 0x00000008u
#define CLIENT_PROTOCOL_41 0x00000200u
#define CLIENT_SSL 0x00000800u
#define CLIENT_SECURE_CONNECTION 0x00008000u
#define CLIENT_PLUGIN_AUTH 0x00080000u
#define CLIENT_PLUGIN_AUTH_LENENC 0x00200000u
#define CLIENT_QUERY_ATTRIBUTES 0x08000000u

#define COM_QUERY 0x03
#define N_COMMANDS 0x20

static const char *const command_names[N_COMMANDS] = {
    "COM_SLEEP",
    "COM_QUIT",
    "COM_INIT_DB",
    "COM_QUERY",
    "COM_FIELD_LIST",
    "COM_CREATE_DB",
    "COM_DROP_DB",
    "COM_REFRESH",
    "COM_SHUTDOWN",
    "COM_STATISTICS",
    "COM_PROCESS_INFO",
    "COM_CONNECT",
    "COM_PROCESS_KILL",
    "COM_DEBUG",
    "COM_PING",
    "COM_TIME",
    "COM_DELAYED_INSERT",
    "COM_CHANGE_USER",
    "COM_BINLOG_DUMP",
    "COM_TABLE_DUMP",
    "COM_CONNECT_OUT",
    "COM_REGISTER_SLAVE",
    "COM_STMT_PREPARE",
    "COM_STMT_EXECUTE",
    "COM_STMT_SEND_LONG_DATA",
    "COM_STMT_CLOSE",
    "COM_STMT_RESET",
    "COM_SET_OPTION",
    "COM_STMT_FETCH",
    "COM_DAEMON",
    "COM_BINLOG_DUMP_GTID",
    "COM_RESET_CONNECTION",
};

struct mysql_error {
	uint16_t code;
	char state[6];
	struct wire_str message;
};

enum client_phase {
	C_LOGIN = 0, /* the handshake response (or SSL request) comes next */
	C_AUTH,      /* more auth data (after an auth switch) */
	C_COMMANDS,  /* commands */
};

struct mysql_state {
	struct pdu_state pdus[2];
	bool dead[2];
	enum client_phase cphase;
	bool greeting, response, ssl, handed_off, clear_password, gap, malformed;
	bool too_big;
	uint8_t protocol, charset;
	uint16_t status;
	uint32_t connection_id, server_caps, client_caps, max_packet;
	struct wire_str server_version, user, database, auth_plugin, password;
	struct wire_str queries[MYSQL_MAX_QUERIES];
	uint32_t n_queries, queries_truncated;
	struct mysql_error errors[MYSQL_MAX_ERRORS];
	uint32_t n_errors, errors_truncated;
	uint32_t commands[N_COMMANDS];
	uint32_t unknown_commands;
	uint32_t oks;
};

static long mysql_length(struct reader h, void *arg)
{
	(void)arg;
	if (!rd_has(&h, 4))
		return 0;
	uint32_t len = rd_u8(&h);
	len |= (uint32_t)rd_u8(&h) << 8;
	len |= (uint32_t)rd_u8(&h) << 16;
	return (long)len + 4;
}

/* A NUL-terminated string at r (up to the end of r when no NUL). */
static struct reader take_cstr(struct reader *r)
{
	long nul = rd_find(r, 0);
	if (nul < 0)
		return rd_rest(r);
	struct reader s = rd_sub(r, (size_t)nul);
	rd_skip(r, 1);
	return s;
}

static void set_str(struct session *s, struct wire_str *w, struct reader v, size_t cap)
{
	size_t n = rd_remaining(&v);
	enum wire_str_result res = wire_str_set(w, rd_take(&v, n), n, cap);
	if (res == WIRE_STR_CUT)
		session_count(s, "mysql.string_cut");
	else if (res == WIRE_STR_NO_MEMORY)
		session_count(s, "mysql.out_of_memory");
}

/* A length-encoded integer; fails r on a bad prefix. */
static uint64_t lenenc(struct reader *r)
{
	uint8_t b = rd_u8(r);
	if (b < 0xfb)
		return b;
	if (b == 0xfc)
		return rd_le16(r);
	if (b == 0xfd) {
		uint32_t v = rd_u8(r);
		v |= (uint32_t)rd_u8(r) << 8;
		v |= (uint32_t)rd_u8(r) << 16;
		return v;
	}
	if (b == 0xfe)
		return rd_le64(r);
	rd_fail(r);
	return 0;
}

static void malformed(struct mysql_state *st, struct session *s)
{
	if (!st->malformed)
		session_alert(s, ALERT_MALFORMED);
	st->malformed = true;
	session_count(s, "mysql.malformed");
}

static void clear_password(struct mysql_state *st, struct session *s, struct reader pw)
{
	if (!rd_remaining(&pw))
		return;
	session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
	session_count(s, "mysql.cleartext_password");
	st->clear_password = true;
	/* the password ends at its NUL when it has one */
	struct reader p = take_cstr(&pw);
	if (session_show_credentials(s))
		set_str(s, &st->password, p, MYSQL_MAX_NAME);
}

static bool is_clear_plugin(const struct wire_str *w)
{
	static const char name[] = "mysql_clear_password";
	return w->p && w->len == sizeof name - 1 && !memcmp(w->p, name, sizeof name - 1);
}

/* ---- server ---- */

static void greeting(struct mysql_state *st, struct session *s, struct reader r)
{
	st->greeting = true;
	st->protocol = rd_u8(&r);
	if (st->protocol != 10) {
		if (st->protocol != 9)
			malformed(st, s);
		set_str(s, &st->server_version, take_cstr(&r), MYSQL_MAX_NAME);
		return;
	}
	set_str(s, &st->server_version, take_cstr(&r), MYSQL_MAX_NAME);
	st->connection_id = rd_le32(&r);
	rd_skip(&r, 8 + 1); /* auth plugin data part 1, filler */
	if (!rd_ok(&r))
		return;
	st->server_caps = rd_le16(&r);
	if (!rd_ok(&r) || !rd_remaining(&r))
		return;
	st->charset = rd_u8(&r);
	st->status = rd_le16(&r);
	st->server_caps |= (uint32_t)rd_le16(&r) << 16;
	uint8_t auth_len = rd_u8(&r);
	rd_skip(&r, 10); /* reserved */
	if (!rd_ok(&r))
		return;
	if (st->server_caps & CLIENT_SECURE_CONNECTION) {
		size_t n = auth_len > 8 ? (size_t)auth_len - 8 : 0;
		if (n < 13)
			n = 13;
		if (n > rd_remaining(&r))
			n = rd_remaining(&r);
		rd_skip(&r, n);
	}
	if ((st->server_caps & CLIENT_PLUGIN_AUTH) && rd_remaining(&r) && !st->auth_plugin.p)
		set_str(s, &st->auth_plugin, take_cstr(&r), MYSQL_MAX_NAME);
}

static void error_packet(struct mysql_state *st, struct session *s, struct reader r)
{
	rd_skip(&r, 1);
	uint16_t code = rd_le16(&r);
	if (!rd_ok(&r)) {
		malformed(st, s);
		return;
	}
	if (st->n_errors >= MYSQL_MAX_ERRORS) {
		st->errors_truncated++;
		session_count(s, "mysql.too_many_errors");
		return;
	}
	struct mysql_error *e = &st->errors[st->n_errors++];
	e->code = code;
	if (rd_peek(&r, 0) == '#' && rd_has(&r, 6)) {
		rd_skip(&r, 1);
		rd_copy(&r, e->state, 5);
		e->state[5] = 0;
	}
	set_str(s, &e->message, rd_rest(&r), MYSQL_MAX_MESSAGE);
}

static void server_packet(struct mysql_state *st, struct session *s, uint8_t seq, struct reader r)
{
	int first = rd_peek(&r, 0);
	if (first < 0)
		return;
	if (!st->greeting && !st->response && seq == 0 && first != 0xff) {
		greeting(st, s, r);
		return;
	}
	if (first == 0xff) {
		error_packet(st, s, r);
		if (st->cphase != C_COMMANDS)
			st->cphase = C_COMMANDS;
		return;
	}
	if (st->cphase == C_COMMANDS || !st->response)
		return; /* results: not read */
	if (first == 0x00) {
		st->oks++;
		st->cphase = C_COMMANDS;
	} else if (first == 0xfe && rd_remaining(&r) > 1) {
		/* auth switch request: the plugin the client must use */
		rd_skip(&r, 1);
		set_str(s, &st->auth_plugin, take_cstr(&r), MYSQL_MAX_NAME);
		st->cphase = C_AUTH;
	} else if (first == 0x01) {
		st->cphase = C_AUTH; /* more auth data */
	}
}

/* ---- client ---- */

/* An SSL request or a handshake response.  True when the stream was
 * handed to TLS. */
static bool login(struct mysql_state *st, struct session *s, struct reader r)
{
	st->response = true;
	st->cphase = C_AUTH;
	size_t len = rd_remaining(&r);
	uint32_t caps = rd_le16(&r);
	if (!rd_ok(&r)) {
		malformed(st, s);
		return false;
	}
	if (!(caps & CLIENT_PROTOCOL_41)) {
		/* HandshakeResponse320: caps, 3-byte max packet, user, auth */
		st->client_caps = caps;
		rd_skip(&r, 3);
		if (!rd_ok(&r)) {
			malformed(st, s);
			return false;
		}
		if (len == 5 && (caps & CLIENT_SSL))
			goto ssl;
		set_str(s, &st->user, take_cstr(&r), MYSQL_MAX_NAME);
		return false;
	}
	caps |= (uint32_t)rd_le16(&r) << 16;
	st->client_caps = caps;
	st->max_packet = rd_le32(&r);
	st->charset = rd_u8(&r);
	rd_skip(&r, 23);
	if (!rd_ok(&r)) {
		malformed(st, s);
		return false;
	}
	if (!rd_remaining(&r)) {
		if (caps & CLIENT_SSL)
			goto ssl;
		malformed(st, s);
		return false;
	}
	set_str(s, &st->user, take_cstr(&r), MYSQL_MAX_NAME);
	struct reader auth;
	if (caps & CLIENT_PLUGIN_AUTH_LENENC) {
		uint64_t n = lenenc(&r);
		if (!rd_ok(&r) || n > rd_remaining(&r)) {
			malformed(st, s);
			return false;
		}
		auth = rd_sub(&r, (size_t)n);
	} else if (caps & CLIENT_SECURE_CONNECTION) {
		uint8_t n = rd_u8(&r);
		if (!rd_ok(&r) || n > rd_remaining(&r)) {
			malformed(st, s);
			return false;
		}
		auth = rd_sub(&r, n);
	} else {
		auth = take_cstr(&r);
	}
	if ((caps & CLIENT_CONNECT_WITH_DB) && rd_remaining(&r))
		set_str(s, &st->database, take_cstr(&r), MYSQL_MAX_NAME);
	if ((caps & CLIENT_PLUGIN_AUTH) && rd_remaining(&r))
		set_str(s, &st->auth_plugin, take_cstr(&r), MYSQL_MAX_NAME);
	if (is_clear_plugin(&st->auth_plugin))
		clear_password(st, s, auth);
	return false;
ssl:
	st->ssl = true;
	st->response = false; /* the real response travels inside TLS */
	if (session_handoff(s, "tls")) {
		st->handed_off = true;
		return true;
	}
	session_count(s, "mysql.ssl_not_dissected");
	st->dead[DIR_CLIENT] = st->dead[DIR_SERVER] = true;
	return true;
}

static void command(struct mysql_state *st, struct session *s, struct reader r)
{
	uint8_t cmd = rd_u8(&r);
	if (!rd_ok(&r))
		return;
	if (cmd < N_COMMANDS)
		st->commands[cmd]++;
	else
		st->unknown_commands++;
	if (cmd != COM_QUERY)
		return;
	if (st->client_caps & CLIENT_QUERY_ATTRIBUTES) {
		/* parameter_count, parameter_set_count, then the parameters */
		uint64_t params = lenenc(&r);
		lenenc(&r);
		if (!rd_ok(&r)) {
			malformed(st, s);
			return;
		}
		if (params) {
			session_count(s, "mysql.query_attributes_skipped");
			return; /* the query text follows typed values: not read */
		}
	}
	if (st->n_queries >= MYSQL_MAX_QUERIES) {
		st->queries_truncated++;
		session_count(s, "mysql.too_many_queries");
		return;
	}
	set_str(s, &st->queries[st->n_queries++], rd_rest(&r), MYSQL_MAX_QUERY);
}

/* True when the stream was handed off (stop at once). */
static bool client_packet(struct mysql_state *st, struct session *s, uint8_t seq, struct reader r)
{
	if (seq == 0) {
		st->cphase = C_COMMANDS;
		command(st, s, r);
		return false;
	}
	if (!st->response && !st->ssl)
		return login(st, s, r);
	if (st->cphase == C_AUTH && is_clear_plugin(&st->auth_plugin) && !st->clear_password)
		clear_password(st, s, r);
	return false;
}

static size_t mysql_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct mysql_state *st = state;
	if (st->dead[dir] || st->handed_off)
		return rd_remaining(&r);
	struct pdu_state *ps = &st->pdus[dir];
	if (!ps->max_pdu)
		ps->max_pdu = MYSQL_MAX_PACKET;
	for (;;) {
		struct reader pdu;
		enum frame_result fr = pdu_next(ps, &r, mysql_length, NULL, &pdu);
		if (fr == FRAME_TOO_BIG) {
			if (!st->too_big)
				session_count(s, "mysql.packet_too_big");
			st->too_big = true;
			continue;
		}
		if (fr != FRAME_OK)
			break;
		rd_skip(&pdu, 3);
		uint8_t seq = rd_u8(&pdu);
		struct reader payload = rd_rest(&pdu);
		if (dir == DIR_SERVER) {
			server_packet(st, s, seq, payload);
		} else if (client_packet(st, s, seq, payload)) {
			if (st->handed_off)
				return rd_offset(&r);
			return rd_offset(&r) + rd_remaining(&r);
		}
	}
	return rd_offset(&r);
}

static void mysql_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct mysql_state *st = state;
	(void)s;
	st->gap = true;
	if (!pdu_gap(&st->pdus[dir], missing))
		st->dead[dir] = true; /* no way to find the next packet header */
}

/* A server refusing the connection sends an ERR packet instead of the
 * greeting ("Host ... is not allowed to connect"): a 2-byte error code in
 * the server's range and a printable message. */
static enum verdict err_greeting(struct reader r, uint32_t len)
{
	if (!rd_has(&r, 8))
		return VERDICT_NEED_MORE;
	uint16_t code = rd_le16(&r);
	if (code < 1000 || code > 4999)
		return VERDICT_NO;
	size_t n = len - 3;
	for (size_t i = 0; i < n; i++) {
		int c = rd_peek(&r, i);
		if (c < 0)
			return i >= 6 ? VERDICT_YES : VERDICT_NEED_MORE;
		if (c < 0x20 || c > 0x7e)
			return VERDICT_NO;
	}
	return VERDICT_YES;
}

static enum verdict mysql_probe(struct reader r, enum direction dir)
{
	(void)dir;
	if (!rd_has(&r, 5))
		return VERDICT_NEED_MORE;
	uint32_t len = rd_u8(&r);
	len |= (uint32_t)rd_u8(&r) << 8;
	len |= (uint32_t)rd_u8(&r) << 16;
	uint8_t seq = rd_u8(&r);
	uint8_t proto = rd_u8(&r);
	if (seq == 0 && proto == 0xff && len >= 8 && len <= 1024)
		return err_greeting(r, len);
	if (seq != 0 || proto != 10 || len < 20 || len > 1024)
		return VERDICT_NO;
	/* a printable version string of 1-64 bytes ending with NUL */
	size_t n = 0;
	for (;;) {
		int c = rd_peek(&r, n);
		if (c < 0)
			return n >= 64 ? VERDICT_NO : VERDICT_NEED_MORE;
		if (c == 0)
			break;
		if (c < 0x20 || c > 0x7e || ++n > 64)
			return VERDICT_NO;
	}
	if (n == 0 || n + 2 > len)
		return VERDICT_NO;
	if (rd_peek(&r, 0) < '0' || rd_peek(&r, 0) > '9')
		return VERDICT_NO; /* versions start with a digit: "5.7.31", "8.0.33" */
	return VERDICT_YES;
}

static void emit_ws(struct emitter *e, const char *key, const struct wire_str *w)
{
	if (w->p)
		emit_strn(e, key, w->p, w->len);
}

static void mysql_emit(const void *state, struct emitter *e)
{
	const struct mysql_state *st = state;
	if (st->greeting) {
		emit_int(e, "protocol", st->protocol);
		emit_ws(e, "server_version", &st->server_version);
		if (st->protocol == 10)
			emit_int(e, "connection_id", st->connection_id);
	}
	emit_ws(e, "user", &st->user);
	emit_ws(e, "database", &st->database);
	emit_ws(e, "auth_plugin", &st->auth_plugin);
	emit_bool(e, "ssl", st->ssl);
	if (st->password.p)
		emit_strn(e, "password", st->password.p, st->password.len);
	if (st->clear_password)
		emit_bool(e, "cleartext_password", true);
	if (st->n_queries) {
		emit_array_begin(e, "queries");
		for (uint32_t i = 0; i < st->n_queries; i++)
			emit_strn(e, NULL, st->queries[i].p ? st->queries[i].p : "",
			          st->queries[i].len);
		emit_array_end(e);
		if (st->queries_truncated)
			emit_int(e, "queries_truncated", st->queries_truncated);
	}
	if (st->n_errors) {
		emit_array_begin(e, "errors");
		for (uint32_t i = 0; i < st->n_errors; i++) {
			const struct mysql_error *er = &st->errors[i];
			emit_object_begin(e, NULL);
			emit_int(e, "code", er->code);
			if (er->state[0])
				emit_str(e, "state", er->state);
			else
				emit_null(e, "state");
			emit_strn(e, "message", er->message.p ? er->message.p : "",
			          er->message.len);
			emit_object_end(e);
		}
		emit_array_end(e);
		if (st->errors_truncated)
			emit_int(e, "errors_truncated", st->errors_truncated);
	}
	bool any = st->unknown_commands;
	for (int i = 0; i < N_COMMANDS; i++)
		any = any || st->commands[i];
	if (any) {
		emit_object_begin(e, "commands");
		for (int i = 0; i < N_COMMANDS; i++)
			if (st->commands[i])
				emit_int(e, command_names[i], st->commands[i]);
		if (st->unknown_commands)
			emit_int(e, "unknown", st->unknown_commands);
		emit_object_end(e);
	}
	if (st->malformed)
		emit_bool(e, "malformed", true);
	if (st->too_big)
		emit_bool(e, "too_big", true);
	if (st->gap)
		emit_bool(e, "gap", true);
}

static void mysql_summarize(const void *state, char *buf, size_t n)
{
	const struct mysql_state *st = state;
	struct summary sm = summary_start(buf, n);
	if (st->server_version.p) {
		summary_add(&sm, "MySQL ");
		summary_add_wire(&sm, st->server_version.p, st->server_version.len);
	} else {
		summary_add(&sm, "MySQL");
	}
	if (st->ssl)
		summary_add(&sm, " SSL");
	if (st->user.p) {
		summary_add(&sm, " user ");
		summary_add_wire(&sm, st->user.p, st->user.len);
	}
	if (st->database.p) {
		summary_add(&sm, " db ");
		summary_add_wire(&sm, st->database.p, st->database.len);
	}
	if (st->n_queries)
		summary_addf(&sm, " %u queries", (unsigned)(st->n_queries + st->queries_truncated));
	if (st->n_errors)
		summary_addf(&sm, " %u errors", (unsigned)(st->n_errors + st->errors_truncated));
}

static void mysql_release(void *state)
{
	struct mysql_state *st = state;
	wire_str_free(&st->server_version);
	wire_str_free(&st->user);
	wire_str_free(&st->database);
	wire_str_free(&st->auth_plugin);
	wire_str_free(&st->password);
	for (uint32_t i = 0; i < st->n_queries; i++)
		wire_str_free(&st->queries[i]);
	for (uint32_t i = 0; i < st->n_errors; i++)
		wire_str_free(&st->errors[i].message);
}

static const uint16_t mysql_ports[] = {3306, 0};

const struct dissector mysql_dissector = {
    .name = "mysql",
    .transports = TRANSPORT_BIT_TCP,
    .ports = mysql_ports,
    .state_size = sizeof(struct mysql_state),
    .probe = mysql_probe,
    .on_data = mysql_on_data,
    .on_gap = mysql_on_gap,
    .on_end = NULL,
    .emit = mysql_emit,
    .summarize = mysql_summarize,
    .protocol_name = NULL,
    .release = mysql_release,
};
