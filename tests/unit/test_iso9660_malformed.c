/* Malformed images: a small valid image made by xorriso is patched in
 * memory, one fault at a time, and each fault must come back as its own
 * error code, never a crash (run under ASan/UBSan in CI). A seeded random
 * mutation loop covers what the table does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imager/iso9660/iso9660.h"
#include "tests/unit/iso/isotest.h"

#define SECTOR 2048u
#define PVD (16 * SECTOR)

/* Base images: Rock Ridge + Joliet + El Torito, Joliet only, plain. */
static struct isotest_mem rr_img, joliet_img, plain_img;
/* genisoimage's, with directories relocated by Rock Ridge CL (if found). */
static struct isotest_mem reloc_img;
static char *tmp;

/* A copy of a base image to patch. */
static struct isotest_mem copy(const struct isotest_mem *base)
{
	struct isotest_mem m = { malloc(base->len), base->len };

	assert_non_null(m.buf);
	memcpy(m.buf, base->buf, base->len);
	return m;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Both-endian 32-bit field (ECMA-119 7.3.3). */
static void put733(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
		p[7 - i] = (uint8_t)(v >> (8 * i));
	}
}

static int open_mem(struct isotest_mem *m, struct iso **iso)
{
	return iso_open(isotest_mem_read, m, m->len, iso);
}

/* Root directory record of the descriptor at sector vd_sector. */
static uint8_t *root_record(struct isotest_mem *m, unsigned vd_sector)
{
	return m->buf + vd_sector * SECTOR + 156;
}

/* The record in the root directory (of the descriptor at vd_sector)
 * whose identifier starts with id[0..len). */
static uint8_t *find_record(struct isotest_mem *m, unsigned vd_sector,
			    const void *id, size_t len)
{
	const uint8_t *root = root_record(m, vd_sector);
	size_t pos = (size_t)le32(root + 2) * SECTOR, end = pos + le32(root + 10);

	while (pos < end) {
		uint8_t *r = m->buf + pos;

		if (r[0] == 0) {
			pos = (pos / SECTOR + 1) * SECTOR;
			continue;
		}
		if (r[32] >= len && memcmp(r + 33, id, len) == 0)
			return r;
		pos += r[0];
	}
	fail_msg("no record %.*s", (int)len, (const char *)id);
	return NULL;
}

/* A SUSP entry sig in the system use area of record r (no CE). */
static uint8_t *find_susp(uint8_t *r, const char *sig)
{
	size_t pos = 33 + r[32] + !(r[32] & 1);

	while (pos + 4 <= r[0] && r[pos + 2] >= 4) {
		if (r[pos] == sig[0] && r[pos + 1] == sig[1])
			return r + pos;
		pos += r[pos + 2];
	}
	fail_msg("no %s entry", sig);
	return NULL;
}

/* Look up path and read it whole; the first error on the way. */
static int read_path(struct isotest_mem *m, const char *path)
{
	struct iso_entry *e = malloc(sizeof(*e));
	static uint8_t buf[1 << 16];
	struct iso *iso;
	int rc;

	assert_non_null(e);
	rc = open_mem(m, &iso);
	if (rc == ISO_OK) {
		rc = iso_lookup(iso, path, strlen(path), 0, e);
		if (rc == ISO_OK && e->type == ISO_TYPE_FILE) {
			int64_t n = iso_read_file(iso, e, 0, buf, sizeof(buf));

			rc = n < 0 ? (int)n : ISO_OK;
		}
		iso_close(iso);
	}
	free(e);
	return rc;
}

static int walk_count(void *ctx, const char *path, size_t len, const struct iso_entry *e)
{
	(void)path;
	(void)len;
	(void)e;
	++*(int *)ctx;
	return 0;
}

static int walk_mem(struct isotest_mem *m)
{
	struct iso *iso;
	int n = 0, rc = open_mem(m, &iso);

	if (rc == ISO_OK) {
		rc = iso_walk(iso, walk_count, &n);
		iso_close(iso);
	}
	return rc;
}

