/*
 * noise.c: exact discrete Laplace noise for released aggregates
 * (docs/spec/privacy.md). Floating-point Laplace noise leaks through the gaps
 * and rounding of doubles (Mironov, CCS 2012), so this sampler uses only
 * integers and uniform random integers, following Canonne, Kamath and
 * Steinke, "The Discrete Gaussian for Differential Privacy" (NeurIPS 2020),
 * Algorithms 1 and 2:
 *
 *  - Bernoulli(p) for a rational p = n/d: one uniform draw in [0, d), < n;
 *  - Bernoulli(exp(-g)) for a rational g = n/d in [0, 1]: draw A_k from
 *    Bernoulli(g/k) for k = 1, 2, ... until the first 0; the result is 1 if
 *    that k is odd. (P[first 0 at k] = g^(k-1)/(k-1)! - g^k/k!, and the odd
 *    terms sum to exp(-g).) Only g = u/t with u < t and g = 1 are needed;
 *  - discrete Laplace with scale t/s (P(x) proportional to exp(-|x| s/t)):
 *    U uniform in [0, t), accepted with probability exp(-U/t); V geometric,
 *    counting Bernoulli(exp(-1)) successes; X = U + t*V is then geometric
 *    with parameter exp(-1/t); Y = floor(X / s); a fair sign bit B, rejecting
 *    (B = 1, Y = 0) so that 0 is not counted twice; the sample is (1-2B)*Y.
 *
 * Randomness comes from a struct crypto_rng (libsodium's randombytes_buf by
 * default), through crypto_random_uniform, which has no modulo bias.
 */
#include "crypto/crypto_internal.h"

#define NOISE_PARAM_MAX ((uint64_t)1 << 32)

/* Bernoulli(num / den), 0 <= num <= den, den >= 1. */
static bool bernoulli_frac(const struct crypto_rng *rng, uint64_t num, uint64_t den)
{
	return crypto_random_uniform(rng, den) < num;
}

/* Bernoulli(exp(-num / den)) for 0 <= num <= den (CKS Algorithm 1, g <= 1). */
static bool bernoulli_exp_upto1(const struct crypto_rng *rng, uint64_t num, uint64_t den)
{
	uint64_t k = 1, dk = den;

	/* Stop at the first 0 of Bernoulli(num / (den * k)). k passes 20 with
	 * probability below 1/20!, so den * k never comes near overflowing
	 * (den <= 2^32); should it, the draw is cut short and counted as a 0. */
	while (bernoulli_frac(rng, num, dk)) {
		k++;
		if (__builtin_mul_overflow(den, k, &dk))
			break;
	}
	return (k & 1) == 1;
}

/* The number of Bernoulli(exp(-1)) successes before the first failure. */
static uint64_t geometric_exp1(const struct crypto_rng *rng)
{
	uint64_t v = 0;
	while (bernoulli_exp_upto1(rng, 1, 1))
		v++;
	return v;
}

cr_err crypto_noise_discrete_laplace(const struct crypto_rng *rng, uint64_t num,
				     uint64_t den, int64_t *out)
{
	if (num < 1 || den < 1 || num > NOISE_PARAM_MAX || den > NOISE_PARAM_MAX)
		return CR_ERR_NOISE_PARAM;
	for (;;) {
		uint64_t u = crypto_random_uniform(rng, den);
		if (!bernoulli_exp_upto1(rng, u, den))
			continue;
		uint64_t v = geometric_exp1(rng);
		uint64_t x, tv;
		/* t*V + U overflows only for V near 2^32, of probability about
		 * exp(-2^32); such a draw is simply drawn again. */
		if (__builtin_mul_overflow(den, v, &tv) || __builtin_add_overflow(tv, u, &x))
			continue;
		uint64_t y = x / num;
		bool negative = crypto_random_uniform(rng, 2) == 1;
		if (negative && y == 0)
			continue;
		if (y > (uint64_t)INT64_MAX)
			continue; /* as unlikely as the overflow above */
		*out = negative ? -(int64_t)y : (int64_t)y;
		return CR_OK;
	}
}
