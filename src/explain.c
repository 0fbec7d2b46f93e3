/* `--explain` (portolan/explain.h): ladder diagrams and plain-English
 * accounts of sessions, for teaching.
 *
 * Sequence and acknowledgement numbers are drawn relative to each side's
 * initial sequence number, as Wireshark shows them: the SYN is seq=0, the
 * first data byte is 1.  A capture that missed the SYN takes the first
 * sequence number it sees as 1.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/explain.h"
#include "portolan/icmp.h"
#include "portolan/ports.h"
#include "portolan/reader.h"
#include "portolan/teach.h"

#define SNIPPET_MAX 40
#define HEAD_MAX 8
#define ARROW_WIDTH 52

enum mark { MARK_NONE = 0, MARK_RETRANSMISSION, MARK_AFTER_HOLE, MARK_FILLS_HOLE };

#define HOLES_TRACKED 4

struct arrow {
	usec_t ts;
	uint32_t seq, ack; /* relative */
	uint32_t len;
	uint8_t dir, flags, mark;
	uint8_t head_len;
	uint8_t head[HEAD_MAX];
	char snippet[SNIPPET_MAX + 1];
};

struct side {
	bool base_known, next_known;
	uint32_t base; /* absolute sequence number that is drawn as 0 */
	uint32_t next; /* absolute: one past the highest sequence number sent */
	uint64_t packets, data_packets, bytes;
	uint32_t syns, fins, rsts, retransmissions, holes, late;
	/* sequence ranges skipped over ([start, end), absolute) that a later
	 * segment may fill: that one arrived out of order, it is not a resend */
	uint32_t hole_start[HOLES_TRACKED], hole_end[HOLES_TRACKED];
	uint8_t n_holes;
};

struct explain_log {
	usec_t t0;
	bool tcp;
	bool icmp; /* an ICMP query session: arrows show type, id and sequence */
	uint8_t icmp_version;
	uint8_t first_dir, first_flags;
	bool server_answered;
	uint8_t server_first_flags; /* the server's first packet */
	usec_t syn_ts, synack_ts, handshake_ack_ts;
	uint8_t first_rst_dir;
	bool any_rst;
	struct side side[2];
	unsigned n, cap;
	uint64_t not_drawn;
	struct arrow arrows[];
};

void explain_config_default(struct explain_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->max_packets = 40;
	cfg->max_sessions = 20;
}

/* ---- logging ---- */

static struct explain_log *log_new(struct explain_ctx *x, struct flow *f, const struct packet *p,
                                   enum direction dir)
{
	if (x->sessions_logged >= x->cfg.max_sessions) {
		x->sessions_not_drawn++;
		return NULL;
	}
	struct explain_log *l =
	    calloc(1, sizeof *l + (size_t)x->cfg.max_packets * sizeof(struct arrow));
	if (!l)
		return NULL;
	x->sessions_logged++;
	l->cap = x->cfg.max_packets;
	l->t0 = p->ts;
	l->tcp = f->proto == TRANSPORT_TCP;
	l->icmp = transport_is_icmp(f->proto);
	l->icmp_version = f->ip_version;
	l->first_dir = (uint8_t)dir;
	l->first_flags = p->tcp_flags;
	return l;
}

static bool is_text(uint8_t c)
{
	return c >= 0x20 && c < 0x7f;
}

/* The first line of the payload when it is printable text. */
static void take_snippet(struct arrow *a, const struct packet *p)
{
	struct reader r = rd_init(p->payload, p->payload_len);
	size_t n = 0;
	while (rd_remaining(&r) && n < SNIPPET_MAX) {
		uint8_t c = rd_u8(&r);
		if (c == '\r' || c == '\n')
			break;
		if (!is_text(c)) {
			n = 0; /* binary: no snippet */
			break;
		}
		a->snippet[n++] = (char)c;
	}
	a->snippet[n] = '\0';
	struct reader h = rd_init(p->payload, p->payload_len);
	a->head_len = (uint8_t)(rd_remaining(&h) < HEAD_MAX ? rd_remaining(&h) : HEAD_MAX);
	rd_copy(&h, a->head, a->head_len);
}

/* Sets the side's base on its first packet: a SYN is 0, anything else 1. */
static void learn_base(struct side *s, const struct packet *p)
{
	if (!s->base_known) {
		s->base_known = true;
		s->base = (p->tcp_flags & TCP_SYN) ? p->seq : p->seq - 1;
	}
	if (!s->next_known) {
		s->next_known = true;
		s->next = p->seq;
	}
}

