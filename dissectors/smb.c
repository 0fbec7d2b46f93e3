/* SMB over TCP: SMB1 (MS-SMB, MS-CIFS) and SMB2/3 (MS-SMB2), on 445 directly
 * and on 139 behind the NetBIOS session service (dissectors/netbios_ssn.c
 * hands the stream over from the first session message).
 *
 * Framing is the NetBIOS session service's on both ports (RFC 1002 4.3): a
 * type byte, then a length; on 445 the length takes the 24 bits after the
 * type (MS-SMB2 2.1), on 139 17 of them, so a 24-bit length with the frame
 * cap covers both.  Session messages (type 0) carry one SMB message or an
 * SMB2 compound chain; keepalives and the other NBSS types are skipped by
 * their length.  The core's PDU framer does the counting.
 *
 * What is kept: the dialects offered and chosen, the NTLMSSP identity of
 * the AUTHENTICATE message (user, domain, workstation: found by its
 * signature inside the SPNEGO blob, see src/ntlmssp.c) or the fact that
 * Kerberos was used (the user is inside the encrypted authenticator; the
 * ticket's realm and service name are in clear), tree connect paths, the
 * names of files created or opened, signing and encryption, the commands
 * seen and the error statuses.  An SMB3 transform header (0xFD 'SMB')
 * marks an encrypted message: it is counted and skipped by its NBSS
 * length, so later cleartext messages (a tree connect to IPC$ on an
 * unencrypted share) are still read.  Compressed messages (0xFC) likewise.
 *
 * A message bigger than the frame cap (a large READ response or WRITE) is
 * skipped by the framer; the part of it present in the current call is
 * still read for its header.  A stream picked up in the middle, or lost
 * after a gap, is resynchronised on the next "NBSS header + SMB magic".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portolan/ber.h"
#include "portolan/dissector.h"
#include "portolan/framing.h"
#include "portolan/ntlmssp.h"
#include "portolan/summary.h"
#include "portolan/wirestr.h"

/* Caps: list entries kept (the rest are counted in *_truncated). */
#define SMB_MAX_TREES 32
#define SMB_MAX_FILES 64
#define SMB_MAX_DIALECTS 24
#define SMB_MAX_COMMANDS 64
#define SMB_MAX_ERRORS 16
/* Bytes kept of a path or file name, and of a user/domain/host name. */
#define SMB_MAX_PATH 512
#define SMB_MAX_NAME 256
/* Bytes kept of an SMB1 dialect string. */
#define SMB_MAX_DIALECT_STR 64
/* Messages followed in one SMB2 compound chain / one SMB1 AndX chain. */
#define SMB_MAX_COMPOUND 32
#define SMB_MAX_ANDX 8
/* An NBSS frame larger than this is skipped (its present part still read). */
#define SMB_MAX_FRAME (128 * 1024)
/* Bytes the probe looks at for a message start (streams picked up late). */
#define SMB_PROBE_SCAN 2048

/* A command code in the commands / errors lists: SMB1 ones carry this bit. */
#define CMD_SMB1 0x8000u

/* NTSTATUS values the logic uses. */
#define STATUS_SUCCESS 0x00000000u
#define STATUS_PENDING 0x00000103u
#define STATUS_MORE_PROCESSING_REQUIRED 0xc0000016u

/* SMB2 commands (MS-SMB2 2.2.1) */
enum {
	SMB2_NEGOTIATE = 0,
	SMB2_SESSION_SETUP = 1,
	SMB2_TREE_CONNECT = 3,
	SMB2_CREATE = 5,
};
/* SMB1 commands (MS-CIFS 2.2.2.1) */
enum {
	SMB1_OPEN_ANDX = 0x2d,
	SMB1_NEGOTIATE = 0x72,
	SMB1_SESSION_SETUP_ANDX = 0x73,
	SMB1_TREE_CONNECT_ANDX = 0x75,
	SMB1_NT_CREATE_ANDX = 0xa2,
};

enum smb_auth { AUTH_NONE = 0, AUTH_NTLMSSP, AUTH_NTLM, AUTH_KERBEROS, AUTH_ANONYMOUS };
enum smb_signing { SIGN_UNKNOWN = 0, SIGN_DISABLED, SIGN_ENABLED, SIGN_REQUIRED };

struct str_list {
	struct wire_str *v;
	uint16_t n, alloc;
	uint32_t truncated;
};

struct smb_error {
	uint32_t status;
	uint16_t cmd; /* with CMD_SMB1 for SMB1 */
	bool dos;     /* an SMB1 DOS error: status is class << 16 | code */
};

struct smb_dir {
	struct pdu_state pdu;
	bool synced; /* a frame has been read in this direction */
	bool resync; /* looking for the next message start */
};

struct smb_state {
	struct smb_dir dir[2];
	struct str_list trees, files, dialects1; /* dialects1: SMB1 strings offered */
	uint16_t dialects2[SMB_MAX_DIALECTS];    /* SMB2 dialect revisions offered */
	uint8_t n_dialects2;
	uint32_t dialects_truncated;
	uint16_t dialect2; /* the SMB2 DialectRevision chosen */
	uint16_t dialect1; /* the SMB1 DialectIndex chosen (has_dialect1) */
	struct wire_str user, domain, host, server_name, server_dns_name, server_domain;
	struct wire_str krb_realm, krb_service, password;
	uint16_t commands[SMB_MAX_COMMANDS];
	uint8_t n_commands;
	uint32_t commands_truncated;
	struct smb_error errors[SMB_MAX_ERRORS];
	uint8_t n_errors;
	uint32_t errors_truncated;
	uint32_t auth_status;
	uint16_t cipher;
	uint8_t auth, signing, ntlm_version;
	bool has_dialect1, has_dialect2, has_auth_status, smb1, smb2, smb1_used;
	bool signed_seen, guest, encryption_required, midstream, cleartext_password;
	bool server_plaintext; /* the SMB1 server said it takes plaintext passwords */
	uint32_t encrypted_pdus, compressed_pdus, messages, malformed, skipped_frames;
	/* the 4-byte session-message framing (RFC 1002 4.3.6; MS-SMB2 2.1 direct
	 * TCP): frames per direction, and whether it ran outside port 139 (where
	 * the netbios-ssn dissector reports it itself) */
	uint32_t session_frames[2];
	bool direct_tcp;
};

_Static_assert(sizeof(struct smb_state) <= 1024, "struct smb_state grew");

static const uint16_t smb_ports[] = {445, 0};

/* ---- names ---- */

static const struct value_name smb2_commands[] = {
    {0x00, "NEGOTIATE"},
    {0x01, "SESSION_SETUP"},
    {0x02, "LOGOFF"},
    {0x03, "TREE_CONNECT"},
    {0x04, "TREE_DISCONNECT"},
    {0x05, "CREATE"},
    {0x06, "CLOSE"},
    {0x07, "FLUSH"},
    {0x08, "READ"},
    {0x09, "WRITE"},
    {0x0a, "LOCK"},
    {0x0b, "IOCTL"},
    {0x0c, "CANCEL"},
    {0x0d, "ECHO"},
    {0x0e, "QUERY_DIRECTORY"},
    {0x0f, "CHANGE_NOTIFY"},
    {0x10, "QUERY_INFO"},
    {0x11, "SET_INFO"},
    {0x12, "OPLOCK_BREAK"},
    {0, NULL},
};

