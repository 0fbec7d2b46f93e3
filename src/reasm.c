/* TCP reassembly of one direction (see reasm.h for the rules).
 *
 * Positions are signed offsets from the next expected byte (d->next): a
 * segment's offset is the signed 32-bit delta of its sequence number, so
 * wraparound at 2^32 needs no special case as long as everything in play is
 * within 2 GiB of next -- which REASM_MAX_AHEAD guarantees for held data.
 * Arithmetic on offsets is done in int64_t so that offset + length never
 * overflows.
 *
 * Held segments form a singly linked list sorted by sequence number, never
 * overlapping and always strictly ahead of next between calls.  A new
 * segment only fills what the list does not cover (first copy wins); the
 * bytes it shares with held ones are compared.  The tail pointer makes the
 * common case (segments after a hole arriving in order) an append.
 */
#include "portolan/reasm.h"

#include <stdlib.h>
#include <string.h>

struct reasm_seg {
	struct reasm_seg *next;
	uint32_t seq;
	uint32_t len;
	uint8_t data[];
};

/* What happened to one segment, tallied into the counters once at the end. */
struct seg_note {
	bool seen;         /* some bytes were delivered or held before */
	bool fresh;        /* some bytes were new (delivered or held now) */
	bool held;         /* some new bytes were held because they came early */
	bool differing;    /* a seen byte differed from the first copy */
	bool unverifiable; /* a seen byte was older than the window */
	uint64_t seen_bytes;
	uint64_t before_start_bytes;
};

/* New bytes and held segments a segment would add (a dry run of place). */
struct need {
	size_t bytes;
	uint32_t segments;
};

enum cap { CAP_NONE, CAP_BYTES, CAP_SEGMENTS, CAP_BUDGET };

