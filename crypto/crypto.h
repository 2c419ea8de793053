/*
 * crypto.h: every cryptographic building block of the clean room.
 *
 *  - keys: the master key file, the service's Ed25519 signing key, and
 *    subkeys derived per (brand, use, version) that are never stored;
 *  - identifiers: normalization and SHA-256 digests (docs/spec/identifiers.md);
 *  - keyed pseudonyms: HMAC-SHA-256, domain-separated, versioned;
 *  - the PSI groups (suites r255-sha512 and x25519-ell2-sha512): hash-to-group,
 *    scalars, batch scalar multiplication on a worker pool
 *    (docs/spec/psi-protocol.md);
 *  - exact discrete Laplace noise with integer arithmetic (docs/spec/privacy.md).
 *
 * Names: libsodium owns the crypto_<primitive>_* namespace (crypto_sign,
 * crypto_kdf, ...); ours never reuse one of its primitive names, hence
 * crypto_keyring_sign rather than crypto_sign.
 *
 * Secrets live in fixed-size buffers or sodium_malloc'd memory and are wiped
 * on every path. Depends on common/, libsodium and, for phone numbers only,
 * libphonenumber (C++, behind the C interface of crypto/phonenumber.h).
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
#define CRYPTO_KEY_NAME_MAX 255 /* longest signed-note key name accepted */

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
 * read-only-protected memory; crypto_keyring_free wipes it. Nothing changes
 * it after crypto_keyring_open, so threads may share one keyring.
 */
struct crypto_keyring;

/*
 * Creates DATA/keys/ (mode 0700) holding master.key (32 random bytes) and
 * sign.key (the Ed25519 seed, with `key_name`, the signed-note key name),
 * both mode 0600, created with O_EXCL|O_NOFOLLOW: an existing file is never
 * overwritten (CR_ERR_KEY_EXISTS). `keys_dir` is the keys folder path itself;
 * if it exists already it must be ours and mode 0700 or stricter
 * (CR_ERR_KEY_PERMS). Its parent must exist (CR_ERR_IO otherwise).
 *
 * sign.key is one line in the signer-key format of golang.org/x/mod/sumdb/note
 * ("PRIVATE+KEY+<name>+<key id, 8 hex>+<base64(0x01 || seed)>"), so the key
 * can be used by the Go note tools as is. `key_name` must be 1 to
 * CRYPTO_KEY_NAME_MAX printable ASCII characters without '+' or spaces
 * (CR_ERR_INVALID_ARG otherwise).
 */
cr_err crypto_keys_create(const char *keys_dir, const char *key_name) CR_MUST_CHECK;

/*
 * Loads the keys in `keys_dir`. Refuses a folder or file that is a symbolic
 * link, not ours, not a regular file or group/world-accessible
 * (CR_ERR_KEY_PERMS); a missing folder or file (CR_ERR_KEY_MISSING); a
 * master.key that is not exactly 32 bytes or a sign.key that does not parse
 * or whose key id does not match its key (CR_ERR_KEY_CORRUPT).
 * *out is handed to the caller (free it with crypto_keyring_free).
 */
cr_err crypto_keyring_open(const char *keys_dir, struct crypto_keyring **out) CR_MUST_CHECK;
/* Wipes and frees; accepts NULL. */
void crypto_keyring_free(struct crypto_keyring *kr);

/*
 * Derives the 32-byte subkey for (brand_id, use, version) with libsodium's
 * KDF (BLAKE2b) from the master key. Distinct inputs give independent keys,
 * so pseudonyms of two brands cannot be linked (R32). The exact derivation is
 * documented at its definition (crypto/keys.c) and must never change.
 * CR_ERR_INVALID_ARG for a `use` outside enum crypto_key_use.
 * The caller wipes `out`.
 */
cr_err crypto_subkey_derive(const struct crypto_keyring *kr, uint64_t brand_id,
			    enum crypto_key_use use, uint32_t version,
			    uint8_t out[static CRYPTO_KEY_BYTES]) CR_MUST_CHECK;

/* The signing key's name (NUL-terminated) and its 32-byte Ed25519 public
 * key, both borrowed from the keyring and valid until crypto_keyring_free. */
const char *crypto_keyring_key_name(const struct crypto_keyring *kr);
const uint8_t *crypto_keyring_public_key(const struct crypto_keyring *kr);
/* Ed25519 signature of (msg, len) with the service's key (CR_ERR_CRYPTO if
 * libsodium fails, which it does not in practice). */
