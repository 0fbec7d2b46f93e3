/* Community ID v1 (https://github.com/corelight/community-id-spec): a flow
 * hash that Zeek, Suricata and Arkime also compute, so records join. */
#ifndef PORTOLAN_COMMUNITY_ID_H
#define PORTOLAN_COMMUNITY_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portolan/types.h"

#define COMMUNITY_ID_LEN 32 /* "1:" + 28 base64 chars + NUL, rounded */

/* Writes "1:<base64 of SHA-1>" for the flow; ports are ICMP type/code for
 * ICMP.  seed is 0 unless configured. */
void community_id_v1(char *out, size_t n, uint16_t seed, uint8_t proto, const struct ip_addr *a,
                     uint16_t port_a, const struct ip_addr *b, uint16_t port_b);

#endif
