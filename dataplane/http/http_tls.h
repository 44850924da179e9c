/* TLS for the HTTP server, private to dataplane/http: OpenSSL over
 * memory BIOs, so the io_uring ring keeps doing every socket operation
 * and OpenSSL only turns ciphertext into plaintext and back. */
#ifndef PXECAST_DATAPLANE_HTTP_HTTP_TLS_H
#define PXECAST_DATAPLANE_HTTP_HTTP_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct ssl_ctx_st;
struct ssl_st;

/* A server context (TLS 1.2 and later) from PEM files. NULL with a reason
 * in err on failure. */
struct ssl_ctx_st *http_tls_ctx_new(const char *cert, const char *key, char *err, size_t errlen);
void http_tls_ctx_free(struct ssl_ctx_st *ctx);

struct ssl_st *http_tls_conn_new(struct ssl_ctx_st *ctx);
void http_tls_conn_free(struct ssl_st *ssl);

/* Whether the handshake has completed. */
int http_tls_handshake_done(const struct ssl_st *ssl);
/* Ciphertext received from the peer. -1 on failure. */
int http_tls_feed(struct ssl_st *ssl, const void *buf, size_t len);
/* Plaintext into buf (handshake steps as needed): > 0 bytes, 0 when more
 * ciphertext is needed, -1 on a fatal error or a close by the peer. */
ssize_t http_tls_read(struct ssl_st *ssl, void *buf, size_t cap);
/* Encrypt len bytes of plaintext into the outgoing queue. -1 on failure. */
int http_tls_write(struct ssl_st *ssl, const void *buf, size_t len);
/* Take up to cap bytes of queued ciphertext to send. */
size_t http_tls_take(struct ssl_st *ssl, void *out, size_t cap);

#endif
