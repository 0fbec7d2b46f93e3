/* RTP and RTCP (RFC 3550) flows announced by a SIP session's SDP.
 *
 * This dissector is never chosen by its probe (it answers no: an RTP header
 * is too plain to recognise safely on an arbitrary UDP flow); the SIP
 * dissector files each media port it reads in an SDP body as an expected
 * flow (session_expect), and the core pins the flow here and links it to
 * the SIP session (the record's "parent").  The note the SIP session left
 * ("rtp audio <Call-ID> 96=opus,...") names the call, the media and the
 * dynamic payload types' codecs.
 *
 * Media is not decoded.  Each datagram is checked for version 2 and told
 * RTP from RTCP by its second byte (RFC 5761 section 4: RTCP packet types
 * 192-223, i.e. SR 200, RR 201, SDES 202, BYE 203, APP 204 and the
 * feedback / XR types, never an RTP payload type with or without the marker
 * bit when dynamic types stay in 96-127).  Packets and bytes are counted per
 * direction; each RTP SSRC (capped) keeps its payload type, packet count and
 * a loss estimate from its sequence numbers (RFC 3550 appendix A.3:
 * expected = extended highest - first + 1, lost = expected - received); the
 * RTCP packet types of compound packets are counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/summary.h"

/* SSRCs and payload types kept per flow. */
#define RTP_MAX_SSRCS 8
#define RTP_MAX_PTS 8
/* RTCP packets read out of one compound datagram. */
#define RTP_MAX_RTCP_PARTS 16
/* A sequence jump over this is a restart, not a loss (RFC 3550 A.1). */
#define RTP_MAX_DROPOUT 3000

/* RFC 3551 static payload types. */
static const struct value_name rtp_payload_names[] = {
    {0, "PCMU"},   {3, "GSM"},   {4, "G723"},  {5, "DVI4"},  {6, "DVI4"},
    {7, "LPC"},    {8, "PCMA"},  {9, "G722"},  {10, "L16"},  {11, "L16"},
    {12, "QCELP"}, {13, "CN"},   {14, "MPA"},  {15, "G728"}, {16, "DVI4"},
    {17, "DVI4"},  {18, "G729"}, {25, "CelB"}, {26, "JPEG"}, {28, "nv"},
    {31, "H261"},  {32, "MPV"},  {33, "MP2T"}, {34, "H263"}, {0, NULL},
};

/* RTCP packet types (RFC 3550, 4585, 3611, 5760). */
enum { RTCP_FIRST = 192, RTCP_LAST = 223 };
static const struct value_name rtcp_type_names[] = {
    {200, "SR"},   {201, "RR"}, {202, "SDES"}, {203, "BYE"}, {204, "APP"}, {205, "RTPFB"},
    {206, "PSFB"}, {207, "XR"}, {208, "AVB"},  {209, "RSI"}, {0, NULL},
};
#define N_RTCP_TYPES (RTCP_LAST - RTCP_FIRST + 1)

struct rtp_ssrc {
	uint32_t ssrc;
	uint8_t dir, pt;
	uint16_t base_seq, max_seq;
	uint32_t cycles;
	uint64_t packets, bytes;
	uint64_t received;   /* since base_seq, duplicates left out: for the loss */
	uint32_t late;       /* reordered: behind the highest sequence number */
	uint32_t duplicates; /* the highest sequence number again */
};

struct rtp_pt {
	uint8_t pt;
	uint64_t packets;
};

struct rtp_state {
	uint64_t rtp_packets[2], rtcp_packets[2], other_packets[2];
	uint64_t bytes[2];
	struct rtp_ssrc ssrcs[RTP_MAX_SSRCS];
	uint32_t n_ssrcs, ssrcs_truncated;
	struct rtp_pt pts[RTP_MAX_PTS];
	uint32_t n_pts, pts_truncated;
	uint32_t rtcp_types[N_RTCP_TYPES];
	uint32_t marker_packets, padding_bad, header_bad;
	bool has_note;
	char note[EXPECT_NOTE_MAX];
};

/* ---- the note: "rtp audio <Call-ID> 96=opus,101=telephone-event" ---- */

struct note_parts {
	const char *kind, *media, *call_id, *codecs;
	size_t kind_len, media_len, call_id_len, codecs_len;
};

static const char *field(const char *p, size_t *len)
{
	const char *sp = strchr(p, ' ');
	*len = sp ? (size_t)(sp - p) : strlen(p);
	return sp ? sp + 1 : p + *len;
}

