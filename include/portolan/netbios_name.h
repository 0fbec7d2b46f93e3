/* NetBIOS names (RFC 1001 14, RFC 1002 4.1): the 16-byte name (15
 * characters, space padded, and a suffix byte that says which service the
 * name stands for), carried on the wire in "first-level encoding" (each
 * nibble as a letter 'A'..'P', so one 32-byte label) followed by the scope's
 * labels.  Shared by the name, datagram and session services. */
#ifndef PORTOLAN_NETBIOS_NAME_H
#define PORTOLAN_NETBIOS_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portolan/reader.h"

#define NB_ENCODED_LEN 32
#define NB_NAME_LEN 15
/* A name that is not first-level encoding is kept raw, cut to this. */
#define NB_RAW_MAX 64
/* The scope (labels after the name, joined by '.'), cut to this. */
#define NB_SCOPE_MAX 64
/* RFC 1035's limit on a name's wire length, which NetBIOS names share. */
#define NB_WIRE_MAX 255

struct nb_name {
	bool encoded;   /* the first label was 32 letters 'A'..'P' */
	bool scope_cut; /* the scope was longer than NB_SCOPE_MAX */
	uint8_t suffix; /* the 16th byte (encoded names only) */
	uint8_t len;    /* bytes in text: trailing spaces and NULs trimmed */
	uint8_t scope_len;
	char text[NB_RAW_MAX];    /* the 15-character name, or the raw label */
	char scope[NB_SCOPE_MAX]; /* raw, may be empty */
};

enum nb_read_result {
	NB_OK = 0,
	NB_ERR_SHORT = -1,    /* the bytes end inside the name */
	NB_ERR_LABEL = -2,    /* a compression pointer or reserved label type */
	NB_ERR_TOO_LONG = -3, /* more than NB_WIRE_MAX bytes on the wire */
};

/* Decodes a 32-byte first-level-encoded label into out (scope left
 * empty); false (out untouched) when it is not one. */
bool nb_decode_label(const uint8_t *label, size_t n, struct nb_name *out);

/* Fills out from a name as text, labels joined by '.' (what dns_read_name
 * gives): the first label decoded when it is first-level encoding, the rest
 * the scope; otherwise the whole text kept raw (cut). */
void nb_name_from_text(const char *text, size_t n, struct nb_name *out);

/* Reads an uncompressed encoded name (datagram and session services: a
 * sequence of labels ending with a zero byte) and moves r past it.  On an
 * error r is failed. */
int nb_read_name(struct reader *r, struct nb_name *out);

/* "<20>" into buf (at least 5 bytes); returns buf. */
const char *nb_suffix_text(uint8_t suffix, char *buf, size_t n);

/* What the suffix says the name stands for (Microsoft's registry of
 * suffixes, as Wireshark names them), or NULL when unknown.  The same
 * suffix means something else for a group name (<00> unique: workstation,
 * group: domain or workgroup name). */
const char *nb_suffix_meaning(uint8_t suffix, bool group);

/* "NAME<20>" (raw name bytes, so the caller's emitter escapes them) into
 * buf; returns the length written (cut to n - 1, NUL kept after). */
size_t nb_name_label(const struct nb_name *name, char *buf, size_t n);

#endif
