/* portolan: a passive packet dissector and traffic classifier.
 *
 * main() only parses options, opens the packet sources and the output, and
 * runs the loop; every stage lives in its own file (see pipeline.c). */
#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "portolan/capture.h"
#include "portolan/memcap.h"
#include "portolan/pipeline.h"
#include "portolan/report.h"
#include "portolan/teach.h"
#include "portolan/workers.h"

#define MAX_FILES 64

struct options {
	char *files[MAX_FILES];
	size_t n_files;
	struct live_options live;
	bool list_interfaces;
	const char *filter_file;
	char *filter;
	uint64_t max_packets;
	bool json;
	bool verbose;
	const char *output_path;
	const char *report_path;
	enum { COLOR_AUTO = 0, COLOR_ALWAYS, COLOR_NEVER } color;
	uint64_t memcap;        /* --memcap: every cap below derives from it */
	bool max_flows_set;     /* --max-flows overrides the derived flow cap */
	bool nids_streams_set;  /* --nids-streams likewise */
	const char *drop_user;  /* -Z USER */
	unsigned damaged_files; /* of several -r files, those that ended in an error */
	unsigned workers;       /* --workers: 1 keeps everything in this process */
	bool workers_discard;   /* --workers-discard (bench): the reader's own ceiling */
	bool per_file;          /* --per-file: each -r file an independent job */
	struct pipeline_config pipeline;
};

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t stats_requested;
/* The live capture, for the signal handler's pcap_breakloop. */
static struct capture *live_capture;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
	if (live_capture)
		capture_break(live_capture);
}

static void on_stats_signal(int sig)
{
	(void)sig;
	stats_requested = 1;
}

static void usage(FILE *fp)
{
	fprintf(
	    fp,
	    "usage: portolan [-r FILE]... | -i IFACE [options] [BPF filter words]\n"
	    "  -r FILE            read a pcap or pcapng file ('-' is stdin); several are\n"
	    "                     merged in timestamp order\n"
	    "  -i IFACE           capture live on IFACE\n"
	    "  -D                 list the interfaces that can be captured on\n"
	    "  -p                 do not put the interface into promiscuous mode\n"
	    "  -s SNAPLEN         bytes captured per packet (default 262144)\n"
	    "  -B KIB             kernel capture buffer size in KiB\n"
	    "  -F FILE            read the BPF filter from FILE\n"
	    "  -c N               stop after N packets\n"
	    "  --json             write JSON Lines session records on stdout\n"
	    "  -o FILE            write JSON Lines session records to FILE\n"
	    "  -Z USER            after opening the capture and -o FILE, drop root for USER\n"
	    "  -v                 text: show each session's protocol fields too\n"
	    "  -d PORT=PROTO      decode PORT as PROTO (like Wireshark's decode-as)\n"
	    "  --show-credentials show passwords the wire carried (off by default)\n"
	    "  --memcap BYTES     memory budget (K/M/G suffixes; default 512M): the flow cap\n"
	    "                     (5/8 of it at 12 KiB a flow), libnids' table (1 stream per\n"
	    "                     32 KiB), out-of-order bytes (1/8; 1/512 a direction) and\n"
	    "                     IP fragments (1/32) derive from it\n"
	    "  --max-flows N      flows tracked at once (default: from --memcap, 27306)\n"
	    "  --tcp-timeout S    idle timeout of established TCP flows (default 300)\n"
	    "  --tcp-opening-timeout S  of TCP flows not established (default 30)\n"
	    "  --udp-timeout S    idle timeout of UDP flows (default 60)\n"
	    "  --close-delay S    wait after a TCP close before the record (default 5)\n"
	    "  --nids-streams N   libnids' table size (default: from --memcap, 16384)\n"
	    "  --no-libnids       reassemble every TCP flow with our own reassembler\n"
	    "  --explain          draw each session as a ladder of packets and explain it\n"
	    "  --explain-packets N  packets drawn per session (default 40)\n"
	    "  --explain-sessions N sessions drawn (default 20; the filter picks which)\n"
	    "  --color WHEN       auto (default: on a terminal, unless NO_COLOR is set),\n"
	    "                     always or never\n"
	    "  --report FILE.html one self-contained page: summary, charts, findings,\n"
	    "                     a TCP ladder beside a UDP exchange, the session table\n"
	    "  --workers N|auto   N worker processes (default 1; auto: one per CPU), each\n"
	    "                     owning the flows of a share of the address pairs; live\n"
	    "                     through an AF_PACKET fanout group, offline fed by the reader\n"
	    "  --per-file         with --workers: each -r file an independent job\n"
	    "  --port N|NAME      what a port is: its class, what runs there, cleartext or not\n"
	    "  --ports            the built-in port table\n"
	    "  --version          print the version\n"
	    "Signals: SIGINT/SIGTERM flush every open flow and exit; SIGUSR1 prints\n"
	    "the running statistics on stderr.\n");
}

