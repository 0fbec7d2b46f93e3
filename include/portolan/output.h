/* Writers: the JSON Lines writer and the text writer over the same
 * records. */
#ifndef PORTOLAN_OUTPUT_H
#define PORTOLAN_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "portolan/flow.h"
#include "portolan/json.h"

enum output_format { OUTPUT_TEXT = 0, OUTPUT_JSON };

/* One JSON record is never larger than this; a larger one is written again
 * without its protocol object and with the alert "truncated". */
#define OUTPUT_MAX_RECORD (4u << 20)

struct output {
	FILE *fp;
	bool close_fp;
	enum output_format format;
	bool verbose; /* text: the protocol object as key: value lines */
	bool color;   /* text: ANSI colours (set by the caller after output_open) */
	struct json_writer jw;
	uint64_t records;
	/* --workers: called after each whole record, so a worker can pass it
	 * on to the one writer (portolan/workers.h); NULL otherwise */
	void (*record_done)(void *arg);
	void *record_done_arg;
};

/* path NULL or "-" means stdout.  Returns 0, or -1 with err filled. */
int output_open(struct output *o, const char *path, enum output_format fmt, bool verbose, char *err,
                size_t errlen);
void output_session(struct output *o, struct flow *f, const char *end_reason);
void output_close(struct output *o);

/* A cross-flow record ("type": "dhcp" ...; portolan/exchange.h), in the
 * output's format. */
struct exchange_record;
void output_exchange(struct output *o, const struct exchange_record *x);

/* Emits a record built by fn(e, arg) as one JSON line (stats records). */
void output_json_record(struct output *o, void (*fn)(struct emitter *e, const void *arg),
                        const void *arg);

#endif
