/* The bulk sender over one UDP socket: the engine decides, this loop moves
 * bytes. Source symbols go out straight from the store's chunks; repair
 * symbols are encoded here from the slice (mtftp/rs.h). Plain sockets with
 * sendmmsg/recvmmsg and ppoll: one session per process, in the foreground
 * of `pxecast multicast start` (like udp-sender).
 */
#include "mtftp/bulk.h"
#include "mtftp/rs.h"
#include "appliance/log.h"
#include "imager/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLICE_CACHE (BULK_ACTIONS_MAX + 8) /* a batch never evicts its own slices */
#define RECV_BATCH 32

/* A slice's symbols where they lie in the store's chunks, pinned while the
 * entry lives: no copy of the slice. Only a symbol that straddles two
 * chunks, and the zero-padded end of the object's last symbol, are copied
 * into `edge`. */
struct slice_buf {
	uint32_t slice;   /* UINT32_MAX: empty */
	uint64_t used;
	struct store_chunk *pins[2];
	const uint8_t *sym[RS_MAX_K];
	uint8_t *edge;    /* 2 symbols */
};

struct io {
	const struct bulk_run_config *rc;
	struct bulk_sender *s;
	struct store_object *obj;
	int fd;
	struct sockaddr_in group;
	size_t slice_bytes;
	struct slice_buf cache[SLICE_CACHE];
	uint64_t use_clock;
	uint8_t *repair;  /* BULK_ACTIONS_MAX symbols */
	uint64_t send_errors, slice_maps;
	bool gso;
};

static struct bulk_output out;

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void slice_unpin(struct slice_buf *b)
{
	store_chunk_put(b->pins[0]);
	store_chunk_put(b->pins[1]);
	b->pins[0] = b->pins[1] = NULL;
	b->slice = UINT32_MAX;
}

/* Symbol pointers of a slice mapped as iov[0..n): in place, or copied into
 * the edge buffer where a symbol is split or short. */
static void slice_point(struct slice_buf *b, const struct iovec *iov, int n, unsigned k,
			unsigned S, uint64_t len)
{
	unsigned edges = 0;

	for (unsigned j = 0; j < k; j++) {
		uint64_t o = (uint64_t)j * S, in0 = iov[0].iov_len;
		uint8_t *e;

		if (o + S <= in0) {
			b->sym[j] = (const uint8_t *)iov[0].iov_base + o;
			continue;
		}
		if (n == 2 && o >= in0 && o + S <= len) {
			b->sym[j] = (const uint8_t *)iov[1].iov_base + (o - in0);
			continue;
		}
		e = b->edge + (size_t)(edges++ % 2) * S;
		memset(e, 0, S);
		for (uint64_t x = o; x < o + S && x < len; x++)
			e[x - o] = x < in0 ? ((const uint8_t *)iov[0].iov_base)[x]
					   : ((const uint8_t *)iov[1].iov_base)[x - in0];
		b->sym[j] = e;
	}
}

/* The slice's k symbol pointers; NULL on a read error. */
static const uint8_t *const *slice_data(struct io *io, uint32_t slice)
{
	struct slice_buf *victim = &io->cache[0];
	uint64_t off = (uint64_t)slice * io->slice_bytes, size = io->rc->engine.size;
	uint64_t len = size - off < io->slice_bytes ? size - off : io->slice_bytes;
	unsigned S = io->rc->engine.symbol;
	struct iovec iov[2];
	int n;

	for (int i = 0; i < SLICE_CACHE; i++) {
		if (io->cache[i].slice == slice) {
			io->cache[i].used = ++io->use_clock;
			return io->cache[i].sym;
		}
		if (io->cache[i].used < victim->used)
			victim = &io->cache[i];
	}
	slice_unpin(victim);
	n = store_object_map(io->obj, off, (uint32_t)len, iov, victim->pins);
	if (n < 0)
		return NULL;
	if (n == 1)
		iov[1] = (struct iovec){ NULL, 0 };
	slice_point(victim, iov, n, bulk_slice_k(size, io->rc->engine.k, S, slice), S, len);
	victim->slice = slice;
	victim->used = ++io->use_clock;
	io->slice_maps++;
	return victim->sym;
}

/* The payload of a DATA action: straight from the store for a source
 * symbol, encoded into `spare` for a repair symbol. */