static void remember_hole(struct side *s, uint32_t start, uint32_t end)
{
	unsigned i = s->n_holes < HOLES_TRACKED ? s->n_holes++ : HOLES_TRACKED - 1;
	s->hole_start[i] = start;
	s->hole_end[i] = end;
}

/* True when [seq, end) lies inside a hole seen before (which then shrinks
 * from whichever end the segment filled). */
static bool fills_hole(struct side *s, uint32_t seq, uint32_t end)
{
	for (unsigned i = 0; i < s->n_holes; i++) {
		if ((int32_t)(seq - s->hole_start[i]) < 0 || (int32_t)(end - s->hole_end[i]) > 0)
			continue;
		if (seq == s->hole_start[i])
			s->hole_start[i] = end;
		else if (end == s->hole_end[i])
			s->hole_end[i] = seq;
		return true;
	}
	return false;
}

/* Classifies a segment against what its sender sent before. */
static enum mark sequence_mark(struct side *s, const struct packet *p, uint32_t span)
{
	enum mark m = MARK_NONE;
	uint32_t end = p->seq + span;
	int32_t ahead = (int32_t)(p->seq - s->next);
	if (span && ahead < 0)
		m = fills_hole(s, p->seq, end) ? MARK_FILLS_HOLE : MARK_RETRANSMISSION;
	else if (span && ahead > 0) {
		m = MARK_AFTER_HOLE;
		remember_hole(s, s->next, p->seq);
	}
	if ((int32_t)(end - s->next) > 0)
		s->next = end;
	return m;
}

static void count_tcp(struct explain_log *l, enum direction dir, const struct packet *p,
                      enum mark m)
{
	struct side *s = &l->side[dir];
	uint8_t fl = p->tcp_flags;
	if (fl & TCP_SYN) {
		s->syns++;
		if (dir == DIR_CLIENT && !(fl & TCP_ACK) && !l->syn_ts)
			l->syn_ts = p->ts;
		if (dir == DIR_SERVER && (fl & TCP_ACK) && !l->synack_ts)
			l->synack_ts = p->ts;
	} else if (dir == DIR_CLIENT && (fl & TCP_ACK) && l->synack_ts && !l->handshake_ack_ts) {
		l->handshake_ack_ts = p->ts;
	}
	if (fl & TCP_FIN)
		s->fins++;
	if (fl & TCP_RST) {
		s->rsts++;
		if (!l->any_rst)
			l->first_rst_dir = (uint8_t)dir;
		l->any_rst = true;
	}
	if (m == MARK_RETRANSMISSION)
		s->retransmissions++;
	if (m == MARK_AFTER_HOLE)
		s->holes++;
	if (m == MARK_FILLS_HOLE)
		s->late++;
}

static void log_tcp(struct explain_log *l, enum direction dir, const struct packet *p,
                    struct arrow *a)
{
	struct side *s = &l->side[dir], *peer = &l->side[!dir];
	learn_base(s, p);
	if ((p->tcp_flags & TCP_ACK) && !peer->base_known) {
		/* the peer's first byte we have not seen: its ack says where */
		peer->base_known = true;
		peer->base = p->ack - 1;
	}
	uint32_t span = (uint32_t)p->payload_wire_len + ((p->tcp_flags & TCP_SYN) ? 1 : 0) +
	                ((p->tcp_flags & TCP_FIN) ? 1 : 0);
	enum mark m = sequence_mark(s, p, span);
	count_tcp(l, dir, p, m);
	if (a) {
		a->seq = p->seq - s->base;
		a->ack = p->ack - peer->base;
		a->mark = (uint8_t)m;
	}
}

void explain_packet(struct explain_ctx *x, struct flow *f, enum direction dir,
                    const struct packet *p)
{
	if (!x->cfg.on)
		return;
	if (!f->explain) {
		if (f->explain_refused)
			return;
		f->explain = log_new(x, f, p, dir);
		if (!f->explain) {
			f->explain_refused = true;
			return;
		}
	}
	struct explain_log *l = f->explain;
	struct side *s = &l->side[dir];
	s->packets++;
	if (p->payload_wire_len) {
		s->data_packets++;
		s->bytes += p->payload_wire_len;
	}
	if (dir == DIR_SERVER && !l->server_answered) {
		l->server_answered = true;
		l->server_first_flags = p->tcp_flags;
	}
	struct arrow *a = NULL;
	if (l->n < l->cap) {
		a = &l->arrows[l->n++];
		a->ts = p->ts;
		a->dir = (uint8_t)dir;
		a->flags = p->tcp_flags;
		a->len = (uint32_t)p->payload_wire_len;
		take_snippet(a, p);
		if (l->icmp) { /* the type in place of flags; id and sequence */
			a->flags = p->icmp_type;
			a->ack = p->sport;
			a->seq = p->icmp_seq;
			a->snippet[0] = '\0';
		}
	} else {
		l->not_drawn++;
	}
	if (l->tcp)
		log_tcp(l, dir, p, a);
}

