/* The core framers (src/framing.c): lines and length-prefixed PDUs, fed the
 * way the core feeds a stream dissector: the kept remainder followed by the
 * next bytes, the consumed count taken from rd_offset(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portolan/framing.h"

/* ---- a stand-in for the core's pending buffer and a dissector ---- */

#define MAX_OUT 16
#define BUF_CAP 4096

struct harness {
	uint8_t pending[BUF_CAP];
	size_t pending_len;
	/* what came out */
	char out[MAX_OUT][512];
	size_t out_len[MAX_OUT];
	bool out_flag[MAX_OUT];
	size_t n_out;
	enum frame_result last;
	size_t last_consumed;
	/* framer state */
	struct line_state ls;
	struct pdu_state ps;
	pdu_length_fn fn;
	size_t errors, too_big;
};

static void record_out(struct harness *h, struct reader *piece, bool flag)
{
	assert_true(h->n_out < MAX_OUT);
	size_t n = rd_remaining(piece);
	assert_true(n < sizeof h->out[0]);
	memcpy(h->out[h->n_out], rd_take(piece, n), n);
	h->out_len[h->n_out] = n;
	h->out_flag[h->n_out] = flag;
	h->n_out++;
}

/* The core's part: append, call on_data, keep what was not consumed. */
static void feed(struct harness *h, const void *data, size_t len,
                 size_t (*on_data)(struct harness *, struct reader))
{
	assert_true(h->pending_len + len <= BUF_CAP);
	if (len)
		memcpy(h->pending + h->pending_len, data, len);
	h->pending_len += len;
	size_t used = on_data(h, rd_init(h->pending, h->pending_len));
	assert_true(used <= h->pending_len);
	h->last_consumed = used;
	memmove(h->pending, h->pending + used, h->pending_len - used);
	h->pending_len -= used;
}

static size_t lines_on_data(struct harness *h, struct reader r)
{
	struct reader line;
	bool cut;
	enum frame_result res;
	while ((res = line_next(&h->ls, &r, &line, &cut)) == FRAME_OK)
		record_out(h, &line, cut);
	h->last = res;
	assert_true(rd_ok(&r));
	return rd_offset(&r);
}

static size_t pdus_on_data(struct harness *h, struct reader r)
{
	struct reader pdu;
	enum frame_result res;
	for (;;) {
		res = pdu_next(&h->ps, &r, h->fn, NULL, &pdu);
		if (res == FRAME_OK)
			record_out(h, &pdu, false);
		else if (res == FRAME_TOO_BIG)
			h->too_big++;
		else
			break;
	}
	if (res == FRAME_ERROR)
		h->errors++;
	h->last = res;
	assert_true(rd_ok(&r));
	return rd_offset(&r);
}

static void feed_lines(struct harness *h, const char *s)
{
	feed(h, s, strlen(s), lines_on_data);
}

static void assert_out(const struct harness *h, size_t i, const void *want, size_t n, bool flag)
{
	assert_true(i < h->n_out);
	assert_int_equal(h->out_len[i], n);
	assert_memory_equal(h->out[i], want, n);
	assert_int_equal(h->out_flag[i], flag);
}

static void assert_line(const struct harness *h, size_t i, const char *want, bool flag)
{
	assert_out(h, i, want, strlen(want), flag);
}

/* ---- lines ---- */

static void test_lines_crlf(void **st)
{
	(void)st;
	struct harness h = {0};
	feed_lines(&h, "USER anonymous\r\nPASS x\r\n");
	assert_int_equal(h.n_out, 2);
	assert_line(&h, 0, "USER anonymous", false);
	assert_line(&h, 1, "PASS x", false);
	assert_int_equal(h.last, FRAME_NEED_MORE);
	assert_int_equal(h.last_consumed, 24);
	assert_int_equal(h.pending_len, 0);
}

static void test_lines_bare_lf_and_mixed(void **st)
{
	(void)st;
	struct harness h = {0};
	feed_lines(&h, "one\ntwo\r\nthree\nfour\r\npartial");
	assert_int_equal(h.n_out, 4);
	assert_line(&h, 0, "one", false);
	assert_line(&h, 1, "two", false);
	assert_line(&h, 2, "three", false);
	assert_line(&h, 3, "four", false);
	/* the unterminated tail is kept, not consumed */
	assert_int_equal(h.pending_len, 7);
	assert_memory_equal(h.pending, "partial", 7);
}

