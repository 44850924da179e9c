/* PXE boot policy: file per architecture, HTTP boot, iPXE script (no
 * loop), layered overrides, template expansion. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_dhcp_client.h"
#include "control/dhcp/dhcp_private.h"

static const struct dhcp_boot global = {
	.bios = "undionly.kpxe",
	.efi64 = "ipxe.efi",
	.arm64 = "ipxe-arm64.efi",
	.ipxe = "http://${server}/boot/${mac}.ipxe",
	.httpboot = "http://${server}/ipxe.efi",
};

struct choice_vec {
	const char *name;
	const char *vendor;
	int arch;
	const char *user_class;
	enum dhcp_boot_kind kind;
	const char *file;
	const char *echo;
};

static const struct choice_vec choices[] = {
	{ "bios rom", "PXEClient:Arch:00000:UNDI:002001", 0, NULL, DHCP_BOOT_PXE,
	  "undionly.kpxe", "PXEClient" },
	{ "bios rom without 93", "PXEClient:Arch:00000:UNDI:002001", -1, NULL,
	  DHCP_BOOT_PXE, "undionly.kpxe", "PXEClient" },
	{ "efi x64 from 60 only", "PXEClient:Arch:00007:UNDI:003016", -1, NULL,
	  DHCP_BOOT_PXE, "ipxe.efi", "PXEClient" },
	{ "efi x64", "PXEClient:Arch:00007:UNDI:003016", 7, NULL, DHCP_BOOT_PXE,
	  "ipxe.efi", "PXEClient" },
	{ "efi bc", "PXEClient", 9, NULL, DHCP_BOOT_PXE, "ipxe.efi", "PXEClient" },
	{ "efi ia32 not configured", "PXEClient", 6, NULL, DHCP_BOOT_NONE, "", NULL },
	{ "arm64", "PXEClient:Arch:00011:UNDI:003000", 11, NULL, DHCP_BOOT_PXE,
	  "ipxe-arm64.efi", "PXEClient" },
	{ "http x64", "HTTPClient:Arch:00016:UNDI:003001", 16, NULL, DHCP_BOOT_HTTP,
	  "http://10.0.0.2/ipxe.efi", "HTTPClient" },
	{ "http arm64 falls back", "HTTPClient:Arch:00019:UNDI:003001", 19, NULL,
	  DHCP_BOOT_HTTP, "http://10.0.0.2/ipxe.efi", "HTTPClient" },
	{ "ipxe", "PXEClient:Arch:00000:UNDI:002001", 0, "iPXE", DHCP_BOOT_IPXE,
	  "http://10.0.0.2/boot/52:54:00:ab:00:07.ipxe", "PXEClient" },
	{ "ipxe efi", "PXEClient:Arch:00007:UNDI:003010", 7, "iPXE", DHCP_BOOT_IPXE,
	  "http://10.0.0.2/boot/52:54:00:ab:00:07.ipxe", "PXEClient" },
	{ "os client", "MSFT 5.0", -1, NULL, DHCP_BOOT_NONE, "", NULL },
	{ "no vendor", NULL, -1, NULL, DHCP_BOOT_NONE, "", NULL },
	{ "unknown arch", "PXEClient", 42, NULL, DHCP_BOOT_NONE, "", NULL },
};

static struct dhcp_msg msg;

static void parse_fake(const struct fake_req *r)
{
	uint8_t buf[DHCP_REPLY_MAX];
	size_t n = fake_build(buf, sizeof(buf), r);
	assert_int_equal(dhcp_msg_parse(&msg, buf, n), DHCP_OK);
}

static void test_choose_table(void **state)
{
	const struct dhcp_boot *layers[] = { NULL, NULL, &global };
	struct dhcp_boot_choice c;
	(void)state;

	for (size_t i = 0; i < sizeof(choices) / sizeof(choices[0]); i++) {
		const struct choice_vec *v = &choices[i];
		struct fake_req r = { .type = DHCPDISCOVER, .arch = v->arch,
				      .vendor = v->vendor, .user_class = v->user_class };
		fake_mac(r.mac, 7);
		parse_fake(&r);
		dhcp_pxe_choose(&c, &msg, layers, 3, IP(10, 0, 0, 2), 0);
		if (c.kind != v->kind || strcmp(c.file, v->file) != 0 ||
		    (v->echo == NULL) != (c.vendor == NULL) ||
		    (v->echo != NULL && strcmp(v->echo, c.vendor) != 0))
			fail_msg("%s: kind %d file '%s'", v->name, c.kind, c.file);
		/* The chain ends: iPXE never gets an iPXE binary again. */
		if (v->user_class != NULL)
			assert_null(strstr(c.file, "ipxe.efi"));
	}
}

