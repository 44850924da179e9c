/* The bulk stream's interleaved first pass: the order the sender sends in,
 * what a run of lost packets costs (one symbol per slice, covered by the
 * proactive repair or a small burst), when the receiver NAKs a slice of an
 * interleaved stripe, and the bound on what a receiver holds. */
#include "bulk_sim.h"

#define SESSION 7

/* A sender with one member, first pass collected as (slice, esi) pairs. */
struct pass {
	uint32_t slice[8192];
	uint16_t esi[8192];
	unsigned n;
	unsigned announced_interleave;
};

static void collect_first_pass(const struct bulk_sender_config *c, struct pass *p)
{
	struct bulk_sender *s = bulk_sender_new(c, 0);
	uint8_t pkt[64];
	struct bulk_addr rx = { 1, 2 };
	struct bulk_packet bp;
	uint32_t tag = (uint32_t)c->sha256[0] << 24 | (uint32_t)c->sha256[1] << 16 |
		       (uint32_t)c->sha256[2] << 8 | c->sha256[3];

	assert_non_null(s);
	memset(p, 0, sizeof(*p));
	bulk_sender_input(s, 0, rx, pkt, bulk_build_hello(pkt, sizeof(pkt), SESSION, 5, tag), &out);
	for (uint64_t t = 1; bulk_sender_state(s) == BULK_SS_WAITING ||
			     bulk_sender_state(s) == BULK_SS_RUNNING; t += 1000) {
		assert_true(t < 60000000);
		bulk_sender_tick(s, t, &out);
		for (unsigned i = 0; i < out.n; i++) {
			if (out.act[i].kind == BULK_ACT_GROUP &&
			    bulk_parse(out.act[i].pkt, out.act[i].len, &bp) == BULK_PARSE_OK &&
			    bp.type == BULK_ANNOUNCE)
				p->announced_interleave = bp.u.ann.interleave;
			if (out.act[i].kind != BULK_ACT_DATA)
				continue;
			assert_true(p->n < 8192);
			p->slice[p->n] = out.act[i].slice;
			p->esi[p->n++] = out.act[i].esi;
		}
	}
	assert_int_equal(bulk_sender_counters(s)->repair_sent, bulk_nslices(c->size, c->k, c->symbol));
	bulk_sender_free(s);
}

static void test_first_pass_order(void **state)
{
	static const unsigned widths[] = { 1, 16, 32 };
	struct bulk_sender_config c;
	static struct pass p;

	(void)state;
	bulk_sender_defaults(&c);
	c.session = SESSION;
	c.symbol = SYM;
	c.k = K;
	c.max_rate = 64u << 20;
	/* 3 full stripes of 32 and 5 slices more, the last one short */
	c.size = (uint64_t)(3 * 32 + 4) * K * SYM + 10 * SYM + 7;
	for (unsigned w = 0; w < 3; w++) {
		uint32_t nslices = bulk_nslices(c.size, K, SYM);
		static uint8_t seen[200][RS_SYMBOLS];
		unsigned expect = 0;

		c.interleave = (uint16_t)widths[w];
		collect_first_pass(&c, &p);
		assert_int_equal(p.announced_interleave, widths[w]);
		/* every slice gets its k sources and one proactive repair, once */
		memset(seen, 0, sizeof(seen));
		for (unsigned i = 0; i < p.n; i++) {
			assert_true(p.slice[i] < nslices);
			assert_false(seen[p.slice[i]][p.esi[i]]);
			seen[p.slice[i]][p.esi[i]] = 1;
		}
		for (uint32_t s = 0; s < nslices; s++)
			expect += bulk_slice_k(c.size, K, SYM, s) + 1;
		assert_int_equal(p.n, expect);
		for (uint32_t s = 0; s < nslices; s++)
			for (unsigned e = 0; e <= bulk_slice_k(c.size, K, SYM, s); e++)
				assert_true(seen[s][e]);
		/* Stripes go out in order, and inside a full stripe any run of
		 * `interleave` packets names as many different slices. */
		for (unsigned i = 1; i < p.n; i++)
			assert_true(p.slice[i] / widths[w] >= p.slice[i - 1] / widths[w]);
		for (unsigned i = 0; i + widths[w] <= p.n; i++) {
			bool in_full = true;

			memset(seen, 0, sizeof(seen));
			for (unsigned j = i; j < i + widths[w]; j++)
				in_full &= p.slice[j] < 3 * 32;
			for (unsigned j = i; in_full && j < i + widths[w]; j++) {
				assert_false(seen[p.slice[j]][0]);
				seen[p.slice[j]][0] = 1;
			}
		}
	}
}

