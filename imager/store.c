/* Content store: path resolution, shared objects and the chunk cache. */
#include "imager/store.h"

#include "imager/image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define OBJECT_BUCKETS 256
#define NETASCII_MAX (64u << 20)

struct store_chunk {
	struct store_object *obj;
	uint64_t index;
	uint8_t *data;
	uint32_t len;
	unsigned refs;                    /* pins; 0 = on the LRU list */
	struct store_chunk *lru_prev, *lru_next;
};

struct store_object {
	struct store *st;
	unsigned refs;                    /* opens + cached chunks */
	int fd;                           /* -1 for memory objects */
	uint8_t *mem;                     /* netascii copies */
	dev_t dev;
	ino_t ino;
	uint64_t size;
	struct timespec mtime;
	bool in_table;
	struct store_object *next;        /* bucket chain */
	uint64_t nchunks;
	struct store_chunk **chunks;
	struct image_file *img;           /* a file of an ISO image: its extents */
};

struct store {
	int rootfd;
	char *root;
	size_t cache_cap;
	size_t cached;
	struct store_chunk *lru_head, *lru_tail; /* head = oldest */
	struct store_object *buckets[OBJECT_BUCKETS];
	struct store_stats stats;
	struct image_set *images;         /* served under images/NAME/ */
};

static long sys_openat2(int dirfd, const char *path, struct open_how *how)
{
	return syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

enum store_status store_status_from_errno(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return STORE_NOT_FOUND;
	case EXDEV:  /* RESOLVE_BENEATH: escape attempt */
	case ELOOP:
	case EACCES:
	case EPERM:
		return STORE_DENIED;
	case ENAMETOOLONG:
		return STORE_BAD_NAME;
	case EEXIST:
		return STORE_EXISTS;
	case ENXIO:      /* a unix socket */
	case ENODEV:     /* a device without a driver */
	case EOPNOTSUPP:
		return STORE_NOT_REGULAR;
	default:
		return STORE_IO;
	}
}

/* Client name -> path relative to the root: leading '/' stripped, '\'
 * read as '/' when asked. The kernel does the rest of the checking. */
