/* NetBIOS Session Service (RFC 1002 4.3), TCP port 139.
 *
 * Every message has a 4-byte header: type, flags (bit 0 extends the 16-bit
 * length to 17 bits), length; the core's PDU framer cuts them out, one
 * framer per direction.  A session opens with a SESSION REQUEST naming the
 * called and calling NetBIOS names (first-level encoded,
 * src/netbios_name.c), answered by a positive or negative response or a
 * retarget; then SESSION MESSAGEs carry the payload, nearly always SMB.
 *
 * The first session message that carries SMB ("\xffSMB", "\xfeSMB" or
 * "\xfdSMB" right after the header) hands the rest of the stream to the smb
 * dissector from that message's first byte (so SMB sees the NBSS header
 * too), and the session serves "smb" from then on with this dissector's
 * keys beside it.  A stream that starts inside a message (the capture began
 * mid-session) is searched for the next session message carrying SMB.
 */
#include <stdio.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/framing.h"
#include "portolan/netbios_name.h"
#include "portolan/summary.h"

#define NBSS_PORT 139
#define NBSS_HEADER_LEN 4
/* 17 bits of length plus the header. */
#define NBSS_MAX_PDU (NBSS_HEADER_LEN + 0x1ffff)
/* A resynchronising search for the next SMB message looks at no more
 * than this many bytes per call; beyond, the bytes are dropped. */
#define NBSS_RESYNC_SCAN (64 * 1024)
#define NBSS_SMB_MAGIC_LEN 4

#define NBSS_SESSION_MESSAGE 0x00
#define NBSS_SESSION_REQUEST 0x81
#define NBSS_POSITIVE_RESPONSE 0x82
#define NBSS_NEGATIVE_RESPONSE 0x83
#define NBSS_RETARGET_RESPONSE 0x84
#define NBSS_KEEPALIVE 0x85

static const struct value_name nbss_types[] = {
    {NBSS_SESSION_MESSAGE, "SESSION MESSAGE"},
    {NBSS_SESSION_REQUEST, "SESSION REQUEST"},
    {NBSS_POSITIVE_RESPONSE, "POSITIVE SESSION RESPONSE"},
    {NBSS_NEGATIVE_RESPONSE, "NEGATIVE SESSION RESPONSE"},
    {NBSS_RETARGET_RESPONSE, "RETARGET SESSION RESPONSE"},
    {NBSS_KEEPALIVE, "SESSION KEEP ALIVE"},
    {0, NULL},
};

static const struct value_name nbss_errors[] = {
    {0x80, "Not listening on called name"},
    {0x81, "Not listening for calling name"},
    {0x82, "Called name not present"},
    {0x83, "Called name present, but insufficient resources"},
    {0x8f, "Unspecified error"},
    {0, NULL},
};

enum nbss_response { RESP_NONE = 0, RESP_POSITIVE, RESP_NEGATIVE, RESP_RETARGET };

struct nbss_state {
	struct pdu_state framer[2];
	bool resync[2];   /* this direction's place in the stream is lost */
	bool waiting[2];  /* a session message's start is held to see if it is SMB */
	bool smb;         /* handed to the smb dissector */
	bool smb_refused; /* SMB seen but no smb dissector took it */
	bool has_called, has_calling;
	bool has_retarget;
	uint8_t response; /* enum nbss_response */
	uint8_t error;
	uint16_t retarget_port;
	uint8_t retarget_ip[4];
	uint32_t requests, messages, keepalives, unknown;
	uint32_t gaps, oversize;
	uint64_t message_bytes;
	bool malformed, incomplete;
	struct nb_name called, calling;
};

static bool known_type(int type)
{
	return type >= 0 && value_name_lookup(nbss_types, (unsigned)type) != NULL;
}

/* The framer's length function: type, flags (only the length-extension
 * bit may be set), 16-bit length. */
static long nbss_pdu_length(struct reader h, void *arg)
{
	(void)arg;
	int type = rd_peek(&h, 0);
	if (type < 0)
		return 0;
	if (!known_type(type))
		return -1;
	int flags = rd_peek(&h, 1);
	if (flags < 0)
		return 0;
	if (flags & 0xfe)
		return -1;
	int hi = rd_peek(&h, 2), lo = rd_peek(&h, 3);
	if (lo < 0)
		return 0;
	return NBSS_HEADER_LEN + ((long)(flags & 1) << 16 | (long)hi << 8 | lo);
}

