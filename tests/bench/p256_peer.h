/*
 * p256_peer.h: the peer-style PSI that issue 22 compares our match with,
 * built the way OpenMined PSI and private-join-and-compute build theirs
 * (ECDH over NIST P-256 with OpenSSL): each side hashes its identifiers to
 * the curve by try-and-increment and multiplies them by its secret key; the
 * points travel compressed (33 bytes), so each receiver decodes them (a
 * square root each); the server multiplies the client's points by its key
 * and sends them back; the client multiplies the server's points by its
 * key and intersects the two sets of doubly-keyed points by sorting.
 *
 *     hash to the curve:   |X| + |Y|
 *     multiplications:     2 (|X| + |Y|), every one variable-base
 *     decodings:           |X| + |Y|
 *
 * The whole protocol runs in this process on `threads` threads, with no
 * store, no consent gate, no aggregation and no transport: the peer's cost
 * is its cryptography alone, which flatters the peer. Inputs are synthetic
 * 32-byte strings (never personal data); the cost does not depend on them.
 *
 * Used by bench_psi.c (the whole peer run beside the match) and
 * bench_x25519.c (one multiplication's CPU time against the ladder's).
 */
#ifndef CR_BENCH_P256_PEER_H
#define CR_BENCH_P256_PEER_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <sodium.h>

#define P256_POINT_BYTES 33

struct p256_party {
	EC_GROUP *group;
	BIGNUM *key; /* secret scalar in [1, order) */
};

/* One thread's share of one step over elements [lo, hi). */
struct p256_job {
	const struct p256_party *party;
	int step;                  /* P256_HASH_MUL or P256_DECODE_MUL */
	const uint8_t *in;         /* 32-byte inputs, or encoded points */
	uint8_t *out;              /* encoded points */
	size_t lo, hi;
	int failed;
};

enum { P256_HASH_MUL = 1, P256_DECODE_MUL = 2 };

static inline void p256_die(const char *what)
{
	fprintf(stderr, "p256 peer: %s failed\n", what);
	exit(1);
}

static inline void p256_party_init(struct p256_party *p)
{
	BIGNUM *order = BN_new();

	p->group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	p->key = BN_new();
	if (p->group == NULL || order == NULL || p->key == NULL || !EC_GROUP_get_order(p->group, order, NULL))
		p256_die("P-256 group");
	do {
		if (!BN_rand_range(p->key, order))
			p256_die("BN_rand_range");
	} while (BN_is_zero(p->key));
	BN_free(order);
}

static inline void p256_party_free(struct p256_party *p)
{
	BN_clear_free(p->key);
	EC_GROUP_free(p->group);
}

/*
 * Try-and-increment: x = SHA-512(counter || input) mod p until x is the
 * abscissa of a point (about two tries on average), the even-y point.
 */
static inline int p256_hash_to_curve(const EC_GROUP *g, const BIGNUM *p, const uint8_t in[32], EC_POINT *out,
			      BIGNUM *x, BN_CTX *ctx)
{
	uint8_t buf[36], h[64];

	memcpy(buf + 4, in, 32);
	for (uint32_t ctr = 0; ctr < 256; ctr++) {
		buf[0] = (uint8_t)(ctr >> 24);
		buf[1] = (uint8_t)(ctr >> 16);
		buf[2] = (uint8_t)(ctr >> 8);
		buf[3] = (uint8_t)ctr;
		crypto_hash_sha512(h, buf, sizeof(buf));
		if (BN_bin2bn(h, sizeof(h), x) == NULL || !BN_nnmod(x, x, p, ctx))
			return 0;
		ERR_set_mark();
		if (EC_POINT_set_compressed_coordinates(g, out, x, 0, ctx)) {
			ERR_pop_to_mark();
			return 1;
		}
		ERR_pop_to_mark();
	}
	return 0;
}

static inline void *p256_job_run(void *arg)
{
	struct p256_job *j = arg;
	const EC_GROUP *g = j->party->group;
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *p = BN_new(), *x = BN_new();
	EC_POINT *pt = EC_POINT_new(g), *r = EC_POINT_new(g);

	if (ctx == NULL || p == NULL || x == NULL || pt == NULL || r == NULL ||
	    !EC_GROUP_get_curve(g, p, NULL, NULL, ctx)) {
		j->failed = 1;
		goto out;
	}
	for (size_t i = j->lo; i < j->hi; i++) {
		int ok;

		if (j->step == P256_HASH_MUL)
			ok = p256_hash_to_curve(g, p, j->in + i * 32, pt, x, ctx);
		else
			ok = EC_POINT_oct2point(g, pt, j->in + i * P256_POINT_BYTES, P256_POINT_BYTES, ctx);
		if (!ok || !EC_POINT_mul(g, r, NULL, pt, j->party->key, ctx) ||
		    EC_POINT_point2oct(g, r, POINT_CONVERSION_COMPRESSED, j->out + i * P256_POINT_BYTES,
				       P256_POINT_BYTES, ctx) != P256_POINT_BYTES) {
			j->failed = 1;
			break;
		}
	}
out:
	EC_POINT_free(r);
	EC_POINT_free(pt);
	BN_free(x);
	BN_free(p);
	BN_CTX_free(ctx);
	return NULL;
}

