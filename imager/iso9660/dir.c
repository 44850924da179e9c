/* Directory records (ECMA-119 9.1): iteration, names, multi-extent files.
 *
 * A directory is read one 2048-byte sector at a time into the iterator;
 * records never cross a sector (9.1, 6.8.1.1), so each is checked against
 * the sector and the directory end before a field is read.
 */
#include "imager/iso9660/iso9660_int.h"
#include "common/civil.h"

#include <string.h>
#include <sys/stat.h>

/* Record layout (ECMA-119 9.1). */
#define REC_LEN 0
#define REC_EAR_LEN 1
#define REC_EXTENT 2
#define REC_SIZE 10
#define REC_DATE 18
#define REC_FLAGS 25
#define REC_UNIT 26
#define REC_GAP 27
#define REC_NAME_LEN 32
#define REC_NAME 33
#define REC_MIN 34

#define FLAG_DIR 0x02
#define FLAG_ASSOC 0x04
#define FLAG_MULTI 0x80

/* Rock Ridge RE: a relocated directory, shown at its CL instead. */
#define DIR_SKIP 2

struct dir_rec {
	uint8_t raw[255];              /* the record, copied out of the sector */
	size_t len;
};

static int64_t iso_time(int64_t year, unsigned mon, unsigned day, unsigned h,
			unsigned min, unsigned s, int8_t gmtoff)
{
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || h > 23 || min > 59 ||
	    s > 60)
		return 0;
	/* gmtoff counts quarter hours east of UTC. */
	return days_from_civil(year, mon, day) * 86400 + h * 3600 + min * 60 + s -
	       (int64_t)gmtoff * 900;
}

int64_t iso_time7(const uint8_t *p)
{
	return iso_time(1900 + p[0], p[1], p[2], p[3], p[4], p[5], (int8_t)p[6]);
}

int64_t iso_time17(const uint8_t *p)
{
	unsigned v[7] = { 0 };
	static const uint8_t width[7] = { 4, 2, 2, 2, 2, 2, 2 };
	const uint8_t *q = p;

	for (unsigned i = 0; i < 7; i++)
		for (unsigned j = 0; j < width[i]; j++, q++) {
			if (*q < '0' || *q > '9')
				return 0;
			v[i] = v[i] * 10 + (unsigned)(*q - '0');
		}
	return iso_time(v[0], v[1], v[2], v[3], v[4], v[5], (int8_t)p[16]);
}

int iso_opendir(struct iso *iso, const struct iso_entry *dir, struct iso_dir *d)
{
	(void)iso;
	if (dir->type != ISO_TYPE_DIR || dir->n_extents != 1)
		return ISO_ERR_NOT_DIR;
	d->pos = dir->extents[0].offset;
	d->end = dir->extents[0].offset + dir->extents[0].length;
	d->loaded = UINT64_MAX;
	return ISO_OK;
}

/* Copy the next record of d into rec: 1, 0 at the end, or an error after
 * which d stands past the bad bytes. */
static int dir_next_record(struct iso *iso, struct iso_dir *d, struct dir_rec *rec)
{
	while (d->pos < d->end) {
		uint64_t sec = d->pos - d->pos % ISO_SECTOR;
		size_t in = (size_t)(d->pos - sec);
		uint64_t avail = ISO_SECTOR - in;
		const uint8_t *r;

		if (d->loaded != sec) {
			/* The directory lies within the image (checked when
			 * its entry was made); its last sector may not. */
			uint64_t n = iso->size - sec < ISO_SECTOR ? iso->size - sec : ISO_SECTOR;
			int rc = iso_read_at(iso, d->sector, (size_t)n, sec);

			if (rc != ISO_OK) {
				d->pos = d->end;
				return rc;
			}
			memset(d->sector + n, 0, ISO_SECTOR - n);
			d->loaded = sec;
		}
		if (avail > d->end - d->pos)
			avail = d->end - d->pos;
		r = d->sector + in;
		if (r[REC_LEN] == 0) {
			/* Padding up to the next sector. */
			d->pos = sec + ISO_SECTOR;
			continue;
		}
		if (r[REC_LEN] < REC_MIN || r[REC_LEN] > avail ||
		    REC_NAME + (size_t)r[REC_NAME_LEN] > r[REC_LEN]) {
			d->pos = sec + ISO_SECTOR;
			return ISO_ERR_BAD_RECORD;
		}
		rec->len = r[REC_LEN];
		memcpy(rec->raw, r, rec->len);
		d->pos += rec->len;
		return 1;
	}
	return 0;
}

