/* Which distribution an installation image is, and how to netboot it.
 *
 * Detection is a pure function over a small directory-lookup interface
 * (is there a file at this path, read this small file), so an ISO, a
 * directory or a table in a test all answer it the same way:
 *
 *   Fedora CoreOS  images/pxeboot/{vmlinuz,initrd.img,rootfs.img} (also
 *                  initramfs.img, or the older images/{vmlinuz,
 *                  initramfs.img,rootfs.img}); the version from the
 *                  volume id (fedora-coreos-40.20240519.3.0)
 *   RHEL family    .treeinfo and images/pxeboot/vmlinuz + initrd.img
 *                  (AlmaLinux, Rocky, CentOS, RHEL, openEuler, Kylin, ...);
 *                  the name and version from .treeinfo [general]/[release],
 *                  kernel and initrd from [images-x86_64] when it has them
 *   Debian         install.amd/vmlinuz + initrd.gz, .disk/info
 *   Ubuntu         casper/vmlinuz + casper/initrd (or initrd.lz, .gz),
 *                  .disk/info
 *   ALT Linux      boot/vmlinuz + boot/full.cz
 *
 * .treeinfo and .disk/info parsers take (buf, len) and trust nothing.
 */
#ifndef PXECAST_IMAGER_DISTRO_H
#define PXECAST_IMAGER_DISTRO_H

#include <stdbool.h>
#include <stddef.h>

enum distro_family {
	DISTRO_RHEL,
	DISTRO_DEBIAN,
	DISTRO_UBUNTU,
	DISTRO_COREOS,
	DISTRO_ALT,
};

#define DISTRO_PATH_MAX 256
#define DISTRO_TEXT_MAX 64
#define DISTRO_SMALL_FILE 65536 /* .treeinfo, .disk/info: read at most this */

struct distro_fs {
	void *ctx;
	/* A regular file (symlinks followed) at path, relative to the root. */
	bool (*is_file)(void *ctx, const char *path);
	/* Up to cap bytes of the file at path; -1 when there is none. */
	long (*read)(void *ctx, const char *path, char *buf, size_t cap);
	const char *volume_id; /* may be NULL */
};

struct distro_info {
	enum distro_family family;
	char name[DISTRO_TEXT_MAX];     /* "AlmaLinux", "Debian GNU/Linux", ... */
	char version[DISTRO_TEXT_MAX];  /* "9.4", "12.5.0", "24.04", "" unknown */
	char slug[DISTRO_TEXT_MAX];     /* suggested image name: alma9, debian12 */
	char kernel[DISTRO_PATH_MAX];   /* paths inside the image */
	char initrd[DISTRO_PATH_MAX];
	char rootfs[DISTRO_PATH_MAX];   /* CoreOS live rootfs; "" otherwise */
	const char *install_template;   /* alma9.ks, ...; NULL: none */
};

/* What detection looks for, for the "not recognised" message. */
extern const char distro_looked_for[];

/**
 * @return 0 with *out filled, -1 when the tree is none of the above
 */
int distro_detect(const struct distro_fs *fs, struct distro_info *out);

const char *distro_family_name(enum distro_family f);

/**
 * The kernel arguments that point the installer at this appliance for an
 * image served as images/NAME/, with the appliance's ${server}, ${mac} and
 * ${token} left for the boot-time renderer.
 * @return the length, or -1 when it does not fit in size
 */
int distro_append(const struct distro_info *d, const char *image_name, char *out, size_t size);

/* ---- parsers (exposed for tests and fuzzing) ---- */

struct treeinfo {
	char family[DISTRO_TEXT_MAX];   /* [general] family, else [release] name */
	char version[DISTRO_TEXT_MAX];  /* [general] version, else [release] version */
	char kernel[DISTRO_PATH_MAX];   /* [images-x86_64] kernel */
	char initrd[DISTRO_PATH_MAX];   /* [images-x86_64] initrd */
};

/* 0, or -1 when nothing in it is usable (no family). */
int distro_parse_treeinfo(const char *buf, size_t len, struct treeinfo *out);

/* .disk/info: 'Debian GNU/Linux 12.5.0 "Bookworm" - Official amd64 ...'.
 * The words before the first one starting with a digit are the name, that
 * one (up to a space or '"') is the version. 0, or -1 without a name. */
int distro_parse_disk_info(const char *buf, size_t len, char name[DISTRO_TEXT_MAX],
			   char version[DISTRO_TEXT_MAX]);

#endif
