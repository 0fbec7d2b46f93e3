/* Teaching views (portolan/teach.h).  The facts here correct what common
 * study notes get wrong; each one is stated plainly and once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "portolan/ports.h"
#include "portolan/teach.h"
#include "portolan/types.h"

struct card {
	const char *service; /* as in the port table */
	const char *what;
	const char *cleartext; /* what crosses the wire in clear, or NULL when encrypted */
	const char *instead;   /* the secure alternative, or NULL */
	const char *note;      /* a misconception corrected, or NULL */
};

static const struct card cards[] = {
    {"ftp-data", "FTP's data connections in active mode: the server connects from port 20.",
     "files and directory listings", "SFTP (inside SSH) or FTPS (FTP with AUTH TLS, or 990)",
     "Port 20 is used only in active mode; in passive mode the client connects to a port the "
     "server announces in its 227/229 reply."},
    {"ftp",
     "File Transfer Protocol: commands and replies on 21, files on separate data "
     "connections.",
     "user name, password, commands and files", "SFTP (inside SSH) or FTPS (AUTH TLS)",
     "SFTP is not FTP over SSH: it is SSH's own file transfer subsystem."},
    {"ssh",
     "Secure Shell: remote login, command execution, port forwarding; SFTP and SCP run "
     "inside it.",
     NULL, NULL,
     "SFTP and SCP sessions cannot be told apart from an interactive SSH session on the wire: "
     "after the key exchange everything is encrypted."},
    {"telnet", "Remote terminal over TCP.", "everything, including the login name and password",
     "SSH (22)", NULL},
    {"smtp",
     "Simple Mail Transfer Protocol: mail between servers (25) and from clients "
     "(587, submission).",
     "mail, addresses and AUTH credentials unless STARTTLS is used",
     "STARTTLS on 25/587, or implicit TLS on 465", NULL},
    {"submission", "Mail submission from clients (SMTP with AUTH).",
     "credentials and mail unless STARTTLS is used", "STARTTLS, or implicit TLS on 465", NULL},
    {"dns", "Domain Name System: names to addresses.", "every query and answer",
     "DNS over TLS (853) or over HTTPS; DNSSEC signs answers but does not hide them",
     "DNS uses TCP too: for answers too big for UDP, zone transfers, and DNS over TLS."},
    {"dhcp", "Dynamic Host Configuration Protocol: addresses and settings for hosts.",
     "everything (it has no encryption)", NULL,
     "DHCP is UDP: servers listen on 67, clients on 68 (both well-known)."},
    {"http", "Hypertext Transfer Protocol.", "requests, responses, cookies and form data",
     "HTTPS (HTTP over TLS, 443)", NULL},
    {"pop3", "Post Office Protocol v3: download mail from a mailbox.",
     "user name, password and mail unless STLS is used", "POP3S (995) or STLS", NULL},
    {"netbios-ns", "NetBIOS Name Service: Windows names to addresses.", "every query and answer",
     NULL, "NetBIOS uses 137/UDP (names), 138/UDP (datagrams) and 139/TCP (sessions)."},
    {"netbios-dgm", "NetBIOS Datagram Service: browser announcements and broadcasts.", "everything",
     NULL,
     "NetBIOS uses 138/UDP as well as 137/UDP and 139/TCP; SMB over 139 or 445 does its own "
     "authentication."},
    {"netbios-ssn", "NetBIOS Session Service: carries SMB on older Windows networks.",
     "SMB traffic unless SMB3 encryption is on", "SMB3 with encryption over 445", NULL},
    {"imap", "Internet Message Access Protocol: mailboxes kept on the server (dates from 1986).",
     "user name, password and mail unless STARTTLS is used", "IMAPS (993) or STARTTLS",
     "IMAP is the Internet Message Access Protocol, not 'Interim' or 'Internet Mail'."},
    {"snmp", "Simple Network Management Protocol: read and set device counters and settings.",
     "v1 and v2c: the community string (a password) and every value", "SNMPv3 with authPriv",
     "SNMPv2c is not encrypted: only SNMPv3 (authPriv) encrypts; v2c only added operations."},
    {"ldap", "Lightweight Directory Access Protocol: directory queries and logins.",
     "simple binds send the password in clear", "LDAPS (636) or StartTLS", NULL},
    {"https", "HTTP over TLS.", NULL, NULL, NULL},
    {"smb", "SMB directly over TCP: Windows file and printer sharing.",
     "SMB1 and unencrypted SMB2/3: file contents and names", "SMB3 with encryption",
     "SMB1 is deprecated and insecure."},
    {"mssql", "Microsoft SQL Server (TDS).",
     "LOGIN7 credentials are only obfuscated when encryption is off", "TDS with TLS", NULL},
    {"rdp", "Remote Desktop Protocol.", NULL, "NLA (CredSSP) with TLS",
     "Standard RDP security without TLS is weak."},
};

