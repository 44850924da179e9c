/* Helpers for the ISO 9660 tests; see isotest.h. */
#include "tests/unit/iso/isotest.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

char *isotest_tmpdir(const char *base)
{
	char *dir;

	if (base == NULL)
		base = getenv("TMPDIR");
	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (asprintf(&dir, "%s/pxecast-iso-XXXXXX", base) < 0)
		return NULL;
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return NULL;
	}
	return dir;
}

static int rmtree_cb(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	remove(path); /* best effort: a leftover temp file is no failure */
	return 0;
}

void isotest_rmtree(const char *dir)
{
	if (dir != NULL)
		nftw(dir, rmtree_cb, 16, FTW_DEPTH | FTW_PHYS);
}

bool isotest_have(const char *tool)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (path == NULL)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, tool) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* Copy fd to path, seeking over all-zero blocks. */
static int copy_sparse(int fd, const char *path)
{
	static uint8_t buf[1 << 20], zero[1 << 20];
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	off_t total = 0;
	int rc = 0;

	if (out < 0)
		return -1;
	for (;;) {
		size_t got = 0;
		ssize_t n;

		/* Fill whole blocks so zero runs are seen as such. */
		while (got < sizeof(buf)) {
			n = read(fd, buf + got, sizeof(buf) - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (got == 0)
			break;
		if (memcmp(buf, zero, got) != 0) {
			if (pwrite(out, buf, got, total) != (ssize_t)got) {
				rc = -1;
				break;
			}
		}
		total += (off_t)got;
	}
	if (ftruncate(out, total) != 0)
		rc = -1;
	close(out);
	return rc;
}

int isotest_run(const char *const argv[], const char *sparse_out)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2] = { -1, -1 };
	int status, rc = 0;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (sparse_out != NULL) {
		if (pipe(pipefd) != 0)
			return -1;
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
		posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	} else {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	}
	if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	if (sparse_out != NULL) {
		close(pipefd[1]);
		/* A larger pipe means fewer wakeups for GiB of output. */
		fcntl(pipefd[0], F_SETPIPE_SZ, 1 << 20);
		if (pid > 0)
			rc = copy_sparse(pipefd[0], sparse_out);
		close(pipefd[0]);
	}
	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (rc != 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int isotest_write_file(const char *path, size_t size, uint32_t seed)
{
	uint8_t buf[4096];
	uint32_t x = seed * 2654435761u + 1;
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	while (size > 0) {
		size_t n = size < sizeof(buf) ? size : sizeof(buf);

		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (uint8_t)x;
		}
		if (fwrite(buf, 1, n, f) != n) {
			fclose(f);
			return -1;
		}
		size -= n;
	}
	return fclose(f);
}

int isotest_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		buf[i] = path[i];
	}
	return 0;
}

char *isotest_join(const char *a, const char *b)
{
	char *s;

	return asprintf(&s, "%s/%s", a, b) < 0 ? NULL : s;
}

int isotest_sha256_path(const char *path, uint8_t md[32])
{
	static uint8_t buf[1 << 20];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int fd = open(path, O_RDONLY);
	ssize_t n;
	int rc = -1;

	if (c == NULL || fd < 0 || !EVP_DigestInit_ex(c, EVP_sha256(), NULL))
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(c, buf, (size_t)n);
	if (n == 0 && EVP_DigestFinal_ex(c, md, NULL))
		rc = 0;
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(c);
	return rc;
}

int isotest_sha256_entry(struct iso *iso, const struct iso_entry *e, uint8_t md[32])
{
	static uint8_t buf[(1 << 20) + 77];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint64_t off = 0;
	int rc = -1;

	if (c == NULL || !EVP_DigestInit_ex(c, EVP_sha256(), NULL))
		goto out;
	for (;;) {
		int64_t n = iso_read_file(iso, e, off, buf, sizeof(buf));

		if (n < 0)
			goto out;
		if (n == 0)
			break;
		EVP_DigestUpdate(c, buf, (size_t)n);
		off += (uint64_t)n;
	}
	if (off == e->size && EVP_DigestFinal_ex(c, md, NULL))
		rc = 0;
out:
	EVP_MD_CTX_free(c);
	return rc;
}

static uint8_t zeros[1 << 20];

/* Bytes from pos that are a hole in fd (0 when data starts at pos). */
static uint64_t hole_at(int fd, uint64_t pos, uint64_t max)
{
	off_t data = lseek(fd, (off_t)pos, SEEK_DATA);

	if (data < 0) /* ENXIO: only a hole up to the end */
		return max;
	return (uint64_t)data - pos < max ? (uint64_t)data - pos : max;
}

/* Bytes from pos that are data (at least 1 when not in a hole). */
static uint64_t data_at(int fd, uint64_t pos, uint64_t max)
{
	off_t hole = lseek(fd, (off_t)pos, SEEK_HOLE);

	if (hole < 0 || (uint64_t)hole <= pos)
		return max < 1 ? max : 1;
	return (uint64_t)hole - pos < max ? (uint64_t)hole - pos : max;
}

static void hash_zeros(EVP_MD_CTX *c, uint64_t n)
{
	while (n > 0) {
		size_t k = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);

		EVP_DigestUpdate(c, zeros, k);
		n -= k;
	}
}

