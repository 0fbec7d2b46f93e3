/* SMTP (RFC 5321) with the ESMTP extensions that change what crosses the
 * wire: PIPELINING (RFC 2920), CHUNKING / BDAT (RFC 3030), AUTH (RFC 4954)
 * and STARTTLS (RFC 3207).  Port 465 is implicit TLS and not SMTP's.
 *
 * The client side is a small state machine fed by the core's line framer:
 * commands, then the SASL responses of an AUTH exchange, then a message.  A
 * DATA message runs line by line to the end-of-data line "." (dot-stuffed
 * lines lose their first dot); a BDAT chunk is exactly its announced size,
 * counted off as it arrives (a chunk of known size is the one place bytes are
 * counted here).  Header lines of a message, until its first empty line, are
 * read for Subject and Message-ID; the body is only counted.
 *
 * Replies pair with commands in order, which is also what makes pipelining
 * work: each command the client sends is queued with what its reply decides
 * (a 354 starts the message, a 334 continues AUTH, a 220 to STARTTLS ends
 * cleartext), and the N-th final reply answers the N-th queued command.  The
 * first reply of the session is the greeting.
 *
 * After DATA the client's next bytes are normally sent after the 354; when
 * they come first (or the server's side is missing) a line that is an SMTP
 * command means DATA was refused, anything else is the message.  After
 * STARTTLS the client's bytes are held (not consumed) until the reply: a 220
 * hands the rest of both directions to the TLS dissector, or, while there is
 * none, ends parsing with "starttls" and "encrypted" set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/base64.h"
#include "portolan/dissector.h"
#include "portolan/wirestr.h"
#include "portolan/framing.h"
#include "portolan/json.h"

/* A command, reply or message line; longer ones are cut (and the rest of the
 * line skipped, so the end-of-data line is still found). */
#define SMTP_MAX_LINE 4096
/* Mail transactions kept per session; later ones are counted. */
#define SMTP_MAX_TRANSACTIONS 32
/* Recipients kept per transaction and at the top level. */
#define SMTP_MAX_RCPTS 64
/* Commands ("VERB arg") and reply codes kept per session. */
#define SMTP_MAX_COMMANDS 64
#define SMTP_MAX_REPLIES 64
/* Commands sent and not yet answered that are remembered. */
#define SMTP_MAX_PENDING 32
/* Bytes kept of a HELO argument, an address, a user, a command. */
#define SMTP_MAX_STRING 256
/* Bytes kept of a Subject or Message-ID (folded lines included). */
#define SMTP_MAX_HEADER 256
/* Bytes kept of the greeting's first line. */
#define SMTP_MAX_BANNER 256
/* Bytes kept of an AUTH mechanism name. */
#define SMTP_MAX_MECH 32
/* A BDAT chunk size above this is not believed. */
#define SMTP_MAX_CHUNK ((uint64_t)1 << 60)
/* A decoded SASL response (the line cap, base64-decoded). */
#define SMTP_MAX_SASL (SMTP_MAX_LINE / 4 * 3 + 3)

/* What the reply to a queued command decides. */
enum smtp_kind {
	K_OTHER = 0,
	K_EHLO,     /* its reply lists the extensions (PIPELINING) */
	K_MAIL,     /* a refusal ends the transaction */
	K_DATA,     /* 354 starts the message */
	K_MSG_END,  /* the end-of-data line: the transaction's reply */
	K_BDAT,     /* a chunk that is not the last */
	K_BDAT_END, /* BDAT ... LAST: the transaction's reply */
	K_STARTTLS, /* 220: the rest is TLS */
	K_AUTH,     /* 334 continues the exchange */
};

enum smtp_client_phase {
	C_CMD = 0,   /* command lines */
	C_AUTH,      /* SASL responses of an AUTH exchange */
	C_DATA_SENT, /* after DATA, before its 354 (or before the message) */
	C_MESSAGE,   /* a DATA message, to the end-of-data line */
	C_CHUNK,     /* a BDAT chunk's bytes */
	C_TLS_WAIT,  /* after STARTTLS: bytes held until its reply */
	C_DONE,      /* no more SMTP: everything is consumed */
};

enum smtp_auth_kind { A_OTHER = 0, A_PLAIN, A_LOGIN, A_CRAM, A_NO_SECRET };

/* AUTH responses expected when the mechanism does not say (GSSAPI, NTLM…):
 * the exchange runs until the server's final reply. */
#define AUTH_UNTIL_REPLY 255

enum smtp_header { H_NONE = 0, H_SUBJECT, H_MESSAGE_ID };

/* A string kept from the wire (raw bytes, cut to a cap); p is NULL when
 * there was none. */

/* A capped list of strings. */
struct smtp_list {
	struct wire_str *v;
	uint16_t n, alloc;
	uint32_t truncated;
};

struct smtp_txn {
	struct wire_str mail_from, subject, message_id;
	struct smtp_list rcpt_to;
	uint64_t size;  /* message bytes (unstuffed DATA, or BDAT chunks) */
	uint16_t reply; /* the reply that ended it; 0: none seen */
	bool has_message, bdat, gap, incomplete;
};

struct smtp_pending {
	uint8_t kind;
	int8_t txn; /* the transaction it belongs to, -1 none */
};
_Static_assert(SMTP_MAX_TRANSACTIONS < 128, "txn index must fit an int8_t");

struct smtp_state {
	struct line_state lines[2];
	struct line_state chunk_lines; /* header lines inside BDAT chunks */
	struct wire_str helo, mail_from, banner, auth, auth_user, auth_password;
	struct smtp_list rcpt_to, commands;
	uint16_t *replies;
	uint16_t n_replies, replies_alloc;
	uint32_t replies_truncated;
	struct smtp_txn *txns;
	uint16_t n_txns, txn_alloc;
	uint32_t txns_truncated;
	uint64_t chunk_left; /* bytes of the current BDAT chunk still to come */
	struct smtp_pending pending[SMTP_MAX_PENDING];
	uint8_t pend_head, n_pend;
	int8_t cur_txn; /* the open mail transaction, -1 none */
	int8_t msg_txn; /* the transaction whose message is being read */
	uint8_t client_phase;
	uint8_t auth_kind, auth_steps, auth_expected;
	uint8_t last_header; /* enum smtp_header, for folded lines */
	uint16_t auth_reply; /* final reply to the last AUTH; 0: none */
	bool greeted;        /* the greeting is complete */
	bool starttls, encrypted, handed_off, server_done;
	bool pipelining;
	bool msg_body; /* past the message's header lines */
	bool msg_gap;  /* bytes of the message were lost */
	bool chunk_last, bdat_open;
	bool txns_full;
};

