/* libFuzzer: parse any input as an image digest sidecar. The first 16
 * bytes choose the image size and mtime it must be for (so both "stale"
 * and "accepted" are reached); an accepted table must be sorted, free of
 * duplicates, findable entry by entry, and must survive format + parse
 * unchanged. Seeds: fuzz/corpus/image_digests/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imager/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_digests *d, *back;
	uint64_t isize = 10;
	int64_t mtime = 1000000000;
	char *text;
	size_t len;

	if (size >= 16 && data[0] == 0xff) {
		memcpy(&isize, data, 8);
		memcpy(&mtime, data + 8, 8);
		data += 16;
		size -= 16;
	}
	if (image_digests_parse((const char *)data, size, isize, mtime, &d) != 0)
		return 0;
	for (size_t i = 0; i < d->n; i++) {
		const struct image_digest_entry *e = &d->entries[i];

		if (i > 0 && strcmp(d->entries[i - 1].path, e->path) >= 0)
			abort();
		if (image_digests_find(d, e->path, e->size, e->mtime) != e)
			abort();
	}
	text = image_digests_format(d, &len);
	if (!text)
		abort();
	if (image_digests_parse(text, len, isize, mtime, &back) != 0 || back->n != d->n ||
	    back->has_image_digest != d->has_image_digest)
		abort();
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(back->entries[i].path, d->entries[i].path) ||
		    back->entries[i].size != d->entries[i].size ||
		    back->entries[i].mtime != d->entries[i].mtime ||
		    memcmp(back->entries[i].digest, d->entries[i].digest, IMAGE_DIGEST_LEN))
			abort();
	image_digests_free(back);
	free(text);
	image_digests_free(d);
	return 0;
}