static void test_lines_empty(void **st)
{
	(void)st;
	struct harness h = {0};
	feed_lines(&h, "\r\n\na\r\n\r\n");
	assert_int_equal(h.n_out, 4);
	assert_line(&h, 0, "", false);
	assert_line(&h, 1, "", false);
	assert_line(&h, 2, "a", false);
	assert_line(&h, 3, "", false);
	assert_int_equal(h.pending_len, 0);
}

static void test_lines_bare_cr_is_content(void **st)
{
	(void)st;
	struct harness h = {0};
	feed_lines(&h, "a\rb\r\r\n");
	assert_int_equal(h.n_out, 1);
	assert_line(&h, 0, "a\rb\r", false);
}

static void test_line_split_across_calls(void **st)
{
	(void)st;
	struct harness h = {0};
	feed_lines(&h, "HELO exa");
	assert_int_equal(h.n_out, 0);
	assert_int_equal(h.last, FRAME_NEED_MORE);
	assert_int_equal(h.last_consumed, 0);
	feed_lines(&h, "mple.com\r");
	assert_int_equal(h.n_out, 0);
	assert_int_equal(h.pending_len, 17);
	feed_lines(&h, "\nMAIL");
	assert_int_equal(h.n_out, 1);
	assert_line(&h, 0, "HELO example.com", false);
	assert_int_equal(h.last_consumed, 18);
	assert_int_equal(h.pending_len, 4);
}

static void test_line_byte_by_byte(void **st)
{
	(void)st;
	struct harness h = {0};
	const char *s = "ab\r\ncd\n\r\n";
	for (size_t i = 0; s[i]; i++)
		feed(&h, s + i, 1, lines_on_data);
	assert_int_equal(h.n_out, 3);
	assert_line(&h, 0, "ab", false);
	assert_line(&h, 1, "cd", false);
	assert_line(&h, 2, "", false);
	assert_int_equal(h.pending_len, 0);
}

static void test_line_too_long_across_three_calls(void **st)
{
	(void)st;
	struct harness h = {.ls = {.max_line = 8}};
	feed_lines(&h, "ok\r\n0123456789ab");
	assert_int_equal(h.n_out, 2);
	assert_line(&h, 0, "ok", false);
	assert_line(&h, 1, "01234567", true);
	assert_true(h.ls.skipping);
	assert_int_equal(h.ls.too_long, 1);
	/* everything present was consumed: nothing of the long line is kept */
	assert_int_equal(h.pending_len, 0);
	assert_int_equal(h.last_consumed, 16);

	feed_lines(&h, "cdefghijklmnop");
	assert_int_equal(h.n_out, 2);
	assert_true(h.ls.skipping);
	assert_int_equal(h.last, FRAME_NEED_MORE);
	assert_int_equal(h.last_consumed, 14);
	assert_int_equal(h.pending_len, 0);

	feed_lines(&h, "qr\r\nnext\r\nta");
	assert_int_equal(h.n_out, 3);
	assert_line(&h, 2, "next", false);
	assert_false(h.ls.skipping);
	assert_int_equal(h.ls.too_long, 1);
	/* "89ab" + 14 + "qr\r\n" */
	assert_int_equal(h.ls.skipped, 4 + 14 + 4);
	assert_int_equal(h.pending_len, 2);
}

static void test_line_too_long_whole_in_one_buffer(void **st)
{
	(void)st;
	struct harness h = {.ls = {.max_line = 4}};
	feed_lines(&h, "abcdefgh\r\nabcd\r\nabcde\nx\n");
	assert_int_equal(h.n_out, 4);
	assert_line(&h, 0, "abcd", true);
	assert_line(&h, 1, "abcd", false); /* exactly max_line: not cut */
	assert_line(&h, 2, "abcd", true);
	assert_line(&h, 3, "x", false);
	assert_int_equal(h.ls.too_long, 2);
	assert_int_equal(h.ls.skipped, 6 + 2);
	assert_false(h.ls.skipping);
}

static void test_line_at_cap_with_split_crlf(void **st)
{
	(void)st;
	/* max_line bytes then a CR at the end of the buffer: it may be a CRLF */
	struct harness h = {.ls = {.max_line = 4}};
	feed_lines(&h, "abcd\r");
	assert_int_equal(h.n_out, 0);
	assert_int_equal(h.pending_len, 5);
	feed_lines(&h, "\n");
	assert_int_equal(h.n_out, 1);
	assert_line(&h, 0, "abcd", false);
	/* ... but max_line bytes then any other byte is over-long at once */
	feed_lines(&h, "abcde");
	assert_int_equal(h.n_out, 2);
	assert_line(&h, 1, "abcd", true);
	assert_int_equal(h.pending_len, 0);
}

