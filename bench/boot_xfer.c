/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A simulated machine's transfers: the ROM's TFTP size probe and download
 * of the boot file (EDK2: blksize 1468, windowsize 4, tsize; a BIOS ROM:
 * blksize 1456, lock-step), then iPXE's HTTP GETs of the script, the
 * kernel and the initrd over one keep-alive connection.
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

void tftp_begin(struct bench *b, struct client *c, bool probe)
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
	client_set_due(b, c, b->o.tftp_timeout_ms);
}

void tftp_timeout(struct bench *b, struct client *c)
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
	client_set_due(b, c, b->o.tftp_timeout_ms);
}

static void tftp_finished(struct bench *b, struct client *c)
{
	struct boot_result *r = client_result(b, c);
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
	client_dhcp_begin(b, c, true);
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
		client_set_due(b, c, b->o.tftp_timeout_ms);
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

void http_begin(struct bench *b, struct client *c, enum boot_phase ph,
		const struct url *u)
{
	int one = 1;

	c->step = ST_HTTP;
	c->http_phase = ph;
	c->url = *u;
	client_set_due(b, c, b->o.http_stall_ms);
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
	struct boot_result *r = client_result(b, c);
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
		client_result(b, c)->t[PH_INITRD + 1] = b->now;   /* nothing more to fetch */
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
	client_set_due(b, c, b->o.http_stall_ms);
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
