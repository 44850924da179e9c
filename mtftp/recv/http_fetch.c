/* HTTP/1.1 Range GET into a file descriptor. One connection per range
 * (the receiver merges adjacent missing slices, so ranges are few); the
 * answer must be 206 with exactly the asked range. */
#include "mtftp/recv/http_fetch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX 16384
#define IO_TIMEOUT_MS 15000

static int parse_url(const char *url, struct sockaddr_in *sa, char *host, size_t hostlen,
		     const char **path, char *err, size_t errlen)
{
	const char *h, *end, *colon;
	unsigned long port = 80;
	size_t hl;

	if (strncmp(url, "http://", 7) != 0) {
		snprintf(err, errlen, "fallback URL must start with http://");
		return -1;
	}
	h = url + 7;
	end = strchr(h, '/');
	*path = end ? end : "/";
	if (!end)
		end = h + strlen(h);
	colon = memchr(h, ':', (size_t)(end - h));
	hl = (size_t)((colon ? colon : end) - h);
	if (hl == 0 || hl >= hostlen) {
		snprintf(err, errlen, "fallback URL has no usable host");
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon) {
		char *e;

		port = strtoul(colon + 1, &e, 10);
		if (e != end || port == 0 || port > 65535) {
			snprintf(err, errlen, "fallback URL has a bad port");
			return -1;
		}
	}
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
		snprintf(err, errlen, "fallback URL host '%s' is not an IPv4 address", host);
		return -1;
	}
	return 0;
}

static int wait_fd(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r;

	do
		r = poll(&p, 1, IO_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : -1;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n;

		if (wait_fd(fd, POLLOUT) < 0)
			return -1;
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static ssize_t recv_some(int fd, void *buf, size_t len)
{
	ssize_t n;

	if (wait_fd(fd, POLLIN) < 0)
		return -1;
	do
		n = recv(fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	return n;
}

/* Value of header `name` in the head (NUL-terminated), or NULL. */
static const char *header(const char *head, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p, "\r\n")) {
		p += 2;
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			p += nl + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
	}
	return NULL;
}

int http_fetch_range(const char *url, uint64_t off, uint64_t len, int fd, char *err,
		     size_t errlen)
{
	struct sockaddr_in sa;
	char host[64], req[1024 + 256], head[HEAD_MAX + 1];
	static char body[1 << 16];
	const char *path, *v;
	size_t have = 0, hlen;
	uint64_t got = 0, cl, r0, r1;
	int s, n, status;
	char *eoh;

	if (len == 0)
		return 0;
	if (parse_url(url, &sa, host, sizeof(host), &path, err, errlen) < 0)
		return -1;
	if (strlen(path) > 1024) {
		snprintf(err, errlen, "fallback URL path too long");
		return -1;
	}
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nRange: bytes=%" PRIu64 "-%" PRIu64
		     "\r\nConnection: close\r\nUser-Agent: pxecast-recv\r\n\r\n",
		     path, host, off, off + len - 1);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if ((connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) ||
	    wait_fd(s, POLLOUT) < 0 || send_all(s, req, (size_t)n) < 0) {
		snprintf(err, errlen, "cannot reach %s: %s", url, strerror(errno));
		close(s);
		return -1;
	}
	/* Status line and headers. */
	for (;;) {
		ssize_t r;

		if (have == HEAD_MAX) {
			snprintf(err, errlen, "HTTP response header too large");
			goto fail;
		}
		r = recv_some(s, head + have, HEAD_MAX - have);
		if (r <= 0) {
			snprintf(err, errlen, "HTTP connection closed before the header ended");
			goto fail;
		}
		have += (size_t)r;
		head[have] = '\0';
		if ((eoh = strstr(head, "\r\n\r\n")) != NULL)
			break;
	}
	hlen = (size_t)(eoh - head) + 4;
	*eoh = '\0';
	if (sscanf(head, "HTTP/1.%*d %d", &status) != 1 || status != 206) {
		snprintf(err, errlen, "HTTP range request answered with status %d, want 206",
			 sscanf(head, "HTTP/1.%*d %d", &status) == 1 ? status : 0);
		goto fail;
	}
	v = header(head, "Content-Range");
	if (!v || sscanf(v, "bytes %" SCNu64 "-%" SCNu64, &r0, &r1) != 2 || r0 != off ||
	    r1 != off + len - 1) {
		snprintf(err, errlen, "HTTP Content-Range does not match bytes %" PRIu64 "-%" PRIu64,
			 off, off + len - 1);
		goto fail;
	}
	v = header(head, "Content-Length");
	if (!v || sscanf(v, "%" SCNu64, &cl) != 1 || cl != len) {
		snprintf(err, errlen, "HTTP Content-Length missing or not %" PRIu64, len);
		goto fail;
	}
	/* Body bytes that came with the header, then the rest. */
	if (have > hlen) {
		size_t extra = have - hlen > len ? (size_t)len : have - hlen;

		if (pwrite(fd, head + hlen, extra, (off_t)off) != (ssize_t)extra)
			goto write_fail;
		got = extra;
	}
	while (got < len) {
		size_t want = len - got < sizeof(body) ? (size_t)(len - got) : sizeof(body);
		ssize_t r = recv_some(s, body, want);

		if (r <= 0) {
			snprintf(err, errlen, "HTTP body ended after %" PRIu64 " of %" PRIu64 " bytes",
				 got, len);
			goto fail;
		}
		if (pwrite(fd, body, (size_t)r, (off_t)(off + got)) != r)
			goto write_fail;
		got += (uint64_t)r;
	}
	close(s);
	return 0;
write_fail:
	snprintf(err, errlen, "write: %s", strerror(errno));
fail:
	close(s);
	return -1;
}
