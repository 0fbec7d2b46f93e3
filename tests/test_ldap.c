/* LDAP and CLDAP (dissectors/ldap.c): messages built with a small BER
 * builder, fed the way the core feeds a stream (unconsumed bytes kept and
 * handed back with the next ones) or as datagrams, and the record read back
 * as JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portolan/dissector.h"
#include "portolan/json.h"
#include "portolan/session.h"
#include "portolan/session_internal.h"

extern const struct dissector ldap_dissector;

/* ---- a tiny BER builder over an arena ---- */

struct bytes {
	const uint8_t *p;
	size_t n;
};

static uint8_t arena[4 << 20];
static size_t arena_used;

static uint8_t *arena_get(size_t n)
{
	assert_true(arena_used + n <= sizeof arena);
	uint8_t *p = arena + arena_used;
	arena_used += n;
	return p;
}

/* A TLV with identifier byte tag. */
static struct bytes T(uint8_t tag, struct bytes v) {
	uint8_t *p = arena_get(v.n + 6);
	size_t h = 0;
	p[h++] = tag;
	if (v.n < 0x80) {
		p[h++] = (uint8_t)v.n;
	} else if (v.n < 0x100) {
		p[h++] = 0x81;
		p[h++] = (uint8_t)v.n;
	} else if (v.n < 0x10000) {
		p[h++] = 0x82;
		p[h++] = (uint8_t)(v.n >> 8);
		p[h++] = (uint8_t)v.n;
	} else {
		p[h++] = 0x83;
		p[h++] = (uint8_t)(v.n >> 16);
		p[h++] = (uint8_t)(v.n >> 8);
		p[h++] = (uint8_t)v.n;
	}
	if (v.n)
		memcpy(p + h, v.p, v.n);
	return (struct bytes){p, h + v.n};
}

static struct bytes
S(const char *s) {
	size_t n = strlen(s);
	uint8_t *p = arena_get(n + 1);
	memcpy(p, s, n);
	return (struct bytes){p, n};
}

static struct bytes
E(void) {
	return (struct bytes){arena, 0};
}

/* Integer content octets (two's complement, minimal). */
static struct bytes
I(int64_t v) {
	uint8_t tmp[9];
	size_t n = 0;
	for (int i = 7; i >= 0; i--)
		tmp[n++] = (uint8_t)((uint64_t)v >> (i * 8));
	size_t at = 0;
	while (at < 7 && ((tmp[at] == 0 && !(tmp[at + 1] & 0x80)) ||
	                  (tmp[at] == 0xff && (tmp[at + 1] & 0x80))))
		at++;
	uint8_t *p = arena_get(8 - at);
	memcpy(p, tmp + at, 8 - at);
	return (struct bytes){p, 8 - at};
}

static struct bytes
cat(int count, ...)
{
	va_list ap;
	size_t n = 0;
	va_start(ap, count);
	for (int i = 0; i < count; i++)
		n += va_arg(ap, struct bytes).n;
	va_end(ap);
	uint8_t *p = arena_get(n + 1);
	size_t at = 0;
	va_start(ap, count);
	for (int i = 0; i < count; i++) {
		struct bytes b = va_arg(ap, struct bytes);
		if (b.n)
			memcpy(p + at, b.p, b.n);
		at += b.n;
	}
	va_end(ap);
	return (struct bytes){p, n};
}

#define OCTETS(s) T(0x04, S(s))
#define INT(v) T(0x02, I(v))
#define ENUM(v) T(0x0a, I(v))
#define SEQ(...) T(0x30, cat(__VA_ARGS__))

static struct bytes msg(int64_t id, struct bytes op)
{
	return SEQ(2, INT(id), op);
}

static struct bytes simple_bind(int64_t id, const char *dn, const char *pw)
{
	return msg(id, T(0x60, cat(3, INT(3), OCTETS(dn), T(0x80, S(pw)))));
}

static struct bytes sasl_bind(int64_t id, const char *mech, struct bytes creds)
{
	struct bytes sasl =
	    creds.n ? T(0xa3, cat(2, OCTETS(mech), T(0x04, creds))) : T(0xa3, OCTETS(mech));
	return msg(id, T(0x60, cat(3, INT(3), OCTETS(""), sasl)));
}

static struct bytes result(uint8_t app, int64_t id, int code, const char *diag)
{
	return msg(id, T(app, cat(3, ENUM(code), OCTETS(""), OCTETS(diag))));
}

static struct bytes search(int64_t id, const char *base, int scope, struct bytes filter,
                           struct bytes attrs)
{
	return msg(id, T(0x63, cat(8, OCTETS(base), ENUM(scope), ENUM(0), INT(0), INT(0),
	                           T(0x01, I(0)), filter, T(0x30, attrs))));
}

static struct bytes eq(const char *a, const char *v)
{
	return T(0xa3, cat(2, OCTETS(a), OCTETS(v)));
}

static struct bytes entry(int64_t id, const char *dn)
{
	return msg(id, T(0x64, cat(2, OCTETS(dn), T(0x30, E()))));
}

/* ---- a stream the way src/dissect.c drives it ---- */

