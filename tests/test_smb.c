/* SMB (dissectors/smb.c) and the NTLMSSP reader (src/ntlmssp.c): messages
 * built field by field from the MS-SMB2 / MS-CIFS / MS-NLMP layouts, fed the
 * way the core feeds a stream (unconsumed bytes kept and handed back with
 * the next ones), in arbitrary splits, and the record read back as JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portolan/dissector.h"
#include "portolan/json.h"
#include "portolan/ntlmssp.h"
#include "portolan/session.h"
#include "portolan/session_internal.h" /* show_credentials */

extern const struct dissector smb_dissector;

/* ---- byte builders ---- */

#define BUF_MAX (256 * 1024)
struct buf {
	uint8_t *d;
	size_t n;
};

static struct buf *buf_new(void)
{
	struct buf *b = calloc(1, sizeof *b);
	assert_non_null(b);
	b->d = calloc(1, BUF_MAX);
	assert_non_null(b->d);
	return b;
}
static void buf_free(struct buf *b)
{
	free(b->d);
	free(b);
}
static void u8(struct buf *b, unsigned v)
{
	assert_true(b->n < BUF_MAX);
	b->d[b->n++] = (uint8_t)v;
}
static void le16(struct buf *b, unsigned v)
{
	u8(b, v & 0xff);
	u8(b, v >> 8 & 0xff);
}
static void le32(struct buf *b, uint32_t v)
{
	le16(b, v & 0xffff);
	le16(b, v >> 16);
}
static void zeros(struct buf *b, size_t n)
{
	while (n--)
		u8(b, 0);
}
static void bytes(struct buf *b, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		u8(b, ((const uint8_t *)p)[i]);
}
static void cstr(struct buf *b, const char *s)
{
	bytes(b, s, strlen(s) + 1);
}
/* ASCII as UTF-16LE, no terminator */
static void utf16(struct buf *b, const char *s)
{
	for (; *s; s++)
		le16(b, (uint8_t)*s);
}
static void set16(struct buf *b, size_t at, unsigned v)
{
	b->d[at] = (uint8_t)v;
	b->d[at + 1] = (uint8_t)(v >> 8);
}
static void set32(struct buf *b, size_t at, uint32_t v)
{
	set16(b, at, v & 0xffff);
	set16(b, at + 2, v >> 16);
}
static void append(struct buf *b, const struct buf *x)
{
	bytes(b, x->d, x->n);
}

/* An NBSS session message around payload (24-bit length, MS-SMB2 2.1). */
static void nbss(struct buf *out, const struct buf *payload)
{
	u8(out, 0x00);
	u8(out, (unsigned)(payload->n >> 16));
	u8(out, (unsigned)(payload->n >> 8 & 0xff));
	u8(out, (unsigned)(payload->n & 0xff));
	append(out, payload);
}

/* ---- MS-NLMP messages ---- */

/* An NTLMSSP AUTHENTICATE (2.2.1.3) with the given names (UTF-16LE when
 * unicode), an NT response of nt_len bytes and a Version field. */
static void ntlm_auth(struct buf *b, const char *domain, const char *user, const char *ws,
                      bool unicode, size_t nt_len)
{
	size_t base = b->n;
	bytes(b, "NTLMSSP", 8);
	le32(b, 3);
	size_t fields = b->n;
	zeros(b, 6 * 8);
	le32(b, unicode ? NTLMSSP_FLAG_UNICODE | NTLMSSP_FLAG_VERSION
	                : NTLMSSP_FLAG_OEM | NTLMSSP_FLAG_VERSION);
	u8(b, 10);
	u8(b, 0);
	le16(b, 19041);
	zeros(b, 4);
	zeros(b, 16); /* MIC */
	const char *text[6] = {NULL, NULL, domain, user, ws, NULL};
	size_t lens[6] = {24, nt_len, 0, 0, 0, 16};
	for (int i = 0; i < 6; i++) {
		size_t off = b->n - base, len;
		if (text[i]) {
			if (unicode)
				utf16(b, text[i]);
			else
				bytes(b, text[i], strlen(text[i]));
			len = b->n - base - off;
		} else {
			len = lens[i];
			for (size_t k = 0; k < len; k++)
				u8(b, 0x41 + (unsigned)k % 26);
		}
		set16(b, fields + (size_t)i * 8, (unsigned)len);
		set16(b, fields + (size_t)i * 8 + 2, (unsigned)len);
		set32(b, fields + (size_t)i * 8 + 4, (uint32_t)off);
	}
}

/* An NTLMSSP CHALLENGE (2.2.1.2) with a target name and AV pairs. */
static void ntlm_challenge(struct buf *b, const char *nb_name, const char *dns_name,
                           const char *nb_domain)
{
	size_t base = b->n;
	bytes(b, "NTLMSSP", 8);
	le32(b, 2);
	size_t target = b->n;
	zeros(b, 8);
	le32(b, NTLMSSP_FLAG_UNICODE | NTLMSSP_FLAG_TARGET_INFO);
	zeros(b, 8 + 8);
	size_t ti = b->n;
	zeros(b, 8);
	size_t off = b->n - base;
	utf16(b, nb_domain);
	set16(b, target, (unsigned)(b->n - base - off));
	set32(b, target + 4, (uint32_t)off);
	off = b->n - base;
	const char *v[3] = {nb_domain, nb_name, dns_name};
	const unsigned ids[3] = {2, 1, 3};
	for (int i = 0; i < 3; i++) {
		le16(b, ids[i]);
		le16(b, (unsigned)strlen(v[i]) * 2);
		utf16(b, v[i]);
	}
	le16(b, 0);
	le16(b, 0);
	set16(b, ti, (unsigned)(b->n - base - off));
	set32(b, ti + 4, (uint32_t)off);
}

/* A SPNEGO-looking wrapper: junk before the NTLMSSP message, as in a
 * negTokenResp (the dissector searches for the signature). */
static void spnego_wrap(struct buf *b, const struct buf *inner)
{
	static const uint8_t head[] = {0xa1, 0x82, 0x01, 0x00, 0x30, 0x81, 0xfc,
	                               0xa2, 0x81, 0xf9, 0x04, 0x81, 0xf6};
	bytes(b, head, sizeof head);
	append(b, inner);
}

/* ---- MS-SMB2 messages ---- */

enum { F_RESPONSE = 1, F_SIGNED = 8 };

static void smb2_header(struct buf *b, unsigned cmd, uint32_t flags, uint32_t status)
{
	u8(b, 0xfe);
	bytes(b, "SMB", 3);
	le16(b, 64);
	le16(b, 1);
	le32(b, status);
	le16(b, cmd);
	le16(b, 1);
	le32(b, flags);
	le32(b, 0); /* NextCommand */
	zeros(b, 8 + 4 + 4 + 8 + 16);
}

static void smb2_negotiate_req(struct buf *b, const uint16_t *dialects, unsigned n)
{
	smb2_header(b, 0, 0, 0);
	le16(b, 36);
	le16(b, n);
	le16(b, 1); /* signing enabled */
	zeros(b, 2 + 4 + 16 + 8);
	for (unsigned i = 0; i < n; i++)
		le16(b, dialects[i]);
}

