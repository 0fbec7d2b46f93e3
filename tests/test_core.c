/* The small core pieces: the reader, escaping, the JSON emitter, Community
 * ID, port classes and counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "portolan/community_id.h"
#include "portolan/counters.h"
#include "portolan/json.h"
#include "portolan/ports.h"
#include "portolan/reader.h"

static void test_reader_reads_and_fails_sticky(void **state)
{
	(void)state;
	const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
	struct reader r = rd_init(data, sizeof data);
	assert_int_equal(rd_u8(&r), 1);
	assert_int_equal(rd_be16(&r), 0x0203);
	assert_int_equal(rd_le16(&r), 0x0504);
	assert_true(rd_ok(&r));
	assert_int_equal(rd_be32(&r), 0); /* only 2 left */
	assert_false(rd_ok(&r));
	assert_int_equal(rd_u8(&r), 0); /* still failed */
	/* nothing remains to a failed reader, so `while (rd_remaining(&r))`
	 * loops end at the first bad read */
	assert_int_equal(rd_remaining(&r), 0);
	assert_int_equal(rd_offset(&r), 5);
}

static void test_reader_sub_and_take(void **state)
{
	(void)state;
	const uint8_t data[] = {0x02, 0xaa, 0xbb, 0xcc};
	struct reader r = rd_init(data, sizeof data);
	struct reader s = rd_sub(&r, rd_u8(&r));
	assert_int_equal(rd_be16(&s), 0xaabb);
	assert_int_equal(rd_u8(&s), 0);
	assert_false(rd_ok(&s));
	assert_true(rd_ok(&r));
	assert_null(rd_take(&r, 2));
	assert_false(rd_ok(&r));
	struct reader empty = rd_init(NULL, 10);
	assert_int_equal(rd_remaining(&empty), 0);
	assert_int_equal(rd_peek(&empty, 0), -1);
}

static void test_reader_find_and_seek(void **state)
{
	(void)state;
	const char text[] = "USER x\r\nPASS";
	struct reader r = rd_init(text, strlen(text));
	assert_int_equal(rd_find(&r, '\n'), 7);
	assert_true(rd_starts_with(&r, "USER", 4));
	rd_seek(&r, 100);
	assert_false(rd_ok(&r));
}

/* The text helpers: slices, trims and case-insensitive compares never read
 * outside the reader and never move or fail it. */
static void test_reader_text_helpers(void **state)
{
	(void)state;
	const char text[] = " \tContent-Length \t\r";
	struct reader r = rd_init(text, strlen(text));
	struct reader t = rd_rtrim(rd_ltrim(r, " \t"), " \t\r");
	assert_int_equal(rd_remaining(&t), 14);
	assert_true(rd_ieq(&t, "content-length"));
	assert_false(rd_ieq(&t, "content-lengt"));
	assert_false(rd_ieq(&t, "content-lengths"));
	assert_true(rd_istarts_with(&t, "CONTENT-"));
	assert_false(rd_istarts_with(&t, "content-length-x"));
	assert_int_equal(rd_offset(&r), 0); /* r did not move */
	/* rd_trim_ws keeps the CR */
	t = rd_trim_ws(r);
	assert_int_equal(rd_remaining(&t), 17);
	assert_int_equal(rd_peek(&t, 16), '\r');
	/* slices: inside, empty at the end, and past the end (failed, empty) */
	struct reader s = rd_slice(&t, 8, 6);
	assert_true(rd_ieq(&s, "LENGTH"));
	s = rd_slice(&t, 17, 0);
	assert_true(rd_ok(&s));
	assert_int_equal(rd_remaining(&s), 0);
	s = rd_slice(&t, 10, 8);
	assert_false(rd_ok(&s));
	assert_int_equal(rd_remaining(&s), 0);
	assert_true(rd_ok(&t));
	/* all blank, empty, NUL bytes (never trimmed), failed readers */
	struct reader b = rd_trim_ws(rd_init(" \t ", 3));
	assert_int_equal(rd_remaining(&b), 0);
	assert_true(rd_ieq(&b, ""));
	struct reader e = rd_trim_ws(rd_init(NULL, 0));
	assert_true(rd_ok(&e));
	assert_int_equal(rd_remaining(&e), 0);
	struct reader z = rd_trim_ws(rd_init(" \0 ", 3));
	assert_int_equal(rd_remaining(&z), 1);
	struct reader f = rd_init(text, 3);
	rd_skip(&f, 4);
	struct reader g = rd_trim_ws(f);
	assert_false(rd_ok(&g));
	assert_int_equal(rd_remaining(&g), 0);
	assert_false(rd_istarts_with(&f, ""));
}

static void test_json_escape(void **state)
{
	(void)state;
	char out[128];
	const char in[] = "a\"b\\c\n\x1b\x01\xff\xc3\xa9\x7f";
	json_escape(in, sizeof in - 1, out, sizeof out);
	assert_string_equal(out, "a\\\"b\\\\c\\n\\u001b\\u0001\\\\xff\xc3\xa9\\u007f");
	/* an embedded NUL is escaped, not the end */
	json_escape("a\0b", 3, out, sizeof out);
	assert_string_equal(out, "a\\u0000b");
	/* never writes past the buffer and never splits an escape */
	json_escape("\x01\x01\x01", 3, out, 10);
	assert_string_equal(out, "\\u0001");
}

