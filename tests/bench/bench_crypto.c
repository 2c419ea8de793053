/*
 * bench_crypto.c: what crypto/'s hot operations cost on this machine, and
 * how they scale on the worker pool (`make bench-crypto`).
 *
 * The group operations here are suite r255-sha512's (libsodium's
 * ristretto255); `make bench-x25519` measures x25519-ell2-sha512's, portable
 * and on eight IFMA lanes.
 *
 * For hash-to-group, scalar multiplication, the HMAC pseudonym and the
 * discrete Laplace sampler it measures the cost per operation on one
 * thread and the throughput on 1 and on N threads (N = online cores), each
 * through crypto_pool_run on a pool of that size, best of three runs (the
 * machine is shared). It closes with the 2-thread / 1-thread speedup of
 * batch scalar multiplication, the operation PSI spends its time in, against
 * the goal of 1.8x. The load average is printed first: on a shared machine
 * another busy process takes a core from the N-thread runs. These are the floors docs/ and the PSI benchmark compare
 * against (docs/architecture.md, "Performance goals").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/crypto.h"

#define REPEATS 3
#define SPEEDUP_GOAL 1.8

struct bench_data {
	uint8_t scalar[CRYPTO_PSI_SCALAR_BYTES];
	uint8_t key[CRYPTO_KEY_BYTES];
	uint8_t *digests;  /* n x 32 */
	uint8_t *elements; /* n x 32, valid group elements */
	uint8_t *out;      /* n x 32 */
	struct crypto_pseudonym *pseudonyms;
	int64_t *noise;
};