cr_err crypto_keyring_sign(const struct crypto_keyring *kr, const uint8_t *msg, size_t len,
		   uint8_t sig[static CRYPTO_SIG_BYTES]) CR_MUST_CHECK;

/* The keys derived from master for one use each (key separation: never
 * the log's, nor each other's): their names ("<log key name>/<use>"),
 * public keys and signatures, as above. */
enum crypto_sign_use {
	CRYPTO_SIGN_RECEIPTS, /* consent receipts: KDF context "crrcpt01", "/receipts" */
	CRYPTO_SIGN_REPORTS,  /* the officer's compliance reports: "crreport", "/reports" */
	CRYPTO_SIGN_USES
};
const char *crypto_keyring_use_key_name(const struct crypto_keyring *kr, enum crypto_sign_use u);
const uint8_t *crypto_keyring_use_public_key(const struct crypto_keyring *kr, enum crypto_sign_use u);
cr_err crypto_keyring_use_sign(const struct crypto_keyring *kr, enum crypto_sign_use u, const uint8_t *msg,
			       size_t len, uint8_t sig[static CRYPTO_SIG_BYTES]) CR_MUST_CHECK;

/* ============================================================ identifiers */

enum crypto_id_type { CRYPTO_ID_EMAIL = 1, CRYPTO_ID_PHONE = 2 };

#define CRYPTO_DIGEST_BYTES 32
#define CRYPTO_NORMALIZED_MAX 320 /* longest normalized identifier accepted */
#define CRYPTO_ID_RAW_MAX 1024    /* longest raw identifier read (CR_ERR_TOO_LARGE) */

/* "email" / "phone" (exactly, lowercase) -> enum; CR_ERR_ID_TYPE otherwise. */
cr_err crypto_id_type_parse(const char *s, enum crypto_id_type *out) CR_MUST_CHECK;
/* enum -> "email" / "phone" (static strings); NULL for a value outside the enum. */
const char *crypto_id_type_name(enum crypto_id_type t);

/* Normalization options. profile: "default" only for now. */
struct crypto_id_opts {
	const char *profile;          /* NULL means "default" */
	const char *default_country;  /* "CN", "US", ... (a libphonenumber region) or NULL: phone needs '+' */
};

/*
 * Normalizes a raw email or phone (docs/spec/identifiers.md) into `out`
 * (NUL-terminated, at most CRYPTO_NORMALIZED_MAX bytes + NUL). (raw, raw_len)
 * is borrowed and need not be NUL-terminated; `opts` may be NULL (defaults).
 * Refusals carry the reason: CR_ERR_ID_EMPTY, CR_ERR_ID_EMAIL_MALFORMED,
 * CR_ERR_ID_PHONE_NO_COUNTRY, CR_ERR_ID_PHONE_LENGTH, CR_ERR_ID_PHONE_MALFORMED,
 * CR_ERR_ID_PHONE_PREFIX, CR_ERR_ID_PHONE_INVALID, CR_ERR_ID_PHONE_EXTENSION,
 * CR_ERR_ID_PROFILE, CR_ERR_ID_COUNTRY, CR_ERR_ID_TYPE,
 * CR_ERR_TOO_LARGE (raw_len > CRYPTO_ID_RAW_MAX, or a normalized email longer
 * than CRYPTO_NORMALIZED_MAX). Options are checked before the value. The
 * exact rules, and where they go beyond the spec, are in crypto/email.c and
 * crypto/phone.c. `out` is written only on success; the caller wipes it (it
 * is personal data).
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
 * with K = subkey(brand, CRYPTO_USE_PSEUDONYM, version) (docs/spec/identifiers.md),
 * id_type the type's name ("email"/"phone"). CR_ERR_ID_TYPE for a `t`
 * outside the enum. *out is written only on success; K is wiped.
 */
cr_err crypto_pseudonym(const struct crypto_keyring *kr, uint64_t brand_id,
			uint32_t version, enum crypto_id_type t,
			const uint8_t digest[static CRYPTO_DIGEST_BYTES],
			struct crypto_pseudonym *out) CR_MUST_CHECK;

/* The same with an explicit key (for tests and batch loops that cache K).
 * A `t` outside the enum aborts (misuse). */
void crypto_pseudonym_with_key(const uint8_t key[static CRYPTO_KEY_BYTES],
			       uint32_t version, enum crypto_id_type t,
			       const uint8_t digest[static CRYPTO_DIGEST_BYTES],
			       struct crypto_pseudonym *out);