void explain_release(struct flow *f)
{
	free(f->explain);
	f->explain = NULL;
}

/* ---- drawing ---- */

#define C_RESET "\033[0m"
#define C_CLIENT "\033[36m" /* cyan */
#define C_SERVER "\033[33m" /* yellow */
#define C_BAD "\033[31m"    /* red: RST, retransmissions */
#define C_DIM "\033[2m"
#define C_BOLD "\033[1m"

static const char *paint(const struct explain_ctx *x, const char *code)
{
	return x->cfg.color ? code : "";
}

static void flags_text(uint8_t fl, char *buf, size_t n)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} names[] = {{TCP_SYN, "SYN"}, {TCP_FIN, "FIN"}, {TCP_RST, "RST"},
	             {TCP_PSH, "PSH"}, {TCP_URG, "URG"}, {TCP_ACK, "ACK"}};
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!(fl & names[i].bit))
			continue;
		int w = snprintf(buf + used, n - used, "%s%s", used ? "-" : "", names[i].name);
		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
	if (!used)
		snprintf(buf, n, "(no flags)");
}

/* What an application says in a UDP datagram that a student should see:
 * the id it matches answers with. */
static void udp_app_note(const struct arrow *a, const char *protocol, char *buf, size_t n)
{
	buf[0] = '\0';
	struct reader r = rd_init(a->head, a->head_len);
	if (!strcmp(protocol, "dns") || !strcmp(protocol, "mdns") || !strcmp(protocol, "llmnr") ||
	    !strcmp(protocol, "netbios-ns")) {
		uint16_t id = rd_be16(&r);
		uint8_t flags = rd_u8(&r);
		if (rd_ok(&r))
			snprintf(buf, n, " %s id=0x%04x", (flags & 0x80) ? "answer" : "query", id);
	} else if (!strcmp(protocol, "dhcp")) {
		rd_skip(&r, 4);
		uint32_t xid = rd_be32(&r);
		if (rd_ok(&r))
			snprintf(buf, n, " xid=0x%08x", xid);
	}
}

static void arrow_label(const struct arrow *a, const struct explain_log *l, const char *protocol,
                        char *buf, size_t n)
{
	if (l->icmp) {
		const char *name = icmp_type_name(l->icmp_version, a->flags);
		snprintf(buf, n, "%s id=%" PRIu32 " seq=%" PRIu32 " len=%" PRIu32,
		         name ? name : "icmp", a->ack, a->seq, a->len);
		return;
	}
	if (!l->tcp) {
		char note[48];
		udp_app_note(a, protocol, note, sizeof note);
		snprintf(buf, n, "len=%" PRIu32 "%s", a->len, note);
		return;
	}
	char fl[32];
	flags_text(a->flags, fl, sizeof fl);
	if (a->flags & TCP_ACK)
		snprintf(buf, n, "%s seq=%" PRIu32 " ack=%" PRIu32 " len=%" PRIu32, fl, a->seq,
		         a->ack, a->len);
	else
		snprintf(buf, n, "%s seq=%" PRIu32 " len=%" PRIu32, fl, a->seq, a->len);
}

static void put_repeat(FILE *fp, char c, int n)
{
	for (int i = 0; i < n; i++)
		fputc(c, fp);
}

/* |-- label ----->|  or  |<----- label --| */
static void draw_arrow_body(FILE *fp, bool to_server, const char *label)
{
	int len = (int)strlen(label);
	if (len > ARROW_WIDTH - 6)
		len = ARROW_WIDTH - 6;
	int fill = ARROW_WIDTH - 5 - len;
	if (to_server) {
		fputs("|-- ", fp);
		fprintf(fp, "%.*s ", len, label);
		put_repeat(fp, '-', fill);
		fputs(">|", fp);
	} else {
		fputs("|<", fp);
		put_repeat(fp, '-', fill);
		fprintf(fp, " %.*s", len, label);
		fputs(" --|", fp);
	}
}

static const char *arrow_color(const struct explain_ctx *x, const struct arrow *a)
{
	if ((a->flags & TCP_RST) || a->mark != MARK_NONE)
		return paint(x, C_BAD);
	return paint(x, a->dir == DIR_CLIENT ? C_CLIENT : C_SERVER);
}

