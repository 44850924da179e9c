/* Response head, HTTP-date both ways, Content-Type table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/http/http.h"

static void test_date_format(void **state)
{
	static const struct {
		int64_t t;
		const char *s;
	} v[] = {
		{ 784111777, "Sun, 06 Nov 1994 08:49:37 GMT" },
		{ 0, "Thu, 01 Jan 1970 00:00:00 GMT" },
		{ -5, "Thu, 01 Jan 1970 00:00:00 GMT" },       /* clamped */
		{ 951782400, "Tue, 29 Feb 2000 00:00:00 GMT" },
		{ 951868799, "Tue, 29 Feb 2000 23:59:59 GMT" },
		{ 1709251199, "Thu, 29 Feb 2024 23:59:59 GMT" },
		{ 4102444800, "Fri, 01 Jan 2100 00:00:00 GMT" },
		{ 253402300799, "Fri, 31 Dec 9999 23:59:59 GMT" },
		{ INT64_MAX, "Fri, 31 Dec 9999 23:59:59 GMT" }, /* clamped */
	};
	char out[HTTP_DATE_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(http_date_format(v[i].t, out), HTTP_DATE_LEN);
		assert_string_equal(out, v[i].s);
	}
}

static void test_date_roundtrip(void **state)
{
	char out[HTTP_DATE_LEN + 1];
	int64_t back;

	(void)state;
	/* every day for 400+ years, at a moving time of day */
	for (int64_t t = 0; t < 253402300799; t += 86400 * 97 + 3607) {
		http_date_format(t, out);
		assert_true(http_date_parse(out, HTTP_DATE_LEN, &back));
		assert_int_equal(back, t);
	}
}

