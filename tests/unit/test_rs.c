/* Reed-Solomon over GF(2^8): field laws, the SIMD row multiply against the
 * scalar one, and decoding from every erasure pattern for small (k, m) and
 * random patterns for large k. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "mtftp/rs.h"

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static void test_field(void **state)
{
	(void)state;
	for (unsigned a = 0; a < 256; a++) {
		assert_int_equal(rs_gf_mul((uint8_t)a, 1), a);
		assert_int_equal(rs_gf_mul((uint8_t)a, 0), 0);
		if (a)
			assert_int_equal(rs_gf_mul((uint8_t)a, rs_gf_inv((uint8_t)a)), 1);
		for (unsigned b = 0; b < 256; b += 7) {
			assert_int_equal(rs_gf_mul((uint8_t)a, (uint8_t)b), rs_gf_mul((uint8_t)b, (uint8_t)a));
			/* distributive over xor */
			assert_int_equal(rs_gf_mul((uint8_t)a, (uint8_t)(b ^ 0x5a)),
					 rs_gf_mul((uint8_t)a, (uint8_t)b) ^ rs_gf_mul((uint8_t)a, 0x5a));
		}
	}
	/* x * x = x^2 in the 0x11d field: 0x80 * 2 wraps to 0x1d. */
	assert_int_equal(rs_gf_mul(0x80, 2), 0x1d);
}

static void test_row_simd_matches_scalar(void **state)
{
	uint8_t src[1000], a[1000], b[1000];

	(void)state;
	for (unsigned c = 0; c < 256; c++) {
		for (size_t i = 0; i < sizeof(src); i++) {
			src[i] = (uint8_t)rnd();
			a[i] = b[i] = (uint8_t)rnd();
		}
		/* odd lengths exercise the tails after the 32- and 16-byte loops */
		size_t len = 1 + rnd() % sizeof(src);
		gf_mul_add_row(a, src, (uint8_t)c, len);
		gf_mul_add_row_scalar(b, src, (uint8_t)c, len);
		assert_memory_equal(a, b, sizeof(a));
	}
}

/* Encode k sources into n = k + m symbols, decode from the subset `keep`
 * (k esi) and compare. */
static void roundtrip(unsigned k, const uint8_t *keep, size_t len, uint8_t **src)
{
	uint8_t *sym[RS_MAX_K], *scratch[RS_MAX_K];
	const uint8_t *in[RS_MAX_K], *out[RS_MAX_K];
	uint8_t esi[RS_MAX_K];

	for (unsigned j = 0; j < k; j++) {
		sym[j] = malloc(len);
		scratch[j] = malloc(len);
		esi[j] = keep[j];
		if (keep[j] < k)
			memcpy(sym[j], src[keep[j]], len);
		else
			rs_encode(k, len, (const uint8_t *const *)src, keep[j], sym[j]);
		in[j] = sym[j];
	}
	assert_int_equal(rs_decode(k, len, esi, in, scratch, out), 0);
	for (unsigned i = 0; i < k; i++)
		assert_memory_equal(out[i], src[i], len);
	for (unsigned j = 0; j < k; j++) {
		free(sym[j]);
		free(scratch[j]);
	}
}

static uint8_t **make_sources(unsigned k, size_t len)
{
	uint8_t **src = malloc(k * sizeof(*src));

	for (unsigned i = 0; i < k; i++) {
		src[i] = malloc(len);
		for (size_t b = 0; b < len; b++)
			src[i][b] = (uint8_t)rnd();
	}
	return src;
}

static void free_sources(uint8_t **src, unsigned k)
{
	for (unsigned i = 0; i < k; i++)
		free(src[i]);
	free(src);
}

static void test_every_erasure_pattern(void **state)
{
	(void)state;
	/* All C(k+m, k) subsets for small codes. */
	for (unsigned k = 1; k <= 6; k++) {
		for (unsigned m = 1; m <= 4; m++) {
			unsigned n = k + m;
			uint8_t **src = make_sources(k, 67);
			unsigned tried = 0;

			for (unsigned mask = 0; mask < (1u << n); mask++) {
				uint8_t keep[RS_MAX_K];
				unsigned c = 0;

				if ((unsigned)__builtin_popcount(mask) != k)
					continue;
				for (unsigned e = 0; e < n; e++)
					if (mask & (1u << e))
						keep[c++] = (uint8_t)e;
				roundtrip(k, keep, 67, src);
				tried++;
			}
			assert_true(tried > 0);
			free_sources(src, k);
		}
	}
}

static void test_random_large(void **state)
{
	(void)state;
	for (unsigned round = 0; round < 40; round++) {
		unsigned k = round < 10 ? RS_MAX_K : 1 + rnd() % RS_MAX_K;
		unsigned n = RS_SYMBOLS;
		uint8_t perm[RS_SYMBOLS];
		uint8_t **src = make_sources(k, 1448);

		for (unsigned i = 0; i < n; i++)
			perm[i] = (uint8_t)i;
		for (unsigned i = n - 1; i > 0; i--) {
			unsigned j = rnd() % (i + 1);
			uint8_t t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
		}
		roundtrip(k, perm, 1448, src);
		free_sources(src, k);
	}
}

static void test_decode_rejects_bad_sets(void **state)
{
	uint8_t buf[4][8] = { { 0 } };
	uint8_t *scratch[4] = { buf[0], buf[1], buf[2], buf[3] };
	const uint8_t *in[4] = { buf[0], buf[1], buf[2], buf[3] };
	const uint8_t *out[4];
	uint8_t dup[4] = { 0, 1, 1, 2 };

	(void)state;
	assert_int_equal(rs_decode(4, 8, dup, in, scratch, out), -1);
	assert_int_equal(rs_decode(0, 8, dup, in, scratch, out), -1);
	assert_int_equal(rs_decode(RS_MAX_K + 1, 8, dup, in, scratch, out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field),
		cmocka_unit_test(test_row_simd_matches_scalar),
		cmocka_unit_test(test_every_erasure_pattern),
		cmocka_unit_test(test_random_large),
		cmocka_unit_test(test_decode_rejects_bad_sets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
