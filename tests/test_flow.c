/* The flow table, Zeek's conn_state and history letters, timeouts and
 * eviction, with packets built as parsed-packet structs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "portolan/flow.h"

struct ended {
	int count;
	char history[8][HISTORY_MAX + 1];
	char state[8][8];
	enum flow_end_reason why[8];
};

static void record_end(struct flow *f, enum flow_end_reason why, void *ctx)
{
	struct ended *e = ctx;
	if (e->count < 8) {
		strcpy(e->history[e->count], f->history);
		strcpy(e->state[e->count], flow_conn_state(f));
		e->why[e->count] = why;
	}
	e->count++;
}

static struct packet tcp_pkt(bool from_client, uint8_t flags, uint32_t seq, uint32_t ack,
                             size_t len, usec_t ts)
{
	struct packet p;
	memset(&p, 0, sizeof p);
	p.ts = ts;
	p.ip_version = 4;
	p.ip_proto = TRANSPORT_TCP;
	struct ip_addr c = {4, {10, 0, 0, 5}}, s = {4, {10, 0, 0, 80}};
	p.src = from_client ? c : s;
	p.dst = from_client ? s : c;
	p.sport = from_client ? 40000 : 80;
	p.dport = from_client ? 80 : 40000;
	p.tcp_flags = flags;
	p.seq = seq;
	p.ack = ack;
	p.window = 1024;
	p.payload_len = p.payload_wire_len = len;
	return p;
}

static struct flow *feed(struct flow_table *t, struct packet p)
{
	enum direction dir;
	bool created;
	struct flow *f = flow_lookup(t, &p, &dir, &created);
	assert_non_null(f);
	flow_update(t, f, &p, dir);
	return f;
}

static struct flow_table *new_table(struct ended *e)
{
	struct flow_config cfg;
	flow_config_default(&cfg);
	memset(e, 0, sizeof *e);
	return flow_table_new(&cfg, record_end, e);
}

#define C true
#define S false

static void test_orderly_session(void **state)
{
	(void)state;
	struct ended e;
	struct flow_table *t = new_table(&e);
	feed(t, tcp_pkt(C, TCP_SYN, 1000, 0, 0, 1000000));
	feed(t, tcp_pkt(S, TCP_SYN | TCP_ACK, 5000, 1001, 0, 1010000));
	struct flow *f = feed(t, tcp_pkt(C, TCP_ACK, 1001, 5001, 0, 1020000));
	assert_int_equal(f->handshake_rtt_us, 20000);
	feed(t, tcp_pkt(C, TCP_ACK | TCP_PSH, 1001, 5001, 6, 1030000));
	feed(t, tcp_pkt(S, TCP_ACK, 5001, 1007, 0, 1040000));
	feed(t, tcp_pkt(S, TCP_ACK | TCP_PSH, 5001, 1007, 6, 1050000));
	feed(t, tcp_pkt(C, TCP_ACK, 1007, 5007, 0, 1060000));
	feed(t, tcp_pkt(C, TCP_FIN | TCP_ACK, 1007, 5007, 0, 1070000));
	feed(t, tcp_pkt(S, TCP_FIN | TCP_ACK, 5007, 1008, 0, 1080000));
	f = feed(t, tcp_pkt(C, TCP_ACK, 1008, 5008, 0, 1090000));
	assert_string_equal(f->history, "ShADadFf");
	assert_string_equal(flow_conn_state(f), "SF");
	assert_int_equal(flow_bytes(f, DIR_CLIENT), 6);
	assert_int_equal(flow_bytes(f, DIR_SERVER), 6);
	assert_int_equal(f->direction_basis, BASIS_HANDSHAKE);
	assert_true(f->ended);
	/* the close delay passes on packet time: the record comes out */
	flow_table_expire(t, 1090000 + 4 * USEC_PER_SEC);
	assert_int_equal(e.count, 0);
	flow_table_expire(t, 1090000 + 5 * USEC_PER_SEC);
	assert_int_equal(e.count, 1);
	assert_int_equal(e.why[0], END_CLOSED);
	flow_table_free(t);
}

