/* libFuzzer: distribution detection over a fake tree made from the input.
 * Byte 0 says which marker files exist (bit per file below); the rest,
 * split at the first NUL, is .treeinfo and .disk/info. Whatever the input,
 * detected paths are relative paths inside the image, every string is
 * printable ASCII, and the kernel arguments fit or are refused. Seeds:
 * fuzz/corpus/distro/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imager/distro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const markers[] = {
	"images/pxeboot/vmlinuz", "images/pxeboot/initrd.img", "images/pxeboot/rootfs.img",
	"install.amd/vmlinuz",    "install.amd/initrd.gz",     "casper/vmlinuz",
	"casper/initrd",          "boot/full.cz",
};

struct fuzz_tree {
	uint8_t present;
	const char *treeinfo, *info;
	size_t treeinfo_len, info_len;
};

static bool fuzz_is_file(void *ctx, const char *path)
{
	const struct fuzz_tree *t = ctx;

	if (!strcmp(path, "boot/vmlinuz"))
		return t->present & 0x80;
	for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
		if (!strcmp(path, markers[i]))
			return t->present & (1u << i);
	/* Whatever .treeinfo names exists too, so its paths get used. */
	return t->treeinfo_len > 0 && strlen(path) < 200 && strstr(path, "x") != NULL;
}

static long fuzz_read(void *ctx, const char *path, char *buf, size_t cap)
{
	const struct fuzz_tree *t = ctx;
	const char *src = NULL;
	size_t n = 0;

	if (!strcmp(path, ".treeinfo"))
		src = t->treeinfo, n = t->treeinfo_len;
	else if (!strcmp(path, ".disk/info"))
		src = t->info, n = t->info_len;
	if (!src)
		return -1;
	n = n < cap ? n : cap;
	memcpy(buf, src, n);
	return (long)n;
}

static void check_text(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			abort();
}

static void check_path(const char *p, bool may_be_empty)
{
	check_text(p, DISTRO_PATH_MAX);
	if ((!*p && !may_be_empty) || *p == '/' || strstr(p, "..") || strchr(p, ' '))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_tree t = { 0 };
	struct distro_fs fs = { &t, fuzz_is_file, fuzz_read, NULL };
	struct distro_info d;
	const uint8_t *nul;
	char append[1024];

	if (size < 1)
		return 0;
	t.present = data[0];
	data++;
	size--;
	nul = memchr(data, 0, size);
	t.treeinfo = (const char *)data;
	t.treeinfo_len = nul ? (size_t)(nul - data) : size;
	t.info = nul ? (const char *)nul + 1 : "";
	t.info_len = nul ? size - t.treeinfo_len - 1 : 0;
	if (distro_detect(&fs, &d) != 0)
		return 0;
	check_text(d.name, sizeof(d.name));
	check_text(d.version, sizeof(d.version));
	check_text(d.slug, sizeof(d.slug));
	check_path(d.kernel, false);
	check_path(d.initrd, false);
	check_path(d.rootfs, true);
	if (distro_append(&d, d.slug, append, sizeof(append)) < 0 &&
	    distro_append(&d, "x", append, sizeof(append)) < 0)
		abort();
	return 0;
}
