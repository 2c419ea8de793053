/* Unit tests for crypto/noise.c: the exact discrete Laplace sampler
 * (docs/spec/privacy.md, release step 3). Parameters out of range are refused;
 * with a seeded ChaCha20 stream the sampler is deterministic; and its output
 * fits the exact pmf P(x) = (1-q)/(1+q) q^|x|, q = exp(-num/den), by a
 * chi-square goodness-of-fit test at significance 1e-6 for three scales
 * (1,000,000 draws each).
 * Floating point is used here, in the test, never in the sampler. */
#include "test_util.h"

#include <math.h>

#include <sodium.h>

#include "crypto/crypto.h"

/* ------------------------------------------------ a seeded test-only rng */

/* ChaCha20 keystream under a fixed key, block by block (nonce = block
 * counter), served from a buffer: deterministic and fast. */
struct chacha_rng {
	uint8_t key[crypto_stream_chacha20_KEYBYTES];
	uint64_t block;
	uint8_t buf[4096];
	size_t pos;
};

static void chacha_refill(struct chacha_rng *c)
{
	uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(c->block >> (8 * i));
	crypto_stream_chacha20(c->buf, sizeof(c->buf), nonce, c->key);
	c->block++;
	c->pos = 0;
}

static void chacha_fill(void *ctx, uint8_t *out, size_t len)
{
	struct chacha_rng *c = ctx;
	while (len > 0) {
		if (c->pos == sizeof(c->buf))
			chacha_refill(c);
		size_t n = sizeof(c->buf) - c->pos;
		if (n > len)
			n = len;
		memcpy(out, c->buf + c->pos, n);
		c->pos += n;
		out += n;
		len -= n;
	}
}

static void chacha_init(struct chacha_rng *c, uint8_t seed)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(c->key); i++)
		c->key[i] = (uint8_t)(seed + i);
	c->pos = sizeof(c->buf);
}

/* ------------------------------------------------------------ parameters */

static void test_parameter_checks(void **state)
{
	(void)state;
	const uint64_t max = (uint64_t)1 << 32;
	int64_t x = 77;

	assert_int_equal(crypto_noise_discrete_laplace(NULL, 0, 1, &x), CR_ERR_NOISE_PARAM);
	assert_int_equal(crypto_noise_discrete_laplace(NULL, 1, 0, &x), CR_ERR_NOISE_PARAM);
	assert_int_equal(crypto_noise_discrete_laplace(NULL, 0, 0, &x), CR_ERR_NOISE_PARAM);
	assert_int_equal(crypto_noise_discrete_laplace(NULL, max + 1, 1, &x), CR_ERR_NOISE_PARAM);
	assert_int_equal(crypto_noise_discrete_laplace(NULL, 1, max + 1, &x), CR_ERR_NOISE_PARAM);
	assert_int_equal(crypto_noise_discrete_laplace(NULL, UINT64_MAX, UINT64_MAX, &x),
			 CR_ERR_NOISE_PARAM);
	assert_int_equal(x, 77);
	/* the bounds themselves are fine */
	assert_int_equal(crypto_noise_discrete_laplace(NULL, max, max, &x), CR_OK);
	assert_int_equal(crypto_noise_discrete_laplace(NULL, 1, max, &x), CR_OK);
	assert_int_equal(crypto_noise_discrete_laplace(NULL, max, 1, &x), CR_OK);
	/* epsilon = 2^32: P(0) = (1-q)/(1+q) with q = exp(-2^32), i.e. always 0 */
	assert_int_equal(x, 0);
}

static void test_deterministic_with_seeded_rng(void **state)
{
	(void)state;
	struct chacha_rng a, b, c;
	const struct crypto_rng ra = { chacha_fill, &a }, rb = { chacha_fill, &b },
				rc = { chacha_fill, &c };
	bool any_differs = false;

	chacha_init(&a, 1);
	chacha_init(&b, 1);
	chacha_init(&c, 2);
	for (int i = 0; i < 1000; i++) {
		int64_t x, y, z;
		assert_int_equal(crypto_noise_discrete_laplace(&ra, 1, 2, &x), CR_OK);
		assert_int_equal(crypto_noise_discrete_laplace(&rb, 1, 2, &y), CR_OK);
		assert_int_equal(crypto_noise_discrete_laplace(&rc, 1, 2, &z), CR_OK);
		assert_int_equal(x, y);
		any_differs |= x != z;
	}
	assert_true(any_differs);
}

/* The default source (randombytes_buf): centred on 0. For scale 2 the
 * variance is 2q/(1-q)^2 = 7.83, so the mean of 20,000 draws has a standard
 * deviation of 0.02; 0.2 is ten of them. */
static void test_default_rng(void **state)
{
	(void)state;
	double sum = 0;
	for (int i = 0; i < 20000; i++) {
		int64_t x;
		assert_int_equal(crypto_noise_discrete_laplace(NULL, 1, 2, &x), CR_OK);
		sum += (double)x;
	}
	assert_true(fabs(sum / 20000) < 0.2);
}

/* ------------------------------------------------------------ chi-square */

