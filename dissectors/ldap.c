/* LDAP (RFC 4511) over TCP, ports 389 and 3268, and CLDAP over UDP 389.
 *
 * Every LDAPMessage is one BER SEQUENCE { messageID, protocolOp, controls }.
 * On TCP the core's PDU framer (portolan/framing.h) cuts whole messages out
 * of each direction, several to a segment or one across several; a message
 * over LDAP_MAX_MESSAGE is skipped by the framer without being buffered.  A
 * CLDAP datagram holds one or more messages.
 *
 * The record lists the operations: a request and the response carrying its
 * message id make one entry (a response whose request was not seen makes
 * its own).  Binds say the DN and the method (simple: a cleartext password
 * when both DN and password are non-empty, hence the alert; SASL: the
 * mechanism, and the NTLM user inside an NTLMSSP AUTHENTICATE token);
 * searches their base, scope, filter (RFC 4515 text) and attributes;
 * results their name and diagnostic message.  After a SASL bind whose
 * mechanism negotiated a security layer, messages come wrapped (a 4-byte
 * length, then a GSS token): counted, not parsed.  A successful StartTLS
 * hands the stream to the TLS dissector.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/ber.h"
#include "portolan/dissector.h"
#include "portolan/framing.h"
#include "portolan/summary.h"
#include "portolan/wirestr.h"

#define LDAP_MAX_OPS 64               /* operations kept per flow */
#define LDAP_MAX_ATTRS 16             /* attribute names kept per operation */
#define LDAP_DN_MAX 512               /* bytes of a DN */
#define LDAP_STR_MAX 256              /* diagnostic message, mechanism, OID, user */
#define LDAP_ATTR_MAX 128             /* bytes of one attribute name */
#define LDAP_FILTER_MAX 1024          /* bytes of a filter's text */
#define LDAP_FILTER_DEPTH 16          /* nesting of and/or/not rendered */
#define LDAP_MAX_MESSAGE (128 * 1024) /* a TCP message taken whole */
#define LDAP_RESYNC_KEEP 16           /* bytes kept while looking for a message start */

#define LDAP_OID_STARTTLS "1.3.6.1.4.1.1466.20037"

enum {
	OP_BIND_REQ = 0,
	OP_BIND_RESP = 1,
	OP_UNBIND = 2,
	OP_SEARCH_REQ = 3,
	OP_SEARCH_ENTRY = 4,
	OP_SEARCH_DONE = 5,
	OP_MODIFY_REQ = 6,
	OP_MODIFY_RESP = 7,
	OP_ADD_REQ = 8,
	OP_ADD_RESP = 9,
	OP_DEL_REQ = 10,
	OP_DEL_RESP = 11,
	OP_MODDN_REQ = 12,
	OP_MODDN_RESP = 13,
	OP_COMPARE_REQ = 14,
	OP_COMPARE_RESP = 15,
	OP_ABANDON = 16,
	OP_SEARCH_REF = 19,
	OP_EXT_REQ = 23,
	OP_EXT_RESP = 24,
	OP_INTERMEDIATE = 25,
	OP_COUNT = 26
};

static const char *const op_names[OP_COUNT] = {
    [OP_BIND_REQ] = "bindRequest",
    [OP_BIND_RESP] = "bindResponse",
    [OP_UNBIND] = "unbindRequest",
    [OP_SEARCH_REQ] = "searchRequest",
    [OP_SEARCH_ENTRY] = "searchResEntry",
    [OP_SEARCH_DONE] = "searchResDone",
    [OP_MODIFY_REQ] = "modifyRequest",
    [OP_MODIFY_RESP] = "modifyResponse",
    [OP_ADD_REQ] = "addRequest",
    [OP_ADD_RESP] = "addResponse",
    [OP_DEL_REQ] = "delRequest",
    [OP_DEL_RESP] = "delResponse",
    [OP_MODDN_REQ] = "modDNRequest",
    [OP_MODDN_RESP] = "modDNResponse",
    [OP_COMPARE_REQ] = "compareRequest",
    [OP_COMPARE_RESP] = "compareResponse",
    [OP_ABANDON] = "abandonRequest",
    [OP_SEARCH_REF] = "searchResRef",
    [OP_EXT_REQ] = "extendedReq",
    [OP_EXT_RESP] = "extendedResp",
    [OP_INTERMEDIATE] = "intermediateResponse",
};

static const struct value_name result_names[] = {
    {0, "success"},
    {1, "operationsError"},
    {2, "protocolError"},
    {3, "timeLimitExceeded"},
    {4, "sizeLimitExceeded"},
    {5, "compareFalse"},
    {6, "compareTrue"},
    {7, "authMethodNotSupported"},
    {8, "strongerAuthRequired"},
    {10, "referral"},
    {11, "adminLimitExceeded"},
    {12, "unavailableCriticalExtension"},
    {13, "confidentialityRequired"},
    {14, "saslBindInProgress"},
    {16, "noSuchAttribute"},
    {17, "undefinedAttributeType"},
    {18, "inappropriateMatching"},
    {19, "constraintViolation"},
    {20, "attributeOrValueExists"},
    {21, "invalidAttributeSyntax"},
    {32, "noSuchObject"},
    {33, "aliasProblem"},
    {34, "invalidDNSyntax"},
    {36, "aliasDereferencingProblem"},
    {48, "inappropriateAuthentication"},
    {49, "invalidCredentials"},
    {50, "insufficientAccessRights"},
    {51, "busy"},
    {52, "unavailable"},
    {53, "unwillingToPerform"},
    {54, "loopDetect"},
    {64, "namingViolation"},
    {65, "objectClassViolation"},
    {66, "notAllowedOnNonLeaf"},
    {67, "notAllowedOnRDN"},
    {68, "entryAlreadyExists"},
    {69, "objectClassModsProhibited"},
    {71, "affectsMultipleDSAs"},
    {80, "other"},
    {118, "canceled"},
    {119, "noSuchOperation"},
    {120, "tooLate"},
    {121, "cannotCancel"},
    {122, "assertionFailed"},
    {123, "authorizationDenied"},
    {0, NULL},
};

