/* HTTP/1.x over TCP (RFC 9110 semantics, RFC 9112 message syntax).
 *
 * Each direction is a small state machine: a start line, header lines, then
 * a body framed the way RFC 9112 6.3 says (Content-Length, chunked, none, or
 * until the connection closes).  Start, header, chunk-size and trailer lines
 * come from the core's line framer, one at a time, so nothing is buffered
 * beyond one line (HTTP_MAX_LINE).  Requests and responses are paired in
 * order, which also covers pipelining: the N-th final response answers the
 * N-th request.  The response side needs to know which request it answers
 * (HEAD and CONNECT change the framing), so the kinds of unanswered requests
 * are kept in a small ring even after the transaction list is full.
 *
 * CONNECT with a 2xx answer hands the stream to TLS (the bytes after the
 * answer are left unconsumed for it), or, when there is no TLS dissector,
 * marks the transaction "tunnelled" and consumes the rest of both
 * directions; a 101 ends HTTP on the connection the same way, with its
 * "upgrade" recorded.  Body bytes of a known length are counted off in
 * take_body(): the core has no "skip n bytes" framer yet.
 * After a gap the position is kept when the hole fell inside a body of known
 * length; otherwise lines are skipped until one looks like a start line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/wirestr.h"
#include "portolan/framing.h"
#include "portolan/json.h"
#include "portolan/summary.h"

/* Transactions kept per flow; later ones are counted in "truncated". */
#define HTTP_MAX_TRANSACTIONS 64
#define HTTP_FIRST_TXN_ALLOC 4
/* A start, header, chunk-size or trailer line; longer ones are cut. */
#define HTTP_MAX_LINE 8192
/* Header lines interpreted per message; later ones are skipped. */
#define HTTP_MAX_HEADERS 128
/* Bytes kept of host, uri, user agent, server and content type. */
#define HTTP_MAX_STRING 1024
/* Bytes kept of a method, a reason phrase and an upgrade protocol. */
/* URIs carry whole query strings (tracking links run to kilobytes): keep
 * them up to the request line's own cap. */
#define HTTP_MAX_URI HTTP_MAX_LINE
#define HTTP_MAX_TOKEN 64
/* 1xx interim statuses kept per transaction. */
#define HTTP_MAX_INTERIM 4
/* Unanswered requests whose kind (HEAD, CONNECT) the response side keeps. */
#define HTTP_MAX_PENDING 32
/* A Content-Length or chunk size above this is not believed. */
#define HTTP_MAX_BODY ((uint64_t)1 << 60)

/* What a response needs to know about the request it answers. */
enum http_kind { KIND_OTHER = 0, KIND_HEAD, KIND_CONNECT };

enum http_phase {
	PH_START = 0,   /* before a start line (blank lines are skipped) */
	PH_HEADERS,     /* header lines until a blank one */
	PH_BODY,        /* a body of known length */
	PH_CHUNK_SIZE,  /* a chunk-size line */
	PH_CHUNK_DATA,  /* a chunk's data */
	PH_CHUNK_END,   /* the CRLF after a chunk's data */
	PH_TRAILERS,    /* trailer lines until a blank one */
	PH_UNTIL_CLOSE, /* a response body that runs to the end of the stream */
	PH_RESYNC,      /* lost: skipping lines until a start line */
	PH_AWAIT,       /* after a CONNECT request: its answer says what follows */
	PH_DONE,        /* no more HTTP here (tunnel, upgrade, handoff) */
};

/* A string kept from the wire (raw bytes, cut to a cap); p is NULL when the
 * message had none. */

struct http_txn {
	struct wire_str method, uri, host, user_agent;
	struct wire_str reason, server, content_type, upgrade;
	uint64_t request_body_len, response_body_len;
	uint16_t status; /* the final status; 0 until one is seen */
	uint16_t interim[HTTP_MAX_INTERIM];
	uint8_t n_interim;
	char version[4], response_version[4]; /* "1.1"; "" when unknown */
	bool has_request, has_response;
	bool tunnelled, incomplete, gap, headers_truncated;
};

/* The message being parsed in one direction; zeroed at its start line. */
struct http_msg {
	uint64_t left;    /* body or chunk bytes still to come */
	uint64_t length;  /* its Content-Length */
	uint64_t ordinal; /* a request's number (1-based), for PH_AWAIT */
	int txn;          /* the transaction it fills, -1 when not kept */
	uint16_t n_headers;
	uint16_t status;
	uint8_t kind;
	bool interim; /* a 1xx response other than 101 */
	bool has_length, bad_length, chunked, other_coding, upgrade;
};

struct http_dir {
	struct line_state lines;
	struct http_msg msg;
	uint8_t phase;
	bool partial; /* bytes were left unconsumed at the last call */
};