static void smb2_negotiate_resp(struct buf *b, unsigned dialect, unsigned mode, unsigned cipher)
{
	size_t h = b->n;
	smb2_header(b, 0, F_RESPONSE, 0);
	le16(b, 65);
	le16(b, mode);
	le16(b, dialect);
	le16(b, cipher ? 1 : 0);
	zeros(b, 16 + 4 + 4 + 4 + 4 + 8 + 8);
	le16(b, 0); /* security buffer */
	le16(b, 0);
	size_t ctx = b->n;
	le32(b, 0);
	if (cipher) {
		while ((b->n - h) % 8)
			u8(b, 0);
		set32(b, ctx, (uint32_t)(b->n - h));
		le16(b, 2);
		le16(b, 4);
		zeros(b, 4);
		le16(b, 1);
		le16(b, cipher);
	}
}

static void smb2_session_setup_req(struct buf *b, const struct buf *blob)
{
	smb2_header(b, 1, 0, 0);
	le16(b, 25);
	u8(b, 0);
	u8(b, 1);
	zeros(b, 4 + 4);
	le16(b, 64 + 24);
	le16(b, (unsigned)blob->n);
	zeros(b, 8);
	append(b, blob);
}

static void smb2_session_setup_resp(struct buf *b, uint32_t status, unsigned flags,
                                    const struct buf *blob)
{
	smb2_header(b, 1, F_RESPONSE, status);
	le16(b, 9);
	le16(b, flags);
	le16(b, 64 + 8);
	le16(b, blob ? (unsigned)blob->n : 0);
	if (blob)
		append(b, blob);
}

static void smb2_tree_connect_req(struct buf *b, const char *path)
{
	smb2_header(b, 3, F_SIGNED, 0);
	le16(b, 9);
	le16(b, 0);
	le16(b, 64 + 8);
	le16(b, (unsigned)strlen(path) * 2);
	utf16(b, path);
}

static void smb2_tree_connect_resp(struct buf *b, uint32_t share_flags)
{
	smb2_header(b, 3, F_RESPONSE, 0);
	le16(b, 16);
	u8(b, 1);
	u8(b, 0);
	le32(b, share_flags);
	le32(b, 0);
	le32(b, 0x1f01ff);
}

static void smb2_create_req(struct buf *b, const char *name)
{
	smb2_header(b, 5, 0, 0);
	le16(b, 57);
	zeros(b, 42);
	le16(b, 64 + 56);
	le16(b, (unsigned)strlen(name) * 2);
	le32(b, 0);
	le32(b, 0);
	utf16(b, name);
	if (!*name)
		u8(b, 0);
}

static void smb2_simple(struct buf *b, unsigned cmd, uint32_t flags, uint32_t status)
{
	smb2_header(b, cmd, flags, status);
	le16(b, 9);
	zeros(b, 7);
}

/* An SMB3 TRANSFORM_HEADER (2.2.41) and some ciphertext. */
static void smb3_transform(struct buf *b)
{
	u8(b, 0xfd);
	bytes(b, "SMB", 3);
	zeros(b, 16 + 16);
	le32(b, 80);
	le16(b, 0);
	le16(b, 1);
	zeros(b, 8);
	for (int i = 0; i < 80; i++)
		u8(b, 0x5a ^ i);
}

/* ---- MS-CIFS messages ---- */

static void smb1_header(struct buf *b, unsigned cmd, unsigned flags, unsigned flags2,
                        uint32_t status)
{
	u8(b, 0xff);
	bytes(b, "SMB", 3);
	u8(b, cmd);
	le32(b, status);
	u8(b, flags);
	le16(b, flags2);
	zeros(b, 2 + 8 + 2 + 2 + 2 + 2 + 2);
}

enum { S1_REPLY = 0x80, S1_UNICODE = 0x8000, S1_NTSTATUS = 0x4000 };

static void smb1_negotiate_req(struct buf *b)
{
	smb1_header(b, 0x72, 0, S1_UNICODE | S1_NTSTATUS, 0);
	u8(b, 0);
	const char *d[] = {"PC NETWORK PROGRAM 1.0", "LANMAN1.0", "NT LM 0.12"};
	size_t at = b->n;
	le16(b, 0);
	for (int i = 0; i < 3; i++) {
		u8(b, 2);
		cstr(b, d[i]);
	}
	set16(b, at, (unsigned)(b->n - at - 2));
}

static void smb1_negotiate_resp(struct buf *b, unsigned index, unsigned mode)
{
	smb1_header(b, 0x72, S1_REPLY, S1_UNICODE | S1_NTSTATUS, 0);
	u8(b, 17);
	le16(b, index);
	u8(b, mode);
	zeros(b, 2 + 2 + 4 + 4 + 4 + 4 + 8 + 2 + 1);
	le16(b, 0);
}

/* SESSION_SETUP_ANDX, WordCount 13 (NT LM 0.12 without extended
 * security), chained to a TREE_CONNECT_ANDX when path is given. */
static void smb1_session_setup_req(struct buf *b, const char *user, const char *domain,
                                   const char *oem_pw, size_t uni_len, const char *path)
{
	size_t h = b->n;
	smb1_header(b, 0x73, 0, S1_UNICODE | S1_NTSTATUS, 0);
	u8(b, 13);
	u8(b, path ? 0x75 : 0xff);
	u8(b, 0);
	size_t andx = b->n;
	le16(b, 0);
	le16(b, 4356);
	le16(b, 2);
	le16(b, 0);
	le32(b, 0);
	le16(b, (unsigned)strlen(oem_pw));
	le16(b, (unsigned)uni_len);
	le32(b, 0);
	le32(b, 0xd4);
	size_t bc = b->n;
	le16(b, 0);
	bytes(b, oem_pw, strlen(oem_pw));
	for (size_t i = 0; i < uni_len; i++)
		u8(b, 0x30 + (unsigned)i % 10);
	if ((b->n - h) & 1)
		u8(b, 0);
	utf16(b, user);
	le16(b, 0);
	utf16(b, domain);
	le16(b, 0);
	utf16(b, "Unix");
	le16(b, 0);
	set16(b, bc, (unsigned)(b->n - bc - 2));
	if (!path)
		return;
	set16(b, andx, (unsigned)(b->n - h));
	u8(b, 4);
	u8(b, 0xff);
	u8(b, 0);
	le16(b, 0);
	le16(b, 0);
	le16(b, 1); /* password length */
	size_t bc2 = b->n;
	le16(b, 0);
	u8(b, 0);
	if ((b->n - h) & 1)
		u8(b, 0);
	utf16(b, path);
	le16(b, 0);
	cstr(b, "?????");
	set16(b, bc2, (unsigned)(b->n - bc2 - 2));
}