struct tflow {
	struct session *s;
	void *state;
	uint8_t *pending[2];
	size_t len[2];
};

static struct tflow *flow_open_as(bool tcp, bool show)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 89}};
	struct tflow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->s = session_detached_new(tcp, &client, 40000, &server, 389);
	f->s->show_credentials = show;
	f->state = calloc(1, ldap_dissector.state_size);
	assert_non_null(f->s);
	assert_non_null(f->state);
	return f;
}

static struct tflow *flow_open(void)
{
	return flow_open_as(true, false);
}

static void flow_close(struct tflow *f)
{
	ldap_dissector.release(f->state);
	free(f->state);
	free(f->pending[0]);
	free(f->pending[1]);
	session_detached_free(f->s);
	free(f);
}

static void feed(struct tflow *f, enum direction dir, const void *data, size_t n)
{
	uint8_t *p = realloc(f->pending[dir], f->len[dir] + n + 1);
	assert_non_null(p);
	if (n)
		memcpy(p + f->len[dir], data, n);
	f->pending[dir] = p;
	f->len[dir] += n;
	while (f->len[dir]) {
		size_t used = ldap_dissector.on_data(f->s, f->state, dir,
		                                     rd_init(f->pending[dir], f->len[dir]));
		assert_true(used <= f->len[dir]);
		if (used == 0)
			break;
		memmove(f->pending[dir], f->pending[dir] + used, f->len[dir] - used);
		f->len[dir] -= used;
		if (session_handoff_target(f->s))
			break;
	}
}

static void feedb(struct tflow *f, enum direction dir, struct bytes b)
{
	feed(f, dir, b.p, b.n);
}

static void datagram(struct tflow *f, enum direction dir, struct bytes b)
{
	ldap_dissector.on_data(f->s, f->state, dir, rd_init(b.p, b.n));
}

static void gap(struct tflow *f, enum direction dir, size_t missing)
{
	f->len[dir] = 0;
	ldap_dissector.on_gap(f->s, f->state, dir, missing);
}

static char *render(const struct tflow *f)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	ldap_dissector.emit(f->state, &jw.e);
	emit_object_end(&jw.e);
	assert_false(jw.overflow);
	char *text = strdup(json_writer_text(&jw));
	json_writer_free(&jw);
	assert_non_null(text);
	char sum[256];
	ldap_dissector.summarize(f->state, sum, sizeof sum);
	return text;
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("\"%s\" not in %s", needle, haystack);
}

static void assert_lacks(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle))
		fail_msg("\"%s\" unexpectedly in %s", needle, haystack);
}

static int setup(void **unused)
{
	(void)unused;
	arena_used = 0;
	return 0;
}

/* ---- the probe ---- */

static enum verdict probe(struct bytes b)
{
	return ldap_dissector.probe(rd_init(b.p, b.n), DIR_CLIENT);
}

static enum verdict probe_raw(const void *p, size_t n)
{
	return ldap_dissector.probe(rd_init(p, n), DIR_CLIENT);
}

static void test_probe(void **unused)
{
	(void)unused;
	struct bytes b = simple_bind(1, "cn=admin,dc=example,dc=com", "secret");
	assert_int_equal(probe(b), VERDICT_YES);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(probe_raw(b.p, i), VERDICT_NEED_MORE);
	/* a long search request whose start alone is here */
	struct bytes big = search(7, "dc=x", 2, T(0x87, S("objectClass")), cat(1, OCTETS("cn")));
	assert_int_equal(probe_raw(big.p, 10), VERDICT_YES);
	assert_int_equal(probe(msg(3, T(0x42, E()))), VERDICT_YES); /* unbind */
	/* SNMPv2c get: SEQUENCE { INTEGER 1, OCTET STRING, [0] PDU } */
	static const uint8_t snmp[] = {0x30, 0x0b, 0x02, 0x01, 0x01, 0x04, 0x06, 'p',
	                               'u',  'b',  'l',  'i',  'c',  0xa0, 0x00};
	assert_int_equal(probe_raw(snmp, sizeof snmp), VERDICT_NO);
	static const uint8_t krb[] = {0x6a, 0x10, 0x30, 0x0e, 0xa1, 0x03, 0x02, 0x01, 0x05};
	assert_int_equal(probe_raw(krb, sizeof krb), VERDICT_NO);
	assert_int_equal(probe_raw("GET / HTTP/1.1\r\n", 16), VERDICT_NO);
	assert_int_equal(probe_raw("\x16\x03\x01\x00\x05", 5), VERDICT_NO);
	assert_int_equal(probe_raw("220 smtp ready\r\n", 16), VERDICT_NO);
	assert_int_equal(probe_raw("", 0), VERDICT_NEED_MORE);
	/* the element does not hold what it says */
	static const uint8_t lie[] = {0x30, 0x05, 0x02, 0x01, 0x01, 0x60, 0x20};
	assert_int_equal(probe_raw(lie, sizeof lie), VERDICT_NO);
	/* a universal tag where the operation should be */
	static const uint8_t notop[] = {0x30, 0x05, 0x02, 0x01, 0x01, 0x04, 0x00};
	assert_int_equal(probe_raw(notop, sizeof notop), VERDICT_NO);
}

