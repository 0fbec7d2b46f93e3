/* FTP (RFC 959), its security extensions (RFC 2228 AUTH, RFC 4217 FTP over
 * TLS), IPv6 data channels (RFC 2428 EPRT/EPSV), and its data connections.
 *
 * The control connection is lines both ways (the core's line framer).  The
 * client's commands are kept (capped; a password shown as "PASS ****"); the
 * server's replies are read whole (multi-line "123-" ... "123 " included)
 * and paired in order with the commands they answer, 1xx replies being
 * preliminary.  The first 220 (after any 120) is the greeting: it answers
 * no command, which also keeps the pairing right when the probe pinned the
 * flow on the client's first command and its bytes were handed over first.
 *
 * Data channels and the expectation API.  An expectation must be filed
 * before the data connection's SYN, so every channel is expected as soon
 * as it is announced:
 * - passive (227 / 229 replies): filed at the reply, for the control
 *   connection's server address (clients often ignore the announced one,
 *   and EPSV announces none) and the announced port.  Clients connect right
 *   after the reply, before sending RETR/STOR (Chrome, curl, BSD ftp: every
 *   passive session in the corpus), so waiting for the command would miss
 *   the connection.
 * - active (PORT / EPRT): filed at the command, for the announced address
 *   and port.  Most servers connect once they have the transfer command,
 *   but some (pyftpdlib: "200 Active data connection established") connect
 *   at once, before it.
 * The note is "active" or "passive", followed by the transfer command and
 * its argument once known: the command usually comes after the connection,
 * so it is added to the filed expectation with session_expect_note (never
 * filed twice: two expectations for one address and port would match in
 * table order), and the data flow reads the note again at its end.  So the
 * data flow's record (protocol "ftp-data", parent = this session's uid)
 * carries the control pair, the mode, the command and file, the
 * direction (from the command, else from which side sent the bytes) and the
 * byte count; the control record lists each transfer with its command, its
 * file, the data channel it used (join on ip/port) and its completion reply
 * (226, 426 ...), which often comes after the data flow has closed.
 *
 * AUTH TLS / SSL answered by 234: the rest of the stream is handed to the
 * "tls" dissector; without one, the session is marked encrypted and the TLS
 * records are skipped whole.  If both a TLS alert (close_notify) and then
 * bytes that are no TLS record follow in a direction, the command channel
 * was cleared (CCC, RFC 4217 6) and cleartext parsing resumes there.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/wirestr.h"
#include "portolan/framing.h"
#include "portolan/json.h"

/* A control line; longer ones are cut (and counted). */
#define FTP_MAX_LINE 2048
/* Commands, reply codes, data channels and transfers kept per session. */
#define FTP_MAX_COMMANDS 64
#define FTP_MAX_REPLIES 64
#define FTP_MAX_CHANNELS 32
#define FTP_MAX_TRANSFERS 32
/* Bytes kept of a command line, the banner, the user name, a file name. */
#define FTP_MAX_STRING 512
#define FTP_MAX_USER 128
/* Commands awaiting their reply. */
#define FTP_MAX_PENDING 16
/* How long an announced data channel is expected, packet time. */
#define FTP_DATA_DEADLINE (60 * USEC_PER_SEC)
/* A TLS record: header, at most 2^14 + 2048 bytes of ciphertext. */
#define FTP_TLS_MAX_RECORD (5 + 16384 + 2048)

/* A string kept from the wire (raw bytes, cut to a cap); p is NULL when
 * there is none. */

enum ftp_kind { K_OTHER = 0, K_USER, K_PASS, K_AUTH_TLS, K_PASV, K_PORT, K_TRANSFER };

enum channel_verb { CV_PORT = 0, CV_PASV, CV_EPRT, CV_EPSV };
static const char *const channel_verbs[] = {"PORT", "PASV", "EPRT", "EPSV"};

struct ftp_channel {
	struct ip_addr ip;     /* as announced (EPSV: the control server's) */
	struct ip_addr expect; /* where the data connection is expected */
	uint16_t port;
	uint8_t verb; /* enum channel_verb */
	bool filed;   /* its expectation is filed */
};

struct ftp_transfer {
	struct wire_str verb, file;
	int16_t channel; /* index in channels, -1: none known */
	uint16_t reply;  /* the completion reply; 0 until one came */
};

struct ftp_pending {
	uint8_t kind;
	/* K_TRANSFER: its index in transfers; K_PASV: the transfer sent after
	 * it before its answer came (pipelined); -1: none (or not kept) */
	int16_t transfer;
};

enum ftp_mode {
	M_LINES = 0, /* cleartext FTP */
	M_TLS,       /* TLS records, skipped whole */
	M_OPAQUE,    /* lost inside TLS: everything is skipped */
};

struct ftp_dir {
	struct line_state lines;
	struct pdu_state tls;
	uint8_t mode;
	bool tls_alert; /* a TLS alert record went by: cleartext may resume */
	bool partial;   /* bytes were left unconsumed at the last call */
};

struct ftp_state {
	struct wire_str banner, user, password, auth;
	struct wire_str *commands;
	uint16_t *replies;
	struct ftp_channel *channels;
	struct ftp_transfer *transfers;
	uint16_t n_commands, n_replies, n_channels, n_transfers;
	uint32_t commands_truncated, replies_truncated, channels_truncated, transfers_truncated;

	struct ftp_pending pending[FTP_MAX_PENDING];
	uint8_t pending_head, n_pending;

	/* the latest data channel announcement, until a transfer uses it */
	struct ftp_channel cur;
	int16_t cur_index; /* its index in channels, -1 when not kept */
	bool has_cur;
	/* ring index + 1 of the newest unanswered PASV/EPSV that no transfer
	 * command has followed yet; 0: none */
	uint8_t open_pasv;

