/* bench/nids_alone.c: libnids alone (TCP reassembly only), fed the way portolan feeds it.
 *
 * The file is read with libpcap; the Ethernet header is stripped here and each whole
 * IPv4 datagram is handed to nids_pcap_handler(), libnids having been initialised on a
 * pcap_open_dead(DLT_RAW) handle given as nids_params.pcap_desc. Port scan detection and
 * syslog are off, TCP checksums are not verified, and the TCP callback collects every
 * stream's data and counts the bytes. Usage: nids_alone FILE [N_TCP_STREAMS] */
#include <inttypes.h>
#include <nids.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t streams, data_bytes, closed;

static void no_syslog(int type, int err, struct ip *iph, void *data)
{
	(void)type;
	(void)err;
	(void)iph;
	(void)data;
}

static void on_tcp(struct tcp_stream *s, void **param)
{
	(void)param;
	switch (s->nids_state) {
	case NIDS_JUST_EST:
		streams++;
		s->client.collect = 1;
		s->server.collect = 1;
		break;
	case NIDS_DATA:
		if (s->client.count_new)
			data_bytes += (uint64_t)s->client.count_new;
		if (s->server.count_new)
			data_bytes += (uint64_t)s->server.count_new;
		break;
	default: /* NIDS_CLOSE, NIDS_RESET, NIDS_TIMED_OUT, NIDS_EXITING */
		closed++;
		break;
	}
}

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: nids_alone FILE [N_TCP_STREAMS]\n");
		return 2;
	}
	pcap_t *in = pcap_open_offline(argv[1], errbuf);
	if (!in) {
		fprintf(stderr, "nids_alone: %s\n", errbuf);
		return 1;
	}
	if (pcap_datalink(in) != DLT_EN10MB) {
		fprintf(stderr, "nids_alone: only Ethernet captures\n");
		return 1;
	}
	pcap_t *raw = pcap_open_dead(DLT_RAW, 262144);
	nids_params.pcap_desc = raw;
	nids_params.filename = NULL;
	nids_params.device = NULL;
	nids_params.scan_num_hosts = 0;
	nids_params.syslog = no_syslog;
	nids_params.n_tcp_streams = argc == 3 ? atoi(argv[2]) : 1 << 16;
	nids_params.n_hosts = 256;
	nids_params.multiproc = 0;
	if (!nids_init()) {
		fprintf(stderr, "nids_alone: nids_init: %s\n", nids_errbuf);
		return 1;
	}
	static struct nids_chksum_ctl all = {0, 0, NIDS_DONT_CHKSUM, 0};
	nids_register_chksum_ctl(&all, 1);
	nids_register_tcp((void *)on_tcp);

	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t packets = 0, fed = 0;
	int rc;
	while ((rc = pcap_next_ex(in, &h, &data)) == 1) {
		packets++;
		if (h->caplen < 14 + 20 || data[12] != 0x08 || data[13] != 0x00)
			continue; /* IPv4 only (no VLAN: the bench files have none) */
		struct pcap_pkthdr rh = *h;
		rh.caplen -= 14;
		rh.len -= 14;
		nids_pcap_handler(NULL, &rh, (u_char *)data + 14);
		fed++;
	}
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "nids_alone: %s\n", pcap_geterr(in));
		return 1;
	}
	printf("nids_alone: %" PRIu64 " packets, %" PRIu64 " fed, %" PRIu64 " streams, %" PRIu64
	       " ended, %" PRIu64 " bytes reassembled\n",
	       packets, fed, streams, closed, data_bytes);
	nids_exit();
	pcap_close(in);
	pcap_close(raw);
	return 0;
}
