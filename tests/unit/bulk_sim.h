/* The bulk stream engines in a simulated network, shared by the engine
 * test programs: one sender, many receivers, a fixed one-way delay and a
 * loss model per receiver (random, bursts, a blackout, data-only loss).
 * Header-only on purpose: each test program includes it once. */
#ifndef PXECAST_TEST_BULK_SIM_H
#define PXECAST_TEST_BULK_SIM_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtftp/bulk.h"
#include "mtftp/rs.h"

#define MAXR 128
#define DELAY_US 100
#define SYM 256
#define K 32
#define SENDER_IP 1000

enum loss_kind { LOSS_NONE, LOSS_RANDOM, LOSS_BURST, LOSS_BLACKOUT, LOSS_DATA_ONLY };

struct loss {
	enum loss_kind kind;
	unsigned permille;       /* RANDOM; BURST: chance to enter a burst */
	unsigned burst_ppm;      /* BURST: the same chance per million, if set */
	unsigned burst_len;      /* BURST: packets lost in a row */
	unsigned in_burst;
	uint64_t from_us, to_us; /* BLACKOUT */
};

struct spkt {
	uint64_t at;
	int dst;            /* -1 group, -2 sender, else receiver index */
	struct bulk_addr from;
	uint8_t drop[MAXR]; /* group: which receivers lose it */
	size_t len;
	uint8_t *data;
};

struct sim {
	struct bulk_sender *s;
	struct bulk_sender_config sc;
	struct bulk_receiver *r[MAXR];
	struct bulk_receiver_config rc;
	int nr;
	uint64_t start_at[MAXR];
	bool killed[MAXR];
	uint64_t paused_until[MAXR]; /* stopped (a stalled disk): hears and says nothing */
	struct loss loss[MAXR];
	uint8_t *object, *padded;
	uint64_t size;
	uint8_t *got[MAXR];
	unsigned fetched[MAXR];
	struct spkt *q;
	size_t qhead, qlen, qcap;
	uint64_t now;
	uint64_t rng;
	bool corrupt_digest;
	uint8_t *sent;      /* [slice][esi]: DATA sent (each symbol is encoded once) */
	uint64_t resent;    /* repair symbols for a (slice, esi) sent before */
	uint64_t carousel_encoded; /* carousel symbols that needed encoding */
};

static struct bulk_output out; /* large: not on the stack */

static uint32_t rnd(struct sim *m)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return (uint32_t)m->rng;
}

static bool lost(struct sim *m, int i, bool is_data)
{
	struct loss *l = &m->loss[i];

	switch (l->kind) {
	case LOSS_NONE: return false;
	case LOSS_RANDOM: return rnd(m) % 1000 < l->permille;
	case LOSS_DATA_ONLY: return is_data;
	case LOSS_BLACKOUT: return m->now >= l->from_us && m->now < l->to_us;
	case LOSS_BURST:
		if (l->in_burst) {
			l->in_burst--;
			return true;
		}
		if (l->burst_ppm ? rnd(m) % 1000000 < l->burst_ppm : rnd(m) % 1000 < l->permille) {
			l->in_burst = l->burst_len - 1;
			return true;
		}
		return false;
	}
	return false;
}

static void enqueue(struct sim *m, int dst, struct bulk_addr from, const uint8_t *a, size_t alen,
		    const uint8_t *b, size_t blen, bool is_data)
{
	struct spkt *p;

	if (m->qlen == m->qcap) {
		size_t ncap = m->qcap ? m->qcap * 2 : 1024;
		struct spkt *nq = malloc(ncap * sizeof(*nq));

		for (size_t i = 0; i < m->qlen; i++)
			nq[i] = m->q[(m->qhead + i) % m->qcap];
		free(m->q);
		m->q = nq;
		m->qcap = ncap;
		m->qhead = 0;
	}
	p = &m->q[(m->qhead + m->qlen++) % m->qcap];
	p->at = m->now + DELAY_US;
	p->dst = dst;
	p->from = from;
	p->len = alen + blen;
	p->data = malloc(p->len);
	memcpy(p->data, a, alen);
	if (blen)
		memcpy(p->data + alen, b, blen);
	if (dst == -1)
		for (int i = 0; i < m->nr; i++)
			p->drop[i] = lost(m, i, is_data);
}

static struct bulk_addr raddr(int i)
{
	return (struct bulk_addr){ .ip = (uint32_t)i + 1, .port = 4000 };
}

