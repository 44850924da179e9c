/* Whole MTFTP transfers to simulated clients that behave as iPXE does
 * (RFC 2090 tftm://: RRQ until answered, ACK the first gap after every
 * packet as master, silence once complete; PXE MTFTP: listen, open, open
 * again after silence), with random loss of 1-20% each way, a 2 s burst,
 * clients killed, late joiners: every live client ends with every block.
 * One step of the loop is 1 ms of simulated time (the round trip). */
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

static uint16_t block_of(const struct tftp_action *a)
{
	return (uint16_t)(a->hdr[2] << 8 | a->hdr[3]);
}

#define SIM_CLIENTS 12
#define SIM_BLOCKS 300
#define SIM_STEP_US 1000

struct sim_client {
	bool joined, oack, master, done, dead;
	bool deaf;                  /* hears nothing on the group (iPXE's tftm://) */
	bool gave_up;               /* iPXE: ~16 s without any packet */
	uint64_t join_at, die_at;
	uint64_t last_heard, timer;
	unsigned loss_pct;          /* per datagram, each direction */
	uint64_t burst_from, burst_to; /* everything lost in between */
	uint8_t have[SIM_BLOCKS + 1];
	unsigned nhave;
};

struct sim {
	enum mtftp_mode mode;
	struct mtftp_xfer *x;
	uint64_t size, nblocks, now;
	unsigned n;
	struct sim_client c[SIM_CLIENTS];
	/* uplink: packets sent this step, delivered next step */
	struct { unsigned from; uint8_t pkt[4]; } up[4 * SIM_CLIENTS], next_up[4 * SIM_CLIENTS];
	unsigned nup, nnext;
	unsigned seed;
	unsigned restarts;
	uint64_t deaf_masters;      /* over every cycle */
};

static unsigned sim_rand(struct sim *s)
{
	s->seed = s->seed * 1103515245u + 12345u;
	return (s->seed >> 16) & 0x7fff;
}

static bool lost(struct sim *s, struct sim_client *c)
{
	if (s->now >= c->burst_from && s->now < c->burst_to)
		return true;
	return sim_rand(s) % 100 < c->loss_pct;
}

static unsigned first_gap(const struct sim_client *c, uint64_t nblocks)
{
	for (unsigned b = 1; b <= nblocks; b++)
		if (!c->have[b])
			return b - 1;
	return (unsigned)nblocks;
}

static void client_send(struct sim *s, unsigned i, uint16_t op, uint16_t block)
{
	if (s->nnext == sizeof(s->next_up) / sizeof(s->next_up[0]) || lost(s, &s->c[i]))
		return;
	s->next_up[s->nnext].from = i;
	s->next_up[s->nnext].pkt[0] = 0;
	s->next_up[s->nnext].pkt[1] = (uint8_t)op;
	s->next_up[s->nnext].pkt[2] = (uint8_t)(block >> 8);
	s->next_up[s->nnext].pkt[3] = (uint8_t)block;
	s->nnext++;
}

static bool alive(const struct sim_client *c)
{
	return c->joined && !c->done && !c->dead;
}

static void client_ack(struct sim *s, unsigned i)
{
	client_send(s, i, TFTP_ACK, (uint16_t)first_gap(&s->c[i], s->nblocks));
}

static void deliver_data(struct sim *s, unsigned i, uint16_t block, bool unicast)
{
	struct sim_client *c = &s->c[i];

	if (!alive(c) || (c->deaf && !unicast) || lost(s, c))
		return;
	c->last_heard = s->now;
	c->timer = s->now + 500000;
	if (unicast)
		c->master = true; /* PXE: a unicast packet says "you are master" */
	if (block >= 1 && block <= s->nblocks && !c->have[block]) {
		c->have[block] = 1;
		c->nhave++;
	}
	if (c->master)
		client_ack(s, i);
	if (c->nhave == s->nblocks)
		c->done = true; /* iPXE closes its sockets: silence from now on */
}