/* ---- binds ---- */

static void test_simple_bind(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feedb(f, DIR_CLIENT, simple_bind(1, "cn=admin,dc=example,dc=com", "s3cret"));
	feedb(f, DIR_SERVER, result(0x61, 1, 0, ""));
	char *t = render(f);
	assert_contains(t, "{\"id\":1,\"op\":\"bindRequest\",\"dn\":\"cn=admin,dc=example,dc=com\","
	                   "\"result\":\"success\",\"version\":3,\"method\":\"simple\","
	                   "\"anonymous\":false}");
	assert_contains(t, "\"messages\":{\"client\":1,\"server\":1}");
	assert_contains(t, "\"starttls\":false");
	assert_lacks(t, "s3cret");
	assert_lacks(t, "password");
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	char sum[200];
	ldap_dissector.summarize(f->state, sum, sizeof sum);
	assert_string_equal(sum, "bindRequest cn=admin,dc=example,dc=com -> success");
	assert_string_equal(ldap_dissector.protocol_name(f->state), "ldap");
	free(t);
	flow_close(f);
}

static void test_show_credentials(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open_as(true, true);
	feedb(f, DIR_CLIENT, simple_bind(1, "uid=bob", "s3cret"));
	feedb(f, DIR_SERVER, result(0x61, 1, 49, "80090308: LdapErr"));
	char *t = render(f);
	assert_contains(t, "\"password\":\"s3cret\"");
	assert_contains(t,
	                "\"result\":\"invalidCredentials\",\"diagnostic\":\"80090308: LdapErr\"");
	free(t);
	flow_close(f);
}

static void test_anonymous_bind(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feedb(f, DIR_CLIENT, simple_bind(1, "", ""));
	feedb(f, DIR_CLIENT, simple_bind(2, "cn=someone", ""));    /* unauthenticated */
	feedb(f, DIR_CLIENT, simple_bind(3, "", "password-only")); /* invalid, not a login */
	char *t = render(f);
	assert_contains(t, "\"id\":1,\"op\":\"bindRequest\",\"dn\":\"\",\"result\":null");
	assert_contains(t, "\"anonymous\":true");
	assert_lacks(t, "\"anonymous\":false");
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	free(t);
	flow_close(f);
}

/* An NTLMSSP AUTHENTICATE message with domain D and user u (Unicode). */
static struct bytes ntlm_auth(void)
{
	uint8_t *p = arena_get(64 + 8);
	memset(p, 0, 72);
	memcpy(p, "NTLMSSP", 8);
	p[8] = 3;
	/* domain at 28: len 2, max 2, offset 64 */
	p[28] = 2;
	p[30] = 2;
	p[32] = 64;
	/* user at 36: len 4, offset 66 */
	p[36] = 4;
	p[38] = 4;
	p[40] = 66;
	p[60] = 1; /* NEGOTIATE_UNICODE */
	p[64] = 'D';
	p[66] = 'u';
	p[68] = '1';
	return (struct bytes){p, 70};
}

static void test_sasl_bind_and_wrapped(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feedb(f, DIR_CLIENT, sasl_bind(1, "GSS-SPNEGO", S("\x60\x10token")));
	feedb(f, DIR_SERVER, result(0x61, 1, 14, ""));
	feedb(f, DIR_CLIENT, sasl_bind(2, "GSS-SPNEGO", ntlm_auth()));
	feedb(f, DIR_SERVER, result(0x61, 2, 0, ""));
	/* wrapped: 4-byte length, GSS token; split across feeds */
	static const uint8_t w[] = {0, 0, 0, 6, 0x05, 0x04, 1, 2, 3, 4};
	feed(f, DIR_CLIENT, w, 3);
	feed(f, DIR_CLIENT, w + 3, sizeof w - 3);
	feed(f, DIR_SERVER, w, sizeof w);
	feed(f, DIR_SERVER, w, sizeof w);
	char *t = render(f);
	assert_contains(t, "\"result\":\"saslBindInProgress\"");
	assert_contains(t, "\"method\":\"sasl\",\"mechanism\":\"GSS-SPNEGO\",\"user\":\"D\\\\u1\"");
	assert_contains(t, "\"sasl_mechanism\":\"GSS-SPNEGO\"");
	assert_contains(t, "\"sasl_wrapped\":true,\"sasl_wrapped_messages\":3");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	free(t);
	flow_close(f);
}

/* A 4-byte length in front of a token in front of a message. */
static struct bytes wrapped(struct bytes token_head, struct bytes m, struct bytes tail)
{
	struct bytes body = cat(3, token_head, m, tail);
	uint8_t *p = arena_get(4);
	p[0] = (uint8_t)(body.n >> 24);
	p[1] = (uint8_t)(body.n >> 16);
	p[2] = (uint8_t)(body.n >> 8);
	p[3] = (uint8_t)body.n;
	return cat(2, (struct bytes){p, 4}, body);
}

static struct bytes raw(const void *p, size_t n)
{
	uint8_t *q = arena_get(n);
	memcpy(q, p, n);
	return (struct bytes){q, n};
}

