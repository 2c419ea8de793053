/* Unit tests for crypto/psi_batch.c, in each suite: batch hash-to-group and
 * batch scalar multiplication give byte-identical output to the
 * one-at-a-time path with 1, 2, 3 and 8 threads, in place too, and report
 * the lowest refused index (an invalid element at 7777 is reported as 7777)
 * whatever the thread count; pairs with a scalar each give what one
 * multiplication at a time gives. In x25519-ell2-sha512 the batches run the
 * AVX-512 IFMA lanes where the CPU has them, so these tests compare that
 * code with the portable single multiplication. */
#include "test_util.h"

#include <sodium.h>

#include "crypto/crypto.h"

#define COUNT 10000
#define BAD_INDEX 7777

static const unsigned thread_counts[] = { 1, 2, 3, 8 };

struct data {
	enum crypto_psi_suite suite;
	uint8_t scalar[32];
	uint8_t *digests;   /* COUNT x 32 */
	uint8_t *want_h;    /* H(email, digest[i]), one at a time */
	uint8_t *want_m;    /* scalar * want_h[i], one at a time */
	uint8_t *got;
};

static int setup(void **state, enum crypto_psi_suite suite)
{
	struct data *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -1;
	d->suite = suite;
	d->digests = malloc(COUNT * 32);
	d->want_h = malloc(COUNT * 32);
	d->want_m = malloc(COUNT * 32);
	d->got = malloc(COUNT * 32);
	if (!d->digests || !d->want_h || !d->want_m || !d->got)
		return -1;
	crypto_psi_scalar_random(d->scalar);
	for (uint32_t i = 0; i < COUNT; i++) {
		uint8_t le[4] = { (uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), (uint8_t)(i >> 24) };
		crypto_hash_sha256(d->digests + i * 32, le, sizeof(le));
		assert_int_equal(crypto_psi_hash_to_group(suite, CRYPTO_ID_EMAIL, d->digests + i * 32,
							  d->want_h + i * 32), CR_OK);
		if (crypto_psi_mul(suite, d->scalar, d->want_h + i * 32, d->want_m + i * 32) != CR_OK)
			return -1;
	}
	*state = d;
	return 0;
}

static int setup_r255(void **state)
{
	return setup(state, CRYPTO_PSI_R255);
}

static int setup_x25519(void **state)
{
	return setup(state, CRYPTO_PSI_X25519);
}

static int teardown(void **state)
{
	struct data *d = *state;
	free(d->digests);
	free(d->want_h);
	free(d->want_m);
	free(d->got);
	free(d);
	return 0;
}

static void test_hash_batch_same_bytes(void **state)
{
	struct data *d = *state;

	memset(d->got, 0, COUNT * 32);
	assert_int_equal(crypto_psi_hash_batch(NULL, d->suite, CRYPTO_ID_EMAIL, d->digests, d->got, COUNT),
			 CR_OK);
	assert_bytes_equal(d->got, d->want_h, COUNT * 32);
	for (size_t t = 0; t < 4; t++) {
		struct crypto_pool *pool = NULL;
		assert_int_equal(crypto_pool_create(thread_counts[t], &pool), CR_OK);
		memset(d->got, 0, COUNT * 32);
		assert_int_equal(crypto_psi_hash_batch(pool, d->suite, CRYPTO_ID_EMAIL, d->digests, d->got,
						       COUNT), CR_OK);
		assert_bytes_equal(d->got, d->want_h, COUNT * 32);
		crypto_pool_free(pool);
	}
}

static void test_mul_batch_same_bytes(void **state)
{
	struct data *d = *state;
	size_t bad = 12345;

	for (size_t t = 0; t < 4; t++) {
		struct crypto_pool *pool = NULL;
		assert_int_equal(crypto_pool_create(thread_counts[t], &pool), CR_OK);
		memset(d->got, 0, COUNT * 32);
		assert_int_equal(crypto_psi_mul_batch(pool, d->suite, d->scalar, d->want_h, d->got, COUNT, &bad),
				 CR_OK);
		assert_bytes_equal(d->got, d->want_m, COUNT * 32);
		crypto_pool_free(pool);
	}
	assert_int_equal(bad, 12345); /* written only on failure */
}

