/* ISO 9660 reader against images built by xorriso and genisoimage from a
 * tree made here: every file read through the reader matches the tree by
 * sha256, under Rock Ridge, Joliet and plain names, with El Torito BIOS
 * and EFI images (also an EFI partition appended after the volume), deep
 * and relocated directories, 200-byte names,
 * symlinks, and a sparse file over 4 GiB stored in several extents.
 * Tests whose tool is missing are skipped (Debian: xorriso, genisoimage).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imager/iso9660/iso9660.h"
#include "tests/unit/iso/isotest.h"

enum tree_flags {
	TREE_LONG = 1 << 0,    /* 200-byte names: Rock Ridge only */
	TREE_LINKS = 1 << 1,   /* symlinks: Rock Ridge only */
};

#define LONG_NAME_LEN 200
#define BIG_DIR_FILES 300
#define BIOS_SIZE 5000
#define EFI_SIZE (300 * 1024 + 17)

static char *tmp;

static char *path_in(const char *dir, const char *rel)
{
	char *p = isotest_join(dir, rel);

	assert_non_null(p);
	return p;
}

static void put(const char *root, const char *rel, size_t size, uint32_t seed)
{
	char *p = path_in(root, rel);
	char *slash = strrchr(p, '/');

	*slash = '\0';
	assert_int_equal(isotest_mkdirs(p), 0);
	*slash = '/';
	assert_int_equal(isotest_write_file(p, size, seed), 0);
	free(p);
}

static void link_to(const char *root, const char *rel, const char *target)
{
	char *p = path_in(root, rel);

	assert_int_equal(symlink(target, p), 0);
	free(p);
}

/* The test tree: odd sizes around the sector size, a directory spanning
 * several sectors, ten levels of directories, mixed case and UTF-8. */
static char *make_tree(const char *name, unsigned flags)
{
	char *root = path_in(tmp, name);
	char rel[512];
	uint32_t seed = 1;

	put(root, "boot/isolinux.bin", BIOS_SIZE, seed++);
	put(root, "boot/grub/grub.cfg", 321, seed++);
	put(root, "efi/efiboot.img", EFI_SIZE, seed++);
	put(root, "empty", 0, seed++);
	put(root, "one", 1, seed++);
	put(root, "sizes/s2047", 2047, seed++);
	put(root, "sizes/s2048", 2048, seed++);
	put(root, "sizes/s2049", 2049, seed++);
	put(root, "sizes/s1m", (1 << 20) + 3, seed++);
	put(root, "Mixed/ReadMe.TXT", 100, seed++);
	put(root, "Mixed/caf\xc3\xa9 menu.txt", 55, seed++);
	put(root, "Mixed/\xe6\x97\xa5\xe6\x9c\xac.txt", 56, seed++);
	/* Joliet is UCS-2: xorriso writes "_" for what is beyond. */
	if (flags & TREE_LONG)
		put(root, "Mixed/smile-\xf0\x9f\x98\x80", 57, seed++);
	strcpy(rel, "deep");
	for (char c = 'a'; c <= 'j'; c++) {
		size_t n = strlen(rel);

		snprintf(rel + n, sizeof(rel) - n, "/%c", c);
		snprintf(rel + n + 2, sizeof(rel) - n - 2, "/f%c", c);
		put(root, rel, 10 + (size_t)(c - 'a'), seed++);
		rel[n + 2] = '\0';
	}
	/* More directories than the walk's first visited-set table. */
	for (int i = 0; i < 70; i++) {
		snprintf(rel, sizeof(rel), "dirs/d%02d/f", i);
		put(root, rel, (size_t)i, seed++);
	}
	for (int i = 0; i < BIG_DIR_FILES; i++) {
		snprintf(rel, sizeof(rel), "many/file-%04d.dat", i);
		put(root, rel, (size_t)i, seed++);
	}
	if (flags & TREE_LONG) {
		memset(rel, 'n', LONG_NAME_LEN);
		rel[LONG_NAME_LEN] = '\0';
		put(root, rel, 4000, seed++);
		memcpy(rel, "longdir/", 8);
		put(root, rel, 7, seed++);
	}
	if (flags & TREE_LINKS) {
		link_to(root, "Mixed/to-bios", "../boot/isolinux.bin");
		link_to(root, "grub-abs", "/boot/grub");
		link_to(root, "deep-link", "deep/a/b/c");
		link_to(root, "loop1", "loop2");
		link_to(root, "loop2", "loop1");
		link_to(root, "dangling", "nowhere/at/all");
		link_to(root, "dot-link", "./one");
		/* A target longer than one SL entry holds. */
		strcpy(rel, "deep");
		for (int i = 0; i < 60; i++)
			strcat(rel, "/a/..");
		strcat(rel, "/a/b/fb");
		link_to(root, "long-link", rel);
	}
	return root;
}

