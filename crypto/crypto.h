/*
 * crypto.h: every cryptographic building block of the clean room.
 *
 *  - keys: the master key file, the service's Ed25519 signing key, and
 *    subkeys derived per (brand, use, version) that are never stored;
 *  - identifiers: normalization and SHA-256 digests (spec/identifiers.md);
 *  - keyed pseudonyms: HMAC-SHA-256, domain-separated, versioned;
 *  - the PSI group (suite r255-sha512): hash-to-group, scalars, batch scalar
 *    multiplication on a worker pool (spec/psi-protocol.md);
 *  - exact discrete Laplace noise with integer arithmetic (spec/privacy.md).
 *
 * Names: libsodium owns the crypto_<primitive>_* namespace (crypto_sign,
 * crypto_kdf, ...); ours never reuse one of its primitive names, hence
 * crypto_keyring_sign rather than crypto_sign.
 *
 * Secrets live in fixed-size buffers or sodium_malloc'd memory and are wiped
 * on every path. Depends on common/ and libsodium only.
 */
#ifndef CR_CRYPTO_H
#define CR_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "common/common.h"

/* ================================================================== keys */

#define CRYPTO_KEY_BYTES 32
#define CRYPTO_SIGN_PK_BYTES 32
#define CRYPTO_SIGN_SK_BYTES 64
#define CRYPTO_SIG_BYTES 64

/* What a derived subkey is for; part of the derivation, never renumbered. */
enum crypto_key_use {
	CRYPTO_USE_PSEUDONYM = 1,  /* HMAC key for subject pseudonyms */
	CRYPTO_USE_PSI = 2,        /* the brand's long-term PSI scalar k */
	CRYPTO_USE_AUDIT_SALT = 3, /* reserved: audit commitments use random salts */
	CRYPTO_USE_LINK = 4,       /* signed consent links (web pages) */
	CRYPTO_USE_TOKEN = 5,      /* API token hashing pepper */
};

/*
 * The service's key material, loaded from DATA/keys/. Owns sodium_malloc'd,
 * read-only-protected memory; crypto_keyring_free wipes it.
 */
struct crypto_keyring;

/*
 * Creates DATA/keys/ (mode 0700) holding master.key (32 random bytes) and
 * sign.key (the Ed25519 seed, with `key_name`, the signed-note key name),
 * both mode 0600, created with O_EXCL|O_NOFOLLOW: an existing file is never
 * overwritten (CR_ERR_KEY_EXISTS). `keys_dir` is the keys folder path itself.
 */
cr_err crypto_keys_create(const char *keys_dir, const char *key_name) CR_MUST_CHECK;

/*
 * Loads the keys in `keys_dir`. Refuses files that are not regular files,
 * are group/world-accessible (CR_ERR_KEY_PERMS), missing (CR_ERR_KEY_MISSING)
 * or the wrong size (CR_ERR_KEY_CORRUPT). *out is handed to the caller.
 */
cr_err crypto_keyring_open(const char *keys_dir, struct crypto_keyring **out) CR_MUST_CHECK;
/* Wipes and frees; accepts NULL. */
void crypto_keyring_free(struct crypto_keyring *kr);

/*
 * Derives the 32-byte subkey for (brand_id, use, version) with libsodium's
 * KDF (BLAKE2b) from the master key. Distinct inputs give independent keys,
 * so pseudonyms of two brands cannot be linked (R32). The caller wipes `out`.
 */
cr_err crypto_subkey_derive(const struct crypto_keyring *kr, uint64_t brand_id,
			    enum crypto_key_use use, uint32_t version,
			    uint8_t out[static CRYPTO_KEY_BYTES]) CR_MUST_CHECK;

/* The signing key's name and public key (borrowed from the keyring). */
const char *crypto_keyring_key_name(const struct crypto_keyring *kr);
const uint8_t *crypto_keyring_public_key(const struct crypto_keyring *kr);
/* Ed25519 signature of (msg, len) with the service's key. */
cr_err crypto_keyring_sign(const struct crypto_keyring *kr, const uint8_t *msg, size_t len,
		   uint8_t sig[static CRYPTO_SIG_BYTES]) CR_MUST_CHECK;

/* ============================================================ identifiers */

enum crypto_id_type { CRYPTO_ID_EMAIL = 1, CRYPTO_ID_PHONE = 2 };

#define CRYPTO_DIGEST_BYTES 32
#define CRYPTO_NORMALIZED_MAX 320 /* longest normalized identifier accepted */

