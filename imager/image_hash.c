/* Computing an image's digests (OpenSSL EVP SHA-256), and reading and
 * writing the sidecar that keeps them. */
#include "imager/image.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_BUF (1u << 20)
#define SIDECAR_MAX (1u << 30)

struct hash_run {
	struct iso *iso;
	int fd;
	image_progress_fn progress;
	void *ctx;
	uint64_t done, total;
	uint8_t *buf;
	EVP_MD_CTX *md;
	struct image_digests *d;
	size_t cap;
	bool stopped;
};

static int count_bytes(void *ctx, const char *path, size_t len, const struct iso_entry *e)
{
	struct hash_run *h = ctx;

	(void)path;
	(void)len;
	if (e->type == ISO_TYPE_FILE && !(e->flags & ISO_ENTRY_ZISOFS))
		h->total += e->size;
	return 0;
}

/* Hash len bytes of fd read at the given image runs into md, reporting
 * progress. Returns 0, 1 (stopped) or an iso_error. */
static int hash_extents(struct hash_run *h, const struct iso_extent *x, uint32_t n,
			uint8_t out[IMAGE_DIGEST_LEN])
{
	if (EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1)
		return ISO_ERR_NOMEM;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t off = x[i].offset, left = x[i].length;

		while (left > 0) {
			size_t take = left < HASH_BUF ? (size_t)left : HASH_BUF;
			ssize_t r = pread(h->fd, h->buf, take, (off_t)off);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return ISO_ERR_IO;
			EVP_DigestUpdate(h->md, h->buf, (size_t)r);
			off += (uint64_t)r;
			left -= (uint64_t)r;
			h->done += (uint64_t)r;
			if (h->progress && h->progress(h->ctx, h->done, h->total)) {
				h->stopped = true;
				return 1;
			}
		}
	}
	return EVP_DigestFinal_ex(h->md, out, NULL) == 1 ? 0 : ISO_ERR_NOMEM;
}

static int hash_file(void *ctx, const char *path, size_t len, const struct iso_entry *e)
{
	struct hash_run *h = ctx;
	struct image_digest_entry ent = { .size = e->size, .mtime = e->mtime };
	int rc;

	if (e->type != ISO_TYPE_FILE || (e->flags & ISO_ENTRY_ZISOFS))
		return 0;
	rc = hash_extents(h, e->extents, e->n_extents, ent.digest);
	if (rc)
		return rc;
	if (h->d->n == h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 256;
		struct image_digest_entry *g = realloc(h->d->entries, ncap * sizeof(*g));

		if (!g)
			return ISO_ERR_NOMEM;
		h->d->entries = g;
		h->cap = ncap;
	}
	ent.path = strndup(path, len);
	if (!ent.path)
		return ISO_ERR_NOMEM;
	h->d->entries[h->d->n++] = ent;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct image_digest_entry *)a)->path,
		      ((const struct image_digest_entry *)b)->path);
}

int image_digests_compute(struct iso *iso, int fd, image_progress_fn progress, void *ctx,
			  struct image_digests **out)
{
	struct hash_run h = { .iso = iso, .fd = fd, .progress = progress, .ctx = ctx };
	struct iso_extent whole;
	struct stat sb;
	int rc;

	*out = NULL;
	if (fstat(fd, &sb) < 0)
		return ISO_ERR_IO;
	h.buf = malloc(HASH_BUF);
	h.md = EVP_MD_CTX_new();
	h.d = calloc(1, sizeof(*h.d));
	if (!h.buf || !h.md || !h.d) {
		rc = ISO_ERR_NOMEM;
		goto out;
	}
	h.d->image_size = (uint64_t)sb.st_size;
	h.d->image_mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	rc = iso_walk(iso, count_bytes, &h);
	if (rc)
		goto out;
	h.total += (uint64_t)sb.st_size;
	rc = iso_walk(iso, hash_file, &h);
	if (rc)
		goto out;
	whole = (struct iso_extent){ 0, (uint64_t)sb.st_size };
	rc = hash_extents(&h, &whole, 1, h.d->image_digest);
	if (rc)
		goto out;
	h.d->has_image_digest = true;
	qsort(h.d->entries, h.d->n, sizeof(h.d->entries[0]), cmp_entry);
	*out = h.d;
	h.d = NULL;
out:
	if (h.stopped)
		rc = 1;
	image_digests_free(h.d);
	EVP_MD_CTX_free(h.md);
	free(h.buf);
	return rc;
}

int image_digests_save(const struct image_digests *d, const char *path)
{
	char *tmp = NULL;
	size_t len, off = 0;
	char *text = image_digests_format(d, &len);
	int fd = -1, err = 0;

	if (!text || asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0) {
		free(text);
		return -ENOMEM;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		err = errno;
	while (!err && off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = n < 0 ? errno : EIO;
		else
			off += (size_t)n;
	}
	if (!err && fsync(fd) < 0)
		err = errno;
	if (fd >= 0 && close(fd) < 0 && !err)
		err = errno;
	if (!err && rename(tmp, path) < 0)
		err = errno;
	if (err && fd >= 0)
		unlink(tmp);
	free(tmp);
	free(text);
	return -err;
}

int image_digests_load(const char *path, int image_fd, struct image_digests **out)
{
	struct stat isb, sb;
	char *buf;
	size_t got = 0;
	int fd, rc;

	*out = NULL;
	if (fstat(image_fd, &isb) < 0)
		return -errno;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > (off_t)SIDECAR_MAX) {
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	rc = image_digests_parse(buf, got, (uint64_t)isb.st_size,
				 (int64_t)isb.st_mtim.tv_sec * 1000000000 + isb.st_mtim.tv_nsec, out);
	free(buf);
	return rc;
}
