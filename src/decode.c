/* Link, network and transport decoding.
 *
 * One packet is walked from its link header down to TCP or UDP, filling one
 * struct packet.  Every read of packet bytes goes through struct reader; the
 * only pointers kept are the ones rd_take() hands out, so nothing here can
 * read past the captured bytes whatever the headers claim.
 *
 * Lengths come from the headers that own them: the IP datagram is sized by
 * its own header (Ethernet padding and FCS never become payload).  A
 * datagram shorter than its header says is decoded as far as it goes and
 * flagged snap_truncated; a header that does not fit, or whose fields
 * contradict each other, gives DECODE_MALFORMED with the reason in p->error.
 */
#include "portolan/decode.h"

#include <string.h>

#include "portolan/icmp.h"
#include "portolan/reader.h"

/* VLAN tags, MPLS labels, PPPoE and IP-in-IP tunnels together.  Real stacks
 * stay well below this; past it the packet is more likely built to make us
 * loop than carried by a network. */
#define DECODE_MAX_LAYERS 16
/* IPv6 extension headers before the transport (RFC 8200 expects a handful). */
#define DECODE_MAX_IPV6_EXTENSIONS 8

#define IPV4_MIN_HEADER 20
#define IPV6_HEADER 40
#define TCP_MIN_HEADER 20
#define UDP_HEADER 8
#define ICMP_HEADER 8     /* type, code, checksum, 4 bytes that depend on the type */
#define TCP_MAX_WSCALE 14 /* RFC 7323 2.3: larger shifts are used as 14 */

enum ethertype {
	ETH_IPV4 = 0x0800,
	ETH_IPV6 = 0x86dd,
	ETH_VLAN = 0x8100,
	ETH_QINQ = 0x88a8,
	ETH_QINQ_OLD = 0x9100,
	ETH_MPLS_UNICAST = 0x8847,
	ETH_MPLS_MULTICAST = 0x8848,
	ETH_PPPOE_SESSION = 0x8864,
};

enum ppp_protocol {
	PPP_IPV4 = 0x0021,
	PPP_IPV6 = 0x0057,
	PPP_MPLS_UNICAST = 0x0281,
	PPP_MPLS_MULTICAST = 0x0283,
};

enum ip_protocol {
	IPPROTO_NUM_HOPOPTS = 0,
	IPPROTO_NUM_ICMP = 1,
	IPPROTO_NUM_IPIP = 4,
	IPPROTO_NUM_TCP = 6,
	IPPROTO_NUM_UDP = 17,
	IPPROTO_NUM_IPV6 = 41,
	IPPROTO_NUM_ROUTING = 43,
	IPPROTO_NUM_FRAGMENT = 44,
	IPPROTO_NUM_AH = 51,
	IPPROTO_NUM_ICMPV6 = 58,
	IPPROTO_NUM_DSTOPTS = 60,
	IPPROTO_NUM_MOBILITY = 135,
	IPPROTO_NUM_HIP = 139,
	IPPROTO_NUM_SHIM6 = 140,
};

/* Address family values seen in DLT_NULL and DLT_LOOP headers. */
enum bsd_family {
	BSD_AF_INET = 2,
	BSD_AF_INET6_BSD = 24,     /* NetBSD, OpenBSD, BSD/OS */
	BSD_AF_INET6_FREEBSD = 28, /* FreeBSD, DragonFly */
	BSD_AF_INET6_DARWIN = 30,  /* macOS, iOS */
};

struct decode_ctx {
	struct packet *p;
	unsigned layers; /* encapsulations entered so far */
	bool cut;        /* the snaplen cut this frame (caplen < wirelen) */
};

static const char *const error_names[DERR_COUNT] = {
    [DERR_NONE] = "none",
    [DERR_LINK_TRUNCATED] = "link_truncated",
    [DERR_UNKNOWN_LINKTYPE] = "unknown_linktype",
    [DERR_IP_TRUNCATED] = "ip_truncated",
    [DERR_IP_BAD_VERSION] = "ip_bad_version",
    [DERR_IP_BAD_HEADER_LENGTH] = "ip_bad_header_length",
    [DERR_IP_BAD_TOTAL_LENGTH] = "ip_bad_total_length",
    [DERR_IPV6_BAD_EXTENSION] = "ipv6_bad_extension",
    [DERR_TCP_TRUNCATED] = "tcp_truncated",
    [DERR_TCP_BAD_HEADER_LENGTH] = "tcp_bad_header_length",
    [DERR_UDP_TRUNCATED] = "udp_truncated",
    [DERR_UDP_BAD_LENGTH] = "udp_bad_length",
    [DERR_TOO_MANY_ENCAPSULATIONS] = "too_many_encapsulations",
    [DERR_IPV6_TOO_MANY_EXTENSIONS] = "ipv6_too_many_extensions",
    [DERR_ICMP_TRUNCATED] = "icmp_truncated",
};

