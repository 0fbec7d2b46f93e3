/* shard.c: which worker owns a packet.  The hash is symmetric, leaves the
 * ports out (fragments), sends DHCP and DHCPv6 to worker 0 and ICMP errors
 * to the owner of the flow they quote; and the classic BPF program for the
 * live fanout computes the same thing, checked by running it here on a
 * small interpreter of the instructions it uses (with the kernel's
 * SKF_NET_OFF and SKF_AD_PROTOCOL meanings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/filter.h>

#include "portolan/decode.h"
#include "portolan/shard.h"

/* ---- frames built byte by byte ---- */

struct frame {
	uint8_t b[1600];
	size_t n;
	size_t net; /* where the IP header starts */
	uint16_t ethertype;
};

static void put8(struct frame *f, unsigned v)
{
	assert_true(f->n < sizeof f->b);
	f->b[f->n++] = (uint8_t)v;
}

static void put16(struct frame *f, unsigned v)
{
	put8(f, (v >> 8) & 0xff);
	put8(f, v & 0xff);
}

static void put(struct frame *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(f, p[i]);
}

static void ether(struct frame *f, uint16_t type)
{
	memset(f, 0, sizeof *f);
	for (int i = 0; i < 12; i++)
		put8(f, i);
	put16(f, type);
	f->net = f->n;
	f->ethertype = type;
}

/* An IPv4 header (checksum left 0: nothing here checks it). */
static void ipv4_header(struct frame *f, const uint8_t src[4], const uint8_t dst[4], unsigned proto,
                        size_t payload, unsigned frag)
{
	put8(f, 0x45);
	put8(f, 0);
	put16(f, (unsigned)(20 + payload));
	put16(f, 0x1234);
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	put(f, src, 4);
	put(f, dst, 4);
}

static void ipv6_header(struct frame *f, const uint8_t src[16], const uint8_t dst[16],
                        unsigned next, size_t payload)
{
	put8(f, 0x60);
	put8(f, 0);
	put16(f, 0);
	put16(f, (unsigned)payload);
	put8(f, next);
	put8(f, 64);
	put(f, src, 16);
	put(f, dst, 16);
}

static void ports(struct frame *f, unsigned sp, unsigned dp, size_t len)
{
	put16(f, sp);
	put16(f, dp);
	put16(f, (unsigned)len);
	put16(f, 0);
}

static void udp4(struct frame *f, const uint8_t s[4], const uint8_t d[4], unsigned sp, unsigned dp)
{
	ether(f, 0x0800);
	ipv4_header(f, s, d, 17, 12, 0);
	ports(f, sp, dp, 12);
	put(f, (const uint8_t *)"ping", 4);
}

static void tcp4(struct frame *f, const uint8_t s[4], const uint8_t d[4], unsigned sp, unsigned dp)
{
	ether(f, 0x0800);
	ipv4_header(f, s, d, 6, 20, 0);
	put16(f, sp);
	put16(f, dp);
	for (int i = 0; i < 8; i++)
		put8(f, 0);
	put8(f, 0x50);
	put8(f, 0x02);
	put16(f, 65535);
	put16(f, 0);
	put16(f, 0);
}

static void udp6(struct frame *f, const uint8_t s[16], const uint8_t d[16], unsigned sp,
                 unsigned dp)
{
	ether(f, 0x86dd);
	ipv6_header(f, s, d, 17, 12);
	ports(f, sp, dp, 12);
	put(f, (const uint8_t *)"ping", 4);
}

static const uint8_t A4[4] = {10, 0, 0, 1}, B4[4] = {10, 0, 0, 2}, C4[4] = {192, 168, 7, 9},
                     R4[4] = {172, 16, 0, 254}, ZERO4[4] = {0, 0, 0, 0},
                     BCAST4[4] = {255, 255, 255, 255};
static const uint8_t A6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1},
                     B6[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = 0xab, [15] = 2},
                     R6[16] = {0xfe, 0x80, [15] = 0x99}, LL6[16] = {0xfe, 0x80, [8] = 2, [15] = 5},
                     DHCP6_MC[16] = {0xff, 0x02, [13] = 1, [15] = 2};

/* ---- a classic BPF interpreter for what shard_cbpf emits ---- */

