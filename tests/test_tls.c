/* TLS (dissectors/tls.c): records fed the way the core feeds a stream
 * (unconsumed bytes kept and handed back with the next ones), in arbitrary
 * splits, and the record read back as JSON.  Test data: RFC 8448 section 3
 * (the simple 1-RTT handshake's ClientHello and ServerHello), a TLS 1.2
 * hello pair built field by field (with GREASE), and a self-signed
 * certificate made with `openssl req -x509` when this test was written.
 * Expected JA3/JA4 values were computed independently (python3 hashlib over
 * the same bytes; the JA4 hash step checked against the FoxIO spec's
 * published examples). */
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
#include "portolan/tls.h"

extern const struct dissector tls_dissector;

/* ---- bytes ---- */

struct buf {
	uint8_t *p;
	size_t n;
};

static void put(struct buf *b, const void *data, size_t n)
{
	uint8_t *p = realloc(b->p, b->n + n + 1);
	assert_non_null(p);
	if (n)
		memcpy(p + b->n, data, n);
	b->p = p;
	b->n += n;
}

static void put_hex(struct buf *b, const char *hex)
{
	for (const char *h = hex; *h;) {
		if (*h == ' ' || *h == '\n') {
			h++;
			continue;
		}
		unsigned v;
		assert_int_equal(sscanf(h, "%2x", &v), 1);
		uint8_t c = (uint8_t)v;
		put(b, &c, 1);
		h += 2;
	}
}

static void put_u8(struct buf *b, unsigned v)
{
	uint8_t c = (uint8_t)v;
	put(b, &c, 1);
}

static void put_u16(struct buf *b, unsigned v)
{
	put_u8(b, v >> 8);
	put_u8(b, v & 0xff);
}

static void put_u24(struct buf *b, unsigned v)
{
	put_u8(b, v >> 16);
	put_u16(b, v & 0xffff);
}

/* One record of type `type` around the given bytes. */
static void put_record(struct buf *b, unsigned type, const void *data, size_t n)
{
	put_u8(b, type);
	put_u16(b, 0x0303);
	put_u16(b, (unsigned)n);
	put(b, data, n);
}

static void put_record_hex(struct buf *b, unsigned type, const char *hex)
{
	struct buf m = {0};
	put_hex(&m, hex);
	put_record(b, type, m.p, m.n);
	free(m.p);
}

/* ---- a stream the way src/dissect.c drives it ---- */

struct flow {
	struct session *s;
	void *state;
	uint8_t *pending[2];
	size_t len[2];
	size_t consumed[2];
};

static struct flow *flow_open(void)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 44}};
	struct flow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->s = session_detached_new(true, &client, 40000, &server, 443);
	f->state = calloc(1, tls_dissector.state_size);
	assert_non_null(f->s);
	assert_non_null(f->state);
	return f;
}

static void flow_close(struct flow *f)
{
	tls_dissector.release(f->state);
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
		size_t used = tls_dissector.on_data(f->s, f->state, dir,
		                                    rd_init(f->pending[dir], f->len[dir]));
		assert_true(used <= f->len[dir]);
		if (used == 0)
			break;
		memmove(f->pending[dir], f->pending[dir] + used, f->len[dir] - used);
		f->len[dir] -= used;
		f->consumed[dir] += used;
	}
}

static void feed_buf(struct flow *f, enum direction dir, const struct buf *b)
{
	feed(f, dir, b->p, b->n);
}

static void gap(struct flow *f, enum direction dir, size_t missing)
{
	f->len[dir] = 0;
	tls_dissector.on_gap(f->s, f->state, dir, missing);
}

static void end(struct flow *f)
{
	tls_dissector.on_end(f->s, f->state);
}

static char *render_with(void (*emit)(const void *, struct emitter *), const void *state)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	emit(state, &jw.e);
	emit_object_end(&jw.e);
	assert_false(jw.overflow);
	char *text = strdup(json_writer_text(&jw));
	json_writer_free(&jw);
	assert_non_null(text);
	return text;
}

static char *render(const struct flow *f)
{
	return render_with(tls_dissector.emit, f->state);
}

