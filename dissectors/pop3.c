/* POP3 (RFC 1939; CAPA RFC 2449; STLS RFC 2595; AUTH RFC 5034).
 *
 * Both directions are lines from the core's line framer.  The client sends
 * commands; the server answers each with "+OK" or "-ERR", in order, so the
 * kinds of unanswered commands are kept in a small ring (clients may
 * pipeline, RFC 2449): a "+OK" to RETR, TOP, CAPA, a bare LIST or UIDL (and
 * a bare AUTH, which some servers answer with a mechanism list) starts a
 * multi-line answer that ends at a line holding a single "." (lines that
 * start with a dot are dot-stuffed), and nothing else can be taken for the
 * next response.
 *
 * AUTH <mechanism> starts a SASL exchange: the server sends "+ challenge"
 * lines, the client answers with base64 lines (or "*" to cancel) until the
 * server's "+OK"/"-ERR".  Those client lines are credentials: never listed
 * as commands; PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER give up the user.
 *
 * STLS answered "+OK" hands the stream to "tls"; without a TLS dissector the
 * session says "starttls" and the bytes after are counted, not parsed.  The
 * client's bytes after STLS wait (unconsumed) for the server's answer, so
 * a TLS dissector gets them whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/base64.h"
#include "portolan/dissector.h"
#include "portolan/sasl.h"
#include "portolan/wirestr.h"
#include "portolan/framing.h"
#include "portolan/json.h"

/* Commands kept per flow; later ones are counted in "truncated". */
#define POP3_MAX_COMMANDS 64
/* CAPA lines kept. */
#define POP3_MAX_CAPS 32
/* A command or response line; longer ones are cut (message lines only
 * counted). */
#define POP3_MAX_LINE 8192
/* Bytes kept of a user, banner, command, error text or capability. */
#define POP3_MAX_STRING 256
/* Unanswered commands whose kind is remembered (pipelining). */
#define POP3_MAX_PENDING 32
/* Decoded bytes of one SASL response looked at. */
#define POP3_MAX_SASL 1024

/* What the answer to a command looks like. */
enum pop3_kind {
	K_SINGLE = 0, /* one line */
	K_MULTI,      /* "+OK" starts a multi-line answer */
	K_RETR,       /* multi-line, and a message retrieved */
	K_CAPA,       /* multi-line capability list */
	K_AUTH,       /* a SASL exchange ("+ " challenges before the end) */
	K_LOGIN,      /* PASS, APOP: the answer says whether the login worked */
	K_STLS,       /* "+OK" starts TLS */
};

struct pop3_cmd {
	struct wire_str text;
	int8_t result; /* 0: no answer, 1: +OK, -1: -ERR */
};

struct pop3_pending {
	uint8_t kind;
	int16_t cmd; /* index in cmds, -1 when not kept */
};

struct pop3_state {
	struct line_state lines[2];
	struct pop3_cmd *cmds; /* grown on demand, at most POP3_MAX_COMMANDS */
	struct wire_str *caps; /* at most POP3_MAX_CAPS */
	struct wire_str banner, user, mech, password, last_error;
	uint16_t n_cmds, cmd_alloc, n_caps, cap_alloc;
	uint32_t truncated, caps_truncated;
	uint64_t ok, err, retrieved, retrieved_bytes, encrypted[2];
	struct pop3_pending pending[POP3_MAX_PENDING];
	uint8_t pending_head, n_pending;
	uint8_t multi;     /* the kind of the multi-line answer being read, or 0 */
	uint8_t mech_kind; /* enum sasl_mech of the exchange */
	uint8_t sasl_step; /* client responses in the exchange so far */
	int8_t auth_ok;    /* 0 unknown, 1 accepted, -1 refused */
	bool greeted, in_auth, stls_wait, starttls, handed, done;
	bool multi_resync; /* a gap inside a multi-line answer */
	bool gap, incomplete;
};

