/* SIP (dissectors/sip.c): the RFC 3665 3.1 basic call (INVITE with SDP,
 * 180, 200 with SDP, ACK, BYE, 200) over UDP datagrams and over a TCP stream
 * fed the way the core feeds one, at every split and every truncation;
 * compact headers, folding, digest and Basic authorization, the media
 * expectations, caps, gaps and the probe. */
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

extern const struct dissector sip_dissector;
#define D sip_dissector

/* ---- a flow the way src/dissect.c drives it ---- */

struct tflow {
	struct session *s;
	void *state;
	uint8_t *pending[2];
	size_t len[2];
};

static struct tflow *flow_open_on(bool tcp)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 101}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 201}};
	struct tflow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->s = session_detached_new(tcp, &client, 5060, &server, 5060);
	f->state = calloc(1, D.state_size);
	assert_non_null(f->s);
	assert_non_null(f->state);
	return f;
}

static void flow_close(struct tflow *f)
{
	D.release(f->state);
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
		size_t used = D.on_data(f->s, f->state, dir, rd_init(f->pending[dir], f->len[dir]));
		assert_true(used <= f->len[dir]);
		if (used == 0)
			break;
		memmove(f->pending[dir], f->pending[dir] + used, f->len[dir] - used);
		f->len[dir] -= used;
	}
}

static void datagram(struct tflow *f, enum direction dir, const char *m)
{
	D.on_data(f->s, f->state, dir, rd_init(m, strlen(m)));
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

static void assert_lacks(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle))
		fail_msg("\"%s\" unexpectedly in %s", needle, haystack);
}

/* ---- messages: head lines (CRLF-joined), Content-Length, body ---- */

static char *msg(const char *head, const char *body)
{
	size_t n = strlen(head) + strlen(body) + 64;
	char *m = malloc(n);
	assert_non_null(m);
	snprintf(m, n, "%sContent-Length: %zu\r\n\r\n%s", head, strlen(body), body);
	return m;
}

#define ALICE_SDP                                                                                  \
	"v=0\r\n"                                                                                  \
	"o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\n"                      \
	"s=-\r\n"                                                                                  \
	"c=IN IP4 192.0.2.101\r\n"                                                                 \
	"t=0 0\r\n"                                                                                \
	"m=audio 49172 RTP/AVP 0 8 97\r\n"                                                         \
	"a=rtpmap:0 PCMU/8000\r\n"                                                                 \
	"a=rtpmap:97 iLBC/8000\r\n"

#define BOB_SDP                                                                                    \
	"v=0\r\n"                                                                                  \
	"o=bob 2890844527 2890844527 IN IP4 client.biloxi.example.com\r\n"                         \
	"s=-\r\n"                                                                                  \
	"c=IN IP4 192.0.2.201\r\n"                                                                 \
	"t=0 0\r\n"                                                                                \
	"m=audio 3456 RTP/AVP 0\r\n"                                                               \
	"a=rtpmap:0 PCMU/8000\r\n"

#define CALL_ID "3848276298220188511@atlanta.example.com"

static const char *const f1_head =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/%s client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n"
    "Max-Forwards: 70\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "Call-ID: " CALL_ID "\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:alice@client.atlanta.example.com;transport=tcp>\r\n"
    "User-Agent: Lab Phone 1.0\r\n"
    "Content-Type: application/sdp\r\n";

static const char *const f2_head =
    "SIP/2.0 180 Ringing\r\n"
    "Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n"
    "Call-ID: " CALL_ID "\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:bob@client.biloxi.example.com;transport=tcp>\r\n";

static const char *const f3_head =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n"
    "Call-ID: " CALL_ID "\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:bob@client.biloxi.example.com;transport=tcp>\r\n"
    "Server: Bob Phone 2.0\r\n"
    "Content-Type: application/sdp\r\n";

static const char *const f4_head =
    "ACK sip:bob@client.biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bd5\r\n"
    "Max-Forwards: 70\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n"
    "Call-ID: " CALL_ID "\r\n"
    "CSeq: 1 ACK\r\n";

static const char *const f5_head =
    "BYE sip:alice@client.atlanta.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP client.biloxi.example.com:5060;branch=z9hG4bKnashds7\r\n"
    "Max-Forwards: 70\r\n"
    "From: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n"
    "To: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "Call-ID: " CALL_ID "\r\n"
    "CSeq: 1 BYE\r\n";

static const char *const f6_head =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/TCP client.biloxi.example.com:5060;branch=z9hG4bKnashds7;received=192.0.2.201\r\n"
    "From: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n"
    "To: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "Call-ID: " CALL_ID "\r\n"
    "CSeq: 1 BYE\r\n";