/* The per-flow cost before anything is kept. */
_Static_assert(sizeof(struct smtp_state) <= 384, "struct smtp_state grew");

static const uint16_t smtp_ports[] = {25, 587, 0};

/* Commands a line must start with to count as one after DATA or in place
 * of a SASL response (see the top comment). */
static const char *const smtp_verbs[] = {
    "HELO", "EHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "VRFY", "EXPN",     "HELP", "NOOP",
    "QUIT", "AUTH", "TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML", "STARTTLS", NULL,
};

/* ---- reading lines ---- */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_ws(int c)
{
	return c == ' ' || c == '\t';
}

/* The whole of v equals lit, ignoring ASCII case. */
static bool equals_nocase(struct reader v, const char *lit)
{
	if (rd_remaining(&v) != strlen(lit))
		return false;
	while (rd_remaining(&v))
		if (lower(rd_u8(&v)) != lower((unsigned char)*lit++))
			return false;
	return true;
}

/* v starts with lit, ignoring ASCII case. */
static bool starts_nocase(struct reader v, const char *lit)
{
	size_t n = strlen(lit);
	if (rd_remaining(&v) < n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(rd_u8(&v)) != lower((unsigned char)lit[i]))
			return false;
	return true;
}

static void skip_ws(struct reader *v)
{
	while (is_ws(rd_peek(v, 0)))
		rd_skip(v, 1);
}

/* v without leading and trailing spaces and tabs. */
static struct reader trim(struct reader v)
{
	skip_ws(&v);
	size_t n = rd_remaining(&v);
	while (n > 0 && is_ws(rd_peek(&v, n - 1)))
		n--;
	return rd_sub(&v, n);
}

/* The next word of v (up to a space), and v moved past it and the spaces
 * after it. */
static struct reader next_word(struct reader *v)
{
	long sp = rd_find(v, ' ');
	struct reader w = rd_sub(v, sp < 0 ? rd_remaining(v) : (size_t)sp);
	skip_ws(v);
	return w;
}

static bool is_verb(struct reader v)
{
	if (!rd_remaining(&v))
		return false;
	while (rd_remaining(&v))
		if (!is_alpha(rd_u8(&v)))
			return false;
	return true;
}

/* The line is an SMTP command this dissector knows. */
static bool looks_like_command(struct reader line)
{
	struct reader verb = next_word(&line);
	for (const char *const *v = smtp_verbs; *v; v++)
		if (equals_nocase(verb, *v))
			return true;
	return false;
}

/* ---- kept strings and lists ---- */

static void str_free(struct wire_str *s)
{
	wire_str_free(s);
}

/* Keeps n bytes at p (cut to cap) in s, replacing what s held. */
static void str_set_bytes(struct wire_str *s, struct session *ss, const void *p, size_t n,
                          size_t cap)
{
	switch (wire_str_set(s, p, n, cap)) {
	case WIRE_STR_CUT:
		session_count(ss, "smtp.string_too_long");
		break;
	case WIRE_STR_NO_MEMORY:
		session_count(ss, "smtp.out_of_memory");
		break;
	default:
		break;
	}
}

static void str_set(struct wire_str *s, struct session *ss, struct reader v, size_t cap)
{
	size_t n = rd_remaining(&v);
	const uint8_t *p = rd_take(&v, n);
	str_set_bytes(s, ss, p, p ? n : 0, cap);
}

/* Appends v to s, within cap bytes in all. */
static void str_append(struct wire_str *s, struct session *ss, struct reader v, size_t cap)
{
	size_t room = s->len < cap ? cap - s->len : 0;
	size_t n = rd_remaining(&v);

	if (!s->p || !n)
		return;
	if (n > room) {
		n = room;
		session_count(ss, "smtp.string_too_long");
	}
	if (!n)
		return;
	char *q = realloc(s->p, s->len + n);
	if (!q) {
		session_count(ss, "smtp.out_of_memory");
		return;
	}
	rd_copy(&v, q + s->len, n);
	s->p = q;
	s->len = (uint16_t)(s->len + n);
}

