/* Lease table, journal rows, loader (bad rows skipped and counted),
 * group commit and compaction. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/dhcp/dhcp.h"

#define NOW 1700000000

static uint8_t mac_n(unsigned n, uint8_t *mac)
{
	uint8_t m[6] = { 0x52, 0x54, 0, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	memcpy(mac, m, 6);
	return 6;
}

static uint32_t ip_n(unsigned n)
{
	return htonl(0x0a000000u + n);
}

static size_t read_fd(int fd, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	return (size_t)n;
}

static void test_table_lookup_and_move(void **state)
{
	struct dhcp_leases *l = dhcp_leases_create(1000, 4096);
	uint8_t mac[6];
	(void)state;

	assert_non_null(l);
	for (unsigned i = 0; i < 1000; i++) {
		mac_n(i, mac);
		assert_int_equal(dhcp_leases_set(l, NOW, mac, 6, ip_n(i), DHCP_LEASE_OFFERED,
						 NOW + 60, NULL), 0);
	}
	for (unsigned i = 0; i < 1000; i++) {
		mac_n(i, mac);
		const struct dhcp_lease *e = dhcp_leases_by_mac(l, mac, 6);
		assert_non_null(e);
		assert_int_equal(e->ip, ip_n(i));
		assert_ptr_equal(dhcp_leases_by_ip(l, ip_n(i)), e);
		assert_true(dhcp_lease_active(e, NOW));
		assert_false(dhcp_lease_active(e, NOW + 60));
	}
	/* Offers are not journaled. */
	assert_int_equal(dhcp_leases_queued_seq(l), 0);

	/* Moving mac 5 to a new address frees the old one. */
	mac_n(5, mac);
	assert_int_equal(dhcp_leases_set(l, NOW, mac, 6, ip_n(2000), DHCP_LEASE_BOUND,
					 NOW + 3600, "node5"), 0);
	assert_null(dhcp_leases_by_ip(l, ip_n(5)));
	assert_string_equal(dhcp_leases_by_ip(l, ip_n(2000))->hostname, "node5");
	/* Taking mac 6's address from it drops mac 6's entry. */
	assert_int_equal(dhcp_leases_set(l, NOW, mac, 6, ip_n(6), DHCP_LEASE_BOUND,
					 NOW + 3600, NULL), 0);
	mac_n(6, mac);
	assert_null(dhcp_leases_by_mac(l, mac, 6));
	assert_int_equal(dhcp_leases_queued_seq(l), 2);

	/* Full of active leases: refused, nothing changed. */
	mac_n(5000, mac);
	assert_int_equal(dhcp_leases_set(l, NOW, mac, 6, ip_n(5000), DHCP_LEASE_BOUND,
					 NOW + 10, NULL), 0); /* mac 6's slot was freed */
	mac_n(5001, mac);
	assert_int_equal(dhcp_leases_set(l, NOW, mac, 6, ip_n(5001), DHCP_LEASE_BOUND,
					 NOW + 10, NULL), -ENOSPC);
	assert_int_equal(dhcp_leases_stats(l)->table_full, 1);
	/* Later the offers ran out: an expired one is given up. */
	assert_int_equal(dhcp_leases_set(l, NOW + 61, mac, 6, ip_n(5001), DHCP_LEASE_BOUND,
					 NOW + 3600, NULL), 0);
	assert_non_null(dhcp_leases_by_mac(l, mac, 6));
	assert_int_equal(dhcp_leases_set(l, NOW, NULL, 0, ip_n(1), DHCP_LEASE_BOUND,
					 NOW, NULL), -EINVAL);
	dhcp_leases_destroy(l);
}

static void test_decline_is_ownerless(void **state)
{
	struct dhcp_leases *l = dhcp_leases_create(8, 4096);
	uint8_t mac[6];
	(void)state;

	mac_n(1, mac);
	dhcp_leases_set(l, NOW, mac, 6, ip_n(10), DHCP_LEASE_BOUND, NOW + 100, NULL);
	assert_int_equal(dhcp_leases_set(l, NOW, mac, 0, ip_n(10), DHCP_LEASE_DECLINED,
					 NOW + 600, NULL), 0);
	assert_null(dhcp_leases_by_mac(l, mac, 6));
	const struct dhcp_lease *e = dhcp_leases_by_ip(l, ip_n(10));
	assert_non_null(e);
	assert_int_equal(e->state, DHCP_LEASE_DECLINED);
	assert_int_equal(e->hlen, 0);
	assert_true(dhcp_lease_active(e, NOW + 599));
	dhcp_leases_destroy(l);
}