/* The six messages; dirs[i] says who sent message i (Alice is the client). */
struct call {
	char *m[6];
	enum direction dirs[6];
};

static struct call call_make(const char *transport)
{
	char head[2048];
	struct call c;
	snprintf(head, sizeof head, f1_head, transport);
	c.m[0] = msg(head, ALICE_SDP);
	c.m[1] = msg(f2_head, "");
	c.m[2] = msg(f3_head, BOB_SDP);
	c.m[3] = msg(f4_head, "");
	c.m[4] = msg(f5_head, "");
	c.m[5] = msg(f6_head, "");
	enum direction d[6] = {DIR_CLIENT, DIR_SERVER, DIR_SERVER,
	                       DIR_CLIENT, DIR_SERVER, DIR_CLIENT};
	memcpy(c.dirs, d, sizeof d);
	return c;
}

static void call_free(struct call *c)
{
	for (int i = 0; i < 6; i++)
		free(c->m[i]);
}

/* Each direction's messages as one stream. */
static char *stream_of(const struct call *c, enum direction dir)
{
	size_t n = 1;
	for (int i = 0; i < 6; i++)
		if (c->dirs[i] == dir)
			n += strlen(c->m[i]);
	char *s = calloc(1, n);
	assert_non_null(s);
	for (int i = 0; i < 6; i++)
		if (c->dirs[i] == dir)
			strcat(s, c->m[i]);
	return s;
}

static void check_call(const char *j)
{
	assert_contains(j, "\"method\":\"INVITE\",\"uri\":\"sip:bob@biloxi.example.com\"");
	assert_contains(j, "\"from\":\"sip:alice@atlanta.example.com\",\"from_name\":\"Alice\","
	                   "\"from_tag\":\"9fxced76sl\"");
	assert_contains(j, "\"to\":\"sip:bob@biloxi.example.com\",\"to_name\":\"Bob\","
	                   "\"to_tag\":\"8321234356\"");
	assert_contains(j,
	                "\"call_id\":\"" CALL_ID "\",\"cseq\":1,\"user_agent\":\"Lab Phone 1.0\","
	                "\"server\":\"Bob Phone 2.0\",\"status\":200,\"reason\":\"OK\","
	                "\"responses\":[180,200]");
	assert_contains(
	    j, "\"sent_by\":\"client.atlanta.example.com:5060\",\"branch\":\"z9hG4bK74bf9\"");
	assert_contains(j, "\"contact\":\"sip:alice@client.atlanta.example.com;transport=tcp\"");
	assert_contains(j, "\"content_type\":\"application/sdp\"");
	assert_contains(j, "\"sdp_offer\":true,\"sdp_answer\":true");
	assert_contains(j, "\"method\":\"ACK\"");
	assert_contains(j, "\"method\":\"BYE\",\"uri\":\"sip:alice@client.atlanta.example.com\"");
	assert_contains(j, "\"request_count\":3,\"response_count\":3");
	assert_contains(j, "\"message\":\"INVITE\",\"media\":\"audio\",\"ip\":\"192.0.2.101\","
	                   "\"port\":49172,\"proto\":\"RTP/AVP\",\"codecs\":[\"PCMU\",\"PCMA\","
	                   "\"iLBC\"],\"rtcp_port\":49173,\"expected\":true");
	assert_contains(j, "\"message\":\"200\",\"media\":\"audio\",\"ip\":\"192.0.2.201\","
	                   "\"port\":3456,\"proto\":\"RTP/AVP\",\"codecs\":[\"PCMU\"]");
}

static void check_expectations(const struct tflow *f)
{
	const struct expectation *e = &f->s->last_expect;
	struct ip_addr bob = {.version = 4, .b = {192, 0, 2, 201}};

	assert_int_equal(session_counter_value(f->s, "sip.media_expected"), 4);
	assert_true(f->s->has_expect);
	assert_int_equal(e->transport, TRANSPORT_UDP);
	assert_string_equal(e->dissector, "rtp");
	assert_int_equal(e->server_port, 3457); /* the answer's RTCP port, filed last */
	assert_int_equal(ip_addr_compare(&e->server, &bob), 0);
	assert_false(e->has_client);
	assert_true(e->deadline >= 1000 * USEC_PER_SEC + 60 * USEC_PER_SEC);
	assert_string_equal(e->note, "rtcp audio " CALL_ID);
}

