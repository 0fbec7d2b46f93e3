/* IMAP4 (RFC 9051, RFC 3501; LITERAL+ RFC 7888; SASL-IR RFC 4959;
 * STARTTLS RFC 2595).
 *
 * Both directions are lines from the core's line framer, and literals: a
 * line that ends in "{n}" or "{n+}" (also "~{n}", RFC 3516) is followed by
 * exactly n bytes of anything, and then the rest of the same command or
 * response on the next line.  Those n bytes are skipped (counted) by a
 * per-direction "literal bytes left" counter, across calls and across holes
 * that fall inside them; everything else goes through line_next.
 *
 * The client sends "tag VERB args"; the server's "tag OK|NO|BAD text" ends
 * it, after any number of untagged "* ..." responses and "+ ..."
 * continuation requests.  Unanswered tags are kept (hashed) in a small table
 * so each completion finds its command even when commands overlap.
 *
 * LOGIN's user may be an atom, a quoted string (with \" and \\ escapes) or a
 * literal; its password is only flagged (shown with --show-credentials).
 * AUTHENTICATE starts a SASL exchange: the client's lines until the tagged
 * completion are base64 responses ("*" cancels), credentials that are never
 * listed; PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER give up the user.
 *
 * STARTTLS answered OK hands the stream to "tls"; without a TLS dissector
 * the session says "starttls" and the bytes after are counted, not parsed.
 * The client's bytes after STARTTLS wait (unconsumed) for the answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/base64.h"
#include "portolan/dissector.h"
#include "portolan/sasl.h"
#include "portolan/framing.h"
#include "portolan/json.h"

/* Commands kept per flow; later ones are counted in "truncated". */
#define IMAP_MAX_COMMANDS 64
/* Distinct capabilities kept. */
#define IMAP_MAX_CAPS 64
/* A command or response line (literals are not lines); longer ones are cut. */
#define IMAP_MAX_LINE 16384
/* Bytes kept of a command's text, a user, the banner, an error text. */
#define IMAP_MAX_STRING 256
/* Bytes kept of a capability name. */
#define IMAP_MAX_CAP_NAME 64
/* Unanswered tags remembered; past it the oldest is forgotten. */
#define IMAP_MAX_PENDING 32
/* Decoded bytes of one SASL response looked at. */
#define IMAP_MAX_SASL 1024
/* A literal announced longer than this is not believed. */
#define IMAP_MAX_LITERAL ((uint64_t)1 << 40)

enum imap_kind { K_OTHER = 0, K_LOGIN, K_AUTH, K_STARTTLS };

/* What a literal being skipped is for. */
enum lit_target { LIT_SKIP = 0, LIT_USER, LIT_PASSWORD };

enum imap_result { R_NONE = 0, R_OK, R_NO, R_BAD };

struct imap_str {
	char *p; /* NULL when absent */
	uint16_t len;
};

struct imap_cmd {
	struct imap_str text;
	uint8_t result; /* enum imap_result */
};

struct imap_pending {
	uint32_t tag; /* hash of the tag */
	int16_t cmd;  /* index in cmds, -1 when not kept */
	uint8_t kind;
};

struct imap_dir {
	struct line_state lines;
	uint64_t lit_left; /* literal bytes still to skip */
	uint8_t lit_target;
	bool cont; /* the next line goes on with the command / response */
};

/* The client command being read (it may span literals). */
struct imap_cur {
	char text[IMAP_MAX_STRING]; /* "tag VERB args" as listed */
	uint16_t len;
	uint32_t tag;
	uint8_t kind;
	uint8_t arg; /* LOGIN: the next argument (0 user, 1 password) */
	bool active, has_password, cut;
};

struct imap_state {
	struct imap_dir dir[2];
	struct imap_cur cur;
	struct imap_cmd *cmds; /* grown on demand, at most IMAP_MAX_COMMANDS */
	struct imap_str *caps; /* at most IMAP_MAX_CAPS */
	struct imap_str banner, user, mech, password, last_error;
	uint16_t n_cmds, cmd_alloc, n_caps, cap_alloc;
	uint32_t truncated, caps_truncated;
	uint64_t ok, no, bad, untagged, continuations;
	uint64_t literal_bytes[2], encrypted[2];
	struct imap_pending pending[IMAP_MAX_PENDING];
	uint8_t n_pending;
	uint8_t mech_kind, sasl_step;
	int8_t auth_ok; /* 0 unknown, 1 accepted, -1 refused */
	bool greeted, preauth, bye, in_auth, stls_wait, starttls, handed, done;
	bool gap, incomplete;
};