static void list_free(struct smtp_list *l)
{
	for (unsigned i = 0; i < l->n; i++)
		str_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Adds n bytes at p to the list (at most max items, each cut to cap); past
 * max the item is counted in truncated and under `counter`. */
static void list_add_bytes(struct smtp_list *l, struct session *ss, const void *p, size_t n,
                           unsigned max, size_t cap, const char *counter)
{
	if (l->n >= max) {
		if (!l->truncated++)
			session_count(ss, counter);
		return;
	}
	if (l->n == l->alloc) {
		unsigned alloc = l->alloc ? l->alloc * 2u : 4u;
		if (alloc > max)
			alloc = max;
		struct wire_str *v = realloc(l->v, alloc * sizeof *v);
		if (!v) {
			l->truncated++;
			session_count(ss, "smtp.out_of_memory");
			return;
		}
		l->v = v;
		l->alloc = (uint16_t)alloc;
	}
	struct wire_str *item = &l->v[l->n];
	memset(item, 0, sizeof *item);
	str_set_bytes(item, ss, p, n, cap);
	if (item->p)
		l->n++;
	else
		l->truncated++;
}

static void list_add(struct smtp_list *l, struct session *ss, struct reader v, unsigned max,
                     size_t cap, const char *counter)
{
	size_t n = rd_remaining(&v);
	const uint8_t *p = rd_take(&v, n);
	list_add_bytes(l, ss, p, p ? n : 0, max, cap, counter);
}

static void add_reply(struct smtp_state *st, struct session *s, uint16_t code)
{
	if (st->n_replies >= SMTP_MAX_REPLIES) {
		if (!st->replies_truncated++)
			session_count(s, "smtp.too_many_replies");
		return;
	}
	if (st->n_replies == st->replies_alloc) {
		unsigned alloc = st->replies_alloc ? st->replies_alloc * 2u : 8u;
		if (alloc > SMTP_MAX_REPLIES)
			alloc = SMTP_MAX_REPLIES;
		uint16_t *v = realloc(st->replies, alloc * sizeof *v);
		if (!v) {
			st->replies_truncated++;
			session_count(s, "smtp.out_of_memory");
			return;
		}
		st->replies = v;
		st->replies_alloc = (uint16_t)alloc;
	}
	st->replies[st->n_replies++] = code;
}

/* ---- transactions ---- */

static void txn_free(struct smtp_txn *t)
{
	str_free(&t->mail_from);
	str_free(&t->subject);
	str_free(&t->message_id);
	list_free(&t->rcpt_to);
}

static struct smtp_txn *txn_at(struct smtp_state *st, int i)
{
	return i >= 0 && i < st->n_txns ? &st->txns[i] : NULL;
}

/* Opens a new transaction (the current one from now on); -1 once the list
 * is full, from when on none is kept. */
static int new_txn(struct smtp_state *st, struct session *s)
{
	if (!st->txns_full && st->n_txns >= SMTP_MAX_TRANSACTIONS) {
		st->txns_full = true;
		session_count(s, "smtp.too_many_transactions");
	}
	if (!st->txns_full && st->n_txns == st->txn_alloc) {
		unsigned alloc = st->txn_alloc ? st->txn_alloc * 2u : 2u;
		if (alloc > SMTP_MAX_TRANSACTIONS)
			alloc = SMTP_MAX_TRANSACTIONS;
		struct smtp_txn *v = realloc(st->txns, alloc * sizeof *v);
		if (!v) {
			st->txns_full = true;
			session_count(s, "smtp.out_of_memory");
		} else {
			st->txns = v;
			st->txn_alloc = (uint16_t)alloc;
		}
	}
	if (st->txns_full) {
		st->txns_truncated++;
		st->cur_txn = -1;
		return -1;
	}
	memset(&st->txns[st->n_txns], 0, sizeof st->txns[0]);
	st->cur_txn = (int8_t)st->n_txns;
	return st->n_txns++;
}

/* The transaction a message or chunk belongs to: the open one, or a new one
 * when MAIL was not seen (a capture begun mid-session). */
static int message_txn(struct smtp_state *st, struct session *s)
{
	if (st->cur_txn < 0 && !st->txns_full)
		new_txn(st, s);
	return st->cur_txn;
}

static void add_size(struct smtp_state *st, uint64_t n)
{
	struct smtp_txn *t = txn_at(st, st->msg_txn);
	if (t)
		t->size += n;
}

static void set_reply(struct smtp_state *st, int txn, uint16_t code)
{
	struct smtp_txn *t = txn_at(st, txn);
	if (t)
		t->reply = code;
}

static void malformed(struct session *s, const char *counter)
{
	session_alert(s, ALERT_MALFORMED);
	session_count(s, counter);
}

/* ---- the queue of unanswered commands ---- */

static void push(struct smtp_state *st, struct session *s, enum smtp_kind kind, int txn)
{
	if (st->n_pend >= SMTP_MAX_PENDING) {
		session_count(s, "smtp.too_many_pending");
		return;
	}
	struct smtp_pending *p = &st->pending[(st->pend_head + st->n_pend) % SMTP_MAX_PENDING];
	p->kind = (uint8_t)kind;
	p->txn = (int8_t)txn;
	st->n_pend++;
}

static struct smtp_pending pop(struct smtp_state *st)
{
	struct smtp_pending p = st->pending[st->pend_head];
	st->pend_head = (uint8_t)((st->pend_head + 1) % SMTP_MAX_PENDING);
	st->n_pend--;
	return p;
}

/* ---- messages ---- */

static void start_message(struct smtp_state *st, int txn)
{
	st->msg_txn = (int8_t)txn;
	st->msg_body = false;
	st->msg_gap = false;
	st->last_header = H_NONE;
	struct smtp_txn *t = txn_at(st, txn);
	if (t)
		t->has_message = true;
}

/* A line of a message (dot-stuffing already undone): header lines until the
 * first empty one, then the body, which is only counted. */
static void message_line(struct smtp_state *st, struct session *s, struct reader line)
{
	struct smtp_txn *t = txn_at(st, st->msg_txn);

	if (st->msg_body)
		return;
	if (!rd_remaining(&line)) {
		st->msg_body = true;
		return;
	}
	if (!t)
		return;
	if (is_ws(rd_peek(&line, 0))) { /* a folded continuation */
		struct wire_str *h = st->last_header == H_SUBJECT      ? &t->subject
		                     : st->last_header == H_MESSAGE_ID ? &t->message_id
		                                                       : NULL;
		if (h && h->len == 0)
			str_set(h, s, trim(line), SMTP_MAX_HEADER);
		else if (h)
			str_append(h, s, line, SMTP_MAX_HEADER);
		return;
	}
	st->last_header = H_NONE;
	long colon = rd_find(&line, ':');
	if (colon <= 0)
		return;
	struct reader name = trim(rd_sub(&line, (size_t)colon));
	rd_skip(&line, 1);
	struct reader value = trim(line);
	if (equals_nocase(name, "subject") && !t->subject.p) {
		str_set(&t->subject, s, value, SMTP_MAX_HEADER);
		st->last_header = H_SUBJECT;
	} else if (equals_nocase(name, "message-id") && !t->message_id.p) {
		str_set(&t->message_id, s, value, SMTP_MAX_HEADER);
		st->last_header = H_MESSAGE_ID;
	}
}

/* The end-of-data line: the transaction waits for its reply. */
static void data_end(struct smtp_state *st, struct session *s)
{
	push(st, s, K_MSG_END, st->msg_txn);
	st->client_phase = C_CMD;
	st->cur_txn = -1;
}

/* One line of a DATA message; false when no whole line is here. */
static bool message_step(struct smtp_state *st, struct session *s, struct reader *r)
{
	size_t before = rd_offset(r);
	struct reader line;
	bool cut;
	enum frame_result fr = line_next(&st->lines[DIR_CLIENT], r, &line, &cut);
	size_t used = rd_offset(r) - before;

	if (fr != FRAME_OK) {
		add_size(st, used); /* the skipped tail of an over-long line */
		return false;
	}
	if (cut)
		session_count(s, "smtp.long_message_line");
	if (!cut && rd_remaining(&line) == 1 && rd_peek(&line, 0) == '.') {
		/* not the message's: ".\r\n" (or ".\n"), after the tail of
		 * an over-long line skipped in the same call */
		struct reader back = *r;
		rd_seek(&back, rd_offset(r) - 2);
		add_size(st, used - (rd_peek(&back, 0) == '\r' ? 3 : 2));
		data_end(st, s);
		return true;
	}
	if (rd_peek(&line, 0) == '.') { /* dot-stuffing (RFC 5321 4.5.2) */
		rd_skip(&line, 1);
		used--;
	}
	add_size(st, used);
	message_line(st, s, line);
	return true;
}

static void chunk_done(struct smtp_state *st)
{
	st->client_phase = C_CMD;
	if (st->chunk_last) {
		st->bdat_open = false;
		st->cur_txn = -1;
	}
}

/* Bytes of a BDAT chunk; false when none could be taken. */
static bool chunk_step(struct smtp_state *st, struct session *s, struct reader *r)
{
	size_t n = rd_remaining(r) < st->chunk_left ? rd_remaining(r) : (size_t)st->chunk_left;
	size_t used = n;

	if (!st->msg_body) {
		/* header lines, framed within the chunk; a line may go on in
		 * the next chunk, so the framer's state is the message's */
		struct reader peek = *r;
		struct reader sub = rd_sub(&peek, n);
		struct reader line;
		bool cut;
		while (!st->msg_body && line_next(&st->chunk_lines, &sub, &line, &cut) == FRAME_OK)
			message_line(st, s, line);
		if (st->msg_body || n == st->chunk_left) {
			if (!st->msg_body && rd_remaining(&sub)) {
				/* the chunk ends inside a header line: its
				 * rest, in the next chunk, is skipped */
				session_count(s, "smtp.header_across_chunks");
				line_gap(&st->chunk_lines);
			}
			rd_skip(&sub, rd_remaining(&sub));
		}
		used = rd_offset(&sub);
	}
	rd_skip(r, used);
	st->chunk_left -= used;
	add_size(st, used);
	if (st->chunk_left == 0)
		chunk_done(st);
	return used > 0;
}

/* ---- AUTH ---- */

static bool show_credentials(struct session *s)
{
	return session_show_credentials(s);
}

/* A decoded PLAIN response: authzid NUL authcid NUL passwd (RFC 4616). */
static void auth_plain(struct smtp_state *st, struct session *s, struct reader v)
{
	long n1 = rd_find(&v, 0);
	if (n1 < 0) {
		malformed(s, "smtp.bad_auth_plain");
		return;
	}
	struct reader authzid = rd_sub(&v, (size_t)n1);
	rd_skip(&v, 1);
	long n2 = rd_find(&v, 0);
	if (n2 < 0) {
		malformed(s, "smtp.bad_auth_plain");
		return;
	}
	struct reader authcid = rd_sub(&v, (size_t)n2);
	rd_skip(&v, 1);
	str_set(&st->auth_user, s, rd_remaining(&authcid) ? authcid : authzid, SMTP_MAX_STRING);
	if (show_credentials(s))
		str_set(&st->auth_password, s, v, SMTP_MAX_STRING);
}

/* The step-th response of the exchange (the initial response is step 0). */

/* Base64 that must fit whole: the decoded length, or -1 (a bad character,
 * or more than cap bytes). */
static long b64_decode(struct reader v, uint8_t *out, size_t cap)
{
	size_t n;
	bool overflow;
	if (!base64_decode(v, out, cap, &n, &overflow) || overflow)
		return -1;
	return (long)n;
}

static void auth_response(struct smtp_state *st, struct session *s, struct reader line,
                          unsigned step)
{
	uint8_t buf[SMTP_MAX_SASL];

	if (rd_remaining(&line) == 1 && rd_peek(&line, 0) == '=')
		return; /* an empty initial response */
	long n = b64_decode(line, buf, sizeof buf);
	if (n < 0) {
		malformed(s, "smtp.bad_base64");
		return;
	}
	struct reader v = rd_init(buf, (size_t)n);
	switch (st->auth_kind) {
	case A_PLAIN:
		if (step == 0)
			auth_plain(st, s, v);
		break;
	case A_LOGIN:
		if (step == 0)
			str_set(&st->auth_user, s, v, SMTP_MAX_STRING);
		else if (step == 1 && show_credentials(s))
			str_set(&st->auth_password, s, v, SMTP_MAX_STRING);
		break;
	case A_CRAM: {
		/* "user digest": the user is all before the last space */
		long last = -1, at;
		struct reader t = v;
		while ((at = rd_find(&t, ' ')) >= 0) {
			last = (long)rd_offset(&t) + at;
			rd_skip(&t, (size_t)at + 1);
		}
		if (step == 0 && last > 0)
			str_set(&st->auth_user, s, rd_sub(&v, (size_t)last), SMTP_MAX_STRING);
		break;
	}
	default:
		break;
	}
}

static void auth_command(struct smtp_state *st, struct session *s, struct reader arg,
                         struct reader line)
{
	struct reader mech = next_word(&arg);
	struct reader initial = trim(arg);
	bool has_initial = rd_remaining(&initial) > 0;

	str_set(&st->auth, s, mech, SMTP_MAX_MECH);
	str_free(&st->auth_user);
	str_free(&st->auth_password);
	st->auth_reply = 0;
	st->auth_steps = 0;
	if (equals_nocase(mech, "PLAIN")) {
		st->auth_kind = A_PLAIN;
		st->auth_expected = 1;
	} else if (equals_nocase(mech, "LOGIN")) {
		st->auth_kind = A_LOGIN;
		st->auth_expected = 2;
	} else if (equals_nocase(mech, "CRAM-MD5")) {
		st->auth_kind = A_CRAM;
		st->auth_expected = 1;
	} else if (equals_nocase(mech, "ANONYMOUS") || equals_nocase(mech, "EXTERNAL")) {
		st->auth_kind = A_NO_SECRET;
		st->auth_expected = AUTH_UNTIL_REPLY;
	} else {
		st->auth_kind = A_OTHER;
		st->auth_expected = AUTH_UNTIL_REPLY;
	}
	/* before TLS by construction: parsing stops at STARTTLS */
	if (st->auth_kind != A_NO_SECRET) {
		session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
		session_count(s, "smtp.cleartext_auth");
	}
	if (has_initial) {
		auth_response(st, s, initial, 0);
		st->auth_steps = 1;
	}
	st->client_phase = st->auth_steps >= st->auth_expected ? C_CMD : C_AUTH;

	/* the command as listed: the initial response only with credentials
	 * shown (PLAIN's carries the password) */
	if (has_initial && !show_credentials(s)) {
		char text[SMTP_MAX_MECH + 32];
		size_t mlen =
		    rd_remaining(&mech) < SMTP_MAX_MECH ? rd_remaining(&mech) : SMTP_MAX_MECH;
		memcpy(text, "AUTH ", 5);
		rd_copy(&mech, text + 5, mlen);
		memcpy(text + 5 + mlen, " <hidden>", 9);
		list_add_bytes(&st->commands, s, text, 5 + mlen + 9, SMTP_MAX_COMMANDS,
		               SMTP_MAX_STRING, "smtp.too_many_commands");
	} else {
		list_add(&st->commands, s, line, SMTP_MAX_COMMANDS, SMTP_MAX_STRING,
		         "smtp.too_many_commands");
	}
}

/* ---- commands ---- */

/* "FROM:<addr> params" / "TO:<addr>": the address inside <>, or else the
 * word after the colon. */
static bool path_address(struct reader arg, const char *prefix, struct reader *addr)
{
	if (!starts_nocase(arg, prefix))
		return false;
	rd_skip(&arg, strlen(prefix));
	skip_ws(&arg);
	if (rd_peek(&arg, 0) == '<') {
		rd_skip(&arg, 1);
		long close = rd_find(&arg, '>');
		if (close < 0)
			return false;
		*addr = rd_sub(&arg, (size_t)close);
		return true;
	}
	*addr = next_word(&arg);
	return true;
}

static void mail_command(struct smtp_state *st, struct session *s, struct reader arg)
{
	struct reader addr;
	bool ok = path_address(arg, "FROM:", &addr);
	int txn = new_txn(st, s);
	struct smtp_txn *t = txn_at(st, txn);

	st->bdat_open = false;
	if (!ok) {
		malformed(s, "smtp.bad_mail_from");
	} else {
		if (!st->mail_from.p)
			str_set(&st->mail_from, s, addr, SMTP_MAX_STRING);
		if (t)
			str_set(&t->mail_from, s, addr, SMTP_MAX_STRING);
	}
	push(st, s, K_MAIL, txn);
}

static void rcpt_command(struct smtp_state *st, struct session *s, struct reader arg)
{
	struct reader addr;
	struct smtp_txn *t = txn_at(st, st->cur_txn);

	if (!path_address(arg, "TO:", &addr)) {
		malformed(s, "smtp.bad_rcpt_to");
	} else {
		list_add(&st->rcpt_to, s, addr, SMTP_MAX_RCPTS, SMTP_MAX_STRING,
		         "smtp.too_many_rcpts");
		if (t)
			list_add(&t->rcpt_to, s, addr, SMTP_MAX_RCPTS, SMTP_MAX_STRING,
			         "smtp.too_many_rcpts");
	}
	push(st, s, K_OTHER, st->cur_txn);
}

/* "BDAT size [LAST]" (RFC 3030): the chunk follows at once. */
static void bdat_command(struct smtp_state *st, struct session *s, struct reader arg)
{
	struct reader size = next_word(&arg);
	struct reader rest = trim(arg);
	uint64_t n = 0;
	bool ok = rd_remaining(&size) > 0 && rd_remaining(&size) <= 19;

	while (ok && rd_remaining(&size)) {
		int c = rd_u8(&size);
		ok = is_digit(c);
		n = n * 10 + (uint64_t)(c - '0');
	}
	bool last = equals_nocase(rest, "LAST");
	if (!ok || n > SMTP_MAX_CHUNK || (rd_remaining(&rest) && !last)) {
		/* the chunk's end is unknown: lines are taken as commands */
		malformed(s, "smtp.bad_bdat");
		push(st, s, K_OTHER, -1);
		return;
	}
	int txn = message_txn(st, s);
	if (!st->bdat_open) {
		struct smtp_txn *t = txn_at(st, txn);
		start_message(st, txn);
		size_t max_line = st->chunk_lines.max_line;
		memset(&st->chunk_lines, 0, sizeof st->chunk_lines);
		st->chunk_lines.max_line = max_line;
		st->bdat_open = true;
		if (t)
			t->bdat = true;
	}
	st->msg_txn = (int8_t)txn;
	st->chunk_left = n;
	st->chunk_last = last;
	push(st, s, last ? K_BDAT_END : K_BDAT, txn);
	st->client_phase = C_CHUNK;
	if (n == 0)
		chunk_done(st);
}

static void client_command(struct smtp_state *st, struct session *s, struct reader line, bool cut)
{
	struct reader arg = line;
	struct reader verb = next_word(&arg);

	if (cut)
		session_count(s, "smtp.long_command");
	if (!rd_remaining(&line))
		return; /* an empty line: no command, no reply */
	if (!is_verb(verb))
		malformed(s, "smtp.bad_command");
	if (st->n_pend > 0)
		st->pipelining = true; /* sent before the last one was answered */

	if (equals_nocase(verb, "AUTH")) {
		push(st, s, K_AUTH, -1);
		auth_command(st, s, arg, line);
		return;
	}
	list_add(&st->commands, s, line, SMTP_MAX_COMMANDS, SMTP_MAX_STRING,
	         "smtp.too_many_commands");
	if (equals_nocase(verb, "EHLO") || equals_nocase(verb, "HELO")) {
		if (!st->helo.p)
			str_set(&st->helo, s, trim(arg), SMTP_MAX_STRING);
		push(st, s, equals_nocase(verb, "EHLO") ? K_EHLO : K_OTHER, -1);
	} else if (equals_nocase(verb, "MAIL")) {
		mail_command(st, s, arg);
	} else if (equals_nocase(verb, "RCPT")) {
		rcpt_command(st, s, arg);
	} else if (equals_nocase(verb, "DATA")) {
		int txn = message_txn(st, s);
		st->msg_txn = (int8_t)txn;
		push(st, s, K_DATA, txn);
		st->client_phase = C_DATA_SENT;
	} else if (equals_nocase(verb, "BDAT")) {
		bdat_command(st, s, arg);
	} else if (equals_nocase(verb, "RSET")) {
		st->cur_txn = -1; /* the transaction is abandoned */
		st->bdat_open = false;
		push(st, s, K_OTHER, -1);
	} else if (equals_nocase(verb, "STARTTLS")) {
		push(st, s, K_STARTTLS, -1);
		st->client_phase = C_TLS_WAIT;
	} else {
		push(st, s, K_OTHER, -1);
	}
}

/* A line while an AUTH exchange runs: a SASL response, unless it cannot be
 * one (the server's final reply was missed) and is a command. */
static void auth_line(struct smtp_state *st, struct session *s, struct reader line, bool cut)
{
	if (rd_remaining(&line) == 1 && rd_peek(&line, 0) == '*') {
		st->client_phase = C_CMD; /* cancelled (RFC 4954 4) */
		return;
	}
	if (!base64_is_text(line) || cut) {
		session_count(s, "smtp.auth_unanswered");
		st->client_phase = C_CMD;
		client_command(st, s, line, cut);
		return;
	}
	auth_response(st, s, line, st->auth_steps);
	if (st->auth_steps < 254)
		st->auth_steps++;
	if (st->auth_steps >= st->auth_expected)
		st->client_phase = C_CMD;
}

/* ---- STARTTLS ---- */

/* The server accepted STARTTLS (or the client went on with TLS): the rest
 * is TLS's.  True when a TLS dissector took the stream over. */
static bool tls_begins(struct smtp_state *st, struct session *s)
{
	st->starttls = true;
	st->client_phase = C_DONE;
	st->server_done = true;
	if (session_handoff(s, "tls")) {
		st->handed_off = true;
		return true;
	}
	st->encrypted = true; /* nothing reads it: say so */
	session_count(s, "smtp.starttls_not_dissected");
	return false;
}

/* ---- replies ---- */

/* A final reply: what it answers decides what follows.  True when the
 * stream was handed off (the caller stops at once). */
static bool reply_done(struct smtp_state *st, struct session *s, uint16_t code)
{
	if (!st->n_pend) {
		if (st->client_phase == C_MESSAGE && st->msg_gap) {
			/* the end-of-data line was lost: this answers it, and
			 * the client's next bytes start a command */
			set_reply(st, st->msg_txn, code);
			st->client_phase = C_CMD;
			st->lines[DIR_CLIENT].skipping = false;
			st->cur_txn = -1;
			return false;
		}
		session_count(s, "smtp.unsolicited_reply");
		return false;
	}
	if (st->pending[st->pend_head].kind == K_AUTH && code == 334)
		return false; /* the exchange goes on */
	struct smtp_pending p = pop(st);
	bool ok = code >= 200 && code < 400;

	switch (p.kind) {
	case K_AUTH:
		st->auth_reply = code;
		if (st->client_phase == C_AUTH)
			st->client_phase = C_CMD;
		break;
	case K_DATA:
		if (code == 354) {
			if (st->client_phase == C_DATA_SENT) {
				start_message(st, p.txn);
				st->client_phase = C_MESSAGE;
			}
		} else {
			set_reply(st, p.txn, code);
			if (st->client_phase == C_DATA_SENT)
				st->client_phase = C_CMD;
		}
		break;
	case K_MSG_END:
	case K_BDAT_END:
		set_reply(st, p.txn, code);
		break;
	case K_MAIL:
	case K_BDAT:
		if (!ok)
			set_reply(st, p.txn, code);
		break;
	case K_STARTTLS:
		if (code >= 200 && code < 300)
			return tls_begins(st, s);
		if (st->client_phase == C_TLS_WAIT)
			st->client_phase = C_CMD;
		session_count(s, "smtp.starttls_refused");
		break;
	default:
		break;
	}
	return false;
}

/* One reply line: "NNN-text" continues a reply, "NNN text" (or "NNN") ends
 * it.  True when the stream was handed off. */
static bool server_line(struct smtp_state *st, struct session *s, struct reader line)
{
	unsigned code = 0;
	struct reader t = line;

	for (int i = 0; i < 3; i++) {
		int c = rd_u8(&t);
		code = code * 10 + (unsigned)(c - '0');
		if (!is_digit(c)) {
			if (rd_remaining(&line))
				malformed(s, "smtp.bad_reply");
			return false;
		}
	}
	int sep = rd_peek(&t, 0);
	if (sep >= 0 && sep != ' ' && sep != '-') {
		malformed(s, "smtp.bad_reply");
		return false;
	}
	rd_skip(&t, sep >= 0 ? 1 : 0);
	bool more = sep == '-';

	if (!st->greeted) {
		if (!st->banner.p)
			str_set(&st->banner, s, t, SMTP_MAX_BANNER);
		if (!more) {
			st->greeted = true;
			add_reply(st, s, (uint16_t)code);
		}
		return false;
	}
	if (st->n_pend && st->pending[st->pend_head].kind == K_EHLO &&
	    (equals_nocase(trim(t), "PIPELINING")))
		st->pipelining = true; /* offered */
	if (more)
		return false;
	add_reply(st, s, (uint16_t)code);
	return reply_done(st, s, (uint16_t)code);
}

/* ---- the dissector ---- */

static size_t server_data(struct smtp_state *st, struct session *s, struct reader r)
{
	struct reader line;
	bool cut;

	while (rd_remaining(&r)) {
		if (st->server_done) {
			rd_skip(&r, rd_remaining(&r));
			break;
		}
		if (line_next(&st->lines[DIR_SERVER], &r, &line, &cut) != FRAME_OK)
			break;
		if (cut)
			session_count(s, "smtp.long_reply");
		if (server_line(st, s, line))
			break; /* handed off: the rest is TLS's */
	}
	return rd_offset(&r);
}

/* After DATA, before its 354: a command line means DATA was refused (or is
 * answered later), anything else is the message.  False: no whole line. */
static bool data_sent_step(struct smtp_state *st, struct session *s, struct reader *r)
{
	struct line_state ls = st->lines[DIR_CLIENT];
	struct reader rr = *r;
	struct reader line;
	bool cut;

	if (line_next(&ls, &rr, &line, &cut) != FRAME_OK)
		return false;
	if (!cut && looks_like_command(line)) {
		st->lines[DIR_CLIENT] = ls;
		*r = rr;
		st->client_phase = C_CMD;
		client_command(st, s, line, cut);
		return true;
	}
	session_count(s, "smtp.message_before_354");
	start_message(st, st->msg_txn);
	st->client_phase = C_MESSAGE; /* the line is read again as the message's */
	return true;
}

static size_t client_data(struct smtp_state *st, struct session *s, struct reader r)
{
	struct reader line;
	bool cut;

	while (rd_remaining(&r)) {
		switch (st->client_phase) {
		case C_DONE:
			rd_skip(&r, rd_remaining(&r));
			break;
		case C_TLS_WAIT:
			/* a TLS record (22: handshake) with no reply seen */
			if (rd_peek(&r, 0) != 0x16)
				goto out;
			if (tls_begins(st, s))
				goto out;
			break;
		case C_CHUNK:
			if (!chunk_step(st, s, &r))
				goto out;
			break;
		case C_MESSAGE:
			if (!message_step(st, s, &r))
				goto out;
			break;
		case C_DATA_SENT:
			if (!data_sent_step(st, s, &r))
				goto out;
			break;
		default:
			if (line_next(&st->lines[DIR_CLIENT], &r, &line, &cut) != FRAME_OK)
				goto out;
			if (st->client_phase == C_AUTH)
				auth_line(st, s, line, cut);
			else
				client_command(st, s, line, cut);
			break;
		}
	}
out:
	return rd_offset(&r);
}

/* The state is zeroed by the core; what is not zero is set on first use. */
static void init_state(struct smtp_state *st)
{
	if (st->lines[DIR_CLIENT].max_line)
		return;
	st->lines[DIR_CLIENT].max_line = SMTP_MAX_LINE;
	st->lines[DIR_SERVER].max_line = SMTP_MAX_LINE;
	st->chunk_lines.max_line = SMTP_MAX_LINE;
	st->cur_txn = st->msg_txn = -1;
}

static size_t smtp_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct smtp_state *st = state;

	init_state(st);
	if (st->handed_off)
		return 0; /* not called again once the core acts on it */
	return dir == DIR_SERVER ? server_data(st, s, r) : client_data(st, s, r);
}