static void sender_actions(struct sim *m)
{
	static uint8_t payload[SYM];
	struct bulk_addr me = { .ip = SENDER_IP, .port = 5000 };

	for (unsigned i = 0; i < out.n; i++) {
		struct bulk_action *a = &out.act[i];

		if (a->kind == BULK_ACT_GROUP) {
			enqueue(m, -1, me, a->pkt, a->len, NULL, 0, false);
		} else if (a->kind == BULK_ACT_UNICAST) {
			int d = (int)a->to.ip - 1;

			if (d >= 0 && d < m->nr && !lost(m, d, false))
				enqueue(m, d, me, a->pkt, a->len, NULL, 0, false);
		} else if (a->kind == BULK_ACT_DATA) {
			uint8_t *sent = &m->sent[(size_t)a->slice * RS_SYMBOLS + a->esi];
			const uint8_t *slice = m->padded + (size_t)a->slice * K * SYM;
			unsigned k = bulk_slice_k(m->size, K, SYM, a->slice);

			if (a->esi < k) {
				memcpy(payload, slice + (size_t)a->esi * SYM, SYM);
			} else {
				const uint8_t *src[K];

				for (unsigned j = 0; j < k; j++)
					src[j] = slice + (size_t)j * SYM;
				rs_encode(k, SYM, src, a->esi, payload);
			}
			m->resent += *sent && a->esi >= bulk_slice_k(m->size, K, SYM, a->slice);
			m->carousel_encoded += (a->pkt[19] & BULK_F_CAROUSEL) &&
					       a->esi >= bulk_slice_k(m->size, K, SYM, a->slice);
			*sent = 1;
			enqueue(m, -1, me, a->pkt, a->len, payload, SYM, true);
		}
	}
}

static void receiver_actions(struct sim *m, int i);

static void receiver_settle(struct sim *m, int i)
{
	struct bulk_receiver *r = m->r[i];
	uint8_t sha[32];

	if (bulk_receiver_state(r) == BULK_RX_FETCH) {
		uint32_t cur = 0;
		uint64_t off, len;

		while (bulk_receiver_next_missing(r, &cur, &off, &len))
			memcpy(m->got[i] + off, m->object + off, len);
		m->fetched[i]++;
		bulk_receiver_fetched(r);
	}
	if (bulk_receiver_state(r) == BULK_RX_VERIFY) {
		SHA256(m->got[i], m->size, sha);
		bulk_receiver_verified(r, m->now, sha, &out);
		receiver_actions(m, i);
	}
}

static void receiver_actions(struct sim *m, int i)
{
	for (unsigned j = 0; j < out.n; j++) {
		struct bulk_action *a = &out.act[j];

		if (a->kind == BULK_ACT_WRITE) {
			assert_true(a->offset + a->write_len <= m->size);
			memcpy(m->got[i] + a->offset, a->data, a->write_len);
		} else if (a->kind == BULK_ACT_UNICAST) {
			assert_int_equal(a->to.ip, SENDER_IP);
			if (!lost(m, i, false))
				enqueue(m, -2, raddr(i), a->pkt, a->len, NULL, 0, false);
		}
	}
	receiver_settle(m, i);
}

static bool receiver_live(struct sim *m, int i)
{
	if (!m->r[i] || m->killed[i])
		return false;
	enum bulk_receiver_state st = bulk_receiver_state(m->r[i]);
	return st != BULK_RX_DONE && st != BULK_RX_FAILED;
}

/* Live and not stopped: fed packets and ticked. */
static bool receiver_awake(struct sim *m, int i)
{
	return receiver_live(m, i) && m->now >= m->paused_until[i];
}

static void sim_init(struct sim *m, int nr, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->rng = 0x1234567 + (uint64_t)nr * 7919 + size;
	m->nr = nr;
	m->size = size;
	m->object = malloc(size);
	m->padded = calloc(bulk_nslices(size, K, SYM), K * SYM);
	m->sent = calloc(bulk_nslices(size, K, SYM), RS_SYMBOLS);
	for (uint64_t b = 0; b < size; b++)
		m->object[b] = (uint8_t)rnd(m);
	memcpy(m->padded, m->object, size);
	bulk_sender_defaults(&m->sc);
	m->sc.session = 7;
	m->sc.size = size;
	SHA256(m->object, size, m->sc.sha256);
	m->sc.symbol = SYM;
	m->sc.k = K;
	m->sc.max_rate = 4u << 20;
	m->sc.min_rate = 200u << 10;
	m->sc.min_receivers = (unsigned)nr;
	m->sc.max_wait_us = 1000000;
	m->sc.member_timeout_us = 3000000;
	m->sc.announce_us = 50000;
	m->sc.fetch_url = "http://sim/object";
	bulk_receiver_defaults(&m->rc);
	m->rc.hello_us = 50000;
	m->rc.idle_timeout_us = 3000000;
	m->rc.status_us = 200000;
	for (int i = 0; i < nr; i++)
		m->got[i] = calloc(1, size);
}

