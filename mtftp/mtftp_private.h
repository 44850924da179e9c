/* Inside one MTFTP transfer: shared by the engine (mtftp_session.c) and
 * the line of clients (mtftp_line.c). Not public API. */
#ifndef PXECAST_MTFTP_MTFTP_PRIVATE_H
#define PXECAST_MTFTP_MTFTP_PRIVATE_H

#include "mtftp/mtftp.h"

struct client {
	struct net_addr addr;
	uint32_t joined_seq;    /* sends before it joined */
	uint8_t unanswered;     /* promotions it did not answer */
	uint64_t silent_since;  /* the first of those */
	uint8_t oack_len;
	uint8_t oack[MTFTP_OACK_BASE_MAX];
};

struct mtftp_xfer {
	struct mtftp_params p;
	struct tftp_timing t;
	struct mtftp_stats st;
	uint64_t nblocks;       /* the last is shorter than blksize (maybe empty) */
	bool finished;

	struct client *clients;
	unsigned nclients;
	bool has_master;        /* clients[0] is master */
	bool answered;          /* the master ACKed since it became master */
	bool promoted;          /* ... and it became master by promotion */

	uint32_t seq;           /* blocks sent so far */
	uint32_t *sent_seq;     /* per block: `seq` when it was last sent */

	uint64_t acked;         /* the master holds every block up to this one */
	uint64_t next;          /* next block to send */
	bool probing;           /* the master holds blocks ahead: one at a time */
	bool progressed;        /* its ACK advanced since its first one */
	bool deaf;              /* it misses the group: blocks go to it by unicast too */
	bool greet_echo;        /* PXE: block 1 went to it twice, one duplicate ACK is due */
	unsigned dup_acks;
	uint64_t resent_at;     /* `acked` when duplicate ACKs last resent */
	uint32_t rto_ms;
	unsigned retries;
	uint64_t deadline_us;
	uint64_t keepalive_due;  /* next round of listener keepalives */
	unsigned keepalive_at;   /* where the current round got to */
};

static inline bool same(const struct net_addr *a, const struct net_addr *b)
{
	return a->ip == b->ip && a->port == b->port;
}

/* mtftp_session.c */
void mtftp_out_packet(struct mtftp_output *out, const struct net_addr *to, const uint8_t *pkt,
		      size_t len);
/* clients[0] becomes master: timers reset, greeted (OACK mc=1 or block 1). */
void mtftp_start_master(struct mtftp_xfer *x, uint64_t now, bool promoted,
			struct mtftp_output *out);

/* mtftp_line.c */
int mtftp_line_find(const struct mtftp_xfer *x, const struct net_addr *a);
void mtftp_line_remove(struct mtftp_xfer *x, unsigned i);
/* The master is gone (done, or dropped): the next in line, or the end. */
void mtftp_line_next_master(struct mtftp_xfer *x, uint64_t now, struct mtftp_output *out);
/* The master did not answer: back of the line, or dropped. */
void mtftp_line_silent(struct mtftp_xfer *x, uint64_t now, struct mtftp_output *out);
bool mtftp_line_unresponsive(const struct mtftp_xfer *x);
void mtftp_line_keepalive(struct mtftp_xfer *x, uint64_t now, struct mtftp_output *out);

#endif
