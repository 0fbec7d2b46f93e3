/* Base64 (RFC 4648) for the credentials SASL exchanges carry (SMTP AUTH,
 * POP3 AUTH, IMAP AUTHENTICATE). */
#ifndef PORTOLAN_BASE64_H
#define PORTOLAN_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portolan/reader.h"

/* Decodes base64 text (padding optional, nothing but '=' after it) into out,
 * at most cap bytes; *overflow says whether more did not fit.  False on a
 * character outside the alphabet. */
bool base64_decode(struct reader in, uint8_t *out, size_t cap, size_t *n, bool *overflow);

/* True when every byte is in the alphabet or '='. */
bool base64_is_text(struct reader in);

#endif
