/* defrag.c: IPv4 and IPv6 fragments in order, reversed, overlapping with the
 * same and with different bytes, duplicated, timing out on packet time, and
 * every cap.  Fragments are built byte by byte and go through decode_packet,
 * as they do in the pipeline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "portolan/decode.h"
#include "portolan/defrag.h"

struct buf {
	uint8_t b[70000];
	size_t n;
};

static void put8(struct buf *b, unsigned v)
{
	assert_true(b->n < sizeof(b->b));
	b->b[b->n++] = (uint8_t)v;
}

static void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void put32(struct buf *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}

static void put_bytes(struct buf *b, const void *data, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	if (n)
		memcpy(b->b + b->n, data, n);
	b->n += n;
}

static unsigned get16(const uint8_t *at)
{
	return (unsigned)at[0] << 8 | at[1];
}

static const uint8_t SRC4[4] = {192, 0, 2, 1};
static const uint8_t DST4[4] = {192, 0, 2, 2};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

/* A UDP datagram of total bytes (header included), payload a pattern. */
static void make_udp(uint8_t *out, size_t total)
{
	out[0] = 0x30;
	out[1] = 0x39; /* 12345 */
	out[2] = 0;
	out[3] = 53;
	out[4] = (uint8_t)(total >> 8);
	out[5] = (uint8_t)total;
	out[6] = out[7] = 0;
	for (size_t i = 8; i < total; i++)
		out[i] = (uint8_t)(i * 7 + 3);
}

static struct buf frame;   /* the fragment being built */
static uint8_t udp[65536]; /* the datagram's payload being fragmented */

/* Builds and decodes an IPv4 fragment carrying data[0, len) at offset. */
static void ipv4_fragment_of(struct packet *p, unsigned id, unsigned proto, size_t offset,
                             const uint8_t *data, size_t len, bool more, usec_t ts)
{
	struct buf *b = &frame;
	b->n = 0;
	put8(b, 0x45);
	put8(b, 0);
	put16(b, (unsigned)(20 + len));
	put16(b, id);
	put16(b, (more ? 0x2000u : 0) | (unsigned)(offset / 8));
	put8(b, 64);
	put8(b, proto);
	put16(b, 0x1234); /* a wrong checksum: the rebuilt header must get a right one */
	put_bytes(b, SRC4, 4);
	put_bytes(b, DST4, 4);
	put_bytes(b, data, len);
	assert_int_equal(decode_packet(LINK_RAW, b->b, (uint32_t)b->n, (uint32_t)b->n, ts, p),
	                 DECODE_FRAGMENT);
}

/* A fragment of the UDP datagram in udp[]. */
static void ipv4_fragment(struct packet *p, unsigned id, size_t offset, size_t len, bool more,
                          usec_t ts)
{
	ipv4_fragment_of(p, id, 17, offset, udp + offset, len, more, ts);
}

static const uint8_t *add4(struct defrag *d, unsigned id, size_t offset, size_t len, bool more,
                           usec_t ts, size_t *out_len)
{
	struct packet p;
	ipv4_fragment(&p, id, offset, len, more, ts);
	return defrag_add(d, &p, out_len);
}

/* Checks a rebuilt IPv4 datagram carrying udp[0, udp_len). */
static void assert_rebuilt_ipv4(const uint8_t *dg, size_t len, size_t udp_len)
{
	assert_non_null(dg);
	assert_int_equal(len, 20 + udp_len);
	assert_int_equal(get16(dg + 2), 20 + udp_len);
	assert_int_equal(get16(dg + 6) & 0x3fff, 0); /* MF and offset cleared */
	assert_int_equal(inet_checksum_finish(inet_checksum_add(0, dg, 20)), 0xffff);
	assert_memory_equal(dg + 20, udp, udp_len);

	struct packet p = {.caplen = (uint32_t)len, .wirelen = (uint32_t)len};
	assert_int_equal(decode_ip(dg, len, &p), DECODE_OK);
	assert_int_equal(p.sport, 12345);
	assert_int_equal(p.dport, 53);
	assert_int_equal(p.payload_len, udp_len - 8);
	assert_int_equal(p.error, DERR_NONE);
}

