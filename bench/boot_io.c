/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pxecast-bench I/O: one io_uring for every socket of every client.
 * DHCP frames come from one AF_PACKET socket per namespace with
 * PKT_BUFS receives outstanding; each client has at most one receive on
 * its TFTP or TCP socket; sends are copied into a pool of slots. Timers
 * are deadlines in the client table, scanned when the earliest is due.
 */
#include "boot_client.h"
#include "bench_util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { K_PKT = 1, K_UDP, K_CONN, K_TCP, K_TX };

#define UD(kind, gen, idx) (((uint64_t)(kind) << 56) | ((uint64_t)(gen) << 32) | (uint64_t)(idx))
#define UD_KIND(u) ((unsigned)((u) >> 56))
#define UD_GEN(u) ((uint16_t)((u) >> 32))
#define UD_IDX(u) ((uint32_t)(u))

#define TX_SLOTS 2048u
#define PKT_SLOT 2048u
#define RING_SQ 4096u

volatile sig_atomic_t boot_quit;

uint32_t bench_rand(struct bench *b)
{
	/* xorshift32: reproducible runs with --seed */
	uint32_t x = b->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return b->rng = x;
}

struct io_uring_sqe *io_sqe(struct bench *b)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

	if (sqe == NULL) {
		io_uring_submit(&b->ring);
		sqe = io_uring_get_sqe(&b->ring);
	}
	return sqe;   /* NULL only if the kernel took none: callers drop */
}

static void arm_pkt(struct bench *b, uint32_t slot)
{
	unsigned ns = slot / PKT_BUFS;
	struct io_uring_sqe *sqe = io_sqe(b);

	if (sqe == NULL)
		return;
	io_uring_prep_recv(sqe, b->net.pkt_fd[ns], b->pkt_buf + (size_t)slot * PKT_SLOT,
			   PKT_SLOT, 0);
	io_uring_sqe_set_data64(sqe, UD(K_PKT, 0, slot));
}

int io_init(struct bench *b)
{
	struct io_uring_params p = { 0 };
	uint32_t nslots = b->o.nns * PKT_BUFS;

	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = 8 * RING_SQ;
	if (io_uring_queue_init_params(RING_SQ, &b->ring, &p) != 0)
		return -1;
	b->tx = calloc(TX_SLOTS, sizeof(*b->tx));
	b->pkt_buf = malloc((size_t)nslots * PKT_SLOT);
	b->sink = malloc(SINK_LEN);
	if (b->tx == NULL || b->pkt_buf == NULL || b->sink == NULL)
		return -1;
	for (uint32_t i = 0; i < TX_SLOTS; i++)
		b->tx[i].next_free = i + 1 < TX_SLOTS ? i + 1 : UINT32_MAX;
	b->tx_free = 0;
	for (uint32_t s = 0; s < nslots; s++)
		arm_pkt(b, s);
	io_uring_submit(&b->ring);
	return 0;
}

static struct tx_slot *tx_get(struct bench *b, uint32_t *si)
{
	struct tx_slot *s;

	if (b->tx_free == UINT32_MAX) {
		b->cnt.tx_dropped++;   /* the retransmission timer covers it */
		return NULL;
	}
	*si = b->tx_free;
	s = &b->tx[*si];
	b->tx_free = s->next_free;
	memset(&s->mh, 0, sizeof(s->mh));
	s->client = UINT32_MAX;
	s->tcp = false;
	return s;
}

static void tx_put(struct bench *b, uint32_t si)
{
	b->tx[si].next_free = b->tx_free;
	b->tx_free = si;
}

static void tx_queue(struct bench *b, uint32_t si, int fd, const uint8_t *p, size_t n)
{
	struct tx_slot *s = &b->tx[si];
	struct io_uring_sqe *sqe = io_sqe(b);

	if (sqe == NULL || n > sizeof(s->buf)) {
		b->cnt.tx_dropped++;
		tx_put(b, si);
		return;
	}
	memcpy(s->buf, p, n);
	s->iov.iov_base = s->buf;
	s->iov.iov_len = n;
	s->mh.msg_iov = &s->iov;
	s->mh.msg_iovlen = 1;
	io_uring_prep_sendmsg(sqe, fd, &s->mh, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, UD(K_TX, 0, si));
}

void io_send_frame(struct bench *b, struct client *c, const uint8_t *f, size_t n)
{
	uint32_t si;

	if (tx_get(b, &si) != NULL)
		tx_queue(b, si, b->net.pkt_fd[c->ns], f, n);
}

void io_send_udp(struct bench *b, struct client *c, uint32_t ip, uint16_t port,
		 const uint8_t *p, size_t n)
{
	uint32_t si;
	struct tx_slot *s = tx_get(b, &si);

	if (s == NULL)
		return;
	s->to.sin_family = AF_INET;
	s->to.sin_addr.s_addr = ip;
	s->to.sin_port = htons(port);
	s->mh.msg_name = &s->to;
	s->mh.msg_namelen = sizeof(s->to);
	tx_queue(b, si, c->fd, p, n);
}

void io_send_tcp(struct bench *b, struct client *c, const uint8_t *p, size_t n)
{
	uint32_t si;
	struct tx_slot *s = tx_get(b, &si);

	if (s == NULL) {
		client_fail(b, c, R_SOCKET);
		return;
	}
	s->client = c->idx;
	s->gen = c->gen;
	s->tcp = true;
	tx_queue(b, si, c->fd, p, n);
}

