/* TCP reassembly: libnids first, our own reassembler behind it (see
 * portolan/stream.h for the design). */
#include <nids.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/stream.h"

enum stream_path {
	PATH_SYN_HELD = 0, /* a SYN is held until its SYN-ACK */
	PATH_LIBNIDS,      /* libnids reassembles; we mirror and keep what it did not deliver */
	PATH_OWN,          /* ours alone */
};

/* A SYN larger than this (options, TCP Fast Open data) goes the own path. */
#define SYN_COPY_MAX 160
/* libnids evicts its oldest stream at 3/4 of n_tcp_streams: stay below. */
#define NIDS_FILL_PERCENT 70

struct flow_stream {
	struct reasm_dir dir[2];
	uint8_t path;
	uint16_t syn_len;
	usec_t syn_ts;
	uint8_t syn[SYN_COPY_MAX];
	uint32_t nids_pos[2]; /* sequence number of libnids' next delivery */
	usec_t held_since[2]; /* when data started waiting beyond a hole */
};

/* libnids' callbacks take no context argument: this is the one global
 * allowed beside libnids itself. */
static struct stream_ctx *nids_owner;

void stream_config_default(struct stream_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->use_libnids = true;
	cfg->nids_streams = 16384;
	reasm_config_default(&cfg->reasm);
	cfg->max_bytes_total = 64u << 20;
	cfg->stall_segments = 8;
	cfg->stall_time = 2 * USEC_PER_SEC;
}

/* ---- delivery into the dissectors ---- */

struct delivery {
	struct stream_ctx *c;
	struct flow *f;
	enum direction dir;
	bool at_end; /* the flow's last flush: no history letter (as Zeek) */
};

static void deliver(void *ctx, const uint8_t *data, size_t len)
{
	struct delivery *d = ctx;
	dissect_stream(d->c->dissect, d->f, d->dir, d->c->now, data, len);
}

static void report_gap(void *ctx, size_t missing)
{
	struct delivery *d = ctx;
	struct tcp_endpoint *ep = &d->f->ep[d->dir];
	/* Zeek leaves gaps found only as the connection ends out of the
	 * history: they are not reliable */
	if (!d->at_end)
		flow_history_scaled(d->f, d->dir, 'G', &ep->gap_count, &ep->gap_thresh);
	dissect_gap(d->c->dissect, d->f, d->dir, d->c->now, missing);
}

static const struct reasm_callbacks to_dissector = {deliver, report_gap};

static void segment(struct stream_ctx *c, struct flow *f, enum direction dir, uint32_t seq,
                    const uint8_t *data, size_t len)
{
	struct delivery d = {c, f, dir, false};
	reasm_segment(&f->tcp->dir[dir], seq, data, len, &to_dissector, &d);
}

/* The flow is ours from now on: our overlap window comes into use. */
static void become_own(const struct stream_ctx *c, struct flow_stream *fs)
{
	if (fs->path != PATH_OWN) {
		reasm_set_window(&fs->dir[DIR_CLIENT], c->cfg.reasm.recent_window);
		reasm_set_window(&fs->dir[DIR_SERVER], c->cfg.reasm.recent_window);
	}
	fs->path = PATH_OWN;
}

/* ---- libnids ---- */

static struct tuple4 nids_tuple(const struct flow *f)
{
	struct tuple4 t;
	memset(&t, 0, sizeof t);
	t.source = f->port[DIR_CLIENT];
	t.dest = f->port[DIR_SERVER];
	memcpy(&t.saddr, f->addr[DIR_CLIENT].b, 4); /* network byte order, as libnids keeps it */
	memcpy(&t.daddr, f->addr[DIR_SERVER].b, 4);
	return t;
}

static struct flow *flow_of_stream(struct stream_ctx *c, const struct tcp_stream *a)
{
	struct ip_addr client = {4, {0}}, server = {4, {0}};
	enum direction dir;