struct http_state {
	struct http_txn *txns; /* grown on demand, at most HTTP_MAX_TRANSACTIONS */
	unsigned n_txns, txn_alloc;
	unsigned truncated;                /* transactions left out */
	unsigned resp_next;                /* where to look for the next request to answer */
	uint64_t requests;                 /* requests seen, kept or not */
	uint64_t answered;                 /* final responses that answered one of them */
	uint64_t recorded;                 /* requests kept as transactions (the first ones) */
	uint8_t pending[HTTP_MAX_PENDING]; /* kinds of unanswered requests */
	uint8_t pending_head, n_pending;
	bool full; /* no more transactions are kept */
	bool stop; /* on_data returns at once (handed off) */
	struct http_dir dir[2];
};

/* The per-flow cost before the first transaction. */
_Static_assert(sizeof(struct http_state) <= 320, "struct http_state grew");

static const uint16_t http_ports[] = {80, 8080, 8000, 8008, 8888, 3128, 0};

/* The methods the probe recognises (on_data takes any token). */
static const char *const http_methods[] = {
    "GET",     "POST",   "HEAD",     "PUT",       "DELETE", "OPTIONS", "PATCH",
    "CONNECT", "TRACE",  "PROPFIND", "PROPPATCH", "MKCOL",  "COPY",    "MOVE",
    "LOCK",    "UNLOCK", "REPORT",   "SEARCH",    NULL,
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

static int hex_value(int c)
{
	if (is_digit(c))
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* RFC 9110 5.6.2 tchar. */
static bool is_tchar(int c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c > 0 && c < 0x80 && strchr("!#$%&'*+-.^_`|~", c);
}

static bool is_token(struct reader v)
{
	if (!rd_remaining(&v))
		return false;
	while (rd_remaining(&v))
		if (!is_tchar(rd_u8(&v)))
			return false;
	return true;
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

static bool is_ows(int c)
{
	return c == ' ' || c == '\t';
}

/* v without leading and trailing spaces and tabs. */
static struct reader trim(struct reader v)
{
	while (is_ows(rd_peek(&v, 0)))
		rd_skip(&v, 1);
	size_t n = rd_remaining(&v);
	while (n > 0 && is_ows(rd_peek(&v, n - 1)))
		n--;
	return rd_sub(&v, n);
}

/* Offset of the last byte c in v, or -1. */
static long find_last(struct reader v, uint8_t c)
{
	long last = -1;
	size_t base = 0;
	long at;

	while ((at = rd_find(&v, c)) >= 0) {
		last = (long)base + at;
		rd_skip(&v, (size_t)at + 1);
		base += (size_t)at + 1;
	}
	return last;
}

/* "HTTP/1.x" into out ("1.x"); false when v is not exactly that. */
static bool parse_version(struct reader v, char out[4])
{
	if (rd_remaining(&v) != 8 || !rd_starts_with(&v, "HTTP/1.", 7))
		return false;
	rd_skip(&v, 7);
	int minor = rd_u8(&v);
	if (!is_digit(minor))
		return false;
	out[0] = '1';
	out[1] = '.';
	out[2] = (char)minor;
	out[3] = '\0';
	return true;
}

struct request_line {
	struct reader method, uri;
	char version[4];
};

/* method SP request-target SP HTTP-version.  The target is everything
 * between the first and the last space (lenient about spaces in it); a line
 * the framer cut has no version, and its target runs to the first space or
 * the cut. */
static bool parse_request_line(struct reader line, bool cut, struct request_line *rl)
{
	long sp = rd_find(&line, ' ');

	memset(rl->version, 0, sizeof rl->version);
	if (sp <= 0)
		return false;
	rl->method = rd_sub(&line, (size_t)sp);
	rd_skip(&line, 1);
	if (!is_token(rl->method))
		return false;
	if (cut) {
		sp = rd_find(&line, ' ');
		rl->uri = rd_sub(&line, sp < 0 ? rd_remaining(&line) : (size_t)sp);
		return rd_remaining(&rl->uri) > 0;
	}
	long last = find_last(line, ' ');
	if (last <= 0)
		return false;
	rl->uri = rd_sub(&line, (size_t)last);
	rd_skip(&line, 1);
	return parse_version(line, rl->version);
}

struct status_line {
	char version[4];
	uint16_t status;
	struct reader reason;
};

/* HTTP-version SP 3DIGIT [SP reason] (a missing reason is tolerated). */
static bool parse_status_line(struct reader line, struct status_line *sl)
{
	unsigned status = 0;

	if (!parse_version(rd_sub(&line, 8), sl->version) || rd_u8(&line) != ' ')
		return false;
	for (int i = 0; i < 3; i++) {
		int c = rd_u8(&line);
		if (!is_digit(c))
			return false;
		status = status * 10 + (unsigned)(c - '0');
	}
	if (!rd_ok(&line) || status < 100)
		return false;
	if (rd_remaining(&line) && rd_u8(&line) != ' ')
		return false;
	sl->status = (uint16_t)status;
	sl->reason = rd_rest(&line);
	return true;
}

/* A Content-Length value: digits, or a list of equal ones (RFC 9110 8.6). */
static bool parse_length(struct reader v, uint64_t *out)
{
	bool have = false;

	*out = 0;
	for (;;) {
		long comma = rd_find(&v, ',');
		struct reader item = trim(rd_sub(&v, comma < 0 ? rd_remaining(&v) : (size_t)comma));
		uint64_t n = 0;
		if (!rd_remaining(&item))
			return false;
		while (rd_remaining(&item)) {
			int c = rd_u8(&item);
			if (!is_digit(c) || n > HTTP_MAX_BODY / 10)
				return false;
			n = n * 10 + (uint64_t)(c - '0');
		}
		if (n > HTTP_MAX_BODY || (have && n != *out))
			return false;
		*out = n;
		have = true;
		if (comma < 0)
			return true;
		rd_skip(&v, 1);
	}
}

/* chunk-size [BWS ; chunk-ext]: hex digits, then anything after a ';'. */
static bool parse_chunk_size(struct reader line, uint64_t *out)
{
	uint64_t n = 0;
	int digits = 0;
	int v;

	while ((v = hex_value(rd_peek(&line, 0))) >= 0) {
		if (n > HTTP_MAX_BODY / 16)
			return false;
		n = n * 16 + (uint64_t)v;
		digits++;
		rd_skip(&line, 1);
	}
	while (is_ows(rd_peek(&line, 0)))
		rd_skip(&line, 1);
	if (!digits || (rd_remaining(&line) && rd_peek(&line, 0) != ';'))
		return false;
	*out = n;
	return true;
}

static bool known_method(struct reader method)
{
	for (const char *const *m = http_methods; *m; m++)
		if (rd_remaining(&method) == strlen(*m) && rd_starts_with(&method, *m, strlen(*m)))
			return true;
	return false;
}

static enum http_kind method_kind(struct reader method)
{
	if (rd_remaining(&method) == 4 && rd_starts_with(&method, "HEAD", 4))
		return KIND_HEAD;
	if (rd_remaining(&method) == 7 && rd_starts_with(&method, "CONNECT", 7))
		return KIND_CONNECT;
	return KIND_OTHER;
}

/* ---- transactions ---- */

static void str_free(struct wire_str *s)
{
	wire_str_free(s);
}

/* Keeps v (cut to cap bytes) in s, replacing what s held. */
static void str_set(struct wire_str *s, struct session *ss, struct reader v, size_t cap)
{
	size_t n = rd_remaining(&v);
	const uint8_t *data = rd_take(&v, n);

	if (!data)
		return;
	switch (wire_str_set(s, data, n, cap)) {
	case WIRE_STR_CUT:
		session_count(ss, "http.string_too_long");
		break;
	case WIRE_STR_NO_MEMORY:
		session_count(ss, "http.out_of_memory");
		break;
	default:
		break;
	}
}

/* Keeps v in s unless s already has a value (the first header wins). */
static void str_set_first(struct wire_str *s, struct session *ss, struct reader v, size_t cap)
{
	if (!s->p)
		str_set(s, ss, v, cap);
}

static void txn_free(struct http_txn *t)
{
	str_free(&t->method);
	str_free(&t->uri);
	str_free(&t->host);
	str_free(&t->user_agent);
	str_free(&t->reason);
	str_free(&t->server);
	str_free(&t->content_type);
	str_free(&t->upgrade);
}

static bool grow_txns(struct http_state *st)
{
	unsigned alloc = st->txn_alloc ? st->txn_alloc * 2 : HTTP_FIRST_TXN_ALLOC;
	if (alloc > HTTP_MAX_TRANSACTIONS)
		alloc = HTTP_MAX_TRANSACTIONS;
	struct http_txn *txns = realloc(st->txns, alloc * sizeof *txns);
	if (!txns)
		return false;
	st->txns = txns;
	st->txn_alloc = alloc;
	return true;
}

/* The index of a new, zeroed transaction, or -1 when the flow has its fill
 * (from then on none is kept, so kept requests are always the first ones). */
static int new_txn(struct http_state *st, struct session *s)
{
	if (!st->full && st->n_txns >= HTTP_MAX_TRANSACTIONS) {
		st->full = true;
		session_count(s, "http.too_many_transactions");
	}
	if (!st->full && st->n_txns == st->txn_alloc && !grow_txns(st)) {
		st->full = true;
		session_count(s, "http.out_of_memory");
	}
	if (st->full) {
		st->truncated++;
		return -1;
	}
	struct http_txn *t = &st->txns[st->n_txns];
	memset(t, 0, sizeof *t);
	return (int)st->n_txns++;
}

static struct http_txn *msg_txn(struct http_state *st, enum direction dir)
{
	int i = st->dir[dir].msg.txn;
	return i >= 0 ? &st->txns[i] : NULL;
}

/* The kept transaction the next final response answers, or -1.  advance:
 * it is being answered now. */
static int next_to_answer(struct http_state *st, bool advance)
{
	if (st->requests <= st->answered || st->answered >= st->recorded)
		return -1;
	for (unsigned i = st->resp_next; i < st->n_txns; i++) {
		if (st->txns[i].has_request && !st->txns[i].has_response) {
			if (advance)
				st->resp_next = i + 1;
			return (int)i;
		}
	}
	return -1;
}

/* Remembers a new request's kind, while every unanswered one before it is
 * remembered too (so the ring stays in request order). */
static void push_kind(struct http_state *st, struct session *s, uint8_t kind)
{
	if (st->n_pending == st->requests - st->answered && st->n_pending < HTTP_MAX_PENDING) {
		st->pending[(st->pending_head + st->n_pending) % HTTP_MAX_PENDING] = kind;
		st->n_pending++;
	} else {
		session_count(s, "http.too_many_pipelined");
	}
}

static uint8_t pop_kind(struct http_state *st)
{
	if (!st->n_pending)
		return KIND_OTHER;
	uint8_t kind = st->pending[st->pending_head];
	st->pending_head = (uint8_t)((st->pending_head + 1) % HTTP_MAX_PENDING);
	st->n_pending--;
	return kind;
}

static void malformed(struct session *s, const char *counter)
{
	session_alert(s, ALERT_MALFORMED);
	session_count(s, counter);
}

static void add_body(struct http_state *st, enum direction dir, uint64_t n)
{
	struct http_txn *t = msg_txn(st, dir);

	if (!t)
		return;
	if (dir == DIR_CLIENT)
		t->request_body_len += n;
	else
		t->response_body_len += n;
}

/* ---- messages ---- */

static void start_request(struct http_state *st, struct session *s, const struct request_line *rl,
                          bool cut)
{
	struct http_msg *m = &st->dir[DIR_CLIENT].msg;

	memset(m, 0, sizeof *m);
	m->kind = (uint8_t)method_kind(rl->method);
	push_kind(st, s, m->kind);
	m->ordinal = ++st->requests;
	m->txn = new_txn(st, s);
	st->dir[DIR_CLIENT].phase = PH_HEADERS;
	struct http_txn *t = msg_txn(st, DIR_CLIENT);
	if (!t)
		return;
	st->recorded++;
	t->has_request = true;
	t->headers_truncated = cut;
	str_set(&t->method, s, rl->method, HTTP_MAX_TOKEN);
	str_set(&t->uri, s, rl->uri, HTTP_MAX_URI);
	memcpy(t->version, rl->version, sizeof t->version);
}

static void start_response(struct http_state *st, struct session *s, const struct status_line *sl)
{
	struct http_msg *m = &st->dir[DIR_SERVER].msg;

	memset(m, 0, sizeof *m);
	m->txn = -1;
	m->status = sl->status;
	st->dir[DIR_SERVER].phase = PH_HEADERS;
	if (sl->status < 200 && sl->status != 101) {
		/* interim: noted on the request it precedes, no body, and the
		 * final response is still to come */
		m->interim = true;
		int i = next_to_answer(st, false);
		if (i >= 0 && st->txns[i].n_interim < HTTP_MAX_INTERIM)
			st->txns[i].interim[st->txns[i].n_interim++] = sl->status;
		else if (i >= 0)
			session_count(s, "http.too_many_interim");
		return;
	}
	if (st->requests > st->answered) {
		m->kind = pop_kind(st);
		m->txn = next_to_answer(st, true);
		st->answered++;
	} else {
		m->txn = new_txn(st, s); /* no request seen: a capture begun mid-stream */
	}
	struct http_txn *t = msg_txn(st, DIR_SERVER);
	if (!t)
		return;
	t->has_response = true;
	t->status = sl->status;
	memcpy(t->response_version, sl->version, sizeof t->response_version);
	str_set(&t->reason, s, sl->reason, HTTP_MAX_TOKEN);
}

/* A start line in direction dir; false when it is none.  strict (when
 * resynchronising, where any line of a body may come by): only a method
 * the probe knows. */
static bool start_message(struct http_state *st, struct session *s, enum direction dir,
                          struct reader line, bool cut, bool strict)
{
	if (dir == DIR_CLIENT) {
		struct request_line rl;
		if (!parse_request_line(line, cut, &rl) || (strict && !known_method(rl.method)))
			return false;
		start_request(st, s, &rl, cut);
		return true;
	}
	struct status_line sl;
	if (cut || !parse_status_line(line, &sl))
		return false;
	start_response(st, s, &sl);
	return true;
}

/* The message in direction dir is complete: look for the next one. */
static void message_done(struct http_state *st, enum direction dir)
{
	struct http_dir *d = &st->dir[dir];

	if (dir == DIR_CLIENT && d->msg.kind == KIND_CONNECT)
		d->phase = PH_AWAIT; /* a tunnel or more requests: the answer says */
	else
		d->phase = PH_START;
}

/* The message's position is lost: skip lines until a start line. */
static void resync(struct http_state *st, struct session *s, enum direction dir)
{
	st->dir[dir].phase = PH_RESYNC;
	session_count(s, "http.resync");
}

/* No more HTTP on this connection; both directions' bytes are consumed. */
static void stop_parsing(struct http_state *st)
{
	st->dir[DIR_CLIENT].phase = PH_DONE;
	st->dir[DIR_SERVER].phase = PH_DONE;
}

/* A 2xx answer to CONNECT: what follows is a tunnel, most often TLS. */
static void tunnel(struct http_state *st, struct session *s)
{
	stop_parsing(st);
	if (session_handoff(s, "tls")) {
		st->stop = true; /* the rest of this call's bytes are TLS's */
		return;
	}
	struct http_txn *t = msg_txn(st, DIR_SERVER);
	if (t)
		t->tunnelled = true;
	session_count(s, "http.tunnelled");
}

/* Starts a body of n bytes (none when n is 0). */
static void expect_body(struct http_state *st, enum direction dir, uint64_t n)
{
	if (n == 0) {
		message_done(st, dir);
		return;
	}
	st->dir[dir].msg.left = n;
	st->dir[dir].phase = PH_BODY;
}

static void request_headers_done(struct http_state *st, struct session *s)
{
	struct http_msg *m = &st->dir[DIR_CLIENT].msg;

	if (m->chunked) {
		st->dir[DIR_CLIENT].phase = PH_CHUNK_SIZE;
	} else if (m->other_coding || m->bad_length) {
		/* a server answers 400 and closes (RFC 9112 6.3): no framing */
		malformed(s,
		          m->bad_length ? "http.bad_content_length" : "http.bad_transfer_coding");
		resync(st, s, DIR_CLIENT);
	} else {
		/* neither length nor chunked: a request has no body */
		expect_body(st, DIR_CLIENT, m->has_length ? m->length : 0);
	}
}

static void response_headers_done(struct http_state *st, struct session *s)
{
	struct http_msg *m = &st->dir[DIR_SERVER].msg;
	struct http_dir *d = &st->dir[DIR_SERVER];
	unsigned status = m->status;

	if (m->interim) {
		d->phase = PH_START;
	} else if (status == 101) {
		stop_parsing(st); /* Switching Protocols: HTTP ends here */
		session_count(s, "http.upgrade");
	} else if (m->kind == KIND_CONNECT && status >= 200 && status < 300) {
		tunnel(st, s);
	} else if (m->kind == KIND_HEAD || status == 204 || status == 304) {
		message_done(st, DIR_SERVER);
	} else if (m->chunked) {
		d->phase = PH_CHUNK_SIZE;
	} else if (m->other_coding) {
		d->phase = PH_UNTIL_CLOSE;
	} else if (m->bad_length) {
		malformed(s, "http.bad_content_length");
		d->phase = PH_UNTIL_CLOSE;
	} else if (m->has_length) {
		expect_body(st, DIR_SERVER, m->length);
	} else {
		d->phase = PH_UNTIL_CLOSE; /* the body runs to the end of the stream */
	}
}

static void content_length(struct http_msg *m, struct reader v)
{
	uint64_t n;

	if (!parse_length(v, &n) || (m->has_length && m->length != n))
		m->bad_length = true;
	m->has_length = true;
	m->length = n;
}

/* Transfer-Encoding: only the final coding matters for framing. */
static void transfer_encoding(struct http_msg *m, struct reader v)
{
	long comma;

	while ((comma = rd_find(&v, ',')) >= 0)
		rd_skip(&v, (size_t)comma + 1);
	struct reader last = trim(v);
	if (!rd_remaining(&last))
		return;
	m->chunked = equals_nocase(last, "chunked");
	m->other_coding = !m->chunked;
}

static void header_line(struct http_state *st, struct session *s, enum direction dir,
                        struct reader line, bool cut)
{
	struct http_msg *m = &st->dir[dir].msg;
	struct http_txn *t = m->interim ? NULL : msg_txn(st, dir);

	if (cut && t)
		t->headers_truncated = true;
	if (is_ows(rd_peek(&line, 0))) {
		session_count(s, "http.obs_fold"); /* a folded continuation: ignored */
		return;
	}
	if (++m->n_headers > HTTP_MAX_HEADERS) {
		if (m->n_headers == HTTP_MAX_HEADERS + 1) {
			session_count(s, "http.too_many_headers");
			if (t)
				t->headers_truncated = true;
		}
		return;
	}
	long colon = rd_find(&line, ':');
	struct reader name = rd_sub(&line, colon > 0 ? (size_t)colon : 0);
	if (colon <= 0 || !is_token(name)) {
		malformed(s, "http.bad_header");
		return;
	}
	rd_skip(&line, 1);
	struct reader value = trim(line);

	if (equals_nocase(name, "content-length")) {
		content_length(m, value);
	} else if (equals_nocase(name, "transfer-encoding")) {
		transfer_encoding(m, value);
	} else if (equals_nocase(name, "upgrade")) {
		m->upgrade = true;
		if (t && (dir == DIR_CLIENT || m->status == 101))
			str_set(&t->upgrade, s, value, HTTP_MAX_TOKEN);
	} else if (!t) {
		return;
	} else if (dir == DIR_CLIENT) {
		if (equals_nocase(name, "host"))
			str_set_first(&t->host, s, value, HTTP_MAX_STRING);
		else if (equals_nocase(name, "user-agent"))
			str_set_first(&t->user_agent, s, value, HTTP_MAX_STRING);
	} else {
		if (equals_nocase(name, "server"))
			str_set_first(&t->server, s, value, HTTP_MAX_STRING);
		else if (equals_nocase(name, "content-type"))
			str_set_first(&t->content_type, s, value, HTTP_MAX_STRING);
	}
}

static void chunk_size_line(struct http_state *st, struct session *s, enum direction dir,
                            struct reader line)
{
	struct http_dir *d = &st->dir[dir];
	uint64_t n;

	if (!parse_chunk_size(line, &n)) {
		malformed(s, "http.bad_chunk");
		struct http_txn *t = msg_txn(st, dir);
		if (t)
			t->incomplete = true;
		resync(st, s, dir);
		return;
	}
	if (n == 0) {
		d->phase = PH_TRAILERS;
		return;
	}
	d->msg.left = n;
	d->phase = PH_CHUNK_DATA;
}

static void on_line(struct http_state *st, struct session *s, enum direction dir,
                    struct reader line, bool cut)
{
	struct http_dir *d = &st->dir[dir];
	bool empty = rd_remaining(&line) == 0;

	if (cut && d->phase != PH_RESYNC)
		session_count(s, "http.header_too_long");
	switch (d->phase) {
	case PH_START:
		if (empty)
			return; /* blank lines before a message are allowed */
		if (start_message(st, s, dir, line, cut, false))
			return;
		if (dir == DIR_CLIENT && d->msg.upgrade && st->answered < d->msg.ordinal) {
			/* the protocol asked for may have begun before its 101 */
			session_count(s, "http.data_before_upgrade");
		} else {
			malformed(s, "http.bad_start_line");
		}
		resync(st, s, dir);
		return;
	case PH_RESYNC:
		if (!cut && !empty)
			start_message(st, s, dir, line, false, true);
		return;
	case PH_HEADERS:
		if (!empty)
			header_line(st, s, dir, line, cut);
		else if (dir == DIR_CLIENT)
			request_headers_done(st, s);
		else
			response_headers_done(st, s);
		return;
	case PH_CHUNK_END:
		if (empty) {
			d->phase = PH_CHUNK_SIZE;
			return;
		}
		/* no CRLF after the data: take it as the next size if it is one */
		malformed(s, "http.bad_chunk");
		chunk_size_line(st, s, dir, line);
		return;
	case PH_CHUNK_SIZE:
		chunk_size_line(st, s, dir, line);
		return;
	case PH_TRAILERS:
		if (empty)
			message_done(st, dir);
		return;
	default:
		return;
	}
}

/* ---- the dissector ---- */

/* Compares the start of r with lit: NO on a difference, NEED_MORE when r
 * ends first, YES (and r moved past lit) when it matches. */
static enum verdict match(struct reader *r, const char *lit)
{
	size_t n = strlen(lit);
	size_t have = rd_remaining(r) < n ? rd_remaining(r) : n;

	/* (no memcmp on an empty reader, whose data may be NULL) */
	if (have && !rd_starts_with(r, lit, have))
		return VERDICT_NO;
	if (have < n)
		return VERDICT_NEED_MORE;
	rd_skip(r, n);
	return VERDICT_YES;
}

/* "HTTP/1.x NNN" */
static enum verdict probe_response(struct reader r)
{
	enum verdict v = match(&r, "HTTP/1.");
	if (v != VERDICT_YES)
		return v;
	for (int i = 0; i < 5; i++) {
		int c = rd_peek(&r, 0);
		if (c < 0)
			return VERDICT_NEED_MORE;
		if (i == 1 ? c != ' ' : !is_digit(c))
			return VERDICT_NO;
		rd_skip(&r, 1);
	}
	return VERDICT_YES;
}

/* A known method, SP, a target (visible bytes), SP, "HTTP/1." */
static enum verdict probe_request(struct reader r)
{
	enum verdict best = VERDICT_NO;

	for (const char *const *m = http_methods; *m; m++) {
		struct reader t = r;
		enum verdict v = match(&t, *m);
		if (v == VERDICT_YES)
			v = match(&t, " ");
		if (v == VERDICT_NEED_MORE)
			best = VERDICT_NEED_MORE;
		if (v != VERDICT_YES)
			continue;
		size_t target = 0;
		int c;
		while ((c = rd_peek(&t, 0)) > ' ' && c != 0x7f) {
			rd_skip(&t, 1);
			target++;
		}
		if (c < 0)
			return VERDICT_NEED_MORE;
		if (c != ' ' || target == 0)
			return VERDICT_NO;
		rd_skip(&t, 1);
		return match(&t, "HTTP/1.");
	}
	return best;
}

static enum verdict http_probe(struct reader r, enum direction dir)
{
	(void)dir; /* either form, whichever side sent it */
	enum verdict resp = probe_response(r);
	enum verdict req = probe_request(r);

	if (resp == VERDICT_YES || req == VERDICT_YES)
		return VERDICT_YES;
	if (resp == VERDICT_NEED_MORE || req == VERDICT_NEED_MORE)
		return VERDICT_NEED_MORE;
	return VERDICT_NO;
}

/* Body bytes of known length that are here; true when the body (or the
 * chunk) is complete. */
static bool take_body(struct http_state *st, enum direction dir, struct reader *r)
{
	struct http_msg *m = &st->dir[dir].msg;
	size_t n = rd_remaining(r) < m->left ? rd_remaining(r) : (size_t)m->left;

	rd_skip(r, n);
	m->left -= n;
	add_body(st, dir, n);
	return m->left == 0;
}

static void body_done(struct http_state *st, enum direction dir)
{
	struct http_dir *d = &st->dir[dir];

	if (d->phase == PH_CHUNK_DATA)
		d->phase = PH_CHUNK_END;
	else
		message_done(st, dir);
}

/* A client waiting for the answer to CONNECT: the answer came (and was no
 * tunnel, or the phase would be PH_DONE). */
static bool await_over(struct http_state *st)
{
	struct http_dir *d = &st->dir[DIR_CLIENT];

	if (st->answered < d->msg.ordinal)
		return false;
	d->phase = PH_START;
	return true;
}

static size_t http_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct http_state *st = state;
	struct http_dir *d = &st->dir[dir];
	struct reader line;
	bool cut;

	if (!d->lines.max_line)
		d->lines.max_line = HTTP_MAX_LINE;
	while (rd_remaining(&r) && !st->stop) {
		switch (d->phase) {
		case PH_DONE:
			rd_skip(&r, rd_remaining(&r));
			break;
		case PH_BODY:
		case PH_CHUNK_DATA:
			if (take_body(st, dir, &r))
				body_done(st, dir);
			break;
		case PH_UNTIL_CLOSE:
			add_body(st, dir, rd_remaining(&r));
			rd_skip(&r, rd_remaining(&r));
			break;
		case PH_AWAIT:
			if (!await_over(st))
				goto out;
			break;
		default:
			if (line_next(&d->lines, &r, &line, &cut) != FRAME_OK)
				goto out;
			on_line(st, s, dir, line, cut);
			break;
		}
	}
out:
	st->stop = false;
	d->partial = rd_remaining(&r) > 0;
	return rd_offset(&r);
}

static bool inside_message(uint8_t phase)
{
	return phase == PH_HEADERS || phase == PH_BODY || phase == PH_CHUNK_SIZE ||
	       phase == PH_CHUNK_DATA || phase == PH_CHUNK_END || phase == PH_TRAILERS;
}

static void http_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct http_state *st = state;
	struct http_dir *d = &st->dir[dir];
	struct http_txn *t =
	    inside_message(d->phase) || d->phase == PH_UNTIL_CLOSE ? msg_txn(st, dir) : NULL;

	d->partial = false;
	if (t)
		t->gap = true;
	switch (d->phase) {
	case PH_DONE:
		return;
	case PH_UNTIL_CLOSE:
		add_body(st, dir, missing);
		return;
	case PH_BODY:
	case PH_CHUNK_DATA:
		if (missing <= d->msg.left) {
			/* the hole is inside the body: still in step */
			d->msg.left -= missing;
			add_body(st, dir, missing);
			if (d->msg.left == 0)
				body_done(st, dir);
			return;
		}
		break;
	default:
		break;
	}
	if (t)
		t->incomplete = true;
	line_gap(&d->lines);
	resync(st, s, dir);
}

static void http_on_end(struct session *s, void *state)
{
	struct http_state *st = state;

	for (int i = 0; i < 2; i++) {
		struct http_dir *d = &st->dir[i];
		if (inside_message(d->phase)) {
			struct http_txn *t = msg_txn(st, (enum direction)i);
			if (t)
				t->incomplete = true;
			session_count(s, "http.incomplete_message");
		} else if (d->phase == PH_START && d->partial) {
			session_count(s, "http.incomplete_message");
		}
	}
}

static void http_release(void *state)
{
	struct http_state *st = state;

	for (unsigned i = 0; i < st->n_txns; i++)
		txn_free(&st->txns[i]);
	free(st->txns);
	st->txns = NULL;
	st->n_txns = st->txn_alloc = 0;
}

/* ---- output ---- */

static void emit_hstr(struct emitter *e, const char *key, const struct wire_str *s)
{
	if (s->p)
		emit_strn(e, key, s->p, s->len);
	else
		emit_null(e, key);
}

static void emit_txn(const struct http_txn *t, struct emitter *e)
{
	emit_object_begin(e, NULL);
	emit_hstr(e, "method", &t->method);
	emit_hstr(e, "host", &t->host);
	emit_hstr(e, "uri", &t->uri);
	emit_hstr(e, "user_agent", &t->user_agent);
	if (t->has_response)
		emit_int(e, "status", t->status);
	else
		emit_null(e, "status");
	emit_str(e, "version", t->version[0] ? t->version : NULL);
	if (t->has_request)
		emit_int(e, "request_body_len", (int64_t)t->request_body_len);
	else
		emit_null(e, "request_body_len");
	if (t->has_response) {
		emit_hstr(e, "reason", &t->reason);
		emit_str(e, "response_version", t->response_version);
		emit_hstr(e, "server", &t->server);
		emit_hstr(e, "content_type", &t->content_type);
		emit_int(e, "response_body_len", (int64_t)t->response_body_len);
	} else {
		emit_null(e, "response_body_len");
	}
	if (t->n_interim) {
		emit_array_begin(e, "informational");
		for (unsigned i = 0; i < t->n_interim; i++)
			emit_int(e, NULL, t->interim[i]);
		emit_array_end(e);
	}
	if (t->status == 101 && t->has_response)
		emit_hstr(e, "upgrade", &t->upgrade);
	if (t->tunnelled)
		emit_bool(e, "tunnelled", true);
	if (t->incomplete)
		emit_bool(e, "incomplete", true);
	if (t->gap)
		emit_bool(e, "gap", true);
	if (t->headers_truncated)
		emit_bool(e, "headers_truncated", true);
	emit_object_end(e);
}

static void http_emit(const void *state, struct emitter *e)
{
	const struct http_state *st = state;

	emit_array_begin(e, "requests");
	for (unsigned i = 0; i < st->n_txns; i++)
		emit_txn(&st->txns[i], e);
	emit_array_end(e);
	if (st->truncated)
		emit_int(e, "truncated", st->truncated);
}

/* Appends to a summary buffer; the wire text made safe for a terminal. */
/* "GET example.com/ -> 200 (+2 more)" */
static void http_summarize(const void *state, char *buf, size_t n)
{
	const struct http_state *st = state;
	struct summary sum = summary_start(buf, n);

	if (st->n_txns == 0)
		return;
	const struct http_txn *t = &st->txns[0];
	if (t->has_request) {
		summary_add_wire(&sum, t->method.p, t->method.len);
		summary_add(&sum, " ");
		/* origin-form targets read better behind the host */
		if (t->host.p && t->uri.len && t->uri.p[0] == '/')
			summary_add_wire(&sum, t->host.p, t->host.len);
		summary_add_wire(&sum, t->uri.p, t->uri.len);
	} else {
		summary_add(&sum, "(no request)");
	}
	if (t->has_response)
		summary_addf(&sum, " -> %u", t->status);
	else
		summary_add(&sum, " -> no response");
	if (st->n_txns + st->truncated > 1)
		summary_addf(&sum, " (+%u more)", st->n_txns + st->truncated - 1);
}

const struct dissector http_dissector = {
    .name = "http",
    .transports = TRANSPORT_BIT_TCP,
    .ports = http_ports,
    .state_size = sizeof(struct http_state),
    .probe = http_probe,
    .on_data = http_on_data,
    .on_gap = http_on_gap,
    .on_end = http_on_end,
    .emit = http_emit,
    .summarize = http_summarize,
    .release = http_release,
};
