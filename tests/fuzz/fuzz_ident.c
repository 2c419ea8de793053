/*
 * fuzz_ident.c: libFuzzer target for identifier normalization
 * (crypto/ident.c, email.c, phone.c and, through phonenumber.cc,
 * libphonenumber), the parser every uploaded row goes through.
 *
 * The first input byte picks the type, the default country (including an
 * unknown one and none) and the profile; the rest is the raw value. Besides
 * surviving any input under ASan/UBSan, every accepted value must satisfy
 * the spec's output rules and be a fixed point (normalizing the normalized
 * form gives it back), and the digest functions must agree with
 * normalization on what they accept, refuse and hash. A broken invariant
 * aborts, which libFuzzer reports as a crash.
 *
 * The library itself is not instrumented (Debian's build); the fuzzer
 * still drives it with every input and checks what it returns.
 *
 * Build: `make build/fuzz/fuzz_ident` (phonenumber.cc is compiled apart
 * with clang++, and the target links -lphonenumber -lstdc++).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const countries[] = { NULL, "CN", "US", "GB", "HK", "it", "XX", "AR", "RU", "xk" };

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_ident: invariant broken: %s\n", what);
		abort();
	}
}

static int refusal_expected(cr_err rc)
{
	switch (rc) {
	case CR_ERR_ID_EMPTY:
	case CR_ERR_ID_EMAIL_MALFORMED:
	case CR_ERR_ID_PHONE_NO_COUNTRY:
	case CR_ERR_ID_PHONE_LENGTH:
	case CR_ERR_ID_PHONE_MALFORMED:
	case CR_ERR_ID_PHONE_PREFIX:
	case CR_ERR_ID_PHONE_INVALID:
	case CR_ERR_ID_PHONE_EXTENSION:
	case CR_ERR_ID_PROFILE:
	case CR_ERR_ID_COUNTRY:
	case CR_ERR_TOO_LARGE:
		return 1;
	default:
		return 0;
	}
}

static void check_email(const char *s, size_t len)
{
	size_t ats = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		check(c > 0x20 && c < 0x7f, "email byte outside printable ASCII");
		check(!(c >= 'A' && c <= 'Z'), "email not lowercased");
		ats += c == '@';
	}
	check(ats == 1, "email without exactly one '@'");
	check(s[0] != '@' && s[len - 1] != '.' && strchr(strchr(s, '@'), '.') != NULL,
	      "email local part or domain malformed");
}

/* E.164 as libphonenumber writes it: '+', a country code (1 to 3 digits,
 * never starting with 0) and a national number of 2 to 17 digits. */
static void check_phone(const char *s, size_t len)
{
	check(s[0] == '+', "phone without '+'");
	check(len >= 4 && len <= 21, "phone not 3..20 digits");
	check(s[1] != '0', "phone country code starts with 0");
	for (size_t i = 1; i < len; i++)
		check(s[i] >= '0' && s[i] <= '9', "phone with a non-digit");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char norm[CRYPTO_NORMALIZED_MAX + 1], again[CRYPTO_NORMALIZED_MAX + 1];
	uint8_t d1[CRYPTO_DIGEST_BYTES], d2[CRYPTO_DIGEST_BYTES], want[CRYPTO_DIGEST_BYTES];
	struct crypto_id_opts opts;
	enum crypto_id_type t;
	const char *raw;
	size_t raw_len;
	cr_err rc, rc2;

	if (size < 1 || sodium_init() < 0)
		return 0;
	t = (data[0] & 1) ? CRYPTO_ID_PHONE : CRYPTO_ID_EMAIL;
	opts.default_country = countries[(data[0] >> 1) % (sizeof(countries) / sizeof(countries[0]))];
	opts.profile = (data[0] & 0x80) ? ((data[0] & 0x40) ? "uid2" : "default") : NULL;
	raw = (const char *)data + 1;
	raw_len = size - 1;

	(void)crypto_id_type_guess(raw, raw_len);
	(void)crypto_digest_parse_hex(raw, raw_len, d1);

	rc = crypto_id_normalize(t, raw, raw_len, &opts, norm);
	rc2 = crypto_id_digest(t, raw, raw_len, &opts, d1);
	check(rc == rc2, "normalize and digest disagree on acceptance");
	if (rc != CR_OK) {
		check(refusal_expected(rc), "unexpected error code");
		return 0;
	}

	size_t len = strlen(norm);
	check(len > 0 && len <= CRYPTO_NORMALIZED_MAX, "normalized length out of bounds");
	if (t == CRYPTO_ID_EMAIL)
		check_email(norm, len);
	else
		check_phone(norm, len);

	/* a fixed point: the normalized form normalizes to itself, and a phone
	 * number's E.164 form does so whatever the default country */
	check(crypto_id_normalize(t, norm, len, &opts, again) == CR_OK, "normalized form refused");
	check(strcmp(norm, again) == 0, "normalization not idempotent");
	if (t == CRYPTO_ID_PHONE) {
		const struct crypto_id_opts none = { .profile = NULL, .default_country = NULL };
		check(crypto_id_normalize(t, norm, len, &none, again) == CR_OK &&
		      strcmp(norm, again) == 0, "E.164 form depends on the default country");
	}

	/* digest = SHA-256(normalized), and subject_digest agrees (an accepted
	 * raw value is never 64 hex: no '@', or more than 15 digits) */
	crypto_hash_sha256(want, (const uint8_t *)norm, len);
	check(memcmp(d1, want, sizeof(want)) == 0, "digest is not SHA-256 of the normalized form");
	check(crypto_subject_digest(t, raw, raw_len, &opts, d2) == CR_OK, "subject digest refused");
	check(memcmp(d2, want, sizeof(want)) == 0, "subject digest differs");

	sodium_memzero(norm, sizeof(norm));
	sodium_memzero(again, sizeof(again));
	return 0;
}
