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

static void buf_put(struct bulk_receiver *r, uint8_t *b)
{
	if (b && r->nspare < r->spare_max)
		r->spare[r->nspare++] = b;
	else
		free(b);
}

static uint8_t *buf_get(struct bulk_receiver *r)
{
	return r->nspare ? r->spare[--r->nspare] : malloc((size_t)r->obj.k * r->obj.symbol);
}

/* Memory for `need` more bytes of partial slices, under max_buffer: a
 * slice buffer (recycled when one is spare) or, for repairs, fresh. NULL,
 * counted as buffer_full, when over the bound or out of memory. */
static uint8_t *hold(struct bulk_receiver *r, size_t need, bool slice_buf)
{
	uint8_t *m = NULL;

	if (r->buffered + need <= r->c.max_buffer)
		m = slice_buf ? buf_get(r) : malloc(need);
	if (!m) {
		r->n.buffer_full++;
		return NULL;
	}
	r->buffered += need;
	if (r->buffered > r->n.buffer_peak)
		r->n.buffer_peak = r->buffered;
	return m;
}

static void slice_free(struct bulk_receiver *r, struct rx_slice *sl, unsigned k)
{
	if (sl->buf)
		r->buffered -= (size_t)k * r->obj.symbol;
	if (sl->rep)
		r->buffered -= (size_t)sl->rep_cap * (r->obj.symbol + 1u);
	buf_put(r, sl->buf);
	free(sl->rep);
	sl->buf = sl->rep = NULL;
	sl->nrep = sl->rep_cap = 0;
}

/* Sources sit in their slots already: only the missing ones are rebuilt
 * (from the repairs) and put in place, and the slice is written from its
 * own buffer. */
static void decode_slice(struct bulk_receiver *r, uint32_t s, struct bulk_output *out)
{
	struct rx_slice *sl = &r->sl[s];
	unsigned k = bulk_rx_slice_k(r, s), S = r->obj.symbol, n = 0;
	uint64_t off = (uint64_t)s * r->obj.k * S;
	struct bulk_action *a;

	if (sl->nrep > 0) {
		const uint8_t *sym[RS_MAX_K], *src[RS_MAX_K];
		uint8_t esi[RS_MAX_K], *scratch[RS_MAX_K];

		for (unsigned i = 0; i < k; i++) {
			scratch[i] = r->scratch + (size_t)i * S;
			if (sl->seen[i / 8] & (1u << (i % 8))) {
				sym[n] = sl->buf + (size_t)i * S;
				esi[n++] = (uint8_t)i;
			}
		}
		for (unsigned j = 0; j < sl->nrep && n < k; j++) {
			sym[n] = sl->rep + (size_t)j * S;
			esi[n++] = sl->rep[(size_t)sl->rep_cap * S + j];
		}
		if (n != k || rs_decode(k, S, esi, sym, scratch, src) < 0) {
			r->n.bad_packets++; /* cannot happen: esi are checked distinct on entry */
			return;
		}
		for (unsigned i = 0; i < k; i++)
			if (src[i] != sl->buf + (size_t)i * S)
				memcpy(sl->buf + (size_t)i * S, src[i], S);
	}
	r->written = sl->buf; /* the WRITE below points into it */
	sl->buf = NULL;
	r->buffered -= (size_t)k * S;
	slice_free(r, sl, k);
	a = bulk_rx_push(out, BULK_ACT_WRITE);
	if (a) {
		a->offset = off;
		a->data = r->written;
		a->write_len = (uint32_t)((uint64_t)k * S < r->obj.size - off ? (uint64_t)k * S
									: r->obj.size - off);
		r->n.bytes_written += a->write_len;
	}
	r->n.slices_decoded++;
	slice_complete(r, s);
}

/* A symbol into its slice: a source into its slot, a repair into the
 * slice's repair slots. Those are sized on the first repair to what the
 * slice then lacks, which bounds every later count of repairs held (the
 * slice completes at k symbols). */
static bool store_symbol(struct bulk_receiver *r, struct rx_slice *sl, unsigned k, unsigned esi,
			 const uint8_t *payload)
{
	unsigned S = r->obj.symbol;

	if (!sl->buf && !(sl->buf = hold(r, (size_t)k * S, true)))
		return false;
	if (esi < k) {
		memcpy(sl->buf + (size_t)esi * S, payload, S);
		return true;
	}
	if (!sl->rep) {
		unsigned cap = k - sl->nsyms;

		if (!(sl->rep = hold(r, (size_t)cap * (S + 1u), false)))
			return false;
		sl->rep_cap = (uint8_t)cap;
	}
	if (sl->nrep >= sl->rep_cap)
		return false; /* cannot happen: see above */
	memcpy(sl->rep + (size_t)sl->nrep * S, payload, S);
	sl->rep[(size_t)sl->rep_cap * S + sl->nrep++] = (uint8_t)esi;
	return true;
}

void bulk_rx_data(struct bulk_receiver *r, uint64_t now, const struct bulk_packet *p,
		  struct bulk_output *out)
{
	uint32_t s = p->u.data.slice;
	struct rx_slice *sl;
	unsigned k, esi = p->u.data.esi;

	buf_put(r, r->written); /* the caller has applied the last WRITE */
	r->written = NULL;
	if (p->u.data.tag != r->obj.tag) {
		r->n.other_session++;
		return;
	}
	if (s >= r->obj.nslices || p->u.data.len != r->obj.symbol) {
		r->n.bad_packets++;
		return;
	}
	r->n.data++;
	bulk_rx_seen(r, p->u.data.seq);
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
	if (!store_symbol(r, sl, k, esi, p->u.data.payload))
		return;
	sl->seen[esi / 8] |= (uint8_t)(1u << (esi % 8));
	if (++sl->nsyms == k)
		decode_slice(r, s, out);
}

void bulk_rx_seen(struct bulk_receiver *r, uint32_t seq)
{
	if (!r->seen_any || (int32_t)(seq - r->seen_seq) > 0)
		r->seen_seq = seq;
	r->seen_any = true;
}

void bulk_rx_release(struct bulk_receiver *r)
{
	buf_put(r, r->written);
	r->written = NULL;
	if (r->sl)
		for (uint32_t s = 0; s < r->obj.nslices; s++)
			slice_free(r, &r->sl[s], bulk_rx_slice_k(r, s));
	while (r->nspare > 0)
		free(r->spare[--r->nspare]);
	free(r->spare);
	r->spare = NULL;
	r->spare_max = 0;
	r->buffered = 0;
}

void bulk_receiver_fetched(struct bulk_receiver *r)
{
	if (r->state != BULK_RX_FETCH)
		return;
	bulk_rx_release(r);
	for (uint32_t s = 0; s < r->obj.nslices; s++)
		r->sl[s].done = 1;
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