static void test_hostname_sanitize(void **state)
{
	char out[DHCP_HOSTNAME_MAX + 1];
	char long_name[200];
	(void)state;

	assert_int_equal(dhcp_hostname_sanitize(out, sizeof(out),
						(const uint8_t *)"a,b\nc d", 7), 7);
	assert_string_equal(out, "a-b-c-d");
	assert_int_equal(dhcp_hostname_sanitize(out, sizeof(out),
						(const uint8_t *)"host\0evil", 9), 4);
	assert_string_equal(out, "host");
	memset(long_name, 'x', sizeof(long_name));
	assert_int_equal(dhcp_hostname_sanitize(out, sizeof(out),
						(const uint8_t *)long_name, sizeof(long_name)),
			 DHCP_HOSTNAME_MAX);
	assert_int_equal(dhcp_hostname_sanitize(out, 4, (const uint8_t *)"abcdef", 6), 3);
}

/* Rows reach the file in one flush; reload gives the same table. */
static void test_group_commit_and_reload(void **state)
{
	struct dhcp_leases *l = dhcp_leases_create(16, 4096);
	int fd = memfd_create("journal", 0);
	uint8_t mac[6];
	char buf[4096];
	(void)state;

	assert_true(fd >= 0);
	for (unsigned i = 0; i < 3; i++) {
		mac_n(i, mac);
		dhcp_leases_set(l, NOW, mac, 6, ip_n(i), DHCP_LEASE_BOUND, NOW + 3600,
				"pc,\nevil");
	}
	mac_n(2, mac);
	dhcp_leases_set(l, NOW, mac, 6, ip_n(2), DHCP_LEASE_FREE, NOW, NULL);
	dhcp_leases_set(l, NOW, NULL, 0, ip_n(9), DHCP_LEASE_DECLINED, NOW + 600, NULL);
	assert_int_equal(dhcp_leases_queued_seq(l), 5);
	assert_int_equal(dhcp_leases_durable_seq(l), 0);

	/* A failed flush keeps the rows queued. */
	assert_int_equal(dhcp_leases_flush(l, -1), -EBADF);
	assert_int_equal(dhcp_leases_durable_seq(l), 0);
	assert_int_equal(dhcp_leases_flush(l, fd), 5);
	assert_int_equal(dhcp_leases_durable_seq(l), 5);
	assert_int_equal(dhcp_leases_flush(l, fd), 0);
	assert_int_equal(dhcp_leases_stats(l)->flushes, 1);
	assert_int_equal(dhcp_leases_stats(l)->flush_errors, 1);

	size_t n = read_fd(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "L1 bound 52:54:00:00:00:00 10.0.0.0 1700003600 pc--evil "));
	assert_non_null(strstr(buf, "L1 declined - 10.0.0.9 1700000600 - "));
	assert_null(strchr(buf, ','));

	struct dhcp_leases *l2 = dhcp_leases_create(16, 4096);
	dhcp_leases_load(l2, (const uint8_t *)buf, n, NOW);
	assert_int_equal(dhcp_leases_stats(l2)->rows_loaded, 5);
	assert_int_equal(dhcp_leases_stats(l2)->rows_bad, 0);
	mac_n(1, mac);
	const struct dhcp_lease *e = dhcp_leases_by_mac(l2, mac, 6);
	assert_non_null(e);
	assert_int_equal(e->ip, ip_n(1));
	assert_int_equal(e->state, DHCP_LEASE_BOUND);
	assert_int_equal(e->expiry, NOW + 3600);
	assert_string_equal(e->hostname, "pc--evil");
	mac_n(2, mac);
	assert_int_equal(dhcp_leases_by_mac(l2, mac, 6)->state, DHCP_LEASE_FREE);
	assert_int_equal(dhcp_leases_by_ip(l2, ip_n(9))->state, DHCP_LEASE_DECLINED);
	assert_int_equal(dhcp_leases_queued_seq(l2), 0); /* loading writes nothing */

	/* Loaded an hour later the quarantine is stale. */
	struct dhcp_leases *l3 = dhcp_leases_create(16, 4096);
	dhcp_leases_load(l3, (const uint8_t *)buf, n, NOW + 3600);
	assert_int_equal(dhcp_leases_stats(l3)->rows_stale, 1);
	assert_null(dhcp_leases_by_ip(l3, ip_n(9)));
	dhcp_leases_destroy(l3);
	dhcp_leases_destroy(l2);
	dhcp_leases_destroy(l);
	close(fd);
}

