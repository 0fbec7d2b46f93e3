/* Syslog over UDP port 514: RFC 3164 (BSD) and RFC 5424 messages.
 *
 * Each datagram holds one message (a relay may batch several, one per line,
 * each starting with its own "<PRI>").  The PRI becomes facility and
 * severity names; the header gives timestamp, host, app (the 3164 TAG),
 * procid, msgid (5424) and structured data (5424, kept raw); the free text
 * is kept up to SYSLOG_MAX_MESSAGE bytes.  The first SYSLOG_MAX_MESSAGES
 * messages of a flow are kept, the rest only counted.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/framing.h"
#include "portolan/summary.h"

#define SYSLOG_MAX_MESSAGES 16
#define SYSLOG_MAX_MESSAGE 1024
#define SYSLOG_MAX_TIMESTAMP 64
#define SYSLOG_MAX_HOST 255 /* RFC 5424 HOSTNAME */
#define SYSLOG_MAX_APP 48   /* RFC 5424 APP-NAME */
#define SYSLOG_MAX_PROCID 128
#define SYSLOG_MAX_MSGID 32
#define SYSLOG_MAX_SD 512 /* structured data, raw */
#define SYSLOG_MAX_PRI 191

static const uint16_t syslog_ports[] = {514, 0};

static const char *const facility_names[24] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock",
    "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7",
};

static const char *const severity_names[8] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

enum syslog_format { FORMAT_NONE = 0, FORMAT_RFC3164, FORMAT_RFC5424 };

/* A bounded copy of wire bytes. */
#define FIELD(name, cap)                                                                           \
	struct {                                                                                   \
		char text[cap];                                                                    \
		uint16_t len;                                                                      \
		bool set, cut;                                                                     \
	} name

struct syslog_msg {
	int pri; /* -1: none or invalid */
	uint8_t format, version;
	FIELD(timestamp, SYSLOG_MAX_TIMESTAMP);
	FIELD(host, SYSLOG_MAX_HOST);
	FIELD(app, SYSLOG_MAX_APP);
	FIELD(procid, SYSLOG_MAX_PROCID);
	FIELD(msgid, SYSLOG_MAX_MSGID);
	FIELD(sd, SYSLOG_MAX_SD);
	FIELD(message, SYSLOG_MAX_MESSAGE);
	bool short_header; /* the 5424 header ended early */
};

struct syslog_state {
	struct syslog_msg msgs[SYSLOG_MAX_MESSAGES];
	uint32_t n_msgs;
	uint64_t count;     /* every message seen */
	uint64_t truncated; /* messages not kept */
	uint32_t malformed;
	struct line_state lines; /* TCP, non-transparent framing */
	bool stream_lost;        /* TCP: the framing could not be followed */
};

/* One syslog message over TCP (RFC 6587 octet counting) may be this long. */
#define SYSLOG_TCP_MAX_MSG (64u * 1024)

#define SET_FIELD(f, p, n, counter, s)                                                             \
	set_field((f).text, sizeof(f).text, &(f).len, &(f).set, &(f).cut, p, n, s, counter)

static void set_field(char *text, size_t cap, uint16_t *len, bool *set, bool *cut, const uint8_t *p,
                      size_t n, struct session *s, const char *counter)
{
	*set = true;
	*cut = n > cap;
	if (*cut) {
		n = cap;
		session_count(s, counter);
	}
	if (n)
		memcpy(text, p, n);
	*len = (uint16_t)n;
}

/* ---- PRI ---- */

/* Reads "<digits>" (1-3 digits, value <= 191) at the cursor.  Returns the
 * value, -1 when the bytes are not a PRI, -2 when they end too early. */
static int read_pri(struct reader *r)
{
	if (rd_peek(r, 0) < 0)
		return -2;
	if (rd_peek(r, 0) != '<')
		return -1;
	int v = 0;
	size_t i = 1;
	for (; i <= 4; i++) {
		int c = rd_peek(r, i);
		if (c < 0)
			return -2;
		if (c == '>')
			break;
		if (c < '0' || c > '9' || i == 4)
			return -1;
		v = v * 10 + (c - '0');
	}
	if (i == 1 || v > SYSLOG_MAX_PRI)
		return -1;
	rd_skip(r, i + 1);
	return v;
}

/* Over TCP (RFC 6587) a message may be preceded by its length in octets
 * and a space: "131 <14>1 ...".  Skips that prefix; false when a run of
 * digits is not followed by a space. */
