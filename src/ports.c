/* The built-in port table (see portolan/ports.h).  Names follow IANA's
 * service registry where it has one, shortened where the registry's name is
 * obscure (445 is "smb", not "microsoft-ds"). */
#include "portolan/ports.h"
#include "portolan/types.h"

#define T TRANSPORT_BIT_TCP
#define U TRANSPORT_BIT_UDP

static const struct port_entry ports[] = {
    {20, T, "ftp-data", "ftp-data", "FTP data (active mode)"},
    {21, T, "ftp", "ftp", "File Transfer Protocol control"},
    {22, T, "ssh", "ssh", "Secure Shell (SFTP and SCP run inside it)"},
    {23, T, "telnet", "telnet", "Telnet remote terminal"},
    {25, T, "smtp", "smtp", "Simple Mail Transfer Protocol"},
    {49, T | U, "tacacs", "tacacs", "TACACS+ authentication"},
    {53, T | U, "dns", "dns", "Domain Name System"},
    {67, U, "dhcp", "dhcp", "DHCP/BOOTP server"},
    {68, U, "dhcp", "dhcp", "DHCP/BOOTP client"},
    {69, U, "tftp", "tftp", "Trivial File Transfer Protocol"},
    {80, T, "http", "http", "Hypertext Transfer Protocol"},
    {88, T | U, "kerberos", "kerberos", "Kerberos authentication"},
    {110, T, "pop3", "pop3", "Post Office Protocol v3"},
    {111, T | U, "sunrpc", "sunrpc", "ONC RPC portmapper"},
    {119, T, "nntp", "nntp", "Network News Transfer Protocol"},
    {123, U, "ntp", "ntp", "Network Time Protocol"},
    {135, T | U, "msrpc", "msrpc", "Microsoft RPC endpoint mapper"},
    {137, U, "netbios-ns", "netbios-ns", "NetBIOS Name Service"},
    {138, U, "netbios-dgm", "netbios-dgm", "NetBIOS Datagram Service"},
    {139, T, "netbios-ssn", "netbios-ssn", "NetBIOS Session Service"},
    {143, T, "imap", "imap", "Internet Message Access Protocol"},
    {161, U, "snmp", "snmp", "Simple Network Management Protocol"},
    {162, U, "snmp-trap", "snmp", "SNMP traps"},
    {179, T, "bgp", "bgp", "Border Gateway Protocol"},
    {389, T | U, "ldap", "ldap", "Lightweight Directory Access Protocol (CLDAP on UDP)"},
    {443, T, "https", "tls", "HTTP over TLS"},
    {443, U, "https", "quic", "HTTP/3 over QUIC"},
    {445, T, "smb", "smb", "SMB directly over TCP"},
    {464, T | U, "kpasswd", "kerberos", "Kerberos password change"},
    {465, T, "smtps", "tls", "SMTP over implicit TLS (submissions)"},
    {500, U, "isakmp", "isakmp", "IPsec key exchange (IKE)"},
    {514, U, "syslog", "syslog", "syslog"},
    {515, T, "printer", "printer", "Line printer daemon"},
    {520, U, "rip", "rip", "Routing Information Protocol"},
    {546, U, "dhcpv6-client", "dhcpv6", "DHCPv6 client"},
    {547, U, "dhcpv6-server", "dhcpv6", "DHCPv6 server"},
    {554, T, "rtsp", "rtsp", "Real Time Streaming Protocol"},
    {587, T, "submission", "smtp", "SMTP message submission"},
    {631, T, "ipp", "ipp", "Internet Printing Protocol"},
    {636, T, "ldaps", "tls", "LDAP over implicit TLS"},
    {853, T, "domain-s", "tls", "DNS over TLS"},
    {873, T, "rsync", "rsync", "rsync"},
    {989, T, "ftps-data", "tls", "FTP data over implicit TLS"},
    {990, T, "ftps", "tls", "FTP control over implicit TLS"},
    {993, T, "imaps", "tls", "IMAP over implicit TLS"},
    {995, T, "pop3s", "tls", "POP3 over implicit TLS"},
    {1080, T, "socks", "socks", "SOCKS proxy"},
    {1194, T | U, "openvpn", "openvpn", "OpenVPN"},
    {1433, T, "mssql", "tds", "Microsoft SQL Server (TDS)"},
    {1434, U, "mssql-m", "mssql-m", "Microsoft SQL Server browser"},
    {1521, T, "oracle", "oracle", "Oracle database listener"},
    {1701, U, "l2tp", "l2tp", "Layer 2 Tunneling Protocol"},
    {1723, T, "pptp", "pptp", "Point-to-Point Tunneling Protocol"},
    {1812, U, "radius", "radius", "RADIUS authentication"},
    {1813, U, "radius-acct", "radius-acct", "RADIUS accounting"},
    {1900, U, "ssdp", "ssdp", "Simple Service Discovery Protocol"},
    {2049, T | U, "nfs", "nfs", "Network File System"},
    {3128, T, "http-proxy", "http", "HTTP proxy (Squid)"},
    {3268, T, "ldap-gc", "ldap", "LDAP global catalog"},
    {3306, T, "mysql", "mysql", "MySQL"},
    {3389, T | U, "rdp", "rdp", "Remote Desktop Protocol (UDP: its transport extension)"},
    {3478, T | U, "stun", "stun", "Session Traversal Utilities for NAT"},
    {4500, U, "ipsec-nat-t", "ipsec-nat-t", "IPsec NAT traversal"},
    {5060, T | U, "sip", "sip", "Session Initiation Protocol"},
    {5061, T, "sips", "tls", "SIP over TLS"},
    {5353, U, "mdns", "mdns", "Multicast DNS"},
    {5355, U, "llmnr", "llmnr", "Link-Local Multicast Name Resolution"},
    {5432, T, "postgresql", "postgresql", "PostgreSQL"},
    {5900, T, "vnc", "vnc", "Virtual Network Computing"},
    {6379, T, "redis", "redis", "Redis"},
    {8080, T, "http-alt", "http", "HTTP alternate"},
    {8443, T, "https-alt", "tls", "HTTPS alternate"},
    {11211, T | U, "memcached", "memcached", "memcached"},
};

#undef T
#undef U

const char *port_class(uint16_t port)
{
	if (port <= 1023)
		return "well-known";
	if (port <= 49151)
		return "registered";
	return "dynamic";
}

const struct port_entry *port_lookup(uint8_t transport, uint16_t port)
{
	unsigned bit = transport == TRANSPORT_TCP   ? TRANSPORT_BIT_TCP
	               : transport == TRANSPORT_UDP ? TRANSPORT_BIT_UDP
	                                            : 0;
	size_t lo = 0, hi = sizeof ports / sizeof ports[0];

	while (lo < hi) { /* the table is sorted by port */
		size_t mid = lo + (hi - lo) / 2;
		if (ports[mid].port < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* a port may have one entry per transport */
	for (; lo < sizeof ports / sizeof ports[0] && ports[lo].port == port; lo++)
		if (ports[lo].transports & bit)
			return &ports[lo];
	return NULL;
}

const char *port_service(uint8_t transport, uint16_t port)
{
	const struct port_entry *e = port_lookup(transport, port);
	return e ? e->service : NULL;
}

const struct port_entry *port_table(size_t *count)
{
	*count = sizeof ports / sizeof ports[0];
	return ports;
}
