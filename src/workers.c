/* --workers N (portolan/workers.h): the supervisor, the offline reader's
 * rings, the live fanout group, and the workers' loops.
 *
 * Processes: the supervisor opens every input (the files, or N capture
 * sockets joined to one fanout group) and the output, drops privileges
 * (-Z), then forks the workers.  Each worker builds its own pipeline after
 * the fork (libnids is one global per process).  Workers never write to the
 * output: a record is written into a buffer by the usual writers and sent
 * whole, length-framed, on the worker's own pipe; the supervisor copies
 * the frames to the output, so records never interleave.  At the end each
 * worker sends its statistics, which the supervisor adds up.
 *
 * Offline the supervisor also reads: each packet goes to the ring of the
 * worker shard_of() names.  To expire flows exactly when one process
 * would, the reader keeps the single pipeline's clock (packet time never
 * running backward, idle flows looked at when a second has passed) and
 * sends it along: every packet carries the run's clock and whether the
 * expiry runs at it, and the other workers get a clock entry then.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "portolan/memcap.h"
#include "portolan/shard.h"
#include "portolan/stats.h"
#include "portolan/workers.h"

/* ---- the offline rings: one writer (the reader), one reader (a worker) ---- */

#define RING_BYTES (8u << 20)
#define RING_MAX_CAPLEN (1u << 20) /* longer frames are cut (never in pcap files) */
#define RING_WAIT_MS 200
/* A sleeping worker is woken once this much waits for it (or at the end):
 * one wake-up per batch, not per packet. */
#define RING_WAKE_BYTES (256u << 10)

enum entry_kind { ENT_PACKET = 1, ENT_CLOCK, ENT_END, ENT_PAD };
#define ENT_EXPIRE 1u /* the expiry runs at this entry's clock */

struct entry {
	uint32_t size; /* header and data, rounded up to 8 */
	uint16_t kind;
	uint16_t flags;
	int32_t linktype;
	uint32_t caplen, wirelen;
	uint32_t unused;
	uint64_t ts;  /* the packet's time */
	uint64_t now; /* the run's clock */
};

struct ring {
	_Atomic uint64_t head; /* bytes written; only the reader writes it */
	char pad1[56];
	_Atomic uint64_t tail; /* bytes consumed; only the worker writes it */
	char pad2[56];
	_Atomic uint64_t want; /* free bytes the reader waits for, 0 = not waiting */
	_Atomic int sleeping;  /* the worker found the ring empty and waits */
	sem_t items;           /* posted to wake the worker */
	sem_t space;           /* posted when `want` free bytes are there */
	uint8_t data[RING_BYTES];
};

static uint64_t ring_free(struct ring *r, uint64_t head)
{
	return RING_BYTES - (head - atomic_load(&r->tail));
}

static void deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += ms * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

/* Waits until free bytes are there; false when the worker is gone. */
static bool ring_wait_space(struct ring *r, uint64_t head, uint64_t need, pid_t worker)
{
	/* wait for a quarter of the ring, not one entry: fewer wake-ups */
	uint64_t want = need > RING_BYTES / 4 ? need : RING_BYTES / 4;
	while (ring_free(r, head) < need) {
		atomic_store(&r->want, want);
		if (ring_free(r, head) >= want) {
			atomic_store(&r->want, 0);
			break;
		}
		struct timespec ts;
		deadline_in(&ts, RING_WAIT_MS);
		if (sem_timedwait(&r->space, &ts) < 0 && errno == ETIMEDOUT &&
		    waitpid(worker, NULL, WNOHANG) != 0)
			return false;
	}
	return true;
}

static void ring_wake(struct ring *r, uint64_t head, bool force)
{
	if (atomic_load(&r->sleeping) &&
	    (force || head - atomic_load(&r->tail) >= RING_WAKE_BYTES) &&
	    atomic_exchange(&r->sleeping, 0))
		sem_post(&r->items);
}

static bool ring_put(struct ring *r, const struct entry *h, const uint8_t *data, pid_t worker)
{
	uint64_t head = atomic_load(&r->head);
	uint32_t size = (uint32_t)((sizeof *h + h->caplen + 7) & ~(size_t)7);
	uint64_t pos = head % RING_BYTES, room = RING_BYTES - pos;
	uint64_t need = size + (room < size ? room : 0);

	if (!ring_wait_space(r, head, need, worker))
		return false;
	if (room < size) { /* the entry does not fit before the end: wrap */
		if (room >= sizeof *h) {
			struct entry pad = {.size = (uint32_t)room, .kind = ENT_PAD};
			memcpy(r->data + pos, &pad, sizeof pad);
		}
		head += room;
		pos = 0;
	}
	struct entry e = *h;
	e.size = size;
	memcpy(r->data + pos, &e, sizeof e);
	if (h->caplen)
		memcpy(r->data + pos + sizeof e, data, h->caplen);
	atomic_store(&r->head, head + size);
	ring_wake(r, head + size, h->kind == ENT_END);
	return true;
}

/* The worker's side: the next entry (valid until ring_done). */
static const struct entry *ring_next(struct ring *r)
{
	for (;;) {
		uint64_t tail = atomic_load(&r->tail);
		if (atomic_load(&r->head) == tail) { /* empty: sleep until woken */
			atomic_store(&r->sleeping, 1);
			if (atomic_load(&r->head) == tail)
				while (sem_wait(&r->items) < 0 && errno == EINTR)
					;
			atomic_store(&r->sleeping, 0);
			continue;
		}
		uint64_t pos = tail % RING_BYTES, room = RING_BYTES - pos;
		const struct entry *e = (const struct entry *)(r->data + pos);
		if (room < sizeof *e || e->kind == ENT_PAD) {
			atomic_store(&r->tail, tail + room);
			continue;
		}
		return e;
	}
}

