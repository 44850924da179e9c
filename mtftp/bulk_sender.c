/* Bulk stream sender engine: sans-I/O (packets and a clock in, actions and
 * a deadline out). This half keeps the members, reads their control
 * packets, runs the timers and the rate; what goes out next (the
 * interleaved first pass, repairs, the carousel) is bulk_schedule.c.
 *
 * The rate follows what receivers report (AIMD) under the configured cap:
 * it is cut when the worst loss passes the threshold (loss below it may be
 * the network's, and repairs cover it) or when a receiver's socket
 * overflowed (it cannot take the rate: at a 10% threshold alone, receivers
 * sharing 2 CPUs ran at up to 10% overflow, and every lost packet cost a
 * repair).
 */
#include "mtftp/bulk_sender_private.h"
#include "mtftp/rs.h"

#include <stdlib.h>
#include <string.h>

#define AIMD_INTERVAL_US 100000
#define FETCH_REPEAT_US 500000
#define BURST_PACKETS 64
#define BURST_US 4000

void bulk_sender_defaults(struct bulk_sender_config *c)
{
	memset(c, 0, sizeof(*c));
	c->symbol = BULK_SYMBOL_DEFAULT;
	c->k = BULK_K_DEFAULT;
	c->proactive = 1;
	c->interleave = BULK_INTERLEAVE_DEFAULT;
	c->max_rate = 100u * 1000 * 1000 / 8 * 10; /* 1 Gbit/s */
	c->min_rate = 1u * 1000 * 1000 / 8 * 10;   /* 10 Mbit/s */
	c->min_receivers = 1;
	c->max_wait_us = 10ull * 1000000;
	c->member_timeout_us = 5ull * 1000000;
	c->announce_us = 100000;
	c->loss_threshold_permille = 100;
	c->lag_limit = 4096;
	c->max_members = 1024;
	c->nak_per_second = 200;
}

const char *bulk_member_state_name(uint8_t st)
{
	switch (st) {
	case BULK_M_ACTIVE: return "receiving";
	case BULK_M_DONE: return "done";
	case BULK_M_FETCH: return "fetching";
	case BULK_M_GONE: return "gone";
	}
	return "?";
}

struct bulk_sender *bulk_sender_new(const struct bulk_sender_config *c, uint64_t now_us)
{
	struct bulk_sender *s;

	if (c->k == 0 || c->k > RS_MAX_K || c->symbol < BULK_SYMBOL_MIN ||
	    c->symbol > BULK_SYMBOL_MAX || c->size == 0 || c->max_rate == 0 ||
	    (c->fetch_url && strlen(c->fetch_url) > BULK_URL_MAX))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->c = *c;
	if (s->c.proactive > RS_SYMBOLS - s->c.k)
		s->c.proactive = (uint8_t)(RS_SYMBOLS - s->c.k);
	if (s->c.send_batch > BURST_PACKETS)
		s->c.send_batch = BURST_PACKETS;
	if (s->c.interleave == 0)
		s->c.interleave = 1;
	if (s->c.interleave > BULK_INTERLEAVE_MAX)
		s->c.interleave = BULK_INTERLEAVE_MAX;
	if (s->c.min_rate == 0 || s->c.min_rate > s->c.max_rate)
		s->c.min_rate = s->c.max_rate / 100 + 1;
	s->nslices = bulk_nslices(c->size, c->k, c->symbol);
	s->tag = (uint32_t)c->sha256[0] << 24 | (uint32_t)c->sha256[1] << 16 |
		 (uint32_t)c->sha256[2] << 8 | c->sha256[3];
	s->sl = calloc(s->nslices, sizeof(*s->sl));
	s->queue = calloc(s->nslices, sizeof(*s->queue));
	s->m = calloc(c->max_members ? c->max_members : 1, sizeof(*s->m));
	if (!s->sl || !s->queue || !s->m) {
		bulk_sender_free(s);
		return NULL;
	}
	bulk_sched_init(s);
	s->rate = c->max_rate / 2 > s->c.min_rate ? c->max_rate / 2 : s->c.min_rate;
	s->created = s->tokens_at = s->next_announce = now_us;
	s->next_aimd = now_us + AIMD_INTERVAL_US;
	return s;
}

