/* TDS, Microsoft SQL Server's Tabular Data Stream (MS-TDS), and the
 * Sybase TDS 5.0 it came from.
 *
 * Every message travels in packets with an 8-byte header (2.2.3.1): type,
 * status (bit 0: end of message), a 16-bit big-endian length including
 * the header, SPID, packet id, window.  The core's PDU framer cuts the
 * packets; messages are put together here until EOM (bounded by
 * TDS_MAX_MESSAGE: only their first bytes are read).
 *
 * A connection starts with PRELOGIN (0x12) from each side: option tokens
 * (VERSION, ENCRYPTION, INSTOPT, THREADID, MARS, ...).  The server's
 * ENCRYPTION answer decides: NOT_SUP leaves everything in clear; OFF still
 * encrypts the LOGIN7 message (and only it); ON and REQ encrypt everything.
 * The TLS handshake then travels inside further PRELOGIN packets, and the
 * encrypted records after it travel bare on TCP; both are fed to the
 * shared TLS facts (include/portolan/tls.h), written as a "tls" object
 * inside this one.  Bare TLS records are told from TDS packets by their
 * first bytes (content types 0x14-0x17 then 0x03, no TDS packet type).
 *
 * TDS 8.0 ("strict" encryption) starts with TLS before any TDS byte.  On
 * 1433 this dissector's probe is tried first: it claims a ClientHello that
 * offers the ALPN "tds/8.0" and hands the stream to the TLS dissector at
 * once, so the record says protocol "tds" with a top-level "tls" object.
 * A TLS session on 1433 without that ALPN is left to the TLS probe (nothing
 * on the wire says it is TDS).
 *
 * A readable LOGIN7 (2.2.6.4) gives host, user, app, server, library,
 * language and database (UCS-2LE at offsets in its fixed part); its
 * password is only XOR/nibble-swap obfuscated, so it is a cleartext
 * credential (alert; the decoded password only with --show-credentials).
 * SQL batches (after ALL_HEADERS) and TDS 5 language tokens give the query
 * texts, RPC requests the procedure names, and the server's tokens the
 * LOGINACK (TDS version, server program), ENVCHANGE (database) and ERROR
 * messages.  A TDS 5 login record (type 2) is read for user, host, server,
 * app, library and its password, which TDS 5 sends in clear.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/framing.h"
#include "portolan/summary.h"
#include "portolan/tls.h"
#include "portolan/wirestr.h"

/* A packet over this is skipped unread (TDS packets are at most 32767). */
#define TDS_MAX_PACKET (64 * 1024)
/* Bytes of a message kept for reading (a LOGIN7 is well under this; of a
 * long batch or result only the start is read). */
#define TDS_MAX_MESSAGE 8192
/* TLS bytes kept while a record is incomplete. */
#define TDS_MAX_TLS_BUFFER (64 * 1024)
/* Characters kept of a login string, and of a query. */
#define TDS_MAX_NAME 128
#define TDS_MAX_QUERY 256
/* Queries, RPC names and errors kept. */
#define TDS_MAX_QUERIES 8
#define TDS_MAX_RPCS 8
#define TDS_MAX_ERRORS 8

enum {
	T_SQL_BATCH = 0x01,
	T_LOGIN5 = 0x02,
	T_RPC = 0x03,
	T_RESULT = 0x04,
	T_ATTENTION = 0x06,
	T_BULK = 0x07,
	T_FEDAUTH = 0x08,
	T_TRANSACTION = 0x0e,
	T_QUERY5 = 0x0f,
	T_LOGIN7 = 0x10,
	T_SSPI = 0x11,
	T_PRELOGIN = 0x12,
};

/* In the order of a connection's life (packet_types is listed this way). */
static const struct value_name packet_types[] = {
    {T_PRELOGIN, "PRELOGIN"},
    {T_LOGIN7, "LOGIN7"},
    {T_LOGIN5, "TDS4/5 login"},
    {T_SSPI, "SSPI"},
    {T_FEDAUTH, "Federated auth token"},
    {T_SQL_BATCH, "SQL batch"},
    {T_RPC, "RPC"},
    {T_QUERY5, "TDS5 query"},
    {T_BULK, "Bulk load"},
    {T_TRANSACTION, "Transaction manager request"},
    {T_ATTENTION, "Attention"},
    {T_RESULT, "Tabular result"},
    {0, NULL},
};

static const struct value_name encryption_names[] = {
    {0, "ENCRYPT_OFF"},
    {1, "ENCRYPT_ON"},
    {2, "ENCRYPT_NOT_SUP"},
    {3, "ENCRYPT_REQ"},
    {0x20, "ENCRYPT_CLIENT_CERT"},
    {0, NULL},
};

/* TDSVersion of LOGIN7 (read little-endian) and LOGINACK (big-endian). */
static const struct value_name tds_versions[] = {
    {0x70000000, "7.0"}, {0x71000000, "7.1"}, {0x71000001, "7.1"},
    {0x72090002, "7.2"}, {0x730a0003, "7.3"}, {0x730b0003, "7.3"},
    {0x74000004, "7.4"}, {0x08000000, "8.0"}, {0, NULL},
};

/* RPC procedure ids (2.2.6.6, ProcID). */
static const struct value_name proc_ids[] = {
    {1, "sp_cursor"},         {2, "sp_cursoropen"},
    {3, "sp_cursorprepare"},  {4, "sp_cursorexecute"},
    {5, "sp_cursorprepexec"}, {6, "sp_cursorunprepare"},
    {7, "sp_cursorfetch"},    {8, "sp_cursoroption"},
    {9, "sp_cursorclose"},    {10, "sp_executesql"},
    {11, "sp_prepare"},       {12, "sp_execute"},
    {13, "sp_prepexec"},      {14, "sp_prepexecrpc"},
    {15, "sp_unprepare"},     {0, NULL},
};

