/* Reed-Solomon (Cauchy, systematic) over GF(2^8), polynomial 0x11d.
 *
 * Row multiply-accumulate is the whole cost of encoding and decoding. The
 * portable path uses a 64 KiB product table; on x86 the same product is two
 * 16-entry lookups (low and high nibble) done 32 or 16 bytes at a time with
 * PSHUFB, picked once from the CPU's features.
 */
#include "mtftp/rs.h"

#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RS_X86 1
#endif

static uint8_t gf_exp[512];
static uint8_t gf_log[256];
static uint8_t gf_table[256][256];
static uint8_t cauchy[RS_SYMBOLS][RS_MAX_K]; /* [esi][i] = 1/(esi ^ i), esi >= i+1 */

typedef void (*row_fn)(uint8_t *dst, const uint8_t *src, uint8_t c, size_t len);
static row_fn row_impl = gf_mul_add_row_scalar;

#ifdef RS_X86
/* c * x = c * (x & 15) ^ c * (x & 240): two 16-entry tables a byte
 * shuffle can index with the low and the high nibble. */
static void nibble_tables(const uint8_t *t, uint8_t lo[16], uint8_t hi[16])
{
	for (unsigned x = 0; x < 16; x++) {
		lo[x] = t[x];
		hi[x] = t[x << 4];
	}
}

__attribute__((target("avx2"))) static void row_avx2(uint8_t *dst, const uint8_t *src,
						     uint8_t c, size_t len)
{
	const uint8_t *t = gf_table[c];
	uint8_t lo[16], hi[16];
	size_t n = 0;

	nibble_tables(t, lo, hi);
	__m256i tlo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)lo));
	__m256i thi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)hi));
	__m256i mask = _mm256_set1_epi8(0x0f);
	for (; n + 32 <= len; n += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(src + n));
		__m256i l = _mm256_shuffle_epi8(tlo, _mm256_and_si256(v, mask));
		__m256i h = _mm256_shuffle_epi8(thi, _mm256_and_si256(_mm256_srli_epi64(v, 4), mask));
		__m256i d = _mm256_loadu_si256((const __m256i *)(dst + n));
		_mm256_storeu_si256((__m256i *)(dst + n), _mm256_xor_si256(d, _mm256_xor_si256(l, h)));
	}
	for (; n < len; n++)
		dst[n] ^= t[src[n]];
}

__attribute__((target("ssse3"))) static void row_ssse3(uint8_t *dst, const uint8_t *src,
						       uint8_t c, size_t len)
{
	const uint8_t *t = gf_table[c];
	uint8_t lo[16], hi[16];
	size_t n = 0;

	nibble_tables(t, lo, hi);
	__m128i tlo = _mm_loadu_si128((const __m128i *)lo);
	__m128i thi = _mm_loadu_si128((const __m128i *)hi);
	__m128i mask = _mm_set1_epi8(0x0f);
	for (; n + 16 <= len; n += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(src + n));
		__m128i l = _mm_shuffle_epi8(tlo, _mm_and_si128(v, mask));
		__m128i h = _mm_shuffle_epi8(thi, _mm_and_si128(_mm_srli_epi64(v, 4), mask));
		__m128i d = _mm_loadu_si128((const __m128i *)(dst + n));
		_mm_storeu_si128((__m128i *)(dst + n), _mm_xor_si128(d, _mm_xor_si128(l, h)));
	}
	for (; n < len; n++)
		dst[n] ^= t[src[n]];
}
#endif

__attribute__((constructor)) static void gf_init(void)
{
	unsigned x = 1;

	for (unsigned i = 0; i < 255; i++) {
		gf_exp[i] = (uint8_t)x;
		gf_log[x] = (uint8_t)i;
		x <<= 1;
		if (x & 0x100)
			x ^= 0x11d;
	}
	for (unsigned i = 255; i < 512; i++)
		gf_exp[i] = gf_exp[i - 255];
	for (unsigned a = 1; a < 256; a++)
		for (unsigned b = 1; b < 256; b++)
			gf_table[a][b] = gf_exp[gf_log[a] + gf_log[b]];
	for (unsigned j = 1; j < RS_SYMBOLS; j++)
		for (unsigned i = 0; i < RS_MAX_K && i < j; i++)
			cauchy[j][i] = rs_gf_inv((uint8_t)(j ^ i));
#ifdef RS_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		row_impl = row_avx2;
	else if (__builtin_cpu_supports("ssse3"))
		row_impl = row_ssse3;
#endif
}

