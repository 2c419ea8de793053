/*
 * link.c: sealing and opening consent-link tokens (see link.h). The claims
 * are a fixed 60-byte layout read back through a bounds-checked cursor;
 * every refusal of a token is the same CR_ERR_LINK_INVALID, so a holder
 * learns nothing from trying variants.
 */
#include <string.h>

#include <sodium.h>

#include "cleanroom/link.h"

#define LINK_AD "cleanroom consent link v1"
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define RAW_BYTES (NONCE_BYTES + LINK_CLAIMS_BYTES + TAG_BYTES)
#define PREFIX_LEN (sizeof(LINK_TOKEN_PREFIX) - 1)

cr_err link_key(const struct crypto_keyring *kr, uint8_t key[static LINK_KEY_BYTES])
{
	return crypto_subkey_derive(kr, 0, CRYPTO_USE_LINK, 1, key);
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* The fixed layout of link.h. */
static void claims_encode(const struct link_claims *c, uint8_t out[static LINK_CLAIMS_BYTES])
{
	uint8_t *p = out;
	memcpy(p, c->link_id, LINK_ID_BYTES);
	p += LINK_ID_BYTES;
	put_be(p, (uint64_t)c->brand, 8);
	p += 8;
	put_be(p, c->subject.key_version, 4);
	p += 4;
	memcpy(p, c->subject.bytes, CRYPTO_PSEUDONYM_BYTES);
	p += CRYPTO_PSEUDONYM_BYTES;
	put_be(p, (uint64_t)c->expires, 8);
}

static cr_err claims_decode(const uint8_t *in, size_t len, struct link_claims *out)
{
	struct cr_cursor cur;
	uint64_t brand = 0, expires = 0;
	uint32_t kv = 0;
	cr_err rc;
	cr_cursor_init(&cur, in, len);
	rc = cr_cursor_bytes(&cur, out->link_id, LINK_ID_BYTES);
	if (rc == CR_OK)
		rc = cr_cursor_u64be(&cur, &brand);
	if (rc == CR_OK)
		rc = cr_cursor_u32be(&cur, &kv);
	if (rc == CR_OK)
		rc = cr_cursor_bytes(&cur, out->subject.bytes, CRYPTO_PSEUDONYM_BYTES);
	if (rc == CR_OK)
		rc = cr_cursor_u64be(&cur, &expires);
	if (rc == CR_OK)
		rc = cr_cursor_expect_end(&cur);
	if (rc != CR_OK || brand < 1 || brand > INT64_MAX || expires > INT64_MAX)
		return CR_ERR_LINK_INVALID;
	out->brand = (int64_t)brand;
	out->subject.key_version = kv;
	out->expires = (cr_time_ms)expires;
	return CR_OK;
}

cr_err link_token_seal(const uint8_t key[static LINK_KEY_BYTES], const struct link_claims *c,
		       char out[static LINK_TOKEN_MAX + 1])
{
	uint8_t claims[LINK_CLAIMS_BYTES], raw[RAW_BYTES];
	unsigned long long clen = 0;
	cr_err rc = CR_ERR_INVALID_ARG;
	if (c->brand < 1)
		goto out;
	claims_encode(c, claims);
	randombytes_buf(raw, NONCE_BYTES);
	rc = CR_ERR_CRYPTO;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(raw + NONCE_BYTES, &clen, claims, sizeof(claims),
						       (const uint8_t *)LINK_AD, sizeof(LINK_AD) - 1,
						       NULL, raw, key) != 0 ||
	    clen != LINK_CLAIMS_BYTES + TAG_BYTES)
		goto out;
	memcpy(out, LINK_TOKEN_PREFIX, PREFIX_LEN);
	sodium_bin2base64(out + PREFIX_LEN, LINK_TOKEN_MAX + 1 - PREFIX_LEN, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	rc = CR_OK;
out:
	sodium_memzero(claims, sizeof(claims));
	return rc;
}

cr_err link_token_open(const uint8_t key[static LINK_KEY_BYTES], const char *token, size_t len,
		       cr_time_ms now, struct link_claims *out)
{
	uint8_t raw[RAW_BYTES], claims[LINK_CLAIMS_BYTES];
	struct link_claims got;
	unsigned long long plen = 0;
	size_t raw_len = 0;
	const char *end = NULL;
	cr_err rc = CR_ERR_LINK_INVALID;
	if (token == NULL || len <= PREFIX_LEN || len > LINK_TOKEN_MAX ||
	    memcmp(token, LINK_TOKEN_PREFIX, PREFIX_LEN) != 0 ||
	    !cr_base64_alphabet_ok(token + PREFIX_LEN, len - PREFIX_LEN, true))
		goto out;
	if (sodium_base642bin(raw, sizeof(raw), token + PREFIX_LEN, len - PREFIX_LEN, NULL, &raw_len,
			      &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    raw_len != sizeof(raw) || end != token + len)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(claims, &plen, NULL, raw + NONCE_BYTES,
						       sizeof(raw) - NONCE_BYTES,
						       (const uint8_t *)LINK_AD, sizeof(LINK_AD) - 1,
						       raw, key) != 0 ||
	    plen != sizeof(claims))
		goto out;
	rc = claims_decode(claims, sizeof(claims), &got);
	if (rc == CR_OK && now >= got.expires)
		rc = CR_ERR_LINK_EXPIRED;
	if (rc == CR_OK)
		*out = got;
out:
	sodium_memzero(claims, sizeof(claims));
	sodium_memzero(&got, sizeof(got));
	return rc;
}
