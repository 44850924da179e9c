/* Distribution detection over a directory-lookup interface (distro.h). */
#include "imager/distro.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char distro_looked_for[] =
	"vmlinuz + initrd.img (or initramfs.img) + rootfs.img in images/pxeboot/ or images/ (Fedora CoreOS), "
	".treeinfo or images/pxeboot/vmlinuz + initrd.img (RHEL family), "
	"install.amd/vmlinuz + initrd.gz (Debian), "
	"casper/vmlinuz + casper/initrd (Ubuntu), "
	"boot/vmlinuz + boot/full.cz (ALT Linux)";

const char *distro_family_name(enum distro_family f)
{
	switch (f) {
	case DISTRO_RHEL: return "RHEL family";
	case DISTRO_DEBIAN: return "Debian";
	case DISTRO_UBUNTU: return "Ubuntu";
	case DISTRO_COREOS: return "Fedora CoreOS";
	case DISTRO_ALT: return "ALT Linux";
	}
	return "unknown";
}

/* Copy [s, s+n) trimmed of blanks into out (cap bytes), printable ASCII
 * only: these strings end up in a config file and in logs. */
static void copy_text(char *out, size_t cap, const char *s, size_t n)
{
	size_t o = 0;

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	for (size_t i = 0; i < n && o + 1 < cap; i++)
		out[o++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '_';
	out[o] = '\0';
}

/* A relative path inside the image: no "..", no absolute path, no blanks. */
static bool safe_image_path(const char *p)
{
	if (!*p || *p == '/' || strstr(p, ".."))
		return false;
	for (; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '\\' || *p == 0x7f)
			return false;
	return true;
}

int distro_parse_treeinfo(const char *buf, size_t len, struct treeinfo *out)
{
	enum { NONE, GENERAL, RELEASE, IMAGES } sect = NONE;
	char rel_name[DISTRO_TEXT_MAX] = "", rel_version[DISTRO_TEXT_MAX] = "";
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	while (pos < len) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos), *eq;
		size_t n = nl ? (size_t)(nl - line) : len - pos, k;

		pos += n + (nl ? 1 : 0);
		while (n > 0 && (*line == ' ' || *line == '\t'))
			line++, n--;
		if (n == 0 || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			const char *end = memchr(line, ']', n);
			size_t sl = end ? (size_t)(end - line - 1) : 0;

			sect = NONE;
			if (sl == 7 && !memcmp(line + 1, "general", 7))
				sect = GENERAL;
			else if (sl == 7 && !memcmp(line + 1, "release", 7))
				sect = RELEASE;
			else if (sl == 13 && !memcmp(line + 1, "images-x86_64", 13))
				sect = IMAGES;
			continue;
		}
		eq = memchr(line, '=', n);
		if (!eq || sect == NONE)
			continue;
		k = (size_t)(eq - line);
		while (k > 0 && (line[k - 1] == ' ' || line[k - 1] == '\t'))
			k--;
		const char *v = eq + 1;
		size_t vl = n - (size_t)(v - line);
		char *dst = NULL;
		size_t cap = DISTRO_TEXT_MAX;

		if (sect == GENERAL && k == 6 && !memcmp(line, "family", 6))
			dst = out->family;
		else if (sect == GENERAL && k == 7 && !memcmp(line, "version", 7))
			dst = out->version;
		else if (sect == RELEASE && k == 4 && !memcmp(line, "name", 4))
			dst = rel_name;
		else if (sect == RELEASE && k == 7 && !memcmp(line, "version", 7))
			dst = rel_version;
		else if (sect == IMAGES && k == 6 && !memcmp(line, "kernel", 6))
			dst = out->kernel, cap = DISTRO_PATH_MAX;
		else if (sect == IMAGES && k == 6 && !memcmp(line, "initrd", 6))
			dst = out->initrd, cap = DISTRO_PATH_MAX;
		if (dst)
			copy_text(dst, cap, v, vl);
	}
	/* productmd writes both; older trees only [general]. */
	if (!out->family[0])
		memcpy(out->family, rel_name, sizeof(rel_name));
	if (!out->version[0])
		memcpy(out->version, rel_version, sizeof(rel_version));
	if (out->kernel[0] && !safe_image_path(out->kernel))
		out->kernel[0] = '\0';
	if (out->initrd[0] && !safe_image_path(out->initrd))
		out->initrd[0] = '\0';
	return out->family[0] ? 0 : -1;
}

