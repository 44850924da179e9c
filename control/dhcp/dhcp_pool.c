/* Subnets, reservations and address choice.
 *
 * An address is held by exactly one lease entry, and an offer is an
 * entry too (state OFFERED until offer_hold runs out), so two machines
 * switched on together never get the same offer and no ping check is
 * needed to find out.
 */
#include "control/dhcp/dhcp.h"
#include "control/dhcp/dhcp_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MAX 65536 /* addresses per pool: bounds a full scan */

static int host_cmp(const void *a, const void *b)
{
	const struct dhcp_host *const *x = a, *const *y = b;

	return memcmp((*x)->mac, (*y)->mac, 6);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int subnets_check(const struct dhcp_config *cfg)
{
	for (size_t i = 0; i < cfg->nsubnets; i++) {
		const struct dhcp_subnet *sn = &cfg->subnets[i];
		uint32_t a = ntohl(sn->pool_start), b = ntohl(sn->pool_end);

		if (sn->netmask == 0 || (sn->network & ~sn->netmask) != 0)
			return -EINVAL;
		if (a == 0 && b == 0)
			continue;
		if (a > b || b - a >= POOL_MAX || !dhcp_subnet_contains(sn, sn->pool_start) ||
		    !dhcp_subnet_contains(sn, sn->pool_end))
			return -EINVAL;
	}
	return 0;
}

int dhcp_index_init(struct dhcp_index *x, const struct dhcp_config *cfg)
{
	size_t nh = cfg->nhosts, ns = cfg->nsubnets;

	memset(x, 0, sizeof(*x));
	x->cfg = cfg;
	if (subnets_check(cfg) != 0)
		return -EINVAL;
	x->hosts = calloc(nh + 1, sizeof(*x->hosts));
	x->profiles = calloc(nh + 1, sizeof(*x->profiles));
	x->reserved = calloc(nh + 1, sizeof(*x->reserved));
	x->cursor = calloc(ns + 1, sizeof(*x->cursor));
	x->full_logged = calloc(ns + 1, sizeof(*x->full_logged));
	if (!x->hosts || !x->profiles || !x->reserved || !x->cursor || !x->full_logged) {
		dhcp_index_free(x);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nh; i++) {
		x->hosts[i] = &cfg->hosts[i];
		if (cfg->hosts[i].ip != 0)
			x->reserved[x->nreserved++] = ntohl(cfg->hosts[i].ip);
	}
	qsort(x->hosts, nh, sizeof(*x->hosts), host_cmp);
	qsort(x->reserved, x->nreserved, sizeof(*x->reserved), u32_cmp);
	for (size_t i = 0; i < nh; i++) {
		const char *want = x->hosts[i]->profile;

		if (i > 0 && memcmp(x->hosts[i]->mac, x->hosts[i - 1]->mac, 6) == 0) {
			dhcp_index_free(x);
			return -EEXIST; /* one [host] section per MAC */
		}
		for (size_t k = 0; want != NULL && k < cfg->nprofiles; k++)
			if (strcmp(cfg->profiles[k].name, want) == 0)
				x->profiles[i] = &cfg->profiles[k];
		if (want != NULL && x->profiles[i] == NULL) {
			dhcp_index_free(x);
			return -ENOENT; /* names a profile that does not exist */
		}
	}
	for (size_t i = 0; i < ns; i++)
		x->cursor[i] = ntohl(cfg->subnets[i].pool_start);
	return 0;
}

void dhcp_index_free(struct dhcp_index *x)
{
	free(x->hosts);
	free(x->profiles);
	free(x->reserved);
	free(x->cursor);
	free(x->full_logged);
	memset(x, 0, sizeof(*x));
}

const struct dhcp_host *dhcp_index_host(const struct dhcp_index *x,
					 const uint8_t *mac, uint8_t hlen,
					 const struct dhcp_profile **profile)
{
	struct dhcp_host key;
	const struct dhcp_host *kp = &key, *const *hit;

	*profile = NULL;
	if (hlen != 6 || x->cfg->nhosts == 0)
		return NULL;
	memcpy(key.mac, mac, 6);
	hit = bsearch(&kp, x->hosts, x->cfg->nhosts, sizeof(*x->hosts), host_cmp);
	if (hit == NULL)
		return NULL;
	*profile = x->profiles[hit - x->hosts];
	return *hit;
}

bool dhcp_subnet_contains(const struct dhcp_subnet *sn, uint32_t ip)
{
	return ip != 0 && (ip & sn->netmask) == sn->network;
}

bool dhcp_pool_contains(const struct dhcp_subnet *sn, uint32_t ip)
{
	uint32_t h = ntohl(ip);

	return sn->pool_start != 0 && h >= ntohl(sn->pool_start) && h <= ntohl(sn->pool_end);
}

const struct dhcp_subnet *dhcp_subnet_select(const struct dhcp_index *x,
					     const struct dhcp_meta *meta,
					     const struct dhcp_msg *req)
{
	const struct dhcp_config *cfg = x->cfg;

	if (req->hdr.giaddr != 0) {
		for (size_t i = 0; i < cfg->nsubnets; i++)
			if (dhcp_subnet_contains(&cfg->subnets[i], req->hdr.giaddr))
				return &cfg->subnets[i];
		return NULL;
	}
	for (size_t i = 0; i < cfg->nsubnets; i++)
		if (cfg->subnets[i].ifindex != 0 && cfg->subnets[i].ifindex == meta->ifindex)
			return &cfg->subnets[i];
	for (size_t i = 0; i < cfg->nsubnets; i++)
		if (dhcp_subnet_contains(&cfg->subnets[i], meta->local_ip))
			return &cfg->subnets[i];
	for (size_t i = 0; i < cfg->nsubnets; i++)
		if (dhcp_subnet_contains(&cfg->subnets[i], req->hdr.ciaddr))
			return &cfg->subnets[i];
	return NULL;
}

static bool reserved(const struct dhcp_index *x, uint32_t ip)
{
	uint32_t h = ntohl(ip);

	return x->nreserved > 0 &&
	       bsearch(&h, x->reserved, x->nreserved, sizeof(h), u32_cmp) != NULL;
}

static bool owned_by(const struct dhcp_lease *e, const uint8_t *mac, uint8_t hlen)
{
	return e->hlen == hlen && hlen > 0 && memcmp(e->mac, mac, hlen) == 0;
}

bool dhcp_pool_may_hold(const struct dhcp_index *x, const struct dhcp_leases *l,
			const struct dhcp_subnet *sn, const struct dhcp_host *host,
			const uint8_t *mac, uint8_t hlen, uint32_t ip, int64_t now)
{
	const struct dhcp_lease *e;

	if (!dhcp_subnet_contains(sn, ip))
		return false;
	if (host != NULL && host->ip != 0) {
		if (ip != host->ip)
			return false;
	} else if (!dhcp_pool_contains(sn, ip) || reserved(x, ip)) {
		return false;
	}
	e = dhcp_leases_by_ip(l, ip);
	return e == NULL || !dhcp_lease_active(e, now) || owned_by(e, mac, hlen);
}

/* Network and broadcast addresses of the subnet are never handed out. */
static bool edge_address(const struct dhcp_subnet *sn, uint32_t ip)
{
	uint32_t host = ip & ~sn->netmask;

	return sn->netmask != htonl(0xffffffffu) && sn->netmask != htonl(0xfffffffeu) &&
	       (host == 0 || host == ~sn->netmask);
}

uint32_t dhcp_pool_choose(struct dhcp_index *x, const struct dhcp_leases *l,
			  const struct dhcp_subnet *sn, const struct dhcp_host *host,
			  const struct dhcp_msg *req, int64_t now)
{
	const uint8_t *mac = req->hdr.chaddr;
	uint8_t hlen = req->hdr.hlen;
	const struct dhcp_lease *prev;
	uint32_t want, reuse = 0;

	if (host != NULL && host->ip != 0)
		return dhcp_pool_may_hold(x, l, sn, host, mac, hlen, host->ip, now) ? host->ip : 0;
	prev = dhcp_leases_by_mac(l, mac, hlen);
	if (prev != NULL && prev->state != DHCP_LEASE_DECLINED &&
	    dhcp_pool_may_hold(x, l, sn, host, mac, hlen, prev->ip, now))
		return prev->ip;
	if (dhcp_msg_opt_addr(req, DHCP_OPT_REQUESTED_IP, &want) && !edge_address(sn, want) &&
	    dhcp_pool_may_hold(x, l, sn, host, mac, hlen, want, now))
		return want;
	if (sn->pool_start == 0)
		return 0;

	size_t si = (size_t)(sn - x->cfg->subnets);
	uint32_t start = ntohl(sn->pool_start), size = ntohl(sn->pool_end) - start + 1;
	uint32_t cur = x->cursor[si] - start;
	for (uint32_t k = 0; k < size; k++) {
		uint32_t h = start + (cur + k) % size, ip = htonl(h);
		const struct dhcp_lease *e;

		if (edge_address(sn, ip) || reserved(x, ip) || ip == sn->router ||
		    ip == sn->server_ip)
			continue;
		e = dhcp_leases_by_ip(l, ip);
		if (e == NULL) {
			x->cursor[si] = start + (cur + k + 1) % size;
			return ip;
		}
		/* Given back or run out: reuse, but only if nothing is fresh,
		 * so a machine that comes back soon finds its old address. */
		if (reuse == 0 && !dhcp_lease_active(e, now))
			reuse = ip;
	}
	return reuse;
}
