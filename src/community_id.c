/* Community ID v1.  SHA-1 and base64 come from libcrypto rather than being
 * written again here. */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "portolan/community_id.h"

static size_t addr_len(const struct ip_addr *a)
{
	return a->version == 6 ? 16 : 4;
}

/* The spec orders the endpoints so the smaller (address, port) comes
 * first, making the hash the same in both directions. */
static bool endpoint_less(const struct ip_addr *a, uint16_t pa, const struct ip_addr *b,
                          uint16_t pb)
{
	int c = memcmp(a->b, b->b, addr_len(a));
	return c < 0 || (c == 0 && pa < pb);
}

/* Hashes the tuple in the order given. */
static void hash_tuple(char *out, size_t n, uint16_t seed, uint8_t proto, const struct ip_addr *a,
                       uint16_t port_a, const struct ip_addr *b, uint16_t port_b)
{
	uint8_t buf[2 + 16 + 16 + 4 + 4];
	size_t len = 0;

	buf[len++] = (uint8_t)(seed >> 8);
	buf[len++] = (uint8_t)seed;
	memcpy(buf + len, a->b, addr_len(a));
	len += addr_len(a);
	memcpy(buf + len, b->b, addr_len(b));
	len += addr_len(b);
	buf[len++] = proto;
	buf[len++] = 0; /* padding */
	buf[len++] = (uint8_t)(port_a >> 8);
	buf[len++] = (uint8_t)port_a;
	buf[len++] = (uint8_t)(port_b >> 8);
	buf[len++] = (uint8_t)port_b;

	uint8_t digest[SHA_DIGEST_LENGTH];
	SHA1(buf, len, digest);
	unsigned char b64[32];
	EVP_EncodeBlock(b64, digest, sizeof digest);
	snprintf(out, n, "1:%s", (const char *)b64);
}

void community_id_v1(char *out, size_t n, uint16_t seed, uint8_t proto, const struct ip_addr *a,
                     uint16_t port_a, const struct ip_addr *b, uint16_t port_b)
{
	if (endpoint_less(a, port_a, b, port_b))
		hash_tuple(out, n, seed, proto, a, port_a, b, port_b);
	else
		hash_tuple(out, n, seed, proto, b, port_b, a, port_a);
}

/* Zeek's ICMP4_counterpart and ICMP6_counterpart (analyzer/protocol/icmp),
 * as pycommunityid's icmp.py and icmp6.py list them: the request/reply
 * pairs.  -1 when the type has none (a one-way message). */
static int icmp_counterpart(uint8_t proto, uint8_t type)
{
	static const uint8_t v4[][2] = {{8, 0}, {13, 14}, {15, 16}, {10, 9}, {17, 18}};
	static const uint8_t v6[][2] = {{128, 129}, {133, 134}, {135, 136},
	                                {130, 131}, {139, 140}, {144, 145}};
	const uint8_t(*pairs)[2] = proto == 58 ? v6 : v4;
	size_t count = proto == 58 ? sizeof v6 / sizeof v6[0] : sizeof v4 / sizeof v4[0];
	for (size_t i = 0; i < count; i++) {
		if (pairs[i][0] == type)
			return pairs[i][1];
		if (pairs[i][1] == type)
			return pairs[i][0];
	}
	return -1;
}

void community_id_icmp(char *out, size_t n, uint16_t seed, uint8_t proto, const struct ip_addr *src,
                       const struct ip_addr *dst, uint8_t type, uint8_t code)
{
	int other = icmp_counterpart(proto, type);
	if (other < 0) /* one-way: type and code, endpoints as sent */
		hash_tuple(out, n, seed, proto, src, type, dst, code);
	else
		community_id_v1(out, n, seed, proto, src, type, dst, (uint16_t)other);
}
