/* Volume descriptors (ECMA-119 8), the choice of name set, file reads.
 *
 * Open reads the descriptor set from sector 16 up to its terminator,
 * keeps the primary (and a Joliet supplementary) root and the El Torito
 * catalog's place, and decides once which names the tree is read with:
 * Rock Ridge when the primary root's "." carries SUSP SP and Rock Ridge
 * entries, else Joliet, else plain ECMA-119 identifiers.
 */
#include "imager/iso9660/iso9660_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Primary/supplementary descriptor layout (ECMA-119 8.4, 8.5). */
#define VD_TYPE 0
#define VD_ID 1
#define VD_VERSION 6
#define VD_FLAGS 7
#define VD_VOLUME_ID 40
#define VD_SPACE_SIZE 80
#define VD_ESCAPES 88
#define VD_BLOCK_SIZE 128
#define VD_ROOT 156
#define VD_BOOT_SYSTEM 7
#define VD_BOOT_CATALOG 0x47

enum { VD_BOOT = 0, VD_PRIMARY = 1, VD_SUPPLEMENTARY = 2, VD_END = 255 };

static const char *const iso_messages[] = {
	[0] = "success",
	[-ISO_ERR_IO] = "read error",
	[-ISO_ERR_NOMEM] = "out of memory",
	[-ISO_ERR_INVALID] = "invalid argument",
	[-ISO_ERR_TRUNCATED] = "image truncated: shorter than its volume descriptors or volume space",
	[-ISO_ERR_NOT_ISO] = "not an ISO 9660 image: no volume descriptor at sector 16",
	[-ISO_ERR_BAD_VD] = "malformed volume descriptor",
	[-ISO_ERR_NO_PVD] = "no primary volume descriptor",
	[-ISO_ERR_EXTENT_RANGE] = "extent past the end of the image",
	[-ISO_ERR_BAD_RECORD] = "malformed directory record",
	[-ISO_ERR_BAD_NAME] = "bad file name: empty, '.', '..', or containing NUL or '/'",
	[-ISO_ERR_NAME_TOO_LONG] = "name, symlink target or path too long",
	[-ISO_ERR_BAD_RR] = "malformed Rock Ridge (SUSP) entry",
	[-ISO_ERR_RR_LOOP] = "Rock Ridge continuation areas loop or exceed the limit",
	[-ISO_ERR_DIR_LOOP] = "directory loop: a directory extent is reached twice",
	[-ISO_ERR_TOO_DEEP] = "directory tree too deep",
	[-ISO_ERR_TOO_MANY_EXTENTS] = "file has too many extents",
	[-ISO_ERR_NOT_FOUND] = "no such file in the image",
	[-ISO_ERR_NOT_DIR] = "not a directory",
	[-ISO_ERR_SYMLINK_LOOP] = "too many levels of symbolic links",
	[-ISO_ERR_NOT_FILE] = "not a regular file",
	[-ISO_ERR_UNSUPPORTED] = "unsupported file layout (interleaved or zisofs)",
	[-ISO_ERR_NO_BOOT] = "no El Torito boot record",
	[-ISO_ERR_BAD_BOOT] = "malformed El Torito boot catalog",
};

const char *iso_strerror(int err)
{
	if (err > 0 || (size_t)-err >= sizeof(iso_messages) / sizeof(iso_messages[0]) ||
	    iso_messages[-err] == NULL)
		return "unknown error";
	return iso_messages[-err];
}

int iso_read_at(struct iso *iso, void *buf, size_t len, uint64_t off)
{
	if (off > iso->size || len > iso->size - off)
		return ISO_ERR_EXTENT_RANGE;
	if (len == 0)
		return ISO_OK;
	return iso->read(iso->ctx, buf, len, off) == 0 ? ISO_OK : ISO_ERR_IO;
}

/* A root directory record inside a descriptor (8.4.18). */
static int vd_root(struct iso *iso, const uint8_t *rec, uint64_t *off,
		   uint64_t *len, int64_t *mtime)
{
	if (rec[0] < 34 || !(rec[25] & 0x02) || rec[32] != 1 || rec[33] != 0)
		return ISO_ERR_BAD_VD;
	*off = ((uint64_t)iso_le32(rec + 2) + rec[1]) * ISO_SECTOR;
	*len = iso_le32(rec + 10);
	*mtime = iso_time7(rec + 18);
	if (*len == 0)
		return ISO_ERR_BAD_VD;
	if (*off > iso->size || *len > iso->size - *off)
		return ISO_ERR_EXTENT_RANGE;
	return ISO_OK;
}

