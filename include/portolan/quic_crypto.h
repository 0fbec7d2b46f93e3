/* QUIC Initial packet protection (RFC 9001 section 5, RFC 9369 for QUIC
 * version 2), for a passive observer: the Initial keys come from the
 * client's first Destination Connection ID and a per-version salt, so
 * anyone can remove the protection.  Everything here is libcrypto's (HKDF,
 * AES-ECB, AES-GCM through EVP); nothing is hand-written crypto.  Kept apart
 * from the dissector so tests and fuzzers reach it directly.
 */
#ifndef PORTOLAN_QUIC_CRYPTO_H
#define PORTOLAN_QUIC_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUIC_VERSION_1 0x00000001u
#define QUIC_VERSION_2 0x6b3343cfu
/* draft-ietf-quic-transport-29 .. -34 */
#define QUIC_DRAFT_FIRST 0xff00001du
#define QUIC_DRAFT_LAST 0xff000022u

#define QUIC_SECRET_LEN 32
#define QUIC_KEY_LEN 16
#define QUIC_IV_LEN 12
#define QUIC_HP_LEN 16
#define QUIC_TAG_LEN 16
#define QUIC_SAMPLE_LEN 16

/* The keys protecting one direction's Initial packets. */
struct quic_keys {
	uint8_t key[QUIC_KEY_LEN];
	uint8_t iv[QUIC_IV_LEN];
	uint8_t hp[QUIC_HP_LEN];
};

/* Whether we know how Initial packets of this version are protected. */
bool quic_version_has_initial_keys(uint32_t version);

/* HKDF-Expand-Label (RFC 8446 7.1) with SHA-256 and an empty context. */
bool quic_hkdf_expand_label(const uint8_t *secret, size_t secret_len, const char *label,
                            uint8_t *out, size_t out_len);

/* The client's (server = false) or the server's Initial secret for this
 * version and client DCID (RFC 9001 5.2). */
bool quic_initial_secret(uint32_t version, const uint8_t *dcid, size_t dcid_len, bool server,
                         uint8_t secret[QUIC_SECRET_LEN]);

/* The key, IV and header protection key from a secret ("quic key" ..., or
 * "quicv2 key" ... for version 2). */
bool quic_keys_from_secret(uint32_t version, const uint8_t secret[QUIC_SECRET_LEN],
                           struct quic_keys *k);

/* Both steps: the Initial keys of one side. */
bool quic_initial_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len, bool server,
                       struct quic_keys *k);

/* AES-128-ECB of the sample with the header protection key: the first 5
 * bytes are the mask (RFC 9001 5.4.3). */
bool quic_hp_mask(const uint8_t hp[QUIC_HP_LEN], const uint8_t sample[QUIC_SAMPLE_LEN],
                  uint8_t mask[5]);

/* The full packet number from its truncated encoding (RFC 9000 A.3);
 * largest is the largest packet number received so far, or -1 for none. */
uint64_t quic_decode_pn(int64_t largest, uint64_t truncated, unsigned pn_len);

/* Removes the protection of one long-header packet in place: pkt holds the
 * whole packet (len bytes, from its first byte through the end its Length
 * field covers) and pn_offset is where the packet number starts.  On
 * success the payload (frames) is pkt[*payload_off .. *payload_off +
 * *payload_len) and *pn the full packet number.  False when the packet is
 * too short or does not authenticate (pkt is then garbage). */
bool quic_open_long(const struct quic_keys *k, uint8_t *pkt, size_t len, size_t pn_offset,
                    int64_t largest_pn, size_t *payload_off, size_t *payload_len, uint64_t *pn);

#endif