static void test_line_with_nul_and_binary(void **st)
{
	(void)st;
	struct harness h = {0};
	static const uint8_t in[] = {'a', 0, 0xff, 0x80, '\r', 'b', 0x1b, '\r', '\n', 0, '\n'};
	feed(&h, in, sizeof in, lines_on_data);
	assert_int_equal(h.n_out, 2);
	static const uint8_t want0[] = {'a', 0, 0xff, 0x80, '\r', 'b', 0x1b};
	assert_out(&h, 0, want0, sizeof want0, false);
	assert_out(&h, 1, "\0", 1, false);
	assert_int_equal(h.pending_len, 0);
}

static void test_line_default_cap_and_gap(void **st)
{
	(void)st;
	struct line_state ls = {0}; /* zeroed by the core: the default cap */
	static uint8_t big[FRAME_DEFAULT_MAX_LINE + 10];
	memset(big, 'x', sizeof big);
	struct reader r = rd_init(big, sizeof big);
	struct reader line;
	bool cut;
	assert_int_equal(line_next(&ls, &r, &line, &cut), FRAME_OK);
	assert_true(cut);
	assert_int_equal(rd_remaining(&line), FRAME_DEFAULT_MAX_LINE);
	assert_int_equal(rd_remaining(&r), 0);

	/* after a gap the framer resyncs at the next LF */
	struct line_state g = {.max_line = 100};
	line_gap(&g);
	r = rd_init("ail\r\nline\r\n", 11);
	assert_int_equal(line_next(&g, &r, &line, &cut), FRAME_OK);
	assert_int_equal(rd_remaining(&line), 4);
	assert_memory_equal(rd_take(&line, 4), "line", 4);

	/* an empty reader and a failed one */
	r = rd_init(NULL, 0);
	assert_int_equal(line_next(&g, &r, &line, &cut), FRAME_NEED_MORE);
	rd_fail(&r);
	assert_int_equal(line_next(&g, &r, &line, &cut), FRAME_ERROR);
}

/* ---- PDUs ---- */

static void feed_pdus(struct harness *h, const void *data, size_t len)
{
	feed(h, data, len, pdus_on_data);
}

static void test_pdus_several_in_one_buffer(void **st)
{
	(void)st;
	struct harness h = {.fn = pdu_length_dns_tcp};
	static const uint8_t in[] = {0, 3, 'a', 'b', 'c', 0, 1, 'x', 0, 2, 'y', 'z', 0, 5, 'p'};
	feed_pdus(&h, in, sizeof in);
	assert_int_equal(h.n_out, 3);
	assert_out(&h, 0, "\0\3abc", 5, false);
	assert_out(&h, 1, "\0\1x", 3, false);
	assert_out(&h, 2, "\0\2yz", 4, false);
	assert_int_equal(h.last, FRAME_NEED_MORE);
	assert_int_equal(h.last_consumed, 12);
	assert_int_equal(h.ps.needed, 4); /* 7-byte PDU, 3 bytes here */
	assert_int_equal(h.pending_len, 3);
}

static void test_pdu_byte_by_byte(void **st)
{
	(void)st;
	struct harness h = {.fn = pdu_length_tpkt};
	static const uint8_t in[] = {3, 0, 0, 9, 2, 0xf0, 0x80, 'h', 'i', 3, 0, 0, 4};
	for (size_t i = 0; i < sizeof in; i++) {
		feed_pdus(&h, in + i, 1);
		if (i < 3) {
			assert_int_equal(h.ps.needed, 1); /* header incomplete */
			assert_int_equal(h.n_out, 0);
		} else if (i < 8) {
			assert_int_equal(h.ps.needed, 8 - i); /* exact */
			assert_int_equal(h.n_out, 0);
			assert_int_equal(h.last_consumed, 0);
		} else if (i == 8) {
			assert_int_equal(h.n_out, 1);
			assert_int_equal(h.last_consumed, 9);
			assert_int_equal(h.ps.needed, 1);
		}
	}
	assert_int_equal(h.n_out, 2);
	assert_out(&h, 0, in, 9, false);
	assert_out(&h, 1, in + 9, 4, false); /* a header-only TPKT */
	assert_int_equal(h.pending_len, 0);
	assert_int_equal(h.errors, 0);
}

