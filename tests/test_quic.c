/* QUIC (dissectors/quic.c, src/quic_crypto.c): the sample packets of
 * RFC 9001 Appendix A (version 1) and RFC 9369 Appendix A (version 2) taken
 * apart, then Initial packets protected here (with the same code path the
 * RFC vectors check) to exercise coalescing, CRYPTO reordering, Retry,
 * caps, truncation and Google QUIC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "portolan/dissector.h"
#include "portolan/json.h"
#include "portolan/quic_crypto.h"
#include "portolan/session.h"

extern const struct dissector quic_dissector;

/* ---- RFC 9001 A.2/A.3 and RFC 9369 A.2/A.3, as printed there ---- */

static const char V1_CLIENT_HEX[] =
    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
    "d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
    "1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
    "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
    "30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
    "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
    "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
    "4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
    "485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
    "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
    "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
    "9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
    "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
    "68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
    "c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
    "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
    "291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
    "25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
    "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
    "ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
    "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
    "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
    "203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
    "cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
    "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
    "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
    "90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
    "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
    "40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
    "6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
    "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
    "be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
    "54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
    "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
    "f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
    "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
    "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
    "e221af44860018ab0856972e194cd934";

static const char V1_SERVER_HEX[] =
    "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a"
    "5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3"
    "dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84"
    "022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4"
    "2158407dd074ee";

static const char CRYPTO_FRAME_HEX[] =
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
    "75300901100f088394c8f03e51570806048000ffff";

static const char SERVER_PAYLOAD_HEX[] =
    "02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739"
    "88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94"
    "0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00"
    "020304";

static const char V2_CLIENT_HEX[] =
    "d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485"
    "dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04"
    "9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d"
    "250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a"
    "12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500"
    "cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68"
    "18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33"
    "12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3"
    "d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd"
    "6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520"
    "bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045"
    "636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f"
    "ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12"
    "16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5"
    "4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4"
    "fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b"
    "8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7"
    "14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9"
    "9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91"
    "abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd"
    "80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db"
    "848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18"
    "d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15"
    "c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc"
    "7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61"
    "f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710"
    "10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b"
    "3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e"
    "06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce"
    "8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1"
    "34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1"
    "e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd"
    "5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3"
    "8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89"
    "d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53"
    "6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19"
    "9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b"
    "a18b2faa745b6fe189cf772a9f84cbfc";

static const char V2_SERVER_HEX[] =
    "dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698"
    "baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17"
    "f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2"
    "c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca8"
    "4bed8521e2e140";

static const uint8_t RFC_DCID[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};

/* Hex text (spaces allowed) to bytes; returns the length.  Test input only. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (const char *p = hex; *p; p++) {
		int v;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			assert_true(n < cap);
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

static void assert_hex(const uint8_t *got, size_t n, const char *hex)
{
	uint8_t want[64];
	size_t wn = unhex(hex, want, sizeof want);
	assert_int_equal(wn, n);
	assert_memory_equal(got, want, n);
}

/* ---- a UDP flow the way src/dissect.c drives it ---- */

struct flow {
	struct session *s;
	void *state;
};

static struct flow *flow_open(void)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 44}};
	struct flow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->s = session_detached_new(false, &client, 50000, &server, 443);
	f->state = calloc(1, quic_dissector.state_size);
	assert_non_null(f->s);
	assert_non_null(f->state);
	return f;
}

static void flow_close(struct flow *f)
{
	quic_dissector.release(f->state);
	free(f->state);
	session_detached_free(f->s);
	free(f);
}

static void datagram(struct flow *f, enum direction dir, const uint8_t *data, size_t n)
{
	/* a copy of exactly n bytes, so ASan sees any read past the end */
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	if (n)
		memcpy(copy, data, n);
	quic_dissector.on_data(f->s, f->state, dir, rd_init(copy, n));
	free(copy);
}

static char *render(const struct flow *f)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	quic_dissector.emit(f->state, &jw.e);
	emit_object_end(&jw.e);
	assert_false(jw.overflow);
	char *text = strdup(json_writer_text(&jw));
	json_writer_free(&jw);
	assert_non_null(text);
	return text;
}

static char *summary(const struct flow *f)
{
	static char buf[256];
	quic_dissector.summarize(f->state, buf, sizeof buf);
	return buf;
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("\"%s\" not in %s", needle, haystack);
}

static void assert_lacks(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle))
		fail_msg("\"%s\" unexpectedly in %s", needle, haystack);
}

/* ---- protecting packets here (checked against the RFC in test_protect) ---- */