void bulk_sender_free(struct bulk_sender *s)
{
	if (!s)
		return;
	free(s->sl);
	free(s->queue);
	free(s->m);
	free(s);
}

static struct bulk_action *push(struct bulk_output *out, enum bulk_action_kind kind)
{
	struct bulk_action *a;

	if (out->n >= BULK_ACTIONS_MAX)
		return NULL;
	a = &out->act[out->n++];
	a->kind = kind;
	return a;
}

static void send_ctl(struct bulk_sender *s, struct bulk_output *out, const struct bulk_addr *to,
		     const uint8_t *pkt, size_t len)
{
	struct bulk_action *a = push(out, to ? BULK_ACT_UNICAST : BULK_ACT_GROUP);

	if (!a || len == 0)
		return;
	if (to)
		a->to = *to;
	memcpy(a->pkt, pkt, len);
	a->len = (uint16_t)len;
	s->n.ctl_sent++;
}

static void send_announce(struct bulk_sender *s, struct bulk_output *out)
{
	struct bulk_announce a = {
		.tag = s->tag, .size = s->c.size, .symbol = s->c.symbol, .k = s->c.k,
		.state = (uint8_t)s->state, .nslices = s->nslices,
		.rate_kbps = (uint32_t)(s->rate * 8 / 1000 > UINT32_MAX ? UINT32_MAX : s->rate * 8 / 1000),
		.front = s->front, .members = (uint16_t)(s->nm > 0xffff ? 0xffff : s->nm),
		.interleave = s->c.interleave, .next_seq = s->seq,
	};
	uint8_t pkt[BULK_ANNOUNCE_LEN];

	memcpy(a.sha256, s->c.sha256, 32);
	send_ctl(s, out, NULL, pkt, bulk_build_announce(pkt, sizeof(pkt), s->c.session, &a));
	s->n.announces++;
}

static void send_fetch(struct bulk_sender *s, struct bulk_output *out, struct member *m,
		       uint64_t now)
{
	uint8_t pkt[BULK_HDR + 6 + BULK_URL_MAX];

	send_ctl(s, out, &m->info.addr, pkt,
		 bulk_build_fetch(pkt, sizeof(pkt), s->c.session, m->info.id, s->c.fetch_url));
	m->last_fetch_sent = now;
}

static struct member *member_find(struct bulk_sender *s, uint32_t id)
{
	for (unsigned i = 0; i < s->nm; i++)
		if (s->m[i].info.id == id)
			return &s->m[i];
	return NULL;
}

/* Control from a receiver must come from the address it joined from. */
static struct member *member_check(struct bulk_sender *s, uint32_t id, struct bulk_addr from)
{
	struct member *m = member_find(s, id);

	if (!m || m->info.addr.ip != from.ip || m->info.addr.port != from.port) {
		s->n.nonmember++;
		return NULL;
	}
	return m;
}

static bool past_deadline(const struct bulk_sender *s, uint64_t now)
{
	return s->c.deadline_us && s->started && now >= s->started + s->c.deadline_us;
}

static void tell_fetch(struct bulk_sender *s, struct member *m)
{
	m->info.state = BULK_M_FETCH;
	s->n.fetch_told++;
	m->last_fetch_sent = 0;
}

/* A receiver dropped for its silence that speaks again was only slow (a
 * disk that stalled its writes, a long read-back to verify): it holds the
 * session again, and its DONE still counts. */
static void heard_from(struct bulk_sender *s, struct member *m, uint64_t now)
{
	m->last_heard = now;
	if (m->info.state != BULK_M_GONE)
		return;
	s->n.revived++;
	if (s->state == BULK_SS_FINISHED || past_deadline(s, now))
		tell_fetch(s, m);
	else
		m->info.state = BULK_M_ACTIVE;
}

/* What a receiver receiving reports (NAK or STATUS), for the rate. Loss
 * alone may be the network's and is repaired; a socket that overflowed
 * means a receiver cannot take this rate, and losses would only grow with
 * it. How far it is behind (the DATA sent after `seen`, the last it took
 * in, most of them waiting in its socket) is the earlier sign of that
 * overflow: the receiver learns of its socket's drops only when it has read
 * the queue ahead of them (32 receivers on 2 CPUs: up to a second). seen 0:
 * it has taken in no DATA yet (a late joiner), which says nothing of its
 * queue. */