/*
 * The upper 1e-6 quantile of chi-square with `df` degrees of freedom, by the
 * Wilson-Hilferty approximation df * (1 - 2/(9 df) + z sqrt(2/(9 df)))^3,
 * z = 4.753424 the upper 1e-6 quantile of the standard normal. For the
 * fits below (1,000,000 draws each) it gives: scale 2, df 44 -> 104.2;
 * scale 1/3, df 8 -> 43.9; scale 10, df 186 -> 292.7. (The chi-square
 * statistics seen with the seeds used: 64.9, 4.0 and 181.3.)
 */
static double chi2_critical_1e6(unsigned df)
{
	const double z = 4.753424;
	double a = 2.0 / (9.0 * df);
	double t = 1.0 - a + z * sqrt(a);
	return df * t * t * t;
}

#define MAX_BINS 512

/*
 * Draws `n` samples with P(x) proportional to exp(-|x| num/den) and tests
 * them against the exact pmf. Bins: each x in [-m, m], plus the two tails
 * x < -m and x > m, with m the largest value whose tails still expect at
 * least 5 draws each, as does bin m itself (P(X > m) = q^(m+1)/(1+q),
 * P(X = m) = (1-q)/(1+q) q^m; for q > 1/2 the single bin is the smaller).
 * Returns the degrees of
 * freedom used, for the record.
 */
static unsigned chi_square_fit(uint64_t num, uint64_t den, unsigned n, uint8_t seed)
{
	struct chacha_rng c;
	const struct crypto_rng rng = { chacha_fill, &c };
	const double q = exp(-(double)num / (double)den);
	const double norm = (1 - q) / (1 + q);
	static unsigned counts[MAX_BINS];
	unsigned m = 0, bins;
	double chi2 = 0;

	/* grow m while the new outermost single bin and the tail beyond it
	 * both still expect at least 5 draws */
	while (n * norm * pow(q, m + 1) >= 5.0 && n * pow(q, m + 2) / (1 + q) >= 5.0 &&
	       2 * (m + 1) + 3 <= MAX_BINS)
		m++;
	bins = 2 * m + 3; /* [tail-] -m .. m [tail+] */
	memset(counts, 0, sizeof(counts));
	chacha_init(&c, seed);
	for (unsigned i = 0; i < n; i++) {
		int64_t x;
		assert_int_equal(crypto_noise_discrete_laplace(&rng, num, den, &x), CR_OK);
		if (x < -(int64_t)m)
			counts[0]++;
		else if (x > (int64_t)m)
			counts[bins - 1]++;
		else
			counts[x + (int64_t)m + 1]++;
	}
	for (unsigned b = 0; b < bins; b++) {
		double p;
		if (b == 0 || b == bins - 1)
			p = pow(q, m + 1) / (1 + q);
		else
			p = norm * pow(q, fabs((double)b - m - 1));
		double e = n * p;
		assert_true(e >= 5.0);
		chi2 += (counts[b] - e) * (counts[b] - e) / e;
	}
	unsigned df = bins - 1;
	double crit = chi2_critical_1e6(df);
	print_message("discrete Laplace num=%llu den=%llu: %u draws, %u bins, chi2 = %.1f, "
		      "critical(1e-6, df %u) = %.1f\n", (unsigned long long)num,
		      (unsigned long long)den, n, bins, chi2, df, crit);
	assert_true(chi2 < crit);
	return df;
}

/* Scale 2 (epsilon 1/2): the brief's 1,000,000 draws. */
static void test_fit_scale_2(void **state)
{
	(void)state;
	assert_int_equal(chi_square_fit(1, 2, 1000000, 11), 44);
}

/* Scale 1/3 (epsilon 3): exercises Y = floor(X / s) with s > 1. */
static void test_fit_scale_one_third(void **state)
{
	(void)state;
	assert_int_equal(chi_square_fit(3, 1, 1000000, 12), 8);
}

/* Scale 10 (epsilon 1/10): exercises the U / t path with a larger t. */
static void test_fit_scale_10(void **state)
{
	(void)state;
	assert_int_equal(chi_square_fit(1, 10, 1000000, 13), 186);
}

/* The test itself must be able to fail: samples of the wrong scale do. */
static void test_fit_detects_wrong_scale(void **state)
{
	(void)state;
	struct chacha_rng c;
	const struct crypto_rng rng = { chacha_fill, &c };
	const double q = exp(-0.5);
	unsigned zeros = 0;
	const unsigned n = 100000;

	chacha_init(&c, 14);
	for (unsigned i = 0; i < n; i++) {
		int64_t x;
		/* draw at scale 1/0.55 but compare P(0) with scale 2's */
		assert_int_equal(crypto_noise_discrete_laplace(&rng, 11, 20, &x), CR_OK);
		zeros += x == 0;
	}
	double e = n * (1 - q) / (1 + q);
	double z = (zeros - e) / sqrt(e * (1 - (1 - q) / (1 + q)));
	assert_true(fabs(z) > 4.75);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parameter_checks),
		cmocka_unit_test(test_deterministic_with_seeded_rng),
		cmocka_unit_test(test_default_rng),
		cmocka_unit_test(test_fit_scale_2),
		cmocka_unit_test(test_fit_scale_one_third),
		cmocka_unit_test(test_fit_scale_10),
		cmocka_unit_test(test_fit_detects_wrong_scale),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