static size_t put_varint(uint8_t *p, uint64_t v)
{
	if (v < 64) {
		p[0] = (uint8_t)v;
		return 1;
	}
	if (v < 16384) {
		p[0] = (uint8_t)(0x40 | v >> 8);
		p[1] = (uint8_t)v;
		return 2;
	}
	p[0] = (uint8_t)(0x80 | v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return 4;
}

/* An Initial packet of `version` carrying `frames` (padded to `pad_to`
 * frame bytes), protected with the keys of `server`'s side derived from
 * key_dcid; 4-byte packet number (2-byte one when short_pn).  Returns its
 * length in out. */
static size_t protect(uint32_t version, const uint8_t *key_dcid, size_t key_dcid_len, bool server,
                      const uint8_t *dcid, size_t dcid_len, const uint8_t *scid, size_t scid_len,
                      uint32_t pn, bool short_pn, const uint8_t *frames, size_t frames_len,
                      size_t pad_to, uint8_t *out, size_t cap)
{
	struct quic_keys k;
	assert_true(quic_initial_keys(version, key_dcid, key_dcid_len, server, &k));
	size_t plain_len = frames_len < pad_to ? pad_to : frames_len;
	unsigned pn_len = short_pn ? 2 : 4;
	assert_true(plain_len + 64 + dcid_len + scid_len < cap);
	size_t n = 0;
	uint8_t type_bits = version == QUIC_VERSION_2 ? 1 : 0;
	out[n++] = (uint8_t)(0xc0 | type_bits << 4 | (pn_len - 1));
	out[n++] = (uint8_t)(version >> 24);
	out[n++] = (uint8_t)(version >> 16);
	out[n++] = (uint8_t)(version >> 8);
	out[n++] = (uint8_t)version;
	out[n++] = (uint8_t)dcid_len;
	if (dcid_len)
		memcpy(out + n, dcid, dcid_len);
	n += dcid_len;
	out[n++] = (uint8_t)scid_len;
	if (scid_len)
		memcpy(out + n, scid, scid_len);
	n += scid_len;
	out[n++] = 0; /* no token */
	out[n++] = (uint8_t)(0x40 | (pn_len + plain_len + 16) >> 8);
	out[n++] = (uint8_t)(pn_len + plain_len + 16);
	size_t pn_offset = n;
	for (unsigned i = 0; i < pn_len; i++)
		out[n++] = (uint8_t)(pn >> (8 * (pn_len - 1 - i)));
	size_t hdr_len = n;
	uint8_t *plain = calloc(1, plain_len);
	assert_non_null(plain);
	memcpy(plain, frames, frames_len);
	uint8_t nonce[QUIC_IV_LEN];
	memcpy(nonce, k.iv, sizeof nonce);
	for (unsigned i = 0; i < 4; i++)
		nonce[QUIC_IV_LEN - 1 - i] ^= (uint8_t)(pn >> (8 * i));
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0;
	assert_non_null(c);
	assert_true(EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, k.key, nonce) > 0);
	assert_true(EVP_EncryptUpdate(c, NULL, &len, out, (int)hdr_len) > 0);
	assert_true(EVP_EncryptUpdate(c, out + hdr_len, &len, plain, (int)plain_len) > 0);
	assert_true(EVP_EncryptFinal_ex(c, out + hdr_len + len, &len) > 0);
	assert_true(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + hdr_len + plain_len) >
	            0);
	EVP_CIPHER_CTX_free(c);
	free(plain);
	n = hdr_len + plain_len + 16;
	uint8_t mask[5];
	assert_true(quic_hp_mask(k.hp, out + pn_offset + 4, mask));
	out[0] ^= mask[0] & 0x0f;
	for (unsigned i = 0; i < pn_len; i++)
		out[pn_offset + i] ^= mask[1 + i];
	return n;
}

/* A client Initial (v1 keys from RFC_DCID) with these frames. */
static size_t client_initial(uint32_t pn, const uint8_t *frames, size_t len, uint8_t *out,
                             size_t cap)
{
	static const uint8_t scid[4] = {1, 2, 3, 4};
	return protect(QUIC_VERSION_1, RFC_DCID, 8, false, RFC_DCID, 8, scid, 4, pn, false, frames,
	               len, 1162, out, cap);
}

/* A CRYPTO frame with part [from, to) of data. */
static size_t crypto_frame(const uint8_t *data, size_t from, size_t to, uint8_t *out)
{
	size_t n = 0;
	out[n++] = 0x06;
	n += put_varint(out + n, from);
	n += put_varint(out + n, to - from);
	memcpy(out + n, data + from, to - from);
	return n + (to - from);
}

/* The ClientHello of RFC 9001 A.2 (the CRYPTO frame's data, 241 bytes). */
static size_t rfc_client_hello(uint8_t *out)
{
	uint8_t frame[300];
	size_t n = unhex(CRYPTO_FRAME_HEX, frame, sizeof frame);
	assert_int_equal(n, 4 + 241);
	memcpy(out, frame + 4, 241);
	return 241;
}

/* ---- key derivation: RFC 9001 A.1, RFC 9369 A.1 ---- */

static void test_keys_v1(void **unused)
{
	(void)unused;
	uint8_t secret[QUIC_SECRET_LEN];
	struct quic_keys k;
	assert_true(quic_initial_secret(QUIC_VERSION_1, RFC_DCID, 8, false, secret));
	assert_hex(secret, 32, "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea");
	assert_true(quic_keys_from_secret(QUIC_VERSION_1, secret, &k));
	assert_hex(k.key, 16, "1f369613dd76d5467730efcbe3b1a22d");
	assert_hex(k.iv, 12, "fa044b2f42a3fd3b46fb255c");
	assert_hex(k.hp, 16, "9f50449e04a0e810283a1e9933adedd2");
	assert_true(quic_initial_secret(QUIC_VERSION_1, RFC_DCID, 8, true, secret));
	assert_hex(secret, 32, "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b");
	assert_true(quic_initial_keys(QUIC_VERSION_1, RFC_DCID, 8, true, &k));
	assert_hex(k.key, 16, "cf3a5331653c364c88f0f379b6067e37");
	assert_hex(k.iv, 12, "0ac1493ca1905853b0bba03e");
	assert_hex(k.hp, 16, "c206b8d9b9f0f37644430b490eeaa314");
	/* the header protection mask of A.2 */
	uint8_t sample[16], mask[5];
	unhex("d1b1c98dd7689fb8ec11d242b123dc9b", sample, sizeof sample);
	assert_true(quic_hp_mask((const uint8_t *)"\x9f\x50\x44\x9e\x04\xa0\xe8\x10\x28\x3a\x1e\x99"
	                                          "\x33\xad\xed\xd2",
	                         sample, mask));
	assert_hex(mask, 5, "437b9aec36");
}