static struct defrag *new_defrag(void)
{
	struct defrag *d = defrag_new(NULL);
	assert_non_null(d);
	return d;
}

/* ---- IPv4 ----------------------------------------------------------------- */

static void test_in_order(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	size_t len;
	make_udp(udp, 48);
	assert_null(add4(d, 1, 0, 16, true, 100, &len));
	assert_int_equal(len, 0);
	assert_true(defrag_bytes_held(d) > 0);
	assert_null(add4(d, 1, 16, 16, true, 101, &len));
	const uint8_t *dg = add4(d, 1, 32, 16, false, 102, &len);
	assert_rebuilt_ipv4(dg, len, 48);
	assert_int_equal(defrag_bytes_held(d), 0);
	const struct defrag_stats *s = defrag_stats(d);
	assert_int_equal(s->fragments, 3);
	assert_int_equal(s->reassembled, 1);
	assert_int_equal(s->overlaps, 0);
	assert_int_equal(s->malformed, 0);
	defrag_free(d);
}

static void test_reversed(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	size_t len;
	make_udp(udp, 1000);
	assert_null(add4(d, 2, 992, 8, false, 1, &len));
	for (size_t off = 984;; off -= 8) {
		const uint8_t *dg = add4(d, 2, off, 8, true, 1, &len);
		if (off == 0) {
			assert_rebuilt_ipv4(dg, len, 1000);
			break;
		}
		assert_null(dg);
	}
	assert_int_equal(defrag_stats(d)->reassembled, 1);
	assert_int_equal(defrag_bytes_held(d), 0);
	defrag_free(d);
}

static void test_header_with_options(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	struct packet p;
	size_t len;
	make_udp(udp, 40);

	/* the first fragment has a 24-byte header; the later one does not */
	struct buf *b = &frame;
	b->n = 0;
	put8(b, 0x46);
	put8(b, 0);
	put16(b, 24 + 24);
	put16(b, 5);
	put16(b, 0x2000);
	put8(b, 64);
	put8(b, 17);
	put16(b, 0);
	put_bytes(b, SRC4, 4);
	put_bytes(b, DST4, 4);
	put32(b, 0x94040000); /* router alert */
	put_bytes(b, udp, 24);
	assert_int_equal(decode_packet(LINK_RAW, b->b, (uint32_t)b->n, (uint32_t)b->n, 1, &p),
	                 DECODE_FRAGMENT);
	assert_null(defrag_add(d, &p, &len));

	const uint8_t *dg = add4(d, 5, 24, 16, false, 2, &len);
	assert_non_null(dg);
	assert_int_equal(len, 24 + 40);
	assert_int_equal(get16(dg + 2), 64);
	assert_int_equal(inet_checksum_finish(inet_checksum_add(0, dg, 24)), 0xffff);
	assert_int_equal(dg[20], 0x94);
	assert_memory_equal(dg + 24, udp, 40);
	defrag_free(d);
}

static void test_overlap_same_bytes(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	size_t len;
	make_udp(udp, 64);
	assert_null(add4(d, 3, 0, 24, true, 1, &len));
	assert_null(add4(d, 3, 16, 24, true, 1, &len));
	const uint8_t *dg = add4(d, 3, 32, 32, false, 1, &len);
	assert_rebuilt_ipv4(dg, len, 64);
	const struct defrag_stats *s = defrag_stats(d);
	assert_int_equal(s->overlaps, 2);
	assert_int_equal(s->overlaps_differing, 0);
	defrag_free(d);
}

