#include "portolan/base64.h"

static int value_of(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool base64_decode(struct reader in, uint8_t *out, size_t cap, size_t *n, bool *overflow)
{
	uint32_t acc = 0;
	int bits = 0;

	*n = 0;
	*overflow = false;
	while (rd_remaining(&in)) {
		int c = rd_u8(&in);
		if (c == '=')
			break;
		int v = value_of(c);
		if (v < 0)
			return false;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (*n < cap)
				out[(*n)++] = (uint8_t)(acc >> bits);
			else
				*overflow = true;
		}
	}
	while (rd_remaining(&in)) /* only padding may follow */
		if (rd_u8(&in) != '=')
			return false;
	return true;
}

bool base64_is_text(struct reader in)
{
	while (rd_remaining(&in)) {
		int c = rd_u8(&in);
		if (value_of(c) < 0 && c != '=')
			return false;
	}
	return true;
}
