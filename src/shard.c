/* Which worker owns a packet (portolan/shard.h). */
#include <linux/filter.h>
#include <string.h>

#include "portolan/decode.h"
#include "portolan/reader.h"
#include "portolan/shard.h"

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCPV6_CLIENT_PORT 546
#define DHCPV6_SERVER_PORT 547
#define PROTO_ICMP 1
#define PROTO_UDP 17
#define PROTO_ICMPV6 58
#define ICMP_HEADER 8
#define MIX_MULTIPLIER 0x45d9f3bu

uint32_t shard_fold(const struct ip_addr *a)
{
	uint32_t x = 0;
	int words = a->version == 6 ? 4 : 1;
	for (int i = 0; i < words; i++)
		x ^= (uint32_t)a->b[4 * i] << 24 | (uint32_t)a->b[4 * i + 1] << 16 |
		     (uint32_t)a->b[4 * i + 2] << 8 | (uint32_t)a->b[4 * i + 3];
	return x;
}

uint32_t shard_mix(uint32_t x)
{
	x ^= x >> 16;
	x *= MIX_MULTIPLIER;
	x ^= x >> 16;
	return x;
}

uint32_t shard_pair_hash(const struct ip_addr *a, const struct ip_addr *b)
{
	return shard_mix(shard_fold(a) ^ shard_fold(b)); /* XOR: the order does not count */
}

static bool is_dhcp(const struct packet *p)
{
	if (p->ip_proto != PROTO_UDP)
		return false;
	if (p->ip_version == 4)
		return p->sport == DHCP_SERVER_PORT || p->sport == DHCP_CLIENT_PORT ||
		       p->dport == DHCP_SERVER_PORT || p->dport == DHCP_CLIENT_PORT;
	return p->sport == DHCPV6_CLIENT_PORT || p->sport == DHCPV6_SERVER_PORT ||
	       p->dport == DHCPV6_CLIENT_PORT || p->dport == DHCPV6_SERVER_PORT;
}

/* An ICMP error quotes the header of the packet it is about: the address
 * pair of that header, or false when this is no error or the quote is cut. */
static bool icmp_quoted_pair(const struct packet *p, struct ip_addr *a, struct ip_addr *b)
{
	if (!p->ip_start || p->ip_len < p->ip_header_len)
		return false;
	struct reader r = rd_init(p->ip_start + p->ip_header_len, p->ip_len - p->ip_header_len);
	uint8_t type = rd_u8(&r);
	memset(a, 0, sizeof *a);
	memset(b, 0, sizeof *b);
	if (p->ip_version == 4 && p->ip_proto == PROTO_ICMP) {
		/* destination unreachable, source quench, redirect, time
		 * exceeded, parameter problem */
		if (type != 3 && type != 4 && type != 5 && type != 11 && type != 12)
			return false;
		rd_skip(&r, ICMP_HEADER - 1 + 12); /* to the quoted source */
		a->version = b->version = 4;
		rd_copy(&r, a->b, 4);
		rd_copy(&r, b->b, 4);
		return rd_ok(&r);
	}
	if (p->ip_version == 6 && p->ip_proto == PROTO_ICMPV6) {
		/* destination unreachable, packet too big, time exceeded,
		 * parameter problem */
		if (type < 1 || type > 4)
			return false;
		rd_skip(&r, ICMP_HEADER - 1 + 8);
		a->version = b->version = 6;
		rd_copy(&r, a->b, 16);
		rd_copy(&r, b->b, 16);
		return rd_ok(&r);
	}
	return false;
}

uint32_t shard_packet_hash(int status, const struct packet *p)
{
	if (status != DECODE_OK && status != DECODE_FRAGMENT && status != DECODE_UNSUPPORTED)
		return SHARD_WORKER0; /* not IP, or a header that lies */
	if (p->ip_version != 4 && p->ip_version != 6)
		return SHARD_WORKER0;
	if (status == DECODE_FRAGMENT) /* no ports: the pair alone */
		return shard_pair_hash(&p->src, &p->dst);
	if (status == DECODE_OK && is_dhcp(p))
		return SHARD_WORKER0;
	struct ip_addr a, b;
	if (icmp_quoted_pair(p, &a, &b))
		return shard_pair_hash(&a, &b);
	return shard_pair_hash(&p->src, &p->dst);
}

unsigned shard_of(int linktype, const uint8_t *data, uint32_t caplen, uint32_t wirelen, unsigned n)
{
	struct packet p;
	if (n <= 1)
		return 0;
	int st = (int)decode_packet(linktype, data, caplen, wirelen, 0, &p);
	return shard_packet_hash(st, &p) % n;
}

