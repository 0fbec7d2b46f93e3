/* SIP (RFC 3261) over UDP and TCP, and the SDP (RFC 8866, formerly RFC 4566)
 * offers and answers it carries; port 5061 is SIP over TLS and stays TLS.
 *
 * A message is a start line (a request "METHOD Request-URI SIP/2.0" or a
 * status line "SIP/2.0 200 OK"), header lines, an empty line and a body.
 * Over UDP each datagram is one message (RFC 3261 18.3): the body is the
 * rest of the datagram (cut to Content-Length when that is smaller).  Over
 * TCP messages follow each other in the stream: the header lines come from
 * the core's line framer, and the body is Content-Length bytes (none when
 * absent), waited for whole up to SIP_MAX_BODY and skipped beyond it.
 * Header names are case-insensitive and have compact forms (RFC 3261
 * 7.3.3: i, m, l, c, f, t, v, k, s, e, o, r, u, b, x ...); a header line may
 * be folded onto lines that start with a space or tab (7.3.1).
 *
 * Requests and responses are paired into transactions keyed by Call-ID and
 * CSeq (number and method): a retransmitted request joins its transaction,
 * an ACK or CANCEL is a transaction of its own (its CSeq method differs),
 * and a response whose request was not seen makes a transaction from its
 * CSeq.  Each keeps the request's method, Request-URI, From / To (URI,
 * display name, tag), Call-ID, CSeq, User-Agent, Via hops (sent-by,
 * transport, branch), Contact, Content-Type, Expires, the digest user name
 * and realm of an Authorization / Proxy-Authorization header, and the
 * response codes in order (the last one is "status").
 *
 * SDP bodies: the connection address (c=, session or media level), each
 * media line (m=audio 49170 RTP/AVP 0 8 97), its codecs (a=rtpmap, else
 * the RFC 3551 static payload types), a=rtcp (RFC 3605) and a=rtcp-mux
 * (RFC 5761).  Each RTP media port announced is filed as an expected UDP
 * flow for the "rtp" dissector (its RTCP port too: port + 1, or a=rtcp's,
 * none with rtcp-mux), with a note "rtp audio <Call-ID>" that the RTP
 * record shows; a port or address announced twice (a retransmitted INVITE,
 * the ACK repeating an offer) is filed once.
 *
 * Credentials: SIP digest authentication (RFC 3261 22.4, RFC 2617) sends the
 * user name and realm in the clear but never the password (the response is
 * a hash), so, like Zeek's sip.log and Wireshark's credentials tap, the user
 * name and realm are recorded and no alert is raised; Basic authentication,
 * which RFC 3261 22.1 forbids, does carry the password: cleartext-credentials
 * (the password shown only with --show-credentials).  Plain SIP is not
 * flagged insecure-protocol either (neither Zeek nor Wireshark do; TLS on
 * 5061 is a separate flow).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/base64.h"
#include "portolan/dissector.h"
#include "portolan/framing.h"
#include "portolan/summary.h"
#include "portolan/wirestr.h"

/* A start or header line; longer ones are cut (counted). */
#define SIP_MAX_LINE 4096
/* A header value after unfolding; longer ones are cut (counted). */
#define SIP_MAX_HEADER 1024
/* Bytes kept of a URI, a name, a Call-ID, a header value. */
#define SIP_MAX_STRING 256
/* Transactions, response codes per transaction, Via hops per message. */
#define SIP_MAX_TXNS 64
#define SIP_MAX_STATUSES 8
#define SIP_MAX_VIAS 8
/* SDP media lines kept, codecs per media line, expectations remembered. */
#define SIP_MAX_MEDIA 16
#define SIP_MAX_CODECS 8
#define SIP_MAX_FILED 32
/* A TCP body over this is skipped unread (its message is still kept). */
#define SIP_MAX_BODY (64 * 1024)
/* How long an announced media port is expected, packet time. */
#define SIP_MEDIA_DEADLINE (60 * USEC_PER_SEC)

static const uint16_t sip_ports[] = {5060, 0};

/* The methods the probe recognises (RFC 3261, 3262, 3265, 3311, 3428, 3515,
 * 3903, 6086); on_data takes any token. */
static const char *const sip_methods[] = {
    "INVITE", "ACK",     "BYE",  "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE",
    "NOTIFY", "PUBLISH", "INFO", "REFER",  "MESSAGE", "UPDATE",   NULL,
};

/* RFC 3551 static payload types (audio and video). */
static const struct value_name static_payloads[] = {
    {0, "PCMU"},   {3, "GSM"},   {4, "G723"},  {5, "DVI4"},  {6, "DVI4"},
    {7, "LPC"},    {8, "PCMA"},  {9, "G722"},  {10, "L16"},  {11, "L16"},
    {12, "QCELP"}, {13, "CN"},   {14, "MPA"},  {15, "G728"}, {16, "DVI4"},
    {17, "DVI4"},  {18, "G729"}, {25, "CelB"}, {26, "JPEG"}, {28, "nv"},
    {31, "H261"},  {32, "MPV"},  {33, "MP2T"}, {34, "H263"}, {0, NULL},
};

/* A short token from the wire (media type, transport, codec): raw bytes. */
struct sip_tok {
	uint8_t len;
	char b[31];
};

static void tok_set(struct sip_tok *t, const void *p, size_t n)
{
	if (n > sizeof t->b)
		n = sizeof t->b;
	if (n)
		memcpy(t->b, p, n);
	t->len = (uint8_t)n;
}

/* A token read from v (cut to fit). */
static void tok_take(struct sip_tok *t, struct reader v)
{
	size_t n = rd_remaining(&v);
	if (n > sizeof t->b)
		n = sizeof t->b;
	if (n)
		rd_copy(&v, t->b, n);
	t->len = (uint8_t)n;
}

struct sip_via {
	struct wire_str transport, sent_by, branch;
};

struct sip_auth {
	struct wire_str scheme, user, realm, password; /* password: Basic only */
	bool proxy;
};

/* The fields a message's headers give, and a transaction keeps. */
struct sip_fields {
	struct wire_str from, from_name, from_tag, to, to_name, to_tag, call_id, cseq_method;
	struct wire_str user_agent, server, contact, content_type;
	uint32_t cseq;
	bool has_cseq, has_expires;
	int64_t expires;
	struct sip_via vias[SIP_MAX_VIAS];
	uint8_t n_vias;
	uint32_t vias_truncated;
	struct sip_auth auth;
	bool has_auth;
};

enum sip_phase { P_START = 0, P_HEADERS, P_BODY, P_SKIP };

/* One direction's message being read. */
struct sip_msg {
	bool request;
	struct wire_str method, uri, reason;
	uint16_t status;
	struct sip_fields f;
	long content_length; /* -1: absent */
	bool bad_length;
	/* the header being unfolded */
	char hdr[SIP_MAX_HEADER];
	size_t hdr_len;
	bool hdr_cut;
};

struct sip_txn {
	struct wire_str method, uri, reason;
	struct sip_fields f;
	uint16_t statuses[SIP_MAX_STATUSES];
	uint8_t n_statuses;
	bool seen_request, sdp_offer, sdp_answer;
	uint8_t request_dir;
	uint32_t requests, responses;
};

