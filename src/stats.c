/* The end-of-run summary: on stderr as text, and as a "stats" record. */
#include <inttypes.h>
#include <stdio.h>

#include "portolan/stats.h"

static const char *const status_names[] = {
    [DECODE_OK] = "decoded",          [DECODE_FRAGMENT] = "fragments",
    [DECODE_NOT_IP] = "not_ip",       [DECODE_UNSUPPORTED] = "unsupported_transport",
    [DECODE_MALFORMED] = "malformed",
};

void pipeline_totals(const struct pipeline *pl, struct pipeline_totals *t)
{
	t->packets = pl->packets;
	t->bytes = pl->bytes;
	t->first_ts = pl->first_ts;
	t->last_ts = pl->last_ts;
	for (int s = 0; s <= DECODE_MALFORMED; s++)
		t->by_status[s] = pl->by_status[s];
	for (int e = 0; e < DERR_COUNT; e++)
		t->by_error[e] = pl->by_error[e];
	t->snap_truncated = pl->snap_truncated;
	t->flows = *flow_table_stats(pl->flows);
	t->defrag = *defrag_stats(pl->defrag);
	t->counters = pl->counters;
	t->protocols = pl->protocols;
}

static void counters_sum(struct counters *sum, const struct counters *c)
{
	for (size_t i = 0; i < c->n; i++)
		counters_add(sum, c->items[i].name, c->items[i].value);
	sum->overflow += c->overflow;
}

void totals_add(struct pipeline_totals *sum, const struct pipeline_totals *t)
{
	sum->packets += t->packets;
	sum->bytes += t->bytes;
	if (t->first_ts && (!sum->first_ts || t->first_ts < sum->first_ts))
		sum->first_ts = t->first_ts;
	if (t->last_ts > sum->last_ts)
		sum->last_ts = t->last_ts;
	for (int s = 0; s <= DECODE_MALFORMED; s++)
		sum->by_status[s] += t->by_status[s];
	for (int e = 0; e < DERR_COUNT; e++)
		sum->by_error[e] += t->by_error[e];
	sum->snap_truncated += t->snap_truncated;
	sum->flows.created += t->flows.created;
	sum->flows.ended += t->flows.ended;
	sum->flows.evicted += t->flows.evicted;
	sum->flows.active += t->flows.active;
	sum->flows.max_active += t->flows.max_active; /* an upper bound */
	for (size_t i = 0; i < sizeof t->flows.ended_by / sizeof t->flows.ended_by[0]; i++)
		sum->flows.ended_by[i] += t->flows.ended_by[i];
	sum->defrag.fragments += t->defrag.fragments;
	sum->defrag.reassembled += t->defrag.reassembled;
	sum->defrag.timeouts += t->defrag.timeouts;
	sum->defrag.overlaps += t->defrag.overlaps;
	sum->defrag.overlaps_differing += t->defrag.overlaps_differing;
	sum->defrag.dropped_cap += t->defrag.dropped_cap;
	sum->defrag.malformed += t->defrag.malformed;
	sum->defrag.truncated += t->defrag.truncated;
	counters_sum(&sum->counters, &t->counters);
	counters_sum(&sum->protocols, &t->protocols);
}

void totals_print_summary(const struct pipeline_totals *t, FILE *fp)
{
	const struct flow_table_stats *fs = &t->flows;
	const struct defrag_stats *ds = &t->defrag;

	fprintf(fp, "portolan: %" PRIu64 " packets, %" PRIu64 " bytes, %.3f s of traffic\n",
	        t->packets, t->bytes, (double)(t->last_ts - t->first_ts) / 1e6);
	fprintf(fp,
	        "  flows: %" PRIu64 " created, %" PRIu64 " evicted, %" PRIu64
	        " most open at once\n",
	        fs->created, fs->evicted, fs->max_active);
	fprintf(fp, "  sessions:");
	for (size_t i = 0; i < t->protocols.n; i++)
		fprintf(fp, " %s %" PRIu64, t->protocols.items[i].name,
		        t->protocols.items[i].value);
	fprintf(fp, "%s\n", t->protocols.n ? "" : " none");
	fprintf(fp, "  packets:");
	for (int s = 0; s <= DECODE_MALFORMED; s++)
		fprintf(fp, " %s %" PRIu64, status_names[s], t->by_status[s]);
	fprintf(fp, " snaplen-cut %" PRIu64 "\n", t->snap_truncated);
	fprintf(fp,
	        "  fragments: %" PRIu64 " held, %" PRIu64 " datagrams rebuilt, %" PRIu64
	        " timed out, %" PRIu64 " dropped by caps\n",
	        ds->fragments, ds->reassembled, ds->timeouts, ds->dropped_cap);
	for (int e = 1; e < DERR_COUNT; e++)
		if (t->by_error[e])
			fprintf(fp, "  decode error %s: %" PRIu64 "\n",
			        decode_error_name((enum decode_error)e), t->by_error[e]);
	for (size_t i = 0; i < t->counters.n; i++)
		fprintf(fp, "  %s: %" PRIu64 "\n", t->counters.items[i].name,
		        t->counters.items[i].value);
}

void pipeline_print_summary(const struct pipeline *pl, FILE *fp)
{
	struct pipeline_totals t;
	pipeline_totals(pl, &t);
	totals_print_summary(&t, fp);
}

void totals_emit_keys(struct emitter *e, const struct pipeline_totals *t)
{
	const struct flow_table_stats *fs = &t->flows;
	const struct defrag_stats *ds = &t->defrag;

	emit_int(e, "packets", (int64_t)t->packets);
	emit_int(e, "bytes", (int64_t)t->bytes);
	emit_object_begin(e, "flows");
	emit_int(e, "created", (int64_t)fs->created);
	emit_int(e, "evicted", (int64_t)fs->evicted);
	emit_int(e, "max_open", (int64_t)fs->max_active);
	emit_object_end(e);
	emit_object_begin(e, "sessions");
	for (size_t i = 0; i < t->protocols.n; i++)
		emit_int(e, t->protocols.items[i].name, (int64_t)t->protocols.items[i].value);
	emit_object_end(e);
	emit_object_begin(e, "decode");
	for (int s = 0; s <= DECODE_MALFORMED; s++)
		emit_int(e, status_names[s], (int64_t)t->by_status[s]);
	emit_int(e, "snaplen_cut", (int64_t)t->snap_truncated);
	for (int er = 1; er < DERR_COUNT; er++)
		if (t->by_error[er])
			emit_int(e, decode_error_name((enum decode_error)er),
			         (int64_t)t->by_error[er]);
	emit_object_end(e);
	emit_object_begin(e, "fragments");
	emit_int(e, "held", (int64_t)ds->fragments);
	emit_int(e, "reassembled", (int64_t)ds->reassembled);
	emit_int(e, "timeouts", (int64_t)ds->timeouts);
	emit_int(e, "overlaps", (int64_t)ds->overlaps);
	emit_int(e, "dropped_cap", (int64_t)ds->dropped_cap);
	emit_object_end(e);
	emit_object_begin(e, "counters");
	for (size_t i = 0; i < t->counters.n; i++)
		emit_int(e, t->counters.items[i].name, (int64_t)t->counters.items[i].value);
	emit_object_end(e);
}

void pipeline_emit_stats(struct emitter *e, const void *arg)
{
	struct pipeline_totals t;
	pipeline_totals(arg, &t);
	emit_object_begin(e, NULL);
	emit_str(e, "type", "stats");
	totals_emit_keys(e, &t);
	emit_object_end(e);
}
