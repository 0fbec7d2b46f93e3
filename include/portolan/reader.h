/* Bounds-checked reading of untrusted bytes.
 *
 * Every byte that came from the wire is read through a struct reader.  A read
 * past the end sets a sticky error flag and returns zero, so a parser reads a
 * whole structure and checks rd_ok() once at the end instead of after every
 * field (the idea behind tcpdump's GET_ macros and Wireshark's tvb).
 */
#ifndef PORTOLAN_READER_H
#define PORTOLAN_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct reader {
	const uint8_t *data;
	size_t len;
	size_t off;
	bool err;
};

static inline struct reader rd_init(const void *data, size_t len)
{
	struct reader r = {(const uint8_t *)data, data ? len : 0, 0, false};
	return r;
}

static inline bool rd_ok(const struct reader *r)
{
	return !r->err;
}
/* Zero once the reader has failed, so a loop that runs while bytes remain
 * ends at the first bad read instead of spinning on reads that return 0
 * (found by fuzzing: a TLS extension list whose entry overran it). */
static inline size_t rd_remaining(const struct reader *r)
{
	return r->err ? 0 : r->len - r->off;
}
static inline size_t rd_offset(const struct reader *r)
{
	return r->off;
}
static inline size_t rd_length(const struct reader *r)
{
	return r->len;
}

/* True when n more bytes can be read; sets nothing. */
static inline bool rd_has(const struct reader *r, size_t n)
{
	return !r->err && n <= r->len - r->off;
}

/* Marks the reader failed; all later reads return zero. */
static inline void rd_fail(struct reader *r)
{
	r->err = true;
}

static inline bool rd_need(struct reader *r, size_t n)
{
	if (rd_has(r, n))
		return true;
	r->err = true;
	return false;
}

static inline uint8_t rd_u8(struct reader *r)
{
	if (!rd_need(r, 1))
		return 0;
	return r->data[r->off++];
}