	uint16_t multi;   /* the code of the multi-line reply being read */
	uint8_t greeting; /* 0: not yet, 1: after a 120, 2: over */
	bool saw_ftp;     /* some line parsed as FTP */
	bool show_credentials, anonymous, password_seen;
	bool auth_requested; /* an AUTH TLS/SSL was sent */
	bool auth_tls, handed_off, cleartext_resumed, gap;
	struct ftp_dir dir[2];
};

_Static_assert(sizeof(struct ftp_state) <= 512, "struct ftp_state grew");

static const uint16_t ftp_ports[] = {21, 0};

static const char *const transfer_verbs[] = {"RETR", "STOR", "APPE", "STOU",
                                             "LIST", "NLST", "MLSD", NULL};

/* ---- small helpers ---- */

static int upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - ('a' - 'A') : c;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
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

static void str_free(struct wire_str *s)
{
	wire_str_free(s);
}

/* Keeps n bytes of p (cut to cap) in s, replacing what s held. */
static void str_setn(struct wire_str *s, struct session *ss, const void *p, size_t n, size_t cap)
{
	switch (wire_str_set(s, p, n, cap)) {
	case WIRE_STR_CUT:
		session_count(ss, "ftp.string_too_long");
		break;
	case WIRE_STR_NO_MEMORY:
		session_count(ss, "ftp.out_of_memory");
		break;
	default:
		break;
	}
}

static void str_set(struct wire_str *s, struct session *ss, struct reader v, size_t cap)
{
	size_t n = rd_remaining(&v);
	const uint8_t *p = rd_take(&v, n);
	if (p)
		str_setn(s, ss, p, n, cap);
}

static void malformed(struct session *s, const char *counter)
{
	session_alert(s, ALERT_MALFORMED);
	session_count(s, counter);
}

/* Allocates a capped list at its full size on first use. */
static bool list_ready(void **list, size_t n, size_t size, struct session *s)
{
	if (!*list)
		*list = calloc(n, size);
	if (!*list)
		session_count(s, "ftp.out_of_memory");
	return *list != NULL;
}

/* ---- parsing announcements ---- */

/* Digits into *v (at most max_digits of them); false when there are none. */
static bool read_number(struct reader *r, unsigned *v, int max_digits)
{
	int digits = 0;

	*v = 0;
	while (is_digit(rd_peek(r, 0))) {
		if (++digits > max_digits)
			return false;
		*v = *v * 10 + (unsigned)(rd_u8(r) - '0');
	}
	return digits > 0;
}

/* h1,h2,h3,h4,p1,p2 (RFC 959 PORT; spaces after the commas tolerated). */
static bool parse_six(struct reader *r, struct ip_addr *ip, uint16_t *port)
{
	unsigned v[6];

	for (int i = 0; i < 6; i++) {
		if (i) {
			if (rd_peek(r, 0) != ',')
				return false;
			rd_skip(r, 1);
			while (rd_peek(r, 0) == ' ')
				rd_skip(r, 1);
		}
		if (!read_number(r, &v[i], 3) || v[i] > 255)
			return false;
	}
	memset(ip, 0, sizeof *ip);
	ip->version = 4;
	for (int i = 0; i < 4; i++)
		ip->b[i] = (uint8_t)v[i];
	*port = (uint16_t)(v[4] << 8 | v[5]);
	return true;
}

/* The text of a 227 reply: the first h1,...,p2 in it, with or without
 * parentheses ("Entering Passive Mode (h1,...)", "=h1,...", bare). */
static bool parse_227(struct reader text, struct ip_addr *ip, uint16_t *port)
{
	int prev = -1;

	while (rd_remaining(&text)) {
		int c = rd_peek(&text, 0);
		if (is_digit(c) && !is_digit(prev)) {
			struct reader t = text;
			if (parse_six(&t, ip, port))
				return true;
		}
		prev = c;
		rd_skip(&text, 1);
	}
	return false;
}

