/* Teaching views: what a port is, and what runs there. */
#ifndef PORTOLAN_TEACH_H
#define PORTOLAN_TEACH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* `--port N|NAME`: the port's class with IANA's exact ranges, what is
 * registered on it over TCP and UDP, and for the seed's protocols a card
 * (cleartext or not, the secure alternative, common misconceptions).
 * Returns 0, or 2 with a one-line error on err for a bad number or name. */
int teach_port(FILE *out, FILE *err, const char *arg);

/* `--ports`: the built-in table (the same one that fills `service`). */
void teach_ports(FILE *out);

/* A protocol's teaching card (the HTML report shows it beside findings):
 * what it does, what crosses in clear (NULL: encrypted), the secure
 * alternative and a misconception corrected (either may be NULL). */
struct teach_card {
	const char *what, *cleartext, *instead, *note;
};
/* By service name as in the port table ("telnet", "pop3"...); false when
 * there is no card. */
bool teach_card_lookup(const char *service, struct teach_card *out);

/* Which operating systems' default ephemeral ranges a client port fits
 * ("fits both Linux (32768-60999) and Windows (49152-65535)"), or NULL
 * below 32768 (outside every default range). */
const char *teach_client_port_fit(uint16_t port);

#endif