static void deliver(struct sim *s, const struct mtftp_output *out)
{
	for (unsigned k = 0; k < out->n; k++) {
		const struct net_addr *to = &out->to[k];
		bool group = is_group(to);

		for (unsigned i = 0; i < s->n; i++) {
			struct sim_client *c = &s->c[i];
			struct net_addr a = client(i);

			if (!group && (a.ip != to->ip || a.port != to->port))
				continue;
			if (out->act[k].kind == TFTP_ACT_DATA) {
				/* The payload is the object's: its offset must
				 * match the block number. */
				assert_int_equal(out->act[k].offset,
						 (uint64_t)(block_of(&out->act[k]) - 1) * 512);
				deliver_data(s, i, block_of(&out->act[k]), !group);
				continue;
			}
			if (!alive(c) || lost(s, c))
				continue;
			{
				/* The OACK's last option is multicast (a
				 * keepalive carries it alone). */
				struct net_addr g;
				size_t off = out->ctl_len - 1;

				while (off > 0 && out->ctl[off - 1] != 0)
					off--;
				assert_int_equal(mtftp_parse_multicast((const char *)out->ctl + off,
								       out->ctl_len - off, &g,
								       &c->master), 0);
			}
			c->oack = true;
			c->last_heard = s->now;
			c->timer = s->now + 500000;
			if (c->master)
				client_ack(s, i);
		}
	}
}

/* The transfer ended and a client asks again: the server starts another. */
static void sim_restart(struct sim *s)
{
	struct mtftp_params p = params(s->mode, 512, 8, s->size);

	p.keepalive_ms = 2000;

	s->deaf_masters += mtftp_xfer_stats(s->x)->deaf_masters;
	mtftp_xfer_free(s->x);
	s->x = mtftp_xfer_new(&p, &timing);
	s->restarts++;
}

/* A client's own timer: iPXE resends its RRQ until answered, and a master
 * its ACK; a PXE client opens when it has heard nothing for a while. */
static void client_timer(struct sim *s, unsigned i)
{
	struct sim_client *c = &s->c[i];
	struct net_addr a = client(i);
	struct mtftp_output out;

	if (!c->joined && s->now >= c->join_at) {
		c->joined = true;
		c->last_heard = s->now;
		c->timer = s->now + (s->mode == MTFTP_MODE_PXE ? 1000000 : 0);
	}
	if (c->joined && !c->dead && c->die_at && s->now >= c->die_at)
		c->dead = true;
	if (s->mode == MTFTP_MODE_RFC2090 && c->oack && alive(c) &&
	    s->now - c->last_heard > 15750000) {
		c->gave_up = c->dead = true; /* iPXE's retry timer ran out */
		return;
	}
	if (!alive(c) || s->now < c->timer)
		return;
	c->timer = s->now + 1000000;
	if (s->mode == MTFTP_MODE_RFC2090) {
		if (!c->oack) {
			if (!lost(s, c)) {
				if (mtftp_xfer_finished(s->x))
					sim_restart(s);
				assert_true(mtftp_xfer_join(s->x, s->now, &a, base_oack,
							    sizeof(base_oack), &out));
				deliver(s, &out);
			}
		} else if (c->master) {
			client_ack(s, i);
		}
		return;
	}
	/* PXE: silence for 1 s: open (and forget being master). */
	if (s->now - c->last_heard >= 1000000) {
		c->master = false;
		if (!lost(s, c)) {
			if (mtftp_xfer_finished(s->x))
				sim_restart(s);
			mtftp_xfer_open(s->x, s->now, &a, &out);
			deliver(s, &out);
		}
	} else if (c->master) {
		client_ack(s, i);
	}
}

/* Run until every live client is done; returns the simulated seconds. */
static double sim_run(struct sim *s, double limit_s)
{
	struct mtftp_output out;

	while (s->now < (uint64_t)(limit_s * 1e6)) {
		unsigned pending = 0;

		s->now += SIM_STEP_US;
		memcpy(s->up, s->next_up, s->nnext * sizeof(s->up[0]));
		s->nup = s->nnext;
		s->nnext = 0;
		for (unsigned k = 0; k < s->nup; k++) {
			struct net_addr a = client(s->up[k].from);

			mtftp_xfer_input(s->x, s->now, &a, s->up[k].pkt, 4, &out);
			deliver(s, &out);
		}
		if (s->now >= mtftp_xfer_deadline(s->x)) {
			mtftp_xfer_tick(s->x, s->now, &out);
			deliver(s, &out);
		}
		for (unsigned i = 0; i < s->n; i++) {
			client_timer(s, i);
			pending += !s->c[i].done && !s->c[i].dead;
		}
		if (pending == 0)
			return (double)s->now / 1e6;
	}
	return -1;
}

static void sim_init(struct sim *s, enum mtftp_mode mode, unsigned n, unsigned seed)
{
	struct mtftp_params p;

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->n = n;
	s->seed = seed;
	s->size = 512ull * (SIM_BLOCKS - 1) + 77;
	s->nblocks = SIM_BLOCKS;
	p = params(mode, 512, 8, s->size);
	p.keepalive_ms = 2000;
	s->x = mtftp_xfer_new(&p, &timing);
	for (unsigned i = 0; i < n; i++)
		s->c[i].join_at = 1000;
}