static struct iso *open_image(const char *path, int *fd)
{
	struct iso *iso;
	int rc;

	*fd = open(path, O_RDONLY);
	assert_true(*fd >= 0);
	rc = iso_open_fd(*fd, &iso);
	if (rc != ISO_OK)
		fprintf(stderr, "%s: %s\n", path, iso_strerror(rc));
	assert_int_equal(rc, ISO_OK);
	return iso;
}

static void close_image(struct iso *iso, int fd)
{
	iso_close(iso);
	close(fd);
}

static void sha_of_range(int fd, uint64_t off, uint64_t len, uint8_t md[32])
{
	char *p = path_in(tmp, "range.bin");
	uint8_t *buf = malloc(len ? len : 1);
	FILE *f;

	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	assert_int_equal(isotest_sha256_path(p, md), 0);
	unlink(p);
	free(p);
	free(buf);
}

static void check_boot(struct iso *iso, int fd, const char *root)
{
	struct iso_boot_entry b[4];
	uint8_t a[32], m[32];
	char *bios = path_in(root, "boot/isolinux.bin");
	char *efi = path_in(root, "efi/efiboot.img");
	size_t n;

	assert_int_equal(iso_boot_entries(iso, b, 4, &n), ISO_OK);
	assert_int_equal(n, 2);
	assert_int_equal(b[0].platform, ISO_BOOT_BIOS);
	assert_true(b[0].bootable);
	assert_int_equal(b[0].media, 0);
	assert_int_equal(b[0].sector_count, 4);
	/* Lengths come from the files at the boot images' offsets. */
	assert_int_equal(b[0].length, BIOS_SIZE);
	sha_of_range(fd, b[0].offset, b[0].length, m);
	assert_int_equal(isotest_sha256_path(bios, a), 0);
	assert_memory_equal(a, m, 32);

	assert_int_equal(b[1].platform, ISO_BOOT_EFI);
	assert_int_equal(b[1].length, EFI_SIZE);
	sha_of_range(fd, b[1].offset, b[1].length, m);
	assert_int_equal(isotest_sha256_path(efi, a), 0);
	assert_memory_equal(a, m, 32);
	free(bios);
	free(efi);
}

static void check_lookups(struct iso *iso)
{
	struct iso_entry *e = malloc(sizeof(*e));
	struct iso_dir d;
	int n = 0, rc;

	assert_non_null(e);
	assert_int_equal(iso_lookup(iso, "Mixed/to-bios", 13, 0, e), ISO_OK);
	assert_int_equal(e->type, ISO_TYPE_FILE);
	assert_int_equal(e->size, BIOS_SIZE);
	assert_int_equal(iso_lookup(iso, "Mixed/to-bios", 13, ISO_NOFOLLOW, e), ISO_OK);
	assert_int_equal(e->type, ISO_TYPE_SYMLINK);
	assert_string_equal(e->target, "../boot/isolinux.bin");
	assert_int_equal(iso_lookup(iso, "grub-abs/grub.cfg", 17, 0, e), ISO_OK);
	assert_int_equal(e->size, 321);
	assert_int_equal(iso_lookup(iso, "/deep-link/d/e/../e/./f/ff", 26, 0, e), ISO_OK);
	assert_int_equal(e->size, 15);
	assert_int_equal(iso_lookup(iso, "long-link", 9, 0, e), ISO_OK);
	assert_int_equal(e->size, 11);
	assert_int_equal(iso_lookup(iso, "dot-link", 8, 0, e), ISO_OK);
	assert_int_equal(e->size, 1);
	assert_int_equal(iso_lookup(iso, "loop1", 5, 0, e), ISO_ERR_SYMLINK_LOOP);
	assert_int_equal(iso_lookup(iso, "loop1", 5, ISO_NOFOLLOW, e), ISO_OK);
	assert_int_equal(iso_lookup(iso, "dangling", 8, 0, e), ISO_ERR_NOT_FOUND);
	assert_int_equal(iso_lookup(iso, "one/x", 5, 0, e), ISO_ERR_NOT_DIR);
	assert_int_equal(iso_lookup(iso, "one/", 4, 0, e), ISO_ERR_NOT_DIR);
	assert_int_equal(iso_lookup(iso, "grub-abs/", 9, ISO_NOFOLLOW, e), ISO_OK);
	assert_int_equal(e->type, ISO_TYPE_DIR);
	assert_int_equal(iso_lookup(iso, "deep//a///b/", 12, 0, e), ISO_OK);
	assert_string_equal(e->name, "b");
	assert_int_equal(iso_lookup(iso, "../../one", 9, 0, e), ISO_OK);
	assert_int_equal(iso_lookup(iso, "", 0, 0, e), ISO_OK);
	assert_int_equal(e->type, ISO_TYPE_DIR);
	/* Rock Ridge names are exact: no case folding. */
	assert_int_equal(iso_lookup(iso, "MIXED/README.TXT", 16, 0, e), ISO_ERR_NOT_FOUND);
	assert_int_equal(iso_lookup(iso, "one\0x", 5, 0, e), ISO_ERR_BAD_NAME);
	assert_int_equal(iso_read_file(iso, e, 0, &n, 1), ISO_ERR_NOT_FILE);

	assert_int_equal(iso_lookup(iso, "many", 4, 0, e), ISO_OK);
	assert_int_equal(iso_opendir(iso, e, &d), ISO_OK);
	while ((rc = iso_readdir(iso, &d, e)) == 1)
		n++;
	assert_int_equal(rc, 0);
	assert_int_equal(n, BIG_DIR_FILES);
	assert_int_equal(iso_opendir(iso, e, &d), ISO_ERR_NOT_DIR);
	free(e);
}

