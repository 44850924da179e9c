/* Private to imager/iso9660: the handle and the helpers its files share. */
#ifndef PXECAST_IMAGER_ISO9660_INT_H
#define PXECAST_IMAGER_ISO9660_INT_H

#include "imager/iso9660/iso9660.h"

#include <stdbool.h>

#define ISO_SECTOR 2048u
#define ISO_VD_START 16u
/* Descriptors after sector 16 before the terminator; real images have a
 * handful, the cap keeps a garbage set from being scanned to the end. */
#define ISO_VD_MAX 64u
/* Rock Ridge continuation areas followed for one record. */
#define ISO_CE_MAX 16u

struct iso {
	iso_read_fn read;
	void *ctx;
	uint64_t size;
	int fd;                        /* iso_open_fd's ctx */
	enum iso_names names;
	bool joliet;                   /* the tree below uses UCS-2 names */
	unsigned rr_skip;              /* SUSP SP LEN_SKP */
	uint64_t root_off;             /* extent of the chosen root directory */
	uint64_t root_len;
	int64_t root_mtime;
	uint64_t boot_catalog;         /* image offset, 0 without El Torito */
	char volume_id[33];
};

/* What the system use area of one record said. */
struct iso_rr {
	bool px, nm, sl, tf, cl, re, zf;
	bool rrip;                     /* ER, RR or a Rock Ridge entry seen */
	uint32_t mode;
	int64_t mtime;
	uint64_t cl_off;               /* child link: relocated directory */
	size_t name_len;
	char name[ISO_NAME_MAX + 1];
	size_t target_len;
	char target[ISO_PATH_MAX + 1];
};

static inline uint16_t iso_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t iso_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Read len bytes at off after checking the range lies in the image. */
int iso_read_at(struct iso *iso, void *buf, size_t len, uint64_t off);

/* Both-endian fields are read from their little-endian half, as Linux
 * does: some mastering tools get the big-endian half wrong. */

/* Parse the system use area su[0..len) of a record (after LEN_SKP) and
 * the continuation areas it chains to into rr (zeroed first). */
int iso_rr_parse(struct iso *iso, const uint8_t *su, size_t len,
		 struct iso_rr *rr);

/* ECMA-119 9.1.5 seven-byte recording date to seconds since the epoch;
 * out-of-range fields give 0. */
int64_t iso_time7(const uint8_t *p);
/* ECMA-119 8.4.26.1 seventeen-byte digit form. */
int64_t iso_time17(const uint8_t *p);

#endif
