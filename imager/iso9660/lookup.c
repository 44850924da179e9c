/* Path lookup and tree walk, both without recursion.
 *
 * Lookup keeps the directories it went through on a fixed stack (for
 * "..") and splices symlink targets into the rest of the path, at most
 * ISO_SYMLINKS_MAX times. The walk keeps one iterator per level on a heap
 * stack of ISO_DEPTH_MAX and refuses to enter a directory extent twice,
 * which is what a directory loop looks like.
 */
#include "imager/iso9660/iso9660_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* A directory on the lookup stack. */
struct lookup_dir {
	uint64_t off;
	uint64_t len;
	int64_t mtime;
	uint32_t mode;
};

struct lookup {
	struct lookup_dir stack[ISO_DEPTH_MAX + 1];
	unsigned depth;
	/* rest of the path; a symlink target is spliced in front */
	char path[2 * ISO_PATH_MAX + 2];
	char spare[2 * ISO_PATH_MAX + 2];
	size_t pos;
	size_t len;
	struct iso_entry match;        /* case-insensitive candidate */
};

static void lookup_dir_entry(const struct lookup_dir *ld, struct iso_entry *out)
{
	memset(out, 0, sizeof(*out));
	out->type = ISO_TYPE_DIR;
	out->mode = ld->mode;
	out->size = ld->len;
	out->mtime = ld->mtime;
	out->n_extents = 1;
	out->extents[0].offset = ld->off;
	out->extents[0].length = ld->len;
}

/* Find name in the directory on top of the stack. An exact match wins;
 * a plain ISO 9660 name may also match ignoring case. A malformed entry
 * does not hide the good ones after it (the iterator has moved past it);
 * when nothing matches, its error is the answer rather than "not found",
 * as the bad entry may have been the one asked for. */
static int lookup_component(struct iso *iso, struct lookup *lk, const char *name,
			    size_t len, struct iso_entry *out)
{
	struct iso_entry dir;
	struct iso_dir d;
	bool candidate = false;
	int rc, bad = ISO_OK;

	lookup_dir_entry(&lk->stack[lk->depth], &dir);
	rc = iso_opendir(iso, &dir, &d);
	if (rc != ISO_OK)
		return rc;
	while ((rc = iso_readdir(iso, &d, out)) != 0) {
		if (rc == ISO_ERR_IO)
			return rc;
		if (rc < 0) {
			bad = bad != ISO_OK ? bad : rc;
			continue;
		}
		if (out->name_len != len)
			continue;
		if (memcmp(out->name, name, len) == 0)
			return ISO_OK;
		if (!candidate && (out->flags & ISO_ENTRY_PLAIN_NAME) &&
		    strncasecmp(out->name, name, len) == 0) {
			lk->match = *out;
			candidate = true;
		}
	}
	if (!candidate)
		return bad != ISO_OK ? bad : ISO_ERR_NOT_FOUND;
	*out = lk->match;
	return ISO_OK;
}

/* Replace the consumed path with target + the rest, which is empty or
 * starts with the '/' after the link's name. */
static int lookup_splice(struct lookup *lk, const struct iso_entry *link)
{
	size_t rest = lk->len - lk->pos;

	if (link->target_len + rest > sizeof(lk->spare))
		return ISO_ERR_NAME_TOO_LONG;
	memcpy(lk->spare, link->target, link->target_len);
	memcpy(lk->spare + link->target_len, lk->path + lk->pos, rest);
	lk->len = link->target_len + rest;
	memcpy(lk->path, lk->spare, lk->len);
	lk->pos = 0;
	if (link->target[0] == '/')
		lk->depth = 0; /* absolute: from the image root */
	return ISO_OK;
}

static int lookup_run(struct iso *iso, struct lookup *lk, unsigned flags,
		      struct iso_entry *out)
{
	unsigned links = 0;
	int rc;

	for (;;) {
		const char *name;
		size_t nlen;
		bool last, slash;

		while (lk->pos < lk->len && lk->path[lk->pos] == '/')
			lk->pos++;
		if (lk->pos == lk->len) {
			lookup_dir_entry(&lk->stack[lk->depth], out);
			return ISO_OK;
		}
		name = lk->path + lk->pos;
		while (lk->pos < lk->len && lk->path[lk->pos] != '/')
			lk->pos++;
		nlen = (size_t)(lk->path + lk->pos - name);
		if (nlen == 1 && name[0] == '.')
			continue;
		if (nlen == 2 && name[0] == '.' && name[1] == '.') {
			if (lk->depth > 0)
				lk->depth--;
			continue;
		}
		if (nlen > ISO_NAME_MAX)
			return ISO_ERR_NOT_FOUND;
		rc = lookup_component(iso, lk, name, nlen, out);
		if (rc != ISO_OK)
			return rc;
		/* "name/" asks for a directory: follow a link, refuse a file. */
		slash = lk->pos < lk->len;
		last = true;
		for (size_t i = lk->pos; i < lk->len; i++)
			if (lk->path[i] != '/')
				last = false;
		if (out->type == ISO_TYPE_SYMLINK &&
		    (!last || slash || !(flags & ISO_NOFOLLOW))) {
			if (++links > ISO_SYMLINKS_MAX)
				return ISO_ERR_SYMLINK_LOOP;
			rc = lookup_splice(lk, out);
			if (rc != ISO_OK)
				return rc;
			continue;
		}
		if (out->type != ISO_TYPE_DIR && (!last || slash))
			return ISO_ERR_NOT_DIR;
		if (last)
			return ISO_OK;
		if (lk->depth == ISO_DEPTH_MAX)
			return ISO_ERR_TOO_DEEP;
		lk->depth++;
		lk->stack[lk->depth].off = out->extents[0].offset;
		lk->stack[lk->depth].len = out->extents[0].length;
		lk->stack[lk->depth].mtime = out->mtime;
		lk->stack[lk->depth].mode = out->mode;
	}
}

