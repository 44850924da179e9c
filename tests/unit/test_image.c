/* ISO images served in place (imager/image.h): lookups under images/NAME/
 * stay inside the image, reads through extents match the tree, the
 * content store serves image files, digests match sha256 of the tree and
 * their sidecar round-trips, is refused when stale or malformed.
 * Images are built with xorriso (skipped when it is missing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "imager/image.h"
#include "imager/store.h"
#include "tests/unit/iso/isotest.h"

static char *tmp, *tree, *iso_path;

static const struct {
	const char *path;
	size_t size;
} files[] = {
	{ "images/pxeboot/vmlinuz", 3 * 1024 * 1024 + 5 },
	{ "images/pxeboot/initrd.img", 70000 },
	{ ".treeinfo", 120 },
	{ "repodata/repomd.xml", 2048 },
	{ "name with space%and\npercent", 7 },
	{ "empty", 0 },
};

static int setup(void **state)
{
	(void)state;
	if (!isotest_have("xorriso"))
		return 0;
	tmp = isotest_tmpdir(NULL);
	if (!tmp)
		return -1;
	tree = isotest_join(tmp, "tree");
	iso_path = isotest_join(tmp, "t.iso");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *p = isotest_join(tree, files[i].path), *slash = strrchr(p, '/');

		*slash = '\0';
		isotest_mkdirs(p);
		*slash = '/';
		if (isotest_write_file(p, files[i].size, (uint32_t)i + 1) < 0)
			return -1;
		free(p);
	}
	char *link = isotest_join(tree, "images/link");

	if (symlink("pxeboot/vmlinuz", link) < 0)
		return -1;
	free(link);
	const char *argv[] = { "xorriso", "-as", "mkisofs", "-R", "-J", "-o", iso_path, tree, NULL };

	return isotest_run(argv, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (tmp)
		isotest_rmtree(tmp);
	free(tmp);
	free(tree);
	free(iso_path);
	return 0;
}

#define NEED_ISO() do { if (!tmp) { skip(); } } while (0)

static struct image_set *open_set(const char *digests)
{
	char err[256] = "";
	struct image_set *set = image_set_new();

	assert_non_null(set);
	assert_int_equal(image_set_add(set, "alma9", iso_path, digests, err, sizeof(err)), 0);
	return set;
}

static void sha_of_tree(const char *rel, uint8_t md[32])
{
	char *p = isotest_join(tree, rel);

	assert_int_equal(isotest_sha256_path(p, md), 0);
	free(p);
}

static void test_names(void **state)
{
	char err[256];
	struct image_set *set = image_set_new();

	(void)state;
	assert_true(image_name_valid("alma-9.4_x86"));
	assert_false(image_name_valid(""));
	assert_false(image_name_valid(".."));
	assert_false(image_name_valid(".hidden"));
	assert_false(image_name_valid("a/b"));
	assert_false(image_name_valid("a b"));
	assert_false(image_name_valid("0123456789012345678901234567890123456789012345678901234567890123"));
	assert_int_equal(image_set_add(set, "x", "/nonexistent/x.iso", NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/x.iso"));
	/* A file that is not an ISO says so. */
	{
		char *dir = isotest_tmpdir(NULL), *p = isotest_join(dir, "zeros");

		assert_int_equal(isotest_write_file(p, 64 * 1024, 0), 0);
		assert_int_equal(image_set_add(set, "y", p, NULL, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "not an ISO 9660 image"));
		isotest_rmtree(dir);
		free(p);
		free(dir);
	}
	image_set_free(set);
}

static void test_lookup_reads_tree(void **state)
{
	struct image_set *set;
	struct image_file f;

	(void)state;
	NEED_ISO();
	set = open_set(NULL);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[512];
		uint8_t want[32], got[32];
		uint8_t *buf = malloc(files[i].size + 1);

		snprintf(path, sizeof(path), "images/alma9/%s", files[i].path);
		assert_int_equal(image_set_lookup(set, path, strlen(path), &f), 0);
		assert_int_equal(f.size, files[i].size);
		assert_int_equal(image_file_read(&f, buf, files[i].size, 0), 0);
		sha_of_tree(files[i].path, want);
		{
			char *p = isotest_join(tmp, "read.out");
			FILE *o = fopen(p, "wb");

			assert_int_equal(fwrite(buf, 1, files[i].size, o), files[i].size);
			fclose(o);
			assert_int_equal(isotest_sha256_path(p, got), 0);
			free(p);
		}
		assert_memory_equal(want, got, 32);
		free(buf);
	}
	/* Doubled slashes and a symlink resolve; the image itself is NAME.iso. */
	assert_int_equal(image_set_lookup(set, "images/alma9//images/link", strlen("images/alma9//images/link"), &f), 0);
	assert_int_equal(f.size, files[0].size);
	assert_int_equal(image_set_lookup(set, "images/alma9.iso", strlen("images/alma9.iso"), &f), 0);
	{
		struct stat sb;

		assert_int_equal(stat(iso_path, &sb), 0);
		assert_int_equal(f.size, (uint64_t)sb.st_size);
	}
	image_set_free(set);
}