static void ring_done(struct ring *r, const struct entry *e)
{
	uint64_t tail = atomic_load(&r->tail) + e->size;
	atomic_store(&r->tail, tail);
	uint64_t want = atomic_load(&r->want);
	if (want && RING_BYTES - (atomic_load(&r->head) - tail) >= want &&
	    atomic_exchange(&r->want, 0))
		sem_post(&r->space);
}

/* ---- frames from a worker to the supervisor ---- */

enum frame_kind { FRAME_RECORD = 1, FRAME_STATS, FRAME_FINAL };
#define FRAME_HEADER 5 /* 4 bytes of length (kind and payload), little-endian, then the kind */

static bool write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static bool send_frame(int fd, enum frame_kind kind, const void *payload, size_t len)
{
	uint8_t h[FRAME_HEADER];
	uint32_t n = (uint32_t)len + 1;
	h[0] = (uint8_t)n;
	h[1] = (uint8_t)(n >> 8);
	h[2] = (uint8_t)(n >> 16);
	h[3] = (uint8_t)(n >> 24);
	h[4] = (uint8_t)kind;
	return write_all(fd, h, sizeof h) && write_all(fd, payload, len);
}

/* A growable byte buffer. */
struct buf {
	uint8_t *data;
	size_t len, cap;
};

static bool buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d)
			return false;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return true;
}

/* The worker's output: the writers print into a FILE whose bytes collect
 * in a buffer, sent as one frame when the record is whole. */
struct record_pipe {
	FILE *fp;
	struct buf pending;
	int fd;
	bool batch; /* offline: whole records sent in batches of RECORD_BATCH */
	bool broken;
};

#define RECORD_BATCH (64u << 10)

static ssize_t record_pipe_write(void *cookie, const char *data, size_t n)
{
	struct record_pipe *rp = cookie;
	if (!buf_put(&rp->pending, data, n))
		return -1;
	return (ssize_t)n;
}

static void record_pipe_send(struct record_pipe *rp)
{
	if (rp->pending.len && !rp->broken &&
	    !send_frame(rp->fd, FRAME_RECORD, rp->pending.data, rp->pending.len))
		rp->broken = true;
	rp->pending.len = 0;
}

/* A record is whole: sent now (live), or once a batch is full. */
static void record_pipe_done(void *arg)
{
	struct record_pipe *rp = arg;
	fflush(rp->fp);
	if (!rp->batch || rp->pending.len >= RECORD_BATCH)
		record_pipe_send(rp);
}

/* Statistics on the wire: the fixed part of the totals, the live capture's
 * drop counters, then each counter's value and name. */
struct wire_stats {
	uint64_t recv, drop, ifdrop;
	uint64_t cpu_us; /* the worker's own CPU time, user and system */
	uint32_t has_drops;
	uint32_t n_counters, n_protocols, unused;
	struct pipeline_totals t; /* its counters' names are not valid here */
};

static void put_counters(struct buf *b, const struct counters *c)
{
	for (size_t i = 0; i < c->n; i++) {
		uint16_t len = (uint16_t)strnlen(c->items[i].name, 200);
		buf_put(b, &c->items[i].value, sizeof c->items[i].value);
		buf_put(b, &len, sizeof len);
		buf_put(b, c->items[i].name, len);
	}
}

static void send_totals(int fd, enum frame_kind kind, const struct pipeline_totals *t,
                        struct capture *live)
{
	static struct wire_stats ws; /* two counter tables: kept off the stack */
	struct buf b = {0};
	memset(&ws, 0, sizeof ws);
	ws.t = *t;
	ws.n_counters = (uint32_t)ws.t.counters.n;
	ws.n_protocols = (uint32_t)ws.t.protocols.n;
	if (live && capture_drops(live, &ws.recv, &ws.drop, &ws.ifdrop))
		ws.has_drops = 1;
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		ws.cpu_us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
		            (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	buf_put(&b, &ws, sizeof ws);
	put_counters(&b, &ws.t.counters);
	put_counters(&b, &ws.t.protocols);
	if (b.data)
		send_frame(fd, kind, b.data, b.len);
	free(b.data);
}

static void send_stats(int fd, enum frame_kind kind, const struct pipeline *pl,
                       struct capture *live)
{
	static struct pipeline_totals t;
	pipeline_totals(pl, &t);
	send_totals(fd, kind, &t, live);
}

/* ---- the supervisor's view of its workers ---- */

/* Counter names received from the workers, kept for the run. */
struct name {
	struct name *next;
	char s[];
};

struct worker {
	pid_t pid;
	unsigned generation; /* re-forks of this worker */
	int rfd;             /* records and statistics; -1 once closed */
	struct buf in;       /* bytes of a frame not read whole yet */
	struct capture cap;  /* live: its socket in the fanout group */
	bool cap_open;
	struct ring *ring; /* offline */
	bool gone;         /* offline: died; its packets are dropped */
	bool final;        /* its last statistics came */
	bool exited;
	bool have_stats;
	struct pipeline_totals stats; /* the latest */
	uint64_t recv, drop, ifdrop;
	bool has_drops;
	uint64_t cpu_us;
	uint64_t restarts, flows_lost;
};

struct supervisor {
	const struct workers_config *cfg;
	struct worker *w;
	unsigned n;
	struct output out;
	bool out_open;
	struct name *names;
	struct pipeline_totals retired; /* of workers that died and were replaced */
	uint64_t retired_recv, retired_drop, retired_ifdrop;
	uint64_t packets_lost;      /* offline: read for a worker that had died */
	unsigned group;             /* live: the fanout group id */
	struct capture *files;      /* --per-file: one capture per -r file */
	_Atomic unsigned *next_job; /* --per-file: shared by the workers */
	bool failed;
};

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t stats_requested;
/* A worker's live capture, for its signal handler's pcap_breakloop. */
static struct capture *worker_capture;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
	if (worker_capture)
		capture_break(worker_capture);
}

