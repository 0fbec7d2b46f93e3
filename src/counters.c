#include <string.h>

#include "portolan/counters.h"

static struct counter *find(struct counters *c, const char *name)
{
	/* names are literals, so a pointer match is the common, cheap case */
	for (size_t i = 0; i < c->n; i++)
		if (c->items[i].name == name)
			return &c->items[i];
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->items[i].name, name) == 0)
			return &c->items[i];
	return NULL;
}

void counters_add(struct counters *c, const char *name, uint64_t n)
{
	struct counter *k = find(c, name);
	if (!k) {
		if (c->n == COUNTERS_MAX) {
			c->overflow += n;
			return;
		}
		k = &c->items[c->n++];
		k->name = name;
		k->value = 0;
	}
	k->value += n;
}

uint64_t counters_get(const struct counters *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->items[i].name, name) == 0)
			return c->items[i].value;
	return 0;
}
