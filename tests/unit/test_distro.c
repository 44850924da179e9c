/* Distribution detection over fake trees laid out like each supported
 * distribution: the right family, name, version, kernel, initrd, image
 * name and kernel arguments; .treeinfo and .disk/info parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "imager/distro.h"

struct fake_file {
	const char *path, *content; /* content NULL: an empty file */
};

struct fake_tree {
	const struct fake_file *files;
	const char *volume_id;
};

static bool fake_is_file(void *ctx, const char *path)
{
	for (const struct fake_file *f = ((struct fake_tree *)ctx)->files; f->path; f++)
		if (!strcmp(f->path, path))
			return true;
	return false;
}

static long fake_read(void *ctx, const char *path, char *buf, size_t cap)
{
	for (const struct fake_file *f = ((struct fake_tree *)ctx)->files; f->path; f++)
		if (!strcmp(f->path, path)) {
			size_t n = f->content ? strlen(f->content) : 0;

			n = n < cap ? n : cap;
			memcpy(buf, f->content ? f->content : "", n);
			return (long)n;
		}
	return -1;
}

static int detect(const struct fake_file *files, const char *volid, struct distro_info *d)
{
	struct fake_tree t = { files, volid };
	struct distro_fs fs = { &t, fake_is_file, fake_read, volid };

	return distro_detect(&fs, d);
}

static void expect(const struct distro_info *d, enum distro_family fam, const char *name,
		   const char *version, const char *slug, const char *kernel, const char *initrd)
{
	assert_int_equal(d->family, fam);
	assert_string_equal(d->name, name);
	assert_string_equal(d->version, version);
	assert_string_equal(d->slug, slug);
	assert_string_equal(d->kernel, kernel);
	assert_string_equal(d->initrd, initrd);
}

static const char alma_treeinfo[] =
	"[header]\ntype = productmd.treeinfo\nversion = 1.2\n\n"
	"[release]\nname = AlmaLinux\nshort = AlmaLinux\nversion = 9.4\n\n"
	"[general]\narch = x86_64\nfamily = AlmaLinux\nname = AlmaLinux 9.4\nversion = 9.4\n\n"
	"[images-x86_64]\nefiboot.img = images/efiboot.img\ninitrd = images/pxeboot/initrd.img\n"
	"kernel = images/pxeboot/vmlinuz\n\n[tree]\narch = x86_64\n";

