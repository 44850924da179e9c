/* Config parsing: values, and errors that name file:line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>

#include "appliance/config.h"

static int parse(const char *text, struct config *c, char *err)
{
	config_defaults(c);
	return config_parse(text, strlen(text), "test.conf", c, err, CONFIG_ERR_MAX);
}

static void test_full_tftp_section(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(parse("# comment\n; also\n[daemon]\nlog-level = debug\n"
			       "metrics-file=/run/m.prom\n\n[tftp]\n  root = /srv/tftp  \n"
			       "listen = 10.0.0.1:6969\nmax-sessions = 50\nmax-window = 8\n"
			       "max-blksize = 1468\ncache-size = 64M\nupload-dir = /srv/up\r\n"
			       "max-upload-size = 1G\nretransmit-ms = 250\nmax-retries = 4\n"
			       "max-transfer-seconds = 30\n",
			       &c, err),
			 0);
	assert_int_equal(c.log_level, 3);
	assert_string_equal(c.metrics_file, "/run/m.prom");
	assert_true(c.tftp_enabled);
	assert_string_equal(c.tftp_root, "/srv/tftp");
	assert_int_equal(c.tftp.listen_ip, inet_addr("10.0.0.1"));
	assert_int_equal(ntohs(c.tftp.listen_port), 6969);
	assert_int_equal(c.tftp.max_sessions, 50);
	assert_int_equal(c.tftp.limits.max_window, 8);
	assert_int_equal(c.tftp.limits.max_blksize, 1468);
	assert_int_equal(c.tftp_cache_bytes, 64u << 20);
	assert_string_equal(c.tftp_upload_dir, "/srv/up");
	assert_int_equal(c.tftp.limits.max_file_size, 1u << 30);
	assert_int_equal(c.tftp.timing.retransmit_ms, 250);
	assert_int_equal(c.tftp.timing.max_retries, 4);
	assert_int_equal(c.tftp.timing.max_transfer_us, 30000000ull);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
}

static void test_listen_without_port_keeps_69(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(parse("[tftp]\nlisten = 127.0.0.1\nroot=/x\n", &c, err), 0);
	assert_int_equal(ntohs(c.tftp.listen_port), 69);
}

static const struct {
	const char *text;
	const char *error;
} bad[] = {
	{ "[tftp]\nmax-window = 65\n", "test.conf:2: max-window: out of range" },
	{ "[tftp]\nmax-window = 0\n", "test.conf:2: max-window: out of range" },
	{ "[tftp]\nmax-blksize = 7\n", "test.conf:2: max-blksize: out of range" },
	{ "[tftp]\nmax-sessions = lots\n", "test.conf:2: max-sessions: expected a number" },
	{ "[tftp]\nmax-sessions = -1\n", "test.conf:2: max-sessions: expected a number" },
	{ "[tftp]\nmax-sessions = 99999999999999999999999\n", "test.conf:2: max-sessions: expected a number" },
	{ "\n\n[tftp]\nroot = relative/path\n", "test.conf:4: root: expected an absolute path" },
	{ "[tftp]\nlisten = 1.2.3.4:0\n", "test.conf:2: listen: expected ADDR or ADDR:PORT" },
	{ "[tftp]\nlisten = 1.2.3:69\n", "test.conf:2: listen: expected ADDR or ADDR:PORT" },
	{ "[tftp]\nlisten = 1.2.3.4:70000\n", "test.conf:2: listen: expected ADDR or ADDR:PORT" },
	{ "[tftp]\ncache-size = 12Q\n", "test.conf:2: cache-size: expected a size such as 256M" },
	{ "[tftp]\nrot = /srv\n", "test.conf:2: rot: unknown key" },
	{ "[tftpd]\n", "test.conf:1: unknown section [tftpd]" },
	{ "[tftp\n", "test.conf:1: malformed section header" },
	{ "[tftp] x\n", "test.conf:1: malformed section header" },
	{ "root = /srv\n", "test.conf:1: root: key outside any section" },
	{ "[tftp]\njust words\n", "test.conf:2: expected key = value" },
	{ "[daemon]\nlog-level = loud\n", "test.conf:2: log-level: expected err, warn, info or debug" },
	{ "[tftp]\nenable = maybe\n", "test.conf:2: enable: expected yes or no" },
};

static void test_errors_name_line_and_key(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config c;
		char err[CONFIG_ERR_MAX];

		assert_int_equal(parse(bad[i].text, &c, err), -1);
		assert_string_equal(err, bad[i].error);
	}
}

static void test_nul_and_long_lines(void **state)
{
	static const char nul[] = "[tftp]\nroot = /a\0b\n";
	char big[6000];
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_parse(nul, sizeof(nul) - 1, "n.conf", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "n.conf:2: NUL byte in line");
	memset(big, 'a', sizeof(big));
	assert_int_equal(config_parse(big, sizeof(big), "b.conf", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "b.conf:1: line too long");
}

static void test_validate(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(parse("[tftp]\nlisten = 127.0.0.1\n", &c, err), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "[tftp] root: required when TFTP is enabled");
	assert_int_equal(parse("[tftp]\nroot=/x\nretransmit-ms=5000\nretransmit-max-ms=100\n", &c, err), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
}

static const char dhcp_full[] =
	"[dhcp]\nmode = server\ninterfaces = eth0, eth1\nlease-file = /var/lib/pxecast/leases\n"
	"unknown-hosts = ignore\noffer-hold = 30\nmax-pending = 512\ncompact-interval = 600\n"
	"[subnet lab]\nnetwork = 10.1.0.0/24\npool = 10.1.0.100 - 10.1.0.200\n"
	"router = 10.1.0.1\ndns = 10.1.0.1,10.1.0.2\ndomain = lab.example\nlease-time = 7200\n"
	"interface = eth0\n"
	"[subnet far]\nnetwork = 10.2.0.0/16\npool=10.2.1.1-10.2.1.9\n"
	"[boot]\nbios = undionly.kpxe\nefi64 = ipxe.efi\narm64 = ipxe-arm64.efi\n"
	"ipxe = http://${server}/boot.ipxe\nhttpboot = http://${server}/ipxe.efi\n"
	"[profile rescue]\nipxe = http://${server}/rescue.ipxe\n"
	"[host AA:bb:cc:dd:ee:01]\nip = 10.1.0.5\nhostname = node1\nprofile = rescue\n"
	"[host aa-bb-cc-dd-ee-02]\nefi64 = special.efi\n";

static void test_dhcp_sections(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	const struct config_dhcp *d;
	const struct dhcp_config *e;

	(void)state;
	assert_int_equal(parse(dhcp_full, &c, err), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	d = c.dhcp;
	e = &d->engine;
	assert_true(d->enabled);
	assert_int_equal(e->mode, DHCP_MODE_SERVER);
	assert_int_equal(e->unknown, DHCP_UNKNOWN_IGNORE);
	assert_int_equal(d->nifnames, 2);
	assert_string_equal(d->ifnames[1], "eth1");
	assert_string_equal(d->lease_file, "/var/lib/pxecast/leases");
	assert_int_equal(e->offer_hold, 30);
	assert_int_equal(e->max_pending, 512);
	assert_int_equal(d->compact_seconds, 600);
	assert_int_equal(e->nsubnets, 2);
	assert_ptr_equal(e->subnets, d->subnets);
	assert_int_equal(e->subnets[0].network, inet_addr("10.1.0.0"));
	assert_int_equal(e->subnets[0].netmask, inet_addr("255.255.255.0"));
	assert_int_equal(e->subnets[0].pool_start, inet_addr("10.1.0.100"));
	assert_int_equal(e->subnets[0].pool_end, inet_addr("10.1.0.200"));
	assert_int_equal(e->subnets[0].router, inet_addr("10.1.0.1"));
	assert_int_equal(e->subnets[0].ndns, 2);
	assert_int_equal(e->subnets[0].dns[1], inet_addr("10.1.0.2"));
	assert_string_equal(e->subnets[0].domain, "lab.example");
	assert_int_equal(e->subnets[0].lease_time, 7200);
	assert_string_equal(d->subnet_info[0].name, "lab");
	assert_string_equal(d->subnet_info[0].ifname, "eth0");
	assert_int_equal(e->subnets[1].netmask, inet_addr("255.255.0.0"));
	assert_int_equal(e->subnets[1].pool_end, inet_addr("10.2.1.9"));
	assert_string_equal(e->boot.bios, "undionly.kpxe");
	assert_string_equal(e->boot.httpboot, "http://${server}/ipxe.efi");
	assert_null(e->boot.efi32);
	assert_int_equal(e->nprofiles, 1);
	assert_string_equal(e->profiles[0].name, "rescue");
	assert_string_equal(e->profiles[0].boot.ipxe, "http://${server}/rescue.ipxe");
	assert_int_equal(e->nhosts, 2);
	assert_int_equal(e->hosts[0].mac[0], 0xaa);
	assert_int_equal(e->hosts[0].mac[5], 0x01);
	assert_int_equal(e->hosts[0].ip, inet_addr("10.1.0.5"));
	assert_string_equal(e->hosts[0].hostname, "node1");
	assert_string_equal(e->hosts[0].profile, "rescue");
	assert_int_equal(e->hosts[1].mac[5], 0x02);
	assert_string_equal(e->hosts[1].boot.efi64, "special.efi");
	assert_null(e->hosts[1].boot.bios);
	config_free(&c);
	assert_null(c.dhcp);
}

/* What the parser fills is what the engine accepts. */
static void test_dhcp_engine_accepts(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	struct dhcp_leases *l;
	struct dhcp_server *s;

	(void)state;
	assert_int_equal(parse(dhcp_full, &c, err), 0);
	l = dhcp_leases_create(1024, 1 << 16);
	assert_non_null(l);
	s = dhcp_server_create(&c.dhcp->engine, l);
	assert_non_null(s);
	dhcp_server_destroy(s);
	dhcp_leases_destroy(l);
	config_free(&c);
}