const char *decode_error_name(enum decode_error e)
{
	if ((unsigned)e >= DERR_COUNT || !error_names[e])
		return "unknown";
	return error_names[e];
}

static enum decode_status malformed(struct packet *p, enum decode_error e)
{
	p->error = e;
	return DECODE_MALFORMED;
}

/* A header that does not fit in the captured bytes: still malformed for the
 * caller, but flagged as the snaplen's doing when the capture was cut. */
static enum decode_status truncated(struct packet *p, enum decode_error e, bool cut)
{
	if (cut)
		p->snap_truncated = true;
	return malformed(p, e);
}

static enum decode_status link_truncated(struct decode_ctx *c)
{
	return truncated(c->p, DERR_LINK_TRUNCATED, c->cut);
}

/* The IP header claims more bytes than there are.  With caplen < wirelen
 * the snaplen did it.  Without, the header lies or the capturing tool cut
 * the frame (old traces have such frames, payload stripped): either way the
 * bytes that are there are real, so the packet is decoded as far as it goes,
 * like a snaplen cut, with the anomaly kept in p->error.  Dropping it would
 * lose a TCP segment's flags and sequence numbers that tshark and the flow
 * table still count. */
static void datagram_cut_short(struct packet *p, bool cut)
{
	p->snap_truncated = true;
	if (!cut)
		p->error = DERR_IP_BAD_TOTAL_LENGTH;
}

/* Counts one more encapsulation; false once the limit is passed. */
static bool enter_layer(struct decode_ctx *c)
{
	return ++c->layers <= DECODE_MAX_LAYERS;
}

static enum decode_status decode_ipv4(struct decode_ctx *c, struct reader r, bool cut);
static enum decode_status decode_ipv6(struct decode_ctx *c, struct reader r, bool cut);

/* ---- transport ---------------------------------------------------------- */

/* The window scale option's shift, or 0xff when the options carry none. */
static uint8_t tcp_window_scale(struct reader opts)
{
	while (rd_remaining(&opts) > 0) {
		uint8_t kind = rd_u8(&opts);
		if (kind == 0) /* end of option list */
			break;
		if (kind == 1) /* no-operation */
			continue;
		uint8_t len = rd_u8(&opts);
		if (!rd_ok(&opts) || len < 2)
			break;
		struct reader value = rd_sub(&opts, (size_t)len - 2);
		if (!rd_ok(&opts))
			break;
		if (kind == 3 && len == 3) {
			uint8_t shift = rd_u8(&value);
			return shift > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : shift;
		}
	}
	return 0xff;
}

/* r holds the captured IP payload, wire_len its length per the IP header. */
static enum decode_status decode_tcp(struct packet *p, struct reader r, size_t wire_len)
{
	if (wire_len < TCP_MIN_HEADER || !rd_has(&r, TCP_MIN_HEADER))
		return malformed(p, DERR_TCP_TRUNCATED);
	p->sport = rd_be16(&r);
	p->dport = rd_be16(&r);
	p->seq = rd_be32(&r);
	p->ack = rd_be32(&r);
	size_t header_len = (size_t)(rd_u8(&r) >> 4) * 4;
	p->tcp_flags = rd_u8(&r);
	p->window = rd_be16(&r);
	rd_skip(&r, 2); /* checksum: offloading makes it meaningless in captures */
	p->urg_ptr = rd_be16(&r);
	if (header_len < TCP_MIN_HEADER || header_len > wire_len)
		return malformed(p, DERR_TCP_BAD_HEADER_LENGTH);
	struct reader opts = rd_sub(&r, header_len - TCP_MIN_HEADER);
	if (!rd_ok(&r))
		return malformed(p, DERR_TCP_TRUNCATED); /* wire_len fits: the snaplen cut it */
	if (p->tcp_flags & TCP_SYN)
		p->tcp_wscale = tcp_window_scale(opts);
	p->payload_wire_len = wire_len - header_len;
	p->payload_len = rd_remaining(&r);
	p->payload = rd_take(&r, p->payload_len);
	return DECODE_OK;
}

