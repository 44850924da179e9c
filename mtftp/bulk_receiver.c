/* Bulk stream receiver engine, the session (sans-I/O; holding and decoding
 * the slices is bulk_rx_slices.c).
 *
 * NAKs go out in random slots (0.5 to
 * 1.5 times the NAK period, so a hundred receivers do not answer the same
 * loss together) and name, per slice the sender has moved past, how many
 * symbols are still missing. A slice is left out of NAKs for a hold-off
 * after it was NAKed, and after hearing a repair burst at least as large as
 * what it lacks: someone else's NAK already asked for enough.
 *
 * The sender's first pass interleaves `interleave` slices (a stripe): they
 * are all open here at once, and none of them is NAKed before a symbol of
 * the next stripe (or an ANNOUNCE's front) shows the stripe was sent in
 * full. The memory for partial slices is bounded by max_buffer; a session
 * whose stripe alone would not fit is refused when it is announced.
 */
#include "mtftp/bulk_receiver_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bulk_receiver_defaults(struct bulk_receiver_config *c)
{
	memset(c, 0, sizeof(*c));
	c->receiver = 1;
	c->hello_us = 200000;
	c->nak_us = 20000;
	c->nak_holdoff_us = 80000;
	c->status_us = 500000;
	c->idle_timeout_us = 10ull * 1000000;
	c->max_buffer = 256u << 20;
	c->done_retries = 10;
}

static uint64_t rnd(struct bulk_receiver *r)
{
	/* xorshift64*: slot jitter only, nothing secret. */
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * 2685821657736338717ull;
}

static uint64_t jitter(struct bulk_receiver *r, uint64_t period)
{
	return period / 2 + (period ? rnd(r) % period : 0);
}

struct bulk_receiver *bulk_receiver_new(const struct bulk_receiver_config *c, uint64_t now)
{
	struct bulk_receiver *r;

	if (c->receiver == 0)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->c = *c;
	r->rng = c->receiver * 0x9e3779b97f4a7c15ull + 1;
	r->created = r->last_heard = now;
	r->deadline = now + c->idle_timeout_us;
	return r;
}

void bulk_receiver_free(struct bulk_receiver *r)
{
	if (!r)
		return;
	bulk_rx_release(r);
	free(r->sl);
	free(r->scratch);
	free(r);
}

static void send_ctl(struct bulk_receiver *r, struct bulk_output *out, const uint8_t *pkt,
		     size_t len)
{
	struct bulk_action *a = bulk_rx_push(out, BULK_ACT_UNICAST);

	if (!a || len == 0)
		return;
	a->to = r->sender;
	memcpy(a->pkt, pkt, len);
	a->len = (uint16_t)len;
}

/* Loss is measured per report (NAK or STATUS), so the sender sees an
 * overflow within a NAK period; a window restarts only once it spans
 * enough packets for a burst not to look like a collapse. Until the
 * current window spans LOSS_SPAN_MIN packets, the last whole window's
 * figure stands: one lost GSO batch of 16 among 48 packets is not 33%
 * loss, and reporting it so cut the rate, which made each NAK period's
 * window smaller still, until the rate sat at its floor. */
#define LOSS_WINDOW_MIN 2048
#define LOSS_SPAN_MIN 512
static uint16_t loss_permille(const struct bulk_receiver *r)
{
	uint64_t span;

	if (!r->seq_any)
		return r->loss_last;
	span = (uint64_t)(uint32_t)(r->seq_hi - r->seq_lo) + 1;
	if (span < LOSS_SPAN_MIN)
		return r->loss_last;
	if (span <= r->seq_count)
		return 0;
	return (uint16_t)((span - r->seq_count) * 1000 / span);
}

static void loss_window_next(struct bulk_receiver *r)
{
	if (r->seq_any && (uint32_t)(r->seq_hi - r->seq_lo) >= LOSS_WINDOW_MIN) {
		r->loss_last = loss_permille(r);
		r->seq_any = false;
	}
}

static void send_hello(struct bulk_receiver *r, uint64_t now, struct bulk_output *out)
{
	uint8_t pkt[BULK_HDR + 8];

	send_ctl(r, out, pkt, bulk_build_hello(pkt, sizeof(pkt), r->session, r->c.receiver, r->obj.tag));
	r->n.hellos_sent++;
	r->next_hello = now + r->c.hello_us;
}

/* Socket overflows since the last report, and that report made. */
static uint16_t overflows_to_report(struct bulk_receiver *r)
{
	uint32_t n = r->socket_drops - r->socket_drops_reported;

	r->socket_drops_reported = r->socket_drops;
	return (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n);
}

static void send_status(struct bulk_receiver *r, uint64_t now, struct bulk_output *out)
{
	uint8_t pkt[BULK_HDR + 24];
	uint64_t bytes = (uint64_t)r->slices_done * r->obj.k * r->obj.symbol;

	if (bytes > r->obj.size)
		bytes = r->obj.size;
	send_ctl(r, out, pkt, bulk_build_status(pkt, sizeof(pkt), r->session, r->c.receiver,
						r->slices_done, bytes, loss_permille(r),
						overflows_to_report(r), r->seen_seq));
	loss_window_next(r);
	r->next_status = now + r->c.status_us;
}

