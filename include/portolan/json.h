/* The JSON emitter: renders emitter calls as one compact JSON object.
 *
 * Wire strings are escaped here and only here: quotes and backslashes,
 * control characters as \u00XX, valid UTF-8 passed through, and each byte of
 * invalid UTF-8 written as the visible text \xNN (as Zeek does), so every
 * line parses whatever the wire carried.  The buffer has a hard cap; past it
 * strings are cut and the record is marked overflowed, never grown.
 */
#ifndef PORTOLAN_JSON_H
#define PORTOLAN_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "portolan/emitter.h"

#define JSON_MAX_DEPTH 32

struct json_writer {
	struct emitter e;
	char *buf;
	size_t len, cap, max;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	bool overflow;
};

/* max_bytes caps one record (the writer never allocates more). */
void json_writer_init(struct json_writer *w, size_t max_bytes);
void json_writer_reset(struct json_writer *w);
void json_writer_free(struct json_writer *w);
/* The rendered text, NUL-terminated. */
const char *json_writer_text(const struct json_writer *w);

/* Appends s (n bytes) as the body of a JSON string (no quotes) to out, which
 * has room for cap bytes; returns the bytes written.  At most cap-1 bytes
 * are written and an escape is never split. */
size_t json_escape(const char *s, size_t n, char *out, size_t cap);

/* Escapes wire bytes s for a terminal: printable ASCII and valid UTF-8 as
 * they are, a backslash doubled, everything else (controls, ESC, DEL,
 * invalid UTF-8) as \xNN.  Same contract as json_escape. */
size_t text_escape(const char *s, size_t n, char *out, size_t cap);

/* The last pass over a line already built from escaped pieces (a
 * dissector's summary): like text_escape but leaves backslashes alone, so
 * the pieces' escapes are not doubled, while a control that slipped in is
 * still made visible. */
size_t text_sanitize(const char *s, size_t n, char *out, size_t cap);

#endif
