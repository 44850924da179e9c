/* ISO 9660 images read in place (ECMA-119, Joliet, Rock Ridge, El Torito).
 *
 * The reader never maps or copies the image: it reads through a callback
 * (pread on an fd in the daemon, a memory buffer in the fuzzer) and hands
 * out extents, so a server can pread/sendfile file ranges straight from the
 * image descriptor.
 *
 *   struct iso *iso;
 *   struct iso_entry e;
 *   int rc = iso_open_fd(fd, &iso);
 *   if (rc == ISO_OK)
 *           rc = iso_lookup(iso, "boot/grub/grub.cfg", 18, 0, &e);
 *   if (rc != ISO_OK)
 *           log_event(LOG_WARN, "iso.open", "err=\"%s\"", iso_strerror(rc));
 *
 * Everything read from the image is input: every length and extent is
 * checked against the image size, directory and Rock Ridge continuation
 * loops are detected, and nothing recurses: walks use explicit, capped
 * stacks. A malformed image yields one of the negative codes below, never
 * a crash.
 *
 * A handle does not change after iso_open: lookups, walks and reads may run
 * from several threads at once when the read callback allows it.
 */
#ifndef PXECAST_IMAGER_ISO9660_H
#define PXECAST_IMAGER_ISO9660_H

#include <stddef.h>
#include <stdint.h>

/* Return codes: ISO_OK or one negative code per failed check. */
enum iso_error {
	ISO_OK = 0,
	ISO_ERR_IO = -1,               /* the read callback failed */
	ISO_ERR_NOMEM = -2,
	ISO_ERR_INVALID = -3,          /* bad argument from the caller */
	ISO_ERR_TRUNCATED = -4,        /* image shorter than its volume */
	ISO_ERR_NOT_ISO = -5,          /* no CD001 descriptor at sector 16 */
	ISO_ERR_BAD_VD = -6,           /* malformed volume descriptor */
	ISO_ERR_NO_PVD = -7,           /* descriptor set without a primary */
	ISO_ERR_EXTENT_RANGE = -8,     /* an extent ends past the image */
	ISO_ERR_BAD_RECORD = -9,       /* malformed directory record */
	ISO_ERR_BAD_NAME = -10,        /* name empty, ".", "..", or with NUL or '/' */
	ISO_ERR_NAME_TOO_LONG = -11,   /* name, symlink target or path too long */
	ISO_ERR_BAD_RR = -12,          /* malformed SUSP / Rock Ridge entry */
	ISO_ERR_RR_LOOP = -13,         /* continuation areas loop or never end */
	ISO_ERR_DIR_LOOP = -14,        /* a directory extent reached twice */
	ISO_ERR_TOO_DEEP = -15,        /* deeper than ISO_DEPTH_MAX */
	ISO_ERR_TOO_MANY_EXTENTS = -16,/* file in more than ISO_EXTENTS_MAX parts */
	ISO_ERR_NOT_FOUND = -17,
	ISO_ERR_NOT_DIR = -18,         /* a path component is not a directory */
	ISO_ERR_SYMLINK_LOOP = -19,    /* more than ISO_SYMLINKS_MAX symlinks */
	ISO_ERR_NOT_FILE = -20,        /* read on a directory, symlink or device */
	ISO_ERR_UNSUPPORTED = -21,     /* interleaved or zisofs-compressed file */
	ISO_ERR_NO_BOOT = -22,         /* no El Torito boot record */
	ISO_ERR_BAD_BOOT = -23,        /* malformed El Torito boot catalog */
};

/* Caps. Names follow Rock Ridge (255 bytes); directory depth and the
 * symlink count bound the explicit stacks that replace recursion. */
#define ISO_NAME_MAX 255
#define ISO_PATH_MAX 1024
#define ISO_DEPTH_MAX 64
#define ISO_SYMLINKS_MAX 40
#define ISO_EXTENTS_MAX 64     /* 64 parts of ~4 GiB: files up to ~256 GiB */
#define ISO_BOOT_MAX 32

/* Reads exactly len bytes at image offset off; returns 0 on success and
 * nonzero on error or short read. */
typedef int (*iso_read_fn)(void *ctx, void *buf, size_t len, uint64_t off);

struct iso;

