/* One DNS message, parsed into a bounded struct.
 *
 * The parser knows nothing of sessions or transports: it is given the bytes
 * of exactly one message (a UDP datagram's payload, or one length-prefixed
 * message of DNS over TCP) and fills struct dns_message or says why not.
 * Names and record data are kept as text built from the raw label bytes;
 * nothing is escaped here (the emitter does that at output), so a label
 * holding '.', NUL or any other byte is stored as it came.  mDNS (RFC 6762)
 * and LLMNR (RFC 4795) share the wire format and this parser.
 */
#ifndef PORTOLAN_DNS_MESSAGE_H
#define PORTOLAN_DNS_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portolan/dissector.h"
#include "portolan/reader.h"

#define DNS_PORT 53
#define MDNS_PORT 5353
#define LLMNR_PORT 5355

#define DNS_HEADER_LEN 12
/* RFC 1035 3.1: a name is at most 255 octets on the wire, which is at most
 * 253 characters as text; the buffer keeps a NUL after the text. */
#define DNS_NAME_WIRE_MAX 255
#define DNS_NAME_TEXT_MAX 256
/* Compression pointers followed for one name: each must point before the
 * previous one, and there is a hop limit on top as a second guard. */
#define DNS_MAX_POINTER_HOPS 32
/* Record data as text: SOA is the longest fixed form (two names and five
 * numbers, 562 characters); longer TXT data is cut at this length. */
#define DNS_RDATA_TEXT_MAX 600
/* Questions and answers kept per message; the rest are counted. */
#define DNS_MAX_QUESTIONS 8
#define DNS_MAX_ANSWERS 32

/* Header flag bits (the second 16-bit word).  LLMNR reuses AA as C
 * (conflict) and RD as T (tentative). */
#define DNS_FLAG_QR 0x8000u
#define DNS_FLAG_AA 0x0400u
#define DNS_FLAG_TC 0x0200u
#define DNS_FLAG_RD 0x0100u
#define DNS_FLAG_RA 0x0080u
#define DNS_FLAG_Z 0x0040u
#define DNS_FLAG_AD 0x0020u
#define DNS_FLAG_CD 0x0010u

#define DNS_TYPE_OPT 41

struct dns_header {
	uint16_t id;
	uint16_t flags; /* QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode */
	uint16_t qdcount, ancount, nscount, arcount;
};

static inline bool dns_is_response(const struct dns_header *h)
{
	return h->flags & DNS_FLAG_QR;
}

static inline unsigned dns_opcode(const struct dns_header *h)
{
	return (h->flags >> 11) & 0xf;
}

static inline unsigned dns_header_rcode(const struct dns_header *h)
{
	return h->flags & 0xf;
}

/* A name as text: labels joined by '.', the root as ".".  len excludes the
 * NUL kept after it; the text may itself contain NUL bytes. */
struct dns_name {
	uint16_t len;
	char text[DNS_NAME_TEXT_MAX];
};

struct dns_question {
	struct dns_name name;
	uint16_t qtype;
	uint16_t qclass; /* raw: mDNS puts its unicast-response bit on top */
};

/* One answer-section record: rdata rendered as text, e.g. "93.184.216.34",
 * "10 mail.example.com", or the type's name ("RRSIG", "TYPE65280") for
 * types shown without data. */
struct dns_answer {
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint16_t text_len;
	char text[DNS_RDATA_TEXT_MAX];
};

struct dns_message {
	struct dns_header header;
	/* The full response code: the header's 4 bits, widened by an EDNS OPT
	 * record's extended rcode when there is one (RFC 6891 6.1.3). */
	unsigned rcode;
	unsigned n_questions, questions_dropped;
	unsigned n_answers, answers_dropped;
	struct dns_question questions[DNS_MAX_QUESTIONS];
	struct dns_answer answers[DNS_MAX_ANSWERS];
};

/* Why a message was refused; DNS_OK (0) when it was not. */
enum dns_parse_result {
	DNS_OK = 0,
	DNS_ERR_SHORT = -1,         /* the message ends inside a field or record */
	DNS_ERR_POINTER = -2,       /* a compression pointer that does not point back */
	DNS_ERR_POINTER_HOPS = -3,  /* more than DNS_MAX_POINTER_HOPS pointers */
	DNS_ERR_LABEL_TYPE = -4,    /* a label length byte of 0x40..0xbf */
	DNS_ERR_NAME_TOO_LONG = -5, /* a name of more than 255 wire octets */
	DNS_ERR_RDATA = -6,         /* record data that disagrees with its length */
};

/* Parses one whole message.  Every question, answer, authority and
 * additional record must be well formed and fit; on failure the result is a
 * negative enum dns_parse_result and *out must not be used. */
int dns_parse_message(struct reader r, struct dns_message *out);
const char *dns_parse_result_name(int result);
/* Reads one name at msg's position (msg is a reader over the whole message,
 * so compression pointers are message offsets) into out, following
 * pointers only backwards, and moves msg past it.  Returns DNS_OK or a
 * negative enum dns_parse_result.  NetBIOS Name Service walks its own
 * records with it. */
int dns_read_name(struct reader *msg, struct dns_name *out);

/* A cheap check of the header of a message that may be incomplete:
 * NEED_MORE when the bytes so far could be the start of a message (shorter
 * than a header, or than its counts promise), NO when the header cannot be
 * DNS (opcode, Z bit, rcode in a query, question count, counts that no
 * message of 64 KiB could hold).  Names are left to dns_parse_message. */
enum verdict dns_probe_message(struct reader r);

/* Names for codes, or NULL when unknown. */
const char *dns_type_name(unsigned type);
const char *dns_class_name(unsigned qclass);
const char *dns_rcode_name(unsigned rcode);
const char *dns_opcode_name(unsigned opcode);
/* The name, or "TYPE<n>" / "CLASS<n>" / "RCODE<n>" / "OPCODE<n>" written
 * into buf (RFC 3597's form for unknown codes).  Returns the text. */
const char *dns_type_text(unsigned type, char *buf, size_t n);
const char *dns_class_text(unsigned qclass, char *buf, size_t n);
const char *dns_rcode_text(unsigned rcode, char *buf, size_t n);
const char *dns_opcode_text(unsigned opcode, char *buf, size_t n);

/* From dissectors/dns.c: the protocol a DNS flow serves, "dns", "mdns"
 * (port 5353) or "llmnr" (port 5355), decided from the session's ports on
 * its first datagram; state is the dissector's per-flow state. */
const char *dns_protocol_name(const void *state);

#endif