static int boot_mem(struct isotest_mem *m)
{
	struct iso_boot_entry b[ISO_BOOT_MAX];
	struct iso *iso;
	size_t n;
	int rc = open_mem(m, &iso);

	if (rc == ISO_OK) {
		rc = iso_boot_entries(iso, b, ISO_BOOT_MAX, &n);
		iso_close(iso);
	}
	return rc;
}

static void test_base_images(void **state)
{
	(void)state;
	assert_int_equal(walk_mem(&rr_img), ISO_OK);
	assert_int_equal(walk_mem(&joliet_img), ISO_OK);
	assert_int_equal(walk_mem(&plain_img), ISO_OK);
	assert_int_equal(read_path(&rr_img, "hello.txt"), ISO_OK);
	assert_int_equal(boot_mem(&rr_img), ISO_OK);
	assert_int_equal(boot_mem(&plain_img), ISO_ERR_NO_BOOT);
}

static void test_truncated(void **state)
{
	struct isotest_mem m = copy(&rr_img);
	struct iso *iso;

	(void)state;
	m.len = 0;
	assert_int_equal(open_mem(&m, &iso), ISO_ERR_TRUNCATED);
	m.len = PVD + 100;
	assert_int_equal(open_mem(&m, &iso), ISO_ERR_TRUNCATED);
	/* Shorter than the volume space the descriptor declares. */
	m.len = rr_img.len - SECTOR;
	assert_int_equal(open_mem(&m, &iso), ISO_ERR_TRUNCATED);
	free(m.buf);
}

static void test_bad_descriptors(void **state)
{
	struct isotest_mem m = copy(&rr_img);
	struct iso *iso;

	(void)state;
	memset(m.buf + PVD, 0, SECTOR);
	assert_int_equal(open_mem(&m, &iso), ISO_ERR_NOT_ISO);
	for (size_t i = 0; i < SECTOR; i++)
		m.buf[PVD + i] = (uint8_t)(i * 37 + 11);
	assert_int_equal(open_mem(&m, &iso), ISO_ERR_NOT_ISO);

	memcpy(m.buf, rr_img.buf, m.len);
	m.buf[PVD + 128] = 0; /* logical block size 0 */
	m.buf[PVD + 129] = 0;
	assert_int_equal(open_mem(&m, &iso), ISO_ERR_BAD_VD);

	memcpy(m.buf, rr_img.buf, m.len);
	root_record(&m, 16)[0] = 0; /* zero-length root record */
	assert_int_equal(open_mem(&m, &iso), ISO_ERR_BAD_VD);

	memcpy(m.buf, rr_img.buf, m.len);
	m.buf[PVD] = 3; /* no primary left, terminator still there */
	assert_int_equal(open_mem(&m, &iso), ISO_ERR_NO_PVD);
	m.buf[PVD] = 255; /* an empty descriptor set: terminator first */
	assert_int_equal(open_mem(&m, &iso), ISO_ERR_NO_PVD);

	memcpy(m.buf, rr_img.buf, m.len);
	put733(root_record(&m, 16) + 2, 0x00ffffff);
	assert_int_equal(open_mem(&m, &iso), ISO_ERR_EXTENT_RANGE);
	free(m.buf);
}

static void test_extent_past_end(void **state)
{
	struct isotest_mem m = copy(&rr_img);

	(void)state;
	put733(find_record(&m, 16, "HELLO.TXT", 9) + 2, 0x00ffffff);
	assert_int_equal(read_path(&m, "hello.txt"), ISO_ERR_EXTENT_RANGE);
	memcpy(m.buf, rr_img.buf, m.len);
	put733(find_record(&m, 16, "HELLO.TXT", 9) + 10, 0xffffffff);
	assert_int_equal(read_path(&m, "hello.txt"), ISO_ERR_EXTENT_RANGE);
	/* A directory extent past the end as well. */
	memcpy(m.buf, rr_img.buf, m.len);
	put733(find_record(&m, 16, "SUB", 3) + 2, (uint32_t)(m.len / SECTOR));
	assert_int_equal(read_path(&m, "sub/inner.txt"), ISO_ERR_EXTENT_RANGE);
	free(m.buf);
}

