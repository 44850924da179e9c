/* libFuzzer: the MTFTP option codec, and a transfer engine (RFC 2090 and
 * PXE) fed the input as requests and packets from a handful of peers. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mtftp/mtftp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tftp_timing timing = { 1000, 4000, 3, 0 };
	static const uint8_t base[] = { 0, 6, 't', 's', 'i', 'z', 'e', 0, '1', 0 };
	struct mtftp_params p = { .blksize = 512, .window = 4, .size = 20000,
				  .group = { 0x0101ffef, 0xde06 }, .max_clients = 4 };
	struct mtftp_output out;
	struct mtftp_xfer *x;
	struct net_addr g;
	uint64_t now = 0;
	bool m;

	mtftp_parse_multicast((const char *)data, size, &g, &m);
	if (size < 1)
		return 0;
	p.mode = data[0] & 1 ? MTFTP_MODE_PXE : MTFTP_MODE_RFC2090;
	x = mtftp_xfer_new(&p, &timing);
	if (!x)
		return 0;
	/* Records: [peer:2 bits, kind:2 bits, len:4 bits][delay][len bytes]. */
	for (size_t pos = 1; pos + 2 <= size;) {
		uint8_t h = data[pos];
		size_t len = h & 15;
		struct net_addr from = { 0x0200000a + ((uint32_t)(h >> 6) << 24), 0x1000 };

		now += (uint64_t)data[pos + 1] * 20000;
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		switch ((h >> 4) & 3) {
		case 0:
			mtftp_xfer_join(x, now, &from, base, sizeof(base), &out);
			break;
		case 1:
			mtftp_xfer_open(x, now, &from, &out);
			break;
		default:
			mtftp_xfer_input(x, now, &from, data + pos, len, &out);
			break;
		}
		for (unsigned k = 0; k < out.n; k++)
			if (out.act[k].kind == TFTP_ACT_DATA &&
			    out.act[k].offset + out.act[k].len > p.size)
				__builtin_trap();
		if (mtftp_xfer_finished(x))
			break;
		mtftp_xfer_tick(x, now, &out);
		pos += len;
	}
	mtftp_xfer_free(x);
	return 0;
}
