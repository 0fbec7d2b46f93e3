/* RDP (MS-RDPBCGR): the connection sequence up to the security layer.
 *
 * Over TCP every PDU is a TPKT (RFC 1006: version 3, a reserved byte, a
 * 16-bit length) or, once connected, a fast-path PDU (first byte with
 * action 0, a 1- or 2-byte length); the core's PDU framer cuts them.  The
 * client's first TPKT carries an X.224 Connection Request (2.2.1.1): an
 * optional "Cookie: mstshash=NAME" (or routing token) line, then an
 * optional RDP_NEG_REQ with the security protocols it can do.  The server
 * answers with a Connection Confirm (2.2.1.2): RDP_NEG_RSP with the one it
 * selected, or RDP_NEG_FAILURE.
 *
 * A selected TLS-based protocol (SSL, HYBRID = CredSSP/NLA, RDSTLS,
 * HYBRID_EX, RDSAAD) means the bytes after the Confirm are a TLS
 * handshake: the stream is handed to the TLS dissector there (the record
 * keeps protocol "rdp" and gains a "tls" object).  Standard RDP security
 * (selected 0, or a Confirm without a negotiation response) is RC4 keyed
 * by RDP itself, weak by today's measure: the record carries the
 * weak-security alert, and the client's MCS Connect Initial is still
 * readable, so its core data (client name, build, keyboard) and security
 * data (encryption methods) are read, and the server's chosen method.
 *
 * Over UDP (MS-RDPEUDP, the side transport on 3389): a SYN datagram
 * (snSourceAck -1, the SYN flag, two MTUs) or a data datagram whose payload
 * is a TLS or DTLS record identifies the flow; its contents are encrypted
 * and only counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/framing.h"
#include "portolan/summary.h"
#include "portolan/wirestr.h"

/* A PDU larger than this is skipped unread (an MCS Connect Initial is a
 * few hundred bytes; bitmaps go by fast-path). */
#define RDP_MAX_PDU (16 * 1024)
/* Bytes kept of the cookie line (mstshash user names are short; the X.224
 * length indicator allows at most ~240 bytes anyway). */
#define RDP_MAX_COOKIE 128
/* Characters kept of the client name (32 bytes of UCS-2 on the wire). */
#define RDP_MAX_NAME 16

/* requestedProtocols / selectedProtocol bits (2.2.1.1.1). */
#define PROTOCOL_RDP 0x0
#define PROTOCOL_SSL 0x1
#define PROTOCOL_HYBRID 0x2
#define PROTOCOL_RDSTLS 0x4
#define PROTOCOL_HYBRID_EX 0x8
#define PROTOCOL_RDSAAD 0x10

static const struct value_name protocol_bits[] = {
    {PROTOCOL_SSL, "SSL"},       {PROTOCOL_HYBRID, "HYBRID"},
    {PROTOCOL_RDSTLS, "RDSTLS"}, {PROTOCOL_HYBRID_EX, "HYBRID_EX"},
    {PROTOCOL_RDSAAD, "RDSAAD"}, {0, NULL},
};

static const struct value_name neg_req_flags[] = {
    {0x01, "RESTRICTED_ADMIN_MODE_REQUIRED"},
    {0x02, "REDIRECTED_AUTHENTICATION_MODE_REQUIRED"},
    {0x08, "CORRELATION_INFO_PRESENT"},
    {0, NULL},
};

static const struct value_name neg_rsp_flags[] = {
    {0x01, "EXTENDED_CLIENT_DATA_SUPPORTED"},
    {0x02, "DYNVC_GFX_PROTOCOL_SUPPORTED"},
    {0x04, "NEGRSP_FLAG_RESERVED"},
    {0x08, "RESTRICTED_ADMIN_MODE_SUPPORTED"},
    {0x10, "REDIRECTED_AUTHENTICATION_MODE_SUPPORTED"},
    {0, NULL},
};