static void test_rhel_family(void **state)
{
	static const struct fake_file alma[] = {
		{ ".treeinfo", alma_treeinfo }, { "images/pxeboot/vmlinuz", NULL },
		{ "images/pxeboot/initrd.img", NULL }, { "images/install.img", NULL },
		{ "repodata/repomd.xml", NULL }, { NULL, NULL } };
	static const struct fake_file rocky[] = {
		{ ".treeinfo", "[general]\nfamily = Rocky Linux\nversion = 8.10\n" },
		{ "images/pxeboot/vmlinuz", NULL }, { "images/pxeboot/initrd.img", NULL }, { NULL, NULL } };
	static const struct fake_file centos[] = {
		{ ".treeinfo", "[release]\nname = CentOS Stream\nversion = 9\n" },
		{ "images/pxeboot/vmlinuz", NULL }, { "images/pxeboot/initrd.img", NULL }, { NULL, NULL } };
	static const struct fake_file euler[] = {
		{ ".treeinfo", "[general]\r\nfamily = openEuler\r\nversion = 22.03-LTS-SP3\r\n" },
		{ "images/pxeboot/vmlinuz", NULL }, { "images/pxeboot/initrd.img", NULL }, { NULL, NULL } };
	static const struct fake_file kylin[] = {
		{ ".treeinfo", "[general]\nfamily = Kylin Linux Advanced Server\nversion = V10\n"
			       "[images-x86_64]\nkernel = images/pxeboot/vmlinuz-ky\ninitrd = images/pxeboot/initrd-ky.img\n" },
		{ "images/pxeboot/vmlinuz", NULL }, { "images/pxeboot/initrd.img", NULL },
		{ "images/pxeboot/vmlinuz-ky", NULL }, { "images/pxeboot/initrd-ky.img", NULL },
		{ NULL, NULL } };
	static const struct fake_file escape[] = {
		{ ".treeinfo", "[general]\nfamily = AlmaLinux\nversion = 9.3\n"
			       "[images-x86_64]\nkernel = ../../etc/passwd\ninitrd = /etc/shadow\n" },
		{ "images/pxeboot/vmlinuz", NULL }, { "images/pxeboot/initrd.img", NULL },
		{ "../../etc/passwd", NULL }, { "/etc/shadow", NULL }, { NULL, NULL } };
	static const struct fake_file no_treeinfo[] = {
		{ "images/pxeboot/vmlinuz", NULL }, { "images/pxeboot/initrd.img", NULL }, { NULL, NULL } };
	struct distro_info d;
	char append[512];

	(void)state;
	assert_int_equal(detect(alma, "AlmaLinux-9-4-x86_64-dvd", &d), 0);
	expect(&d, DISTRO_RHEL, "AlmaLinux", "9.4", "alma9", "images/pxeboot/vmlinuz",
	       "images/pxeboot/initrd.img");
	assert_string_equal(d.install_template, "alma9.ks");
	assert_int_equal(distro_append(&d, "alma9", append, sizeof(append)) > 0, 1);
	assert_string_equal(append, "inst.repo=http://${server}/images/alma9/ "
				    "inst.ks=http://${server}/ks/${mac}?token=${token}");
	assert_int_equal(detect(rocky, NULL, &d), 0);
	expect(&d, DISTRO_RHEL, "Rocky Linux", "8.10", "rocky8", "images/pxeboot/vmlinuz",
	       "images/pxeboot/initrd.img");
	assert_int_equal(detect(centos, NULL, &d), 0);
	expect(&d, DISTRO_RHEL, "CentOS Stream", "9", "centos9", "images/pxeboot/vmlinuz",
	       "images/pxeboot/initrd.img");
	assert_int_equal(detect(euler, NULL, &d), 0);
	expect(&d, DISTRO_RHEL, "openEuler", "22.03-LTS-SP3", "openeuler2203",
	       "images/pxeboot/vmlinuz", "images/pxeboot/initrd.img");
	/* [images-x86_64] names the kernel and initrd when they exist. */
	assert_int_equal(detect(kylin, NULL, &d), 0);
	expect(&d, DISTRO_RHEL, "Kylin Linux Advanced Server", "V10", "kylin10",
	       "images/pxeboot/vmlinuz-ky", "images/pxeboot/initrd-ky.img");
	/* ...but never paths out of the image. */
	assert_int_equal(detect(escape, NULL, &d), 0);
	expect(&d, DISTRO_RHEL, "AlmaLinux", "9.3", "alma9", "images/pxeboot/vmlinuz",
	       "images/pxeboot/initrd.img");
	assert_int_equal(detect(no_treeinfo, NULL, &d), 0);
	expect(&d, DISTRO_RHEL, "RHEL-compatible", "", "el", "images/pxeboot/vmlinuz",
	       "images/pxeboot/initrd.img");
}

