/* The pipeline: one packet from the capture through decode, defragmenting,
 * the flow table, reassembly and the dissectors to the session records.
 * All state lives here and is passed down; nothing is global. */
#ifndef PORTOLAN_PIPELINE_H
#define PORTOLAN_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "portolan/counters.h"
#include "portolan/decode.h"
#include "portolan/defrag.h"
#include "portolan/dissect.h"
#include "portolan/explain.h"
#include "portolan/flow.h"
#include "portolan/output.h"
#include "portolan/stream.h"

struct report;

struct pipeline_config {
	struct flow_config flow;
	struct defrag_config defrag;
	struct dissect_config dissect;
	struct stream_config stream;
	struct explain_config explain;
};

void pipeline_config_default(struct pipeline_config *cfg);

struct pipeline {
	struct pipeline_config cfg;
	struct flow_table *flows;
	struct defrag *defrag;
	struct dissect_ctx dissect;
	struct stream_ctx stream;
	struct explain_ctx explain;
	struct report *report; /* --report: set by the caller, or NULL */
	struct output *out;
	struct counters counters;  /* named counters from every stage */
	struct counters protocols; /* sessions written, by protocol */

	uint64_t packets, bytes;
	uint64_t by_status[DECODE_MALFORMED + 1];
	uint64_t by_error[DERR_COUNT];
	uint64_t snap_truncated;
	usec_t now;         /* packet time, never running backward */
	usec_t next_expire; /* when idle flows are looked at next */
	usec_t first_ts, last_ts;
};

int pipeline_init(struct pipeline *pl, const struct pipeline_config *cfg, struct output *out,
                  char *err, size_t errlen);

/* One captured frame of the given link type. */
void pipeline_packet(struct pipeline *pl, int linktype, usec_t ts, const uint8_t *data,
                     uint32_t caplen, uint32_t wirelen);

/* Lets time pass without a packet (live capture on a quiet link). */
void pipeline_tick(struct pipeline *pl, usec_t now);

/* Ends every open flow and writes its record. */
void pipeline_flush(struct pipeline *pl);
void pipeline_free(struct pipeline *pl);

/* The end-of-run summary: as text on fp, and as a "stats" record when the
 * output is JSON. */
void pipeline_print_summary(const struct pipeline *pl, FILE *fp);
void pipeline_emit_stats(struct emitter *e, const void *pipeline);

#endif
