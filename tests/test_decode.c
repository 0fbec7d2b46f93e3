/* decode.c: every link type, VLAN/QinQ, MPLS, PPPoE, IPv4/IPv6 with
 * extension headers and fragments, TCP and UDP, and every way a header can
 * be cut short or lie.  Packets are built byte by byte here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "portolan/decode.h"

/* ---- a packet builder ---------------------------------------------------- */

struct buf {
	uint8_t b[4096];
	size_t n;
};

static void put8(struct buf *b, unsigned v)
{
	assert_true(b->n < sizeof(b->b));
	b->b[b->n++] = (uint8_t)v;
}

static void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void put32(struct buf *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}

static void put32le(struct buf *b, uint32_t v)
{
	put8(b, v & 0xff);
	put8(b, (v >> 8) & 0xff);
	put8(b, (v >> 16) & 0xff);
	put8(b, v >> 24);
}

static void put_bytes(struct buf *b, const void *data, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	if (n)
		memcpy(b->b + b->n, data, n);
	b->n += n;
}

static void put_buf(struct buf *b, const struct buf *inner)
{
	put_bytes(b, inner->b, inner->n);
}

static void set16(struct buf *b, size_t at, unsigned v)
{
	b->b[at] = (uint8_t)(v >> 8);
	b->b[at + 1] = (uint8_t)v;
}

static const uint8_t SRC4[4] = {10, 0, 0, 1};
static const uint8_t DST4[4] = {10, 0, 0, 2};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 0xaa};
static const uint8_t MAC_B[6] = {0x02, 0, 0, 0, 0, 0xbb};

/* An IPv4 header for payload_len bytes of proto, checksum filled in. */
static void put_ipv4(struct buf *b, unsigned proto, size_t payload_len, unsigned id,
                     unsigned flags_offset)
{
	size_t start = b->n;
	put8(b, 0x45);
	put8(b, 0);
	put16(b, (unsigned)(20 + payload_len));
	put16(b, id);
	put16(b, flags_offset);
	put8(b, 64);
	put8(b, proto);
	put16(b, 0);
	put_bytes(b, SRC4, 4);
	put_bytes(b, DST4, 4);
	uint16_t sum = inet_checksum_finish(inet_checksum_add(0, b->b + start, 20));
	set16(b, start + 10, (uint16_t)~sum);
}

static void put_ipv6(struct buf *b, unsigned nh, size_t payload_len)
{
	put32(b, 0x60000000);
	put16(b, (unsigned)payload_len);
	put8(b, nh);
	put8(b, 55);
	put_bytes(b, SRC6, 16);
	put_bytes(b, DST6, 16);
}

static const char HELLO[] = "hello";

static void put_udp(struct buf *b, const void *payload, size_t len)
{
	put16(b, 1234);
	put16(b, 53);
	put16(b, (unsigned)(8 + len));
	put16(b, 0);
	put_bytes(b, payload, len);
}

/* A TCP header with options (padded by the caller to a multiple of 4). */
static void put_tcp(struct buf *b, unsigned flags, const uint8_t *opts, size_t optlen,
                    const void *payload, size_t len)
{
	assert_int_equal(optlen % 4, 0);
	put16(b, 40000);
	put16(b, 80);
	put32(b, 1000);
	put32(b, 2000);
	put8(b, (unsigned)((20 + optlen) / 4) << 4);
	put8(b, flags);
	put16(b, 512);
	put16(b, 0);
	put16(b, 7);
	put_bytes(b, opts, optlen);
	put_bytes(b, payload, len);
}

static struct buf ipv4_udp(const void *payload, size_t len)
{
	struct buf b = {.n = 0};
	put_ipv4(&b, 17, 8 + len, 1, 0);
	put_udp(&b, payload, len);
	return b;
}

static struct buf ipv6_udp(void)
{
	struct buf b = {.n = 0};
	put_ipv6(&b, 17, 8 + 5);
	put_udp(&b, HELLO, 5);
	return b;
}

static struct buf ipv4_tcp(unsigned flags, const uint8_t *opts, size_t optlen, size_t len)
{
	static const uint8_t data[256] = {'d', 'a', 't', 'a'};
	struct buf b = {.n = 0};
	put_ipv4(&b, 6, 20 + optlen + len, 2, 0x4000);
	put_tcp(&b, flags, opts, optlen, data, len);
	return b;
}

static void put_ethernet(struct buf *b, unsigned type)
{
	put_bytes(b, MAC_B, 6);
	put_bytes(b, MAC_A, 6);
	put16(b, type);
}

static struct buf ethernet(unsigned type, const struct buf *ip)
{
	struct buf b = {.n = 0};
	put_ethernet(&b, type);
	put_buf(&b, ip);
	return b;
}

/* Decodes from a heap copy of exactly caplen bytes, so that AddressSanitizer
 * sees any read past the end. */
static enum decode_status decode_exact(int linktype, const struct buf *b, size_t caplen,
                                       size_t wirelen, struct packet *p)
{
	uint8_t *copy = malloc(caplen ? caplen : 1);
	assert_non_null(copy);
	memcpy(copy, b->b, caplen);
	enum decode_status st =
	    decode_packet(linktype, copy, (uint32_t)caplen, (uint32_t)wirelen, 42, p);
	/* pointers into the copy must not outlive it */
	p->payload = p->ip_start = p->frag_data = NULL;
	free(copy);
	return st;
}

static enum decode_status decode(int linktype, const struct buf *b, struct packet *p)
{
	return decode_packet(linktype, b->b, (uint32_t)b->n, (uint32_t)b->n, 42, p);
}

static void assert_udp_hello4(const struct packet *p)
{
	assert_int_equal(p->ip_version, 4);
	assert_memory_equal(p->src.b, SRC4, 4);
	assert_memory_equal(p->dst.b, DST4, 4);
	assert_int_equal(p->ip_proto, 17);
	assert_int_equal(p->sport, 1234);
	assert_int_equal(p->dport, 53);
	assert_int_equal(p->payload_len, 5);
	assert_int_equal(p->payload_wire_len, 5);
	assert_memory_equal(p->payload, HELLO, 5);
	assert_int_equal(p->ip_len, 33);
	assert_int_equal(p->ip_header_len, 20);
	assert_int_equal(p->error, DERR_NONE);
	assert_false(p->snap_truncated);
}

static void assert_udp_hello6(const struct packet *p)
{
	assert_int_equal(p->ip_version, 6);
	assert_memory_equal(p->src.b, SRC6, 16);
	assert_memory_equal(p->dst.b, DST6, 16);
	assert_int_equal(p->ttl, 55);
	assert_int_equal(p->ip_proto, 17);
	assert_int_equal(p->dport, 53);
	assert_int_equal(p->payload_len, 5);
	assert_memory_equal(p->payload, HELLO, 5);
	assert_int_equal(p->error, DERR_NONE);
}

/* ---- Ethernet ------------------------------------------------------------ */

