/* Content store: path resolution never leaves the root, objects are
 * shared, chunks are read once, renamed files keep serving the old inode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "imager/store.h"

static char base[64];   /* holds root/ and outside/ */
static char root[96];

static void write_file(const char *rel, const void *data, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static int setup(void **state)
{
	char path[256];
	char *big = malloc(3 * STORE_CHUNK_SIZE + 100);

	(void)state;
	strcpy(base, "/tmp/pxecast-store-XXXXXX");
	if (!mkdtemp(base) || !big)
		return -1;
	snprintf(root, sizeof(root), "%s/root", base);
	mkdir(root, 0755);
	snprintf(path, sizeof(path), "%s/root/sub", base);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/outside", base);
	mkdir(path, 0755);
	write_file("outside/secret", "secret", 6);
	write_file("root/hello.txt", "hello\nworld\r\n", 13);
	write_file("root/sub/f", "sub", 3);
	for (size_t i = 0; i < 3 * STORE_CHUNK_SIZE + 100; i++)
		big[i] = (char)(i * 7 + i / 4096);
	write_file("root/big", big, 3 * STORE_CHUNK_SIZE + 100);
	free(big);
	snprintf(path, sizeof(path), "%s/root/escape", base);
	if (symlink("../outside/secret", path) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/root/abs", base);
	if (symlink("/etc/passwd", path) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/root/inside", base);
	if (symlink("sub/f", path) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/root/fifo", base);
	if (mkfifo(path, 0644) < 0)
		return -1;
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/root/sock", base);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			return -1;
		close(fd);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static enum store_status try_open(struct store *st, const char *name, unsigned flags)
{
	struct store_object *obj = NULL;
	enum store_status s = store_open(st, name, strlen(name), flags, &obj);

	store_object_put(obj);
	return s;
}

static void test_resolution(void **state)
{
	struct store *st = store_new(root, 1 << 20);
	static const struct {
		const char *name;
		unsigned flags;
		enum store_status want;
	} cases[] = {
		{ "hello.txt", 0, STORE_OK },
		{ "/hello.txt", 0, STORE_OK },
		{ "///sub/f", 0, STORE_OK },
		{ "sub/../hello.txt", 0, STORE_OK },
		{ "sub\\f", STORE_BACKSLASH_IS_SLASH, STORE_OK },
		{ "\\sub\\f", STORE_BACKSLASH_IS_SLASH, STORE_OK },
		{ "inside", 0, STORE_OK },
		{ "missing", 0, STORE_NOT_FOUND },
		{ "hello.txt/x", 0, STORE_NOT_FOUND },
		{ "..", 0, STORE_DENIED },
		{ "../outside/secret", 0, STORE_DENIED },
		{ "/../outside/secret", 0, STORE_DENIED },
		{ "sub/../../outside/secret", 0, STORE_DENIED },
		{ "..\\outside\\secret", STORE_BACKSLASH_IS_SLASH, STORE_DENIED },
		{ "escape", 0, STORE_DENIED },
		{ "abs", 0, STORE_DENIED },
		{ "sub", 0, STORE_NOT_REGULAR },
		{ "fifo", 0, STORE_NOT_REGULAR },
		{ "sock", 0, STORE_NOT_REGULAR },
		{ "", 0, STORE_BAD_NAME },
		{ "/", 0, STORE_BAD_NAME },
	};

	(void)state;
	assert_non_null(st);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum store_status s = try_open(st, cases[i].name, cases[i].flags);

		if (s != cases[i].want)
			fail_msg("%s: got %s, want %s", cases[i].name, store_strerror(s),
				 store_strerror(cases[i].want));
	}
	/* A NUL inside the wire length is refused, not truncated. */
	{
		struct store_object *obj = NULL;

		assert_int_equal(store_open(st, "hello.txt\0x", 11, 0, &obj), STORE_BAD_NAME);
	}
	/* Absolute paths are read relative to the root. */
	assert_int_equal(try_open(st, "/etc/passwd", 0), STORE_NOT_FOUND);
	store_free(st);
}

static void test_shared_objects_and_chunks(void **state)
{
	struct store *st = store_new(root, 8u << 20);
	struct store_object *a, *b;
	struct store_stats ss;
	struct iovec iov[2];
	struct store_chunk *pins[2], *pins2[2];
	int n;

	(void)state;
	assert_int_equal(store_open(st, "big", 3, 0, &a), STORE_OK);
	assert_int_equal(store_open(st, "/big", 4, 0, &b), STORE_OK);
	assert_ptr_equal(a, b); /* one object for both clients */
	assert_int_equal(store_object_size(a), 3 * STORE_CHUNK_SIZE + 100);
	/* A block straddling a chunk boundary maps to two iovecs. */
	n = store_object_map(a, STORE_CHUNK_SIZE - 10, 30, iov, pins);
	assert_int_equal(n, 2);
	assert_int_equal(iov[0].iov_len, 10);
	assert_int_equal(iov[1].iov_len, 20);
	for (size_t i = 0; i < 30; i++) {
		size_t off = STORE_CHUNK_SIZE - 10 + i;
		uint8_t want = (uint8_t)(off * 7 + off / 4096);
		uint8_t got = i < 10 ? ((uint8_t *)iov[0].iov_base)[i]
				     : ((uint8_t *)iov[1].iov_base)[i - 10];

		assert_int_equal(got, want);
	}
	n = store_object_map(b, STORE_CHUNK_SIZE + 5, 10, iov, pins2);
	assert_int_equal(n, 1);
	store_get_stats(st, &ss);
	assert_int_equal(ss.chunk_loads, 2); /* the second client read nothing */
	assert_int_equal(ss.chunk_hits, 1);
	/* Past the end is refused. */
	{
		struct store_chunk *none[2];

		assert_true(store_object_map(a, 3 * STORE_CHUNK_SIZE + 90, 11, iov, none) < 0);
		assert_null(none[0]);
	}
	store_chunk_put(pins[0]);
	store_chunk_put(pins[1]);
	store_chunk_put(pins2[0]);
	store_object_put(a);
	store_object_put(b);
	store_free(st);
}

static void test_cache_evicts_unpinned(void **state)
{
	struct store *st = store_new(root, STORE_CHUNK_SIZE);
	struct store_object *a;
	struct store_stats ss;
	struct iovec iov[2];
	struct store_chunk *pins[2];

	(void)state;
	assert_int_equal(store_open(st, "big", 3, 0, &a), STORE_OK);
	for (int round = 0; round < 2; round++)
		for (uint64_t c = 0; c < 4; c++) {
			assert_int_equal(store_object_map(a, c * STORE_CHUNK_SIZE, 1, iov, pins), 1);
			store_chunk_put(pins[0]);
			store_get_stats(st, &ss);
			assert_true(ss.cached_bytes <= STORE_CHUNK_SIZE);
		}
	store_get_stats(st, &ss);
	assert_int_equal(ss.chunk_loads, 8);
	store_object_put(a);
	store_free(st);
}

static void test_rename_keeps_old_inode(void **state)
{
	struct store *st = store_new(root, 8u << 20);
	struct store_object *old, *new;
	struct iovec iov[2];
	struct store_chunk *pins[2];
	char from[256], to[256];

	(void)state;
	write_file("root/kernel", "old-kernel", 10);
	assert_int_equal(store_open(st, "kernel", 6, 0, &old), STORE_OK);
	write_file("root/kernel.new", "new-kernel!", 11);
	snprintf(from, sizeof(from), "%s/root/kernel.new", base);
	snprintf(to, sizeof(to), "%s/root/kernel", base);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(store_object_map(old, 0, 10, iov, pins), 1);
	assert_memory_equal(iov[0].iov_base, "old-kernel", 10);
	store_chunk_put(pins[0]);
	assert_int_equal(store_open(st, "kernel", 6, 0, &new), STORE_OK);
	assert_ptr_not_equal(old, new);
	assert_int_equal(store_object_size(new), 11);
	store_object_put(old);
	store_object_put(new);
	store_free(st);
}

static void test_netascii(void **state)
{
	struct store *st = store_new(root, 8u << 20);
	struct store_object *raw, *conv;
	struct iovec iov[2];
	struct store_chunk *pins[2];

	(void)state;
	assert_int_equal(store_open(st, "hello.txt", 9, 0, &raw), STORE_OK);
	assert_int_equal(store_open_netascii(st, raw, &conv), STORE_OK);
	assert_int_equal(store_object_size(conv), 16);
	assert_int_equal(store_object_map(conv, 0, 16, iov, pins), 1);
	assert_memory_equal(iov[0].iov_base, "hello\r\nworld\r\0\r\n", 16);
	store_chunk_put(pins[0]);
	store_object_put(conv);
	store_object_put(raw);
	store_free(st);
}

static void test_memory_object(void **state)
{
	struct store *st = store_new(root, 8u << 20);
	struct store_object *a, *b;
	struct iovec iov[2];
	struct store_chunk *pins[2];
	char *one = strdup("DEFAULT local\n"), *two = strdup("other\n");

	(void)state;
	assert_int_equal(store_open_memory(st, one, 14, 1700000000, &a), STORE_OK);
	assert_int_equal(store_open_memory(st, two, 6, 1700000000, &b), STORE_OK);
	/* each rendering is its own object */
	assert_int_equal(store_object_size(a), 14);
	assert_int_equal(store_object_size(b), 6);
	assert_int_equal(store_object_mtime(a), 1700000000);
	assert_int_equal(store_object_map(a, 8, 6, iov, pins), 1);
	assert_memory_equal(iov[0].iov_base, "local\n", 6);
	store_chunk_put(pins[0]);
	assert_true(store_object_map(b, 0, 7, iov, pins) < 0);
	store_object_put(a);
	store_object_put(b);
	store_free(st);
}

static void test_upload_never_overwrites(void **state)
{
	struct store_upload up;
	int rootfd = open(root, O_PATH | O_DIRECTORY);
	char path[256];
	struct stat sb;

	(void)state;
	assert_int_equal(store_upload_begin(rootfd, "hello.txt", 9, 0, &up), STORE_EXISTS);
	assert_int_equal(store_upload_begin(rootfd, "../up", 5, 0, &up), STORE_DENIED);
	assert_int_equal(store_upload_begin(rootfd, "sub/..", 6, 0, &up), STORE_BAD_NAME);
	assert_int_equal(store_upload_begin(rootfd, "../outside/x", 12, 0, &up), STORE_DENIED);
	assert_int_equal(store_upload_begin(rootfd, "sub/new", 7, 0, &up), STORE_OK);
	assert_int_equal(write(up.fd, "data", 4), 4);
	snprintf(path, sizeof(path), "%s/sub/new", root);
	assert_int_not_equal(stat(path, &sb), 0); /* nothing under the final name yet */
	/* Someone else creates the name meanwhile: commit refuses. */
	write_file("root/sub/new", "other", 5);
	assert_int_equal(store_upload_commit(&up), STORE_EXISTS);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 5);
	unlink(path);
	assert_int_equal(store_upload_begin(rootfd, "sub/new", 7, 0, &up), STORE_OK);
	assert_int_equal(write(up.fd, "data", 4), 4);
	assert_int_equal(store_upload_commit(&up), STORE_OK);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 4);
	close(rootfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolution),
		cmocka_unit_test(test_shared_objects_and_chunks),
		cmocka_unit_test(test_cache_evicts_unpinned),
		cmocka_unit_test(test_rename_keeps_old_inode),
		cmocka_unit_test(test_netascii),
		cmocka_unit_test(test_memory_object),
		cmocka_unit_test(test_upload_never_overwrites),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
