/* A fake DHCP client for the pxe and server tests: builds requests the
 * way PXE ROMs, iPXE and OS clients send them. Header-only on purpose:
 * each test program includes it once. */
#ifndef PXECAST_TEST_DHCP_CLIENT_H
#define PXECAST_TEST_DHCP_CLIENT_H

#include <arpa/inet.h>
#include <string.h>

#include "control/dhcp/dhcp.h"

/* An address in network order, usable in static initialisers. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define IP(a, b, c, d) __builtin_bswap32((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#else
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#endif

struct fake_req {
	uint8_t type;
	uint8_t mac[6];
	uint32_t ciaddr, giaddr, req_ip, server_id;
	uint16_t flags;
	int arch;              /* -1: no option 93 */
	const char *vendor;    /* option 60 */
	const char *user_class;
	const char *hostname;
	const uint8_t *vendor43;
	size_t vendor43_len;
	const uint8_t *relay82;
	size_t relay82_len;
	bool uuid;
	const uint8_t *prl;
	size_t prl_len;
};

static inline size_t fake_build(uint8_t *buf, size_t cap, const struct fake_req *r)
{
	static struct dhcp_build b;
	uint8_t uuid[17] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

	memset(&b, 0, sizeof(b));
	b.hdr.op = DHCP_BOOTREQUEST;
	b.hdr.htype = 1;
	b.hdr.hlen = 6;
	b.hdr.xid = htonl(0x1000u + r->mac[5]);
	b.hdr.flags = r->flags;
	b.hdr.ciaddr = r->ciaddr;
	b.hdr.giaddr = r->giaddr;
	memcpy(b.hdr.chaddr, r->mac, 6);
	dhcp_build_add_u8(&b, DHCP_OPT_MSGTYPE, r->type, 0);
	if (r->req_ip)
		dhcp_build_add_addr(&b, DHCP_OPT_REQUESTED_IP, r->req_ip, 0);
	if (r->server_id)
		dhcp_build_add_addr(&b, DHCP_OPT_SERVER_ID, r->server_id, 0);
	if (r->arch >= 0) {
		uint8_t a[2] = { (uint8_t)(r->arch >> 8), (uint8_t)r->arch };
		dhcp_build_add(&b, DHCP_OPT_CLIENT_ARCH, a, 2, 0);
	}
	if (r->vendor)
		dhcp_build_add(&b, DHCP_OPT_VENDOR_CLASS, r->vendor, strlen(r->vendor), 0);
	if (r->user_class)
		dhcp_build_add(&b, DHCP_OPT_USER_CLASS, r->user_class,
			       strlen(r->user_class), 0);
	if (r->hostname)
		dhcp_build_add(&b, DHCP_OPT_HOSTNAME, r->hostname, strlen(r->hostname), 0);
	if (r->vendor43)
		dhcp_build_add(&b, DHCP_OPT_VENDOR, r->vendor43, r->vendor43_len, 0);
	if (r->relay82)
		dhcp_build_add(&b, DHCP_OPT_RELAY_AGENT, r->relay82, r->relay82_len, 0);
	if (r->uuid)
		dhcp_build_add(&b, DHCP_OPT_UUID, uuid, sizeof(uuid), 0);
	if (r->prl)
		dhcp_build_add(&b, DHCP_OPT_PRL, r->prl, r->prl_len, 0);
	int n = dhcp_build_encode(&b, NULL, 0, 1500, buf, cap);
	return n > 0 ? (size_t)n : 0;
}

static inline void fake_mac(uint8_t *mac, unsigned n)
{
	const uint8_t m[6] = { 0x52, 0x54, 0x00, 0xab, (uint8_t)(n >> 8), (uint8_t)n };
	memcpy(mac, m, 6);
}

#endif
