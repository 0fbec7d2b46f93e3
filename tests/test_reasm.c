/* reasm.c: one TCP direction in order, reordered (every permutation),
 * retransmitted, overlapping with the same and with different bytes (against
 * delivered and against held data), with holes skipped by flush, picked up
 * mid-stream, across the 2^32 wrap, through every cap, with zero-length,
 * too-early and too-far segments, and a seeded random shuffle that must
 * always give the original stream back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "portolan/reasm.h"

#define OUT_MAX 200000
#define EVENTS_MAX 4096

/* What the callbacks saw: the delivered bytes, and each gap with the number
 * of bytes delivered before it. */
struct sink {
	uint8_t out[OUT_MAX];
	size_t n;
	size_t deliveries;
	size_t ngaps;
	size_t gap_at[EVENTS_MAX];
	size_t gap_len[EVENTS_MAX];
};

static void on_deliver(void *ctx, const uint8_t *data, size_t len)
{
	struct sink *s = ctx;
	assert_true(len > 0);
	assert_true(s->n + len <= OUT_MAX);
	memcpy(s->out + s->n, data, len);
	s->n += len;
	s->deliveries++;
}

static void on_gap(void *ctx, size_t missing)
{
	struct sink *s = ctx;
	assert_true(missing > 0);
	assert_true(s->ngaps < EVENTS_MAX);
	s->gap_at[s->ngaps] = s->n;
	s->gap_len[s->ngaps] = missing;
	s->ngaps++;
}

static const struct reasm_callbacks cbs = {on_deliver, on_gap};

static struct sink *sink_new(void)
{
	struct sink *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	return s;
}

/* The stream under test: byte i is a function of i, so any misplaced byte
 * shows. */
static uint8_t stream_byte(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 8) + 1);
}

static uint8_t stream[OUT_MAX];

static void fill_stream(void)
{
	for (size_t i = 0; i < sizeof(stream); i++)
		stream[i] = stream_byte(i);
}

/* Feeds stream bytes [off, off + len) at isn1 + off. */
static void feed(struct reasm_dir *d, uint32_t isn1, size_t off, size_t len, struct sink *s)
{
	reasm_segment(d, isn1 + (uint32_t)off, stream + off, len, &cbs, s);
}

static void assert_stream(const struct sink *s, size_t from, size_t len)
{
	assert_int_equal(s->n, len);
	assert_memory_equal(s->out, stream + from, len);
}

static void test_in_order(void **state)
{
	(void)state;
	struct reasm_dir d;
	struct sink *s = sink_new();
	uint32_t isn1 = 1000;

	reasm_init(&d, NULL);
	assert_true(reasm_start(&d, isn1));
	feed(&d, isn1, 0, 100, s);
	feed(&d, isn1, 100, 1, s);
	feed(&d, isn1, 101, 1400, s);
	assert_stream(s, 0, 1501);
	assert_int_equal(s->deliveries, 3);
	assert_int_equal(s->ngaps, 0);
	assert_int_equal(d.delivered, 1501);
	assert_int_equal(d.next, isn1 + 1501);
	assert_int_equal(d.held_segments, 0);
	assert_int_equal(d.stats.segments, 3);
	assert_int_equal(d.stats.out_of_order, 0);
	assert_int_equal(d.stats.retransmits, 0);
	assert_int_equal(d.stats.overlaps, 0);
	/* A second start after data changes nothing. */
	assert_false(reasm_start(&d, 5));
	assert_int_equal(d.next, isn1 + 1501);
	reasm_free(&d);
	free(s);
}

