/* The RFC 2090 multicast option value, "addr,port,mc", both ways. Every
 * read is bounded by len; nothing past it is looked at. */
#include "mtftp/mtftp.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

size_t mtftp_build_oack(uint8_t *out, size_t cap, const uint8_t *base, size_t base_len,
			const struct net_addr *group, bool master)
{
	static const char name[] = "multicast";
	char ip[INET_ADDRSTRLEN], value[40];
	int vl;

	if (base_len < 2 || !inet_ntop(AF_INET, &group->ip, ip, sizeof(ip)))
		return 0;
	vl = snprintf(value, sizeof(value), "%s,%u,%d", ip, ntohs(group->port), master ? 1 : 0);
	if (vl < 0 || base_len + sizeof(name) + (size_t)vl + 1 > cap)
		return 0;
	memcpy(out, base, base_len);
	memcpy(out + base_len, name, sizeof(name));
	memcpy(out + base_len + sizeof(name), value, (size_t)vl + 1);
	return base_len + sizeof(name) + (size_t)vl + 1;
}

/* Strict decimal in [s, e), at most max; -1 when not. */
static long decimal(const char *s, const char *e, long max)
{
	long v = 0;

	if (s == e)
		return -1;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	return v;
}

int mtftp_parse_multicast(const char *value, size_t len, struct net_addr *group, bool *master)
{
	const char *end = memchr(value, '\0', len);
	const char *c1, *c2;
	char ip[INET_ADDRSTRLEN];
	long port, mc;

	if (end)
		len = (size_t)(end - value);
	end = value + len;
	c1 = memchr(value, ',', len);
	if (!c1)
		return -1;
	c2 = memchr(c1 + 1, ',', (size_t)(end - c1 - 1));
	if (!c2)
		return -1;
	group->ip = 0;
	group->port = 0;
	if (c1 > value) {
		if ((size_t)(c1 - value) >= sizeof(ip))
			return -1;
		memcpy(ip, value, (size_t)(c1 - value));
		ip[c1 - value] = '\0';
		if (inet_pton(AF_INET, ip, &group->ip) != 1)
			return -1;
	}
	if (c2 > c1 + 1) {
		port = decimal(c1 + 1, c2, 65535);
		if (port <= 0)
			return -1;
		group->port = htons((uint16_t)port);
	}
	mc = decimal(c2 + 1, end, 1);
	if (mc < 0)
		return -1;
	*master = mc == 1;
	return 0;
}
