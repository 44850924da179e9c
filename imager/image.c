/* The set of ISO images served under images/NAME/: lookups and reads
 * through extents, and the background thread that fills missing
 * digests. */
#include "imager/image.h"

#include "appliance/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMAGES_MAX 256

struct image {
	char name[IMAGE_NAME_MAX + 1];
	size_t name_len;
	char *path;
	char *digests_path;
	int fd;
	struct stat sb;
	struct iso *iso;
	/* Published once by the digest thread, read by every lookup. */
	_Atomic(struct image_digests *) digests;
};

struct image_set {
	struct image *images;
	size_t n;
	pthread_t thread;
	bool thread_running;
	atomic_bool stop;
};

bool image_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > IMAGE_NAME_MAX || name[0] == '.' || name[0] == '-' || name[0] == '_')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

struct image_set *image_set_new(void)
{
	return calloc(1, sizeof(struct image_set));
}

size_t image_set_count(const struct image_set *set)
{
	return set ? set->n : 0;
}

void image_set_free(struct image_set *set)
{
	if (!set)
		return;
	if (set->thread_running) {
		atomic_store(&set->stop, true);
		pthread_join(set->thread, NULL);
	}
	for (size_t i = 0; i < set->n; i++) {
		struct image *im = &set->images[i];

		iso_close(im->iso);
		close(im->fd);
		image_digests_free(atomic_load(&im->digests));
		free(im->path);
		free(im->digests_path);
	}
	free(set->images);
	free(set);
}

int image_set_add(struct image_set *set, const char *name, const char *path,
		  const char *digests_path, char *err, size_t errlen)
{
	struct image *im, *grown;
	struct image_digests *d = NULL;
	int rc;

	if (!image_name_valid(name)) {
		snprintf(err, errlen, "[image %s]: name must be letters, digits, '.', '-', '_'", name);
		return -1;
	}
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->images[i].name, name)) {
			snprintf(err, errlen, "[image %s]: defined twice", name);
			return -1;
		}
	if (set->n >= IMAGES_MAX || set->thread_running) {
		/* The digest thread walks the array: it must not move under it. */
		snprintf(err, errlen, "[image %s]: %s", name,
			 set->thread_running ? "added after the digests started" : "too many images");
		return -1;
	}
	grown = realloc(set->images, (set->n + 1) * sizeof(*grown));
	if (!grown) {
		snprintf(err, errlen, "[image %s]: out of memory", name);
		return -1;
	}
	set->images = grown;
	im = &set->images[set->n];
	memset(im, 0, sizeof(*im));
	im->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (im->fd < 0 || fstat(im->fd, &im->sb) < 0 || !S_ISREG(im->sb.st_mode)) {
		snprintf(err, errlen, "[image %s] path %s: %s", name, path,
			 im->fd < 0 ? strerror(errno) : "not a regular file");
		if (im->fd >= 0)
			close(im->fd);
		return -1;
	}
	rc = iso_open_fd(im->fd, &im->iso);
	if (rc != ISO_OK) {
		snprintf(err, errlen, "[image %s] path %s: %s", name, path, iso_strerror(rc));
		close(im->fd);
		return -1;
	}
	im->path = strdup(path);
	if (digests_path && *digests_path)
		im->digests_path = strdup(digests_path);
	else if (asprintf(&im->digests_path, "%s.sha256", path) < 0)
		im->digests_path = NULL;
	if (!im->path || !im->digests_path) {
		snprintf(err, errlen, "[image %s]: out of memory", name);
		iso_close(im->iso);
		close(im->fd);
		free(im->path);
		free(im->digests_path);
		return -1;
	}
	snprintf(im->name, sizeof(im->name), "%s", name);
	im->name_len = strlen(name);
	if (image_digests_load(im->digests_path, im->fd, &d) == 0)
		atomic_store(&im->digests, d);
	set->n++;
	return 0;
}

static int errno_of_iso(int rc)
{
	switch (rc) {
	case ISO_ERR_NOT_FOUND: return -ENOENT;
	case ISO_ERR_NOT_DIR: return -ENOTDIR;
	case ISO_ERR_SYMLINK_LOOP: return -ELOOP;
	case ISO_ERR_BAD_NAME:
	case ISO_ERR_NAME_TOO_LONG: return -EINVAL;
	case ISO_ERR_NOMEM: return -ENOMEM;
	case ISO_ERR_UNSUPPORTED: return -EOPNOTSUPP;
	default: return -EIO;
	}
}

static void file_of_image(const struct image *im, struct image_file *out)
{
	out->fd = im->fd;
	out->dev = im->sb.st_dev;
	out->ino = im->sb.st_ino;
}

int image_set_lookup(struct image_set *set, const char *path, size_t len,
		     struct image_file *out)
{
	const size_t plen = sizeof(IMAGE_PREFIX) - 1;
	struct iso_entry e;
	struct image_digests *d;
	const struct image_digest_entry *de;
	char rel[ISO_PATH_MAX + 1];
	int rc;