static int64_t sdelta(uint32_t a, uint32_t b)
{
	uint32_t u = a - b;
	return u <= INT32_MAX ? (int64_t)u : (int64_t)u - ((int64_t)1 << 32);
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static int64_t min_i64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

void reasm_config_default(struct reasm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_buffered = REASM_DEFAULT_MAX_BUFFERED;
	cfg->max_segments = REASM_DEFAULT_MAX_SEGMENTS;
	cfg->recent_window = REASM_DEFAULT_RECENT_WINDOW;
	cfg->budget = NULL;
}

size_t reasm_seg_overhead(void)
{
	return sizeof(struct reasm_seg);
}

void reasm_init(struct reasm_dir *d, const struct reasm_config *cfg)
{
	struct reasm_config def;

	if (!cfg) {
		reasm_config_default(&def);
		cfg = &def;
	}
	memset(d, 0, sizeof(*d));
	d->max_buffered = cfg->max_buffered;
	d->max_segments = cfg->max_segments;
	d->recent_cap = cfg->recent_window;
	d->budget = cfg->budget;
}

bool reasm_start(struct reasm_dir *d, uint32_t seq)
{
	if (d->started)
		return false;
	d->started = true;
	d->next = seq;
	return true;
}

/* --- the window of recently delivered bytes --- */

static void recent_add(struct reasm_dir *d, const uint8_t *data, size_t len)
{
	size_t cap = d->recent_cap;

	if (cap == 0)
		return;
	if (!d->recent) {
		d->recent = malloc(cap);
		if (!d->recent) {
			d->recent_cap = 0;
			return;
		}
	}
	if (len >= cap) {
		memcpy(d->recent, data + len - cap, cap);
		d->recent_pos = 0;
		d->recent_len = (uint32_t)cap;
		return;
	}
	size_t first = min_size(len, cap - d->recent_pos);
	memcpy(d->recent + d->recent_pos, data, first);
	memcpy(d->recent, data + first, len - first);
	d->recent_pos = (uint32_t)((d->recent_pos + len) % cap);
	d->recent_len = (uint32_t)min_size(cap, (size_t)d->recent_len + len);
}

/* The delivered byte at offset rel (-recent_len <= rel < 0) from next. */
static uint8_t recent_at(const struct reasm_dir *d, int64_t rel)
{
	int64_t i = ((int64_t)d->recent_pos + rel) % (int64_t)d->recent_cap;
	if (i < 0)
		i += d->recent_cap;
	return d->recent[i];
}

/* --- delivery --- */

static void deliver(struct reasm_dir *d, const uint8_t *data, size_t len,
                    const struct reasm_callbacks *cb, void *ctx)
{
	if (len == 0)
		return;
	if (cb->deliver)
		cb->deliver(ctx, data, len);
	recent_add(d, data, len);
	d->next += (uint32_t)len;
	d->delivered += len;
}

/* Gives up on the missing bytes just before next + missing. */
static void skip(struct reasm_dir *d, size_t missing, const struct reasm_callbacks *cb, void *ctx)
{
	if (missing == 0)
		return;
	if (cb->gap)
		cb->gap(ctx, missing);
	d->stats.gaps++;
	d->missed_bytes += missing;
	d->next += (uint32_t)missing;
	d->recent_len = 0; /* the window holds only bytes contiguous with next */
}

static void release(struct reasm_dir *d, struct reasm_seg *s)
{
	d->held_bytes -= s->len;
	d->held_segments--;
	if (d->budget)
		d->budget->used -= s->len;
	free(s);
}

/* Delivers the held segments that start at next, one after another. */
static void drain(struct reasm_dir *d, const struct reasm_callbacks *cb, void *ctx)
{
	struct reasm_seg *s;

	while ((s = d->head) != NULL) {
		int64_t off = sdelta(s->seq, d->next);
		if (off > 0)
			break;
		d->head = s->next;
		if (!d->head)
			d->tail = NULL;
		/* Held segments never fall behind next; if one did, only its
		 * part beyond next is new. */
		if (off + (int64_t)s->len > 0)
			deliver(d, s->data + (-off), (size_t)(s->len + off), cb, ctx);
		release(d, s);
	}
}

bool reasm_skip_hole(struct reasm_dir *d, const struct reasm_callbacks *cb, void *ctx)
{
	if (!d->head)
		return false;
	int64_t off = sdelta(d->head->seq, d->next);
	if (off > 0)
		skip(d, (size_t)off, cb, ctx);
	drain(d, cb, ctx);
	return true;
}

void reasm_flush(struct reasm_dir *d, const struct reasm_callbacks *cb, void *ctx)
{
	while (reasm_skip_hole(d, cb, ctx))
		;
}

void reasm_free(struct reasm_dir *d)
{
	struct reasm_seg *s = d->head;

	while (s) {
		struct reasm_seg *n = s->next;
		release(d, s);
		s = n;
	}
	d->head = d->tail = NULL;
	free(d->recent);
	d->recent = NULL;
	d->recent_len = 0;
}

/* --- bytes behind next: already delivered, or before the start --- */

static void check_old(struct reasm_dir *d, int64_t off, const uint8_t *data, size_t len,
                      struct seg_note *n)
{
	uint64_t pos_next = d->delivered + d->missed_bytes; /* bytes of stream before next */
	int64_t end = off + (int64_t)len;
	int64_t start_rel = pos_next >= REASM_MAX_AHEAD * 2ull ? INT64_MIN : -(int64_t)pos_next;
	int64_t cur = off;

	if (cur < start_rel) {
		int64_t stop = min_i64(start_rel, end);
		n->before_start_bytes += (uint64_t)(stop - cur);
		cur = stop;
	}
	if (cur >= end)
		return;
	n->seen = true;
	n->seen_bytes += (uint64_t)(end - cur);
	int64_t window = -(int64_t)d->recent_len;
	if (cur < window) {
		n->unverifiable = true;
		cur = window;
	}
	for (; cur < end; cur++) {
		if (recent_at(d, cur) != data[cur - off]) {
			n->differing = true;
			break;
		}
	}
}

/* --- bytes ahead of next: held --- */

/* Walks the held list over [seq, seq + len) (seq at or after next).  Bytes
 * covered by held segments are compared (commit only); the runs not covered
 * are counted in *nd and, when commit, copied into new held segments. */
static void place(struct reasm_dir *d, uint32_t seq, const uint8_t *data, size_t len, bool commit,
                  struct need *nd, struct seg_note *n)
{
	int64_t start = sdelta(seq, d->next);
	int64_t end = start + (int64_t)len;
	int64_t cur = start;
	struct reasm_seg **link = &d->head;

	if (d->tail && sdelta(d->tail->seq, d->next) + d->tail->len <= start)
		link = &d->tail->next;
	while (cur < end) {
		struct reasm_seg *h = *link;
		int64_t hs = h ? sdelta(h->seq, d->next) : INT64_MAX;
		int64_t he = h ? hs + (int64_t)h->len : INT64_MAX;

		if (h && he <= cur) {
			link = &h->next;
			continue;
		}
		if (h && hs <= cur) {
			int64_t stop = min_i64(he, end);
			if (commit) {
				n->seen = true;
				n->seen_bytes += (uint64_t)(stop - cur);
				if (memcmp(data + (cur - start), h->data + (cur - hs),
				           (size_t)(stop - cur)) != 0)
					n->differing = true;
			}
			cur = stop;
			link = &h->next;
			continue;
		}
		int64_t stop = min_i64(hs, end);
		size_t run = (size_t)(stop - cur);
		nd->bytes += run;
		nd->segments++;
		if (commit) {
			struct reasm_seg *s = malloc(sizeof(*s) + run);
			if (!s) {
				d->stats.alloc_failed++;
			} else {
				s->seq = d->next + (uint32_t)cur;
				s->len = (uint32_t)run;
				memcpy(s->data, data + (cur - start), run);
				s->next = h;
				*link = s;
				if (!h)
					d->tail = s;
				link = &s->next;
				d->held_bytes += run;
				d->held_segments++;
				if (d->budget)
					d->budget->used += run;
				n->fresh = true;
				if (start > 0)
					n->held = true;
			}
		}
		cur = stop;
	}
}

static enum cap cap_hit(const struct reasm_dir *d, const struct need *nd)
{
	if (nd->bytes == 0)
		return CAP_NONE;
	if (nd->segments > d->max_segments - d->held_segments)
		return CAP_SEGMENTS;
	if (nd->bytes > d->max_buffered - d->held_bytes)
		return CAP_BYTES;
	if (d->budget &&
	    nd->bytes > d->budget->max_bytes - min_size(d->budget->used, d->budget->max_bytes))
		return CAP_BUDGET;
	return CAP_NONE;
}

static void tally(struct reasm_dir *d, const struct seg_note *n)
{
	struct reasm_stats *st = &d->stats;

	if (n->held)
		st->out_of_order++;
	if (n->seen) {
		if (n->fresh)
			st->overlaps++;
		else
			st->retransmits++;
		if (n->differing)
			st->overlaps_differing++;
		if (n->unverifiable)
			st->overlaps_unverifiable++;
	}
	st->retransmitted_bytes += n->seen_bytes;
	if (n->before_start_bytes) {
		st->before_start++;
		st->before_start_bytes += n->before_start_bytes;
	}
}

void reasm_segment(struct reasm_dir *d, uint32_t seq, const uint8_t *data, size_t len,
                   const struct reasm_callbacks *cb, void *ctx)
{
	struct seg_note n = {0};

	if (len == 0) {
		d->stats.empty_segments++;
		return;
	}
	d->stats.segments++;
	if (len > REASM_MAX_AHEAD) {
		d->stats.dropped_far++;
		return;
	}
	if (!d->started) {
		d->started = true;
		d->next = seq;
	}
	if (sdelta(seq, d->next) > (int64_t)REASM_MAX_AHEAD) {
		d->stats.dropped_far++;
		return;
	}

	while (len > 0) {
		int64_t off = sdelta(seq, d->next);
		if (off < 0) {
			size_t old = min_size((size_t)-off, len);
			check_old(d, off, data, old, &n);
			data += old;
			len -= old;
			seq += (uint32_t)old;
			continue;
		}
		if (off == 0) {
			/* In order: deliver straight from the packet up to the
			 * first held segment. */
			size_t now = len;
			if (d->head)
				now = min_size(len, (size_t)sdelta(d->head->seq, d->next));
			if (now > 0) {
				n.fresh = true;
				deliver(d, data, now, cb, ctx);
				data += now;
				len -= now;
				seq += (uint32_t)now;
			}
			if (len == 0)
				break;
		}
		struct need nd = {0, 0};
		place(d, seq, data, len, false, &nd, &n);
		enum cap c = cap_hit(d, &nd);
		if (c == CAP_NONE) {
			place(d, seq, data, len, true, &nd, &n);
			break;
		}
		if (c == CAP_BYTES)
			d->stats.cap_bytes++;
		else if (c == CAP_SEGMENTS)
			d->stats.cap_segments++;
		else
			d->stats.cap_budget++;
		/* Stall: skip the first hole and try again.  With nothing held
		 * (this segment alone is too big to hold) skip up to it. */
		if (!reasm_skip_hole(d, cb, ctx))
			skip(d, (size_t)off, cb, ctx);
	}
	drain(d, cb, ctx);
	tally(d, &n);
}

bool reasm_first_held(const struct reasm_dir *d, uint32_t *seq)
{
	if (!d->head)
		return false;
	*seq = d->head->seq;
	return true;
}

void reasm_set_window(struct reasm_dir *d, uint32_t cap)
{
	/* a window already holding bytes keeps its size: they are still valid */
	if (!d->recent)
		d->recent_cap = cap;
}
