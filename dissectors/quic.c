/* QUIC (RFC 9000, RFC 9001; version 2, RFC 9369; drafts 29-34) and enough
 * of Google QUIC (Q0xx, T0xx) to name it.
 *
 * Each datagram is walked packet by packet: a long header's Length field
 * says where the next coalesced packet starts; a short header (1-RTT)
 * takes the rest of the datagram.  Initial packets are protected with keys
 * any observer can derive from the client's first Destination Connection ID
 * (src/quic_crypto.c), so the dissector removes that protection and reads
 * the frames: PADDING, PING, ACK, CRYPTO and CONNECTION_CLOSE; any other
 * frame ends the packet.  CRYPTO frames of each side are put back in order
 * (clients such as Chromium split the ClientHello over several frames and
 * packets and send them out of order) in a bounded buffer, and the bytes
 * contiguous from offset 0 go to the shared TLS handshake parser
 * (portolan/tls.h), whose facts the record carries under quic.tls.
 *
 * Which side is the client is learnt from the packets, not the ports: the
 * first Initial of a flow is the client's.  The server's Initial packets are
 * protected with keys from the same client DCID; after a Retry the client
 * uses the DCID the server chose, which is tried when the first one fails.
 *
 * Caps: QUIC_MAX_DECRYPT Initial packets decrypted per side (later ones and
 * every other packet are only counted), QUIC_CRYPTO_MAX bytes of CRYPTO
 * stream per side, QUIC_MAX_COALESCED packets per datagram, and the
 * connection-close reason cut at QUIC_REASON_MAX bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/dissector.h"
#include "portolan/quic_crypto.h"
#include "portolan/summary.h"
#include "portolan/tls.h"

/* Initial packets whose protection is removed, per side. */
#define QUIC_MAX_DECRYPT 16
/* CRYPTO stream bytes kept per side (a ClientHello is a few KiB). */
#define QUIC_CRYPTO_MAX (32 * 1024)
/* Packets walked in one datagram. */
#define QUIC_MAX_COALESCED 8
/* Bytes kept of a CONNECTION_CLOSE reason phrase. */
#define QUIC_REASON_MAX 128
/* Bytes kept of gQUIC CHLO strings (SNI, user agent). */
#define QUIC_GQUIC_STR_MAX 256
/* CHLO tags looked at. */
#define QUIC_GQUIC_MAX_TAGS 64
/* How far into a gQUIC packet the CHLO is looked for. */
#define QUIC_GQUIC_CHLO_WINDOW 128
#define QUIC_MAX_CID 20

enum { ROLE_CLIENT = 0, ROLE_SERVER = 1 };

enum quic_ptype { PT_INITIAL, PT_0RTT, PT_HANDSHAKE, PT_RETRY };

/* One side's CRYPTO stream in the Initial packet number space.  buf holds
 * QUIC_CRYPTO_MAX bytes and a bitmap of which are present; it is freed
 * whenever everything received has been handed to the TLS parser. */
struct quic_crypto_stream {
	uint8_t *buf;
	size_t filled; /* bytes present contiguously from offset 0 */
	size_t fed;    /* of those, bytes the TLS parser consumed */
	size_t end;    /* highest end offset received (within the cap) */
	bool overflow;
};

struct quic_side {
	struct quic_keys keys;
	uint32_t keys_version;
	bool have_keys, keys_failed;
	int64_t largest_pn;
	unsigned attempts, decrypted, failed, skipped;
	struct quic_crypto_stream cs;
};

struct quic_close {
	bool seen, application;
	uint8_t role;
	uint64_t code, frame_type;
	char reason[QUIC_REASON_MAX];
	size_t reason_len;
};