enum iso_type { ISO_TYPE_FILE, ISO_TYPE_DIR, ISO_TYPE_SYMLINK, ISO_TYPE_OTHER };

/* Which names the image is read with, chosen once at open. */
enum iso_names { ISO_NAMES_PLAIN, ISO_NAMES_JOLIET, ISO_NAMES_ROCKRIDGE };

/* A run of the image: byte offset and length. */
struct iso_extent {
	uint64_t offset;
	uint64_t length;
};

enum iso_entry_flags {
	ISO_ENTRY_ZISOFS = 1 << 0,     /* Rock Ridge ZF: content is compressed */
	ISO_ENTRY_PLAIN_NAME = 1 << 1, /* name is an ECMA-119 identifier */
};

struct iso_entry {
	enum iso_type type;
	uint32_t mode;                 /* st_mode: Rock Ridge PX or synthesised */
	uint64_t size;                 /* file: sum of the extents; dir: extent */
	int64_t mtime;                 /* seconds since the epoch, UTC */
	uint32_t flags;                /* enum iso_entry_flags */
	/* File data in order (zero-length parts omitted); a directory has one
	 * extent, its records. Every extent lies within the image. */
	uint32_t n_extents;
	struct iso_extent extents[ISO_EXTENTS_MAX];
	size_t name_len;
	char name[ISO_NAME_MAX + 1];   /* NUL-terminated, no '/' or NUL */
	size_t target_len;
	char target[ISO_PATH_MAX + 1]; /* symlink target, NUL-terminated */
};

/* Directory iterator; fields are private to the reader. */
struct iso_dir {
	uint64_t pos;
	uint64_t end;
	uint64_t loaded;               /* image offset of sector[], or UINT64_MAX */
	uint8_t sector[2048];
};

/* An El Torito boot image. */
enum iso_boot_platform {
	ISO_BOOT_BIOS = 0x00,
	ISO_BOOT_PPC = 0x01,
	ISO_BOOT_MAC = 0x02,
	ISO_BOOT_EFI = 0xef,
};

struct iso_boot_entry {
	uint8_t platform;              /* enum iso_boot_platform */
	uint8_t bootable;              /* boot indicator was 0x88 */
	uint8_t media;                 /* 0 no emulation, 1-3 floppy, 4 disk */
	uint8_t system_type;
	uint16_t load_segment;         /* 0 means the BIOS default 0x7c0 */
	uint16_t sector_count;         /* 512-byte sectors loaded by the BIOS */
	uint64_t offset;               /* image offset of the boot image */
	/* Bytes of the boot image: the floppy size; else the size of the file
	 * the tree has at that offset (a 16-bit count of sectors cannot say
	 * how long an EFI image is, and BIOS entries load only the first
	 * sectors); else sector_count * 512 (an appended partition). */
	uint64_t length;
};

/**
 * Open an image of size bytes read through read(ctx, ...).
 * The callback and ctx must outlive the handle.
 * @return ISO_OK, ISO_ERR_INVALID, ISO_ERR_NOMEM, ISO_ERR_IO,
 *   ISO_ERR_TRUNCATED, ISO_ERR_NOT_ISO, ISO_ERR_BAD_VD, ISO_ERR_NO_PVD,
 *   ISO_ERR_EXTENT_RANGE, ISO_ERR_BAD_RECORD, ISO_ERR_BAD_RR, ISO_ERR_RR_LOOP
 */
int iso_open(iso_read_fn read, void *ctx, uint64_t size, struct iso **out);

/**
 * Open the image on fd (pread; size from fstat). The caller keeps fd open
 * until iso_close and closes it afterwards.
 * @return as iso_open
 */
int iso_open_fd(int fd, struct iso **out);

void iso_close(struct iso *iso);

/** The message for an iso_error code; never NULL. */
const char *iso_strerror(int err);

/** Volume identifier of the primary descriptor, trailing spaces removed. */
const char *iso_volume_id(const struct iso *iso);

/** The name set lookups and iteration use: Rock Ridge, else Joliet, else
 * plain ISO 9660. */
enum iso_names iso_name_set(const struct iso *iso);

/** The root directory. @return ISO_OK */
int iso_root(struct iso *iso, struct iso_entry *out);

enum iso_lookup_flags {
	ISO_NOFOLLOW = 1 << 0,         /* do not follow a symlink in the last component */
};

