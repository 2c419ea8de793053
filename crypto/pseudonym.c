/*
 * pseudonym.c: keyed pseudonyms of data subjects (docs/spec/identifiers.md, R30,
 * R32, R33). A pseudonym is HMAC-SHA-256 under a per-(brand, version) key of
 * a domain-separated message built from the identifier type and digest, so
 * it cannot be reversed by guessing emails without the key, and two brands'
 * pseudonyms of one person cannot be linked. HMAC is libsodium's, which
 * follows RFC 2104 for keys of any length.
 */
#include <string.h>

#include <sodium.h>

#include "crypto/crypto_internal.h"

#define PSEUDONYM_LABEL "cr-pseudonym-v1"

void crypto_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg,
			size_t msg_len, uint8_t mac[static 32])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, key_len);
	crypto_auth_hmacsha256_update(&st, msg, msg_len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

void crypto_pseudonym_with_key(const uint8_t key[static CRYPTO_KEY_BYTES],
			       uint32_t version, enum crypto_id_type t,
			       const uint8_t digest[static CRYPTO_DIGEST_BYTES],
			       struct crypto_pseudonym *out)
{
	const char *type = crypto_id_type_name_checked(t);
	const uint8_t zero = 0x00;
	crypto_auth_hmacsha256_state st;

	/* "cr-pseudonym-v1" 0x00 type 0x00 digest: the NULs keep the fields
	 * apart, and neither label nor type name contains one. */
	crypto_auth_hmacsha256_init(&st, key, CRYPTO_KEY_BYTES);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)PSEUDONYM_LABEL,
				      sizeof(PSEUDONYM_LABEL) - 1);
	crypto_auth_hmacsha256_update(&st, &zero, 1);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)type, strlen(type));
	crypto_auth_hmacsha256_update(&st, &zero, 1);
	crypto_auth_hmacsha256_update(&st, digest, CRYPTO_DIGEST_BYTES);
	crypto_auth_hmacsha256_final(&st, out->bytes);
	sodium_memzero(&st, sizeof(st));
	out->key_version = version;
}

cr_err crypto_pseudonym(const struct crypto_keyring *kr, uint64_t brand_id,
			uint32_t version, enum crypto_id_type t,
			const uint8_t digest[static CRYPTO_DIGEST_BYTES],
			struct crypto_pseudonym *out)
{
	uint8_t key[CRYPTO_KEY_BYTES];
	cr_err rc;

	if (crypto_id_type_name(t) == NULL) {
		rc = CR_ERR_ID_TYPE;
		goto out;
	}
	rc = crypto_subkey_derive(kr, brand_id, CRYPTO_USE_PSEUDONYM, version, key);
	if (rc != CR_OK)
		goto out;
	crypto_pseudonym_with_key(key, version, t, digest, out);
out:
	sodium_memzero(key, sizeof(key));
	return rc;
}
