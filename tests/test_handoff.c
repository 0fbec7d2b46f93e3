/* The core's handoff and expectation APIs, with a small test dissector:
 * a "switcher" that reads lines until "STARTDNS", then hands the rest of
 * the stream to the DNS dissector (as STARTTLS hands SMTP to TLS), and
 * announces an expected flow (as FTP's PASV does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "portolan/dissect.h"
#include "portolan/flow.h"
#include "portolan/framing.h"
#include "portolan/json.h"
#include "portolan/record.h"
#include "portolan/session_internal.h"

struct switcher {
	struct line_state lines;
	int lines_seen;
	bool handed;
};

static size_t switcher_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct switcher *sw = state;
	struct reader line;
	bool too_long;
	(void)dir;
	while (line_next(&sw->lines, &r, &line, &too_long) == FRAME_OK) {
		sw->lines_seen++;
		if (rd_remaining(&line) == 8 && rd_starts_with(&line, "STARTDNS", 8)) {
			sw->handed = session_handoff(s, "dns");
			break; /* the rest is not ours */
		}
		if (rd_starts_with(&line, "EXPECT", 6)) {
			struct expectation e = {.server = *session_addr(s, DIR_SERVER),
			                        .server_port = 5353,
			                        .deadline = session_now(s) + 10 * USEC_PER_SEC,
			                        .dissector = "dns",
			                        .note = "RETR report.pdf",
			                        .transport = TRANSPORT_UDP};
			assert_true(session_expect(s, &e));
		}
	}
	return rd_offset(&r);
}

static void switcher_emit(const void *state, struct emitter *e)
{
	const struct switcher *sw = state;
	emit_int(e, "lines", sw->lines_seen);
	emit_bool(e, "handed", sw->handed);
}

static const struct dissector switcher = {
    .name = "switcher",
    .transports = TRANSPORT_BIT_TCP,
    .state_size = sizeof(struct switcher),
    .on_data = switcher_on_data,
    .emit = switcher_emit,
};

static struct flow *make_flow(struct flow_table *t, uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct packet p;
	enum direction dir;
	bool created;
	memset(&p, 0, sizeof p);
	p.ip_version = 4;
	p.ip_proto = proto;
	p.src = (struct ip_addr){4, {10, 0, 0, 5}};
	p.dst = (struct ip_addr){4, {10, 0, 0, 53}};
	p.sport = sport;
	p.dport = dport;
	p.tcp_flags = proto == TRANSPORT_TCP ? TCP_SYN : 0;
	p.ts = 1000;
	struct flow *f = flow_lookup(t, &p, &dir, &created);
	assert_non_null(f);
	flow_update(t, f, &p, dir);
	return f;
}

/* A DNS query for a.example over TCP: 2-byte length, then the message. */
static const uint8_t dns_tcp_query[] = {
    0x00, 0x1b, 0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    'a',  0x07, 'e',  'x',  'a',  'm',  'p',  'l',  'e',  0x00, 0x00, 0x01, 0x00, 0x01,
};

static void test_handoff_passes_the_rest_of_the_segment(void **state)
{
	(void)state;
	struct flow_config fc;
	struct counters counters;
	struct dissect_ctx c;
	memset(&counters, 0, sizeof counters);
	memset(&c, 0, sizeof c);
	flow_config_default(&fc);
	struct flow_table *t = flow_table_new(&fc, NULL, NULL);
	dissect_config_default(&c.cfg);
	c.counters = &counters;
	c.expects.counters = &counters;
	c.cfg.decode_as[0].port = 4000;
	c.cfg.decode_as[0].dissector = &switcher;
	c.cfg.n_decode_as = 1;

	struct flow *f = make_flow(t, TRANSPORT_TCP, 40000, 4000);
	/* the switch line and the first DNS bytes arrive in one segment */
	uint8_t seg[64];
	memcpy(seg, "hello\r\nSTARTDNS\r\n", 17);
	memcpy(seg + 17, dns_tcp_query, 10);
	dissect_stream(&c, f, DIR_CLIENT, 2000, seg, 27);
	assert_ptr_equal(f->dissector, &switcher);
	assert_non_null(f->inner);
	assert_string_equal(f->inner->name, "dns");
	/* the rest of the query arrives later and goes to DNS */
	dissect_stream(&c, f, DIR_CLIENT, 3000, dns_tcp_query + 10, sizeof dns_tcp_query - 10);
	dissect_end(&c, f, 4000);

	struct json_writer w;
	json_writer_init(&w, 1 << 16);
	record_emit(&w.e, f, "test", true);
	const char *json = json_writer_text(&w);
	/* the session keeps its protocol and gains the DNS object */
	assert_non_null(strstr(json, "\"protocol\":\"switcher\""));
	assert_non_null(strstr(json, "\"switcher\":{\"lines\":2,\"handed\":true}"));
	assert_non_null(strstr(json, "\"dns\":{\"queries\":[{\"id\":4660,\"name\":\"a.example\""));
	json_writer_free(&w);
	assert_int_equal(counters_get(&counters, "dissect.handoff"), 1);
	dissect_release(f);
	flow_table_free(t);
}

/* Bytes dissectors have not consumed are charged to one run-wide budget:
 * past it, the flow that would grow loses them as a gap (counted), and a
 * buffer a dissector has emptied is given back. */
