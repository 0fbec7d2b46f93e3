/* QUIC Initial packet protection through libcrypto's EVP interfaces: HKDF
 * (EVP_PKEY_HKDF), AES-128-ECB for the header protection mask and
 * AES-128-GCM for the payload (RFC 9001 5.2-5.4, RFC 9369 3.3). */
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "portolan/quic_crypto.h"

/* RFC 9001 5.2; also draft-ietf-quic-tls-33 and -34. */
static const uint8_t salt_v1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
/* RFC 9369 3.3.1 */
static const uint8_t salt_v2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                    0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
/* draft-ietf-quic-tls-29 .. -32 */
static const uint8_t salt_draft29[20] = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2,
                                         0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61,
                                         0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};

static const uint8_t *initial_salt(uint32_t version)
{
	if (version == QUIC_VERSION_1)
		return salt_v1;
	if (version == QUIC_VERSION_2)
		return salt_v2;
	if (version >= QUIC_DRAFT_FIRST && version <= 0xff000020u) /* drafts 29-32 */
		return salt_draft29;
	if (version > 0xff000020u && version <= QUIC_DRAFT_LAST) /* drafts 33-34 */
		return salt_v1;
	return NULL;
}

bool quic_version_has_initial_keys(uint32_t version)
{
	return initial_salt(version) != NULL;
}

/* One HKDF step: extract (salt, ikm) or expand (prk in ikm, info). */
static bool hkdf(int mode, const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                 const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	if (!c)
		return false;
	size_t n = out_len;
	bool ok = EVP_PKEY_derive_init(c) > 0 && EVP_PKEY_CTX_set_hkdf_md(c, EVP_sha256()) > 0 &&
	          EVP_PKEY_CTX_set_hkdf_mode(c, mode) > 0 &&
	          EVP_PKEY_CTX_set1_hkdf_key(c, ikm, (int)ikm_len) > 0;
	if (ok && salt)
		ok = EVP_PKEY_CTX_set1_hkdf_salt(c, salt, (int)salt_len) > 0;
	if (ok && info)
		ok = EVP_PKEY_CTX_add1_hkdf_info(c, info, (int)info_len) > 0;
	ok = ok && EVP_PKEY_derive(c, out, &n) > 0 && n == out_len;
	EVP_PKEY_CTX_free(c);
	return ok;
}

bool quic_hkdf_expand_label(const uint8_t *secret, size_t secret_len, const char *label,
                            uint8_t *out, size_t out_len)
{
	/* struct HkdfLabel: uint16 length, opaque label<7..255> = "tls13 " +
	 * label, opaque context<0..255> = "" */
	uint8_t info[2 + 1 + 255 + 1];
	size_t label_len = strlen(label);
	if (label_len > 255 - 6 || out_len > 255 || !secret_len || secret_len > INT_MAX)
		return false;
	size_t n = 0;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(6 + label_len);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, label_len);
	n += label_len;
	info[n++] = 0;
	return hkdf(EVP_PKEY_HKDEF_MODE_EXPAND_ONLY, NULL, 0, secret, secret_len, info, n, out,
	            out_len);
}

bool quic_initial_secret(uint32_t version, const uint8_t *dcid, size_t dcid_len, bool server,
                         uint8_t secret[QUIC_SECRET_LEN])
{
	const uint8_t *salt = initial_salt(version);
	uint8_t prk[QUIC_SECRET_LEN];
	/* a DCID is at most 20 bytes (RFC 9000 17.2); HKDF needs some key */
	if (!salt || !dcid || dcid_len == 0 || dcid_len > 20)
		return false;
	bool ok = hkdf(EVP_PKEY_HKDEF_MODE_EXTRACT_ONLY, salt, 20, dcid, dcid_len, NULL, 0, prk,
	               sizeof prk) &&
	          quic_hkdf_expand_label(prk, sizeof prk, server ? "server in" : "client in",
	                                 secret, QUIC_SECRET_LEN);
	memset(prk, 0, sizeof prk);
	return ok;
}

bool quic_keys_from_secret(uint32_t version, const uint8_t secret[QUIC_SECRET_LEN],
                           struct quic_keys *k)
{
	bool v2 = version == QUIC_VERSION_2;
	return quic_hkdf_expand_label(secret, QUIC_SECRET_LEN, v2 ? "quicv2 key" : "quic key",
	                              k->key, sizeof k->key) &&
	       quic_hkdf_expand_label(secret, QUIC_SECRET_LEN, v2 ? "quicv2 iv" : "quic iv", k->iv,
	                              sizeof k->iv) &&
	       quic_hkdf_expand_label(secret, QUIC_SECRET_LEN, v2 ? "quicv2 hp" : "quic hp", k->hp,
	                              sizeof k->hp);
}