static enum decode_status decode_udp(struct packet *p, struct reader r, size_t wire_len)
{
	if (wire_len < UDP_HEADER || !rd_has(&r, UDP_HEADER))
		return malformed(p, DERR_UDP_TRUNCATED);
	p->sport = rd_be16(&r);
	p->dport = rd_be16(&r);
	size_t udp_len = rd_be16(&r);
	rd_skip(&r, 2); /* checksum */
	/* A UDP length shorter than the IP payload is legal (the rest is not
	 * UDP's).  One that is impossible (< 8, or past the IP payload) is
	 * counted, but the datagram is still delivered as the IP header sizes
	 * it: those bytes were already checked against the capture, so reading
	 * them is safe, and of the two lengths the UDP one is the redundant
	 * one (it is even 0 by design in RFC 2675 jumbograms).  A dissector
	 * still gets to judge the bytes; dropping them would hide exactly the
	 * oddities worth seeing.  p->error keeps the anomaly counted. */
	if (udp_len < UDP_HEADER || udp_len > wire_len) {
		p->error = DERR_UDP_BAD_LENGTH;
		udp_len = wire_len;
	}
	p->payload_wire_len = udp_len - UDP_HEADER;
	p->payload_len = rd_remaining(&r);
	if (p->payload_len > p->payload_wire_len)
		p->payload_len = p->payload_wire_len;
	p->payload = rd_take(&r, p->payload_len);
	return DECODE_OK;
}

/* ICMP and ICMPv6 share their header: type, code, checksum, then four
 * bytes whose meaning depends on the type (identifier and sequence number
 * of the query/reply types, unused or MTU or pointer for the errors). */
static enum decode_status decode_icmp(struct packet *p, struct reader r, size_t wire_len)
{
	if (wire_len < ICMP_HEADER || !rd_has(&r, ICMP_HEADER))
		return malformed(p, DERR_ICMP_TRUNCATED);
	p->icmp_type = rd_u8(&r);
	p->icmp_code = rd_u8(&r);
	rd_skip(&r, 2); /* checksum */
	uint16_t id = rd_be16(&r);
	uint16_t seq = rd_be16(&r);
	const struct icmp_type_info *ti = icmp_type_info(p->ip_version, p->icmp_type);
	if (ti && (ti->kind == ICMP_KIND_REQUEST || ti->kind == ICMP_KIND_REPLY)) {
		p->icmp_query = true;
		p->sport = p->dport = id;
		p->icmp_seq = seq;
	}
	p->payload_wire_len = wire_len - ICMP_HEADER;
	p->payload_len = rd_remaining(&r);
	if (p->payload_len > p->payload_wire_len)
		p->payload_len = p->payload_wire_len;
	p->payload = rd_take(&r, p->payload_len);
	return DECODE_OK;
}

/* A transport we do not follow: the IP fields stay, and payload points at
 * the transport header so that it can still be counted. */
static enum decode_status unsupported_transport(struct packet *p, struct reader r, size_t wire_len)
{
	p->payload_wire_len = wire_len;
	p->payload_len = rd_remaining(&r);
	p->payload = rd_take(&r, p->payload_len);
	return DECODE_UNSUPPORTED;
}

/* r holds the captured bytes after the IP header(s), wire_len the length
 * the IP header gives them. */