static void smtp_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct smtp_state *st = state;

	init_state(st);
	session_count(s, "smtp.gap");
	if (dir == DIR_SERVER) {
		line_gap(&st->lines[DIR_SERVER]);
		return;
	}
	struct smtp_txn *t = txn_at(st, st->msg_txn);
	switch (st->client_phase) {
	case C_DONE:
		return;
	case C_CHUNK:
		if (t)
			t->gap = true;
		if (missing <= st->chunk_left) {
			/* the hole is inside the chunk: still in step */
			st->chunk_left -= missing;
			add_size(st, missing);
			if (!st->msg_body)
				line_gap(&st->chunk_lines);
			if (st->chunk_left == 0)
				chunk_done(st);
			return;
		}
		if (t)
			t->incomplete = true;
		st->bdat_open = false;
		st->client_phase = C_CMD;
		break;
	case C_MESSAGE:
		/* still inside the message, most likely; the server's next
		 * reply ends it if its end-of-data line was in the hole */
		if (t)
			t->gap = t->incomplete = true;
		st->msg_gap = true;
		add_size(st, missing);
		break;
	case C_TLS_WAIT:
		/* held bytes overflowed with no reply: not SMTP any more */
		st->client_phase = C_DONE;
		return;
	default:
		st->client_phase = C_CMD;
		break;
	}
	line_gap(&st->lines[DIR_CLIENT]);
}

