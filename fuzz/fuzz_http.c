/* libFuzzer: the HTTP request-head parser and everything downstream of it
 * (path, Range, validators, response head). Besides crashes it checks the
 * parser's promise that the split of the input does not matter: the input
 * is parsed whole and again in pieces, and the answers must agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum http_parse_status fuzz_http_pieces(const char *buf, size_t len,
					       size_t step, struct http_request *req)
{
	struct http_parser p;
	enum http_parse_status st = HTTP_PARSE_NEED_MORE;
	size_t have = 0;

	http_parser_init(&p);
	do {
		have = have + step > len ? len : have + step;
		st = http_parse_request(&p, buf, have, req);
	} while (st == HTTP_PARSE_NEED_MORE && have < len);
	return st;
}

/* A ".", ".." or empty segment must never come out of the path check. */
static bool fuzz_http_has_dotdot(const char *path)
{
	const char *s = path;

	if (*path == '\0')
		return false;
	for (;;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);

		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return true;
		if (e == NULL)
			return false;
		s = e + 1;
	}
}

static void fuzz_http_downstream(const struct http_request *req, uint64_t size)
{
	char path[HTTP_MAX_HEAD + 1], etag[48], head[512];
	size_t plen = 0, elen;
	bool dir;
	struct http_range range;
	enum http_range_kind kind;
	struct http_response resp = { 0 };

	if (http_path_from_target(req->target.ptr, req->target.len, path, sizeof(path),
				  &plen, &dir) == HTTP_OK) {
		if (strlen(path) != plen || path[0] == '/' || strchr(path, '\\') != NULL ||
		    fuzz_http_has_dotdot(path))
			abort();
		resp.content_type = http_mime_type(path, plen);
	}
	kind = http_range_eval(req->range.ptr, req->range.len, size, &range);
	if (kind == HTTP_RANGE_PARTIAL &&
	    (range.length == 0 || range.start >= size || range.length > size - range.start))
		abort();
	elen = http_etag_format(etag, sizeof(etag), req->if_modified_since, size);
	(void)http_not_modified(req, etag, elen, req->if_modified_since);
	(void)http_if_range_ok(req, etag, elen, req->if_modified_since);
	(void)http_etag_list_match(req->if_none_match.ptr, req->if_none_match.len,
				   req->if_range.ptr, req->if_range.len);

	resp.status = kind == HTTP_RANGE_PARTIAL ? 206 : 200;
	resp.date = req->if_modified_since;
	resp.etag = etag;
	resp.has_last_modified = req->has_if_modified_since;
	resp.last_modified = req->if_modified_since;
	resp.content_range = kind == HTTP_RANGE_PARTIAL;
	resp.range_unsatisfied = kind == HTTP_RANGE_UNSATISFIABLE;
	resp.range = range;
	resp.total_length = size;
	resp.has_content_length = true;
	resp.content_length = range.length;
	resp.keep_alive = req->keep_alive;
	if (http_response_format(&resp, head, sizeof(head)) == 0)
		abort(); /* 512 bytes always fit */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request whole, split;
	enum http_parse_status a, b;
	const char *buf;
	size_t step;
	uint64_t fsize;

	if (size < 2)
		return 0;
	/* byte 0: piece size for the second parse; byte 1: file size */
	step = (size_t)data[0] % 16 + 1;
	fsize = data[1] < 200 ? data[1] : (uint64_t)data[1] << 32;
	buf = (const char *)data + 2;
	size -= 2;

	a = fuzz_http_pieces(buf, size, size ? size : 1, &whole);
	b = fuzz_http_pieces(buf, size, step, &split);
	if (a != b)
		abort();
	if (a == HTTP_PARSE_ERROR && whole.error != split.error)
		abort();
	if (a != HTTP_PARSE_DONE)
		return 0;
	if (whole.head_len != split.head_len || whole.head_len > size ||
	    whole.target.len != split.target.len || whole.keep_alive != split.keep_alive)
		abort();
	fuzz_http_downstream(&whole, fsize);
	return 0;
}