/* Integrity only: the messages inside are read. */
static void test_sasl_integrity_only(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feedb(f, DIR_CLIENT, sasl_bind(1, "GSS-SPNEGO", S("\x60\x10token")));
	feedb(f, DIR_SERVER, result(0x61, 1, 0, ""));
	/* RFC 4121 wrap token, not sealed, EC 12 and RRC 12: checksum first */
	static const uint8_t krb_rrc[] = {5, 4, 4, 0xff, 0, 12, 0, 12, 0, 0, 0, 0,  0,  0,
	                                  0, 1, 1, 2,    3, 4,  5, 6,  7, 8, 9, 10, 11, 12};
	feedb(f, DIR_CLIENT,
	      wrapped(raw(krb_rrc, sizeof krb_rrc),
	              msg(2, T(0x66, cat(2, OCTETS("cn=pc,dc=x"), SEQ(0)))), E()));
	/* RRC 0: checksum last */
	static const uint8_t krb_plain[] = {5, 4, 5, 0xff, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	feedb(f, DIR_SERVER,
	      wrapped(raw(krb_plain, sizeof krb_plain), result(0x67, 2, 0, ""), S("ck12")));
	/* NTLM signature in front */
	static const uint8_t ntlm[] = {1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0};
	feedb(f, DIR_CLIENT, wrapped(raw(ntlm, sizeof ntlm), msg(3, T(0x42, E())), E()));
	/* sealed, and rotations we do not undo: counted only */
	static const uint8_t sealed[] = {5, 4, 6, 0xff, 0, 0, 0, 28, 0, 0, 0, 0, 0, 0, 0, 2};
	feedb(f, DIR_SERVER, wrapped(raw(sealed, sizeof sealed), result(0x61, 9, 0, ""), E()));
	static const uint8_t odd[] = {5, 4, 4, 0xff, 0, 2, 0, 5, 0, 0, 0, 0, 0, 0, 0, 2};
	feedb(f, DIR_SERVER, wrapped(raw(odd, sizeof odd), result(0x61, 10, 0, ""), E()));
	static const uint8_t junk[] = {5, 4, 4, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x30, 9};
	feedb(f, DIR_SERVER, wrapped(raw(junk, sizeof junk), E(), E()));
	char *t = render(f);
	assert_contains(t, "{\"id\":2,\"op\":\"modifyRequest\",\"dn\":\"cn=pc,dc=x\",\"result\":"
	                   "\"success\"}");
	assert_contains(t, "{\"id\":3,\"op\":\"unbindRequest\"}");
	assert_lacks(t, "\"id\":9");
	assert_lacks(t, "\"id\":10");
	assert_contains(t, "\"sasl_wrapped_messages\":6");
	assert_contains(t, "\"sasl_integrity_only\":3");
	assert_int_equal(session_counter_value(f->s, "ldap.sasl_rotation_unsupported"), 1);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(t);
	flow_close(f);
}

/* Without a SASL bind a length prefix is not LDAP. */
static void test_wrapped_without_sasl(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	static const uint8_t w[] = {0, 0, 0, 6, 0x05, 0x04, 1, 2, 3, 4};
	feed(f, DIR_CLIENT, w, sizeof w);
	feedb(f, DIR_CLIENT, msg(5, T(0x42, E())));
	char *t = render(f);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_lacks(t, "sasl_wrapped");
	assert_contains(t, "\"op\":\"unbindRequest\""); /* found again */
	free(t);
	flow_close(f);
}

/* ---- searches and filters ---- */

static void test_search(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct bytes filter =
	    T(0xa0,
	      cat(7, eq("objectClass", "user"),
	          T(0xa4, cat(2, OCTETS("cn"), SEQ(1, T(0x80, S("a"))))),
	          T(0xa1, cat(2, T(0xa5, cat(2, OCTETS("uidNumber"), OCTETS("100"))),
	                      T(0xa2, T(0xa8, cat(2, OCTETS("sn"), OCTETS("smith")))))),
	          T(0x87, S("mail")), T(0xa6, cat(2, OCTETS("age"), OCTETS("9"))),
	          T(0xa9, cat(4, T(0x81, S("2.5.13.5")), T(0x82, S("cn")), T(0x83, S("Fred")),
	                      T(0x84, I(1)))),
	          T(0xa4, cat(2, OCTETS("o"),
	                      SEQ(3, T(0x81, S("b")), T(0x81, S("c(*)\\")), T(0x82, S("d")))))));
	feedb(f, DIR_CLIENT,
	      search(2, "dc=example,dc=com", 2, filter, cat(2, OCTETS("cn"), OCTETS("mail"))));
	feedb(f, DIR_SERVER, entry(2, "cn=a1,dc=example,dc=com"));
	feedb(f, DIR_SERVER, entry(2, "cn=a2,dc=example,dc=com"));
	feedb(f, DIR_SERVER, msg(2, T(0x73, OCTETS("ldap://other/"))));
	feedb(f, DIR_SERVER, result(0x65, 2, 0, ""));
	feedb(f, DIR_CLIENT, search(3, "ou=none", 0, T(0x87, S("objectClass")), E()));
	feedb(f, DIR_SERVER, result(0x65, 3, 32, "no such"));
	feedb(f, DIR_CLIENT, search(4, "", 1, T(0x87, S("x")), E()));
	char *t = render(f);
	assert_contains(t, "\"id\":2,\"op\":\"searchRequest\",\"dn\":\"dc=example,dc=com\","
	                   "\"result\":\"success\",\"scope\":\"wholeSubtree\"");
	assert_contains(t, "\"filter\":\"(&(objectClass=user)(cn=a*)(|(uidNumber>=100)"
	                   "(!(sn~=smith)))(mail=*)(age<=9)(cn:dn:2.5.13.5:=Fred)"
	                   "(o=*b*c\\\\28\\\\2a\\\\29\\\\5c*d))\"");
	assert_contains(t, "\"attributes\":[\"cn\",\"mail\"],\"entries\":2,\"references\":1");
	assert_contains(t, "\"dn\":\"ou=none\",\"result\":\"noSuchObject\",\"diagnostic\":"
	                   "\"no such\",\"scope\":\"baseObject\",\"filter\":\"(objectClass=*)\"");
	assert_contains(t, "\"id\":4,\"op\":\"searchRequest\",\"dn\":\"\",\"result\":null,"
	                   "\"scope\":\"singleLevel\"");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(t);
	flow_close(f);
}

static void test_filter_depth_and_length(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct bytes deep = eq("cn", "x");
	for (int i = 0; i < 40; i++)
		deep = T(0xa2, deep);
	feedb(f, DIR_CLIENT, search(1, "", 2, deep, E()));
	struct bytes wide = E();
	for (int i = 0; i < 200; i++)
		wide = cat(2, wide, eq("attributeName", "someLongishValue"));
	feedb(f, DIR_CLIENT, search(2, "", 2, T(0xa1, wide), E()));
	char *t = render(f);
	assert_contains(t, "(!(!(!(...)");
	assert_contains(t, "\"filter_truncated\":true");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "ldap.filter_cut"), 2);
	free(t);
	flow_close(f);
}

