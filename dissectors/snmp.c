/* SNMP (RFC 1157, RFC 3416, RFC 3412/3414) over UDP, ports 161 and 162.
 *
 * Each datagram is one message: SEQUENCE { version, community, PDU } for v1
 * and v2c, SEQUENCE { version, msgGlobalData, msgSecurityParameters,
 * msgData } for v3.  The record says which version, the community (v1/v2c:
 * a cleartext shared secret, hence the alerts), the v3 USM user, security
 * level and engine id, and per PDU its type, request id, error status and
 * the OIDs of its variable bindings (never the values).  A v3 authPriv
 * message carries an encrypted PDU: the record says so and lists nothing
 * from it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/ber.h"
#include "portolan/dissector.h"
#include "portolan/summary.h"

#define SNMP_MAX_PDUS 64   /* PDUs kept per flow */
#define SNMP_MAX_OIDS 32   /* varbind OIDs kept per PDU */
#define SNMP_OID_MAX 128   /* bytes of one OID's dotted text */
#define SNMP_STR_MAX 128   /* community, user name */
#define SNMP_MAX_NAMES 8   /* distinct communities / users kept */
#define SNMP_ENGINE_MAX 32 /* engine id octets (RFC 3411: 5..32) */
#define SNMP_PROBE_BYTES 2048

enum {
	PDU_GET = 0,
	PDU_GETNEXT,
	PDU_RESPONSE,
	PDU_SET,
	PDU_TRAP,
	PDU_GETBULK,
	PDU_INFORM,
	PDU_TRAPV2,
	PDU_REPORT,
	PDU_TYPE_COUNT
};

static const char *const pdu_names[PDU_TYPE_COUNT] = {
    "get", "getnext", "response", "set", "trap", "getbulk", "inform", "trapv2", "report",
};

static const struct value_name error_names[] = {
    {0, "noError"},
    {1, "tooBig"},
    {2, "noSuchName"},
    {3, "badValue"},
    {4, "readOnly"},
    {5, "genErr"},
    {6, "noAccess"},
    {7, "wrongType"},
    {8, "wrongLength"},
    {9, "wrongEncoding"},
    {10, "wrongValue"},
    {11, "noCreation"},
    {12, "inconsistentValue"},
    {13, "resourceUnavailable"},
    {14, "commitFailed"},
    {15, "undoFailed"},
    {16, "authorizationError"},
    {17, "notWritable"},
    {18, "inconsistentName"},
    {0, NULL},
};

static const struct value_name generic_trap_names[] = {
    {0, "coldStart"},
    {1, "warmStart"},
    {2, "linkDown"},
    {3, "linkUp"},
    {4, "authenticationFailure"},
    {5, "egpNeighborLoss"},
    {6, "enterpriseSpecific"},
    {0, NULL},
};

enum { LEVEL_NONE = 0, LEVEL_NOAUTH, LEVEL_AUTH, LEVEL_PRIV };
static const char *const level_names[] = {NULL, "noAuthNoPriv", "authNoPriv", "authPriv"};

struct snmp_pdu {
	uint8_t type;
	enum direction dir;
	bool has_request_id, has_error, bulk, trap1;
	int64_t request_id;
	int64_t error_status, error_index;   /* getbulk: non-repeaters, max-repetitions */
	int64_t generic_trap, specific_trap; /* trap v1 */
	bool has_agent;
	uint8_t agent[4];
	char enterprise[SNMP_OID_MAX];
	unsigned n_oids, oids_truncated;
	char oids[SNMP_MAX_OIDS][SNMP_OID_MAX];
};

struct name_list {
	unsigned count, truncated;
	uint8_t len[SNMP_MAX_NAMES];
	char text[SNMP_MAX_NAMES][SNMP_STR_MAX];
};

struct snmp_state {
	bool has_version, version_mixed;
	int version; /* 0 (v1), 1 (v2c), 3 */
	struct name_list communities, users;
	int level; /* the highest v3 security level seen */
	uint8_t engine[SNMP_ENGINE_MAX];
	size_t engine_len;
	bool has_engine, encrypted;
	unsigned messages, encrypted_pdus, malformed;
	struct snmp_pdu *pdus;
	unsigned n_pdus, pdus_cap, pdus_truncated;
};

