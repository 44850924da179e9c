/* HTTP/1.1 for the boot server: the I/O-free parts (DESIGN.md).
 *
 * Everything here is a function over (buf, len) and a clock value passed
 * in; nothing reads a socket, a file or the time of day, so the server
 * over io_uring, the unit tests and the fuzz target drive the same code.
 *
 *   request head    http_parse_request()   incremental, reports bytes used
 *   target -> path  http_path_from_target() percent-decode + normalise
 *   Range           http_range_eval()      single range against a size
 *   validators      http_not_modified(), http_if_range_ok(), ETag match
 *   response head   http_response_format() status line and fields
 *
 * Each check that can fail on client input has its own enum http_error
 * code (logged by name) and maps to one 4xx/5xx status. Nothing in this
 * module asserts on input.
 */
#ifndef PXECAST_DATAPLANE_HTTP_HTTP_H
#define PXECAST_DATAPLANE_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Caps on what a client may send. Boot clients (iPXE, UEFI HTTP boot,
 * curl in an initramfs) send a few hundred bytes; these leave room. */
#define HTTP_MAX_REQUEST_LINE 4096  /* request line without CRLF -> 414 */
#define HTTP_MAX_HEAD 8192          /* request line + fields + blank line -> 431 */
#define HTTP_MAX_FIELDS 64          /* header field lines -> 431 */
#define HTTP_MAX_LEADING_CRLF 8     /* empty lines tolerated before a request */
#define HTTP_MAX_BODY_DISCARD 65536 /* Content-Length on GET/HEAD -> else 413 */
#define HTTP_MAX_POST_BODY 4096     /* a POST body is kept whole: state reports are short */

/* One code per failed check; http_error_status() gives the HTTP status. */
enum http_error {
	HTTP_OK = 0,
	HTTP_E_BARE_LF,            /* 400 line ended by LF without CR */
	HTTP_E_BARE_CR,            /* 400 CR not followed by LF */
	HTTP_E_TOO_MANY_CRLF,      /* 400 too many empty lines before request */
	HTTP_E_BAD_METHOD,         /* 400 method is not a token */
	HTTP_E_METHOD_NOT_ALLOWED, /* 405 known method other than GET/HEAD/POST */
	HTTP_E_METHOD_UNKNOWN,     /* 501 well-formed but unknown method */
	HTTP_E_BAD_REQUEST_LINE,   /* 400 spaces/parts of the request line */
	HTTP_E_BAD_TARGET,         /* 400 target form or bytes */
	HTTP_E_URI_TOO_LONG,       /* 414 request line over the cap */
	HTTP_E_BAD_VERSION,        /* 400 not HTTP/d.d */
	HTTP_E_VERSION,            /* 505 major version other than 1 */
	HTTP_E_HEAD_TOO_LARGE,     /* 431 head over HTTP_MAX_HEAD */
	HTTP_E_TOO_MANY_FIELDS,    /* 431 more than HTTP_MAX_FIELDS lines */
	HTTP_E_OBS_FOLD,           /* 400 field line continued (obs-fold) */
	HTTP_E_BAD_FIELD_NAME,     /* 400 empty name, non-token, space before ':' */
	HTTP_E_BAD_FIELD_VALUE,    /* 400 control byte (NUL, CR...) in value */
	HTTP_E_NO_HOST,            /* 400 HTTP/1.1 without Host */
	HTTP_E_DUP_HOST,           /* 400 two Host fields */
	HTTP_E_DUP_RANGE,          /* 400 two Range fields */
	HTTP_E_BAD_CONTENT_LENGTH, /* 400 not digits, overflow, conflicting */
	HTTP_E_CL_AND_TE,          /* 400 Content-Length with Transfer-Encoding */
	HTTP_E_TE_HTTP10,          /* 400 Transfer-Encoding in HTTP/1.0 */
	HTTP_E_TE_UNSUPPORTED,     /* 501 request bodies in a coding: not served */
	HTTP_E_BODY_TOO_LARGE,     /* 413 body over HTTP_MAX_BODY_DISCARD (POST: _POST_BODY) */
	HTTP_E_PATH_NOT_ABSOLUTE,  /* 400 path does not start with '/' */
	HTTP_E_PATH_BAD_ESCAPE,    /* 400 '%' not followed by two hex digits */
	HTTP_E_PATH_NUL,           /* 400 %00 */
	HTTP_E_PATH_CTL,           /* 400 control byte after decoding */
	HTTP_E_PATH_SLASH,         /* 400 %2F: would hide a segment boundary */
	HTTP_E_PATH_BACKSLASH,     /* 400 '\\' raw or encoded */
	HTTP_E_PATH_DOTDOT,        /* 400 a ".." segment, raw or encoded */
	HTTP_E_PATH_FRAGMENT,      /* 400 '#' in a request target */
	HTTP_E_PATH_TOO_LONG,      /* 414 result does not fit the caller's buffer */
	HTTP_E__COUNT
};

