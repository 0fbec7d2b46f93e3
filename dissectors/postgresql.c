/* PostgreSQL frontend/backend protocol (version 3).
 *
 * The client speaks first, with messages that have no type byte: a 4-byte
 * big-endian length (itself included) and a 4-byte code.  The code says
 * which: SSLRequest (80877103) and GSSENCRequest (80877104), each answered
 * by ONE byte from the server ('S' / 'G' yes, 'N' no; an old server may send
 * an ErrorResponse instead); CancelRequest (80877102, a backend pid and its
 * secret key, on a connection of its own); or the StartupMessage (protocol
 * 3.0 = 0x00030000, then name/value C-string pairs ending with an empty
 * name).  After 'S' TLS starts on both sides: the stream is handed to the
 * TLS dissector.  After 'G' the stream is GSSAPI-encrypted and not read.
 *
 * Every later message in both directions is a type byte and a 4-byte length
 * (itself included, the type byte not): the core's PDU framer cuts them, and
 * a length over PG_MAX_MESSAGE is skipped unread and counted.  An unknown
 * type byte or a length under 4 means the direction is out of sync: it is
 * not read any further (so is a direction after a gap).
 *
 * The server asks for authentication with 'R' (ok, cleartext-password,
 * md5-password, sasl with its mechanism list, ...); the client answers with
 * 'p', whose meaning depends on that request (PasswordMessage,
 * SASLInitialResponse, SASLResponse, GSSResponse).  A cleartext password is
 * a cleartext credential (alert; shown only with --show-credentials); MD5
 * and SCRAM answers are hashes and proofs, never shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/framing.h"
#include "portolan/summary.h"
#include "portolan/wirestr.h"

/* A message over this is skipped unread (and counted). */
#define PG_MAX_MESSAGE (64 * 1024)
/* The server refuses startup packets over 10000 bytes (MAX_STARTUP_PACKET_LENGTH). */
#define PG_MAX_STARTUP 10000
/* Client bytes held after an SSL request while the server's answer is not seen. */
#define PG_MAX_WAIT_ANSWER (16 * 1024)
/* Bytes kept of names, values, queries and error messages. */
#define PG_MAX_NAME 128
#define PG_MAX_VALUE 256
#define PG_MAX_QUERY 1024
#define PG_MAX_TEXT 256
/* List caps. */
#define PG_MAX_PARAMS 16        /* startup parameters beyond the named ones */
#define PG_MAX_SERVER_PARAMS 32 /* ParameterStatus */
#define PG_MAX_AUTH 8           /* authentication requests */
#define PG_MAX_MECHS 8          /* SASL mechanisms offered */
#define PG_MAX_ERRORS 16
#define PG_MAX_NOTICES 16
#define PG_MAX_QUERIES 32
#define PG_MAX_STATEMENTS 16
#define PG_MAX_TAGS 32

#define PG_SSL_CODE 80877103u
#define PG_GSSENC_CODE 80877104u
#define PG_CANCEL_CODE 80877102u
#define PG_PROTO_3 0x00030000u

enum auth_code {
	AUTH_OK = 0,
	AUTH_KERBEROS_V5 = 2,
	AUTH_CLEARTEXT = 3,
	AUTH_CRYPT = 4,
	AUTH_MD5 = 5,
	AUTH_SCM = 6,
	AUTH_GSS = 7,
	AUTH_GSS_CONTINUE = 8,
	AUTH_SSPI = 9,
	AUTH_SASL = 10,
	AUTH_SASL_CONTINUE = 11,
	AUTH_SASL_FINAL = 12,
};

static const struct value_name auth_names[] = {
    {AUTH_OK, "ok"},
    {AUTH_KERBEROS_V5, "kerberos-v5"},
    {AUTH_CLEARTEXT, "cleartext-password"},
    {AUTH_CRYPT, "crypt-password"},
    {AUTH_MD5, "md5-password"},
    {AUTH_SCM, "scm-credential"},
    {AUTH_GSS, "gss"},
    {AUTH_GSS_CONTINUE, "gss-continue"},
    {AUTH_SSPI, "sspi"},
    {AUTH_SASL, "sasl"},
    {AUTH_SASL_CONTINUE, "sasl-continue"},
    {AUTH_SASL_FINAL, "sasl-final"},
    {0, NULL},
};

/* Message names per direction, by type byte; the pseudo types above 255
 * name the untyped startup-phase messages and the meanings of 'p'. */
enum {
	T_STARTUP = 256,
	T_SSL_REQUEST,
	T_GSSENC_REQUEST,
	T_CANCEL_REQUEST,
	T_SASL_INITIAL,
	T_SASL_RESPONSE,
	T_GSS_RESPONSE,
};

static const struct value_name client_types[] = {
    {T_STARTUP, "StartupMessage"},
    {T_SSL_REQUEST, "SSLRequest"},
    {T_GSSENC_REQUEST, "GSSENCRequest"},
    {T_CANCEL_REQUEST, "CancelRequest"},
    {'Q', "Query"},
    {'P', "Parse"},
    {'B', "Bind"},
    {'E', "Execute"},
    {'D', "Describe"},
    {'C', "Close"},
    {'S', "Sync"},
    {'H', "Flush"},
    {'X', "Terminate"},
    {'F', "FunctionCall"},
    {'d', "CopyData"},
    {'c', "CopyDone"},
    {'f', "CopyFail"},
    {'p', "PasswordMessage"},
    {T_SASL_INITIAL, "SASLInitialResponse"},
    {T_SASL_RESPONSE, "SASLResponse"},
    {T_GSS_RESPONSE, "GSSResponse"},
    {0, NULL},
};