static int name_check(const char *name, size_t len)
{
	if (len == 0 || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return ISO_ERR_BAD_NAME;
	return ISO_OK;
}

/* Plain ECMA-119 name: drop the ";version" and a trailing dot
 * ("README.;1" -> "README"). */
static int name_plain(const uint8_t *raw, size_t len, struct iso_entry *out)
{
	const uint8_t *semi = memchr(raw, ';', len);

	if (memchr(raw, '\0', len) || memchr(raw, '/', len))
		return ISO_ERR_BAD_NAME;
	if (semi)
		len = (size_t)(semi - raw);
	if (len > 1 && raw[len - 1] == '.')
		len--;
	memcpy(out->name, raw, len);
	out->name[len] = '\0';
	out->name_len = len;
	return name_check(out->name, len);
}

/* Joliet: UCS-2 big-endian (UTF-16 from some writers) to UTF-8. */
static int name_joliet(const uint8_t *raw, size_t len, struct iso_entry *out)
{
	size_t n = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		uint32_t c = (uint32_t)raw[i] << 8 | raw[i + 1];
		uint8_t u[4];
		size_t ulen;

		if (c >= 0xd800 && c < 0xdc00 && i + 3 < len) {
			uint32_t lo = (uint32_t)raw[i + 2] << 8 | raw[i + 3];

			if (lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i += 2;
			}
		}
		if (c == 0 || c == '/')
			return ISO_ERR_BAD_NAME;
		if (c >= 0xd800 && c < 0xe000)
			c = 0xfffd; /* unpaired surrogate */
		if (c < 0x80) {
			u[0] = (uint8_t)c;
			ulen = 1;
		} else if (c < 0x800) {
			u[0] = (uint8_t)(0xc0 | c >> 6);
			u[1] = (uint8_t)(0x80 | (c & 0x3f));
			ulen = 2;
		} else if (c < 0x10000) {
			u[0] = (uint8_t)(0xe0 | c >> 12);
			u[1] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
			u[2] = (uint8_t)(0x80 | (c & 0x3f));
			ulen = 3;
		} else {
			u[0] = (uint8_t)(0xf0 | c >> 18);
			u[1] = (uint8_t)(0x80 | (c >> 12 & 0x3f));
			u[2] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
			u[3] = (uint8_t)(0x80 | (c & 0x3f));
			ulen = 4;
		}
		if (ulen > ISO_NAME_MAX - n)
			return ISO_ERR_NAME_TOO_LONG;
		memcpy(out->name + n, u, ulen);
		n += ulen;
	}
	/* As Linux: writers add ";1" and trailing dots to Joliet names too. */
	if (n >= 2 && out->name[n - 2] == ';' && out->name[n - 1] == '1')
		n -= 2;
	while (n >= 2 && out->name[n - 1] == '.')
		n--;
	out->name[n] = '\0';
	out->name_len = n;
	return name_check(out->name, n);
}

