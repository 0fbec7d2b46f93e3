/* Kerberos V5 (RFC 4120) over UDP and TCP, port 88.
 *
 * A UDP datagram is one message; on TCP each message has a 4-byte
 * big-endian length in front (RFC 4120 7.2.2), cut out by the core's PDU
 * framer.  The message type is the APPLICATION tag (AS-REQ 10 ... KRB-ERROR
 * 30).  The record lists per message the client principal and realm, the
 * service principal (the request body's, or the ticket's), the encryption
 * types a request offers or a reply used (the ticket's and the enc-part's),
 * the pre-authentication data types, and for KRB-ERROR the error name and
 * e-text.  Nothing encrypted is opened.
 *
 * Kerberoasting: a service ticket encrypted with RC4-HMAC (etype 23) can be
 * cracked offline; a TGS-REP whose ticket uses it, or a TGS-REQ that offers
 * RC4 but no AES type, marks the message "rc4": true, the flow
 * "rc4_service_ticket": true, and raises the weak-security alert.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/ber.h"
#include "portolan/dissector.h"
#include "portolan/framing.h"
#include "portolan/summary.h"
#include "portolan/wirestr.h"

#define KRB_MAX_MESSAGES 64      /* messages kept per flow */
#define KRB_MAX_ETYPES 16        /* etypes kept per message */
#define KRB_MAX_PADATA 16        /* padata types kept per message */
#define KRB_MAX_NAME 256         /* bytes of a principal's text, a realm */
#define KRB_MAX_ETEXT 256        /* bytes of an e-text */
#define KRB_MAX_COMPONENTS 8     /* name components joined */
#define KRB_MAX_PDU (128 * 1024) /* a TCP message taken whole */
#define KRB_FIELDS 16            /* context tags [0]..[15] of a SEQUENCE */

enum {
	KRB_AS_REQ = 10,
	KRB_AS_REP = 11,
	KRB_TGS_REQ = 12,
	KRB_TGS_REP = 13,
	KRB_AP_REQ = 14,
	KRB_AP_REP = 15,
	KRB_SAFE = 20,
	KRB_PRIV = 21,
	KRB_CRED = 22,
	KRB_ERROR = 30,
};

static const struct value_name type_names[] = {
    {KRB_AS_REQ, "AS-REQ"},
    {KRB_AS_REP, "AS-REP"},
    {KRB_TGS_REQ, "TGS-REQ"},
    {KRB_TGS_REP, "TGS-REP"},
    {KRB_AP_REQ, "AP-REQ"},
    {KRB_AP_REP, "AP-REP"},
    {KRB_SAFE, "KRB-SAFE"},
    {KRB_PRIV, "KRB-PRIV"},
    {KRB_CRED, "KRB-CRED"},
    {KRB_ERROR, "KRB-ERROR"},
    {0, NULL},
};

/* RFC 3961, RFC 8009, RFC 6803, RFC 4757 and Microsoft's negative ones. */
static const struct {
	int value;
	const char *name;
} etype_names[] = {
    {1, "des-cbc-crc"},
    {2, "des-cbc-md4"},
    {3, "des-cbc-md5"},
    {5, "des3-cbc-md5"},
    {7, "des3-cbc-sha1"},
    {16, "des3-cbc-sha1-kd"},
    {17, "aes128-cts-hmac-sha1-96"},
    {18, "aes256-cts-hmac-sha1-96"},
    {19, "aes128-cts-hmac-sha256-128"},
    {20, "aes256-cts-hmac-sha384-192"},
    {23, "rc4-hmac"},
    {24, "rc4-hmac-exp"},
    {25, "camellia128-cts-cmac"},
    {26, "camellia256-cts-cmac"},
    {-128, "rc4-md4"},
    {-133, "rc4-hmac-old-exp"},
    {-135, "rc4-hmac-old"},
};

