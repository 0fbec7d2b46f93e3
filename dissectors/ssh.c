/* SSH (RFC 4253): the version exchange and the first key exchange.
 *
 * Each side starts with a version line "SSH-protoversion-softwareversion
 * [SP comments]" (4.2); a server may send other text lines before its own
 * (banners, a cow), a client may not.  After the version line the side
 * speaks the binary packet protocol (6): uint32 packet_length, byte
 * padding_length, payload, padding (and a MAC, none before NEWKEYS).  Until
 * a side's NEWKEYS its packets are readable: its KEXINIT (7.1) gives the
 * algorithm lists, from which the HASSH fingerprints are made (the MD5 of
 * "kex;enc;mac;cmp" of the side's own direction lists).  After NEWKEYS the
 * direction is encrypted and only counted.
 *
 * SSH-1 (protoversion 1.x other than 1.99 on both sides) frames packets
 * differently; its bytes after the banners are consumed unread and the
 * session carries the deprecated-version alert.  "SSH-1.99-" is a server
 * that speaks both; with an SSH-2 client the session is SSH-2.
 *
 * Lines come from the core's line framer, packets from its PDU framer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "portolan/dissector.h"
#include "portolan/framing.h"
#include "portolan/summary.h"
#include "portolan/wirestr.h"

/* A version line is at most 255 bytes with CRLF (4.2); a few more are
 * tolerated before it is cut. */
#define SSH_MAX_LINE 512
/* Bytes kept of a banner. */
#define SSH_MAX_BANNER 255
/* Text lines a server may send before its version line before we give up. */
#define SSH_MAX_PRE_BANNER_LINES 64
/* Bytes of the probe's look for a server's version line after other text. */
#define SSH_PROBE_TEXT_MAX 2048
/* A binary packet larger than this is skipped unread (KEXINIT is ~1-2 KiB;
 * RFC 4253 6.1 asks for 35000 to be supported). */
#define SSH_MAX_PACKET (64 * 1024)
/* packet_length above this is not SSH: the direction is given up. */
#define SSH_MAX_PACKET_LENGTH (256 * 1024)
/* Bytes kept of one algorithm name-list. */
#define SSH_MAX_NAMELIST 1024
/* Readable packets whose message codes are listed, per direction. */
#define SSH_MAX_MESSAGES 32

enum ssh_phase {
	PH_BANNER = 0, /* text lines until the version line */
	PH_PACKETS,    /* binary packets in the clear */
	PH_ENCRYPTED,  /* after NEWKEYS: consumed unread */
	PH_OPAQUE,     /* SSH-1, or lost framing: consumed unread */
};

/* KEXINIT name-lists in wire order (RFC 4253 7.1). */
enum {
	NL_KEX = 0,
	NL_HOSTKEY,
	NL_ENC_C2S,
	NL_ENC_S2C,
	NL_MAC_C2S,
	NL_MAC_S2C,
	NL_CMP_C2S,
	NL_CMP_S2C,
	NL_LANG_C2S,
	NL_LANG_S2C,
	NL_COUNT
};

static const char *const namelist_keys[NL_COUNT] = {
    "kex_algorithms", "host_key_algorithms", "encryption_c2s",  "encryption_s2c", "mac_c2s",
    "mac_s2c",        "compression_c2s",     "compression_s2c", "languages_c2s",  "languages_s2c",
};

struct ssh_kexinit {
	struct wire_str lists[NL_COUNT];
	uint8_t cookie[16];
	char hassh[33];
	bool seen, first_kex_follows, cut;
};

struct ssh_dir {
	struct line_state lines;
	struct pdu_state pdus;
	struct wire_str banner;
	struct wire_str text; /* a text line where a packet should be */
	struct ssh_kexinit kex;
	uint64_t packets;      /* readable binary packets */
	uint64_t opaque_bytes; /* bytes consumed unread (encrypted, SSH-1, lost) */
	uint32_t pre_banner;   /* text lines before the version line */
	uint8_t messages[SSH_MAX_MESSAGES];
	uint8_t n_messages;
	uint8_t phase;
	uint8_t major; /* protoversion: 1 or 2 (0 unknown) */
	bool v199;     /* "SSH-1.99-" */
	bool newkeys, malformed_banner, gap;
};

