/* The TFTP server: requests on the listening port, one engine session and
 * one ephemeral port (TID) per transfer, data straight from the content
 * store's shared chunks. Sends of a window are grouped into UDP GSO sends.
 */
#include "dataplane/tftp/tftp.h"

#include "appliance/log.h"
#include "dataplane/timer_heap.h"
#include "dataplane/transport.h"
#include "imager/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SESSION_BUCKETS 1024
#define UPLOAD_BLKSIZE_MAX 8192  /* the transport's receive buffers hold 9216 */

struct session {
	struct tftp_server *srv;
	struct tftp_session *eng;
	struct timer_node timer;
	struct net_addr peer;
	int sock;
	bool is_write;
	bool committed;
	struct store_object *obj;
	struct store_upload up;
	uint64_t started_us;
	char name[96];            /* sanitised, for the log line */
	struct session *hnext;
};

struct tftp_server {
	struct transport *t;
	struct store *store;
	struct tftp_server_config cfg;
	int upload_fd;
	int sock;
	struct net_addr local;
	struct timer_heap timers;
	struct session *buckets[SESSION_BUCKETS];
	struct tftp_sender *tx;
	tftp_multicast_fn multicast;
	void *multicast_ctx;
	struct tftp_counters c;
};

static unsigned bucket_of(const struct net_addr *a)
{
	uint32_t h = (a->ip ^ ((uint32_t)a->port << 16 | a->port)) * 2654435761u;

	return h >> 22; /* 10 bits: SESSION_BUCKETS */
}

static struct session *session_find(struct tftp_server *srv, const struct net_addr *peer)
{
	struct session *s = srv->buckets[bucket_of(peer)];

	while (s && (s->peer.ip != peer->ip || s->peer.port != peer->port))
		s = s->hnext;
	return s;
}

static void format_addr(char *buf, size_t len, const struct net_addr *a)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->ip, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u", ip, ntohs(a->port));
}

/* ---- sending ---- */

static void send_raw(struct tftp_server *srv, int sock, const struct net_addr *to,
		     const uint8_t *pkt, size_t len)
{
	tftp_send_packet(srv->tx, sock, to, pkt, len);
}

static void send_error(struct tftp_server *srv, int sock, const struct net_addr *to,
		       uint16_t code, const char *msg)
{
	tftp_send_error(srv->tx, sock, to, code, msg);
}

static int send_data(struct session *s, const struct tftp_action *act, unsigned n)
{
	int64_t b = tftp_send_data(s->srv->tx, s->sock, &s->peer, s->obj, act, n,
				   tftp_session_params(s->eng)->blksize);

	if (b < 0)
		return -1;
	s->srv->c.bytes_sent += (uint64_t)b;
	return 0;
}

/* ---- session lifecycle ---- */

static void session_end(struct session *s)
{
	struct tftp_server *srv = s->srv;
	struct session **pp = &srv->buckets[bucket_of(&s->peer)];
	enum tftp_end_reason r = tftp_session_end_reason(s->eng);
	const struct tftp_params *p = tftp_session_params(s->eng);
	uint64_t bytes = tftp_session_bytes(s->eng);
	double secs = (double)(transport_now_us() - s->started_us) / 1e6;
	char client[32];

	bool probe = tftp_session_was_probe(s->eng);

	format_addr(client, sizeof(client), &s->peer);
	log_event(r == TFTP_END_OK || probe ? LOG_INFO : LOG_WARN, "tftp.done",
		  "client=%s file=%s dir=%s bytes=%llu seconds=%.3f rate_mbps=%.1f blksize=%u "
		  "windowsize=%u result=%s",
		  client, s->name, s->is_write ? "upload" : "download", (unsigned long long)bytes,
		  secs, secs > 0 ? (double)bytes / secs / 1e6 : 0.0, p->blksize, p->windowsize,
		  r == TFTP_END_NONE ? "shutdown" : probe ? "size-probe" : tftp_end_reason_name(r));
	if (probe)
		srv->c.size_probes++;
	else if (r == TFTP_END_OK)
		srv->c.transfers_ok++;
	else
		srv->c.transfers_failed++;
	if (r == TFTP_END_TIMEOUT)
		srv->c.timeouts++;
	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = s->hnext;
	timer_heap_set(&srv->timers, &s->timer, UINT64_MAX);
	srv->t->ops->udp_close(srv->t, s->sock);
	if (s->is_write && !s->committed)
		store_upload_abort(&s->up);
	store_object_put(s->obj);
	tftp_session_free(s->eng);
	srv->c.sessions_active--;
	free(s);
}