static void test_call_udp(void **unused)
{
	(void)unused;
	struct call c = call_make("UDP");
	struct tflow *f = flow_open_on(false);
	session_set_now(f->s, 1000 * USEC_PER_SEC);

	datagram(f, c.dirs[0], c.m[0]);
	/* the offer's media: RTP 49172 with the dynamic type named in the note */
	assert_int_equal(f->s->last_expect.server_port, 49173);
	for (int i = 1; i < 6; i++)
		datagram(f, c.dirs[i], c.m[i]);
	char *j = render(f);
	check_call(j);
	assert_contains(j, "\"transport\":\"UDP\"");
	check_expectations(f);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	assert_false(session_has_alert(f->s, ALERT_INSECURE_PROTOCOL));

	char sum[256];
	D.summarize(f->state, sum, sizeof sum);
	assert_string_equal(sum, "INVITE sip:bob@biloxi.example.com -> 200 OK (6 msgs, 3 "
	                         "transactions, audio 192.0.2.101:49172 PCMU, audio "
	                         "192.0.2.201:3456 PCMU)");
	free(j);
	flow_close(f);
	call_free(&c);
}

/* The offer's RTP expectation names the dynamic payload type's codec. */
static void test_note_names_dynamic_types(void **unused)
{
	(void)unused;
	char *m = msg("INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
	              "Call-ID: abc@h\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n",
	              "v=0\r\nc=IN IP4 192.0.2.101\r\nm=audio 4000 RTP/AVP 96 101\r\n"
	              "a=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n"
	              "a=rtcp-mux\r\n");
	struct tflow *f = flow_open_on(false);
	datagram(f, DIR_CLIENT, m);
	assert_int_equal(session_counter_value(f->s, "sip.media_expected"), 1); /* mux: one */
	assert_int_equal(f->s->last_expect.server_port, 4000);
	assert_string_equal(f->s->last_expect.note, "rtp audio abc@h 96=opus,101=telephone-event");
	char *j = render(f);
	assert_contains(j, "\"codecs\":[\"opus\",\"telephone-event\"],\"rtcp_mux\":true");
	free(j);
	flow_close(f);
	free(m);
}

static void test_call_tcp_every_split(void **unused)
{
	(void)unused;
	struct call c = call_make("TCP");
	char *cs = stream_of(&c, DIR_CLIENT), *ss = stream_of(&c, DIR_SERVER);
	char *whole = NULL;

	for (size_t cut = 0; cut <= strlen(cs); cut++) {
		struct tflow *f = flow_open_on(true);
		session_set_now(f->s, 1000 * USEC_PER_SEC);
		/* the request first, then the server's messages split at the same
		 * offset, then the rest of the client's */
		size_t c1 = strlen(c.m[0]);
		size_t a = cut < c1 ? cut : c1;
		feed(f, DIR_CLIENT, cs, a);
		feed(f, DIR_CLIENT, cs + a, c1 - a);
		size_t sc = cut < strlen(ss) ? cut : strlen(ss);
		feed(f, DIR_SERVER, ss, sc);
		feed(f, DIR_SERVER, ss + sc, strlen(ss) - sc);
		size_t rest = strlen(cs) - c1, r1 = cut - a < rest ? cut - a : rest;
		feed(f, DIR_CLIENT, cs + c1, r1);
		feed(f, DIR_CLIENT, cs + c1 + r1, rest - r1);
		D.on_end(f->s, f->state);
		char *j = render(f);
		if (!whole) {
			whole = j;
			check_call(j);
			check_expectations(f);
		} else {
			assert_string_equal(j, whole);
			free(j);
		}
		assert_int_equal(f->len[DIR_CLIENT], 0);
		assert_int_equal(f->len[DIR_SERVER], 0);
		assert_false(session_has_alert(f->s, ALERT_TRUNCATED));
		flow_close(f);
	}
	/* byte by byte */
	struct tflow *f = flow_open_on(true);
	session_set_now(f->s, 1000 * USEC_PER_SEC);
	for (size_t i = 0; i < strlen(c.m[0]); i++)
		feed(f, DIR_CLIENT, cs + i, 1);
	for (size_t i = 0; i < strlen(ss); i++)
		feed(f, DIR_SERVER, ss + i, 1);
	for (size_t i = strlen(c.m[0]); i < strlen(cs); i++)
		feed(f, DIR_CLIENT, cs + i, 1);
	char *j = render(f);
	assert_string_equal(j, whole);
	free(j);
	flow_close(f);
	free(whole);
	free(cs);
	free(ss);
	call_free(&c);
}

/* Every prefix of the client's stream, then the end of the flow; every
 * prefix of each datagram. */