struct ssh_state {
	struct ssh_dir dir[2];
	bool v1; /* an SSH-1 session */
};

static const uint16_t ssh_ports[] = {22, 0};

static const struct value_name ssh_messages[] = {
    {1, "DISCONNECT"}, {2, "IGNORE"},          {3, "UNIMPLEMENTED"},
    {4, "DEBUG"},      {5, "SERVICE_REQUEST"}, {6, "SERVICE_ACCEPT"},
    {7, "EXT_INFO"},   {20, "KEXINIT"},        {21, "NEWKEYS"},
    {30, "KEX_30"},    {31, "KEX_31"},         {32, "KEX_32"},
    {33, "KEX_33"},    {34, "KEX_34"},         {0, NULL},
};

/* ---- banners ---- */

static bool is_text(int c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\r' || c == '\n' || c >= 0x80;
}

/* "SSH-1.99-..." etc.: the protoversion's major number and 1.99-ness. */
static void parse_version(struct ssh_dir *d, struct reader line)
{
	rd_skip(&line, 4);
	int c = rd_peek(&line, 0);
	d->major = c == '1' ? 1 : c == '2' ? 2 : 0;
	d->v199 = rd_starts_with(&line, "1.99-", 5);
	long dash = rd_find(&line, '-');
	if (dash <= 0 || d->major == 0)
		d->malformed_banner = true;
}

static void check_v1(struct ssh_state *st, struct session *s)
{
	const struct ssh_dir *c = &st->dir[DIR_CLIENT], *v = &st->dir[DIR_SERVER];

	if (st->v1 || !c->banner.p || !v->banner.p)
		return;
	/* both speak 1.x and at least one of them not 1.99 (a 1.99 server
	 * with a 1.5 client talks SSH-1; with a 2.0 client SSH-2) */
	if (c->major == 1 && v->major == 1 && !(c->v199 && v->v199)) {
		st->v1 = true;
		session_alert(s, ALERT_DEPRECATED_VERSION);
		for (int i = 0; i < 2; i++)
			if (st->dir[i].phase == PH_PACKETS && st->dir[i].packets == 0)
				st->dir[i].phase = PH_OPAQUE;
	}
}

static void on_line(struct ssh_state *st, struct session *s, enum direction dir, struct reader line)
{
	struct ssh_dir *d = &st->dir[dir];

	if (!rd_starts_with(&line, "SSH-", 4)) {
		d->pre_banner++;
		if (dir == DIR_CLIENT || d->pre_banner > SSH_MAX_PRE_BANNER_LINES) {
			/* clients send no other lines (4.2); a server's flood ends it */
			session_alert(s, ALERT_MALFORMED);
			session_count(s, "ssh.no_banner");
			d->phase = PH_OPAQUE;
		}
		return;
	}
	size_t n = rd_remaining(&line);
	if (wire_str_set(&d->banner, rd_take(&line, n), n, SSH_MAX_BANNER) == WIRE_STR_CUT)
		session_count(s, "ssh.banner_too_long");
	parse_version(d, rd_init(d->banner.p, d->banner.len));
	if (d->malformed_banner)
		session_alert(s, ALERT_MALFORMED);
	d->phase = d->major == 1 && !d->v199 ? PH_OPAQUE : PH_PACKETS;
	check_v1(st, s);
}

/* ---- binary packets ---- */

static long packet_length(struct reader h, void *arg)
{
	(void)arg;
	if (!rd_has(&h, 4))
		return 0;
	uint32_t n = rd_be32(&h);
	/* padding_length, a message code and at least 4 bytes of padding */
	if (n < 5 || n > SSH_MAX_PACKET_LENGTH)
		return -1;
	return (long)n + 4;
}

