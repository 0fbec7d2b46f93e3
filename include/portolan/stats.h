/* The run's statistics as plain numbers: what the end-of-run summary and
 * the "stats" record print.  One pipeline fills them (pipeline_totals);
 * with --workers N the supervisor adds up the workers' (totals_add). */
#ifndef PORTOLAN_STATS_H
#define PORTOLAN_STATS_H

#include <stdio.h>

#include "portolan/pipeline.h"

struct pipeline_totals {
	uint64_t packets, bytes;
	usec_t first_ts, last_ts; /* 0 when no packet came */
	uint64_t by_status[DECODE_MALFORMED + 1];
	uint64_t by_error[DERR_COUNT];
	uint64_t snap_truncated;
	struct flow_table_stats flows;
	struct defrag_stats defrag;
	struct counters counters;  /* named counters from every stage */
	struct counters protocols; /* sessions written, by protocol */
};

void pipeline_totals(const struct pipeline *pl, struct pipeline_totals *t);
/* sum += t.  Counter names are kept by pointer: they must outlive sum. */
void totals_add(struct pipeline_totals *sum, const struct pipeline_totals *t);

void totals_print_summary(const struct pipeline_totals *t, FILE *fp);
/* The keys of the "stats" record, inside an object the caller opened. */
void totals_emit_keys(struct emitter *e, const struct pipeline_totals *t);

#endif