/* RFC 4120 7.5.9 and RFC 4556, RFC 6113. */
static const struct value_name error_names[] = {
    {0, "KDC_ERR_NONE"},
    {1, "KDC_ERR_NAME_EXP"},
    {2, "KDC_ERR_SERVICE_EXP"},
    {3, "KDC_ERR_BAD_PVNO"},
    {4, "KDC_ERR_C_OLD_MAST_KVNO"},
    {5, "KDC_ERR_S_OLD_MAST_KVNO"},
    {6, "KDC_ERR_C_PRINCIPAL_UNKNOWN"},
    {7, "KDC_ERR_S_PRINCIPAL_UNKNOWN"},
    {8, "KDC_ERR_PRINCIPAL_NOT_UNIQUE"},
    {9, "KDC_ERR_NULL_KEY"},
    {10, "KDC_ERR_CANNOT_POSTDATE"},
    {11, "KDC_ERR_NEVER_VALID"},
    {12, "KDC_ERR_POLICY"},
    {13, "KDC_ERR_BADOPTION"},
    {14, "KDC_ERR_ETYPE_NOSUPP"},
    {15, "KDC_ERR_SUMTYPE_NOSUPP"},
    {16, "KDC_ERR_PADATA_TYPE_NOSUPP"},
    {17, "KDC_ERR_TRTYPE_NOSUPP"},
    {18, "KDC_ERR_CLIENT_REVOKED"},
    {19, "KDC_ERR_SERVICE_REVOKED"},
    {20, "KDC_ERR_TGT_REVOKED"},
    {21, "KDC_ERR_CLIENT_NOTYET"},
    {22, "KDC_ERR_SERVICE_NOTYET"},
    {23, "KDC_ERR_KEY_EXPIRED"},
    {24, "KDC_ERR_PREAUTH_FAILED"},
    {25, "KDC_ERR_PREAUTH_REQUIRED"},
    {26, "KDC_ERR_SERVER_NOMATCH"},
    {27, "KDC_ERR_MUST_USE_USER2USER"},
    {28, "KDC_ERR_PATH_NOT_ACCEPTED"},
    {29, "KDC_ERR_SVC_UNAVAILABLE"},
    {31, "KRB_AP_ERR_BAD_INTEGRITY"},
    {32, "KRB_AP_ERR_TKT_EXPIRED"},
    {33, "KRB_AP_ERR_TKT_NYV"},
    {34, "KRB_AP_ERR_REPEAT"},
    {35, "KRB_AP_ERR_NOT_US"},
    {36, "KRB_AP_ERR_BADMATCH"},
    {37, "KRB_AP_ERR_SKEW"},
    {38, "KRB_AP_ERR_BADADDR"},
    {39, "KRB_AP_ERR_BADVERSION"},
    {40, "KRB_AP_ERR_MSG_TYPE"},
    {41, "KRB_AP_ERR_MODIFIED"},
    {42, "KRB_AP_ERR_BADORDER"},
    {44, "KRB_AP_ERR_BADKEYVER"},
    {45, "KRB_AP_ERR_NOKEY"},
    {46, "KRB_AP_ERR_MUT_FAIL"},
    {47, "KRB_AP_ERR_BADDIRECTION"},
    {48, "KRB_AP_ERR_METHOD"},
    {49, "KRB_AP_ERR_BADSEQ"},
    {50, "KRB_AP_ERR_INAPP_CKSUM"},
    {51, "KRB_AP_PATH_NOT_ACCEPTED"},
    {52, "KRB_ERR_RESPONSE_TOO_BIG"},
    {60, "KRB_ERR_GENERIC"},
    {61, "KRB_ERR_FIELD_TOOLONG"},
    {62, "KDC_ERR_CLIENT_NOT_TRUSTED"},
    {63, "KDC_ERR_KDC_NOT_TRUSTED"},
    {64, "KDC_ERR_INVALID_SIG"},
    {65, "KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED"},
    {66, "KDC_ERR_CERTIFICATE_MISMATCH"},
    {67, "KRB_AP_ERR_NO_TGT"},
    {68, "KDC_ERR_WRONG_REALM"},
    {69, "KRB_AP_ERR_USER_TO_USER_REQUIRED"},
    {70, "KDC_ERR_CANT_VERIFY_CERTIFICATE"},
    {71, "KDC_ERR_INVALID_CERTIFICATE"},
    {72, "KDC_ERR_REVOKED_CERTIFICATE"},
    {73, "KDC_ERR_REVOCATION_STATUS_UNKNOWN"},
    {74, "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE"},
    {75, "KDC_ERR_CLIENT_NAME_MISMATCH"},
    {76, "KDC_ERR_KDC_NAME_MISMATCH"},
    {90, "KDC_ERR_PREAUTH_EXPIRED"},
    {91, "KDC_ERR_MORE_PREAUTH_DATA_REQUIRED"},
    {92, "KDC_ERR_PREAUTH_BAD_AUTHENTICATION_SET"},
    {93, "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS"},
    {0, NULL},
};