static const struct value_name failure_codes[] = {
    {1, "SSL_REQUIRED_BY_SERVER"},
    {2, "SSL_NOT_ALLOWED_BY_SERVER"},
    {3, "SSL_CERT_NOT_ON_SERVER"},
    {4, "INCONSISTENT_FLAGS"},
    {5, "HYBRID_REQUIRED_BY_SERVER"},
    {6, "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER"},
    {0, NULL},
};

/* encryptionMethod(s) bits (2.2.1.3.3). */
static const struct value_name encryption_methods[] = {
    {0x01, "40BIT"}, {0x02, "128BIT"}, {0x08, "56BIT"}, {0x10, "FIPS"}, {0, NULL},
};

static const struct value_name encryption_levels[] = {
    {0, "NONE"}, {1, "LOW"}, {2, "CLIENT_COMPATIBLE"}, {3, "HIGH"}, {4, "FIPS"}, {0, NULL},
};

/* RDPEUDP uFlags (2.2.2.1). */
static const struct value_name udp_flags[] = {
    {0x0001, "SYN"},         {0x0002, "FIN"},
    {0x0004, "ACK"},         {0x0008, "DATA"},
    {0x0010, "FEC"},         {0x0020, "CN"},
    {0x0040, "CWR"},         {0x0080, "SACK_OPTION"},
    {0x0100, "ACK_OF_ACKS"}, {0x0200, "SYNLOSSY"},
    {0x0400, "ACKDELAYED"},  {0x0800, "CORRELATION_ID"},
    {0x1000, "SYNEX"},       {0, NULL},
};
#define UDP_KNOWN_FLAGS 0x1fffu

enum rdp_phase {
	PH_CONNECT = 0, /* TPKTs read (before and during standard security) */
	PH_OPAQUE,      /* after a handoff or lost framing: consumed unread */
};

struct rdp_state {
	struct pdu_state pdus[2];
	struct wire_str cookie_line; /* the whole line after "Cookie: " */
	struct wire_str client_name;
	uint8_t correlation_id[16];
	uint32_t requested, selected, failure;
	uint32_t client_build, keyboard_layout, client_version;
	uint32_t client_encryption_methods, server_encryption_method, server_encryption_level;
	uint16_t desktop_width, desktop_height;
	uint8_t req_flags, rsp_flags;
	uint8_t phase[2];
	uint64_t tpkts[2], fast_path[2], opaque_bytes[2];
	/* UDP */
	uint64_t datagrams[2];
	uint16_t udp_flags_seen, mtu_up, mtu_down;
	bool udp, udp_syn, udp_syn_ack, udp_tls, udp_dtls;
	bool have_cr, have_cc, have_neg_req, have_neg_rsp, have_failure, have_correlation;
	bool have_core, have_client_security, have_server_security;
	bool handed_off, tls_unhandled, gap;
};

static const uint16_t rdp_ports[] = {3389, 0};

/* ---- TCP framing ---- */

/* A TPKT (first byte 3) or a fast-path PDU (action bits 0): the total
 * length, 0 to wait for more header, -1 for neither. */
static long rdp_pdu_length(struct reader h, void *arg)
{
	(void)arg;
	int b0 = rd_peek(&h, 0);
	if (b0 < 0)
		return 0;
	if (b0 == 3)
		return pdu_length_tpkt(h, NULL);
	if ((b0 & 3) != 0)
		return -1;
	int l1 = rd_peek(&h, 1);
	if (l1 < 0)
		return 0;
	if (!(l1 & 0x80))
		return l1 >= 2 ? l1 : -1;
	int l2 = rd_peek(&h, 2);
	if (l2 < 0)
		return 0;
	long n = (long)(l1 & 0x7f) << 8 | l2;
	return n >= 3 ? n : -1;
}

/* ---- the connection request and confirm ---- */