static const struct value_name server_types[] = {
    {'R', "Authentication"},
    {'S', "ParameterStatus"},
    {'K', "BackendKeyData"},
    {'Z', "ReadyForQuery"},
    {'T', "RowDescription"},
    {'D', "DataRow"},
    {'C', "CommandComplete"},
    {'E', "ErrorResponse"},
    {'N', "NoticeResponse"},
    {'I', "EmptyQueryResponse"},
    {'1', "ParseComplete"},
    {'2', "BindComplete"},
    {'3', "CloseComplete"},
    {'n', "NoData"},
    {'s', "PortalSuspended"},
    {'t', "ParameterDescription"},
    {'A', "NotificationResponse"},
    {'G', "CopyInResponse"},
    {'H', "CopyOutResponse"},
    {'W', "CopyBothResponse"},
    {'d', "CopyData"},
    {'c', "CopyDone"},
    {'V', "FunctionCallResponse"},
    {'v', "NegotiateProtocolVersion"},
    {0, NULL},
};

#define N_TYPES 24 /* the longer table's entries */

_Static_assert(sizeof client_types / sizeof client_types[0] - 1 <= N_TYPES, "client_types");
_Static_assert(sizeof server_types / sizeof server_types[0] - 1 <= N_TYPES, "server_types");

static int type_index(const struct value_name *t, unsigned v)
{
	for (int i = 0; t[i].name; i++)
		if (t[i].value == v)
			return i;
	return -1;
}

static const struct value_name *types_of(enum direction dir)
{
	return dir == DIR_CLIENT ? client_types : server_types;
}

/* What an encryption request got from the server. */
enum enc_answer { ENC_NONE = 0, ENC_PENDING, ENC_ACCEPTED, ENC_REFUSED, ENC_ERROR };

static const char *const enc_answer_names[] = {NULL, "no-answer", "accepted", "refused", "error"};

struct pg_pair {
	struct wire_str name, value;
};

struct pg_error {
	struct wire_str severity, code, message;
};

struct pg_state {
	struct pdu_state pdus[2];
	bool dead[2];
	bool startup_done;   /* the client's typed messages follow */
	bool server_started; /* the server's first bytes were looked at */
	bool handed_off, gss_encrypted;
	enum enc_answer ssl, gssenc;
	bool startup, cancel;
	uint32_t proto, cancel_pid;
	struct wire_str user, database, application_name, client_encoding;
	struct pg_pair params[PG_MAX_PARAMS];
	uint32_t n_params, params_truncated;

	/* authentication */
	bool auth_seen, auth_ok, auth_failed;
	uint32_t asked; /* bit per authentication code requested (< 32) */
	uint8_t auth_req[PG_MAX_AUTH];
	uint32_t n_auth_req, auth_req_truncated;
	struct wire_str mechs[PG_MAX_MECHS];
	uint32_t n_mechs, mechs_truncated;
	struct wire_str sasl_mechanism, password;
	bool sasl_started, cleartext, md5_response;

	/* after login */
	struct pg_pair sparams[PG_MAX_SERVER_PARAMS];
	uint32_t n_sparams, sparams_truncated;
	bool key_data;
	uint32_t backend_pid;
	bool negotiated;
	uint32_t negotiated_minor;
	struct pg_error errors[PG_MAX_ERRORS];
	uint32_t n_errors, errors_truncated;
	struct pg_error notices[PG_MAX_NOTICES];
	uint32_t n_notices, notices_truncated;
	struct wire_str queries[PG_MAX_QUERIES];
	uint32_t n_queries, queries_truncated;
	struct wire_str statements[PG_MAX_STATEMENTS];
	uint32_t n_statements, statements_truncated;
	struct wire_str tags[PG_MAX_TAGS];
	uint32_t n_tags, tags_truncated;
	uint32_t ready;
	uint8_t tx_status;
	bool terminated;

	uint32_t counts[2][N_TYPES];
	bool malformed, too_big, gap;
};

/* ---- small helpers ---- */

static void count_type(struct pg_state *st, enum direction dir, unsigned type)
{
	int i = type_index(types_of(dir), type);
	if (i >= 0)
		st->counts[dir][i]++;
}

static void malformed(struct pg_state *st, struct session *s)
{
	if (!st->malformed)
		session_alert(s, ALERT_MALFORMED);
	st->malformed = true;
	session_count(s, "postgresql.malformed");
}

/* A NUL-terminated string at r; fails r when there is no NUL. */
static struct reader take_cstr(struct reader *r)
{
	long nul = rd_find(r, 0);
	if (nul < 0) {
		rd_fail(r);
		return rd_init(NULL, 0);
	}
	struct reader v = rd_sub(r, (size_t)nul);
	rd_skip(r, 1);
	return v;
}

static void set_str(struct session *s, struct wire_str *w, struct reader v, size_t cap)
{
	size_t n = rd_remaining(&v);
	enum wire_str_result res = wire_str_set(w, rd_take(&v, n), n, cap);
	if (res == WIRE_STR_CUT)
		session_count(s, "postgresql.string_cut");
	else if (res == WIRE_STR_NO_MEMORY)
		session_count(s, "postgresql.out_of_memory");
}

static bool reader_is(const struct reader *r, const char *s)
{
	size_t n = strlen(s);
	return rd_remaining(r) == n && rd_starts_with(r, s, n);
}

