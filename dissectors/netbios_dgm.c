/* NetBIOS Datagram Service (RFC 1002 4.4), UDP port 138.
 *
 * Each datagram has a header (type, flags, id, the source's address and
 * port) and, for direct and broadcast datagrams, the source and destination
 * names in first-level encoding (src/netbios_name.c) before the user data.
 * That data is usually SMB: a Transaction request (command 0x25) to a
 * mailslot, and the mailslot \MAILSLOT\BROWSE carries the Browser protocol
 * ([MS-BRWS]): host, domain and local master announcements with the
 * server's name, OS version, server type flags and comment, elections and
 * announcement requests.  Only the first datagram of a fragmented one
 * carries the SMB header; later fragments are counted.  Capped:
 * DGM_MAX_DATAGRAMS kept per flow, the rest counted in "truncated".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "portolan/dissector.h"
#include "portolan/netbios_name.h"
#include "portolan/summary.h"

#define DGM_PORT 138
#define DGM_MAX_DATAGRAMS 32
#define DGM_FIRST_ALLOC 2
#define DGM_MAILSLOT_MAX 64
#define DGM_COMMENT_MAX 128
#define DGM_SERVER_NAME_MAX 16
/* Server type flags listed per announcement. */
#define DGM_MAX_TYPE_FLAGS 32

#define DGM_DIRECT_UNIQUE 0x10
#define DGM_DIRECT_GROUP 0x11
#define DGM_BROADCAST 0x12
#define DGM_ERROR 0x13
#define DGM_QUERY_REQUEST 0x14
#define DGM_POSITIVE_QUERY 0x15
#define DGM_NEGATIVE_QUERY 0x16

#define DGM_FLAG_MORE 0x01
#define DGM_FLAG_FIRST 0x02
#define DGM_SNT_SHIFT 2

#define SMB_HEADER_LEN 32
#define SMB_COM_TRANSACTION 0x25
#define SMB_FLAGS2_UNICODE 0x8000

static const struct value_name dgm_types[] = {
    {DGM_DIRECT_UNIQUE, "direct_unique"},
    {DGM_DIRECT_GROUP, "direct_group"},
    {DGM_BROADCAST, "broadcast"},
    {DGM_ERROR, "error"},
    {DGM_QUERY_REQUEST, "query_request"},
    {DGM_POSITIVE_QUERY, "positive_query_response"},
    {DGM_NEGATIVE_QUERY, "negative_query_response"},
    {0, NULL},
};

static const struct value_name dgm_errors[] = {
    {0x82, "DESTINATION NAME NOT PRESENT"},
    {0x83, "INVALID SOURCE NAME FORMAT"},
    {0x84, "INVALID DESTINATION NAME FORMAT"},
    {0, NULL},
};

static const char *const dgm_node_types[] = {"B", "P", "M", "NBDD"};

/* [MS-BRWS] 2.2: the browser's opcodes. */
static const struct value_name browser_commands[] = {
    {1, "Host Announcement"},
    {2, "Request Announcement"},
    {8, "Election Request"},
    {9, "Get Backup List Request"},
    {10, "Get Backup List Response"},
    {11, "Become Backup Browser"},
    {12, "Domain/Workgroup Announcement"},
    {13, "Master Announcement"},
    {14, "Reset Browser State Announcement"},
    {15, "Local Master Announcement"},
    {0, NULL},
};

/* [MS-RAP] 5.1: server type bits. */
static const struct value_name server_types[] = {
    {0x00000001, "Workstation"},
    {0x00000002, "Server"},
    {0x00000004, "SQL Server"},
    {0x00000008, "Domain Controller"},
    {0x00000010, "Backup Controller"},
    {0x00000020, "Time Source"},
    {0x00000040, "Apple Server"},
    {0x00000080, "Novell Server"},
    {0x00000100, "Domain Member"},
    {0x00000200, "Print Queue Server"},
    {0x00000400, "Dialin Server"},
    {0x00000800, "Xenix Server"},
    {0x00001000, "NT Workstation"},
    {0x00002000, "Windows for Workgroups"},
    {0x00008000, "NT Server"},
    {0x00010000, "Potential Browser"},
    {0x00020000, "Backup Browser"},
    {0x00040000, "Master Browser"},
    {0x00080000, "Domain Master Browser"},
    {0x00100000, "OSF"},
    {0x00200000, "VMS"},
    {0x00400000, "Windows 95+"},
    {0x00800000, "DFS Server"},
    {0x40000000, "Local List Only"},
    {0x80000000, "Domain Enum"},
    {0, NULL},
};