/* ---- the same hash as a classic BPF program, for the kernel's fanout ----
 *
 * The program reads from the network header (SKF_NET_OFF), so it works
 * whatever the link layer, and the EtherType from skb->protocol.  What it
 * does not cover exactly: IPv6 extension headers before UDP or ICMPv6 (such
 * packets are hashed by their own address pair), and frames whose
 * skb->protocol is not IPv4 or IPv6 (VLAN tags the NIC did not strip, other
 * encapsulations): those go to worker 0. */

enum label {
	L_NEXT = 0,
	L_V4,
	L_V4UDP,
	L_V4ICMP,
	L_V4INNER,
	L_V4PAIR,
	L_V6,
	L_V6UDP,
	L_V6ICMP,
	L_V6INNER,
	L_V6PAIR,
	L_MIX,
	L_ZERO,
	L_COUNT
};

#define ASM_MAX 160

struct bpf_asm {
	struct sock_filter ins[ASM_MAX];
	unsigned char jt[ASM_MAX], jf[ASM_MAX]; /* labels to resolve */
	size_t n;
	size_t at[L_COUNT];
	bool full;
};

static void op(struct bpf_asm *a, uint16_t code, uint32_t k, enum label jt, enum label jf)
{
	if (a->n == ASM_MAX) {
		a->full = true;
		return;
	}
	a->ins[a->n] = (struct sock_filter)BPF_STMT(code, k);
	a->jt[a->n] = (unsigned char)jt;
	a->jf[a->n] = (unsigned char)jf;
	a->n++;
}

static void stmt(struct bpf_asm *a, uint16_t code, uint32_t k)
{
	op(a, code, k, L_NEXT, L_NEXT);
}

static void jump(struct bpf_asm *a, enum label to)
{
	op(a, BPF_JMP | BPF_JA, 0, to, L_NEXT);
}

static void here(struct bpf_asm *a, enum label l)
{
	a->at[l] = a->n;
}

#define NET(off) ((uint32_t)(SKF_NET_OFF + (off)))

/* A = the XOR of the 32-bit words at NET(from) .. NET(from + 4 * words). */
static void fold_words(struct bpf_asm *a, int from, int words)
{
	stmt(a, BPF_LD | BPF_W | BPF_ABS, NET(from));
	for (int i = 1; i < words; i++) {
		stmt(a, BPF_MISC | BPF_TAX, 0);
		stmt(a, BPF_LD | BPF_W | BPF_ABS, NET(from + 4 * i));
		stmt(a, BPF_ALU | BPF_XOR | BPF_X, 0);
	}
}