/* One step of the protocol over n elements on `threads` threads. */
static inline void p256_step(const struct p256_party *party, int step, const uint8_t *in, uint8_t *out, size_t n,
		      unsigned threads)
{
	pthread_t tid[64];
	struct p256_job job[64];

	if (threads == 0)
		threads = 1;
	if (threads > 64)
		threads = 64;
	for (unsigned t = 0; t < threads; t++) {
		job[t] = (struct p256_job){ .party = party, .step = step, .in = in, .out = out,
					    .lo = n * t / threads, .hi = n * (t + 1) / threads };
		if (pthread_create(&tid[t], NULL, p256_job_run, &job[t]) != 0)
			p256_die("pthread_create");
	}
	for (unsigned t = 0; t < threads; t++) {
		pthread_join(tid[t], NULL);
		if (job[t].failed)
			p256_die(step == P256_HASH_MUL ? "hash to the curve and multiply" : "decode and multiply");
	}
}

static inline int p256_cmp(const void *a, const void *b)
{
	return memcmp(a, b, P256_POINT_BYTES);
}

/*
 * The whole peer protocol between a server holding nx inputs and a client
 * holding ny, the first `common` of which are also the server's. Returns
 * the intersection's size (checked against `common` by the caller).
 */
static inline size_t p256_peer_run(size_t nx, size_t ny, size_t common, unsigned threads)
{
	struct p256_party server, client;
	uint8_t *x = malloc(nx * 32), *y = malloc(ny * 32);
	uint8_t *xb = malloc(nx * P256_POINT_BYTES), *xab = malloc(nx * P256_POINT_BYTES);
	uint8_t *ya = malloc(ny * P256_POINT_BYTES), *yab = malloc(ny * P256_POINT_BYTES);
	uint8_t seed[randombytes_SEEDBYTES] = { 0 };
	size_t i = 0, k = 0, found = 0;

	if (x == NULL || y == NULL || xb == NULL || xab == NULL || ya == NULL || yab == NULL || common > nx ||
	    common > ny)
		p256_die("allocation");
	randombytes_buf_deterministic(x, nx * 32, seed);
	seed[0] = 1;
	randombytes_buf_deterministic(y, ny * 32, seed);
	memcpy(y, x, common * 32);
	p256_party_init(&server);
	p256_party_init(&client);

	p256_step(&server, P256_HASH_MUL, x, xb, nx, threads);     /* server: H(x)^b, sent */
	p256_step(&client, P256_HASH_MUL, y, ya, ny, threads);     /* client: H(y)^a, sent */
	p256_step(&server, P256_DECODE_MUL, ya, yab, ny, threads); /* server: (H(y)^a)^b, sent back */
	p256_step(&client, P256_DECODE_MUL, xb, xab, nx, threads); /* client: (H(x)^b)^a */
	qsort(xab, nx, P256_POINT_BYTES, p256_cmp);
	qsort(yab, ny, P256_POINT_BYTES, p256_cmp);
	while (i < nx && k < ny) {
		int c = memcmp(xab + i * P256_POINT_BYTES, yab + k * P256_POINT_BYTES, P256_POINT_BYTES);

		found += c == 0;
		i += c <= 0;
		k += c >= 0;
	}
	p256_party_free(&server);
	p256_party_free(&client);
	free(x);
	free(y);
	free(xb);
	free(xab);
	free(ya);
	free(yab);
	return found;
}

/* Microseconds per item of n between two thread-clock readings. */
static inline double p256_us_each(const struct timespec *a, const struct timespec *b, size_t n)
{
	return ((double)(b->tv_sec - a->tv_sec) * 1e6 + (double)(b->tv_nsec - a->tv_nsec) / 1e3) / (double)n;
}

/*
 * CPU time (thread clock, microseconds) of one variable-base P-256
 * multiplication, and of one hash to the curve, best of `repeats` passes
 * over n points on this thread.
 */
static inline void p256_costs_us(size_t n, int repeats, double *mul_us, double *hash_us)
{
	struct p256_party party;
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *p = BN_new(), *x = BN_new();
	EC_POINT **pt = calloc(n, sizeof(*pt)), *r;
	uint8_t *in = malloc(n * 32);
	struct timespec a, b;

	p256_party_init(&party);
	r = EC_POINT_new(party.group);
	if (ctx == NULL || p == NULL || x == NULL || pt == NULL || in == NULL || r == NULL ||
	    !EC_GROUP_get_curve(party.group, p, NULL, NULL, ctx))
		p256_die("allocation");
	randombytes_buf(in, n * 32);
	*mul_us = *hash_us = 1e30;
	for (int rep = 0; rep < repeats; rep++) {
		double us;

		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
		for (size_t i = 0; i < n; i++) {
			if (pt[i] == NULL)
				pt[i] = EC_POINT_new(party.group);
			if (pt[i] == NULL || !p256_hash_to_curve(party.group, p, in + i * 32, pt[i], x, ctx))
				p256_die("hash to the curve");
		}
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
		us = p256_us_each(&a, &b, n);
		if (us < *hash_us)
			*hash_us = us;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
		for (size_t i = 0; i < n; i++)
			if (!EC_POINT_mul(party.group, r, NULL, pt[i], party.key, ctx))
				p256_die("EC_POINT_mul");
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
		us = p256_us_each(&a, &b, n);
		if (us < *mul_us)
			*mul_us = us;
	}
	for (size_t i = 0; i < n; i++)
		EC_POINT_free(pt[i]);
	free(pt);
	free(in);
	EC_POINT_free(r);
	BN_free(x);
	BN_free(p);
	BN_CTX_free(ctx);
	p256_party_free(&party);
}

#endif