int distro_parse_disk_info(const char *buf, size_t len, char name[DISTRO_TEXT_MAX],
			   char version[DISTRO_TEXT_MAX])
{
	const char *nl = memchr(buf, '\n', len);
	size_t n = nl ? (size_t)(nl - buf) : len, i = 0, name_end = 0;

	name[0] = version[0] = '\0';
	while (i < n) {
		size_t w = i;

		while (w < n && buf[w] == ' ')
			w++;
		if (w >= n)
			break;
		if (buf[w] >= '0' && buf[w] <= '9') {
			size_t e = w;

			while (e < n && buf[e] != ' ' && buf[e] != '"')
				e++;
			copy_text(version, DISTRO_TEXT_MAX, buf + w, e - w);
			break;
		}
		while (w < n && buf[w] != ' ')
			w++;
		name_end = w;
		i = w;
	}
	copy_text(name, DISTRO_TEXT_MAX, buf, name_end);
	return name[0] ? 0 : -1;
}

static bool has(const struct distro_fs *fs, const char *p)
{
	return fs->is_file(fs->ctx, p);
}

static const char *first(const struct distro_fs *fs, const char *const *paths)
{
	for (; *paths; paths++)
		if (has(fs, *paths))
			return *paths;
	return NULL;
}

static void set_paths(struct distro_info *d, const char *kernel, const char *initrd,
		      const char *rootfs)
{
	snprintf(d->kernel, sizeof(d->kernel), "%s", kernel);
	snprintf(d->initrd, sizeof(d->initrd), "%s", initrd);
	snprintf(d->rootfs, sizeof(d->rootfs), "%s", rootfs ? rootfs : "");
}

/* "AlmaLinux" 9.4 -> alma9; with minor, "Ubuntu" 24.04.1 -> ubuntu2404. */
static void make_slug(struct distro_info *d, const char *base, bool minor)
{
	char v[16];
	size_t o = 0;
	const char *s = d->version;

	if (*s == 'V' || *s == 'v') /* Kylin: V10 */
		s++;
	while (*s >= '0' && *s <= '9' && o < 6)
		v[o++] = *s++;
	if (minor && o && *s == '.')
		for (s++; *s >= '0' && *s <= '9' && o < 12;)
			v[o++] = *s++;
	v[o] = '\0';
	snprintf(d->slug, sizeof(d->slug), "%s%s", base, v);
}

static const struct {
	const char *prefix, *slug;
	bool minor;
} rhel_names[] = {
	{ "AlmaLinux", "alma", false },
	{ "Rocky", "rocky", false },
	{ "CentOS", "centos", false },
	{ "Red Hat", "rhel", false },
	{ "openEuler", "openeuler", true },
	{ "Kylin", "kylin", false },
	{ "Fedora", "fedora", false },
	{ "Oracle", "ol", false },
};

static int detect_coreos(const struct distro_fs *fs, struct distro_info *d)
{
	static const char *const layouts[][3] = {
		{ "images/pxeboot/vmlinuz", "images/pxeboot/initrd.img", "images/pxeboot/rootfs.img" },
		{ "images/pxeboot/vmlinuz", "images/pxeboot/initramfs.img", "images/pxeboot/rootfs.img" },
		{ "images/vmlinuz", "images/initramfs.img", "images/rootfs.img" },
	};

	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (has(fs, layouts[i][0]) && has(fs, layouts[i][1]) && has(fs, layouts[i][2])) {
			d->family = DISTRO_COREOS;
			snprintf(d->name, sizeof(d->name), "Fedora CoreOS");
			set_paths(d, layouts[i][0], layouts[i][1], layouts[i][2]);
			/* The volume id carries the version: fedora-coreos-40.20240519.3.0 */
			if (fs->volume_id && !strncmp(fs->volume_id, "fedora-coreos-", 14))
				copy_text(d->version, sizeof(d->version), fs->volume_id + 14,
					  strlen(fs->volume_id + 14));
			snprintf(d->slug, sizeof(d->slug), "fcos");
			d->install_template = "fcos.ign";
			return 0;
		}
	return -1;
}

static int detect_rhel(const struct distro_fs *fs, struct distro_info *d, char *buf)
{
	struct treeinfo ti;
	long n = fs->read(fs->ctx, ".treeinfo", buf, DISTRO_SMALL_FILE);
	bool have_ti = n >= 0 && distro_parse_treeinfo(buf, (size_t)n, &ti) == 0;
	const char *kernel = "images/pxeboot/vmlinuz", *initrd = "images/pxeboot/initrd.img";

	if (have_ti && ti.kernel[0] && ti.initrd[0] && has(fs, ti.kernel) && has(fs, ti.initrd)) {
		kernel = ti.kernel;
		initrd = ti.initrd;
	} else if (!has(fs, kernel) || !has(fs, initrd)) {
		return -1;
	}
	d->family = DISTRO_RHEL;
	set_paths(d, kernel, initrd, NULL);
	snprintf(d->name, sizeof(d->name), "%s", have_ti ? ti.family : "RHEL-compatible");
	snprintf(d->version, sizeof(d->version), "%s", have_ti ? ti.version : "");
	make_slug(d, "el", false);
	for (size_t i = 0; i < sizeof(rhel_names) / sizeof(rhel_names[0]); i++)
		if (!strncmp(d->name, rhel_names[i].prefix, strlen(rhel_names[i].prefix))) {
			make_slug(d, rhel_names[i].slug, rhel_names[i].minor);
			break;
		}
	d->install_template = "alma9.ks";
	return 0;
}

