/* TLS (RFC 8446, RFC 5246, RFC 6101) and the SSLv2-compatible ClientHello.
 *
 * The dissector is a thin wrapper over a "facts" object (include/portolan/
 * tls.h) that QUIC (CRYPTO frames: bare handshake messages) and TDS (TLS
 * records inside PRELOGIN) feed too.  Records come from the core's PDU
 * framer (5-byte header, 16-bit length); handshake messages are reassembled
 * across records in a per-direction buffer (TLS_MAX_HS_MSG per message).
 *
 * What is kept: the ClientHello's SNI, versions, ALPN, cipher suites and
 * extensions (for JA3 and JA4), the ServerHello's choice (JA3S; a
 * HelloRetryRequest is recognised by its magic random and never taken for
 * the final choice), the first server certificate (TLS <= 1.2, parsed with
 * libcrypto), plaintext alerts.  Once a direction is encrypted (after its
 * ChangeCipherSpec in TLS <= 1.2, after the ServerHello in TLS 1.3, or on
 * application data) its records are only counted: the framer's cap is set
 * to the 5-byte header, so each record is skipped without being buffered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "portolan/dissector.h"
#include "portolan/framing.h"
#include "portolan/summary.h"
#include "portolan/tls.h"

/* A handshake message longer than this is skipped (counted). */
#define TLS_MAX_HS_MSG (64 * 1024)
/* A record's fragment: 2^14 plus the ciphertext expansion (RFC 5246 6.2.3). */
#define TLS_MAX_FRAGMENT (16384 + 2048)
#define TLS_MAX_SNI 255
/* ALPN protocols kept from the ClientHello, and bytes kept of each. */
#define TLS_MAX_ALPN 8
#define TLS_MAX_ALPN_LEN 64
#define TLS_MAX_VERSIONS 8
#define TLS_MAX_ALERTS 16
#define TLS_MAX_SANS 16
#define TLS_MAX_SAN_LEN 255
#define TLS_MAX_NAME 512

enum { CT_CCS = 20, CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APPDATA = 23, CT_HEARTBEAT = 24 };
enum {
	HS_CLIENT_HELLO = 1,
	HS_SERVER_HELLO = 2,
	HS_CERTIFICATE = 11,
	HS_SERVER_KEY_EXCHANGE = 12,
	HS_SERVER_HELLO_DONE = 14,
};
enum {
	EXT_SNI = 0,
	EXT_GROUPS = 10,
	EXT_POINT_FORMATS = 11,
	EXT_SIG_ALGS = 13,
	EXT_ALPN = 16,
	EXT_PSK = 41,
	EXT_VERSIONS = 43,
	EXT_ECH = 0xfe0d,
};

/* The random of a HelloRetryRequest (RFC 8446 4.1.3): SHA-256 of
 * "HelloRetryRequest". */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

static const struct value_name version_names[] = {{0x0002, "SSLv2"},    {0x0300, "SSLv3"},
                                                  {0x0301, "TLSv1.0"},  {0x0302, "TLSv1.1"},
                                                  {0x0303, "TLSv1.2"},  {0x0304, "TLSv1.3"},
                                                  {0xfeff, "DTLSv1.0"}, {0xfefd, "DTLSv1.2"},
                                                  {0xfefc, "DTLSv1.3"}, {0, NULL}};

