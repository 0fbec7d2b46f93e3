/* RTP / RTCP (dissectors/rtp.c): packets built field by field (RFC 3550
 * headers, RFC 3551 payload types, RFC 5761 RTCP types), fed as datagrams
 * on a session that an expectation made (the SIP note), and the record read
 * back as JSON: counts per direction, SSRCs, loss, RTCP compounds, caps,
 * truncations and the probe that never claims a flow. */
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

extern const struct dissector rtp_dissector;
#define D rtp_dissector

struct tflow {
	struct session *s;
	void *state;
};

static struct tflow flow_open(const char *note)
{
	struct ip_addr a = {.version = 4, .b = {192, 0, 2, 101}};
	struct ip_addr b = {.version = 4, .b = {192, 0, 2, 201}};
	struct tflow f;
	f.s = session_detached_new(false, &a, 49172, &b, 3456);
	f.state = calloc(1, D.state_size);
	assert_non_null(f.s);
	assert_non_null(f.state);
	if (note) {
		struct expected_from from;
		memset(&from, 0, sizeof from);
		snprintf(from.note, sizeof from.note, "%s", note);
		from.client = a;
		from.server = b;
		from.client_port = from.server_port = 5060;
		session_detached_set_expected(f.s, &from);
	}
	return f;
}

static void flow_close(struct tflow *f)
{
	free(f->state);
	session_detached_free(f->s);
}

static void datagram(struct tflow *f, enum direction dir, const uint8_t *p, size_t n)
{
	D.on_data(f->s, f->state, dir, rd_init(p, n));
}

static char *render(const struct tflow *f)
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

/* An RTP packet: V=2, flags, pt, seq, ts, ssrc, then n payload bytes. */
static size_t rtp(uint8_t *b, uint8_t pt, bool marker, uint16_t seq, uint32_t ssrc, size_t n)
{
	b[0] = 0x80;
	b[1] = (uint8_t)(pt | (marker ? 0x80 : 0));
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	memset(b + 4, 0, 4);
	b[8] = (uint8_t)(ssrc >> 24);
	b[9] = (uint8_t)(ssrc >> 16);
	b[10] = (uint8_t)(ssrc >> 8);
	b[11] = (uint8_t)ssrc;
	memset(b + 12, 0xd5, n);
	return 12 + n;
}

static void test_call(void **unused)
{
	(void)unused;
	struct tflow f = flow_open("rtp audio 3848276298220188511@atlanta.example.com 97=iLBC");
	uint8_t b[256];

	/* client: 20 packets, seq 65530.. wrapping, one lost (seq 3), one duplicate */
	for (int i = 0; i < 20; i++) {
		uint16_t seq = (uint16_t)(65530 + i);
		if (seq == 3)
			continue;
		datagram(&f, DIR_CLIENT, b, rtp(b, 0, i == 0, seq, 0x11223344, 160));
	}
	datagram(&f, DIR_CLIENT, b, rtp(b, 0, false, 13, 0x11223344, 160)); /* duplicate */
	/* server: dynamic type 97 named by the note, plus telephone-event 101 */
	for (int i = 0; i < 5; i++)
		datagram(&f, DIR_SERVER, b, rtp(b, 97, false, (uint16_t)(100 + i), 0xaabbccdd, 38));
	datagram(&f, DIR_SERVER, b, rtp(b, 101, true, 105, 0xaabbccdd, 4));
	char *j = render(&f);
	assert_contains(j, "\"announced\":\"rtp\",\"media\":\"audio\",\"call_id\":"
	                   "\"3848276298220188511@atlanta.example.com\"");
	assert_contains(j, "\"rtp_packets\":{\"client\":20,\"server\":6}");
	assert_contains(j, "\"rtcp_packets\":{\"client\":0,\"server\":0}");
	assert_contains(j, "\"bytes\":{\"client\":3440,\"server\":266}");
	assert_contains(j,
	                "{\"ssrc\":\"0x11223344\",\"direction\":\"client\",\"payload_type\":0,"
	                "\"codec\":\"PCMU\",\"packets\":20,\"payload_bytes\":3200,\"expected\":20,"
	                "\"lost\":1,\"duplicates\":1}");
	assert_contains(j, "{\"ssrc\":\"0xaabbccdd\",\"direction\":\"server\",\"payload_type\":101,"
	                   "\"codec\":null,\"packets\":6");
	assert_contains(j, "{\"pt\":97,\"codec\":\"iLBC\",\"packets\":5}");
	assert_contains(j, "{\"pt\":0,\"codec\":\"PCMU\",\"packets\":20}");
	assert_false(session_has_alert(f.s, ALERT_MALFORMED));
	char sum[256];
	D.summarize(f.state, sum, sizeof sum);
	assert_string_equal(sum, "audio 26 RTP, 0 RTCP packets, client 0x11223344 PCMU lost 1, "
	                         "server 0xaabbccdd pt 101 (call "
	                         "3848276298220188511@atlanta.example.com)");
	assert_string_equal(D.protocol_name(f.state), "rtp");
	free(j);
	flow_close(&f);
}