static void send_done(struct bulk_receiver *r, uint64_t now, struct bulk_output *out)
{
	uint8_t pkt[BULK_HDR + 5];
	uint8_t result = !r->digest_ok ? BULK_RESULT_DIGEST
			 : r->fetched ? BULK_RESULT_FETCHED : BULK_RESULT_OK;

	send_ctl(r, out, pkt, bulk_build_done(pkt, sizeof(pkt), r->session, r->c.receiver, result));
	r->done_tries++;
	r->next_hello = now + r->c.hello_us;
}

static void adopt(struct bulk_receiver *r, uint64_t now, struct bulk_addr from,
		  const struct bulk_packet *p, struct bulk_output *out)
{
	size_t slice_bytes = (size_t)p->u.ann.k * p->u.ann.symbol;
	/* A stripe is open at once, plus at least one slice awaiting repair. */
	uint64_t window = ((uint64_t)p->u.ann.interleave + 1) * (slice_bytes + p->u.ann.k);

	if (window > r->c.max_buffer) {
		snprintf(r->msg, sizeof(r->msg),
			 "the session interleaves %u slices of %zu bytes: %llu bytes, more than "
			 "the %zu this receiver holds", p->u.ann.interleave, slice_bytes,
			 (unsigned long long)window, r->c.max_buffer);
		r->state = BULK_RX_FAILED;
		return;
	}
	r->sl = calloc(p->u.ann.nslices, sizeof(*r->sl));
	r->scratch = malloc(slice_bytes);
	r->spare_max = p->u.ann.interleave + 2u;
	r->spare = calloc(r->spare_max, sizeof(*r->spare));
	if (!r->sl || !r->scratch || !r->spare) {
		snprintf(r->msg, sizeof(r->msg), "out of memory for %u slices", p->u.ann.nslices);
		r->state = BULK_RX_FAILED;
		return;
	}
	r->obj = p->u.ann;
	r->session = p->session;
	r->sender = from;
	r->state = BULK_RX_RECEIVING;
	r->next_nak = now + jitter(r, r->c.nak_us);
	r->next_status = now + r->c.status_us;
	send_hello(r, now, out);
}

static void timers(struct bulk_receiver *r, uint64_t now, struct bulk_output *out);

void bulk_receiver_input(struct bulk_receiver *r, uint64_t now, struct bulk_addr from,
			 const uint8_t *buf, size_t len, struct bulk_output *out)
{
	struct bulk_packet p;
	enum bulk_parse_status st = bulk_parse(buf, len, &p);
	uint32_t me = r->c.receiver;

	out->n = 0;
	r->n.packets++;
	if (st != BULK_PARSE_OK) {
		if (st == BULK_PARSE_SHORT || st == BULK_PARSE_LENGTH)
			r->n.truncated++;
		else
			r->n.bad_packets++;
		return;
	}
	if (r->state == BULK_RX_LISTENING) {
		if (p.type == BULK_ANNOUNCE && (r->c.session == 0 || p.session == r->c.session)) {
			r->last_heard = now;
			adopt(r, now, from, &p, out);
		}
		return;
	}
	if (p.session != r->session) {
		r->n.other_session++;
		return;
	}
	r->last_heard = now;
	switch (p.type) {
	case BULK_DATA:
		bulk_rx_data(r, now, &p, out);
		break;
	case BULK_ANNOUNCE:
		if (p.u.ann.tag != r->obj.tag || p.u.ann.size != r->obj.size) {
			r->n.other_session++;
			break;
		}
		if (p.u.ann.front > r->due)
			r->due = p.u.ann.front;
		if (p.u.ann.next_seq != 0) /* packets arrive in order: the rest were lost */
			bulk_rx_seen(r, p.u.ann.next_seq - 1);
		if (p.u.ann.state == BULK_SS_FINISHED && r->state == BULK_RX_RECEIVING) {
			snprintf(r->msg, sizeof(r->msg), "the sender ended the session");
			r->state = BULK_RX_FETCH;
		}
		break;
	case BULK_WELCOME:
		if (p.u.welcome.receiver == me)
			r->joined = true;
		break;
	case BULK_FETCH:
		if ((p.u.fetch.receiver == me || p.u.fetch.receiver == 0) &&
		    r->state == BULK_RX_RECEIVING) {
			memcpy(r->url, p.u.fetch.url, p.u.fetch.url_len);
			r->url[p.u.fetch.url_len] = '\0';
			snprintf(r->msg, sizeof(r->msg), "the sender asked for an HTTP fetch");
			r->state = BULK_RX_FETCH;
		}
		break;
	case BULK_DONE_ACK:
		if (p.u.done_ack.receiver == me && r->state == BULK_RX_REPORTING)
			r->state = r->digest_ok ? BULK_RX_DONE : BULK_RX_FAILED;
		break;
	default:
		r->n.bad_packets++; /* receiver-to-sender types: another receiver's unicast */
		break;
	}
	timers(r, now, out);
}

