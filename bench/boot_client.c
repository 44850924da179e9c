/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One simulated machine: its steps (the ROM's DHCP, TFTP in boot_xfer.c,
 * iPXE's DHCP, HTTP in boot_xfer.c, multicast in boot_mcast.c), its
 * timers and how it ends. DHCP retransmissions follow the firmware:
 * EDK2's DHCP waits 4, 8, 16, 32 s; iPXE's 1, 2, 4, 8, 10, 10 s.
 */
#include "boot_client.h"
#include "bench_util.h"

#include <arpa/inet.h>
#include <string.h>

static const unsigned tmo_rom[] = { 4000, 8000, 16000, 32000 };
static const unsigned tmo_ipxe[] = { 1000, 2000, 4000, 8000, 10000, 10000 };
#define MAX_NAKS 5

struct boot_result *client_result(struct bench *b, struct client *c)
{
	return &b->res[c->idx];
}

void client_set_due(struct bench *b, struct client *c, unsigned ms)
{
	c->due = b->now + (uint64_t)ms * BENCH_NS_PER_MS;
	if (c->due < b->next_due)
		b->next_due = c->due;
}

static enum boot_phase phase_of(const struct client *c)
{
	switch (c->step) {
	case ST_PROBE:
	case ST_TFTP: return PH_TFTP;
	case ST_HTTP: return c->http_phase;
	case ST_MCAST: return PH_MCAST;
	default: return c->ipxe ? PH_IPXE_DHCP : PH_DHCP;
	}
}

void client_fail(struct bench *b, struct client *c, enum boot_reason why)
{
	struct boot_result *r = client_result(b, c);

	if (c->step == ST_DONE || c->step == ST_FAILED)
		return;
	if (c->step == ST_WAIT)
		b->waiting--;
	else
		b->active--;
	r->failed = true;
	r->fail_phase = phase_of(c);
	r->fail_reason = why;
	c->step = ST_FAILED;
	c->due = 0;
	io_close(b, c);
	mcast_free(c);
}

void client_done(struct bench *b, struct client *c)
{
	c->step = ST_DONE;
	c->due = 0;
	b->active--;
	io_close(b, c);
}

/* ---------------------------------------------------------------- DHCP */

static void dhcp_send(struct bench *b, struct client *c)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct dhcp_client_req q = { 0 };
	uint8_t payload[DHCP_REPLY_MAX], frame[FRAME_MAX];
	uint64_t secs = (b->now - c->dhcp_t0) / BENCH_NS_PER_S;
	size_t fl;
	int n;

	q.rom = c->ipxe ? ROM_IPXE : c->rom;
	q.arch = c->rom == ROM_BIOS ? 0 : 7;
	q.msgtype = c->requesting ? DHCPREQUEST : DHCPDISCOVER;
	memcpy(q.mac, c->mac, 6);
	memcpy(q.guid, c->guid, 16);
	q.xid = c->xid;
	q.secs = (uint16_t)(secs > 65535 ? 65535 : secs);
	q.requested_ip = c->offer_ip;
	q.server_id = c->server_id;
	n = dhcp_client_build(&q, payload, sizeof(payload));
	if (n <= 0)
		return;
	fl = frame_build_udp(frame, sizeof(frame), c->mac, bcast, 0, INADDR_BROADCAST,
			     DHCP_CLIENT_PORT, DHCP_SERVER_PORT, payload, (size_t)n);
	if (fl == 0)
		return;
	b->cnt.dhcp_tx++;
	io_send_frame(b, c, frame, fl);
}

static const unsigned *dhcp_tmo(const struct client *c, unsigned *n)
{
	if (c->ipxe) {
		*n = sizeof(tmo_ipxe) / sizeof(tmo_ipxe[0]);
		return tmo_ipxe;
	}
	*n = sizeof(tmo_rom) / sizeof(tmo_rom[0]);
	return tmo_rom;
}

void client_dhcp_begin(struct bench *b, struct client *c, bool ipxe)
{
	unsigned n;

	c->step = ST_DHCP;
	c->ipxe = ipxe;
	c->requesting = false;
	c->tries = 0;
	c->offer_ip = 0;
	c->server_id = 0;
	c->xid = bench_rand(b);
	c->dhcp_t0 = b->now;
	dhcp_send(b, c);
	client_set_due(b, c, dhcp_tmo(c, &n)[0]);
}

static void dhcp_request(struct bench *b, struct client *c)
{
	unsigned n;

	c->requesting = true;
	c->tries = 0;
	dhcp_send(b, c);
	client_set_due(b, c, dhcp_tmo(c, &n)[0]);
}

static void dhcp_timeout(struct bench *b, struct client *c)
{
	unsigned n;
	const unsigned *tmo = dhcp_tmo(c, &n);

	if (!c->requesting && c->offer_ip != 0) {
		dhcp_request(b, c);        /* offers collected: choose */
		return;
	}
	if (++c->tries >= n) {
		client_fail(b, c, R_TIMEOUT);
		return;
	}
	b->cnt.dhcp_retx++;
	dhcp_send(b, c);
	client_set_due(b, c, tmo[c->tries]);
}


