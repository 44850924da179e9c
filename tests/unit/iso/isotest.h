/* Helpers for the ISO 9660 tests: temporary trees, running xorriso or
 * genisoimage, images in memory, sha256 of files and of image entries. */
#ifndef PXECAST_TESTS_ISOTEST_H
#define PXECAST_TESTS_ISOTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imager/iso9660/iso9660.h"

/* A mkdtemp directory under base (NULL: $TMPDIR, else /tmp); NULL on
 * failure. */
char *isotest_tmpdir(const char *base);
void isotest_rmtree(const char *dir);

/* Whether tool is an executable on $PATH. */
bool isotest_have(const char *tool);

/* Run argv (argv[0] looked up on $PATH), stderr to /dev/null. With
 * sparse_out, stdout goes to that file with runs of zeros left as holes,
 * so a multi-GiB image of a sparse tree costs little disk. Returns the
 * exit status, or -1. */
int isotest_run(const char *const argv[], const char *sparse_out);

/* path/to/name with deterministic pseudo-random content from seed. */
int isotest_write_file(const char *path, size_t size, uint32_t seed);
int isotest_mkdirs(const char *path);
char *isotest_join(const char *a, const char *b); /* malloc'd a/b */

int isotest_sha256_path(const char *path, uint8_t md[32]);
/* Hash the entry's data read through iso_read_file in odd-sized chunks,
 * so reads that straddle extents are covered too. */
int isotest_sha256_entry(struct iso *iso, const struct iso_entry *e, uint8_t md[32]);

/* The same for sparse files: holes (SEEK_DATA/SEEK_HOLE on fd, the
 * source or the image) are hashed as zeros without reading them, so a
 * 4 GiB hole costs hashing time only. Data runs of the entry are still
 * read through iso_read_file. */
int isotest_sha256_sparse_path(const char *path, uint8_t md[32]);
int isotest_sha256_sparse_entry(struct iso *iso, int fd, const struct iso_entry *e,
				uint8_t md[32]);

/* An image in memory behind the reader's callback. */
struct isotest_mem {
	uint8_t *buf;
	size_t len;
};
int isotest_mem_read(void *ctx, void *buf, size_t len, uint64_t off);
int isotest_load(const char *path, struct isotest_mem *m);

/* Compare the tree under root with the image: every directory, file
 * (sha256) and symlink (target) of root must resolve in the image, and
 * every image entry must exist in root unless listed in extra (NULL
 * terminated). Returns the number of files compared, or -1 after printing
 * the first difference. */
long isotest_verify_tree(struct iso *iso, const char *root,
			 const char *const *extra);

#endif
