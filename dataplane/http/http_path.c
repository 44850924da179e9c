/* Request target -> relative content-store path (see http.h).
 *
 * Decode first, then judge each segment of the decoded result, like nginx
 * re-checks after unescaping: a check on the raw bytes alone misses
 * "%2e%2e". We decode exactly once so "%252e" stays the literal "%2e".
 * The content store still opens beneath its root (RESOLVE_BENEATH); this
 * is the first of two fences, not the only one.
 */
#include "dataplane/http/http.h"
#include "common/hex.h"

/* Judge and emit one decoded segment [s, s+n) of out in place: "" and "."
 * vanish, ".." is refused. Returns the new output length. */
static enum http_error http_path_segment(char *out, size_t *o, size_t s)
{
	size_t n = *o - s;

	if (n == 0 || (n == 1 && out[s] == '.')) {
		*o = s > 0 ? s - 1 : 0; /* drop it and the '/' we put before it */
		return HTTP_OK;
	}
	if (n == 2 && out[s] == '.' && out[s + 1] == '.')
		return HTTP_E_PATH_DOTDOT;
	return HTTP_OK;
}

enum http_error http_path_from_target(const char *target, size_t len,
				      char *out, size_t outsize, size_t *outlen,
				      bool *trailing_slash)
{
	size_t i, o = 0, seg;
	bool slash_end = false;
	enum http_error err;

	if (outsize == 0)
		return HTTP_E_PATH_TOO_LONG;
	out[0] = '\0';
	*outlen = 0;
	if (trailing_slash)
		*trailing_slash = false;
	if (len == 0 || target[0] != '/')
		return HTTP_E_PATH_NOT_ABSOLUTE;

	/* Skip the leading '/': the output is relative. */
	i = 1;
	seg = 0;
	for (; i < len && target[i] != '?'; i++) {
		unsigned char c = (unsigned char)target[i];

		if (c == '#')
			return HTTP_E_PATH_FRAGMENT;
		if (c == '/') {
			err = http_path_segment(out, &o, seg);
			if (err != HTTP_OK)
				return err;
			slash_end = true;
			if (o + 1 >= outsize)
				return HTTP_E_PATH_TOO_LONG;
			if (o > 0)
				out[o++] = '/';
			seg = o;
			continue;
		}
		slash_end = false;
		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				return HTTP_E_PATH_BAD_ESCAPE;
			hi = hex_any((unsigned char)target[i + 1]);
			lo = hex_any((unsigned char)target[i + 2]);
			if (hi < 0 || lo < 0)
				return HTTP_E_PATH_BAD_ESCAPE;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
			if (c == 0)
				return HTTP_E_PATH_NUL;
			if (c == '/')
				return HTTP_E_PATH_SLASH;
		}
		if (c == '\\')
			return HTTP_E_PATH_BACKSLASH;
		if (c < 0x20 || c == 0x7f)
			return HTTP_E_PATH_CTL;
		if (o + 1 >= outsize)
			return HTTP_E_PATH_TOO_LONG;
		out[o++] = (char)c;
	}
	err = http_path_segment(out, &o, seg);
	if (err != HTTP_OK)
		return err;
	/* A path of only '/' and '.' segments is the root itself. */
	if (o == 0)
		slash_end = true;
	out[o] = '\0';
	*outlen = o;
	if (trailing_slash)
		*trailing_slash = slash_end;
	return HTTP_OK;
}
