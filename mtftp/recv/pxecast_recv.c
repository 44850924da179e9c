/* pxecast-recv: receive one bulk multicast session into a file or a block
 * device, for an installer initramfs (statically linked, plain sockets).
 *
 *   pxecast-recv --group 239.1.2.3:9000 --out /dev/sda
 *                [--interface eth0] [--http-fallback http://10.0.0.1/img.raw]
 *
 * Joins, writes each decoded slice where it belongs, falls back to HTTP
 * Range requests for what it lacks when the sender says so or goes silent,
 * and checks the SHA-256 of everything written against the announced one
 * before it reports success (slices that completed in order are hashed as
 * they are written, the others are read back). Exit 0 only on a match.
 */
#include "mtftp/bulk.h"
#include "mtftp/recv/http_fetch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH 16
#define GRO_BUF 65536
#define HASH_STEP (4u << 20) /* hashed per loop turn, so receiving goes on */

static const char usage[] =
	"usage: pxecast-recv --group ADDR:PORT --out FILE|DEVICE [--interface IF]\n"
	"                    [--http-fallback URL] [--session ID] [--timeout SECONDS] [--quiet]\n";

struct recv {
	struct bulk_receiver *r;
	int sock, out_fd, read_fd;
	bool is_regular, quiet;
	const char *out_path, *fallback;
	EVP_MD_CTX *md;
	uint64_t hashed, start, first_data, http_bytes;
	uint8_t *hash_buf;
};

static struct bulk_output out;

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "pxecast-recv: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static int apply(struct recv *x)
{
	for (unsigned i = 0; i < out.n; i++) {
		struct bulk_action *a = &out.act[i];

		if (a->kind == BULK_ACT_WRITE) {
			uint64_t done = 0;

			while (done < a->write_len) {
				ssize_t n = pwrite(x->out_fd, a->data + done, a->write_len - done,
						   (off_t)(a->offset + done));
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0) {
					fprintf(stderr, "pxecast-recv: write %s at %llu: %s\n", x->out_path,
						(unsigned long long)(a->offset + done),
						n < 0 ? strerror(errno) : "device full");
					return -1;
				}
				done += (uint64_t)n;
			}
			/* In order (the usual case): hash it now, no read-back. */
			if (a->offset == x->hashed) {
				EVP_DigestUpdate(x->md, a->data, a->write_len);
				x->hashed += a->write_len;
			}
		} else if (a->kind == BULK_ACT_UNICAST) {
			struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = a->to.port,
						  .sin_addr.s_addr = a->to.ip };

			sendto(x->sock, a->pkt, a->len, 0, (struct sockaddr *)&to, sizeof(to));
		}
	}
	out.n = 0;
	return 0;
}

/* Hash what is written from the start of the object, up to `upto`. */
static int hash_more(struct recv *x, uint64_t upto, uint64_t budget)
{
	while (x->hashed < upto && budget > 0) {
		size_t want = upto - x->hashed < HASH_STEP ? (size_t)(upto - x->hashed) : HASH_STEP;
		ssize_t n = pread(x->read_fd, x->hash_buf, want, (off_t)x->hashed);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "pxecast-recv: read back %s: %s\n", x->out_path,
				n < 0 ? strerror(errno) : "short");
			return -1;
		}
		EVP_DigestUpdate(x->md, x->hash_buf, (size_t)n);
		x->hashed += (uint64_t)n;
		budget = budget > (uint64_t)n ? budget - (uint64_t)n : 0;
	}
	return 0;
}