/* Act on what the engine asked; ends the session when it is over.
 * Uploads are committed (fsync, rename) before their final ACK leaves. */
static void session_apply(struct session *s, struct tftp_output *out)
{
	struct tftp_server *srv = s->srv;
	unsigned i;

	for (i = 0; i < out->n; i++) {
		const struct tftp_action *a = &out->act[i];

		if (a->kind != TFTP_ACT_WRITE)
			continue;
		/* Without tsize the size is only known as it grows. */
		if (srv->cfg.limits.max_file_size &&
		    a->offset + a->len > srv->cfg.limits.max_file_size) {
			tftp_session_abort(s->eng, TFTP_ERR_DISK_FULL, "file too large", out);
			break;
		}
		if (pwrite(s->up.fd, a->data, a->len, (off_t)a->offset) != (ssize_t)a->len) {
			tftp_session_abort(s->eng, TFTP_ERR_DISK_FULL, "write failed", out);
			break;
		}
	}
	if (s->is_write && !s->committed && tftp_session_state(s->eng) == TFTP_STATE_DONE) {
		enum store_status st = store_upload_commit(&s->up);

		s->committed = true;
		if (st == STORE_OK)
			srv->c.uploads++;
		else
			tftp_session_abort(s->eng, st == STORE_EXISTS ? TFTP_ERR_EXISTS
								      : TFTP_ERR_DISK_FULL,
					   store_strerror(st), out);
	}
	for (i = 0; i < out->n; i++) {
		const struct tftp_action *a = &out->act[i];

		if (a->kind == TFTP_ACT_PACKET) {
			send_raw(srv, s->sock, &s->peer, out->ctl, out->ctl_len);
		} else if (a->kind == TFTP_ACT_DATA) {
			unsigned n = 1;

			while (i + n < out->n && out->act[i + n].kind == TFTP_ACT_DATA)
				n++;
			if (send_data(s, a, n) < 0) {
				tftp_session_abort(s->eng, TFTP_ERR_UNDEFINED, "read error", out);
				send_raw(srv, s->sock, &s->peer, out->ctl, out->ctl_len);
				break;
			}
			i += n - 1;
		}
	}
	if (tftp_session_state(s->eng) == TFTP_STATE_FAILED ||
	    tftp_session_deadline(s->eng) == UINT64_MAX) {
		session_end(s);
		return;
	}
	timer_heap_set(&srv->timers, &s->timer, tftp_session_deadline(s->eng));
}

static void on_session_packet(void *ctx, int sock, const struct transport_meta *meta,
			      const uint8_t *buf, size_t len)
{
	struct session *s = ctx;
	struct tftp_output out;

	(void)sock;
	if (meta->from.ip != s->peer.ip || meta->from.port != s->peer.port) {
		/* RFC 1350: a foreign TID gets error 5 and the transfer goes on. */
		s->srv->c.wrong_tid++;
		send_error(s->srv, s->sock, &meta->from, TFTP_ERR_UNKNOWN_TID, "unknown transfer ID");
		return;
	}
	tftp_session_input(s->eng, transport_now_us(), buf, len, &out);
	session_apply(s, &out);
}

static uint16_t store_to_tftp_error(enum store_status st)
{
	switch (st) {
	case STORE_NOT_FOUND: return TFTP_ERR_NOT_FOUND;
	case STORE_EXISTS: return TFTP_ERR_EXISTS;
	case STORE_IO: return TFTP_ERR_UNDEFINED;
	default: return TFTP_ERR_ACCESS;
	}
}

static void count_store_error(struct tftp_server *srv, enum store_status st)
{
	if (st == STORE_NOT_FOUND)
		srv->c.not_found++;
	else
		srv->c.denied++;
}

/* A per-host file made on request (tftp_render_fn): false when the name
 * is not one, else *st says how it went. */
static bool open_rendered(struct tftp_server *srv, const struct tftp_request *req,
			  const struct transport_meta *meta, struct store_object **obj,
			  enum store_status *st)
{
	char *body = NULL;
	size_t len = 0;

	if (srv->cfg.render == NULL ||
	    !srv->cfg.render(srv->cfg.render_user, req->filename, req->filename_len,
			     meta->from.ip, meta->to.ip, &body, &len))
		return false;
	*st = body ? store_open_memory(srv->store, body, len, time(NULL), obj) : STORE_NOT_FOUND;
	return true;
}