static void test_ethernet_ipv4_udp(void **state)
{
	(void)state;
	struct buf ip = ipv4_udp(HELLO, 5);
	struct buf f = ethernet(0x0800, &ip);
	struct packet p;
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_udp_hello4(&p);
	assert_true(p.has_mac);
	assert_memory_equal(p.src_mac, MAC_A, 6);
	assert_memory_equal(p.dst_mac, MAC_B, 6);
	assert_int_equal(p.ttl, 64);
	assert_int_equal(p.ts, 42);
	assert_int_equal(p.linktype, LINK_ETHERNET);
	assert_int_equal(p.n_vlans, 0);
	assert_ptr_equal(p.ip_start, f.b + 14);
}

static void test_ethernet_padding_is_not_payload(void **state)
{
	(void)state;
	struct buf ip = ipv4_udp("x", 1);
	struct buf f = ethernet(0x0800, &ip);
	while (f.n < 60) /* minimum frame */
		put8(&f, 0);
	put32(&f, 0xdeadbeef); /* FCS */
	struct packet p;
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_int_equal(p.payload_len, 1);
	assert_int_equal(p.payload_wire_len, 1);
	assert_int_equal(p.ip_len, 29);
	assert_false(p.snap_truncated);

	/* a bare TCP ACK, padded: no payload at all */
	struct buf tcp = ipv4_tcp(TCP_ACK, NULL, 0, 0);
	f = ethernet(0x0800, &tcp);
	while (f.n < 64)
		put8(&f, 0xee);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.payload_wire_len, 0);
	assert_int_equal(p.ip_len, 40);

	/* IPv6 too */
	struct buf ip6 = {.n = 0};
	put_ipv6(&ip6, 17, 9);
	put_udp(&ip6, "y", 1);
	f = ethernet(0x86dd, &ip6);
	put32(&f, 0x01020304);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_int_equal(p.payload_len, 1);
	assert_int_equal(p.ip_len, 49);
}

static void test_ethernet_not_ip(void **state)
{
	(void)state;
	struct buf arp = {.n = 0};
	put_ethernet(&arp, 0x0806);
	for (int i = 0; i < 28; i++)
		put8(&arp, 0);
	struct packet p;
	assert_int_equal(decode(LINK_ETHERNET, &arp, &p), DECODE_NOT_IP);
	assert_int_equal(p.error, DERR_NONE);
	assert_true(p.has_mac);

	struct buf llc = {.n = 0}; /* an 802.3 length, not an ethertype */
	put_ethernet(&llc, 46);
	for (int i = 0; i < 46; i++)
		put8(&llc, 0x42);
	assert_int_equal(decode(LINK_ETHERNET, &llc, &p), DECODE_NOT_IP);
}

static void test_ethernet_ipv6_tcp(void **state)
{
	(void)state;
	struct buf ip = {.n = 0};
	put_ipv6(&ip, 6, 20 + 4);
	put_tcp(&ip, TCP_PSH | TCP_ACK, NULL, 0, "GET ", 4);
	struct buf f = ethernet(0x86dd, &ip);
	struct packet p;
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_int_equal(p.ip_version, 6);
	assert_int_equal(p.ip_proto, 6);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 80);
	assert_int_equal(p.seq, 1000);
	assert_int_equal(p.ack, 2000);
	assert_int_equal(p.window, 512);
	assert_int_equal(p.urg_ptr, 7);
	assert_int_equal(p.tcp_flags, TCP_PSH | TCP_ACK);
	assert_int_equal(p.tcp_wscale, 0xff);
	assert_int_equal(p.payload_len, 4);
	assert_memory_equal(p.payload, "GET ", 4);
	assert_int_equal(p.ip_header_len, 40);
	assert_int_equal(p.ip_len, 64);
}

static void test_tcp_window_scale(void **state)
{
	(void)state;
	/* MSS, SACK permitted, timestamps, NOP, window scale 7 */
	static const uint8_t syn_opts[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0,
	                                   0, 1, 0,    0,    0, 0, 1, 3,  3, 7};
	struct packet p;
	struct buf ip = ipv4_tcp(TCP_SYN, syn_opts, sizeof(syn_opts), 0);
	struct buf f = ethernet(0x0800, &ip);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_int_equal(p.tcp_wscale, 7);
	assert_int_equal(p.payload_len, 0);

	/* only SYNs carry it */
	ip = ipv4_tcp(TCP_ACK, syn_opts, sizeof(syn_opts), 0);
	f = ethernet(0x0800, &ip);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_int_equal(p.tcp_wscale, 0xff);

	/* a SYN without the option */
	static const uint8_t mss_only[] = {2, 4, 0x05, 0xb4};
	ip = ipv4_tcp(TCP_SYN, mss_only, sizeof(mss_only), 0);
	f = ethernet(0x0800, &ip);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_int_equal(p.tcp_wscale, 0xff);

	/* shifts over 14 are used as 14 (RFC 7323) */
	static const uint8_t big[] = {1, 3, 3, 20};
	ip = ipv4_tcp(TCP_SYN | TCP_ACK, big, sizeof(big), 0);
	f = ethernet(0x0800, &ip);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_int_equal(p.tcp_wscale, 14);

	/* an option whose length runs off the end, or is below 2: stop, no crash */
	static const uint8_t bad_len[] = {8, 40, 3, 3};
	ip = ipv4_tcp(TCP_SYN, bad_len, sizeof(bad_len), 0);
	f = ethernet(0x0800, &ip);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_int_equal(p.tcp_wscale, 0xff);
	static const uint8_t zero_len[] = {8, 0, 3, 3};
	ip = ipv4_tcp(TCP_SYN, zero_len, sizeof(zero_len), 0);
	f = ethernet(0x0800, &ip);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_int_equal(p.tcp_wscale, 0xff);
	/* end-of-list stops the walk */
	static const uint8_t eol[] = {0, 3, 3, 5};
	ip = ipv4_tcp(TCP_SYN, eol, sizeof(eol), 0);
	f = ethernet(0x0800, &ip);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_int_equal(p.tcp_wscale, 0xff);
}

/* ---- VLAN, QinQ, MPLS, PPPoE --------------------------------------------- */

static void test_vlan_single(void **state)
{
	(void)state;
	struct buf ip = ipv4_udp(HELLO, 5);
	struct buf f = {.n = 0};
	put_ethernet(&f, 0x8100);
	put16(&f, (3u << 13) | 100); /* priority 3, VLAN 100 */
	put16(&f, 0x0800);
	put_buf(&f, &ip);
	struct packet p;
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_udp_hello4(&p);
	assert_int_equal(p.n_vlans, 1);
	assert_int_equal(p.vlans[0], 100);
}

static void test_qinq_stacks(void **state)
{
	(void)state;
	static const unsigned outer_types[] = {0x88a8, 0x9100, 0x8100};
	struct buf ip = ipv6_udp();
	struct packet p;

	for (size_t i = 0; i < 3; i++) {
		struct buf f = {.n = 0};
		put_ethernet(&f, outer_types[i]);
		put16(&f, 10);
		put16(&f, 0x8100);
		put16(&f, 0x1000 | 20); /* DEI set: not part of the id */
		put16(&f, 0x86dd);
		put_buf(&f, &ip);
		assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
		assert_udp_hello6(&p);
		assert_int_equal(p.n_vlans, 2);
		assert_int_equal(p.vlans[0], 10);
		assert_int_equal(p.vlans[1], 20);
	}
}

