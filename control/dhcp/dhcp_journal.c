/* The lease journal's text rows: format, a loader that skips bad rows,
 * and compaction into a fresh file.
 *
 * Our own file is input too (ISC dhcpd CVE-2021-25217, Kea
 * CVE-2019-6474): every field is checked by hand against a closed
 * character set, the checksum catches torn or edited rows, and a bad row
 * costs one counter, never the start of the daemon.
 */
#include "control/dhcp/dhcp.h"
#include "common/hex.h"
#include "control/dhcp/dhcp_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define JOURNAL_HEADER "# pxecast leases v1\n"

static const char *const state_names[] = {
	[DHCP_LEASE_FREE] = "free",
	[DHCP_LEASE_OFFERED] = "offered", /* never written */
	[DHCP_LEASE_BOUND] = "bound",
	[DHCP_LEASE_DECLINED] = "declined",
};

static bool hostname_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

size_t dhcp_hostname_sanitize(char *dst, size_t cap, const uint8_t *src, size_t len)
{
	size_t o = 0;

	if (cap == 0)
		return 0;
	for (size_t i = 0; i < len && src[i] != '\0'; i++) {
		if (o + 1 >= cap || o >= DHCP_HOSTNAME_MAX)
			break;
		dst[o++] = hostname_char(src[i]) ? (char)src[i] : '-';
	}
	dst[o] = '\0';
	return o;
}

size_t dhcp_journal_format(char *buf, size_t cap, const struct dhcp_lease *e)
{
	static const char hex[] = "0123456789abcdef";
	char mac[3 * DHCP_CHADDR_LEN + 1] = "-";
	const uint8_t *ip = (const uint8_t *)&e->ip;
	size_t o = 0;
	int n;

	for (uint8_t i = 0; i < e->hlen && i < DHCP_CHADDR_LEN; i++) {
		if (i > 0)
			mac[o++] = ':';
		mac[o++] = hex[e->mac[i] >> 4];
		mac[o++] = hex[e->mac[i] & 15];
		mac[o] = '\0';
	}
	n = snprintf(buf, cap, "L1 %s %s %u.%u.%u.%u %lld %s",
		     state_names[e->state <= DHCP_LEASE_DECLINED ? e->state : 0],
		     mac, ip[0], ip[1], ip[2], ip[3], (long long)e->expiry,
		     e->hostname[0] ? e->hostname : "-");
	if (n < 0 || (size_t)n + 10 >= cap)
		return 0;
	uint32_t crc = (uint32_t)crc32(0, (const Bytef *)buf, (uInt)n);
	n += snprintf(buf + n, cap - (size_t)n, " %08x\n", crc);
	return (size_t)n;
}

/* ---- parsing one row ---- */

struct tok {
	const char *p;
	size_t n;
};

static bool tok_is(const struct tok *t, const char *s)
{
	return t->n == strlen(s) && memcmp(t->p, s, t->n) == 0;
}

static bool parse_mac(const struct tok *t, struct dhcp_lease *e)
{
	if (tok_is(t, "-")) {
		e->hlen = 0;
		return true;
	}
	if (t->n < 2 || t->n > 3 * DHCP_CHADDR_LEN - 1 || (t->n + 1) % 3 != 0)
		return false;
	e->hlen = (uint8_t)((t->n + 1) / 3);
	for (size_t i = 0; i < e->hlen; i++) {
		int hi = hex_lower(t->p[3 * i]), lo = hex_lower(t->p[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i + 1 < e->hlen && t->p[3 * i + 2] != ':'))
			return false;
		e->mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool parse_ip(const struct tok *t, uint32_t *out)
{
	uint8_t b[4];
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		unsigned v = 0, digits = 0;
		while (i < t->n && t->p[i] >= '0' && t->p[i] <= '9' && digits < 3) {
			v = v * 10 + (unsigned)(t->p[i++] - '0');
			digits++;
		}
		if (digits == 0 || v > 255)
			return false;
		b[k] = (uint8_t)v;
		if (k < 3 && (i >= t->n || t->p[i++] != '.'))
			return false;
	}
	if (i != t->n)
		return false;
	memcpy(out, b, 4);
	return true;
}

static bool parse_i64(const struct tok *t, int64_t *out)
{
	int64_t v = 0;

	if (t->n == 0 || t->n > 18) /* 18 digits cannot overflow int64 */
		return false;
	for (size_t i = 0; i < t->n; i++) {
		if (t->p[i] < '0' || t->p[i] > '9')
			return false;
		v = v * 10 + (t->p[i] - '0');
	}
	*out = v;
	return true;
}

/* One row without its newline; false for anything not exactly as written. */
static bool journal_parse_row(const char *line, size_t len, struct dhcp_lease *e)
{
	struct tok t[7];
	size_t nt = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || line[i] == ' ') {
			if (nt == 7 || i == start)
				return false;
			t[nt++] = (struct tok){ line + start, i - start };
			start = i + 1;
		}
	}
	if (nt != 7 || !tok_is(&t[0], "L1") || t[6].n != 8)
		return false;
	memset(e, 0, sizeof(*e));
	if (tok_is(&t[1], "bound"))
		e->state = DHCP_LEASE_BOUND;
	else if (tok_is(&t[1], "free"))
		e->state = DHCP_LEASE_FREE;
	else if (tok_is(&t[1], "declined"))
		e->state = DHCP_LEASE_DECLINED;
	else
		return false;
	if (!parse_mac(&t[2], e) || !parse_ip(&t[3], &e->ip) || !parse_i64(&t[4], &e->expiry))
		return false;
	if (e->hlen == 0 && e->state != DHCP_LEASE_DECLINED)
		return false;
	if (!tok_is(&t[5], "-")) {
		if (t[5].n > DHCP_HOSTNAME_MAX)
			return false;
		for (size_t i = 0; i < t[5].n; i++)
			if (!hostname_char((unsigned char)t[5].p[i]))
				return false;
		memcpy(e->hostname, t[5].p, t[5].n);
	}
	uint32_t want = 0;
	for (size_t i = 0; i < 8; i++) {
		int v = hex_lower(t[6].p[i]);
		if (v < 0)
			return false;
		want = want << 4 | (uint32_t)v;
	}
	size_t covered = (size_t)(t[6].p - line) - 1;
	return (uint32_t)crc32(0, (const Bytef *)line, (uInt)covered) == want;
}