static int fetch_missing(struct recv *x)
{
	const char *url = x->fallback && x->fallback[0] ? x->fallback : bulk_receiver_fetch_url(x->r);
	uint32_t cur = 0;
	uint64_t off, len, run_off = 0, run_len = 0;
	char err[256];

	fprintf(stderr, "pxecast-recv: %s; fetching the rest by HTTP\n", bulk_receiver_message(x->r));
	if (!url || !url[0]) {
		fprintf(stderr, "pxecast-recv: no --http-fallback URL and the sender named none\n");
		return -1;
	}
	/* Adjacent missing slices become one range. */
	for (bool more = true; more;) {
		more = bulk_receiver_next_missing(x->r, &cur, &off, &len);
		if (more && run_len && off == run_off + run_len) {
			run_len += len;
			continue;
		}
		if (run_len) {
			if (http_fetch_range(url, run_off, run_len, x->out_fd, err, sizeof(err)) < 0) {
				fprintf(stderr, "pxecast-recv: HTTP fallback: %s\n", err);
				return -1;
			}
			x->http_bytes += run_len;
		}
		run_off = off;
		run_len = more ? len : 0;
	}
	bulk_receiver_fetched(x->r);
	return 0;
}

static void progress(struct recv *x, uint64_t now, bool final)
{
	const struct bulk_announce *o = bulk_receiver_object(x->r);
	uint64_t bytes = (uint64_t)bulk_receiver_slices_done(x->r) * o->k * o->symbol;
	double secs = (double)(now - (x->first_data ? x->first_data : x->start)) / 1e6;

	if (x->quiet || bulk_receiver_state(x->r) == BULK_RX_LISTENING)
		return;
	if (bytes > o->size)
		bytes = o->size;
	fprintf(stderr, "pxecast-recv: %5.1f%% %.1f of %.1f MiB, %.1f MB/s%s", 
		100.0 * (double)bytes / (double)o->size, (double)bytes / 1048576.0,
		(double)o->size / 1048576.0, secs > 0 ? (double)bytes / 1e6 / secs : 0.0,
		final || !isatty(2) ? "\n" : "\r");
}

static int open_socket(const char *group, const char *ifname, struct sockaddr_in *g)
{
	char host[64];
	const char *colon = strrchr(group, ':');
	unsigned long port;
	int s, one = 1, rcvbuf = 32 << 20;
	struct ip_mreqn mreq = { 0 };

	if (!colon || (size_t)(colon - group) >= sizeof(host))
		die("--group wants ADDR:PORT, got '%s'", group);
	memcpy(host, group, (size_t)(colon - group));
	host[colon - group] = '\0';
	port = strtoul(colon + 1, NULL, 10);
	memset(g, 0, sizeof(*g));
	g->sin_family = AF_INET;
	g->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &g->sin_addr) != 1 || !IN_MULTICAST(ntohl(g->sin_addr.s_addr)) ||
	    port == 0 || port > 65535)
		die("--group wants a multicast ADDR:PORT, got '%s'", group);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket: %s", strerror(errno));
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = g->sin_port };
	if (bind(s, (struct sockaddr *)&any, sizeof(any)) < 0)
		die("bind: %s", strerror(errno));
	mreq.imr_multiaddr = g->sin_addr;
	if (ifname) {
		mreq.imr_ifindex = (int)if_nametoindex(ifname);
		if (mreq.imr_ifindex == 0)
			die("no interface '%s'", ifname);
		setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq));
	}
	if (setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0)
		die("joining the group: %s", strerror(errno));
	/* Batches of packets in one receive, when the kernel can (>= 5.0). */
	setsockopt(s, SOL_UDP, UDP_GRO, &one, sizeof(one));
	/* The socket's drop count with each receive: the sender slows down. */
	setsockopt(s, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	return s;
}

static int feed(struct recv *x, struct bulk_addr from, const uint8_t *buf, size_t len)
{
	uint64_t now = mono_us();

	bulk_receiver_input(x->r, now, from, buf, len, &out);
	if (!x->first_data && bulk_receiver_state(x->r) != BULK_RX_LISTENING)
		x->first_data = now;
	return apply(x);
}

/* With UDP_GRO a datagram may hold several of the sender's packets, all of
 * gso_size bytes but the last (the sender's UDP GSO batches, re-formed). */