static const struct value_name padata_names[] = {
    {1, "PA-TGS-REQ"},
    {2, "PA-ENC-TIMESTAMP"},
    {3, "PA-PW-SALT"},
    {11, "PA-ETYPE-INFO"},
    {14, "PA-PK-AS-REQ-OLD"},
    {15, "PA-PK-AS-REP-OLD"},
    {16, "PA-PK-AS-REQ"},
    {17, "PA-PK-AS-REP"},
    {19, "PA-ETYPE-INFO2"},
    {20, "PA-SVR-REFERRAL-INFO"},
    {128, "PA-PAC-REQUEST"},
    {129, "PA-FOR-USER"},
    {130, "PA-FOR-X509-USER"},
    {133, "PA-FX-COOKIE"},
    {136, "PA-FX-FAST"},
    {137, "PA-FX-ERROR"},
    {138, "PA-ENCRYPTED-CHALLENGE"},
    {147, "PA-PKINIT-KX"},
    {149, "PA-REQ-ENC-PA-REP"},
    {165, "PA-SUPPORTED-ETYPES"},
    {167, "PA-PAC-OPTIONS"},
    {0, NULL},
};

struct krb_msg {
	uint8_t type;
	enum direction dir;
	bool has_error, has_ticket_etype, has_enc_etype, rc4;
	int64_t error;
	int32_t ticket_etype, enc_etype;
	struct wire_str cname, realm, sname, etext;
	uint8_t n_etypes, etypes_truncated, n_padata, padata_truncated;
	int32_t etypes[KRB_MAX_ETYPES];
	int32_t padata[KRB_MAX_PADATA];
};

struct krb_state {
	bool started, udp;
	struct pdu_state pdu[2];
	bool lost[2]; /* out of sync after a bad length or a gap */
	struct krb_msg *msgs;
	unsigned n_msgs, msgs_cap, msgs_truncated;
	unsigned malformed, too_big, gaps;
	uint64_t skipped_bytes;
	bool rc4_service_ticket;
};

/* ---- helpers ---- */

/* The explicit context fields [0]..[15] of a SEQUENCE's contents: f[i] is
 * the contents of [i] (the inner element).  Other elements are skipped.
 * False when the contents are malformed. */
static bool fields(struct reader seq, struct reader f[KRB_FIELDS], bool has[KRB_FIELDS])
{
	for (int i = 0; i < KRB_FIELDS; i++) {
		has[i] = false;
		f[i] = rd_init(NULL, 0);
	}
	while (rd_remaining(&seq)) {
		struct ber_tlv t;
		if (!ber_next(&seq, &t))
			return false;
		if (t.cls == BER_CLASS_CONTEXT && t.constructed && t.tag < KRB_FIELDS) {
			f[t.tag] = t.value;
			has[t.tag] = true;
		}
	}
	return true;
}

/* The SEQUENCE inside an optional APPLICATION wrapper, as fields. */
static bool sequence_fields(struct reader v, struct reader f[KRB_FIELDS], bool has[KRB_FIELDS])
{
	struct reader seq;
	if (!ber_expect(&v, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &seq))
		return false;
	return fields(seq, f, has);
}

static bool get_int(struct reader field, int64_t *out)
{
	struct reader v;
	return ber_expect(&field, BER_CLASS_UNIVERSAL, false, BER_TAG_INTEGER, &v) &&
	       ber_int64(v, out);
}

/* A KerberosString / Realm (GeneralString; any universal string accepted). */
static bool get_string(struct reader field, struct reader *out)
{
	struct ber_tlv t;
	if (!ber_next(&field, &t) || t.cls != BER_CLASS_UNIVERSAL || t.constructed)
		return false;
	*out = t.value;
	return true;
}

static void str_set(struct session *s, struct wire_str *w, const void *p, size_t n, size_t cap)
{
	if (wire_str_set(w, p, n, cap) != WIRE_STR_OK)
		session_count(s, "kerberos.string_cut");
}

static bool set_realm(struct session *s, struct wire_str *w, struct reader field)
{
	struct reader v;
	if (!get_string(field, &v))
		return false;
	size_t n = rd_remaining(&v);
	str_set(s, w, rd_take(&v, n), n, KRB_MAX_NAME);
	return true;
}

