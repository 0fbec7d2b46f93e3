/* DHCP and BOOTP (dissectors/dhcp.c) on messages built here field by field,
 * and the run's exchange table (src/exchange.c) that gathers one exchange's
 * messages from several flows into one "type": "dhcp" record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "portolan/dissector.h"
#include "portolan/exchange.h"
#include "portolan/json.h"
#include "portolan/output.h"
#include "portolan/session.h"

extern const struct dissector dhcp_dissector;

#define SEC(s) ((usec_t)(s)*USEC_PER_SEC)
#define T0 SEC(1700000000)

/* ---- building messages ---- */

struct wire {
	uint8_t b[4096];
	size_t len;
};

static void w8(struct wire *w, unsigned v)
{
	assert_true(w->len < sizeof w->b);
	w->b[w->len++] = (uint8_t)v;
}

static void w16(struct wire *w, unsigned v)
{
	w8(w, v >> 8);
	w8(w, v & 0xff);
}

static void w32(struct wire *w, uint32_t v)
{
	w16(w, v >> 16);
	w16(w, v & 0xffff);
}

static void wbytes(struct wire *w, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		w8(w, ((const uint8_t *)p)[i]);
}

static void wzero(struct wire *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		w8(w, 0);
}

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t MAC[6] = {0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42};

struct header {
	uint8_t op, htype, hlen;
	uint32_t xid, ciaddr, yiaddr, siaddr, giaddr;
	const uint8_t *chaddr; /* hlen bytes */
	const char *sname, *file;
	bool no_cookie;
};

/* The fixed BOOTP header, sname and file (RFC 2131 figure 1), then the
 * magic cookie. */
static void header(struct wire *w, const struct header *h)
{
	w->len = 0;
	w8(w, h->op);
	w8(w, h->htype);
	w8(w, h->hlen);
	w8(w, 0); /* hops */
	w32(w, h->xid);
	w16(w, 0); /* secs */
	w16(w, 0x8000);
	w32(w, h->ciaddr);
	w32(w, h->yiaddr);
	w32(w, h->siaddr);
	w32(w, h->giaddr);
	size_t n = h->chaddr ? h->hlen : 0;
	if (n > 16)
		n = 16;
	wbytes(w, h->chaddr, n);
	wzero(w, 16 - n);
	size_t sn = h->sname ? strlen(h->sname) : 0, fn = h->file ? strlen(h->file) : 0;
	wbytes(w, h->sname, sn);
	wzero(w, 64 - sn);
	wbytes(w, h->file, fn);
	wzero(w, 128 - fn);
	assert_int_equal(w->len, 236);
	if (!h->no_cookie)
		w32(w, 0x63825363);
}

/* A DHCP message of the given type from the Ethernet client MAC. */
static void dhcp_header(struct wire *w, uint8_t type, uint32_t xid)
{
	struct header h = {.op = (type == 2 || type == 5 || type == 6) ? 2 : 1,
	                   .htype = 1,
	                   .hlen = 6,
	                   .xid = xid,
	                   .chaddr = MAC};
	header(w, &h);
	w8(w, 53);
	w8(w, 1);
	w8(w, type);
}

static void opt(struct wire *w, uint8_t code, const void *data, size_t len)
{
	w8(w, code);
	w8(w, (unsigned)len);
	wbytes(w, data, len);
}

static void opt_str(struct wire *w, uint8_t code, const char *s)
{
	opt(w, code, s, strlen(s));
}

static void opt_u32(struct wire *w, uint8_t code, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	opt(w, code, b, 4);
}

static void opt_end(struct wire *w)
{
	w8(w, 255);
}

/* A file or sname field full of options: written over the zeroed field. */
static void fill_field(struct wire *w, size_t off, size_t field_len, const uint8_t *opts, size_t n)
{
	assert_true(n <= field_len);
	memcpy(w->b + off, opts, n);
}
#define SNAME_OFF 44
#define FILE_OFF 108

/* ---- feeding a flow ---- */

struct dflow {
	struct session *s;
	void *state;
};

static struct dflow flow_open(uint32_t client_ip, uint16_t cport, uint32_t server_ip,
                              uint16_t sport, struct exchange_table *t)
{
	struct ip_addr c = {.version = 4}, sv = {.version = 4};
	c.b[0] = (uint8_t)(client_ip >> 24), c.b[1] = (uint8_t)(client_ip >> 16);
	c.b[2] = (uint8_t)(client_ip >> 8), c.b[3] = (uint8_t)client_ip;
	sv.b[0] = (uint8_t)(server_ip >> 24), sv.b[1] = (uint8_t)(server_ip >> 16);
	sv.b[2] = (uint8_t)(server_ip >> 8), sv.b[3] = (uint8_t)server_ip;
	struct dflow f = {session_detached_new(false, &c, cport, &sv, sport),
	                  calloc(1, dhcp_dissector.state_size)};
	assert_non_null(f.s);
	assert_non_null(f.state);
	session_detached_set_exchanges(f.s, t);
	return f;
}

static struct dflow client_flow(struct exchange_table *t)
{
	return flow_open(0, 68, IP4(255, 255, 255, 255), 67, t);
}

static void flow_close(struct dflow *f)
{
	dhcp_dissector.release(f->state);
	free(f->state);
	session_detached_free(f->s);
}

static void feed_at(struct dflow *f, enum direction dir, usec_t now, const void *p, size_t n)
{
	session_set_now(f->s, now);
	dhcp_dissector.on_data(f->s, f->state, dir, rd_init(p, n));
}

