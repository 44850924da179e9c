/* The MTFTP engine with byte arrays and a fake clock: master promotion,
 * late joiners, lost ACKs, a master that vanishes, bad input. Whole
 * transfers to simulated clients are in test_mtftp_sim.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "mtftp/mtftp.h"
#include "test_mtftp_fixture.h"

static void input(struct mtftp_xfer *x, uint64_t now, unsigned from, uint16_t op,
		  uint16_t block, struct mtftp_output *out)
{
	uint8_t pkt[4] = { (uint8_t)(op >> 8), (uint8_t)op, (uint8_t)(block >> 8), (uint8_t)block };
	struct net_addr a = client(from);

	mtftp_xfer_input(x, now, &a, pkt, 4, out);
}

static void join(struct mtftp_xfer *x, uint64_t now, unsigned i, struct mtftp_output *out)
{
	struct net_addr a = client(i);

	assert_true(mtftp_xfer_join(x, now, &a, base_oack, sizeof(base_oack), out));
}

/* out holds exactly one OACK, to client i, with mc as given. */
static void expect_oack(const struct mtftp_output *out, unsigned i, bool master)
{
	struct net_addr g, a = client(i);
	bool m;

	assert_int_equal(out->n, 1);
	assert_int_equal(out->act[0].kind, TFTP_ACT_PACKET);
	assert_int_equal(out->to[0].ip, a.ip);
	assert_int_equal(out->to[0].port, a.port);
	assert_memory_equal(out->ctl, base_oack, sizeof(base_oack));
	assert_string_equal((const char *)out->ctl + sizeof(base_oack), "multicast");
	assert_int_equal(mtftp_parse_multicast((const char *)out->ctl + sizeof(base_oack) + 10,
					       out->ctl_len - sizeof(base_oack) - 10, &g, &m), 0);
	assert_int_equal(ntohl(g.ip), GROUP_IP);
	assert_int_equal(ntohs(g.port), 1758);
	assert_int_equal(m, master);
}

static uint16_t block_of(const struct tftp_action *a)
{
	return (uint16_t)(a->hdr[2] << 8 | a->hdr[3]);
}

/* out holds DATA blocks first..first+n-1, all to the group. */
static void expect_data(const struct mtftp_output *out, uint16_t first, unsigned n)
{
	assert_int_equal(out->n, n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(out->act[i].kind, TFTP_ACT_DATA);
		assert_int_equal(block_of(&out->act[i]), first + i);
		assert_true(is_group(&out->to[i]));
	}
}

/* Blocks first..first+n-1, each to the group then by unicast to client m
 * (a master that does not hear the group). */
static void expect_data_deaf(const struct mtftp_output *out, uint16_t first, unsigned n,
			     unsigned m)
{
	struct net_addr a = client(m);

	assert_int_equal(out->n, 2 * n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(block_of(&out->act[2 * i]), first + i);
		assert_true(is_group(&out->to[2 * i]));
		assert_int_equal(block_of(&out->act[2 * i + 1]), first + i);
		assert_int_equal(out->to[2 * i + 1].ip, a.ip);
		assert_int_equal(out->to[2 * i + 1].port, a.port);
	}
}