/* PrincipalName: its name-string components joined by '/'. */
static bool set_principal(struct session *s, struct wire_str *w, struct reader field)
{
	struct reader f[KRB_FIELDS], list;
	bool has[KRB_FIELDS];
	if (!sequence_fields(field, f, has) || !has[1] ||
	    !ber_expect(&f[1], BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &list))
		return false;
	char text[KRB_MAX_NAME];
	size_t len = 0;
	unsigned count = 0;
	bool cut = false;
	while (rd_remaining(&list)) {
		struct ber_tlv t;
		if (!ber_next(&list, &t) || t.cls != BER_CLASS_UNIVERSAL || t.constructed)
			return false;
		if (count == KRB_MAX_COMPONENTS) {
			cut = true;
			continue;
		}
		count++;
		size_t n = rd_remaining(&t.value);
		const uint8_t *p = rd_take(&t.value, n);
		if (count > 1 && len < sizeof text)
			text[len++] = '/';
		if (n > sizeof text - len) {
			n = sizeof text - len;
			cut = true;
		}
		if (n)
			memcpy(text + len, p, n);
		len += n;
	}
	if (cut)
		session_count(s, "kerberos.name_cut");
	str_set(s, w, text, len, KRB_MAX_NAME);
	return true;
}

/* EncryptedData: its etype. */
static bool enc_etype(struct reader field, int32_t *etype)
{
	struct reader f[KRB_FIELDS];
	bool has[KRB_FIELDS];
	int64_t e;
	if (!sequence_fields(field, f, has) || !has[0] || !get_int(f[0], &e))
		return false;
	*etype = (int32_t)e;
	return true;
}

/* Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno[0], realm[1], sname[2],
 * enc-part[3] }: the ticket's realm and service (when the message has no
 * better one) and its etype. */
static bool ticket(struct session *s, struct krb_msg *m, struct reader field, bool names)
{
	struct reader app, f[KRB_FIELDS];
	bool has[KRB_FIELDS];
	if (!ber_expect(&field, BER_CLASS_APPLICATION, true, 1, &app) ||
	    !sequence_fields(app, f, has) || !has[2] || !has[3])
		return false;
	if (names && !m->sname.p && !set_principal(s, &m->sname, f[2]))
		return false;
	if (names && !m->realm.p && has[1] && !set_realm(s, &m->realm, f[1]))
		return false;
	if (!enc_etype(f[3], &m->ticket_etype))
		return false;
	m->has_ticket_etype = true;
	return true;
}

/* METHOD-DATA / padata: SEQUENCE OF PA-DATA { padata-type[1], value[2] }. */
static bool padata(struct session *s, struct krb_msg *m, struct reader field)
{
	struct reader list;
	if (!ber_expect(&field, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &list))
		return false;
	while (rd_remaining(&list)) {
		struct reader pa, f[KRB_FIELDS];
		bool has[KRB_FIELDS];
		int64_t type;
		if (!ber_expect(&list, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &pa) ||
		    !fields(pa, f, has) || !has[1] || !get_int(f[1], &type))
			return false;
		if (m->n_padata == KRB_MAX_PADATA) {
			if (!m->padata_truncated)
				session_count(s, "kerberos.too_many_padata");
			if (m->padata_truncated < 255)
				m->padata_truncated++;
			continue;
		}
		m->padata[m->n_padata++] = (int32_t)type;
	}
	return true;
}

static bool etype_list(struct session *s, struct krb_msg *m, struct reader field)
{
	struct reader list;
	if (!ber_expect(&field, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &list))
		return false;
	while (rd_remaining(&list)) {
		struct reader v;
		int64_t e;
		if (!ber_expect(&list, BER_CLASS_UNIVERSAL, false, BER_TAG_INTEGER, &v) ||
		    !ber_int64(v, &e))
			return false;
		if (m->n_etypes == KRB_MAX_ETYPES) {
			if (!m->etypes_truncated)
				session_count(s, "kerberos.too_many_etypes");
			if (m->etypes_truncated < 255)
				m->etypes_truncated++;
			continue;
		}
		m->etypes[m->n_etypes++] = (int32_t)e;
	}
	return true;
}

/* ---- messages ---- */