static void feed(struct dflow *f, const struct wire *w)
{
	feed_at(f, DIR_CLIENT, T0, w->b, w->len);
}

static char *render(const struct dflow *f)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	dhcp_dissector.emit(f->state, &jw.e);
	emit_object_end(&jw.e);
	assert_false(jw.overflow);
	char *text = strdup(json_writer_text(&jw));
	json_writer_free(&jw);
	assert_non_null(text);
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

static size_t occurrences(const char *haystack, const char *needle)
{
	size_t n = 0;
	for (const char *p = haystack; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* One message through a fresh flow: its JSON, and whether it was malformed. */
static char *one(const struct wire *w, bool *malformed)
{
	struct dflow f = client_flow(NULL);
	feed(&f, w);
	char *json = render(&f);
	if (malformed)
		*malformed = session_has_alert(f.s, ALERT_MALFORMED);
	flow_close(&f);
	return json;
}

/* ---- the message ---- */

static void test_discover_every_client_option(void **unused)
{
	(void)unused;
	struct wire w;
	dhcp_header(&w, 1, 0x3903f326);
	opt_str(&w, 12, "test0000");
	opt_u32(&w, 50, IP4(192, 168, 0, 10));
	const uint8_t params[] = {1, 3, 6, 15, 42, 119, 121, 252, 199};
	opt(&w, 55, params, sizeof params);
	const uint8_t cid[] = {1, 0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42};
	opt(&w, 61, cid, sizeof cid);
	opt_str(&w, 60, "MSFT 5.0");
	const uint8_t fqdn[] = {0x05, 0,   0,   4,   'h', 'o', 's', 't', 7,
	                        'e',  'x', 'a', 'm', 'p', 'l', 'e', 0};
	opt(&w, 81, fqdn, sizeof fqdn);
	const uint8_t relay[] = {1,    4, 'e', 't', 'h', '0', 2, 3, 0x01, 0x02,
	                         0xff, 6, 3,   's', 'u', 'b', 9, 1, 0};
	opt(&w, 82, relay, sizeof relay);
	opt_end(&w);

	bool malformed;
	char *json = one(&w, &malformed);
	assert_false(malformed);
	assert_contains(json, "\"type\":\"DISCOVER\"");
	assert_contains(json, "\"op\":\"BOOTREQUEST\"");
	assert_contains(json, "\"xid\":\"0x3903f326\"");
	assert_contains(json, "\"client_mac\":\"00:0b:82:01:fc:42\"");
	assert_contains(json, "\"hostname\":\"test0000\"");
	assert_contains(json, "\"requested_ip\":\"192.168.0.10\"");
	assert_contains(json, "\"your_ip\":\"0.0.0.0\"");
	assert_contains(json, "\"server_id\":null");
	assert_contains(json, "\"lease_time\":null");
	assert_contains(json, "\"params\":[\"subnet-mask\",\"router\",\"domain-name-server\","
	                      "\"domain-name\",\"ntp-servers\",\"domain-search\","
	                      "\"classless-static-route\",\"wpad\",\"199\"]");
	assert_contains(json, "\"client_id\":\"00:0b:82:01:fc:42\"");
	assert_contains(json, "\"vendor_class\":\"MSFT 5.0\"");
	assert_contains(json, "\"client_fqdn\":\"host.example\"");
	assert_contains(json, "\"client_fqdn_flags\":5");
	assert_contains(json, "\"relay_agent\":{\"circuit_id\":\"eth0\",\"remote_id\":\"01:02:ff\","
	                      "\"subscriber_id\":\"sub\"}");
	assert_lacks(json, "malformed");
	assert_lacks(json, "bootp");
	free(json);
}

static void test_ack_every_server_option(void **unused)
{
	(void)unused;
	struct wire w;
	struct header h = {.op = 2,
	                   .htype = 1,
	                   .hlen = 6,
	                   .xid = 0x3903f326,
	                   .ciaddr = IP4(192, 168, 0, 10),
	                   .yiaddr = IP4(192, 168, 0, 10),
	                   .siaddr = IP4(192, 168, 0, 1),
	                   .giaddr = IP4(10, 0, 0, 1),
	                   .chaddr = MAC,
	                   .sname = "boot.example",
	                   .file = "pxelinux.0"};
	header(&w, &h);
	opt(&w, 53, "\x05", 1);
	opt_u32(&w, 54, IP4(192, 168, 0, 1));
	opt_u32(&w, 51, 86400);
	opt_u32(&w, 1, IP4(255, 255, 255, 0));
	const uint8_t routers[] = {192, 168, 0, 1, 192, 168, 0, 2};
	opt(&w, 3, routers, sizeof routers);
	const uint8_t dns[] = {8, 8, 8, 8};
	opt(&w, 6, dns, sizeof dns);
	opt(&w, 15, "example.org\0", 12); /* a terminating NUL is dropped */
	opt_str(&w, 56, "welcome");
	opt_end(&w);

	char *json = one(&w, NULL);
	assert_contains(json, "\"type\":\"ACK\"");
	assert_contains(json, "\"op\":\"BOOTREPLY\"");
	assert_contains(json, "\"your_ip\":\"192.168.0.10\"");
	assert_contains(json, "\"server_id\":\"192.168.0.1\"");
	assert_contains(json, "\"lease_time\":86400");
	assert_contains(json, "\"client_ip\":\"192.168.0.10\"");
	assert_contains(json, "\"next_server\":\"192.168.0.1\"");
	assert_contains(json, "\"relay_ip\":\"10.0.0.1\"");
	assert_contains(json, "\"subnet_mask\":\"255.255.255.0\"");
	assert_contains(json, "\"routers\":[\"192.168.0.1\",\"192.168.0.2\"]");
	assert_contains(json, "\"dns_servers\":[\"8.8.8.8\"]");
	assert_contains(json, "\"domain_name\":\"example.org\"");
	assert_contains(json, "\"message\":\"welcome\"");
	assert_contains(json, "\"server_name\":\"boot.example\"");
	assert_contains(json, "\"boot_file\":\"pxelinux.0\"");
	free(json);
}

static void test_every_message_type_name(void **unused)
{
	(void)unused;
	static const char *const names[] = {NULL,
	                                    "DISCOVER",
	                                    "OFFER",
	                                    "REQUEST",
	                                    "DECLINE",
	                                    "ACK",
	                                    "NAK",
	                                    "RELEASE",
	                                    "INFORM",
	                                    "FORCERENEW",
	                                    "LEASEQUERY",
	                                    "LEASEUNASSIGNED",
	                                    "LEASEUNKNOWN",
	                                    "LEASEACTIVE",
	                                    "BULKLEASEQUERY",
	                                    "LEASEQUERYDONE",
	                                    "ACTIVELEASEQUERY",
	                                    "LEASEQUERYSTATUS",
	                                    "TLS"};
	char want[64];
	for (unsigned t = 1; t < sizeof names / sizeof *names; t++) {
		struct wire w;
		dhcp_header(&w, (uint8_t)t, 1);
		opt_end(&w);
		char *json = one(&w, NULL);
		snprintf(want, sizeof want, "\"type\":\"%s\"", names[t]);
		assert_contains(json, want);
		free(json);
	}
	struct wire w;
	dhcp_header(&w, 106, 1); /* unknown: its number */
	opt_end(&w);
	char *json = one(&w, NULL);
	assert_contains(json, "\"type\":\"106\"");
	free(json);
}

static void test_other_hardware_types(void **unused)
{
	(void)unused;
	const uint8_t ib[16] = {0x80, 0, 0, 0x48, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 2, 0xc9, 0x03};
	struct wire w;
	struct header h = {.op = 1, .htype = 32, .hlen = 16, .xid = 7, .chaddr = ib};
	header(&w, &h);
	opt(&w, 53, "\x01", 1);
	const uint8_t duid[] = {255, 0, 0, 0, 1, 0, 4, 0xab, 0xcd};
	opt(&w, 61, duid, sizeof duid); /* RFC 4361: IAID and DUID, as hex */
	opt_end(&w);
	char *json = one(&w, NULL);
	assert_contains(json, "\"client_mac\":\"80:00:00:48:fe:80:00:00:00:00:00:00:00:02:c9:03\"");
	assert_contains(json, "\"htype\":32");
	assert_contains(json, "\"client_id\":\"ff:00:00:00:01:00:04:ab:cd\"");
	free(json);

	/* hardware type 0, no address; a client id of type 0 is text */
	struct header h0 = {.op = 1, .htype = 0, .hlen = 0, .xid = 0x155c};
	header(&w, &h0);
	opt(&w, 53, "\x03", 1);
	const uint8_t cisco[] = {0, 'c', 'i', 's', 'c', 'o', '-', 'c', 'c', '0', '0'};
	opt(&w, 61, cisco, sizeof cisco);
	opt_end(&w);
	json = one(&w, NULL);
	assert_contains(json, "\"client_mac\":null");
	assert_contains(json, "\"htype\":0");
	assert_contains(json, "\"client_id\":\"cisco-cc00\"");
	free(json);

	/* hlen past chaddr: malformed, the 16 bytes shown */
	struct header hb = {.op = 1, .htype = 1, .hlen = 17, .xid = 1, .chaddr = ib};
	header(&w, &hb);
	opt_end(&w);
	bool malformed;
	json = one(&w, &malformed);
	assert_true(malformed);
	assert_contains(json, "\"malformed\":true");
	assert_contains(json, "\"client_mac\":\"80:00:00:48");
	free(json);
}

static void test_plain_bootp(void **unused)
{
	(void)unused;
	struct wire w;
	struct header h = {
	    .op = 1, .htype = 1, .hlen = 6, .xid = 42, .chaddr = MAC, .no_cookie = true};
	header(&w, &h);
	wzero(&w, 64); /* the RFC 951 vendor area */
	assert_int_equal(dhcp_dissector.probe(rd_init(w.b, w.len), DIR_CLIENT), VERDICT_YES);
	bool malformed;
	char *json = one(&w, &malformed);
	assert_false(malformed);
	assert_contains(json, "\"type\":\"BOOTREQUEST\"");
	assert_contains(json, "\"bootp\":true");
	free(json);

	struct header r = {.op = 2,
	                   .htype = 1,
	                   .hlen = 6,
	                   .xid = 42,
	                   .chaddr = MAC,
	                   .yiaddr = IP4(10, 1, 1, 5),
	                   .sname = "srv",
	                   .file = "/tftpboot/vmunix",
	                   .no_cookie = true};
	header(&w, &r);
	json = one(&w, &malformed); /* 236 bytes, no vendor area: still BOOTP */
	assert_false(malformed);
	assert_contains(json, "\"type\":\"BOOTREPLY\"");
	assert_contains(json, "\"your_ip\":\"10.1.1.5\"");
	assert_contains(json, "\"boot_file\":\"/tftpboot/vmunix\"");
	free(json);

	/* a cookie but no option 53: BOOTP with RFC 1497 vendor extensions */
	struct header c = {.op = 2, .htype = 1, .hlen = 6, .xid = 43, .chaddr = MAC};
	header(&w, &c);
	opt_u32(&w, 1, IP4(255, 0, 0, 0));
	opt_end(&w);
	json = one(&w, NULL);
	assert_contains(json, "\"type\":\"BOOTREPLY\"");
	assert_contains(json, "\"subnet_mask\":\"255.0.0.0\"");
	assert_lacks(json, "bootp");
	free(json);
}

/* ---- option overload (52) and long options (RFC 3396) ---- */

static void test_overload(void **unused)
{
	(void)unused;
	static const struct {
		uint8_t value;
		const char *name;
	} cases[] = {{1, "file"}, {2, "sname"}, {3, "both"}};
	for (size_t i = 0; i < 3; i++) {
		struct wire w;
		struct header h = {.op = 2, .htype = 1, .hlen = 6, .xid = 5, .chaddr = MAC};
		header(&w, &h);
		opt(&w, 52, &cases[i].value, 1);
		opt_end(&w);
		/* the message type in file, the domain in sname */
		const uint8_t in_file[] = {53, 1, 2, 0, 0, 12, 3, 'p', 'c', '1', 255};
		const uint8_t in_sname[] = {15, 4, 'c', 'o', 'r', 'p', 255};
		if (cases[i].value & 1)
			fill_field(&w, FILE_OFF, 128, in_file, sizeof in_file);
		else
			memcpy(w.b + FILE_OFF, "boot.img", 8);
		if (cases[i].value & 2)
			fill_field(&w, SNAME_OFF, 64, in_sname, sizeof in_sname);
		else
			memcpy(w.b + SNAME_OFF, "srv", 3);
		bool malformed;
		char *json = one(&w, &malformed);
		assert_false(malformed);
		char want[64];
		snprintf(want, sizeof want, "\"overload\":\"%s\"", cases[i].name);
		assert_contains(json, want);
		if (cases[i].value & 1) {
			assert_contains(json, "\"type\":\"OFFER\"");
			assert_contains(json, "\"hostname\":\"pc1\"");
			assert_lacks(json, "boot_file");
		} else {
			assert_contains(json, "\"type\":\"BOOTREPLY\"");
			assert_contains(json, "\"boot_file\":\"boot.img\"");
		}
		if (cases[i].value & 2) {
			assert_contains(json, "\"domain_name\":\"corp\"");
			assert_lacks(json, "server_name");
		} else {
			assert_contains(json, "\"server_name\":\"srv\"");
		}
		free(json);
	}

	/* a bad overload value, and an option running past the file field */
	struct wire w;
	dhcp_header(&w, 2, 5);
	opt(&w, 52, "\x04", 1);
	opt_end(&w);
	bool malformed;
	char *json = one(&w, &malformed);
	assert_true(malformed);
	assert_lacks(json, "overload");
	free(json);

	dhcp_header(&w, 2, 5);
	opt(&w, 52, "\x01", 1);
	opt_end(&w);
	w.b[FILE_OFF + 126] = 12;
	w.b[FILE_OFF + 127] = 10; /* 10 bytes promised, none left in the field */
	json = one(&w, &malformed);
	assert_true(malformed);
	assert_contains(json, "\"type\":\"OFFER\"");
	free(json);
}

static void test_long_options_concatenated(void **unused)
{
	(void)unused;
	struct wire w;
	dhcp_header(&w, 1, 9);
	opt_str(&w, 12, "split-");
	opt_str(&w, 60, "vendor");
	opt_str(&w, 12, "host");
	/* a parameter list of 300 entries in three pieces: 64 kept */
	uint8_t many[100];
	for (int i = 0; i < 100; i++)
		many[i] = 1;
	for (int k = 0; k < 3; k++)
		opt(&w, 55, many, sizeof many);
	/* a relay agent option whose sub-option is cut between instances */
	opt(&w, 82,
	    "\x01\x06"
	    "ab",
	    4);
	opt(&w, 82, "cdef", 4);
	opt_end(&w);

	struct dflow f = client_flow(NULL);
	feed(&f, &w);
	char *json = render(&f);
	assert_false(session_has_alert(f.s, ALERT_MALFORMED));
	assert_contains(json, "\"hostname\":\"split-host\"");
	assert_contains(json, "\"circuit_id\":\"abcdef\"");
	assert_int_equal(occurrences(json, "\"subnet-mask\""), 64);
	assert_int_equal(session_counter_value(f.s, "dhcp.too_many_params"), 1);
	free(json);
	flow_close(&f);

	/* one option continued from the options field into file (RFC 3396 5) */
	dhcp_header(&w, 1, 9);
	opt(&w, 52, "\x01", 1);
	opt_str(&w, 12, "abc");
	opt_end(&w);
	const uint8_t more[] = {12, 3, 'd', 'e', 'f', 255};
	fill_field(&w, FILE_OFF, 128, more, sizeof more);
	json = one(&w, NULL);
	assert_contains(json, "\"hostname\":\"abcdef\"");
	free(json);
}

/* ---- broken input ---- */

static void test_option_length_lies(void **unused)
{
	(void)unused;
	struct {
		uint8_t code;
		const char *data;
		size_t len;
		const char *still; /* a key the rest of the message still gives */
	} lies[] = {
	    {53, "\x01\x01", 2, "\"type\":\"BOOTREQUEST\""},
	    {53, "\x00", 1, "\"type\":\"BOOTREQUEST\""},
	    {50, "\x01\x02\x03", 3, "\"requested_ip\":null"},
	    {54, "\x01\x02\x03\x04\x05", 5, "\"server_id\":null"},
	    {51, "", 0, "\"lease_time\":null"},
	    {3, "\x01\x02\x03", 3, "\"xid\""},
	    {81, "\x04\x00", 2, "\"xid\""},
	    {81,
	     "\x04\x00\x00\x05"
	     "ab",
	     6, "\"client_fqdn\":\"\""},
	    {82,
	     "\x01\x09"
	     "ab",
	     4, "\"relay_agent\":{}"},
	    {61, "\x01", 1, "\"xid\""},
	};
	for (size_t i = 0; i < sizeof lies / sizeof *lies; i++) {
		struct wire w;
		struct header h = {.op = 1, .htype = 1, .hlen = 6, .xid = 1, .chaddr = MAC};
		header(&w, &h);
		opt(&w, lies[i].code, lies[i].data, lies[i].len);
		opt_end(&w);
		bool malformed;
		char *json = one(&w, &malformed);
		if (!malformed)
			fail_msg("case %zu not malformed: %s", i, json);
		assert_contains(json, lies[i].still);
		free(json);
	}

	/* an option whose length runs past the datagram */
	struct wire w;
	dhcp_header(&w, 3, 1);
	opt_str(&w, 12, "kept");
	w8(&w, 60);
	w8(&w, 200);
	wbytes(&w, "short", 5);
	bool malformed;
	char *json = one(&w, &malformed);
	assert_true(malformed);
	assert_contains(json, "\"type\":\"REQUEST\"");
	assert_contains(json, "\"hostname\":\"kept\"");
	assert_lacks(json, "vendor_class");
	free(json);

	/* an op that is neither request nor reply */
	struct header h = {.op = 3, .htype = 1, .hlen = 6, .xid = 1, .chaddr = MAC};
	header(&w, &h);
	opt_end(&w);
	json = one(&w, &malformed);
	assert_true(malformed);
	assert_contains(json, "\"op\":null");
	free(json);
}

static void test_truncation_at_every_offset(void **unused)
{
	(void)unused;
	struct wire w;
	size_t bounds[8], nb = 0; /* where an option ends: a clean cut */
	dhcp_header(&w, 1, 0x3903f326);
	bounds[nb++] = 240;
	bounds[nb++] = w.len;
	opt_str(&w, 12, "test0000");
	bounds[nb++] = w.len;
	opt_u32(&w, 50, IP4(192, 168, 0, 10));
	bounds[nb++] = w.len;
	const uint8_t params[] = {1, 3, 6, 15};
	opt(&w, 55, params, sizeof params);
	bounds[nb++] = w.len;
	const uint8_t fqdn[] = {0x05, 0, 0, 4, 'h', 'o', 's', 't', 0};
	opt(&w, 81, fqdn, sizeof fqdn);
	bounds[nb++] = w.len;
	opt(&w, 82, "\x01\x02xy\x02\x01z", 7);
	bounds[nb++] = w.len;
	opt_end(&w);
	bounds[nb++] = w.len;

	for (size_t cut = 0; cut <= w.len; cut++) {
		struct dflow f = client_flow(NULL);
		uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees overreads */
		assert_non_null(copy);
		memcpy(copy, w.b, cut);
		feed_at(&f, DIR_CLIENT, T0, copy, cut);
		char *json = render(&f);
		bool malformed = session_has_alert(f.s, ALERT_MALFORMED);
		bool clean = cut >= 236 && cut < 240; /* BOOTP without vendor area */
		for (size_t i = 0; i < nb; i++)
			clean = clean || cut == bounds[i];
		if (cut < 236) {
			assert_string_equal(json, "{\"messages\":[]}");
		} else {
			assert_contains(json, "\"xid\":\"0x3903f326\"");
			if (cut >= 243)
				assert_contains(json, "\"type\":\"DISCOVER\"");
		}
		if (clean == malformed)
			fail_msg("cut at %zu: malformed %d: %s", cut, malformed, json);
		free(json);
		free(copy);
		flow_close(&f);
	}
}

static void test_probe(void **unused)
{
	(void)unused;
	struct wire w;
	dhcp_header(&w, 1, 1);
	opt_end(&w);
	assert_int_equal(dhcp_dissector.probe(rd_init(w.b, w.len), DIR_CLIENT), VERDICT_YES);
	assert_int_equal(dhcp_dissector.probe(rd_init(w.b, 235), DIR_CLIENT), VERDICT_NO);
	assert_int_equal(dhcp_dissector.probe(rd_init(NULL, 0), DIR_CLIENT), VERDICT_NO);
	w.b[0] = 3;
	assert_int_equal(dhcp_dissector.probe(rd_init(w.b, w.len), DIR_CLIENT), VERDICT_NO);
	w.b[0] = 1;
	w.b[2] = 17;
	assert_int_equal(dhcp_dissector.probe(rd_init(w.b, w.len), DIR_CLIENT), VERDICT_NO);
	w.b[2] = 6;
	w.b[236] = 0; /* no cookie, shorter than BOOTP's 300 bytes */
	assert_int_equal(dhcp_dissector.probe(rd_init(w.b, w.len), DIR_CLIENT), VERDICT_NO);

	/* other protocols' first datagrams */
	const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0,   1, 0, 0, 0, 0, 0,
	                       0,    3,    'w',  'w',  'w', 0, 0, 1, 0, 1};
	assert_int_equal(dhcp_dissector.probe(rd_init(dns, sizeof dns), DIR_CLIENT), VERDICT_NO);
	uint8_t ntp[48] = {0x23};
	assert_int_equal(dhcp_dissector.probe(rd_init(ntp, sizeof ntp), DIR_CLIENT), VERDICT_NO);
	uint8_t text[400];
	memset(text, 'A', sizeof text); /* 0x41: no op */
	assert_int_equal(dhcp_dissector.probe(rd_init(text, sizeof text), DIR_CLIENT), VERDICT_NO);
}

/* ---- caps ---- */

static void test_caps(void **unused)
{
	(void)unused;
	struct dflow f = client_flow(NULL);
	struct wire w;
	dhcp_header(&w, 1, 1);
	opt_end(&w);
	for (int i = 0; i < 70; i++)
		feed(&f, &w);
	char *json = render(&f);
	assert_int_equal(occurrences(json, "\"type\":\"DISCOVER\""), 64);
	assert_contains(json, "\"truncated\":6");
	assert_int_equal(session_counter_value(f.s, "dhcp.too_many_messages"), 6);
	free(json);
	flow_close(&f);

	/* more option instances than kept; more routers than kept */
	dhcp_header(&w, 2, 1);
	uint8_t routers[40];
	for (int i = 0; i < 40; i++)
		routers[i] = (uint8_t)i;
	opt(&w, 3, routers, sizeof routers);
	for (int i = 0; i < 300; i++)
		opt(&w, 250, "", 0);
	opt_str(&w, 12, "lost");
	opt_end(&w);
	f = client_flow(NULL);
	feed(&f, &w);
	json = render(&f);
	assert_int_equal(session_counter_value(f.s, "dhcp.too_many_options"), 1);
	assert_lacks(json, "lost");
	assert_contains(json, "\"routers\":[\"0.1.2.3\",\"4.5.6.7\",\"8.9.10.11\","
	                      "\"12.13.14.15\",\"16.17.18.19\",\"20.21.22.23\","
	                      "\"24.25.26.27\",\"28.29.30.31\"]");
	free(json);
	flow_close(&f);

	/* texts are cut, wire bytes kept raw for the emitter to escape */
	char long_name[200];
	memset(long_name, 'n', sizeof long_name);
	long_name[0] = '"';
	long_name[1] = 0x1b;
	dhcp_header(&w, 1, 1);
	opt(&w, 12, long_name, sizeof long_name);
	opt_end(&w);
	json = one(&w, NULL);
	assert_contains(json, "\"hostname\":\"\\\"\\u001bnnnn");
	char *h = strstr(json, "\"hostname\":\"");
	assert_non_null(h);
	assert_int_equal(strchr(h + 16, '"') - (h + 12), 64 + 6); /* \" and \u001b */
	free(json);
}

static void test_empty_state_and_summary(void **unused)
{
	(void)unused;
	struct dflow f = client_flow(NULL);
	char *json = render(&f);
	assert_string_equal(json, "{\"messages\":[]}");
	free(json);
	char line[128] = "x";
	dhcp_dissector.summarize(f.state, line, sizeof line);
	assert_string_equal(line, "");

	struct wire w;
	dhcp_header(&w, 1, 1);
	opt_str(&w, 12, "pc\x1b");
	opt_end(&w);
	feed(&f, &w);
	dhcp_dissector.summarize(f.state, line, sizeof line);
	assert_string_equal(line, "00:0b:82:01:fc:42 DISCOVER (pc\\x1b)");
	flow_close(&f);
}

/* ---- the exchange across flows ---- */

struct written {
	char *json[16];
	char *text[16];
	size_t n;
};

static void collect(void *ctx, const struct exchange_record *x)
{
	struct written *out = ctx;
	assert_true(out->n < 16);
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	exchange_record_emit(&jw.e, x);
	out->json[out->n] = strdup(json_writer_text(&jw));
	json_writer_free(&jw);
	char line[512];
	x->ops->summarize(x->state, line, sizeof line);
	out->text[out->n] = strdup(line);
	out->n++;
}

static void written_free(struct written *out)
{
	for (size_t i = 0; i < out->n; i++) {
		free(out->json[i]);
		free(out->text[i]);
	}
	out->n = 0;
}

static void server_msg(struct wire *w, uint8_t type, uint32_t xid)
{
	struct header h = {.op = 2,
	                   .htype = 1,
	                   .hlen = 6,
	                   .xid = xid,
	                   .chaddr = MAC,
	                   .yiaddr = IP4(192, 168, 0, 10)};
	header(w, &h);
	w8(w, 53);
	w8(w, 1);
	w8(w, type);
	opt_u32(w, 54, IP4(192, 168, 0, 1));
	opt_u32(w, 51, 3600);
	opt_end(w);
}

static void client_msg(struct wire *w, uint8_t type, uint32_t xid)
{
	dhcp_header(w, type, xid);
	opt_str(w, 12, "laptop");
	opt_end(w);
}

static void test_exchange_dora_across_flows(void **unused)
{
	(void)unused;
	struct written out = {0};
	struct counters counters = {0};
	struct exchange_table *t = exchange_table_new(8, &counters, collect, &out);
	assert_non_null(t);
	/* DISCOVER and REQUEST broadcast; OFFER to the offered address; ACK
	 * broadcast; a relay's copy on 67 <-> 67 */
	struct dflow bcast = client_flow(t);
	struct dflow offer = flow_open(IP4(192, 168, 0, 10), 68, IP4(192, 168, 0, 1), 67, t);
	struct dflow ack = flow_open(IP4(255, 255, 255, 255), 68, IP4(192, 168, 0, 1), 67, t);
	struct dflow relay = flow_open(IP4(10, 0, 0, 1), 67, IP4(192, 168, 0, 1), 67, t);
	struct wire w;

	client_msg(&w, 1, 0x3903f326);
	feed_at(&bcast, DIR_CLIENT, T0, w.b, w.len);
	server_msg(&w, 2, 0x3903f326);
	feed_at(&offer, DIR_SERVER, T0 + 1000, w.b, w.len);
	client_msg(&w, 3, 0x3903f326);
	feed_at(&relay, DIR_CLIENT, T0 + SEC(1), w.b, w.len);
	feed_at(&bcast, DIR_CLIENT, T0 + SEC(1), w.b, w.len);
	exchange_table_expire(t, T0 + SEC(1));
	assert_int_equal(out.n, 0);
	server_msg(&w, 5, 0x3903f326);
	feed_at(&ack, DIR_SERVER, T0 + SEC(1) + 500, w.b, w.len);
	assert_int_equal(exchange_table_count(t), 1);
	exchange_table_expire(t, T0 + SEC(2)); /* still lingering */
	assert_int_equal(out.n, 0);
	feed_at(&ack, DIR_SERVER, T0 + SEC(2), w.b, w.len); /* a duplicate ACK joins */
	exchange_table_expire(t, T0 + SEC(5));
	assert_int_equal(out.n, 1);
	assert_int_equal(exchange_table_count(t), 0);

	const char *j = out.json[0];
	assert_true(strncmp(j, "{\"type\":\"dhcp\",\"ts_start\":1700000000.000000,", 44) == 0);
	assert_contains(j, "\"ts_end\":1700000002.000000");
	assert_contains(j, "\"end_reason\":\"complete\"");
	assert_contains(j, "\"xid\":\"0x3903f326\"");
	assert_contains(j, "\"client_mac\":\"00:0b:82:01:fc:42\"");
	assert_contains(j, "\"hostname\":\"laptop\"");
	assert_contains(j, "\"assigned_ip\":\"192.168.0.10\"");
	assert_contains(j, "\"server_id\":\"192.168.0.1\"");
	assert_contains(j, "\"lease_time\":3600");
	assert_contains(j, "\"result\":\"ACK\"");
	assert_int_equal(occurrences(j, "\"src_ip\""), 6);
	assert_contains(j, "{\"type\":\"DISCOVER\",\"ts\":1700000000.000000,\"src_ip\":\"0.0.0.0\","
	                   "\"src_port\":68,\"dst_ip\":\"255.255.255.255\",\"dst_port\":67,");
	assert_contains(j,
	                "{\"type\":\"OFFER\",\"ts\":1700000000.001000,\"src_ip\":\"192.168.0.1\","
	                "\"src_port\":67,\"dst_ip\":\"192.168.0.10\",\"dst_port\":68,");
	assert_contains(j,
	                "{\"type\":\"REQUEST\",\"ts\":1700000001.000000,\"src_ip\":\"10.0.0.1\"");
	/* in order */
	assert_true(strstr(j, "\"type\":\"DISCOVER\"") < strstr(j, "\"type\":\"OFFER\""));
	assert_true(strstr(j, "\"type\":\"OFFER\"") < strstr(j, "\"type\":\"REQUEST\""));
	assert_true(strstr(j, "\"type\":\"REQUEST\"") < strstr(j, "\"type\":\"ACK\""));
	assert_string_equal(out.text[0], "DHCP exchange 0x3903f326 00:0b:82:01:fc:42 DISCOVER "
	                                 "OFFER REQUEST REQUEST ACK ACK -> 192.168.0.10 (laptop)");
	assert_int_equal(counters_get(&counters, "exchange.created"), 1);

	/* the flows' own records keep their own messages */
	char *json = render(&bcast);
	assert_int_equal(occurrences(json, "\"type\":"), 2);
	free(json);

	written_free(&out);
	exchange_table_free(t);
	flow_close(&bcast);
	flow_close(&offer);
	flow_close(&ack);
	flow_close(&relay);
}

static void test_exchange_timeout_and_flush(void **unused)
{
	(void)unused;
	struct written out = {0};
	struct exchange_table *t = exchange_table_new(8, NULL, collect, &out);
	struct dflow f = client_flow(t);
	struct wire w;

	client_msg(&w, 1, 1);
	feed_at(&f, DIR_CLIENT, T0, w.b, w.len);
	client_msg(&w, 1, 2);
	feed_at(&f, DIR_CLIENT, T0 + SEC(30), w.b, w.len);
	exchange_table_expire(t, T0 + SEC(59));
	assert_int_equal(out.n, 0);
	exchange_table_expire(t, T0 + SEC(60)); /* 60 s without a message */
	assert_int_equal(out.n, 1);
	assert_contains(out.json[0], "\"end_reason\":\"idle\"");
	assert_contains(out.json[0], "\"xid\":\"0x00000001\"");
	assert_contains(out.json[0], "\"assigned_ip\":null");
	assert_contains(out.json[0], "\"result\":\"DISCOVER\"");

	/* DECLINE and RELEASE end an exchange with no answer */
	client_msg(&w, 7, 3);
	feed_at(&f, DIR_CLIENT, T0 + SEC(61), w.b, w.len);
	exchange_table_expire(t, T0 + SEC(63));
	assert_int_equal(out.n, 2);
	assert_contains(out.json[1], "\"xid\":\"0x00000003\"");
	assert_contains(out.json[1], "\"end_reason\":\"complete\"");

	/* a message after the linger starts a new exchange; flush writes the
	 * open ones in the order they began */
	feed_at(&f, DIR_CLIENT, T0 + SEC(64), w.b, w.len);
	exchange_table_free(t); /* xid 2 (idle at 90 s) and xid 3 again */
	assert_int_equal(out.n, 4);
	assert_contains(out.json[2], "\"xid\":\"0x00000002\"");
	assert_contains(out.json[2], "\"end_reason\":\"end-of-input\"");
	assert_contains(out.json[3], "\"xid\":\"0x00000003\"");
	assert_contains(out.json[3], "\"end_reason\":\"complete\"");
	written_free(&out);
	flow_close(&f);
}

static void test_exchange_caps(void **unused)
{
	(void)unused;
	struct written out = {0};
	struct counters counters = {0};
	struct exchange_table *t = exchange_table_new(2, &counters, collect, &out);
	struct dflow f = client_flow(t);
	struct wire w;

	for (uint32_t xid = 1; xid <= 3; xid++) {
		client_msg(&w, 1, xid);
		feed_at(&f, DIR_CLIENT, T0 + xid, w.b, w.len);
	}
	assert_int_equal(out.n, 1); /* the oldest made room */
	assert_contains(out.json[0], "\"xid\":\"0x00000001\"");
	assert_contains(out.json[0], "\"end_reason\":\"evicted\"");
	assert_int_equal(counters_get(&counters, "exchange.evicted"), 1);
	assert_int_equal(exchange_table_count(t), 2);

	/* messages per exchange are capped */
	for (int i = 0; i < 20; i++)
		feed_at(&f, DIR_CLIENT, T0 + SEC(1), w.b, w.len);
	exchange_table_flush(t);
	assert_int_equal(out.n, 3);
	assert_int_equal(occurrences(out.json[2], "\"src_ip\""), 16);
	assert_contains(out.json[2], "\"truncated\":5");
	assert_int_equal(session_counter_value(f.s, "dhcp.exchange_too_many_messages"), 5);
	written_free(&out);
	exchange_table_free(t);

	/* a session without a table keeps its own record only */
	flow_close(&f);
	f = client_flow(NULL);
	feed(&f, &w);
	char *json = render(&f);
	assert_contains(json, "\"DISCOVER\"");
	free(json);
	flow_close(&f);
}

static void to_output(void *ctx, const struct exchange_record *x)
{
	output_exchange(ctx, x);
}

/* Both writers render the exchange record: JSON Lines and one text line. */
static void test_exchange_writers(void **unused)
{
	(void)unused;
	char path[] = "/tmp/test_dhcp_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);

	for (int fmt = 0; fmt < 2; fmt++) {
		struct output o;
		char err[128];
		assert_int_equal(
		    output_open(&o, path, fmt ? OUTPUT_JSON : OUTPUT_TEXT, false, err, sizeof err),
		    0);
		struct exchange_table *t = exchange_table_new(4, NULL, to_output, &o);
		struct dflow f = client_flow(t);
		struct wire w;
		client_msg(&w, 1, 0x3903f326);
		feed_at(&f, DIR_CLIENT, T0, w.b, w.len);
		server_msg(&w, 5, 0x3903f326);
		feed_at(&f, DIR_SERVER, T0 + 1, w.b, w.len);
		exchange_table_free(t);
		flow_close(&f);
		output_close(&o);

		char buf[4096] = "";
		FILE *fp = fopen(path, "r");
		assert_non_null(fp);
		size_t n = fread(buf, 1, sizeof buf - 1, fp);
		fclose(fp);
		buf[n] = '\0';
		if (fmt)
			assert_contains(buf, "{\"type\":\"dhcp\",");
		else
			assert_string_equal(buf,
			                    "DHCP exchange 0x3903f326 00:0b:82:01:fc:42 DISCOVER "
			                    "ACK -> 192.168.0.10 (laptop)\n");
		assert_int_equal(occurrences(buf, "\n"), 1);
	}
	remove(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_discover_every_client_option),
	    cmocka_unit_test(test_ack_every_server_option),
	    cmocka_unit_test(test_every_message_type_name),
	    cmocka_unit_test(test_other_hardware_types),
	    cmocka_unit_test(test_plain_bootp),
	    cmocka_unit_test(test_overload),
	    cmocka_unit_test(test_long_options_concatenated),
	    cmocka_unit_test(test_option_length_lies),
	    cmocka_unit_test(test_truncation_at_every_offset),
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_empty_state_and_summary),
	    cmocka_unit_test(test_exchange_dora_across_flows),
	    cmocka_unit_test(test_exchange_timeout_and_flush),
	    cmocka_unit_test(test_exchange_caps),
	    cmocka_unit_test(test_exchange_writers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