static void test_mul_batch_in_place(void **state)
{
	struct data *d = *state;
	struct crypto_pool *pool = NULL;

	assert_int_equal(crypto_pool_create(3, &pool), CR_OK);
	memcpy(d->got, d->want_h, COUNT * 32);
	assert_int_equal(crypto_psi_mul_batch(pool, d->suite, d->scalar, d->got, d->got, COUNT, NULL), CR_OK);
	assert_bytes_equal(d->got, d->want_m, COUNT * 32);
	crypto_pool_free(pool);
}

/* An invalid encoding at 7777 is reported as 7777 by every thread count. */
static void test_mul_batch_reports_bad_index(void **state)
{
	struct data *d = *state;
	uint8_t *in = malloc(COUNT * 32);
	assert_non_null(in);

	memcpy(in, d->want_h, COUNT * 32);
	memset(in + BAD_INDEX * 32, 0xff, 32);
	for (size_t t = 0; t < 4; t++) {
		struct crypto_pool *pool = NULL;
		size_t bad = 0;
		assert_int_equal(crypto_pool_create(thread_counts[t], &pool), CR_OK);
		assert_int_equal(crypto_psi_mul_batch(pool, d->suite, d->scalar, in, d->got, COUNT, &bad),
				 CR_ERR_PSI_ENCODING);
		assert_int_equal(bad, BAD_INDEX);
		crypto_pool_free(pool);
	}
	free(in);
}

/* With several refusals, the lowest index wins, even when a higher one
 * sits in a range that finishes first. */
static void test_mul_batch_lowest_refusal_wins(void **state)
{
	struct data *d = *state;
	struct crypto_pool *pool = NULL;
	const size_t n = 2000;
	size_t bad = 0;
	uint8_t *in = malloc(n * 32);
	assert_non_null(in);

	assert_int_equal(crypto_pool_create(2, &pool), CR_OK);
	memcpy(in, d->want_h, n * 32);
	memset(in + 1999 * 32, 0, 32);      /* identity, last of range 2 of 2 */
	memset(in + 1001 * 32, 0xff, 32);   /* invalid, early in range 2 (done first) */
	memset(in + 990 * 32, 0xff, 32);    /* invalid, late in range 1 */
	assert_int_equal(crypto_psi_mul_batch(pool, d->suite, d->scalar, in, d->got, n, &bad),
			 CR_ERR_PSI_ENCODING);
	assert_int_equal(bad, 990);
	memset(in + 500 * 32, 0, 32);       /* an identity before them all */
	assert_int_equal(crypto_psi_mul_batch(pool, d->suite, d->scalar, in, d->got, n, &bad),
			 CR_ERR_PSI_IDENTITY);
	assert_int_equal(bad, 500);
	assert_int_equal(crypto_psi_mul_batch(pool, d->suite, d->scalar, in, d->got, n, NULL),
			 CR_ERR_PSI_IDENTITY);
	assert_int_equal(crypto_psi_mul_batch(NULL, d->suite, d->scalar, in, d->got, n, &bad),
			 CR_ERR_PSI_IDENTITY);
	assert_int_equal(bad, 500);
	crypto_pool_free(pool);
	free(in);
}

static void test_batch_edges(void **state)
{
	struct data *d = *state;
	size_t bad = 99;

	assert_int_equal(crypto_psi_mul_batch(NULL, d->suite, d->scalar, d->want_h, d->got, 0, &bad), CR_OK);
	assert_int_equal(bad, 99);
	assert_int_equal(crypto_psi_hash_batch(NULL, d->suite, CRYPTO_ID_PHONE, d->digests, d->got, 0), CR_OK);
	assert_int_equal(crypto_psi_hash_batch(NULL, d->suite, (enum crypto_id_type)0, d->digests, d->got, 1),
			 CR_ERR_ID_TYPE);
	/* the type changes every element */
	assert_int_equal(crypto_psi_hash_batch(NULL, d->suite, CRYPTO_ID_PHONE, d->digests, d->got, 4), CR_OK);
	for (size_t i = 0; i < 4; i++)
		assert_memory_not_equal(d->got + i * 32, d->want_h + i * 32, 32);
}

/* Pairs, a scalar each: the same bytes as one multiplication at a time,
 * over lengths that leave every remainder of the eight lanes, and the
 * first refusal's index. */
