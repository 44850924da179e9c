/* The io_uring transport: kernel UDP sockets driven through one ring.
 *
 * Receives are multishot recvmsg over one provided-buffer ring shared by
 * every socket (liburing's io_uring-udp example); sends are sendmsg SQEs
 * queued while the engines run and submitted in one batch per loop turn,
 * with UDP GSO (UDP_SEGMENT) so a TFTP window leaves as one send.
 */
#include "dataplane/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define RECV_BGID 1
#define RECV_BUFS 512              /* power of two, required by the ring */
#define RECV_PAYLOAD 9216          /* jumbo frames; larger is truncated */
#define RECV_BUF_SIZE (RECV_PAYLOAD + 256)
#define UD_CANCEL 2ull             /* user_data of cancel SQEs */
#define UD_IO 4ull                 /* tag on a struct transport_io pointer */
#define UD_POLL 2ull               /* with UD_IO: SPLICE_OUT's socket is writable */

struct uring_sock {
	int fd;
	uint32_t gen;                  /* bumps on reuse: stale CQEs are dropped */
	bool open;
	bool armed;
	transport_recv_fn on_recv;
	void *ctx;
};

struct send_op {
	struct msghdr msg;
	struct sockaddr_in to;
	union {
		char buf[64]; /* >= CMSG_SPACE of UDP_SEGMENT's u16 or in_pktinfo */
		size_t align; /* cmsghdr alignment */
	} cmsg;
	transport_done_fn done;
	void *arg;
	struct send_op *next_free;
	unsigned iov_cap;
	struct iovec iov[];
};

struct uring_transport {
	struct transport base;
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	uint8_t *bufs;
	struct msghdr recv_tmpl;
	struct uring_sock *socks;
	unsigned nsocks, cap;
	struct send_op *free_ops;
	struct transport_io *ready;    /* SPLICE_OUTs to try at the next turn */
	struct transport_io **ready_tail;
	bool gso;                      /* cleared if the kernel refuses UDP_SEGMENT */
};

uint64_t transport_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static struct io_uring_sqe *get_sqe(struct uring_transport *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static uint64_t recv_user_data(unsigned id, uint32_t gen)
{
	return (uint64_t)id << 32 | (uint64_t)(gen & 0x7fffffffu) << 1 | 1u;
}

static int arm_recv(struct uring_transport *u, unsigned id)
{
	struct uring_sock *s = &u->socks[id];
	struct io_uring_sqe *sqe = get_sqe(u);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_recvmsg_multishot(sqe, s->fd, &u->recv_tmpl, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = RECV_BGID;
	io_uring_sqe_set_data64(sqe, recv_user_data(id, s->gen));
	s->armed = true;
	return 0;
}

static int uring_udp_open(struct transport *t, const struct transport_udp_opts *o,
			  struct net_addr *bound)
{
	struct uring_transport *u = (struct uring_transport *)t;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t salen = sizeof(sa);
	int one = 1, fd, err;
	unsigned id;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	if ((o->flags & TRANSPORT_REUSEADDR) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if ((o->flags & TRANSPORT_BROADCAST) &&
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0)
		goto fail;
	if (o->rcvbuf > 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &o->rcvbuf, sizeof(o->rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof(o->rcvbuf));
	if ((o->flags & TRANSPORT_BIND_DEVICE) && o->device &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->device,
		       (socklen_t)strlen(o->device) + 1) < 0)
		goto fail;
	if (o->multicast_ttl > 0) {
		int ttl = o->multicast_ttl;
		struct in_addr ifaddr = { o->bind.ip };

		if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
		    (o->bind.ip && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifaddr,
					      sizeof(ifaddr)) < 0))
			goto fail;
	}
	sa.sin_addr.s_addr = o->bind.ip;
	sa.sin_port = o->bind.port;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) < 0)
		goto fail;
	for (id = 0; id < u->nsocks && u->socks[id].open; id++)
		;
	if (id == u->nsocks) {
		if (u->nsocks == u->cap) {
			unsigned ncap = u->cap ? u->cap * 2 : 64;
			struct uring_sock *n = realloc(u->socks, ncap * sizeof(*n));

			if (!n) {
				errno = ENOMEM;
				goto fail;
			}
			memset(n + u->cap, 0, (ncap - u->cap) * sizeof(*n));
			u->socks = n;
			u->cap = ncap;
		}
		u->nsocks++;
	}
	u->socks[id].fd = fd;
	u->socks[id].gen++;
	u->socks[id].open = true;
	u->socks[id].on_recv = o->on_recv;
	u->socks[id].ctx = o->ctx;
	err = arm_recv(u, id);
	if (err < 0) {
		u->socks[id].open = false;
		close(fd);
		return err;
	}
	if (bound) {
		bound->ip = sa.sin_addr.s_addr;
		bound->port = sa.sin_port;
	}
	return (int)id;
