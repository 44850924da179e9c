/* Request target -> content-store path: traversal in every encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/http/http.h"

struct vec {
	const char *target;
	enum http_error err;
	const char *path; /* on HTTP_OK */
	int dir;          /* trailing slash */
};

static const struct vec vecs[] = {
	{ "/", HTTP_OK, "", 1 },
	{ "/boot.ipxe", HTTP_OK, "boot.ipxe", 0 },
	{ "/a/b/c.efi", HTTP_OK, "a/b/c.efi", 0 },
	{ "/a/b/", HTTP_OK, "a/b", 1 },
	{ "/a?x=1&y=../..", HTTP_OK, "a", 0 },
	{ "/a/b?", HTTP_OK, "a/b", 0 },
	{ "/?q", HTTP_OK, "", 1 },
	{ "//a///b//", HTTP_OK, "a/b", 1 },
	{ "/./a/./b/.", HTTP_OK, "a/b", 0 },
	{ "/.", HTTP_OK, "", 1 },
	{ "/./", HTTP_OK, "", 1 },
	{ "/%2e/a", HTTP_OK, "a", 0 },
	{ "/a%20b", HTTP_OK, "a b", 0 },
	{ "/%41%62", HTTP_OK, "Ab", 0 },
	{ "/a%3fb", HTTP_OK, "a?b", 0 },     /* an encoded '?' is part of the name */
	{ "/caf%C3%A9", HTTP_OK, "caf\xc3\xa9", 0 },
	{ "/...", HTTP_OK, "...", 0 },       /* not "..": a name */
	{ "/..a/a..", HTTP_OK, "..a/a..", 0 },
	{ "/.hidden", HTTP_OK, ".hidden", 0 },
	/* decoded once: the result is the literal name "%2e%2e" */
	{ "/%252e%252e/etc/passwd", HTTP_OK, "%2e%2e/etc/passwd", 0 },
	{ "/%252f", HTTP_OK, "%2f", 0 },
	{ "/%2500", HTTP_OK, "%00", 0 },

	{ "/..", HTTP_E_PATH_DOTDOT, NULL, 0 },
	{ "/../etc/passwd", HTTP_E_PATH_DOTDOT, NULL, 0 },
	{ "/a/../../etc/passwd", HTTP_E_PATH_DOTDOT, NULL, 0 },
	{ "/a/..", HTTP_E_PATH_DOTDOT, NULL, 0 },
	{ "/a/../b", HTTP_E_PATH_DOTDOT, NULL, 0 }, /* refused, not resolved */
	{ "/%2e%2e/etc/passwd", HTTP_E_PATH_DOTDOT, NULL, 0 },
	{ "/%2E%2E/", HTTP_E_PATH_DOTDOT, NULL, 0 },
	{ "/.%2e/x", HTTP_E_PATH_DOTDOT, NULL, 0 },
	{ "/%2e./x", HTTP_E_PATH_DOTDOT, NULL, 0 },
	{ "/a/%2e%2e", HTTP_E_PATH_DOTDOT, NULL, 0 },
	{ "/a/..?x", HTTP_E_PATH_DOTDOT, NULL, 0 },
	{ "/%2e%2e%2fetc", HTTP_E_PATH_SLASH, NULL, 0 },
	{ "/..%2fetc", HTTP_E_PATH_SLASH, NULL, 0 },
	{ "/a%2Fb", HTTP_E_PATH_SLASH, NULL, 0 },
	{ "/%2f", HTTP_E_PATH_SLASH, NULL, 0 },
	{ "/a\\..\\b", HTTP_E_PATH_BACKSLASH, NULL, 0 },
	{ "/..\\", HTTP_E_PATH_BACKSLASH, NULL, 0 },
	{ "/%5c..%5cwin.ini", HTTP_E_PATH_BACKSLASH, NULL, 0 },
	{ "/%5C", HTTP_E_PATH_BACKSLASH, NULL, 0 },
	{ "/a%00.efi", HTTP_E_PATH_NUL, NULL, 0 },
	{ "/%00", HTTP_E_PATH_NUL, NULL, 0 },
	{ "/a%0d%0aSet-Cookie:x", HTTP_E_PATH_CTL, NULL, 0 },
	{ "/a%0a", HTTP_E_PATH_CTL, NULL, 0 },
	{ "/a%7f", HTTP_E_PATH_CTL, NULL, 0 },
	{ "/a%1b[2J", HTTP_E_PATH_CTL, NULL, 0 },
	{ "/a%", HTTP_E_PATH_BAD_ESCAPE, NULL, 0 },
	{ "/a%4", HTTP_E_PATH_BAD_ESCAPE, NULL, 0 },
	{ "/a%zz", HTTP_E_PATH_BAD_ESCAPE, NULL, 0 },
	{ "/a%g0", HTTP_E_PATH_BAD_ESCAPE, NULL, 0 },
	{ "/a%4?x", HTTP_E_PATH_BAD_ESCAPE, NULL, 0 },
	{ "/a%%41", HTTP_E_PATH_BAD_ESCAPE, NULL, 0 },
	{ "/a#frag", HTTP_E_PATH_FRAGMENT, NULL, 0 },
	{ "", HTTP_E_PATH_NOT_ABSOLUTE, NULL, 0 },
	{ "a/b", HTTP_E_PATH_NOT_ABSOLUTE, NULL, 0 },
	{ "%2fetc/passwd", HTTP_E_PATH_NOT_ABSOLUTE, NULL, 0 },
	{ "?x", HTTP_E_PATH_NOT_ABSOLUTE, NULL, 0 },
};

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		size_t tlen = strlen(v->target), olen = 99;
		char out[256];
		bool dir = false;
		enum http_error err;

		memset(out, 'Z', sizeof(out));
		err = http_path_from_target(v->target, tlen, out, tlen + 1, &olen, &dir);
		if (err != v->err) {
			print_error("'%s': %s, want %s\n", v->target, http_error_name(err),
				    http_error_name(v->err));
			fail();
		}
		if (err != HTTP_OK) {
			assert_int_equal(http_error_status(err), 400);
			continue;
		}
		if (strcmp(out, v->path) != 0 || olen != strlen(v->path) || dir != (bool)v->dir) {
			print_error("'%s': '%s' dir %d, want '%s' dir %d\n", v->target, out, dir,
				    v->path, v->dir);
			fail();
		}
	}
}