static const uint8_t *data_payload(struct io *io, const struct bulk_action *a, uint8_t *spare)
{
	unsigned S = io->rc->engine.symbol;
	const uint8_t *const *sym = slice_data(io, a->slice);
	unsigned k = bulk_slice_k(io->rc->engine.size, io->rc->engine.k, S, a->slice);

	if (!sym)
		return NULL;
	if (a->esi < k)
		return sym[a->esi];
	rs_encode(k, S, sym, a->esi, spare);
	return spare;
}

/* One datagram per control action; runs of DATA go out as UDP GSO
 * batches (one trip through the stack for gso_segments packets, at most
 * 44 of 1472 bytes) unless GSO is off or the kernel refused it once. */
static int flush_actions(struct io *io)
{
	struct mmsghdr msgs[BULK_ACTIONS_MAX];
	struct iovec iov[BULK_ACTIONS_MAX * 2];
	struct sockaddr_in to[BULK_ACTIONS_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl[BULK_ACTIONS_MAX];
	unsigned n = 0, v = 0, S = io->rc->engine.symbol, seg = BULK_DATA_HDR + S;
	unsigned max_segs = 65507 / seg < io->rc->gso_segments ? 65507 / seg : io->rc->gso_segments;
	struct msghdr *batch = NULL;
	unsigned batch_segs = 0;

	for (unsigned i = 0; i < out.n; i++) {
		struct bulk_action *a = &out.act[i];
		const uint8_t *pl = NULL;
		struct msghdr *h;

		if (a->kind == BULK_ACT_DATA) {
			pl = data_payload(io, a, io->repair + (size_t)i * S);
			if (!pl)
				return -EIO;
			if (batch && batch_segs < max_segs) {
				iov[v++] = (struct iovec){ a->pkt, a->len };
				iov[v++] = (struct iovec){ (void *)pl, S };
				batch->msg_iovlen += 2;
				batch_segs++;
				continue;
			}
		}
		h = &msgs[n].msg_hdr;
		memset(h, 0, sizeof(*h));
		h->msg_iov = &iov[v];
		iov[v++] = (struct iovec){ a->pkt, a->len };
		h->msg_iovlen = 1;
		h->msg_name = &io->group;
		h->msg_namelen = sizeof(io->group);
		batch = NULL;
		if (a->kind == BULK_ACT_UNICAST) {
			to[n] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = a->to.port,
						      .sin_addr.s_addr = a->to.ip };
			h->msg_name = &to[n];
		} else if (a->kind == BULK_ACT_DATA) {
			iov[v++] = (struct iovec){ (void *)pl, S };
			h->msg_iovlen = 2;
			if (io->gso) {
				struct cmsghdr *cm;
				uint16_t gso = (uint16_t)seg;

				h->msg_control = ctl[n].buf;
				h->msg_controllen = sizeof(ctl[n].buf);
				cm = CMSG_FIRSTHDR(h);
				cm->cmsg_level = SOL_UDP;
				cm->cmsg_type = UDP_SEGMENT;
				cm->cmsg_len = CMSG_LEN(sizeof(gso));
				memcpy(CMSG_DATA(cm), &gso, sizeof(gso));
				batch = h;
				batch_segs = 1;
			}
		}
		n++;
	}
	for (unsigned done = 0; done < n;) {
		int r = sendmmsg(io->fd, msgs + done, n - done, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* ENOBUFS and friends: those datagrams are lost, as on the
			 * wire. A kernel or device without UDP GSO: stop using it. */
			if (msgs[done].msg_hdr.msg_controllen && (errno == EIO || errno == EINVAL ||
								  errno == EOPNOTSUPP)) {
				io->gso = false;
				log_event(LOG_WARN, "multicast.gso_off", "session=%s errno=%d",
					  io->rc->name, errno);
			}
			io->send_errors++;
			done++;
			continue;
		}
		done += (unsigned)r;
	}
	out.n = 0;
	return 0;
}