static void take_cookie(struct rdp_state *st, struct session *s, struct reader *x)
{
	/* "Cookie: mstshash=NAME\r\n" or a routing token "Cookie: msts=...\r\n" */
	if (!rd_starts_with(x, "Cookie: ", 8))
		return;
	rd_skip(x, 8);
	long lf = rd_find(x, '\n');
	size_t n = lf < 0 ? rd_remaining(x) : (size_t)lf;
	struct reader line = rd_sub(x, n);
	rd_skip(x, lf < 0 ? 0 : 1);
	if (n && rd_peek(&line, n - 1) == '\r')
		n--;
	if (wire_str_set(&st->cookie_line, rd_take(&line, n), n, RDP_MAX_COOKIE) == WIRE_STR_CUT)
		session_count(s, "rdp.cookie_too_long");
}

static void connection_request(struct rdp_state *st, struct session *s, struct reader x)
{
	st->have_cr = true;
	take_cookie(st, s, &x);
	while (rd_remaining(&x) >= 8) {
		uint8_t type = rd_u8(&x);
		uint8_t flags = rd_u8(&x);
		uint16_t len = rd_le16(&x);
		if (type == 1 && len == 8) { /* RDP_NEG_REQ */
			st->have_neg_req = true;
			st->req_flags = flags;
			st->requested = rd_le32(&x);
		} else if (type == 6 && len == 36 && rd_remaining(&x) >= 32) {
			/* RDP_NEG_CORRELATION_INFO */
			st->have_correlation = true;
			rd_copy(&x, st->correlation_id, sizeof st->correlation_id);
			rd_skip(&x, 16);
		} else {
			session_alert(s, ALERT_MALFORMED);
			session_count(s, "rdp.bad_negotiation");
			return;
		}
	}
	if (rd_remaining(&x)) {
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "rdp.bad_negotiation");
	}
}

static bool tls_selected(uint32_t p)
{
	return p != PROTOCOL_RDP;
}

/* Returns true when the stream goes on as TLS after this PDU. */
static bool connection_confirm(struct rdp_state *st, struct session *s, struct reader x)
{
	st->have_cc = true;
	if (rd_remaining(&x) >= 8) {
		uint8_t type = rd_u8(&x);
		uint8_t flags = rd_u8(&x);
		uint16_t len = rd_le16(&x);
		uint32_t v = rd_le32(&x);
		if (type == 2 && len == 8) {
			st->have_neg_rsp = true;
			st->rsp_flags = flags;
			st->selected = v;
		} else if (type == 3 && len == 8) {
			st->have_failure = true;
			st->failure = v;
			return false;
		} else {
			session_alert(s, ALERT_MALFORMED);
			session_count(s, "rdp.bad_negotiation");
			return false;
		}
	} else if (rd_remaining(&x)) {
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "rdp.bad_negotiation");
	}
	/* no negotiation response: standard RDP security */
	if (!st->have_neg_rsp || !tls_selected(st->selected)) {
		session_alert(s, ALERT_WEAK_SECURITY);
		return false;
	}
	return true;
}

/* ---- MCS connect data (standard security only) ---- */

/* The next GCC user data block of a type: found by its header (type,
 * length) where the length fits and, for the core blocks, the version
 * looks like one (2.2.1.3.2: 0x0008000x). */
static bool find_block(struct reader r, uint16_t type, uint16_t min, struct reader *out)
{
	while (rd_remaining(&r) >= 4) {
		long at = rd_find(&r, (uint8_t)(type & 0xff));
		if (at < 0)
			return false;
		rd_skip(&r, (size_t)at);
		struct reader h = r;
		uint16_t t = rd_le16(&h);
		uint16_t len = rd_le16(&h);
		if (rd_ok(&h) && t == type && len >= min && (size_t)len - 4 <= rd_remaining(&h)) {
			bool plausible = true;
			if (type == 0xc001 || type == 0x0c01) {
				struct reader v = h;
				plausible = (rd_le32(&v) & 0xffffff00u) == 0x00080000u;
			}
			if (plausible) {
				*out = rd_sub(&h, len - 4u);
				return true;
			}
		}
		rd_skip(&r, 1);
	}
	return false;
}

