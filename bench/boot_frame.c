/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Ethernet II + IPv4 + UDP, for DHCP before a client owns an address. */
#include "boot_bench.h"

#include <string.h>

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		sum += rd16(p);
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t frame_build_udp(uint8_t *f, size_t cap, const uint8_t src_mac[6],
		       const uint8_t dst_mac[6], uint32_t src_ip, uint32_t dst_ip,
		       uint16_t sport, uint16_t dport, const uint8_t *payload,
		       size_t len)
{
	uint8_t *ip = f + 14, *udp = ip + 20;
	size_t total = FRAME_HDR_LEN + len;
	uint32_t sum;
	uint16_t c;

	if (total > cap || total > FRAME_MAX)
		return 0;
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, src_mac, 6);
	wr16(f + 12, 0x0800);
	ip[0] = 0x45;
	ip[1] = 0x10;                       /* low delay, as DHCP clients set */
	wr16(ip + 2, (uint16_t)(20 + 8 + len));
	wr16(ip + 4, 0);
	wr16(ip + 6, 0);
	ip[8] = 64;
	ip[9] = 17;
	wr16(ip + 10, 0);
	memcpy(ip + 12, &src_ip, 4);
	memcpy(ip + 16, &dst_ip, 4);
	wr16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	wr16(udp, sport);
	wr16(udp + 2, dport);
	wr16(udp + 4, (uint16_t)(8 + len));
	wr16(udp + 6, 0);
	memcpy(udp + 8, payload, len);
	/* pseudo header: addresses, protocol, UDP length */
	sum = csum_add(0, ip + 12, 8);
	sum += 17 + (uint32_t)(8 + len);
	c = csum_fold(csum_add(sum, udp, 8 + len));
	wr16(udp + 6, c == 0 ? 0xffff : c);
	return total;
}

int frame_parse_udp(const uint8_t *f, size_t n, struct frame_udp *out)
{
	const uint8_t *ip, *udp;
	size_t ihl, tot, ulen;

	if (n < 14 + 20 || rd16(f + 12) != 0x0800)
		return -1;
	ip = f + 14;
	if ((ip[0] >> 4) != 4)
		return -1;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = rd16(ip + 2);
	if (ihl < 20 || tot < ihl + 8 || tot > n - 14 || ip[9] != 17)
		return -1;
	if ((rd16(ip + 6) & 0x3fff) != 0)   /* a fragment (MF or offset) */
		return -1;
	udp = ip + ihl;
	ulen = rd16(udp + 4);
	if (ulen < 8 || ulen > tot - ihl)
		return -1;
	memcpy(out->dst_mac, f, 6);
	memcpy(out->src_mac, f + 6, 6);
	memcpy(&out->src_ip, ip + 12, 4);
	memcpy(&out->dst_ip, ip + 16, 4);
	out->sport = rd16(udp);
	out->dport = rd16(udp + 2);
	out->payload = udp + 8;
	out->len = ulen - 8;
	return 0;
}
