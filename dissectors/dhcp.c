/* DHCP (RFC 2131, options RFC 2132) and plain BOOTP (RFC 951) on UDP 67/68.
 *
 * Every datagram is one message: the fixed BOOTP header (op, xid, client
 * hardware address, ciaddr/yiaddr/siaddr/giaddr, sname, file), then, after
 * the magic cookie, the options.  Options are read as instances first (code,
 * length, bytes), from the options field and, when option 52 says so, from
 * the file and then the sname field (RFC 2131 4.1); all instances of one
 * code are then concatenated (RFC 3396), so a long option split in pieces,
 * even across fields, reads as one.  A message without option 53 is plain
 * BOOTP and named "BOOTREQUEST" / "BOOTREPLY".
 *
 * A flow keeps its messages (the session record's "dhcp" object).  A DHCP
 * exchange, though, crosses flows: the client asks from 0.0.0.0:68 to
 * 255.255.255.255:67 and the server answers from its own address, perhaps
 * to a broadcast.  So each message also goes to the run's exchange table
 * (session_exchange, portolan/exchange.h) under its xid and client hardware
 * address, and each exchange becomes one "type": "dhcp" record with all its
 * messages in order, written when the exchange ends (ACK, NAK, DECLINE,
 * RELEASE, a lease-query answer, a BOOTREPLY), after DHCP_EXCHANGE_IDLE of
 * packet time without a message, or at the end of the run.
 *
 * Everything that grows is capped: DHCP_MAX_MESSAGES per flow,
 * DHCP_EXCHANGE_MAX_MESSAGES per exchange, DHCP_MAX_INSTANCES option
 * instances per message, DHCP_MAX_PARAMS requested options, DHCP_MAX_ADDRS
 * routers or DNS servers, DHCP_TEXT_MAX bytes of any text kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/summary.h"

#define DHCP_MAX_MESSAGES 64
#define DHCP_EXCHANGE_MAX_MESSAGES 16
#define DHCP_MAX_INSTANCES 256
#define DHCP_MAX_PARAMS 64
#define DHCP_MAX_ADDRS 8
#define DHCP_TEXT_MAX 64
/* Bytes of one option's concatenated value that are looked at. */
#define DHCP_OPTION_MAX 1024

#define DHCP_EXCHANGE_IDLE (60 * USEC_PER_SEC)
/* An ended exchange is written this much packet time later, so duplicated
 * or retransmitted answers still join it. */
#define DHCP_EXCHANGE_LINGER (2 * USEC_PER_SEC)

#define BOOTP_FIXED_LEN 236 /* op .. file */
#define BOOTP_MIN_LEN 300   /* RFC 951: with the 64-byte vendor area */
#define DHCP_MAGIC 0x63825363u
#define CHADDR_LEN 16

enum {
	OPT_PAD = 0,
	OPT_SUBNET_MASK = 1,
	OPT_ROUTER = 3,
	OPT_DNS = 6,
	OPT_HOSTNAME = 12,
	OPT_DOMAIN = 15,
	OPT_REQUESTED_IP = 50,
	OPT_LEASE_TIME = 51,
	OPT_OVERLOAD = 52,
	OPT_MESSAGE_TYPE = 53,
	OPT_SERVER_ID = 54,
	OPT_PARAMS = 55,
	OPT_MESSAGE = 56,
	OPT_VENDOR_CLASS = 60,
	OPT_CLIENT_ID = 61,
	OPT_CLIENT_FQDN = 81,
	OPT_RELAY_AGENT = 82,
	OPT_END = 255,
};

enum {
	DHCPDISCOVER = 1,
	DHCPOFFER,
	DHCPREQUEST,
	DHCPDECLINE,
	DHCPACK,
	DHCPNAK,
	DHCPRELEASE,
	DHCPINFORM,
	DHCPFORCERENEW,
	DHCPLEASEQUERY,
	DHCPLEASEUNASSIGNED,
	DHCPLEASEUNKNOWN,
	DHCPLEASEACTIVE,
	DHCPBULKLEASEQUERY,
	DHCPLEASEQUERYDONE,
};