/* UCS-2LE to ASCII (other characters as '?'), up to a NUL. */
static void ucs2_name(struct wire_str *w, struct reader r, size_t max_chars)
{
	char buf[64];
	size_t n = 0;

	while (rd_remaining(&r) >= 2 && n < max_chars && n < sizeof buf) {
		uint16_t c = rd_le16(&r);
		if (c == 0)
			break;
		buf[n++] = c < 0x80 ? (char)c : '?';
	}
	wire_str_set(w, buf, n, sizeof buf);
}

static void client_connect(struct rdp_state *st, struct reader mcs)
{
	struct reader b;

	if (!st->have_core && find_block(mcs, 0xc001, 4 + 4 + 2 + 2 + 2 + 2 + 4 + 4 + 32, &b)) {
		st->have_core = true;
		st->client_version = rd_le32(&b);
		st->desktop_width = rd_le16(&b);
		st->desktop_height = rd_le16(&b);
		rd_skip(&b, 4); /* colorDepth, SASSequence */
		st->keyboard_layout = rd_le32(&b);
		st->client_build = rd_le32(&b);
		ucs2_name(&st->client_name, rd_sub(&b, 32), RDP_MAX_NAME);
	}
	if (!st->have_client_security && find_block(mcs, 0xc002, 12, &b)) {
		st->have_client_security = true;
		st->client_encryption_methods = rd_le32(&b);
	}
}

static void server_connect(struct rdp_state *st, struct reader mcs)
{
	struct reader b;

	if (!st->have_server_security && find_block(mcs, 0x0c02, 12, &b)) {
		st->have_server_security = true;
		st->server_encryption_method = rd_le32(&b);
		st->server_encryption_level = rd_le32(&b);
	}
}

/* One TPKT or fast-path PDU.  Returns true when the rest of the stream is
 * TLS (handed off, or consumed when there is no TLS dissector). */
static bool on_pdu(struct rdp_state *st, struct session *s, enum direction dir, struct reader p)
{
	if (rd_peek(&p, 0) != 3) {
		st->fast_path[dir]++;
		return false;
	}
	st->tpkts[dir]++;
	rd_skip(&p, 4);
	uint8_t li = rd_u8(&p);
	int code = rd_peek(&p, 0);
	if (!rd_ok(&p) || code < 0 || li > rd_remaining(&p)) {
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "rdp.bad_x224");
		return false;
	}
	if ((code & 0xf0) == 0xf0) { /* Data: li 2 (code, EOT) then MCS */
		rd_skip(&p, li);
		if (st->have_neg_rsp && tls_selected(st->selected))
			return false;
		if (dir == DIR_CLIENT && rd_peek(&p, 0) == 0x7f && rd_peek(&p, 1) == 0x65)
			client_connect(st, p);
		else if (dir == DIR_SERVER && rd_peek(&p, 0) == 0x7f && rd_peek(&p, 1) == 0x66)
			server_connect(st, p);
		return false;
	}
	/* CR and CC: code, dst-ref, src-ref, class = 6 bytes of the li */
	struct reader x = rd_sub(&p, li);
	rd_skip(&x, 6);
	if (!rd_ok(&x)) {
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "rdp.bad_x224");
		return false;
	}
	/* the variable part is what the length indicator and the TPKT hold */
	struct reader var = rd_rest(&x);
	if ((code & 0xf0) == 0xe0 && dir == DIR_CLIENT && !st->have_cr) {
		connection_request(st, s, var);
	} else if ((code & 0xf0) == 0xd0 && dir == DIR_SERVER && !st->have_cc) {
		if (connection_confirm(st, s, var)) {
			if (session_handoff(s, "tls"))
				st->handed_off = true;
			else
				st->tls_unhandled = true;
			return true;
		}
	}
	return false;
}

/* ---- UDP ---- */