/* The status to answer with (400, 405, 413, 414, 431, 501, 505; 200 for
 * HTTP_OK) and a stable lowercase name for log lines. */
int http_error_status(enum http_error err);
const char *http_error_name(enum http_error err);

/* ---- request head --------------------------------------------------- */

enum http_parse_status {
	HTTP_PARSE_ERROR = -1,     /* req->error says why; close after answering */
	HTTP_PARSE_NEED_MORE = 0,  /* call again when more bytes arrived */
	HTTP_PARSE_DONE = 1,       /* req is complete */
};

enum http_method { HTTP_METHOD_NONE = 0, HTTP_METHOD_GET, HTTP_METHOD_HEAD, HTTP_METHOD_POST };

/* A slice of the caller's buffer; not NUL terminated. */
struct http_str {
	const char *ptr;
	size_t len;
};

struct http_request {
	enum http_method method;
	unsigned version;      /* 10 or 11 (HTTP/1.2+ is treated as 11) */
	bool keep_alive;       /* version default, then Connection */
	bool accept_gzip;      /* Accept-Encoding allows gzip (q > 0) */
	bool has_if_modified_since; /* a valid HTTP-date was sent */
	int64_t if_modified_since;  /* seconds since the epoch */
	struct http_str target;     /* as sent, still encoded; path + query */
	struct http_str host;       /* Host, or the authority of absolute-form */
	struct http_str range;      /* raw Range value, len 0 if none */
	struct http_str if_none_match; /* first If-None-Match, len 0 if none */
	struct http_str if_range;   /* raw If-Range value, len 0 if none */
	size_t head_len;       /* bytes of buf used by the head */
	uint64_t body_len;     /* body bytes after the head to discard */
	enum http_error error; /* set on HTTP_PARSE_ERROR */
};

/* Parser state between calls. Fields are private; http_parser_init()
 * before each request. */
struct http_span {
	uint32_t off, len;
};
struct http_parser {
	size_t pos;         /* bytes of buf scanned so far */
	size_t line_start;
	unsigned state;
	unsigned fields;
	unsigned empty_lines;
	struct http_request req;  /* spans kept as offsets until DONE */
	struct http_span target, host, range, inm, if_range;
	bool have_host, have_range, have_cl, have_te, conn_close, conn_keep;
	bool absolute_form;
	uint64_t content_length;
};

void http_parser_init(struct http_parser *p);

/* Parse the request head at the start of buf. buf holds every byte of
 * this request received so far (it may end in the middle of a line); call
 * again with the same buf grown by new bytes. Work is linear in the bytes
 * seen: each call resumes where the previous one stopped.
 *
 * Returns HTTP_PARSE_DONE with *req filled: req->head_len bytes of buf
 * are the head, followed by req->body_len bytes the caller discards; a
 * pipelined next request starts after both (http_parser_init again).
 * The slices in req point into buf.
 *
 * Returns HTTP_PARSE_ERROR with req->error set (see enum http_error for
 * the statuses). Errors found on the request line are reported without
 * waiting for the rest of the head. Line endings must be CRLF: nginx
 * accepts a bare LF, we answer 400 (HTTP_E_BARE_LF) because lenient line
 * splitting is where request-smuggling differentials live, and every
 * boot client sends CRLF.
 *
 * The result is the same however the bytes are split between calls.
 */
enum http_parse_status http_parse_request(struct http_parser *p,
					  const char *buf, size_t len,
					  struct http_request *req);

/* ---- target -> content-store path ----------------------------------- */

/* Turn a request target (origin-form, as in req->target) into a relative
 * path for the content store: drop the query, percent-decode once, drop
 * empty and "." segments, and refuse anything that could leave the root.
 * "/boot/x86_64/vmlinuz?x=1" -> "boot/x86_64/vmlinuz"; "/" -> "".
 *
 * Refused (HTTP_E_PATH_*): a ".." segment raw or encoded (%2e%2e, .%2E),
 * %00 and other decoded control bytes, bad escapes (%zz, %4), %2F (an
 * encoded '/' would hide a segment boundary), '\\' raw or %5C, '#'.
 * Decoding is done once: %252e%252e becomes the literal name "%2e%2e",
 * which is just a name that does not exist.
 *
 * out receives the NUL-terminated result (outsize >= len + 1 always
 * suffices); *outlen its length. *trailing_slash (may be NULL) tells
 * whether the path ended in '/' (a directory was asked for). */
enum http_error http_path_from_target(const char *target, size_t len,
				      char *out, size_t outsize, size_t *outlen,
				      bool *trailing_slash);