enum long_only {
	OPT_JSON = 1000,
	OPT_VERSION,
	OPT_SHOW_CREDENTIALS,
	OPT_MAX_FLOWS,
	OPT_TCP_TIMEOUT,
	OPT_TCP_OPENING_TIMEOUT,
	OPT_UDP_TIMEOUT,
	OPT_CLOSE_DELAY,
	OPT_NO_LIBNIDS,
	OPT_PORT,
	OPT_PORTS,
	OPT_NIDS_STREAMS,
	OPT_EXPLAIN,
	OPT_EXPLAIN_PACKETS,
	OPT_EXPLAIN_SESSIONS,
	OPT_COLOR,
	OPT_REPORT,
	OPT_MEMCAP,
	OPT_WORKERS,
	OPT_WORKERS_DISCARD,
	OPT_PER_FILE,
};

static const struct option long_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, 'h'},
    {"show-credentials", no_argument, NULL, OPT_SHOW_CREDENTIALS},
    {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
    {"tcp-timeout", required_argument, NULL, OPT_TCP_TIMEOUT},
    {"tcp-opening-timeout", required_argument, NULL, OPT_TCP_OPENING_TIMEOUT},
    {"udp-timeout", required_argument, NULL, OPT_UDP_TIMEOUT},
    {"close-delay", required_argument, NULL, OPT_CLOSE_DELAY},
    {"no-libnids", no_argument, NULL, OPT_NO_LIBNIDS},
    {"port", required_argument, NULL, OPT_PORT},
    {"ports", no_argument, NULL, OPT_PORTS},
    {"nids-streams", required_argument, NULL, OPT_NIDS_STREAMS},
    {"explain", no_argument, NULL, OPT_EXPLAIN},
    {"explain-packets", required_argument, NULL, OPT_EXPLAIN_PACKETS},
    {"explain-sessions", required_argument, NULL, OPT_EXPLAIN_SESSIONS},
    {"color", required_argument, NULL, OPT_COLOR},
    {"colour", required_argument, NULL, OPT_COLOR},
    {"report", required_argument, NULL, OPT_REPORT},
    {"memcap", required_argument, NULL, OPT_MEMCAP},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"workers-discard", no_argument, NULL, OPT_WORKERS_DISCARD}, /* bench only */
    {"per-file", no_argument, NULL, OPT_PER_FILE},
    {NULL, 0, NULL, 0},
};

static int fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "portolan: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 2;
}

