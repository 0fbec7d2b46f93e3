/* Escaping wire strings for JSON and for terminals.  Both walk the bytes as
 * UTF-8 and differ only in how they write what may not pass. */
#include <stdio.h>

#include "portolan/json.h"

/* Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 when the
 * bytes there are not valid UTF-8 (overlongs and surrogates included). */
static size_t utf8_sequence_length(const unsigned char *s, size_t n, size_t i)
{
	unsigned char c = s[i];
	size_t need;
	unsigned min_second = 0x80, max_second = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			min_second = 0xa0; /* overlong */
		if (c == 0xed)
			max_second = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			min_second = 0x90;
		if (c == 0xf4)
			max_second = 0x8f;
	} else
		return 0;
	if (n - i < need)
		return 0;
	if (s[i + 1] < min_second || s[i + 1] > max_second)
		return 0;
	for (size_t k = 2; k < need; k++)
		if ((s[i + k] & 0xc0) != 0x80)
			return 0;
	return need;
}

/* Appends piece (plen bytes) if it fits entirely; returns false when not. */
static bool put(char *out, size_t cap, size_t *o, const char *piece, size_t plen)
{
	if (*o + plen + 1 > cap)
		return false;
	for (size_t k = 0; k < plen; k++)
		out[(*o)++] = piece[k];
	return true;
}

size_t json_escape(const char *str, size_t n, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t o = 0;
	char tmp[8];

	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t seq = utf8_sequence_length(s, n, i);
		bool ok;

		if (seq > 1) {
			ok = put(out, cap, &o, (const char *)s + i, seq);
			i += seq;
		} else if (seq == 0) {
			snprintf(tmp, sizeof tmp, "\\\\x%02x", c);
			ok = put(out, cap, &o, tmp, 5);
			i++;
		} else {
			if (c == '"')
				ok = put(out, cap, &o, "\\\"", 2);
			else if (c == '\\')
				ok = put(out, cap, &o, "\\\\", 2);
			else if (c == '\n')
				ok = put(out, cap, &o, "\\n", 2);
			else if (c == '\r')
				ok = put(out, cap, &o, "\\r", 2);
			else if (c == '\t')
				ok = put(out, cap, &o, "\\t", 2);
			else if (c < 0x20 || c == 0x7f) {
				snprintf(tmp, sizeof tmp, "\\u%04x", c);
				ok = put(out, cap, &o, tmp, 6);
			} else
				ok = put(out, cap, &o, (const char *)&c, 1);
			i++;
		}
		if (!ok)
			break;
	}
	if (cap)
		out[o] = '\0';
	return o;
}

/* The terminal escapes of both: controls, DEL and invalid UTF-8 as \xNN;
 * with escape_backslash a backslash doubles, so that a wire "\x1b" (four
 * printable bytes) cannot pass for an escaped ESC. */
static size_t terminal_escape(const char *str, size_t n, char *out, size_t cap,
                              bool escape_backslash)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t o = 0;
	char tmp[8];

	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t seq = utf8_sequence_length(s, n, i);
		bool ok;

		if (seq > 1) {
			ok = put(out, cap, &o, (const char *)s + i, seq);
			i += seq;
		} else if (seq == 0 || c < 0x20 || c == 0x7f) {
			snprintf(tmp, sizeof tmp, "\\x%02x", c);
			ok = put(out, cap, &o, tmp, 4);
			i++;
		} else if (c == '\\' && escape_backslash) {
			ok = put(out, cap, &o, "\\\\", 2);
			i++;
		} else {
			ok = put(out, cap, &o, (const char *)&c, 1);
			i++;
		}
		if (!ok)
			break;
	}
	if (cap)
		out[o] = '\0';
	return o;
}

size_t text_escape(const char *str, size_t n, char *out, size_t cap)
{
	return terminal_escape(str, n, out, cap, true);
}

size_t text_sanitize(const char *str, size_t n, char *out, size_t cap)
{
	return terminal_escape(str, n, out, cap, false);
}