static void disk_info(const struct distro_fs *fs, struct distro_info *d, char *buf,
		      const char *fallback)
{
	long n = fs->read(fs->ctx, ".disk/info", buf, DISTRO_SMALL_FILE);

	if (n < 0 || distro_parse_disk_info(buf, (size_t)n, d->name, d->version) < 0)
		snprintf(d->name, sizeof(d->name), "%s", fallback);
}

int distro_detect(const struct distro_fs *fs, struct distro_info *out)
{
	static const char *const casper_initrds[] = { "casper/initrd", "casper/initrd.lz",
						       "casper/initrd.gz", NULL };
	char *buf = malloc(DISTRO_SMALL_FILE);
	const char *initrd;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!buf)
		return -1;
	if (detect_coreos(fs, out) == 0 || detect_rhel(fs, out, buf) == 0)
		goto done;
	if (has(fs, "install.amd/vmlinuz") && has(fs, "install.amd/initrd.gz")) {
		out->family = DISTRO_DEBIAN;
		set_paths(out, "install.amd/vmlinuz", "install.amd/initrd.gz", NULL);
		disk_info(fs, out, buf, "Debian GNU/Linux");
		make_slug(out, "debian", false);
		out->install_template = "debian12.preseed";
	} else if (has(fs, "casper/vmlinuz") && (initrd = first(fs, casper_initrds))) {
		out->family = DISTRO_UBUNTU;
		set_paths(out, "casper/vmlinuz", initrd, NULL);
		disk_info(fs, out, buf, "Ubuntu");
		make_slug(out, "ubuntu", true);
		out->install_template = "ubuntu2404.yaml";
	} else if (has(fs, "boot/vmlinuz") && has(fs, "boot/full.cz")) {
		out->family = DISTRO_ALT;
		set_paths(out, "boot/vmlinuz", "boot/full.cz", NULL);
		disk_info(fs, out, buf, "ALT Linux");
		if (!strcmp(out->name, "ALT Linux") && fs->volume_id && !out->version[0]) {
			char v[DISTRO_TEXT_MAX];

			/* "ALT Workstation 10.1 x86_64": the volume id is all there is */
			if (distro_parse_disk_info(fs->volume_id, strlen(fs->volume_id), out->name, v) == 0)
				memcpy(out->version, v, sizeof(v));
		}
		make_slug(out, "alt", false);
	} else {
		rc = -1;
	}
done:
	free(buf);
	return rc;
}

int distro_append(const struct distro_info *d, const char *name, char *out, size_t size)
{
	int n = -1;

	switch (d->family) {
	case DISTRO_RHEL:
		n = snprintf(out, size, "inst.repo=http://${server}/images/%s/ "
			     "inst.ks=http://${server}/ks/${mac}?token=${token}", name);
		break;
	case DISTRO_DEBIAN:
		n = snprintf(out, size, "auto=true priority=critical "
			     "url=http://${server}/ks/${mac}?token=${token}");
		break;
	case DISTRO_UBUNTU:
		/* casper fetches the whole ISO into RAM; cloud-config-url=/dev/null
		 * stops cloud-init fetching it a second time; nocloud-net appends
		 * user-data and meta-data to s=. */
		n = snprintf(out, size, "ip=dhcp url=http://${server}/images/%s.iso autoinstall "
			     "cloud-config-url=/dev/null "
			     "ds=nocloud-net;s=http://${server}/ks/${mac}/${token}/", name);
		break;
	case DISTRO_COREOS:
		n = snprintf(out, size, "coreos.live.rootfs_url=http://${server}/images/%s/%s "
			     "ignition.config.url=http://${server}/ks/${mac}?token=${token} "
			     "ignition.firstboot ignition.platform.id=metal", name, d->rootfs);
		break;
	case DISTRO_ALT:
		n = snprintf(out, size, "automatic=method:http,network:dhcp,server:${server},"
			     "directory:/images/%s stagename=altinst", name);
		break;
	}
	return n < 0 || (size_t)n >= size ? -1 : n;
}
