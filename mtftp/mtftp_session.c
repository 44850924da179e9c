/* One multicast transfer as a state machine over requests, packets and a
 * clock (mtftp.h). Clients are kept in arrival order; clients[0] is the
 * master when there is one, so promotion is "drop the head".
 *
 * The master's ACK k means "I hold every block up to k" (iPXE ACKs the
 * first gap of its block bitmap after every block): the window restarts
 * at k + 1, which is also how a promoted client that listened from the
 * middle gets the beginning it missed, and how a PXE master that already
 * holds blocks from an earlier cycle skips them. An ACK that jumps past
 * what was sent shows the master already held blocks ahead (it listened):
 * then one block at a time goes out (its gap) until an ACK shows it lacks
 * what follows, so repairing a listener's scattered losses costs one block
 * each, not a window. A lost block is resent alone after three duplicate
 * ACKs; a timeout resends the window.
 *
 * A master that hears nothing on the group (its first duplicate ACK or
 * our first timeout comes before any progress) gets every block by
 * unicast as well for the rest of its turn. A PXE master is greeted with
 * block 1 twice (unicast and group) and iPXE ACKs every copy it gets, so
 * one duplicate of its first ACK is the group's echo, proof that it hears
 * the group, not that it is deaf.
 *
 * Debian 12's iPXE (1.0.0+git-20190125.36a4c85) is deaf over tftm://
 * (RFC 2090) but not over mtftp:// (PXE MTFTP), on the same NIC, bridge
 * and group traffic (tests/e2e/mtftp_ipxe.sh shows both). The difference
 * is in iPXE, src/net/udp/tftp.c, tftp_process_multicast(): its local
 * `union { struct sockaddr sa; struct sockaddr_in sin; } socket` is never
 * zeroed; only sin_family, sin_addr and sin_port are set before
 * tftp_reopen_mc() -> xfer_open_socket() -> udp_open_common() copies all
 * of it into udp->local. src/net/udp.c, udp_demux() matches a datagram to
 * a connection by memcmp() of the whole sockaddr_tcpip pad (sin_addr and
 * the padding after it) against the destination ipv4_rx() builds from a
 * memset() zero, or against an all-zero pad: stack garbage in the padding
 * matches neither, so every group datagram is dropped as "No UDP
 * connection listening". mtftp:// binds tftp_mtftp_socket, a static
 * (zeroed) sockaddr_in, and hears the group. So tftm:// clients keep the
 * unicast copies; mtftp:// (pxe-file in [mtftp]) is the multicast path.
 * Such a client is deaf as a listener too: mtftp_line.c keeps it alive.
 * Who is master next, who waits and who is dropped is mtftp_line.c's.
 */
#include "mtftp/mtftp.h"
#include "mtftp/mtftp_private.h"

#include <stdlib.h>
#include <string.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void out_reset(struct mtftp_output *out)
{
	out->n = 0;
	out->ctl_len = 0;
}

void mtftp_out_packet(struct mtftp_output *out, const struct net_addr *to, const uint8_t *pkt,
		       size_t len)
{
	if ((out->ctl_len && (out->ctl_len != len || memcmp(out->ctl, pkt, len))) ||
	    out->n == MTFTP_ACTIONS_MAX || len == 0 || len > sizeof(out->ctl))
		return; /* one packet per call (to any number of clients) */
	memcpy(out->ctl, pkt, len);
	out->ctl_len = len;
	out->to[out->n] = *to;
	out->act[out->n++] = (struct tftp_action){ .kind = TFTP_ACT_PACKET };
}

static void out_block(struct mtftp_xfer *x, struct mtftp_output *out, const struct net_addr *to,
		      uint64_t block)
{
	struct tftp_action *a;
	uint64_t off = (block - 1) * x->p.blksize;

	if (out->n == MTFTP_ACTIONS_MAX)
		return;
	a = &out->act[out->n];
	out->to[out->n++] = *to;
	a->kind = TFTP_ACT_DATA;
	tftp_build_data_header(a->hdr, (uint16_t)block);
	a->offset = off;
	a->len = (uint32_t)(x->p.size - off < x->p.blksize ? x->p.size - off : x->p.blksize);
	a->data = NULL;
	x->sent_seq[block - 1] = ++x->seq;
	x->st.blocks_sent++;
	x->st.bytes_sent += a->len;
}