static void test_every_permutation(void **state)
{
	(void)state;
	/* Four segments of different lengths: offsets 0, 3, 10, 11; end 30. */
	static const size_t off[4] = {0, 3, 10, 11};
	static const size_t len[4] = {3, 7, 1, 19};
	int perms = 0;

	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 4; b++)
			for (int c = 0; c < 4; c++)
				for (int e = 0; e < 4; e++) {
					if (a == b || a == c || a == e || b == c || b == e ||
					    c == e)
						continue;
					int order[4] = {a, b, c, e};
					struct reasm_dir d;
					struct sink *s = sink_new();
					reasm_init(&d, NULL);
					reasm_start(&d, 77);
					for (int k = 0; k < 4; k++)
						feed(&d, 77, off[order[k]], len[order[k]], s);
					assert_stream(s, 0, 30);
					assert_int_equal(s->ngaps, 0);
					assert_int_equal(d.held_segments, 0);
					assert_int_equal(d.held_bytes, 0);
					assert_int_equal(d.stats.retransmits + d.stats.overlaps, 0);
					reasm_free(&d);
					free(s);
					perms++;
				}
	assert_int_equal(perms, 24);
}

static void test_reversed_counts(void **state)
{
	(void)state;
	struct reasm_dir d;
	struct sink *s = sink_new();

	reasm_init(&d, NULL);
	reasm_start(&d, 0);
	feed(&d, 0, 30, 10, s);
	feed(&d, 0, 20, 10, s);
	feed(&d, 0, 10, 10, s);
	assert_int_equal(s->n, 0);
	assert_int_equal(d.held_segments, 3);
	assert_int_equal(d.held_bytes, 30);
	assert_int_equal(d.stats.out_of_order, 3);
	feed(&d, 0, 0, 10, s);
	assert_stream(s, 0, 40);
	assert_int_equal(d.held_segments, 0);
	assert_int_equal(d.held_bytes, 0);
	assert_int_equal(d.stats.out_of_order, 3);
	reasm_free(&d);
	free(s);
}

static void test_retransmitted(void **state)
{
	(void)state;
	struct reasm_dir d;
	struct sink *s = sink_new();
	uint8_t bad[50];

	reasm_init(&d, NULL);
	reasm_start(&d, 500);
	feed(&d, 500, 0, 50, s);
	feed(&d, 500, 50, 50, s);
	feed(&d, 500, 0, 50, s);  /* whole retransmission, same bytes */
	feed(&d, 500, 60, 20, s); /* inside what was delivered */
	assert_stream(s, 0, 100);
	assert_int_equal(d.stats.retransmits, 2);
	assert_int_equal(d.stats.retransmitted_bytes, 70);
	assert_int_equal(d.stats.overlaps_differing, 0);
	assert_int_equal(d.stats.overlaps_unverifiable, 0);

	/* A retransmission with other bytes: dropped, first copy stays. */
	memcpy(bad, stream + 50, sizeof(bad));
	bad[49] ^= 0xff;
	reasm_segment(&d, 550, bad, sizeof(bad), &cbs, s);
	assert_stream(s, 0, 100);
	assert_int_equal(d.stats.retransmits, 3);
	assert_int_equal(d.stats.overlaps_differing, 1);

	/* A duplicate of a held segment is a retransmission too. */
	feed(&d, 500, 200, 10, s);
	feed(&d, 500, 200, 10, s);
	assert_int_equal(d.held_segments, 1);
	assert_int_equal(d.held_bytes, 10);
	assert_int_equal(d.stats.retransmits, 4);
	assert_int_equal(d.stats.out_of_order, 1);
	assert_int_equal(d.stats.overlaps_differing, 1);
	reasm_free(&d);
	free(s);
}