static const struct value_name smb1_commands[] = {
    {0x00, "SMB_COM_CREATE_DIRECTORY"},
    {0x01, "SMB_COM_DELETE_DIRECTORY"},
    {0x02, "SMB_COM_OPEN"},
    {0x03, "SMB_COM_CREATE"},
    {0x04, "SMB_COM_CLOSE"},
    {0x05, "SMB_COM_FLUSH"},
    {0x06, "SMB_COM_DELETE"},
    {0x07, "SMB_COM_RENAME"},
    {0x08, "SMB_COM_QUERY_INFORMATION"},
    {0x09, "SMB_COM_SET_INFORMATION"},
    {0x0a, "SMB_COM_READ"},
    {0x0b, "SMB_COM_WRITE"},
    {0x0c, "SMB_COM_LOCK_BYTE_RANGE"},
    {0x0d, "SMB_COM_UNLOCK_BYTE_RANGE"},
    {0x0e, "SMB_COM_CREATE_TEMPORARY"},
    {0x0f, "SMB_COM_CREATE_NEW"},
    {0x10, "SMB_COM_CHECK_DIRECTORY"},
    {0x11, "SMB_COM_PROCESS_EXIT"},
    {0x12, "SMB_COM_SEEK"},
    {0x22, "SMB_COM_SET_INFORMATION2"},
    {0x23, "SMB_COM_QUERY_INFORMATION2"},
    {0x24, "SMB_COM_LOCKING_ANDX"},
    {0x25, "SMB_COM_TRANSACTION"},
    {0x26, "SMB_COM_TRANSACTION_SECONDARY"},
    {0x27, "SMB_COM_IOCTL"},
    {0x2b, "SMB_COM_ECHO"},
    {0x2c, "SMB_COM_WRITE_AND_CLOSE"},
    {0x2d, "SMB_COM_OPEN_ANDX"},
    {0x2e, "SMB_COM_READ_ANDX"},
    {0x2f, "SMB_COM_WRITE_ANDX"},
    {0x32, "SMB_COM_TRANSACTION2"},
    {0x33, "SMB_COM_TRANSACTION2_SECONDARY"},
    {0x34, "SMB_COM_FIND_CLOSE2"},
    {0x70, "SMB_COM_TREE_CONNECT"},
    {0x71, "SMB_COM_TREE_DISCONNECT"},
    {0x72, "SMB_COM_NEGOTIATE"},
    {0x73, "SMB_COM_SESSION_SETUP_ANDX"},
    {0x74, "SMB_COM_LOGOFF_ANDX"},
    {0x75, "SMB_COM_TREE_CONNECT_ANDX"},
    {0x80, "SMB_COM_QUERY_INFORMATION_DISK"},
    {0x81, "SMB_COM_SEARCH"},
    {0x82, "SMB_COM_FIND"},
    {0x84, "SMB_COM_FIND_CLOSE"},
    {0xa0, "SMB_COM_NT_TRANSACT"},
    {0xa1, "SMB_COM_NT_TRANSACT_SECONDARY"},
    {0xa2, "SMB_COM_NT_CREATE_ANDX"},
    {0xa4, "SMB_COM_NT_CANCEL"},
    {0xa5, "SMB_COM_NT_RENAME"},
    {0xc0, "SMB_COM_OPEN_PRINT_FILE"},
    {0xc1, "SMB_COM_WRITE_PRINT_FILE"},
    {0xc2, "SMB_COM_CLOSE_PRINT_FILE"},
    {0, NULL},
};

static const struct value_name nt_statuses[] = {
    {0x00000000, "STATUS_SUCCESS"},
    {0x00000103, "STATUS_PENDING"},
    {0x0000010b, "STATUS_NOTIFY_CLEANUP"},
    {0x0000010c, "STATUS_NOTIFY_ENUM_DIR"},
    {0x80000005, "STATUS_BUFFER_OVERFLOW"},
    {0x80000006, "STATUS_NO_MORE_FILES"},
    {0xc0000001, "STATUS_UNSUCCESSFUL"},
    {0xc0000002, "STATUS_NOT_IMPLEMENTED"},
    {0xc0000003, "STATUS_INVALID_INFO_CLASS"},
    {0xc0000008, "STATUS_INVALID_HANDLE"},
    {0xc000000d, "STATUS_INVALID_PARAMETER"},
    {0xc000000e, "STATUS_NO_SUCH_DEVICE"},
    {0xc000000f, "STATUS_NO_SUCH_FILE"},
    {0xc0000010, "STATUS_INVALID_DEVICE_REQUEST"},
    {0xc0000011, "STATUS_END_OF_FILE"},
    {0xc0000016, "STATUS_MORE_PROCESSING_REQUIRED"},
    {0xc0000022, "STATUS_ACCESS_DENIED"},
    {0xc0000023, "STATUS_BUFFER_TOO_SMALL"},
    {0xc0000033, "STATUS_OBJECT_NAME_INVALID"},
    {0xc0000034, "STATUS_OBJECT_NAME_NOT_FOUND"},
    {0xc0000035, "STATUS_OBJECT_NAME_COLLISION"},
    {0xc000003a, "STATUS_OBJECT_PATH_NOT_FOUND"},
    {0xc0000043, "STATUS_SHARING_VIOLATION"},
    {0xc0000056, "STATUS_DELETE_PENDING"},
    {0xc000005e, "STATUS_NO_LOGON_SERVERS"},
    {0xc0000061, "STATUS_PRIVILEGE_NOT_HELD"},
    {0xc0000064, "STATUS_NO_SUCH_USER"},
    {0xc000006a, "STATUS_WRONG_PASSWORD"},
    {0xc000006d, "STATUS_LOGON_FAILURE"},
    {0xc000006e, "STATUS_ACCOUNT_RESTRICTION"},
    {0xc000006f, "STATUS_INVALID_LOGON_HOURS"},
    {0xc0000070, "STATUS_INVALID_WORKSTATION"},
    {0xc0000071, "STATUS_PASSWORD_EXPIRED"},
    {0xc0000072, "STATUS_ACCOUNT_DISABLED"},
    {0xc000009a, "STATUS_INSUFFICIENT_RESOURCES"},
    {0xc00000b5, "STATUS_IO_TIMEOUT"},
    {0xc00000ba, "STATUS_FILE_IS_A_DIRECTORY"},
    {0xc00000bb, "STATUS_NOT_SUPPORTED"},
    {0xc00000c9, "STATUS_NETWORK_NAME_DELETED"},
    {0xc00000cc, "STATUS_BAD_NETWORK_NAME"},
    {0xc0000101, "STATUS_DIRECTORY_NOT_EMPTY"},
    {0xc0000103, "STATUS_NOT_A_DIRECTORY"},
    {0xc0000120, "STATUS_CANCELLED"},
    {0xc0000128, "STATUS_FILE_CLOSED"},
    {0xc000015b, "STATUS_LOGON_TYPE_NOT_GRANTED"},
    {0xc0000184, "STATUS_INVALID_DEVICE_STATE"},
    {0xc0000193, "STATUS_ACCOUNT_EXPIRED"},
    {0xc000019c, "STATUS_FS_DRIVER_REQUIRED"},
    {0xc0000203, "STATUS_USER_SESSION_DELETED"},
    {0xc0000224, "STATUS_PASSWORD_MUST_CHANGE"},
    {0xc0000225, "STATUS_NOT_FOUND"},
    {0xc0000234, "STATUS_ACCOUNT_LOCKED_OUT"},
    {0xc0000257, "STATUS_PATH_NOT_COVERED"},
    {0xc000035c, "STATUS_NETWORK_SESSION_EXPIRED"},
    {0, NULL},
};

static const struct value_name dos_classes[] = {
    {0x01, "ERRDOS"}, {0x02, "ERRSRV"}, {0x03, "ERRHRD"}, {0xff, "ERRCMD"}, {0, NULL},
};

static const struct value_name smb2_dialects[] = {
    {0x0202, "2.0.2"}, {0x0210, "2.1"},   {0x0222, "2.2.2"}, {0x0224, "2.2.4"}, {0x0300, "3.0"},
    {0x0302, "3.0.2"}, {0x0310, "3.1.0"}, {0x0311, "3.1.1"}, {0x02ff, "2.???"}, {0, NULL},
};