static bool load(const struct frame *f, uint32_t k, int32_t x, size_t size, uint32_t *out)
{
	int64_t at = (int64_t)(int32_t)k + x;
	if ((int32_t)k == SKF_AD_OFF + SKF_AD_PROTOCOL) {
		*out = f->ethertype;
		return true;
	}
	assert_true(at >= SKF_NET_OFF && at < SKF_AD_OFF); /* it reads the network header only */
	size_t off = f->net + (size_t)(at - SKF_NET_OFF);
	if (off + size > f->n)
		return false;
	uint32_t v = 0;
	for (size_t i = 0; i < size; i++)
		v = v << 8 | f->b[off + i];
	*out = v;
	return true;
}

static uint32_t run_cbpf(const struct frame *f)
{
	struct sock_filter prog[256];
	size_t n = shard_cbpf(prog, 256);
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
	assert_true(n > 0);
	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *in = &prog[pc];
		uint32_t v;
		size_t size = BPF_SIZE(in->code) == BPF_W ? 4 : BPF_SIZE(in->code) == BPF_H ? 2 : 1;
		switch (BPF_CLASS(in->code)) {
		case BPF_LD:
			if (BPF_MODE(in->code) == BPF_MEM) {
				a = mem[in->k];
				break;
			}
			if (!load(f, in->k, BPF_MODE(in->code) == BPF_IND ? (int32_t)x : 0, size,
			          &v))
				return 0; /* the kernel ends the program with 0 */
			a = v;
			break;
		case BPF_LDX:
			if (BPF_MODE(in->code) == BPF_MEM) {
				x = mem[in->k];
				break;
			}
			assert_int_equal(BPF_MODE(in->code), BPF_MSH);
			if (!load(f, in->k, 0, 1, &v))
				return 0;
			x = (v & 0xf) * 4;
			break;
		case BPF_ST:
			mem[in->k] = a;
			break;
		case BPF_MISC:
			assert_int_equal(BPF_MISCOP(in->code), BPF_TAX);
			x = a;
			break;
		case BPF_ALU: {
			uint32_t o = BPF_SRC(in->code) == BPF_X ? x : in->k;
			switch (BPF_OP(in->code)) {
			case BPF_XOR:
				a ^= o;
				break;
			case BPF_SUB:
				a -= o;
				break;
			case BPF_RSH:
				a >>= o;
				break;
			case BPF_MUL:
				a *= o;
				break;
			default:
				fail_msg("ALU op %#x", BPF_OP(in->code));
			}
			break;
		}
		case BPF_JMP: {
			bool t = false;
			switch (BPF_OP(in->code)) {
			case BPF_JA:
				pc += in->k;
				continue;
			case BPF_JEQ:
				t = a == in->k;
				break;
			case BPF_JGT:
				t = a > in->k;
				break;
			case BPF_JGE:
				t = a >= in->k;
				break;
			case BPF_JSET:
				t = (a & in->k) != 0;
				break;
			default:
				fail_msg("jump op %#x", BPF_OP(in->code));
			}
			pc += t ? in->jt : in->jf;
			assert_true(pc < n);
			break;
		}
		case BPF_RET:
			return BPF_RVAL(in->code) == BPF_A ? a : in->k;
		default:
			fail_msg("class %#x", BPF_CLASS(in->code));
		}
	}
	fail_msg("the program ran off its end");
	return 0;
}

/* ---- checks ---- */

static unsigned shard(const struct frame *f, unsigned n)
{
	return shard_of(LINK_ETHERNET, f->b, (uint32_t)f->n, (uint32_t)f->n, n);
}

/* The user-space hash and the kernel's program agree for every group size. */
static void same_in_kernel(const struct frame *f)
{
	uint32_t k = run_cbpf(f);
	for (unsigned n = 2; n <= 8; n++)
		assert_int_equal(k % n, shard(f, n));
}

static unsigned pair4(const uint8_t *a, const uint8_t *b, unsigned n)
{
	struct ip_addr x = {.version = 4}, y = {.version = 4};
	memcpy(x.b, a, 4);
	memcpy(y.b, b, 4);
	return shard_pair_hash(&x, &y) % n;
}

static unsigned pair6(const uint8_t *a, const uint8_t *b, unsigned n)
{
	struct ip_addr x = {.version = 6}, y = {.version = 6};
	memcpy(x.b, a, 16);
	memcpy(y.b, b, 16);
	return shard_pair_hash(&x, &y) % n;
}