static void test_debian_ubuntu(void **state)
{
	static const struct fake_file debian[] = {
		{ ".disk/info", "Debian GNU/Linux 12.5.0 \"Bookworm\" - Official amd64 NETINST with firmware 20240210-11:28" },
		{ "install.amd/vmlinuz", NULL }, { "install.amd/initrd.gz", NULL },
		{ "install.amd/gtk/initrd.gz", NULL }, { "dists/bookworm/Release", NULL }, { NULL, NULL } };
	static const struct fake_file ubuntu[] = {
		{ ".disk/info", "Ubuntu-Server 24.04 LTS \"Noble Numbat\" - Release amd64 (20240423)\n" },
		{ "casper/vmlinuz", NULL }, { "casper/initrd", NULL }, { NULL, NULL } };
	static const struct fake_file ubuntu_lz[] = {
		{ ".disk/info", "Ubuntu-Server 22.04.4 LTS \"Jammy Jellyfish\" - Release amd64 (20240220)" },
		{ "casper/vmlinuz", NULL }, { "casper/initrd.lz", NULL }, { NULL, NULL } };
	static const struct fake_file no_info[] = {
		{ "install.amd/vmlinuz", NULL }, { "install.amd/initrd.gz", NULL }, { NULL, NULL } };
	struct distro_info d;
	char append[512];

	(void)state;
	assert_int_equal(detect(debian, NULL, &d), 0);
	expect(&d, DISTRO_DEBIAN, "Debian GNU/Linux", "12.5.0", "debian12", "install.amd/vmlinuz",
	       "install.amd/initrd.gz");
	assert_string_equal(d.install_template, "debian12.preseed");
	assert_int_equal(distro_append(&d, "debian12", append, sizeof(append)) > 0, 1);
	assert_string_equal(append, "auto=true priority=critical "
				    "url=http://${server}/ks/${mac}?token=${token}");
	assert_int_equal(detect(no_info, NULL, &d), 0);
	expect(&d, DISTRO_DEBIAN, "Debian GNU/Linux", "", "debian", "install.amd/vmlinuz",
	       "install.amd/initrd.gz");

	assert_int_equal(detect(ubuntu, NULL, &d), 0);
	expect(&d, DISTRO_UBUNTU, "Ubuntu-Server", "24.04", "ubuntu2404", "casper/vmlinuz",
	       "casper/initrd");
	assert_string_equal(d.install_template, "ubuntu2404.yaml");
	assert_int_equal(distro_append(&d, "noble", append, sizeof(append)) > 0, 1);
	assert_string_equal(append, "ip=dhcp url=http://${server}/images/noble.iso autoinstall "
				    "cloud-config-url=/dev/null "
				    "ds=nocloud-net;s=http://${server}/ks/${mac}/${token}/");
	assert_int_equal(detect(ubuntu_lz, NULL, &d), 0);
	expect(&d, DISTRO_UBUNTU, "Ubuntu-Server", "22.04.4", "ubuntu2204", "casper/vmlinuz",
	       "casper/initrd.lz");
	/* Too small a buffer is an error, not a cut argument. */
	assert_int_equal(distro_append(&d, "noble", append, 40), -1);
}

static void test_coreos_alt(void **state)
{
	static const struct fake_file fcos[] = {
		{ "images/pxeboot/vmlinuz", NULL }, { "images/pxeboot/initrd.img", NULL },
		{ "images/pxeboot/rootfs.img", NULL }, { "coreos/igninfo.json", NULL },
		{ "images/efiboot.img", NULL }, { NULL, NULL } };
	static const struct fake_file fcos_old[] = {
		{ "images/vmlinuz", NULL }, { "images/initramfs.img", NULL },
		{ "images/rootfs.img", NULL }, { NULL, NULL } };
	static const struct fake_file alt[] = {
		{ "boot/vmlinuz", NULL }, { "boot/full.cz", NULL }, { "altinst", NULL }, { NULL, NULL } };
	struct distro_info d;
	char append[512];

	(void)state;
	/* Checked before the RHEL family, whose layout it shares. */
	assert_int_equal(detect(fcos, "fedora-coreos-40.20240519.3.0", &d), 0);
	expect(&d, DISTRO_COREOS, "Fedora CoreOS", "40.20240519.3.0", "fcos",
	       "images/pxeboot/vmlinuz", "images/pxeboot/initrd.img");
	assert_string_equal(d.rootfs, "images/pxeboot/rootfs.img");
	assert_string_equal(d.install_template, "fcos.ign");
	assert_int_equal(distro_append(&d, "fcos", append, sizeof(append)) > 0, 1);
	assert_string_equal(append,
			    "coreos.live.rootfs_url=http://${server}/images/fcos/images/pxeboot/rootfs.img "
			    "ignition.config.url=http://${server}/ks/${mac}?token=${token} "
			    "ignition.firstboot ignition.platform.id=metal");
	assert_int_equal(detect(fcos_old, NULL, &d), 0);
	expect(&d, DISTRO_COREOS, "Fedora CoreOS", "", "fcos", "images/vmlinuz",
	       "images/initramfs.img");
	assert_string_equal(d.rootfs, "images/rootfs.img");

	assert_int_equal(detect(alt, "ALT Workstation 10.1 x86_64", &d), 0);
	expect(&d, DISTRO_ALT, "ALT Workstation", "10.1", "alt10", "boot/vmlinuz", "boot/full.cz");
	assert_null(d.install_template);
	assert_int_equal(distro_append(&d, "alt10", append, sizeof(append)) > 0, 1);
	assert_string_equal(append, "automatic=method:http,network:dhcp,server:${server},"
				    "directory:/images/alt10 stagename=altinst");
}