struct sip_media {
	struct wire_str call_id;
	char origin[16]; /* "INVITE", "200", "ACK" ... */
	struct sip_tok media, proto, addr_text, direction;
	struct sip_tok codecs[SIP_MAX_CODECS];
	uint8_t pts[SIP_MAX_CODECS]; /* the payload type of each codec (RTP) */
	uint8_t n_codecs;
	uint32_t codecs_truncated;
	struct ip_addr addr;
	bool has_addr, own_c, rtcp_mux, has_rtcp_port;
	uint16_t port, rtcp_port;
	bool expected_rtp, expected_rtcp;
};

struct sip_filed {
	struct ip_addr addr;
	uint16_t port;
};

struct sip_dir {
	struct line_state lines;
	enum sip_phase phase;
	uint64_t skip_left;
	struct sip_msg msg;
};

struct sip_state {
	struct sip_dir dir[2];
	struct sip_txn *txns; /* SIP_MAX_TXNS, made on the first message */
	uint32_t n_txns, txns_truncated;
	struct sip_media *media; /* SIP_MAX_MEDIA, made on the first SDP */
	uint32_t n_media, media_truncated;
	struct sip_filed filed[SIP_MAX_FILED];
	uint32_t n_filed;
	char note[EXPECT_NOTE_MAX]; /* the last expectation's note */
	struct wire_str user_agent, server;
	uint32_t requests, responses, retransmissions, keepalives;
	uint32_t malformed, bodies_skipped;
	bool gap, truncated;
};

/* ---- small text helpers ----
 * Every look at a header value, a start line or an SDP line goes through a
 * struct reader over it (include/portolan/reader.h): rd_peek answers -1 past
 * the end, and rd_take only hands a whole validated span to a copy. */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_ws(int c)
{
	return c == ' ' || c == '\t';
}

/* v without its leading spaces and tabs and its trailing spaces, tabs and
 * CRs. */
static struct reader trim(struct reader v)
{
	return rd_rtrim(rd_ltrim(v, " \t"), " \t\r");
}

/* The first n bytes of v (all of it when shorter). */
static struct reader head(struct reader v, size_t n)
{
	size_t have = rd_remaining(&v);
	return rd_slice(&v, 0, n < have ? n : have);
}

/* v after its first `from` bytes (empty when it is not that long). */
static struct reader tail(struct reader v, size_t from)
{
	size_t have = rd_remaining(&v);
	return from <= have ? rd_slice(&v, from, have - from) : rd_init(NULL, 0);
}

/* Offset of the first byte c in v, or v's length. */
static size_t find_or_end(struct reader v, uint8_t c)
{
	long at = rd_find(&v, c);
	return at < 0 ? rd_remaining(&v) : (size_t)at;
}

/* v without the double quotes around it, when it has both. */
static struct reader unquote(struct reader v)
{
	size_t n = rd_remaining(&v);
	if (n >= 2 && rd_peek(&v, 0) == '"' && rd_peek(&v, n - 1) == '"')
		return rd_slice(&v, 1, n - 2);
	return v;
}

/* Offset of c in v outside double quotes and angle brackets, or v's length. */
static size_t find_outside(struct reader v, int c)
{
	size_t n = rd_remaining(&v);
	bool quoted = false;
	int angle = 0;
	for (size_t i = 0; i < n; i++) {
		int ch = rd_peek(&v, i);
		if (quoted) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				quoted = false;
			continue;
		}
		if (ch == '"')
			quoted = true;
		else if (ch == '<')
			angle++;
		else if (ch == '>' && angle)
			angle--;
		else if (ch == c && !angle)
			return i;
	}
	return n;
}

static void keep(struct session *s, struct wire_str *w, struct reader v)
{
	size_t n = rd_remaining(&v);
	const uint8_t *p = rd_take(&v, n); /* the whole span, for the copy */
	wire_str_free(w);
	enum wire_str_result res = wire_str_set(w, p ? p : (const uint8_t *)"", n, SIP_MAX_STRING);
	if (res == WIRE_STR_CUT)
		session_count(s, "sip.string_cut");
	else if (res == WIRE_STR_NO_MEMORY)
		session_count(s, "sip.out_of_memory");
}

/* A copy of a string kept before (a reader over the dissector's own copy). */
static struct reader kept(const struct wire_str *w)
{
	return rd_init(w->p, w->p ? w->len : 0);
}

static void keep_if_unset(struct session *s, struct wire_str *w, struct reader v)
{
	if (!w->p)
		keep(s, w, v);
}

/* Moves src into dst (dst's old string freed), leaving src empty. */
static void move_str(struct wire_str *dst, struct wire_str *src)
{
	if (!src->p)
		return;
	wire_str_free(dst);
	*dst = *src;
	src->p = NULL;
	src->len = 0;
}

/* The value of parameter `name` in ";a=b;name=value;..." (value unquoted),
 * searched from the first ';' outside quotes and brackets. */
static bool param(struct reader params, const char *name, struct reader *out)
{
	size_t n = rd_remaining(&params);
	size_t at = find_outside(params, ';');
	while (at < n) {
		struct reader rest = tail(params, at + 1);
		size_t end = find_outside(rest, ';');
		struct reader one = trim(head(rest, end));
		size_t eq = find_or_end(one, '=');
		struct reader key = trim(head(one, eq));
		if (rd_ieq(&key, name)) {
			*out = unquote(trim(tail(one, eq + 1)));
			return true;
		}
		at += 1 + end;
	}
	return false;
}

/* ---- header values ---- */

/* name-addr / addr-spec (From, To, Contact): display name, URI, tag. */
static void read_name_addr(struct session *s, struct reader v, struct wire_str *uri,
                           struct wire_str *name, struct wire_str *tag)
{
	v = trim(v);
	size_t n = rd_remaining(&v);
	size_t lt = n; /* the '<' outside a quoted display name */
	bool quoted = false;
	for (size_t i = 0; i < n; i++) {
		int c = rd_peek(&v, i);
		if (quoted) {
			if (c == '\\')
				i++;
			else if (c == '"')
				quoted = false;
		} else if (c == '"') {
			quoted = true;
		} else if (c == '<') {
			lt = i;
			break;
		}
	}
	struct reader params;
	if (lt < n) {
		struct reader disp = unquote(trim(head(v, lt)));
		if (name && rd_remaining(&disp))
			keep(s, name, disp);
		struct reader inner = tail(v, lt + 1);
		size_t gt = lt + 1 + find_or_end(inner, '>');
		if (uri)
			keep(s, uri, trim(head(inner, gt - lt - 1)));
		params = tail(v, gt + 1);
	} else {
		/* addr-spec: its parameters are the header's (RFC 3261 20.10) */
		size_t semi = find_outside(v, ';');
		if (uri)
			keep(s, uri, trim(head(v, semi)));
		params = tail(v, semi);
	}
	struct reader t;
	if (tag && param(params, "tag", &t) && rd_remaining(&t))
		keep(s, tag, t);
}

/* One Via header: "SIP/2.0/UDP host:port;branch=z9hG4bK...", possibly
 * several comma-separated hops. */