/* An RDPEUDP datagram: FEC header, then for SYN the SYNDATA (MTUs); for
 * DATA, the ACK vector (when ACK) and the source payload header, then the
 * payload.  Returns 1 for SYN, 2 for data carrying TLS, 3 for DTLS, 0 for
 * anything else, -1 when it is not RDPEUDP. */
static int udp_datagram(struct reader r, uint16_t *flags_out, uint16_t *up, uint16_t *down)
{
	uint32_t ack = rd_be32(&r);
	rd_skip(&r, 2);
	uint16_t flags = rd_be16(&r);
	if (!rd_ok(&r) || (flags & ~UDP_KNOWN_FLAGS))
		return -1;
	*flags_out = flags;
	if (flags & 0x0001) { /* SYN */
		rd_skip(&r, 4);
		uint16_t u = rd_be16(&r), d = rd_be16(&r);
		if (!rd_ok(&r) || u < 1132 || u > 1232 || d < 1132 || d > 1232)
			return -1;
		if (!(flags & 0x0004) && ack != 0xffffffffu)
			return -1;
		*up = u;
		*down = d;
		return 1;
	}
	if (!(flags & 0x0008))
		return 0;
	if (flags & 0x0004) {
		uint16_t n = rd_be16(&r);
		rd_skip(&r, n);
		rd_skip(&r, (4 - (2 + n) % 4) % 4);
	}
	if (flags & 0x0010)
		return 0; /* FEC payloads: not looked into */
	rd_skip(&r, 8);   /* snCoded, snSourceStart */
	int t = rd_peek(&r, 0), v1 = rd_peek(&r, 1), v2 = rd_peek(&r, 2);
	if (!rd_ok(&r) || t < 0x14 || t > 0x17 || v2 < 0)
		return -1;
	if (v1 == 3 && v2 <= 4)
		return 2;
	if (v1 == 0xfe && v2 >= 0xfc)
		return 3;
	return -1;
}

static void rdp_udp(struct rdp_state *st, enum direction dir, struct reader r)
{
	uint16_t flags = 0, up = 0, down = 0;
	int kind = udp_datagram(r, &flags, &up, &down);

	st->udp = true;
	st->datagrams[dir]++;
	if (kind < 1)
		return;
	st->udp_flags_seen |= flags;
	if (kind == 1) {
		if (flags & 0x0004)
			st->udp_syn_ack = true;
		else
			st->udp_syn = true;
		if (dir == DIR_CLIENT || !st->mtu_up) {
			st->mtu_up = up;
			st->mtu_down = down;
		}
	} else if (kind == 2) {
		st->udp_tls = true;
	} else if (kind == 3) {
		st->udp_dtls = true;
	}
}

/* ---- the dissector ---- */

/* A TPKT with an X.224 Connection Request whose variable part is RDP's
 * (nothing, a cookie, a negotiation request), or a Connection Confirm
 * (nothing or a negotiation response/failure); over UDP an RDPEUDP SYN or
 * a data datagram carrying TLS.  S7comm and other ISO-on-TCP users send
 * CRs too, with TSAP parameters (0xc1 ...): those are refused. */
static enum verdict rdp_probe(struct reader r, enum direction dir)
{
	int b0 = rd_peek(&r, 0);