/* Appends v to a capped list of strings. */
static void add_str(struct session *s, struct wire_str *list, uint32_t *n, uint32_t *truncated,
                    uint32_t cap, struct reader v, size_t len_cap, const char *counter)
{
	if (*n >= cap) {
		(*truncated)++;
		session_count(s, counter);
		return;
	}
	set_str(s, &list[(*n)++], v, len_cap);
}

/* ---- framing ---- */

/* Startup-phase client messages: length (itself included), no type. */
static long startup_length(struct reader h, void *arg)
{
	(void)arg;
	if (!rd_has(&h, 4))
		return 0;
	uint32_t len = rd_be32(&h);
	if (len < 8 || len > PG_MAX_STARTUP)
		return -1;
	return (long)len;
}

/* Typed messages: a known type byte, then the length (itself included). */
static long typed_length(struct reader h, void *arg)
{
	const struct value_name *types = arg;
	int t = rd_peek(&h, 0);
	if (t < 0)
		return 0;
	if (type_index(types, (unsigned)t) < 0)
		return -1;
	if (!rd_has(&h, 5))
		return 0;
	rd_skip(&h, 1);
	uint32_t len = rd_be32(&h);
	if (len < 4 || len > 0x7fffffffu - 1)
		return -1;
	return (long)len + 1;
}

/* ---- client ---- */

static void startup_param(struct pg_state *st, struct session *s, struct reader name,
                          struct reader value)
{
	struct wire_str *w = NULL;
	if (reader_is(&name, "user"))
		w = &st->user;
	else if (reader_is(&name, "database"))
		w = &st->database;
	else if (reader_is(&name, "application_name"))
		w = &st->application_name;
	else if (reader_is(&name, "client_encoding"))
		w = &st->client_encoding;
	if (w) {
		set_str(s, w, value, PG_MAX_VALUE);
		return;
	}
	if (st->n_params >= PG_MAX_PARAMS) {
		st->params_truncated++;
		session_count(s, "postgresql.too_many_parameters");
		return;
	}
	struct pg_pair *p = &st->params[st->n_params++];
	set_str(s, &p->name, name, PG_MAX_NAME);
	set_str(s, &p->value, value, PG_MAX_VALUE);
}

static void startup_message(struct pg_state *st, struct session *s, struct reader r)
{
	st->startup = true;
	st->startup_done = true;
	if (st->proto >> 16 != 3) {
		/* protocol 2.0 and older: fixed fields, not read */
		session_count(s, "postgresql.old_protocol");
		return;
	}
	for (;;) {
		struct reader name = take_cstr(&r);
		if (!rd_ok(&r))
			break;
		if (!rd_remaining(&name))
			return; /* the terminating empty name */
		struct reader value = take_cstr(&r);
		if (!rd_ok(&r))
			break;
		startup_param(st, s, name, value);
	}
	malformed(st, s);
}

static void untyped_message(struct pg_state *st, struct session *s, struct reader r)
{
	uint32_t len = rd_be32(&r);
	uint32_t code = rd_be32(&r);
	(void)len;
	switch (code) {
	case PG_SSL_CODE:
		count_type(st, DIR_CLIENT, T_SSL_REQUEST);
		st->ssl = ENC_PENDING;
		if (rd_remaining(&r))
			malformed(st, s);
		return;
	case PG_GSSENC_CODE:
		count_type(st, DIR_CLIENT, T_GSSENC_REQUEST);
		st->gssenc = ENC_PENDING;
		if (rd_remaining(&r))
			malformed(st, s);
		return;
	case PG_CANCEL_CODE:
		count_type(st, DIR_CLIENT, T_CANCEL_REQUEST);
		st->cancel = true;
		st->cancel_pid = rd_be32(&r); /* the secret key that follows is not kept */
		st->startup_done = true;
		if (!rd_ok(&r))
			malformed(st, s);
		return;
	default:
		count_type(st, DIR_CLIENT, T_STARTUP);
		st->proto = code;
		startup_message(st, s, r);
		return;
	}
}

/* A 'p' message: its meaning comes from the authentication requests seen
 * (a server asks for one method per connection; the set, not the latest
 * request, decides, so the answer is read right whatever the order in which
 * the two directions were delivered). */
static void password_message(struct pg_state *st, struct session *s, struct reader r)
{
	uint32_t asked = st->asked;
	if (asked & (1u << AUTH_SASL)) {
		if (!st->sasl_started) {
			count_type(st, DIR_CLIENT, T_SASL_INITIAL);
			st->sasl_started = true;
			struct reader mech = take_cstr(&r);
			if (!rd_ok(&r)) {
				malformed(st, s);
				return;
			}
			set_str(s, &st->sasl_mechanism, mech, PG_MAX_NAME);
			/* the initial response (a SCRAM client-first message) is not kept */
		} else {
			count_type(st, DIR_CLIENT, T_SASL_RESPONSE);
		}
		return;
	}
	if (asked & (1u << AUTH_GSS | 1u << AUTH_GSS_CONTINUE | 1u << AUTH_SSPI)) {
		count_type(st, DIR_CLIENT, T_GSS_RESPONSE);
		return;
	}
	count_type(st, DIR_CLIENT, 'p');
	if (asked & (1u << AUTH_CLEARTEXT)) {
		struct reader pw = take_cstr(&r);
		if (!rd_ok(&r)) {
			malformed(st, s);
			return;
		}
		session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
		session_count(s, "postgresql.cleartext_password");
		st->cleartext = true;
		if (session_show_credentials(s))
			set_str(s, &st->password, pw, PG_MAX_NAME);
		return;
	}
	if (!(asked & (1u << AUTH_MD5 | 1u << AUTH_CRYPT))) {
		/* the request was not seen: what this answers is unknown */
		session_count(s, "postgresql.password_unknown_method");
	}
	/* an MD5 (or crypt) hash: not a cleartext password, never shown */
}