static void test_keys_v2(void **unused)
{
	(void)unused;
	uint8_t secret[QUIC_SECRET_LEN];
	struct quic_keys k;
	assert_true(quic_initial_secret(QUIC_VERSION_2, RFC_DCID, 8, false, secret));
	assert_hex(secret, 32, "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b");
	assert_true(quic_keys_from_secret(QUIC_VERSION_2, secret, &k));
	assert_hex(k.key, 16, "8b1a0bc121284290a29e0971b5cd045d");
	assert_hex(k.iv, 12, "91f73e2351d8fa91660e909f");
	assert_hex(k.hp, 16, "45b95e15235d6f45a6b19cbcb0294ba9");
	assert_true(quic_initial_secret(QUIC_VERSION_2, RFC_DCID, 8, true, secret));
	assert_hex(secret, 32, "0263db1782731bf4588e7e4d93b7463907cb8cd8200b5da55a8bd488eafc37c1");
	assert_true(quic_initial_keys(QUIC_VERSION_2, RFC_DCID, 8, true, &k));
	assert_hex(k.key, 16, "82db637861d55e1d011f19ea71d5d2a7");
	assert_hex(k.iv, 12, "dd13c276499c0249d3310652");
	assert_hex(k.hp, 16, "edf6d05c83121201b436e16877593c3a");
}

static void test_versions_with_keys(void **unused)
{
	(void)unused;
	assert_true(quic_version_has_initial_keys(QUIC_VERSION_1));
	assert_true(quic_version_has_initial_keys(QUIC_VERSION_2));
	for (uint32_t v = 0xff00001d; v <= 0xff000022; v++)
		assert_true(quic_version_has_initial_keys(v));
	assert_false(quic_version_has_initial_keys(0xff00001c));
	assert_false(quic_version_has_initial_keys(0xff000023));
	assert_false(quic_version_has_initial_keys(0));
	assert_false(quic_version_has_initial_keys(0x51303436)); /* Q046 */
	struct quic_keys k;
	assert_false(quic_initial_keys(QUIC_VERSION_1, RFC_DCID, 0, false, &k));
	assert_false(quic_initial_keys(0x12345678, RFC_DCID, 8, false, &k));
	/* drafts 29-32 share a salt, 33 and 34 use version 1's */
	struct quic_keys d29, d32, d33, v1;
	assert_true(quic_initial_keys(0xff00001d, RFC_DCID, 8, false, &d29));
	assert_true(quic_initial_keys(0xff000020, RFC_DCID, 8, false, &d32));
	assert_true(quic_initial_keys(0xff000021, RFC_DCID, 8, false, &d33));
	assert_true(quic_initial_keys(QUIC_VERSION_1, RFC_DCID, 8, false, &v1));
	assert_memory_equal(&d29, &d32, sizeof d29);
	assert_memory_equal(&d33, &v1, sizeof v1);
	assert_memory_not_equal(&d29, &v1, sizeof v1);
}

static void test_decode_pn(void **unused)
{
	(void)unused;
	/* RFC 9000 A.3's example */
	assert_int_equal(quic_decode_pn(0xa82f30ea, 0x9b32, 2), 0xa82f9b32);
	assert_int_equal(quic_decode_pn(-1, 7, 1), 7);
	assert_int_equal(quic_decode_pn(0xff, 0x01, 1), 0x101);
	assert_int_equal(quic_decode_pn(0x101, 0xff, 1), 0xff);
}

/* ---- the RFC packets ---- */

static void open_rfc(const char *hex, uint32_t version, bool server, size_t pn_offset,
                     const char *want_hex, uint64_t want_pn)
{
	uint8_t pkt[1300], want[1300];
	size_t n = unhex(hex, pkt, sizeof pkt);
	size_t wn = unhex(want_hex, want, sizeof want);
	struct quic_keys k;
	assert_true(quic_initial_keys(version, RFC_DCID, 8, server, &k));
	size_t off, len;
	uint64_t pn;
	assert_true(quic_open_long(&k, pkt, n, pn_offset, -1, &off, &len, &pn));
	assert_int_equal(pn, want_pn);
	assert_true(len >= wn);
	assert_memory_equal(pkt + off, want, wn);
	for (size_t i = wn; i < len; i++)
		assert_int_equal(pkt[off + i], 0); /* PADDING */
	/* a flipped bit anywhere fails authentication */
	n = unhex(hex, pkt, sizeof pkt);
	pkt[n / 2] ^= 0x20;
	assert_false(quic_open_long(&k, pkt, n, pn_offset, -1, &off, &len, &pn));
	/* and the wrong side's keys do too */
	n = unhex(hex, pkt, sizeof pkt);
	assert_true(quic_initial_keys(version, RFC_DCID, 8, !server, &k));
	assert_false(quic_open_long(&k, pkt, n, pn_offset, -1, &off, &len, &pn));
}