static void test_overlap_different_bytes_first_wins(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	struct packet p;
	size_t len;
	make_udp(udp, 48);

	assert_null(add4(d, 4, 0, 24, true, 1, &len));
	/* a second copy of [16, 40) with other bytes in it */
	uint8_t evil[24];
	memcpy(evil, udp + 16, sizeof(evil));
	memset(evil, 'X', 8);
	ipv4_fragment_of(&p, 4, 17, 16, evil, sizeof(evil), true, 2);
	assert_null(defrag_add(d, &p, &len));
	const uint8_t *dg = add4(d, 4, 40, 8, false, 3, &len);
	assert_rebuilt_ipv4(dg, len, 48); /* the first copy's bytes */
	const struct defrag_stats *s = defrag_stats(d);
	assert_int_equal(s->overlaps, 1);
	assert_int_equal(s->overlaps_differing, 1);
	defrag_free(d);
}

static void test_fragment_spanning_holes(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	size_t len;
	make_udp(udp, 48);
	assert_null(add4(d, 6, 8, 8, true, 1, &len));
	assert_null(add4(d, 6, 24, 8, true, 1, &len));
	/* one fragment over both: fills the holes around and between them */
	assert_null(add4(d, 6, 0, 40, true, 1, &len));
	const uint8_t *dg = add4(d, 6, 40, 8, false, 1, &len);
	assert_rebuilt_ipv4(dg, len, 48);
	assert_int_equal(defrag_stats(d)->overlaps, 1);
	assert_int_equal(defrag_stats(d)->overlaps_differing, 0);
	defrag_free(d);
}

static void test_duplicates(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	size_t len;
	make_udp(udp, 32);
	assert_null(add4(d, 7, 0, 16, true, 1, &len));
	assert_null(add4(d, 7, 0, 16, true, 1, &len));
	const uint8_t *dg = add4(d, 7, 16, 16, false, 1, &len);
	assert_rebuilt_ipv4(dg, len, 32);
	assert_int_equal(defrag_stats(d)->overlaps, 1);

	/* a copy arriving after the datagram was rebuilt starts a new one,
	 * which never completes and times out */
	assert_null(add4(d, 7, 16, 16, false, 2, &len));
	assert_true(defrag_bytes_held(d) > 0);
	defrag_expire(d, 2 + 31 * USEC_PER_SEC);
	assert_int_equal(defrag_bytes_held(d), 0);
	assert_int_equal(defrag_stats(d)->timeouts, 1);
	defrag_free(d);
}

static void test_protocol_is_part_of_the_ipv4_key(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	struct packet p;
	size_t len;
	make_udp(udp, 32);
	ipv4_fragment_of(&p, 8, 6, 0, udp, 16, true, 1); /* same id, TCP */
	assert_null(defrag_add(d, &p, &len));
	assert_null(add4(d, 8, 16, 16, false, 1, &len)); /* UDP's second half */
	const uint8_t *dg = add4(d, 8, 0, 16, true, 1, &len);
	assert_rebuilt_ipv4(dg, len, 32);
	assert_true(defrag_bytes_held(d) > 0); /* the TCP half still waits */
	defrag_free(d);
}

static void test_timeout_on_packet_time(void **state)
{
	(void)state;
	struct defrag_config cfg;
	defrag_config_default(&cfg);
	assert_int_equal(cfg.timeout, 30 * USEC_PER_SEC);
	struct defrag *d = defrag_new(&cfg);
	size_t len;
	usec_t t0 = 1700000000 * USEC_PER_SEC;
	make_udp(udp, 48);

	assert_null(add4(d, 9, 0, 16, true, t0, &len));
	assert_null(add4(d, 9, 32, 16, false, t0 + USEC_PER_SEC, &len));
	/* 29 s of packet time later: still held, whatever the wall clock says */
	defrag_expire(d, t0 + 29 * USEC_PER_SEC);
	assert_int_equal(defrag_stats(d)->timeouts, 0);
	assert_true(defrag_bytes_held(d) > 0);
	/* the timeout counts from the first fragment */
	defrag_expire(d, t0 + 30 * USEC_PER_SEC + 1);
	assert_int_equal(defrag_stats(d)->timeouts, 1);
	assert_int_equal(defrag_bytes_held(d), 0);

	/* the missing piece, too late, cannot complete anything */
	assert_null(add4(d, 9, 16, 16, true, t0 + 31 * USEC_PER_SEC, &len));
	assert_int_equal(defrag_stats(d)->reassembled, 0);

	/* expiry also runs on every fragment added */
	assert_null(add4(d, 10, 0, 16, true, t0 + 62 * USEC_PER_SEC, &len));
	assert_int_equal(defrag_stats(d)->timeouts, 2);

	/* a clock stepping back never expires anything early */
	defrag_expire(d, t0);
	assert_int_equal(defrag_stats(d)->timeouts, 2);
	defrag_free(d);
}