_Static_assert(sizeof(struct imap_state) <= 1024, "struct imap_state grew");

static const uint16_t imap_ports[] = {143, 0};

/* ---- small helpers ---- */

static int upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - ('a' - 'A') : c;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool equals_nocase(struct reader v, const char *lit)
{
	if (rd_remaining(&v) != strlen(lit))
		return false;
	while (rd_remaining(&v))
		if (upper(rd_u8(&v)) != upper((unsigned char)*lit++))
			return false;
	return true;
}

static bool starts_nocase(struct reader v, const char *lit)
{
	size_t n = strlen(lit);
	return rd_remaining(&v) >= n && equals_nocase(rd_sub(&v, n), lit);
}

static struct reader next_word(struct reader *v)
{
	long sp = rd_find(v, ' ');
	struct reader w = rd_sub(v, sp < 0 ? rd_remaining(v) : (size_t)sp);
	while (rd_peek(v, 0) == ' ')
		rd_skip(v, 1);
	return w;
}

/* FNV-1a of a tag: tags are matched by hash (collisions only mispair). */
static uint32_t tag_hash(struct reader v)
{
	uint32_t h = 2166136261u;
	while (rd_remaining(&v))
		h = (h ^ rd_u8(&v)) * 16777619u;
	return h;
}

/* An IMAP atom character (RFC 9051 ATOM-CHAR), also allowing ']'. */
static bool is_atom_char(int c)
{
	return c > 0x20 && c < 0x7f && !strchr("(){%*\"\\", c);
}

/* A client tag: atom characters except '+'. */
static bool is_tag(struct reader v)
{
	if (!rd_remaining(&v))
		return false;
	while (rd_remaining(&v)) {
		int c = rd_u8(&v);
		if (!is_atom_char(c) || c == '+')
			return false;
	}
	return true;
}

static void str_free(struct imap_str *s)
{
	free(s->p);
	s->p = NULL;
	s->len = 0;
}

/* Makes s present and empty, with room for IMAP_MAX_STRING bytes. */
static bool str_clear(struct imap_str *s, struct session *ss)
{
	if (!s->p && !(s->p = malloc(IMAP_MAX_STRING))) {
		session_count(ss, "imap.out_of_memory");
		return false;
	}
	s->len = 0;
	return true;
}

/* Appends n bytes to s (made present), cut at IMAP_MAX_STRING. */
static void str_append(struct imap_str *s, struct session *ss, const void *data, size_t n)
{
	if (!s->p && !str_clear(s, ss))
		return;
	size_t room = IMAP_MAX_STRING - s->len;
	if (n > room) {
		n = room;
		session_count(ss, "imap.string_too_long");
	}
	if (n)
		memcpy(s->p + s->len, data, n);
	s->len = (uint16_t)(s->len + n);
}

static void str_setn(struct imap_str *s, struct session *ss, const void *data, size_t n)
{
	if (str_clear(s, ss))
		str_append(s, ss, data, n);
}

static void str_set(struct imap_str *s, struct session *ss, struct reader v)
{
	size_t n = rd_remaining(&v);
	str_setn(s, ss, rd_take(&v, n), n);
}

static void malformed(struct session *s, const char *counter)
{
	session_alert(s, ALERT_MALFORMED);
	session_count(s, counter);
}

/* A line that ends in a literal's announcement: "{n}", "{n+}" (and so
 * "~{n}").  *n is its length. */
static bool literal_at_end(struct session *s, struct reader line, uint64_t *n)
{
	size_t len = rd_remaining(&line);
	if (len < 3 || rd_peek(&line, len - 1) != '}')
		return false;
	size_t end = len - 1;
	if (rd_peek(&line, end - 1) == '+')
		end--;
	size_t start = end;
	while (start > 0 && is_digit(rd_peek(&line, start - 1)))
		start--;
	if (start == end || start == 0 || rd_peek(&line, start - 1) != '{')
		return false;
	uint64_t v = 0;
	for (size_t i = start; i < end; i++) {
		v = v * 10 + (uint64_t)(rd_peek(&line, i) - '0');
		if (v > IMAP_MAX_LITERAL) {
			malformed(s, "imap.bad_literal");
			return false;
		}
	}
	*n = v;
	return true;
}

/* ---- base64 and SASL ---- */

