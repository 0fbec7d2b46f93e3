/* The BER reader (src/ber.c): tags, lengths, integers, OIDs, and every way
 * a hostile encoding can lie. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portolan/ber.h"

static void test_low_tag_short_length(void **unused)
{
	(void)unused;
	static const uint8_t b[] = {0x02, 0x01, 0x05, 0xa3, 0x00};
	struct reader r = rd_init(b, sizeof b);
	struct ber_tlv t;
	assert_true(ber_next(&r, &t));
	assert_int_equal(t.cls, BER_CLASS_UNIVERSAL);
	assert_false(t.constructed);
	assert_int_equal(t.tag, BER_TAG_INTEGER);
	assert_int_equal(rd_remaining(&t.value), 1);
	assert_int_equal(t.header_len, 2);
	assert_true(ber_next(&r, &t));
	assert_int_equal(t.cls, BER_CLASS_CONTEXT);
	assert_true(t.constructed);
	assert_int_equal(t.tag, 3);
	assert_int_equal(rd_remaining(&t.value), 0);
	/* the end: false, reader still fine */
	assert_false(ber_next(&r, &t));
	assert_true(rd_ok(&r));
}

static void test_high_tag(void **unused)
{
	(void)unused;
	/* [APPLICATION 31], [PRIVATE 200], [CONTEXT 0x0fffffff] */
	static const uint8_t b[] = {0x5f, 0x1f, 0x00, 0xdf, 0x81, 0x48, 0x00,
	                            0xbf, 0xff, 0xff, 0xff, 0x7f, 0x00};
	struct reader r = rd_init(b, sizeof b);
	struct ber_tlv t;
	assert_true(ber_next(&r, &t));
	assert_int_equal(t.cls, BER_CLASS_APPLICATION);
	assert_int_equal(t.tag, 31);
	assert_true(ber_next(&r, &t));
	assert_int_equal(t.cls, BER_CLASS_PRIVATE);
	assert_int_equal(t.tag, 200);
	assert_true(ber_next(&r, &t));
	assert_int_equal(t.cls, BER_CLASS_CONTEXT);
	assert_true(t.constructed);
	assert_int_equal(t.tag, BER_MAX_TAG);
	assert_false(ber_next(&r, &t));
	assert_true(rd_ok(&r));
}

static void expect_malformed(const uint8_t *b, size_t n)
{
	struct reader r = rd_init(b, n);
	struct ber_tlv t;
	assert_false(ber_next(&r, &t));
	assert_false(rd_ok(&r));
}

static void test_bad_tags(void **unused)
{
	(void)unused;
	static const uint8_t padded[] = {0x1f, 0x80, 0x01, 0x00};
	static const uint8_t too_long[] = {0x1f, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00};
	static const uint8_t unfinished[] = {0x1f, 0x81};
	expect_malformed(padded, sizeof padded);
	expect_malformed(too_long, sizeof too_long);
	expect_malformed(unfinished, sizeof unfinished);
}

static void test_long_lengths(void **unused)
{
	(void)unused;
	uint8_t b[300];
	memset(b, 0xab, sizeof b);
	/* 0x81 0x80: 128 bytes */
	b[0] = 0x04, b[1] = 0x81, b[2] = 0x80;
	struct reader r = rd_init(b, 3 + 128);
	struct ber_tlv t;
	assert_true(ber_next(&r, &t));
	assert_int_equal(rd_remaining(&t.value), 128);
	assert_int_equal(t.header_len, 3);
	/* 0x82 0x01 0x00: 256 bytes; also non-minimal 0x84 0 0 1 0 */
	b[0] = 0x04, b[1] = 0x82, b[2] = 0x01, b[3] = 0x00;
	r = rd_init(b, 4 + 256);
	assert_true(ber_next(&r, &t));
	assert_int_equal(rd_remaining(&t.value), 256);
	b[0] = 0x04, b[1] = 0x84, b[2] = 0, b[3] = 0, b[4] = 1, b[5] = 0;
	r = rd_init(b, 6 + 256);
	assert_true(ber_next(&r, &t));
	assert_int_equal(rd_remaining(&t.value), 256);
	/* zero length in long form */
	static const uint8_t z[] = {0x04, 0x81, 0x00};
	r = rd_init(z, sizeof z);
	assert_true(ber_next(&r, &t));
	assert_int_equal(rd_remaining(&t.value), 0);
}