static struct krb_msg *msg_new(struct session *s, struct krb_state *st)
{
	if (st->n_msgs == KRB_MAX_MESSAGES) {
		if (!st->msgs_truncated)
			session_count(s, "kerberos.too_many_messages");
		st->msgs_truncated++;
		return NULL;
	}
	if (st->n_msgs == st->msgs_cap) {
		unsigned cap = st->msgs_cap ? st->msgs_cap * 2 : 2;
		if (cap > KRB_MAX_MESSAGES)
			cap = KRB_MAX_MESSAGES;
		struct krb_msg *p = realloc(st->msgs, cap * sizeof *p);
		if (!p) {
			st->msgs_truncated++;
			session_count(s, "kerberos.out_of_memory");
			return NULL;
		}
		st->msgs = p;
		st->msgs_cap = cap;
	}
	struct krb_msg *m = &st->msgs[st->n_msgs++];
	memset(m, 0, sizeof *m);
	return m;
}

static void msg_free(struct krb_msg *m)
{
	wire_str_free(&m->cname);
	wire_str_free(&m->realm);
	wire_str_free(&m->sname);
	wire_str_free(&m->etext);
}

static bool is_aes(int32_t e)
{
	return e >= 17 && e <= 20;
}

static bool kdc_req(struct session *s, struct krb_msg *m, struct reader f[KRB_FIELDS],
                    const bool has[KRB_FIELDS])
{
	struct reader b[KRB_FIELDS];
	bool bh[KRB_FIELDS];
	if (!has[4] || !sequence_fields(f[4], b, bh))
		return false;
	if (bh[1] && !set_principal(s, &m->cname, b[1]))
		return false;
	if (bh[2] && !set_realm(s, &m->realm, b[2]))
		return false;
	if (bh[3] && !set_principal(s, &m->sname, b[3]))
		return false;
	if (bh[8] && !etype_list(s, m, b[8]))
		return false;
	if (has[3] && !padata(s, m, f[3]))
		return false;
	if (m->type == KRB_TGS_REQ) {
		bool rc4 = false, aes = false;
		for (unsigned i = 0; i < m->n_etypes; i++) {
			rc4 |= m->etypes[i] == 23;
			aes |= is_aes(m->etypes[i]);
		}
		m->rc4 = rc4 && !aes;
	}
	return true;
}

static bool kdc_rep(struct session *s, struct krb_msg *m, struct reader f[KRB_FIELDS],
                    const bool has[KRB_FIELDS])
{
	if (has[2] && !padata(s, m, f[2]))
		return false;
	if (has[3] && !set_realm(s, &m->realm, f[3]))
		return false;
	if (has[4] && !set_principal(s, &m->cname, f[4]))
		return false;
	if (!has[5] || !ticket(s, m, f[5], true))
		return false;
	if (!has[6] || !enc_etype(f[6], &m->enc_etype))
		return false;
	m->has_enc_etype = true;
	if (m->type == KRB_TGS_REP && m->ticket_etype == 23)
		m->rc4 = true;
	return true;
}

static bool krb_error(struct session *s, struct krb_msg *m, struct reader f[KRB_FIELDS],
                      const bool has[KRB_FIELDS])
{
	int64_t code;
	if (!has[6] || !get_int(f[6], &code))
		return false;
	m->has_error = true;
	m->error = code;
	/* the client's realm if given, else the server's */
	if (has[7] && !set_realm(s, &m->realm, f[7]))
		return false;
	if (!m->realm.p && has[9] && !set_realm(s, &m->realm, f[9]))
		return false;
	if (has[8] && !set_principal(s, &m->cname, f[8]))
		return false;
	if (has[10] && !set_principal(s, &m->sname, f[10]))
		return false;
	if (has[11]) {
		struct reader v;
		if (!get_string(f[11], &v))
			return false;
		size_t n = rd_remaining(&v);
		str_set(s, &m->etext, rd_take(&v, n), n, KRB_MAX_ETEXT);
	}
	if (has[12]) {
		/* e-data: often METHOD-DATA inside an OCTET STRING */
		struct reader octets;
		struct reader e = f[12];
		if (ber_expect(&e, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, &octets))
			(void)padata(s, m, octets);
	}
	return true;
}

static void note_malformed(struct session *s, struct krb_state *st)
{
	st->malformed++;
	session_alert(s, ALERT_MALFORMED);
	session_count(s, "kerberos.malformed");
}

