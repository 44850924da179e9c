/* Common parts of every reply: identification, subnet options, boot
 * fields, and the delivery decision of RFC 2131 section 4.1.
 */
#include "control/dhcp/dhcp.h"
#include "control/dhcp/dhcp_private.h"

#include <arpa/inet.h>
#include <string.h>

#define DEFAULT_LEASE 3600

uint32_t dhcp_lease_time(const struct dhcp_subnet *sn)
{
	return sn != NULL && sn->lease_time != 0 ? sn->lease_time : DEFAULT_LEASE;
}

void dhcp_reply_begin(struct dhcp_ctx *c, uint8_t msgtype)
{
	struct dhcp_build *b = &c->s->b;
	const uint8_t *p;
	size_t n;

	dhcp_build_reply(b, c->req, msgtype);
	dhcp_build_add_addr(b, DHCP_OPT_SERVER_ID, c->server_id, DHCP_OPTF_REQUIRED);
	/* RFC 6842: the client identifier comes back as sent. */
	p = dhcp_msg_opt(c->req, DHCP_OPT_CLIENT_ID, &n);
	if (p != NULL)
		dhcp_build_add(b, DHCP_OPT_CLIENT_ID, p, n, DHCP_OPTF_REQUIRED);
	/* RFC 3046: relay agent information is echoed, last. */
	p = dhcp_msg_opt(c->req, DHCP_OPT_RELAY_AGENT, &n);
	if (p != NULL)
		dhcp_build_add(b, DHCP_OPT_RELAY_AGENT, p, n, DHCP_OPTF_REQUIRED);
}

void dhcp_reply_add_net(struct dhcp_ctx *c, bool lease)
{
	struct dhcp_build *b = &c->s->b;
	const struct dhcp_subnet *sn = c->sn;

	if (sn == NULL)
		return;
	if (lease) {
		uint32_t lt = dhcp_lease_time(sn);
		uint32_t t1 = sn->t1 ? sn->t1 : lt / 2;
		uint32_t t2 = sn->t2 ? sn->t2 : (uint32_t)((uint64_t)lt * 7 / 8);

		dhcp_build_add_u32(b, DHCP_OPT_LEASE_TIME, lt, DHCP_OPTF_REQUIRED);
		dhcp_build_add_u32(b, DHCP_OPT_T1, t1, DHCP_OPTF_REQUIRED);
		dhcp_build_add_u32(b, DHCP_OPT_T2, t2, DHCP_OPTF_REQUIRED);
	}
	dhcp_build_add_addr(b, DHCP_OPT_SUBNET_MASK, sn->netmask, DHCP_OPTF_REQUIRED);
	if (sn->router != 0)
		dhcp_build_add_addr(b, DHCP_OPT_ROUTER, sn->router, DHCP_OPTF_REQUIRED);
	if (sn->ndns > 0) {
		unsigned n = sn->ndns < 4 ? sn->ndns : 4;
		dhcp_build_add(b, DHCP_OPT_DNS, sn->dns, 4 * (size_t)n, 0);
	}
	if (sn->domain != NULL && sn->domain[0] != '\0')
		dhcp_build_add(b, DHCP_OPT_DOMAIN, sn->domain, strlen(sn->domain), 0);
	dhcp_build_add_addr(b, DHCP_OPT_BROADCAST, sn->network | ~sn->netmask, 0);
	if (c->host != NULL && c->host->hostname != NULL && c->host->hostname[0] != '\0')
		dhcp_build_add(b, DHCP_OPT_HOSTNAME, c->host->hostname,
			       strnlen(c->host->hostname, DHCP_HOSTNAME_MAX), 0);
}

enum dhcp_boot_kind dhcp_reply_add_boot(struct dhcp_ctx *c, uint32_t client_ip)
{
	const struct dhcp_boot *layers[3] = {
		c->host != NULL ? &c->host->boot : NULL,
		c->profile != NULL ? &c->profile->boot : NULL,
		&c->s->cfg->boot,
	};
	struct dhcp_boot_choice choice;

	dhcp_pxe_choose(&choice, c->req, layers, 3, c->server_id, client_ip);
	dhcp_pxe_add(&c->s->b, &choice, c->req, c->server_id, &c->s->cfg->mtftp);
	return choice.kind;
}

/* RFC 2131 4.1: relay first; a NAK is broadcast; a configured client is
 * reached at ciaddr; otherwise broadcast when asked, else straight to the
 * link address (the client cannot answer ARP yet). Boot-server requests
 * (4011) come from a configured client and go back where they came from. */
static void reply_dest(struct dhcp_ctx *c, struct dhcp_reply *r)
{
	const struct dhcp_hdr *rq = &c->req->hdr;
	const struct dhcp_hdr *h = &c->s->b.hdr;

	r->port = DHCP_CLIENT_PORT;
	if (c->meta->local_port == DHCP_PXE_PORT && c->meta->src_ip != 0) {
		r->dest = DHCP_DEST_UNICAST;
		r->ip = c->meta->src_ip;
		r->port = c->meta->src_port ? c->meta->src_port : DHCP_CLIENT_PORT;
	} else if (rq->giaddr != 0) {
		r->dest = DHCP_DEST_UNICAST;
		r->ip = rq->giaddr;
		r->port = DHCP_SERVER_PORT;
	} else if (r->msgtype == DHCPNAK) {
		r->dest = DHCP_DEST_BROADCAST;
		r->ip = htonl(0xffffffffu);
	} else if (rq->ciaddr != 0) {
		r->dest = DHCP_DEST_UNICAST;
		r->ip = rq->ciaddr;
	} else if ((rq->flags & DHCP_FLAG_BROADCAST) || h->yiaddr == 0 ||
		   rq->hlen == 0) {
		r->dest = DHCP_DEST_BROADCAST;
		r->ip = htonl(0xffffffffu);
	} else {
		r->dest = DHCP_DEST_LINK;
		r->ip = h->yiaddr;
	}
}

bool dhcp_reply_finish(struct dhcp_ctx *c, struct dhcp_reply *out)
{
	struct dhcp_build *b = &c->s->b;
	const uint8_t *prl;
	size_t prl_len;
	int len;

	/* A NAK through a relay asks the relay to broadcast it. */
	if (b->data[b->opt[0].off] == DHCPNAK && c->req->hdr.giaddr != 0)
		b->hdr.flags |= DHCP_FLAG_BROADCAST;
	prl = dhcp_msg_opt(c->req, DHCP_OPT_PRL, &prl_len);
	len = dhcp_build_encode(b, prl, prl_len, c->req->maxsize, out->buf, sizeof(out->buf));
	if (len <= 0) {
		c->s->c.build_failed++;
		return false;
	}
	out->len = (uint16_t)len;
	out->msgtype = b->data[b->opt[0].off];
	out->src_ip = c->server_id;
	out->src_port = c->meta->local_port ? c->meta->local_port : DHCP_SERVER_PORT;
	out->ifindex = c->meta->ifindex;
	out->hlen = c->req->hdr.hlen;
	memcpy(out->chaddr, c->req->hdr.chaddr, DHCP_CHADDR_LEN);
	reply_dest(c, out);
	return true;
}