static void test_bad_filters(void **unused)
{
	(void)unused;
	struct bytes bad[] = {
	    T(0x04, S("x")),                      /* universal, not a filter */
	    T(0xaa, E()),                         /* tag 10 */
	    T(0xa3, OCTETS("onlytype")),          /* AVA missing its value */
	    T(0xa4, cat(2, OCTETS("o"), SEQ(0))), /* no substrings */
	    T(0xa2, E()),                         /* empty not */
	    T(0xa9, T(0x82, S("cn"))),            /* extensible without value */
	    T(0xa4, cat(2, OCTETS("o"), SEQ(2, T(0x82, S("a")), T(0x80, S("b"))))),
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct tflow *f = flow_open();
		feedb(f, DIR_CLIENT, search(1, "dc=x", 2, bad[i], E()));
		feedb(f, DIR_CLIENT, msg(2, T(0x42, E())));
		char *t = render(f);
		assert_true(session_has_alert(f->s, ALERT_MALFORMED));
		assert_contains(t, "\"dn\":\"dc=x\"");
		assert_contains(t, "\"op\":\"unbindRequest\"");
		free(t);
		flow_close(f);
	}
}

/* ---- the other operations ---- */

static void test_operations(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct bytes mod = SEQ(2, ENUM(2), SEQ(2, OCTETS("description"), T(0x31, OCTETS("x"))));
	feedb(f, DIR_CLIENT, msg(3, T(0x66, cat(2, OCTETS("cn=a,dc=x"), SEQ(1, mod)))));
	feedb(f, DIR_SERVER, result(0x67, 3, 50, ""));
	feedb(f, DIR_CLIENT,
	      msg(4, T(0x68, cat(2, OCTETS("cn=b,dc=x"),
	                         SEQ(2, SEQ(2, OCTETS("objectClass"), T(0x31, OCTETS("top"))),
	                             SEQ(2, OCTETS("cn"), T(0x31, OCTETS("b"))))))));
	feedb(f, DIR_SERVER, result(0x69, 4, 68, ""));
	feedb(f, DIR_CLIENT, msg(5, T(0x4a, S("cn=c,dc=x"))));
	feedb(f, DIR_SERVER, result(0x6b, 5, 0, ""));
	feedb(f, DIR_CLIENT,
	      msg(6, T(0x6c, cat(3, OCTETS("cn=d,dc=x"), OCTETS("cn=e"), T(0x01, I(-1))))));
	feedb(f, DIR_SERVER, result(0x6d, 6, 0, ""));
	feedb(f, DIR_CLIENT,
	      msg(7, T(0x6e, cat(2, OCTETS("cn=f,dc=x"), SEQ(2, OCTETS("sn"), OCTETS("q"))))));
	feedb(f, DIR_SERVER, result(0x6f, 7, 6, ""));
	feedb(f, DIR_CLIENT, msg(8, T(0x50, I(7))));
	feedb(f, DIR_CLIENT, msg(9, T(0x77, T(0x80, S("1.3.6.1.4.1.4203.1.11.3")))));
	feedb(f, DIR_SERVER, msg(9, T(0x79, T(0x80, S("1.2.3")))));
	feedb(f, DIR_SERVER, result(0x78, 9, 0, ""));
	feedb(f, DIR_SERVER, result(0x78, 0, 52, "bye")); /* notice of disconnection */
	feedb(f, DIR_SERVER, result(0x61, 99, 0, ""));    /* a response alone */
	feedb(f, DIR_SERVER, result(0x61, 100, 200, "")); /* an unknown code */
	feedb(f, DIR_CLIENT, msg(10, T(0x42, E())));
	char *t = render(f);
	assert_contains(t, "{\"id\":3,\"op\":\"modifyRequest\",\"dn\":\"cn=a,dc=x\",\"result\":"
	                   "\"insufficientAccessRights\",\"attributes\":[\"description\"]}");
	assert_contains(t, "{\"id\":4,\"op\":\"addRequest\",\"dn\":\"cn=b,dc=x\",\"result\":"
	                   "\"entryAlreadyExists\",\"attributes\":[\"objectClass\",\"cn\"]}");
	assert_contains(t, "{\"id\":5,\"op\":\"delRequest\",\"dn\":\"cn=c,dc=x\",\"result\":"
	                   "\"success\"}");
	assert_contains(t, "{\"id\":6,\"op\":\"modDNRequest\",\"dn\":\"cn=d,dc=x\",\"result\":"
	                   "\"success\",\"new_rdn\":\"cn=e\"}");
	assert_contains(t, "{\"id\":7,\"op\":\"compareRequest\",\"dn\":\"cn=f,dc=x\",\"result\":"
	                   "\"compareTrue\",\"attributes\":[\"sn\"]}");
	assert_contains(t, "{\"id\":8,\"op\":\"abandonRequest\",\"abandon_id\":7}");
	assert_contains(t, "{\"id\":9,\"op\":\"extendedReq\",\"result\":\"success\",\"oid\":"
	                   "\"1.3.6.1.4.1.4203.1.11.3\",\"extended\":\"whoAmI\"}");
	assert_contains(t, "{\"id\":0,\"op\":\"extendedResp\",\"result\":\"unavailable\","
	                   "\"diagnostic\":\"bye\"}");
	assert_contains(t, "{\"id\":99,\"op\":\"bindResponse\",\"result\":\"success\"}");
	assert_contains(t, "{\"id\":100,\"op\":\"bindResponse\",\"result\":200}");
	assert_contains(t, "{\"id\":10,\"op\":\"unbindRequest\"}");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(t);
	flow_close(f);
}