static enum decode_status decode_transport(struct decode_ctx *c, uint8_t proto, struct reader r,
                                           size_t wire_len)
{
	struct packet *p = c->p;

	switch (proto) {
	case IPPROTO_NUM_TCP:
		return decode_tcp(p, r, wire_len);
	case IPPROTO_NUM_UDP:
		return decode_udp(p, r, wire_len);
	case IPPROTO_NUM_ICMP:
	case IPPROTO_NUM_ICMPV6:
		/* ICMP belongs to IPv4, ICMPv6 to IPv6: the other pairing is
		 * nobody's protocol and stays unsupported */
		if ((proto == IPPROTO_NUM_ICMP) != (p->ip_version == 4))
			return unsupported_transport(p, r, wire_len);
		return decode_icmp(p, r, wire_len);
	case IPPROTO_NUM_IPIP:
	case IPPROTO_NUM_IPV6:
		/* A tunnel: the inner datagram is the one worth tracking.  An
		 * inner one longer than a whole outer one carries is flagged
		 * DERR_IP_BAD_TOTAL_LENGTH, like any frame cut short. */
		if (!enter_layer(c))
			return malformed(p, DERR_TOO_MANY_ENCAPSULATIONS);
		if (proto == IPPROTO_NUM_IPIP)
			return decode_ipv4(c, r, p->snap_truncated);
		return decode_ipv6(c, r, p->snap_truncated);
	default:
		return unsupported_transport(p, r, wire_len);
	}
}

/* ---- IPv4 --------------------------------------------------------------- */

/* False when the version nibble is there and is not the one expected: a
 * wrong version says more than a short header does. */
static bool version_is(const struct reader *r, int version)
{
	int first = rd_peek(r, 0);
	return first < 0 || first >> 4 == version;
}

static enum decode_status ipv4_fragment(struct packet *p, uint16_t id, uint16_t flags_offset,
                                        struct reader payload)
{
	p->frag_id = id;
	p->frag_offset = (uint32_t)(flags_offset & 0x1fff) * 8;
	p->frag_more = (flags_offset & 0x2000) != 0;
	p->frag_next_header = p->ip_proto;
	p->frag_unfrag_len = p->ip_header_len;
	p->frag_len = rd_remaining(&payload);
	p->frag_data = rd_take(&payload, p->frag_len);
	return DECODE_FRAGMENT;
}

/* r starts at the IPv4 header and runs to the end of the captured bytes
 * (link padding included); cut says whether missing bytes may be the
 * snaplen's doing. */
static enum decode_status decode_ipv4(struct decode_ctx *c, struct reader r, bool cut)
{
	struct packet *p = c->p;
	struct reader h = r; /* a look at the fixed header; r stays at its start */

	if (!version_is(&r, 4))
		return malformed(p, DERR_IP_BAD_VERSION);
	uint8_t version_ihl = rd_u8(&h);
	rd_skip(&h, 1); /* DSCP, ECN */
	size_t total_len = rd_be16(&h);
	uint16_t id = rd_be16(&h);
	uint16_t flags_offset = rd_be16(&h);
	uint8_t ttl = rd_u8(&h);
	uint8_t proto = rd_u8(&h);
	rd_skip(&h, 2); /* header checksum: offloading makes it meaningless here */
	struct ip_addr src = {.version = 4}, dst = {.version = 4};
	rd_copy(&h, src.b, 4);
	rd_copy(&h, dst.b, 4);
	if (!rd_ok(&h))
		return truncated(p, DERR_IP_TRUNCATED, cut);
	size_t header_len = (size_t)(version_ihl & 0x0f) * 4;
	if (header_len < IPV4_MIN_HEADER)
		return malformed(p, DERR_IP_BAD_HEADER_LENGTH);

	p->ip_version = 4;
	p->src = src;
	p->dst = dst;
	p->ttl = ttl;
	p->ip_proto = proto;
	p->ip_header_len = header_len;

	size_t avail = rd_remaining(&r);
	if (total_len != 0 && total_len < header_len)
		return malformed(p, DERR_IP_BAD_TOTAL_LENGTH);
	if (header_len > avail)
		return truncated(p, DERR_IP_TRUNCATED, cut);
	/* Captured on a host doing TCP segmentation offload, a datagram larger
	 * than 64 KiB goes out with total length 0: what was captured is it. */
	if (total_len == 0)
		total_len = avail;
	if (total_len > avail)
		datagram_cut_short(p, cut);
	p->ip_len = total_len < avail ? total_len : avail;
	p->ip_start = rd_take(&r, p->ip_len);

	struct reader datagram = rd_init(p->ip_start, p->ip_len);
	rd_skip(&datagram, header_len);
	if (flags_offset & 0x3fff) /* MF or a fragment offset */
		return ipv4_fragment(p, id, flags_offset, datagram);
	return decode_transport(c, proto, datagram, total_len - header_len);
}

/* ---- IPv6 --------------------------------------------------------------- */