static void read_via(struct session *s, struct sip_fields *f, struct reader v)
{
	while (rd_remaining(&v)) {
		size_t comma = find_outside(v, ',');
		struct reader hop = trim(head(v, comma));
		v = tail(v, comma + 1);
		if (!rd_remaining(&hop))
			continue;
		if (f->n_vias >= SIP_MAX_VIAS) {
			if (!f->vias_truncated++)
				session_count(s, "sip.too_many_vias");
			continue;
		}
		struct sip_via *h = &f->vias[f->n_vias++];
		size_t hn = rd_remaining(&hop), i = 0, slash = hn;
		int c;
		while (i < hn && !is_ws(c = rd_peek(&hop, i))) { /* sent-protocol */
			if (c == '/')
				slash = i;
			i++;
		}
		/* "SIP / 2.0 / UDP" with spaces is legal but rare: the last token */
		if (slash < i)
			keep(s, &h->transport, rd_slice(&hop, slash + 1, i - slash - 1));
		struct reader rest = trim(tail(hop, i));
		size_t semi = find_outside(rest, ';');
		keep(s, &h->sent_by, trim(head(rest, semi)));
		struct reader b;
		if (param(tail(rest, semi), "branch", &b))
			keep(s, &h->branch, b);
	}
}

/* Authorization / Proxy-Authorization: scheme and, for Digest, username and
 * realm; for Basic, the decoded user (and password). */
static void read_auth(struct session *s, struct sip_fields *f, struct reader v, bool proxy)
{
	v = trim(v);
	size_t vn = rd_remaining(&v), i = 0;
	while (i < vn && !is_ws(rd_peek(&v, i)))
		i++;
	struct reader scheme = head(v, i);
	struct reader rest = trim(tail(v, i));
	struct sip_auth *a = &f->auth;
	f->has_auth = true;
	a->proxy = proxy;
	keep(s, &a->scheme, scheme);
	if (rd_ieq(&scheme, "Basic")) {
		uint8_t out[SIP_MAX_STRING];
		size_t n = 0;
		bool over = false;
		if (base64_decode(rest, out, sizeof out, &n, &over)) {
			struct reader dec = rd_init(out, n);
			size_t colon = find_or_end(dec, ':');
			keep(s, &a->user, head(dec, colon));
			if (colon < n && session_show_credentials(s))
				keep(s, &a->password, tail(dec, colon + 1));
		}
		session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
		return;
	}
	/* Digest and others: comma-separated auth-params; read them as ;-params
	 * from a copy whose commas outside quotes become ';' */
	char buf[SIP_MAX_HEADER + 1];
	size_t rn = rd_remaining(&rest);
	size_t n = rn < SIP_MAX_HEADER ? rn : SIP_MAX_HEADER;
	buf[0] = ';';
	struct reader src = head(rest, n);
	if (n)
		rd_copy(&src, buf + 1, n);
	bool quoted = false;
	for (size_t k = 0; k < n; k++) {
		int c = rd_peek(&rest, k);
		if (quoted && c == '\\')
			k++;
		else if (c == '"')
			quoted = !quoted;
		else if (!quoted && c == ',')
			buf[1 + k] = ';';
	}
	struct reader ps = rd_init(buf, n + 1), u;
	if (param(ps, "username", &u))
		keep(s, &a->user, u);
	if (param(ps, "realm", &u))
		keep(s, &a->realm, u);
}

/* ---- transactions ---- */

static void fields_free(struct sip_fields *f)
{
	struct wire_str *all[] = {
	    &f->from,        &f->from_name, &f->from_tag,   &f->to,
	    &f->to_name,     &f->to_tag,    &f->call_id,    &f->cseq_method,
	    &f->user_agent,  &f->server,    &f->contact,    &f->content_type,
	    &f->auth.scheme, &f->auth.user, &f->auth.realm, &f->auth.password};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		wire_str_free(all[i]);
	for (uint8_t i = 0; i < f->n_vias; i++) {
		wire_str_free(&f->vias[i].transport);
		wire_str_free(&f->vias[i].sent_by);
		wire_str_free(&f->vias[i].branch);
	}
	memset(f, 0, sizeof *f);
}

static void msg_reset(struct sip_msg *m)
{
	wire_str_free(&m->method);
	wire_str_free(&m->uri);
	wire_str_free(&m->reason);
	fields_free(&m->f);
	m->request = false;
	m->status = 0;
	m->content_length = -1;
	m->bad_length = false;
	m->hdr_len = 0;
	m->hdr_cut = false;
}