static struct buf vlan_stack(unsigned n_tags, const struct buf *ip)
{
	struct buf f = {.n = 0};
	put_ethernet(&f, 0x88a8);
	for (unsigned i = 0; i < n_tags; i++) {
		put16(&f, 100 + i);
		put16(&f, i + 1 < n_tags ? 0x8100 : 0x0800);
	}
	put_buf(&f, ip);
	return f;
}

static void test_vlan_limits(void **state)
{
	(void)state;
	struct buf ip = ipv4_udp(HELLO, 5);
	struct packet p;

	/* more tags than recorded: still decoded, the outer ones kept */
	struct buf f = vlan_stack(6, &ip);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_udp_hello4(&p);
	assert_int_equal(p.n_vlans, PACKET_MAX_VLANS);
	for (int i = 0; i < PACKET_MAX_VLANS; i++)
		assert_int_equal(p.vlans[i], 100 + i);

	f = vlan_stack(16, &ip);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);

	f = vlan_stack(17, &ip);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_TOO_MANY_ENCAPSULATIONS);

	/* a tag cut in half */
	f.n = 0;
	put_ethernet(&f, 0x8100);
	put16(&f, 5);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_LINK_TRUNCATED);
}

static struct buf mpls_frame(unsigned ethertype, unsigned n_labels, bool bottom,
                             const struct buf *inner)
{
	struct buf f = {.n = 0};
	put_ethernet(&f, ethertype);
	for (unsigned i = 0; i < n_labels; i++) {
		uint32_t label = 16 + i;
		bool last = bottom && i + 1 == n_labels;
		put32(&f, label << 12 | (last ? 0x100u : 0) | 64);
	}
	put_buf(&f, inner);
	return f;
}

static void test_mpls(void **state)
{
	(void)state;
	struct buf ip4 = ipv4_udp(HELLO, 5), ip6 = ipv6_udp();
	struct packet p;

	struct buf f = mpls_frame(0x8847, 2, true, &ip4);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_udp_hello4(&p);
	assert_int_equal(p.n_mpls, 2);

	f = mpls_frame(0x8848, 1, true, &ip6);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_udp_hello6(&p);
	assert_int_equal(p.n_mpls, 1);

	/* VLAN then MPLS */
	struct buf g = {.n = 0};
	put_ethernet(&g, 0x8100);
	put16(&g, 7);
	put16(&g, 0x8847);
	put32(&g, 0x00011140);
	put_buf(&g, &ip4);
	assert_int_equal(decode(LINK_ETHERNET, &g, &p), DECODE_OK);
	assert_int_equal(p.vlans[0], 7);
	assert_int_equal(p.n_mpls, 1);

	/* an Ethernet pseudowire under the labels is not IP to us */
	struct buf pw = ethernet(0x0800, &ip4);
	struct buf pw_ctl = {.n = 0};
	put32(&pw_ctl, 0); /* control word */
	put_buf(&pw_ctl, &pw);
	f = mpls_frame(0x8847, 1, true, &pw_ctl);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_NOT_IP);

	/* no bottom of stack: runs off the end */
	struct buf nothing = {.n = 0};
	f = mpls_frame(0x8847, 3, false, &nothing);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_LINK_TRUNCATED);

	/* too deep a stack */
	f = mpls_frame(0x8847, 20, true, &ip4);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_TOO_MANY_ENCAPSULATIONS);

	/* bottom of stack and nothing after it */
	f = mpls_frame(0x8847, 1, true, &nothing);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IP_TRUNCATED);
}

static struct buf pppoe_frame(unsigned ppp_proto, const struct buf *inner)
{
	struct buf f = {.n = 0};
	put_ethernet(&f, 0x8864);
	put8(&f, 0x11);
	put8(&f, 0x00);
	put16(&f, 0x1234);
	put16(&f, (unsigned)(inner->n + 2));
	put16(&f, ppp_proto);
	put_buf(&f, inner);
	return f;
}

static void test_pppoe(void **state)
{
	(void)state;
	struct buf ip4 = ipv4_udp(HELLO, 5), ip6 = ipv6_udp();
	struct packet p;

	struct buf f = pppoe_frame(0x0021, &ip4);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_udp_hello4(&p);

	f = pppoe_frame(0x0057, &ip6);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_udp_hello6(&p);

	struct buf lcp = {.n = 0};
	put32(&lcp, 0x01010004);
	f = pppoe_frame(0xc021, &lcp);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_NOT_IP);

	/* PPPoE discovery is not IP either */
	f = ethernet(0x8863, &lcp);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_NOT_IP);

	/* LINKTYPE_PPP_ETHER: the PPPoE header without Ethernet */
	f = pppoe_frame(0x0021, &ip4);
	struct buf bare = {.n = 0};
	put_bytes(&bare, f.b + 14, f.n - 14);
	assert_int_equal(decode(LINK_PPP_ETHER, &bare, &p), DECODE_OK);
	assert_udp_hello4(&p);
	assert_false(p.has_mac);

	/* cut inside the PPPoE header */
	bare.n = 5;
	assert_int_equal(decode(LINK_PPP_ETHER, &bare, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_LINK_TRUNCATED);
}

/* ---- other link types ---------------------------------------------------- */