static void on_stats(int sig)
{
	(void)sig;
	stats_requested = 1;
}

static void set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sigaction(sig, &sa, NULL);
}

static const char *intern(struct supervisor *sv, const char *s, size_t len)
{
	for (struct name *n = sv->names; n; n = n->next)
		if (strlen(n->s) == len && memcmp(n->s, s, len) == 0)
			return n->s;
	struct name *n = malloc(sizeof *n + len + 1);
	if (!n)
		return "?";
	memcpy(n->s, s, len);
	n->s[len] = '\0';
	n->next = sv->names;
	sv->names = n;
	return n->s;
}

static bool get_counters(struct supervisor *sv, struct counters *c, uint32_t n, const uint8_t **p,
                         const uint8_t *end)
{
	c->n = 0;
	for (uint32_t i = 0; i < n && i < COUNTERS_MAX; i++) {
		uint64_t v;
		uint16_t len;
		if ((size_t)(end - *p) < sizeof v + sizeof len)
			return false;
		memcpy(&v, *p, sizeof v);
		memcpy(&len, *p + sizeof v, sizeof len);
		*p += sizeof v + sizeof len;
		if ((size_t)(end - *p) < len)
			return false;
		c->items[c->n].name = intern(sv, (const char *)*p, len);
		c->items[c->n++].value = v;
		*p += len;
	}
	return true;
}

static void take_stats(struct supervisor *sv, struct worker *w, const uint8_t *p, size_t len)
{
	static struct wire_stats ws;
	const uint8_t *end = p + len;
	if (len < sizeof ws)
		return;
	memcpy(&ws, p, sizeof ws);
	p += sizeof ws;
	if (!get_counters(sv, &ws.t.counters, ws.n_counters, &p, end) ||
	    !get_counters(sv, &ws.t.protocols, ws.n_protocols, &p, end))
		return;
	w->stats = ws.t;
	w->have_stats = true;
	w->has_drops = ws.has_drops;
	w->recv = ws.recv;
	w->drop = ws.drop;
	w->ifdrop = ws.ifdrop;
	w->cpu_us = ws.cpu_us;
}

/* The whole frames in w->in: records to the output, statistics kept. */
static void take_frames(struct supervisor *sv, struct worker *w)
{
	size_t off = 0;
	while (w->in.len - off >= FRAME_HEADER) {
		const uint8_t *h = w->in.data + off;
		uint32_t n = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
		             (uint32_t)h[3] << 24;
		if (w->in.len - off < 4 + (size_t)n)
			break;
		const uint8_t *payload = h + FRAME_HEADER;
		size_t len = n - 1;
		switch (h[4]) {
		case FRAME_RECORD:
			fwrite(payload, 1, len, sv->out.fp);
			sv->out.records++;
			break;
		case FRAME_FINAL:
			w->final = true;
			/* fallthrough */
		case FRAME_STATS:
			take_stats(sv, w, payload, len);
			break;
		}
		off += 4 + (size_t)n;
	}
	memmove(w->in.data, w->in.data + off, w->in.len - off);
	w->in.len -= off;
}

/* Reads what the workers sent, waiting up to timeout_ms.  Returns how many
 * pipes are still open. */
static unsigned pump(struct supervisor *sv, int timeout_ms)
{
	struct pollfd pfd[WORKERS_MAX];
	unsigned idx[WORKERS_MAX], n = 0;
	for (unsigned i = 0; i < sv->n; i++)
		if (sv->w[i].rfd >= 0) {
			pfd[n] = (struct pollfd){sv->w[i].rfd, POLLIN, 0};
			idx[n++] = i;
		}
	if (!n)
		return 0;
	if (poll(pfd, n, timeout_ms) <= 0)
		return n;
	unsigned open = n;
	for (unsigned k = 0; k < n; k++) {
		if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		struct worker *w = &sv->w[idx[k]];
		uint8_t chunk[65536];
		ssize_t got = read(w->rfd, chunk, sizeof chunk);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			close(w->rfd);
			w->rfd = -1;
			w->in.len = 0;
			open--;
			continue;
		}
		if (!buf_put(&w->in, chunk, (size_t)got)) {
			sv->failed = true;
			w->in.len = 0;
			continue;
		}
		take_frames(sv, w);
	}
	return open;
}

/* ---- a worker ---- */

static void close_other_workers(struct supervisor *sv, unsigned self)
{
	for (unsigned i = 0; i < sv->n; i++)
		if (i != self && sv->w[i].rfd >= 0)
			close(sv->w[i].rfd);
	if (sv->w[self].rfd >= 0)
		close(sv->w[self].rfd);
}

static usec_t wall_clock(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (usec_t)tv.tv_sec * USEC_PER_SEC + (usec_t)tv.tv_usec;
}