static void test_unrecognised(void **state)
{
	static const struct fake_file empty[] = { { NULL, NULL } };
	static const struct fake_file half_debian[] = {
		{ "install.amd/vmlinuz", NULL }, { ".disk/info", "Debian GNU/Linux 12" }, { NULL, NULL } };
	static const struct fake_file treeinfo_only[] = {
		{ ".treeinfo", alma_treeinfo }, { NULL, NULL } };
	struct distro_info d;

	(void)state;
	assert_int_equal(detect(empty, NULL, &d), -1);
	assert_int_equal(detect(half_debian, NULL, &d), -1);
	assert_int_equal(detect(treeinfo_only, NULL, &d), -1);
	assert_non_null(strstr(distro_looked_for, "casper/vmlinuz"));
	assert_non_null(strstr(distro_looked_for, ".treeinfo"));
}

static void test_parsers(void **state)
{
	struct treeinfo ti;
	char name[DISTRO_TEXT_MAX], version[DISTRO_TEXT_MAX];
	char big[300];

	(void)state;
	assert_int_equal(distro_parse_treeinfo("", 0, &ti), -1);
	assert_int_equal(distro_parse_treeinfo("family = x\n", 11, &ti), -1); /* no section */
	assert_int_equal(distro_parse_treeinfo("[general\nfamily = x\n", 20, &ti), -1);
	assert_int_equal(distro_parse_treeinfo("[general]\nfamily = A\x01\xff\n", 23, &ti), 0);
	assert_string_equal(ti.family, "A__"); /* control bytes never reach a config */
	memset(big, 'x', sizeof(big));
	memcpy(big, "[general]\nfamily=", 17);
	assert_int_equal(distro_parse_treeinfo(big, sizeof(big), &ti), 0);
	assert_int_equal(strlen(ti.family), DISTRO_TEXT_MAX - 1);

	assert_int_equal(distro_parse_disk_info("", 0, name, version), -1);
	assert_int_equal(distro_parse_disk_info("12.5 only", 9, name, version), -1);
	assert_int_equal(distro_parse_disk_info("Debian", 6, name, version), 0);
	assert_string_equal(name, "Debian");
	assert_string_equal(version, "");
	assert_int_equal(distro_parse_disk_info("Ubuntu 24.04\"x\nsecond line 99", 29, name, version), 0);
	assert_string_equal(name, "Ubuntu");
	assert_string_equal(version, "24.04");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rhel_family),
		cmocka_unit_test(test_debian_ubuntu),
		cmocka_unit_test(test_coreos_alt),
		cmocka_unit_test(test_unrecognised),
		cmocka_unit_test(test_parsers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