static const struct value_name smb2_ciphers[] = {
    {1, "AES-128-CCM"}, {2, "AES-128-GCM"}, {3, "AES-256-CCM"}, {4, "AES-256-GCM"}, {0, NULL},
};

static const char *const auth_names[] = {NULL, "ntlmssp", "ntlm", "kerberos", "anonymous"};
static const char *const signing_names[] = {NULL, "disabled", "enabled", "required"};

/* "NEGOTIATE", "SMB_COM_NEGOTIATE", or the code in hex, in buf. */
static const char *command_name(uint16_t cmd, char *buf, size_t n)
{
	bool smb1 = (cmd & CMD_SMB1) != 0;
	unsigned code = cmd & ~CMD_SMB1;
	const char *name = value_name_lookup(smb1 ? smb1_commands : smb2_commands, code);
	if (name)
		return name;
	snprintf(buf, n, smb1 ? "SMB_COM_0x%02x" : "SMB2_0x%04x", code);
	return buf;
}

static const char *status_name(const struct smb_error *e, char *buf, size_t n)
{
	if (e->dos) {
		const char *cls = value_name_lookup(dos_classes, e->status >> 16);
		if (cls)
			snprintf(buf, n, "%s/0x%04x", cls, (unsigned)(e->status & 0xffff));
		else
			snprintf(buf, n, "DOS 0x%02x/0x%04x", (unsigned)(e->status >> 16),
			         (unsigned)(e->status & 0xffff));
		return buf;
	}
	const char *name = value_name_lookup(nt_statuses, e->status);
	if (name)
		return name;
	snprintf(buf, n, "0x%08x", (unsigned)e->status);
	return buf;
}

static const char *dialect_name(uint16_t d, char *buf, size_t n)
{
	const char *name = value_name_lookup(smb2_dialects, d);
	if (name)
		return name;
	snprintf(buf, n, "0x%04x", d);
	return buf;
}

/* ---- state helpers ---- */

static void malformed(struct smb_state *st, struct session *s, const char *counter)
{
	st->malformed++;
	session_count(s, counter);
	session_alert(s, ALERT_MALFORMED);
}

static void set_str(struct wire_str *w, struct session *s, const char *text, size_t n, size_t cap)
{
	enum wire_str_result r = wire_str_set(w, text, n, cap);
	if (r == WIRE_STR_CUT)
		session_count(s, "smb.string_cut");
	else if (r == WIRE_STR_NO_MEMORY)
		session_count(s, "smb.no_memory");
}

/* Adds text (not yet in the list) to l; counts what the cap leaves out. */
static void list_add(struct str_list *l, struct session *s, const char *text, size_t n,
                     unsigned cap, const char *counter)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->v[i].len == n && memcmp(l->v[i].p, text, n) == 0)
			return;
	if (l->n >= cap) {
		l->truncated++;
		session_count(s, counter);
		return;
	}
	if (l->n == l->alloc) {
		unsigned na = l->alloc ? l->alloc * 2u : 4u;
		if (na > cap)
			na = cap;
		struct wire_str *v = realloc(l->v, na * sizeof *v);
		if (!v) {
			session_count(s, "smb.no_memory");
			return;
		}
		l->v = v;
		l->alloc = (uint16_t)na;
	}
	struct wire_str w = {NULL, 0};
	set_str(&w, s, text, n, SMB_MAX_PATH);
	if (w.p)
		l->v[l->n++] = w;
}

static void list_free(struct str_list *l)
{
	for (unsigned i = 0; i < l->n; i++)
		wire_str_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static void note_command(struct smb_state *st, struct session *s, uint16_t cmd)
{
	for (unsigned i = 0; i < st->n_commands; i++)
		if (st->commands[i] == cmd)
			return;
	if (st->n_commands >= SMB_MAX_COMMANDS) {
		st->commands_truncated++;
		session_count(s, "smb.too_many_commands");
		return;
	}
	st->commands[st->n_commands++] = cmd;
}

static void note_error(struct smb_state *st, struct session *s, uint16_t cmd, uint32_t status,
                       bool dos)
{
	for (unsigned i = 0; i < st->n_errors; i++)
		if (st->errors[i].cmd == cmd && st->errors[i].status == status &&
		    st->errors[i].dos == dos)
			return;
	if (st->n_errors >= SMB_MAX_ERRORS) {
		st->errors_truncated++;
		session_count(s, "smb.too_many_errors");
		return;
	}
	st->errors[st->n_errors++] = (struct smb_error){status, cmd, dos};
}

/* A UTF-16LE span as UTF-8 into the list. */
static void add_utf16(struct str_list *l, struct session *s, struct reader v, unsigned cap,
                      const char *counter)
{
	char buf[SMB_MAX_PATH + 4];
	bool cut = false;
	if (!rd_ok(&v) || rd_remaining(&v) == 0)
		return;
	size_t n = utf16le_to_utf8(v.data + v.off, rd_remaining(&v), buf, sizeof buf, &cut);
	if (cut)
		session_count(s, "smb.string_cut");
	if (n)
		list_add(l, s, buf, n, cap, counter);
}

/* A span of the message m (offset from the header's start). */
static struct reader span(struct reader m, size_t off, size_t len, bool *bad)
{
	if (off > m.len || len > m.len - off) {
		*bad = true;
		return rd_init(NULL, 0);
	}
	return rd_init(m.data + off, len);
}

/* ---- authentication blobs ---- */

/* DER of the Kerberos mechanism OIDs (RFC 4121 and Microsoft's). */
static const uint8_t krb5_oid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                   0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t mskrb5_oid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x82,
                                     0xf7, 0x12, 0x01, 0x02, 0x02};

static long find_bytes(struct reader r, const uint8_t *pat, size_t n)
{
	size_t len = rd_remaining(&r);
	if (!rd_ok(&r) || len < n)
		return -1;
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(r.data + r.off + i, pat, n) == 0)
			return (long)i;
	return -1;
}

/* The context-tagged element [tag] of a SEQUENCE's content, or a failed reader. */
static struct reader ctx_field(struct reader seq, uint32_t tag)
{
	struct ber_tlv t;
	while (ber_next(&seq, &t))
		if (t.cls == BER_CLASS_CONTEXT && t.tag == tag)
			return t.value;
	struct reader none = rd_init(NULL, 0);
	rd_fail(&none);
	return none;
}

/* The ticket's realm and service name from an AP-REQ (RFC 4120 5.5.1):
 * [APPLICATION 14] SEQUENCE { ..., [3] ticket [APPLICATION 1] SEQUENCE {
 * [0] tkt-vno, [1] realm, [2] sname PrincipalName, ... } }. */
static void kerberos_ap_req(struct smb_state *st, struct session *s, struct reader r)
{
	struct reader v, seq, tkt;
	if (!ber_expect(&r, BER_CLASS_APPLICATION, true, 14, &v) ||
	    !ber_expect(&v, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &seq))
		return;
	struct reader ticket = ctx_field(seq, 3);
	if (!rd_ok(&ticket) || !ber_expect(&ticket, BER_CLASS_APPLICATION, true, 1, &v) ||
	    !ber_expect(&v, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &tkt))
		return;
	struct ber_tlv t;
	struct reader realm = ctx_field(tkt, 1);
	if (rd_ok(&realm) && ber_next(&realm, &t) && !t.constructed)
		set_str(&st->krb_realm, s, (const char *)t.value.data + t.value.off,
		        rd_remaining(&t.value), SMB_MAX_NAME);
	struct reader sname = ctx_field(tkt, 2);
	if (!rd_ok(&sname) || !ber_expect(&sname, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &v))
		return;
	struct reader parts = ctx_field(v, 1), names;
	if (!rd_ok(&parts) ||
	    !ber_expect(&parts, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, &names))
		return;
	char buf[SMB_MAX_NAME];
	size_t n = 0;
	for (unsigned i = 0; i < 8 && ber_next(&names, &t); i++) {
		size_t k = rd_remaining(&t.value);
		if (n + k + 2 > sizeof buf)
			break;
		if (i)
			buf[n++] = '/';
		memcpy(buf + n, t.value.data + t.value.off, k);
		n += k;
	}
	if (n)
		set_str(&st->krb_service, s, buf, n, SMB_MAX_NAME);
}