static void test_refused(void **state)
{
	(void)state;
	struct ended e;
	struct flow_table *t = new_table(&e);
	feed(t, tcp_pkt(C, TCP_SYN, 1000, 0, 0, 1));
	struct flow *f = feed(t, tcp_pkt(S, TCP_RST | TCP_ACK, 0, 1001, 0, 2));
	assert_string_equal(f->history, "Sr");
	assert_string_equal(flow_conn_state(f), "REJ");
	flow_table_free(t);
	assert_int_equal(e.count, 1);
}

static void test_unanswered_syn_retransmitted(void **state)
{
	(void)state;
	struct ended e;
	struct flow_table *t = new_table(&e);
	feed(t, tcp_pkt(C, TCP_SYN, 1000, 0, 0, 1));
	feed(t, tcp_pkt(C, TCP_SYN, 1000, 0, 0, 1000001));
	struct flow *f = feed(t, tcp_pkt(C, TCP_SYN, 1000, 0, 0, 3000001));
	assert_string_equal(f->history, "S");
	assert_string_equal(flow_conn_state(f), "S0");
	/* 30 s idle without an answer ends it */
	flow_table_expire(t, 3000001 + 30 * USEC_PER_SEC);
	assert_int_equal(e.count, 1);
	assert_int_equal(e.why[0], END_IDLE);
	/* a SYN with a new ISN is a new connection on the same tuple */
	feed(t, tcp_pkt(C, TCP_SYN, 1000, 0, 0, 40000000));
	f = feed(t, tcp_pkt(C, TCP_SYN, 7000, 0, 0, 40000001));
	assert_int_equal(e.count, 2);
	assert_int_equal(e.why[1], END_REUSED);
	assert_string_equal(f->history, "S");
	flow_table_free(t);
}

static void test_midstream(void **state)
{
	(void)state;
	struct ended e;
	struct flow_table *t = new_table(&e);
	/* first packet from the server's port: ports decide, '^' flipped */
	struct flow *f = feed(t, tcp_pkt(S, TCP_ACK | TCP_PSH, 9000, 2000, 100, 1));
	assert_true(f->flipped);
	assert_int_equal(f->direction_basis, BASIS_PORT);
	assert_int_equal(f->port[DIR_SERVER], 80);
	feed(t, tcp_pkt(C, TCP_ACK | TCP_PSH, 2000, 9100, 50, 2));
	assert_string_equal(f->history, "^dD");
	assert_string_equal(flow_conn_state(f), "OTH");
	assert_int_equal(flow_bytes(f, DIR_SERVER), 100);
	assert_int_equal(flow_bytes(f, DIR_CLIENT), 50);
	flow_table_free(t);
}

static void test_retransmission_and_zero_window(void **state)
{
	(void)state;
	struct ended e;
	struct flow_table *t = new_table(&e);
	feed(t, tcp_pkt(C, TCP_SYN, 1000, 0, 0, 1));
	feed(t, tcp_pkt(S, TCP_SYN | TCP_ACK, 5000, 1001, 0, 2));
	feed(t, tcp_pkt(C, TCP_ACK, 1001, 5001, 0, 3));
	for (int i = 0; i < 11; i++) /* the first copy, then 10 retransmissions */
		feed(t, tcp_pkt(C, TCP_ACK | TCP_PSH, 1001, 5001, 10, 4 + (usec_t)i));
	struct packet zw = tcp_pkt(S, TCP_ACK, 5001, 1011, 0, 100);
	zw.window = 0;
	struct flow *f = feed(t, zw);
	/* T at the 1st and the 10th retransmission */
	assert_string_equal(f->history, "ShADTTaw");
	assert_int_equal(flow_bytes(f, DIR_CLIENT), 10);
	struct packet rst = tcp_pkt(C, TCP_RST | TCP_ACK, 1011, 5001, 0, 200);
	f = feed(t, rst);
	assert_string_equal(flow_conn_state(f), "RSTO");
	flow_table_free(t);
}