static void test_overlap_delivered(void **state)
{
	(void)state;
	struct reasm_dir d;
	struct sink *s = sink_new();
	uint8_t seg[10];

	reasm_init(&d, NULL);
	reasm_start(&d, 0);
	feed(&d, 0, 0, 10, s);
	feed(&d, 0, 5, 10, s); /* 5 seen, 5 new, same bytes */
	assert_stream(s, 0, 15);
	assert_int_equal(d.stats.overlaps, 1);
	assert_int_equal(d.stats.retransmitted_bytes, 5);
	assert_int_equal(d.stats.overlaps_differing, 0);

	/* Bytes 10..19 with 10..14 changed: the first copy of 10..14 wins. */
	memcpy(seg, stream + 10, 10);
	for (int i = 0; i < 5; i++)
		seg[i] = (uint8_t)~seg[i];
	reasm_segment(&d, 10, seg, 10, &cbs, s);
	assert_stream(s, 0, 20);
	assert_int_equal(d.stats.overlaps, 2);
	assert_int_equal(d.stats.overlaps_differing, 1);
	assert_int_equal(d.stats.retransmitted_bytes, 10);
	reasm_free(&d);
	free(s);
}

static void test_overlap_held(void **state)
{
	(void)state;
	struct reasm_dir d;
	struct sink *s = sink_new();
	uint8_t seg[40];

	reasm_init(&d, NULL);
	reasm_start(&d, 9);
	feed(&d, 9, 10, 10, s); /* held [10, 20) */
	feed(&d, 9, 30, 10, s); /* held [30, 40) */
	feed(&d, 9, 15, 10, s); /* same bytes over [15, 20), new [20, 25) */
	assert_int_equal(d.held_segments, 3);
	assert_int_equal(d.held_bytes, 25);
	assert_int_equal(d.stats.overlaps, 1);
	assert_int_equal(d.stats.overlaps_differing, 0);

	/* [0, 40) with every byte changed: only [0,10) and [25,30) are new and
	 * taken; the held copies win elsewhere. */
	for (int i = 0; i < 40; i++)
		seg[i] = (uint8_t)~stream[i];
	reasm_segment(&d, 9, seg, 40, &cbs, s);
	assert_int_equal(s->n, 40);
	assert_memory_equal(s->out, seg, 10);
	assert_memory_equal(s->out + 10, stream + 10, 15);
	assert_memory_equal(s->out + 25, seg + 25, 5);
	assert_memory_equal(s->out + 30, stream + 30, 10);
	assert_int_equal(d.stats.overlaps, 2);
	assert_int_equal(d.stats.overlaps_differing, 1);
	assert_int_equal(d.held_segments, 0);
	assert_int_equal(d.held_bytes, 0);
	assert_int_equal(s->ngaps, 0);
	reasm_free(&d);
	free(s);
}

static void test_overlap_unverifiable(void **state)
{
	(void)state;
	struct reasm_config cfg;
	struct reasm_dir d;
	struct sink *s = sink_new();

	reasm_config_default(&cfg);
	cfg.recent_window = 8;
	reasm_init(&d, &cfg);
	reasm_start(&d, 0);
	feed(&d, 0, 0, 20, s);
	feed(&d, 0, 14, 6, s); /* within the last 8 bytes: checked */
	assert_int_equal(d.stats.overlaps_unverifiable, 0);
	feed(&d, 0, 2, 5, s); /* older: cannot be checked */
	assert_int_equal(d.stats.retransmits, 2);
	assert_int_equal(d.stats.overlaps_unverifiable, 1);
	assert_int_equal(d.stats.overlaps_differing, 0);
	/* The window wraps around its ring correctly. */
	feed(&d, 0, 20, 5, s);
	feed(&d, 0, 17, 8, s);
	assert_int_equal(d.stats.overlaps_unverifiable, 1);
	assert_int_equal(d.stats.overlaps_differing, 0);
	assert_stream(s, 0, 25);

	/* With no window at all, every overlap with delivered bytes is
	 * unverifiable. */
	reasm_free(&d);
	cfg.recent_window = 0;
	reasm_init(&d, &cfg);
	feed(&d, 0, 0, 20, s);
	feed(&d, 0, 10, 10, s);
	assert_int_equal(d.stats.overlaps_unverifiable, 1);
	reasm_free(&d);
	free(s);
}

