/* Response head builder, status and error tables, Content-Type by
 * extension (see http.h). */
#include "dataplane/http/http.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	enum http_error err;
	short status;
	const char *name;
} http_errors[] = {
	{ HTTP_OK, 200, "ok" },
	{ HTTP_E_BARE_LF, 400, "bare_lf" },
	{ HTTP_E_BARE_CR, 400, "bare_cr" },
	{ HTTP_E_TOO_MANY_CRLF, 400, "too_many_empty_lines" },
	{ HTTP_E_BAD_METHOD, 400, "bad_method" },
	{ HTTP_E_METHOD_NOT_ALLOWED, 405, "method_not_allowed" },
	{ HTTP_E_METHOD_UNKNOWN, 501, "method_unknown" },
	{ HTTP_E_BAD_REQUEST_LINE, 400, "bad_request_line" },
	{ HTTP_E_BAD_TARGET, 400, "bad_target" },
	{ HTTP_E_URI_TOO_LONG, 414, "uri_too_long" },
	{ HTTP_E_BAD_VERSION, 400, "bad_version" },
	{ HTTP_E_VERSION, 505, "version_not_supported" },
	{ HTTP_E_HEAD_TOO_LARGE, 431, "head_too_large" },
	{ HTTP_E_TOO_MANY_FIELDS, 431, "too_many_fields" },
	{ HTTP_E_OBS_FOLD, 400, "obs_fold" },
	{ HTTP_E_BAD_FIELD_NAME, 400, "bad_field_name" },
	{ HTTP_E_BAD_FIELD_VALUE, 400, "bad_field_value" },
	{ HTTP_E_NO_HOST, 400, "no_host" },
	{ HTTP_E_DUP_HOST, 400, "duplicate_host" },
	{ HTTP_E_DUP_RANGE, 400, "duplicate_range" },
	{ HTTP_E_BAD_CONTENT_LENGTH, 400, "bad_content_length" },
	{ HTTP_E_CL_AND_TE, 400, "content_length_and_transfer_encoding" },
	{ HTTP_E_TE_HTTP10, 400, "transfer_encoding_http10" },
	{ HTTP_E_TE_UNSUPPORTED, 501, "transfer_encoding_unsupported" },
	{ HTTP_E_BODY_TOO_LARGE, 413, "body_too_large" },
	{ HTTP_E_PATH_NOT_ABSOLUTE, 400, "path_not_absolute" },
	{ HTTP_E_PATH_BAD_ESCAPE, 400, "path_bad_escape" },
	{ HTTP_E_PATH_NUL, 400, "path_nul" },
	{ HTTP_E_PATH_CTL, 400, "path_control_byte" },
	{ HTTP_E_PATH_SLASH, 400, "path_encoded_slash" },
	{ HTTP_E_PATH_BACKSLASH, 400, "path_backslash" },
	{ HTTP_E_PATH_DOTDOT, 400, "path_dotdot" },
	{ HTTP_E_PATH_FRAGMENT, 400, "path_fragment" },
	{ HTTP_E_PATH_TOO_LONG, 414, "path_too_long" },
};

_Static_assert(sizeof(http_errors) / sizeof(http_errors[0]) == HTTP_E__COUNT,
	       "every enum http_error has a row");

int http_error_status(enum http_error err)
{
	for (size_t i = 0; i < sizeof(http_errors) / sizeof(http_errors[0]); i++)
		if (http_errors[i].err == err)
			return http_errors[i].status;
	return 500;
}

const char *http_error_name(enum http_error err)
{
	for (size_t i = 0; i < sizeof(http_errors) / sizeof(http_errors[0]); i++)
		if (http_errors[i].err == err)
			return http_errors[i].name;
	return "unknown";
}

const char *http_status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* What boot clients fetch. iPXE and UEFI do not look at the type; browsers
 * and curl users do, so text shows as text. */