static void test_cap_datagram_count(void **state)
{
	(void)state;
	struct defrag_config cfg = {.max_datagrams = 2};
	struct defrag *d = defrag_new(&cfg);
	size_t len;
	make_udp(udp, 32);
	assert_null(add4(d, 11, 0, 16, true, 1, &len));
	assert_null(add4(d, 12, 0, 16, true, 2, &len));
	assert_null(add4(d, 13, 0, 16, true, 3, &len)); /* the oldest (11) goes */
	assert_int_equal(defrag_stats(d)->dropped_cap, 1);

	assert_null(add4(d, 11, 16, 16, false, 4, &len)); /* 12 goes now */
	assert_int_equal(defrag_stats(d)->dropped_cap, 2);
	const uint8_t *dg = add4(d, 13, 16, 16, false, 5, &len);
	assert_rebuilt_ipv4(dg, len, 32);
	defrag_free(d);
}

static void test_cap_datagram_bytes(void **state)
{
	(void)state;
	struct defrag_config cfg = {.max_datagram = 50};
	struct defrag *d = defrag_new(&cfg);
	size_t len;
	make_udp(udp, 48);
	assert_null(add4(d, 14, 0, 16, true, 1, &len));  /* 20 + 16 */
	assert_null(add4(d, 14, 16, 16, true, 1, &len)); /* 20 + 32: over */
	assert_int_equal(defrag_stats(d)->dropped_cap, 1);
	assert_int_equal(defrag_bytes_held(d), 0);
	defrag_free(d);
}

static void test_cap_total_bytes_drops_oldest(void **state)
{
	(void)state;
	size_t len;
	make_udp(udp, 32);

	/* measure what one datagram with one 16-byte piece holds */
	struct defrag *probe = new_defrag();
	assert_null(add4(probe, 1, 0, 16, true, 1, &len));
	size_t one = defrag_bytes_held(probe);
	defrag_free(probe);

	struct defrag_config cfg = {.max_bytes = one + one / 2};
	struct defrag *d = defrag_new(&cfg);
	assert_null(add4(d, 15, 0, 16, true, 1, &len));
	assert_int_equal(defrag_bytes_held(d), one);
	assert_null(add4(d, 16, 0, 16, true, 2, &len)); /* 15 is dropped to make room */
	assert_int_equal(defrag_stats(d)->dropped_cap, 1);
	assert_int_equal(defrag_bytes_held(d), one);
	assert_true(defrag_bytes_held(d) <= cfg.max_bytes);
	const uint8_t *dg = add4(d, 16, 16, 16, false, 3, &len);
	assert_rebuilt_ipv4(dg, len, 32);

	/* a datagram that alone passes the cap goes itself */
	struct defrag_config tiny = {.max_bytes = one / 2};
	struct defrag *t = defrag_new(&tiny);
	assert_null(add4(t, 17, 0, 16, true, 1, &len));
	assert_int_equal(defrag_stats(t)->dropped_cap, 1);
	assert_int_equal(defrag_bytes_held(t), 0);
	defrag_free(t);
	defrag_free(d);
}

