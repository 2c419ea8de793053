/*
 * bench_x25519.c: what one checked multiplication of suite
 * x25519-ell2-sha512 (docs/spec/psi-protocol.md section 2b, issue 22)
 * costs on one thread (`make bench-x25519`): the portable code, the
 * eight-lane AVX-512 IFMA code (where the CPU has it) and, for scale,
 * libsodium's crypto_scalarmult_ristretto255 (suite r255-sha512's
 * operation) and OpenSSL's P-256 (the peer's, tests/bench/p256_peer.h), all in one run; then the suite's hash to the group, the
 * portable crypto_x25519_hash_to_group one element at a time against
 * crypto_x25519_hash_many with its field part on the IFMA lanes.
 * Microseconds of the thread's CPU time per multiplication (or hash), best
 * of REPEATS runs: the machine is shared, and wall
 * time would count the other processes' turns. Last, the same batches on the
 * worker pool, 1 thread against every core, in wall time. The goal of issue 22 is about
 * 5 us per multiplication per core (a 1M x 1M match in 20 s on 2 cores).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "crypto/crypto_internal.h"
#include "p256_peer.h"

#define REPEATS 5
#define N 2048

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double best_us(int backend, const uint8_t s[32], const uint8_t *in, uint8_t *out, size_t n)
{
	double best = 1e30;

	for (int r = 0; r < REPEATS; r++) {
		double t0 = now_seconds();

		if (crypto_x25519_mul_many_impl(backend, s, in, out, n, NULL) != CR_OK) {
			fprintf(stderr, "bench-x25519: a multiplication was refused\n");
			exit(1);
		}
		double us = (now_seconds() - t0) * 1e6 / (double)n;
		if (us < best)
			best = us;
	}
	return best;
}

static double best_hash_us(int backend, const uint8_t *digests, uint8_t *out, size_t n)
{
	double best = 1e30;

	for (int r = 0; r < REPEATS; r++) {
		double t0 = now_seconds();

		if (crypto_x25519_hash_many_impl(backend, CRYPTO_ID_EMAIL, digests, out, n) != CR_OK) {
			fprintf(stderr, "bench-x25519: a hash was refused\n");
			exit(1);
		}
		double us = (now_seconds() - t0) * 1e6 / (double)n;
		if (us < best)
			best = us;
	}
	return best;
}

static void bench_hash(const uint8_t *digests, uint8_t *out)
{
	double port, ifma;

	port = best_hash_us(CRYPTO_X25519_PORTABLE, digests, out, N / 4);
	printf("hash portable:    %8.2f us per hash to the group (one at a time, 1 thread, best of %d)\n",
	       port, REPEATS);
	if (!crypto_x25519_ifma_available()) {
		printf("hash ifma:        not measured (this CPU has no AVX-512 IFMA)\n");
		return;
	}
	ifma = best_hash_us(CRYPTO_X25519_IFMA, digests, out, N);
	printf("hash ifma:        %8.2f us per hash to the group (crypto_x25519_hash_many, 1 thread, "
	       "best of %d)\n", ifma, REPEATS);
	printf("hash speedup: %.2fx over portable\n", port / ifma);
}

static double best_ristretto_us(const uint8_t s[32], const uint8_t *in, uint8_t *out, size_t n)
{
	double best = 1e30;

	for (int r = 0; r < REPEATS; r++) {
		double t0 = now_seconds();

		for (size_t i = 0; i < n; i++) {
			if (crypto_scalarmult_ristretto255(out + 32 * i, s, in + 32 * i) != 0) {
				fprintf(stderr, "bench-x25519: ristretto255 refused\n");
				exit(1);
			}
		}
		double us = (now_seconds() - t0) * 1e6 / (double)n;
		if (us < best)
			best = us;
	}
	return best;
}

/*
 * The pool: the wall time per element of crypto_psi_mul_batch and
 * crypto_psi_hash_batch in suite x25519-ell2-sha512 over `n` elements on a
 * pool of 1 thread and of every online core, best of REPEATS, and the
 * ratio: how much the second core adds on this machine.
 */
