/* Unit tests for cleanroom/prefix_set.c: the match session's prefix set
 * finds what it holds and refuses a duplicate, and a partner who chooses
 * elements that share their first 8 bytes (the old slot index) cannot make
 * insertion quadratic (issue 21 item 1): the slots looked at stay a small
 * multiple of the elements. Counted probes, not time. */
#include "test_util.h"
#include "cleanroom/prefix_set.h"

#define N 20000

static void test_set_holds_and_refuses_duplicates(void **state)
{
	(void)state;
	struct prefix_set s;
	uint8_t k[32], zero[32] = { 0 };
	pset_init(&s, 100);
	for (unsigned i = 0; i < 100; i++) {
		memset(k, 0, sizeof(k));
		memcpy(k, &i, sizeof(i));
		k[15] = 1;
		assert_true(pset_add(&s, k));
		assert_false(pset_add(&s, k));
		assert_true(pset_has(&s, k));
	}
	k[15] = 2;
	assert_false(pset_has(&s, k));
	assert_false(pset_has(&s, zero));
	assert_true(pset_add(&s, zero));
	assert_false(pset_add(&s, zero));
	assert_true(pset_has(&s, zero));
	/* Only the first 16 bytes count. */
	k[15] = 1;
	k[20] = 9;
	assert_false(pset_add(&s, k));
	pset_wipe(&s);
}

/* n elements equal in their first 8 bytes, distinct in the next 8. */
static uint64_t probes_for_colliding(size_t n)
{
	struct prefix_set s;
	uint8_t k[32];
	uint64_t probes;
	pset_init(&s, n);
	for (size_t i = 0; i < n; i++) {
		memset(k, 0xab, 8);
		memcpy(k + 8, &i, sizeof(i));
		memset(k + 16, 0, 16);
		assert_true(pset_add(&s, k));
	}
	probes = s.probes;
	pset_wipe(&s);
	return probes;
}

static void test_colliding_elements_cost_linear_probes(void **state)
{
	(void)state;
	uint64_t p = probes_for_colliding(N);
	print_message("%d colliding insertions looked at %llu slots\n", N, (unsigned long long)p);
	/* Load factor at most 1/2: about 1.5 slots per insertion expected;
	 * slotted by the raw first 8 bytes it was N^2/2 = 2e8. */
	assert_true(p < 4u * N);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_holds_and_refuses_duplicates),
		cmocka_unit_test(test_colliding_elements_cost_linear_probes),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
