/* Kerberos (dissectors/kerberos.c): messages built with a small BER
 * builder (the RFC 4120 ASN.1 field by field), fed as datagrams or as a TCP
 * stream with the 4-byte length prefix the way the core feeds a stream, and
 * the record read back as JSON. */
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

extern const struct dissector kerberos_dissector;

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
#define SEQ(...) T(0x30, cat(__VA_ARGS__))

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
	f->s = session_detached_new(tcp, &client, 40000, &server, 88);
	f->s->show_credentials = show;
	f->state = calloc(1, kerberos_dissector.state_size);
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
	kerberos_dissector.release(f->state);
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
		size_t used = kerberos_dissector.on_data(f->s, f->state, dir,
		                                         rd_init(f->pending[dir], f->len[dir]));
		assert_true(used <= f->len[dir]);
		if (used == 0)
			break;
		memmove(f->pending[dir], f->pending[dir] + used, f->len[dir] - used);
		f->len[dir] -= used;
	}
}

static void feedb(struct tflow *f, enum direction dir, struct bytes b)
{
	feed(f, dir, b.p, b.n);
}

static void datagram(struct tflow *f, enum direction dir, struct bytes b)
{
	kerberos_dissector.on_data(f->s, f->state, dir, rd_init(b.p, b.n));
}

static void gap(struct tflow *f, enum direction dir, size_t missing)
{
	f->len[dir] = 0;
	kerberos_dissector.on_gap(f->s, f->state, dir, missing);
}

static char *render(const struct tflow *f)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	kerberos_dissector.emit(f->state, &jw.e);
	emit_object_end(&jw.e);
	assert_false(jw.overflow);
	char *text = strdup(json_writer_text(&jw));
	json_writer_free(&jw);
	assert_non_null(text);
	char sum[256];
	kerberos_dissector.summarize(f->state, sum, sizeof sum);
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

/* ---- Kerberos structures ---- */

#define CTX(n, v) T((uint8_t)(0xa0 + (n)), v)
#define GSTR(s) T(0x1b, S(s))

static struct bytes principal(int type, int n, const char *const *parts)
{
	struct bytes list = E();
	for (int i = 0; i < n; i++)
		list = cat(2, list, GSTR(parts[i]));
	return SEQ(2, CTX(0, INT(type)), CTX(1, T(0x30, list)));
}

static struct bytes name1(const char *a)
{
	const char *p[] = {a};
	return principal(1, 1, p);
}

static struct bytes name2(const char *a, const char *b)
{
	const char *p[] = {a, b};
	return principal(2, 2, p);
}

static struct bytes enc(int etype)
{
	return SEQ(3, CTX(0, INT(etype)), CTX(1, INT(2)), CTX(2, OCTETS("ciphertext")));
}

static struct bytes ticket(const char *realm, struct bytes sname, int etype)
{
	return T(0x61,
	         SEQ(4, CTX(0, INT(5)), CTX(1, GSTR(realm)), CTX(2, sname), CTX(3, enc(etype))));
}

static struct bytes etypes(int n, const int *list)
{
	struct bytes b = E();
	for (int i = 0; i < n; i++)
		b = cat(2, b, INT(list[i]));
	return T(0x30, b);
}

static struct bytes pa(int type)
{
	return SEQ(2, CTX(1, INT(type)), CTX(2, OCTETS("x")));
}

static struct bytes kdc_req(int type, struct bytes cname, const char *realm, struct bytes sname,
                            struct bytes et, struct bytes padata)
{
	struct bytes body =
	    SEQ(7, CTX(0, T(0x03, S("\x00\x40\x81\x00\x10"))), cname.n ? CTX(1, cname) : E(),
	        CTX(2, GSTR(realm)), CTX(3, sname), CTX(5, T(0x18, S("20370913024805Z"))),
	        CTX(7, INT(12345)), CTX(8, et));
	return T((uint8_t)(0x60 + type),
	         SEQ(4, CTX(1, INT(5)), CTX(2, INT(type)), padata.n ? CTX(3, T(0x30, padata)) : E(),
	             CTX(4, body)));
}