static void arm(struct mtftp_xfer *x, uint64_t now)
{
	x->deadline_us = now + (uint64_t)x->rto_ms * 1000;
}

static void fresh_timer(struct mtftp_xfer *x, uint64_t now)
{
	x->retries = 0;
	x->rto_ms = x->t.retransmit_ms ? x->t.retransmit_ms : 1;
	arm(x, now);
}

/* Blocks next.. up to acked + window (acked + 1 while probing), to the
 * group. */
static void send_window(struct mtftp_xfer *x, struct mtftp_output *out)
{
	uint64_t last = x->acked + (x->probing ? 1 : x->p.window);

	if (last > x->nblocks)
		last = x->nblocks;
	while (x->next <= last && out->n + 2 <= MTFTP_ACTIONS_MAX) {
		out_block(x, out, &x->p.group, x->next);
		if (x->deaf)
			out_block(x, out, &x->clients[0].addr, x->next);
		x->next++;
	}
}

/* No progress since the first ACK although blocks went out: this master
 * does not hear the group. From now on it gets them by unicast too. */
static void master_deaf(struct mtftp_xfer *x)
{
	if (x->progressed || x->deaf)
		return;
	x->deaf = true;
	x->st.deaf_masters++;
	x->st.retransmits += x->next - (x->acked + 1);
	x->next = x->acked + 1;
}

/* What a new master is sent: its OACK with mc=1 (RFC 2090), or block 1
 * by unicast and to the group (PXE). */
static void greet_master(struct mtftp_xfer *x, struct mtftp_output *out)
{
	struct client *m = &x->clients[0];

	if (x->p.mode == MTFTP_MODE_PXE) {
		out_block(x, out, &m->addr, 1);
		out_block(x, out, &x->p.group, 1);
		x->greet_echo = true;
	} else {
		uint8_t pkt[TFTP_OACK_MAX];
		size_t n = mtftp_build_oack(pkt, sizeof(pkt), m->oack, m->oack_len, &x->p.group,
					    true);

		mtftp_out_packet(out, &m->addr, pkt, n);
	}
}

void mtftp_start_master(struct mtftp_xfer *x, uint64_t now, bool promoted,
			 struct mtftp_output *out)
{
	x->has_master = true;
	x->answered = false;
	x->promoted = promoted;
	x->probing = false;
	x->progressed = false;
	x->deaf = false;
	x->greet_echo = false;
	if (x->p.mode == MTFTP_MODE_RFC2090)
		x->next = 1; /* nothing sent to this master yet */
	x->dup_acks = 0;
	x->resent_at = UINT64_MAX;
	fresh_timer(x, now);
	if (promoted) {
		x->rto_ms = x->t.retransmit_ms / 10 ? x->t.retransmit_ms / 10 : 1;
		arm(x, now);
	}
	greet_master(x, out);
}








struct mtftp_xfer *mtftp_xfer_new(const struct mtftp_params *p, const struct tftp_timing *t)
{
	struct mtftp_xfer *x;
	uint64_t nblocks;

	if (p->blksize < TFTP_BLKSIZE_MIN)
		return NULL;
	nblocks = p->size / p->blksize + 1;
	if (nblocks > MTFTP_MAX_BLOCKS)
		return NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->p = *p;
	if (x->p.window < 1 || x->p.window > MTFTP_WINDOW_MAX)
		x->p.window = 1;
	if (x->p.mode == MTFTP_MODE_PXE || x->p.max_clients < 1)
		x->p.max_clients = 1; /* PXE: only the master is known */
	x->clients = calloc(x->p.max_clients, sizeof(x->clients[0]));
	x->sent_seq = calloc(nblocks, sizeof(x->sent_seq[0]));
	if (!x->clients || !x->sent_seq) {
		mtftp_xfer_free(x);
		return NULL;
	}
	x->t = *t;
	x->nblocks = nblocks;
	x->deadline_us = UINT64_MAX;
	return x;
}

void mtftp_xfer_free(struct mtftp_xfer *x)
{
	if (!x)
		return;
	free(x->clients);
	free(x->sent_seq);
	free(x);
}


