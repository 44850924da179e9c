/* Incremental HTTP/1.1 request-head parser (RFC 9112), see http.h.
 *
 * The caller keeps every byte of the request in one buffer and calls again
 * as it grows; we remember how far we scanned and the field values as
 * offsets, so no byte is looked at twice and nothing is copied. Lines are
 * handled one at a time once their LF is in, in order, and the caps are
 * checked before a line's content: that is what makes the outcome the same
 * for any split of the input.
 */
#include "dataplane/http/http.h"

#include <string.h>

enum { ST_REQUEST_LINE, ST_FIELDS, ST_DONE, ST_ERROR };

/* RFC 9110 5.6.2 tchar */
static bool http_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static unsigned char http_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static bool http_eq_nocase(const char *a, size_t alen, const char *lit)
{
	size_t n = strlen(lit);

	if (alen != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (http_lower((unsigned char)a[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

void http_parser_init(struct http_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->state = ST_REQUEST_LINE;
}

static enum http_parse_status http_fail(struct http_parser *p,
					struct http_request *req,
					enum http_error err)
{
	p->state = ST_ERROR;
	p->req.error = err;
	p->req.keep_alive = false;
	*req = p->req;
	return HTTP_PARSE_ERROR;
}

/* Methods RFC 9110 and WebDAV define: answered 405 with Allow, not 501. */
static const char *const http_known_methods[] = {
	"PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK",
};

static enum http_error http_classify_method(const char *m, size_t len,
					    enum http_method *out)
{
	if (len == 3 && memcmp(m, "GET", 3) == 0) {
		*out = HTTP_METHOD_GET;
		return HTTP_OK;
	}
	if (len == 4 && memcmp(m, "HEAD", 4) == 0) {
		*out = HTTP_METHOD_HEAD;
		return HTTP_OK;
	}
	/* For the host state API; a POST to a file is answered 405 later. */
	if (len == 4 && memcmp(m, "POST", 4) == 0) {
		*out = HTTP_METHOD_POST;
		return HTTP_OK;
	}
	for (size_t i = 0; i < sizeof(http_known_methods) / sizeof(http_known_methods[0]); i++)
		if (strlen(http_known_methods[i]) == len &&
		    memcmp(m, http_known_methods[i], len) == 0)
			return HTTP_E_METHOD_NOT_ALLOWED;
	return HTTP_E_METHOD_UNKNOWN;
}

/* "http://authority/path": keep the path, remember the authority as Host
 * (RFC 9112 3.2.2: servers must accept absolute-form). */
static enum http_error http_parse_target(struct http_parser *p, const char *buf,
					 size_t off, size_t len)
{
	const char *t = buf + off;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c <= 0x20 || c == 0x7f)
			return HTTP_E_BAD_TARGET;
	}
	if (t[0] == '/') {
		p->target = (struct http_span){ (uint32_t)off, (uint32_t)len };
		return HTTP_OK;
	}
	if (len > 7 && http_eq_nocase(t, 7, "http://")) {
		size_t a = 7, e = 7;

		while (e < len && t[e] != '/' && t[e] != '?' && t[e] != '#')
			e++;
		if (e == a || e == len || t[e] != '/')
			return HTTP_E_BAD_TARGET;
		p->host = (struct http_span){ (uint32_t)(off + a), (uint32_t)(e - a) };
		p->absolute_form = true;
		p->target = (struct http_span){ (uint32_t)(off + e), (uint32_t)(len - e) };
		return HTTP_OK;
	}
	/* asterisk-form is for OPTIONS only, authority-form for CONNECT:
	 * both methods were refused already. */
	return HTTP_E_BAD_TARGET;
}

/* Garbage (a TLS ClientHello, a binary probe) is refused as soon as its
 * first bytes are in, not after 4 KiB or a timeout. The verdict depends
 * only on the first HTTP_MAX_METHOD + 1 bytes and stops at SP or CR, so
 * it is the same for a whole line and for any prefix of it, and it comes
 * before every other check on the request line for that reason. */
#define HTTP_MAX_METHOD 32

static enum http_error http_method_prefix(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\r')
			return HTTP_OK;
		if (!http_is_tchar(c) || i >= HTTP_MAX_METHOD)
			return HTTP_E_BAD_METHOD;
	}
	return HTTP_OK;
}

static enum http_error http_parse_request_line(struct http_parser *p,
					       const char *buf, size_t off,
					       size_t len)
{
	const char *l = buf + off;
	size_t m = 0, t, v;
	enum http_method method = HTTP_METHOD_NONE;
	enum http_error err;

	while (m < len && l[m] != ' ') {
		if (!http_is_tchar((unsigned char)l[m]))
			return HTTP_E_BAD_METHOD;
		m++;
	}
	if (m == 0)
		return HTTP_E_BAD_METHOD;
	if (m == len)
		return HTTP_E_BAD_REQUEST_LINE;
	t = m + 1;
	v = t;
	while (v < len && l[v] != ' ')
		v++;
	if (v == t || v == len)
		return HTTP_E_BAD_REQUEST_LINE; /* two spaces, or no version (0.9) */
	v++;
	/* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive */
	if (len - v != 8 || memcmp(l + v, "HTTP/", 5) != 0 ||
	    l[v + 5] < '0' || l[v + 5] > '9' || l[v + 6] != '.' ||
	    l[v + 7] < '0' || l[v + 7] > '9')
		return HTTP_E_BAD_VERSION;

	/* Syntax is fine: now what the server thinks of it. */
	err = http_classify_method(l, m, &method);
	if (err != HTTP_OK)
		return err;
	if (l[v + 5] != '1')
		return HTTP_E_VERSION;
	p->req.method = method;
	p->req.version = l[v + 7] == '0' ? 10 : 11;
	return http_parse_target(p, buf, off + t, v - 1 - t);
}

/* Content-Length = 1*DIGIT; a repeat must carry the same value. */
static enum http_error http_field_content_length(struct http_parser *p,
						 const char *v, size_t len)
{
	uint64_t n = 0;

	if (len == 0 || len > 19)
		return HTTP_E_BAD_CONTENT_LENGTH;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return HTTP_E_BAD_CONTENT_LENGTH;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (p->have_cl && p->content_length != n)
		return HTTP_E_BAD_CONTENT_LENGTH;
	p->have_cl = true;
	p->content_length = n;
	return HTTP_OK;
}

/* Iterate over a comma-separated list: returns the next element with OWS
 * trimmed (possibly empty), advancing *pos; false at the end. */
static bool http_list_next(const char *v, size_t len, size_t *pos,
			   const char **elem, size_t *elen)
{
	size_t i = *pos, s, e;

	if (i > len)
		return false;
	while (i < len && (v[i] == ' ' || v[i] == '\t'))
		i++;
	s = i;
	while (i < len && v[i] != ',')
		i++;
	e = i;
	while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
		e--;
	*elem = v + s;
	*elen = e - s;
	*pos = i + 1;
	return true;
}

static void http_field_connection(struct http_parser *p, const char *v, size_t len)
{
	const char *e;
	size_t pos = 0, elen;

	while (http_list_next(v, len, &pos, &e, &elen)) {
		if (http_eq_nocase(e, elen, "close"))
			p->conn_close = true;
		else if (http_eq_nocase(e, elen, "keep-alive"))
			p->conn_keep = true;
	}
}

/* A qvalue of zero ("q=0", "q=0.000") refuses the coding. */
static bool http_qvalue_zero(const char *params, size_t len)
{
	size_t i = 0;

	while (i < len) {
		while (i < len && (params[i] == ';' || params[i] == ' ' || params[i] == '\t'))
			i++;
		if (i + 1 < len && (params[i] == 'q' || params[i] == 'Q') && params[i + 1] == '=') {
			size_t j = i + 2;

			if (j >= len || params[j] != '0')
				return false;
			j++;
			if (j < len && params[j] == '.')
				j++;
			while (j < len && params[j] == '0')
				j++;
			return j == len || params[j] == ' ' || params[j] == '\t' || params[j] == ';';
		}
		while (i < len && params[i] != ';')
			i++;
	}
	return false;
}

static void http_field_accept_encoding(struct http_parser *p, const char *v, size_t len)
{
	const char *e;
	size_t pos = 0, elen;
	int gzip = -1, star = -1; /* -1 not named, 0 refused, 1 accepted */

	while (http_list_next(v, len, &pos, &e, &elen)) {
		size_t n = 0;
		int ok;

		while (n < elen && e[n] != ';' && e[n] != ' ' && e[n] != '\t')
			n++;
		ok = !http_qvalue_zero(e + n, elen - n);
		if (http_eq_nocase(e, n, "gzip") || http_eq_nocase(e, n, "x-gzip"))
			gzip = ok;
		else if (n == 1 && e[0] == '*')
			star = ok;
	}
	p->req.accept_gzip = gzip == 1 || (gzip == -1 && star == 1);
}

static enum http_error http_parse_field(struct http_parser *p, const char *buf,
					size_t off, size_t len)
{
	const char *l = buf + off;
	size_t n = 0, vs, ve;
	const char *v;

	if (l[0] == ' ' || l[0] == '\t')
		return HTTP_E_OBS_FOLD;
	while (n < len && l[n] != ':') {
		if (!http_is_tchar((unsigned char)l[n]))
			return HTTP_E_BAD_FIELD_NAME;
		n++;
	}
	if (n == 0 || n == len)
		return HTTP_E_BAD_FIELD_NAME;
	vs = n + 1;
	for (size_t i = vs; i < len; i++) {
		unsigned char c = (unsigned char)l[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return HTTP_E_BAD_FIELD_VALUE;
	}
	while (vs < len && (l[vs] == ' ' || l[vs] == '\t'))
		vs++;
	ve = len;
	while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
		ve--;
	v = l + vs;

	struct http_span span = { (uint32_t)(off + vs), (uint32_t)(ve - vs) };

	if (http_eq_nocase(l, n, "host")) {
		if (p->have_host)
			return HTTP_E_DUP_HOST;
		p->have_host = true;
		if (!p->absolute_form)
			p->host = span;
	} else if (http_eq_nocase(l, n, "connection")) {
		http_field_connection(p, v, ve - vs);
	} else if (http_eq_nocase(l, n, "content-length")) {
		return http_field_content_length(p, v, ve - vs);
	} else if (http_eq_nocase(l, n, "transfer-encoding")) {
		p->have_te = true;
	} else if (http_eq_nocase(l, n, "range")) {
		if (p->have_range)
			return HTTP_E_DUP_RANGE;
		p->have_range = true;
		p->range = span;
	} else if (http_eq_nocase(l, n, "if-none-match")) {
		/* Later ones are ignored: at worst a 200 instead of a 304. */
		if (p->inm.len == 0)
			p->inm = span;
	} else if (http_eq_nocase(l, n, "if-modified-since")) {
		/* RFC 9110 13.1.3: an invalid date is ignored. */
		if (!p->req.has_if_modified_since)
			p->req.has_if_modified_since =
				http_date_parse(v, ve - vs, &p->req.if_modified_since);
	} else if (http_eq_nocase(l, n, "if-range")) {
		if (p->if_range.len == 0)
			p->if_range = span;
	} else if (http_eq_nocase(l, n, "accept-encoding")) {
		http_field_accept_encoding(p, v, ve - vs);
	}
	return HTTP_OK;
}

/* The head is complete: checks that need all fields. */
static enum http_error http_finish_head(struct http_parser *p)
{
	struct http_request *r = &p->req;

	if (r->version == 11 && !p->have_host && !p->absolute_form)
		return HTTP_E_NO_HOST;
	if (p->have_te) {
		/* RFC 9112 6.1: both together is a smuggling attempt. */
		if (p->have_cl)
			return HTTP_E_CL_AND_TE;
		if (r->version == 10)
			return HTTP_E_TE_HTTP10;
		return HTTP_E_TE_UNSUPPORTED;
	}
	if (p->have_cl) {
		if (p->content_length > (r->method == HTTP_METHOD_POST ? HTTP_MAX_POST_BODY
								       : HTTP_MAX_BODY_DISCARD))
			return HTTP_E_BODY_TOO_LARGE;
		r->body_len = p->content_length;
	}
	if (r->version == 11)
		r->keep_alive = !p->conn_close;
	else
		r->keep_alive = p->conn_keep && !p->conn_close;
	return HTTP_OK;
}

static struct http_str http_resolve(const char *buf, struct http_span s)
{
	return (struct http_str){ buf + s.off, s.len };
}

/* One complete line [off, off+len) without its CRLF. */
static enum http_error http_handle_line(struct http_parser *p, const char *buf,
					size_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[off + i] == '\r')
			return HTTP_E_BARE_CR;
	if (p->state == ST_REQUEST_LINE) {
		if (len == 0) {
			/* RFC 9112 2.2: tolerate a few empty lines before the
			 * request (left over after a previous body). */
			if (++p->empty_lines > HTTP_MAX_LEADING_CRLF)
				return HTTP_E_TOO_MANY_CRLF;
			return HTTP_OK;
		}
		p->state = ST_FIELDS;
		return http_parse_request_line(p, buf, off, len);
	}
	if (len == 0) {
		p->state = ST_DONE;
		return http_finish_head(p);
	}
	if (++p->fields > HTTP_MAX_FIELDS)
		return HTTP_E_TOO_MANY_FIELDS;
	return http_parse_field(p, buf, off, len);
}

enum http_parse_status http_parse_request(struct http_parser *p,
					  const char *buf, size_t len,
					  struct http_request *req)
{
	enum http_error err;

	if (p->state == ST_ERROR)
		return http_fail(p, req, p->req.error);
	if (p->state == ST_DONE)
		goto done;
	while (p->pos < len) {
		const char *lf = memchr(buf + p->pos, '\n', len - p->pos);
		size_t end, line_len;
		bool bare;

		if (p->state == ST_REQUEST_LINE) {
			err = http_method_prefix(buf + p->line_start,
						 (lf ? (size_t)(lf - buf) : len) - p->line_start);
			if (err != HTTP_OK)
				return http_fail(p, req, err);
		}
		if (lf == NULL) {
			/* No LF yet: enforce the caps on what is pending, as
			 * the complete line would have been refused too. A
			 * trailing CR may still be the first half of CRLF. */
			size_t pending = len - p->line_start;

			p->pos = len;
			if (p->state == ST_REQUEST_LINE &&
			    pending > HTTP_MAX_REQUEST_LINE + 1)
				return http_fail(p, req, HTTP_E_URI_TOO_LONG);
			if (len > HTTP_MAX_HEAD)
				return http_fail(p, req, HTTP_E_HEAD_TOO_LARGE);
			return HTTP_PARSE_NEED_MORE;
		}
		end = (size_t)(lf - buf);
		bare = end == p->line_start || buf[end - 1] != '\r';
		line_len = end - p->line_start - (bare ? 0 : 1);
		/* Caps first, in the order the pending check above uses. */
		if (p->state == ST_REQUEST_LINE && line_len > HTTP_MAX_REQUEST_LINE)
			return http_fail(p, req, HTTP_E_URI_TOO_LONG);
		if (end + 1 > HTTP_MAX_HEAD)
			return http_fail(p, req, HTTP_E_HEAD_TOO_LARGE);
		if (bare)
			return http_fail(p, req, HTTP_E_BARE_LF);
		err = http_handle_line(p, buf, p->line_start, line_len);
		if (err != HTTP_OK)
			return http_fail(p, req, err);
		p->pos = end + 1;
		p->line_start = p->pos;
		if (p->state == ST_DONE)
			goto done;
	}
	return HTTP_PARSE_NEED_MORE;
done:
	p->req.head_len = p->pos;
	p->req.target = http_resolve(buf, p->target);
	p->req.host = http_resolve(buf, p->host);
	p->req.range = http_resolve(buf, p->range);
	p->req.if_none_match = http_resolve(buf, p->inm);
	p->req.if_range = http_resolve(buf, p->if_range);
	*req = p->req;
	return HTTP_PARSE_DONE;
}