static const struct card *card_for(const char *service)
{
	for (size_t i = 0; i < sizeof cards / sizeof cards[0]; i++)
		if (service && strcmp(cards[i].service, service) == 0)
			return &cards[i];
	return NULL;
}

static void print_class(FILE *out, unsigned port)
{
	fprintf(out, "port %u: %s\n", port, port_class((uint16_t)port));
	fprintf(out, "  IANA's ranges: 0-1023 well-known (system), 1024-49151 registered (user), "
	             "49152-65535 dynamic/private; 65535 is the last port.\n");
	fprintf(out, "  Ephemeral (client) ports are the operating system's choice: IANA suggests "
	             "49152-65535 and Windows uses it, Linux uses 32768-60999 (inside the "
	             "registered range), and NAT rewrites ports.\n");
	const char *fit = teach_client_port_fit((uint16_t)port);
	if (fit)
		fprintf(out, "  As a client port, %u %s.\n", port, fit);
}

const char *teach_client_port_fit(uint16_t port)
{
	if (port >= 49152 && port <= 60999)
		return "fits both Linux (32768-60999) and Windows (49152-65535)";
	if (port >= 32768 && port < 49152)
		return "fits Linux (32768-60999) but not Windows";
	if (port > 60999)
		return "fits Windows (49152-65535) but not Linux";
	return NULL;
}

bool teach_card_lookup(const char *service, struct teach_card *out)
{
	const struct card *c = card_for(service);
	if (!c)
		return false;
	out->what = c->what;
	out->cleartext = c->cleartext;
	out->instead = c->instead;
	out->note = c->note;
	return true;
}

static void print_card(FILE *out, const struct port_entry *e, const char *transport)
{
	const struct card *c = card_for(e->service);
	fprintf(out, "  %s/%s: %s - %s\n", transport, e->service, e->protocol, e->description);
	if (!c)
		return;
	fprintf(out, "    %s\n", c->what);
	if (c->cleartext)
		fprintf(out, "    In clear on the wire: %s.\n", c->cleartext);
	else
		fprintf(out, "    Encrypted on the wire.\n");
	if (c->instead)
		fprintf(out, "    Secure alternative: %s.\n", c->instead);
	if (c->note)
		fprintf(out, "    Note: %s\n", c->note);
}

static void print_registrations(FILE *out, unsigned port)
{
	const struct port_entry *tcp = port_lookup(TRANSPORT_TCP, (uint16_t)port);
	const struct port_entry *udp = port_lookup(TRANSPORT_UDP, (uint16_t)port);
	if (!tcp && !udp) {
		fprintf(out, "  nothing in portolan's table is registered on it\n");
		return;
	}
	if (tcp)
		print_card(out, tcp, "tcp");
	if (udp)
		print_card(out, udp, "udp");
}

int teach_port(FILE *out, FILE *err, const char *arg)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (*arg && !*end) {
		if (errno || v < 0 || v > 65535) {
			fprintf(err,
			        "portolan: --port: %s is not a port: ports run from 0 to 65535\n",
			        arg);
			return 2;
		}
		print_class(out, (unsigned)v);
		print_registrations(out, (unsigned)v);
		return 0;
	}
	size_t n;
	const struct port_entry *t = port_table(&n);
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(t[i].service, arg) != 0 && strcasecmp(t[i].protocol, arg) != 0)
			continue;
		if (i > 0 && t[i - 1].port == t[i].port && found)
			continue; /* one card per port */
		print_class(out, t[i].port);
		print_registrations(out, t[i].port);
		found = true;
	}
	if (!found) {
		fprintf(err, "portolan: --port: no service called '%s' (see portolan --ports)\n",
		        arg);
		return 2;
	}
	return 0;
}

void teach_ports(FILE *out)
{
	size_t n;
	const struct port_entry *t = port_table(&n);
	fprintf(out, "%-6s %-8s %-14s %-10s %-11s %s\n", "port", "proto", "service", "protocol",
	        "class", "description");
	for (size_t i = 0; i < n; i++) {
		const char *tr = t[i].transports == (TRANSPORT_BIT_TCP | TRANSPORT_BIT_UDP)
		                     ? "tcp+udp"
		                 : t[i].transports == TRANSPORT_BIT_TCP ? "tcp"
		                                                        : "udp";
		fprintf(out, "%-6u %-8s %-14s %-10s %-11s %s\n", t[i].port, tr, t[i].service,
		        t[i].protocol, port_class(t[i].port), t[i].description);
	}
}