static void sasl_decoded(struct imap_state *st, struct session *s, const uint8_t *d, size_t n)
{
	struct sasl_fields f = sasl_read(st->mech_kind, st->sasl_step, d, n);

	if (f.bad) {
		session_count(s, "imap.bad_sasl");
		return;
	}
	if (f.has_user)
		str_set(&st->user, s, f.user);
	if (f.has_password && session_show_credentials(s))
		str_set(&st->password, s, f.password);
}

/* A base64 client response (SASL-IR or a line of the exchange). */
static void sasl_response(struct imap_state *st, struct session *s, struct reader line)
{
	uint8_t buf[IMAP_MAX_SASL];
	size_t n;
	bool cut; /* a credential longer than we keep: the rest is not needed */

	if (rd_remaining(&line) == 1 && rd_peek(&line, 0) == '*') {
		session_count(s, "imap.auth_cancelled");
		return;
	}
	session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
	if (rd_remaining(&line) == 1 && rd_peek(&line, 0) == '=')
		n = 0; /* an empty initial response */
	else if (!base64_decode(line, buf, sizeof buf, &n, &cut)) {
		session_count(s, "imap.bad_base64");
		st->sasl_step++;
		return;
	}
	sasl_decoded(st, s, buf, n);
	if (st->sasl_step < 255)
		st->sasl_step++;
}

/* ---- lists ---- */

static int add_command(struct imap_state *st, struct session *s, const char *text, size_t n)
{
	if (st->n_cmds >= IMAP_MAX_COMMANDS) {
		if (!st->truncated)
			session_count(s, "imap.too_many_commands");
		st->truncated++;
		return -1;
	}
	if (st->n_cmds == st->cmd_alloc) {
		unsigned alloc = st->cmd_alloc ? st->cmd_alloc * 2u : 8u;
		if (alloc > IMAP_MAX_COMMANDS)
			alloc = IMAP_MAX_COMMANDS;
		struct imap_cmd *c = realloc(st->cmds, alloc * sizeof *c);
		if (!c) {
			session_count(s, "imap.out_of_memory");
			st->truncated++;
			return -1;
		}
		st->cmds = c;
		st->cmd_alloc = (uint16_t)alloc;
	}
	struct imap_cmd *c = &st->cmds[st->n_cmds];
	memset(c, 0, sizeof *c);
	str_setn(&c->text, s, text, n);
	return st->n_cmds++;
}

static void add_capability(struct imap_state *st, struct session *s, struct reader name)
{
	size_t n = rd_remaining(&name);
	if (n > IMAP_MAX_CAP_NAME)
		n = IMAP_MAX_CAP_NAME;
	name = rd_sub(&name, n);
	for (unsigned i = 0; i < st->n_caps; i++) {
		bool same = st->caps[i].len == n;
		for (size_t k = 0; k < n && same; k++)
			same = upper((unsigned char)st->caps[i].p[k]) == upper(rd_peek(&name, k));
		if (same)
			return; /* already listed */
	}
	if (st->n_caps >= IMAP_MAX_CAPS) {
		if (!st->caps_truncated)
			session_count(s, "imap.too_many_capabilities");
		st->caps_truncated++;
		return;
	}
	if (st->n_caps == st->cap_alloc) {
		unsigned alloc = st->cap_alloc ? st->cap_alloc * 2u : 16u;
		if (alloc > IMAP_MAX_CAPS)
			alloc = IMAP_MAX_CAPS;
		struct imap_str *c = realloc(st->caps, alloc * sizeof *c);
		if (!c) {
			session_count(s, "imap.out_of_memory");
			return;
		}
		st->caps = c;
		st->cap_alloc = (uint16_t)alloc;
	}
	memset(&st->caps[st->n_caps], 0, sizeof st->caps[0]);
	str_set(&st->caps[st->n_caps], s, name);
	st->n_caps++;
}

/* Space-separated capability names up to the end or a ']'. */
static void add_capabilities(struct imap_state *st, struct session *s, struct reader v)
{
	long close = rd_find(&v, ']');
	if (close >= 0)
		v = rd_sub(&v, (size_t)close);
	while (rd_remaining(&v)) {
		struct reader w = next_word(&v);
		if (rd_remaining(&w))
			add_capability(st, s, w);
	}
}

/* A status text that may start with "[CAPABILITY ...]". */
static void capability_code(struct imap_state *st, struct session *s, struct reader text)
{
	if (starts_nocase(text, "[CAPABILITY ")) {
		rd_skip(&text, 12);
		add_capabilities(st, s, text);
	}
}

