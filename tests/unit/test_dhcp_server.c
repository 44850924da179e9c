/* DHCP server engine, driven by fake clients and a fake clock: DORA,
 * renew/rebind/init-reboot, NAKs, holds, decline, release, inform,
 * exhaustion, boot policy per firmware, proxy mode, relays, drops. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/mman.h>
#include <unistd.h>

#include "test_dhcp_client.h"

#define T0 1700000000ull
#define SEC 1000000ull
#define SERVER IP(10, 0, 0, 2)

static const struct dhcp_subnet subnets[] = {
	{ .network = IP(10, 0, 0, 0), .netmask = IP(255, 255, 255, 0),
	  .pool_start = IP(10, 0, 0, 100), .pool_end = IP(10, 0, 0, 199),
	  .router = IP(10, 0, 0, 1), .dns = { IP(10, 0, 0, 1) }, .ndns = 1,
	  .domain = "lab", .ifindex = 2 },
	{ .network = IP(10, 0, 1, 0), .netmask = IP(255, 255, 255, 0),
	  .pool_start = IP(10, 0, 1, 10), .pool_end = IP(10, 0, 1, 12),
	  .router = IP(10, 0, 1, 1), .lease_time = 600 },
};

static const struct dhcp_profile profiles[] = {
	{ .name = "special", .boot = { .efi64 = "special.efi" } },
};

static const struct dhcp_host hosts[] = {
	{ .mac = { 0x52, 0x54, 0x00, 0xab, 0x09, 0x99 }, .ip = IP(10, 0, 0, 50),
	  .hostname = "node1", .profile = "special" },
	{ .mac = { 0x52, 0x54, 0x00, 0xab, 0x09, 0x98 } },
};

static struct dhcp_config cfg;
static struct dhcp_leases *leases;
static struct dhcp_server *srv;
static struct dhcp_reply out;
static struct dhcp_msg reply;
static uint64_t now;
static int journal;

static const struct dhcp_meta local = {
	.src_ip = 0, .src_port = 68, .local_ip = SERVER, .local_port = 67, .ifindex = 2,
};

static int setup_cfg(void)
{
	leases = dhcp_leases_create(256, 1 << 16);
	srv = dhcp_server_create(&cfg, leases);
	if (srv == NULL)
		return -1;
	dhcp_server_set_clock(srv, 5 * SEC, (int64_t)T0);
	now = 5 * SEC;
	journal = memfd_create("journal", 0);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.subnets = subnets;
	cfg.nsubnets = 2;
	cfg.hosts = hosts;
	cfg.nhosts = 2;
	cfg.profiles = profiles;
	cfg.nprofiles = 1;
	cfg.rate_burst = 1000;
	cfg.rate_per_sec = 1000;
	cfg.boot = (struct dhcp_boot){
		.bios = "undionly.kpxe", .efi64 = "ipxe.efi", .arm64 = "ipxe-arm64.efi",
		.ipxe = "http://${server}/boot/${mac}.ipxe",
		.httpboot = "http://${server}/ipxe.efi",
	};
	return setup_cfg();
}

static int teardown(void **state)
{
	(void)state;
	dhcp_server_destroy(srv);
	dhcp_leases_destroy(leases);
	close(journal);
	return 0;
}

/* Feed one request; returns what input returned. */
static int send_req(const struct fake_req *r, const struct dhcp_meta *meta)
{
	uint8_t buf[DHCP_REPLY_MAX];
	size_t n = fake_build(buf, sizeof(buf), r);
	assert_true(n > 0);
	int rc = dhcp_server_input(srv, now, meta, buf, n, &out);
	if (rc == 1)
		assert_int_equal(dhcp_msg_parse(&reply, out.buf, out.len), DHCP_OK);
	return rc;
}

/* Flush the journal and collect the one held ACK. */
static void take_ack(void)
{
	assert_false(dhcp_server_take_durable(srv, &out));
	assert_true(dhcp_server_flush(srv, journal) > 0);
	assert_true(dhcp_server_take_durable(srv, &out));
	assert_int_equal(dhcp_msg_parse(&reply, out.buf, out.len), DHCP_OK);
	assert_int_equal(reply.msgtype, DHCPACK);
}