static bool parse_number(const char *s, unsigned long long min, unsigned long long max,
                         unsigned long long *out)
{
	char *end;
	errno = 0;
	if (!s || *s == '-' || *s == '\0')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_decode_as(struct options *o, const char *arg)
{
	char proto[32];
	unsigned long long port;
	const char *eq = strchr(arg, '=');
	struct dissect_config *dc = &o->pipeline.dissect;

	if (!eq || (size_t)(eq - arg) >= 8 || strlen(eq + 1) >= sizeof proto)
		return fail("-d wants PORT=PROTO, e.g. -d 8053=dns (got '%s')", arg);
	char num[8];
	memcpy(num, arg, (size_t)(eq - arg));
	num[eq - arg] = '\0';
	snprintf(proto, sizeof proto, "%s", eq + 1);
	if (!parse_number(num, 0, 65535, &port))
		return fail("-d: '%s' is not a port (0-65535)", num);
	const struct dissector *d = dissector_by_name(proto);
	if (!d)
		return fail("-d: no dissector called '%s'", proto);
	if (dc->n_decode_as == DECODE_AS_MAX)
		return fail("-d: at most %s decode-as rules", "32");
	dc->decode_as[dc->n_decode_as].port = (uint16_t)port;
	dc->decode_as[dc->n_decode_as++].dissector = d;
	return 0;
}

static int parse_seconds(const char *arg, const char *name, usec_t *out)
{
	unsigned long long v;
	if (!parse_number(arg, 0, 86400 * 365, &v))
		return fail("%s wants a number of seconds", name);
	*out = (usec_t)v * USEC_PER_SEC;
	return 0;
}

static int parse_color(struct options *o, const char *arg)
{
	if (!strcmp(arg, "auto"))
		o->color = COLOR_AUTO;
	else if (!strcmp(arg, "always"))
		o->color = COLOR_ALWAYS;
	else if (!strcmp(arg, "never"))
		o->color = COLOR_NEVER;
	else
		return fail("--color wants auto, always or never (got '%s')", arg);
	return 0;
}

/* Colours on a terminal unless NO_COLOR (https://no-color.org) is set;
 * --color=always|never overrides both. */
static bool use_color(const struct options *o)
{
	if (o->color != COLOR_AUTO)
		return o->color == COLOR_ALWAYS;
	const char *no = getenv("NO_COLOR");
	if (no && *no)
		return false;
	return isatty(STDOUT_FILENO);
}

static int parse_long_option(struct options *o, int c, const char *arg)
{
	unsigned long long v;
	struct flow_config *fc = &o->pipeline.flow;

	switch (c) {
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_SHOW_CREDENTIALS:
		o->pipeline.dissect.show_credentials = true;
		return 0;
	case OPT_MAX_FLOWS:
		if (!parse_number(arg, 1, 1ULL << 26, &v))
			return fail("--max-flows wants a number from 1 to 67108864 (got '%s')",
			            arg);
		fc->max_flows = (size_t)v;
		o->max_flows_set = true;
		return 0;
	case OPT_TCP_TIMEOUT:
		return parse_seconds(arg, "--tcp-timeout", &fc->tcp_established_timeout);
	case OPT_TCP_OPENING_TIMEOUT:
		return parse_seconds(arg, "--tcp-opening-timeout", &fc->tcp_opening_timeout);
	case OPT_UDP_TIMEOUT:
		return parse_seconds(arg, "--udp-timeout", &fc->udp_timeout);
	case OPT_CLOSE_DELAY:
		return parse_seconds(arg, "--close-delay", &fc->close_delay);
	case OPT_NO_LIBNIDS:
		o->pipeline.stream.use_libnids = false;
		return 0;
	case OPT_NIDS_STREAMS:
		if (!parse_number(arg, 16, 1 << 22, &v))
			return fail("--nids-streams wants a number from 16 to 4194304 (got '%s')",
			            arg);
		o->pipeline.stream.nids_streams = (int)v;
		o->nids_streams_set = true;
		return 0;
	case OPT_EXPLAIN:
		o->pipeline.explain.on = true;
		o->pipeline.explain.draw = true;
		return 0;
	case OPT_EXPLAIN_PACKETS:
		if (!parse_number(arg, 1, 100000, &v))
			return fail("--explain-packets wants a number from 1 to 100000 (got '%s')",
			            arg);
		o->pipeline.explain.max_packets = (unsigned)v;
		return 0;
	case OPT_EXPLAIN_SESSIONS:
		if (!parse_number(arg, 1, 100000, &v))
			return fail("--explain-sessions wants a number from 1 to 100000 (got '%s')",
			            arg);
		o->pipeline.explain.max_sessions = (unsigned)v;
		return 0;
	case OPT_COLOR:
		return parse_color(o, arg);
	case OPT_MEMCAP:
		if (!memcap_parse(arg, &o->memcap) || o->memcap < MEMCAP_MIN)
			return fail(
			    "--memcap wants a size of at least 16M, e.g. 512M or 2G (got '%s')",
			    arg);
		return 0;
	case OPT_WORKERS:
		if (!strcmp(arg, "auto"))
			o->workers = workers_auto();
		else if (!parse_number(arg, 1, WORKERS_MAX, &v))
			return fail("--workers wants a number from 1 to 64 or auto (got '%s')",
			            arg);
		else
			o->workers = (unsigned)v;
		return 0;
	case OPT_WORKERS_DISCARD:
		o->workers_discard = true;
		return 0;
	case OPT_PER_FILE:
		o->per_file = true;
		return 0;
	case OPT_REPORT:
		o->report_path = arg;
		o->pipeline.explain.on = true; /* the report's ladders */
		return 0;
	}
	return 2;
}

static int parse_short_option(struct options *o, int c, const char *arg)
{
	unsigned long long v;

	switch (c) {
	case 'r':
		if (o->n_files == MAX_FILES)
			return fail("at most %s files with -r", "64");
		o->files[o->n_files++] = optarg;
		return 0;
	case 'i':
		o->live.iface = arg;
		return 0;
	case 'D':
		o->list_interfaces = true;
		return 0;
	case 'p':
		o->live.promiscuous = false;
		return 0;
	case 's':
		if (!parse_number(arg, 0, 262144, &v))
			return fail("-s wants a snap length from 0 to 262144 (got '%s')", arg);
		o->live.snaplen = (int)v;
		return 0;
	case 'B':
		if (!parse_number(arg, 1, 1 << 21, &v))
			return fail("-B wants a buffer size in KiB (got '%s')", arg);
		o->live.buffer_kib = (int)v;
		return 0;
	case 'F':
		o->filter_file = arg;
		return 0;
	case 'c':
		if (!parse_number(arg, 1, ULLONG_MAX, &v))
			return fail("-c wants a positive packet count (got '%s')", arg);
		o->max_packets = v;
		return 0;
	case 'o':
		o->output_path = arg;
		return 0;
	case 'v':
		o->verbose = true;
		return 0;
	case 'Z':
		o->drop_user = arg;
		return 0;
	case 'd':
		return parse_decode_as(o, arg);
	}
	return 2;
}

/* The filter is the words after the options (tcpdump's way) or -F FILE. */
static int build_filter(struct options *o, int argc, char **argv)
{
	if (o->filter_file) {
		FILE *f = fopen(o->filter_file, "r");
		if (!f)
			return fail("%s: cannot read the filter file", o->filter_file);
		o->filter = calloc(1, 65536);
		size_t n = o->filter ? fread(o->filter, 1, 65535, f) : 0;
		fclose(f);
		if (!o->filter)
			return fail("%s", "out of memory");
		o->filter[n] = '\0';
		return 0;
	}
	size_t len = 0;
	for (int i = optind; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if (!len)
		return 0;
	o->filter = calloc(1, len + 1);
	if (!o->filter)
		return fail("%s", "out of memory");
	for (int i = optind; i < argc; i++) {
		strcat(o->filter, argv[i]);
		if (i + 1 < argc)
			strcat(o->filter, " ");
	}
	return 0;
}

/* Every cap derives from --memcap, except those set explicitly.  They are
 * for the whole run: with --workers N each worker gets an Nth. */
static void apply_memcap(struct options *o)
{
	size_t max_flows = o->pipeline.flow.max_flows;
	int nids_streams = o->pipeline.stream.nids_streams;
	unsigned n = o->workers > 1 ? o->workers : 1;
	memcap_apply(&o->pipeline, (o->memcap ? o->memcap : MEMCAP_DEFAULT) / n);
	if (o->max_flows_set)
		o->pipeline.flow.max_flows = max_flows / n ? max_flows / n : 1;
	if (o->nids_streams_set)
		o->pipeline.stream.nids_streams =
		    nids_streams / (int)n > 16 ? nids_streams / (int)n : 16;
}

/* What cannot work with several worker processes. */
static int check_workers(const struct options *o)
{
	if (o->workers <= 1 && o->per_file)
		return fail("%s", "--per-file needs --workers N (N > 1)");
	if (o->workers <= 1)
		return o->workers_discard
		           ? fail("%s", "--workers-discard needs --workers N (N > 1)")
		           : 0;
	if (o->per_file && (o->live.iface || o->workers_discard || o->max_packets))
		return fail("%s", "--per-file is for -r files, without -c or --workers-discard");
	if (o->report_path)
		return fail("%s",
		            "--report needs every session in one process: not with --workers");
	if (o->pipeline.explain.on)
		return fail("%s", "--explain draws in one process: not with --workers");
	if (o->live.iface && o->max_packets)
		return fail("%s", "-c counts packets in one process: not with -i and --workers");
	if (o->workers_discard && o->live.iface)
		return fail("%s", "--workers-discard is for reading files");
	return 0;
}

/* -Z USER: once the capture and the output are open, root is not needed:
 * the user's groups, then its group, then its user id; and root must not
 * come back. */
static int drop_privileges(const char *user, char *err, size_t errlen)
{
	if (geteuid() != 0) {
		snprintf(err, errlen, "-Z %s: only root can change to another user", user);
		return -1;
	}
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "-Z: no user called '%s'", user);
		return -1;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (initgroups(pw->pw_name, gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		snprintf(err, errlen, "-Z %s: cannot drop privileges: %s", user, strerror(errno));
		return -1;
	}
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "-Z %s: root could be regained after dropping it", user);
		return -1;
	}
	return 0;
}

