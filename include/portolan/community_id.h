/* Community ID v1 (https://github.com/corelight/community-id-spec): a flow
 * hash that Zeek, Suricata and Arkime also compute, so records join. */
#ifndef PORTOLAN_COMMUNITY_ID_H
#define PORTOLAN_COMMUNITY_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portolan/types.h"

#define COMMUNITY_ID_LEN 32 /* "1:" + 28 base64 chars + NUL, rounded */

/* Writes "1:<base64 of SHA-1>" for a TCP or UDP flow (either direction
 * gives the same value).  seed is 0 unless configured. */
void community_id_v1(char *out, size_t n, uint16_t seed, uint8_t proto, const struct ip_addr *a,
                     uint16_t port_a, const struct ip_addr *b, uint16_t port_b);

/* The same for an ICMP (proto 1) or ICMPv6 (58) message sent from src to
 * dst, as the spec maps it: a request or reply hashes with the ports (type,
 * the counterpart's type), so both directions of an echo exchange agree; a
 * one-way message (errors, and types without a counterpart) hashes with
 * (type, code) and its endpoints in the order sent. */
void community_id_icmp(char *out, size_t n, uint16_t seed, uint8_t proto, const struct ip_addr *src,
                       const struct ip_addr *dst, uint8_t type, uint8_t code);

#endif
