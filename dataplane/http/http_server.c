/* The HTTP server: listeners, connections, request -> response, timeouts.
 * How bytes leave (splice for plain HTTP, encrypt for TLS) is in
 * http_conn_send(); what to answer is decided by http_answer(). */
#include "dataplane/http/http_server_int.h"

#include "appliance/log.h"
#include "dataplane/http/http_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_RETRY_US 100000u  /* after EMFILE and friends */
#define MAX_REJECTS 64           /* 503 answers in flight beyond max_connections */
#define REJECT_LINGER_US 2000000u

static const char busy_reply[] = "HTTP/1.1 503 Service Unavailable\r\n"
				 "Content-Length: 0\r\nConnection: close\r\n\r\n";


static void conn_process(struct http_conn *c);
static void accept_arm(struct http_listener *l);

/* ---- connection lifetime ---- */

void http_conn_set_deadline(struct http_conn *c, uint64_t deadline)
{
	timer_heap_set(&c->srv->timers, &c->timer, deadline);
}

static void conn_free(struct http_conn *c)
{
	struct http_server *srv = c->srv;

	timer_heap_set(&srv->timers, &c->timer, UINT64_MAX);
	if (c->file_fd >= 0)
		close(c->file_fd);
	free(c->img);
	if (c->pipe[0] >= 0) {
		close(c->pipe[0]);
		close(c->pipe[1]);
	}
	if (c->ssl)
		http_tls_conn_free(c->ssl);
	close(c->fd);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	srv->nconns--;
	free(c->tls_buf);
	free(c->dyn_out);
	free(c);
}

/* Stop now; memory goes when the kernel has finished every operation.
 * shutdown() wakes a recv or a splice blocked on the socket. */
void http_conn_close(struct http_conn *c)
{
	if (!c->closing) {
		c->closing = true;
		timer_heap_set(&c->srv->timers, &c->timer, UINT64_MAX);
		shutdown(c->fd, SHUT_RDWR);
	}
	if (c->inflight == 0)
		conn_free(c);
}

/* Called first by every completion: false when the connection is going. */
bool http_conn_op_done(struct http_conn *c)
{
	c->inflight--;
	if (c->closing) {
		if (c->inflight == 0)
			conn_free(c);
		return false;
	}
	return true;
}

int http_conn_submit(struct http_conn *c, struct transport_io *io)
{
	int ret = c->srv->t->ops->io_submit(c->srv->t, io);

	if (ret == 0)
		c->inflight++;
	return ret;
}

/* ---- receiving ---- */

static void on_recv(void *arg, int res)
{
	struct http_conn *c = arg;

	c->rx_busy = false;
	if (!http_conn_op_done(c))
		return;
	if (res <= 0) {
		/* The peer went away (or reset): nothing to answer. */
		http_conn_close(c);
		return;
	}
	if (c->ssl) {
		if (http_tls_feed(c->ssl, c->tls_buf, (size_t)res) < 0) {
			http_conn_close(c);
			return;
		}
	} else {
		c->in_len += (size_t)res;
	}
	conn_process(c);
}

/* Take plaintext the TLS layer holds; -1 when the session failed. */
static int conn_tls_pull(struct http_conn *c)
{
	ssize_t n;

	if (!c->ssl || c->in_len == HTTP_IN_CAP)
		return 0;
	n = http_tls_read(c->ssl, c->in + c->in_len, HTTP_IN_CAP - c->in_len);
	if (n < 0) {
		c->srv->c.tls_failures++;
		return -1;
	}
	c->in_len += (size_t)n;
	/* Handshake messages produced by the read must leave. Not responding,
	 * so this only queues a send: c stays valid. */
	if (!c->tx_failed)
		http_conn_send(c);
	return n > 0;
}

static void conn_recv(struct http_conn *c)
{
	struct transport_io *io = &c->rx_io;

	if (c->rx_busy || c->closing)
		return;
	*io = (struct transport_io){ .kind = TRANSPORT_IO_RECV, .fd = c->fd,
				     .done = on_recv, .arg = c };
	if (c->ssl) {
		io->buf = c->tls_buf;
		io->len = HTTP_TLS_RECV;
	} else {
		io->buf = c->in + c->in_len;
		io->len = (uint32_t)(HTTP_IN_CAP - c->in_len);
	}
	if (http_conn_submit(c, io) < 0) {
		http_conn_close(c);
		return;
	}
	c->rx_busy = true;
}

/* ---- requests ---- */