uint8_t rs_gf_mul(uint8_t a, uint8_t b)
{
	return gf_table[a][b];
}

uint8_t rs_gf_inv(uint8_t a)
{
	return gf_exp[255 - gf_log[a]];
}

void gf_mul_add_row_scalar(uint8_t *dst, const uint8_t *src, uint8_t c, size_t len)
{
	const uint8_t *t = gf_table[c];

	if (c == 0)
		return;
	if (c == 1) {
		for (size_t n = 0; n < len; n++)
			dst[n] ^= src[n];
		return;
	}
	for (size_t n = 0; n < len; n++)
		dst[n] ^= t[src[n]];
}

void gf_mul_add_row(uint8_t *dst, const uint8_t *src, uint8_t c, size_t len)
{
	if (c != 0)
		row_impl(dst, src, c, len);
}

static void gf_scale_row(uint8_t *row, uint8_t c, size_t len)
{
	const uint8_t *t = gf_table[c];

	for (size_t n = 0; n < len; n++)
		row[n] = t[row[n]];
}

uint8_t rs_coef(unsigned esi, unsigned i)
{
	return cauchy[esi][i];
}

void rs_encode(unsigned k, size_t len, const uint8_t *const src[], unsigned esi, uint8_t *out)
{
	memset(out, 0, len);
	for (unsigned i = 0; i < k; i++)
		gf_mul_add_row(out, src[i], cauchy[esi][i], len);
}

int rs_decode(unsigned k, size_t len, const uint8_t esi[], const uint8_t *const sym[],
	      uint8_t *const scratch[], const uint8_t *src_out[])
{
	bool seen[RS_SYMBOLS] = { false };
	uint8_t missing[RS_MAX_K], repair[RS_MAX_K];
	unsigned nmissing = 0, nrepair = 0;
	uint8_t a[RS_MAX_K][RS_MAX_K];
	uint8_t *rows[RS_MAX_K];

	if (k == 0 || k > RS_MAX_K)
		return -1;
	for (unsigned i = 0; i < k; i++)
		src_out[i] = NULL;
	for (unsigned j = 0; j < k; j++) {
		if (seen[esi[j]])
			return -1;
		seen[esi[j]] = true;
		if (esi[j] < k)
			src_out[esi[j]] = sym[j];
		else
			repair[nrepair++] = (uint8_t)j;
	}
	for (unsigned i = 0; i < k; i++)
		if (!src_out[i])
			missing[nmissing++] = (uint8_t)i;
	/* k distinct symbols: exactly as many repairs as missing sources. */
	for (unsigned r = 0; r < nmissing; r++) {
		unsigned e = esi[repair[r]];

		rows[r] = scratch[r];
		memcpy(rows[r], sym[repair[r]], len);
		for (unsigned i = 0; i < k; i++)
			if (src_out[i])
				gf_mul_add_row(rows[r], src_out[i], cauchy[e][i], len);
		for (unsigned c = 0; c < nmissing; c++)
			a[r][c] = cauchy[e][missing[c]];
	}
	/* Gauss-Jordan on a, replaying every row operation on the data rows.
	 * Pivots exist: a Cauchy submatrix is invertible. */
	for (unsigned c = 0; c < nmissing; c++) {
		unsigned p = c;

		while (p < nmissing && a[p][c] == 0)
			p++;
		if (p == nmissing)
			return -1; /* cannot happen for a Cauchy matrix */
		if (p != c) {
			uint8_t tmp[RS_MAX_K];
			uint8_t *rp = rows[p];

			memcpy(tmp, a[p], nmissing);
			memcpy(a[p], a[c], nmissing);
			memcpy(a[c], tmp, nmissing);
			rows[p] = rows[c];
			rows[c] = rp;
		}
		uint8_t inv = rs_gf_inv(a[c][c]);
		if (inv != 1) {
			for (unsigned x = 0; x < nmissing; x++)
				a[c][x] = rs_gf_mul(a[c][x], inv);
			gf_scale_row(rows[c], inv, len);
		}
		for (unsigned r = 0; r < nmissing; r++) {
			uint8_t f = a[r][c];

			if (r == c || f == 0)
				continue;
			for (unsigned x = 0; x < nmissing; x++)
				a[r][x] ^= rs_gf_mul(f, a[c][x]);
			gf_mul_add_row(rows[r], rows[c], f, len);
		}
	}
	for (unsigned c = 0; c < nmissing; c++)
		src_out[missing[c]] = rows[c];
	return 0;
}
