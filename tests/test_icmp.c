/* ICMP and ICMPv6: decoding of every type handled, the quoted datagram of
 * an error (truncated and hostile at every offset), echo sessions with
 * their RTT, errors matched to the flow they answer, and the messages that
 * are only counted.  The session and error tests run whole packets through
 * the pipeline and read the JSON records back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "portolan/community_id.h"
#include "portolan/decode.h"
#include "portolan/icmp.h"
#include "portolan/pipeline.h"

/* ---- packet building ---- */

struct buf {
	uint8_t b[4096];
	size_t n;
};

static void put8(struct buf *b, unsigned v)
{
	assert_true(b->n < sizeof b->b);
	b->b[b->n++] = (uint8_t)v;
}
static void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}
static void put32(struct buf *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}
static void put_bytes(struct buf *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(b, p[i]);
}
static void put_fill(struct buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(b, 0x40 + (unsigned)(i % 26));
}

static const uint8_t C4[4] = {10, 0, 0, 2}, S4[4] = {10, 0, 0, 1}, R4[4] = {10, 0, 0, 254};
static const uint8_t C6[16] = {0xfd, 0, 0, 0x14, 0, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t S6[16] = {0xfd, 0, 0, 0x14, 0, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

/* An IPv4 header (20 bytes) for a payload of payload_len bytes. */
static void ipv4(struct buf *b, uint8_t proto, const uint8_t *src, const uint8_t *dst,
                 size_t payload_len, uint16_t flags_offset)
{
	put8(b, 0x45);
	put8(b, 0);
	put16(b, (unsigned)(20 + payload_len));
	put16(b, 0x1234);
	put16(b, flags_offset);
	put8(b, 64);
	put8(b, proto);
	put16(b, 0);
	put_bytes(b, src, 4);
	put_bytes(b, dst, 4);
}

static void ipv6(struct buf *b, uint8_t nh, const uint8_t *src, const uint8_t *dst,
                 size_t payload_len)
{
	put32(b, 0x60000000);
	put16(b, (unsigned)payload_len);
	put8(b, nh);
	put8(b, 64);
	put_bytes(b, src, 16);
	put_bytes(b, dst, 16);
}

static void icmp_header(struct buf *b, uint8_t type, uint8_t code, uint16_t id, uint16_t seq)
{
	put8(b, type);
	put8(b, code);
	put16(b, 0); /* checksum: not checked */
	put16(b, id);
	put16(b, seq);
}

static struct buf icmp4(const uint8_t *src, const uint8_t *dst, uint8_t type, uint8_t code,
                        uint16_t id, uint16_t seq, size_t data)
{
	struct buf b = {.n = 0};
	ipv4(&b, 1, src, dst, 8 + data, 0);
	icmp_header(&b, type, code, id, seq);
	put_fill(&b, data);
	return b;
}

static struct buf icmp6(const uint8_t *src, const uint8_t *dst, uint8_t type, uint8_t code,
                        uint16_t id, uint16_t seq, size_t data)
{
	struct buf b = {.n = 0};
	ipv6(&b, 58, src, dst, 8 + data);
	icmp_header(&b, type, code, id, seq);
	put_fill(&b, data);
	return b;
}

static struct buf udp4(const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport,
                       size_t data)
{
	struct buf b = {.n = 0};
	ipv4(&b, 17, src, dst, 8 + data, 0);
	put16(&b, sport);
	put16(&b, dport);
	put16(&b, (unsigned)(8 + data));
	put16(&b, 0);
	put_fill(&b, data);
	return b;
}

/* A UDP datagram over IPv6 behind a hop-by-hop and a destination options
 * header (8 and 16 bytes). */
static struct buf udp6_ext(const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport,
                           size_t data)
{
	struct buf b = {.n = 0};
	ipv6(&b, 0, src, dst, 8 + 16 + 8 + data);
	put8(&b, 60); /* hop-by-hop: next is destination options */
	put8(&b, 0);
	put_fill(&b, 6);
	put8(&b, 17); /* destination options: next is UDP, 16 bytes */
	put8(&b, 1);
	put_fill(&b, 14);
	put16(&b, sport);
	put16(&b, dport);
	put16(&b, (unsigned)(8 + data));
	put16(&b, 0);
	put_fill(&b, data);
	return b;
}

static struct buf tcp4_syn(const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport)
{
	struct buf b = {.n = 0};
	ipv4(&b, 6, src, dst, 20, 0x4000);
	put16(&b, sport);
	put16(&b, dport);
	put32(&b, 1000);
	put32(&b, 0);
	put8(&b, 0x50);
	put8(&b, 0x02);
	put16(&b, 65535);
	put16(&b, 0);
	put16(&b, 0);
	return b;
}

/* An ICMP error from `from` to `to` quoting the first quote_len bytes of q. */
static struct buf error4(const uint8_t *from, const uint8_t *to, uint8_t type, uint8_t code,
                         const struct buf *q, size_t quote_len)
{
	struct buf b = {.n = 0};
	ipv4(&b, 1, from, to, 8 + quote_len, 0);
	icmp_header(&b, type, code, 0, 0);
	put_bytes(&b, q->b, quote_len);
	return b;
}

static struct buf error6(const uint8_t *from, const uint8_t *to, uint8_t type, uint8_t code,
                         const struct buf *q, size_t quote_len)
{
	struct buf b = {.n = 0};
	ipv6(&b, 58, from, to, 8 + quote_len);
	icmp_header(&b, type, code, 0, 0);
	put_bytes(&b, q->b, quote_len);
	return b;
}

static enum decode_status decode(const struct buf *b, struct packet *p)
{
	return decode_packet(LINK_RAW, b->b, (uint32_t)b->n, (uint32_t)b->n, 1000000, p);
}

/* ---- running the pipeline ---- */

#define T0 1700000000000000ULL

struct run {
	char *json;   /* every record, one a line */
	size_t lines; /* session records */
	struct counters counters;
};

static size_t count_sessions(const char *s)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, "\"type\":\"session\"")); p++)
		n++;
	return n;
}

