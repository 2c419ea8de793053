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

/*
 * The many-key forms give the one-key forms' answers in order: 1,000
 * random 32-byte elements and the all-zero one, the element at 700
 * repeating the one at 300 (another group) and the one at 501 repeating
 * 500 (the same group of 16): add_many stops at 501, again from 502 it
 * stops at 700, and has_many agrees with pset_has on a set built one key
 * at a time, for every element and for 1,000 absent ones.
 */
static void test_many_key_forms_answer_as_one_key_calls(void **state)
{
	enum { NE = 1000 };
	uint8_t (*e)[32] = calloc(2 * NE, 32), *many = calloc(2 * NE, 1);
	struct prefix_set a, b;
	(void)state;
	assert_non_null(e);
	assert_non_null(many);
	randombytes_buf(e, sizeof(e[0]) * 2 * NE);
	memset(e[10], 0, 32);
	memcpy(e[700], e[300], 32);
	memcpy(e[501], e[500], 32);
	pset_init(&a, NE);
	pset_init(&b, NE);
	assert_int_equal(pset_add_many(&a, e[0], 32, NE), 501);
	assert_int_equal(pset_add_many(&a, e[502], 32, NE - 502) + 502, 700);
	assert_int_equal(pset_add_many(&a, e[701], 32, NE - 701), NE - 701);
	for (size_t i = 0; i < NE; i++)
		(void)pset_add(&b, e[i]);
	pset_has_many(&a, e[0], 32, 2 * NE, many);
	for (size_t i = 0; i < 2 * NE; i++) {
		assert_int_equal(many[i], pset_has(&b, e[i]));
		assert_int_equal(many[i], i < NE);
	}
	pset_wipe(&a);
	pset_wipe(&b);
	free(many);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_holds_and_refuses_duplicates),
		cmocka_unit_test(test_colliding_elements_cost_linear_probes),
		cmocka_unit_test(test_many_key_forms_answer_as_one_key_calls),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