static const struct value_name message_types[] = {
    {DHCPDISCOVER, "DISCOVER"},
    {DHCPOFFER, "OFFER"},
    {DHCPREQUEST, "REQUEST"},
    {DHCPDECLINE, "DECLINE"},
    {DHCPACK, "ACK"},
    {DHCPNAK, "NAK"},
    {DHCPRELEASE, "RELEASE"},
    {DHCPINFORM, "INFORM"},
    {DHCPFORCERENEW, "FORCERENEW"},           /* RFC 3203 */
    {DHCPLEASEQUERY, "LEASEQUERY"},           /* RFC 4388 */
    {DHCPLEASEUNASSIGNED, "LEASEUNASSIGNED"}, /* RFC 4388 */
    {DHCPLEASEUNKNOWN, "LEASEUNKNOWN"},       /* RFC 4388 */
    {DHCPLEASEACTIVE, "LEASEACTIVE"},         /* RFC 4388 */
    {DHCPBULKLEASEQUERY, "BULKLEASEQUERY"},   /* RFC 6926 */
    {DHCPLEASEQUERYDONE, "LEASEQUERYDONE"},   /* RFC 6926 */
    {16, "ACTIVELEASEQUERY"},                 /* RFC 7724 */
    {17, "LEASEQUERYSTATUS"},                 /* RFC 7724 */
    {18, "TLS"},                              /* RFC 7724 */
    {0, NULL},
};

/* Names of the options a client commonly asks for (option 55). */
static const struct value_name option_names[] = {
    {1, "subnet-mask"},
    {2, "time-offset"},
    {3, "router"},
    {4, "time-server"},
    {5, "name-server"},
    {6, "domain-name-server"},
    {7, "log-server"},
    {12, "hostname"},
    {15, "domain-name"},
    {17, "root-path"},
    {23, "default-ip-ttl"},
    {26, "interface-mtu"},
    {28, "broadcast-address"},
    {31, "router-discovery"},
    {33, "static-route"},
    {40, "nis-domain"},
    {41, "nis-servers"},
    {42, "ntp-servers"},
    {43, "vendor-specific"},
    {44, "netbios-name-server"},
    {45, "netbios-dd-server"},
    {46, "netbios-node-type"},
    {47, "netbios-scope"},
    {50, "requested-ip"},
    {51, "lease-time"},
    {53, "message-type"},
    {54, "server-id"},
    {57, "max-message-size"},
    {58, "renewal-time"},
    {59, "rebinding-time"},
    {60, "vendor-class"},
    {61, "client-id"},
    {66, "tftp-server-name"},
    {67, "bootfile-name"},
    {69, "smtp-server"},
    {70, "pop3-server"},
    {72, "www-server"},
    {81, "client-fqdn"},
    {82, "relay-agent"},
    {95, "ldap"},
    {100, "posix-timezone"},
    {101, "tzdb-timezone"},
    {108, "ipv6-only-preferred"},
    {114, "captive-portal"},
    {119, "domain-search"},
    {120, "sip-servers"},
    {121, "classless-static-route"},
    {125, "vendor-identifying-specific"},
    {150, "tftp-server-address"},
    {249, "ms-classless-static-route"},
    {252, "wpad"},
    {0, NULL},
};

/* Raw wire bytes, capped (the emitter escapes them). */
struct dhcp_text {
	uint8_t len;
	char s[DHCP_TEXT_MAX];
};

enum {
	HAS_REQUESTED_IP = 1u << 0,
	HAS_SERVER_ID = 1u << 1,
	HAS_LEASE_TIME = 1u << 2,
	HAS_SUBNET_MASK = 1u << 3,
	HAS_FQDN = 1u << 4,
	HAS_RELAY = 1u << 5,
	HAS_PARAMS = 1u << 6,
	HAS_COOKIE = 1u << 7,
};

struct dhcp_msg {
	/* where and when (the exchange record shows them) */
	usec_t ts;
	struct ip_addr src, dst;
	uint16_t src_port, dst_port;
	char uid[24];
	/* the BOOTP header */
	uint32_t xid, ciaddr, yiaddr, siaddr, giaddr;
	uint8_t op, htype, hlen;
	uint8_t chaddr[CHADDR_LEN];
	/* options */
	uint8_t type; /* option 53; 0: none (plain BOOTP) */
	uint8_t overload;
	uint8_t fqdn_flags;
	uint8_t n_params, n_routers, n_dns;
	uint16_t has;
	bool malformed;
	uint32_t requested_ip, server_id, lease_time, subnet_mask;
	uint8_t params[DHCP_MAX_PARAMS];
	uint32_t routers[DHCP_MAX_ADDRS], dns[DHCP_MAX_ADDRS];
	struct dhcp_text hostname, vendor_class, domain, message, fqdn, client_id;
	struct dhcp_text circuit_id, remote_id, subscriber_id;
	struct dhcp_text sname, file; /* when not carrying options */
};

/* Messages grown on demand up to a cap. */
struct dhcp_list {
	struct dhcp_msg *m;
	uint16_t n, alloc;
	uint32_t truncated;
};