static void test_layers(void **state)
{
	const struct dhcp_boot host = { .bios = "host.kpxe" };
	const struct dhcp_boot profile = { .bios = "profile.kpxe", .efi64 = "profile.efi",
					   .ipxe = "http://${server}/p/${ip}.ipxe" };
	const struct dhcp_boot *layers[] = { &host, &profile, &global };
	struct dhcp_boot_choice c;
	struct fake_req r = { .type = DHCPDISCOVER, .arch = 0, .vendor = "PXEClient" };
	(void)state;

	parse_fake(&r);
	dhcp_pxe_choose(&c, &msg, layers, 3, IP(10, 0, 0, 2), IP(10, 0, 0, 9));
	assert_string_equal(c.file, "host.kpxe");
	r.arch = 7;
	parse_fake(&r);
	dhcp_pxe_choose(&c, &msg, layers, 3, IP(10, 0, 0, 2), IP(10, 0, 0, 9));
	assert_string_equal(c.file, "profile.efi");
	r.arch = 11;
	parse_fake(&r);
	dhcp_pxe_choose(&c, &msg, layers, 3, IP(10, 0, 0, 2), IP(10, 0, 0, 9));
	assert_string_equal(c.file, "ipxe-arm64.efi");
	r.user_class = "iPXE";
	parse_fake(&r);
	dhcp_pxe_choose(&c, &msg, layers, 3, IP(10, 0, 0, 2), IP(10, 0, 0, 9));
	assert_string_equal(c.file, "http://10.0.0.2/p/10.0.0.9.ipxe");
}

static void test_expand(void **state)
{
	const uint8_t mac[6] = { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	char out[64];
	(void)state;

	assert_int_equal(dhcp_pxe_expand(out, sizeof(out), "${server}/${mac}/${ip}/${x}",
					 IP(192, 168, 1, 1), mac, 6, IP(192, 168, 1, 50)),
			 47);
	assert_string_equal(out, "192.168.1.1/aa:bb:cc:dd:ee:ff/192.168.1.50/${x}");
	assert_int_equal(dhcp_pxe_expand(out, 10, "${mac}", 0, mac, 6, 0), -1);
	assert_string_equal(out, "");
	assert_int_equal(dhcp_pxe_expand(out, 4, "abcd", 0, mac, 6, 0), -1);
	assert_int_equal(dhcp_pxe_expand(out, 5, "abcd", 0, mac, 6, 0), 4);
	assert_int_equal(dhcp_pxe_expand(out, sizeof(out), "${serv", 0, mac, 6, 0), 6);
}

/* PXE MTFTP: a boot file served by multicast is advertised in option 43
 * sub-options 1-5; any other file gets none of them. */
static uint32_t mtftp_group_of(const void *ctx, const char *file)
{
	return strcmp(file, (const char *)ctx) == 0 ? IP(239, 255, 2, 1) : 0;
}

static bool pxe43_of(const struct dhcp_build *b, struct dhcp_pxe43 *x)
{
	for (unsigned i = 0; i < b->nopt; i++)
		if (b->opt[i].code == DHCP_OPT_VENDOR)
			return dhcp_pxe43_parse(x, b->data + b->opt[i].off, b->opt[i].len) == 0;
	return false;
}

static void test_mtftp_suboptions(void **state)
{
	const struct dhcp_boot *layers[] = { NULL, NULL, &global };
	const struct dhcp_mtftp m = { .group_of = mtftp_group_of, .ctx = "undionly.kpxe",
				      .cport = htons(3001), .sport = htons(1759), .tmout = 2,
				      .delay = 3 };
	struct fake_req r = { .type = DHCPDISCOVER, .arch = 0, .vendor = "PXEClient" };
	static struct dhcp_build b;
	struct dhcp_boot_choice c;
	struct dhcp_pxe43 x;
	(void)state;

	parse_fake(&r);
	dhcp_pxe_choose(&c, &msg, layers, 3, IP(10, 0, 0, 2), 0);
	memset(&b, 0, sizeof(b));
	dhcp_pxe_add(&b, &c, &msg, IP(10, 0, 0, 2), &m);
	assert_true(pxe43_of(&b, &x));
	assert_true(x.has_discovery_control);
	assert_true(x.has_mtftp);
	assert_int_equal(x.mtftp_ip, IP(239, 255, 2, 1));
	assert_int_equal(x.mtftp_cport, 3001);
	assert_int_equal(x.mtftp_sport, 1759);
	assert_int_equal(x.mtftp_tmout, 2);
	assert_int_equal(x.mtftp_delay, 3);

	r.arch = 7; /* ipxe.efi: not an MTFTP file */
	parse_fake(&r);
	dhcp_pxe_choose(&c, &msg, layers, 3, IP(10, 0, 0, 2), 0);
	memset(&b, 0, sizeof(b));
	dhcp_pxe_add(&b, &c, &msg, IP(10, 0, 0, 2), &m);
	assert_true(pxe43_of(&b, &x));
	assert_true(x.has_discovery_control);
	assert_false(x.has_mtftp);

	r.arch = 0; /* MTFTP not configured */
	parse_fake(&r);
	dhcp_pxe_choose(&c, &msg, layers, 3, IP(10, 0, 0, 2), 0);
	memset(&b, 0, sizeof(b));
	dhcp_pxe_add(&b, &c, &msg, IP(10, 0, 0, 2), NULL);
	assert_true(pxe43_of(&b, &x));
	assert_false(x.has_mtftp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choose_table),
		cmocka_unit_test(test_layers),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_mtftp_suboptions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