	if (!set || len <= plen || memcmp(path, IMAGE_PREFIX, plen) != 0)
		return IMAGE_NOT_MINE;
	path += plen;
	len -= plen;
	for (size_t i = 0; i < set->n; i++) {
		struct image *im = &set->images[i];
		size_t nl = im->name_len;

		if (len < nl || memcmp(path, im->name, nl) != 0)
			continue;
		if (len == nl + 4 && !memcmp(path + nl, ".iso", 4)) {
			file_of_image(im, out);
			out->size = (uint64_t)im->sb.st_size;
			out->mtime = im->sb.st_mtim.tv_sec;
			out->n_extents = out->size ? 1 : 0;
			out->extents[0] = (struct iso_extent){ 0, out->size };
			d = atomic_load_explicit(&im->digests, memory_order_acquire);
			out->has_digest = d && d->has_image_digest;
			if (out->has_digest)
				memcpy(out->digest, d->image_digest, IMAGE_DIGEST_LEN);
			return 0;
		}
		if (len == nl || path[nl] != '/')
			continue;
		/* Normalised like the digest keys: no leading or doubled '/'. */
		size_t o = 0;

		for (size_t k = nl + 1; k < len; k++) {
			if (path[k] == '/' && (o == 0 || rel[o - 1] == '/'))
				continue;
			if (path[k] == '\0' || o >= ISO_PATH_MAX)
				return -EINVAL;
			rel[o++] = path[k];
		}
		rel[o] = '\0';
		rc = iso_lookup(im->iso, rel, o, 0, &e);
		if (rc != ISO_OK)
			return errno_of_iso(rc);
		if (e.type == ISO_TYPE_DIR)
			return -EISDIR;
		if (e.type != ISO_TYPE_FILE)
			return -EOPNOTSUPP;
		if (e.flags & ISO_ENTRY_ZISOFS)
			return -EOPNOTSUPP;
		file_of_image(im, out);
		out->size = e.size;
		out->mtime = e.mtime;
		out->n_extents = e.n_extents;
		memcpy(out->extents, e.extents, e.n_extents * sizeof(e.extents[0]));
		d = atomic_load_explicit(&im->digests, memory_order_acquire);
		/* The digest of what the name resolves to; a path through a
		 * symlink is not keyed, so it gets the mtime/size ETag. */
		de = d ? image_digests_find(d, rel, e.size, e.mtime) : NULL;
		out->has_digest = de != NULL;
		if (de)
			memcpy(out->digest, de->digest, IMAGE_DIGEST_LEN);
		return 0;
	}
	return IMAGE_NOT_MINE;
}

uint64_t image_file_run(const struct image_file *f, uint64_t off, uint64_t *img_off)
{
	uint64_t base = 0;

	for (uint32_t i = 0; i < f->n_extents; i++) {
		const struct iso_extent *x = &f->extents[i];

		if (off < base + x->length) {
			uint64_t run = x->length - (off - base);

			*img_off = x->offset + (off - base);
			/* xorriso writes the parts of a big file back to back. */
			while (i + 1 < f->n_extents &&
			       f->extents[i].offset + f->extents[i].length == f->extents[i + 1].offset) {
				i++;
				run += f->extents[i].length;
			}
			return run;
		}
		base += x->length;
	}
	return 0;
}

int image_file_read(const struct image_file *f, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		uint64_t at, run = image_file_run(f, off, &at);
		size_t take = run < len ? (size_t)run : len;
		ssize_t n;

		if (run == 0)
			return -EIO;
		n = pread(f->fd, p, take, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the image shrank under us */
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int stop_requested(void *ctx, uint64_t done, uint64_t total)
{
	(void)done;
	(void)total;
	return atomic_load((atomic_bool *)ctx) ? 1 : 0;
}

static void *digest_thread(void *arg)
{
	struct image_set *set = arg;

	for (size_t i = 0; i < set->n && !atomic_load(&set->stop); i++) {
		struct image *im = &set->images[i];
		struct image_digests *d = NULL;
		int rc, wrc;

		if (atomic_load(&im->digests))
			continue;
		rc = image_digests_compute(im->iso, im->fd, stop_requested, &set->stop, &d);
		if (rc != 0) {
			if (rc < 0)
				log_event(LOG_WARN, "image.digest", "image=%s result=failed error=\"%s\"",
					  im->name, iso_strerror(rc));
			continue;
		}
		wrc = image_digests_save(d, im->digests_path);
		log_event(wrc ? LOG_WARN : LOG_INFO, "image.digest",
			  "image=%s files=%zu result=ok sidecar=%s%s%s", im->name, d->n,
			  im->digests_path, wrc ? " save_error=" : "", wrc ? strerror(-wrc) : "");
		atomic_store_explicit(&im->digests, d, memory_order_release);
	}
	return NULL;
}

int image_set_start_digests(struct image_set *set)
{
	bool needed = false;

	if (!set || set->thread_running)
		return 0;
	for (size_t i = 0; i < set->n; i++)
		needed |= atomic_load(&set->images[i].digests) == NULL;
	if (!needed)
		return 0;
	if (pthread_create(&set->thread, NULL, digest_thread, set) != 0)
		return -EAGAIN;
	set->thread_running = true;
	return 0;
}