static void test_symmetric_v4(void **state)
{
	(void)state;
	struct frame ab, ba, other_ports;
	tcp4(&ab, A4, C4, 40000, 80);
	tcp4(&ba, C4, A4, 80, 40000);
	tcp4(&other_ports, A4, C4, 51234, 443);
	for (unsigned n = 1; n <= 16; n++) {
		assert_int_equal(shard(&ab, n), shard(&ba, n));
		assert_int_equal(shard(&ab, n), shard(&other_ports, n)); /* ports left out */
		assert_int_equal(shard(&ab, n), pair4(A4, C4, n));
		assert_true(shard(&ab, n) < n);
	}
	same_in_kernel(&ab);
	same_in_kernel(&ba);
}

static void test_symmetric_v6(void **state)
{
	(void)state;
	struct frame ab, ba;
	udp6(&ab, A6, B6, 40000, 53);
	udp6(&ba, B6, A6, 53, 40000);
	for (unsigned n = 1; n <= 16; n++) {
		assert_int_equal(shard(&ab, n), shard(&ba, n));
		assert_int_equal(shard(&ab, n), pair6(A6, B6, n));
	}
	same_in_kernel(&ab);
	same_in_kernel(&ba);
}

/* Many pairs spread over the workers (no worker left empty). */
static void test_spreads(void **state)
{
	(void)state;
	unsigned count[4] = {0};
	for (unsigned i = 0; i < 400; i++) {
		uint8_t a[4] = {10, 1, (uint8_t)(i >> 8), (uint8_t)i}, b[4] = {10, 2, 0, 1};
		struct frame f;
		udp4(&f, a, b, 1000 + i, 9999);
		count[shard(&f, 4)]++;
		if (i % 50 == 0)
			same_in_kernel(&f);
	}
	for (int w = 0; w < 4; w++)
		assert_true(count[w] > 50);
}

static void test_fragments_v4(void **state)
{
	(void)state;
	struct frame first, later, whole;
	udp4(&whole, A4, C4, 5000, 6000);
	/* first fragment: with the UDP header, MF set */
	ether(&first, 0x0800);
	ipv4_header(&first, A4, C4, 17, 16, 0x2000);
	ports(&first, 5000, 6000, 3000);
	put(&first, (const uint8_t *)"12345678", 8);
	/* a later one: no ports at all (bytes that would read as port 67) */
	ether(&later, 0x0800);
	ipv4_header(&later, C4, A4, 17, 8, 0x0003);
	ports(&later, 67, 68, 0);
	for (unsigned n = 2; n <= 8; n++) {
		assert_int_equal(shard(&first, n), shard(&whole, n));
		assert_int_equal(shard(&later, n), shard(&whole, n));
	}
	same_in_kernel(&first);
	same_in_kernel(&later);
}

static void test_fragments_v6(void **state)
{
	(void)state;
	struct frame frag, whole;
	udp6(&whole, A6, B6, 5000, 6000);
	ether(&frag, 0x86dd);
	ipv6_header(&frag, B6, A6, 44, 16);
	put8(&frag, 17); /* fragment header: next header UDP */
	put8(&frag, 0);
	put16(&frag, 0x0009); /* offset 8, M set */
	put16(&frag, 0);
	put16(&frag, 0x4242);
	ports(&frag, 547, 546, 0); /* data that would read as DHCPv6 ports */
	for (unsigned n = 2; n <= 8; n++)
		assert_int_equal(shard(&frag, n), shard(&whole, n));
	same_in_kernel(&frag);
}

static void test_dhcp_to_worker0(void **state)
{
	(void)state;
	struct frame discover, offer, relay, renew, solicit, reply, not_dhcp;
	udp4(&discover, ZERO4, BCAST4, 68, 67);
	udp4(&offer, R4, C4, 67, 68);
	udp4(&relay, R4, B4, 67, 67);
	udp4(&renew, C4, R4, 68, 67);
	udp6(&solicit, LL6, DHCP6_MC, 546, 547);
	udp6(&reply, R6, LL6, 547, 546);
	udp4(&not_dhcp, C4, R4, 5353, 53);
	for (unsigned n = 2; n <= 8; n++) {
		assert_int_equal(shard(&discover, n), 0);
		assert_int_equal(shard(&offer, n), 0);
		assert_int_equal(shard(&relay, n), 0);
		assert_int_equal(shard(&renew, n), 0);
		assert_int_equal(shard(&solicit, n), 0);
		assert_int_equal(shard(&reply, n), 0);
		assert_int_equal(shard(&not_dhcp, n), pair4(C4, R4, n));
	}
	same_in_kernel(&discover);
	same_in_kernel(&offer);
	same_in_kernel(&solicit);
	same_in_kernel(&reply);
	same_in_kernel(&not_dhcp);
}

