/* The timer heap pops deadlines in order through inserts, moves and removals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "dataplane/timer_heap.h"

static void test_order_under_churn(void **state)
{
	enum { N = 500 };
	struct timer_node nodes[N];
	struct timer_heap h;
	uint64_t last = 0;
	unsigned seed = 7, popped = 0, live = 0;

	(void)state;
	timer_heap_init(&h);
	for (int i = 0; i < N; i++) {
		nodes[i].deadline = UINT64_MAX;
		assert_int_equal(timer_heap_set(&h, &nodes[i], 1000 + (uint64_t)(rand_r(&seed) % 100000)), 0);
	}
	/* Move some, remove some. */
	for (int i = 0; i < N; i += 3)
		timer_heap_set(&h, &nodes[i], 1000 + (uint64_t)(rand_r(&seed) % 100000));
	for (int i = 1; i < N; i += 5)
		timer_heap_set(&h, &nodes[i], UINT64_MAX);
	for (int i = 0; i < N; i++)
		live += nodes[i].deadline != UINT64_MAX;
	while (timer_heap_peek(&h)) {
		struct timer_node *t = timer_heap_peek(&h);

		assert_true(t->deadline >= last);
		last = t->deadline;
		timer_heap_set(&h, t, UINT64_MAX);
		assert_int_equal(t->deadline, UINT64_MAX);
		popped++;
	}
	assert_int_equal(popped, live);
	assert_int_equal(live, N - N / 5);
	timer_heap_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_under_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