static bool same(const struct wire_str *a, const struct wire_str *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static struct sip_txn *find_txn(struct sip_state *st, const struct sip_msg *m)
{
	for (uint32_t i = st->n_txns; i-- > 0;) {
		struct sip_txn *t = &st->txns[i];
		if (t->f.cseq == m->f.cseq && same(&t->f.call_id, &m->f.call_id) &&
		    same(&t->f.cseq_method, &m->f.cseq_method))
			return t;
	}
	return NULL;
}

static struct sip_txn *new_txn(struct sip_state *st, struct session *s)
{
	if (st->n_txns >= SIP_MAX_TXNS) {
		if (!st->txns_truncated++)
			session_count(s, "sip.too_many_transactions");
		return NULL;
	}
	if (!st->txns && !(st->txns = calloc(SIP_MAX_TXNS, sizeof *st->txns))) {
		session_count(s, "sip.out_of_memory");
		return NULL;
	}
	struct sip_txn *t = &st->txns[st->n_txns++];
	memset(t, 0, sizeof *t);
	return t;
}

/* ---- SDP ---- */

static bool parse_port(struct reader v, uint16_t *port)
{
	unsigned long n = 0;
	size_t i = 0, len = rd_remaining(&v);
	int c;
	for (; i < len && i < 6 && is_digit(c = rd_peek(&v, i)); i++)
		n = n * 10 + (unsigned long)(c - '0');
	if (i == 0 || n > 65535)
		return false;
	*port = (uint16_t)n;
	return true;
}

/* The next space-separated token of *v; *v moves past it. */
static struct reader next_tok(struct reader *v)
{
	*v = trim(*v);
	size_t n = rd_remaining(v), i = 0;
	while (i < n && !is_ws(rd_peek(v, i)))
		i++;
	return rd_sub(v, i);
}

/* "IN IP4 192.0.2.1[/ttl]" */
static bool parse_connection(struct reader v, struct ip_addr *a, struct sip_tok *text)
{
	struct reader net = next_tok(&v), type = next_tok(&v), addr = next_tok(&v);
	if (!rd_ieq(&net, "IN") || !rd_remaining(&addr))
		return false;
	addr = head(addr, find_or_end(addr, '/'));
	tok_take(text, addr);
	char buf[64];
	size_t n = rd_remaining(&addr);
	if (n >= sizeof buf)
		return false;
	if (n)
		rd_copy(&addr, buf, n);
	buf[n] = '\0';
	memset(a, 0, sizeof *a);
	if (rd_ieq(&type, "IP4") && inet_pton(AF_INET, buf, a->b) == 1)
		a->version = 4;
	else if (rd_ieq(&type, "IP6") && inet_pton(AF_INET6, buf, a->b) == 1)
		a->version = 6;
	else
		return false;
	return true;
}

static bool addr_unspecified(const struct ip_addr *a)
{
	for (int i = 0; i < 16; i++)
		if (a->b[i])
			return false;
	return true;
}

/* The payload types of an m= line, kept beside the media while its
 * attributes are read. */
struct sdp_fmts {
	uint8_t pt[SIP_MAX_CODECS];
	bool named[SIP_MAX_CODECS];
	uint8_t n;
};

static void file_one(struct sip_state *st, struct session *s, const struct sip_media *md,
                     uint16_t port, bool rtcp, bool *filed)
{
	for (uint32_t i = 0; i < st->n_filed; i++)
		if (st->filed[i].port == port &&
		    ip_addr_compare(&st->filed[i].addr, &md->addr) == 0) {
			*filed = true; /* announced before: already expected */
			return;
		}
	/* "rtp audio <Call-ID> 96=opus,101=telephone-event": the dynamic payload
	 * types' names, which the RTP packets cannot tell (a Call-ID has no
	 * spaces, RFC 3261 25.1 "word") */
	char call_id[128];
	size_t n = md->call_id.len < sizeof call_id - 1 ? md->call_id.len : sizeof call_id - 1;
	struct reader cid = kept(&md->call_id);
	for (size_t i = 0; i < n; i++) { /* one field: no spaces, no control bytes */
		int c = rd_peek(&cid, i);
		call_id[i] = c > ' ' ? (char)c : '_';
	}
	call_id[n] = '\0';
	char *note = st->note; /* kept: a test's detached session holds the pointer */
	int w = snprintf(note, EXPECT_NOTE_MAX, "%s %.*s %s", rtcp ? "rtcp" : "rtp",
	                 (int)md->media.len, md->media.b, n ? call_id : "-");
	bool first = true;
	for (uint8_t i = 0; i < md->n_codecs && w > 0 && (size_t)w < EXPECT_NOTE_MAX; i++) {
		if (md->pts[i] < 96 || md->pts[i] > 127)
			continue;
		int k =
		    snprintf(note + w, EXPECT_NOTE_MAX - (size_t)w, "%s%u=%.*s", first ? " " : ",",
		             md->pts[i], (int)md->codecs[i].len, md->codecs[i].b);
		if (k < 0 || (size_t)k >= EXPECT_NOTE_MAX - (size_t)w) {
			note[w] = '\0'; /* no half entry */
			break;
		}
		w += k;
		first = false;
	}
	struct expectation e;
	memset(&e, 0, sizeof e);
	e.server = md->addr;
	e.server_port = port;
	e.transport = TRANSPORT_UDP;
	e.deadline = session_now(s) + SIP_MEDIA_DEADLINE;
	e.dissector = "rtp";
	e.note = note;
	*filed = session_expect(s, &e);
	session_count(s, *filed ? "sip.media_expected" : "sip.expect_failed");
	if (*filed && st->n_filed < SIP_MAX_FILED) {
		st->filed[st->n_filed].addr = md->addr;
		st->filed[st->n_filed].port = port;
		st->n_filed++;
	}
}

static bool proto_is_rtp(const struct sip_tok *p)
{
	for (size_t i = 0; i + 3 <= p->len; i++)
		if (memcmp(p->b + i, "RTP", 3) == 0)
			return true;
	return false;
}

/* A media line's last details once its attributes are read: codec names of
 * payload types without rtpmap, the address, the expectations. */
static void media_done(struct sip_state *st, struct session *s, struct sip_media *md,
                       struct sdp_fmts *fm, const struct ip_addr *sess_addr,
                       const struct sip_tok *sess_text, bool has_sess_addr)
{
	for (uint8_t i = 0; i < fm->n; i++) {
		if (fm->named[i])
			continue;
		const char *name = value_name_lookup(static_payloads, fm->pt[i]);
		char num[8];
		if (!name) {
			snprintf(num, sizeof num, "%u", fm->pt[i]);
			name = num;
		}
		tok_set(&md->codecs[i], name, strlen(name));
	}
	if (!md->own_c && sess_text->len) { /* the session's c= line (RFC 8866 5.7) */
		md->addr = *sess_addr;
		md->addr_text = *sess_text;
		md->has_addr = has_sess_addr;
	}
	if (!md->port || !md->has_addr || addr_unspecified(&md->addr) || !proto_is_rtp(&md->proto))
		return;
	file_one(st, s, md, md->port, false, &md->expected_rtp);
	if (!md->rtcp_mux) {
		uint16_t rp = md->has_rtcp_port ? md->rtcp_port : (uint16_t)(md->port + 1);
		if (rp && rp != md->port)
			file_one(st, s, md, rp, true, &md->expected_rtcp);
	}
}

static void read_sdp(struct sip_state *st, struct session *s, struct reader body,
                     const struct wire_str *call_id, const char *origin)
{
	struct line_state ls = {.max_line = SIP_MAX_LINE};
	struct reader line;
	bool cut;
	struct ip_addr sess_addr;
	struct sip_tok sess_text = {0};
	bool has_sess_addr = false;
	struct sip_media *md = NULL;
	struct sdp_fmts fm = {0};

	memset(&sess_addr, 0, sizeof sess_addr);
	for (;;) {
		enum frame_result fr = line_next(&ls, &body, &line, &cut);
		if (fr != FRAME_OK) {
			if (!rd_remaining(&body))
				break;
			line = rd_rest(&body); /* a last line without its CRLF */
		}
		size_t n = rd_remaining(&line);
		if (n > 0 && rd_peek(&line, n - 1) == '\r')
			n--;
		if (n < 2 || rd_peek(&line, 1) != '=')
			continue;
		struct reader v = rd_slice(&line, 2, n - 2);
		switch (rd_peek(&line, 0)) {
		case 'c':
			if (md) {
				md->own_c =
				    true; /* even a host name: the session's does not apply */
				md->has_addr = parse_connection(v, &md->addr, &md->addr_text);
			} else
				has_sess_addr = parse_connection(v, &sess_addr, &sess_text);
			break;
		case 'm': {
			if (md)
				media_done(st, s, md, &fm, &sess_addr, &sess_text, has_sess_addr);
			md = NULL;
			memset(&fm, 0, sizeof fm);
			if (st->n_media >= SIP_MAX_MEDIA) {
				if (!st->media_truncated++)
					session_count(s, "sip.too_many_media");
				break;
			}
			if (!st->media && !(st->media = calloc(SIP_MAX_MEDIA, sizeof *st->media))) {
				session_count(s, "sip.out_of_memory");
				break;
			}
			md = &st->media[st->n_media++];
			memset(md, 0, sizeof *md);
			if (call_id->p)
				keep(s, &md->call_id, kept(call_id));
			snprintf(md->origin, sizeof md->origin, "%s", origin);
			struct reader t = next_tok(&v);
			tok_take(&md->media, t);
			t = next_tok(&v); /* port[/count] */
			if (!parse_port(t, &md->port))
				session_alert(s, ALERT_MALFORMED);
			t = next_tok(&v);
			tok_take(&md->proto, t);
			for (t = next_tok(&v); rd_remaining(&t); t = next_tok(&v)) {
				uint16_t pt;
				if (fm.n >= SIP_MAX_CODECS) {
					md->codecs_truncated++;
					continue;
				}
				if (!parse_port(t, &pt) ||
				    pt > 127) { /* not RTP: keep the format */
					tok_take(&md->codecs[fm.n], t);
					fm.named[fm.n] = true;
					pt = 255;
				}
				md->pts[fm.n] = (uint8_t)pt;
				fm.pt[fm.n++] = (uint8_t)pt;
			}
			md->n_codecs = fm.n;
			break;
		}
		case 'a': {
			if (!md)
				break;
			size_t colon = find_or_end(v, ':');
			struct reader name = head(v, colon);
			struct reader val = tail(v, colon + 1);
			if (rd_ieq(&name, "rtpmap")) {
				uint16_t pt;
				struct reader ptt = next_tok(&val), enc = next_tok(&val);
				struct reader codec = head(enc, find_or_end(enc, '/'));
				if (parse_port(ptt, &pt))
					for (uint8_t i = 0; i < fm.n; i++)
						if (fm.pt[i] == pt && !fm.named[i]) {
							tok_take(&md->codecs[i], codec);
							fm.named[i] = true;
						}
			} else if (rd_ieq(&name, "rtcp")) {
				struct reader port = next_tok(&val);
				md->has_rtcp_port = parse_port(port, &md->rtcp_port);
			} else if (rd_ieq(&name, "rtcp-mux")) {
				md->rtcp_mux = true;
			} else if (rd_ieq(&name, "sendrecv") || rd_ieq(&name, "sendonly") ||
			           rd_ieq(&name, "recvonly") || rd_ieq(&name, "inactive")) {
				tok_take(&md->direction, name);
			}
			break;
		}
		default:
			break;
		}
	}
	if (md)
		media_done(st, s, md, &fm, &sess_addr, &sess_text, has_sess_addr);
}

/* ---- messages ---- */

static bool is_sdp(const struct sip_msg *m, struct reader body)
{
	if (m->f.content_type.p) {
		struct reader ct = kept(&m->f.content_type);
		ct = trim(head(ct, find_outside(ct, ';')));
		return rd_ieq(&ct, "application/sdp");
	}
	return rd_starts_with(&body, "v=0", 3);
}

static void take_fields(struct session *s, struct sip_fields *dst, struct sip_fields *src)
{
	(void)s;
	struct wire_str *d[] = {&dst->from,    &dst->from_name,   &dst->from_tag,
	                        &dst->to,      &dst->to_name,     &dst->to_tag,
	                        &dst->call_id, &dst->cseq_method, &dst->user_agent,
	                        &dst->server,  &dst->contact,     &dst->content_type};
	struct wire_str *sv[] = {&src->from,    &src->from_name,   &src->from_tag,
	                         &src->to,      &src->to_name,     &src->to_tag,
	                         &src->call_id, &src->cseq_method, &src->user_agent,
	                         &src->server,  &src->contact,     &src->content_type};
	for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
		move_str(d[i], sv[i]);
	dst->cseq = src->cseq;
	dst->has_cseq = src->has_cseq;
	if (src->has_expires) {
		dst->expires = src->expires;
		dst->has_expires = true;
	}
	for (uint8_t i = 0; i < dst->n_vias; i++) {
		wire_str_free(&dst->vias[i].transport);
		wire_str_free(&dst->vias[i].sent_by);
		wire_str_free(&dst->vias[i].branch);
	}
	memcpy(dst->vias, src->vias, sizeof dst->vias);
	dst->n_vias = src->n_vias;
	dst->vias_truncated = src->vias_truncated;
	src->n_vias = 0;
	memset(src->vias, 0, sizeof src->vias);
	if (src->has_auth) {
		wire_str_free(&dst->auth.scheme);
		wire_str_free(&dst->auth.user);
		wire_str_free(&dst->auth.realm);
		wire_str_free(&dst->auth.password);
		dst->auth = src->auth;
		dst->has_auth = true;
		memset(&src->auth, 0, sizeof src->auth);
		src->has_auth = false;
	}
}

/* Fills what a response adds to a transaction without replacing the
 * request's own fields. */
static void merge_response(struct sip_txn *t, struct sip_fields *src)
{
	struct wire_str *d[] = {&t->f.to_tag, &t->f.server, &t->f.contact, &t->f.content_type,
	                        &t->f.to_name};
	struct wire_str *sv[] = {&src->to_tag, &src->server, &src->contact, &src->content_type,
	                         &src->to_name};
	for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
		if (!d[i]->p)
			move_str(d[i], sv[i]);
	if (src->has_expires && !t->f.has_expires) {
		t->f.expires = src->expires;
		t->f.has_expires = true;
	}
}

/* The whole message (headers read, body given) joins its transaction. */
static void message_done(struct sip_state *st, struct session *s, enum direction dir,
                         struct sip_msg *m, struct reader body)
{
	char origin[16];

	if (m->request)
		st->requests++;
	else
		st->responses++;
	if (m->f.user_agent.p)
		keep_if_unset(s, &st->user_agent, kept(&m->f.user_agent));
	if (m->f.server.p)
		keep_if_unset(s, &st->server, kept(&m->f.server));
	if (m->request && !m->f.cseq_method.p && m->method.p) /* no CSeq: key by method */
		keep(s, &m->f.cseq_method, kept(&m->method));

	struct sip_txn *t = find_txn(st, m);
	bool sdp = rd_remaining(&body) && is_sdp(m, body);
	if (m->request) {
		if (t && t->seen_request) {
			t->requests++;
			st->retransmissions++;
			session_count(s, "sip.retransmission");
		} else {
			if (!t)
				t = new_txn(st, s);
			if (t) {
				move_str(&t->method, &m->method);
				move_str(&t->uri, &m->uri);
				take_fields(s, &t->f, &m->f);
				t->seen_request = true;
				t->request_dir = (uint8_t)dir;
				t->requests++;
			}
		}
		if (t && sdp)
			t->sdp_offer = true;
		snprintf(origin, sizeof origin, "%.*s", t && t->method.p ? (int)t->method.len : 0,
		         t && t->method.p ? t->method.p : "");
	} else {
		if (!t && (t = new_txn(st, s))) {
			move_str(&t->method, &m->f.cseq_method);
			if (t->method.p)
				keep(s, &t->f.cseq_method, kept(&t->method));
			take_fields(s, &t->f, &m->f);
			t->request_dir = (uint8_t)dir_other(dir);
		} else if (t) {
			merge_response(t, &m->f);
		}
		if (t) {
			t->responses++;
			if (!t->n_statuses || t->statuses[t->n_statuses - 1] != m->status) {
				if (t->n_statuses < SIP_MAX_STATUSES)
					t->statuses[t->n_statuses++] = m->status;
				else
					session_count(s, "sip.too_many_responses");
			}
			move_str(&t->reason, &m->reason);
			if (sdp)
				t->sdp_answer = true;
		}
		snprintf(origin, sizeof origin, "%u", m->status);
	}
	if (sdp) {
		static const struct wire_str none = {NULL, 0};
		read_sdp(st, s, body, t ? &t->f.call_id : &none, origin);
	}
	msg_reset(m);
}

/* A header line (unfolded): name ":" value. */
static void header(struct sip_state *st, struct session *s, struct sip_msg *m, struct reader h)
{
	long colon = rd_find(&h, ':');
	if (colon < 0) {
		st->malformed++;
		session_alert(s, ALERT_MALFORMED);
		return;
	}
	struct reader name = trim(head(h, (size_t)colon));
	struct reader v = trim(tail(h, (size_t)colon + 1));
	size_t vn = rd_remaining(&v);
	struct sip_fields *f = &m->f;
#define IS(full, compact) (rd_ieq(&name, full) || (compact && rd_ieq(&name, compact)))
	if (IS("Call-ID", "i")) {
		keep(s, &f->call_id, v);
	} else if (IS("From", "f")) {
		read_name_addr(s, v, &f->from, &f->from_name, &f->from_tag);
	} else if (IS("To", "t")) {
		read_name_addr(s, v, &f->to, &f->to_name, &f->to_tag);
	} else if (IS("Contact", "m")) {
		if (!f->contact.p) {
			size_t comma = find_outside(v, ',');
			if (vn == 1 && rd_peek(&v, 0) == '*')
				keep(s, &f->contact, v);
			else
				read_name_addr(s, head(v, comma), &f->contact, NULL, NULL);
		}
	} else if (IS("Via", "v")) {
		read_via(s, f, v);
	} else if (IS("CSeq", NULL)) {
		struct reader num = next_tok(&v), meth = next_tok(&v);
		size_t nn = rd_remaining(&num);
		unsigned long n = 0;
		size_t i = 0;
		int c;
		for (; i < nn && i < 10 && is_digit(c = rd_peek(&num, i)); i++)
			n = n * 10 + (unsigned long)(c - '0');
		if (i == 0 || i != nn || n > 0xffffffffUL || !rd_remaining(&meth)) {
			st->malformed++;
			session_alert(s, ALERT_MALFORMED);
		}
		f->cseq = (uint32_t)n;
		f->has_cseq = true;
		keep(s, &f->cseq_method, meth);
	} else if (IS("Content-Length", "l")) {
		long n = 0;
		size_t i = 0;
		int c;
		for (; i < vn && i < 9 && is_digit(c = rd_peek(&v, i)); i++)
			n = n * 10 + (c - '0');
		if (i == 0 || i != vn) {
			m->bad_length = true;
			st->malformed++;
			session_alert(s, ALERT_MALFORMED);
			session_count(s, "sip.bad_content_length");
		} else {
			m->content_length = n;
		}
	} else if (IS("Content-Type", "c")) {
		keep(s, &f->content_type, v);
	} else if (IS("Expires", NULL)) {
		long long n = 0;
		size_t i = 0;
		int c;
		for (; i < vn && i < 10 && is_digit(c = rd_peek(&v, i)); i++)
			n = n * 10 + (c - '0');
		if (i) {
			f->expires = n;
			f->has_expires = true;
		}
	} else if (IS("User-Agent", NULL)) {
		keep(s, &f->user_agent, v);
	} else if (IS("Server", NULL)) {
		keep(s, &f->server, v);
	} else if (IS("Authorization", NULL)) {
		read_auth(s, f, v, false);
	} else if (IS("Proxy-Authorization", NULL)) {
		read_auth(s, f, v, true);
	}
#undef IS
}

static void flush_header(struct sip_state *st, struct session *s, struct sip_msg *m)
{
	if (m->hdr_len)
		header(st, s, m, rd_init(m->hdr, m->hdr_len));
	m->hdr_len = 0;
	m->hdr_cut = false;
}

static void header_line(struct sip_state *st, struct session *s, struct sip_msg *m,
                        struct reader line)
{
	size_t n = rd_remaining(&line);
	if (n && is_ws(rd_peek(&line, 0))) { /* folded: continues the header before it */
		if (!m->hdr_len)
			return;
		rd_skip(&line, 1);
		n--;
	} else {
		flush_header(st, s, m);
	}
	size_t room = SIP_MAX_HEADER - m->hdr_len;
	if (n + (m->hdr_len ? 1 : 0) > room) {
		if (!m->hdr_cut)
			session_count(s, "sip.header_cut");
		m->hdr_cut = true;
		n = room > 1 ? room - 1 : 0;
	}
	if (m->hdr_len && n)
		m->hdr[m->hdr_len++] = ' ';
	if (n)
		rd_copy(&line, m->hdr + m->hdr_len, n);
	m->hdr_len += n;
}

static bool is_token_char(int c)
{
	return c > ' ' && c < 0x7f && !strchr("()<>@,;:\\\"/[]?={}", c);
}

/* The start line; false when it is none. */
static bool start_line(struct session *s, struct sip_msg *m, struct reader line)
{
	size_t n = rd_remaining(&line);
	int d0 = rd_peek(&line, 8), d1 = rd_peek(&line, 9), d2 = rd_peek(&line, 10);
	if (n >= 12 && rd_istarts_with(&line, "SIP/2.0 ") && is_digit(d0) && is_digit(d1) &&
	    is_digit(d2) && (n == 11 || rd_peek(&line, 11) == ' ')) {
		m->request = false;
		m->status = (uint16_t)((d0 - '0') * 100 + (d1 - '0') * 10 + (d2 - '0'));
		if (n > 12)
			keep(s, &m->reason, tail(line, 12));
		return true;
	}
	size_t i = 0;
	while (i < n && is_token_char(rd_peek(&line, i)))
		i++;
	if (i == 0 || i >= n || rd_peek(&line, i) != ' ')
		return false;
	size_t u = i + 1, ue = u;
	while (ue < n && rd_peek(&line, ue) != ' ')
		ue++;
	if (ue == u || ue + 8 != n)
		return false;
	struct reader version = tail(line, ue + 1);
	if (!rd_ieq(&version, "SIP/2.0"))
		return false;
	m->request = true;
	keep(s, &m->method, head(line, i));
	keep(s, &m->uri, rd_slice(&line, u, ue - u));
	return true;
}

/* Lines of one direction until a message's headers end (true) or the
 * bytes do (false). */
static bool read_head(struct sip_state *st, struct session *s, struct sip_dir *d, struct reader *r,
                      bool datagram)
{
	struct reader line;
	bool cut;

	for (;;) {
		enum frame_result fr = line_next(&d->lines, r, &line, &cut);
		if (fr != FRAME_OK) {
			if (!datagram || !rd_remaining(r))
				return false;
			line = rd_rest(r); /* a datagram's last line without CRLF */
		}
		if (cut)
			session_count(s, "sip.line_cut");
		size_t n = rd_remaining(&line);
		if (d->phase == P_START) {
			if (n == 0)
				continue; /* CRLFs before a message (keep-alives, 7.5) */
			if (start_line(s, &d->msg, line)) {
				d->phase = P_HEADERS;
			} else {
				st->malformed++;
				session_alert(s, ALERT_MALFORMED);
				session_count(s, "sip.not_a_start_line");
			}
			continue;
		}
		if (n == 0) {
			flush_header(st, s, &d->msg);
			return true;
		}
		header_line(st, s, &d->msg, line);
	}
}

static size_t on_datagram(struct sip_state *st, struct session *s, enum direction dir,
                          struct reader r)
{
	struct sip_dir *d = &st->dir[dir];
	size_t total = rd_remaining(&r);
	bool blank = true;

	for (size_t i = 0; i < total; i++) {
		int c = rd_peek(&r, i);
		if (c != '\r' && c != '\n' && c != 0 && !is_ws(c))
			blank = false;
	}
	if (blank) { /* keep-alives: CRLF, CRLFCRLF, zero bytes, spaces (X-Lite) */
		st->keepalives++;
		return total;
	}
	memset(&d->lines, 0, sizeof d->lines);
	d->lines.max_line = SIP_MAX_LINE;
	d->phase = P_START;
	msg_reset(&d->msg);
	bool ended = read_head(st, s, d, &r, true);
	if (d->phase == P_START) { /* no start line at all */
		msg_reset(&d->msg);
		return total;
	}
	flush_header(st, s, &d->msg);
	struct reader body = rd_rest(&r);
	if (!ended) {
		st->truncated = true;
		session_alert(s, ALERT_TRUNCATED);
	}
	long cl = d->msg.content_length;
	if (cl >= 0 && (size_t)cl < rd_remaining(&body)) {
		body = rd_sub(&body, (size_t)cl);
		session_count(s, "sip.bytes_after_message");
	} else if (cl >= 0 && (size_t)cl > rd_remaining(&body)) {
		session_count(s, "sip.body_short");
	}
	message_done(st, s, dir, &d->msg, body);
	d->phase = P_START;
	return total;
}

static size_t sip_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct sip_state *st = state;
	struct sip_dir *d = &st->dir[dir];

	if (!session_is_tcp(s))
		return on_datagram(st, s, dir, r);
	if (!d->lines.max_line) {
		d->lines.max_line = SIP_MAX_LINE;
		d->msg.content_length = -1;
	}
	while (rd_remaining(&r)) {
		if (d->phase == P_SKIP) {
			size_t n = rd_remaining(&r);
			if (n > d->skip_left)
				n = (size_t)d->skip_left;
			rd_skip(&r, n);
			d->skip_left -= n;
			if (d->skip_left)
				break;
			d->phase = P_START;
			continue;
		}
		if (d->phase == P_BODY) {
			size_t cl = (size_t)d->msg.content_length;
			if (rd_remaining(&r) < cl)
				break; /* the core keeps it: wait for the whole body */
			message_done(st, s, dir, &d->msg, rd_sub(&r, cl));
			d->phase = P_START;
			continue;
		}
		if (!read_head(st, s, d, &r, false))
			break;
		long cl = d->msg.content_length;
		if (cl <= 0) {
			message_done(st, s, dir, &d->msg, rd_init(NULL, 0));
			d->phase = P_START;
		} else if (cl <= SIP_MAX_BODY) {
			d->phase = P_BODY;
		} else {
			st->bodies_skipped++;
			session_count(s, "sip.body_too_big");
			message_done(st, s, dir, &d->msg, rd_init(NULL, 0));
			d->phase = P_SKIP;
			d->skip_left = (uint64_t)cl;
		}
	}
	return rd_offset(&r);
}