/* ---- StartTLS ---- */

static struct bytes starttls_req(int64_t id)
{
	return msg(id, T(0x77, T(0x80, S("1.3.6.1.4.1.1466.20037"))));
}

static void test_starttls(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feedb(f, DIR_CLIENT, starttls_req(1));
	struct bytes resp = msg(1, T(0x78, cat(4, ENUM(0), OCTETS(""), OCTETS(""),
	                                       T(0x8a, S("1.3.6.1.4.1.1466.20037")))));
	struct bytes both = cat(2, resp, S("\x16\x03\x01\x00\x10"));
	size_t used = ldap_dissector.on_data(f->s, f->state, DIR_SERVER, rd_init(both.p, both.n));
	assert_int_equal(used, resp.n); /* the TLS bytes are left for TLS */
	assert_string_equal(session_handoff_target(f->s), "tls");
	char *t = render(f);
	assert_contains(t, "\"op\":\"extendedReq\",\"result\":\"success\",\"oid\":"
	                   "\"1.3.6.1.4.1.1466.20037\",\"extended\":\"StartTLS\"");
	assert_contains(t, "\"starttls\":true");
	free(t);
	flow_close(f);
}

static void test_starttls_refused(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	feedb(f, DIR_CLIENT, starttls_req(1));
	feedb(f, DIR_SERVER, result(0x78, 1, 2, "no"));
	feedb(f, DIR_CLIENT, simple_bind(2, "cn=x", "pw"));
	assert_null(session_handoff_target(f->s));
	char *t = render(f);
	assert_contains(t, "\"starttls\":false");
	assert_contains(t, "\"result\":\"protocolError\"");
	assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	free(t);
	flow_close(f);
}

/* ---- stream handling ---- */

static struct bytes client_side(void)
{
	return cat(4, simple_bind(1, "cn=admin,dc=example,dc=com", "pw"),
	           search(2, "dc=example,dc=com", 2, eq("cn", "a"), cat(1, OCTETS("cn"))),
	           msg(3, T(0x4a, S("cn=z"))), msg(4, T(0x42, E())));
}

static struct bytes server_side(void)
{
	return cat(5, result(0x61, 1, 0, ""), entry(2, "cn=a,dc=example,dc=com"),
	           result(0x65, 2, 0, ""), result(0x6b, 3, 32, ""),
	           result(0x6b, 77, 0, "unsolicited"));
}

static char *whole_session(void)
{
	struct tflow *f = flow_open();
	feedb(f, DIR_CLIENT, client_side());
	feedb(f, DIR_SERVER, server_side());
	char *t = render(f);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
	return t;
}

