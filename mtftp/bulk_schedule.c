/* Bulk sender: which symbol goes out next (sans-I/O, part of the engine in
 * bulk_sender.c).
 *
 * First pass, interleaved when `interleave` > 1 (1 by default: bulk.h says
 * why): the slices of a stripe of `interleave` slices go out together,
 * symbol i of each before symbol i+1 of any (k sources, then `proactive`
 * repairs). Losses come in runs: a switch queue overflowing, a
 * receiver's socket buffer full, or a UDP GSO batch of 16 packets dropped
 * whole. Sent slice after slice, a run of 16 costs one slice 16 symbols, and
 * the worst of N receivers per slice grows quickly with N; interleaved, it
 * costs 16 slices one symbol each, which the proactive repair or a small
 * repair burst covers. A stripe counts as sent (`front` moves past it) only
 * when its last symbol is out: receivers NAK nothing of it before.
 *
 * Repairs: NAKs carry, per slice, how many symbols a receiver lacks, and
 * the seq of the last DATA it took in. Repair symbols of the slice sent
 * after that seq are still on their way to it, and those owed and not yet
 * sent will reach it too: only what it lacks beyond them is added. So the
 * largest need per slice is answered once with that many NEW repair
 * symbols (any k distinct symbols decode, so one burst serves every
 * receiver that lost up to that many), however far behind a receiver
 * works through its socket queue. (A hold-off in time, tried first, was
 * shorter than a busy receiver's queue: 32 receivers on 2 CPUs got 28
 * repairs per slice for 1% loss.) Slices owed repairs are served round
 * robin, REPAIR_TURN symbols each in turn: a run of lost packets then
 * spreads over several slices, as in the first pass, while the turn's
 * encodes find the slice's sources in cache (measured here: 2.5 us per
 * repair symbol of 64 x 1448 bytes when the slice is cached, 6.8 us when
 * each symbol comes from another slice). Slices a receiver has nothing of
 * (a late joiner, a long outage) go to the carousel, which runs after the first pass so receivers
 * that are on time are not held back, and sends the slice's k sources.
 */
#include "mtftp/bulk_sender_private.h"
#include "mtftp/rs.h"

#define REPAIR_TURN 8

static unsigned slice_k(const struct bulk_sender *s, uint32_t slice)
{
	return bulk_slice_k(s->c.size, s->c.k, s->c.symbol, slice);
}

/* Symbols a slice gets in the first pass. */
static unsigned first_pass(const struct bulk_sender *s, uint32_t slice)
{
	unsigned total = slice_k(s, slice) + s->c.proactive;

	return total > RS_SYMBOLS ? RS_SYMBOLS : total;
}

static void stripe_open(struct bulk_sender *s)
{
	uint32_t w = s->c.interleave;

	s->stripe_end = s->nslices - s->front < w ? s->nslices : s->front + w;
	s->pos = s->front;
	s->row = 0;
}

void bulk_sched_init(struct bulk_sender *s)
{
	s->front = 0;
	stripe_open(s);
}

/* Past the symbol just sent: the next slice of the stripe that has a
 * symbol in this row, else the next row; after the last row the stripe is
 * sent. Only the object's last slice is short, so the stripe's first slice
 * has the most rows. */
static void cursor_advance(struct bulk_sender *s)
{
	for (;;) {
		if (++s->pos >= s->stripe_end) {
			s->pos = s->front;
			s->row++;
		}
		if (s->row >= first_pass(s, s->front)) {
			for (uint32_t q = s->front; q < s->stripe_end; q++)
				s->sl[q].next_esi = (uint16_t)(first_pass(s, q) % RS_SYMBOLS);
			s->front = s->stripe_end;
			if (s->front < s->nslices)
				stripe_open(s);
			return;
		}
		if (s->row < first_pass(s, s->pos))
			return;
	}
}

static void enqueue(struct bulk_sender *s, uint32_t slice)
{
	if (s->sl[slice].queued)
		return;
	s->sl[slice].queued = 1;
	s->queue[(s->qhead + s->qlen) % s->nslices] = slice;
	s->qlen++;
}

/* Repair and carousel symbols of the slice sent after DATA seq `seen`.
 * Runs older than the ring count as arrived: at worst a repair too many. */
static unsigned in_flight(const struct slice_state *st, uint32_t seen)
{
	unsigned n = 0;

	for (unsigned i = 0; i < REPAIR_RUNS; i++) {
		const struct repair_run *r = &st->run[i];
		int32_t after = (int32_t)(r->seq + r->n - 1u - seen);

		if (r->n && after > 0)
			n += (unsigned)after < r->n ? (unsigned)after : r->n;
	}
	return n;
}

