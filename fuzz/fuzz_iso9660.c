/* libFuzzer: open any input as an ISO 9660 image held in memory, walk the
 * whole tree, read every file's first and last bytes, look up a few
 * entries by path, list the El Torito images. Whatever the input, the
 * reader's promises hold: extents inside the image, clean names, reads
 * no longer than asked. Seeds: fuzz/corpus/iso9660/ (make-corpus.sh). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imager/iso9660/iso9660.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_image {
	const uint8_t *data;
	size_t size;
	struct iso *iso;
	unsigned lookups;
};

static int fuzz_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct fuzz_image *img = ctx;

	/* The reader checks ranges before reading; past the end is a bug. */
	if (off > img->size || len > img->size - off)
		abort();
	memcpy(buf, img->data + off, len);
	return 0;
}

static void fuzz_check_entry(const struct fuzz_image *img, const struct iso_entry *e)
{
	uint64_t sum = 0;

	if (e->name_len > ISO_NAME_MAX || strlen(e->name) != e->name_len ||
	    memchr(e->name, '/', e->name_len) || e->n_extents > ISO_EXTENTS_MAX)
		abort();
	for (uint32_t i = 0; i < e->n_extents; i++) {
		const struct iso_extent *x = &e->extents[i];

		if (x->offset > img->size || x->length > img->size - x->offset)
			abort();
		sum += x->length;
	}
	if (e->type == ISO_TYPE_FILE && sum != e->size)
		abort();
	/* A directory is one non-empty extent, which iso_opendir needs. */
	if (e->type == ISO_TYPE_DIR && (e->n_extents != 1 || sum == 0))
		abort();
}

static int fuzz_visit(void *ctx, const char *path, size_t len, const struct iso_entry *e)
{
	struct fuzz_image *img = ctx;
	static struct iso_entry found;
	uint8_t buf[512];
	uint64_t at, run;

	fuzz_check_entry(img, e);
	if (e->type == ISO_TYPE_FILE && e->size > 0) {
		int64_t n = iso_read_file(img->iso, e, 0, buf, sizeof(buf));

		if (n > (int64_t)sizeof(buf))
			abort();
		(void)iso_read_file(img->iso, e, e->size - 1, buf, sizeof(buf));
		if (iso_map(e, e->size - 1, &at, &run) == ISO_OK &&
		    (at >= img->size || run != 1))
			abort();
	}
	/* Lookups rescan directories from the root: a few are enough. */
	if (img->lookups < 32) {
		img->lookups++;
		if (iso_lookup(img->iso, path, len, 0, &found) == ISO_OK)
			fuzz_check_entry(img, &found);
		(void)iso_lookup(img->iso, path, len, ISO_NOFOLLOW, &found);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "boot/grub/grub.cfg", "isolinux/../link",
		"EFI/BOOT/BOOTX64.EFI", "/a/b/c/d", "link/x" };
	struct fuzz_image img = { data, size, NULL, 0 };
	struct iso_boot_entry boot[ISO_BOOT_MAX];
	static struct iso_entry e;
	size_t n;

	if (iso_open(fuzz_read, &img, size, &img.iso) != ISO_OK)
		return 0;
	(void)iso_volume_id(img.iso);
	(void)iso_walk(img.iso, fuzz_visit, &img);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (iso_lookup(img.iso, paths[i], strlen(paths[i]), 0, &e) == ISO_OK)
			fuzz_check_entry(&img, &e);
	if (iso_boot_entries(img.iso, boot, ISO_BOOT_MAX, &n) == ISO_OK) {
		if (n > ISO_BOOT_MAX)
			abort();
		for (size_t i = 0; i < n; i++)
			if (boot[i].offset > size || boot[i].length > size - boot[i].offset)
				abort();
	}
	iso_close(img.iso);
	return 0;
}