struct tds_msg {
	uint8_t *buf; /* the message's first bytes, TDS_MAX_MESSAGE at most */
	size_t len;
	uint8_t type;
	bool active, cut;
};

struct tds_tlsbuf {
	uint8_t *p;
	size_t len;
};

struct tds_error {
	uint32_t number;
	struct wire_str message;
};

struct tds_state {
	struct pdu_state pdus[2];
	struct tds_msg msg[2];
	struct tds_tlsbuf tlsb[2];
	struct tls_facts *tls;
	struct wire_str user, app, server, database, host, library, language, password, instance;
	struct wire_str env_database, server_program;
	struct wire_str queries[TDS_MAX_QUERIES];
	struct wire_str rpcs[TDS_MAX_RPCS];
	struct tds_error errors[TDS_MAX_ERRORS];
	uint32_t types; /* bit per packet type seen (types are under 32) */
	uint8_t n_queries, n_rpcs, n_errors;
	uint32_t more_queries, more_rpcs, more_errors;
	uint32_t login_version, ack_version;
	uint8_t enc[2];       /* PRELOGIN ENCRYPTION per side */
	uint8_t pl_ver[2][6]; /* PRELOGIN VERSION per side */
	uint8_t tds5_version[4];
	uint64_t messages[2], packets[2], tls_records[2], opaque_bytes[2];
	bool prelogin[2], have_enc[2], have_ver[2], mars, have_mars;
	bool login7, login5, login_ack, sspi, password_sent;
	bool strict, handed_off, tls_unhandled, lost[2], gap;
};

static const uint16_t tds_ports[] = {1433, 0};

/* ---- small readers ---- */

static void set_str(struct wire_str *w, struct session *s, const char *p, size_t n, size_t cap)
{
	enum wire_str_result r = wire_str_set(w, p, n, cap);
	if (r == WIRE_STR_CUT)
		session_count(s, "tds.string_too_long");
	else if (r == WIRE_STR_NO_MEMORY)
		session_count(s, "tds.out_of_memory");
}

/* UCS-2LE (n characters) to UTF-8, at most max_chars characters; a
 * surrogate or a NUL is written as '?'. */