static uint32_t opt_u32(uint8_t code)
{
	uint32_t v = 0;
	assert_true(dhcp_msg_opt_u32(&reply, code, &v));
	return v;
}

/* The code of the last option before END in out (82 must be last). */
static uint8_t last_option(void)
{
	size_t i = DHCP_MIN_LEN;
	uint8_t last = 0;

	while (i < out.len && out.buf[i] != DHCP_OPT_END) {
		if (out.buf[i] == DHCP_OPT_PAD) {
			i++;
			continue;
		}
		last = out.buf[i];
		i += 2 + (size_t)out.buf[i + 1];
	}
	return last;
}

static uint32_t dora(const uint8_t *mac, uint32_t *offered)
{
	struct fake_req r = { .type = DHCPDISCOVER, .arch = -1, .flags = DHCP_FLAG_BROADCAST };
	memcpy(r.mac, mac, 6);
	assert_int_equal(send_req(&r, &local), 1);
	assert_int_equal(reply.msgtype, DHCPOFFER);
	*offered = reply.hdr.yiaddr;
	r.type = DHCPREQUEST;
	r.server_id = SERVER;
	r.req_ip = reply.hdr.yiaddr;
	assert_int_equal(send_req(&r, &local), 0);
	take_ack();
	return reply.hdr.yiaddr;
}

