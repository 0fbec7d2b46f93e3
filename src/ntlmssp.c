/* NTLMSSP messages (MS-NLMP 2.2.1): see include/portolan/ntlmssp.h. */
#include <string.h>

#include "portolan/ntlmssp.h"

static const uint8_t signature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

/* AV pair ids (MS-NLMP 2.2.2.1) */
enum { AV_EOL = 0, AV_NB_COMPUTER = 1, AV_NB_DOMAIN = 2, AV_DNS_COMPUTER = 3, AV_DNS_DOMAIN = 4 };
/* AV pairs read from one target info, at most. */
#define NTLMSSP_MAX_AV_PAIRS 64

bool ntlmssp_find(struct reader blob, struct reader *msg)
{
	if (!rd_ok(&blob))
		return false;
	const uint8_t *p = blob.data + blob.off;
	size_t n = rd_remaining(&blob);
	for (size_t i = 0; n >= sizeof signature && i <= n - sizeof signature; i++) {
		const uint8_t *hit = memchr(p + i, 'N', n - sizeof signature + 1 - i);
		if (!hit)
			break;
		i = (size_t)(hit - p);
		if (memcmp(hit, signature, sizeof signature) == 0) {
			*msg = rd_init(hit, n - i);
			return true;
		}
	}
	return false;
}

/* A (length, max length, offset) field at the reader's cursor: the span of
 * msg it names, or an empty reader (counted in bad) when it lies outside. */
static struct reader field(struct reader *hdr, struct reader msg, unsigned *bad)
{
	uint16_t len = rd_le16(hdr);
	rd_skip(hdr, 2); /* MaxLen: not trusted */
	uint32_t off = rd_le32(hdr);
	struct reader empty = rd_init(NULL, 0);
	if (!rd_ok(hdr) || len == 0)
		return empty;
	if (off > msg.len || len > msg.len - off) {
		(*bad)++;
		return empty;
	}
	return rd_init(msg.data + off, len);
}

static void version(struct reader *r, struct ntlmssp_msg *m)
{
	if (!(m->flags & NTLMSSP_FLAG_VERSION) || !rd_has(r, 8))
		return;
	m->major = rd_u8(r);
	m->minor = rd_u8(r);
	m->build = rd_le16(r);
	m->has_version = true;
}

static void target_info(struct reader ti, struct ntlmssp_msg *m)
{
	for (unsigned i = 0; i < NTLMSSP_MAX_AV_PAIRS && rd_has(&ti, 4); i++) {
		uint16_t id = rd_le16(&ti);
		uint16_t len = rd_le16(&ti);
		if (id == AV_EOL)
			return;
		struct reader v = rd_sub(&ti, len);
		if (!rd_ok(&ti)) {
			m->bad_fields++;
			return;
		}
		switch (id) {
		case AV_NB_COMPUTER:
			m->nb_computer = v;
			break;
		case AV_NB_DOMAIN:
			m->nb_domain = v;
			break;
		case AV_DNS_COMPUTER:
			m->dns_computer = v;
			break;
		case AV_DNS_DOMAIN:
			m->dns_domain = v;
			break;
		default:
			break;
		}
	}
}

