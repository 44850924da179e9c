/* Range (RFC 9110 14) and the validators that decide 304 and If-Range
 * (RFC 9110 8.8, 13). See http.h for the choices on bad input; all of
 * them fall back to sending the whole file, which is always correct. */
#include "dataplane/http/http.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Digits at v[*i..], saturating at UINT64_MAX. False if there are none. */
static bool http_range_number(const char *v, size_t len, size_t *i, uint64_t *out)
{
	uint64_t n = 0;
	size_t s = *i;

	while (*i < len && v[*i] >= '0' && v[*i] <= '9') {
		unsigned d = (unsigned)(v[*i] - '0');

		n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
		(*i)++;
	}
	*out = n;
	return *i > s;
}

static bool http_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

enum http_range_kind http_range_eval(const char *v, size_t len, uint64_t size,
				     struct http_range *out)
{
	size_t i = 6, end;
	uint64_t a = 0, b = 0;
	bool has_a, has_b;

	out->start = 0;
	out->length = size;
	/* range-unit is case-insensitive; no whitespace around '=' */
	if (len < 6 || strncasecmp(v, "bytes=", 6) != 0)
		return HTTP_RANGE_FULL;
	/* Skip empty list elements (",  , 0-1" is legal); find the first. */
	while (i < len && (http_is_ows(v[i]) || v[i] == ','))
		i++;
	end = i;
	while (end < len && v[end] != ',')
		end++;
	/* A second non-empty element: several ranges, serve it all. */
	for (size_t j = end; j < len; j++)
		if (v[j] != ',' && !http_is_ows(v[j]))
			return HTTP_RANGE_FULL;
	while (end > i && http_is_ows(v[end - 1]))
		end--;
	if (i == end)
		return HTTP_RANGE_FULL;

	has_a = http_range_number(v, end, &i, &a);
	if (i >= end || v[i] != '-')
		return HTTP_RANGE_FULL;
	i++;
	has_b = http_range_number(v, end, &i, &b);
	if (i != end || (!has_a && !has_b))
		return HTTP_RANGE_FULL;

	if (!has_a) {
		/* suffix: the last b bytes */
		if (b == 0 || size == 0)
			return HTTP_RANGE_UNSATISFIABLE;
		if (b > size)
			b = size;
		out->start = size - b;
		out->length = b;
		return HTTP_RANGE_PARTIAL;
	}
	if (has_b && b < a)
		return HTTP_RANGE_UNSATISFIABLE;
	if (a >= size)
		return HTTP_RANGE_UNSATISFIABLE;
	if (!has_b || b > size - 1)
		b = size - 1;
	out->start = a;
	out->length = b - a + 1;
	return HTTP_RANGE_PARTIAL;
}

size_t http_etag_format(char *out, size_t size, int64_t mtime, uint64_t length)
{
	int n;

	if (mtime < 0)
		mtime = 0;
	n = snprintf(out, size, "\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)mtime, length);
	if (n < 0 || (size_t)n >= size)
		return 0;
	return (size_t)n;
}

/* Split an entity-tag at v[*i..]: weak flag and the opaque-tag including
 * its quotes. False if malformed. */
static bool http_etag_next(const char *v, size_t len, size_t *i,
			   bool *weak, const char **opaque, size_t *olen)
{
	size_t s;

	*weak = false;
	if (len - *i >= 2 && v[*i] == 'W' && v[*i + 1] == '/') {
		*weak = true;
		*i += 2;
	}
	if (*i >= len || v[*i] != '"')
		return false;
	s = (*i)++;
	while (*i < len && v[*i] != '"') {
		unsigned char c = (unsigned char)v[*i];

		if (c < 0x21 || c == 0x7f)
			return false;
		(*i)++;
	}
	if (*i >= len)
		return false;
	(*i)++;
	*opaque = v + s;
	*olen = *i - s;
	return true;
}

/* Our own ETag, split the same way; false if it is not a valid one. */
static bool http_etag_split(const char *etag, size_t etag_len, bool *weak,
			    const char **opaque, size_t *olen)
{
	size_t i = 0;

	return etag != NULL && http_etag_next(etag, etag_len, &i, weak, opaque, olen) &&
	       i == etag_len;
}

bool http_etag_list_match(const char *list, size_t len, const char *etag, size_t etag_len)
{
	const char *mine, *theirs;
	size_t mlen, tlen, i = 0;
	bool mweak, tweak;

	while (len > 0 && http_is_ows(list[len - 1]))
		len--;
	while (i < len && http_is_ows(list[i]))
		i++;
	if (len - i == 1 && list[i] == '*')
		return true;
	if (!http_etag_split(etag, etag_len, &mweak, &mine, &mlen))
		return false;
	while (i < len) {
		if (list[i] == ',' || http_is_ows(list[i])) {
			i++;
			continue;
		}
		if (!http_etag_next(list, len, &i, &tweak, &theirs, &tlen))
			return false;
		/* weak comparison: opaque tags equal, W/ ignored */
		if (tlen == mlen && memcmp(theirs, mine, mlen) == 0)
			return true;
		if (i < len && list[i] != ',' && !http_is_ows(list[i]))
			return false;
	}
	return false;
}

bool http_not_modified(const struct http_request *req, const char *etag,
		       size_t etag_len, int64_t mtime)
{
	/* If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2). */
	if (req->if_none_match.len > 0)
		return http_etag_list_match(req->if_none_match.ptr, req->if_none_match.len,
					    etag, etag_len);
	if (req->has_if_modified_since)
		return mtime <= req->if_modified_since;
	return false;
}

bool http_if_range_ok(const struct http_request *req, const char *etag,
		      size_t etag_len, int64_t mtime)
{
	const char *v = req->if_range.ptr, *mine, *theirs;
	size_t len = req->if_range.len, mlen, tlen, i = 0;
	bool mweak, tweak;
	int64_t t;

	if (len == 0)
		return true;
	if (v[0] == '"' || v[0] == 'W') {
		/* strong comparison: a weak tag on either side never matches */
		if (!http_etag_next(v, len, &i, &tweak, &theirs, &tlen) || i != len || tweak)
			return false;
		if (!http_etag_split(etag, etag_len, &mweak, &mine, &mlen) || mweak)
			return false;
		return tlen == mlen && memcmp(theirs, mine, mlen) == 0;
	}
	return http_date_parse(v, len, &t) && t == mtime;
}