struct quic_state {
	bool have_version, gquic, roles_known, have_cids, have_server_cid;
	bool server_version_differs, malformed, started;
	uint8_t client_dir;
	uint32_t version, server_version;
	char gquic_version[5];
	uint8_t dcid[QUIC_MAX_CID], scid[QUIC_MAX_CID], server_scid[QUIC_MAX_CID];
	uint8_t dcid_len, scid_len, server_scid_len;
	uint8_t key_dcid[QUIC_MAX_CID]; /* what the Initial keys come from */
	uint8_t key_dcid_len;
	unsigned n_initial, n_0rtt, n_handshake, n_retry, n_short, n_vn, n_other;
	struct quic_side side[2];
	struct tls_facts *tls;
	struct quic_close close;
	char sni[QUIC_GQUIC_STR_MAX], uaid[QUIC_GQUIC_STR_MAX];
	size_t sni_len, uaid_len;
};

/* ---- varints and names ---- */

/* RFC 9000 16: the two top bits give the length. */
static uint64_t rd_varint(struct reader *r)
{
	uint8_t b = rd_u8(r);
	uint64_t v = b & 0x3f;
	unsigned more = (1u << (b >> 6)) - 1;
	for (unsigned i = 0; i < more; i++)
		v = v << 8 | rd_u8(r);
	return v;
}

static bool is_ietf_version(uint32_t v)
{
	return v == QUIC_VERSION_1 || v == QUIC_VERSION_2 ||
	       (v >= QUIC_DRAFT_FIRST && v <= QUIC_DRAFT_LAST);
}

/* 'Q' or 'T' and three digits: Google QUIC. */
static bool is_gquic_version(const uint8_t *p)
{
	return (p[0] == 'Q' || p[0] == 'T') && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
	       p[2] <= '9' && p[3] >= '0' && p[3] <= '9';
}

static void version_name(uint32_t v, char *buf, size_t n)
{
	if (v == QUIC_VERSION_1)
		snprintf(buf, n, "1");
	else if (v == QUIC_VERSION_2)
		snprintf(buf, n, "2");
	else if ((v & 0xffffff00u) == 0xff000000u)
		snprintf(buf, n, "draft-%u", v & 0xffu);
	else if (v == 0)
		snprintf(buf, n, "negotiation");
	else
		snprintf(buf, n, "0x%08x", v);
}

/* The packet type from the long header's two type bits (RFC 9369 3.2
 * moved them for version 2). */
static enum quic_ptype packet_type(uint32_t version, uint8_t first)
{
	unsigned bits = (first >> 4) & 3u;
	if (version == QUIC_VERSION_2) {
		static const enum quic_ptype v2[4] = {PT_RETRY, PT_INITIAL, PT_0RTT, PT_HANDSHAKE};
		return v2[bits];
	}
	static const enum quic_ptype v1[4] = {PT_INITIAL, PT_0RTT, PT_HANDSHAKE, PT_RETRY};
	return v1[bits];
}

static void note_malformed(struct session *s, struct quic_state *st)
{
	session_count(s, "quic.malformed");
	if (!st->malformed)
		session_alert(s, ALERT_MALFORMED);
	st->malformed = true;
}

/* ---- the probe ---- */

