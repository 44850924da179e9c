/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pxecast-tftp-load: N concurrent TFTP downloads of one file, driven by one
 * io_uring, reporting aggregate throughput, completion-time percentiles and
 * failure causes.
 *
 * Shape of the I/O:
 *   - every client owns a UDP socket (ephemeral port);
 *   - every socket has one multishot RECVMSG armed on a shared provided-buffer
 *     ring, so a received datagram costs one CQE and no syscall and no copy;
 *   - ACKs and RRQs go out as SENDMSG SQEs from a fixed pool of slots; the
 *     whole batch is submitted by the io_uring_enter() that also waits;
 *   - timers (start stagger, retransmission, the run deadline) are deadlines
 *     in the client table, scanned only when the earliest one is due.
 *
 * Receiver (RFC 1350, 2347-2349, 7440): ACK after every W in-order blocks,
 * ACK the last in-order block once on a gap or duplicate, re-ACK on timeout
 * (or re-send the RRQ if nothing came yet), a 64-bit block counter so the
 * 16-bit wire number may roll over, and the end is a block shorter than the
 * negotiated blksize. That receiver is bench/tftp_rx.c, shared with
 * pxecast-bench; this file does the I/O around it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <liburing.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "tftp_rx.h"

#define TFTP_ACK   BENCH_TFTP_ACK

#define TFTP_BLKSIZE_DEFAULT 512u
#define TFTP_BLKSIZE_MIN     8u      /* RFC 2348 */
#define TFTP_BLKSIZE_MAX     65464u  /* RFC 2348 */
#define TFTP_WINDOW_MAX      65535u  /* RFC 7440 */

#define TX_BUF_MAX    512u   /* RRQ with options, ACK, ERROR */
#define CQE_BATCH     256u
#define BUF_GROUP     1
#define BUF_RING_MAX  32768u
#define BUF_MEM_MAX   (256u << 20)   /* provided buffers, all clients */
#define NS_PER_MS     BENCH_NS_PER_MS
#define NS_PER_S      BENCH_NS_PER_S
#define COALESCE_NS   (50 * 1000ull)  /* longest wait for a batch of CQEs */
#ifndef COALESCE_MAX
#define COALESCE_MAX  64u             /* largest batch waited for */
#endif

/* user_data: kind in the top byte, index below */
#define UD_RECV  1ull
#define UD_SEND  2ull
#define UD_MAKE(kind, idx) (((uint64_t)(kind) << 56) | (uint64_t)(idx))
#define UD_KIND(ud)        ((ud) >> 56)
#define UD_INDEX(ud)       ((ud) & ((1ull << 56) - 1))

enum client_state {
	CS_IDLE,        /* waiting for its start time */
	CS_WAIT_FIRST,  /* RRQ sent, nothing from the server yet */
	CS_XFER,        /* receiving DATA */
	CS_DONE,        /* final ACK sent */
	CS_FAILED,
};

enum cause {
	CAUSE_NONE,
	CAUSE_TIMEOUT,    /* retries exhausted */
	CAUSE_ERROR,      /* ERROR packet from the server */
	CAUSE_SIZE,       /* length differs from --expect-size or tsize */
	CAUSE_SHA,        /* digest differs from --sha256 */
	CAUSE_DEADLINE,   /* run deadline or interrupt reached first */
	CAUSE_PROTOCOL,   /* malformed or unacceptable packet */
	CAUSE_SOCKET,     /* socket error (ICMP refused, ...) */
	CAUSE_COUNT
};

static const char *const cause_name[CAUSE_COUNT] = {
	[CAUSE_NONE] = "none",
	[CAUSE_TIMEOUT] = "timeout",
	[CAUSE_ERROR] = "error",
	[CAUSE_SIZE] = "size_mismatch",
	[CAUSE_SHA] = "sha_mismatch",
	[CAUSE_DEADLINE] = "deadline",
	[CAUSE_PROTOCOL] = "protocol",
	[CAUSE_SOCKET] = "socket",
};

#define ERR_CODES 9  /* RFC 1350 + RFC 2347 codes 0..8; others are "other" */

struct client {
	int fd;
	enum client_state state;
	bool connected;
	bool armed;           /* multishot recv outstanding */
	struct sockaddr_in peer;  /* server address, port = TID once locked */
	struct tftp_rx rx;    /* the receiver (bench/boot_tftp.c) */
	uint32_t tries;       /* retransmissions since the last progress */
	uint64_t timer_ns;    /* start time when IDLE, else retransmit time */
	uint64_t start_ns;
	uint64_t end_ns;
	enum cause cause;
	EVP_MD_CTX *sha;
};

struct tx_slot {
	struct msghdr mh;
	struct iovec iov;
	struct sockaddr_in to;
	uint32_t next_free;
	uint8_t buf[TX_BUF_MAX];
};

struct opts {
	struct sockaddr_in server;
	const char *file;
	uint32_t clients;
	uint32_t blksize;
	uint32_t window;
	bool tsize;
	uint32_t timeout_ms;
	uint32_t retries;
	double deadline_s;
	bool have_expect;
	uint64_t expect_size;
	bool have_sha;
	uint8_t sha[32];
	bool json;
	double stagger_ms;
	bool verbose;
};