static const struct {
	const char *text;
	const char *error;
} dhcp_bad[] = {
	{ "[dhcp]\nmode = relay\n", "test.conf:2: mode: expected server or proxy" },
	{ "[dhcp]\nunknown-hosts = maybe\n", "test.conf:2: unknown-hosts: expected serve or ignore" },
	{ "[dhcp]\nlease-file = leases\n", "test.conf:2: lease-file: expected an absolute path" },
	{ "[dhcp]\ninterfaces = averyveryverylongname0\n",
	  "test.conf:2: interfaces: interface name too long" },
	{ "[dhcp]\ninterfaces = ,\n", "test.conf:2: interfaces: empty list" },
	{ "[dhcp]\nleases = 3\n", "test.conf:2: leases: unknown key" },
	{ "[dhcp x]\n", "test.conf:1: [dhcp x]: this section takes no name" },
	{ "[tftp x]\n", "test.conf:1: [tftp x]: this section takes no name" },
	{ "[subnet]\n", "test.conf:1: [subnet]: needs a name" },
	{ "[subnet a]\n[subnet a]\n", "test.conf:2: [subnet a]: defined twice" },
	{ "[subnet a]\nnetwork = 10.0.0.1/24\n",
	  "test.conf:2: network: host bits set (give the network address)" },
	{ "[subnet a]\nnetwork = 10.0.0.0/33\n", "test.conf:2: network: expected ADDR/PREFIX" },
	{ "[subnet a]\nnetwork = 10.0.0.0\n", "test.conf:2: network: expected ADDR/PREFIX" },
	{ "[subnet a]\npool = 10.0.0.5\n", "test.conf:2: pool: expected FIRST - LAST" },
	{ "[subnet a]\ndns = 1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5\n",
	  "test.conf:2: dns: too many items" },
	{ "[subnet a]\nrouter = gateway\n", "test.conf:2: router: expected an IPv4 address" },
	{ "[subnet a]\nlease-time = 5\n", "test.conf:2: lease-time: out of range" },
	{ "[subnet a]\ndomain = bad domain\n", "test.conf:2: domain: expected a domain name" },
	{ "[host aa:bb:cc:dd:ee]\n",
	  "test.conf:1: [host aa:bb:cc:dd:ee]: expected a MAC address aa:bb:cc:dd:ee:ff" },
	{ "[host aa:bb:cc:dd:ee:fg]\n",
	  "test.conf:1: [host aa:bb:cc:dd:ee:fg]: expected a MAC address aa:bb:cc:dd:ee:ff" },
	{ "[host aa:bb:cc:dd:ee:ff]\n[host AA:BB:CC:DD:EE:FF]\n",
	  "test.conf:2: [host AA:BB:CC:DD:EE:FF]: defined twice" },
	{ "[host aa:bb:cc:dd:ee:ff]\nhostname = a b\n",
	  "test.conf:2: hostname: expected a host name of [A-Za-z0-9._-], at most 63 bytes" },
	{ "[host aa:bb:cc:dd:ee:ff]\nuefi = x\n", "test.conf:2: uefi: unknown key" },
	{ "[boot]\nbios =\n", "test.conf:2: bios: expected a file name or URL of 1..255 bytes" },
	{ "[profile]\n", "test.conf:1: [profile]: needs a name" },
};