void bulk_sched_nak(struct bulk_sender *s, uint32_t slice, unsigned c, uint32_t seen)
{
	struct slice_state *st = &s->sl[slice];
	unsigned k = slice_k(s, slice), coming, want;

	if (slice >= s->front) {
		s->n.nak_early++; /* not sent in full yet: the first pass brings it */
		return;
	}
	s->n.nak_entries++;
	coming = in_flight(st, seen) + st->burst_left + st->want + (st->carousel ? k : 0) +
		 (s->burst_active && s->burst_slice == slice ? s->burst_left : 0);
	if (c <= coming) {
		s->n.nak_suppressed++;
		return;
	}
	if (c >= k) { /* it has nothing of the slice */
		st->carousel = 1;
		s->carousel_count++;
		return;
	}
	want = st->want + (c - coming);
	st->want = (uint8_t)(want > UINT8_MAX ? UINT8_MAX : want);
	enqueue(s, slice);
}

void bulk_sched_sent(struct bulk_sender *s, uint32_t slice, uint32_t seq)
{
	struct slice_state *st = &s->sl[slice];
	struct repair_run *r = &st->run[(st->run_next + REPAIR_RUNS - 1) % REPAIR_RUNS];

	if (r->n && r->n < UINT8_MAX && r->seq + r->n == seq) {
		r->n++;
		return;
	}
	r = &st->run[st->run_next];
	st->run_next = (uint8_t)((st->run_next + 1) % REPAIR_RUNS);
	r->seq = seq;
	r->n = 1;
}

bool bulk_sched_pending(const struct bulk_sender *s)
{
	return s->burst_active || s->turn_left > 0 || s->qlen > 0 || s->front < s->nslices ||
	       s->carousel_count > 0;
}

static bool next_repair(struct bulk_sender *s, uint32_t *slice, uint16_t *esi, uint8_t *burst)
{
	struct slice_state *st;

	while (s->turn_left == 0) {
		if (s->qlen == 0)
			return false;
		s->turn_slice = s->queue[s->qhead];
		s->qhead = (s->qhead + 1) % s->nslices;
		s->qlen--;
		st = &s->sl[s->turn_slice];
		st->queued = 0;
		if (st->burst_left == 0) {
			if (st->want == 0)
				continue;
			st->burst_left = st->last_burst = st->want;
			st->want = 0;
		}
		s->turn_left = REPAIR_TURN;
	}
	st = &s->sl[s->turn_slice];
	*slice = s->turn_slice;
	*esi = st->next_esi;
	st->next_esi = (uint16_t)((st->next_esi + 1) % RS_SYMBOLS);
	*burst = st->last_burst;
	if (--st->burst_left == 0 || --s->turn_left == 0) {
		s->turn_left = 0;
		if (st->burst_left > 0 || st->want > 0)
			enqueue(s, s->turn_slice);
	}
	return true;
}

static bool carousel_start(struct bulk_sender *s)
{
	for (uint32_t i = 0; i < s->nslices; i++) {
		uint32_t q = (s->carousel_pos + i) % s->nslices;

		if (!s->sl[q].carousel)
			continue;
		s->sl[q].carousel = 0;
		s->carousel_count--;
		s->carousel_pos = (q + 1) % s->nslices;
		s->burst_active = true;
		s->burst_slice = q;
		s->burst_left = s->burst_size = (uint8_t)slice_k(s, q);
		s->sl[q].last_burst = s->burst_size;
		return true;
	}
	return false;
}

bool bulk_sched_next(struct bulk_sender *s, uint32_t *slice, uint16_t *esi, uint8_t *burst,
		     uint8_t *flags)
{
	if (!s->burst_active && next_repair(s, slice, esi, burst)) {
		*flags = BULK_F_REPAIR;
		s->n.repair_sent++;
		return true;
	}
	if (!s->burst_active && s->front < s->nslices) {
		*slice = s->pos;
		*esi = (uint16_t)s->row;
		*burst = 0;
		*flags = 0;
		cursor_advance(s);
		s->n.source_sent += *esi < slice_k(s, *slice);
		s->n.repair_sent += *esi >= slice_k(s, *slice);
		return true;
	}
	if (!s->burst_active && (s->carousel_count == 0 || !carousel_start(s)))
		return false;
	/* The carousel is for receivers that have nothing of the slice: its
	 * k source symbols serve them as well as new repairs would, and cost
	 * no encoding. */
	*slice = s->burst_slice;
	*esi = (uint16_t)(s->burst_size - s->burst_left);
	*burst = s->burst_size;
	*flags = BULK_F_CAROUSEL;
	if (--s->burst_left == 0)
		s->burst_active = false;
	s->n.carousel_sent++;
	return true;
}