static void ucs2(struct wire_str *w, struct session *s, struct reader r, size_t n, size_t max_chars)
{
	char out[TDS_MAX_QUERY * 3 + 4];
	size_t o = 0, i;

	for (i = 0; i < n && i < max_chars && rd_remaining(&r) >= 2; i++) {
		uint16_t c = rd_le16(&r);
		if (c < 0x80) {
			out[o++] = c ? (char)c : '?';
		} else if (c < 0x800) {
			out[o++] = (char)(0xc0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c >= 0xd800 && c < 0xe000) {
			out[o++] = '?';
		} else {
			out[o++] = (char)(0xe0 | c >> 12);
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	if (i < n && rd_remaining(&r) >= 2)
		session_count(s, "tds.string_too_long");
	set_str(w, s, out, o, sizeof out);
}

/* ---- PRELOGIN ---- */

static void prelogin(struct tds_state *st, struct session *s, enum direction dir, struct reader p)
{
	struct reader opts = p;

	st->prelogin[dir] = true;
	for (int i = 0; i < 32; i++) {
		uint8_t token = rd_u8(&opts);
		if (token == 0xff)
			return;
		uint16_t off = rd_be16(&opts), len = rd_be16(&opts);
		if (!rd_ok(&opts) || (size_t)off + len > rd_length(&p)) {
			session_alert(s, ALERT_MALFORMED);
			session_count(s, "tds.bad_prelogin");
			return;
		}
		struct reader v = rd_init(p.data + off, len);
		switch (token) {
		case 0: /* VERSION: UL_VERSION (big-endian), US_SUBBUILD */
			if (len >= 6) {
				rd_copy(&v, st->pl_ver[dir], 6);
				st->have_ver[dir] = true;
			}
			break;
		case 1: /* ENCRYPTION */
			if (len >= 1) {
				st->enc[dir] = rd_u8(&v);
				st->have_enc[dir] = true;
			}
			break;
		case 2: /* INSTOPT: a NUL-terminated name */
			if (dir == DIR_CLIENT && len > 1) {
				long nul = rd_find(&v, 0);
				size_t n = nul < 0 ? len : (size_t)nul;
				set_str(&st->instance, s, (const char *)rd_take(&v, n), n,
				        TDS_MAX_NAME);
			}
			break;
		case 4: /* MARS */
			if (len >= 1) {
				st->mars = st->mars || rd_u8(&v) == 1;
				st->have_mars = true;
			}
			break;
		default:
			break;
		}
	}
	session_count(s, "tds.too_many_prelogin_options");
}

/* ---- TLS inside and after PRELOGIN ---- */

static void tls_feed(struct tds_state *st, struct session *s, enum direction dir,
                     struct reader bytes)
{
	struct tds_tlsbuf *b = &st->tlsb[dir];
	size_t n = rd_remaining(&bytes);

	if (!st->tls && !(st->tls = tls_facts_new(false))) {
		session_count(s, "tds.out_of_memory");
		return;
	}
	if (b->len + n > TDS_MAX_TLS_BUFFER) {
		session_count(s, "tds.tls_buffer_full");
		b->len = 0;
		return;
	}
	uint8_t *p = realloc(b->p, b->len + n + 1);
	if (!p) {
		session_count(s, "tds.out_of_memory");
		return;
	}
	b->p = p;
	if (n)
		memcpy(b->p + b->len, rd_take(&bytes, n), n);
	b->len += n;
	size_t used = tls_facts_records(st->tls, s, dir, rd_init(b->p, b->len));
	if (used > b->len)
		used = b->len;
	memmove(b->p, b->p + used, b->len - used);
	b->len -= used;
}

/* ---- LOGIN7 ---- */

/* An (offset, length in characters) pair of LOGIN7's fixed part. */
static void login_string(struct wire_str *w, struct session *s, struct reader login, size_t at)
{
	struct reader f = login;
	rd_seek(&f, at);
	uint16_t off = rd_le16(&f), cch = rd_le16(&f);
	if (!rd_ok(&f) || cch == 0)
		return;
	struct reader v = login;
	rd_seek(&v, off);
	if (!rd_ok(&v) || rd_remaining(&v) < (size_t)cch * 2) {
		session_count(s, "tds.bad_login_offset");
		return;
	}
	ucs2(w, s, v, cch, TDS_MAX_NAME);
}

static void login7(struct tds_state *st, struct session *s, struct reader p)
{
	struct reader f = p;

	rd_skip(&f, 4); /* Length */
	st->login_version = rd_le32(&f);
	rd_skip(&f, 16); /* PacketSize, ClientProgVer, ClientPID, ConnectionID */
	rd_skip(&f, 1);  /* OptionFlags1 */
	uint8_t flags2 = rd_u8(&f);
	if (!rd_ok(&f) || rd_length(&p) < 94 - 4) {
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "tds.bad_login7");
		return;
	}
	st->login7 = true;
	login_string(&st->host, s, p, 36);
	login_string(&st->user, s, p, 40);
	login_string(&st->app, s, p, 48);
	login_string(&st->server, s, p, 52);
	login_string(&st->library, s, p, 60);
	login_string(&st->language, s, p, 64);
	login_string(&st->database, s, p, 68);
	struct reader sspi = p;
	rd_seek(&sspi, 80);
	uint16_t cb_sspi = rd_le16(&sspi);
	st->sspi = (flags2 & 0x80) || (rd_ok(&sspi) && cb_sspi);

	/* the password: each byte XOR 0xA5, then its nibbles swapped */
	struct reader pw = p;
	rd_seek(&pw, 44);
	uint16_t off = rd_le16(&pw), cch = rd_le16(&pw);
	if (rd_ok(&pw) && cch) {
		st->password_sent = true;
		session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
		struct reader v = p;
		rd_seek(&v, off);
		if (session_show_credentials(s) && rd_ok(&v) &&
		    rd_remaining(&v) >= (size_t)cch * 2) {
			uint8_t plain[TDS_MAX_NAME * 2];
			size_t n = (size_t)cch * 2 < sizeof plain ? (size_t)cch * 2 : sizeof plain;
			for (size_t i = 0; i < n; i++) {
				uint8_t b = rd_u8(&v) ^ 0xa5;
				plain[i] = (uint8_t)(b << 4 | b >> 4);
			}
			ucs2(&st->password, s, rd_init(plain, n), n / 2, TDS_MAX_NAME);
		}
	}
}

/* ---- TDS 5 login record ---- */

/* A fixed field of n bytes followed by its length byte. */
static void login5_field(struct wire_str *w, struct session *s, struct reader p, size_t at,
                         size_t n)
{
	struct reader f = p;
	rd_seek(&f, at + n);
	uint8_t len = rd_u8(&f);
	if (!rd_ok(&f) || len == 0)
		return;
	if (len > n)
		len = (uint8_t)n;
	set_str(w, s, (const char *)p.data + at, len, TDS_MAX_NAME);
}

static void login5(struct tds_state *st, struct session *s, struct reader p)
{
	if (rd_length(&p) < 202) {
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "tds.bad_login5");
		return;
	}
	st->login5 = true;
	login5_field(&st->host, s, p, 0, 30);
	login5_field(&st->user, s, p, 31, 30);
	login5_field(&st->app, s, p, 140, 30);
	login5_field(&st->server, s, p, 171, 30);
	login5_field(&st->library, s, p, 462, 10);
	struct reader v = p;
	rd_seek(&v, 458);
	rd_copy(&v, st->tds5_version, 4);
	/* the password, in clear */
	struct reader pw = p;
	rd_seek(&pw, 92);
	uint8_t pwlen = rd_u8(&pw);
	if (rd_ok(&pw) && pwlen) {
		st->password_sent = true;
		session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
		if (session_show_credentials(s))
			login5_field(&st->password, s, p, 62, 30);
	}
}

/* ---- requests ---- */

static void add_query(struct tds_state *st, struct session *s, struct reader text, bool wide)
{
	if (st->n_queries >= TDS_MAX_QUERIES) {
		if (!st->more_queries++)
			session_count(s, "tds.too_many_queries");
		return;
	}
	struct wire_str *q = &st->queries[st->n_queries++];
	size_t n = rd_remaining(&text);
	if (wide) {
		ucs2(q, s, text, n / 2, TDS_MAX_QUERY);
	} else {
		if (n > TDS_MAX_QUERY)
			session_count(s, "tds.string_too_long");
		set_str(q, s, (const char *)rd_take(&text, n), n, TDS_MAX_QUERY);
	}
}

/* ALL_HEADERS (TDS 7.2 and later): skipped when its total length is
 * consistent with the headers it holds; r is left where the data begins. */
static void skip_all_headers(struct reader *r)
{
	struct reader h = *r;
	uint32_t total = rd_le32(&h);
	if (!rd_ok(&h) || total < 4 || total > rd_remaining(r))
		return;
	size_t at = 4;
	while (at < total) {
		uint32_t len = rd_le32(&h);
		if (!rd_ok(&h) || len < 6 || len > total - at)
			return;
		rd_skip(&h, len - 4);
		at += len;
	}
	if (at == total)
		rd_skip(r, total);
}

static void sql_batch(struct tds_state *st, struct session *s, struct reader p)
{
	skip_all_headers(&p);
	add_query(st, s, p, true);
}

static void rpc(struct tds_state *st, struct session *s, struct reader p)
{
	skip_all_headers(&p);
	uint16_t n = rd_le16(&p);
	if (!rd_ok(&p))
		return;
	if (st->n_rpcs >= TDS_MAX_RPCS) {
		if (!st->more_rpcs++)
			session_count(s, "tds.too_many_rpcs");
		return;
	}
	if (n == 0xffff) {
		uint16_t id = rd_le16(&p);
		const char *name = value_name_lookup(proc_ids, id);
		char num[16];
		snprintf(num, sizeof num, "proc %u", id);
		if (!name)
			name = num;
		if (rd_ok(&p))
			set_str(&st->rpcs[st->n_rpcs++], s, name, strlen(name), TDS_MAX_NAME);
		return;
	}
	if (rd_remaining(&p) >= (size_t)n * 2)
		ucs2(&st->rpcs[st->n_rpcs++], s, p, n, TDS_MAX_NAME);
}

/* TDS 5 query: a LANGUAGE token (0x21, 4-byte length, status, text). */
static void query5(struct tds_state *st, struct session *s, struct reader p)
{
	if (rd_u8(&p) != 0x21)
		return;
	uint32_t len = rd_le32(&p);
	rd_skip(&p, 1);
	if (!rd_ok(&p) || len < 1)
		return;
	size_t n = len - 1 < rd_remaining(&p) ? len - 1 : rd_remaining(&p);
	add_query(st, s, rd_sub(&p, n), false);
}

/* ---- the server's tokens ---- */

static void token_error(struct tds_state *st, struct session *s, struct reader t)
{
	uint32_t number = rd_le32(&t);
	rd_skip(&t, 2); /* state, class */
	uint16_t n = rd_le16(&t);
	if (!rd_ok(&t))
		return;
	if (st->n_errors >= TDS_MAX_ERRORS) {
		if (!st->more_errors++)
			session_count(s, "tds.too_many_errors");
		return;
	}
	struct tds_error *e = &st->errors[st->n_errors++];
	e->number = number;
	if (st->login5)
		set_str(&e->message, s, (const char *)rd_take(&t, n < rd_remaining(&t) ? n : 0),
		        n < rd_remaining(&t) ? n : 0, TDS_MAX_QUERY);
	else
		ucs2(&e->message, s, t, n, TDS_MAX_QUERY);
}

static void token_loginack(struct tds_state *st, struct session *s, struct reader t)
{
	rd_skip(&t, 1); /* interface */
	uint32_t v = rd_be32(&t);
	uint8_t n = rd_u8(&t);
	if (!rd_ok(&t))
		return;
	st->login_ack = true;
	st->ack_version = v;
	if (st->login5)
		set_str(&st->server_program, s, (const char *)rd_take(&t, n), n, TDS_MAX_NAME);
	else
		ucs2(&st->server_program, s, t, n, TDS_MAX_NAME);
}

static void token_envchange(struct tds_state *st, struct session *s, struct reader t)
{
	if (rd_u8(&t) != 1) /* database */
		return;
	uint8_t n = rd_u8(&t);
	if (!rd_ok(&t))
		return;
	if (st->login5) {
		if (n <= rd_remaining(&t))
			set_str(&st->env_database, s, (const char *)rd_take(&t, n), n,
			        TDS_MAX_NAME);
	} else {
		ucs2(&st->env_database, s, t, n, TDS_MAX_NAME);
	}
}

/* Walks the leading length-prefixed tokens of a result (ENVCHANGE, INFO,
 * ERROR, LOGINACK, TDS 5 EED and CAPABILITY) and stops at any other. */
static void result(struct tds_state *st, struct session *s, struct reader p)
{
	for (int i = 0; i < 64 && rd_remaining(&p) >= 3; i++) {
		uint8_t token = rd_u8(&p);
		if (token != 0xe3 && token != 0xab && token != 0xaa && token != 0xad &&
		    token != 0xe5 && token != 0xe2)
			return;
		uint16_t len = rd_le16(&p);
		struct reader t = rd_sub(&p, len);
		if (!rd_ok(&t))
			return;
		if (token == 0xaa)
			token_error(st, s, t);
		else if (token == 0xad)
			token_loginack(st, s, t);
		else if (token == 0xe3)
			token_envchange(st, s, t);
	}
}

/* ---- messages and packets ---- */

static void note_type(struct tds_state *st, uint8_t type)
{
	if (type < 32)
		st->types |= 1u << type;
}

static bool plausible_prelogin(struct reader p, size_t msg_len);

static void message_done(struct tds_state *st, struct session *s, enum direction dir)
{
	struct tds_msg *m = &st->msg[dir];
	struct reader p = rd_init(m->buf, m->len);

	if (!m->active)
		return;
	m->active = false;
	st->messages[dir]++;
	if (m->cut)
		session_count(s, "tds.message_cut");
	switch (m->type) {
	case T_PRELOGIN:
		prelogin(st, s, dir, p);
		break;
	case T_LOGIN7:
		if (dir == DIR_CLIENT && !st->login7)
			login7(st, s, p);
		break;
	case T_LOGIN5:
		if (dir == DIR_CLIENT && !st->login5)
			login5(st, s, p);
		break;
	case T_SQL_BATCH:
		if (dir == DIR_CLIENT)
			sql_batch(st, s, p);
		break;
	case T_RPC:
		if (dir == DIR_CLIENT)
			rpc(st, s, p);
		break;
	case T_QUERY5:
		if (dir == DIR_CLIENT)
			query5(st, s, p);
		break;
	case T_RESULT:
		/* the server answers PRELOGIN with a result-type packet */
		if (dir == DIR_SERVER && !st->prelogin[DIR_SERVER] &&
		    st->messages[DIR_SERVER] == 1 && plausible_prelogin(p, rd_length(&p)))
			prelogin(st, s, dir, p);
		else if (dir == DIR_SERVER)
			result(st, s, p);
		break;
	default:
		break;
	}
	m->len = 0;
	m->cut = false;
}

static bool known_type(int t)
{
	return value_name_lookup(packet_types, (unsigned)t) != NULL;
}

/* A TLS record where a TDS packet could be: content type 0x14-0x17, then
 * major version 3 (no TDS packet type is in that range). */
static bool tls_record_start(struct reader h)
{
	int t = rd_peek(&h, 0), v = rd_peek(&h, 1);
	return t >= 0x14 && t <= 0x17 && (v == 3 || v < 0);
}

static long tds_pdu_length(struct reader h, void *arg)
{
	(void)arg;
	int t = rd_peek(&h, 0);
	if (t < 0)
		return 0;
	if (tls_record_start(h)) {
		if (rd_remaining(&h) < 5)
			return 0;
		rd_skip(&h, 3);
		return 5 + (long)rd_be16(&h);
	}
	if (!known_type(t))
		return -1;
	if (rd_remaining(&h) < 4)
		return 0;
	rd_skip(&h, 2);
	uint16_t len = rd_be16(&h);
	return len >= 8 ? len : -1;
}

static void on_packet(struct tds_state *st, struct session *s, enum direction dir, struct reader p)
{
	if (tls_record_start(p)) {
		st->tls_records[dir]++;
		tls_feed(st, s, dir, p);
		return;
	}
	uint8_t type = rd_u8(&p);
	uint8_t status = rd_u8(&p);
	rd_skip(&p, 6);
	st->packets[dir]++;
	note_type(st, type);
	/* after each side's PRELOGIN options, PRELOGIN packets carry TLS */
	if (type == T_PRELOGIN && st->prelogin[dir]) {
		tls_feed(st, s, dir, p);
		return;
	}
	struct tds_msg *m = &st->msg[dir];
	if (m->active && m->type != type)
		message_done(st, s, dir); /* a TDS 5 login continues as another type */
	if (!m->active) {
		m->active = true;
		m->type = type;
		m->len = 0;
	}
	size_t n = rd_remaining(&p);
	if (m->len + n > TDS_MAX_MESSAGE) {
		n = TDS_MAX_MESSAGE - m->len;
		m->cut = true;
	}
	if (n) {
		if (!m->buf && !(m->buf = malloc(TDS_MAX_MESSAGE))) {
			session_count(s, "tds.out_of_memory");
			m->active = false;
			return;
		}
		memcpy(m->buf + m->len, rd_take(&p, n), n);
		m->len += n;
	}
	if (status & 0x01)
		message_done(st, s, dir);
}

/* ---- the probe ---- */

/* A ClientHello offering ALPN "tds/8.0": TDS 8.0 strict encryption. */
static enum verdict probe_tds8(struct reader r, enum direction dir)
{
	static const char alpn[] = "\x07tds/8.0";
	if (dir != DIR_CLIENT || rd_peek(&r, 5) != 1) /* ClientHello */
		return rd_remaining(&r) < 6 ? VERDICT_NEED_MORE : VERDICT_NO;
	size_t n = rd_remaining(&r);
	for (size_t i = 0; i + sizeof alpn - 1 <= n; i++)
		if (memcmp(r.data + r.off + i, alpn, sizeof alpn - 1) == 0)
			return VERDICT_YES;
	struct reader h = r;
	rd_skip(&h, 3);
	size_t rec = 5 + (size_t)rd_be16(&h);
	return n < rec && n < 2048 ? VERDICT_NEED_MORE : VERDICT_NO;
}

static bool ucs2_text(struct reader r, size_t chars)
{
	for (size_t i = 0; i < chars; i++) {
		int lo = rd_peek(&r, 2 * i), hi = rd_peek(&r, 2 * i + 1);
		if (lo < 0 || hi < 0)
			return i > 0;
		if (hi != 0 || (lo < 0x20 && lo != '\r' && lo != '\n' && lo != '\t') || lo > 0x7e)
			return false;
	}
	return true;
}

/* The start of a batch or RPC: ALL_HEADERS, or UCS-2 text / a proc id. */
static bool plausible_request(struct reader p, size_t msg_len, uint8_t type)
{
	struct reader h = p;
	uint32_t total = rd_le32(&h);
	uint32_t first = rd_le32(&h);
	uint16_t htype = rd_le16(&h);
	if (rd_ok(&h) && total >= 10 && total <= msg_len && first >= 6 && first <= total - 4 &&
	    htype >= 1 && htype <= 3)
		return true;
	if (type == T_RPC) {
		struct reader q = p;
		uint16_t n = rd_le16(&q);
		if (n == 0xffff)
			return rd_peek(&q, 1) == 0 && rd_peek(&q, 0) >= 1 && rd_peek(&q, 0) <= 15;
		return n > 0 && (size_t)n * 2 + 2 <= msg_len && ucs2_text(q, n < 8 ? n : 8);
	}
	return ucs2_text(p, 8);
}

static bool plausible_prelogin(struct reader p, size_t msg_len)
{
	for (int i = 0; i < 16; i++) {
		int token = rd_peek(&p, 0);
		if (token == 0xff)
			return i > 0;
		if (token < 0 || token > 8)
			return false;
		rd_skip(&p, 1);
		uint16_t off = rd_be16(&p), len = rd_be16(&p);
		if (!rd_ok(&p) || (size_t)off + len > msg_len)
			return false;
	}
	return false;
}

static bool result_token(int t)
{
	static const uint8_t tokens[] = {0xad, 0xe3, 0xaa, 0xab, 0x81, 0xfd, 0xfe, 0xff, 0x79,
	                                 0xa9, 0xa5, 0xe5, 0xe2, 0xd1, 0xd2, 0xa4, 0xac, 0xa0,
	                                 0xa1, 0xee, 0xae, 0xed, 0x88, 0x61, 0x62};
	for (size_t i = 0; i < sizeof tokens; i++)
		if (tokens[i] == t)
			return true;
	return false;
}

static enum verdict tds_probe(struct reader r, enum direction dir)
{
	int t = rd_peek(&r, 0);

	if (t < 0)
		return VERDICT_NEED_MORE;
	if (t == 0x16) {
		if (rd_peek(&r, 1) < 0)
			return VERDICT_NEED_MORE;
		return rd_peek(&r, 1) == 3 ? probe_tds8(r, dir) : VERDICT_NO;
	}
	if (!known_type(t))
		return VERDICT_NO;
	if (rd_remaining(&r) < 8) {
		int st = rd_peek(&r, 1);
		return st > 0x1f ? VERDICT_NO : VERDICT_NEED_MORE;
	}
	struct reader h = r;
	rd_skip(&h, 1);
	uint8_t status = rd_u8(&h);
	uint16_t len = rd_be16(&h);
	rd_skip(&h, 3);
	uint8_t window = rd_u8(&h);
	if (status > 0x1f || len < 9 || window != 0)
		return VERDICT_NO;
	size_t body = len - 8u;
	struct reader p = rd_sub(&h, rd_remaining(&h) < body ? rd_remaining(&h) : body);
	bool whole = rd_remaining(&r) >= len;
	switch (t) {
	case T_PRELOGIN:
		if (plausible_prelogin(p, body))
			return VERDICT_YES;
		return whole || rd_remaining(&r) >= 2048 ? VERDICT_NO : VERDICT_NEED_MORE;
	case T_LOGIN7: {
		if (dir != DIR_CLIENT)
			return VERDICT_NO;
		if (rd_remaining(&p) < 8)
			return VERDICT_NEED_MORE;
		int major = rd_peek(&p, 7);
		return (major >= 0x70 && major <= 0x74) || major == 0x08 ? VERDICT_YES : VERDICT_NO;
	}
	case T_LOGIN5:
		if (dir != DIR_CLIENT || len != 512)
			return VERDICT_NO;
		if (rd_remaining(&p) < 62)
			return VERDICT_NEED_MORE;
		return rd_peek(&p, 30) <= 30 && rd_peek(&p, 61) <= 30 ? VERDICT_YES : VERDICT_NO;
	case T_SQL_BATCH:
	case T_RPC:
		if (dir != DIR_CLIENT)
			return VERDICT_NO;
		if (rd_remaining(&p) < 16 && !whole)
			return VERDICT_NEED_MORE;
		return plausible_request(p, body, (uint8_t)t) ? VERDICT_YES : VERDICT_NO;
	case T_QUERY5:
		return dir == DIR_CLIENT && rd_peek(&p, 0) == 0x21 ? VERDICT_YES : VERDICT_NO;
	case T_RESULT: /* tokens, or the answer to a PRELOGIN */
		if (dir != DIR_SERVER)
			return VERDICT_NO;
		return result_token(rd_peek(&p, 0)) || plausible_prelogin(p, body) ? VERDICT_YES
		                                                                   : VERDICT_NO;
	default:
		return VERDICT_NO;
	}
}

/* ---- the dissector ---- */

static size_t tds_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct tds_state *st = state;
	struct reader pdu;

	if (!st->pdus[dir].max_pdu)
		st->pdus[dir].max_pdu = TDS_MAX_PACKET;
	/* TDS 8.0: TLS before any TDS packet */
	if (!st->packets[0] && !st->packets[1] && !st->tls_records[0] && !st->tls_records[1] &&
	    !st->strict && dir == DIR_CLIENT && rd_peek(&r, 0) == 0x16 && rd_peek(&r, 1) == 3) {
		st->strict = true;
		if (session_handoff(s, "tls")) {
			st->handed_off = true;
			return 0;
		}
		st->tls_unhandled = true;
	}
	while (rd_remaining(&r)) {
		if (st->lost[dir] || st->strict) {
			st->opaque_bytes[dir] += rd_remaining(&r);
			rd_skip(&r, rd_remaining(&r));
			break;
		}
		enum frame_result fr = pdu_next(&st->pdus[dir], &r, tds_pdu_length, NULL, &pdu);
		if (fr == FRAME_OK) {
			on_packet(st, s, dir, pdu);
			continue;
		}
		if (fr == FRAME_TOO_BIG) {
			session_count(s, "tds.packet_too_big");
			continue;
		}
		if (fr == FRAME_NEED_MORE)
			break;
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "tds.bad_packet");
		st->lost[dir] = true;
	}
	return rd_offset(&r);
}

