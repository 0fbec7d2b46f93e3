/* Link, network and transport decoding into one parsed-packet struct.
 *
 * decode_packet() starts at the link layer; decode_ip() starts at an IP
 * header (used again on datagrams that defragmentation rebuilt).  Nothing is
 * copied: the pointers in struct packet point into the caller's buffer, and
 * every read goes through struct reader.
 */
#ifndef PORTOLAN_DECODE_H
#define PORTOLAN_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portolan/types.h"

/* libpcap link types we decode (values from pcap/dlt.h, the LINKTYPE_ ones
 * where they differ). */
enum {
	LINK_NULL = 0,
	LINK_ETHERNET = 1,
	LINK_PPP = 9,
	LINK_RAW = 101, /* LINKTYPE_RAW; DLT_RAW is 12 or 14 on some BSDs */
	LINK_RAW_DLT12 = 12,
	LINK_RAW_DLT14 = 14,
	LINK_LOOP = 108,
	LINK_LINUX_SLL = 113,
	LINK_IPV4 = 228,
	LINK_IPV6 = 229,
	LINK_LINUX_SLL2 = 276,
	LINK_PPP_ETHER = 51, /* PPPoE without Ethernet: rarely seen */
};

enum decode_status {
	DECODE_OK = 0,      /* an IP packet with its transport decoded */
	DECODE_FRAGMENT,    /* an IP fragment: see frag_* fields */
	DECODE_NOT_IP,      /* ARP, LLDP, STP...: counted, nothing to do */
	DECODE_UNSUPPORTED, /* IP, but a transport we do not track (ESP, GRE...) */
	DECODE_MALFORMED,   /* a header that lies (bad lengths, bad version) */
};

/* Why a packet could not be decoded fully; counted by name in the stats. */
enum decode_error {
	DERR_NONE = 0,
	DERR_LINK_TRUNCATED,
	DERR_UNKNOWN_LINKTYPE,
	DERR_IP_TRUNCATED,
	DERR_IP_BAD_VERSION,
	DERR_IP_BAD_HEADER_LENGTH,
	DERR_IP_BAD_TOTAL_LENGTH,
	DERR_IPV6_BAD_EXTENSION,
	DERR_TCP_TRUNCATED,
	DERR_TCP_BAD_HEADER_LENGTH,
	DERR_UDP_TRUNCATED,
	DERR_UDP_BAD_LENGTH,
	DERR_TOO_MANY_ENCAPSULATIONS,
	DERR_IPV6_TOO_MANY_EXTENSIONS,
	DERR_ICMP_TRUNCATED,
	DERR_COUNT
};
const char *decode_error_name(enum decode_error e);

#define PACKET_MAX_VLANS 4

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

struct packet {
	usec_t ts;
	uint32_t caplen;  /* bytes captured */
	uint32_t wirelen; /* bytes on the wire */
	int linktype;

	/* link layer */
	bool has_mac;
	uint8_t src_mac[6], dst_mac[6];
	uint8_t n_vlans;
	uint16_t vlans[PACKET_MAX_VLANS]; /* outermost first, 12-bit ids */
	uint8_t n_mpls;                   /* labels walked */

	/* network layer */
	uint8_t ip_version; /* 4 or 6; 0 when not IP */
	struct ip_addr src, dst;
	uint8_t ttl;      /* or hop limit */
	uint8_t ip_proto; /* the transport after IPv6 extension headers */
	/* The whole IP datagram as its header sizes it (IPv4 total length,
	 * IPv6 40 + payload length), clamped to what was captured.  Never the
	 * link frame's length: Ethernet padding and FCS are not included. */
	const uint8_t *ip_start;
	size_t ip_len;
	size_t ip_header_len; /* IPv4 header, or IPv6 header + extensions */
	/* The datagram is shorter than its IP header says: cut by the snaplen,
	 * or (error DERR_IP_BAD_TOTAL_LENGTH) by whatever wrote the capture. */
	bool snap_truncated;

	/* fragment (status DECODE_FRAGMENT) */
	uint32_t frag_id;         /* IPv4 id (16 bits) or IPv6 identification */
	uint32_t frag_offset;     /* in bytes */
	bool frag_more;           /* MF flag / M flag */
	uint8_t frag_next_header; /* IPv6: next header after the fragment header; IPv4: protocol */
	/* IPv6: bytes of header and extensions before the fragment header;
	 * IPv4: the header length. */
	size_t frag_unfrag_len;
	/* IPv6: offset from ip_start of the next-header byte that names the
	 * fragment header: 6, or the first byte of the last extension before it. */
	size_t frag_nh_offset;
	const uint8_t *frag_data; /* fragment payload */
	size_t frag_len;

	/* transport */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint32_t seq, ack;
	uint16_t window;
	uint16_t urg_ptr;
	uint8_t tcp_wscale; /* window scale option in a SYN, 0xff if absent */
	/* ICMP (over IPv4) and ICMPv6 (over IPv6): type and code; for the
	 * query/reply types (echo, timestamp...) sport = dport = the
	 * identifier and icmp_seq the sequence number, so the flow table keys
	 * them by address pair and identifier.  payload is what follows the
	 * 8-byte header: the echo data, or an error's quoted datagram. */
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_seq;
	bool icmp_query;         /* a query/reply type: sport/dport hold the id */
	const uint8_t *payload;  /* transport payload as captured */
	size_t payload_len;      /* captured payload bytes */
	size_t payload_wire_len; /* payload bytes per the headers (>= payload_len) */

	/* Why decoding stopped.  Also set, with DECODE_OK, for anomalies we
	 * tolerate: DERR_UDP_BAD_LENGTH (the payload then follows the IP
	 * length) and DERR_IP_BAD_TOTAL_LENGTH (an IP length past the end of a
	 * frame the snaplen did not cut: decoded like a snaplen cut). */
	enum decode_error error;
};

/* Decodes from the link layer.  Fills *p (which it zeroes first, keeping ts,
 * caplen and wirelen as given). */
enum decode_status decode_packet(int linktype, const uint8_t *data, uint32_t caplen,
                                 uint32_t wirelen, usec_t ts, struct packet *p);

/* Decodes from an IP header with len captured bytes; the link fields of *p
 * are kept, the rest is reset.  p->wirelen and p->caplen tell whether the
 * snaplen cut the packet (then snap_truncated is set and the datagram is
 * decoded as far as it goes). */
enum decode_status decode_ip(const uint8_t *data, size_t len, struct packet *p);

/* True when this link type can be decoded. */
bool decode_linktype_supported(int linktype);

/* IPv6 extension headers the decoder walks (also in the headers ICMPv6
 * errors quote), and the length of one from its length byte. */
bool ipv6_is_extension(uint8_t nh);
size_t ipv6_extension_length(uint8_t nh, uint8_t len_field);

/* The Internet checksum (RFC 1071) over data, folded, not inverted; start
 * is a partial sum to continue from. */
uint32_t inet_checksum_add(uint32_t sum, const uint8_t *data, size_t len);
uint16_t inet_checksum_finish(uint32_t sum);

#endif