/* One Kerberos message (the whole APPLICATION element). */
static void krb_message(struct session *s, struct krb_state *st, enum direction dir,
                        struct reader r)
{
	struct ber_tlv app;
	if (!ber_next(&r, &app) || rd_remaining(&r) || app.cls != BER_CLASS_APPLICATION ||
	    !app.constructed || !value_name_lookup(type_names, app.tag)) {
		note_malformed(s, st);
		return;
	}
	struct krb_msg scratch;
	struct krb_msg *m = msg_new(s, st);
	bool kept = m != NULL;
	if (!m) {
		/* still read it: the flow's flags must not depend on the cap */
		memset(&scratch, 0, sizeof scratch);
		m = &scratch;
	}
	m->type = (uint8_t)app.tag;
	m->dir = dir;

	struct reader f[KRB_FIELDS];
	bool has[KRB_FIELDS];
	bool ok = sequence_fields(app.value, f, has);
	if (ok) {
		switch (app.tag) {
		case KRB_AS_REQ:
		case KRB_TGS_REQ:
			ok = kdc_req(s, m, f, has);
			break;
		case KRB_AS_REP:
		case KRB_TGS_REP:
			ok = kdc_rep(s, m, f, has);
			break;
		case KRB_AP_REQ:
			ok = has[3] && ticket(s, m, f[3], true);
			if (ok && has[4] && enc_etype(f[4], &m->enc_etype))
				m->has_enc_etype = true;
			break;
		case KRB_AP_REP:
			ok = has[2] && enc_etype(f[2], &m->enc_etype);
			m->has_enc_etype = ok;
			break;
		case KRB_PRIV:
			if (has[3] && enc_etype(f[3], &m->enc_etype))
				m->has_enc_etype = true;
			break;
		case KRB_ERROR:
			ok = krb_error(s, m, f, has);
			break;
		default:
			break;
		}
	}
	if (!ok)
		note_malformed(s, st);
	if (m->rc4) {
		st->rc4_service_ticket = true;
		session_alert(s, ALERT_WEAK_SECURITY);
		session_count(s, "kerberos.rc4_service_ticket");
	}
	if (!kept)
		msg_free(m);
}

/* ---- framing ---- */

/* RFC 4120 7.2.2: a 4-byte length, its high bit reserved (must be 0). */
static long krb_pdu_length(struct reader h, void *arg)
{
	(void)arg;
	int b0 = rd_peek(&h, 0);
	if (b0 < 0)
		return 0;
	if (b0 & 0x80)
		return -1;
	if (!rd_has(&h, 5))
		return 0;
	uint32_t len = rd_be32(&h);
	int t = rd_peek(&h, 0);
	if ((t & 0xe0) != 0x60 || len == 0)
		return -1;
	return (long)(4 + (long)len);
}

static size_t krb_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct krb_state *st = state;
	if (!st->started) {
		st->started = true;
		st->udp = !session_is_tcp(s);
	}
	if (st->udp) {
		krb_message(s, st, dir, r);
		return rd_length(&r);
	}
	if (st->lost[dir]) {
		st->skipped_bytes += rd_remaining(&r);
		return rd_remaining(&r);
	}
	struct pdu_state *ps = &st->pdu[dir];
	if (!ps->max_pdu)
		ps->max_pdu = KRB_MAX_PDU;
	for (;;) {
		struct reader pdu;
		enum frame_result fr = pdu_next(ps, &r, krb_pdu_length, NULL, &pdu);
		if (fr == FRAME_OK) {
			rd_skip(&pdu, 4);
			krb_message(s, st, dir, rd_rest(&pdu));
			continue;
		}
		if (fr == FRAME_TOO_BIG) {
			st->too_big++;
			session_count(s, "kerberos.message_too_big");
			continue;
		}
		if (fr == FRAME_ERROR) {
			/* out of sync: nothing more can be framed in this direction */
			note_malformed(s, st);
			st->lost[dir] = true;
			st->skipped_bytes += rd_remaining(&r);
			return rd_length(&r);
		}
		break;
	}
	return rd_offset(&r);
}

static void krb_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct krb_state *st = state;
	(void)s;
	st->gaps++;
	if (!pdu_gap(&st->pdu[dir], missing))
		st->lost[dir] = true;
}

/* ---- probe ---- */