/* Extension headers we walk; ESP (50) and No Next Header (59) end the walk
 * like any transport: what follows them is opaque to us. */
bool ipv6_is_extension(uint8_t nh)
{
	switch (nh) {
	case IPPROTO_NUM_HOPOPTS:
	case IPPROTO_NUM_ROUTING:
	case IPPROTO_NUM_FRAGMENT:
	case IPPROTO_NUM_AH:
	case IPPROTO_NUM_DSTOPTS:
	case IPPROTO_NUM_MOBILITY:
	case IPPROTO_NUM_HIP:
	case IPPROTO_NUM_SHIM6:
		return true;
	default:
		return false;
	}
}

/* Length of an extension header from its length byte: each type counts in
 * its own units. */
size_t ipv6_extension_length(uint8_t nh, uint8_t len_field)
{
	switch (nh) {
	case IPPROTO_NUM_FRAGMENT:
		return 8;
	case IPPROTO_NUM_AH:
		return ((size_t)len_field + 2) * 4; /* RFC 4302: 32-bit words minus 2 */
	default:
		return ((size_t)len_field + 1) * 8; /* RFC 8200: 8 octets, not counting the first */
	}
}

/* Where a walk through the IPv6 header chain stands. */
struct ipv6_walk {
	uint8_t nh;        /* the header that comes next */
	size_t nh_offset;  /* where the byte naming it lives */
	size_t wire_total; /* the datagram's length per its header */
};

/* The fragment header at the cursor of datagram (already known to be
 * captured whole).  Returns true when it is an atomic fragment (offset 0,
 * no more fragments: RFC 6946 says to process it as if unfragmented). */
static bool ipv6_fragment(struct packet *p, struct reader *datagram, const struct ipv6_walk *w)
{
	size_t before = rd_offset(datagram);
	uint8_t next = rd_u8(datagram);
	rd_skip(datagram, 1); /* reserved */
	uint16_t offset_flags = rd_be16(datagram);
	uint32_t id = rd_be32(datagram);
	if ((offset_flags & 0xfff9) == 0)
		return true;
	p->frag_id = id;
	p->frag_offset = offset_flags & 0xfff8;
	p->frag_more = (offset_flags & 1) != 0;
	p->frag_next_header = next;
	p->frag_unfrag_len = before;
	p->frag_nh_offset = w->nh_offset;
	p->ip_header_len = rd_offset(datagram);
	p->ip_proto = next;
	p->frag_len = rd_remaining(datagram);
	p->frag_data = rd_take(datagram, p->frag_len);
	return false;
}

/* Walks the extension headers from the cursor of datagram (just past the
 * fixed header) to the transport. */
static enum decode_status ipv6_walk_extensions(struct decode_ctx *c, struct reader datagram,
                                               struct ipv6_walk w)
{
	struct packet *p = c->p;

	for (unsigned count = 0; ipv6_is_extension(w.nh); count++) {
		if (count == DECODE_MAX_IPV6_EXTENSIONS)
			return malformed(p, DERR_IPV6_TOO_MANY_EXTENSIONS);
		size_t off = rd_offset(&datagram);
		struct reader h = datagram;
		uint8_t next = rd_u8(&h);
		size_t len = ipv6_extension_length(w.nh, rd_u8(&h));
		if (!rd_ok(&h) || !rd_has(&datagram, len)) {
			/* past the payload length: a lie; within it: cut short */
			if (off + (rd_ok(&h) ? len : 2) > w.wire_total)
				return malformed(p, DERR_IPV6_BAD_EXTENSION);
			return malformed(p, DERR_IP_TRUNCATED); /* snap_truncated is set */
		}
		if (off + len > w.wire_total)
			return malformed(p, DERR_IPV6_BAD_EXTENSION);
		if (w.nh == IPPROTO_NUM_FRAGMENT) {
			if (!ipv6_fragment(p, &datagram, &w))
				return DECODE_FRAGMENT;
		} else {
			rd_skip(&datagram, len);
		}
		w.nh = next;
		w.nh_offset = off;
	}
	p->ip_proto = w.nh;
	p->ip_header_len = rd_offset(&datagram);
	return decode_transport(c, w.nh, datagram, w.wire_total - p->ip_header_len);
}