/* Plain HMAC-SHA-256 (RFC 2104) with a key of any length (libsodium hashes
 * keys longer than a block), exposed for the RFC 4231 vectors. */
void crypto_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg,
			size_t msg_len, uint8_t mac[static 32]);

/* ============================================================== PSI group */

/*
 * The two suites (docs/spec/psi-protocol.md sections 2 and 2b). Both groups
 * have the same prime order l (2^252 + ...), so scalars, their products and
 * the brand's scalar are the same for both; elements are 32 bytes in both
 * and mean different things. A dataset's suite is fixed when it is created.
 */
enum crypto_psi_suite {
	CRYPTO_PSI_R255 = 1,   /* "r255-sha512": ristretto255, libsodium */
	CRYPTO_PSI_X25519 = 2, /* "x25519-ell2-sha512": Curve25519 u-coordinates */
};
/* What a new dataset gets unless told otherwise. */
#define CRYPTO_PSI_SUITE_DEFAULT CRYPTO_PSI_X25519
#define CRYPTO_PSI_SUITE_NAME_MAX 24
#define CRYPTO_PSI_ELEMENT_BYTES 32
#define CRYPTO_PSI_SCALAR_BYTES 32

/* The suite's name as offers and the store spell it; NULL outside the enum. */
const char *crypto_psi_suite_name(enum crypto_psi_suite suite);
/* A suite's name (exactly) -> enum; CR_ERR_PSI_SUITE otherwise. */
cr_err crypto_psi_suite_parse(const char *name, enum crypto_psi_suite *out) CR_MUST_CHECK;

/*
 * H(t, d), t the type's name ("email"/"phone"), d the 32-byte digest:
 *  r255:   ristretto255_from_hash(SHA-512("cleanroom/psi/v1" 0x00 t 0x00 d));
 *  x25519: u(hash_to_curve("cleanroom/psi/v2" 0x00 t 0x00 d)), RFC 9380's
 *          curve25519_XMD:SHA-512_ELL2_RO_ with the suite's DST.
 * CR_ERR_PSI_IDENTITY in the negligible case that H is the identity. A `t`
 * or suite outside its enum aborts (misuse).
 */
cr_err crypto_psi_hash_to_group(enum crypto_psi_suite suite, enum crypto_id_type t,
				const uint8_t digest[static CRYPTO_DIGEST_BYTES],
				uint8_t out[static CRYPTO_PSI_ELEMENT_BYTES]) CR_MUST_CHECK;

/* The suite's generator (1 · G), for padding when there is no record. */
void crypto_psi_generator(enum crypto_psi_suite suite, uint8_t out[static CRYPTO_PSI_ELEMENT_BYTES]);

/* A fresh uniformly random non-zero scalar (session scalars a and b).
 * The caller wipes it. */
void crypto_psi_scalar_random(uint8_t s[static CRYPTO_PSI_SCALAR_BYTES]);
/*
 * The brand's long-term scalar k for (brand, version):
 * k = reduce(BLAKE2b-512(key = subkey(brand, CRYPTO_USE_PSI, version),
 * msg = "cleanroom/psi/brand-scalar/v1")), non-zero (CR_ERR_CRYPTO in the
 * 2^-252 case it is zero). The caller wipes `k`.
 */
cr_err crypto_psi_brand_scalar(const struct crypto_keyring *kr, uint64_t brand_id,
			       uint32_t version,
			       uint8_t k[static CRYPTO_PSI_SCALAR_BYTES]) CR_MUST_CHECK;
/* out = a * b mod L (to combine a and k into one multiplication). */
void crypto_psi_scalar_mul(const uint8_t a[static 32], const uint8_t b[static 32],
			   uint8_t out[static 32]);

/*
 * out = s * p in the suite's group. Refuses the identity, as input or
 * result (CR_ERR_PSI_IDENTITY; a zero scalar gives it; in x25519 every
 * small-order element gives it, its small-order part being cleared), and
 * any other invalid or non-canonical encoding (CR_ERR_PSI_ENCODING; in
 * x25519 a twist point too). `out` may alias `p` and is written only on
 * success.
 */
cr_err crypto_psi_mul(enum crypto_psi_suite suite,
		      const uint8_t s[static CRYPTO_PSI_SCALAR_BYTES],
		      const uint8_t p[static CRYPTO_PSI_ELEMENT_BYTES],
		      uint8_t out[static CRYPTO_PSI_ELEMENT_BYTES]) CR_MUST_CHECK;