/* Offline: the entries of the worker's ring, until the end entry. */
static void worker_offline(struct pipeline *pl, struct ring *r, bool discard)
{
	for (;;) {
		const struct entry *e = ring_next(r);
		if (e->kind == ENT_END) {
			pl->next_expire = UINT64_MAX;
			pipeline_tick(pl, e->now); /* the clock the flush sees */
			ring_done(r, e);
			return;
		}
		if (pl->now < e->now)
			pl->now = e->now;
		pl->next_expire = (e->flags & ENT_EXPIRE) ? 0 : UINT64_MAX;
		if (e->kind == ENT_CLOCK)
			pipeline_tick(pl, e->now);
		else if (discard)
			pl->packets++;
		else
			pipeline_packet(pl, e->linktype, e->ts, (const uint8_t *)(e + 1), e->caplen,
			                e->wirelen);
		ring_done(r, e);
	}
}

/* Live: the worker's capture socket until SIGTERM; its statistics every
 * second, so a worker that dies leaves a count of what it held. */
static void worker_live(struct pipeline *pl, struct capture *cap, int fd)
{
	struct capture_packet pkt;
	char err[512];
	usec_t next_report = wall_clock() + USEC_PER_SEC;
	uint64_t n = 0;
	while (!stop_requested) {
		int rc = capture_next(cap, &pkt, err, sizeof err);
		if (rc < 0) {
			fprintf(stderr, "portolan: %s\n", err);
			break;
		}
		if (rc == 0)
			pipeline_tick(pl, wall_clock());
		else
			pipeline_packet(pl, pkt.linktype, pkt.ts, pkt.data, pkt.caplen,
			                pkt.wirelen);
		if (rc == 0 || (++n & 255) == 0) {
			usec_t now = wall_clock();
			if (now >= next_report) {
				send_stats(fd, FRAME_STATS, pl, cap);
				next_report = now + USEC_PER_SEC;
			}
		}
	}
}

/* --per-file: each file read whole by one worker, as if alone (its own
 * pipeline), the next one taken from the shared counter.  Returns 1 when a
 * file could not be read at all. */
static int worker_jobs(struct supervisor *sv, struct pipeline_config pc, struct output *out,
                       struct pipeline_totals *sum)
{
	static struct pipeline_totals t;
	const struct workers_config *cfg = sv->cfg;
	struct capture_packet pkt;
	char err[512];
	int status = 0;
	unsigned job;

	while (!stop_requested && (job = atomic_fetch_add(sv->next_job, 1)) < cfg->n_files) {
		struct capture *cap = &sv->files[job];
		struct pipeline pl;
		uint64_t n = 0;
		pc.flow.serial_first = job; /* uids unique across the files */
		pc.flow.serial_step = cfg->n_files;
		if (pipeline_init(&pl, &pc, out, err, sizeof err) < 0) {
			fprintf(stderr, "portolan: %s: %s\n", cfg->files[job], err);
			status = 1;
			continue;
		}
		while (!stop_requested) {
			int rc = capture_next(cap, &pkt, err, sizeof err);
			if (rc < 0 && n)
				fprintf(stderr,
				        "portolan: warning: %s (reporting the %" PRIu64
				        " packets read before it)\n",
				        err, n);
			else if (rc < 0)
				fprintf(stderr, "portolan: %s\n", err);
			if (rc < 0 && !n)
				status = 1;
			if (rc <= 0)
				break;
			pipeline_packet(&pl, pkt.linktype, pkt.ts, pkt.data, pkt.caplen,
			                pkt.wirelen);
			n++;
		}
		pipeline_flush(&pl);
		pipeline_totals(&pl, &t);
		totals_add(sum, &t);
		pipeline_free(&pl);
	}
	return status;
}

static void worker_main(struct supervisor *sv, unsigned self, int fd)
{
	const struct workers_config *cfg = sv->cfg;
	struct worker *w = &sv->w[self];
	struct pipeline_config pc = cfg->pipeline;
	struct record_pipe rp = {.fd = fd, .batch = !cfg->live};
	struct output out;
	struct pipeline pl;
	char err[512];

	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the supervisor */
	stop_requested = 0;
	set_handler(SIGUSR1, SIG_IGN);
	if (cfg->live) {
		worker_capture = &w->cap;
		set_handler(SIGINT, on_stop);
		set_handler(SIGTERM, on_stop);
	} else if (cfg->per_file) {
		set_handler(SIGINT, on_stop);
		set_handler(SIGTERM, on_stop);
	} else { /* the reader's end entry ends the run */
		set_handler(SIGINT, SIG_IGN);
		set_handler(SIGTERM, SIG_IGN);
	}
	/* uids unique across workers and their re-forks */
	pc.flow.serial_first = self + (uint64_t)sv->n * ((uint64_t)w->generation << 40);
	pc.flow.serial_step = sv->n;

	cookie_io_functions_t io = {.write = record_pipe_write};
	if (output_open(&out, NULL, cfg->json ? OUTPUT_JSON : OUTPUT_TEXT, cfg->verbose, err,
	                sizeof err) < 0 ||
	    !(rp.fp = fopencookie(&rp, "w", io))) {
		fprintf(stderr, "portolan: worker %u: cannot open its output\n", self);
		_exit(1);
	}
	setvbuf(rp.fp, NULL, _IOFBF, 65536);
	out.fp = rp.fp;
	out.color = cfg->color && !cfg->json;
	out.record_done = record_pipe_done;
	out.record_done_arg = &rp;
	if (cfg->per_file) {
		static struct pipeline_totals sum;
		int status = worker_jobs(sv, pc, &out, &sum);
		fflush(rp.fp);
		record_pipe_send(&rp);
		send_totals(fd, FRAME_FINAL, &sum, NULL);
		out.fp = NULL;
		output_close(&out);
		fclose(rp.fp);
		free(rp.pending.data);
		_exit(rp.broken ? 1 : status);
	}
	if (pipeline_init(&pl, &pc, &out, err, sizeof err) < 0) {
		fprintf(stderr, "portolan: worker %u: %s\n", self, err);
		_exit(1);
	}
	if (cfg->live)
		worker_live(&pl, &w->cap, fd);
	else
		worker_offline(&pl, w->ring, cfg->discard);
	pipeline_flush(&pl);
	fflush(rp.fp);
	record_pipe_send(&rp); /* the last batch, before the statistics */
	send_stats(fd, FRAME_FINAL, &pl, cfg->live ? &w->cap : NULL);
	pipeline_free(&pl);
	out.fp = NULL;
	output_close(&out);
	fclose(rp.fp);
	free(rp.pending.data);
	_exit(rp.broken ? 1 : 0);
}