static void note_report(struct bulk_sender *s, unsigned permille, unsigned overflows,
			uint32_t seen)
{
	uint32_t lag = s->seq - seen;

	if (permille > s->worst_loss)
		s->worst_loss = permille;
	if (overflows > 0) {
		s->overflowed = true;
		s->n.overflow_reports++;
	}
	if (seen == 0 || lag > s->seq)
		return; /* none yet, or a seen_seq from the future */
	if (lag > s->worst_lag)
		s->worst_lag = lag;
	if (lag > s->n.lag_max)
		s->n.lag_max = lag;
}

static void on_hello(struct bulk_sender *s, uint64_t now, struct bulk_addr from,
		     const struct bulk_packet *p, struct bulk_output *out)
{
	uint8_t pkt[BULK_HDR + 4];
	struct member *m;

	if (p->u.hello.tag != s->tag || p->u.hello.receiver == 0) {
		s->n.bad_packets++;
		return;
	}
	m = member_find(s, p->u.hello.receiver);
	if (!m) {
		if (s->nm >= s->c.max_members) {
			s->n.members_full++;
			return;
		}
		m = &s->m[s->nm++];
		memset(m, 0, sizeof(*m));
		m->info.id = p->u.hello.receiver;
		m->info.state = BULK_M_ACTIVE;
		s->n.joins++;
		if (s->state == BULK_SS_FINISHED || past_deadline(s, now))
			tell_fetch(s, m);
	}
	m->info.addr = from;
	heard_from(s, m, now);
	send_ctl(s, out, &from, pkt,
		 bulk_build_id(pkt, sizeof(pkt), BULK_WELCOME, s->c.session, m->info.id));
	if (m->info.state == BULK_M_FETCH)
		send_fetch(s, out, m, now);
}

static void on_nak(struct bulk_sender *s, uint64_t now, struct bulk_member_info *info,
		   struct member *m, const struct bulk_packet *p)
{
	const uint8_t *miss = p->u.nak.missing;

	if (now - m->nak_window_start >= 1000000) {
		m->nak_window_start = now;
		m->nak_in_window = 0;
	}
	if (++m->nak_in_window > s->c.nak_per_second) {
		s->n.nak_ratelimited++;
		return;
	}
	s->n.naks++;
	info->naks++;
	if (info->state != BULK_M_ACTIVE)
		return; /* fetching by HTTP or done: neither repairs nor a say in the rate */
	note_report(s, p->u.nak.loss_permille, p->u.nak.overflows, p->u.nak.seen_seq);
	for (unsigned i = 0; i < p->u.nak.count; i++) {
		uint32_t slice = p->u.nak.base + i;

		if (miss[i] == 0)
			continue;
		if (slice >= s->nslices) {
			s->n.nak_past_end++;
			return;
		}
		bulk_sched_nak(s, slice, miss[i], p->u.nak.seen_seq);
	}
}