static void draw_arrow(const struct explain_ctx *x, FILE *fp, const struct explain_log *l,
                       const struct arrow *a, const char *protocol)
{
	char label[96];
	arrow_label(a, l, protocol, label, sizeof label);
	double t = (double)(a->ts - l->t0) / (double)USEC_PER_SEC;
	fprintf(fp, "%11.6f  %s", t, arrow_color(x, a));
	draw_arrow_body(fp, a->dir == DIR_CLIENT, label);
	fputs(paint(x, C_RESET), fp);
	if (a->mark == MARK_RETRANSMISSION)
		fprintf(fp, " %sretransmission%s", paint(x, C_BAD), paint(x, C_RESET));
	else if (a->mark == MARK_AFTER_HOLE)
		fprintf(fp, " %sbytes before it missing%s", paint(x, C_BAD), paint(x, C_RESET));
	else if (a->mark == MARK_FILLS_HOLE)
		fprintf(fp, " %sout of order (fills the gap)%s", paint(x, C_BAD),
		        paint(x, C_RESET));
	if (a->snippet[0])
		fprintf(fp, " \"%s\"", a->snippet);
	fputc('\n', fp);
}

static void draw_header(const struct explain_ctx *x, FILE *fp, const struct flow *f,
                        const char *protocol)
{
	char c[64], s[64], ce[96], se[96];
	ip_addr_format(&f->addr[DIR_CLIENT], c, sizeof c);
	ip_addr_format(&f->addr[DIR_SERVER], s, sizeof s);
	if (transport_is_icmp(f->proto)) { /* no ports */
		snprintf(ce, sizeof ce, "%s", c);
		snprintf(se, sizeof se, "%s", s);
	} else {
		snprintf(ce, sizeof ce, f->ip_version == 6 ? "[%s]:%u" : "%s:%u", c,
		         f->port[DIR_CLIENT]);
		snprintf(se, sizeof se, f->ip_version == 6 ? "[%s]:%u" : "%s:%u", s,
		         f->port[DIR_SERVER]);
	}
	fprintf(fp, "%s%s %s -> %s  %s%s\n", paint(x, C_BOLD), transport_label(f->proto), ce, se,
	        protocol, paint(x, C_RESET));
	fprintf(fp, "%13s%-*s%s\n", "", ARROW_WIDTH - 6, "client", "server");
	fprintf(fp, "%13s%-*s%s\n", "", ARROW_WIDTH - 6, ce, se);
}

/* ---- explaining ---- */

static void say(FILE *fp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define WRAP_COLUMNS 78

/* One bullet of the explanation, wrapped at word boundaries so it reads on
 * an 80-column terminal and a projector. */
static void say(FILE *fp, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);

	const char *p = text;
	const char *lead = "  * ";
	while (*p) {
		size_t room = WRAP_COLUMNS - 4, n = strlen(p);
		if (n > room) {
			n = room;
			while (n > 0 && p[n] != ' ')
				n--;
			if (n == 0)
				n = room; /* one word longer than a line */
		}
		fprintf(fp, "%s%.*s\n", lead, (int)n, p);
		lead = "    ";
		p += n;
		while (*p == ' ')
			p++;
	}
}

static double ms(usec_t d)
{
	return (double)d / 1000.0;
}