static enum decode_status decode_ipv6(struct decode_ctx *c, struct reader r, bool cut)
{
	struct packet *p = c->p;
	struct reader h = r;

	if (!version_is(&r, 6))
		return malformed(p, DERR_IP_BAD_VERSION);
	rd_skip(&h, 4); /* version, traffic class, flow label */
	size_t payload_len = rd_be16(&h);
	uint8_t nh = rd_u8(&h);
	uint8_t hop_limit = rd_u8(&h);
	struct ip_addr src = {.version = 6}, dst = {.version = 6};
	rd_copy(&h, src.b, 16);
	rd_copy(&h, dst.b, 16);
	if (!rd_ok(&h))
		return truncated(p, DERR_IP_TRUNCATED, cut);

	p->ip_version = 6;
	p->src = src;
	p->dst = dst;
	p->ttl = hop_limit;
	p->ip_proto = nh;
	p->ip_header_len = IPV6_HEADER;

	size_t avail = rd_remaining(&r);
	/* Payload length 0 is a jumbogram (RFC 2675) or, captured on the
	 * sender, a GSO super-packet: what was captured is the datagram. */
	size_t total_len = payload_len ? IPV6_HEADER + payload_len : avail;
	if (total_len > avail)
		datagram_cut_short(p, cut);
	p->ip_len = total_len < avail ? total_len : avail;
	p->ip_start = rd_take(&r, p->ip_len);

	struct reader datagram = rd_init(p->ip_start, p->ip_len);
	rd_skip(&datagram, IPV6_HEADER);
	struct ipv6_walk w = {.nh = nh, .nh_offset = 6, .wire_total = total_len};
	return ipv6_walk_extensions(c, datagram, w);
}

/* IPv4 or IPv6 by the version nibble, for links that do not say which.
 * other is the answer when it is neither. */
static enum decode_status decode_ip_guess(struct decode_ctx *c, struct reader r,
                                          enum decode_status other)
{
	int first = rd_peek(&r, 0);
	if (first < 0)
		return truncated(c->p, DERR_IP_TRUNCATED, c->cut);
	switch (first >> 4) {
	case 4:
		return decode_ipv4(c, r, c->cut);
	case 6:
		return decode_ipv6(c, r, c->cut);
	default:
		if (other == DECODE_MALFORMED)
			return malformed(c->p, DERR_IP_BAD_VERSION);
		return other;
	}
}

/* ---- link layer --------------------------------------------------------- */

/* An MPLS label stack down to the bottom-of-stack bit.  Nothing says what
 * is under it: the first nibble tells IPv4 and IPv6 apart, anything else
 * (an Ethernet pseudowire...) is not IP to us. */
static enum decode_status decode_mpls(struct decode_ctx *c, struct reader r)
{
	for (;;) {
		if (!enter_layer(c))
			return malformed(c->p, DERR_TOO_MANY_ENCAPSULATIONS);
		uint32_t entry = rd_be32(&r);
		if (!rd_ok(&r))
			return link_truncated(c);
		c->p->n_mpls++;
		if (entry & 0x100) /* bottom of stack */
			break;
	}
	return decode_ip_guess(c, r, DECODE_NOT_IP);
}

/* A PPP protocol field and what follows it. */
static enum decode_status decode_ppp_protocol(struct decode_ctx *c, struct reader r)
{
	uint16_t proto = rd_u8(&r);
	if (!(proto & 1)) /* an odd first byte is a compressed one-byte field (RFC 1661 6.5) */
		proto = (uint16_t)(proto << 8 | rd_u8(&r));
	if (!rd_ok(&r))
		return link_truncated(c);
	switch (proto) {
	case PPP_IPV4:
		return decode_ipv4(c, r, c->cut);
	case PPP_IPV6:
		return decode_ipv6(c, r, c->cut);
	case PPP_MPLS_UNICAST:
	case PPP_MPLS_MULTICAST:
		return decode_mpls(c, r);
	default:
		return DECODE_NOT_IP;
	}
}

/* PPPoE session stage (RFC 2516): version/type, code, session id, length,
 * then PPP.  The IP header sizes the datagram, so the length is not used. */
static enum decode_status decode_pppoe_session(struct decode_ctx *c, struct reader r)
{
	if (!enter_layer(c))
		return malformed(c->p, DERR_TOO_MANY_ENCAPSULATIONS);
	rd_skip(&r, 6);
	if (!rd_ok(&r))
		return link_truncated(c);
	return decode_ppp_protocol(c, r);
}