static void test_open_rfc_packets(void **unused)
{
	(void)unused;
	open_rfc(V1_CLIENT_HEX, QUIC_VERSION_1, false, 18, CRYPTO_FRAME_HEX, 2);
	open_rfc(V1_SERVER_HEX, QUIC_VERSION_1, true, 18, SERVER_PAYLOAD_HEX, 1);
	open_rfc(V2_CLIENT_HEX, QUIC_VERSION_2, false, 18, CRYPTO_FRAME_HEX, 2);
	open_rfc(V2_SERVER_HEX, QUIC_VERSION_2, true, 18, SERVER_PAYLOAD_HEX, 1);
}

/* The test's protect() gives the RFC's bytes exactly, so packets built
 * with it are as real as the RFC's. */
static void test_protect(void **unused)
{
	(void)unused;
	uint8_t frames[300], out[1300], want[1300];
	size_t fn = unhex(CRYPTO_FRAME_HEX, frames, sizeof frames);
	size_t n = protect(QUIC_VERSION_1, RFC_DCID, 8, false, RFC_DCID, 8, NULL, 0, 2, false,
	                   frames, fn, 1162, out, sizeof out);
	assert_int_equal(n, unhex(V1_CLIENT_HEX, want, sizeof want));
	assert_memory_equal(out, want, n);
	n = protect(QUIC_VERSION_2, RFC_DCID, 8, false, RFC_DCID, 8, NULL, 0, 2, false, frames, fn,
	            1162, out, sizeof out);
	assert_int_equal(n, unhex(V2_CLIENT_HEX, want, sizeof want));
	assert_memory_equal(out, want, n);
}

static void assert_rfc_exchange(const char *client_hex, const char *server_hex, const char *name)
{
	uint8_t c[1300], s[200];
	size_t cn = unhex(client_hex, c, sizeof c), sn = unhex(server_hex, s, sizeof s);
	struct flow *f = flow_open();
	datagram(f, DIR_CLIENT, c, cn);
	datagram(f, DIR_SERVER, s, sn);
	char *text = render(f);
	assert_contains(text, name);
	assert_contains(text, "\"dcid\":\"8394c8f03e515708\",\"scid\":\"\"");
	assert_contains(text, "\"server_scid\":\"f067a5502a4262b5\"");
	assert_contains(text, "\"decrypted\":{\"client\":1,\"server\":1}");
	assert_contains(text, "\"packets\":{\"initial\":2,");
	assert_contains(text, "\"tls\":{");
	assert_contains(text, "\"sni\":\"example.com\"");
	assert_contains(text, "TLS_AES_128_GCM_SHA256");
	assert_lacks(text, "decrypt_failed");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_contains(summary(f), "QUIC ");
	free(text);
	flow_close(f);
}

static void test_rfc9001_exchange(void **unused)
{
	(void)unused;
	assert_rfc_exchange(V1_CLIENT_HEX, V1_SERVER_HEX, "\"version\":\"1\"");
}

static void test_rfc9369_exchange(void **unused)
{
	(void)unused;
	assert_rfc_exchange(V2_CLIENT_HEX, V2_SERVER_HEX, "\"version\":\"2\"");
}

/* Every prefix of either packet: no crash, nothing decrypted from a cut
 * packet, and the record still names the version. */
static void test_every_truncation(void **unused)
{
	(void)unused;
	const char *hexes[] = {V1_CLIENT_HEX, V2_CLIENT_HEX};
	for (int h = 0; h < 2; h++) {
		uint8_t c[1300];
		size_t cn = unhex(hexes[h], c, sizeof c);
		for (size_t cut = 0; cut < cn; cut++) {
			struct flow *f = flow_open();
			datagram(f, DIR_CLIENT, c, cut);
			char *text = render(f);
			assert_lacks(text, "\"client\":1");
			if (cut >= 5)
				assert_lacks(text, "\"version\":null");
			free(text);
			flow_close(f);
		}
	}
	/* the server's packet cut after a whole client Initial */
	uint8_t c[1300], s[200];
	size_t cn = unhex(V1_CLIENT_HEX, c, sizeof c), sn = unhex(V1_SERVER_HEX, s, sizeof s);
	for (size_t cut = 0; cut < sn; cut++) {
		struct flow *f = flow_open();
		datagram(f, DIR_CLIENT, c, cn);
		datagram(f, DIR_SERVER, s, cut);
		char *text = render(f);
		assert_contains(text, "\"decrypted\":{\"client\":1,\"server\":0}");
		assert_contains(text, "example.com");
		free(text);
		flow_close(f);
	}
}

/* The server's Initial alone: its keys come from a DCID never seen. */
static void test_server_only(void **unused)
{
	(void)unused;
	uint8_t s[200];
	size_t sn = unhex(V1_SERVER_HEX, s, sizeof s);
	struct flow *f = flow_open();
	datagram(f, DIR_SERVER, s, sn);
	char *text = render(f);
	assert_contains(text, "\"version\":\"1\"");
	assert_contains(text, "\"decrypted\":{\"client\":0,\"server\":0}");
	assert_lacks(text, "\"tls\"");
	free(text);
	flow_close(f);
}

/* ---- CRYPTO reassembly ---- */

/* The ClientHello cut in three CRYPTO frames, each in its own packet, sent
 * in every order (and a frame sent twice). */