static bool is_smb_magic(const struct reader *r, size_t at)
{
	int b0 = rd_peek(r, at);
	return (b0 == 0xff || b0 == 0xfe || b0 == 0xfd) && rd_peek(r, at + 1) == 'S' &&
	       rd_peek(r, at + 2) == 'M' && rd_peek(r, at + 3) == 'B';
}

/* At r's cursor: a session message header whose body starts with SMB. */
static bool smb_message_at(const struct reader *r)
{
	int flags = rd_peek(r, 1);
	return rd_peek(r, 0) == NBSS_SESSION_MESSAGE && flags >= 0 && !(flags & 0xfe) &&
	       is_smb_magic(r, NBSS_HEADER_LEN);
}

/* 0 (the PDU is a session message with SMB), 1 (it is not), -1 (cannot
 * tell yet: fewer than header + magic bytes of a long enough message). */
static int carries_smb(const struct reader *r)
{
	if (rd_peek(r, 0) != NBSS_SESSION_MESSAGE)
		return 1;
	long len = nbss_pdu_length(*r, NULL);
	if (len <= 0)
		return len == 0 ? -1 : 1;
	if (len < NBSS_HEADER_LEN + NBSS_SMB_MAGIC_LEN)
		return 1;
	if (!rd_has(r, NBSS_HEADER_LEN + NBSS_SMB_MAGIC_LEN))
		return -1;
	return is_smb_magic(r, NBSS_HEADER_LEN) ? 0 : 1;
}

static void malformed(struct nbss_state *st, struct session *s)
{
	if (!st->malformed)
		session_alert(s, ALERT_MALFORMED);
	st->malformed = true;
	session_count(s, "netbios-ssn.malformed");
}

static void take_request(struct nbss_state *st, struct session *s, struct reader body)
{
	struct nb_name called, calling;

	st->requests++;
	if (nb_read_name(&body, &called) != NB_OK || nb_read_name(&body, &calling) != NB_OK) {
		malformed(st, s);
		return;
	}
	/* the first request names the session; a retry after a retarget or a
	 * refusal names the same one */
	if (!st->has_called) {
		st->called = called;
		st->calling = calling;
		st->has_called = st->has_calling = true;
	}
}

static void take_pdu(struct nbss_state *st, struct session *s, enum direction dir,
                     struct reader pdu)
{
	uint8_t type = rd_u8(&pdu);
	rd_skip(&pdu, 3);
	struct reader body = rd_rest(&pdu);
	(void)dir;

	switch (type) {
	case NBSS_SESSION_MESSAGE:
		st->messages++;
		st->message_bytes += rd_remaining(&body);
		break;
	case NBSS_SESSION_REQUEST:
		take_request(st, s, body);
		break;
	case NBSS_POSITIVE_RESPONSE:
		st->response = RESP_POSITIVE;
		break;
	case NBSS_NEGATIVE_RESPONSE:
		st->response = RESP_NEGATIVE;
		st->error = rd_u8(&body);
		if (!rd_ok(&body))
			malformed(st, s);
		break;
	case NBSS_RETARGET_RESPONSE:
		st->response = RESP_RETARGET;
		rd_copy(&body, st->retarget_ip, 4);
		st->retarget_port = rd_be16(&body);
		if (rd_ok(&body))
			st->has_retarget = true;
		else
			malformed(st, s);
		break;
	case NBSS_KEEPALIVE:
		st->keepalives++;
		break;
	default:
		st->unknown++;
		break;
	}
}

/* Lost place in the stream: skips to the next session message that
 * carries SMB (the one message whose start can be told from its content),
 * keeping the last bytes that could begin one. */
static bool resync(struct nbss_state *st, enum direction dir, struct reader *r)
{
	size_t avail = rd_remaining(r);
	size_t scan = avail < NBSS_RESYNC_SCAN ? avail : NBSS_RESYNC_SCAN;
	const size_t need = NBSS_HEADER_LEN + NBSS_SMB_MAGIC_LEN;

	for (size_t at = 0; at + need <= scan; at++) {
		struct reader probe = *r;
		rd_skip(&probe, at);
		if (smb_message_at(&probe)) {
			rd_skip(r, at);
			st->resync[dir] = false;
			memset(&st->framer[dir], 0, sizeof st->framer[dir]);
			st->framer[dir].max_pdu = NBSS_MAX_PDU;
			return true;
		}
	}
	/* the next position to look at: the last need - 1 bytes may still
	 * begin a message */
	rd_skip(r, scan >= need ? scan - (need - 1) : 0);
	return false;
}

