/* Packet sources (portolan/capture.h).
 *
 * Offline, every file keeps one packet read ahead, and the earliest of those
 * is returned next, so several files merge into one stream whose packet
 * time never runs backward.  libpcap reads pcap and most pcapng; a pcapng it
 * refuses (interfaces with different link types or snap lengths) is read by
 * our own block reader (pcapng.c), with the BPF filter applied through
 * pcap_offline_filter.
 */
#include <errno.h>
#include <poll.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/capture.h"
#include "portolan/pcapng.h"

#define LIVE_TIMEOUT_MS 200
#define DEFAULT_SNAPLEN 262144

struct capture_source {
	const char *name;
	pcap_t *pcap;             /* libpcap reading, or live */
	struct pcapng_reader *ng; /* our pcapng reader */
	FILE *ng_file;
	struct bpf_program ng_filter; /* the filter for our reader's packets */
	bool ng_filtered;
	pcap_t *ng_dead; /* compiles the filter per link type */
	int ng_dead_linktype;
	const char *filter;
	uint64_t returned; /* packets read from this source */
	bool ahead;        /* a packet is read ahead */
	bool done;
	struct capture_packet pkt;
};

static usec_t tv_to_usec(const struct timeval *tv)
{
	return (usec_t)tv->tv_sec * USEC_PER_SEC + (usec_t)tv->tv_usec;
}

static int apply_filter(pcap_t *p, const char *filter, const char *name, char *err, size_t errlen)
{
	struct bpf_program prog;
	if (!filter || !*filter)
		return 0;
	if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "%s: bad filter '%s': %s", name, filter, pcap_geterr(p));
		return -1;
	}
	int rc = pcap_setfilter(p, &prog);
	pcap_freecode(&prog);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot set filter: %s", name, pcap_geterr(p));
		return -1;
	}
	return 0;
}

static bool is_pcapng(const char *path)
{
	unsigned char magic[4];
	FILE *f = strcmp(path, "-") == 0 ? NULL : fopen(path, "rb");
	if (!f)
		return false;
	bool yes = fread(magic, 1, 4, f) == 4 && magic[0] == 0x0a && magic[1] == 0x0d &&
	           magic[2] == 0x0d && magic[3] == 0x0a;
	fclose(f);
	return yes;
}

static int open_with_own_reader(struct capture_source *s, const char *path, char *err,
                                size_t errlen)
{
	s->ng_file = fopen(path, "rb");
	if (!s->ng_file) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char why[256] = "";
	s->ng = pcapng_open(s->ng_file, why, sizeof why);
	if (!s->ng) {
		snprintf(err, errlen, "%s: not a readable pcapng file: %s", path, why);
		return -1;
	}
	return 0;
}

static int open_file(struct capture_source *s, const char *path, const char *filter, char *err,
                     size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE] = "";

	s->name = path;
	s->filter = filter;
	if (strcmp(path, "-") == 0)
		s->pcap = pcap_fopen_offline_with_tstamp_precision(
		    stdin, PCAP_TSTAMP_PRECISION_MICRO, perr);
	else
		s->pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO,
		                                                  perr);
	if (!s->pcap) {
		if (is_pcapng(path))
			return open_with_own_reader(s, path, err, errlen);
		snprintf(err, errlen, "%s: %s", path, perr[0] ? perr : "cannot be read");
		return -1;
	}
	return apply_filter(s->pcap, filter, path, err, errlen);
}

int capture_open_files(struct capture *c, char *const *files, size_t n, const char *filter,
                       char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->src = calloc(n ? n : 1, sizeof *c->src);
	if (!c->src) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->n = n;
	for (size_t i = 0; i < n; i++)
		if (open_file(&c->src[i], files[i], filter, err, errlen) < 0)
			return -1;
	return 0;
}

/* Which of the capabilities a live capture needs this process lacks, from
 * the effective set in /proc/self/status (CAP_NET_ADMIN is bit 12,
 * CAP_NET_RAW bit 13). */
static const char *missing_capabilities(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return "CAP_NET_RAW and CAP_NET_ADMIN";
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	bool raw = eff & (1ull << 13), admin = eff & (1ull << 12);
	if (!raw && !admin)
		return "CAP_NET_RAW and CAP_NET_ADMIN (both missing)";
	if (!raw)
		return "CAP_NET_RAW (missing; CAP_NET_ADMIN is there)";
	if (!admin)
		return "CAP_NET_ADMIN (missing; CAP_NET_RAW is there)";
	return "CAP_NET_RAW and CAP_NET_ADMIN (both there: something else refused)";
}