static bool skip_octet_count(struct reader *r)
{
	size_t k = 0;
	int c;
	while (k < 9 && (c = rd_peek(r, k)) >= '0' && c <= '9')
		k++;
	if (k == 0)
		return true;
	if (rd_peek(r, k) != ' ')
		return false;
	rd_skip(r, k + 1);
	return true;
}

static enum verdict syslog_probe(struct reader r, enum direction dir)
{
	(void)dir;
	if (!skip_octet_count(&r))
		return rd_remaining(&r) < 10 ? VERDICT_NEED_MORE : VERDICT_NO;
	int v = read_pri(&r);
	if (v == -2)
		return VERDICT_NEED_MORE;
	return v >= 0 ? VERDICT_YES : VERDICT_NO;
}

/* ---- header pieces ---- */

/* The bytes up to the next space (or the end); the cursor stays on the
 * space. */
static struct reader token(struct reader *r)
{
	long sp = rd_find(r, ' ');
	return rd_sub(r, sp < 0 ? rd_remaining(r) : (size_t)sp);
}

static bool skip_space(struct reader *r)
{
	if (rd_peek(r, 0) != ' ')
		return false;
	rd_skip(r, 1);
	return true;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* "Mmm dd hh:mm:ss" (day space-padded) at the cursor. */
static bool bsd_timestamp(const struct reader *r)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	if (!rd_has(r, 15)) /* peeks only: r does not move */
		return false;
	bool month = false;
	for (size_t m = 0; m < 12; m++)
		if (rd_starts_with(r, months + 3 * m, 3))
			month = true;
	return month && rd_peek(r, 3) == ' ' && (rd_peek(r, 4) == ' ' || is_digit(rd_peek(r, 4))) &&
	       is_digit(rd_peek(r, 5)) && rd_peek(r, 6) == ' ' && is_digit(rd_peek(r, 7)) &&
	       is_digit(rd_peek(r, 8)) && rd_peek(r, 9) == ':' && is_digit(rd_peek(r, 10)) &&
	       is_digit(rd_peek(r, 11)) && rd_peek(r, 12) == ':' && is_digit(rd_peek(r, 13)) &&
	       is_digit(rd_peek(r, 14));
}

/* "2003-10-11T22:14:15..." at the cursor (RFC 3339, used by rsyslog in the
 * BSD layout too). */
static bool iso_timestamp(const struct reader *r)
{
	/* peeks only: r does not move (and -1 past the end is no digit) */
	return is_digit(rd_peek(r, 0)) && is_digit(rd_peek(r, 1)) && is_digit(rd_peek(r, 2)) &&
	       is_digit(rd_peek(r, 3)) && rd_peek(r, 4) == '-' && is_digit(rd_peek(r, 5)) &&
	       is_digit(rd_peek(r, 6)) && rd_peek(r, 7) == '-' && is_digit(rd_peek(r, 8)) &&
	       is_digit(rd_peek(r, 9)) && rd_peek(r, 10) == 'T';
}

static bool tag_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
	       c == '-' || c == '.' || c == '/' || c == '@';
}

/* A BSD TAG at the cursor: "app:", "app[pid]:" or "app[pid]" then a space.
 * On success stores app and procid, moves past the tag, its colon and one
 * space, and returns true; otherwise leaves the cursor alone. */
static bool bsd_tag(struct session *s, struct syslog_msg *m, struct reader *r)
{
	struct reader t = *r;
	size_t n = 0;
	while (tag_char(rd_peek(&t, n)) && n <= SYSLOG_MAX_APP)
		n++;
	if (n == 0 || n > SYSLOG_MAX_APP)
		return false;
	const uint8_t *app = rd_take(&t, n);
	const uint8_t *pid = NULL;
	size_t pid_len = 0;
	if (rd_peek(&t, 0) == '[') {
		rd_skip(&t, 1);
		long close = rd_find(&t, ']');
		if (close < 0 || close > SYSLOG_MAX_PROCID)
			return false;
		pid_len = (size_t)close;
		pid = rd_take(&t, pid_len);
		rd_skip(&t, 1);
		if (rd_peek(&t, 0) == ':')
			rd_skip(&t, 1);
		else if (rd_peek(&t, 0) != ' ' && rd_peek(&t, 0) >= 0)
			return false;
	} else if (rd_peek(&t, 0) == ':') {
		rd_skip(&t, 1);
	} else {
		return false;
	}
	skip_space(&t);
	if (!rd_ok(&t))
		return false;
	SET_FIELD(m->app, app, n, "syslog.field_capped", s);
	if (pid)
		SET_FIELD(m->procid, pid, pid_len, "syslog.field_capped", s);
	*r = t;
	return true;
}

