/* pxecast import ISO [--name NAME] [--profile-out FILE] [--digests FILE]
 *
 * Recognises the distribution on an installation ISO (imager/distro.h),
 * hashes every file once (the sidecar the daemon then uses for ETags and
 * multicast checks), and writes the config that serves it: an [image NAME]
 * section and a [profile NAME] whose kernel, initrd and kernel arguments
 * point the installer at this appliance. Nothing is mounted or copied.
 */
#include "appliance/import.h"

#include "imager/distro.h"
#include "imager/image.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char import_usage[] =
	"usage: pxecast import ISO [--name NAME] [--profile-out FILE] [--digests FILE]\n";

/* ---- the ISO as a distro_fs ---- */

static bool iso_is_file(void *ctx, const char *path)
{
	struct iso_entry e;

	return iso_lookup(ctx, path, strlen(path), 0, &e) == ISO_OK && e.type == ISO_TYPE_FILE;
}

static long iso_read_small(void *ctx, const char *path, char *buf, size_t cap)
{
	struct iso_entry e;
	int64_t n;

	if (iso_lookup(ctx, path, strlen(path), 0, &e) != ISO_OK || e.type != ISO_TYPE_FILE)
		return -1;
	n = iso_read_file(ctx, &e, 0, buf, cap);
	return n < 0 ? -1 : (long)n;
}

/* ---- progress ---- */