int capture_open_live(struct capture *c, const struct live_options *o, const char *filter,
                      char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE] = "";

	memset(c, 0, sizeof *c);
	c->src = calloc(1, sizeof *c->src);
	if (!c->src) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->n = 1;
	c->live = true;
	struct capture_source *s = &c->src[0];
	s->name = o->iface;
	s->pcap = pcap_create(o->iface, perr);
	if (!s->pcap) {
		snprintf(err, errlen, "%s: %s", o->iface, perr);
		return -1;
	}
	pcap_set_snaplen(s->pcap, o->snaplen > 0 ? o->snaplen : DEFAULT_SNAPLEN);
	pcap_set_promisc(s->pcap, o->promiscuous);
	pcap_set_timeout(s->pcap, LIVE_TIMEOUT_MS);
	pcap_set_immediate_mode(s->pcap, 1);
	if (o->buffer_kib > 0)
		pcap_set_buffer_size(s->pcap, o->buffer_kib * 1024);
	int rc = pcap_activate(s->pcap);
	if (rc >= 0)
		pcap_setnonblock(s->pcap, 1, perr); /* capture_next waits in poll() */
	if (rc < 0) {
		const char *why = pcap_geterr(s->pcap);
		if (rc == PCAP_ERROR_PERM_DENIED)
			snprintf(err, errlen,
			         "%s: permission denied: capturing needs root or the capability "
			         "%s (%s)",
			         o->iface, missing_capabilities(), why);
		else if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
			snprintf(err, errlen, "%s: no such interface (see portolan -D)", o->iface);
		else
			snprintf(err, errlen, "%s: %s", o->iface, why);
		return -1;
	}
	return apply_filter(s->pcap, filter, o->iface, err, errlen);
}

/* Our reader's packets pass the filter compiled for their link type. */
static bool own_reader_filter_passes(struct capture_source *s, struct capture_packet *p)
{
	if (!s->filter || !*s->filter)
		return true;
	if (!s->ng_dead || s->ng_dead_linktype != p->linktype) {
		if (s->ng_filtered)
			pcap_freecode(&s->ng_filter);
		if (s->ng_dead)
			pcap_close(s->ng_dead);
		s->ng_dead = pcap_open_dead(p->linktype, DEFAULT_SNAPLEN);
		s->ng_dead_linktype = p->linktype;
		s->ng_filtered = s->ng_dead && pcap_compile(s->ng_dead, &s->ng_filter, s->filter, 1,
		                                            PCAP_NETMASK_UNKNOWN) == 0;
	}
	if (!s->ng_filtered)
		return false;
	struct pcap_pkthdr h = {{0, 0}, p->caplen, p->wirelen};
	return pcap_offline_filter(&s->ng_filter, &h, p->data) != 0;
}

static int read_own(struct capture_source *s, char *err, size_t errlen)
{
	for (;;) {
		struct pcapng_packet np;
		char why[256] = "";
		int rc = pcapng_next(s->ng, &np, why, sizeof why);
		if (rc <= 0) {
			if (rc < 0)
				snprintf(err, errlen, "%s: %s", s->name, why);
			return rc;
		}
		s->pkt.ts = np.ts_usec;
		s->pkt.caplen = np.caplen;
		s->pkt.wirelen = np.wirelen;
		s->pkt.linktype = np.linktype;
		s->pkt.data = np.data;
		if (own_reader_filter_passes(s, &s->pkt))
			return 1;
	}
}

/* libpcap may accept a pcapng's first interface and refuse a later one
 * (another link type or snap length) in the middle of the file: our reader
 * then takes over from where libpcap stopped. */
static int switch_to_own_reader(struct capture_source *s, char *err, size_t errlen)
{
	uint64_t skip = s->returned;
	pcap_close(s->pcap);
	s->pcap = NULL;
	if (open_with_own_reader(s, s->name, err, errlen) < 0)
		return -1;
	for (uint64_t i = 0; i < skip; i++) {
		struct pcapng_packet np;
		char why[256] = "";
		if (pcapng_next(s->ng, &np, why, sizeof why) <= 0) {
			snprintf(err, errlen, "%s: %s", s->name, why[0] ? why : "ended early");
			return -1;
		}
	}
	return read_own(s, err, errlen);
}

