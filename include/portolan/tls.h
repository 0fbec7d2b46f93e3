/* TLS handshake facts, shared by the TLS dissector and the protocols that
 * carry TLS handshakes without (QUIC's CRYPTO frames) or inside (TDS
 * PRELOGIN packets) their own framing.
 *
 * The facts object is opaque: its owner creates it, feeds it handshake
 * bytes and writes its keys into whatever object it chooses ("tls" at the
 * top level for the TLS dissector, quic.tls for QUIC, tds.tls for TDS).
 */
#ifndef PORTOLAN_TLS_H
#define PORTOLAN_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "portolan/emitter.h"
#include "portolan/reader.h"
#include "portolan/session.h"
#include "portolan/types.h"

struct tls_facts;

/* quic: the handshake travels in QUIC (JA4's transport letter is 'q', no
 * record layer).  NULL when out of memory. */
struct tls_facts *tls_facts_new(bool quic);
void tls_facts_free(struct tls_facts *t);

/* TLS records (the record layer: type, version, length, fragment) of one
 * direction, in order.  Consumes whole records only and returns how many
 * bytes it consumed (a caller keeps the rest and offers it again with the
 * next bytes, as the core does for stream dissectors). */
size_t tls_facts_records(struct tls_facts *t, struct session *s, enum direction dir,
                         struct reader r);

/* Handshake messages without the record layer (type, 24-bit length, body),
 * in order, as QUIC's reassembled CRYPTO stream carries them.  Consumes
 * whole messages only and returns the bytes consumed. */
size_t tls_facts_handshake(struct tls_facts *t, struct session *s, enum direction dir,
                           struct reader r);

/* Whether a ClientHello was seen (QUIC and tests ask). */
bool tls_facts_have_client_hello(const struct tls_facts *t);

/* Writes the facts' keys (sni, client_version, version, alpn, cipher, ja3,
 * ja3s, ja4, ...) into the object the caller has opened. */
void tls_facts_emit(const struct tls_facts *t, struct emitter *e);

/* A short summary for the text line ("sni example.com TLSv1.3 h2"). */
void tls_facts_summarize(const struct tls_facts *t, char *buf, size_t n);

#endif