static int entry_add_extent(struct iso *iso, struct iso_entry *out,
			    const uint8_t *r)
{
	uint64_t off = ((uint64_t)iso_le32(r + REC_EXTENT) + r[REC_EAR_LEN]) * ISO_SECTOR;
	uint64_t len = iso_le32(r + REC_SIZE);

	if (len == 0)
		return ISO_OK;
	if (off > iso->size || len > iso->size - off)
		return ISO_ERR_EXTENT_RANGE;
	if (out->n_extents == ISO_EXTENTS_MAX)
		return ISO_ERR_TOO_MANY_EXTENTS;
	out->extents[out->n_extents].offset = off;
	out->extents[out->n_extents].length = len;
	out->n_extents++;
	out->size += len;
	return ISO_OK;
}

/* A Rock Ridge child link names the relocated directory; its size is in
 * the "." record at its start, which must point back at itself. */
static int entry_child_link(struct iso *iso, struct iso_entry *out, uint64_t off)
{
	uint8_t dot[REC_MIN];
	int rc;

	if (off > iso->size || iso->size - off < ISO_SECTOR)
		return ISO_ERR_EXTENT_RANGE;
	rc = iso_read_at(iso, dot, sizeof(dot), off);
	if (rc != ISO_OK)
		return rc;
	if (dot[REC_LEN] < REC_MIN || !(dot[REC_FLAGS] & FLAG_DIR) ||
	    dot[REC_NAME_LEN] != 1 || dot[REC_NAME] != 0 ||
	    (uint64_t)iso_le32(dot + REC_EXTENT) * ISO_SECTOR != off ||
	    iso_le32(dot + REC_SIZE) == 0)
		return ISO_ERR_BAD_RECORD;
	out->n_extents = 0;
	out->size = 0;
	dot[REC_EAR_LEN] = 0;
	return entry_add_extent(iso, out, dot);
}

/* Name, type, mode and time of out from record r and its system use. */
static int entry_from_record(struct iso *iso, const struct dir_rec *rec,
			     struct iso_rr *rr, struct iso_entry *out)
{
	const uint8_t *r = rec->raw;
	size_t nlen = r[REC_NAME_LEN];
	int rc;

	memset(rr, 0, sizeof(*rr));
	if (iso->names == ISO_NAMES_ROCKRIDGE) {
		/* System use follows the name and its pad byte (9.1.12). */
		size_t su = REC_NAME + nlen + !(nlen & 1) + iso->rr_skip;

		rc = iso_rr_parse(iso, r + su, su < rec->len ? rec->len - su : 0, rr);
		if (rc != ISO_OK)
			return rc;
		if (rr->re)
			return DIR_SKIP;
	}
	if (rr->nm) {
		memcpy(out->name, rr->name, rr->name_len + 1);
		out->name_len = rr->name_len;
		rc = name_check(out->name, out->name_len);
	} else if (iso->joliet) {
		rc = name_joliet(r + REC_NAME, nlen, out);
	} else {
		rc = name_plain(r + REC_NAME, nlen, out);
	}
	if (rc != ISO_OK)
		return rc;

	out->mtime = rr->tf ? rr->mtime : iso_time7(r + REC_DATE);
	out->flags = rr->zf ? ISO_ENTRY_ZISOFS : 0;
	if (!rr->nm && !iso->joliet)
		out->flags |= ISO_ENTRY_PLAIN_NAME;
	if ((r[REC_FLAGS] & FLAG_DIR) || rr->cl) {
		out->type = ISO_TYPE_DIR;
		out->mode = S_IFDIR | 0555;
	} else if (rr->sl || (rr->px && S_ISLNK(rr->mode))) {
		if (!rr->sl || rr->target_len == 0)
			return ISO_ERR_BAD_RR;
		out->type = ISO_TYPE_SYMLINK;
		out->mode = S_IFLNK | 0777;
		memcpy(out->target, rr->target, rr->target_len + 1);
		out->target_len = rr->target_len;
	} else if (rr->px && !S_ISREG(rr->mode)) {
		out->type = ISO_TYPE_OTHER;
		out->mode = rr->mode & (S_IFMT | 07777);
	} else {
		out->type = ISO_TYPE_FILE;
		out->mode = S_IFREG | 0444;
	}
	if (rr->px)
		out->mode = (out->mode & S_IFMT) | (rr->mode & 07777);
	return ISO_OK;
}