/* Feeds the packets, one a millisecond unless ts[] says otherwise. */
static void run_packets(struct run *r, const struct buf *pk, const usec_t *ts, size_t n)
{
	char path[] = "/tmp/portolan-test-icmp-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	char err[256];
	struct output out;
	assert_int_equal(output_open(&out, path, OUTPUT_JSON, false, err, sizeof err), 0);
	struct pipeline_config cfg;
	pipeline_config_default(&cfg);
	struct pipeline *pl = calloc(1, sizeof *pl);
	assert_non_null(pl);
	assert_int_equal(pipeline_init(pl, &cfg, &out, err, sizeof err), 0);
	for (size_t i = 0; i < n; i++)
		pipeline_packet(pl, LINK_RAW, ts ? ts[i] : T0 + i * 1000, pk[i].b,
		                (uint32_t)pk[i].n, (uint32_t)pk[i].n);
	pipeline_flush(pl);
	r->counters = pl->counters;
	pipeline_free(pl);
	free(pl);
	output_close(&out);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	r->json = calloc(1, 1 << 20);
	assert_non_null(r->json);
	size_t got = fread(r->json, 1, (1 << 20) - 1, fp);
	r->json[got] = '\0';
	fclose(fp);
	unlink(path);
	r->lines = count_sessions(r->json);
}

static void run_free(struct run *r)
{
	free(r->json);
	r->json = NULL;
}

static void assert_has(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("missing %s in:\n%s", needle, hay);
}

/* ---- decoding ---- */

struct expect_type {
	uint8_t version, type, kind;
	const char *name;
};

static const struct expect_type every_type[] = {
    {4, 0, ICMP_KIND_REPLY, "echo-reply"},
    {4, 3, ICMP_KIND_ERROR, "destination-unreachable"},
    {4, 4, ICMP_KIND_ERROR, "source-quench"},
    {4, 5, ICMP_KIND_ERROR, "redirect"},
    {4, 8, ICMP_KIND_REQUEST, "echo-request"},
    {4, 9, ICMP_KIND_INFO, "router-advertisement"},
    {4, 10, ICMP_KIND_INFO, "router-solicitation"},
    {4, 11, ICMP_KIND_ERROR, "time-exceeded"},
    {4, 12, ICMP_KIND_ERROR, "parameter-problem"},
    {4, 13, ICMP_KIND_REQUEST, "timestamp-request"},
    {4, 14, ICMP_KIND_REPLY, "timestamp-reply"},
    {4, 15, ICMP_KIND_REQUEST, "information-request"},
    {4, 16, ICMP_KIND_REPLY, "information-reply"},
    {4, 17, ICMP_KIND_REQUEST, "address-mask-request"},
    {4, 18, ICMP_KIND_REPLY, "address-mask-reply"},
    {6, 1, ICMP_KIND_ERROR, "destination-unreachable"},
    {6, 2, ICMP_KIND_ERROR, "packet-too-big"},
    {6, 3, ICMP_KIND_ERROR, "time-exceeded"},
    {6, 4, ICMP_KIND_ERROR, "parameter-problem"},
    {6, 128, ICMP_KIND_REQUEST, "echo-request"},
    {6, 129, ICMP_KIND_REPLY, "echo-reply"},
    {6, 130, ICMP_KIND_INFO, "multicast-listener-query"},
    {6, 131, ICMP_KIND_INFO, "multicast-listener-report"},
    {6, 132, ICMP_KIND_INFO, "multicast-listener-done"},
    {6, 133, ICMP_KIND_INFO, "router-solicitation"},
    {6, 134, ICMP_KIND_INFO, "router-advertisement"},
    {6, 135, ICMP_KIND_INFO, "neighbor-solicitation"},
    {6, 136, ICMP_KIND_INFO, "neighbor-advertisement"},
    {6, 137, ICMP_KIND_INFO, "redirect"},
    {6, 143, ICMP_KIND_INFO, "multicast-listener-report-v2"},
};