/* A port number 1-65535. */
static bool read_port(struct reader *r, uint16_t *port)
{
	unsigned v;
	if (!read_number(r, &v, 5) || v == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* The text of a 229 reply: "(<d><d><d>port<d>)" (RFC 2428 3). */
static bool parse_229(struct reader text, uint16_t *port)
{
	long open = rd_find(&text, '(');
	if (open < 0)
		return false;
	rd_skip(&text, (size_t)open + 1);
	int d = rd_u8(&text);
	if (d < 33 || d > 126 || is_digit(d))
		return false;
	if (rd_u8(&text) != d || rd_u8(&text) != d || !rd_ok(&text))
		return false;
	return read_port(&text, port) && rd_u8(&text) == d && rd_ok(&text);
}

/* EPRT's argument: "<d>af<d>address<d>port<d>" (RFC 2428 2). */
static bool parse_eprt(struct reader arg, struct ip_addr *ip, uint16_t *port)
{
	char text[IP_ADDR_STRLEN];
	unsigned af;
	int d = rd_u8(&arg);

	if (d < 33 || d > 126 || is_digit(d) || !read_number(&arg, &af, 1) || rd_u8(&arg) != d)
		return false;
	long end = rd_find(&arg, (uint8_t)d);
	if (end <= 0 || (size_t)end >= sizeof text)
		return false;
	rd_copy(&arg, text, (size_t)end);
	text[end] = '\0';
	rd_skip(&arg, 1);
	memset(ip, 0, sizeof *ip);
	if (af == 1 && inet_pton(AF_INET, text, ip->b) == 1)
		ip->version = 4;
	else if (af == 2 && inet_pton(AF_INET6, text, ip->b) == 1)
		ip->version = 6;
	else
		return false;
	return read_port(&arg, port) && rd_u8(&arg) == d && rd_ok(&arg);
}

/* ---- data channels ---- */

static void file_expectation(struct session *s, struct ftp_channel *c, const char *note)
{
	struct expectation e;

	memset(&e, 0, sizeof e);
	e.server = c->expect;
	e.server_port = c->port;
	e.transport = TRANSPORT_TCP;
	e.deadline = session_now(s) + FTP_DATA_DEADLINE;
	e.dissector = "ftp-data";
	e.note = note;
	c->filed = session_expect(s, &e);
	session_count(s, c->filed ? "ftp.data_channel_expected" : "ftp.expect_failed");
}

/* Keeps a new announcement (in the list if there is room) as the current
 * one; returns its index in the list, or -1. */
static int16_t add_channel(struct ftp_state *st, struct session *s, const struct ftp_channel *c)
{
	st->cur = *c;
	st->has_cur = true;
	st->cur_index = -1;
	if (st->n_channels >= FTP_MAX_CHANNELS) {
		if (!st->channels_truncated++)
			session_count(s, "ftp.too_many_channels");
		return -1;
	}
	if (!list_ready((void **)&st->channels, FTP_MAX_CHANNELS, sizeof *st->channels, s))
		return -1;
	st->channels[st->n_channels] = *c;
	st->cur_index = (int16_t)st->n_channels++;
	return st->cur_index;
}

/* Copies the current channel's filed flag to its list entry. */
static void cur_filed(struct ftp_state *st)
{
	if (st->cur_index >= 0)
		st->channels[st->cur_index].filed = st->cur.filed;
}

/* A 227 or 229 reply announced a passive channel: it is expected now.
 * transfer is the transfer command the client sent after the PASV before
 * this answer came (pipelining), or -1. */
static void passive_channel(struct ftp_state *st, struct session *s, const struct ip_addr *ip,
                            uint16_t port, uint8_t verb, int16_t transfer)
{
	struct ftp_channel c;
	char note[EXPECT_NOTE_MAX] = "passive";

	memset(&c, 0, sizeof c);
	c.ip = *ip;
	c.expect = *session_addr(s, DIR_SERVER);
	c.port = port;
	c.verb = verb;
	int16_t idx = add_channel(st, s, &c);
	if (transfer >= 0) {
		const struct ftp_transfer *x = &st->transfers[transfer];
		snprintf(note, sizeof note, "passive %.*s%s%.*s", (int)x->verb.len,
		         x->verb.p ? x->verb.p : "", x->file.p ? " " : "", (int)x->file.len,
		         x->file.p ? x->file.p : "");
		st->transfers[transfer].channel = idx;
		st->has_cur = false; /* already used */
	}
	file_expectation(s, &st->cur, note);
	cur_filed(st);
}

/* ---- commands ---- */

static void push_pending(struct ftp_state *st, struct session *s, uint8_t kind, int16_t transfer)
{
	if (st->n_pending >= FTP_MAX_PENDING) {
		session_count(s, "ftp.too_many_pending");
		return;
	}
	unsigned at = (st->pending_head + st->n_pending) % FTP_MAX_PENDING;
	st->pending[at].kind = kind;
	st->pending[at].transfer = transfer;
	st->n_pending++;
	if (kind == K_PASV)
		st->open_pasv = (uint8_t)(at + 1);
}

static bool pop_pending(struct ftp_state *st, struct ftp_pending *out)
{
	if (!st->n_pending)
		return false;
	*out = st->pending[st->pending_head];
	if (st->open_pasv == st->pending_head + 1)
		st->open_pasv = 0;
	st->pending_head = (uint8_t)((st->pending_head + 1) % FTP_MAX_PENDING);
	st->n_pending--;
	return true;
}

static void forget_pending(struct ftp_state *st)
{
	st->n_pending = 0;
	st->pending_head = 0;
	st->open_pasv = 0;
}

/* The bytes of v, borrowed (valid while v's buffer is). */
static const char *chars_of(struct reader v)
{
	return (const char *)rd_take(&v, rd_remaining(&v));
}

static void keep_command(struct ftp_state *st, struct session *s, const void *p, size_t n)
{
	if (st->n_commands >= FTP_MAX_COMMANDS) {
		if (!st->commands_truncated++)
			session_count(s, "ftp.too_many_commands");
		return;
	}
	if (!list_ready((void **)&st->commands, FTP_MAX_COMMANDS, sizeof *st->commands, s))
		return;
	struct wire_str *c = &st->commands[st->n_commands];
	str_setn(c, s, p, n, FTP_MAX_STRING);
	if (c->p)
		st->n_commands++;
}

/* The channel's expectation learns the transfer command, so the data
 * flow's record names it even when the connection came first. */
static void annotate_channel(struct ftp_state *st, struct session *s, int16_t transfer)
{
	char note[EXPECT_NOTE_MAX];
	bool active = st->cur.verb == CV_PORT || st->cur.verb == CV_EPRT;

	if (!st->cur.filed || transfer < 0)
		return;
	const struct ftp_transfer *x = &st->transfers[transfer];
	snprintf(note, sizeof note, "%s %.*s%s%.*s", active ? "active" : "passive",
	         (int)x->verb.len, x->verb.p ? x->verb.p : "", x->file.p ? " " : "",
	         (int)x->file.len, x->file.p ? x->file.p : "");
	session_expect_note(s, &st->cur.expect, st->cur.port, note);
}

/* A transfer command: kept, and linked to its data channel (or to the
 * answer of a PASV/EPSV still unanswered). */
static void transfer_command(struct ftp_state *st, struct session *s, const char *verb,
                             struct reader arg)
{
	int16_t t = -1;

	if (st->n_transfers >= FTP_MAX_TRANSFERS) {
		if (!st->transfers_truncated++)
			session_count(s, "ftp.too_many_transfers");
	} else if (list_ready((void **)&st->transfers, FTP_MAX_TRANSFERS, sizeof *st->transfers,
	                      s)) {
		struct ftp_transfer *x = &st->transfers[st->n_transfers];
		memset(x, 0, sizeof *x);
		x->channel = -1;
		str_setn(&x->verb, s, verb, strlen(verb), 8);
		if (rd_remaining(&arg))
			str_set(&x->file, s, arg, FTP_MAX_STRING);
		t = (int16_t)st->n_transfers++;
	}
	if (st->open_pasv) {
		/* its PASV is unanswered: the answer will link them */
		st->pending[st->open_pasv - 1].transfer = t;
		st->open_pasv = 0;
	} else if (st->has_cur) {
		if (t >= 0)
			st->transfers[t].channel = st->cur_index;
		annotate_channel(st, s, t);
	}
	st->has_cur = false; /* a channel serves one transfer */
	push_pending(st, s, K_TRANSFER, t);
}

static void active_channel(struct ftp_state *st, struct session *s, const struct ip_addr *ip,
                           uint16_t port, uint8_t verb)
{
	struct ftp_channel c;

	memset(&c, 0, sizeof c);
	c.ip = *ip;
	c.expect = *ip;
	c.port = port;
	c.verb = verb;
	add_channel(st, s, &c);
	file_expectation(s, &st->cur, "active");
	cur_filed(st);
}

static bool is_anonymous(struct reader user)
{
	return equals_nocase(user, "anonymous") || equals_nocase(user, "ftp");
}

static void client_line(struct ftp_state *st, struct session *s, struct reader line)
{
	char verb[9];
	size_t n = 0;

	/* Telnet IP/DM before an ABOR (RFC 959 4.1.3) are not the command */
	while (rd_peek(&line, 0) >= 0xf0)
		rd_skip(&line, 1);
	if (!rd_remaining(&line))
		return;
	struct reader whole = line;
	while (n < sizeof verb - 1 && is_alpha(rd_peek(&line, 0)))
		verb[n++] = (char)upper(rd_u8(&line));
	verb[n] = '\0';
	int next = rd_peek(&line, 0);
	if (n < 3 || (next >= 0 && next != ' ')) {
		malformed(s, "ftp.bad_command");
		return;
	}
	st->saw_ftp = true;
	rd_skip(&line, next == ' ' ? 1 : 0);
	struct reader arg = line;

	if (strcmp(verb, "PASS") == 0) {
		st->password_seen = true;
		if (st->show_credentials) {
			keep_command(st, s, chars_of(whole), rd_remaining(&whole));
			str_set(&st->password, s, arg, FTP_MAX_USER);
		} else {
			keep_command(st, s, "PASS ****", 9);
		}
		if (!st->anonymous) {
			session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
			session_count(s, "ftp.cleartext_password");
		}
		push_pending(st, s, K_PASS, -1);
		return;
	}
	keep_command(st, s, chars_of(whole), rd_remaining(&whole));

	uint8_t kind = K_OTHER;
	struct ip_addr ip;
	uint16_t port;
	if (strcmp(verb, "USER") == 0) {
		str_set(&st->user, s, arg, FTP_MAX_USER);
		st->anonymous = is_anonymous(arg);
		kind = K_USER;
	} else if (strcmp(verb, "AUTH") == 0) {
		if (equals_nocase(arg, "TLS") || equals_nocase(arg, "SSL") ||
		    equals_nocase(arg, "TLS-C") || equals_nocase(arg, "TLS-P")) {
			kind = K_AUTH_TLS;
			st->auth_requested = true;
			str_setn(&st->auth, s, chars_of(whole), rd_remaining(&whole), 32);
		}
	} else if (strcmp(verb, "PASV") == 0 || strcmp(verb, "EPSV") == 0) {
		kind = K_PASV;
		st->has_cur = false; /* the next transfer uses what this one opens */
	} else if (strcmp(verb, "PORT") == 0 || strcmp(verb, "EPRT") == 0) {
		st->open_pasv = 0;
		bool eprt = verb[0] == 'E';
		struct reader a = arg;
		if (eprt ? parse_eprt(arg, &ip, &port) : (parse_six(&a, &ip, &port) && port))
			active_channel(st, s, &ip, port, eprt ? CV_EPRT : CV_PORT);
		else
			malformed(s, "ftp.bad_port");
		kind = K_PORT;
	} else {
		for (const char *const *v = transfer_verbs; *v; v++) {
			if (strcmp(verb, *v) == 0) {
				transfer_command(st, s, *v, arg);
				return;
			}
		}
	}
	push_pending(st, s, kind, -1);
}

/* ---- replies ---- */

static void keep_reply(struct ftp_state *st, struct session *s, uint16_t code)
{
	if (st->n_replies >= FTP_MAX_REPLIES) {
		if (!st->replies_truncated++)
			session_count(s, "ftp.too_many_replies");
		return;
	}
	if (list_ready((void **)&st->replies, FTP_MAX_REPLIES, sizeof *st->replies, s))
		st->replies[st->n_replies++] = code;
}

static void dir_to_tls(struct ftp_dir *d)
{
	if (d->mode != M_LINES)
		return;
	d->mode = M_TLS;
	d->tls_alert = false;
	d->partial = false;
}

/* TLS begins on the control connection: a 234 to AUTH TLS (both ways), or
 * the client's first TLS record came before that 234 was seen (its way
 * only; the reply is still to be read). */
static void begin_tls(struct ftp_state *st, struct session *s, bool by_reply)
{
	st->auth_tls = true;
	if (!by_reply) {
		dir_to_tls(&st->dir[DIR_CLIENT]);
		return;
	}
	forget_pending(st);
	st->multi = 0;
	if (st->dir[DIR_CLIENT].mode == M_LINES && session_handoff(s, "tls")) {
		st->handed_off = true;
		return;
	}
	session_count(s, "ftp.tls_not_dissected");
	dir_to_tls(&st->dir[DIR_CLIENT]);
	dir_to_tls(&st->dir[DIR_SERVER]);
}

/* A whole reply: its code and the text of its first line. */
static void reply(struct ftp_state *st, struct session *s, uint16_t code, struct reader text)
{
	struct ftp_pending p;
	struct ip_addr ip;
	uint16_t port;

	st->saw_ftp = true;
	keep_reply(st, s, code);
	if (st->greeting < 2 && (code == 220 || code == 120)) {
		if (!st->banner.p || st->banner.len == 0)
			str_set(&st->banner, s, text, FTP_MAX_STRING);
		st->greeting = code == 220 ? 2 : 1;
		return;
	}
	st->greeting = 2;
	if (code < 200)
		return; /* preliminary: the command's answer is still to come */
	bool paired = pop_pending(st, &p);
	if (!paired) {
		session_count(s, "ftp.unsolicited_reply");
		p.kind = K_OTHER;
		p.transfer = -1;
	}
	int16_t pipelined = p.kind == K_PASV ? p.transfer : -1;
	if (code == 227) {
		if (parse_227(text, &ip, &port) && port)
			passive_channel(st, s, &ip, port, CV_PASV, pipelined);
		else
			malformed(s, "ftp.bad_pasv_reply");
	} else if (code == 229) {
		if (parse_229(text, &port))
			passive_channel(st, s, session_addr(s, DIR_SERVER), port, CV_EPSV,
			                pipelined);
		else
			malformed(s, "ftp.bad_epsv_reply");
	} else if (p.kind == K_TRANSFER) {
		if (p.transfer >= 0)
			st->transfers[p.transfer].reply = code;
	} else if (p.kind == K_PORT && code >= 400 && st->has_cur) {
		st->has_cur = false; /* refused: no transfer will use it */
	}
	if (code == 234 && st->auth_requested)
		begin_tls(st, s, true);
}

/* "ddd" then ' ', '-' or the end of the line; the code or 0. */
static uint16_t reply_code(struct reader *line, int *sep)
{
	unsigned code = 0;

	for (int i = 0; i < 3; i++) {
		int c = rd_peek(line, (size_t)i);
		if (!is_digit(c))
			return 0;
		code = code * 10 + (unsigned)(c - '0');
	}
	*sep = rd_peek(line, 3);
	if (code < 100 || code > 599 || (*sep >= 0 && *sep != ' ' && *sep != '-'))
		return 0;
	rd_skip(line, *sep >= 0 ? 4 : 3);
	return (uint16_t)code;
}

static void server_line(struct ftp_state *st, struct session *s, struct reader line)
{
	int sep = -1;
	struct reader text = line;
	uint16_t code = reply_code(&text, &sep);

	if (st->multi) {
		if (code == st->multi && sep != '-') {
			st->multi = 0;
			reply(st, s, code, text);
			return;
		}
		/* a continuation line: a banner that starts on the second line */
		if (st->greeting < 2 && st->multi == 220 && st->banner.p && st->banner.len == 0) {
			struct reader t = code ? text : line;
			while (rd_peek(&t, 0) == ' ')
				rd_skip(&t, 1);
			if (rd_remaining(&t))
				str_set(&st->banner, s, t, FTP_MAX_STRING);
		}
		return;
	}
	if (!code) {
		if (rd_remaining(&line))
			malformed(s, "ftp.bad_reply");
		return;
	}
	if (sep == '-') {
		st->multi = code;
		if (st->greeting < 2 && code == 220 && !st->banner.p)
			str_set(&st->banner, s, text, FTP_MAX_STRING);
		return;
	}
	reply(st, s, code, text);
}

/* ---- TLS records ---- */

static long tls_record_length(struct reader h, void *arg)
{
	(void)arg;
	int type = rd_peek(&h, 0);
	if (type >= 0 && (type < 20 || type > 24))
		return -1;
	int major = rd_peek(&h, 1);
	if (major >= 0 && major != 3)
		return -1;
	if (rd_remaining(&h) < 5)
		return 0;
	rd_skip(&h, 3);
	return 5 + (long)rd_be16(&h);
}

/* After a close_notify, the next bytes are FTP again (CCC) when they look
 * like the start of a command or a reply. */
static bool looks_like_ftp(struct reader r, enum direction dir)
{
	int c = rd_peek(&r, 0);
	return dir == DIR_CLIENT ? is_alpha(c) : (c >= '1' && c <= '5');
}

/* ---- the dissector ---- */

static size_t ftp_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct ftp_state *st = state;
	struct ftp_dir *d = &st->dir[dir];
	struct reader line, pdu;
	bool cut;

	if (!d->lines.max_line)
		d->lines.max_line = FTP_MAX_LINE;
	if (!d->tls.max_pdu)
		d->tls.max_pdu = FTP_TLS_MAX_RECORD;
	st->show_credentials = session_show_credentials(s);
	while (rd_remaining(&r) && !st->handed_off) {
		if (d->mode == M_OPAQUE) {
			rd_skip(&r, rd_remaining(&r));
			break;
		}
		if (d->mode == M_TLS) {
			enum frame_result fr = pdu_next(&d->tls, &r, tls_record_length, NULL, &pdu);
			if (fr == FRAME_OK) {
				if (rd_peek(&pdu, 0) == 21)
					d->tls_alert = true;
				continue;
			}
			if (fr == FRAME_TOO_BIG)
				continue;
			if (fr == FRAME_NEED_MORE)
				break;
			if (d->tls_alert && looks_like_ftp(r, dir)) {
				d->mode = M_LINES;
				st->cleartext_resumed = true;
				session_count(s, "ftp.cleartext_after_tls");
			} else {
				d->mode = M_OPAQUE;
				session_count(s, "ftp.tls_out_of_step");
			}
			continue;
		}
		/* the client began TLS before its 234 was seen: a TLS dissector
		 * will want these bytes, so they wait for the 234's handoff */
		if (dir == DIR_CLIENT && st->auth_requested && !st->auth_tls &&
		    rd_peek(&r, 0) == 0x16 && rd_peek(&r, 1) == 0x03) {
			if (dissector_by_name("tls"))
				break;
			begin_tls(st, s, false);
			continue;
		}
		if (line_next(&d->lines, &r, &line, &cut) != FRAME_OK)
			break;
		if (cut)
			session_count(s, "ftp.line_too_long");
		if (dir == DIR_CLIENT)
			client_line(st, s, line);
		else
			server_line(st, s, line);
	}
	d->partial = rd_remaining(&r) > 0 && !st->handed_off;
	return rd_offset(&r);
}

static void ftp_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct ftp_state *st = state;
	struct ftp_dir *d = &st->dir[dir];

	st->gap = true;
	d->partial = false;
	if (st->handed_off)
		return;
	if (d->mode == M_TLS) {
		if (!pdu_gap(&d->tls, missing))
			d->mode = M_OPAQUE;
		return;
	}
	if (d->mode != M_LINES)
		return;
	line_gap(&d->lines);
	if (dir == DIR_SERVER)
		st->multi = 0;
	/* replies can no longer be paired with the commands they answer */
	forget_pending(st);
	session_count(s, "ftp.gap");
}

