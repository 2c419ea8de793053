/* Unit tests for crypto/pool.c: every index is visited exactly once in
 * contiguous ranges whatever the thread count, the error reported is that
 * of the lowest failing range whatever the timing, a pool survives many
 * jobs and concurrent callers, and nothing leaks (run under ASan). */
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "crypto/crypto.h"

#define N 1000

struct visit {
	atomic_int seen[N];
	atomic_int calls;
	atomic_int out_of_bounds; /* cmocka's asserts are not for worker threads */
	atomic_size_t shortest, longest;
};

static cr_err visit_range(void *ctx, size_t begin, size_t end)
{
	struct visit *v = ctx;
	size_t len = end - begin;
	if (!(begin < end && end <= N)) {
		atomic_fetch_add(&v->out_of_bounds, 1);
		return CR_ERR_INTERNAL;
	}
	for (size_t i = begin; i < end; i++)
		atomic_fetch_add(&v->seen[i], 1);
	atomic_fetch_add(&v->calls, 1);
	size_t cur = atomic_load(&v->shortest);
	while (len < cur && !atomic_compare_exchange_weak(&v->shortest, &cur, len))
		;
	cur = atomic_load(&v->longest);
	while (len > cur && !atomic_compare_exchange_weak(&v->longest, &cur, len))
		;
	return CR_OK;
}

static void visit_init(struct visit *v)
{
	for (size_t i = 0; i < N; i++)
		atomic_init(&v->seen[i], 0);
	atomic_init(&v->calls, 0);
	atomic_init(&v->out_of_bounds, 0);
	atomic_init(&v->shortest, SIZE_MAX);
	atomic_init(&v->longest, 0);
}

static void check_visits(struct crypto_pool *pool, size_t n, unsigned want_calls)
{
	struct visit *v = calloc(1, sizeof(*v));
	assert_non_null(v);
	visit_init(v);
	assert_int_equal(crypto_pool_run(pool, n, visit_range, v), CR_OK);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(atomic_load(&v->seen[i]), i < n ? 1 : 0);
	assert_int_equal(atomic_load(&v->calls), want_calls);
	assert_int_equal(atomic_load(&v->out_of_bounds), 0);
	if (n > 0)
		assert_true(atomic_load(&v->longest) - atomic_load(&v->shortest) <= 1);
	free(v);
}

static void test_every_index_once(void **state)
{
	(void)state;
	const unsigned counts[] = { 1, 2, 3, 8 };
	for (size_t c = 0; c < 4; c++) {
		struct crypto_pool *pool = NULL;
		assert_int_equal(crypto_pool_create(counts[c], &pool), CR_OK);
		assert_int_equal(crypto_pool_threads(pool), counts[c]);
		check_visits(pool, N, counts[c]);
		check_visits(pool, 997, counts[c]);
		/* fewer items than threads: empty ranges are not called */
		check_visits(pool, 2, counts[c] < 2 ? counts[c] : 2);
		check_visits(pool, 0, 0);
		crypto_pool_free(pool);
	}
	/* a NULL pool runs inline, in one call */
	check_visits(NULL, N, 1);
	assert_int_equal(crypto_pool_threads(NULL), 1);
}

static void test_create_limits(void **state)
{
	(void)state;
	struct crypto_pool *pool = NULL;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	assert_int_equal(crypto_pool_create(0, &pool), CR_OK);
	assert_int_equal(crypto_pool_threads(pool), cores < 1 ? 1 : (unsigned)cores);
	crypto_pool_free(pool);
	pool = NULL;
	assert_int_equal(crypto_pool_create(CRYPTO_POOL_MAX_THREADS + 1, &pool), CR_ERR_INVALID_ARG);
	assert_null(pool);
	crypto_pool_free(NULL);
}

/* Ranges holding index 150 fail with CR_ERR_IO, those holding 350 with
 * CR_ERR_PARSE; the lower one must win every time. */
static cr_err fail_range(void *ctx, size_t begin, size_t end)
{
	(void)ctx;
	if (begin <= 350 && 350 < end) {
		return CR_ERR_PARSE;
	}
	if (begin <= 150 && 150 < end) {
		usleep(200); /* let the other failure come first in time */
		return CR_ERR_IO;
	}
	return CR_OK;
}

static void test_lowest_failing_range_wins(void **state)
{
	(void)state;
	struct crypto_pool *pool = NULL;

	assert_int_equal(crypto_pool_create(4, &pool), CR_OK);
	for (int i = 0; i < 50; i++)
		assert_int_equal(crypto_pool_run(pool, 400, fail_range, NULL), CR_ERR_IO);
	/* the pool is still good after failures */
	check_visits(pool, N, 4);
	crypto_pool_free(pool);
	/* one thread: its one range holds both, and it reports what fn returned */
	assert_int_equal(crypto_pool_create(1, &pool), CR_OK);
	assert_int_equal(crypto_pool_run(pool, 400, fail_range, NULL), CR_ERR_PARSE);
	crypto_pool_free(pool);
	assert_int_equal(crypto_pool_run(NULL, 400, fail_range, NULL), CR_ERR_PARSE);
}

static cr_err sum_range(void *ctx, size_t begin, size_t end)
{
	atomic_ullong *sum = ctx;
	unsigned long long s = 0;
	for (size_t i = begin; i < end; i++)
		s += i;
	atomic_fetch_add(sum, s);
	return CR_OK;
}

static void test_many_jobs(void **state)
{
	(void)state;
	struct crypto_pool *pool = NULL;
	assert_int_equal(crypto_pool_create(3, &pool), CR_OK);
	for (size_t n = 1; n < 2000; n++) {
		atomic_ullong sum;
		atomic_init(&sum, 0);
		assert_int_equal(crypto_pool_run(pool, n, sum_range, &sum), CR_OK);
		assert_int_equal(atomic_load(&sum), (unsigned long long)n * (n - 1) / 2);
	}
	crypto_pool_free(pool);
}

struct caller {
	struct crypto_pool *pool;
	int failures;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	for (size_t n = 1; n < 300; n++) {
		atomic_ullong sum;
		atomic_init(&sum, 0);
		if (crypto_pool_run(c->pool, n * 7, sum_range, &sum) != CR_OK ||
		    atomic_load(&sum) != (unsigned long long)(n * 7) * (n * 7 - 1) / 2)
			c->failures++;
	}
	return NULL;
}

/* Jobs from several threads on one pool take turns. */
static void test_concurrent_callers(void **state)
{
	(void)state;
	struct crypto_pool *pool = NULL;
	pthread_t t[3];
	struct caller c[3];

	assert_int_equal(crypto_pool_create(2, &pool), CR_OK);
	for (int i = 0; i < 3; i++) {
		c[i].pool = pool;
		c[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, caller_main, &c[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(c[i].failures, 0);
	}
	crypto_pool_free(pool);
}

/* Created and freed without ever running a job (no thread left behind). */
static void test_create_free_idle(void **state)
{
	(void)state;
	for (int i = 0; i < 20; i++) {
		struct crypto_pool *pool = NULL;
		assert_int_equal(crypto_pool_create(4, &pool), CR_OK);
		crypto_pool_free(pool);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_index_once),
		cmocka_unit_test(test_create_limits),
		cmocka_unit_test(test_lowest_failing_range_wins),
		cmocka_unit_test(test_many_jobs),
		cmocka_unit_test(test_concurrent_callers),
		cmocka_unit_test(test_create_free_idle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
