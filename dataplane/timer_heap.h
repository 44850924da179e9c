/* A binary min-heap of deadlines for servers with many sessions: the loop
 * asks for the earliest and pops what is due (DESIGN.md: timers in a heap). */
#ifndef PXECAST_DATAPLANE_TIMER_HEAP_H
#define PXECAST_DATAPLANE_TIMER_HEAP_H

#include <stdint.h>

struct timer_node {
	uint64_t deadline;   /* UINT64_MAX: not in the heap */
	unsigned index;
};

struct timer_heap {
	struct timer_node **nodes;
	unsigned n, cap;
};

void timer_heap_init(struct timer_heap *h);
void timer_heap_free(struct timer_heap *h);
/* Insert, move or (deadline UINT64_MAX) remove a node. -1 on ENOMEM. */
int timer_heap_set(struct timer_heap *h, struct timer_node *t, uint64_t deadline);
/* The earliest node, or NULL when empty. */
struct timer_node *timer_heap_peek(const struct timer_heap *h);

#endif
