/* A string from the wire kept in a dissector's state: raw bytes with a
 * length (it may hold NULs; the emitter escapes it), owned, capped.  A NULL
 * p means absent. */
#ifndef PORTOLAN_WIRESTR_H
#define PORTOLAN_WIRESTR_H

#include <stddef.h>
#include <stdint.h>

struct wire_str {
	char *p;
	uint16_t len;
};

enum wire_str_result {
	WIRE_STR_OK = 0,
	WIRE_STR_CUT,      /* longer than cap: kept cut (count it) */
	WIRE_STR_NO_MEMORY /* nothing changed (count it) */
};

/* Replaces s with n bytes of data, cut to cap (at most 65535). */
enum wire_str_result wire_str_set(struct wire_str *s, const void *data, size_t n, size_t cap);
void wire_str_free(struct wire_str *s);

#endif
