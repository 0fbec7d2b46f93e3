#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "portolan/json.h"
#include "portolan/summary.h"

struct summary summary_start(char *buf, size_t n)
{
	struct summary s = {buf, n, 0};
	if (n)
		buf[0] = '\0';
	return s;
}

static size_t room(const struct summary *s)
{
	return s->len + 1 < s->cap ? s->cap - s->len : 0;
}

void summary_add(struct summary *s, const char *text)
{
	summary_addf(s, "%s", text);
}

void summary_add_wire(struct summary *s, const char *bytes, size_t n)
{
	if (room(s))
		s->len += text_escape(bytes, n, s->buf + s->len, room(s));
}

void summary_addf(struct summary *s, const char *fmt, ...)
{
	size_t r = room(s);
	if (!r)
		return;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(s->buf + s->len, r, fmt, ap);
	va_end(ap);
	if (w > 0)
		s->len += (size_t)w < r ? (size_t)w : r - 1;
}
