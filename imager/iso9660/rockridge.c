/* System Use Sharing Protocol (IEEE P1281) and Rock Ridge (P1282) entries
 * of one directory record: names (NM), modes (PX), symlinks (SL), times
 * (TF), relocated directories (CL, RE) and continuation areas (CE).
 *
 * Continuation areas are followed in a loop, never by recursion: at most
 * ISO_CE_MAX of them per record, each at an offset not seen before.
 */
#include "imager/iso9660/iso9660_int.h"

#include <string.h>

/* SUSP 5.1: a continuation area's place, read after the current area. */
struct rr_ce {
	uint64_t off;
	uint32_t len;
};

static int rr_append(char *dst, size_t *dst_len, size_t cap, const void *src,
		     size_t len)
{
	if (len > cap - *dst_len)
		return ISO_ERR_NAME_TOO_LONG;
	memcpy(dst + *dst_len, src, len);
	*dst_len += len;
	dst[*dst_len] = '\0';
	return ISO_OK;
}

/* A name or symlink component must not smuggle a separator or terminator
 * past the callers, who handle names as C strings and paths. */
static bool rr_text_ok(const uint8_t *p, size_t len)
{
	return memchr(p, '\0', len) == NULL && memchr(p, '/', len) == NULL;
}

/* RRIP 4.1.4 NM: alternate name, possibly in several entries. */
static int rr_parse_nm(const uint8_t *e, size_t len, struct iso_rr *rr)
{
	uint8_t flags;

	if (len < 5)
		return ISO_ERR_BAD_RR;
	flags = e[4];
	/* "." and ".." and the host name are not names of an entry. */
	if (flags & (0x02 | 0x04 | 0x20))
		return ISO_OK;
	if (!rr_text_ok(e + 5, len - 5))
		return ISO_ERR_BAD_NAME;
	rr->nm = true;
	return rr_append(rr->name, &rr->name_len, ISO_NAME_MAX, e + 5, len - 5);
}

/* RRIP 4.1.3 SL: symlink target as component records. The separators
 * follow Linux fs/isofs/rock.c so both read a link the same way. */
static int rr_parse_sl(const uint8_t *e, size_t len, struct iso_rr *rr)
{
	const uint8_t *p = e + 5;
	size_t left;
	int rc = ISO_OK;

	if (len < 5)
		return ISO_ERR_BAD_RR;
	left = len - 5;
	rr->sl = true;
	while (left >= 2) {
		uint8_t cflags = p[0];
		size_t clen = p[1];
		bool root = false;

		if (clen > left - 2)
			return ISO_ERR_BAD_RR;
		switch (cflags & ~0x01) {
		case 0x00:
			if (!rr_text_ok(p + 2, clen))
				return ISO_ERR_BAD_NAME;
			rc = rr_append(rr->target, &rr->target_len, ISO_PATH_MAX,
				       p + 2, clen);
			break;
		case 0x02:
			rc = rr_append(rr->target, &rr->target_len, ISO_PATH_MAX, ".", 1);
			break;
		case 0x04:
			rc = rr_append(rr->target, &rr->target_len, ISO_PATH_MAX, "..", 2);
			break;
		case 0x08:
		case 0x10: /* volume root: the image root is all we serve */
			root = true;
			rc = rr_append(rr->target, &rr->target_len, ISO_PATH_MAX, "/", 1);
			break;
		default:
			return ISO_ERR_BAD_RR;
		}
		if (rc != ISO_OK)
			return rc;
		left -= clen + 2;
		p += clen + 2;
		if (left < 2) {
			/* The entry continues in the next SL: separate unless
			 * the last component itself continues there. */
			if ((e[4] & 0x01) && !(cflags & 0x01))
				rc = rr_append(rr->target, &rr->target_len,
					       ISO_PATH_MAX, "/", 1);
			break;
		}
		if (!root && !(cflags & 0x01))
			rc = rr_append(rr->target, &rr->target_len, ISO_PATH_MAX, "/", 1);
		if (rc != ISO_OK)
			return rc;
	}
	return rc;
}