int isotest_sha256_sparse_path(const char *path, uint8_t md[32])
{
	static uint8_t buf[1 << 20];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint64_t pos = 0, size, n;
	int rc = -1;

	if (c == NULL || fd < 0 || fstat(fd, &st) != 0 ||
	    !EVP_DigestInit_ex(c, EVP_sha256(), NULL))
		goto out;
	size = (uint64_t)st.st_size;
	while (pos < size) {
		n = hole_at(fd, pos, size - pos);
		hash_zeros(c, n);
		pos += n;
		if (pos == size)
			break;
		n = data_at(fd, pos, size - pos < sizeof(buf) ? size - pos : sizeof(buf));
		if (pread(fd, buf, (size_t)n, (off_t)pos) != (ssize_t)n)
			goto out;
		EVP_DigestUpdate(c, buf, (size_t)n);
		pos += n;
	}
	if (EVP_DigestFinal_ex(c, md, NULL))
		rc = 0;
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(c);
	return rc;
}

int isotest_sha256_sparse_entry(struct iso *iso, int fd, const struct iso_entry *e,
				uint8_t md[32])
{
	static uint8_t buf[1 << 20];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint64_t off = 0, img, run, n;
	int rc = -1;

	if (c == NULL || !EVP_DigestInit_ex(c, EVP_sha256(), NULL))
		goto out;
	while (off < e->size) {
		if (iso_map(e, off, &img, &run) != ISO_OK)
			goto out;
		n = hole_at(fd, img, run);
		if (n > 0) {
			hash_zeros(c, n);
			off += n;
			continue;
		}
		n = data_at(fd, img, run < sizeof(buf) ? run : sizeof(buf));
		if (iso_read_file(iso, e, off, buf, (size_t)n) != (int64_t)n)
			goto out;
		EVP_DigestUpdate(c, buf, (size_t)n);
		off += n;
	}
	if (EVP_DigestFinal_ex(c, md, NULL))
		rc = 0;
out:
	EVP_MD_CTX_free(c);
	return rc;
}

int isotest_mem_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct isotest_mem *m = ctx;

	if (off > m->len || len > m->len - off)
		return -1;
	memcpy(buf, m->buf + off, len);
	return 0;
}

int isotest_load(const char *path, struct isotest_mem *m)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	int rc = -1;

	m->buf = NULL;
	m->len = 0;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && (m->buf = malloc((size_t)st.st_size + 1)) != NULL &&
	    read(fd, m->buf, (size_t)st.st_size) == st.st_size) {
		m->len = (size_t)st.st_size;
		rc = 0;
	}
	close(fd);
	return rc;
}

/* nftw has no context argument: the tree being verified. */
static struct {
	struct iso *iso;
	const char *root;
	size_t root_len;
	long files;
	bool failed;
} verify;

static int verify_fail(const char *what, const char *path, int rc)
{
	fprintf(stderr, "verify: %s: %s (%s)\n", path, what, iso_strerror(rc));
	verify.failed = true;
	return 1;
}

static int verify_source(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	const char *rel = path + verify.root_len;
	struct iso_entry *e;
	uint8_t a[32], b[32];
	int rc;

	(void)flag;
	(void)f;
	while (*rel == '/')
		rel++;
	if (*rel == '\0')
		return 0;
	e = malloc(sizeof(*e));
	if (e == NULL)
		return verify_fail("out of memory", rel, 0);
	rc = iso_lookup(verify.iso, rel, strlen(rel), ISO_NOFOLLOW, e);
	if (rc != ISO_OK) {
		rc = verify_fail("lookup failed", rel, rc);
	} else if (S_ISDIR(st->st_mode)) {
		rc = e->type == ISO_TYPE_DIR ? 0 : verify_fail("not a directory", rel, 0);
	} else if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(path, target, sizeof(target));

		rc = e->type == ISO_TYPE_SYMLINK && n >= 0 && (size_t)n == e->target_len &&
		     memcmp(target, e->target, e->target_len) == 0 ? 0 :
		     verify_fail("symlink differs", rel, 0);
	} else if (e->type != ISO_TYPE_FILE || e->size != (uint64_t)st->st_size) {
		rc = verify_fail("not a file of the same size", rel, 0);
	} else if (isotest_sha256_path(path, a) != 0 ||
		   isotest_sha256_entry(verify.iso, e, b) != 0 ||
		   memcmp(a, b, sizeof(a)) != 0) {
		rc = verify_fail("sha256 differs", rel, 0);
	} else {
		verify.files++;
		rc = 0;
	}
	free(e);
	return rc;
}

static int verify_image(void *ctx, const char *path, size_t len, const struct iso_entry *e)
{
	const char *const *extra = ctx;
	struct stat st;
	char *full;
	int rc;

	(void)e;
	for (; extra && *extra; extra++)
		if (strlen(*extra) == len && memcmp(*extra, path, len) == 0)
			return 0;
	full = isotest_join(verify.root, path);
	rc = full != NULL && lstat(full, &st) == 0 ? 0 : verify_fail("not in the tree", path, 0);
	free(full);
	return rc;
}

long isotest_verify_tree(struct iso *iso, const char *root, const char *const *extra)
{
	int rc;

	verify.iso = iso;
	verify.root = root;
	verify.root_len = strlen(root);
	verify.files = 0;
	verify.failed = false;
	if (nftw(root, verify_source, 16, FTW_PHYS) != 0 || verify.failed)
		return -1;
	rc = iso_walk(iso, verify_image, (void *)extra);
	if (rc != ISO_OK) {
		if (!verify.failed)
			fprintf(stderr, "verify: walk: %s\n", iso_strerror(rc));
		return -1;
	}
	return verify.files;
}