static void push_pending(struct imap_state *st, struct session *s, uint32_t tag, int cmd,
                         uint8_t kind)
{
	if (st->n_pending >= IMAP_MAX_PENDING) {
		/* the oldest was never answered: forget it */
		session_count(s, "imap.too_many_pending");
		memmove(st->pending, st->pending + 1,
		        (IMAP_MAX_PENDING - 1) * sizeof st->pending[0]);
		st->n_pending--;
	}
	st->pending[st->n_pending++] = (struct imap_pending){tag, (int16_t)cmd, kind};
}

/* Takes the oldest pending command with this tag; false when none. */
static bool take_pending(struct imap_state *st, uint32_t tag, struct imap_pending *out)
{
	for (unsigned i = 0; i < st->n_pending; i++) {
		if (st->pending[i].tag != tag)
			continue;
		*out = st->pending[i];
		memmove(st->pending + i, st->pending + i + 1,
		        (st->n_pending - i - 1) * sizeof st->pending[0]);
		st->n_pending--;
		return true;
	}
	return false;
}

/* ---- client commands ---- */

static void cur_append(struct imap_cur *c, struct session *s, const void *data, size_t n)
{
	size_t room = sizeof c->text - c->len;
	if (n > room) {
		n = room;
		if (!c->cut)
			session_count(s, "imap.string_too_long");
		c->cut = true;
	}
	if (n)
		memcpy(c->text + c->len, data, n);
	c->len = (uint16_t)(c->len + n);
}

static void cur_append_reader(struct imap_cur *c, struct session *s, struct reader v)
{
	size_t n = rd_remaining(&v);
	cur_append(c, s, rd_take(&v, n), n);
}

/* A LOGIN argument's value (decoded). */
static void login_value(struct imap_state *st, struct session *s, const uint8_t *v, size_t n)
{
	if (st->cur.arg == 0) {
		str_setn(&st->user, s, v, n);
	} else if (st->cur.arg == 1) {
		st->cur.has_password = true;
		session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
		if (session_show_credentials(s))
			str_setn(&st->password, s, v, n);
	}
	if (st->cur.arg < 255)
		st->cur.arg++;
}

/* LOGIN's arguments in one piece of the command line: atoms, quoted
 * strings, and at the end maybe the announcement of a literal. */
static void login_args(struct imap_state *st, struct session *s, struct reader v)
{
	uint8_t buf[IMAP_MAX_STRING];

	for (;;) {
		while (rd_peek(&v, 0) == ' ')
			rd_skip(&v, 1);
		int c = rd_peek(&v, 0);
		if (c < 0)
			return;
		if (c == '{' || (c == '~' && rd_peek(&v, 1) == '{')) {
			/* a literal follows the line: it is this argument */
			struct imap_dir *d = &st->dir[DIR_CLIENT];
			if (st->cur.arg == 0) {
				d->lit_target = LIT_USER;
				str_clear(&st->user, s);
			} else if (st->cur.arg == 1) {
				d->lit_target = LIT_PASSWORD;
				st->cur.has_password = true;
				session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
				if (session_show_credentials(s))
					str_clear(&st->password, s);
			}
			if (st->cur.arg < 255)
				st->cur.arg++;
			return;
		}
		size_t n = 0;
		if (c == '"') {
			rd_skip(&v, 1);
			while ((c = rd_peek(&v, 0)) >= 0 && c != '"') {
				rd_skip(&v, 1);
				if (c == '\\' && rd_peek(&v, 0) >= 0)
					c = rd_u8(&v);
				if (n < sizeof buf)
					buf[n++] = (uint8_t)c;
			}
			if (c == '"')
				rd_skip(&v, 1); /* the closing quote */
		} else {
			while ((c = rd_peek(&v, 0)) >= 0 && c != ' ') {
				rd_skip(&v, 1);
				if (n < sizeof buf)
					buf[n++] = (uint8_t)c;
			}
		}
		login_value(st, s, buf, n);
	}
}