static void tds_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct tds_state *st = state;

	(void)s;
	st->gap = true;
	st->msg[dir].active = false;
	st->msg[dir].len = 0;
	st->tlsb[dir].len = 0;
	if (st->lost[dir] || st->strict)
		st->opaque_bytes[dir] += missing;
	else if (!pdu_gap(&st->pdus[dir], missing))
		st->lost[dir] = true;
}

static void tds_on_end(struct session *s, void *state)
{
	struct tds_state *st = state;

	for (int i = 0; i < 2; i++)
		if (st->msg[i].active) {
			session_count(s, "tds.incomplete_message");
			message_done(st, s, (enum direction)i);
		}
}

static void tds_release(void *state)
{
	struct tds_state *st = state;
	struct wire_str *strs[] = {&st->user,         &st->app,           &st->server,
	                           &st->database,     &st->host,          &st->library,
	                           &st->language,     &st->password,      &st->instance,
	                           &st->env_database, &st->server_program};

	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		wire_str_free(strs[i]);
	for (int i = 0; i < TDS_MAX_QUERIES; i++)
		wire_str_free(&st->queries[i]);
	for (int i = 0; i < TDS_MAX_RPCS; i++)
		wire_str_free(&st->rpcs[i]);
	for (int i = 0; i < TDS_MAX_ERRORS; i++)
		wire_str_free(&st->errors[i].message);
	for (int i = 0; i < 2; i++) {
		free(st->msg[i].buf);
		free(st->tlsb[i].p);
		st->msg[i].buf = NULL;
		st->tlsb[i].p = NULL;
	}
	tls_facts_free(st->tls);
	st->tls = NULL;
}