/* Forks worker i.  Returns false when it could not. */
static bool start_worker(struct supervisor *sv, unsigned i)
{
	int p[2];
	if (pipe(p) < 0)
		return false;
	fflush(NULL); /* nothing buffered is written twice */
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return false;
	}
	if (pid == 0) {
		close(p[0]);
		close_other_workers(sv, i);
		worker_main(sv, i, p[1]);
	}
	close(p[1]);
	sv->w[i].pid = pid;
	sv->w[i].rfd = p[0];
	sv->w[i].final = sv->w[i].exited = sv->w[i].have_stats = false;
	return true;
}

/* ---- the end: statistics added up ---- */

struct run_stats {
	struct supervisor *sv;
	struct pipeline_totals sum;
};

static void sum_stats(struct supervisor *sv, struct pipeline_totals *sum)
{
	*sum = sv->retired;
	for (unsigned i = 0; i < sv->n; i++)
		if (sv->w[i].have_stats)
			totals_add(sum, &sv->w[i].stats);
}

static void emit_run_stats(struct emitter *e, const void *arg)
{
	const struct run_stats *rs = arg;
	const struct supervisor *sv = rs->sv;
	emit_object_begin(e, NULL);
	emit_str(e, "type", "stats");
	totals_emit_keys(e, &rs->sum);
	emit_array_begin(e, "workers");
	for (unsigned i = 0; i < sv->n; i++) {
		const struct worker *w = &sv->w[i];
		emit_object_begin(e, NULL);
		emit_int(e, "worker", i);
		emit_int(e, "packets", (int64_t)w->stats.packets);
		emit_int(e, "flows", (int64_t)w->stats.flows.created);
		if (w->has_drops) {
			emit_int(e, "kernel_received", (int64_t)w->recv);
			emit_int(e, "kernel_dropped", (int64_t)w->drop);
		}
		emit_number(e, "cpu_s", (double)w->cpu_us / 1e6, 3);
		emit_int(e, "restarts", (int64_t)w->restarts);
		emit_int(e, "flows_lost", (int64_t)w->flows_lost);
		emit_object_end(e);
	}
	emit_array_end(e);
	emit_object_end(e);
}

static void print_workers(const struct supervisor *sv, FILE *fp)
{
	uint64_t recv = sv->retired_recv, drop = sv->retired_drop, ifdrop = sv->retired_ifdrop;
	bool drops = false;
	fprintf(fp, "  workers: %u%s\n", sv->n, sv->cfg->discard ? " (discarding)" : "");
	for (unsigned i = 0; i < sv->n; i++) {
		const struct worker *w = &sv->w[i];
		fprintf(fp, "    worker %u: %" PRIu64 " packets, %" PRIu64 " flows, %.3f s CPU", i,
		        w->stats.packets, w->stats.flows.created, (double)w->cpu_us / 1e6);
		if (w->has_drops) {
			fprintf(fp, ", %" PRIu64 " dropped by kernel", w->drop);
			recv += w->recv;
			drop += w->drop;
			ifdrop += w->ifdrop;
			drops = true;
		}
		if (w->restarts)
			fprintf(fp, ", restarted %" PRIu64 " times (%" PRIu64 " flows lost)",
			        w->restarts, w->flows_lost);
		if (!w->final && !w->restarts)
			fprintf(fp, ", ended without its statistics");
		fputc('\n', fp);
	}
	if (sv->packets_lost)
		fprintf(fp, "  packets for a worker that had died: %" PRIu64 "\n",
		        sv->packets_lost);
	if (drops)
		fprintf(fp,
		        "portolan: %" PRIu64 " packets received by filter, %" PRIu64
		        " dropped by kernel, %" PRIu64 " dropped by interface\n",
		        recv, drop, ifdrop);
}

static void finish(struct supervisor *sv)
{
	static struct run_stats rs;
	rs.sv = sv;
	sum_stats(sv, &rs.sum);
	if (sv->cfg->json)
		output_json_record(&sv->out, emit_run_stats, &rs);
	fflush(sv->out.fp); /* records first, then the summary */
	totals_print_summary(&rs.sum, stderr);
	print_workers(sv, stderr);
}

/* ---- offline: the reader ---- */