/* A name field of an NTLMSSP message into w (first value wins). */
static void ntlm_name(struct wire_str *w, struct session *s, struct reader f, bool unicode)
{
	char buf[SMB_MAX_NAME];
	bool cut = false;
	if (w->p || rd_remaining(&f) == 0)
		return;
	size_t n = ntlmssp_text(f, unicode, buf, sizeof buf, &cut);
	if (cut)
		session_count(s, "smb.string_cut");
	if (n)
		set_str(w, s, buf, n, SMB_MAX_NAME);
}

/* A session setup's security blob: NTLMSSP found by its signature, or a
 * Kerberos AP-REQ inside the GSS/SPNEGO token. */
static void auth_blob(struct smb_state *st, struct session *s, struct reader blob, bool request)
{
	struct reader msg;
	struct ntlmssp_msg m;

	if (!rd_ok(&blob) || rd_remaining(&blob) == 0)
		return;
	if (ntlmssp_find(blob, &msg)) {
		if (!ntlmssp_parse(msg, &m)) {
			malformed(st, s, "smb.bad_ntlmssp");
			return;
		}
		if (m.bad_fields)
			malformed(st, s, "smb.bad_ntlmssp_field");
		if (st->auth == AUTH_NONE)
			st->auth = AUTH_NTLMSSP;
		if (m.type == NTLMSSP_CHALLENGE) {
			/* the AV pairs are always UTF-16LE */
			ntlm_name(&st->server_name, s, m.nb_computer, true);
			ntlm_name(&st->server_dns_name, s, m.dns_computer, true);
			ntlm_name(&st->server_domain, s, m.nb_domain, true);
		} else if (m.type == NTLMSSP_AUTHENTICATE) {
			if (ntlmssp_is_anonymous(&m)) {
				if (!st->user.p)
					st->auth = AUTH_ANONYMOUS;
				return;
			}
			if (!st->user.p) {
				st->auth = AUTH_NTLMSSP;
				/* one identity: a later AUTHENTICATE does not mix in */
				wire_str_free(&st->domain);
				wire_str_free(&st->host);
				ntlm_name(&st->user, s, m.user, m.unicode);
				ntlm_name(&st->domain, s, m.domain, m.unicode);
				ntlm_name(&st->host, s, m.workstation, m.unicode);
			}
			if (m.nt_response_len == 24) {
				st->ntlm_version = 1;
				session_alert(s, ALERT_WEAK_SECURITY);
			} else if (m.nt_response_len > 24 && st->ntlm_version == 0) {
				st->ntlm_version = 2;
			}
		}
		return;
	}
	if (!request)
		return;
	long at = find_bytes(blob, krb5_oid, sizeof krb5_oid);
	if (at < 0)
		at = find_bytes(blob, mskrb5_oid, sizeof mskrb5_oid);
	if (at < 0)
		return;
	if (st->auth == AUTH_NONE || st->auth == AUTH_NTLMSSP)
		st->auth = AUTH_KERBEROS;
	/* the mechToken: the GSS header's OID, TOK_ID 01 00, then the AP-REQ */
	struct reader rest = blob;
	rd_skip(&rest, (size_t)at);
	static const uint8_t ap_req[] = {0x01, 0x00, 0x6e};
	long tok = find_bytes(rest, ap_req, sizeof ap_req);
	if (tok >= 0) {
		rd_skip(&rest, (size_t)tok + 2);
		kerberos_ap_req(st, s, rest);
	}
}

static void auth_status(struct smb_state *st, uint32_t status)
{
	if (status == STATUS_MORE_PROCESSING_REQUIRED)
		return;
	st->auth_status = status;
	st->has_auth_status = true;
}

static bool nt_error(uint32_t status)
{
	return (status >> 30) == 3 && status != STATUS_MORE_PROCESSING_REQUIRED;
}

/* ---- SMB2 ---- */

static void smb2_negotiate(struct smb_state *st, struct session *s, struct reader m,
                           struct reader b, bool response)
{
	if (!response) {
		rd_skip(&b, 2);
		uint16_t count = rd_le16(&b);
		uint16_t mode = rd_le16(&b);
		rd_skip(&b, 2 + 4 + 16 + 8);
		if (mode & 0x2)
			st->signing = SIGN_REQUIRED;
		for (unsigned i = 0; i < count && rd_has(&b, 2); i++) {
			uint16_t d = rd_le16(&b);
			bool have = false;
			for (unsigned k = 0; k < st->n_dialects2; k++)
				have |= st->dialects2[k] == d;
			if (have)
				continue;
			if (st->n_dialects2 >= SMB_MAX_DIALECTS) {
				st->dialects_truncated++;
				session_count(s, "smb.too_many_dialects");
				continue;
			}
			st->dialects2[st->n_dialects2++] = d;
		}
		return;
	}
	rd_skip(&b, 2);
	uint16_t mode = rd_le16(&b);
	uint16_t dialect = rd_le16(&b);
	uint16_t n_ctx = rd_le16(&b);
	rd_skip(&b, 16 + 4 + 4 + 4 + 4 + 8 + 8 + 2 + 2);
	uint32_t ctx_off = rd_le32(&b);
	if (!rd_ok(&b)) {
		malformed(st, s, "smb.bad_negotiate");
		return;
	}
	st->dialect2 = dialect;
	st->has_dialect2 = true;
	if (mode & 0x2)
		st->signing = SIGN_REQUIRED;
	else if (st->signing != SIGN_REQUIRED)
		st->signing = (mode & 0x1) ? SIGN_ENABLED : SIGN_DISABLED;
	if (dialect != 0x0311 || n_ctx == 0)
		return;
	/* negotiate contexts (MS-SMB2 2.2.3.1), each 8-byte aligned */
	struct reader c = m;
	rd_seek(&c, ctx_off);
	for (unsigned i = 0; i < n_ctx && i < 16 && rd_has(&c, 8); i++) {
		uint16_t type = rd_le16(&c);
		uint16_t len = rd_le16(&c);
		rd_skip(&c, 4);
		struct reader d = rd_sub(&c, len);
		if (type == 2) { /* SMB2_ENCRYPTION_CAPABILITIES */
			uint16_t count = rd_le16(&d);
			if (count >= 1)
				st->cipher = rd_le16(&d);
		}
		size_t pad = (8 - rd_offset(&c) % 8) % 8;
		if (rd_remaining(&c) < pad)
			break;
		rd_skip(&c, pad);
	}
}

