/* The session record: a finished flow rendered through an emitter, with
 * the common keys of ../shared/SESSION-SCHEMA.md and the dissector's own
 * object under its name. */
#ifndef PORTOLAN_RECORD_H
#define PORTOLAN_RECORD_H

#include <stdbool.h>
#include <stdio.h>

#include "portolan/emitter.h"
#include "portolan/flow.h"

#define UID_LEN 24

/* A Zeek-style uid ("C" + base62), unique within one run. */
void record_uid(const struct flow *f, char *out, size_t n);

/* Adds the alerts that only the whole flow can tell (non-standard port,
 * gap, truncated), before the record is written. */
void record_finish_alerts(struct flow *f);

/* Writes the whole record as one object (key NULL); the dissector's object
 * only when with_protocol_object. */
void record_emit(struct emitter *e, const struct flow *f, const char *end_reason,
                 bool with_protocol_object);

/* The one-line text form:
 *   UDP 10.0.0.5:51000 (registered) -> 10.0.0.53:53 (well-known) dns SF 0.021s A ...
 * followed by the alerts (" !gap"); with ANSI colours when color is set.
 */
void record_text_line(FILE *fp, const struct flow *f, bool color);

#endif