static void test_decode_every_type(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof every_type / sizeof every_type[0]; i++) {
		const struct expect_type *x = &every_type[i];
		struct buf b = x->version == 4 ? icmp4(C4, S4, x->type, 7, 0xbeef, 42, 12)
		                               : icmp6(C6, S6, x->type, 7, 0xbeef, 42, 12);
		struct packet p;
		assert_int_equal(decode(&b, &p), DECODE_OK);
		assert_int_equal(p.ip_proto, x->version == 4 ? 1 : 58);
		assert_int_equal(p.icmp_type, x->type);
		assert_int_equal(p.icmp_code, 7);
		assert_int_equal(p.payload_len, 12);
		assert_int_equal(p.payload_wire_len, 12);
		assert_int_equal(p.payload[0], 0x40);
		const struct icmp_type_info *ti = icmp_type_info(x->version, x->type);
		assert_non_null(ti);
		assert_int_equal(ti->kind, x->kind);
		assert_string_equal(ti->name, x->name);
		assert_string_equal(icmp_type_name(x->version, x->type), x->name);
		assert_non_null(ti->counter);
		bool query = x->kind == ICMP_KIND_REQUEST || x->kind == ICMP_KIND_REPLY;
		assert_int_equal(p.icmp_query, query);
		if (query) {
			assert_int_equal(p.sport, 0xbeef);
			assert_int_equal(p.dport, 0xbeef);
			assert_int_equal(p.icmp_seq, 42);
			/* a request's counterpart is its reply and back */
			const struct icmp_type_info *other =
			    icmp_type_info(x->version, ti->counterpart);
			assert_non_null(other);
			assert_int_equal(other->counterpart, x->type);
		} else {
			assert_int_equal(p.sport, 0);
		}
	}
	/* unknown types decode, without a name */
	struct buf b = icmp6(C6, S6, 200, 0, 1, 1, 0);
	struct packet p;
	assert_int_equal(decode(&b, &p), DECODE_OK);
	assert_null(icmp_type_info(6, 200));
	assert_false(p.icmp_query);
	assert_null(icmp_type_name(4, 42));
}

static void test_decode_truncated_header(void **state)
{
	(void)state;
	for (size_t len = 0; len < 8; len++) {
		struct buf b = {.n = 0};
		ipv4(&b, 1, C4, S4, len, 0);
		for (size_t i = 0; i < len; i++)
			put8(&b, i == 0 ? 8 : 0);
		struct packet p;
		assert_int_equal(decode(&b, &p), DECODE_MALFORMED);
		assert_int_equal(p.error, DERR_ICMP_TRUNCATED);
		assert_string_equal(decode_error_name(DERR_ICMP_TRUNCATED), "icmp_truncated");
	}
	/* the IP length says 8 + 56, the snaplen kept 8 + 10 */
	struct buf b = icmp4(C4, S4, 8, 0, 1, 1, 56);
	struct packet p;
	assert_int_equal(decode_packet(LINK_RAW, b.b, 38, (uint32_t)b.n, 0, &p), DECODE_OK);
	assert_int_equal(p.payload_len, 10);
	assert_int_equal(p.payload_wire_len, 56);
	assert_true(p.snap_truncated);
}

