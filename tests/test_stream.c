/* TCP reassembly: the same segment sequences through the libnids path and
 * through ours must give the dissector the same bytes and the same gap
 * notices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "portolan/decode.h"
#include "portolan/dissect.h"
#include "portolan/flow.h"
#include "portolan/stream.h"

/* ---- a dissector that records what it is given ---- */

struct recorded {
	uint8_t bytes[2][8192];
	size_t len[2];
	size_t gaps[2][8]; /* the missing counts, in order */
	size_t n_gaps[2];
};

static size_t rec_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	(void)s;
	struct recorded *rec = *(struct recorded **)state;
	size_t n = rd_remaining(&r);
	const uint8_t *p = rd_take(&r, n);
	assert_true(rec->len[dir] + n <= sizeof rec->bytes[dir]);
	memcpy(rec->bytes[dir] + rec->len[dir], p, n);
	rec->len[dir] += n;
	return n;
}

static void rec_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	(void)s;
	struct recorded *rec = *(struct recorded **)state;
	if (rec->n_gaps[dir] < 8)
		rec->gaps[dir][rec->n_gaps[dir]++] = missing;
}

static const struct dissector recorder = {
    .name = "recorder",
    .transports = TRANSPORT_BIT_TCP,
    .state_size = sizeof(struct recorded *),
    .on_data = rec_on_data,
    .on_gap = rec_on_gap,
};

/* ---- a tiny pipeline: flow table, dissect and stream stages ---- */

struct harness {
	struct flow_table *flows;
	struct dissect_ctx dissect;
	struct stream_ctx stream;
	struct counters counters;
	struct recorded rec;
	uint8_t reassembly; /* the path the flow took, read at its end */
};

static void on_end(struct flow *f, enum flow_end_reason why, void *ctx)
{
	struct harness *h = ctx;
	(void)why;
	stream_flow_end(&h->stream, f);
	h->reassembly = f->reassembly;
	dissect_release(f);
}

static void harness_init(struct harness *h, bool libnids)
{
	struct flow_config fc;
	struct stream_config sc;
	char err[256];

	memset(h, 0, sizeof *h);
	flow_config_default(&fc);
	h->flows = flow_table_new(&fc, on_end, h);
	dissect_config_default(&h->dissect.cfg);
	h->dissect.counters = &h->counters;
	stream_config_default(&sc);
	sc.use_libnids = libnids;
	sc.nids_streams = 64;
	assert_int_equal(
	    stream_init(&h->stream, &sc, &h->dissect, &h->counters, h->flows, err, sizeof err), 0);
}

static void harness_done(struct harness *h)
{
	flow_table_free(h->flows);
	stream_shutdown(&h->stream);
}

/* Builds an IPv4 TCP packet (client port cport), decodes it and runs it
 * through the stages. */