/* A subdirectory pointing at its parent's extent: lookups stay bounded by
 * the path, the walk reports the loop. */
static void test_directory_loop(void **state)
{
	struct isotest_mem m = copy(&rr_img);
	uint8_t *root = root_record(&m, 16);

	(void)state;
	memcpy(find_record(&m, 16, "SUB", 3) + 2, root + 2, 16);
	assert_int_equal(walk_mem(&m), ISO_ERR_DIR_LOOP);
	assert_int_equal(read_path(&m, "sub/sub/sub/sub/hello.txt"), ISO_OK);
	free(m.buf);
}

/* A Rock Ridge continuation area that continues into itself. */
static void test_rr_continuation_loop(void **state)
{
	struct isotest_mem m = copy(&rr_img);
	uint8_t *r, *ce;
	size_t rec_off, su;
	struct iso *iso;

	(void)state;
	/* The 200-byte name does not fit its record: NM goes on in a CE. */
	r = find_record(&m, 16, "NNNNNNNN", 8);
	ce = find_susp(r, "CE");
	rec_off = (size_t)(r - m.buf);
	su = 33 + r[32] + !(r[32] & 1);
	put733(ce + 4, (uint32_t)(rec_off / SECTOR));
	put733(ce + 12, (uint32_t)(rec_off % SECTOR + su));
	put733(ce + 20, (uint32_t)(r[0] - su));
	assert_int_equal(walk_mem(&m), ISO_ERR_RR_LOOP);

	/* The same on the root's ".", read at open. */
	memcpy(m.buf, rr_img.buf, m.len);
	r = m.buf + (size_t)le32(root_record(&m, 16) + 2) * SECTOR;
	ce = find_susp(r, "CE");
	rec_off = (size_t)(r - m.buf);
	put733(ce + 4, (uint32_t)(rec_off / SECTOR));
	put733(ce + 12, 34);
	put733(ce + 20, (uint32_t)(r[0] - 34));
	assert_int_equal(open_mem(&m, &iso), ISO_ERR_RR_LOOP);

	/* An area crossing its block, and one past the end. */
	memcpy(m.buf, rr_img.buf, m.len);
	ce = find_susp(find_record(&m, 16, "NNNNNNNN", 8), "CE");
	put733(ce + 12, SECTOR - 10);
	assert_int_equal(walk_mem(&m), ISO_ERR_BAD_RR);
	memcpy(m.buf, rr_img.buf, m.len);
	ce = find_susp(find_record(&m, 16, "NNNNNNNN", 8), "CE");
	put733(ce + 4, (uint32_t)(m.len / SECTOR));
	assert_int_equal(walk_mem(&m), ISO_ERR_EXTENT_RANGE);
	free(m.buf);
}

