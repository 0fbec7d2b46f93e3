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

void community_id_v1(char *out, size_t n, uint16_t seed, uint8_t proto, const struct ip_addr *a,
                     uint16_t port_a, const struct ip_addr *b, uint16_t port_b)
{
	uint8_t buf[2 + 16 + 16 + 4 + 4];
	size_t len = 0;

	if (!endpoint_less(a, port_a, b, port_b)) {
		const struct ip_addr *t = a;
		a = b;
		b = t;
		uint16_t tp = port_a;
		port_a = port_b;
		port_b = tp;
	}
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