/**
 * Resolve a '/'-separated path of len bytes from the root. Empty and "."
 * components are skipped, ".." stops at the root. Rock Ridge symlinks are
 * followed within the image (absolute targets start at the image root).
 * Plain ISO 9660 names match without ";1" and the trailing dot, and fall
 * back to a case-insensitive match. Malformed entries of a directory are
 * stepped over; when the name is not found, the first one's error is
 * returned instead of ISO_ERR_NOT_FOUND.
 * @return ISO_OK, ISO_ERR_INVALID, ISO_ERR_NOMEM, ISO_ERR_BAD_NAME (NUL in
 *   path), ISO_ERR_NOT_FOUND, ISO_ERR_NOT_DIR, ISO_ERR_SYMLINK_LOOP,
 *   ISO_ERR_NAME_TOO_LONG, ISO_ERR_TOO_DEEP, or any error of iso_readdir
 *   met on the way
 */
int iso_lookup(struct iso *iso, const char *path, size_t len, unsigned flags,
	       struct iso_entry *out);

/**
 * Start iterating directory dir ("." and ".." are not returned).
 * @return ISO_OK, ISO_ERR_NOT_DIR
 */
int iso_opendir(struct iso *iso, const struct iso_entry *dir, struct iso_dir *d);

/**
 * Next entry of d into out. Multi-extent files come back as one entry,
 * Rock Ridge relocated directories at the place of their child link.
 * On an error the iterator has moved past the bad record, so a caller may
 * continue with the next one.
 * @return 1 with an entry, 0 at the end, or ISO_ERR_IO, ISO_ERR_BAD_RECORD,
 *   ISO_ERR_EXTENT_RANGE, ISO_ERR_BAD_NAME, ISO_ERR_NAME_TOO_LONG,
 *   ISO_ERR_BAD_RR, ISO_ERR_RR_LOOP, ISO_ERR_TOO_MANY_EXTENTS,
 *   ISO_ERR_UNSUPPORTED
 */
int iso_readdir(struct iso *iso, struct iso_dir *d, struct iso_entry *out);

/* Called for every entry under the root, parents before children; path
 * is relative to the root, without a leading '/'. Nonzero stops the walk
 * and is returned by iso_walk. */
typedef int (*iso_walk_fn)(void *ctx, const char *path, size_t path_len,
			   const struct iso_entry *entry);

/**
 * Visit the whole tree with an explicit stack of at most ISO_DEPTH_MAX
 * directories. Each directory extent may be entered once.
 * @return ISO_OK, the callback's nonzero value, ISO_ERR_DIR_LOOP,
 *   ISO_ERR_TOO_DEEP, ISO_ERR_NAME_TOO_LONG, ISO_ERR_NOMEM, or any error
 *   of iso_readdir
 */
int iso_walk(struct iso *iso, iso_walk_fn fn, void *ctx);

/**
 * Map file offset off of entry onto the image: *img_off receives the image
 * offset and *run the bytes contiguous from there (up to the end of that
 * extent), for pread/sendfile straight from the image.
 * @return ISO_OK, ISO_ERR_NOT_FILE, ISO_ERR_UNSUPPORTED, ISO_ERR_INVALID
 *   (off at or past the end of the file)
 */
int iso_map(const struct iso_entry *entry, uint64_t off, uint64_t *img_off,
	    uint64_t *run);

/**
 * Copy up to len bytes of the file from offset off into buf.
 * @return bytes read (0 at or past the end), or ISO_ERR_NOT_FILE,
 *   ISO_ERR_UNSUPPORTED, ISO_ERR_IO
 */
int64_t iso_read_file(struct iso *iso, const struct iso_entry *entry,
		      uint64_t off, void *buf, size_t len);

/**
 * List the El Torito boot images: the default entry, then each section's.
 * At most max are stored; *count receives the number found (<= ISO_BOOT_MAX).
 * Walks the tree once to find the files at the images' offsets.
 * @return ISO_OK, ISO_ERR_INVALID, ISO_ERR_NO_BOOT, ISO_ERR_BAD_BOOT,
 *   ISO_ERR_EXTENT_RANGE, ISO_ERR_IO
 */
int iso_boot_entries(struct iso *iso, struct iso_boot_entry *out, size_t max,
		     size_t *count);

#endif