static unsigned mask_prefix(uint32_t mask)
{
	uint32_t m = ntohl(mask);
	unsigned p = 0;

	while (p < 32 && (m & (0x80000000u >> p)))
		p++;
	return p ? p : 24;
}

static void dhcp_bound(struct bench *b, struct client *c)
{
	if (c->ip != c->bound_ip) {
		if (c->bound_ip != 0)
			boot_net_addr(&b->net, c->ns, c->ifindex, c->bound_ip, c->prefix,
				      false);
		if (boot_net_addr(&b->net, c->ns, c->ifindex, c->ip, c->prefix, true) != 0) {
			client_fail(b, c, R_SOCKET);
			return;
		}
		c->bound_ip = c->ip;
	}
	if (!c->ipxe) {
		client_result(b, c)->t[PH_DHCP + 1] = b->now;
		if (c->bootfile[0] == '\0' || c->next_server == 0) {
			client_fail(b, c, R_NOFILE);
			return;
		}
		tftp_begin(b, c, true);
		return;
	}
	client_result(b, c)->t[PH_IPXE_DHCP + 1] = b->now;
	snprintf(c->script_url, sizeof(c->script_url), "%s", c->bootfile);
	{
		struct url u;

		if (url_parse(c->script_url, strlen(c->script_url), NULL, &u) != 0) {
			client_fail(b, c, R_NOFILE);
			return;
		}
		http_begin(b, c, PH_SCRIPT, &u);
	}
}

void client_dhcp_frame(struct bench *b, unsigned ns, const uint8_t *f, size_t n)
{
	static const uint8_t oui[3] = { 0x02, 0x70, 0x78 };
	struct frame_udp fu;
	struct dhcp_client_reply rep;
	struct client *c;
	uint32_t idx;

	if (frame_parse_udp(f, n, &fu) != 0 || fu.sport != DHCP_SERVER_PORT ||
	    fu.dport != DHCP_CLIENT_PORT ||
	    dhcp_client_parse(fu.payload, fu.len, b->scratch, &rep) != 0) {
		b->cnt.dhcp_stray++;
		return;
	}
	if (memcmp(rep.mac, oui, 3) != 0)
		return;                 /* not one of ours */
	idx = (uint32_t)rep.mac[3] << 16 | (uint32_t)rep.mac[4] << 8 | rep.mac[5];
	if (idx >= b->o.clients)
		return;
	c = &b->c[idx];
	if (c->ns != ns)
		return;                 /* a broadcast seen by every namespace */
	b->cnt.dhcp_rx++;
	if (c->step != ST_DHCP || rep.xid != c->xid) {
		b->cnt.dhcp_stray++;
		return;
	}
	if (!c->requesting) {
		if (rep.msgtype != DHCPOFFER || rep.yiaddr == 0 || rep.server_id == 0)
			return;
		/* a ROM wants a boot file; the first such offer wins */
		if (!c->ipxe && rep.bootfile[0] == '\0')
			return;
		if (c->offer_ip != 0)
			return;
		c->offer_ip = rep.yiaddr;
		c->server_id = rep.server_id;
		snprintf(c->bootfile, sizeof(c->bootfile), "%s", rep.bootfile);
		c->next_server = rep.next_server;
		if (!(b->o.collect_offers && !c->ipxe))
			dhcp_request(b, c);
		return;
	}
	if (rep.msgtype == DHCPNAK && rep.server_id == c->server_id) {
		/* EDK2's Dhcp4 ends its session with an error on a NAK (the boot
		 * fails); iPXE starts over, as RFC 2131 says */
		b->cnt.dhcp_naks++;
		if (!c->ipxe || ++c->naks > MAX_NAKS)
			client_fail(b, c, R_NAK);
		else
			client_dhcp_begin(b, c, c->ipxe);
		return;
	}
	if (rep.msgtype != DHCPACK || rep.yiaddr == 0)
		return;
	c->due = 0;
	c->ip = rep.yiaddr;
	c->prefix = mask_prefix(rep.mask);
	if (rep.bootfile[0] != '\0')
		snprintf(c->bootfile, sizeof(c->bootfile), "%s", rep.bootfile);
	if (rep.next_server != 0)
		c->next_server = rep.next_server;
	dhcp_bound(b, c);
}

/* ---------------------------------------------------------------- timers */

void client_start(struct bench *b, struct client *c)
{
	b->waiting--;
	b->active++;
	client_result(b, c)->t[0] = b->now;
	client_dhcp_begin(b, c, false);
}

void client_timer(struct bench *b, struct client *c)
{
	switch (c->step) {
	case ST_DHCP: dhcp_timeout(b, c); break;
	case ST_PROBE:
	case ST_TFTP: tftp_timeout(b, c); break;
	case ST_HTTP: client_fail(b, c, R_TIMEOUT); break;
	case ST_MCAST: mcast_timer(b, c); break;
	default: break;
	}
}