static void test_hole_flush(void **state)
{
	(void)state;
	struct reasm_dir d;
	struct sink *s = sink_new();

	reasm_init(&d, NULL);
	reasm_start(&d, 100);
	feed(&d, 100, 0, 5, s);
	feed(&d, 100, 10, 5, s);
	feed(&d, 100, 15, 5, s);
	feed(&d, 100, 27, 3, s);
	assert_stream(s, 0, 5);

	/* One hole: gap of 5, then [10, 20) in order. */
	assert_true(reasm_skip_hole(&d, &cbs, s));
	assert_int_equal(s->ngaps, 1);
	assert_int_equal(s->gap_at[0], 5);
	assert_int_equal(s->gap_len[0], 5);
	assert_int_equal(s->n, 15);
	assert_memory_equal(s->out + 5, stream + 10, 10);
	assert_int_equal(d.missed_bytes, 5);
	assert_int_equal(d.held_segments, 1);

	/* Everything else: gap of 7, then [27, 30). */
	reasm_flush(&d, &cbs, s);
	assert_int_equal(s->ngaps, 2);
	assert_int_equal(s->gap_at[1], 15);
	assert_int_equal(s->gap_len[1], 7);
	assert_int_equal(s->n, 18);
	assert_memory_equal(s->out + 15, stream + 27, 3);
	assert_int_equal(d.missed_bytes, 12);
	assert_int_equal(d.delivered, 18);
	assert_int_equal(d.stats.gaps, 2);
	assert_int_equal(d.held_segments, 0);
	assert_false(reasm_skip_hole(&d, &cbs, s));
	reasm_flush(&d, &cbs, s);
	assert_int_equal(s->ngaps, 2);

	/* Bytes of the skipped hole arriving late are old: dropped, and
	 * unverifiable (the window restarts after a gap). */
	feed(&d, 100, 5, 5, s);
	assert_int_equal(s->n, 18);
	assert_int_equal(d.stats.retransmits, 1);
	assert_int_equal(d.stats.overlaps_unverifiable, 1);
	/* The stream goes on after the flush. */
	feed(&d, 100, 30, 10, s);
	assert_int_equal(s->n, 28);
	assert_memory_equal(s->out + 18, stream + 30, 10);
	reasm_free(&d);
	free(s);
}

static void test_mid_stream(void **state)
{
	(void)state;
	struct reasm_dir d;
	struct sink *s = sink_new();
	uint32_t base = 3000000000u; /* stream offset 0 sits here */

	reasm_init(&d, NULL);
	assert_false(d.started);
	feed(&d, base, 1000, 100, s); /* first data seen: the stream starts here */
	assert_true(d.started);
	assert_int_equal(d.next, base + 1100);
	feed(&d, base, 1200, 50, s); /* held */
	feed(&d, base, 1100, 100, s);
	assert_stream(s, 1000, 250);
	/* Bytes before the first one seen are not the stream's. */
	feed(&d, base, 900, 100, s);
	feed(&d, base, 950, 100, s); /* 50 before the start, 50 seen */
	assert_int_equal(s->n, 250);
	assert_int_equal(d.stats.before_start, 2);
	assert_int_equal(d.stats.before_start_bytes, 150);
	assert_int_equal(d.stats.retransmits, 1);
	assert_int_equal(d.stats.retransmitted_bytes, 50);
	assert_int_equal(d.stats.overlaps_differing, 0);
	reasm_free(&d);
	free(s);
}