static void test_every_truncation(void **unused)
{
	(void)unused;
	struct call c = call_make("TCP");
	char *cs = stream_of(&c, DIR_CLIENT);

	for (size_t n = 0; n <= strlen(cs); n++) {
		struct tflow *f = flow_open_on(true);
		feed(f, DIR_CLIENT, cs, n);
		D.on_end(f->s, f->state);
		char *j = render(f);
		if (n > 60 && n < strlen(c.m[0]))
			assert_contains(j, "\"method\":\"INVITE\"");
		if (n == strlen(cs))
			assert_false(session_has_alert(f->s, ALERT_TRUNCATED));
		char sum[256];
		D.summarize(f->state, sum, sizeof sum);
		free(j);
		flow_close(f);
	}
	for (int i = 0; i < 6; i++) {
		for (size_t n = 0; n <= strlen(c.m[i]); n++) {
			struct tflow *f = flow_open_on(false);
			D.on_data(f->s, f->state, c.dirs[i], rd_init(c.m[i], n));
			D.on_end(f->s, f->state);
			char *j = render(f);
			free(j);
			flow_close(f);
		}
	}
	free(cs);
	call_free(&c);
}

/* RFC 3261 7.3.3 compact forms (the shape of Suricata's sip-compact-form). */
static void test_compact_headers(void **unused)
{
	(void)unused;
	char *m = msg("INVITE sip:97239287044@voip.brujula.net SIP/2.0\r\n"
	              "v: SIP/2.0/UDP 192.168.1.2:5555;rport;branch=z9hG4bKnp104984053-44ce4a41\r\n"
	              "f: \"Caller\" <sip:1001@voip.brujula.net>;tag=np1000\r\n"
	              "t: <sip:97239287044@voip.brujula.net>\r\n"
	              "i: 105090259-446faf7a@192.168.1.2\r\n"
	              "CSeq: 1 INVITE\r\n"
	              "m: <sip:1001@192.168.1.2:5555>\r\n"
	              "k: 100rel\r\n"
	              "s: hello\r\n"
	              "c: application/sdp\r\n",
	              "v=0\r\nc=IN IP4 192.168.1.2\r\nm=audio 10000 RTP/AVP 8\r\n");
	/* and l: for the length */
	char *p = strstr(m, "Content-Length:");
	assert_non_null(p);
	memmove(p + 2, p + 15, strlen(p + 15) + 1);
	p[0] = 'l';
	p[1] = ':';
	struct tflow *f = flow_open_on(false);
	datagram(f, DIR_CLIENT, m);
	char *j = render(f);
	assert_contains(j, "\"from\":\"sip:1001@voip.brujula.net\",\"from_name\":\"Caller\","
	                   "\"from_tag\":\"np1000\",\"to\":\"sip:97239287044@voip.brujula.net\"");
	assert_contains(j, "\"call_id\":\"105090259-446faf7a@192.168.1.2\"");
	assert_contains(j, "\"transport\":\"UDP\",\"sent_by\":\"192.168.1.2:5555\","
	                   "\"branch\":\"z9hG4bKnp104984053-44ce4a41\"");
	assert_contains(j, "\"contact\":\"sip:1001@192.168.1.2:5555\"");
	assert_contains(j, "\"codecs\":[\"PCMA\"]");
	assert_int_equal(session_counter_value(f->s, "sip.media_expected"), 2);
	free(j);
	flow_close(f);
	free(m);

	/* the same over TCP: l: frames the body */
	char *m2 = msg("OPTIONS sip:a@b SIP/2.0\r\ni: x@y\r\nCSeq: 2 OPTIONS\r\nc: text/plain\r\n",
	               "hello");
	p = strstr(m2, "Content-Length:");
	memmove(p + 2, p + 15, strlen(p + 15) + 1);
	p[0] = 'l';
	p[1] = ':';
	f = flow_open_on(true);
	feed(f, DIR_CLIENT, m2, strlen(m2));
	feed(f, DIR_CLIENT, m2, strlen(m2));
	assert_int_equal(f->len[DIR_CLIENT], 0);
	j = render(f);
	assert_contains(j, "\"request_count\":2");
	assert_contains(j, "\"retransmissions\":1");
	free(j);
	flow_close(f);
	free(m2);
}

