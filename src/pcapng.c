/* pcapng block reader (portolan/pcapng.h).
 *
 * One block at a time is read into a buffer, its two length fields checked
 * against each other and against the caps, and its body parsed through
 * struct reader in the section's byte order.  Reference: the pcapng draft
 * (draft-ietf-opsawg-pcapng), sections 4 and appendix A.
 */
#include "portolan/pcapng.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/reader.h"

enum block_type {
	BLOCK_SHB = 0x0a0d0d0a, /* a palindrome: the same in both byte orders */
	BLOCK_IDB = 0x00000001,
	BLOCK_PB = 0x00000002, /* the obsolete Packet Block */
	BLOCK_SPB = 0x00000003,
	BLOCK_EPB = 0x00000006,
};

enum option_code {
	OPT_END = 0,
	OPT_IF_TSRESOL = 9,
	OPT_IF_TSOFFSET = 14,
};

#define BYTE_ORDER_MAGIC 0x1a2b3c4du
#define BLOCK_MIN 12 /* type, length, trailing length */
#define PCAPNG_MAX_INTERFACES 65536
#define DEFAULT_TSRESOL 6      /* microseconds */
#define MAX_DECIMAL_TSRESOL 19 /* 10^19 still fits 64 bits */
#define MAX_BINARY_TSRESOL 63
/* Binary fractions finer than 2^-20 s (about a microsecond) are cut to it
 * first, so that the multiplication to microseconds cannot overflow. */
#define BINARY_FRACTION_BITS 20

struct interface {
	int linktype;
	uint32_t snaplen;
	bool tsresol_binary; /* units of 2^-exp rather than 10^-exp seconds */
	uint8_t tsresol_exp;
	uint64_t tsoffset; /* seconds added to every timestamp (a signed value) */
};