static const char *version_text(int v)
{
	return v == 0 ? "1" : v == 1 ? "2c" : v == 3 ? "3" : NULL;
}

static void name_add(struct name_list *l, struct reader v)
{
	size_t n = rd_remaining(&v);
	const uint8_t *p = rd_take(&v, n);
	if (!p)
		return;
	if (n > SNMP_STR_MAX)
		n = SNMP_STR_MAX;
	for (unsigned i = 0; i < l->count; i++)
		if (l->len[i] == n && memcmp(l->text[i], p, n) == 0)
			return;
	if (l->count == SNMP_MAX_NAMES) {
		l->truncated++;
		return;
	}
	memcpy(l->text[l->count], p, n);
	l->len[l->count++] = (uint8_t)n;
}

/* A PDU slot for the next PDU, or NULL past the cap. */
static struct snmp_pdu *pdu_new(struct session *s, struct snmp_state *st)
{
	if (st->n_pdus == SNMP_MAX_PDUS) {
		st->pdus_truncated++;
		session_count(s, "snmp.too_many_pdus");
		return NULL;
	}
	if (st->n_pdus == st->pdus_cap) {
		unsigned cap = st->pdus_cap ? st->pdus_cap * 2 : 4;
		if (cap > SNMP_MAX_PDUS)
			cap = SNMP_MAX_PDUS;
		struct snmp_pdu *p = realloc(st->pdus, cap * sizeof *p);
		if (!p) {
			st->pdus_truncated++;
			return NULL;
		}
		st->pdus = p;
		st->pdus_cap = cap;
	}
	struct snmp_pdu *p = &st->pdus[st->n_pdus++];
	memset(p, 0, sizeof *p);
	return p;
}

static bool read_int(struct reader *r, int64_t *out)
{
	struct reader v;
	if (!ber_expect(r, BER_CLASS_UNIVERSAL, false, BER_TAG_INTEGER, &v))
		return false;
	if (!ber_int64(v, out)) {
		rd_fail(r);
		return false;
	}
	return true;
}

/* VarBindList: SEQUENCE OF SEQUENCE { name OID, value }.  False when
 * malformed (what was read is kept). */
static bool read_varbinds(struct session *s, struct reader *r, struct snmp_pdu *p)
{
	struct reader list;
	if (!ber_expect(r, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &list))
		return false;
	while (rd_remaining(&list)) {
		struct reader vb, name;
		if (!ber_expect(&list, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &vb))
			return false;
		if (!ber_expect(&vb, BER_CLASS_UNIVERSAL, false, BER_TAG_OID, &name))
			return false;
		struct ber_tlv value;
		if (!ber_next(&vb, &value))
			return false;
		if (p->n_oids == SNMP_MAX_OIDS) {
			if (!p->oids_truncated)
				session_count(s, "snmp.too_many_oids");
			p->oids_truncated++;
			continue;
		}
		if (!ber_oid_text(name, p->oids[p->n_oids], SNMP_OID_MAX, NULL))
			return false;
		p->n_oids++;
	}
	return true;
}

/* A PDU element (context class, tag 0..8).  False when malformed. */
static bool read_pdu(struct session *s, struct snmp_state *st, enum direction dir,
                     const struct ber_tlv *t)
{
	if (t->cls != BER_CLASS_CONTEXT || !t->constructed || t->tag >= PDU_TYPE_COUNT)
		return false;
	struct snmp_pdu *p = pdu_new(s, st);
	struct snmp_pdu scratch;
	if (!p) {
		p = &scratch; /* still checked for the malformed alert */
		memset(p, 0, sizeof *p);
	}
	p->type = (uint8_t)t->tag;
	p->dir = dir;
	struct reader r = t->value;

	if (t->tag == PDU_TRAP) {
		struct reader v;
		p->trap1 = true;
		if (!ber_expect(&r, BER_CLASS_UNIVERSAL, false, BER_TAG_OID, &v) ||
		    !ber_oid_text(v, p->enterprise, sizeof p->enterprise, NULL))
			return false;
		/* agent-addr: NetworkAddress, [APPLICATION 0] IMPLICIT OCTET STRING (4) */
		if (!ber_expect(&r, BER_CLASS_APPLICATION, false, 0, &v))
			return false;
		if (rd_remaining(&v) == 4) {
			rd_copy(&v, p->agent, 4);
			p->has_agent = true;
		}
		if (!read_int(&r, &p->generic_trap) || !read_int(&r, &p->specific_trap))
			return false;
		struct ber_tlv ticks; /* time-stamp TimeTicks */
		if (!ber_next(&r, &ticks))
			return false;
		return read_varbinds(s, &r, p);
	}

	if (!read_int(&r, &p->request_id))
		return false;
	p->has_request_id = true;
	if (!read_int(&r, &p->error_status) || !read_int(&r, &p->error_index))
		return false;
	p->has_error = true;
	p->bulk = t->tag == PDU_GETBULK;
	return read_varbinds(s, &r, p);
}