static const char *const scope_names[] = {"baseObject", "singleLevel", "wholeSubtree"};

/* Bind authentication choices (RFC 4511, and Microsoft's "sicily" NTLM). */
static const struct value_name auth_names[] = {
    {0, "simple"},          {3, "sasl"}, {9, "sicilyPackageDiscovery"}, {10, "sicilyNegotiate"},
    {11, "sicilyResponse"}, {0, NULL},
};

static const struct value_name ext_names[] = {
    {0, LDAP_OID_STARTTLS},
    {1, "1.3.6.1.4.1.4203.1.11.1"},
    {2, "1.3.6.1.4.1.4203.1.11.3"},
    {3, "1.3.6.1.1.8"},
    {4, "1.3.6.1.4.1.1466.20036"},
    {5, "1.3.6.1.4.1.1466.101.119.1"},
    {0, NULL},
};
static const char *const ext_labels[] = {"StartTLS", "passwordModify",        "whoAmI",
                                         "cancel",   "noticeOfDisconnection", "dynamicRefresh"};

struct ldap_op {
	int64_t id;
	uint8_t op; /* the APPLICATION tag of the message that made the entry */
	bool has_result, has_scope, has_method, has_version;
	bool filter_cut, anonymous;
	uint8_t method; /* auth choice tag */
	uint8_t scope;
	int64_t result, version, abandon_id;
	bool has_abandon;
	struct wire_str dn, mechanism, filter, diagnostic, oid, user, password, new_rdn;
	unsigned n_attrs, attrs_truncated;
	struct wire_str attrs[LDAP_MAX_ATTRS];
	unsigned entries, references;
};

struct ldap_state {
	bool started, udp;
	struct pdu_state pdu[2];
	bool resync[2];
	struct ldap_op *ops;
	unsigned n_ops, ops_cap, ops_truncated;
	uint64_t messages[2];
	unsigned malformed, too_big, gaps;
	/* SASL: a bind in progress, and whether wrapped messages may follow */
	bool sasl_seen, sasl_bound;
	int64_t sasl_bind_id;
	struct wire_str sasl_mechanism;
	uint64_t sasl_wrapped, sasl_wrapped_bytes, sasl_integrity;
	/* StartTLS */
	bool starttls_pending, starttls, handed, encrypted;
	int64_t starttls_id;
	uint64_t encrypted_bytes[2];
};

static const char *op_name(unsigned tag)
{
	return tag < OP_COUNT ? op_names[tag] : NULL;
}

/* ---- the operation list ---- */

static struct ldap_op *op_new(struct session *s, struct ldap_state *st, int64_t id, uint8_t tag)
{
	if (st->n_ops == LDAP_MAX_OPS) {
		if (!st->ops_truncated)
			session_count(s, "ldap.too_many_ops");
		st->ops_truncated++;
		return NULL;
	}
	if (st->n_ops == st->ops_cap) {
		unsigned cap = st->ops_cap ? st->ops_cap * 2 : 4;
		if (cap > LDAP_MAX_OPS)
			cap = LDAP_MAX_OPS;
		struct ldap_op *p = realloc(st->ops, cap * sizeof *p);
		if (!p) {
			st->ops_truncated++;
			session_count(s, "ldap.out_of_memory");
			return NULL;
		}
		st->ops = p;
		st->ops_cap = cap;
	}
	struct ldap_op *o = &st->ops[st->n_ops++];
	memset(o, 0, sizeof *o);
	o->id = id;
	o->op = tag;
	return o;
}

/* The request a response answers: the latest entry with that id, made by
 * the request this response belongs to, still without a result. */
static struct ldap_op *op_find(struct ldap_state *st, int64_t id, uint8_t resp)
{
	for (unsigned i = st->n_ops; i-- > 0;) {
		struct ldap_op *o = &st->ops[i];
		if (o->id != id || o->has_result)
			continue;
		uint8_t q = o->op;
		bool match = false;
		switch (resp) {
		case OP_SEARCH_ENTRY:
		case OP_SEARCH_REF:
		case OP_SEARCH_DONE:
			match = q == OP_SEARCH_REQ;
			break;
		case OP_EXT_RESP:
		case OP_INTERMEDIATE:
			match = q == OP_EXT_REQ || (resp == OP_INTERMEDIATE && q == OP_SEARCH_REQ);
			break;
		default:
			match = q + 1 == resp && !(q & 1) && q <= OP_COMPARE_REQ;
		}
		if (match)
			return o;
	}
	return NULL;
}

static void str_set(struct session *s, struct wire_str *w, struct reader v, size_t cap)
{
	size_t n = rd_remaining(&v);
	const uint8_t *p = rd_take(&v, n);
	if (wire_str_set(w, p, n, cap) != WIRE_STR_OK)
		session_count(s, "ldap.string_cut");
}

static void attr_add(struct session *s, struct ldap_op *o, struct reader v)
{
	if (!o)
		return;
	if (o->n_attrs == LDAP_MAX_ATTRS) {
		if (!o->attrs_truncated)
			session_count(s, "ldap.too_many_attributes");
		o->attrs_truncated++;
		return;
	}
	str_set(s, &o->attrs[o->n_attrs++], v, LDAP_ATTR_MAX);
}

static void op_free(struct ldap_op *o)
{
	wire_str_free(&o->dn);
	wire_str_free(&o->mechanism);
	wire_str_free(&o->filter);
	wire_str_free(&o->diagnostic);
	wire_str_free(&o->oid);
	wire_str_free(&o->user);
	wire_str_free(&o->password);
	wire_str_free(&o->new_rdn);
	for (unsigned i = 0; i < o->n_attrs; i++)
		wire_str_free(&o->attrs[i]);
}

/* ---- filters (RFC 4515 text) ---- */

struct fbuf {
	char text[LDAP_FILTER_MAX];
	size_t len;
	bool cut;
};

