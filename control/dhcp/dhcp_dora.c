/* Server mode, RFC 2131 section 4.3: DISCOVER, REQUEST (selecting,
 * init-reboot, renewing, rebinding), DECLINE, RELEASE, INFORM.
 *
 * An ACK is built into the held-ACK ring and its lease row queued for
 * the journal; it leaves only through dhcp_server_take_durable once that
 * row is on disk. OFFER, NAK and INFORM answers change nothing on disk
 * and go out at once.
 */
#include "control/dhcp/dhcp.h"
#include "control/dhcp/dhcp_private.h"
#include "appliance/log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define POOL_FULL_LOG_EVERY 10 /* seconds between pool-full lines per subnet */

static void text_ip(char *buf, size_t cap, uint32_t ip)
{
	const uint8_t *b = (const uint8_t *)&ip;

	snprintf(buf, cap, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

static void text_mac(char *buf, size_t cap, const struct dhcp_hdr *h)
{
	size_t o = 0;

	buf[0] = '\0';
	for (uint8_t i = 0; i < h->hlen && o + 3 < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, i ? ":%02x" : "%02x", h->chaddr[i]);
}

/* The name to record: the inventory's, else the client's own, sanitised. */
static void lease_hostname(const struct dhcp_ctx *c, char *out, size_t cap)
{
	size_t n;
	const uint8_t *p;

	if (c->host != NULL && c->host->hostname != NULL) {
		dhcp_hostname_sanitize(out, cap, (const uint8_t *)c->host->hostname,
				       strlen(c->host->hostname));
		return;
	}
	p = dhcp_msg_opt(c->req, DHCP_OPT_HOSTNAME, &n);
	dhcp_hostname_sanitize(out, cap, p != NULL ? p : (const uint8_t *)"", n);
}

static void log_pool_full(struct dhcp_ctx *c)
{
	struct dhcp_index *x = &c->s->idx;
	size_t si = (size_t)(c->sn - x->cfg->subnets);
	char net[16], mac[3 * DHCP_CHADDR_LEN];

	if (x->full_logged[si] != 0 && c->now - x->full_logged[si] < POOL_FULL_LOG_EVERY)
		return;
	x->full_logged[si] = c->now;
	text_ip(net, sizeof(net), c->sn->network);
	text_mac(mac, sizeof(mac), &c->req->hdr);
	log_event(LOG_WARN, "dhcp.pool_full", "subnet=%s mac=%s exhausted=%llu", net, mac,
		  (unsigned long long)c->s->c.pool_exhausted);
}

int dhcp_dora_discover(struct dhcp_ctx *c, struct dhcp_reply *out)
{
	struct dhcp_server *s = c->s;
	const struct dhcp_hdr *h = &c->req->hdr;
	const struct dhcp_lease *prev;
	uint32_t ip;

	ip = dhcp_pool_choose(&s->idx, s->leases, c->sn, c->host, c->req, c->now);
	if (ip == 0) {
		s->c.pool_exhausted++;
		log_pool_full(c);
		return 0;
	}
	/* Hold the address for this client, unless it is already bound to it. */
	prev = dhcp_leases_by_mac(s->leases, h->chaddr, h->hlen);
	if (!(prev != NULL && prev->ip == ip && prev->state == DHCP_LEASE_BOUND &&
	      dhcp_lease_active(prev, c->now))) {
		if (dhcp_leases_set(s->leases, c->now, h->chaddr, h->hlen, ip, DHCP_LEASE_OFFERED,
				    c->now + s->offer_hold, NULL) != 0) {
			s->c.pool_exhausted++;
			log_pool_full(c);
			return 0;
		}
	}
	dhcp_reply_begin(c, DHCPOFFER);
	s->b.hdr.yiaddr = ip;
	dhcp_reply_add_net(c, true);
	dhcp_reply_add_boot(c, ip);
	if (!dhcp_reply_finish(c, out))
		return 0;
	s->c.offers++;
	return 1;
}

static int nak(struct dhcp_ctx *c, struct dhcp_reply *out, const char *why)
{
	dhcp_reply_begin(c, DHCPNAK);
	dhcp_build_add(&c->s->b, DHCP_OPT_MESSAGE, why, strlen(why), DHCP_OPTF_REQUIRED);
	if (!dhcp_reply_finish(c, out))
		return 0;
	c->s->c.naks++;
	return 1;
}

/* Bind ip and hold the ACK until its row is durable. */
static int ack(struct dhcp_ctx *c, uint32_t ip)
{
	struct dhcp_server *s = c->s;
	const struct dhcp_hdr *h = &c->req->hdr;
	struct dhcp_reply *slot = dhcp_server_pending_slot(s);
	char name[DHCP_HOSTNAME_MAX + 1];

	if (slot == NULL) {
		s->c.pending_full++;
		return 0;
	}
	dhcp_reply_begin(c, DHCPACK);
	s->b.hdr.yiaddr = ip;
	s->b.hdr.ciaddr = h->ciaddr;
	dhcp_reply_add_net(c, true);
	dhcp_reply_add_boot(c, ip);
	if (!dhcp_reply_finish(c, slot))
		return 0;
	lease_hostname(c, name, sizeof(name));
	if (dhcp_leases_set(s->leases, c->now, h->chaddr, h->hlen, ip, DHCP_LEASE_BOUND,
			    c->now + dhcp_lease_time(c->sn), name) != 0) {
		s->c.journal_full++;
		return 0;
	}
	dhcp_server_pending_commit(s);
	s->c.acks++;
	return 0;
}

int dhcp_dora_request(struct dhcp_ctx *c, struct dhcp_reply *out)
{
	struct dhcp_server *s = c->s;
	const struct dhcp_hdr *h = &c->req->hdr;
	uint32_t sid, want;
	bool has_sid = dhcp_msg_opt_addr(c->req, DHCP_OPT_SERVER_ID, &sid);
	bool has_want = dhcp_msg_opt_addr(c->req, DHCP_OPT_REQUESTED_IP, &want);

	if (has_sid) {
		/* SELECTING: the client chose an offer; was it ours? Another
		 * server's: our hold simply runs out. */
		if (sid != c->server_id) {
			s->c.foreign_server++;
			return 0;
		}
		if (!has_want) {
			s->c.bad_request++;
			return 0;
		}
	} else if (!has_want) {
		/* RENEWING (unicast) or REBINDING (broadcast): ciaddr. */
		if (h->ciaddr == 0) {
			s->c.bad_request++;
			return 0;
		}
		want = h->ciaddr;
	}
	/* INIT-REBOOT and the rest: is the address right for this client on
	 * this network? We are authoritative for our subnets: a wrong one is
	 * NAKed, a free one in the pool is (re)granted. */
	if (!dhcp_subnet_contains(c->sn, want))
		return nak(c, out, "wrong network");
	if (!dhcp_pool_may_hold(&s->idx, s->leases, c->sn, c->host, h->chaddr, h->hlen,
				want, c->now)) {
		s->c.outside_pool++;
		return nak(c, out, "address not available");
	}
	if (!has_sid && has_want) {
		/* INIT-REBOOT remembering another address than our records. */
		const struct dhcp_lease *e = dhcp_leases_by_mac(s->leases, h->chaddr, h->hlen);
		if (e != NULL && e->state == DHCP_LEASE_BOUND &&
		    dhcp_lease_active(e, c->now) && e->ip != want)
			return nak(c, out, "not your address");
	}
	return ack(c, want);
}

int dhcp_dora_decline(struct dhcp_ctx *c)
{
	struct dhcp_server *s = c->s;
	const struct dhcp_hdr *h = &c->req->hdr;
	const struct dhcp_lease *e;
	uint32_t sid, ip;
	char ipt[16], mac[3 * DHCP_CHADDR_LEN];

	if (dhcp_msg_opt_addr(c->req, DHCP_OPT_SERVER_ID, &sid) && sid != c->server_id) {
		s->c.foreign_server++;
		return 0;
	}
	if (!dhcp_msg_opt_addr(c->req, DHCP_OPT_REQUESTED_IP, &ip)) {
		s->c.bad_request++;
		return 0;
	}
	e = dhcp_leases_by_mac(s->leases, h->chaddr, h->hlen);
	if (e == NULL || e->ip != ip) {
		s->c.not_leased++;
		return 0;
	}
	/* Someone else answers on that address: rest it, owned by nobody. */
	if (dhcp_leases_set(s->leases, c->now, NULL, 0, ip, DHCP_LEASE_DECLINED,
			    c->now + s->decline_hold, NULL) != 0) {
		s->c.journal_full++;
		return 0;
	}
	s->c.declines++;
	text_ip(ipt, sizeof(ipt), ip);
	text_mac(mac, sizeof(mac), h);
	log_event(LOG_WARN, "dhcp.decline", "ip=%s mac=%s quarantine=%u", ipt, mac,
		  s->decline_hold);
	return 0;
}

int dhcp_dora_release(struct dhcp_ctx *c)
{
	struct dhcp_server *s = c->s;
	const struct dhcp_hdr *h = &c->req->hdr;
	const struct dhcp_lease *e;
	uint32_t sid;

	if (dhcp_msg_opt_addr(c->req, DHCP_OPT_SERVER_ID, &sid) && sid != c->server_id) {
		s->c.foreign_server++;
		return 0;
	}
	e = dhcp_leases_by_mac(s->leases, h->chaddr, h->hlen);
	if (e == NULL || e->ip != h->ciaddr || e->state != DHCP_LEASE_BOUND) {
		s->c.not_leased++;
		return 0;
	}
	/* Keep the pairing (state free) so the machine gets it back. */
	if (dhcp_leases_set(s->leases, c->now, h->chaddr, h->hlen, e->ip, DHCP_LEASE_FREE,
			    c->now, e->hostname) != 0) {
		s->c.journal_full++;
		return 0;
	}
	s->c.releases++;
	return 0;
}

int dhcp_dora_inform(struct dhcp_ctx *c, struct dhcp_reply *out)
{
	struct dhcp_server *s = c->s;

	/* Configuration only: no address, no lease time (RFC 2131 3.4). */
	dhcp_reply_begin(c, DHCPACK);
	s->b.hdr.ciaddr = c->req->hdr.ciaddr;
	dhcp_reply_add_net(c, false);
	dhcp_reply_add_boot(c, c->req->hdr.ciaddr);
	if (!dhcp_reply_finish(c, out))
		return 0;
	s->c.informs++;
	return 1;
}