static void test_code_names(void **state)
{
	(void)state;
	assert_string_equal(icmp_code_name(4, 3, 3), "port-unreachable");
	assert_string_equal(icmp_code_name(4, 3, 1), "host-unreachable");
	assert_string_equal(icmp_code_name(4, 3, 4), "fragmentation-needed");
	assert_string_equal(icmp_code_name(4, 11, 0), "ttl-exceeded");
	assert_string_equal(icmp_code_name(4, 12, 0), "pointer-indicates-error");
	assert_string_equal(icmp_code_name(4, 4, 0), "source-quench");
	assert_string_equal(icmp_code_name(4, 5, 1), "redirect-host");
	assert_string_equal(icmp_code_name(6, 1, 4), "port-unreachable");
	assert_string_equal(icmp_code_name(6, 1, 0), "no-route");
	assert_string_equal(icmp_code_name(6, 2, 0), "packet-too-big");
	assert_string_equal(icmp_code_name(6, 3, 0), "hop-limit-exceeded");
	assert_string_equal(icmp_code_name(6, 4, 1), "unrecognized-next-header");
	assert_null(icmp_code_name(4, 3, 99));
	assert_null(icmp_code_name(6, 128, 0));
}

/* ---- the quoted datagram ---- */

static void test_quote_ipv4(void **state)
{
	(void)state;
	struct icmp_quote q;
	struct buf u = udp4(C4, S4, 55688, 40001, 20);
	assert_int_equal(icmp_parse_quote(4, u.b, 28, &q), QUOTE_OK);
	assert_int_equal(q.proto, TRANSPORT_UDP);
	assert_memory_equal(q.src.b, C4, 4);
	assert_memory_equal(q.dst.b, S4, 4);
	assert_int_equal(q.src.version, 4);
	assert_int_equal(q.sport, 55688);
	assert_int_equal(q.dport, 40001);

	struct buf t = tcp4_syn(C4, S4, 41630, 40002);
	assert_int_equal(icmp_parse_quote(4, t.b, 28, &q), QUOTE_OK);
	assert_int_equal(q.proto, TRANSPORT_TCP);
	assert_int_equal(q.sport, 41630);

	/* a ping the network could not deliver */
	struct buf e = icmp4(C4, S4, 8, 0, 777, 3, 56);
	assert_int_equal(icmp_parse_quote(4, e.b, 28, &q), QUOTE_OK);
	assert_int_equal(q.proto, TRANSPORT_ICMP);
	assert_int_equal(q.sport, 777);
	assert_int_equal(q.dport, 777);

	/* an error about an error makes no flow */
	struct buf ee = error4(S4, C4, 3, 3, &u, 28);
	assert_int_equal(icmp_parse_quote(4, ee.b, 28, &q), QUOTE_UNTRACKED);
	/* neither does GRE */
	struct buf g = {.n = 0};
	ipv4(&g, 47, C4, S4, 8, 0);
	put_fill(&g, 8);
	assert_int_equal(icmp_parse_quote(4, g.b, g.n, &q), QUOTE_UNTRACKED);
}

static void test_quote_truncated_every_offset(void **state)
{
	(void)state;
	struct icmp_quote q;
	struct buf u = udp4(C4, S4, 1111, 2222, 20);
	for (size_t n = 0; n < 28; n++)
		assert_int_equal(icmp_parse_quote(4, u.b, n, &q), QUOTE_TRUNCATED);
	for (size_t n = 28; n <= u.n; n++)
		assert_int_equal(icmp_parse_quote(4, u.b, n, &q), QUOTE_OK);

	struct buf u6 = udp6_ext(C6, S6, 3333, 4444, 20);
	size_t need = 40 + 8 + 16 + 8;
	for (size_t n = 0; n < need; n++)
		assert_int_equal(icmp_parse_quote(6, u6.b, n, &q), QUOTE_TRUNCATED);
	for (size_t n = need; n <= u6.n; n++) {
		assert_int_equal(icmp_parse_quote(6, u6.b, n, &q), QUOTE_OK);
		assert_int_equal(q.proto, TRANSPORT_UDP);
		assert_int_equal(q.sport, 3333);
		assert_int_equal(q.dport, 4444);
		assert_memory_equal(q.src.b, C6, 16);
	}
}

