/* Calendar date -> days since 1970-01-01 (proleptic Gregorian; H. Hinnant's
 * days_from_civil). Shared by HTTP dates and ISO 9660 timestamps. */
#ifndef PXECAST_COMMON_CIVIL_H
#define PXECAST_COMMON_CIVIL_H

#include <stdint.h>

/* y any year, m 1..12, d 1..31 (not checked against the month). */
static inline int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

#endif
