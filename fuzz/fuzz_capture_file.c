/* libFuzzer harness: the input is a whole capture file (pcap or pcapng,
 * read by libpcap or, where it refuses, by our pcapng reader) run through
 * the pipeline with small tables.  The file lives in a memfd, so nothing
 * touches the disk. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "portolan/capture.h"
#include "portolan/output.h"
#include "portolan/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(char *path)
{
	struct pipeline_config cfg;
	struct capture cap;
	struct output out;
	struct pipeline pl;
	struct capture_packet pkt;
	char err[512];

	pipeline_config_default(&cfg);
	cfg.flow.max_flows = 64;
	cfg.stream.nids_streams = 16;
	if (capture_open_files(&cap, &path, 1, NULL, err, sizeof err) < 0) {
		capture_close(&cap);
		return;
	}
	if (output_open(&out, "/dev/null", OUTPUT_JSON, false, err, sizeof err) < 0) {
		capture_close(&cap);
		return;
	}
	if (pipeline_init(&pl, &cfg, &out, err, sizeof err) == 0) {
		for (int i = 0; i < 100000 && capture_next(&cap, &pkt, err, sizeof err) > 0; i++)
			pipeline_packet(&pl, pkt.linktype, pkt.ts, pkt.data, pkt.caplen,
			                pkt.wirelen);
		pipeline_flush(&pl);
		pipeline_free(&pl);
	}
	output_close(&out);
	capture_close(&cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("capture", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size && lseek(fd, 0, SEEK_SET) == 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		run(path);
	}
	close(fd);
	return 0;
}
