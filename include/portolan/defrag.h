/* IPv4 and IPv6 fragment reassembly, on packet time, with caps.
 *
 * Fragments are held per (version, src, dst, id, protocol; IPv6 without the
 * protocol, see defrag.c) until the datagram is complete, the per-datagram or
 * global byte cap is hit, or the timeout on packet time expires.  Overlaps
 * are resolved first-copy-wins and counted.  A complete datagram is returned
 * as one IP packet: IPv4 with total length fixed, fragment fields cleared and
 * the header checksum recomputed; IPv6 with the fragment header removed and
 * the payload length fixed.
 */
#ifndef PORTOLAN_DEFRAG_H
#define PORTOLAN_DEFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "portolan/decode.h"
#include "portolan/types.h"

struct defrag_config {
	usec_t timeout;       /* packet time a datagram may take; default 30 s */
	size_t max_datagram;  /* bytes of one datagram; default 65535 + headers */
	size_t max_bytes;     /* memory held in total, bookkeeping included; 16 MiB */
	size_t max_datagrams; /* datagrams in progress; default 4096 */
	size_t max_fragments; /* fragments of one datagram, duplicates included; 1024 */
};

struct defrag_stats {
	uint64_t fragments;
	uint64_t reassembled;
	uint64_t timeouts;           /* datagrams dropped incomplete at timeout */
	uint64_t overlaps;           /* fragments that overlapped held data */
	uint64_t overlaps_differing; /* ... with different bytes (an evasion sign) */
	uint64_t dropped_cap;        /* datagrams dropped by a cap */
	uint64_t malformed;          /* fragments that cannot be right (bad offset/len) */
	uint64_t truncated;          /* fragments cut short by the capture: cannot be used */
};

struct defrag;

void defrag_config_default(struct defrag_config *cfg);
struct defrag *defrag_new(const struct defrag_config *cfg);
void defrag_free(struct defrag *d);

/* Adds the fragment described by p (status DECODE_FRAGMENT).  When it
 * completes a datagram, returns the rebuilt IP packet and sets *len; the
 * buffer stays valid until the next call on d.  Otherwise NULL.  Expires old
 * datagrams on p->ts first. */
const uint8_t *defrag_add(struct defrag *d, const struct packet *p, size_t *len);

/* Drops datagrams older than the timeout at time now. */
void defrag_expire(struct defrag *d, usec_t now);

const struct defrag_stats *defrag_stats(const struct defrag *d);
size_t defrag_bytes_held(const struct defrag *d);

#endif