static void smtp_on_end(struct session *s, void *state)
{
	struct smtp_state *st = state;
	struct smtp_txn *t = txn_at(st, st->msg_txn);

	if (st->client_phase == C_MESSAGE || st->client_phase == C_CHUNK) {
		if (t)
			t->incomplete = true;
		session_count(s, "smtp.incomplete_message");
	}
}

static void smtp_release(void *state)
{
	struct smtp_state *st = state;

	str_free(&st->helo);
	str_free(&st->mail_from);
	str_free(&st->banner);
	str_free(&st->auth);
	str_free(&st->auth_user);
	str_free(&st->auth_password);
	list_free(&st->rcpt_to);
	list_free(&st->commands);
	free(st->replies);
	st->replies = NULL;
	st->n_replies = st->replies_alloc = 0;
	for (unsigned i = 0; i < st->n_txns; i++)
		txn_free(&st->txns[i]);
	free(st->txns);
	st->txns = NULL;
	st->n_txns = st->txn_alloc = 0;
}

/* ---- the probe ---- */

/* Compares the start of r with lit ignoring case: NO on a difference,
 * NEED_MORE when r ends first, YES (r moved past lit) on a match. */
static enum verdict match_nocase(struct reader *r, const char *lit)
{
	size_t n = strlen(lit);