static void test_quote_hostile(void **state)
{
	(void)state;
	struct icmp_quote q;
	struct buf u = udp4(C4, S4, 1111, 2222, 20);

	struct buf x = u; /* a total length shorter than the headers shown */
	x.b[2] = 0;
	x.b[3] = 20;
	assert_int_equal(icmp_parse_quote(4, x.b, x.n, &q), QUOTE_MALFORMED);
	x = u; /* header length 16 */
	x.b[0] = 0x44;
	assert_int_equal(icmp_parse_quote(4, x.b, x.n, &q), QUOTE_MALFORMED);
	x = u; /* header length 60 in a datagram of 48 bytes: a lie */
	x.b[0] = 0x4f;
	assert_int_equal(icmp_parse_quote(4, x.b, x.n, &q), QUOTE_MALFORMED);
	x.b[3] = 100; /* in one of 100 bytes, of which 48 were quoted: cut short */
	assert_int_equal(icmp_parse_quote(4, x.b, x.n, &q), QUOTE_TRUNCATED);
	x = u; /* an IPv6 header in an ICMPv4 error, and the other way round */
	x.b[0] = 0x65;
	assert_int_equal(icmp_parse_quote(4, x.b, x.n, &q), QUOTE_MALFORMED);
	assert_int_equal(icmp_parse_quote(6, u.b, u.n, &q), QUOTE_MALFORMED);
	x = u; /* a later fragment: no ports in it */
	x.b[6] = 0x00;
	x.b[7] = 0x10;
	assert_int_equal(icmp_parse_quote(4, x.b, x.n, &q), QUOTE_FRAGMENT);
	x = u; /* the first fragment has them */
	x.b[6] = 0x20;
	x.b[7] = 0x00;
	assert_int_equal(icmp_parse_quote(4, x.b, x.n, &q), QUOTE_OK);

	/* IPv6: a payload length too short for the extension headers */
	struct buf u6 = udp6_ext(C6, S6, 3333, 4444, 20);
	x = u6;
	x.b[4] = 0;
	x.b[5] = 16;
	assert_int_equal(icmp_parse_quote(6, x.b, x.n, &q), QUOTE_MALFORMED);
	/* a destination options header that claims 2 KiB */
	x = u6;
	x.b[40 + 8 + 1] = 255;
	assert_int_equal(icmp_parse_quote(6, x.b, x.n, &q), QUOTE_MALFORMED);
	x.b[4] = 0; /* payload length 0 (a jumbogram): only the quote's end stops it */
	x.b[5] = 0;
	assert_int_equal(icmp_parse_quote(6, x.b, x.n, &q), QUOTE_TRUNCATED);

	/* a fragment header: offset 0 has the ports, a later one has not */
	struct buf f6 = {.n = 0};
	ipv6(&f6, 44, C6, S6, 8 + 8 + 4);
	put8(&f6, 17);
	put8(&f6, 0);
	put16(&f6, 0x0001); /* offset 0, more fragments */
	put32(&f6, 99);
	put16(&f6, 5353);
	put16(&f6, 53);
	put16(&f6, 12);
	put16(&f6, 0);
	put_fill(&f6, 4);
	assert_int_equal(icmp_parse_quote(6, f6.b, f6.n, &q), QUOTE_OK);
	assert_int_equal(q.sport, 5353);
	f6.b[42] = 0x00;
	f6.b[43] = 0x09; /* offset 8 bytes */
	assert_int_equal(icmp_parse_quote(6, f6.b, f6.n, &q), QUOTE_FRAGMENT);

	/* nine extension headers in a row */
	struct buf many = {.n = 0};
	ipv6(&many, 60, C6, S6, 9 * 8 + 8);
	for (int i = 0; i < 9; i++) {
		put8(&many, i == 8 ? 17 : 60);
		put8(&many, 0);
		put_fill(&many, 6);
	}
	put_fill(&many, 8);
	assert_int_equal(icmp_parse_quote(6, many.b, many.n, &q), QUOTE_MALFORMED);

	/* every byte of a quote set to hostile values: whatever it says, the
	 * parser stays inside the bytes (ASan watches) and answers */
	static const uint8_t values[] = {0x00, 0x01, 0x06, 0x11, 0x2c, 0x3a,
	                                 0x3c, 0x45, 0x4f, 0x60, 0x80, 0xff};
	const struct buf *bases[] = {&u, &u6, &f6};
	for (size_t k = 0; k < 3; k++) {
		for (size_t i = 0; i < bases[k]->n; i++) {
			for (size_t v = 0; v < sizeof values; v++) {
				struct buf h = *bases[k];
				h.b[i] = values[v];
				for (size_t cut = i; cut <= h.n; cut += 7) {
					enum icmp_quote_status st =
					    icmp_parse_quote(k ? 6 : 4, h.b, cut, &q);
					assert_true(st <= QUOTE_UNTRACKED);
				}
			}
		}
	}
}

