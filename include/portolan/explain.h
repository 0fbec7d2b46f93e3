/* `--explain`: a ladder diagram of each session's packets and a plain-English
 * account of what happened (the TCP handshake, data and acknowledgements,
 * retransmissions, the close; or UDP's bare datagrams and what the
 * application does instead).
 *
 * The pipeline logs the first packets of the first sessions (both capped)
 * while they happen, and draws a session when it ends, just before its
 * record.  Counters over the whole session (retransmissions, FINs, RSTs)
 * are kept past the packet cap, so the explanation is about all of it.
 */
#ifndef PORTOLAN_EXPLAIN_H
#define PORTOLAN_EXPLAIN_H

#include <stdbool.h>
#include <stdio.h>

#include "portolan/decode.h"
#include "portolan/flow.h"

struct explain_config {
	bool on;
	unsigned max_packets;  /* arrows drawn per session (default 40) */
	unsigned max_sessions; /* sessions drawn (default 20) */
	bool color;            /* ANSI colours */
	bool draw;             /* draw on the terminal (off: logs for --report only) */
};
void explain_config_default(struct explain_config *cfg);

struct explain_ctx {
	struct explain_config cfg;
	FILE *fp; /* where ladders are drawn (stdout) */
	unsigned sessions_logged;
	uint64_t sessions_not_drawn;
};

/* A packet of flow f sent by side dir (after flow_update). */
void explain_packet(struct explain_ctx *x, struct flow *f, enum direction dir,
                    const struct packet *p);

/* Draws f's ladder and explanation (protocol: the record's) and frees its
 * log.  Does nothing for a flow that was not logged. */
void explain_flow_end(struct explain_ctx *x, struct flow *f, const char *protocol);

/* Frees f's log without drawing it. */
void explain_release(struct flow *f);

/* For the HTML report, while f still has its log: how good an example f is
 * (0 none; higher is better: a full handshake, data both ways, a close),
 * its ladder as an SVG element and its explanation as plain text (one
 * "  * " bullet per line); both malloc'd, NULL when f has no log. */
int explain_quality(const struct flow *f);
char *explain_svg(const struct flow *f, const char *protocol);
char *explain_prose(const struct flow *f, const char *protocol);

/* The closing line after the run: how many sessions were not drawn. */
void explain_finish(const struct explain_ctx *x);

#endif
