/* TCP reassembly: libnids first, our own reassembler behind it.
 *
 * Every TCP flow gets a sequence tracker per direction (struct reasm_dir).
 * IPv4 flows whose handshake we saw are handed to libnids (the SYN is held
 * until its SYN-ACK, so libnids never keeps half-open streams); libnids'
 * in-order output is played into our tracker, which passes it on to the
 * dissector and drops its own copies of those bytes.  Whatever libnids did
 * not deliver after a segment (held out of order, or silently dropped) is
 * kept by our tracker within its caps.  On a stall - data held beyond a
 * hole for too many segments or too long, a BIGQUEUE warning, urgent data,
 * a snaplen-cut segment, libnids dropping the stream - we free the libnids
 * stream, report the gap, deliver what we kept, and own the flow from then
 * on.  Everything libnids cannot carry (IPv6, mid-stream, one direction,
 * beyond its table) is ours from the first byte.  The dissector cannot tell
 * which path ran.
 */
#ifndef PORTOLAN_STREAM_H
#define PORTOLAN_STREAM_H

#include <pcap/pcap.h>
#include <stdbool.h>

#include "portolan/counters.h"
#include "portolan/decode.h"
#include "portolan/dissect.h"
#include "portolan/flow.h"
#include "portolan/reasm.h"

struct stream_config {
	bool use_libnids; /* false: our reassembler only (tests, --no-libnids) */
	int nids_streams; /* libnids' n_tcp_streams; default 16384 */
	struct reasm_config reasm;
	size_t max_bytes_total;  /* bytes held out of order by all flows: 64 MiB */
	unsigned stall_segments; /* held segments beyond a hole before we skip it: 8 */
	usec_t stall_time;       /* packet time data may wait beyond a hole: 2 s */
};

struct stream_ctx {
	struct stream_config cfg;
	struct dissect_ctx *dissect;
	struct counters *counters;
	struct flow_table *flows; /* to find a flow from libnids' callbacks */
	struct reasm_budget budget;
	bool nids_ready;
	pcap_t *nids_dead;
	int nids_in_use;       /* streams we handed to libnids and not yet freed */
	struct flow *current;  /* the flow whose packet libnids is processing */
	bool current_bigqueue; /* libnids warned of a big queue on it */
	usec_t now;
};

void stream_config_default(struct stream_config *cfg);

/* Sets up our side and (when configured) the one libnids instance of the
 * process.  Returns 0 or -1 (err says why). */
int stream_init(struct stream_ctx *c, const struct stream_config *cfg, struct dissect_ctx *dissect,
                struct counters *counters, struct flow_table *flows, char *err, size_t errlen);
void stream_shutdown(struct stream_ctx *c);

/* A TCP packet of flow f sent by side dir, after the flow table saw it. */
void stream_packet(struct stream_ctx *c, struct flow *f, enum direction dir,
                   const struct packet *p);

/* The flow ends: libnids lets go of it, held data is delivered after a gap
 * notice, and the state is freed. */
void stream_flow_end(struct stream_ctx *c, struct flow *f);

/* Which path carried the flow's bytes, for the record ("libnids", "own"). */
const char *stream_path(const struct flow *f);

#endif