/* ---- sessions ---- */

static void test_echo_session_rtt(void **state)
{
	(void)state;
	/* three pings; replies to 1 and 3 (after 1 ms and 3 ms), a duplicate
	 * reply to 1, and 2 unanswered */
	struct buf pk[6];
	usec_t ts[6];
	pk[0] = icmp4(C4, S4, 8, 0, 27, 1, 56), ts[0] = T0;
	pk[1] = icmp4(S4, C4, 0, 0, 27, 1, 56), ts[1] = T0 + 1000;
	pk[2] = icmp4(C4, S4, 8, 0, 27, 2, 56), ts[2] = T0 + 1000000;
	pk[3] = icmp4(C4, S4, 8, 0, 27, 3, 56), ts[3] = T0 + 2000000;
	pk[4] = icmp4(S4, C4, 0, 0, 27, 3, 56), ts[4] = T0 + 2003000;
	pk[5] = icmp4(S4, C4, 0, 0, 27, 1, 56), ts[5] = T0 + 2004000;
	struct run r;
	run_packets(&r, pk, ts, 6);
	assert_int_equal(r.lines, 1);
	assert_has(r.json, "\"transport\":\"icmp\"");
	assert_has(r.json, "\"protocol\":\"icmp\"");
	assert_has(r.json, "\"client\":{\"ip\":\"10.0.0.2\",\"port\":null,\"port_class\":null}");
	assert_has(r.json, "\"packets\":{\"client\":3,\"server\":3}");
	assert_has(r.json, "\"bytes\":{\"client\":168,\"server\":168}");
	assert_has(r.json, "\"conn_state\":\"OTH\"");
	assert_has(r.json, "\"version\":4,\"id\":27,\"request\":\"echo-request\","
	                   "\"reply\":\"echo-reply\"");
	assert_has(r.json, "{\"type\":8,\"code\":0,\"name\":\"echo-request\",\"count\":3}");
	assert_has(r.json, "\"requests\":3,\"replies\":3,\"unanswered\":1,\"unmatched_replies\":1,"
	                   "\"duplicate_requests\":0,\"first_seq\":1,\"last_seq\":3");
	assert_has(r.json, "\"rtt_ms\":{\"min\":1.000,\"avg\":2.000,\"max\":3.000,\"count\":2}");
	/* Community ID: the spec's echo mapping, same as the table's vector */
	char want[COMMUNITY_ID_LEN + 40];
	struct ip_addr c = {4, {10, 0, 0, 2}}, s = {4, {10, 0, 0, 1}};
	char id[COMMUNITY_ID_LEN];
	community_id_icmp(id, sizeof id, 0, 1, &c, &s, 8, 0);
	snprintf(want, sizeof want, "\"community_id\":\"%s\"", id);
	assert_has(r.json, want);
	run_free(&r);
}

static void test_reply_first_and_ids(void **state)
{
	(void)state;
	/* the capture starts with a reply: its receiver is the client; two
	 * identifiers are two sessions; ICMPv6 and a timestamp exchange */
	struct buf pk[6];
	pk[0] = icmp4(S4, C4, 0, 0, 5, 9, 8);
	pk[1] = icmp4(C4, S4, 8, 0, 5, 10, 8);
	pk[2] = icmp4(C4, S4, 8, 0, 6, 1, 8);
	pk[3] = icmp6(C6, S6, 128, 0, 7, 1, 8);
	pk[4] = icmp6(S6, C6, 129, 0, 7, 1, 8);
	pk[5] = icmp4(C4, S4, 13, 0, 8, 1, 12);
	struct run r;
	run_packets(&r, pk, NULL, 6);
	assert_int_equal(r.lines, 4);
	assert_has(r.json, "\"client\":{\"ip\":\"10.0.0.2\",\"port\":null");
	assert_has(r.json, "\"history\":\"^\"");
	assert_has(r.json, "\"id\":5,");
	assert_has(r.json, "\"id\":6,");
	assert_has(r.json, "\"requests\":1,\"replies\":1,\"unanswered\":1,\"unmatched_replies\":1");
	assert_has(r.json, "\"version\":6,\"id\":7,\"request\":\"echo-request\"");
	assert_has(r.json, "\"request\":\"timestamp-request\",\"reply\":\"timestamp-reply\"");
	assert_has(r.json, "\"ip_version\":6");
	run_free(&r);
}