static void test_queue_full(void **state)
{
	struct dhcp_leases *l = dhcp_leases_create(64, 256);
	uint8_t mac[6];
	unsigned i;
	(void)state;

	for (i = 0; i < 64; i++) {
		mac_n(i, mac);
		if (dhcp_leases_set(l, NOW, mac, 6, ip_n(i), DHCP_LEASE_BOUND, NOW + 60, NULL))
			break;
	}
	assert_true(i > 0 && i < 64);
	assert_int_equal(dhcp_leases_stats(l)->queue_full, 1);
	assert_null(dhcp_leases_by_mac(l, mac, 6)); /* refused means unchanged */
	dhcp_leases_destroy(l);
}

struct badrow {
	const char *name, *row;
};

static void test_load_bad_rows(void **state)
{
	struct dhcp_leases *l = dhcp_leases_create(16, 4096);
	struct dhcp_lease good = { .mac = { 1, 2, 3, 4, 5, 6 }, .hlen = 6,
				   .state = DHCP_LEASE_BOUND, .ip = 0, .expiry = NOW + 99 };
	char row[DHCP_HOSTNAME_MAX * 8], buf[8192];
	(void)state;

	/* A valid row to mutate: */
	good.ip = ip_n(7);
	strcpy(good.hostname, "ok");
	int fd = memfd_create("j", 0);
	dhcp_leases_set(l, NOW, good.mac, 6, good.ip, DHCP_LEASE_BOUND, good.expiry, "ok");
	dhcp_leases_flush(l, fd);
	read_fd(fd, row, sizeof(row));
	close(fd);
	dhcp_leases_destroy(l);

	static const struct badrow bad[] = {
		{ "crc", "L1 bound 01:02:03:04:05:06 10.0.0.7 1700000099 ok 00000000\n" },
		{ "version", "L2 bound 01:02:03:04:05:06 10.0.0.7 1700000099 ok 00000000\n" },
		{ "state", "L1 leased 01:02:03:04:05:06 10.0.0.7 1700000099 ok 00000000\n" },
		{ "fields", "L1 bound 01:02:03:04:05:06 10.0.0.7\n" },
		{ "double space", "L1 bound  01:02:03:04:05:06 10.0.0.7 1 ok 00000000\n" },
		{ "mac", "L1 bound 01:02:03:04:05:0g 10.0.0.7 1700000099 ok 00000000\n" },
		{ "mac sep", "L1 bound 01-02-03-04-05-06 10.0.0.7 1700000099 ok 00000000\n" },
		{ "ip", "L1 bound 01:02:03:04:05:06 10.0.0.256 1700000099 ok 00000000\n" },
		{ "ip short", "L1 bound 01:02:03:04:05:06 10.0.7 1700000099 ok 00000000\n" },
		{ "expiry sign", "L1 bound 01:02:03:04:05:06 10.0.0.7 -1 ok 00000000\n" },
		{ "expiry huge", "L1 bound 01:02:03:04:05:06 10.0.0.7 99999999999999999999 ok 0\n" },
		{ "hostname comma", "L1 bound 01:02:03:04:05:06 10.0.0.7 1 a,b 00000000\n" },
		{ "owner missing", "L1 bound - 10.0.0.7 1 ok 00000000\n" },
		{ "binary", "\x01\x02\xff\xfe\n" },
		{ "nul", "L1 bound\0 01:02:03:04:05:06\n" },
	};
	size_t len = 0;
	memcpy(buf, "# comment\n\n", 11);
	len = 11;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = strlen(bad[i].row);
		if (strcmp(bad[i].name, "nul") == 0)
			n = 28; /* the embedded NUL and what follows */
		memcpy(buf + len, bad[i].row, n);
		len += n;
	}
	size_t rowlen = strlen(row);
	memcpy(buf + len, row, rowlen); /* the one good row */
	len += rowlen;
	memset(buf + len, 'x', 300); /* overlong line */
	len += 300;
	buf[len++] = '\n';
	memcpy(buf + len, row, rowlen - 1); /* torn: no newline */
	len += rowlen - 1;

	l = dhcp_leases_create(16, 4096);
	dhcp_leases_load(l, (const uint8_t *)buf, len, NOW);
	assert_int_equal(dhcp_leases_stats(l)->rows_loaded, 1);
	assert_int_equal(dhcp_leases_stats(l)->rows_bad,
			 sizeof(bad) / sizeof(bad[0]) + 2);
	assert_non_null(dhcp_leases_by_ip(l, ip_n(7)));
	dhcp_leases_load(l, NULL, 0, NOW);
	dhcp_leases_destroy(l);
}

