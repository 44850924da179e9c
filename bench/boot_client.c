/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One simulated machine: the ROM's DHCP (DISCOVER, REQUEST), its TFTP
 * size probe and download of the boot file, iPXE's DHCP, then HTTP GETs
 * of the script, the kernel and the initrd over one keep-alive
 * connection. Retransmissions follow the firmware: EDK2's DHCP waits 4,
 * 8, 16, 32 s; iPXE's 1, 2, 4, 8, 10, 10 s; TFTP --tftp-timeout-ms (EDK2:
 * 4 s, 6 retries).
 */
#include "boot_client.h"
#include "bench_util.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif

static const unsigned tmo_rom[] = { 4000, 8000, 16000, 32000 };
static const unsigned tmo_ipxe[] = { 1000, 2000, 4000, 8000, 10000, 10000 };
#define MAX_NAKS 5

static struct boot_result *R(struct bench *b, struct client *c)
{
	return &b->res[c->idx];
}

static void set_due(struct bench *b, struct client *c, unsigned ms)
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
	struct boot_result *r = R(b, c);

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

static void client_done(struct bench *b, struct client *c)
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

static void dhcp_begin(struct bench *b, struct client *c, bool ipxe)
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
	set_due(b, c, dhcp_tmo(c, &n)[0]);
}

static void dhcp_request(struct bench *b, struct client *c)
{
	unsigned n;

	c->requesting = true;
	c->tries = 0;
	dhcp_send(b, c);
	set_due(b, c, dhcp_tmo(c, &n)[0]);
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
	set_due(b, c, tmo[c->tries]);
}

static void tftp_begin(struct bench *b, struct client *c, bool probe);
static void http_begin(struct bench *b, struct client *c, enum boot_phase ph,
		       const struct url *u);

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
		R(b, c)->t[PH_DHCP + 1] = b->now;
		if (c->bootfile[0] == '\0' || c->next_server == 0) {
			client_fail(b, c, R_NOFILE);
			return;
		}
		tftp_begin(b, c, true);
		return;
	}
	R(b, c)->t[PH_IPXE_DHCP + 1] = b->now;
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
			dhcp_begin(b, c, c->ipxe);
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

/* ---------------------------------------------------------------- TFTP */

static int open_bound(struct bench *b, struct client *c, int type)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = boot_net_socket(&b->net, c->ns, AF_INET, type);

	if (fd < 0)
		return -1;
	sa.sin_addr.s_addr = c->ip;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &c->ifindex,
		       sizeof(c->ifindex)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void tftp_send_rrq(struct bench *b, struct client *c)
{
	uint8_t rrq[600];
	size_t n = bench_tftp_rrq(rrq, sizeof(rrq), c->bootfile, c->rx.ask_blksize,
				  c->rx.ask_window, c->rx.ask_tsize);

	if (n != 0)
		io_send_udp(b, c, c->next_server, 69, rrq, n);
}

static void tftp_begin(struct bench *b, struct client *c, bool probe)
{
	io_close(b, c);
	c->fd = open_bound(b, c, SOCK_DGRAM);
	if (c->fd < 0) {
		client_fail(b, c, R_SOCKET);
		return;
	}
	c->step = probe ? ST_PROBE : ST_TFTP;
	if (probe)
		tftp_rx_init(&c->rx, 0, 0, true, true);      /* tsize only */
	else if (c->rom == ROM_UEFI)
		tftp_rx_init(&c->rx, 1468, 4, true, false);  /* EDK2 Mtftp4 */
	else
		tftp_rx_init(&c->rx, 1456, 1, true, false);  /* PXE 2.1 ROM */
	c->tries = 0;
	tftp_send_rrq(b, c);
	io_recv_udp(b, c);
	set_due(b, c, b->o.tftp_timeout_ms);
}

static void tftp_timeout(struct bench *b, struct client *c)
{
	uint8_t out[8];

	if (++c->tries > b->o.tftp_retries) {
		client_fail(b, c, R_TIMEOUT);
		return;
	}
	b->cnt.tftp_retx++;
	if (!c->rx.locked)
		tftp_send_rrq(b, c);
	else
		io_send_udp(b, c, c->next_server, c->rx.tid, out,
			    tftp_rx_reack(&c->rx, b->now, out));
	set_due(b, c, b->o.tftp_timeout_ms);
}