static void test_pdu_header_split_in_length(void **st)
{
	(void)st;
	struct harness h = {.fn = pdu_length_tpkt};
	static const uint8_t in[] = {3, 0, 0x01, 0x04}; /* 260 bytes */
	feed_pdus(&h, in, 3);
	assert_int_equal(h.last, FRAME_NEED_MORE);
	assert_int_equal(h.ps.needed, 1);
	assert_int_equal(h.pending_len, 3);
	feed_pdus(&h, in + 3, 1);
	assert_int_equal(h.ps.needed, 256);
	static uint8_t body[256];
	memset(body, 'q', sizeof body);
	feed_pdus(&h, body, 255);
	assert_int_equal(h.ps.needed, 1);
	assert_int_equal(h.n_out, 0);
	feed_pdus(&h, body, 1);
	assert_int_equal(h.n_out, 1);
	assert_int_equal(h.last_consumed, 260);
	assert_int_equal(h.ps.needed, 1);

	/* DNS: a length split over two calls */
	struct harness d = {.fn = pdu_length_dns_tcp};
	feed_pdus(&d, "\x00", 1);
	assert_int_equal(d.ps.needed, 1);
	feed_pdus(&d, "\x03", 1);
	assert_int_equal(d.ps.needed, 3);
	feed_pdus(&d, "abc", 3);
	assert_int_equal(d.n_out, 1);
	assert_out(&d, 0, "\0\3abc", 5, false);
}

static void test_pdu_invalid_header(void **st)
{
	(void)st;
	struct harness h = {.fn = pdu_length_tpkt};
	static const uint8_t good_then_bad[] = {3, 0, 0, 5, 'x', 4, 0, 0, 8};
	feed_pdus(&h, good_then_bad, sizeof good_then_bad);
	assert_int_equal(h.n_out, 1);
	assert_int_equal(h.last, FRAME_ERROR);
	assert_int_equal(h.errors, 1);
	assert_int_equal(h.last_consumed, 5); /* the bad header is not consumed */

	struct reader pdu;
	struct pdu_state ps = {0};
	/* the version is refused from its first byte alone */
	struct reader r = rd_init("\x02", 1);
	assert_int_equal(pdu_next(&ps, &r, pdu_length_tpkt, NULL, &pdu), FRAME_ERROR);
	r = rd_init("\x03\x01", 2); /* reserved byte not 0 */
	assert_int_equal(pdu_next(&ps, &r, pdu_length_tpkt, NULL, &pdu), FRAME_ERROR);
	r = rd_init("\x03\x00\x00\x03", 4); /* length shorter than the header */
	assert_int_equal(pdu_next(&ps, &r, pdu_length_tpkt, NULL, &pdu), FRAME_ERROR);
	assert_int_equal(rd_offset(&r), 0);
	assert_int_equal(rd_remaining(&pdu), 0);
	/* a failed reader */
	r = rd_init("\x00\x01x", 3);
	rd_fail(&r);
	assert_int_equal(pdu_next(&ps, &r, pdu_length_dns_tcp, NULL, &pdu), FRAME_ERROR);
}

static void test_pdu_oversize_skipped_across_calls(void **st)
{
	(void)st;
	struct harness h = {.fn = pdu_length_dns_tcp, .ps = {.max_pdu = 16}};
	/* a 2 + 40 byte PDU over the 16-byte cap, sent in three pieces, then a
	 * small PDU that must be found in sync */
	uint8_t big[42];
	big[0] = 0;
	big[1] = 40;
	memset(big + 2, 'B', 40);
	feed_pdus(&h, big, 10);
	assert_int_equal(h.too_big, 1);
	assert_int_equal(h.ps.too_big, 1);
	assert_int_equal(h.last_consumed, 10); /* consumed, not buffered */
	assert_int_equal(h.ps.needed, 32);
	assert_int_equal(h.pending_len, 0);
	feed_pdus(&h, big + 10, 20);
	assert_int_equal(h.last, FRAME_NEED_MORE);
	assert_int_equal(h.last_consumed, 20);
	assert_int_equal(h.ps.needed, 12);
	assert_int_equal(h.n_out, 0);
	uint8_t tail[12 + 4];
	memcpy(tail, big + 30, 12);
	memcpy(tail + 12, "\0\2ok", 4);
	feed_pdus(&h, tail, sizeof tail);
	assert_int_equal(h.n_out, 1);
	assert_out(&h, 0, "\0\2ok", 4, false);
	assert_int_equal(h.ps.skipped, 42);
	assert_int_equal(h.ps.skip_left, 0);
	assert_int_equal(h.too_big, 1);
	assert_int_equal(h.pending_len, 0);

	/* a PDU of exactly the cap is accepted */
	uint8_t at_cap[16] = {0, 14};
	feed_pdus(&h, at_cap, sizeof at_cap);
	assert_int_equal(h.n_out, 2);
	assert_int_equal(h.out_len[1], 16);
}