static void set_message(struct session *s, struct syslog_msg *m, struct reader *r)
{
	struct reader rest = rd_rest(r);
	/* RFC 5424 marks UTF-8 text with a BOM */
	if (rd_starts_with(&rest, "\xEF\xBB\xBF", 3))
		rd_skip(&rest, 3);
	size_t n = rd_remaining(&rest);
	SET_FIELD(m->message, rd_take(&rest, n), n, "syslog.message_capped", s);
}

static void parse_bsd(struct session *s, struct syslog_msg *m, struct reader *r)
{
	m->format = FORMAT_RFC3164;
	bool stamped = false;
	if (bsd_timestamp(r)) {
		SET_FIELD(m->timestamp, rd_take(r, 15), 15, "syslog.field_capped", s);
		stamped = true;
	} else if (iso_timestamp(r)) {
		struct reader ts = token(r);
		size_t n = rd_remaining(&ts);
		SET_FIELD(m->timestamp, rd_take(&ts, n), n, "syslog.field_capped", s);
		stamped = true;
	}
	if (stamped && !skip_space(r)) {
		set_message(s, m, r);
		return;
	}
	if (bsd_tag(s, m, r)) {
		set_message(s, m, r);
		return;
	}
	if (stamped) {
		/* HOSTNAME: the next word, when a space follows it */
		struct reader probe = *r;
		struct reader host = token(&probe);
		size_t n = rd_remaining(&host);
		if (n && skip_space(&probe)) {
			SET_FIELD(m->host, rd_take(&host, n), n, "syslog.field_capped", s);
			*r = probe;
			bsd_tag(s, m, r);
		}
	}
	set_message(s, m, r);
}

/* One RFC 5424 header field: "-" is nil.  Returns false when the header
 * ended before the field. */
static bool header_field(struct reader *r, const uint8_t **p, size_t *n)
{
	if (rd_remaining(r) == 0)
		return false;
	struct reader t = token(r);
	*n = rd_remaining(&t);
	bool nil = *n == 1 && rd_peek(&t, 0) == '-';
	*p = rd_take(&t, *n);
	if (nil)
		*p = NULL;
	return *n > 0;
}

/* STRUCTURED-DATA: "-" or one or more [id param="value" ...] elements; a
 * value may hold \" \] and spaces.  Returns its length, 0 when invalid. */
static size_t sd_length(const struct reader *r)
{
	size_t i = 0;
	if (rd_peek(r, 0) == '-')
		return 1;
	while (rd_peek(r, i) == '[') {
		bool quoted = false;
		i++;
		for (;;) {
			int c = rd_peek(r, i);
			if (c < 0)
				return 0;
			i++;
			if (quoted && c == '\\') {
				if (rd_peek(r, i) < 0)
					return 0;
				i++;
			} else if (c == '"') {
				quoted = !quoted;
			} else if (c == ']' && !quoted) {
				break;
			}
		}
	}
	return i;
}

static void parse_5424(struct session *s, struct syslog_msg *m, struct reader *r, unsigned version)
{
	m->format = FORMAT_RFC5424;
	m->version = (uint8_t)version;
	const uint8_t *p;
	size_t n;
	int step = 0;
	for (step = 0; step < 5; step++) {
		if (!header_field(r, &p, &n))
			break;
		static const char *const cap = "syslog.field_capped";
		if (p) {
			switch (step) {
			case 0:
				SET_FIELD(m->timestamp, p, n, cap, s);
				break;
			case 1:
				SET_FIELD(m->host, p, n, cap, s);
				break;
			case 2:
				SET_FIELD(m->app, p, n, cap, s);
				break;
			case 3:
				SET_FIELD(m->procid, p, n, cap, s);
				break;
			default:
				SET_FIELD(m->msgid, p, n, cap, s);
				break;
			}
		}
		if (!skip_space(r)) {
			step++;
			break;
		}
	}
	if (step < 5 || rd_remaining(r) == 0) {
		/* the header ended early: a cut datagram or a sloppy sender */
		m->short_header = true;
		session_count(s, "syslog.short_header");
		return;
	}
	size_t sd = sd_length(r);
	if (sd == 0) {
		/* no valid structured data: keep the rest as the message */
		m->short_header = true;
		session_count(s, "syslog.bad_structured_data");
		set_message(s, m, r);
		return;
	}
	bool nil = sd == 1 && rd_peek(r, 0) == '-';
	p = rd_take(r, sd);
	if (!nil)
		SET_FIELD(m->sd, p, sd, "syslog.field_capped", s);
	if (skip_space(r))
		set_message(s, m, r);
}

