/* Session records (portolan/record.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "portolan/community_id.h"
#include "portolan/dissect.h"
#include "portolan/icmp.h"
#include "portolan/json.h"
#include "portolan/ports.h"
#include "portolan/record.h"
#include "portolan/stream.h"

/* Longest protocol summary on a text line (-v shows everything). */
#define TEXT_SUMMARY_MAX 120

static const char *const basis_names[] = {"handshake", "port", "first-packet"};

void record_uid(const struct flow *f, char *out, size_t n)
{
	flow_uid(f->serial, out, n);
}

static void emit_endpoint(struct emitter *e, const char *key, const struct flow *f,
                          enum direction side)
{
	char ip[IP_ADDR_STRLEN];
	emit_object_begin(e, key);
	emit_str(e, "ip", ip_addr_format(&f->addr[side], ip, sizeof ip));
	if (transport_is_icmp(f->proto)) { /* no ports: the identifier is in "icmp" */
		emit_null(e, "port");
		emit_null(e, "port_class");
	} else {
		emit_int(e, "port", f->port[side]);
		emit_str(e, "port_class", port_class(f->port[side]));
	}
	if (f->has_mac) {
		char mac[18];
		const uint8_t *m = f->mac[side];
		snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		         m[4], m[5]);
		emit_str(e, "mac", mac);
	}
	emit_object_end(e);
}

static void emit_pair(struct emitter *e, const char *key, uint64_t client, uint64_t server)
{
	emit_object_begin(e, key);
	emit_int(e, "client", (int64_t)client);
	emit_int(e, "server", (int64_t)server);
	emit_object_end(e);
}

static void emit_tcp(struct emitter *e, const struct flow *f)
{
	emit_object_begin(e, "tcp");
	if (f->handshake_rtt_us >= 0)
		emit_number(e, "handshake_rtt_ms", (double)f->handshake_rtt_us / 1000.0, 3);
	else
		emit_null(e, "handshake_rtt_ms");
	emit_pair(e, "missed_bytes", f->missed_bytes[DIR_CLIENT], f->missed_bytes[DIR_SERVER]);
	/* payload segments that did not advance the sender's sequence (Zeek's
	 * rule behind the t/T letters) */
	emit_pair(e, "retransmissions", f->ep[DIR_CLIENT].rxmit_count,
	          f->ep[DIR_SERVER].rxmit_count);
	/* which path carried the payload: "libnids", or "own" (ours alone) */
	emit_str(e, "reassembly",
	         f->payload_bytes[0] + f->payload_bytes[1] ? stream_path(f) : NULL);
	emit_object_end(e);
}

static void emit_alerts(struct emitter *e, const struct flow *f)
{
	emit_array_begin(e, "alerts");
	for (int a = 0; a < ALERT_COUNT; a++)
		if (f->alerts & (1u << a))
			emit_str(e, NULL, alert_name((enum alert)a));
	emit_array_end(e);
}

static double seconds(usec_t t)
{
	return (double)t / 1e6;
}

void record_finish_alerts(struct flow *f)
{
	const char *proto = dissect_protocol(f);
	const struct port_entry *pe = port_lookup(f->proto, f->port[DIR_SERVER]);

	/* the port's protocol may be the outer one of a handoff (netbios-ssn on
	 * 139 carrying smb) */
	if (f->dissector && f->detected_by == DETECTED_PAYLOAD &&
	    (!pe ||
	     (strcmp(pe->protocol, proto) != 0 && strcmp(pe->protocol, f->dissector->name) != 0)))
		f->alerts |= 1u << ALERT_NON_STANDARD_PORT;
	if (dissect_rejected_by_port(f))
		f->alerts |= 1u << ALERT_MALFORMED;
	if (f->missed_bytes[0] || f->missed_bytes[1])
		f->alerts |= 1u << ALERT_GAP;
	if (f->snap_truncated)
		f->alerts |= 1u << ALERT_TRUNCATED;
}

static void emit_common(struct emitter *e, const struct flow *f, const char *end_reason)
{
	char buf[COMMUNITY_ID_LEN + UID_LEN];

	emit_str(e, "type", "session");
	emit_number(e, "ts_start", seconds(f->ts_first), 6);
	emit_number(e, "ts_end", seconds(f->ts_last), 6);
	emit_number(e, "duration", seconds(f->ts_last - f->ts_first), 6);
	record_uid(f, buf, sizeof buf);
	emit_str(e, "uid", buf);
	if (transport_is_icmp(f->proto))
		icmp_community_id(f, buf, sizeof buf);
	else
		community_id_v1(buf, sizeof buf, 0, f->proto, &f->addr[DIR_CLIENT],
		                f->port[DIR_CLIENT], &f->addr[DIR_SERVER], f->port[DIR_SERVER]);
	emit_str(e, "community_id", buf);
	emit_str(e, "transport",
	         f->proto == TRANSPORT_TCP   ? "tcp"
	         : f->proto == TRANSPORT_UDP ? "udp"
	                                     : "icmp");
	emit_int(e, "ip_version", f->ip_version);
	emit_endpoint(e, "client", f, DIR_CLIENT);
	emit_endpoint(e, "server", f, DIR_SERVER);
	emit_str(e, "direction_basis", basis_names[f->direction_basis]);
	emit_str(e, "service", port_service(f->proto, f->port[DIR_SERVER]));
	emit_str(e, "protocol", dissect_protocol(f));
	emit_str(e, "detected_by", dissect_detected_by(f));
	emit_pair(e, "packets", f->packets[DIR_CLIENT], f->packets[DIR_SERVER]);
	emit_pair(e, "bytes", flow_bytes(f, DIR_CLIENT), flow_bytes(f, DIR_SERVER));
	emit_str(e, "conn_state", flow_conn_state(f));
	emit_str(e, "history", f->history);
	if (f->proto == TRANSPORT_TCP)
		emit_tcp(e, f);
	if (f->n_vlans) {
		emit_array_begin(e, "vlan");
		for (int i = 0; i < f->n_vlans; i++)
			emit_int(e, NULL, f->vlans[i]);
		emit_array_end(e);
	}
	if (f->has_parent) {
		flow_uid(f->parent_serial, buf, sizeof buf);
		emit_str(e, "parent", buf);
	}
	emit_str(e, "end_reason", end_reason);
	emit_alerts(e, f);
	icmp_emit(e, f); /* "icmp" (a session), "icmp_errors" (any flow) */
}