static void smb2_message(struct smb_state *st, struct session *s, struct reader m, bool partial)
{
	struct reader h = m;
	rd_skip(&h, 4);
	uint16_t hsize = rd_le16(&h);
	rd_skip(&h, 2);
	uint32_t status = rd_le32(&h);
	uint16_t cmd = rd_le16(&h);
	rd_skip(&h, 2);
	uint32_t flags = rd_le32(&h);
	if (!rd_ok(&h) || hsize != 64 || m.len < 64) {
		if (!partial || rd_ok(&h))
			malformed(st, s, "smb.bad_smb2_header");
		return;
	}
	bool response = (flags & 0x1) != 0;
	if (flags & 0x8)
		st->signed_seen = true;
	st->messages++;
	note_command(st, s, cmd);

	struct reader b = m;
	rd_seek(&b, 64);
	bool bad = false;
	if (response && status != STATUS_SUCCESS) {
		if (cmd == SMB2_SESSION_SETUP)
			auth_status(st, status);
		if (nt_error(status))
			note_error(st, s, cmd, status, false);
		if (status != STATUS_MORE_PROCESSING_REQUIRED)
			return; /* an error response's body is the error structure */
	}
	switch (cmd) {
	case SMB2_NEGOTIATE:
		smb2_negotiate(st, s, m, b, response);
		break;
	case SMB2_SESSION_SETUP:
		if (!response) {
			rd_skip(&b, 2 + 1);
			uint8_t mode = rd_u8(&b);
			rd_skip(&b, 4 + 4);
			uint16_t off = rd_le16(&b), len = rd_le16(&b);
			if (rd_ok(&b)) {
				if (mode & 0x2)
					st->signing = SIGN_REQUIRED;
				auth_blob(st, s, span(m, off, len, &bad), true);
			}
		} else {
			rd_skip(&b, 2);
			uint16_t sflags = rd_le16(&b);
			uint16_t off = rd_le16(&b), len = rd_le16(&b);
			if (rd_ok(&b)) {
				if (status == STATUS_SUCCESS)
					auth_status(st, status);
				if (sflags & 0x1)
					st->guest = true;
				if ((sflags & 0x2) && !st->user.p)
					st->auth = AUTH_ANONYMOUS;
				if (sflags & 0x4)
					st->encryption_required = true;
				auth_blob(st, s, span(m, off, len, &bad), false);
			}
		}
		break;
	case SMB2_TREE_CONNECT:
		if (!response) {
			rd_skip(&b, 2 + 2);
			uint16_t off = rd_le16(&b), len = rd_le16(&b);
			if (rd_ok(&b))
				add_utf16(&st->trees, s, span(m, off, len, &bad), SMB_MAX_TREES,
				          "smb.too_many_trees");
		} else {
			rd_skip(&b, 2 + 1 + 1);
			uint32_t share_flags = rd_le32(&b);
			if (rd_ok(&b) && (share_flags & 0x8000))
				st->encryption_required = true;
		}
		break;
	case SMB2_CREATE:
		if (!response) {
			rd_skip(&b, 44);
			uint16_t off = rd_le16(&b), len = rd_le16(&b);
			if (rd_ok(&b) && len)
				add_utf16(&st->files, s, span(m, off, len, &bad), SMB_MAX_FILES,
				          "smb.too_many_files");
		}
		break;
	default:
		break;
	}
	if (!partial && (bad || !rd_ok(&b)))
		malformed(st, s, "smb.bad_smb2_body");
}

/* One NBSS frame's SMB2 payload: a message or a compound chain. */
static void smb2_frame(struct smb_state *st, struct session *s, struct reader p, bool partial)
{
	size_t at = 0, total = rd_remaining(&p);
	const uint8_t *base = p.data + p.off;

	for (unsigned i = 0; i < SMB_MAX_COMPOUND; i++) {
		struct reader h = rd_init(base + at, total - at);
		rd_skip(&h, 20);
		uint32_t next = rd_le32(&h);
		if (!rd_ok(&h))
			next = 0;
		size_t len = total - at;
		if (next) {
			if (next < 64 || next % 8 || next >= len) {
				if (!partial)
					malformed(st, s, "smb.bad_next_command");
				next = 0;
			} else {
				len = next;
			}
		}
		struct reader m = rd_init(base + at, len);
		if (!rd_starts_with(&m, "\xfeSMB", 4)) {
			if (!partial || rd_remaining(&m) >= 4)
				malformed(st, s, "smb.bad_compound");
			return;
		}
		smb2_message(st, s, m, partial && next == 0);
		if (!next)
			return;
		at += next;
	}
	session_count(s, "smb.too_many_compounded");
}

/* ---- SMB1 ---- */

/* An SMB_STRING at *off of m (offsets from the header's start): Unicode
 * strings are 2-byte aligned.  Returns the UTF-8 length in buf; moves *off
 * past the terminator. */
static size_t smb1_string(struct reader m, size_t *off, bool unicode, char *buf, size_t n)
{
	size_t at = *off;
	if (unicode && (at & 1))
		at++;
	if (at >= m.len) {
		*off = m.len;
		buf[0] = '\0';
		return 0;
	}
	const uint8_t *p = m.data + at;
	size_t avail = m.len - at, end = 0;
	if (unicode) {
		while (end + 1 < avail && (p[end] | p[end + 1]))
			end += 2;
		*off = at + (end + 1 < avail ? end + 2 : avail);
		return utf16le_to_utf8(p, end, buf, n, NULL);
	}
	while (end < avail && p[end])
		end++;
	*off = at + (end < avail ? end + 1 : avail);
	struct reader f = rd_init(p, end);
	return ntlmssp_text(f, false, buf, n, NULL);
}

static void smb1_session_setup(struct smb_state *st, struct session *s, struct reader m,
                               struct reader w, size_t bytes_off, uint16_t wc, bool reply,
                               bool unicode)
{
	bool bad = false;
	char buf[SMB_MAX_NAME];
	rd_skip(&w, 4); /* AndX */
	if (reply) {
		uint16_t action = rd_le16(&w);
		if (action & 0x1)
			st->guest = true;
		if (wc == 4) {
			uint16_t bloblen = rd_le16(&w);
			auth_blob(st, s, span(m, bytes_off, bloblen, &bad), false);
		}
		return;
	}
	rd_skip(&w, 2 + 2 + 2 + 4);
	if (wc == 12) { /* extended security: a security blob */
		uint16_t bloblen = rd_le16(&w);
		auth_blob(st, s, span(m, bytes_off, bloblen, &bad), true);
		return;
	}
	uint16_t oem_len = 0, uni_len = 0;
	if (wc == 13) {
		oem_len = rd_le16(&w);
		uni_len = rd_le16(&w);
	} else if (wc == 10) {
		oem_len = rd_le16(&w);
	} else {
		return;
	}
	if (!rd_ok(&w))
		return;
	size_t off = bytes_off + (size_t)oem_len + uni_len;
	/* plaintext when the server said so; with no negotiate seen, an OEM
	 * password that is no 24-byte response.  All-zero bytes: no password. */
	bool plaintext = st->has_dialect1 ? st->server_plaintext
	                                  : (oem_len > 1 && oem_len != 24 && uni_len == 0);
	struct reader pwd = span(m, bytes_off, (size_t)oem_len + uni_len, &bad);
	bool empty = true;
	for (size_t i = 0; rd_has(&pwd, 1) && i < (size_t)oem_len + uni_len; i++)
		empty &= rd_u8(&pwd) == 0;
	plaintext = plaintext && !empty;
	size_t n = smb1_string(m, &off, unicode && wc == 13, buf, sizeof buf);
	if (n == 0 && oem_len <= 1 && uni_len == 0) {
		if (!st->user.p)
			st->auth = AUTH_ANONYMOUS;
		return;
	}
	if (st->auth != AUTH_NTLMSSP && st->auth != AUTH_KERBEROS)
		st->auth = AUTH_NTLM;
	if (!st->user.p && n) {
		set_str(&st->user, s, buf, n, SMB_MAX_NAME);
		wire_str_free(&st->domain);
		n = smb1_string(m, &off, unicode && wc == 13, buf, sizeof buf);
		if (n)
			set_str(&st->domain, s, buf, n, SMB_MAX_NAME);
	}
	if (uni_len == 24)
		st->ntlm_version = 1;
	else if (uni_len > 24)
		st->ntlm_version = 2;
	if (plaintext) {
		st->cleartext_password = true;
		session_alert(s, ALERT_CLEARTEXT_CREDENTIALS);
		session_count(s, "smb.cleartext_password");
		if (session_show_credentials(s) && !st->password.p) {
			struct reader pw = uni_len ? span(m, bytes_off + oem_len, uni_len, &bad)
			                           : span(m, bytes_off, oem_len, &bad);
			if (rd_ok(&pw) && rd_remaining(&pw)) {
				char pbuf[SMB_MAX_NAME];
				size_t k = ntlmssp_text(pw, uni_len != 0, pbuf, sizeof pbuf, NULL);
				set_str(&st->password, s, pbuf, k, SMB_MAX_NAME);
			}
		}
	} else if (uni_len == 24 || oem_len == 24) {
		session_alert(s, ALERT_WEAK_SECURITY); /* LM / NTLMv1 responses */
	}
}