static void test_lookup_refuses(void **state)
{
	struct image_set *set;
	struct image_file f;

	(void)state;
	NEED_ISO();
	set = open_set(NULL);
#define L(p) image_set_lookup(set, p, strlen(p), &f)
	assert_int_equal(L("images/alma9/repodata"), -EISDIR);
	assert_int_equal(L("images/alma9/repodata/"), -EISDIR);
	assert_int_equal(L("images/alma9/nope"), -ENOENT);
	assert_int_equal(L("images/alma9/.treeinfo/x"), -ENOTDIR);
	/* ".." stops at the image root: it never reaches the host tree. */
	assert_int_equal(L("images/alma9/../../../etc/passwd"), -ENOENT);
	assert_int_equal(L("images/alma9/../.treeinfo"), 0);
	assert_int_equal(image_set_lookup(set, "images/alma9/a\0b", 16, &f), -EINVAL);
	/* Not ours: served from the root as before. */
	assert_int_equal(L("images/other/x"), IMAGE_NOT_MINE);
	assert_int_equal(L("images/alma9x/x"), IMAGE_NOT_MINE);
	assert_int_equal(L("images/alma9"), IMAGE_NOT_MINE);
	assert_int_equal(L("boot/vmlinuz"), IMAGE_NOT_MINE);
	assert_int_equal(L("images/"), IMAGE_NOT_MINE);
#undef L
	image_set_free(set);
}

/* Runs merge adjacent extents; a gap ends a run. */
static void test_runs(void **state)
{
	struct image_file f = { .n_extents = 3 };
	uint64_t at;

	(void)state;
	f.extents[0] = (struct iso_extent){ 1000, 100 };
	f.extents[1] = (struct iso_extent){ 1100, 50 };  /* adjacent */
	f.extents[2] = (struct iso_extent){ 5000, 30 };  /* a gap */
	f.size = 180;
	assert_int_equal(image_file_run(&f, 0, &at), 150);
	assert_int_equal(at, 1000);
	assert_int_equal(image_file_run(&f, 120, &at), 30);
	assert_int_equal(at, 1120);
	assert_int_equal(image_file_run(&f, 151, &at), 29);
	assert_int_equal(at, 5001);
	assert_int_equal(image_file_run(&f, 180, &at), 0);
}

static void test_store_serves_images(void **state)
{
	struct image_set *set;
	struct store *st;
	struct store_object *obj, *again;
	struct store_chunk *pins[2];
	struct iovec iov[2];
	uint8_t want[32], got[32];

	(void)state;
	NEED_ISO();
	set = open_set(NULL);
	st = store_new(tmp, 8u << 20);
	assert_non_null(st);
	store_set_images(st, set);
	assert_int_equal(store_open(st, "/images/alma9/.treeinfo", strlen("/images/alma9/.treeinfo"), 0, &obj), STORE_OK);
	assert_int_equal(store_object_size(obj), 120);
	assert_int_equal(store_object_map(obj, 0, 120, iov, pins), 1);
	{
		char *p = isotest_join(tmp, "map.out");
		FILE *o = fopen(p, "wb");

		fwrite(iov[0].iov_base, 1, iov[0].iov_len, o);
		fclose(o);
		isotest_sha256_path(p, got);
		free(p);
	}
	store_chunk_put(pins[0]);
	sha_of_tree(".treeinfo", want);
	assert_memory_equal(want, got, 32);
	/* Two opens of one file share the object. */
	assert_int_equal(store_open(st, "images/alma9/.treeinfo", strlen("images/alma9/.treeinfo"), 0, &again), STORE_OK);
	assert_ptr_equal(obj, again);
	store_object_put(again);
	store_object_put(obj);
	assert_int_equal(store_open(st, "images\\alma9\\repodata", strlen("images\\alma9\\repodata"), STORE_BACKSLASH_IS_SLASH,
				    &obj), STORE_NOT_REGULAR);
	assert_int_equal(store_open(st, "images/alma9/missing", strlen("images/alma9/missing"), 0, &obj), STORE_NOT_FOUND);
	/* Outside the image, the root serves as before. */
	assert_int_equal(store_open(st, "t.iso", strlen("t.iso"), 0, &obj), STORE_OK);
	store_object_put(obj);
	/* The set may go (reload): an open object keeps reading. */
	assert_int_equal(store_open(st, "images/alma9/images/pxeboot/initrd.img", strlen("images/alma9/images/pxeboot/initrd.img"), 0, &obj),
			 STORE_OK);
	store_set_images(st, NULL);
	image_set_free(set);
	assert_int_equal(store_object_map(obj, 69990, 10, iov, pins), 1);
	store_chunk_put(pins[0]);
	store_object_put(obj);
	store_free(st);
}