static void sim_expect_complete(struct sim *s, double secs, double limit)
{
	if (getenv("SIM_DEBUG"))
		print_message("sim: %.3f s, restarts %u, blocks sent %llu, promotions %llu\n", secs,
			      s->restarts, (unsigned long long)mtftp_xfer_stats(s->x)->blocks_sent,
			      (unsigned long long)mtftp_xfer_stats(s->x)->promotions);
	if (secs < 0)
		fail_msg("clients not done within %.0f simulated seconds", limit);
	for (unsigned i = 0; i < s->n; i++) {
		if (s->c[i].gave_up)
			fail_msg("client %u gave up (16 s without a packet)", i);
		if (s->c[i].dead)
			continue;
		assert_true(s->c[i].done);
		for (unsigned b = 1; b <= s->nblocks; b++)
			assert_true(s->c[i].have[b]);
	}
	s->deaf_masters += mtftp_xfer_stats(s->x)->deaf_masters;
	mtftp_xfer_free(s->x);
}

static void test_sim_no_loss(void **state)
{
	struct sim s;
	double t;

	(void)state;
	sim_init(&s, MTFTP_MODE_RFC2090, 8, 1);
	t = sim_run(&s, 60);
	/* One pass, then one promotion round of OACKs per finished listener. */
	assert_int_equal(mtftp_xfer_stats(s.x)->blocks_sent, SIM_BLOCKS);
	sim_expect_complete(&s, t, 60);
	assert_true(t < 2.0);
}

static void test_sim_random_loss(void **state)
{
	static const unsigned losses[] = { 1, 5, 10, 20 };

	(void)state;
	for (unsigned l = 0; l < 4; l++) {
		for (unsigned seed = 1; seed <= 5; seed++) {
			struct sim s;
			double t;

			sim_init(&s, MTFTP_MODE_RFC2090, SIM_CLIENTS, seed * 7919 + l);
			for (unsigned i = 0; i < s.n; i++) {
				s.c[i].loss_pct = losses[l];
				s.c[i].join_at = 1000 + (uint64_t)i * 37000; /* staggered */
			}
			s.c[3].join_at = 150000; /* late joiner, mid-transfer */
			s.c[5].die_at = 80000;   /* killed halfway */
			t = sim_run(&s, 600);
			sim_expect_complete(&s, t, 600);
		}
	}
}

static void test_sim_burst_and_vanishing_master(void **state)
{
	struct sim s;
	double t;

	(void)state;
	sim_init(&s, MTFTP_MODE_RFC2090, 8, 42);
	for (unsigned i = 0; i < s.n; i++)
		s.c[i].loss_pct = 2;
	s.c[0].die_at = 50000;                 /* the first master vanishes */
	s.c[2].burst_from = 20000;             /* one listener loses 2 s */
	s.c[2].burst_to = 2020000;
	t = sim_run(&s, 600);
	sim_expect_complete(&s, t, 600);
}

static void test_sim_deaf_clients(void **state)
{
	/* Half the clients are iPXE as it is: deaf to the group. They wait
	 * (kept alive) and get everything by unicast in their turn. */
	struct sim s;
	double t;

	(void)state;
	sim_init(&s, MTFTP_MODE_RFC2090, 8, 4242);
	for (unsigned i = 0; i < s.n; i++) {
		s.c[i].loss_pct = 2;
		s.c[i].deaf = i % 2 == 0;
		s.c[i].join_at = 1000 + (uint64_t)i * 5000;
	}
	t = sim_run(&s, 600);
	sim_expect_complete(&s, t, 600);
}

static void test_sim_pxe_cycles(void **state)
{
	static const unsigned losses[] = { 0, 5, 20 };

	(void)state;
	for (unsigned l = 0; l < 3; l++) {
		struct sim s;
		double t;

		sim_init(&s, MTFTP_MODE_PXE, 8, 99 + l);
		for (unsigned i = 0; i < s.n; i++) {
			s.c[i].loss_pct = losses[l];
			s.c[i].join_at = 1000 + (uint64_t)i * 53000;
		}
		s.c[1].die_at = 400000;
		t = sim_run(&s, 600);
		sim_expect_complete(&s, t, 600);
		/* Every master hears the group: block 1's echo (it comes
		 * twice) is no reason to send the rest by unicast. */
		if (losses[l] == 0)
			assert_int_equal(s.deaf_masters, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_no_loss),
		cmocka_unit_test(test_sim_random_loss),
		cmocka_unit_test(test_sim_burst_and_vanishing_master),
		cmocka_unit_test(test_sim_deaf_clients),
		cmocka_unit_test(test_sim_pxe_cycles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
