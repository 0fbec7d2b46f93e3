/* BER (ASN.1) reading over struct reader: see include/portolan/ber.h. */
#include "portolan/ber.h"

#include <stdio.h>
#include <string.h>

bool ber_next(struct reader *r, struct ber_tlv *out)
{
	memset(out, 0, sizeof *out);
	if (!rd_ok(r) || rd_remaining(r) == 0)
		return false;

	size_t start = rd_offset(r);
	uint8_t id = rd_u8(r);
	out->cls = (enum ber_class)(id >> 6);
	out->constructed = (id & 0x20) != 0;
	uint32_t tag = id & 0x1f;
	if (tag == 0x1f) {
		/* High form: base-128, at most 4 octets, no 0x80 padding. */
		tag = 0;
		for (int i = 0;; i++) {
			if (!rd_has(r, 1) || i == 4) {
				rd_fail(r);
				return false;
			}
			uint8_t b = rd_u8(r);
			if (i == 0 && b == 0x80) {
				rd_fail(r);
				return false;
			}
			tag = tag << 7 | (b & 0x7f);
			if (!(b & 0x80))
				break;
		}
	}
	out->tag = tag;

	if (!rd_has(r, 1)) {
		rd_fail(r);
		return false;
	}
	uint8_t l = rd_u8(r);
	size_t len;
	if (l < 0x80) {
		len = l;
	} else if (l == 0x80 || l == 0xff) {
		/* indefinite (not allowed here) and reserved */
		rd_fail(r);
		return false;
	} else {
		size_t nbytes = l & 0x7f;
		if (!rd_has(r, nbytes)) {
			rd_fail(r);
			return false;
		}
		len = 0;
		size_t room = rd_remaining(r) - nbytes;
		for (size_t i = 0; i < nbytes; i++) {
			len = len << 8 | rd_u8(r);
			/* checked at every octet, so len never overflows */
			if (len > room) {
				rd_fail(r);
				return false;
			}
		}
	}
	if (!rd_has(r, len)) {
		rd_fail(r);
		return false;
	}
	out->header_len = rd_offset(r) - start;
	out->value = rd_sub(r, len);
	return rd_ok(r);
}

bool ber_is(const struct ber_tlv *t, enum ber_class cls, bool constructed, uint32_t tag)
{
	return t->cls == cls && t->constructed == constructed && t->tag == tag;
}

bool ber_expect(struct reader *r, enum ber_class cls, bool constructed, uint32_t tag,
                struct reader *value)
{
	struct ber_tlv t;
	if (!ber_next(r, &t) || !ber_is(&t, cls, constructed, tag)) {
		rd_fail(r);
		*value = rd_init(NULL, 0);
		value->err = true;
		return false;
	}
	*value = t.value;
	return true;
}

bool ber_int64(struct reader v, int64_t *out)
{
	size_t n = rd_remaining(&v);
	*out = 0;
	if (!rd_ok(&v) || n == 0)
		return false;
	const uint8_t *p = rd_take(&v, n);
	/* drop redundant sign octets */
	while (n > 1 && ((p[0] == 0x00 && !(p[1] & 0x80)) || (p[0] == 0xff && (p[1] & 0x80)))) {
		p++;
		n--;
	}
	if (n > 8)
		return false;
	uint64_t u = (p[0] & 0x80) ? UINT64_MAX : 0;
	for (size_t i = 0; i < n; i++)
		u = u << 8 | p[i];
	*out = (int64_t)u;
	return true;
}

bool ber_uint64(struct reader v, uint64_t *out)
{
	size_t n = rd_remaining(&v);
	*out = 0;
	if (!rd_ok(&v) || n == 0)
		return false;
	const uint8_t *p = rd_take(&v, n);
	if (p[0] & 0x80)
		return false;
	while (n > 1 && p[0] == 0) {
		p++;
		n--;
	}
	if (n > 8)
		return false;
	uint64_t u = 0;
	for (size_t i = 0; i < n; i++)
		u = u << 8 | p[i];
	*out = u;
	return true;
}

/* Reads one base-128 sub-identifier. */
static bool oid_arc(struct reader *v, uint64_t *out)
{
	uint64_t x = 0;
	bool first = true;
	for (;;) {
		if (!rd_has(v, 1))
			return false;
		uint8_t b = rd_u8(v);
		if (first && b == 0x80)
			return false;
		first = false;
		if (x > (UINT64_MAX >> 7))
			return false;
		x = x << 7 | (b & 0x7f);
		if (!(b & 0x80))
			break;
	}
	*out = x;
	return true;
}

/* Writes the dotted text of a validated OID; each arc must leave `reserve`
 * bytes free after it.  False (buf holding the whole arcs that fit) when
 * one does not fit. */
static bool oid_write(struct reader v, char *buf, size_t n, size_t *used, size_t reserve)
{
	bool first = true;
	*used = 0;
	while (rd_remaining(&v)) {
		uint64_t x = 0;
		char arc[48];
		int k;
		(void)oid_arc(&v, &x);
		if (first) {
			unsigned a = x < 40 ? 0 : x < 80 ? 1 : 2;
			k = snprintf(arc, sizeof arc, "%u.%llu", a,
			             (unsigned long long)(x - 40ull * a));
			first = false;
		} else {
			k = snprintf(arc, sizeof arc, ".%llu", (unsigned long long)x);
		}
		if (*used + (size_t)k + reserve > n)
			return false;
		memcpy(buf + *used, arc, (size_t)k);
		*used += (size_t)k;
		buf[*used] = '\0';
	}
	return true;
}

bool ber_oid_text(struct reader v, char *buf, size_t n, bool *cut)
{
	if (cut)
		*cut = false;
	if (n)
		buf[0] = '\0';
	if (!rd_ok(&v) || rd_remaining(&v) == 0)
		return false;

	/* Validate the whole OID first, so a cut never hides a malformed one. */
	struct reader check = v;
	while (rd_remaining(&check)) {
		uint64_t x = 0;
		if (!oid_arc(&check, &x))
			return false;
	}

	size_t used;
	if (oid_write(v, buf, n, &used, 1))
		return true;
	/* too long: whole arcs with room for "..." */
	if (cut)
		*cut = true;
	if (n)
		buf[0] = '\0';
	if (n < 4)
		return true;
	(void)oid_write(v, buf, n, &used, 4);
	memcpy(buf + used, "...", 4);
	return true;
}
