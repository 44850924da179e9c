/* The DHCP engine on a transport: sockets, journal, group commit.
 *
 * Delivery (RFC 2131 4.1) is decided by the engine; this file only maps
 * it onto a send: a broadcast leaves by the interface the request came in
 * on (IP_PKTINFO), a LINK reply goes to yiaddr at chaddr (the transport
 * learns the link address first), relay and renewal replies are unicast.
 */
#include "control/dhcp/dhcp_service.h"

#include "appliance/log.h"
#include "dataplane/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JOURNAL_QUEUE_BYTES (1u << 20) /* ~13000 rows per loop turn */
#define JOURNAL_LOAD_MAX (256u << 20)
#define CLOCK_RESYNC_US (60u * 1000000u)
/* Requests keep arriving while the loop waits for fdatasync: room for a
 * few thousand of them in the kernel rather than drops. */
#define SOCKET_RCVBUF (8u << 20)

/* A reply travelling through the transport; recycled when its send ends. */
struct out_slot {
	struct dhcp_service *svc;
	struct out_slot *next;
	struct dhcp_reply r;
};

struct dhcp_service {
	struct transport *t;
	struct dhcp_service_config cfg;
	struct dhcp_leases *leases;
	struct dhcp_server *srv;
	int sock, sock_pxe;              /* 67; 4011 (proxy mode) or -1 */
	uint16_t port, port_pxe;         /* host order */
	int journal_fd, dir_fd;
	char journal_name[NAME_MAX + 1];
	struct out_slot *free_slots;
	uint64_t next_compact, next_clock;
	uint64_t wrong_interface, send_errors, commit_errors, slots_out;
};

/* ---- sending ---- */

static struct out_slot *slot_get(struct dhcp_service *s)
{
	struct out_slot *o = s->free_slots;

	if (o) {
		s->free_slots = o->next;
		return o;
	}
	o = malloc(sizeof(*o));
	if (o)
		o->svc = s;
	return o;
}

static void slot_put(struct dhcp_service *s, struct out_slot *o)
{
	o->next = s->free_slots;
	s->free_slots = o;
}

static void on_sent(void *arg, int result)
{
	struct out_slot *o = arg;

	if (result < 0)
		o->svc->send_errors++;
	o->svc->slots_out--;
	slot_put(o->svc, o);
}

