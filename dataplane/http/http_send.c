/* How a response leaves.
 *
 * Plain HTTP: the head is one send (MSG_MORE when a body follows); the body
 * goes splice(file -> pipe), then splice(pipe -> socket), so its pages go
 * from the page cache to the socket by reference, never through user
 * space. The first runs in io_uring's workers (it may read the disk), the
 * second in the loop (see TRANSPORT_IO_SPLICE_OUT). The next step is
 * decided from the counters once every operation in flight has completed,
 * so any split of the work ends in the same bytes.
 *
 * Bodies of at most HTTP_SMALL_BODY bytes are read (through the ring)
 * behind the head and leave with it in one send; see http_server_int.h.
 *
 * TLS: records are built in user space, so the file is read through the
 * ring into a buffer, encrypted into a memory BIO and sent.
 */
#include "dataplane/http/http_server_int.h"

#include "dataplane/http/http_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define PIPE_SIZE (1u << 20)  /* bytes moved per splice pair */

static void progress(struct http_conn *c)
{
	http_conn_set_deadline(c, transport_now_us() + c->srv->cfg.idle_timeout_us);
}

/* Common completion bookkeeping: false when nothing more is to be done. */
static bool tx_done(struct http_conn *c, int res)
{
	c->tx_inflight--;
	if (!http_conn_op_done(c))
		return false;
	if (res > 0)
		progress(c);
	else
		c->tx_failed = true;  /* 0 too: the file shrank or the peer left */
	return true;
}

static void on_send(void *arg, int res)
{
	struct http_conn *c = arg;

	if (!tx_done(c, res))
		return;
	if (res > 0) {
		c->bytes_sent += (uint64_t)res;
		if (c->ssl)
			c->tls_out_sent += (size_t)res;
		else
			c->head_sent += (size_t)res;
	}
	http_conn_send(c);
}

static void on_splice_in(void *arg, int res)
{
	struct http_conn *c = arg;

	if (!tx_done(c, res))
		return;
	if (res > 0) {
		c->in_pipe += (uint64_t)res;
		c->to_pipe -= (uint64_t)res;
		c->file_off += res;
	}
	http_conn_send(c);
}

static void on_splice_out(void *arg, int res)
{
	struct http_conn *c = arg;

	if (!tx_done(c, res))
		return;
	if (res > 0) {
		c->in_pipe -= (uint64_t)res;
		c->bytes_sent += (uint64_t)res;
	}
	http_conn_send(c);
}

static int submit(struct http_conn *c, struct transport_io *io)
{
	int ret = http_conn_submit(c, io);

	if (ret == 0) {
		c->tx_inflight++;
	} else {
		/* Nothing will complete to call us again, and our callers still
		 * hold c: let the next tick close it. */
		c->tx_failed = true;
		http_conn_set_deadline(c, 0);
	}
	return ret;
}

static int pipe_ready(struct http_conn *c)
{
	int cap;

	if (c->pipe[0] >= 0)
		return 0;
	/* Blocking ends: the workers' splice(file -> pipe) may wait for room;
	 * the loop's splice(pipe -> socket) passes SPLICE_F_NONBLOCK. */
	if (pipe2(c->pipe, O_CLOEXEC) < 0) {
		c->pipe[0] = c->pipe[1] = -1;
		return -1;
	}
	fcntl(c->pipe[1], F_SETPIPE_SZ, (int)PIPE_SIZE);
	cap = fcntl(c->pipe[1], F_GETPIPE_SZ);
	c->pipe_cap = cap > 0 ? (uint32_t)cap : 65536u;
	return 0;
}

/* splice(file -> pipe) of at most a pipeful: the page cache may have to
 * read from disk, so this one runs in io_uring's workers. */
static void submit_splice_in(struct http_conn *c)
{
	uint32_t n = c->to_pipe < c->pipe_cap ? (uint32_t)c->to_pipe : c->pipe_cap;
	int64_t off = http_image_offset(c->img, c->file_off, &n);

	c->splice_in = (struct transport_io){ .kind = TRANSPORT_IO_SPLICE, .fd = c->file_fd,
					      .fd_out = c->pipe[1], .off_in = off,
					      .len = n, .done = on_splice_in, .arg = c };
	submit(c, &c->splice_in);
}

