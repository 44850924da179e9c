/* Bulk stream codec: every packet type round-trips, every truncation of a
 * valid packet is refused, out-of-range fields are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "mtftp/bulk.h"

static struct bulk_announce sample_announce(void)
{
	struct bulk_announce a = { .tag = 0xdeadbeef, .size = 10u << 20, .symbol = 1448, .k = 64,
				   .state = BULK_SS_RUNNING, .rate_kbps = 500000, .front = 3,
				   .members = 7, .interleave = 32, .next_seq = 0x89abcdefu };

	for (int i = 0; i < 32; i++)
		a.sha256[i] = (uint8_t)i;
	a.nslices = bulk_nslices(a.size, a.k, a.symbol);
	return a;
}

static void test_slices(void **state)
{
	(void)state;
	assert_int_equal(bulk_nslices(1, 64, 1448), 1);
	assert_int_equal(bulk_nslices(64 * 1448, 64, 1448), 1);
	assert_int_equal(bulk_nslices(64 * 1448 + 1, 64, 1448), 2);
	assert_int_equal(bulk_slice_k(64 * 1448 + 1, 64, 1448, 0), 64);
	assert_int_equal(bulk_slice_k(64 * 1448 + 1, 64, 1448, 1), 1);
	assert_int_equal(bulk_slice_k(64 * 1448 + 1, 64, 1448, 2), 0);
	assert_int_equal(bulk_slice_k(1000, 64, 100, 0), 10);
}

static void test_roundtrip(void **state)
{
	uint8_t buf[2048], miss[5] = { 0, 3, 0, 64, 1 };
	struct bulk_packet p;
	struct bulk_announce a = sample_announce();
	size_t n;

	(void)state;
	n = bulk_build_data_hdr(buf, sizeof(buf), 42, 0xdeadbeef, 9, 70, 3, BULK_F_REPAIR, 1234);
	assert_int_equal(n, BULK_DATA_HDR);
	memset(buf + n, 0xab, 1448);
	assert_int_equal(bulk_parse(buf, n + 1448, &p), BULK_PARSE_OK);
	assert_int_equal(p.type, BULK_DATA);
	assert_int_equal(p.session, 42);
	assert_int_equal(p.u.data.slice, 9);
	assert_int_equal(p.u.data.esi, 70);
	assert_int_equal(p.u.data.burst, 3);
	assert_int_equal(p.u.data.flags, BULK_F_REPAIR);
	assert_int_equal(p.u.data.seq, 1234);
	assert_int_equal(p.u.data.len, 1448);
	assert_ptr_equal(p.u.data.payload, buf + BULK_DATA_HDR);

	n = bulk_build_announce(buf, sizeof(buf), 42, &a);
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_OK);
	assert_int_equal(p.type, BULK_ANNOUNCE);
	assert_memory_equal(&p.u.ann.sha256, a.sha256, 32);
	assert_int_equal(p.u.ann.size, a.size);
	assert_int_equal(p.u.ann.nslices, a.nslices);
	assert_int_equal(p.u.ann.front, 3);
	assert_int_equal(p.u.ann.members, 7);
	assert_int_equal(p.u.ann.interleave, 32);
	assert_int_equal(p.u.ann.next_seq, 0x89abcdefu);
	/* an older sender's zero pad: slices one after the other */
	a.interleave = 0;
	n = bulk_build_announce(buf, sizeof(buf), 42, &a);
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_OK);
	assert_int_equal(p.u.ann.interleave, 1);

	n = bulk_build_nak(buf, sizeof(buf), 42, 77, 15, 0x1234, 0xfedcba98u, 100, 5, miss);
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_OK);
	assert_int_equal(p.u.nak.receiver, 77);
	assert_int_equal(p.u.nak.base, 100);
	assert_int_equal(p.u.nak.count, 5);
	assert_int_equal(p.u.nak.loss_permille, 15);
	assert_int_equal(p.u.nak.seen_seq, 0xfedcba98u);
	assert_int_equal(p.u.nak.overflows, 0x1234);
	assert_memory_equal(p.u.nak.missing, miss, 5);

	n = bulk_build_hello(buf, sizeof(buf), 42, 77, 0xdeadbeef);
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_OK);
	assert_int_equal(p.u.hello.receiver, 77);
	assert_int_equal(p.u.hello.tag, 0xdeadbeef);

	n = bulk_build_status(buf, sizeof(buf), 42, 77, 12, 123456789012ull, 3, 7, 0x89abcdefu);
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_OK);
	assert_int_equal(p.u.status.seen_seq, 0x89abcdefu);
	assert_int_equal(p.u.status.loss_permille, 3);
	assert_int_equal(p.u.status.overflows, 7);
	assert_int_equal(p.u.status.bytes, 123456789012ull);
	assert_int_equal(p.u.status.slices_done, 12);

	n = bulk_build_done(buf, sizeof(buf), 42, 77, BULK_RESULT_FETCHED);
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_OK);
	assert_int_equal(p.u.done.result, BULK_RESULT_FETCHED);

	n = bulk_build_id(buf, sizeof(buf), BULK_WELCOME, 42, 77);
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_OK);
	assert_int_equal(p.type, BULK_WELCOME);
	assert_int_equal(p.u.welcome.receiver, 77);

	n = bulk_build_fetch(buf, sizeof(buf), 42, 0, "http://10.0.0.1/img.raw");
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_OK);
	assert_int_equal(p.u.fetch.url_len, strlen("http://10.0.0.1/img.raw"));
	assert_memory_equal(p.u.fetch.url, "http://10.0.0.1/img.raw", p.u.fetch.url_len);
}