static void test_master_and_listeners(void **state)
{
	struct mtftp_params p = params(MTFTP_MODE_RFC2090, 512, 4, 512 * 10 + 100);
	struct mtftp_xfer *x = mtftp_xfer_new(&p, &timing);
	struct mtftp_output out;

	(void)state;
	join(x, 0, 0, &out);
	expect_oack(&out, 0, true);
	join(x, 1, 1, &out);
	expect_oack(&out, 1, false);
	join(x, 2, 1, &out); /* its OACK was lost: the same answer again */
	expect_oack(&out, 1, false);
	assert_int_equal(mtftp_xfer_clients(x), 2);
	input(x, 3, 0, TFTP_ACK, 0, &out);
	expect_data(&out, 1, 4);
	assert_int_equal(out.act[0].offset, 0);
	assert_int_equal(out.act[0].len, 512);
	input(x, 4, 0, TFTP_ACK, 1, &out); /* sliding: one more */
	expect_data(&out, 5, 1);
	input(x, 5, 0, TFTP_ACK, 5, &out);
	expect_data(&out, 6, 4);
	input(x, 6, 0, TFTP_ACK, 9, &out); /* 11 blocks: the window stops there */
	expect_data(&out, 10, 2);
	assert_int_equal(out.act[0].len, 512);
	assert_int_equal(out.act[1].offset, 5120);
	assert_int_equal(out.act[1].len, 100);
	input(x, 7, 0, TFTP_ACK, 10, &out);
	assert_int_equal(out.n, 0);
	/* The master has it all: the listener is promoted, by unicast. */
	input(x, 8, 0, TFTP_ACK, 11, &out);
	expect_oack(&out, 1, true);
	assert_int_equal(mtftp_xfer_stats(x)->masters_done, 1);
	assert_int_equal(mtftp_xfer_stats(x)->promotions, 1);
	/* It listened from block 3 on: it asks for what it lacks, and since
	 * it holds blocks ahead, one block at a time. */
	input(x, 9, 1, TFTP_ACK, 2, &out);
	expect_data(&out, 3, 1);
	input(x, 10, 1, TFTP_ACK, 11, &out);
	assert_int_equal(out.n, 0);
	assert_true(mtftp_xfer_finished(x));
	assert_int_equal(mtftp_xfer_deadline(x), UINT64_MAX);
	mtftp_xfer_free(x);
}

static void test_bad_input_is_counted(void **state)
{
	struct mtftp_params p = params(MTFTP_MODE_RFC2090, 512, 1, 2000);
	struct mtftp_xfer *x = mtftp_xfer_new(&p, &timing);
	const struct mtftp_stats *st = mtftp_xfer_stats(x);
	struct net_addr a = client(0);
	struct mtftp_output out;
	static const uint8_t data[] = { 0, TFTP_DATA, 0, 1, 'x' };

	(void)state;
	join(x, 0, 0, &out);
	join(x, 0, 1, &out);
	input(x, 1, 7, TFTP_ACK, 0, &out);        /* never joined */
	assert_int_equal(out.n, 0);
	assert_int_equal(st->dropped_not_member, 1);
	input(x, 1, 1, TFTP_ACK, 0, &out);        /* a listener */
	assert_int_equal(out.n, 0);
	assert_int_equal(st->dropped_not_master, 1);
	input(x, 1, 0, TFTP_ACK, 5, &out);        /* 4 blocks in this file */
	assert_int_equal(out.n, 0);
	assert_int_equal(st->dropped_past_end, 1);
	mtftp_xfer_input(x, 1, &a, data, 3, &out); /* truncated */
	mtftp_xfer_input(x, 1, &a, data, 0, &out);
	mtftp_xfer_input(x, 1, &a, data, sizeof(data), &out); /* DATA to a server */
	assert_int_equal(out.n, 0);
	assert_int_equal(st->dropped_malformed, 3);
	input(x, 1, 7, TFTP_ERROR, 0, &out);
	assert_int_equal(st->dropped_not_member, 2);
	/* None of it disturbed the transfer. */
	input(x, 2, 0, TFTP_ACK, 0, &out);
	expect_data(&out, 1, 1);
	/* A listener that gives up leaves the list; the master stays. */
	input(x, 3, 1, TFTP_ERROR, 0, &out);
	assert_int_equal(mtftp_xfer_clients(x), 1);
	assert_int_equal(mtftp_xfer_master(x)->ip, a.ip);
	mtftp_xfer_free(x);
}