static void smb1_nt_create_req(struct buf *b, const char *name)
{
	size_t h = b->n;
	smb1_header(b, 0xa2, 0, S1_UNICODE | S1_NTSTATUS, 0);
	u8(b, 24);
	u8(b, 0xff);
	u8(b, 0);
	le16(b, 0);
	u8(b, 0);
	le16(b, (unsigned)strlen(name) * 2);
	zeros(b, 4 + 4 + 4 + 8 + 4 + 4 + 4 + 4 + 4 + 1);
	size_t bc = b->n;
	le16(b, 0);
	if ((b->n - h) & 1)
		u8(b, 0);
	utf16(b, name);
	le16(b, 0);
	set16(b, bc, (unsigned)(b->n - bc - 2));
}

static void smb1_simple(struct buf *b, unsigned cmd, unsigned flags, uint32_t status)
{
	smb1_header(b, cmd, flags, S1_UNICODE | S1_NTSTATUS, status);
	u8(b, 0);
	le16(b, 0);
}

/* ---- a stream the way src/dissect.c drives it ---- */

struct sflow {
	struct session *s;
	void *state;
	uint8_t *pending[2];
	size_t len[2];
};

static struct sflow *flow_open(void)
{
	struct ip_addr client = {.version = 4, .b = {192, 0, 2, 10}};
	struct ip_addr server = {.version = 4, .b = {192, 0, 2, 45}};
	struct sflow *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->s = session_detached_new(true, &client, 50000, &server, 445);
	f->state = calloc(1, smb_dissector.state_size);
	assert_non_null(f->s);
	assert_non_null(f->state);
	return f;
}

static void flow_close(struct sflow *f)
{
	smb_dissector.release(f->state);
	free(f->state);
	free(f->pending[0]);
	free(f->pending[1]);
	session_detached_free(f->s);
	free(f);
}

static void feed(struct sflow *f, enum direction dir, const void *data, size_t n)
{
	uint8_t *p = realloc(f->pending[dir], f->len[dir] + n + 1);
	assert_non_null(p);
	if (n)
		memcpy(p + f->len[dir], data, n);
	f->pending[dir] = p;
	f->len[dir] += n;
	while (f->len[dir]) {
		size_t used = smb_dissector.on_data(f->s, f->state, dir,
		                                    rd_init(f->pending[dir], f->len[dir]));
		assert_true(used <= f->len[dir]);
		if (used == 0)
			break;
		memmove(f->pending[dir], f->pending[dir] + used, f->len[dir] - used);
		f->len[dir] -= used;
	}
}

static void feed_buf(struct sflow *f, enum direction dir, const struct buf *b)
{
	feed(f, dir, b->d, b->n);
}

static void feed_steps(struct sflow *f, enum direction dir, const struct buf *b, size_t step)
{
	for (size_t at = 0; at < b->n; at += step)
		feed(f, dir, b->d + at, b->n - at < step ? b->n - at : step);
}

static void gap(struct sflow *f, enum direction dir, size_t missing)
{
	f->len[dir] = 0;
	smb_dissector.on_gap(f->s, f->state, dir, missing);
}

