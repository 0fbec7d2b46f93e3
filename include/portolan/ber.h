/* Reading BER (ASN.1 Basic Encoding Rules) from untrusted bytes: the shared
 * reader for SNMP, LDAP and Kerberos.
 *
 * Only definite lengths are accepted (SNMP, LDAP and Kerberos never use the
 * indefinite form); a length that runs past the enclosing element is
 * malformed.  Every call works on a struct reader: ber_next() reads one TLV
 * header and hands back a sub-reader over its value, so a nested element can
 * never be read beyond its parent.  Nesting depth is the caller's to bound
 * (BER_MAX_DEPTH), since the caller does the descending.
 */
#ifndef PORTOLAN_BER_H
#define PORTOLAN_BER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portolan/reader.h"

enum ber_class {
	BER_CLASS_UNIVERSAL = 0,
	BER_CLASS_APPLICATION = 1,
	BER_CLASS_CONTEXT = 2,
	BER_CLASS_PRIVATE = 3,
};

/* Universal tag numbers in use. */
enum {
	BER_TAG_BOOLEAN = 1,
	BER_TAG_INTEGER = 2,
	BER_TAG_BIT_STRING = 3,
	BER_TAG_OCTET_STRING = 4,
	BER_TAG_NULL = 5,
	BER_TAG_OID = 6,
	BER_TAG_ENUMERATED = 10,
	BER_TAG_SEQUENCE = 16,
	BER_TAG_SET = 17,
};

/* How deep a caller should let nested elements go. */
#define BER_MAX_DEPTH 32
/* The largest tag number accepted (high form, at most 4 bytes). */
#define BER_MAX_TAG 0x0fffffffu

struct ber_tlv {
	enum ber_class cls;
	bool constructed;
	uint32_t tag;
	struct reader value; /* exactly the element's content octets */
	size_t header_len;   /* identifier and length octets */
};

/* Reads the next element of r into out and moves r past it.  Returns false
 * at the end of r (r stays ok) or on a malformed or truncated element (r is
 * failed: rd_ok(r) is false).  Rejects: high-form tags padded with 0x80 or
 * longer than 4 bytes, the indefinite length 0x80, the reserved 0xff, and
 * any length beyond what r holds. */
bool ber_next(struct reader *r, struct ber_tlv *out);

/* True when t is the universal element with tag number tag, primitive. */
bool ber_is(const struct ber_tlv *t, enum ber_class cls, bool constructed, uint32_t tag);

/* Reads the next element and requires its class, form and tag; false (and r
 * failed) otherwise. */
bool ber_expect(struct reader *r, enum ber_class cls, bool constructed, uint32_t tag,
                struct reader *value);

/* The content octets of an INTEGER (two's complement, big-endian) as an
 * int64.  False when empty or too large for int64 (redundant leading sign
 * octets are accepted). */
bool ber_int64(struct reader v, int64_t *out);

/* The same as an unsigned value (Counter64, TimeTicks, or an INTEGER that
 * is not negative).  False when negative, empty or above 2^64-1. */
bool ber_uint64(struct reader v, uint64_t *out);

/* An OBJECT IDENTIFIER's content octets as dotted text ("1.3.6.1.2.1"),
 * NUL-terminated in buf (n bytes).  False on a malformed OID: empty, a
 * sub-identifier padded with a leading 0x80, one left unfinished, or one
 * above 2^64-1.  When the text does not fit, it is cut after the last whole
 * arc that fits followed by "..." (still true; *cut tells, may be NULL). */
bool ber_oid_text(struct reader v, char *buf, size_t n, bool *cut);

#endif
