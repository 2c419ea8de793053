/*
 * psi.c: the PSI groups (docs/spec/psi-protocol.md): the suites' names, hashing
 * (type, digest) into the suite's group, the scalars (a fresh random one per
 * session, a long-term one per brand and key version; both groups have the
 * order l, so scalars are shared), and the one checked scalar
 * multiplication every round of the protocol is built from.
 *
 * Suite r255-sha512 is libsodium's ristretto255; this file adds the domain
 * separation, the key derivation and the refusals (invalid encodings, the
 * identity). Suite x25519-ell2-sha512 is ours: crypto/x25519.c (field and
 * ladder), crypto/x25519_h2c.c (RFC 9380 hash to curve) and
 * crypto/x25519_batch.c (eight lanes on AVX-512 IFMA).
 */
#include <string.h>

#include <sodium.h>

#include "crypto/crypto_internal.h"

#define PSI_HASH_LABEL "cleanroom/psi/v1"
#define PSI_SCALAR_LABEL "cleanroom/psi/brand-scalar/v1"

static const char *const suite_names[] = {
	[CRYPTO_PSI_R255] = "r255-sha512",
	[CRYPTO_PSI_X25519] = "x25519-ell2-sha512",
};

const char *crypto_psi_suite_name(enum crypto_psi_suite suite)
{
	if ((unsigned)suite >= sizeof(suite_names) / sizeof(suite_names[0]))
		return NULL;
	return suite_names[suite];
}

cr_err crypto_psi_suite_parse(const char *name, enum crypto_psi_suite *out)
{
	for (size_t i = 0; i < sizeof(suite_names) / sizeof(suite_names[0]); i++)
		if (suite_names[i] != NULL && name != NULL && strcmp(name, suite_names[i]) == 0) {
			*out = (enum crypto_psi_suite)i;
			return CR_OK;
		}
	return CR_ERR_PSI_SUITE;
}

/* crypto_psi_suite_name, but a value outside the enum aborts (misuse). */
static void suite_checked(enum crypto_psi_suite suite)
{
	if (crypto_psi_suite_name(suite) == NULL)
		cr_die("PSI suite outside the enum");
}

static void r255_hash(enum crypto_id_type t, const uint8_t digest[static CRYPTO_DIGEST_BYTES],
		      uint8_t out[static CRYPTO_PSI_ELEMENT_BYTES])
{
	const char *type = crypto_id_type_name_checked(t);
	const uint8_t zero = 0x00;
	crypto_hash_sha512_state st;
	uint8_t h[crypto_hash_sha512_BYTES];

	/* "cleanroom/psi/v1" 0x00 type 0x00 digest: NUL-separated fields that
	 * contain no NUL, so the encoding is unambiguous. */
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, (const uint8_t *)PSI_HASH_LABEL, sizeof(PSI_HASH_LABEL) - 1);
	crypto_hash_sha512_update(&st, &zero, 1);
	crypto_hash_sha512_update(&st, (const uint8_t *)type, strlen(type));
	crypto_hash_sha512_update(&st, &zero, 1);
	crypto_hash_sha512_update(&st, digest, CRYPTO_DIGEST_BYTES);
	crypto_hash_sha512_final(&st, h);
	crypto_core_ristretto255_from_hash(out, h);
	/* The digest is personal data and h a function of it alone. */
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(h, sizeof(h));
}

cr_err crypto_psi_hash_to_group(enum crypto_psi_suite suite, enum crypto_id_type t,
				const uint8_t digest[static CRYPTO_DIGEST_BYTES],
				uint8_t out[static CRYPTO_PSI_ELEMENT_BYTES])
{
	suite_checked(suite);
	if (suite == CRYPTO_PSI_X25519)
		return crypto_x25519_hash_to_group(t, digest, out);
	r255_hash(t, digest, out);
	/* The identity's only encoding is 32 zero bytes (probability 2^-252). */
	return sodium_is_zero(out, CRYPTO_PSI_ELEMENT_BYTES) ? CR_ERR_PSI_IDENTITY : CR_OK;
}

void crypto_psi_generator(enum crypto_psi_suite suite, uint8_t out[static CRYPTO_PSI_ELEMENT_BYTES])
{
	static const uint8_t one[CRYPTO_PSI_SCALAR_BYTES] = { 1 };

	suite_checked(suite);
	if (suite == CRYPTO_PSI_X25519) {
		/* RFC 7748's base point u = 9, of order l */
		memset(out, 0, CRYPTO_PSI_ELEMENT_BYTES);
		out[0] = 9;
		return;
	}
	if (crypto_scalarmult_ristretto255_base(out, one) != 0)
		cr_die("crypto_scalarmult_ristretto255_base");
}

