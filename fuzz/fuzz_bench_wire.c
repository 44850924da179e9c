/* libFuzzer: pxecast-bench's readers of server bytes. The first byte picks
 * the reader: a DHCP frame (Ethernet, IPv4, UDP, then the DHCP reply), a
 * TFTP datagram fed to a receiver, an HTTP head, a URL, an iPXE script. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "bench/boot_bench.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dhcp_msg m;
	static struct tftp_rx rx;
	struct frame_udp fu;
	struct dhcp_client_reply r;
	struct http_head h;
	struct url base, u;
	struct ipxe_script s;
	struct bench_oack o;
	uint8_t out[64];
	size_t ol;

	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0:
		if (frame_parse_udp(data + 1, size - 1, &fu) == 0 &&
		    (fu.payload < data + 1 || fu.payload + fu.len > data + size))
			abort();
		(void)dhcp_client_parse(data + 1, size - 1, &m, &r);
		break;
	case 1:
		(void)bench_oack_parse(data + 1, size - 1, &o);
		/* a receiver mid-transfer, then the datagram, then a timeout */
		tftp_rx_init(&rx, 1468, 4, true, size & 2);
		for (size_t off = 1; off < size;) {
			size_t n = data[off] % 64 + 1;

			off++;
			if (n > size - off)
				n = size - off;
			(void)tftp_rx_input(&rx, off, 69, data + off, n, out, &ol);
			if (ol > sizeof(out))
				abort();
			off += n;
		}
		(void)tftp_rx_reack(&rx, 1, out);
		break;
	case 2:
		if (http_head_parse(data + 1, size - 1, &h) == 1 && h.head_len > size - 1)
			abort();
		break;
	case 3:
		memset(&base, 0, sizeof(base));
		strcpy(base.host, "10.0.0.1");
		strcpy(base.path, "/dir/x");
		(void)url_parse((const char *)data + 1, size - 1, &base, &u);
		break;
	default:
		(void)ipxe_script_parse((const char *)data + 1, size - 1, &s);
		break;
	}
	return 0;
}