static int parse_options(struct options *o, int argc, char **argv)
{
	int c;
	memset(o, 0, sizeof *o);
	o->live.promiscuous = true;
	pipeline_config_default(&o->pipeline);

	while ((c = getopt_long(argc, argv, "r:i:Dps:B:F:c:o:vd:Z:h", long_options, NULL)) != -1) {
		int rc;
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (c == OPT_PORT)
			exit(teach_port(stdout, stderr, optarg));
		if (c == OPT_PORTS) {
			teach_ports(stdout);
			exit(0);
		}
		if (c == OPT_VERSION) {
			printf("portolan %s\n", PORTOLAN_VERSION);
			exit(0);
		}
		if (c == '?') {
			usage(stderr);
			return 2;
		}
		rc = c >= OPT_JSON ? parse_long_option(o, c, optarg)
		                   : parse_short_option(o, c, optarg);
		if (rc)
			return rc;
	}
	if (!o->list_interfaces && !o->n_files && !o->live.iface) {
		usage(stderr);
		return 2;
	}
	if (o->n_files && o->live.iface)
		return fail("%s", "use either -r or -i, not both");
	int rc = check_workers(o);
	if (rc)
		return rc;
	apply_memcap(o);
	if (o->pipeline.explain.on && o->json && !o->output_path)
		return fail("%s", "--explain draws on stdout: write JSON records with -o FILE");
	o->pipeline.explain.color = use_color(o);
	if (o->report_path && !o->pipeline.explain.draw)
		o->pipeline.explain.max_sessions = 500; /* candidates for the report's ladders */
	return build_filter(o, argc, argv);
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_stats_signal;
	sigaction(SIGUSR1, &sa, NULL);
}

