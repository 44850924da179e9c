/* Transports move UDP datagrams for the protocol engines (DESIGN.md).
 *
 * One ops table per backend, nginx-style: io_uring over kernel sockets
 * (uring.c) is the default; a DPDK backend fills the same table. Engines
 * never see a transport: servers hand engine output to it and feed what
 * it receives back into the engine.
 */
#ifndef PXECAST_DATAPLANE_TRANSPORT_H
#define PXECAST_DATAPLANE_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct sockaddr_in;

/* An IPv4 endpoint, both fields in network byte order. */
struct net_addr {
	uint32_t ip;
	uint16_t port;
};

/* Where a datagram came from and which local address/interface took it. */
struct transport_meta {
	struct net_addr from;
	struct net_addr to;   /* local address (IP_PKTINFO) */
	int ifindex;
};

struct transport;

typedef void (*transport_recv_fn)(void *ctx, int sock,
				  const struct transport_meta *meta,
				  const uint8_t *buf, size_t len);
/* Called once a send no longer references its buffers. */
typedef void (*transport_done_fn)(void *arg, int result);

enum transport_sock_flags {
	TRANSPORT_BROADCAST = 1 << 0, /* SO_BROADCAST */
	TRANSPORT_REUSEADDR = 1 << 1,
	TRANSPORT_BIND_DEVICE = 1 << 2, /* bind to the named device */
};

struct transport_udp_opts {
	struct net_addr bind;
	unsigned flags;
	const char *device; /* with TRANSPORT_BIND_DEVICE */
	unsigned rcvbuf;    /* receive buffer bytes; 0: the system default. It
			     * absorbs bursts while the loop is busy (a journal
			     * sync), beyond net.core.rmem_max when privileged */
	uint8_t multicast_ttl; /* > 0: IP_MULTICAST_TTL, and multicast leaves by
				* the bound address (IP_MULTICAST_IF) when it is
				* not 0.0.0.0 */
	transport_recv_fn on_recv;
	void *ctx;
};

/* Stream I/O (TCP for HTTP), io_uring only: one caller-owned operation,
 * one submission, one completion. The caller keeps *io (and its buffers)
 * alive until io->done(io->arg, result) runs; result is what the syscall
 * would return (bytes, a new fd for ACCEPT, or -errno). Backends without
 * kernel sockets leave io_submit NULL. */
enum transport_io_kind {
	TRANSPORT_IO_ACCEPT,  /* fd: listening socket; peer into addr */
	TRANSPORT_IO_RECV,    /* fd, buf, len */
	TRANSPORT_IO_SEND,    /* fd, buf, len, msg_flags (MSG_MORE...) */
	TRANSPORT_IO_SPLICE,  /* fd -> fd_out, off_in (-1: none), len */
	TRANSPORT_IO_READ,    /* fd at off_in into buf, len */
	/* pipe fd -> non-blocking socket fd_out, at most len bytes, moved in
	 * the loop's own thread once fd_out is writable: the result may be
	 * short (what the socket took), never -EAGAIN. */
	TRANSPORT_IO_SPLICE_OUT,
};

struct transport_io {
	enum transport_io_kind kind;
	int fd;
	int fd_out;
	int64_t off_in;
	void *buf;
	uint32_t len;
	int msg_flags;
	struct sockaddr_in *addr;  /* ACCEPT: peer, with addrlen */
	socklen_t *addrlen;
	transport_done_fn done;
	void *arg;
	struct transport_io *next_ready; /* the backend's own */
};

/* Delivery details a plain udp_send cannot express (DHCP replies). */
struct transport_send_opts {
	struct net_addr to;
	uint32_t src_ip;        /* source address; 0: the routing table's choice */
	int ifindex;            /* leave by this interface; 0: routing decides */
	/* With ifindex: the link-layer address of `to`, for a host that has no
	 * address yet and so cannot answer ARP (RFC 2131 4.1, yiaddr). NULL:
	 * resolve as usual. */
	const uint8_t *lladdr;
	uint8_t lladdr_len;
};

struct transport_ops {
	const char *name;
	/* Open a UDP socket; returns a socket id >= 0 or -errno. The bound
	 * address (with the port the kernel chose) goes to *bound. */
	int (*udp_open)(struct transport *t, const struct transport_udp_opts *o,
			struct net_addr *bound);
	void (*udp_close)(struct transport *t, int sock);
	/* Send iov as one datagram, or, with segment > 0, as consecutive
	 * datagrams of `segment` bytes each (the last may be shorter; UDP
	 * GSO where the backend has it). The buffers must stay valid until
	 * done(arg, result) runs; done may run before udp_send returns.
	 * Returns 0 once queued, -errno when nothing was queued (done is
	 * then not called). */
	int (*udp_send)(struct transport *t, int sock, const struct net_addr *to,
			const struct iovec *iov, unsigned iovcnt, unsigned segment,
			transport_done_fn done, void *arg);
	/* Send iov as one datagram with the details in o. Same buffer and
	 * done contract as udp_send. A backend that cannot reach lladdr
	 * directly broadcasts on ifindex instead (a DHCP client takes both). */
	int (*udp_send_opts)(struct transport *t, int sock, const struct transport_send_opts *o,
			     const struct iovec *iov, unsigned iovcnt, transport_done_fn done,
			     void *arg);
	/* Push queued sends, wait for events until deadline_us (monotonic;
	 * 0 = do not wait), dispatch them. Returns events handled or -errno. */
	int (*run_once)(struct transport *t, uint64_t deadline_us);
	/* Queue one stream operation (see struct transport_io). Returns 0
	 * once queued, -errno when not (done is then not called). */
	int (*io_submit)(struct transport *t, struct transport_io *io);
	void (*destroy)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
};

/* The io_uring backend over kernel sockets. NULL with errno on failure. */
struct transport *transport_uring_create(unsigned queue_depth);

/* Monotonic clock in microseconds: the clock every engine is fed. */
uint64_t transport_now_us(void);

#endif