static void bench_pool(const uint8_t *elems, const uint8_t *digests, uint8_t *out, size_t n)
{
	unsigned counts[2] = { 1, 0 };
	double mul[2] = { 1e30, 1e30 }, hash[2] = { 1e30, 1e30 };
	uint8_t s[32];

	crypto_psi_scalar_random(s);
	for (int c = 0; c < 2; c++) {
		struct crypto_pool *pool = NULL;
		if (crypto_pool_create(counts[c], &pool) != CR_OK)
			return;
		counts[c] = crypto_pool_threads(pool);
		for (int r = 0; r < REPEATS; r++) {
			double t0 = wall_seconds(), t1, t2;
			if (crypto_psi_mul_batch(pool, CRYPTO_PSI_X25519, s, elems, out, n, NULL) != CR_OK)
				break;
			t1 = wall_seconds();
			if (crypto_psi_hash_batch(pool, CRYPTO_PSI_X25519, CRYPTO_ID_EMAIL, digests, out, n) != CR_OK)
				break;
			t2 = wall_seconds();
			if ((t1 - t0) * 1e6 / (double)n < mul[c])
				mul[c] = (t1 - t0) * 1e6 / (double)n;
			if ((t2 - t1) * 1e6 / (double)n < hash[c])
				hash[c] = (t2 - t1) * 1e6 / (double)n;
		}
		crypto_pool_free(pool);
	}
	printf("pool, wall time per element over %zu (best of %d): multiplication %.2f us on %u thread, "
	       "%.2f us on %u (%.2fx); hash %.2f us on %u, %.2f us on %u (%.2fx)\n", n, REPEATS, mul[0],
	       counts[0], mul[1], counts[1], mul[0] / mul[1], hash[0], counts[0], hash[1], counts[1],
	       hash[0] / hash[1]);
}

int main(void)
{
	static const uint8_t nine[32] = {9};
	uint8_t s[32], q[32];
	uint8_t *in, *out, *rin;
	double port, ifma = 0, rist, p256_mul, p256_hash;

	if (sodium_init() < 0)
		return 1;
	in = malloc(32 * N);
	out = malloc(32 * N);
	rin = malloc(32 * N);
	if (in == NULL || out == NULL || rin == NULL)
		return 1;
	crypto_core_ed25519_scalar_random(s);
	for (size_t i = 0; i < N; i++) {
		crypto_core_ed25519_scalar_random(q);
		if (crypto_x25519_ladder(q, nine, in + 32 * i) != CR_OK)
			return 1;
		crypto_core_ristretto255_random(rin + 32 * i);
	}
	printf("x25519 backend of this process: %s\n", crypto_x25519_backend());
	port = best_us(CRYPTO_X25519_PORTABLE, s, in, out, N / 8);
	printf("x25519 portable:  %8.2f us per multiplication (1 thread, best of %d)\n", port, REPEATS);
	if (crypto_x25519_ifma_available()) {
		ifma = best_us(CRYPTO_X25519_IFMA, s, in, out, N);
		printf("x25519 ifma:      %8.2f us per multiplication (1 thread, best of %d)\n", ifma,
		       REPEATS);
	} else {
		printf("x25519 ifma:      not measured (this CPU has no AVX-512 IFMA)\n");
	}
	rist = best_ristretto_us(s, rin, out, N / 8);
	printf("ristretto255:     %8.2f us per multiplication (libsodium, 1 thread, best of %d)\n",
	       rist, REPEATS);
	p256_costs_us(N / 8, REPEATS, &p256_mul, &p256_hash);
	printf("P-256:            %8.2f us per variable-base multiplication, %.2f us per hash to the curve "
	       "(OpenSSL, try-and-increment, 1 thread, best of %d)\n", p256_mul, p256_hash, REPEATS);
	if (ifma > 0)
		printf("ifma speedup: %.2fx over portable, %.2fx over ristretto255, %.2fx over P-256\n",
		       port / ifma, rist / ifma, p256_mul / ifma);
	bench_pool(in, rin, out, N);

	randombytes_buf(in, 32 * N); /* random digests: CRYPTO_DIGEST_BYTES is 32 */
	bench_hash(in, out);
	free(in);
	free(out);
	free(rin);
	return 0;
}
