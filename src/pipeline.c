/* The pipeline (portolan/pipeline.h): read top to bottom, it follows one
 * packet through every stage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/exchange.h"
#include "portolan/icmp.h"
#include "portolan/pipeline.h"
#include "portolan/report.h"

#define EXPIRE_INTERVAL (1 * USEC_PER_SEC)

static const char *const end_reasons[] = {
    [END_IDLE] = "idle",          [END_CLOSED] = "closed", [END_EVICTED] = "evicted",
    [END_FLUSH] = "end-of-input", [END_REUSED] = "reused",
};

void pipeline_config_default(struct pipeline_config *cfg)
{
	flow_config_default(&cfg->flow);
	defrag_config_default(&cfg->defrag);
	dissect_config_default(&cfg->dissect);
	stream_config_default(&cfg->stream);
	explain_config_default(&cfg->explain);
}

/* A flow ended: the dissector finishes, the record is written, the state
 * is freed. */
static void on_flow_end(struct flow *f, enum flow_end_reason why, void *ctx)
{
	struct pipeline *pl = ctx;

	if (f->proto == TRANSPORT_TCP)
		stream_flow_end(&pl->stream, f); /* held bytes reach the dissector first */
	dissect_end(&pl->dissect, f, pl->now);
	if (pl->report)
		report_session(pl->report, f, dissect_protocol(f));
	if (f->explain)
		explain_flow_end(&pl->explain, f, dissect_protocol(f));
	output_session(pl->out, f, end_reasons[why]);
	counters_add(&pl->protocols, dissect_protocol(f), 1);
	dissect_release(f);
}

/* A cross-flow record (a DHCP exchange) is over: write it. */
static void on_exchange_end(void *ctx, const struct exchange_record *x)
{
	struct pipeline *pl = ctx;
	if (pl->out)
		output_exchange(pl->out, x);
}

int pipeline_init(struct pipeline *pl, const struct pipeline_config *cfg, struct output *out,
                  char *err, size_t errlen)
{
	memset(pl, 0, sizeof *pl);
	pl->cfg = *cfg;
	pl->out = out;
	pl->dissect.cfg = cfg->dissect;
	pl->explain.cfg = cfg->explain;
	pl->explain.fp = out->fp;
	pl->dissect.counters = &pl->counters;
	pl->dissect.expects.counters = &pl->counters;
	pl->flows = flow_table_new(&cfg->flow, on_flow_end, pl);
	pl->defrag = defrag_new(&cfg->defrag);
	pl->dissect.exchanges =
	    exchange_table_new(cfg->dissect.exchange_max, &pl->counters, on_exchange_end, pl);
	if (!pl->flows || !pl->defrag || !pl->dissect.exchanges) {
		snprintf(err, errlen, "out of memory");
		pipeline_free(pl);
		return -1;
	}
	if (stream_init(&pl->stream, &cfg->stream, &pl->dissect, &pl->counters, pl->flows, err,
	                errlen) < 0) {
		pipeline_free(pl);
		return -1;
	}
	return 0;
}

static void advance_clock(struct pipeline *pl, usec_t ts)
{
	if (ts > pl->now)
		pl->now = ts;
	if (pl->now >= pl->next_expire) {
		flow_table_expire(pl->flows, pl->now);
		exchange_table_expire(pl->dissect.exchanges, pl->now);
		defrag_expire(pl->defrag, pl->now);
		pl->next_expire = pl->now + EXPIRE_INTERVAL;
	}
}

static void count_decode(struct pipeline *pl, enum decode_status st, const struct packet *p)
{
	pl->by_status[st]++;
	if (p->error != DERR_NONE && p->error < DERR_COUNT)
		pl->by_error[p->error]++;
	if (p->snap_truncated)
		pl->snap_truncated++;
}