static struct note_parts split_note(const char *note)
{
	struct note_parts n;
	n.kind = note;
	n.media = field(n.kind, &n.kind_len);
	n.call_id = field(n.media, &n.media_len);
	n.codecs = field(n.call_id, &n.call_id_len);
	field(n.codecs, &n.codecs_len);
	return n;
}

/* The codec the note names for payload type pt (dynamic types), or NULL. */
static const char *note_codec(const struct rtp_state *st, uint8_t pt, size_t *len)
{
	if (!st->has_note)
		return NULL;
	struct note_parts n = split_note(st->note);
	const char *p = n.codecs, *end = n.codecs + n.codecs_len;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		if (eq) {
			unsigned v = 0;
			const char *q = p;
			for (; q < eq && *q >= '0' && *q <= '9'; q++)
				v = v * 10 + (unsigned)(*q - '0');
			if (q == eq && v == pt) {
				*len = (size_t)(stop - eq - 1);
				return eq + 1;
			}
		}
		p = stop + 1;
	}
	return NULL;
}

static void read_note(struct rtp_state *st, struct session *s)
{
	const struct expected_from *f = session_expected_from(s);
	if (!f)
		return;
	memcpy(st->note, f->note, sizeof st->note);
	st->note[sizeof st->note - 1] = '\0';
	st->has_note = true;
}

/* ---- RTP ---- */

static struct rtp_ssrc *find_ssrc(struct rtp_state *st, struct session *s, uint32_t ssrc,
                                  enum direction dir, uint16_t seq, bool *fresh)
{
	*fresh = false;
	for (uint32_t i = 0; i < st->n_ssrcs; i++)
		if (st->ssrcs[i].ssrc == ssrc && st->ssrcs[i].dir == dir)
			return &st->ssrcs[i];
	if (st->n_ssrcs >= RTP_MAX_SSRCS) {
		if (!st->ssrcs_truncated++)
			session_count(s, "rtp.too_many_ssrcs");
		return NULL;
	}
	struct rtp_ssrc *x = &st->ssrcs[st->n_ssrcs++];
	memset(x, 0, sizeof *x);
	x->ssrc = ssrc;
	x->dir = (uint8_t)dir;
	x->base_seq = x->max_seq = seq;
	*fresh = true;
	return x;
}

static void count_pt(struct rtp_state *st, struct session *s, uint8_t pt)
{
	for (uint32_t i = 0; i < st->n_pts; i++)
		if (st->pts[i].pt == pt) {
			st->pts[i].packets++;
			return;
		}
	if (st->n_pts >= RTP_MAX_PTS) {
		if (!st->pts_truncated++)
			session_count(s, "rtp.too_many_payload_types");
		return;
	}
	st->pts[st->n_pts].pt = pt;
	st->pts[st->n_pts].packets = 1;
	st->n_pts++;
}

static void read_rtp(struct rtp_state *st, struct session *s, enum direction dir, struct reader r)
{
	size_t total = rd_remaining(&r);
	const struct reader whole = r;
	uint8_t b0 = rd_u8(&r), b1 = rd_u8(&r);
	uint16_t seq = rd_be16(&r);
	rd_skip(&r, 4); /* timestamp */
	uint32_t ssrc = rd_be32(&r);
	rd_skip(&r, 4u * (b0 & 0x0f)); /* CSRCs */
	if (b0 & 0x10) {               /* header extension */
		rd_skip(&r, 2);
		rd_skip(&r, 4u * rd_be16(&r));
	}
	size_t pad = 0;
	if ((b0 & 0x20) && rd_ok(&r) && total) /* the last byte counts the padding */
		pad = (size_t)rd_peek(&whole, total - 1);
	if (!rd_ok(&r) || pad > rd_remaining(&r)) {
		if (!st->header_bad++)
			session_alert(s, ALERT_MALFORMED);
		session_count(s, "rtp.bad_header");
		return;
	}
	uint8_t pt = b1 & 0x7f;
	st->rtp_packets[dir]++;
	if (b1 & 0x80)
		st->marker_packets++;
	count_pt(st, s, pt);
	bool fresh;
	struct rtp_ssrc *x = find_ssrc(st, s, ssrc, dir, seq, &fresh);
	if (!x)
		return;
	x->packets++;
	x->bytes += rd_remaining(&r) - pad;
	x->pt = pt;
	x->received++;
	if (fresh)
		return;
	uint16_t delta = (uint16_t)(seq - x->max_seq);
	if (delta == 0) {
		x->duplicates++;
		x->received--;
	} else if (delta < RTP_MAX_DROPOUT) {
		if (seq < x->max_seq)
			x->cycles++;
		x->max_seq = seq;
	} else if (delta <= 65535 - 100) {
		/* a big jump: a restarted sender; start counting again */
		x->base_seq = x->max_seq = seq;
		x->cycles = 0;
		x->received = 1;
	} else {
		x->late++; /* reordered (a little behind) */
	}
}

