/*
 * x25519_batch.c: the second suite's checked multiplication over a list
 * with one scalar (suite x25519-ell2-sha512, docs/spec/psi-protocol.md
 * section 2b, issue 22), the hot loop of every match, and the choice of
 * the code that runs it.
 *
 * Two backends give the same bytes and errors for every input: the
 * portable crypto_x25519_mul (crypto/x25519.c), one element at a time, and
 * the AVX-512 IFMA code (crypto/x25519_ifma.c), eight at a time. The IFMA
 * one is used when CPUID reports avx512f, avx512vl and avx512ifma (checked
 * once per process), unless CLEANROOM_CRYPTO=portable is set; the elements
 * left over after the groups of eight go to the portable code.
 *
 * The hash to the group of a list of digests (crypto_x25519_hash_many)
 * runs the same way: expand_message_xmd one element at a time
 * (crypto_x25519_hash_to_group_field), then the field part eight lanes at
 * a time (crypto/x25519_h2c_ifma.c) or the portable
 * crypto_x25519_hash_to_group.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto_internal.h"

/* 0 until decided, then CRYPTO_X25519_PORTABLE + 1 or CRYPTO_X25519_IFMA + 1.
 * Two threads deciding at once decide the same, so a plain atomic store
 * is enough. */
static atomic_int backend_state;

int crypto_x25519_ifma_available(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
	       __builtin_cpu_supports("avx512ifma");
#else
	return 0;
#endif
}

static int backend_decide(void)
{
	const char *env = getenv("CLEANROOM_CRYPTO");

	if (env != NULL && strcmp(env, "portable") == 0)
		return CRYPTO_X25519_PORTABLE;
	return crypto_x25519_ifma_available() ? CRYPTO_X25519_IFMA : CRYPTO_X25519_PORTABLE;
}

static int backend_get(void)
{
	int b = atomic_load(&backend_state);

	if (b == 0) {
		b = backend_decide() + 1;
		atomic_store(&backend_state, b);
	}
	return b - 1;
}

void crypto_x25519_backend_reset(void)
{
	atomic_store(&backend_state, 0);
}

const char *crypto_x25519_backend(void)
{
	return backend_get() == CRYPTO_X25519_IFMA ? "ifma" : "portable";
}

/* Records the first refusal (indices come in increasing order). */
static void note_refusal(cr_err *first, size_t *first_index, cr_err rc, size_t i)
{
	if (rc != CR_OK && *first == CR_OK) {
		*first = rc;
		*first_index = i;
	}
}

/*
 * Writes a group's accepted lanes to out[i .. i + 7] and records its first
 * refusal. With `stop`, the lanes after the first refusal of the whole call
 * are not written either (crypto_x25519_mul_pairs's contract).
 */
static void lanes_done(uint8_t *out, size_t i, const uint8_t r[8][32], const cr_err rc[8], bool stop,
		       cr_err *first, size_t *first_index)
{
	for (size_t l = 0; l < 8; l++) {
		if (rc[l] == CR_OK && !(stop && *first != CR_OK))
			memcpy(out + 32 * (i + l), r[l], 32);
		note_refusal(first, first_index, rc[l], i + l);
	}
}

static size_t mul_groups_ifma(const uint8_t s[static 32], const uint8_t *in, uint8_t *out,
			      size_t n, cr_err *first, size_t *first_index)
{
	uint8_t kappa[8][32], p[8][32], r[8][32];
	cr_err rc[8];
	size_t i;

	crypto_x25519_kappa(s, kappa[0]);
	for (int l = 1; l < 8; l++)
		memcpy(kappa[l], kappa[0], 32);
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(p, in + 32 * i, sizeof(p));
		crypto_x25519_ifma_mul8_kappa(kappa, p, r, rc);
		lanes_done(out, i, (const uint8_t(*)[32])r, rc, false, first, first_index);
	}
	sodium_memzero(kappa, sizeof(kappa));
	sodium_memzero(r, sizeof(r));
	return i;
}

cr_err crypto_x25519_mul_many_impl(int backend, const uint8_t s[static 32], const uint8_t *in,
				   uint8_t *out, size_t n, size_t *bad_index)
{
	cr_err first = CR_OK;
	size_t first_index = 0, i = 0;

	if (backend == CRYPTO_X25519_IFMA && crypto_x25519_ifma_available())
		i = mul_groups_ifma(s, in, out, n, &first, &first_index);
	for (; i < n; i++) {
		cr_err rc = crypto_x25519_mul(s, in + 32 * i, out + 32 * i);

		note_refusal(&first, &first_index, rc, i);
	}
	if (first != CR_OK && bad_index != NULL)
		*bad_index = first_index;
	return first;
}

