/*
 * pool.c: a fixed pool of worker threads for batch crypto (hash-to-group and
 * scalar multiplication over whole lists). It is deliberately simple: one job
 * at a time, split into as many contiguous index ranges as there are
 * threads, thread i always taking range i. Scalar multiplications all cost
 * the same, so a static split loses nothing to a work queue, and the output
 * and the error reported are the same bytes whatever the thread count or
 * timing. Threads sleep on a condition variable between jobs.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "crypto/crypto_internal.h"

struct pool_worker {
	struct crypto_pool *pool; /* borrowed: the pool owns its workers */
	pthread_t tid;
	unsigned index;
	cr_err rc;                /* this worker's result for the current job */
};

struct crypto_pool {
	pthread_mutex_t run_lock; /* one job at a time */
	pthread_mutex_t lock;     /* guards everything below */
	pthread_cond_t job_ready; /* workers wait here for a new generation */
	pthread_cond_t job_done;  /* the caller waits here for pending == 0 */
	uint64_t generation;      /* bumped once per job */
	unsigned pending;         /* workers still busy with the current job */
	bool stopping;
	crypto_pool_fn fn;
	void *ctx;
	size_t n;
	unsigned nthreads;
	struct pool_worker *workers;
};

/* Range i of `parts` contiguous ranges over [0, n): sizes differ by at most
 * one, the first n % parts ranges being the longer ones. */
static void pool_range(size_t n, unsigned parts, unsigned i, size_t *begin, size_t *end)
{
	size_t q = n / parts, r = n % parts;
	*begin = i * q + (i < r ? i : r);
	*end = *begin + q + (i < r ? 1 : 0);
}

static void *pool_worker_main(void *arg)
{
	struct pool_worker *w = arg;
	struct crypto_pool *p = w->pool;
	uint64_t seen = 0;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stopping && p->generation == seen)
			pthread_cond_wait(&p->job_ready, &p->lock);
		if (p->stopping)
			break;
		seen = p->generation;
		crypto_pool_fn fn = p->fn;
		void *ctx = p->ctx;
		size_t begin, end;
		pool_range(p->n, p->nthreads, w->index, &begin, &end);
		pthread_mutex_unlock(&p->lock);

		cr_err rc = begin < end ? fn(ctx, begin, end) : CR_OK;

		pthread_mutex_lock(&p->lock);
		w->rc = rc;
		if (--p->pending == 0)
			pthread_cond_signal(&p->job_done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Stops and joins the first `started` workers and frees the pool. */
static void pool_destroy(struct crypto_pool *p, unsigned started)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->job_ready);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(p->workers[i].tid, NULL);
	pthread_cond_destroy(&p->job_done);
	pthread_cond_destroy(&p->job_ready);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->run_lock);
	free(p->workers);
	free(p);
}

static unsigned online_cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > CRYPTO_POOL_MAX_THREADS ? CRYPTO_POOL_MAX_THREADS : (unsigned)n;
}

cr_err crypto_pool_create(unsigned threads, struct crypto_pool **out)
{
	struct crypto_pool *p;
	unsigned started = 0;

	if (threads > CRYPTO_POOL_MAX_THREADS)
		return CR_ERR_INVALID_ARG;
	if (threads == 0)
		threads = online_cores();
	p = cr_xcalloc(1, sizeof(*p));
	p->workers = cr_xcalloc(threads, sizeof(*p->workers));
	p->nthreads = threads;
	if (pthread_mutex_init(&p->run_lock, NULL) != 0 || pthread_mutex_init(&p->lock, NULL) != 0 ||
	    pthread_cond_init(&p->job_ready, NULL) != 0 || pthread_cond_init(&p->job_done, NULL) != 0)
		cr_die("cannot initialize the worker pool's locks");
	for (; started < threads; started++) {
		struct pool_worker *w = &p->workers[started];
		w->pool = p;
		w->index = started;
		if (pthread_create(&w->tid, NULL, pool_worker_main, w) != 0) {
			pool_destroy(p, started);
			return CR_ERR_POOL;
		}
	}
	*out = p;
	return CR_OK;
}

void crypto_pool_free(struct crypto_pool *pool)
{
	if (pool == NULL)
		return;
	pool_destroy(pool, pool->nthreads);
}

unsigned crypto_pool_threads(const struct crypto_pool *pool)
{
	return pool == NULL ? 1 : pool->nthreads;
}

cr_err crypto_pool_run(struct crypto_pool *pool, size_t n, crypto_pool_fn fn, void *ctx)
{
	cr_err rc = CR_OK;

	if (fn == NULL)
		cr_die("crypto_pool_run: no function");
	if (n == 0)
		return CR_OK;
	if (pool == NULL)
		return fn(ctx, 0, n);

	pthread_mutex_lock(&pool->run_lock);
	pthread_mutex_lock(&pool->lock);
	pool->fn = fn;
	pool->ctx = ctx;
	pool->n = n;
	pool->pending = pool->nthreads;
	pool->generation++;
	pthread_cond_broadcast(&pool->job_ready);
	while (pool->pending > 0)
		pthread_cond_wait(&pool->job_done, &pool->lock);
	/* The lowest failing range, so the answer does not depend on timing. */
	for (unsigned i = 0; i < pool->nthreads && rc == CR_OK; i++)
		rc = pool->workers[i].rc;
	pool->fn = NULL;
	pool->ctx = NULL;
	pthread_mutex_unlock(&pool->lock);
	pthread_mutex_unlock(&pool->run_lock);
	return rc;
}
