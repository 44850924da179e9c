/* Request-head parser: a table of vectors, each run whole, byte by byte
 * and split at every offset; all three must agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/http/http.h"

#define RAW(s) s, sizeof(s) - 1

struct vec {
	const char *name;
	const char *raw;
	size_t len;
	enum http_parse_status want;
	enum http_error err;     /* for ERROR */
	int status;              /* http_error_status(err), for readability */
	/* checks on DONE; NULL / -1 means "don't care" */
	enum http_method method;
	int version;
	int keep_alive;
	const char *target;
	const char *host;
	const char *range;
	int gzip;
	long long body_len;
};

#define OK(n, r, m, v, ka, t, h) \
	{ n, RAW(r), HTTP_PARSE_DONE, HTTP_OK, 200, m, v, ka, t, h, NULL, -1, 0 }
#define BAD(n, r, e, st) \
	{ n, RAW(r), HTTP_PARSE_ERROR, e, st, 0, -1, -1, NULL, NULL, NULL, -1, -1 }
#define MORE(n, r) \
	{ n, RAW(r), HTTP_PARSE_NEED_MORE, HTTP_OK, 0, 0, -1, -1, NULL, NULL, NULL, -1, -1 }

static const struct vec vecs[] = {
	OK("basic 1.1", "GET / HTTP/1.1\r\nHost: boot\r\n\r\n",
	   HTTP_METHOD_GET, 11, 1, "/", "boot"),
	OK("head 1.0 no host", "HEAD /x HTTP/1.0\r\n\r\n",
	   HTTP_METHOD_HEAD, 10, 0, "/x", ""),
	OK("1.0 keep-alive", "GET /a HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	   HTTP_METHOD_GET, 10, 1, "/a", NULL),
	OK("1.1 close", "GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
	   HTTP_METHOD_GET, 11, 0, "/a", "h"),
	OK("connection list", "GET /a HTTP/1.1\r\nHost: h\r\nConnection: upgrade , CLOSE\r\n\r\n",
	   HTTP_METHOD_GET, 11, 0, NULL, NULL),
	OK("close wins over keep-alive", "GET /a HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
	   HTTP_METHOD_GET, 10, 0, NULL, NULL),
	OK("leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
	   HTTP_METHOD_GET, 11, 1, "/", "h"),
	OK("value OWS trimmed", "GET / HTTP/1.1\r\nHost: \t h \t\r\n\r\n",
	   HTTP_METHOD_GET, 11, 1, "/", "h"),
	OK("empty value", "GET / HTTP/1.1\r\nHost:\r\nX-Empty:\r\n\r\n",
	   HTTP_METHOD_GET, 11, 1, "/", ""),
	OK("field name case", "GET / HTTP/1.1\r\nhOsT: h\r\n\r\n",
	   HTTP_METHOD_GET, 11, 1, "/", "h"),
	OK("HTTP/1.2 is 1.1", "GET / HTTP/1.2\r\nHost: h\r\n\r\n",
	   HTTP_METHOD_GET, 11, 1, "/", "h"),
	OK("query kept in target", "GET /a/b?mac=00:11&x=%20 HTTP/1.1\r\nHost: h\r\n\r\n",
	   HTTP_METHOD_GET, 11, 1, "/a/b?mac=00:11&x=%20", "h"),
	OK("absolute-form", "GET http://boot.lan:8080/ipxe/boot.ipxe HTTP/1.1\r\n\r\n",
	   HTTP_METHOD_GET, 11, 1, "/ipxe/boot.ipxe", "boot.lan:8080"),
	OK("absolute-form beats Host", "GET HTTP://a/x HTTP/1.1\r\nHost: b\r\n\r\n",
	   HTTP_METHOD_GET, 11, 1, "/x", "a"),
	OK("high bytes in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n",
	   HTTP_METHOD_GET, 11, 1, "/caf\xc3\xa9", "h"),
	OK("obs-text in value", "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: \xff\xfe\r\n\r\n",
	   HTTP_METHOD_GET, 11, 1, "/", "h"),
	{ "range kept", RAW("GET /f HTTP/1.1\r\nHost: h\r\nRange: bytes=0-99\r\n\r\n"),
	  HTTP_PARSE_DONE, HTTP_OK, 200, HTTP_METHOD_GET, 11, 1, "/f", "h", "bytes=0-99", -1, 0 },
	{ "gzip", RAW("GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: deflate, gzip\r\n\r\n"),
	  HTTP_PARSE_DONE, HTTP_OK, 200, HTTP_METHOD_GET, 11, 1, NULL, NULL, NULL, 1, 0 },
	{ "gzip q=0", RAW("GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip;q=0\r\n\r\n"),
	  HTTP_PARSE_DONE, HTTP_OK, 200, HTTP_METHOD_GET, 11, 1, NULL, NULL, NULL, 0, 0 },
	{ "gzip q=0.000", RAW("GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip ; q=0.000, br\r\n\r\n"),
	  HTTP_PARSE_DONE, HTTP_OK, 200, HTTP_METHOD_GET, 11, 1, NULL, NULL, NULL, 0, 0 },
	{ "gzip q=0.001", RAW("GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: GZIP;Q=0.001\r\n\r\n"),
	  HTTP_PARSE_DONE, HTTP_OK, 200, HTTP_METHOD_GET, 11, 1, NULL, NULL, NULL, 1, 0 },
	{ "star", RAW("GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: *\r\n\r\n"),
	  HTTP_PARSE_DONE, HTTP_OK, 200, HTTP_METHOD_GET, 11, 1, NULL, NULL, NULL, 1, 0 },
	{ "star but not gzip", RAW("GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: *, gzip;q=0\r\n\r\n"),
	  HTTP_PARSE_DONE, HTTP_OK, 200, HTTP_METHOD_GET, 11, 1, NULL, NULL, NULL, 0, 0 },
	{ "no gzip", RAW("GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: identity, deflate\r\n\r\n"),
	  HTTP_PARSE_DONE, HTTP_OK, 200, HTTP_METHOD_GET, 11, 1, NULL, NULL, NULL, 0, 0 },
	{ "body on GET skipped", RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"),
	  HTTP_PARSE_DONE, HTTP_OK, 200, HTTP_METHOD_GET, 11, 1, NULL, NULL, NULL, -1, 5 },
	{ "content-length repeated same", RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
	  HTTP_PARSE_DONE, HTTP_OK, 200, HTTP_METHOD_GET, 11, 1, NULL, NULL, NULL, -1, 3 },
	{ "POST with its body", RAW("POST /api/hosts/x/state HTTP/1.1\r\nHost: h\r\nContent-Length: 15\r\n\r\nstate=installed"),
	  HTTP_PARSE_DONE, HTTP_OK, 200, HTTP_METHOD_POST, 11, 1, "/api/hosts/x/state", "h", NULL, -1, 15 },
	{ "content-length 0", RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"),
	  HTTP_PARSE_DONE, HTTP_OK, 200, HTTP_METHOD_GET, 11, 1, NULL, NULL, NULL, -1, 0 },

	MORE("empty", ""),
	MORE("partial method", "GE"),
	MORE("partial line", "GET /boot.ipxe HTTP/1.1"),
	MORE("CR pending", "GET / HTTP/1.1\r"),
	MORE("fields pending", "GET / HTTP/1.1\r\nHost: h\r\n"),
	MORE("final CR pending", "GET / HTTP/1.1\r\nHost: h\r\n\r"),

	BAD("bare LF request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", HTTP_E_BARE_LF, 400),
	BAD("bare LF field", "GET / HTTP/1.1\r\nHost: h\n\r\n", HTTP_E_BARE_LF, 400),
	BAD("bare LF blank line", "GET / HTTP/1.1\r\nHost: h\r\n\n", HTTP_E_BARE_LF, 400),
	BAD("bare LF leading", "\nGET / HTTP/1.1\r\n\r\n", HTTP_E_BARE_LF, 400),
	BAD("bare LF everywhere", "GET / HTTP/1.0\n\n", HTTP_E_BARE_LF, 400),
	BAD("bare CR in name", "GET / HTTP/1.1\r\nHo\rst: h\r\n\r\n", HTTP_E_BARE_CR, 400),
	BAD("bare CR in value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", HTTP_E_BARE_CR, 400),
	BAD("bare CR in request line", "GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_BARE_CR, 400),
	BAD("CR CR LF", "GET / HTTP/1.1\r\r\n\r\n", HTTP_E_BARE_CR, 400),
	BAD("too many empty lines", "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n",
	    HTTP_E_TOO_MANY_CRLF, 400),
	BAD("POST body over its cap", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4097\r\n\r\n",
	    HTTP_E_BODY_TOO_LARGE, 413),
	BAD("PUT", "PUT /x HTTP/1.1\r\n", HTTP_E_METHOD_NOT_ALLOWED, 405),
	BAD("DELETE", "DELETE /x HTTP/1.1\r\n", HTTP_E_METHOD_NOT_ALLOWED, 405),
	BAD("OPTIONS *", "OPTIONS * HTTP/1.1\r\n", HTTP_E_METHOD_NOT_ALLOWED, 405),
	BAD("CONNECT", "CONNECT a:443 HTTP/1.1\r\n", HTTP_E_METHOD_NOT_ALLOWED, 405),
	BAD("TRACE", "TRACE / HTTP/1.1\r\n", HTTP_E_METHOD_NOT_ALLOWED, 405),
	BAD("unknown method", "BREW /pot HTTP/1.1\r\n", HTTP_E_METHOD_UNKNOWN, 501),
	BAD("lowercase get is another token", "get / HTTP/1.1\r\n", HTTP_E_METHOD_UNKNOWN, 501),
	BAD("method bad char", "G@T / HTTP/1.1\r\n", HTTP_E_BAD_METHOD, 400),
	BAD("method bad char early", "G\x01", HTTP_E_BAD_METHOD, 400),
	BAD("TLS client hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", HTTP_E_BAD_METHOD, 400),
	BAD("NUL first", "\0GET / HTTP/1.1\r\n\r\n", HTTP_E_BAD_METHOD, 400),
	BAD("method too long", "GETGETGETGETGETGETGETGETGETGETGETGET / HTTP/1.1\r\n", HTTP_E_BAD_METHOD, 400),
	BAD("leading space", " GET / HTTP/1.1\r\n\r\n", HTTP_E_BAD_METHOD, 400),
	BAD("HTTP/0.9", "GET /\r\n\r\n", HTTP_E_BAD_REQUEST_LINE, 400),
	BAD("method only", "GET\r\n\r\n", HTTP_E_BAD_REQUEST_LINE, 400),
	BAD("two spaces", "GET  / HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST_LINE, 400),
	BAD("trailing space", "GET / HTTP/1.1 \r\n\r\n", HTTP_E_BAD_VERSION, 400),
	BAD("version lowercase", "GET / http/1.1\r\n\r\n", HTTP_E_BAD_VERSION, 400),
	BAD("version garbage", "GET / HTTP/1.x\r\n\r\n", HTTP_E_BAD_VERSION, 400),
	BAD("version long", "GET / HTTP/1.10\r\n\r\n", HTTP_E_BAD_VERSION, 400),
	BAD("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", HTTP_E_VERSION, 505),
	BAD("HTTP/0.9 spelled", "GET / HTTP/0.9\r\n\r\n", HTTP_E_VERSION, 505),
	BAD("target not slash", "GET boot.ipxe HTTP/1.1\r\n\r\n", HTTP_E_BAD_TARGET, 400),
	BAD("target asterisk", "GET * HTTP/1.1\r\n\r\n", HTTP_E_BAD_TARGET, 400),
	BAD("target https", "GET https://a/x HTTP/1.1\r\n\r\n", HTTP_E_BAD_TARGET, 400),
	BAD("absolute no path", "GET http://a HTTP/1.1\r\n\r\n", HTTP_E_BAD_TARGET, 400),
	BAD("absolute no authority", "GET http:///x HTTP/1.1\r\n\r\n", HTTP_E_BAD_TARGET, 400),
	BAD("target NUL", "GET /a\0b HTTP/1.1\r\n\r\n", HTTP_E_BAD_TARGET, 400),
	BAD("target tab", "GET /a\tb HTTP/1.1\r\n\r\n", HTTP_E_BAD_TARGET, 400),
	BAD("target DEL", "GET /a\x7f HTTP/1.1\r\n\r\n", HTTP_E_BAD_TARGET, 400),
	BAD("no host 1.1", "GET / HTTP/1.1\r\n\r\n", HTTP_E_NO_HOST, 400),
	BAD("two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", HTTP_E_DUP_HOST, 400),
	BAD("two ranges", "GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n",
	    HTTP_E_DUP_RANGE, 400),
	BAD("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", HTTP_E_OBS_FOLD, 400),
	BAD("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", HTTP_E_BAD_FIELD_NAME, 400),
	BAD("no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", HTTP_E_BAD_FIELD_NAME, 400),
	BAD("empty name", "GET / HTTP/1.1\r\n: a\r\n\r\n", HTTP_E_BAD_FIELD_NAME, 400),
	BAD("NUL in name", "GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n", HTTP_E_BAD_FIELD_NAME, 400),
	BAD("NUL in value", "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", HTTP_E_BAD_FIELD_VALUE, 400),
	BAD("ESC in value", "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: \x1b[2J\r\n\r\n",
	    HTTP_E_BAD_FIELD_VALUE, 400),
	BAD("CL and chunked", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	    HTTP_E_CL_AND_TE, 400),
	BAD("chunked and CL", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
	    HTTP_E_CL_AND_TE, 400),
	BAD("chunked alone", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
	    HTTP_E_TE_UNSUPPORTED, 501),
	BAD("TE in 1.0", "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_E_TE_HTTP10, 400),
	BAD("CL conflicting", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
	    HTTP_E_BAD_CONTENT_LENGTH, 400),
	BAD("CL list", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n",
	    HTTP_E_BAD_CONTENT_LENGTH, 400),
	BAD("CL negative", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
	    HTTP_E_BAD_CONTENT_LENGTH, 400),
	BAD("CL plus", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n",
	    HTTP_E_BAD_CONTENT_LENGTH, 400),
	BAD("CL empty", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
	    HTTP_E_BAD_CONTENT_LENGTH, 400),
	BAD("CL overflow", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
	    HTTP_E_BAD_CONTENT_LENGTH, 400),
	BAD("CL hex", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n",
	    HTTP_E_BAD_CONTENT_LENGTH, 400),
	BAD("body too large", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n",
	    HTTP_E_BODY_TOO_LARGE, 413),
};

struct result {
	enum http_parse_status st;
	struct http_request req;
};

/* Feed raw in pieces: split points from `step` (0 = whole), or a single
 * split at `cut`. Each call sees the whole prefix received so far, the
 * way a connection buffer grows. */
static struct result feed(const char *raw, size_t len, size_t step, size_t cut)
{
	struct http_parser p;
	struct result r;
	size_t have = 0;

	http_parser_init(&p);
	memset(&r, 0, sizeof(r));
	r.st = HTTP_PARSE_NEED_MORE;
	while (have < len || (have == 0 && len == 0)) {
		if (step)
			have = have + step > len ? len : have + step;
		else if (cut && have < cut)
			have = cut;
		else
			have = len;
		r.st = http_parse_request(&p, raw, have, &r.req);
		if (r.st != HTTP_PARSE_NEED_MORE || len == 0)
			break;
	}
	return r;
}

static void check_str(const char *name, const char *what, struct http_str got, const char *want)
{
	if (want == NULL)
		return;
	if (got.len != strlen(want) || memcmp(got.ptr, want, got.len) != 0) {
		print_error("%s: %s is '%.*s', want '%s'\n", name, what, (int)got.len, got.ptr, want);
		fail();
	}
}

static void check_vec(const struct vec *v, const struct result *r, const char *how)
{
	if (r->st != v->want) {
		print_error("%s (%s): status %d want %d (error %s)\n", v->name, how, r->st,
			    v->want, http_error_name(r->req.error));
		fail();
	}
	if (v->want == HTTP_PARSE_ERROR) {
		if (r->req.error != v->err) {
			print_error("%s (%s): error %s want %s\n", v->name, how,
				    http_error_name(r->req.error), http_error_name(v->err));
			fail();
		}
		assert_int_equal(http_error_status(r->req.error), v->status);
		assert_false(r->req.keep_alive);
		return;
	}
	if (v->want != HTTP_PARSE_DONE)
		return;
	if (v->method)
		assert_int_equal(r->req.method, v->method);
	if (v->version >= 0)
		assert_int_equal(r->req.version, v->version);
	if (v->keep_alive >= 0)
		assert_int_equal(r->req.keep_alive, v->keep_alive);
	if (v->gzip >= 0)
		assert_int_equal(r->req.accept_gzip, v->gzip);
	if (v->body_len >= 0)
		assert_int_equal(r->req.body_len, v->body_len);
	check_str(v->name, "target", r->req.target, v->target);
	check_str(v->name, "host", r->req.host, v->host);
	check_str(v->name, "range", r->req.range, v->range);
	/* the head ends at the blank line; the body follows */
	if (r->req.head_len + r->req.body_len != v->len) {
		print_error("%s (%s): head %zu body %llu len %zu\n", v->name, how, r->req.head_len,
			    (unsigned long long)r->req.body_len, v->len);
		fail();
	}
	assert_memory_equal(v->raw + r->req.head_len - 4, "\r\n\r\n", 4);
}

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		struct result whole = feed(v->raw, v->len, 0, 0);

		struct result bytewise = feed(v->raw, v->len, 1, 0);
		struct result sevens = feed(v->raw, v->len, 7, 0);

		check_vec(v, &whole, "whole");
		check_vec(v, &bytewise, "byte by byte");
		check_vec(v, &sevens, "7 at a time");
		for (size_t cut = 1; cut < v->len; cut++) {
			struct result r = feed(v->raw, v->len, 0, cut);
			char how[32];

			snprintf(how, sizeof(how), "split at %zu", cut);
			check_vec(v, &r, how);
		}
	}
}

static void test_if_modified_since(void **state)
{
	static const char req[] =
		"GET / HTTP/1.1\r\nHost: h\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
		"If-None-Match: W/\"1\", \"2\"\r\nIf-Range: \"abc\"\r\n\r\n";
	static const char bad[] =
		"GET / HTTP/1.1\r\nHost: h\r\nIf-Modified-Since: yesterday\r\n\r\n";
	struct http_parser p;
	struct http_request r;

	(void)state;
	http_parser_init(&p);
	assert_int_equal(http_parse_request(&p, req, sizeof(req) - 1, &r), HTTP_PARSE_DONE);
	assert_true(r.has_if_modified_since);
	assert_int_equal(r.if_modified_since, 784111777);
	check_str("ims", "if-none-match", r.if_none_match, "W/\"1\", \"2\"");
	check_str("ims", "if-range", r.if_range, "\"abc\"");

	http_parser_init(&p);
	assert_int_equal(http_parse_request(&p, bad, sizeof(bad) - 1, &r), HTTP_PARSE_DONE);
	assert_false(r.has_if_modified_since);
}

/* Two requests in one read: the first reports where the second begins. */
static void test_pipelining(void **state)
{
	static const char two[] =
		"GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
		"HEAD /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
		"GET /c HTTP/1.1\r\nHo";
	struct http_parser p;
	struct http_request r;
	size_t off = 0;

	(void)state;
	http_parser_init(&p);
	assert_int_equal(http_parse_request(&p, two, sizeof(two) - 1, &r), HTTP_PARSE_DONE);
	check_str("pipe", "target", r.target, "/a");
	assert_int_equal(r.body_len, 3);
	assert_true(r.keep_alive);
	off = r.head_len + r.body_len;

	http_parser_init(&p);
	assert_int_equal(http_parse_request(&p, two + off, sizeof(two) - 1 - off, &r), HTTP_PARSE_DONE);
	assert_int_equal(r.method, HTTP_METHOD_HEAD);
	check_str("pipe", "target", r.target, "/b");
	assert_false(r.keep_alive);
	off += r.head_len + r.body_len;

	http_parser_init(&p);
	assert_int_equal(http_parse_request(&p, two + off, sizeof(two) - 1 - off, &r),
			 HTTP_PARSE_NEED_MORE);
}

/* A buffer of n copies of c after prefix, ended by suffix. */
static char *build(const char *prefix, char c, size_t n, const char *suffix, size_t *len)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	char *b = malloc(pl + n + sl + 1);

	if (b == NULL)
		abort();
	memcpy(b, prefix, pl);
	memset(b + pl, c, n);
	memcpy(b + pl + n, suffix, sl + 1);
	*len = pl + n + sl;
	return b;
}

static void expect(const char *raw, size_t len, enum http_parse_status st, enum http_error err)
{
	struct result w = feed(raw, len, 0, 0), b = feed(raw, len, 1, 0);

	assert_int_equal(w.st, st);
	assert_int_equal(b.st, st);
	if (st == HTTP_PARSE_ERROR) {
		assert_int_equal(w.req.error, err);
		assert_int_equal(b.req.error, err);
	}
}

static void test_caps(void **state)
{
	const size_t rl_target = HTTP_MAX_REQUEST_LINE - strlen("GET / HTTP/1.1");
	size_t len;
	char *b;

	(void)state;
	/* request line exactly at the cap is fine, one more is 414 */
	b = build("GET /", 'a', rl_target, " HTTP/1.1\r\nHost: h\r\n\r\n", &len);
	expect(b, len, HTTP_PARSE_DONE, HTTP_OK);
	free(b);
	b = build("GET /", 'a', rl_target + 1, " HTTP/1.1\r\nHost: h\r\n\r\n", &len);
	expect(b, len, HTTP_PARSE_ERROR, HTTP_E_URI_TOO_LONG);
	assert_int_equal(http_error_status(HTTP_E_URI_TOO_LONG), 414);
	free(b);
	/* an endless request line is refused without waiting for its end */
	b = build("GET /", 'a', HTTP_MAX_REQUEST_LINE, "", &len);
	expect(b, len, HTTP_PARSE_ERROR, HTTP_E_URI_TOO_LONG);
	free(b);
	/* an over-long line ended by a bare LF: the cap is checked first */
	b = build("GET /", 'a', HTTP_MAX_REQUEST_LINE, " HTTP/1.1\n", &len);
	expect(b, len, HTTP_PARSE_ERROR, HTTP_E_URI_TOO_LONG);
	free(b);

	/* one huge field */
	b = build("GET / HTTP/1.1\r\nHost: h\r\nX-Big: ", 'b', HTTP_MAX_HEAD, "\r\n\r\n", &len);
	expect(b, len, HTTP_PARSE_ERROR, HTTP_E_HEAD_TOO_LARGE);
	assert_int_equal(http_error_status(HTTP_E_HEAD_TOO_LARGE), 431);
	free(b);
	/* a field that never ends */
	b = build("GET / HTTP/1.1\r\nHost: h\r\nX-Big: ", 'b', HTTP_MAX_HEAD, "", &len);
	expect(b, len, HTTP_PARSE_ERROR, HTTP_E_HEAD_TOO_LARGE);
	free(b);
	/* head exactly HTTP_MAX_HEAD bytes is accepted */
	{
		const char *pre = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
		size_t fill = HTTP_MAX_HEAD - strlen(pre) - 4;

		b = build(pre, 'c', fill, "\r\n\r\n", &len);
		assert_int_equal(len, HTTP_MAX_HEAD);
		expect(b, len, HTTP_PARSE_DONE, HTTP_OK);
		free(b);
		b = build(pre, 'c', fill + 1, "\r\n\r\n", &len);
		expect(b, len, HTTP_PARSE_ERROR, HTTP_E_HEAD_TOO_LARGE);
		free(b);
	}

	/* field count: HTTP_MAX_FIELDS is fine, one more is refused */
	for (int extra = 0; extra <= 1; extra++) {
		static char big[HTTP_MAX_HEAD];
		size_t o = 0;

		o += (size_t)sprintf(big + o, "GET / HTTP/1.1\r\nHost: h\r\n");
		for (int i = 1; i < HTTP_MAX_FIELDS + extra; i++)
			o += (size_t)sprintf(big + o, "X%d: %d\r\n", i, i);
		o += (size_t)sprintf(big + o, "\r\n");
		expect(big, o, extra ? HTTP_PARSE_ERROR : HTTP_PARSE_DONE,
		       extra ? HTTP_E_TOO_MANY_FIELDS : HTTP_OK);
	}
}

/* Calling again after DONE or ERROR gives the same answer. */
static void test_sticky(void **state)
{
	static const char ok[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\nGARBAGE";
	static const char bad[] = "GET / HTTP/1.1\nHost: h\r\n\r\n";
	struct http_parser p;
	struct http_request r;

	(void)state;
	http_parser_init(&p);
	assert_int_equal(http_parse_request(&p, ok, sizeof(ok) - 1, &r), HTTP_PARSE_DONE);
	assert_int_equal(http_parse_request(&p, ok, sizeof(ok) - 1, &r), HTTP_PARSE_DONE);
	assert_int_equal(r.head_len, sizeof(ok) - 1 - 7);
	http_parser_init(&p);
	assert_int_equal(http_parse_request(&p, bad, sizeof(bad) - 1, &r), HTTP_PARSE_ERROR);
	assert_int_equal(http_parse_request(&p, bad, sizeof(bad) - 1, &r), HTTP_PARSE_ERROR);
	assert_int_equal(r.error, HTTP_E_BARE_LF);
}

static void test_error_table(void **state)
{
	(void)state;
	for (int e = 0; e < HTTP_E__COUNT; e++) {
		int st = http_error_status((enum http_error)e);

		assert_true(e == HTTP_OK ? st == 200 : (st >= 400 && st < 600));
		assert_string_not_equal(http_error_name((enum http_error)e), "unknown");
		assert_string_not_equal(http_status_reason(st), "Unknown");
	}
	assert_int_equal(http_error_status(HTTP_E__COUNT), 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_if_modified_since),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_sticky),
		cmocka_unit_test(test_error_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