cr_err crypto_x25519_mul_many(const uint8_t s[static 32], const uint8_t *in, uint8_t *out,
			      size_t n, size_t *bad_index)
{
	return crypto_x25519_mul_many_impl(backend_get(), s, in, out, n, bad_index);
}

/* Groups of eight pairs, a scalar each, on the IFMA lanes; returns how many
 * were done (a multiple of eight). */
static size_t pairs_groups_ifma(const uint8_t *scalars, const uint8_t *in, uint8_t *out, size_t n,
				cr_err *first, size_t *first_index)
{
	uint8_t sc[8][32], p[8][32], r[8][32];
	cr_err rc[8];
	size_t i;

	for (i = 0; i + 8 <= n && *first == CR_OK; i += 8) {
		memcpy(sc, scalars + 32 * i, sizeof(sc));
		memcpy(p, in + 32 * i, sizeof(p));
		crypto_x25519_ifma_mul8((const uint8_t(*)[32])sc, (const uint8_t(*)[32])p, r, rc);
		lanes_done(out, i, (const uint8_t(*)[32])r, rc, true, first, first_index);
	}
	sodium_memzero(sc, sizeof(sc));
	sodium_memzero(r, sizeof(r));
	return i;
}

cr_err crypto_x25519_mul_pairs(const uint8_t *scalars, const uint8_t *in, uint8_t *out, size_t n,
			       size_t *bad_index)
{
	cr_err first = CR_OK;
	size_t first_index = 0, i = 0;

	if (backend_get() == CRYPTO_X25519_IFMA)
		i = pairs_groups_ifma(scalars, in, out, n, &first, &first_index);
	for (; i < n && first == CR_OK; i++) {
		cr_err rc = crypto_x25519_mul(scalars + 32 * i, in + 32 * i, out + 32 * i);

		note_refusal(&first, &first_index, rc, i);
	}
	if (first != CR_OK && bad_index != NULL)
		*bad_index = first_index;
	return first;
}

/* Groups of eight digests on the IFMA lanes: the scalar half per element,
 * then the field half of the eight at once; returns how many were done (a
 * multiple of eight). Lane l of a group is element i + l. */
static size_t hash_groups_ifma(enum crypto_id_type t, const uint8_t *digests, uint8_t *out,
			       size_t n, cr_err *first, size_t *first_index)
{
	crypto_fe r[2];
	uint8_t r0[8][32], r1[8][32], u[8][32], v[8][32];
	cr_err rc[8];
	unsigned ident;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		for (size_t l = 0; l < 8; l++) {
			crypto_x25519_hash_to_group_field(t, digests + CRYPTO_DIGEST_BYTES * (i + l), r);
			crypto_fe_tobytes(r0[l], &r[0]);
			crypto_fe_tobytes(r1[l], &r[1]);
		}
		ident = crypto_x25519_ifma_hash_from_field8((const uint8_t(*)[32])r0,
							    (const uint8_t(*)[32])r1, u, v);
		/* whether a result is the identity is public: it is refused */
		CR_CT_PUBLIC(&ident, sizeof(ident));
		for (size_t l = 0; l < 8; l++)
			rc[l] = ((ident >> l) & 1) ? CR_ERR_PSI_IDENTITY : CR_OK;
		lanes_done(out, i, (const uint8_t(*)[32])u, rc, false, first, first_index);
	}
	sodium_memzero(r, sizeof(r));
	sodium_memzero(r0, sizeof(r0));
	sodium_memzero(r1, sizeof(r1));
	sodium_memzero(u, sizeof(u));
	sodium_memzero(v, sizeof(v));
	return i;
}

cr_err crypto_x25519_hash_many_impl(int backend, enum crypto_id_type t, const uint8_t *digests,
				    uint8_t *out, size_t n)
{
	cr_err first = CR_OK;
	size_t first_index = 0, i = 0;

	if (backend == CRYPTO_X25519_IFMA && crypto_x25519_ifma_available())
		i = hash_groups_ifma(t, digests, out, n, &first, &first_index);
	for (; i < n; i++) {
		cr_err rc = crypto_x25519_hash_to_group(t, digests + CRYPTO_DIGEST_BYTES * i, out + 32 * i);

		note_refusal(&first, &first_index, rc, i);
	}
	return first;
}

cr_err crypto_x25519_hash_many(enum crypto_id_type t, const uint8_t *digests, uint8_t *out, size_t n)
{
	return crypto_x25519_hash_many_impl(backend_get(), t, digests, out, n);
}