	memcpy(client.b, &a->addr.saddr, 4);
	memcpy(server.b, &a->addr.daddr, 4);
	/* nearly always the flow whose packet libnids is processing */
	struct flow *cur = c->current;
	if (cur && cur->tcp && cur->tcp->path == PATH_LIBNIDS && cur->ip_version == 4 &&
	    cur->port[DIR_CLIENT] == a->addr.source && cur->port[DIR_SERVER] == a->addr.dest &&
	    memcmp(cur->addr[DIR_CLIENT].b, client.b, 16) == 0 &&
	    memcmp(cur->addr[DIR_SERVER].b, server.b, 16) == 0)
		return cur;
	struct flow *f = flow_find(c->flows, TRANSPORT_TCP, &client, a->addr.source, &server,
	                           a->addr.dest, &dir);
	/* only a flow we handed to libnids, seen from its client */
	if (!f || dir != DIR_CLIENT || !f->tcp || f->tcp->path != PATH_LIBNIDS)
		return NULL;
	return f;
}

/* libnids' new in-order bytes of one direction go into our tracker at the
 * position libnids delivered them, and on to the dissector from there. */
static void play(struct stream_ctx *c, struct flow *f, enum direction dir, struct half_stream *rcv)
{
	int n = rcv->count_new;
	if (n <= 0)
		return;
	const uint8_t *data = (const uint8_t *)rcv->data + (rcv->count - rcv->offset) - n;
	segment(c, f, dir, f->tcp->nids_pos[dir], data, (size_t)n);
	f->tcp->nids_pos[dir] += (uint32_t)n;
}

static void nids_tcp_callback(struct tcp_stream *a, void **param)
{
	struct stream_ctx *c = nids_owner;
	(void)param;
	if (!c)
		return;
	struct flow *f = flow_of_stream(c, a);
	if (!f)
		return;
	switch (a->nids_state) {
	case NIDS_JUST_EST:
		a->client.collect++;
		a->server.collect++;
		f->tcp->nids_pos[DIR_CLIENT] = a->client.first_data_seq;
		f->tcp->nids_pos[DIR_SERVER] = a->server.first_data_seq;
		counters_add(c->counters, "tcp.libnids_established", 1);
		return;
	case NIDS_DATA:
		play(c, f, DIR_CLIENT, &a->server); /* the server half holds what the client sent */
		play(c, f, DIR_SERVER, &a->client);
		return;
	default: /* closed, reset, timed out (evicted), exiting: libnids frees it */
		play(c, f, DIR_CLIENT, &a->server);
		play(c, f, DIR_SERVER, &a->client);
		become_own(c, f->tcp);
		c->nids_in_use--;
		counters_add(c->counters,
		             a->nids_state == NIDS_TIMED_OUT ? "tcp.libnids_evicted"
		                                             : "tcp.libnids_closed",
		             1);
		return;
	}
}

static const char *nids_warning_name(int type, int err)
{
	if (type == NIDS_WARN_TCP) {
		switch (err) {
		case NIDS_WARN_TCP_TOOMUCH:
			return "libnids.warn.tcp_too_much";
		case NIDS_WARN_TCP_HDR:
			return "libnids.warn.tcp_header";
		case NIDS_WARN_TCP_BIGQUEUE:
			return "libnids.warn.tcp_big_queue";
		case NIDS_WARN_TCP_BADFLAGS:
			return "libnids.warn.tcp_bad_flags";
		}
	}
	if (type == NIDS_WARN_IP)
		return "libnids.warn.ip";
	if (type == NIDS_WARN_SCAN)
		return "libnids.warn.scan";
	return "libnids.warn.other";
}

/* libnids' warnings go to named counters instead of syslog; a big queue
 * on the flow being processed makes us take it over. */
static void nids_warning(int type, int err, struct ip *iph, void *data)
{
	(void)iph;
	(void)data;
	if (!nids_owner)
		return;
	counters_add(nids_owner->counters, nids_warning_name(type, err), 1);
	if (type == NIDS_WARN_TCP && err == NIDS_WARN_TCP_BIGQUEUE)
		nids_owner->current_bigqueue = true;
}

static void nids_out_of_memory(char *where)
{
	(void)where;
	/* libnids' default aborts; we count and let our path carry on */
	if (nids_owner)
		counters_add(nids_owner->counters, "libnids.out_of_memory", 1);
}

/* libnids is one instance per process; this says whether it is set up. */
static bool nids_initialized;