static void test_ppp(void **state)
{
	(void)state;
	struct buf ip4 = ipv4_udp(HELLO, 5), ip6 = ipv6_udp();
	struct packet p;

	struct buf f = {.n = 0};
	put16(&f, 0xff03);
	put16(&f, 0x0021);
	put_buf(&f, &ip4);
	assert_int_equal(decode(LINK_PPP, &f, &p), DECODE_OK);
	assert_udp_hello4(&p);

	f.n = 0; /* without address and control */
	put16(&f, 0x0057);
	put_buf(&f, &ip6);
	assert_int_equal(decode(LINK_PPP, &f, &p), DECODE_OK);
	assert_udp_hello6(&p);

	f.n = 0; /* protocol field compressed to one byte */
	put16(&f, 0xff03);
	put8(&f, 0x21);
	put_buf(&f, &ip4);
	assert_int_equal(decode(LINK_PPP, &f, &p), DECODE_OK);
	assert_udp_hello4(&p);

	f.n = 0; /* MPLS over PPP */
	put16(&f, 0x0281);
	put32(&f, 0x00010140);
	put_buf(&f, &ip4);
	assert_int_equal(decode(LINK_PPP, &f, &p), DECODE_OK);
	assert_int_equal(p.n_mpls, 1);

	f.n = 0; /* LCP */
	put16(&f, 0xff03);
	put16(&f, 0xc021);
	put32(&f, 0x01010004);
	assert_int_equal(decode(LINK_PPP, &f, &p), DECODE_NOT_IP);

	f.n = 0;
	put16(&f, 0xff03);
	assert_int_equal(decode(LINK_PPP, &f, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_LINK_TRUNCATED);
}

static void test_linux_sll(void **state)
{
	(void)state;
	struct buf ip4 = ipv4_udp(HELLO, 5), ip6 = ipv6_udp();
	struct packet p;

	struct buf f = {.n = 0};
	put16(&f, 0); /* to us */
	put16(&f, 1); /* ARPHRD_ETHER */
	put16(&f, 6); /* address length */
	put_bytes(&f, MAC_A, 6);
	put16(&f, 0);      /* address padding */
	put16(&f, 0x0800); /* protocol */
	put_buf(&f, &ip4);
	assert_int_equal(decode(LINK_LINUX_SLL, &f, &p), DECODE_OK);
	assert_udp_hello4(&p);
	assert_false(p.has_mac);

	/* VLAN tags left in by the capture */
	f.n = 14;
	put16(&f, 0x8100);
	put16(&f, 33);
	put16(&f, 0x86dd);
	put_buf(&f, &ip6);
	assert_int_equal(decode(LINK_LINUX_SLL, &f, &p), DECODE_OK);
	assert_udp_hello6(&p);
	assert_int_equal(p.vlans[0], 33);

	f.n = 15;
	assert_int_equal(decode(LINK_LINUX_SLL, &f, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_LINK_TRUNCATED);
}

static void test_linux_sll2(void **state)
{
	(void)state;
	struct buf ip6 = ipv6_udp();
	struct packet p;

	struct buf f = {.n = 0};
	put16(&f, 0x86dd); /* protocol */
	put16(&f, 0);      /* reserved */
	put32(&f, 3);      /* interface index */
	put16(&f, 1);      /* ARPHRD_ETHER */
	put8(&f, 4);       /* outgoing */
	put8(&f, 6);
	put_bytes(&f, MAC_A, 6);
	put16(&f, 0);
	put_buf(&f, &ip6);
	assert_int_equal(decode(LINK_LINUX_SLL2, &f, &p), DECODE_OK);
	assert_udp_hello6(&p);

	f.n = 19;
	assert_int_equal(decode(LINK_LINUX_SLL2, &f, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_LINK_TRUNCATED);
}

static struct buf family_frame(uint32_t family, bool little_endian, const struct buf *ip)
{
	struct buf f = {.n = 0};
	if (little_endian)
		put32le(&f, family);
	else
		put32(&f, family);
	put_buf(&f, ip);
	return f;
}

static void test_null_both_byte_orders(void **state)
{
	(void)state;
	static const uint32_t inet6[] = {24, 28, 30};
	struct buf ip4 = ipv4_udp(HELLO, 5), ip6 = ipv6_udp();
	struct packet p;

	for (int order = 0; order < 2; order++) {
		struct buf f = family_frame(2, order, &ip4);
		assert_int_equal(decode(LINK_NULL, &f, &p), DECODE_OK);
		assert_udp_hello4(&p);
		for (size_t i = 0; i < 3; i++) {
			f = family_frame(inet6[i], order, &ip6);
			assert_int_equal(decode(LINK_NULL, &f, &p), DECODE_OK);
			assert_udp_hello6(&p);
		}
		f = family_frame(7, order, &ip4); /* AF_ISO or some such */
		assert_int_equal(decode(LINK_NULL, &f, &p), DECODE_NOT_IP);
	}
	struct buf f = family_frame(2, true, &ip4);
	f.n = 3;
	assert_int_equal(decode(LINK_NULL, &f, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_LINK_TRUNCATED);
}

static void test_loop_network_order(void **state)
{
	(void)state;
	static const uint32_t inet6[] = {24, 28, 30};
	struct buf ip4 = ipv4_udp(HELLO, 5), ip6 = ipv6_udp();
	struct packet p;

	struct buf f = family_frame(2, false, &ip4);
	assert_int_equal(decode(LINK_LOOP, &f, &p), DECODE_OK);
	assert_udp_hello4(&p);
	for (size_t i = 0; i < 3; i++) {
		f = family_frame(inet6[i], false, &ip6);
		assert_int_equal(decode(LINK_LOOP, &f, &p), DECODE_OK);
		assert_udp_hello6(&p);
	}
	/* LOOP is always network order: a little-endian 2 is not AF_INET */
	f = family_frame(2, true, &ip4);
	assert_int_equal(decode(LINK_LOOP, &f, &p), DECODE_NOT_IP);
}

static void test_raw_ip(void **state)
{
	(void)state;
	static const int raw_types[] = {LINK_RAW, LINK_RAW_DLT12, LINK_RAW_DLT14};
	struct buf ip4 = ipv4_udp(HELLO, 5), ip6 = ipv6_udp();
	struct packet p;

	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(decode(raw_types[i], &ip4, &p), DECODE_OK);
		assert_udp_hello4(&p);
		assert_int_equal(decode(raw_types[i], &ip6, &p), DECODE_OK);
		assert_udp_hello6(&p);
	}
	assert_int_equal(decode(LINK_IPV4, &ip4, &p), DECODE_OK);
	assert_udp_hello4(&p);
	assert_int_equal(decode(LINK_IPV6, &ip6, &p), DECODE_OK);
	assert_udp_hello6(&p);

	/* the link type says which version it must be */
	assert_int_equal(decode(LINK_IPV4, &ip6, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IP_BAD_VERSION);
	assert_int_equal(decode(LINK_IPV6, &ip4, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IP_BAD_VERSION);

	struct buf junk = ip4;
	junk.b[0] = 0x55;
	assert_int_equal(decode(LINK_RAW, &junk, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IP_BAD_VERSION);

	junk.n = 0;
	assert_int_equal(decode(LINK_RAW, &junk, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IP_TRUNCATED);
}

static void test_unknown_linktype(void **state)
{
	(void)state;
	struct buf ip4 = ipv4_udp(HELLO, 5);
	struct packet p;
	assert_int_equal(decode(127 /* radiotap */, &ip4, &p), DECODE_NOT_IP);
	assert_int_equal(p.error, DERR_UNKNOWN_LINKTYPE);

	static const int supported[] = {0, 1, 9, 12, 14, 51, 101, 108, 113, 228, 229, 276};
	for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
		assert_true(decode_linktype_supported(supported[i]));
	assert_false(decode_linktype_supported(127));
	assert_false(decode_linktype_supported(-1));
}

/* ---- IPv4 ---------------------------------------------------------------- */

static void test_ipv4_bad_headers(void **state)
{
	(void)state;
	struct packet p;
	struct buf ip = ipv4_udp(HELLO, 5);

	struct buf bad = ip;
	bad.b[0] = 0x44; /* IHL 4 */
	assert_int_equal(decode(LINK_RAW, &bad, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IP_BAD_HEADER_LENGTH);

	bad = ip;
	set16(&bad, 2, 19); /* total length below the header */
	assert_int_equal(decode(LINK_RAW, &bad, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IP_BAD_TOTAL_LENGTH);

	bad = ip;
	bad.b[0] = 0x4f; /* 60-byte header in a 33-byte datagram */
	assert_int_equal(decode(LINK_RAW, &bad, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IP_BAD_TOTAL_LENGTH);

	bad = ip;
	bad.b[0] = 0x4f;
	set16(&bad, 2, 60); /* header longer than the frame */
	assert_int_equal(decode(LINK_RAW, &bad, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IP_TRUNCATED);

	/* Ethernet with IPv6 ethertype but an IPv4 packet */
	struct buf f = ethernet(0x86dd, &ip);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IP_BAD_VERSION);
}

static void test_ipv4_options(void **state)
{
	(void)state;
	struct buf ip = {.n = 0};
	put8(&ip, 0x46); /* 24-byte header */
	put8(&ip, 0);
	put16(&ip, 24 + 8 + 5);
	put16(&ip, 1);
	put16(&ip, 0);
	put8(&ip, 1);
	put8(&ip, 17);
	put16(&ip, 0);
	put_bytes(&ip, SRC4, 4);
	put_bytes(&ip, DST4, 4);
	put32(&ip, 0x94040000); /* router alert */
	put_udp(&ip, HELLO, 5);
	struct packet p;
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_OK);
	assert_int_equal(p.ip_header_len, 24);
	assert_int_equal(p.payload_len, 5);
	assert_memory_equal(p.payload, HELLO, 5);
}

static void test_ipv4_total_length_zero_is_tso(void **state)
{
	(void)state;
	struct buf ip = ipv4_tcp(TCP_ACK, NULL, 0, 100);
	set16(&ip, 2, 0);
	struct packet p;
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_OK);
	assert_int_equal(p.payload_len, 100);
	assert_int_equal(p.payload_wire_len, 100);
	assert_int_equal(p.ip_len, 140);
	assert_int_equal(p.error, DERR_NONE);
}

static void test_ipv4_length_past_unsnapped_frame(void **state)
{
	(void)state;
	/* an old trace's frame: the IP header says 60 more bytes than the frame
	 * holds, yet caplen == wirelen */
	struct buf ip = ipv4_tcp(TCP_PSH | TCP_ACK, NULL, 0, 10);
	set16(&ip, 2, 40 + 70);
	struct packet p;
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_OK);
	assert_int_equal(p.error, DERR_IP_BAD_TOTAL_LENGTH);
	assert_true(p.snap_truncated);
	assert_int_equal(p.payload_len, 10);
	assert_int_equal(p.payload_wire_len, 70);
	assert_int_equal(p.ip_len, 50);
}

static void test_ipv4_fragments(void **state)
{
	(void)state;
	struct packet p;
	struct buf ip = {.n = 0};
	put_ipv4(&ip, 17, 16, 0xbeef, 0x2000); /* MF, offset 0 */
	put_udp(&ip, "12345678", 8);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_FRAGMENT);
	assert_int_equal(p.frag_id, 0xbeef);
	assert_int_equal(p.frag_offset, 0);
	assert_true(p.frag_more);
	assert_int_equal(p.frag_len, 16);
	assert_ptr_equal(p.frag_data, ip.b + 20);
	assert_int_equal(p.frag_next_header, 17);
	assert_int_equal(p.frag_unfrag_len, 20);
	assert_int_equal(p.ip_proto, 17);
	assert_int_equal(p.sport, 0); /* the transport is not decoded */

	ip.n = 0;
	put_ipv4(&ip, 17, 8, 0xbeef, 0x4000 | 2); /* DF (ignored), offset 16 bytes, last */
	put32(&ip, 1);
	put32(&ip, 2);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_FRAGMENT);
	assert_int_equal(p.frag_offset, 16);
	assert_false(p.frag_more);
	assert_int_equal(p.frag_len, 8);

	/* DF alone is not a fragment */
	ip = ipv4_tcp(TCP_ACK, NULL, 0, 0);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_OK);
}

static void test_unsupported_transports(void **state)
{
	(void)state;
	struct packet p;
	struct buf ip = {.n = 0};
	put_ipv4(&ip, 1, 8, 9, 0); /* ICMP echo: decoded now (tests/test_icmp.c has more) */
	put32(&ip, 0x08000000);
	put32(&ip, 0x00010001);
	struct buf f = ethernet(0x0800, &ip);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_int_equal(p.ip_version, 4);
	assert_int_equal(p.ip_proto, 1);
	assert_memory_equal(p.src.b, SRC4, 4);
	assert_int_equal(p.icmp_type, 8);
	assert_true(p.icmp_query);
	assert_int_equal(p.sport, 1);
	assert_int_equal(p.icmp_seq, 1);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.error, DERR_NONE);

	ip.n = 0;
	put_ipv4(&ip, 47, 4, 9, 0); /* GRE */
	put32(&ip, 0x00000800);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_UNSUPPORTED);
	assert_int_equal(p.ip_proto, 47);

	ip.n = 0;
	put_ipv6(&ip, 58, 8); /* ICMPv6 echo request */
	put32(&ip, 0x80000000);
	put32(&ip, 0);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_OK);
	assert_int_equal(p.ip_proto, 58);
	assert_int_equal(p.icmp_type, 128);
	assert_int_equal(p.payload_len, 0);

	ip.n = 0;
	put_ipv6(&ip, 1, 8); /* ICMPv4 over IPv6: nobody's protocol */
	put32(&ip, 0x08000000);
	put32(&ip, 0);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_UNSUPPORTED);
	assert_int_equal(p.ip_proto, 1);
	assert_int_equal(p.payload_len, 8);
}

