/* SPDX-License-Identifier: GPL-2.0-or-later */
/* HTTP/1.1 response heads and http:// URLs, as iPXE reads them. */
#include "boot_bench.h"
#include "bench_util.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#define HEAD_MAX 16384

static bool ieq(const char *a, size_t an, const char *b)
{
	return an == strlen(b) && strncasecmp(a, b, an) == 0;
}

static void trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* Does the comma list v (e.g. "keep-alive, Upgrade") hold token? */
static bool has_token(const char *v, size_t n, const char *token)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		const char *t;
		size_t tn;

		while (j < n && v[j] != ',')
			j++;
		t = v + i;
		tn = j - i;
		trim(&t, &tn);
		if (ieq(t, tn, token))
			return true;
		i = j + 1;
	}
	return false;
}

int http_head_parse(const uint8_t *buf, size_t len, struct http_head *h)
{
	const char *s = (const char *)buf;
	size_t end = 0, i, line;
	bool http10, keep_alive = false;
	int minor;

	memset(h, 0, sizeof(*h));
	for (i = 3; i < len && i < HEAD_MAX; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' &&
		    buf[i - 3] == '\r') {
			end = i + 1;
			break;
		}
	if (end == 0)
		return len >= HEAD_MAX ? -1 : 0;
	/* status line: HTTP/1.x NNN reason */
	if (end < 14 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') ||
	    s[8] != ' ' || s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' ||
	    s[11] < '0' || s[11] > '9' || (s[12] != ' ' && s[12] != '\r'))
		return -1;
	minor = s[7] - '0';
	http10 = minor == 0;
	h->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	for (line = 0; line < end && s[line] != '\n'; line++)
		;
	line++;
	/* fields, each "name: value\r\n", until the blank line */
	while (line + 2 <= end && !(s[line] == '\r' && s[line + 1] == '\n')) {
		size_t eol = line, colon;
		const char *name, *val;
		size_t nn, vn;

		while (eol < end && s[eol] != '\r')
			eol++;
		if (eol + 1 >= end || s[eol + 1] != '\n')
			return -1;           /* bare CR */
		for (colon = line; colon < eol && s[colon] != ':'; colon++)
			;
		if (colon == eol || colon == line)
			return -1;
		name = s + line;
		nn = colon - line;
		val = s + colon + 1;
		vn = eol - colon - 1;
		trim(&val, &vn);
		if (ieq(name, nn, "Content-Length")) {
			char num[24];
			uint64_t v;

			if (vn == 0 || vn >= sizeof(num))
				return -1;
			memcpy(num, val, vn);
			num[vn] = '\0';
			if (!bench_parse_u64(num, 0, UINT64_MAX >> 1, &v) ||
			    (h->has_length && h->length != v))
				return -1;
			h->has_length = true;
			h->length = v;
		} else if (ieq(name, nn, "Connection")) {
			if (has_token(val, vn, "close"))
				h->close = true;
			if (has_token(val, vn, "keep-alive"))
				keep_alive = true;
		} else if (ieq(name, nn, "Transfer-Encoding")) {
			h->chunked = has_token(val, vn, "chunked");
		}
		line = eol + 2;
	}
	if (http10 && !keep_alive)
		h->close = true;
	h->head_len = end;
	return 1;
}

int url_parse(const char *s, size_t n, const struct url *base, struct url *u)
{
	size_t i, hl, pl;
	const char *host, *path;
	uint64_t port = 80;

	memset(u, 0, sizeof(*u));
	if (n >= 7 && strncasecmp(s, "http://", 7) == 0) {
		host = s + 7;
		for (i = 7; i < n && s[i] != '/'; i++)
			;
		hl = (size_t)(s + i - host);
		path = s + i;
		pl = n - i;
		if (hl == 0 || hl >= sizeof(u->host))
			return -1;
		memcpy(u->host, host, hl);
		u->host[hl] = '\0';
		char *colon = strchr(u->host, ':');
		if (colon != NULL) {
			*colon = '\0';
			if (!bench_parse_u64(colon + 1, 1, 65535, &port))
				return -1;
		}
		if (inet_pton(AF_INET, u->host, &u->ip) != 1)
			return -1;
		if (colon != NULL)
			*colon = ':';          /* Host: keeps the port */
		u->port = (uint16_t)port;
		if (pl == 0) {
			path = "/";
			pl = 1;
		}
	} else {
		if (base == NULL || n == 0 || memchr(s, ':', n) != NULL)
			return -1;     /* another scheme, or nothing to resolve against */
		*u = *base;
		if (s[0] == '/') {
			path = s;
			pl = n;
		} else {
			/* beside the base: keep its directory */
			char *slash = strrchr(u->path, '/');
			size_t dl = slash ? (size_t)(slash - u->path) + 1 : 0;

			if (dl + n >= sizeof(u->path))
				return -1;
			memcpy(u->path + dl, s, n);
			u->path[dl + n] = '\0';
			goto check;
		}
	}
	if (pl >= sizeof(u->path))
		return -1;
	memcpy(u->path, path, pl);
	u->path[pl] = '\0';
check:
	for (i = 0; u->path[i] != '\0'; i++)
		if ((unsigned char)u->path[i] <= 0x20 || u->path[i] == 0x7f)
			return -1;     /* would break the request line */
	return 0;
}
