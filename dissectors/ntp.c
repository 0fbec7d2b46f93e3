/* NTP (RFC 5905, RFC 1305 and ntpd's private modes) over UDP port 123.
 *
 * Modes 1-5 carry the 48-byte time header: leap indicator, version, mode,
 * stratum, poll, precision and the reference id, maybe followed by
 * extension fields (NTS, RFC 8915) or a MAC.  Mode 6 (control, ntpq) and
 * mode 7 (private, ntpdc, e.g. monlist) have their own headers: their
 * opcode or request code is decoded and the flow flagged
 * ntp-control-query.  The record describes the flow with the header the
 * server sent when there is one (it says more: stratum, reference), else
 * the first one seen.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/summary.h"

#define NTP_HEADER_LEN 48
#define NTP_CONTROL_LEN 12
#define NTP_PRIVATE_LEN 8
#define NTP_MAX_OPCODES 8 /* distinct mode 6 opcodes / mode 7 requests kept */
#define NTP_REFID_MAX 16  /* "255.255.255.255" + NUL */

static const uint16_t ntp_ports[] = {123, 0};

static const char *const mode_names[8] = {
    "reserved", "symmetric-active", "symmetric-passive", "client",
    "server",   "broadcast",        "control",           "private",
};

static const char *const leap_names[4] = {"no-warning", "add-second", "delete-second",
                                          "unsynchronized"};

static const struct value_name control_opcodes[] = {
    {1, "readstat"},     {2, "readvar"},   {3, "writevar"},   {4, "readclock"},  {5, "writeclock"},
    {6, "settrap"},      {7, "asyncmsg"},  {8, "configure"},  {9, "saveconfig"}, {10, "readmru"},
    {11, "readordlist"}, {12, "reqnonce"}, {31, "unsettrap"}, {0, NULL},
};

/* ntpd's ntp_request.h */
static const struct value_name private_requests[] = {
    {0, "PEER_LIST"},         {1, "PEER_LIST_SUM"},
    {2, "PEER_INFO"},         {3, "PEER_STATS"},
    {4, "SYS_INFO"},          {5, "SYS_STATS"},
    {6, "IO_STATS"},          {7, "MEM_STATS"},
    {8, "LOOP_INFO"},         {9, "TIMER_STATS"},
    {10, "CONFIG"},           {11, "UNCONFIG"},
    {12, "SET_SYS_FLAG"},     {13, "CLR_SYS_FLAG"},
    {14, "MONITOR"},          {15, "NOMONITOR"},
    {16, "GET_RESTRICT"},     {17, "RESADDFLAGS"},
    {18, "RESSUBFLAGS"},      {19, "UNRESTRICT"},
    {20, "MON_GETLIST"},      {21, "RESET_STATS"},
    {22, "RESET_PEER"},       {23, "REREAD_KEYS"},
    {24, "DO_DIRTY_HACK"},    {25, "DONT_DIRTY_HACK"},
    {26, "TRUSTKEY"},         {27, "UNTRUSTKEY"},
    {28, "AUTHINFO"},         {29, "TRAPS"},
    {30, "ADD_TRAP"},         {31, "CLR_TRAP"},
    {32, "REQUEST_KEY"},      {33, "CONTROL_KEY"},
    {34, "GET_CTLSTATS"},     {35, "GET_LEAPINFO"},
    {36, "GET_CLOCKINFO"},    {37, "SET_CLKFUDGE"},
    {38, "GET_KERNEL"},       {39, "GET_CLKBUGINFO"},
    {41, "SET_PRECISION"},    {42, "MON_GETLIST_1"},
    {43, "HOSTNAME_ASSOCID"}, {44, "IF_STATS"},
    {45, "IF_RELOAD"},        {0, NULL},
};

static const struct value_name private_impls[] = {
    {0, "univ"},
    {2, "xntpd_old"},
    {3, "xntpd"},
    {0, NULL},
};

/* The time header of modes 1-5. */
struct ntp_header {
	bool seen;
	uint8_t leap, version, mode, stratum;
	int8_t poll, precision;
	uint8_t refid[4];
	bool mac, nts;
	uint8_t extensions; /* extension fields counted, saturating */
};

struct ntp_state {
	uint64_t packets;
	uint32_t per_mode[8];
	struct ntp_header client, server; /* first header from each side */
	uint8_t first_version, first_mode;
	bool any;
	/* mode 6: opcodes in first-seen order; mode 7: request codes */
	uint8_t opcodes[NTP_MAX_OPCODES], n_opcodes;
	uint32_t opcodes_dropped;
	uint8_t requests[NTP_MAX_OPCODES], n_requests;
	uint32_t requests_dropped;
	uint8_t impl;
	bool impl_seen;
	bool control_response; /* a mode 6/7 answer came back */
	uint32_t malformed;
};