void bulk_sender_input(struct bulk_sender *s, uint64_t now, struct bulk_addr from,
		       const uint8_t *buf, size_t len, struct bulk_output *out)
{
	struct bulk_packet p;
	enum bulk_parse_status st = bulk_parse(buf, len, &p);
	struct member *m;
	uint8_t pkt[BULK_HDR + 4];

	out->n = 0;
	if (st != BULK_PARSE_OK) {
		if (st == BULK_PARSE_SHORT || st == BULK_PARSE_LENGTH)
			s->n.truncated++;
		else
			s->n.bad_packets++;
		return;
	}
	if (p.session != s->c.session) {
		s->n.unknown_session++;
		return;
	}
	switch (p.type) {
	case BULK_HELLO:
		on_hello(s, now, from, &p, out);
		return;
	case BULK_NAK:
		if ((m = member_check(s, p.u.nak.receiver, from)) != NULL) {
			heard_from(s, m, now);
			on_nak(s, now, &m->info, m, &p);
		}
		return;
	case BULK_STATUS:
		if ((m = member_check(s, p.u.status.receiver, from)) != NULL) {
			heard_from(s, m, now);
			m->info.slices_done = p.u.status.slices_done > s->nslices ? s->nslices
										  : p.u.status.slices_done;
			m->info.bytes = p.u.status.bytes > s->c.size ? s->c.size : p.u.status.bytes;
			m->info.loss_permille = p.u.status.loss_permille;
			if (m->info.state == BULK_M_ACTIVE)
				note_report(s, p.u.status.loss_permille, p.u.status.overflows,
					    p.u.status.seen_seq);
		}
		return;
	case BULK_DONE:
		if ((m = member_check(s, p.u.done.receiver, from)) != NULL) {
			heard_from(s, m, now);
			if (m->info.state != BULK_M_DONE) {
				m->info.state = BULK_M_DONE;
				m->info.result = p.u.done.result;
				if (p.u.done.result == BULK_RESULT_OK || p.u.done.result == BULK_RESULT_FETCHED) {
					s->n.done_ok++;
					m->info.slices_done = s->nslices;
					m->info.bytes = s->c.size;
				} else {
					s->n.done_failed++;
				}
			}
			send_ctl(s, out, &from, pkt,
				 bulk_build_id(pkt, sizeof(pkt), BULK_DONE_ACK, s->c.session, m->info.id));
		}
		return;
	default:
		s->n.bad_packets++; /* sender-to-receiver types never come back */
		return;
	}
}

static bool has_data(const struct bulk_sender *s)
{
	if (s->state != BULK_SS_RUNNING && s->state != BULK_SS_DRAINING)
		return false;
	return bulk_sched_pending(s);
}

static void update_members(struct bulk_sender *s, uint64_t now, struct bulk_output *out)
{
	for (unsigned i = 0; i < s->nm; i++) {
		struct member *m = &s->m[i];

		if (m->info.state == BULK_M_DONE || m->info.state == BULK_M_GONE)
			continue;
		if (now - m->last_heard >= s->c.member_timeout_us) {
			m->info.state = BULK_M_GONE;
			s->n.timeouts++;
			continue;
		}
		if (m->info.state == BULK_M_ACTIVE && past_deadline(s, now))
			tell_fetch(s, m);
		if (m->info.state == BULK_M_FETCH && out->n < BULK_ACTIONS_MAX / 2 &&
		    (m->last_fetch_sent == 0 || now - m->last_fetch_sent >= FETCH_REPEAT_US))
			send_fetch(s, out, m, now);
	}
}

static bool all_settled(const struct bulk_sender *s)
{
	for (unsigned i = 0; i < s->nm; i++)
		if (s->m[i].info.state == BULK_M_ACTIVE || s->m[i].info.state == BULK_M_FETCH)
			return false;
	return true;
}

static bool any_gone(const struct bulk_sender *s)
{
	for (unsigned i = 0; i < s->nm; i++)
		if (s->m[i].info.state == BULK_M_GONE)
			return true;
	return false;
}

static unsigned active_members(const struct bulk_sender *s)
{
	unsigned n = 0;

	for (unsigned i = 0; i < s->nm; i++)
		n += s->m[i].info.state == BULK_M_ACTIVE;
	return n;
}