static void test_bad_names(void **state)
{
	static const uint8_t joliet_hello[] = { 0, 'h', 0, 'e' };
	struct isotest_mem m = copy(&rr_img);
	uint8_t *nm;

	(void)state;
	/* Rock Ridge NM "hello.txt" -> "he/lo.txt", "he\0lo.txt", "..". */
	nm = find_susp(find_record(&m, 16, "HELLO.TXT", 9), "NM");
	nm[5 + 2] = '/';
	assert_int_equal(read_path(&m, "hello.txt"), ISO_ERR_BAD_NAME);
	/* The bad entry does not hide those after it from lookups. */
	assert_int_equal(read_path(&m, "sub/inner.txt"), ISO_OK);
	assert_int_equal(read_path(&m, "link"), ISO_OK);
	nm[5 + 2] = '\0';
	assert_int_equal(walk_mem(&m), ISO_ERR_BAD_NAME);
	memcpy(m.buf, rr_img.buf, m.len);
	nm = find_susp(find_record(&m, 16, "HELLO.TXT", 9), "NM");
	memcpy(nm + 5, "..", 2);
	nm[2] = 5 + 2;
	nm[5 + 2] = 'S'; /* an ST entry ends the area after the shortened NM */
	nm[5 + 3] = 'T';
	nm[5 + 4] = 4;
	nm[5 + 5] = 1;
	assert_int_equal(walk_mem(&m), ISO_ERR_BAD_NAME);
	/* A symlink component with '/'. */
	memcpy(m.buf, rr_img.buf, m.len);
	nm = find_susp(find_record(&m, 16, "LINK", 4), "SL");
	nm[5 + 2 + 1] = '/';
	assert_int_equal(walk_mem(&m), ISO_ERR_BAD_NAME);
	free(m.buf);

	/* Joliet: U+0000 and U+002F. */
	m = copy(&joliet_img);
	find_record(&m, 17, joliet_hello, sizeof(joliet_hello))[33 + 3] = '/';
	assert_int_equal(walk_mem(&m), ISO_ERR_BAD_NAME);
	find_record(&m, 17, joliet_hello, 2)[33 + 3] = 0;
	assert_int_equal(walk_mem(&m), ISO_ERR_BAD_NAME);
	free(m.buf);

	/* Plain identifiers. */
	m = copy(&plain_img);
	find_record(&m, 16, "HELLO.TXT", 9)[33 + 2] = '/';
	assert_int_equal(walk_mem(&m), ISO_ERR_BAD_NAME);
	find_record(&m, 16, "HE", 2)[33 + 2] = '\0';
	assert_int_equal(walk_mem(&m), ISO_ERR_BAD_NAME);
	free(m.buf);
}

/* Joliet names from writers that use UTF-16: a surrogate pair is one
 * character, a lone surrogate reads as U+FFFD. */
static void test_joliet_utf16(void **state)
{
	static const uint8_t joliet_hello[] = { 0, 'h', 0, 'e' };
	static const char smile[] = "\xf0\x9f\x98\x80llo.txt";
	static const char lone[] = "\xef\xbf\xbd" "ello.txt";
	struct isotest_mem m = copy(&joliet_img);
	uint8_t *r = find_record(&m, 17, joliet_hello, sizeof(joliet_hello));

	(void)state;
	memcpy(r + 33, "\xd8\x3d\xde\x00", 4);
	assert_int_equal(read_path(&m, smile), ISO_OK);
	memcpy(r + 33, "\xdc\x00\x00\x65", 4);
	assert_int_equal(read_path(&m, lone), ISO_OK);
	free(m.buf);
}

static void test_bad_records(void **state)
{
	struct isotest_mem m = copy(&rr_img);
	uint8_t *r;

	(void)state;
	find_record(&m, 16, "HELLO.TXT", 9)[0] = 20; /* shorter than a record */
	assert_int_equal(walk_mem(&m), ISO_ERR_BAD_RECORD);
	memcpy(m.buf, rr_img.buf, m.len);
	r = find_record(&m, 16, "HELLO.TXT", 9);
	r[32] = (uint8_t)(r[0] - 32); /* name runs past the record */
	assert_int_equal(walk_mem(&m), ISO_ERR_BAD_RECORD);
	/* A multi-extent flag whose next record is another file. */
	memcpy(m.buf, rr_img.buf, m.len);
	find_record(&m, 16, "HELLO.TXT", 9)[25] |= 0x80;
	assert_int_equal(walk_mem(&m), ISO_ERR_BAD_RECORD);
	/* A directory of size 0. */
	memcpy(m.buf, rr_img.buf, m.len);
	put733(find_record(&m, 16, "SUB", 3) + 10, 0);
	assert_int_equal(walk_mem(&m), ISO_ERR_BAD_RECORD);
	free(m.buf);
}

/* A file in several parts, made by hand: xorriso writes them only for
 * files over 4 GiB (see test_iso9660.c). */