static void ftp_on_end(struct session *s, void *state)
{
	struct ftp_state *st = state;

	if (st->saw_ftp && !st->auth_tls)
		session_alert(s, ALERT_INSECURE_PROTOCOL);
	for (int i = 0; i < 2; i++)
		if (st->dir[i].partial && st->dir[i].mode == M_LINES)
			session_count(s, "ftp.incomplete_line");
}

static void ftp_release(void *state)
{
	struct ftp_state *st = state;

	str_free(&st->banner);
	str_free(&st->user);
	str_free(&st->password);
	str_free(&st->auth);
	for (unsigned i = 0; i < st->n_commands; i++)
		str_free(&st->commands[i]);
	for (unsigned i = 0; i < st->n_transfers; i++) {
		str_free(&st->transfers[i].verb);
		str_free(&st->transfers[i].file);
	}
	free(st->commands);
	free(st->replies);
	free(st->channels);
	free(st->transfers);
	st->commands = NULL;
	st->replies = NULL;
	st->channels = NULL;
	st->transfers = NULL;
	st->n_commands = st->n_replies = st->n_channels = st->n_transfers = 0;
}

/* ---- the probe ---- */

/* Client commands only FTP sends first (USER too: POP3 servers greet with
 * "+OK", which never reaches this side's probe as a yes). */
