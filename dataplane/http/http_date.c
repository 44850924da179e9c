/* HTTP-date (RFC 9110 5.6.7) without gmtime/timegm: pure arithmetic, so
 * the result does not depend on TZ or the C library, and a date from the
 * wire cannot reach a libc routine with out-of-range fields. */
#include "dataplane/http/http.h"
#include "common/civil.h"

#include <string.h>

static const char http_day_names[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const http_day_long[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
};
static const char http_month_names[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

#define HTTP_DATE_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

/* The date of a day counted from 1970-01-01 (H. Hinnant's civil_from_days). */
static void http_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void http_put2(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10 % 10);
	o[1] = (char)('0' + v % 10);
}

size_t http_date_format(int64_t t, char *out)
{
	int64_t days, y;
	unsigned m, d, secs;

	if (t < 0)
		t = 0;
	if (t > HTTP_DATE_MAX)
		t = HTTP_DATE_MAX;
	days = t / 86400;
	secs = (unsigned)(t % 86400);
	http_civil_from_days(days, &y, &m, &d);
	/* "Sun, 06 Nov 1994 08:49:37 GMT" */
	memcpy(out, http_day_names[(days + 4) % 7], 3);
	memcpy(out + 3, ", ", 2);
	http_put2(out + 5, d);
	out[7] = ' ';
	memcpy(out + 8, http_month_names[m - 1], 3);
	out[11] = ' ';
	http_put2(out + 12, (unsigned)(y / 100));
	http_put2(out + 14, (unsigned)(y % 100));
	out[16] = ' ';
	http_put2(out + 17, secs / 3600);
	out[19] = ':';
	http_put2(out + 20, secs / 60 % 60);
	out[22] = ':';
	http_put2(out + 23, secs % 60);
	memcpy(out + 25, " GMT", 4);
	out[HTTP_DATE_LEN] = '\0';
	return HTTP_DATE_LEN;
}

/* n decimal digits at s, or -1 */
static int http_digits(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int http_month(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (memcmp(s, http_month_names[i], 3) == 0)
			return i + 1;
	return -1;
}

static bool http_short_day(const char *s)
{
	for (int i = 0; i < 7; i++)
		if (memcmp(s, http_day_names[i], 3) == 0)
			return true;
	return false;
}

/* "08:49:37" */
static bool http_time_of_day(const char *s, int *h, int *mi, int *sec)
{
	if (s[2] != ':' || s[5] != ':')
		return false;
	*h = http_digits(s, 2);
	*mi = http_digits(s + 3, 2);
	*sec = http_digits(s + 6, 2);
	return *h >= 0 && *h <= 23 && *mi >= 0 && *mi <= 59 && *sec >= 0 && *sec <= 60;
}

static bool http_make_time(int year, int mon, int day, int h, int mi, int sec, int64_t *t)
{
	static const unsigned char mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	if (year < 0 || mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1])
		return false;
	if (mon == 2 && day == 29 && !leap)
		return false;
	*t = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 +
	     h * 3600 + mi * 60 + sec;
	return true;
}

bool http_date_parse(const char *s, size_t len, int64_t *t)
{
	int h, mi, sec, day, mon, year;

	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	if (len == 29 && s[3] == ',' && s[4] == ' ' && s[7] == ' ' &&
	    s[11] == ' ' && s[16] == ' ' && memcmp(s + 25, " GMT", 4) == 0) {
		if (!http_short_day(s) || !http_time_of_day(s + 17, &h, &mi, &sec))
			return false;
		day = http_digits(s + 5, 2);
		mon = http_month(s + 8);
		year = http_digits(s + 12, 4);
		return http_make_time(year, mon, day, h, mi, sec, t);
	}
	/* asctime: "Sun Nov  6 08:49:37 1994" */
	if (len == 24 && s[3] == ' ' && s[7] == ' ' && s[10] == ' ' && s[19] == ' ') {
		if (!http_short_day(s) || !http_time_of_day(s + 11, &h, &mi, &sec))
			return false;
		mon = http_month(s + 4);
		day = s[8] == ' ' ? http_digits(s + 9, 1) : http_digits(s + 8, 2);
		year = http_digits(s + 20, 4);
		return http_make_time(year, mon, day, h, mi, sec, t);
	}
	/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
	for (int i = 0; i < 7; i++) {
		size_t n = strlen(http_day_long[i]);
		const char *r = s + n;

		if (len != n + 24 || memcmp(s, http_day_long[i], n) != 0)
			continue;
		if (r[0] != ',' || r[1] != ' ' || r[4] != '-' || r[8] != '-' ||
		    r[11] != ' ' || memcmp(r + 20, " GMT", 4) != 0 ||
		    !http_time_of_day(r + 12, &h, &mi, &sec))
			return false;
		day = http_digits(r + 2, 2);
		mon = http_month(r + 5);
		year = http_digits(r + 9, 2);
		if (year < 0)
			return false;
		/* RFC 9110: a two-digit year more than 50 years ahead is in
		 * the past century; with no clock here, pivot at 70. */
		year += year < 70 ? 2000 : 1900;
		return http_make_time(year, mon, day, h, mi, sec, t);
	}
	return false;
}