static void test_every_split(void **unused)
{
	(void)unused;
	struct bytes c = client_side(), sv = server_side();
	char *whole = whole_session();
	assert_contains(whole, "\"messages\":{\"client\":4,\"server\":5}");
	for (size_t i = 0; i <= c.n + sv.n; i++) {
		struct tflow *f = flow_open();
		size_t ci = i < c.n ? i : c.n, si = i < c.n ? 0 : i - c.n;
		feed(f, DIR_CLIENT, c.p, ci);
		feed(f, DIR_CLIENT, c.p + ci, c.n - ci);
		feed(f, DIR_SERVER, sv.p, si);
		feed(f, DIR_SERVER, sv.p + si, sv.n - si);
		char *t = render(f);
		if (strcmp(t, whole) != 0)
			fail_msg("split at %zu: %s\nwhole: %s", i, t, whole);
		free(t);
		flow_close(f);
	}
	/* byte by byte */
	struct tflow *f = flow_open();
	for (size_t i = 0; i < c.n; i++)
		feed(f, DIR_CLIENT, c.p + i, 1);
	for (size_t i = 0; i < sv.n; i++)
		feed(f, DIR_SERVER, sv.p + i, 1);
	char *t = render(f);
	assert_string_equal(t, whole);
	free(t);
	flow_close(f);
	free(whole);
}

static void test_every_truncation(void **unused)
{
	(void)unused;
	struct bytes c = client_side(), sv = server_side();
	for (size_t i = 0; i <= c.n; i++) {
		struct tflow *f = flow_open();
		feed(f, DIR_CLIENT, c.p, i);
		feed(f, DIR_SERVER, sv.p, sv.n);
		if (ldap_dissector.on_end)
			ldap_dissector.on_end(f->s, f->state);
		char *t = render(f);
		assert_contains(t, "\"ops\":[");
		assert_false(session_has_alert(f->s, ALERT_MALFORMED));
		free(t);
		flow_close(f);
	}
	/* every prefix of one message as a datagram: clean "malformed" */
	struct bytes one = search(2, "dc=example,dc=com", 2, eq("cn", "a"), cat(1, OCTETS("cn")));
	for (size_t i = 1; i < one.n; i++) {
		struct tflow *f = flow_open_as(false, false);
		datagram(f, DIR_CLIENT, (struct bytes){one.p, i});
		char *t = render(f);
		assert_true(session_has_alert(f->s, ALERT_MALFORMED));
		free(t);
		flow_close(f);
	}
}

/* Inner lengths that run past their parent: malformed, never read beyond. */
static void test_nested_length_lies(void **unused)
{
	(void)unused;
	struct bytes good = simple_bind(1, "cn=admin", "pw");
	static const size_t inner_lengths[] = {3, 6, 8, 11, 21}; /* id, op, version, dn, pw */
	assert_int_equal(good.n, 24);
	for (size_t k = 0; k < sizeof inner_lengths / sizeof inner_lengths[0]; k++) {
		size_t at = inner_lengths[k];
		uint8_t copy[256];
		memcpy(copy, good.p, good.n);
		{
			copy[at] = 0x7f; /* the length of an inner element */
			struct tflow *f = flow_open();
			feed(f, DIR_CLIENT, copy, good.n);
			feedb(f, DIR_CLIENT, msg(9, T(0x42, E())));
			char *t = render(f);
			if (!session_has_alert(f->s, ALERT_MALFORMED))
				fail_msg("lie at %zu: %s", at, t);
			assert_contains(t, "\"id\":9,\"op\":\"unbindRequest\"");
			free(t);
			flow_close(f);
		}
	}
	/* a long-form length of 4 octets inside */
	static const uint8_t huge[] = {0x30, 0x0b, 0x02, 0x01, 0x01, 0x4a, 0x84,
	                               0xff, 0xff, 0xff, 0xff, 'a',  'b'};
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, huge, sizeof huge);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
}

/* A message announcing more than the cap is skipped, never buffered; one
 * announcing 64 KiB and stopping short waits (the core caps what it keeps). */
static void test_length_cap(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	static const uint8_t big[] = {0x30, 0x83, 0x10, 0x00, 0x00, 0x02, 0x01, 0x05, 0x64};
	feed(f, DIR_SERVER, big, sizeof big);
	uint8_t *fill = calloc(1, 0x100000);
	assert_non_null(fill);
	size_t left = 0x100000 - (sizeof big - 5);
	for (size_t at = 0; at < left; at += 4096)
		feed(f, DIR_SERVER, fill, left - at < 4096 ? left - at : 4096);
	assert_true(f->len[DIR_SERVER] < 4096); /* nothing kept */
	feedb(f, DIR_SERVER, result(0x61, 6, 0, ""));
	char *t = render(f);
	assert_contains(t, "\"too_big\":1");
	assert_contains(t, "{\"id\":6,\"op\":\"bindResponse\",\"result\":\"success\"}");
	assert_int_equal(session_counter_value(f->s, "ldap.message_too_big"), 1);
	free(t);
	flow_close(f);
	free(fill);

	f = flow_open();
	static const uint8_t lie[] = {0x30, 0x82, 0xff, 0xff, 0x02, 0x01, 0x05, 0x64, 0x00};
	feed(f, DIR_SERVER, lie, sizeof lie);
	assert_int_equal(f->len[DIR_SERVER], sizeof lie); /* waiting, not consumed */
	flow_close(f);
}