struct stats {
	uint64_t rx_packets;
	uint64_t rx_stray;       /* wrong source / wrong TID / after end */
	uint64_t rx_trunc;
	uint64_t acks;
	uint64_t retransmits;
	uint64_t gaps;           /* out-of-order blocks that triggered an ACK */
	uint64_t dups;           /* duplicate blocks */
	uint64_t enobufs;
	uint64_t tx_dropped;     /* no slot / no sqe: left to the timer */
	uint64_t tx_errors;
	uint64_t cause[CAUSE_COUNT];
	uint64_t err_code[ERR_CODES + 1];
	char first_error[96];
};

struct bench {
	struct opts o;
	struct io_uring ring;
	struct client *c;
	uint32_t active;           /* not DONE and not FAILED */
	struct tx_slot *tx;
	uint32_t tx_count;
	uint32_t tx_free;          /* head of free list, UINT32_MAX if none */
	struct io_uring_buf_ring *br;
	size_t br_bytes;
	uint8_t *bufs;
	size_t bufs_bytes;
	uint32_t buf_size;
	uint32_t buf_entries;
	uint32_t buf_added;        /* buffers returned in this batch */
	uint32_t *rearm;           /* clients whose multishot ended */
	uint32_t rearm_n;
	uint8_t rrq[TX_BUF_MAX];
	size_t rrq_len;
	struct msghdr rx_mh;       /* template for multishot recvmsg */
	uint64_t now;
	uint64_t t0;
	uint64_t first_start;
	uint64_t last_end;
	uint64_t next_scan;
	uint64_t dup_holdoff_ns;
	uint32_t win_sum;          /* sum of (window - 1) of clients in XFER */
	struct stats st;
};

static volatile sig_atomic_t g_quit;

static void on_signal(int sig)
{
	(void)sig;
	g_quit = 1;
}

/* ---------------------------------------------------------------- options */

static void usage(FILE *f)
{
	fprintf(f,
"usage: pxecast-tftp-load --server IP[:PORT] --file NAME [options]\n"
"  --server IP[:PORT]   TFTP server (port 69 unless given)\n"
"  --file NAME          file to download (every client, the same file)\n"
"  --clients N          concurrent downloads (default 1)\n"
"  --blksize B          RFC 2348 block size to ask (default 1468; 512 = no option)\n"
"  --windowsize W       RFC 7440 window to ask (default 1; option sent when W>1)\n"
"  --tsize, --no-tsize  ask tsize (default on)\n"
"  --timeout-ms MS      retransmission timeout (default 1000)\n"
"  --retries N          retransmissions before a client gives up (default 5)\n"
"  --deadline SEC       hard stop of the whole run (default 600)\n"
"  --expect-size BYTES  a transfer of another length is a failure\n"
"  --sha256 HEX         hash every download and compare (costs client CPU)\n"
"  --stagger-ms MS      delay between consecutive client starts (default 0)\n"
"  --json               print one JSON object instead of the text lines\n"
"  --verbose            one stderr line per failed client\n"
"exit status: 0 when every client succeeded, 1 otherwise, 2 on usage or setup error\n");
}

static bool parse_server(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strchr(s, ':');
	size_t hl = colon ? (size_t)(colon - s) : strlen(s);
	uint64_t port = 69;

	if (hl == 0 || hl >= sizeof(host))
		return false;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (colon && !bench_parse_u64(colon + 1, 1, 65535, &port))
		return false;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1;
}

static bool parse_hex32(const char *s, uint8_t out[32])
{
	if (strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 32; i++) {
		unsigned v = 0;

		for (size_t j = 0; j < 2; j++) {
			char ch = s[2 * i + j];

			v <<= 4;
			if (ch >= '0' && ch <= '9')
				v |= (unsigned)(ch - '0');
			else if (ch >= 'a' && ch <= 'f')
				v |= (unsigned)(ch - 'a' + 10);
			else if (ch >= 'A' && ch <= 'F')
				v |= (unsigned)(ch - 'A' + 10);
			else
				return false;
		}
		out[i] = (uint8_t)v;
	}
	return true;
}