static void client_message(struct pg_state *st, struct session *s, struct reader m)
{
	uint8_t type = rd_u8(&m);
	rd_skip(&m, 4);
	struct reader body = rd_rest(&m);
	if (type != 'p')
		count_type(st, DIR_CLIENT, type);
	switch (type) {
	case 'Q': {
		struct reader q = take_cstr(&body);
		if (!rd_ok(&body)) {
			malformed(st, s);
			return;
		}
		add_str(s, st->queries, &st->n_queries, &st->queries_truncated, PG_MAX_QUERIES, q,
		        PG_MAX_QUERY, "postgresql.too_many_queries");
		return;
	}
	case 'P': {
		take_cstr(&body); /* the statement name */
		struct reader q = take_cstr(&body);
		if (!rd_ok(&body)) {
			malformed(st, s);
			return;
		}
		add_str(s, st->statements, &st->n_statements, &st->statements_truncated,
		        PG_MAX_STATEMENTS, q, PG_MAX_QUERY, "postgresql.too_many_statements");
		return;
	}
	case 'p':
		password_message(st, s, body);
		return;
	case 'X':
		st->terminated = true;
		return;
	default:
		return;
	}
}

/* ---- server ---- */

static void auth_request(struct pg_state *st, struct session *s, struct reader r)
{
	uint32_t code = rd_be32(&r);
	if (!rd_ok(&r)) {
		malformed(st, s);
		return;
	}
	st->auth_seen = true;
	if (code < 32)
		st->asked |= 1u << code;
	if (st->n_auth_req < PG_MAX_AUTH) {
		st->auth_req[st->n_auth_req++] = code > 255 ? 255 : (uint8_t)code;
	} else {
		st->auth_req_truncated++;
		session_count(s, "postgresql.too_many_auth_requests");
	}
	if (code == AUTH_OK) {
		st->auth_ok = true;
		return;
	}
	if (code != AUTH_SASL)
		return;
	for (;;) {
		struct reader mech = take_cstr(&r);
		if (!rd_ok(&r)) {
			malformed(st, s);
			return;
		}
		if (!rd_remaining(&mech))
			return;
		add_str(s, st->mechs, &st->n_mechs, &st->mechs_truncated, PG_MAX_MECHS, mech,
		        PG_MAX_NAME, "postgresql.too_many_mechanisms");
	}
}

static void parameter_status(struct pg_state *st, struct session *s, struct reader r)
{
	struct reader name = take_cstr(&r);
	struct reader value = take_cstr(&r);
	if (!rd_ok(&r)) {
		malformed(st, s);
		return;
	}
	/* a parameter reported again (SET) replaces its value */
	for (uint32_t i = 0; i < st->n_sparams; i++) {
		struct wire_str *n = &st->sparams[i].name;
		if (n->p && n->len == rd_remaining(&name) && rd_starts_with(&name, n->p, n->len)) {
			set_str(s, &st->sparams[i].value, value, PG_MAX_VALUE);
			return;
		}
	}
	if (st->n_sparams >= PG_MAX_SERVER_PARAMS) {
		st->sparams_truncated++;
		session_count(s, "postgresql.too_many_server_parameters");
		return;
	}
	struct pg_pair *p = &st->sparams[st->n_sparams++];
	set_str(s, &p->name, name, PG_MAX_NAME);
	set_str(s, &p->value, value, PG_MAX_VALUE);
}

/* ErrorResponse / NoticeResponse: fields of a type byte and a string. */
static void error_fields(struct pg_state *st, struct session *s, struct reader r,
                         struct pg_error *e)
{
	struct reader localized = rd_init(NULL, 0);
	bool have_v = false, have_s = false;
	for (;;) {
		uint8_t f = rd_u8(&r);
		if (!rd_ok(&r) || f == 0)
			break;
		struct reader v = take_cstr(&r);
		if (!rd_ok(&r))
			break;
		if (f == 'V') {
			set_str(s, &e->severity, v, PG_MAX_NAME);
			have_v = true;
		} else if (f == 'S') {
			localized = v;
			have_s = true;
		} else if (f == 'C') {
			set_str(s, &e->code, v, PG_MAX_NAME);
		} else if (f == 'M') {
			set_str(s, &e->message, v, PG_MAX_TEXT);
		}
	}
	if (!have_v && have_s)
		set_str(s, &e->severity, localized, PG_MAX_NAME);
	if (!rd_ok(&r))
		malformed(st, s);
}

static void error_response(struct pg_state *st, struct session *s, struct reader r, bool notice)
{
	struct pg_error *list = notice ? st->notices : st->errors;
	uint32_t *n = notice ? &st->n_notices : &st->n_errors;
	uint32_t cap = notice ? PG_MAX_NOTICES : PG_MAX_ERRORS;
	if (!notice && (st->startup || st->auth_seen) && !st->auth_ok)
		st->auth_failed = true; /* a login refused (bad password, no such db, ...) */
	if (*n >= cap) {
		if (notice) {
			st->notices_truncated++;
			session_count(s, "postgresql.too_many_notices");
		} else {
			st->errors_truncated++;
			session_count(s, "postgresql.too_many_errors");
		}
		return;
	}
	error_fields(st, s, r, &list[(*n)++]);
}

