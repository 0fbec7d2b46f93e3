/* The JSON Lines and text writers (portolan/output.h). */
#include <errno.h>
#include <string.h>

#include "portolan/exchange.h"
#include "portolan/icmp.h"
#include "portolan/output.h"
#include "portolan/record.h"

int output_open(struct output *o, const char *path, enum output_format fmt, bool verbose, char *err,
                size_t errlen)
{
	memset(o, 0, sizeof *o);
	o->format = fmt;
	o->verbose = verbose;
	json_writer_init(&o->jw, OUTPUT_MAX_RECORD);
	if (!path || strcmp(path, "-") == 0) {
		o->fp = stdout;
		return 0;
	}
	o->fp = fopen(path, "w");
	if (!o->fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	o->close_fp = true;
	return 0;
}

/* ---- the text detail view: the protocol object as path: value lines ---- */

struct text_detail {
	FILE *fp;
	char path[256];
	size_t path_len[16];
	int depth;
	int index[16]; /* element counters inside arrays, -1 inside objects */
};

static void td_push(struct text_detail *t, const char *key)
{
	size_t len = strlen(t->path);
	if (t->depth >= 15)
		return;
	t->path_len[t->depth] = len;
	if (key)
		snprintf(t->path + len, sizeof t->path - len, "%s%s", len ? "." : "", key);
	else if (t->depth > 0 && t->index[t->depth - 1] >= 0)
		snprintf(t->path + len, sizeof t->path - len, "[%d]", t->index[t->depth - 1]++);
	t->depth++;
}

static void td_pop(struct text_detail *t)
{
	if (t->depth > 0)
		t->path[t->path_len[--t->depth]] = '\0';
}

static void td_line(struct text_detail *t, const char *key, const char *value)
{
	td_push(t, key);
	fprintf(t->fp, "    %s: %s\n", t->path, value);
	td_pop(t);
}

static void td_begin_object(struct emitter *e, const char *key)
{
	struct text_detail *t = e->ctx;
	td_push(t, key);
	t->index[t->depth - 1] = -1;
}
static void td_begin_array(struct emitter *e, const char *key)
{
	struct text_detail *t = e->ctx;
	td_push(t, key);
	t->index[t->depth - 1] = 0;
}
static void td_end(struct emitter *e)
{
	td_pop(e->ctx);
}

static void td_string(struct emitter *e, const char *key, const char *s, size_t n)
{
	char safe[1024];
	text_escape(s, n, safe, sizeof safe);
	td_line(e->ctx, key, safe);
}
static void td_integer(struct emitter *e, const char *key, int64_t v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", (long long)v);
	td_line(e->ctx, key, buf);
}
static void td_number(struct emitter *e, const char *key, double v, int decimals)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%.*f", decimals, v);
	td_line(e->ctx, key, buf);
}
static void td_boolean(struct emitter *e, const char *key, bool v)
{
	td_line(e->ctx, key, v ? "true" : "false");
}
static void td_null(struct emitter *e, const char *key)
{
	td_line(e->ctx, key, "-");
}

static const struct emitter_ops text_detail_ops = {
    .begin_object = td_begin_object,
    .end_object = td_end,
    .begin_array = td_begin_array,
    .end_array = td_end,
    .string = td_string,
    .integer = td_integer,
    .number = td_number,
    .boolean = td_boolean,
    .null = td_null,
};

static void write_text(struct output *o, const struct flow *f)
{
	record_text_line(o->fp, f, o->color);
	if (!o->verbose)
		return;
	struct text_detail t = {.fp = o->fp};
	struct emitter e = {&text_detail_ops, &t};
	if (f->dissector && f->dissector->emit) {
		emit_object_begin(&e, f->dissector->name);
		f->dissector->emit(f->dstate, &e);
		emit_object_end(&e);
	}
	icmp_emit(&e, f); /* an ICMP session's object, a flow's icmp_errors */
}

static void write_json(struct output *o, struct flow *f, const char *end_reason)
{
	json_writer_reset(&o->jw);
	record_emit(&o->jw.e, f, end_reason, true);
	if (o->jw.overflow) {
		/* too big: the common keys only, and say so */
		f->alerts |= 1u << ALERT_TRUNCATED;
		json_writer_reset(&o->jw);
		record_emit(&o->jw.e, f, end_reason, false);
	}
	fputs(json_writer_text(&o->jw), o->fp);
	fputc('\n', o->fp);
}

void output_session(struct output *o, struct flow *f, const char *end_reason)
{
	record_finish_alerts(f);
	if (o->format == OUTPUT_JSON)
		write_json(o, f, end_reason);
	else
		write_text(o, f);
	o->records++;
	if (o->record_done)
		o->record_done(o->record_done_arg);
}

/* A cross-flow record (portolan/exchange.h): JSON, or one text line such as
 * "DHCP exchange 0x3903f326 00:0b:82:01:fc:42 DISCOVER OFFER REQUEST ACK ->
 * 192.168.0.10" (the record's own keys as detail lines with -v). */
void output_exchange(struct output *o, const struct exchange_record *x)
{
	if (o->format == OUTPUT_JSON) {
		json_writer_reset(&o->jw);
		exchange_record_emit(&o->jw.e, x);
		if (o->jw.overflow) { /* too big: the common keys only, and say so */
			struct exchange_ops bare = *x->ops;
			struct exchange_record r = *x;
			bare.emit = NULL;
			r.ops = &bare;
			json_writer_reset(&o->jw);
			exchange_record_emit(&o->jw.e, &r);
		}
		fputs(json_writer_text(&o->jw), o->fp);
		fputc('\n', o->fp);
	} else {
		char line[512] = "", safe[1024];
		if (x->ops->summarize)
			x->ops->summarize(x->state, line, sizeof line);
		else
			snprintf(line, sizeof line, "%s exchange", x->ops->type);
		text_sanitize(line, strnlen(line, sizeof line), safe, sizeof safe);
		fprintf(o->fp, "%s\n", safe);
		if (o->verbose && x->ops->emit) {
			struct text_detail t = {.fp = o->fp};
			struct emitter e = {&text_detail_ops, &t};
			emit_object_begin(&e, x->ops->type);
			x->ops->emit(x->state, &e);
			emit_object_end(&e);
		}
	}
	o->records++;
	if (o->record_done)
		o->record_done(o->record_done_arg);
}

void output_json_record(struct output *o, void (*fn)(struct emitter *e, const void *arg),
                        const void *arg)
{
	json_writer_reset(&o->jw);
	fn(&o->jw.e, arg);
	fputs(json_writer_text(&o->jw), o->fp);
	fputc('\n', o->fp);
}

void output_close(struct output *o)
{
	if (o->fp)
		fflush(o->fp);
	if (o->close_fp && o->fp)
		fclose(o->fp);
	o->fp = NULL;
	json_writer_free(&o->jw);
}