static void sip_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct sip_state *st = state;
	struct sip_dir *d = &st->dir[dir];

	(void)s;
	st->gap = true;
	if (d->phase == P_SKIP && missing < d->skip_left) {
		d->skip_left -= missing;
		return;
	}
	if (d->phase == P_HEADERS || d->phase == P_BODY)
		session_count(s, "sip.message_lost_in_gap");
	msg_reset(&d->msg);
	d->phase = P_START;
	line_gap(&d->lines);
}

static void sip_on_end(struct session *s, void *state)
{
	struct sip_state *st = state;

	for (int i = 0; i < 2; i++) {
		struct sip_dir *d = &st->dir[i];
		if (d->phase == P_HEADERS || d->phase == P_BODY) {
			/* a message cut by the end of the flow: keep what it said */
			flush_header(st, s, &d->msg);
			st->truncated = true;
			session_alert(s, ALERT_TRUNCATED);
			message_done(st, s, (enum direction)i, &d->msg, rd_init(NULL, 0));
			d->phase = P_START;
		}
	}
}

static void sip_release(void *state)
{
	struct sip_state *st = state;

	for (int i = 0; i < 2; i++)
		msg_reset(&st->dir[i].msg);
	for (uint32_t i = 0; i < st->n_txns; i++) {
		wire_str_free(&st->txns[i].method);
		wire_str_free(&st->txns[i].uri);
		wire_str_free(&st->txns[i].reason);
		fields_free(&st->txns[i].f);
	}
	free(st->txns);
	for (uint32_t i = 0; i < st->n_media; i++)
		wire_str_free(&st->media[i].call_id);
	free(st->media);
	wire_str_free(&st->user_agent);
	wire_str_free(&st->server);
	st->txns = NULL;
	st->media = NULL;
	st->n_txns = st->n_media = 0;
}