static int nids_setup(struct stream_ctx *c, char *err, size_t errlen)
{
	static struct nids_chksum_ctl no_checksums = {0, 0, NIDS_DONT_CHKSUM, 0};

	if (nids_initialized) { /* a new pipeline starts it anew */
		nids_unregister_tcp(nids_tcp_callback);
		nids_exit();
		nids_initialized = false;
	}
	c->nids_dead = pcap_open_dead(DLT_RAW, 65535);
	if (!c->nids_dead) {
		snprintf(err, errlen, "libnids: cannot open a raw pcap handle");
		return -1;
	}
	nids_params.pcap_desc = c->nids_dead;
	nids_params.filename = NULL;
	nids_params.device = NULL;
	nids_params.n_tcp_streams = c->cfg.nids_streams;
	nids_params.scan_num_hosts = 0; /* no port scan detection */
	nids_params.syslog = nids_warning;
	nids_params.no_mem = nids_out_of_memory;
	nids_params.tcp_workarounds = 0;
	if (!nids_init()) {
		snprintf(err, errlen, "libnids: %s", nids_errbuf);
		return -1;
	}
	nids_initialized = true;
	nids_register_chksum_ctl(&no_checksums, 1);
	nids_register_tcp(nids_tcp_callback); /* after nids_init, which resets the list */
	return 0;
}

int stream_init(struct stream_ctx *c, const struct stream_config *cfg, struct dissect_ctx *dissect,
                struct counters *counters, struct flow_table *flows, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->cfg = *cfg;
	c->dissect = dissect;
	c->counters = counters;
	c->flows = flows;
	c->budget.max_bytes = cfg->max_bytes_total;
	c->cfg.reasm.budget = &c->budget;
	if (!cfg->use_libnids)
		return 0;
	if (nids_setup(c, err, errlen) < 0)
		return -1;
	c->nids_ready = true;
	nids_owner = c;
	return 0;
}

void stream_shutdown(struct stream_ctx *c)
{
	if (nids_owner != c)
		return;
	nids_owner = NULL; /* callbacks from nids_exit find nothing of ours */
	if (nids_initialized) {
		/* unregistering frees libnids' callback list, which nids_exit
		 * would leak */
		nids_unregister_tcp(nids_tcp_callback);
		nids_exit();
		nids_initialized = false;
	}
	if (c->nids_dead) {
		pcap_close(c->nids_dead);
		c->nids_dead = NULL;
		nids_params.pcap_desc = NULL;
	}
}

/* Hands a datagram to libnids; its callbacks run inside. */
static void nids_feed(struct stream_ctx *c, struct flow *f, const uint8_t *ip, size_t len,
                      usec_t ts)
{
	struct pcap_pkthdr h;
	h.ts.tv_sec = (time_t)(ts / USEC_PER_SEC);
	h.ts.tv_usec = (suseconds_t)(ts % USEC_PER_SEC);
	h.caplen = h.len = (bpf_u_int32)len;
	c->current = f;
	/* libnids takes a non-const buffer but does not write to it */
	nids_pcap_handler(NULL, &h, (u_char *)(uintptr_t)ip);
	c->current = NULL;
}

/* From now on the flow is ours: libnids lets go of it.  Never called from
 * inside a libnids callback. */
static void take_over(struct stream_ctx *c, struct flow *f, const char *why)
{
	struct flow_stream *fs = f->tcp;
	if (fs->path == PATH_LIBNIDS) {
		struct tuple4 t = nids_tuple(f);
		struct tcp_stream *a = nids_find_tcp_stream(&t);
		become_own(c, fs); /* first, so a callback from the free finds nothing */
		if (a)
			nids_free_tcp_stream(a);
		c->nids_in_use--;
		counters_add(c->counters, why, 1);
	}
	become_own(c, fs);
}

static bool nids_has_room(const struct stream_ctx *c)
{
	return c->nids_ready &&
	       (long)c->nids_in_use * 100 < (long)c->cfg.nids_streams * NIDS_FILL_PERCENT;
}

/* The SYN-ACK answers the held SYN: both go to libnids together. */
static void start_libnids(struct stream_ctx *c, struct flow *f, const struct packet *p)
{
	struct flow_stream *fs = f->tcp;

	fs->path = PATH_LIBNIDS;
	f->reassembly = 2;
	c->nids_in_use++;
	nids_feed(c, f, fs->syn, fs->syn_len, fs->syn_ts);
	nids_feed(c, f, p->ip_start, p->ip_len, p->ts);
	struct tuple4 t = nids_tuple(f);
	if (fs->path == PATH_LIBNIDS && !nids_find_tcp_stream(&t))
		take_over(c, f, "tcp.libnids_refused"); /* e.g. a bad IP checksum */
}