static void fput(struct fbuf *f, const char *p, size_t n)
{
	if (f->cut)
		return;
	if (n > sizeof f->text - f->len) {
		f->cut = true;
		return;
	}
	memcpy(f->text + f->len, p, n);
	f->len += n;
}

static void fputs_(struct fbuf *f, const char *p)
{
	fput(f, p, strlen(p));
}

/* An assertion value, with RFC 4515's escapes (and control bytes shown). */
static void fput_value(struct fbuf *f, struct reader v)
{
	static const char hex[] = "0123456789abcdef";
	while (rd_remaining(&v) && !f->cut) {
		uint8_t c = rd_u8(&v);
		if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c == 0x7f) {
			char e[3] = {'\\', hex[c >> 4], hex[c & 15]};
			fput(f, e, 3);
		} else {
			fput(f, (const char *)&c, 1);
		}
	}
}

static void fput_raw(struct fbuf *f, struct reader v)
{
	size_t n = rd_remaining(&v);
	const uint8_t *p = rd_take(&v, n);
	if (p)
		fput(f, (const char *)p, n);
}

/* Renders one Filter read from r; false when it is malformed. */
static bool filter_render(struct fbuf *f, struct reader *r, unsigned depth)
{
	struct ber_tlv t;
	if (!ber_next(r, &t))
		return false;
	if (t.cls != BER_CLASS_CONTEXT)
		return false;
	if (depth >= LDAP_FILTER_DEPTH) {
		fputs_(f, "(...)");
		f->cut = true;
		return true;
	}
	struct reader v = t.value;
	switch (t.tag) {
	case 0: /* and */
	case 1: /* or */
	case 2: /* not */
		if (!t.constructed)
			return false;
		fputs_(f, t.tag == 0 ? "(&" : t.tag == 1 ? "(|" : "(!");
		if (t.tag == 2 && !rd_remaining(&v))
			return false;
		while (rd_remaining(&v))
			if (!filter_render(f, &v, depth + 1))
				return false;
		fputs_(f, ")");
		return rd_ok(&v);
	case 3: /* equalityMatch */
	case 5: /* greaterOrEqual */
	case 6: /* lessOrEqual */
	case 8: /* approxMatch */
	{
		struct reader a, val;
		if (!t.constructed ||
		    !ber_expect(&v, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, &a) ||
		    !ber_expect(&v, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, &val))
			return false;
		fputs_(f, "(");
		fput_raw(f, a);
		fputs_(f, t.tag == 3 ? "=" : t.tag == 5 ? ">=" : t.tag == 6 ? "<=" : "~=");
		fput_value(f, val);
		fputs_(f, ")");
		return true;
	}
	case 4: /* substrings */
	{
		struct reader a, subs;
		if (!t.constructed ||
		    !ber_expect(&v, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, &a) ||
		    !ber_expect(&v, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &subs))
			return false;
		fputs_(f, "(");
		fput_raw(f, a);
		fputs_(f, "=");
		bool final = false, any = false;
		while (rd_remaining(&subs)) {
			struct ber_tlv s;
			if (!ber_next(&subs, &s) || s.cls != BER_CLASS_CONTEXT || s.constructed ||
			    s.tag > 2 || final || (s.tag == 0 && any))
				return false;
			if (s.tag != 0)
				fputs_(f, "*");
			fput_value(f, s.value);
			any = true;
			final = s.tag == 2;
		}
		if (!any)
			return false;
		if (!final)
			fputs_(f, "*");
		fputs_(f, ")");
		return true;
	}
	case 7: /* present */
		if (t.constructed)
			return false;
		fputs_(f, "(");
		fput_raw(f, v);
		fputs_(f, "=*)");
		return true;
	case 9: /* extensibleMatch */
	{
		if (!t.constructed)
			return false;
		struct reader rule = rd_init(NULL, 0), type = rd_init(NULL, 0),
		              val = rd_init(NULL, 0);
		bool has_rule = false, has_value = false, dn = false;
		while (rd_remaining(&v)) {
			struct ber_tlv m;
			if (!ber_next(&v, &m) || m.cls != BER_CLASS_CONTEXT || m.constructed)
				return false;
			if (m.tag == 1) {
				rule = m.value;
				has_rule = true;
			} else if (m.tag == 2) {
				type = m.value;
			} else if (m.tag == 3) {
				val = m.value;
				has_value = true;
			} else if (m.tag == 4) {
				dn = rd_remaining(&m.value) && rd_peek(&m.value, 0) != 0;
			} else {
				return false;
			}
		}
		if (!has_value)
			return false;
		fputs_(f, "(");
		fput_raw(f, type);
		if (dn)
			fputs_(f, ":dn");
		if (has_rule) {
			fputs_(f, ":");
			fput_raw(f, rule);
		}
		fputs_(f, ":=");
		fput_value(f, val);
		fputs_(f, ")");
		return true;
	}
	default:
		return false;
	}
}

/* ---- NTLMSSP inside SASL credentials ---- */

/* Copies a UTF-16LE (or OEM) string field of an NTLMSSP message into out as
 * bytes (non-ASCII UTF-16 units shown as '?'); returns the bytes written. */
static size_t ntlm_field(const uint8_t *msg, size_t n, size_t at, bool unicode, char *out,
                         size_t cap)
{
	struct reader r = rd_init(msg, n);
	rd_seek(&r, at);
	uint16_t len = rd_le16(&r);
	rd_skip(&r, 2);
	uint32_t off = rd_le32(&r);
	if (!rd_ok(&r) || off > n || len > n - off)
		return 0;
	size_t w = 0;
	for (size_t i = 0; i < len && w < cap; i += unicode ? 2 : 1) {
		uint8_t c = msg[off + i];
		if (unicode && (i + 1 >= len || msg[off + i + 1] != 0))
			c = '?';
		out[w++] = (char)c;
	}
	return w;
}