/* Rock Ridge is in use when the root's "." starts with SUSP SP (P1281
 * 5.3) and its system use holds Rock Ridge entries. */
static int vd_detect_rr(struct iso *iso)
{
	uint8_t dot[255];
	size_t len;
	struct iso_rr rr;
	int rc;

	rc = iso_read_at(iso, dot, 1, iso->root_off);
	if (rc != ISO_OK)
		return rc;
	len = dot[0];
	if (len < 34 + 7)
		return ISO_OK;
	rc = iso_read_at(iso, dot, len, iso->root_off);
	if (rc != ISO_OK)
		return rc;
	if (dot[32] != 1 || dot[33] != 0 || dot[34] != 'S' || dot[35] != 'P' ||
	    dot[36] < 7 || dot[38] != 0xbe || dot[39] != 0xef)
		return ISO_OK;
	rc = iso_rr_parse(iso, dot + 34, len - 34, &rr);
	if (rc != ISO_OK)
		return rc;
	if (rr.rrip) {
		iso->names = ISO_NAMES_ROCKRIDGE;
		iso->rr_skip = dot[40];
	}
	return ISO_OK;
}

static void vd_volume_id(struct iso *iso, const uint8_t *vd)
{
	size_t n = strnlen((const char *)vd + VD_VOLUME_ID, 32);

	memcpy(iso->volume_id, vd + VD_VOLUME_ID, n);
	while (n > 0 && iso->volume_id[n - 1] == ' ')
		n--;
	iso->volume_id[n] = '\0';
}

static int iso_setup(struct iso *iso)
{
	uint8_t vd[ISO_SECTOR];
	bool pvd = false, joliet = false;
	uint64_t j_off = 0, j_len = 0, space = 0;
	int64_t j_mtime = 0;
	unsigned i;
	int rc;

	if (iso->size < (uint64_t)(ISO_VD_START + 1) * ISO_SECTOR)
		return ISO_ERR_TRUNCATED;
	for (i = 0; i < ISO_VD_MAX; i++) {
		uint64_t off = (uint64_t)(ISO_VD_START + i) * ISO_SECTOR;

		if (off + ISO_SECTOR > iso->size)
			return ISO_ERR_TRUNCATED;
		rc = iso_read_at(iso, vd, ISO_SECTOR, off);
		if (rc != ISO_OK)
			return rc;
		if (memcmp(vd + VD_ID, "CD001", 5) != 0)
			return i == 0 ? ISO_ERR_NOT_ISO : ISO_ERR_BAD_VD;
		if (vd[VD_TYPE] == VD_END)
			break;
		if (vd[VD_TYPE] == VD_PRIMARY && !pvd) {
			if (vd[VD_VERSION] != 1 || iso_le16(vd + VD_BLOCK_SIZE) != ISO_SECTOR)
				return ISO_ERR_BAD_VD;
			rc = vd_root(iso, vd + VD_ROOT, &iso->root_off,
				     &iso->root_len, &iso->root_mtime);
			if (rc != ISO_OK)
				return rc;
			space = (uint64_t)iso_le32(vd + VD_SPACE_SIZE) * ISO_SECTOR;
			vd_volume_id(iso, vd);
			pvd = true;
		} else if (vd[VD_TYPE] == VD_SUPPLEMENTARY && !joliet &&
			   !(vd[VD_FLAGS] & 1) && vd[VD_ESCAPES] == 0x25 &&
			   vd[VD_ESCAPES + 1] == 0x2f &&
			   (vd[VD_ESCAPES + 2] == 0x40 || vd[VD_ESCAPES + 2] == 0x43 ||
			    vd[VD_ESCAPES + 2] == 0x45)) {
			/* Joliet (UCS-2 levels 1-3). */
			if (iso_le16(vd + VD_BLOCK_SIZE) != ISO_SECTOR)
				return ISO_ERR_BAD_VD;
			rc = vd_root(iso, vd + VD_ROOT, &j_off, &j_len, &j_mtime);
			if (rc != ISO_OK)
				return rc;
			joliet = true;
		} else if (vd[VD_TYPE] == VD_BOOT && iso->boot_catalog == 0 &&
			   memcmp(vd + VD_BOOT_SYSTEM, "EL TORITO SPECIFICATION", 23) == 0) {
			iso->boot_catalog = (uint64_t)iso_le32(vd + VD_BOOT_CATALOG) * ISO_SECTOR;
		}
	}
	if (i == ISO_VD_MAX)
		return ISO_ERR_BAD_VD; /* no terminator */
	if (!pvd)
		return ISO_ERR_NO_PVD;
	/* The whole volume must be there; hybrid images may carry more
	 * (appended partitions) but never less. */
	if (space > iso->size)
		return ISO_ERR_TRUNCATED;
	rc = vd_detect_rr(iso);
	if (rc != ISO_OK)
		return rc;
	if (iso->names != ISO_NAMES_ROCKRIDGE && joliet) {
		iso->names = ISO_NAMES_JOLIET;
		iso->joliet = true;
		iso->root_off = j_off;
		iso->root_len = j_len;
		iso->root_mtime = j_mtime;
	}
	return ISO_OK;
}

