/* Systematic Reed-Solomon erasure code over GF(2^8) for the bulk stream.
 *
 * A slice has k source symbols (esi 0..k-1) and up to 256-k repair symbols
 * (esi k..255). Repair esi j is sum_i C[j][i] * source_i with the Cauchy
 * coefficients C[j][i] = 1 / (j ^ i): every square submatrix of a Cauchy
 * matrix is invertible, so [I; C] is MDS and any k distinct symbols of a
 * slice give back its k sources. Pure computation: no I/O, no allocation
 * beyond a caller-visible bound.
 */
#ifndef PXECAST_MTFTP_RS_H
#define PXECAST_MTFTP_RS_H

#include <stddef.h>
#include <stdint.h>

#define RS_SYMBOLS 256 /* esi space of one slice */
#define RS_MAX_K 128

uint8_t rs_gf_mul(uint8_t a, uint8_t b);
uint8_t rs_gf_inv(uint8_t a); /* a != 0 */

/* dst[0..len) ^= c * src[0..len). Uses AVX2 or SSSE3 split-nibble tables
 * when the CPU has them. */
void gf_mul_add_row(uint8_t *dst, const uint8_t *src, uint8_t c, size_t len);
/* The portable version, for tests that compare both. */
void gf_mul_add_row_scalar(uint8_t *dst, const uint8_t *src, uint8_t c, size_t len);

/* Coefficient of source i in repair symbol esi (k <= esi < 256, i < k). */
uint8_t rs_coef(unsigned esi, unsigned i);

/* Repair symbol esi (k <= esi < 256) from k source symbols of len bytes. */
void rs_encode(unsigned k, size_t len, const uint8_t *const src[], unsigned esi, uint8_t *out);

/* Recover the k sources of a slice from k distinct symbols (esi[j], sym[j]).
 * src_out[i] is set for every source: to the matching input symbol when it
 * was received, else to one of the scratch buffers (at least as many as
 * sources are missing, each len bytes) holding the recovered symbol.
 * Returns 0, or -1 when an esi is out of range or repeated. */
int rs_decode(unsigned k, size_t len, const uint8_t esi[], const uint8_t *const sym[],
	      uint8_t *const scratch[], const uint8_t *src_out[]);

#endif