struct part {
	uint32_t lba;
	uint32_t len;
};

/* Rewrite the root directory of m at the end of the image, with record
 * id replaced by one record per part, flagged multi-extent but for the
 * last (flag_last lets a test break the chain). Records do not cross
 * sectors, so a long chain spans a sector boundary. */
static void craft_parts(struct isotest_mem *m, const char *id,
			const struct part *parts, size_t n, uint8_t flag_last)
{
	const uint8_t *root = root_record(m, 16);
	const uint8_t *dir = m->buf + (size_t)le32(root + 2) * SECTOR;
	const uint8_t *rec = find_record(m, 16, id, strlen(id));
	size_t cap = 8 * SECTOR, pos = 0, in = 0, len;
	uint8_t *out = calloc(1, cap);

	assert_non_null(out);
	assert_true(le32(root + 10) == SECTOR);
	for (; in < SECTOR && dir[in] != 0; in += dir[in]) {
		for (size_t i = 0; i < (dir + in == rec ? n : 1); i++) {
			if (pos % SECTOR + dir[in] > SECTOR)
				pos += SECTOR - pos % SECTOR;
			assert_true(pos + dir[in] <= cap);
			memcpy(out + pos, dir + in, dir[in]);
			if (dir + in == rec) {
				put733(out + pos + 2, parts[i].lba);
				put733(out + pos + 10, parts[i].len);
				out[pos + 25] = i + 1 < n ? 0x80 : flag_last;
			}
			pos += dir[in];
		}
	}
	len = (pos + SECTOR - 1) / SECTOR * SECTOR;
	m->buf = realloc(m->buf, m->len + len);
	assert_non_null(m->buf);
	memcpy(m->buf + m->len, out, len);
	put733(root_record(m, 16) + 2, (uint32_t)(m->len / SECTOR));
	put733(root_record(m, 16) + 10, (uint32_t)len);
	m->len += len;
	free(out);
}

static void test_crafted_multi_extent(void **state)
{
	struct isotest_mem m = copy(&plain_img);
	uint32_t boot = le32(find_record(&m, 16, "BOOT.IMG", 8) + 2);
	uint32_t hello = le32(find_record(&m, 16, "HELLO.TXT", 9) + 2);
	const struct part parts[] = { { boot, SECTOR }, { 0, 0 }, { hello, 100 } };
	struct iso_entry *e = malloc(sizeof(*e));
	uint8_t buf[SECTOR + 100], want[SECTOR + 100];
	uint64_t at, run;
	struct iso *iso;
	const char *dir = getenv("ISOTEST_CORPUS_DIR");

	(void)state;
	assert_non_null(e);
	craft_parts(&m, "HELLO.TXT", parts, 3, 0);
	if (dir != NULL) {
		/* make-corpus.sh keeps this image as a fuzzing seed. */
		char *path = isotest_join(dir, "multi-extent.iso");
		FILE *f = path ? fopen(path, "wb") : NULL;

		assert_non_null(f);
		assert_int_equal(fwrite(m.buf, 1, m.len, f), m.len);
		fclose(f);
		free(path);
	}
	memcpy(want, m.buf + (size_t)boot * SECTOR, SECTOR);
	memcpy(want + SECTOR, m.buf + (size_t)hello * SECTOR, 100);
	assert_int_equal(open_mem(&m, &iso), ISO_OK);
	assert_int_equal(iso_lookup(iso, "hello.txt", 9, 0, e), ISO_OK);
	assert_int_equal(e->size, SECTOR + 100);
	assert_int_equal(e->n_extents, 2); /* the empty part is left out */
	assert_int_equal(iso_read_file(iso, e, 0, buf, sizeof(buf)), sizeof(buf));
	assert_memory_equal(buf, want, sizeof(buf));
	assert_int_equal(iso_read_file(iso, e, SECTOR - 7, buf, 20), 20);
	assert_memory_equal(buf, want + SECTOR - 7, 20);
	assert_int_equal(iso_map(e, SECTOR, &at, &run), ISO_OK);
	assert_int_equal(at, (uint64_t)hello * SECTOR);
	assert_int_equal(run, 100);
	assert_int_equal(walk_mem(&m), ISO_OK);
	iso_close(iso);

	/* The chain runs into the end of the directory. */
	free(m.buf);
	m = copy(&plain_img);
	craft_parts(&m, "SUB", (const struct part[]){ { hello, 100 } }, 1, 0x80);
	assert_int_equal(walk_mem(&m), ISO_ERR_BAD_RECORD);
	/* More parts than an entry holds. */
	{
		struct part many[ISO_EXTENTS_MAX + 1];

		for (size_t i = 0; i < ISO_EXTENTS_MAX + 1; i++)
			many[i] = (struct part){ hello, 1 };
		free(m.buf);
		m = copy(&plain_img);
		craft_parts(&m, "HELLO.TXT", many, ISO_EXTENTS_MAX, 0);
		assert_int_equal(read_path(&m, "hello.txt"), ISO_OK);
		free(m.buf);
		m = copy(&plain_img);
		craft_parts(&m, "HELLO.TXT", many, ISO_EXTENTS_MAX + 1, 0);
		assert_int_equal(read_path(&m, "hello.txt"), ISO_ERR_TOO_MANY_EXTENTS);
		assert_int_equal(read_path(&m, "sub/inner.txt"), ISO_OK);
	}
	free(m.buf);
	free(e);
}

