/* Range evaluation, ETag lists, If-None-Match / If-Modified-Since / If-Range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/http/http.h"

#define FULL HTTP_RANGE_FULL
#define PART HTTP_RANGE_PARTIAL
#define UNSAT HTTP_RANGE_UNSATISFIABLE

struct vec {
	const char *value;
	uint64_t size;
	enum http_range_kind kind;
	uint64_t start, length; /* PARTIAL */
};

static const struct vec vecs[] = {
	{ "bytes=0-99", 1000, PART, 0, 100 },
	{ "bytes=100-199", 1000, PART, 100, 100 },
	{ "bytes=0-0", 1000, PART, 0, 1 },
	{ "bytes=999-999", 1000, PART, 999, 1 },
	{ "bytes=500-", 1000, PART, 500, 500 },
	{ "bytes=0-", 1000, PART, 0, 1000 },
	{ "bytes=-100", 1000, PART, 900, 100 },
	{ "bytes=-1", 1000, PART, 999, 1 },
	{ "bytes=-1000", 1000, PART, 0, 1000 },
	{ "bytes=-5000", 1000, PART, 0, 1000 },        /* suffix longer than file */
	{ "bytes=900-5000", 1000, PART, 900, 100 },    /* end clamped to EOF */
	{ "bytes=0-18446744073709551615", 1000, PART, 0, 1000 },
	{ "bytes=0-99999999999999999999999", 1000, PART, 0, 1000 }, /* saturates */
	{ "bytes=-99999999999999999999999", 1000, PART, 0, 1000 },
	{ "Bytes=0-1", 10, PART, 0, 2 },                /* unit is case-insensitive */
	{ "bytes= 0-1", 10, PART, 0, 2 },
	{ "bytes=0-1 ", 10, PART, 0, 2 },
	{ "bytes=,0-1,", 10, PART, 0, 2 },             /* empty list elements */
	{ "bytes=0-1, ,", 10, PART, 0, 2 },
	{ "bytes=0-4294967296", 8589934592ULL, PART, 0, 4294967297ULL }, /* > 4 GiB ISO */

	{ "bytes=-0", 1000, UNSAT, 0, 0 },
	{ "bytes=1000-", 1000, UNSAT, 0, 0 },          /* start at EOF */
	{ "bytes=1000-1000", 1000, UNSAT, 0, 0 },
	{ "bytes=5000-6000", 1000, UNSAT, 0, 0 },      /* past EOF */
	{ "bytes=99999999999999999999-", 1000, UNSAT, 0, 0 },
	{ "bytes=200-100", 1000, UNSAT, 0, 0 },        /* reversed: 416 as nginx */
	{ "bytes=1-0", 1000, UNSAT, 0, 0 },
	{ "bytes=0-0", 0, UNSAT, 0, 0 },               /* empty file */
	{ "bytes=0-", 0, UNSAT, 0, 0 },
	{ "bytes=-1", 0, UNSAT, 0, 0 },

	{ "", 1000, FULL, 0, 0 },
	{ "bytes=0-1,5-6", 1000, FULL, 0, 0 },         /* multiple: whole file */
	{ "bytes=0-1, 5-6", 1000, FULL, 0, 0 },
	{ "bytes=-0,0-1", 1000, FULL, 0, 0 },
	{ "bytes=5000-6000,7000-8000", 1000, FULL, 0, 0 },
	{ "bytes=0-1,garbage", 1000, FULL, 0, 0 },
	{ "bytes=", 1000, FULL, 0, 0 },                /* garbage: ignored */
	{ "bytes=-", 1000, FULL, 0, 0 },
	{ "bytes=,", 1000, FULL, 0, 0 },
	{ "bytes=a-b", 1000, FULL, 0, 0 },
	{ "bytes=1-2-3", 1000, FULL, 0, 0 },
	{ "bytes=1", 1000, FULL, 0, 0 },
	{ "bytes=--1", 1000, FULL, 0, 0 },
	{ "bytes=+1-2", 1000, FULL, 0, 0 },
	{ "bytes=0x10-0x20", 1000, FULL, 0, 0 },
	{ "bytes=1 - 2", 1000, FULL, 0, 0 },
	{ "bytes =0-1", 1000, FULL, 0, 0 },
	{ "bytes", 1000, FULL, 0, 0 },
	{ "items=0-1", 1000, FULL, 0, 0 },             /* unknown unit: ignored */
	{ "0-1", 1000, FULL, 0, 0 },
};

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		struct http_range r;
		enum http_range_kind k = http_range_eval(v->value, strlen(v->value), v->size, &r);

		if (k != v->kind || (k == PART && (r.start != v->start || r.length != v->length))) {
			print_error("'%s' size %llu: kind %d %llu+%llu, want %d %llu+%llu\n",
				    v->value, (unsigned long long)v->size, k,
				    (unsigned long long)r.start, (unsigned long long)r.length,
				    v->kind, (unsigned long long)v->start,
				    (unsigned long long)v->length);
			fail();
		}
		if (k == FULL) {
			assert_int_equal(r.start, 0);
			assert_int_equal(r.length, v->size);
		}
	}
}