static void test_pending_cap(void **state)
{
	(void)state;
	enum { N = ICMP_PENDING_MAX + 6 };
	struct buf *pk = calloc(N + 1, sizeof *pk);
	assert_non_null(pk);
	for (int i = 0; i < N; i++)
		pk[i] = icmp4(C4, S4, 8, 0, 1, (uint16_t)i, 0);
	pk[N] = icmp4(S4, C4, 0, 0, 1, 0, 0); /* its request was given up */
	struct run r;
	run_packets(&r, pk, NULL, N + 1);
	free(pk);
	char want[128];
	snprintf(want, sizeof want, "\"requests\":%d,\"replies\":1,\"unanswered\":%d", N, N);
	assert_has(r.json, want);
	assert_has(r.json, "\"unmatched_replies\":1");
	assert_int_equal(counters_get(&r.counters, "icmp.too_many_pending"), 6);
	run_free(&r);
}

static void test_message_types_cap(void **state)
{
	(void)state;
	enum { N = ICMP_MESSAGES_MAX + 3 };
	struct buf pk[N];
	for (int i = 0; i < N; i++)
		pk[i] = icmp4(C4, S4, 8, (uint8_t)i, 1, (uint16_t)i, 0);
	struct run r;
	run_packets(&r, pk, NULL, N);
	assert_has(r.json, "\"truncated\":3");
	assert_int_equal(counters_get(&r.counters, "icmp.too_many_message_types"), 3);
	run_free(&r);
}

/* ---- errors ---- */

static void test_port_unreachable_v4(void **state)
{
	(void)state;
	struct buf u = udp4(C4, S4, 55688, 40001, 48);
	struct buf pk[3] = {u, error4(S4, C4, 3, 3, &u, 28 + 48), error4(S4, C4, 3, 3, &u, 28)};
	usec_t ts[3] = {T0, T0 + 25, T0 + 1000025};
	struct run r;
	run_packets(&r, pk, ts, 3);
	assert_int_equal(r.lines, 1); /* the error made no session */
	assert_has(r.json, "\"transport\":\"udp\"");
	assert_has(r.json, "\"conn_state\":\"S0\"");
	assert_has(r.json, "\"icmp_errors\":[{\"type\":3,\"code\":3,\"name\":\"port-unreachable\","
	                   "\"type_name\":\"destination-unreachable\",\"from\":\"10.0.0.1\","
	                   "\"answers\":\"client\",\"count\":2,\"ts_first\":1700000000.000025,"
	                   "\"ts_last\":1700000001.000025}]");
	assert_int_equal(counters_get(&r.counters, "icmp.error_matched"), 2);
	assert_int_equal(counters_get(&r.counters, "icmp.destination-unreachable"), 2);
	run_free(&r);
}

static void test_port_unreachable_v6_ext(void **state)
{
	(void)state;
	struct buf u = udp6_ext(C6, S6, 51501, 40001, 48);
	struct buf pk[2] = {u, error6(S6, C6, 1, 4, &u, u.n)};
	struct run r;
	run_packets(&r, pk, NULL, 2);
	assert_int_equal(r.lines, 1);
	assert_has(r.json, "\"name\":\"port-unreachable\"");
	assert_has(r.json, "\"from\":\"fd00:14:34::1\"");
	run_free(&r);
}

static void test_errors_from_routers(void **state)
{
	(void)state;
	/* a SYN that a router reports unreachable, a ping whose TTL ran out on
	 * the way, errors for nobody's flow, and unusable quotes */
	struct buf syn = tcp4_syn(C4, S4, 40000, 443);
	struct buf ping = icmp4(C4, S4, 8, 0, 99, 1, 56);
	struct buf lost = udp4(C4, S4, 1, 2, 0);
	struct buf frag = udp4(C4, S4, 3, 4, 8);
	frag.b[7] = 0x10;
	struct buf pk[8] = {
	    syn,
	    error4(R4, C4, 3, 1, &syn, 28),
	    ping,
	    error4(R4, C4, 11, 0, &ping, 28),
	    error4(R4, C4, 3, 3, &lost, 28),  /* no flow */
	    error4(R4, C4, 12, 0, &lost, 20), /* quote too short */
	    error4(R4, C4, 5, 1, &frag, 28),  /* a later fragment */
	    error4(R4, C4, 4, 0, &syn, 28),   /* source quench: matched too */
	};
	struct run r;
	run_packets(&r, pk, NULL, 8);
	assert_int_equal(r.lines, 2);
	assert_has(r.json,
	           "\"name\":\"host-unreachable\",\"type_name\":\"destination-unreachable\","
	           "\"from\":\"10.0.0.254\",\"answers\":\"client\"");
	assert_has(r.json, "\"name\":\"source-quench\"");
	assert_has(r.json, "\"name\":\"ttl-exceeded\",\"type_name\":\"time-exceeded\"");
	assert_int_equal(counters_get(&r.counters, "icmp.error_no_flow"), 1);
	assert_int_equal(counters_get(&r.counters, "icmp.error_quote_truncated"), 1);
	assert_int_equal(counters_get(&r.counters, "icmp.error_quote_fragment"), 1);
	assert_int_equal(counters_get(&r.counters, "icmp.error_matched"), 3);
	assert_int_equal(counters_get(&r.counters, "icmp.redirect"), 1);
	run_free(&r);
}