static void test_pdu_gap_inside_skip(void **st)
{
	(void)st;
	struct pdu_state ps = {.max_pdu = 8};
	struct reader pdu;
	struct reader r = rd_init("\x00\x20xx", 4); /* 34 bytes announced */
	assert_int_equal(pdu_next(&ps, &r, pdu_length_dns_tcp, NULL, &pdu), FRAME_TOO_BIG);
	assert_int_equal(rd_offset(&r), 4);
	assert_int_equal(ps.needed, 30);
	assert_true(pdu_gap(&ps, 20)); /* the hole is inside the skipped PDU */
	assert_int_equal(ps.needed, 10);
	assert_false(pdu_gap(&ps, 11)); /* this one runs past it: lost */
}

static void test_pdu_zero_length_dns(void **st)
{
	(void)st;
	struct harness h = {.fn = pdu_length_dns_tcp};
	static const uint8_t in[] = {0, 0, 0, 0, 0, 1, 'z'};
	feed_pdus(&h, in, sizeof in);
	assert_int_equal(h.n_out, 3);
	assert_out(&h, 0, "\0\0", 2, false);
	assert_out(&h, 1, "\0\0", 2, false);
	assert_out(&h, 2, "\0\1z", 3, false);
	assert_int_equal(h.pending_len, 0);
	assert_int_equal(h.ps.needed, 1);

	/* an empty reader: need more, nothing moves */
	struct pdu_state ps = {0};
	struct reader pdu;
	struct reader r = rd_init(NULL, 0);
	assert_int_equal(pdu_next(&ps, &r, pdu_length_dns_tcp, NULL, &pdu), FRAME_NEED_MORE);
	assert_int_equal(ps.needed, 1);
}

static void test_pdu_default_cap(void **st)
{
	(void)st;
	/* a zeroed state uses FRAME_DEFAULT_MAX_PDU, which a 64 KiB DNS
	 * message and TPKT fit under */
	struct pdu_state ps = {0};
	struct reader pdu;
	struct reader r = rd_init("\xff\xff", 2);
	assert_int_equal(pdu_next(&ps, &r, pdu_length_dns_tcp, NULL, &pdu), FRAME_NEED_MORE);
	assert_int_equal(ps.needed, 65535);
	r = rd_init("\x03\x00\xff\xff", 4);
	assert_int_equal(pdu_next(&ps, &r, pdu_length_tpkt, NULL, &pdu), FRAME_NEED_MORE);
	assert_int_equal(ps.needed, 65531);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines_crlf),
	    cmocka_unit_test(test_lines_bare_lf_and_mixed),
	    cmocka_unit_test(test_lines_empty),
	    cmocka_unit_test(test_lines_bare_cr_is_content),
	    cmocka_unit_test(test_line_split_across_calls),
	    cmocka_unit_test(test_line_byte_by_byte),
	    cmocka_unit_test(test_line_too_long_across_three_calls),
	    cmocka_unit_test(test_line_too_long_whole_in_one_buffer),
	    cmocka_unit_test(test_line_at_cap_with_split_crlf),
	    cmocka_unit_test(test_line_with_nul_and_binary),
	    cmocka_unit_test(test_line_default_cap_and_gap),
	    cmocka_unit_test(test_pdus_several_in_one_buffer),
	    cmocka_unit_test(test_pdu_byte_by_byte),
	    cmocka_unit_test(test_pdu_header_split_in_length),
	    cmocka_unit_test(test_pdu_invalid_header),
	    cmocka_unit_test(test_pdu_oversize_skipped_across_calls),
	    cmocka_unit_test(test_pdu_gap_inside_skip),
	    cmocka_unit_test(test_pdu_zero_length_dns),
	    cmocka_unit_test(test_pdu_default_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