/* ---- the per-packet entry ---- */

static struct flow_stream *stream_new(struct stream_ctx *c, struct flow *f, const struct packet *p)
{
	struct flow_stream *fs = calloc(1, sizeof *fs);
	if (!fs) {
		counters_add(c->counters, "tcp.out_of_memory", 1);
		return NULL;
	}
	reasm_init(&fs->dir[DIR_CLIENT], &c->cfg.reasm);
	reasm_init(&fs->dir[DIR_SERVER], &c->cfg.reasm);
	/* libnids only for IPv4 flows that start with the client's SYN */
	bool syn = (p->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
	fs->path =
	    syn && !f->flipped && f->ip_version == 4 && nids_has_room(c) ? PATH_SYN_HELD : PATH_OWN;
	f->reassembly = 1;
	if (fs->path == PATH_SYN_HELD) {
		/* libnids decides which copy of a byte counts while it carries
		 * the flow, so our overlap window is only needed once we do */
		reasm_set_window(&fs->dir[DIR_CLIENT], 0);
		reasm_set_window(&fs->dir[DIR_SERVER], 0);
	}
	if (fs->path == PATH_OWN && syn && f->ip_version == 4 && c->nids_ready)
		counters_add(c->counters, "tcp.libnids_table_full", 1);
	f->tcp = fs;
	return fs;
}

static void hold_syn(const struct stream_ctx *c, struct flow_stream *fs, const struct packet *p)
{
	if (p->ip_len > sizeof fs->syn || p->snap_truncated || p->payload_len) {
		become_own(c, fs);
		return;
	}
	memcpy(fs->syn, p->ip_start, p->ip_len);
	fs->syn_len = (uint16_t)p->ip_len;
	fs->syn_ts = p->ts;
}

/* An ACK for bytes beyond a hole in the peer's stream: the receiver had
 * them, the capture missed them, they will not come.  Skip the hole now,
 * as Zeek's reassembler does when an ACK passes undelivered data. */
static void check_acked_hole(struct stream_ctx *c, struct flow *f, enum direction acker,
                             const struct packet *p)
{
	enum direction sender = dir_other(acker);
	struct reasm_dir *rd = &f->tcp->dir[sender];
	uint32_t held;

	if (!(p->tcp_flags & TCP_ACK) || (p->tcp_flags & TCP_RST) || !rd->started)
		return;
	while (reasm_first_held(rd, &held) && (int32_t)(p->ack - held) > 0) {
		take_over(c, f, "tcp.handover_acked_hole");
		struct delivery d = {c, f, sender, false};
		if (!reasm_skip_hole(rd, &to_dissector, &d))
			break;
	}
}

/* Data waiting beyond a hole too long, or a libnids big queue, is a stall:
 * the hole is skipped (a gap) and what follows delivered. */
static void check_stall(struct stream_ctx *c, struct flow *f, enum direction dir, bool bigqueue)
{
	struct flow_stream *fs = f->tcp;
	struct reasm_dir *rd = &fs->dir[dir];

	if (!rd->held_segments) {
		fs->held_since[dir] = 0;
		return;
	}
	if (!fs->held_since[dir])
		fs->held_since[dir] = c->now;
	if (!bigqueue && rd->held_segments < c->cfg.stall_segments &&
	    c->now - fs->held_since[dir] < c->cfg.stall_time)
		return;
	take_over(c, f, bigqueue ? "tcp.handover_bigqueue" : "tcp.handover_stall");
	struct delivery d = {c, f, dir, false};
	reasm_skip_hole(rd, &to_dissector, &d);
	fs->held_since[dir] = rd->held_segments ? c->now : 0;
}

void stream_packet(struct stream_ctx *c, struct flow *f, enum direction dir, const struct packet *p)
{
	struct flow_stream *fs = f->tcp ? f->tcp : stream_new(c, f, p);
	uint8_t fl = p->tcp_flags;
	if (!fs)
		return;
	c->now = p->ts;
	c->current_bigqueue = false;

	if ((fl & (TCP_SYN | TCP_ACK)) == TCP_SYN && dir == DIR_CLIENT)
		reasm_start(&fs->dir[DIR_CLIENT], p->seq + 1);
	if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && dir == DIR_SERVER)
		reasm_start(&fs->dir[DIR_SERVER], p->seq + 1);

