/* The registry: every dissector, in the order their probes are tried when
 * no port hint decides.  Adding a protocol is one file and one line here. */
#include <string.h>

#include "portolan/dissector.h"

extern const struct dissector http_dissector;
extern const struct dissector smtp_dissector;
extern const struct dissector ftp_dissector;
extern const struct dissector ftp_data_dissector;
extern const struct dissector pop3_dissector;
extern const struct dissector imap_dissector;
extern const struct dissector telnet_dissector;
extern const struct dissector ssh_dissector;
extern const struct dissector tls_dissector;
extern const struct dissector rdp_dissector;
extern const struct dissector tds_dissector;
extern const struct dissector mysql_dissector;
extern const struct dissector postgresql_dissector;
extern const struct dissector smb_dissector;
extern const struct dissector netbios_ssn_dissector;
extern const struct dissector dns_dissector;
extern const struct dissector netbios_ns_dissector;
extern const struct dissector netbios_dgm_dissector;
extern const struct dissector dhcp_dissector;
extern const struct dissector snmp_dissector;
extern const struct dissector ldap_dissector;
extern const struct dissector kerberos_dissector;
extern const struct dissector ntp_dissector;
extern const struct dissector syslog_dissector;
extern const struct dissector quic_dissector;
extern const struct dissector sip_dissector;
extern const struct dissector rtp_dissector;

const struct dissector *const dissector_registry[] = {
    &http_dissector,       &smtp_dissector,        &ftp_dissector,         &ftp_data_dissector,
    &pop3_dissector,       &imap_dissector,        &telnet_dissector,      &ssh_dissector,
    &tls_dissector,        &rdp_dissector,         &tds_dissector,         &mysql_dissector,
    &postgresql_dissector, &smb_dissector,         &netbios_ssn_dissector, &dns_dissector,
    &netbios_ns_dissector, &netbios_dgm_dissector, &dhcp_dissector,        &snmp_dissector,
    &ldap_dissector,       &kerberos_dissector,    &ntp_dissector,         &syslog_dissector,
    &quic_dissector,       &sip_dissector,         &rtp_dissector,
};

const size_t dissector_count = sizeof dissector_registry / sizeof dissector_registry[0];

const struct dissector *dissector_by_name(const char *name)
{
	for (size_t i = 0; i < dissector_count; i++)
		if (strcmp(dissector_registry[i]->name, name) == 0)
			return dissector_registry[i];
	return NULL;
}

const char *value_name_lookup(const struct value_name *table, unsigned v)
{
	for (; table->name; table++)
		if (table->value == v)
			return table->name;
	return NULL;
}