struct browser_info {
	uint8_t command;
	bool has_version, has_type;
	uint8_t os_major, os_minor;
	uint32_t server_type;
	uint8_t server_name_len;
	uint8_t comment_len;
	char server_name[DGM_SERVER_NAME_MAX];
	char comment[DGM_COMMENT_MAX];
};

struct dgm_datagram {
	uint8_t type, flags;
	uint16_t id;
	uint8_t source_ip[4];
	uint16_t source_port;
	bool has_source, has_destination, has_error, has_smb, has_browser, fragment;
	bool malformed;
	uint8_t error;
	uint8_t smb_command;
	uint8_t mailslot_len;
	struct nb_name source, destination;
	char mailslot[DGM_MAILSLOT_MAX];
	struct browser_info browser;
};

struct dgm_state {
	struct dgm_datagram *dgrams;
	unsigned n, alloc;
	unsigned truncated;
	unsigned malformed;
};

/* ---- SMB mailslot and browser ---- */

/* A NUL-terminated ASCII string inside r (its end is the reader's end when
 * there is no NUL), cut to cap; returns the bytes kept. */
static size_t take_cstring(struct reader *r, char *out, size_t cap)
{
	long nul = rd_find(r, 0);
	size_t n = nul >= 0 ? (size_t)nul : rd_remaining(r);
	const uint8_t *p = rd_take(r, n);
	if (nul >= 0)
		rd_skip(r, 1);
	if (!p)
		return 0;
	size_t keep = n < cap ? n : cap;
	memcpy(out, p, keep);
	return keep;
}

static void take_server_name16(struct reader *r, struct browser_info *b)
{
	const uint8_t *p = rd_take(r, DGM_SERVER_NAME_MAX);
	if (!p)
		return;
	size_t n = 0;
	while (n < DGM_SERVER_NAME_MAX && p[n])
		n++;
	memcpy(b->server_name, p, n);
	b->server_name_len = (uint8_t)n;
}

/* [MS-BRWS] 2.2: the announcements share one layout. */
static bool parse_browser(struct reader r, struct browser_info *b)
{
	b->command = rd_u8(&r);
	switch (b->command) {
	case 1:                     /* Host Announcement */
	case 12:                    /* Domain/Workgroup Announcement */
	case 15:                    /* Local Master Announcement */
		rd_skip(&r, 1 + 4); /* update count, periodicity */
		take_server_name16(&r, b);
		b->os_major = rd_u8(&r);
		b->os_minor = rd_u8(&r);
		b->server_type = rd_le32(&r);
		rd_skip(&r, 4); /* browser version, signature */
		if (!rd_ok(&r))
			return false;
		b->has_version = b->has_type = true;
		b->comment_len = (uint8_t)take_cstring(&r, b->comment, sizeof b->comment);
		return true;
	case 8: /* Election Request: version, criteria, uptime, reserved, name */
		rd_skip(&r, 1 + 4 + 4 + 4);
		if (!rd_ok(&r))
			return false;
		b->server_name_len =
		    (uint8_t)take_cstring(&r, b->server_name, sizeof b->server_name);
		return true;
	case 2: /* Request Announcement: flags, response name */
		rd_skip(&r, 1);
		if (!rd_ok(&r))
			return false;
		b->server_name_len =
		    (uint8_t)take_cstring(&r, b->server_name, sizeof b->server_name);
		return true;
	case 11: /* Become Backup: the browser to promote */
	case 13: /* Master Announcement: the master's name */
		b->server_name_len =
		    (uint8_t)take_cstring(&r, b->server_name, sizeof b->server_name);
		return true;
	default:
		return rd_ok(&r);
	}
}