static void test_dora(void **state)
{
	uint8_t mac[6];
	uint32_t offered;
	(void)state;

	fake_mac(mac, 1);
	uint32_t ip = dora(mac, &offered);
	assert_int_equal(ip, offered);
	assert_int_equal(ip, IP(10, 0, 0, 100));
	assert_int_equal(out.dest, DHCP_DEST_BROADCAST);
	assert_int_equal(out.src_ip, SERVER);
	assert_int_equal(opt_u32(DHCP_OPT_LEASE_TIME), 3600);
	assert_int_equal(opt_u32(DHCP_OPT_T1), 1800);
	assert_int_equal(opt_u32(DHCP_OPT_T2), 3150);
	uint32_t a;
	assert_true(dhcp_msg_opt_addr(&reply, DHCP_OPT_SERVER_ID, &a));
	assert_int_equal(a, SERVER);
	assert_true(dhcp_msg_opt_addr(&reply, DHCP_OPT_ROUTER, &a));
	assert_int_equal(a, IP(10, 0, 0, 1));
	assert_true(dhcp_msg_has(&reply, DHCP_OPT_DNS)); /* no option 55: all */
	assert_false(dhcp_msg_has(&reply, DHCP_OPT_VENDOR_CLASS)); /* not PXE */
	const struct dhcp_lease *e = dhcp_leases_by_mac(leases, mac, 6);
	assert_int_equal(e->state, DHCP_LEASE_BOUND);
	assert_int_equal(e->expiry, (int64_t)T0 + 3600);
	assert_int_equal(dhcp_server_counters(srv)->acks, 1);
	assert_int_equal(dhcp_server_pending(srv), 0);
	/* The ACK waited for this row. */
	char buf[512];
	ssize_t n = pread(journal, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	assert_non_null(strstr(buf, "L1 bound 52:54:00:ab:00:01 10.0.0.100 1700003600 "));

	/* Asked for DNS and domain: they come, in the order asked. */
	uint8_t prl[] = { 15, 6, 1, 3 };
	struct fake_req r = { .type = DHCPDISCOVER, .arch = -1, .prl = prl, .prl_len = 4 };
	memcpy(r.mac, mac, 6);
	assert_int_equal(send_req(&r, &local), 1);
	assert_int_equal(reply.hdr.yiaddr, ip); /* bound: same address */
	assert_true(dhcp_msg_has(&reply, DHCP_OPT_DNS));
	assert_false(dhcp_msg_has(&reply, DHCP_OPT_BROADCAST)); /* not asked for */
	size_t dl;
	const uint8_t *d = dhcp_msg_opt(&reply, DHCP_OPT_DOMAIN, &dl);
	assert_int_equal(dl, 3);
	assert_memory_equal(d, "lab", 3);
	assert_int_equal(out.dest, DHCP_DEST_LINK); /* no broadcast flag */
	assert_int_equal(out.ip, ip);
	assert_memory_equal(out.chaddr, mac, 6);
}

static void test_renew_rebind_init_reboot(void **state)
{
	uint8_t mac[6], other[6];
	uint32_t offered;
	(void)state;

	fake_mac(mac, 2);
	uint32_t ip = dora(mac, &offered);
	now += 1800 * SEC;
	/* RENEWING: unicast from ciaddr, no 50/54. */
	struct fake_req r = { .type = DHCPREQUEST, .arch = -1, .ciaddr = ip };
	memcpy(r.mac, mac, 6);
	struct dhcp_meta uni = local;
	uni.src_ip = ip;
	assert_int_equal(send_req(&r, &uni), 0);
	take_ack();
	assert_int_equal(reply.hdr.yiaddr, ip);
	assert_int_equal(out.dest, DHCP_DEST_UNICAST);
	assert_int_equal(out.ip, ip);
	assert_int_equal(out.port, 68);
	assert_int_equal(dhcp_leases_by_mac(leases, mac, 6)->expiry, (int64_t)T0 + 1800 + 3600);
	/* REBINDING: the same, broadcast. */
	now += 1500 * SEC;
	assert_int_equal(send_req(&r, &local), 0);
	take_ack();
	assert_int_equal(reply.hdr.yiaddr, ip);
	/* INIT-REBOOT: 50, no 54, ciaddr 0. */
	r.ciaddr = 0;
	r.req_ip = ip;
	assert_int_equal(send_req(&r, &local), 0);
	take_ack();
	/* INIT-REBOOT on the wrong network: NAK, broadcast. */
	r.req_ip = IP(192, 168, 1, 5);
	assert_int_equal(send_req(&r, &local), 1);
	assert_int_equal(reply.msgtype, DHCPNAK);
	assert_int_equal(reply.hdr.yiaddr, 0);
	assert_int_equal(out.dest, DHCP_DEST_BROADCAST);
	/* Outside the pool: NAK and counted. */
	r.req_ip = IP(10, 0, 0, 20);
	assert_int_equal(send_req(&r, &local), 1);
	assert_int_equal(reply.msgtype, DHCPNAK);
	assert_int_equal(dhcp_server_counters(srv)->outside_pool, 1);
	/* A free address, but this client is bound to another one: NAK. */
	r.req_ip = IP(10, 0, 0, 180);
	assert_int_equal(send_req(&r, &local), 1);
	assert_int_equal(reply.msgtype, DHCPNAK);
	/* Someone else's address: NAK. */
	fake_mac(other, 3);
	memcpy(r.mac, other, 6);
	r.req_ip = ip;
	assert_int_equal(send_req(&r, &local), 1);
	assert_int_equal(reply.msgtype, DHCPNAK);
	assert_int_equal(dhcp_server_counters(srv)->naks, 4);
	/* A REQUEST for another server's offer: silence. */
	r.server_id = IP(10, 0, 0, 3);
	assert_int_equal(send_req(&r, &local), 0);
	assert_int_equal(dhcp_server_counters(srv)->foreign_server, 1);
	/* Neither 50 nor ciaddr. */
	struct fake_req bad = { .type = DHCPREQUEST, .arch = -1 };
	assert_int_equal(send_req(&bad, &local), 0);
	assert_int_equal(dhcp_server_counters(srv)->bad_request, 1);
}

/* Machines switched on together: each offer holds its address. */
static void test_simultaneous_discovers(void **state)
{
	uint32_t seen[20];
	(void)state;

	for (unsigned i = 0; i < 20; i++) {
		struct fake_req r = { .type = DHCPDISCOVER, .arch = -1 };
		fake_mac(r.mac, 100 + i);
		assert_int_equal(send_req(&r, &local), 1);
		seen[i] = reply.hdr.yiaddr;
		for (unsigned k = 0; k < i; k++)
			assert_int_not_equal(seen[k], seen[i]);
	}
	/* A retransmitted DISCOVER gets the same address again. */
	struct fake_req r = { .type = DHCPDISCOVER, .arch = -1 };
	fake_mac(r.mac, 105);
	assert_int_equal(send_req(&r, &local), 1);
	assert_int_equal(reply.hdr.yiaddr, seen[5]);
}

static void test_decline_release(void **state)
{
	uint8_t mac[6], mac2[6];
	uint32_t offered;
	(void)state;

	fake_mac(mac, 4);
	uint32_t ip = dora(mac, &offered);
	struct fake_req d = { .type = DHCPDECLINE, .arch = -1, .req_ip = ip, .server_id = SERVER };
	memcpy(d.mac, mac, 6);
	assert_int_equal(send_req(&d, &local), 0);
	assert_int_equal(dhcp_server_counters(srv)->declines, 1);
	assert_int_equal(dhcp_leases_by_ip(leases, ip)->state, DHCP_LEASE_DECLINED);
	/* Neither the decliner nor anyone else is offered it now. */
	uint32_t ip2 = dora(mac, &offered);
	assert_int_not_equal(ip2, ip);
	fake_mac(mac2, 5);
	struct fake_req r = { .type = DHCPDISCOVER, .arch = -1, .req_ip = ip };
	memcpy(r.mac, mac2, 6);
	assert_int_equal(send_req(&r, &local), 1);
	assert_int_not_equal(reply.hdr.yiaddr, ip);
	/* A DECLINE for an address the client does not have: counted. */
	d.req_ip = IP(10, 0, 0, 150);
	assert_int_equal(send_req(&d, &local), 0);
	assert_int_equal(dhcp_server_counters(srv)->not_leased, 1);

	/* RELEASE frees it; the same machine gets it back. */
	struct fake_req rel = { .type = DHCPRELEASE, .arch = -1, .ciaddr = ip2,
				.server_id = SERVER };
	memcpy(rel.mac, mac, 6);
	assert_int_equal(send_req(&rel, &local), 0);
	assert_int_equal(dhcp_server_counters(srv)->releases, 1);
	assert_int_equal(dhcp_leases_by_mac(leases, mac, 6)->state, DHCP_LEASE_FREE);
	assert_int_equal(dora(mac, &offered), ip2);
	rel.server_id = IP(1, 2, 3, 4);
	assert_int_equal(send_req(&rel, &local), 0);
	assert_int_equal(dhcp_server_counters(srv)->foreign_server, 1);

	/* After the quarantine the declined address is usable again (a
	 * fresh client: mac2 would get its own previous address first). */
	now += 601 * SEC;
	fake_mac(r.mac, 6);
	r.req_ip = ip;
	assert_int_equal(send_req(&r, &local), 1);
	assert_int_equal(reply.hdr.yiaddr, ip);
}

/* Relay on 10.0.1.0/24 whose pool has three addresses. */
static void test_relay_and_exhaustion(void **state)
{
	const uint8_t r82[] = { 1, 3, 'p', '1', '7', 2, 2, 's', 'w' };
	struct dhcp_meta relay = local;
	uint32_t got[3];
	(void)state;

	relay.src_ip = IP(10, 0, 1, 1);
	relay.src_port = 67;
	relay.ifindex = 3;
	for (unsigned i = 0; i < 4; i++) {
		struct fake_req r = { .type = DHCPDISCOVER, .arch = -1,
				      .giaddr = IP(10, 0, 1, 1), .relay82 = r82,
				      .relay82_len = sizeof(r82) };
		fake_mac(r.mac, 200 + i);
		int rc = send_req(&r, &relay);
		if (i == 3) {
			assert_int_equal(rc, 0);
			break;
		}
		assert_int_equal(rc, 1);
		got[i] = reply.hdr.yiaddr;
		assert_int_equal(got[i], IP(10, 0, 1, 10 + i));
		assert_int_equal(out.dest, DHCP_DEST_UNICAST);
		assert_int_equal(out.ip, IP(10, 0, 1, 1));
		assert_int_equal(out.port, 67);
		assert_int_equal(reply.hdr.giaddr, IP(10, 0, 1, 1));
		assert_int_equal(opt_u32(DHCP_OPT_LEASE_TIME), 600);
		size_t n;
		const uint8_t *e = dhcp_msg_opt(&reply, DHCP_OPT_RELAY_AGENT, &n);
		assert_int_equal(n, sizeof(r82));
		assert_memory_equal(e, r82, n);
		assert_int_equal(last_option(), DHCP_OPT_RELAY_AGENT);
	}
	assert_int_equal(dhcp_server_counters(srv)->pool_exhausted, 1);
	/* The offers run out; the pool serves again. */
	now += 61 * SEC;
	struct fake_req r = { .type = DHCPDISCOVER, .arch = -1, .giaddr = IP(10, 0, 1, 1) };
	fake_mac(r.mac, 203);
	assert_int_equal(send_req(&r, &relay), 1);
	/* A relayed NAK asks the relay to broadcast. */
	r.type = DHCPREQUEST;
	r.req_ip = IP(10, 0, 0, 100);
	assert_int_equal(send_req(&r, &relay), 1);
	assert_int_equal(reply.msgtype, DHCPNAK);
	assert_true(reply.hdr.flags & DHCP_FLAG_BROADCAST);
	assert_int_equal(out.ip, IP(10, 0, 1, 1));
	/* A relay we have no subnet for. */
	r.giaddr = IP(172, 16, 0, 1);
	assert_int_equal(send_req(&r, &relay), 0);
	assert_int_equal(dhcp_server_counters(srv)->no_subnet, 1);
}

static void test_inform(void **state)
{
	struct fake_req r = { .type = DHCPINFORM, .arch = -1, .ciaddr = IP(10, 0, 0, 30) };
	(void)state;

	fake_mac(r.mac, 6);
	assert_int_equal(send_req(&r, &local), 1);
	assert_int_equal(reply.msgtype, DHCPACK);
	assert_int_equal(reply.hdr.yiaddr, 0);
	assert_int_equal(reply.hdr.ciaddr, IP(10, 0, 0, 30));
	assert_false(dhcp_msg_has(&reply, DHCP_OPT_LEASE_TIME));
	assert_true(dhcp_msg_has(&reply, DHCP_OPT_SUBNET_MASK));
	assert_int_equal(out.dest, DHCP_DEST_UNICAST);
	assert_int_equal(out.ip, IP(10, 0, 0, 30));
	assert_int_equal(dhcp_server_counters(srv)->informs, 1);
}

struct arch_vec {
	const char *vendor;
	int arch;
	const char *user_class;
	const char *file;
	const char *echo;
};

static const struct arch_vec arch_vecs[] = {
	{ "PXEClient:Arch:00000:UNDI:002001", 0, NULL, "undionly.kpxe", "PXEClient" },
	{ "PXEClient:Arch:00007:UNDI:003016", 7, NULL, "ipxe.efi", "PXEClient" },
	{ "PXEClient:Arch:00009:UNDI:003016", 9, NULL, "ipxe.efi", "PXEClient" },
	{ "PXEClient:Arch:00011:UNDI:003000", 11, NULL, "ipxe-arm64.efi", "PXEClient" },
	{ "HTTPClient:Arch:00016:UNDI:003001", 16, NULL, "http://10.0.0.2/ipxe.efi",
	  "HTTPClient" },
	{ "PXEClient:Arch:00000:UNDI:002001", 0, "iPXE",
	  "http://10.0.0.2/boot/52:54:00:ab:00:0a.ipxe", "PXEClient" },
};

/* Each firmware gets its file, and every boot field agrees. */
static void test_boot_per_arch(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(arch_vecs) / sizeof(arch_vecs[0]); i++) {
		const struct arch_vec *v = &arch_vecs[i];
		struct fake_req r = { .type = DHCPDISCOVER, .arch = v->arch, .vendor = v->vendor,
				      .user_class = v->user_class, .uuid = true };
		size_t n;
		fake_mac(r.mac, 10);
		assert_int_equal(send_req(&r, &local), 1);
		const uint8_t *f67 = dhcp_msg_opt(&reply, DHCP_OPT_BOOTFILE, &n);
		assert_non_null(f67);
		if (n != strlen(v->file) || memcmp(f67, v->file, n) != 0)
			fail_msg("arch %d: got %.*s", v->arch, (int)n, f67);
		assert_string_equal((const char *)reply.hdr.file, v->file);
		assert_int_equal(reply.hdr.siaddr, SERVER);
		assert_string_equal((const char *)reply.hdr.sname, "10.0.0.2");
		const uint8_t *f66 = dhcp_msg_opt(&reply, DHCP_OPT_TFTP_SERVER, &n);
		assert_int_equal(n, 8);
		assert_memory_equal(f66, "10.0.0.2", 8);
		const uint8_t *vc = dhcp_msg_opt(&reply, DHCP_OPT_VENDOR_CLASS, &n);
		assert_int_equal(n, strlen(v->echo));
		assert_memory_equal(vc, v->echo, n);
		assert_true(dhcp_msg_has(&reply, DHCP_OPT_UUID));
		const uint8_t *v43 = dhcp_msg_opt(&reply, DHCP_OPT_VENDOR, &n);
		if (strcmp(v->echo, "PXEClient") == 0) {
			struct dhcp_pxe43 x;
			assert_non_null(v43);
			assert_int_equal(dhcp_pxe43_parse(&x, v43, n), 0);
			assert_true(x.has_discovery_control);
			assert_int_equal(x.discovery_control, DHCP_PXE_DC_USE_BOOTFILE);
		} else {
			assert_null(v43);
		}
	}
}

