#include "dataplane/http/http_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>

struct ssl_ctx_st *http_tls_ctx_new(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *what = "SSL_CTX_new";

	if (!ctx)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Boot clients fetch a few files and go: no session cache to keep. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	what = cert;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		goto fail;
	what = key;
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	return ctx;
fail:
	snprintf(err, errlen, "%s: %s", what, ERR_reason_error_string(ERR_get_error()));
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

void http_tls_ctx_free(struct ssl_ctx_st *ctx)
{
	SSL_CTX_free(ctx);
}

struct ssl_st *http_tls_conn_new(struct ssl_ctx_st *ctx)
{
	SSL *ssl = SSL_new(ctx);
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());

	if (!ssl || !rb || !wb) {
		SSL_free(ssl);
		BIO_free(rb);
		BIO_free(wb);
		return NULL;
	}
	/* An empty memory BIO means "try again later", not end of file. */
	BIO_set_mem_eof_return(rb, -1);
	SSL_set_bio(ssl, rb, wb);
	SSL_set_accept_state(ssl);
	return ssl;
}

void http_tls_conn_free(struct ssl_st *ssl)
{
	SSL_free(ssl);
}

int http_tls_handshake_done(const struct ssl_st *ssl)
{
	return SSL_is_init_finished(ssl);
}

int http_tls_feed(struct ssl_st *ssl, const void *buf, size_t len)
{
	return BIO_write(SSL_get_rbio(ssl), buf, (int)len) == (int)len ? 0 : -1;
}

ssize_t http_tls_read(struct ssl_st *ssl, void *buf, size_t cap)
{
	int n = SSL_read(ssl, buf, cap > (1u << 30) ? 1 << 30 : (int)cap);

	if (n > 0)
		return n;
	switch (SSL_get_error(ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	default:
		ERR_clear_error();
		return -1;
	}
}

int http_tls_write(struct ssl_st *ssl, const void *buf, size_t len)
{
	/* The write BIO is memory: SSL_write takes everything at once. */
	if (len == 0)
		return 0;
	if (SSL_write(ssl, buf, (int)len) != (int)len) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

size_t http_tls_take(struct ssl_st *ssl, void *out, size_t cap)
{
	int n = BIO_read(SSL_get_wbio(ssl), out, (int)cap);

	return n > 0 ? (size_t)n : 0;
}