/* fd >= 0: reads go through iso_fd_read with the handle as context. */
static int iso_create(iso_read_fn read, void *ctx, uint64_t size, int fd,
		      struct iso **out)
{
	struct iso *iso;
	int rc;

	*out = NULL;
	iso = calloc(1, sizeof(*iso));
	if (iso == NULL)
		return ISO_ERR_NOMEM;
	iso->read = read;
	iso->ctx = fd >= 0 ? iso : ctx;
	iso->size = size;
	iso->fd = fd;
	iso->names = ISO_NAMES_PLAIN;
	rc = iso_setup(iso);
	if (rc != ISO_OK) {
		free(iso);
		return rc;
	}
	*out = iso;
	return ISO_OK;
}

int iso_open(iso_read_fn read, void *ctx, uint64_t size, struct iso **out)
{
	if (read == NULL || out == NULL)
		return ISO_ERR_INVALID;
	return iso_create(read, ctx, size, -1, out);
}

static int iso_fd_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct iso *iso = ctx;
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(iso->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int iso_open_fd(int fd, struct iso **out)
{
	struct stat st;
	off_t end;

	if (out == NULL || fd < 0 || fstat(fd, &st) != 0)
		return ISO_ERR_INVALID;
	/* Block devices report no st_size; their end is. */
	end = S_ISREG(st.st_mode) ? st.st_size : lseek(fd, 0, SEEK_END);
	if (end < 0)
		return ISO_ERR_IO;
	return iso_create(iso_fd_read, NULL, (uint64_t)end, fd, out);
}

void iso_close(struct iso *iso)
{
	free(iso);
}

const char *iso_volume_id(const struct iso *iso)
{
	return iso->volume_id;
}

enum iso_names iso_name_set(const struct iso *iso)
{
	return iso->names;
}

int iso_root(struct iso *iso, struct iso_entry *out)
{
	memset(out, 0, sizeof(*out));
	out->type = ISO_TYPE_DIR;
	out->mode = S_IFDIR | 0555;
	out->size = iso->root_len;
	out->mtime = iso->root_mtime;
	out->n_extents = 1;
	out->extents[0].offset = iso->root_off;
	out->extents[0].length = iso->root_len;
	return ISO_OK;
}

int iso_map(const struct iso_entry *entry, uint64_t off, uint64_t *img_off,
	    uint64_t *run)
{
	if (entry->type != ISO_TYPE_FILE)
		return ISO_ERR_NOT_FILE;
	if (entry->flags & ISO_ENTRY_ZISOFS)
		return ISO_ERR_UNSUPPORTED;
	for (uint32_t i = 0; i < entry->n_extents && i < ISO_EXTENTS_MAX; i++) {
		const struct iso_extent *x = &entry->extents[i];

		if (off < x->length) {
			*img_off = x->offset + off;
			*run = x->length - off;
			return ISO_OK;
		}
		off -= x->length;
	}
	return ISO_ERR_INVALID;
}

int64_t iso_read_file(struct iso *iso, const struct iso_entry *entry,
		      uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint64_t done = 0;

	if (entry->type != ISO_TYPE_FILE)
		return ISO_ERR_NOT_FILE;
	if (entry->flags & ISO_ENTRY_ZISOFS)
		return ISO_ERR_UNSUPPORTED;
	if (off >= entry->size)
		return 0;
	if (len > entry->size - off)
		len = (size_t)(entry->size - off);
	if (len > INT64_MAX)
		len = INT64_MAX;
	while (done < len) {
		uint64_t img, run;
		int rc = iso_map(entry, off + done, &img, &run);

		if (rc != ISO_OK)
			return rc;
		if (run > len - done)
			run = len - done;
		rc = iso_read_at(iso, p + done, (size_t)run, img);
		if (rc != ISO_OK)
			return rc;
		done += run;
	}
	return (int64_t)done;
}