/* One command block (and the AndX chain behind it) of an SMB1 message. */
static void smb1_message(struct smb_state *st, struct session *s, struct reader m, bool partial)
{
	struct reader h = m;
	rd_skip(&h, 4);
	uint8_t cmd = rd_u8(&h);
	uint32_t status = rd_le32(&h);
	uint8_t flags = rd_u8(&h);
	uint16_t flags2 = rd_le16(&h);
	if (!rd_ok(&h) || m.len < 32) {
		if (!partial)
			malformed(st, s, "smb.bad_smb1_header");
		return;
	}
	bool reply = (flags & 0x80) != 0;
	bool unicode = (flags2 & 0x8000) != 0;
	bool nt_status = (flags2 & 0x4000) != 0;
	st->messages++;
	if (flags2 & 0x0004)
		st->signed_seen = true;
	if (!(cmd == SMB1_NEGOTIATE && !reply) && !st->smb1_used) {
		/* more than a client's opening offer: SMB1 is in use */
		st->smb1_used = true;
		session_alert(s, ALERT_INSECURE_PROTOCOL);
	}
	bool dos = !nt_status;
	uint32_t err =
	    nt_status ? status : (uint32_t)(status & 0xff) << 16 | (status >> 16 & 0xffff);
	bool failed = reply && (nt_status ? nt_error(status) : (status & 0xff) != 0);

	size_t block = 32;
	for (unsigned hop = 0; hop < SMB_MAX_ANDX; hop++) {
		uint16_t code = (uint16_t)(CMD_SMB1 | cmd);
		note_command(st, s, code);
		if (reply && cmd == SMB1_SESSION_SETUP_ANDX)
			auth_status(st, nt_status || status == 0 ? status : 0xffffffffu);
		if (failed) {
			note_error(st, s, code, err, dos);
			return;
		}
		struct reader r = m;
		rd_seek(&r, block);
		uint8_t wc = rd_u8(&r);
		struct reader w = rd_sub(&r, (size_t)wc * 2);
		uint16_t bc = rd_le16(&r);
		size_t bytes_off = rd_offset(&r);
		if (!rd_ok(&r)) {
			if (!partial)
				malformed(st, s, "smb.bad_smb1_block");
			return;
		}
		(void)bc;
		bool bad = false;
		char buf[SMB_MAX_PATH];
		struct reader wr = w;
		switch (cmd) {
		case SMB1_NEGOTIATE:
			if (!reply) {
				struct reader d = span(m, bytes_off, bc, &bad);
				while (rd_u8(&d) == 0x02) {
					long end = rd_find(&d, 0);
					size_t k = end < 0 ? rd_remaining(&d) : (size_t)end;
					const uint8_t *p = rd_take(&d, k);
					rd_skip(&d, end < 0 ? 0 : 1);
					if (p)
						list_add(&st->dialects1, s, (const char *)p,
						         k > SMB_MAX_DIALECT_STR
						             ? SMB_MAX_DIALECT_STR
						             : k,
						         SMB_MAX_DIALECTS, "smb.too_many_dialects");
				}
			} else if (wc >= 1) {
				st->dialect1 = rd_le16(&wr);
				st->has_dialect1 = true;
				if (wc == 17) {
					uint8_t mode = rd_u8(&wr);
					st->signing = (mode & 0x8)   ? SIGN_REQUIRED
					              : (mode & 0x4) ? SIGN_ENABLED
					                             : SIGN_DISABLED;
					st->server_plaintext = !(mode & 0x2);
				} else if (wc == 13) {
					uint16_t mode = rd_le16(&wr);
					st->server_plaintext = !(mode & 0x2);
				}
			}
			break;
		case SMB1_SESSION_SETUP_ANDX:
			smb1_session_setup(st, s, m, w, bytes_off, wc, reply, unicode);
			break;
		case SMB1_TREE_CONNECT_ANDX:
			if (!reply && wc == 4) {
				rd_skip(&wr, 4 + 2);
				uint16_t pwlen = rd_le16(&wr);
				size_t off = bytes_off + pwlen;
				size_t n = smb1_string(m, &off, unicode, buf, sizeof buf);
				if (n)
					list_add(&st->trees, s, buf, n, SMB_MAX_TREES,
					         "smb.too_many_trees");
			}
			break;
		case SMB1_NT_CREATE_ANDX:
			if (!reply && wc == 24) {
				rd_skip(&wr, 4 + 1);
				uint16_t namelen = rd_le16(&wr);
				size_t off = bytes_off;
				if (unicode && (off & 1))
					off++;
				struct reader name = span(m, off, namelen, &bad);
				if (bad) { /* some clients put a bad length: read to the NUL */
					bad = false;
					name = span(m, off, m.len > off ? m.len - off : 0, &bad);
				}
				size_t n = ntlmssp_text(name, unicode, buf, sizeof buf, NULL);
				if (n)
					list_add(&st->files, s, buf, n, SMB_MAX_FILES,
					         "smb.too_many_files");
			}
			break;
		case SMB1_OPEN_ANDX:
			if (!reply && wc == 15) {
				size_t off = bytes_off;
				size_t n = smb1_string(m, &off, unicode, buf, sizeof buf);
				if (n)
					list_add(&st->files, s, buf, n, SMB_MAX_FILES,
					         "smb.too_many_files");
			}
			break;
		default:
			break;
		}
		if (bad && !partial)
			malformed(st, s, "smb.bad_smb1_body");
		/* the AndX chain: commands that start with AndXCommand/Offset */
		bool andx = cmd == 0x24 || cmd == 0x2d || cmd == 0x2e || cmd == 0x2f ||
		            cmd == 0x73 || cmd == 0x74 || cmd == 0x75 || cmd == 0xa2;
		if (!andx || wc < 2)
			return;
		w = rd_init(w.data + w.off, rd_remaining(&w));
		uint8_t next = rd_u8(&w);
		rd_skip(&w, 1);
		uint16_t next_off = rd_le16(&w);
		if (next == 0xff || !rd_ok(&w))
			return;
		if (next_off <= block || next_off >= m.len) {
			if (!partial)
				malformed(st, s, "smb.bad_andx");
			return;
		}
		cmd = next;
		block = next_off;
	}
	session_count(s, "smb.too_many_andx");
}

/* ---- framing ---- */

static bool smb_magic(const uint8_t *p)
{
	return (p[0] == 0xff || p[0] == 0xfe || p[0] == 0xfd || p[0] == 0xfc) && p[1] == 'S' &&
	       p[2] == 'M' && p[3] == 'B';
}

/* The NBSS frame length (RFC 1002 4.3.1; 24-bit on 445, MS-SMB2 2.1).  A
 * session message must hold an SMB magic, so a lost stream is noticed. */