/* The first bytes of a message: APPLICATION tag, SEQUENCE, pvno 5 and a
 * msg-type equal to the tag. */
static enum verdict probe_message(struct reader r)
{
	int t = rd_peek(&r, 0);
	if (t < 0)
		return VERDICT_NEED_MORE;
	if ((t & 0xe0) != 0x60 || !value_name_lookup(type_names, (unsigned)t & 0x1f))
		return VERDICT_NO;
	unsigned type = (unsigned)t & 0x1f;
	rd_skip(&r, 1);
	for (int level = 0; level < 2; level++) { /* the tag's length, the SEQUENCE */
		int l = rd_peek(&r, 0);
		if (l < 0)
			return VERDICT_NEED_MORE;
		if (l == 0x80 || l > 0x84)
			return VERDICT_NO;
		rd_skip(&r, 1 + (l & 0x80 ? (size_t)(l & 0x7f) : 0));
		if (level == 0) {
			int sq = rd_peek(&r, 0);
			if (sq < 0)
				return VERDICT_NEED_MORE;
			if (sq != 0x30)
				return VERDICT_NO;
			rd_skip(&r, 1);
		}
	}
	/* KDC-REQ numbers its fields from 1, the others from 0 */
	uint8_t first = (type == KRB_AS_REQ || type == KRB_TGS_REQ) ? 0xa1 : 0xa0;
	const uint8_t want[10] = {first, 3, 2, 1, 5, (uint8_t)(first + 1), 3, 2, 1, (uint8_t)type};
	for (size_t i = 0; i < sizeof want; i++) {
		int b = rd_peek(&r, i);
		if (b < 0)
			return VERDICT_NEED_MORE;
		if (b != want[i])
			return VERDICT_NO;
	}
	return VERDICT_YES;
}

static enum verdict krb_probe(struct reader r, enum direction dir)
{
	(void)dir;
	int b0 = rd_peek(&r, 0);
	if (b0 < 0)
		return VERDICT_NEED_MORE;
	if ((b0 & 0xe0) == 0x60)
		return probe_message(r);
	if (b0 != 0)
		return VERDICT_NO;
	/* TCP: the length prefix first */
	if (!rd_has(&r, 4))
		return VERDICT_NEED_MORE;
	uint32_t len = rd_be32(&r);
	if (len == 0 || len > KRB_MAX_PDU)
		return VERDICT_NO;
	return probe_message(r);
}

/* ---- output ---- */

static const char *etype_name(int32_t e)
{
	for (size_t i = 0; i < sizeof etype_names / sizeof etype_names[0]; i++)
		if (etype_names[i].value == e)
			return etype_names[i].name;
	return NULL;
}

static void emit_etype(struct emitter *e, const char *key, int32_t v)
{
	const char *n = etype_name(v);
	if (n) {
		emit_str(e, key, n);
	} else {
		char num[16];
		snprintf(num, sizeof num, "%d", (int)v);
		emit_str(e, key, num);
	}
}

static void emit_wire(struct emitter *e, const char *key, const struct wire_str *w)
{
	if (w->p)
		emit_strn(e, key, w->p, w->len);
	else
		emit_null(e, key);
}