static void test_compact(void **state)
{
	char dir[] = "/tmp/dhcp-leases-XXXXXX", path[64], buf[8192];
	struct dhcp_leases *l = dhcp_leases_create(16, 4096);
	uint8_t mac[6];
	struct stat sb;
	(void)state;

	assert_non_null(mkdtemp(dir));
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	int old = openat(dirfd, "leases", O_WRONLY | O_CREAT | O_APPEND, 0640);
	for (unsigned round = 0; round < 5; round++)
		for (unsigned i = 0; i < 4; i++) {
			mac_n(i, mac);
			dhcp_leases_set(l, NOW, mac, 6, ip_n(i), DHCP_LEASE_BOUND,
					NOW + 100 * round, NULL);
			dhcp_leases_flush(l, old);
		}
	mac_n(9, mac);
	dhcp_leases_set(l, NOW, mac, 6, ip_n(9), DHCP_LEASE_OFFERED, NOW + 60, NULL);
	dhcp_leases_set(l, NOW, NULL, 0, ip_n(20), DHCP_LEASE_DECLINED, NOW + 10, NULL);
	dhcp_leases_set(l, NOW, NULL, 0, ip_n(21), DHCP_LEASE_DECLINED, NOW + 1000, NULL);
	assert_true(dhcp_leases_queued_seq(l) > dhcp_leases_durable_seq(l));

	int fd = dhcp_leases_compact(l, dirfd, "leases", NOW + 50);
	assert_true(fd >= 0);
	assert_int_equal(dhcp_leases_durable_seq(l), dhcp_leases_queued_seq(l));
	assert_int_equal(fstatat(dirfd, "leases.tmp", &sb, 0), -1);
	snprintf(path, sizeof(path), "%s/leases", dir);
	int rfd = open(path, O_RDONLY);
	size_t n = read_fd(rfd, buf, sizeof(buf));
	/* header + 4 leases + 1 live quarantine; no offer, no stale row */
	size_t lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	assert_int_equal(lines, 6);
	assert_null(strstr(buf, "10.0.0.9 "));
	assert_null(strstr(buf, "10.0.0.20 "));

	/* The returned descriptor appends to the new file. */
	mac_n(30, mac);
	dhcp_leases_set(l, NOW, mac, 6, ip_n(30), DHCP_LEASE_BOUND, NOW + 5, NULL);
	assert_int_equal(dhcp_leases_flush(l, fd), 1);
	n = read_fd(rfd, buf, sizeof(buf));
	struct dhcp_leases *l2 = dhcp_leases_create(16, 4096);
	dhcp_leases_load(l2, (const uint8_t *)buf, n, NOW);
	assert_int_equal(dhcp_leases_stats(l2)->rows_loaded, 6);
	assert_int_equal(dhcp_leases_stats(l2)->rows_bad, 0);
	assert_int_equal(dhcp_leases_by_ip(l2, ip_n(3))->expiry, NOW + 400);

	assert_int_equal(dhcp_leases_compact(l, -1, "leases", NOW), -EBADF);
	close(rfd);
	close(fd);
	close(old);
	unlinkat(dirfd, "leases", 0);
	close(dirfd);
	rmdir(dir);
	dhcp_leases_destroy(l2);
	dhcp_leases_destroy(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_lookup_and_move),
		cmocka_unit_test(test_decline_is_ownerless),
		cmocka_unit_test(test_hostname_sanitize),
		cmocka_unit_test(test_group_commit_and_reload),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_load_bad_rows),
		cmocka_unit_test(test_compact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