/* Rock Ridge child links are how CVE-2014-5471 looped the Linux kernel:
 * a CL naming an ancestor must be a loop, not a recursion. */
static void test_relocated_dir_loop(void **state)
{
	static const uint8_t cl_sig[] = { 'C', 'L', 12, 1 };
	struct isotest_mem m;
	uint8_t *cl;

	(void)state;
	if (reloc_img.buf == NULL)
		skip();
	m = copy(&reloc_img);
	assert_int_equal(walk_mem(&m), ISO_OK);
	cl = memmem(m.buf + PVD, m.len - PVD, cl_sig, sizeof(cl_sig));
	assert_non_null(cl);
	memcpy(cl + 4, root_record(&m, 16) + 2, 8);
	assert_int_equal(walk_mem(&m), ISO_ERR_DIR_LOOP);
	put733(cl + 4, (uint32_t)(m.len / SECTOR));
	assert_int_equal(walk_mem(&m), ISO_ERR_EXTENT_RANGE);
	put733(cl + 4, 0); /* the system area: no "." record there */
	assert_int_equal(walk_mem(&m), ISO_ERR_BAD_RECORD);
	free(m.buf);
}

/* zisofs content (Rock Ridge ZF) is compressed: it is flagged and not
 * handed out as if it were the file. */
static void test_zisofs_refused(void **state)
{
	struct isotest_mem m = copy(&rr_img);
	uint8_t *tf = find_susp(find_record(&m, 16, "HELLO.TXT", 9), "TF");

	(void)state;
	tf[0] = 'Z';
	assert_int_equal(read_path(&m, "hello.txt"), ISO_ERR_UNSUPPORTED);
	free(m.buf);
}

/* The read callback failing on one sector (or all, with sector < 0). */
struct failing {
	struct isotest_mem *m;
	int64_t sector;
};

static int failing_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct failing *f = ctx;
	uint64_t bad = (uint64_t)f->sector * SECTOR;

	if (f->sector < 0 || (off < bad + SECTOR && off + len > bad))
		return -1;
	return isotest_mem_read(f->m, buf, len, off);
}