static void test_date_parse(void **state)
{
	static const struct {
		const char *s;
		bool ok;
		int64_t t;
	} v[] = {
		{ "Sun, 06 Nov 1994 08:49:37 GMT", true, 784111777 },
		{ "Sunday, 06-Nov-94 08:49:37 GMT", true, 784111777 },
		{ "Sun Nov  6 08:49:37 1994", true, 784111777 },
		{ "Sun Nov 16 08:49:37 1994", true, 784111777 + 10 * 86400 },
		{ "Thursday, 01-Jan-70 00:00:00 GMT", true, 0 },
		{ "Saturday, 01-Jan-00 00:00:00 GMT", true, 946684800 },
		{ "Tue, 29 Feb 2000 00:00:00 GMT", true, 951782400 },
		{ "Sun, 06 Nov 1994 08:49:60 GMT", true, 784111800 }, /* leap second */
		{ "Thu, 01 Jan 1970 00:00:00 GMT", true, 0 },
		{ "Wed, 31 Dec 1969 23:59:59 GMT", true, -1 },
		{ "Mon, 29 Feb 1900 00:00:00 GMT", false, 0 },
		{ "Sun, 31 Apr 1994 08:49:37 GMT", false, 0 },
		{ "Sun, 00 Nov 1994 08:49:37 GMT", false, 0 },
		{ "Sun, 06 Nov 1994 24:00:00 GMT", false, 0 },
		{ "Sun, 06 Nov 1994 08:60:00 GMT", false, 0 },
		{ "Sun, 06 Nov 1994 08:49:61 GMT", false, 0 },
		{ "Sun, 06 Nov 1994 08:49:37 UTC", false, 0 },
		{ "Sun, 06 nov 1994 08:49:37 GMT", false, 0 },
		{ "Xyz, 06 Nov 1994 08:49:37 GMT", false, 0 },
		{ "Sun, 6 Nov 1994 08:49:37 GMT", false, 0 },
		{ "Sun, 06 Nov 1994 08:49:37 GMT ", false, 0 },
		{ "Sun, 06 Nov 1994 8:49:37  GMT", false, 0 },
		{ "Sun, 06 Nov -994 08:49:37 GMT", false, 0 },
		{ "Sun, 0a Nov 1994 08:49:37 GMT", false, 0 },
		{ "Sunday, 06-Nov-94 08:49:37 GMX", false, 0 },
		{ "Sundae, 06-Nov-94 08:49:37 GMT", false, 0 },
		{ "Sun Nov  x 08:49:37 1994", false, 0 },
		{ "", false, 0 },
		{ "yesterday", false, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int64_t t = 12345;
		bool ok = http_date_parse(v[i].s, strlen(v[i].s), &t);

		if (ok != v[i].ok || (ok && t != v[i].t)) {
			print_error("'%s': %d %lld\n", v[i].s, ok, (long long)t);
			fail();
		}
	}
}

static void test_mime(void **state)
{
	static const struct {
		const char *path, *type;
	} v[] = {
		{ "boot/grubx64.efi", "application/efi" },
		{ "BOOTX64.EFI", "application/efi" },
		{ "undionly.kpxe", "application/octet-stream" },
		{ "menu.ipxe", "text/plain; charset=utf-8" },
		{ "debian-12.iso", "application/x-iso9660-image" },
		{ "disk.img", "application/octet-stream" },
		{ "pxelinux.cfg/default.cfg", "text/plain; charset=utf-8" },
		{ "notes.txt", "text/plain; charset=utf-8" },
		{ "index.html", "text/html; charset=utf-8" },
		{ "hosts.json", "application/json" },
		{ "initrd.gz", "application/gzip" },
		{ "root.xz", "application/x-xz" },
		{ "anaconda.ks", "text/plain; charset=utf-8" },
		{ "vmlinuz", "application/octet-stream" },
		{ "a.d/vmlinuz", "application/octet-stream" },  /* dot in a directory */
		{ "file.", "application/octet-stream" },
		{ ".efi", "application/efi" },
		{ "x.unknownext", "application/octet-stream" },
		{ "", "application/octet-stream" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_string_equal(http_mime_type(v[i].path, strlen(v[i].path)), v[i].type);
}

static void test_format_206(void **state)
{
	struct http_response r = {
		.status = 206,
		.date = 784111777,
		.content_type = "application/x-iso9660-image",
		.has_content_length = true,
		.content_length = 100,
		.etag = "\"5f5e1000-1234\"",
		.has_last_modified = true,
		.last_modified = 784111000,
		.accept_ranges = true,
		.content_range = true,
		.range = { 100, 100 },
		.total_length = 4660,
		.keep_alive = true,
	};
	static const char want[] =
		"HTTP/1.1 206 Partial Content\r\n"
		"Server: pxecast\r\n"
		"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
		"Content-Type: application/x-iso9660-image\r\n"
		"Content-Length: 100\r\n"
		"Last-Modified: Sun, 06 Nov 1994 08:36:40 GMT\r\n"
		"ETag: \"5f5e1000-1234\"\r\n"
		"Accept-Ranges: bytes\r\n"
		"Content-Range: bytes 100-199/4660\r\n"
		"Connection: keep-alive\r\n"
		"\r\n";
	char buf[512];
	size_t n;

	(void)state;
	n = http_response_format(&r, buf, sizeof(buf));
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(buf, want, n);
	/* too small a buffer: 0, never a truncated head */
	assert_int_equal(http_response_format(&r, buf, n), 0);
	assert_int_equal(http_response_format(&r, buf, n + 1), n);
}

static void test_format_errors(void **state)
{
	struct http_response r = { .status = 416, .date = 0, .range_unsatisfied = true,
				   .total_length = 10, .has_content_length = true };
	struct http_response a = { .status = 405, .allow = true, .has_content_length = true };
	struct http_response z = { .status = 200, .content_encoding = "gzip",
				   .vary_accept_encoding = true, .keep_alive = true };
	char buf[512];
	size_t n;

	(void)state;
	n = http_response_format(&r, buf, sizeof(buf));
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "HTTP/1.1 416 Range Not Satisfiable\r\n"));
	assert_non_null(strstr(buf, "\r\nContent-Range: bytes */10\r\n"));
	assert_non_null(strstr(buf, "\r\nContent-Length: 0\r\n"));
	assert_non_null(strstr(buf, "\r\nConnection: close\r\n\r\n"));

	n = http_response_format(&a, buf, sizeof(buf));
	buf[n] = '\0';
	assert_non_null(strstr(buf, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(buf, "\r\nAllow: GET, HEAD\r\n"));

	n = http_response_format(&z, buf, sizeof(buf));
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\r\nContent-Encoding: gzip\r\nVary: Accept-Encoding\r\n"));
	assert_null(strstr(buf, "Content-Length"));

	/* no field injection through a caller string */
	z.etag = "\"a\"\r\nSet-Cookie: x=1";
	assert_int_equal(http_response_format(&z, buf, sizeof(buf)), 0);
	z.etag = NULL;
	z.content_type = "text/plain\n";
	assert_int_equal(http_response_format(&z, buf, sizeof(buf)), 0);
	z.content_type = NULL;
	z.status = 42;
	assert_int_equal(http_response_format(&z, buf, sizeof(buf)), 0);
	z.status = 200;
	assert_int_equal(http_response_format(&z, buf, 0), 0);
	assert_string_equal(http_status_reason(299), "Unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date_format),
		cmocka_unit_test(test_date_roundtrip),
		cmocka_unit_test(test_date_parse),
		cmocka_unit_test(test_mime),
		cmocka_unit_test(test_format_206),
		cmocka_unit_test(test_format_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
