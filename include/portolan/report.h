/* `--report FILE.html`: one self-contained page for teaching and for a
 * first look at a capture: the run summary, the protocol mix and port
 * classes as inline SVG charts, the insecure findings with their teaching
 * cards, a TCP ladder beside a UDP exchange, and the session table (sortable,
 * filterable).  No external fonts, scripts or images: it opens from a USB
 * stick.
 *
 * Sessions are gathered as they end (capped); the page is written once, at
 * the end of the run.
 */
#ifndef PORTOLAN_REPORT_H
#define PORTOLAN_REPORT_H

#include <stddef.h>

#include "portolan/flow.h"

struct pipeline;
struct report;

/* NULL when out of memory. */
struct report *report_new(void);
void report_free(struct report *r);

/* A session ended (called before its explain log is freed). */
void report_session(struct report *r, const struct flow *f, const char *protocol);

/* Writes the page.  inputs: what was read (file names or the interface).
 * Returns 0, or -1 with err filled. */
int report_write(const struct report *r, const struct pipeline *pl, const char *path,
                 const char *inputs, char *err, size_t errlen);

#endif