static struct bytes as_req(void)
{
	static const int et[] = {18, 17, 23, -135, 999};
	return kdc_req(10, name1("alice"), "EXAMPLE.COM", name2("krbtgt", "EXAMPLE.COM"),
	               etypes(5, et), cat(2, pa(2), pa(128)));
}

static struct bytes kdc_rep(int type, int ticket_etype, int enc_etype)
{
	return T((uint8_t)(0x60 + type),
	         SEQ(7, CTX(0, INT(5)), CTX(1, INT(type)), CTX(2, T(0x30, pa(19))),
	             CTX(3, GSTR("EXAMPLE.COM")), CTX(4, name1("alice")),
	             CTX(5, ticket("EXAMPLE.COM", name2("krbtgt", "EXAMPLE.COM"), ticket_etype)),
	             CTX(6, enc(enc_etype))));
}

static struct bytes krb_error(int code, const char *etext)
{
	return T(0x7e,
	         SEQ(9, CTX(0, INT(5)), CTX(1, INT(30)), CTX(4, T(0x18, S("20240101000000Z"))),
	             CTX(5, INT(1)), CTX(6, INT(code)), CTX(9, GSTR("EXAMPLE.COM")),
	             CTX(10, name2("krbtgt", "EXAMPLE.COM")), etext ? CTX(11, GSTR(etext)) : E(),
	             CTX(12, T(0x04, SEQ(2, pa(19), pa(2))))));
}

static struct bytes ap_req(void)
{
	return T(0x6e,
	         SEQ(5, CTX(0, INT(5)), CTX(1, INT(14)), CTX(2, T(0x03, S("\x00\x20\x00\x00\x00"))),
	             CTX(3, ticket("EXAMPLE.COM", name2("HTTP", "www.example.com"), 18)),
	             CTX(4, enc(17))));
}

static struct bytes ap_rep(void)
{
	return T(0x6f, SEQ(3, CTX(0, INT(5)), CTX(1, INT(15)), CTX(2, enc(18))));
}

/* The TCP framing: a 4-byte big-endian length in front. */
static struct bytes tcp(struct bytes m)
{
	uint8_t *p = arena_get(4);
	p[0] = (uint8_t)(m.n >> 24);
	p[1] = (uint8_t)(m.n >> 16);
	p[2] = (uint8_t)(m.n >> 8);
	p[3] = (uint8_t)m.n;
	return cat(2, (struct bytes){p, 4}, m);
}

/* ---- the probe ---- */

static enum verdict probe(struct bytes b)
{
	return kerberos_dissector.probe(rd_init(b.p, b.n), DIR_CLIENT);
}

static enum verdict probe_raw(const void *p, size_t n)
{
	return kerberos_dissector.probe(rd_init(p, n), DIR_CLIENT);
}

static void test_probe(void **unused)
{
	(void)unused;
	struct bytes a = as_req();
	assert_int_equal(probe(a), VERDICT_YES);
	assert_int_equal(probe(tcp(a)), VERDICT_YES);
	assert_int_equal(probe(krb_error(25, NULL)), VERDICT_YES);
	assert_int_equal(probe(kdc_rep(11, 18, 18)), VERDICT_YES);
	assert_int_equal(probe(ap_req()), VERDICT_YES);
	for (size_t i = 0; i < 14; i++)
		assert_int_equal(probe_raw(a.p, i), VERDICT_NEED_MORE);
	struct bytes t = tcp(a);
	for (size_t i = 0; i < 18; i++)
		assert_int_equal(probe_raw(t.p, i), VERDICT_NEED_MORE);
	/* pvno 4, or a msg-type that is not the tag */
	struct bytes bad = T(0x6a, SEQ(2, CTX(1, INT(4)), CTX(2, INT(10))));
	assert_int_equal(probe(bad), VERDICT_NO);
	bad = T(0x6a, SEQ(2, CTX(1, INT(5)), CTX(2, INT(12))));
	assert_int_equal(probe(bad), VERDICT_NO);
	/* LDAP bind, SNMP, HTTP, TLS, DNS-over-TCP-like prefix */
	static const uint8_t ldap[] = {0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07,
	                               0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00};
	assert_int_equal(probe_raw(ldap, sizeof ldap), VERDICT_NO);
	static const uint8_t snmp[] = {0x30, 0x0b, 0x02, 0x01, 0x01, 0x04, 0x06, 'p', 'u', 'b'};
	assert_int_equal(probe_raw(snmp, sizeof snmp), VERDICT_NO);
	assert_int_equal(probe_raw("GET / HTTP/1.1\r\n", 16), VERDICT_NO);
	assert_int_equal(probe_raw("\x16\x03\x01\x00\x05", 5), VERDICT_NO);
	assert_int_equal(probe_raw("\x00\x1c\x12\x34\x01\x00", 6), VERDICT_NO);
	assert_int_equal(probe_raw("\x00\x10\x00\x00\x6a\x00", 6), VERDICT_NO); /* too long */
	assert_int_equal(probe_raw("\x66\x00", 2), VERDICT_NO);                 /* APPLICATION 6 */
	assert_int_equal(probe_raw("", 0), VERDICT_NEED_MORE);
}

