/* The session API dissectors use (portolan/session.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/exchange.h"
#include "portolan/session_internal.h"

static const char *const alert_names[ALERT_COUNT] = {
    [ALERT_CLEARTEXT_CREDENTIALS] = "cleartext-credentials",
    [ALERT_INSECURE_PROTOCOL] = "insecure-protocol",
    [ALERT_NTP_CONTROL_QUERY] = "ntp-control-query",
    [ALERT_DEPRECATED_VERSION] = "deprecated-version",
    [ALERT_WEAK_SECURITY] = "weak-security",
    [ALERT_NON_STANDARD_PORT] = "non-standard-port",
    [ALERT_MALFORMED] = "malformed",
    [ALERT_TRUNCATED] = "truncated",
    [ALERT_GAP] = "gap",
};

const char *alert_name(enum alert a)
{
	return (unsigned)a < ALERT_COUNT ? alert_names[a] : "unknown";
}

void session_alert(struct session *s, enum alert a)
{
	if (a == ALERT_MALFORMED && s->input_truncated)
		a = ALERT_TRUNCATED;
	if ((unsigned)a < ALERT_COUNT)
		s->flow->alerts |= 1u << a;
}

void session_count(struct session *s, const char *counter)
{
	if (s->counters)
		counters_add(s->counters, counter, 1);
}

usec_t session_now(const struct session *s)
{
	return s->now;
}

const struct ip_addr *session_addr(const struct session *s, enum direction side)
{
	return &s->flow->addr[side];
}

uint16_t session_port(const struct session *s, enum direction side)
{
	return s->flow->port[side];
}

bool session_is_tcp(const struct session *s)
{
	return s->flow->proto == TRANSPORT_TCP;
}

bool session_show_credentials(const struct session *s)
{
	return s->show_credentials;
}

bool session_handoff(struct session *s, const char *name)
{
	const struct dissector *d = dissector_by_name(name);
	if (!d)
		return false;
	s->handoff_to = d;
	return true;
}

bool session_expect(struct session *s, const struct expectation *e)
{
	if (!s->expects) { /* detached: kept for the test to look at */
		s->last_expect = *e;
		s->has_expect = true;
		return true;
	}
	return expect_table_add(s->expects, e, s->flow, s->now);
}

const char *session_parent_uid(const struct session *s)
{
	static _Thread_local char uid[24];
	if (!s->flow->has_parent)
		return NULL;
	flow_uid(s->flow->parent_serial, uid, sizeof uid);
	return uid;
}

bool session_expect_note(struct session *s, const struct ip_addr *server, uint16_t port,
                         const char *note)
{
	if (!s->expects) { /* detached: the test's expectation, if it matches */
		if (!s->has_expect || s->last_expect.server_port != port ||
		    ip_addr_compare(&s->last_expect.server, server) != 0)
			return false;
		snprintf(s->detached_note, sizeof s->detached_note, "%s", note ? note : "");
		s->last_expect.note = s->detached_note;
		return true;
	}
	return expect_table_note(s->expects, s->flow, server, port, note);
}

const struct expected_from *session_expected_from(const struct session *s)
{
	return s->flow->expected;
}

const char *session_uid(const struct session *s)
{
	static _Thread_local char uid[24];
	flow_uid(s->flow->serial, uid, sizeof uid);
	return uid;
}

void *session_exchange(struct session *s, const struct exchange_ops *ops, const void *key,
                       size_t key_len)
{
	return s->exchanges ? exchange_table_get(s->exchanges, ops, key, key_len, s->now) : NULL;
}

bool session_exchange_end(struct session *s, const struct exchange_ops *ops, const void *key,
                          size_t key_len)
{
	return s->exchanges && exchange_table_end(s->exchanges, ops, key, key_len, s->now);
}

void session_detached_set_exchanges(struct session *s, struct exchange_table *t)
{
	s->exchanges = t;
}

const char *session_handoff_target(const struct session *s)
{
	return s->handoff_to ? s->handoff_to->name : NULL;
}

struct session *session_detached_new(bool tcp, const struct ip_addr *client, uint16_t client_port,
                                     const struct ip_addr *server, uint16_t server_port)
{
	struct session *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->flow = calloc(1, sizeof *s->flow);
	s->counters = calloc(1, sizeof *s->counters);
	if (!s->flow || !s->counters) {
		session_detached_free(s);
		return NULL;
	}
	s->detached = true;
	s->flow->proto = tcp ? TRANSPORT_TCP : TRANSPORT_UDP;
	s->flow->addr[DIR_CLIENT] = *client;
	s->flow->addr[DIR_SERVER] = *server;
	s->flow->ip_version = client->version;
	s->flow->port[DIR_CLIENT] = client_port;
	s->flow->port[DIR_SERVER] = server_port;
	return s;
}

void session_detached_set_expected(struct session *s, const struct expected_from *from)
{
	if (!s->flow->expected)
		s->flow->expected = malloc(sizeof *s->flow->expected);
	if (s->flow->expected) {
		*s->flow->expected = *from;
		s->flow->has_parent = true;
		s->flow->expected_owned = true;
	}
}

void session_detached_free(struct session *s)
{
	if (!s)
		return;
	free(s->flow->expected);
	free(s->flow);
	free(s->counters);
	free(s);
}

void session_set_now(struct session *s, usec_t now)
{
	s->now = now;
}

bool session_has_alert(const struct session *s, enum alert a)
{
	return (unsigned)a < ALERT_COUNT && (s->flow->alerts & (1u << a));
}

uint64_t session_counter_value(const struct session *s, const char *counter)
{
	return s->counters ? counters_get(s->counters, counter) : 0;
}