struct dhcp_state {
	struct dhcp_list msgs;
};

/* One exchange across flows (the "type": "dhcp" record). */
struct dhcp_exchange {
	struct dhcp_list msgs;
};

static const uint16_t dhcp_ports[] = {67, 68, 0};

/* ---- small helpers ---- */

static void text_set(struct dhcp_text *t, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n && b[n - 1] == 0) /* a C string's terminator is no part of it */
		n--;
	if (n > sizeof t->s)
		n = sizeof t->s;
	memcpy(t->s, b, n);
	t->len = (uint8_t)n;
}

static bool printable(const uint8_t *p, size_t n)
{
	while (n && p[n - 1] == 0)
		n--;
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
	return true;
}

/* Hex with colons ("01:00:1f:29"), as many bytes as fit. */
static void text_hex(struct dhcp_text *t, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t len = 0;
	for (size_t i = 0; i < n && len + (i ? 3 : 2) <= sizeof t->s; i++) {
		if (i)
			t->s[len++] = ':';
		t->s[len++] = digits[p[i] >> 4];
		t->s[len++] = digits[p[i] & 15];
	}
	t->len = (uint8_t)len;
}

/* An identifier: as text when it is text, else hex. */
static void text_id(struct dhcp_text *t, const uint8_t *p, size_t n)
{
	if (printable(p, n))
		text_set(t, p, n);
	else
		text_hex(t, p, n);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void format_ip4(uint32_t v, char *buf, size_t n)
{
	snprintf(buf, n, "%u.%u.%u.%u", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

static void emit_ip4(struct emitter *e, const char *key, uint32_t v)
{
	char buf[16];
	format_ip4(v, buf, sizeof buf);
	emit_str(e, key, buf);
}

static void emit_text(struct emitter *e, const char *key, const struct dhcp_text *t)
{
	emit_strn(e, key, t->s, t->len);
}

/* The client hardware address: a MAC for Ethernet, else hex; "" for none. */
static void format_chaddr(const struct dhcp_msg *m, char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < m->hlen && i < CHADDR_LEN && len + 4 <= n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%02x", i ? ":" : "", m->chaddr[i]);
}
#define CHADDR_STRLEN (CHADDR_LEN * 3)

static const char *type_name(const struct dhcp_msg *m, char *buf, size_t n)
{
	if (!m->type)
		return m->op == 2 ? "BOOTREPLY" : "BOOTREQUEST";
	const char *name = value_name_lookup(message_types, m->type);
	if (name)
		return name;
	snprintf(buf, n, "%u", m->type);
	return buf;
}

static struct dhcp_msg *list_push(struct dhcp_list *l, unsigned cap)
{
	if (l->n >= cap) {
		l->truncated++;
		return NULL;
	}
	if (l->n == l->alloc) {
		unsigned na = l->alloc ? l->alloc * 2u : 2u;
		if (na > cap)
			na = cap;
		struct dhcp_msg *nm = realloc(l->m, na * sizeof *nm);
		if (!nm) {
			l->truncated++;
			return NULL;
		}
		l->m = nm;
		l->alloc = (uint16_t)na;
	}
	return &l->m[l->n++];
}

static void list_free(struct dhcp_list *l)
{
	free(l->m);
	memset(l, 0, sizeof *l);
}

/* ---- options ---- */

struct opt_instance {
	const uint8_t *p;
	uint8_t code, len;
};

struct opt_set {
	struct opt_instance v[DHCP_MAX_INSTANCES];
	unsigned n;
	bool malformed, too_many;
};

/* Reads the option instances of one field (the options, file or sname):
 * pads skipped, to End or the end of the field.  A length past the end of
 * the field is malformed. */
static void read_options(struct opt_set *o, struct reader r)
{
	while (rd_remaining(&r)) {
		uint8_t code = rd_u8(&r);
		if (code == OPT_PAD)
			continue;
		if (code == OPT_END)
			return;
		uint8_t len = rd_u8(&r);
		const uint8_t *p = rd_take(&r, len);
		if (!rd_ok(&r)) {
			o->malformed = true;
			return;
		}
		if (o->n == DHCP_MAX_INSTANCES) {
			o->too_many = true;
			return;
		}
		o->v[o->n++] = (struct opt_instance){p, code, len};
	}
}

/* Every instance of code, concatenated (RFC 3396), at most cap bytes;
 * returns the length, -1 when the option is absent. */
static long option_value(const struct opt_set *o, uint8_t code, uint8_t *buf, size_t cap)
{
	long total = -1;
	size_t len = 0;
	for (unsigned i = 0; i < o->n; i++) {
		if (o->v[i].code != code)
			continue;
		size_t n = o->v[i].len;
		if (n > cap - len)
			n = cap - len;
		if (n)
			memcpy(buf + len, o->v[i].p, n);
		len += n;
		total = (long)len;
	}
	return total;
}

/* An option that must be one 4-byte value (an address, a time). */
static bool option_u32(const struct opt_set *o, uint8_t code, uint32_t *v, bool *malformed)
{
	uint8_t buf[8];
	long n = option_value(o, code, buf, sizeof buf);
	if (n < 0)
		return false;
	if (n != 4) {
		*malformed = true;
		return false;
	}
	*v = be32(buf);
	return true;
}

static void option_addrs(const struct opt_set *o, uint8_t code, uint32_t *out, uint8_t *count,
                         bool *malformed)
{
	uint8_t buf[DHCP_OPTION_MAX];
	long n = option_value(o, code, buf, sizeof buf);
	if (n < 0)
		return;
	if (n == 0 || n % 4)
		*malformed = true;
	for (long i = 0; i + 4 <= n && *count < DHCP_MAX_ADDRS; i += 4)
		out[(*count)++] = be32(buf + i);
}

/* Client FQDN (RFC 4702): flags, two obsolete rcodes, then the name, in
 * DNS wire format when the E flag is set, else ASCII. */
static void option_fqdn(struct dhcp_msg *m, const uint8_t *p, size_t n)
{
	if (n < 3) {
		m->malformed = true;
		return;
	}
	m->has |= HAS_FQDN;
	m->fqdn_flags = p[0];
	struct reader r = rd_init(p + 3, n - 3);
	if (!(p[0] & 0x04)) {
		text_set(&m->fqdn, p + 3, n - 3);
		return;
	}
	char name[DHCP_TEXT_MAX];
	size_t len = 0;
	while (rd_remaining(&r)) {
		uint8_t l = rd_u8(&r);
		if (l == 0)
			break;
		const uint8_t *label = l <= 63 ? rd_take(&r, l) : NULL;
		if (!label) { /* a compression pointer or a label past the end */
			m->malformed = true;
			break;
		}
		if (len && len < sizeof name)
			name[len++] = '.';
		for (size_t i = 0; i < l && len < sizeof name; i++)
			name[len++] = (char)label[i];
	}
	text_set(&m->fqdn, name, len);
}

/* Relay agent information (RFC 3046): sub-options 1 circuit id, 2 remote
 * id, 6 subscriber id (RFC 3993). */
static void option_relay(struct dhcp_msg *m, const uint8_t *p, size_t n)
{
	struct reader r = rd_init(p, n);
	m->has |= HAS_RELAY;
	while (rd_remaining(&r)) {
		uint8_t code = rd_u8(&r);
		uint8_t len = rd_u8(&r);
		const uint8_t *v = rd_take(&r, len);
		if (!rd_ok(&r)) {
			m->malformed = true;
			return;
		}
		if (code == 1)
			text_id(&m->circuit_id, v, len);
		else if (code == 2)
			text_id(&m->remote_id, v, len);
		else if (code == 6)
			text_id(&m->subscriber_id, v, len);
	}
}

/* Client identifier (RFC 2132 9.14): type 1 with six bytes is a MAC. */
static void option_client_id(struct dhcp_msg *m, const uint8_t *p, size_t n)
{
	if (n < 2) {
		m->malformed = true;
		return;
	}
	if (p[0] == 1 && n == 7) {
		text_hex(&m->client_id, p + 1, 6);
		return;
	}
	if (p[0] == 0 && printable(p + 1, n - 1)) {
		text_set(&m->client_id, p + 1, n - 1);
		return;
	}
	text_hex(&m->client_id, p, n);
}

static void read_message_options(struct session *s, struct dhcp_msg *m, struct reader opts,
                                 const uint8_t *sname, const uint8_t *file)
{
	struct opt_set o; /* 4 KiB of instances */
	uint8_t buf[DHCP_OPTION_MAX];
	long n;

	memset(&o, 0, sizeof o);
	read_options(&o, opts);
	/* option 52 lives in the options field: file first, then sname */
	n = option_value(&o, OPT_OVERLOAD, buf, sizeof buf);
	if (n >= 0) {
		if (n != 1 || buf[0] < 1 || buf[0] > 3)
			m->malformed = true;
		else
			m->overload = buf[0];
	}
	if (m->overload & 1)
		read_options(&o, rd_init(file, 128));
	if (m->overload & 2)
		read_options(&o, rd_init(sname, 64));
	if (o.malformed)
		m->malformed = true;
	if (o.too_many)
		session_count(s, "dhcp.too_many_options");

	n = option_value(&o, OPT_MESSAGE_TYPE, buf, sizeof buf);
	if (n == 1 && buf[0])
		m->type = buf[0];
	else if (n >= 0)
		m->malformed = true;
	if (option_u32(&o, OPT_REQUESTED_IP, &m->requested_ip, &m->malformed))
		m->has |= HAS_REQUESTED_IP;
	if (option_u32(&o, OPT_SERVER_ID, &m->server_id, &m->malformed))
		m->has |= HAS_SERVER_ID;
	if (option_u32(&o, OPT_LEASE_TIME, &m->lease_time, &m->malformed))
		m->has |= HAS_LEASE_TIME;
	if (option_u32(&o, OPT_SUBNET_MASK, &m->subnet_mask, &m->malformed))
		m->has |= HAS_SUBNET_MASK;
	option_addrs(&o, OPT_ROUTER, m->routers, &m->n_routers, &m->malformed);
	option_addrs(&o, OPT_DNS, m->dns, &m->n_dns, &m->malformed);
	if ((n = option_value(&o, OPT_HOSTNAME, buf, sizeof buf)) >= 0)
		text_set(&m->hostname, buf, (size_t)n);
	if ((n = option_value(&o, OPT_DOMAIN, buf, sizeof buf)) >= 0)
		text_set(&m->domain, buf, (size_t)n);
	if ((n = option_value(&o, OPT_MESSAGE, buf, sizeof buf)) >= 0)
		text_set(&m->message, buf, (size_t)n);
	if ((n = option_value(&o, OPT_VENDOR_CLASS, buf, sizeof buf)) >= 0)
		text_set(&m->vendor_class, buf, (size_t)n);
	if ((n = option_value(&o, OPT_CLIENT_ID, buf, sizeof buf)) >= 0)
		option_client_id(m, buf, (size_t)n);
	if ((n = option_value(&o, OPT_CLIENT_FQDN, buf, sizeof buf)) >= 0)
		option_fqdn(m, buf, (size_t)n);
	if ((n = option_value(&o, OPT_RELAY_AGENT, buf, sizeof buf)) >= 0)
		option_relay(m, buf, (size_t)n);
	if ((n = option_value(&o, OPT_PARAMS, buf, sizeof buf)) >= 0) {
		m->has |= HAS_PARAMS;
		for (long i = 0; i < n; i++) {
			if (m->n_params == DHCP_MAX_PARAMS) {
				session_count(s, "dhcp.too_many_params");
				break;
			}
			m->params[m->n_params++] = buf[i];
		}
	}
}

/* Parses one datagram into m.  False when not even the BOOTP header is
 * there (nothing worth keeping). */
static bool parse_message(struct session *s, struct dhcp_msg *m, struct reader r)
{
	memset(m, 0, sizeof *m);
	m->op = rd_u8(&r);
	m->htype = rd_u8(&r);
	m->hlen = rd_u8(&r);
	rd_skip(&r, 1); /* hops */
	m->xid = rd_be32(&r);
	rd_skip(&r, 4); /* secs, flags */
	m->ciaddr = rd_be32(&r);
	m->yiaddr = rd_be32(&r);
	m->siaddr = rd_be32(&r);
	m->giaddr = rd_be32(&r);
	rd_copy(&r, m->chaddr, CHADDR_LEN);
	const uint8_t *sname = rd_take(&r, 64);
	const uint8_t *file = rd_take(&r, 128);
	if (!rd_ok(&r))
		return false;
	if ((m->op != 1 && m->op != 2) || m->hlen > CHADDR_LEN)
		m->malformed = true;
	if (m->hlen > CHADDR_LEN)
		m->hlen = CHADDR_LEN;
	if (rd_remaining(&r) >= 4 && rd_be32(&r) == DHCP_MAGIC) {
		m->has |= HAS_COOKIE;
		read_message_options(s, m, rd_rest(&r), sname, file);
	}
	if (!(m->overload & 2))
		text_set(&m->sname, sname, strnlen((const char *)sname, 64));
	if (!(m->overload & 1))
		text_set(&m->file, file, strnlen((const char *)file, 128));
	return true;
}

/* ---- the exchange across flows ---- */

static void dhcp_exchange_emit(const void *state, struct emitter *e);
static void dhcp_exchange_summarize(const void *state, char *buf, size_t n);
static void dhcp_exchange_release(void *state);

static const struct exchange_ops dhcp_exchange_ops = {
    .type = "dhcp",
    .state_size = sizeof(struct dhcp_exchange),
    .idle_timeout = DHCP_EXCHANGE_IDLE,
    .linger = DHCP_EXCHANGE_LINGER,
    .emit = dhcp_exchange_emit,
    .summarize = dhcp_exchange_summarize,
    .release = dhcp_exchange_release,
};

/* A message after which nothing more belongs to the exchange. */
static bool ends_exchange(const struct dhcp_msg *m)
{
	switch (m->type) {
	case 0:
		return m->op == 2; /* BOOTREPLY */
	case DHCPACK:
	case DHCPNAK:
	case DHCPDECLINE:
	case DHCPRELEASE:
	case DHCPLEASEUNASSIGNED:
	case DHCPLEASEUNKNOWN:
	case DHCPLEASEACTIVE:
	case DHCPLEASEQUERYDONE:
		return true;
	default:
		return false;
	}
}

static void to_exchange(struct session *s, const struct dhcp_msg *m)
{
	uint8_t key[6 + CHADDR_LEN];
	size_t key_len = 6 + m->hlen;

	key[0] = (uint8_t)(m->xid >> 24);
	key[1] = (uint8_t)(m->xid >> 16);
	key[2] = (uint8_t)(m->xid >> 8);
	key[3] = (uint8_t)m->xid;
	key[4] = m->htype;
	key[5] = m->hlen;
	memcpy(key + 6, m->chaddr, m->hlen);
	struct dhcp_exchange *x = session_exchange(s, &dhcp_exchange_ops, key, key_len);
	if (!x)
		return;
	struct dhcp_msg *slot = list_push(&x->msgs, DHCP_EXCHANGE_MAX_MESSAGES);
	if (slot)
		*slot = *m;
	else
		session_count(s, "dhcp.exchange_too_many_messages");
	if (ends_exchange(m))
		session_exchange_end(s, &dhcp_exchange_ops, key, key_len);
}

/* ---- the dissector ---- */

static enum verdict dhcp_probe(struct reader r, enum direction dir)
{
	(void)dir;
	int op = rd_peek(&r, 0), htype = rd_peek(&r, 1), hlen = rd_peek(&r, 2),
	    hops = rd_peek(&r, 3);
	if (rd_remaining(&r) < BOOTP_FIXED_LEN || (op != 1 && op != 2) || hlen > CHADDR_LEN)
		return VERDICT_NO;
	if (rd_peek(&r, 236) == 0x63 && rd_peek(&r, 237) == 0x82 && rd_peek(&r, 238) == 0x53 &&
	    rd_peek(&r, 239) == 0x63)
		return VERDICT_YES;
	/* plain BOOTP has no cookie: only the classic Ethernet shape */
	if (rd_remaining(&r) >= BOOTP_MIN_LEN && htype == 1 && hlen == 6 && hops <= 16)
		return VERDICT_YES;
	return VERDICT_NO;
}

static size_t dhcp_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct dhcp_state *st = state;
	struct dhcp_msg m;
	size_t len = rd_remaining(&r);

	if (!parse_message(s, &m, r)) {
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "dhcp.malformed");
		return len;
	}
	if (m.malformed) {
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "dhcp.malformed");
	}
	m.ts = session_now(s);
	m.src = *session_addr(s, dir);
	m.dst = *session_addr(s, dir_other(dir));
	m.src_port = session_port(s, dir);
	m.dst_port = session_port(s, dir_other(dir));
	snprintf(m.uid, sizeof m.uid, "%s", session_uid(s));

	struct dhcp_msg *slot = list_push(&st->msgs, DHCP_MAX_MESSAGES);
	if (slot)
		*slot = m;
	else
		session_count(s, "dhcp.too_many_messages");
	to_exchange(s, &m);
	return len;
}