/* One operation over [0, n): what a batch runs. */
struct bench_op {
	const char *name;
	size_t n;
	cr_err (*run)(struct crypto_pool *pool, struct bench_data *d, size_t n);
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static cr_err run_hash(struct crypto_pool *pool, struct bench_data *d, size_t n)
{
	return crypto_psi_hash_batch(pool, CRYPTO_PSI_R255, CRYPTO_ID_EMAIL, d->digests, d->out, n);
}

static cr_err run_mul(struct crypto_pool *pool, struct bench_data *d, size_t n)
{
	return crypto_psi_mul_batch(pool, CRYPTO_PSI_R255, d->scalar, d->elements, d->out, n, NULL);
}

static cr_err pseudonym_range(void *ctx, size_t begin, size_t end)
{
	struct bench_data *d = ctx;
	for (size_t i = begin; i < end; i++)
		crypto_pseudonym_with_key(d->key, 1, CRYPTO_ID_EMAIL, d->digests + i * 32,
					  &d->pseudonyms[i]);
	return CR_OK;
}

static cr_err run_pseudonym(struct crypto_pool *pool, struct bench_data *d, size_t n)
{
	return crypto_pool_run(pool, n, pseudonym_range, d);
}

static cr_err noise_range(void *ctx, size_t begin, size_t end)
{
	struct bench_data *d = ctx;
	for (size_t i = begin; i < end; i++) {
		cr_err rc = crypto_noise_discrete_laplace(NULL, 1, 2, &d->noise[i]);
		if (rc != CR_OK)
			return rc;
	}
	return CR_OK;
}

static cr_err run_noise(struct crypto_pool *pool, struct bench_data *d, size_t n)
{
	return crypto_pool_run(pool, n, noise_range, d);
}

/* Best wall time of REPEATS runs of `op` on `pool`, in seconds. */
static double time_op(const struct bench_op *op, struct crypto_pool *pool, struct bench_data *d)
{
	double best = 1e30;
	for (int r = 0; r < REPEATS; r++) {
		double t0 = now_seconds();
		cr_err rc = op->run(pool, d, op->n);
		double t = now_seconds() - t0;
		if (rc != CR_OK) {
			fprintf(stderr, "bench: %s failed: %s\n", op->name, cr_strerror(rc));
			exit(1);
		}
		if (t < best)
			best = t;
	}
	return best;
}

static struct crypto_pool *pool_or_die(unsigned threads)
{
	struct crypto_pool *pool = NULL;
	if (crypto_pool_create(threads, &pool) != CR_OK) {
		fprintf(stderr, "bench: cannot start a pool of %u threads\n", threads);
		exit(1);
	}
	return pool;
}

static struct bench_data *data_make(size_t n)
{
	struct bench_data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		abort();
	d->digests = malloc(n * 32);
	d->elements = malloc(n * 32);
	d->out = malloc(n * 32);
	d->pseudonyms = malloc(n * sizeof(*d->pseudonyms));
	d->noise = malloc(n * sizeof(*d->noise));
	if (!d->digests || !d->elements || !d->out || !d->pseudonyms || !d->noise)
		abort();
	randombytes_buf(d->digests, n * 32);
	randombytes_buf(d->key, sizeof(d->key));
	crypto_psi_scalar_random(d->scalar);
	if (crypto_psi_hash_batch(NULL, CRYPTO_PSI_R255, CRYPTO_ID_EMAIL, d->digests, d->elements, n) != CR_OK)
		abort();
	return d;
}

static void data_free(struct bench_data *d)
{
	free(d->digests);
	free(d->elements);
	free(d->out);
	free(d->pseudonyms);
	free(d->noise);
	sodium_memzero(d->scalar, sizeof(d->scalar));
	sodium_memzero(d->key, sizeof(d->key));
	free(d);
}

int main(void)
{
	const struct bench_op ops[] = {
		{ "hash-to-group", 10000, run_hash },
		{ "scalar multiplication", 4000, run_mul },
		{ "HMAC pseudonym", 100000, run_pseudonym },
		{ "discrete Laplace (eps 1/2)", 20000, run_noise },
	};
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned cores = online < 1 ? 1 : (unsigned)online;
	size_t max_n = 0;
	double t0 = now_seconds();

	if (sodium_init() < 0) {
		fprintf(stderr, "bench: libsodium failed to initialize\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].n > max_n)
			max_n = ops[i].n;
	struct bench_data *d = data_make(max_n);
	struct crypto_pool *one = pool_or_die(1), *all = pool_or_die(cores), *two = pool_or_die(2);

	double load[1] = { -1 };
	if (getloadavg(load, 1) != 1)
		load[0] = -1;
	printf("crypto bench: %u online cores, libsodium %s, N = %u threads, best of %d runs\n",
	       cores, sodium_version_string(), cores, REPEATS);
	/* Other work on the machine takes cores from the N-thread runs. */
	printf("load average (1 min) at start: %.2f\n\n", load[0]);
	printf("%-28s %8s | %12s %12s | %12s %8s\n", "operation", "items", "1 thr us/op",
	       "1 thr ops/s", "N thr ops/s", "speedup");
	printf("%-28s-%8s-+-%12s-%12s-+-%12s-%8s\n", "----------------------------", "--------",
	       "------------", "------------", "------------", "--------");
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		double t1 = time_op(&ops[i], one, d);
		double tn = time_op(&ops[i], all, d);
		printf("%-28s %8zu | %12.2f %12.0f | %12.0f %7.2fx\n", ops[i].name, ops[i].n,
		       t1 / (double)ops[i].n * 1e6, (double)ops[i].n / t1, (double)ops[i].n / tn,
		       t1 / tn);
	}

	/* The PSI hot loop: batch scalar multiplication, 2 threads vs 1. */
	const struct bench_op *mul = &ops[1];
	double t1 = time_op(mul, one, d);
	double t2 = time_op(mul, two, d);
	double speedup = t1 / t2;
	printf("\nbatch scalar multiplication, 2 threads / 1 thread: %.2fx (goal >= %.1fx): %s\n",
	       speedup, SPEEDUP_GOAL,
	       speedup >= SPEEDUP_GOAL ? "met"
	       : cores < 2 ? "not met (fewer than 2 cores)" : "NOT met");
	printf("bench total: %.1f s\n", now_seconds() - t0);

	crypto_pool_free(one);
	crypto_pool_free(two);
	crypto_pool_free(all);
	data_free(d);
	return 0;
}