bool mtftp_xfer_join(struct mtftp_xfer *x, uint64_t now_us, const struct net_addr *client,
		     const uint8_t *oack, size_t oack_len, struct mtftp_output *out)
{
	struct client c = { .addr = *client };
	uint8_t pkt[TFTP_OACK_MAX];
	int i;

	out_reset(out);
	if (x->p.mode != MTFTP_MODE_RFC2090 || x->finished || oack_len < 2 ||
	    oack_len > sizeof(c.oack))
		return false;
	i = mtftp_line_find(x, client);
	if (i >= 0) {
		/* A repeated RRQ: its OACK was lost; say the same again. */
		struct client *e = &x->clients[i];

		mtftp_out_packet(out, client, pkt,
			   mtftp_build_oack(pkt, sizeof(pkt), e->oack, e->oack_len, &x->p.group,
					    i == 0 && x->has_master));
		return true;
	}
	if (x->nclients == x->p.max_clients)
		return false;
	memcpy(c.oack, oack, oack_len);
	c.oack_len = (uint8_t)oack_len;
	c.joined_seq = x->seq;
	if (mtftp_line_unresponsive(x)) {
		/* Ahead of everyone: a silent master goes back in line. */
		memmove(&x->clients[1], &x->clients[0], x->nclients * sizeof(c));
		x->clients[0] = c;
		x->nclients++;
		mtftp_start_master(x, now_us, false, out);
		return true;
	}
	x->clients[x->nclients++] = c;
	if (x->p.keepalive_ms && x->keepalive_due == 0)
		x->keepalive_due = now_us + (uint64_t)x->p.keepalive_ms * 1000;
	mtftp_out_packet(out, client, pkt,
		   mtftp_build_oack(pkt, sizeof(pkt), c.oack, c.oack_len, &x->p.group, false));
	return true;
}

bool mtftp_xfer_open(struct mtftp_xfer *x, uint64_t now_us, const struct net_addr *client,
		     struct mtftp_output *out)
{
	out_reset(out);
	if (x->p.mode != MTFTP_MODE_PXE || x->finished)
		return false;
	if (x->has_master && !(same(&x->clients[0].addr, client) && !x->answered) &&
	    !mtftp_line_unresponsive(x)) {
		x->st.opens_ignored++;
		return false;
	}
	x->clients[0].addr = *client;
	x->nclients = 1;
	x->next = 2;
	x->acked = 0;
	mtftp_start_master(x, now_us, false, out);
	return true;
}

static void master_ack(struct mtftp_xfer *x, uint64_t now, uint64_t k, struct mtftp_output *out)
{
	bool first = !x->answered;

	x->clients[0].unanswered = 0;
	if (k == x->nblocks) {
		x->st.masters_done++;
		mtftp_line_next_master(x, now, out);
		return;
	}
	if (!first && k < x->acked)
		return; /* reordered, older than what we know */
	x->answered = true;
	if (first || k > x->acked) {
		/* Only progress restarts the timer: a master repeating its
		 * ACK on its own timer must not hold off our retransmission. */
		fresh_timer(x, now);
		x->progressed |= !first;
		x->probing = k >= x->next;
		x->acked = k;
		x->dup_acks = 0;
		if (first || x->next <= k)
			x->next = k + 1;
	} else if (k == x->acked && x->greet_echo && !x->progressed) {
		x->greet_echo = false; /* block 1's second copy: it hears the group */
	} else if (x->next > k + 1 && !x->progressed && !x->deaf) {
		master_deaf(x);
	} else if (x->next > k + 1 &&
		   ++x->dup_acks >= (x->probing ? 1 : MTFTP_FAST_RETRANSMIT) &&
		   x->resent_at != k) {
		/* Block k + 1 was lost on the way to the master: send it
		 * again, once, not on every duplicate. While probing it was
		 * alone in flight: the master repeating its ACK (on its own
		 * timer) already says so. */
		x->resent_at = k;
		x->st.retransmits++;
		out_block(x, out, &x->p.group, k + 1);
		if (x->deaf)
			out_block(x, out, &x->clients[0].addr, k + 1);
	}
	send_window(x, out);
}