bool ntlmssp_parse(struct reader msg, struct ntlmssp_msg *out)
{
	memset(out, 0, sizeof *out);
	struct reader empty = rd_init(NULL, 0);
	out->domain = out->user = out->workstation = out->target_name = empty;
	out->nb_computer = out->nb_domain = out->dns_computer = out->dns_domain = empty;
	if (!rd_ok(&msg))
		return false;
	/* offsets count from the signature: rebase on it */
	struct reader m = rd_init(msg.data + msg.off, rd_remaining(&msg));
	struct reader h = m;
	if (!rd_starts_with(&h, signature, sizeof signature))
		return false;
	rd_skip(&h, sizeof signature);
	uint32_t type = rd_le32(&h);
	switch (type) {
	case NTLMSSP_NEGOTIATE:
		out->flags = rd_le32(&h);
		if (!rd_ok(&h))
			return false;
		/* the domain and workstation fields are optional in old clients */
		if (rd_has(&h, 16)) {
			struct reader d = field(&h, m, &out->bad_fields);
			struct reader w = field(&h, m, &out->bad_fields);
			if (out->flags & NTLMSSP_FLAG_DOMAIN_SUPPLIED)
				out->domain = d;
			if (out->flags & NTLMSSP_FLAG_WORKSTATION_SUPPLIED)
				out->workstation = w;
			version(&h, out);
		}
		out->unicode = false; /* MS-NLMP: these two are OEM */
		break;
	case NTLMSSP_CHALLENGE: {
		struct reader target = field(&h, m, &out->bad_fields);
		out->flags = rd_le32(&h);
		rd_skip(&h, 8 + 8); /* ServerChallenge, Reserved */
		if (!rd_ok(&h))
			return false;
		out->unicode = (out->flags & NTLMSSP_FLAG_UNICODE) != 0;
		out->target_name = target;
		if (rd_has(&h, 8)) {
			struct reader ti = field(&h, m, &out->bad_fields);
			target_info(ti, out);
			version(&h, out);
		}
		break;
	}
	case NTLMSSP_AUTHENTICATE: {
		struct reader f[6];
		uint16_t lens[2] = {0, 0};
		for (int i = 0; i < 6; i++) {
			if (i < 2 && rd_has(&h, 2))
				lens[i] = (uint16_t)(h.data[h.off] | h.data[h.off + 1] << 8);
			f[i] = field(&h, m, &out->bad_fields);
		}
		if (!rd_ok(&h))
			return false;
		/* NegotiateFlags are optional in the oldest form (NTLMv1 over
		 * SMB without them): then the names are taken as Unicode */
		if (rd_has(&h, 4)) {
			out->flags = rd_le32(&h);
			version(&h, out);
		} else {
			out->flags = NTLMSSP_FLAG_UNICODE;
		}
		out->unicode =
		    !(out->flags & NTLMSSP_FLAG_OEM) || (out->flags & NTLMSSP_FLAG_UNICODE);
		out->lm_response_len = lens[0];
		out->nt_response_len = lens[1];
		out->domain = f[2];
		out->user = f[3];
		out->workstation = f[4];
		break;
	}
	default:
		return false;
	}
	out->type = (enum ntlmssp_type)type;
	return true;
}

bool ntlmssp_is_anonymous(const struct ntlmssp_msg *m)
{
	return m->type == NTLMSSP_AUTHENTICATE && m->user.len == 0 && m->nt_response_len == 0 &&
	       m->lm_response_len <= 1;
}

/* Appends the UTF-8 form of c; false when it does not fit. */
static bool put_utf8(uint32_t c, char *out, size_t cap, size_t *len)
{
	uint8_t b[4];
	size_t k;
	if (c < 0x80) {
		b[0] = (uint8_t)c;
		k = 1;
	} else if (c < 0x800) {
		b[0] = (uint8_t)(0xc0 | c >> 6);
		b[1] = (uint8_t)(0x80 | (c & 0x3f));
		k = 2;
	} else if (c < 0x10000) {
		b[0] = (uint8_t)(0xe0 | c >> 12);
		b[1] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
		b[2] = (uint8_t)(0x80 | (c & 0x3f));
		k = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | c >> 18);
		b[1] = (uint8_t)(0x80 | (c >> 12 & 0x3f));
		b[2] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
		b[3] = (uint8_t)(0x80 | (c & 0x3f));
		k = 4;
	}
	if (*len + k + 1 > cap)
		return false;
	memcpy(out + *len, b, k);
	*len += k;
	return true;
}

size_t utf16le_to_utf8(const uint8_t *p, size_t n, char *out, size_t cap, bool *cut)
{
	size_t len = 0;
	bool was_cut = false;

	if (cap == 0) {
		if (cut)
			*cut = n >= 2;
		return 0;
	}
	for (size_t i = 0; p && i + 1 < n; i += 2) {
		uint32_t c = (uint32_t)(p[i] | p[i + 1] << 8);
		if (c == 0)
			break;
		if (c >= 0xd800 && c <= 0xdbff && i + 3 < n) {
			uint32_t lo = (uint32_t)(p[i + 2] | p[i + 3] << 8);
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i += 2;
			} else {
				c = 0xfffd;
			}
		} else if (c >= 0xd800 && c <= 0xdfff) {
			c = 0xfffd;
		}
		if (!put_utf8(c, out, cap, &len)) {
			was_cut = true;
			break;
		}
	}
	out[len] = '\0';
	if (cut)
		*cut = was_cut;
	return len;
}

size_t ntlmssp_text(struct reader f, bool unicode, char *out, size_t n, bool *cut)
{
	const uint8_t *p = rd_ok(&f) ? f.data + f.off : NULL;
	size_t len = rd_ok(&f) ? rd_remaining(&f) : 0;

	if (unicode)
		return utf16le_to_utf8(p, len, out, n, cut);
	if (cut)
		*cut = false;
	if (n == 0) {
		if (cut)
			*cut = len > 0;
		return 0;
	}
	size_t k = 0;
	while (k < len && p[k] != 0)
		k++;
	if (k > n - 1) {
		k = n - 1;
		if (cut)
			*cut = true;
	}
	if (k)
		memcpy(out, p, k);
	out[k] = '\0';
	return k;
}