static struct packet udp_pkt(bool from_client, size_t len, usec_t ts)
{
	struct packet p = tcp_pkt(from_client, 0, 0, 0, len, ts);
	p.ip_proto = TRANSPORT_UDP;
	p.sport = from_client ? 51000 : 53;
	p.dport = from_client ? 53 : 51000;
	return p;
}

static void test_udp(void **state)
{
	(void)state;
	struct ended e;
	struct flow_table *t = new_table(&e);
	struct flow *f = feed(t, udp_pkt(C, 30, 1));
	assert_string_equal(flow_conn_state(f), "S0");
	feed(t, udp_pkt(S, 60, 2));
	feed(t, udp_pkt(C, 30, 3));
	assert_string_equal(f->history, "Dd");
	assert_string_equal(flow_conn_state(f), "SF");
	assert_int_equal(flow_bytes(f, DIR_CLIENT), 60);
	/* a reply seen alone: the port says who the server is */
	struct packet reply = udp_pkt(S, 40, 4);
	reply.dport = 52000;
	f = feed(t, reply);
	assert_true(f->flipped);
	assert_string_equal(f->history, "^d");
	assert_string_equal(flow_conn_state(f), "SHR");
	flow_table_expire(t, 3 + 60 * USEC_PER_SEC);
	assert_int_equal(e.count, 1);
	flow_table_free(t);
	assert_int_equal(e.count, 2);
}

static void test_eviction_prefers_unanswered(void **state)
{
	(void)state;
	struct ended e;
	struct flow_config cfg;
	flow_config_default(&cfg);
	cfg.max_flows = 2;
	memset(&e, 0, sizeof e);
	struct flow_table *t = flow_table_new(&cfg, record_end, &e);
	/* an established flow, older */
	feed(t, tcp_pkt(C, TCP_SYN, 1000, 0, 0, 1));
	feed(t, tcp_pkt(S, TCP_SYN | TCP_ACK, 5000, 1001, 0, 2));
	/* an unanswered SYN, newer */
	struct packet syn = tcp_pkt(C, TCP_SYN, 1, 0, 0, 3);
	syn.sport = 40001;
	feed(t, syn);
	/* a third flow: the unanswered SYN goes, not the established one */
	struct packet third = tcp_pkt(C, TCP_SYN, 1, 0, 0, 4);
	third.sport = 40002;
	feed(t, third);
	assert_int_equal(e.count, 1);
	assert_int_equal(e.why[0], END_EVICTED);
	assert_string_equal(e.history[0], "S");
	assert_int_equal(flow_table_stats(t)->evicted, 1);
	flow_table_free(t);
}

static void test_port_tie_rules(void **state)
{
	(void)state;
	struct ended e;
	struct flow_table *t = new_table(&e);
	/* neither port known: the higher port is the client's */
	struct packet p = udp_pkt(C, 10, 1);
	p.sport = 40000;
	p.dport = 45000;
	struct flow *f = feed(t, p);
	assert_int_equal(f->port[DIR_CLIENT], 45000);
	assert_true(f->flipped);
	/* equal ports: the first speaker is the client */
	p.sport = p.dport = 7000;
	f = feed(t, p);
	assert_int_equal(f->direction_basis, BASIS_FIRST_PACKET);
	assert_false(f->flipped);
	flow_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_orderly_session),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_unanswered_syn_retransmitted),
	    cmocka_unit_test(test_midstream),
	    cmocka_unit_test(test_retransmission_and_zero_window),
	    cmocka_unit_test(test_udp),
	    cmocka_unit_test(test_eviction_prefers_unanswered),
	    cmocka_unit_test(test_port_tie_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