	for (size_t i = 0; i < n; i++) {
		int c = rd_peek(r, i);
		if (c < 0)
			return VERDICT_NEED_MORE;
		if (lower(c) != lower((unsigned char)lit[i]))
			return VERDICT_NO;
	}
	rd_skip(r, n);
	return VERDICT_YES;
}

/* "220 " or "220-" with SMTP in the greeting: yes; without: FTP greets the
 * same way, so the client's first command decides. */
static enum verdict probe_greeting(struct reader r)
{
	enum verdict v = match_nocase(&r, "220");
	if (v != VERDICT_YES)
		return v;
	int sep = rd_peek(&r, 0);
	if (sep < 0)
		return VERDICT_NEED_MORE;
	if (sep != ' ' && sep != '-')
		return VERDICT_NO;
	for (size_t i = 0; i + 4 <= rd_remaining(&r); i++) {
		struct reader t = r;
		rd_skip(&t, i);
		if (starts_nocase(t, "SMTP"))
			return VERDICT_YES;
	}
	return VERDICT_NEED_MORE;
}

/* "EHLO " or "HELO " as the client's first words. */
static enum verdict probe_hello(struct reader r)
{
	enum verdict best = VERDICT_NO;
	static const char *const hello[] = {"EHLO ", "HELO "};