static void *pump_thread(void *arg)
{
	struct supervisor *sv = arg;
	while (pump(sv, 1000) > 0)
		;
	return NULL;
}

static bool put_to(struct supervisor *sv, unsigned i, const struct entry *e, const uint8_t *data)
{
	struct worker *w = &sv->w[i];
	if (w->gone)
		return false;
	if (ring_put(w->ring, e, data, w->pid))
		return true;
	w->gone = true;
	sv->failed = true;
	fprintf(stderr, "portolan: worker %u died; its packets are lost\n", i);
	return false;
}

static void broadcast(struct supervisor *sv, enum entry_kind kind, unsigned flags, usec_t now,
                      unsigned except)
{
	struct entry e = {.kind = (uint16_t)kind, .flags = (uint16_t)flags, .ts = now, .now = now};
	for (unsigned i = 0; i < sv->n; i++)
		if (i != except)
			put_to(sv, i, &e, NULL);
}

/* Reads every packet and deals them out.  Returns the exit status. */
static int read_files(struct supervisor *sv, struct capture *cap)
{
	const struct workers_config *cfg = sv->cfg;
	struct capture_packet pkt;
	char err[512];
	usec_t now = 0, next_expire = 0;
	uint64_t n = 0;
	unsigned damaged = 0;
	int status = 0;

	while (!stop_requested && (!cfg->max_packets || n < cfg->max_packets)) {
		int rc = capture_next(cap, &pkt, err, sizeof err);
		if (rc < 0 && cfg->n_files < 2) {
			if (n)
				fprintf(stderr,
				        "portolan: warning: %s (reporting the %" PRIu64
				        " packets read before it)\n",
				        err, n);
			else
				fprintf(stderr, "portolan: %s\n", err);
			status = n ? 0 : 1;
			break;
		}
		if (rc < 0) {
			fprintf(stderr, "portolan: warning: %s (the other files are read on)\n",
			        err);
			damaged++;
			continue;
		}
		if (rc == 0)
			break;
		/* the single pipeline's clock (pipeline.c: advance_clock) */
		if (pkt.ts > now)
			now = pkt.ts;
		unsigned flags = 0;
		if (now >= next_expire) {
			flags = ENT_EXPIRE;
			next_expire = now + USEC_PER_SEC;
		}
		unsigned to = shard_of(pkt.linktype, pkt.data, pkt.caplen, pkt.wirelen, sv->n);
		if (flags)
			broadcast(sv, ENT_CLOCK, flags, now, to);
		struct entry e = {.kind = ENT_PACKET,
		                  .flags = (uint16_t)flags,
		                  .linktype = pkt.linktype,
		                  .caplen = pkt.caplen,
		                  .wirelen = pkt.wirelen,
		                  .ts = pkt.ts,
		                  .now = now};
		if (e.caplen > RING_MAX_CAPLEN)
			e.caplen = RING_MAX_CAPLEN;
		if (!put_to(sv, to, &e, pkt.data))
			sv->packets_lost++;
		n++;
	}
	broadcast(sv, ENT_END, 0, now, sv->n);
	if (damaged && !n)
		status = 1;
	return status;
}

/* The one output, opened after the inputs (as with one process). */
static int open_output(struct supervisor *sv, char *err, size_t errlen)
{
	const struct workers_config *cfg = sv->cfg;
	if (output_open(&sv->out, cfg->output_path, cfg->json ? OUTPUT_JSON : OUTPUT_TEXT,
	                cfg->verbose, err, errlen) < 0)
		return -1;
	sv->out_open = true;
	return 0;
}

static int run_offline(struct supervisor *sv)
{
	const struct workers_config *cfg = sv->cfg;
	struct capture cap;
	char err[512];
	int status;

	if (capture_open_files(&cap, cfg->files, cfg->n_files, cfg->filter, err, sizeof err) < 0) {
		capture_close(&cap);
		fprintf(stderr, "portolan: %s\n", err);
		return 2;
	}
	for (unsigned i = 0; i < sv->n; i++) {
		struct ring *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE,
		                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (r == MAP_FAILED) {
			capture_close(&cap);
			fprintf(stderr, "portolan: cannot map the workers' rings: %s\n",
			        strerror(errno));
			return 1;
		}
		sem_init(&r->items, 1, 0);
		sem_init(&r->space, 1, 0);
		sv->w[i].ring = r;
	}
	if (open_output(sv, err, sizeof err) < 0) {
		capture_close(&cap);
		fprintf(stderr, "portolan: %s\n", err);
		return 2;
	}
	if (cfg->drop_user && cfg->drop_privileges(cfg->drop_user, err, sizeof err) < 0) {
		capture_close(&cap);
		fprintf(stderr, "portolan: %s\n", err);
		return 2;
	}
	for (unsigned i = 0; i < sv->n; i++)
		if (!start_worker(sv, i)) {
			fprintf(stderr, "portolan: cannot start worker %u: %s\n", i,
			        strerror(errno));
			sv->n = i; /* those started get their end entry */
			sv->failed = true;
			break;
		}
	pthread_t writer;
	bool threaded = pthread_create(&writer, NULL, pump_thread, sv) == 0;
	if (sv->failed) {
		status = 1;
		broadcast(sv, ENT_END, 0, 0, sv->n);
	} else {
		status = read_files(sv, &cap);
	}
	if (threaded)
		pthread_join(writer, NULL);
	else
		while (pump(sv, 1000) > 0)
			;
	for (unsigned i = 0; i < sv->n; i++) {
		int ws;
		if (waitpid(sv->w[i].pid, &ws, 0) > 0 && (!WIFEXITED(ws) || WEXITSTATUS(ws)))
			sv->failed = true;
		if (!sv->w[i].final)
			sv->failed = true;
	}
	capture_close(&cap);
	finish(sv);
	for (unsigned i = 0; i < sv->n; i++) {
		sem_destroy(&sv->w[i].ring->items);
		sem_destroy(&sv->w[i].ring->space);
		munmap(sv->w[i].ring, sizeof *sv->w[i].ring);
	}
	return status ? status : sv->failed ? 1 : 0;
}