static void test_gap_resync(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	struct bytes b = simple_bind(1, "cn=admin", "pw");
	feed(f, DIR_CLIENT, b.p, 5);
	gap(f, DIR_CLIENT, 100);
	feed(f, DIR_CLIENT, "garbage-bytes", 13);
	feedb(f, DIR_CLIENT, search(2, "dc=after", 0, T(0x87, S("cn")), E()));
	char *t = render(f);
	assert_contains(t, "\"dn\":\"dc=after\"");
	assert_contains(t, "\"gap\":true");
	free(t);
	flow_close(f);
}

static void test_garbage(void **unused)
{
	(void)unused;
	uint8_t junk[3000];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof junk; i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (uint8_t)(x >> 16);
	}
	junk[0] = 0x30;
	struct tflow *f = flow_open();
	for (size_t i = 0; i < sizeof junk; i += 100)
		feed(f, DIR_CLIENT, junk + i, 100);
	char *t = render(f);
	free(t);
	flow_close(f);
	f = flow_open_as(false, false);
	datagram(f, DIR_CLIENT, (struct bytes){junk, sizeof junk});
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
}

static void test_caps(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open();
	for (int i = 0; i < 70; i++)
		feedb(f, DIR_CLIENT, msg(i, T(0x50, I(i))));
	struct bytes attrs = E();
	for (int i = 0; i < 20; i++)
		attrs = cat(2, attrs, OCTETS("attr"));
	char *t = render(f);
	assert_contains(t, "\"truncated\":6");
	assert_int_equal(session_counter_value(f->s, "ldap.too_many_ops"), 1);
	free(t);
	flow_close(f);

	f = flow_open();
	feedb(f, DIR_CLIENT, search(1, "", 2, T(0x87, S("cn")), attrs));
	char long_dn[2000];
	memset(long_dn, 'x', sizeof long_dn - 1);
	long_dn[sizeof long_dn - 1] = 0;
	feedb(f, DIR_CLIENT, simple_bind(2, long_dn, ""));
	t = render(f);
	assert_contains(t, "\"attributes_truncated\":4");
	assert_int_equal(session_counter_value(f->s, "ldap.too_many_attributes"), 1);
	assert_true(session_counter_value(f->s, "ldap.string_cut") >= 1);
	free(t);
	flow_close(f);
}

static void test_cldap(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open_as(false, false);
	datagram(f, DIR_CLIENT,
	         search(1, "", 0,
	                T(0xa0, cat(2, eq("DnsDomain", "example.com"), eq("NtVer", "\x16"))),
	                cat(1, OCTETS("Netlogon"))));
	datagram(f, DIR_SERVER, cat(2, entry(1, ""), result(0x65, 1, 0, "")));
	/* RFC 1798: a user DN between the id and the operation */
	datagram(f, DIR_CLIENT,
	         SEQ(3, INT(2), OCTETS("cn=me"),
	             T(0x63, cat(8, OCTETS("o=x"), ENUM(0), ENUM(0), INT(0), INT(0), T(0x01, I(0)),
	                         T(0x87, S("cn")), SEQ(0)))));
	char *t = render(f);
	assert_string_equal(ldap_dissector.protocol_name(f->state), "cldap");
	assert_contains(t, "\"filter\":\"(&(DnsDomain=example.com)(NtVer=\\\\16))\"");
	assert_contains(t, "\"attributes\":[\"Netlogon\"],\"entries\":1");
	assert_contains(t, "\"id\":2,\"op\":\"searchRequest\",\"dn\":\"o=x\"");
	assert_contains(t, "\"messages\":{\"client\":2,\"server\":2}");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(t);
	flow_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_probe, setup),
	    cmocka_unit_test_setup(test_simple_bind, setup),
	    cmocka_unit_test_setup(test_show_credentials, setup),
	    cmocka_unit_test_setup(test_anonymous_bind, setup),
	    cmocka_unit_test_setup(test_sasl_bind_and_wrapped, setup),
	    cmocka_unit_test_setup(test_sasl_integrity_only, setup),
	    cmocka_unit_test_setup(test_wrapped_without_sasl, setup),
	    cmocka_unit_test_setup(test_search, setup),
	    cmocka_unit_test_setup(test_filter_depth_and_length, setup),
	    cmocka_unit_test_setup(test_bad_filters, setup),
	    cmocka_unit_test_setup(test_operations, setup),
	    cmocka_unit_test_setup(test_starttls, setup),
	    cmocka_unit_test_setup(test_starttls_refused, setup),
	    cmocka_unit_test_setup(test_every_split, setup),
	    cmocka_unit_test_setup(test_every_truncation, setup),
	    cmocka_unit_test_setup(test_nested_length_lies, setup),
	    cmocka_unit_test_setup(test_length_cap, setup),
	    cmocka_unit_test_setup(test_gap_resync, setup),
	    cmocka_unit_test_setup(test_garbage, setup),
	    cmocka_unit_test_setup(test_caps, setup),
	    cmocka_unit_test_setup(test_cldap, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