static void test_master_vanishes(void **state)
{
	struct mtftp_params p = params(MTFTP_MODE_RFC2090, 512, 2, 512 * 20);
	struct mtftp_xfer *x = mtftp_xfer_new(&p, &timing);
	struct mtftp_output out;
	uint64_t now = 0;

	(void)state;
	join(x, 0, 0, &out);
	join(x, 0, 1, &out);
	input(x, 10, 0, TFTP_ACK, 0, &out);
	input(x, 20, 0, TFTP_ACK, 2, &out);
	expect_data(&out, 3, 2);
	/* Silence: the window again after 1, 2, 4, 4 s; then the next client. */
	for (unsigned r = 0; r < timing.max_retries; r++) {
		now = mtftp_xfer_deadline(x);
		mtftp_xfer_tick(x, now - 1, &out);
		assert_int_equal(out.n, 0);
		mtftp_xfer_tick(x, now, &out);
		expect_data(&out, 3, 2);
	}
	assert_int_equal(mtftp_xfer_deadline(x) - now, 4000000);
	now = mtftp_xfer_deadline(x);
	mtftp_xfer_tick(x, now, &out);
	expect_oack(&out, 1, true);
	assert_int_equal(mtftp_xfer_stats(x)->promotions, 1);
	assert_int_equal(mtftp_xfer_stats(x)->retransmits, 2 * timing.max_retries);
	/* The silent master's late ACK is no longer its to give: it waits in
	 * line (out of reach for a while, or gone: its turns will tell). */
	input(x, now + 1, 0, TFTP_ACK, 4, &out);
	assert_int_equal(out.n, 0);
	assert_int_equal(mtftp_xfer_stats(x)->dropped_not_master, 1);
	assert_int_equal(mtftp_xfer_clients(x), 2);
	input(x, now + 2, 1, TFTP_ACK, 0, &out);
	expect_data(&out, 1, 2);
	/* Client 1 finishes; client 0 never answers its turns: dropped. */
	input(x, now + 3, 1, TFTP_ACK, 21, &out);
	expect_oack(&out, 0, true);
	while (!mtftp_xfer_finished(x)) {
		now = mtftp_xfer_deadline(x);
		assert_true(now < 60000000);
		mtftp_xfer_tick(x, now, &out);
	}
	assert_int_equal(mtftp_xfer_stats(x)->masters_lost, 1);
	assert_int_equal(mtftp_xfer_stats(x)->masters_done, 1);
	mtftp_xfer_free(x);
}

static void test_promoted_client_already_gone(void **state)
{
	/* iPXE closes its socket once it has every block, so a promoted
	 * listener that finished never answers: a few short tries, then the
	 * next in line; each goes round again (an OACK may have been lost, or
	 * the client is out of reach for a while) until it has been silent
	 * for as long as a master is waited for (1+2+4+4 s here). */
	struct mtftp_params p = params(MTFTP_MODE_RFC2090, 512, 1, 100);
	struct mtftp_xfer *x = mtftp_xfer_new(&p, &timing);
	struct mtftp_output out;
	uint64_t now = 2, first_promotion;
	unsigned turns[3] = { 0 }, expect = 1, tries = 0;

	(void)state;
	for (unsigned i = 0; i < 3; i++)
		join(x, 0, i, &out);
	input(x, 1, 0, TFTP_ACK, 0, &out);
	input(x, now, 0, TFTP_ACK, 1, &out);
	expect_oack(&out, 1, true);
	/* A tenth of the retransmission time per try. */
	assert_int_equal(mtftp_xfer_deadline(x) - now, 100000);
	first_promotion = now;
	turns[1] = 1;
	while (!mtftp_xfer_finished(x)) {
		now = mtftp_xfer_deadline(x);
		assert_true(now - first_promotion < 60000000);
		mtftp_xfer_tick(x, now, &out);
		if (out.n == 0)
			break;
		if (++tries == MTFTP_PROMOTE_TRIES) {
			tries = 0;
			expect = expect == 1 ? 2 : 1;
			turns[expect]++;
		}
		expect_oack(&out, expect, true);
	}
	assert_true(mtftp_xfer_finished(x));
	assert_true(now - first_promotion >= 11000000);
	assert_true(turns[1] >= MTFTP_PROMOTE_ROUNDS && turns[2] >= MTFTP_PROMOTE_ROUNDS);
	assert_int_equal(mtftp_xfer_stats(x)->masters_lost, 2);
	mtftp_xfer_free(x);
}

