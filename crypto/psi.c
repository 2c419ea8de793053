/*
 * psi.c: the PSI group of suite r255-sha512 (docs/spec/psi-protocol.md): hashing
 * (type, digest) into ristretto255, the scalars (a fresh random one per
 * session, a long-term one per brand and key version), and the one checked
 * scalar multiplication every round of the protocol is built from. All of it
 * is libsodium's ristretto255; this file adds the domain separation, the
 * key derivation and the refusals (invalid encodings, the identity).
 */
#include <string.h>

#include <sodium.h>

#include "crypto/crypto_internal.h"

#define PSI_HASH_LABEL "cleanroom/psi/v1"
#define PSI_SCALAR_LABEL "cleanroom/psi/brand-scalar/v1"

void crypto_psi_hash_to_group(enum crypto_id_type t,
			      const uint8_t digest[static CRYPTO_DIGEST_BYTES],
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

cr_err crypto_psi_mul(const uint8_t s[static CRYPTO_PSI_SCALAR_BYTES],
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