static enum verdict quic_probe(struct reader r, enum direction dir)
{
	(void)dir;
	int b0 = rd_peek(&r, 0);
	if (b0 < 0 || !rd_has(&r, 5))
		return VERDICT_NO;
	const uint8_t *p = r.data + r.off;
	if (b0 & 0x80) {
		uint32_t v =
		    (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
		if (is_gquic_version(p + 1))
			return VERDICT_YES;
		/* fixed bit set and a DCID length QUIC allows */
		if (is_ietf_version(v) && (b0 & 0x40) && rd_peek(&r, 5) >= 0 &&
		    rd_peek(&r, 5) <= 20)
			return VERDICT_YES;
		return VERDICT_NO;
	}
	/* gQUIC's public header (before Q046): version flag, 8-byte CID */
	if ((b0 & 0x09) == 0x09 && !(b0 & 0x80) && rd_has(&r, 13) && is_gquic_version(p + 9))
		return VERDICT_YES;
	return VERDICT_NO;
}

/* ---- the CRYPTO stream ---- */

static bool bit_get(const uint8_t *map, size_t i)
{
	return map[i / 8] & (1u << (i % 8));
}

static void feed_tls(struct session *s, struct quic_state *st, int role)
{
	struct quic_crypto_stream *cs = &st->side[role].cs;
	if (cs->filled > cs->fed) {
		if (!st->tls)
			st->tls = tls_facts_new(true);
		if (!st->tls) {
			session_count(s, "quic.out_of_memory");
			return;
		}
		size_t used =
		    tls_facts_handshake(st->tls, s, role == ROLE_CLIENT ? DIR_CLIENT : DIR_SERVER,
		                        rd_init(cs->buf + cs->fed, cs->filled - cs->fed));
		cs->fed += used > cs->filled - cs->fed ? cs->filled - cs->fed : used;
	}
	/* nothing left that the parser still needs: the buffer can go */
	if (cs->buf && cs->fed == cs->filled && cs->end <= cs->filled) {
		free(cs->buf);
		cs->buf = NULL;
	}
}

/* A CRYPTO frame's data at offset. */
static void crypto_add(struct session *s, struct quic_state *st, int role, uint64_t offset,
                       const uint8_t *data, size_t len)
{
	struct quic_crypto_stream *cs = &st->side[role].cs;
	if (offset >= QUIC_CRYPTO_MAX || len > QUIC_CRYPTO_MAX - offset) {
		if (!cs->overflow)
			session_count(s, "quic.crypto_too_long");
		cs->overflow = true;
		if (offset >= QUIC_CRYPTO_MAX)
			return;
		len = QUIC_CRYPTO_MAX - (size_t)offset;
	}
	size_t from = (size_t)offset, to = from + len;
	if (to <= cs->filled)
		return; /* a retransmission of what we have */
	if (from < cs->filled) {
		data += cs->filled - from;
		from = cs->filled;
	}
	if (!cs->buf) {
		cs->buf = calloc(1, QUIC_CRYPTO_MAX + QUIC_CRYPTO_MAX / 8);
		if (!cs->buf) {
			session_count(s, "quic.out_of_memory");
			return;
		}
		/* bits below filled are not kept: they are known present */
	}
	uint8_t *map = cs->buf + QUIC_CRYPTO_MAX;
	memcpy(cs->buf + from, data, to - from);
	for (size_t i = from; i < to; i++)
		map[i / 8] |= (uint8_t)(1u << (i % 8));
	if (to > cs->end)
		cs->end = to;
	while (cs->filled < cs->end && bit_get(map, cs->filled))
		cs->filled++;
	feed_tls(s, st, role);
}

/* ---- frames ---- */

static void read_close(struct quic_state *st, int role, uint64_t type, struct reader *r)
{
	uint64_t code = rd_varint(r);
	uint64_t frame_type = type == 0x1c ? rd_varint(r) : 0;
	uint64_t n = rd_varint(r);
	const uint8_t *reason = n <= rd_remaining(r) ? rd_take(r, (size_t)n) : NULL;
	if (!reason) {
		rd_fail(r);
		return;
	}
	if (st->close.seen)
		return;
	st->close.seen = true;
	st->close.application = type == 0x1d;
	st->close.role = (uint8_t)role;
	st->close.code = code;
	st->close.frame_type = frame_type;
	st->close.reason_len = n < QUIC_REASON_MAX ? (size_t)n : QUIC_REASON_MAX;
	memcpy(st->close.reason, reason, st->close.reason_len);
}

/* The frames of one decrypted Initial packet. */
static void parse_frames(struct session *s, struct quic_state *st, int role, struct reader r)
{
	while (rd_remaining(&r) && rd_ok(&r)) {
		uint64_t type = rd_varint(&r);
		switch (type) {
		case 0x00: /* PADDING: skip the whole run */
			while (rd_peek(&r, 0) == 0)
				rd_skip(&r, 1);
			break;
		case 0x01: /* PING */
			break;
		case 0x02:
		case 0x03: {           /* ACK, ACK with ECN counts */
			rd_varint(&r); /* largest acknowledged */
			rd_varint(&r); /* delay */
			uint64_t ranges = rd_varint(&r);
			rd_varint(&r); /* first range */
			for (uint64_t i = 0; i < ranges && rd_ok(&r); i++) {
				rd_varint(&r); /* gap */
				rd_varint(&r); /* range length */
			}
			if (type == 0x03) {
				rd_varint(&r);
				rd_varint(&r);
				rd_varint(&r);
			}
			break;
		}
		case 0x06: { /* CRYPTO */
			uint64_t offset = rd_varint(&r);
			uint64_t len = rd_varint(&r);
			const uint8_t *data =
			    len <= rd_remaining(&r) ? rd_take(&r, (size_t)len) : NULL;
			if (!data || !rd_ok(&r)) {
				rd_fail(&r);
				break;
			}
			crypto_add(s, st, role, offset, data, (size_t)len);
			break;
		}
		case 0x1c:
		case 0x1d: /* CONNECTION_CLOSE */
			read_close(st, role, type, &r);
			break;
		default:
			session_count(s, "quic.frame_not_parsed");
			return;
		}
	}
	if (!rd_ok(&r))
		note_malformed(s, st);
}

/* ---- Initial packets ---- */

static bool derive(struct session *s, struct quic_side *sd, uint32_t version, const uint8_t *dcid,
                   size_t dcid_len, bool server)
{
	sd->have_keys = quic_initial_keys(version, dcid, dcid_len, server, &sd->keys);
	sd->keys_version = version;
	if (!sd->have_keys)
		session_count(s, "quic.no_initial_keys");
	return sd->have_keys;
}

/* Tries to open a copy of the packet with the side's keys; parses its frames
 * when it authenticates. */
static bool try_open(struct session *s, struct quic_state *st, int role, const uint8_t *pkt,
                     size_t len, size_t pn_offset)
{
	struct quic_side *sd = &st->side[role];
	uint8_t *copy = malloc(len);
	if (!copy) {
		session_count(s, "quic.out_of_memory");
		return false;
	}
	memcpy(copy, pkt, len);
	size_t off, plen;
	uint64_t pn;
	bool ok = quic_open_long(&sd->keys, copy, len, pn_offset, sd->largest_pn, &off, &plen, &pn);
	if (ok) {
		if ((int64_t)pn > sd->largest_pn)
			sd->largest_pn = (int64_t)pn;
		sd->decrypted++;
		parse_frames(s, st, role, rd_init(copy + off, plen));
	}
	free(copy);
	return ok;
}

static void on_initial(struct session *s, struct quic_state *st, int role, uint32_t version,
                       const uint8_t *dcid, size_t dcid_len, const uint8_t *pkt, size_t len,
                       size_t pn_offset)
{
	struct quic_side *sd = &st->side[role];
	if (!quic_version_has_initial_keys(version))
		return;
	if (sd->attempts >= QUIC_MAX_DECRYPT) {
		sd->skipped++;
		session_count(s, "quic.initial_not_decrypted");
		return;
	}
	sd->attempts++;
	if (!st->key_dcid_len) {
		if (role == ROLE_SERVER)
			return; /* the client's DCID was not seen */
		memcpy(st->key_dcid, dcid, dcid_len);
		st->key_dcid_len = (uint8_t)dcid_len;
	}
	if ((!sd->have_keys || sd->keys_version != version) &&
	    !derive(s, sd, version, st->key_dcid, st->key_dcid_len, role == ROLE_SERVER))
		return;
	if (try_open(s, st, role, pkt, len, pn_offset))
		return;
	/* after a Retry the client's keys come from the DCID the server chose */
	if (role == ROLE_CLIENT && dcid_len &&
	    (dcid_len != st->key_dcid_len || memcmp(dcid, st->key_dcid, dcid_len) != 0)) {
		struct quic_keys old = sd->keys;
		int64_t old_largest = sd->largest_pn;
		if (quic_initial_keys(version, dcid, dcid_len, false, &sd->keys)) {
			sd->largest_pn = -1;
			if (try_open(s, st, role, pkt, len, pn_offset)) {
				memcpy(st->key_dcid, dcid, dcid_len);
				st->key_dcid_len = (uint8_t)dcid_len;
				st->side[ROLE_SERVER].have_keys = false; /* derive again */
				st->side[ROLE_SERVER].largest_pn = -1;
				return;
			}
		}
		sd->keys = old;
		sd->largest_pn = old_largest;
	}
	sd->failed++;
	session_count(s, "quic.decrypt_failed");
}

/* ---- Google QUIC ---- */

static void keep_str(char *dst, size_t *dst_len, const uint8_t *src, size_t n)
{
	*dst_len = n < QUIC_GQUIC_STR_MAX ? n : QUIC_GQUIC_STR_MAX;
	memcpy(dst, src, *dst_len);
}

/* A cleartext CHLO (gQUIC before TLS: Q046 and older): "CHLO", a tag count,
 * then (tag, end offset) pairs and the values back to back. */
static void gquic_chlo(struct quic_state *st, struct reader r)
{
	size_t window =
	    rd_remaining(&r) < QUIC_GQUIC_CHLO_WINDOW ? rd_remaining(&r) : QUIC_GQUIC_CHLO_WINDOW;
	const uint8_t *p = r.data + r.off;
	const uint8_t *at = window >= 4 ? memmem(p, window, "CHLO", 4) : NULL;
	if (!at)
		return;
	rd_skip(&r, (size_t)(at - p) + 4);
	unsigned n = rd_le16(&r);
	rd_skip(&r, 2);
	if (!rd_ok(&r) || n > QUIC_GQUIC_MAX_TAGS || !rd_has(&r, (size_t)n * 8))
		return;
	struct reader tags = rd_sub(&r, (size_t)n * 8);
	struct reader values = rd_rest(&r);
	uint32_t prev = 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t tag[4];
		rd_copy(&tags, tag, 4);
		uint32_t end = rd_le32(&tags);
		if (!rd_ok(&tags) || end < prev || end > rd_length(&values))
			return;
		const uint8_t *v = values.data + prev;
		if (memcmp(tag, "SNI\0", 4) == 0 && !st->sni_len)
			keep_str(st->sni, &st->sni_len, v, end - prev);
		else if (memcmp(tag, "UAID", 4) == 0 && !st->uaid_len)
			keep_str(st->uaid, &st->uaid_len, v, end - prev);
		prev = end;
	}
}