/* ---- output ---- */

static void emit_wstr(struct emitter *e, const char *key, const struct wire_str *w)
{
	if (w->p)
		emit_strn(e, key, w->p, w->len);
	else
		emit_null(e, key);
}

static const char *enc_name(uint8_t v, char buf[8])
{
	const char *n = value_name_lookup(encryption_names, v);
	if (n)
		return n;
	snprintf(buf, 8, "0x%02x", v);
	return buf;
}

/* What TLS protects: from the server's answer (or the client's offer). */
static const char *encrypted_part(const struct tds_state *st)
{
	if (st->strict)
		return "all";
	int side = st->have_enc[DIR_SERVER] ? DIR_SERVER : DIR_CLIENT;
	if (!st->have_enc[side])
		return NULL;
	switch (st->enc[side] & 0x0f) {
	case 2:
		return "none";
	case 0:
		return st->have_enc[DIR_CLIENT] && st->enc[DIR_CLIENT] == 2 ? "none" : "login";
	default:
		return "all";
	}
}

/* The TDS version: the server's LOGINACK (what was agreed), else the
 * client's login. */
static void version_string(const struct tds_state *st, char *buf, size_t n)
{
	uint32_t v = st->ack_version ? st->ack_version : st->login_version;

	buf[0] = '\0';
	if (st->ack_version && (v >> 24 == 4 || v >> 24 == 5)) {
		snprintf(buf, n, "%u.%u", v >> 24, (v >> 16) & 0xff);
		return;
	}
	if (!v && st->login5) {
		snprintf(buf, n, "%u.%u", st->tds5_version[0], st->tds5_version[1]);
		return;
	}
	if (!v) {
		if (st->strict)
			snprintf(buf, n, "8.0");
		return;
	}
	const char *name = value_name_lookup(tds_versions, v);
	if (name)
		snprintf(buf, n, "%s", name);
	else
		snprintf(buf, n, "0x%08x", v);
}