static void test_read_errors(void **state)
{
	struct isotest_mem m = copy(&rr_img);
	struct failing f = { &m, -1 };
	struct iso_entry *e = malloc(sizeof(*e));
	uint8_t buf[16];
	struct iso *iso;

	(void)state;
	assert_non_null(e);
	assert_int_equal(iso_open(failing_read, &f, m.len, &iso), ISO_ERR_IO);
	/* Metadata readable, file data not. */
	f.sector = le32(find_record(&m, 16, "HELLO.TXT", 9) + 2);
	assert_int_equal(iso_open(failing_read, &f, m.len, &iso), ISO_OK);
	assert_int_equal(iso_lookup(iso, "hello.txt", 9, 0, e), ISO_OK);
	assert_int_equal(iso_read_file(iso, e, 0, buf, sizeof(buf)), ISO_ERR_IO);
	iso_close(iso);
	/* A subdirectory unreadable. */
	f.sector = le32(find_record(&m, 16, "SUB", 3) + 2);
	assert_int_equal(iso_open(failing_read, &f, m.len, &iso), ISO_OK);
	assert_int_equal(iso_lookup(iso, "sub/inner.txt", 13, 0, e), ISO_ERR_IO);
	iso_close(iso);
	assert_int_equal(iso_open(NULL, &f, m.len, &iso), ISO_ERR_INVALID);
	free(e);
	free(m.buf);
}

static void test_bad_boot_catalog(void **state)
{
	struct isotest_mem m = copy(&rr_img);
	uint8_t *bvd = m.buf + PVD + SECTOR; /* xorriso: boot record after the PVD */
	uint8_t *cat;

	(void)state;
	assert_int_equal(bvd[0], 0);
	cat = m.buf + (size_t)le32(bvd + 0x47) * SECTOR;
	cat[4] ^= 1; /* checksum no longer sums to zero */
	assert_int_equal(boot_mem(&m), ISO_ERR_BAD_BOOT);
	memcpy(m.buf, rr_img.buf, m.len);
	put733(cat + 32 + 8, 0xfffffff); /* load RBA past the end (LE32 + junk) */
	assert_int_equal(boot_mem(&m), ISO_ERR_EXTENT_RANGE);
	memcpy(m.buf, rr_img.buf, m.len);
	put733(bvd + 0x47, (uint32_t)(m.len / SECTOR));
	assert_int_equal(boot_mem(&m), ISO_ERR_EXTENT_RANGE);
	free(m.buf);
}

static void test_error_messages(void **state)
{
	(void)state;
	for (int a = ISO_ERR_BAD_BOOT; a <= ISO_OK; a++) {
		assert_string_not_equal(iso_strerror(a), "unknown error");
		for (int b = ISO_ERR_BAD_BOOT; b < a; b++)
			assert_string_not_equal(iso_strerror(a), iso_strerror(b));
	}
	assert_string_equal(iso_strerror(1), "unknown error");
	assert_string_equal(iso_strerror(-1000), "unknown error");
}

static int read_all(void *ctx, const char *path, size_t len, const struct iso_entry *e)
{
	static uint8_t buf[4096];
	struct iso *iso = ctx;
	struct iso_entry *f = malloc(sizeof(*f));

	if (f == NULL)
		return 1;
	if (e->type == ISO_TYPE_FILE)
		(void)iso_read_file(iso, e, 0, buf, sizeof(buf));
	(void)iso_lookup(iso, path, len, 0, f);
	free(f);
	return 0;
}

/* Seeded mutations of the metadata sectors: whatever the error, no crash
 * and no hang. */
static void test_random_mutations(void **state)
{
	struct isotest_mem m = copy(&rr_img);
	size_t meta_end = m.len < 64 * SECTOR ? m.len : 64 * SECTOR;
	uint32_t x = 0x1234567;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		struct iso_boot_entry b[4];
		struct iso *iso;
		size_t n;

		memcpy(m.buf, rr_img.buf, m.len);
		for (int k = 0; k < 1 + round % 8; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			m.buf[PVD + x % (meta_end - PVD)] = (uint8_t)(x >> 24);
		}
		if (open_mem(&m, &iso) != ISO_OK)
			continue;
		(void)iso_walk(iso, read_all, iso);
		(void)iso_boot_entries(iso, b, 4, &n);
		iso_close(iso);
	}
	free(m.buf);
}