/* "email" / "phone" <-> enum; returns CR_ERR_ID_TYPE for anything else. */
cr_err crypto_id_type_parse(const char *s, enum crypto_id_type *out) CR_MUST_CHECK;
const char *crypto_id_type_name(enum crypto_id_type t);

/* Normalization options. profile: "default" only for now. */
struct crypto_id_opts {
	const char *profile;          /* NULL means "default" */
	const char *default_country;  /* "CN", "US", ... or NULL: phone needs '+' */
};

/*
 * Normalizes a raw email or phone (spec/identifiers.md) into `out`
 * (NUL-terminated, at most CRYPTO_NORMALIZED_MAX bytes + NUL). Refusals carry
 * the reason: CR_ERR_ID_EMPTY, CR_ERR_ID_EMAIL_MALFORMED,
 * CR_ERR_ID_PHONE_NO_COUNTRY, CR_ERR_ID_PHONE_LENGTH, CR_ERR_ID_PHONE_MALFORMED,
 * CR_ERR_ID_PROFILE, CR_ERR_ID_COUNTRY, CR_ERR_TOO_LARGE. The caller wipes
 * `out` (it is personal data).
 */
cr_err crypto_id_normalize(enum crypto_id_type t, const char *raw, size_t raw_len,
			   const struct crypto_id_opts *opts,
			   char out[static CRYPTO_NORMALIZED_MAX + 1]) CR_MUST_CHECK;

/*
 * Normalizes then hashes: digest = SHA-256(normalized). Wipes the
 * normalized form before returning.
 */
cr_err crypto_id_digest(enum crypto_id_type t, const char *raw, size_t raw_len,
			const struct crypto_id_opts *opts,
			uint8_t digest[static CRYPTO_DIGEST_BYTES]) CR_MUST_CHECK;

/* Parses a 64-hex digest (either case). CR_ERR_ID_DIGEST otherwise. */
cr_err crypto_digest_parse_hex(const char *hex, size_t len,
			       uint8_t digest[static CRYPTO_DIGEST_BYTES]) CR_MUST_CHECK;

/*
 * Takes a subject as users write it: 64 hex is a digest already, anything
 * else is a raw identifier of type `t` that is normalized and hashed.
 */
cr_err crypto_subject_digest(enum crypto_id_type t, const char *s, size_t len,
			     const struct crypto_id_opts *opts,
			     uint8_t digest[static CRYPTO_DIGEST_BYTES]) CR_MUST_CHECK;

/*
 * Guesses the type of a raw subject for inputs that do not say: contains '@'
 * means email, otherwise phone. Never used on a 64-hex digest.
 */
enum crypto_id_type crypto_id_type_guess(const char *s, size_t len);

/* ============================================================= pseudonyms */

#define CRYPTO_PSEUDONYM_BYTES 32

/* A keyed pseudonym and the key version that made it (R33). */
struct crypto_pseudonym {
	uint8_t bytes[CRYPTO_PSEUDONYM_BYTES];
	uint32_t key_version;
};

/*
 * pseudonym = HMAC-SHA-256(K, "cr-pseudonym-v1" 0x00 id_type 0x00 digest)
 * with K = subkey(brand, CRYPTO_USE_PSEUDONYM, version) (spec/identifiers.md).
 */
cr_err crypto_pseudonym(const struct crypto_keyring *kr, uint64_t brand_id,
			uint32_t version, enum crypto_id_type t,
			const uint8_t digest[static CRYPTO_DIGEST_BYTES],
			struct crypto_pseudonym *out) CR_MUST_CHECK;

/* The same with an explicit key (for tests and batch loops that cache K). */
void crypto_pseudonym_with_key(const uint8_t key[static CRYPTO_KEY_BYTES],
			       uint32_t version, enum crypto_id_type t,
			       const uint8_t digest[static CRYPTO_DIGEST_BYTES],
			       struct crypto_pseudonym *out);

/* Plain HMAC-SHA-256 (RFC 2104), exposed for the RFC 4231 vectors. */
void crypto_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg,
			size_t msg_len, uint8_t mac[static 32]);

/* ============================================================== PSI group */

#define CRYPTO_PSI_SUITE "r255-sha512"
#define CRYPTO_PSI_ELEMENT_BYTES 32
#define CRYPTO_PSI_SCALAR_BYTES 32