/* ---- --per-file: the files as independent jobs ---- */

static int run_per_file(struct supervisor *sv)
{
	const struct workers_config *cfg = sv->cfg;
	char err[512];
	int status = 0;

	sv->files = calloc(cfg->n_files, sizeof *sv->files);
	sv->next_job = mmap(NULL, sizeof *sv->next_job, PROT_READ | PROT_WRITE,
	                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!sv->files || sv->next_job == MAP_FAILED) {
		fprintf(stderr, "portolan: out of memory\n");
		return 1;
	}
	atomic_store(sv->next_job, 0);
	for (size_t i = 0; i < cfg->n_files; i++)
		if (capture_open_files(&sv->files[i], &cfg->files[i], 1, cfg->filter, err,
		                       sizeof err) < 0) {
			fprintf(stderr, "portolan: %s\n", err);
			return 2;
		}
	if (sv->n > cfg->n_files) /* no worker without a file */
		sv->n = (unsigned)cfg->n_files;
	if (open_output(sv, err, sizeof err) < 0) {
		fprintf(stderr, "portolan: %s\n", err);
		return 2;
	}
	if (cfg->drop_user && cfg->drop_privileges(cfg->drop_user, err, sizeof err) < 0) {
		fprintf(stderr, "portolan: %s\n", err);
		return 2;
	}
	for (unsigned i = 0; i < sv->n; i++)
		if (!start_worker(sv, i)) {
			fprintf(stderr, "portolan: cannot start worker %u: %s\n", i,
			        strerror(errno));
			sv->n = i;
			sv->failed = true;
			break;
		}
	bool signalled = false;
	while (pump(sv, 200) > 0)
		if (stop_requested && !signalled) {
			for (unsigned i = 0; i < sv->n; i++)
				kill(sv->w[i].pid, SIGTERM);
			signalled = true;
		}
	for (unsigned i = 0; i < sv->n; i++) {
		int ws;
		if (waitpid(sv->w[i].pid, &ws, 0) > 0 && (!WIFEXITED(ws) || WEXITSTATUS(ws)))
			status = 1; /* a file could not be read */
		if (!sv->w[i].final)
			sv->failed = true;
	}
	finish(sv);
	return status ? status : sv->failed ? 1 : 0;
}

/* ---- live: the fanout group ---- */

#ifndef PACKET_FANOUT_FLAG_UNIQUEID
#define PACKET_FANOUT_FLAG_UNIQUEID 0x2000
#endif

static int join_fanout(struct supervisor *sv, char *err, size_t errlen)
{
	struct sock_filter prog[160];
	size_t len = shard_cbpf(prog, sizeof prog / sizeof prog[0]);
	struct sock_fprog fprog = {(unsigned short)len, prog};
	int fd0 = capture_live_fd(&sv->w[0].cap);
	/* a group id no other process uses: the kernel picks it (Linux 4.3+),
	 * else one derived from our pid */
	int arg = (PACKET_FANOUT_CBPF | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
	int rc = setsockopt(fd0, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg);
	if (rc == 0) {
		int got = 0;
		socklen_t gl = sizeof got;
		if (getsockopt(fd0, SOL_PACKET, PACKET_FANOUT, &got, &gl) < 0) {
			snprintf(err, errlen, "fanout group: %s", strerror(errno));
			return -1;
		}
		sv->group = (unsigned)got & 0xffff;
	} else {
		for (unsigned attempt = 0; attempt < 16 && rc < 0; attempt++) {
			sv->group = ((unsigned)getpid() + attempt * 7919u) & 0xffff;
			arg = (int)(sv->group | (PACKET_FANOUT_CBPF << 16));
			rc = setsockopt(fd0, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg);
		}
		if (rc < 0) {
			snprintf(err, errlen, "cannot make an AF_PACKET fanout group: %s",
			         strerror(errno));
			return -1;
		}
	}
	if (!len || setsockopt(fd0, SOL_PACKET, PACKET_FANOUT_DATA, &fprog, sizeof fprog) < 0) {
		snprintf(err, errlen, "cannot set the fanout's BPF program: %s", strerror(errno));
		return -1;
	}
	arg = (int)(sv->group | (PACKET_FANOUT_CBPF << 16));
	for (unsigned i = 1; i < sv->n; i++)
		if (setsockopt(capture_live_fd(&sv->w[i].cap), SOL_PACKET, PACKET_FANOUT, &arg,
		               sizeof arg) < 0) {
			snprintf(err, errlen, "cannot join fanout group %u: %s", sv->group,
			         strerror(errno));
			return -1;
		}
	/* what each socket queued before it joined was not shared out */
	for (unsigned i = 0; i < sv->n; i++)
		capture_live_discard(&sv->w[i].cap);
	return 0;
}

/* A worker ended: at the end of the run, or it died and is re-forked onto
 * the same socket (the group keeps its size, so no other flow moves). */
static void worker_ended(struct supervisor *sv, unsigned i, int ws)
{
	struct worker *w = &sv->w[i];
	while (w->rfd >= 0) /* what it sent before it died */
		pump(sv, 100);
	w->pid = 0;
	if (w->final || stop_requested) {
		w->exited = true;
		if (!w->final || !WIFEXITED(ws) || WEXITSTATUS(ws))
			sv->failed = true;
		return;
	}
	uint64_t lost = w->have_stats ? w->stats.flows.active : 0;
	fprintf(stderr,
	        "portolan: worker %u died (%s %d); its %" PRIu64 " open flows are lost, "
	        "restarting it\n",
	        i, WIFSIGNALED(ws) ? "signal" : "exit",
	        WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws), lost);
	if (w->have_stats) {
		totals_add(&sv->retired, &w->stats);
		if (w->has_drops) {
			sv->retired_recv += w->recv;
			sv->retired_drop += w->drop;
			sv->retired_ifdrop += w->ifdrop;
		}
	}
	memset(&w->stats, 0, sizeof w->stats);
	w->has_drops = false;
	w->restarts++;
	w->flows_lost += lost;
	w->generation++;
	if (!start_worker(sv, i)) {
		fprintf(stderr, "portolan: cannot restart worker %u: %s\n", i, strerror(errno));
		w->exited = true;
		sv->failed = true;
	}
}