struct burst_result {
	uint64_t repairs, source, naks, nak_early;
};

/* N receivers, each losing runs of 16 packets (a UDP GSO batch dropped
 * whole) at about 1% of packets. */
static struct burst_result run_bursts(unsigned interleave, int nr)
{
	struct sim m;
	struct burst_result r = { 0 };
	const struct bulk_sender_counters *c;

	sim_init(&m, nr, 1u << 20);
	m.sc.interleave = (uint16_t)interleave;
	for (int i = 0; i < m.nr; i++)
		m.loss[i] = (struct loss){ .kind = LOSS_BURST, .burst_ppm = 640, .burst_len = 16 };
	sim_run(&m, 60000000);
	assert_all_ok(&m);
	for (int i = 0; i < m.nr; i++) {
		if (m.fetched[i])
			fail_msg("receiver %d fetched by HTTP: %s", i, bulk_receiver_message(m.r[i]));
		r.naks += bulk_receiver_counters(m.r[i])->naks_sent;
	}
	c = bulk_sender_counters(m.s);
	/* beyond the one proactive repair per slice of the first pass */
	r.repairs = c->repair_sent + c->carousel_sent - bulk_nslices(m.size, K, SYM);
	r.source = c->source_sent;
	r.nak_early = c->nak_early;
	/* Every repair is a new symbol: none is encoded or sent twice. */
	assert_int_equal(m.resent, 0);
	if (getenv("SIM_DEBUG"))
		fprintf(stderr, "interleave %u, %d rx: repairs %llu source %llu naks %llu\n",
			interleave, nr, (unsigned long long)r.repairs, (unsigned long long)r.source,
			(unsigned long long)r.naks);
	sim_free(&m);
	return r;
}

static void test_burst_loss_costs_one_symbol_per_slice(void **state)
{
	struct burst_result seq8, seq32, il8, il32;

	(void)state;
	seq8 = run_bursts(1, 8);
	seq32 = run_bursts(1, 32);
	il8 = run_bursts(32, 8);
	il32 = run_bursts(32, 32);
	/* Receivers never NAK a slice of a stripe still being sent. */
	assert_int_equal(il8.nak_early + il32.nak_early, 0);
	/* Slice after slice, a run of 16 costs one slice 16 symbols: the
	 * worst receiver per slice needs a large burst, more so with more
	 * receivers. Interleaved, it costs 16 slices a symbol each. */
	assert_true(seq32.repairs > seq8.repairs);
	assert_true(il8.repairs * 4 < seq8.repairs);
	assert_true(il32.repairs * 4 < seq32.repairs);
	assert_true(il32.repairs < il32.source / 20);
	assert_true(il32.naks < seq32.naks);
}

/* With send_batch, DATA leaves in runs of that many packets however low
 * the rate: one wake-up and one GSO send per run, not per packet. */
static void test_send_batch_runs(void **state)
{
	static const unsigned batches[] = { 1, 16 };
	struct bulk_sender_config c;

	(void)state;
	bulk_sender_defaults(&c);
	c.session = SESSION;
	c.size = 64u << 20;
	c.max_rate = c.min_rate = 2u << 20; /* 2 MB/s: 1.4k packets/s */
	for (unsigned b = 0; b < 2; b++) {
		struct bulk_sender *s;
		uint8_t pkt[64];
		struct bulk_addr rx = { 1, 2 };
		unsigned runs = 0, packets = 0, shortest = UINT32_MAX;

		c.send_batch = (uint8_t)batches[b];
		s = bulk_sender_new(&c, 0);
		bulk_sender_input(s, 0, rx, pkt, bulk_build_hello(pkt, sizeof(pkt), SESSION, 5, 0),
				  &out);
		/* the I/O loop: wake at the engine's deadline, for 2 s */
		for (uint64_t t = 1; t < 2000000;) {
			uint64_t next;
			unsigned n = 0;

			bulk_sender_tick(s, t, &out);
			for (unsigned i = 0; i < out.n; i++)
				n += out.act[i].kind == BULK_ACT_DATA;
			next = bulk_sender_deadline(s);
			t = next > t ? next : t + 1;
			if (n == 0)
				continue;
			runs++;
			packets += n;
			if (n < shortest)
				shortest = n;
		}
		assert_true(packets > 2000);
		assert_true(shortest >= batches[b]);
		if (batches[b] > 1)
			assert_true(runs <= packets / batches[b]);
		else
			assert_true(runs > packets / 4);
		bulk_sender_free(s);
	}
}