static void test_promoted_client_answers_late(void **state)
{
	/* A listener out of reach for a while is promoted again later. */
	struct mtftp_params p = params(MTFTP_MODE_RFC2090, 512, 1, 1000);
	struct mtftp_xfer *x = mtftp_xfer_new(&p, &timing);
	struct mtftp_output out;
	uint64_t now = 2;

	(void)state;
	join(x, 0, 0, &out);
	join(x, 0, 1, &out);
	input(x, 1, 0, TFTP_ACK, 0, &out);
	input(x, now, 0, TFTP_ACK, 2, &out); /* client 0 is done */
	expect_oack(&out, 1, true);
	while (now < 5000000) {
		now = mtftp_xfer_deadline(x);
		mtftp_xfer_tick(x, now, &out);
		expect_oack(&out, 1, true);
	}
	input(x, now + 1, 1, TFTP_ACK, 0, &out);
	expect_data(&out, 1, 1);
	mtftp_xfer_free(x);
}

static void test_late_joiner_takes_over_silent_master(void **state)
{
	struct mtftp_params p = params(MTFTP_MODE_RFC2090, 512, 1, 5000);
	struct mtftp_xfer *x = mtftp_xfer_new(&p, &timing);
	struct mtftp_output out;
	uint64_t now;

	(void)state;
	join(x, 0, 0, &out);
	input(x, 1, 0, TFTP_ACK, 0, &out);
	join(x, 2, 1, &out);            /* master alive: a listener */
	expect_oack(&out, 1, false);
	now = mtftp_xfer_deadline(x);
	mtftp_xfer_tick(x, now, &out);  /* the master missed a timeout */
	expect_data_deaf(&out, 1, 1, 0); /* (and may not hear the group) */
	join(x, now + 1, 2, &out);      /* a newcomer is certainly alive */
	expect_oack(&out, 2, true);
	assert_int_equal(mtftp_xfer_master(x)->ip, client(2).ip);
	input(x, now + 2, 0, TFTP_ACK, 1, &out); /* the old master now listens */
	assert_int_equal(out.n, 0);
	input(x, now + 3, 2, TFTP_ACK, 0, &out);
	expect_data(&out, 1, 1);
	mtftp_xfer_free(x);
}

static void test_lost_block_fast_retransmit(void **state)
{
	struct mtftp_params p = params(MTFTP_MODE_RFC2090, 512, 8, 512 * 40);
	struct mtftp_xfer *x = mtftp_xfer_new(&p, &timing);
	struct mtftp_output out;

	(void)state;
	join(x, 0, 0, &out);
	input(x, 1, 0, TFTP_ACK, 0, &out);
	expect_data(&out, 1, 8);
	/* Block 3 lost: iPXE ACKs its first gap, 2, for blocks 2, 4, 5, ... */
	input(x, 2, 0, TFTP_ACK, 1, &out);
	expect_data(&out, 9, 1);
	input(x, 3, 0, TFTP_ACK, 2, &out);
	expect_data(&out, 10, 1);
	input(x, 4, 0, TFTP_ACK, 2, &out);
	assert_int_equal(out.n, 0);
	input(x, 5, 0, TFTP_ACK, 2, &out);
	assert_int_equal(out.n, 0);
	input(x, 6, 0, TFTP_ACK, 2, &out);  /* third duplicate: block 3 again, alone */
	expect_data(&out, 3, 1);
	input(x, 7, 0, TFTP_ACK, 2, &out);  /* only once per hole */
	input(x, 8, 0, TFTP_ACK, 2, &out);
	input(x, 9, 0, TFTP_ACK, 2, &out);
	assert_int_equal(out.n, 0);
	input(x, 10, 0, TFTP_ACK, 10, &out); /* the hole filled */
	expect_data(&out, 11, 8);
	input(x, 11, 0, TFTP_ACK, 9, &out);  /* reordered, stale */
	assert_int_equal(out.n, 0);
	mtftp_xfer_free(x);
}

