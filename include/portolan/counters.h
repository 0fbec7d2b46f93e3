/* Named run-wide counters ("dns.too_many_transactions", "decode.ip_truncated"):
 * every cap and every oddity increments one, and the end-of-run summary
 * lists them all. */
#ifndef PORTOLAN_COUNTERS_H
#define PORTOLAN_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#define COUNTERS_MAX 256

struct counter {
	const char *name; /* a string literal: kept by pointer */
	uint64_t value;
};

struct counters {
	struct counter items[COUNTERS_MAX];
	size_t n;
	uint64_t overflow; /* increments of names beyond COUNTERS_MAX */
};

void counters_add(struct counters *c, const char *name, uint64_t n);
uint64_t counters_get(const struct counters *c, const char *name);

#endif