static usec_t wall_clock(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (usec_t)tv.tv_sec * USEC_PER_SEC + (usec_t)tv.tv_usec;
}

/* A progress line on stderr for long offline reads, when stderr is a
 * terminal: packets so far and an estimate of how much of the input was
 * read (record headers counted at pcap's 16 bytes). */
struct progress {
	bool on;
	uint64_t total_bytes, read_bytes;
	usec_t next_draw;
	bool drawn;
};

static void progress_init(struct progress *pg, const struct options *o, const struct capture *cap)
{
	memset(pg, 0, sizeof *pg);
	if (cap->live || !isatty(STDERR_FILENO))
		return;
	for (size_t i = 0; i < o->n_files; i++) {
		struct stat st;
		if (strcmp(o->files[i], "-") != 0 && stat(o->files[i], &st) == 0)
			pg->total_bytes += (uint64_t)st.st_size;
	}
	pg->on = pg->total_bytes > 0;
	pg->next_draw = wall_clock() + USEC_PER_SEC; /* short reads never show it */
}

static void progress_packet(struct progress *pg, const struct pipeline *pl, uint32_t caplen)
{
	if (!pg->on)
		return;
	pg->read_bytes += caplen + 16u;
	if ((pl->packets & 0xfff) != 0)
		return;
	usec_t now = wall_clock();
	if (now < pg->next_draw)
		return;
	pg->next_draw = now + USEC_PER_SEC / 4;
	double pct = 100.0 * (double)pg->read_bytes / (double)pg->total_bytes;
	fprintf(stderr, "\rportolan: %" PRIu64 " packets, ~%.0f%% read ", pl->packets,
	        pct > 100.0 ? 100.0 : pct);
	pg->drawn = true;
}