int iso_lookup(struct iso *iso, const char *path, size_t len, unsigned flags,
	       struct iso_entry *out)
{
	struct lookup *lk;
	int rc;

	if (iso == NULL || out == NULL || (path == NULL && len > 0))
		return ISO_ERR_INVALID;
	if (len > ISO_PATH_MAX)
		return ISO_ERR_NAME_TOO_LONG;
	if (len > 0 && memchr(path, '\0', len))
		return ISO_ERR_BAD_NAME;
	/* ~10 KiB: kept off the stack of a server's event loop. */
	lk = malloc(sizeof(*lk));
	if (lk == NULL)
		return ISO_ERR_NOMEM;
	lk->depth = 0;
	lk->stack[0].off = iso->root_off;
	lk->stack[0].len = iso->root_len;
	lk->stack[0].mtime = iso->root_mtime;
	lk->stack[0].mode = S_IFDIR | 0555;
	if (len > 0)
		memcpy(lk->path, path, len);
	lk->pos = 0;
	lk->len = len;
	rc = lookup_run(iso, lk, flags, out);
	free(lk);
	return rc;
}

/* Directory extents entered so far: open addressing, grown by doubling.
 * Every directory occupies its own sectors, so the set is bounded by the
 * image size. */
struct walk_seen {
	uint64_t *slot;                /* offset + 1; 0 is empty */
	size_t cap;
	size_t n;
};

static size_t walk_hash(uint64_t v, size_t cap)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	return (size_t)v & (cap - 1);
}

/* 1 when added, 0 when already there, or ISO_ERR_NOMEM. */
static int walk_seen_add(struct walk_seen *s, uint64_t off)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint64_t *slot = calloc(cap, sizeof(*slot));

		if (slot == NULL)
			return ISO_ERR_NOMEM;
		for (size_t j = 0; j < s->cap; j++) {
			if (s->slot[j] == 0)
				continue;
			for (i = walk_hash(s->slot[j], cap); slot[i]; i = (i + 1) & (cap - 1))
				;
			slot[i] = s->slot[j];
		}
		free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	for (i = walk_hash(off + 1, s->cap); s->slot[i]; i = (i + 1) & (s->cap - 1))
		if (s->slot[i] == off + 1)
			return 0;
	s->slot[i] = off + 1;
	s->n++;
	return 1;
}

struct walk {
	struct iso_dir dirs[ISO_DEPTH_MAX + 1];
	size_t path_len[ISO_DEPTH_MAX + 1];
	char path[(ISO_DEPTH_MAX + 1) * (ISO_NAME_MAX + 1)];
	struct iso_entry entry;
	struct walk_seen seen;
};

static int walk_run(struct iso *iso, struct walk *w, iso_walk_fn fn, void *ctx)
{
	unsigned depth = 0;
	int rc;

	iso_root(iso, &w->entry);
	rc = walk_seen_add(&w->seen, iso->root_off);
	if (rc < 0)
		return rc;
	iso_opendir(iso, &w->entry, &w->dirs[0]);
	w->path_len[0] = 0;
	for (;;) {
		struct iso_entry *e = &w->entry;
		size_t base = w->path_len[depth], len;

		rc = iso_readdir(iso, &w->dirs[depth], e);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (depth == 0)
				return ISO_OK;
			depth--;
			continue;
		}
		len = base + (base > 0) + e->name_len;
		if (len >= sizeof(w->path))
			return ISO_ERR_NAME_TOO_LONG;
		if (base > 0)
			w->path[base] = '/';
		memcpy(w->path + len - e->name_len, e->name, e->name_len);
		w->path[len] = '\0';
		rc = fn(ctx, w->path, len, e);
		if (rc != 0)
			return rc;
		if (e->type != ISO_TYPE_DIR)
			continue;
		rc = walk_seen_add(&w->seen, e->extents[0].offset);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return ISO_ERR_DIR_LOOP;
		if (depth == ISO_DEPTH_MAX)
			return ISO_ERR_TOO_DEEP;
		depth++;
		iso_opendir(iso, e, &w->dirs[depth]);
		w->path_len[depth] = len;
	}
}

int iso_walk(struct iso *iso, iso_walk_fn fn, void *ctx)
{
	struct walk *w;
	int rc;

	if (iso == NULL || fn == NULL)
		return ISO_ERR_INVALID;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return ISO_ERR_NOMEM;
	rc = walk_run(iso, w, fn, ctx);
	free(w->seen.slot);
	free(w);
	return rc;
}