static void test_cap_fragments_per_datagram(void **state)
{
	(void)state;
	struct defrag_config cfg = {.max_fragments = 3};
	struct defrag *d = defrag_new(&cfg);
	size_t len;
	make_udp(udp, 40);
	assert_null(add4(d, 18, 0, 8, true, 1, &len));
	assert_null(add4(d, 18, 8, 8, true, 1, &len));
	assert_null(add4(d, 18, 8, 8, true, 1, &len)); /* a duplicate counts */
	assert_null(add4(d, 18, 16, 8, true, 1, &len));
	assert_int_equal(defrag_stats(d)->dropped_cap, 1);
	assert_int_equal(defrag_bytes_held(d), 0);
	defrag_free(d);
}

static void test_malformed_fragments(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	struct packet p;
	size_t len;
	make_udp(udp, 64);

	/* past 65535 */
	ipv4_fragment_of(&p, 20, 17, 65528, udp, 16, true, 1);
	assert_null(defrag_add(d, &p, &len));
	assert_int_equal(defrag_stats(d)->malformed, 1);

	/* empty */
	ipv4_fragment_of(&p, 22, 17, 8, udp, 0, true, 1);
	assert_null(defrag_add(d, &p, &len));
	assert_int_equal(defrag_stats(d)->malformed, 2);
	assert_int_equal(defrag_bytes_held(d), 0);

	/* cut by the snaplen: unusable, counted apart */
	ipv4_fragment(&p, 24, 0, 16, true, 1);
	assert_int_equal(decode_packet(LINK_RAW, frame.b, 30, 36, 1, &p), DECODE_FRAGMENT);
	assert_true(p.snap_truncated);
	assert_null(defrag_add(d, &p, &len));
	assert_int_equal(defrag_stats(d)->truncated, 1);
	assert_int_equal(defrag_stats(d)->malformed, 2);
	defrag_free(d);
}

static void test_end_set_by_the_first_last_fragment(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	size_t len;
	make_udp(udp, 24);

	/* not the last, yet 12 bytes long: used as 8, like Linux does */
	assert_null(add4(d, 26, 0, 12, true, 1, &len));
	assert_int_equal(defrag_stats(d)->malformed, 1);
	/* held before anyone said where the datagram ends */
	assert_null(add4(d, 26, 16, 24, true, 1, &len));
	assert_int_equal(defrag_stats(d)->malformed, 1);
	/* the last fragment says 24: the bytes held past it go */
	const uint8_t *dg = add4(d, 26, 8, 16, false, 1, &len);
	assert_rebuilt_ipv4(dg, len, 24);
	assert_int_equal(defrag_stats(d)->malformed, 2);
	assert_int_equal(defrag_stats(d)->overlaps, 1);
	assert_int_equal(defrag_bytes_held(d), 0);

	/* once the end is known, later fragments are clipped to it */
	make_udp(udp, 32);
	assert_null(add4(d, 27, 16, 16, false, 1, &len));
	assert_null(add4(d, 27, 8, 32, true, 1, &len)); /* runs to 40 */
	assert_int_equal(defrag_stats(d)->malformed, 3);
	assert_null(add4(d, 27, 8, 8, false, 1, &len)); /* a second "last", ending at 16 */
	assert_int_equal(defrag_stats(d)->malformed, 4);
	dg = add4(d, 27, 0, 8, true, 1, &len);
	assert_rebuilt_ipv4(dg, len, 32);
	assert_int_equal(defrag_stats(d)->reassembled, 2);
	defrag_free(d);
}

/* Zeek's fragmented-1 trace: an 18-byte first fragment (MF set), the last
 * fragment [48, 164), then a 304-byte fragment at 0 that overlaps both with
 * other bytes and runs past the end.  tshark rebuilds 164 bytes from it. */