static const char *msgtype_name(uint8_t t)
{
	static const char *const names[] = { "?", "discover", "offer", "request", "decline",
					     "ack", "nak", "release", "inform" };

	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

static void log_reply(const struct dhcp_reply *r)
{
	char mac[3 * DHCP_CHADDR_LEN], ip[INET_ADDRSTRLEN];
	uint32_t yiaddr;
	size_t n = 0;

	for (unsigned i = 0; i < r->hlen && i < DHCP_CHADDR_LEN; i++)
		n += (size_t)snprintf(mac + n, sizeof(mac) - n, i ? ":%02x" : "%02x", r->chaddr[i]);
	mac[n] = '\0';
	memcpy(&yiaddr, r->buf + 16, 4); /* BOOTP yiaddr */
	inet_ntop(AF_INET, &yiaddr, ip, sizeof(ip));
	log_event(r->msgtype == DHCPOFFER ? LOG_DEBUG : LOG_INFO, "dhcp.reply",
		  "type=%s mac=%s ip=%s dest=%s", msgtype_name(r->msgtype), mac, ip,
		  r->dest == DHCP_DEST_BROADCAST ? "broadcast"
		  : r->dest == DHCP_DEST_LINK	 ? "link"
						 : "unicast");
}

/* Hands o to the transport, which owns it until on_sent. */
static void reply_send(struct dhcp_service *s, struct out_slot *o)
{
	const struct dhcp_reply *r = &o->r;
	struct transport_send_opts so = {
		.to = { r->ip, htons(r->port) },
		.src_ip = r->src_ip,
	};
	struct iovec iov = { (void *)r->buf, r->len };
	int sock = r->src_port == s->port_pxe && s->sock_pxe >= 0 ? s->sock_pxe : s->sock;
	int err;

	if (r->dest == DHCP_DEST_BROADCAST) {
		so.ifindex = r->ifindex;
	} else if (r->dest == DHCP_DEST_LINK) {
		so.ifindex = r->ifindex;
		so.lladdr = r->chaddr;
		so.lladdr_len = r->hlen;
	}
	log_reply(r);
	s->slots_out++;
	err = s->t->ops->udp_send_opts(s->t, sock, &so, &iov, 1, on_sent, o);
	if (err < 0) {
		s->slots_out--;
		s->send_errors++;
		slot_put(s, o);
	}
}

/* ---- receiving ---- */

static bool interface_allowed(const struct dhcp_service *s, int ifindex)
{
	if (s->cfg.nifindex == 0)
		return true;
	for (unsigned i = 0; i < s->cfg.nifindex; i++)
		if (s->cfg.ifindex[i] == ifindex)
			return true;
	return false;
}

static void on_recv(void *ctx, int sock, const struct transport_meta *tm, const uint8_t *buf,
		    size_t len)
{
	struct dhcp_service *s = ctx;
	struct dhcp_meta meta = {
		.src_ip = tm->from.ip,
		.src_port = ntohs(tm->from.port),
		.local_ip = tm->to.ip,
		.local_port = sock == s->sock_pxe ? DHCP_PXE_PORT : DHCP_SERVER_PORT,
		.ifindex = tm->ifindex,
	};
	struct out_slot *o;

	if (!interface_allowed(s, tm->ifindex)) {
		s->wrong_interface++;
		return;
	}
	o = slot_get(s);
	if (!o)
		return;
	if (dhcp_server_input(s->srv, transport_now_us(), &meta, buf, len, &o->r) == 1)
		reply_send(s, o);
	else
		slot_put(s, o);
}

/* ---- journal ---- */

static void journal_load(struct dhcp_service *s, int fd, int64_t now)
{
	const struct dhcp_leases_stats *st = dhcp_leases_stats(s->leases);
	struct stat sb;
	uint8_t *buf;
	size_t got = 0;

	if (fstat(fd, &sb) < 0 || sb.st_size <= 0)
		return;
	if ((uint64_t)sb.st_size > JOURNAL_LOAD_MAX) {
		log_event(LOG_ERR, "dhcp.journal", "error=\"larger than 256 MiB: not loaded\"");
		return;
	}
	buf = malloc((size_t)sb.st_size);
	if (!buf)
		return;
	while (got < (size_t)sb.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)sb.st_size - got, (off_t)got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	dhcp_leases_load(s->leases, buf, got, now);
	free(buf);
	log_event(LOG_INFO, "dhcp.journal", "file=%s rows=%llu bad=%llu stale=%llu",
		  s->cfg.lease_file, (unsigned long long)st->rows_loaded,
		  (unsigned long long)st->rows_bad, (unsigned long long)st->rows_stale);
}

/* Rewrite the journal as one row per lease; also the recovery from a
 * failed fdatasync, after which the old file cannot be trusted. */
static int journal_compact(struct dhcp_service *s)
{
	int fd = dhcp_leases_compact(s->leases, s->dir_fd, s->journal_name, (int64_t)time(NULL));

	if (fd < 0) {
		log_event(LOG_ERR, "dhcp.journal", "action=compact error=\"%s\"", strerror(-fd));
		return fd;
	}
	if (s->journal_fd >= 0)
		close(s->journal_fd);
	s->journal_fd = fd;
	return 0;
}

static int journal_open(struct dhcp_service *s)
{
	char dir[PATH_MAX], base[PATH_MAX];
	int fd;

	if (strlen(s->cfg.lease_file) >= PATH_MAX)
		return -ENAMETOOLONG;
	strcpy(dir, s->cfg.lease_file);
	strcpy(base, s->cfg.lease_file);
	if (strlen(basename(base)) > NAME_MAX)
		return -ENAMETOOLONG;
	strcpy(s->journal_name, basename(base));
	s->dir_fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dir_fd < 0)
		return -errno;
	fd = openat(s->dir_fd, s->journal_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		journal_load(s, fd, (int64_t)time(NULL));
		close(fd);
	} else if (errno != ENOENT) {
		/* Unreadable: start empty rather than refuse to serve. */
		log_event(LOG_ERR, "dhcp.journal", "file=%s error=\"%s\"", s->cfg.lease_file,
			  strerror(errno));
	}
	return journal_compact(s);
}

/* ---- life cycle ---- */

struct dhcp_service *dhcp_service_new(struct transport *t, const struct dhcp_service_config *cfg)
{
	struct dhcp_service *s = calloc(1, sizeof(*s));
	struct transport_udp_opts uo = {
		.flags = TRANSPORT_BROADCAST | TRANSPORT_REUSEADDR,
		.rcvbuf = SOCKET_RCVBUF,
		.on_recv = on_recv,
	};
	int err;

	if (!s)
		return NULL;
	s->t = t;
	s->cfg = *cfg;
	s->sock = s->sock_pxe = s->journal_fd = s->dir_fd = -1;
	s->port = DHCP_SERVER_PORT;
	s->port_pxe = DHCP_PXE_PORT;
	s->leases = dhcp_leases_create(cfg->max_leases ? cfg->max_leases : 65536,
				       JOURNAL_QUEUE_BYTES);
	s->srv = s->leases ? dhcp_server_create(cfg->engine, s->leases) : NULL;
	if (!s->srv) {
		err = errno ? -errno : -ENOMEM;
		goto fail;
	}
	dhcp_server_set_clock(s->srv, transport_now_us(), (int64_t)time(NULL));
	if (cfg->lease_file && (err = journal_open(s)) < 0)
		goto fail;
	uo.ctx = s;
	uo.bind.port = htons(s->port);
	err = t->ops->udp_open(t, &uo, NULL);
	if (err < 0)
		goto fail;
	s->sock = err;
	if (cfg->engine->mode == DHCP_MODE_PROXY) {
		uo.bind.port = htons(s->port_pxe);
		err = t->ops->udp_open(t, &uo, NULL);
		if (err < 0)
			goto fail;
		s->sock_pxe = err;
	}
	s->next_compact = transport_now_us() + (uint64_t)(cfg->compact_seconds ? cfg->compact_seconds
									     : 3600) * 1000000u;
	s->next_clock = transport_now_us() + CLOCK_RESYNC_US;
	return s;
fail:
	dhcp_service_free(s);
	errno = -err;
	return NULL;
}

