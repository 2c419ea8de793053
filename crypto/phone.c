/*
 * phone.c: normalization of phone numbers to E.164 ("+", country code,
 * national number, digits only), profile "default" (docs/spec/identifiers.md).
 *
 * The value arrives trimmed of ASCII whitespace. Then:
 *  - spaces, '-', '(', ')' and '.' are separators and dropped; '+' is allowed
 *    only as the very first character; anything else is
 *    CR_ERR_ID_PHONE_MALFORMED. A value of separators only is CR_ERR_ID_EMPTY;
 *  - with '+', the digits are the E.164 number as written and a default
 *    country is ignored. A country code never starts with 0, so "+0..." is
 *    CR_ERR_ID_PHONE_PREFIX;
 *  - without '+', a default country is needed (CR_ERR_ID_PHONE_NO_COUNTRY).
 *    The national digits are then read the way people write them at home,
 *    with one deliberately small rule: if they start with the country's
 *    trunk prefix (table below: "0" in most countries, "1" in the NANP
 *    countries, none in HK, SG, IT, ...) that one prefix is dropped, and the
 *    country code is put in front. So with CN, "010 6552 9988" gives
 *    +861065529988; with US, "1 (650) 253-1234" and "(650) 253-1234" both give
 *    +16502531234. Digits that start with "00" (the international call
 *    prefix in most of the world) are refused with CR_ERR_ID_PHONE_PREFIX
 *    rather than guessed at: write such numbers with '+';
 *  - the result must have 8 to 15 digits after '+' (CR_ERR_ID_PHONE_LENGTH).
 * No attempt is made to validate numbering plans (that is libphonenumber's
 * job, and the spec does not ask for it).
 */
#include <string.h>

#include <sodium.h>

#include "crypto/crypto_internal.h"

#define E164_MIN_DIGITS 8
#define E164_MAX_DIGITS 15

struct crypto_country {
	char iso2[3];
	const char *calling_code;
	const char *trunk_prefix; /* "" when the country has none */
};

/* Default countries (ISO 3166 alpha-2). Sorted by code for readers only. */
static const struct crypto_country countries[] = {
	{ "AU", "61", "0" },
	{ "CA", "1", "1" },
	{ "CN", "86", "0" },
	{ "DE", "49", "0" },
	{ "ES", "34", "" },
	{ "FR", "33", "0" },
	{ "GB", "44", "0" },
	{ "HK", "852", "" },
	{ "IN", "91", "0" },
	{ "IT", "39", "" },
	{ "JP", "81", "0" },
	{ "KR", "82", "0" },
	{ "MO", "853", "" },
	{ "NL", "31", "0" },
	{ "SG", "65", "" },
	{ "TW", "886", "0" },
	{ "US", "1", "1" },
};

static char ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

cr_err crypto_country_find(const char *iso2, const struct crypto_country **out)
{
	if (strlen(iso2) != 2)
		return CR_ERR_ID_COUNTRY;
	for (size_t i = 0; i < sizeof(countries) / sizeof(countries[0]); i++) {
		if (countries[i].iso2[0] == ascii_upper(iso2[0]) &&
		    countries[i].iso2[1] == ascii_upper(iso2[1])) {
			*out = &countries[i];
			return CR_OK;
		}
	}
	return CR_ERR_ID_COUNTRY;
}

static bool phone_separator(char c)
{
	return c == ' ' || c == '-' || c == '(' || c == ')' || c == '.';
}

/*
 * Collects the digits of (s, len) into digits[], at most E164_MAX_DIGITS + 1
 * of them (one more than allowed is enough to know it is too long); *count
 * gets the true number. *plus tells whether the value starts with '+'.
 */
static cr_err phone_digits(const char *s, size_t len, char digits[static E164_MAX_DIGITS + 1],
			   size_t *count, bool *plus)
{
	size_t n = 0, i = 0;

	*plus = s[0] == '+';
	if (*plus)
		i = 1;
	for (; i < len; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9') {
			if (n < E164_MAX_DIGITS + 1)
				digits[n] = c;
			n++;
		} else if (!phone_separator(c)) {
			return CR_ERR_ID_PHONE_MALFORMED;
		}
	}
	*count = n;
	return CR_OK;
}

/* Writes "+" cc national into out, checking the E.164 length. */
static cr_err phone_compose(const char *cc, size_t cc_len, const char *national,
			    size_t national_len, char out[static CRYPTO_NORMALIZED_MAX + 1])
{
	size_t total = cc_len + national_len;

	if (national_len == 0 || total < E164_MIN_DIGITS || total > E164_MAX_DIGITS)
		return CR_ERR_ID_PHONE_LENGTH;
	out[0] = '+';
	memcpy(out + 1, cc, cc_len);
	memcpy(out + 1 + cc_len, national, national_len);
	out[1 + total] = '\0';
	return CR_OK;
}

cr_err crypto_phone_normalize(const char *s, size_t len, const struct crypto_country *country,
			      char out[static CRYPTO_NORMALIZED_MAX + 1])
{
	char digits[E164_MAX_DIGITS + 1];
	const char *national = digits;
	size_t n = 0, trunk_len;
	bool plus = false;
	cr_err rc;

	rc = phone_digits(s, len, digits, &n, &plus);
	if (rc != CR_OK)
		goto out;
	if (n == 0) {
		rc = plus ? CR_ERR_ID_PHONE_LENGTH : CR_ERR_ID_EMPTY;
		goto out;
	}
	/* Too many digits, whatever a trunk prefix would remove: at most one
	 * digit comes off and at least one (the country code) goes on. */
	if (n > E164_MAX_DIGITS) {
		rc = CR_ERR_ID_PHONE_LENGTH;
		goto out;
	}
	if (plus) {
		rc = digits[0] == '0' ? CR_ERR_ID_PHONE_PREFIX
				      : phone_compose("", 0, digits, n, out);
		goto out;
	}
	if (country == NULL) {
		rc = CR_ERR_ID_PHONE_NO_COUNTRY;
		goto out;
	}
	if (n >= 2 && digits[0] == '0' && digits[1] == '0') {
		rc = CR_ERR_ID_PHONE_PREFIX;
		goto out;
	}
	trunk_len = strlen(country->trunk_prefix);
	if (trunk_len > 0 && n >= trunk_len && memcmp(digits, country->trunk_prefix, trunk_len) == 0) {
		national += trunk_len;
		n -= trunk_len;
	}
	rc = phone_compose(country->calling_code, strlen(country->calling_code), national, n, out);
out:
	sodium_memzero(digits, sizeof(digits));
	return rc;
}