static void tftp_finished(struct bench *b, struct client *c)
{
	struct boot_result *r = R(b, c);
	uint64_t got = c->rx.bytes;

	b->cnt.tftp_gaps += c->rx.gaps;
	b->cnt.tftp_dups += c->rx.dups;
	if (c->step == ST_PROBE) {
		c->tsize = c->rx.has_tsize ? c->rx.tsize : 0;
		tftp_begin(b, c, false);
		return;
	}
	r->bytes[PH_TFTP] = got;
	if ((c->rx.has_tsize && got != c->rx.tsize) || (c->tsize && got != c->tsize) ||
	    (b->o.expect_boot && got != b->o.expect_boot)) {
		client_fail(b, c, R_SIZE);
		return;
	}
	r->t[PH_TFTP + 1] = b->now;
	io_close(b, c);
	dhcp_begin(b, c, true);
}

void client_udp(struct bench *b, struct client *c, int res)
{
	uint8_t out[64];
	size_t ol = 0;
	enum tftp_rx_event ev;

	if (c->step == ST_MCAST) {
		mcast_input(b, c, res);
		return;
	}
	if (c->step != ST_PROBE && c->step != ST_TFTP)
		return;
	if (res <= 0 || c->from.sin_addr.s_addr != c->next_server) {
		io_recv_udp(b, c);
		return;
	}
	ev = tftp_rx_input(&c->rx, b->now, ntohs(c->from.sin_port), c->buf,
			   (size_t)res, out, &ol);
	if (ol > 0)
		io_send_udp(b, c, c->next_server, ntohs(c->from.sin_port), out, ol);
	switch (ev) {
	case TFTP_RX_NONE:
		io_recv_udp(b, c);
		return;
	case TFTP_RX_PROGRESS:
		c->tries = 0;
		set_due(b, c, b->o.tftp_timeout_ms);
		io_recv_udp(b, c);
		return;
	case TFTP_RX_DONE:
		tftp_finished(b, c);
		return;
	case TFTP_RX_ERROR:
		client_fail(b, c, R_ERROR);
		return;
	case TFTP_RX_PROTOCOL:
		client_fail(b, c, R_PROTOCOL);
		return;
	}
}

/* ---------------------------------------------------------------- HTTP */

static void http_request(struct bench *b, struct client *c)
{
	char req[URL_PATH_MAX + 256];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nConnection: keep-alive\r\nHost: %s\r\n"
			 "User-Agent: iPXE/1.21.1+ (g3ae83d0)\r\n\r\n",
			 c->url.path, c->url.host);

	if (n <= 0 || (size_t)n >= sizeof(req)) {
		client_fail(b, c, R_PROTOCOL);
		return;
	}
	c->hs = H_HEAD;
	c->have = 0;
	io_send_tcp(b, c, (const uint8_t *)req, (size_t)n);
	if (c->step == ST_HTTP)
		io_recv_tcp(b, c, false);
}