static void test_tunnels(void **state)
{
	(void)state;
	struct packet p;
	struct buf inner6 = ipv6_udp();
	struct buf ip = {.n = 0};
	put_ipv4(&ip, 41, inner6.n, 3, 0); /* 6in4 */
	put_buf(&ip, &inner6);
	struct buf f = ethernet(0x0800, &ip);
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_udp_hello6(&p);
	assert_ptr_equal(p.ip_start, f.b + 34);
	assert_int_equal(p.ip_len, inner6.n);

	struct buf inner4 = ipv4_udp(HELLO, 5);
	ip.n = 0;
	put_ipv4(&ip, 4, inner4.n, 3, 0); /* IPv4 in IPv4 */
	put_buf(&ip, &inner4);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_OK);
	assert_udp_hello4(&p);

	ip.n = 0;
	put_ipv6(&ip, 4, inner4.n); /* IPv4 in IPv6 */
	put_buf(&ip, &inner4);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_OK);
	assert_udp_hello4(&p);

	/* the inner header must match the tunnel */
	ip.n = 0;
	put_ipv4(&ip, 41, inner4.n, 3, 0);
	put_buf(&ip, &inner4);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IP_BAD_VERSION);

	/* an inner datagram longer than the outer one carries */
	ip.n = 0;
	put_ipv4(&ip, 41, inner6.n - 8, 3, 0);
	put_bytes(&ip, inner6.b, inner6.n - 8);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_UDP_TRUNCATED);
	assert_true(p.snap_truncated);

	/* tunnels nested past the limit */
	struct buf nest = inner4;
	for (int i = 0; i < 17; i++) {
		struct buf outer = {.n = 0};
		put_ipv4(&outer, 4, nest.n, 3, 0);
		put_buf(&outer, &nest);
		nest = outer;
	}
	assert_int_equal(decode(LINK_RAW, &nest, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_TOO_MANY_ENCAPSULATIONS);
}