/* The 5424 VERSION after the PRI: 1-3 digits, not starting with 0, and a
 * space.  Returns 0 when absent. */
static unsigned version_5424(const struct reader *r)
{
	unsigned v = 0;
	size_t i = 0;
	if (rd_peek(r, 0) == '0')
		return 0;
	while (i < 3 && is_digit(rd_peek(r, i)))
		v = v * 10 + (unsigned)(rd_peek(r, i++) - '0');
	if (i == 0 || rd_peek(r, i) != ' ')
		return 0;
	return v;
}

static void parse_message(struct session *s, struct syslog_state *st, struct reader r)
{
	st->count++;
	struct syslog_msg scratch, *m = &scratch;
	if (st->n_msgs < SYSLOG_MAX_MESSAGES) {
		m = &st->msgs[st->n_msgs++];
	} else {
		st->truncated++;
		session_count(s, "syslog.too_many_messages");
	}
	memset(m, 0, sizeof *m);
	m->pri = read_pri(&r);
	if (m->pri < 0) {
		m->pri = -1;
		st->malformed++;
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "syslog.no_pri");
		set_message(s, m, &r);
		return;
	}
	unsigned v = version_5424(&r);
	if (v) {
		rd_skip(&r, v >= 100 ? 4 : v >= 10 ? 3 : 2);
		parse_5424(s, m, &r, v);
	} else {
		parse_bsd(s, m, &r);
	}
}

/* Trims trailing CR, LF and NUL from a message's bytes. */
static struct reader trimmed(struct reader r)
{
	size_t n = rd_remaining(&r);
	int c;
	while (n && ((c = rd_peek(&r, n - 1)) == '\n' || c == '\r' || c == '\0'))
		n--;
	return rd_sub(&r, n);
}

/* The next message of a TCP stream, octet-counted when it starts with a
 * digit, else ended by LF (RFC 6587 3.4.1 and 3.4.2).  FRAME_NEED_MORE
 * until it is whole. */
static enum frame_result stream_message(struct syslog_state *st, struct reader *r,
                                        struct reader *msg)
{
	int c = rd_peek(r, 0);
	if (c >= '0' && c <= '9') {
		size_t len = 0, k = 0;
		while (k < 9 && (c = rd_peek(r, k)) >= '0' && c <= '9')
			len = len * 10 + (size_t)(c - '0'), k++;
		if (c < 0)
			return FRAME_NEED_MORE;
		if (c != ' ' || len == 0 || len > SYSLOG_TCP_MAX_MSG)
			return FRAME_ERROR;
		if (rd_remaining(r) < k + 1 + len)
			return FRAME_NEED_MORE;
		rd_skip(r, k + 1);
		*msg = rd_sub(r, len);
		return FRAME_OK;
	}
	bool too_long;
	return line_next(&st->lines, r, msg, &too_long);
}

static size_t syslog_stream(struct session *s, struct syslog_state *st, enum direction dir,
                            struct reader r)
{
	size_t len = rd_remaining(&r);
	if (dir != DIR_CLIENT || st->stream_lost)
		return len; /* the server says nothing in syslog */
	for (int i = 0; i < SYSLOG_MAX_MESSAGES * 4 && rd_remaining(&r); i++) {
		struct reader msg;
		enum frame_result fr = stream_message(st, &r, &msg);
		if (fr == FRAME_NEED_MORE)
			break;
		if (fr != FRAME_OK) {
			st->stream_lost = true;
			st->malformed++;
			session_alert(s, ALERT_MALFORMED);
			return len;
		}
		struct reader t = trimmed(msg);
		if (rd_remaining(&t))
			parse_message(s, st, t);
	}
	return len - rd_remaining(&r);
}

static size_t syslog_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct syslog_state *st = state;
	if (session_is_tcp(s))
		return syslog_stream(s, st, dir, r);
	size_t len = rd_remaining(&r);
	r = trimmed(r);
	if (rd_remaining(&r) == 0)
		return len;
	/* a batch: a new message starts at a line that starts with "<digit" */
	size_t start = 0, i = 0, n = rd_remaining(&r);
	for (i = 0; i + 2 < n; i++) {
		if (rd_peek(&r, i) == '\n' && rd_peek(&r, i + 1) == '<' &&
		    is_digit(rd_peek(&r, i + 2))) {
			parse_message(s, st, trimmed(rd_slice(&r, start, i - start)));
			start = i + 1;
		}
	}
	parse_message(s, st, rd_slice(&r, start, n - start));
	return len;
}