/* A compound RTCP packet (SR + SDES), an RR + BYE, and RTCP types 200-204
 * told from RTP payload types with the marker bit (RFC 5761 4). */
static void test_rtcp(void **unused)
{
	(void)unused;
	struct tflow f = flow_open("rtcp audio call-1@h");
	static const uint8_t sr_sdes[] = {/* SR: V=2 RC=0, PT 200, length 6 (28 bytes) */
	                                  0x80, 200, 0, 6, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1, 0, 0,
	                                  0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5,
	                                  /* SDES: 1 chunk, CNAME "ab" */
	                                  0x81, 202, 0, 2, 0x11, 0x22, 0x33, 0x44, 1, 2, 'a', 'b'};
	static const uint8_t rr_bye[] = {0x80, 201, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd,
	                                 0x81, 203, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd};
	static const uint8_t app[] = {0x80, 204, 0, 2, 1, 2, 3, 4, 'n', 'a', 'm', 'e'};
	datagram(&f, DIR_CLIENT, sr_sdes, sizeof sr_sdes);
	datagram(&f, DIR_SERVER, rr_bye, sizeof rr_bye);
	datagram(&f, DIR_SERVER, app, sizeof app);
	/* RTP payload type 72 with the marker would be 200: not RTP, so RTCP */
	char *j = render(&f);
	assert_contains(j, "\"rtp_packets\":{\"client\":0,\"server\":0}");
	assert_contains(j, "\"rtcp_packets\":{\"client\":1,\"server\":2}");
	assert_contains(j, "\"rtcp_types\":{\"SR\":1,\"RR\":1,\"SDES\":1,\"BYE\":1,\"APP\":1}");
	assert_string_equal(D.protocol_name(f.state), "rtcp");
	assert_false(session_has_alert(f.s, ALERT_MALFORMED));
	free(j);
	flow_close(&f);
}

/* Not version 2 (STUN, DTLS, keep-alives) is counted apart; every
 * truncation of an RTP header with CSRCs, an extension and padding, and of
 * an RTCP compound, is handled without a crash. */