static void test_pending_bytes_total_cap(void **state)
{
	(void)state;
	struct flow_config fc;
	struct counters counters;
	struct dissect_ctx c;
	static uint8_t no_newline[3000];
	memset(no_newline, 'x', sizeof no_newline);
	memset(&counters, 0, sizeof counters);
	memset(&c, 0, sizeof c);
	flow_config_default(&fc);
	struct flow_table *t = flow_table_new(&fc, NULL, NULL);
	dissect_config_default(&c.cfg);
	c.cfg.pending_total_cap = 4096;
	c.counters = &counters;
	c.expects.counters = &counters;
	c.cfg.decode_as[0].port = 4000;
	c.cfg.decode_as[0].dissector = &switcher;
	c.cfg.n_decode_as = 1;

	struct flow *a = make_flow(t, TRANSPORT_TCP, 40000, 4000);
	struct flow *b = make_flow(t, TRANSPORT_TCP, 40001, 4000);
	dissect_stream(&c, a, DIR_CLIENT, 2000, no_newline, sizeof no_newline);
	assert_int_equal(c.pending_held, 4096); /* 3000 bytes in a 4 KiB buffer */
	assert_int_equal(a->missed_bytes[DIR_CLIENT], 0);
	dissect_stream(&c, b, DIR_CLIENT, 2000, no_newline, sizeof no_newline);
	assert_int_equal(counters_get(&counters, "dissect.pending_total_cap"), 1);
	assert_int_equal(b->missed_bytes[DIR_CLIENT], sizeof no_newline);
	assert_int_equal(c.pending_held, 4096);
	/* a's line ends: its buffer is consumed and freed, and a new flow may
	 * keep bytes again */
	dissect_stream(&c, a, DIR_CLIENT, 3000, (const uint8_t *)"\r\n", 2);
	assert_int_equal(c.pending_held, 0);
	struct flow *d = make_flow(t, TRANSPORT_TCP, 40002, 4000);
	dissect_stream(&c, d, DIR_CLIENT, 3000, no_newline, 100);
	assert_int_equal(c.pending_held, 512);
	assert_int_equal(c.pending_peak, 4096);
	dissect_release(a);
	dissect_release(b);
	dissect_release(d);
	assert_int_equal(c.pending_held, 0);
	flow_table_free(t);
}

static void test_expectation_pins_and_links(void **state)
{
	(void)state;
	struct flow_config fc;
	struct counters counters;
	struct dissect_ctx c;
	memset(&counters, 0, sizeof counters);
	memset(&c, 0, sizeof c);
	flow_config_default(&fc);
	struct flow_table *t = flow_table_new(&fc, NULL, NULL);
	dissect_config_default(&c.cfg);
	c.counters = &counters;
	c.expects.counters = &counters;
	c.cfg.decode_as[0].port = 4000;
	c.cfg.decode_as[0].dissector = &switcher;
	c.cfg.n_decode_as = 1;

	struct flow *control = make_flow(t, TRANSPORT_TCP, 40000, 4000);
	dissect_stream(&c, control, DIR_CLIENT, 2000, (const uint8_t *)"EXPECT\r\n", 8);

	/* a flow to another port is not it */
	struct flow *other = make_flow(t, TRANSPORT_UDP, 40001, 5354);
	assert_false(dissect_expected(&c, other, 2500));
	/* the announced one is pinned to DNS and knows its parent */
	struct flow *data = make_flow(t, TRANSPORT_UDP, 40002, 5353);
	assert_true(dissect_expected(&c, data, 2500));
	assert_string_equal(data->dissector->name, "dns");
	assert_true(data->has_parent);
	assert_int_equal(data->parent_serial, control->serial);
	assert_non_null(data->expected);
	assert_string_equal(data->expected->note, "RETR report.pdf");
	assert_int_equal(data->expected->server_port, 4000);
	/* the announcer can still change the note once the flow has started */
	struct ip_addr server = {4, {10, 0, 0, 53}};
	assert_true(expect_table_note(&c.expects, control, &server, 5353, "RETR other.pdf"));
	assert_string_equal(data->expected->note, "RETR other.pdf");
	assert_false(expect_table_note(&c.expects, control, &server, 9999, "x"));
	/* an expectation is used once */
	struct flow *again = make_flow(t, TRANSPORT_UDP, 40003, 5353);
	assert_false(dissect_expected(&c, again, 2600));

	/* and one past its deadline is not used at all */
	dissect_stream(&c, control, DIR_CLIENT, 3000, (const uint8_t *)"EXPECT\r\n", 8);
	struct flow *late = make_flow(t, TRANSPORT_UDP, 40004, 5353);
	assert_false(dissect_expected(&c, late, 3000 + 11 * USEC_PER_SEC));

	struct json_writer w;
	char uid[32];
	json_writer_init(&w, 1 << 16);
	record_emit(&w.e, data, "test", true);
	record_uid(control, uid, sizeof uid);
	char want[64];
	snprintf(want, sizeof want, "\"parent\":\"%s\"", uid);
	assert_non_null(strstr(json_writer_text(&w), want));
	json_writer_free(&w);
	for (struct flow *fl = control; fl; fl = NULL)
		dissect_release(fl);
	dissect_release(data);
	flow_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handoff_passes_the_rest_of_the_segment),
	    cmocka_unit_test(test_pending_bytes_total_cap),
	    cmocka_unit_test(test_expectation_pins_and_links),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