/* ---- probe ---- */

/* "SIP/2.0 NNN" or "METHOD sip:... SIP/2.0" with a known method. */
static enum verdict sip_probe(struct reader r, enum direction dir)
{
	(void)dir;
	size_t n = rd_remaining(&r);
	size_t i = 0;
	int ch;

	while (i < 8 && ((ch = rd_peek(&r, i)) == '\r' || ch == '\n'))
		i++;
	if (i == n)
		return VERDICT_NEED_MORE;
	rd_skip(&r, i);
	n -= i;
	/* status line */
	static const char ver[] = "SIP/2.0 ";
	size_t k = 0;
	while (k < n && k < 8 && lower(rd_peek(&r, k)) == lower((unsigned char)ver[k]))
		k++;
	if (k == n && k < 8)
		return VERDICT_NEED_MORE;
	if (k == 8) {
		for (size_t j = 8; j < 12; j++) {
			if (j >= n)
				return VERDICT_NEED_MORE;
			ch = rd_peek(&r, j);
			if (j < 11 ? !is_digit(ch) : (ch != ' ' && ch != '\r'))
				return VERDICT_NO;
		}
		return VERDICT_YES;
	}
	/* request line */
	enum verdict best = VERDICT_NO;
	for (const char *const *m = sip_methods; *m; m++) {
		size_t ml = strlen(*m);
		size_t c = 0;
		while (c < n && c < ml && rd_peek(&r, c) == (uint8_t)(*m)[c])
			c++;
		if (c == n) {
			best = VERDICT_NEED_MORE;
			continue;
		}
		if (c < ml)
			continue;
		if (rd_peek(&r, c) != ' ')
			continue;
		size_t u = c + 1;
		static const char *const schemes[] = {"sip:", "sips:", "tel:", NULL};
		bool scheme = false, partial = false;
		for (const char *const *sc = schemes; *sc; sc++) {
			size_t sl = strlen(*sc), j = 0;
			while (j < sl && u + j < n && lower(rd_peek(&r, u + j)) == (*sc)[j])
				j++;
			if (j == sl)
				scheme = true;
			else if (u + j == n)
				partial = true;
		}
		if (!scheme)
			return partial ? VERDICT_NEED_MORE : VERDICT_NO;
		size_t e = u;
		while (e < n && (ch = rd_peek(&r, e)) > ' ' && ch != 0x7f)
			e++;
		if (e == n)
			return VERDICT_NEED_MORE;
		if (rd_peek(&r, e) != ' ')
			return VERDICT_NO;
		static const char version[] = "SIP/2.0";
		for (size_t j = 0; j < 8; j++) {
			if (e + 1 + j >= n)
				return VERDICT_NEED_MORE;
			ch = rd_peek(&r, e + 1 + j);
			if (j < 7 ? lower(ch) != lower((unsigned char)version[j])
			          : (ch != '\r' && ch != '\n'))
				return VERDICT_NO;
		}
		return VERDICT_YES;
	}
	return best;
}