static void http_begin(struct bench *b, struct client *c, enum boot_phase ph,
		       const struct url *u)
{
	int one = 1;

	c->step = ST_HTTP;
	c->http_phase = ph;
	c->url = *u;
	set_due(b, c, b->o.http_stall_ms);
	if (c->conn_open && c->conn.ip == u->ip && c->conn.port == u->port) {
		http_request(b, c);   /* iPXE keeps the connection (pool) */
		return;
	}
	io_close(b, c);
	c->fd = open_bound(b, c, SOCK_STREAM);
	if (c->fd < 0) {
		client_fail(b, c, R_SOCKET);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->conn = *u;
	c->peer.sin_family = AF_INET;
	c->peer.sin_addr.s_addr = u->ip;
	c->peer.sin_port = htons(u->port);
	c->hs = H_CONNECTING;
	b->cnt.http_connects++;
	io_connect(b, c);
}

void client_connected(struct bench *b, struct client *c, int res)
{
	if (c->step != ST_HTTP || c->hs != H_CONNECTING)
		return;
	if (res < 0) {
		client_fail(b, c, R_SOCKET);
		return;
	}
	c->conn_open = true;
	http_request(b, c);
}

void client_tcp_sent(struct bench *b, struct client *c, int res, size_t want)
{
	if (res < 0 || (size_t)res != want)
		client_fail(b, c, R_SOCKET);
}

static void http_next(struct bench *b, struct client *c)
{
	struct boot_result *r = R(b, c);
	enum boot_phase ph = c->http_phase;
	struct url base, u;

	r->bytes[ph] = c->head.length;
	r->t[ph + 1] = b->now;
	if (c->head.close)
		io_close(b, c);
	if ((ph == PH_KERNEL && b->o.expect_kernel && c->head.length != b->o.expect_kernel) ||
	    (ph == PH_INITRD && b->o.expect_initrd && c->head.length != b->o.expect_initrd)) {
		client_fail(b, c, R_SIZE);
		return;
	}
	if (ph == PH_SCRIPT) {
		if (ipxe_script_parse((const char *)c->buf + c->head.head_len,
				      (size_t)c->head.length, &c->script) != 0 &&
		    b->o.kernel_url == NULL) {
			client_fail(b, c, R_PROTOCOL);
			return;
		}
		if (url_parse(c->script_url, strlen(c->script_url), NULL, &base) != 0)
			return client_fail(b, c, R_PROTOCOL);
		if (b->o.kernel_url)
			u = b->kernel_override;
		else if (url_parse(c->script.kernel, strlen(c->script.kernel), &base, &u) != 0)
			return client_fail(b, c, R_PROTOCOL);
		http_begin(b, c, PH_KERNEL, &u);
		return;
	}
	if (ph == PH_KERNEL) {
		if (b->o.initrd_url) {
			http_begin(b, c, PH_INITRD, &b->initrd_override);
			return;
		}
		if (c->script.initrd[0] != '\0' &&
		    url_parse(c->script_url, strlen(c->script_url), NULL, &base) == 0 &&
		    url_parse(c->script.initrd, strlen(c->script.initrd), &base, &u) == 0) {
			http_begin(b, c, PH_INITRD, &u);
			return;
		}
		if (c->script.initrd[0] != '\0')
			return client_fail(b, c, R_PROTOCOL);
		R(b, c)->t[PH_INITRD + 1] = b->now;   /* nothing more to fetch */
	}
	if (b->o.mcast_group != NULL) {
		mcast_begin(b, c);
		return;
	}
	client_done(b, c);
}

void client_tcp(struct bench *b, struct client *c, int res)
{
	bool script = c->http_phase == PH_SCRIPT;
	int h;

	if (c->step != ST_HTTP || (c->hs != H_HEAD && c->hs != H_BODY))
		return;
	if (res < 0)
		return client_fail(b, c, R_SOCKET);
	if (res == 0)
		return client_fail(b, c, R_CLOSED);
	set_due(b, c, b->o.http_stall_ms);
	if (c->hs == H_HEAD) {
		c->have += (size_t)res;
		h = http_head_parse(c->buf, c->have, &c->head);
		if (h < 0 || (h == 0 && c->have == CLIENT_BUF))
			return client_fail(b, c, R_PROTOCOL);
		if (h == 0) {
			io_recv_tcp(b, c, false);
			return;
		}
		if (c->head.status != 200)
			return client_fail(b, c, R_STATUS);
		if (!c->head.has_length || c->head.chunked ||
		    c->have - c->head.head_len > c->head.length ||
		    (script && c->head.head_len + c->head.length > CLIENT_BUF))
			return client_fail(b, c, R_PROTOCOL);
		c->body_left = c->head.length - (c->have - c->head.head_len);
		c->hs = H_BODY;
	} else {
		if ((uint64_t)res > c->body_left)
			return client_fail(b, c, R_PROTOCOL);
		c->body_left -= (uint64_t)res;
		if (script)
			c->have += (size_t)res;
	}
	if (c->body_left == 0) {
		c->hs = H_IDLE;
		http_next(b, c);
		return;
	}
	io_recv_tcp(b, c, !script);
}

/* ---------------------------------------------------------------- timers */

void client_start(struct bench *b, struct client *c)
{
	b->waiting--;
	b->active++;
	R(b, c)->t[0] = b->now;
	dhcp_begin(b, c, false);
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