/* IANA TLS Cipher Suites registry: the suites seen in practice. */
static const struct value_name cipher_names[] = {
    {0x0000, "TLS_NULL_WITH_NULL_NULL"},
    {0x0001, "TLS_RSA_WITH_NULL_MD5"},
    {0x0002, "TLS_RSA_WITH_NULL_SHA"},
    {0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"},
    {0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
    {0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
    {0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"},
    {0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0009, "TLS_RSA_WITH_DES_CBC_SHA"},
    {0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA"},
    {0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"},
    {0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"},
    {0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"},
    {0x001b, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"},
    {0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"},
    {0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"},
    {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
    {0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"},
    {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
    {0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"},
    {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
    {0x003a, "TLS_DH_anon_WITH_AES_256_CBC_SHA"},
    {0x003b, "TLS_RSA_WITH_NULL_SHA256"},
    {0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"},
    {0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
    {0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"},
    {0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0x006a, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"},
    {0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
    {0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA"},
    {0x008c, "TLS_PSK_WITH_AES_128_CBC_SHA"},
    {0x008d, "TLS_PSK_WITH_AES_256_CBC_SHA"},
    {0x0096, "TLS_RSA_WITH_SEED_CBC_SHA"},
    {0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
    {0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0x00a2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"},
    {0x00a3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"},
    {0x00a8, "TLS_PSK_WITH_AES_128_GCM_SHA256"},
    {0x00a9, "TLS_PSK_WITH_AES_256_GCM_SHA384"},
    {0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"},
    {0x1301, "TLS_AES_128_GCM_SHA256"},
    {0x1302, "TLS_AES_256_GCM_SHA384"},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
    {0x1304, "TLS_AES_128_CCM_SHA256"},
    {0x1305, "TLS_AES_128_CCM_8_SHA256"},
    {0x5600, "TLS_FALLBACK_SCSV"},
    {0xc002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA"},
    {0xc003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xc005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA"},
    {0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"},
    {0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
    {0xc00c, "TLS_ECDH_RSA_WITH_RC4_128_SHA"},
    {0xc00d, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc00e, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"},
    {0xc00f, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA"},
    {0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
    {0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
    {0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
    {0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
    {0xc025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xc026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384"},
    {0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
    {0xc029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256"},
    {0xc02a, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384"},
    {0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
    {0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
    {0xc02d, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256"},
    {0xc02e, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384"},
    {0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0xc031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256"},
    {0xc032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384"},
    {0xc035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA"},
    {0xc036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA"},
    {0xc09c, "TLS_RSA_WITH_AES_128_CCM"},
    {0xc09d, "TLS_RSA_WITH_AES_256_CCM"},
    {0xc09e, "TLS_DHE_RSA_WITH_AES_128_CCM"},
    {0xc09f, "TLS_DHE_RSA_WITH_AES_256_CCM"},
    {0xc0a0, "TLS_RSA_WITH_AES_128_CCM_8"},
    {0xc0a1, "TLS_RSA_WITH_AES_256_CCM_8"},
    {0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"},
    {0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"},
    {0xc0ae, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"},
    {0xc0af, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"},
    {0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256"},
    {0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"},
    {0xccad, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256"},
    {0, NULL}};

/* IANA TLS Alerts registry. */
static const struct value_name alert_names[] = {{0, "close_notify"},
                                                {10, "unexpected_message"},
                                                {20, "bad_record_mac"},
                                                {21, "decryption_failed"},
                                                {22, "record_overflow"},
                                                {30, "decompression_failure"},
                                                {40, "handshake_failure"},
                                                {41, "no_certificate"},
                                                {42, "bad_certificate"},
                                                {43, "unsupported_certificate"},
                                                {44, "certificate_revoked"},
                                                {45, "certificate_expired"},
                                                {46, "certificate_unknown"},
                                                {47, "illegal_parameter"},
                                                {48, "unknown_ca"},
                                                {49, "access_denied"},
                                                {50, "decode_error"},
                                                {51, "decrypt_error"},
                                                {60, "export_restriction"},
                                                {70, "protocol_version"},
                                                {71, "insufficient_security"},
                                                {80, "internal_error"},
                                                {86, "inappropriate_fallback"},
                                                {90, "user_canceled"},
                                                {100, "no_renegotiation"},
                                                {109, "missing_extension"},
                                                {110, "unsupported_extension"},
                                                {111, "certificate_unobtainable"},
                                                {112, "unrecognized_name"},
                                                {113, "bad_certificate_status_response"},
                                                {114, "bad_certificate_hash_value"},
                                                {115, "unknown_psk_identity"},
                                                {116, "certificate_required"},
                                                {120, "no_application_protocol"},
                                                {121, "ech_required"},
                                                {0, NULL}};

/* ---- state ---- */

struct tls_side {
	struct pdu_state pdu;
	uint8_t *hs; /* handshake bytes of an unfinished message */
	size_t hs_len, hs_cap;
	uint64_t hs_skip; /* bytes left of an oversize message */
	uint64_t records, bytes;
	uint64_t encrypted_records; /* records after encryption began */
	uint32_t encrypted_alerts;
	bool encrypted; /* records only counted from here on */
	bool lost;      /* out of sync (gap or garbage): bytes only counted */
	bool started;   /* the first record (or SSLv2 hello) was seen */
};

struct tls_alert {
	uint8_t from, level, desc;
};

struct tls_hello_fp {
	char ja3[33];
	char ja4[37];
};

struct tls_cert {
	char subject[TLS_MAX_NAME];
	char issuer[TLS_MAX_NAME];
	char not_before[24], not_after[24];
	char sha256[65];
	char sans[TLS_MAX_SANS][TLS_MAX_SAN_LEN + 1];
	unsigned n_sans, sans_truncated;
	bool parsed;
};

struct tls_facts {
	bool quic;
	struct tls_side side[2];

	/* ClientHello */
	unsigned client_hellos;
	bool have_ch, sslv2_hello, ech, psk_offered, has_sni;
	uint16_t client_version;
	uint16_t versions[TLS_MAX_VERSIONS];
	unsigned n_versions;
	char sni[TLS_MAX_SNI + 1];
	char alpn[TLS_MAX_ALPN][TLS_MAX_ALPN_LEN + 1];
	unsigned n_alpn, alpn_truncated;
	uint8_t client_sid[32];
	uint8_t client_sid_len;
	struct tls_hello_fp fp, fp_retry;
	bool have_retry_fp;

	/* ServerHello */
	bool have_sh, hrr, resumed, server_cert_msg;
	bool sslv2_server; /* an SSLv2 SERVER-HELLO: no suite chosen yet, no JA3S */
	uint16_t version, cipher;
	uint16_t server_hello_version; /* legacy_version */
	char ja3s[33];
	char alpn_selected[TLS_MAX_ALPN_LEN + 1];
	bool have_alpn_selected;

	struct tls_cert *cert;
	unsigned certs_in_chain;
	bool client_certificate;

	struct tls_alert alerts[TLS_MAX_ALERTS];
	unsigned n_alerts, alerts_truncated;
	bool malformed;
};

static bool is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

static const char *version_name(uint16_t v)
{
	return value_name_lookup(version_names, v);
}

/* TLS 1.3 or one of its drafts (0x7f00 + draft number). */
static bool is_tls13(uint16_t v)
{
	return v == 0x0304 || (v >> 8) == 0x7f;
}

static void malformed(struct tls_facts *t, struct session *s, const char *counter)
{
	session_count(s, counter);
	if (!t->malformed)
		session_alert(s, ALERT_MALFORMED);
	t->malformed = true;
}

/* ---- a small growable text buffer for the fingerprint strings ---- */

struct text {
	char *p;
	size_t len, cap;
	bool oom;
};

static void text_add(struct text *b, const char *fmt, unsigned v)
{
	char tmp[16];
	int n = snprintf(tmp, sizeof tmp, fmt, v);
	if (n <= 0 || b->oom)
		return;
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, tmp, (size_t)n + 1);
	b->len += (size_t)n;
}

static void text_char(struct text *b, char c)
{
	char fmt[2] = {c, 0};
	text_add(b, fmt, 0);
}

static const char *text_str(const struct text *b)
{
	return b->p && !b->oom ? b->p : "";
}

static void hex_digest(const EVP_MD *md, const void *data, size_t n, char *out, size_t keep)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dn = 0;
	out[0] = 0;
	if (!EVP_Digest(data, n, d, &dn, md, NULL))
		return;
	size_t i;
	for (i = 0; i < dn && 2 * i < keep; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	out[keep < 2 * dn ? keep : 2 * dn] = 0;
}

/* ---- ClientHello ---- */

/* Values of one 16-bit list (ciphers, extensions, groups, algorithms). */
struct u16_list {
	uint16_t *v;
	size_t n;
};

static bool list_from(struct u16_list *l, struct reader body, size_t max)
{
	l->n = 0;
	l->v = malloc((max ? max : 1) * sizeof *l->v);
	if (!l->v)
		return false;
	while (rd_remaining(&body) >= 2 && l->n < max)
		l->v[l->n++] = rd_be16(&body);
	return true;
}

static int cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
	return (x > y) - (x < y);
}

/* JA3 (Salesforce): version,ciphers,extensions,groups,point formats, each
 * list in decimal joined by '-', GREASE left out; MD5 of that text. */
static void ja3_of(char out[33], uint16_t version, const struct u16_list *ciphers,
                   const struct u16_list *exts, const struct u16_list *groups,
                   struct reader formats)
{
	struct text b = {0};
	const struct u16_list *lists[3] = {ciphers, exts, groups};
	text_add(&b, "%u,", version);
	for (int k = 0; k < 3; k++) {
		bool first = true;
		for (size_t i = 0; i < lists[k]->n; i++) {
			if (is_grease(lists[k]->v[i]))
				continue;
			text_add(&b, first ? "%u" : "-%u", lists[k]->v[i]);
			first = false;
		}
		text_char(&b, ',');
	}
	bool first = true;
	while (rd_remaining(&formats)) {
		text_add(&b, first ? "%u" : "-%u", rd_u8(&formats));
		first = false;
	}
	const char *s = text_str(&b);
	hex_digest(EVP_md5(), s, strlen(s), out, 32);
	free(b.p);
}

static bool alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* JA4's 12-character hash of a comma-joined hex list (sorted first when
 * asked), optionally followed by '_' and a second list in order. */
static void ja4_hash(char out[13], struct u16_list *l, bool drop_sni_alpn,
                     const struct u16_list *tail)
{
	struct text b = {0};
	size_t kept = 0;
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, cmp_u16);
	for (size_t i = 0; i < l->n; i++) {
		uint16_t v = l->v[i];
		if (is_grease(v) || (drop_sni_alpn && (v == EXT_SNI || v == EXT_ALPN)))
			continue;
		text_add(&b, kept ? ",%04x" : "%04x", v);
		kept++;
	}
	if (!kept) {
		strcpy(out, "000000000000");
		free(b.p);
		return;
	}
	size_t tail_kept = 0;
	for (size_t i = 0; tail && i < tail->n; i++) {
		if (is_grease(tail->v[i]))
			continue;
		text_add(&b, tail_kept ? ",%04x" : "_%04x", tail->v[i]);
		tail_kept++;
	}
	const char *s = text_str(&b);
	hex_digest(EVP_sha256(), s, strlen(s), out, 12);
	free(b.p);
}

static size_t count_real(const struct u16_list *l)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += !is_grease(l->v[i]);
	return n;
}

static void ja4_of(char out[37], bool quic, uint16_t version, const struct u16_list *versions,
                   bool sni, struct u16_list *ciphers, struct u16_list *exts,
                   const struct u16_list *sigs, struct reader alpn)
{
	uint16_t best = 0;
	for (size_t i = 0; i < versions->n; i++)
		if (!is_grease(versions->v[i]) && versions->v[i] > best)
			best = versions->v[i];
	if (!best)
		best = version;
	const char *vs = "00";
	switch (best) {
	case 0x0304:
		vs = "13";
		break;
	case 0x0303:
		vs = "12";
		break;
	case 0x0302:
		vs = "11";
		break;
	case 0x0301:
		vs = "10";
		break;
	case 0x0300:
		vs = "s3";
		break;
	case 0x0002:
		vs = "s2";
		break;
	case 0xfeff:
		vs = "d1";
		break;
	case 0xfefd:
		vs = "d2";
		break;
	case 0xfefc:
		vs = "d3";
		break;
	}
	size_t nc = count_real(ciphers), ne = count_real(exts);
	char a[3] = "00";
	size_t alpn_len = rd_remaining(&alpn);
	if (alpn_len) { /* the first and last characters of the first protocol */
		uint8_t f = (uint8_t)rd_peek(&alpn, 0), l = (uint8_t)rd_peek(&alpn, alpn_len - 1);
		if (alnum(f) && alnum(l)) {
			a[0] = (char)f;
			a[1] = (char)l;
		} else {
			static const char hex[] = "0123456789abcdef";
			a[0] = hex[f >> 4];
			a[1] = hex[l & 15];
		}
	}
	char hb[13], hc[13];
	ja4_hash(hb, ciphers, false, NULL);
	ja4_hash(hc, exts, true, sigs);
	snprintf(out, 37, "%c%s%c%02zu%02zu%s_%s_%s", quic ? 'q' : 't', vs, sni ? 'd' : 'i',
	         nc > 99 ? (size_t)99 : nc, ne > 99 ? (size_t)99 : ne, a, hb, hc);
}

static void copy_str(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	if (n > cap - 1)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

static void client_hello(struct tls_facts *t, struct session *s, struct reader r)
{
	bool retry = t->have_ch;
	if (retry && (!t->hrr || t->have_retry_fp)) {
		session_count(s, "tls.extra_client_hello");
		return;
	}
	uint16_t version = rd_be16(&r);
	rd_skip(&r, 32);
	uint8_t sid_len = rd_u8(&r);
	const uint8_t *sid = rd_take(&r, sid_len);
	struct reader cs = rd_sub(&r, rd_be16(&r));
	rd_skip(&r, rd_u8(&r)); /* compression methods */
	struct reader exts = rd_init(NULL, 0);
	if (rd_remaining(&r) >= 2)
		exts = rd_sub(&r, rd_be16(&r));
	if (!rd_ok(&r) || sid_len > 32 || rd_remaining(&cs) % 2) {
		malformed(t, s, "tls.bad_client_hello");
		return;
	}

	struct u16_list ciphers = {0}, ext_types = {0}, groups = {0}, sigs = {0}, versions = {0};
	struct reader formats = rd_init(NULL, 0);
	struct reader alpn0 = rd_init(NULL, 0);
	bool sni = false;
	if (!list_from(&ciphers, cs, rd_remaining(&cs) / 2) ||
	    !list_from(&ext_types, rd_init(NULL, 0), rd_remaining(&exts) / 4 + 1))
		goto out;

	if (!retry) {
		t->client_version = version;
		t->client_sid_len = sid_len;
		if (sid_len)
			memcpy(t->client_sid, sid, sid_len);
	}
	bool bad = false;
	while (rd_remaining(&exts) >= 4) {
		uint16_t type = rd_be16(&exts);
		struct reader e = rd_sub(&exts, rd_be16(&exts));
		if (!rd_ok(&exts)) {
			bad = true;
			break;
		}
		ext_types.v[ext_types.n++] = type;
		switch (type) {
		case EXT_SNI: {
			sni = true;
			struct reader list = rd_sub(&e, rd_be16(&e));
			while (rd_remaining(&list) >= 3) {
				uint8_t kind = rd_u8(&list);
				uint16_t n = rd_be16(&list);
				const uint8_t *name = rd_take(&list, n);
				if (name && kind == 0) {
					if (!retry && !t->has_sni) {
						copy_str(t->sni, sizeof t->sni, name, n);
						t->has_sni = true;
					}
					break;
				}
			}
			break;
		}
		case EXT_ALPN: {
			struct reader list = rd_sub(&e, rd_be16(&e));
			bool first = true;
			while (rd_remaining(&list) >= 1) {
				uint8_t n = rd_u8(&list);
				struct reader name = rd_sub(&list, n);
				if (!rd_ok(&name))
					break;
				if (first) {
					alpn0 = name;
					first = false;
				}
				if (retry)
					continue;
				if (t->n_alpn < TLS_MAX_ALPN)
					copy_str(t->alpn[t->n_alpn++], TLS_MAX_ALPN_LEN + 1,
					         rd_take(&name, n), n);
				else
					t->alpn_truncated++;
			}
			break;
		}
		case EXT_VERSIONS: {
			struct reader list = rd_sub(&e, rd_u8(&e));
			free(versions.v);
			if (!list_from(&versions, list, rd_remaining(&list) / 2))
				goto out;
			break;
		}
		case EXT_GROUPS: {
			struct reader list = rd_sub(&e, rd_be16(&e));
			free(groups.v);
			if (!list_from(&groups, list, rd_remaining(&list) / 2))
				goto out;
			break;
		}
		case EXT_SIG_ALGS: {
			struct reader list = rd_sub(&e, rd_be16(&e));
			free(sigs.v);
			if (!list_from(&sigs, list, rd_remaining(&list) / 2))
				goto out;
			break;
		}
		case EXT_POINT_FORMATS:
			formats = rd_sub(&e, rd_u8(&e));
			break;
		case EXT_PSK:
			t->psk_offered = true;
			break;
		case EXT_ECH:
			t->ech = true;
			break;
		}
	}
	if (bad || rd_remaining(&exts))
		malformed(t, s, "tls.bad_extensions");
	if (!retry) {
		for (size_t i = 0; i < versions.n; i++) {
			if (is_grease(versions.v[i]))
				continue;
			if (t->n_versions < TLS_MAX_VERSIONS)
				t->versions[t->n_versions++] = versions.v[i];
		}
	}

	struct u16_list none = {0};
	struct tls_hello_fp *fp = retry ? &t->fp_retry : &t->fp;
	ja3_of(fp->ja3, version, &ciphers, &ext_types, groups.v ? &groups : &none, formats);
	ja4_of(fp->ja4, t->quic, version, versions.v ? &versions : &none, sni, &ciphers, &ext_types,
	       sigs.v ? &sigs : &none, alpn0);
	if (retry)
		t->have_retry_fp = true;
	t->have_ch = true;
out:
	free(ciphers.v);
	free(ext_types.v);
	free(groups.v);
	free(sigs.v);
	free(versions.v);
}

/* ---- ServerHello ---- */

static void deprecated_check(struct tls_facts *t, struct session *s)
{
	if (t->version == 0x0002 || t->version == 0x0300 || t->version == 0x0301 ||
	    t->version == 0x0302)
		session_alert(s, ALERT_DEPRECATED_VERSION);
}

static void set_encrypted(struct tls_side *side)
{
	side->encrypted = true;
	side->hs_len = 0;
	side->hs_skip = 0;
	side->pdu.max_pdu = 5; /* only the header: every record is skipped, not kept */
}

static void server_hello(struct tls_facts *t, struct session *s, struct reader r)
{
	if (t->have_sh) {
		session_count(s, "tls.extra_server_hello");
		return;
	}
	uint16_t legacy = rd_be16(&r);
	bool hrr_magic = rd_starts_with(&r, hrr_random, 32);
	rd_skip(&r, 32); /* the random */
	/* drafts 18-21 of TLS 1.3 had no session id and compression here */
	bool draft = (legacy >> 8) == 0x7f;
	uint8_t sid_len = draft ? 0 : rd_u8(&r);
	const uint8_t *sid = rd_take(&r, sid_len);
	uint16_t cipher = rd_be16(&r);
	if (!draft)
		rd_u8(&r); /* compression */
	struct reader exts = rd_init(NULL, 0);
	if (rd_remaining(&r) >= 2)
		exts = rd_sub(&r, rd_be16(&r));
	if (!rd_ok(&r) || sid_len > 32) {
		malformed(t, s, "tls.bad_server_hello");
		return;
	}
	bool hrr = hrr_magic;
	uint16_t version = legacy;
	bool psk = false;
	const uint8_t *alpn = NULL;
	size_t alpn_len = 0;
	struct text b = {0};
	text_add(&b, "%u,", legacy);
	text_add(&b, "%u,", cipher);
	bool first = true;
	while (rd_remaining(&exts) >= 4) {
		uint16_t type = rd_be16(&exts);
		struct reader e = rd_sub(&exts, rd_be16(&exts));
		if (!rd_ok(&exts))
			break;
		if (!is_grease(type)) {
			text_add(&b, first ? "%u" : "-%u", type);
			first = false;
		}
		if (type == EXT_VERSIONS && rd_remaining(&e) >= 2) {
			version = rd_be16(&e);
		} else if (type == EXT_PSK) {
			psk = true;
		} else if (type == EXT_ALPN) {
			struct reader list = rd_sub(&e, rd_be16(&e));
			uint8_t n = rd_u8(&list);
			const uint8_t *p = rd_take(&list, n);
			if (p) {
				alpn = p;
				alpn_len = n;
			}
		}
	}
	if (!rd_ok(&exts) || rd_remaining(&exts))
		malformed(t, s, "tls.bad_extensions");
	if (hrr) {
		/* a request for another ClientHello: no choice made yet */
		t->hrr = true;
		free(b.p);
		return;
	}
	t->have_sh = true;
	t->server_hello_version = legacy;
	t->version = version;
	t->cipher = cipher;
	const char *js = text_str(&b);
	hex_digest(EVP_md5(), js, strlen(js), t->ja3s, 32);
	free(b.p);
	if (alpn) {
		copy_str(t->alpn_selected, sizeof t->alpn_selected, alpn, alpn_len);
		t->have_alpn_selected = true;
	}
	if (is_tls13(version))
		t->resumed = psk;
	else if (sid_len && sid_len == t->client_sid_len && !memcmp(sid, t->client_sid, sid_len))
		t->resumed = true;
	deprecated_check(t, s);
	if (is_tls13(version) && !t->quic) {
		/* everything after the ServerHello is encrypted, both ways */
		set_encrypted(&t->side[DIR_SERVER]);
		set_encrypted(&t->side[DIR_CLIENT]);
	}
}

/* ---- Certificate (TLS <= 1.2) ---- */

static void bio_text(BIO *bio, char *out, size_t cap)
{
	int n = BIO_read(bio, out, (int)cap - 1);
	out[n > 0 ? n : 0] = 0;
}

static void asn1_time_iso(const ASN1_TIME *tm, char out[24])
{
	struct tm v;
	out[0] = 0;
	if (tm && ASN1_TIME_to_tm(tm, &v))
		strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &v);
}

static void parse_certificate(struct tls_cert *c, const uint8_t *der, size_t n)
{
	hex_digest(EVP_sha256(), der, n, c->sha256, 64);
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)n);
	if (!x)
		return;
	c->parsed = true;
	BIO *bio = BIO_new(BIO_s_mem());
	if (bio) {
		X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
		bio_text(bio, c->subject, sizeof c->subject);
		(void)BIO_reset(bio);
		X509_NAME_print_ex(bio, X509_get_issuer_name(x), 0, XN_FLAG_RFC2253);
		bio_text(bio, c->issuer, sizeof c->issuer);
		BIO_free(bio);
	}
	asn1_time_iso(X509_get0_notBefore(x), c->not_before);
	asn1_time_iso(X509_get0_notAfter(x), c->not_after);
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		char buf[TLS_MAX_SAN_LEN + 1];
		buf[0] = 0;
		if (g->type == GEN_DNS || g->type == GEN_EMAIL || g->type == GEN_URI) {
			const ASN1_IA5STRING *a = g->d.ia5;
			copy_str(buf, sizeof buf, ASN1_STRING_get0_data(a),
			         (size_t)ASN1_STRING_length(a));
		} else if (g->type == GEN_IPADD) {
			const unsigned char *ip = ASN1_STRING_get0_data(g->d.ip);
			int len = ASN1_STRING_length(g->d.ip);
			if (len == 4)
				snprintf(buf, sizeof buf, "%u.%u.%u.%u", ip[0], ip[1], ip[2],
				         ip[3]);
			else if (len == 16) {
				size_t o = 0;
				for (int k = 0; k < 16; k += 2)
					o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%x",
					                      k ? ":" : "", ip[k] << 8 | ip[k + 1]);
			}
		}
		if (!buf[0])
			continue;
		if (c->n_sans < TLS_MAX_SANS)
			memcpy(c->sans[c->n_sans++], buf, sizeof buf);
		else
			c->sans_truncated++;
	}
	GENERAL_NAMES_free(names);
	X509_free(x);
}

static void certificate(struct tls_facts *t, struct session *s, enum direction dir, struct reader r)
{
	if (dir == DIR_CLIENT) {
		t->client_certificate = true;
		return;
	}
	t->server_cert_msg = true;
	if (t->cert || (t->have_sh && is_tls13(t->version)))
		return; /* 1.3 certificates are encrypted; only the first message counts */
	struct reader list = rd_sub(&r, rd_be24(&r));
	if (!rd_ok(&r)) {
		malformed(t, s, "tls.bad_certificate");
		return;
	}
	unsigned n = 0;
	const uint8_t *first = NULL;
	size_t first_len = 0;
	while (rd_remaining(&list) >= 3) {
		uint32_t len = rd_be24(&list);
		const uint8_t *der = rd_take(&list, len);
		if (!der)
			break;
		if (!n) {
			first = der;
			first_len = len;
		}
		n++;
	}
	t->certs_in_chain = n;
	if (!first)
		return;
	t->cert = calloc(1, sizeof *t->cert);
	if (!t->cert) {
		session_count(s, "tls.out_of_memory");
		return;
	}
	parse_certificate(t->cert, first, first_len);
	if (!t->cert->parsed)
		malformed(t, s, "tls.bad_x509");
}

/* ---- handshake messages ---- */

static void handshake_message(struct tls_facts *t, struct session *s, enum direction dir,
                              uint8_t type, struct reader body)
{
	if (dir == DIR_CLIENT && type == HS_CLIENT_HELLO)
		client_hello(t, s, body);
	else if (dir == DIR_SERVER && type == HS_SERVER_HELLO)
		server_hello(t, s, body);
	else if (type == HS_CERTIFICATE)
		certificate(t, s, dir, body);
}

/* Whole messages from r; an oversize one is skipped (its bytes consumed
 * as they come).  Returns the bytes consumed. */
static size_t handshake_messages(struct tls_facts *t, struct session *s, enum direction dir,
                                 struct reader r)
{
	struct tls_side *side = &t->side[dir];
	size_t start = rd_offset(&r);
	while (rd_remaining(&r)) {
		if (side->hs_skip) {
			size_t n = rd_remaining(&r);
			if (n > side->hs_skip)
				n = (size_t)side->hs_skip;
			rd_skip(&r, n);
			side->hs_skip -= n;
			continue;
		}
		if (side->encrypted && !t->quic)
			return rd_length(&r) - start; /* the rest is ciphertext */
		if (rd_remaining(&r) < 4)
			break;
		struct reader h = r;
		uint8_t type = rd_u8(&h);
		uint32_t len = rd_be24(&h);
		if (len > TLS_MAX_HS_MSG) {
			session_count(s, "tls.handshake_too_big");
			rd_skip(&r, 4);
			side->hs_skip = len;
			continue;
		}
		if (rd_remaining(&h) < len)
			break;
		rd_skip(&r, 4 + len);
		handshake_message(t, s, dir, type, rd_sub(&h, len));
	}
	return rd_offset(&r) - start;
}

/* A handshake record's fragment: messages may span records. */
static void handshake_fragment(struct tls_facts *t, struct session *s, enum direction dir,
                               struct reader frag)
{
	struct tls_side *side = &t->side[dir];
	if (!side->hs_len) {
		size_t used = handshake_messages(t, s, dir, frag);
		rd_skip(&frag, used);
		if (!rd_remaining(&frag) || side->encrypted)
			return;
	}
	size_t n = rd_remaining(&frag);
	if (side->hs_len + n > side->hs_cap) {
		size_t cap = side->hs_cap ? side->hs_cap : 4096;
		while (cap < side->hs_len + n)
			cap *= 2;
		uint8_t *p = realloc(side->hs, cap);
		if (!p) {
			session_count(s, "tls.out_of_memory");
			side->hs_len = 0;
			return;
		}
		side->hs = p;
		side->hs_cap = cap;
	}
	memcpy(side->hs + side->hs_len, rd_take(&frag, n), n);
	side->hs_len += n;
	size_t used = handshake_messages(t, s, dir, rd_init(side->hs, side->hs_len));
	if (side->encrypted || used >= side->hs_len) {
		side->hs_len = 0;
		return;
	}
	memmove(side->hs, side->hs + used, side->hs_len - used);
	side->hs_len -= used;
}

static void alert_record(struct tls_facts *t, struct session *s, enum direction dir,
                         struct reader r)
{
	while (rd_remaining(&r) >= 2) {
		uint8_t level = rd_u8(&r), desc = rd_u8(&r);
		if (t->n_alerts >= TLS_MAX_ALERTS) {
			t->alerts_truncated++;
			session_count(s, "tls.too_many_alerts");
			continue;
		}
		t->alerts[t->n_alerts++] = (struct tls_alert){(uint8_t)dir, level, desc};
	}
	if (rd_remaining(&r))
		malformed(t, s, "tls.bad_alert");
}

/* ---- the record layer ---- */

static long record_length(struct reader h, void *arg)
{
	(void)arg;
	int type = rd_peek(&h, 0), major = rd_peek(&h, 1), minor = rd_peek(&h, 2);
	if (type < 0)
		return 0;
	if (type < CT_CCS || type > CT_HEARTBEAT)
		return -1;
	if (major < 0)
		return 0;
	if (major != 3)
		return -1;
	if (minor < 0)
		return 0;
	if (minor > 4)
		return -1;
	if (!rd_has(&h, 5))
		return 0;
	rd_skip(&h, 3);
	long len = rd_be16(&h);
	return len > TLS_MAX_FRAGMENT ? -1 : 5 + len;
}

/* The encrypted phase: the same check, and each header counted once (the
 * framer's cap is the header, so it asks once per record). */
static long encrypted_record_length(struct reader h, void *arg)
{
	struct tls_side *side = arg;
	long len = record_length(h, NULL);
	if (len > 0 && rd_peek(&h, 0) == CT_ALERT)
		side->encrypted_alerts++;
	return len;
}

/* An SSLv2-compatible ClientHello (RFC 6101 E.2, draft-hickman SSL 2.0):
 * a 2-byte header with the high bit set, then msg type 1. */
static size_t sslv2_client_hello(struct tls_facts *t, struct session *s, struct reader r)
{
	struct reader h = r;
	uint16_t len = rd_be16(&h) & 0x7fff;
	if (!rd_has(&h, len))
		return 0;
	struct reader m = rd_sub(&h, len);
	uint8_t type = rd_u8(&m);
	uint16_t version = rd_be16(&m);
	uint16_t cs_len = rd_be16(&m), sid_len = rd_be16(&m), ch_len = rd_be16(&m);
	struct reader cs = rd_sub(&m, cs_len);
	rd_skip(&m, sid_len);
	rd_skip(&m, ch_len);
	if (!rd_ok(&m) || type != 1 || cs_len % 3) {
		malformed(t, s, "tls.bad_sslv2_hello");
		return rd_remaining(&r);
	}
	t->have_ch = true;
	t->sslv2_hello = true;
	t->client_version = version;
	/* JA3 is defined on TLS ClientHellos only (no JA3 here, as tshark);
	 * JA4 from its TLS-expressible suites (first byte 0), no extensions. */
	struct u16_list ciphers = {0}, none = {0};
	ciphers.v = malloc((cs_len / 3 + 1) * sizeof *ciphers.v);
	if (ciphers.v) {
		while (rd_remaining(&cs) >= 3) {
			uint8_t hi = rd_u8(&cs);
			uint16_t v = rd_be16(&cs);
			if (!hi)
				ciphers.v[ciphers.n++] = v;
		}
		ja4_of(t->fp.ja4, t->quic, version, &none, false, &ciphers, &none, &none,
		       rd_init(NULL, 0));
		free(ciphers.v);
	}
	t->side[DIR_CLIENT].records++;
	return 2 + (size_t)len;
}

static bool tls_offers_13(const struct tls_facts *t)
{
	for (unsigned i = 0; i < t->n_versions; i++)
		if (is_tls13(t->versions[i]))
			return true;
	return false;
}

/* An SSLv2 SERVER-HELLO (2-byte header, msg type 4): SSLv2 negotiated.  Its
 * certificate is read like a TLS one; the rest of the stream is SSLv2
 * records, only counted. */
static size_t sslv2_server_hello(struct tls_facts *t, struct session *s, struct reader r)
{
	struct reader h = r;
	uint16_t len = rd_be16(&h) & 0x7fff;
	if (!rd_has(&h, len))
		return 0;
	struct reader m = rd_sub(&h, len);
	rd_skip(&m, 3); /* type, session id hit, certificate type */
	uint16_t version = rd_be16(&m);
	uint16_t cert_len = rd_be16(&m);
	rd_skip(&m, 4); /* cipher specs and connection id lengths */
	const uint8_t *der = rd_take(&m, cert_len);
	if (!rd_ok(&m)) {
		malformed(t, s, "tls.bad_sslv2_hello");
		return rd_remaining(&r);
	}
	t->have_sh = true;
	t->sslv2_server = true;
	t->version = version;
	t->server_cert_msg = cert_len > 0;
	if (cert_len && !t->cert && (t->cert = calloc(1, sizeof *t->cert)) != NULL) {
		t->certs_in_chain = 1;
		parse_certificate(t->cert, der, cert_len);
	}
	deprecated_check(t, s);
	t->side[DIR_SERVER].records++;
	return 2 + (size_t)len;
}

static bool looks_sslv2(struct reader r)
{
	int b0 = rd_peek(&r, 0), type = rd_peek(&r, 2), major = rd_peek(&r, 3);
	return b0 >= 0x80 && type == 1 && (major == 0 || major == 3);
}

size_t tls_facts_records(struct tls_facts *t, struct session *s, enum direction dir,
                         struct reader r)
{
	struct tls_side *side = &t->side[dir];
	if (side->lost) {
		side->bytes += rd_remaining(&r);
		return rd_remaining(&r);
	}
	size_t start = rd_offset(&r);
	if (!side->started && dir == DIR_CLIENT && looks_sslv2(r)) {
		size_t used = sslv2_client_hello(t, s, r);
		if (!used)
			return 0;
		side->started = true;
		side->bytes += used;
		return used;
	}
	if (!side->started && dir == DIR_SERVER && t->sslv2_hello && rd_peek(&r, 0) >= 0x80 &&
	    rd_peek(&r, 2) == 4) {
		size_t used = sslv2_server_hello(t, s, r);
		if (!used)
			return 0;
		side->started = true;
		side->bytes += used;
		side->lost = true; /* SSLv2 from here on: bytes only counted */
		return used;
	}
	if (side->started && t->sslv2_hello && !side->encrypted && side->records == 1 &&
	    rd_peek(&r, 0) >= 0x80) {
		/* the client goes on in SSLv2 (CLIENT-MASTER-KEY): count only */
		session_count(s, "tls.sslv2_records");
		side->lost = true;
		side->bytes += rd_remaining(&r);
		return rd_remaining(&r);
	}
	for (;;) {
		struct reader rec;
		enum frame_result fr;
		if (side->encrypted)
			fr = pdu_next(&side->pdu, &r, encrypted_record_length, side, &rec);
		else
			fr = pdu_next(&side->pdu, &r, record_length, NULL, &rec);
		if (fr == FRAME_TOO_BIG) {
			side->records++;
			side->encrypted_records++;
			continue;
		}
		if (fr == FRAME_NEED_MORE)
			break;
		if (fr == FRAME_ERROR) {
			/* no record at the start: a capture begun mid-stream, or not
			 * TLS at all (a port guess); later: a broken stream */
			if (!side->started)
				session_count(s, "tls.no_record_at_start");
			else if (!side->encrypted)
				malformed(t, s, "tls.bad_record");
			else
				session_count(s, "tls.out_of_sync");
			side->lost = true;
			rd_skip(&r, rd_remaining(&r));
			break;
		}
		side->started = true;
		side->records++;
		if (side->encrypted) {
			side->encrypted_records++;
			continue;
		}
		uint8_t type = rd_u8(&rec);
		rd_skip(&rec, 4);
		switch (type) {
		case CT_HANDSHAKE:
			handshake_fragment(t, s, dir, rd_rest(&rec));
			break;
		case CT_ALERT:
			alert_record(t, s, dir, rd_rest(&rec));
			break;
		case CT_CCS:
			/* TLS 1.3 sends a compatibility CCS before any encryption is
			 * known; only a <= 1.2 choice (or a client that never offered
			 * 1.3) makes a CCS the start of encryption */
			if ((t->have_sh && !is_tls13(t->version)) ||
			    (!t->have_sh && !t->hrr && !tls_offers_13(t)))
				set_encrypted(side);
			break;
		case CT_APPDATA:
			set_encrypted(side);
			side->encrypted_records++;
			break;
		default:
			break;
		}
	}
	size_t used = rd_offset(&r) - start;
	side->bytes += used;
	return used;
}

size_t tls_facts_handshake(struct tls_facts *t, struct session *s, enum direction dir,
                           struct reader r)
{
	return handshake_messages(t, s, dir, r);
}

bool tls_facts_have_client_hello(const struct tls_facts *t)
{
	return t && t->have_ch;
}

static void tls_facts_release(struct tls_facts *t)
{
	for (int d = 0; d < 2; d++) {
		free(t->side[d].hs);
		t->side[d].hs = NULL;
	}
	free(t->cert);
	t->cert = NULL;
}

struct tls_facts *tls_facts_new(bool quic)
{
	struct tls_facts *t = calloc(1, sizeof *t);
	if (t)
		t->quic = quic;
	return t;
}

void tls_facts_free(struct tls_facts *t)
{
	if (!t)
		return;
	tls_facts_release(t);
	free(t);
}

/* ---- output ---- */

/* A version's name, "TLSv1.3-draftN" for a draft, else its hex value. */
static const char *version_text(uint16_t v, char buf[24])
{
	const char *name = version_name(v);
	if (name)
		return name;
	if ((v >> 8) == 0x7f)
		snprintf(buf, 24, "TLSv1.3-draft%u", v & 0xffu);
	else
		snprintf(buf, 24, "0x%04x", v);
	return buf;
}

static void emit_version(struct emitter *e, const char *key, uint16_t v, bool have)
{
	char buf[24];
	if (!have)
		emit_null(e, key);
	else
		emit_str(e, key, version_text(v, buf));
}

static void emit_cipher(struct emitter *e, const char *key, uint16_t v)
{
	char hex[8];
	const char *name = value_name_lookup(cipher_names, v);
	if (!name) {
		snprintf(hex, sizeof hex, "0x%04x", v);
		name = hex;
	}
	emit_str(e, key, name);
}

static void emit_cert(const struct tls_cert *c, unsigned chain, struct emitter *e)
{
	emit_object_begin(e, "server_certificate");
	if (c->parsed) {
		emit_str(e, "subject", c->subject);
		emit_str(e, "issuer", c->issuer);
		emit_str(e, "not_before", c->not_before[0] ? c->not_before : NULL);
		emit_str(e, "not_after", c->not_after[0] ? c->not_after : NULL);
		emit_array_begin(e, "san");
		for (unsigned i = 0; i < c->n_sans; i++)
			emit_str(e, NULL, c->sans[i]);
		emit_array_end(e);
		if (c->sans_truncated)
			emit_int(e, "san_truncated", c->sans_truncated);
	} else {
		emit_bool(e, "unparsed", true);
	}
	emit_str(e, "sha256", c->sha256);
	emit_int(e, "chain_length", chain);
	emit_object_end(e);
}

void tls_facts_emit(const struct tls_facts *t, struct emitter *e)
{
	if (t->has_sni)
		emit_str(e, "sni", t->sni);
	else
		emit_null(e, "sni");
	emit_version(e, "client_version", t->client_version, t->have_ch);
	if (t->n_versions) {
		emit_array_begin(e, "supported_versions");
		for (unsigned i = 0; i < t->n_versions; i++)
			emit_version(e, NULL, t->versions[i], true);
		emit_array_end(e);
	}
	emit_version(e, "version", t->version, t->have_sh);
	emit_array_begin(e, "alpn");
	for (unsigned i = 0; i < t->n_alpn; i++)
		emit_str(e, NULL, t->alpn[i]);
	emit_array_end(e);
	if (t->alpn_truncated)
		emit_int(e, "alpn_truncated", t->alpn_truncated);
	if (t->have_alpn_selected)
		emit_str(e, "alpn_selected", t->alpn_selected);
	else if (t->n_alpn && t->have_sh && is_tls13(t->version))
		emit_bool(e, "alpn_encrypted", true);
	if (t->have_sh && !t->sslv2_server)
		emit_cipher(e, "cipher", t->cipher);
	else
		emit_null(e, "cipher");
	emit_str(e, "ja3", t->have_ch && !t->sslv2_hello ? t->fp.ja3 : NULL);
	emit_str(e, "ja4", t->have_ch ? t->fp.ja4 : NULL);
	if (t->have_retry_fp) {
		emit_str(e, "ja3_retry", t->fp_retry.ja3);
		emit_str(e, "ja4_retry", t->fp_retry.ja4);
	}
	if (t->have_sh && !t->sslv2_server)
		emit_str(e, "ja3s", t->ja3s);
	if (t->sslv2_hello)
		emit_bool(e, "sslv2_client_hello", true);
	if (t->ech)
		emit_bool(e, "ech", true);
	if (t->hrr)
		emit_bool(e, "hello_retry", true);
	if (t->have_sh)
		emit_bool(e, "resumed", t->resumed);
	if (!t->quic)
		/* each side sent an encrypted record (its Finished at least) */
		emit_bool(e, "established",
		          t->have_sh && t->side[0].encrypted_records &&
		              t->side[1].encrypted_records);
	if (t->cert)
		emit_cert(t->cert, t->certs_in_chain, e);
	if (t->client_certificate)
		emit_bool(e, "client_certificate", true);
	if (t->n_alerts || t->alerts_truncated) {
		emit_array_begin(e, "alerts");
		for (unsigned i = 0; i < t->n_alerts; i++) {
			const struct tls_alert *a = &t->alerts[i];
			const char *name = value_name_lookup(alert_names, a->desc);
			char num[8];
			emit_object_begin(e, NULL);
			emit_str(e, "from", a->from == DIR_CLIENT ? "client" : "server");
			emit_str(e, "level",
			         a->level == 1   ? "warning"
			         : a->level == 2 ? "fatal"
			                         : "unknown");
			if (!name) {
				snprintf(num, sizeof num, "%u", a->desc);
				name = num;
			}
			emit_str(e, "description", name);
			emit_object_end(e);
		}
		emit_array_end(e);
		if (t->alerts_truncated)
			emit_int(e, "alerts_truncated", t->alerts_truncated);
	}
	if (!t->quic) {
		unsigned enc = t->side[0].encrypted_alerts + t->side[1].encrypted_alerts;
		if (enc)
			emit_int(e, "encrypted_alerts", enc);
		emit_object_begin(e, "records");
		emit_int(e, "client", (int64_t)t->side[DIR_CLIENT].records);
		emit_int(e, "server", (int64_t)t->side[DIR_SERVER].records);
		emit_object_end(e);
	}
}

void tls_facts_summarize(const struct tls_facts *t, char *buf, size_t n)
{
	struct summary sum = summary_start(buf, n);
	if (t->has_sni) {
		summary_add(&sum, "sni ");
		summary_add_wire(&sum, t->sni, strlen(t->sni));
	}
	char vbuf[24];
	const char *v = t->have_sh ? version_text(t->version, vbuf) : NULL;
	if (v) {
		summary_add(&sum, sum.len ? " " : "");
		summary_add(&sum, v);
	}
	const char *alpn = t->have_alpn_selected ? t->alpn_selected : t->n_alpn ? t->alpn[0] : NULL;
	if (alpn && alpn[0]) {
		summary_add(&sum, sum.len ? " " : "");
		summary_add_wire(&sum, alpn, strlen(alpn));
	}
	if (t->n_alerts) {
		const char *name = value_name_lookup(alert_names, t->alerts[0].desc);
		summary_addf(&sum, "%salert %s", sum.len ? " " : "", name ? name : "?");
	}
}

/* ---- the dissector: one facts object per flow ---- */

static const uint16_t tls_ports[] = {443, 465, 563, 636,  853,  989,  990,  992,
                                     993, 994, 995, 3269, 5061, 5223, 8443, 0};

/* A record header (handshake, 3.0 to 3.4, a plausible length) with a
 * ClientHello (or, client's first bytes missed, a ServerHello) in it, or an
 * SSLv2-compatible ClientHello. */
static enum verdict tls_probe(struct reader r, enum direction dir)
{
	int b0 = rd_peek(&r, 0);
	if (b0 < 0)
		return VERDICT_NEED_MORE;
	if (b0 >= 0x80 && dir == DIR_CLIENT) {
		if (!rd_has(&r, 11))
			return VERDICT_NEED_MORE;
		struct reader h = r;
		uint16_t len = rd_be16(&h) & 0x7fff;
		uint8_t type = rd_u8(&h), major = rd_u8(&h), minor = rd_u8(&h);
		uint16_t cs = rd_be16(&h), sid = rd_be16(&h), ch = rd_be16(&h);
		bool ok = type == 1 && ((major == 0 && minor == 2) || (major == 3 && minor <= 3)) &&
		          cs && cs % 3 == 0 && (sid == 0 || sid == 16 || sid == 32) && ch >= 16 &&
		          ch <= 32 && 9u + cs + sid + ch == len;
		return ok ? VERDICT_YES : VERDICT_NO;
	}
	if (b0 != CT_HANDSHAKE)
		return VERDICT_NO;
	if (!rd_has(&r, 11)) {
		int major = rd_peek(&r, 1), minor = rd_peek(&r, 2);
		if ((major >= 0 && major != 3) || minor > 4)
			return VERDICT_NO;
		return VERDICT_NEED_MORE;
	}
	struct reader h = r;
	rd_skip(&h, 1);
	uint8_t major = rd_u8(&h), minor = rd_u8(&h);
	uint16_t len = rd_be16(&h);
	uint8_t msg = rd_u8(&h);
	uint32_t mlen = rd_be24(&h);
	uint8_t vmajor = rd_u8(&h), vminor = rd_u8(&h);
	if (major != 3 || minor > 4 || len < 38 || len > TLS_MAX_FRAGMENT)
		return VERDICT_NO;
	if (msg != (dir == DIR_CLIENT ? HS_CLIENT_HELLO : HS_SERVER_HELLO))
		return VERDICT_NO;
	if (mlen < 34 || mlen > TLS_MAX_HS_MSG || vmajor != 3 || vminor > 4)
		return VERDICT_NO;
	return VERDICT_YES;
}

static size_t tls_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	return tls_facts_records(state, s, dir, r);
}

static void tls_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct tls_facts *t = state;
	struct tls_side *side = &t->side[dir];
	session_count(s, "tls.gap");
	if (side->lost || pdu_gap(&side->pdu, missing)) {
		side->bytes += missing;
		return;
	}
	/* the next record's position is lost: count the rest only */
	side->lost = true;
	side->hs_len = 0;
}

static void tls_on_end(struct session *s, void *state)
{
	struct tls_facts *t = state;
	for (int d = 0; d < 2; d++)
		if (t->side[d].hs_len || t->side[d].hs_skip)
			session_count(s, "tls.unfinished_handshake_message");
}

static void tls_emit(const void *state, struct emitter *e)
{
	tls_facts_emit(state, e);
}

static void tls_summarize(const void *state, char *buf, size_t n)
{
	tls_facts_summarize(state, buf, n);
}

static void tls_release(void *state)
{
	tls_facts_release(state);
}

const struct dissector tls_dissector = {
    .name = "tls",
    .transports = TRANSPORT_BIT_TCP,
    .ports = tls_ports,
    .state_size = sizeof(struct tls_facts),
    .probe = tls_probe,
    .on_data = tls_on_data,
    .on_gap = tls_on_gap,
    .on_end = tls_on_end,
    .emit = tls_emit,
    .summarize = tls_summarize,
    .release = tls_release,
};