static void emit_facts(const void *t, struct emitter *e)
{
	tls_facts_emit(t, e);
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

/* ---- test data ---- */

/* RFC 8448 section 3: the ClientHello (SNI "server", TLS 1.3 only). */
static const char rfc8448_ch[] =
    "01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2 1a 8d 99 12 ec 18"
    "a2 ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01 00 00 91 00 00 00 0b 00 09 00 00 06"
    "73 65 72 76 65 72 ff 01 00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01"
    "02 01 03 01 04 00 23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e"
    "43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c 00 2b 00 03 02 03 04 00 0d"
    "00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01 05 01 06 01 02 01 04 02 05 02"
    "06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01";
/* ... and its ServerHello (TLS_AES_128_GCM_SHA256, TLS 1.3). */
static const char rfc8448_sh[] =
    "02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a c5 cb 14 34 da"
    "c1 55 77 2e d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20 95 fe"
    "66 76 2b db f7 c6 72 e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04";
#define RFC8448_JA3 "da4dea34fe6d4ce5f0725df3f2682fa0"
#define RFC8448_JA4 "t13d030900_55b375c5d22e_59cd3dafc54d"

/* A TLS 1.2 ClientHello: GREASE cipher, extensions and group, SNI
 * www.example.com, ALPN h2 and http/1.1, 13 real suites. */
static const char tls12_ch[] =
    "010000c70303000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f206465666768"
    "696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f80818283001c3a3ac02bc02fc02cc030cca9cca8c0"
    "13c014009c009d002f0035000a010000620a0a000000000014001200000f7777772e6578616d706c652e636f"
    "6d00170000ff01000100000a000a00082a2a001d00170018000b00020100002300000010000e000c02683208"
    "687474702f312e31000d000a000804030804040102011a1a000100";
#define TLS12_JA3 "b71e12b95466472cf40f560ec2c2deb5"
#define TLS12_JA4 "t12d1308h2_8b80da21ef18_2fee1696c70b"
/* Its ServerHello: TLS 1.2, ECDHE-RSA-AES128-GCM-SHA256, ALPN h2. */
static const char tls12_sh[] =
    "020000600303c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e72032333435363738"
    "393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f5051c02f000018ff01000100000b0002010000100005"
    "000302683200170000";
/* JA3S: md5("771,49199,65281-11-16-23") */
#define TLS12_JA3S "27eabd2e03c903c0e38682b67d24b578"

/* openssl req -x509 -newkey ec (P-256) -subj "/C=US/O=Portolan Test/CN=test.example"
 * -addext subjectAltName=DNS:test.example,DNS:www.test.example,IP:192.0.2.1 -days 365 */
static const char cert_hex[] = "308201ed30820193a003020102020101300a06082a8648ce3d040302303c"
                               "310b300906035504061302555331163014060355040a0c0d506f72746f6c"
                               "616e20546573743115301306035504030c0c746573742e6578616d706c65"
                               "301e170d3236313132363135303933325a170d3237313132363135303933"
                               "325a303c310b300906035504061302555331163014060355040a0c0d506f"
                               "72746f6c616e20546573743115301306035504030c0c746573742e657861"
                               "6d706c653059301306072a8648ce3d020106082a8648ce3d030107034200"
                               "049adbe0bee6375d51f058654dc3c4e390586c2f9cd49fd290128ff27e8f"
                               "87ec6a67d106ed4f4203b6bc7ae5ec24ececf27b3244026b9c67ada565a3"
                               "f7453dc828a38185308182301d0603551d0e04160414f4dd7d0e23e0cf7d"
                               "a520973673fbed39b3d49c68301f0603551d23041830168014f4dd7d0e23"
                               "e0cf7da520973673fbed39b3d49c68300f0603551d130101ff0405300301"
                               "01ff302f0603551d1104283026820c746573742e6578616d706c65821077"
                               "77772e746573742e6578616d706c658704c0000201300a06082a8648ce3d"
                               "0403020348003045022100e6d3dca4b71d4865b9e0affec9763dc887878a"
                               "7d50e72bddb8ee03ec51665ff702204bc155bb2814d952ace17ce125a450"
                               "87e2e5be5ab74ecb99c520d66e7f65bc7f";
#define CERT_SHA256 "6875de8733fdcbf45370aea52a61cd35a6fbe16b396971699bfd7d8d35a8c061"

/* A Certificate handshake message with the test certificate, then a
 * second (any bytes) to make a chain of two. */
static void put_certificate_msg(struct buf *b)
{
	struct buf der = {0};
	put_hex(&der, cert_hex);
	put_u8(b, 11);
	put_u24(b, (unsigned)(3 + 2 * (3 + der.n)));
	put_u24(b, (unsigned)(2 * (3 + der.n)));
	put_u24(b, (unsigned)der.n);
	put(b, der.p, der.n);
	put_u24(b, (unsigned)der.n);
	put(b, der.p, der.n);
	free(der.p);
}

/* A full TLS 1.2 exchange: client flight(s) and server flight(s).  With
 * `records_per_msg`, the server's handshake bytes are cut into records of
 * that many bytes (messages spanning records). */
static void tls12_streams(struct buf *c, struct buf *sv, size_t record_size)
{
	put_record_hex(c, 22, tls12_ch);
	struct buf hs = {0};
	put_hex(&hs, tls12_sh);
	put_certificate_msg(&hs);
	put_hex(&hs, "0e000000"); /* ServerHelloDone */
	for (size_t at = 0; at < hs.n; at += record_size) {
		size_t n = hs.n - at < record_size ? hs.n - at : record_size;
		put_record(sv, 22, hs.p + at, n);
	}
	free(hs.p);
	/* ClientKeyExchange, CCS, encrypted Finished, application data */
	put_record_hex(c, 22, "1000000504deadbeef");
	put_record_hex(c, 20, "01");
	put_record_hex(c, 22, "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4");
	put_record_hex(c, 23, "0102030405060708090a");
	put_record_hex(sv, 20, "01");
	put_record_hex(sv, 22, "ffffffff00112233445566778899aabbccddeeff");
	put_record_hex(sv, 23, "0102030405060708090a0b0c");
}

static void tls13_streams(struct buf *c, struct buf *sv)
{
	put_record_hex(c, 22, rfc8448_ch);
	put_record_hex(sv, 22, rfc8448_sh);
	put_record_hex(sv, 20, "01");
	put_record_hex(sv, 23, "17feedfacecafe"); /* EncryptedExtensions etc. */
	put_record_hex(sv, 23, "0011223344");
	put_record_hex(c, 20, "01");
	put_record_hex(c, 23, "aabbccdd"); /* Finished */
	put_record_hex(c, 23, "eeff");
}

static char *run(const struct buf *c, const struct buf *sv)
{
	struct flow *f = flow_open();
	feed_buf(f, DIR_CLIENT, c);
	feed_buf(f, DIR_SERVER, sv);
	end(f);
	char *text = render(f);
	flow_close(f);
	return text;
}

/* ---- tests ---- */

static enum verdict probe_hex(const char *hex, enum direction dir)
{
	struct buf b = {0};
	put_hex(&b, hex);
	enum verdict v = tls_dissector.probe(rd_init(b.p, b.n), dir);
	free(b.p);
	return v;
}

static enum verdict probe_text(const char *text, enum direction dir)
{
	return tls_dissector.probe(rd_init(text, strlen(text)), dir);
}

static void test_probe(void **unused)
{
	(void)unused;
	struct buf c = {0}, sv = {0};
	tls12_streams(&c, &sv, 1 << 14);
	assert_int_equal(tls_dissector.probe(rd_init(c.p, c.n), DIR_CLIENT), VERDICT_YES);
	assert_int_equal(tls_dissector.probe(rd_init(sv.p, sv.n), DIR_SERVER), VERDICT_YES);
	/* a ServerHello is not a client's first bytes, nor the reverse */
	assert_int_equal(tls_dissector.probe(rd_init(sv.p, sv.n), DIR_CLIENT), VERDICT_NO);
	assert_int_equal(tls_dissector.probe(rd_init(c.p, c.n), DIR_SERVER), VERDICT_NO);
	for (size_t n = 0; n < 11; n++)
		assert_int_equal(tls_dissector.probe(rd_init(c.p, n), DIR_CLIENT),
		                 VERDICT_NEED_MORE);
	free(c.p);
	free(sv.p);
	/* SSLv2-compatible ClientHello: 3 suites, no session id, 16-byte challenge */
	assert_int_equal(
	    probe_hex("80220100020009000000100100800700c003008000112233445566778899aabbccddeeff",
	              DIR_CLIENT),
	    VERDICT_YES);
	/* a record of another type, a bad version, an absurd length */
	assert_int_equal(probe_hex("170303001001000010030300000000000000000000", DIR_CLIENT),
	                 VERDICT_NO);
	assert_int_equal(probe_hex("160505004001000040030300000000000000000000", DIR_CLIENT),
	                 VERDICT_NO);
	assert_int_equal(probe_hex("1603037fff01007ffb030300000000000000000000", DIR_CLIENT),
	                 VERDICT_NO);
	/* other protocols' first bytes */
	assert_int_equal(probe_text("GET / HTTP/1.1\r\nHost: a\r\n\r\n", DIR_CLIENT), VERDICT_NO);
	assert_int_equal(probe_text("SSH-2.0-OpenSSH_9.6\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe_text("220 mail.example.com ESMTP\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe_text("+OK POP3 ready\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(probe_text("* OK IMAP4rev1\r\n", DIR_SERVER), VERDICT_NO);
	assert_int_equal(
	    probe_hex("0300002b26e00000000000436f6f6b69653a206d737473686173683d", DIR_CLIENT),
	    VERDICT_NO);                                                             /* RDP */
	assert_int_equal(probe_hex("12010058000001000000", DIR_CLIENT), VERDICT_NO); /* TDS */
	assert_int_equal(probe_hex("00000085ff534d4272", DIR_CLIENT), VERDICT_NO);   /* SMB */
	assert_int_equal(probe_hex("16", DIR_CLIENT), VERDICT_NEED_MORE);
	assert_int_equal(probe_hex("1602", DIR_CLIENT), VERDICT_NO);
}

static void test_rfc8448_tls13(void **unused)
{
	(void)unused;
	struct buf c = {0}, sv = {0};
	tls13_streams(&c, &sv);
	struct flow *f = flow_open();
	feed_buf(f, DIR_CLIENT, &c);
	feed_buf(f, DIR_SERVER, &sv);
	end(f);
	char *text = render(f);
	assert_contains(text, "\"sni\":\"server\",\"client_version\":\"TLSv1.2\","
	                      "\"supported_versions\":[\"TLSv1.3\"],\"version\":\"TLSv1.3\","
	                      "\"alpn\":[],\"cipher\":\"TLS_AES_128_GCM_SHA256\"");
	assert_contains(text, "\"ja3\":\"" RFC8448_JA3 "\",\"ja4\":\"" RFC8448_JA4 "\"");
	assert_contains(text, "\"resumed\":false,\"established\":true");
	assert_contains(text, "\"records\":{\"client\":4,\"server\":4}");
	assert_contains(text, "\"ja3s\":\"");
	assert_lacks(text, "alpn_encrypted"); /* nothing offered */
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_false(session_has_alert(f->s, ALERT_DEPRECATED_VERSION));
	assert_int_equal(f->len[DIR_CLIENT] + f->len[DIR_SERVER], 0);

	char sum[128];
	tls_dissector.summarize(f->state, sum, sizeof sum);
	assert_string_equal(sum, "sni server TLSv1.3");
	free(text);
	flow_close(f);
	free(c.p);
	free(sv.p);
}

static void test_tls12_full(void **unused)
{
	(void)unused;
	struct buf c = {0}, sv = {0};
	tls12_streams(&c, &sv, 1 << 14);
	struct flow *f = flow_open();
	feed_buf(f, DIR_CLIENT, &c);
	feed_buf(f, DIR_SERVER, &sv);
	char *text = render(f);
	assert_contains(text, "\"sni\":\"www.example.com\",\"client_version\":\"TLSv1.2\","
	                      "\"version\":\"TLSv1.2\",\"alpn\":[\"h2\",\"http/1.1\"],"
	                      "\"alpn_selected\":\"h2\","
	                      "\"cipher\":\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\"");
	assert_contains(text, "\"ja3\":\"" TLS12_JA3 "\",\"ja4\":\"" TLS12_JA4 "\"");
	assert_contains(text, "\"ja3s\":\"" TLS12_JA3S "\"");
	assert_contains(text, "\"server_certificate\":{\"subject\":\"CN=test.example,O=Portolan "
	                      "Test,C=US\",\"issuer\":\"CN=test.example,O=Portolan Test,C=US\","
	                      "\"not_before\":\"2026-11-26T15:09:32Z\","
	                      "\"not_after\":\"2027-11-26T15:09:32Z\","
	                      "\"san\":[\"test.example\",\"www.test.example\",\"192.0.2.1\"],"
	                      "\"sha256\":\"" CERT_SHA256 "\",\"chain_length\":2}");
	assert_contains(text, "\"established\":true");
	assert_contains(text, "\"records\":{\"client\":5,\"server\":4}");
	assert_lacks(text, "supported_versions");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_false(session_has_alert(f->s, ALERT_DEPRECATED_VERSION));
	char sum[128];
	tls_dissector.summarize(f->state, sum, sizeof sum);
	assert_string_equal(sum, "sni www.example.com TLSv1.2 h2");
	free(text);
	flow_close(f);
	free(c.p);
	free(sv.p);
}

/* Messages cut into records of every size from 1 byte up: the same record. */
static void test_messages_span_records(void **unused)
{
	(void)unused;
	struct buf c = {0}, sv = {0};
	tls12_streams(&c, &sv, 1 << 14);
	char *want = run(&c, &sv);
	free(c.p);
	free(sv.p);
	static const size_t sizes[] = {1, 2, 3, 4, 5, 7, 64, 100, 333, 512};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct buf c2 = {0}, s2 = {0};
		tls12_streams(&c2, &s2, sizes[i]);
		char *got = run(&c2, &s2);
		/* only the server's record count differs */
		char *cut = strstr(want, "\"records\"");
		char *cut2 = strstr(got, "\"records\"");
		assert_non_null(cut);
		assert_non_null(cut2);
		assert_int_equal(cut - want, cut2 - got);
		assert_memory_equal(want, got, (size_t)(cut - want));
		free(got);
		free(c2.p);
		free(s2.p);
	}
	free(want);
}

/* Both streams split at every byte: the same record. */
static void test_split_every_byte(void **unused)
{
	(void)unused;
	struct buf c = {0}, sv = {0};
	tls12_streams(&c, &sv, 300); /* the certificate spans records too */
	char *want = run(&c, &sv);
	size_t max = c.n > sv.n ? c.n : sv.n;
	for (size_t at = 0; at <= max; at++) {
		struct flow *f = flow_open();
		size_t ca = at < c.n ? at : c.n, sa = at < sv.n ? at : sv.n;
		feed(f, DIR_CLIENT, c.p, ca);
		feed(f, DIR_SERVER, sv.p, sa);
		feed(f, DIR_CLIENT, c.p + ca, c.n - ca);
		feed(f, DIR_SERVER, sv.p + sa, sv.n - sa);
		end(f);
		char *got = render(f);
		assert_string_equal(got, want);
		free(got);
		flow_close(f);
	}
	/* and one byte at a time */
	struct flow *f = flow_open();
	for (size_t i = 0; i < max; i++) {
		if (i < c.n)
			feed(f, DIR_CLIENT, c.p + i, 1);
		if (i < sv.n)
			feed(f, DIR_SERVER, sv.p + i, 1);
	}
	end(f);
	char *got = render(f);
	assert_string_equal(got, want);
	free(got);
	flow_close(f);
	free(want);
	free(c.p);
	free(sv.p);
}

/* Every prefix of each stream, then the end: no crash, no "malformed"
 * (a cut stream is incomplete, not wrong), the client's facts once its
 * hello is whole. */
static void test_truncation(void **unused)
{
	(void)unused;
	struct buf c = {0}, sv = {0};
	tls12_streams(&c, &sv, 400);
	size_t ch_end = 5 + strlen(tls12_ch) / 2;
	for (size_t n = 0; n <= c.n; n++) {
		struct flow *f = flow_open();
		feed(f, DIR_CLIENT, c.p, n);
		end(f);
		char *text = render(f);
		assert_false(session_has_alert(f->s, ALERT_MALFORMED));
		if (n >= ch_end)
			assert_contains(text, "\"ja3\":\"" TLS12_JA3 "\"");
		else
			assert_contains(text, "\"ja3\":null");
		free(text);
		flow_close(f);
	}
	for (size_t n = 0; n <= sv.n; n++) {
		struct flow *f = flow_open();
		feed_buf(f, DIR_CLIENT, &c);
		feed(f, DIR_SERVER, sv.p, n);
		end(f);
		char *text = render(f);
		assert_false(session_has_alert(f->s, ALERT_MALFORMED));
		free(text);
		flow_close(f);
	}
	/* a hello whose inner lengths are cut at every point: malformed, no crash */
	struct buf ch = {0};
	put_hex(&ch, tls12_ch);
	for (size_t n = 4; n < ch.n; n++) {
		struct buf rec = {0};
		uint8_t hdr[4] = {1, 0, (uint8_t)((n - 4) >> 8), (uint8_t)(n - 4)};
		put(&rec, hdr, 4);
		put(&rec, ch.p + 4, n - 4);
		struct buf r2 = {0};
		put_record(&r2, 22, rec.p, rec.n);
		struct flow *f = flow_open();
		feed_buf(f, DIR_CLIENT, &r2);
		end(f);
		char *text = render(f);
		free(text);
		flow_close(f);
		free(rec.p);
		free(r2.p);
	}
	free(ch.p);
	free(c.p);
	free(sv.p);
}

static void test_tls13_alpn_encrypted(void **unused)
{
	(void)unused;
	/* the TLS 1.2 hello again, now offering TLS 1.3 too */
	struct buf body = {0};
	put_hex(&body, tls12_ch);
	/* append supported_versions (1.3, 1.2) to the extensions: lengths fixed up */
	static const uint8_t sv_ext[] = {0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03};
	put(&body, sv_ext, sizeof sv_ext);
	size_t ext_len_at = body.n - sizeof sv_ext - 0x62 - 2;
	body.p[ext_len_at + 1] = (uint8_t)(0x62 + sizeof sv_ext);
	body.p[3] = (uint8_t)(body.n - 4);
	struct buf c = {0}, sv = {0};
	put_record(&c, 22, body.p, body.n);
	put_record_hex(&sv, 22, rfc8448_sh);
	struct flow *f = flow_open();
	feed_buf(f, DIR_CLIENT, &c);
	feed_buf(f, DIR_SERVER, &sv);
	char *text = render(f);
	assert_contains(text, "\"supported_versions\":[\"TLSv1.3\",\"TLSv1.2\"],"
	                      "\"version\":\"TLSv1.3\",\"alpn\":[\"h2\",\"http/1.1\"],"
	                      "\"alpn_encrypted\":true");
	assert_contains(text, "\"ja4\":\"t13d1309h2_");
	free(text);
	flow_close(f);
	free(body.p);
	free(c.p);
	free(sv.p);
}

static void test_deprecated_version(void **unused)
{
	(void)unused;
	/* TLS 1.0 negotiated */
	struct buf sh = {0};
	put_hex(&sh, tls12_sh);
	sh.p[5] = 0x01;
	struct buf c = {0}, sv = {0};
	put_record_hex(&c, 22, tls12_ch);
	put_record(&sv, 22, sh.p, sh.n);
	struct flow *f = flow_open();
	feed_buf(f, DIR_CLIENT, &c);
	feed_buf(f, DIR_SERVER, &sv);
	char *text = render(f);
	assert_contains(text, "\"version\":\"TLSv1.0\"");
	assert_true(session_has_alert(f->s, ALERT_DEPRECATED_VERSION));
	free(text);
	flow_close(f);
	free(sh.p);
	free(c.p);
	free(sv.p);

	/* record versions of 1.0 (as clients send) with 1.2 negotiated: no alert */
	struct buf c2 = {0}, s2 = {0};
	tls12_streams(&c2, &s2, 1 << 14);
	c2.p[2] = 0x01;
	s2.p[2] = 0x01;
	f = flow_open();
	feed_buf(f, DIR_CLIENT, &c2);
	feed_buf(f, DIR_SERVER, &s2);
	assert_false(session_has_alert(f->s, ALERT_DEPRECATED_VERSION));
	flow_close(f);
	free(c2.p);
	free(s2.p);
}

static void test_alerts(void **unused)
{
	(void)unused;
	struct buf c = {0}, sv = {0};
	put_record_hex(&c, 22, tls12_ch);
	put_record_hex(&sv, 21, "0228"); /* fatal handshake_failure */
	struct flow *f = flow_open();
	feed_buf(f, DIR_CLIENT, &c);
	feed_buf(f, DIR_SERVER, &sv);
	char *text = render(f);
	assert_contains(text, "\"alerts\":[{\"from\":\"server\",\"level\":\"fatal\","
	                      "\"description\":\"handshake_failure\"}]");
	assert_contains(text, "\"version\":null");
	assert_contains(text, "\"cipher\":null");
	assert_contains(text, "\"established\":false");
	char sum[128];
	tls_dissector.summarize(f->state, sum, sizeof sum);
	assert_string_equal(sum, "sni www.example.com h2 alert handshake_failure");
	free(text);
	flow_close(f);
	free(sv.p);

	/* the cap: 16 kept, the rest counted */
	sv = (struct buf){0};
	for (int i = 0; i < 20; i++)
		put_record_hex(&sv, 21, "0100");
	f = flow_open();
	feed_buf(f, DIR_CLIENT, &c);
	feed_buf(f, DIR_SERVER, &sv);
	text = render(f);
	assert_contains(text, "\"alerts_truncated\":4");
	assert_contains(text, "\"level\":\"warning\",\"description\":\"close_notify\"");
	assert_int_equal(session_counter_value(f->s, "tls.too_many_alerts"), 4);
	free(text);
	flow_close(f);
	free(sv.p);

	/* after ChangeCipherSpec, alerts are encrypted: only counted */
	struct buf c2 = {0}, s2 = {0};
	tls12_streams(&c2, &s2, 1 << 14);
	put_record_hex(&s2, 21, "b1b2b3b4b5b6b7b8b9babbbcbdbebfc0");
	f = flow_open();
	feed_buf(f, DIR_CLIENT, &c2);
	feed_buf(f, DIR_SERVER, &s2);
	text = render(f);
	assert_lacks(text, "\"alerts\"");
	assert_contains(text, "\"encrypted_alerts\":1");
	free(text);
	flow_close(f);
	free(c2.p);
	free(s2.p);
	free(c.p);
}

/* HelloRetryRequest: ServerHello with the magic random; the final choice is
 * the second ServerHello's. */
static void test_hello_retry_request(void **unused)
{
	(void)unused;
	static const char hrr[] = "020000340303"
	                          "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
	                          "00"
	                          "1302"
	                          "00"
	                          "000c"
	                          "002b00020304"
	                          "003300020017";
	struct buf c = {0}, sv = {0}, sv2 = {0};
	put_record_hex(&c, 22, rfc8448_ch);
	put_record_hex(&sv, 22, hrr);
	put_record_hex(&sv, 20, "01"); /* middlebox compatibility */
	put_record_hex(&c, 20, "01");
	/* the second ClientHello: another suite list, so another JA3 */
	struct buf ch2 = {0};
	put_hex(&ch2, rfc8448_ch);
	ch2.p[41] = 0x13; /* 1301,1303,1302 -> 1301,1303,1303 */
	ch2.p[42] = 0x03;
	put_record(&c, 22, ch2.p, ch2.n);
	put_record_hex(&sv2, 22, rfc8448_sh);
	struct flow *f = flow_open();
	size_t ch1 = 5 + strlen(rfc8448_ch) / 2;
	feed(f, DIR_CLIENT, c.p, ch1);
	feed_buf(f, DIR_SERVER, &sv);
	feed(f, DIR_CLIENT, c.p + ch1, c.n - ch1);
	feed_buf(f, DIR_SERVER, &sv2);
	char *text = render(f);
	assert_contains(text, "\"version\":\"TLSv1.3\"");
	assert_contains(text, "\"cipher\":\"TLS_AES_128_GCM_SHA256\""); /* not the HRR's 1302 */
	assert_contains(text, "\"ja3\":\"" RFC8448_JA3 "\"");
	assert_contains(text, "\"ja3_retry\":\"");
	assert_contains(text, "\"hello_retry\":true");
	assert_lacks(text, "\"ja3_retry\":\"" RFC8448_JA3 "\"");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
	free(ch2.p);
	free(c.p);
	free(sv.p);
	free(sv2.p);
}

/* A TLS 1.3 draft-18 ServerHello: no session id or compression fields. */
static void test_tls13_draft(void **unused)
{
	(void)unused;
	struct buf c = {0}, sv = {0};
	put_record_hex(&c, 22, rfc8448_ch);
	put_record_hex(&sv, 22,
	               "020000267f12"
	               "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	               "13010000");
	put_record_hex(&sv, 23, "0102");
	struct flow *f = flow_open();
	feed_buf(f, DIR_CLIENT, &c);
	feed_buf(f, DIR_SERVER, &sv);
	char *text = render(f);
	assert_contains(text, "\"version\":\"TLSv1.3-draft18\"");
	assert_contains(text, "\"cipher\":\"TLS_AES_128_GCM_SHA256\"");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	char sum[64];
	tls_dissector.summarize(f->state, sum, sizeof sum);
	assert_string_equal(sum, "sni server TLSv1.3-draft18");
	free(text);
	flow_close(f);
	free(c.p);
	free(sv.p);
}

static void test_sslv2_client_hello(void **unused)
{
	(void)unused;
	/* SSLv2-compatible hello offering TLS 1.0: suites 010080 (SSLv2),
	 * 00002f and 000035, no session id, 16-byte challenge */
	struct buf c = {0};
	put_hex(&c, "8022010301000900000010010080"
	            "00002f"
	            "000035"
	            "00112233445566778899aabbccddeeff");
	assert_int_equal(tls_dissector.probe(rd_init(c.p, c.n), DIR_CLIENT), VERDICT_YES);
	struct flow *f = flow_open();
	feed_buf(f, DIR_CLIENT, &c);
	char *text = render(f);
	assert_contains(text, "\"client_version\":\"TLSv1.0\"");
	assert_contains(text, "\"sslv2_client_hello\":true");
	/* JA3 is for TLS hellos only; JA4 from the two TLS suites */
	assert_contains(text, "\"ja3\":null,\"ja4\":\"t10i0200");
	assert_int_equal(f->len[DIR_CLIENT], 0);
	/* the server answers in SSLv2: SERVER-HELLO, version 2, no certificate */
	feed(f, DIR_SERVER,
	     "\x80\x0f\x04\x00\x01\x00\x02\x00\x00\x00\x03\x00\x02"
	     "\x01\x00\x80"
	     "ab",
	     17);
	feed(f, DIR_CLIENT, "\x80\x05\x02\x01\x00\x80\x00", 7); /* CLIENT-MASTER-KEY */
	feed(f, DIR_SERVER, "\x80\x03\x05xy", 5);
	assert_int_equal(f->len[DIR_CLIENT] + f->len[DIR_SERVER], 0);
	free(text);
	text = render(f);
	assert_contains(text, "\"version\":\"SSLv2\",\"alpn\":[],\"cipher\":null");
	assert_lacks(text, "ja3s");
	assert_true(session_has_alert(f->s, ALERT_DEPRECATED_VERSION));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
	free(c.p);
}

static void test_encrypted_counting(void **unused)
{
	(void)unused;
	struct buf c = {0}, sv = {0};
	tls13_streams(&c, &sv);
	struct flow *f = flow_open();
	feed_buf(f, DIR_CLIENT, &c);
	feed_buf(f, DIR_SERVER, &sv);
	/* 100 records of 16 KiB, given in 1000-byte pieces: nothing is kept */
	static uint8_t big[5 + 16384];
	big[0] = 23;
	big[1] = 3;
	big[2] = 3;
	big[3] = 0x40;
	big[4] = 0;
	for (int i = 0; i < 100; i++)
		for (size_t at = 0; at < sizeof big; at += 1000) {
			size_t n = sizeof big - at < 1000 ? sizeof big - at : 1000;
			feed(f, DIR_SERVER, big + at, n);
			assert_true(f->len[DIR_SERVER] < 5);
		}
	char *text = render(f);
	assert_contains(text, "\"records\":{\"client\":4,\"server\":104}");
	free(text);
	/* garbage after encryption: out of sync, counted, consumed */
	feed(f, DIR_SERVER, "garbage!", 8);
	assert_int_equal(f->len[DIR_SERVER], 0);
	assert_int_equal(session_counter_value(f->s, "tls.out_of_sync"), 1);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
	free(c.p);
	free(sv.p);
}

static void test_gap(void **unused)
{
	(void)unused;
	struct buf c = {0}, sv = {0};
	tls13_streams(&c, &sv);
	struct flow *f = flow_open();
	feed_buf(f, DIR_CLIENT, &c);
	/* the server's ServerHello partly there, then lost */
	feed(f, DIR_SERVER, sv.p, 20);
	gap(f, DIR_SERVER, 1000);
	feed(f, DIR_SERVER, "\x17\x03\x03\x00\x02xx", 7);
	assert_int_equal(f->len[DIR_SERVER], 0);
	char *text = render(f);
	assert_contains(text, "\"version\":null");
	assert_contains(text, "\"ja3\":\"" RFC8448_JA3 "\"");
	assert_int_equal(session_counter_value(f->s, "tls.gap"), 1);
	free(text);
	flow_close(f);

	/* a gap inside an encrypted record being skipped keeps the framing */
	f = flow_open();
	feed_buf(f, DIR_CLIENT, &c);
	feed_buf(f, DIR_SERVER, &sv);
	feed(f, DIR_SERVER, "\x17\x03\x03\x01\x00", 5);
	gap(f, DIR_SERVER, 200);
	static uint8_t tail[56];
	feed(f, DIR_SERVER, tail, sizeof tail);
	feed(f, DIR_SERVER, "\x17\x03\x03\x00\x01x", 6);
	text = render(f);
	assert_contains(text, "\"server\":6}");
	assert_int_equal(session_counter_value(f->s, "tls.out_of_sync"), 0);
	free(text);
	flow_close(f);
	free(c.p);
	free(sv.p);
}

static void test_caps(void **unused)
{
	(void)unused;
	/* a handshake message over 64 KiB: skipped, counted; the next one read */
	struct buf c = {0};
	size_t big = 70000;
	uint8_t *msg = calloc(1, big + 4);
	assert_non_null(msg);
	msg[0] = 11;
	msg[1] = (uint8_t)(big >> 16);
	msg[2] = (uint8_t)(big >> 8);
	msg[3] = (uint8_t)big;
	for (size_t at = 0; at < big + 4; at += 16000) {
		size_t n = big + 4 - at < 16000 ? big + 4 - at : 16000;
		put_record(&c, 22, msg + at, n);
	}
	free(msg);
	put_record_hex(&c, 22, tls12_ch);
	struct flow *f = flow_open();
	feed_buf(f, DIR_CLIENT, &c);
	char *text = render(f);
	assert_int_equal(session_counter_value(f->s, "tls.handshake_too_big"), 1);
	assert_contains(text, "\"ja3\":\"" TLS12_JA3 "\"");
	free(text);
	flow_close(f);
	free(c.p);

	/* ALPN: 8 kept, the rest counted */
	struct buf h = {0};
	static const char alpn10[] = "0a0a0a0a0a0a0a0a0a0a"; /* unused */
	(void)alpn10;
	struct buf ext = {0};
	put_u16(&ext, 16);
	put_u16(&ext, 2 + 10 * 3);
	put_u16(&ext, 10 * 3);
	for (int i = 0; i < 10; i++) {
		char p[3] = {'p', (char)('0' + i), 0};
		put_u8(&ext, 2);
		put(&ext, p, 2);
	}
	put_u8(&h, 1);
	put_u24(&h, (unsigned)(2 + 32 + 1 + 4 + 2 + 2 + ext.n));
	put_u16(&h, 0x0303);
	static const uint8_t random[32];
	put(&h, random, 32);
	put_u8(&h, 0);
	put_u16(&h, 2);
	put_u16(&h, 0x1301);
	put_u8(&h, 1);
	put_u8(&h, 0);
	put_u16(&h, (unsigned)ext.n);
	put(&h, ext.p, ext.n);
	struct buf r = {0};
	put_record(&r, 22, h.p, h.n);
	f = flow_open();
	feed_buf(f, DIR_CLIENT, &r);
	text = render(f);
	assert_contains(text, "\"alpn\":[\"p0\",\"p1\",\"p2\",\"p3\",\"p4\",\"p5\",\"p6\",\"p7\"],"
	                      "\"alpn_truncated\":2");
	assert_contains(text, "\"ja4\":\"t12i0101p0_");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
	free(ext.p);
	free(h.p);
	free(r.p);
}

static void test_garbage(void **unused)
{
	(void)unused;
	/* not TLS from the start (a port guess, or a capture begun mid-stream):
	 * counted, consumed, not called malformed */
	struct flow *f = flow_open();
	feed(f, DIR_CLIENT, "GET / HTTP/1.1\r\n\r\n", 18);
	assert_int_equal(f->len[DIR_CLIENT], 0);
	assert_int_equal(session_counter_value(f->s, "tls.no_record_at_start"), 1);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	/* an empty ServerHello: malformed */
	feed(f, DIR_SERVER, "\x16\x03\x03\x00\x04\x02\x00\x00\x00", 9);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	/* a broken record header after a good record: malformed, the rest consumed */
	struct flow *g = flow_open();
	feed(g, DIR_SERVER,
	     "\x15\x03\x03\x00\x02\x01\x00"
	     "\x99\x03\x03\x00\x01x",
	     13);
	assert_true(session_has_alert(g->s, ALERT_MALFORMED));
	assert_int_equal(g->len[DIR_SERVER], 0);
	feed(g, DIR_SERVER, "\x15\x03\x03\x00\x02\x01\x00", 7);
	assert_int_equal(g->len[DIR_SERVER], 0);
	char *text = render(f);
	assert_contains(text, "\"sni\":null");
	free(text);
	flow_close(f);
	flow_close(g);
}

/* QUIC's path: bare handshake messages, JA4 with 'q'. */
static void test_facts_handshake_quic(void **unused)
{
	(void)unused;
	struct ip_addr a = {.version = 4, .b = {192, 0, 2, 1}};
	struct session *s = session_detached_new(false, &a, 50000, &a, 443);
	struct tls_facts *t = tls_facts_new(true);
	assert_non_null(t);
	struct buf ch = {0};
	put_hex(&ch, rfc8448_ch);
	assert_false(tls_facts_have_client_hello(t));
	/* a partial message is not consumed */
	assert_int_equal(tls_facts_handshake(t, s, DIR_CLIENT, rd_init(ch.p, ch.n - 1)), 0);
	assert_int_equal(tls_facts_handshake(t, s, DIR_CLIENT, rd_init(ch.p, ch.n)), ch.n);
	assert_true(tls_facts_have_client_hello(t));
	struct buf sh = {0};
	put_hex(&sh, rfc8448_sh);
	assert_int_equal(tls_facts_handshake(t, s, DIR_SERVER, rd_init(sh.p, sh.n)), sh.n);
	char *text = render_with(emit_facts, t);
	assert_contains(text, "\"ja4\":\"q13d030900_55b375c5d22e_59cd3dafc54d\"");
	assert_contains(text, "\"ja3\":\"" RFC8448_JA3 "\"");
	assert_contains(text, "\"version\":\"TLSv1.3\"");
	assert_lacks(text, "records");
	char sum[64];
	tls_facts_summarize(t, sum, sizeof sum);
	assert_string_equal(sum, "sni server TLSv1.3");
	free(text);
	tls_facts_free(t);
	session_detached_free(s);
	free(ch.p);
	free(sh.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_rfc8448_tls13),
	    cmocka_unit_test(test_tls12_full),
	    cmocka_unit_test(test_messages_span_records),
	    cmocka_unit_test(test_split_every_byte),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_tls13_alpn_encrypted),
	    cmocka_unit_test(test_deprecated_version),
	    cmocka_unit_test(test_alerts),
	    cmocka_unit_test(test_hello_retry_request),
	    cmocka_unit_test(test_tls13_draft),
	    cmocka_unit_test(test_sslv2_client_hello),
	    cmocka_unit_test(test_encrypted_counting),
	    cmocka_unit_test(test_gap),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_facts_handshake_quic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