void dhcp_service_free(struct dhcp_service *s)
{
	if (!s)
		return;
	if (s->sock >= 0)
		s->t->ops->udp_close(s->t, s->sock);
	if (s->sock_pxe >= 0)
		s->t->ops->udp_close(s->t, s->sock_pxe);
	/* Replies still in the transport come back through on_sent: wait
	 * (bounded) so their slots are freed here, not leaked. */
	for (int i = 0; i < 100 && s->slots_out > 0; i++)
		s->t->ops->run_once(s->t, transport_now_us() + 10000);
	/* Rows not yet synced were never acknowledged: losing them is safe. */
	if (s->journal_fd >= 0)
		close(s->journal_fd);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	dhcp_server_destroy(s->srv);
	dhcp_leases_destroy(s->leases);
	while (s->free_slots) {
		struct out_slot *o = s->free_slots;

		s->free_slots = o->next;
		free(o);
	}
	free(s);
}

uint64_t dhcp_service_commit(struct dhcp_service *s, uint64_t now_us)
{
	struct out_slot *o;

	if (dhcp_leases_queued_seq(s->leases) > dhcp_leases_durable_seq(s->leases) &&
	    s->journal_fd >= 0) {
		int n = dhcp_server_flush(s->srv, s->journal_fd);

		if (n < 0) {
			s->commit_errors++;
			log_event(LOG_ERR, "dhcp.journal", "action=flush error=\"%s\"", strerror(-n));
			journal_compact(s);
		}
	}
	while ((o = slot_get(s)) != NULL) {
		if (!dhcp_server_take_durable(s->srv, &o->r)) {
			slot_put(s, o);
			break;
		}
		reply_send(s, o);
	}
	if (now_us >= s->next_clock) {
		/* Follow wall-clock steps: leases on disk are in wall time. */
		dhcp_server_set_clock(s->srv, now_us, (int64_t)time(NULL));
		s->next_clock = now_us + CLOCK_RESYNC_US;
	}
	if (now_us >= s->next_compact) {
		if (s->journal_fd >= 0)
			journal_compact(s);
		s->next_compact = now_us + (uint64_t)(s->cfg.compact_seconds ? s->cfg.compact_seconds
									  : 3600) * 1000000u;
	}
	return s->next_clock < s->next_compact ? s->next_clock : s->next_compact;
}

void dhcp_service_write_metrics(const struct dhcp_service *s, FILE *f)
{
	const struct dhcp_counters *c = dhcp_server_counters(s->srv);
	const struct dhcp_leases_stats *l = dhcp_leases_stats(s->leases);
	uint64_t parse_errors = 0;

	for (int i = 0; i < DHCP_ERR__COUNT; i++)
		parse_errors += c->parse[i];
#define M(name, v) fprintf(f, "pxecast_dhcp_" name " %llu\n", (unsigned long long)(v))
	M("received_total", c->rx);
	M("malformed_total", parse_errors);
	M("offers_total", c->offers);
	M("acks_total", c->acks);
	M("naks_total", c->naks);
	M("informs_total", c->informs);
	M("releases_total", c->releases);
	M("declines_total", c->declines);
	M("proxy_offers_total", c->proxy_offers);
	M("boot_acks_total", c->boot_acks);
	M("rate_limited_total", c->rate_limited);
	M("unknown_host_total", c->unknown_host);
	M("no_subnet_total", c->no_subnet);
	M("foreign_server_total", c->foreign_server);
	M("outside_pool_total", c->outside_pool);
	M("pool_exhausted_total", c->pool_exhausted);
	M("not_boot_client_total", c->not_boot_client);
	M("journal_full_total", c->journal_full + c->pending_full);
	M("wrong_interface_total", s->wrong_interface);
	M("send_errors_total", s->send_errors);
	M("acks_pending", dhcp_server_pending(s->srv));
	M("journal_rows_loaded_total", l->rows_loaded);
	M("journal_rows_bad_total", l->rows_bad);
	M("journal_flushes_total", l->flushes);
	M("journal_rows_flushed_total", l->rows_flushed);
	M("journal_errors_total", l->flush_errors + s->commit_errors);
	M("journal_compactions_total", l->compactions);
#undef M
}