/* A reserved host: its address, its name, its profile's file. */
static void test_reservation_profile(void **state)
{
	uint8_t prl[] = { 12, 1, 3 };
	struct fake_req r = { .type = DHCPDISCOVER, .arch = 7, .vendor = "PXEClient",
			      .prl = prl, .prl_len = 3, .hostname = "ignored" };
	size_t n;
	(void)state;

	memcpy(r.mac, hosts[0].mac, 6);
	assert_int_equal(send_req(&r, &local), 1);
	assert_int_equal(reply.hdr.yiaddr, IP(10, 0, 0, 50));
	assert_string_equal((const char *)reply.hdr.file, "special.efi");
	const uint8_t *h = dhcp_msg_opt(&reply, DHCP_OPT_HOSTNAME, &n);
	assert_int_equal(n, 5);
	assert_memory_equal(h, "node1", 5);
	r.arch = 0; /* the profile sets no BIOS file: the global one */
	assert_int_equal(send_req(&r, &local), 1);
	assert_string_equal((const char *)reply.hdr.file, "undionly.kpxe");
	/* Another client may not take the reserved address. */
	struct fake_req o = { .type = DHCPREQUEST, .arch = -1, .req_ip = IP(10, 0, 0, 50) };
	fake_mac(o.mac, 11);
	assert_int_equal(send_req(&o, &local), 1);
	assert_int_equal(reply.msgtype, DHCPNAK);
	/* The host takes it, and the journal records its inventory name. */
	r.type = DHCPREQUEST;
	r.req_ip = IP(10, 0, 0, 50);
	r.server_id = SERVER;
	assert_int_equal(send_req(&r, &local), 0);
	take_ack();
	assert_string_equal(dhcp_leases_by_mac(leases, hosts[0].mac, 6)->hostname, "node1");
}