/* ---- output ---- */

static void emit_ws(struct emitter *e, const char *key, const struct wire_str *w)
{
	if (w->p)
		emit_strn(e, key, w->p, w->len);
	else
		emit_null(e, key);
}

static void emit_ws_opt(struct emitter *e, const char *key, const struct wire_str *w)
{
	if (w->p)
		emit_strn(e, key, w->p, w->len);
}

static void emit_txn(const struct sip_txn *t, struct emitter *e, bool show_password)
{
	(void)show_password;
	emit_object_begin(e, NULL);
	emit_ws(e, "method", &t->method);
	emit_ws(e, "uri", &t->uri);
	emit_ws(e, "from", &t->f.from);
	emit_ws_opt(e, "from_name", &t->f.from_name);
	emit_ws_opt(e, "from_tag", &t->f.from_tag);
	emit_ws(e, "to", &t->f.to);
	emit_ws_opt(e, "to_name", &t->f.to_name);
	emit_ws_opt(e, "to_tag", &t->f.to_tag);
	emit_ws(e, "call_id", &t->f.call_id);
	if (t->f.has_cseq)
		emit_int(e, "cseq", t->f.cseq);
	emit_ws(e, "user_agent", &t->f.user_agent);
	emit_ws_opt(e, "server", &t->f.server);
	if (t->n_statuses)
		emit_int(e, "status", t->statuses[t->n_statuses - 1]);
	else
		emit_null(e, "status");
	emit_ws_opt(e, "reason", &t->reason);
	emit_array_begin(e, "responses");
	for (uint8_t i = 0; i < t->n_statuses; i++)
		emit_int(e, NULL, t->statuses[i]);
	emit_array_end(e);
	if (t->f.n_vias) {
		emit_array_begin(e, "via");
		for (uint8_t i = 0; i < t->f.n_vias; i++) {
			emit_object_begin(e, NULL);
			emit_ws(e, "transport", &t->f.vias[i].transport);
			emit_ws(e, "sent_by", &t->f.vias[i].sent_by);
			emit_ws(e, "branch", &t->f.vias[i].branch);
			emit_object_end(e);
		}
		emit_array_end(e);
		if (t->f.vias_truncated)
			emit_int(e, "via_truncated", t->f.vias_truncated);
	}
	emit_ws_opt(e, "contact", &t->f.contact);
	emit_ws_opt(e, "content_type", &t->f.content_type);
	if (t->f.has_expires)
		emit_int(e, "expires", t->f.expires);
	if (t->f.has_auth) {
		emit_object_begin(e, "auth");
		emit_ws(e, "scheme", &t->f.auth.scheme);
		emit_ws(e, "username", &t->f.auth.user);
		emit_ws_opt(e, "realm", &t->f.auth.realm);
		emit_bool(e, "proxy", t->f.auth.proxy);
		if (t->f.auth.password.p)
			emit_strn(e, "password", t->f.auth.password.p, t->f.auth.password.len);
		emit_object_end(e);
	}
	if (t->sdp_offer || t->sdp_answer) {
		emit_bool(e, "sdp_offer", t->sdp_offer);
		emit_bool(e, "sdp_answer", t->sdp_answer);
	}
	emit_int(e, "request_msgs", t->requests);
	emit_int(e, "response_msgs", t->responses);
	emit_object_end(e);
}

