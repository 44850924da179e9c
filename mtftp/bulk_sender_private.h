/* Private state of the bulk sender engine, shared by its two halves:
 * bulk_sender.c (members, control packets, timers, rate) and
 * bulk_schedule.c (which symbol goes out next: the interleaved first pass,
 * repairs answering NAKs, the carousel). Not for other modules. */
#ifndef PXECAST_MTFTP_BULK_SENDER_PRIVATE_H
#define PXECAST_MTFTP_BULK_SENDER_PRIVATE_H

#include "mtftp/bulk.h"

/* Repair or carousel symbols of one slice sent with consecutive seqs (a
 * turn, a carousel burst). */
struct repair_run {
	uint32_t seq;
	uint8_t n;
};
#define REPAIR_RUNS 4

struct slice_state {
	struct repair_run run[REPAIR_RUNS]; /* the latest runs, a ring */
	uint8_t run_next;
	uint16_t next_esi;   /* next repair symbol never sent */
	uint8_t want;        /* repair symbols owed, burst not started */
	uint8_t burst_left;  /* symbols of the started repair burst still to send */
	uint8_t last_burst;
	uint8_t queued;
	uint8_t carousel;    /* someone has none of it */
};

struct member {
	struct bulk_member_info info;
	uint64_t last_heard, last_fetch_sent, nak_window_start;
	unsigned nak_in_window;
};

struct bulk_sender {
	struct bulk_sender_config c;
	enum bulk_sender_state state;
	uint32_t tag, nslices;
	struct slice_state *sl;
	uint32_t *queue, qhead, qlen; /* slices owed repairs, served round robin */
	uint32_t turn_slice;          /* the one being served, turn_left more symbols */
	unsigned turn_left;
	/* First pass: slices [front, stripe_end) go out together, symbol
	 * `row` of each before symbol row+1 of any; `pos` is the next one. */
	uint32_t front, stripe_end, pos;
	unsigned row;
	uint32_t carousel_pos, carousel_count;
	bool burst_active;            /* a carousel burst */
	uint32_t burst_slice;
	unsigned burst_left;
	uint8_t burst_size;
	uint32_t seq;
	uint64_t rate;
	double tokens;
	uint64_t tokens_at, created, started, next_announce, next_aimd, deadline;
	uint64_t settled_at;          /* when every receiver was done or gone; 0: not */
	unsigned worst_loss;
	uint32_t worst_lag;            /* this interval, in DATA packets */
	bool overflowed;              /* a receiver's socket overflowed this interval */
	struct member *m;
	unsigned nm;
	struct bulk_sender_counters n;
};

/* bulk_schedule.c */
void bulk_sched_init(struct bulk_sender *s);
/* A receiver lacks `missing` symbols of `slice` (< nslices), having taken
 * in DATA up to seq `seen`. */
void bulk_sched_nak(struct bulk_sender *s, uint32_t slice, unsigned missing, uint32_t seen);
bool bulk_sched_pending(const struct bulk_sender *s);
/* The next symbol to send; false when there is nothing. */
bool bulk_sched_next(struct bulk_sender *s, uint32_t *slice, uint16_t *esi, uint8_t *burst,
		     uint8_t *flags);
/* A repair or carousel symbol of `slice` went out as DATA seq `seq`. */
void bulk_sched_sent(struct bulk_sender *s, uint32_t slice, uint32_t seq);

#endif