static void test_unknown_host_policy(void **state)
{
	struct fake_req r = { .type = DHCPDISCOVER, .arch = -1 };
	(void)state;

	teardown(state);
	cfg.unknown = DHCP_UNKNOWN_IGNORE;
	assert_int_equal(setup_cfg(), 0);
	fake_mac(r.mac, 12);
	assert_int_equal(send_req(&r, &local), 0);
	assert_int_equal(dhcp_server_counters(srv)->unknown_host, 1);
	memcpy(r.mac, hosts[1].mac, 6);
	assert_int_equal(send_req(&r, &local), 1);
	assert_int_equal(reply.msgtype, DHCPOFFER);
}

static void test_proxy_mode(void **state)
{
	const uint8_t item[] = { 71, 4, 0x80, 0x00, 0x00, 0x00, 255 };
	(void)state;

	teardown(state);
	cfg.mode = DHCP_MODE_PROXY;
	assert_int_equal(setup_cfg(), 0);
	struct fake_req r = { .type = DHCPDISCOVER, .arch = 0,
			      .vendor = "PXEClient:Arch:00000:UNDI:002001" };
	fake_mac(r.mac, 13);
	assert_int_equal(send_req(&r, &local), 1);
	assert_int_equal(reply.msgtype, DHCPOFFER);
	assert_int_equal(reply.hdr.yiaddr, 0);
	assert_int_equal(reply.hdr.siaddr, SERVER);
	assert_string_equal((const char *)reply.hdr.file, "undionly.kpxe");
	assert_false(dhcp_msg_has(&reply, DHCP_OPT_LEASE_TIME));
	assert_false(dhcp_msg_has(&reply, DHCP_OPT_SUBNET_MASK));
	assert_true(dhcp_msg_vendor_class_is(&reply, "PXEClient"));
	assert_int_equal(out.dest, DHCP_DEST_BROADCAST);
	assert_null(dhcp_leases_by_mac(leases, r.mac, 6));
	/* Not a PXE client: the owning server answers it, not us. */
	struct fake_req os = { .type = DHCPDISCOVER, .arch = -1, .vendor = "MSFT 5.0" };
	fake_mac(os.mac, 14);
	assert_int_equal(send_req(&os, &local), 0);
	assert_int_equal(dhcp_server_counters(srv)->not_boot_client, 1);
	/* The REQUEST to the owning server is none of ours. */
	r.type = DHCPREQUEST;
	r.server_id = IP(10, 0, 0, 1);
	r.req_ip = IP(10, 0, 0, 77);
	assert_int_equal(send_req(&r, &local), 0);
	assert_int_equal(dhcp_server_counters(srv)->proxy_ignored, 1);

	/* Boot-server request on 4011 from the address it got. */
	struct dhcp_meta bs = local;
	bs.local_port = DHCP_PXE_PORT;
	bs.src_ip = IP(10, 0, 0, 77);
	bs.src_port = 68;
	struct fake_req b = { .type = DHCPREQUEST, .arch = 7, .ciaddr = IP(10, 0, 0, 77),
			      .vendor = "PXEClient:Arch:00007:UNDI:003016",
			      .vendor43 = item, .vendor43_len = sizeof(item) };
	fake_mac(b.mac, 13);
	assert_int_equal(send_req(&b, &bs), 1);
	assert_int_equal(reply.msgtype, DHCPACK);
	assert_int_equal(reply.hdr.yiaddr, 0);
	assert_string_equal((const char *)reply.hdr.file, "ipxe.efi");
	assert_int_equal(out.dest, DHCP_DEST_UNICAST);
	assert_int_equal(out.ip, IP(10, 0, 0, 77));
	assert_int_equal(out.port, 68);
	assert_int_equal(out.src_port, DHCP_PXE_PORT);
	size_t n;
	const uint8_t *v43 = dhcp_msg_opt(&reply, DHCP_OPT_VENDOR, &n);
	struct dhcp_pxe43 x;
	assert_int_equal(dhcp_pxe43_parse(&x, v43, n), 0);
	assert_true(x.has_boot_item);
	assert_int_equal(x.boot_item_type, 0x8000);
	assert_int_equal(dhcp_server_counters(srv)->boot_acks, 1);
	assert_int_equal(dhcp_leases_queued_seq(leases), 0);
}