fail:
	err = -errno;
	close(fd);
	return err;
}

static void uring_udp_close(struct transport *t, int sock)
{
	struct uring_transport *u = (struct uring_transport *)t;
	struct uring_sock *s;
	struct io_uring_sqe *sqe;

	if (sock < 0 || (unsigned)sock >= u->nsocks || !u->socks[sock].open)
		return;
	s = &u->socks[sock];
	if (s->armed && (sqe = get_sqe(u)) != NULL) {
		io_uring_prep_cancel64(sqe, recv_user_data((unsigned)sock, s->gen), 0);
		io_uring_sqe_set_data64(sqe, UD_CANCEL);
	}
	/* Queued sends name this fd by number: hand them to the kernel before
	 * the number can be reused. */
	io_uring_submit(&u->ring);
	close(s->fd);
	s->open = false;
	s->armed = false;
	s->gen++;
}

static struct send_op *op_get(struct uring_transport *u, unsigned iovcnt)
{
	struct send_op *op = u->free_ops, **pp = &u->free_ops;

	for (; op; pp = &op->next_free, op = op->next_free)
		if (op->iov_cap >= iovcnt) {
			*pp = op->next_free;
			return op;
		}
	iovcnt = iovcnt < 8 ? 8 : iovcnt;
	op = malloc(sizeof(*op) + iovcnt * sizeof(struct iovec));
	if (op)
		op->iov_cap = iovcnt;
	return op;
}

static void op_put(struct uring_transport *u, struct send_op *op)
{
	op->next_free = u->free_ops;
	u->free_ops = op;
}

/* Both send flavours: an op holding the message until its CQE, one
 * optional control message, then one sendmsg SQE. */
static struct send_op *send_prepare(struct uring_transport *u, int sock, const struct net_addr *to,
				    const struct iovec *iov, unsigned iovcnt, int *err)
{
	struct send_op *op;

	*err = -EBADF;
	if (sock < 0 || (unsigned)sock >= u->nsocks || !u->socks[sock].open || iovcnt == 0 ||
	    iovcnt > 1024)
		return NULL;
	*err = -ENOMEM;
	op = op_get(u, iovcnt);
	if (!op)
		return NULL;
	memcpy(op->iov, iov, iovcnt * sizeof(*iov));
	op->to = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = to->port,
				       .sin_addr.s_addr = to->ip };
	op->msg = (struct msghdr){ .msg_name = &op->to, .msg_namelen = sizeof(op->to),
				   .msg_iov = op->iov, .msg_iovlen = iovcnt };
	return op;
}

_Static_assert(CMSG_SPACE(sizeof(struct in_pktinfo)) <= sizeof(((struct send_op *)0)->cmsg.buf),
	       "send_op cmsg buffer too small");

static void send_set_cmsg(struct send_op *op, int level, int type, const void *data, size_t len)
{
	struct cmsghdr *cm = (struct cmsghdr *)op->cmsg.buf;

	memset(op->cmsg.buf, 0, sizeof(op->cmsg.buf));
	op->msg.msg_control = op->cmsg.buf;
	op->msg.msg_controllen = CMSG_SPACE(len);
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(cm), data, len);
}

static int send_queue(struct uring_transport *u, int sock, struct send_op *op,
		      transport_done_fn done, void *arg)
{
	struct io_uring_sqe *sqe = get_sqe(u);

	if (!sqe) {
		op_put(u, op);
		return -EBUSY;
	}
	op->done = done;
	op->arg = arg;
	io_uring_prep_sendmsg(sqe, u->socks[sock].fd, &op->msg, 0);
	io_uring_sqe_set_data(sqe, op);
	return 0;
}

static int uring_udp_send(struct transport *t, int sock, const struct net_addr *to,
			  const struct iovec *iov, unsigned iovcnt, unsigned segment,
			  transport_done_fn done, void *arg)
{
	struct uring_transport *u = (struct uring_transport *)t;
	int err;
	struct send_op *op = send_prepare(u, sock, to, iov, iovcnt, &err);

	if (!op)
		return err;
	if (segment && u->gso) {
		uint16_t seg = (uint16_t)segment;

		send_set_cmsg(op, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg));
	}
	return send_queue(u, sock, op, done, arg);
}

