/* Which worker owns a packet (--workers N): a symmetric hash of the
 * unordered IP address pair, ports left out.
 *
 * Ports are left out because fragments (IPv4 and IPv6) carry none, and
 * because the flows that belong together (an FTP control channel and its
 * data channels, most cross-flow links) share their host pair: keyed by the
 * pair, they meet in one worker without any table shared between workers.
 * Two rules come first:
 *   - DHCP (UDP port 67 or 68, IPv4) and DHCPv6 (UDP 546 or 547) go to
 *     worker 0: an exchange crosses address pairs (0.0.0.0 -> broadcast,
 *     then the server -> the new address);
 *   - an ICMP or ICMPv6 error is hashed by the address pair of the header
 *     it quotes, so it reaches the worker that owns the flow it is about.
 * Everything that is not IP (ARP, LLDP...) or cannot be decoded goes to
 * worker 0, where it is counted.
 * The cost: one heavy host pair cannot spread over several workers.
 *
 * The same function runs in the kernel for live capture: shard_cbpf()
 * builds a classic BPF program for an AF_PACKET fanout group
 * (PACKET_FANOUT_CBPF) that computes it from the network header. */
#ifndef PORTOLAN_SHARD_H
#define PORTOLAN_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "portolan/types.h"

struct packet;

/* The fold of one address: its 32-bit big-endian words XORed together. */
uint32_t shard_fold(const struct ip_addr *a);
/* The final mix (xorshift-multiply), the same in the cBPF program. */
uint32_t shard_mix(uint32_t x);
/* The hash of an unordered address pair: shard_mix(fold(a) ^ fold(b)). */
uint32_t shard_pair_hash(const struct ip_addr *a, const struct ip_addr *b);

/* The hash of a decoded packet (decode_packet's status st), with the DHCP
 * and ICMP rules; SHARD_WORKER0 for what must go to worker 0. */
#define SHARD_WORKER0 0u
uint32_t shard_packet_hash(int status, const struct packet *p);

/* The worker (0..n-1) of a captured frame: decodes it just enough. */
unsigned shard_of(int linktype, const uint8_t *data, uint32_t caplen, uint32_t wirelen, unsigned n);

/* The classic BPF program for PACKET_FANOUT_CBPF: it returns the same hash
 * (the kernel takes it modulo the group's size).  Fills at most max
 * instructions of prog (struct sock_filter, 8 bytes each) and returns how
 * many, or 0 when max is too small. */
struct sock_filter;
size_t shard_cbpf(struct sock_filter *prog, size_t max);

#endif