/* ---- output ---- */

static void emit_addrs(struct emitter *e, const char *key, const uint32_t *v, unsigned n)
{
	if (!n)
		return;
	emit_array_begin(e, key);
	for (unsigned i = 0; i < n; i++)
		emit_ip4(e, NULL, v[i]);
	emit_array_end(e);
}

/* One message; with_path adds where it went (the exchange record). */
static void emit_message(struct emitter *e, const struct dhcp_msg *m, bool with_path)
{
	char buf[IP_ADDR_STRLEN + CHADDR_STRLEN];

	emit_object_begin(e, NULL);
	emit_str(e, "type", type_name(m, buf, sizeof buf));
	emit_number(e, "ts", (double)m->ts / 1e6, 6);
	if (with_path) {
		emit_str(e, "src_ip", ip_addr_format(&m->src, buf, sizeof buf));
		emit_int(e, "src_port", m->src_port);
		emit_str(e, "dst_ip", ip_addr_format(&m->dst, buf, sizeof buf));
		emit_int(e, "dst_port", m->dst_port);
		emit_str(e, "uid", m->uid);
	}
	emit_str(e, "op", m->op == 1 ? "BOOTREQUEST" : m->op == 2 ? "BOOTREPLY" : NULL);
	snprintf(buf, sizeof buf, "0x%08x", m->xid);
	emit_str(e, "xid", buf);
	format_chaddr(m, buf, sizeof buf);
	emit_str(e, "client_mac", m->hlen ? buf : NULL);
	if (m->htype != 1)
		emit_int(e, "htype", m->htype);
	if (m->hostname.len)
		emit_text(e, "hostname", &m->hostname);
	else
		emit_null(e, "hostname");
	if (m->has & HAS_REQUESTED_IP)
		emit_ip4(e, "requested_ip", m->requested_ip);
	else
		emit_null(e, "requested_ip");
	emit_ip4(e, "your_ip", m->yiaddr);
	if (m->has & HAS_SERVER_ID)
		emit_ip4(e, "server_id", m->server_id);
	else
		emit_null(e, "server_id");
	if (m->has & HAS_LEASE_TIME)
		emit_int(e, "lease_time", m->lease_time);
	else
		emit_null(e, "lease_time");
	if (m->ciaddr)
		emit_ip4(e, "client_ip", m->ciaddr);
	if (m->siaddr)
		emit_ip4(e, "next_server", m->siaddr);
	if (m->giaddr)
		emit_ip4(e, "relay_ip", m->giaddr);
	if (m->has & HAS_SUBNET_MASK)
		emit_ip4(e, "subnet_mask", m->subnet_mask);
	emit_addrs(e, "routers", m->routers, m->n_routers);
	emit_addrs(e, "dns_servers", m->dns, m->n_dns);
	if (m->domain.len)
		emit_text(e, "domain_name", &m->domain);
	if (m->has & HAS_PARAMS) {
		emit_array_begin(e, "params");
		for (unsigned i = 0; i < m->n_params; i++) {
			const char *name = value_name_lookup(option_names, m->params[i]);
			if (!name) {
				snprintf(buf, sizeof buf, "%u", m->params[i]);
				name = buf;
			}
			emit_str(e, NULL, name);
		}
		emit_array_end(e);
	}
	if (m->client_id.len)
		emit_text(e, "client_id", &m->client_id);
	if (m->vendor_class.len)
		emit_text(e, "vendor_class", &m->vendor_class);
	if (m->has & HAS_FQDN) {
		emit_text(e, "client_fqdn", &m->fqdn);
		emit_int(e, "client_fqdn_flags", m->fqdn_flags);
	}
	if (m->has & HAS_RELAY) {
		emit_object_begin(e, "relay_agent");
		if (m->circuit_id.len)
			emit_text(e, "circuit_id", &m->circuit_id);
		if (m->remote_id.len)
			emit_text(e, "remote_id", &m->remote_id);
		if (m->subscriber_id.len)
			emit_text(e, "subscriber_id", &m->subscriber_id);
		emit_object_end(e);
	}
	if (m->message.len)
		emit_text(e, "message", &m->message);
	if (m->overload)
		emit_str(e, "overload",
		         m->overload == 1   ? "file"
		         : m->overload == 2 ? "sname"
		                            : "both");
	if (m->sname.len)
		emit_text(e, "server_name", &m->sname);
	if (m->file.len)
		emit_text(e, "boot_file", &m->file);
	if (!(m->has & HAS_COOKIE))
		emit_bool(e, "bootp", true);
	if (m->malformed)
		emit_bool(e, "malformed", true);
	emit_object_end(e);
}

