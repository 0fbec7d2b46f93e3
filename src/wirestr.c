#include <stdlib.h>
#include <string.h>

#include "portolan/wirestr.h"

void wire_str_free(struct wire_str *s)
{
	free(s->p);
	s->p = NULL;
	s->len = 0;
}

enum wire_str_result wire_str_set(struct wire_str *s, const void *data, size_t n, size_t cap)
{
	enum wire_str_result r = WIRE_STR_OK;

	if (!data) /* a failed reader's bytes: keep an empty string */
		n = 0;
	if (cap > UINT16_MAX)
		cap = UINT16_MAX;
	if (n > cap) {
		n = cap;
		r = WIRE_STR_CUT;
	}
	char *q = malloc(n ? n : 1);
	if (!q)
		return WIRE_STR_NO_MEMORY;
	if (n)
		memcpy(q, data, n);
	wire_str_free(s);
	s->p = q;
	s->len = (uint16_t)n;
	return r;
}