/* ---- IPv6 extension headers ---------------------------------------------- */

/* An extension header of the (len+1)*8 kind, total bytes long. */
static void put_ext8(struct buf *b, unsigned next, size_t total)
{
	put8(b, next);
	put8(b, (unsigned)(total / 8 - 1));
	for (size_t i = 2; i < total; i++)
		put8(b, i == 2 ? 1 : 0); /* a PadN option then zeros */
}

static void test_ipv6_extension_headers(void **state)
{
	(void)state;
	struct packet p;
	struct buf ip = {.n = 0};
	/* Hop-by-Hop (8) -> Routing (24) -> Destination Options (16) -> UDP */
	put_ipv6(&ip, 0, 8 + 24 + 16 + 13);
	put_ext8(&ip, 43, 8);
	put_ext8(&ip, 60, 24);
	put_ext8(&ip, 17, 16);
	put_udp(&ip, HELLO, 5);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_OK);
	assert_udp_hello6(&p);
	assert_int_equal(p.ip_header_len, 40 + 48);
	assert_int_equal(p.ip_len, ip.n);

	/* AH counts in 4-byte words, minus 2: len 4 is 24 bytes */
	ip.n = 0;
	put_ipv6(&ip, 51, 24 + 13);
	put8(&ip, 17);
	put8(&ip, 4);
	put16(&ip, 0);
	put32(&ip, 0x1000); /* SPI */
	put32(&ip, 1);      /* sequence */
	for (int i = 0; i < 12; i++)
		put8(&ip, 0xaa); /* ICV */
	put_udp(&ip, HELLO, 5);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_OK);
	assert_udp_hello6(&p);
	assert_int_equal(p.ip_header_len, 64);

	/* ESP: opaque, whatever follows */
	ip.n = 0;
	put_ipv6(&ip, 0, 8 + 24);
	put_ext8(&ip, 50, 8);
	put32(&ip, 0x0e51);
	put32(&ip, 1);
	for (int i = 0; i < 16; i++)
		put8(&ip, 0x11);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_UNSUPPORTED);
	assert_int_equal(p.ip_proto, 50);
	assert_int_equal(p.ip_header_len, 48);
	assert_int_equal(p.payload_len, 24);
	assert_int_equal(p.sport, 0);

	/* No Next Header */
	ip.n = 0;
	put_ipv6(&ip, 60, 8);
	put_ext8(&ip, 59, 8);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_UNSUPPORTED);
	assert_int_equal(p.ip_proto, 59);
	assert_int_equal(p.payload_len, 0);
}

static void test_ipv6_extension_errors(void **state)
{
	(void)state;
	struct packet p;
	struct buf ip = {.n = 0};

	/* too many */
	put_ipv6(&ip, 60, 9 * 8 + 13);
	for (int i = 0; i < 9; i++)
		put_ext8(&ip, i < 8 ? 60 : 17, 8);
	put_udp(&ip, HELLO, 5);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IPV6_TOO_MANY_EXTENSIONS);

	/* eight is fine */
	ip.n = 0;
	put_ipv6(&ip, 60, 8 * 8 + 13);
	for (int i = 0; i < 8; i++)
		put_ext8(&ip, i < 7 ? 60 : 17, 8);
	put_udp(&ip, HELLO, 5);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_OK);

	/* an extension longer than the payload length (frame has the bytes) */
	ip.n = 0;
	put_ipv6(&ip, 60, 16);
	put_ext8(&ip, 17, 32);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IPV6_BAD_EXTENSION);

	/* payload length 1: not even the two bytes of an extension header */
	ip.n = 0;
	put_ipv6(&ip, 0, 1);
	put_ext8(&ip, 17, 8);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IPV6_BAD_EXTENSION);

	/* bad version */
	ip = ipv6_udp();
	ip.b[0] = 0x70;
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IP_BAD_VERSION);
}

static void put_frag_header(struct buf *b, unsigned next, unsigned offset, bool more, uint32_t id)
{
	put8(b, next);
	put8(b, 0);
	put16(b, offset | (more ? 1 : 0));
	put32(b, id);
}

static void test_ipv6_fragments(void **state)
{
	(void)state;
	struct packet p;
	struct buf ip = {.n = 0};
	put_ipv6(&ip, 44, 8 + 16);
	put_frag_header(&ip, 17, 0, true, 0xcafe0001);
	put_udp(&ip, "12345678", 8);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_FRAGMENT);
	assert_int_equal(p.frag_id, 0xcafe0001);
	assert_int_equal(p.frag_offset, 0);
	assert_true(p.frag_more);
	assert_int_equal(p.frag_next_header, 17);
	assert_int_equal(p.frag_unfrag_len, 40);
	assert_int_equal(p.frag_nh_offset, 6);
	assert_int_equal(p.frag_len, 16);
	assert_ptr_equal(p.frag_data, ip.b + 48);

	/* after a Hop-by-Hop header: the byte naming the fragment header moves */
	ip.n = 0;
	put_ipv6(&ip, 0, 8 + 8 + 8);
	put_ext8(&ip, 44, 8);
	put_frag_header(&ip, 17, 1448, false, 7);
	put32(&ip, 1);
	put32(&ip, 2);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_FRAGMENT);
	assert_int_equal(p.frag_offset, 1448);
	assert_false(p.frag_more);
	assert_int_equal(p.frag_unfrag_len, 48);
	assert_int_equal(p.frag_nh_offset, 40);
	assert_int_equal(p.frag_len, 8);

	/* an atomic fragment (offset 0, no more) is an ordinary packet */
	ip.n = 0;
	put_ipv6(&ip, 44, 8 + 13);
	put_frag_header(&ip, 17, 0, false, 9);
	put_udp(&ip, HELLO, 5);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_OK);
	assert_udp_hello6(&p);
	assert_int_equal(p.ip_header_len, 48);
}

/* ---- UDP and TCP lengths -------------------------------------------------- */

static void test_udp_bad_length(void **state)
{
	(void)state;
	struct packet p;

	/* shorter than the IP payload: legal, the rest is not UDP's */
	struct buf ip = ipv4_udp("hello world", 11);
	set16(&ip, 24, 8 + 5);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_OK);
	assert_int_equal(p.error, DERR_NONE);
	assert_int_equal(p.payload_len, 5);
	assert_int_equal(p.payload_wire_len, 5);

	/* longer than the IP payload: counted, delivered per the IP length */
	set16(&ip, 24, 500);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_OK);
	assert_int_equal(p.error, DERR_UDP_BAD_LENGTH);
	assert_int_equal(p.payload_len, 11);
	assert_int_equal(p.payload_wire_len, 11);

	/* below the header size (0 in jumbograms) */
	set16(&ip, 24, 0);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_OK);
	assert_int_equal(p.error, DERR_UDP_BAD_LENGTH);
	assert_int_equal(p.payload_len, 11);
	assert_memory_equal(p.payload, "hello world", 11);

	/* an IP payload too short for the UDP header */
	ip = ipv4_udp("", 0);
	set16(&ip, 2, 20 + 6);
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_UDP_TRUNCATED);
}