/*
 * H(t, d) = ristretto255_from_hash(SHA-512("cleanroom/psi/v1" 0x00 t 0x00 d)),
 * t the type's name ("email"/"phone"), d the 32-byte digest.
 */
void crypto_psi_hash_to_group(enum crypto_id_type t,
			      const uint8_t digest[static CRYPTO_DIGEST_BYTES],
			      uint8_t out[static CRYPTO_PSI_ELEMENT_BYTES]);

/* A fresh uniformly random non-zero scalar (session scalars a and b). */
void crypto_psi_scalar_random(uint8_t s[static CRYPTO_PSI_SCALAR_BYTES]);
/* The brand's long-term scalar k for (brand, version), reduced from its subkey. */
cr_err crypto_psi_brand_scalar(const struct crypto_keyring *kr, uint64_t brand_id,
			       uint32_t version,
			       uint8_t k[static CRYPTO_PSI_SCALAR_BYTES]) CR_MUST_CHECK;
/* out = a * b mod L (to combine a and k into one multiplication). */
void crypto_psi_scalar_mul(const uint8_t a[static 32], const uint8_t b[static 32],
			   uint8_t out[static 32]);

/*
 * out = s * p. Refuses an invalid encoding (CR_ERR_PSI_ENCODING) and the
 * identity, as input or result (CR_ERR_PSI_IDENTITY).
 */
cr_err crypto_psi_mul(const uint8_t s[static CRYPTO_PSI_SCALAR_BYTES],
		      const uint8_t p[static CRYPTO_PSI_ELEMENT_BYTES],
		      uint8_t out[static CRYPTO_PSI_ELEMENT_BYTES]) CR_MUST_CHECK;

/* ============================================================ worker pool */

/*
 * A fixed pool of threads for batch crypto. Work is split into contiguous
 * index ranges, so results are the same bytes whatever the thread count.
 */
struct crypto_pool;

/* threads == 0 means one per online core. *out is handed to the caller. */
cr_err crypto_pool_create(unsigned threads, struct crypto_pool **out) CR_MUST_CHECK;
void crypto_pool_free(struct crypto_pool *pool); /* joins; accepts NULL */
unsigned crypto_pool_threads(const struct crypto_pool *pool);

/*
 * Calls fn(ctx, begin, end) over [0, n) split across the pool's threads and
 * waits for all. Returns the first non-OK code any range returned.
 * A NULL pool runs fn(ctx, 0, n) on the calling thread.
 */
typedef cr_err (*crypto_pool_fn)(void *ctx, size_t begin, size_t end);
cr_err crypto_pool_run(struct crypto_pool *pool, size_t n, crypto_pool_fn fn,
		       void *ctx) CR_MUST_CHECK;

/*
 * out[i] = s * in[i] for n elements of 32 bytes (in and out may alias).
 * Fails with the first refusal; `*bad_index` (if not NULL) names it.
 */
cr_err crypto_psi_mul_batch(struct crypto_pool *pool,
			    const uint8_t s[static CRYPTO_PSI_SCALAR_BYTES],
			    const uint8_t *in, uint8_t *out, size_t n,
			    size_t *bad_index) CR_MUST_CHECK;

/* out[i] = H(t, digests[i]) for n 32-byte digests. */
cr_err crypto_psi_hash_batch(struct crypto_pool *pool, enum crypto_id_type t,
			     const uint8_t *digests, uint8_t *out, size_t n) CR_MUST_CHECK;

/* ================================================================= noise */

/*
 * A source of uniform random bytes. The default (NULL) is libsodium's
 * randombytes_buf; tests pass a seeded deterministic source.
 */
struct crypto_rng {
	void (*fill)(void *ctx, uint8_t *buf, size_t len);
	void *ctx;
};

/*
 * Samples the discrete Laplace distribution P(x) ∝ exp(-|x| * num / den)
 * (scale den/num, i.e. sensitivity/epsilon with epsilon = num/den over
 * sensitivity 1), exactly, with integer arithmetic only (Canonne, Kamath,
 * Steinke 2020). Requires 1 <= num, den <= 2^32. CR_ERR_NOISE_PARAM otherwise.
 */
cr_err crypto_noise_discrete_laplace(const struct crypto_rng *rng, uint64_t num,
				     uint64_t den, int64_t *out) CR_MUST_CHECK;

/* A uniform integer in [0, n) without modulo bias; n >= 1. */
uint64_t crypto_random_uniform(const struct crypto_rng *rng, uint64_t n);

#endif /* CR_CRYPTO_H */