static void on_gquic(struct quic_state *st, const uint8_t *version, struct reader r)
{
	if (!st->have_version) {
		st->have_version = st->gquic = true;
		memcpy(st->gquic_version, version, 4);
		st->gquic_version[4] = 0;
	}
	if (!st->sni_len)
		gquic_chlo(st, r);
}

/* ---- the datagram ---- */

static void remember_cids(struct quic_state *st, int role, const uint8_t *dcid, size_t dcid_len,
                          const uint8_t *scid, size_t scid_len)
{
	if (role == ROLE_CLIENT && !st->have_cids) {
		st->have_cids = true;
		memcpy(st->dcid, dcid, dcid_len);
		st->dcid_len = (uint8_t)dcid_len;
		memcpy(st->scid, scid, scid_len);
		st->scid_len = (uint8_t)scid_len;
	} else if (role == ROLE_SERVER && !st->have_server_cid) {
		st->have_server_cid = true;
		memcpy(st->server_scid, scid, scid_len);
		st->server_scid_len = (uint8_t)scid_len;
	}
}

/* One long-header packet at the reader's position; false when the rest of
 * the datagram cannot be walked. */
static bool long_packet(struct session *s, struct quic_state *st, enum direction dir,
                        struct reader *r)
{
	size_t start = rd_offset(r);
	uint8_t first = rd_u8(r);
	uint32_t version = rd_be32(r);
	if (!rd_ok(r)) {
		note_malformed(s, st);
		return false;
	}
	if (version == 0) { /* version negotiation: the rest is a version list */
		st->n_vn++;
		return false;
	}
	if (is_gquic_version(r->data + start + 1)) {
		on_gquic(st, r->data + start + 1, *r);
		return false;
	}
	if (!st->have_version) {
		st->have_version = true;
		st->version = version;
	}
	size_t dcid_len = rd_u8(r);
	const uint8_t *dcid = dcid_len <= QUIC_MAX_CID ? rd_take(r, dcid_len) : NULL;
	size_t scid_len = rd_u8(r);
	const uint8_t *scid = scid_len <= QUIC_MAX_CID ? rd_take(r, scid_len) : NULL;
	if (!dcid || !scid || !rd_ok(r)) {
		note_malformed(s, st);
		return false;
	}
	if (!is_ietf_version(version)) {
		st->n_other++;
		return false;
	}
	enum quic_ptype type = packet_type(version, first);
	if (type == PT_INITIAL && !st->roles_known) {
		st->roles_known = true; /* the client speaks first */
		st->client_dir = (uint8_t)dir;
	}
	int role = st->roles_known && dir != st->client_dir ? ROLE_SERVER : ROLE_CLIENT;
	if (role == ROLE_CLIENT && !st->have_cids && type == PT_INITIAL)
		st->version = version; /* the client's first Initial names it */
	if (role == ROLE_SERVER && version != st->version && !st->server_version_differs) {
		st->server_version_differs = true;
		st->server_version = version;
	}
	if (type == PT_RETRY) {
		st->n_retry++;
		return false;
	}
	if (type == PT_INITIAL) {
		uint64_t token_len = rd_varint(r);
		if (token_len > rd_remaining(r)) {
			note_malformed(s, st);
			return false;
		}
		rd_skip(r, (size_t)token_len);
	}
	uint64_t length = rd_varint(r);
	if (!rd_ok(r) || length > rd_remaining(r)) {
		session_count(s, "quic.packet_truncated");
		return false;
	}
	size_t pn_offset = rd_offset(r) - start;
	rd_skip(r, (size_t)length);
	switch (type) {
	case PT_INITIAL:
		st->n_initial++;
		remember_cids(st, role, dcid, dcid_len, scid, scid_len);
		on_initial(s, st, role, version, dcid, dcid_len, r->data + start,
		           pn_offset + length, pn_offset);
		break;
	case PT_0RTT:
		st->n_0rtt++;
		break;
	default:
		st->n_handshake++;
		break;
	}
	return true;
}

