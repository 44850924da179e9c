/* Bulk stream receiver engine, the slices (sans-I/O; the session half is
 * bulk_receiver.c): symbols of a slice are held until k distinct ones are
 * in, then the slice is decoded and written in one piece. What is held is
 * bounded by max_buffer (symbols beyond it are dropped and counted, and
 * come back by NAK). Also what the HTTP fallback has to fetch.
 */
#include "mtftp/bulk_receiver_private.h"

#include <stdlib.h>
#include <string.h>

static void slice_complete(struct bulk_receiver *r, uint32_t s)
{
	r->sl[s].done = 1;
	r->slices_done++;
	while (r->first_incomplete < r->obj.nslices && r->sl[r->first_incomplete].done)
		r->first_incomplete++;
	if (r->slices_done == r->obj.nslices)
		r->state = BULK_RX_VERIFY;
}

static void decode_slice(struct bulk_receiver *r, uint32_t s, struct bulk_output *out)
{
	struct rx_slice *sl = &r->sl[s];
	unsigned k = bulk_rx_slice_k(r, s), S = r->obj.symbol;
	const uint8_t *sym[RS_MAX_K], *src[RS_MAX_K];
	uint8_t *scratch[RS_MAX_K];
	uint64_t off = (uint64_t)s * r->obj.k * S;
	struct bulk_action *a;

	for (unsigned j = 0; j < k; j++) {
		sym[j] = sl->buf + (size_t)j * S;
		scratch[j] = r->scratch + (size_t)j * S;
	}
	if (rs_decode(k, S, sl->buf + (size_t)k * S, sym, scratch, src) < 0) {
		r->n.bad_packets++; /* cannot happen: esi are checked distinct on entry */
		return;
	}
	for (unsigned i = 0; i < k; i++)
		memcpy(r->assembly + (size_t)i * S, src[i], S);
	free(sl->buf);
	sl->buf = NULL;
	r->buffered -= (size_t)k * S + k;
	a = bulk_rx_push(out, BULK_ACT_WRITE);
	if (a) {
		a->offset = off;
		a->data = r->assembly;
		a->write_len = (uint32_t)((uint64_t)k * S < r->obj.size - off ? (uint64_t)k * S
									: r->obj.size - off);
		r->n.bytes_written += a->write_len;
	}
	r->n.slices_decoded++;
	slice_complete(r, s);
}

void bulk_rx_data(struct bulk_receiver *r, uint64_t now, const struct bulk_packet *p,
		  struct bulk_output *out)
{
	uint32_t s = p->u.data.slice;
	struct rx_slice *sl;
	unsigned k, esi = p->u.data.esi, S = r->obj.symbol;

	if (p->u.data.tag != r->obj.tag) {
		r->n.other_session++;
		return;
	}
	if (s >= r->obj.nslices || p->u.data.len != S) {
		r->n.bad_packets++;
		return;
	}
	r->n.data++;
	if (!r->seq_any) {
		r->seq_any = true;
		r->seq_lo = r->seq_hi = p->u.data.seq;
		r->seq_count = 0;
	} else if ((int32_t)(p->u.data.seq - r->seq_hi) > 0) {
		r->seq_hi = p->u.data.seq;
	}
	r->seq_count++;
	if (p->u.data.flags == 0 && s - s % r->obj.interleave > r->due)
		r->due = s - s % r->obj.interleave; /* stripes are first sent in order */
	if (r->state != BULK_RX_RECEIVING)
		return;
	sl = &r->sl[s];
	k = bulk_rx_slice_k(r, s);
	if (sl->done || (sl->seen[esi / 8] & (1u << (esi % 8)))) {
		r->n.duplicates++;
		return;
	}
	if (p->u.data.burst && p->u.data.burst >= k - sl->nsyms && sl->quiet_until < now) {
		sl->quiet_until = now + r->c.nak_holdoff_us; /* a large enough repair is coming */
		r->n.nak_suppressed++;
	}
	if (!sl->buf) {
		size_t need = (size_t)k * S + k;

		if (r->buffered + need > r->c.max_buffer || !(sl->buf = malloc(need))) {
			r->n.buffer_full++;
			return;
		}
		r->buffered += need;
		if (r->buffered > r->n.buffer_peak)
			r->n.buffer_peak = r->buffered;
	}
	sl->seen[esi / 8] |= (uint8_t)(1u << (esi % 8));
	memcpy(sl->buf + (size_t)sl->nsyms * S, p->u.data.payload, S);
	sl->buf[(size_t)k * S + sl->nsyms] = (uint8_t)esi;
	if (++sl->nsyms == k)
		decode_slice(r, s, out);
}

void bulk_receiver_fetched(struct bulk_receiver *r)
{
	if (r->state != BULK_RX_FETCH)
		return;
	for (uint32_t s = 0; s < r->obj.nslices; s++) {
		free(r->sl[s].buf);
		r->sl[s].buf = NULL;
		r->sl[s].done = 1;
	}
	r->buffered = 0;
	r->slices_done = r->first_incomplete = r->obj.nslices;
	r->fetched = true;
	r->state = BULK_RX_VERIFY;
}

bool bulk_receiver_next_missing(const struct bulk_receiver *r, uint32_t *cursor, uint64_t *off,
				uint64_t *len)
{
	uint64_t per = (uint64_t)r->obj.k * r->obj.symbol;

	if (!r->sl)
		return false;
	for (uint32_t s = *cursor > r->first_incomplete ? *cursor : r->first_incomplete;
	     s < r->obj.nslices; s++) {
		if (r->sl[s].done)
			continue;
		*off = (uint64_t)s * per;
		*len = r->obj.size - *off < per ? r->obj.size - *off : per;
		*cursor = s + 1;
		return true;
	}
	return false;
}

uint64_t bulk_receiver_contiguous(const struct bulk_receiver *r)
{
	uint64_t b = (uint64_t)r->first_incomplete * r->obj.k * r->obj.symbol;

	return b > r->obj.size ? r->obj.size : b;
}
