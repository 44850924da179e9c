/* SHA-256 digests of an image's files and their sidecar file.
 *
 *   # pxecast image digests v1
 *   image-size 1034944512
 *   image-mtime-ns 1717171717000000000
 *   image-sha256 9f86d0...
 *   file 2c26b4... 13041112 1717171000 images/pxeboot/vmlinuz
 *
 * One key per line. The whole table belongs to one image size and mtime;
 * each file line to its path, size and mtime. Paths are the last field,
 * with bytes <= ' ', '%' and DEL written %XX, so any Rock Ridge name
 * (spaces, newlines) round-trips. The parser takes (buf, len) and trusts
 * nothing in it.
 */
#include "imager/image.h"
#include "common/hex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "# pxecast image digests v1"
#define ENTRIES_MAX 4000000u
#define LINE_MAX_LEN (ISO_PATH_MAX * 3 + 160)

void image_digest_hex(const uint8_t digest[IMAGE_DIGEST_LEN], char hex[IMAGE_DIGEST_HEX + 1])
{
	static const char x[] = "0123456789abcdef";

	for (int i = 0; i < IMAGE_DIGEST_LEN; i++) {
		hex[2 * i] = x[digest[i] >> 4];
		hex[2 * i + 1] = x[digest[i] & 15];
	}
	hex[IMAGE_DIGEST_HEX] = '\0';
}

void image_digests_free(struct image_digests *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->entries[i].path);
	free(d->entries);
	free(d);
}