static void explain_opening(FILE *fp, const struct flow *f, const struct explain_log *l)
{
	const struct side *c = &l->side[DIR_CLIENT];
	bool starts_with_syn = (l->first_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;

	if (!starts_with_syn) {
		say(fp,
		    "The capture starts in the middle of this connection: its three-way handshake "
		    "was not seen, so portolan took the client to be the side on the %s.",
		    f->direction_basis == BASIS_PORT ? "higher, non-service port"
		                                     : "first packet seen");
		return;
	}
	if (!l->server_answered) {
		say(fp,
		    "The client sent SYN %" PRIu32
		    " time%s and got no answer: a firewall dropped it "
		    "(the port is filtered) or the host is down or unreachable. TCP resends an "
		    "unanswered SYN with growing delays before giving up.",
		    c->syns, c->syns == 1 ? "" : "s");
		return;
	}
	if ((l->server_first_flags & TCP_RST) && !(l->server_first_flags & TCP_SYN)) {
		say(fp,
		    "The server answered the SYN with RST: the host is up but nothing listens on "
		    "port "
		    "%u (a closed port). No connection was made.",
		    f->port[DIR_SERVER]);
		return;
	}
	if (l->synack_ts && l->handshake_ack_ts) {
		say(fp,
		    "Three-way handshake: the client's SYN, the server's SYN-ACK, the client's "
		    "ACK. "
		    "SYN to SYN-ACK took %.3f ms (the round trip between the capture point and the "
		    "server); both sides now know each other's initial sequence numbers, drawn "
		    "here "
		    "as 0.",
		    ms(l->synack_ts - l->syn_ts));
		if (c->syns > 1)
			say(fp,
			    "The client had to send its SYN %" PRIu32
			    " times before it was answered.",
			    c->syns);
		return;
	}
	if (l->synack_ts)
		say(fp, "The server answered SYN with SYN-ACK, but the client's final ACK of the "
		        "handshake was not seen.");
}

static void explain_data(FILE *fp, const struct flow *f, const struct explain_log *l)
{
	const struct side *c = &l->side[DIR_CLIENT], *s = &l->side[DIR_SERVER];
	if (!c->data_packets && !s->data_packets) {
		if (l->synack_ts && l->handshake_ack_ts)
			say(fp, "No application data was sent.");
		return;
	}
	say(fp,
	    "Data: the client sent %" PRIu64 " bytes in %" PRIu64 " segment%s, the server %" PRIu64
	    " bytes in %" PRIu64 " segment%s. Each ACK number is the next byte the receiver "
	    "expects, so it acknowledges everything before it.",
	    flow_bytes(f, DIR_CLIENT), c->data_packets, c->data_packets == 1 ? "" : "s",
	    flow_bytes(f, DIR_SERVER), s->data_packets, s->data_packets == 1 ? "" : "s");
	uint32_t re = c->retransmissions + s->retransmissions;
	if (re)
		say(fp,
		    "%" PRIu32
		    " segment%s sent again (retransmission): the sender got no ACK in time, "
		    "so it resent bytes it had sent before (client %" PRIu32 ", server %" PRIu32
		    ").",
		    re, re == 1 ? " was" : "s were", c->retransmissions, s->retransmissions);
	uint32_t holes = c->holes + s->holes, late = c->late + s->late;
	if (holes)
		say(fp,
		    "%" PRIu32
		    " time%s the sequence number jumped ahead: bytes before it were sent "
		    "but not seen yet. %" PRIu32
		    " segment%s later filled such a gap (out of order); "
		    "TCP puts bytes back in order before the application reads them.",
		    holes, holes == 1 ? "" : "s", late, late == 1 ? "" : "s");
}

static const char *side_name(unsigned dir)
{
	return dir == DIR_CLIENT ? "client" : "server";
}

static void explain_close(FILE *fp, const struct explain_log *l)
{
	const struct side *c = &l->side[DIR_CLIENT], *s = &l->side[DIR_SERVER];
	if (l->any_rst && !(l->first_rst_dir == DIR_SERVER && !l->handshake_ack_ts &&
	                    (l->server_first_flags & TCP_RST))) {
		say(fp,
		    "The %s reset the connection (RST): it ends at once, without the FIN exchange, "
		    "and data still in flight is lost.",
		    side_name(l->first_rst_dir));
		return;
	}
	if (l->any_rst)
		return;
	if (c->fins && s->fins) {
		say(fp,
		    "Close: each side sent FIN (\"I have no more to send\") and the other "
		    "acknowledged it; a FIN can ride on an ACK, so the four steps often take three "
		    "packets.");
		return;
	}
	if (c->fins || s->fins) {
		say(fp,
		    "Only the %s sent FIN (a half-close: it will send nothing more but can still "
		    "receive); the other side's FIN was not seen before the capture or timeout "
		    "ended.",
		    c->fins ? "client" : "server");
		return;
	}
	if (l->synack_ts || !(l->first_flags & TCP_SYN))
		say(fp, "No FIN or RST was seen: the connection was still open when the capture "
		        "ended, or it went idle.");
}

static void explain_client_port(FILE *fp, const struct flow *f)
{
	uint16_t port = f->port[DIR_CLIENT];
	const char *fit = teach_client_port_fit(port);
	if (fit)
		say(fp,
		    "The client's port %u (%s range) was picked by its operating system: it %s. "
		    "NAT "
		    "may have rewritten it.",
		    port, port_class(port), fit);
	else
		say(fp,
		    "The client's port %u (%s range) lies outside the usual ephemeral ranges "
		    "(Linux 32768-60999, Windows 49152-65535): a fixed source port, an older "
		    "system, "
		    "or NAT.",
		    port, port_class(port));
}

/* How many client datagrams repeat an id seen before (retries). */
static unsigned udp_retries(const struct explain_log *l, const char *protocol, unsigned *ids)
{
	unsigned retries = 0;
	*ids = 0;
	for (unsigned i = 0; i < l->n; i++) {
		const struct arrow *a = &l->arrows[i];
		char note[48];
		if (a->dir != DIR_CLIENT)
			continue;
		udp_app_note(a, protocol, note, sizeof note);
		if (!note[0])
			continue;
		(*ids)++;
		for (unsigned j = 0; j < i; j++) {
			char other[48];
			if (l->arrows[j].dir != DIR_CLIENT)
				continue;
			udp_app_note(&l->arrows[j], protocol, other, sizeof other);
			if (!strcmp(note, other)) {
				retries++;
				break;
			}
		}
	}
	return retries;
}

/* "dns" -> "DNS", for prose. */
static const char *display_name(const char *protocol, char *buf, size_t n)
{
	size_t i = 0;
	for (; protocol[i] && i + 1 < n; i++)
		buf[i] = (protocol[i] >= 'a' && protocol[i] <= 'z') ? (char)(protocol[i] - 32)
		                                                    : protocol[i];
	buf[i] = '\0';
	return buf;
}

static void explain_udp(FILE *fp, const struct flow *f, const struct explain_log *l,
                        const char *protocol)
{
	char name[32];
	const struct side *c = &l->side[DIR_CLIENT], *s = &l->side[DIR_SERVER];
	say(fp,
	    "UDP: %" PRIu64 " datagram%s from the client, %" PRIu64 " from the server. No "
	    "handshake (the first datagram already carries data), no sequence numbers, no "
	    "acknowledgements, no retransmission: UDP delivers each datagram once or not at all, "
	    "in any order.",
	    c->packets, c->packets == 1 ? "" : "s", s->packets);
	unsigned ids;
	unsigned retries = udp_retries(l, protocol, &ids);
	if (!strcmp(protocol, "dhcp"))
		say(fp,
		    "DHCP does the rest itself: each message carries the exchange's transaction id "
		    "(xid), the client resends after a timeout, and until it has an address it "
		    "sends from 0.0.0.0 to the broadcast address.");
	else if (ids)
		say(fp,
		    "%s does the rest itself: each query carries a transaction id that its answer "
		    "echoes, and a client that hears nothing resends the query after a timeout%s.",
		    display_name(protocol, name, sizeof name),
		    retries ? " (seen here: a retry with the same id)" : "");
	else
		say(fp,
		    "The application must do what UDP does not: match answers to requests, notice "
		    "losses and resend.");
	const struct icmp_error_entry *closed = icmp_find_error(f, "port-unreachable");
	if (closed) {
		char from[IP_ADDR_STRLEN];
		ip_addr_format(&closed->from, from, sizeof from);
		say(fp,
		    "Nothing listens on that port: %s answered %s with ICMP%s port unreachable "
		    "(%" PRIu32 " time%s). That is UDP's way of refusing, as a TCP RST refuses a "
		    "SYN: the error is a separate ICMP message that quotes the datagram's headers, "
		    "and it is listed with this session (icmp_errors).",
		    from, closed->answers == DIR_CLIENT ? "the client" : "the server",
		    closed->from.version == 6 ? "v6" : "", closed->count,
		    closed->count == 1 ? "" : "s");
	} else if (!s->packets) {
		say(fp, "The server never answered: the datagram was lost, filtered, or nothing "
		        "listens there (a closed UDP port usually answers with ICMP port "
		        "unreachable; none was seen for this session).");
	}
}

/* Errors other than a UDP port's refusal: what the network said about the
 * session's packets. */
static void explain_icmp_errors(FILE *fp, const struct flow *f)
{
	if (!f->icmp)
		return;
	for (unsigned i = 0; i < f->icmp->n_errors; i++) {
		const struct icmp_error_entry *x = &f->icmp->errors[i];
		const char *name = icmp_error_name(x);
		char from[IP_ADDR_STRLEN];
		if (f->proto == TRANSPORT_UDP && !strcmp(name, "port-unreachable"))
			continue; /* said above */
		ip_addr_format(&x->from, from, sizeof from);
		say(fp,
		    "ICMP %s (type %u code %u) came back from %s about the %s's packets "
		    "(%" PRIu32 " time%s): a router or the destination host reports why it did "
		    "not deliver them (or, for a redirect, a better route).",
		    name, x->type, x->code, from, x->answers == DIR_CLIENT ? "client" : "server",
		    x->count, x->count == 1 ? "" : "s");
	}
}

/* An ICMP query session: ping and friends. */
static void explain_icmp(FILE *fp, const struct flow *f, const struct explain_log *l)
{
	const struct icmp_state *s = f->icmp;
	const struct side *c = &l->side[DIR_CLIENT], *sv = &l->side[DIR_SERVER];
	say(fp,
	    "ICMP%s: %" PRIu64 " message%s from the client, %" PRIu64 " from the server. ICMP "
	    "has no ports and no connection: a request (echo, the message ping sends) carries an "
	    "identifier and a sequence number, and the reply copies both, so the sender can "
	    "match each answer to its request and time the round trip.",
	    f->ip_version == 6 ? "v6" : "", c->packets, c->packets == 1 ? "" : "s", sv->packets);
	if (!s || !s->session)
		return;
	if (s->rtt_count)
		say(fp,
		    "%" PRIu64 " request%s, %" PRIu64
		    " repl%s; round trip %.3f ms at best, %.3f ms "
		    "on average, %.3f ms at worst.",
		    s->requests, s->requests == 1 ? "" : "s", s->replies,
		    s->replies == 1 ? "y" : "ies", (double)s->rtt_min / 1000.0,
		    (double)s->rtt_sum / 1000.0 / (double)s->rtt_count,
		    (double)s->rtt_max / 1000.0);
	uint64_t lost = s->n_pending + s->pending_dropped;
	if (lost)
		say(fp,
		    "%" PRIu64
		    " request%s got no reply: lost, filtered (many firewalls drop ping), "
		    "or still under way when the capture ended.",
		    lost, lost == 1 ? "" : "s");
}

static void explain_text(const struct explain_ctx *x, FILE *fp, const struct flow *f,
                         const struct explain_log *l, const char *protocol)
{
	fprintf(fp, "%sWhat happened:%s\n", paint(x, C_BOLD), paint(x, C_RESET));
	if (l->icmp) {
		explain_icmp(fp, f, l);
		explain_icmp_errors(fp, f);
		return;
	}
	if (l->tcp) {
		explain_opening(fp, f, l);
		explain_data(fp, f, l);
		explain_close(fp, l);
	} else {
		explain_udp(fp, f, l, protocol);
	}
	explain_icmp_errors(fp, f);
	explain_client_port(fp, f);
}

void explain_flow_end(struct explain_ctx *x, struct flow *f, const char *protocol)
{
	struct explain_log *l = f->explain;
	FILE *fp = x->fp ? x->fp : stdout;
	if (!l)
		return;
	if (!x->cfg.draw) {
		explain_release(f);
		return;
	}
	fputc('\n', fp);
	draw_header(x, fp, f, protocol);
	for (unsigned i = 0; i < l->n; i++)
		draw_arrow(x, fp, l, &l->arrows[i], protocol);
	if (l->not_drawn)
		fprintf(fp, "%13s%s... %" PRIu64 " more packet%s not drawn (--explain-packets)%s\n",
		        "", paint(x, C_DIM), l->not_drawn, l->not_drawn == 1 ? "" : "s",
		        paint(x, C_RESET));
	explain_text(x, fp, f, l, protocol);
	explain_release(f);
}

void explain_finish(const struct explain_ctx *x)
{
	if (x->cfg.on && x->cfg.draw && x->sessions_not_drawn)
		fprintf(x->fp ? x->fp : stdout,
		        "\n%" PRIu64 " more session%s not drawn (--explain-sessions %u)\n",
		        x->sessions_not_drawn, x->sessions_not_drawn == 1 ? "" : "s",
		        x->cfg.max_sessions);
}

/* ---- for the HTML report ---- */

int explain_quality(const struct flow *f)
{
	const struct explain_log *l = f->explain;
	if (!l)
		return 0;
	if (!l->tcp)
		return l->side[DIR_CLIENT].packets && l->side[DIR_SERVER].packets ? 2 : 1;
	int q = 1;
	if (l->synack_ts && l->handshake_ack_ts)
		q++;
	if (l->side[DIR_CLIENT].data_packets && l->side[DIR_SERVER].data_packets)
		q++;
	if (l->side[DIR_CLIENT].fins && l->side[DIR_SERVER].fins)
		q++;
	if (l->n >= l->cap)
		q--; /* does not fit the picture */
	return q;
}

char *explain_prose(const struct flow *f, const char *protocol)
{
	char *buf = NULL;
	size_t len = 0;
	if (!f->explain)
		return NULL;
	FILE *fp = open_memstream(&buf, &len);
	if (!fp)
		return NULL;
	struct explain_ctx plain = {0};
	explain_text(&plain, fp, f, f->explain, protocol);
	fclose(fp);
	return buf;
}

#define SVG_CLIENT_X 90
#define SVG_SERVER_X 600
#define SVG_WIDTH 690
#define SVG_ROW 50
#define SVG_TOP 70

static void svg_text(FILE *fp, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", fp);
			break;
		case '<':
			fputs("&lt;", fp);
			break;
		case '>':
			fputs("&gt;", fp);
			break;
		case '"':
			fputs("&quot;", fp);
			break;
		default:
			fputc(is_text((uint8_t)*s) ? *s : '.', fp);
		}
	}
}