static void set_version(struct snmp_state *st, int v)
{
	if (!st->has_version) {
		st->has_version = true;
		st->version = v;
	} else if (st->version != v) {
		st->version_mixed = true;
	}
}

/* v1 / v2c: community then PDU. */
static bool read_community_message(struct session *s, struct snmp_state *st, enum direction dir,
                                   struct reader *r)
{
	struct reader community;
	if (!ber_expect(r, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, &community))
		return false;
	name_add(&st->communities, community);
	session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
	session_alert(s, ALERT_INSECURE_PROTOCOL);
	struct ber_tlv pdu;
	if (!ber_next(r, &pdu))
		return false;
	return read_pdu(s, st, dir, &pdu);
}

/* The USM security parameters (RFC 3414 2.4), inside an OCTET STRING. */
static bool read_usm(struct snmp_state *st, struct reader params)
{
	struct reader seq, v;
	int64_t boots, time;
	if (!ber_expect(&params, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &seq))
		return false;
	if (!ber_expect(&seq, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, &v))
		return false;
	size_t n = rd_remaining(&v);
	if (n && !st->has_engine) {
		if (n > SNMP_ENGINE_MAX)
			n = SNMP_ENGINE_MAX;
		rd_copy(&v, st->engine, n);
		st->engine_len = n;
		st->has_engine = true;
	}
	if (!read_int(&seq, &boots) || !read_int(&seq, &time))
		return false;
	if (!ber_expect(&seq, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, &v))
		return false;
	if (rd_remaining(&v))
		name_add(&st->users, v);
	return true;
}

static bool read_v3_message(struct session *s, struct snmp_state *st, enum direction dir,
                            struct reader *r)
{
	struct reader global, v;
	int64_t msg_id, max_size, model;
	if (!ber_expect(r, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &global))
		return false;
	if (!read_int(&global, &msg_id) || !read_int(&global, &max_size))
		return false;
	if (!ber_expect(&global, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, &v) ||
	    rd_remaining(&v) < 1)
		return false;
	uint8_t flags = rd_u8(&v);
	if (!read_int(&global, &model))
		return false;
	bool auth = flags & 1, priv = flags & 2;
	if (priv && !auth)
		return false; /* RFC 3412 7.2 (5): an invalid combination */
	int level = priv ? LEVEL_PRIV : auth ? LEVEL_AUTH : LEVEL_NOAUTH;
	if (level > st->level)
		st->level = level;

	if (!ber_expect(r, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, &v))
		return false;
	if (model == 3 && !read_usm(st, v))
		return false;

	struct ber_tlv data;
	if (!ber_next(r, &data))
		return false;
	if (priv) {
		/* encryptedPDU: an OCTET STRING we cannot read */
		if (!ber_is(&data, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING))
			return false;
		st->encrypted = true;
		st->encrypted_pdus++;
		return true;
	}
	/* ScopedPDU: SEQUENCE { contextEngineID, contextName, PDU } */
	if (!ber_is(&data, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE))
		return false;
	struct reader scoped = data.value;
	if (!ber_expect(&scoped, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, &v) ||
	    !ber_expect(&scoped, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, &v))
		return false;
	struct ber_tlv pdu;
	if (!ber_next(&scoped, &pdu))
		return false;
	return read_pdu(s, st, dir, &pdu);
}