static void test_tcp_bad_header_length(void **state)
{
	(void)state;
	struct packet p;
	struct buf ip = ipv4_tcp(TCP_ACK, NULL, 0, 8);
	ip.b[32] = 4 << 4;
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_TCP_BAD_HEADER_LENGTH);
	assert_int_equal(p.sport, 40000); /* decoded as far as it goes */

	ip.b[32] = 15 << 4; /* 60 bytes of header in a 28-byte segment */
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_TCP_BAD_HEADER_LENGTH);

	ip.b[32] = 7 << 4; /* 28: all of it header */
	assert_int_equal(decode(LINK_RAW, &ip, &p), DECODE_OK);
	assert_int_equal(p.payload_len, 0);
}

/* ---- truncation and the snaplen ------------------------------------------- */

/* Cuts a valid frame at every length: first as a frame that is simply that
 * long (caplen == wirelen), then as a snaplen cut (wirelen the full length).
 * headers[] gives where link, IP and transport headers end. */
static void cut_everywhere(int linktype, const struct buf *f, size_t link_end, size_t ip_end,
                           size_t transport_end, enum decode_error transport_error)
{
	struct packet p;
	for (size_t k = 0; k < f->n; k++) {
		for (int snapped = 0; snapped < 2; snapped++) {
			enum decode_status st =
			    decode_exact(linktype, f, k, snapped ? f->n : k, &p);
			if (k < link_end) {
				assert_int_equal(st, DECODE_MALFORMED);
				assert_int_equal(p.error, DERR_LINK_TRUNCATED);
			} else if (k < ip_end) {
				assert_int_equal(st, DECODE_MALFORMED);
				assert_int_equal(p.error, DERR_IP_TRUNCATED);
			} else if (k < transport_end) {
				assert_int_equal(st, DECODE_MALFORMED);
				assert_int_equal(p.error, transport_error);
				assert_int_not_equal(p.ip_version, 0);
				assert_true(p.snap_truncated);
			} else {
				assert_int_equal(st, DECODE_OK);
				assert_int_equal(p.error,
				                 snapped ? DERR_NONE : DERR_IP_BAD_TOTAL_LENGTH);
				assert_int_equal(p.payload_len, k - transport_end);
				assert_int_equal(p.payload_wire_len, f->n - transport_end);
				assert_true(p.snap_truncated);
			}
			if (snapped)
				assert_true(p.snap_truncated);
		}
	}
	assert_int_equal(decode_exact(linktype, f, f->n, f->n, &p), DECODE_OK);
	assert_false(p.snap_truncated);
}

static void test_truncated_at_every_offset(void **state)
{
	(void)state;
	static const uint8_t opts[] = {2, 4, 0x05, 0xb4, 1, 3, 3, 2};
	struct buf tcp4 = ipv4_tcp(TCP_SYN, opts, sizeof(opts), 12);
	struct buf f = ethernet(0x0800, &tcp4);
	cut_everywhere(LINK_ETHERNET, &f, 14, 34, 34 + 28, DERR_TCP_TRUNCATED);

	struct buf udp4 = ipv4_udp("0123456789", 10);
	f = ethernet(0x0800, &udp4);
	cut_everywhere(LINK_ETHERNET, &f, 14, 34, 42, DERR_UDP_TRUNCATED);

	struct buf tcp6 = {.n = 0};
	put_ipv6(&tcp6, 6, 20 + 8 + 6);
	put_tcp(&tcp6, TCP_SYN, opts, sizeof(opts), "abcdef", 6);
	f = ethernet(0x86dd, &tcp6);
	cut_everywhere(LINK_ETHERNET, &f, 14, 54, 54 + 28, DERR_TCP_TRUNCATED);

	struct buf udp6 = ipv6_udp();
	f = ethernet(0x86dd, &udp6);
	cut_everywhere(LINK_ETHERNET, &f, 14, 54, 62, DERR_UDP_TRUNCATED);

	/* with VLAN and PPPoE in front */
	struct buf v = {.n = 0};
	put_ethernet(&v, 0x8100);
	put16(&v, 9);
	put16(&v, 0x0800);
	put_buf(&v, &udp4);
	cut_everywhere(LINK_ETHERNET, &v, 18, 38, 46, DERR_UDP_TRUNCATED);
	struct buf pp = pppoe_frame(0x0021, &udp4);
	cut_everywhere(LINK_ETHERNET, &pp, 22, 42, 50, DERR_UDP_TRUNCATED);
}

static void test_ipv6_extensions_cut_by_snaplen(void **state)
{
	(void)state;
	struct buf ip = {.n = 0};
	put_ipv6(&ip, 0, 8 + 24 + 13);
	put_ext8(&ip, 60, 8);
	put_ext8(&ip, 17, 24);
	put_udp(&ip, HELLO, 5);
	struct packet p;
	for (size_t k = 40; k < 40 + 32; k++) {
		assert_int_equal(decode_exact(LINK_RAW, &ip, k, ip.n, &p), DECODE_MALFORMED);
		assert_int_equal(p.error, DERR_IP_TRUNCATED);
		assert_true(p.snap_truncated);
	}
	for (size_t k = 40 + 32; k < 40 + 32 + 8; k++) {
		assert_int_equal(decode_exact(LINK_RAW, &ip, k, ip.n, &p), DECODE_MALFORMED);
		assert_int_equal(p.error, DERR_UDP_TRUNCATED);
	}
}

static void test_snaplen_cut_payload(void **state)
{
	(void)state;
	struct buf ip = ipv4_tcp(TCP_ACK, NULL, 0, 100);
	struct buf f = ethernet(0x0800, &ip);
	struct packet p;
	assert_int_equal(decode_packet(LINK_ETHERNET, f.b, 54 + 30, (uint32_t)f.n, 1, &p),
	                 DECODE_OK);
	assert_true(p.snap_truncated);
	assert_int_equal(p.error, DERR_NONE);
	assert_int_equal(p.payload_len, 30);
	assert_int_equal(p.payload_wire_len, 100);
	assert_int_equal(p.ip_len, 40 + 30);
	assert_int_equal(p.caplen, 84);
	assert_int_equal(p.wirelen, f.n);

	/* the snaplen cut only the Ethernet padding: nothing is missing */
	struct buf small = ipv4_udp("x", 1);
	f = ethernet(0x0800, &small);
	size_t datagram_end = f.n;
	while (f.n < 60)
		put8(&f, 0);
	assert_int_equal(
	    decode_packet(LINK_ETHERNET, f.b, (uint32_t)datagram_end, (uint32_t)f.n, 1, &p),
	    DECODE_OK);
	assert_false(p.snap_truncated);
	assert_int_equal(p.payload_len, 1);
}

/* ---- decode_ip, names, checksum, garbage ----------------------------------- */