static char *render(const struct sflow *f)
{
	struct json_writer jw;
	json_writer_init(&jw, 1 << 20);
	emit_object_begin(&jw.e, NULL);
	smb_dissector.emit(f->state, &jw.e);
	emit_object_end(&jw.e);
	assert_false(jw.overflow);
	char *text = strdup(json_writer_text(&jw));
	json_writer_free(&jw);
	assert_non_null(text);
	char sum[256];
	smb_dissector.summarize(f->state, sum, sizeof sum);
	return text;
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

/* ---- a whole SMB2 session: client and server streams ---- */

struct session_bytes {
	struct buf *c, *s;
};

static struct session_bytes smb2_session(void)
{
	struct session_bytes x = {buf_new(), buf_new()};
	struct buf *m = buf_new(), *blob = buf_new(), *inner = buf_new();
	static const uint16_t d[] = {0x0202, 0x0210, 0x0300, 0x0302, 0x0311};

	smb2_negotiate_req(m, d, 5);
	nbss(x.c, m);
	m->n = 0;
	smb2_negotiate_resp(m, 0x0311, 0x3, 2);
	nbss(x.s, m);

	m->n = 0;
	bytes(inner, "NTLMSSP", 8);
	le32(inner, 1);
	le32(inner, 0xe2088297);
	zeros(inner, 16);
	spnego_wrap(blob, inner);
	smb2_session_setup_req(m, blob);
	nbss(x.c, m);

	m->n = blob->n = inner->n = 0;
	ntlm_challenge(inner, "FILESRV", "filesrv.corp.example", "CORP");
	spnego_wrap(blob, inner);
	smb2_session_setup_resp(m, 0xc0000016, 0, blob);
	nbss(x.s, m);

	m->n = blob->n = inner->n = 0;
	ntlm_auth(inner, "CORP", "alice", "WKS01", true, 120);
	spnego_wrap(blob, inner);
	smb2_session_setup_req(m, blob);
	nbss(x.c, m);
	m->n = 0;
	smb2_session_setup_resp(m, 0, 0, NULL);
	nbss(x.s, m);

	m->n = 0;
	smb2_tree_connect_req(m, "\\\\filesrv\\share");
	nbss(x.c, m);
	m->n = 0;
	smb2_tree_connect_resp(m, 0);
	nbss(x.s, m);

	m->n = 0;
	smb2_create_req(m, "docs\\report.docx");
	nbss(x.c, m);
	m->n = 0;
	smb2_simple(m, 5, F_RESPONSE, 0xc0000034);
	nbss(x.s, m);
	buf_free(m);
	buf_free(blob);
	buf_free(inner);
	return x;
}

static void session_free(struct session_bytes x)
{
	buf_free(x.c);
	buf_free(x.s);
}

static char *run_session(struct session_bytes x, size_t step)
{
	struct sflow *f = flow_open();
	if (step)
		feed_steps(f, DIR_CLIENT, x.c, step);
	else
		feed_buf(f, DIR_CLIENT, x.c);
	if (step)
		feed_steps(f, DIR_SERVER, x.s, step);
	else
		feed_buf(f, DIR_SERVER, x.s);
	smb_dissector.on_end(f->s, f->state);
	char *text = render(f);
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	flow_close(f);
	return text;
}

static void test_smb2_session(void **unused)
{
	(void)unused;
	struct session_bytes x = smb2_session();
	char *t = run_session(x, 0);
	assert_contains(t, "\"version\":\"SMB2\"");
	assert_contains(t, "\"dialect\":\"3.1.1\"");
	assert_contains(t, "\"user\":\"alice\"");
	assert_contains(t, "\"domain\":\"CORP\"");
	assert_contains(t, "\"host\":\"WKS01\"");
	assert_contains(t, "\"trees\":[\"\\\\\\\\filesrv\\\\share\"]");
	assert_contains(t, "\"files\":[\"docs\\\\report.docx\"]");
	assert_contains(t, "\"dialects_offered\":[\"2.0.2\",\"2.1\",\"3.0\",\"3.0.2\",\"3.1.1\"]");
	assert_contains(t, "\"auth\":\"ntlmssp\"");
	assert_contains(t, "\"ntlm_version\":\"v2\"");
	assert_contains(t, "\"auth_status\":\"STATUS_SUCCESS\"");
	assert_contains(t, "\"server_name\":\"FILESRV\"");
	assert_contains(t, "\"server_dns_name\":\"filesrv.corp.example\"");
	assert_contains(t, "\"server_domain\":\"CORP\"");
	assert_contains(t, "\"signing\":\"required\"");
	assert_contains(t, "\"signed\":true");
	assert_contains(t, "\"encrypted\":false");
	assert_contains(t, "\"cipher\":\"AES-128-GCM\"");
	assert_contains(
	    t, "\"commands\":[\"NEGOTIATE\",\"SESSION_SETUP\",\"TREE_CONNECT\",\"CREATE\"]");
	assert_contains(t, "{\"command\":\"CREATE\",\"status\":\"STATUS_OBJECT_NAME_NOT_FOUND\"}");
	assert_contains(t, "\"messages\":10");
	assert_lacks(t, "malformed");
	assert_lacks(t, "midstream");
	free(t);
	session_free(x);
}

/* Any split gives the same record. */
static void test_splits(void **unused)
{
	(void)unused;
	struct session_bytes x = smb2_session();
	char *whole = run_session(x, 0);
	for (size_t step = 1; step <= 70; step++) {
		char *t = run_session(x, step);
		assert_string_equal(t, whole);
		free(t);
	}
	/* and every single split point of the client stream */
	for (size_t cut = 1; cut < x.c->n; cut++) {
		struct sflow *f = flow_open();
		feed(f, DIR_CLIENT, x.c->d, cut);
		feed(f, DIR_CLIENT, x.c->d + cut, x.c->n - cut);
		feed_buf(f, DIR_SERVER, x.s);
		char *t = render(f);
		assert_string_equal(t, whole);
		free(t);
		flow_close(f);
	}
	free(whole);
	session_free(x);
}

/* Every prefix of both streams: no crash, sensible record. */
static void test_truncations(void **unused)
{
	(void)unused;
	struct session_bytes x = smb2_session();
	for (size_t n = 0; n <= x.c->n; n++) {
		struct sflow *f = flow_open();
		feed(f, DIR_CLIENT, x.c->d, n);
		feed(f, DIR_SERVER, x.s->d, n < x.s->n ? n : x.s->n);
		smb_dissector.on_end(f->s, f->state);
		char *t = render(f);
		assert_contains(t, "\"version\":");
		assert_false(session_has_alert(f->s, ALERT_MALFORMED));
		free(t);
		flow_close(f);
	}
	session_free(x);
}

/* A message cut short inside its NBSS frame: every length. */
static void test_short_frames(void **unused)
{
	(void)unused;
	struct session_bytes x = smb2_session();
	struct buf *m = buf_new(), *fr = buf_new();
	struct buf *inner = buf_new();
	ntlm_auth(inner, "CORP", "bob", "WKS", true, 24);
	smb2_session_setup_req(m, inner);
	for (size_t n = 0; n <= m->n; n++) {
		struct buf cut = {m->d, n};
		fr->n = 0;
		nbss(fr, &cut);
		struct sflow *f = flow_open();
		feed_buf(f, DIR_CLIENT, fr);
		char *t = render(f);
		free(t);
		flow_close(f);
	}
	buf_free(m);
	buf_free(fr);
	buf_free(inner);
	session_free(x);
}

static void test_compound(void **unused)
{
	(void)unused;
	struct buf *p = buf_new(), *fr = buf_new();
	/* CREATE + QUERY_INFO + CLOSE, related, each 8-byte aligned */
	size_t first = p->n;
	smb2_create_req(p, "a\\b.txt");
	while (p->n % 8)
		u8(p, 0);
	set32(p, first + 20, (uint32_t)(p->n - first));
	size_t second = p->n;
	smb2_simple(p, 0x10, 4, 0);
	while (p->n % 8)
		u8(p, 0);
	set32(p, second + 20, (uint32_t)(p->n - second));
	smb2_simple(p, 6, 4, 0);
	nbss(fr, p);
	struct sflow *f = flow_open();
	feed_buf(f, DIR_CLIENT, fr);
	char *t = render(f);
	assert_contains(t, "\"files\":[\"a\\\\b.txt\"]");
	assert_contains(t, "\"commands\":[\"CREATE\",\"QUERY_INFO\",\"CLOSE\"]");
	assert_contains(t, "\"messages\":3");
	free(t);
	flow_close(f);

	/* a NextCommand that is not 8-aligned, or past the frame */
	uint32_t bad[] = {65, 4096, 8};
	for (int i = 0; i < 3; i++) {
		set32(p, first + 20, bad[i]);
		fr->n = 0;
		nbss(fr, p);
		f = flow_open();
		feed_buf(f, DIR_CLIENT, fr);
		assert_true(session_has_alert(f->s, ALERT_MALFORMED));
		t = render(f);
		assert_contains(t, "\"messages\":1");
		free(t);
		flow_close(f);
	}
	buf_free(p);
	buf_free(fr);
}

/* Keepalives and several frames in one segment. */
static void test_keepalive_and_batching(void **unused)
{
	(void)unused;
	struct buf *seg = buf_new(), *m = buf_new();
	static const uint8_t keepalive[] = {0x85, 0, 0, 0};
	bytes(seg, keepalive, 4);
	smb2_tree_connect_req(m, "\\\\s\\one");
	nbss(seg, m);
	bytes(seg, keepalive, 4);
	m->n = 0;
	smb2_tree_connect_req(m, "\\\\s\\two");
	nbss(seg, m);
	m->n = 0;
	smb2_tree_connect_req(m, "\\\\s\\one"); /* a repeat is listed once */
	nbss(seg, m);
	struct sflow *f = flow_open();
	feed_buf(f, DIR_CLIENT, seg);
	char *t = render(f);
	assert_contains(t, "\"trees\":[\"\\\\\\\\s\\\\one\",\"\\\\\\\\s\\\\two\"]");
	assert_contains(t, "\"messages\":3");
	free(t);
	flow_close(f);
	buf_free(seg);
	buf_free(m);
}

/* A transform header: counted as encrypted; later cleartext still read. */
static void test_transform(void **unused)
{
	(void)unused;
	struct buf *seg = buf_new(), *m = buf_new();
	smb3_transform(m);
	nbss(seg, m);
	nbss(seg, m);
	m->n = 0;
	smb2_tree_connect_req(m, "\\\\srv\\IPC$");
	nbss(seg, m);
	struct buf *r = buf_new();
	m->n = 0;
	smb2_session_setup_resp(m, 0, 0x4, NULL);
	nbss(r, m);
	m->n = 0;
	smb2_tree_connect_resp(m, 0x8000);
	nbss(r, m);
	struct sflow *f = flow_open();
	feed_buf(f, DIR_CLIENT, seg);
	feed_buf(f, DIR_SERVER, r);
	char *t = render(f);
	assert_contains(t, "\"encrypted\":true");
	assert_contains(t, "\"encrypted_messages\":2");
	assert_contains(t, "\"encryption_required\":true");
	assert_contains(t, "\"trees\":[\"\\\\\\\\srv\\\\IPC$\"]");
	free(t);
	flow_close(f);
	buf_free(seg);
	buf_free(m);
	buf_free(r);
}

static void test_logon_failure(void **unused)
{
	(void)unused;
	struct buf *fr = buf_new(), *m = buf_new();
	smb2_simple(m, 1, F_RESPONSE, 0xc000006d);
	nbss(fr, m);
	struct sflow *f = flow_open();
	feed_buf(f, DIR_SERVER, fr);
	char *t = render(f);
	assert_contains(t, "\"auth_status\":\"STATUS_LOGON_FAILURE\"");
	assert_contains(t, "{\"command\":\"SESSION_SETUP\",\"status\":\"STATUS_LOGON_FAILURE\"}");
	free(t);
	flow_close(f);
	buf_free(fr);
	buf_free(m);
}

static void test_smb1_session(void **unused)
{
	(void)unused;
	struct buf *c = buf_new(), *s = buf_new(), *m = buf_new();
	smb1_negotiate_req(m);
	nbss(c, m);
	m->n = 0;
	smb1_session_setup_req(m, "carol", "WORKGROUP", "", 24, "\\\\NAS\\Public");
	nbss(c, m);
	m->n = 0;
	smb1_nt_create_req(m, "\\notes.txt");
	nbss(c, m);
	m->n = 0;
	smb1_negotiate_resp(m, 2, 0x03);
	nbss(s, m);
	m->n = 0;
	smb1_simple(m, 0x73, S1_REPLY, 0);
	nbss(s, m);
	m->n = 0;
	smb1_simple(m, 0xa2, S1_REPLY, 0xc0000022);
	nbss(s, m);
	struct sflow *f = flow_open();
	feed_buf(f, DIR_CLIENT, c);
	feed_buf(f, DIR_SERVER, s);
	char *t = render(f);
	assert_contains(t, "\"version\":\"SMB1\"");
	assert_contains(t, "\"dialect\":\"NT LM 0.12\"");
	assert_contains(t, "\"user\":\"carol\"");
	assert_contains(t, "\"domain\":\"WORKGROUP\"");
	assert_contains(t, "\"trees\":[\"\\\\\\\\NAS\\\\Public\"]");
	assert_contains(t, "\"files\":[\"\\\\notes.txt\"]");
	assert_contains(
	    t, "\"dialects_offered\":[\"PC NETWORK PROGRAM 1.0\",\"LANMAN1.0\",\"NT LM 0.12\"]");
	assert_contains(t, "\"auth\":\"ntlm\"");
	assert_contains(t, "\"ntlm_version\":\"v1\"");
	assert_contains(t, "\"signing\":\"disabled\"");
	assert_contains(t, "SMB_COM_TREE_CONNECT_ANDX");
	assert_contains(
	    t, "{\"command\":\"SMB_COM_NT_CREATE_ANDX\",\"status\":\"STATUS_ACCESS_DENIED\"}");
	assert_lacks(t, "cleartext_password");
	assert_true(session_has_alert(f->s, ALERT_INSECURE_PROTOCOL));
	assert_true(session_has_alert(f->s, ALERT_WEAK_SECURITY));
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(t);
	flow_close(f);
	/* every split of the client stream */
	for (size_t step = 1; step < 40; step++) {
		f = flow_open();
		feed_steps(f, DIR_CLIENT, c, step);
		feed_steps(f, DIR_SERVER, s, step);
		t = render(f);
		assert_contains(t, "\"user\":\"carol\"");
		assert_contains(t, "\"trees\":[\"\\\\\\\\NAS\\\\Public\"]");
		free(t);
		flow_close(f);
	}
	/* every truncation */
	for (size_t n = 0; n <= c->n; n++) {
		f = flow_open();
		feed(f, DIR_CLIENT, c->d, n);
		smb_dissector.on_end(f->s, f->state);
		t = render(f);
		assert_false(session_has_alert(f->s, ALERT_MALFORMED));
		free(t);
		flow_close(f);
	}
	buf_free(c);
	buf_free(s);
	buf_free(m);
}

/* A client offering SMB1 that ends in SMB2 is not SMB1 in use. */
static void test_smb1_offer_only(void **unused)
{
	(void)unused;
	struct buf *c = buf_new(), *m = buf_new();
	smb1_negotiate_req(m);
	nbss(c, m);
	struct sflow *f = flow_open();
	feed_buf(f, DIR_CLIENT, c);
	assert_false(session_has_alert(f->s, ALERT_INSECURE_PROTOCOL));
	char *t = render(f);
	assert_contains(t, "\"dialect\":null");
	free(t);
	flow_close(f);
	buf_free(c);
	buf_free(m);
}

static void test_cleartext_password(void **unused)
{
	(void)unused;
	for (int show = 0; show < 2; show++) {
		struct buf *c = buf_new(), *s = buf_new(), *m = buf_new();
		smb1_negotiate_resp(m, 2, 0x01); /* user level, plaintext passwords */
		nbss(s, m);
		m->n = 0;
		smb1_session_setup_req(m, "dave", "WG", "hunter2", 0, NULL);
		nbss(c, m);
		struct sflow *f = flow_open();
		f->s->show_credentials = show;
		feed_buf(f, DIR_SERVER, s);
		feed_buf(f, DIR_CLIENT, c);
		char *t = render(f);
		assert_contains(t, "\"cleartext_password\":true");
		assert_true(session_has_alert(f->s, ALERT_CLEARTEXT_CREDENTIALS));
		if (show)
			assert_contains(t, "\"password\":\"hunter2\"");
		else
			assert_lacks(t, "hunter2");
		free(t);
		flow_close(f);
		buf_free(c);
		buf_free(s);
		buf_free(m);
	}
}

/* A BER TLV with a short or long length. */
static void tlv(struct buf *b, unsigned tag, const struct buf *content)
{
	u8(b, tag);
	if (content->n < 128) {
		u8(b, (unsigned)content->n);
	} else {
		u8(b, 0x82);
		u8(b, (unsigned)(content->n >> 8));
		u8(b, (unsigned)(content->n & 0xff));
	}
	append(b, content);
}
static void tlv_str(struct buf *b, unsigned tag, const char *s)
{
	struct buf x = {(uint8_t *)(uintptr_t)s, strlen(s)};
	tlv(b, tag, &x);
}

static void test_kerberos(void **unused)
{
	(void)unused;
	struct buf *a = buf_new(), *b = buf_new(), *c = buf_new(), *d = buf_new();
	/* sname: [0] INTEGER 2, [1] SEQUENCE OF GeneralString */
	tlv_str(a, 0x1b, "cifs");
	tlv_str(a, 0x1b, "fs1.corp.example");
	tlv(b, 0x30, a);
	a->n = 0;
	static const uint8_t nt[] = {0xa0, 0x03, 0x02, 0x01, 0x02};
	bytes(a, nt, sizeof nt);
	tlv(a, 0xa1, b);
	b->n = 0;
	tlv(b, 0x30, a); /* PrincipalName */
	a->n = 0;
	static const uint8_t vno[] = {0xa0, 0x03, 0x02, 0x01, 0x05};
	bytes(a, vno, sizeof vno);
	c->n = 0;
	tlv_str(c, 0x1b, "CORP.EXAMPLE");
	tlv(a, 0xa1, c);
	tlv(a, 0xa2, b);
	static const uint8_t encpart[] = {0xa3, 0x05, 0x30, 0x03, 0x02, 0x01, 0x12};
	bytes(a, encpart, sizeof encpart);
	b->n = 0;
	tlv(b, 0x30, a);
	a->n = 0;
	tlv(a, 0x61, b); /* Ticket */
	b->n = 0;
	bytes(b, vno, sizeof vno);
	static const uint8_t mt[] = {0xa1, 0x03, 0x02, 0x01, 0x0e};
	bytes(b, mt, sizeof mt);
	tlv(b, 0xa3, a);
	a->n = 0;
	tlv(a, 0x30, b);
	b->n = 0;
	tlv(b, 0x6e, a); /* AP-REQ */
	/* GSS token: 60 len, OID krb5, 01 00, AP-REQ */
	a->n = 0;
	static const uint8_t oid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
	                              0xf7, 0x12, 0x01, 0x02, 0x02};
	bytes(a, oid, sizeof oid);
	u8(a, 1);
	u8(a, 0);
	append(a, b);
	c->n = 0;
	tlv(c, 0x60, a);
	d->n = 0;
	smb2_session_setup_req(d, c);
	a->n = 0;
	nbss(a, d);
	struct sflow *f = flow_open();
	feed_buf(f, DIR_CLIENT, a);
	char *t = render(f);
	assert_contains(t, "\"auth\":\"kerberos\"");
	assert_contains(t, "\"user\":null");
	assert_contains(t, "\"user_note\":");
	assert_contains(t, "\"kerberos_realm\":\"CORP.EXAMPLE\"");
	assert_contains(t, "\"kerberos_service\":\"cifs/fs1.corp.example\"");
	free(t);
	flow_close(f);
	/* every truncation of the token inside a whole frame */
	for (size_t n = 0; n <= c->n; n++) {
		struct buf cut = {c->d, n};
		d->n = 0;
		smb2_session_setup_req(d, &cut);
		a->n = 0;
		nbss(a, d);
		f = flow_open();
		feed_buf(f, DIR_CLIENT, a);
		t = render(f);
		free(t);
		flow_close(f);
	}
	buf_free(a);
	buf_free(b);
	buf_free(c);
	buf_free(d);
}