static int open_socket(struct io *io)
{
	const struct bulk_run_config *rc = io->rc;
	int one = 1, ttl = (int)rc->ttl, loop = rc->loop, sndbuf = 4 << 20, rcvbuf = 4 << 20;
	struct sockaddr_in any = { .sin_family = AF_INET };
	struct ip_mreqn mreq = { 0 };

	io->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (io->fd < 0)
		return -errno;
	setsockopt(io->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(io->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
		setsockopt(io->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (setsockopt(io->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(io->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (setsockopt(io->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
	    setsockopt(io->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop)) < 0)
		return -errno;
	if (rc->ifname && rc->ifname[0]) {
		mreq.imr_ifindex = (int)if_nametoindex(rc->ifname);
		if (mreq.imr_ifindex == 0)
			return -ENODEV;
		if (setsockopt(io->fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) < 0)
			return -errno;
	}
	if (bind(io->fd, (struct sockaddr *)&any, sizeof(any)) < 0)
		return -errno;
	io->group = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = rc->group_port,
					  .sin_addr.s_addr = rc->group_ip };
	return 0;
}

static void print_progress(struct io *io, uint64_t now, uint64_t start, bool table)
{
	const struct bulk_sender_counters *c = bulk_sender_counters(io->s);
	unsigned nm = bulk_sender_members(io->s), done = 0, active = 0, gone = 0;
	double secs = (double)(now - start) / 1e6;
	struct bulk_member_info mi;
	char ip[INET_ADDRSTRLEN];

	for (unsigned i = 0; i < nm; i++) {
		bulk_sender_member(io->s, i, &mi);
		done += mi.state == BULK_M_DONE;
		active += mi.state == BULK_M_ACTIVE;
		gone += mi.state == BULK_M_GONE;
	}
	fprintf(stderr, "multicast %s: %.1fs sent %.1f MiB at %.0f Mbit/s, %u receivers "
		"(%u receiving, %u done, %u dropped), %llu NAKs, %llu repairs\n",
		io->rc->name, secs, (double)c->bytes_sent / 1048576.0,
		(double)bulk_sender_rate(io->s) * 8 / 1e6, nm, active, done, gone,
		(unsigned long long)c->naks,
		(unsigned long long)(c->repair_sent + c->carousel_sent));
	if (!table)
		return;
	for (unsigned i = 0; i < nm; i++) {
		bulk_sender_member(io->s, i, &mi);
		inet_ntop(AF_INET, &mi.addr.ip, ip, sizeof(ip));
		fprintf(stderr, "  %-15s %5.1f%%  %8.1f MiB  loss %4.1f%%  NAKs %-6llu %s\n", ip,
			100.0 * (double)mi.bytes / (double)io->rc->engine.size,
			(double)mi.bytes / 1048576.0, mi.loss_permille / 10.0,
			(unsigned long long)mi.naks, bulk_member_state_name(mi.state));
	}
}

static void drain_socket(struct io *io, uint64_t now)
{
	uint8_t bufs[RECV_BATCH][BULK_CTL_MAX + 64];
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct sockaddr_in from[RECV_BATCH];
	int n;

	for (int i = 0; i < RECV_BATCH; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &from[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
	}
	n = recvmmsg(io->fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		struct bulk_addr a = { from[i].sin_addr.s_addr, from[i].sin_port };

		bulk_sender_input(io->s, now, a, bufs[i], msgs[i].msg_len, &out);
		flush_actions(io);
	}
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static int finish(struct io *io, uint64_t start)
{
	const struct bulk_sender_counters *c = bulk_sender_counters(io->s);
	unsigned nm = bulk_sender_members(io->s), ok = 0;
	struct bulk_member_info mi;

	for (unsigned i = 0; i < nm; i++) {
		bulk_sender_member(io->s, i, &mi);
		ok += mi.state == BULK_M_DONE &&
		      (mi.result == BULK_RESULT_OK || mi.result == BULK_RESULT_FETCHED);
	}
	log_event(LOG_INFO, "multicast.end",
		  "session=%s receivers=%u ok=%u seconds=%.2f sender_cpu_s=%.3f data=%llu source=%llu "
		  "repair=%llu carousel=%llu naks=%llu nak_suppressed=%llu nak_ratelimited=%llu "
		  "nak_past_end=%llu nak_early=%llu nonmember=%llu unknown_session=%llu "
		  "truncated=%llu bad_packets=%llu members_full=%llu timeouts=%llu fetch_told=%llu "
		  "rate_decreases=%llu overflow_reports=%llu revived=%llu send_errors=%llu "
		  "slice_maps=%llu lag_max=%llu",
		  io->rc->name, nm, ok, (double)(mono_us() - start) / 1e6, cpu_seconds(),
		  (unsigned long long)c->data_sent, (unsigned long long)c->source_sent,
		  (unsigned long long)c->repair_sent, (unsigned long long)c->carousel_sent,
		  (unsigned long long)c->naks, (unsigned long long)c->nak_suppressed,
		  (unsigned long long)c->nak_ratelimited, (unsigned long long)c->nak_past_end,
		  (unsigned long long)c->nak_early, (unsigned long long)c->nonmember,
		  (unsigned long long)c->unknown_session, (unsigned long long)c->truncated,
		  (unsigned long long)c->bad_packets, (unsigned long long)c->members_full,
		  (unsigned long long)c->timeouts, (unsigned long long)c->fetch_told,
		  (unsigned long long)c->rate_decreases, (unsigned long long)c->overflow_reports,
		  (unsigned long long)c->revived, (unsigned long long)io->send_errors,
		  (unsigned long long)io->slice_maps, (unsigned long long)c->lag_max);
	return nm > 0 && ok == nm ? 0 : 1;
}

int bulk_send_run(const struct bulk_run_config *rc, struct store_object *obj)
{
	struct io io = { .rc = rc, .obj = obj, .fd = -1, .gso = rc->gso && rc->gso_segments > 1 };
	uint64_t start = mono_us(), next_progress, next_table, end_at = 0;
	struct bulk_sender_config engine;
	int rc_ = 0;

	io.slice_bytes = (size_t)rc->engine.k * rc->engine.symbol;
	io.repair = malloc((size_t)BULK_ACTIONS_MAX * rc->engine.symbol);
	for (int i = 0; i < SLICE_CACHE; i++) {
		io.cache[i].slice = UINT32_MAX;
		io.cache[i].edge = malloc(2 * (size_t)rc->engine.symbol);
		if (!io.cache[i].edge)
			rc_ = -ENOMEM;
	}
	engine = rc->engine;
	if (io.gso && engine.send_batch == 0)
		engine.send_batch = (uint8_t)(rc->gso_segments > 64 ? 64 : rc->gso_segments);
	io.s = bulk_sender_new(&engine, start);
	if (!io.repair || !io.s)
		rc_ = -ENOMEM;
	if (rc_ == 0)
		rc_ = open_socket(&io);
	next_progress = start + (uint64_t)rc->progress_ms * 1000;
	next_table = start + 5000000;
	while (rc_ == 0) {
		uint64_t now = mono_us(), deadline;
		struct pollfd pfd = { .fd = io.fd, .events = POLLIN };
		struct timespec ts;

		bulk_sender_tick(io.s, now, &out);
		if ((rc_ = flush_actions(&io)) < 0)
			break;
		if (rc->progress_ms && now >= next_progress) {
			print_progress(&io, now, start, now >= next_table);
			if (now >= next_table)
				next_table = now + 5000000;
			next_progress = now + (uint64_t)rc->progress_ms * 1000;
		}
		if (bulk_sender_state(io.s) == BULK_SS_FINISHED) {
			if (!end_at)
				end_at = now + rc->linger_us;
			if (now >= end_at)
				break;
		}
		deadline = bulk_sender_deadline(io.s);
		if (end_at && end_at < deadline)
			deadline = end_at;
		if (rc->progress_ms && next_progress < deadline)
			deadline = next_progress;
		now = mono_us();
		deadline = deadline > now ? deadline - now : 0;
		ts.tv_sec = (time_t)(deadline / 1000000);
		ts.tv_nsec = (long)(deadline % 1000000) * 1000;
		if (ppoll(&pfd, 1, &ts, NULL) > 0)
			drain_socket(&io, mono_us());
	}
	if (rc_ == 0) {
		if (rc->progress_ms)
			print_progress(&io, mono_us(), start, true);
		rc_ = finish(&io, start);
	}
	if (io.fd >= 0)
		close(io.fd);
	bulk_sender_free(io.s);
	for (int i = 0; i < SLICE_CACHE; i++) {
		slice_unpin(&io.cache[i]);
		free(io.cache[i].edge);
	}
	free(io.repair);
	return rc_;
}