static void test_repair_of_scattered_losses(void **state)
{
	/* A promoted listener lacks blocks 3 and 7 only: one block each. */
	struct mtftp_params p = params(MTFTP_MODE_RFC2090, 512, 4, 512 * 30);
	struct mtftp_xfer *x = mtftp_xfer_new(&p, &timing);
	struct mtftp_output out;
	uint64_t sent;

	(void)state;
	join(x, 0, 0, &out);
	join(x, 0, 1, &out);
	input(x, 1, 0, TFTP_ACK, 31, &out); /* the first master had it all */
	expect_oack(&out, 1, true);
	sent = mtftp_xfer_stats(x)->blocks_sent;
	input(x, 2, 1, TFTP_ACK, 2, &out);
	expect_data(&out, 3, 1);
	input(x, 3, 1, TFTP_ACK, 6, &out);  /* jumped past what we sent: still probing */
	expect_data(&out, 7, 1);
	input(x, 4, 1, TFTP_ACK, 6, &out);  /* its own timer: 7 was lost, at once again */
	expect_data(&out, 7, 1);
	input(x, 5, 1, TFTP_ACK, 6, &out);  /* but once per hole */
	assert_int_equal(out.n, 0);
	input(x, 6, 1, TFTP_ACK, 20, &out); /* it lacks 21 on: a window again */
	expect_data(&out, 21, 1);
	input(x, 7, 1, TFTP_ACK, 21, &out);
	expect_data(&out, 22, 4);
	assert_int_equal(mtftp_xfer_stats(x)->blocks_sent - sent, 8);
	mtftp_xfer_free(x);
}

static void test_master_deaf_to_the_group(void **state)
{
	/* iPXE's tftm:// may never match its multicast socket: it ACKs the
	 * OACK, then repeats ACK 0 on its own timer. From then on its blocks
	 * also go to it by unicast, for the rest of its turn. */
	struct mtftp_params p = params(MTFTP_MODE_RFC2090, 512, 4, 512 * 30);
	struct mtftp_xfer *x = mtftp_xfer_new(&p, &timing);
	struct mtftp_output out;

	(void)state;
	join(x, 0, 0, &out);
	join(x, 0, 1, &out);
	input(x, 1, 0, TFTP_ACK, 0, &out);
	expect_data(&out, 1, 4);
	input(x, 250001, 0, TFTP_ACK, 0, &out);
	expect_data_deaf(&out, 1, 4, 0);
	assert_int_equal(mtftp_xfer_stats(x)->deaf_masters, 1);
	input(x, 250002, 0, TFTP_ACK, 1, &out);
	expect_data_deaf(&out, 5, 1, 0);
	input(x, 250003, 0, TFTP_ACK, 31, &out); /* done: the next is promoted */
	expect_oack(&out, 1, true);
	input(x, 250004, 1, TFTP_ACK, 0, &out);  /* a master that hears the group */
	expect_data(&out, 1, 4);
	input(x, 250005, 1, TFTP_ACK, 1, &out);
	expect_data(&out, 5, 1);
	input(x, 250006, 1, TFTP_ACK, 1, &out);  /* after progress a duplicate is a loss */
	assert_int_equal(out.n, 0);
	assert_int_equal(mtftp_xfer_stats(x)->deaf_masters, 1);
	mtftp_xfer_free(x);
}

