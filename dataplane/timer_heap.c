#include "dataplane/timer_heap.h"

#include <stdlib.h>

void timer_heap_init(struct timer_heap *h)
{
	h->nodes = NULL;
	h->n = h->cap = 0;
}

void timer_heap_free(struct timer_heap *h)
{
	free(h->nodes);
	timer_heap_init(h);
}

static void place(struct timer_heap *h, unsigned i, struct timer_node *t)
{
	h->nodes[i] = t;
	t->index = i;
}

static void sift_up(struct timer_heap *h, unsigned i)
{
	struct timer_node *t = h->nodes[i];

	while (i > 0 && h->nodes[(i - 1) / 2]->deadline > t->deadline) {
		place(h, i, h->nodes[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	place(h, i, t);
}

static void sift_down(struct timer_heap *h, unsigned i)
{
	struct timer_node *t = h->nodes[i];

	for (;;) {
		unsigned c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->nodes[c + 1]->deadline < h->nodes[c]->deadline)
			c++;
		if (h->nodes[c]->deadline >= t->deadline)
			break;
		place(h, i, h->nodes[c]);
		i = c;
	}
	place(h, i, t);
}

static void remove_at(struct timer_heap *h, unsigned i)
{
	struct timer_node *last = h->nodes[--h->n];

	h->nodes[i]->deadline = UINT64_MAX;
	if (i == h->n)
		return;
	place(h, i, last);
	sift_down(h, i);
	sift_up(h, last->index);
}

int timer_heap_set(struct timer_heap *h, struct timer_node *t, uint64_t deadline)
{
	int in_heap = t->deadline != UINT64_MAX;

	if (deadline == UINT64_MAX) {
		if (in_heap)
			remove_at(h, t->index);
		return 0;
	}
	if (!in_heap) {
		if (h->n == h->cap) {
			unsigned ncap = h->cap ? h->cap * 2 : 64;
			struct timer_node **n = realloc(h->nodes, ncap * sizeof(*n));

			if (!n)
				return -1;
			h->nodes = n;
			h->cap = ncap;
		}
		t->deadline = deadline;
		place(h, h->n++, t);
		sift_up(h, t->index);
		return 0;
	}
	t->deadline = deadline;
	sift_down(h, t->index);
	sift_up(h, t->index);
	return 0;
}

struct timer_node *timer_heap_peek(const struct timer_heap *h)
{
	return h->n ? h->nodes[0] : NULL;
}