static void sim_free(struct sim *m)
{
	bulk_sender_free(m->s);
	for (int i = 0; i < m->nr; i++) {
		bulk_receiver_free(m->r[i]);
		free(m->got[i]);
	}
	for (size_t i = 0; i < m->qlen; i++)
		free(m->q[(m->qhead + i) % m->qcap].data);
	free(m->q);
	free(m->object);
	free(m->padded);
	free(m->sent);
}

/* Run until every live receiver ended and the sender finished, or limit. */
static void sim_run(struct sim *m, uint64_t limit_us)
{
	if (!m->s) {
		if (m->corrupt_digest)
			m->sc.sha256[5] ^= 1;
		m->s = bulk_sender_new(&m->sc, 0);
		assert_non_null(m->s);
		bulk_sender_tick(m->s, 0, &out);
		sender_actions(m);
	}
	while (m->now < limit_us) {
		uint64_t t = bulk_sender_deadline(m->s);
		bool any = false;

		if (m->qlen && m->q[m->qhead].at < t)
			t = m->q[m->qhead].at;
		for (int i = 0; i < m->nr; i++) {
			if (!m->r[i] && !m->killed[i] && m->start_at[i] < t)
				t = m->start_at[i];
			if (receiver_live(m, i) && m->paused_until[i] > m->now && m->paused_until[i] < t)
				t = m->paused_until[i];
			else if (receiver_awake(m, i) && bulk_receiver_deadline(m->r[i]) < t)
				t = bulk_receiver_deadline(m->r[i]);
			any |= !m->r[i] || receiver_live(m, i);
		}
		if (!any && bulk_sender_state(m->s) == BULK_SS_FINISHED)
			break;
		if (t > m->now)
			m->now = t;
		for (int i = 0; i < m->nr; i++) {
			if (!m->r[i] && !m->killed[i] && m->start_at[i] <= m->now) {
				m->rc.receiver = (uint32_t)i + 1;
				m->r[i] = bulk_receiver_new(&m->rc, m->now);
			}
		}
		while (m->qlen && m->q[m->qhead].at <= m->now) {
			struct spkt p = m->q[m->qhead];

			m->qhead = (m->qhead + 1) % m->qcap;
			m->qlen--;
			if (p.dst == -2) {
				bulk_sender_input(m->s, m->now, p.from, p.data, p.len, &out);
				sender_actions(m);
			}
			for (int i = 0; i < m->nr; i++) {
				if (!receiver_awake(m, i) || (p.dst != -1 && p.dst != i) ||
				    (p.dst == -1 && p.drop[i]))
					continue;
				bulk_receiver_input(m->r[i], m->now, p.from, p.data, p.len, &out);
				receiver_actions(m, i);
			}
			free(p.data);
		}
		if (bulk_sender_deadline(m->s) <= m->now || m->qlen == 0 ||
		    bulk_sender_state(m->s) != BULK_SS_FINISHED) {
			bulk_sender_tick(m->s, m->now, &out);
			sender_actions(m);
		}
		for (int i = 0; i < m->nr; i++) {
			if (receiver_awake(m, i) && bulk_receiver_deadline(m->r[i]) <= m->now) {
				bulk_receiver_tick(m->r[i], m->now, &out);
				receiver_actions(m, i);
			}
		}
	}
}

static void assert_all_ok(struct sim *m)
{
	for (int i = 0; i < m->nr; i++) {
		if (m->killed[i])
			continue;
		assert_non_null(m->r[i]);
		if (bulk_receiver_state(m->r[i]) != BULK_RX_DONE)
			fail_msg("receiver %d ended in state %d (%s) after %llu us", i,
				 bulk_receiver_state(m->r[i]), bulk_receiver_message(m->r[i]),
				 (unsigned long long)m->now);
		assert_true(bulk_receiver_digest_ok(m->r[i]));
		assert_memory_equal(m->got[i], m->object, m->size);
	}
	assert_int_equal(bulk_sender_state(m->s), BULK_SS_FINISHED);
}

#endif
