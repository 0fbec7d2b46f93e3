/* Packet sources: capture files (pcap and pcapng, several merged in
 * timestamp order) and live interfaces, behind one "next packet" call. */
#ifndef PORTOLAN_CAPTURE_H
#define PORTOLAN_CAPTURE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "portolan/types.h"

struct capture_packet {
	usec_t ts;
	uint32_t caplen, wirelen;
	int linktype;
	const uint8_t *data;
};

struct live_options {
	const char *iface;
	bool promiscuous; /* default on; -p turns it off */
	int snaplen;      /* default 262144 */
	int buffer_kib;   /* kernel buffer, 0 = libpcap's default */
};

struct capture_source;

struct capture {
	struct capture_source *src;
	size_t n;
	struct capture_source *last; /* the source of the packet last returned */
	bool live;
	uint64_t warnings;
};

/* Opens every file ("-" is stdin) with the BPF filter (may be NULL).
 * Returns 0, or -1 with a one-line reason naming the file in err. */
int capture_open_files(struct capture *c, char *const *files, size_t n, const char *filter,
                       char *err, size_t errlen);
int capture_open_live(struct capture *c, const struct live_options *o, const char *filter,
                      char *err, size_t errlen);

/* The next packet in timestamp order across the files, or from the live
 * interface.  Returns 1 with *out set, 0 at the end (or a live timeout),
 * -1 on a read error (err says which file and why; packets read before it
 * were returned). */
int capture_next(struct capture *c, struct capture_packet *out, char *err, size_t errlen);

/* Live only: interrupts a blocking read (from a signal handler). */
void capture_break(struct capture *c);
/* Live only: kernel drop counters; false when unavailable. */
bool capture_drops(struct capture *c, uint64_t *received, uint64_t *dropped, uint64_t *if_dropped);

/* Live only (--workers): the capture socket, to join a fanout group; and
 * throwing away what was queued on it before it joined.  -1 / no-op when
 * not live. */
int capture_live_fd(struct capture *c);
void capture_live_discard(struct capture *c);

void capture_close(struct capture *c);

/* Prints the interfaces libpcap can capture on (-D). Returns 0 or -1. */
int capture_list_interfaces(FILE *fp, char *err, size_t errlen);

#endif