static const char *const probe_verbs[] = {
    "USER", "FEAT", "SYST", "PASV", "EPSV", "PORT", "EPRT", "TYPE", "OPTS",
    "CLNT", "PWD",  "XPWD", "CWD",  "LIST", "NLST", "MLSD", "MLST", "RETR",
    "STOR", "SIZE", "MDTM", "ACCT", "SITE", "MODE", "STRU", NULL,
};

/* Compares the start of r with lit ignoring case: NO on a difference,
 * NEED_MORE when r ends first, YES (r moved past lit) on a match. */
static enum verdict match_nocase(struct reader *r, const char *lit)
{
	size_t n = strlen(lit);

	for (size_t i = 0; i < n; i++) {
		int c = rd_peek(r, i);
		if (c < 0)
			return VERDICT_NEED_MORE;
		if (upper(c) != upper((unsigned char)lit[i]))
			return VERDICT_NO;
	}
	rd_skip(r, n);
	return VERDICT_YES;
}

static enum verdict probe_client(struct reader r)
{
	enum verdict best = VERDICT_NO;

	for (const char *const *v = probe_verbs; *v; v++) {
		struct reader t = r;
		enum verdict m = match_nocase(&t, *v);
		if (m == VERDICT_YES) {
			int c = rd_peek(&t, 0);
			if (c < 0)
				return VERDICT_NEED_MORE;
			if (c == ' ' || c == '\r' || c == '\n')
				return VERDICT_YES;
		} else if (m == VERDICT_NEED_MORE) {
			best = VERDICT_NEED_MORE;
		}
	}
	/* AUTH TLS / AUTH SSL: other protocols' AUTH names SASL mechanisms */
	struct reader t = r;
	enum verdict m = match_nocase(&t, "AUTH ");
	if (m == VERDICT_YES) {
		struct reader u = t;
		enum verdict a = match_nocase(&t, "TLS");
		enum verdict b = match_nocase(&u, "SSL");
		if (a == VERDICT_YES || b == VERDICT_YES)
			return VERDICT_YES;
		if (a == VERDICT_NEED_MORE || b == VERDICT_NEED_MORE)
			return VERDICT_NEED_MORE;
	} else if (m == VERDICT_NEED_MORE) {
		best = VERDICT_NEED_MORE;
	}
	return best;
}