/* Hundreds of ranges in a header at the size cap: answered as one
 * whole-file response, without looking at more than it must. */
static void test_many_ranges(void **state)
{
	char *v = malloc(HTTP_MAX_HEAD);
	size_t o;
	struct http_range r;

	(void)state;
	if (v == NULL)
		abort();
	o = (size_t)snprintf(v, HTTP_MAX_HEAD, "bytes=");
	for (int i = 0; o + 16 < HTTP_MAX_HEAD; i++)
		o += (size_t)snprintf(v + o, HTTP_MAX_HEAD - o, "%d-%d,", i, i);
	assert_int_equal(http_range_eval(v, o, 1 << 20, &r), HTTP_RANGE_FULL);
	/* the same with overlapping ranges, the classic amplification */
	o = (size_t)snprintf(v, HTTP_MAX_HEAD, "bytes=");
	while (o + 8 < HTTP_MAX_HEAD)
		o += (size_t)snprintf(v + o, HTTP_MAX_HEAD - o, "0-,");
	assert_int_equal(http_range_eval(v, o, 1 << 20, &r), HTTP_RANGE_FULL);
	free(v);
}

/* Through the parser, as the server will use it. */
static void test_from_parser(void **state)
{
	static const char req[] = "GET /f HTTP/1.1\r\nHost: h\r\nRange:  bytes=-0 \r\n\r\n";
	struct http_parser p;
	struct http_request q;
	struct http_range r;

	(void)state;
	http_parser_init(&p);
	assert_int_equal(http_parse_request(&p, req, sizeof(req) - 1, &q), HTTP_PARSE_DONE);
	assert_int_equal(http_range_eval(q.range.ptr, q.range.len, 10, &r), UNSAT);
}

static void test_etag_format(void **state)
{
	char e[48];

	(void)state;
	assert_int_equal(http_etag_format(e, sizeof(e), 0x5f5e1000, 0x1234), 15);
	assert_string_equal(e, "\"5f5e1000-1234\"");
	assert_int_equal(http_etag_format(e, 8, 0x5f5e1000, 0x1234), 0);
	assert_true(http_etag_format(e, sizeof(e), INT64_MAX, UINT64_MAX) > 0);
	assert_string_equal(e, "\"7fffffffffffffff-ffffffffffffffff\"");
}

struct inm {
	const char *list;
	const char *etag;
	bool match;
};

static const struct inm inms[] = {
	{ "\"abc\"", "\"abc\"", true },
	{ "\"abc\"", "W/\"abc\"", true },          /* weak comparison */
	{ "W/\"abc\"", "\"abc\"", true },
	{ "W/\"abc\"", "W/\"abc\"", true },
	{ "\"x\", \"abc\"", "\"abc\"", true },
	{ "\"x\",\"y\" ,  W/\"abc\"  ", "\"abc\"", true },
	{ ",,\"abc\",,", "\"abc\"", true },
	{ "*", "\"abc\"", true },
	{ "  *  ", "\"abc\"", true },
	{ "\"\"", "\"\"", true },
	{ "\"abc\"", "\"abd\"", false },
	{ "\"ab\"", "\"abc\"", false },
	{ "abc", "\"abc\"", false },               /* unquoted: malformed */
	{ "\"abc", "\"abc\"", false },
	{ "\"x\" \"abc\"", "\"abc\"", true },      /* lenient on a missing comma */
	{ "\"x\"junk, \"abc\"", "\"abc\"", false },
	{ "w/\"abc\"", "\"abc\"", false },         /* W/ is case-sensitive */
	{ "\"a bc\"", "\"a bc\"", false },         /* no spaces in a tag */
	{ "", "\"abc\"", false },
	{ "*, \"abc\"", "\"abc\"", false },        /* * only on its own */
	{ "\"abc\"", "", false },
	{ "\"abc\"", "abc", false },               /* our tag must be valid */
};