void dhcp_leases_load(struct dhcp_leases *l, const uint8_t *buf, size_t len,
		      int64_t now)
{
	struct dhcp_leases_stats *st = dhcp_leases_stats_mut(l);
	size_t i = 0;

	while (i < len) {
		const uint8_t *nl = memchr(buf + i, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - (buf + i)) : len - i;
		const char *line = (const char *)buf + i;
		struct dhcp_lease e;

		i += n + 1;
		if (n == 0 || (nl != NULL && line[0] == '#'))
			continue;
		/* No newline: a torn last write. */
		if (nl == NULL || n >= DHCP_JOURNAL_ROW_MAX || !journal_parse_row(line, n, &e)) {
			st->rows_bad++;
			continue;
		}
		if (e.state == DHCP_LEASE_DECLINED && e.expiry <= now) {
			st->rows_stale++;
			continue;
		}
		if (dhcp_leases_apply(l, now, &e, false) != 0) {
			st->rows_dropped++;
			continue;
		}
		st->rows_loaded++;
	}
}

/* ---- compaction ---- */

struct compact_ctx {
	int fd, err;
	int64_t now;
	size_t len;
	char buf[16384];
};

static void compact_write(struct compact_ctx *c)
{
	size_t off = 0;

	while (c->err == 0 && off < c->len) {
		ssize_t n = write(c->fd, c->buf + off, c->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			c->err = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	c->len = 0;
}

static void compact_row(const struct dhcp_lease *e, void *ctx)
{
	struct compact_ctx *c = ctx;

	/* Offers live in memory; quarantines that ran out are dropped. */
	if (e->state == DHCP_LEASE_OFFERED ||
	    (e->state == DHCP_LEASE_DECLINED && e->expiry <= c->now))
		return;
	if (sizeof(c->buf) - c->len < DHCP_JOURNAL_ROW_MAX)
		compact_write(c);
	c->len += dhcp_journal_format(c->buf + c->len, sizeof(c->buf) - c->len, e);
}

int dhcp_leases_compact(struct dhcp_leases *l, int dirfd, const char *name,
			int64_t now)
{
	struct compact_ctx *c;
	char tmp[256];
	int fd, n = snprintf(tmp, sizeof(tmp), "%s.tmp", name);

	if (n < 0 || (size_t)n >= sizeof(tmp) || name[0] == '\0')
		return -ENAMETOOLONG;
	c = malloc(sizeof(*c)); /* 16 KiB: keep it off the stack */
	if (c == NULL)
		return -ENOMEM;
	c->fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
	if (c->fd < 0) {
		free(c);
		return -errno;
	}
	c->err = 0;
	c->now = now;
	c->len = strlen(JOURNAL_HEADER);
	memcpy(c->buf, JOURNAL_HEADER, c->len);
	dhcp_leases_foreach(l, compact_row, c);
	compact_write(c);
	if (c->err == 0 && fsync(c->fd) < 0)
		c->err = -errno;
	if (c->err == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		c->err = -errno;
	fd = c->fd;
	n = c->err;
	free(c);
	if (n != 0) {
		close(fd);
		unlinkat(dirfd, tmp, 0);
		dhcp_leases_stats_mut(l)->flush_errors++;
		return n;
	}
	/* The rename is durable once the directory is. If that fails the new
	 * file is in place all the same: hand it back, but keep the rows
	 * queued so the next flush writes and syncs them again. */
	if (fsync(dirfd) < 0) {
		dhcp_leases_stats_mut(l)->flush_errors++;
		return fd;
	}
	dhcp_leases_mark_durable(l);
	dhcp_leases_stats_mut(l)->compactions++;
	return fd;
}