static void md5_hex(const char *text, size_t n, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	out[0] = '\0';
	if (!EVP_Digest(text, n, md, &len, EVP_md5(), NULL) || len != 16)
		return;
	for (unsigned i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* HASSH: md5("kex;enc;mac;cmp") of the lists for the side's own direction
 * (client: c2s, server: s2c), made from the whole lists on the wire. */
static void make_hassh(struct ssh_kexinit *k, enum direction dir, struct reader lists[NL_COUNT],
                       struct session *s)
{
	const int pick[4] = {NL_KEX, dir == DIR_CLIENT ? NL_ENC_C2S : NL_ENC_S2C,
	                     dir == DIR_CLIENT ? NL_MAC_C2S : NL_MAC_S2C,
	                     dir == DIR_CLIENT ? NL_CMP_C2S : NL_CMP_S2C};
	size_t total = 4;
	for (int i = 0; i < 4; i++)
		total += rd_remaining(&lists[pick[i]]);
	char *buf = malloc(total);
	if (!buf) {
		session_count(s, "ssh.out_of_memory");
		return;
	}
	size_t at = 0;
	for (int i = 0; i < 4; i++) {
		struct reader l = lists[pick[i]];
		size_t n = rd_remaining(&l);
		if (i)
			buf[at++] = ';';
		if (n)
			memcpy(buf + at, rd_take(&l, n), n);
		at += n;
	}
	md5_hex(buf, at, k->hassh);
	free(buf);
}

static void kexinit(struct ssh_dir *d, struct session *s, enum direction dir, struct reader p)
{
	struct ssh_kexinit *k = &d->kex;
	struct reader lists[NL_COUNT];

	rd_copy(&p, k->cookie, sizeof k->cookie);
	for (int i = 0; i < NL_COUNT; i++) {
		uint32_t n = rd_be32(&p);
		lists[i] = rd_sub(&p, n);
	}
	bool follows = rd_u8(&p) != 0;
	rd_skip(&p, 4); /* reserved */
	if (!rd_ok(&p)) {
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "ssh.bad_kexinit");
		return;
	}
	k->seen = true;
	k->first_kex_follows = follows;
	for (int i = 0; i < NL_COUNT; i++) {
		size_t n = rd_remaining(&lists[i]);
		struct reader l = lists[i];
		if (wire_str_set(&k->lists[i], rd_take(&l, n), n, SSH_MAX_NAMELIST) ==
		    WIRE_STR_CUT) {
			k->cut = true;
			session_count(s, "ssh.namelist_too_long");
		}
	}
	make_hassh(k, dir, lists, s);
}

static void on_packet(struct ssh_dir *d, struct session *s, enum direction dir, struct reader p)
{
	rd_skip(&p, 4); /* packet_length */
	uint8_t padding = rd_u8(&p);
	if (!rd_ok(&p) || padding < 1 || (size_t)padding + 1 > rd_remaining(&p)) {
		session_alert(s, ALERT_MALFORMED);
		session_count(s, "ssh.bad_padding");
		d->phase = PH_OPAQUE;
		return;
	}
	struct reader payload = rd_sub(&p, rd_remaining(&p) - padding);
	uint8_t msg = rd_u8(&payload);
	d->packets++;
	if (d->n_messages < SSH_MAX_MESSAGES)
		d->messages[d->n_messages++] = msg;
	else
		session_count(s, "ssh.too_many_messages");
	if (msg == 20 && !d->kex.seen)
		kexinit(d, s, dir, payload);
	else if (msg == 21) {
		d->newkeys = true;
		d->phase = PH_ENCRYPTED;
	}
}

/* Text where a packet should be: kept (cut) when the bytes up to the first
 * LF are printable, as a peer's error message. */
static bool text_message(struct ssh_dir *d, struct session *s, struct reader r)
{
	long lf = rd_find(&r, '\n');
	size_t n = lf < 0 ? rd_remaining(&r) : (size_t)lf;

	if (n == 0 || n > SSH_MAX_BANNER)
		return false;
	for (size_t i = 0; i < n; i++) {
		int c = rd_peek(&r, i);
		if (c < 0x20 && c != '\r' && c != '\t')
			return false;
	}
	if (n && rd_peek(&r, n - 1) == '\r')
		n--;
	if (wire_str_set(&d->text, rd_take(&r, n), n, SSH_MAX_BANNER) == WIRE_STR_NO_MEMORY)
		session_count(s, "ssh.out_of_memory");
	return true;
}

/* ---- the dissector ---- */

/* Either side's first bytes: "SSH-" (YES); a server's text lines before
 * its version line (NEED_MORE, within a bound); anything else NO. */
static enum verdict ssh_probe(struct reader r, enum direction dir)
{
	size_t seen = 0;

	for (;;) {
		size_t have = rd_remaining(&r) < 4 ? rd_remaining(&r) : 4;
		if (have && !rd_starts_with(&r, "SSH-", have)) {
			if (dir != DIR_SERVER)
				return VERDICT_NO;
		} else if (have == 4) {
			return VERDICT_YES;
		} else {
			return VERDICT_NEED_MORE;
		}
		/* a line of text that is not the version line: a server may */
		long lf = rd_find(&r, '\n');
		size_t n = lf < 0 ? rd_remaining(&r) : (size_t)lf + 1;
		for (size_t i = 0; i < n; i++)
			if (!is_text(rd_peek(&r, i)))
				return VERDICT_NO;
		seen += n;
		if (seen >= SSH_PROBE_TEXT_MAX)
			return VERDICT_NO;
		if (lf < 0)
			return VERDICT_NEED_MORE;
		rd_skip(&r, n);
	}
}

static size_t ssh_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct ssh_state *st = state;
	struct ssh_dir *d = &st->dir[dir];
	struct reader unit;
	bool cut;

	if (!d->lines.max_line)
		d->lines.max_line = SSH_MAX_LINE;
	if (!d->pdus.max_pdu)
		d->pdus.max_pdu = SSH_MAX_PACKET;
	while (rd_remaining(&r)) {
		if (d->phase == PH_BANNER) {
			if (line_next(&d->lines, &r, &unit, &cut) != FRAME_OK)
				break;
			on_line(st, s, dir, unit);
			continue;
		}
		if (d->phase == PH_PACKETS) {
			enum frame_result fr = pdu_next(&d->pdus, &r, packet_length, NULL, &unit);
			if (fr == FRAME_OK) {
				on_packet(d, s, dir, unit);
				continue;
			}
			if (fr == FRAME_TOO_BIG) {
				session_count(s, "ssh.packet_too_big");
				continue;
			}
			if (fr == FRAME_NEED_MORE)
				break;
			/* not a packet length: a text line instead (OpenSSH's
			 * "Protocol mismatch."), a cipher we did not see start,
			 * or garbage */
			if (!text_message(d, s, r)) {
				session_alert(s, ALERT_MALFORMED);
				session_count(s, "ssh.bad_packet_length");
			}
			d->phase = PH_OPAQUE;
			continue;
		}
		d->opaque_bytes += rd_remaining(&r);
		rd_skip(&r, rd_remaining(&r));
	}
	return rd_offset(&r);
}