static int normalise(const char *name, size_t len, unsigned flags, char *out)
{
	size_t o = 0;

	while (len > 0 && (*name == '/' || (*name == '\\' && (flags & STORE_BACKSLASH_IS_SLASH)))) {
		name++;
		len--;
	}
	if (len == 0 || len >= STORE_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (c == '\0')
			return -EINVAL;
		if (c == '\\' && (flags & STORE_BACKSLASH_IS_SLASH))
			c = '/';
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

int store_resolve(int rootfd, const char *name, size_t len, unsigned flags, int oflags)
{
	char path[STORE_NAME_MAX];
	struct open_how how = {
		.flags = (uint64_t)(oflags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (normalise(name, len, flags, path) < 0)
		return -EINVAL;
	fd = sys_openat2(rootfd, path, &how);
	return fd < 0 ? -errno : (int)fd;
}

struct store *store_new(const char *root, size_t cache_bytes)
{
	struct store *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	st->root = strdup(root);
	if (st->rootfd < 0 || !st->root) {
		int err = errno;

		if (st->rootfd >= 0)
			close(st->rootfd);
		free(st->root);
		free(st);
		errno = err;
		return NULL;
	}
	st->cache_cap = cache_bytes;
	return st;
}

const char *store_root(const struct store *st)
{
	return st->root;
}

int store_set_root(struct store *st, const char *root)
{
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *copy = fd >= 0 ? strdup(root) : NULL;

	if (!copy) {
		int err = fd < 0 ? errno : ENOMEM;

		if (fd >= 0)
			close(fd);
		return -err;
	}
	close(st->rootfd);
	free(st->root);
	st->rootfd = fd;
	st->root = copy;
	return 0;
}

static unsigned bucket_of(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;

	return (unsigned)(h >> 56) % OBJECT_BUCKETS;
}

static void table_remove(struct store_object *obj)
{
	struct store_object **pp;

	if (!obj->in_table)
		return;
	for (pp = &obj->st->buckets[bucket_of(obj->dev, obj->ino)]; *pp; pp = &(*pp)->next)
		if (*pp == obj) {
			*pp = obj->next;
			break;
		}
	obj->in_table = false;
	obj->st->stats.objects--;
}

static void object_destroy(struct store_object *obj)
{
	table_remove(obj);
	if (obj->fd >= 0)
		close(obj->fd);
	free(obj->img);
	free(obj->mem);
	free(obj->chunks);
	free(obj);
}

void store_object_put(struct store_object *obj)
{
	if (obj && --obj->refs == 0)
		object_destroy(obj);
}

static void lru_unlink(struct store *st, struct store_chunk *c)
{
	if (c->lru_prev)
		c->lru_prev->lru_next = c->lru_next;
	else
		st->lru_head = c->lru_next;
	if (c->lru_next)
		c->lru_next->lru_prev = c->lru_prev;
	else
		st->lru_tail = c->lru_prev;
	c->lru_prev = c->lru_next = NULL;
}

static void chunk_destroy(struct store_chunk *c)
{
	struct store_object *obj = c->obj;
	struct store *st = obj->st;

	obj->chunks[c->index] = NULL;
	st->cached -= c->len;
	if (!obj->mem)
		free(c->data);
	free(c);
	store_object_put(obj);
}

static void evict(struct store *st)
{
	while (st->cached > st->cache_cap && st->lru_head) {
		struct store_chunk *c = st->lru_head;

		lru_unlink(st, c);
		chunk_destroy(c);
	}
}

void store_chunk_put(struct store_chunk *c)
{
	struct store *st;

	if (!c || --c->refs > 0)
		return;
	st = c->obj->st;
	c->lru_prev = st->lru_tail;
	c->lru_next = NULL;
	if (st->lru_tail)
		st->lru_tail->lru_next = c;
	else
		st->lru_head = c;
	st->lru_tail = c;
	evict(st);
}

void store_free(struct store *st)
{
	if (!st)
		return;
	/* Unpinned chunks hold the last references of idle objects. */
	st->cache_cap = 0;
	evict(st);
	close(st->rootfd);
	free(st->root);
	free(st);
}

static struct store_object *object_alloc(struct store *st, uint64_t size)
{
	struct store_object *obj = calloc(1, sizeof(*obj));

	if (!obj)
		return NULL;
	obj->st = st;
	obj->refs = 1;
	obj->fd = -1;
	obj->size = size;
	obj->nchunks = (size + STORE_CHUNK_SIZE - 1) >> STORE_CHUNK_SHIFT;
	obj->chunks = calloc(obj->nchunks ? obj->nchunks : 1, sizeof(*obj->chunks));
	if (!obj->chunks) {
		free(obj);
		return NULL;
	}
	return obj;
}

void store_set_images(struct store *st, struct image_set *images)
{
	st->images = images;
}

static bool same_image_file(const struct store_object *obj, const struct image_file *f)
{
	return obj->img && obj->dev == f->dev && obj->ino == f->ino && obj->size == f->size &&
	       obj->img->n_extents == f->n_extents &&
	       !memcmp(obj->img->extents, f->extents, f->n_extents * sizeof(f->extents[0]));
}

/* A file of an ISO image: the image's descriptor (dup'ed, so the object
 * outlives a reload that closes the image) read through the extents.
 * Returns NOT_MINE for paths outside every image. */
#define NOT_MINE (-1)
static int store_open_image(struct store *st, const char *name, size_t len, unsigned flags,
			    struct store_object **out)
{
	char path[STORE_NAME_MAX];
	struct image_file f;
	struct store_object *obj;
	unsigned b;
	int rc;

	if (normalise(name, len, flags, path) < 0)
		return STORE_BAD_NAME;
	rc = image_set_lookup(st->images, path, strlen(path), &f);
	if (rc == IMAGE_NOT_MINE)
		return NOT_MINE;
	if (rc == -EISDIR || rc == -EOPNOTSUPP)
		return STORE_NOT_REGULAR;
	if (rc == -EINVAL)
		return STORE_BAD_NAME;
	if (rc < 0)
		return store_status_from_errno(-rc);
	b = bucket_of(f.dev, f.ino);
	for (obj = st->buckets[b]; obj; obj = obj->next)
		if (same_image_file(obj, &f)) {
			obj->refs++;
			*out = obj;
			return STORE_OK;
		}
	obj = object_alloc(st, f.size);
	if (!obj)
		return STORE_IO;
	obj->img = malloc(sizeof(*obj->img));
	obj->fd = fcntl(f.fd, F_DUPFD_CLOEXEC, 0);
	if (!obj->img || obj->fd < 0) {
		object_destroy(obj);
		return STORE_IO;
	}
	*obj->img = f;
	obj->img->fd = obj->fd;
	obj->dev = f.dev;
	obj->ino = f.ino;
	obj->mtime.tv_sec = (time_t)f.mtime;
	obj->next = st->buckets[b];
	st->buckets[b] = obj;
	obj->in_table = true;
	st->stats.objects++;
	*out = obj;
	return STORE_OK;
}

enum store_status store_open(struct store *st, const char *name, size_t len, unsigned flags,
			     struct store_object **out)
{
	struct store_object *obj;
	struct stat sb;
	unsigned b;
	int fd;

	if (st->images) {
		int is = store_open_image(st, name, len, flags, out);

		if (is != NOT_MINE)
			return (enum store_status)is;
	}
	/* O_NONBLOCK: a fifo in the tree must not stall the event loop. */
	fd = store_resolve(st->rootfd, name, len, flags, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	if (fd == -EINVAL)
		return STORE_BAD_NAME;
	if (fd < 0)
		return store_status_from_errno(-fd);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return STORE_NOT_REGULAR;
	}
	b = bucket_of(sb.st_dev, sb.st_ino);
	for (obj = st->buckets[b]; obj; obj = obj->next) {
		if (obj->dev != sb.st_dev || obj->ino != sb.st_ino || obj->img)
			continue;
		if (obj->size == (uint64_t)sb.st_size &&
		    obj->mtime.tv_sec == sb.st_mtim.tv_sec &&
		    obj->mtime.tv_nsec == sb.st_mtim.tv_nsec) {
			close(fd);
			obj->refs++;
			*out = obj;
			return STORE_OK;
		}
		/* Changed in place: later opens get a fresh object. */
		table_remove(obj);
		break;
	}
	obj = object_alloc(st, (uint64_t)sb.st_size);
	if (!obj) {
		close(fd);
		return STORE_IO;
	}
	obj->fd = fd;
	obj->dev = sb.st_dev;
	obj->ino = sb.st_ino;
	obj->mtime = sb.st_mtim;
	obj->next = st->buckets[b];
	st->buckets[b] = obj;
	obj->in_table = true;
	st->stats.objects++;
	*out = obj;
	return STORE_OK;
}

int store_object_digest(const struct store_object *obj, uint8_t digest[32])
{
	if (!obj->img || !obj->img->has_digest)
		return -ENOENT;
	memcpy(digest, obj->img->digest, 32);
	return 0;
}

uint64_t store_object_size(const struct store_object *obj)
{
	return obj->size;
}

int64_t store_object_mtime(const struct store_object *obj)
{
	return (int64_t)obj->mtime.tv_sec;
}

static ssize_t read_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* truncated under us: the rest reads as missing */
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Plain files read at their offset; image files through their extents. */
static ssize_t object_read(struct store_object *obj, uint8_t *buf, size_t len, uint64_t off)
{
	int rc;

	if (!obj->img)
		return read_full(obj->fd, buf, len, off);
	rc = image_file_read(obj->img, buf, len, off);
	return rc < 0 ? rc : (ssize_t)len;
}

static struct store_chunk *chunk_get(struct store_object *obj, uint64_t index, int *err)
{
	struct store *st = obj->st;
	struct store_chunk *c = obj->chunks[index];
	uint64_t off = index << STORE_CHUNK_SHIFT;
	uint32_t len;
	ssize_t n;

	if (c) {
		if (c->refs++ == 0)
			lru_unlink(st, c);
		st->stats.chunk_hits++;
		return c;
	}
	len = (uint32_t)(obj->size - off < STORE_CHUNK_SIZE ? obj->size - off : STORE_CHUNK_SIZE);
	c = calloc(1, sizeof(*c));
	if (!c) {
		*err = -ENOMEM;
		return NULL;
	}
	if (obj->mem) {
		c->data = obj->mem + off;
	} else {
		c->data = malloc(len);
		n = c->data ? object_read(obj, c->data, len, off) : -ENOMEM;
		if (n < (ssize_t)len) {
			/* A file shrunk under a transfer: fail it, never send junk. */
			*err = n < 0 ? (int)n : -EIO;
			free(c->data);
			free(c);
			return NULL;
		}
		st->stats.chunk_loads++;
	}
	c->obj = obj;
	c->index = index;
	c->len = len;
	c->refs = 1;
	obj->refs++;
	obj->chunks[index] = c;
	st->cached += len;
	return c;
}

int store_object_map(struct store_object *obj, uint64_t off, uint32_t len,
		     struct iovec iov[2], struct store_chunk *pins[2])
{
	int n = 0, err = 0;

	pins[0] = pins[1] = NULL;
	if (off > obj->size || len > obj->size - off)
		return -EINVAL;
	while (len > 0) {
		uint64_t index = off >> STORE_CHUNK_SHIFT;
		uint32_t in = (uint32_t)(off & (STORE_CHUNK_SIZE - 1));
		uint32_t take;
		struct store_chunk *c;

		if (n == 2)
			goto fail_einval; /* callers never map more than a chunk */
		c = chunk_get(obj, index, &err);
		if (!c)
			goto fail;
		take = c->len - in < len ? c->len - in : len;
		pins[n] = c;
		iov[n].iov_base = c->data + in;
		iov[n].iov_len = take;
		n++;
		off += take;
		len -= take;
	}
	return n;
fail_einval:
	err = -EINVAL;
fail:
	for (int i = 0; i < n; i++)
		store_chunk_put(pins[i]);
	pins[0] = pins[1] = NULL;
	return err;
}

enum store_status store_open_memory(struct store *st, char *data, size_t len, int64_t mtime,
				    struct store_object **out)
{
	struct store_object *obj = object_alloc(st, len);

	if (!obj) {
		free(data);
		return STORE_IO;
	}
	obj->mem = (uint8_t *)data;
	obj->mtime.tv_sec = mtime;
	*out = obj;
	return STORE_OK;
}

enum store_status store_open_netascii(struct store *st, struct store_object *src,
				      struct store_object **out)
{
	struct store_object *obj;
	uint8_t *raw, *conv;
	size_t o = 0;
	ssize_t n;

	if (src->size > NETASCII_MAX / 2)
		return STORE_TOO_LARGE;
	raw = malloc(src->size ? src->size : 1);
	conv = malloc(src->size * 2 + 1);
	n = raw && conv ? object_read(src, raw, src->size, 0) : -ENOMEM;
	if (n < 0 || (uint64_t)n != src->size) {
		free(raw);
		free(conv);
		return STORE_IO;
	}
	for (size_t i = 0; i < src->size; i++) {
		if (raw[i] == '\n') {
			conv[o++] = '\r';
			conv[o++] = '\n';
		} else if (raw[i] == '\r') {
			conv[o++] = '\r';
			conv[o++] = '\0';
		} else {
			conv[o++] = raw[i];
		}
	}
	free(raw);
	obj = object_alloc(st, o);
	if (!obj) {
		free(conv);
		return STORE_IO;
	}
	obj->mem = conv;
	obj->mtime = src->mtime;
	*out = obj;
	return STORE_OK;
}

void store_get_stats(const struct store *st, struct store_stats *out)
{
	*out = st->stats;
	out->cached_bytes = st->cached;
}

const char *store_strerror(enum store_status s)
{
	switch (s) {
	case STORE_OK: return "ok";
	case STORE_NOT_FOUND: return "file not found";
	case STORE_DENIED: return "access violation";
	case STORE_NOT_REGULAR: return "not a regular file";
	case STORE_BAD_NAME: return "bad file name";
	case STORE_TOO_LARGE: return "file too large";
	case STORE_IO: return "i/o error";
	case STORE_EXISTS: return "file already exists";
	}
	return "unknown";
}

/* ---- uploads ---- */

enum store_status store_upload_begin(int rootfd, const char *name, size_t len, unsigned flags,
				     struct store_upload *up)
{
	char path[STORE_NAME_MAX];
	char *slash, *base;
	int dirfd;
	struct stat sb;

	up->dirfd = up->fd = -1;
	if (normalise(name, len, flags, path) < 0)
		return STORE_BAD_NAME;
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
	    strlen(base) >= sizeof(up->basename))
		return STORE_BAD_NAME;
	if (slash) {
		*slash = '\0';
		dirfd = store_resolve(rootfd, path, strlen(path), 0, O_PATH | O_DIRECTORY);
	} else {
		dirfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	}
	if (dirfd < 0)
		return store_status_from_errno(dirfd == -1 ? errno : -dirfd);
	if (fstatat(dirfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		close(dirfd);
		return STORE_EXISTS;
	}
	for (int tries = 0; tries < 16; tries++) {
		static const char hex[] = "0123456789abcdef";
		uint32_t r = 0;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint32_t)getpid() * 2654435761u + (uint32_t)tries;
		memcpy(up->tmpname, ".pxecast-upload-", 16);
		for (int i = 0; i < 8; i++)
			up->tmpname[16 + i] = hex[(r >> (i * 4)) & 15];
		up->tmpname[24] = '\0';
		up->fd = openat(dirfd, up->tmpname,
				O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (up->fd >= 0 || errno != EEXIST)
			break;
	}
	if (up->fd < 0) {
		int err = errno;

		close(dirfd);
		return store_status_from_errno(err);
	}
	up->dirfd = dirfd;
	memcpy(up->basename, base, strlen(base) + 1);
	return STORE_OK;
}

enum store_status store_upload_commit(struct store_upload *up)
{
	enum store_status s = STORE_OK;

	if (fsync(up->fd) < 0)
		s = STORE_IO;
	else if (renameat2(up->dirfd, up->tmpname, up->dirfd, up->basename,
			 RENAME_NOREPLACE) < 0)
		s = store_status_from_errno(errno);
	if (s != STORE_OK)
		unlinkat(up->dirfd, up->tmpname, 0);
	close(up->fd);
	close(up->dirfd);
	up->fd = up->dirfd = -1;
	return s;
}

void store_upload_abort(struct store_upload *up)
{
	if (up->fd < 0)
		return;
	unlinkat(up->dirfd, up->tmpname, 0);
	close(up->fd);
	close(up->dirfd);
	up->fd = up->dirfd = -1;
}