static void consume(struct http_conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* The response has left: log it, then the next request or close. */
void http_conn_response_done(struct http_conn *c)
{
	struct http_server *srv = c->srv;
	uint64_t now = transport_now_us();

	log_event(LOG_INFO, "http.request",
		  "client=%s method=%s path=%s status=%d bytes=%llu seconds=%.6f tls=%s",
		  c->peer_s, c->method, c->path, c->status, (unsigned long long)c->bytes_sent,
		  (double)(now - c->req_start_us) / 1e6, c->ssl ? "yes" : "no");
	srv->c.bytes_sent += c->bytes_sent;
	if (c->file_fd >= 0) {
		close(c->file_fd);
		c->file_fd = -1;
	}
	free(c->dyn_out);
	c->dyn_out = NULL;
	c->out = c->head;
	free(c->img);
	c->img = NULL;
	c->responding = false;
	if (!c->keep_alive) {
		http_conn_close(c);
		return;
	}
	conn_process(c);
}

static void conn_process(struct http_conn *c)
{
	struct http_request req;
	enum http_parse_status st;
	uint64_t now;

	while (!c->closing && !c->responding) {
		if (c->discard) {
			size_t n = c->in_len < c->discard ? c->in_len : (size_t)c->discard;

			consume(c, n);
			c->discard -= n;
		}
		if (c->discard || c->in_len == 0) {
			int got = conn_tls_pull(c);

			if (got < 0) {
				http_conn_close(c);
				return;
			}
			if (got > 0)
				continue;
			now = transport_now_us();
			/* A TLS handshake is held to the head's deadline, from
			 * the connection's start: it is slowloris's other door. */
			if (c->ssl && !http_tls_handshake_done(c->ssl))
				http_conn_set_deadline(c, c->start_us + c->srv->cfg.header_timeout_us);
			else if (c->in_len == 0 && !c->discard && c->head_start_us == 0)
				http_conn_set_deadline(c, now + c->srv->cfg.idle_timeout_us);
			conn_recv(c);
			return;
		}
		now = transport_now_us();
		if (c->head_start_us == 0) {
			/* Slowloris: the head's deadline runs from its first byte
			 * and is not extended by the bytes that trickle in. */
			c->head_start_us = now;
			http_conn_set_deadline(c, now + c->srv->cfg.header_timeout_us);
		}
		if (c->post_wait) {
			/* A POST is answered with its body whole in c->in. */
			req = c->post_req;
			st = c->in_len >= req.head_len + req.body_len ? HTTP_PARSE_DONE
								       : HTTP_PARSE_NEED_MORE;
		} else {
			st = http_parse_request(&c->parser, c->in, c->in_len, &req);
			if (st == HTTP_PARSE_DONE && req.method == HTTP_METHOD_POST &&
			    c->in_len < req.head_len + req.body_len) {
				c->post_wait = true;
				c->post_req = req;
				st = HTTP_PARSE_NEED_MORE;
			}
		}
		if (st == HTTP_PARSE_NEED_MORE) {
			int got = conn_tls_pull(c);

			if (got < 0) {
				http_conn_close(c);
				return;
			}
			if (got == 0)
				conn_recv(c);
			if (got == 0)
				return;
			continue;
		}
		c->post_wait = false;
		c->req_start_us = c->head_start_us;
		c->head_start_us = 0;
		c->srv->c.requests++;
		c->responding = true;
		http_conn_set_deadline(c, now + c->srv->cfg.idle_timeout_us);
		if (st == HTTP_PARSE_ERROR) {
			/* The stream can no longer be trusted to frame requests. */
			http_answer_error(c, &req, http_error_status(req.error));
			c->keep_alive = false;
			c->in_len = 0;
		} else {
			http_answer(c, &req);
			c->discard = req.body_len;
			consume(c, req.head_len);
		}
		http_parser_init(&c->parser);
		/* May end the response and free c: the next request is started
		 * by http_conn_response_done, not by this loop. */
		http_conn_send(c);
		return;
	}
}

/* ---- accepting ---- */

static void reject_free(struct http_reject *r)
{
	close(r->fd);
	*r->pprev = r->next;
	if (r->next)
		r->next->pprev = r->pprev;
	r->srv->nrejects--;
	free(r);
}

static void on_reject_io(void *arg, int res)
{
	struct http_reject *r = arg;

	if (res <= 0 || r->srv->stopping) {
		reject_free(r);
		return;
	}
	if (r->io.kind == TRANSPORT_IO_SEND)
		shutdown(r->fd, SHUT_WR);
	r->io = (struct transport_io){ .kind = TRANSPORT_IO_RECV, .fd = r->fd,
				       .buf = r->srv->scratch, .len = sizeof(r->srv->scratch),
				       .done = on_reject_io, .arg = r };
	if (r->srv->t->ops->io_submit(r->srv->t, &r->io) < 0)
		reject_free(r);
}

static void reject_busy(struct http_server *srv, int fd)
{
	struct http_reject *r = srv->nrejects < MAX_REJECTS ? malloc(sizeof(*r)) : NULL;

	srv->c.rejected_busy++;
	if (!r) {
		close(fd);
		return;
	}
	*r = (struct http_reject){ .srv = srv, .fd = fd,
				   .deadline = transport_now_us() + REJECT_LINGER_US };
	r->io = (struct transport_io){ .kind = TRANSPORT_IO_SEND, .fd = fd,
				       .buf = (void *)busy_reply, .len = sizeof(busy_reply) - 1,
				       .done = on_reject_io, .arg = r };
	if (srv->t->ops->io_submit(srv->t, &r->io) < 0) {
		close(fd);
		free(r);
		return;
	}
	r->next = srv->rejects;
	if (r->next)
		r->next->pprev = &r->next;
	r->pprev = &srv->rejects;
	srv->rejects = r;
	srv->nrejects++;
}

static void conn_start(struct http_listener *l, int fd)
{
	struct http_server *srv = l->srv;
	struct http_conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c || (l->tls && !(c->tls_buf = malloc(HTTP_TLS_BUF)))) {
		free(c);
		close(fd);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	c->file_fd = -1;
	c->out = c->head;
	c->pipe[0] = c->pipe[1] = -1;
	c->timer.deadline = UINT64_MAX;
	c->start_us = transport_now_us();
	snprintf(c->peer_s, sizeof(c->peer_s), "%s:%u", inet_ntoa(l->peer.sin_addr),
		 ntohs(l->peer.sin_port));
	c->peer_ip = l->peer.sin_addr.s_addr;
	{
		struct sockaddr_in local;
		socklen_t llen = sizeof(local);

		/* ${server} in a rendered script: the address this client reached. */
		if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
			c->local_ip = local.sin_addr.s_addr;
	}
	http_parser_init(&c->parser);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Accepted non-blocking: the ring polls the socket for recv and send
	 * anyway, and the loop's splice into it must never wait. */
	if (l->tls && !(c->ssl = http_tls_conn_new(srv->tls_ctx))) {
		free(c->tls_buf);
		free(c);
		close(fd);
		return;
	}
	c->next = srv->conns;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &srv->conns;
	srv->conns = c;
	srv->nconns++;
	srv->c.connections_total++;
	conn_process(c);
}

static void on_accept(void *arg, int res)
{
	struct http_listener *l = arg;
	struct http_server *srv = l->srv;

	l->armed = false;
	if (srv->stopping) {
		if (res >= 0)
			close(res);
		return;
	}
	if (res >= 0) {
		if (srv->nconns >= srv->cfg.max_connections)
			reject_busy(srv, res);
		else
			conn_start(l, res);
	} else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
		/* Out of descriptors: retry from the tick instead of spinning. */
		srv->accept_retry_us = transport_now_us() + ACCEPT_RETRY_US;
		return;
	}
	accept_arm(l);
}

