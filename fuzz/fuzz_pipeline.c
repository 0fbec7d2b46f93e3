/* libFuzzer harness: whole packets through the whole pipeline (decode,
 * defragmentation, the flow table, libnids and our reassembler, every
 * dissector, the JSON writer), with small tables so that caps and evictions
 * are reached.  libnids is re-initialised for every input (pipeline_init
 * does it), so a finding never depends on earlier inputs.
 *
 * Input: one byte choosing the link type (raw IPv4/IPv6 or Ethernet), then
 * records of [2-byte length][1-byte milliseconds since the last packet]
 * [frame].
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "portolan/output.h"
#include "portolan/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void small_caps(struct pipeline_config *cfg)
{
	pipeline_config_default(cfg);
	cfg->flow.max_flows = 64;
	cfg->stream.nids_streams = 16;
	cfg->stream.max_bytes_total = 1u << 20;
	cfg->defrag.max_bytes = 1u << 20;
	cfg->defrag.max_datagrams = 16;
	cfg->dissect.pending_cap = 64u * 1024;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int links[] = {LINK_RAW, LINK_ETHERNET, LINK_IPV6, LINK_LINUX_SLL};
	struct pipeline_config cfg;
	struct output out;
	struct pipeline pl;
	char err[256];

	if (size < 1)
		return 0;
	small_caps(&cfg);
	if (output_open(&out, "/dev/null", OUTPUT_JSON, false, err, sizeof err) < 0)
		return 0;
	if (pipeline_init(&pl, &cfg, &out, err, sizeof err) < 0) {
		output_close(&out);
		return 0;
	}
	int link = links[data[0] % (sizeof links / sizeof links[0])];
	struct reader r = rd_init(data + 1, size - 1);
	usec_t ts = 1700000000ull * USEC_PER_SEC;
	while (rd_remaining(&r) >= 3) {
		size_t n = rd_be16(&r);
		ts += (usec_t)rd_u8(&r) * 1000;
		if (n > rd_remaining(&r))
			n = rd_remaining(&r);
		const uint8_t *frame = rd_take(&r, n);
		pipeline_packet(&pl, link, ts, frame, (uint32_t)n, (uint32_t)n);
	}
	pipeline_flush(&pl);
	pipeline_free(&pl);
	output_close(&out);
	return 0;
}
