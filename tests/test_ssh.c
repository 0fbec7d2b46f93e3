/* SSH (dissectors/ssh.c): version lines and KEXINIT packets built field by
 * field, fed the way the core feeds a stream (unconsumed bytes kept and
 * handed back with the next ones), and the record read back as JSON. */
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

extern const struct dissector ssh_dissector;
#define D ssh_dissector

/* ---- a stream the way src/dissect.c drives it ---- */

struct flow {
	struct session *s;
	void *state;
	uint8_t *pending[2];
	size_t len[2];
};

static struct flow *flow_open(void)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 22}};
	struct flow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->s = session_detached_new(true, &client, 40000, &server, 22);
	f->state = calloc(1, D.state_size);
	assert_non_null(f->s);
	assert_non_null(f->state);
	return f;
}

static void flow_close(struct flow *f)
{
	D.release(f->state);
	free(f->state);
	free(f->pending[0]);
	free(f->pending[1]);
	session_detached_free(f->s);
	free(f);
}

static void feed(struct flow *f, enum direction dir, const void *data, size_t n)
{
	uint8_t *p = realloc(f->pending[dir], f->len[dir] + n + 1);
	assert_non_null(p);
	if (n)
		memcpy(p + f->len[dir], data, n);
	f->pending[dir] = p;
	f->len[dir] += n;
	while (f->len[dir]) {
		size_t used = D.on_data(f->s, f->state, dir, rd_init(f->pending[dir], f->len[dir]));
		assert_true(used <= f->len[dir]);
		if (used == 0)
			break;
		memmove(f->pending[dir], f->pending[dir] + used, f->len[dir] - used);
		f->len[dir] -= used;
	}
}

static void gap(struct flow *f, enum direction dir, size_t missing)
{
	f->len[dir] = 0;
	D.on_gap(f->s, f->state, dir, missing);
}

static char *render(const struct flow *f)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	D.emit(f->state, &jw.e);
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

/* ---- building messages ---- */

struct buf {
	uint8_t b[8192];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof b->b);
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put_str(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_be32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	put(b, x, 4);
}

static void put_u8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

/* A binary packet around payload: padding to a multiple of 8, at least 4. */
static void put_packet(struct buf *b, const uint8_t *payload, size_t n)
{
	size_t pad = 8 - ((5 + n) % 8);
	if (pad < 4)
		pad += 8;
	put_be32(b, (uint32_t)(1 + n + pad));
	put_u8(b, (uint8_t)pad);
	put(b, payload, n);
	static const uint8_t zeros[16];
	put(b, zeros, pad);
}

static const char *const client_lists[10] = {
    "curve25519-sha256,diffie-hellman-group14-sha256",
    "ssh-ed25519,rsa-sha2-512",
    "aes128-ctr,chacha20-poly1305@openssh.com",
    "aes128-ctr,chacha20-poly1305@openssh.com",
    "hmac-sha2-256,umac-64@openssh.com",
    "hmac-sha2-256,umac-64@openssh.com",
    "none,zlib@openssh.com",
    "none,zlib@openssh.com",
    "",
    "",
};

static const char *const server_lists[10] = {
    "diffie-hellman-group14-sha256,curve25519-sha256",
    "rsa-sha2-512,ssh-ed25519",
    "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com",
    "aes256-gcm@openssh.com,aes128-ctr",
    "umac-64@openssh.com",
    "hmac-sha2-256",
    "none",
    "zlib@openssh.com",
    "",
    "",
};

static void put_kexinit(struct buf *b, const char *const lists[10], bool follows)
{
	struct buf p = {.n = 0};
	put_u8(&p, 20);
	for (int i = 0; i < 16; i++)
		put_u8(&p, (uint8_t)(0xa0 + i));
	for (int i = 0; i < 10; i++) {
		put_be32(&p, (uint32_t)strlen(lists[i]));
		put_str(&p, lists[i]);
	}
	put_u8(&p, follows);
	put_be32(&p, 0);
	put_packet(b, p.b, p.n);
}

static void put_msg(struct buf *b, uint8_t code)
{
	uint8_t p[9] = {code, 1, 2, 3, 4, 5, 6, 7, 8};
	put_packet(b, p, sizeof p);
}