/* Folded headers, several Via hops in one header and in two. */
static void test_folding_and_vias(void **unused)
{
	(void)unused;
	const char *m = "OPTIONS sip:carol@chicago.example.com SIP/2.0\r\n"
	                "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877,\r\n"
	                " SIP/2.0/TCP proxy.example.com:5061;branch=z9hG4bK2\r\n"
	                "v: SIP/2.0/SCTP third.example.com;branch=z9hG4bK3\r\n"
	                "To: <sip:carol@chicago.example.com>\r\n"
	                "From: Alice\r\n   <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
	                "Call-ID: a84b4c76e66710\r\n"
	                "CSeq: 63104 OPTIONS\r\n"
	                "Expires: 7200\r\n"
	                "Content-Length: 0\r\n\r\n";
	struct tflow *f = flow_open_on(false);
	datagram(f, DIR_CLIENT, m);
	char *j = render(f);
	assert_contains(j,
	                "\"via\":[{\"transport\":\"UDP\",\"sent_by\":\"pc33.atlanta.example.com\","
	                "\"branch\":\"z9hG4bKhjhs8ass877\"},{\"transport\":\"TCP\",\"sent_by\":"
	                "\"proxy.example.com:5061\",\"branch\":\"z9hG4bK2\"},{\"transport\":"
	                "\"SCTP\"");
	assert_contains(j, "\"from\":\"sip:alice@atlanta.example.com\",\"from_name\":\"Alice\","
	                   "\"from_tag\":\"1928301774\"");
	assert_contains(j, "\"cseq\":63104");
	assert_contains(j, "\"expires\":7200");
	assert_contains(j, "\"status\":null");
	free(j);
	flow_close(f);
}

/* Digest: the user name and realm are noted, no alert (no password is
 * sent).  Basic: the password crossed, shown only with show_credentials. */