static void start_command(struct imap_state *st, struct session *s, struct reader line)
{
	struct imap_cur *c = &st->cur;
	struct reader args = line;
	struct reader tag = next_word(&args);
	struct reader verb = next_word(&args);

	memset(c, 0, sizeof *c);
	if (!is_tag(tag) || !rd_remaining(&verb)) {
		malformed(s, "imap.bad_command");
		return;
	}
	c->active = true;
	c->tag = tag_hash(tag);
	cur_append_reader(c, s, tag);
	cur_append(c, s, " ", 1);
	cur_append_reader(c, s, verb);
	if (equals_nocase(verb, "LOGIN")) {
		c->kind = K_LOGIN;
		login_args(st, s, args);
		return;
	}
	if (equals_nocase(verb, "AUTHENTICATE")) {
		struct reader mech = next_word(&args);
		c->kind = K_AUTH;
		str_set(&st->mech, s, mech);
		st->mech_kind = (uint8_t)sasl_mech_of(mech);
		st->sasl_step = 0;
		if (rd_remaining(&mech)) {
			cur_append(c, s, " ", 1);
			cur_append_reader(c, s, mech);
		}
		if (rd_remaining(&args)) { /* SASL-IR */
			sasl_response(st, s, args);
			cur_append(c, s, " ", 1);
			if (session_show_credentials(s))
				cur_append_reader(c, s, args);
			else
				cur_append(c, s, "****", 4);
		}
		return;
	}
	if (equals_nocase(verb, "STARTTLS"))
		c->kind = K_STARTTLS;
	if (rd_remaining(&args)) {
		cur_append(c, s, " ", 1);
		cur_append_reader(c, s, args);
	}
}

/* The rest of a command after a literal. */
static void continue_command(struct imap_state *st, struct session *s, struct reader line)
{
	struct imap_cur *c = &st->cur;

	if (!c->active)
		return;
	if (c->kind == K_LOGIN)
		login_args(st, s, line);
	else
		cur_append_reader(c, s, line);
}

static void finish_command(struct imap_state *st, struct session *s)
{
	struct imap_cur *c = &st->cur;

	if (!c->active)
		return;
	if (c->kind == K_LOGIN) {
		if (st->user.p) {
			cur_append(c, s, " ", 1);
			cur_append(c, s, st->user.p, st->user.len);
		}
		if (c->has_password) {
			cur_append(c, s, " ", 1);
			if (st->password.p && session_show_credentials(s))
				cur_append(c, s, st->password.p, st->password.len);
			else
				cur_append(c, s, "****", 4);
		}
	}
	push_pending(st, s, c->tag, add_command(st, s, c->text, c->len), c->kind);
	if (c->kind == K_AUTH)
		st->in_auth = true;
	if (c->kind == K_STARTTLS)
		st->stls_wait = true;
	c->active = false;
}

static void client_line(struct imap_state *st, struct session *s, struct reader line, bool cut)
{
	struct imap_dir *d = &st->dir[DIR_CLIENT];
	uint64_t lit = 0;
	bool has_lit = !cut && literal_at_end(s, line, &lit);

	d->lit_target = LIT_SKIP;
	if (d->cont) {
		continue_command(st, s, line);
	} else if (st->in_auth) {
		sasl_response(st, s, line);
		return;
	} else if (equals_nocase(line, "DONE")) {
		session_count(s, "imap.idle_done"); /* ends IDLE: not a command */
		return;
	} else if (!rd_remaining(&line)) {
		session_count(s, "imap.empty_line");
		return;
	} else {
		start_command(st, s, line);
	}
	if (has_lit) {
		d->lit_left = lit;
		d->cont = true;
	} else {
		d->cont = false;
		finish_command(st, s);
	}
}

/* ---- server responses ---- */

static void start_tls(struct imap_state *st, struct session *s)
{
	st->starttls = true;
	if (session_handoff(s, "tls")) {
		st->handed = true;
	} else {
		st->done = true;
		session_count(s, "imap.starttls_not_dissected");
	}
}

static void completion(struct imap_state *st, struct session *s, struct reader tag,
                       enum imap_result res, struct reader text)
{
	struct imap_pending p;

	if (res == R_OK)
		st->ok++;
	else if (res == R_NO)
		st->no++;
	else
		st->bad++;
	if (res != R_OK)
		str_set(&st->last_error, s, text);
	else
		capability_code(st, s, text);
	if (!take_pending(st, tag_hash(tag), &p)) {
		session_count(s, "imap.unknown_tag");
		return;
	}
	if (p.cmd >= 0)
		st->cmds[p.cmd].result = (uint8_t)res;
	switch (p.kind) {
	case K_LOGIN:
		st->auth_ok = res == R_OK ? 1 : -1;
		break;
	case K_AUTH:
		st->in_auth = false;
		st->auth_ok = res == R_OK ? 1 : -1;
		break;
	case K_STARTTLS:
		st->stls_wait = false;
		if (res == R_OK)
			start_tls(st, s);
		break;
	default:
		break;
	}
}