static void emit_msg(const struct krb_msg *m, struct emitter *e)
{
	emit_object_begin(e, NULL);
	emit_str(e, "type", value_name_lookup(type_names, m->type));
	emit_str(e, "from", m->dir == DIR_CLIENT ? "client" : "server");
	emit_wire(e, "cname", &m->cname);
	emit_wire(e, "realm", &m->realm);
	emit_wire(e, "sname", &m->sname);
	/* offered by a request; used by the others (ticket's, then enc-part's) */
	emit_array_begin(e, "etypes");
	for (unsigned i = 0; i < m->n_etypes; i++)
		emit_etype(e, NULL, m->etypes[i]);
	if (m->has_ticket_etype)
		emit_etype(e, NULL, m->ticket_etype);
	if (m->has_enc_etype && !(m->has_ticket_etype && m->ticket_etype == m->enc_etype))
		emit_etype(e, NULL, m->enc_etype);
	emit_array_end(e);
	if (m->etypes_truncated)
		emit_int(e, "etypes_truncated", m->etypes_truncated);
	if (m->has_error) {
		const char *n =
		    m->error >= 0 ? value_name_lookup(error_names, (unsigned)m->error) : NULL;
		if (n) {
			emit_str(e, "error", n);
		} else {
			char num[24];
			snprintf(num, sizeof num, "%lld", (long long)m->error);
			emit_str(e, "error", num);
		}
		emit_int(e, "error_code", m->error);
	} else {
		emit_null(e, "error");
	}
	if (m->etext.p)
		emit_strn(e, "e_text", m->etext.p, m->etext.len);
	if (m->has_ticket_etype)
		emit_etype(e, "ticket_etype", m->ticket_etype);
	if (m->has_enc_etype)
		emit_etype(e, "enc_etype", m->enc_etype);
	if (m->n_padata) {
		emit_array_begin(e, "padata");
		for (unsigned i = 0; i < m->n_padata; i++) {
			const char *n =
			    m->padata[i] >= 0
			        ? value_name_lookup(padata_names, (unsigned)m->padata[i])
			        : NULL;
			if (n) {
				emit_str(e, NULL, n);
			} else {
				char num[16];
				snprintf(num, sizeof num, "%d", (int)m->padata[i]);
				emit_str(e, NULL, num);
			}
		}
		emit_array_end(e);
	}
	if (m->rc4)
		emit_bool(e, "rc4", true);
	emit_object_end(e);
}

static void krb_emit(const void *state, struct emitter *e)
{
	const struct krb_state *st = state;
	emit_array_begin(e, "messages");
	for (unsigned i = 0; i < st->n_msgs; i++)
		emit_msg(&st->msgs[i], e);
	emit_array_end(e);
	if (st->msgs_truncated)
		emit_int(e, "truncated", st->msgs_truncated);
	if (st->rc4_service_ticket)
		emit_bool(e, "rc4_service_ticket", true);
	if (st->malformed)
		emit_int(e, "malformed", st->malformed);
	if (st->too_big)
		emit_int(e, "too_big", st->too_big);
	if (st->gaps)
		emit_bool(e, "gap", true);
}

static void krb_summarize(const void *state, char *buf, size_t n)
{
	const struct krb_state *st = state;
	struct summary sm = summary_start(buf, n);
	unsigned shown = st->n_msgs < 3 ? st->n_msgs : 3;
	for (unsigned i = 0; i < shown; i++) {
		const struct krb_msg *m = &st->msgs[i];
		if (i)
			summary_add(&sm, "; ");
		summary_add(&sm, value_name_lookup(type_names, m->type));
		if (m->cname.p && m->cname.len) {
			summary_add(&sm, " ");
			summary_add_wire(&sm, m->cname.p, m->cname.len > 48 ? 48 : m->cname.len);
			if (m->realm.p) {
				summary_add(&sm, "@");
				summary_add_wire(&sm, m->realm.p,
				                 m->realm.len > 48 ? 48 : m->realm.len);
			}
		}
		if (m->sname.p && m->sname.len) {
			summary_add(&sm, " -> ");
			summary_add_wire(&sm, m->sname.p, m->sname.len > 48 ? 48 : m->sname.len);
		}
		if (m->has_error) {
			const char *en = m->error >= 0
			                     ? value_name_lookup(error_names, (unsigned)m->error)
			                     : NULL;
			if (en)
				summary_addf(&sm, " %s", en);
			else
				summary_addf(&sm, " error %lld", (long long)m->error);
		}
	}
	if (st->n_msgs + st->msgs_truncated > shown)
		summary_addf(&sm, " (+%u)", st->n_msgs + st->msgs_truncated - shown);
	if (st->rc4_service_ticket)
		summary_add(&sm, " RC4 service ticket");
}

static void krb_release(void *state)
{
	struct krb_state *st = state;
	for (unsigned i = 0; i < st->n_msgs; i++)
		msg_free(&st->msgs[i]);
	free(st->msgs);
	st->msgs = NULL;
	st->n_msgs = st->msgs_cap = 0;
}

static const uint16_t krb_ports[] = {88, 0};

const struct dissector kerberos_dissector = {
    .name = "kerberos",
    .transports = TRANSPORT_BIT_TCP | TRANSPORT_BIT_UDP,
    .ports = krb_ports,
    .state_size = sizeof(struct krb_state),
    .probe = krb_probe,
    .on_data = krb_on_data,
    .on_gap = krb_on_gap,
    .emit = krb_emit,
    .summarize = krb_summarize,
    .release = krb_release,
};