_Static_assert(sizeof(struct pop3_state) <= 512, "struct pop3_state grew");

static const uint16_t pop3_ports[] = {110, 0};

/* ---- small helpers ---- */

static int upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - ('a' - 'A') : c;
}

/* The whole of v equals lit, ignoring ASCII case. */
static bool equals_nocase(struct reader v, const char *lit)
{
	if (rd_remaining(&v) != strlen(lit))
		return false;
	while (rd_remaining(&v))
		if (upper(rd_u8(&v)) != upper((unsigned char)*lit++))
			return false;
	return true;
}

/* v starts with the status word lit, followed by its end or a space. */
static bool status_is(struct reader v, const char *lit)
{
	size_t n = strlen(lit);
	if (!rd_starts_with(&v, lit, n))
		return false;
	return rd_remaining(&v) == n || rd_peek(&v, n) == ' ';
}

/* The text after a status word and its space. */
static struct reader status_text(struct reader v, size_t word)
{
	rd_skip(&v, rd_remaining(&v) < word ? rd_remaining(&v) : word);
	while (rd_peek(&v, 0) == ' ')
		rd_skip(&v, 1);
	return rd_rest(&v);
}

/* The next space-separated word of v (v moves past it and its spaces). */
static struct reader next_word(struct reader *v)
{
	long sp = rd_find(v, ' ');
	struct reader w = rd_sub(v, sp < 0 ? rd_remaining(v) : (size_t)sp);
	while (rd_peek(v, 0) == ' ')
		rd_skip(v, 1);
	return w;
}

static void str_free(struct wire_str *s)
{
	wire_str_free(s);
}

/* Keeps n bytes (cut to POP3_MAX_STRING) in s, replacing what it held. */
static void str_setn(struct wire_str *s, struct session *ss, const void *data, size_t n)
{
	switch (wire_str_set(s, data, n, POP3_MAX_STRING)) {
	case WIRE_STR_CUT:
		session_count(ss, "pop3.string_too_long");
		break;
	case WIRE_STR_NO_MEMORY:
		session_count(ss, "pop3.out_of_memory");
		break;
	default:
		break;
	}
}

static void str_set(struct wire_str *s, struct session *ss, struct reader v)
{
	size_t n = rd_remaining(&v);
	str_setn(s, ss, rd_take(&v, n), n);
}

static void malformed(struct session *s, const char *counter)
{
	session_alert(s, ALERT_MALFORMED);
	session_count(s, counter);
}

/* ---- base64 and SASL ---- */

/* One decoded client response of a SASL exchange: the user, and the
 * password when the mechanism carries one in clear. */
static void sasl_decoded(struct pop3_state *st, struct session *s, const uint8_t *d, size_t n)
{
	struct sasl_fields f = sasl_read(st->mech_kind, st->sasl_step, d, n);

	if (f.bad) {
		session_count(s, "pop3.bad_sasl");
		return;
	}
	if (f.has_user)
		str_set(&st->user, s, f.user);
	if (f.has_password && session_show_credentials(s))
		str_set(&st->password, s, f.password);
}

/* A base64 client response (an AUTH initial response or a line in the
 * exchange). */
static void sasl_response(struct pop3_state *st, struct session *s, struct reader line)
{
	uint8_t buf[POP3_MAX_SASL];
	size_t n;
	bool cut; /* a credential longer than we keep: the rest is not needed */

	if (rd_remaining(&line) == 1 && rd_peek(&line, 0) == '*') {
		session_count(s, "pop3.auth_cancelled");
		return;
	}
	session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
	if (rd_remaining(&line) == 1 && rd_peek(&line, 0) == '=')
		n = 0; /* an empty initial response */
	else if (!base64_decode(line, buf, sizeof buf, &n, &cut)) {
		session_count(s, "pop3.bad_base64");
		st->sasl_step++;
		return;
	}
	sasl_decoded(st, s, buf, n);
	if (st->sasl_step < 255)
		st->sasl_step++;
}