static void ssh_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct ssh_state *st = state;
	struct ssh_dir *d = &st->dir[dir];

	(void)s;
	d->gap = true;
	switch (d->phase) {
	case PH_BANNER:
		line_gap(&d->lines);
		break;
	case PH_PACKETS:
		if (!pdu_gap(&d->pdus, missing))
			d->phase = PH_OPAQUE;
		break;
	default:
		d->opaque_bytes += missing;
		break;
	}
}

static void ssh_release(void *state)
{
	struct ssh_state *st = state;

	for (int i = 0; i < 2; i++) {
		wire_str_free(&st->dir[i].banner);
		wire_str_free(&st->dir[i].text);
		for (int j = 0; j < NL_COUNT; j++)
			wire_str_free(&st->dir[i].kex.lists[j]);
	}
}

/* ---- output ---- */

static void emit_wstr(struct emitter *e, const char *key, const struct wire_str *w)
{
	if (w->p)
		emit_strn(e, key, w->p, w->len);
	else
		emit_null(e, key);
}

/* The parts of a version line: protoversion, softwareversion, comments. */
static void emit_version_parts(const struct wire_str *b, struct emitter *e)
{
	struct reader r = rd_init(b->p, b->len);
	rd_skip(&r, 4);
	long dash = rd_find(&r, '-');
	if (dash < 0)
		return;
	emit_strn(e, "proto_version", (const char *)rd_take(&r, (size_t)dash), (size_t)dash);
	rd_skip(&r, 1);
	long sp = rd_find(&r, ' ');
	size_t n = sp < 0 ? rd_remaining(&r) : (size_t)sp;
	emit_strn(e, "software", (const char *)rd_take(&r, n), n);
	if (sp >= 0) {
		rd_skip(&r, 1);
		n = rd_remaining(&r);
		emit_strn(e, "comments", (const char *)rd_take(&r, n), n);
	}
}