/* The client's and the server's whole stream in a typical session. */
static void client_stream(struct buf *b)
{
	b->n = 0;
	put_str(b, "SSH-2.0-OpenSSH_9.6 Debian-1\r\n");
	put_kexinit(b, client_lists, false);
	put_msg(b, 30);
	put_msg(b, 21);
	put_str(b, "\x00\x00\x00\x40 encrypted garbage");
}

static void server_stream(struct buf *b)
{
	b->n = 0;
	put_str(b, "SSH-2.0-OpenSSH_8.9p1\r\n");
	put_kexinit(b, server_lists, false);
	put_msg(b, 31);
	put_msg(b, 21);
	put_str(b, "\xde\xad\xbe\xef encrypted");
}

static char *session_text(const struct buf *c, const struct buf *v)
{
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, c->b, c->n);
	feed(f, DIR_SERVER, v->b, v->n);
	char *t = render(f);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
	return t;
}

/* ---- tests ---- */

static enum verdict probe(const char *text, enum direction dir)
{
	return D.probe(rd_init(text, strlen(text)), dir);
}

static void test_probe(void **unused)
{
	(void)unused;
	assert_int_equal(probe("SSH-2.0-OpenSSH_9.6\r\n", DIR_CLIENT), VERDICT_YES);
	assert_int_equal(probe("SSH-1.99-Cisco-1.25\n", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("SSH-", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("SS", DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe("", DIR_CLIENT), VERDICT_NEED_MORE);
	/* a server's lines before its version line */
	assert_int_equal(probe("Hi stranger\r\n", DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe("Hi stranger\r\nSSH-2.0-x\r\n", DIR_SERVER), VERDICT_YES);
	assert_int_equal(probe("Hi stranger\r\nSS", DIR_SERVER), VERDICT_NEED_MORE);
	assert_int_equal(probe("Hi stranger\r\n", DIR_CLIENT), VERDICT_NO);
	/* other protocols' first bytes */
	assert_int_equal(probe("GET / HTTP/1.1\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("220 mail ESMTP\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe("EHLO x\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(D.probe(rd_init("\x16\x03\x01\x02\x00\x01", 6), DIR_CLIENT), VERDICT_NO);
	assert_int_equal(D.probe(rd_init("\x16\x03\x01\x02\x00\x01", 6), DIR_SERVER), VERDICT_NO);
	assert_int_equal(D.probe(rd_init("\x03\x00\x00\x13\x0e\xe0", 6), DIR_CLIENT), VERDICT_NO);
	/* a server's text that never says SSH- is given up at the bound */
	char big[3000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(probe(big, DIR_SERVER), VERDICT_NO);
}

static void test_full_session(void **unused)
{
	(void)unused;
	struct buf c, v;
	client_stream(&c);
	server_stream(&v);
	char *t = session_text(&c, &v);
	assert_contains(t, "\"client_banner\":\"SSH-2.0-OpenSSH_9.6 Debian-1\"");
	assert_contains(t, "\"server_banner\":\"SSH-2.0-OpenSSH_8.9p1\"");
	assert_contains(t, "\"version\":2");
	assert_contains(t, "\"proto_version\":\"2.0\",\"software\":\"OpenSSH_9.6\","
	                   "\"comments\":\"Debian-1\"");
	assert_contains(t, "\"proto_version\":\"2.0\",\"software\":\"OpenSSH_8.9p1\",");
	assert_contains(t, "\"cookie\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\"");
	assert_contains(t, "\"kex_algorithms\":\"curve25519-sha256,diffie-hellman-group14-"
	                   "sha256\"");
	assert_contains(t, "\"host_key_algorithms\":\"rsa-sha2-512,ssh-ed25519\"");
	assert_contains(t, "\"compression_s2c\":\"zlib@openssh.com\"");
	assert_contains(t, "\"languages_c2s\":\"\"");
	assert_contains(t, "\"first_kex_follows\":false");
	assert_contains(t, "\"messages\":[\"KEXINIT\",\"KEX_30\",\"NEWKEYS\"]");
	assert_contains(t, "\"messages\":[\"KEXINIT\",\"KEX_31\",\"NEWKEYS\"]");
	assert_contains(t, "\"packets\":3");
	assert_contains(t, "\"newkeys\":true");
	/* md5 of the client's "kex;enc_c2s;mac_c2s;cmp_c2s" and the server's s2c */
	assert_contains(t, "\"hassh\":\"c45cc2cf495615c2aeb31a3408aa626c\"");
	assert_contains(t, "\"hassh_server\":\"394d6cd9e605d5594856f005d94d50d8\"");
	assert_contains(t, "\"kex_algorithm\":\"curve25519-sha256\"");
	assert_contains(t, "\"host_key_algorithm\":\"ssh-ed25519\"");
	assert_contains(t, "\"cipher_c2s\":\"chacha20-poly1305@openssh.com\"");
	assert_contains(t, "\"cipher_s2c\":\"aes128-ctr\"");
	assert_contains(t, "\"mac_c2s\":\"umac-64@openssh.com\"");
	assert_contains(t, "\"mac_s2c\":\"hmac-sha2-256\"");
	assert_contains(t, "\"compression_c2s\":\"none\"");
	assert_contains(t, "\"encrypted\":true");
	assert_contains(t, "\"encrypted_bytes\":");
	assert_contains(t, "SFTP");
	free(t);
}

static void test_summary(void **unused)
{
	(void)unused;
	struct buf c, v;
	client_stream(&c);
	server_stream(&v);
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	feed(f, DIR_SERVER, v.b, v.n);
	char line[256];
	D.summarize(f->state, line, sizeof line);
	assert_string_equal(line, "SSH-2.0-OpenSSH_9.6 Debian-1 -> SSH-2.0-OpenSSH_8.9p1 hassh "
	                          "c45cc2cf495615c2aeb31a3408aa626c");
	flow_close(f);
}

static void test_every_split(void **unused)
{
	(void)unused;
	struct buf c, v;
	client_stream(&c);
	server_stream(&v);
	char *whole = session_text(&c, &v);
	for (size_t i = 0; i <= c.n; i++) {
		struct flow *f = flow_open();
		feed(f, DIR_CLIENT, c.b, i);
		feed(f, DIR_SERVER, v.b, i < v.n ? i : v.n);
		feed(f, DIR_CLIENT, c.b + i, c.n - i);
		feed(f, DIR_SERVER, v.b + (i < v.n ? i : v.n), v.n - (i < v.n ? i : v.n));
		char *t = render(f);
		if (strcmp(t, whole) != 0)
			fail_msg("split at %zu: %s\nwhole: %s", i, t, whole);
		free(t);
		flow_close(f);
	}
	/* and byte by byte */
	struct flow *f = flow_open();
	for (size_t i = 0; i < c.n; i++)
		feed(f, DIR_CLIENT, c.b + i, 1);
	for (size_t i = 0; i < v.n; i++)
		feed(f, DIR_SERVER, v.b + i, 1);
	char *t = render(f);
	assert_string_equal(t, whole);
	free(t);
	flow_close(f);
	free(whole);
}

static void test_every_truncation(void **unused)
{
	(void)unused;
	struct buf c, v;
	client_stream(&c);
	server_stream(&v);
	for (size_t i = 0; i <= c.n; i++) {
		struct flow *f = flow_open();
		feed(f, DIR_CLIENT, c.b, i);
		feed(f, DIR_SERVER, v.b, i < v.n ? i : v.n);
		char *t = render(f);
		assert_contains(t, "\"client_banner\":");
		if (i >= 30)
			assert_contains(t, "\"client_banner\":\"SSH-2.0-OpenSSH_9.6 Debian-1\"");
		else
			assert_contains(t, "\"client_banner\":null");
		free(t);
		assert_false(session_has_alert(f->s, ALERT_MALFORMED));
		flow_close(f);
	}
}

static void test_pre_banner_lines(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	const char *srv = "Hi stranger\r\n  (cow)\r\n\r\nSSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
	feed(f, DIR_SERVER, srv, strlen(srv));
	feed(f, DIR_CLIENT, "SSH-2.0-OpenSSH_9.7\r\n", 21);
	char *t = render(f);
	assert_contains(t, "\"server_banner\":\"SSH-2.0-OpenSSH_9.2p1 Debian-2\"");
	assert_contains(t, "\"pre_banner_lines\":3");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(t);
	flow_close(f);

	/* a server flooding lines without a version line is given up */
	f = flow_open();
	for (int i = 0; i < 70; i++)
		feed(f, DIR_SERVER, "blah\r\n", 6);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "ssh.no_banner"), 1);
	flow_close(f);

	/* a client may not send other lines */
	f = flow_open();
	feed(f, DIR_CLIENT, "hello\r\n", 7);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
}

static void test_version_199_is_v2(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed(f, DIR_SERVER, "SSH-1.99-Cisco-1.25\n", 20);
	feed(f, DIR_CLIENT, "SSH-2.0-Cisco-1.25\n", 19);
	char *t = render(f);
	assert_contains(t, "\"server_banner\":\"SSH-1.99-Cisco-1.25\"");
	assert_contains(t, "\"version\":2");
	assert_contains(t, "\"proto_version\":\"1.99\",\"software\":\"Cisco-1.25\"");
	assert_false(session_has_alert(f->s, ALERT_DEPRECATED_VERSION));
	free(t);
	flow_close(f);
}

static void test_ssh1_session(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed(f, DIR_SERVER, "SSH-1.99-OpenSSH_3.1\n", 21);
	/* SSH-1 public key packet: not SSH-2 framing, consumed unread */
	feed(f, DIR_SERVER, "\x00\x00\x01\x04\x00\x00\x00\x00\x02junk", 13);
	feed(f, DIR_CLIENT, "SSH-1.5-OpenSSH_3.1\n", 20);
	feed(f, DIR_CLIENT, "\x00\x00\x00\x90\x03whatever", 13);
	char *t = render(f);
	assert_contains(t, "\"version\":1");
	assert_contains(t, "\"encrypted\":true");
	assert_true(session_has_alert(f->s, ALERT_DEPRECATED_VERSION));
	free(t);
	flow_close(f);

	f = flow_open();
	feed(f, DIR_SERVER, "SSH-1.5-x\n", 10);
	feed(f, DIR_SERVER, "\x00\x00\x01\x04\x00\x00", 6);
	feed(f, DIR_CLIENT, "SSH-1.5-y\n", 10);
	assert_true(session_has_alert(f->s, ALERT_DEPRECATED_VERSION));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
}

static void test_banner_only(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed(f, DIR_SERVER, "SSH-2.0-OpenSSH_7.4\r\n", 21);
	char *t = render(f);
	assert_contains(t, "\"client_banner\":null");
	assert_contains(t, "\"version\":2");
	assert_contains(t, "\"encrypted\":false");
	assert_lacks(t, "hassh");
	free(t);
	flow_close(f);
}

static void test_bad_packet_length(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, "SSH-2.0-x\r\n\xff\xff\xff\xff\x00\x00", 17);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "ssh.bad_packet_length"), 1);
	/* then consumed unread */
	feed(f, DIR_CLIENT, "more", 4);
	assert_int_equal(f->len[DIR_CLIENT], 0);
	flow_close(f);

	/* padding longer than the packet */
	f = flow_open();
	feed(f, DIR_CLIENT, "SSH-2.0-x\r\n\x00\x00\x00\x08\x20\x14\x00\x00\x00\x00\x00\x00", 23);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "ssh.bad_padding"), 1);
	flow_close(f);

	/* a KEXINIT cut short inside its packet */
	f = flow_open();
	struct buf b = {.n = 0};
	put_str(&b, "SSH-2.0-x\r\n");
	uint8_t p[12] = {20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
	put_packet(&b, p, sizeof p);
	feed(f, DIR_CLIENT, b.b, b.n);
	assert_int_equal(session_counter_value(f->s, "ssh.bad_kexinit"), 1);
	flow_close(f);
}

static void test_protocol_mismatch_text(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed(f, DIR_SERVER, "SSH-2.0-OpenSSH_7.4p1\r\nProtocol mismatch.\n", 42);
	char *t = render(f);
	assert_contains(t, "\"text_message\":\"Protocol mismatch.\"");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(t);
	flow_close(f);
}

static void test_caps(void **unused)
{
	(void)unused;
	/* a name-list over the cap is kept cut, HASSH over the whole list */
	static char longlist[3000];
	memset(longlist, 'a', sizeof longlist - 1);
	const char *lists[10];
	memcpy(lists, client_lists, sizeof lists);
	lists[0] = longlist;
	struct buf c = {.n = 0};
	put_str(&c, "SSH-2.0-x\r\n");
	put_kexinit(&c, lists, true);
	for (int i = 0; i < 40; i++)
		put_msg(&c, 2);
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, c.b, c.n);
	char *t = render(f);
	assert_contains(t, "\"lists_cut\":true");
	assert_contains(t, "\"first_kex_follows\":true");
	assert_int_equal(session_counter_value(f->s, "ssh.namelist_too_long"), 1);
	assert_int_equal(session_counter_value(f->s, "ssh.too_many_messages"), 9);
	assert_contains(t, "\"packets\":41");
	free(t);
	flow_close(f);

	/* an over-long banner is cut */
	char banner[600];
	memcpy(banner, "SSH-2.0-", 8);
	memset(banner + 8, 'b', sizeof banner - 10);
	banner[sizeof banner - 2] = '\r';
	banner[sizeof banner - 1] = '\n';
	f = flow_open();
	feed(f, DIR_CLIENT, banner, sizeof banner);
	assert_int_equal(session_counter_value(f->s, "ssh.banner_too_long"), 1);
	flow_close(f);

	/* an oversize packet is skipped, the stream stays in step */
	struct buf big = {.n = 0};
	put_str(&big, "SSH-2.0-x\r\n");
	put_be32(&big, 100000);
	f = flow_open();
	feed(f, DIR_CLIENT, big.b, big.n);
	static uint8_t zeros[100000];
	feed(f, DIR_CLIENT, zeros, sizeof zeros);
	struct buf k = {.n = 0};
	put_kexinit(&k, client_lists, false);
	feed(f, DIR_CLIENT, k.b, k.n);
	t = render(f);
	assert_contains(t, "\"hassh\":\"c45cc2cf495615c2aeb31a3408aa626c\"");
	assert_int_equal(session_counter_value(f->s, "ssh.packet_too_big"), 1);
	free(t);
	flow_close(f);
}

static void test_gaps(void **unused)
{
	(void)unused;
	struct buf c, v;
	client_stream(&c);
	server_stream(&v);
	/* a gap in the banner: the next line is skipped to */
	struct flow *f = flow_open();
	feed(f, DIR_SERVER, "Hello the", 9);
	gap(f, DIR_SERVER, 10);
	feed(f, DIR_SERVER, "re\r\nSSH-2.0-y\r\n", 15);
	char *t = render(f);
	assert_contains(t, "\"server_banner\":\"SSH-2.0-y\"");
	assert_contains(t, "\"gap\":true");
	free(t);
	flow_close(f);

	/* a gap among packets: the rest is consumed unread */
	f = flow_open();
	feed(f, DIR_CLIENT, c.b, 40);
	gap(f, DIR_CLIENT, 100);
	feed(f, DIR_CLIENT, c.b + 140, c.n - 140);
	assert_int_equal(f->len[DIR_CLIENT], 0);
	t = render(f);
	assert_lacks(t, "hassh");
	free(t);
	flow_close(f);
}

static void test_wire_bytes_kept_raw(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, "SSH-2.0-a\"b\x01\r\n", 15);
	char *t = render(f);
	assert_contains(t, "\"client_banner\":\"SSH-2.0-a\\\"b\\u0001\"");
	free(t);
	flow_close(f);
}

static void test_release_of_empty_state(void **unused)
{
	(void)unused;
	struct flow *f = flow_open();
	char *t = render(f);
	assert_contains(t, "\"client_banner\":null,\"server_banner\":null");
	assert_lacks(t, "note");
	free(t);
	flow_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_full_session),
	    cmocka_unit_test(test_summary),
	    cmocka_unit_test(test_every_split),
	    cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_pre_banner_lines),
	    cmocka_unit_test(test_version_199_is_v2),
	    cmocka_unit_test(test_ssh1_session),
	    cmocka_unit_test(test_banner_only),
	    cmocka_unit_test(test_bad_packet_length),
	    cmocka_unit_test(test_protocol_mismatch_text),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_gaps),
	    cmocka_unit_test(test_wire_bytes_kept_raw),
	    cmocka_unit_test(test_release_of_empty_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