/* SPLICE_OUT runs here rather than in io_uring's workers: splice is always
 * handed to a worker, which then sleeps until the socket takes the whole
 * chunk, a thread per busy connection. The socket is non-blocking, so the
 * call only moves what fits; when nothing fits, a poll waits for room. */
static void splice_out_try(struct uring_transport *u, struct transport_io *io)
{
	ssize_t n = splice(io->fd, NULL, io->fd_out, NULL, io->len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	struct io_uring_sqe *sqe;

	if (n < 0 && errno == EAGAIN) {
		sqe = get_sqe(u);
		if (sqe) {
			io_uring_prep_poll_add(sqe, io->fd_out, POLLOUT);
			io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)io | UD_IO | UD_POLL);
			return;
		}
		errno = EBUSY;
	}
	io->done(io->arg, n < 0 ? -errno : (int)n);
}

/* Tries what was queued before this turn; what those completions queue
 * waits for the next turn, so a caller is never re-entered. */
static void run_ready(struct uring_transport *u)
{
	struct transport_io *io = u->ready;

	u->ready = NULL;
	u->ready_tail = &u->ready;
	while (io) {
		struct transport_io *next = io->next_ready;

		splice_out_try(u, io);
		io = next;
	}
}

static int uring_io_submit(struct transport *t, struct transport_io *io)
{
	struct uring_transport *u = (struct uring_transport *)t;
	struct io_uring_sqe *sqe;

	if ((uintptr_t)io & 7u)
		return -EINVAL;
	if (io->kind == TRANSPORT_IO_SPLICE_OUT) {
		io->next_ready = NULL;
		*u->ready_tail = io;
		u->ready_tail = &io->next_ready;
		return 0;
	}
	sqe = get_sqe(u);
	if (!sqe)
		return -EBUSY;
	switch (io->kind) {
	case TRANSPORT_IO_ACCEPT:
		io_uring_prep_accept(sqe, io->fd, (struct sockaddr *)io->addr, io->addrlen,
				     SOCK_CLOEXEC | SOCK_NONBLOCK);
		break;
	case TRANSPORT_IO_RECV:
		io_uring_prep_recv(sqe, io->fd, io->buf, io->len, 0);
		break;
	case TRANSPORT_IO_SEND:
		io_uring_prep_send(sqe, io->fd, io->buf, io->len, io->msg_flags | MSG_NOSIGNAL);
		break;
	case TRANSPORT_IO_SPLICE:
		io_uring_prep_splice(sqe, io->fd, io->off_in, io->fd_out, -1, io->len, SPLICE_F_MOVE);
		break;
	case TRANSPORT_IO_READ:
		io_uring_prep_read(sqe, io->fd, io->buf, io->len, (uint64_t)io->off_in);
		break;
	default:
		/* An unused SQE must still be valid: make it a no-op. */
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, UD_CANCEL);
		return -EINVAL;
	}
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)io | UD_IO);
	return 0;
}

/* A client being given its first address cannot answer ARP for it, so
 * the kernel is told its link address first (as dnsmasq does), then a
 * normal unicast goes out. Without CAP_NET_ADMIN, or on a link without
 * ARP, the reply is broadcast on the interface instead. */
static int arp_learn(int fd, int ifindex, uint32_t ip, const uint8_t *lladdr, uint8_t len)
{
	struct arpreq req;
	struct sockaddr_in *pa = (struct sockaddr_in *)&req.arp_pa;

	memset(&req, 0, sizeof(req));
	if (len == 0 || len > sizeof(req.arp_ha.sa_data) ||
	    !if_indextoname((unsigned)ifindex, req.arp_dev))
		return -EINVAL;
	pa->sin_family = AF_INET;
	pa->sin_addr.s_addr = ip;
	req.arp_ha.sa_family = ARPHRD_ETHER;
	memcpy(req.arp_ha.sa_data, lladdr, len);
	req.arp_flags = ATF_COM;
	return ioctl(fd, SIOCSARP, &req) < 0 ? -errno : 0;
}