bool quic_initial_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len, bool server,
                       struct quic_keys *k)
{
	uint8_t secret[QUIC_SECRET_LEN];
	bool ok = quic_initial_secret(version, dcid, dcid_len, server, secret) &&
	          quic_keys_from_secret(version, secret, k);
	memset(secret, 0, sizeof secret);
	return ok;
}

bool quic_hp_mask(const uint8_t hp[QUIC_HP_LEN], const uint8_t sample[QUIC_SAMPLE_LEN],
                  uint8_t mask[5])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t out[QUIC_SAMPLE_LEN + 16];
	int n = 0;
	if (!c)
		return false;
	bool ok = EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, hp, NULL) > 0 &&
	          EVP_CIPHER_CTX_set_padding(c, 0) > 0 &&
	          EVP_EncryptUpdate(c, out, &n, sample, QUIC_SAMPLE_LEN) > 0 &&
	          n == QUIC_SAMPLE_LEN;
	EVP_CIPHER_CTX_free(c);
	if (ok)
		memcpy(mask, out, 5);
	return ok;
}

uint64_t quic_decode_pn(int64_t largest, uint64_t truncated, unsigned pn_len)
{
	if (largest < 0 || pn_len == 0 || pn_len > 4)
		return truncated;
	uint64_t expected = (uint64_t)largest + 1;
	uint64_t win = (uint64_t)1 << (pn_len * 8), hwin = win / 2, mask = win - 1;
	uint64_t candidate = (expected & ~mask) | truncated;
	if (candidate + hwin <= expected && candidate < ((uint64_t)1 << 62) - win)
		return candidate + win;
	if (candidate > expected + hwin && candidate >= win)
		return candidate - win;
	return candidate;
}

static bool aes_gcm_open(const struct quic_keys *k, const uint8_t nonce[QUIC_IV_LEN],
                         const uint8_t *aad, size_t aad_len, uint8_t *data, size_t len,
                         const uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;
	if (!c)
		return false;
	bool ok = len <= INT_MAX && aad_len <= INT_MAX &&
	          EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL) > 0 &&
	          EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, QUIC_IV_LEN, NULL) > 0 &&
	          EVP_DecryptInit_ex(c, NULL, NULL, k->key, nonce) > 0 &&
	          EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) > 0 &&
	          (len == 0 || EVP_DecryptUpdate(c, data, &n, data, (int)len) > 0) &&
	          EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, QUIC_TAG_LEN, (void *)tag) > 0 &&
	          EVP_DecryptFinal_ex(c, data + (len ? (size_t)n : 0), &n) > 0;
	EVP_CIPHER_CTX_free(c);
	return ok;
}

bool quic_open_long(const struct quic_keys *k, uint8_t *pkt, size_t len, size_t pn_offset,
                    int64_t largest_pn, size_t *payload_off, size_t *payload_len, uint64_t *pn)
{
	uint8_t mask[5];
	/* the sample starts 4 bytes past the packet number's start */
	if (!pkt || pn_offset < 1 || pn_offset > len || len - pn_offset < 4 + QUIC_SAMPLE_LEN)
		return false;
	if (!quic_hp_mask(k->hp, pkt + pn_offset + 4, mask))
		return false;
	pkt[0] ^= mask[0] & 0x0f; /* long header: the low 4 bits */
	unsigned pn_len = (pkt[0] & 0x03) + 1u;
	uint64_t truncated = 0;
	for (unsigned i = 0; i < pn_len; i++) {
		pkt[pn_offset + i] ^= mask[1 + i];
		truncated = truncated << 8 | pkt[pn_offset + i];
	}
	size_t hdr_len = pn_offset + pn_len;
	if (len - hdr_len < QUIC_TAG_LEN)
		return false;
	uint64_t full = quic_decode_pn(largest_pn, truncated, pn_len);
	uint8_t nonce[QUIC_IV_LEN];
	memcpy(nonce, k->iv, sizeof nonce);
	for (unsigned i = 0; i < 8; i++)
		nonce[QUIC_IV_LEN - 1 - i] ^= (uint8_t)(full >> (8 * i));
	size_t ct_len = len - hdr_len - QUIC_TAG_LEN;
	if (!aes_gcm_open(k, nonce, pkt, hdr_len, pkt + hdr_len, ct_len, pkt + len - QUIC_TAG_LEN))
		return false;
	*payload_off = hdr_len;
	*payload_len = ct_len;
	*pn = full;
	return true;
}
