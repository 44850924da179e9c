/* Private state of the HTTP server, shared by http_server.c (connections),
 * http_answer.c (what to answer) and http_send.c (how bytes leave). */
#ifndef PXECAST_DATAPLANE_HTTP_HTTP_SERVER_INT_H
#define PXECAST_DATAPLANE_HTTP_HTTP_SERVER_INT_H

#include "dataplane/http/http.h"
#include "dataplane/http/http_server.h"
#include "dataplane/timer_heap.h"
#include "dataplane/transport.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

struct image_file;
struct image_set;

/* A head and a whole POST body (leading empty lines are counted in the
 * head), or a head plus pipelined bytes. */
#define HTTP_IN_CAP (HTTP_MAX_HEAD + HTTP_MAX_POST_BODY + 2 * HTTP_MAX_LEADING_CRLF)
#define HTTP_HEAD_CAP 768                   /* response head + short error body */
/* Bodies up to this size are read into the head buffer and leave with the
 * head in one send: splice runs in io_uring's worker threads, and for a
 * few KiB (iPXE scripts, configs) that handoff costs more than the copy. */
#define HTTP_SMALL_BODY 16384
#define HTTP_TLS_RECV 16709                 /* one TLS record */
#define HTTP_TLS_PLAIN 65536                /* file bytes read per TLS step */
#define HTTP_TLS_OUT (HTTP_TLS_PLAIN + 4096) /* their records */
#define HTTP_TLS_BUF (HTTP_TLS_RECV + HTTP_TLS_PLAIN + HTTP_TLS_OUT)

struct http_server;

struct http_conn {
	struct http_server *srv;
	struct http_conn *next, **pprev;
	struct timer_node timer;
	int fd;
	char peer_s[24];
	uint32_t peer_ip, local_ip;  /* network order */
	unsigned inflight;           /* operations the kernel still owns */
	bool closing;
	bool rx_busy;
	bool responding;
	bool keep_alive;
	struct ssl_st *ssl;          /* NULL: plain HTTP */
	uint8_t *tls_buf;            /* recv | plaintext | ciphertext (TLS only) */

	/* receiving */
	struct transport_io rx_io;
	struct http_parser parser;
	uint64_t start_us;           /* accepted */
	uint64_t head_start_us;      /* first byte of the head being received */
	uint64_t discard;            /* request body bytes still to skip */
	bool post_wait;              /* post_req's head is in; waiting for its body */
	struct http_request post_req;
	size_t in_len;
	char in[HTTP_IN_CAP];

	/* the response */
	struct transport_io tx_io, splice_in, splice_out;
	unsigned tx_inflight;
	bool tx_failed;
	char head[HTTP_HEAD_CAP + HTTP_SMALL_BODY];
	char *out;                   /* what head_len counts: head, or dyn_out */
	char *dyn_out;               /* head + rendered body, heap; NULL: none */
	uint32_t small_body;         /* bytes to read after the head, then send */
	size_t head_len, head_sent;
	int file_fd;                 /* body source, -1: none */
	struct image_file *img;      /* file_fd is an ISO image: file_off maps through these extents */
	int pipe[2];                 /* file -> pipe -> socket, made on first use */
	uint32_t pipe_cap;
	int64_t file_off;            /* next byte to move into the pipe */
	uint64_t to_pipe;            /* body bytes not yet in the pipe */
	uint64_t in_pipe;            /* bytes in the pipe, not yet sent */
	size_t tls_out_len, tls_out_sent;
	bool tls_head_queued;

	/* the log line */
	int status;
	uint64_t req_start_us;
	uint64_t bytes_sent;
	char method[8];
	char path[256];              /* sanitised */
};

struct http_listener {
	struct http_server *srv;
	int fd;
	bool tls;
	bool armed;
	struct transport_io io;
	struct sockaddr_in peer;
	socklen_t peer_len;
};

/* A connection beyond max_connections: 503, then wait (bounded) for the
 * client to close first, so its unread request does not turn our close
 * into a reset that destroys the 503 before it is read. */
struct http_reject {
	struct transport_io io;
	struct http_server *srv;
	struct http_reject *next, **pprev;
	int fd;
	uint64_t deadline;
};

struct http_server {
	struct transport *t;
	struct http_server_config cfg;  /* root, certificate, key: not kept */
	int rootfd;
	struct ssl_ctx_st *tls_ctx;
	struct http_listener plain, tls;
	struct http_conn *conns;
	unsigned nconns;
	unsigned nrejects;
	struct http_reject *rejects;
	char scratch[4096];          /* what rejected clients send, discarded */
	bool stopping;
	uint64_t accept_retry_us;
	struct timer_heap timers;
	struct http_counters c;
	struct image_set *images;    /* ISO images under images/NAME/; NULL: none */
};

/* http_server.c */
int http_conn_submit(struct http_conn *c, struct transport_io *io);
bool http_conn_op_done(struct http_conn *c);
void http_conn_close(struct http_conn *c);
void http_conn_set_deadline(struct http_conn *c, uint64_t deadline);
void http_conn_response_done(struct http_conn *c);

/* http_answer.c: fill c->head (and the body source) for a request. */
void http_answer(struct http_conn *c, const struct http_request *req);
void http_answer_error(struct http_conn *c, const struct http_request *req, int status);

/* http_image.c: path as a file of an ISO image. Returns a descriptor
 * (with *img malloc'd and sb's mode, size, mtime filled), -errno, or
 * HTTP_NOT_IMAGE for paths the root serves. */
#define HTTP_NOT_IMAGE (-1000000)
int http_image_open(struct http_server *srv, const char *path, size_t len, struct stat *sb,
		    struct image_file **img);
/* The digest as a strong ETag; 0 when there is none. */
size_t http_image_etag(const struct image_file *img, char *out, size_t size);
/* The descriptor offset of body byte file_off, *len cut to the contiguous
 * run; file_off itself without img. */
int64_t http_image_offset(const struct image_file *img, int64_t file_off, uint32_t *len);

/* http_send.c: move the response out; calls http_conn_response_done. */
void http_conn_send(struct http_conn *c);

#endif