static void assemble(struct bpf_asm *a)
{
	stmt(a, BPF_LD | BPF_H | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL));
	op(a, BPF_JMP | BPF_JEQ | BPF_K, 0x0800, L_V4, L_NEXT);
	op(a, BPF_JMP | BPF_JEQ | BPF_K, 0x86dd, L_V6, L_ZERO);

	here(a, L_V4);
	stmt(a, BPF_LD | BPF_H | BPF_ABS, NET(6)); /* a fragment: no ports */
	op(a, BPF_JMP | BPF_JSET | BPF_K, 0x3fff, L_V4PAIR, L_NEXT);
	stmt(a, BPF_LD | BPF_B | BPF_ABS, NET(9));
	op(a, BPF_JMP | BPF_JEQ | BPF_K, PROTO_UDP, L_V4UDP, L_NEXT);
	op(a, BPF_JMP | BPF_JEQ | BPF_K, PROTO_ICMP, L_V4ICMP, L_V4PAIR);

	here(a, L_V4UDP); /* DHCP: worker 0 */
	stmt(a, BPF_LDX | BPF_B | BPF_MSH, NET(0));
	for (int port = 0; port < 2; port++) {
		stmt(a, BPF_LD | BPF_H | BPF_IND, NET(2 * port));
		op(a, BPF_JMP | BPF_JEQ | BPF_K, DHCP_SERVER_PORT, L_ZERO, L_NEXT);
		op(a, BPF_JMP | BPF_JEQ | BPF_K, DHCP_CLIENT_PORT, L_ZERO, L_NEXT);
	}
	jump(a, L_V4PAIR);

	here(a, L_V4ICMP); /* an error: the quoted header's pair */
	stmt(a, BPF_LDX | BPF_B | BPF_MSH, NET(0));
	stmt(a, BPF_LD | BPF_H | BPF_ABS, NET(2)); /* room for the quoted addresses? */
	stmt(a, BPF_ALU | BPF_SUB | BPF_X, 0);
	op(a, BPF_JMP | BPF_JGE | BPF_K, ICMP_HEADER + 20, L_NEXT, L_V4PAIR);
	stmt(a, BPF_LD | BPF_B | BPF_IND, NET(0));
	op(a, BPF_JMP | BPF_JEQ | BPF_K, 3, L_V4INNER, L_NEXT);
	op(a, BPF_JMP | BPF_JEQ | BPF_K, 4, L_V4INNER, L_NEXT);
	op(a, BPF_JMP | BPF_JEQ | BPF_K, 5, L_V4INNER, L_NEXT);
	op(a, BPF_JMP | BPF_JEQ | BPF_K, 11, L_V4INNER, L_NEXT);
	op(a, BPF_JMP | BPF_JEQ | BPF_K, 12, L_V4INNER, L_V4PAIR);
	here(a, L_V4INNER);
	stmt(a, BPF_LD | BPF_W | BPF_IND, NET(ICMP_HEADER + 12));
	stmt(a, BPF_ST, 0);
	stmt(a, BPF_LD | BPF_W | BPF_IND, NET(ICMP_HEADER + 16));
	stmt(a, BPF_LDX | BPF_W | BPF_MEM, 0);
	stmt(a, BPF_ALU | BPF_XOR | BPF_X, 0);
	jump(a, L_MIX);

	here(a, L_V4PAIR);
	fold_words(a, 12, 2);
	jump(a, L_MIX);

	here(a, L_V6);
	stmt(a, BPF_LD | BPF_B | BPF_ABS, NET(6));
	op(a, BPF_JMP | BPF_JEQ | BPF_K, PROTO_UDP, L_V6UDP, L_NEXT);
	op(a, BPF_JMP | BPF_JEQ | BPF_K, PROTO_ICMPV6, L_V6ICMP, L_V6PAIR);

	here(a, L_V6UDP);
	for (int port = 0; port < 2; port++) {
		stmt(a, BPF_LD | BPF_H | BPF_ABS, NET(40 + 2 * port));
		op(a, BPF_JMP | BPF_JEQ | BPF_K, DHCPV6_CLIENT_PORT, L_ZERO, L_NEXT);
		op(a, BPF_JMP | BPF_JEQ | BPF_K, DHCPV6_SERVER_PORT, L_ZERO, L_NEXT);
	}
	jump(a, L_V6PAIR);

	here(a, L_V6ICMP);
	stmt(a, BPF_LD | BPF_H | BPF_ABS, NET(4)); /* room for the quoted addresses? */
	op(a, BPF_JMP | BPF_JGE | BPF_K, ICMP_HEADER + 40, L_NEXT, L_V6PAIR);
	stmt(a, BPF_LD | BPF_B | BPF_ABS, NET(40));
	op(a, BPF_JMP | BPF_JGT | BPF_K, 4, L_V6PAIR, L_NEXT);
	op(a, BPF_JMP | BPF_JGE | BPF_K, 1, L_V6INNER, L_V6PAIR);
	here(a, L_V6INNER);
	fold_words(a, 40 + ICMP_HEADER + 8, 8);
	jump(a, L_MIX);

	here(a, L_V6PAIR);
	fold_words(a, 8, 8);

	here(a, L_MIX); /* shard_mix() */
	stmt(a, BPF_MISC | BPF_TAX, 0);
	stmt(a, BPF_ALU | BPF_RSH | BPF_K, 16);
	stmt(a, BPF_ALU | BPF_XOR | BPF_X, 0);
	stmt(a, BPF_ALU | BPF_MUL | BPF_K, MIX_MULTIPLIER);
	stmt(a, BPF_MISC | BPF_TAX, 0);
	stmt(a, BPF_ALU | BPF_RSH | BPF_K, 16);
	stmt(a, BPF_ALU | BPF_XOR | BPF_X, 0);
	stmt(a, BPF_RET | BPF_A, 0);

	here(a, L_ZERO);
	stmt(a, BPF_RET | BPF_K, SHARD_WORKER0);
}

size_t shard_cbpf(struct sock_filter *prog, size_t max)
{
	struct bpf_asm a;
	memset(&a, 0, sizeof a);
	assemble(&a);
	if (a.full || a.n > max)
		return 0;
	for (size_t i = 0; i < a.n; i++) {
		struct sock_filter in = a.ins[i];
		size_t next = i + 1;
		if (in.code == (BPF_JMP | BPF_JA)) {
			in.k = (uint32_t)(a.at[a.jt[i]] - next);
		} else if (BPF_CLASS(in.code) == BPF_JMP) {
			size_t t = a.jt[i] ? a.at[a.jt[i]] : next;
			size_t f = a.jf[i] ? a.at[a.jf[i]] : next;
			if (t - next > 255 || f - next > 255)
				return 0;
			in.jt = (uint8_t)(t - next);
			in.jf = (uint8_t)(f - next);
		}
		prog[i] = in;
	}
	return a.n;
}