	if (fs->path == PATH_SYN_HELD) {
		if (dir == DIR_CLIENT && (fl & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN) {
			hold_syn(c, fs, p); /* a retransmission replaces the copy */
			return;
		}
		if (dir == DIR_SERVER &&
		    (fl & (TCP_SYN | TCP_ACK | TCP_RST)) == (TCP_SYN | TCP_ACK) && nids_has_room(c))
			start_libnids(c, f, p);
		else
			become_own(c, fs); /* anything else first: no handshake for libnids */
	} else if (fs->path == PATH_LIBNIDS) {
		if ((fl & TCP_URG) || p->snap_truncated)
			take_over(c, f,
			          (fl & TCP_URG) ? "tcp.handover_urgent" : "tcp.handover_snaplen");
		else
			nids_feed(c, f, p->ip_start, p->ip_len, p->ts);
	}

	/* Our tracker sees every segment libnids has not delivered yet: it
	 * keeps (or, on our path, delivers) it.  A segment libnids already
	 * delivered is skipped here: it is in our tracker through the
	 * callback, and a second pass would only find it again. */
	uint32_t seq0 = (fl & TCP_SYN) ? p->seq + 1 : p->seq;
	bool delivered = fs->path == PATH_LIBNIDS && fs->dir[dir].started &&
	                 (int32_t)(seq0 + (uint32_t)p->payload_len - fs->dir[dir].next) <= 0;
	if (p->payload_len && !(fl & TCP_RST) && !delivered)
		segment(c, f, dir, seq0, p->payload, p->payload_len);
	if (fs->path == PATH_LIBNIDS && fs->dir[dir].started &&
	    fs->dir[dir].next != fs->nids_pos[dir] && fs->nids_pos[dir])
		/* we delivered bytes libnids dropped (out of window, urgent...):
		 * it would wait for them forever */
		take_over(c, f, "tcp.handover_diverged");
	check_acked_hole(c, f, dir, p);
	check_stall(c, f, dir, c->current_bigqueue);
}

/* Our tracker's findings, run-wide.  Segments libnids delivered do not
 * reach it, so these count what our path saw. */
static void count_reasm_stats(struct stream_ctx *c, const struct reasm_stats *st)
{
	static const struct {
		const char *name;
		size_t offset;
	} names[] = {
	    {"tcp.reasm.out_of_order", offsetof(struct reasm_stats, out_of_order)},
	    {"tcp.reasm.retransmits", offsetof(struct reasm_stats, retransmits)},
	    {"tcp.reasm.overlaps", offsetof(struct reasm_stats, overlaps)},
	    {"tcp.reasm.overlaps_differing", offsetof(struct reasm_stats, overlaps_differing)},
	    {"tcp.reasm.before_start", offsetof(struct reasm_stats, before_start)},
	    {"tcp.reasm.dropped_far", offsetof(struct reasm_stats, dropped_far)},
	    {"tcp.reasm.cap_bytes", offsetof(struct reasm_stats, cap_bytes)},
	    {"tcp.reasm.cap_segments", offsetof(struct reasm_stats, cap_segments)},
	    {"tcp.reasm.cap_budget", offsetof(struct reasm_stats, cap_budget)},
	    {"tcp.reasm.alloc_failed", offsetof(struct reasm_stats, alloc_failed)},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		uint64_t v;
		memcpy(&v, (const char *)st + names[i].offset, sizeof v);
		if (v)
			counters_add(c->counters, names[i].name, v);
	}
}

void stream_flow_end(struct stream_ctx *c, struct flow *f)
{
	struct flow_stream *fs = f->tcp;
	if (!fs)
		return;
	take_over(c, f, "tcp.handover_flow_end");
	for (int d = 0; d < 2; d++)
		count_reasm_stats(c, &fs->dir[d].stats);
	for (int d = 0; d < 2; d++) {
		struct delivery dl = {c, f, (enum direction)d, true};
		reasm_flush(&fs->dir[d], &to_dissector, &dl);
		reasm_free(&fs->dir[d]);
	}
	free(fs);
	f->tcp = NULL;
}

const char *stream_path(const struct flow *f)
{
	return f->reassembly == 2 ? "libnids" : f->reassembly == 1 ? "own" : NULL;
}