struct pcapng_reader {
	FILE *f;
	bool big_endian; /* this section's byte order */
	bool in_section; /* a Section Header Block has been read */
	bool failed;     /* an error was reported: nothing more is read */
	struct interface *ifaces;
	size_t n_ifaces, cap_ifaces;
	uint8_t *buf; /* the current block's body and trailing length */
	size_t buf_cap;
	uint64_t block_offset; /* file offset of the current block, for messages */
	uint64_t offset;       /* file offset of the next byte */
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static uint16_t get16(const struct pcapng_reader *r, struct reader *rd)
{
	return r->big_endian ? rd_be16(rd) : rd_le16(rd);
}

static uint32_t get32(const struct pcapng_reader *r, struct reader *rd)
{
	return r->big_endian ? rd_be32(rd) : rd_le32(rd);
}

static uint64_t get64(const struct pcapng_reader *r, struct reader *rd)
{
	return r->big_endian ? rd_be64(rd) : rd_le64(rd);
}

/* ---- reading blocks ------------------------------------------------------ */

static size_t read_some(struct pcapng_reader *r, void *dst, size_t n)
{
	size_t got = fread(dst, 1, n, r->f);
	r->offset += got;
	return got;
}

static bool ensure_buffer(struct pcapng_reader *r, size_t n)
{
	if (n <= r->buf_cap)
		return true;
	size_t cap = r->buf_cap ? r->buf_cap : 4096;
	while (cap < n)
		cap *= 2;
	uint8_t *b = realloc(r->buf, cap);
	if (!b)
		return false;
	r->buf = b;
	r->buf_cap = cap;
	return true;
}

/* A Section Header Block gives its byte order in the magic after its length
 * field, so the magic is read before the length can be. */
static int read_byte_order(struct pcapng_reader *r, uint8_t magic[4], char *err, size_t errlen)
{
	if (read_some(r, magic, 4) != 4)
		return fail(err, errlen, "truncated section header at offset %" PRIu64,
		            r->block_offset);
	struct reader m = rd_init(magic, 4);
	uint32_t be = rd_be32(&m);
	rd_seek(&m, 0);
	uint32_t le = rd_le32(&m);
	if (be != BYTE_ORDER_MAGIC && le != BYTE_ORDER_MAGIC)
		return fail(err, errlen, "bad byte-order magic 0x%08" PRIx32 " at offset %" PRIu64,
		            be, r->block_offset);
	r->big_endian = be == BYTE_ORDER_MAGIC;
	return 0;
}

static int check_block_length(const struct pcapng_reader *r, uint32_t total, char *err,
                              size_t errlen)
{
	if (total % 4)
		return fail(err, errlen,
		            "block at offset %" PRIu64 ": length %" PRIu32
		            " is not a multiple of 4",
		            r->block_offset, total);
	if (total < BLOCK_MIN)
		return fail(err, errlen,
		            "block at offset %" PRIu64 ": length %" PRIu32
		            " is below the minimum %d",
		            r->block_offset, total, BLOCK_MIN);
	if (total > PCAPNG_MAX_BLOCK)
		return fail(err, errlen,
		            "block at offset %" PRIu64 ": length %" PRIu32 " is over the limit %u",
		            r->block_offset, total, PCAPNG_MAX_BLOCK);
	return 0;
}

/* Reads the next block: 1 with its type and body (what lies between the two
 * length fields), 0 at a clean end of file, -1 on an error. */
static int read_block(struct pcapng_reader *r, uint32_t *type, struct reader *body, char *err,
                      size_t errlen)
{
	uint8_t head[8], magic[4];
	r->block_offset = r->offset;
	size_t got = read_some(r, head, sizeof(head));
	if (ferror(r->f))
		return fail(err, errlen, "read error at offset %" PRIu64, r->offset);
	if (got == 0)
		return 0;
	if (got < sizeof(head))
		return fail(err, errlen, "truncated block header at offset %" PRIu64,
		            r->block_offset);

	struct reader h = rd_init(head, sizeof(head));
	bool is_shb = rd_be32(&h) == BLOCK_SHB;
	if (!is_shb && !r->in_section)
		return fail(err, errlen, "not a pcapng file: no section header block at the start");
	if (is_shb && read_byte_order(r, magic, err, errlen) < 0)
		return -1;
	rd_seek(&h, 0);
	*type = get32(r, &h);
	uint32_t total = get32(r, &h);
	if (check_block_length(r, total, err, errlen) < 0)
		return -1;

	size_t body_len = total - BLOCK_MIN;
	size_t have = is_shb ? sizeof(magic) : 0;
	if (body_len < have)
		return fail(err, errlen, "section header at offset %" PRIu64 " is too short",
		            r->block_offset);
	if (!ensure_buffer(r, body_len + 4))
		return fail(err, errlen, "out of memory for a block of %" PRIu32 " bytes", total);
	memcpy(r->buf, magic, have);
	size_t want = body_len + 4 - have;
	got = read_some(r, r->buf + have, want);
	if (got < want)
		return fail(err, errlen,
		            "truncated block at offset %" PRIu64 ": %zu of its %" PRIu32
		            " bytes are in the file",
		            r->block_offset, sizeof(head) + have + got, total);

	struct reader block = rd_init(r->buf, body_len + 4);
	*body = rd_sub(&block, body_len);
	uint32_t total_again = get32(r, &block);
	if (total_again != total)
		return fail(err, errlen,
		            "block at offset %" PRIu64 ": trailing length %" PRIu32
		            " differs from the leading %" PRIu32,
		            r->block_offset, total_again, total);
	return 1;
}

/* ---- blocks -------------------------------------------------------------- */

static int parse_shb(struct pcapng_reader *r, struct reader body, char *err, size_t errlen)
{
	rd_skip(&body, 4); /* byte-order magic, already used */
	uint16_t major = get16(r, &body);
	uint16_t minor = get16(r, &body);
	rd_skip(&body, 8); /* section length: often -1, never needed */
	if (!rd_ok(&body))
		return fail(err, errlen, "section header at offset %" PRIu64 " is too short",
		            r->block_offset);
	if (major != 1)
		return fail(err, errlen,
		            "section at offset %" PRIu64 ": pcapng version %u.%u unsupported",
		            r->block_offset, major, minor);
	r->in_section = true;
	r->n_ifaces = 0; /* interface ids restart with every section */
	return 0;
}

static bool set_tsresol(struct interface *i, uint8_t v)
{
	i->tsresol_binary = (v & 0x80) != 0;
	i->tsresol_exp = v & 0x7f;
	return i->tsresol_exp <= (i->tsresol_binary ? MAX_BINARY_TSRESOL : MAX_DECIMAL_TSRESOL);
}

/* The options we need from an IDB.  A list cut short keeps what came
 * before: options are hints, the block itself is sound. */
static int parse_interface_options(const struct pcapng_reader *r, struct reader opts,
                                   struct interface *i, char *err, size_t errlen)
{
	while (rd_remaining(&opts) >= 4) {
		uint16_t code = get16(r, &opts);
		uint16_t len = get16(r, &opts);
		struct reader value = rd_sub(&opts, len);
		if (!rd_ok(&opts) || code == OPT_END)
			break;
		size_t pad = (4 - len % 4) % 4;
		rd_skip(&opts, pad < rd_remaining(&opts) ? pad : rd_remaining(&opts));
		if (code == OPT_IF_TSRESOL && len >= 1) {
			uint8_t v = rd_u8(&value);
			if (!set_tsresol(i, v))
				return fail(err, errlen,
				            "interface block at offset %" PRIu64
				            ": if_tsresol 0x%02x is too fine",
				            r->block_offset, v);
		} else if (code == OPT_IF_TSOFFSET && len >= 8) {
			i->tsoffset = get64(r, &value);
		}
	}
	return 0;
}

static int parse_idb(struct pcapng_reader *r, struct reader body, char *err, size_t errlen)
{
	struct interface i = {.tsresol_exp = DEFAULT_TSRESOL};

	i.linktype = get16(r, &body);
	rd_skip(&body, 2); /* reserved */
	i.snaplen = get32(r, &body);
	if (!rd_ok(&body))
		return fail(err, errlen, "interface block at offset %" PRIu64 " is too short",
		            r->block_offset);
	if (parse_interface_options(r, body, &i, err, errlen) < 0)
		return -1;
	if (r->n_ifaces == PCAPNG_MAX_INTERFACES)
		return fail(err, errlen, "more than %d interfaces in one section",
		            PCAPNG_MAX_INTERFACES);
	if (r->n_ifaces == r->cap_ifaces) {
		size_t cap = r->cap_ifaces ? r->cap_ifaces * 2 : 8;
		struct interface *a = realloc(r->ifaces, cap * sizeof(*a));
		if (!a)
			return fail(err, errlen, "out of memory for interfaces");
		r->ifaces = a;
		r->cap_ifaces = cap;
	}
	r->ifaces[r->n_ifaces++] = i;
	return 0;
}

static const uint64_t powers_of_ten[MAX_DECIMAL_TSRESOL + 1] = {
    1ull,
    10ull,
    100ull,
    1000ull,
    10000ull,
    100000ull,
    1000000ull,
    10000000ull,
    100000000ull,
    1000000000ull,
    10000000000ull,
    100000000000ull,
    1000000000000ull,
    10000000000000ull,
    100000000000000ull,
    1000000000000000ull,
    10000000000000000ull,
    100000000000000000ull,
    1000000000000000000ull,
    10000000000000000000ull,
};

/* A timestamp in the interface's units, as microseconds since the epoch. */
static usec_t timestamp_usec(const struct interface *i, uint64_t ts)
{
	unsigned e = i->tsresol_exp;
	uint64_t usec;

	if (i->tsresol_binary) {
		uint64_t whole = ts >> e;
		uint64_t frac = ts & ((UINT64_C(1) << e) - 1);
		unsigned bits = e;
		if (bits > BINARY_FRACTION_BITS) {
			frac >>= bits - BINARY_FRACTION_BITS;
			bits = BINARY_FRACTION_BITS;
		}
		usec = whole * USEC_PER_SEC + ((frac * USEC_PER_SEC) >> bits);
	} else if (e <= DEFAULT_TSRESOL) {
		usec = ts * powers_of_ten[DEFAULT_TSRESOL - e];
	} else {
		usec = ts / powers_of_ten[e - DEFAULT_TSRESOL];
	}
	/* unsigned arithmetic wraps, which adds a negative offset correctly */
	return usec + i->tsoffset * USEC_PER_SEC;
}

static const struct interface *interface_at(const struct pcapng_reader *r, uint32_t id, char *err,
                                            size_t errlen)
{
	if (id < r->n_ifaces)
		return &r->ifaces[id];
	fail(err, errlen,
	     "packet block at offset %" PRIu64 " names interface %" PRIu32
	     " but the section has %zu",
	     r->block_offset, id, r->n_ifaces);
	return NULL;
}

/* Takes caplen bytes of packet data from body: never more than the block. */
static int take_data(const struct pcapng_reader *r, struct reader *body, uint32_t caplen,
                     struct pcapng_packet *out, char *err, size_t errlen)
{
	size_t left = rd_remaining(body);
	out->data = rd_take(body, caplen);
	if (!out->data)
		return fail(err, errlen,
		            "packet block at offset %" PRIu64 ": captured length %" PRIu32
		            " runs past the block (%zu bytes left)",
		            r->block_offset, caplen, left);
	out->caplen = caplen;
	if (out->wirelen < caplen) /* the original length is the one that is wrong */
		out->wirelen = caplen;
	return 1;
}

/* Enhanced Packet Block (type 6) and the obsolete Packet Block (type 2):
 * the same fields, the interface id 32 or 16 bits wide. */
static int parse_packet_block(struct pcapng_reader *r, uint32_t type, struct reader body,
                              struct pcapng_packet *out, char *err, size_t errlen)
{
	uint32_t id;
	if (type == BLOCK_EPB) {
		id = get32(r, &body);
	} else {
		id = get16(r, &body);
		rd_skip(&body, 2); /* drops count */
	}
	uint64_t ts = (uint64_t)get32(r, &body) << 32;
	ts |= get32(r, &body);
	uint32_t caplen = get32(r, &body);
	out->wirelen = get32(r, &body);
	if (!rd_ok(&body))
		return fail(err, errlen, "packet block at offset %" PRIu64 " is too short",
		            r->block_offset);
	const struct interface *i = interface_at(r, id, err, errlen);
	if (!i)
		return -1;
	out->interface = id;
	out->linktype = i->linktype;
	out->ts_usec = timestamp_usec(i, ts);
	return take_data(r, &body, caplen, out, err, errlen);
}

/* Simple Packet Block: interface 0, no timestamp, and a captured length
 * that follows from the block length, the original length and the snaplen. */
static int parse_spb(struct pcapng_reader *r, struct reader body, struct pcapng_packet *out,
                     char *err, size_t errlen)
{
	out->wirelen = get32(r, &body);
	if (!rd_ok(&body))
		return fail(err, errlen, "simple packet block at offset %" PRIu64 " is too short",
		            r->block_offset);
	const struct interface *i = interface_at(r, 0, err, errlen);
	if (!i)
		return -1;
	size_t caplen = rd_remaining(&body); /* includes the padding */
	if (caplen > out->wirelen)
		caplen = out->wirelen;
	if (i->snaplen && caplen > i->snaplen)
		caplen = i->snaplen;
	out->interface = 0;
	out->linktype = i->linktype;
	out->ts_usec = 0;
	return take_data(r, &body, (uint32_t)caplen, out, err, errlen);
}

/* 1 with a packet in *out, 0 for a block that carries none, -1 on error. */
static int parse_block(struct pcapng_reader *r, uint32_t type, struct reader body,
                       struct pcapng_packet *out, char *err, size_t errlen)
{
	switch (type) {
	case BLOCK_SHB:
		return parse_shb(r, body, err, errlen);
	case BLOCK_IDB:
		return parse_idb(r, body, err, errlen);
	case BLOCK_EPB:
	case BLOCK_PB:
		return parse_packet_block(r, type, body, out, err, errlen);
	case BLOCK_SPB:
		return parse_spb(r, body, out, err, errlen);
	default:
		return 0; /* statistics, name resolution, secrets, custom...: skipped */
	}
}

int pcapng_next(struct pcapng_reader *r, struct pcapng_packet *out, char *err, size_t errlen)
{
	if (r->failed)
		return fail(err, errlen, "the pcapng reader stopped at an earlier error");
	for (;;) {
		uint32_t type;
		struct reader body;
		memset(out, 0, sizeof(*out));
		int rc = read_block(r, &type, &body, err, errlen);
		if (rc == 0)
			return 0;
		if (rc > 0)
			rc = parse_block(r, type, body, out, err, errlen);
		if (rc < 0) {
			r->failed = true;
			return -1;
		}
		if (rc > 0)
			return 1;
		/* a block without a packet: on to the next */
	}
}

struct pcapng_reader *pcapng_open(FILE *f, char *err, size_t errlen)
{
	struct pcapng_reader *r = calloc(1, sizeof(*r));
	if (!r) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	r->f = f;

	uint32_t type;
	struct reader body;
	int rc = read_block(r, &type, &body, err, errlen);
	if (rc == 0)
		fail(err, errlen, "empty file");
	if (rc > 0)
		rc = parse_shb(r, body, err, errlen) == 0 ? 1 : -1;
	if (rc <= 0) {
		pcapng_close(r);
		return NULL;
	}
	return r;
}

void pcapng_close(struct pcapng_reader *r)
{
	if (!r)
		return;
	free(r->ifaces);
	free(r->buf);
	free(r);
}