/* RRIP 4.1.6 TF: stamps in flag-bit order; bit 1 is the modification. */
static int rr_parse_tf(const uint8_t *e, size_t len, struct iso_rr *rr)
{
	uint8_t flags;
	size_t stamp, pos = 5;

	if (len < 5)
		return ISO_ERR_BAD_RR;
	flags = e[4];
	stamp = (flags & 0x80) ? 17 : 7;
	for (unsigned bit = 0; bit < 7; bit++) {
		if (!(flags & (1u << bit)))
			continue;
		if (stamp > len - pos)
			return ISO_ERR_BAD_RR;
		if (bit == 1) {
			rr->tf = true;
			rr->mtime = stamp == 17 ? iso_time17(e + pos) : iso_time7(e + pos);
		}
		pos += stamp;
	}
	return ISO_OK;
}

/* One SUSP entry e of len bytes (len >= 4 checked by the caller). */
static int rr_parse_entry(struct iso *iso, const uint8_t *e, size_t len,
			  struct iso_rr *rr, struct rr_ce *ce)
{
	uint32_t lba;

	if ((e[0] == 'E' && e[1] == 'R') || (e[0] == 'R' && e[1] == 'R') ||
	    (e[0] == 'P' && e[1] == 'X') || (e[0] == 'N' && e[1] == 'M'))
		rr->rrip = true;
	switch (e[0] << 8 | e[1]) {
	case 'C' << 8 | 'E':
		if (len < 28)
			return ISO_ERR_BAD_RR;
		lba = iso_le32(e + 4);
		ce->off = (uint64_t)lba * ISO_SECTOR + iso_le32(e + 12);
		ce->len = iso_le32(e + 20);
		/* An area is read in one piece from one block (Linux does
		 * the same), which bounds the scratch buffer. */
		if (ce->len == 0 || iso_le32(e + 12) >= ISO_SECTOR ||
		    ce->len > ISO_SECTOR - iso_le32(e + 12))
			return ISO_ERR_BAD_RR;
		if (ce->off + ce->len > iso->size)
			return ISO_ERR_EXTENT_RANGE;
		return ISO_OK;
	case 'P' << 8 | 'X':
		if (len < 36)
			return ISO_ERR_BAD_RR;
		rr->px = true;
		rr->mode = iso_le32(e + 4);
		return ISO_OK;
	case 'N' << 8 | 'M':
		return rr_parse_nm(e, len, rr);
	case 'S' << 8 | 'L':
		return rr_parse_sl(e, len, rr);
	case 'T' << 8 | 'F':
		return rr_parse_tf(e, len, rr);
	case 'C' << 8 | 'L':
		if (len < 12)
			return ISO_ERR_BAD_RR;
		rr->cl = true;
		rr->cl_off = (uint64_t)iso_le32(e + 4) * ISO_SECTOR;
		return ISO_OK;
	case 'R' << 8 | 'E':
		rr->re = true;
		return ISO_OK;
	case 'Z' << 8 | 'F':
		rr->zf = true;
		return ISO_OK;
	default:
		/* SP, ER, RR, PN, PL, AA, ...: nothing a reader needs. */
		return ISO_OK;
	}
}

int iso_rr_parse(struct iso *iso, const uint8_t *su, size_t len,
		 struct iso_rr *rr)
{
	uint8_t area[ISO_SECTOR];
	uint64_t seen[ISO_CE_MAX];
	unsigned n_seen = 0;
	const uint8_t *p = su;
	int rc;

	memset(rr, 0, sizeof(*rr));
	for (;;) {
		struct rr_ce ce = { 0, 0 };

		/* Fewer than 4 bytes, or a zero byte, is padding. */
		while (len >= 4 && p[0] != 0) {
			size_t elen = p[2];

			if (elen < 4 || elen > len)
				return ISO_ERR_BAD_RR;
			if (p[0] == 'S' && p[1] == 'T')
				break;
			rc = rr_parse_entry(iso, p, elen, rr, &ce);
			if (rc != ISO_OK)
				return rc;
			p += elen;
			len -= elen;
		}
		if (ce.len == 0)
			return ISO_OK;
		for (unsigned i = 0; i < n_seen; i++)
			if (seen[i] == ce.off)
				return ISO_ERR_RR_LOOP;
		if (n_seen == ISO_CE_MAX)
			return ISO_ERR_RR_LOOP;
		seen[n_seen++] = ce.off;
		rc = iso_read_at(iso, area, ce.len, ce.off);
		if (rc != ISO_OK)
			return rc;
		p = area;
		len = ce.len;
	}
}