static void emit_side(const struct ssh_dir *d, struct emitter *e, const char *key)
{
	emit_object_begin(e, key);
	if (d->banner.p)
		emit_version_parts(&d->banner, e);
	if (d->pre_banner)
		emit_int(e, "pre_banner_lines", d->pre_banner);
	if (d->text.p)
		emit_strn(e, "text_message", d->text.p, d->text.len);
	if (d->kex.seen) {
		const struct ssh_kexinit *k = &d->kex;
		char hex[33];
		for (int i = 0; i < 16; i++)
			snprintf(hex + 2 * i, 3, "%02x", k->cookie[i]);
		emit_object_begin(e, "kexinit");
		emit_str(e, "cookie", hex);
		for (int i = 0; i < NL_COUNT; i++)
			emit_wstr(e, namelist_keys[i], &k->lists[i]);
		emit_bool(e, "first_kex_follows", k->first_kex_follows);
		if (k->cut)
			emit_bool(e, "lists_cut", true);
		emit_object_end(e);
	}
	if (d->n_messages) {
		emit_array_begin(e, "messages");
		for (unsigned i = 0; i < d->n_messages; i++) {
			const char *name = value_name_lookup(ssh_messages, d->messages[i]);
			char num[8];
			snprintf(num, sizeof num, "%u", d->messages[i]);
			emit_str(e, NULL, name ? name : num);
		}
		emit_array_end(e);
	}
	emit_int(e, "packets", (int64_t)d->packets);
	emit_bool(e, "newkeys", d->newkeys);
	if (d->gap)
		emit_bool(e, "gap", true);
	emit_object_end(e);
}

/* The first name of the client's list that the server also offers
 * (RFC 4253 7.1), or none. */
static bool negotiate(const struct wire_str *client, const struct wire_str *server,
                      struct reader *out)
{
	struct reader c = rd_init(client->p, client->len);
	while (rd_remaining(&c)) {
		long comma = rd_find(&c, ',');
		size_t n = comma < 0 ? rd_remaining(&c) : (size_t)comma;
		struct reader name = rd_sub(&c, n);
		rd_skip(&c, comma < 0 ? 0 : 1);
		struct reader sv = rd_init(server->p, server->len);
		while (rd_remaining(&sv)) {
			long sc = rd_find(&sv, ',');
			size_t m = sc < 0 ? rd_remaining(&sv) : (size_t)sc;
			struct reader other = rd_sub(&sv, m);
			rd_skip(&sv, sc < 0 ? 0 : 1);
			if (m == n && n && memcmp(other.data, name.data, n) == 0) {
				*out = name;
				return true;
			}
		}
	}
	return false;
}