static int read_pcap(struct capture_source *s, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(s->pcap, &h, &data);

	if (rc == 1) {
		s->pkt.ts = tv_to_usec(&h->ts);
		s->pkt.caplen = h->caplen;
		s->pkt.wirelen = h->len < h->caplen ? h->caplen : h->len;
		s->pkt.linktype = pcap_datalink(s->pcap);
		s->pkt.data = data;
		return 1;
	}
	if (rc == 0) /* live timeout */
		return 0;
	if (rc == PCAP_ERROR_BREAK)
		return 0;
	if (strcmp(s->name, "-") != 0 && is_pcapng(s->name) &&
	    strstr(pcap_geterr(s->pcap), "interface"))
		return switch_to_own_reader(s, err, errlen);
	snprintf(err, errlen, "%s: %s", s->name, pcap_geterr(s->pcap));
	return -1;
}

/* Makes sure source s has a packet read ahead unless it is finished. */
static int fill(struct capture_source *s, char *err, size_t errlen)
{
	if (s->ahead || s->done)
		return 0;
	int rc = s->ng ? read_own(s, err, errlen) : read_pcap(s, err, errlen);
	if (rc == 1) {
		s->ahead = true;
		s->returned++;
	} else
		s->done = true;
	return rc < 0 ? -1 : 0;
}

int capture_next(struct capture *c, struct capture_packet *out, char *err, size_t errlen)
{
	if (c->live) {
		struct capture_source *s = &c->src[0];
		/* In immediate mode libpcap's timeout may never fire on a quiet
		 * link: wait on the descriptor ourselves, so time passes (idle
		 * flows expire) and signals are seen (SIGUSR1, SIGTERM). */
		int fd = pcap_get_selectable_fd(s->pcap);
		if (fd >= 0) {
			struct pollfd pfd = {fd, POLLIN, 0};
			if (poll(&pfd, 1, LIVE_TIMEOUT_MS) <= 0)
				return 0;
		}
		int rc = read_pcap(s, err, errlen);
		if (rc == 1)
			*out = s->pkt;
		return rc;
	}
	if (c->last) { /* its packet was used: read its next one */
		c->last->ahead = false;
		c->last = NULL;
	}
	int status = 0;
	struct capture_source *best = NULL;
	for (size_t i = 0; i < c->n; i++) {
		if (fill(&c->src[i], err, errlen) < 0)
			status = -1; /* report it, but keep the other files going */
		if (c->src[i].ahead && (!best || c->src[i].pkt.ts < best->pkt.ts))
			best = &c->src[i];
	}
	if (status < 0)
		return -1;
	if (!best)
		return 0;
	c->last = best;
	*out = best->pkt;
	return 1;
}

void capture_break(struct capture *c)
{
	if (c->live && c->src && c->src[0].pcap)
		pcap_breakloop(c->src[0].pcap);
}

bool capture_drops(struct capture *c, uint64_t *received, uint64_t *dropped, uint64_t *if_dropped)
{
	struct pcap_stat st;
	if (!c->live || !c->src || !c->src[0].pcap || pcap_stats(c->src[0].pcap, &st) < 0)
		return false;
	*received = st.ps_recv;
	*dropped = st.ps_drop;
	*if_dropped = st.ps_ifdrop;
	return true;
}

int capture_live_fd(struct capture *c)
{
	return c->live && c->src && c->src[0].pcap ? pcap_fileno(c->src[0].pcap) : -1;
}

static void discard_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	(void)user;
	(void)h;
	(void)bytes;
}

void capture_live_discard(struct capture *c)
{
	if (!c->live || !c->src || !c->src[0].pcap)
		return;
	for (int i = 0; i < 1000 && pcap_dispatch(c->src[0].pcap, -1, discard_packet, NULL) > 0;
	     i++)
		;
}

void capture_close(struct capture *c)
{
	for (size_t i = 0; c->src && i < c->n; i++) {
		struct capture_source *s = &c->src[i];
		if (s->pcap)
			pcap_close(s->pcap);
		if (s->ng)
			pcapng_close(s->ng);
		if (s->ng_file)
			fclose(s->ng_file);
		if (s->ng_filtered)
			pcap_freecode(&s->ng_filter);
		if (s->ng_dead)
			pcap_close(s->ng_dead);
	}
	free(c->src);
	c->src = NULL;
	c->n = 0;
}

int capture_list_interfaces(FILE *fp, char *err, size_t errlen)
{
	pcap_if_t *all;
	char perr[PCAP_ERRBUF_SIZE] = "";
	if (pcap_findalldevs(&all, perr) < 0) {
		snprintf(err, errlen, "cannot list interfaces: %s", perr);
		return -1;
	}
	int i = 1;
	for (pcap_if_t *d = all; d; d = d->next, i++)
		fprintf(fp, "%d.%s%s%s%s\n", i, d->name, d->description ? " (" : "",
		        d->description ? d->description : "", d->description ? ")" : "");
	pcap_freealldevs(all);
	return 0;
}