static size_t nbss_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct nbss_state *st = state;

	if (st->smb) /* the smb dissector has the stream: never reached */
		return rd_remaining(&r);
	st->framer[dir].max_pdu = NBSS_MAX_PDU;
	for (;;) {
		if (st->resync[dir] && !resync(st, dir, &r))
			return rd_offset(&r);
		if (!st->smb_refused && st->framer[dir].skip_left == 0) {
			int smb = carries_smb(&r);
			st->waiting[dir] = smb < 0;
			if (smb < 0)
				return rd_offset(&r); /* wait for the magic */
			if (smb == 0) {
				if (session_handoff(s, "smb")) {
					st->smb = true;
					return rd_offset(&r);
				}
				st->smb_refused = true;
				session_count(s, "netbios-ssn.smb_not_dissected");
			}
		}
		struct reader pdu;
		enum frame_result fr = pdu_next(&st->framer[dir], &r, nbss_pdu_length, NULL, &pdu);
		if (fr == FRAME_OK) {
			take_pdu(st, s, dir, pdu);
			continue;
		}
		if (fr == FRAME_ERROR) {
			/* not a header: the capture began mid-message, or garbage */
			if (st->requests + st->messages + st->keepalives == 0 &&
			    st->response == RESP_NONE)
				session_count(s, "netbios-ssn.midstream");
			else
				malformed(st, s);
			st->resync[dir] = true;
			continue;
		}
		if (fr == FRAME_TOO_BIG) {
			st->oversize++;
			session_count(s, "netbios-ssn.too_big");
		}
		return rd_offset(&r);
	}
}

static void nbss_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct nbss_state *st = state;

	st->gaps++;
	session_alert(s, ALERT_GAP);
	if (!pdu_gap(&st->framer[dir], missing)) {
		memset(&st->framer[dir], 0, sizeof st->framer[dir]);
		st->resync[dir] = true;
	}
}

static void nbss_on_end(struct session *s, void *state)
{
	struct nbss_state *st = state;

	for (int d = 0; d < 2; d++)
		if ((st->framer[d].needed || st->waiting[d]) && !st->smb) {
			st->incomplete = true;
			session_alert(s, ALERT_TRUNCATED);
			session_count(s, "netbios-ssn.incomplete_message");
		}
}

/* ---- probe ---- */

static bool encoded_name_at(struct reader r)
{
	if (rd_u8(&r) != NB_ENCODED_LEN)
		return false;
	for (int i = 0; i < NB_ENCODED_LEN; i++) {
		uint8_t c = rd_u8(&r);
		if (c < 'A' || c > 'P')
			return false;
	}
	return rd_ok(&r);
}

/* A session request (two encoded names), a session message carrying SMB,
 * or a whole first payload that is exactly a positive or negative
 * response (a capture that missed the request). */
static enum verdict nbss_probe(struct reader r, enum direction dir)
{
	(void)dir;
	int type = rd_peek(&r, 0);
	if (type < 0)
		return VERDICT_NEED_MORE;
	long len = nbss_pdu_length(r, NULL);
	if (len < 0)
		return VERDICT_NO;
	if (len == 0)
		return VERDICT_NEED_MORE;
	switch (type) {
	case NBSS_SESSION_REQUEST: {
		if (len < NBSS_HEADER_LEN + 2 * (2 + NB_ENCODED_LEN))
			return VERDICT_NO;
		if (!rd_has(&r, NBSS_HEADER_LEN + 1 + NB_ENCODED_LEN))
			return VERDICT_NEED_MORE;
		rd_skip(&r, NBSS_HEADER_LEN);
		return encoded_name_at(r) ? VERDICT_YES : VERDICT_NO;
	}
	case NBSS_SESSION_MESSAGE: {
		int smb = carries_smb(&r);
		return smb < 0 ? VERDICT_NEED_MORE : smb == 0 ? VERDICT_YES : VERDICT_NO;
	}
	case NBSS_POSITIVE_RESPONSE:
		return len == NBSS_HEADER_LEN && rd_length(&r) == NBSS_HEADER_LEN ? VERDICT_YES
		                                                                  : VERDICT_NO;
	case NBSS_NEGATIVE_RESPONSE: {
		if (len != NBSS_HEADER_LEN + 1)
			return VERDICT_NO;
		int err = rd_peek(&r, NBSS_HEADER_LEN);
		if (err < 0)
			return VERDICT_NEED_MORE;
		return value_name_lookup(nbss_errors, (unsigned)err) &&
		               rd_length(&r) == NBSS_HEADER_LEN + 1
		           ? VERDICT_YES
		           : VERDICT_NO;
	}
	default:
		return VERDICT_NO;
	}
}

