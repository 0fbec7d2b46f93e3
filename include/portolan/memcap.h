/* One memory budget (--memcap) from which every cap is derived.
 *
 * The split of a budget M (README "Memory"):
 *   flows:        5/8 of M at MEMCAP_FLOW_COST (12 KiB) a flow -> flow.max_flows
 *   libnids:      n_tcp_streams = M / MEMCAP_NIDS_STREAM_COST (its table and
 *                 stream structures, allocated up front)
 *   reassembly:   1/8 of M held out of order by all flows -> stream.max_bytes_total;
 *                 M/512 per direction -> stream.reasm.max_buffered
 *   fragments:    1/32 of M -> defrag.max_bytes; M/128 KiB datagrams in progress
 *   dissectors:   1/16 of M of bytes they have not consumed yet (partial
 *                 messages, probe bytes) -> dissect.pending_total_cap, on top
 *                 of the 256 KiB a direction
 *   the rest (~1/8): libpcap's buffers, the allocator, the output.
 * At the default 512 MiB this gives 27306 flows, 16384 libnids streams,
 * 64 MiB of out-of-order bytes, 1 MiB a direction, 16 MiB of fragments and
 * 32 MiB of unconsumed bytes. */
#ifndef PORTOLAN_MEMCAP_H
#define PORTOLAN_MEMCAP_H

#include <stdbool.h>
#include <stdint.h>

#include "portolan/pipeline.h"

#define MEMCAP_DEFAULT (512ull << 20)
#define MEMCAP_MIN (16ull << 20)
#define MEMCAP_MAX (1ull << 40)
/* Measured: a TCP flow in mid-conversation costs ~8.5-11 KB of RSS (flow,
 * session, dissector state, the reassemblers' buffers: bench/README.md). */
#define MEMCAP_FLOW_COST 12288u
#define MEMCAP_NIDS_STREAM_COST 32768u

/* "512M", "2G", "65536", "100K" (powers of 1024).  False when not a size. */
bool memcap_parse(const char *s, uint64_t *bytes);

/* Sets every derived cap of cfg from memcap bytes. */
void memcap_apply(struct pipeline_config *cfg, uint64_t memcap);

#endif
