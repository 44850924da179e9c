/* El Torito boot catalog ("El Torito" Bootable CD-ROM Format Spec 1.0).
 *
 * The catalog is a run of 32-byte entries: a validation entry, the
 * default (initial) entry, then sections (header 0x90, or 0x91 for the
 * last) each with its entries and their extensions (0x44). xorriso and
 * genisoimage put the EFI image in a section of platform 0xEF.
 */
#include "imager/iso9660/iso9660_int.h"

#include <string.h>

/* Read no more than this much catalog: 4 sectors hold 255 entries. */
#define CATALOG_MAX (4 * ISO_SECTOR)
#define ENTRY 32

static int boot_validate(const uint8_t *c)
{
	uint16_t sum = 0;

	if (c[0] != 0x01 || c[30] != 0x55 || c[31] != 0xaa)
		return ISO_ERR_BAD_BOOT;
	/* The sixteen little-endian words sum to zero. */
	for (unsigned i = 0; i < ENTRY; i += 2)
		sum = (uint16_t)(sum + iso_le16(c + i));
	return sum == 0 ? ISO_OK : ISO_ERR_BAD_BOOT;
}

static int boot_entry(struct iso *iso, const uint8_t *e, uint8_t platform,
		      struct iso_boot_entry *out)
{
	static const uint64_t floppy[] = { 0, 1228800, 1474560, 2949120 };

	if (e[0] != 0x88 && e[0] != 0x00)
		return ISO_ERR_BAD_BOOT;
	memset(out, 0, sizeof(*out));
	out->platform = platform;
	out->bootable = e[0] == 0x88;
	out->media = e[1] & 0x0f;
	out->load_segment = iso_le16(e + 2);
	out->system_type = e[4];
	out->sector_count = iso_le16(e + 6);
	out->offset = (uint64_t)iso_le32(e + 8) * ISO_SECTOR;
	if (out->media > 4)
		return ISO_ERR_BAD_BOOT;
	out->length = out->media >= 1 && out->media <= 3 ? floppy[out->media] :
		      (uint64_t)out->sector_count * 512;
	if (out->offset > iso->size || out->length > iso->size - out->offset)
		return ISO_ERR_EXTENT_RANGE;
	return ISO_OK;
}

struct boot_files {
	struct iso_boot_entry *entries;
	size_t n;
};

/* A 16-bit count of 512-byte sectors cannot say how long a large EFI
 * image is, and writers often put 1 or 4 there: when the tree has a file
 * at the image's offset, that file's size is the length. */
static int boot_file_cb(void *ctx, const char *path, size_t path_len,
			const struct iso_entry *e)
{
	struct boot_files *bf = ctx;

	(void)path;
	(void)path_len;
	if (e->type != ISO_TYPE_FILE || e->n_extents != 1)
		return 0;
	for (size_t i = 0; i < bf->n; i++) {
		struct iso_boot_entry *b = &bf->entries[i];

		if ((b->media == 0 || b->media == 4) &&
		    e->extents[0].offset == b->offset)
			b->length = e->size;
	}
	return 0;
}

int iso_boot_entries(struct iso *iso, struct iso_boot_entry *out, size_t max,
		     size_t *count)
{
	uint8_t cat[CATALOG_MAX];
	struct iso_boot_entry found[ISO_BOOT_MAX];
	struct boot_files bf = { found, 0 };
	size_t len, pos;
	int rc;

	if (iso == NULL || count == NULL || (out == NULL && max > 0))
		return ISO_ERR_INVALID;
	*count = 0;
	if (iso->boot_catalog == 0)
		return ISO_ERR_NO_BOOT;
	if (iso->boot_catalog > iso->size - 2 * ENTRY)
		return ISO_ERR_EXTENT_RANGE;
	len = iso->size - iso->boot_catalog < CATALOG_MAX ?
	      (size_t)(iso->size - iso->boot_catalog) : CATALOG_MAX;
	rc = iso_read_at(iso, cat, len, iso->boot_catalog);
	if (rc != ISO_OK)
		return rc;
	rc = boot_validate(cat);
	if (rc != ISO_OK)
		return rc;
	rc = boot_entry(iso, cat + ENTRY, cat[1], &found[bf.n++]);
	if (rc != ISO_OK)
		return rc;
	for (pos = 2 * ENTRY; pos + ENTRY <= len;) {
		const uint8_t *h = cat + pos;
		uint16_t n = iso_le16(h + 2);

		if (h[0] != 0x90 && h[0] != 0x91)
			break;
		pos += ENTRY;
		for (uint16_t k = 0; k < n && bf.n < ISO_BOOT_MAX; k++) {
			if (pos + ENTRY > len)
				return ISO_ERR_BAD_BOOT;
			rc = boot_entry(iso, cat + pos, h[1], &found[bf.n++]);
			if (rc != ISO_OK)
				return rc;
			pos += ENTRY;
			/* Extensions hang off an entry and are not counted. */
			while (pos + ENTRY <= len && cat[pos] == 0x44)
				pos += ENTRY;
		}
		if (h[0] == 0x91 || bf.n == ISO_BOOT_MAX)
			break;
	}
	/* A walk error only means the lengths stay as the catalog says. */
	(void)iso_walk(iso, boot_file_cb, &bf);
	*count = bf.n;
	if (max > 0)
		memcpy(out, found, (bf.n < max ? bf.n : max) * sizeof(*out));
	return ISO_OK;
}