/* "DOMAIN\user" of an NTLMSSP AUTHENTICATE message somewhere in b. */
static void ntlm_user(struct session *s, struct ldap_op *o, struct reader b)
{
	static const uint8_t sig[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
	size_t n = rd_remaining(&b);
	const uint8_t *p = rd_take(&b, n);
	if (!p || n < 8)
		return;
	for (size_t i = 0; i + 8 <= n; i++) {
		if (memcmp(p + i, sig, 8) != 0)
			continue;
		const uint8_t *m = p + i;
		size_t mn = n - i;
		struct reader r = rd_init(m, mn);
		rd_skip(&r, 8);
		uint32_t type = rd_le32(&r);
		if (!rd_ok(&r) || type != 3 || mn < 64)
			return;
		struct reader fl = rd_init(m, mn);
		rd_seek(&fl, 60);
		bool unicode = (rd_le32(&fl) & 1) != 0;
		char text[LDAP_STR_MAX];
		size_t w = ntlm_field(m, mn, 28, unicode, text, sizeof text / 2);
		if (w)
			text[w++] = '\\';
		w += ntlm_field(m, mn, 36, unicode, text + w, sizeof text - w);
		if (w && wire_str_set(&o->user, text, w, LDAP_STR_MAX) != WIRE_STR_OK)
			session_count(s, "ldap.string_cut");
		return;
	}
}

/* ---- operations ---- */

static bool read_str(struct reader *r, struct reader *out)
{
	return ber_expect(r, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, out);
}

/* LDAPResult's components: resultCode, matchedDN, diagnosticMessage. */
static bool read_result(struct session *s, struct reader *v, struct ldap_op *o, int64_t *code)
{
	struct reader rc, matched, diag;
	if (!ber_expect(v, BER_CLASS_UNIVERSAL, false, BER_TAG_ENUMERATED, &rc) ||
	    !ber_int64(rc, code) || !read_str(v, &matched) || !read_str(v, &diag))
		return false;
	if (o) {
		o->has_result = true;
		o->result = *code;
		if (rd_remaining(&diag))
			str_set(s, &o->diagnostic, diag, LDAP_STR_MAX);
	}
	return true;
}

static bool bind_request(struct session *s, struct ldap_state *st, struct ldap_op *o, int64_t id,
                         struct reader v)
{
	struct reader ver, name;
	int64_t version;
	struct ber_tlv auth;
	if (!ber_expect(&v, BER_CLASS_UNIVERSAL, false, BER_TAG_INTEGER, &ver) ||
	    !ber_int64(ver, &version) || !read_str(&v, &name) || !ber_next(&v, &auth) ||
	    auth.cls != BER_CLASS_CONTEXT)
		return false;
	if (o) {
		o->has_version = true;
		o->version = version;
		str_set(s, &o->dn, name, LDAP_DN_MAX);
		o->has_method = true;
		o->method = (uint8_t)(auth.tag > 255 ? 255 : auth.tag);
	}
	if (auth.tag == 0) { /* simple */
		size_t pw = rd_remaining(&auth.value);
		if (rd_remaining(&name) && pw) {
			session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
			session_count(s, "ldap.cleartext_password");
			if (o && session_show_credentials(s))
				str_set(s, &o->password, auth.value, LDAP_STR_MAX);
		} else if (o) {
			o->anonymous = true;
		}
		return true;
	}
	if (auth.tag == 3) { /* sasl */
		struct reader mech, creds = rd_init(NULL, 0);
		if (!auth.constructed || !read_str(&auth.value, &mech))
			return false;
		if (rd_remaining(&auth.value) && !read_str(&auth.value, &creds))
			return false;
		st->sasl_seen = true;
		st->sasl_bind_id = id;
		str_set(s, &st->sasl_mechanism, mech, LDAP_STR_MAX);
		if (o) {
			str_set(s, &o->mechanism, mech, LDAP_STR_MAX);
			ntlm_user(s, o, creds);
		}
		return true;
	}
	if (auth.tag == 11 && o) /* sicilyResponse: the NTLM AUTHENTICATE */
		ntlm_user(s, o, auth.value);
	if (auth.tag >= 9 && auth.tag <= 11) {
		st->sasl_seen = true;
		st->sasl_bind_id = id;
	}
	return true;
}

static bool search_request(struct session *s, struct ldap_op *o, struct reader v)
{
	struct reader base, scope, deref, size, time, types, attrs;
	int64_t sc;
	if (!read_str(&v, &base) ||
	    !ber_expect(&v, BER_CLASS_UNIVERSAL, false, BER_TAG_ENUMERATED, &scope) ||
	    !ber_int64(scope, &sc) ||
	    !ber_expect(&v, BER_CLASS_UNIVERSAL, false, BER_TAG_ENUMERATED, &deref) ||
	    !ber_expect(&v, BER_CLASS_UNIVERSAL, false, BER_TAG_INTEGER, &size) ||
	    !ber_expect(&v, BER_CLASS_UNIVERSAL, false, BER_TAG_INTEGER, &time) ||
	    !ber_expect(&v, BER_CLASS_UNIVERSAL, false, BER_TAG_BOOLEAN, &types))
		return false;
	if (o) {
		str_set(s, &o->dn, base, LDAP_DN_MAX);
		if (sc >= 0 && sc <= 2) {
			o->has_scope = true;
			o->scope = (uint8_t)sc;
		}
	}
	struct fbuf *f = calloc(1, sizeof *f);
	if (!f) {
		session_count(s, "ldap.out_of_memory");
		return true;
	}
	bool ok = filter_render(f, &v, 0);
	if (ok && o) {
		if (f->cut) {
			session_count(s, "ldap.filter_cut");
			o->filter_cut = true;
		}
		if (wire_str_set(&o->filter, f->text, f->len, LDAP_FILTER_MAX) != WIRE_STR_OK)
			session_count(s, "ldap.string_cut");
	}
	free(f);
	if (!ok)
		return false;
	if (!ber_expect(&v, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &attrs))
		return false;
	while (rd_remaining(&attrs)) {
		struct reader a;
		if (!read_str(&attrs, &a))
			return false;
		attr_add(s, o, a);
	}
	return true;
}

/* AttributeList / changes: the attribute types named. */
static bool attribute_list(struct session *s, struct ldap_op *o, struct reader list, bool changes)
{
	while (rd_remaining(&list)) {
		struct reader item, type;
		if (!ber_expect(&list, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &item))
			return false;
		if (changes) {
			struct reader opv, mod;
			if (!ber_expect(&item, BER_CLASS_UNIVERSAL, false, BER_TAG_ENUMERATED,
			                &opv) ||
			    !ber_expect(&item, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &mod))
				return false;
			item = mod;
		}
		if (!read_str(&item, &type))
			return false;
		attr_add(s, o, type);
	}
	return true;
}

static bool ext_request(struct session *s, struct ldap_state *st, struct ldap_op *o, int64_t id,
                        struct reader v)
{
	struct reader name;
	if (!ber_expect(&v, BER_CLASS_CONTEXT, false, 0, &name))
		return false;
	size_t n = rd_remaining(&name);
	if (n == strlen(LDAP_OID_STARTTLS) && rd_starts_with(&name, LDAP_OID_STARTTLS, n)) {
		st->starttls_pending = true;
		st->starttls_id = id;
	}
	if (o)
		str_set(s, &o->oid, name, LDAP_STR_MAX);
	return true;
}

static void start_tls(struct session *s, struct ldap_state *st)
{
	st->starttls = true;
	st->starttls_pending = false;
	if (session_handoff(s, "tls")) {
		st->handed = true;
	} else {
		st->encrypted = true;
		session_count(s, "ldap.starttls_not_dissected");
	}
}

/* A response: fills the request's entry, or makes one of its own. */
static bool response(struct session *s, struct ldap_state *st, int64_t id, uint8_t tag,
                     struct reader v)
{
	struct ldap_op *o = op_find(st, id, tag);
	if (tag == OP_SEARCH_ENTRY || tag == OP_SEARCH_REF || tag == OP_INTERMEDIATE) {
		if (!o)
			o = op_new(s, st, id, tag);
		if (o && tag == OP_SEARCH_ENTRY)
			o->entries++;
		else if (o && tag == OP_SEARCH_REF)
			o->references++;
		if (tag == OP_SEARCH_ENTRY) {
			struct reader dn;
			if (!read_str(&v, &dn))
				return false;
			if (o && o->op == OP_SEARCH_ENTRY && !o->dn.p)
				str_set(s, &o->dn, dn, LDAP_DN_MAX);
		}
		return true;
	}
	if (!o)
		o = op_new(s, st, id, tag);
	int64_t code;
	if (!read_result(s, &v, o, &code))
		return false;
	if (tag == OP_BIND_RESP && st->sasl_seen && id == st->sasl_bind_id && code == 0)
		st->sasl_bound = true;
	if (tag == OP_EXT_RESP) {
		bool tls = st->starttls_pending && id == st->starttls_id;
		/* the responseName [10] may say it too */
		while (rd_remaining(&v)) {
			struct ber_tlv t;
			if (!ber_next(&v, &t))
				return false;
			if (t.cls == BER_CLASS_CONTEXT && t.tag == 10) {
				size_t n = rd_remaining(&t.value);
				if (n == strlen(LDAP_OID_STARTTLS) &&
				    rd_starts_with(&t.value, LDAP_OID_STARTTLS, n))
					tls = st->starttls_pending || tls;
				if (o && !o->oid.p)
					str_set(s, &o->oid, t.value, LDAP_STR_MAX);
			}
		}
		if (tls && code == 0)
			start_tls(s, st);
		else if (tls)
			st->starttls_pending = false;
	}
	return true;
}

/* One LDAPMessage (the whole element). */
static void ldap_message(struct session *s, struct ldap_state *st, enum direction dir,
                         struct reader m)
{
	struct reader body, idv;
	int64_t id;
	struct ber_tlv op;
	st->messages[dir]++;
	bool ok = ber_expect(&m, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &body) &&
	          rd_remaining(&m) == 0 &&
	          ber_expect(&body, BER_CLASS_UNIVERSAL, false, BER_TAG_INTEGER, &idv) &&
	          ber_int64(idv, &id) && ber_next(&body, &op);
	/* RFC 1798 CLDAP puts the user's DN between the id and the operation */
	if (ok && st->udp && ber_is(&op, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING))
		ok = ber_next(&body, &op);
	if (!ok || op.cls != BER_CLASS_APPLICATION || !op_name(op.tag)) {
		st->malformed++;
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "ldap.malformed");
		return;
	}
	uint8_t tag = (uint8_t)op.tag;
	struct reader v = op.value;
	struct ldap_op *o = NULL;
	switch (tag) {
	case OP_BIND_REQ:
	case OP_SEARCH_REQ:
	case OP_MODIFY_REQ:
	case OP_ADD_REQ:
	case OP_DEL_REQ:
	case OP_MODDN_REQ:
	case OP_COMPARE_REQ:
	case OP_EXT_REQ:
	case OP_UNBIND:
	case OP_ABANDON:
		o = op_new(s, st, id, tag);
		break;
	default:
		break;
	}

	switch (tag) {
	case OP_BIND_REQ:
		ok = op.constructed && bind_request(s, st, o, id, v);
		break;
	case OP_SEARCH_REQ:
		ok = op.constructed && search_request(s, o, v);
		break;
	case OP_MODIFY_REQ:
	case OP_ADD_REQ: {
		struct reader dn, list;
		ok = op.constructed && read_str(&v, &dn) &&
		     ber_expect(&v, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &list);
		if (ok && o)
			str_set(s, &o->dn, dn, LDAP_DN_MAX);
		ok = ok && attribute_list(s, o, list, tag == OP_MODIFY_REQ);
		break;
	}
	case OP_DEL_REQ:
		ok = !op.constructed;
		if (ok && o)
			str_set(s, &o->dn, v, LDAP_DN_MAX);
		break;
	case OP_MODDN_REQ: {
		struct reader dn, rdn;
		ok = op.constructed && read_str(&v, &dn) && read_str(&v, &rdn);
		if (ok && o) {
			str_set(s, &o->dn, dn, LDAP_DN_MAX);
			str_set(s, &o->new_rdn, rdn, LDAP_DN_MAX);
		}
		break;
	}
	case OP_COMPARE_REQ: {
		struct reader dn, ava, type;
		ok = op.constructed && read_str(&v, &dn) &&
		     ber_expect(&v, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &ava) &&
		     read_str(&ava, &type);
		if (ok && o) {
			str_set(s, &o->dn, dn, LDAP_DN_MAX);
			attr_add(s, o, type);
		}
		break;
	}
	case OP_ABANDON: {
		int64_t a;
		ok = !op.constructed && ber_int64(v, &a);
		if (ok && o) {
			o->has_abandon = true;
			o->abandon_id = a;
		}
		break;
	}
	case OP_UNBIND:
		break;
	case OP_EXT_REQ:
		ok = op.constructed && ext_request(s, st, o, id, v);
		break;
	default:
		ok = op.constructed && response(s, st, id, tag, v);
		break;
	}
	if (!ok) {
		st->malformed++;
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "ldap.malformed");
	}
}