static uint64_t ssrc_expected(const struct rtp_ssrc *x)
{
	return (uint64_t)x->cycles * 65536u + x->max_seq - x->base_seq + 1;
}

static uint64_t ssrc_lost(const struct rtp_ssrc *x)
{
	uint64_t expected = ssrc_expected(x);
	return expected > x->received ? expected - x->received : 0;
}

/* ---- RTCP ---- */

static void read_rtcp(struct rtp_state *st, struct session *s, enum direction dir, struct reader r)
{
	st->rtcp_packets[dir]++;
	for (int part = 0; rd_remaining(&r) && part < RTP_MAX_RTCP_PARTS; part++) {
		uint8_t b0 = rd_u8(&r), type = rd_u8(&r);
		uint16_t words = rd_be16(&r);
		if (!rd_ok(&r) || (b0 >> 6) != 2 || type < RTCP_FIRST || type > RTCP_LAST) {
			if (!st->header_bad++)
				session_alert(s, ALERT_MALFORMED);
			session_count(s, "rtp.bad_rtcp");
			return;
		}
		st->rtcp_types[type - RTCP_FIRST]++;
		rd_skip(&r, 4u * words);
		if (!rd_ok(&r)) {
			if (!st->header_bad++)
				session_alert(s, ALERT_MALFORMED);
			session_count(s, "rtp.bad_rtcp");
			return;
		}
	}
}

static size_t rtp_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct rtp_state *st = state;
	size_t n = rd_remaining(&r);

	if (!st->has_note)
		read_note(st, s);
	st->bytes[dir] += n;
	int b0 = rd_peek(&r, 0), b1 = rd_peek(&r, 1);
	if (n < 4 || (b0 >> 6) != 2) { /* STUN, DTLS, ZRTP, keep-alives */
		st->other_packets[dir]++;
		return n;
	}
	if (b1 >= RTCP_FIRST && b1 <= RTCP_LAST)
		read_rtcp(st, s, dir, r);
	else
		read_rtp(st, s, dir, r);
	return n;
}

static void rtp_on_end(struct session *s, void *state)
{
	struct rtp_state *st = state;
	if (!st->has_note)
		read_note(st, s);
}

/* ---- output ---- */

static void emit_pair(struct emitter *e, const char *key, const uint64_t v[2])
{
	emit_object_begin(e, key);
	emit_int(e, "client", (int64_t)v[DIR_CLIENT]);
	emit_int(e, "server", (int64_t)v[DIR_SERVER]);
	emit_object_end(e);
}

static void emit_codec(const struct rtp_state *st, struct emitter *e, uint8_t pt)
{
	size_t len;
	const char *name = value_name_lookup(rtp_payload_names, pt);
	const char *from_note = note_codec(st, pt, &len);
	if (from_note)
		emit_strn(e, "codec", from_note, len);
	else
		emit_str(e, "codec", name);
}

