/* One memory budget from which every cap is derived (portolan/memcap.h). */
#include "portolan/memcap.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

bool memcap_parse(const char *s, uint64_t *bytes)
{
	char *end;
	if (!s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return false;
	unsigned shift = 0;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return false;
	}
	if (*end && end[1] != '\0' && !((end[1] == 'i' || end[1] == 'B') && end[2] == '\0') &&
	    !(end[1] == 'i' && end[2] == 'B' && end[3] == '\0'))
		return false; /* 512M, 512MB, 512Mi, 512MiB */
	if (v > (MEMCAP_MAX >> shift))
		return false;
	*bytes = (uint64_t)v << shift;
	return true;
}

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void memcap_apply(struct pipeline_config *cfg, uint64_t m)
{
	cfg->flow.max_flows = (size_t)clamp(m / 8 * 5 / MEMCAP_FLOW_COST, 64, 1u << 26);
	cfg->stream.nids_streams = (int)clamp(m / MEMCAP_NIDS_STREAM_COST, 16, 1u << 22);
	cfg->stream.max_bytes_total = (size_t)(m / 8);
	cfg->stream.reasm.max_buffered = (size_t)clamp(m / 512, 64u << 10, 64u << 20);
	cfg->defrag.max_bytes = (size_t)clamp(m / 32, 256u << 10, SIZE_MAX);
	cfg->defrag.max_datagrams = (size_t)clamp(m / (128u << 10), 16, 1u << 20);
	cfg->dissect.pending_total_cap = (size_t)clamp(m / 16, 1u << 20, SIZE_MAX);
}