enum {
	OPT_SERVER = 256, OPT_FILE, OPT_CLIENTS, OPT_BLKSIZE, OPT_WINDOW,
	OPT_TSIZE, OPT_NO_TSIZE, OPT_TIMEOUT, OPT_RETRIES, OPT_DEADLINE,
	OPT_EXPECT, OPT_SHA, OPT_JSON, OPT_STAGGER, OPT_VERBOSE, OPT_HELP,
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "clients", required_argument, NULL, OPT_CLIENTS },
		{ "blksize", required_argument, NULL, OPT_BLKSIZE },
		{ "windowsize", required_argument, NULL, OPT_WINDOW },
		{ "tsize", no_argument, NULL, OPT_TSIZE },
		{ "no-tsize", no_argument, NULL, OPT_NO_TSIZE },
		{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "deadline", required_argument, NULL, OPT_DEADLINE },
		{ "expect-size", required_argument, NULL, OPT_EXPECT },
		{ "sha256", required_argument, NULL, OPT_SHA },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "stagger-ms", required_argument, NULL, OPT_STAGGER },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	bool have_server = false;
	uint64_t v;
	int ch;

	memset(o, 0, sizeof(*o));
	o->clients = 1;
	o->blksize = 1468;
	o->window = 1;
	o->tsize = true;
	o->timeout_ms = 1000;
	o->retries = 5;
	o->deadline_s = 600;

	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case OPT_SERVER:
			if (!parse_server(optarg, &o->server))
				goto bad;
			have_server = true;
			break;
		case OPT_FILE:
			o->file = optarg;
			break;
		case OPT_CLIENTS:
			if (!bench_parse_u64(optarg, 1, 1000000, &v))
				goto bad;
			o->clients = (uint32_t)v;
			break;
		case OPT_BLKSIZE:
			if (!bench_parse_u64(optarg, TFTP_BLKSIZE_MIN, TFTP_BLKSIZE_MAX, &v))
				goto bad;
			o->blksize = (uint32_t)v;
			break;
		case OPT_WINDOW:
			if (!bench_parse_u64(optarg, 1, TFTP_WINDOW_MAX, &v))
				goto bad;
			o->window = (uint32_t)v;
			break;
		case OPT_TSIZE:
			o->tsize = true;
			break;
		case OPT_NO_TSIZE:
			o->tsize = false;
			break;
		case OPT_TIMEOUT:
			if (!bench_parse_u64(optarg, 1, 600000, &v))
				goto bad;
			o->timeout_ms = (uint32_t)v;
			break;
		case OPT_RETRIES:
			if (!bench_parse_u64(optarg, 0, 1000, &v))
				goto bad;
			o->retries = (uint32_t)v;
			break;
		case OPT_DEADLINE:
			if (!bench_parse_double(optarg, 0.001, 86400 * 7, &o->deadline_s))
				goto bad;
			break;
		case OPT_EXPECT:
			if (!bench_parse_u64(optarg, 0, UINT64_MAX, &o->expect_size))
				goto bad;
			o->have_expect = true;
			break;
		case OPT_SHA:
			if (!parse_hex32(optarg, o->sha))
				goto bad;
			o->have_sha = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_STAGGER:
			if (!bench_parse_double(optarg, 0, 3600000, &o->stagger_ms))
				goto bad;
			break;
		case OPT_VERBOSE:
			o->verbose = true;
			break;
		case OPT_HELP:
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
		continue;
bad:
		fprintf(stderr, "pxecast-tftp-load: bad value for an option: '%s'\n",
			optarg);
		return -1;
	}
	if (optind != argc || !have_server || o->file == NULL) {
		usage(stderr);
		return -1;
	}
	if (o->file[0] == '\0' || strlen(o->file) > 255) {
		fprintf(stderr, "pxecast-tftp-load: --file must be 1..255 bytes\n");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ setup */

static void build_rrq(struct bench *b)
{
	const struct opts *o = &b->o;

	/* the file name is <= 256 bytes (checked): it always fits */
	b->rrq_len = bench_tftp_rrq(b->rrq, sizeof(b->rrq), o->file, o->blksize,
				    o->window, o->tsize);
}

static void raise_nofile(uint32_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur >= (rlim_t)need + 64)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)need + 64)
		rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static int ring_init(struct bench *b)
{
	struct io_uring_params p;
	unsigned sq = 4096;
	int ret;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL |
		  IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	p.cq_entries = 8 * sq;
	ret = io_uring_queue_init_params(sq, &b->ring, &p);
	if (ret == -EINVAL) {
		/* kernels before 6.1: no DEFER_TASKRUN */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL |
			  IORING_SETUP_COOP_TASKRUN;
		p.cq_entries = 8 * sq;
		ret = io_uring_queue_init_params(sq, &b->ring, &p);
	}
	if (ret < 0) {
		fprintf(stderr, "pxecast-tftp-load: io_uring setup: %s\n",
			strerror(-ret));
		return -1;
	}
	if (!(p.features & IORING_FEAT_EXT_ARG)) {
		fprintf(stderr, "pxecast-tftp-load: kernel lacks IORING_FEAT_EXT_ARG\n");
		return -1;
	}
	return 0;
}

static uint32_t pow2_at_least(uint64_t v)
{
	uint32_t p = 1;

	while (p < v && p < (1u << 31))
		p <<= 1;
	return p;
}

static int bufs_init(struct bench *b)
{
	const struct opts *o = &b->o;
	struct io_uring_buf_reg reg;
	uint64_t want;
	uint32_t max_by_mem;
	int ret;

	/* header + name + TFTP header + the largest block we may accept */
	b->buf_size = (uint32_t)(sizeof(struct io_uring_recvmsg_out) +
				 sizeof(struct sockaddr_in) + 4 +
				 (o->blksize > TFTP_BLKSIZE_DEFAULT ?
				  o->blksize : TFTP_BLKSIZE_DEFAULT));
	b->buf_size = (b->buf_size + 63u) & ~63u;
	/* room for two windows per client, within a memory cap */
	want = (uint64_t)o->clients * o->window * 2;
	if (want < 1024)
		want = 1024;
	b->buf_entries = pow2_at_least(want);
	if (b->buf_entries > BUF_RING_MAX)
		b->buf_entries = BUF_RING_MAX;
	max_by_mem = BUF_MEM_MAX / b->buf_size;
	while (b->buf_entries > 16 && b->buf_entries > max_by_mem)
		b->buf_entries >>= 1;

	b->br_bytes = b->buf_entries * sizeof(struct io_uring_buf);
	b->br = mmap(NULL, b->br_bytes, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->br == MAP_FAILED) {
		perror("pxecast-tftp-load: mmap buffer ring");
		return -1;
	}
	b->bufs_bytes = (size_t)b->buf_entries * b->buf_size;
	b->bufs = mmap(NULL, b->bufs_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->bufs == MAP_FAILED) {
		perror("pxecast-tftp-load: mmap buffers");
		return -1;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)b->br;
	reg.ring_entries = b->buf_entries;
	reg.bgid = BUF_GROUP;
	ret = io_uring_register_buf_ring(&b->ring, &reg, 0);
	if (ret < 0) {
		fprintf(stderr, "pxecast-tftp-load: register buffer ring: %s\n",
			strerror(-ret));
		return -1;
	}
	io_uring_buf_ring_init(b->br);
	for (uint32_t i = 0; i < b->buf_entries; i++)
		io_uring_buf_ring_add(b->br, b->bufs + (size_t)i * b->buf_size,
				      b->buf_size, (unsigned short)i,
				      io_uring_buf_ring_mask(b->buf_entries),
				      (int)i);
	io_uring_buf_ring_advance(b->br, (int)b->buf_entries);

	memset(&b->rx_mh, 0, sizeof(b->rx_mh));
	b->rx_mh.msg_namelen = sizeof(struct sockaddr_in);
	return 0;
}

