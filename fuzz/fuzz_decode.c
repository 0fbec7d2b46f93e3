/* libFuzzer harness: the link, IP and transport decoder.  The first byte
 * picks the link type; the rest is one captured frame, decoded with a
 * snaplen cut after the first byte's chosen length too. */
#include <stdint.h>
#include <stdlib.h>

#include "portolan/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int links[] = {
	    LINK_NULL, LINK_ETHERNET,  LINK_PPP,  LINK_RAW,  LINK_RAW_DLT12,  LINK_RAW_DLT14,
	    LINK_LOOP, LINK_LINUX_SLL, LINK_IPV4, LINK_IPV6, LINK_LINUX_SLL2, LINK_PPP_ETHER};
	if (size < 1)
		return 0;
	int link = links[data[0] % (sizeof links / sizeof links[0])];
	struct packet p;
	/* wirelen larger than caplen when the top bit says so: a snaplen cut */
	uint32_t caplen = (uint32_t)(size - 1);
	uint32_t wirelen = (data[0] & 0x80) ? caplen + 100 : caplen;
	enum decode_status st = decode_packet(link, data + 1, caplen, wirelen, 0, &p);
	if (st == DECODE_FRAGMENT && p.frag_data && p.frag_len) {
		volatile uint8_t last = p.frag_data[p.frag_len - 1]; /* within the buffer */
		(void)last;
	}
	if (st == DECODE_OK && p.payload_len) {
		volatile uint8_t last = p.payload[p.payload_len - 1];
		(void)last;
	}
	return 0;
}
