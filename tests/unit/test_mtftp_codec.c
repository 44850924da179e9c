/* The RFC 2090 multicast option value: what the server builds is what
 * iPXE parses; malformed values are refused, never read past. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>

#include "mtftp/mtftp.h"

static void test_build_appends_to_base(void **state)
{
	static const uint8_t base[] = { 0, 6, 'b', 'l', 'k', 's', 'i', 'z', 'e', 0, '1', '4', '3',
					'2', 0 };
	static const char tail[] = "multicast\0" "239.255.1.7,1758,1";
	struct net_addr g = { htonl(0xefff0107), htons(1758) };
	uint8_t out[TFTP_OACK_MAX];
	size_t n;

	(void)state;
	n = mtftp_build_oack(out, sizeof(out), base, sizeof(base), &g, true);
	assert_int_equal(n, sizeof(base) + sizeof(tail));
	assert_memory_equal(out, base, sizeof(base));
	assert_memory_equal(out + sizeof(base), tail, sizeof(tail));
	n = mtftp_build_oack(out, sizeof(out), base, sizeof(base), &g, false);
	assert_int_equal(out[n - 2], '0');
	/* Too small a buffer: nothing, not a cut packet. */
	assert_int_equal(mtftp_build_oack(out, sizeof(base) + 5, base, sizeof(base), &g, true), 0);
	assert_int_equal(mtftp_build_oack(out, sizeof(out), base, 1, &g, true), 0);
}

struct vec {
	const char *value;
	int rc;
	uint32_t ip;    /* host order */
	uint16_t port;
	bool master;
};

static const struct vec vectors[] = {
	{ "239.255.1.1,1758,1", 0, 0xefff0101, 1758, true },
	{ "239.255.1.1,1758,0", 0, 0xefff0101, 1758, false },
	{ ",,1", 0, 0, 0, true },              /* promotion keeping the group */
	{ "224.0.0.1,,0", 0, 0xe0000001, 0, false },
	{ "239.255.1.1,1758", -1, 0, 0, false },
	{ "239.255.1.1", -1, 0, 0, false },
	{ "", -1, 0, 0, false },
	{ "239.255.1.1,1758,2", -1, 0, 0, false },
	{ "239.255.1.1,1758,", -1, 0, 0, false },
	{ "239.255.1.1,1758,1x", -1, 0, 0, false },
	{ "239.255.1.1,0,1", -1, 0, 0, false },
	{ "239.255.1.1,65536,1", -1, 0, 0, false },
	{ "239.255.1.1,99999999999999999999,1", -1, 0, 0, false },
	{ "239.255.1.1,-5,1", -1, 0, 0, false },
	{ "239.255.1.256,1758,1", -1, 0, 0, false },
	{ "239.255.1.1.1.1.1.1.1.1.1,1758,1", -1, 0, 0, false },
	{ "host,1758,1", -1, 0, 0, false },
	{ "239.255.1.1,1758,1,extra", -1, 0, 0, false },
};

static void test_parse_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vec *v = &vectors[i];
		struct net_addr g = { 1, 1 };
		bool m = !v->master;
		int rc = mtftp_parse_multicast(v->value, strlen(v->value), &g, &m);

		if (rc != v->rc)
			fail_msg("\"%s\": rc %d, expected %d", v->value, rc, v->rc);
		if (rc == 0) {
			assert_int_equal(ntohl(g.ip), v->ip);
			assert_int_equal(ntohs(g.port), v->port);
			assert_int_equal(m, v->master);
		}
	}
}

static void test_parse_is_bounded(void **state)
{
	/* No NUL inside len: only len bytes are read; the value is cut there. */
	char buf[18];
	struct net_addr g;
	bool m;

	(void)state;
	memcpy(buf, "239.255.1.1,1758,1", sizeof(buf));
	assert_int_equal(mtftp_parse_multicast(buf, sizeof(buf), &g, &m), 0);
	assert_true(m);
	assert_int_equal(mtftp_parse_multicast(buf, 17, &g, &m), -1); /* "...,1758," */
	assert_int_equal(mtftp_parse_multicast(buf, 0, &g, &m), -1);
}

static void test_round_trip(void **state)
{
	static const uint8_t base[] = { 0, 6 };
	struct net_addr g = { htonl(0xefff01fe), htons(65535) }, back;
	uint8_t out[TFTP_OACK_MAX];
	size_t n;
	bool m;

	(void)state;
	n = mtftp_build_oack(out, sizeof(out), base, 2, &g, false);
	assert_int_equal(mtftp_parse_multicast((const char *)out + 12, n - 12, &back, &m), 0);
	assert_int_equal(back.ip, g.ip);
	assert_int_equal(back.port, g.port);
	assert_false(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_appends_to_base),
		cmocka_unit_test(test_parse_vectors),
		cmocka_unit_test(test_parse_is_bounded),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