	if (b0 < 0)
		return VERDICT_NEED_MORE;
	if (b0 != 3) {
		/* RDPEUDP: a datagram is whole, so no need for more */
		uint16_t flags = 0, up, down;
		int kind = udp_datagram(r, &flags, &up, &down);
		/* SYN datagrams are padded to the MTU (1232 bytes) */
		if (kind == 1 && rd_remaining(&r) < 1132)
			return VERDICT_NO;
		return kind >= 1 ? VERDICT_YES : VERDICT_NO;
	}
	for (size_t i = 1; i < 7; i++) {
		int c = rd_peek(&r, i);
		if (c < 0)
			return VERDICT_NEED_MORE;
		if (i == 1 && c != 0)
			return VERDICT_NO;
	}
	struct reader h = r;
	rd_skip(&h, 2);
	uint16_t len = rd_be16(&h);
	uint8_t li = rd_u8(&h);
	uint8_t code = rd_u8(&h);
	if (len < 11 || len > 4096 || li != len - 5)
		return VERDICT_NO;
	bool cr = (code & 0xf0) == 0xe0, cc = (code & 0xf0) == 0xd0;
	if (!(cr && dir == DIR_CLIENT) && !(cc && dir == DIR_SERVER))
		return VERDICT_NO;
	if (rd_remaining(&r) < 11)
		return VERDICT_NEED_MORE;
	rd_skip(&h, 5); /* dst-ref, src-ref, class */
	int v = rd_peek(&h, 0);
	if (v < 0)
		return len == 11 ? VERDICT_YES : VERDICT_NEED_MORE;
	if (cr && v == 'C') {
		size_t have = rd_remaining(&h) < 8 ? rd_remaining(&h) : 8;
		if (!rd_starts_with(&h, "Cookie: ", have))
			return VERDICT_NO;
		return have < 8 ? VERDICT_NEED_MORE : VERDICT_YES;
	}
	if (cr && (v == 1 || v == 6))
		return len == 19 || len >= 19 + 36 || v == 6 ? VERDICT_YES : VERDICT_NO;
	if (cc && (v == 2 || v == 3))
		return len == 19 ? VERDICT_YES : VERDICT_NO;
	return VERDICT_NO;
}

static size_t rdp_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct rdp_state *st = state;
	struct reader pdu;

	if (!session_is_tcp(s)) {
		rdp_udp(st, dir, r);
		return rd_remaining(&r);
	}
	if (!st->pdus[dir].max_pdu)
		st->pdus[dir].max_pdu = RDP_MAX_PDU;
	while (rd_remaining(&r)) {
		if (st->phase[dir] == PH_OPAQUE) {
			st->opaque_bytes[dir] += rd_remaining(&r);
			rd_skip(&r, rd_remaining(&r));
			break;
		}
		enum frame_result fr = pdu_next(&st->pdus[dir], &r, rdp_pdu_length, NULL, &pdu);
		if (fr == FRAME_OK) {
			if (on_pdu(st, s, dir, pdu)) {
				/* TLS from the next byte, in both directions */
				st->phase[DIR_CLIENT] = st->phase[DIR_SERVER] = PH_OPAQUE;
				if (st->handed_off)
					break;
			}
			continue;
		}
		if (fr == FRAME_TOO_BIG) {
			session_count(s, "rdp.pdu_too_big");
			continue;
		}
		if (fr == FRAME_NEED_MORE)
			break;
		/* neither TPKT nor fast-path: encrypted or lost */
		if (st->have_cc || st->have_cr) {
			session_count(s, "rdp.unframed");
		} else {
			session_alert(s, ALERT_MALFORMED);
			session_count(s, "rdp.bad_tpkt");
		}
		st->phase[dir] = PH_OPAQUE;
	}
	return rd_offset(&r);
}

static void rdp_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct rdp_state *st = state;

	(void)s;
	st->gap = true;
	if (st->phase[dir] == PH_OPAQUE)
		st->opaque_bytes[dir] += missing;
	else if (!pdu_gap(&st->pdus[dir], missing))
		st->phase[dir] = PH_OPAQUE;
}

static void rdp_release(void *state)
{
	struct rdp_state *st = state;

	wire_str_free(&st->cookie_line);
	wire_str_free(&st->client_name);
}

/* ---- output ---- */

static void emit_flags(struct emitter *e, const char *key, const struct value_name *names,
                       uint32_t v)
{
	emit_array_begin(e, key);
	for (const struct value_name *n = names; n->name; n++)
		if (v & n->value)
			emit_str(e, NULL, n->name);
	uint32_t known = 0;
	for (const struct value_name *n = names; n->name; n++)
		known |= n->value;
	if (v & ~known) {
		char hex[16];
		snprintf(hex, sizeof hex, "0x%x", v & ~known);
		emit_str(e, NULL, hex);
	}
	emit_array_end(e);
}