static size_t quic_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct quic_state *st = state;
	size_t total = rd_remaining(&r);
	if (!st->started) {
		st->started = true;
		st->side[0].largest_pn = st->side[1].largest_pn = -1;
	}
	for (int i = 0; rd_remaining(&r) && i < QUIC_MAX_COALESCED; i++) {
		int b0 = rd_peek(&r, 0);
		if (b0 == 0)
			break; /* zero padding after the last packet */
		if (b0 & 0x80) {
			if (!long_packet(s, st, dir, &r))
				break;
			continue;
		}
		/* gQUIC's public header with a version (the client's first packets) */
		if ((b0 & 0x09) == 0x09 && rd_has(&r, 13) && is_gquic_version(r.data + r.off + 9)) {
			on_gquic(st, r.data + r.off + 9, r);
			break;
		}
		st->n_short++;
		break;
	}
	return total;
}

static void quic_release(void *state)
{
	struct quic_state *st = state;
	for (int i = 0; i < 2; i++) {
		free(st->side[i].cs.buf);
		st->side[i].cs.buf = NULL;
	}
	tls_facts_free(st->tls);
	st->tls = NULL;
}

/* ---- output ---- */

static void emit_hex(struct emitter *e, const char *key, const uint8_t *b, size_t n)
{
	char hex[2 * QUIC_MAX_CID + 1];
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n && i < QUIC_MAX_CID; i++) {
		hex[2 * i] = digits[b[i] >> 4];
		hex[2 * i + 1] = digits[b[i] & 15];
	}
	emit_strn(e, key, hex, 2 * (n < QUIC_MAX_CID ? n : QUIC_MAX_CID));
}