static void test_dhcp_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dhcp_bad) / sizeof(dhcp_bad[0]); i++) {
		struct config c;
		char err[CONFIG_ERR_MAX];

		assert_int_equal(parse(dhcp_bad[i].text, &c, err), -1);
		assert_string_equal(err, dhcp_bad[i].error);
		config_free(&c);
	}
}

static const struct {
	const char *text;
	const char *error;
} dhcp_invalid[] = {
	{ "[dhcp]\n[subnet a]\nnetwork = 10.0.0.0/24\n",
	  "[dhcp] lease-file: required in server mode" },
	{ "[dhcp]\nlease-file = /l\n", "[dhcp] mode: server mode needs a [subnet NAME] section" },
	{ "[dhcp]\nlease-file = /l\n[subnet a]\npool = 10.0.0.1 - 10.0.0.2\n",
	  "[subnet a] network: required" },
	{ "[dhcp]\nlease-file = /l\n[subnet a]\nnetwork = 10.0.0.0/24\npool = 10.0.1.1 - 10.0.1.2\n",
	  "[subnet a] pool: not inside the network" },
	{ "[dhcp]\nlease-file = /l\n[subnet a]\nnetwork = 10.0.0.0/24\npool = 10.0.0.9 - 10.0.0.2\n",
	  "[subnet a] pool: first address after the last" },
	{ "[dhcp]\nlease-file = /l\n[subnet a]\nnetwork = 10.0.0.0/24\nlease-time = 600\n"
	  "renew-time = 600\n",
	  "[subnet a] renew-time < rebind-time < lease-time required" },
	{ "[dhcp]\nlease-file = /l\n[subnet a]\nnetwork = 10.0.0.0/24\n"
	  "[host 02:00:00:00:00:01]\nip = 10.9.0.1\n",
	  "[host 02:00:00:00:00:01] ip: in no [subnet]" },
	{ "[dhcp]\nlease-file = /l\n[subnet a]\nnetwork = 10.0.0.0/24\n"
	  "[host 02:00:00:00:00:01]\nprofile = nope\n",
	  "[host 02:00:00:00:00:01] profile: no [profile nope]" },
};