static void test_ntlmssp_parse(void **unused)
{
	(void)unused;
	struct buf *b = buf_new();
	struct ntlmssp_msg m;
	char out[64];
	bool cut;

	ntlm_auth(b, "DOM", "user1", "PC", true, 24);
	assert_true(ntlmssp_parse(rd_init(b->d, b->n), &m));
	assert_int_equal(m.type, NTLMSSP_AUTHENTICATE);
	assert_true(m.unicode);
	assert_int_equal(m.nt_response_len, 24);
	assert_int_equal(m.lm_response_len, 24);
	assert_true(m.has_version);
	assert_int_equal(m.major, 10);
	assert_int_equal(m.build, 19041);
	assert_int_equal(m.bad_fields, 0);
	ntlmssp_text(m.user, m.unicode, out, sizeof out, &cut);
	assert_string_equal(out, "user1");
	ntlmssp_text(m.domain, m.unicode, out, sizeof out, &cut);
	assert_string_equal(out, "DOM");
	ntlmssp_text(m.workstation, m.unicode, out, sizeof out, &cut);
	assert_string_equal(out, "PC");
	assert_false(ntlmssp_is_anonymous(&m));
	/* cut into a small buffer */
	ntlmssp_text(m.user, true, out, 4, &cut);
	assert_string_equal(out, "use");
	assert_true(cut);

	/* lies: the user's offset past the end, the domain's length past it */
	size_t fields = 12;
	set32(b, fields + 3 * 8 + 4, 0xfffffff0u);
	set16(b, fields + 2 * 8, 0xffff);
	assert_true(ntlmssp_parse(rd_init(b->d, b->n), &m));
	assert_int_equal(m.bad_fields, 2);
	assert_int_equal(rd_remaining(&m.user), 0);
	assert_int_equal(rd_remaining(&m.domain), 0);

	/* OEM names */
	b->n = 0;
	ntlm_auth(b, "DOM", "olduser", "PC", false, 24);
	assert_true(ntlmssp_parse(rd_init(b->d, b->n), &m));
	assert_false(m.unicode);
	ntlmssp_text(m.user, m.unicode, out, sizeof out, &cut);
	assert_string_equal(out, "olduser");

	/* anonymous */
	b->n = 0;
	ntlm_auth(b, "", "", "", true, 0);
	set16(b, 12, 0); /* no LM response */
	assert_true(ntlmssp_parse(rd_init(b->d, b->n), &m));
	assert_true(ntlmssp_is_anonymous(&m));

	/* challenge with AV pairs */
	b->n = 0;
	ntlm_challenge(b, "SRV", "srv.example", "EX");
	assert_true(ntlmssp_parse(rd_init(b->d, b->n), &m));
	assert_int_equal(m.type, NTLMSSP_CHALLENGE);
	ntlmssp_text(m.dns_computer, true, out, sizeof out, NULL);
	assert_string_equal(out, "srv.example");
	ntlmssp_text(m.nb_domain, true, out, sizeof out, NULL);
	assert_string_equal(out, "EX");
	ntlmssp_text(m.target_name, true, out, sizeof out, NULL);
	assert_string_equal(out, "EX");
	/* every truncation of it parses or refuses cleanly */
	size_t full = b->n;
	for (size_t n = 0; n < full; n++) {
		bool ok = ntlmssp_parse(rd_init(b->d, n), &m);
		if (n < 32)
			assert_false(ok);
	}
	/* an AV pair that runs past its target info */
	set16(b, 40, 6);
	assert_true(ntlmssp_parse(rd_init(b->d, b->n), &m));
	assert_true(m.bad_fields > 0);

	/* signature search */
	struct reader msg;
	static const uint8_t junk[] = "xxNTLMSSNTLMSSP";
	assert_false(ntlmssp_find(rd_init(junk, sizeof junk - 1), &msg));
	assert_true(ntlmssp_find(rd_init(junk, sizeof junk), &msg));
	assert_false(ntlmssp_find(rd_init(NULL, 0), &msg));
	assert_false(ntlmssp_parse(rd_init(junk, sizeof junk), &m));
	/* an unknown type */
	static const uint8_t t9[] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 9, 0, 0, 0, 0, 0, 0, 0};
	assert_false(ntlmssp_parse(rd_init(t9, sizeof t9), &m));
	assert_int_equal(m.type, NTLMSSP_NONE);
	buf_free(b);
}

