/* A small pcapng reader of our own.
 *
 * libpcap 1.10 refuses a pcapng whose interfaces differ in link type or snap
 * length; this reader takes any interface mix and reports each packet's own
 * link type.  It understands Section Header (either byte order, any number
 * of sections), Interface Description (if_tsresol, decimal or binary, and
 * if_tsoffset), Enhanced, Simple and the obsolete Packet blocks, and skips
 * every other block.  Block lengths are checked before anything is read:
 * not a multiple of 4, under 12 or over PCAPNG_MAX_BLOCK is an error, and a
 * captured length never reaches past its block.
 */
#ifndef PORTOLAN_PCAPNG_H
#define PORTOLAN_PCAPNG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "portolan/types.h"

/* The largest block accepted (Wireshark uses the same 16 MiB bound). */
#define PCAPNG_MAX_BLOCK (16u << 20)

struct pcapng_packet {
	usec_t ts_usec;      /* packet time with if_tsresol and if_tsoffset applied;
	                      * 0 for Simple Packet Blocks, which carry none */
	uint32_t caplen;     /* bytes at data */
	uint32_t wirelen;    /* bytes on the wire, never below caplen */
	int linktype;        /* the interface's LINKTYPE_ value */
	uint32_t interface;  /* index of the interface within its section */
	const uint8_t *data; /* valid until the next call on the reader */
};

struct pcapng_reader;

/* Reads the first Section Header Block of f.  NULL with a message in err
 * when f is not pcapng or cannot be read.  f stays the caller's: it is not
 * closed by pcapng_close. */
struct pcapng_reader *pcapng_open(FILE *f, char *err, size_t errlen);

/* The next packet: 1 with *out filled, 0 at the end of the file, -1 on an
 * error (message in err).  Packets before an error were good. */
int pcapng_next(struct pcapng_reader *r, struct pcapng_packet *out, char *err, size_t errlen);

void pcapng_close(struct pcapng_reader *r);

#endif