static int tx_init(struct bench *b)
{
	b->tx_count = b->o.clients * 4 + 256;
	b->tx = calloc(b->tx_count, sizeof(*b->tx));
	if (b->tx == NULL)
		return -1;
	for (uint32_t i = 0; i < b->tx_count; i++)
		b->tx[i].next_free = i + 1 < b->tx_count ? i + 1 : UINT32_MAX;
	b->tx_free = 0;
	return 0;
}

static int sockets_init(struct bench *b)
{
	const struct opts *o = &b->o;
	int rcvbuf = (int)((o->blksize + 4 + 1024) * (uint64_t)o->window * 4);

	if (rcvbuf < 256 * 1024)
		rcvbuf = 256 * 1024;
	if (rcvbuf > 8 * 1024 * 1024)
		rcvbuf = 8 * 1024 * 1024;
	raise_nofile(o->clients);
	for (uint32_t i = 0; i < o->clients; i++) {
		struct client *c = &b->c[i];
		struct sockaddr_in any;

		c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (c->fd < 0) {
			fprintf(stderr, "pxecast-tftp-load: socket %" PRIu32 ": %s\n",
				i, strerror(errno));
			return -1;
		}
		/* FORCE works as root; else the sysctl cap applies */
		if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
			       sizeof(rcvbuf)) != 0)
			setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				   sizeof(rcvbuf));
		memset(&any, 0, sizeof(any));
		any.sin_family = AF_INET;
		if (bind(c->fd, (struct sockaddr *)&any, sizeof(any)) != 0) {
			fprintf(stderr, "pxecast-tftp-load: bind: %s\n",
				strerror(errno));
			return -1;
		}
		c->peer = o->server;
		c->state = CS_IDLE;
		c->timer_ns = b->t0 + (uint64_t)(o->stagger_ms * (double)NS_PER_MS *
						 (double)i);
		if (o->have_sha) {
			c->sha = EVP_MD_CTX_new();
			if (c->sha == NULL ||
			    EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL) != 1) {
				fprintf(stderr, "pxecast-tftp-load: EVP init failed\n");
				return -1;
			}
		}
	}
	b->active = o->clients;
	return 0;
}

/* -------------------------------------------------------------- io_uring */

static struct io_uring_sqe *get_sqe(struct bench *b)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

	if (sqe == NULL) {
		io_uring_submit(&b->ring);
		sqe = io_uring_get_sqe(&b->ring);
	}
	return sqe;
}