static void progress_done(struct progress *pg)
{
	if (pg->drawn)
		fputs("\r\033[K", stderr); /* erase the line: the summary follows */
}

/* Reads every packet into the pipeline.  Returns -1 when a read failed
 * (err filled), else 0. */
static int run(struct options *o, struct capture *cap, struct pipeline *pl, char *err,
               size_t errlen)
{
	struct capture_packet pkt;
	uint64_t n = 0;
	struct progress pg;
	progress_init(&pg, o, cap);

	while (!stop_requested && (!o->max_packets || n < o->max_packets)) {
		int rc = capture_next(cap, &pkt, err, errlen);
		if (rc < 0)
			progress_done(&pg);
		if (stats_requested) {
			stats_requested = 0;
			pipeline_print_summary(pl, stderr);
		}
		if (rc < 0 && (cap->live || o->n_files < 2))
			return -1;
		if (rc < 0) { /* one of several files is damaged: read the others on */
			fprintf(stderr, "portolan: warning: %s (the other files are read on)\n",
			        err);
			o->damaged_files++;
			continue;
		}
		if (rc == 0) {
			if (!cap->live)
				break;
			pipeline_tick(pl, wall_clock()); /* quiet link: time still passes */
			continue;
		}
		pipeline_packet(pl, pkt.linktype, pkt.ts, pkt.data, pkt.caplen, pkt.wirelen);
		progress_packet(&pg, pl, pkt.caplen);
		n++;
	}
	progress_done(&pg);
	return 0;
}

