/* bench/floor.c: the floor of every program in the benchmark: a bare libpcap read
 * loop (pcap_next_ex) that only counts packets and bytes. */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	if (argc != 2) {
		fprintf(stderr, "usage: floor FILE\n");
		return 2;
	}
	pcap_t *p = pcap_open_offline(argv[1], errbuf);
	if (!p) {
		fprintf(stderr, "floor: %s\n", errbuf);
		return 1;
	}
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t packets = 0, bytes = 0, sum = 0;
	int rc;
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		packets++;
		bytes += h->caplen;
		if (h->caplen)
			sum += data[h->caplen - 1]; /* touch the packet, like any reader would */
	}
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "floor: %s\n", pcap_geterr(p));
		return 1;
	}
	pcap_close(p);
	printf("floor: %" PRIu64 " packets, %" PRIu64 " bytes (%" PRIu64 ")\n", packets, bytes,
	       sum & 1);
	return 0;
}