static void untagged(struct imap_state *st, struct session *s, struct reader rest)
{
	struct reader word = next_word(&rest);

	st->untagged++;
	if (equals_nocase(word, "CAPABILITY"))
		add_capabilities(st, s, rest);
	else if (equals_nocase(word, "OK") || equals_nocase(word, "NO") ||
	         equals_nocase(word, "BAD") || equals_nocase(word, "PREAUTH"))
		capability_code(st, s, rest);
	else if (equals_nocase(word, "BYE"))
		st->bye = true;
}

static void response_line(struct imap_state *st, struct session *s, struct reader line)
{
	if (rd_starts_with(&line, "* ", 2) ||
	    (rd_remaining(&line) == 1 && rd_peek(&line, 0) == '*')) {
		struct reader rest = line;
		rd_skip(&rest, rd_remaining(&rest) > 1 ? 2 : 1);
		if (!st->greeted && !st->n_cmds && !st->truncated) {
			struct reader text = rest;
			struct reader word = next_word(&text);
			st->greeted = true;
			if (equals_nocase(word, "OK") || equals_nocase(word, "PREAUTH") ||
			    equals_nocase(word, "BYE"))
				str_set(&st->banner, s, text);
			if (equals_nocase(word, "PREAUTH")) {
				st->preauth = true;
				st->auth_ok = 1;
			}
		}
		untagged(st, s, rest);
		return;
	}
	st->greeted = true;
	if (rd_peek(&line, 0) == '+' && (rd_remaining(&line) == 1 || rd_peek(&line, 1) == ' ')) {
		st->continuations++;
		if (st->in_auth)
			session_count(s, "imap.auth_challenge");
		return;
	}
	struct reader text = line;
	struct reader tag = next_word(&text);
	struct reader status = next_word(&text);
	enum imap_result res = R_NONE;
	if (equals_nocase(status, "OK"))
		res = R_OK;
	else if (equals_nocase(status, "NO"))
		res = R_NO;
	else if (equals_nocase(status, "BAD"))
		res = R_BAD;
	if (res == R_NONE || !is_tag(tag)) {
		malformed(s, "imap.bad_response");
		return;
	}
	completion(st, s, tag, res, text);
}

static void server_line(struct imap_state *st, struct session *s, struct reader line, bool cut)
{
	struct imap_dir *d = &st->dir[DIR_SERVER];
	uint64_t lit = 0;
	bool has_lit = !cut && literal_at_end(s, line, &lit);

	if (!d->cont)
		response_line(st, s, line);
	d->cont = has_lit;
	d->lit_left = has_lit ? lit : 0;
}

/* ---- the dissector ---- */

/* Literal bytes that are here; captured when they are LOGIN's user or (when
 * credentials may be shown) its password. */
static void take_literal(struct imap_state *st, struct session *s, enum direction dir,
                         struct reader *r)
{
	struct imap_dir *d = &st->dir[dir];
	size_t n = rd_remaining(r) < d->lit_left ? rd_remaining(r) : (size_t)d->lit_left;
	const uint8_t *p = rd_take(r, n);

	if (d->lit_target == LIT_USER)
		str_append(&st->user, s, p, n);
	else if (d->lit_target == LIT_PASSWORD && st->password.p)
		str_append(&st->password, s, p, n);
	d->lit_left -= n;
	st->literal_bytes[dir] += n;
}

static size_t imap_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct imap_state *st = state;
	struct imap_dir *d = &st->dir[dir];
	struct reader line;
	bool cut;

	if (st->handed || st->done) {
		st->encrypted[dir] += rd_remaining(&r);
		return rd_remaining(&r);
	}
	d->lines.max_line = IMAP_MAX_LINE;
	while (rd_remaining(&r)) {
		if (d->lit_left) {
			take_literal(st, s, dir, &r);
			continue;
		}
		if (dir == DIR_CLIENT && st->stls_wait)
			break;
		if (line_next(&d->lines, &r, &line, &cut) != FRAME_OK)
			break;
		if (cut)
			session_count(s, "imap.line_too_long");
		if (dir == DIR_CLIENT)
			client_line(st, s, line, cut);
		else
			server_line(st, s, line, cut);
		if (st->handed)
			break; /* the rest is for TLS */
		if (st->done) {
			st->encrypted[dir] += rd_remaining(&r);
			rd_skip(&r, rd_remaining(&r));
			break;
		}
	}
	return rd_offset(&r);
}