/* ---- commands ---- */

/* Keeps a command's text; returns its index or -1 past the cap. */
static int add_command(struct pop3_state *st, struct session *s, const char *text, size_t n)
{
	if (st->n_cmds >= POP3_MAX_COMMANDS) {
		if (!st->truncated)
			session_count(s, "pop3.too_many_commands");
		st->truncated++;
		return -1;
	}
	if (st->n_cmds == st->cmd_alloc) {
		unsigned alloc = st->cmd_alloc ? st->cmd_alloc * 2u : 8u;
		if (alloc > POP3_MAX_COMMANDS)
			alloc = POP3_MAX_COMMANDS;
		struct pop3_cmd *c = realloc(st->cmds, alloc * sizeof *c);
		if (!c) {
			session_count(s, "pop3.out_of_memory");
			st->truncated++;
			return -1;
		}
		st->cmds = c;
		st->cmd_alloc = (uint16_t)alloc;
	}
	struct pop3_cmd *c = &st->cmds[st->n_cmds];
	memset(c, 0, sizeof *c);
	str_setn(&c->text, s, text, n);
	return st->n_cmds++;
}

static void add_capability(struct pop3_state *st, struct session *s, struct reader v)
{
	if (st->n_caps >= POP3_MAX_CAPS) {
		if (!st->caps_truncated)
			session_count(s, "pop3.too_many_capabilities");
		st->caps_truncated++;
		return;
	}
	if (st->n_caps == st->cap_alloc) {
		unsigned alloc = st->cap_alloc ? st->cap_alloc * 2u : 8u;
		if (alloc > POP3_MAX_CAPS)
			alloc = POP3_MAX_CAPS;
		struct wire_str *c = realloc(st->caps, alloc * sizeof *c);
		if (!c) {
			session_count(s, "pop3.out_of_memory");
			return;
		}
		st->caps = c;
		st->cap_alloc = (uint16_t)alloc;
	}
	memset(&st->caps[st->n_caps], 0, sizeof st->caps[0]);
	str_set(&st->caps[st->n_caps], s, v);
	st->n_caps++;
}

static void push_pending(struct pop3_state *st, struct session *s, uint8_t kind, int cmd)
{
	if (st->n_pending >= POP3_MAX_PENDING) {
		session_count(s, "pop3.too_many_pipelined");
		return;
	}
	struct pop3_pending *p =
	    &st->pending[(st->pending_head + st->n_pending) % POP3_MAX_PENDING];
	p->kind = kind;
	p->cmd = (int16_t)cmd;
	st->n_pending++;
}

static const struct pop3_pending *peek_pending(const struct pop3_state *st)
{
	return st->n_pending ? &st->pending[st->pending_head] : NULL;
}

static struct pop3_pending pop_pending(struct pop3_state *st)
{
	struct pop3_pending p = {K_SINGLE, -1};
	if (st->n_pending) {
		p = st->pending[st->pending_head];
		st->pending_head = (uint8_t)((st->pending_head + 1) % POP3_MAX_PENDING);
		st->n_pending--;
	}
	return p;
}

/* A command verb: 1 to 16 letters (RFC 1939 uses 3 or 4; extensions more). */
static bool is_verb(struct reader v)
{
	size_t n = rd_remaining(&v);
	if (n == 0 || n > 16)
		return false;
	while (rd_remaining(&v)) {
		int c = upper(rd_u8(&v));
		if (c < 'A' || c > 'Z')
			return false;
	}
	return true;
}

/* The command's text as listed: "VERB args", with a secret masked unless
 * credentials may be shown. */
static void list_command(struct pop3_state *st, struct session *s, struct reader verb,
                         struct reader shown, bool has_secret, uint8_t kind)
{
	char text[POP3_MAX_STRING];
	size_t n = 0;
	size_t vn = rd_remaining(&verb);
	size_t an = rd_remaining(&shown);