static void test_listener_keepalive(void **state)
{
	/* Listeners that hear nothing (iPXE's tftm://) would give up after
	 * ~16 s: every 2 s each gets OACK "multicast=,,0"; the master none. */
	static const uint8_t ka[] = { 0, 6, 'm', 'u', 'l', 't', 'i', 'c', 'a', 's', 't', 0,
				      ',', ',', '0', 0 };
	struct mtftp_params p = params(MTFTP_MODE_RFC2090, 512, 1, 512 * 30);
	struct mtftp_xfer *x;
	struct mtftp_output out;
	struct net_addr g;
	bool m = true;

	(void)state;
	p.keepalive_ms = 2000;
	x = mtftp_xfer_new(&p, &timing);
	join(x, 0, 0, &out);
	join(x, 10, 1, &out);
	join(x, 20, 2, &out);
	input(x, 30, 0, TFTP_ACK, 0, &out);
	for (uint16_t b = 1; b <= 20; b++)   /* the master ACKs every 0.2 s */
		input(x, 30 + b * 200000ull, 0, TFTP_ACK, b, &out);
	assert_int_equal(mtftp_xfer_deadline(x), 2000000 + 10);
	mtftp_xfer_tick(x, 2000000 + 10, &out);
	assert_int_equal(out.n, 2);
	assert_memory_equal(out.ctl, ka, sizeof(ka));
	assert_int_equal(out.ctl_len, sizeof(ka));
	assert_int_equal(out.act[0].kind, TFTP_ACT_PACKET);
	assert_int_equal(out.to[0].ip, client(1).ip);
	assert_int_equal(out.to[1].ip, client(2).ip);
	assert_int_equal(mtftp_parse_multicast((const char *)ka + 12, 4, &g, &m), 0);
	assert_false(m);
	assert_int_equal(g.ip, 0); /* empty: iPXE keeps its socket */
	assert_int_equal(mtftp_xfer_deadline(x), 4000000 + 10);
	mtftp_xfer_free(x);
}

static void test_refuses_what_it_cannot_do(void **state)
{
	struct mtftp_params p = params(MTFTP_MODE_RFC2090, 512, 1, 512ull * MTFTP_MAX_BLOCKS);
	struct mtftp_xfer *x;
	struct mtftp_output out;
	struct net_addr a = client(0);
	uint8_t big[MTFTP_OACK_BASE_MAX + 1] = { 0, 6 };

	(void)state;
	assert_null(mtftp_xfer_new(&p, &timing)); /* would need block 65536 */
	p.size -= 1;
	x = mtftp_xfer_new(&p, &timing);
	assert_non_null(x);
	assert_false(mtftp_xfer_join(x, 0, &a, big, sizeof(big), &out));
	assert_false(mtftp_xfer_open(x, 0, &a, &out)); /* PXE open on an RFC 2090 transfer */
	mtftp_xfer_free(x);
	p = params(MTFTP_MODE_RFC2090, 512, 1, 100);
	p.max_clients = 2;
	x = mtftp_xfer_new(&p, &timing);
	join(x, 0, 0, &out);
	join(x, 0, 1, &out);
	a = client(2);
	assert_false(mtftp_xfer_join(x, 0, &a, base_oack, sizeof(base_oack), &out));
	mtftp_xfer_free(x);
}