static void send_tcp_port(struct harness *h, bool from_client, uint8_t flags, uint32_t seq,
                          uint32_t ack, const char *payload, usec_t ts, uint16_t cport)
{
	uint8_t buf[1600];
	size_t plen = payload ? strlen(payload) : 0;
	size_t len = 20 + 20 + plen;
	uint8_t c[4] = {10, 0, 0, 5}, s[4] = {10, 0, 0, 80};

	memset(buf, 0, sizeof buf);
	buf[0] = 0x45;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	buf[8] = 64;
	buf[9] = 6;
	memcpy(buf + 12, from_client ? c : s, 4);
	memcpy(buf + 16, from_client ? s : c, 4);
	uint16_t ck = inet_checksum_finish(inet_checksum_add(0, buf, 20));
	buf[10] = (uint8_t)(ck >> 8);
	buf[11] = (uint8_t)ck;
	uint8_t *t = buf + 20;
	uint16_t sp = from_client ? cport : 80, dp = from_client ? 80 : cport;
	t[0] = (uint8_t)(sp >> 8), t[1] = (uint8_t)sp, t[2] = (uint8_t)(dp >> 8),
	t[3] = (uint8_t)dp;
	for (int i = 0; i < 4; i++) {
		t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	t[12] = 0x50;
	t[13] = flags;
	t[14] = 0xff; /* window */
	memcpy(t + 20, payload ? payload : "", plen);

	struct packet p;
	memset(&p, 0, sizeof p);
	p.ts = ts;
	p.caplen = p.wirelen = (uint32_t)len;
	assert_int_equal(decode_ip(buf, len, &p), DECODE_OK);
	enum direction dir;
	bool created;
	struct flow *f = flow_lookup(h->flows, &p, &dir, &created);
	assert_non_null(f);
	if (created) { /* pin the recorder, as decode-as would */
		f->dissector = &recorder;
		f->dstate = calloc(1, sizeof(struct recorded *));
		*(struct recorded **)f->dstate = &h->rec;
	}
	flow_update(h->flows, f, &p, dir);
	stream_packet(&h->stream, f, dir, &p);
}

static void send_tcp(struct harness *h, bool from_client, uint8_t flags, uint32_t seq, uint32_t ack,
                     const char *payload, usec_t ts)
{
	send_tcp_port(h, from_client, flags, seq, ack, payload, ts, 40000);
}

#define C true
#define S false
#define ISN_C 1000u
#define ISN_S 5000u

static usec_t tick;

static void handshake(struct harness *h)
{
	send_tcp(h, C, TCP_SYN, ISN_C, 0, NULL, ++tick);
	send_tcp(h, S, TCP_SYN | TCP_ACK, ISN_S, ISN_C + 1, NULL, ++tick);
	send_tcp(h, C, TCP_ACK, ISN_C + 1, ISN_S + 1, NULL, ++tick);
}

/* client data at relative offset off (0 = first byte) */
static void cdata(struct harness *h, uint32_t off, const char *s)
{
	send_tcp(h, C, TCP_ACK | TCP_PSH, ISN_C + 1 + off, ISN_S + 1, s, ++tick);
}

static void sdata(struct harness *h, uint32_t off, const char *s)
{
	send_tcp(h, S, TCP_ACK | TCP_PSH, ISN_S + 1 + off, ISN_C + 1, s, ++tick);
}

typedef void (*scenario_fn)(struct harness *h);

/* Runs a scenario through both paths and checks they agree with each
 * other and with what was expected. */
static void run_both(scenario_fn fn, const char *want_client, const char *want_server,
                     size_t client_gap, bool handshake_seen)
{
	struct harness a, b;
	static struct recorded ra, rb;

	harness_init(&a, true);
	tick = 1000000;
	fn(&a);
	harness_done(&a);
	ra = a.rec;
	assert_int_equal(a.reassembly, handshake_seen ? 2 : 1);

	harness_init(&b, false);
	tick = 1000000;
	fn(&b);
	harness_done(&b);
	rb = b.rec;
	assert_int_equal(b.reassembly, 1);

	for (int d = 0; d < 2; d++) {
		assert_int_equal(ra.len[d], rb.len[d]);
		assert_memory_equal(ra.bytes[d], rb.bytes[d], ra.len[d]);
		assert_int_equal(ra.n_gaps[d], rb.n_gaps[d]);
		for (size_t i = 0; i < ra.n_gaps[d]; i++)
			assert_int_equal(ra.gaps[d][i], rb.gaps[d][i]);
	}
	assert_int_equal(ra.len[DIR_CLIENT], strlen(want_client));
	assert_memory_equal(ra.bytes[DIR_CLIENT], want_client, strlen(want_client));
	assert_int_equal(ra.len[DIR_SERVER], strlen(want_server));
	assert_memory_equal(ra.bytes[DIR_SERVER], want_server, strlen(want_server));
	if (client_gap) {
		assert_int_equal(ra.n_gaps[DIR_CLIENT], 1);
		assert_int_equal(ra.gaps[DIR_CLIENT][0], client_gap);
	} else {
		assert_int_equal(ra.n_gaps[DIR_CLIENT], 0);
	}
}

static void close_both(struct harness *h, uint32_t clen, uint32_t slen)
{
	send_tcp(h, C, TCP_FIN | TCP_ACK, ISN_C + 1 + clen, ISN_S + 1 + slen, NULL, ++tick);
	send_tcp(h, S, TCP_FIN | TCP_ACK, ISN_S + 1 + slen, ISN_C + 2 + clen, NULL, ++tick);
	send_tcp(h, C, TCP_ACK, ISN_C + 2 + clen, ISN_S + 2 + slen, NULL, ++tick);
}

static void in_order(struct harness *h)
{
	handshake(h);
	cdata(h, 0, "GET / ");
	cdata(h, 6, "HTTP/1.0\r\n\r\n");
	sdata(h, 0, "HTTP/1.0 200 OK\r\n\r\n");
	close_both(h, 18, 19);
}

static void reordered(struct harness *h)
{
	handshake(h);
	cdata(h, 6, "bbbbbb");
	cdata(h, 12, "cccc");
	cdata(h, 0, "aaaaaa");
	sdata(h, 4, "5678");
	sdata(h, 0, "1234");
	close_both(h, 16, 8);
}

static void retransmitted(struct harness *h)
{
	handshake(h);
	cdata(h, 0, "hello ");
	cdata(h, 0, "hello ");
	cdata(h, 6, "world");
	cdata(h, 6, "world");
	sdata(h, 0, "ok");
	sdata(h, 0, "ok");
	close_both(h, 11, 2);
}

static void overlapping(struct harness *h)
{
	handshake(h);
	cdata(h, 0, "abcdef");
	cdata(h, 3, "defghi"); /* half old, half new */
	cdata(h, 12, "mno");
	cdata(h, 8, "ijklm"); /* fills the hole and overlaps both sides */
	close_both(h, 15, 0);
}

static void with_hole(struct harness *h)
{
	handshake(h);
	cdata(h, 0, "first-");
	/* bytes 6..13 never captured */
	cdata(h, 14, "third-");
	cdata(h, 20, "fourth");
	sdata(h, 0, "reply");
	close_both(h, 26, 5);
}

static void midstream(struct harness *h)
{
	/* no handshake: the first data starts the stream */
	cdata(h, 100, "tail of a request\r\n");
	sdata(h, 200, "HTTP/1.1 200 OK\r\n");
	cdata(h, 119, "next\r\n");
}

static void test_in_order(void **state)
{
	(void)state;
	run_both(in_order, "GET / HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK\r\n\r\n", 0, true);
}

static void test_reordered(void **state)
{
	(void)state;
	run_both(reordered, "aaaaaabbbbbbcccc", "12345678", 0, true);
}

static void test_retransmitted(void **state)
{
	(void)state;
	run_both(retransmitted, "hello world", "ok", 0, true);
}

static void test_overlapping(void **state)
{
	(void)state;
	run_both(overlapping, "abcdefghijklmno", "", 0, true);
}

static void test_hole(void **state)
{
	(void)state;
	run_both(with_hole, "first-third-fourth", "reply", 8, true);
}

static void test_midstream(void **state)
{
	(void)state;
	run_both(midstream, "tail of a request\r\nnext\r\n", "HTTP/1.1 200 OK\r\n", 0, false);
}

/* Many concurrent handshakes: past 70% of libnids' table, new flows go to
 * our reassembler, and every flow still gets its bytes. */
static void test_table_near_full_goes_own(void **state)
{
	(void)state;
	struct harness h;
	struct flow_config fc;
	struct stream_config sc;
	char err[256];
	int own = 0, nids = 0;

	memset(&h, 0, sizeof h);
	flow_config_default(&fc);
	h.flows = flow_table_new(&fc, on_end, &h);
	dissect_config_default(&h.dissect.cfg);
	h.dissect.counters = &h.counters;
	stream_config_default(&sc);
	sc.nids_streams = 10; /* room for 6 (70%) */
	assert_int_equal(
	    stream_init(&h.stream, &sc, &h.dissect, &h.counters, h.flows, err, sizeof err), 0);
	tick = 1000000;
	for (uint16_t i = 0; i < 10; i++) {
		send_tcp_port(&h, C, TCP_SYN, ISN_C, 0, NULL, ++tick, (uint16_t)(41000 + i));
		send_tcp_port(&h, S, TCP_SYN | TCP_ACK, ISN_S, ISN_C + 1, NULL, ++tick,
		              (uint16_t)(41000 + i));
		send_tcp_port(&h, C, TCP_ACK | TCP_PSH, ISN_C + 1, ISN_S + 1, "x", ++tick,
		              (uint16_t)(41000 + i));
	}
	for (uint16_t i = 0; i < 10; i++) {
		enum direction dir;
		struct ip_addr c = {4, {10, 0, 0, 5}}, s = {4, {10, 0, 0, 80}};
		struct flow *f =
		    flow_find(h.flows, TRANSPORT_TCP, &c, (uint16_t)(41000 + i), &s, 80, &dir);
		assert_non_null(f);
		if (f->reassembly == 2)
			nids++;
		else
			own++;
	}
	assert_int_equal(nids, 7); /* admitted while fewer than 7 were in use */
	assert_int_equal(own, 3);
	assert_int_equal(counters_get(&h.counters, "tcp.libnids_table_full"), 3);
	harness_done(&h);
	assert_int_equal(h.rec.len[DIR_CLIENT], 10); /* one "x" from each flow */
}

/* A hole nobody ACKs past: after stall_segments held segments the hole is
 * skipped while the flow is still open, on both paths alike. */
static void long_hole(struct harness *h)
{
	handshake(h);
	cdata(h, 0, "aa");
	for (uint32_t i = 0; i < 9; i++) /* bytes 2..3 never come */
		send_tcp(h, C, TCP_PSH, ISN_C + 1 + 4 + 2 * i, 0, "bb", ++tick);
}

static void test_stall_skips_hole(void **state)
{
	(void)state;
	run_both(long_hole, "aabbbbbbbbbbbbbbbbbb", "", 2, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_order),
	    cmocka_unit_test(test_reordered),
	    cmocka_unit_test(test_retransmitted),
	    cmocka_unit_test(test_overlapping),
	    cmocka_unit_test(test_hole),
	    cmocka_unit_test(test_midstream),
	    cmocka_unit_test(test_table_near_full_goes_own),
	    cmocka_unit_test(test_stall_skips_hole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