	while (rd_remaining(&verb) && n < sizeof text)
		text[n++] = (char)rd_u8(&verb);
	if ((an || has_secret) && n < sizeof text)
		text[n++] = ' ';
	while (rd_remaining(&shown) && n < sizeof text)
		text[n++] = (char)rd_u8(&shown);
	if (has_secret) {
		if (an && n < sizeof text)
			text[n++] = ' ';
		for (int i = 0; i < 4 && n < sizeof text; i++)
			text[n++] = '*';
	}
	if (vn + an + 6 > sizeof text)
		session_count(s, "pop3.string_too_long");
	push_pending(st, s, kind, add_command(st, s, text, n));
}

static void client_line(struct pop3_state *st, struct session *s, struct reader line)
{
	bool show = session_show_credentials(s);

	if (st->in_auth) {
		sasl_response(st, s, line);
		return;
	}
	if (!rd_remaining(&line)) {
		session_count(s, "pop3.empty_command");
		return;
	}
	struct reader args = line;
	struct reader verb = next_word(&args);
	if (!is_verb(verb)) {
		malformed(s, "pop3.bad_command");
		return;
	}
	struct reader none = rd_init(NULL, 0);
	uint8_t kind = K_SINGLE;

	if (equals_nocase(verb, "USER")) {
		if (rd_remaining(&args))
			str_set(&st->user, s, args);
	} else if (equals_nocase(verb, "PASS")) {
		session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
		if (show)
			str_set(&st->password, s, args);
		list_command(st, s, verb, show ? args : none, !show, K_LOGIN);
		return;
	} else if (equals_nocase(verb, "APOP")) {
		struct reader rest = args;
		struct reader name = next_word(&rest);
		session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
		if (rd_remaining(&name))
			str_set(&st->user, s, name);
		list_command(st, s, verb, show ? args : name, !show && rd_remaining(&rest),
		             K_LOGIN);
		return;
	} else if (equals_nocase(verb, "AUTH")) {
		if (!rd_remaining(&args)) {
			kind = K_MULTI; /* the mechanism list, where servers give one */
		} else {
			struct reader rest = args;
			struct reader mech = next_word(&rest);
			str_set(&st->mech, s, mech);
			st->mech_kind = (uint8_t)sasl_mech_of(mech);
			st->sasl_step = 0;
			st->in_auth = true;
			bool initial = rd_remaining(&rest) > 0;
			if (initial)
				sasl_response(st, s, rest);
			list_command(st, s, verb, show ? args : mech, initial && !show, K_AUTH);
			return;
		}
	} else if (equals_nocase(verb, "STLS")) {
		kind = K_STLS;
		st->stls_wait = true;
	} else if (equals_nocase(verb, "RETR")) {
		kind = K_RETR;
	} else if (equals_nocase(verb, "TOP")) {
		kind = K_MULTI;
	} else if (equals_nocase(verb, "LIST") || equals_nocase(verb, "UIDL")) {
		kind = rd_remaining(&args) ? K_SINGLE : K_MULTI;
	} else if (equals_nocase(verb, "CAPA")) {
		kind = K_CAPA;
	}
	list_command(st, s, verb, args, false, kind);
}

/* ---- responses ---- */

static void start_tls(struct pop3_state *st, struct session *s)
{
	st->starttls = true;
	if (session_handoff(s, "tls")) {
		st->handed = true;
	} else {
		st->done = true;
		session_count(s, "pop3.starttls_not_dissected");
	}
}

