/* libFuzzer: the TFTP parser, option negotiation, and an engine session
 * fed the input as a stream of packets. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dataplane/tftp/tftp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tftp_limits lim = { .max_blksize = 1468, .max_window = 16,
						.max_file_size = 1 << 20 };
	static const struct tftp_timing timing = { 1000, 4000, 3, 10000000 };
	struct tftp_packet pkt;
	struct tftp_params p;
	struct tftp_output out;
	struct tftp_session *s;
	uint8_t oack[TFTP_OACK_MAX];
	size_t oack_len, pos;
	unsigned ignored;
	uint64_t now = 0;

	if (tftp_parse(data, size, &pkt) != TFTP_PARSE_OK ||
	    (pkt.opcode != TFTP_RRQ && pkt.opcode != TFTP_WRQ))
		return 0;
	if (tftp_negotiate(&pkt.u.req, pkt.opcode == TFTP_WRQ, 100000, &lim, &p, oack, &oack_len,
			   &ignored) != TFTP_NEG_OK)
		return 0;
	s = tftp_session_new(pkt.opcode == TFTP_WRQ, &p, 100000, &timing);
	if (!s)
		return 0;
	tftp_session_start(s, now, oack, oack_len, &out);
	/* The rest of the input: [len][packet] records. */
	pos = size;
	for (size_t i = 0; i + 1 < size && i < 64; i++) {
		size_t n = data[i] % 40;

		if (pos < n)
			break;
		pos -= n;
		now += (uint64_t)data[i] * 10000;
		tftp_session_input(s, now, data + pos, n, &out);
		tftp_session_tick(s, now, &out);
		for (unsigned k = 0; k < out.n; k++)
			if (out.act[k].kind == TFTP_ACT_DATA &&
			    out.act[k].offset + out.act[k].len > 100000)
				__builtin_trap();
	}
	tftp_session_free(s);
	return 0;
}
