/* The core framers: lines and length-prefixed PDUs out of a byte stream.
 *
 * A stream dissector's on_data(session, state, dir, reader) sees the bytes
 * the core kept from last time followed by the new ones, and returns how
 * many it consumed; the core keeps the rest and hands them back with the
 * next bytes (src/dissect.c stream_to_dissector).  These two framers do the
 * counting so that no dissector tracks bytes across segments by hand:
 *
 *	size_t my_on_data(struct session *s, void *state, enum direction dir,
 *	                  struct reader r)
 *	{
 *		struct my_state *st = state;
 *		struct reader line;
 *		bool cut;
 *		while (line_next(&st->lines[dir], &r, &line, &cut) == FRAME_OK)
 *			my_line(st, line, cut);
 *		return rd_offset(&r);	(the bytes consumed, exactly)
 *	}
 *
 * and the same loop with pdu_next() for PDUs.  The framers never allocate,
 * never read past the reader, and hand out sub-readers that borrow the
 * caller's bytes (valid until on_data returns).  Their only memory is a small
 * caller-owned state struct, zeroed by the core with the dissector's state;
 * a zero max_line / max_pdu means the default below.
 *
 * Caps: an over-long line or an oversize PDU is never buffered.  The framer
 * counts it in its state (too_long / too_big, and the bytes thrown away in
 * skipped); the dissector turns those into named counters / alerts.
 */
#ifndef PORTOLAN_FRAMING_H
#define PORTOLAN_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portolan/reader.h"

/* Defaults for a zero cap.  Both stay well under the core's pending-bytes cap
 * (256 KiB by default) so an accepted line or PDU can always be held whole. */
#define FRAME_DEFAULT_MAX_LINE 4096
#define FRAME_DEFAULT_MAX_PDU (128 * 1024)

enum frame_result {
	FRAME_OK = 0,    /* a whole line / PDU was produced; r moved past it */
	FRAME_NEED_MORE, /* nothing more can be produced from these bytes */
	FRAME_ERROR,     /* invalid PDU header (or a failed reader); r not moved */
	FRAME_TOO_BIG,   /* a PDU over max_pdu: its bytes are being skipped */
};

/* ---- Lines ---------------------------------------------------------------
 *
 * A line ends at LF; a CR right before the LF is part of the terminator
 * (CRLF).  The terminator is stripped.  Any other byte, NUL and CR included,
 * is line content.  A line longer than max_line content bytes is delivered
 * cut to its first max_line bytes with *too_long set, and the rest of it, up
 * to and including its LF, is skipped: across calls if need be (the state
 * remembers it is skipping).
 */
struct line_state {
	size_t max_line;   /* cap on a line's content bytes; 0: the default */
	bool skipping;     /* inside the tail of an over-long line */
	uint64_t too_long; /* over-long lines seen (each delivered cut once) */
	uint64_t skipped;  /* bytes thrown away from over-long lines */
};

/* Produces the next complete line from r.
 *
 * FRAME_OK: *line is a reader over the line's content (no terminator),
 *   *too_long says whether it was cut, and r has moved past the line and its
 *   terminator (or, for a cut line whose LF has not arrived yet, past every
 *   byte present: the state then skips the rest on later calls).
 * FRAME_NEED_MORE: no complete line.  r is not moved, except that bytes of
 *   an over-long line being skipped are consumed.  Call again with the kept
 *   remainder followed by the next bytes.
 * FRAME_ERROR: r had already failed; nothing is done.
 *
 * One call looks at no more than max_line + 2 bytes for a line's end (plus
 * the bytes it skips), so a flood without newlines costs no rescanning.
 * *line and *too_long are set on every return (empty / false unless OK).
 */
enum frame_result line_next(struct line_state *ls, struct reader *r, struct reader *line,
                            bool *too_long);

/* After a gap in the stream: the bytes that follow are in the middle of a
 * line, so skip to the next LF before producing lines again. */
void line_gap(struct line_state *ls);

/* ---- PDUs ----------------------------------------------------------------
 *
 * The length function looks at the bytes at the start of the next PDU
 * (header.off is 0; it may read them freely) and returns the PDU's total
 * length in bytes, header included (>= 1); 0 when it needs more header bytes
 * to tell; -1 when the header is invalid.  It should refuse a bad header as
 * early as it can (e.g. on a wrong first byte).
 */
typedef long (*pdu_length_fn)(struct reader header, void *arg);

struct pdu_state {
	size_t max_pdu;     /* cap on a PDU's total length; 0: the default */
	size_t needed;      /* after NEED_MORE / TOO_BIG: bytes still needed */
	uint64_t skip_left; /* bytes of an oversize PDU not yet skipped */
	uint64_t too_big;   /* oversize PDUs seen */
	uint64_t skipped;   /* bytes of oversize PDUs thrown away */
};

/* Produces the next whole PDU from r.
 *
 * FRAME_OK: *pdu is a reader over the whole PDU (header included), r moved
 *   past it, ps->needed is 0.
 * FRAME_NEED_MORE: r not moved (except for the bytes of an oversize PDU being
 *   skipped, which are consumed).  ps->needed is how many more bytes the
 *   next step needs: exact once the length is known (the rest of the PDU, or
 *   of the oversize PDU being skipped); 1, a lower bound, while the length
 *   function still needs header bytes.
 * FRAME_ERROR: the length function refused the header (or r had failed); r
 *   not moved.  The stream is out of sync: the dissector should stop
 *   framing this direction.
 * FRAME_TOO_BIG: the announced length is over max_pdu.  ps->too_big is
 *   counted, the bytes of that PDU present are consumed and the rest will be
 *   skipped by the following calls (which return NEED_MORE while skipping),
 *   so the stream stays in sync without buffering the PDU.  ps->needed is
 *   the number still to skip.
 * *pdu is set on every return (an empty reader unless OK).
 */
enum frame_result pdu_next(struct pdu_state *ps, struct reader *r, pdu_length_fn fn, void *arg,
                           struct reader *pdu);

/* After a gap of `missing` bytes: true when the framer is still in sync (the
 * hole fell inside an oversize PDU being skipped, and is deducted from it),
 * false when the stream position of the next PDU is lost. */
bool pdu_gap(struct pdu_state *ps, size_t missing);

/* DNS over TCP (RFC 1035 4.2.2, RFC 7766): a 2-byte big-endian length, then
 * the message; the PDU is 2 + that length (a zero length is a 2-byte PDU).
 * arg is unused. */
long pdu_length_dns_tcp(struct reader header, void *arg);

/* TPKT (RFC 1006): version 3, a reserved 0 byte, a 16-bit big-endian length
 * that includes this 4-byte header.  A length under 4 is invalid.  arg is
 * unused. */
long pdu_length_tpkt(struct reader header, void *arg);

#endif