/* ---- SASL security layer ---- */

/* The LDAP messages of a plaintext span; false (nothing read) unless it is
 * a sequence of whole elements that each look like an LDAPMessage. */
static bool plain_messages(struct session *s, struct ldap_state *st, enum direction dir,
                           struct reader p)
{
	struct reader check = p;
	if (!rd_remaining(&check))
		return false;
	while (rd_remaining(&check)) {
		struct ber_tlv t;
		if (!ber_next(&check, &t) ||
		    !ber_is(&t, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE))
			return false;
	}
	while (rd_remaining(&p)) {
		struct reader before = p;
		struct ber_tlv t;
		(void)ber_next(&p, &t);
		ldap_message(s, st, dir, rd_sub(&before, rd_offset(&p) - rd_offset(&before)));
	}
	return true;
}

/* A wrapped message (4-byte length, GSS token) whose security layer gives
 * integrity only carries the LDAP message in clear: a Kerberos wrap token
 * (RFC 4121 4.2.6.2, TOK_ID 05 04) without the Sealed flag, whose
 * plaintext and checksum may be rotated right by RRC bytes; or an NTLM
 * signature (version 1, 16 bytes) in front of the message.  Sealed tokens
 * are only counted. */
static void sasl_unwrap(struct session *s, struct ldap_state *st, enum direction dir,
                        struct reader pdu)
{
	rd_skip(&pdu, 4);
	struct reader tok = pdu;
	if (rd_starts_with(&tok, "\x05\x04", 2)) {
		rd_skip(&tok, 2);
		uint8_t flags = rd_u8(&tok);
		rd_skip(&tok, 1);
		uint16_t ec = rd_be16(&tok);
		uint16_t rrc = rd_be16(&tok);
		rd_skip(&tok, 8);
		if (!rd_ok(&tok) || (flags & 0x02))
			return;
		size_t n = rd_remaining(&tok);
		if (ec > n)
			return;
		struct reader plain;
		if (rrc == 0) {
			plain = rd_sub(&tok, n - ec);
		} else if (rrc == ec) {
			rd_skip(&tok, ec);
			plain = rd_rest(&tok);
		} else {
			session_count(s, "ldap.sasl_rotation_unsupported");
			return;
		}
		if (plain_messages(s, st, dir, plain))
			st->sasl_integrity++;
		return;
	}
	if (rd_starts_with(&tok, "\x01\x00\x00\x00", 4)) {
		rd_skip(&tok, 16);
		if (rd_ok(&tok) && plain_messages(s, st, dir, rd_rest(&tok)))
			st->sasl_integrity++;
	}
}