static void arm_recv(struct bench *b, uint32_t idx)
{
	struct client *c = &b->c[idx];
	struct io_uring_sqe *sqe;

	if (c->armed || c->state == CS_FAILED)
		return;
	sqe = get_sqe(b);
	if (sqe == NULL)
		return;   /* retried by the next timer scan */
	io_uring_prep_recvmsg_multishot(sqe, c->fd, &b->rx_mh, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BUF_GROUP;
	io_uring_sqe_set_data64(sqe, UD_MAKE(UD_RECV, idx));
	c->armed = true;
}

/* Queue one datagram to the client's peer; drops (the timer recovers) when
 * no slot or SQE is free. */
static void send_pkt(struct bench *b, uint32_t idx, const void *pkt, size_t len)
{
	struct client *c = &b->c[idx];
	struct io_uring_sqe *sqe;
	struct tx_slot *s;
	uint32_t si = b->tx_free;

	if (si == UINT32_MAX || len > TX_BUF_MAX) {
		b->st.tx_dropped++;
		return;
	}
	sqe = get_sqe(b);
	if (sqe == NULL) {
		b->st.tx_dropped++;
		return;
	}
	s = &b->tx[si];
	b->tx_free = s->next_free;
	memcpy(s->buf, pkt, len);
	s->to = c->peer;
	s->iov.iov_base = s->buf;
	s->iov.iov_len = len;
	memset(&s->mh, 0, sizeof(s->mh));
	if (!c->connected) {
		s->mh.msg_name = &s->to;
		s->mh.msg_namelen = sizeof(s->to);
	}
	s->mh.msg_iov = &s->iov;
	s->mh.msg_iovlen = 1;
	io_uring_prep_sendmsg(sqe, c->fd, &s->mh, 0);
	io_uring_sqe_set_data64(sqe, UD_MAKE(UD_SEND, si));
}

static void send_ack(struct bench *b, uint32_t idx, const uint8_t *p, size_t n)
{
	b->st.acks++;
	send_pkt(b, idx, p, n);
}

/* ---------------------------------------------------------- client logic */

static void client_end(struct bench *b, uint32_t idx, enum cause cause)
{
	struct client *c = &b->c[idx];

	if (c->state == CS_DONE || c->state == CS_FAILED)
		return;
	if (c->state == CS_XFER)
		b->win_sum -= c->rx.window - 1;
	c->end_ns = b->now;
	if (c->end_ns > b->last_end)
		b->last_end = c->end_ns;
	c->cause = cause;
	c->state = cause == CAUSE_NONE ? CS_DONE : CS_FAILED;
	b->st.cause[cause]++;
	b->active--;
	if (cause != CAUSE_NONE && b->o.verbose)
		fprintf(stderr, "client %" PRIu32 ": %s%s%d bytes=%" PRIu64
			" block=%" PRIu64 "\n", idx, cause_name[cause],
			cause == CAUSE_ERROR ? " code=" : "",
			cause == CAUSE_ERROR ? c->rx.err_code : 0, c->rx.bytes,
			c->rx.expected);
}

static void client_finish(struct bench *b, uint32_t idx)
{
	struct client *c = &b->c[idx];
	const struct opts *o = &b->o;

	if (o->have_expect && c->rx.bytes != o->expect_size) {
		client_end(b, idx, CAUSE_SIZE);
		return;
	}
	if (c->rx.has_tsize && c->rx.bytes != c->rx.tsize) {
		client_end(b, idx, CAUSE_SIZE);
		return;
	}
	if (c->sha != NULL) {
		uint8_t md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;

		if (EVP_DigestFinal_ex(c->sha, md, &mdlen) != 1 || mdlen != 32 ||
		    memcmp(md, o->sha, 32) != 0) {
			client_end(b, idx, CAUSE_SHA);
			return;
		}
	}
	client_end(b, idx, CAUSE_NONE);
}

static void client_start(struct bench *b, uint32_t idx)
{
	struct client *c = &b->c[idx];

	c->state = CS_WAIT_FIRST;
	tftp_rx_init(&c->rx, b->o.blksize, b->o.window, b->o.tsize, false);
	c->rx.dup_holdoff_ns = b->dup_holdoff_ns;
	c->start_ns = b->now;
	if (b->first_start == 0 || c->start_ns < b->first_start)
		b->first_start = c->start_ns;
	c->timer_ns = b->now + (uint64_t)b->o.timeout_ms * NS_PER_MS;
	send_pkt(b, idx, b->rrq, b->rrq_len);
}

static void client_progress(struct bench *b, struct client *c)
{
	c->tries = 0;
	c->timer_ns = b->now + (uint64_t)b->o.timeout_ms * NS_PER_MS;
}

/* Lock onto the server's TID (source port of its first reply). */
static void client_lock(struct client *c, const struct sockaddr_in *from)
{
	c->peer.sin_port = from->sin_port;
	/* the kernel now filters other sources and skips the route lookup;
	 * rx_packet still checks the source */
	if (connect(c->fd, (const struct sockaddr *)&c->peer,
		    sizeof(c->peer)) == 0)
		c->connected = true;
}

static void rx_error(struct bench *b, uint32_t idx, const uint8_t *p, size_t n)
{
	struct client *c = &b->c[idx];
	uint16_t code = (uint16_t)c->rx.err_code;

	b->st.err_code[code < ERR_CODES ? code : ERR_CODES]++;
	if (b->st.first_error[0] == '\0') {
		size_t m = 0;

		/* sanitise: printable ASCII, no quotes or backslashes */
		for (size_t i = 4; i < n && p[i] != 0 &&
		     m + 1 < sizeof(b->st.first_error); i++) {
			uint8_t ch = p[i];

			b->st.first_error[m++] = (ch >= 0x20 && ch < 0x7f &&
						  ch != '"' && ch != '\\') ?
						 (char)ch : '?';
		}
		if (m == 0)
			b->st.first_error[m++] = '-';
		b->st.first_error[m] = '\0';
	}
	client_end(b, idx, CAUSE_ERROR);
}

static void rx_packet(struct bench *b, uint32_t idx,
		      const struct sockaddr_in *from, const uint8_t *p, size_t n)
{
	struct client *c = &b->c[idx];
	bool was_locked = c->rx.locked;
	uint64_t had = c->rx.bytes;
	uint8_t out[64];
	size_t ol;
	enum tftp_rx_event ev;

	b->st.rx_packets++;
	if (from->sin_family != AF_INET ||
	    from->sin_addr.s_addr != c->peer.sin_addr.s_addr ||
	    (was_locked && from->sin_port != c->peer.sin_port) ||
	    c->state == CS_IDLE || c->state == CS_FAILED) {
		b->st.rx_stray++;
		return;
	}
	ev = tftp_rx_input(&c->rx, b->now, ntohs(from->sin_port), p, n, out, &ol);
	if (!was_locked && c->rx.locked) {
		/* the server's first reply: its port is the transfer's TID */
		client_lock(c, from);
		c->state = CS_XFER;
		b->win_sum += c->rx.window - 1;
	}
	if (c->sha != NULL && c->rx.bytes > had)
		EVP_DigestUpdate(c->sha, p + 4, c->rx.bytes - had);
	if (ol > 0) {
		if (out[1] == TFTP_ACK)
			send_ack(b, idx, out, ol);
		else
			send_pkt(b, idx, out, ol);
	}
	switch (ev) {
	case TFTP_RX_NONE:
		if (c->state == CS_DONE && ol == 0)
			b->st.rx_stray++;
		return;
	case TFTP_RX_PROGRESS:
		client_progress(b, c);
		return;
	case TFTP_RX_DONE:
		client_finish(b, idx);
		return;
	case TFTP_RX_ERROR:
		rx_error(b, idx, p, n);
		return;
	case TFTP_RX_PROTOCOL:
		client_end(b, idx, CAUSE_PROTOCOL);
		return;
	}
}

static void on_recv_cqe(struct bench *b, struct io_uring_cqe *cqe, uint32_t idx)
{
	struct client *c = &b->c[idx];

	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		c->armed = false;
		if (c->state != CS_FAILED)
			b->rearm[b->rearm_n++] = idx;
	}
	if (cqe->res < 0) {
		if (cqe->res == -ENOBUFS) {
			b->st.enobufs++;
		} else if (cqe->res != -ECANCELED && cqe->res != -EINTR) {
			/* e.g. ECONNREFUSED: the server's TID port is gone */
			if (c->state == CS_WAIT_FIRST || c->state == CS_XFER)
				client_end(b, idx, CAUSE_SOCKET);
		}
		return;
	}
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		uint8_t *buf = b->bufs + (size_t)bid * b->buf_size;
		struct io_uring_recvmsg_out *out;

		if (bid >= b->buf_entries)
			return;
		out = io_uring_recvmsg_validate(buf, cqe->res, &b->rx_mh);
		if (out != NULL && out->namelen >= sizeof(struct sockaddr_in)) {
			struct sockaddr_in from;
			const uint8_t *pl = io_uring_recvmsg_payload(out, &b->rx_mh);
			unsigned pn = io_uring_recvmsg_payload_length(out, cqe->res,
								      &b->rx_mh);

			memcpy(&from, io_uring_recvmsg_name(out), sizeof(from));
			if (out->flags & MSG_TRUNC) {
				b->st.rx_trunc++;
				b->st.rx_packets++;
				if (from.sin_addr.s_addr == c->peer.sin_addr.s_addr &&
				    (!c->rx.locked || from.sin_port == c->peer.sin_port) &&
				    (c->state == CS_XFER || c->state == CS_WAIT_FIRST)) {
					client_end(b, idx, CAUSE_PROTOCOL);
				}
			} else {
				rx_packet(b, idx, &from, pl, pn);
			}
		} else {
			b->st.rx_stray++;
		}
		io_uring_buf_ring_add(b->br, buf, b->buf_size, (unsigned short)bid,
				      io_uring_buf_ring_mask(b->buf_entries),
				      (int)b->buf_added++);
	}
}

