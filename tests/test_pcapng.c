/* pcapng.c: files built block by block in both byte orders, with several
 * sections and interfaces, timestamp resolutions, every packet block type,
 * unknown blocks, and the ways a file can be broken. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "portolan/pcapng.h"

/* ---- a pcapng builder ------------------------------------------------------ */

struct ng {
	uint8_t b[8192];
	size_t n;
	bool big_endian; /* the current section's byte order */
};

static void w8(struct ng *g, unsigned v)
{
	assert_true(g->n < sizeof(g->b));
	g->b[g->n++] = (uint8_t)v;
}

static void w16(struct ng *g, unsigned v)
{
	if (g->big_endian) {
		w8(g, v >> 8);
		w8(g, v);
	} else {
		w8(g, v);
		w8(g, v >> 8);
	}
}

static void w32(struct ng *g, uint32_t v)
{
	if (g->big_endian) {
		w16(g, v >> 16);
		w16(g, v & 0xffff);
	} else {
		w16(g, v & 0xffff);
		w16(g, v >> 16);
	}
}

static void w64(struct ng *g, uint64_t v)
{
	if (g->big_endian) {
		w32(g, (uint32_t)(v >> 32));
		w32(g, (uint32_t)v);
	} else {
		w32(g, (uint32_t)v);
		w32(g, (uint32_t)(v >> 32));
	}
}

static void wbytes(struct ng *g, const void *data, size_t n)
{
	assert_true(g->n + n <= sizeof(g->b));
	if (n)
		memcpy(g->b + g->n, data, n);
	g->n += n;
}

static void wpad(struct ng *g)
{
	while (g->n % 4)
		w8(g, 0);
}

static size_t block_begin(struct ng *g, uint32_t type)
{
	size_t at = g->n;
	w32(g, type);
	w32(g, 0); /* the length, patched by block_end */
	return at;
}

static void block_end(struct ng *g, size_t at)
{
	wpad(g);
	uint32_t total = (uint32_t)(g->n - at + 4);
	w32(g, total);
	size_t end = g->n;
	g->n = at + 4;
	w32(g, total);
	g->n = end;
}

static void shb(struct ng *g, bool big_endian)
{
	g->big_endian = big_endian;
	size_t at = block_begin(g, 0x0a0d0d0a);
	w32(g, 0x1a2b3c4d);
	w16(g, 1);
	w16(g, 0);
	w64(g, UINT64_MAX); /* section length unknown */
	block_end(g, at);
}

/* An IDB; tsresol < 0 leaves the option out, tsoffset likewise when 0. */
static void idb(struct ng *g, unsigned linktype, uint32_t snaplen, int tsresol, int64_t tsoffset)
{
	size_t at = block_begin(g, 1);
	w16(g, linktype);
	w16(g, 0);
	w32(g, snaplen);
	w16(g, 2); /* if_name, an option we do not use */
	w16(g, 3);
	wbytes(g, "em0", 3);
	wpad(g);
	if (tsresol >= 0) {
		w16(g, 9);
		w16(g, 1);
		w8(g, (unsigned)tsresol);
		wpad(g);
	}
	if (tsoffset) {
		w16(g, 14);
		w16(g, 8);
		w64(g, (uint64_t)tsoffset);
	}
	w16(g, 0); /* opt_endofopt */
	w16(g, 0);
	block_end(g, at);
}

static void epb(struct ng *g, uint32_t iface, uint64_t ts, const void *data, uint32_t caplen,
                uint32_t wirelen)
{
	size_t at = block_begin(g, 6);
	w32(g, iface);
	w32(g, (uint32_t)(ts >> 32));
	w32(g, (uint32_t)ts);
	w32(g, caplen);
	w32(g, wirelen);
	wbytes(g, data, caplen);
	wpad(g);
	w16(g, 1); /* opt_comment */
	w16(g, 2);
	wbytes(g, "hi", 2);
	wpad(g);
	block_end(g, at);
}

static void spb(struct ng *g, uint32_t wirelen, const void *data, size_t len)
{
	size_t at = block_begin(g, 3);
	w32(g, wirelen);
	wbytes(g, data, len);
	block_end(g, at);
}