/* ---- framing ---- */

/* The length of the next TCP PDU: an LDAPMessage (a SEQUENCE with a
 * definite length of at most 4 octets), or after a SASL bind a wrapped
 * message (a 4-byte big-endian length). */
static long ldap_pdu_length(struct reader h, void *arg)
{
	const struct ldap_state *st = arg;
	int b0 = rd_peek(&h, 0);
	if (b0 < 0)
		return 0;
	if (b0 == 0x30) {
		int b1 = rd_peek(&h, 1);
		if (b1 < 0)
			return 0;
		if (b1 < 0x80)
			return 2 + b1;
		size_t n = (size_t)(b1 & 0x7f);
		if (n == 0 || n > 4)
			return -1;
		if (!rd_has(&h, 2 + n))
			return 0;
		uint64_t len = 0;
		for (size_t i = 0; i < n; i++)
			len = len << 8 | (uint64_t)rd_peek(&h, 2 + i);
		if (len > 0x7fffff00u)
			len = 0x7fffff00u;
		return (long)(2 + n + len);
	}
	if (b0 == 0x00 && st->sasl_seen) {
		if (!rd_has(&h, 4))
			return 0;
		uint32_t len = rd_be32(&h);
		if (len > 0x7fffff00u)
			len = 0x7fffff00u;
		return (long)(4 + (long)len);
	}
	return -1;
}

/* Offset of what looks like the start of an LDAPMessage: SEQUENCE, a
 * length, an INTEGER message id of 1 to 4 octets, an operation tag.  -1
 * when there is none. */
static long find_message(struct reader r)
{
	size_t n = rd_remaining(&r);
	const uint8_t *p = rd_take(&r, n);
	for (size_t i = 0; p && i + 6 <= n; i++) {
		if (p[i] != 0x30)
			continue;
		size_t at = i + 1;
		if (p[at] & 0x80) {
			size_t k = p[at] & 0x7f;
			if (k == 0 || k > 4)
				continue;
			at += k;
		}
		at++;
		if (at + 3 > n || p[at] != 0x02 || p[at + 1] == 0 || p[at + 1] > 4)
			continue;
		at += 2 + p[at + 1];
		if (at >= n)
			continue;
		uint8_t t = p[at];
		if ((t & 0xc0) == 0x40 && op_name(t & 0x1f))
			return (long)i;
	}
	return -1;
}