static void test_truncations_and_other(void **unused)
{
	(void)unused;
	uint8_t p[64];
	/* V=2 P=1 X=1 CC=2, pt 8 */
	size_t n = 0;
	p[n++] = 0x80 | 0x20 | 0x10 | 2;
	p[n++] = 8;
	p[n++] = 0;
	p[n++] = 1;
	memset(p + n, 0, 4);
	n += 4;
	memcpy(p + n, "\x01\x02\x03\x04", 4);
	n += 4;
	memset(p + n, 9, 8); /* 2 CSRCs */
	n += 8;
	memcpy(p + n, "\xbe\xde\x00\x01\x10\xff\x00\x00", 8); /* extension, 1 word */
	n += 8;
	memset(p + n, 0xd5, 10);
	n += 10;
	p[n++] = 0;
	p[n++] = 2; /* 2 bytes of padding */
	for (size_t k = 0; k <= n; k++) {
		struct tflow f = flow_open(NULL);
		datagram(&f, DIR_CLIENT, p, k);
		char *j = render(&f);
		if (k == n) {
			assert_contains(j, "\"payload_bytes\":10");
			assert_false(session_has_alert(f.s, ALERT_MALFORMED));
		}
		if (k >= 4 && k < 28)
			assert_true(session_has_alert(f.s, ALERT_MALFORMED));
		free(j);
		flow_close(&f);
	}
	/* padding longer than the payload */
	p[n - 1] = 60;
	struct tflow f = flow_open(NULL);
	datagram(&f, DIR_CLIENT, p, n);
	assert_true(session_has_alert(f.s, ALERT_MALFORMED));
	flow_close(&f);

	static const uint8_t rr_bye[] = {0x80, 201, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd,
	                                 0x81, 203, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd};
	for (size_t k = 0; k <= sizeof rr_bye; k++) {
		f = flow_open(NULL);
		datagram(&f, DIR_SERVER, rr_bye, k);
		char *j = render(&f);
		free(j);
		flow_close(&f);
	}

	/* STUN binding request (first two bits 00), DTLS (20-63) */
	static const uint8_t stun[] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
	static const uint8_t dtls[] = {0x16, 0xfe, 0xfd, 0, 0};
	f = flow_open(NULL);
	datagram(&f, DIR_CLIENT, stun, sizeof stun);
	datagram(&f, DIR_SERVER, dtls, sizeof dtls);
	char *j = render(&f);
	assert_contains(j, "\"announced\":null,\"media\":null,\"call_id\":null");
	assert_contains(j, "\"other_packets\":{\"client\":1,\"server\":1}");
	assert_false(session_has_alert(f.s, ALERT_MALFORMED));
	free(j);
	flow_close(&f);
}

/* Caps: SSRCs and payload types. */
static void test_caps(void **unused)
{
	(void)unused;
	struct tflow f = flow_open("rtp video c@h");
	uint8_t b[64];
	for (uint32_t i = 0; i < 12; i++)
		datagram(&f, DIR_CLIENT, b, rtp(b, (uint8_t)(96 + i), false, 1, 1000 + i, 4));
	char *j = render(&f);
	assert_contains(j, "\"ssrcs_truncated\":4");
	assert_contains(j, "\"payload_types_truncated\":4");
	assert_int_equal(session_counter_value(f.s, "rtp.too_many_ssrcs"), 1);
	assert_int_equal(session_counter_value(f.s, "rtp.too_many_payload_types"), 1);
	free(j);
	flow_close(&f);
}

/* A sender that restarts its sequence numbers is not 60,000 losses. */
static void test_sequence_restart(void **unused)
{
	(void)unused;
	struct tflow f = flow_open(NULL);
	uint8_t b[64];
	for (int i = 0; i < 5; i++)
		datagram(&f, DIR_CLIENT, b, rtp(b, 8, false, (uint16_t)(1000 + i), 7, 4));
	for (int i = 0; i < 5; i++)
		datagram(&f, DIR_CLIENT, b, rtp(b, 8, false, (uint16_t)(30000 + i), 7, 4));
	char *j = render(&f);
	assert_contains(j, "\"packets\":10,\"payload_bytes\":40,\"expected\":5,\"lost\":0");
	free(j);
	flow_close(&f);
}

static void test_probe_never(void **unused)
{
	(void)unused;
	uint8_t b[64];
	size_t n = rtp(b, 0, false, 1, 2, 20);
	assert_int_equal(D.probe(rd_init(b, n), DIR_CLIENT), VERDICT_NO);
	assert_int_equal(D.probe(rd_init(NULL, 0), DIR_SERVER), VERDICT_NO);
	assert_int_equal(D.transports, TRANSPORT_BIT_UDP);
	assert_int_equal(D.ports[0], 0);

	struct tflow f = flow_open(NULL);
	D.on_end(f.s, f.state);
	char sum[64];
	D.summarize(f.state, sum, sizeof sum);
	assert_string_equal(sum, "0 RTP, 0 RTCP packets");
	D.summarize(f.state, sum, 0);
	flow_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_call),
	    cmocka_unit_test(test_rtcp),
	    cmocka_unit_test(test_truncations_and_other),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_sequence_restart),
	    cmocka_unit_test(test_probe_never),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
