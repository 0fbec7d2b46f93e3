/* Building a dissector's one-line text summary: appends that never overrun
 * the caller's buffer and make wire bytes visible (text_escape), so a NUL
 * or an escape sequence from the wire cannot cut or colour the line. */
#ifndef PORTOLAN_SUMMARY_H
#define PORTOLAN_SUMMARY_H

#include <stddef.h>

struct summary {
	char *buf;
	size_t cap, len;
};

/* Starts an empty summary in buf (n bytes, may be 0). */
struct summary summary_start(char *buf, size_t n);
/* Appends text of our own (a literal, a name from a table). */
void summary_add(struct summary *s, const char *text);
/* Appends wire bytes, escaped. */
void summary_add_wire(struct summary *s, const char *bytes, size_t n);
/* Appends formatted text of our own. */
void summary_addf(struct summary *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