static size_t snmp_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct snmp_state *st = state;
	size_t total = rd_remaining(&r);
	bool ok = false;
	struct reader msg;

	st->messages++;
	if (ber_expect(&r, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &msg)) {
		int64_t version;
		if (read_int(&msg, &version)) {
			if (version == 0 || version == 1) {
				set_version(st, (int)version);
				ok = read_community_message(s, st, dir, &msg);
			} else if (version == 3) {
				set_version(st, 3);
				ok = read_v3_message(s, st, dir, &msg);
			}
		}
	}
	if (!ok) {
		st->malformed++;
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "snmp.malformed");
	}
	return total;
}

/* Looks for SEQUENCE { INTEGER 0|1|3, ... } followed by what that version
 * must carry next. */
static enum verdict snmp_probe(struct reader r, enum direction dir)
{
	(void)dir;
	struct ber_tlv outer, t;
	int64_t version;
	struct reader msg;

	if (rd_peek(&r, 0) != 0x30)
		return VERDICT_NO;
	if (rd_remaining(&r) > SNMP_PROBE_BYTES)
		r = rd_sub(&r, SNMP_PROBE_BYTES);
	bool cut = false;
	struct reader copy = r;
	if (ber_next(&copy, &outer) &&
	    ber_is(&outer, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE)) {
		msg = outer.value;
	} else {
		/* a long datagram cut at the probe limit: read what is there */
		if (rd_remaining(&r) < SNMP_PROBE_BYTES)
			return VERDICT_NO;
		cut = true;
		rd_u8(&r);
		uint8_t l = rd_u8(&r);
		if (l & 0x80)
			rd_skip(&r, l & 0x7f);
		msg = rd_rest(&r);
	}
	if (!read_int(&msg, &version))
		return VERDICT_NO;
	if (version == 0 || version == 1) {
		if (!ber_next(&msg, &t) ||
		    !ber_is(&t, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING))
			return VERDICT_NO;
		/* the PDU: its identifier decides (the probe limit may cut it) */
		int id = rd_peek(&msg, 0);
		if (id < 0xa0 || id > 0xa8)
			return VERDICT_NO;
		if (!ber_next(&msg, &t) && !cut)
			return VERDICT_NO;
		return VERDICT_YES;
	}
	if (version == 3) {
		if (!ber_next(&msg, &t) || !ber_is(&t, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE))
			return VERDICT_NO;
		struct reader g = t.value;
		int64_t id, max;
		struct reader flags;
		if (!read_int(&g, &id) || !read_int(&g, &max) ||
		    !ber_expect(&g, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, &flags) ||
		    rd_remaining(&flags) != 1)
			return VERDICT_NO;
		return VERDICT_YES;
	}
	return VERDICT_NO;
}

static void emit_names(struct emitter *e, const char *key, const struct name_list *l)
{
	emit_array_begin(e, key);
	for (unsigned i = 0; i < l->count; i++)
		emit_strn(e, NULL, l->text[i], l->len[i]);
	emit_array_end(e);
}

static void emit_pdu(const struct snmp_pdu *p, struct emitter *e)
{
	char buf[24];
	emit_object_begin(e, NULL);
	emit_str(e, "type", pdu_names[p->type]);
	emit_str(e, "from", p->dir == DIR_CLIENT ? "client" : "server");
	if (p->has_request_id)
		emit_int(e, "request_id", p->request_id);
	else
		emit_null(e, "request_id");
	if (p->has_error && p->bulk) {
		emit_int(e, "non_repeaters", p->error_status);
		emit_int(e, "max_repetitions", p->error_index);
	} else if (p->has_error) {
		const char *name = p->error_status >= 0 && p->error_status <= 18
		                       ? value_name_lookup(error_names, (unsigned)p->error_status)
		                       : NULL;
		if (!name) {
			snprintf(buf, sizeof buf, "%lld", (long long)p->error_status);
			name = buf;
		}
		emit_str(e, "error_status", name);
		emit_int(e, "error_index", p->error_index);
	}
	if (p->trap1) {
		emit_str(e, "enterprise", p->enterprise);
		if (p->has_agent) {
			snprintf(buf, sizeof buf, "%u.%u.%u.%u", p->agent[0], p->agent[1],
			         p->agent[2], p->agent[3]);
			emit_str(e, "agent_addr", buf);
		}
		const char *g =
		    p->generic_trap >= 0 && p->generic_trap <= 6
		        ? value_name_lookup(generic_trap_names, (unsigned)p->generic_trap)
		        : NULL;
		if (g)
			emit_str(e, "generic_trap", g);
		else
			emit_int(e, "generic_trap", p->generic_trap);
		emit_int(e, "specific_trap", p->specific_trap);
	}
	emit_array_begin(e, "oids");
	for (unsigned i = 0; i < p->n_oids; i++)
		emit_str(e, NULL, p->oids[i]);
	emit_array_end(e);
	if (p->oids_truncated)
		emit_int(e, "truncated", p->oids_truncated);
	emit_object_end(e);
}