void io_recv_udp(struct bench *b, struct client *c)
{
	struct io_uring_sqe *sqe = io_sqe(b);

	if (sqe == NULL)
		return;
	memset(&c->mh, 0, sizeof(c->mh));
	c->iov.iov_base = c->buf;
	c->iov.iov_len = CLIENT_BUF;
	c->mh.msg_iov = &c->iov;
	c->mh.msg_iovlen = 1;
	c->mh.msg_name = &c->from;
	c->mh.msg_namelen = sizeof(c->from);
	io_uring_prep_recvmsg(sqe, c->fd, &c->mh, 0);
	io_uring_sqe_set_data64(sqe, UD(K_UDP, c->gen, c->idx));
}

void io_recv_tcp(struct bench *b, struct client *c, bool discard)
{
	struct io_uring_sqe *sqe = io_sqe(b);

	if (sqe == NULL) {
		client_fail(b, c, R_SOCKET);
		return;
	}
	if (discard) {
		/* tcp(7): MSG_TRUNC drops the bytes instead of copying them */
		size_t n = c->body_left < SINK_LEN ? (size_t)c->body_left : SINK_LEN;

		io_uring_prep_recv(sqe, c->fd, b->sink, n, MSG_TRUNC);
	} else {
		io_uring_prep_recv(sqe, c->fd, c->buf + c->have, CLIENT_BUF - c->have, 0);
	}
	io_uring_sqe_set_data64(sqe, UD(K_TCP, c->gen, c->idx));
}

void io_connect(struct bench *b, struct client *c)
{
	struct io_uring_sqe *sqe = io_sqe(b);

	if (sqe == NULL) {
		client_fail(b, c, R_SOCKET);
		return;
	}
	io_uring_prep_connect(sqe, c->fd, (struct sockaddr *)&c->peer, sizeof(c->peer));
	io_uring_sqe_set_data64(sqe, UD(K_CONN, c->gen, c->idx));
}

void io_close(struct bench *b, struct client *c)
{
	if (c->fd < 0)
		return;
	/* queued sends on fd take their file reference at submission: do it
	 * before the number can be reused by the next socket */
	io_uring_submit(&b->ring);
	/* wakes an outstanding receive (it completes, and is ignored by gen) */
	shutdown(c->fd, SHUT_RDWR);
	close(c->fd);
	c->fd = -1;
	c->gen++;
	c->conn_open = false;
}

static void on_cqe(struct bench *b, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	uint32_t idx = UD_IDX(ud);
	struct client *c;

	switch (UD_KIND(ud)) {
	case K_PKT:
		if (cqe->res > 0)
			client_dhcp_frame(b, idx / PKT_BUFS, b->pkt_buf + (size_t)idx * PKT_SLOT,
					  (size_t)cqe->res);
		if (cqe->res != -EBADF)
			arm_pkt(b, idx);
		return;
	case K_TX: {
		struct tx_slot *s = &b->tx[idx];

		if (s->tcp) {
			c = &b->c[s->client];
			if (c->gen == s->gen && (c->step == ST_HTTP))
				client_tcp_sent(b, c, cqe->res, s->iov.iov_len);
		} else if (cqe->res < 0) {
			b->cnt.tx_errors++;
		}
		tx_put(b, idx);
		return;
	}
	}
	c = &b->c[idx];
	if (UD_GEN(ud) != c->gen || c->fd < 0)
		return;
	switch (UD_KIND(ud)) {
	case K_UDP: client_udp(b, c, cqe->res); break;
	case K_CONN: client_connected(b, c, cqe->res); break;
	case K_TCP: client_tcp(b, c, cqe->res); break;
	}
}

static void scan_timers(struct bench *b)
{
	uint64_t next = UINT64_MAX;

	for (uint32_t i = 0; i < b->o.clients; i++) {
		struct client *c = &b->c[i];

		if (c->due != 0 && c->due <= b->now) {
			c->due = 0;
			if (c->step == ST_WAIT)
				client_start(b, c);
			else
				client_timer(b, c);
		}
		if (c->due != 0 && c->due < next)
			next = c->due;
	}
	b->next_due = next;
}

int io_loop(struct bench *b)
{
	while (b->active + b->waiting > 0) {
		struct io_uring_cqe *cqe;
		struct __kernel_timespec ts;
		uint64_t wait = 50 * BENCH_NS_PER_MS;
		unsigned head, n = 0;

		b->now = bench_mono_ns();
		if (b->now >= b->deadline || boot_quit) {
			for (uint32_t i = 0; i < b->o.clients; i++)
				if (b->c[i].step != ST_DONE && b->c[i].step != ST_FAILED)
					client_fail(b, &b->c[i], R_DEADLINE);
			break;
		}
		if (b->now >= b->next_due)
			scan_timers(b);
		if (b->now >= b->next_sample) {
			boot_server_sample(&b->rep.srv);
			b->next_sample = b->now + 100 * BENCH_NS_PER_MS;
		}
		if (b->o.progress && b->now >= b->next_progress) {
			boot_progress(&b->rep, b->now, false);
			b->next_progress = b->now + 250 * BENCH_NS_PER_MS;
		}
		if (b->next_due > b->now && b->next_due - b->now < wait)
			wait = b->next_due - b->now;
		ts.tv_sec = (long long)(wait / BENCH_NS_PER_S);
		ts.tv_nsec = (long long)(wait % BENCH_NS_PER_S);
		io_uring_submit_and_wait_timeout(&b->ring, &cqe, 1, &ts, NULL);
		b->now = bench_mono_ns();
		io_uring_for_each_cqe(&b->ring, head, cqe) {
			/* a batch can be long: each event gets its own time */
			if ((n & 15) == 0)
				b->now = bench_mono_ns();
			on_cqe(b, cqe);
			n++;
		}
		io_uring_cq_advance(&b->ring, n);
	}
	io_uring_submit(&b->ring);
	return 0;
}
