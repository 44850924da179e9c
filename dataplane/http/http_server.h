/* The HTTP/1.1 boot server over the io_uring transport's stream ops.
 *
 * GET and HEAD of files beneath a root (resolved like TFTP's, by
 * store_resolve: openat2 RESOLVE_BENEATH), keep-alive and pipelining, one
 * Range, ETag / Last-Modified validators. Plain-HTTP bodies go
 * file -> pipe -> socket with IORING_OP_SPLICE and never pass through user
 * space; HTTPS (OpenSSL over memory BIOs, a second port) reads the file
 * through the ring and encrypts in user space.
 *
 * The parser, path rules and response heads are http.h's; this file only
 * moves bytes and keeps connections. One key=value log line per request.
 */
#ifndef PXECAST_DATAPLANE_HTTP_HTTP_SERVER_H
#define PXECAST_DATAPLANE_HTTP_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct transport;

/* Responses made in memory (per-host boot scripts, the host API), asked
 * before the file tree. The server owns transport, parsing and caps; the
 * handler only decides the bytes. */
struct http_dynamic_request {
	int method;                  /* enum http_method (http.h) */
	const char *path;            /* decoded, relative ("boot/x.ipxe") */
	size_t path_len;
	const char *query;           /* raw, after '?'; "" if none */
	size_t query_len;
	const char *host;            /* Host field as sent ("" if none) */
	size_t host_len;
	const char *body;            /* POST body */
	size_t body_len;
	uint32_t peer_ip;            /* network order */
	uint32_t local_ip;           /* the address the client reached */
	bool tls;
};

struct http_dynamic_reply {
	int status;                  /* 0: not a dynamic path: serve files */
	const char *content_type;    /* static string */
	char *body;                  /* malloc'd; the server frees it */
	size_t len;
	bool gzip_ok;                /* may be sent gzip'ed if the client accepts */
};

typedef void (*http_dynamic_fn)(void *user, const struct http_dynamic_request *rq,
				struct http_dynamic_reply *out);

struct http_server_config {
	uint32_t listen_ip;          /* network order */
	uint16_t listen_port;        /* network order; 0: no plain HTTP */
	uint32_t tls_listen_ip;
	uint16_t tls_listen_port;    /* 0: no HTTPS */
	const char *root;            /* directory served */
	const char *certificate;     /* PEM chain, with tls_listen_port */
	const char *key;             /* PEM private key */
	unsigned max_connections;    /* beyond it: 503 and close */
	uint64_t idle_timeout_us;    /* keep-alive wait; a send making no progress */
	uint64_t header_timeout_us;  /* a request head must arrive within this */
	http_dynamic_fn dynamic;     /* NULL: files only */
	void *dynamic_user;
};

struct http_counters {
	uint64_t requests;
	uint64_t responses_2xx, responses_3xx, responses_4xx, responses_5xx;
	uint64_t bytes_sent;
	uint64_t connections_total;
	uint64_t connections_active;
	uint64_t rejected_busy;      /* accepted beyond max_connections */
	uint64_t timeouts;           /* closed by the header or idle timeout */
	uint64_t tls_failures;       /* handshakes or records refused */
};

struct http_server;

/* Listen on the configured ports of t (which must have io_submit).
 * NULL with errno set on failure; a TLS setup error is logged. */
struct http_server *http_server_new(struct transport *t, const struct http_server_config *cfg);
/* Closes every connection, waiting (bounded) for their operations. */
void http_server_free(struct http_server *srv);
/* New root, timeouts and dynamic hook (SIGHUP); listen addresses and TLS
 * files stay.
 * Returns -errno and keeps the old root when the new one cannot be opened. */
int http_server_reconfigure(struct http_server *srv, const struct http_server_config *cfg);
/* Serve the files of these ISO images under images/NAME/ (imager/image.h)
 * before the root; NULL: none. Requests under way keep their own copy. */
struct image_set;
void http_server_set_images(struct http_server *srv, struct image_set *images);
/* Expire timeouts; returns the next deadline (UINT64_MAX: none). */
uint64_t http_server_tick(struct http_server *srv, uint64_t now_us);
void http_server_counters(const struct http_server *srv, struct http_counters *out);

#endif