/* An SMB Transaction request to a mailslot (MS-MAIL 2.2.1). */
static bool parse_smb(struct reader smb, struct dgm_datagram *d)
{
	struct reader h = smb;
	rd_skip(&h, 4);
	d->smb_command = rd_u8(&h);
	rd_skip(&h, 4 + 1); /* status, flags */
	uint16_t flags2 = rd_le16(&h);
	rd_skip(&h, SMB_HEADER_LEN - 12);
	if (!rd_ok(&h))
		return false;
	d->has_smb = true;
	if (d->smb_command != SMB_COM_TRANSACTION)
		return true;
	uint8_t words = rd_u8(&h);
	if (words < 14)
		return false;
	struct reader w = rd_sub(&h, (size_t)words * 2);
	rd_skip(&w, 18); /* counts, max counts, flags, timeout, reserved */
	rd_skip(&w, 2);  /* parameter count */
	rd_skip(&w, 2);  /* parameter offset */
	uint16_t data_count = rd_le16(&w);
	uint16_t data_offset = rd_le16(&w);
	rd_skip(&h, 2); /* byte count */
	if (!rd_ok(&w) || !rd_ok(&h))
		return false;
	/* the mailslot name; mailslot transactions are ASCII in practice */
	if (!(flags2 & SMB_FLAGS2_UNICODE))
		d->mailslot_len = (uint8_t)take_cstring(&h, d->mailslot, sizeof d->mailslot);
	if (data_count == 0)
		return true;
	struct reader data = smb;
	rd_seek(&data, data_offset);
	struct reader browser = rd_sub(&data, data_count);
	if (!rd_ok(&data))
		return false;
	static const char browse[] = "\\MAILSLOT\\BROWSE";
	static const char lanman[] = "\\MAILSLOT\\LANMAN";
	bool is_browse = (d->mailslot_len == sizeof browse - 1 &&
	                  strncasecmp(d->mailslot, browse, sizeof browse - 1) == 0) ||
	                 (d->mailslot_len == sizeof lanman - 1 &&
	                  strncasecmp(d->mailslot, lanman, sizeof lanman - 1) == 0);
	if (!is_browse)
		return true;
	d->has_browser = true;
	return parse_browser(browser, &d->browser);
}

/* ---- one datagram ---- */

static bool parse_datagram(struct reader r, struct dgm_datagram *d)
{
	d->type = rd_u8(&r);
	d->flags = rd_u8(&r);
	d->id = rd_be16(&r);
	rd_copy(&r, d->source_ip, 4);
	d->source_port = rd_be16(&r);
	if (!rd_ok(&r))
		return false;
	switch (d->type) {
	case DGM_DIRECT_UNIQUE:
	case DGM_DIRECT_GROUP:
	case DGM_BROADCAST: {
		uint16_t length = rd_be16(&r);
		uint16_t offset = rd_be16(&r);
		if (!rd_ok(&r))
			return false;
		/* the length counts the names and the user data */
		struct reader body = rd_sub(&r, length);
		if (!rd_ok(&r)) {
			/* a short datagram: read what is there, say malformed */
			body = rd_rest(&r);
			d->malformed = true;
		}
		if (!(d->flags & DGM_FLAG_FIRST) || offset != 0) {
			d->fragment = true;
			return !d->malformed; /* names only in the first fragment */
		}
		if (nb_read_name(&body, &d->source) != NB_OK)
			return false;
		d->has_source = true;
		if (nb_read_name(&body, &d->destination) != NB_OK)
			return false;
		d->has_destination = true;
		if (rd_starts_with(&body, "\xffSMB", 4) && !parse_smb(rd_rest(&body), d))
			return false;
		return !d->malformed;
	}
	case DGM_ERROR:
		d->error = rd_u8(&r);
		d->has_error = rd_ok(&r);
		return d->has_error;
	case DGM_QUERY_REQUEST:
	case DGM_POSITIVE_QUERY:
	case DGM_NEGATIVE_QUERY:
		d->has_destination = nb_read_name(&r, &d->destination) == NB_OK;
		return d->has_destination;
	default:
		return false;
	}
}

static struct dgm_datagram *new_datagram(struct dgm_state *st, struct session *s)
{
	if (st->n >= DGM_MAX_DATAGRAMS) {
		if (st->truncated++ == 0)
			session_count(s, "netbios-dgm.too_many_datagrams");
		return NULL;
	}
	if (st->n == st->alloc) {
		unsigned alloc = st->alloc ? st->alloc * 2 : DGM_FIRST_ALLOC;
		if (alloc > DGM_MAX_DATAGRAMS)
			alloc = DGM_MAX_DATAGRAMS;
		struct dgm_datagram *p = realloc(st->dgrams, alloc * sizeof *p);
		if (!p) {
			st->truncated++;
			session_count(s, "netbios-dgm.out_of_memory");
			return NULL;
		}
		st->dgrams = p;
		st->alloc = alloc;
	}
	return &st->dgrams[st->n];
}

