/* One TFTP transfer as a state machine over packets and a clock.
 *
 * Block indexes are 64-bit inside the engine; only the wire carries the
 * low 16 bits, so a transfer rolls past 65535 to 0 (as tftp-hpa and
 * dnsmasq do) without ambiguity: an ACK is mapped to the one index inside
 * the window that has those low bits.
 */
#include "dataplane/tftp/tftp.h"

#include <stdlib.h>
#include <string.h>

struct tftp_session {
	bool is_write;
	struct tftp_params p;
	struct tftp_timing t;
	enum tftp_state state;
	enum tftp_end_reason reason;
	uint64_t started_us;
	uint64_t deadline_us;
	uint32_t rto_ms;
	unsigned retries;
	uint64_t bytes;
	uint16_t peer_error;   /* code of an ERROR the client sent */

	uint8_t oack[TFTP_OACK_MAX];
	size_t oack_len;
	bool oack_pending;     /* OACK sent, its ACK 0 / first DATA not seen */

	/* read side */
	uint64_t size;
	uint64_t nblocks;      /* the last block is shorter than blksize */
	uint64_t acked;        /* highest block the client acknowledged */
	uint64_t sent_last;    /* last block of the window in flight */

	/* write side */
	uint64_t received;     /* highest block received in sequence */
	unsigned unacked;      /* blocks since the last ACK we sent */
	uint64_t gap_acked;    /* `received` when we last ACKed a gap */
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void out_reset(struct tftp_output *out)
{
	out->n = 0;
	out->ctl_len = 0;
}

static void out_packet(struct tftp_output *out, const uint8_t *pkt, size_t len)
{
	if (out->ctl_len || out->n == TFTP_ACTIONS_MAX || len > sizeof(out->ctl))
		return; /* one control packet per call is all a session needs */
	memcpy(out->ctl, pkt, len);
	out->ctl_len = len;
	out->act[out->n++] = (struct tftp_action){ .kind = TFTP_ACT_PACKET };
}

static void out_ack(struct tftp_output *out, uint64_t block)
{
	uint8_t pkt[4];

	tftp_build_ack(pkt, sizeof(pkt), (uint16_t)block);
	out_packet(out, pkt, 4);
}

static void out_error(struct tftp_output *out, uint16_t code, const char *msg)
{
	uint8_t pkt[TFTP_ERROR_MAX];
	size_t n = tftp_build_error(pkt, sizeof(pkt), code, msg);

	out_packet(out, pkt, n);
}

/* The next retransmission, or the transfer's time cap when that comes
 * first: a client that trickles ACKs keeps making progress, so the cap
 * must be a timer of its own, not a check on retransmission. */
static void arm_timer(struct tftp_session *s, uint64_t now)
{
	s->deadline_us = now + (uint64_t)s->rto_ms * 1000;
	if (s->t.max_transfer_us && s->state == TFTP_STATE_RUNNING &&
	    s->started_us + s->t.max_transfer_us < s->deadline_us)
		s->deadline_us = s->started_us + s->t.max_transfer_us;
}

static void progress(struct tftp_session *s, uint64_t now)
{
	s->retries = 0;
	s->rto_ms = s->p.timeout_s ? s->p.timeout_s * 1000u : s->t.retransmit_ms;
	arm_timer(s, now);
}

static void finish(struct tftp_session *s, enum tftp_state st, enum tftp_end_reason r)
{
	s->state = st;
	s->reason = r;
	s->deadline_us = UINT64_MAX;
}

struct tftp_session *tftp_session_new(bool is_write, const struct tftp_params *p,
				      uint64_t size, const struct tftp_timing *t)
{
	struct tftp_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->is_write = is_write;
	s->p = *p;
	if (s->p.blksize < TFTP_BLKSIZE_MIN)
		s->p.blksize = TFTP_BLKSIZE_DEFAULT;
	if (s->p.windowsize < 1 || s->p.windowsize > TFTP_WINDOW_MAX)
		s->p.windowsize = 1;
	s->t = *t;
	s->size = size;
	s->nblocks = size / s->p.blksize + 1;
	s->state = TFTP_STATE_RUNNING;
	s->deadline_us = UINT64_MAX;
	s->gap_acked = UINT64_MAX;
	return s;
}

void tftp_session_free(struct tftp_session *s)
{
	free(s);
}

static void send_window(struct tftp_session *s, struct tftp_output *out)
{
	uint64_t first = s->acked + 1;
	uint64_t last = s->acked + s->p.windowsize;

	if (last > s->nblocks)
		last = s->nblocks;
	for (uint64_t b = first; b <= last && out->n < TFTP_ACTIONS_MAX; b++) {
		struct tftp_action *a = &out->act[out->n++];
		uint64_t off = (b - 1) * s->p.blksize;

		a->kind = TFTP_ACT_DATA;
		tftp_build_data_header(a->hdr, (uint16_t)b);
		a->offset = off;
		a->len = (uint32_t)(s->size - off < s->p.blksize ? s->size - off : s->p.blksize);
		a->data = NULL;
	}
	s->sent_last = last;
}

void tftp_session_start(struct tftp_session *s, uint64_t now_us, const uint8_t *oack,
			size_t oack_len, struct tftp_output *out)
{
	out_reset(out);
	s->started_us = now_us;
	progress(s, now_us);
	if (oack_len > 0 && oack_len <= sizeof(s->oack)) {
		memcpy(s->oack, oack, oack_len);
		s->oack_len = oack_len;
		s->oack_pending = true;
		out_packet(out, s->oack, s->oack_len);
	} else if (s->is_write) {
		out_ack(out, 0);
	} else {
		send_window(s, out);
	}
}

static void read_ack(struct tftp_session *s, uint64_t now, uint16_t wire,
		     struct tftp_output *out)
{
	uint64_t idx;