/* One 802.1Q / 802.1ad tag: records the VLAN id, returns the inner type. */
static uint16_t vlan_tag(struct decode_ctx *c, struct reader *r)
{
	struct packet *p = c->p;
	uint16_t tci = rd_be16(r);
	uint16_t inner = rd_be16(r);
	if (rd_ok(r) && p->n_vlans < PACKET_MAX_VLANS)
		p->vlans[p->n_vlans++] = tci & 0x0fff;
	return inner;
}

static enum decode_status decode_ethertype(struct decode_ctx *c, uint16_t type, struct reader r)
{
	for (;;) {
		switch (type) {
		case ETH_IPV4:
			return decode_ipv4(c, r, c->cut);
		case ETH_IPV6:
			return decode_ipv6(c, r, c->cut);
		case ETH_MPLS_UNICAST:
		case ETH_MPLS_MULTICAST:
			return decode_mpls(c, r);
		case ETH_PPPOE_SESSION:
			return decode_pppoe_session(c, r);
		case ETH_VLAN:
		case ETH_QINQ:
		case ETH_QINQ_OLD:
			if (!enter_layer(c))
				return malformed(c->p, DERR_TOO_MANY_ENCAPSULATIONS);
			type = vlan_tag(c, &r);
			if (!rd_ok(&r))
				return link_truncated(c);
			break;
		default:
			return DECODE_NOT_IP; /* ARP, LLDP, 802.3 lengths... */
		}
	}
}

static enum decode_status link_ethernet(struct decode_ctx *c, struct reader r)
{
	struct packet *p = c->p;
	rd_copy(&r, p->dst_mac, 6);
	rd_copy(&r, p->src_mac, 6);
	uint16_t type = rd_be16(&r);
	if (!rd_ok(&r))
		return link_truncated(c);
	p->has_mac = true;
	return decode_ethertype(c, type, r);
}

/* DLT_PPP: the HDLC address and control bytes (ff 03) may be there or not. */
static enum decode_status link_ppp(struct decode_ctx *c, struct reader r)
{
	static const uint8_t address_control[2] = {0xff, 0x03};
	if (rd_starts_with(&r, address_control, sizeof(address_control)))
		rd_skip(&r, sizeof(address_control));
	return decode_ppp_protocol(c, r);
}

static enum decode_status link_ppp_ether(struct decode_ctx *c, struct reader r)
{
	return decode_ethertype(c, ETH_PPPOE_SESSION, r);
}

/* Linux cooked v1: packet type, ARPHRD type, address length, 8 address
 * bytes, then the protocol as an ethertype. */
static enum decode_status link_linux_sll(struct decode_ctx *c, struct reader r)
{
	rd_skip(&r, 14);
	uint16_t type = rd_be16(&r);
	if (!rd_ok(&r))
		return link_truncated(c);
	return decode_ethertype(c, type, r);
}

/* Linux cooked v2: the protocol comes first, then 18 bytes of metadata. */
static enum decode_status link_linux_sll2(struct decode_ctx *c, struct reader r)
{
	uint16_t type = rd_be16(&r);
	rd_skip(&r, 18);
	if (!rd_ok(&r))
		return link_truncated(c);
	return decode_ethertype(c, type, r);
}

static enum decode_status decode_bsd_family(struct decode_ctx *c, uint32_t family, struct reader r)
{
	switch (family) {
	case BSD_AF_INET:
		return decode_ipv4(c, r, c->cut);
	case BSD_AF_INET6_BSD:
	case BSD_AF_INET6_FREEBSD:
	case BSD_AF_INET6_DARWIN:
		return decode_ipv6(c, r, c->cut);
	default:
		return DECODE_NOT_IP;
	}
}

static uint32_t swap32(uint32_t v)
{
	return v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24;
}

/* DLT_NULL: the family is in the capturing host's byte order, which the
 * file does not record.  Families are small numbers, so a value that only
 * fits in the high half was written in the other order. */
static enum decode_status link_null(struct decode_ctx *c, struct reader r)
{
	uint32_t family = rd_le32(&r);
	if (!rd_ok(&r))
		return link_truncated(c);
	if (family > 0xffff)
		family = swap32(family);
	return decode_bsd_family(c, family, r);
}