/* ---- Range ---------------------------------------------------------- */

enum http_range_kind {
	HTTP_RANGE_FULL = 0,       /* no usable Range: 200 with the whole body */
	HTTP_RANGE_PARTIAL,        /* 206 with start/length */
	HTTP_RANGE_UNSATISFIABLE,  /* 416 with Content-Range: bytes * /size */
};

struct http_range {
	uint64_t start;
	uint64_t length;
};

/* Evaluate a Range value (req->range) against a representation of size
 * bytes. One range "bytes=a-b", "bytes=a-", "bytes=-n" gives PARTIAL with
 * the end clamped to the size, or UNSATISFIABLE for a start at or past
 * EOF, "bytes=-0", a suffix on an empty file, and a reversed range (b < a;
 * RFC 9110 calls that invalid and says ignore, nginx answers 416: so do
 * we). More than one range gives FULL: we do not send multipart bodies,
 * and stopping at the second element keeps any number of ranges O(1).
 * An empty value, another unit, or syntax we cannot parse gives FULL
 * (RFC 9110 14.2: a Range that cannot be parsed is ignored).
 * Work is linear in len; numbers too big for 64 bits saturate. */
enum http_range_kind http_range_eval(const char *value, size_t len,
				     uint64_t size, struct http_range *out);

/* ---- validators ----------------------------------------------------- */

/* Write the ETag of a file, nginx style: "\"<mtime hex>-<size hex>\"".
 * Returns its length, or 0 if size is too small (40 bytes suffice). */
size_t http_etag_format(char *out, size_t size, int64_t mtime, uint64_t length);

/* Whether the If-None-Match list matches etag (a quoted entity-tag, may
 * be weak) by weak comparison; "*" matches. A malformed list matches
 * nothing, so the full response is sent. */
bool http_etag_list_match(const char *list, size_t list_len,
			  const char *etag, size_t etag_len);

/* RFC 9110 13.2.2 for GET/HEAD: If-None-Match if present (304 on match),
 * else If-Modified-Since (304 when mtime is not newer). */
bool http_not_modified(const struct http_request *req,
		       const char *etag, size_t etag_len, int64_t mtime);

/* If-Range: whether the Range may be honoured. True when there is no
 * If-Range; else a strong ETag match or an HTTP-date equal to mtime. */
bool http_if_range_ok(const struct http_request *req,
		      const char *etag, size_t etag_len, int64_t mtime);

/* ---- dates ---------------------------------------------------------- */

#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* IMF-fixdate into out (at least HTTP_DATE_LEN + 1 bytes). Times before
 * 1970 or after 9999 are clamped. Returns HTTP_DATE_LEN. */
size_t http_date_format(int64_t t, char *out);

/* Parse an HTTP-date: IMF-fixdate, RFC 850 and asctime forms (RFC 9110
 * 5.6.7 says recipients accept all three). Returns false if invalid. */
bool http_date_parse(const char *s, size_t len, int64_t *t);

/* ---- response head -------------------------------------------------- */

struct http_response {
	int status;
	int64_t date;                /* now; Date is always sent */
	const char *content_type;    /* NULL: no Content-Type */
	bool has_content_length;
	uint64_t content_length;     /* bytes of this response's body */
	const char *etag;            /* quoted; NULL: none */
	bool has_last_modified;
	int64_t last_modified;
	bool accept_ranges;          /* Accept-Ranges: bytes */
	bool content_range;          /* Content-Range: bytes a-b/total (206) */
	bool range_unsatisfied;      /* Content-Range: bytes * /total (416) */
	struct http_range range;
	uint64_t total_length;
	const char *content_encoding; /* e.g. "gzip"; NULL: none */
	bool vary_accept_encoding;   /* Vary: Accept-Encoding */
	bool no_store;               /* Cache-Control: no-store (per-host, tokens) */
	bool allow;                  /* Allow: GET, HEAD (405) */
	bool keep_alive;             /* else Connection: close */
};

/* Write the status line and fields, ending with the blank line.
 * Returns the length, or 0 if it does not fit in size (512 bytes always
 * do) or a caller string holds a control byte (no field injection). */
size_t http_response_format(const struct http_response *r, char *buf,
			    size_t size);

/* gzip (RFC 1952) of in into a malloc'd *out. 0, or -1 (out of memory). */
int http_gzip(const char *in, size_t len, char **out, size_t *outlen);

/* Reason phrase for a status; "Unknown" for codes we never send. */
const char *http_status_reason(int status);

/* Content-Type for a path by its extension (case-insensitive), e.g.
 * ".efi" -> "application/efi"; "application/octet-stream" if unknown. */
const char *http_mime_type(const char *path, size_t len);

#endif