static int make_image(const char *name, const char *const *opts, struct isotest_mem *m)
{
	const char *argv[32] = { "xorriso", "-as", "mkisofs" };
	char *root = isotest_join(tmp, "tree"), *img = isotest_join(tmp, name);
	size_t n = 3;
	int rc = -1;

	while (*opts)
		argv[n++] = *opts++;
	argv[n++] = "-o";
	argv[n++] = img;
	argv[n++] = root;
	argv[n] = NULL;
	if (root && img && isotest_run(argv, NULL) == 0)
		rc = isotest_load(img, m);
	free(root);
	free(img);
	return rc;
}

static int setup(void **state)
{
	/* -no-pad: the images stay small (~75 KiB), so mutations land in
	 * metadata more often. */
	static const char *const rr[] = { "-no-pad", "-R", "-J", "-c", "boot.cat",
		"-b", "boot.img", "-no-emul-boot", NULL };
	static const char *const joliet[] = { "-no-pad", "--norock", "-J", NULL };
	static const char *const plain[] = { "-no-pad", "--norock", NULL };
	char name[201], *root, *p;
	int rc = 0;

	(void)state;
	if (!isotest_have("xorriso")) {
		fprintf(stderr, "xorriso not found: skipped\n");
		exit(77);
	}
	tmp = isotest_tmpdir(NULL);
	root = tmp ? isotest_join(tmp, "tree") : NULL;
	if (root == NULL)
		return -1;
	memset(name, 'n', 200);
	name[200] = '\0';
	rc |= isotest_mkdirs(root);
	p = isotest_join(root, "sub");
	rc |= isotest_mkdirs(p);
	free(p);
	p = isotest_join(root, "sub/inner.txt");
	rc |= isotest_write_file(p, 33, 1);
	free(p);
	p = isotest_join(root, "hello.txt");
	rc |= isotest_write_file(p, 100, 2);
	free(p);
	p = isotest_join(root, "boot.img");
	rc |= isotest_write_file(p, 2048, 3);
	free(p);
	p = isotest_join(root, name);
	rc |= isotest_write_file(p, 5, 4);
	free(p);
	p = isotest_join(root, "link");
	rc |= symlink("sub/inner.txt", p);
	free(p);
	p = isotest_join(root, "a/b/c/d/e/f/g/h/i/j");
	rc |= isotest_mkdirs(p);
	free(p);
	p = isotest_join(root, "a/b/c/d/e/f/g/h/i/j/deep.txt");
	rc |= isotest_write_file(p, 10, 5);
	free(p);
	free(root);
	rc |= make_image("rr.iso", rr, &rr_img);
	rc |= make_image("joliet.iso", joliet, &joliet_img);
	rc |= make_image("plain.iso", plain, &plain_img);
	if (isotest_have("genisoimage")) {
		const char *argv[] = { "genisoimage", "-R", "-no-pad", "-o", NULL, NULL, NULL };

		argv[4] = p = isotest_join(tmp, "reloc.iso");
		argv[5] = root = isotest_join(tmp, "tree");
		rc |= isotest_run(argv, NULL) | isotest_load(p, &reloc_img);
		free(p);
		free(root);
	}
	return rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	isotest_rmtree(tmp);
	free(tmp);
	free(rr_img.buf);
	free(joliet_img.buf);
	free(plain_img.buf);
	free(reloc_img.buf);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_images),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_descriptors),
		cmocka_unit_test(test_extent_past_end),
		cmocka_unit_test(test_directory_loop),
		cmocka_unit_test(test_rr_continuation_loop),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_joliet_utf16),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_crafted_multi_extent),
		cmocka_unit_test(test_relocated_dir_loop),
		cmocka_unit_test(test_zisofs_refused),
		cmocka_unit_test(test_read_errors),
		cmocka_unit_test(test_bad_boot_catalog),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_random_mutations),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