/* Every prefix of every valid packet is refused (except whole DATA
 * payloads of a legal size, which are valid DATA of another symbol size). */
static void test_truncations(void **state)
{
	uint8_t pkts[9][BULK_CTL_MAX];
	size_t lens[9];
	uint8_t miss[3] = { 1, 2, 3 };
	struct bulk_announce a = sample_announce();
	struct bulk_packet p;

	(void)state;
	lens[0] = bulk_build_announce(pkts[0], BULK_CTL_MAX, 1, &a);
	lens[1] = bulk_build_hello(pkts[1], BULK_CTL_MAX, 1, 2, 3);
	lens[2] = bulk_build_id(pkts[2], BULK_CTL_MAX, BULK_WELCOME, 1, 2);
	lens[3] = bulk_build_nak(pkts[3], BULK_CTL_MAX, 1, 2, 0, 0, 0, 0, 3, miss);
	lens[4] = bulk_build_status(pkts[4], BULK_CTL_MAX, 1, 2, 3, 4, 5, 0, 6);
	lens[5] = bulk_build_done(pkts[5], BULK_CTL_MAX, 1, 2, 0);
	lens[6] = bulk_build_id(pkts[6], BULK_CTL_MAX, BULK_DONE_ACK, 1, 2);
	lens[7] = bulk_build_fetch(pkts[7], BULK_CTL_MAX, 1, 2, "http://x/y");
	lens[8] = bulk_build_data_hdr(pkts[8], BULK_CTL_MAX, 1, 2, 3, 4, 0, 0, 5);
	for (int t = 0; t < 9; t++) {
		assert_true(lens[t] > 0);
		if (t < 8)
			assert_int_equal(bulk_parse(pkts[t], lens[t], &p), BULK_PARSE_OK);
		for (size_t l = 0; l < lens[t]; l++)
			assert_int_not_equal(bulk_parse(pkts[t], l, &p), BULK_PARSE_OK);
		/* one byte too many is refused too */
		if (t < 8)
			assert_int_not_equal(bulk_parse(pkts[t], lens[t] + 1, &p), BULK_PARSE_OK);
	}
	/* DATA with a payload under the minimum symbol */
	assert_int_equal(bulk_parse(pkts[8], lens[8] + BULK_SYMBOL_MIN - 1, &p), BULK_PARSE_LENGTH);
}

static void test_bad_fields(void **state)
{
	uint8_t buf[BULK_CTL_MAX], miss[1] = { 1 };
	struct bulk_announce a = sample_announce();
	struct bulk_packet p;
	size_t n;

	(void)state;
	n = bulk_build_id(buf, sizeof(buf), BULK_WELCOME, 1, 2);
	buf[0] = 'X';
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_MAGIC);
	buf[0] = 'P';
	buf[2] = BULK_VERSION + 1;
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_VERSION);
	buf[2] = BULK_VERSION;
	buf[3] = 99;
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_TYPE);

	/* announce whose slice count disagrees with size, k and symbol */
	a.nslices++;
	n = bulk_build_announce(buf, sizeof(buf), 1, &a);
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_FIELD);
	a = sample_announce();
	a.k = 0;
	n = bulk_build_announce(buf, sizeof(buf), 1, &a);
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_FIELD);
	a = sample_announce();
	a.front = a.nslices + 1;
	n = bulk_build_announce(buf, sizeof(buf), 1, &a);
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_FIELD);
	/* an interleave wider than any receiver window is built for */
	a = sample_announce();
	a.interleave = BULK_INTERLEAVE_MAX + 1;
	n = bulk_build_announce(buf, sizeof(buf), 1, &a);
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_FIELD);
	a.interleave = BULK_INTERLEAVE_MAX;
	n = bulk_build_announce(buf, sizeof(buf), 1, &a);
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_OK);

	/* NAK: count field larger than the packet, base + count wrapping */
	n = bulk_build_nak(buf, sizeof(buf), 1, 2, 0, 0, 0, 5, 1, miss);
	buf[25] = 2; /* count, low byte */
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_LENGTH);
	n = bulk_build_nak(buf, sizeof(buf), 1, 2, 0, 0, 0, UINT32_MAX, 1, miss);
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_FIELD);
	n = bulk_build_nak(buf, sizeof(buf), 1, 2, 1001, 0, 0, 0, 1, miss);
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_FIELD);
	assert_int_equal(bulk_build_nak(buf, sizeof(buf), 1, 2, 0, 0, 0, 0, 0, miss), 0);

	/* DATA esi beyond the code's symbol space */
	n = bulk_build_data_hdr(buf, sizeof(buf), 1, 2, 3, 256, 0, 0, 5);
	memset(buf + n, 0, 100);
	assert_int_equal(bulk_parse(buf, n + 100, &p), BULK_PARSE_FIELD);

	/* FETCH with a control character in the URL */
	n = bulk_build_fetch(buf, sizeof(buf), 1, 2, "http://a/b");
	buf[n - 1] = '\n';
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_FIELD);

	/* DONE with an unknown result */
	n = bulk_build_done(buf, sizeof(buf), 1, 2, 9);
	assert_int_equal(bulk_parse(buf, n, &p), BULK_PARSE_FIELD);

	/* builders refuse buffers too small */
	assert_int_equal(bulk_build_announce(buf, BULK_ANNOUNCE_LEN - 1, 1, &a), 0);
	assert_int_equal(bulk_build_data_hdr(buf, 10, 1, 2, 3, 4, 0, 0, 5), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slices),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_bad_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