static void test_dhcp_validate(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(dhcp_invalid) / sizeof(dhcp_invalid[0]); i++) {
		assert_int_equal(parse(dhcp_invalid[i].text, &c, err), 0);
		assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
		assert_string_equal(err, dhcp_invalid[i].error);
		config_free(&c);
	}
	/* Proxy mode owns no addresses: no lease file, no subnet needed. */
	assert_int_equal(parse("[dhcp]\nmode = proxy\n[boot]\nbios = pxelinux.0\n", &c, err), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	assert_int_equal(c.dhcp->engine.mode, DHCP_MODE_PROXY);
	config_free(&c);
	/* enable = no: the sections are parsed but nothing is required. */
	assert_int_equal(parse("[dhcp]\nenable = no\n", &c, err), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	assert_false(c.dhcp->enabled);
	config_free(&c);
}

static void test_http_section(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(parse("[tftp]\nroot=/srv/tftp\n[http]\nlisten = 10.0.0.1:8080\n", &c, err), 0);
	assert_true(c.http_enabled);
	assert_string_equal(c.http_root, "");
	assert_int_equal(c.http.listen_ip, inet_addr("10.0.0.1"));
	assert_int_equal(ntohs(c.http.listen_port), 8080);
	assert_int_equal(c.http.tls_listen_port, 0);
	assert_int_equal(c.http.max_connections, 1024);
	assert_int_equal(c.http.idle_timeout_us, 60000000ull);
	assert_int_equal(c.http.header_timeout_us, 10000000ull);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);

	assert_int_equal(parse("[http]\nroot = /srv/www\nlisten = 10.0.0.1\n"
			       "https-listen = 10.0.0.1\ncertificate = /etc/c.pem\n"
			       "key = /etc/k.pem\nmax-connections = 20\nidle-timeout = 5\n"
			       "header-timeout = 2\n",
			       &c, err),
			 0);
	assert_string_equal(c.http_root, "/srv/www");
	assert_int_equal(ntohs(c.http.listen_port), 80);
	assert_int_equal(ntohs(c.http.tls_listen_port), 443);
	assert_string_equal(c.http_certificate, "/etc/c.pem");
	assert_string_equal(c.http_key, "/etc/k.pem");
	assert_int_equal(c.http.max_connections, 20);
	assert_int_equal(c.http.idle_timeout_us, 5000000ull);
	assert_int_equal(c.http.header_timeout_us, 2000000ull);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	assert_false(c.tftp_enabled);
}

