/*
 * ident.c: turning what users write into the 32-byte digests the clean room
 * works with (docs/spec/identifiers.md). It names the identifier types, checks
 * the normalization options, bounds and trims the raw value, hands it to the
 * email or phone normalizer (email.c; phone.c, which asks libphonenumber),
 * and hashes the result with SHA-256. It also accepts digests written as 64
 * hex characters. Normalized identifiers are personal data: every buffer
 * that held one is wiped.
 */
#include <string.h>

#include <sodium.h>

#include "crypto/crypto_internal.h"

#define DIGEST_HEX_LEN (2 * CRYPTO_DIGEST_BYTES)

cr_err crypto_id_type_parse(const char *s, enum crypto_id_type *out)
{
	if (s == NULL)
		return CR_ERR_ID_TYPE;
	if (strcmp(s, "email") == 0)
		*out = CRYPTO_ID_EMAIL;
	else if (strcmp(s, "phone") == 0)
		*out = CRYPTO_ID_PHONE;
	else
		return CR_ERR_ID_TYPE;
	return CR_OK;
}

const char *crypto_id_type_name(enum crypto_id_type t)
{
	switch (t) {
	case CRYPTO_ID_EMAIL:
		return "email";
	case CRYPTO_ID_PHONE:
		return "phone";
	default:
		return NULL;
	}
}

const char *crypto_id_type_name_checked(enum crypto_id_type t)
{
	const char *name = crypto_id_type_name(t);
	if (name == NULL)
		cr_die("identifier type outside enum crypto_id_type");
	return name;
}

enum crypto_id_type crypto_id_type_guess(const char *s, size_t len)
{
	return len > 0 && memchr(s, '@', len) != NULL ? CRYPTO_ID_EMAIL : CRYPTO_ID_PHONE;
}

/* Checks the options alone, so a bad profile or country is reported the same
 * way whatever the value. region[0] is NUL when no default country is set. */
static cr_err id_opts_check(const struct crypto_id_opts *opts, char region[static 3])
{
	region[0] = '\0';
	if (opts == NULL)
		return CR_OK;
	if (opts->profile != NULL && strcmp(opts->profile, "default") != 0)
		return CR_ERR_ID_PROFILE;
	if (opts->default_country != NULL)
		return crypto_country_find(opts->default_country, region);
	return CR_OK;
}

cr_err crypto_id_normalize(enum crypto_id_type t, const char *raw, size_t raw_len,
			   const struct crypto_id_opts *opts,
			   char out[static CRYPTO_NORMALIZED_MAX + 1])
{
	char region[3];
	size_t begin = 0, end = raw_len;
	cr_err rc;

	if (crypto_id_type_name(t) == NULL)
		return CR_ERR_ID_TYPE;
	rc = id_opts_check(opts, region);
	if (rc != CR_OK)
		return rc;
	if (raw_len > CRYPTO_ID_RAW_MAX)
		return CR_ERR_TOO_LARGE;
	while (begin < end && crypto_ascii_space((unsigned char)raw[begin]))
		begin++;
	while (end > begin && crypto_ascii_space((unsigned char)raw[end - 1]))
		end--;
	if (begin == end)
		return CR_ERR_ID_EMPTY;
	if (t == CRYPTO_ID_EMAIL)
		return crypto_email_normalize(raw + begin, end - begin, out);
	return crypto_phone_normalize(raw + begin, end - begin, region[0] ? region : NULL, out);
}

cr_err crypto_id_digest(enum crypto_id_type t, const char *raw, size_t raw_len,
			const struct crypto_id_opts *opts,
			uint8_t digest[static CRYPTO_DIGEST_BYTES])
{
	char norm[CRYPTO_NORMALIZED_MAX + 1];
	cr_err rc;

	rc = crypto_id_normalize(t, raw, raw_len, opts, norm);
	if (rc != CR_OK)
		goto out;
	crypto_hash_sha256(digest, (const uint8_t *)norm, strlen(norm));
out:
	sodium_memzero(norm, sizeof(norm));
	return rc;
}

cr_err crypto_digest_parse_hex(const char *hex, size_t len,
			       uint8_t digest[static CRYPTO_DIGEST_BYTES])
{
	if (len != DIGEST_HEX_LEN)
		return CR_ERR_ID_DIGEST;
	if (cr_hex_decode_exact(hex, len, digest, CRYPTO_DIGEST_BYTES) != CR_OK)
		return CR_ERR_ID_DIGEST;
	return CR_OK;
}

/* True for exactly 64 hex characters: no email (it has '@') and no valid
 * phone (at most 20 digits, docs/spec/identifiers.md) looks like that, so
 * the test is unambiguous. */
static bool looks_like_digest(const char *s, size_t len)
{
	if (len != DIGEST_HEX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

cr_err crypto_subject_digest(enum crypto_id_type t, const char *s, size_t len,
			     const struct crypto_id_opts *opts,
			     uint8_t digest[static CRYPTO_DIGEST_BYTES])
{
	char region[3];
	cr_err rc;

	if (looks_like_digest(s, len)) {
		if (crypto_id_type_name(t) == NULL)
			return CR_ERR_ID_TYPE;
		rc = id_opts_check(opts, region);
		if (rc != CR_OK)
			return rc;
		return crypto_digest_parse_hex(s, len, digest);
	}
	return crypto_id_digest(t, s, len, opts, digest);
}
