/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pxecast-bench: one simulated machine and the run that drives them. */
#ifndef PXECAST_BENCH_CLIENT_H
#define PXECAST_BENCH_CLIENT_H

#include <liburing.h>
#include <netinet/in.h>

#include "boot_bench.h"
#include "boot_run.h"

#define CLIENT_BUF 8192

enum client_step {
	ST_WAIT,          /* before its start time */
	ST_DHCP,          /* ROM or iPXE DHCP (see ipxe) */
	ST_PROBE,         /* TFTP tsize probe */
	ST_TFTP,          /* TFTP download of the boot file */
	ST_HTTP,          /* script, kernel, initrd (see http_phase) */
	ST_MCAST,         /* in a multicast session (optional) */
	ST_DONE,
	ST_FAILED,
};

enum http_state { H_IDLE, H_CONNECTING, H_HEAD, H_BODY };

struct client {
	uint32_t idx;
	unsigned ns;
	int ifindex;
	uint8_t mac[6];
	uint8_t guid[16];
	enum boot_rom rom;        /* ROM_UEFI or ROM_BIOS */
	enum client_step step;
	bool ipxe;                /* the DHCP under way is iPXE's */
	bool requesting;          /* DHCP: REQUEST sent (else DISCOVER) */
	unsigned tries, naks;
	uint32_t xid;
	uint64_t due;             /* timer; 0: none */
	uint64_t dhcp_t0;
	uint32_t ip, bound_ip, offer_ip, server_id, next_server;
	unsigned prefix;
	char bootfile[256];
	char script_url[URL_PATH_MAX + 80];
	/* sockets */
	int fd;                   /* TFTP or TCP */
	uint16_t gen;             /* bumped when fd closes: stale CQEs ignored */
	struct sockaddr_in peer;
	struct msghdr mh;
	struct iovec iov;
	struct sockaddr_in from;
	/* TFTP */
	struct tftp_rx rx;
	uint64_t tsize;
	/* HTTP */
	enum boot_phase http_phase;
	enum http_state hs;
	struct url url, conn;
	bool conn_open;
	struct http_head head;
	uint64_t body_left;
	size_t have;
	struct ipxe_script script;
	/* multicast */
	struct bulk_receiver *mcast;
	uint64_t mcast_bytes;
	uint8_t *buf;             /* CLIENT_BUF bytes */
};


struct opts {
	const char *bridge_ns, *bridge;
	unsigned clients, nns;
	double storm_ms;          /* boot storm: starts spread over this */
	double rate;              /* trickle: clients per second (0: storm) */
	double loss_pct;
	double deadline_s;
	const char *rom;          /* uefi, bios or mix */
	const char *kernel_url, *initrd_url;   /* override the script */
	uint64_t expect_boot, expect_kernel, expect_initrd, expect_mcast;   /* 0: unchecked */
	const char *mcast_group;  /* ADDR:PORT of a pxecast multicast session */
	unsigned tftp_timeout_ms, tftp_retries;
	unsigned http_stall_ms;
	bool collect_offers;      /* EDK2: wait out the first timeout for offers */
	const char *json, *svg, *label;
	bool progress;
	uint32_t seed;
};

#define PKT_BUFS 64           /* receives outstanding per namespace */

struct tx_slot {
	struct msghdr mh;
	struct iovec iov;
	struct sockaddr_in to;
	uint32_t client;          /* UINT32_MAX: none */
	uint16_t gen;
	bool tcp;
	uint32_t next_free;
	uint8_t buf[FRAME_MAX + 2];
};

struct bench {
	struct opts o;
	struct io_uring ring;
	struct boot_net net;
	struct client *c;
	struct boot_result *res;
	uint32_t active;          /* started, not finished */
	uint32_t waiting;         /* not started */
	struct tx_slot *tx;
	uint32_t tx_free;
	uint8_t *pkt_buf;         /* nns * PKT_BUFS frames */
	uint8_t *sink;            /* HTTP bodies are discarded into it */
	struct dhcp_msg *scratch;
	struct url kernel_override, initrd_override;
	struct sockaddr_in mcast_group;
	uint64_t now, t0, next_due;
	uint32_t rng;
	uint64_t deadline, next_progress, next_sample;
	struct boot_counters cnt;
	struct boot_report rep;
};

#define SINK_LEN (4u << 20)

/* boot_io.c */
#include <signal.h>
extern volatile sig_atomic_t boot_quit;
int io_init(struct bench *b);
struct io_uring_sqe *io_sqe(struct bench *b);
void io_send_frame(struct bench *b, struct client *c, const uint8_t *f, size_t n);
void io_send_udp(struct bench *b, struct client *c, uint32_t ip, uint16_t port,
		 const uint8_t *p, size_t n);
void io_send_tcp(struct bench *b, struct client *c, const uint8_t *p, size_t n);
void io_recv_udp(struct bench *b, struct client *c);
void io_recv_tcp(struct bench *b, struct client *c, bool discard);
void io_connect(struct bench *b, struct client *c);
void io_close(struct bench *b, struct client *c);
int io_loop(struct bench *b);
uint32_t bench_rand(struct bench *b);

/* boot_client.c */
void client_start(struct bench *b, struct client *c);
void client_timer(struct bench *b, struct client *c);
void client_dhcp_frame(struct bench *b, unsigned ns, const uint8_t *f, size_t n);
void client_udp(struct bench *b, struct client *c, int res);
void client_connected(struct bench *b, struct client *c, int res);
void client_tcp(struct bench *b, struct client *c, int res);
void client_tcp_sent(struct bench *b, struct client *c, int res, size_t want);
void client_fail(struct bench *b, struct client *c, enum boot_reason why);
void client_done(struct bench *b, struct client *c);
struct boot_result *client_result(struct bench *b, struct client *c);
void client_set_due(struct bench *b, struct client *c, unsigned ms);
void client_dhcp_begin(struct bench *b, struct client *c, bool ipxe);

/* boot_xfer.c */
void tftp_begin(struct bench *b, struct client *c, bool probe);
void tftp_timeout(struct bench *b, struct client *c);
void http_begin(struct bench *b, struct client *c, enum boot_phase ph,
		const struct url *u);

/* boot_mcast.c */
struct bulk_receiver;
void mcast_begin(struct bench *b, struct client *c);
void mcast_input(struct bench *b, struct client *c, int res);
void mcast_timer(struct bench *b, struct client *c);
void mcast_free(struct client *c);

#endif