/*
 * out[i] = scalars[i] * in[i] for n pairs on the calling thread (in and out
 * may alias), with crypto_psi_mul's refusals: the first failing index stops
 * it, its code is returned and *bad_index (if not NULL) names it. The x25519
 * suite runs eight pairs at a time where the CPU has AVX-512 IFMA.
 */
cr_err crypto_psi_mul_pairs(enum crypto_psi_suite suite, const uint8_t *scalars,
			    const uint8_t *in, uint8_t *out, size_t n,
			    size_t *bad_index) CR_MUST_CHECK;

/* ============================================================ worker pool */

/*
 * A fixed pool of threads for batch crypto. Work is split into contiguous
 * index ranges, so results are the same bytes whatever the thread count.
 */
struct crypto_pool;

#define CRYPTO_POOL_MAX_THREADS 256

/*
 * threads == 0 means one per online core. More than CRYPTO_POOL_MAX_THREADS
 * is CR_ERR_INVALID_ARG; a thread that cannot be started is CR_ERR_POOL.
 * *out is handed to the caller.
 */
cr_err crypto_pool_create(unsigned threads, struct crypto_pool **out) CR_MUST_CHECK;
void crypto_pool_free(struct crypto_pool *pool); /* joins; accepts NULL */
/* The number of worker threads (1 for a NULL pool, which runs inline). */
unsigned crypto_pool_threads(const struct crypto_pool *pool);

/*
 * Calls fn(ctx, begin, end) over [0, n) split across the pool's threads and
 * waits for all. Thread i of T gets the i-th of T contiguous ranges that
 * differ in length by at most one; empty ranges are not called, nor is fn
 * when n == 0. Returns the non-OK code of the lowest range that failed (the
 * same one whatever the timing). A NULL pool runs fn(ctx, 0, n) on the
 * calling thread. Runs from several threads on one pool take turns; fn must
 * not call crypto_pool_run on its own pool (that would deadlock).
 */
typedef cr_err (*crypto_pool_fn)(void *ctx, size_t begin, size_t end);
cr_err crypto_pool_run(struct crypto_pool *pool, size_t n, crypto_pool_fn fn,
		       void *ctx) CR_MUST_CHECK;

/*
 * out[i] = s * in[i] for n elements of 32 bytes (in and out may alias).
 * Fails with the refusal of the lowest failing index, whatever the thread
 * count; `*bad_index` (if not NULL) names that index and is written only on
 * failure. On failure `out` holds a partial result and must be discarded.
 */
cr_err crypto_psi_mul_batch(struct crypto_pool *pool, enum crypto_psi_suite suite,
			    const uint8_t s[static CRYPTO_PSI_SCALAR_BYTES],
			    const uint8_t *in, uint8_t *out, size_t n,
			    size_t *bad_index) CR_MUST_CHECK;

/* out[i] = H(t, digests[i]) for n 32-byte digests. CR_ERR_ID_TYPE for a `t`
 * outside the enum, CR_ERR_PSI_SUITE for a suite outside its enum (both
 * checked before any work); CR_ERR_PSI_IDENTITY as crypto_psi_hash_to_group. */
cr_err crypto_psi_hash_batch(struct crypto_pool *pool, enum crypto_psi_suite suite,
			     enum crypto_id_type t,
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

/*
 * A ChaCha20 keystream as a struct crypto_rng: seeded once from the system
 * (randombytes_buf, one call), then every draw is a copy from a buffer
 * refilled 256 bytes at a time, with no system call. One per session or
 * task, used by one thread at a time; crypto_stream_rng_wipe erases the key
 * and what is left of the buffer.
 */
#define CRYPTO_STREAM_RNG_BUF 256
struct crypto_stream_rng {
	uint8_t key[32];
	uint64_t block;               /* the next 64-byte block of the keystream */
	size_t pos;                   /* bytes of buf already handed out */
	uint8_t buf[CRYPTO_STREAM_RNG_BUF];
	struct crypto_rng rng;        /* {fill, this}: pass &s->rng */
};
void crypto_stream_rng_init(struct crypto_stream_rng *s);
/* The same stream from a given key (tests: known answers). */
void crypto_stream_rng_init_key(struct crypto_stream_rng *s, const uint8_t key[static 32]);
void crypto_stream_rng_wipe(struct crypto_stream_rng *s);

/* A uniform integer in [0, n) without modulo bias (rejection sampling on
 * 64-bit draws); `rng` NULL means randombytes_buf. n == 0 aborts (misuse). */
uint64_t crypto_random_uniform(const struct crypto_rng *rng, uint64_t n);

#endif /* CR_CRYPTO_H */
