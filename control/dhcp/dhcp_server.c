/* The DHCP engine: bytes, where they came from and a clock in; replies
 * with a delivery decision out. Every drop has a counter.
 *
 * Order of checks: the codec's, then op, hlen, the per-MAC rate limit,
 * the message type, the inventory policy; then port 4011, proxy mode or
 * the server-mode handlers.
 */
#include "control/dhcp/dhcp.h"
#include "control/dhcp/dhcp_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_OFFER_HOLD 60
#define DEFAULT_DECLINE_HOLD 600
#define DEFAULT_RATE_BURST 8
#define DEFAULT_RATE_PER_SEC 2
#define DEFAULT_MAX_PENDING 256
#define RATELIMIT_SLOTS 4096

struct dhcp_server *dhcp_server_create(const struct dhcp_config *cfg,
				       struct dhcp_leases *leases)
{
	struct dhcp_server *s;
	int err;

	if (cfg == NULL || leases == NULL) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->cfg = cfg;
	s->leases = leases;
	s->offer_hold = cfg->offer_hold ? cfg->offer_hold : DEFAULT_OFFER_HOLD;
	s->decline_hold = cfg->decline_hold ? cfg->decline_hold : DEFAULT_DECLINE_HOLD;
	s->pend_cap = cfg->max_pending ? cfg->max_pending : DEFAULT_MAX_PENDING;
	err = dhcp_index_init(&s->idx, cfg);
	if (err != 0) {
		free(s);
		errno = -err;
		return NULL;
	}
	s->rl = dhcp_ratelimit_create(RATELIMIT_SLOTS,
				      cfg->rate_burst ? cfg->rate_burst : DEFAULT_RATE_BURST,
				      cfg->rate_per_sec ? cfg->rate_per_sec
							: DEFAULT_RATE_PER_SEC);
	s->pend = calloc(s->pend_cap, sizeof(*s->pend));
	if (s->rl == NULL || s->pend == NULL) {
		dhcp_server_destroy(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void dhcp_server_destroy(struct dhcp_server *s)
{
	if (s == NULL)
		return;
	dhcp_index_free(&s->idx);
	dhcp_ratelimit_destroy(s->rl);
	free(s->pend);
	free(s);
}

void dhcp_server_set_clock(struct dhcp_server *s, uint64_t now_us, int64_t wall_s)
{
	s->mono_base_us = now_us;
	s->wall_base = wall_s;
}

static int64_t wall_now(const struct dhcp_server *s, uint64_t now_us)
{
	if (now_us >= s->mono_base_us)
		return s->wall_base + (int64_t)((now_us - s->mono_base_us) / 1000000u);
	return s->wall_base - (int64_t)((s->mono_base_us - now_us) / 1000000u);
}

const struct dhcp_counters *dhcp_server_counters(const struct dhcp_server *s)
{
	return &s->c;
}

/* ---- held ACKs ---- */

struct dhcp_reply *dhcp_server_pending_slot(struct dhcp_server *s)
{
	if (s->pend_count == s->pend_cap)
		return NULL;
	return &s->pend[(s->pend_head + s->pend_count) % s->pend_cap].r;
}

void dhcp_server_pending_commit(struct dhcp_server *s)
{
	struct dhcp_pending *p = &s->pend[(s->pend_head + s->pend_count) % s->pend_cap];

	p->seq = dhcp_leases_queued_seq(s->leases);
	s->pend_count++;
}

size_t dhcp_server_pending(const struct dhcp_server *s)
{
	return s->pend_count;
}

int dhcp_server_flush(struct dhcp_server *s, int journal_fd)
{
	return dhcp_leases_flush(s->leases, journal_fd);
}

bool dhcp_server_take_durable(struct dhcp_server *s, struct dhcp_reply *out)
{
	struct dhcp_pending *p;

	if (s->pend_count == 0)
		return false;
	p = &s->pend[s->pend_head];
	/* Rows are queued in ACK order, so the ring is in sequence order. */
	if (p->seq > dhcp_leases_durable_seq(s->leases))
		return false;
	memcpy(out, &p->r, offsetof(struct dhcp_reply, buf) + p->r.len);
	s->pend_head = (s->pend_head + 1) % s->pend_cap;
	s->pend_count--;
	return true;
}

/* ---- input ---- */

static bool client_msgtype(uint8_t t)
{
	return t == DHCPDISCOVER || t == DHCPREQUEST || t == DHCPDECLINE ||
	       t == DHCPRELEASE || t == DHCPINFORM;
}

static int server_mode(struct dhcp_ctx *c, struct dhcp_reply *out)
{
	switch (c->req->msgtype) {
	case DHCPDISCOVER:
		return dhcp_dora_discover(c, out);
	case DHCPREQUEST:
		return dhcp_dora_request(c, out);
	case DHCPDECLINE:
		return dhcp_dora_decline(c);
	case DHCPRELEASE:
		return dhcp_dora_release(c);
	default:
		return dhcp_dora_inform(c, out);
	}
}

int dhcp_server_input(struct dhcp_server *s, uint64_t now_us,
		      const struct dhcp_meta *meta, const uint8_t *pkt, size_t len,
		      struct dhcp_reply *out)
{
	struct dhcp_msg *m = &s->req;
	struct dhcp_ctx c;
	enum dhcp_err err;

	s->c.rx++;
	err = dhcp_msg_parse(m, pkt, len);
	if (err != DHCP_OK) {
		s->c.parse[err]++;
		return 0;
	}
	if (m->hdr.op != DHCP_BOOTREQUEST) {
		s->c.not_request++;
		return 0;
	}
	if (m->hdr.hlen == 0) {
		s->c.bad_hlen++;
		return 0;
	}
	if (!dhcp_ratelimit_allow(s->rl, m->hdr.chaddr, m->hdr.hlen, now_us)) {
		s->c.rate_limited++;
		return 0;
	}
	if (m->msgtype == 0) {
		s->c.bootp++;
		return 0;
	}
	if (!client_msgtype(m->msgtype)) {
		s->c.bad_msgtype++;
		return 0;
	}

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.meta = meta;
	c.req = m;
	c.now = wall_now(s, now_us);
	c.host = dhcp_index_host(&s->idx, m->hdr.chaddr, m->hdr.hlen, &c.profile);
	if (c.host == NULL && s->cfg->unknown == DHCP_UNKNOWN_IGNORE) {
		s->c.unknown_host++;
		return 0;
	}
	c.sn = dhcp_subnet_select(&s->idx, meta, m);
	c.server_id = c.sn != NULL && c.sn->server_ip != 0 ? c.sn->server_ip : meta->local_ip;
	if (c.server_id == 0) {
		s->c.no_subnet++;
		return 0;
	}
	if (meta->local_port == DHCP_PXE_PORT)
		return dhcp_proxy_boot_server(&c, out);
	if (s->cfg->mode == DHCP_MODE_PROXY)
		return dhcp_proxy_input(&c, out);
	if (c.sn == NULL) {
		s->c.no_subnet++;
		return 0;
	}
	return server_mode(&c, out);
}