static void test_authorization(void **unused)
{
	(void)unused;
	const char *digest =
	    "REGISTER sip:registrar.biloxi.example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7\r\n"
	    "To: Bob <sip:bob@biloxi.example.com>\r\n"
	    "From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n"
	    "Call-ID: 843817637684230@998sdasdh09\r\n"
	    "CSeq: 1827 REGISTER\r\n"
	    "Authorization: Digest username=\"bob\", realm=\"atlanta.example.com\",\r\n"
	    "  nonce=\"ea9c8e88df84f1cec4341ae6cbe5a359\", opaque=\"\",\r\n"
	    "  uri=\"sips:ss2.biloxi.example.com\", "
	    "response=\"dfe56131d1958046689d83306477ecc\"\r\n"
	    "Expires: 3600\r\n"
	    "Contact: <sips:bob@client.biloxi.example.com>\r\n"
	    "Content-Length: 0\r\n\r\n";
	const char *reply =
	    "SIP/2.0 401 Unauthorized\r\n"
	    "Call-ID: 843817637684230@998sdasdh09\r\n"
	    "CSeq: 1827 REGISTER\r\n"
	    "WWW-Authenticate: Digest realm=\"atlanta.example.com\", nonce=\"x\"\r\n"
	    "Content-Length: 0\r\n\r\n";
	struct tflow *f = flow_open_on(false);
	datagram(f, DIR_CLIENT, digest);
	datagram(f, DIR_SERVER, reply);
	char *j = render(f);
	assert_contains(j, "\"auth\":{\"scheme\":\"Digest\",\"username\":\"bob\",\"realm\":"
	                   "\"atlanta.example.com\",\"proxy\":false}");
	assert_contains(j, "\"status\":401,\"reason\":\"Unauthorized\"");
	assert_contains(j, "\"expires\":3600");
	assert_false(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
	free(j);
	flow_close(f);

	/* Basic: "bob:secret-pw" */
	const char *basic = "INVITE sip:x@y SIP/2.0\r\n"
	                    "Call-ID: b@c\r\nCSeq: 1 INVITE\r\n"
	                    "Proxy-Authorization: Basic Ym9iOnNlY3JldC1wdw==\r\n"
	                    "Content-Length: 0\r\n\r\n";
	for (int show = 0; show < 2; show++) {
		f = flow_open_on(false);
		f->s->show_credentials = show;
		datagram(f, DIR_CLIENT, basic);
		j = render(f);
		assert_contains(j, "\"scheme\":\"Basic\",\"username\":\"bob\",\"proxy\":true");
		if (show)
			assert_contains(j, "\"password\":\"secret-pw\"");
		else
			assert_lacks(j, "secret-pw");
		assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
		free(j);
		flow_close(f);
	}
}

/* A retransmitted INVITE joins its transaction and files nothing new; a
 * response whose request was not seen makes a transaction from its CSeq. */
static void test_retransmission_and_orphan_response(void **unused)
{
	(void)unused;
	struct call c = call_make("UDP");
	struct tflow *f = flow_open_on(false);
	datagram(f, DIR_CLIENT, c.m[0]);
	datagram(f, DIR_CLIENT, c.m[0]);
	assert_int_equal(session_counter_value(f->s, "sip.media_expected"), 2);
	datagram(f, DIR_SERVER, c.m[5]); /* 200 to a BYE never seen */
	char *j = render(f);
	assert_contains(j, "\"retransmissions\":1");
	assert_contains(j, "\"request_msgs\":2,\"response_msgs\":0");
	assert_contains(j, "{\"method\":\"BYE\",\"uri\":null");
	assert_contains(j, "\"status\":200");
	free(j);
	flow_close(f);
	call_free(&c);
}

/* SDP details: a=rtcp, media-level c=, port 0 (declined), 0.0.0.0 (hold),
 * hostnames, non-RTP media: nothing expected for those. */
static void test_sdp_variants(void **unused)
{
	(void)unused;
	char *m = msg("INVITE sip:b@h SIP/2.0\r\nCall-ID: sdp@h\r\nCSeq: 5 INVITE\r\n"
	              "Content-Type: application/sdp; charset=utf-8\r\n",
	              "v=0\r\n"
	              "c=IN IP4 0.0.0.0\r\n"
	              "m=audio 5000 RTP/AVP 0\r\n"
	              "c=IN IP6 2001:db8::1\r\n"
	              "a=rtcp:5009 IN IP6 2001:db8::1\r\n"
	              "a=sendonly\r\n"
	              "m=video 0 RTP/AVP 31\r\n"
	              "m=audio 6000 RTP/AVP 0\r\n"
	              "m=image 7000 udptl t38\r\n"
	              "m=audio 8000 RTP/AVP 0\r\n"
	              "c=IN IP4 pbx.example.com\r\n"
	              "m=audio 9000 RTP/SAVP 8"); /* the last line without CRLF */
	struct tflow *f = flow_open_on(false);
	datagram(f, DIR_CLIENT, m);
	/* only the first media: IPv6 5000 and its a=rtcp port */
	assert_int_equal(session_counter_value(f->s, "sip.media_expected"), 2);
	assert_int_equal(f->s->last_expect.server_port, 5009);
	assert_int_equal(f->s->last_expect.server.version, 6);
	char *j = render(f);
	assert_contains(j, "\"ip\":\"2001:db8::1\",\"port\":5000,\"proto\":\"RTP/AVP\",\"codecs\":"
	                   "[\"PCMU\"],\"rtcp_port\":5009,\"direction\":\"sendonly\","
	                   "\"expected\":true");
	assert_contains(j, "\"media\":\"video\",\"ip\":\"0.0.0.0\",\"port\":0");
	assert_contains(j,
	                "\"media\":\"image\",\"ip\":\"0.0.0.0\",\"port\":7000,\"proto\":\"udptl\","
	                "\"codecs\":[\"t38\"]");
	assert_contains(j, "\"ip\":\"pbx.example.com\",\"port\":8000");
	assert_contains(j, "\"port\":9000,\"proto\":\"RTP/SAVP\",\"codecs\":[\"PCMA\"]");
	free(j);
	flow_close(f);
	free(m);
}

/* Caps: transactions, Via hops, media lines. */
static void test_caps(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open_on(false);
	char m[512];
	for (int i = 0; i < 70; i++) {
		snprintf(m, sizeof m,
		         "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: c%d@h\r\nCSeq: %d OPTIONS\r\n"
		         "Content-Length: 0\r\n\r\n",
		         i, i);
		datagram(f, DIR_CLIENT, m);
	}
	char *j = render(f);
	assert_contains(j, "\"truncated\":6");
	assert_contains(j, "\"request_count\":70");
	assert_int_equal(session_counter_value(f->s, "sip.too_many_transactions"), 1);
	free(j);
	flow_close(f);

	char via[2048] = "MESSAGE sip:a@b SIP/2.0\r\nCall-ID: v@h\r\nCSeq: 1 MESSAGE\r\nVia: ";
	for (int i = 0; i < 12; i++)
		snprintf(via + strlen(via), sizeof via - strlen(via),
		         "%sSIP/2.0/UDP h%d;branch=b%d", i ? ", " : "", i, i);
	strcat(via, "\r\nContent-Length: 0\r\n\r\n");
	f = flow_open_on(false);
	datagram(f, DIR_CLIENT, via);
	j = render(f);
	assert_contains(j, "\"via_truncated\":4");
	assert_contains(j, "\"sent_by\":\"h7\"");
	assert_lacks(j, "\"sent_by\":\"h8\"");
	free(j);
	flow_close(f);

	char body[4096] = "v=0\r\nc=IN IP4 192.0.2.1\r\n";
	for (int i = 0; i < 20; i++)
		snprintf(body + strlen(body), sizeof body - strlen(body),
		         "m=audio %d RTP/AVP 0 8 3 4 5 6 7 9 18 0\r\n", 20000 + 2 * i);
	char *mm = msg("INVITE sip:a@b SIP/2.0\r\nCall-ID: m@h\r\nCSeq: 1 INVITE\r\n"
	               "Content-Type: application/sdp\r\n",
	               body);
	f = flow_open_on(false);
	datagram(f, DIR_CLIENT, mm);
	j = render(f);
	assert_contains(j, "\"media_truncated\":4");
	assert_contains(j, "\"codecs_truncated\":2");
	/* 16 media, 2 ports each, but only SIP_MAX_FILED (32) remembered */
	assert_int_equal(session_counter_value(f->s, "sip.media_expected"), 32);
	free(j);
	flow_close(f);
	free(mm);

	/* an over-long header line is cut, and counted */
	char *lng = malloc(6000);
	assert_non_null(lng);
	strcpy(lng, "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: c@h\r\nCSeq: 1 OPTIONS\r\nUser-Agent: ");
	size_t at = strlen(lng);
	memset(lng + at, 'u', 5000);
	strcpy(lng + at + 5000, "\r\nContent-Length: 0\r\n\r\n");
	f = flow_open_on(true);
	feed(f, DIR_CLIENT, lng, strlen(lng));
	assert_int_equal(f->len[DIR_CLIENT], 0);
	assert_int_equal(session_counter_value(f->s, "sip.line_cut"), 1);
	j = render(f);
	assert_contains(j, "\"request_count\":1");
	free(j);
	flow_close(f);
	free(lng);
}

/* A body over the cap is skipped, and the next message is read. */
static void test_big_body(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open_on(true);
	const char *head = "MESSAGE sip:a@b SIP/2.0\r\nCall-ID: big@h\r\nCSeq: 1 MESSAGE\r\n"
	                   "Content-Type: text/plain\r\nContent-Length: 100000\r\n\r\n";
	feed(f, DIR_CLIENT, head, strlen(head));
	char *body = malloc(100000);
	assert_non_null(body);
	memset(body, 'x', 100000);
	for (int i = 0; i < 10; i++)
		feed(f, DIR_CLIENT, body + i * 10000, 10000);
	const char *next = "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: n@h\r\nCSeq: 2 OPTIONS\r\n\r\n";
	feed(f, DIR_CLIENT, next, strlen(next));
	char *j = render(f);
	assert_contains(j, "\"bodies_skipped\":1");
	assert_contains(j, "\"call_id\":\"n@h\"");
	assert_int_equal(f->len[DIR_CLIENT], 0);
	free(j);
	free(body);
	flow_close(f);
}

static void test_gap(void **unused)
{
	(void)unused;
	struct call c = call_make("TCP");
	struct tflow *f = flow_open_on(true);
	feed(f, DIR_CLIENT, c.m[0], 100);
	D.on_gap(f->s, f->state, DIR_CLIENT, 500);
	f->len[DIR_CLIENT] = 0;
	/* the rest of a line, then whole messages again */
	feed(f, DIR_CLIENT, "tail of a lost line\r\n", 21);
	feed(f, DIR_CLIENT, c.m[3], strlen(c.m[3]));
	char *j = render(f);
	assert_contains(j, "\"method\":\"ACK\"");
	assert_lacks(j, "\"method\":\"INVITE\"");
	assert_int_equal(session_counter_value(f->s, "sip.message_lost_in_gap"), 1);
	free(j);
	flow_close(f);
	call_free(&c);
}

static void test_garbage_and_keepalives(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open_on(false);
	datagram(f, DIR_CLIENT, "\r\n\r\n");
	D.on_data(f->s, f->state, DIR_CLIENT, rd_init("\0\0\0\0", 4));
	datagram(f, DIR_CLIENT, "     ");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	datagram(f, DIR_CLIENT, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	datagram(f, DIR_CLIENT,
	         "INVITE sip:a@b SIP/2.0\r\nno colon here\r\nCSeq: x\r\n"
	         "Content-Length: 12x\r\n\r\nbody");
	char *j = render(f);
	assert_contains(j, "\"keepalives\":3");
	assert_contains(j, "\"method\":\"INVITE\"");
	free(j);
	flow_close(f);

	/* random bytes: no crash */
	uint8_t junk[512];
	uint32_t x = 12345;
	for (int round = 0; round < 50; round++) {
		for (size_t i = 0; i < sizeof junk; i++) {
			x = x * 1103515245u + 12345u;
			junk[i] = (uint8_t)(x >> 16);
			if (junk[i] % 7 == 0)
				junk[i] = '\n';
		}
		memcpy(junk, round % 2 ? "SIP/2.0 200 OK\r\n" : "INVITE sip:x SIP/2.0\r\n",
		       round % 2 ? 16 : 22);
		f = flow_open_on(round % 3 == 0);
		if (round % 3 == 0)
			feed(f, DIR_CLIENT, junk, sizeof junk);
		else
			D.on_data(f->s, f->state, DIR_CLIENT, rd_init(junk, sizeof junk));
		D.on_end(f->s, f->state);
		j = render(f);
		free(j);
		flow_close(f);
	}
}

static void test_probe(void **unused)
{
	(void)unused;
	struct {
		const char *bytes;
		enum verdict v;
	} cases[] = {
	    {"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n", VERDICT_YES},
	    {"REGISTER sips:ss2.biloxi.example.com SIP/2.0\r\n", VERDICT_YES},
	    {"OPTIONS tel:+12125551212 SIP/2.0\r\n", VERDICT_YES},
	    {"SIP/2.0 200 OK\r\n", VERDICT_YES},
	    {"SIP/2.0 100 Trying\r\n", VERDICT_YES},
	    {"\r\n\r\nBYE sip:a@b SIP/2.0\r\n", VERDICT_YES},
	    {"INV", VERDICT_NEED_MORE},
	    {"INVITE sip:bob@biloxi", VERDICT_NEED_MORE},
	    {"INVITE sip:bob@biloxi SIP/2", VERDICT_NEED_MORE},
	    {"SIP/2", VERDICT_NEED_MORE},
	    {"SIP/2.0 20", VERDICT_NEED_MORE},
	    {"\r\n\r\n", VERDICT_NEED_MORE},
	    {"OPTIONS * HTTP/1.1\r\n", VERDICT_NO},
	    {"OPTIONS sip:a@b HTTP/1.1\r\n", VERDICT_NO},
	    {"GET / HTTP/1.1\r\n", VERDICT_NO},
	    {"GET sip:a@b SIP/2.0\r\n", VERDICT_NO},
	    {"HTTP/1.1 200 OK\r\n", VERDICT_NO},
	    {"RTSP/1.0 200 OK\r\n", VERDICT_NO},
	    {"SIP/2.0 2x0 OK\r\n", VERDICT_NO},
	    {"invite sip:a@b SIP/2.0\r\n", VERDICT_NO},
	    {"INVITE http://a/ SIP/2.0\r\n", VERDICT_NO},
	    {"INVITE sip:a@b SIP/2.0 extra\r\n", VERDICT_NO},
	    {"220 mail.example.com ESMTP\r\n", VERDICT_NO},
	    {"+OK POP3 ready\r\n", VERDICT_NO},
	    {"SSH-2.0-OpenSSH_9.2\r\n", VERDICT_NO},
	    {"\x16\x03\x01\x02\x00", VERDICT_NO},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum verdict v =
		    D.probe(rd_init(cases[i].bytes, strlen(cases[i].bytes)), DIR_CLIENT);
		if (v != cases[i].v)
			fail_msg("probe(\"%s\") = %d, wanted %d", cases[i].bytes, v, cases[i].v);
	}
	/* no prefix of a request or status line is refused */
	const char *good[] = {"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n",
	                      "SIP/2.0 180 Ringing\r\n"};
	for (int g = 0; g < 2; g++)
		for (size_t n = 0; n < strlen(good[g]); n++)
			assert_int_not_equal(D.probe(rd_init(good[g], n), DIR_SERVER), VERDICT_NO);
	/* the empty reader */
	assert_int_equal(D.probe(rd_init(NULL, 0), DIR_CLIENT), VERDICT_NEED_MORE);
}

static void test_empty_state(void **unused)
{
	(void)unused;
	struct tflow *f = flow_open_on(true);
	D.on_end(f->s, f->state);
	char *j = render(f);
	assert_contains(j, "\"requests\":[]");
	char sum[64];
	D.summarize(f->state, sum, sizeof sum);
	assert_string_equal(sum, "SIP 0 messages");
	D.summarize(f->state, sum, 0);
	free(j);
	flow_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_call_udp),
	    cmocka_unit_test(test_note_names_dynamic_types),
	    cmocka_unit_test(test_call_tcp_every_split),
	    cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_compact_headers),
	    cmocka_unit_test(test_folding_and_vias),
	    cmocka_unit_test(test_authorization),
	    cmocka_unit_test(test_retransmission_and_orphan_response),
	    cmocka_unit_test(test_sdp_variants),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_big_body),
	    cmocka_unit_test(test_gap),
	    cmocka_unit_test(test_garbage_and_keepalives),
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_empty_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