void bulk_sender_tick(struct bulk_sender *s, uint64_t now, struct bulk_output *out)
{
	double cost = (double)BULK_DATA_HDR + s->c.symbol + 42, burst;
	/* DATA leaves in runs of send_batch packets (a UDP GSO batch): at a
	 * low rate, sending each packet as soon as the bucket holds it would
	 * cost a wake-up and a syscall per packet. */
	double batch = cost * (s->c.send_batch > 1 ? s->c.send_batch : 1), need = batch;

	out->n = 0;
	update_members(s, now, out);
	if (s->state == BULK_SS_WAITING) {
		unsigned a = active_members(s);

		if ((s->c.min_receivers == 0 || a >= s->c.min_receivers) ||
		    (s->c.max_wait_us && now - s->created >= s->c.max_wait_us && a > 0)) {
			s->state = BULK_SS_RUNNING;
			s->started = now;
			s->tokens_at = now;
			s->next_announce = now;
		}
	}
	if (s->state == BULK_SS_RUNNING && s->front >= s->nslices)
		s->state = BULK_SS_DRAINING;
	if (s->state == BULK_SS_DRAINING && !s->burst_active && s->turn_left == 0 && s->qlen == 0 &&
	    all_settled(s)) {
		/* Receivers dropped for their silence get one more receiver
		 * timeout to come back with their DONE: a disk stalled in
		 * writeback is not a dead machine. */
		if (!s->settled_at)
			s->settled_at = now;
		if (!any_gone(s) || now - s->settled_at >= s->c.member_timeout_us)
			s->state = BULK_SS_FINISHED;
	} else {
		s->settled_at = 0;
	}
	if (now >= s->next_aimd) {
		if (s->worst_loss > s->c.loss_threshold_permille || s->overflowed ||
		    (s->c.lag_limit && s->worst_lag > s->c.lag_limit)) {
			s->rate = s->rate * 7 / 10;
			s->n.rate_decreases++;
		} else {
			s->rate += s->c.max_rate / 20;
		}
		if (s->rate > s->c.max_rate)
			s->rate = s->c.max_rate;
		if (s->rate < s->c.min_rate)
			s->rate = s->c.min_rate;
		s->worst_loss = 0;
		s->worst_lag = 0;
		s->overflowed = false;
		s->next_aimd = now + AIMD_INTERVAL_US;
	}
	if (now >= s->next_announce && s->state != BULK_SS_FINISHED) {
		send_announce(s, out);
		s->next_announce = now + s->c.announce_us;
	}
	s->tokens += (double)s->rate * (double)(now - s->tokens_at) / 1e6;
	s->tokens_at = now;
	/* The bucket holds what the rate allows in BURST_US (at least a batch
	 * of packets): a sleep that overran, as they do on a loaded machine,
	 * is made up with a burst instead of being lost. */
	burst = (double)s->rate * BURST_US / 1e6;
	if (burst < cost * BURST_PACKETS)
		burst = cost * BURST_PACKETS;
	if (s->tokens > burst)
		s->tokens = burst;
	while (s->tokens >= need && out->n < BULK_ACTIONS_MAX && has_data(s)) {
		struct bulk_action *a;
		uint32_t slice;
		uint16_t esi;
		uint8_t burst, flags;

		if (!bulk_sched_next(s, &slice, &esi, &burst, &flags))
			break;
		if (flags & (BULK_F_REPAIR | BULK_F_CAROUSEL))
			bulk_sched_sent(s, slice, s->seq);
		a = push(out, BULK_ACT_DATA);
		a->slice = slice;
		a->esi = esi;
		a->len = (uint16_t)bulk_build_data_hdr(a->pkt, sizeof(a->pkt), s->c.session, s->tag,
						       slice, esi, burst, flags, s->seq++);
		s->tokens -= cost;
		need = cost; /* once started, the run drains the bucket */
		s->n.data_sent++;
		s->n.bytes_sent += s->c.symbol;
	}
	/* Next wake-up: the earliest timer, or when the bucket holds a packet. */
	s->deadline = s->next_aimd;
	if (s->state != BULK_SS_FINISHED && s->next_announce < s->deadline)
		s->deadline = s->next_announce;
	if (has_data(s)) {
		uint64_t wait = s->tokens >= batch ? 0
			: (uint64_t)((batch - s->tokens) * 1e6 / (double)s->rate) + 1;

		if (now + wait < s->deadline)
			s->deadline = now + wait;
	}
	if (s->state == BULK_SS_FINISHED)
		s->deadline = UINT64_MAX;
}

uint64_t bulk_sender_deadline(const struct bulk_sender *s)
{
	return s->deadline;
}

enum bulk_sender_state bulk_sender_state(const struct bulk_sender *s)
{
	return s->state;
}

const struct bulk_sender_counters *bulk_sender_counters(const struct bulk_sender *s)
{
	return &s->n;
}

uint64_t bulk_sender_rate(const struct bulk_sender *s)
{
	return s->rate;
}

unsigned bulk_sender_members(const struct bulk_sender *s)
{
	return s->nm;
}

bool bulk_sender_member(const struct bulk_sender *s, unsigned i, struct bulk_member_info *out)
{
	if (i >= s->nm)
		return false;
	*out = s->m[i].info;
	return true;
}