static void on_send_cqe(struct bench *b, struct io_uring_cqe *cqe, uint32_t si)
{
	if (si >= b->tx_count)
		return;
	if (cqe->res < 0)
		b->st.tx_errors++;
	b->tx[si].next_free = b->tx_free;
	b->tx_free = si;
}

static void reap(struct bench *b)
{
	struct io_uring_cqe *cqes[CQE_BATCH];
	unsigned n;

	do {
		n = io_uring_peek_batch_cqe(&b->ring, cqes, CQE_BATCH);
		b->buf_added = 0;
		for (unsigned i = 0; i < n; i++) {
			uint64_t ud = io_uring_cqe_get_data64(cqes[i]);
			uint64_t idx = UD_INDEX(ud);

			switch (UD_KIND(ud)) {
			case UD_RECV:
				if (idx < b->o.clients)
					on_recv_cqe(b, cqes[i], (uint32_t)idx);
				break;
			case UD_SEND:
				on_send_cqe(b, cqes[i], (uint32_t)idx);
				break;
			default:
				break;
			}
		}
		if (b->buf_added)
			io_uring_buf_ring_advance(b->br, (int)b->buf_added);
		io_uring_cq_advance(&b->ring, n);
		/* buffers are back: multishots stopped by ENOBUFS may resume */
		for (uint32_t i = 0; i < b->rearm_n; i++)
			arm_recv(b, b->rearm[i]);
		b->rearm_n = 0;
	} while (n == CQE_BATCH);
}

/* Start due clients, retransmit or give up on silent ones; returns the
 * earliest pending timer. */
static uint64_t scan_timers(struct bench *b)
{
	uint64_t next = UINT64_MAX;
	uint64_t rto = (uint64_t)b->o.timeout_ms * NS_PER_MS;

	for (uint32_t i = 0; i < b->o.clients; i++) {
		struct client *c = &b->c[i];

		if (c->state == CS_DONE || c->state == CS_FAILED)
			continue;
		if (!c->armed)
			arm_recv(b, i);
		if (c->timer_ns <= b->now) {
			if (c->state == CS_IDLE) {
				client_start(b, i);
			} else if (c->tries >= b->o.retries) {
				client_end(b, i, CAUSE_TIMEOUT);
				continue;
			} else {
				c->tries++;
				b->st.retransmits++;
				c->timer_ns = b->now + rto;
				if (c->state == CS_WAIT_FIRST) {
					send_pkt(b, i, b->rrq, b->rrq_len);
				} else {
					uint8_t ack[8];

					send_ack(b, i, ack, tftp_rx_reack(&c->rx, b->now, ack));
				}
			}
		}
		if (c->timer_ns < next)
			next = c->timer_ns;
	}
	return next;
}

/* The last client's final ACK is still in the SQ when the loop ends: submit
 * it and wait (briefly) for every send to complete, or servers never learn
 * that their last transfers finished. */
