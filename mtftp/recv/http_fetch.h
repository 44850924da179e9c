/* A minimal HTTP/1.1 Range client for pxecast-recv's fallback: plain
 * sockets, IPv4 literal hosts (an initramfs has no resolver), no TLS. */
#ifndef PXECAST_MTFTP_RECV_HTTP_FETCH_H
#define PXECAST_MTFTP_RECV_HTTP_FETCH_H

#include <stddef.h>
#include <stdint.h>

/* Fetch bytes [off, off+len) of url into fd at the same offset. Returns 0,
 * or -1 with the reason in err. */
int http_fetch_range(const char *url, uint64_t off, uint64_t len, int fd, char *err,
		     size_t errlen);

#endif