static size_t ldap_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct ldap_state *st = state;
	if (!st->started) {
		st->started = true;
		st->udp = !session_is_tcp(s);
	}
	if (st->encrypted) {
		st->encrypted_bytes[dir] += rd_remaining(&r);
		return rd_remaining(&r);
	}
	if (st->handed)
		return 0;
	if (st->udp) {
		while (rd_remaining(&r)) {
			struct reader before = r;
			struct ber_tlv t;
			if (!ber_next(&r, &t)) {
				st->malformed++;
				session_alert(s, ALERT_MALFORMED);
				session_count(s, "ldap.malformed");
				break;
			}
			struct reader m = rd_sub(&before, rd_offset(&r) - rd_offset(&before));
			ldap_message(s, st, dir, m);
		}
		return rd_length(&r);
	}

	struct pdu_state *ps = &st->pdu[dir];
	if (!ps->max_pdu)
		ps->max_pdu = LDAP_MAX_MESSAGE;
	for (;;) {
		if (st->resync[dir]) {
			long at = find_message(r);
			if (at < 0) {
				size_t n = rd_remaining(&r);
				if (n > LDAP_RESYNC_KEEP)
					rd_skip(&r, n - LDAP_RESYNC_KEEP);
				break;
			}
			rd_skip(&r, (size_t)at);
			st->resync[dir] = false;
		}
		struct reader pdu;
		uint64_t big = ps->too_big;
		enum frame_result fr = pdu_next(ps, &r, ldap_pdu_length, st, &pdu);
		if (ps->too_big != big) {
			st->too_big++;
			session_count(s, "ldap.message_too_big");
		}
		if (fr == FRAME_OK) {
			if (rd_peek(&pdu, 0) == 0x00) {
				st->sasl_wrapped++;
				st->sasl_wrapped_bytes += rd_remaining(&pdu);
				sasl_unwrap(s, st, dir, pdu);
			} else {
				ldap_message(s, st, dir, pdu);
			}
			if (st->handed || st->encrypted)
				break;
			continue;
		}
		if (fr == FRAME_ERROR) {
			st->malformed++;
			session_alert(s, ALERT_MALFORMED);
			session_count(s, "ldap.out_of_sync");
			st->resync[dir] = true;
			rd_skip(&r, 1);
			continue;
		}
		if (fr == FRAME_TOO_BIG)
			continue;
		break; /* NEED_MORE */
	}
	size_t used = rd_offset(&r);
	if (st->encrypted) { /* no TLS dissector: the rest is encrypted */
		st->encrypted_bytes[dir] += rd_remaining(&r);
		used = rd_length(&r);
	}
	return used;
}

static void ldap_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct ldap_state *st = state;
	(void)s;
	st->gaps++;
	if (!pdu_gap(&st->pdu[dir], missing)) {
		memset(&st->pdu[dir], 0, sizeof st->pdu[dir]);
		st->resync[dir] = true;
	}
}

/* ---- probe ---- */

static enum verdict ldap_probe(struct reader r, enum direction dir)
{
	(void)dir;
	int b0 = rd_peek(&r, 0);
	if (b0 < 0)
		return VERDICT_NEED_MORE;
	if (b0 != 0x30)
		return VERDICT_NO;
	struct reader h = r;
	rd_skip(&h, 1);
	int l = rd_peek(&h, 0);
	if (l < 0)
		return VERDICT_NEED_MORE;
	if (l == 0x80 || l > 0x84)
		return VERDICT_NO;
	rd_skip(&h, 1 + (l & 0x80 ? (size_t)(l & 0x7f) : 0));
	if (!rd_has(&h, 2))
		return VERDICT_NEED_MORE;
	if (rd_u8(&h) != 0x02)
		return VERDICT_NO;
	int idlen = rd_u8(&h);
	if (idlen < 1 || idlen > 4)
		return VERDICT_NO;
	rd_skip(&h, (size_t)idlen);
	int t = rd_peek(&h, 0);
	if (t < 0)
		return VERDICT_NEED_MORE;
	if ((t & 0xc0) != 0x40 || !op_name((unsigned)t & 0x1f))
		return VERDICT_NO;
	/* when the whole message is here it must parse as BER */
	struct reader m = r;
	struct ber_tlv e;
	if (ber_next(&m, &e)) {
		struct reader b = e.value;
		struct ber_tlv x;
		if (!ber_next(&b, &x) || !ber_next(&b, &x) || x.cls != BER_CLASS_APPLICATION)
			return VERDICT_NO;
		return VERDICT_YES;
	}
	/* longer than what is here: yes once the operation's own header reads */
	struct reader op = h;
	rd_skip(&op, 1);
	int ol = rd_peek(&op, 0);
	if (ol < 0)
		return VERDICT_NEED_MORE;
	return (ol == 0x80 || ol > 0x84) ? VERDICT_NO : VERDICT_YES;
}

/* ---- output ---- */

static void emit_wire(struct emitter *e, const char *key, const struct wire_str *w)
{
	if (w->p)
		emit_strn(e, key, w->p, w->len);
}