/* Whether v holds lit, ignoring case. */
static bool contains_nocase(struct reader v, const char *lit)
{
	while (rd_remaining(&v)) {
		struct reader t = v;
		if (match_nocase(&t, lit) == VERDICT_YES)
			return true;
		rd_skip(&v, 1);
	}
	return false;
}

/* Reply codes no other greeting-first text protocol answers with. */
static bool ftp_only_code(unsigned code)
{
	static const uint16_t codes[] = {331, 332, 227, 229, 257, 215, 150, 125, 230, 226, 0};
	for (const uint16_t *c = codes; *c; c++)
		if (*c == code)
			return true;
	return false;
}

/* The server's first bytes: a 220 (or 120) greeting naming FTP (or an FTP
 * server without it in its name: FileZilla, Serv-U) says yes,
 * one naming SMTP says no; an anonymous one waits for the client's first
 * command (or the next reply). */
static enum verdict probe_server(struct reader r)
{
	bool greeting_over = false;
	unsigned first = 0;

	for (int i = 0; i < 3; i++) {
		int c = rd_peek(&r, (size_t)i);
		if (c < 0)
			return VERDICT_NEED_MORE;
		if (!is_digit(c))
			return VERDICT_NO;
		first = first * 10 + (unsigned)(c - '0');
	}
	int sep = rd_peek(&r, 3);
	if (sep < 0)
		return VERDICT_NEED_MORE;
	if (sep != ' ' && sep != '-')
		return VERDICT_NO;
	if (ftp_only_code(first))
		return VERDICT_YES;
	if (first != 220 && first != 120)
		return VERDICT_NO;
	for (;;) {
		long lf = rd_find(&r, '\n');
		struct reader line = rd_sub(&r, lf < 0 ? rd_remaining(&r) : (size_t)lf);
		rd_skip(&r, lf < 0 ? 0 : 1);
		int sp = -1;
		struct reader t = line;
		unsigned code = reply_code(&t, &sp);
		if (greeting_over) {
			if (lf < 0 || !code)
				return lf < 0 ? VERDICT_NEED_MORE : VERDICT_NO;
			return ftp_only_code(code) ? VERDICT_YES : VERDICT_NO;
		}
		if (contains_nocase(line, "FTP") || contains_nocase(line, "FileZilla") ||
		    contains_nocase(line, "Serv-U"))
			return VERDICT_YES;
		if (contains_nocase(line, "SMTP") || contains_nocase(line, "ESMTP"))
			return VERDICT_NO;
		if (lf < 0)
			return VERDICT_NEED_MORE;
		if (code == 220 && sp != '-')
			greeting_over = true;
		if (!rd_remaining(&r))
			return VERDICT_NEED_MORE;
	}
}