static void server_message(struct pg_state *st, struct session *s, struct reader m)
{
	uint8_t type = rd_u8(&m);
	rd_skip(&m, 4);
	struct reader body = rd_rest(&m);
	count_type(st, DIR_SERVER, type);
	switch (type) {
	case 'R':
		auth_request(st, s, body);
		return;
	case 'S':
		parameter_status(st, s, body);
		return;
	case 'K':
		st->key_data = true;
		st->backend_pid = rd_be32(&body); /* the secret key is not kept */
		if (!rd_ok(&body))
			malformed(st, s);
		return;
	case 'E':
	case 'N':
		error_response(st, s, body, type == 'N');
		return;
	case 'Z':
		st->ready++;
		st->tx_status = rd_u8(&body);
		return;
	case 'C': {
		struct reader tag = take_cstr(&body);
		if (!rd_ok(&body)) {
			malformed(st, s);
			return;
		}
		add_str(s, st->tags, &st->n_tags, &st->tags_truncated, PG_MAX_TAGS, tag,
		        PG_MAX_NAME, "postgresql.too_many_tags");
		return;
	}
	case 'v':
		st->negotiated = true;
		st->negotiated_minor = rd_be32(&body);
		return;
	default:
		return;
	}
}

/* ---- the stream ---- */

/* The server's one-byte answer to an SSLRequest or GSSENCRequest.  Returns
 * false when nothing more is to be read from this stream. */
static bool enc_answer(struct pg_state *st, struct session *s, struct reader *r)
{
	enum enc_answer *a = st->ssl == ENC_PENDING ? &st->ssl : &st->gssenc;
	bool gss = a == &st->gssenc;
	int c = rd_peek(r, 0);
	if (c == 'N') {
		rd_skip(r, 1);
		*a = ENC_REFUSED;
		return true;
	}
	if (c == (gss ? 'G' : 'S')) {
		rd_skip(r, 1);
		*a = ENC_ACCEPTED;
		if (gss) {
			/* GSSAPI-wrapped packets from here on: not read */
			st->gss_encrypted = true;
			st->dead[DIR_CLIENT] = st->dead[DIR_SERVER] = true;
			session_count(s, "postgresql.gssenc_not_dissected");
			return false;
		}
		if (session_handoff(s, "tls")) {
			st->handed_off = true;
			return false;
		}
		session_count(s, "postgresql.ssl_not_dissected");
		st->dead[DIR_CLIENT] = st->dead[DIR_SERVER] = true;
		return false;
	}
	/* an old server's ErrorResponse, or garbage: read as messages */
	*a = c == 'E' ? ENC_ERROR : ENC_REFUSED;
	if (c != 'E')
		malformed(st, s);
	return true;
}

static bool enc_pending(const struct pg_state *st)
{
	return st->ssl == ENC_PENDING || st->gssenc == ENC_PENDING;
}

static size_t pg_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct pg_state *st = state;
	if (st->dead[dir] || st->handed_off)
		return rd_remaining(&r);
	struct pdu_state *ps = &st->pdus[dir];
	if (!ps->max_pdu)
		ps->max_pdu = PG_MAX_MESSAGE;
	if (dir == DIR_SERVER && !st->server_started && rd_has(&r, 2)) {
		/* picked up without the client's request: an 'N' before an
		 * authentication request or error, an 'S' before a TLS record */
		st->server_started = true;
		int c0 = rd_peek(&r, 0), c1 = rd_peek(&r, 1);
		if (!enc_pending(st) &&
		    ((c0 == 'N' && (c1 == 'R' || c1 == 'E')) || (c0 == 'S' && c1 == 0x16)))
			st->ssl = ENC_PENDING;
	}
	for (;;) {
		if (dir == DIR_SERVER && enc_pending(st) && rd_remaining(&r) && !ps->skip_left) {
			if (!enc_answer(st, s, &r)) {
				if (st->handed_off)
					return rd_offset(&r);
				return rd_offset(&r) + rd_remaining(&r);
			}
			continue;
		}
		bool untyped = dir == DIR_CLIENT && !st->startup_done;
		if (untyped && !enc_pending(st) && rd_peek(&r, 0) > 0) {
			/* startup-phase lengths are under 10000, so they begin with
			 * a zero byte: a letter is a typed message of a connection
			 * picked up after its start */
			st->startup_done = true;
			session_count(s, "postgresql.midstream");
			untyped = false;
		}
		if (untyped && enc_pending(st) && rd_peek(&r, 0) == 0x16) {
			/* a TLS ClientHello before the server's 'S' was seen: wait
			 * for it, within a bound (the server side may be missing) */
			if (rd_remaining(&r) < PG_MAX_WAIT_ANSWER)
				return rd_offset(&r);
			st->ssl = ENC_ACCEPTED;
			session_count(s, "postgresql.ssl_answer_missing");
			if (session_handoff(s, "tls")) {
				st->handed_off = true;
				return rd_offset(&r);
			}
			st->dead[DIR_CLIENT] = st->dead[DIR_SERVER] = true;
			return rd_offset(&r) + rd_remaining(&r);
		}
		struct reader m;
		enum frame_result fr =
		    untyped ? pdu_next(ps, &r, startup_length, NULL, &m)
		            : pdu_next(ps, &r, typed_length, (void *)types_of(dir), &m);
		if (fr == FRAME_TOO_BIG) {
			if (!st->too_big)
				session_alert(s, ALERT_TRUNCATED);
			st->too_big = true;
			session_count(s, "postgresql.message_too_big");
			continue;
		}
		if (fr == FRAME_ERROR) {
			/* out of sync: this direction is not read any further */
			malformed(st, s);
			st->dead[dir] = true;
			return rd_offset(&r) + rd_remaining(&r);
		}
		if (fr != FRAME_OK)
			break;
		if (untyped)
			untyped_message(st, s, m);
		else if (dir == DIR_CLIENT)
			client_message(st, s, m);
		else
			server_message(st, s, m);
	}
	return rd_offset(&r);
}

