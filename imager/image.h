/* ISO images served in place: [image NAME] path = /srv/iso/alma-9.iso
 * makes every file of the image answer under images/NAME/..., and the
 * image itself under images/NAME.iso, over HTTP and TFTP.
 *
 * Nothing is mounted or extracted. A file of an image is the image's
 * descriptor plus the file's extents (imager/iso9660), so servers read
 * (or splice) straight from the image. Lookups go through iso_lookup:
 * ".." stops at the image root and symlinks stay inside the image, so no
 * path leaves it.
 *
 * SHA-256 digests of every file (and of the whole image) are computed
 * once and kept in a sidecar file (default: the image path + ".sha256"),
 * keyed by the image's size and mtime and by each file's path, size and
 * mtime, so a replaced image invalidates them. HTTP uses them as strong
 * ETags; multicast will use them to check what it sent.
 */
#ifndef PXECAST_IMAGER_IMAGE_H
#define PXECAST_IMAGER_IMAGE_H

#include "imager/iso9660/iso9660.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IMAGE_NAME_MAX 63
#define IMAGE_DIGEST_LEN 32
#define IMAGE_DIGEST_HEX (2 * IMAGE_DIGEST_LEN)
#define IMAGE_PREFIX "images/"

struct image_set;
struct image_digests;

/* Names are [A-Za-z0-9._-], start with a letter or digit, at most
 * IMAGE_NAME_MAX bytes: they become URL and file name components. */
bool image_name_valid(const char *name);

struct image_set *image_set_new(void);
/* Stops the digest thread (if any) and closes every image. Files already
 * looked up stay readable only through descriptors their users dup'ed. */
void image_set_free(struct image_set *set);

/**
 * Open the ISO at path and serve it as images/NAME/. digests_path is the
 * sidecar ("" or NULL: path + ".sha256"); a valid one is loaded now.
 * @return 0, or -1 with a message naming the image in err
 */
int image_set_add(struct image_set *set, const char *name, const char *path,
		  const char *digests_path, char *err, size_t errlen);
size_t image_set_count(const struct image_set *set);

/* Compute, in one background thread, the digests of images whose sidecar
 * was missing or stale, write their sidecars and start using them. */
int image_set_start_digests(struct image_set *set);

/* One file of an image (or the whole image). */
struct image_file {
	int fd;                  /* the image; owned by the set: dup to keep */
	dev_t dev;               /* of the image file */
	ino_t ino;
	uint64_t size;
	int64_t mtime;           /* of the file inside the image */
	bool has_digest;
	uint8_t digest[IMAGE_DIGEST_LEN];
	uint32_t n_extents;
	struct iso_extent extents[ISO_EXTENTS_MAX];
};

enum { IMAGE_NOT_MINE = 1 };

/**
 * Resolve a store path (relative, no leading '/'): "images/NAME.iso" is
 * the image, "images/NAME/PATH" a file in it.
 * @return 0 with *out filled; IMAGE_NOT_MINE for a path outside every
 *   image (the caller serves it from its root); or -ENOENT, -ENOTDIR,
 *   -EISDIR (a directory: no listings), -ELOOP, -EINVAL (bad name),
 *   -EOPNOTSUPP (zisofs, interleaved), -EIO (malformed image)
 */
int image_set_lookup(struct image_set *set, const char *path, size_t len,
		     struct image_file *out);

/* The image offset of file offset off and how many bytes from there are
 * contiguous in the image (adjacent extents merged). 0 past the end. */
uint64_t image_file_run(const struct image_file *f, uint64_t off, uint64_t *img_off);

/* pread through the extents: 0, or -errno (-EIO on a short read). */
int image_file_read(const struct image_file *f, void *buf, size_t len, uint64_t off);

/* ---- digests (image_digest.c) ---- */

struct image_digest_entry {
	char *path;              /* relative to the image root */
	uint64_t size;
	int64_t mtime;
	uint8_t digest[IMAGE_DIGEST_LEN];
};

struct image_digests {
	uint64_t image_size;     /* the key of the whole table */
	int64_t image_mtime_ns;
	bool has_image_digest;
	uint8_t image_digest[IMAGE_DIGEST_LEN];
	size_t n;
	struct image_digest_entry *entries; /* sorted by path */
};

/**
 * Parse a sidecar. It must be for an image of image_size bytes modified
 * at image_mtime_ns; anything else (stale, malformed) is refused.
 * @return 0 with *out allocated, -ESTALE, -EINVAL (malformed), -ENOMEM
 */
int image_digests_parse(const char *buf, size_t len, uint64_t image_size,
			int64_t image_mtime_ns, struct image_digests **out);
/* The sidecar text; malloc'd, length in *len. NULL on ENOMEM. */
char *image_digests_format(const struct image_digests *d, size_t *len);
void image_digests_free(struct image_digests *d);
/* The entry for path, if its size and mtime still match. */
const struct image_digest_entry *image_digests_find(const struct image_digests *d,
						    const char *path, uint64_t size,
						    int64_t mtime);

/* Bytes hashed so far out of total; return nonzero to stop. */
typedef int (*image_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/**
 * Hash every regular file of the image on fd, and the whole image.
 * @return 0, 1 when progress stopped it, or a negative iso_error code
 *   (ISO_ERR_IO, ISO_ERR_NOMEM, or what iso_walk met)
 */
int image_digests_compute(struct iso *iso, int fd, image_progress_fn progress, void *ctx,
			  struct image_digests **out);
/* Write atomically (temp file + rename). 0 or -errno. */
int image_digests_save(const struct image_digests *d, const char *path);
/* Read and parse path for the image on fd. 0, -ENOENT, -ESTALE, -EINVAL... */
int image_digests_load(const char *path, int fd, struct image_digests **out);

void image_digest_hex(const uint8_t digest[IMAGE_DIGEST_LEN], char hex[IMAGE_DIGEST_HEX + 1]);

#endif
