#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "portolan/types.h"

char *ip_addr_format(const struct ip_addr *a, char *buf, size_t n)
{
	if (!inet_ntop(a->version == 6 ? AF_INET6 : AF_INET, a->b, buf, (socklen_t)n))
		snprintf(buf, n, "?");
	return buf;
}

int ip_addr_compare(const struct ip_addr *a, const struct ip_addr *b)
{
	if (a->version != b->version)
		return a->version < b->version ? -1 : 1;
	return memcmp(a->b, b->b, a->version == 6 ? 16 : 4);
}