static void ssh_emit(const void *state, struct emitter *e)
{
	const struct ssh_state *st = state;
	const struct ssh_dir *c = &st->dir[DIR_CLIENT], *v = &st->dir[DIR_SERVER];

	emit_wstr(e, "client_banner", &c->banner);
	emit_wstr(e, "server_banner", &v->banner);
	if (st->v1)
		emit_int(e, "version", 1);
	else if (c->major == 2 || v->major == 2)
		emit_int(e, "version", 2);
	else
		emit_null(e, "version");
	emit_side(c, e, "client");
	emit_side(v, e, "server");
	if (c->kex.seen && c->kex.hassh[0])
		emit_str(e, "hassh", c->kex.hassh);
	if (v->kex.seen && v->kex.hassh[0])
		emit_str(e, "hassh_server", v->kex.hassh);
	if (c->kex.seen && v->kex.seen) {
		static const struct {
			const char *key;
			int list;
		} neg[] = {{"kex_algorithm", NL_KEX},       {"host_key_algorithm", NL_HOSTKEY},
		           {"cipher_c2s", NL_ENC_C2S},      {"cipher_s2c", NL_ENC_S2C},
		           {"mac_c2s", NL_MAC_C2S},         {"mac_s2c", NL_MAC_S2C},
		           {"compression_c2s", NL_CMP_C2S}, {"compression_s2c", NL_CMP_S2C}};
		emit_object_begin(e, "negotiated");
		for (size_t i = 0; i < sizeof neg / sizeof neg[0]; i++) {
			struct reader name;
			if (negotiate(&c->kex.lists[neg[i].list], &v->kex.lists[neg[i].list],
			              &name))
				emit_strn(e, neg[i].key, (const char *)name.data,
				          rd_remaining(&name));
			else
				emit_null(e, neg[i].key);
		}
		emit_object_end(e);
	}
	bool encrypted = c->newkeys || v->newkeys || st->v1;
	emit_bool(e, "encrypted", encrypted);
	if (c->opaque_bytes + v->opaque_bytes)
		emit_int(e, "encrypted_bytes", (int64_t)(c->opaque_bytes + v->opaque_bytes));
	if (c->banner.p || v->banner.p)
		emit_str(e, "note",
		         "SFTP, SCP and port forwarding run as channels inside the encrypted SSH "
		         "connection: they cannot be told apart from a shell on the wire");
}

/* "OpenSSH_7.9 -> OpenSSH_7.6p1 hassh 06046964..." */
static void ssh_summarize(const void *state, char *buf, size_t n)
{
	const struct ssh_state *st = state;
	struct summary sum = summary_start(buf, n);

	for (int i = 0; i < 2; i++) {
		const struct wire_str *b = &st->dir[i].banner;
		if (i)
			summary_add(&sum, " -> ");
		if (b->p)
			summary_add_wire(&sum, b->p, b->len);
		else
			summary_add(&sum, "(no banner)");
	}
	if (st->v1)
		summary_add(&sum, " SSH-1");
	if (st->dir[DIR_CLIENT].kex.seen && st->dir[DIR_CLIENT].kex.hassh[0])
		summary_addf(&sum, " hassh %s", st->dir[DIR_CLIENT].kex.hassh);
}

const struct dissector ssh_dissector = {
    .name = "ssh",
    .transports = TRANSPORT_BIT_TCP,
    .ports = ssh_ports,
    .state_size = sizeof(struct ssh_state),
    .probe = ssh_probe,
    .on_data = ssh_on_data,
    .on_gap = ssh_on_gap,
    .emit = ssh_emit,
    .summarize = ssh_summarize,
    .release = ssh_release,
};