	for (size_t i = 0; i < sizeof hello / sizeof hello[0]; i++) {
		struct reader t = r;
		enum verdict v = match_nocase(&t, hello[i]);
		if (v == VERDICT_YES)
			return v;
		if (v == VERDICT_NEED_MORE)
			best = v;
	}
	return best;
}

static enum verdict smtp_probe(struct reader r, enum direction dir)
{
	(void)dir; /* the sides may be swapped when the handshake was missed */
	enum verdict greet = probe_greeting(r);
	enum verdict hello = probe_hello(r);

	if (greet == VERDICT_YES || hello == VERDICT_YES)
		return VERDICT_YES;
	if (greet == VERDICT_NEED_MORE || hello == VERDICT_NEED_MORE)
		return VERDICT_NEED_MORE;
	return VERDICT_NO;
}

/* ---- output ---- */

static void emit_sstr(struct emitter *e, const char *key, const struct wire_str *s)
{
	if (s->p)
		emit_strn(e, key, s->p, s->len);
	else
		emit_null(e, key);
}

static void emit_list(struct emitter *e, const char *key, const char *truncated_key,
                      const struct smtp_list *l)
{
	emit_array_begin(e, key);
	for (unsigned i = 0; i < l->n; i++)
		emit_strn(e, NULL, l->v[i].p, l->v[i].len);
	emit_array_end(e);
	if (l->truncated)
		emit_int(e, truncated_key, l->truncated);
}