static void response(struct pop3_state *st, struct session *s, struct reader line, bool ok)
{
	if (!st->n_pending)
		session_count(s, "pop3.unexpected_response");
	struct pop3_pending p = pop_pending(st);
	if (p.cmd >= 0)
		st->cmds[p.cmd].result = ok ? 1 : -1;
	if (ok) {
		st->ok++;
	} else {
		st->err++;
		str_set(&st->last_error, s, status_text(line, 4));
	}
	switch (p.kind) {
	case K_MULTI:
	case K_RETR:
	case K_CAPA:
		if (ok)
			st->multi = p.kind;
		break;
	case K_AUTH:
		st->in_auth = false;
		st->auth_ok = ok ? 1 : -1;
		break;
	case K_LOGIN:
		st->auth_ok = ok ? 1 : -1;
		break;
	case K_STLS:
		st->stls_wait = false;
		if (ok)
			start_tls(st, s);
		break;
	default:
		break;
	}
}

/* A line of a multi-line answer; `used` is the bytes it took on the wire. */
static void multi_line(struct pop3_state *st, struct session *s, struct reader line, size_t used)
{
	bool dot = rd_peek(&line, 0) == '.';

	if (dot && rd_remaining(&line) == 1) {
		if (st->multi == K_RETR)
			st->retrieved++;
		st->multi = 0;
		st->multi_resync = false;
		return;
	}
	if (dot) /* dot-stuffed: the first dot is not content */
		rd_skip(&line, 1);
	if (st->multi == K_RETR)
		st->retrieved_bytes += used - (dot ? 1 : 0);
	else if (st->multi == K_CAPA && rd_remaining(&line))
		add_capability(st, s, line);
}

static void server_line(struct pop3_state *st, struct session *s, struct reader line, size_t used)
{
	bool ok = status_is(line, "+OK");
	bool err = status_is(line, "-ERR");

	if (st->multi && st->multi_resync && (ok || err)) {
		/* after a hole the terminator may have been lost: a status line
		 * ends the answer */
		st->multi = 0;
		st->multi_resync = false;
		session_count(s, "pop3.resync");
	}
	if (st->multi) {
		multi_line(st, s, line, used);
		return;
	}
	if (!st->greeted) {
		/* the greeting comes before any command; a capture that starts
		 * later has none */
		st->greeted = true;
		if ((ok || err) && !st->n_pending && !st->n_cmds && !st->truncated) {
			str_set(&st->banner, s, status_text(line, ok ? 3 : 4));
			if (err)
				st->err++;
			else
				st->ok++;
			return;
		}
	}
	if (ok || err) {
		response(st, s, line, ok);
		return;
	}
	const struct pop3_pending *p = peek_pending(st);
	if (rd_peek(&line, 0) == '+' && (rd_remaining(&line) == 1 || rd_peek(&line, 1) == ' ') &&
	    p && p->kind == K_AUTH) {
		session_count(s, "pop3.auth_challenge");
		return;
	}
	malformed(s, "pop3.bad_response");
}

/* ---- the dissector ---- */

static size_t pop3_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct pop3_state *st = state;
	struct line_state *ls = &st->lines[dir];
	struct reader line;
	bool cut;

	if (st->handed || st->done) {
		st->encrypted[dir] += rd_remaining(&r);
		return rd_remaining(&r);
	}
	ls->max_line = POP3_MAX_LINE;
	while (!(dir == DIR_CLIENT && st->stls_wait)) {
		size_t before = rd_offset(&r);
		enum frame_result fr = line_next(ls, &r, &line, &cut);
		size_t used = rd_offset(&r) - before;
		if (fr != FRAME_OK) {
			/* the tail of an over-long message line being skipped */
			if (dir == DIR_SERVER && st->multi == K_RETR)
				st->retrieved_bytes += used;
			break;
		}
		if (cut)
			session_count(s, "pop3.line_too_long");
		if (dir == DIR_CLIENT)
			client_line(st, s, line);
		else
			server_line(st, s, line, used);
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

static void pop3_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct pop3_state *st = state;

	if (st->handed || st->done) {
		st->encrypted[dir] += missing;
		return;
	}
	st->gap = true;
	line_gap(&st->lines[dir]);
	session_count(s, "pop3.gap");
	if (dir == DIR_SERVER && st->multi) {
		if (st->multi == K_RETR)
			st->retrieved_bytes += missing;
		st->multi_resync = true;
	}
}