static void test_wraparound(void **state)
{
	(void)state;
	struct reasm_dir d;
	struct sink *s = sink_new();
	uint32_t isn1 = 0xfffffff0u;

	reasm_init(&d, NULL);
	reasm_start(&d, isn1);
	/* Out of order across the wrap: [20, 40) holds at seq 4. */
	feed(&d, isn1, 20, 20, s);
	feed(&d, isn1, 0, 8, s);
	feed(&d, isn1, 8, 12, s); /* crosses 2^32 and fills the hole */
	assert_stream(s, 0, 40);
	assert_int_equal(d.next, 24u);
	/* A retransmission from before the wrap is still old. */
	feed(&d, isn1, 4, 10, s);
	assert_int_equal(d.stats.retransmits, 1);
	assert_int_equal(d.stats.overlaps_differing, 0);
	/* Overlapping the wrap from behind. */
	feed(&d, isn1, 30, 20, s);
	assert_stream(s, 0, 50);
	assert_int_equal(d.stats.overlaps, 1);

	/* A hole across the wrap reported exactly. */
	reasm_free(&d);
	memset(s, 0, sizeof(*s));
	reasm_init(&d, NULL);
	reasm_start(&d, isn1);
	feed(&d, isn1, 0, 4, s);
	feed(&d, isn1, 30, 5, s);
	reasm_flush(&d, &cbs, s);
	assert_int_equal(s->ngaps, 1);
	assert_int_equal(s->gap_len[0], 26);
	assert_int_equal(d.next, isn1 + 35);
	assert_int_equal(s->n, 9);
	reasm_free(&d);
	free(s);
}

static void test_byte_cap(void **state)
{
	(void)state;
	struct reasm_config cfg;
	struct reasm_dir d;
	struct sink *s = sink_new();

	reasm_config_default(&cfg);
	cfg.max_buffered = 10;
	reasm_init(&d, &cfg);
	reasm_start(&d, 0);
	feed(&d, 0, 0, 5, s);
	feed(&d, 0, 10, 5, s);
	feed(&d, 0, 20, 5, s);
	assert_int_equal(d.held_bytes, 10);
	/* 5 more would make 15: the first hole is skipped instead. */
	feed(&d, 0, 30, 5, s);
	assert_int_equal(d.stats.cap_bytes, 1);
	assert_int_equal(s->ngaps, 1);
	assert_int_equal(s->gap_at[0], 5);
	assert_int_equal(s->gap_len[0], 5);
	assert_int_equal(s->n, 10);
	assert_memory_equal(s->out + 5, stream + 10, 5);
	assert_int_equal(d.held_bytes, 10);
	assert_true(d.held_bytes <= cfg.max_buffered);

	/* A segment too big to hold at all: every hole up to it is skipped
	 * and it is delivered. */
	feed(&d, 0, 50, 11, s);
	assert_int_equal(d.stats.cap_bytes, 4);
	assert_int_equal(s->ngaps, 4);
	assert_int_equal(s->gap_len[1], 5);  /* [15, 20) */
	assert_int_equal(s->gap_len[2], 5);  /* [25, 30) */
	assert_int_equal(s->gap_len[3], 15); /* [35, 50) */
	assert_int_equal(d.missed_bytes, 30);
	assert_int_equal(s->n, 31);
	assert_memory_equal(s->out + 10, stream + 20, 5);
	assert_memory_equal(s->out + 15, stream + 30, 5);
	assert_memory_equal(s->out + 20, stream + 50, 11);
	assert_int_equal(d.held_bytes, 0);
	reasm_free(&d);
	free(s);
}