static void svg_arrow(FILE *fp, const struct explain_log *l, const struct arrow *a, unsigned i,
                      const char *protocol)
{
	unsigned y = SVG_TOP + i * SVG_ROW;
	bool right = a->dir == DIR_CLIENT;
	const char *cls = (a->flags & TCP_RST) || a->mark != MARK_NONE ? "bad"
	                  : right                                      ? "c2s"
	                                                               : "s2c";
	char label[96];
	arrow_label(a, l, protocol, label, sizeof label);
	fprintf(fp, "<text class=\"t\" x=\"8\" y=\"%u\">%.6f</text>\n", y + 4,
	        (double)(a->ts - l->t0) / (double)USEC_PER_SEC);
	fprintf(fp,
	        "<line class=\"%s\" x1=\"%d\" y1=\"%u\" x2=\"%d\" y2=\"%u\" "
	        "marker-end=\"url(#head-%s)\"/>\n",
	        cls, right ? SVG_CLIENT_X : SVG_SERVER_X, y,
	        right ? SVG_SERVER_X - 4 : SVG_CLIENT_X + 4, y + SVG_ROW / 2, cls);
	fprintf(fp, "<text class=\"l\" x=\"%d\" y=\"%u\">", (SVG_CLIENT_X + SVG_SERVER_X) / 2, y);
	svg_text(fp, label);
	if (a->mark == MARK_RETRANSMISSION)
		fputs(" (retransmission)", fp);
	else if (a->mark == MARK_FILLS_HOLE)
		fputs(" (out of order)", fp);
	fputs("</text>\n", fp);
	if (a->snippet[0]) {
		fprintf(fp, "<text class=\"s\" x=\"%d\" y=\"%u\">",
		        (SVG_CLIENT_X + SVG_SERVER_X) / 2, y + 31);
		svg_text(fp, a->snippet);
		fputs("</text>\n", fp);
	}
}

