/* The line of clients of an RFC 2090 transfer: who is master next, who
 * waits, who is dropped, and keeping the waiting ones alive.
 *
 * Whom to promote: a client that joined after some block was last sent
 * certainly lacks that block, so it goes first; clients for which every
 * block went out since they joined have probably finished (iPXE then
 * closes its socket and never answers), so they come last and are given
 * only a few short tries (MTFTP_PROMOTE_TRIES at a tenth of the
 * retransmission time).
 *
 * A client deaf to the group (iPXE's tftm://, see mtftp_session.c) hears
 * nothing while it waits, and iPXE gives up after about 16 s without a
 * packet: every listener gets an OACK "multicast=,,0" every keepalive_ms
 * (no options but that one: iPXE keeps its blksize and tsize, does not
 * reopen its socket, restarts its retry timer, stays a listener), so it
 * waits for its turn however long the line.
 */
#include "mtftp/mtftp.h"
#include "mtftp/mtftp_private.h"

#include <string.h>

/* Move the first client that certainly lacks a block to the head. */
static void order_for_promotion(struct mtftp_xfer *x)
{
	uint32_t oldest = UINT32_MAX;

	for (uint64_t b = 0; b < x->nblocks; b++)
		if (x->sent_seq[b] < oldest)
			oldest = x->sent_seq[b];
	for (unsigned i = 0; i < x->nclients; i++)
		if (x->clients[i].joined_seq >= oldest) {
			struct client c = x->clients[i];

			memmove(&x->clients[1], &x->clients[0], i * sizeof(c));
			x->clients[0] = c;
			return;
		}
}

void mtftp_line_remove(struct mtftp_xfer *x, unsigned i)
{
	if (i == 0)
		x->has_master = false;
	memmove(&x->clients[i], &x->clients[i + 1], (x->nclients - i - 1) * sizeof(x->clients[0]));
	x->nclients--;
}

/* The master is gone (done, lost, or said ERROR): the next client in line
 * takes over, or the transfer is over. A PXE transfer ends with its
 * master: the listeners open a new cycle themselves. */
void mtftp_line_next_master(struct mtftp_xfer *x, uint64_t now, struct mtftp_output *out)
{
	mtftp_line_remove(x, 0);
	if (x->p.mode == MTFTP_MODE_RFC2090 && x->nclients > 0) {
		x->st.promotions++;
		order_for_promotion(x);
		mtftp_start_master(x, now, true, out);
		return;
	}
	x->finished = true;
	x->deadline_us = UINT64_MAX;
}

/* How long a master is waited for before it is dropped: its retries. A
 * listener that heard nothing for that long has given up as well. */
static uint64_t give_up_us(const struct mtftp_xfer *x)
{
	uint64_t total = 0, rto = x->t.retransmit_ms;

	for (unsigned i = 0; i <= x->t.max_retries; i++) {
		total += rto * 1000;
		rto = rto * 2 > x->t.retransmit_max_ms ? x->t.retransmit_max_ms : rto * 2;
	}
	return total;
}

/* The master goes to the back of the line; the next one is promoted. */
static void rotate(struct mtftp_xfer *x, uint64_t now, struct mtftp_output *out)
{
	struct client c = x->clients[0];

	memmove(&x->clients[0], &x->clients[1], (x->nclients - 1) * sizeof(c));
	x->clients[x->nclients - 1] = c;
	x->st.promotions++;
	order_for_promotion(x);
	mtftp_start_master(x, now, true, out);
}

/* A master that does not answer keeps its place in the transfer, at the
 * back of the line (an OACK or its ACKs may have been lost, or it is out
 * of reach for a while), until it has left MTFTP_PROMOTE_ROUNDS turns
 * unanswered over the time a master is given: then it is dropped. */
void mtftp_line_silent(struct mtftp_xfer *x, uint64_t now, struct mtftp_output *out)
{
	struct client *m = &x->clients[0];

	if (m->unanswered++ == 0)
		m->silent_since = now;
	if (m->unanswered < MTFTP_PROMOTE_ROUNDS || now - m->silent_since < give_up_us(x)) {
		rotate(x, now, out);
		return;
	}
	x->st.masters_lost++;
	mtftp_line_next_master(x, now, out);
}

/* A master that missed a timeout, or a promoted one that has not
 * answered yet (it may have finished and gone), is replaced by a newcomer
 * that is certainly alive and needs the data. */
bool mtftp_line_unresponsive(const struct mtftp_xfer *x)
{
	return !x->has_master || x->retries > 0 || (x->promoted && !x->answered);
}

int mtftp_line_find(const struct mtftp_xfer *x, const struct net_addr *a)
{
	for (unsigned i = 0; i < x->nclients; i++)
		if (same(&x->clients[i].addr, a))
			return (int)i;
	return -1;
}

/* One round of keepalives to the listeners (not the master: mc=0 would
 * demote it), as many as one call carries; the rest right after. */
void mtftp_line_keepalive(struct mtftp_xfer *x, uint64_t now, struct mtftp_output *out)
{
	static const uint8_t pkt[] = { 0, TFTP_OACK, 'm', 'u', 'l', 't', 'i', 'c', 'a', 's', 't',
				       0, ',', ',', '0', 0 };
	unsigned first = x->has_master ? 1 : 0;

	if (!x->keepalive_due || now < x->keepalive_due)
		return;
	if (out->ctl_len) { /* this call already carries another packet */
		x->keepalive_due = now + 1000;
		return;
	}
	if (x->keepalive_at < first)
		x->keepalive_at = first;
	while (x->keepalive_at < x->nclients && out->n < MTFTP_ACTIONS_MAX)
		mtftp_out_packet(out, &x->clients[x->keepalive_at++].addr, pkt, sizeof(pkt));
	if (x->keepalive_at < x->nclients) {
		x->keepalive_due = now + 1000;
	} else {
		x->keepalive_at = 0;
		x->keepalive_due = now + (uint64_t)x->p.keepalive_ms * 1000;
	}
}