/* Ticks the sender for `us`; the seqs of the repair symbols it sends for
 * slice 0 go to seqs[*n], and the last seq of any DATA to *last. */
static void run_sender(struct bulk_sender *s, uint64_t *t, uint64_t us, uint32_t *seqs,
		       unsigned *n, uint32_t *last)
{
	for (uint64_t end = *t + us; *t < end;) {
		bulk_sender_tick(s, *t, &out);
		for (unsigned i = 0; i < out.n; i++) {
			const uint8_t *h = out.act[i].pkt;
			uint32_t seq = (uint32_t)h[20] << 24 | (uint32_t)h[21] << 16 |
				       (uint32_t)h[22] << 8 | h[23];

			if (out.act[i].kind != BULK_ACT_DATA)
				continue;
			*last = seq;
			if (seqs && out.act[i].slice == 0 && out.act[i].esi >= K + 1) {
				assert_true(*n < 64);
				seqs[(*n)++] = seq;
			}
		}
		*t = bulk_sender_deadline(s) > *t ? bulk_sender_deadline(s) : *t + 1;
	}
}

/* A sender of two stripes' worth at `rate` bytes/s, receiver 5 joined,
 * ticked through its first pass; *last: the seq of its last DATA. */
static struct bulk_sender *sender_past_first_pass(uint64_t rate, uint64_t *t, uint32_t *last)
{
	struct bulk_sender_config c;
	struct bulk_sender *s;
	struct bulk_addr rx = { 1, 2 };
	uint8_t pkt[64];

	bulk_sender_defaults(&c);
	c.session = SESSION;
	c.size = 64u * K * SYM * 2;
	c.symbol = SYM;
	c.k = K;
	c.max_rate = c.min_rate = rate;
	s = bulk_sender_new(&c, 0);
	assert_non_null(s);
	bulk_sender_input(s, 0, rx, pkt, bulk_build_hello(pkt, sizeof(pkt), SESSION, 5, 0), &out);
	while (bulk_sender_state(s) != BULK_SS_DRAINING)
		run_sender(s, t, 1, NULL, NULL, last);
	return s;
}

/* Repairs for many slices go round robin, so a burst can still be going
 * out long after the NAK: the same NAK repeated meanwhile (sent before the
 * burst reached its receiver) adds nothing. */
static void test_repeated_nak_during_long_burst(void **state)
{
	struct bulk_sender *s;
	struct bulk_addr rx = { 1, 2 };
	uint8_t pkt[BULK_CTL_MAX], miss[40];
	const struct bulk_sender_counters *n;
	uint64_t t = 1, first_pass, seen = 0;
	uint32_t last = 0;
	size_t len;

	(void)state;
	/* 1 MB/s: 800 symbols take ~250 ms, the first pass (member timeout
	 * 5 s) 1.4 s */
	s = sender_past_first_pass(1u << 20, &t, &last);
	n = bulk_sender_counters(s);
	first_pass = n->repair_sent;
	memset(miss, 20, sizeof(miss)); /* longer than a round-robin turn */
	len = bulk_build_nak(pkt, sizeof(pkt), SESSION, 5, 0, 0, 0, 0, 40, miss);
	bulk_sender_input(s, t, rx, pkt, len, &out);
	for (uint64_t end = t + 40000; t < end;) {
		bulk_sender_tick(s, t, &out);
		for (unsigned i = 0; i < out.n; i++) {
			if (out.act[i].kind != BULK_ACT_DATA)
				continue;
			/* round robin in turns of 8: slice 0 x8, 1 x8, ... */
			assert_int_equal(out.act[i].slice, (uint32_t)(seen / 8 % 40));
			seen++;
		}
		t = bulk_sender_deadline(s) > t ? bulk_sender_deadline(s) : t + 1;
	}
	assert_true(seen > 16);
	assert_true(n->repair_sent - first_pass < 800); /* still going */
	bulk_sender_input(s, t, rx, pkt, len, &out);
	assert_int_equal(n->nak_suppressed, 40);
	for (uint64_t end = t + 1000000; t < end;) {
		bulk_sender_tick(s, t, &out);
		t = bulk_sender_deadline(s) > t ? bulk_sender_deadline(s) : t + 1;
	}
	assert_int_equal(n->repair_sent - first_pass, 800);
	bulk_sender_free(s);
}