static void test_etag_match(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(inms) / sizeof(inms[0]); i++) {
		const struct inm *v = &inms[i];
		bool m = http_etag_list_match(v->list, strlen(v->list), v->etag, strlen(v->etag));

		if (m != v->match) {
			print_error("'%s' vs '%s': %d want %d\n", v->list, v->etag, m, v->match);
			fail();
		}
	}
	assert_false(http_etag_list_match("\"a\"", 3, NULL, 0));
}

static struct http_request parse(const char *fields, char *buf, size_t size)
{
	struct http_parser p;
	struct http_request r;
	int n = snprintf(buf, size, "GET / HTTP/1.1\r\nHost: h\r\n%s\r\n", fields);

	http_parser_init(&p);
	if (n < 0 || (size_t)n >= size ||
	    http_parse_request(&p, buf, (size_t)n, &r) != HTTP_PARSE_DONE)
		abort();
	return r;
}

static void test_conditionals(void **state)
{
	static const char etag[] = "\"5f5e1000-1234\"";
	const size_t el = sizeof(etag) - 1;
	const int64_t t = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
	char b[512];
	struct http_request r;

	(void)state;
	r = parse("", b, sizeof(b));
	assert_false(http_not_modified(&r, etag, el, t));
	assert_true(http_if_range_ok(&r, etag, el, t));

	r = parse("If-None-Match: \"5f5e1000-1234\"\r\n", b, sizeof(b));
	assert_true(http_not_modified(&r, etag, el, t));
	r = parse("If-None-Match: \"other\"\r\n", b, sizeof(b));
	assert_false(http_not_modified(&r, etag, el, t));
	/* If-None-Match present: If-Modified-Since is not looked at */
	r = parse("If-None-Match: \"other\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n",
		  b, sizeof(b));
	assert_false(http_not_modified(&r, etag, el, t));

	r = parse("If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", b, sizeof(b));
	assert_true(http_not_modified(&r, etag, el, t));
	assert_true(http_not_modified(&r, etag, el, t - 1));
	assert_false(http_not_modified(&r, etag, el, t + 1));
	r = parse("If-Modified-Since: Sunday, 06-Nov-94 08:49:37 GMT\r\n", b, sizeof(b));
	assert_true(http_not_modified(&r, etag, el, t));
	r = parse("If-Modified-Since: Sun Nov  6 08:49:37 1994\r\n", b, sizeof(b));
	assert_true(http_not_modified(&r, etag, el, t));
	r = parse("If-Modified-Since: garbage\r\n", b, sizeof(b));
	assert_false(http_not_modified(&r, etag, el, t));

	r = parse("If-Range: \"5f5e1000-1234\"\r\n", b, sizeof(b));
	assert_true(http_if_range_ok(&r, etag, el, t));
	r = parse("If-Range: \"other\"\r\n", b, sizeof(b));
	assert_false(http_if_range_ok(&r, etag, el, t));
	r = parse("If-Range: W/\"5f5e1000-1234\"\r\n", b, sizeof(b));
	assert_false(http_if_range_ok(&r, etag, el, t));   /* strong comparison */
	assert_false(http_if_range_ok(&(struct http_request){ .if_range = { "\"a\"", 3 } },
				      "W/\"a\"", 5, t));
	r = parse("If-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n", b, sizeof(b));
	assert_true(http_if_range_ok(&r, etag, el, t));
	assert_false(http_if_range_ok(&r, etag, el, t + 1));
	r = parse("If-Range: tomorrow\r\n", b, sizeof(b));
	assert_false(http_if_range_ok(&r, etag, el, t));
	r = parse("If-Range: \"5f5e1000-1234\" junk\r\n", b, sizeof(b));
	assert_false(http_if_range_ok(&r, etag, el, t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_many_ranges),
		cmocka_unit_test(test_from_parser),
		cmocka_unit_test(test_etag_format),
		cmocka_unit_test(test_etag_match),
		cmocka_unit_test(test_conditionals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