static size_t dgm_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct dgm_state *st = state;
	struct dgm_datagram scratch, *d = new_datagram(st, s);
	size_t n = rd_remaining(&r);
	(void)dir;

	if (!d)
		d = &scratch;
	memset(d, 0, sizeof *d);
	bool ok = parse_datagram(r, d);
	if (!ok) {
		d->malformed = true;
		st->malformed++;
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "netbios-dgm.malformed");
	}
	if (d != &scratch)
		st->n++;
	return n;
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

/* A direct or broadcast datagram (10-byte header, length, offset) whose
 * source name is first-level encoded; the short types are too weak to
 * claim a flow on their own. */
static enum verdict dgm_probe(struct reader r, enum direction dir)
{
	(void)dir;
	int type = rd_peek(&r, 0);
	if (type < 0)
		return VERDICT_NEED_MORE;
	if (type < DGM_DIRECT_UNIQUE || type > DGM_BROADCAST)
		return VERDICT_NO;
	int flags = rd_peek(&r, 1);
	if (flags >= 0 && (flags & 0xf0))
		return VERDICT_NO;
	if (!rd_has(&r, 14 + 1 + NB_ENCODED_LEN))
		return VERDICT_NEED_MORE;
	rd_skip(&r, 14);
	return encoded_name_at(r) ? VERDICT_YES : VERDICT_NO;
}

/* ---- output ---- */

static void emit_name(struct emitter *e, const char *key, const struct nb_name *n)
{
	char buf[NB_RAW_MAX + 8];
	size_t len = nb_name_label(n, buf, sizeof buf);
	emit_strn(e, key, buf, len);
}

static void emit_browser(const struct browser_info *b, struct emitter *e)
{
	char buf[32];
	const char *cmd = value_name_lookup(browser_commands, b->command);

	emit_object_begin(e, "browser");
	if (cmd)
		emit_str(e, "command", cmd);
	else
		emit_int(e, "command", b->command);
	if (b->server_name_len || b->has_version)
		emit_strn(e, b->command == 12 ? "domain" : "server_name", b->server_name,
		          b->server_name_len);
	if (b->has_version) {
		snprintf(buf, sizeof buf, "%u.%u", b->os_major, b->os_minor);
		emit_str(e, "os_version", buf);
	}
	if (b->has_type) {
		emit_int(e, "server_type", b->server_type);
		emit_array_begin(e, "server_types");
		unsigned listed = 0;
		for (const struct value_name *v = server_types; v->name; v++)
			if ((b->server_type & v->value) && listed++ < DGM_MAX_TYPE_FLAGS)
				emit_str(e, NULL, v->name);
		emit_array_end(e);
		emit_strn(e, b->command == 12 ? "master_browser" : "comment", b->comment,
		          b->comment_len);
	}
	emit_object_end(e);
}

static void emit_datagram(const struct dgm_datagram *d, struct emitter *e)
{
	char buf[32];
	const char *type = value_name_lookup(dgm_types, d->type);

	emit_object_begin(e, NULL);
	if (type)
		emit_str(e, "type", type);
	else
		emit_int(e, "type", d->type);
	emit_int(e, "id", d->id);
	snprintf(buf, sizeof buf, "%u.%u.%u.%u", d->source_ip[0], d->source_ip[1], d->source_ip[2],
	         d->source_ip[3]);
	emit_str(e, "source_ip", buf);
	emit_int(e, "source_port", d->source_port);
	emit_str(e, "node_type", dgm_node_types[(d->flags >> DGM_SNT_SHIFT) & 3]);
	if (d->flags & DGM_FLAG_MORE)
		emit_bool(e, "more", true);
	if (d->fragment)
		emit_bool(e, "fragment", true);
	if (d->has_source)
		emit_name(e, "source_name", &d->source);
	if (d->has_destination)
		emit_name(e, "destination_name", &d->destination);
	if (d->has_error) {
		const char *err = value_name_lookup(dgm_errors, d->error);
		if (err)
			emit_str(e, "error", err);
		else
			emit_int(e, "error", d->error);
	}
	if (d->mailslot_len)
		emit_strn(e, "mailslot", d->mailslot, d->mailslot_len);
	if (d->has_browser)
		emit_browser(&d->browser, e);
	if (d->malformed)
		emit_bool(e, "malformed", true);
	emit_object_end(e);
}