static void test_http_errors(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(parse("[http]\nlisten = nowhere\n", &c, err), -1);
	assert_string_equal(err, "test.conf:2: listen: expected ADDR or ADDR:PORT");
	assert_int_equal(parse("[http]\nmax-connections = 0\n", &c, err), -1);
	assert_int_equal(parse("[http]\nroot = relative\n", &c, err), -1);
	assert_int_equal(parse("[http]\nindex = yes\n", &c, err), -1);
	assert_string_equal(err, "test.conf:2: index: unknown key");
	/* No root anywhere. */
	assert_int_equal(parse("[http]\nlisten = 10.0.0.1\n", &c, err), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
	/* HTTPS without its key. */
	assert_int_equal(parse("[http]\nroot=/x\nhttps-listen = 10.0.0.1:8443\n"
			       "certificate = /c.pem\n", &c, err), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "[http] https-listen: needs certificate and key");
	assert_int_equal(parse("[http]\nenable = no\n", &c, err), 0);
	assert_false(c.http_enabled);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
}

static void test_provisioning_keys(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	const struct config_vars *hv, *pv;

	(void)state;
	assert_int_equal(parse("[http]\nroot=/srv\ntemplates = /etc/pxecast/templates\n"
			       "host-state-file = /var/lib/pxecast/hosts\n"
			       "token-secret-file = /var/lib/pxecast/token.key\n"
			       "require-token = yes\ntoken-lifetime = 7200\ndefault-profile = alma9\n"
			       "[profile alma9]\nkernel = images/alma9/vmlinuz\n"
			       "append = inst.ks=${ks_url}\ninstall-template = alma9.ks\n"
			       "var.disk = sda\nefi64 = snponly.efi\n"
			       "[host 52:54:00:00:00:01]\nprofile = alma9\nvar.disk = nvme0n1\n",
			       &c, err),
			 0);
	assert_string_equal(c.templates_dir, "/etc/pxecast/templates");
	assert_string_equal(c.host_state_file, "/var/lib/pxecast/hosts");
	assert_string_equal(c.token_secret_file, "/var/lib/pxecast/token.key");
	assert_true(c.require_token);
	assert_int_equal(c.token_lifetime, 7200);
	assert_string_equal(c.default_profile, "alma9");
	pv = &c.dhcp->profile_vars[0];
	assert_int_equal(pv->n, 4);
	assert_string_equal(pv->kv[0].key, "kernel");
	assert_string_equal(pv->kv[2].key, "install-template");
	assert_string_equal(pv->kv[3].key, "disk");
	assert_string_equal(pv->kv[3].value, "sda");
	/* a boot key still reaches the DHCP engine */
	assert_string_equal(c.dhcp->profiles[0].boot.efi64, "snponly.efi");
	hv = &c.dhcp->host_vars[0];
	assert_int_equal(hv->n, 1);
	assert_string_equal(hv->kv[0].value, "nvme0n1");
	config_free(&c);
}

static void test_provisioning_errors(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(parse("[profile p]\nvar.mac = x\n", &c, err), -1);
	assert_string_equal(err, "test.conf:2: var.mac: var.NAME: that name is a built-in");
	config_free(&c);
	assert_int_equal(parse("[profile p]\nvar.a-b = x\n", &c, err), -1);
	assert_string_equal(err, "test.conf:2: var.a-b: var.NAME: a name of 1..63 letters, digits and '_'");
	config_free(&c);
	assert_int_equal(parse("[profile p]\ninstall-template = ../../etc/shadow\n", &c, err), -1);
	assert_string_equal(err, "test.conf:2: install-template: expected a file name in the templates directory");
	config_free(&c);
	assert_int_equal(parse("[host 52:54:00:00:00:01]\nkernel = a\nkernel = b\n", &c, err), -1);
	assert_string_equal(err, "test.conf:3: kernel: given twice");
	config_free(&c);
	assert_int_equal(parse("[host 52:54:00:00:00:01]\nkernal = a\n", &c, err), -1);
	assert_string_equal(err, "test.conf:2: kernal: unknown key");
	config_free(&c);
	assert_int_equal(parse("[http]\ntoken-lifetime = 10\n", &c, err), -1);
	assert_int_equal(parse("[http]\nrequire-token = maybe\n", &c, err), -1);
}

static void test_mtftp_section(void **state)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(parse("[tftp]\nroot=/srv\n[mtftp]\n", &c, err), 0);
	assert_true(c.mtftp.enabled); /* the section alone switches it on, with defaults */
	assert_int_equal(c.mtftp.group_first, inet_addr("239.255.1.0"));
	assert_int_equal(c.mtftp.group_count, 256);
	assert_int_equal(ntohs(c.mtftp.port), 1758);
	assert_int_equal(c.mtftp.npxe, 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	assert_int_equal(parse("[tftp]\nroot=/srv\n[mtftp]\ngroups = 239.1.2.0/30\nport = 2000\n"
			       "ttl = 4\nwindow = 16\nmax-blksize = 1024\nmax-clients = 9\n"
			       "retransmit-ms = 200\nretransmit-max-ms = 900\nmax-retries = 2\n"
			       "pxe-listen = 10.0.0.1:1759\npxe-client-port = 3001\n"
			       "pxe-open-timeout = 3\npxe-reopen-delay = 4\n"
			       "pxe-file = undionly.kpxe   239.255.2.1\npxe-file = a b.efi 239.255.2.2\n",
			       &c, err), 0);
	assert_int_equal(c.mtftp.group_first, inet_addr("239.1.2.0"));
	assert_int_equal(c.mtftp.group_count, 4);
	assert_int_equal(ntohs(c.mtftp.port), 2000);
	assert_int_equal(c.mtftp.ttl, 4);
	assert_int_equal(c.mtftp.window, 16);
	assert_int_equal(c.mtftp.max_blksize, 1024);
	assert_int_equal(c.mtftp.max_clients, 9);
	assert_int_equal(c.mtftp.timing.retransmit_ms, 200);
	assert_int_equal(c.mtftp.timing.retransmit_max_ms, 900);
	assert_int_equal(c.mtftp.timing.max_retries, 2);
	assert_int_equal(c.mtftp.pxe_listen_ip, inet_addr("10.0.0.1"));
	assert_int_equal(ntohs(c.mtftp.pxe_server_port), 1759);
	assert_int_equal(ntohs(c.mtftp.pxe_client_port), 3001);
	assert_int_equal(c.mtftp.pxe_open_timeout, 3);
	assert_int_equal(c.mtftp.pxe_reopen_delay, 4);
	assert_int_equal(c.mtftp.npxe, 2);
	assert_string_equal(c.mtftp.pxe[0].name, "undionly.kpxe");
	assert_string_equal(c.mtftp.pxe[1].name, "a b.efi");
	assert_int_equal(mtftp_pxe_group(&c.mtftp, "a b.efi"), inet_addr("239.255.2.2"));
	assert_int_equal(mtftp_pxe_group(&c.mtftp, "other"), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	{
		struct dhcp_mtftp d;

		config_mtftp_dhcp(&c, &d);
		assert_non_null(d.group_of);
		assert_int_equal(d.group_of(d.ctx, "undionly.kpxe"), inet_addr("239.255.2.1"));
		assert_int_equal(ntohs(d.cport), 3001);
		assert_int_equal(ntohs(d.sport), 1759);
		assert_int_equal(d.tmout, 3);
		assert_int_equal(d.delay, 4);
	}
	assert_int_equal(parse("[tftp]\nroot=/srv\n[mtftp]\nenable = no\n", &c, err), 0);
	assert_false(c.mtftp.enabled);
}

static void test_mtftp_errors(void **state)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "[mtftp]\ngroups = 10.0.0.0/24\n", "test.conf:2: groups: not a multicast network address" },
		{ "[mtftp]\ngroups = 239.255.1.1/24\n", "test.conf:2: groups: not a multicast network address" },
		{ "[mtftp]\ngroups = 239.255.0.0/8\n", NULL },
		{ "[mtftp]\ngroups = 239.255.1.0\n", NULL },
		{ "[mtftp]\nport = 0\n", "test.conf:2: port: out of range" },
		{ "[mtftp]\nttl = 256\n", NULL },
		{ "[mtftp]\nwindow = 33\n", NULL },
		{ "[mtftp]\nmax-blksize = 9000\n", NULL },
		{ "[mtftp]\npxe-file = undionly.kpxe\n", NULL },
		{ "[mtftp]\npxe-file = undionly.kpxe 10.1.1.1\n", NULL },
		{ "[mtftp]\npxe-file = a 239.1.1.1\npxe-file = b 239.1.1.1\n",
		  "test.conf:3: pxe-file: group already used by another pxe-file" },
		{ "[mtftp]\nmulticast = yes\n", "test.conf:2: multicast: unknown key" },
		{ "[mtftp x]\n", NULL },
	};
	struct config c;
	char err[CONFIG_ERR_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].text, &c, err) != -1)
			fail_msg("accepted: %s", bad[i].text);
		if (bad[i].err)
			assert_string_equal(err, bad[i].err);
	}
	/* Cross-field: needs TFTP; a PXE group inside the pool; the TFTP port. */
	assert_int_equal(parse("[mtftp]\n", &c, err), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
	assert_int_equal(parse("[tftp]\nroot=/s\n[mtftp]\npxe-file = f 239.255.1.9\n", &c, err), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "[mtftp] pxe-file f: its group is inside groups");
	assert_int_equal(parse("[tftp]\nroot=/s\n[mtftp]\npxe-file = f 239.2.1.9\n"
			       "pxe-listen = 0.0.0.0:69\n", &c, err), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_tftp_section),
		cmocka_unit_test(test_listen_without_port_keeps_69),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_nul_and_long_lines),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_dhcp_sections),
		cmocka_unit_test(test_dhcp_engine_accepts),
		cmocka_unit_test(test_dhcp_errors),
		cmocka_unit_test(test_dhcp_validate),
		cmocka_unit_test(test_http_section),
		cmocka_unit_test(test_http_errors),
		cmocka_unit_test(test_provisioning_keys),
		cmocka_unit_test(test_provisioning_errors),
		cmocka_unit_test(test_mtftp_section),
		cmocka_unit_test(test_mtftp_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
