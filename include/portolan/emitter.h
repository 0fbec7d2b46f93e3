/* The emitter: how a session record is written without printing.
 *
 * Dissectors and the record builder describe a record as a tree of keyed
 * values; the JSON Lines writer and the text writer each implement these
 * calls, so both outputs always carry the same facts.  Inside an array the
 * key is NULL.  Strings are raw wire bytes with a length: escaping is the
 * writer's job, so no dissector has to get it right.
 */
#ifndef PORTOLAN_EMITTER_H
#define PORTOLAN_EMITTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct emitter;

struct emitter_ops {
	void (*begin_object)(struct emitter *e, const char *key);
	void (*end_object)(struct emitter *e);
	void (*begin_array)(struct emitter *e, const char *key);
	void (*end_array)(struct emitter *e);
	void (*string)(struct emitter *e, const char *key, const char *s, size_t n);
	void (*integer)(struct emitter *e, const char *key, int64_t v);
	/* decimals: digits after the point (fixed notation) */
	void (*number)(struct emitter *e, const char *key, double v, int decimals);
	void (*boolean)(struct emitter *e, const char *key, bool v);
	void (*null)(struct emitter *e, const char *key);
};

struct emitter {
	const struct emitter_ops *ops;
	void *ctx;
};

static inline void emit_object_begin(struct emitter *e, const char *key)
{
	e->ops->begin_object(e, key);
}
static inline void emit_object_end(struct emitter *e)
{
	e->ops->end_object(e);
}
static inline void emit_array_begin(struct emitter *e, const char *key)
{
	e->ops->begin_array(e, key);
}
static inline void emit_array_end(struct emitter *e)
{
	e->ops->end_array(e);
}
static inline void emit_strn(struct emitter *e, const char *key, const char *s, size_t n)
{
	e->ops->string(e, key, s, n);
}
/* A NUL-terminated string, or null when s is NULL. */
static inline void emit_str(struct emitter *e, const char *key, const char *s)
{
	if (s)
		e->ops->string(e, key, s, strlen(s));
	else
		e->ops->null(e, key);
}
static inline void emit_int(struct emitter *e, const char *key, int64_t v)
{
	e->ops->integer(e, key, v);
}
static inline void emit_number(struct emitter *e, const char *key, double v, int decimals)
{
	e->ops->number(e, key, v, decimals);
}
static inline void emit_bool(struct emitter *e, const char *key, bool v)
{
	e->ops->boolean(e, key, v);
}
static inline void emit_null(struct emitter *e, const char *key)
{
	e->ops->null(e, key);
}

#endif
