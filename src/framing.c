/* The core framers: lines and length-prefixed PDUs (see framing.h).
 *
 * Both work on the reader the dissector got in on_data: they only move its
 * cursor, so the dissector returns rd_offset() as the bytes consumed, and
 * hand out sub-readers borrowing its bytes.  Nothing is allocated or copied.
 */
#include "portolan/framing.h"

/* A reader over the bytes from r's cursor on, with its own offset 0. */
static struct reader rest_view(const struct reader *r)
{
	size_t n = rd_remaining(r);
	return rd_init(n ? r->data + r->off : NULL, n);
}

static size_t min_size(size_t a, uint64_t b)
{
	return b < a ? (size_t)b : a;
}

/* ---- Lines ---- */

static size_t line_cap(const struct line_state *ls)
{
	return ls->max_line ? ls->max_line : FRAME_DEFAULT_MAX_LINE;
}

/* Consumes the tail of an over-long line; true when its LF was reached. */
static bool skip_line_tail(struct line_state *ls, struct reader *r)
{
	/* rd_find on an empty reader would pass memchr a NULL pointer */
	long lf = rd_remaining(r) ? rd_find(r, '\n') : -1;
	size_t n = lf < 0 ? rd_remaining(r) : (size_t)lf + 1;
	rd_skip(r, n);
	ls->skipped += n;
	if (lf < 0)
		return false;
	ls->skipping = false;
	return true;
}

enum frame_result line_next(struct line_state *ls, struct reader *r, struct reader *line,
                            bool *too_long)
{
	*line = rd_init(NULL, 0);
	*too_long = false;
	if (!rd_ok(r))
		return FRAME_ERROR;
	if (ls->skipping && !skip_line_tail(ls, r))
		return FRAME_NEED_MORE;

	size_t max = line_cap(ls);
	size_t avail = rd_remaining(r);
	if (avail == 0)
		return FRAME_NEED_MORE;
	/* a line within the cap ends within max + 2 bytes (content, CR, LF) */
	size_t window = avail;
	if (max < SIZE_MAX - 2 && window > max + 2)
		window = max + 2;
	struct reader view = rest_view(r);
	view.len = window;
	long lf = rd_find(&view, '\n');

	if (lf >= 0) {
		size_t content = (size_t)lf;
		if (content > 0 && rd_peek(&view, content - 1) == '\r')
			content--;
		if (content <= max) {
			*line = rd_sub(r, content);
			rd_skip(r, (size_t)lf + 1 - content);
			return FRAME_OK;
		}
		/* over-long, its end is here: cut, skip the rest and the LF */
		*line = rd_sub(r, max);
		*too_long = true;
		ls->too_long++;
		size_t rest = (size_t)lf + 1 - max;
		rd_skip(r, rest);
		ls->skipped += rest;
		return FRAME_OK;
	}
	/* no LF yet: still possibly within the cap while at most max bytes are
	 * here, or max + 1 with the last one a CR that may start a CRLF */
	if (avail <= max || (avail == max + 1 && rd_peek(&view, max) == '\r'))
		return FRAME_NEED_MORE;

	*line = rd_sub(r, max);
	*too_long = true;
	ls->too_long++;
	ls->skipping = true;
	skip_line_tail(ls, r); /* no LF in the window; maybe further on */
	return FRAME_OK;
}

void line_gap(struct line_state *ls)
{
	ls->skipping = true;
}

/* ---- PDUs ---- */

static size_t pdu_cap(const struct pdu_state *ps)
{
	return ps->max_pdu ? ps->max_pdu : FRAME_DEFAULT_MAX_PDU;
}

/* Consumes what is here of an oversize PDU being skipped. */
static void skip_pdu_bytes(struct pdu_state *ps, struct reader *r)
{
	size_t n = min_size(rd_remaining(r), ps->skip_left);
	rd_skip(r, n);
	ps->skip_left -= n;
	ps->skipped += n;
	ps->needed = (size_t)ps->skip_left;
}

enum frame_result pdu_next(struct pdu_state *ps, struct reader *r, pdu_length_fn fn, void *arg,
                           struct reader *pdu)
{
	*pdu = rd_init(NULL, 0);
	if (!rd_ok(r))
		return FRAME_ERROR;
	if (ps->skip_left > 0) {
		skip_pdu_bytes(ps, r);
		if (ps->skip_left > 0)
			return FRAME_NEED_MORE;
	}

	long len = fn(rest_view(r), arg);
	if (len < 0) {
		ps->needed = 0;
		return FRAME_ERROR;
	}
	if (len == 0) {
		ps->needed = 1;
		return FRAME_NEED_MORE;
	}
	size_t total = (size_t)len;
	if (total > pdu_cap(ps)) {
		ps->too_big++;
		ps->skip_left = total;
		skip_pdu_bytes(ps, r);
		return FRAME_TOO_BIG;
	}
	size_t avail = rd_remaining(r);
	if (avail < total) {
		ps->needed = total - avail;
		return FRAME_NEED_MORE;
	}
	ps->needed = 0;
	*pdu = rd_sub(r, total);
	return FRAME_OK;
}

bool pdu_gap(struct pdu_state *ps, size_t missing)
{
	if (ps->skip_left < missing)
		return false;
	ps->skip_left -= missing;
	ps->skipped += missing;
	ps->needed = (size_t)ps->skip_left;
	return true;
}

long pdu_length_dns_tcp(struct reader header, void *arg)
{
	(void)arg;
	if (!rd_has(&header, 2))
		return 0;
	return 2 + (long)rd_be16(&header);
}

long pdu_length_tpkt(struct reader header, void *arg)
{
	(void)arg;
	int version = rd_peek(&header, 0);
	int reserved = rd_peek(&header, 1);
	if (version < 0)
		return 0;
	if (version != 3)
		return -1;
	if (reserved < 0)
		return 0;
	if (reserved != 0)
		return -1;
	if (!rd_has(&header, 4))
		return 0;
	rd_skip(&header, 2);
	long len = rd_be16(&header);
	return len < 4 ? -1 : len;
}