static void emit_txn(const struct smtp_txn *t, struct emitter *e)
{
	emit_object_begin(e, NULL);
	emit_sstr(e, "mail_from", &t->mail_from);
	emit_list(e, "rcpt_to", "rcpt_to_truncated", &t->rcpt_to);
	emit_sstr(e, "subject", &t->subject);
	emit_sstr(e, "message_id", &t->message_id);
	if (t->has_message)
		emit_int(e, "size", (int64_t)t->size);
	else
		emit_null(e, "size");
	if (t->reply)
		emit_int(e, "reply", t->reply);
	else
		emit_null(e, "reply");
	if (t->bdat)
		emit_bool(e, "bdat", true);
	if (t->incomplete)
		emit_bool(e, "incomplete", true);
	if (t->gap)
		emit_bool(e, "gap", true);
	emit_object_end(e);
}

static void smtp_emit(const void *state, struct emitter *e)
{
	const struct smtp_state *st = state;

	emit_sstr(e, "helo", &st->helo);
	emit_sstr(e, "mail_from", &st->mail_from);
	emit_list(e, "rcpt_to", "rcpt_to_truncated", &st->rcpt_to);
	emit_sstr(e, "auth", &st->auth);
	if (st->auth.p) {
		emit_sstr(e, "auth_user", &st->auth_user);
		if (st->auth_reply)
			emit_int(e, "auth_reply", st->auth_reply);
		else
			emit_null(e, "auth_reply");
		if (st->auth_password.p) /* only kept with --show-credentials */
			emit_sstr(e, "auth_password", &st->auth_password);
	}
	emit_bool(e, "starttls", st->starttls);
	if (st->encrypted)
		emit_bool(e, "encrypted", true);
	emit_sstr(e, "banner", &st->banner);
	emit_bool(e, "pipelining", st->pipelining);
	emit_list(e, "commands", "commands_truncated", &st->commands);
	emit_array_begin(e, "replies");
	for (unsigned i = 0; i < st->n_replies; i++)
		emit_int(e, NULL, st->replies[i]);
	emit_array_end(e);
	if (st->replies_truncated)
		emit_int(e, "replies_truncated", st->replies_truncated);
	emit_array_begin(e, "transactions");
	for (unsigned i = 0; i < st->n_txns; i++)
		emit_txn(&st->txns[i], e);
	emit_array_end(e);
	if (st->txns_truncated)
		emit_int(e, "truncated", st->txns_truncated);
}

/* Appends to a summary buffer; wire text made safe for a terminal. */
static size_t put_escaped(char *buf, size_t n, size_t at, const struct wire_str *s)
{
	if (at + 1 >= n)
		return at;
	return at + text_escape(s->p, s->len, buf + at, n - at);
}

static size_t put_plain(char *buf, size_t n, size_t at, const char *s)
{
	if (at + 1 >= n)
		return at;
	int w = snprintf(buf + at, n - at, "%s", s);
	return w < 0 ? at : at + ((size_t)w < n - at ? (size_t)w : n - at - 1);
}

/* "EHLO host: from -> to (+2 rcpt) STARTTLS" */
static void smtp_summarize(const void *state, char *buf, size_t n)
{
	const struct smtp_state *st = state;
	char tmp[48];
	size_t at = 0;

	if (!n)
		return;
	buf[0] = '\0';
	if (st->helo.p) {
		at = put_plain(buf, n, at, "HELO ");
		at = put_escaped(buf, n, at, &st->helo);
	}
	if (st->auth.p) {
		at = put_plain(buf, n, at, at ? " AUTH " : "AUTH ");
		at = put_escaped(buf, n, at, &st->auth);
		if (st->auth_user.p) {
			at = put_plain(buf, n, at, " ");
			at = put_escaped(buf, n, at, &st->auth_user);
		}
	}
	if (st->mail_from.p) {
		at = put_plain(buf, n, at, at ? ": <" : "<");
		at = put_escaped(buf, n, at, &st->mail_from);
		at = put_plain(buf, n, at, ">");
	}
	if (st->rcpt_to.n) {
		at = put_plain(buf, n, at, " -> <");
		at = put_escaped(buf, n, at, &st->rcpt_to.v[0]);
		at = put_plain(buf, n, at, ">");
		unsigned more = st->rcpt_to.n + st->rcpt_to.truncated - 1;
		if (more) {
			snprintf(tmp, sizeof tmp, " (+%u more)", more);
			at = put_plain(buf, n, at, tmp);
		}
	}
	if (st->starttls)
		put_plain(buf, n, at, at ? " STARTTLS" : "STARTTLS");
}

const struct dissector smtp_dissector = {
    .name = "smtp",
    .transports = TRANSPORT_BIT_TCP,
    .ports = smtp_ports,
    .state_size = sizeof(struct smtp_state),
    .probe = smtp_probe,
    .on_data = smtp_on_data,
    .on_gap = smtp_on_gap,
    .on_end = smtp_on_end,
    .emit = smtp_emit,
    .summarize = smtp_summarize,
    .release = smtp_release,
};