static void test_drops_counted(void **state)
{
	uint8_t buf[DHCP_REPLY_MAX];
	struct fake_req r = { .type = DHCPDISCOVER, .arch = -1 };
	const struct dhcp_counters *c = dhcp_server_counters(srv);
	(void)state;

	fake_mac(r.mac, 20);
	size_t n = fake_build(buf, sizeof(buf), &r);
	assert_int_equal(dhcp_server_input(srv, now, &local, buf, 100, &out), 0);
	assert_int_equal(c->parse[DHCP_ERR_SHORT], 1);
	buf[236] = 0;
	assert_int_equal(dhcp_server_input(srv, now, &local, buf, n, &out), 0);
	assert_int_equal(c->parse[DHCP_ERR_COOKIE], 1);
	buf[236] = 99;
	buf[0] = DHCP_BOOTREPLY;
	assert_int_equal(dhcp_server_input(srv, now, &local, buf, n, &out), 0);
	assert_int_equal(c->not_request, 1);
	buf[0] = DHCP_BOOTREQUEST;
	buf[2] = 0;
	assert_int_equal(dhcp_server_input(srv, now, &local, buf, n, &out), 0);
	assert_int_equal(c->bad_hlen, 1);
	buf[2] = 6;
	r.type = 9; /* unknown */
	n = fake_build(buf, sizeof(buf), &r);
	assert_int_equal(dhcp_server_input(srv, now, &local, buf, n, &out), 0);
	r.type = DHCPOFFER; /* a server's message from a client */
	n = fake_build(buf, sizeof(buf), &r);
	assert_int_equal(dhcp_server_input(srv, now, &local, buf, n, &out), 0);
	assert_int_equal(c->bad_msgtype, 2);
	/* BOOTP: no option 53 */
	buf[240] = 255;
	assert_int_equal(dhcp_server_input(srv, now, &local, buf, n, &out), 0);
	assert_int_equal(c->bootp, 1);
	assert_int_equal(c->rx, 7);
}

