/* Private state of the bulk receiver engine, shared by its two halves:
 * bulk_receiver.c (the session: ANNOUNCE, HELLO, NAK, STATUS, DONE,
 * timers) and bulk_rx_slices.c (the slices: symbols in, decoded slices
 * out, what is still missing). Not for other modules. */
#ifndef PXECAST_MTFTP_BULK_RECEIVER_PRIVATE_H
#define PXECAST_MTFTP_BULK_RECEIVER_PRIVATE_H

#include "mtftp/bulk.h"
#include "mtftp/rs.h"

struct rx_slice {
	uint8_t *buf;        /* k symbol slots: source esi i lands in slot i */
	uint8_t *rep;        /* repair symbols, rep_cap slots, then their esi */
	uint64_t quiet_until;
	uint8_t nsyms;       /* distinct symbols held: sources + repairs */
	uint8_t nrep, rep_cap;
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
	uint8_t *scratch;            /* k symbols: what rs_decode rebuilds */
	/* Slice buffers (k symbols each) not in use, so a stripe's slices do
	 * not go back to malloc, which would hand out fresh zeroed pages each
	 * stripe once the heap was trimmed; `written` is the one the last
	 * WRITE action points into, recycled at the next input. */
	uint8_t **spare;
	unsigned nspare, spare_max;
	uint8_t *written;
	uint64_t created, last_heard, next_hello, next_nak, next_status, deadline;
	unsigned done_tries;
	uint32_t seq_lo, seq_hi, seq_count;
	/* The last DATA taken in or known lost (an ANNOUNCE tells what was
	 * sent before it): NAKs carry it, so the sender knows which of its
	 * repairs are still on their way here. */
	uint32_t seen_seq;
	bool seen_any;
	uint32_t socket_drops, socket_drops_reported; /* overflows of the socket */
	bool seq_any;
	uint16_t loss_last;          /* permille over the last whole window */
	uint64_t rng;
	char msg[160];
	char url[BULK_URL_MAX + 1];
	struct bulk_receiver_counters n;
};

static inline struct bulk_action *bulk_rx_push(struct bulk_output *out, enum bulk_action_kind kind)
{
	if (out->n >= BULK_ACTIONS_MAX)
		return NULL;
	out->act[out->n].kind = kind;
	return &out->act[out->n++];
}

static inline unsigned bulk_rx_slice_k(const struct bulk_receiver *r, uint32_t s)
{
	return bulk_slice_k(r->obj.size, r->obj.k, r->obj.symbol, s);
}

/* bulk_rx_slices.c: a DATA packet of the session. */
void bulk_rx_data(struct bulk_receiver *r, uint64_t now, const struct bulk_packet *p,
		  struct bulk_output *out);
/* bulk_rx_slices.c: DATA up to `seq` was taken in or lost. */
void bulk_rx_seen(struct bulk_receiver *r, uint32_t seq);
/* bulk_rx_slices.c: every slice buffer back, the spares freed. */
void bulk_rx_release(struct bulk_receiver *r);

#endif