static void rtp_emit(const void *state, struct emitter *e)
{
	const struct rtp_state *st = state;
	struct note_parts n = split_note(st->has_note ? st->note : "");

	if (n.kind_len)
		emit_strn(e, "announced", n.kind, n.kind_len);
	else
		emit_null(e, "announced");
	if (n.media_len)
		emit_strn(e, "media", n.media, n.media_len);
	else
		emit_null(e, "media");
	if (n.call_id_len)
		emit_strn(e, "call_id", n.call_id, n.call_id_len);
	else
		emit_null(e, "call_id");
	emit_pair(e, "rtp_packets", st->rtp_packets);
	emit_pair(e, "rtcp_packets", st->rtcp_packets);
	if (st->other_packets[0] + st->other_packets[1])
		emit_pair(e, "other_packets", st->other_packets);
	emit_pair(e, "bytes", st->bytes);
	emit_array_begin(e, "ssrcs");
	for (uint32_t i = 0; i < st->n_ssrcs; i++) {
		const struct rtp_ssrc *x = &st->ssrcs[i];
		char hex[11];
		snprintf(hex, sizeof hex, "0x%08x", (unsigned)x->ssrc);
		emit_object_begin(e, NULL);
		emit_str(e, "ssrc", hex);
		emit_str(e, "direction", x->dir == DIR_CLIENT ? "client" : "server");
		emit_int(e, "payload_type", x->pt);
		emit_codec(st, e, x->pt);
		emit_int(e, "packets", (int64_t)x->packets);
		emit_int(e, "payload_bytes", (int64_t)x->bytes);
		emit_int(e, "expected", (int64_t)ssrc_expected(x));
		emit_int(e, "lost", (int64_t)ssrc_lost(x));
		if (x->late)
			emit_int(e, "late", x->late);
		if (x->duplicates)
			emit_int(e, "duplicates", x->duplicates);
		emit_object_end(e);
	}
	emit_array_end(e);
	if (st->ssrcs_truncated)
		emit_int(e, "ssrcs_truncated", st->ssrcs_truncated);
	emit_array_begin(e, "payload_types");
	for (uint32_t i = 0; i < st->n_pts; i++) {
		emit_object_begin(e, NULL);
		emit_int(e, "pt", st->pts[i].pt);
		emit_codec(st, e, st->pts[i].pt);
		emit_int(e, "packets", (int64_t)st->pts[i].packets);
		emit_object_end(e);
	}
	emit_array_end(e);
	if (st->pts_truncated)
		emit_int(e, "payload_types_truncated", st->pts_truncated);
	if (st->rtcp_packets[0] + st->rtcp_packets[1]) {
		emit_object_begin(e, "rtcp_types");
		for (int t = 0; t < N_RTCP_TYPES; t++) {
			if (!st->rtcp_types[t])
				continue;
			const char *name =
			    value_name_lookup(rtcp_type_names, (unsigned)(t + RTCP_FIRST));
			char num[8];
			if (!name) {
				snprintf(num, sizeof num, "%d", t + RTCP_FIRST);
				name = num;
			}
			emit_int(e, name, st->rtcp_types[t]);
		}
		emit_object_end(e);
	}
	if (st->header_bad)
		emit_int(e, "bad_packets", st->header_bad);
}

static void rtp_summarize(const void *state, char *buf, size_t n)
{
	const struct rtp_state *st = state;
	struct summary sm = summary_start(buf, n);
	struct note_parts np = split_note(st->has_note ? st->note : "");
	uint64_t rtp = st->rtp_packets[0] + st->rtp_packets[1];
	uint64_t rtcp = st->rtcp_packets[0] + st->rtcp_packets[1];

	if (np.media_len) {
		summary_add_wire(&sm, np.media, np.media_len);
		summary_add(&sm, " ");
	}
	summary_addf(&sm, "%llu RTP, %llu RTCP packets", (unsigned long long)rtp,
	             (unsigned long long)rtcp);
	for (uint32_t i = 0; i < st->n_ssrcs && i < 2; i++) {
		const struct rtp_ssrc *x = &st->ssrcs[i];
		size_t len;
		const char *c = note_codec(st, x->pt, &len);
		summary_addf(&sm, ", %s 0x%08x ", x->dir == DIR_CLIENT ? "client" : "server",
		             (unsigned)x->ssrc);
		if (c)
			summary_add_wire(&sm, c, len);
		else if ((c = value_name_lookup(rtp_payload_names, x->pt)))
			summary_add(&sm, c);
		else
			summary_addf(&sm, "pt %u", x->pt);
		if (ssrc_lost(x))
			summary_addf(&sm, " lost %llu", (unsigned long long)ssrc_lost(x));
	}
	if (np.call_id_len) {
		summary_add(&sm, " (call ");
		summary_add_wire(&sm, np.call_id, np.call_id_len);
		summary_add(&sm, ")");
	}
}

/* Only RTCP seen: the record says so. */
static const char *rtp_protocol_name(const void *state)
{
	const struct rtp_state *st = state;
	if (!(st->rtp_packets[0] + st->rtp_packets[1]) && st->rtcp_packets[0] + st->rtcp_packets[1])
		return "rtcp";
	return "rtp";
}

/* Never by payload: only flows a SIP session announced come here. */
static enum verdict rtp_probe(struct reader r, enum direction dir)
{
	(void)r;
	(void)dir;
	return VERDICT_NO;
}

static const uint16_t rtp_ports[] = {0};

const struct dissector rtp_dissector = {
    .name = "rtp",
    .transports = TRANSPORT_BIT_UDP,
    .ports = rtp_ports,
    .state_size = sizeof(struct rtp_state),
    .probe = rtp_probe,
    .on_data = rtp_on_data,
    .on_end = rtp_on_end,
    .emit = rtp_emit,
    .summarize = rtp_summarize,
    .protocol_name = rtp_protocol_name,
};