static void test_utf16(void **unused)
{
	(void)unused;
	char out[16];
	bool cut;
	static const uint8_t mixed[] = {'a',  0,    0xe9, 0,    0xac, 0x20, 0x3d,
	                                0xd8, 0x00, 0xde, 0x00, 0xd8, 'b',  0};
	size_t n = utf16le_to_utf8(mixed, sizeof mixed, out, sizeof out, &cut);
	assert_false(cut);
	assert_string_equal(out, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd"
	                         "b");
	assert_int_equal(n, strlen(out));
	n = utf16le_to_utf8(mixed, sizeof mixed, out, 5, &cut);
	assert_true(cut);
	assert_string_equal(out, "a\xc3\xa9");
	n = utf16le_to_utf8(mixed, 3, out, sizeof out, &cut); /* odd byte ignored */
	assert_string_equal(out, "a");
	n = utf16le_to_utf8(mixed, sizeof mixed, out, 0, &cut);
	assert_int_equal(n, 0);
	static const uint8_t nul[] = {'x', 0, 0, 0, 'y', 0};
	utf16le_to_utf8(nul, sizeof nul, out, sizeof out, NULL);
	assert_string_equal(out, "x");
}

static void test_caps(void **unused)
{
	(void)unused;
	struct buf *seg = buf_new(), *m = buf_new();
	char name[32];
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof name, "\\\\s\\t%d", i);
		m->n = 0;
		smb2_tree_connect_req(m, name);
		nbss(seg, m);
	}
	for (int i = 0; i < 70; i++) {
		snprintf(name, sizeof name, "f%d", i);
		m->n = 0;
		smb2_create_req(m, name);
		nbss(seg, m);
	}
	/* 70 distinct SMB1 commands, 20 distinct errors */
	struct buf *r = buf_new();
	for (unsigned i = 0; i < 70; i++) {
		m->n = 0;
		smb1_simple(m, 0x80 + i, 0, 0);
		nbss(seg, m);
	}
	for (unsigned i = 0; i < 20; i++) {
		m->n = 0;
		smb2_simple(m, 8, F_RESPONSE, 0xc0000100u + i);
		nbss(r, m);
	}
	/* a path longer than the string cap is cut */
	char longpath[1200];
	memset(longpath, 'p', sizeof longpath - 1);
	longpath[sizeof longpath - 1] = 0;
	m->n = 0;
	smb2_create_req(m, longpath);
	nbss(seg, m);
	struct sflow *f = flow_open();
	feed_buf(f, DIR_CLIENT, seg);
	feed_buf(f, DIR_SERVER, r);
	char *t = render(f);
	assert_contains(t, "\"trees_truncated\":8");
	assert_contains(t, "\"files_truncated\":7");
	assert_contains(t, "\"commands_truncated\":");
	assert_contains(t, "\"errors_truncated\":4");
	assert_int_equal(session_counter_value(f->s, "smb.too_many_trees"), 8);
	assert_int_equal(session_counter_value(f->s, "smb.too_many_files"), 7);
	assert_true(session_counter_value(f->s, "smb.too_many_commands") > 0);
	assert_int_equal(session_counter_value(f->s, "smb.too_many_errors"), 4);
	free(t);
	flow_close(f);

	/* the long path alone: cut to 512 bytes */
	seg->n = 0;
	m->n = 0;
	smb2_create_req(m, longpath);
	nbss(seg, m);
	f = flow_open();
	feed_buf(f, DIR_CLIENT, seg);
	t = render(f);
	assert_true(session_counter_value(f->s, "smb.string_cut") > 0);
	assert_lacks(t, longpath + 600);
	free(t);
	flow_close(f);

	/* dialects */
	uint16_t many[40];
	for (int i = 0; i < 40; i++)
		many[i] = (uint16_t)(0x0400 + i);
	seg->n = 0;
	m->n = 0;
	smb2_negotiate_req(m, many, 40);
	nbss(seg, m);
	f = flow_open();
	feed_buf(f, DIR_CLIENT, seg);
	t = render(f);
	assert_contains(t, "\"dialects_truncated\":16");
	assert_contains(t, "\"0x0400\"");
	free(t);
	flow_close(f);
	buf_free(seg);
	buf_free(m);
	buf_free(r);
}