/* ---- messages ---- */

static void test_as_exchange(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open_as(false, false);
	datagram(f, DIR_CLIENT, as_req());
	datagram(f, DIR_SERVER, krb_error(25, "NEEDED_PREAUTH"));
	datagram(f, DIR_CLIENT, as_req());
	datagram(f, DIR_SERVER, kdc_rep(11, 18, 17));
	char *t = render(f);
	assert_contains(t, "{\"type\":\"AS-REQ\",\"from\":\"client\",\"cname\":\"alice\",\"realm\":"
	                   "\"EXAMPLE.COM\",\"sname\":\"krbtgt/EXAMPLE.COM\",\"etypes\":["
	                   "\"aes256-cts-hmac-sha1-96\",\"aes128-cts-hmac-sha1-96\",\"rc4-hmac\","
	                   "\"rc4-hmac-old\",\"999\"],\"error\":null,\"padata\":["
	                   "\"PA-ENC-TIMESTAMP\",\"PA-PAC-REQUEST\"]}");
	assert_contains(t,
	                "{\"type\":\"KRB-ERROR\",\"from\":\"server\",\"cname\":null,\"realm\":"
	                "\"EXAMPLE.COM\",\"sname\":\"krbtgt/EXAMPLE.COM\",\"etypes\":[],\"error\":"
	                "\"KDC_ERR_PREAUTH_REQUIRED\",\"error_code\":25,\"e_text\":"
	                "\"NEEDED_PREAUTH\",\"padata\":[\"PA-ETYPE-INFO2\",\"PA-ENC-TIMESTAMP\"]}");
	assert_contains(t,
	                "{\"type\":\"AS-REP\",\"from\":\"server\",\"cname\":\"alice\",\"realm\":"
	                "\"EXAMPLE.COM\",\"sname\":\"krbtgt/EXAMPLE.COM\",\"etypes\":["
	                "\"aes256-cts-hmac-sha1-96\",\"aes128-cts-hmac-sha1-96\"],\"error\":null,"
	                "\"ticket_etype\":\"aes256-cts-hmac-sha1-96\",\"enc_etype\":"
	                "\"aes128-cts-hmac-sha1-96\",\"padata\":[\"PA-ETYPE-INFO2\"]}");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_false(session_has_alert(f->s, ALERT_WEAK_SECURITY));
	assert_lacks(t, "rc4_service_ticket");
	char sum[256];
	kerberos_dissector.summarize(f->state, sum, sizeof sum);
	assert_string_equal(sum, "AS-REQ alice@EXAMPLE.COM -> krbtgt/EXAMPLE.COM; KRB-ERROR -> "
	                         "krbtgt/EXAMPLE.COM KDC_ERR_PREAUTH_REQUIRED; AS-REQ "
	                         "alice@EXAMPLE.COM -> krbtgt/EXAMPLE.COM (+1)");
	free(t);
	flow_close(f);
}