static int parse_hex_digest(const char *s, size_t len, uint8_t out[IMAGE_DIGEST_LEN])
{
	if (len != IMAGE_DIGEST_HEX)
		return -1;
	for (int i = 0; i < IMAGE_DIGEST_LEN; i++) {
		int hi = hex_any(s[2 * i]), lo = hex_any(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* A decimal of at most 19 digits, optionally negative when allowed. */
static int parse_int(const char *s, size_t len, bool allow_neg, int64_t *out)
{
	bool neg = false;
	int64_t v = 0;

	if (len && s[0] == '-' && allow_neg) {
		neg = true;
		s++;
		len--;
	}
	if (len == 0 || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return 0;
}

/* Split off the next space-separated field of [*p, end). */
static bool field(const char **p, const char *end, const char **f, size_t *flen)
{
	const char *s = *p, *sp;

	if (s >= end)
		return false;
	sp = memchr(s, ' ', (size_t)(end - s));
	*f = s;
	*flen = (size_t)((sp ? sp : end) - s);
	*p = sp ? sp + 1 : end;
	return *flen > 0;
}

static char *unescape_path(const char *s, size_t len)
{
	char *out = malloc(len + 1);
	size_t o = 0;

	if (!out || len == 0 || len > ISO_PATH_MAX * 3)
		goto bad;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f)
			goto bad;
		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				goto bad;
			hi = hex_any(s[i + 1]);
			lo = hex_any(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (o > ISO_PATH_MAX || out[0] == '/')
		goto bad;
	return out;
bad:
	free(out);
	return NULL;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct image_digest_entry *)a)->path,
		      ((const struct image_digest_entry *)b)->path);
}

static int add_entry(struct image_digests *d, size_t *cap, struct image_digest_entry *e)
{
	if (d->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct image_digest_entry *g;

		if (ncap > ENTRIES_MAX)
			return -EINVAL;
		g = realloc(d->entries, ncap * sizeof(*g));
		if (!g)
			return -ENOMEM;
		d->entries = g;
		*cap = ncap;
	}
	d->entries[d->n++] = *e;
	return 0;
}

static int parse_line(struct image_digests *d, size_t *cap, const char *s, const char *end,
		      bool *have_size, bool *have_mtime)
{
	const char *key, *f;
	size_t klen, flen;
	int64_t v;

	if (!field(&s, end, &key, &klen))
		return -EINVAL;
	if (klen == 10 && !memcmp(key, "image-size", 10)) {
		if (!field(&s, end, &f, &flen) || s != end || parse_int(f, flen, false, &v))
			return -EINVAL;
		d->image_size = (uint64_t)v;
		*have_size = true;
		return 0;
	}
	if (klen == 14 && !memcmp(key, "image-mtime-ns", 14)) {
		/* 19 digits do not fit parse_int's cap: seconds, then nanoseconds. */
		int64_t sec, ns;
		bool neg;

		if (!field(&s, end, &f, &flen) || s != end)
			return -EINVAL;
		neg = f[0] == '-';
		f += neg;
		flen -= neg;
		if (flen < 10 || parse_int(f, flen - 9, false, &sec) ||
		    parse_int(f + flen - 9, 9, false, &ns) || sec > INT64_MAX / 1000000000 - 1)
			return -EINVAL;
		d->image_mtime_ns = (sec * 1000000000 + ns) * (neg ? -1 : 1);
		*have_mtime = true;
		return 0;
	}
	if (klen == 12 && !memcmp(key, "image-sha256", 12)) {
		if (!field(&s, end, &f, &flen) || s != end ||
		    parse_hex_digest(f, flen, d->image_digest))
			return -EINVAL;
		d->has_image_digest = true;
		return 0;
	}
	if (klen == 4 && !memcmp(key, "file", 4)) {
		struct image_digest_entry e = { 0 };
		int rc;

		if (!field(&s, end, &f, &flen) || parse_hex_digest(f, flen, e.digest))
			return -EINVAL;
		if (!field(&s, end, &f, &flen) || parse_int(f, flen, false, &v))
			return -EINVAL;
		e.size = (uint64_t)v;
		if (!field(&s, end, &f, &flen) || parse_int(f, flen, true, &e.mtime))
			return -EINVAL;
		if (!field(&s, end, &f, &flen) || s != end)
			return -EINVAL;
		e.path = unescape_path(f, flen);
		if (!e.path)
			return -EINVAL;
		rc = add_entry(d, cap, &e);
		if (rc)
			free(e.path);
		return rc;
	}
	return -EINVAL;
}

int image_digests_parse(const char *buf, size_t len, uint64_t image_size,
			int64_t image_mtime_ns, struct image_digests **out)
{
	struct image_digests *d;
	bool have_size = false, have_mtime = false;
	size_t pos = 0, cap = 0, mlen = sizeof(MAGIC) - 1;
	int rc = 0;

	*out = NULL;
	if (len < mlen + 1 || memcmp(buf, MAGIC, mlen) != 0 || buf[mlen] != '\n')
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pos = mlen + 1;
	while (pos < len && rc == 0) {
		const char *s = buf + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n;

		if (!nl) {
			rc = -EINVAL; /* a cut-off file: the last line has no end */
			break;
		}
		n = (size_t)(nl - s);
		pos += n + 1;
		if (n == 0 || n > LINE_MAX_LEN || memchr(s, '\0', n))
			rc = -EINVAL;
		else
			rc = parse_line(d, &cap, s, nl, &have_size, &have_mtime);
	}
	if (rc == 0 && (!have_size || !have_mtime))
		rc = -EINVAL;
	if (rc == 0 && (d->image_size != image_size || d->image_mtime_ns != image_mtime_ns))
		rc = -ESTALE;
	if (rc == 0 && d->n > 1) {
		qsort(d->entries, d->n, sizeof(d->entries[0]), cmp_entry);
		for (size_t i = 1; i < d->n; i++)
			if (!strcmp(d->entries[i - 1].path, d->entries[i].path))
				rc = -EINVAL;
	}
	if (rc) {
		image_digests_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

const struct image_digest_entry *image_digests_find(const struct image_digests *d,
						    const char *path, uint64_t size,
						    int64_t mtime)
{
	struct image_digest_entry key = { .path = (char *)path };
	const struct image_digest_entry *e;

	if (!d || d->n == 0)
		return NULL;
	e = bsearch(&key, d->entries, d->n, sizeof(d->entries[0]), cmp_entry);
	return e && e->size == size && e->mtime == mtime ? e : NULL;
}

char *image_digests_format(const struct image_digests *d, size_t *len)
{
	char hex[IMAGE_DIGEST_HEX + 1];
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	uint64_t mag = d->image_mtime_ns < 0 ? (uint64_t)0 - (uint64_t)d->image_mtime_ns
					      : (uint64_t)d->image_mtime_ns;

	if (!f)
		return NULL;
	fprintf(f, "%s\nimage-size %llu\n", MAGIC, (unsigned long long)d->image_size);
	fprintf(f, "image-mtime-ns %s%llu%09llu\n", d->image_mtime_ns < 0 ? "-" : "",
		(unsigned long long)(mag / 1000000000), (unsigned long long)(mag % 1000000000));
	if (d->has_image_digest) {
		image_digest_hex(d->image_digest, hex);
		fprintf(f, "image-sha256 %s\n", hex);
	}
	for (size_t i = 0; i < d->n; i++) {
		const struct image_digest_entry *e = &d->entries[i];

		image_digest_hex(e->digest, hex);
		fprintf(f, "file %s %llu %lld ", hex, (unsigned long long)e->size,
			(long long)e->mtime);
		for (const unsigned char *p = (const unsigned char *)e->path; *p; p++)
			if (*p <= ' ' || *p == '%' || *p == 0x7f)
				fprintf(f, "%%%02X", *p);
			else
				fputc(*p, f);
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*len = size;
	return buf;
}
