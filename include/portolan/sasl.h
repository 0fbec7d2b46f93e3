/* The credentials a SASL exchange carries in clear (RFC 4616 PLAIN, the
 * LOGIN mechanism, XOAUTH2, RFC 7628 OAUTHBEARER), read from one decoded
 * client response; shared by POP3 AUTH and IMAP AUTHENTICATE. */
#ifndef PORTOLAN_SASL_H
#define PORTOLAN_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portolan/reader.h"

enum sasl_mech { MECH_OTHER = 0, MECH_PLAIN, MECH_LOGIN, MECH_XOAUTH2, MECH_OAUTHBEARER };

enum sasl_mech sasl_mech_of(struct reader name);

struct sasl_fields {
	bool bad; /* not what the mechanism sends at this step */
	bool has_user, has_password;
	struct reader user, password; /* spans of the decoded response */
};

/* What the step-th (0-based) client response d (n decoded bytes) of a
 * mech exchange says. */
struct sasl_fields sasl_read(enum sasl_mech mech, unsigned step, const uint8_t *d, size_t n);

#endif
