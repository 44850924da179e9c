/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "bench_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

uint64_t bench_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * BENCH_NS_PER_S + (uint64_t)ts.tv_nsec;
}

bool bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool bench_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v >= min && v <= max))
		return false;
	*out = v;
	return true;
}

int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t bench_pct(const uint64_t *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)((p / 100.0) * (double)n + 0.999999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

static size_t put_str(uint8_t *p, size_t off, size_t cap, const char *s)
{
	size_t n = strlen(s) + 1;

	if (off == 0 || n > cap - off)
		return 0;
	memcpy(p + off, s, n);
	return off + n;
}

static size_t put_opt(uint8_t *p, size_t off, size_t cap, const char *name,
		      uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	return put_str(p, put_str(p, off, cap, name), cap, num);
}

size_t bench_tftp_rrq(uint8_t *p, size_t cap, const char *file,
		      uint32_t blksize, uint32_t window, bool tsize)
{
	size_t off = 2;

	if (cap < 4 || strlen(file) > 255)
		return 0;
	p[0] = 0;
	p[1] = BENCH_TFTP_RRQ;
	off = put_str(p, off, cap, file);
	off = put_str(p, off, cap, "octet");
	if (blksize != 0 && blksize != 512)
		off = put_opt(p, off, cap, "blksize", blksize);
	if (tsize)
		off = put_opt(p, off, cap, "tsize", 0);
	if (window > 1)
		off = put_opt(p, off, cap, "windowsize", window);
	return off;
}

bool bench_oack_parse(const uint8_t *p, size_t n, struct bench_oack *o)
{
	size_t off = 2;

	memset(o, 0, sizeof(*o));
	if (n < 2)
		return false;
	while (off < n) {
		const char *name = (const char *)p + off;
		size_t nl = strnlen(name, n - off);
		const char *val;
		size_t vl;
		uint64_t v;
		bool known;

		if (nl == n - off)
			return false;           /* unterminated name */
		off += nl + 1;
		if (off >= n)
			return false;           /* name without value */
		val = (const char *)p + off;
		vl = strnlen(val, n - off);
		if (vl == n - off)
			return false;           /* unterminated value */
		off += vl + 1;
		known = strcasecmp(name, "blksize") == 0 ||
			strcasecmp(name, "windowsize") == 0 ||
			strcasecmp(name, "tsize") == 0;
		if (!known)
			continue;
		if (!bench_parse_u64(val, 0, UINT64_MAX, &v))
			return false;
		if (strcasecmp(name, "blksize") == 0) {
			if (v == 0 || v > 65464)
				return false;
			o->blksize = (uint32_t)v;
		} else if (strcasecmp(name, "windowsize") == 0) {
			if (v == 0 || v > 65535)
				return false;
			o->window = (uint32_t)v;
		} else {
			o->tsize = v;
			o->has_tsize = true;
		}
	}
	return true;
}