static void imap_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct imap_state *st = state;
	struct imap_dir *d = &st->dir[dir];

	if (st->handed || st->done) {
		st->encrypted[dir] += missing;
		return;
	}
	st->gap = true;
	session_count(s, "imap.gap");
	if (missing <= d->lit_left) {
		/* the hole is inside a literal: still in step */
		d->lit_left -= missing;
		st->literal_bytes[dir] += missing;
		return;
	}
	line_gap(&d->lines);
	d->lit_left = 0;
	d->cont = false;
	d->lit_target = LIT_SKIP;
	if (dir == DIR_CLIENT && st->cur.active) {
		st->cur.active = false; /* that command is lost */
		session_count(s, "imap.incomplete_command");
	}
}

static void imap_on_end(struct session *s, void *state)
{
	struct imap_state *st = state;

	if (st->handed || st->done)
		return;
	if (st->cur.active || st->dir[DIR_CLIENT].lit_left || st->dir[DIR_SERVER].lit_left ||
	    st->dir[DIR_SERVER].cont) {
		st->incomplete = true;
		session_count(s, "imap.incomplete");
	}
}

static void imap_release(void *state)
{
	struct imap_state *st = state;

	for (unsigned i = 0; i < st->n_cmds; i++)
		str_free(&st->cmds[i].text);
	for (unsigned i = 0; i < st->n_caps; i++)
		str_free(&st->caps[i]);
	free(st->cmds);
	free(st->caps);
	st->cmds = NULL;
	st->caps = NULL;
	st->n_cmds = st->cmd_alloc = st->n_caps = st->cap_alloc = 0;
	str_free(&st->banner);
	str_free(&st->user);
	str_free(&st->mech);
	str_free(&st->password);
	str_free(&st->last_error);
}

/* ---- the probe ---- */

static enum verdict match(struct reader r, const char *lit)
{
	size_t n = strlen(lit);
	size_t have = rd_remaining(&r) < n ? rd_remaining(&r) : n;

	if (have && !rd_starts_with(&r, lit, have))
		return VERDICT_NO;
	return have < n ? VERDICT_NEED_MORE : VERDICT_YES;
}

/* Like match, ignoring the case of letters. */
static enum verdict match_nocase(struct reader r, const char *lit)
{
	size_t n = strlen(lit);
	size_t have = rd_remaining(&r) < n ? rd_remaining(&r) : n;

	for (size_t i = 0; i < have; i++)
		if (upper(rd_peek(&r, i)) != upper((unsigned char)lit[i]))
			return VERDICT_NO;
	return have < n ? VERDICT_NEED_MORE : VERDICT_YES;
}

/* "tag COMMAND" with a command only an IMAP client opens with. */
static enum verdict probe_command(struct reader r)
{
	static const char *const commands[] = {"CAPABILITY", "LOGIN", "AUTHENTICATE", "STARTTLS",
	                                       NULL};
	size_t n = 0;
	int c;

	while ((c = rd_peek(&r, n)) >= 0 && c != ' ') {
		if (!is_atom_char(c) || c == '+' || n >= 64)
			return VERDICT_NO;
		n++;
	}
	if (c < 0)
		return VERDICT_NEED_MORE;
	if (n == 0 || (n == 4 && starts_nocase(r, "AUTH"))) /* SMTP's and POP3's AUTH */
		return VERDICT_NO;
	rd_skip(&r, n + 1);
	enum verdict best = VERDICT_NO;
	for (const char *const *cmd = commands; *cmd; cmd++) {
		enum verdict v = match_nocase(r, *cmd);
		if (v == VERDICT_NEED_MORE)
			best = v;
		if (v != VERDICT_YES)
			continue;
		c = rd_peek(&r, strlen(*cmd));
		if (c < 0)
			return VERDICT_NEED_MORE;
		if (c == ' ' || c == '\r' || c == '\n')
			return VERDICT_YES;
	}
	return best;
}

static enum verdict imap_probe(struct reader r, enum direction dir)
{
	static const char *const greetings[] = {"* OK ", "* PREAUTH ", "* BYE ", NULL};
	enum verdict best = VERDICT_NO;

	(void)dir; /* a greeting or a command, whichever side sent it */
	for (const char *const *g = greetings; *g; g++) {
		enum verdict v = match(r, *g);
		if (v == VERDICT_YES)
			return v;
		if (v == VERDICT_NEED_MORE)
			best = v;
	}
	if (rd_peek(&r, 0) == '*')
		return best;
	enum verdict v = probe_command(r);
	return v == VERDICT_NO ? best : v;
}