static void pop3_on_end(struct session *s, void *state)
{
	struct pop3_state *st = state;

	if (st->multi || (st->n_pending && !st->done && !st->handed)) {
		st->incomplete = true;
		session_count(s, "pop3.incomplete");
	}
}

static void pop3_release(void *state)
{
	struct pop3_state *st = state;

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

/* Compares the start of r with lit: NO on a difference, NEED_MORE when r
 * ends first, YES when it matches. */
static enum verdict match(struct reader r, const char *lit)
{
	size_t n = strlen(lit);
	size_t have = rd_remaining(&r) < n ? rd_remaining(&r) : n;

	if (have && !rd_starts_with(&r, lit, have))
		return VERDICT_NO;
	return have < n ? VERDICT_NEED_MORE : VERDICT_YES;
}

/* The server's "+OK" greeting (IMAP greets "* OK", SMTP and FTP "220"), or
 * a first client command only POP3 has. */
static enum verdict pop3_probe(struct reader r, enum direction dir)
{
	static const char *const starts[] = {"+OK ",   "+OK\r\n",  "+OK\n",    "USER ",
	                                     "APOP ",  "AUTH ",    "AUTH\r\n", "CAPA\r\n",
	                                     "CAPA\n", "STLS\r\n", NULL};
	enum verdict best = VERDICT_NO;

	(void)dir; /* a greeting or a command, whichever side sent it */
	for (const char *const *p = starts; *p; p++) {
		enum verdict v = match(r, *p);
		if (v == VERDICT_YES)
			return v;
		if (v == VERDICT_NEED_MORE)
			best = v;
	}
	return best;
}

/* ---- output ---- */

static void emit_pstr(struct emitter *e, const char *key, const struct wire_str *s)
{
	if (s->p)
		emit_strn(e, key, s->p, s->len);
	else
		emit_null(e, key);
}

static void pop3_emit(const void *state, struct emitter *e)
{
	const struct pop3_state *st = state;

	emit_pstr(e, "banner", &st->banner);
	emit_pstr(e, "user", &st->user);
	if (st->password.p)
		emit_pstr(e, "password", &st->password);
	emit_pstr(e, "auth", &st->mech);
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
	for (unsigned i = 0; i < st->n_cmds; i++) {
		if (st->cmds[i].result)
			emit_str(e, NULL, st->cmds[i].result > 0 ? "+OK" : "-ERR");
		else
			emit_null(e, NULL);
	}
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
	emit_int(e, "err", (int64_t)st->err);
	emit_object_end(e);
	if (st->last_error.p)
		emit_pstr(e, "last_error", &st->last_error);
	emit_int(e, "messages_retrieved", (int64_t)st->retrieved);
	emit_int(e, "bytes_retrieved", (int64_t)st->retrieved_bytes);
	emit_bool(e, "starttls", st->starttls);
	if (st->done) {
		/* STLS accepted, no TLS dissector: the rest is encrypted */
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

/* "user alice, 5 commands, STLS" */
static void pop3_summarize(const void *state, char *buf, size_t n)
{
	const struct pop3_state *st = state;
	char user[POP3_MAX_STRING * 4 + 1];
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
		         st->starttls ? ", STLS" : "");
}

const struct dissector pop3_dissector = {
    .name = "pop3",
    .transports = TRANSPORT_BIT_TCP,
    .ports = pop3_ports,
    .state_size = sizeof(struct pop3_state),
    .probe = pop3_probe,
    .on_data = pop3_on_data,
    .on_gap = pop3_on_gap,
    .on_end = pop3_on_end,
    .emit = pop3_emit,
    .summarize = pop3_summarize,
    .release = pop3_release,
};