static int uring_udp_send_opts(struct transport *t, int sock, const struct transport_send_opts *o,
			       const struct iovec *iov, unsigned iovcnt, transport_done_fn done,
			       void *arg)
{
	struct uring_transport *u = (struct uring_transport *)t;
	struct net_addr to = o->to;
	struct send_op *op;
	int err;

	if (sock < 0 || (unsigned)sock >= u->nsocks || !u->socks[sock].open)
		return -EBADF;
	if (o->lladdr && o->ifindex > 0 &&
	    arp_learn(u->socks[sock].fd, o->ifindex, to.ip, o->lladdr, o->lladdr_len) < 0)
		to.ip = htonl(INADDR_BROADCAST);
	op = send_prepare(u, sock, &to, iov, iovcnt, &err);
	if (!op)
		return err;
	if (o->src_ip || o->ifindex) {
		struct in_pktinfo pi = { .ipi_ifindex = o->ifindex };

		/* IP_PKTINFO picks the interface and the source address, so a
		 * broadcast leaves where the request came in. */
		pi.ipi_spec_dst.s_addr = o->src_ip;
		send_set_cmsg(op, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	}
	return send_queue(u, sock, op, done, arg);
}

static void recycle(struct uring_transport *u, unsigned bid)
{
	io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * RECV_BUF_SIZE, RECV_BUF_SIZE,
			      (unsigned short)bid, io_uring_buf_ring_mask(RECV_BUFS), 0);
	io_uring_buf_ring_advance(u->br, 1);
}

static void handle_recv(struct uring_transport *u, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	unsigned id = (unsigned)(ud >> 32);
	uint32_t gen = (uint32_t)(ud >> 1) & 0x7fffffffu;
	struct uring_sock *s = id < u->nsocks ? &u->socks[id] : NULL;
	bool live = s && s->open && (s->gen & 0x7fffffffu) == gen;
	bool has_buf = cqe->flags & IORING_CQE_F_BUFFER;
	unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

	if (live && cqe->res > 0 && has_buf) {
		uint8_t *buf = u->bufs + (size_t)bid * RECV_BUF_SIZE;
		struct io_uring_recvmsg_out *o =
			io_uring_recvmsg_validate(buf, cqe->res, &u->recv_tmpl);

		/* Truncated datagrams are dropped: a partial packet is no packet. */
		if (o && !(o->flags & MSG_TRUNC) && o->namelen >= sizeof(struct sockaddr_in)) {
			struct sockaddr_in *from = io_uring_recvmsg_name(o);
			struct transport_meta meta = {
				.from = { from->sin_addr.s_addr, from->sin_port },
			};
			struct cmsghdr *cm;

			for (cm = io_uring_recvmsg_cmsg_firsthdr(o, &u->recv_tmpl); cm;
			     cm = io_uring_recvmsg_cmsg_nexthdr(o, &u->recv_tmpl, cm))
				if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
					struct in_pktinfo pi;

					memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
					meta.to.ip = pi.ipi_spec_dst.s_addr;
					meta.ifindex = pi.ipi_ifindex;
				}
			s->on_recv(s->ctx, (int)id, &meta, io_uring_recvmsg_payload(o, &u->recv_tmpl),
				   io_uring_recvmsg_payload_length(o, cqe->res, &u->recv_tmpl));
			/* The callback may have opened sockets (realloc) or closed this one. */
			s = &u->socks[id];
			live = s->open && (s->gen & 0x7fffffffu) == gen;
		}
	}
	if (has_buf)
		recycle(u, bid);
	/* Multishot ends on errors such as -ENOBUFS: re-arm a live socket. */
	if (!(cqe->flags & IORING_CQE_F_MORE) && live) {
		s->armed = false;
		if (s->open && cqe->res != -ECANCELED)
			arm_recv(u, id);
	}
}