static void pg_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct pg_state *st = state;
	st->gap = true;
	if (!pdu_gap(&st->pdus[dir], missing)) {
		/* no way to find the next message: stop reading this side */
		st->dead[dir] = true;
		session_count(s, "postgresql.gap");
	}
}

/* ---- probe ---- */

/* A printable name ending with NUL in the next bytes: YES, NO, or NEED_MORE
 * when the bytes end first.  At most max bytes before the NUL. */
static enum verdict printable_cstr(const struct reader *r, size_t at, size_t max)
{
	for (size_t i = 0; i <= max; i++) {
		int c = rd_peek(r, at + i);
		if (c < 0)
			return VERDICT_NEED_MORE;
		if (c == 0)
			return i ? VERDICT_YES : VERDICT_NO;
		if (c < 0x20 || c > 0x7e)
			return VERDICT_NO;
	}
	return VERDICT_NO;
}

static enum verdict probe_client(struct reader r)
{
	if (!rd_has(&r, 8)) {
		/* lengths are small: the first two bytes are zero */
		for (size_t i = 0; i < 2; i++) {
			int c = rd_peek(&r, i);
			if (c > 0)
				return VERDICT_NO;
		}
		return VERDICT_NEED_MORE;
	}
	uint32_t len = rd_be32(&r);
	uint32_t code = rd_be32(&r);
	if (code == PG_SSL_CODE || code == PG_GSSENC_CODE)
		return len == 8 ? VERDICT_YES : VERDICT_NO;
	if (code == PG_CANCEL_CODE)
		return len == 16 ? VERDICT_YES : VERDICT_NO;
	if (code >> 16 != 3 || (code & 0xffff) > 16 || len < 12 || len > PG_MAX_STARTUP)
		return VERDICT_NO;
	/* the first parameter name: "user", "database", ... */
	enum verdict v = printable_cstr(&r, 0, 64);
	if (v == VERDICT_NEED_MORE && len > rd_length(&r))
		return rd_length(&r) >= 2048 ? VERDICT_NO : VERDICT_NEED_MORE;
	return v == VERDICT_YES ? VERDICT_YES : VERDICT_NO;
}

/* The server's first message: an authentication request or an error. */
static enum verdict probe_server_message(struct reader r)
{
	int type = rd_peek(&r, 0);
	if (!rd_has(&r, 9))
		return VERDICT_NEED_MORE;
	rd_skip(&r, 1);
	uint32_t len = rd_be32(&r); /* the cursor is now on the body */
	if (type == 'R') {
		uint32_t code = rd_be32(&r);
		switch (code) {
		case AUTH_OK:
		case AUTH_KERBEROS_V5:
		case AUTH_CLEARTEXT:
		case AUTH_SCM:
		case AUTH_GSS:
		case AUTH_SSPI:
			return len == 8 ? VERDICT_YES : VERDICT_NO;
		case AUTH_MD5:
			return len == 12 ? VERDICT_YES : VERDICT_NO;
		case AUTH_SASL:
			if (len < 10 || len > 1024)
				return VERDICT_NO;
			return printable_cstr(&r, 0, 64); /* "SCRAM-SHA-256" */
		default:
			return VERDICT_NO;
		}
	}
	/* 'E': fields; the first is the severity 'S' (or 'V'), e.g. "FATAL" */
	if (len < 8 || len > 4096)
		return VERDICT_NO;
	int f = rd_u8(&r);
	if (f != 'S' && f != 'V')
		return VERDICT_NO;
	enum verdict v = printable_cstr(&r, 0, 32);
	if (v != VERDICT_YES)
		return v;
	for (size_t i = 0; rd_peek(&r, i) != 0; i++) {
		int c = rd_peek(&r, i);
		if (c < 'A' || c > 'Z')
			return VERDICT_NO; /* severities are upper case: ERROR, FATAL */
	}
	return VERDICT_YES;
}

static enum verdict pg_probe(struct reader r, enum direction dir)
{
	int first = rd_peek(&r, 0);
	if (first < 0)
		return VERDICT_NEED_MORE;
	if (dir == DIR_CLIENT || first == 0)
		return probe_client(r);
	/* the answer to an SSLRequest / GSSENCRequest, then what follows it */
	if (first == 'S' || first == 'N' || first == 'G') {
		int next = rd_peek(&r, 1);
		if (next < 0)
			return VERDICT_NEED_MORE;
		if (first == 'S' && next == 0x16)
			return rd_peek(&r, 2) < 0    ? VERDICT_NEED_MORE
			       : rd_peek(&r, 2) == 3 ? VERDICT_YES
			                             : VERDICT_NO;
		if (first == 'N' && (next == 'R' || next == 'E')) {
			rd_skip(&r, 1);
			return probe_server_message(r);
		}
		return VERDICT_NO;
	}
	if (first == 'R' || first == 'E')
		return probe_server_message(r);
	return VERDICT_NO;
}

/* ---- output ---- */

static void emit_ws(struct emitter *e, const char *key, const struct wire_str *w)
{
	if (w->p)
		emit_strn(e, key, w->p, w->len);
}