static void flush_sends(struct bench *b)
{
	uint64_t end = bench_mono_ns() + 200 * NS_PER_MS;
	uint32_t free_n;

	for (;;) {
		struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 10 * 1000 * 1000 };
		struct io_uring_cqe *cqe;

		free_n = 0;
		for (uint32_t i = b->tx_free; i != UINT32_MAX; i = b->tx[i].next_free)
			free_n++;
		if (free_n == b->tx_count || bench_mono_ns() >= end)
			break;
		io_uring_submit_and_wait_timeout(&b->ring, &cqe, 1, &ts, NULL);
		b->now = bench_mono_ns();
		reap(b);
	}
}

/* ---------------------------------------------------------------- report */

/* nearest-rank percentile of a sorted array, in seconds */
static double pct_s(const uint64_t *v, size_t n, double p)
{
	return (double)bench_pct(v, n, p) / (double)NS_PER_S;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int report(struct bench *b)
{
	const struct opts *o = &b->o;
	uint64_t *dur = calloc(o->clients, sizeof(*dur));
	uint64_t ok_bytes = 0;
	size_t ok = 0;
	uint32_t oack = 0, direct = 0, nb = 0, nw = 0;
	double secs, mbps, p50, p99, pmax;
	char srv[INET_ADDRSTRLEN];

	if (dur == NULL)
		return 2;
	for (uint32_t i = 0; i < o->clients; i++) {
		const struct client *c = &b->c[i];

		b->st.gaps += c->rx.gaps;
		b->st.dups += c->rx.dups;
		if (c->state == CS_DONE) {
			dur[ok++] = c->end_ns - c->start_ns;
			ok_bytes += c->rx.bytes;
		}
		if (c->state == CS_DONE || c->rx.bytes > 0) {
			if (c->rx.oack)
				oack++;
			else
				direct++;
			if (nb == 0) {
				nb = c->rx.blksize;
				nw = c->rx.window;
			}
		}
	}
	qsort(dur, ok, sizeof(*dur), bench_cmp_u64);
	secs = b->last_end > b->first_start && b->first_start != 0 ?
	       (double)(b->last_end - b->first_start) / (double)NS_PER_S : 0;
	mbps = secs > 0 ? (double)ok_bytes / secs / 1e6 : 0;
	p50 = pct_s(dur, ok, 50);
	p99 = pct_s(dur, ok, 99);
	pmax = ok ? (double)dur[ok - 1] / (double)NS_PER_S : 0;
	inet_ntop(AF_INET, &o->server.sin_addr, srv, sizeof(srv));

	if (o->json) {
		bool first = true;

		printf("{\"server\":\"%s:%u\",\"file\":\"", srv,
		       ntohs(o->server.sin_port));
		for (const char *s = o->file; *s; s++) {
			unsigned char ch = (unsigned char)*s;

			if (ch < 0x20 || ch == '"' || ch == '\\')
				printf("\\u%04x", ch);
			else
				putchar(ch);
		}
		printf("\",\"clients\":%" PRIu32 ",\"ok\":%zu,\"failed\":%zu,"
		       "\"bytes\":%" PRIu64 ",\"seconds\":%.6f,\"mbps\":%.3f,"
		       "\"p50\":%.6f,\"p99\":%.6f,\"max\":%.6f,"
		       "\"blksize_asked\":%" PRIu32 ",\"windowsize_asked\":%" PRIu32
		       ",\"blksize\":%" PRIu32 ",\"windowsize\":%" PRIu32
		       ",\"oack\":%" PRIu32 ",\"direct\":%" PRIu32 ","
		       "\"failures\":{",
		       o->clients, ok, o->clients - ok, ok_bytes, secs, mbps,
		       p50, p99, pmax, o->blksize, o->window, nb, nw, oack, direct);
		for (int k = CAUSE_TIMEOUT; k < CAUSE_COUNT; k++) {
			printf("%s\"%s\":%" PRIu64, first ? "" : ",", cause_name[k],
			       b->st.cause[k]);
			first = false;
		}
		printf("},\"errors\":{");
		first = true;
		for (int k = 0; k <= ERR_CODES; k++) {
			if (b->st.err_code[k] == 0)
				continue;
			if (k == ERR_CODES)
				printf("%s\"other\":%" PRIu64, first ? "" : ",",
				       b->st.err_code[k]);
			else
				printf("%s\"%d\":%" PRIu64, first ? "" : ",", k,
				       b->st.err_code[k]);
			first = false;
		}
		printf("},\"first_error\":\"%s\",\"rx_packets\":%" PRIu64
		       ",\"acks\":%" PRIu64 ",\"retransmits\":%" PRIu64
		       ",\"gaps\":%" PRIu64 ",\"dups\":%" PRIu64
		       ",\"stray\":%" PRIu64 ",\"enobufs\":%" PRIu64
		       ",\"tx_dropped\":%" PRIu64 ",\"tx_errors\":%" PRIu64
		       ",\"client_cpu\":%.3f}\n",
		       b->st.first_error, b->st.rx_packets, b->st.acks,
		       b->st.retransmits, b->st.gaps, b->st.dups, b->st.rx_stray,
		       b->st.enobufs, b->st.tx_dropped, b->st.tx_errors,
		       cpu_seconds());
	} else {
		printf("clients=%" PRIu32 " ok=%zu failed=%zu bytes=%" PRIu64
		       " seconds=%.3f MB/s=%.1f p50=%.3fs p99=%.3fs max=%.3fs\n",
		       o->clients, ok, o->clients - ok, ok_bytes, secs, mbps,
		       p50, p99, pmax);
		printf("negotiated blksize=%" PRIu32 " windowsize=%" PRIu32
		       " oack=%" PRIu32 " direct=%" PRIu32 " rx=%" PRIu64
		       " acks=%" PRIu64 " retransmits=%" PRIu64 " gaps=%" PRIu64
		       " dups=%" PRIu64 " stray=%" PRIu64 " enobufs=%" PRIu64
		       " client_cpu=%.2fs\n",
		       nb, nw, oack, direct, b->st.rx_packets, b->st.acks,
		       b->st.retransmits, b->st.gaps, b->st.dups, b->st.rx_stray,
		       b->st.enobufs, cpu_seconds());
		if (ok < o->clients) {
			printf("failures:");
			for (int k = CAUSE_TIMEOUT; k < CAUSE_COUNT; k++) {
				if (k == CAUSE_ERROR || b->st.cause[k] == 0)
					continue;
				printf(" %s=%" PRIu64, cause_name[k], b->st.cause[k]);
			}
			for (int k = 0; k <= ERR_CODES; k++) {
				if (b->st.err_code[k] == 0)
					continue;
				if (k == ERR_CODES)
					printf(" error_other=%" PRIu64, b->st.err_code[k]);
				else
					printf(" error_%d=%" PRIu64, k, b->st.err_code[k]);
			}
			if (b->st.first_error[0])
				printf(" first_error=\"%s\"", b->st.first_error);
			printf("\n");
		}
	}
	free(dur);
	return ok == o->clients ? 0 : 1;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	static struct bench bench;
	struct bench *b = &bench;
	struct sigaction sa;
	uint64_t hard_end;
	int ret;

	if (parse_opts(argc, argv, &b->o) != 0)
		return 2;
	build_rrq(b);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	b->c = calloc(b->o.clients, sizeof(*b->c));
	b->rearm = calloc(b->o.clients, sizeof(*b->rearm));
	if (b->c == NULL || b->rearm == NULL || tx_init(b) != 0) {
		fprintf(stderr, "pxecast-tftp-load: out of memory\n");
		return 2;
	}
	for (uint32_t i = 0; i < b->o.clients; i++)
		b->c[i].fd = -1;
	if (ring_init(b) != 0 || bufs_init(b) != 0)
		return 2;
	b->t0 = bench_mono_ns();
	b->now = b->t0;
	if (sockets_init(b) != 0)
		return 2;
	for (uint32_t i = 0; i < b->o.clients; i++)
		arm_recv(b, i);
	hard_end = b->t0 + (uint64_t)(b->o.deadline_s * (double)NS_PER_S);
	/* below any sane server retransmission timeout */
	b->dup_holdoff_ns = (uint64_t)b->o.timeout_ms * NS_PER_MS / 4;
	if (b->dup_holdoff_ns > 100 * NS_PER_MS)
		b->dup_holdoff_ns = 100 * NS_PER_MS;
	b->next_scan = b->t0;

	while (b->active > 0 && !g_quit) {
		struct __kernel_timespec ts;
		struct io_uring_cqe *cqe;
		uint64_t wait_until;
		unsigned wait_nr;

		b->now = bench_mono_ns();
		if (b->now >= hard_end)
			break;
		if (b->now >= b->next_scan) {
			uint64_t next = scan_timers(b);

			/* never spin: at most one scan per millisecond */
			if (next < b->now + NS_PER_MS)
				next = b->now + NS_PER_MS;
			b->next_scan = next;
			if (b->active == 0)
				break;
		}
		wait_until = b->next_scan < hard_end ? b->next_scan : hard_end;
		/*
		 * Coalesce wake-ups: a context switch per datagram costs more
		 * than the datagram. With many windowed blocks in flight, sleep
		 * until a quarter of them arrived, but never longer than
		 * COALESCE_NS, so a slow server sees at most that much extra ACK
		 * latency. Lock-step transfers (window 1) add nothing: they are
		 * latency-bound and get a wake-up per datagram.
		 */
		wait_nr = 1;
		if (b->win_sum >= 8) {
			wait_nr = b->win_sum / 4 < COALESCE_MAX ?
				  b->win_sum / 4 : COALESCE_MAX;
			if (wait_until > b->now + COALESCE_NS)
				wait_until = b->now + COALESCE_NS;
		}
		ts.tv_sec = (long long)((wait_until - b->now) / NS_PER_S);
		ts.tv_nsec = (long long)((wait_until - b->now) % NS_PER_S);
		ret = io_uring_submit_and_wait_timeout(&b->ring, &cqe, wait_nr,
						       &ts, NULL);
		if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY) {
			fprintf(stderr, "pxecast-tftp-load: io_uring_enter: %s\n",
				strerror(-ret));
			break;
		}
		b->now = bench_mono_ns();
		reap(b);
	}
	flush_sends(b);
	b->now = bench_mono_ns();
	for (uint32_t i = 0; i < b->o.clients; i++) {
		if (b->c[i].state != CS_DONE && b->c[i].state != CS_FAILED) {
			if (b->c[i].start_ns == 0) {
				/* never started: count from the deadline's view */
				b->c[i].start_ns = b->now;
			}
			client_end(b, i, CAUSE_DEADLINE);
		}
	}
	ret = report(b);
	fflush(stdout);
	/* the kernel tears down the ring, the sockets and the buffers */
	return ret;
}