static void test_crypto_reordered(void **unused)
{
	(void)unused;
	uint8_t ch[300];
	size_t chn = rfc_client_hello(ch);
	const size_t cuts[4] = {0, 50, 170, chn};
	static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
	                                 {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	for (int o = 0; o < 6; o++) {
		struct flow *f = flow_open();
		for (int i = 0; i < 3; i++) {
			int part = orders[o][i];
			uint8_t frame[300], pkt[1400];
			size_t fn = crypto_frame(ch, cuts[part], cuts[part + 1], frame);
			size_t n = client_initial((uint32_t)i, frame, fn, pkt, sizeof pkt);
			datagram(f, DIR_CLIENT, pkt, n);
			if (i == 0 && part == 1) /* a duplicate of a middle part */
				datagram(f, DIR_CLIENT, pkt, n);
			char *text = render(f);
			if (i < 2)
				assert_lacks(text, "example.com");
			else
				assert_contains(text, "\"sni\":\"example.com\"");
			free(text);
		}
		flow_close(f);
	}
}

/* Several CRYPTO frames in one packet, out of order and overlapping, plus
 * PING, ACK (with ECN) and PADDING between them. */
static void test_frames_in_one_packet(void **unused)
{
	(void)unused;
	uint8_t ch[300], frames[800];
	size_t chn = rfc_client_hello(ch), n = 0;
	frames[n++] = 0x01; /* PING */
	n += crypto_frame(ch, 100, chn, frames + n);
	frames[n++] = 0x00;
	frames[n++] = 0x00;
	static const uint8_t ack_ecn[] = {0x03, 0x05, 0x40, 0x10, 0x01, 0x00,
	                                  0x02, 0x01, 0x00, 0x01, 0x02};
	memcpy(frames + n, ack_ecn, sizeof ack_ecn);
	n += sizeof ack_ecn;
	n += crypto_frame(ch, 60, 120, frames + n);
	static const uint8_t ack[] = {0x02, 0x01, 0x00, 0x00, 0x00};
	memcpy(frames + n, ack, sizeof ack);
	n += sizeof ack;
	n += crypto_frame(ch, 0, 61, frames + n);
	uint8_t pkt[1400];
	size_t pn = client_initial(0, frames, n, pkt, sizeof pkt);
	struct flow *f = flow_open();
	datagram(f, DIR_CLIENT, pkt, pn);
	char *text = render(f);
	assert_contains(text, "\"sni\":\"example.com\"");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "quic.frame_not_parsed"), 0);
	free(text);
	flow_close(f);
}

/* A frame we do not parse ends the packet: what follows is not read. */
static void test_unknown_frame_stops(void **unused)
{
	(void)unused;
	uint8_t ch[300], frames[600];
	size_t chn = rfc_client_hello(ch), n = 0;
	frames[n++] = 0x07; /* NEW_TOKEN: not allowed in Initial, not parsed */
	n += crypto_frame(ch, 0, chn, frames + n);
	uint8_t pkt[1400];
	size_t pn = client_initial(0, frames, n, pkt, sizeof pkt);
	struct flow *f = flow_open();
	datagram(f, DIR_CLIENT, pkt, pn);
	char *text = render(f);
	assert_lacks(text, "example.com");
	assert_contains(text, "\"client\":1");
	assert_int_equal(session_counter_value(f->s, "quic.frame_not_parsed"), 1);
	free(text);
	flow_close(f);
}

/* A CRYPTO frame claiming more bytes than the packet has. */
static void test_bad_frame_is_malformed(void **unused)
{
	(void)unused;
	static const uint8_t frames[] = {0x06, 0x00, 0x44, 0x00, 0x01, 0x02};
	uint8_t pkt[1400];
	size_t pn = protect(QUIC_VERSION_1, RFC_DCID, 8, false, RFC_DCID, 8, NULL, 0, 0, false,
	                    frames, sizeof frames, 0, pkt, sizeof pkt);
	struct flow *f = flow_open();
	datagram(f, DIR_CLIENT, pkt, pn);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
}

static void test_connection_close(void **unused)
{
	(void)unused;
	static const uint8_t frames[] = {0x1c, 0x41, 0x28, 0x06, 0x05, 'n', 'o', 'p', 'e', '!'};
	uint8_t c[1300], pkt[1400];
	size_t cn = unhex(V1_CLIENT_HEX, c, sizeof c);
	static const uint8_t scid[8] = {0xf0, 0x67, 0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5};
	size_t pn = protect(QUIC_VERSION_1, RFC_DCID, 8, true, NULL, 0, scid, 8, 2, true, frames,
	                    sizeof frames, 20, pkt, sizeof pkt);
	struct flow *f = flow_open();
	datagram(f, DIR_CLIENT, c, cn);
	datagram(f, DIR_SERVER, pkt, pn);
	char *text = render(f);
	assert_contains(text, "\"connection_close\":{\"from\":\"server\",\"application\":false,"
	                      "\"error_code\":296,\"frame_type\":6,\"reason\":\"nope!\"}");
	assert_contains(summary(f), "closed: nope!");
	free(text);
	flow_close(f);
}

/* ---- datagrams ---- */

/* The server's Initial, a Handshake packet and a 1-RTT packet in one
 * datagram; then zero padding after a packet. */