/* The SMB inside the datagrams (mailslot Transaction requests, SMB1 by
 * definition), as an `smb` object: what Wireshark shows as the SMB layer
 * under NetBIOS datagrams. */
static void emit_smb_summary(const struct dgm_state *st, struct emitter *e)
{
	const struct dgm_datagram *first = NULL;
	unsigned n = 0;
	for (unsigned i = 0; i < st->n; i++) {
		if (!st->dgrams[i].has_smb)
			continue;
		if (!first)
			first = &st->dgrams[i];
		n++;
	}
	if (!first)
		return;
	emit_object_begin(e, "smb");
	emit_str(e, "version", "SMB1");
	emit_str(e, "transport", "netbios-dgm");
	if (first->smb_command == SMB_COM_TRANSACTION)
		emit_str(e, "command", "SMB_COM_TRANSACTION");
	else
		emit_int(e, "command", first->smb_command);
	if (first->mailslot_len)
		emit_strn(e, "mailslot", first->mailslot, first->mailslot_len);
	emit_int(e, "messages", n);
	emit_object_end(e);
}

static void dgm_emit(const void *state, struct emitter *e)
{
	const struct dgm_state *st = state;
	const struct dgm_datagram *src = NULL, *dst = NULL, *srv = NULL;

	for (unsigned i = 0; i < st->n; i++) {
		const struct dgm_datagram *d = &st->dgrams[i];
		if (!src && d->has_source)
			src = d;
		if (!dst && d->has_destination)
			dst = d;
		if (!srv && d->has_browser && d->browser.server_name_len &&
		    d->browser.command != 12)
			srv = d;
	}
	if (src)
		emit_name(e, "source_name", &src->source);
	if (dst)
		emit_name(e, "destination_name", &dst->destination);
	if (srv)
		emit_strn(e, "server_name", srv->browser.server_name, srv->browser.server_name_len);
	emit_array_begin(e, "datagrams");
	for (unsigned i = 0; i < st->n; i++)
		emit_datagram(&st->dgrams[i], e);
	emit_array_end(e);
	emit_smb_summary(st, e);
	if (st->truncated)
		emit_int(e, "truncated", st->truncated);
	if (st->malformed)
		emit_int(e, "malformed", st->malformed);
}

static void dgm_summarize(const void *state, char *buf, size_t n)
{
	const struct dgm_state *st = state;
	struct summary s = summary_start(buf, n);

	if (st->n == 0)
		return;
	const struct dgm_datagram *d = &st->dgrams[0];
	const char *type = value_name_lookup(dgm_types, d->type);
	summary_add(&s, type ? type : "?");
	char label[NB_RAW_MAX + 8];
	if (d->has_source) {
		summary_add(&s, " ");
		summary_add_wire(&s, label, nb_name_label(&d->source, label, sizeof label));
	}
	if (d->has_destination) {
		summary_add(&s, " -> ");
		summary_add_wire(&s, label, nb_name_label(&d->destination, label, sizeof label));
	}
	if (d->has_browser) {
		const char *cmd = value_name_lookup(browser_commands, d->browser.command);
		summary_add(&s, " ");
		summary_add(&s, cmd ? cmd : "browser");
		if (d->browser.server_name_len) {
			summary_add(&s, " ");
			summary_add_wire(&s, d->browser.server_name, d->browser.server_name_len);
		}
	}
	if (st->n > 1)
		summary_addf(&s, " (+%u)", st->n - 1);
}

static void dgm_release(void *state)
{
	struct dgm_state *st = state;
	free(st->dgrams);
	st->dgrams = NULL;
}

static const uint16_t dgm_ports[] = {DGM_PORT, 0};

const struct dissector netbios_dgm_dissector = {
    .name = "netbios-dgm",
    .transports = TRANSPORT_BIT_UDP,
    .ports = dgm_ports,
    .state_size = sizeof(struct dgm_state),
    .probe = dgm_probe,
    .on_data = dgm_on_data,
    .emit = dgm_emit,
    .summarize = dgm_summarize,
    .release = dgm_release,
};