void mtftp_xfer_input(struct mtftp_xfer *x, uint64_t now_us, const struct net_addr *from,
		      const uint8_t *pkt, size_t len, struct mtftp_output *out)
{
	uint16_t op;
	int i;

	out_reset(out);
	if (len < 4) {
		x->st.dropped_malformed++;
		return;
	}
	op = get16(pkt);
	if (op != TFTP_ACK && op != TFTP_ERROR) {
		x->st.dropped_malformed++;
		return;
	}
	i = mtftp_line_find(x, from);
	if (i < 0 || x->finished) {
		x->st.dropped_not_member++;
		return;
	}
	if (op == TFTP_ERROR) {
		if (i == 0 && x->has_master) {
			x->st.masters_lost++;
			mtftp_line_next_master(x, now_us, out);
		} else {
			mtftp_line_remove(x, (unsigned)i);
		}
		return;
	}
	if (i != 0 || !x->has_master) {
		x->st.dropped_not_master++;
		return;
	}
	if (get16(pkt + 2) > x->nblocks) {
		x->st.dropped_past_end++;
		return;
	}
	master_ack(x, now_us, get16(pkt + 2), out);
}

static void master_tick(struct mtftp_xfer *x, uint64_t now_us, struct mtftp_output *out)
{
	x->retries++;
	if (!x->answered) {
		/* A client promoted after it already finished (iPXE closes its
		 * socket then) never answers: move on quickly. */
		if (x->retries >= MTFTP_PROMOTE_TRIES) {
			mtftp_line_silent(x, now_us, out);
			return;
		}
		if (!x->promoted) /* a joined master: the usual backoff */
			x->rto_ms = x->rto_ms * 2 > x->t.retransmit_max_ms ? x->t.retransmit_max_ms
									   : x->rto_ms * 2;
		arm(x, now_us);
		greet_master(x, out);
		return;
	}
	if (x->retries > x->t.max_retries || (x->next > x->nblocks && x->nclients > 1)) {
		/* Silent through its retries, or silent once the last block
		 * went out (it most likely finished and its final ACK was
		 * lost; others wait): its turn ends, its place in line not. */
		mtftp_line_silent(x, now_us, out);
		return;
	}
	x->rto_ms = x->rto_ms * 2 > x->t.retransmit_max_ms ? x->t.retransmit_max_ms : x->rto_ms * 2;
	if (x->rto_ms == 0)
		x->rto_ms = 1;
	arm(x, now_us);
	if (x->next > x->acked + 1 && !x->progressed)
		master_deaf(x);
	x->st.retransmits += x->next > x->acked + 1 ? x->next - (x->acked + 1) : 0;
	x->next = x->acked + 1;
	send_window(x, out);
}


void mtftp_xfer_tick(struct mtftp_xfer *x, uint64_t now_us, struct mtftp_output *out)
{
	out_reset(out);
	if (x->finished)
		return;
	if (x->has_master && now_us >= x->deadline_us)
		master_tick(x, now_us, out);
	if (!x->finished && x->p.mode == MTFTP_MODE_RFC2090 && x->p.keepalive_ms)
		mtftp_line_keepalive(x, now_us, out);
}

uint64_t mtftp_xfer_deadline(const struct mtftp_xfer *x)
{
	uint64_t d = x->has_master ? x->deadline_us : UINT64_MAX;

	if (x->finished)
		return UINT64_MAX;
	if (x->keepalive_due && x->nclients > (x->has_master ? 1u : 0u) && x->keepalive_due < d)
		d = x->keepalive_due;
	return d;
}

bool mtftp_xfer_finished(const struct mtftp_xfer *x)
{
	return x->finished;
}

unsigned mtftp_xfer_clients(const struct mtftp_xfer *x)
{
	return x->nclients;
}

const struct net_addr *mtftp_xfer_master(const struct mtftp_xfer *x)
{
	return x->has_master ? &x->clients[0].addr : NULL;
}

const struct mtftp_stats *mtftp_xfer_stats(const struct mtftp_xfer *x)
{
	return &x->st;
}

const struct mtftp_params *mtftp_xfer_params(const struct mtftp_xfer *x)
{
	return &x->p;
}
