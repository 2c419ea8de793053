/*
 * psi_batch.c: the PSI group operations over whole lists, spread over a
 * crypto_pool: hash-to-group of n digests and scalar multiplication of n
 * elements. Each range of the pool stops at its first refusal; the pool
 * reports the lowest failing range, so the refused index is the same
 * whatever the thread count.
 */
#include <stdatomic.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto_internal.h"

struct mul_job {
	enum crypto_psi_suite suite;
	const uint8_t *s;        /* borrowed scalar */
	const uint8_t *in;
	uint8_t *out;
	atomic_size_t bad_index; /* lowest refused index so far, SIZE_MAX if none */
};

/* Lowers *target to v if v is smaller (a lock-free minimum). */
static void atomic_store_min(atomic_size_t *target, size_t v)
{
	size_t cur = atomic_load(target);
	while (v < cur && !atomic_compare_exchange_weak(target, &cur, v))
		;
}

static cr_err mul_range(void *ctx, size_t begin, size_t end)
{
	struct mul_job *job = ctx;

	if (job->suite == CRYPTO_PSI_X25519) {
		/* eight lanes at a time where the CPU has AVX-512 IFMA */
		size_t bad = 0;
		cr_err rc = crypto_x25519_mul_many(job->s, job->in + begin * CRYPTO_PSI_ELEMENT_BYTES,
						   job->out + begin * CRYPTO_PSI_ELEMENT_BYTES, end - begin, &bad);
		if (rc != CR_OK)
			atomic_store_min(&job->bad_index, begin + bad);
		return rc;
	}

	for (size_t i = begin; i < end; i++) {
		const uint8_t *p = job->in + i * CRYPTO_PSI_ELEMENT_BYTES;
		/* crypto_psi_mul writes only on success and allows out == p */
		cr_err rc = crypto_psi_mul(job->suite, job->s, p, job->out + i * CRYPTO_PSI_ELEMENT_BYTES);
		if (rc != CR_OK) {
			atomic_store_min(&job->bad_index, i);
			return rc;
		}
	}
	return CR_OK;
}

cr_err crypto_psi_mul_batch(struct crypto_pool *pool, enum crypto_psi_suite suite,
			    const uint8_t s[static CRYPTO_PSI_SCALAR_BYTES],
			    const uint8_t *in, uint8_t *out, size_t n, size_t *bad_index)
{
	struct mul_job job = { .suite = suite, .s = s, .in = in, .out = out };
	cr_err rc;

	if (crypto_psi_suite_name(suite) == NULL)
		return CR_ERR_PSI_SUITE;
	if (n > SIZE_MAX / CRYPTO_PSI_ELEMENT_BYTES)
		return CR_ERR_TOO_LARGE;
	atomic_init(&job.bad_index, SIZE_MAX);
	rc = crypto_pool_run(pool, n, mul_range, &job);
	if (rc != CR_OK && bad_index != NULL)
		*bad_index = atomic_load(&job.bad_index);
	return rc;
}

struct hash_job {
	enum crypto_psi_suite suite;
	enum crypto_id_type t;
	const uint8_t *digests;
	uint8_t *out;
};

static cr_err hash_range(void *ctx, size_t begin, size_t end)
{
	struct hash_job *job = ctx;

	if (job->suite == CRYPTO_PSI_X25519)
		/* the field part eight lanes at a time where the CPU has AVX-512 IFMA */
		return crypto_x25519_hash_many(job->t, job->digests + begin * CRYPTO_DIGEST_BYTES,
					       job->out + begin * CRYPTO_PSI_ELEMENT_BYTES, end - begin);
	for (size_t i = begin; i < end; i++) {
		cr_err rc = crypto_psi_hash_to_group(job->suite, job->t,
						     job->digests + i * CRYPTO_DIGEST_BYTES,
						     job->out + i * CRYPTO_PSI_ELEMENT_BYTES);
		if (rc != CR_OK)
			return rc;
	}
	return CR_OK;
}

cr_err crypto_psi_hash_batch(struct crypto_pool *pool, enum crypto_psi_suite suite,
			     enum crypto_id_type t, const uint8_t *digests, uint8_t *out, size_t n)
{
	struct hash_job job = { .suite = suite, .t = t, .digests = digests, .out = out };

	if (crypto_id_type_name(t) == NULL)
		return CR_ERR_ID_TYPE;
	if (crypto_psi_suite_name(suite) == NULL)
		return CR_ERR_PSI_SUITE;
	if (n > SIZE_MAX / CRYPTO_PSI_ELEMENT_BYTES)
		return CR_ERR_TOO_LARGE;
	return crypto_pool_run(pool, n, hash_range, &job);
}

cr_err crypto_psi_mul_pairs(enum crypto_psi_suite suite, const uint8_t *scalars,
			    const uint8_t *in, uint8_t *out, size_t n, size_t *bad_index)
{
	if (suite == CRYPTO_PSI_X25519)
		return crypto_x25519_mul_pairs(scalars, in, out, n, bad_index);
	for (size_t i = 0; i < n; i++) {
		cr_err rc = crypto_psi_mul(suite, scalars + i * CRYPTO_PSI_SCALAR_BYTES,
					   in + i * CRYPTO_PSI_ELEMENT_BYTES,
					   out + i * CRYPTO_PSI_ELEMENT_BYTES);
		if (rc != CR_OK) {
			if (bad_index != NULL)
				*bad_index = i;
			return rc;
		}
	}
	return CR_OK;
}