static inline uint16_t rd_be16(struct reader *r)
{
	if (!rd_need(r, 2))
		return 0;
	const uint8_t *p = r->data + r->off;
	r->off += 2;
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd_be24(struct reader *r)
{
	if (!rd_need(r, 3))
		return 0;
	const uint8_t *p = r->data + r->off;
	r->off += 3;
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t rd_be32(struct reader *r)
{
	if (!rd_need(r, 4))
		return 0;
	const uint8_t *p = r->data + r->off;
	r->off += 4;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t rd_be64(struct reader *r)
{
	uint64_t hi = rd_be32(r);
	return hi << 32 | rd_be32(r);
}

static inline uint16_t rd_le16(struct reader *r)
{
	if (!rd_need(r, 2))
		return 0;
	const uint8_t *p = r->data + r->off;
	r->off += 2;
	return (uint16_t)(p[1] << 8 | p[0]);
}

static inline uint32_t rd_le32(struct reader *r)
{
	if (!rd_need(r, 4))
		return 0;
	const uint8_t *p = r->data + r->off;
	r->off += 4;
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t rd_le64(struct reader *r)
{
	uint64_t lo = rd_le32(r);
	return (uint64_t)rd_le32(r) << 32 | lo;
}

static inline void rd_skip(struct reader *r, size_t n)
{
	if (rd_need(r, n))
		r->off += n;
}

/* Copies n bytes out; on a short read dst is zero-filled. */
static inline void rd_copy(struct reader *r, void *dst, size_t n)
{
	if (!rd_need(r, n)) {
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, r->data + r->off, n);
	r->off += n;
}

/* Borrows n bytes in place (zero copy); NULL on a short read. */
static inline const uint8_t *rd_take(struct reader *r, size_t n)
{
	if (!rd_need(r, n))
		return NULL;
	if (!r->data) /* an empty reader: a valid, empty span (never NULL + 0) */
		return (const uint8_t *)"";
	const uint8_t *p = r->data + r->off;
	r->off += n;
	return p;
}

/* A reader over the next n bytes, and the parent moves past them.  A short
 * parent gives a failed, empty sub-reader and fails the parent too. */
static inline struct reader rd_sub(struct reader *r, size_t n)
{
	const uint8_t *p = rd_take(r, n);
	struct reader s = rd_init(p, p ? n : 0);
	s.err = (p == NULL);
	return s;
}

/* The rest of the reader as a sub-reader; the parent is consumed. */
static inline struct reader rd_rest(struct reader *r)
{
	return rd_sub(r, r->err ? 0 : rd_remaining(r));
}

/* Peeks at the byte at offset ahead of the cursor without moving or failing;
 * returns -1 when it is not there. */
static inline int rd_peek(const struct reader *r, size_t ahead)
{
	if (r->err || ahead >= r->len - r->off)
		return -1;
	return r->data[r->off + ahead];
}

/* Moves to an absolute offset (e.g. a DNS compression pointer). */
static inline void rd_seek(struct reader *r, size_t off)
{
	if (off > r->len)
		r->err = true;
	else
		r->off = off;
}

/* True when the next bytes equal s (n bytes); never fails the reader. */
static inline bool rd_starts_with(const struct reader *r, const void *s, size_t n)
{
	return rd_has(r, n) && memcmp(r->data + r->off, s, n) == 0;
}

/* Offset (from the cursor) of the first byte c, or -1.  Never fails. */
static inline long rd_find(const struct reader *r, uint8_t c)
{
	if (r->err || r->off >= r->len) /* also keeps memchr off a NULL buffer */
		return -1;
	const void *p = memchr(r->data + r->off, c, r->len - r->off);
	return p ? (long)((const uint8_t *)p - (r->data + r->off)) : -1;
}

/* ---- text helpers: a reader over a text field (a header value, a line) ----
 * None of them moves the reader given or fails it; the sub-readers they
 * return start at offset 0 and are failed when the reader given was. */

/* The n bytes at offset from ahead of the cursor as a sub-reader; a failed,
 * empty one when they are not all there.  r does not move. */
static inline struct reader rd_slice(const struct reader *r, size_t from, size_t n)
{
	struct reader t = *r;
	rd_skip(&t, from);
	return rd_sub(&t, n);
}

/* The rest of r without its leading bytes that are in set (a C string of
 * byte values; NUL is never trimmed). */
static inline struct reader rd_ltrim(struct reader r, const char *set)
{
	size_t a = 0;
	int c;
	while ((c = rd_peek(&r, a)) > 0 && strchr(set, c))
		a++;
	rd_skip(&r, a);
	return rd_rest(&r);
}

/* The rest of r without its trailing bytes that are in set. */
static inline struct reader rd_rtrim(struct reader r, const char *set)
{
	size_t n = rd_remaining(&r);
	int c;
	while (n && (c = rd_peek(&r, n - 1)) > 0 && strchr(set, c))
		n--;
	return rd_sub(&r, n);
}

/* The rest of r without leading and trailing spaces and tabs. */
static inline struct reader rd_trim_ws(struct reader r)
{
	return rd_rtrim(rd_ltrim(r, " \t"), " \t");
}

static inline int rd_ascii_lower_(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* True when the next bytes equal the C string lit, ignoring ASCII case. */
static inline bool rd_istarts_with(const struct reader *r, const char *lit)
{
	size_t n = strlen(lit);
	if (!rd_has(r, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if (rd_ascii_lower_(rd_peek(r, i)) != rd_ascii_lower_((unsigned char)lit[i]))
			return false;
	return true;
}

/* True when the rest of r is exactly the C string lit, ignoring ASCII case
 * (a header name against "Content-Length"). */
static inline bool rd_ieq(const struct reader *r, const char *lit)
{
	return rd_remaining(r) == strlen(lit) && rd_istarts_with(r, lit);
}

#endif