static const char *protocol_name(uint32_t p)
{
	if (p == PROTOCOL_RDP)
		return "RDP";
	const char *n = value_name_lookup(protocol_bits, p);
	return n ? n : "unknown";
}

/* The cookie's user: the value after "mstshash=" (routing tokens and
 * other forms are given whole). */
static void emit_cookie(const struct rdp_state *st, struct emitter *e)
{
	if (!st->cookie_line.p) {
		emit_null(e, "cookie");
		return;
	}
	struct reader r = rd_init(st->cookie_line.p, st->cookie_line.len);
	if (rd_starts_with(&r, "mstshash=", 9)) {
		rd_skip(&r, 9);
		size_t n = rd_remaining(&r);
		emit_strn(e, "cookie", (const char *)rd_take(&r, n), n);
	} else {
		emit_strn(e, "cookie", st->cookie_line.p, st->cookie_line.len);
		if (rd_starts_with(&r, "msts=", 5))
			emit_strn(e, "routing_token", st->cookie_line.p + 5,
			          st->cookie_line.len - 5u);
	}
	emit_strn(e, "cookie_line", st->cookie_line.p, st->cookie_line.len);
}

static const char *security_name(const struct rdp_state *st)
{
	if (!st->have_cc || st->have_failure)
		return NULL;
	if (!st->have_neg_rsp || st->selected == PROTOCOL_RDP)
		return "standard";
	if (st->selected & (PROTOCOL_HYBRID | PROTOCOL_HYBRID_EX))
		return "nla";
	return "tls";
}

static void emit_udp(const struct rdp_state *st, struct emitter *e)
{
	emit_str(e, "transport", "udp");
	emit_object_begin(e, "udp");
	emit_bool(e, "syn", st->udp_syn);
	emit_bool(e, "syn_ack", st->udp_syn_ack);
	emit_flags(e, "flags", udp_flags, st->udp_flags_seen);
	if (st->mtu_up) {
		emit_int(e, "upstream_mtu", st->mtu_up);
		emit_int(e, "downstream_mtu", st->mtu_down);
	}
	emit_object_begin(e, "datagrams");
	emit_int(e, "client", (int64_t)st->datagrams[DIR_CLIENT]);
	emit_int(e, "server", (int64_t)st->datagrams[DIR_SERVER]);
	emit_object_end(e);
	emit_object_end(e);
	emit_str(e, "encryption", st->udp_dtls ? "dtls" : st->udp_tls ? "tls" : NULL);
}

