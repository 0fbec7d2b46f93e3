/* Our TCP reassembler: one direction of one stream, on sequence numbers only.
 *
 * It knows nothing of flows, packets or dissectors: the owner hands it each
 * segment's sequence number and payload, and it calls back with the bytes in
 * order (deliver) and with the size of every hole it gives up on (gap).  It
 * carries what libnids cannot (IPv6, flows picked up mid-stream, one-direction
 * captures) and what libnids left undelivered at a handover.
 *
 * Rules:
 * - Sequence numbers wrap at 2^32: every comparison is a signed 32-bit delta
 *   from the next expected byte.
 * - Bytes already seen (delivered or held) are never taken twice: the first
 *   copy wins.  A segment whose every byte was seen is a retransmission; one
 *   that brings new bytes too is an overlap.  Where the new copy's bytes
 *   differ from the first one (an evasion sign) overlaps_differing counts it.
 *   Delivered bytes are compared against a small window of the most recently
 *   delivered ones (recent_window); older bytes cannot be checked and
 *   overlaps_unverifiable counts that instead.
 * - Segments ahead of the next expected byte are copied and held, sorted and
 *   never overlapping, within max_buffered bytes, max_segments segments and
 *   the optional budget shared by many directions.  When one would be
 *   exceeded the reassembler does not grow: it skips the first hole (gap),
 *   delivers what follows it in order, and tries again -- the same stall
 *   policy the owner triggers with reasm_skip_hole / reasm_flush.
 * - A segment more than 1 GiB ahead of the next expected byte is garbage:
 *   dropped and counted (dropped_far).
 * - Without reasm_start (mid-stream pickup) the first data segment starts the
 *   stream; bytes before the start are dropped and counted (before_start).
 *
 * Memory per direction: sizeof(struct reasm_dir), plus recent_window bytes
 * once data flows, plus at most max_buffered payload bytes in at most
 * max_segments held segments (each with a small header: reasm_seg_overhead()).
 * reasm_free releases all of it.  Callbacks must not call back into the same
 * reasm_dir.
 */
#ifndef PORTOLAN_REASM_H
#define PORTOLAN_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A segment starting further ahead than this is garbage, as is one longer. */
#define REASM_MAX_AHEAD (1u << 30)

#define REASM_DEFAULT_MAX_BUFFERED (1u << 20)
#define REASM_DEFAULT_MAX_SEGMENTS 1024
#define REASM_DEFAULT_RECENT_WINDOW 4096

/* An optional byte cap shared by many directions (all flows of a run): held
 * payload bytes are charged to it.  Owned by the caller; used starts at 0. */
struct reasm_budget {
	size_t max_bytes;
	size_t used;
};

struct reasm_config {
	size_t max_buffered;         /* payload bytes held out of order; default 1 MiB */
	uint32_t max_segments;       /* held segments; default 1024 (0: never hold) */
	uint32_t recent_window;      /* delivered bytes kept to verify overlaps; 4096 */
	struct reasm_budget *budget; /* shared cap, or NULL for none (default) */
};

struct reasm_callbacks {
	/* len > 0 bytes in order; data is valid only during the call. */
	void (*deliver)(void *ctx, const uint8_t *data, size_t len);
	/* missing > 0 bytes were skipped: the next delivery follows the hole. */
	void (*gap)(void *ctx, size_t missing);
};

/* Counters.  Segment counts count each segment once whatever its fate. */
struct reasm_stats {
	uint64_t segments;              /* data segments given (len > 0) */
	uint64_t empty_segments;        /* zero-length segments (ignored) */
	uint64_t out_of_order;          /* segments held because they came early */
	uint64_t retransmits;           /* segments whose every byte was seen before */
	uint64_t overlaps;              /* segments with seen bytes and new ones */
	uint64_t overlaps_differing;    /* ... whose seen bytes differed from the first copy */
	uint64_t overlaps_unverifiable; /* ... with seen bytes older than the window */
	uint64_t retransmitted_bytes;   /* seen bytes dropped (whole and partial) */
	uint64_t before_start;          /* segments with bytes before the stream start */
	uint64_t before_start_bytes;    /* ... those bytes, dropped */
	uint64_t dropped_far;           /* segments > REASM_MAX_AHEAD ahead or long */
	uint64_t cap_bytes;             /* holes skipped because max_buffered was hit */
	uint64_t cap_segments;          /* ... because max_segments was hit */
	uint64_t cap_budget;            /* ... because the shared budget was hit */
	uint64_t alloc_failed;          /* held copies lost to malloc failure */
	uint64_t gaps;                  /* gap callbacks made */
};

struct reasm_seg; /* a held segment (reasm.c) */

/* One direction's state.  Owners read the fields; only reasm_* writes them. */
struct reasm_dir {
	struct reasm_seg *head, *tail; /* held segments, sorted, not overlapping */
	uint8_t *recent;               /* ring of the last delivered bytes, lazily */
	struct reasm_budget *budget;
	size_t max_buffered;
	uint32_t max_segments;
	uint32_t recent_cap; /* ring size; 0 when disabled */
	uint32_t recent_len; /* valid bytes in the ring, all just before next */
	uint32_t recent_pos; /* where the next delivered byte goes */
	size_t held_bytes;
	uint32_t held_segments;
	uint32_t next;         /* sequence number of the next byte to deliver */
	bool started;          /* next is known */
	uint64_t delivered;    /* bytes delivered */
	uint64_t missed_bytes; /* bytes reported as gaps */
	struct reasm_stats stats;
};
/* Two of these may sit in every TCP flow: keep them small (224 bytes on LP64). */
_Static_assert(sizeof(struct reasm_dir) <= 256, "struct reasm_dir grew");

void reasm_config_default(struct reasm_config *cfg);

/* cfg NULL: the defaults.  The config is copied; a budget is kept by pointer. */
void reasm_init(struct reasm_dir *d, const struct reasm_config *cfg);

/* The stream's first data byte is seq (ISN + 1, known from the SYN).  Only
 * before any data segment; returns false (and changes nothing) after. */
bool reasm_start(struct reasm_dir *d, uint32_t seq);

/* A segment's payload at sequence number seq.  Delivers everything now in
 * order, holds what came early, drops what was seen; may skip holes when a
 * cap is hit (see above). */
void reasm_segment(struct reasm_dir *d, uint32_t seq, const uint8_t *data, size_t len,
                   const struct reasm_callbacks *cb, void *ctx);

/* The stall policy, one hole at a time: reports gap() for the bytes before
 * the first held segment and delivers it and every held segment contiguous
 * with it.  Returns false when nothing was held. */
bool reasm_skip_hole(struct reasm_dir *d, const struct reasm_callbacks *cb, void *ctx);

/* Skips every hole and delivers everything held (FIN, RST, end of input,
 * handover, bypass). */
void reasm_flush(struct reasm_dir *d, const struct reasm_callbacks *cb, void *ctx);

/* Frees everything held (undelivered bytes are dropped, budget released);
 * d may be reused after reasm_init. */
void reasm_free(struct reasm_dir *d);

/* The sequence number of the first held segment; false when none is held. */
bool reasm_first_held(const struct reasm_dir *d, uint32_t *seq);

/* Sets the size of the window of delivered bytes kept to check overlaps,
 * while it is not in use yet (0 turns it off). */
void reasm_set_window(struct reasm_dir *d, uint32_t cap);

/* Memory a held segment costs beyond its payload. */
size_t reasm_seg_overhead(void);

#endif