static void obsolete_pb(struct ng *g, uint16_t iface, uint64_t ts, const void *data,
                        uint32_t caplen, uint32_t wirelen)
{
	size_t at = block_begin(g, 2);
	w16(g, iface);
	w16(g, 0); /* drops */
	w32(g, (uint32_t)(ts >> 32));
	w32(g, (uint32_t)ts);
	w32(g, caplen);
	w32(g, wirelen);
	wbytes(g, data, caplen);
	block_end(g, at);
}

static void other_block(struct ng *g, uint32_t type, size_t body_len)
{
	size_t at = block_begin(g, type);
	for (size_t i = 0; i < body_len; i++)
		w8(g, 0x5a);
	block_end(g, at);
}

/* ---- reading it back ------------------------------------------------------- */

struct opened {
	FILE *f;
	struct pcapng_reader *r;
	char err[256];
};

static FILE *file_of(const void *data, size_t n)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	if (n)
		assert_int_equal(fwrite(data, 1, n, f), n);
	rewind(f);
	return f;
}

static void open_ng(struct opened *o, const struct ng *g)
{
	o->err[0] = 0;
	o->f = file_of(g->b, g->n);
	o->r = pcapng_open(o->f, o->err, sizeof(o->err));
	assert_non_null(o->r);
}

static void close_ng(struct opened *o)
{
	pcapng_close(o->r);
	fclose(o->f);
}

static int next(struct opened *o, struct pcapng_packet *p)
{
	return pcapng_next(o->r, p, o->err, sizeof(o->err));
}

/* Opens, expects packets before the error, then an error naming what. */
static void expect_error_after(const struct ng *g, int packets, const char *what)
{
	struct opened o;
	struct pcapng_packet p;
	open_ng(&o, g);
	for (int i = 0; i < packets; i++)
		assert_int_equal(next(&o, &p), 1);
	assert_int_equal(next(&o, &p), -1);
	if (!strstr(o.err, what))
		fail_msg("error '%s' does not say '%s'", o.err, what);
	/* and it stays stopped */
	assert_int_equal(next(&o, &p), -1);
	close_ng(&o);
}

static const uint8_t FRAME[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0,   0,
                                0,    0,    1,    0x08, 0x06, 0xaa, 0xbb, 0xcc};
#define T0 UINT64_C(1700000000123456)

static void check_simple_section(bool big_endian)
{
	struct ng g = {.n = 0};
	shb(&g, big_endian);
	idb(&g, 1, 65535, -1, 0);
	epb(&g, 0, T0, FRAME, sizeof(FRAME), 60);

	struct opened o;
	struct pcapng_packet p;
	open_ng(&o, &g);
	assert_int_equal(next(&o, &p), 1);
	assert_int_equal(p.ts_usec, T0);
	assert_int_equal(p.caplen, sizeof(FRAME));
	assert_int_equal(p.wirelen, 60);
	assert_int_equal(p.linktype, 1);
	assert_int_equal(p.interface, 0);
	assert_memory_equal(p.data, FRAME, sizeof(FRAME));
	assert_int_equal(next(&o, &p), 0);
	assert_int_equal(next(&o, &p), 0);
	close_ng(&o);
}

static void test_little_endian(void **state)
{
	(void)state;
	check_simple_section(false);
}

static void test_big_endian(void **state)
{
	(void)state;
	check_simple_section(true);
}

static void test_interfaces_with_different_link_types(void **state)
{
	(void)state;
	struct ng g = {.n = 0};
	shb(&g, false);
	idb(&g, 1, 65535, -1, 0);
	idb(&g, 113, 8192, -1, 0); /* what libpcap 1.10 refuses */
	epb(&g, 1, T0, FRAME, 16, 16);
	epb(&g, 0, T0 + 1, FRAME, sizeof(FRAME), sizeof(FRAME));

	struct opened o;
	struct pcapng_packet p;
	open_ng(&o, &g);
	assert_int_equal(next(&o, &p), 1);
	assert_int_equal(p.interface, 1);
	assert_int_equal(p.linktype, 113);
	assert_int_equal(p.caplen, 16);
	assert_int_equal(next(&o, &p), 1);
	assert_int_equal(p.interface, 0);
	assert_int_equal(p.linktype, 1);
	assert_int_equal(p.ts_usec, T0 + 1);
	assert_int_equal(next(&o, &p), 0);
	close_ng(&o);
}