/* ---- output ---- */

#define EMIT_FIELD(e, key, f)                                                                      \
	do {                                                                                       \
		if ((f).set)                                                                       \
			emit_strn(e, key, (f).text, (f).len);                                      \
		else                                                                               \
			emit_null(e, key);                                                         \
	} while (0)

static void emit_pri(const struct syslog_msg *m, struct emitter *e)
{
	if (m->pri < 0) {
		emit_null(e, "facility");
		emit_null(e, "severity");
		return;
	}
	emit_str(e, "facility", facility_names[m->pri >> 3]);
	emit_str(e, "severity", severity_names[m->pri & 7]);
}

static const char *format_name(uint8_t f)
{
	return f == FORMAT_RFC5424 ? "rfc5424" : f == FORMAT_RFC3164 ? "rfc3164" : NULL;
}

static void emit_msg(const struct syslog_msg *m, struct emitter *e)
{
	emit_object_begin(e, NULL);
	emit_pri(m, e);
	if (m->pri >= 0)
		emit_int(e, "pri", m->pri);
	emit_str(e, "format", format_name(m->format));
	if (m->format == FORMAT_RFC5424)
		emit_int(e, "version", m->version);
	EMIT_FIELD(e, "timestamp", m->timestamp);
	EMIT_FIELD(e, "host", m->host);
	EMIT_FIELD(e, "app", m->app);
	EMIT_FIELD(e, "procid", m->procid);
	if (m->format == FORMAT_RFC5424) {
		EMIT_FIELD(e, "msgid", m->msgid);
		EMIT_FIELD(e, "structured_data", m->sd);
		if (m->sd.cut)
			emit_bool(e, "structured_data_truncated", true);
	}
	EMIT_FIELD(e, "message", m->message);
	if (m->message.cut)
		emit_bool(e, "message_truncated", true);
	if (m->short_header)
		emit_bool(e, "short_header", true);
	emit_object_end(e);
}

static void syslog_emit(const void *state, struct emitter *e)
{
	const struct syslog_state *st = state;
	if (!st->n_msgs) {
		emit_null(e, "facility");
		emit_null(e, "severity");
		emit_null(e, "message");
		emit_int(e, "count", 0);
		return;
	}
	const struct syslog_msg *first = &st->msgs[0];
	emit_pri(first, e);
	EMIT_FIELD(e, "message", first->message);
	emit_int(e, "count", (int64_t)st->count);
	emit_array_begin(e, "messages");
	for (uint32_t i = 0; i < st->n_msgs; i++)
		emit_msg(&st->msgs[i], e);
	emit_array_end(e);
	if (st->truncated)
		emit_int(e, "truncated", (int64_t)st->truncated);
	if (st->malformed)
		emit_int(e, "malformed", st->malformed);
}

static void syslog_summarize(const void *state, char *buf, size_t n)
{
	const struct syslog_state *st = state;
	struct summary sum = summary_start(buf, n);
	if (!st->n_msgs) {
		summary_add(&sum, "(no message)");
		return;
	}
	const struct syslog_msg *m = &st->msgs[0];
	if (m->pri >= 0)
		summary_addf(&sum, "%s.%s ", facility_names[m->pri >> 3],
		             severity_names[m->pri & 7]);
	if (m->host.set) {
		summary_add_wire(&sum, m->host.text, m->host.len);
		summary_add(&sum, " ");
	}
	if (m->app.set) {
		summary_add_wire(&sum, m->app.text, m->app.len);
		summary_add(&sum, ": ");
	}
	summary_add_wire(&sum, m->message.text, m->message.len < 80 ? m->message.len : 80);
	if (st->count > 1)
		summary_addf(&sum, " (%llu messages)", (unsigned long long)st->count);
}

const struct dissector syslog_dissector = {
    .name = "syslog",
    .transports = TRANSPORT_BIT_UDP | TRANSPORT_BIT_TCP,
    .ports = syslog_ports,
    .state_size = sizeof(struct syslog_state),
    .probe = syslog_probe,
    .on_data = syslog_on_data,
    .emit = syslog_emit,
    .summarize = syslog_summarize,
};