static void test_errors_cap(void **state)
{
	(void)state;
	enum { N = ICMP_ERRORS_MAX + 2 };
	struct buf u = udp4(C4, S4, 5000, 6000, 0);
	struct buf pk[N + 1];
	pk[0] = u;
	for (int i = 1; i <= N; i++) {
		uint8_t from[4] = {192, 0, 2, (uint8_t)i};
		pk[i] = error4(from, C4, 11, 0, &u, 28);
	}
	struct run r;
	run_packets(&r, pk, NULL, N + 1);
	assert_has(r.json, "\"icmp_errors_truncated\":2");
	assert_has(r.json, "\"from\":\"192.0.2.8\"");
	assert_int_equal(counters_get(&r.counters, "icmp.too_many_errors"), 2);
	run_free(&r);
}

static void test_counted_messages(void **state)
{
	(void)state;
	static const uint8_t types6[] = {130, 131, 132, 133, 134, 135, 136, 137, 143, 139, 200};
	struct buf pk[sizeof types6 + 2];
	size_t n = 0;
	for (size_t i = 0; i < sizeof types6; i++)
		pk[n++] = icmp6(C6, S6, types6[i], 0, 0, 0, 16);
	pk[n++] = icmp4(C4, S4, 10, 0, 0, 0, 0);
	pk[n++] = icmp4(S4, C4, 9, 0, 0, 0, 8);
	struct run r;
	run_packets(&r, pk, NULL, n);
	assert_int_equal(r.lines, 0);
	assert_int_equal(counters_get(&r.counters, "icmp6.neighbor-solicitation"), 1);
	assert_int_equal(counters_get(&r.counters, "icmp6.neighbor-advertisement"), 1);
	assert_int_equal(counters_get(&r.counters, "icmp6.router-solicitation"), 1);
	assert_int_equal(counters_get(&r.counters, "icmp6.router-advertisement"), 1);
	assert_int_equal(counters_get(&r.counters, "icmp6.redirect"), 1);
	assert_int_equal(counters_get(&r.counters, "icmp6.multicast-listener-query"), 1);
	assert_int_equal(counters_get(&r.counters, "icmp6.multicast-listener-report"), 1);
	assert_int_equal(counters_get(&r.counters, "icmp6.multicast-listener-done"), 1);
	assert_int_equal(counters_get(&r.counters, "icmp6.multicast-listener-report-v2"), 1);
	assert_int_equal(counters_get(&r.counters, "icmp6.node-information-query"), 1);
	assert_int_equal(counters_get(&r.counters, "icmp6.unknown_type"), 1);
	assert_int_equal(counters_get(&r.counters, "icmp.router-solicitation"), 1);
	assert_int_equal(counters_get(&r.counters, "icmp.router-advertisement"), 1);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_every_type),
	    cmocka_unit_test(test_decode_truncated_header),
	    cmocka_unit_test(test_code_names),
	    cmocka_unit_test(test_quote_ipv4),
	    cmocka_unit_test(test_quote_truncated_every_offset),
	    cmocka_unit_test(test_quote_hostile),
	    cmocka_unit_test(test_echo_session_rtt),
	    cmocka_unit_test(test_reply_first_and_ids),
	    cmocka_unit_test(test_pending_cap),
	    cmocka_unit_test(test_message_types_cap),
	    cmocka_unit_test(test_port_unreachable_v4),
	    cmocka_unit_test(test_port_unreachable_v6_ext),
	    cmocka_unit_test(test_errors_from_routers),
	    cmocka_unit_test(test_errors_cap),
	    cmocka_unit_test(test_counted_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
