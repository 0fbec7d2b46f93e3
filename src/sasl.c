#include <strings.h>

#include "portolan/sasl.h"

static bool name_is(struct reader name, const char *want)
{
	size_t n = rd_remaining(&name);
	const uint8_t *p = rd_take(&name, n);
	return p && n == strlen(want) && strncasecmp((const char *)p, want, n) == 0;
}

enum sasl_mech sasl_mech_of(struct reader name)
{
	if (name_is(name, "PLAIN"))
		return MECH_PLAIN;
	if (name_is(name, "LOGIN"))
		return MECH_LOGIN;
	if (name_is(name, "XOAUTH2"))
		return MECH_XOAUTH2;
	if (name_is(name, "OAUTHBEARER"))
		return MECH_OAUTHBEARER;
	return MECH_OTHER;
}

/* The bytes up to c (or to the end), the reader left on c. */
static struct reader until(struct reader *r, uint8_t c)
{
	long at = rd_find(r, c);
	return rd_sub(r, at < 0 ? rd_remaining(r) : (size_t)at);
}

/* PLAIN: [authzid] NUL authcid NUL passwd; the user is the authcid, else
 * the authzid. */
static void read_plain(struct reader r, struct sasl_fields *f)
{
	long a = rd_find(&r, 0);
	if (a < 0) {
		f->bad = true;
		return;
	}
	struct reader authzid = rd_sub(&r, (size_t)a);
	rd_skip(&r, 1);
	long b = rd_find(&r, 0);
	if (b < 0) {
		f->bad = true;
		return;
	}
	struct reader authcid = rd_sub(&r, (size_t)b);
	rd_skip(&r, 1);
	if (rd_remaining(&authcid) || rd_remaining(&authzid)) {
		f->has_user = true;
		f->user = rd_remaining(&authcid) ? authcid : authzid;
	}
	f->has_password = true;
	f->password = rd_rest(&r);
}

struct sasl_fields sasl_read(enum sasl_mech mech, unsigned step, const uint8_t *d, size_t n)
{
	struct sasl_fields f = {0};
	struct reader r = rd_init(d, n);

	switch (mech) {
	case MECH_PLAIN:
		if (step != 0)
			f.bad = true;
		else
			read_plain(r, &f);
		break;
	case MECH_LOGIN: /* the user, then the password */
		if (step == 0) {
			f.has_user = true;
			f.user = r;
		} else if (step == 1) {
			f.has_password = true;
			f.password = r;
		}
		break;
	case MECH_XOAUTH2: /* "user=" user ^A "auth=Bearer " token ^A ^A */
		if (step == 0 && n > 5 && rd_starts_with(&r, "user=", 5)) {
			rd_skip(&r, 5);
			f.has_user = true;
			f.user = until(&r, 1);
		}
		break;
	case MECH_OAUTHBEARER: /* gs2 header "n,a=user," then ^A fields */
		if (step != 0 || rd_find(&r, ',') < 0)
			break;
		until(&r, ',');
		rd_skip(&r, 1);
		if (rd_remaining(&r) > 2 && rd_starts_with(&r, "a=", 2)) {
			rd_skip(&r, 2);
			f.has_user = true;
			f.user = until(&r, ',');
		}
		break;
	default:
		break;
	}
	return f;
}