static void test_overlong_overlapping_fragment(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	struct packet p;
	size_t len;
	make_udp(udp, 164);

	assert_null(add4(d, 0xf2, 0, 18, true, 1, &len));
	assert_null(add4(d, 0xf2, 48, 116, false, 2, &len));
	uint8_t other[304];
	memset(other, 'X', sizeof(other));
	memcpy(other + 16, udp + 16, 32); /* the hole it fills is right */
	ipv4_fragment_of(&p, 0xf2, 17, 0, other, sizeof(other), true, 3);
	const uint8_t *dg = defrag_add(d, &p, &len);
	assert_rebuilt_ipv4(dg, len, 164); /* first copies everywhere */
	const struct defrag_stats *s = defrag_stats(d);
	assert_int_equal(s->malformed, 2);
	assert_int_equal(s->overlaps, 1);
	assert_int_equal(s->overlaps_differing, 1);
	defrag_free(d);
}

static void test_ipv4_too_long_once_rebuilt(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	size_t len;
	make_udp(udp, 65535);
	/* 65535 payload bytes fit the offsets, but not with a header in front */
	for (size_t off = 0; off < 57344; off += 8192)
		assert_null(add4(d, 25, off, 8192, true, 1, &len));
	assert_null(add4(d, 25, 57344, 65535 - 57344, false, 1, &len));
	assert_int_equal(defrag_stats(d)->malformed, 1);
	assert_int_equal(defrag_stats(d)->reassembled, 0);
	assert_int_equal(defrag_bytes_held(d), 0);
	defrag_free(d);
}

/* ---- IPv6 ----------------------------------------------------------------- */

/* An IPv6 fragment of udp[], optionally after a Hop-by-Hop header. */
static void ipv6_fragment(struct packet *p, uint32_t id, bool hop_by_hop, unsigned frag_nh,
                          size_t offset, size_t len, bool more)
{
	struct buf *b = &frame;
	b->n = 0;
	put32(b, 0x60000000);
	put16(b, (unsigned)((hop_by_hop ? 8 : 0) + 8 + len));
	put8(b, hop_by_hop ? 0 : 44);
	put8(b, 64);
	put_bytes(b, SRC6, 16);
	put_bytes(b, DST6, 16);
	if (hop_by_hop) {
		put8(b, 44);
		put8(b, 0);
		put8(b, 1); /* PadN */
		put8(b, 4);
		put32(b, 0);
	}
	put8(b, frag_nh);
	put8(b, 0);
	put16(b, (unsigned)offset | (more ? 1 : 0));
	put32(b, id);
	put_bytes(b, udp + offset, len);
	assert_int_equal(decode_packet(LINK_RAW, b->b, (uint32_t)b->n, (uint32_t)b->n, 1, p),
	                 DECODE_FRAGMENT);
}

static void assert_rebuilt_ipv6(const uint8_t *dg, size_t len, size_t header_len, size_t udp_len)
{
	assert_non_null(dg);
	assert_int_equal(len, header_len + udp_len);
	assert_int_equal(get16(dg + 4), header_len - 40 + udp_len);
	assert_memory_equal(dg + header_len, udp, udp_len);
	struct packet p = {.caplen = (uint32_t)len, .wirelen = (uint32_t)len};
	assert_int_equal(decode_ip(dg, len, &p), DECODE_OK);
	assert_int_equal(p.ip_version, 6);
	assert_int_equal(p.ip_proto, 17);
	assert_int_equal(p.ip_header_len, header_len);
	assert_int_equal(p.sport, 12345);
	assert_int_equal(p.payload_len, udp_len - 8);
	assert_memory_equal(p.src.b, SRC6, 16);
}

static void test_ipv6_fragments(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	struct packet p;
	size_t len;
	make_udp(udp, 3000);

	ipv6_fragment(&p, 0x1001, false, 17, 1448, 1448, true);
	assert_null(defrag_add(d, &p, &len));
	ipv6_fragment(&p, 0x1001, false, 17, 2896, 104, false);
	assert_null(defrag_add(d, &p, &len));
	ipv6_fragment(&p, 0x1001, false, 17, 0, 1448, true);
	const uint8_t *dg = defrag_add(d, &p, &len);
	assert_rebuilt_ipv6(dg, len, 40, 3000);
	assert_int_equal(dg[6], 17); /* the fixed header names UDP now */
	assert_int_equal(defrag_bytes_held(d), 0);
	defrag_free(d);
}