/* A frame over the cap is skipped; its header is still read. */
static void test_big_frame(void **unused)
{
	(void)unused;
	struct buf *seg = buf_new(), *m = buf_new();
	smb2_simple(m, 9, 0, 0); /* WRITE */
	zeros(m, 200 * 1024);
	nbss(seg, m);
	m->n = 0;
	smb2_tree_connect_req(m, "\\\\s\\after");
	nbss(seg, m);
	struct sflow *f = flow_open();
	feed_steps(f, DIR_CLIENT, seg, 1460);
	char *t = render(f);
	assert_contains(t, "\"WRITE\"");
	assert_contains(t, "after");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	assert_int_equal(session_counter_value(f->s, "smb.frame_skipped"), 1);
	free(t);
	flow_close(f);
	buf_free(seg);
	buf_free(m);
}

/* Picked up mid-stream, after a gap, and garbage. */
static void test_resync(void **unused)
{
	(void)unused;
	struct buf *seg = buf_new(), *m = buf_new();
	for (int i = 0; i < 100; i++)
		u8(seg, 0x41 + i % 7);
	smb2_tree_connect_req(m, "\\\\s\\mid");
	nbss(seg, m);
	struct sflow *f = flow_open();
	feed_steps(f, DIR_CLIENT, seg, 3);
	char *t = render(f);
	assert_contains(t, "\"midstream\":true");
	assert_contains(t, "mid");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(t);

	/* a gap: the next frame is found again */
	gap(f, DIR_CLIENT, 5000);
	seg->n = 0;
	bytes(seg, "tail of a lost message", 22);
	m->n = 0;
	smb2_tree_connect_req(m, "\\\\s\\aftergap");
	nbss(seg, m);
	feed_buf(f, DIR_CLIENT, seg);
	t = render(f);
	assert_contains(t, "aftergap");
	free(t);

	/* garbage once in step: malformed, then found again */
	seg->n = 0;
	bytes(seg, "\x07garbage!", 9);
	m->n = 0;
	smb2_tree_connect_req(m, "\\\\s\\later");
	nbss(seg, m);
	feed_buf(f, DIR_CLIENT, seg);
	t = render(f);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_contains(t, "later");
	assert_contains(t, "\"malformed\":1");
	free(t);
	flow_close(f);
	buf_free(seg);
	buf_free(m);
}

/* A gap inside a skipped oversize frame keeps the framer in step. */
static void test_gap_in_big_frame(void **unused)
{
	(void)unused;
	struct buf *seg = buf_new(), *m = buf_new();
	smb2_simple(m, 8, F_RESPONSE, 0); /* READ */
	zeros(m, 200 * 1024);
	nbss(seg, m);
	struct sflow *f = flow_open();
	feed(f, DIR_SERVER, seg->d, 2000);
	gap(f, DIR_SERVER, 1000);
	feed(f, DIR_SERVER, seg->d + 3000, seg->n - 3000);
	m->n = 0;
	smb2_simple(m, 6, F_RESPONSE, 0); /* CLOSE */
	seg->n = 0;
	nbss(seg, m);
	feed_buf(f, DIR_SERVER, seg);
	char *t = render(f);
	assert_contains(t, "\"CLOSE\"");
	assert_lacks(t, "midstream");
	assert_int_equal(session_counter_value(f->s, "smb.gap_resync"), 0);
	free(t);
	flow_close(f);

	/* a gap running past the skipped frame's end: resynchronised */
	seg->n = 0;
	m->n = 0;
	smb2_simple(m, 8, F_RESPONSE, 0);
	zeros(m, 200 * 1024);
	nbss(seg, m);
	f = flow_open();
	feed(f, DIR_SERVER, seg->d, 2000);
	gap(f, DIR_SERVER, seg->n); /* the rest of it and 2000 bytes more */
	seg->n = 0;
	zeros(seg, 10);
	m->n = 0;
	smb2_tree_connect_req(m, "\\\\s\\regained");
	nbss(seg, m);
	feed_buf(f, DIR_SERVER, seg);
	t = render(f);
	assert_contains(t, "regained");
	assert_int_equal(session_counter_value(f->s, "smb.gap_resync"), 1);
	free(t);
	flow_close(f);
	buf_free(seg);
	buf_free(m);
}