static void rdp_emit(const void *state, struct emitter *e)
{
	const struct rdp_state *st = state;

	emit_cookie(st, e);
	if (!st->have_neg_req) {
		emit_null(e, "requested_protocols");
	} else if (st->requested == PROTOCOL_RDP) {
		emit_array_begin(e, "requested_protocols");
		emit_str(e, NULL, "RDP");
		emit_array_end(e);
	} else {
		emit_flags(e, "requested_protocols", protocol_bits, st->requested);
	}
	if (st->have_neg_rsp)
		emit_str(e, "selected_protocol", protocol_name(st->selected));
	else if (st->have_cc && !st->have_failure)
		emit_str(e, "selected_protocol", "RDP"); /* no negotiation: standard */
	else
		emit_null(e, "selected_protocol");
	if (st->have_neg_req && st->req_flags)
		emit_flags(e, "request_flags", neg_req_flags, st->req_flags);
	if (st->have_correlation) {
		char hex[33];
		for (int i = 0; i < 16; i++)
			snprintf(hex + 2 * i, 3, "%02x", st->correlation_id[i]);
		emit_str(e, "correlation_id", hex);
	}
	if (st->have_neg_rsp && st->rsp_flags)
		emit_flags(e, "response_flags", neg_rsp_flags, st->rsp_flags);
	if (st->have_failure) {
		const char *n = value_name_lookup(failure_codes, st->failure);
		char num[16];
		snprintf(num, sizeof num, "%u", st->failure);
		emit_str(e, "failure", n ? n : num);
	}
	emit_str(e, "security", security_name(st));
	if (st->have_core) {
		emit_object_begin(e, "client");
		emit_strn(e, "name", st->client_name.p, st->client_name.len);
		emit_int(e, "build", st->client_build);
		char hex[16];
		snprintf(hex, sizeof hex, "0x%08x", st->keyboard_layout);
		emit_str(e, "keyboard_layout", hex);
		snprintf(hex, sizeof hex, "0x%08x", st->client_version);
		emit_str(e, "version", hex);
		emit_int(e, "desktop_width", st->desktop_width);
		emit_int(e, "desktop_height", st->desktop_height);
		emit_object_end(e);
	}
	if (st->have_client_security)
		emit_flags(e, "client_encryption_methods", encryption_methods,
		           st->client_encryption_methods);
	if (st->have_server_security) {
		const char *m = value_name_lookup(encryption_methods, st->server_encryption_method);
		const char *l = value_name_lookup(encryption_levels, st->server_encryption_level);
		emit_str(e, "encryption_method", st->server_encryption_method == 0 ? "NONE" : m);
		emit_str(e, "encryption_level", l);
	}
	if (st->udp) {
		emit_udp(st, e);
	} else {
		emit_object_begin(e, "pdus");
		emit_int(e, "client", (int64_t)(st->tpkts[0] + st->fast_path[0]));
		emit_int(e, "server", (int64_t)(st->tpkts[1] + st->fast_path[1]));
		emit_object_end(e);
	}
	if (st->tls_unhandled)
		emit_bool(e, "starttls", true); /* TLS follows, no dissector took it */
	if (st->opaque_bytes[0] + st->opaque_bytes[1])
		emit_int(e, "opaque_bytes", (int64_t)(st->opaque_bytes[0] + st->opaque_bytes[1]));
	if (st->gap)
		emit_bool(e, "gap", true);
}

/* "mstshash=JOHN -> HYBRID (nla)" */
static void rdp_summarize(const void *state, char *buf, size_t n)
{
	const struct rdp_state *st = state;
	struct summary sum = summary_start(buf, n);

	if (st->udp) {
		summary_add(&sum, "RDPEUDP");
		if (st->udp_dtls || st->udp_tls)
			summary_add(&sum, st->udp_dtls ? " dtls" : " tls");
		return;
	}
	if (st->cookie_line.p) {
		summary_add_wire(&sum, st->cookie_line.p, st->cookie_line.len);
		summary_add(&sum, " ");
	}
	if (st->have_failure) {
		const char *f = value_name_lookup(failure_codes, st->failure);
		summary_addf(&sum, "-> failure %s", f ? f : "?");
		return;
	}
	if (st->have_cc) {
		const char *sec = security_name(st);
		summary_addf(&sum, "-> %s (%s)",
		             st->have_neg_rsp ? protocol_name(st->selected) : "RDP",
		             sec ? sec : "?");
	}
	if (st->client_name.p && st->client_name.len) {
		summary_add(&sum, " client ");
		summary_add_wire(&sum, st->client_name.p, st->client_name.len);
	}
}

const struct dissector rdp_dissector = {
    .name = "rdp",
    .transports = TRANSPORT_BIT_TCP | TRANSPORT_BIT_UDP,
    .ports = rdp_ports,
    .state_size = sizeof(struct rdp_state),
    .probe = rdp_probe,
    .on_data = rdp_on_data,
    .on_gap = rdp_on_gap,
    .emit = rdp_emit,
    .summarize = rdp_summarize,
    .release = rdp_release,
};