/* ---- the reference id ---- */

/* Text for a reference id: 4 ASCII characters for stratum 0 and 1 (a clock
 * source or a kiss code), dotted IPv4 for the others.  Empty for zero. */
static void refid_text(const struct ntp_header *h, char out[NTP_REFID_MAX])
{
	const uint8_t *b = h->refid;
	out[0] = '\0';
	if (!b[0] && !b[1] && !b[2] && !b[3])
		return;
	if (h->stratum <= 1) {
		size_t n = 0;
		for (size_t i = 0; i < 4 && b[i]; i++) {
			if (b[i] < 0x20 || b[i] > 0x7e)
				goto dotted; /* not text: show the bytes */
			out[n++] = (char)b[i];
		}
		out[n] = '\0';
		return;
	}
dotted:
	snprintf(out, NTP_REFID_MAX, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

/* ---- probe ---- */

/* Extension fields (RFC 7822) after the header: each type(2) length(2),
 * length a multiple of 4 and at least 16, then maybe a MAC.  Returns false
 * when the bytes are neither. */
static bool parse_tail(struct reader r, struct ntp_header *h)
{
	size_t left = rd_remaining(&r);
	if (left == 0)
		return true;
	/* a MAC alone: key id + MD5 (20) or SHA-1 (24) */
	if (left == 20 || left == 24) {
		h->mac = true;
		return true;
	}
	while (rd_remaining(&r) >= 16 + 4 || rd_remaining(&r) == 16) {
		size_t at = rd_offset(&r);
		uint16_t type = rd_be16(&r);
		uint16_t len = rd_be16(&r);
		if (len < 16 || len % 4 || len > rd_remaining(&r) + 4) {
			rd_seek(&r, at);
			break;
		}
		rd_skip(&r, (size_t)len - 4);
		if (h->extensions < 255)
			h->extensions++;
		if ((type & 0xff) == 0x04 && type >= 0x0104 && type <= 0x0404)
			h->nts = true;
	}
	left = rd_remaining(&r);
	if (left == 20 || left == 24)
		h->mac = true;
	else if (left != 0)
		return false;
	return true;
}

static enum verdict ntp_probe(struct reader r, enum direction dir)
{
	(void)dir;
	int b0 = rd_peek(&r, 0);
	if (b0 < 0)
		return VERDICT_NEED_MORE;
	unsigned version = ((unsigned)b0 >> 3) & 7, mode = (unsigned)b0 & 7;
	if (version < 1 || version > 4 || mode == 0)
		return VERDICT_NO;
	size_t len = rd_remaining(&r);
	if (mode <= 5) {
		if (len < NTP_HEADER_LEN)
			return VERDICT_NO;
		unsigned stratum = (unsigned)rd_peek(&r, 1);
		int poll = (int8_t)rd_peek(&r, 2);
		int precision = (int8_t)rd_peek(&r, 3);
		/* a client's precision means little and some clients fill it
		 * oddly (chrony's requests carry +32): only servers are held to
		 * a plausible clock precision */
		bool bad_precision = mode != 3 && (precision > 0 || precision < -32);
		if (stratum > 16 || poll < -6 || poll > 17 || bad_precision)
			return VERDICT_NO;
		struct ntp_header h = {0};
		rd_skip(&r, NTP_HEADER_LEN);
		return parse_tail(r, &h) ? VERDICT_YES : VERDICT_NO;
	}
	if (mode == 6) {
		if (len < NTP_CONTROL_LEN)
			return VERDICT_NO;
		unsigned opcode = (unsigned)rd_peek(&r, 1) & 0x1f;
		unsigned count = (unsigned)rd_peek(&r, 10) << 8 | (unsigned)rd_peek(&r, 11);
		/* ntpq speaks version 2-4; a response is padded to 4 bytes and may
		 * carry a MAC, nothing more */
		if (version < 2 || opcode == 0 || opcode > 12 || NTP_CONTROL_LEN + count > len ||
		    len > NTP_CONTROL_LEN + count + 3 + 24 + 4)
			return VERDICT_NO;
		return VERDICT_YES;
	}
	/* mode 7: ntpd's private header, R|M|VN|mode, A|sequence, implementation,
	 * request, err|nitems, mbz|itemsize; the items must fit */
	if (len < NTP_PRIVATE_LEN || version < 2)
		return VERDICT_NO;
	unsigned impl = (unsigned)rd_peek(&r, 2), req = (unsigned)rd_peek(&r, 3);
	unsigned err = (unsigned)rd_peek(&r, 4) >> 4;
	unsigned nitems = ((unsigned)rd_peek(&r, 4) & 0x0f) << 8 | (unsigned)rd_peek(&r, 5);
	unsigned mbz = (unsigned)rd_peek(&r, 6) >> 4;
	unsigned itemsize = ((unsigned)rd_peek(&r, 6) & 0x0f) << 8 | (unsigned)rd_peek(&r, 7);
	if (!value_name_lookup(private_impls, impl) || !value_name_lookup(private_requests, req))
		return VERDICT_NO;
	if (mbz != 0 || err == 6 || err > 7 || itemsize > 500 ||
	    (size_t)nitems * itemsize > len - NTP_PRIVATE_LEN)
		return VERDICT_NO;
	return VERDICT_YES;
}

/* ---- dissection ---- */

static void add_code(uint8_t *list, uint8_t *n, uint32_t *dropped, uint8_t code, struct session *s,
                     const char *counter)
{
	for (uint8_t i = 0; i < *n; i++)
		if (list[i] == code)
			return;
	if (*n < NTP_MAX_OPCODES) {
		list[(*n)++] = code;
		return;
	}
	(*dropped)++;
	session_count(s, counter);
}

static void malformed(struct session *s, struct ntp_state *st)
{
	st->malformed++;
	session_alert(s, ALERT_MALFORMED);
	session_count(s, "ntp.malformed");
}

static void on_time_packet(struct session *s, struct ntp_state *st, enum direction dir,
                           struct reader r, unsigned version, unsigned mode)
{
	struct ntp_header h = {.seen = true};
	uint8_t b0 = rd_u8(&r);
	h.leap = (uint8_t)(b0 >> 6);
	h.version = (uint8_t)version;
	h.mode = (uint8_t)mode;
	h.stratum = rd_u8(&r);
	h.poll = (int8_t)rd_u8(&r);
	h.precision = (int8_t)rd_u8(&r);
	rd_skip(&r, 8); /* root delay, root dispersion */
	rd_copy(&r, h.refid, 4);
	rd_skip(&r, 32); /* reference, origin, receive, transmit timestamps */
	if (!rd_ok(&r)) {
		malformed(s, st);
		session_alert(s, ALERT_TRUNCATED);
		/* still keep what the first bytes said */
		if (rd_length(&r) < 4)
			return;
	} else if (!parse_tail(rd_rest(&r), &h)) {
		session_count(s, "ntp.odd_trailer");
	}
	struct ntp_header *slot = dir == DIR_SERVER ? &st->server : &st->client;
	if (!slot->seen)
		*slot = h;
}

static size_t ntp_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct ntp_state *st = state;
	size_t len = rd_remaining(&r);
	int b0 = rd_peek(&r, 0);
	if (b0 < 0)
		return 0;
	st->packets++;
	unsigned version = ((unsigned)b0 >> 3) & 7, mode = (unsigned)b0 & 7;
	if (!st->any) {
		st->any = true;
		st->first_version = (uint8_t)version;
		st->first_mode = (uint8_t)mode;
	}
	st->per_mode[mode]++;
	if (version < 1 || version > 4)
		malformed(s, st);

	if (mode >= 1 && mode <= 5) {
		on_time_packet(s, st, dir, r, version, mode);
	} else if (mode == 6) {
		session_alert(s, ALERT_NTP_CONTROL_QUERY);
		rd_skip(&r, 1);
		uint8_t b1 = rd_u8(&r);
		if (!rd_ok(&r) || len < NTP_CONTROL_LEN)
			malformed(s, st);
		if (rd_ok(&r)) {
			if (b1 & 0x80)
				st->control_response = true;
			add_code(st->opcodes, &st->n_opcodes, &st->opcodes_dropped, b1 & 0x1f, s,
			         "ntp.too_many_opcodes");
		}
	} else if (mode == 7) {
		session_alert(s, ALERT_NTP_CONTROL_QUERY);
		uint8_t b1 = 0, impl, req;
		rd_skip(&r, 1);
		b1 = rd_u8(&r);
		impl = rd_u8(&r);
		req = rd_u8(&r);
		if (!rd_ok(&r) || len < NTP_PRIVATE_LEN)
			malformed(s, st);
		if (rd_ok(&r)) {
			if (b1 & 0x80)
				st->control_response = true;
			if (!st->impl_seen) {
				st->impl_seen = true;
				st->impl = impl;
			}
			add_code(st->requests, &st->n_requests, &st->requests_dropped, req, s,
			         "ntp.too_many_requests");
		}
	} else {
		malformed(s, st); /* mode 0 is reserved */
	}
	return len;
}

/* The header that describes the flow: the server's, else the client's. */
static const struct ntp_header *best_header(const struct ntp_state *st)
{
	if (st->server.seen)
		return &st->server;
	if (st->client.seen)
		return &st->client;
	return NULL;
}

static void emit_code_list(struct emitter *e, const char *key, const uint8_t *list, uint8_t n,
                           const struct value_name *names)
{
	emit_array_begin(e, key);
	for (uint8_t i = 0; i < n; i++) {
		const char *name = value_name_lookup(names, list[i]);
		char num[8];
		if (!name) {
			snprintf(num, sizeof num, "%u", list[i]);
			name = num;
		}
		emit_str(e, NULL, name);
	}
	emit_array_end(e);
}

static void emit_header(const struct ntp_header *h, struct emitter *e)
{
	char ref[NTP_REFID_MAX];
	emit_int(e, "poll", h->poll);
	emit_int(e, "precision", h->precision);
	refid_text(h, ref);
	if (ref[0])
		emit_str(e, "reference_id", ref);
	else
		emit_null(e, "reference_id");
	emit_str(e, "leap", leap_names[h->leap & 3]);
	if (h->extensions)
		emit_int(e, "extensions", h->extensions);
	if (h->nts)
		emit_bool(e, "nts", true);
	if (h->mac)
		emit_bool(e, "mac", true);
}

static void ntp_emit(const void *state, struct emitter *e)
{
	const struct ntp_state *st = state;
	const struct ntp_header *h = best_header(st);
	if (!st->any) {
		emit_null(e, "version");
		emit_null(e, "mode");
		emit_null(e, "stratum");
		return;
	}
	emit_int(e, "version", h ? h->version : st->first_version);
	emit_str(e, "mode", mode_names[h ? h->mode : st->first_mode]);
	if (h) {
		emit_int(e, "stratum", h->stratum);
		emit_header(h, e);
		if (h == &st->server && st->client.seen) {
			emit_object_begin(e, "client");
			emit_int(e, "version", st->client.version);
			emit_str(e, "mode", mode_names[st->client.mode]);
			emit_int(e, "stratum", st->client.stratum);
			emit_header(&st->client, e);
			emit_object_end(e);
		}
	} else {
		emit_null(e, "stratum");
	}
	emit_int(e, "packets", (int64_t)st->packets);
	emit_object_begin(e, "modes");
	for (unsigned m = 0; m < 8; m++)
		if (st->per_mode[m])
			emit_int(e, mode_names[m], st->per_mode[m]);
	emit_object_end(e);
	if (st->n_opcodes) {
		emit_code_list(e, "opcodes", st->opcodes, st->n_opcodes, control_opcodes);
		if (st->opcodes_dropped)
			emit_int(e, "opcodes_truncated", st->opcodes_dropped);
	}
	if (st->n_requests) {
		const char *impl = value_name_lookup(private_impls, st->impl);
		if (impl)
			emit_str(e, "implementation", impl);
		else
			emit_int(e, "implementation", st->impl);
		emit_array_begin(e, "request_codes");
		for (uint8_t i = 0; i < st->n_requests; i++)
			emit_int(e, NULL, st->requests[i]);
		emit_array_end(e);
		emit_code_list(e, "requests", st->requests, st->n_requests, private_requests);
		for (uint8_t i = 0; i < st->n_requests; i++)
			if (st->requests[i] == 42 || st->requests[i] == 20) {
				emit_bool(e, "monlist", true);
				break;
			}
		if (st->requests_dropped)
			emit_int(e, "requests_truncated", st->requests_dropped);
	}
	if (st->n_opcodes || st->n_requests)
		emit_bool(e, "control_response", st->control_response);
	if (st->malformed)
		emit_int(e, "malformed", st->malformed);
}

static void ntp_summarize(const void *state, char *buf, size_t n)
{
	const struct ntp_state *st = state;
	struct summary sum = summary_start(buf, n);
	const struct ntp_header *h = best_header(st);
	if (!st->any) {
		summary_add(&sum, "(no packet)");
		return;
	}
	summary_addf(&sum, "v%u %s", h ? h->version : st->first_version,
	             mode_names[h ? h->mode : st->first_mode]);
	if (h) {
		char ref[NTP_REFID_MAX];
		refid_text(h, ref);
		summary_addf(&sum, " stratum %u", h->stratum);
		if (ref[0]) {
			summary_add(&sum, " ref ");
			summary_add_wire(&sum, ref, strlen(ref));
		}
	}
	if (st->n_opcodes) {
		const char *name = value_name_lookup(control_opcodes, st->opcodes[0]);
		summary_addf(&sum, " control %s", name ? name : "?");
	}
	if (st->n_requests) {
		const char *name = value_name_lookup(private_requests, st->requests[0]);
		summary_addf(&sum, " private %s", name ? name : "?");
	}
}

const struct dissector ntp_dissector = {
    .name = "ntp",
    .transports = TRANSPORT_BIT_UDP,
    .ports = ntp_ports,
    .state_size = sizeof(struct ntp_state),
    .probe = ntp_probe,
    .on_data = ntp_on_data,
    .emit = ntp_emit,
    .summarize = ntp_summarize,
};
