/* Small shared types: addresses, directions and time. */
#ifndef PORTOLAN_TYPES_H
#define PORTOLAN_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which side sent the bytes: the client (the side that opened the session)
 * or the server. */
enum direction { DIR_CLIENT = 0, DIR_SERVER = 1 };

static inline enum direction dir_other(enum direction d)
{
	return d == DIR_CLIENT ? DIR_SERVER : DIR_CLIENT;
}

/* An IPv4 or IPv6 address; IPv4 uses the first four bytes, the rest zero. */
struct ip_addr {
	uint8_t version; /* 4 or 6 */
	uint8_t b[16];
};

#define IP_ADDR_STRLEN 46
/* Renders the address as text (inet_ntop); returns buf. */
char *ip_addr_format(const struct ip_addr *a, char *buf, size_t n);
int ip_addr_compare(const struct ip_addr *a, const struct ip_addr *b);

/* Packet time: microseconds since the epoch. */
typedef uint64_t usec_t;
#define USEC_PER_SEC 1000000ULL

/* IP protocol numbers of the transports that make flows.  ICMP and ICMPv6
 * make query/reply sessions (echo...); both are "icmp" in the record. */
enum transport {
	TRANSPORT_ICMP = 1,
	TRANSPORT_TCP = 6,
	TRANSPORT_UDP = 17,
	TRANSPORT_ICMPV6 = 58,
};

static inline bool transport_is_icmp(unsigned proto)
{
	return proto == TRANSPORT_ICMP || proto == TRANSPORT_ICMPV6;
}

/* "TCP", "UDP" or "ICMP", for the text views. */
static inline const char *transport_label(unsigned proto)
{
	return proto == TRANSPORT_TCP ? "TCP" : proto == TRANSPORT_UDP ? "UDP" : "ICMP";
}

#define TRANSPORT_BIT_TCP 1u
#define TRANSPORT_BIT_UDP 2u

#endif
