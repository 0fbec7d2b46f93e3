/* The run's table of cross-flow records (portolan/exchange.h).
 *
 * A plain array in creation order: exchanges are few (one per DHCP client
 * transaction in flight), lookups compare a short key, and the order makes
 * every write deterministic (expire and flush walk it front to back;
 * eviction takes the front).
 */
#include <stdlib.h>
#include <string.h>

#include "portolan/exchange.h"

struct exchange {
	const struct exchange_ops *ops;
	uint8_t key[EXCHANGE_KEY_MAX];
	size_t key_len;
	usec_t first, last;
	usec_t ended; /* when the dissector said it was over; 0: open */
	bool done;
	void *state;
};

struct exchange_table {
	struct exchange *items;
	size_t n, cap;
	struct counters *counters;
	exchange_write_fn write;
	void *ctx;
};

struct exchange_table *exchange_table_new(size_t cap, struct counters *counters,
                                          exchange_write_fn write, void *ctx)
{
	struct exchange_table *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->cap = cap ? cap : 1;
	t->counters = counters;
	t->write = write;
	t->ctx = ctx;
	return t;
}

static void count(struct exchange_table *t, const char *name)
{
	if (t->counters)
		counters_add(t->counters, name, 1);
}

/* Writes item i, frees it and closes the gap (order is kept). */
static void finish(struct exchange_table *t, size_t i, const char *reason)
{
	struct exchange *x = &t->items[i];
	struct exchange_record rec = {x->ops, x->state, x->first, x->last, reason};

	if (t->write)
		t->write(t->ctx, &rec);
	if (x->ops->release)
		x->ops->release(x->state);
	free(x->state);
	memmove(x, x + 1, (t->n - i - 1) * sizeof *x);
	t->n--;
}

static struct exchange *find(struct exchange_table *t, const struct exchange_ops *ops,
                             const void *key, size_t key_len)
{
	for (size_t i = 0; i < t->n; i++) {
		struct exchange *x = &t->items[i];
		if (x->ops == ops && x->key_len == key_len && memcmp(x->key, key, key_len) == 0)
			return x;
	}
	return NULL;
}

void *exchange_table_get(struct exchange_table *t, const struct exchange_ops *ops, const void *key,
                         size_t key_len, usec_t now)
{
	if (key_len > EXCHANGE_KEY_MAX)
		key_len = EXCHANGE_KEY_MAX;
	struct exchange *x = find(t, ops, key, key_len);
	if (x) {
		if (now > x->last)
			x->last = now;
		x->done = false; /* a message after the end: over only if it ends it again */
		return x->state;
	}
	if (t->n == t->cap) {
		finish(t, 0, "evicted");
		count(t, "exchange.evicted");
	}
	if (!t->items) {
		t->items = calloc(t->cap, sizeof *t->items);
		if (!t->items) {
			count(t, "exchange.out_of_memory");
			return NULL;
		}
	}
	void *state = calloc(1, ops->state_size ? ops->state_size : 1);
	if (!state) {
		count(t, "exchange.out_of_memory");
		return NULL;
	}
	x = &t->items[t->n++];
	memset(x, 0, sizeof *x);
	x->ops = ops;
	memcpy(x->key, key, key_len);
	x->key_len = key_len;
	x->first = x->last = now;
	x->state = state;
	count(t, "exchange.created");
	return state;
}

bool exchange_table_end(struct exchange_table *t, const struct exchange_ops *ops, const void *key,
                        size_t key_len, usec_t now)
{
	if (key_len > EXCHANGE_KEY_MAX)
		key_len = EXCHANGE_KEY_MAX;
	struct exchange *x = find(t, ops, key, key_len);
	if (!x)
		return false;
	x->done = true;
	x->ended = now;
	return true;
}

void exchange_table_expire(struct exchange_table *t, usec_t now)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n;) {
		const struct exchange *x = &t->items[i];
		if (x->done && now >= x->ended + x->ops->linger)
			finish(t, i, "complete");
		else if (now >= x->last + x->ops->idle_timeout)
			finish(t, i, "idle");
		else
			i++;
	}
}

void exchange_table_flush(struct exchange_table *t)
{
	while (t && t->n)
		finish(t, 0, t->items[0].done ? "complete" : "end-of-input");
}

void exchange_table_free(struct exchange_table *t)
{
	if (!t)
		return;
	exchange_table_flush(t);
	free(t->items);
	free(t);
}

size_t exchange_table_count(const struct exchange_table *t)
{
	return t ? t->n : 0;
}

void exchange_record_emit(struct emitter *e, const struct exchange_record *x)
{
	emit_object_begin(e, NULL);
	emit_str(e, "type", x->ops->type);
	emit_number(e, "ts_start", (double)x->first / 1e6, 6);
	emit_number(e, "ts_end", (double)x->last / 1e6, 6);
	emit_number(e, "duration", (double)(x->last - x->first) / 1e6, 6);
	emit_str(e, "end_reason", x->end_reason);
	if (x->ops->emit)
		x->ops->emit(x->state, e);
	emit_object_end(e);
}