static const struct {
	const char *ext;
	const char *type;
} http_mime_table[] = {
	{ "efi", "application/efi" },
	{ "kpxe", "application/octet-stream" },
	{ "pxe", "application/octet-stream" },
	{ "0", "application/octet-stream" },
	{ "ipxe", "text/plain; charset=utf-8" },
	{ "iso", "application/x-iso9660-image" },
	{ "img", "application/octet-stream" },
	{ "cfg", "text/plain; charset=utf-8" },
	{ "conf", "text/plain; charset=utf-8" },
	{ "ks", "text/plain; charset=utf-8" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "sha256", "text/plain; charset=utf-8" },
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "css", "text/css" },
	{ "js", "text/javascript" },
	{ "json", "application/json" },
	{ "xml", "application/xml" },
	{ "yaml", "application/yaml" },
	{ "yml", "application/yaml" },
	{ "gz", "application/gzip" },
	{ "tgz", "application/gzip" },
	{ "xz", "application/x-xz" },
	{ "zst", "application/zstd" },
	{ "bz2", "application/x-bzip2" },
	{ "tar", "application/x-tar" },
	{ "cpio", "application/x-cpio" },
	{ "squashfs", "application/octet-stream" },
	{ "rpm", "application/x-rpm" },
	{ "deb", "application/vnd.debian.binary-package" },
	{ "sig", "application/pgp-signature" },
	{ "asc", "application/pgp-signature" },
};

const char *http_mime_type(const char *path, size_t len)
{
	size_t dot = len;

	/* the extension of the last segment only: "a.d/vmlinuz" has none */
	for (size_t i = len; i > 0; i--) {
		if (path[i - 1] == '/')
			break;
		if (path[i - 1] == '.') {
			dot = i - 1;
			break;
		}
	}
	if (dot < len) {
		const char *ext = path + dot + 1;
		size_t elen = len - dot - 1;

		for (size_t i = 0; i < sizeof(http_mime_table) / sizeof(http_mime_table[0]); i++)
			if (strlen(http_mime_table[i].ext) == elen &&
			    strncasecmp(ext, http_mime_table[i].ext, elen) == 0)
				return http_mime_table[i].type;
	}
	return "application/octet-stream";
}

struct http_out {
	char *buf;
	size_t size, len;
	bool overflow;
};

static void http_out_printf(struct http_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void http_out_printf(struct http_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len) {
		o->overflow = true;
		return;
	}
	o->len += (size_t)n;
}

/* A caller string that goes into a field: refuse CR, LF and other
 * controls so no value can start a new field. */
static bool http_field_safe(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

size_t http_response_format(const struct http_response *r, char *buf, size_t size)
{
	struct http_out o = { buf, size, 0, false };
	char date[HTTP_DATE_LEN + 1];

	if (size == 0 || r->status < 100 || r->status > 999 ||
	    !http_field_safe(r->content_type) || !http_field_safe(r->etag) ||
	    !http_field_safe(r->content_encoding))
		return 0;
	http_date_format(r->date, date);
	http_out_printf(&o, "HTTP/1.1 %d %s\r\nServer: pxecast\r\nDate: %s\r\n",
			r->status, http_status_reason(r->status), date);
	if (r->content_type != NULL)
		http_out_printf(&o, "Content-Type: %s\r\n", r->content_type);
	if (r->has_content_length)
		http_out_printf(&o, "Content-Length: %" PRIu64 "\r\n", r->content_length);
	if (r->has_last_modified) {
		http_date_format(r->last_modified, date);
		http_out_printf(&o, "Last-Modified: %s\r\n", date);
	}
	if (r->etag != NULL)
		http_out_printf(&o, "ETag: %s\r\n", r->etag);
	if (r->content_encoding != NULL)
		http_out_printf(&o, "Content-Encoding: %s\r\n", r->content_encoding);
	if (r->vary_accept_encoding)
		http_out_printf(&o, "Vary: Accept-Encoding\r\n");
	if (r->no_store)
		http_out_printf(&o, "Cache-Control: no-store\r\n");
	if (r->accept_ranges)
		http_out_printf(&o, "Accept-Ranges: bytes\r\n");
	if (r->content_range && r->range.length > 0)
		http_out_printf(&o, "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n",
				r->range.start, r->range.start + r->range.length - 1,
				r->total_length);
	else if (r->range_unsatisfied)
		http_out_printf(&o, "Content-Range: bytes */%" PRIu64 "\r\n", r->total_length);
	if (r->allow)
		http_out_printf(&o, "Allow: GET, HEAD\r\n");
	http_out_printf(&o, "Connection: %s\r\n\r\n", r->keep_alive ? "keep-alive" : "close");
	return o.overflow ? 0 : o.len;
}