static void emit_list(struct emitter *e, const struct dhcp_list *l, bool with_path)
{
	emit_array_begin(e, "messages");
	for (unsigned i = 0; i < l->n; i++)
		emit_message(e, &l->m[i], with_path);
	emit_array_end(e);
	if (l->truncated)
		emit_int(e, "truncated", l->truncated);
}

static void dhcp_emit(const void *state, struct emitter *e)
{
	const struct dhcp_state *st = state;
	emit_list(e, &st->msgs, false);
}

/* "00:0b:82:01:fc:42 DISCOVER OFFER -> 192.168.0.10 (test0000)" */
static void summarize_list(struct summary *sum, const struct dhcp_list *l)
{
	char buf[CHADDR_STRLEN + IP_ADDR_STRLEN];
	uint32_t yiaddr = 0;
	const struct dhcp_text *host = NULL;

	for (unsigned i = 0; i < l->n; i++) {
		const struct dhcp_msg *m = &l->m[i];
		summary_add(sum, " ");
		summary_add(sum, type_name(m, buf, sizeof buf));
		if (m->yiaddr)
			yiaddr = m->yiaddr;
		if (m->hostname.len && !host)
			host = &m->hostname;
	}
	if (yiaddr) {
		format_ip4(yiaddr, buf, sizeof buf);
		summary_addf(sum, " -> %s", buf);
	}
	if (host) {
		summary_add(sum, " (");
		summary_add_wire(sum, host->s, host->len);
		summary_add(sum, ")");
	}
}

