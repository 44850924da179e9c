/* Bulk stream receiver engine: sans-I/O.
 *
 * Symbols of a slice are held until k distinct ones are in, then the slice
 * is decoded and written in one piece. NAKs go out in random slots (0.5 to
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
#include "mtftp/bulk.h"
#include "mtftp/rs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rx_slice {
	uint8_t *buf;        /* k symbols, then their k esi */
	uint64_t quiet_until;
	uint8_t nsyms;
	uint8_t done;
	uint8_t seen[RS_SYMBOLS / 8];
};

struct bulk_receiver {
	struct bulk_receiver_config c;
	enum bulk_receiver_state state;
	struct bulk_announce obj;
	uint32_t session;
	struct bulk_addr sender;
	bool joined, digest_ok, fetched;
	struct rx_slice *sl;
	uint32_t due;            /* slices below this were sent in full at least once */
	uint32_t first_incomplete, slices_done;
	size_t buffered;
	uint8_t *assembly, *scratch;
	uint64_t created, last_heard, next_hello, next_nak, next_status, deadline;
	unsigned done_tries;
	uint32_t seq_lo, seq_hi, seq_count;
	bool seq_any;
	uint64_t rng;
	char msg[160];
	char url[BULK_URL_MAX + 1];
	struct bulk_receiver_counters n;
};

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
	if (r->sl)
		for (uint32_t i = 0; i < r->obj.nslices; i++)
			free(r->sl[i].buf);
	free(r->sl);
	free(r->assembly);
	free(r->scratch);
	free(r);
}

static struct bulk_action *push(struct bulk_output *out, enum bulk_action_kind kind)
{
	if (out->n >= BULK_ACTIONS_MAX)
		return NULL;
	out->act[out->n].kind = kind;
	return &out->act[out->n++];
}

static void send_ctl(struct bulk_receiver *r, struct bulk_output *out, const uint8_t *pkt,
		     size_t len)
{
	struct bulk_action *a = push(out, BULK_ACT_UNICAST);

	if (!a || len == 0)
		return;
	a->to = r->sender;
	memcpy(a->pkt, pkt, len);
	a->len = (uint16_t)len;
}

static unsigned slice_k(const struct bulk_receiver *r, uint32_t s)
{
	return bulk_slice_k(r->obj.size, r->obj.k, r->obj.symbol, s);
}

static uint16_t loss_permille(const struct bulk_receiver *r)
{
	uint64_t span;

	if (!r->seq_any)
		return 0;
	span = (uint64_t)(uint32_t)(r->seq_hi - r->seq_lo) + 1;
	if (span <= r->seq_count)
		return 0;
	return (uint16_t)((span - r->seq_count) * 1000 / span);
}

/* Loss is measured per report (NAK or STATUS), so the sender sees an
 * overflow within a NAK period; a window restarts only once it spans
 * enough packets for a burst not to look like a collapse. */
#define LOSS_WINDOW_MIN 2048
static void loss_window_next(struct bulk_receiver *r)
{
	if (r->seq_any && (uint32_t)(r->seq_hi - r->seq_lo) >= LOSS_WINDOW_MIN)
		r->seq_any = false;
}

static void send_hello(struct bulk_receiver *r, uint64_t now, struct bulk_output *out)
{
	uint8_t pkt[BULK_HDR + 8];

	send_ctl(r, out, pkt, bulk_build_hello(pkt, sizeof(pkt), r->session, r->c.receiver, r->obj.tag));
	r->n.hellos_sent++;
	r->next_hello = now + r->c.hello_us;
}

static void send_status(struct bulk_receiver *r, uint64_t now, struct bulk_output *out)
{
	uint8_t pkt[BULK_HDR + 18];
	uint64_t bytes = (uint64_t)r->slices_done * r->obj.k * r->obj.symbol;

	if (bytes > r->obj.size)
		bytes = r->obj.size;
	send_ctl(r, out, pkt, bulk_build_status(pkt, sizeof(pkt), r->session, r->c.receiver,
						r->slices_done, bytes, loss_permille(r)));
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
	r->assembly = malloc(slice_bytes);
	r->scratch = malloc(slice_bytes);
	if (!r->sl || !r->assembly || !r->scratch) {
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
	unsigned k = slice_k(r, s), S = r->obj.symbol;
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
	a = push(out, BULK_ACT_WRITE);
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

static void on_data(struct bulk_receiver *r, uint64_t now, const struct bulk_packet *p,
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
	k = slice_k(r, s);
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
		on_data(r, now, &p, out);
		break;
	case BULK_ANNOUNCE:
		if (p.u.ann.tag != r->obj.tag || p.u.ann.size != r->obj.size) {
			r->n.other_session++;
			break;
		}
		if (p.u.ann.front > r->due)
			r->due = p.u.ann.front;
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
		miss[count++] = (uint8_t)(slice_k(r, s) - sl->nsyms);
		sl->quiet_until = now + r->c.nak_holdoff_us;
	}
	if (count == 0)
		return;
	send_ctl(r, out, pkt, bulk_build_nak(pkt, sizeof(pkt), r->session, r->c.receiver,
					     loss_permille(r), base, (uint16_t)count, miss));
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

uint64_t bulk_receiver_deadline(const struct bulk_receiver *r) { return r->deadline; }
enum bulk_receiver_state bulk_receiver_state(const struct bulk_receiver *r) { return r->state; }
const struct bulk_receiver_counters *bulk_receiver_counters(const struct bulk_receiver *r)
{
	return &r->n;
}
uint64_t bulk_receiver_contiguous(const struct bulk_receiver *r)
{
	uint64_t b = (uint64_t)r->first_incomplete * r->obj.k * r->obj.symbol;

	return b > r->obj.size ? r->obj.size : b;
}
const struct bulk_announce *bulk_receiver_object(const struct bulk_receiver *r) { return &r->obj; }
uint32_t bulk_receiver_slices_done(const struct bulk_receiver *r) { return r->slices_done; }
const char *bulk_receiver_message(const struct bulk_receiver *r) { return r->msg; }
const char *bulk_receiver_fetch_url(const struct bulk_receiver *r) { return r->url; }
bool bulk_receiver_digest_ok(const struct bulk_receiver *r) { return r->digest_ok; }
