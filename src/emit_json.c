/* The JSON emitter (see portolan/json.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/json.h"

#define JSON_INITIAL_CAP 1024

static bool reserve(struct json_writer *w, size_t more)
{
	if (w->overflow)
		return false;
	if (w->len + more + 1 <= w->cap)
		return true;
	if (w->len + more + 1 > w->max) {
		w->overflow = true;
		return false;
	}
	size_t cap = w->cap ? w->cap : JSON_INITIAL_CAP;
	while (cap < w->len + more + 1)
		cap *= 2;
	if (cap > w->max)
		cap = w->max;
	char *b = realloc(w->buf, cap);
	if (!b) {
		w->overflow = true;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

static void append(struct json_writer *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void appendf(struct json_writer *w, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		append(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void append_escaped(struct json_writer *w, const char *s, size_t n)
{
	/* worst case: 6 output bytes per input byte */
	size_t room = n * 6 + 1;
	if (w->len + room + 1 > w->max)
		room = w->max > w->len + 2 ? w->max - w->len - 2 : 0;
	if (!reserve(w, room))
		return;
	w->len += json_escape(s, n, w->buf + w->len, room + 1);
}

/* Writes the separator and the key (when inside an object). */
static void open_value(struct json_writer *w, const char *key)
{
	if (w->depth > 0 && w->need_comma[w->depth - 1])
		append(w, ",", 1);
	if (w->depth > 0)
		w->need_comma[w->depth - 1] = true;
	if (key) {
		append(w, "\"", 1);
		append_escaped(w, key, strlen(key));
		append(w, "\":", 2);
	}
}

static void push(struct json_writer *w, const char *key, char open)
{
	open_value(w, key);
	append(w, &open, 1);
	if (w->depth < JSON_MAX_DEPTH)
		w->need_comma[w->depth] = false;
	w->depth++;
}

static void pop(struct json_writer *w, char close)
{
	if (w->depth > 0)
		w->depth--;
	append(w, &close, 1);
}

static void j_begin_object(struct emitter *e, const char *key)
{
	push(e->ctx, key, '{');
}
static void j_end_object(struct emitter *e)
{
	pop(e->ctx, '}');
}
static void j_begin_array(struct emitter *e, const char *key)
{
	push(e->ctx, key, '[');
}
static void j_end_array(struct emitter *e)
{
	pop(e->ctx, ']');
}

static void j_string(struct emitter *e, const char *key, const char *s, size_t n)
{
	struct json_writer *w = e->ctx;
	open_value(w, key);
	append(w, "\"", 1);
	append_escaped(w, s, n);
	append(w, "\"", 1);
}

static void j_integer(struct emitter *e, const char *key, int64_t v)
{
	struct json_writer *w = e->ctx;
	open_value(w, key);
	appendf(w, "%lld", (long long)v);
}

static void j_number(struct emitter *e, const char *key, double v, int decimals)
{
	struct json_writer *w = e->ctx;
	open_value(w, key);
	if (!isfinite(v))
		append(w, "null", 4); /* JSON has no NaN or infinity */
	else
		appendf(w, "%.*f", decimals, v);
}

static void j_boolean(struct emitter *e, const char *key, bool v)
{
	struct json_writer *w = e->ctx;
	open_value(w, key);
	append(w, v ? "true" : "false", v ? 4 : 5);
}

static void j_null(struct emitter *e, const char *key)
{
	struct json_writer *w = e->ctx;
	open_value(w, key);
	append(w, "null", 4);
}

static const struct emitter_ops json_ops = {
    .begin_object = j_begin_object,
    .end_object = j_end_object,
    .begin_array = j_begin_array,
    .end_array = j_end_array,
    .string = j_string,
    .integer = j_integer,
    .number = j_number,
    .boolean = j_boolean,
    .null = j_null,
};

void json_writer_init(struct json_writer *w, size_t max_bytes)
{
	memset(w, 0, sizeof *w);
	w->e.ops = &json_ops;
	w->e.ctx = w;
	w->max = max_bytes < 64 ? 64 : max_bytes;
}

void json_writer_reset(struct json_writer *w)
{
	w->len = 0;
	w->depth = 0;
	w->overflow = false;
	if (w->buf)
		w->buf[0] = '\0';
}

void json_writer_free(struct json_writer *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

const char *json_writer_text(const struct json_writer *w)
{
	return w->buf ? w->buf : "";
}
