/* The content store: the one place where a client's path becomes an open
 * file (DESIGN.md "Content path"), and the shared block cache every
 * server reads from.
 *
 * Resolution is openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) relative
 * to the root: no '..' escape, no absolute path, no symlink leading out.
 * The opened descriptor is fstat'ed and must be a regular file. An object
 * keeps its descriptor, so a file replaced by rename while a transfer runs
 * is finished from the old inode.
 *
 * Concurrent clients of one file share one object and its chunks: each
 * 1 MiB chunk is read once and pinned by whoever sends from it.
 */
#ifndef PXECAST_IMAGER_STORE_H
#define PXECAST_IMAGER_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum store_status {
	STORE_OK = 0,
	STORE_NOT_FOUND,    /* no such file */
	STORE_DENIED,       /* escapes the root, or unreadable */
	STORE_NOT_REGULAR,  /* directory, device, fifo, socket */
	STORE_BAD_NAME,     /* empty, NUL inside, too long */
	STORE_TOO_LARGE,    /* netascii conversion over its cap */
	STORE_IO,           /* anything else; errno is logged by the caller */
	STORE_EXISTS,       /* upload target exists */
};

#define STORE_CHUNK_SHIFT 20
#define STORE_CHUNK_SIZE (1u << STORE_CHUNK_SHIFT)
#define STORE_NAME_MAX 1024

enum store_open_flags {
	STORE_BACKSLASH_IS_SLASH = 1 << 0, /* TFTP clients from the DOS world */
};

struct store;
struct store_object;
struct image_set;
struct store_chunk;

struct store_stats {
	uint64_t chunk_loads;   /* chunks read from disk */
	uint64_t chunk_hits;    /* chunks found in the cache */
	uint64_t cached_bytes;
	unsigned objects;
};

/* root: directory served. cache_bytes: unpinned chunks beyond this are
 * evicted. NULL with errno set on failure. */
struct store *store_new(const char *root, size_t cache_bytes);
void store_free(struct store *st);
const char *store_root(const struct store *st);
/* Serve a new root from now on (SIGHUP); open objects are unaffected.
 * Returns -errno and keeps the old root on failure. */
int store_set_root(struct store *st, const char *root);

enum store_status store_open(struct store *st, const char *name, size_t len, unsigned flags,
			     struct store_object **out);
/* An object over bytes made in memory (a rendered per-host file): data is
 * malloc'd and owned by the object from now on, even on failure. Not
 * shared: each open makes its own. */
enum store_status store_open_memory(struct store *st, char *data, size_t len, int64_t mtime,
				    struct store_object **out);
/* A converted copy for TFTP netascii (LF -> CR LF, CR -> CR NUL). */
enum store_status store_open_netascii(struct store *st, struct store_object *src,
				      struct store_object **out);
void store_object_put(struct store_object *obj);
uint64_t store_object_size(const struct store_object *obj);
/* Serve the files of these ISO images under images/NAME/ (imager/image.h)
 * before the root; NULL: none. The set must outlive the calls to
 * store_open; objects opened from it do not need it. */
void store_set_images(struct store *st, struct image_set *images);
/* SHA-256 of the object's bytes, where known (files of ISO images whose
 * digests are computed). 0, or -ENOENT. */
int store_object_digest(const struct store_object *obj, uint8_t digest[32]);
int64_t store_object_mtime(const struct store_object *obj);

/* Describe bytes [off, off+len) of obj in at most two iovecs, pinning the
 * chunks behind them into pins[0..1] (NULL entries where unused). Returns
 * the iovec count, or -errno. Release each pin with store_chunk_put. */
int store_object_map(struct store_object *obj, uint64_t off, uint32_t len,
		     struct iovec iov[2], struct store_chunk *pins[2]);
void store_chunk_put(struct store_chunk *c);
void store_get_stats(const struct store *st, struct store_stats *out);

const char *store_strerror(enum store_status s);

/* Uploads: written to a hidden temp file in the target's directory and
 * renamed into place only when complete, never over an existing file. */
struct store_upload {
	int dirfd;
	int fd;
	char tmpname[32];
	char basename[256];
};

enum store_status store_upload_begin(int rootfd, const char *name, size_t len, unsigned flags,
				     struct store_upload *up);
enum store_status store_upload_commit(struct store_upload *up); /* fsync + rename */
void store_upload_abort(struct store_upload *up);

/* Resolve name beneath rootfd (normalised as store_open does) with the
 * given open flags; returns an fd or -errno. Shared by every opener. */
int store_resolve(int rootfd, const char *name, size_t len, unsigned flags, int oflags);
enum store_status store_status_from_errno(int err);

#endif
