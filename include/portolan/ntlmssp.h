/* Reading NTLMSSP messages (MS-NLMP 2.2.1) from untrusted bytes: shared by
 * SMB session setup and any other carrier of NTLM authentication (SASL
 * GSS-SPNEGO / NTLM in LDAP, HTTP "Authorization: NTLM", ...).
 *
 * A message is found by its "NTLMSSP\0" signature inside whatever wraps it
 * (a SPNEGO token, a raw SMB security blob), so no carrier has to parse
 * SPNEGO.  Every variable field is an (length, offset) pair relative to the
 * signature; a field whose span runs outside the message is left empty and
 * `bad_fields` says so: the rest of the message is still read.  Only spans
 * of the caller's bytes are handed out (nothing is copied or allocated);
 * ntlmssp_text() turns a name field into UTF-8.
 */
#ifndef PORTOLAN_NTLMSSP_H
#define PORTOLAN_NTLMSSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portolan/reader.h"

enum ntlmssp_type {
	NTLMSSP_NONE = 0,
	NTLMSSP_NEGOTIATE = 1,
	NTLMSSP_CHALLENGE = 2,
	NTLMSSP_AUTHENTICATE = 3,
};

/* NegotiateFlags bits in use. */
#define NTLMSSP_FLAG_UNICODE 0x00000001u
#define NTLMSSP_FLAG_OEM 0x00000002u
#define NTLMSSP_FLAG_SIGN 0x00000010u
#define NTLMSSP_FLAG_SEAL 0x00000020u
#define NTLMSSP_FLAG_DOMAIN_SUPPLIED 0x00001000u
#define NTLMSSP_FLAG_WORKSTATION_SUPPLIED 0x00002000u
#define NTLMSSP_FLAG_TARGET_INFO 0x00800000u
#define NTLMSSP_FLAG_VERSION 0x02000000u

struct ntlmssp_msg {
	enum ntlmssp_type type; /* NTLMSSP_NONE: not a message we can read */
	uint32_t flags;         /* NegotiateFlags */
	bool unicode;           /* name fields are UTF-16LE (else OEM bytes) */
	/* NEGOTIATE (OEM when supplied) and AUTHENTICATE: the client's names */
	struct reader domain, user, workstation;
	/* CHALLENGE: the target name, and from the target info (AV pairs,
	 * always UTF-16LE) the server's NetBIOS / DNS computer and domain */
	struct reader target_name;
	struct reader nb_computer, nb_domain, dns_computer, dns_domain;
	/* AUTHENTICATE: response lengths (24 for an NT response: NTLMv1;
	 * longer: NTLMv2; 0 with an empty user: anonymous) */
	uint16_t lm_response_len, nt_response_len;
	bool has_version; /* the Version field: Windows major.minor.build */
	uint8_t major, minor;
	uint16_t build;
	unsigned bad_fields; /* fields whose (offset, length) lay outside the message */
};

/* Finds the "NTLMSSP\0" signature in blob and gives the bytes from it to
 * the end of blob.  False when there is none. */
bool ntlmssp_find(struct reader blob, struct reader *msg);

/* Reads the message that starts at msg (at its signature).  False when the
 * signature is missing, the type is unknown or its fixed part is cut short
 * (out->type is then NTLMSSP_NONE). */
bool ntlmssp_parse(struct reader msg, struct ntlmssp_msg *out);

/* True for an AUTHENTICATE message of the anonymous user (MS-NLMP 3.2.5.1.2:
 * empty user name and an empty or one-byte-zero LM and empty NT response). */
bool ntlmssp_is_anonymous(const struct ntlmssp_msg *m);

/* A name field as UTF-8, NUL-terminated, in out (n bytes): UTF-16LE decoded
 * when unicode (unpaired surrogates become U+FFFD), OEM bytes copied as they
 * are.  Returns the length written; *cut (may be NULL) tells when it did not
 * fit.  Stops at a NUL character. */
size_t ntlmssp_text(struct reader field, bool unicode, char *out, size_t n, bool *cut);

/* UTF-16LE bytes (n bytes; an odd last byte is ignored) as UTF-8 in out
 * (cap bytes, NUL-terminated when cap > 0); same contract as above.  For
 * every carrier of UTF-16LE names (SMB paths, TDS LOGIN7). */
size_t utf16le_to_utf8(const uint8_t *p, size_t n, char *out, size_t cap, bool *cut);

#endif