static void test_sections_in_both_byte_orders(void **state)
{
	(void)state;
	struct ng g = {.n = 0};
	shb(&g, false);
	idb(&g, 1, 0, -1, 0);
	idb(&g, 1, 0, -1, 0);
	epb(&g, 1, T0, FRAME, 4, 4);
	shb(&g, true); /* interface ids start again */
	idb(&g, 101, 0, -1, 0);
	epb(&g, 0, T0 + 5, FRAME, 8, 8);
	epb(&g, 1, T0 + 6, FRAME, 8, 8); /* no interface 1 in this section */

	struct opened o;
	struct pcapng_packet p;
	open_ng(&o, &g);
	assert_int_equal(next(&o, &p), 1);
	assert_int_equal(p.linktype, 1);
	assert_int_equal(p.interface, 1);
	assert_int_equal(next(&o, &p), 1);
	assert_int_equal(p.linktype, 101);
	assert_int_equal(p.ts_usec, T0 + 5);
	assert_int_equal(p.caplen, 8);
	assert_int_equal(next(&o, &p), -1);
	assert_non_null(strstr(o.err, "interface 1"));
	close_ng(&o);
}

static uint64_t first_ts(int tsresol, int64_t tsoffset, uint64_t raw)
{
	struct ng g = {.n = 0};
	shb(&g, false);
	idb(&g, 1, 0, tsresol, tsoffset);
	epb(&g, 0, raw, FRAME, 4, 4);
	struct opened o;
	struct pcapng_packet p;
	open_ng(&o, &g);
	assert_int_equal(next(&o, &p), 1);
	close_ng(&o);
	return p.ts_usec;
}

static void test_timestamp_resolutions(void **state)
{
	(void)state;
	/* no option: microseconds */
	assert_int_equal(first_ts(-1, 0, T0), T0);
	assert_int_equal(first_ts(6, 0, T0), T0);
	/* nanoseconds */
	assert_int_equal(first_ts(9, 0, UINT64_C(1700000000123456789)), T0);
	/* milliseconds and seconds */
	assert_int_equal(first_ts(3, 0, 1234), 1234000);
	assert_int_equal(first_ts(0, 0, 7), 7000000);
	/* powers of two: 2^-10 s and 2^-30 s units */
	assert_int_equal(first_ts(0x80 | 10, 0, 5 * 1024 + 512), 5500000);
	assert_int_equal(first_ts(0x80 | 30, 0, (UINT64_C(3) << 30) | (UINT64_C(1) << 29)),
	                 3500000);
	assert_int_equal(first_ts(0x80 | 0, 0, 42), 42000000);
	/* picoseconds: 10^-12 */
	assert_int_equal(first_ts(12, 0, UINT64_C(2000000000000)), 2000000);
	/* if_tsoffset in seconds, either sign */
	assert_int_equal(first_ts(-1, 1000, 5), 1000000005);
	assert_int_equal(first_ts(-1, -1, 3000000), 2000000);
	assert_int_equal(first_ts(9, 10, 1500), 10000001);
}

static void test_tsresol_too_fine_is_an_error(void **state)
{
	(void)state;
	struct ng g = {.n = 0};
	shb(&g, false);
	idb(&g, 1, 0, 20, 0);
	epb(&g, 0, 1, FRAME, 4, 4);
	expect_error_after(&g, 0, "if_tsresol");

	g.n = 0;
	shb(&g, false);
	idb(&g, 1, 0, 0x80 | 64, 0);
	expect_error_after(&g, 0, "if_tsresol");
}