static void test_rock_ridge_el_torito(void **state)
{
	static const char *const extra[] = { "boot/boot.cat", NULL };
	char *root, *img;
	struct iso *iso;
	long files;
	int fd;

	(void)state;
	if (!isotest_have("xorriso"))
		skip();
	root = make_tree("rr", TREE_LONG | TREE_LINKS);
	img = path_in(tmp, "rr.iso");
	const char *argv[] = { "xorriso", "-as", "mkisofs", "-R", "-J", "-joliet-long",
		"-V", "PXECAST_TEST", "-c", "boot/boot.cat",
		"-b", "boot/isolinux.bin", "-no-emul-boot", "-boot-load-size", "4",
		"-eltorito-alt-boot", "-e", "efi/efiboot.img", "-no-emul-boot",
		"-o", img, root, NULL };
	assert_int_equal(isotest_run(argv, NULL), 0);

	iso = open_image(img, &fd);
	assert_int_equal(iso_name_set(iso), ISO_NAMES_ROCKRIDGE);
	assert_string_equal(iso_volume_id(iso), "PXECAST_TEST");
	files = isotest_verify_tree(iso, root, extra);
	assert_true(files > BIG_DIR_FILES);
	check_boot(iso, fd, root);
	check_lookups(iso);
	close_image(iso, fd);
	free(root);
	free(img);
}

static void test_joliet(void **state)
{
	char *root, *img;
	struct iso *iso;
	int fd;

	(void)state;
	if (!isotest_have("xorriso"))
		skip();
	root = make_tree("joliet", 0);
	img = path_in(tmp, "joliet.iso");
	const char *argv[] = { "xorriso", "-as", "mkisofs", "--norock", "-J",
		"-joliet-long", "-o", img, root, NULL };
	assert_int_equal(isotest_run(argv, NULL), 0);

	iso = open_image(img, &fd);
	assert_int_equal(iso_name_set(iso), ISO_NAMES_JOLIET);
	assert_true(isotest_verify_tree(iso, root, NULL) > BIG_DIR_FILES);
	close_image(iso, fd);
	free(root);
	free(img);
}

/* Plain ECMA-119 names are upper case with ";1": lookups drop the version
 * and fall back to a case-insensitive match. */