static void test_errors(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open_as(false, false);
	datagram(f, DIR_SERVER, krb_error(6, NULL));
	datagram(f, DIR_SERVER, krb_error(37, NULL));
	datagram(f, DIR_SERVER, krb_error(77, NULL));
	char *t = render(f);
	assert_contains(t, "\"error\":\"KDC_ERR_C_PRINCIPAL_UNKNOWN\",\"error_code\":6");
	assert_contains(t, "\"error\":\"KRB_AP_ERR_SKEW\",\"error_code\":37");
	assert_contains(t, "\"error\":\"77\",\"error_code\":77");
	free(t);
	flow_close(f);
}

static void test_kerberoasting(void **unused)
{
	(void)unused;
	static const int rc4_only[] = {23};
	static const int mixed[] = {18, 23};
	struct bytes tgs_rc4 =
	    kdc_req(12, E(), "EXAMPLE.COM", name2("MSSQLSvc", "db.example.com:1433"),
	            etypes(1, rc4_only), pa(1));
	struct bytes tgs_mixed =
	    kdc_req(12, E(), "EXAMPLE.COM", name2("HTTP", "web"), etypes(2, mixed), pa(1));
	struct tflow *f = flow_open_as(false, false);
	datagram(f, DIR_CLIENT, tgs_mixed);
	datagram(f, DIR_SERVER, kdc_rep(13, 18, 18));
	assert_false(session_has_alert(f->s, ALERT_WEAK_SECURITY));
	datagram(f, DIR_CLIENT, tgs_rc4);
	char *t = render(f);
	assert_contains(t,
	                "{\"type\":\"TGS-REQ\",\"from\":\"client\",\"cname\":null,\"realm\":"
	                "\"EXAMPLE.COM\",\"sname\":\"MSSQLSvc/db.example.com:1433\",\"etypes\":"
	                "[\"rc4-hmac\"],\"error\":null,\"padata\":[\"PA-TGS-REQ\"],\"rc4\":true}");
	assert_contains(t, "\"rc4_service_ticket\":true");
	assert_true(session_has_alert(f->s, ALERT_WEAK_SECURITY));
	free(t);
	flow_close(f);
	/* a TGS-REP whose ticket is RC4 */
	f = flow_open_as(false, false);
	datagram(f, DIR_SERVER, kdc_rep(13, 23, 18));
	t = render(f);
	assert_contains(t, "\"ticket_etype\":\"rc4-hmac\"");
	assert_contains(t, "\"rc4\":true");
	assert_true(session_has_alert(f->s, ALERT_WEAK_SECURITY));
	assert_int_equal(session_counter_value(f->s, "kerberos.rc4_service_ticket"), 1);
	free(t);
	flow_close(f);
}

static void test_ap_and_others(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open_as(false, false);
	datagram(f, DIR_CLIENT, ap_req());
	datagram(f, DIR_SERVER, ap_rep());
	datagram(f, DIR_CLIENT, T(0x75, SEQ(3, CTX(0, INT(5)), CTX(1, INT(21)), CTX(3, enc(23)))));
	datagram(f, DIR_CLIENT, T(0x74, SEQ(2, CTX(0, INT(5)), CTX(1, INT(20)))));
	datagram(f, DIR_CLIENT, T(0x76, SEQ(2, CTX(0, INT(5)), CTX(1, INT(22)))));
	char *t = render(f);
	assert_contains(t,
	                "{\"type\":\"AP-REQ\",\"from\":\"client\",\"cname\":null,\"realm\":"
	                "\"EXAMPLE.COM\",\"sname\":\"HTTP/www.example.com\",\"etypes\":["
	                "\"aes256-cts-hmac-sha1-96\",\"aes128-cts-hmac-sha1-96\"],\"error\":null,"
	                "\"ticket_etype\":\"aes256-cts-hmac-sha1-96\",\"enc_etype\":"
	                "\"aes128-cts-hmac-sha1-96\"}");
	assert_contains(t, "{\"type\":\"AP-REP\",\"from\":\"server\",\"cname\":null,\"realm\":null,"
	                   "\"sname\":null,\"etypes\":[\"aes256-cts-hmac-sha1-96\"],\"error\":null,"
	                   "\"enc_etype\":\"aes256-cts-hmac-sha1-96\"}");
	assert_contains(t, "\"type\":\"KRB-PRIV\"");
	assert_contains(t, "\"enc_etype\":\"rc4-hmac\"");
	assert_contains(t, "\"type\":\"KRB-SAFE\"");
	assert_contains(t, "\"type\":\"KRB-CRED\"");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_false(session_has_alert(f->s, ALERT_WEAK_SECURITY)); /* not a service ticket */
	free(t);
	flow_close(f);
}