static void test_segment_cap(void **state)
{
	(void)state;
	struct reasm_config cfg;
	struct reasm_dir d;
	struct sink *s = sink_new();

	reasm_config_default(&cfg);
	cfg.max_segments = 2;
	reasm_init(&d, &cfg);
	reasm_start(&d, 0);
	feed(&d, 0, 2, 1, s);
	feed(&d, 0, 4, 1, s);
	assert_int_equal(d.held_segments, 2);
	feed(&d, 0, 6, 1, s);
	assert_int_equal(d.stats.cap_segments, 1);
	assert_int_equal(s->ngaps, 1);
	assert_int_equal(s->gap_at[0], 0);
	assert_int_equal(s->gap_len[0], 2);
	assert_int_equal(s->n, 1);
	assert_int_equal(d.held_segments, 2);
	/* [3, 13) over held [4, 5) and [6, 7) needs two more held segments:
	 * the cap makes the held run at its start go out first, which costs
	 * no gap, and then everything fits. */
	feed(&d, 0, 3, 10, s);
	assert_int_equal(s->n, 1 + 10);
	assert_memory_equal(s->out + 1, stream + 3, 10);
	assert_int_equal(s->ngaps, 1);
	assert_int_equal(d.stats.cap_segments, 2);
	assert_int_equal(d.stats.overlaps, 1);
	reasm_flush(&d, &cbs, s);
	assert_int_equal(d.held_segments, 0);

	/* max_segments 0: nothing is ever held; early data is delivered after
	 * a gap at once. */
	reasm_free(&d);
	memset(s, 0, sizeof(*s));
	cfg.max_segments = 0;
	reasm_init(&d, &cfg);
	reasm_start(&d, 0);
	feed(&d, 0, 10, 10, s);
	assert_int_equal(s->ngaps, 1);
	assert_int_equal(s->gap_len[0], 10);
	assert_stream(s, 10, 10);
	reasm_free(&d);
	free(s);
}

static void test_budget(void **state)
{
	(void)state;
	struct reasm_budget budget = {15, 0};
	struct reasm_config cfg;
	struct reasm_dir a, b;
	struct sink *sa = sink_new(), *sb = sink_new();

	reasm_config_default(&cfg);
	cfg.budget = &budget;
	reasm_init(&a, &cfg);
	reasm_init(&b, &cfg);
	reasm_start(&a, 0);
	reasm_start(&b, 0);
	feed(&a, 0, 10, 10, sa);
	assert_int_equal(budget.used, 10);
	feed(&b, 0, 10, 10, sb); /* 20 > 15: b skips up to it */
	assert_int_equal(b.stats.cap_budget, 1);
	assert_int_equal(sb->ngaps, 1);
	assert_stream(sb, 10, 10);
	assert_int_equal(budget.used, 10);
	feed(&a, 0, 0, 10, sa);
	assert_stream(sa, 0, 20);
	assert_int_equal(budget.used, 0);
	/* Freeing held data gives it back to the budget. */
	feed(&a, 0, 30, 5, sa);
	assert_int_equal(budget.used, 5);
	reasm_free(&a);
	assert_int_equal(budget.used, 0);
	reasm_free(&b);
	free(sa);
	free(sb);
}

static void test_zero_length(void **state)
{
	(void)state;
	struct reasm_dir d;
	struct sink *s = sink_new();

	reasm_init(&d, NULL);
	/* Zero-length segments (bare ACKs) do not start a stream. */
	reasm_segment(&d, 12345, NULL, 0, &cbs, s);
	assert_false(d.started);
	feed(&d, 50, 0, 10, s);
	reasm_segment(&d, 60, NULL, 0, &cbs, s);
	reasm_segment(&d, 99, stream, 0, &cbs, s);
	reasm_segment(&d, 40, stream, 0, &cbs, s);
	assert_stream(s, 0, 10);
	assert_int_equal(d.stats.empty_segments, 4);
	assert_int_equal(d.stats.segments, 1);
	assert_int_equal(d.held_segments, 0);
	assert_int_equal(d.next, 60);
	reasm_free(&d);
	free(s);
}