static void emit_list(struct emitter *e, const char *key, const struct wire_str *list, uint32_t n,
                      uint32_t truncated, const char *tkey)
{
	if (!n)
		return;
	emit_array_begin(e, key);
	for (uint32_t i = 0; i < n; i++)
		emit_strn(e, NULL, list[i].p ? list[i].p : "", list[i].len);
	emit_array_end(e);
	if (truncated)
		emit_int(e, tkey, truncated);
}

static void emit_pairs(struct emitter *e, const char *key, const struct pg_pair *p, uint32_t n,
                       uint32_t truncated, const char *tkey)
{
	if (!n)
		return;
	emit_array_begin(e, key);
	for (uint32_t i = 0; i < n; i++) {
		emit_object_begin(e, NULL);
		emit_strn(e, "name", p[i].name.p ? p[i].name.p : "", p[i].name.len);
		emit_strn(e, "value", p[i].value.p ? p[i].value.p : "", p[i].value.len);
		emit_object_end(e);
	}
	emit_array_end(e);
	if (truncated)
		emit_int(e, tkey, truncated);
}

static void emit_errors(struct emitter *e, const char *key, const struct pg_error *er, uint32_t n,
                        uint32_t truncated, const char *tkey)
{
	if (!n)
		return;
	emit_array_begin(e, key);
	for (uint32_t i = 0; i < n; i++) {
		emit_object_begin(e, NULL);
		if (er[i].severity.p)
			emit_strn(e, "severity", er[i].severity.p, er[i].severity.len);
		else
			emit_null(e, "severity");
		if (er[i].code.p)
			emit_strn(e, "code", er[i].code.p, er[i].code.len);
		else
			emit_null(e, "code");
		emit_strn(e, "message", er[i].message.p ? er[i].message.p : "", er[i].message.len);
		emit_object_end(e);
	}
	emit_array_end(e);
	if (truncated)
		emit_int(e, tkey, truncated);
}

static const struct wire_str *server_param(const struct pg_state *st, const char *name)
{
	size_t n = strlen(name);
	for (uint32_t i = 0; i < st->n_sparams; i++)
		if (st->sparams[i].name.p && st->sparams[i].name.len == n &&
		    !memcmp(st->sparams[i].name.p, name, n))
			return &st->sparams[i].value;
	return NULL;
}

static void emit_counts(struct emitter *e, const char *key, const struct value_name *types,
                        const uint32_t *counts)
{
	bool any = false;
	for (int i = 0; types[i].name; i++)
		any = any || counts[i];
	if (!any)
		return;
	emit_object_begin(e, key);
	for (int i = 0; types[i].name; i++)
		if (counts[i])
			emit_int(e, types[i].name, counts[i]);
	emit_object_end(e);
}

static void pg_emit(const void *state, struct emitter *e)
{
	const struct pg_state *st = state;
	if (st->ssl)
		emit_str(e, "ssl", enc_answer_names[st->ssl]);
	if (st->gssenc)
		emit_str(e, "gssenc", enc_answer_names[st->gssenc]);
	if (st->handed_off)
		emit_bool(e, "starttls", true);
	if (st->cancel) {
		emit_object_begin(e, "cancel_request");
		emit_int(e, "pid", st->cancel_pid);
		emit_object_end(e);
	}
	if (st->startup) {
		char v[24];
		snprintf(v, sizeof v, "%u.%u", (unsigned)(st->proto >> 16),
		         (unsigned)(st->proto & 0xffff));
		emit_str(e, "protocol_version", v);
	}
	emit_ws(e, "user", &st->user);
	emit_ws(e, "database", &st->database);
	emit_ws(e, "application_name", &st->application_name);
	emit_ws(e, "client_encoding", &st->client_encoding);
	emit_pairs(e, "startup_parameters", st->params, st->n_params, st->params_truncated,
	           "startup_parameters_truncated");
	if (st->n_auth_req) {
		const char *first = value_name_lookup(auth_names, st->auth_req[0]);
		emit_str(e, "auth", first ? first : "unknown");
		emit_array_begin(e, "auth_requests");
		for (uint32_t i = 0; i < st->n_auth_req; i++) {
			const char *n = value_name_lookup(auth_names, st->auth_req[i]);
			emit_str(e, NULL, n ? n : "unknown");
		}
		emit_array_end(e);
		if (st->auth_req_truncated)
			emit_int(e, "auth_requests_truncated", st->auth_req_truncated);
	}
	emit_list(e, "sasl_mechanisms", st->mechs, st->n_mechs, st->mechs_truncated,
	          "sasl_mechanisms_truncated");
	emit_ws(e, "sasl_mechanism", &st->sasl_mechanism);
	if (st->auth_seen || st->auth_failed)
		emit_bool(e, "auth_ok", st->auth_ok);
	if (st->cleartext)
		emit_bool(e, "cleartext_password", true);
	if (st->password.p)
		emit_strn(e, "password", st->password.p, st->password.len);
	const struct wire_str *ver = server_param(st, "server_version");
	if (ver)
		emit_ws(e, "server_version", ver);
	emit_pairs(e, "server_parameters", st->sparams, st->n_sparams, st->sparams_truncated,
	           "server_parameters_truncated");
	if (st->key_data)
		emit_int(e, "backend_pid", st->backend_pid);
	if (st->negotiated)
		emit_int(e, "negotiated_minor_version", st->negotiated_minor);
	emit_list(e, "queries", st->queries, st->n_queries, st->queries_truncated,
	          "queries_truncated");
	emit_list(e, "statements", st->statements, st->n_statements, st->statements_truncated,
	          "statements_truncated");
	emit_list(e, "command_tags", st->tags, st->n_tags, st->tags_truncated,
	          "command_tags_truncated");
	emit_errors(e, "errors", st->errors, st->n_errors, st->errors_truncated,
	            "errors_truncated");
	emit_errors(e, "notices", st->notices, st->n_notices, st->notices_truncated,
	            "notices_truncated");
	if (st->ready) {
		emit_int(e, "ready_for_query", st->ready);
		const char *tx = st->tx_status == 'I'   ? "idle"
		                 : st->tx_status == 'T' ? "in-transaction"
		                 : st->tx_status == 'E' ? "failed"
		                                        : "unknown";
		emit_str(e, "transaction_status", tx);
	}
	if (st->terminated)
		emit_bool(e, "terminated", true);
	bool any = false;
	for (int d = 0; d < 2; d++)
		for (int i = 0; i < N_TYPES; i++)
			any = any || st->counts[d][i];
	if (any) {
		emit_object_begin(e, "messages");
		emit_counts(e, "client", client_types, st->counts[DIR_CLIENT]);
		emit_counts(e, "server", server_types, st->counts[DIR_SERVER]);
		emit_object_end(e);
	}
	if (st->gss_encrypted)
		emit_bool(e, "gss_encrypted", true);
	if (st->malformed)
		emit_bool(e, "malformed", true);
	if (st->too_big)
		emit_bool(e, "too_big", true);
	if (st->gap)
		emit_bool(e, "gap", true);
}