static void send_plain(struct http_conn *c)
{
	if (c->to_pipe && pipe_ready(c) < 0) {
		c->tx_failed = true;
		http_conn_close(c);
		return;
	}
	if (c->head_sent < c->head_len) {
		bool body = c->to_pipe > 0;

		/* The first pipeful is read while the head goes out. */
		c->tx_io = (struct transport_io){ .kind = TRANSPORT_IO_SEND, .fd = c->fd,
						  .buf = c->out + c->head_sent,
						  .len = (uint32_t)(c->head_len - c->head_sent),
						  .msg_flags = body ? MSG_MORE : 0,
						  .done = on_send, .arg = c };
		if (submit(c, &c->tx_io) == 0 && body && c->in_pipe == 0)
			submit_splice_in(c);
	} else if (c->in_pipe) {
		c->splice_out = (struct transport_io){ .kind = TRANSPORT_IO_SPLICE_OUT,
						       .fd = c->pipe[0], .fd_out = c->fd,
						       .len = (uint32_t)c->in_pipe, /* <= pipe_cap */
						       .done = on_splice_out, .arg = c };
		submit(c, &c->splice_out);
	} else if (c->to_pipe) {
		submit_splice_in(c);
	} else {
		http_conn_response_done(c);
	}
}

static void on_tls_read(void *arg, int res)
{
	struct http_conn *c = arg;

	if (!tx_done(c, res))
		return;
	if (res > 0) {
		if (http_tls_write(c->ssl, c->tls_buf + HTTP_TLS_RECV, (size_t)res) < 0)
			c->tx_failed = true;
		c->file_off += res;
		c->to_pipe -= (uint64_t)res;
	}
	http_conn_send(c);
}

static void send_tls(struct http_conn *c)
{
	uint8_t *out = c->tls_buf + HTTP_TLS_RECV + HTTP_TLS_PLAIN;

	for (;;) {
		if (c->tls_out_sent == c->tls_out_len) {
			c->tls_out_len = http_tls_take(c->ssl, out, HTTP_TLS_OUT);
			c->tls_out_sent = 0;
		}
		if (c->tls_out_sent < c->tls_out_len) {
			c->tx_io = (struct transport_io){ .kind = TRANSPORT_IO_SEND, .fd = c->fd,
							  .buf = out + c->tls_out_sent,
							  .len = (uint32_t)(c->tls_out_len - c->tls_out_sent),
							  .done = on_send, .arg = c };
			submit(c, &c->tx_io);
			return;
		}
		if (!c->responding)
			return; /* handshake messages only */
		if (!c->tls_head_queued) {
			c->tls_head_queued = true;
			if (http_tls_write(c->ssl, c->out, c->head_len) < 0) {
				http_conn_close(c);
				return;
			}
			continue;
		}
		if (c->to_pipe) {
			uint32_t n = c->to_pipe < HTTP_TLS_PLAIN ? (uint32_t)c->to_pipe : HTTP_TLS_PLAIN;
			int64_t off = http_image_offset(c->img, c->file_off, &n);

			c->tx_io = (struct transport_io){ .kind = TRANSPORT_IO_READ, .fd = c->file_fd,
							  .off_in = off,
							  .buf = c->tls_buf + HTTP_TLS_RECV, .len = n,
							  .done = on_tls_read, .arg = c };
			submit(c, &c->tx_io);
			return;
		}
		http_conn_response_done(c);
		return;
	}
}

static void on_small_read(void *arg, int res)
{
	struct http_conn *c = arg;

	if (!tx_done(c, res))
		return;
	/* The head promised this many bytes: a shorter file is a failure.
	 * An image file may take one read per extent. */
	if (res > 0 && res == (int)c->tx_io.len) {
		c->head_len += (size_t)res;
		c->small_body -= (uint32_t)res;
		c->file_off += res;
	} else {
		c->tx_failed = true;
	}
	http_conn_send(c);
}

void http_conn_send(struct http_conn *c)
{
	if (c->closing || c->tx_inflight)
		return;
	if (c->tx_failed) {
		http_conn_close(c);
		return;
	}
	if (c->responding && c->small_body) {
		uint32_t n = c->small_body;
		int64_t off = http_image_offset(c->img, c->file_off, &n);

		c->tx_io = (struct transport_io){ .kind = TRANSPORT_IO_READ, .fd = c->file_fd,
						  .off_in = off, .buf = c->head + c->head_len,
						  .len = n, .done = on_small_read, .arg = c };
		submit(c, &c->tx_io);
	} else if (c->ssl)
		send_tls(c);
	else if (c->responding)
		send_plain(c);
}