static int run_live(struct supervisor *sv)
{
	const struct workers_config *cfg = sv->cfg;
	char err[512];
	int status = 0;

	for (unsigned i = 0; i < sv->n; i++) {
		if (capture_open_live(&sv->w[i].cap, cfg->live, cfg->filter, err, sizeof err) < 0) {
			fprintf(stderr, "portolan: %s\n", err);
			capture_close(&sv->w[i].cap);
			return 2;
		}
		sv->w[i].cap_open = true;
	}
	if (join_fanout(sv, err, sizeof err) < 0) {
		fprintf(stderr, "portolan: %s: %s\n", cfg->live->iface, err);
		return 2;
	}
	if (open_output(sv, err, sizeof err) < 0) {
		fprintf(stderr, "portolan: %s\n", err);
		return 2;
	}
	if (geteuid() == 0 && !cfg->drop_user)
		fprintf(stderr, "portolan: warning: capturing as root (-Z USER drops it once "
		                "the capture is open)\n");
	if (cfg->drop_user && cfg->drop_privileges(cfg->drop_user, err, sizeof err) < 0) {
		fprintf(stderr, "portolan: %s\n", err);
		return 2;
	}
	for (unsigned i = 0; i < sv->n; i++)
		if (!start_worker(sv, i)) {
			fprintf(stderr, "portolan: cannot start worker %u: %s\n", i,
			        strerror(errno));
			stop_requested = 1;
			sv->failed = true;
			sv->n = i;
			break;
		}
	fprintf(stderr, "portolan: %u workers capturing on %s (fanout group %u)\n", sv->n,
	        cfg->live->iface, sv->group);
	bool signalled = false;
	for (;;) {
		if (stop_requested && !signalled) {
			for (unsigned i = 0; i < sv->n; i++)
				if (sv->w[i].pid > 0)
					kill(sv->w[i].pid, SIGTERM);
			signalled = true;
		}
		if (stats_requested) {
			static struct pipeline_totals sum;
			stats_requested = 0;
			sum_stats(sv, &sum);
			totals_print_summary(&sum, stderr);
			print_workers(sv, stderr);
		}
		pump(sv, 200);
		int ws;
		pid_t pid;
		while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
			for (unsigned i = 0; i < sv->n; i++)
				if (sv->w[i].pid == pid)
					worker_ended(sv, i, ws);
		bool all = true;
		for (unsigned i = 0; i < sv->n; i++)
			all = all && sv->w[i].exited;
		if (all)
			break;
	}
	finish(sv);
	return status ? status : sv->failed ? 1 : 0;
}

/* ---- the entry point ---- */

unsigned workers_auto(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > WORKERS_MAX ? WORKERS_MAX : (unsigned)n;
}

int workers_run(const struct workers_config *cfg)
{
	static struct supervisor sv; /* the workers' statistics: kept off the stack */
	int status;

	memset(&sv, 0, sizeof sv);
	sv.cfg = cfg;
	sv.n = cfg->n;
	sv.w = calloc(sv.n, sizeof *sv.w);
	if (!sv.w) {
		fprintf(stderr, "portolan: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < sv.n; i++)
		sv.w[i].rfd = -1;
	set_handler(SIGINT, on_stop);
	set_handler(SIGTERM, on_stop);
	set_handler(SIGUSR1, on_stats);
	set_handler(SIGPIPE, SIG_IGN);
	status = cfg->live ? run_live(&sv) : cfg->per_file ? run_per_file(&sv) : run_offline(&sv);
	if (sv.out_open)
		output_close(&sv.out);
	for (unsigned i = 0; i < cfg->n; i++) {
		if (sv.w[i].cap_open)
			capture_close(&sv.w[i].cap);
		free(sv.w[i].in.data);
	}
	for (size_t i = 0; sv.files && i < cfg->n_files; i++)
		capture_close(&sv.files[i]);
	free(sv.files);
	if (sv.next_job && sv.next_job != MAP_FAILED)
		munmap(sv.next_job, sizeof *sv.next_job);
	while (sv.names) {
		struct name *next = sv.names->next;
		free(sv.names);
		sv.names = next;
	}
	free(sv.w);
	return status;
}