static void test_plain_names(void **state)
{
	static const struct { const char *path; size_t size; } files[] = {
		{ "boot/grub/grub.cfg", 321 },
		{ "boot/isolinux.bin", 5000 },
		{ "readme", 10 },
		{ "docs/install.txt", 3000 },
	};
	struct iso_entry *e = malloc(sizeof(*e));
	char *root, *img;
	struct iso *iso;
	uint8_t a[32], b[32];
	int fd;

	(void)state;
	assert_non_null(e);
	if (!isotest_have("xorriso")) {
		free(e);
		skip();
	}
	root = path_in(tmp, "plain");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		put(root, files[i].path, files[i].size, (uint32_t)i + 100);
	img = path_in(tmp, "plain.iso");
	const char *argv[] = { "xorriso", "-as", "mkisofs", "--norock", "-o", img,
		root, NULL };
	assert_int_equal(isotest_run(argv, NULL), 0);

	iso = open_image(img, &fd);
	assert_int_equal(iso_name_set(iso), ISO_NAMES_PLAIN);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *src = path_in(root, files[i].path);

		assert_int_equal(iso_lookup(iso, files[i].path, strlen(files[i].path), 0, e),
				 ISO_OK);
		assert_true(e->flags & ISO_ENTRY_PLAIN_NAME);
		assert_int_equal(e->size, files[i].size);
		assert_int_equal(isotest_sha256_path(src, a), 0);
		assert_int_equal(isotest_sha256_entry(iso, e, b), 0);
		assert_memory_equal(a, b, 32);
		free(src);
	}
	/* "README.;1" reads as "README"; the exact name matches too. */
	assert_int_equal(iso_lookup(iso, "README", 6, 0, e), ISO_OK);
	assert_string_equal(e->name, "README");
	assert_int_equal(iso_lookup(iso, "BOOT/GRUB/GRUB.CFG", 18, 0, e), ISO_OK);
	assert_string_equal(e->name, "GRUB.CFG");
	close_image(iso, fd);
	free(root);
	free(img);
	free(e);
}

/* genisoimage relocates directories deeper than eight levels into
 * rr_moved (Rock Ridge CL/PL/RE); the reader shows them in place. */
static void test_genisoimage_relocated(void **state)
{
	static const char *const extra[] = { "rr_moved", NULL };
	char *root, *img;
	struct iso *iso;
	int fd;

	(void)state;
	if (!isotest_have("genisoimage"))
		skip();
	root = make_tree("geniso", TREE_LONG | TREE_LINKS);
	img = path_in(tmp, "geniso.iso");
	const char *argv[] = { "genisoimage", "-R", "-J", "-joliet-long", "-o", img,
		root, NULL };
	assert_int_equal(isotest_run(argv, NULL), 0);

	iso = open_image(img, &fd);
	assert_int_equal(iso_name_set(iso), ISO_NAMES_ROCKRIDGE);
	assert_true(isotest_verify_tree(iso, root, extra) > BIG_DIR_FILES);
	close_image(iso, fd);
	free(root);
	free(img);
}

/* tmpfs when writable: its holes read as the zero page. */
static char *big_tmpdir(void)
{
	char *dir = NULL;

	if (access("/dev/shm", W_OK) == 0)
		dir = isotest_tmpdir("/dev/shm");
	return dir != NULL ? dir : isotest_tmpdir(tmp);
}

/* The layout of Ubuntu's images: the EFI image is a partition appended
 * after the ISO volume, named by the catalog only; its length is the
 * catalog's sector count. */