static long nbss_length(struct reader h, void *arg)
{
	(void)arg;
	int t = rd_peek(&h, 0);
	if (t < 0)
		return 0;
	if (t != 0x00 && (t < 0x81 || t > 0x85))
		return -1;
	if (rd_remaining(&h) < 4)
		return 0;
	rd_skip(&h, 1);
	uint32_t len = rd_be24(&h);
	if (t != 0x00) {
		if (len > 0x1ffff)
			return -1;
		return 4 + (long)len;
	}
	if (len < 4)
		return 4 + (long)len;
	if (rd_remaining(&h) < 4)
		return 0;
	if (!smb_magic(h.data + h.off))
		return -1;
	return 4 + (long)len;
}

/* Offset of the next "00 len len len <magic>" at or after r's cursor with
 * a plausible length, or -1. */
static long find_start(struct reader r)
{
	size_t n = rd_remaining(&r);
	const uint8_t *p = r.data + r.off;
	for (size_t i = 0; n >= 8 && i <= n - 8; i++) {
		if (p[i] != 0x00 || !smb_magic(p + i + 4))
			continue;
		uint32_t len = (uint32_t)p[i + 1] << 16 | (uint32_t)p[i + 2] << 8 | p[i + 3];
		if (len >= 32)
			return (long)i;
	}
	return -1;
}

/* One NBSS frame (whole, or the present part of an oversize one). */
static void smb_frame(struct smb_state *st, struct session *s, struct reader f, bool partial)
{
	uint8_t type = rd_u8(&f);
	rd_skip(&f, 3);
	if (type != 0x00 || rd_remaining(&f) == 0)
		return; /* keepalive and the session-setup types */
	if (rd_remaining(&f) < 4)
		return;
	const uint8_t *p = f.data + f.off;
	struct reader msg = rd_init(p, rd_remaining(&f)); /* offsets count from the SMB header */
	switch (p[0]) {
	case 0xff:
		st->smb1 = true;
		smb1_message(st, s, msg, partial);
		break;
	case 0xfe:
		st->smb2 = true;
		smb2_frame(st, s, msg, partial);
		break;
	case 0xfd: /* SMB3 transform header: the message is encrypted */
		st->smb2 = true;
		if (st->encrypted_pdus++ == 0)
			session_count(s, "smb.encrypted");
		break;
	case 0xfc: /* SMB 3.1.1 compression transform */
		st->smb2 = true;
		st->compressed_pdus++;
		break;
	default:
		break;
	}
}

static size_t smb_on_data(struct session *s, void *state, enum direction dir, struct reader r)
{
	struct smb_state *st = state;
	struct smb_dir *d = &st->dir[dir];

	if (d->pdu.max_pdu == 0)
		d->pdu.max_pdu = SMB_MAX_FRAME;
	st->direct_tcp = session_port(s, DIR_SERVER) != 139 && session_port(s, DIR_CLIENT) != 139;
	for (;;) {
		if (d->resync) {
			long at = find_start(r);
			if (at < 0) {
				size_t n = rd_remaining(&r);
				rd_skip(&r, n > 7 ? n - 7 : 0);
				return rd_offset(&r);
			}
			rd_skip(&r, (size_t)at);
			d->resync = false;
		}
		struct reader before = r, f;
		enum frame_result fr = pdu_next(&d->pdu, &r, nbss_length, NULL, &f);
		if (fr == FRAME_OK || fr == FRAME_TOO_BIG)
			st->session_frames[dir]++;
		if (fr == FRAME_OK) {
			d->synced = true;
			smb_frame(st, s, f, false);
			continue;
		}
		if (fr == FRAME_TOO_BIG) {
			d->synced = true;
			st->skipped_frames++;
			session_count(s, "smb.frame_skipped");
			struct reader part =
			    rd_init(before.data + before.off, rd_offset(&r) - before.off);
			smb_frame(st, s, part, true);
			continue;
		}
		if (fr == FRAME_NEED_MORE)
			return rd_offset(&r);
		/* FRAME_ERROR: out of step (a stream picked up late, or garbage) */
		if (!d->synced) {
			if (!st->midstream)
				session_count(s, "smb.midstream");
			st->midstream = true;
		} else {
			malformed(st, s, "smb.bad_frame");
		}
		d->resync = true;
		rd_skip(&r, 1);
	}
}

static void smb_on_gap(struct session *s, void *state, enum direction dir, size_t missing)
{
	struct smb_state *st = state;
	struct smb_dir *d = &st->dir[dir];
	if (!pdu_gap(&d->pdu, missing)) {
		d->resync = true;
		d->pdu.needed = 0;
		d->pdu.skip_left = 0; /* the skipped frame's end is lost too */
		session_count(s, "smb.gap_resync");
	}
}

static void smb_on_end(struct session *s, void *state)
{
	struct smb_state *st = state;
	for (int i = 0; i < 2; i++)
		if (st->dir[i].pdu.needed && !st->dir[i].pdu.skip_left)
			session_count(s, "smb.incomplete_frame");
}

/* ---- probe ---- */

/* True when the k (< 4) bytes at p could start an SMB magic. */
static bool magic_prefix(const uint8_t *p, size_t k)
{
	if (k >= 1 && p[0] != 0xff && p[0] != 0xfe && p[0] != 0xfd && p[0] != 0xfc)
		return false;
	return k < 2 || memcmp(p + 1, "SMB", k - 1) == 0;
}

static enum verdict smb_probe(struct reader r, enum direction dir)
{
	(void)dir;
	size_t n = rd_remaining(&r);
	if (n == 0 || !rd_ok(&r))
		return VERDICT_NEED_MORE;
	const uint8_t *p = r.data + r.off;
	if (p[0] >= 0x81 && p[0] <= 0x84)
		return VERDICT_NO; /* a NetBIOS session request: netbios-ssn's */
	if (p[0] == 0x85 && n >= 4 && p[1] == 0 && p[2] == 0 && p[3] == 0) {
		p += 4; /* a keepalive first */
		n -= 4;
		if (n == 0)
			return VERDICT_NEED_MORE;
	}
	if (p[0] == 0x00 && n < 8)
		return n <= 4 || magic_prefix(p + 4, n - 4) ? VERDICT_NEED_MORE : VERDICT_NO;
	struct reader scan = rd_init(p, n > SMB_PROBE_SCAN ? SMB_PROBE_SCAN : n);
	return find_start(scan) >= 0 ? VERDICT_YES : VERDICT_NO;
}

/* ---- output ---- */

static void smb_release(void *state)
{
	struct smb_state *st = state;
	list_free(&st->trees);
	list_free(&st->files);
	list_free(&st->dialects1);
	struct wire_str *w[] = {&st->user,        &st->domain,          &st->host,
	                        &st->server_name, &st->server_dns_name, &st->server_domain,
	                        &st->krb_realm,   &st->krb_service,     &st->password};
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
		wire_str_free(w[i]);
}

static void emit_wstr(struct emitter *e, const char *key, const struct wire_str *w)
{
	if (w->p)
		emit_strn(e, key, w->p, w->len);
	else
		emit_null(e, key);
}

static void emit_list(struct emitter *e, const char *key, const struct str_list *l,
                      const char *tkey)
{
	emit_array_begin(e, key);
	for (unsigned i = 0; i < l->n; i++)
		emit_strn(e, NULL, l->v[i].p, l->v[i].len);
	emit_array_end(e);
	if (l->truncated)
		emit_int(e, tkey, l->truncated);
}

static const char *smb_version(const struct smb_state *st)
{
	return st->smb2 ? "SMB2" : st->smb1 ? "SMB1" : NULL;
}

/* The dialect chosen: SMB2's revision, else the SMB1 string picked. */
static void chosen_dialect(const struct smb_state *st, const char **name, size_t *len, char *buf,
                           size_t n)
{
	*name = NULL;
	*len = 0;
	if (st->has_dialect2) {
		*name = dialect_name(st->dialect2, buf, n);
		*len = strlen(*name);
	} else if (st->smb1_used && st->has_dialect1 && st->dialect1 < st->dialects1.n) {
		*name = st->dialects1.v[st->dialect1].p;
		*len = st->dialects1.v[st->dialect1].len;
	}
}