	if (s->oack_pending) {
		if (wire != 0)
			return;
		s->oack_pending = false;
		progress(s, now);
		send_window(s, out);
		return;
	}
	/* The one index >= acked whose low 16 bits are `wire`. */
	idx = s->acked + (uint16_t)(wire - (uint16_t)s->acked);
	if (idx == s->acked || idx > s->sent_last)
		return; /* duplicate or stray: never retransmit on it (RFC 1123) */
	s->acked = idx;
	s->bytes = idx * s->p.blksize < s->size ? idx * s->p.blksize : s->size;
	if (idx == s->nblocks) {
		finish(s, TFTP_STATE_DONE, TFTP_END_OK);
		return;
	}
	/* A short ACK (block lost mid-window, RFC 7440) restarts from there. */
	progress(s, now);
	send_window(s, out);
}

static void write_data(struct tftp_session *s, uint64_t now, uint16_t wire,
		       const uint8_t *data, size_t len, struct tftp_output *out)
{
	uint64_t next = s->received + 1;
	struct tftp_action *a;

	if (s->state == TFTP_STATE_DONE) {
		if (wire == (uint16_t)s->received)
			out_ack(out, s->received); /* our final ACK was lost */
		return;
	}
	if (wire != (uint16_t)next) {
		/* A gap or a duplicate: ACK the last good block, once per
		 * position, so the sender restarts there (RFC 7440). */
		if (s->gap_acked != s->received) {
			s->gap_acked = s->received;
			s->unacked = 0;
			out_ack(out, s->received);
		}
		return;
	}
	if (len > s->p.blksize) {
		tftp_session_abort(s, TFTP_ERR_ILLEGAL_OP, "block larger than blksize", out);
		return;
	}
	s->oack_pending = false;
	a = &out->act[out->n++];
	*a = (struct tftp_action){ .kind = TFTP_ACT_WRITE,
				   .offset = (next - 1) * s->p.blksize,
				   .len = (uint32_t)len, .data = data };
	s->received = next;
	s->bytes += len;
	s->unacked++;
	progress(s, now);
	if (len < s->p.blksize) {
		out_ack(out, next);
		s->state = TFTP_STATE_DONE;
		s->reason = TFTP_END_OK;
		/* Linger one timeout to re-ACK a repeated last block (RFC 1350 dally). */
		arm_timer(s, now);
	} else if (s->unacked >= s->p.windowsize) {
		s->unacked = 0;
		out_ack(out, next);
	}
}

void tftp_session_input(struct tftp_session *s, uint64_t now_us, const uint8_t *pkt,
			size_t len, struct tftp_output *out)
{
	uint16_t op;

	out_reset(out);
	if (s->state == TFTP_STATE_FAILED || len < 4)
		return;
	op = get16(pkt);
	if (op == TFTP_ERROR) {
		if (s->state == TFTP_STATE_RUNNING) {
			s->peer_error = get16(pkt + 2);
			finish(s, TFTP_STATE_FAILED, TFTP_END_PEER_ERROR);
		}
		return;
	}
	if (!s->is_write && op == TFTP_ACK && s->state == TFTP_STATE_RUNNING)
		read_ack(s, now_us, get16(pkt + 2), out);
	else if (s->is_write && op == TFTP_DATA)
		write_data(s, now_us, get16(pkt + 2), pkt + 4, len - 4, out);
	/* Anything else on a transfer port is ignored. */
}

void tftp_session_tick(struct tftp_session *s, uint64_t now_us, struct tftp_output *out)
{
	out_reset(out);
	if (s->state == TFTP_STATE_FAILED || now_us < s->deadline_us)
		return;
	if (s->state == TFTP_STATE_DONE) {
		s->deadline_us = UINT64_MAX; /* dally over */
		return;
	}
	if (s->t.max_transfer_us && now_us - s->started_us >= s->t.max_transfer_us) {
		out_error(out, TFTP_ERR_UNDEFINED, "transfer time limit exceeded");
		finish(s, TFTP_STATE_FAILED, TFTP_END_TOO_LONG);
		return;
	}
	if (s->retries >= s->t.max_retries) {
		finish(s, TFTP_STATE_FAILED, TFTP_END_TIMEOUT);
		return;
	}
	s->retries++;
	s->rto_ms = s->rto_ms * 2 > s->t.retransmit_max_ms ? s->t.retransmit_max_ms : s->rto_ms * 2;
	if (s->rto_ms == 0)
		s->rto_ms = 1;
	arm_timer(s, now_us);
	if (s->oack_pending)
		out_packet(out, s->oack, s->oack_len);
	else if (s->is_write)
		out_ack(out, s->received);
	else
		send_window(s, out);
}

void tftp_session_abort(struct tftp_session *s, uint16_t code, const char *msg,
			struct tftp_output *out)
{
	out_reset(out);
	out_error(out, code, msg);
	finish(s, TFTP_STATE_FAILED, TFTP_END_LOCAL_ERROR);
}

uint64_t tftp_session_deadline(const struct tftp_session *s)
{
	return s->deadline_us;
}

enum tftp_state tftp_session_state(const struct tftp_session *s)
{
	return s->state;
}

enum tftp_end_reason tftp_session_end_reason(const struct tftp_session *s)
{
	return s->reason;
}

bool tftp_session_was_probe(const struct tftp_session *s)
{
	return s->reason == TFTP_END_PEER_ERROR && s->peer_error == TFTP_ERR_OPTION &&
	       s->bytes == 0;
}

uint64_t tftp_session_bytes(const struct tftp_session *s)
{
	return s->bytes;
}

const struct tftp_params *tftp_session_params(const struct tftp_session *s)
{
	return &s->p;
}

const char *tftp_end_reason_name(enum tftp_end_reason r)
{
	switch (r) {
	case TFTP_END_NONE: return "running";
	case TFTP_END_OK: return "ok";
	case TFTP_END_PEER_ERROR: return "client-error";
	case TFTP_END_TIMEOUT: return "timeout";
	case TFTP_END_TOO_LONG: return "time-limit";
	case TFTP_END_LOCAL_ERROR: return "server-error";
	}
	return "unknown";
}