static void test_small_buffer(void **state)
{
	char out[4];
	size_t olen;

	(void)state;
	assert_int_equal(http_path_from_target("/abc", 4, out, 4, &olen, NULL), HTTP_OK);
	assert_string_equal(out, "abc");
	assert_int_equal(http_path_from_target("/abcd", 5, out, 4, &olen, NULL),
			 HTTP_E_PATH_TOO_LONG);
	assert_int_equal(http_error_status(HTTP_E_PATH_TOO_LONG), 414);
	assert_int_equal(http_path_from_target("/", 1, out, 0, &olen, NULL), HTTP_E_PATH_TOO_LONG);
	/* the target is a slice, not a string: bytes past len are not read */
	assert_int_equal(http_path_from_target("/ab/../x", 3, out, sizeof(out), &olen, NULL),
			 HTTP_OK);
	assert_string_equal(out, "ab");
	assert_int_equal(http_path_from_target("/a%2", 4, out, sizeof(out), &olen, NULL),
			 HTTP_E_PATH_BAD_ESCAPE);
}

/* The parser's target feeds straight in; a NUL in the raw target never
 * gets that far (the parser refuses it). */
static void test_from_parser(void **state)
{
	static const char req[] = "GET /boot/%2e%2e/%2e%2e/etc/shadow HTTP/1.1\r\nHost: h\r\n\r\n";
	struct http_parser p;
	struct http_request r;
	char out[128];
	size_t olen;

	(void)state;
	http_parser_init(&p);
	assert_int_equal(http_parse_request(&p, req, sizeof(req) - 1, &r), HTTP_PARSE_DONE);
	assert_int_equal(http_path_from_target(r.target.ptr, r.target.len, out, sizeof(out),
					       &olen, NULL),
			 HTTP_E_PATH_DOTDOT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_from_parser),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