void crypto_psi_scalar_random(uint8_t s[static CRYPTO_PSI_SCALAR_BYTES])
{
	crypto_sodium_ready();
	/* libsodium draws until the scalar is canonical and non-zero. */
	crypto_core_ristretto255_scalar_random(s);
}

cr_err crypto_psi_brand_scalar(const struct crypto_keyring *kr, uint64_t brand_id,
			       uint32_t version, uint8_t k[static CRYPTO_PSI_SCALAR_BYTES])
{
	uint8_t subkey[CRYPTO_KEY_BYTES];
	uint8_t wide[crypto_core_ristretto255_NONREDUCEDSCALARBYTES];
	uint8_t s[CRYPTO_PSI_SCALAR_BYTES];
	cr_err rc;

	rc = crypto_subkey_derive(kr, brand_id, CRYPTO_USE_PSI, version, subkey);
	if (rc != CR_OK)
		goto out;
	/* 512 bits reduced mod L: the bias is about 2^-259, far below anything
	 * that matters, where reducing 256 bits would leave a visible one. */
	if (crypto_generichash(wide, sizeof(wide), (const uint8_t *)PSI_SCALAR_LABEL,
			       sizeof(PSI_SCALAR_LABEL) - 1, subkey, sizeof(subkey)) != 0) {
		rc = CR_ERR_CRYPTO;
		goto out;
	}
	crypto_core_ristretto255_scalar_reduce(s, wide);
	if (sodium_is_zero(s, sizeof(s))) {
		rc = CR_ERR_CRYPTO;
		goto out;
	}
	memcpy(k, s, sizeof(s));
out:
	sodium_memzero(subkey, sizeof(subkey));
	sodium_memzero(wide, sizeof(wide));
	sodium_memzero(s, sizeof(s));
	return rc;
}

void crypto_psi_scalar_mul(const uint8_t a[static 32], const uint8_t b[static 32],
			   uint8_t out[static 32])
{
	crypto_core_ristretto255_scalar_mul(out, a, b);
}

static cr_err r255_mul(const uint8_t s[static CRYPTO_PSI_SCALAR_BYTES],
		       const uint8_t p[static CRYPTO_PSI_ELEMENT_BYTES],
		       uint8_t out[static CRYPTO_PSI_ELEMENT_BYTES])
{
	uint8_t q[CRYPTO_PSI_ELEMENT_BYTES];
	cr_err rc = CR_OK;

	/* The identity's only encoding is 32 zero bytes. */
	if (sodium_is_zero(p, CRYPTO_PSI_ELEMENT_BYTES)) {
		rc = CR_ERR_PSI_IDENTITY;
		goto out;
	}
	/* RFC 9496 4.3.1: a string whose value is >= p does not decode. With
	 * bit 255 set it is >= 2^255; libsodium 1.0.18 ignores that bit, so
	 * one point would have two encodings (and the partner a second name
	 * for an element it has already sent). */
	if (p[CRYPTO_PSI_ELEMENT_BYTES - 1] & 0x80) {
		rc = CR_ERR_PSI_ENCODING;
		goto out;
	}
	/*
	 * crypto_scalarmult_ristretto255 decodes `p` with the very check
	 * crypto_core_ristretto255_is_valid_point makes (ristretto255_frombytes)
	 * and fails on an invalid encoding or an identity result. Calling
	 * is_valid_point only after a failure, to tell the two apart, gives the
	 * same answers as calling it first while decoding each valid point once
	 * instead of twice: this is the hot loop of every match.
	 */
	if (crypto_scalarmult_ristretto255(q, s, p) != 0) {
		rc = crypto_core_ristretto255_is_valid_point(p) ? CR_ERR_PSI_IDENTITY
								: CR_ERR_PSI_ENCODING;
		goto out;
	}
	memcpy(out, q, sizeof(q));
out:
	sodium_memzero(q, sizeof(q));
	return rc;
}

cr_err crypto_psi_mul(enum crypto_psi_suite suite,
		      const uint8_t s[static CRYPTO_PSI_SCALAR_BYTES],
		      const uint8_t p[static CRYPTO_PSI_ELEMENT_BYTES],
		      uint8_t out[static CRYPTO_PSI_ELEMENT_BYTES])
{
	suite_checked(suite);
	if (suite == CRYPTO_PSI_X25519)
		return crypto_x25519_mul(s, p, out);
	return r255_mul(s, p, out);
}