/* DLT_LOOP: like DLT_NULL, but always in network byte order. */
static enum decode_status link_loop(struct decode_ctx *c, struct reader r)
{
	uint32_t family = rd_be32(&r);
	if (!rd_ok(&r))
		return link_truncated(c);
	return decode_bsd_family(c, family, r);
}

static enum decode_status link_raw(struct decode_ctx *c, struct reader r)
{
	return decode_ip_guess(c, r, DECODE_MALFORMED);
}

static enum decode_status link_ipv4(struct decode_ctx *c, struct reader r)
{
	return decode_ipv4(c, r, c->cut);
}

static enum decode_status link_ipv6(struct decode_ctx *c, struct reader r)
{
	return decode_ipv6(c, r, c->cut);
}

struct link_decoder {
	int linktype;
	enum decode_status (*decode)(struct decode_ctx *c, struct reader r);
};

static const struct link_decoder link_decoders[] = {
    {LINK_ETHERNET, link_ethernet},
    {LINK_NULL, link_null},
    {LINK_LOOP, link_loop},
    {LINK_PPP, link_ppp},
    {LINK_PPP_ETHER, link_ppp_ether},
    {LINK_LINUX_SLL, link_linux_sll},
    {LINK_LINUX_SLL2, link_linux_sll2},
    {LINK_RAW, link_raw},
    {LINK_RAW_DLT12, link_raw},
    {LINK_RAW_DLT14, link_raw},
    {LINK_IPV4, link_ipv4},
    {LINK_IPV6, link_ipv6},
};

static const struct link_decoder *find_link_decoder(int linktype)
{
	for (size_t i = 0; i < sizeof(link_decoders) / sizeof(link_decoders[0]); i++)
		if (link_decoders[i].linktype == linktype)
			return &link_decoders[i];
	return NULL;
}

bool decode_linktype_supported(int linktype)
{
	return find_link_decoder(linktype) != NULL;
}

enum decode_status decode_packet(int linktype, const uint8_t *data, uint32_t caplen,
                                 uint32_t wirelen, usec_t ts, struct packet *p)
{
	memset(p, 0, sizeof(*p));
	p->ts = ts;
	p->caplen = caplen;
	p->wirelen = wirelen;
	p->linktype = linktype;
	p->tcp_wscale = 0xff;

	const struct link_decoder *link = find_link_decoder(linktype);
	if (!link) {
		p->error = DERR_UNKNOWN_LINKTYPE;
		return DECODE_NOT_IP;
	}
	struct decode_ctx c = {.p = p, .cut = caplen < wirelen};
	return link->decode(&c, rd_init(data, caplen));
}

/* Clears everything above the link layer. */
static void reset_network(struct packet *p)
{
	struct packet link = *p;

	memset(p, 0, sizeof(*p));
	p->ts = link.ts;
	p->caplen = link.caplen;
	p->wirelen = link.wirelen;
	p->linktype = link.linktype;
	p->has_mac = link.has_mac;
	memcpy(p->src_mac, link.src_mac, sizeof(p->src_mac));
	memcpy(p->dst_mac, link.dst_mac, sizeof(p->dst_mac));
	p->n_vlans = link.n_vlans;
	memcpy(p->vlans, link.vlans, sizeof(p->vlans));
	p->n_mpls = link.n_mpls;
	p->tcp_wscale = 0xff;
}

enum decode_status decode_ip(const uint8_t *data, size_t len, struct packet *p)
{
	reset_network(p);
	struct decode_ctx c = {.p = p, .cut = p->caplen < p->wirelen};
	return decode_ip_guess(&c, rd_init(data, len), DECODE_MALFORMED);
}

/* ---- checksum ----------------------------------------------------------- */

uint32_t inet_checksum_add(uint32_t sum, const uint8_t *data, size_t len)
{
	struct reader r = rd_init(data, len);

	while (rd_remaining(&r) >= 2) {
		sum += rd_be16(&r);
		sum = (sum & 0xffff) + (sum >> 16); /* fold as we go: no overflow */
	}
	if (rd_remaining(&r) == 1)
		sum += (uint32_t)rd_u8(&r) << 8; /* an odd last byte is padded with zero */
	return sum;
}

uint16_t inet_checksum_finish(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}