static enum verdict ftp_probe(struct reader r, enum direction dir)
{
	return dir == DIR_CLIENT ? probe_client(r) : probe_server(r);
}

/* ---- output ---- */

static void emit_fstr(struct emitter *e, const char *key, const struct wire_str *s)
{
	if (s->p)
		emit_strn(e, key, s->p, s->len);
	else
		emit_null(e, key);
}

static void emit_ip(struct emitter *e, const char *key, const struct ip_addr *a)
{
	char buf[IP_ADDR_STRLEN];
	emit_str(e, key, ip_addr_format(a, buf, sizeof buf));
}

static void emit_channel(const struct ftp_channel *c, struct emitter *e)
{
	emit_object_begin(e, NULL);
	emit_ip(e, "ip", &c->ip);
	emit_int(e, "port", c->port);
	emit_str(e, "mode", c->verb == CV_PORT || c->verb == CV_EPRT ? "active" : "passive");
	emit_str(e, "command", channel_verbs[c->verb]);
	if (ip_addr_compare(&c->ip, &c->expect) != 0)
		emit_ip(e, "expected_ip", &c->expect);
	emit_bool(e, "expected", c->filed);
	emit_object_end(e);
}

static void ftp_emit(const void *state, struct emitter *e)
{
	const struct ftp_state *st = state;

	emit_fstr(e, "banner", &st->banner);
	emit_fstr(e, "user", &st->user);
	if (st->user.p)
		emit_bool(e, "anonymous", st->anonymous);
	if (st->password.p)
		emit_fstr(e, "password", &st->password);
	emit_bool(e, "password_seen", st->password_seen);
	emit_array_begin(e, "commands");
	for (unsigned i = 0; i < st->n_commands; i++)
		emit_fstr(e, NULL, &st->commands[i]);
	emit_array_end(e);
	if (st->commands_truncated)
		emit_int(e, "truncated", st->commands_truncated);
	emit_array_begin(e, "replies");
	for (unsigned i = 0; i < st->n_replies; i++)
		emit_int(e, NULL, st->replies[i]);
	emit_array_end(e);
	if (st->replies_truncated)
		emit_int(e, "replies_truncated", st->replies_truncated);
	emit_array_begin(e, "data_channels");
	for (unsigned i = 0; i < st->n_channels; i++)
		emit_channel(&st->channels[i], e);
	emit_array_end(e);
	if (st->channels_truncated)
		emit_int(e, "data_channels_truncated", st->channels_truncated);
	emit_array_begin(e, "transfers");
	for (unsigned i = 0; i < st->n_transfers; i++) {
		const struct ftp_transfer *t = &st->transfers[i];
		emit_object_begin(e, NULL);
		emit_fstr(e, "command", &t->verb);
		emit_fstr(e, "file", &t->file);
		if (t->reply)
			emit_int(e, "reply", t->reply);
		else
			emit_null(e, "reply");
		if (t->channel >= 0) {
			const struct ftp_channel *c = &st->channels[t->channel];
			emit_object_begin(e, "data_channel");
			emit_ip(e, "ip", &c->expect);
			emit_int(e, "port", c->port);
			emit_object_end(e);
		} else {
			emit_null(e, "data_channel");
		}
		emit_object_end(e);
	}
	emit_array_end(e);
	if (st->transfers_truncated)
		emit_int(e, "transfers_truncated", st->transfers_truncated);
	emit_bool(e, "auth_tls", st->auth_tls);
	emit_bool(e, "starttls", st->auth_tls);
	if (st->auth_tls) {
		if (st->auth.p)
			emit_fstr(e, "encrypted_after", &st->auth);
		else
			emit_str(e, "encrypted_after", "AUTH TLS");
	}
	if (st->cleartext_resumed)
		emit_bool(e, "cleartext_after_tls", true);
	if (st->gap)
		emit_bool(e, "gap", true);
}

/* "user alice, 12 commands, 2 transfers" */
static void ftp_summarize(const void *state, char *buf, size_t n)
{
	const struct ftp_state *st = state;
	char user[FTP_MAX_USER * 4 + 1] = "";

	if (!n)
		return;
	if (st->user.p)
		text_escape(st->user.p, st->user.len, user, sizeof user);
	snprintf(buf, n, "%s%s%s%u commands, %u transfers%s", st->user.p ? "user " : "", user,
	         st->user.p ? ", " : "", st->n_commands + st->commands_truncated,
	         st->n_transfers + st->transfers_truncated, st->auth_tls ? ", AUTH TLS" : "");
}

