/* libFuzzer: a stream of datagrams into the server engine. After a mode
 * byte, each record is a flags byte (source, port 67/4011, interface,
 * flush, clock step), a 2-byte length and the datagram. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "control/dhcp/dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define IPV4(a, b, c, d) __builtin_bswap32((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#else
#define IPV4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#endif

static const struct dhcp_subnet subnets[] = {
	{ .network = IPV4(10, 0, 0, 0), .netmask = IPV4(255, 255, 255, 0),
	  .pool_start = IPV4(10, 0, 0, 100), .pool_end = IPV4(10, 0, 0, 107),
	  .router = IPV4(10, 0, 0, 1), .ndns = 1, .dns = { IPV4(10, 0, 0, 1) },
	  .domain = "lab", .ifindex = 2 },
	{ .network = IPV4(10, 0, 1, 0), .netmask = IPV4(255, 255, 255, 0),
	  .pool_start = IPV4(10, 0, 1, 10), .pool_end = IPV4(10, 0, 1, 12) },
};
static const struct dhcp_host hosts[] = {
	{ .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 }, .ip = IPV4(10, 0, 0, 50),
	  .hostname = "node1" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dhcp_reply out;
	static int journal = -1;
	struct dhcp_config cfg = {
		.subnets = subnets, .nsubnets = 2, .hosts = hosts, .nhosts = 1,
		.max_pending = 4,
		.boot = { .bios = "undionly.kpxe", .efi64 = "ipxe.efi",
			  .ipxe = "http://${server}/${mac}.ipxe",
			  .httpboot = "http://${server}/ipxe.efi" },
	};
	uint64_t now = 1000000;

	if (journal < 0)
		journal = memfd_create("fuzz-journal", 0);
	if (size > 0 && (data[0] & 0x80))
		cfg.mode = DHCP_MODE_PROXY;
	struct dhcp_leases *l = dhcp_leases_create(16, 4096);
	struct dhcp_server *s = dhcp_server_create(&cfg, l);
	if (l == NULL || s == NULL)
		abort();
	/* Records: flags (1 byte), length (2 bytes, big-endian), datagram. */
	for (size_t i = 1; i + 3 <= size;) {
		uint8_t f = data[i];
		size_t n = (size_t)data[i + 1] << 8 | data[i + 2];
		i += 3;
		if (n > size - i)
			n = size - i;
		struct dhcp_meta meta = {
			.src_ip = (f & 1) ? IPV4(10, 0, 0, 77) : 0,
			.src_port = 68,
			.local_ip = IPV4(10, 0, 0, 2),
			.local_port = (f & 2) ? DHCP_PXE_PORT : DHCP_SERVER_PORT,
			.ifindex = (f & 4) ? 3 : 2,
		};
		if (dhcp_server_input(s, now, &meta, data + i, n, &out) == 1 &&
		    (out.len < DHCP_MIN_LEN || out.len > DHCP_REPLY_MAX))
			abort();
		if (f & 8) {
			if (ftruncate(journal, 0) != 0)
				abort();
			dhcp_server_flush(s, journal);
			while (dhcp_server_take_durable(s, &out))
				;
		}
		now += (uint64_t)(f >> 4) * 10000000; /* up to 150 s per record */
		i += n;
	}
	dhcp_server_destroy(s);
	dhcp_leases_destroy(l);
	return 0;
}