static void test_decode_ip_keeps_link_fields(void **state)
{
	(void)state;
	struct buf ip = ipv4_tcp(TCP_SYN, NULL, 0, 3);
	struct buf f = {.n = 0};
	put_ethernet(&f, 0x8100);
	put16(&f, 42);
	put16(&f, 0x0800);
	put_buf(&f, &ip);
	struct packet p;
	assert_int_equal(decode(LINK_ETHERNET, &f, &p), DECODE_OK);
	assert_int_equal(p.sport, 40000);

	struct buf other = ipv6_udp();
	assert_int_equal(decode_ip(other.b, other.n, &p), DECODE_OK);
	assert_udp_hello6(&p);
	assert_int_equal(p.tcp_flags, 0);
	assert_int_equal(p.seq, 0);
	assert_int_equal(p.tcp_wscale, 0xff);
	assert_true(p.has_mac);
	assert_memory_equal(p.src_mac, MAC_A, 6);
	assert_int_equal(p.n_vlans, 1);
	assert_int_equal(p.vlans[0], 42);
	assert_int_equal(p.ts, 42);
	assert_int_equal(p.linktype, LINK_ETHERNET);

	assert_int_equal(decode_ip(other.b, 10, &p), DECODE_MALFORMED);
	assert_int_equal(p.error, DERR_IP_TRUNCATED);
	assert_int_equal(decode_ip(NULL, 0, &p), DECODE_MALFORMED);
}

static void test_error_names(void **state)
{
	(void)state;
	for (int i = 0; i < DERR_COUNT; i++) {
		const char *name = decode_error_name((enum decode_error)i);
		assert_non_null(name);
		assert_string_not_equal(name, "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(name, decode_error_name((enum decode_error)j));
	}
	assert_string_equal(decode_error_name(DERR_NONE), "none");
	assert_string_equal(decode_error_name(DERR_UDP_BAD_LENGTH), "udp_bad_length");
	assert_string_equal(decode_error_name(DERR_COUNT), "unknown");
	assert_string_equal(decode_error_name((enum decode_error) - 1), "unknown");
}

static void test_checksum(void **state)
{
	(void)state;
	/* RFC 1071 section 3's example */
	static const uint8_t rfc[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	assert_int_equal(inet_checksum_finish(inet_checksum_add(0, rfc, sizeof(rfc))), 0xddf2);
	/* in two pieces */
	uint32_t sum = inet_checksum_add(0, rfc, 4);
	assert_int_equal(inet_checksum_finish(inet_checksum_add(sum, rfc + 4, 4)), 0xddf2);
	/* an odd length pads with a zero byte */
	static const uint8_t odd[] = {0x12, 0x34, 0x56};
	assert_int_equal(inet_checksum_finish(inet_checksum_add(0, odd, 3)), 0x6834);
	/* a header with its checksum sums to 0xffff */
	struct buf ip = ipv4_udp(HELLO, 5);
	assert_int_equal(inet_checksum_finish(inet_checksum_add(0, ip.b, 20)), 0xffff);
	/* many 0xffff words do not overflow */
	static uint8_t ones[200000];
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(inet_checksum_finish(inet_checksum_add(0, ones, sizeof(ones))), 0xffff);
}

/* A small deterministic generator: the same garbage on every run. */
static uint32_t next_random(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_garbage_never_crashes(void **state)
{
	(void)state;
	static const int links[] = {0, 1, 9, 12, 14, 51, 101, 108, 113, 228, 229, 276};
	struct buf seeds[4];
	struct buf ip4 = ipv4_tcp(TCP_SYN, NULL, 0, 20), ip6 = ipv6_udp();
	seeds[0] = ethernet(0x0800, &ip4);
	seeds[1] = ethernet(0x86dd, &ip6);
	seeds[2] = mpls_frame(0x8847, 2, true, &ip4);
	seeds[3] = pppoe_frame(0x0057, &ip6);
	uint32_t rnd = 0x12345678;
	struct packet p;

	for (int round = 0; round < 20000; round++) {
		struct buf b = seeds[round % 4];
		int flips = 1 + (int)(next_random(&rnd) % 8);
		for (int i = 0; i < flips; i++)
			b.b[next_random(&rnd) % b.n] ^= (uint8_t)(1u << (next_random(&rnd) % 8));
		size_t len = next_random(&rnd) % (b.n + 1);
		int link = links[next_random(&rnd) % (sizeof(links) / sizeof(links[0]))];
		if (round % 3 == 0)
			link = LINK_ETHERNET;
		enum decode_status st = decode_exact(link, &b, len, b.n, &p);
		assert_true(st <= DECODE_MALFORMED);
		assert_true(p.error < DERR_COUNT);
		assert_true(p.payload_len <= p.payload_wire_len);
		assert_true(p.ip_len <= len);
	}
	for (int round = 0; round < 5000; round++) {
		struct buf b = {.n = 1 + next_random(&rnd) % 200};
		for (size_t i = 0; i < b.n; i++)
			b.b[i] = (uint8_t)next_random(&rnd);
		int link = links[round % (sizeof(links) / sizeof(links[0]))];
		decode_exact(link, &b, b.n, b.n, &p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ethernet_ipv4_udp),
	    cmocka_unit_test(test_ethernet_padding_is_not_payload),
	    cmocka_unit_test(test_ethernet_not_ip),
	    cmocka_unit_test(test_ethernet_ipv6_tcp),
	    cmocka_unit_test(test_tcp_window_scale),
	    cmocka_unit_test(test_vlan_single),
	    cmocka_unit_test(test_qinq_stacks),
	    cmocka_unit_test(test_vlan_limits),
	    cmocka_unit_test(test_mpls),
	    cmocka_unit_test(test_pppoe),
	    cmocka_unit_test(test_ppp),
	    cmocka_unit_test(test_linux_sll),
	    cmocka_unit_test(test_linux_sll2),
	    cmocka_unit_test(test_null_both_byte_orders),
	    cmocka_unit_test(test_loop_network_order),
	    cmocka_unit_test(test_raw_ip),
	    cmocka_unit_test(test_unknown_linktype),
	    cmocka_unit_test(test_ipv4_bad_headers),
	    cmocka_unit_test(test_ipv4_options),
	    cmocka_unit_test(test_ipv4_total_length_zero_is_tso),
	    cmocka_unit_test(test_ipv4_length_past_unsnapped_frame),
	    cmocka_unit_test(test_ipv4_fragments),
	    cmocka_unit_test(test_unsupported_transports),
	    cmocka_unit_test(test_tunnels),
	    cmocka_unit_test(test_ipv6_extension_headers),
	    cmocka_unit_test(test_ipv6_extension_errors),
	    cmocka_unit_test(test_ipv6_fragments),
	    cmocka_unit_test(test_udp_bad_length),
	    cmocka_unit_test(test_tcp_bad_header_length),
	    cmocka_unit_test(test_truncated_at_every_offset),
	    cmocka_unit_test(test_ipv6_extensions_cut_by_snaplen),
	    cmocka_unit_test(test_snaplen_cut_payload),
	    cmocka_unit_test(test_decode_ip_keeps_link_fields),
	    cmocka_unit_test(test_error_names),
	    cmocka_unit_test(test_checksum),
	    cmocka_unit_test(test_garbage_never_crashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