static void emit_op(const struct ldap_op *o, struct emitter *e)
{
	emit_object_begin(e, NULL);
	emit_int(e, "id", o->id);
	emit_str(e, "op", op_name(o->op));
	emit_wire(e, "dn", &o->dn);
	if (o->op != OP_UNBIND && o->op != OP_ABANDON && o->op != OP_SEARCH_ENTRY &&
	    o->op != OP_SEARCH_REF && o->op != OP_INTERMEDIATE) {
		const char *rn =
		    o->has_result ? value_name_lookup(result_names, (unsigned)o->result) : NULL;
		if (!o->has_result)
			emit_null(e, "result");
		else if (rn && o->result >= 0)
			emit_str(e, "result", rn);
		else
			emit_int(e, "result", o->result);
	}
	emit_wire(e, "diagnostic", &o->diagnostic);
	if (o->has_version)
		emit_int(e, "version", o->version);
	if (o->has_method) {
		const char *m = value_name_lookup(auth_names, o->method);
		if (m)
			emit_str(e, "method", m);
		else
			emit_int(e, "method", o->method);
	}
	if (o->op == OP_BIND_REQ && o->has_method && o->method == 0)
		emit_bool(e, "anonymous", o->anonymous);
	emit_wire(e, "mechanism", &o->mechanism);
	emit_wire(e, "user", &o->user);
	emit_wire(e, "password", &o->password);
	if (o->has_scope)
		emit_str(e, "scope", scope_names[o->scope]);
	emit_wire(e, "filter", &o->filter);
	if (o->filter_cut)
		emit_bool(e, "filter_truncated", true);
	if (o->n_attrs || o->attrs_truncated) {
		emit_array_begin(e, "attributes");
		for (unsigned i = 0; i < o->n_attrs; i++)
			emit_strn(e, NULL, o->attrs[i].p, o->attrs[i].len);
		emit_array_end(e);
		if (o->attrs_truncated)
			emit_int(e, "attributes_truncated", o->attrs_truncated);
	}
	if (o->op == OP_SEARCH_REQ || o->entries)
		emit_int(e, "entries", o->entries);
	if (o->references)
		emit_int(e, "references", o->references);
	emit_wire(e, "new_rdn", &o->new_rdn);
	if (o->has_abandon)
		emit_int(e, "abandon_id", o->abandon_id);
	if (o->oid.p) {
		emit_strn(e, "oid", o->oid.p, o->oid.len);
		for (unsigned i = 0; ext_names[i].name; i++)
			if (strlen(ext_names[i].name) == o->oid.len &&
			    memcmp(ext_names[i].name, o->oid.p, o->oid.len) == 0)
				emit_str(e, "extended", ext_labels[i]);
	}
	emit_object_end(e);
}

static void ldap_emit(const void *state, struct emitter *e)
{
	const struct ldap_state *st = state;
	emit_array_begin(e, "ops");
	for (unsigned i = 0; i < st->n_ops; i++)
		emit_op(&st->ops[i], e);
	emit_array_end(e);
	if (st->ops_truncated)
		emit_int(e, "truncated", st->ops_truncated);
	emit_object_begin(e, "messages");
	emit_int(e, "client", (int64_t)st->messages[DIR_CLIENT]);
	emit_int(e, "server", (int64_t)st->messages[DIR_SERVER]);
	emit_object_end(e);
	emit_wire(e, "sasl_mechanism", &st->sasl_mechanism);
	if (st->sasl_wrapped) {
		emit_bool(e, "sasl_wrapped", true);
		emit_int(e, "sasl_wrapped_messages", (int64_t)st->sasl_wrapped);
		emit_int(e, "sasl_wrapped_bytes", (int64_t)st->sasl_wrapped_bytes);
		if (st->sasl_integrity)
			emit_int(e, "sasl_integrity_only", (int64_t)st->sasl_integrity);
	}
	emit_bool(e, "starttls", st->starttls);
	if (st->encrypted) {
		emit_object_begin(e, "encrypted_bytes");
		emit_int(e, "client", (int64_t)st->encrypted_bytes[DIR_CLIENT]);
		emit_int(e, "server", (int64_t)st->encrypted_bytes[DIR_SERVER]);
		emit_object_end(e);
	}
	if (st->malformed)
		emit_int(e, "malformed", st->malformed);
	if (st->too_big)
		emit_int(e, "too_big", st->too_big);
	if (st->gaps)
		emit_bool(e, "gap", true);
}

static void ldap_summarize(const void *state, char *buf, size_t n)
{
	const struct ldap_state *st = state;
	struct summary sm = summary_start(buf, n);
	unsigned shown = st->n_ops < 3 ? st->n_ops : 3;
	for (unsigned i = 0; i < shown; i++) {
		const struct ldap_op *o = &st->ops[i];
		if (i)
			summary_add(&sm, "; ");
		summary_add(&sm, op_name(o->op));
		if (o->dn.p && o->dn.len) {
			summary_add(&sm, " ");
			summary_add_wire(&sm, o->dn.p, o->dn.len > 64 ? 64 : o->dn.len);
		}
		if (o->has_result) {
			const char *rn = value_name_lookup(result_names, (unsigned)o->result);
			if (rn && o->result >= 0)
				summary_addf(&sm, " -> %s", rn);
			else
				summary_addf(&sm, " -> %lld", (long long)o->result);
		}
	}
	if (st->n_ops + st->ops_truncated > shown)
		summary_addf(&sm, " (+%u)", st->n_ops + st->ops_truncated - shown);
	if (st->sasl_wrapped)
		summary_addf(&sm, " sasl-wrapped x%llu", (unsigned long long)st->sasl_wrapped);
	if (st->starttls)
		summary_add(&sm, " STARTTLS");
}

static const char *ldap_protocol_name(const void *state)
{
	const struct ldap_state *st = state;
	return st->udp ? "cldap" : "ldap";
}

static void ldap_release(void *state)
{
	struct ldap_state *st = state;
	for (unsigned i = 0; i < st->n_ops; i++)
		op_free(&st->ops[i]);
	free(st->ops);
	st->ops = NULL;
	st->n_ops = st->ops_cap = 0;
	wire_str_free(&st->sasl_mechanism);
}

static const uint16_t ldap_ports[] = {389, 3268, 0};

const struct dissector ldap_dissector = {
    .name = "ldap",
    .transports = TRANSPORT_BIT_TCP | TRANSPORT_BIT_UDP,
    .ports = ldap_ports,
    .state_size = sizeof(struct ldap_state),
    .probe = ldap_probe,
    .on_data = ldap_on_data,
    .on_gap = ldap_on_gap,
    .emit = ldap_emit,
    .summarize = ldap_summarize,
    .protocol_name = ldap_protocol_name,
    .release = ldap_release,
};