static int uring_run_once(struct transport *t, uint64_t deadline_us)
{
	struct uring_transport *u = (struct uring_transport *)t;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { 0 };
	uint64_t now;
	unsigned head, n = 0;
	int ret;

	run_ready(u);
	now = transport_now_us(); /* after the splices, so the wait ends on time */
	if (deadline_us > now && !u->ready) {
		uint64_t wait = deadline_us - now;

		ts.tv_sec = (long long)(wait / 1000000u);
		ts.tv_nsec = (long long)(wait % 1000000u) * 1000;
	}
	ret = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
	if (ret < 0 && ret != -ETIME && ret != -EINTR)
		return ret;
	io_uring_for_each_cqe(&u->ring, head, cqe) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);

		n++;
		if (ud == UD_CANCEL)
			continue;
		if (ud & 1) {
			handle_recv(u, cqe);
		} else if (ud & UD_IO) {
			struct transport_io *io = (struct transport_io *)(uintptr_t)(ud & ~7ull);

			if ((ud & UD_POLL) && cqe->res > 0)
				splice_out_try(u, io);
			else
				io->done(io->arg, cqe->res);
		} else {
			struct send_op *op = (struct send_op *)(uintptr_t)ud;

			if (op->msg.msg_control && ((struct cmsghdr *)op->msg.msg_control)->cmsg_level == SOL_UDP &&
			    (cqe->res == -EIO || cqe->res == -EINVAL))
				u->gso = false; /* kernel without UDP GSO: retransmits recover */
			if (op->done)
				op->done(op->arg, cqe->res);
			op_put(u, op);
		}
	}
	io_uring_cq_advance(&u->ring, n);
	return (int)n;
}

static void uring_destroy(struct transport *t)
{
	struct uring_transport *u = (struct uring_transport *)t;

	for (unsigned i = 0; i < u->nsocks; i++)
		if (u->socks[i].open)
			close(u->socks[i].fd);
	io_uring_queue_exit(&u->ring);
	while (u->free_ops) {
		struct send_op *op = u->free_ops;

		u->free_ops = op->next_free;
		free(op);
	}
	free(u->bufs);
	free(u->socks);
	free(u);
}

static const struct transport_ops uring_ops = {
	.name = "io_uring",
	.udp_open = uring_udp_open,
	.udp_close = uring_udp_close,
	.udp_send = uring_udp_send,
	.udp_send_opts = uring_udp_send_opts,
	.run_once = uring_run_once,
	.io_submit = uring_io_submit,
	.destroy = uring_destroy,
};

/* liburing 2.3 has no io_uring_setup_buf_ring: map and register by hand. */
static struct io_uring_buf_ring *setup_buf_ring(struct io_uring *ring, int *err)
{
	size_t len = RECV_BUFS * sizeof(struct io_uring_buf);
	struct io_uring_buf_reg reg = { .ring_entries = RECV_BUFS, .bgid = RECV_BGID };
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);

	if (mem == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	reg.ring_addr = (uint64_t)(uintptr_t)mem;
	*err = io_uring_register_buf_ring(ring, &reg, 0);
	if (*err < 0) {
		munmap(mem, len);
		return NULL;
	}
	io_uring_buf_ring_init(mem);
	return mem;
}

struct transport *transport_uring_create(unsigned queue_depth)
{
	struct uring_transport *u = calloc(1, sizeof(*u));
	struct io_uring_params p = { .flags = IORING_SETUP_SUBMIT_ALL };
	int ret;

	if (!u)
		return NULL;
	u->base.ops = &uring_ops;
	u->ready_tail = &u->ready;
	u->gso = true;
	p.cq_entries = queue_depth * 4;
	p.flags |= IORING_SETUP_CQSIZE;
	/* One thread submits and reaps: completions wait as task work until
	 * the loop asks for them, instead of interrupting it one by one
	 * (Linux 6.1; older kernels refuse the flags and get the plain ring). */
	p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	ret = io_uring_queue_init_params(queue_depth, &u->ring, &p);
	if (ret == -EINVAL) {
		p = (struct io_uring_params){ .flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE,
					      .cq_entries = queue_depth * 4 };
		ret = io_uring_queue_init_params(queue_depth, &u->ring, &p);
	}
	if (ret < 0) {
		free(u);
		errno = -ret;
		return NULL;
	}
	u->bufs = malloc((size_t)RECV_BUFS * RECV_BUF_SIZE);
	u->br = u->bufs ? setup_buf_ring(&u->ring, &ret) : NULL;
	if (!u->br) {
		int err = u->bufs ? -ret : ENOMEM;

		io_uring_queue_exit(&u->ring);
		free(u->bufs);
		free(u);
		errno = err;
		return NULL;
	}
	for (unsigned i = 0; i < RECV_BUFS; i++)
		io_uring_buf_ring_add(u->br, u->bufs + (size_t)i * RECV_BUF_SIZE, RECV_BUF_SIZE,
				      (unsigned short)i, io_uring_buf_ring_mask(RECV_BUFS), (int)i);
	io_uring_buf_ring_advance(u->br, RECV_BUFS);
	u->recv_tmpl.msg_namelen = sizeof(struct sockaddr_in);
	u->recv_tmpl.msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
	return &u->base;
}