static void test_bad_lengths(void **unused)
{
	(void)unused;
	static const uint8_t indefinite[] = {0x30, 0x80, 0x02, 0x01, 0x00, 0x00, 0x00};
	static const uint8_t reserved[] = {0x04, 0xff, 0x00};
	static const uint8_t beyond[] = {0x04, 0x05, 'a', 'b'};
	static const uint8_t beyond_long[] = {0x04, 0x82, 0x01, 0x00, 'a'};
	/* 2^64 - 1 and 2^64 */
	static const uint8_t huge[] = {0x04, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t huge2[] = {0x04, 0x89, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 'x'};
	static const uint8_t many[] = {0x04, 0xfe, 0x00};
	static const uint8_t cut_len[] = {0x04, 0x82, 0x01};
	static const uint8_t no_len[] = {0x04};
	expect_malformed(indefinite, sizeof indefinite);
	expect_malformed(reserved, sizeof reserved);
	expect_malformed(beyond, sizeof beyond);
	expect_malformed(beyond_long, sizeof beyond_long);
	expect_malformed(huge, sizeof huge);
	expect_malformed(huge2, sizeof huge2);
	expect_malformed(many, sizeof many);
	expect_malformed(cut_len, sizeof cut_len);
	expect_malformed(no_len, sizeof no_len);
}

static void test_child_beyond_parent(void **unused)
{
	(void)unused;
	/* SEQUENCE of 3 bytes holding an OCTET STRING claiming 5: the child
	 * must not reach into the bytes after the parent. */
	static const uint8_t b[] = {0x30, 0x03, 0x04, 0x05, 'a', 'b', 'c', 'd', 'e'};
	struct reader r = rd_init(b, sizeof b);
	struct ber_tlv seq, inner;
	assert_true(ber_next(&r, &seq));
	assert_false(ber_next(&seq.value, &inner));
	assert_false(rd_ok(&seq.value));
}

static void test_child_beyond_parent2(void **unused)
{
	(void)unused;
	static const uint8_t b[] = {0x30, 0x03, 0x04, 0x05, 'a', 0x04, 0x01, 'z'};
	struct reader r = rd_init(b, sizeof b);
	struct ber_tlv seq, inner;
	assert_true(ber_next(&r, &seq));
	assert_int_equal(rd_remaining(&seq.value), 3);
	assert_false(ber_next(&seq.value, &inner));
	assert_false(rd_ok(&seq.value));
	/* the parent is untouched and goes on */
	assert_true(ber_next(&r, &inner));
	assert_int_equal(inner.tag, BER_TAG_OCTET_STRING);
}

static void test_truncation_every_offset(void **unused)
{
	(void)unused;
	/* a nested structure with long-form lengths and a high tag */
	uint8_t b[200];
	size_t n = 0;
	b[n++] = 0x30, b[n++] = 0x81, b[n++] = 0;
	b[n++] = 0x02, b[n++] = 0x02, b[n++] = 0x01, b[n++] = 0x00;
	b[n++] = 0x5f, b[n++] = 0x81, b[n++] = 0x01, b[n++] = 0x82, b[n++] = 0x00, b[n++] = 0x80;
	for (int i = 0; i < 128; i++)
		b[n++] = 'x';
	b[2] = (uint8_t)(n - 3);
	for (size_t cut = 0; cut <= n; cut++) {
		struct reader r = rd_init(b, cut);
		struct ber_tlv t;
		bool ok = ber_next(&r, &t);
		if (cut < n) {
			assert_false(ok);
			assert_true(cut == 0 || !rd_ok(&r));
		} else {
			assert_true(ok);
			struct ber_tlv c;
			assert_true(ber_next(&t.value, &c));
			int64_t v;
			assert_true(ber_int64(c.value, &v));
			assert_int_equal(v, 256);
			assert_true(ber_next(&t.value, &c));
			assert_int_equal(c.cls, BER_CLASS_APPLICATION);
			assert_int_equal(c.tag, 129);
			assert_int_equal(rd_remaining(&c.value), 128);
			assert_false(ber_next(&t.value, &c));
			assert_true(rd_ok(&t.value));
		}
	}
}

static void test_expect(void **unused)
{
	(void)unused;
	static const uint8_t b[] = {0x02, 0x01, 0x07, 0x04, 0x00};
	struct reader r = rd_init(b, sizeof b), v;
	assert_true(ber_expect(&r, BER_CLASS_UNIVERSAL, false, BER_TAG_INTEGER, &v));
	assert_false(ber_expect(&r, BER_CLASS_UNIVERSAL, false, BER_TAG_INTEGER, &v));
	assert_false(rd_ok(&r));
	assert_false(rd_ok(&v));
}

static bool int_of(const uint8_t *b, size_t n, int64_t *v)
{
	return ber_int64(rd_init(b, n), v);
}

static void test_integers(void **unused)
{
	(void)unused;
	int64_t v;
	assert_true(int_of((const uint8_t *)"\x00", 1, &v));
	assert_int_equal(v, 0);
	assert_true(int_of((const uint8_t *)"\x7f", 1, &v));
	assert_int_equal(v, 127);
	assert_true(int_of((const uint8_t *)"\x80", 1, &v));
	assert_int_equal(v, -128);
	assert_true(int_of((const uint8_t *)"\x00\x80", 2, &v));
	assert_int_equal(v, 128);
	assert_true(int_of((const uint8_t *)"\xff\x7f", 2, &v));
	assert_int_equal(v, -129);
	assert_true(int_of((const uint8_t *)"\x7f\xff\xff\xff\xff\xff\xff\xff", 8, &v));
	assert_true(v == INT64_MAX);
	assert_true(int_of((const uint8_t *)"\x80\x00\x00\x00\x00\x00\x00\x00", 8, &v));
	assert_true(v == INT64_MIN);
	/* redundant sign octets are fine */
	assert_true(int_of((const uint8_t *)"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05", 10, &v));
	assert_int_equal(v, 5);
	assert_true(int_of((const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe", 10, &v));
	assert_int_equal(v, -2);
	/* too big, empty */
	assert_false(int_of((const uint8_t *)"\x01\x00\x00\x00\x00\x00\x00\x00\x00", 9, &v));
	assert_false(int_of((const uint8_t *)"\x00\x80\x00\x00\x00\x00\x00\x00\x00", 9, &v));
	assert_false(int_of((const uint8_t *)"", 0, &v));

	uint64_t u;
	assert_true(ber_uint64(rd_init("\x00\xff\xff\xff\xff\xff\xff\xff\xff", 9), &u));
	assert_true(u == UINT64_MAX);
	assert_false(ber_uint64(rd_init("\x80", 1), &u));
	assert_false(ber_uint64(rd_init("\x01\x00\x00\x00\x00\x00\x00\x00\x00", 9), &u));
	assert_false(ber_uint64(rd_init("", 0), &u));
}

static bool oid_of(const char *b, size_t n, char *buf, size_t cap)
{
	return ber_oid_text(rd_init(b, n), buf, cap, NULL);
}

static void test_oids(void **unused)
{
	(void)unused;
	char buf[128];
	assert_true(oid_of("\x2b\x06\x01\x02\x01\x01\x05\x00", 8, buf, sizeof buf));
	assert_string_equal(buf, "1.3.6.1.2.1.1.5.0");
	assert_true(oid_of("\x00", 1, buf, sizeof buf));
	assert_string_equal(buf, "0.0");
	assert_true(oid_of("\x27", 1, buf, sizeof buf));
	assert_string_equal(buf, "0.39");
	assert_true(oid_of("\x28", 1, buf, sizeof buf));
	assert_string_equal(buf, "1.0");
	assert_true(oid_of("\x50", 1, buf, sizeof buf));
	assert_string_equal(buf, "2.0");
	/* first arc 2 with a large second arc: 2.999 = 1079 = 0x88 0x37 */
	assert_true(oid_of("\x88\x37\x03", 3, buf, sizeof buf));
	assert_string_equal(buf, "2.999.3");
	/* a 64-bit arc */
	assert_true(oid_of("\x2b\x81\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11, buf, sizeof buf));
	assert_string_equal(buf, "1.3.18446744073709551615");
	/* rejected: 65 bits, 0x80 padding (also on the first arc), unfinished,
	 * empty */
	assert_false(oid_of("\x2b\x82\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11, buf, sizeof buf));
	assert_false(oid_of("\x2b\x80\x01", 3, buf, sizeof buf));
	assert_false(oid_of("\x80\x2b", 2, buf, sizeof buf));
	assert_false(oid_of("\x2b\x86", 2, buf, sizeof buf));
	assert_false(oid_of("", 0, buf, sizeof buf));
	assert_string_equal(buf, "");
}

static void test_oid_cut(void **unused)
{
	(void)unused;
	char buf[12];
	bool cut;
	/* 1.3.6.1.2.1.1.5.0 is 17 chars: cut to whole arcs and "..." */
	assert_true(
	    ber_oid_text(rd_init("\x2b\x06\x01\x02\x01\x01\x05\x00", 8), buf, sizeof buf, &cut));
	assert_true(cut);
	assert_string_equal(buf, "1.3.6.1...");
	/* exactly fits */
	char small[6];
	assert_true(ber_oid_text(rd_init("\x2b\x06", 2), small, sizeof small, &cut));
	assert_false(cut);
	assert_string_equal(small, "1.3.6");
	char tiny[2];
	assert_true(ber_oid_text(rd_init("\x2b\x06", 2), tiny, sizeof tiny, &cut));
	assert_true(cut);
	assert_string_equal(tiny, "");
	/* a malformed tail is found even when the text is cut */
	assert_false(ber_oid_text(rd_init("\x2b\x06\x01\x02\x01\x01\x05\x80\x01", 9), buf,
	                          sizeof buf, &cut));
}

/* Every prefix and every byte flip of a message: never a crash, never a
 * read outside the buffer (run under ASan). */
static void walk(struct reader r, int depth)
{
	struct ber_tlv t;
	char buf[64];
	int64_t v;
	uint64_t u;
	while (depth < BER_MAX_DEPTH && ber_next(&r, &t)) {
		if (t.constructed)
			walk(t.value, depth + 1);
		else {
			(void)ber_int64(t.value, &v);
			(void)ber_uint64(t.value, &u);
			(void)ber_oid_text(t.value, buf, sizeof buf, NULL);
		}
	}
}

static void test_fuzz_mutations(void **unused)
{
	(void)unused;
	static const uint8_t msg[] = {0x30, 0x29, 0x02, 0x01, 0x01, 0x04, 0x06, 'p',  'u',
	                              'b',  'l',  'i',  'c',  0xa0, 0x1c, 0x02, 0x04, 0x12,
	                              0x34, 0x56, 0x78, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00,
	                              0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08, 0x2b, 0x06, 0x01,
	                              0x02, 0x01, 0x01, 0x05, 0x00, 0x05, 0x00};
	uint8_t *b = malloc(sizeof msg);
	assert_non_null(b);
	for (size_t cut = 0; cut <= sizeof msg; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		assert_non_null(p);
		memcpy(p, msg, cut);
		walk(rd_init(p, cut), 0);
		free(p);
	}
	for (size_t i = 0; i < sizeof msg; i++)
		for (unsigned x = 0; x < 256; x++) {
			memcpy(b, msg, sizeof msg);
			b[i] = (uint8_t)x;
			walk(rd_init(b, sizeof msg), 0);
		}
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_low_tag_short_length),
	    cmocka_unit_test(test_high_tag),
	    cmocka_unit_test(test_bad_tags),
	    cmocka_unit_test(test_long_lengths),
	    cmocka_unit_test(test_bad_lengths),
	    cmocka_unit_test(test_child_beyond_parent),
	    cmocka_unit_test(test_child_beyond_parent2),
	    cmocka_unit_test(test_truncation_every_offset),
	    cmocka_unit_test(test_expect),
	    cmocka_unit_test(test_integers),
	    cmocka_unit_test(test_oids),
	    cmocka_unit_test(test_oid_cut),
	    cmocka_unit_test(test_fuzz_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