struct progress {
	bool tty;
	double start, last;
	int last_decile;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void human(char *out, size_t len, double bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

/* A bar redrawn in place on a terminal (at most 10 times a second); a
 * plain line every 10 % otherwise, so logs of a scripted import stay
 * readable. */
static int on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	double t = now_s(), rate;
	int pct = total ? (int)(done * 100 / total) : 100;
	char d[32], tot[32], r[32];

	if (p->tty && t - p->last < 0.1 && done < total)
		return 0;
	if (!p->tty && pct / 10 == p->last_decile && done < total)
		return 0;
	p->last = t;
	p->last_decile = pct / 10;
	rate = t > p->start ? (double)done / (t - p->start) : 0;
	human(d, sizeof(d), (double)done);
	human(tot, sizeof(tot), (double)total);
	human(r, sizeof(r), rate);
	if (p->tty) {
		char bar[31];
		int fill = pct * 30 / 100;

		memset(bar, '#', (size_t)fill);
		memset(bar + fill, '.', (size_t)(30 - fill));
		bar[30] = '\0';
		fprintf(stderr, "\rhashing [%s] %3d%% %s / %s  %s/s ", bar, pct, d, tot, r);
		if (done >= total)
			fputc('\n', stderr);
	} else {
		fprintf(stderr, "hashing: %d%% (%s of %s, %s/s)\n", pct, d, tot, r);
	}
	return 0;
}

/* ---- the config snippet ---- */

static int write_snippet(FILE *f, const char *iso_path, const char *digests_path,
			 bool digests_default, const char *name, const struct distro_info *d,
			 const char *append)
{
	fprintf(f, "# pxecast import: %s %s (%s) from %s\n", d->name,
		d->version[0] ? d->version : "(version unknown)", distro_family_name(d->family),
		iso_path);
	fprintf(f, "[image %s]\npath = %s\n", name, iso_path);
	if (!digests_default)
		fprintf(f, "digests = %s\n", digests_path);
	fprintf(f, "\n[profile %s]\n", name);
	fprintf(f, "kernel = images/%s/%s\n", name, d->kernel);
	fprintf(f, "initrd = images/%s/%s\n", name, d->initrd);
	fprintf(f, "append = %s\n", append);
	if (d->install_template)
		fprintf(f, "install-template = %s\n", d->install_template);
	if (d->family == DISTRO_RHEL)
		fprintf(f, "var.repo = http://${server}/images/%s/\n", name);
	return ferror(f) ? -1 : 0;
}

static void print_size(const struct image_digests *dg, const char *label, const char *path)
{
	const struct image_digest_entry *e = NULL;
	char hex[IMAGE_DIGEST_HEX + 1], sz[32];

	for (size_t i = 0; dg && i < dg->n; i++)
		if (!strcmp(dg->entries[i].path, path))
			e = &dg->entries[i];
	if (!e) {
		fprintf(stderr, "  %-8s %s\n", label, path);
		return;
	}
	image_digest_hex(e->digest, hex);
	human(sz, sizeof(sz), (double)e->size);
	fprintf(stderr, "  %-8s %s (%s, sha256 %.16s...)\n", label, path, sz, hex);
}

int import_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "profile-out", required_argument, NULL, 'o' },
		{ "digests", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *out_path = NULL, *digests_arg = NULL;
	char iso_path[PATH_MAX], digests_path[PATH_MAX + 8], append[1024], total_s[32];
	struct progress prog = { 0 };
	struct image_digests *dg = NULL;
	struct distro_info d;
	struct distro_fs fs;
	struct iso *iso = NULL;
	struct stat sb;
	double took;
	int o, fd, rc, status = 1;
	FILE *out;

	optind = 1;
	while ((o = getopt_long(argc, argv, "n:o:d:", opts, NULL)) != -1) {
		switch (o) {
		case 'n': name = optarg; break;
		case 'o': out_path = optarg; break;
		case 'd': digests_arg = optarg; break;
		default: fputs(import_usage, stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(import_usage, stderr);
		return 2;
	}
	if (!realpath(argv[optind], iso_path)) {
		fprintf(stderr, "pxecast: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	fd = open(iso_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		fprintf(stderr, "pxecast: %s: %s\n", iso_path,
			fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return 1;
	}
	rc = iso_open_fd(fd, &iso);
	if (rc != ISO_OK) {
		fprintf(stderr, "pxecast: %s: %s\n", iso_path, iso_strerror(rc));
		goto out;
	}
	fs = (struct distro_fs){ iso, iso_is_file, iso_read_small, iso_volume_id(iso) };
	if (distro_detect(&fs, &d) < 0) {
		fprintf(stderr, "pxecast: %s (volume \"%s\"): not an installation image pxecast "
			"recognises.\n  Looked for: %s.\n", iso_path, iso_volume_id(iso),
			distro_looked_for);
		goto out;
	}
	if (!name)
		name = d.slug;
	if (!image_name_valid(name)) {
		fprintf(stderr, "pxecast: --name %s: letters, digits, '.', '-' or '_' (at most %d)\n",
			name, IMAGE_NAME_MAX);
		goto out;
	}
	if (distro_append(&d, name, append, sizeof(append)) < 0) {
		fprintf(stderr, "pxecast: kernel arguments too long\n");
		goto out;
	}
	if (digests_arg && digests_arg[0] != '/') {
		fprintf(stderr, "pxecast: --digests %s: expected an absolute path\n", digests_arg);
		goto out;
	}
	snprintf(digests_path, sizeof(digests_path), "%s%s", digests_arg ? digests_arg : iso_path,
		 digests_arg ? "" : ".sha256");
	fprintf(stderr, "%s: %s %s (%s)\n", iso_path, d.name, d.version,
		distro_family_name(d.family));

	prog.tty = isatty(STDERR_FILENO);
	prog.start = now_s();
	prog.last_decile = -1;
	rc = image_digests_compute(iso, fd, on_progress, &prog, &dg);
	took = now_s() - prog.start;
	if (rc != 0) {
		fprintf(stderr, "\npxecast: %s: hashing failed: %s\n", iso_path, iso_strerror(rc));
		goto out;
	}
	rc = image_digests_save(dg, digests_path);
	if (rc < 0)
		fprintf(stderr, "pxecast: warning: cannot write %s: %s (the daemon will hash the "
			"image again at start)\n", digests_path, strerror(-rc));

	out = out_path ? fopen(out_path, "w") : stdout;
	if (!out) {
		fprintf(stderr, "pxecast: %s: %s\n", out_path, strerror(errno));
		goto out;
	}
	rc = write_snippet(out, iso_path, digests_path, !digests_arg, name, &d, append);
	if ((out_path ? fclose(out) : fflush(out)) != 0 || rc < 0) {
		fprintf(stderr, "pxecast: %s: write failed\n", out_path ? out_path : "stdout");
		goto out;
	}

	human(total_s, sizeof(total_s), (double)sb.st_size);
	fprintf(stderr, "imported %s as [image %s]:\n", d.name, name);
	fprintf(stderr, "  family   %s, version %s\n", distro_family_name(d.family),
		d.version[0] ? d.version : "unknown");
	print_size(dg, "kernel", d.kernel);
	print_size(dg, "initrd", d.initrd);
	if (d.rootfs[0])
		print_size(dg, "rootfs", d.rootfs);
	fprintf(stderr, "  append   %s\n", append);
	fprintf(stderr, "  template %s\n", d.install_template ? d.install_template : "(none)");
	fprintf(stderr, "  hashed   %zu files, %s image, in %.1f s\n", dg->n, total_s, took);
	fprintf(stderr, "  digests  %s%s\n", digests_path, rc < 0 ? " (not written)" : "");
	fprintf(stderr, "  config   %s\n", out_path ? out_path : "(printed above)");
	status = 0;
out:
	image_digests_free(dg);
	iso_close(iso);
	close(fd);
	return status;
}