/* ---- output ---- */

static void emit_name(struct emitter *e, const char *key, const struct nb_name *n)
{
	char buf[NB_RAW_MAX + 8];
	size_t len = nb_name_label(n, buf, sizeof buf);
	emit_strn(e, key, buf, len);
}

static void nbss_emit(const void *state, struct emitter *e)
{
	const struct nbss_state *st = state;
	char buf[32];

	if (st->has_called) {
		emit_name(e, "called", &st->called);
		emit_name(e, "calling", &st->calling);
		if (st->called.scope_len)
			emit_strn(e, "scope", st->called.scope, st->called.scope_len);
	} else {
		emit_null(e, "called");
		emit_null(e, "calling");
	}
	switch (st->response) {
	case RESP_POSITIVE:
		emit_str(e, "response", "positive");
		break;
	case RESP_NEGATIVE: {
		emit_str(e, "response", "negative");
		const char *err = value_name_lookup(nbss_errors, st->error);
		if (err)
			emit_str(e, "error", err);
		else
			emit_int(e, "error", st->error);
		break;
	}
	case RESP_RETARGET:
		emit_str(e, "response", "retarget");
		if (st->has_retarget) {
			snprintf(buf, sizeof buf, "%u.%u.%u.%u", st->retarget_ip[0],
			         st->retarget_ip[1], st->retarget_ip[2], st->retarget_ip[3]);
			emit_str(e, "retarget_ip", buf);
			emit_int(e, "retarget_port", st->retarget_port);
		}
		break;
	default:
		break;
	}
	if (st->requests > 1)
		emit_int(e, "session_requests", st->requests);
	emit_int(e, "session_messages", st->messages);
	emit_int(e, "session_message_bytes", (int64_t)st->message_bytes);
	if (st->keepalives)
		emit_int(e, "keepalives", st->keepalives);
	if (st->smb)
		emit_bool(e, "smb", true);
	else if (st->smb_refused)
		emit_bool(e, "smb_not_dissected", true);
	if (st->gaps)
		emit_bool(e, "gap", true);
	if (st->oversize)
		emit_int(e, "oversize_messages", st->oversize);
	if (st->incomplete)
		emit_bool(e, "incomplete", true);
	if (st->malformed)
		emit_bool(e, "malformed", true);
}

static void nbss_summarize(const void *state, char *buf, size_t n)
{
	const struct nbss_state *st = state;
	struct summary s = summary_start(buf, n);
	char label[NB_RAW_MAX + 8];

	if (st->has_called) {
		summary_add_wire(&s, label, nb_name_label(&st->calling, label, sizeof label));
		summary_add(&s, " -> ");
		summary_add_wire(&s, label, nb_name_label(&st->called, label, sizeof label));
	}
	if (st->response == RESP_POSITIVE)
		summary_add(&s, " accepted");
	else if (st->response == RESP_NEGATIVE)
		summary_add(&s, " refused");
	else if (st->response == RESP_RETARGET)
		summary_add(&s, " retarget");
	if (st->smb)
		summary_add(&s, " (smb)");
	else if (st->messages)
		summary_addf(&s, " %u messages", st->messages);
}

static const char *nbss_protocol_name(const void *state)
{
	const struct nbss_state *st = state;
	return st->smb ? "smb" : "netbios-ssn";
}

static const uint16_t nbss_ports[] = {NBSS_PORT, 0};

const struct dissector netbios_ssn_dissector = {
    .name = "netbios-ssn",
    .transports = TRANSPORT_BIT_TCP,
    .ports = nbss_ports,
    .state_size = sizeof(struct nbss_state),
    .probe = nbss_probe,
    .on_data = nbss_on_data,
    .on_gap = nbss_on_gap,
    .on_end = nbss_on_end,
    .emit = nbss_emit,
    .summarize = nbss_summarize,
    .protocol_name = nbss_protocol_name,
};