static void start_session(struct tftp_server *srv, const struct transport_meta *meta,
			  const struct tftp_packet *pkt)
{
	const struct net_addr *peer = &meta->from;
	const struct tftp_request *req = &pkt->u.req;
	bool is_write = pkt->opcode == TFTP_WRQ;
	struct tftp_limits lim = srv->cfg.limits;
	uint8_t oack[TFTP_OACK_MAX];
	struct tftp_params params;
	struct tftp_output out;
	struct session *s;
	enum store_status st;
	unsigned ignored;
	size_t oack_len;
	/* Answer from the address the request reached: on a multi-homed
	 * server listening on 0.0.0.0 routing could pick another source. */
	struct net_addr bind = { .ip = srv->cfg.listen_ip ? srv->cfg.listen_ip : meta->to.ip };
	struct transport_udp_opts o = { .on_recv = on_session_packet };

	if (srv->c.sessions_active >= srv->cfg.max_sessions) {
		srv->c.busy++;
		send_error(srv, srv->sock, peer, TFTP_ERR_UNDEFINED, "server busy, try again later");
		return;
	}
	if (is_write && srv->upload_fd < 0) {
		srv->c.denied++;
		send_error(srv, srv->sock, peer, TFTP_ERR_ACCESS, "uploads are disabled");
		return;
	}
	if (is_write && req->mode == TFTP_MODE_NETASCII) {
		srv->c.bad_requests++;
		send_error(srv, srv->sock, peer, TFTP_ERR_ILLEGAL_OP, "netascii uploads not supported");
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	s->srv = srv;
	s->peer = *peer;
	s->is_write = is_write;
	s->sock = -1;
	s->up.fd = s->up.dirfd = -1;
	s->timer.deadline = UINT64_MAX;
	s->started_us = transport_now_us();
	log_sanitize(s->name, sizeof(s->name), req->filename, req->filename_len);

	if (is_write) {
		st = store_upload_begin(srv->upload_fd, req->filename, req->filename_len,
					STORE_BACKSLASH_IS_SLASH, &s->up);
		if (lim.max_blksize > UPLOAD_BLKSIZE_MAX)
			lim.max_blksize = UPLOAD_BLKSIZE_MAX;
	} else {
		if (!open_rendered(srv, req, meta, &s->obj, &st))
			st = store_open(srv->store, req->filename, req->filename_len,
					STORE_BACKSLASH_IS_SLASH, &s->obj);
		if (st == STORE_OK && req->mode == TFTP_MODE_NETASCII) {
			struct store_object *conv;

			st = store_open_netascii(srv->store, s->obj, &conv);
			store_object_put(s->obj);
			s->obj = st == STORE_OK ? conv : NULL;
		}
	}
	if (st != STORE_OK) {
		count_store_error(srv, st);
		send_error(srv, srv->sock, peer, store_to_tftp_error(st), store_strerror(st));
		goto fail;
	}
	switch (tftp_negotiate(req, is_write, s->obj ? store_object_size(s->obj) : 0, &lim,
			       &params, oack, &oack_len, &ignored)) {
	case TFTP_NEG_OK:
		break;
	case TFTP_NEG_DUPLICATE:
		srv->c.bad_requests++;
		send_error(srv, srv->sock, peer, TFTP_ERR_OPTION, "option given twice");
		goto fail;
	case TFTP_NEG_TOO_LARGE:
		srv->c.denied++;
		send_error(srv, srv->sock, peer, TFTP_ERR_DISK_FULL, "file too large");
		goto fail;
	}
	srv->c.options_ignored += ignored;
	s->eng = tftp_session_new(is_write, &params, s->obj ? store_object_size(s->obj) : 0,
				  &srv->cfg.timing);
	o.bind = bind;
	o.ctx = s;
	s->sock = s->eng ? srv->t->ops->udp_open(srv->t, &o, NULL) : -ENOMEM;
	if (s->sock < 0) {
		send_error(srv, srv->sock, peer, TFTP_ERR_UNDEFINED, "out of resources");
		goto fail;
	}
	s->hnext = srv->buckets[bucket_of(peer)];
	srv->buckets[bucket_of(peer)] = s;
	srv->c.sessions_active++;
	tftp_session_start(s->eng, s->started_us, oack, oack_len, &out);
	session_apply(s, &out);
	return;
fail:
	if (s->eng)
		tftp_session_free(s->eng);
	if (is_write)
		store_upload_abort(&s->up);
	store_object_put(s->obj);
	free(s);
}

static void on_request(void *ctx, int sock, const struct transport_meta *meta,
		       const uint8_t *buf, size_t len)
{
	struct tftp_server *srv = ctx;
	struct tftp_packet pkt;
	enum tftp_parse_status st;

	(void)sock;
	if (len < 2) {
		srv->c.dropped_short++;
		return;
	}
	st = tftp_parse(buf, len, &pkt);
	if (st == TFTP_PARSE_OK && pkt.opcode != TFTP_RRQ && pkt.opcode != TFTP_WRQ)
		st = TFTP_PARSE_BAD_OPCODE;
	if (st != TFTP_PARSE_OK) {
		srv->c.bad_requests++;
		if (pkt.opcode != TFTP_ERROR) /* never answer an error with an error */
			send_error(srv, srv->sock, &meta->from, TFTP_ERR_ILLEGAL_OP,
				   tftp_parse_strerror(st));
		return;
	}
	if (pkt.opcode == TFTP_RRQ && srv->multicast &&
	    tftp_request_option(&pkt.u.req, "multicast") &&
	    srv->multicast(srv->multicast_ctx, meta, &pkt.u.req))
		return;
	if (session_find(srv, &meta->from)) {
		srv->c.duplicate_requests++; /* a retransmitted request: the session answers */
		return;
	}
	srv->c.requests++;
	start_session(srv, meta, &pkt);
}

static int open_upload_dir(const char *dir)
{
	int fd;

	if (!dir || !*dir)
		return -1;
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

struct tftp_server *tftp_server_new(struct transport *t, struct store *st,
				    const struct tftp_server_config *cfg)
{
	struct tftp_server *srv = calloc(1, sizeof(*srv));
	struct transport_udp_opts o = {
		.bind = { cfg->listen_ip, cfg->listen_port },
		/* No SO_REUSEADDR: a second server on the same port must fail
		 * to start, not silently share the requests. */
		.on_recv = on_request,
		.ctx = srv,
	};

	if (!srv)
		return NULL;
	srv->t = t;
	srv->store = st;
	srv->cfg = *cfg;
	srv->cfg.upload_dir = NULL;
	timer_heap_init(&srv->timers);
	srv->upload_fd = open_upload_dir(cfg->upload_dir);
	if (cfg->upload_dir && srv->upload_fd < 0) {
		errno = -srv->upload_fd;
		free(srv);
		return NULL;
	}
	srv->tx = tftp_sender_new(t);
	srv->sock = srv->tx ? t->ops->udp_open(t, &o, &srv->local) : -ENOMEM;
	if (srv->sock < 0) {
		errno = -srv->sock;
		tftp_sender_free(srv->tx);
		if (srv->upload_fd >= 0)
			close(srv->upload_fd);
		free(srv);
		return NULL;
	}
	return srv;
}

int tftp_server_reconfigure(struct tftp_server *srv, const struct tftp_server_config *cfg)
{
	int fd = open_upload_dir(cfg->upload_dir);

	if (cfg->upload_dir && fd < 0)
		return fd;
	if (srv->upload_fd >= 0)
		close(srv->upload_fd);
	srv->upload_fd = fd;
	srv->cfg.max_sessions = cfg->max_sessions;
	srv->cfg.limits = cfg->limits;
	srv->cfg.timing = cfg->timing;
	srv->cfg.render = cfg->render;
	srv->cfg.render_user = cfg->render_user;
	return 0;
}

uint64_t tftp_server_tick(struct tftp_server *srv, uint64_t now_us)
{
	struct timer_node *t;

	while ((t = timer_heap_peek(&srv->timers)) && t->deadline <= now_us) {
		struct session *s = (struct session *)((char *)t - offsetof(struct session, timer));
		struct tftp_output out;

		tftp_session_tick(s->eng, now_us, &out);
		session_apply(s, &out);
	}
	t = timer_heap_peek(&srv->timers);
	return t ? t->deadline : UINT64_MAX;
}

void tftp_server_counters(const struct tftp_server *srv, struct tftp_counters *out)
{
	*out = srv->c;
}

void tftp_server_set_multicast(struct tftp_server *srv, tftp_multicast_fn fn, void *ctx)
{
	srv->multicast = fn;
	srv->multicast_ctx = ctx;
}

void tftp_server_free(struct tftp_server *srv)
{
	if (!srv)
		return;
	for (unsigned b = 0; b < SESSION_BUCKETS; b++)
		while (srv->buckets[b])
			session_end(srv->buckets[b]);
	srv->t->ops->udp_close(srv->t, srv->sock);
	tftp_sender_free(srv->tx);
	if (srv->upload_fd >= 0)
		close(srv->upload_fd);
	timer_heap_free(&srv->timers);
	free(srv);
}