/* On 445 SMB travels in the same 4-byte session messages as NetBIOS's
 * session service (without its session request), and Wireshark shows that
 * layer as NBSS: say so, with its frame counts. */
static void emit_session_framing(const struct smb_state *st, struct emitter *e)
{
	if (!st->direct_tcp || !(st->session_frames[0] + st->session_frames[1]))
		return;
	emit_object_begin(e, "netbios-ssn");
	emit_str(e, "framing", "direct-tcp");
	emit_int(e, "session_messages",
	         (int64_t)st->session_frames[0] + (int64_t)st->session_frames[1]);
	emit_object_end(e);
}

static void smb_emit(const void *state, struct emitter *e)
{
	const struct smb_state *st = state;
	char buf[64];
	const char *dn;
	size_t dl;

	emit_str(e, "version", smb_version(st));
	chosen_dialect(st, &dn, &dl, buf, sizeof buf);
	if (dn)
		emit_strn(e, "dialect", dn, dl);
	else
		emit_null(e, "dialect");
	emit_wstr(e, "user", &st->user);
	emit_wstr(e, "domain", &st->domain);
	emit_wstr(e, "host", &st->host);
	emit_list(e, "trees", &st->trees, "trees_truncated");
	emit_list(e, "files", &st->files, "files_truncated");

	emit_session_framing(st, e);
	emit_array_begin(e, "dialects_offered");
	for (unsigned i = 0; i < st->dialects1.n; i++)
		emit_strn(e, NULL, st->dialects1.v[i].p, st->dialects1.v[i].len);
	for (unsigned i = 0; i < st->n_dialects2; i++)
		emit_str(e, NULL, dialect_name(st->dialects2[i], buf, sizeof buf));
	emit_array_end(e);
	if (st->dialects_truncated + st->dialects1.truncated)
		emit_int(e, "dialects_truncated", st->dialects_truncated + st->dialects1.truncated);
	if (st->has_dialect1 && st->smb1_used && !st->has_dialect2 &&
	    st->dialect1 >= st->dialects1.n)
		emit_int(e, "dialect_index", st->dialect1);

	emit_str(e, "auth", auth_names[st->auth]);
	if (st->auth == AUTH_KERBEROS) {
		emit_str(e, "user_note",
		         "kerberos: the user is inside the encrypted authenticator");
		emit_wstr(e, "kerberos_realm", &st->krb_realm);
		emit_wstr(e, "kerberos_service", &st->krb_service);
	}
	if (st->ntlm_version)
		emit_str(e, "ntlm_version", st->ntlm_version == 1 ? "v1" : "v2");
	if (st->has_auth_status) {
		struct smb_error x = {st->auth_status, 0, st->auth_status == 0xffffffffu};
		if (x.dos)
			emit_str(e, "auth_status", "DOS error");
		else
			emit_str(e, "auth_status", status_name(&x, buf, sizeof buf));
	}
	if (st->guest)
		emit_bool(e, "guest", true);
	if (st->server_name.p)
		emit_wstr(e, "server_name", &st->server_name);
	if (st->server_dns_name.p)
		emit_wstr(e, "server_dns_name", &st->server_dns_name);
	if (st->server_domain.p)
		emit_wstr(e, "server_domain", &st->server_domain);
	if (st->cleartext_password) {
		emit_bool(e, "cleartext_password", true);
		if (st->password.p)
			emit_wstr(e, "password", &st->password);
	}
	emit_str(e, "signing", signing_names[st->signing]);
	emit_bool(e, "signed", st->signed_seen);
	emit_bool(e, "encrypted", st->encrypted_pdus > 0);
	if (st->encrypted_pdus)
		emit_int(e, "encrypted_messages", st->encrypted_pdus);
	if (st->encryption_required)
		emit_bool(e, "encryption_required", true);
	if (st->cipher) {
		const char *c = value_name_lookup(smb2_ciphers, st->cipher);
		if (!c) {
			snprintf(buf, sizeof buf, "0x%04x", st->cipher);
			c = buf;
		}
		emit_str(e, "cipher", c);
	}
	if (st->compressed_pdus)
		emit_int(e, "compressed_messages", st->compressed_pdus);

	emit_array_begin(e, "commands");
	for (unsigned i = 0; i < st->n_commands; i++)
		emit_str(e, NULL, command_name(st->commands[i], buf, sizeof buf));
	emit_array_end(e);
	if (st->commands_truncated)
		emit_int(e, "commands_truncated", st->commands_truncated);
	if (st->n_errors) {
		char nbuf[32];
		emit_array_begin(e, "errors");
		for (unsigned i = 0; i < st->n_errors; i++) {
			emit_object_begin(e, NULL);
			emit_str(e, "command", command_name(st->errors[i].cmd, nbuf, sizeof nbuf));
			emit_str(e, "status", status_name(&st->errors[i], buf, sizeof buf));
			emit_object_end(e);
		}
		emit_array_end(e);
	}
	if (st->errors_truncated)
		emit_int(e, "errors_truncated", st->errors_truncated);
	emit_int(e, "messages", st->messages);
	if (st->midstream)
		emit_bool(e, "midstream", true);
	if (st->malformed)
		emit_int(e, "malformed", st->malformed);
}

/* "SMB2 3.1.1 CORP\alice \\srv\share (+2 trees) encrypted" */
static void smb_summarize(const void *state, char *buf, size_t n)
{
	const struct smb_state *st = state;
	struct summary sum = summary_start(buf, n);
	char tmp[64];
	const char *dn;
	size_t dl;

	const char *v = smb_version(st);
	summary_add(&sum, v ? v : "SMB?");
	chosen_dialect(st, &dn, &dl, tmp, sizeof tmp);
	if (dn) {
		summary_add(&sum, " ");
		summary_add_wire(&sum, dn, dl);
	}
	if (st->user.p) {
		summary_add(&sum, " ");
		if (st->domain.p) {
			summary_add_wire(&sum, st->domain.p, st->domain.len);
			summary_add(&sum, "\\");
		}
		summary_add_wire(&sum, st->user.p, st->user.len);
	} else if (st->auth == AUTH_KERBEROS) {
		summary_add(&sum, " kerberos");
	} else if (st->auth == AUTH_ANONYMOUS) {
		summary_add(&sum, " anonymous");
	}
	if (st->trees.n) {
		summary_add(&sum, " ");
		summary_add_wire(&sum, st->trees.v[0].p, st->trees.v[0].len);
		if (st->trees.n + st->trees.truncated > 1)
			summary_addf(&sum, " (+%u trees)",
			             (unsigned)(st->trees.n + st->trees.truncated - 1));
	}
	if (st->files.n + st->files.truncated)
		summary_addf(&sum, " %u files", (unsigned)(st->files.n + st->files.truncated));
	if (st->encrypted_pdus)
		summary_add(&sum, " encrypted");
	if (st->has_auth_status && st->auth_status != 0) {
		struct smb_error x = {st->auth_status, 0, st->auth_status == 0xffffffffu};
		summary_add(&sum, " ");
		summary_add(&sum, x.dos ? "auth failed" : status_name(&x, tmp, sizeof tmp));
	}
}

const struct dissector smb_dissector = {
    .name = "smb",
    .transports = TRANSPORT_BIT_TCP,
    .ports = smb_ports,
    .state_size = sizeof(struct smb_state),
    .probe = smb_probe,
    .on_data = smb_on_data,
    .on_gap = smb_on_gap,
    .on_end = smb_on_end,
    .emit = smb_emit,
    .summarize = smb_summarize,
    .release = smb_release,
};