/* ---- output ---- */

static void emit_istr(struct emitter *e, const char *key, const struct imap_str *s)
{
	if (s->p)
		emit_strn(e, key, s->p, s->len);
	else
		emit_null(e, key);
}

static const char *const result_names[] = {NULL, "OK", "NO", "BAD"};

static void imap_emit(const void *state, struct emitter *e)
{
	const struct imap_state *st = state;

	emit_istr(e, "banner", &st->banner);
	if (st->preauth)
		emit_bool(e, "preauth", true);
	emit_istr(e, "user", &st->user);
	if (st->password.p)
		emit_istr(e, "password", &st->password);
	emit_istr(e, "auth", &st->mech);
	if (st->auth_ok)
		emit_bool(e, "authenticated", st->auth_ok > 0);
	else
		emit_null(e, "authenticated");
	emit_array_begin(e, "commands");
	for (unsigned i = 0; i < st->n_cmds; i++)
		emit_strn(e, NULL, st->cmds[i].text.p ? st->cmds[i].text.p : "",
		          st->cmds[i].text.len);
	emit_array_end(e);
	if (st->truncated)
		emit_int(e, "truncated", st->truncated);
	emit_array_begin(e, "results");
	for (unsigned i = 0; i < st->n_cmds; i++)
		emit_str(e, NULL, result_names[st->cmds[i].result & 3]);
	emit_array_end(e);
	if (st->n_caps || st->caps_truncated) {
		emit_array_begin(e, "capabilities");
		for (unsigned i = 0; i < st->n_caps; i++)
			emit_strn(e, NULL, st->caps[i].p ? st->caps[i].p : "", st->caps[i].len);
		emit_array_end(e);
		if (st->caps_truncated)
			emit_int(e, "capabilities_truncated", st->caps_truncated);
	}
	emit_object_begin(e, "responses");
	emit_int(e, "ok", (int64_t)st->ok);
	emit_int(e, "no", (int64_t)st->no);
	emit_int(e, "bad", (int64_t)st->bad);
	emit_int(e, "untagged", (int64_t)st->untagged);
	emit_int(e, "continuations", (int64_t)st->continuations);
	emit_object_end(e);
	if (st->last_error.p)
		emit_istr(e, "last_error", &st->last_error);
	if (st->bye)
		emit_bool(e, "bye", true);
	emit_object_begin(e, "literal_bytes");
	emit_int(e, "client", (int64_t)st->literal_bytes[DIR_CLIENT]);
	emit_int(e, "server", (int64_t)st->literal_bytes[DIR_SERVER]);
	emit_object_end(e);
	emit_bool(e, "starttls", st->starttls);
	if (st->done) {
		/* STARTTLS accepted, no TLS dissector: the rest is encrypted */
		emit_object_begin(e, "encrypted_bytes");
		emit_int(e, "client", (int64_t)st->encrypted[DIR_CLIENT]);
		emit_int(e, "server", (int64_t)st->encrypted[DIR_SERVER]);
		emit_object_end(e);
	}
	if (st->gap)
		emit_bool(e, "gap", true);
	if (st->incomplete)
		emit_bool(e, "incomplete", true);
}

/* "user alice, 7 commands, STARTTLS" */
static void imap_summarize(const void *state, char *buf, size_t n)
{
	const struct imap_state *st = state;
	char user[IMAP_MAX_STRING * 4 + 1];
	size_t at = 0;

	if (!n)
		return;
	buf[0] = '\0';
	if (st->user.p) {
		text_escape(st->user.p, st->user.len, user, sizeof user);
		int w = snprintf(buf, n, "user %s, ", user);
		at = w < 0 ? 0 : ((size_t)w < n ? (size_t)w : n - 1);
	}
	if (at + 1 < n)
		snprintf(buf + at, n - at, "%u commands%s", st->n_cmds + st->truncated,
		         st->starttls ? ", STARTTLS" : "");
}

const struct dissector imap_dissector = {
    .name = "imap",
    .transports = TRANSPORT_BIT_TCP,
    .ports = imap_ports,
    .state_size = sizeof(struct imap_state),
    .probe = imap_probe,
    .on_data = imap_on_data,
    .on_gap = imap_on_gap,
    .on_end = imap_on_end,
    .emit = imap_emit,
    .summarize = imap_summarize,
    .release = imap_release,
};