static int receive_batch(struct recv *x)
{
	static uint8_t bufs[BATCH][GRO_BUF];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in from[BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} ctl[BATCH];
	int n;

	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &from[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		msgs[i].msg_hdr.msg_control = ctl[i].buf;
		msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
	}
	n = recvmmsg(x->sock, msgs, BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		struct bulk_addr a = { from[i].sin_addr.s_addr, from[i].sin_port };
		size_t len = msgs[i].msg_len, seg = len;
		struct cmsghdr *cm;

		for (cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr); cm; cm = CMSG_NXTHDR(&msgs[i].msg_hdr, cm)) {
			int g;

			if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
				memcpy(&g, CMSG_DATA(cm), sizeof(g));
				if (g > 0)
					seg = (size_t)g;
			} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
				uint32_t drops;

				memcpy(&drops, CMSG_DATA(cm), sizeof(drops));
				bulk_receiver_socket_drops(x->r, drops);
			}
		}
		for (size_t off = 0; off < len; off += seg)
			if (feed(x, a, bufs[i] + off, len - off < seg ? len - off : seg) < 0)
				return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "group", required_argument, NULL, 'g' },
		{ "interface", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "http-fallback", required_argument, NULL, 'f' },
		{ "session", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *group = NULL, *ifname = NULL;
	struct bulk_receiver_config rc;
	struct recv x = { .sock = -1 };
	struct sockaddr_in g;
	struct stat st;
	uint64_t next_progress, announced_size = 0;
	uint8_t sha[32];
	int o, status = 1;

	bulk_receiver_defaults(&rc);
	while ((o = getopt_long(argc, argv, "g:i:o:f:s:t:q", opts, NULL)) != -1) {
		switch (o) {
		case 'g': group = optarg; break;
		case 'i': ifname = optarg; break;
		case 'o': x.out_path = optarg; break;
		case 'f': x.fallback = optarg; break;
		case 's': rc.session = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 't': rc.idle_timeout_us = strtoull(optarg, NULL, 10) * 1000000u; break;
		case 'q': x.quiet = true; break;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!group || !x.out_path || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (rc.idle_timeout_us == 0)
		rc.idle_timeout_us = 10u * 1000000u;
	while (getrandom(&rc.receiver, sizeof(rc.receiver), 0) != sizeof(rc.receiver) ||
	       rc.receiver == 0)
		;
	x.sock = open_socket(group, ifname, &g);
	x.out_fd = open(x.out_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	x.read_fd = x.out_fd < 0 ? -1 : open(x.out_path, O_RDONLY | O_CLOEXEC);
	if (x.out_fd < 0 || x.read_fd < 0 || fstat(x.out_fd, &st) < 0)
		die("cannot open the output: %s", strerror(errno));
	x.is_regular = S_ISREG(st.st_mode);
	x.md = EVP_MD_CTX_new();
	x.hash_buf = malloc(HASH_STEP);
	if (!x.md || !x.hash_buf || !EVP_DigestInit_ex(x.md, EVP_sha256(), NULL))
		die("%s", "out of memory");
	x.start = mono_us();
	x.r = bulk_receiver_new(&rc, x.start);
	if (!x.r)
		die("%s", "out of memory");
	next_progress = x.start + 1000000;
	for (;;) {
		enum bulk_receiver_state state = bulk_receiver_state(x.r);
		uint64_t now = mono_us(), deadline;
		struct pollfd pfd = { .fd = x.sock, .events = POLLIN };
		struct timespec ts;

		if (state != BULK_RX_LISTENING && !announced_size) {
			announced_size = bulk_receiver_object(x.r)->size;
			/* A regular file gets the object's size (and loses any tail of
			 * an older, longer one); a device must be large enough. */
			if (x.is_regular && ftruncate(x.out_fd, (off_t)announced_size) < 0)
				die("cannot size the output: %s", strerror(errno));
			if (!x.is_regular) {
				off_t end = lseek(x.read_fd, 0, SEEK_END);

				if (end >= 0 && (uint64_t)end < announced_size)
					die("%s is smaller than the object", x.out_path);
			}
		}
		if (state == BULK_RX_FETCH && fetch_missing(&x) < 0)
			break;
		if (state == BULK_RX_DONE) {
			status = 0;
			break;
		}
		if (state == BULK_RX_FAILED) {
			fprintf(stderr, "pxecast-recv: %s\n", bulk_receiver_message(x.r));
			break;
		}
		if (state != BULK_RX_LISTENING &&
		    hash_more(&x, bulk_receiver_contiguous(x.r), HASH_STEP) < 0)
			break;
		/* The read-back is hashed a step per loop turn, as above, so the
		 * receiver goes on reporting while it verifies a large object
		 * from a slow disk instead of being dropped for its silence. */
		if (bulk_receiver_state(x.r) == BULK_RX_VERIFY && x.hashed >= announced_size) {
			unsigned dl = 32;

			/* Durable before it is reported: a write error the disk
			 * gives only now must not be counted ok by the sender. */
			if (fsync(x.out_fd) < 0 && errno != EINVAL)
				die("fsync: %s", strerror(errno));
			EVP_DigestFinal_ex(x.md, sha, &dl);
			bulk_receiver_verified(x.r, mono_us(), sha, &out);
			if (apply(&x) < 0)
				break;
			if (!bulk_receiver_digest_ok(x.r)) {
				fprintf(stderr, "pxecast-recv: %s\n", bulk_receiver_message(x.r));
				break;
			}
			continue;
		}
		if (now >= next_progress) {
			progress(&x, now, false);
			next_progress = now + 1000000;
		}
		bulk_receiver_tick(x.r, now, &out);
		if (apply(&x) < 0)
			break;
		deadline = bulk_receiver_deadline(x.r);
		if (next_progress < deadline)
			deadline = next_progress;
		if (x.hashed < bulk_receiver_contiguous(x.r))
			deadline = now; /* more to hash */
		deadline = deadline > now ? deadline - now : 0;
		ts.tv_sec = (time_t)(deadline / 1000000);
		ts.tv_nsec = (long)(deadline % 1000000) * 1000;
		if (ppoll(&pfd, 1, &ts, NULL) > 0 && receive_batch(&x) < 0)
			break;
	}
	if (status == 0) {
		const struct bulk_receiver_counters *c = bulk_receiver_counters(x.r);
		double secs = (double)(mono_us() - (x.first_data ? x.first_data : x.start)) / 1e6;
		char hex[65];

		progress(&x, mono_us(), true);
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", sha[i]);
		fprintf(stderr,
			"pxecast-recv: ok sha256=%s bytes=%llu seconds=%.3f MBps=%.2f http_bytes=%llu "
			"packets=%llu duplicates=%llu naks=%llu truncated=%llu bad=%llu "
			"buffer_full=%llu buffer_peak=%llu\n",
			hex, (unsigned long long)announced_size, secs,
			secs > 0 ? (double)announced_size / 1e6 / secs : 0.0,
			(unsigned long long)x.http_bytes, (unsigned long long)c->packets,
			(unsigned long long)c->duplicates, (unsigned long long)c->naks_sent,
			(unsigned long long)c->truncated, (unsigned long long)c->bad_packets,
			(unsigned long long)c->buffer_full, (unsigned long long)c->buffer_peak);
	} else {
		fprintf(stderr, "pxecast-recv: FAILED receiving %s into %s\n", group, x.out_path);
	}
	bulk_receiver_free(x.r);
	EVP_MD_CTX_free(x.md);
	free(x.hash_buf);
	close(x.read_fd);
	if (close(x.out_fd) < 0 && status == 0) {
		fprintf(stderr, "pxecast-recv: close %s: %s\n", x.out_path, strerror(errno));
		status = 1;
	}
	close(x.sock);
	return status;
}