static void emit_prelogin_version(struct emitter *e, const char *key, const uint8_t v[6])
{
	char buf[32];
	/* UL_VERSION big-endian; the sub-build little-endian, as Wireshark
	 * reads it */
	snprintf(buf, sizeof buf, "%u.%u.%u.%u", v[0], v[1], (unsigned)(v[2] << 8 | v[3]),
	         (unsigned)(v[5] << 8 | v[4]));
	emit_str(e, key, buf);
}

static void tds_emit(const void *state, struct emitter *e)
{
	const struct tds_state *st = state;
	char buf[32], b2[8];

	version_string(st, buf, sizeof buf);
	emit_str(e, "version", buf[0] ? buf : NULL);
	int side = st->have_enc[DIR_SERVER] ? DIR_SERVER : DIR_CLIENT;
	if (st->strict)
		emit_str(e, "encryption", "STRICT");
	else
		emit_str(e, "encryption", st->have_enc[side] ? enc_name(st->enc[side], b2) : NULL);
	if (st->have_enc[DIR_CLIENT])
		emit_str(e, "encryption_client", enc_name(st->enc[DIR_CLIENT], b2));
	if (st->have_enc[DIR_SERVER])
		emit_str(e, "encryption_server", enc_name(st->enc[DIR_SERVER], b2));
	emit_str(e, "encrypted", encrypted_part(st));
	emit_array_begin(e, "packet_types");
	for (const struct value_name *t = packet_types; t->name; t++)
		if (st->types & (1u << t->value))
			emit_str(e, NULL, t->name);
	emit_array_end(e);
	emit_wstr(e, "user", &st->user);
	emit_wstr(e, "app", &st->app);
	emit_wstr(e, "server", &st->server);
	if (st->database.p && st->database.len)
		emit_wstr(e, "database", &st->database);
	else
		emit_wstr(e, "database", &st->env_database);
	if (st->host.p)
		emit_wstr(e, "host", &st->host);
	if (st->library.p)
		emit_wstr(e, "library", &st->library);
	if (st->language.p)
		emit_wstr(e, "language", &st->language);
	if (st->login7 || st->login5)
		emit_str(e, "auth", st->sspi ? "sspi" : "sql");
	if (st->password_sent)
		emit_bool(e, "password_sent", true);
	if (st->password.p)
		emit_wstr(e, "password", &st->password);
	if (st->instance.p)
		emit_wstr(e, "instance", &st->instance);
	if (st->have_ver[DIR_SERVER])
		emit_prelogin_version(e, "server_version", st->pl_ver[DIR_SERVER]);
	if (st->have_ver[DIR_CLIENT])
		emit_prelogin_version(e, "client_version", st->pl_ver[DIR_CLIENT]);
	if (st->have_mars)
		emit_bool(e, "mars", st->mars);
	if (st->login_ack) {
		emit_bool(e, "login_ack", true);
		emit_wstr(e, "server_program", &st->server_program);
	}
	if (st->n_queries) {
		emit_array_begin(e, "queries");
		for (unsigned i = 0; i < st->n_queries; i++)
			emit_wstr(e, NULL, &st->queries[i]);
		emit_array_end(e);
		if (st->more_queries)
			emit_int(e, "queries_truncated", st->more_queries);
	}
	if (st->n_rpcs) {
		emit_array_begin(e, "rpcs");
		for (unsigned i = 0; i < st->n_rpcs; i++)
			emit_wstr(e, NULL, &st->rpcs[i]);
		emit_array_end(e);
		if (st->more_rpcs)
			emit_int(e, "rpcs_truncated", st->more_rpcs);
	}
	if (st->n_errors) {
		emit_array_begin(e, "errors");
		for (unsigned i = 0; i < st->n_errors; i++) {
			emit_object_begin(e, NULL);
			emit_int(e, "number", st->errors[i].number);
			emit_wstr(e, "message", &st->errors[i].message);
			emit_object_end(e);
		}
		emit_array_end(e);
		if (st->more_errors)
			emit_int(e, "errors_truncated", st->more_errors);
	}
	emit_object_begin(e, "messages");
	emit_int(e, "client", (int64_t)st->messages[DIR_CLIENT]);
	emit_int(e, "server", (int64_t)st->messages[DIR_SERVER]);
	emit_object_end(e);
	if (st->tls_records[0] + st->tls_records[1])
		emit_int(e, "tls_records", (int64_t)(st->tls_records[0] + st->tls_records[1]));
	if (st->tls) {
		emit_object_begin(e, "tls");
		tls_facts_emit(st->tls, e);
		emit_object_end(e);
	}
	if (st->strict)
		emit_bool(e, "strict", true);
	if (st->tls_unhandled)
		emit_bool(e, "starttls", true);
	if (st->opaque_bytes[0] + st->opaque_bytes[1])
		emit_int(e, "opaque_bytes", (int64_t)(st->opaque_bytes[0] + st->opaque_bytes[1]));
	if (st->gap)
		emit_bool(e, "gap", true);
}