static void pg_summarize(const void *state, char *buf, size_t n)
{
	const struct pg_state *st = state;
	struct summary sm = summary_start(buf, n);
	summary_add(&sm, "PostgreSQL");
	const struct wire_str *ver = server_param(st, "server_version");
	if (ver && ver->p) {
		summary_add(&sm, " ");
		summary_add_wire(&sm, ver->p, ver->len);
	}
	if (st->ssl == ENC_ACCEPTED)
		summary_add(&sm, " SSL");
	if (st->gss_encrypted)
		summary_add(&sm, " GSSENC");
	if (st->cancel)
		summary_addf(&sm, " cancel pid=%u", (unsigned)st->cancel_pid);
	if (st->user.p) {
		summary_add(&sm, " user=");
		summary_add_wire(&sm, st->user.p, st->user.len);
	}
	if (st->database.p) {
		summary_add(&sm, " db=");
		summary_add_wire(&sm, st->database.p, st->database.len);
	}
	if (st->sasl_mechanism.p) {
		/* "SCRAM-SHA-256" -> "scram-sha-256", as pg_hba.conf names it */
		char mech[PG_MAX_NAME + 1];
		size_t len =
		    st->sasl_mechanism.len < PG_MAX_NAME ? st->sasl_mechanism.len : PG_MAX_NAME;
		for (size_t i = 0; i < len; i++) {
			char c = st->sasl_mechanism.p[i];
			mech[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
		}
		summary_add(&sm, " auth=");
		summary_add_wire(&sm, mech, len);
	} else if (st->n_auth_req) {
		const char *a = value_name_lookup(auth_names, st->auth_req[0]);
		summary_add(&sm, " auth=");
		summary_add(&sm, a ? a : "unknown");
	}
	if (st->auth_failed)
		summary_add(&sm, " login-failed");
	uint32_t q = st->n_queries + st->queries_truncated;
	if (q)
		summary_addf(&sm, " %u quer%s", (unsigned)q, q == 1 ? "y" : "ies");
	uint32_t p = st->n_statements + st->statements_truncated;
	if (p)
		summary_addf(&sm, " %u statement%s", (unsigned)p, p == 1 ? "" : "s");
	uint32_t er = st->n_errors + st->errors_truncated;
	if (er)
		summary_addf(&sm, " %u error%s", (unsigned)er, er == 1 ? "" : "s");
}

static void free_pairs(struct pg_pair *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		wire_str_free(&p[i].name);
		wire_str_free(&p[i].value);
	}
}

static void free_errors(struct pg_error *e, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		wire_str_free(&e[i].severity);
		wire_str_free(&e[i].code);
		wire_str_free(&e[i].message);
	}
}

static void free_list(struct wire_str *w, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		wire_str_free(&w[i]);
}

static void pg_release(void *state)
{
	struct pg_state *st = state;
	wire_str_free(&st->user);
	wire_str_free(&st->database);
	wire_str_free(&st->application_name);
	wire_str_free(&st->client_encoding);
	wire_str_free(&st->sasl_mechanism);
	wire_str_free(&st->password);
	free_pairs(st->params, st->n_params);
	free_pairs(st->sparams, st->n_sparams);
	free_list(st->mechs, st->n_mechs);
	free_list(st->queries, st->n_queries);
	free_list(st->statements, st->n_statements);
	free_list(st->tags, st->n_tags);
	free_errors(st->errors, st->n_errors);
	free_errors(st->notices, st->n_notices);
}

static const uint16_t pg_ports[] = {5432, 0};

const struct dissector postgresql_dissector = {
    .name = "postgresql",
    .transports = TRANSPORT_BIT_TCP,
    .ports = pg_ports,
    .state_size = sizeof(struct pg_state),
    .probe = pg_probe,
    .on_data = pg_on_data,
    .on_gap = pg_on_gap,
    .on_end = NULL,
    .emit = pg_emit,
    .summarize = pg_summarize,
    .protocol_name = NULL,
    .release = pg_release,
};