static void quic_emit(const void *state, struct emitter *e)
{
	const struct quic_state *st = state;
	char name[24];
	if (st->gquic) {
		emit_str(e, "version", st->gquic_version);
		emit_bool(e, "gquic", true);
	} else if (st->have_version) {
		version_name(st->version, name, sizeof name);
		emit_str(e, "version", name);
	} else {
		emit_null(e, "version");
	}
	if (st->server_version_differs) {
		version_name(st->server_version, name, sizeof name);
		emit_str(e, "server_version", name);
	}
	if (st->have_cids) {
		emit_hex(e, "dcid", st->dcid, st->dcid_len);
		emit_hex(e, "scid", st->scid, st->scid_len);
	}
	if (st->have_server_cid)
		emit_hex(e, "server_scid", st->server_scid, st->server_scid_len);
	if (st->sni_len)
		emit_strn(e, "sni", st->sni, st->sni_len);
	if (st->uaid_len)
		emit_strn(e, "user_agent", st->uaid, st->uaid_len);
	if (!st->gquic) {
		emit_object_begin(e, "packets");
		emit_int(e, "initial", st->n_initial);
		emit_int(e, "0rtt", st->n_0rtt);
		emit_int(e, "handshake", st->n_handshake);
		emit_int(e, "retry", st->n_retry);
		emit_int(e, "short", st->n_short);
		if (st->n_vn)
			emit_int(e, "version_negotiation", st->n_vn);
		if (st->n_other)
			emit_int(e, "other_version", st->n_other);
		emit_object_end(e);
		emit_object_begin(e, "decrypted");
		emit_int(e, "client", st->side[ROLE_CLIENT].decrypted);
		emit_int(e, "server", st->side[ROLE_SERVER].decrypted);
		emit_object_end(e);
		unsigned failed = st->side[0].failed + st->side[1].failed;
		unsigned skipped = st->side[0].skipped + st->side[1].skipped;
		if (failed)
			emit_int(e, "decrypt_failed", failed);
		if (skipped)
			emit_int(e, "not_decrypted", skipped);
		if (st->side[0].cs.overflow || st->side[1].cs.overflow)
			emit_bool(e, "crypto_truncated", true);
	}
	if (st->close.seen) {
		emit_object_begin(e, "connection_close");
		emit_str(e, "from", st->close.role == ROLE_CLIENT ? "client" : "server");
		emit_bool(e, "application", st->close.application);
		emit_int(e, "error_code", (int64_t)(st->close.code & INT64_MAX));
		if (!st->close.application)
			emit_int(e, "frame_type", (int64_t)(st->close.frame_type & INT64_MAX));
		emit_strn(e, "reason", st->close.reason, st->close.reason_len);
		emit_object_end(e);
	}
	if (st->tls && (st->side[0].cs.fed || st->side[1].cs.fed)) {
		emit_object_begin(e, "tls");
		tls_facts_emit(st->tls, e);
		emit_object_end(e);
	}
}

