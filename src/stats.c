/* The end-of-run summary: on stderr as text, and as a "stats" record. */
#include <inttypes.h>
#include <stdio.h>

#include "portolan/pipeline.h"

static const char *const status_names[] = {
    [DECODE_OK] = "decoded",          [DECODE_FRAGMENT] = "fragments",
    [DECODE_NOT_IP] = "not_ip",       [DECODE_UNSUPPORTED] = "unsupported_transport",
    [DECODE_MALFORMED] = "malformed",
};

void pipeline_print_summary(const struct pipeline *pl, FILE *fp)
{
	const struct flow_table_stats *fs = flow_table_stats(pl->flows);
	const struct defrag_stats *ds = defrag_stats(pl->defrag);

	fprintf(fp, "portolan: %" PRIu64 " packets, %" PRIu64 " bytes, %.3f s of traffic\n",
	        pl->packets, pl->bytes, (double)(pl->last_ts - pl->first_ts) / 1e6);
	fprintf(fp,
	        "  flows: %" PRIu64 " created, %" PRIu64 " evicted, %" PRIu64
	        " most open at once\n",
	        fs->created, fs->evicted, fs->max_active);
	fprintf(fp, "  sessions:");
	for (size_t i = 0; i < pl->protocols.n; i++)
		fprintf(fp, " %s %" PRIu64, pl->protocols.items[i].name,
		        pl->protocols.items[i].value);
	fprintf(fp, "%s\n", pl->protocols.n ? "" : " none");
	fprintf(fp, "  packets:");
	for (int s = 0; s <= DECODE_MALFORMED; s++)
		fprintf(fp, " %s %" PRIu64, status_names[s], pl->by_status[s]);
	fprintf(fp, " snaplen-cut %" PRIu64 "\n", pl->snap_truncated);
	fprintf(fp,
	        "  fragments: %" PRIu64 " held, %" PRIu64 " datagrams rebuilt, %" PRIu64
	        " timed out, %" PRIu64 " dropped by caps\n",
	        ds->fragments, ds->reassembled, ds->timeouts, ds->dropped_cap);
	for (int e = 1; e < DERR_COUNT; e++)
		if (pl->by_error[e])
			fprintf(fp, "  decode error %s: %" PRIu64 "\n",
			        decode_error_name((enum decode_error)e), pl->by_error[e]);
	for (size_t i = 0; i < pl->counters.n; i++)
		fprintf(fp, "  %s: %" PRIu64 "\n", pl->counters.items[i].name,
		        pl->counters.items[i].value);
}

void pipeline_emit_stats(struct emitter *e, const void *arg)
{
	const struct pipeline *pl = arg;
	const struct flow_table_stats *fs = flow_table_stats(pl->flows);
	const struct defrag_stats *ds = defrag_stats(pl->defrag);

	emit_object_begin(e, NULL);
	emit_str(e, "type", "stats");
	emit_int(e, "packets", (int64_t)pl->packets);
	emit_int(e, "bytes", (int64_t)pl->bytes);
	emit_object_begin(e, "flows");
	emit_int(e, "created", (int64_t)fs->created);
	emit_int(e, "evicted", (int64_t)fs->evicted);
	emit_int(e, "max_open", (int64_t)fs->max_active);
	emit_object_end(e);
	emit_object_begin(e, "sessions");
	for (size_t i = 0; i < pl->protocols.n; i++)
		emit_int(e, pl->protocols.items[i].name, (int64_t)pl->protocols.items[i].value);
	emit_object_end(e);
	emit_object_begin(e, "decode");
	for (int s = 0; s <= DECODE_MALFORMED; s++)
		emit_int(e, status_names[s], (int64_t)pl->by_status[s]);
	emit_int(e, "snaplen_cut", (int64_t)pl->snap_truncated);
	for (int er = 1; er < DERR_COUNT; er++)
		if (pl->by_error[er])
			emit_int(e, decode_error_name((enum decode_error)er),
			         (int64_t)pl->by_error[er]);
	emit_object_end(e);
	emit_object_begin(e, "fragments");
	emit_int(e, "held", (int64_t)ds->fragments);
	emit_int(e, "reassembled", (int64_t)ds->reassembled);
	emit_int(e, "timeouts", (int64_t)ds->timeouts);
	emit_int(e, "overlaps", (int64_t)ds->overlaps);
	emit_int(e, "dropped_cap", (int64_t)ds->dropped_cap);
	emit_object_end(e);
	emit_object_begin(e, "counters");
	for (size_t i = 0; i < pl->counters.n; i++)
		emit_int(e, pl->counters.items[i].name, (int64_t)pl->counters.items[i].value);
	emit_object_end(e);
	emit_object_end(e);
}