const struct dissector ftp_dissector = {
    .name = "ftp",
    .transports = TRANSPORT_BIT_TCP,
    .ports = ftp_ports,
    .state_size = sizeof(struct ftp_state),
    .probe = ftp_probe,
    .on_data = ftp_on_data,
    .on_gap = ftp_on_gap,
    .on_end = ftp_on_end,
    .emit = ftp_emit,
    .summarize = ftp_summarize,
    .release = ftp_release,
};

/* ---- ftp-data: a data connection the control session announced ---- */

struct ftp_data_state {
	uint64_t bytes[2];
	uint64_t missed;
	struct expected_from from;
	bool has_from;
	int8_t download; /* 1 download, 0 upload, -1 unknown (set at the end) */
};

/* The parts of an expectation's note: "<mode>[ <VERB>[ <argument>]]". */
struct data_note {
	const char *mode, *verb, *arg;
	size_t mode_len, verb_len;
};

static struct data_note split_note(const char *note)
{
	struct data_note n = {note, "", "", 0, 0};
	const char *sp = strchr(note, ' ');

	n.mode_len = sp ? (size_t)(sp - note) : strlen(note);
	if (!sp)
		return n;
	n.verb = sp + 1;
	sp = strchr(n.verb, ' ');
	n.verb_len = sp ? (size_t)(sp - n.verb) : strlen(n.verb);
	if (sp)
		n.arg = sp + 1;
	return n;
}

static void data_from(struct ftp_data_state *st, struct session *s)
{
	const struct expected_from *f;

	if (st->has_from || !(f = session_expected_from(s)))
		return;
	st->from = *f;
	st->from.note[EXPECT_NOTE_MAX - 1] = '\0';
	st->has_from = true;
}

static size_t ftp_data_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct ftp_data_state *st = state;

	data_from(st, s);
	st->bytes[dir] += rd_remaining(&r);
	return rd_remaining(&r);
}

static void ftp_data_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct ftp_data_state *st = state;

	(void)dir;
	data_from(st, s);
	st->missed += missing;
}

static bool verb_in(const struct data_note *n, const char *const *verbs)
{
	for (; *verbs; verbs++)
		if (n->verb_len == strlen(*verbs) && strncmp(n->verb, *verbs, n->verb_len) == 0)
			return true;
	return false;
}

static void ftp_data_on_end(struct session *s, void *state)
{
	static const char *const uploads[] = {"STOR", "APPE", "STOU", NULL};
	static const char *const downloads[] = {"RETR", "LIST", "NLST", "MLSD", NULL};
	struct ftp_data_state *st = state;

	st->has_from = false; /* read again: the transfer command may have come since */
	data_from(st, s);
	st->download = -1;
	if (!st->has_from)
		return;
	struct data_note n = split_note(st->from.note);
	if (verb_in(&n, uploads)) {
		st->download = 0;
	} else if (verb_in(&n, downloads)) {
		st->download = 1;
	} else if (st->bytes[DIR_CLIENT] + st->bytes[DIR_SERVER]) {
		/* no command known: the side that sent the bytes tells */
		enum direction sender =
		    st->bytes[DIR_SERVER] >= st->bytes[DIR_CLIENT] ? DIR_SERVER : DIR_CLIENT;
		const struct ip_addr *a = session_addr(s, sender);
		if (ip_addr_compare(a, &st->from.server) == 0)
			st->download = 1;
		else if (ip_addr_compare(a, &st->from.client) == 0)
			st->download = 0;
	}
}

static void emit_endpoint(struct emitter *e, const char *key, const struct ip_addr *a,
                          uint16_t port)
{
	emit_object_begin(e, key);
	emit_ip(e, "ip", a);
	emit_int(e, "port", port);
	emit_object_end(e);
}

static void ftp_data_emit(const void *state, struct emitter *e)
{
	const struct ftp_data_state *st = state;
	struct data_note n = split_note(st->has_from ? st->from.note : "");

	if (st->has_from) {
		emit_object_begin(e, "control");
		emit_endpoint(e, "client", &st->from.client, st->from.client_port);
		emit_endpoint(e, "server", &st->from.server, st->from.server_port);
		emit_object_end(e);
	} else {
		emit_null(e, "control");
	}
	if (n.mode_len)
		emit_strn(e, "mode", n.mode, n.mode_len);
	else
		emit_null(e, "mode");
	if (n.verb_len)
		emit_strn(e, "command", n.verb, n.verb_len);
	else
		emit_null(e, "command");
	if (n.arg[0])
		emit_str(e, "file", n.arg);
	else
		emit_null(e, "file");
	if (st->download >= 0)
		emit_str(e, "direction", st->download ? "download" : "upload");
	else
		emit_null(e, "direction");
	emit_int(e, "bytes", (int64_t)(st->bytes[0] + st->bytes[1] + st->missed));
	if (st->missed)
		emit_int(e, "missed_bytes", (int64_t)st->missed);
}

static void ftp_data_summarize(const void *state, char *buf, size_t n)
{
	const struct ftp_data_state *st = state;
	char note[EXPECT_NOTE_MAX * 4 + 1] = "";

	if (!n)
		return;
	if (st->has_from)
		text_escape(st->from.note, strlen(st->from.note), note, sizeof note);
	snprintf(buf, n, "%s%s%llu bytes", note, note[0] ? ", " : "",
	         (unsigned long long)(st->bytes[0] + st->bytes[1] + st->missed));
}

const struct dissector ftp_data_dissector = {
    .name = "ftp-data",
    .transports = TRANSPORT_BIT_TCP,
    .ports = NULL,
    .state_size = sizeof(struct ftp_data_state),
    .probe = NULL,
    .on_data = ftp_data_on_data,
    .on_gap = ftp_data_on_gap,
    .on_end = ftp_data_on_end,
    .emit = ftp_data_emit,
    .summarize = ftp_data_summarize,
};