static void test_ipv6_fragments_after_extension(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	struct packet p;
	size_t len;
	make_udp(udp, 100);

	ipv6_fragment(&p, 0x2002, true, 17, 0, 64, true);
	assert_int_equal(p.frag_unfrag_len, 48);
	assert_null(defrag_add(d, &p, &len));
	/* RFC 8200: later fragment headers may name another next header; only
	 * the first fragment's counts, and they still belong together */
	ipv6_fragment(&p, 0x2002, true, 59, 64, 36, false);
	const uint8_t *dg = defrag_add(d, &p, &len);
	assert_rebuilt_ipv6(dg, len, 48, 100);
	assert_int_equal(dg[6], 0);   /* still Hop-by-Hop first */
	assert_int_equal(dg[40], 17); /* which now names UDP */
	defrag_free(d);
}

static void test_ipv6_largest_datagram(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	struct packet p;
	size_t len;
	make_udp(udp, 65535);
	const uint8_t *dg = NULL;
	for (size_t off = 0; off < 65535; off += 8192) {
		size_t n = off + 8192 <= 65535 ? 8192 : 65535 - off;
		ipv6_fragment(&p, 0x3003, false, 17, off, n, off + n < 65535);
		dg = defrag_add(d, &p, &len);
	}
	assert_rebuilt_ipv6(dg, len, 40, 65535);
	defrag_free(d);
}

static void test_ipv4_and_ipv6_do_not_mix(void **state)
{
	(void)state;
	struct defrag *d = new_defrag();
	struct packet p;
	size_t len;
	make_udp(udp, 32);
	ipv6_fragment(&p, 30, false, 17, 0, 16, true);
	assert_null(defrag_add(d, &p, &len));
	assert_null(add4(d, 30, 16, 16, false, 1, &len));
	assert_int_equal(defrag_stats(d)->reassembled, 0);
	defrag_free(d); /* frees both, AddressSanitizer checks */
}

static void test_config_defaults(void **state)
{
	(void)state;
	struct defrag_config cfg;
	defrag_config_default(&cfg);
	assert_int_equal(cfg.max_bytes, 16u << 20);
	assert_int_equal(cfg.max_datagrams, 4096);
	assert_true(cfg.max_datagram >= 65535);
	assert_true(cfg.max_fragments >= 64);
	defrag_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_order),
	    cmocka_unit_test(test_reversed),
	    cmocka_unit_test(test_header_with_options),
	    cmocka_unit_test(test_overlap_same_bytes),
	    cmocka_unit_test(test_overlap_different_bytes_first_wins),
	    cmocka_unit_test(test_fragment_spanning_holes),
	    cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_protocol_is_part_of_the_ipv4_key),
	    cmocka_unit_test(test_timeout_on_packet_time),
	    cmocka_unit_test(test_cap_datagram_count),
	    cmocka_unit_test(test_cap_datagram_bytes),
	    cmocka_unit_test(test_cap_total_bytes_drops_oldest),
	    cmocka_unit_test(test_cap_fragments_per_datagram),
	    cmocka_unit_test(test_malformed_fragments),
	    cmocka_unit_test(test_end_set_by_the_first_last_fragment),
	    cmocka_unit_test(test_overlong_overlapping_fragment),
	    cmocka_unit_test(test_ipv4_too_long_once_rebuilt),
	    cmocka_unit_test(test_ipv6_fragments),
	    cmocka_unit_test(test_ipv6_fragments_after_extension),
	    cmocka_unit_test(test_ipv6_largest_datagram),
	    cmocka_unit_test(test_ipv4_and_ipv6_do_not_mix),
	    cmocka_unit_test(test_config_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