static void accept_arm(struct http_listener *l)
{
	if (l->fd < 0 || l->armed)
		return;
	l->peer_len = sizeof(l->peer);
	l->io = (struct transport_io){ .kind = TRANSPORT_IO_ACCEPT, .fd = l->fd,
				       .addr = &l->peer, .addrlen = &l->peer_len,
				       .done = on_accept, .arg = l };
	if (l->srv->t->ops->io_submit(l->srv->t, &l->io) == 0)
		l->armed = true;
	else
		l->srv->accept_retry_us = transport_now_us() + ACCEPT_RETRY_US;
}

static int listen_on(uint32_t ip, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = ip, .sin_port = port };
	int one = 1, err;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* ---- the server ---- */

static int open_root(const char *root)
{
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

struct http_server *http_server_new(struct transport *t, const struct http_server_config *cfg)
{
	struct http_server *srv;
	int err;

	if (!t->ops->io_submit) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->t = t;
	srv->cfg = *cfg;
	srv->cfg.root = NULL;
	timer_heap_init(&srv->timers);
	srv->plain.srv = srv->tls.srv = srv;
	srv->plain.fd = srv->tls.fd = -1;
	srv->tls.tls = true;
	srv->rootfd = open_root(cfg->root);
	if (srv->rootfd < 0) {
		err = -srv->rootfd;
		goto fail;
	}
	if (cfg->tls_listen_port) {
		char why[256];

		srv->tls_ctx = http_tls_ctx_new(cfg->certificate, cfg->key, why, sizeof(why));
		if (!srv->tls_ctx) {
			log_event(LOG_ERR, "http.tls", "error=\"%s\"", why);
			err = EINVAL;
			goto fail;
		}
		srv->tls.fd = listen_on(cfg->tls_listen_ip, cfg->tls_listen_port);
		if (srv->tls.fd < 0) {
			err = -srv->tls.fd;
			goto fail;
		}
	}
	if (cfg->listen_port) {
		srv->plain.fd = listen_on(cfg->listen_ip, cfg->listen_port);
		if (srv->plain.fd < 0) {
			err = -srv->plain.fd;
			goto fail;
		}
	}
	accept_arm(&srv->plain);
	accept_arm(&srv->tls);
	return srv;
fail:
	http_server_free(srv);
	errno = err;
	return NULL;
}

int http_server_reconfigure(struct http_server *srv, const struct http_server_config *cfg)
{
	int fd = open_root(cfg->root);

	if (fd < 0)
		return fd;
	close(srv->rootfd);
	srv->rootfd = fd;
	srv->cfg.max_connections = cfg->max_connections;
	srv->cfg.idle_timeout_us = cfg->idle_timeout_us;
	srv->cfg.header_timeout_us = cfg->header_timeout_us;
	srv->cfg.dynamic = cfg->dynamic;
	srv->cfg.dynamic_user = cfg->dynamic_user;
	return 0;
}

uint64_t http_server_tick(struct http_server *srv, uint64_t now)
{
	struct timer_node *t;
	uint64_t next = UINT64_MAX;

	if (srv->accept_retry_us && now >= srv->accept_retry_us) {
		srv->accept_retry_us = 0;
		accept_arm(&srv->plain);
		accept_arm(&srv->tls);
	}
	while ((t = timer_heap_peek(&srv->timers)) && t->deadline <= now) {
		struct http_conn *c = (struct http_conn *)((char *)t - offsetof(struct http_conn, timer));
		const char *state = c->responding ? "send" : c->head_start_us ? "head" : "idle";

		srv->c.timeouts++;
		log_event(LOG_INFO, "http.timeout", "client=%s state=%s", c->peer_s, state);
		http_conn_close(c);
	}
	for (struct http_reject *r = srv->rejects; r; r = r->next) {
		if (r->deadline <= now) {
			shutdown(r->fd, SHUT_RDWR); /* its pending recv ends, then it goes */
			r->deadline = UINT64_MAX;
		}
		next = r->deadline < next ? r->deadline : next;
	}
	t = timer_heap_peek(&srv->timers);
	if (t && t->deadline < next)
		next = t->deadline;
	if (srv->accept_retry_us && srv->accept_retry_us < next)
		next = srv->accept_retry_us;
	return next;
}

void http_server_counters(const struct http_server *srv, struct http_counters *out)
{
	*out = srv->c;
	out->connections_active = srv->nconns;
}

void http_server_free(struct http_server *srv)
{
	uint64_t until = transport_now_us() + 2000000u;

	if (!srv)
		return;
	srv->stopping = true;
	if (srv->plain.fd >= 0)
		shutdown(srv->plain.fd, SHUT_RDWR);
	if (srv->tls.fd >= 0)
		shutdown(srv->tls.fd, SHUT_RDWR);
	for (struct http_conn *c = srv->conns, *n; c; c = n) {
		n = c->next;
		http_conn_close(c);
	}
	for (struct http_reject *r = srv->rejects; r; r = r->next)
		shutdown(r->fd, SHUT_RDWR);
	/* Buffers of pending operations belong to the connections: wait for
	 * the kernel to let go of them (bounded; shutdown wakes them). */
	while ((srv->conns || srv->plain.armed || srv->tls.armed || srv->nrejects) &&
	       transport_now_us() < until &&
	       srv->t->ops->run_once(srv->t, transport_now_us() + 100000u) >= 0)
		;
	if (srv->plain.fd >= 0)
		close(srv->plain.fd);
	if (srv->tls.fd >= 0)
		close(srv->tls.fd);
	if (srv->rootfd >= 0)
		close(srv->rootfd);
	http_tls_ctx_free(srv->tls_ctx);
	timer_heap_free(&srv->timers);
	/* Past the bound, leaking beats a use after free. */
	if (!srv->conns && !srv->plain.armed && !srv->tls.armed && !srv->nrejects)
		free(srv);
}