static void emit_tok(struct emitter *e, const char *key, const struct sip_tok *t)
{
	if (t->len)
		emit_strn(e, key, t->b, t->len);
	else
		emit_null(e, key);
}

static void emit_media(const struct sip_media *m, struct emitter *e)
{
	char ip[IP_ADDR_STRLEN];
	emit_object_begin(e, NULL);
	emit_ws(e, "call_id", &m->call_id);
	emit_str(e, "message", m->origin);
	emit_tok(e, "media", &m->media);
	if (m->has_addr)
		emit_str(e, "ip", ip_addr_format(&m->addr, ip, sizeof ip));
	else
		emit_tok(e, "ip", &m->addr_text);
	emit_int(e, "port", m->port);
	emit_tok(e, "proto", &m->proto);
	emit_array_begin(e, "codecs");
	for (uint8_t i = 0; i < m->n_codecs; i++)
		emit_strn(e, NULL, m->codecs[i].b, m->codecs[i].len);
	emit_array_end(e);
	if (m->codecs_truncated)
		emit_int(e, "codecs_truncated", m->codecs_truncated);
	if (m->rtcp_mux)
		emit_bool(e, "rtcp_mux", true);
	else if (m->port && proto_is_rtp(&m->proto))
		emit_int(e, "rtcp_port", m->has_rtcp_port ? m->rtcp_port : m->port + 1);
	if (m->direction.len)
		emit_strn(e, "direction", m->direction.b, m->direction.len);
	emit_bool(e, "expected", m->expected_rtp);
	emit_object_end(e);
}

static void sip_emit(const void *state, struct emitter *e)
{
	const struct sip_state *st = state;

	emit_array_begin(e, "requests");
	for (uint32_t i = 0; i < st->n_txns; i++)
		emit_txn(&st->txns[i], e, false);
	emit_array_end(e);
	if (st->txns_truncated)
		emit_int(e, "truncated", st->txns_truncated);
	emit_ws(e, "user_agent", &st->user_agent);
	emit_ws_opt(e, "server", &st->server);
	emit_int(e, "request_count", st->requests);
	emit_int(e, "response_count", st->responses);
	if (st->retransmissions)
		emit_int(e, "retransmissions", st->retransmissions);
	if (st->keepalives)
		emit_int(e, "keepalives", st->keepalives);
	if (st->n_media) {
		emit_array_begin(e, "media");
		for (uint32_t i = 0; i < st->n_media; i++)
			emit_media(&st->media[i], e);
		emit_array_end(e);
		if (st->media_truncated)
			emit_int(e, "media_truncated", st->media_truncated);
	}
	if (st->bodies_skipped)
		emit_int(e, "bodies_skipped", st->bodies_skipped);
}

static void sip_summarize(const void *state, char *buf, size_t n)
{
	const struct sip_state *st = state;
	struct summary sm = summary_start(buf, n);

	if (!st->n_txns) {
		summary_addf(&sm, "SIP %u messages", (unsigned)(st->requests + st->responses));
		return;
	}
	const struct sip_txn *t = &st->txns[0];
	/* the first INVITE tells most, else the first transaction */
	for (uint32_t i = 0; i < st->n_txns; i++)
		if (st->txns[i].method.len == 6 && memcmp(st->txns[i].method.p, "INVITE", 6) == 0) {
			t = &st->txns[i];
			break;
		}
	if (t->method.p)
		summary_add_wire(&sm, t->method.p, t->method.len);
	if (t->uri.p) {
		summary_add(&sm, " ");
		summary_add_wire(&sm, t->uri.p, t->uri.len);
	}
	if (t->n_statuses) {
		summary_addf(&sm, " -> %u", t->statuses[t->n_statuses - 1]);
		if (t->reason.p) {
			summary_add(&sm, " ");
			summary_add_wire(&sm, t->reason.p, t->reason.len);
		}
	}
	summary_addf(&sm, " (%u msgs", (unsigned)(st->requests + st->responses));
	if (st->n_txns + st->txns_truncated > 1)
		summary_addf(&sm, ", %u transactions", (unsigned)(st->n_txns + st->txns_truncated));
	for (uint32_t i = 0; i < st->n_media && i < 2; i++) {
		const struct sip_media *m = &st->media[i];
		char ip[IP_ADDR_STRLEN] = "?";
		if (m->has_addr)
			ip_addr_format(&m->addr, ip, sizeof ip);
		summary_add(&sm, ", ");
		summary_add_wire(&sm, m->media.b, m->media.len);
		summary_addf(&sm, " %s:%u", ip, m->port);
		if (m->n_codecs) {
			summary_add(&sm, " ");
			summary_add_wire(&sm, m->codecs[0].b, m->codecs[0].len);
		}
	}
	summary_add(&sm, ")");
}

const struct dissector sip_dissector = {
    .name = "sip",
    .transports = TRANSPORT_BIT_TCP | TRANSPORT_BIT_UDP,
    .ports = sip_ports,
    .state_size = sizeof(struct sip_state),
    .probe = sip_probe,
    .on_data = sip_on_data,
    .on_gap = sip_on_gap,
    .on_end = sip_on_end,
    .emit = sip_emit,
    .summarize = sip_summarize,
    .release = sip_release,
};