static void test_before_start(void **state)
{
	(void)state;
	struct reasm_dir d;
	struct sink *s = sink_new();
	uint32_t isn1 = 1000;

	reasm_init(&d, NULL);
	reasm_start(&d, isn1);
	/* Stream offsets are relative to isn1: -10 is 10 bytes before it. */
	reasm_segment(&d, isn1 - 10, stream, 5, &cbs, s);
	assert_int_equal(s->n, 0);
	assert_int_equal(d.stats.before_start, 1);
	assert_int_equal(d.stats.before_start_bytes, 5);
	assert_int_equal(d.stats.retransmits, 0);
	/* Straddling the start: the 5 bytes before it are dropped. */
	reasm_segment(&d, isn1 - 5, stream + 195, 10, &cbs, s);
	assert_int_equal(s->n, 5);
	assert_memory_equal(s->out, stream + 200, 5);
	assert_int_equal(d.stats.before_start, 2);
	assert_int_equal(d.stats.before_start_bytes, 10);
	assert_int_equal(d.stats.overlaps, 0);
	assert_int_equal(d.stats.retransmits, 0);
	assert_int_equal(d.delivered, 5);
	reasm_free(&d);
	free(s);
}

static void test_far_ahead(void **state)
{
	(void)state;
	struct reasm_dir d;
	struct sink *s = sink_new();

	reasm_init(&d, NULL);
	reasm_start(&d, 0);
	reasm_segment(&d, REASM_MAX_AHEAD + 1, stream, 10, &cbs, s);
	reasm_segment(&d, 0x90000000u, stream, 10, &cbs, s); /* > 2 GiB: "behind" */
	/* A length no IP packet can carry is garbage too (never read). */
	reasm_segment(&d, 0, stream, (size_t)REASM_MAX_AHEAD + 1, &cbs, s);
	assert_int_equal(d.stats.dropped_far, 2);
	assert_int_equal(d.stats.before_start, 1);
	assert_true(reasm_seg_overhead() > 0);
	assert_int_equal(d.held_segments, 0);
	/* Exactly at the limit is still held. */
	reasm_segment(&d, REASM_MAX_AHEAD, stream, 10, &cbs, s);
	assert_int_equal(d.held_segments, 1);
	assert_int_equal(s->n, 0);
	reasm_free(&d);
	free(s);
}

/* Seeded: random segments that cover a stream, sent in random order with
 * duplicates and overlaps (same bytes), must give it back exactly. */
static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static size_t min_back(size_t pos, size_t back)
{
	return back < pos ? back : pos;
}

static void test_random_shuffle(void **state)
{
	(void)state;
	enum { TOTAL = 20000, MAXSEG = 300 };
	static size_t off[2 * TOTAL], len[2 * TOTAL];

	for (int round = 0; round < 50; round++) {
		struct reasm_dir d;
		struct sink *s = sink_new();
		uint32_t isn1 = rng();
		size_t n = 0, pos = 0;

		while (pos < TOTAL) {
			size_t l = 1 + rng() % MAXSEG;
			if (pos + l > TOTAL)
				l = TOTAL - pos;
			off[n] = pos;
			len[n++] = l;
			if (rng() % 4 == 0) { /* an overlapping extra copy */
				size_t o = pos - min_back(pos, rng() % 50);
				size_t e = pos + l + rng() % 50;
				if (e > TOTAL)
					e = TOTAL;
				off[n] = o;
				len[n++] = e - o;
			}
			pos += l;
		}
		/* Local shuffles only, so held data stays within the caps. */
		for (size_t i = 0; i + 1 < n; i++) {
			size_t j = i + rng() % 8;
			if (j >= n)
				j = n - 1;
			size_t t = off[i];
			off[i] = off[j];
			off[j] = t;
			t = len[i];
			len[i] = len[j];
			len[j] = t;
		}
		reasm_init(&d, NULL);
		reasm_start(&d, isn1);
		for (size_t i = 0; i < n; i++)
			feed(&d, isn1, off[i], len[i], s);
		reasm_flush(&d, &cbs, s);
		assert_int_equal(s->ngaps, 0);
		assert_stream(s, 0, TOTAL);
		assert_int_equal(d.stats.overlaps_differing, 0);
		assert_int_equal(d.held_segments, 0);
		assert_true(d.stats.out_of_order > 0);
		assert_true(d.stats.overlaps + d.stats.retransmits > 0);
		reasm_free(&d);
		free(s);
	}
}