static void test_digests_compute_and_sidecar(void **state)
{
	struct image_set *set;
	struct image_file f;
	struct image_digests *d, *back;
	struct iso *iso;
	char *sidecar, *text;
	size_t len;
	int fd;

	(void)state;
	NEED_ISO();
	fd = open(iso_path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(iso_open_fd(fd, &iso), ISO_OK);
	assert_int_equal(image_digests_compute(iso, fd, NULL, NULL, &d), 0);
	assert_int_equal(d->n, sizeof(files) / sizeof(files[0]));
	assert_true(d->has_image_digest);
	{
		uint8_t whole[32];

		assert_int_equal(isotest_sha256_path(iso_path, whole), 0);
		assert_memory_equal(whole, d->image_digest, 32);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		uint8_t want[32];
		const struct image_digest_entry *e;
		struct iso_entry ie;

		assert_int_equal(iso_lookup(iso, files[i].path, strlen(files[i].path), 0, &ie), 0);
		e = image_digests_find(d, files[i].path, ie.size, ie.mtime);
		assert_non_null(e);
		sha_of_tree(files[i].path, want);
		assert_memory_equal(e->digest, want, 32);
		/* A different size or mtime is another file. */
		assert_null(image_digests_find(d, files[i].path, ie.size + 1, ie.mtime));
		assert_null(image_digests_find(d, files[i].path, ie.size, ie.mtime + 1));
	}
	/* The sidecar round-trips, names with space, '%' and newline too. */
	text = image_digests_format(d, &len);
	assert_non_null(text);
	assert_int_equal(image_digests_parse(text, len, d->image_size, d->image_mtime_ns, &back), 0);
	assert_int_equal(back->n, d->n);
	for (size_t i = 0; i < d->n; i++) {
		assert_string_equal(back->entries[i].path, d->entries[i].path);
		assert_memory_equal(back->entries[i].digest, d->entries[i].digest, 32);
	}
	image_digests_free(back);
	/* For another image size or mtime it is stale. */
	assert_int_equal(image_digests_parse(text, len, d->image_size + 1, d->image_mtime_ns, &back),
			 -ESTALE);
	assert_int_equal(image_digests_parse(text, len, d->image_size, d->image_mtime_ns + 1, &back),
			 -ESTALE);
	free(text);

	/* Saved where the config says, loaded by the set: lookups carry it. */
	sidecar = isotest_join(tmp, "alma9.sha256");
	assert_int_equal(image_digests_save(d, sidecar), 0);
	set = open_set(sidecar);
	assert_int_equal(image_set_lookup(set, "images/alma9/.treeinfo", strlen("images/alma9/.treeinfo"), &f), 0);
	assert_true(f.has_digest);
	assert_memory_equal(f.digest, image_digests_find(d, ".treeinfo", f.size, f.mtime)->digest,
			    32);
	assert_int_equal(image_set_lookup(set, "images/alma9.iso", strlen("images/alma9.iso"), &f), 0);
	assert_true(f.has_digest);
	assert_memory_equal(f.digest, d->image_digest, 32);
	image_set_free(set);

	/* Touch the image: the sidecar no longer applies. */
	{
		struct timeval tv[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
		struct image_digests *none = NULL;
		struct stat sb;

		assert_int_equal(stat(iso_path, &sb), 0);
		assert_int_equal(utimes(iso_path, tv), 0);
		assert_int_equal(image_digests_load(sidecar, fd, &none), -ESTALE);
		assert_null(none);
		set = open_set(sidecar);
		assert_int_equal(image_set_lookup(set, "images/alma9/.treeinfo", strlen("images/alma9/.treeinfo"), &f), 0);
		assert_false(f.has_digest);
		image_set_free(set);
		tv[0].tv_sec = tv[1].tv_sec = sb.st_mtim.tv_sec;
		tv[0].tv_usec = tv[1].tv_usec = sb.st_mtim.tv_nsec / 1000;
		utimes(iso_path, tv);
	}
	free(sidecar);
	image_digests_free(d);
	iso_close(iso);
	close(fd);
}

/* The background thread writes the default sidecar (PATH.sha256). */
static void test_digest_thread(void **state)
{
	struct image_set *set;
	struct image_file f;
	char *sidecar;

	(void)state;
	NEED_ISO();
	sidecar = isotest_join(tmp, "t.iso.sha256");
	unlink(sidecar);
	set = open_set(NULL);
	assert_int_equal(image_set_start_digests(set), 0);
	for (int i = 0; i < 500; i++) { /* bounded wait for the thread */
		assert_int_equal(image_set_lookup(set, "images/alma9/.treeinfo", strlen("images/alma9/.treeinfo"), &f), 0);
		if (f.has_digest)
			break;
		usleep(10000);
	}
	assert_true(f.has_digest);
	image_set_free(set);
	assert_int_equal(access(sidecar, R_OK), 0);
	set = open_set(NULL); /* loaded from the sidecar, no thread needed */
	assert_int_equal(image_set_lookup(set, "images/alma9/.treeinfo", strlen("images/alma9/.treeinfo"), &f), 0);
	assert_true(f.has_digest);
	image_set_free(set);
	free(sidecar);
}

static void test_sidecar_malformed(void **state)
{
	static const char head[] = "# pxecast image digests v1\nimage-size 10\nimage-mtime-ns 1000000000\n";
	static const char *const bad[] = {
		"",
		"# pxecast image digests v2\nimage-size 10\nimage-mtime-ns 1000000000\n",
		"# pxecast image digests v1\nimage-size 10\n",                    /* no mtime */
		"# pxecast image digests v1\nimage-mtime-ns 1000000000\n",        /* no size */
		"# pxecast image digests v1\nimage-size 10\nimage-mtime-ns 1000000000", /* cut */
		"# pxecast image digests v1\nimage-size -10\nimage-mtime-ns 1000000000\n",
		"# pxecast image digests v1\nimage-size 99999999999999999999\nimage-mtime-ns 1000000000\n",
		"# pxecast image digests v1\nimage-size 10\nimage-mtime-ns 1000000000\nbogus 1\n",
		"# pxecast image digests v1\nimage-size 10\nimage-mtime-ns 1000000000\n\n",
	};
	static const char *const bad_files[] = {
		"file 00 1 1 a\n",                                           /* short digest */
		"file zz00000000000000000000000000000000000000000000000000000000000000 1 1 a\n",
		"file 0000000000000000000000000000000000000000000000000000000000000000 x 1 a\n",
		"file 0000000000000000000000000000000000000000000000000000000000000000 1 1\n",
		"file 0000000000000000000000000000000000000000000000000000000000000000 1 1 a b\n",
		"file 0000000000000000000000000000000000000000000000000000000000000000 1 1 a%0\n",
		"file 0000000000000000000000000000000000000000000000000000000000000000 1 1 a%00b\n",
		"file 0000000000000000000000000000000000000000000000000000000000000000 1 1 /abs\n",
		"file 0000000000000000000000000000000000000000000000000000000000000000 1 1 a\n"
		"file 1111111111111111111111111111111111111111111111111111111111111111 1 1 a\n",
	};
	struct image_digests *d;
	char buf[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = (void *)1;
		assert_int_equal(image_digests_parse(bad[i], strlen(bad[i]), 10, 1000000000, &d),
				 -EINVAL);
		assert_null(d);
	}
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s", head, bad_files[i]);
		assert_int_equal(image_digests_parse(buf, strlen(buf), 10, 1000000000, &d), -EINVAL);
	}
	/* NUL inside a line. */
	snprintf(buf, sizeof(buf), "%sfile 0000000000000000000000000000000000000000000000000000000000000000 1 1 ab\n", head);
	buf[strlen(buf) - 2] = '\0';
	assert_int_equal(image_digests_parse(buf, sizeof(head) - 1 + 72, 10, 1000000000, &d), -EINVAL);
	/* The smallest valid one, with an escaped name and a negative mtime. */
	snprintf(buf, sizeof(buf), "%sfile 00000000000000000000000000000000000000000000000000000000000000ff 5 -3 a%%20b%%0Ac\n", head);
	assert_int_equal(image_digests_parse(buf, strlen(buf), 10, 1000000000, &d), 0);
	assert_int_equal(d->n, 1);
	assert_string_equal(d->entries[0].path, "a b\nc");
	assert_int_equal(d->entries[0].mtime, -3);
	assert_int_equal(d->entries[0].digest[31], 0xff);
	assert_non_null(image_digests_find(d, "a b\nc", 5, -3));
	image_digests_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_runs),
		cmocka_unit_test(test_sidecar_malformed),
		cmocka_unit_test(test_lookup_reads_tree),
		cmocka_unit_test(test_lookup_refuses),
		cmocka_unit_test(test_store_serves_images),
		cmocka_unit_test(test_digests_compute_and_sidecar),
		cmocka_unit_test(test_digest_thread),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