static void test_text_escape(void **state)
{
	(void)state;
	char out[64];
	text_escape("ok\x1b[31m\xc3\xa9\xfe", 10, out, sizeof out);
	assert_string_equal(out, "ok\\x1b[31m\xc3\xa9\\xfe");
	/* a wire backslash doubles: the four bytes \x1b are not an escaped ESC */
	text_escape("a\\x1b\x1b", 6, out, sizeof out);
	assert_string_equal(out, "a\\\\x1b\\x1b");
	/* an escape is never split at the end of the room */
	assert_int_equal(text_escape("ab\\", 3, out, 4), 2);
	assert_string_equal(out, "ab");
}

/* The last pass over a summary built from escaped pieces keeps their
 * backslashes as they are and still makes a stray control visible. */
static void test_text_sanitize(void **state)
{
	(void)state;
	char piece[32], out[64];
	text_escape("C:\\dir\x1b", 7, piece, sizeof piece);
	assert_string_equal(piece, "C:\\\\dir\\x1b");
	text_sanitize(piece, strlen(piece), out, sizeof out);
	assert_string_equal(out, piece);
	text_sanitize("x\ty", 3, out, sizeof out);
	assert_string_equal(out, "x\\x09y");
}

static void test_json_writer(void **state)
{
	(void)state;
	struct json_writer w;
	json_writer_init(&w, 4096);
	struct emitter *e = &w.e;
	emit_object_begin(e, NULL);
	emit_str(e, "s", "x\"y");
	emit_int(e, "i", -3);
	emit_number(e, "n", 1.5, 3);
	emit_bool(e, "b", true);
	emit_null(e, "z");
	emit_array_begin(e, "a");
	emit_int(e, NULL, 1);
	emit_str(e, NULL, NULL);
	emit_array_end(e);
	emit_object_end(e);
	assert_string_equal(json_writer_text(&w),
	                    "{\"s\":\"x\\\"y\",\"i\":-3,\"n\":1.500,\"b\":true,\"z\":null,"
	                    "\"a\":[1,null]}");
	assert_false(w.overflow);
	json_writer_free(&w);
}

static void test_json_writer_cap(void **state)
{
	(void)state;
	struct json_writer w;
	char big[1000];
	memset(big, 'x', sizeof big);
	json_writer_init(&w, 256);
	emit_object_begin(&w.e, NULL);
	emit_strn(&w.e, "big", big, sizeof big);
	emit_object_end(&w.e);
	assert_true(w.overflow);
	assert_true(strlen(json_writer_text(&w)) < 256);
	json_writer_free(&w);
}

/* The Community ID specification's published examples. */
static void test_community_id_vectors(void **state)
{
	(void)state;
	char out[COMMUNITY_ID_LEN];
	struct ip_addr a = {4, {128, 232, 110, 120}}, b = {4, {66, 35, 250, 204}};
	community_id_v1(out, sizeof out, 0, 6, &a, 34855, &b, 80);
	assert_string_equal(out, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	community_id_v1(out, sizeof out, 0, 6, &b, 80, &a, 34855); /* either direction */
	assert_string_equal(out, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	struct ip_addr c = {4, {192, 168, 1, 52}}, d = {4, {8, 8, 8, 8}};
	community_id_v1(out, sizeof out, 0, 17, &c, 54585, &d, 53);
	assert_string_equal(out, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
	struct ip_addr e6 = {6,
	                     {0x20, 0x01, 0x04, 0x70, 0xe5, 0xbf, 0xde, 0xad, 0x49, 0x57, 0x21,
	                      0x74, 0xe8, 0x2c, 0x48, 0x87}};
	struct ip_addr f6 = {
	    6, {0x26, 0x07, 0xf8, 0xb0, 0x40, 0x0c, 0x0c, 0x03, 0, 0, 0, 0, 0, 0, 0, 0x1a}};
	community_id_v1(out, sizeof out, 0, 6, &e6, 63943, &f6, 25);
	assert_string_equal(out, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=");
}

static void test_port_classes(void **state)
{
	(void)state;
	assert_string_equal(port_class(0), "well-known");
	assert_string_equal(port_class(1023), "well-known");
	assert_string_equal(port_class(1024), "registered");
	assert_string_equal(port_class(49151), "registered");
	assert_string_equal(port_class(49152), "dynamic");
	assert_string_equal(port_class(65535), "dynamic");
	assert_string_equal(port_service(6, 80), "http");
	assert_string_equal(port_service(17, 53), "dns");
	assert_null(port_service(17, 80));
	assert_string_equal(port_lookup(17, 443)->protocol, "quic");
	assert_string_equal(port_lookup(6, 443)->protocol, "tls");
	size_t n;
	const struct port_entry *t = port_table(&n);
	for (size_t i = 1; i < n; i++) /* lookups rely on the order */
		assert_true(t[i - 1].port <= t[i].port);
}

static void test_counters(void **state)
{
	(void)state;
	static struct counters c;
	counters_add(&c, "a.b", 1);
	counters_add(&c, "a.b", 2);
	char name[] = "a.b";
	counters_add(&c, name, 1); /* same name, other pointer */
	assert_int_equal(counters_get(&c, "a.b"), 4);
	assert_int_equal(c.n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reader_reads_and_fails_sticky),
	    cmocka_unit_test(test_reader_sub_and_take),
	    cmocka_unit_test(test_reader_find_and_seek),
	    cmocka_unit_test(test_reader_text_helpers),
	    cmocka_unit_test(test_json_escape),
	    cmocka_unit_test(test_text_escape),
	    cmocka_unit_test(test_text_sanitize),
	    cmocka_unit_test(test_json_writer),
	    cmocka_unit_test(test_json_writer_cap),
	    cmocka_unit_test(test_community_id_vectors),
	    cmocka_unit_test(test_port_classes),
	    cmocka_unit_test(test_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
