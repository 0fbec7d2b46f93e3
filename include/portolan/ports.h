/* The built-in port table: what a port is registered for, and its class.
 *
 * Built in rather than read from /etc/services, so that output never
 * depends on the machine portolan runs on.
 */
#ifndef PORTOLAN_PORTS_H
#define PORTOLAN_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct port_entry {
	uint16_t port;
	unsigned transports;  /* TRANSPORT_BIT_TCP | TRANSPORT_BIT_UDP */
	const char *service;  /* short name, lower case, as in `service` */
	const char *protocol; /* the protocol normally found there (`protocol`) */
	const char *description;
};

/* IANA's three ranges: 0-1023 well-known, 1024-49151 registered,
 * 49152-65535 dynamic/private. */
const char *port_class(uint16_t port);

/* The service registered for port over transport (6 or 17), or NULL. */
const char *port_service(uint8_t transport, uint16_t port);
const struct port_entry *port_lookup(uint8_t transport, uint16_t port);

/* The whole table, sorted by port; *count entries. */
const struct port_entry *port_table(size_t *count);

#endif