/* ---- TCP ---- */

static struct bytes client_stream(void)
{
	static const int et[] = {18};
	return cat(2, tcp(as_req()),
	           tcp(kdc_req(12, E(), "EXAMPLE.COM", name2("cifs", "fs"), etypes(1, et), pa(1))));
}

static struct bytes server_stream(void)
{
	return cat(2, tcp(kdc_rep(11, 18, 18)), tcp(kdc_rep(13, 18, 18)));
}

static char *whole_tcp(void)
{
	struct tflow *f = flow_open();
	feedb(f, DIR_CLIENT, client_stream());
	feedb(f, DIR_SERVER, server_stream());
	char *t = render(f);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
	return t;
}

static void test_tcp_every_split(void **unused)
{
	(void)unused;
	struct bytes c = client_stream(), sv = server_stream();
	char *whole = whole_tcp();
	assert_contains(whole, "\"type\":\"TGS-REP\"");
	assert_contains(whole, "\"sname\":\"cifs/fs\"");
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
	struct bytes c = client_stream();
	for (size_t i = 0; i <= c.n; i++) {
		struct tflow *f = flow_open();
		feed(f, DIR_CLIENT, c.p, i);
		char *t = render(f);
		assert_contains(t, "\"messages\":[");
		assert_false(session_has_alert(f->s, ALERT_MALFORMED));
		free(t);
		flow_close(f);
	}
	struct bytes msgs[] = {as_req(), kdc_rep(11, 18, 18), krb_error(25, "x"), ap_req(),
	                       ap_rep()};
	for (size_t k = 0; k < sizeof msgs / sizeof msgs[0]; k++) {
		for (size_t i = 0; i < msgs[k].n; i++) {
			struct tflow *f = flow_open_as(false, false);
			datagram(f, DIR_CLIENT, (struct bytes){msgs[k].p, i});
			char *t = render(f);
			assert_true(session_has_alert(f->s, ALERT_MALFORMED));
			free(t);
			flow_close(f);
		}
	}
}

/* Every length octet raised past its parent: malformed, never a read
 * beyond (ASan watches), never a crash. */
static void test_nested_length_lies(void **unused)
{
	(void)unused;
	struct bytes m = as_req();
	for (size_t at = 1; at < m.n; at++) {
		uint8_t copy[1024];
		assert_true(m.n <= sizeof copy);
		memcpy(copy, m.p, m.n);
		copy[at] = (uint8_t)(copy[at] + 0x20 > 0x7f ? 0x7f : copy[at] + 0x20);
		struct tflow *f = flow_open_as(false, false);
		datagram(f, DIR_CLIENT, (struct bytes){copy, m.n});
		char *t = render(f);
		free(t);
		flow_close(f);
	}
	/* an explicit one: the etype list says 0x7f bytes inside a short body */
	struct bytes lie = T(0x6a, SEQ(3, CTX(1, INT(5)), CTX(2, INT(10)),
	                               CTX(4, SEQ(1, CTX(8, S("\x30\x7f\x02\x01\x12"))))));
	struct tflow *f = flow_open_as(false, false);
	datagram(f, DIR_CLIENT, lie);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
}