static void test_simple_and_obsolete_packet_blocks(void **state)
{
	(void)state;
	static const uint8_t ten[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	struct ng g = {.n = 0};
	shb(&g, true);
	idb(&g, 1, 4, -1, 0);
	spb(&g, 10, ten, 4); /* cut to the snaplen */
	obsolete_pb(&g, 0, T0, ten, 10, 20);

	struct opened o;
	struct pcapng_packet p;
	open_ng(&o, &g);
	assert_int_equal(next(&o, &p), 1);
	assert_int_equal(p.caplen, 4);
	assert_int_equal(p.wirelen, 10);
	assert_int_equal(p.ts_usec, 0);
	assert_memory_equal(p.data, ten, 4);
	assert_int_equal(next(&o, &p), 1);
	assert_int_equal(p.caplen, 10);
	assert_int_equal(p.wirelen, 20);
	assert_int_equal(p.ts_usec, T0);
	assert_int_equal(next(&o, &p), 0);
	close_ng(&o);

	/* no snaplen: the original length decides, padding excluded */
	g.n = 0;
	shb(&g, false);
	idb(&g, 1, 0, -1, 0);
	spb(&g, 5, ten, 5);
	open_ng(&o, &g);
	assert_int_equal(next(&o, &p), 1);
	assert_int_equal(p.caplen, 5);
	assert_int_equal(p.wirelen, 5);
	close_ng(&o);

	/* an SPB before any interface */
	g.n = 0;
	shb(&g, false);
	spb(&g, 5, ten, 5);
	expect_error_after(&g, 0, "interface 0");
}

static void test_unknown_blocks_are_skipped(void **state)
{
	(void)state;
	struct ng g = {.n = 0};
	shb(&g, false);
	other_block(&g, 0x00000bad, 13); /* custom */
	idb(&g, 1, 0, -1, 0);
	other_block(&g, 0x00000004, 8);  /* name resolution */
	other_block(&g, 0x00000005, 20); /* interface statistics */
	other_block(&g, 0x0000000a, 0);  /* decryption secrets, empty */
	epb(&g, 0, T0, FRAME, 6, 6);
	other_block(&g, 0x12345678, 4);

	struct opened o;
	struct pcapng_packet p;
	open_ng(&o, &g);
	assert_int_equal(next(&o, &p), 1);
	assert_int_equal(p.caplen, 6);
	assert_int_equal(next(&o, &p), 0);
	close_ng(&o);
}

/* A file with one good packet, then a block with a bad length field. */
static void bad_length_after_a_packet(struct ng *g, uint32_t length)
{
	g->n = 0;
	shb(g, false);
	idb(g, 1, 0, -1, 0);
	epb(g, 0, T0, FRAME, 4, 4);
	w32(g, 0x00000bad);
	w32(g, length);
	for (int i = 0; i < 64; i++)
		w8(g, 0);
}

static void test_bad_block_lengths(void **state)
{
	(void)state;
	struct ng g;
	bad_length_after_a_packet(&g, 0x7ffffffc);
	expect_error_after(&g, 1, "over the limit");
	bad_length_after_a_packet(&g, (16u << 20) + 4);
	expect_error_after(&g, 1, "over the limit");
	bad_length_after_a_packet(&g, 30);
	expect_error_after(&g, 1, "not a multiple of 4");
	bad_length_after_a_packet(&g, 8);
	expect_error_after(&g, 1, "below the minimum");
	bad_length_after_a_packet(&g, 0);
	expect_error_after(&g, 1, "below the minimum");

	/* a trailing length that disagrees */
	g.n = 0;
	shb(&g, false);
	idb(&g, 1, 0, -1, 0);
	epb(&g, 0, T0, FRAME, 4, 4);
	g.b[g.n - 4] ^= 4;
	expect_error_after(&g, 0, "trailing length");
}

static void test_truncated_file(void **state)
{
	(void)state;
	struct ng full = {.n = 0};
	shb(&full, false);
	idb(&full, 1, 0, -1, 0);
	epb(&full, 0, T0, FRAME, sizeof(FRAME), sizeof(FRAME));
	size_t before_epb = full.n;
	epb(&full, 0, T0 + 1, FRAME, sizeof(FRAME), sizeof(FRAME));

	/* cut at every byte of the last block */
	for (size_t cut = before_epb + 1; cut < full.n; cut++) {
		struct ng g = full;
		g.n = cut;
		expect_error_after(&g, 1, "truncated");
	}
}

static void test_captured_length_past_block(void **state)
{
	(void)state;
	struct ng g = {.n = 0};
	shb(&g, false);
	idb(&g, 1, 0, -1, 0);
	size_t at = block_begin(&g, 6);
	w32(&g, 0);
	w32(&g, 0);
	w32(&g, 1);
	w32(&g, 1000); /* caplen */
	w32(&g, 1000);
	wbytes(&g, FRAME, 8);
	block_end(&g, at);
	expect_error_after(&g, 0, "runs past the block");

	/* an EPB too short for its own fields */
	g.n = 0;
	shb(&g, false);
	idb(&g, 1, 0, -1, 0);
	other_block(&g, 6, 8);
	expect_error_after(&g, 0, "too short");
}

static void test_interface_block_options_cut_short(void **state)
{
	(void)state;
	struct ng g = {.n = 0};
	shb(&g, false);
	size_t at = block_begin(&g, 1);
	w16(&g, 228);
	w16(&g, 0);
	w32(&g, 0);
	w16(&g, 2); /* if_name claiming more than the block holds */
	w16(&g, 200);
	wbytes(&g, "abcd", 4);
	block_end(&g, at);
	epb(&g, 0, T0, FRAME, 4, 4);

	struct opened o;
	struct pcapng_packet p;
	open_ng(&o, &g);
	assert_int_equal(next(&o, &p), 1); /* the interface is still usable */
	assert_int_equal(p.linktype, 228);
	assert_int_equal(p.ts_usec, T0);
	close_ng(&o);
}

static void expect_open_error(const void *data, size_t n, const char *what)
{
	char err[256] = "";
	FILE *f = file_of(data, n);
	assert_null(pcapng_open(f, err, sizeof(err)));
	if (!strstr(err, what))
		fail_msg("error '%s' does not say '%s'", err, what);
	fclose(f);
}

static void test_not_pcapng(void **state)
{
	(void)state;
	static const uint8_t pcap[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0};
	expect_open_error(pcap, sizeof(pcap), "not a pcapng");
	expect_open_error("", 0, "empty");

	struct ng g = {.n = 0};
	shb(&g, false);
	g.b[8] = 0x11; /* byte-order magic */
	expect_open_error(g.b, g.n, "byte-order magic");

	g.n = 0;
	shb(&g, true);
	g.b[13] = 2; /* major version 2 */
	expect_open_error(g.b, g.n, "version 2.0");

	g.n = 0;
	shb(&g, false);
	expect_open_error(g.b, 10, "truncated");
}

/* The corpus capture libpcap refuses: 126 interfaces with different link
 * types and snap lengths.  Skipped when ../shared is not there. */
static void test_corpus_file(void **state)
{
	(void)state;
	const char *src = getenv("PORTOLAN_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/../shared/corpus/pcaps/zeek__ldap__modify-request.pcapng",
	         src ? src : "..");
	FILE *f = fopen(path, "rb");
	if (!f) {
		skip();
		return;
	}
	char err[256] = "";
	struct pcapng_reader *r = pcapng_open(f, err, sizeof(err));
	assert_non_null(r);
	struct pcapng_packet p;
	int rc, n = 0;
	uint64_t last = 0;
	while ((rc = pcapng_next(r, &p, err, sizeof(err))) == 1) {
		if (n == 0) {
			assert_int_equal(p.ts_usec, UINT64_C(1725966551231155));
			assert_int_equal(p.caplen, 90);
		}
		assert_int_equal(p.interface, 48);
		assert_int_equal(p.linktype, 1);
		assert_true(p.ts_usec >= last);
		last = p.ts_usec;
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, 17);
	pcapng_close(r);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_little_endian),
	    cmocka_unit_test(test_big_endian),
	    cmocka_unit_test(test_interfaces_with_different_link_types),
	    cmocka_unit_test(test_sections_in_both_byte_orders),
	    cmocka_unit_test(test_timestamp_resolutions),
	    cmocka_unit_test(test_tsresol_too_fine_is_an_error),
	    cmocka_unit_test(test_simple_and_obsolete_packet_blocks),
	    cmocka_unit_test(test_unknown_blocks_are_skipped),
	    cmocka_unit_test(test_bad_block_lengths),
	    cmocka_unit_test(test_truncated_file),
	    cmocka_unit_test(test_captured_length_past_block),
	    cmocka_unit_test(test_interface_block_options_cut_short),
	    cmocka_unit_test(test_not_pcapng),
	    cmocka_unit_test(test_corpus_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