/* Payload of a decoded TCP or UDP packet, to its flow's dissector. */
static void transport_payload(struct pipeline *pl, struct flow *f, enum direction dir,
                              const struct packet *p)
{
	if (transport_is_icmp(f->proto)) {
		icmp_session_packet(f, dir, p, &pl->counters);
		return;
	}
	if (f->proto == TRANSPORT_UDP) {
		dissect_datagram(&pl->dissect, f, dir, p->ts, p->payload, p->payload_len,
		                 p->payload_len < p->payload_wire_len);
		return;
	}
	stream_packet(&pl->stream, f, dir, p);
}

static void to_flow(struct pipeline *pl, const struct packet *p)
{
	enum direction dir;
	bool created;
	struct flow *f = flow_lookup(pl->flows, p, &dir, &created);

	if (!f) {
		counters_add(&pl->counters, "flow.out_of_memory", 1);
		return;
	}
	if (created)
		dissect_expected(&pl->dissect, f, p->ts);
	flow_update(pl->flows, f, p, dir);
	explain_packet(&pl->explain, f, dir, p);
	transport_payload(pl, f, dir, p);
}

/* ICMP: a query or reply goes to its session's flow like any transport; an
 * error to the flow of the datagram it quotes (never making one); the rest
 * is counted. */
static void handle_icmp(struct pipeline *pl, const struct packet *p)
{
	const struct icmp_type_info *ti = icmp_type_info(p->ip_version, p->icmp_type);
	if (p->icmp_query)
		to_flow(pl, p);
	else if (ti && ti->kind == ICMP_KIND_ERROR)
		icmp_error_packet(pl->flows, p, &pl->counters);
	else
		icmp_count_other(p, &pl->counters);
}

/* Decoded IP: a transport we track goes to its flow; a fragment is held
 * until its datagram is whole, which is then decoded again. */
static void handle_ip(struct pipeline *pl, enum decode_status st, struct packet *p)
{
	if (st == DECODE_FRAGMENT) {
		size_t len;
		const uint8_t *dgram = defrag_add(pl->defrag, p, &len);
		if (!dgram)
			return;
		/* a rebuilt datagram is complete whatever the snaplen was */
		p->caplen = p->wirelen = (uint32_t)len;
		st = decode_ip(dgram, len, p);
		count_decode(pl, st, p);
		if (st == DECODE_FRAGMENT) {
			counters_add(&pl->counters, "defrag.fragment_of_fragment", 1);
			return;
		}
	}
	if (st == DECODE_OK && (p->ip_proto == TRANSPORT_TCP || p->ip_proto == TRANSPORT_UDP))
		to_flow(pl, p);
	else if (st == DECODE_OK && transport_is_icmp(p->ip_proto))
		handle_icmp(pl, p);
}

void pipeline_packet(struct pipeline *pl, int linktype, usec_t ts, const uint8_t *data,
                     uint32_t caplen, uint32_t wirelen)
{
	struct packet p;

	pl->packets++;
	pl->bytes += wirelen;
	advance_clock(pl, ts);
	if (!pl->first_ts)
		pl->first_ts = pl->now;
	pl->last_ts = pl->now;
	enum decode_status st = decode_packet(linktype, data, caplen, wirelen, pl->now, &p);
	count_decode(pl, st, &p);
	if (st == DECODE_OK || st == DECODE_FRAGMENT)
		handle_ip(pl, st, &p);
}

void pipeline_tick(struct pipeline *pl, usec_t now)
{
	advance_clock(pl, now);
}

void pipeline_flush(struct pipeline *pl)
{
	if (pl->flows)
		flow_table_flush(pl->flows);
	/* after the flows: an exchange's last messages came with them */
	exchange_table_flush(pl->dissect.exchanges);
}

void pipeline_free(struct pipeline *pl)
{
	flow_table_free(pl->flows); /* flushes what is still open */
	stream_shutdown(&pl->stream);
	exchange_table_free(pl->dissect.exchanges); /* writes what is still open */
	pl->dissect.exchanges = NULL;
	defrag_free(pl->defrag);
	pl->flows = NULL;
	pl->defrag = NULL;
}
