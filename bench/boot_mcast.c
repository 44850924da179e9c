/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The optional last stage: the booted machine joins a pxecast multicast
 * session (mtftp/bulk.h, the image an installer would write) with
 * pxecast's own receiver engine, one per machine, on the machine's
 * macvlan. What pxecast-recv would write is counted, not stored; when the
 * engine asks for the digest, the announced one is given if every byte
 * arrived (the bench measures the sender and the network, not disks).
 */
#include "boot_client.h"
#include "bench_util.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mtftp/bulk.h"

#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif

static struct bulk_output out;   /* 100 KiB: one, reused by every client */

static uint64_t now_us(const struct bench *b) { return b->now / 1000; }

static void mcast_apply(struct bench *b, struct client *c)
{
	for (unsigned i = 0; i < out.n; i++) {
		struct bulk_action *a = &out.act[i];

		if (a->kind == BULK_ACT_WRITE)
			c->mcast_bytes += a->write_len;
		else if (a->kind == BULK_ACT_UNICAST)
			io_send_udp(b, c, a->to.ip, ntohs(a->to.port), a->pkt, a->len);
	}
	out.n = 0;
}

static void mcast_settle(struct bench *b, struct client *c)
{
	struct bulk_receiver *r = c->mcast;
	const struct bulk_announce *o;
	uint64_t d;

	for (;;) {
		switch (bulk_receiver_state(r)) {
		case BULK_RX_VERIFY:
			o = bulk_receiver_object(r);
			if (c->mcast_bytes < o->size) {
				uint8_t bad[32] = { 0 };   /* short: report it as failed */

				bulk_receiver_verified(r, now_us(b), bad, &out);
			} else {
				bulk_receiver_verified(r, now_us(b), o->sha256, &out);
			}
			mcast_apply(b, c);
			continue;
		case BULK_RX_FETCH:
			/* the sender gave up on us (deadline, silence): an HTTP
			 * Range fallback is not played */
			client_fail(b, c, R_TIMEOUT);
			return;
		case BULK_RX_FAILED:
			client_fail(b, c, bulk_receiver_digest_ok(r) ? R_PROTOCOL : R_SIZE);
			return;
		case BULK_RX_DONE:
			o = bulk_receiver_object(r);
			b->res[c->idx].bytes[PH_MCAST] = c->mcast_bytes;
			b->res[c->idx].t[PH_MCAST + 1] = b->now;
			if (b->o.expect_mcast && c->mcast_bytes != b->o.expect_mcast) {
				client_fail(b, c, R_SIZE);
				return;
			}
			io_close(b, c);
			mcast_free(c);
			c->step = ST_DONE;
			c->due = 0;
			b->active--;
			return;
		default:
			d = bulk_receiver_deadline(r);
			c->due = d ? d * 1000 : b->now + BENCH_NS_PER_S;
			if (c->due < b->next_due)
				b->next_due = c->due;
			return;
		}
	}
}

void mcast_begin(struct bench *b, struct client *c)
{
	struct bulk_receiver_config rc;
	struct sockaddr_in g = b->mcast_group;
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = g.sin_port };
	struct ip_mreqn mreq = { 0 };
	int one = 1, rcvbuf = 4 << 20;

	io_close(b, c);
	c->step = ST_MCAST;
	c->fd = boot_net_socket(&b->net, c->ns, AF_INET, SOCK_DGRAM);
	if (c->fd < 0)
		goto fail;
	setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	/* every machine of the namespace binds the group's port on any
	 * address (the sender's WELCOME and DONE_ACK come unicast, the data
	 * to the group): the device binding and the per-interface membership
	 * keep the machines' copies apart */
	mreq.imr_multiaddr = g.sin_addr;
	mreq.imr_address.s_addr = c->ip;
	mreq.imr_ifindex = c->ifindex;
	if (setsockopt(c->fd, SOL_SOCKET, SO_BINDTOIFINDEX, &c->ifindex,
		       sizeof(c->ifindex)) != 0 ||
	    bind(c->fd, (struct sockaddr *)&any, sizeof(any)) != 0 ||
	    setsockopt(c->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) != 0)
		goto fail;
	bulk_receiver_defaults(&rc);
	rc.receiver = bench_rand(b) | 1;
	rc.max_buffer = 8u << 20;      /* partial slices held per machine */
	c->mcast = bulk_receiver_new(&rc, now_us(b));
	if (c->mcast == NULL)
		goto fail;
	c->mcast_bytes = 0;
	io_recv_udp(b, c);
	mcast_settle(b, c);
	return;
fail:
	client_fail(b, c, R_SOCKET);
}

void mcast_input(struct bench *b, struct client *c, int res)
{
	struct bulk_addr from = { c->from.sin_addr.s_addr, c->from.sin_port };

	if (res > 0) {
		bulk_receiver_input(c->mcast, now_us(b), from, c->buf, (size_t)res, &out);
		mcast_apply(b, c);
		mcast_settle(b, c);
	}
	if (c->step == ST_MCAST)
		io_recv_udp(b, c);
}

void mcast_timer(struct bench *b, struct client *c)
{
	bulk_receiver_tick(c->mcast, now_us(b), &out);
	mcast_apply(b, c);
	mcast_settle(b, c);
}

void mcast_free(struct client *c)
{
	if (c->mcast != NULL)
		bulk_receiver_free(c->mcast);
	c->mcast = NULL;
}