static void test_pxe_open(void **state)
{
	struct mtftp_params p = params(MTFTP_MODE_PXE, 512, 4, 512 * 6);
	struct mtftp_xfer *x = mtftp_xfer_new(&p, &timing);
	struct net_addr a = client(0), b = client(1);
	struct mtftp_output out;
	uint64_t now;

	(void)state;
	assert_true(mtftp_xfer_open(x, 0, &a, &out));
	/* Block 1 by unicast (the opener learns it is master) and to the group. */
	assert_int_equal(out.n, 2);
	assert_int_equal(block_of(&out.act[0]), 1);
	assert_int_equal(out.to[0].ip, a.ip);
	assert_int_equal(block_of(&out.act[1]), 1);
	assert_true(is_group(&out.to[1]));
	assert_false(mtftp_xfer_open(x, 1, &b, &out)); /* a live master is served */
	assert_int_equal(mtftp_xfer_stats(x)->opens_ignored, 1);
	input(x, 2, 0, TFTP_ACK, 1, &out);
	expect_data(&out, 2, 4);
	input(x, 3, 1, TFTP_ACK, 1, &out);
	assert_int_equal(mtftp_xfer_stats(x)->dropped_not_member, 1);
	/* The master goes quiet: after one timeout an open takes over. */
	now = mtftp_xfer_deadline(x);
	mtftp_xfer_tick(x, now, &out);
	expect_data_deaf(&out, 2, 4, 0);
	assert_true(mtftp_xfer_open(x, now + 1, &b, &out));
	assert_int_equal(out.to[0].ip, b.ip);
	input(x, now + 2, 1, TFTP_ACK, 5, &out); /* it kept blocks from the group */
	expect_data(&out, 6, 1);
	input(x, now + 3, 1, TFTP_ACK, 7, &out);
	/* A PXE transfer ends with its master: listeners open a new cycle. */
	assert_true(mtftp_xfer_finished(x));
	assert_int_equal(mtftp_xfer_stats(x)->masters_done, 1);
	mtftp_xfer_free(x);
}

static void test_pxe_master_hears_block_1_twice(void **state)
{
	/* iPXE ACKs every DATA it gets: block 1's unicast copy and its group
	 * copy bring two ACK 1. The second is no sign of deafness; a third
	 * (its timer: nothing came from the group) is. */
	struct mtftp_params p = params(MTFTP_MODE_PXE, 512, 4, 512 * 12);
	struct mtftp_xfer *x = mtftp_xfer_new(&p, &timing);
	struct net_addr a = client(0);
	struct mtftp_output out;

	(void)state;
	assert_true(mtftp_xfer_open(x, 0, &a, &out));
	input(x, 1, 0, TFTP_ACK, 1, &out);
	expect_data(&out, 2, 4);
	input(x, 2, 0, TFTP_ACK, 1, &out); /* the group's copy of block 1 */
	assert_int_equal(out.n, 0);
	input(x, 3, 0, TFTP_ACK, 5, &out); /* blocks 2-5 came from the group */
	expect_data(&out, 6, 4);
	assert_int_equal(mtftp_xfer_stats(x)->deaf_masters, 0);
	input(x, 4, 0, TFTP_ACK, 13, &out);
	assert_true(mtftp_xfer_finished(x));
	mtftp_xfer_free(x);

	/* The same greeting to a master that hears only unicast. */
	x = mtftp_xfer_new(&p, &timing);
	assert_true(mtftp_xfer_open(x, 0, &a, &out));
	input(x, 1, 0, TFTP_ACK, 1, &out);
	expect_data(&out, 2, 4);
	input(x, 2, 0, TFTP_ACK, 1, &out);
	assert_int_equal(out.n, 0);
	input(x, 300000, 0, TFTP_ACK, 1, &out); /* its timer: blocks 2-5 never came */
	expect_data_deaf(&out, 2, 4, 0);
	assert_int_equal(mtftp_xfer_stats(x)->deaf_masters, 1);
	mtftp_xfer_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_master_and_listeners),
		cmocka_unit_test(test_bad_input_is_counted),
		cmocka_unit_test(test_master_vanishes),
		cmocka_unit_test(test_promoted_client_already_gone),
		cmocka_unit_test(test_promoted_client_answers_late),
		cmocka_unit_test(test_late_joiner_takes_over_silent_master),
		cmocka_unit_test(test_lost_block_fast_retransmit),
		cmocka_unit_test(test_repair_of_scattered_losses),
		cmocka_unit_test(test_master_deaf_to_the_group),
		cmocka_unit_test(test_listener_keepalive),
		cmocka_unit_test(test_refuses_what_it_cannot_do),
		cmocka_unit_test(test_pxe_open),
		cmocka_unit_test(test_pxe_master_hears_block_1_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
