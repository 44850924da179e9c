/* gzip for rendered text (kickstarts, preseeds, scripts): they are made per
 * request in memory, so they are compressed in memory too. Files are sent
 * as they are (splice), never compressed on the fly. */
#include "dataplane/http/http.h"

#include <stdlib.h>
#include <zlib.h>

#define GZIP_WINDOW_BITS (15 + 16) /* deflate window, +16: gzip wrapper */

int http_gzip(const char *in, size_t len, char **out, size_t *outlen)
{
	z_stream z = { 0 };
	uLong cap;
	char *buf;
	int ret;

	*out = NULL;
	if (len > UINT32_MAX)
		return -1;
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, GZIP_WINDOW_BITS, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	/* deflateBound covers zlib's wrapper; gzip's is 12 bytes longer. */
	cap = deflateBound(&z, (uLong)len) + 16;
	buf = malloc(cap);
	if (buf == NULL) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)buf;
	z.avail_out = (uInt)cap;
	ret = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (ret != Z_STREAM_END) {
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}
