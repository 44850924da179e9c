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

#include <stdint.h>

struct transport;

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
/* New root and timeouts (SIGHUP); listen addresses and TLS files stay.
 * Returns -errno and keeps the old root when the new one cannot be opened. */
int http_server_reconfigure(struct http_server *srv, const struct http_server_config *cfg);
/* Expire timeouts; returns the next deadline (UINT64_MAX: none). */
uint64_t http_server_tick(struct http_server *srv, uint64_t now_us);
void http_server_counters(const struct http_server *srv, struct http_counters *out);

#endif