static void svg_head(FILE *fp, const struct flow *f, const char *protocol, unsigned height)
{
	char c[64], s[64];
	ip_addr_format(&f->addr[DIR_CLIENT], c, sizeof c);
	ip_addr_format(&f->addr[DIR_SERVER], s, sizeof s);
	fprintf(fp,
	        "<svg class=\"ladder\" viewBox=\"0 0 %d %u\" "
	        "role=\"img\">\n<defs>",
	        SVG_WIDTH, height);
	static const char *const kinds[] = {"c2s", "s2c", "bad"};
	for (int k = 0; k < 3; k++)
		fprintf(fp,
		        "<marker id=\"head-%s\" class=\"%s\" markerWidth=\"10\" markerHeight=\"8\" "
		        "refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 "
		        "z\"/></marker>",
		        kinds[k], kinds[k]);
	fputs("</defs>\n<text class=\"h\" x=\"4\" y=\"20\">client ", fp);
	svg_text(fp, c);
	fprintf(fp, ":%u</text>\n<text class=\"h\" x=\"%d\" y=\"40\" text-anchor=\"end\">server ",
	        f->port[DIR_CLIENT], SVG_WIDTH - 4);
	svg_text(fp, s);
	fprintf(fp, ":%u (", f->port[DIR_SERVER]);
	svg_text(fp, protocol);
	fputs(")</text>\n", fp);
	fprintf(fp,
	        "<line class=\"life\" x1=\"%d\" y1=\"50\" x2=\"%d\" y2=\"%u\"/>"
	        "<line class=\"life\" x1=\"%d\" y1=\"50\" x2=\"%d\" y2=\"%u\"/>\n",
	        SVG_CLIENT_X, SVG_CLIENT_X, height - 10, SVG_SERVER_X, SVG_SERVER_X, height - 10);
}

char *explain_svg(const struct flow *f, const char *protocol)
{
	const struct explain_log *l = f->explain;
	char *buf = NULL;
	size_t len = 0;
	if (!l)
		return NULL;
	FILE *fp = open_memstream(&buf, &len);
	if (!fp)
		return NULL;
	unsigned height = SVG_TOP + l->n * SVG_ROW + 20;
	svg_head(fp, f, protocol, height);
	for (unsigned i = 0; i < l->n; i++)
		svg_arrow(fp, l, &l->arrows[i], i, protocol);
	fputs("</svg>\n", fp);
	fclose(fp);
	return buf;
}