static enum verdict probe_bytes(const void *p, size_t n)
{
	return smb_dissector.probe(rd_init(p, n), DIR_CLIENT);
}

static void test_probe(void **unused)
{
	(void)unused;
	struct buf *b = buf_new(), *m = buf_new();
	static const uint16_t d[] = {0x0202};
	smb2_negotiate_req(m, d, 1);
	nbss(b, m);
	assert_int_equal(probe_bytes(b->d, b->n), VERDICT_YES);
	for (size_t n = 0; n < 8; n++)
		assert_int_equal(probe_bytes(b->d, n), VERDICT_NEED_MORE);
	m->n = 0;
	smb1_negotiate_req(m);
	b->n = 0;
	nbss(b, m);
	assert_int_equal(probe_bytes(b->d, b->n), VERDICT_YES);
	/* a keepalive first */
	static const uint8_t ka[] = {0x85, 0, 0, 0, 0, 0, 0, 0x40, 0xfe, 'S', 'M', 'B'};
	assert_int_equal(probe_bytes(ka, sizeof ka), VERDICT_YES);
	assert_int_equal(probe_bytes(ka, 4), VERDICT_NEED_MORE);
	/* a transform header */
	static const uint8_t tr[] = {0, 0, 0, 0x80, 0xfd, 'S', 'M', 'B'};
	assert_int_equal(probe_bytes(tr, sizeof tr), VERDICT_YES);
	/* mid-stream: junk, then a frame */
	struct buf *mid = buf_new();
	bytes(mid, "some bytes of a previous message", 32);
	append(mid, b);
	assert_int_equal(probe_bytes(mid->d, mid->n), VERDICT_YES);
	/* others */
	static const char *const no[] = {"GET / HTTP/1.1\r\n", "220 mail ESMTP\r\n",
	                                 "SSH-2.0-OpenSSH_9\r\n", "+OK ready\r\n"};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		assert_int_equal(probe_bytes(no[i], strlen(no[i])), VERDICT_NO);
	static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0x50, 0x01, 0, 0, 0x4c, 3, 3};
	assert_int_equal(probe_bytes(tls, sizeof tls), VERDICT_NO);
	static const uint8_t tpkt[] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0, 0, 0, 0, 0};
	assert_int_equal(probe_bytes(tpkt, sizeof tpkt), VERDICT_NO);
	/* a NetBIOS session request belongs to netbios-ssn */
	static const uint8_t sreq[] = {0x81, 0, 0, 0x44, 0x20, 'E', 'F', 'E', 'F'};
	assert_int_equal(probe_bytes(sreq, sizeof sreq), VERDICT_NO);
	/* 0x00 then not SMB */
	static const uint8_t zero[] = {0, 0, 0, 0x10, 'x', 'y', 'z', 'w'};
	assert_int_equal(probe_bytes(zero, sizeof zero), VERDICT_NO);
	assert_int_equal(probe_bytes(zero, 5), VERDICT_NO);
	buf_free(b);
	buf_free(m);
	buf_free(mid);
}

/* NetBIOS session types other than messages are skipped by length (the
 * stream netbios-ssn hands over on 139). */
static void test_nbss_types(void **unused)
{
	(void)unused;
	struct buf *seg = buf_new(), *m = buf_new();
	static const uint8_t req[] = {0x81, 0, 0, 4, 'a', 'b', 'c', 'd'};
	bytes(seg, req, sizeof req);
	static const uint8_t pos[] = {0x82, 0, 0, 0};
	bytes(seg, pos, sizeof pos);
	smb2_tree_connect_req(m, "\\\\h\\x");
	nbss(seg, m);
	struct sflow *f = flow_open();
	feed_buf(f, DIR_CLIENT, seg);
	char *t = render(f);
	assert_contains(t, "\"messages\":1");
	assert_false(session_has_alert(f->s, ALERT_MALFORMED));
	free(t);
	flow_close(f);
	buf_free(seg);
	buf_free(m);
}

/* Lies inside SMB2 bodies: offsets and lengths past the message. */
static void test_smb2_lies(void **unused)
{
	(void)unused;
	struct buf *m = buf_new(), *fr = buf_new();
	smb2_tree_connect_req(m, "\\\\s\\x");
	set16(m, 64 + 4, 0xfff0); /* PathOffset */
	nbss(fr, m);
	m->n = 0;
	smb2_create_req(m, "n");
	set16(m, 64 + 46, 0x7fff); /* NameLength */
	nbss(fr, m);
	m->n = 0;
	struct buf *inner = buf_new();
	ntlm_auth(inner, "D", "U", "W", true, 30);
	smb2_session_setup_req(m, inner);
	set16(m, 64 + 14, 0xffff); /* SecurityBufferLength */
	nbss(fr, m);
	m->n = 0;
	smb2_header(m, 3, 0, 0);
	set16(m, 4, 65); /* StructureSize */
	nbss(fr, m);
	struct sflow *f = flow_open();
	feed_buf(f, DIR_CLIENT, fr);
	char *t = render(f);
	assert_true(session_has_alert(f->s, ALERT_MALFORMED));
	assert_contains(t, "\"trees\":[]");
	assert_contains(t, "\"files\":[]");
	assert_contains(t, "\"user\":null");
	assert_contains(t, "\"malformed\":4");
	free(t);
	flow_close(f);
	buf_free(m);
	buf_free(fr);
	buf_free(inner);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_smb2_session),
	    cmocka_unit_test(test_splits),
	    cmocka_unit_test(test_truncations),
	    cmocka_unit_test(test_short_frames),
	    cmocka_unit_test(test_compound),
	    cmocka_unit_test(test_keepalive_and_batching),
	    cmocka_unit_test(test_transform),
	    cmocka_unit_test(test_logon_failure),
	    cmocka_unit_test(test_smb1_session),
	    cmocka_unit_test(test_smb1_offer_only),
	    cmocka_unit_test(test_cleartext_password),
	    cmocka_unit_test(test_kerberos),
	    cmocka_unit_test(test_ntlmssp_parse),
	    cmocka_unit_test(test_utf16),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_big_frame),
	    cmocka_unit_test(test_resync),
	    cmocka_unit_test(test_gap_in_big_frame),
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_nbss_types),
	    cmocka_unit_test(test_smb2_lies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