/* "sa@master app sqlcmd ENCRYPT_OFF: select 1" */
static void tds_summarize(const void *state, char *buf, size_t n)
{
	const struct tds_state *st = state;
	struct summary sum = summary_start(buf, n);
	char v[32], b2[8];

	version_string(st, v, sizeof v);
	if (v[0])
		summary_addf(&sum, "TDS %s ", v);
	if (st->strict)
		summary_add(&sum, "strict TLS ");
	int side = st->have_enc[DIR_SERVER] ? DIR_SERVER : DIR_CLIENT;
	if (st->have_enc[side])
		summary_addf(&sum, "%s ", enc_name(st->enc[side], b2));
	if (st->user.p) {
		summary_add_wire(&sum, st->user.p, st->user.len);
		const struct wire_str *db =
		    st->database.p && st->database.len ? &st->database : &st->env_database;
		if (db->p) {
			summary_add(&sum, "@");
			summary_add_wire(&sum, db->p, db->len);
		}
		summary_add(&sum, " ");
	}
	if (st->n_queries) {
		summary_add(&sum, "query ");
		summary_add_wire(&sum, st->queries[0].p,
		                 st->queries[0].len < 60 ? st->queries[0].len : 60);
	}
	while (sum.len && buf[sum.len - 1] == ' ')
		buf[--sum.len] = '\0';
}

const struct dissector tds_dissector = {
    .name = "tds",
    .transports = TRANSPORT_BIT_TCP,
    .ports = tds_ports,
    .state_size = sizeof(struct tds_state),
    .probe = tds_probe,
    .on_data = tds_on_data,
    .on_gap = tds_on_gap,
    .on_end = tds_on_end,
    .emit = tds_emit,
    .summarize = tds_summarize,
    .release = tds_release,
};
