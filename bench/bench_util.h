/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pieces shared by the bench/ load generators (pxecast-tftp-load and
 * pxecast-bench): clock, number parsing, nearest-rank percentiles and the
 * client side of TFTP option negotiation (RRQ building, OACK parsing).
 * No I/O here.
 */
#ifndef PXECAST_BENCH_UTIL_H
#define PXECAST_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_NS_PER_MS 1000000ull
#define BENCH_NS_PER_S  1000000000ull

uint64_t bench_mono_ns(void);

/* Whole decimal number in [min, max]; no sign, no trailing bytes. */
bool bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
bool bench_parse_double(const char *s, double min, double max, double *out);

/* Nearest-rank percentile p (0..100] of a sorted array; 0 when n is 0. */
uint64_t bench_pct(const uint64_t *sorted, size_t n, double p);
int bench_cmp_u64(const void *a, const void *b);

/* ---- TFTP client options (RFC 2347-2349, 7440) ---- */

#define BENCH_TFTP_RRQ   1
#define BENCH_TFTP_DATA  3
#define BENCH_TFTP_ACK   4
#define BENCH_TFTP_ERROR 5
#define BENCH_TFTP_OACK  6

/* An RRQ for file in octet mode. blksize 512 or 0, window <= 1 and tsize
 * false leave the option out. Returns the length, or 0 when it does not
 * fit in cap (file names over 255 bytes never do). */
size_t bench_tftp_rrq(uint8_t *out, size_t cap, const char *file,
		      uint32_t blksize, uint32_t window, bool tsize);

/* Options of an OACK (p points at the opcode, n counts it). Absent
 * options are 0 / false. */
struct bench_oack {
	uint32_t blksize;
	uint32_t window;
	bool has_tsize;
	uint64_t tsize;
};

/* false when a name or value is unterminated, a name has no value, or
 * blksize/windowsize/tsize are not decimal numbers in range. Unknown
 * options are skipped. */
bool bench_oack_parse(const uint8_t *p, size_t n, struct bench_oack *out);

#endif