static void test_appended_efi_partition(void **state)
{
	char *root, *img, *part;
	struct iso_boot_entry b[4];
	struct iso *iso;
	uint8_t a[32], m[32];
	size_t n;
	int fd;

	(void)state;
	if (!isotest_have("xorriso"))
		skip();
	root = path_in(tmp, "appended");
	put(root, "boot/bios.bin", 2048, 5);
	part = path_in(tmp, "efipart.img");
	assert_int_equal(isotest_write_file(part, 64 * 1024, 6), 0);
	img = path_in(tmp, "appended.iso");
	const char *argv[] = { "xorriso", "-as", "mkisofs", "-R", "-b", "boot/bios.bin",
		"-no-emul-boot", "-append_partition", "2", "0xef", part,
		"-eltorito-alt-boot", "-e", "--interval:appended_partition_2:all::",
		"-no-emul-boot", "-o", img, root, NULL };
	assert_int_equal(isotest_run(argv, NULL), 0);

	iso = open_image(img, &fd);
	assert_int_equal(iso_boot_entries(iso, b, 4, &n), ISO_OK);
	assert_int_equal(n, 2);
	assert_int_equal(b[1].platform, ISO_BOOT_EFI);
	assert_int_equal(b[1].sector_count, 128);
	assert_int_equal(b[1].length, 64 * 1024);
	sha_of_range(fd, b[1].offset, b[1].length, m);
	assert_int_equal(isotest_sha256_path(part, a), 0);
	assert_memory_equal(a, m, 32);
	/* Asking for fewer entries than there are still counts them all. */
	assert_int_equal(iso_boot_entries(iso, b, 1, &n), ISO_OK);
	assert_int_equal(n, 2);
	close_image(iso, fd);
	free(root);
	free(part);
	free(img);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A sparse file of 4 GiB + 1 MiB: ISO level 3 stores it in extents of at
 * most 4 GiB - 2 KiB. The tree and the image live on tmpfs when there is
 * one (its holes read as the zero page) and xorriso's output is written
 * with holes, so the test costs streaming and hashing, not disk writes. */
#define BIG_SIZE (4294967296ull + 1048576)
static void test_multi_extent(void **state)
{
	static const uint64_t big = BIG_SIZE;
	static const uint64_t marks[] = { 0, 4294965248ull - 5, 4294967296ull - 3,
		BIG_SIZE - 7 };
	struct iso_entry *e = malloc(sizeof(*e));
	char *dir, *root, *img, *src;
	struct timespec t0;
	struct iso *iso;
	uint8_t a[32], b[32], buf[16], want[16];
	uint64_t img_off, run;
	char *src2;
	int fd, sfd;

	(void)state;
	assert_non_null(e);
	if (!isotest_have("xorriso")) {
		free(e);
		skip();
	}
	dir = big_tmpdir();
	assert_non_null(dir);
	root = path_in(dir, "tree");
	put(root, "small.txt", 6, 7);
	src = path_in(root, "huge.bin");
	sfd = open(src, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(sfd >= 0);
	assert_int_equal(ftruncate(sfd, (off_t)big), 0);
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		assert_int_equal(pwrite(sfd, "MARK-0123456789", 7, (off_t)marks[i]), 7);
	img = path_in(dir, "big.iso");
	const char *argv[] = { "xorriso", "-as", "mkisofs", "-iso-level", "3", "-R",
		"-J", "-o", "-", root, NULL };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(isotest_run(argv, img), 0);
	fprintf(stderr, "multi-extent: image streamed in %.1f s\n", seconds_since(&t0));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	iso = open_image(img, &fd);
	assert_int_equal(iso_lookup(iso, "huge.bin", 8, 0, e), ISO_OK);
	assert_int_equal(e->size, big);
	assert_int_equal(e->n_extents, 2);
	assert_int_equal(e->extents[0].length, 4294965248ull);
	/* The metadata path does not grow with the file. */
	assert_true(seconds_since(&t0) < 1.0);

	/* Reads straddling the extent boundary, and iso_map's view of it. */
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		assert_int_equal(iso_read_file(iso, e, marks[i], buf, 7), 7);
		assert_memory_equal(buf, "MARK-01", 7);
	}
	assert_int_equal(iso_map(e, 4294965248ull - 1, &img_off, &run), ISO_OK);
	assert_int_equal(run, 1);
	assert_int_equal(iso_map(e, 4294965248ull, &img_off, &run), ISO_OK);
	assert_int_equal(img_off, e->extents[1].offset);
	assert_int_equal(run, big - 4294965248ull);
	assert_int_equal(iso_map(e, big, &img_off, &run), ISO_ERR_INVALID);
	assert_int_equal(iso_read_file(iso, e, big - 3, buf, sizeof(buf)), 3);
	assert_int_equal(pread(sfd, want, 3, (off_t)(big - 3)), 3);
	assert_memory_equal(buf, want, 3);
	assert_int_equal(iso_read_file(iso, e, big, buf, sizeof(buf)), 0);

	/* sha256 of both sides, holes hashed as zeros without reading. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(isotest_sha256_sparse_path(src, a), 0);
	assert_int_equal(isotest_sha256_sparse_entry(iso, fd, e, b), 0);
	assert_memory_equal(a, b, 32);
	fprintf(stderr, "multi-extent: sha256 of 2 x %llu bytes in %.1f s\n",
		(unsigned long long)big, seconds_since(&t0));
	assert_int_equal(iso_lookup(iso, "small.txt", 9, 0, e), ISO_OK);
	assert_int_equal(isotest_sha256_entry(iso, e, b), 0);
	src2 = path_in(root, "small.txt");
	assert_int_equal(isotest_sha256_path(src2, a), 0);
	assert_memory_equal(a, b, 32);
	free(src2);
	close_image(iso, fd);
	close(sfd);
	isotest_rmtree(dir);
	free(dir);
	free(src);
	free(root);
	free(img);
	free(e);
}

static int setup(void **state)
{
	(void)state;
	tmp = isotest_tmpdir(NULL);
	return tmp == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	isotest_rmtree(tmp);
	free(tmp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rock_ridge_el_torito),
		cmocka_unit_test(test_joliet),
		cmocka_unit_test(test_plain_names),
		cmocka_unit_test(test_genisoimage_relocated),
		cmocka_unit_test(test_appended_efi_partition),
		cmocka_unit_test(test_multi_extent),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