/* Records after a multi-extent record carry the rest of the file under
 * the same identifier (ECMA-119:2017 6.5.1, 9.1.6 bit 7). The whole chain
 * is consumed even when a part is bad, so the iterator stands at the next
 * entry; the first error is returned. */
static int entry_extents(struct iso *iso, struct iso_dir *d,
			 const struct dir_rec *first, struct iso_entry *out)
{
	const uint8_t *r = first->raw;
	struct dir_rec next;
	uint8_t flags = r[REC_FLAGS];
	int rc = ISO_OK, err;

	if (out->type != ISO_TYPE_DIR)
		rc = entry_add_extent(iso, out, r);
	else if (out->n_extents == 0) /* not a child link */
		rc = (flags & FLAG_MULTI) || iso_le32(r + REC_SIZE) == 0 ?
		     ISO_ERR_BAD_RECORD : entry_add_extent(iso, out, r);
	if (rc == ISO_OK && (r[REC_UNIT] || r[REC_GAP]))
		rc = ISO_ERR_UNSUPPORTED; /* interleaved */
	while (flags & FLAG_MULTI) {
		err = dir_next_record(iso, d, &next);
		if (err <= 0)
			return err < 0 ? err : ISO_ERR_BAD_RECORD;
		flags = next.raw[REC_FLAGS];
		if (rc != ISO_OK)
			continue;
		if (out->type == ISO_TYPE_DIR || next.raw[REC_NAME_LEN] != r[REC_NAME_LEN] ||
		    memcmp(next.raw + REC_NAME, r + REC_NAME, r[REC_NAME_LEN]) != 0)
			rc = ISO_ERR_BAD_RECORD;
		else
			rc = entry_add_extent(iso, out, next.raw);
	}
	if (out->type != ISO_TYPE_FILE && out->type != ISO_TYPE_DIR) {
		/* Symlinks and devices have no data a server may send. */
		out->n_extents = 0;
		out->size = 0;
	}
	return rc;
}

/* Step over the rest of a multi-extent chain whose entry is not shown. */
static int dir_skip_chain(struct iso *iso, struct iso_dir *d, uint8_t flags)
{
	struct dir_rec next;
	int rc;

	while (flags & FLAG_MULTI) {
		rc = dir_next_record(iso, d, &next);
		if (rc <= 0)
			return rc < 0 ? rc : ISO_ERR_BAD_RECORD;
		flags = next.raw[REC_FLAGS];
	}
	return ISO_OK;
}

int iso_readdir(struct iso *iso, struct iso_dir *d, struct iso_entry *out)
{
	struct dir_rec rec;
	struct iso_rr rr;
	int rc, chain;

	for (;;) {
		rc = dir_next_record(iso, d, &rec);
		if (rc <= 0)
			return rc;
		if (rec.raw[REC_NAME_LEN] == 1 && rec.raw[REC_NAME] <= 1)
			continue; /* "." and ".." */
		/* Associated files (resource forks) are not shown. */
		rc = (rec.raw[REC_FLAGS] & FLAG_ASSOC) ? DIR_SKIP : ISO_OK;
		if (rc == ISO_OK) {
			out->n_extents = 0;
			out->size = 0;
			out->target_len = 0;
			out->target[0] = '\0';
			rc = entry_from_record(iso, &rec, &rr, out);
		}
		if (rc == ISO_OK && rr.cl)
			rc = entry_child_link(iso, out, rr.cl_off);
		if (rc == ISO_OK) {
			rc = entry_extents(iso, d, &rec, out);
			return rc == ISO_OK ? 1 : rc;
		}
		chain = dir_skip_chain(iso, d, rec.raw[REC_FLAGS]);
		if (rc != DIR_SKIP)
			return rc;
		if (chain != ISO_OK)
			return chain;
	}
}