static void test_rate_limit(void **state)
{
	struct fake_req r = { .type = DHCPDISCOVER, .arch = -1 };
	unsigned answered = 0;
	(void)state;

	teardown(state);
	cfg.rate_burst = 4;
	cfg.rate_per_sec = 1;
	assert_int_equal(setup_cfg(), 0);
	fake_mac(r.mac, 30);
	for (unsigned i = 0; i < 10; i++)
		answered += (unsigned)send_req(&r, &local);
	assert_int_equal(answered, 4);
	assert_int_equal(dhcp_server_counters(srv)->rate_limited, 6);
	now += 2 * SEC;
	answered = 0;
	for (unsigned i = 0; i < 10; i++)
		answered += (unsigned)send_req(&r, &local);
	assert_int_equal(answered, 2);
	/* Another MAC is not held back by the first. */
	fake_mac(r.mac, 31);
	assert_int_equal(send_req(&r, &local), 1);
}

/* ACKs wait for the journal; a failed flush keeps them waiting. */
static void test_held_acks(void **state)
{
	(void)state;

	teardown(state);
	cfg.max_pending = 2;
	assert_int_equal(setup_cfg(), 0);
	for (unsigned i = 0; i < 3; i++) {
		struct fake_req r = { .type = DHCPREQUEST, .arch = -1,
				      .req_ip = IP(10, 0, 0, 120 + i) };
		fake_mac(r.mac, 40 + i);
		assert_int_equal(send_req(&r, &local), 0);
	}
	assert_int_equal(dhcp_server_pending(srv), 2);
	assert_int_equal(dhcp_server_counters(srv)->pending_full, 1);
	assert_false(dhcp_server_take_durable(srv, &out));
	assert_true(dhcp_server_flush(srv, -1) < 0);
	assert_false(dhcp_server_take_durable(srv, &out));
	assert_int_equal(dhcp_server_flush(srv, journal), 2);
	assert_true(dhcp_server_take_durable(srv, &out));
	assert_true(dhcp_server_take_durable(srv, &out));
	assert_false(dhcp_server_take_durable(srv, &out));
	assert_int_equal(dhcp_msg_parse(&reply, out.buf, out.len), DHCP_OK);
	assert_int_equal(reply.hdr.yiaddr, IP(10, 0, 0, 121));
}

static void test_bad_config(void **state)
{
	struct dhcp_config bad = cfg;
	struct dhcp_host dup[2] = { hosts[0], hosts[0] };
	struct dhcp_host noprof = { .mac = { 1 }, .profile = "nope" };
	struct dhcp_subnet wide = subnets[0];
	(void)state;

	bad.hosts = dup;
	assert_null(dhcp_server_create(&bad, leases));
	bad.hosts = &noprof;
	bad.nhosts = 1;
	assert_null(dhcp_server_create(&bad, leases));
	bad.nhosts = 0;
	wide.pool_end = IP(10, 0, 1, 5); /* outside the subnet */
	bad.subnets = &wide;
	bad.nsubnets = 1;
	assert_null(dhcp_server_create(&bad, leases));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_dora),
		T(test_renew_rebind_init_reboot),
		T(test_simultaneous_discovers),
		T(test_decline_release),
		T(test_relay_and_exhaustion),
		T(test_inform),
		T(test_boot_per_arch),
		T(test_reservation_profile),
		T(test_unknown_host_policy),
		T(test_proxy_mode),
		T(test_drops_counted),
		T(test_rate_limit),
		T(test_held_acks),
		T(test_bad_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
