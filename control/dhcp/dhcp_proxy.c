/* proxyDHCP (PXE 2.1): another server owns the addresses. On port 67 we
 * answer a PXE client's DISCOVER with boot information and no address;
 * on port 4011 we answer its boot-server request (REQUEST or INFORM from
 * its new address) with the boot file. Neither touches the lease table.
 */
#include "control/dhcp/dhcp.h"
#include "control/dhcp/dhcp_private.h"

int dhcp_proxy_input(struct dhcp_ctx *c, struct dhcp_reply *out)
{
	struct dhcp_server *s = c->s;

	if (c->req->msgtype != DHCPDISCOVER) {
		/* REQUESTs on 67 are for the server that owns the address. */
		s->c.proxy_ignored++;
		return 0;
	}
	dhcp_reply_begin(c, DHCPOFFER);
	if (dhcp_reply_add_boot(c, 0) == DHCP_BOOT_NONE) {
		s->c.not_boot_client++;
		return 0;
	}
	if (!dhcp_reply_finish(c, out))
		return 0;
	s->c.proxy_offers++;
	return 1;
}

int dhcp_proxy_boot_server(struct dhcp_ctx *c, struct dhcp_reply *out)
{
	struct dhcp_server *s = c->s;
	uint8_t t = c->req->msgtype;

	if (t != DHCPREQUEST && t != DHCPINFORM) {
		s->c.proxy_ignored++;
		return 0;
	}
	dhcp_reply_begin(c, DHCPACK);
	s->b.hdr.ciaddr = c->req->hdr.ciaddr;
	if (dhcp_reply_add_boot(c, c->req->hdr.ciaddr) == DHCP_BOOT_NONE) {
		s->c.not_boot_client++;
		return 0;
	}
	if (!dhcp_reply_finish(c, out))
		return 0;
	s->c.boot_acks++;
	return 1;
}