static void quic_summarize(const void *state, char *buf, size_t n)
{
	const struct quic_state *st = state;
	struct summary sum = summary_start(buf, n);
	char name[24];
	if (st->gquic) {
		summary_add(&sum, "gQUIC ");
		summary_add(&sum, st->gquic_version);
		if (st->sni_len) {
			summary_add(&sum, " sni ");
			summary_add_wire(&sum, st->sni, st->sni_len);
		}
		return;
	}
	if (!st->have_version) {
		summary_add(&sum, "QUIC (no long header seen)");
		return;
	}
	version_name(st->version, name, sizeof name);
	summary_add(&sum, "QUIC ");
	summary_add(&sum, name);
	if (st->tls && (st->side[0].cs.fed || st->side[1].cs.fed)) {
		char tls[256];
		tls_facts_summarize(st->tls, tls, sizeof tls);
		if (tls[0]) {
			summary_add(&sum, " ");
			summary_add(&sum, tls);
		}
	}
	if (st->close.seen) {
		summary_add(&sum, " closed: ");
		summary_add_wire(&sum, st->close.reason, st->close.reason_len);
	}
}

static const uint16_t quic_ports[] = {443, 0};

const struct dissector quic_dissector = {
    .name = "quic",
    .transports = TRANSPORT_BIT_UDP,
    .ports = quic_ports,
    .state_size = sizeof(struct quic_state),
    .probe = quic_probe,
    .on_data = quic_on_data,
    .emit = quic_emit,
    .summarize = quic_summarize,
    .release = quic_release,
};
