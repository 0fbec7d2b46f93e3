/* The SASL credential reader shared by POP3 AUTH and IMAP AUTHENTICATE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "portolan/sasl.h"

static void assert_span(struct reader r, const char *want)
{
	size_t n = rd_remaining(&r);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(rd_take(&r, n), want, n);
}

static struct sasl_fields read_str(enum sasl_mech m, unsigned step, const char *d, size_t n)
{
	return sasl_read(m, step, (const uint8_t *)d, n);
}

static void test_mechanism_names(void **state)
{
	(void)state;
	assert_int_equal(sasl_mech_of(rd_init("plain", 5)), MECH_PLAIN);
	assert_int_equal(sasl_mech_of(rd_init("LOGIN", 5)), MECH_LOGIN);
	assert_int_equal(sasl_mech_of(rd_init("XOAUTH2", 7)), MECH_XOAUTH2);
	assert_int_equal(sasl_mech_of(rd_init("OAUTHBEARER", 11)), MECH_OAUTHBEARER);
	assert_int_equal(sasl_mech_of(rd_init("CRAM-MD5", 8)), MECH_OTHER);
	assert_int_equal(sasl_mech_of(rd_init("PLAI", 4)), MECH_OTHER);
}

static void test_plain(void **state)
{
	(void)state;
	/* RFC 4616's example: no authzid */
	struct sasl_fields f = read_str(MECH_PLAIN, 0, "\0tim\0tanstaaftanstaaf", 21);
	assert_false(f.bad);
	assert_true(f.has_user);
	assert_span(f.user, "tim");
	assert_span(f.password, "tanstaaftanstaaf");
	/* only an authzid: it is the user */
	f = read_str(MECH_PLAIN, 0, "Ursel\0\0pw", 9);
	assert_span(f.user, "Ursel");
	/* neither: no user */
	f = read_str(MECH_PLAIN, 0, "\0\0pw", 4);
	assert_false(f.has_user);
	/* one NUL, none, or a second response: not PLAIN */
	assert_true(read_str(MECH_PLAIN, 0, "user\0pw", 7).bad);
	assert_true(read_str(MECH_PLAIN, 0, "user", 4).bad);
	assert_true(read_str(MECH_PLAIN, 1, "\0u\0p", 4).bad);
}

static void test_login(void **state)
{
	(void)state;
	struct sasl_fields f = read_str(MECH_LOGIN, 0, "bob", 3);
	assert_true(f.has_user);
	assert_false(f.has_password);
	assert_span(f.user, "bob");
	f = read_str(MECH_LOGIN, 1, "secret", 6);
	assert_false(f.has_user);
	assert_span(f.password, "secret");
	f = read_str(MECH_LOGIN, 2, "more", 4);
	assert_false(f.has_user || f.has_password || f.bad);
}

static void test_oauth(void **state)
{
	(void)state;
	const char x[] = "user=someuser@example.com\1auth=Bearer token\1\1";
	struct sasl_fields f = read_str(MECH_XOAUTH2, 0, x, sizeof x - 1);
	assert_span(f.user, "someuser@example.com");
	assert_false(f.has_password);
	assert_false(read_str(MECH_XOAUTH2, 0, "user=", 5).has_user); /* nothing after */
	assert_false(read_str(MECH_XOAUTH2, 0, "token", 5).has_user);
	const char o[] = "n,a=user@example.com,\1host=server.example.com\1\1";
	f = read_str(MECH_OAUTHBEARER, 0, o, sizeof o - 1);
	assert_span(f.user, "user@example.com");
	assert_false(read_str(MECH_OAUTHBEARER, 0, "n,,\1auth=x", 10).has_user);
	assert_false(read_str(MECH_OAUTHBEARER, 0, "n,a=", 4).has_user);
	assert_false(read_str(MECH_OAUTHBEARER, 0, "no comma", 8).has_user);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mechanism_names),
	    cmocka_unit_test(test_plain),
	    cmocka_unit_test(test_login),
	    cmocka_unit_test(test_oauth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