static void test_coalesced(void **unused)
{
	(void)unused;
	uint8_t c[1300], d[600];
	size_t cn = unhex(V1_CLIENT_HEX, c, sizeof c);
	size_t n = unhex(V1_SERVER_HEX, d, sizeof d);
	static const uint8_t handshake[] = {0xe0, 0, 0,    0,    1,    0,    4,    1,   2,
	                                    3,    4, 0x05, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
	memcpy(d + n, handshake, sizeof handshake);
	n += sizeof handshake;
	memcpy(d + n, handshake, sizeof handshake);
	n += sizeof handshake;
	static const uint8_t one_rtt[] = {0x41, 1, 2, 3, 4, 9, 9, 9};
	memcpy(d + n, one_rtt, sizeof one_rtt);
	n += sizeof one_rtt;
	struct flow *f = flow_open();
	datagram(f, DIR_CLIENT, c, cn);
	datagram(f, DIR_SERVER, d, n);
	char *text = render(f);
	assert_contains(text, "\"packets\":{\"initial\":2,\"0rtt\":0,\"handshake\":2,\"retry\":0,"
	                      "\"short\":1}");
	assert_contains(text, "\"server\":1");
	free(text);
	flow_close(f);

	/* zero bytes after the client's Initial are padding, not packets */
	uint8_t padded[1400] = {0};
	memcpy(padded, c, cn);
	f = flow_open();
	datagram(f, DIR_CLIENT, padded, sizeof padded);
	text = render(f);
	assert_contains(text, "\"packets\":{\"initial\":1,\"0rtt\":0,\"handshake\":0,\"retry\":0,"
	                      "\"short\":0}");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
}

/* More coalesced packets than QUIC_MAX_COALESCED: the rest is not walked. */
static void test_coalesced_cap(void **unused)
{
	(void)unused;
	static const uint8_t handshake[] = {0xe0, 0, 0, 0, 1, 0, 0, 0x02, 0xaa, 0xbb};
	uint8_t d[20 * sizeof handshake];
	for (int i = 0; i < 20; i++)
		memcpy(d + i * sizeof handshake, handshake, sizeof handshake);
	struct flow *f = flow_open();
	datagram(f, DIR_CLIENT, d, sizeof d);
	char *text = render(f);
	assert_contains(text, "\"handshake\":8,");
	free(text);
	flow_close(f);
}

/* Retry: the client's second Initial uses the server's chosen DCID, and the
 * keys of both sides come from it from then on. */
static void test_retry(void **unused)
{
	(void)unused;
	uint8_t c[1300], ch[300], frame[300], pkt[1400];
	size_t cn = unhex(V1_CLIENT_HEX, c, sizeof c);
	size_t chn = rfc_client_hello(ch);
	static const uint8_t new_dcid[8] = {0xf0, 0x67, 0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5};
	static const uint8_t retry[] = {0xf0, 0,    0,    0,    1,    0,    8,    0xf0, 0x67,
	                                0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5, 't',  'o',  'k',
	                                'e',  'n',  0x04, 0xa2, 0x65, 0xba, 0x2e, 0xff, 0x4d,
	                                0x82, 0x90, 0x58, 0xfb, 0x3f, 0x0f, 0x24, 0x96, 0xba};
	struct flow *f = flow_open();
	datagram(f, DIR_CLIENT, c, cn);
	datagram(f, DIR_SERVER, retry, sizeof retry);
	size_t fn = crypto_frame(ch, 0, chn, frame);
	size_t n = protect(QUIC_VERSION_1, new_dcid, 8, false, new_dcid, 8, NULL, 0, 3, false,
	                   frame, fn, 1162, pkt, sizeof pkt);
	datagram(f, DIR_CLIENT, pkt, n);
	static const uint8_t ping[] = {0x01};
	n = protect(QUIC_VERSION_1, new_dcid, 8, true, NULL, 0, new_dcid, 8, 0, true, ping, 1, 20,
	            pkt, sizeof pkt);
	datagram(f, DIR_SERVER, pkt, n);
	char *text = render(f);
	assert_contains(text, "\"retry\":1");
	assert_contains(text, "\"decrypted\":{\"client\":2,\"server\":1}");
	assert_contains(text, "\"dcid\":\"8394c8f03e515708\"");
	assert_lacks(text, "decrypt_failed");
	free(text);
	flow_close(f);
}

/* A packet that does not authenticate is counted, not parsed. */
static void test_decrypt_failure(void **unused)
{
	(void)unused;
	uint8_t c[1300];
	size_t cn = unhex(V1_CLIENT_HEX, c, sizeof c);
	c[600] ^= 1;
	struct flow *f = flow_open();
	datagram(f, DIR_CLIENT, c, cn);
	char *text = render(f);
	assert_contains(text, "\"decrypt_failed\":1");
	assert_contains(text, "\"version\":\"1\"");
	assert_lacks(text, "\"tls\"");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(text);
	flow_close(f);
}

/* ---- caps ---- */

static void test_decrypt_cap(void **unused)
{
	(void)unused;
	static const uint8_t ping[] = {0x01};
	struct flow *f = flow_open();
	for (uint32_t i = 0; i < 20; i++) {
		uint8_t pkt[1400];
		size_t n = client_initial(i, ping, 1, pkt, sizeof pkt);
		datagram(f, DIR_CLIENT, pkt, n);
	}
	char *text = render(f);
	assert_contains(text, "\"initial\":20,");
	assert_contains(text, "\"decrypted\":{\"client\":16,\"server\":0}");
	assert_contains(text, "\"not_decrypted\":4");
	assert_int_equal(session_counter_value(f->s, "quic.initial_not_decrypted"), 4);
	free(text);
	flow_close(f);
}

/* CRYPTO data past QUIC_CRYPTO_MAX (32 KiB) is dropped and said so. */
static void test_crypto_cap(void **unused)
{
	(void)unused;
	uint8_t frames[64];
	size_t n = 0;
	frames[n++] = 0x06;
	n += put_varint(frames + n, 40000);
	n += put_varint(frames + n, 4);
	memcpy(frames + n, "abcd", 4);
	n += 4;
	uint8_t pkt[1400];
	size_t pn = client_initial(0, frames, n, pkt, sizeof pkt);
	struct flow *f = flow_open();
	datagram(f, DIR_CLIENT, pkt, pn);
	/* and one straddling the end */
	n = 0;
	frames[n++] = 0x06;
	n += put_varint(frames + n, 32 * 1024 - 2);
	n += put_varint(frames + n, 4);
	memcpy(frames + n, "abcd", 4);
	n += 4;
	pn = client_initial(1, frames, n, pkt, sizeof pkt);
	datagram(f, DIR_CLIENT, pkt, pn);
	char *text = render(f);
	assert_contains(text, "\"crypto_truncated\":true");
	assert_int_equal(session_counter_value(f->s, "quic.crypto_too_long"), 1);
	free(text);
	flow_close(f);
}

/* ---- Google QUIC ---- */

/* A Q046 client packet with a cleartext CHLO carrying SNI and UAID. */
static size_t gquic_q046(uint8_t *out)
{
	size_t n = 0;
	static const uint8_t hdr[] = {0xc3, 'Q', '0', '4', '6', 0x50, 1, 2, 3,
	                              4,    5,   6,   7,   8,   0,    0, 0, 1};
	memcpy(out, hdr, sizeof hdr);
	n += sizeof hdr;
	memset(out + n, 0x11, 12); /* message authentication hash */
	n += 12;
	static const uint8_t frame[] = {0xa4, 0x01, 0x00, 0x00, 0x04, 0x00};
	memcpy(out + n, frame, sizeof frame);
	n += sizeof frame;
	static const uint8_t chlo[] = {'C', 'H', 'L', 'O', 3,   0,   0,   0,   'P', 'A', 'D', 0,
	                               4,   0,   0,   0,   'S', 'N', 'I', 0,   19,  0,   0,   0,
	                               'U', 'A', 'I', 'D', 28,  0,   0,   0,   '-', '-', '-', '-',
	                               'p', 'l', 'a', 'y', '.', 'g', 'o', 'o', 'g', 'l', 'e', '.',
	                               'c', 'o', 'm', 'C', 'h', 'r', 'o', 'm', 'e', '/', '7', '4'};
	memcpy(out + n, chlo, sizeof chlo);
	return n + sizeof chlo;
}

static void test_gquic_q046(void **unused)
{
	(void)unused;
	uint8_t pkt[200];
	size_t n = gquic_q046(pkt);
	assert_int_equal(quic_dissector.probe(rd_init(pkt, n), DIR_CLIENT), VERDICT_YES);
	struct flow *f = flow_open();
	datagram(f, DIR_CLIENT, pkt, n);
	char *text = render(f);
	assert_contains(text, "\"version\":\"Q046\",\"gquic\":true,\"sni\":\"play.google.com\","
	                      "\"user_agent\":\"Chrome/74\"");
	assert_string_equal(summary(f), "gQUIC Q046 sni play.google.com");
	free(text);
	flow_close(f);
	/* every truncation */
	for (size_t cut = 0; cut < n; cut++) {
		f = flow_open();
		datagram(f, DIR_CLIENT, pkt, cut);
		text = render(f);
		if (cut < n - 9) /* the SNI's value ends 9 bytes before the packet */
			assert_lacks(text, "play.google.com\"");
		else
			assert_contains(text, "play.google.com\"");
		free(text);
		flow_close(f);
	}
	/* a CHLO whose offsets run past the packet */
	pkt[n - 40] = 0xff;
	f = flow_open();
	datagram(f, DIR_CLIENT, pkt, n);
	text = render(f);
	assert_lacks(text, "\"sni\"");
	free(text);
	flow_close(f);
}

/* gQUIC's older public header (Q025 and the like). */
static void test_gquic_public_header(void **unused)
{
	(void)unused;
	uint8_t pkt[120] = {0x0d, 1, 2, 3, 4, 5, 6, 7, 8, 'Q', '0', '2', '5', 0x01};
	size_t n = 14;
	memset(pkt + n, 0x22, 12);
	n += 12;
	static const uint8_t chlo[] = {'C', 'H', 'L', 'O', 1,   0,   0,   0,   'S', 'N',
	                               'I', 0,   13,  0,   0,   0,   'w', 'w', 'w', '.',
	                               'g', 'o', 'o', 'g', 'l', 'e', '.', 'i', 't'};
	memcpy(pkt + n, chlo, sizeof chlo);
	n += sizeof chlo;
	assert_int_equal(quic_dissector.probe(rd_init(pkt, n), DIR_CLIENT), VERDICT_YES);
	struct flow *f = flow_open();
	datagram(f, DIR_CLIENT, pkt, n);
	char *text = render(f);
	assert_contains(text, "\"version\":\"Q025\",\"gquic\":true,\"sni\":\"www.google.it\"");
	free(text);
	flow_close(f);
}

/* ---- the probe ---- */

static enum verdict probe_hex(const char *hex)
{
	uint8_t b[1300];
	size_t n = unhex(hex, b, sizeof b);
	return quic_dissector.probe(rd_init(b, n), DIR_CLIENT);
}

static void test_probe(void **unused)
{
	(void)unused;
	assert_int_equal(probe_hex(V1_CLIENT_HEX), VERDICT_YES);
	assert_int_equal(probe_hex(V2_CLIENT_HEX), VERDICT_YES);
	assert_int_equal(probe_hex(V1_SERVER_HEX), VERDICT_YES);
	assert_int_equal(probe_hex("c0ff00001d08 0102030405060708 00"), VERDICT_YES); /* draft-29 */
	assert_int_equal(probe_hex("c0ff00002208 0102030405060708 00"), VERDICT_YES); /* draft-34 */
	assert_int_equal(probe_hex("c3 51303530 08 0102030405060708 00"), VERDICT_YES); /* Q050 */
	assert_int_equal(probe_hex("c0ff00001c08 0102030405060708 00"), VERDICT_NO); /* draft-28 */
	assert_int_equal(probe_hex("c0 12345678 08 0102030405060708 00"), VERDICT_NO);
	assert_int_equal(probe_hex("80 00000001 08 0102030405060708 00"),
	                 VERDICT_NO); /* no fixed bit */
	assert_int_equal(probe_hex("c0 00000001 30 0102030405060708 00"), VERDICT_NO); /* DCID 48 */
	assert_int_equal(probe_hex("c0 00000001"), VERDICT_NO);
	assert_int_equal(probe_hex("c0 000000"), VERDICT_NO);
	assert_int_equal(probe_hex(""), VERDICT_NO);
	assert_int_equal(probe_hex("41 0102030405060708 aabbccdd"), VERDICT_NO); /* 1-RTT */
	/* DNS query, NTP client, DHCP discover, syslog: not QUIC */
	assert_int_equal(probe_hex("abcd01000001000000000000076578616d706c6503636f6d0000010001"),
	                 VERDICT_NO);
	assert_int_equal(probe_hex("e30004fa000100000001000000000000000000000000000000000000"),
	                 VERDICT_NO);
	assert_int_equal(probe_hex("0101060012345678000000000000000000000000"), VERDICT_NO);
	assert_int_equal(probe_hex("3c3133343e4e6f76"), VERDICT_NO);
}

/* Unknown versions and version negotiation are named, not parsed. */
static void test_other_versions(void **unused)
{
	(void)unused;
	uint8_t b[64];
	size_t n = unhex("c0 faceb002 08 0102030405060708 04 01020304 00 4010", b, sizeof b);
	struct flow *f = flow_open();
	datagram(f, DIR_CLIENT, b, n);
	n = unhex("80 00000000 04 01020304 08 0102030405060708 00000001 6b3343cf", b, sizeof b);
	datagram(f, DIR_SERVER, b, n);
	char *text = render(f);
	assert_contains(text, "\"version\":\"0xfaceb002\"");
	assert_contains(text, "\"version_negotiation\":1");
	assert_contains(text, "\"other_version\":1");
	free(text);
	flow_close(f);
	/* a DCID longer than 20 bytes is malformed */
	n = unhex("c0 00000001 30 0102030405060708", b, sizeof b);
	f = flow_open();
	datagram(f, DIR_CLIENT, b, n);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
	/* nothing seen at all */
	f = flow_open();
	text = render(f);
	assert_contains(text, "\"version\":null");
	assert_string_equal(summary(f), "QUIC (no long header seen)");
	free(text);
	flow_close(f);
}

/* Random bytes behind a long-header start: never a crash. */
static void test_garbage(void **unused)
{
	(void)unused;
	uint32_t x = 12345;
	for (int round = 0; round < 300; round++) {
		uint8_t b[1300];
		size_t n = 1 + (size_t)(round * 37 % 1300);
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			b[i] = (uint8_t)(x >> 16);
		}
		b[0] = (uint8_t)(0xc0 | (b[0] & 0x3f));
		if (n > 5) {
			b[1] = 0, b[2] = 0, b[3] = 0, b[4] = 1;
		}
		if (n > 6)
			b[5] = b[5] % 21;
		struct flow *f = flow_open();
		datagram(f, DIR_CLIENT, b, n);
		datagram(f, DIR_SERVER, b, n);
		char *text = render(f);
		free(text);
		flow_close(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_v1),
	    cmocka_unit_test(test_keys_v2),
	    cmocka_unit_test(test_versions_with_keys),
	    cmocka_unit_test(test_decode_pn),
	    cmocka_unit_test(test_open_rfc_packets),
	    cmocka_unit_test(test_protect),
	    cmocka_unit_test(test_rfc9001_exchange),
	    cmocka_unit_test(test_rfc9369_exchange),
	    cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_server_only),
	    cmocka_unit_test(test_crypto_reordered),
	    cmocka_unit_test(test_frames_in_one_packet),
	    cmocka_unit_test(test_unknown_frame_stops),
	    cmocka_unit_test(test_bad_frame_is_malformed),
	    cmocka_unit_test(test_connection_close),
	    cmocka_unit_test(test_coalesced),
	    cmocka_unit_test(test_coalesced_cap),
	    cmocka_unit_test(test_retry),
	    cmocka_unit_test(test_decrypt_failure),
	    cmocka_unit_test(test_decrypt_cap),
	    cmocka_unit_test(test_crypto_cap),
	    cmocka_unit_test(test_gquic_q046),
	    cmocka_unit_test(test_gquic_public_header),
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_other_versions),
	    cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