/* An ICMP error from a router, quoting A -> C: the worker of A <-> C. */
static void icmp4_error(struct frame *f, unsigned type, size_t quote_len)
{
	struct frame q;
	udp4(&q, A4, C4, 40000, 33434);
	ether(f, 0x0800);
	ipv4_header(f, R4, A4, 1, 8 + quote_len, 0);
	put8(f, type);
	put8(f, 0);
	put16(f, 0);
	put16(f, 0);
	put16(f, 0);
	put(f, q.b + q.net, quote_len);
}

static void test_icmp_errors(void **state)
{
	(void)state;
	static const unsigned errors[] = {3, 4, 5, 11, 12};
	struct frame f;
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
		icmp4_error(&f, errors[i], 28);
		for (unsigned n = 2; n <= 8; n++)
			assert_int_equal(shard(&f, n), pair4(A4, C4, n));
		same_in_kernel(&f);
	}
	icmp4_error(&f, 8, 28); /* an echo request: its own pair */
	for (unsigned n = 2; n <= 8; n++)
		assert_int_equal(shard(&f, n), pair4(R4, A4, n));
	same_in_kernel(&f);
	icmp4_error(&f, 3, 12); /* the quote cut before the addresses */
	for (unsigned n = 2; n <= 8; n++)
		assert_int_equal(shard(&f, n), pair4(R4, A4, n));
	same_in_kernel(&f);
}

static void icmp6_error(struct frame *f, unsigned type, size_t quote_len)
{
	struct frame q;
	udp6(&q, A6, B6, 40000, 33434);
	ether(f, 0x86dd);
	ipv6_header(f, R6, A6, 58, 8 + quote_len);
	put8(f, type);
	put8(f, 0);
	put16(f, 0);
	put16(f, 0);
	put16(f, 0);
	put(f, q.b + q.net, quote_len);
}

static void test_icmp6_errors(void **state)
{
	(void)state;
	struct frame f;
	for (unsigned type = 1; type <= 4; type++) {
		icmp6_error(&f, type, 48);
		for (unsigned n = 2; n <= 8; n++)
			assert_int_equal(shard(&f, n), pair6(A6, B6, n));
		same_in_kernel(&f);
	}
	icmp6_error(&f, 128, 48); /* echo request */
	for (unsigned n = 2; n <= 8; n++)
		assert_int_equal(shard(&f, n), pair6(R6, A6, n));
	same_in_kernel(&f);
	icmp6_error(&f, 1, 20); /* cut short */
	for (unsigned n = 2; n <= 8; n++)
		assert_int_equal(shard(&f, n), pair6(R6, A6, n));
}

static void test_not_ip_and_garbage(void **state)
{
	(void)state;
	struct frame arp;
	ether(&arp, 0x0806);
	for (int i = 0; i < 28; i++)
		put8(&arp, i);
	for (unsigned n = 2; n <= 8; n++) {
		assert_int_equal(shard(&arp, n), 0);
		assert_int_equal(shard_of(LINK_ETHERNET, arp.b, 5, 5, n), 0);
		assert_int_equal(shard_of(9999, arp.b, (uint32_t)arp.n, (uint32_t)arp.n, n), 0);
	}
	assert_int_equal(run_cbpf(&arp), 0);
	/* every truncation of an ICMP error: no crash, a worker in range */
	struct frame f, cut;
	icmp4_error(&f, 3, 28);
	for (size_t len = 0; len <= f.n; len++) {
		cut = f;
		cut.n = len;
		assert_true(shard_of(LINK_ETHERNET, cut.b, (uint32_t)len, (uint32_t)f.n, 3) < 3);
		(void)run_cbpf(&cut);
	}
}

static void test_one_worker(void **state)
{
	(void)state;
	struct frame f;
	tcp4(&f, A4, C4, 1, 2);
	assert_int_equal(shard(&f, 1), 0);
	assert_int_equal(shard(&f, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_symmetric_v4),
	    cmocka_unit_test(test_symmetric_v6),
	    cmocka_unit_test(test_spreads),
	    cmocka_unit_test(test_fragments_v4),
	    cmocka_unit_test(test_fragments_v6),
	    cmocka_unit_test(test_dhcp_to_worker0),
	    cmocka_unit_test(test_icmp_errors),
	    cmocka_unit_test(test_icmp6_errors),
	    cmocka_unit_test(test_not_ip_and_garbage),
	    cmocka_unit_test(test_one_worker),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