static void snmp_emit(const void *state, struct emitter *e)
{
	const struct snmp_state *st = state;

	emit_str(e, "version", st->has_version ? version_text(st->version) : NULL);
	if (st->version_mixed)
		emit_bool(e, "mixed_versions", true);
	if (st->communities.count) {
		emit_strn(e, "community", st->communities.text[0], st->communities.len[0]);
		if (st->communities.count > 1 || st->communities.truncated) {
			emit_names(e, "communities", &st->communities);
			if (st->communities.truncated)
				emit_int(e, "communities_truncated", st->communities.truncated);
		}
	}
	if (st->has_version && st->version == 3) {
		if (st->users.count)
			emit_strn(e, "user", st->users.text[0], st->users.len[0]);
		else
			emit_null(e, "user");
		if (st->users.count > 1 || st->users.truncated)
			emit_names(e, "users", &st->users);
		emit_str(e, "security_level", level_names[st->level]);
		if (st->has_engine) {
			char hex[2 * SNMP_ENGINE_MAX + 1];
			for (size_t i = 0; i < st->engine_len; i++)
				snprintf(hex + 2 * i, 3, "%02x", st->engine[i]);
			hex[2 * st->engine_len] = '\0';
			emit_str(e, "engine_id", hex);
		} else {
			emit_null(e, "engine_id");
		}
	}
	if (st->has_version)
		emit_bool(e, "encrypted", st->encrypted);
	if (st->encrypted_pdus)
		emit_int(e, "encrypted_pdus", st->encrypted_pdus);
	emit_array_begin(e, "pdus");
	for (unsigned i = 0; i < st->n_pdus; i++)
		emit_pdu(&st->pdus[i], e);
	emit_array_end(e);
	if (st->pdus_truncated)
		emit_int(e, "truncated", st->pdus_truncated);
	if (st->malformed)
		emit_int(e, "malformed", st->malformed);
}

static void snmp_summarize(const void *state, char *buf, size_t n)
{
	const struct snmp_state *st = state;
	struct summary s = summary_start(buf, n);

	if (!st->has_version) {
		summary_add(&s, "?");
		return;
	}
	summary_addf(&s, "v%s", version_text(st->version));
	if (st->communities.count) {
		summary_add(&s, " community=");
		summary_add_wire(&s, st->communities.text[0], st->communities.len[0]);
	}
	if (st->users.count) {
		summary_add(&s, " user=");
		summary_add_wire(&s, st->users.text[0], st->users.len[0]);
	}
	if (st->level)
		summary_addf(&s, " %s", level_names[st->level]);
	for (unsigned i = 0; i < st->n_pdus && i < 4; i++) {
		const struct snmp_pdu *p = &st->pdus[i];
		summary_addf(&s, " %s", pdu_names[p->type]);
		if (p->n_oids)
			summary_addf(&s, " %s", p->oids[0]);
	}
	if (st->n_pdus > 4)
		summary_addf(&s, " (+%u)", st->n_pdus - 4);
	if (st->encrypted_pdus)
		summary_addf(&s, " encrypted x%u", st->encrypted_pdus);
}

static void snmp_release(void *state)
{
	struct snmp_state *st = state;
	free(st->pdus);
	st->pdus = NULL;
	st->n_pdus = st->pdus_cap = 0;
}

static const uint16_t snmp_ports[] = {161, 162, 0};

const struct dissector snmp_dissector = {
    .name = "snmp",
    .transports = TRANSPORT_BIT_UDP,
    .ports = snmp_ports,
    .state_size = sizeof(struct snmp_state),
    .probe = snmp_probe,
    .on_data = snmp_on_data,
    .emit = snmp_emit,
    .summarize = snmp_summarize,
    .release = snmp_release,
};