static void maybe_nak(struct bulk_receiver *r, uint64_t now, struct bulk_output *out)
{
	uint8_t miss[BULK_NAK_MAX];
	uint8_t pkt[BULK_CTL_MAX];
	uint32_t base = UINT32_MAX, count = 0;

	r->next_nak = now + jitter(r, r->c.nak_us);
	for (uint32_t s = r->first_incomplete; s < r->due && s < r->obj.nslices; s++) {
		struct rx_slice *sl = &r->sl[s];

		if (sl->done || sl->quiet_until > now)
			continue;
		if (base == UINT32_MAX)
			base = s;
		if (s - base >= BULK_NAK_MAX)
			break;
		/* Slices between named ones (complete or quiet) carry 0. */
		while (count < s - base)
			miss[count++] = 0;
		miss[count++] = (uint8_t)(bulk_rx_slice_k(r, s) - sl->nsyms);
		sl->quiet_until = now + r->c.nak_holdoff_us;
	}
	if (count == 0)
		return;
	send_ctl(r, out, pkt, bulk_build_nak(pkt, sizeof(pkt), r->session, r->c.receiver,
					     loss_permille(r), overflows_to_report(r), r->seen_seq, base,
					     (uint16_t)count, miss));
	r->n.naks_sent++;
	loss_window_next(r);
}

static void timers(struct bulk_receiver *r, uint64_t now, struct bulk_output *out)
{
	if (r->state == BULK_RX_LISTENING) {
		if (now - r->created >= r->c.idle_timeout_us) {
			snprintf(r->msg, sizeof(r->msg), "no session announced within %llu s",
				 (unsigned long long)(r->c.idle_timeout_us / 1000000));
			r->state = BULK_RX_FAILED;
		}
		r->deadline = r->created + r->c.idle_timeout_us;
		return;
	}
	if (r->state == BULK_RX_RECEIVING && now - r->last_heard >= r->c.idle_timeout_us) {
		snprintf(r->msg, sizeof(r->msg), "the sender went silent");
		r->state = BULK_RX_FETCH;
	}
	if (r->state == BULK_RX_RECEIVING) {
		if (!r->joined && now >= r->next_hello)
			send_hello(r, now, out);
		if (r->joined && now >= r->next_nak)
			maybe_nak(r, now, out);
	}
	if ((r->state == BULK_RX_RECEIVING || r->state == BULK_RX_FETCH ||
	     r->state == BULK_RX_VERIFY) && r->joined && now >= r->next_status)
		send_status(r, now, out);
	if (r->state == BULK_RX_REPORTING && now >= r->next_hello) {
		if (r->done_tries >= r->c.done_retries)
			r->state = r->digest_ok ? BULK_RX_DONE : BULK_RX_FAILED;
		else
			send_done(r, now, out);
	}
	r->deadline = UINT64_MAX;
	if (r->state == BULK_RX_RECEIVING) {
		r->deadline = r->last_heard + r->c.idle_timeout_us;
		if (!r->joined && r->next_hello < r->deadline)
			r->deadline = r->next_hello;
		if (r->joined && r->next_nak < r->deadline)
			r->deadline = r->next_nak;
	}
	if ((r->state == BULK_RX_RECEIVING || r->state == BULK_RX_FETCH ||
	     r->state == BULK_RX_VERIFY) && r->joined && r->next_status < r->deadline)
		r->deadline = r->next_status;
	if (r->state == BULK_RX_REPORTING)
		r->deadline = r->next_hello;
}

void bulk_receiver_verified(struct bulk_receiver *r, uint64_t now, const uint8_t sha[32],
			    struct bulk_output *out)
{
	out->n = 0;
	if (r->state != BULK_RX_VERIFY)
		return;
	r->digest_ok = memcmp(sha, r->obj.sha256, 32) == 0;
	if (!r->digest_ok)
		snprintf(r->msg, sizeof(r->msg), "SHA-256 of the received object does not match");
	r->state = BULK_RX_REPORTING;
	r->done_tries = 0;
	send_done(r, now, out);
	timers(r, now, out);
}

void bulk_receiver_tick(struct bulk_receiver *r, uint64_t now, struct bulk_output *out)
{
	out->n = 0;
	timers(r, now, out);
}

void bulk_receiver_socket_drops(struct bulk_receiver *r, uint32_t total)
{
	r->socket_drops = total;
}

uint64_t bulk_receiver_deadline(const struct bulk_receiver *r) { return r->deadline; }
enum bulk_receiver_state bulk_receiver_state(const struct bulk_receiver *r) { return r->state; }
const struct bulk_receiver_counters *bulk_receiver_counters(const struct bulk_receiver *r)
{
	return &r->n;
}
const struct bulk_announce *bulk_receiver_object(const struct bulk_receiver *r) { return &r->obj; }
uint32_t bulk_receiver_slices_done(const struct bulk_receiver *r) { return r->slices_done; }
const char *bulk_receiver_message(const struct bulk_receiver *r) { return r->msg; }
const char *bulk_receiver_fetch_url(const struct bulk_receiver *r) { return r->url; }
bool bulk_receiver_digest_ok(const struct bulk_receiver *r) { return r->digest_ok; }