static void test_tcp_framing_errors(void **unused)
{
	(void)unused;
	/* the reserved high bit: out of sync, the rest of the direction ignored */
	struct tflow *f = flow_open();
	feed(f, DIR_CLIENT, "\x80\x00\x00\x10garbage", 11);
	feedb(f, DIR_CLIENT, tcp(as_req()));
	assert_int_equal(f->len[DIR_CLIENT], 0);
	char *t = render(f);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_contains(t, "\"messages\":[]");
	free(t);
	flow_close(f);
	/* too big: skipped without being kept, the next message read */
	f = flow_open();
	feed(f, DIR_SERVER, "\x00\x10\x00\x00\x6b", 5);
	uint8_t *fill = calloc(1, 0x100000);
	assert_non_null(fill);
	for (size_t at = 0; at < 0x100000 - 1; at += 8192) {
		size_t n = 0x100000 - 1 - at < 8192 ? 0x100000 - 1 - at : 8192;
		feed(f, DIR_SERVER, fill, n);
		assert_true(f->len[DIR_SERVER] < 8192);
	}
	feedb(f, DIR_SERVER, tcp(krb_error(37, NULL)));
	t = render(f);
	assert_contains(t, "\"too_big\":1");
	assert_contains(t, "KRB_AP_ERR_SKEW");
	free(t);
	flow_close(f);
	free(fill);
	/* a gap inside a message: this direction cannot be framed again */
	f = flow_open();
	struct bytes c = client_stream();
	feed(f, DIR_CLIENT, c.p, 20);
	gap(f, DIR_CLIENT, 50);
	feed(f, DIR_CLIENT, c.p + 70, c.n - 70);
	feedb(f, DIR_SERVER, server_stream());
	t = render(f);
	assert_contains(t, "\"gap\":true");
	assert_contains(t, "\"type\":\"TGS-REP\"");
	free(t);
	flow_close(f);
	/* the wrong first element inside a good prefix */
	f = flow_open();
	feedb(f, DIR_CLIENT, tcp(SEQ(1, INT(1))));
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
}

static void test_caps(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open_as(false, false);
	struct bytes e = krb_error(25, NULL);
	for (int i = 0; i < 70; i++)
		datagram(f, DIR_SERVER, e);
	char *t = render(f);
	assert_contains(t, "\"truncated\":6");
	assert_int_equal(session_counter_value(f->s, "kerberos.too_many_messages"), 1);
	free(t);
	flow_close(f);

	int many[20];
	for (int i = 0; i < 20; i++)
		many[i] = 18;
	const char *parts[12];
	for (int i = 0; i < 12; i++)
		parts[i] = "component";
	char realm[400];
	memset(realm, 'R', sizeof realm - 1);
	realm[sizeof realm - 1] = 0;
	struct bytes padata = E();
	for (int i = 0; i < 20; i++)
		padata = cat(2, padata, pa(2));
	f = flow_open_as(false, false);
	datagram(f, DIR_CLIENT,
	         kdc_req(10, principal(1, 12, parts), realm, name1("x"), etypes(20, many), padata));
	t = render(f);
	assert_contains(t, "\"etypes_truncated\":4");
	assert_contains(t, "\"cname\":\"component/component/component/component/component/"
	                   "component/component/component\"");
	assert_int_equal(session_counter_value(f->s, "kerberos.name_cut"), 1);
	assert_int_equal(session_counter_value(f->s, "kerberos.string_cut"), 1);
	assert_int_equal(session_counter_value(f->s, "kerberos.too_many_etypes"), 1);
	assert_int_equal(session_counter_value(f->s, "kerberos.too_many_padata"), 1);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(t);
	flow_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_probe, setup),
	    cmocka_unit_test_setup(test_as_exchange, setup),
	    cmocka_unit_test_setup(test_errors, setup),
	    cmocka_unit_test_setup(test_kerberoasting, setup),
	    cmocka_unit_test_setup(test_ap_and_others, setup),
	    cmocka_unit_test_setup(test_tcp_every_split, setup),
	    cmocka_unit_test_setup(test_every_truncation, setup),
	    cmocka_unit_test_setup(test_nested_length_lies, setup),
	    cmocka_unit_test_setup(test_tcp_framing_errors, setup),
	    cmocka_unit_test_setup(test_caps, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
