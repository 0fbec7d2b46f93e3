/* --workers N: several worker processes, each with its own pipeline (and
 * its own libnids), owning the flows of a share of the address pairs
 * (portolan/shard.h).
 *
 * Live, the kernel spreads the packets: N capture sockets on the interface
 * in one AF_PACKET fanout group whose classic BPF program computes the
 * shard hash.  Offline, the reading process decodes each packet just
 * enough to hash it and hands it to its worker through a shared-memory
 * ring (back-pressure: nothing is dropped), with the packet clock, so the
 * workers expire flows at the same packet times as one process would.
 * Either way the workers pass whole records to the one writer, the
 * supervisor, through a pipe each, and their statistics at the end. */
#ifndef PORTOLAN_WORKERS_H
#define PORTOLAN_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portolan/capture.h"
#include "portolan/pipeline.h"

#define WORKERS_MAX 64

struct workers_config {
	unsigned n;    /* 2..WORKERS_MAX */
	bool discard;  /* bench: the workers throw the packets away */
	bool per_file; /* each -r file an independent job, one at a time per worker */
	char *const *files;
	size_t n_files;
	const struct live_options *live; /* NULL: read the files */
	const char *filter;
	uint64_t max_packets; /* offline -c */
	const char *output_path;
	bool json, verbose, color;
	const char *drop_user;
	int (*drop_privileges)(const char *user, char *err, size_t errlen);
	struct pipeline_config pipeline; /* one worker's: its share of the caps */
};

/* Runs the whole capture; returns the exit status. */
int workers_run(const struct workers_config *cfg);

/* The online CPUs (--workers auto), at least 1. */
unsigned workers_auto(void);

#endif