static void test_mul_pairs(void **state)
{
	struct data *d = *state;
	const size_t n = 61;
	uint8_t *sc = malloc(n * 32), *want = malloc(n * 32), *in = malloc(n * 32);
	size_t bad = 0;
	assert_true(sc && want && in);

	for (size_t i = 0; i < n; i++) {
		crypto_psi_scalar_random(sc + i * 32);
		assert_int_equal(crypto_psi_mul(d->suite, sc + i * 32, d->want_h + i * 32, want + i * 32), CR_OK);
	}
	for (size_t len = 0; len <= n; len += (len < 17 ? 1 : 11)) {
		memset(d->got, 0, n * 32);
		assert_int_equal(crypto_psi_mul_pairs(d->suite, sc, d->want_h, d->got, len, &bad), CR_OK);
		assert_bytes_equal(d->got, want, len * 32);
	}
	memcpy(in, d->want_h, n * 32);
	memset(in + 37 * 32, 0, 32);        /* identity (or order 2) */
	memset(in + 45 * 32, 0xff, 32);     /* invalid */
	assert_int_equal(crypto_psi_mul_pairs(d->suite, sc, in, d->got, n, &bad), CR_ERR_PSI_IDENTITY);
	assert_int_equal(bad, 37);
	/* the accepted pairs before it are right */
	assert_bytes_equal(d->got, want, 37 * 32);
	memset(sc + 3 * 32, 0, 32);         /* a zero scalar gives the identity */
	assert_int_equal(crypto_psi_mul_pairs(d->suite, sc, d->want_h, d->got, n, &bad), CR_ERR_PSI_IDENTITY);
	assert_int_equal(bad, 3);
	/* in place */
	memcpy(in, d->want_h, n * 32);
	crypto_psi_scalar_random(sc + 3 * 32);
	assert_int_equal(crypto_psi_mul(d->suite, sc + 3 * 32, d->want_h + 3 * 32, want + 3 * 32), CR_OK);
	assert_int_equal(crypto_psi_mul_pairs(d->suite, sc, in, in, n, NULL), CR_OK);
	assert_bytes_equal(in, want, n * 32);
	free(sc);
	free(want);
	free(in);
}

/* A suite outside the enum is refused before any work. */
static void test_unknown_suite(void **state)
{
	struct data *d = *state;
	enum crypto_psi_suite s;

	assert_int_equal(crypto_psi_mul_batch(NULL, (enum crypto_psi_suite)0, d->scalar, d->want_h, d->got, 1, NULL),
			 CR_ERR_PSI_SUITE);
	assert_int_equal(crypto_psi_hash_batch(NULL, (enum crypto_psi_suite)7, CRYPTO_ID_EMAIL, d->digests, d->got, 1),
			 CR_ERR_PSI_SUITE);
	assert_int_equal(crypto_psi_suite_parse("r255-sha512", &s), CR_OK);
	assert_int_equal(s, CRYPTO_PSI_R255);
	assert_int_equal(crypto_psi_suite_parse("x25519-ell2-sha512", &s), CR_OK);
	assert_int_equal(s, CRYPTO_PSI_X25519);
	assert_int_equal(crypto_psi_suite_parse("X25519-ell2-sha512", &s), CR_ERR_PSI_SUITE);
	assert_int_equal(crypto_psi_suite_parse("", &s), CR_ERR_PSI_SUITE);
	assert_int_equal(crypto_psi_suite_parse(NULL, &s), CR_ERR_PSI_SUITE);
	assert_null(crypto_psi_suite_name((enum crypto_psi_suite)0));
	assert_null(crypto_psi_suite_name((enum crypto_psi_suite)3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mul_pairs),
		cmocka_unit_test(test_unknown_suite),
		cmocka_unit_test(test_hash_batch_same_bytes),
		cmocka_unit_test(test_mul_batch_same_bytes),
		cmocka_unit_test(test_mul_batch_in_place),
		cmocka_unit_test(test_mul_batch_reports_bad_index),
		cmocka_unit_test(test_mul_batch_lowest_refusal_wins),
		cmocka_unit_test(test_batch_edges),
	};
	int failed;
	if (sodium_init() < 0)
		return 1;
	failed = cmocka_run_group_tests_name("r255-sha512", tests, setup_r255, teardown);
	failed += cmocka_run_group_tests_name("x25519-ell2-sha512", tests, setup_x25519, teardown);
	return failed;
}