static void dhcp_summarize(const void *state, char *out, size_t n)
{
	const struct dhcp_state *st = state;
	struct summary sum = summary_start(out, n);
	char mac[CHADDR_STRLEN];

	if (!st->msgs.n)
		return;
	format_chaddr(&st->msgs.m[0], mac, sizeof mac);
	summary_add(&sum, mac[0] ? mac : "-");
	summarize_list(&sum, &st->msgs);
}

static void dhcp_release(void *state)
{
	struct dhcp_state *st = state;
	list_free(&st->msgs);
}

/* The exchange record's keys after "type", times and "end_reason". */
static void dhcp_exchange_emit(const void *state, struct emitter *e)
{
	const struct dhcp_exchange *x = state;
	char buf[CHADDR_STRLEN + IP_ADDR_STRLEN];
	const struct dhcp_msg *first = x->msgs.n ? &x->msgs.m[0] : NULL;
	const struct dhcp_msg *ack = NULL, *last = NULL;
	const struct dhcp_text *host = NULL;
	uint32_t server_id = 0;
	bool has_server = false;

	for (unsigned i = 0; i < x->msgs.n; i++) {
		const struct dhcp_msg *m = &x->msgs.m[i];
		last = m;
		if (m->type == DHCPACK || (m->type == 0 && m->op == 2))
			ack = m;
		if (m->hostname.len && !host)
			host = &m->hostname;
		if (m->has & HAS_SERVER_ID) {
			server_id = m->server_id;
			has_server = true;
		}
	}
	if (first) {
		snprintf(buf, sizeof buf, "0x%08x", first->xid);
		emit_str(e, "xid", buf);
		format_chaddr(first, buf, sizeof buf);
		emit_str(e, "client_mac", first->hlen ? buf : NULL);
	}
	if (host)
		emit_text(e, "hostname", host);
	else
		emit_null(e, "hostname");
	if (ack && ack->yiaddr)
		emit_ip4(e, "assigned_ip", ack->yiaddr);
	else
		emit_null(e, "assigned_ip");
	if (has_server)
		emit_ip4(e, "server_id", server_id);
	else
		emit_null(e, "server_id");
	if (ack && (ack->has & HAS_LEASE_TIME))
		emit_int(e, "lease_time", ack->lease_time);
	else
		emit_null(e, "lease_time");
	emit_str(e, "result", last ? type_name(last, buf, sizeof buf) : NULL);
	emit_list(e, &x->msgs, true);
}

/* "DHCP exchange 0x3903f326 00:0b:82:01:fc:42 DISCOVER OFFER REQUEST ACK ->
 * 192.168.0.10 (test0000)" */
static void dhcp_exchange_summarize(const void *state, char *out, size_t n)
{
	const struct dhcp_exchange *x = state;
	struct summary sum = summary_start(out, n);
	char mac[CHADDR_STRLEN];

	summary_add(&sum, "DHCP exchange");
	if (!x->msgs.n)
		return;
	format_chaddr(&x->msgs.m[0], mac, sizeof mac);
	summary_addf(&sum, " 0x%08x %s", x->msgs.m[0].xid, mac[0] ? mac : "-");
	summarize_list(&sum, &x->msgs);
}

static void dhcp_exchange_release(void *state)
{
	struct dhcp_exchange *x = state;
	list_free(&x->msgs);
}

const struct dissector dhcp_dissector = {
    .name = "dhcp",
    .transports = TRANSPORT_BIT_UDP,
    .ports = dhcp_ports,
    .state_size = sizeof(struct dhcp_state),
    .probe = dhcp_probe,
    .on_data = dhcp_on_data,
    .emit = dhcp_emit,
    .summarize = dhcp_summarize,
    .release = dhcp_release,
};
