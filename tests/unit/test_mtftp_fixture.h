/* What the MTFTP engine tests share: the timing, a session's parameters,
 * the group and numbered clients. Header-only on purpose: each test
 * program includes it once. */
#ifndef PXECAST_TEST_MTFTP_FIXTURE_H
#define PXECAST_TEST_MTFTP_FIXTURE_H

#include <arpa/inet.h>
#include <stdbool.h>

#include "mtftp/mtftp.h"

static const struct tftp_timing timing = {
	.retransmit_ms = 1000, .retransmit_max_ms = 4000, .max_retries = 3,
};

static const uint8_t base_oack[] = { 0, 6, 't', 's', 'i', 'z', 'e', 0, '9', 0 };

#define GROUP_IP 0xefff0105u

static struct mtftp_params params(enum mtftp_mode mode, uint16_t blksize, uint16_t window,
				  uint64_t size)
{
	return (struct mtftp_params){
		.mode = mode, .blksize = blksize, .window = window, .size = size,
		.group = { htonl(GROUP_IP), htons(1758) }, .max_clients = 64,
	};
}

static struct net_addr client(unsigned i)
{
	return (struct net_addr){ htonl(0x0a000002 + i), htons((uint16_t)(2000 + i)) };
}

static bool is_group(const struct net_addr *a)
{
	return a->ip == htonl(GROUP_IP) && a->port == htons(1758);
}

#endif