/* A receiver works through its socket queue late: its NAK names the last
 * DATA it took in, and repairs sent after that are on their way to it.
 * However late the NAK comes, they are not sent again; what it lacks
 * beyond them is. */
static void test_nak_counts_repairs_on_their_way(void **state)
{
	struct bulk_sender *s;
	struct bulk_addr rx = { 1, 2 };
	uint8_t pkt[BULK_CTL_MAX], miss[1];
	const struct bulk_sender_counters *n;
	uint32_t seqs[64], last = 0;
	unsigned got = 0;
	uint64_t t = 1, before;

	(void)state;
	s = sender_past_first_pass(8u << 20, &t, &last);
	n = bulk_sender_counters(s);

	/* Everything seen, 3 lacking: 3 repairs. */
	miss[0] = 3;
	bulk_sender_input(s, t, rx, pkt,
			  bulk_build_nak(pkt, sizeof(pkt), SESSION, 5, 0, 0, last, 0, 1, miss), &out);
	run_sender(s, &t, 100000, seqs, &got, &last);
	assert_int_equal(got, 3);
	before = n->repair_sent;

	/* The same need, from before those repairs, a second later: nothing. */
	bulk_sender_input(s, t + 1000000, rx, pkt,
			  bulk_build_nak(pkt, sizeof(pkt), SESSION, 5, 0, 0, seqs[0] - 1, 0, 1, miss), &out);
	t += 1000000;
	run_sender(s, &t, 100000, seqs, &got, &last);
	assert_int_equal(n->repair_sent, before);
	assert_int_equal(got, 3);

	/* Seen the first of them, still 3 lacking: the 2 others are coming,
	 * 1 more is sent. */
	bulk_sender_input(s, t, rx, pkt,
			  bulk_build_nak(pkt, sizeof(pkt), SESSION, 5, 0, 0, seqs[0], 0, 1, miss), &out);
	run_sender(s, &t, 100000, seqs, &got, &last);
	assert_int_equal(got, 4);

	/* Seen them all and 2 were lost: 2 more. */
	miss[0] = 2;
	bulk_sender_input(s, t, rx, pkt,
			  bulk_build_nak(pkt, sizeof(pkt), SESSION, 5, 0, 0, last, 0, 1, miss), &out);
	run_sender(s, &t, 100000, seqs, &got, &last);
	assert_int_equal(got, 6);
	assert_int_equal(n->repair_sent, before + 3);
	for (unsigned i = 1; i < got; i++)
		assert_true((int32_t)(seqs[i] - seqs[i - 1]) > 0);
	bulk_sender_free(s);
}

static void announce_to(struct bulk_receiver *r, uint64_t now, uint64_t size, uint16_t interleave)
{
	struct bulk_announce a = { .tag = 0x11223344, .size = size, .symbol = SYM, .k = K,
				   .state = BULK_SS_RUNNING, .interleave = interleave };
	uint8_t pkt[BULK_ANNOUNCE_LEN];
	struct bulk_addr tx = { SENDER_IP, 5000 };

	a.nslices = bulk_nslices(size, K, SYM);
	bulk_receiver_input(r, now, tx, pkt, bulk_build_announce(pkt, sizeof(pkt), SESSION, &a), &out);
}

static void data_to(struct bulk_receiver *r, uint64_t now, uint32_t slice, uint16_t esi)
{
	static uint8_t pkt[BULK_DATA_HDR + SYM];
	struct bulk_addr tx = { SENDER_IP, 5000 };

	bulk_build_data_hdr(pkt, sizeof(pkt), SESSION, 0x11223344, slice, esi, 0, 0, slice * 64 + esi);
	memset(pkt + BULK_DATA_HDR, (int)(slice + esi), SYM);
	bulk_receiver_input(r, now, tx, pkt, sizeof(pkt), &out);
}

/* A NAK (if any) among the receiver's last actions. */
static bool nak_in_output(struct bulk_packet *p)
{
	for (unsigned i = 0; i < out.n; i++)
		if (out.act[i].kind == BULK_ACT_UNICAST &&
		    bulk_parse(out.act[i].pkt, out.act[i].len, p) == BULK_PARSE_OK &&
		    p->type == BULK_NAK)
			return true;
	return false;
}