/* --report: the page, titled with what was read. */
static int write_report(const struct options *o, const struct pipeline *pl)
{
	char inputs[1024] = "", err[512];
	size_t used = 0;
	if (o->live.iface)
		snprintf(inputs, sizeof inputs, "live capture on %s", o->live.iface);
	for (size_t i = 0; i < o->n_files && used < sizeof inputs; i++) {
		int w = snprintf(inputs + used, sizeof inputs - used, "%s%s", i ? ", " : "",
		                 o->files[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	if (report_write(pl->report, pl, o->report_path, inputs, err, sizeof err) < 0) {
		fprintf(stderr, "portolan: %s\n", err);
		return -1;
	}
	return 0;
}

static void print_live_drops(struct capture *cap)
{
	uint64_t recv, drop, ifdrop;
	if (capture_drops(cap, &recv, &drop, &ifdrop))
		fprintf(stderr,
		        "portolan: %llu packets received by filter, %llu dropped by kernel, "
		        "%llu dropped by interface\n",
		        (unsigned long long)recv, (unsigned long long)drop,
		        (unsigned long long)ifdrop);
}

/* --workers N: the same run over N worker processes (workers.c). */
static int run_workers(const struct options *o)
{
	struct workers_config wc = {
	    .n = o->workers,
	    .discard = o->workers_discard,
	    .per_file = o->per_file,
	    .files = o->files,
	    .n_files = o->n_files,
	    .live = o->live.iface ? &o->live : NULL,
	    .filter = o->filter,
	    .max_packets = o->max_packets,
	    .output_path = o->output_path,
	    .json = o->json || o->output_path,
	    .verbose = o->verbose,
	    .color = o->pipeline.explain.color,
	    .drop_user = o->drop_user,
	    .drop_privileges = drop_privileges,
	    .pipeline = o->pipeline,
	};
	return workers_run(&wc);
}

int main(int argc, char **argv)
{
	struct options o;
	struct capture cap;
	struct output out;
	struct pipeline pl;
	char err[512] = "";

	int rc = parse_options(&o, argc, argv);
	if (rc)
		return rc;
	if (o.list_interfaces) {
		free(o.filter);
		if (capture_list_interfaces(stdout, err, sizeof err) < 0)
			return fail("%s", err);
		return 0;
	}
	if (o.workers > 1) {
		rc = run_workers(&o);
		free(o.filter);
		return rc;
	}
	if ((o.live.iface
	         ? capture_open_live(&cap, &o.live, o.filter, err, sizeof err)
	         : capture_open_files(&cap, o.files, o.n_files, o.filter, err, sizeof err)) < 0) {
		capture_close(&cap);
		free(o.filter);
		return fail("%s", err);
	}
	if (o.live.iface && geteuid() == 0 && !o.drop_user)
		fprintf(stderr, "portolan: warning: capturing as root (-Z USER drops it once "
		                "the capture is open)\n");
	bool json = o.json || o.output_path;
	if (output_open(&out, o.output_path, json ? OUTPUT_JSON : OUTPUT_TEXT, o.verbose, err,
	                sizeof err) < 0) {
		capture_close(&cap);
		free(o.filter);
		return fail("%s", err);
	}
	if (o.drop_user && drop_privileges(o.drop_user, err, sizeof err) < 0) {
		capture_close(&cap);
		output_close(&out);
		free(o.filter);
		return fail("%s", err);
	}
	if (pipeline_init(&pl, &o.pipeline, &out, err, sizeof err) < 0) {
		capture_close(&cap);
		output_close(&out);
		free(o.filter);
		return fail("%s", err);
	}
	out.color = !json && o.pipeline.explain.color;
	if (o.report_path && !(pl.report = report_new())) {
		pipeline_free(&pl);
		capture_close(&cap);
		output_close(&out);
		free(o.filter);
		return fail("%s", "out of memory");
	}
	if (json)
		pl.explain.fp = stdout; /* records go to -o FILE */
	if (cap.live)
		live_capture = &cap;
	install_signals();

	int status = 0;
	if (run(&o, &cap, &pl, err, sizeof err) < 0) {
		/* what was read before the damage is still reported; nothing
		 * read at all is a failure */
		if (pl.packets)
			fprintf(stderr,
			        "portolan: warning: %s (reporting the %" PRIu64
			        " packets read before it)\n",
			        err, pl.packets);
		else
			fprintf(stderr, "portolan: %s\n", err);
		status = pl.packets ? 0 : 1;
	}
	if (o.damaged_files && !pl.packets)
		status = 1; /* nothing could be read */
	pipeline_flush(&pl);
	explain_finish(&pl.explain);
	if (pl.report && write_report(&o, &pl) < 0)
		status = 1;
	if (json)
		output_json_record(&out, pipeline_emit_stats, &pl);
	fflush(out.fp); /* records first, then the summary */
	pipeline_print_summary(&pl, stderr);
	if (cap.live)
		print_live_drops(&cap);
	live_capture = NULL;
	pipeline_free(&pl);
	report_free(pl.report);
	output_close(&out);
	capture_close(&cap);
	free(o.filter);
	return status;
}