void record_emit(struct emitter *e, const struct flow *f, const char *end_reason,
                 bool with_protocol_object)
{
	emit_object_begin(e, NULL);
	emit_common(e, f, end_reason);
	if (with_protocol_object && f->dissector && f->dissector->emit) {
		emit_object_begin(e, f->dissector->name);
		f->dissector->emit(f->dstate, e);
		emit_object_end(e);
	}
	/* a stream handed on (STARTTLS...): the second dissector's object */
	if (with_protocol_object && f->inner && f->inner->emit &&
	    (!f->dissector || strcmp(f->inner->name, f->dissector->name) != 0)) {
		emit_object_begin(e, f->inner->name);
		f->inner->emit(f->inner_state, e);
		emit_object_end(e);
	}
	emit_object_end(e);
}

static void format_endpoint(char *out, size_t n, const struct flow *f, enum direction side)
{
	char ip[IP_ADDR_STRLEN];
	ip_addr_format(&f->addr[side], ip, sizeof ip);
	if (transport_is_icmp(f->proto))
		snprintf(out, n, "%s", ip);
	else if (f->addr[side].version == 6)
		snprintf(out, n, "[%s]:%u (%s)", ip, f->port[side], port_class(f->port[side]));
	else
		snprintf(out, n, "%s:%u (%s)", ip, f->port[side], port_class(f->port[side]));
}

#define TC_RESET "\033[0m"
#define TC_PROTO "\033[1;36m" /* bold cyan */
#define TC_GOOD "\033[32m"
#define TC_BAD "\033[31m"
#define TC_DIM "\033[2m"

/* Zeek's states where the connection did not work out (refused, unanswered,
 * reset, rejected by the other side). */
static bool state_is_bad(const char *st)
{
	return !strcmp(st, "REJ") || !strcmp(st, "S0") || !strcmp(st, "RSTO") ||
	       !strcmp(st, "RSTR") || !strcmp(st, "RSTOS0") || !strcmp(st, "RSTRH");
}

/* The alerts, after the summary: " !cleartext-credentials !gap". */
static void text_alerts(FILE *fp, const struct flow *f, bool color)
{
	for (int a = 0; a < ALERT_COUNT; a++)
		if (f->alerts & (1u << a))
			fprintf(fp, " %s!%s%s", color ? TC_BAD : "", alert_name((enum alert)a),
			        color ? TC_RESET : "");
}

void record_text_line(FILE *fp, const struct flow *f, bool color)
{
	char client[80], server[80], summary[512] = "", safe[1024];

	format_endpoint(client, sizeof client, f, DIR_CLIENT);
	format_endpoint(server, sizeof server, f, DIR_SERVER);
	if (f->dissector && f->dissector->summarize)
		f->dissector->summarize(f->dstate, summary, sizeof summary);
	if (f->icmp) { /* an ICMP session's counts, or the errors a flow drew */
		size_t used = strnlen(summary, sizeof summary);
		if (used + 2 < sizeof summary) {
			if (used)
				summary[used++] = ' ';
			icmp_summarize(f, summary + used, sizeof summary - used);
		}
	}
	if (strnlen(summary, sizeof summary) > TEXT_SUMMARY_MAX) /* one line stays one line */
		memcpy(summary + TEXT_SUMMARY_MAX - 3, "...", 4);
	text_sanitize(summary, strnlen(summary, sizeof summary), safe, sizeof safe);
	const char *state = flow_conn_state(f);
	const char *state_color = state_is_bad(state) ? TC_BAD : TC_GOOD;
	fprintf(fp, "%s %-36s -> %-36s %s%-11s%s %s%-6s%s %8.3fs%s%s", transport_label(f->proto),
	        client, server, color ? TC_PROTO : "", dissect_protocol(f), color ? TC_RESET : "",
	        color ? state_color : "", state, color ? TC_RESET : "",
	        seconds(f->ts_last - f->ts_first), safe[0] ? " " : "", safe);
	text_alerts(fp, f, color);
	fputc('\n', fp);
}