static void test_nak_waits_for_the_stripe(void **state)
{
	struct bulk_receiver_config rc;
	struct bulk_receiver *r;
	struct bulk_addr tx = { SENDER_IP, 5000 };
	struct bulk_packet p;
	uint8_t pkt[16];
	uint64_t now = 1000;

	(void)state;
	bulk_receiver_defaults(&rc);
	rc.receiver = 9;
	r = bulk_receiver_new(&rc, 0);
	announce_to(r, now, 16u * K * SYM, 8);
	bulk_receiver_input(r, now, tx, pkt, bulk_build_id(pkt, sizeof(pkt), BULK_WELCOME, SESSION, 9),
			    &out);
	/* stripe 0 (slices 0-7), row by row; slice 3 loses esi 5 and 6 */
	for (uint16_t e = 0; e <= K; e++)
		for (uint32_t s = 0; s < 8; s++)
			if (!(s == 3 && (e == 5 || e == 6)))
				data_to(r, now, s, e);
	assert_int_equal(bulk_receiver_slices_done(r), 7);
	/* The stripe is not known to be over: however long, no NAK. */
	for (int i = 0; i < 20; i++) {
		now += rc.nak_us * 2;
		bulk_receiver_tick(r, now, &out);
		assert_false(nak_in_output(&p));
	}
	assert_int_equal(bulk_receiver_counters(r)->naks_sent, 0);
	/* The next stripe begins: slice 3 lacks one symbol, and is NAKed. */
	data_to(r, now, 8, 0);
	now += rc.nak_us * 2;
	bulk_receiver_tick(r, now, &out);
	assert_true(nak_in_output(&p));
	assert_int_equal(p.u.nak.base, 3);
	assert_int_equal(p.u.nak.count, 1);
	assert_int_equal(p.u.nak.missing[0], 1);
	bulk_receiver_free(r);
}

static void test_receiver_window_bound(void **state)
{
	struct bulk_receiver_config rc;
	struct bulk_receiver *r;
	size_t slice_mem = (size_t)K * SYM + K;
	struct sim m;

	(void)state;
	bulk_receiver_defaults(&rc);
	rc.receiver = 9;
	/* A stripe that does not fit: refused at once, with the reason. */
	rc.max_buffer = 8 * slice_mem;
	r = bulk_receiver_new(&rc, 0);
	announce_to(r, 10, 64u * K * SYM, 32);
	assert_int_equal(bulk_receiver_state(r), BULK_RX_FAILED);
	assert_non_null(strstr(bulk_receiver_message(r), "interleaves 32 slices"));
	bulk_receiver_free(r);

	/* Symbols of ever more slices, none completing: what is held stays
	 * under the bound, the rest is dropped and counted. */
	rc.max_buffer = 40 * slice_mem;
	r = bulk_receiver_new(&rc, 0);
	announce_to(r, 10, 200u * K * SYM, 32);
	assert_int_equal(bulk_receiver_state(r), BULK_RX_RECEIVING);
	for (uint32_t s = 0; s < 200; s++)
		data_to(r, 20, s, 0);
	assert_true(bulk_receiver_counters(r)->buffer_peak <= rc.max_buffer);
	assert_int_equal(bulk_receiver_counters(r)->buffer_full, 200 - 40);
	bulk_receiver_free(r);

	/* A whole transfer with loss in the smallest window the receiver
	 * accepts: a stripe is open at once, and the bound holds. */
	sim_init(&m, 4, 1u << 20);
	m.sc.interleave = 32;
	m.rc.max_buffer = 33 * slice_mem;
	for (int i = 0; i < m.nr; i++)
		m.loss[i] = (struct loss){ .kind = LOSS_RANDOM, .permille = 20 };
	sim_run(&m, 60000000);
	assert_all_ok(&m);
	for (int i = 0; i < m.nr; i++) {
		uint64_t peak = bulk_receiver_counters(m.r[i])->buffer_peak;

		assert_true(peak <= m.rc.max_buffer);
		assert_true(peak >= 16 * slice_mem);
		assert_int_equal(m.fetched[i], 0);
	}
	sim_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_pass_order),
		cmocka_unit_test(test_burst_loss_costs_one_symbol_per_slice),
		cmocka_unit_test(test_send_batch_runs),
		cmocka_unit_test(test_repeated_nak_during_long_burst),
		cmocka_unit_test(test_nak_counts_repairs_on_their_way),
		cmocka_unit_test(test_nak_waits_for_the_stripe),
		cmocka_unit_test(test_receiver_window_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