/* Seeded, with small caps and wide shuffles: holes get skipped, but every
 * byte delivered is the stream's byte at that place (gaps counted in), the
 * caps are never exceeded, and delivered + missed covers the stream. */
static void test_random_capped(void **state)
{
	(void)state;
	enum { TOTAL = 20000, MAXSEG = 300, N = TOTAL };
	static size_t off[N], len[N];
	struct reasm_config cfg;
	uint64_t caps = 0;

	reasm_config_default(&cfg);
	cfg.max_buffered = 700;
	cfg.max_segments = 4;
	cfg.recent_window = 64;
	for (int round = 0; round < 50; round++) {
		struct reasm_dir d;
		struct sink *s = sink_new();
		uint32_t isn1 = rng();
		size_t n = 0, pos = 0;

		while (pos < TOTAL) {
			size_t l = 1 + rng() % MAXSEG;
			if (pos + l > TOTAL)
				l = TOTAL - pos;
			off[n] = pos;
			len[n++] = l;
			pos += l;
		}
		for (size_t i = 0; i + 1 < n; i++) {
			size_t j = i + rng() % 40;
			if (j >= n)
				j = n - 1;
			size_t t = off[i];
			off[i] = off[j];
			off[j] = t;
			t = len[i];
			len[i] = len[j];
			len[j] = t;
		}
		/* The last segment last, so the stream always ends at TOTAL. */
		for (size_t i = 0; i < n; i++)
			if (off[i] + len[i] == TOTAL) {
				size_t t = off[i];
				off[i] = off[n - 1];
				off[n - 1] = t;
				t = len[i];
				len[i] = len[n - 1];
				len[n - 1] = t;
			}
		reasm_init(&d, &cfg);
		reasm_start(&d, isn1);
		for (size_t i = 0; i < n; i++) {
			feed(&d, isn1, off[i], len[i], s);
			assert_true(d.held_bytes <= cfg.max_buffered);
			assert_true(d.held_segments <= cfg.max_segments);
		}
		reasm_flush(&d, &cbs, s);
		assert_int_equal(d.delivered + d.missed_bytes, TOTAL);
		assert_int_equal(d.next, isn1 + TOTAL);
		assert_int_equal(d.delivered, s->n);
		/* Walk the output with the gaps put back. */
		size_t at = 0, streampos = 0;
		for (size_t g = 0; g <= s->ngaps; g++) {
			size_t stop = g < s->ngaps ? s->gap_at[g] : s->n;
			assert_memory_equal(s->out + at, stream + streampos, stop - at);
			streampos += stop - at;
			at = stop;
			if (g < s->ngaps)
				streampos += s->gap_len[g];
		}
		assert_int_equal(streampos, TOTAL);
		assert_int_equal(d.stats.overlaps_differing, 0);
		caps += d.stats.cap_bytes + d.stats.cap_segments;
		reasm_free(&d);
		free(s);
	}
	assert_true(caps > 0);
}

int main(void)
{
	fill_stream();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_order),
	    cmocka_unit_test(test_every_permutation),
	    cmocka_unit_test(test_reversed_counts),
	    cmocka_unit_test(test_retransmitted),
	    cmocka_unit_test(test_overlap_delivered),
	    cmocka_unit_test(test_overlap_held),
	    cmocka_unit_test(test_overlap_unverifiable),
	    cmocka_unit_test(test_hole_flush),
	    cmocka_unit_test(test_mid_stream),
	    cmocka_unit_test(test_wraparound),
	    cmocka_unit_test(test_byte_cap),
	    cmocka_unit_test(test_segment_cap),
	    cmocka_unit_test(test_budget),
	    cmocka_unit_test(test_zero_length),
	    cmocka_unit_test(test_before_start),
	    cmocka_unit_test(test_far_ahead),
	    cmocka_unit_test(test_random_shuffle),
	    cmocka_unit_test(test_random_capped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
