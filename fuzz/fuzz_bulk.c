/* libFuzzer: the bulk stream parser, then the same input cut into
 * datagrams (2-byte length prefixes) fed to a sender and a receiver. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mtftp/bulk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bulk_output out;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bulk_packet pkt;
	struct bulk_sender_config sc;
	struct bulk_receiver_config rc;
	struct bulk_sender *s;
	struct bulk_receiver *r;
	struct bulk_addr from = { 1, 2 };
	uint64_t now = 0;
	size_t pos = 0;

	bulk_parse(data, size, &pkt);
	bulk_sender_defaults(&sc);
	sc.session = 1;
	sc.size = 300000;
	sc.symbol = 64;
	sc.k = 16;
	sc.min_receivers = 1;
	sc.max_members = 8;
	bulk_receiver_defaults(&rc);
	rc.receiver = 5;
	rc.max_buffer = 1 << 20;
	s = bulk_sender_new(&sc, 0);
	r = bulk_receiver_new(&rc, 0);
	if (!s || !r)
		goto done;
	while (pos + 2 <= size) {
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];

		pos += 2;
		if (len > size - pos)
			len = size - pos;
		now += 1000;
		bulk_sender_input(s, now, from, data + pos, len, &out);
		bulk_sender_tick(s, now, &out);
		bulk_receiver_input(r, now, from, data + pos, len, &out);
		if (bulk_receiver_state(r) == BULK_RX_VERIFY) {
			uint8_t sha[32] = { 0 };

			bulk_receiver_verified(r, now, sha, &out);
		}
		if (bulk_receiver_state(r) == BULK_RX_FETCH) {
			uint32_t cur = 0;
			uint64_t off, l;

			while (bulk_receiver_next_missing(r, &cur, &off, &l))
				;
			bulk_receiver_fetched(r);
		}
		pos += len;
	}
done:
	bulk_sender_free(s);
	bulk_receiver_free(r);
	return 0;
}
