/* Unit tests for crypto/phone.c: E.164 normalization (docs/spec/identifiers.md),
 * the default-country table, the one documented trunk-prefix rule, and
 * every refusal with its exact code. */
#include "test_util.h"

#include <sodium.h>

#include "crypto/crypto.h"

static void phone_ok(const char *raw, const char *country, const char *want)
{
	const struct crypto_id_opts opts = { .profile = NULL, .default_country = country };
	char out[CRYPTO_NORMALIZED_MAX + 1];
	cr_err rc = crypto_id_normalize(CRYPTO_ID_PHONE, raw, strlen(raw), &opts, out);
	if (rc != CR_OK)
		print_error("input \"%s\" (%s): %s\n", raw, country ? country : "-", cr_errname(rc));
	assert_int_equal(rc, CR_OK);
	assert_string_equal(out, want);
}

static void phone_refused(const char *raw, size_t len, const char *country, cr_err want)
{
	const struct crypto_id_opts opts = { .profile = NULL, .default_country = country };
	char out[CRYPTO_NORMALIZED_MAX + 1] = "untouched";
	cr_err rc = crypto_id_normalize(CRYPTO_ID_PHONE, raw, len, &opts, out);
	if (rc != want)
		print_error("input \"%s\" (%s): got %s\n", raw, country ? country : "-",
			    cr_errname(rc));
	assert_int_equal(rc, want);
	assert_string_equal(out, "untouched");
}

#define REFUSED(raw, country, want) phone_refused((raw), strlen(raw), (country), (want))

static void test_with_plus(void **state)
{
	(void)state;
	phone_ok("+86 138 0013 8000", NULL, "+8613800138000");
	phone_ok("+44 20 7946 0958", NULL, "+442079460958");
	phone_ok("+1 (650) 253-1234", NULL, "+16502531234");
	phone_ok("+1.650.253.1234", NULL, "+16502531234");
	phone_ok(" +852-2345-6789\n", NULL, "+85223456789");
	/* with '+', a default country is ignored */
	phone_ok("+44 20 7946 0958", "CN", "+442079460958");
	/* 8 and 15 digits are the bounds */
	phone_ok("+12345678", NULL, "+12345678");
	phone_ok("+123456789012345", NULL, "+123456789012345");
}

/* Each default country of the table, with and without its trunk prefix. */
static void test_default_countries(void **state)
{
	(void)state;
	phone_ok("(650) 253-1234", "US", "+16502531234");
	phone_ok("1 (650) 253-1234", "US", "+16502531234");
	phone_ok("650-253-1234", "CA", "+16502531234");
	phone_ok("138 0013 8000", "CN", "+8613800138000");
	phone_ok("138-0013-8000", "cn", "+8613800138000");
	phone_ok("010 6552 9988", "CN", "+861065529988");
	phone_ok("020 7946 0958", "GB", "+442079460958");
	phone_ok("20 7946 0958", "GB", "+442079460958");
	phone_ok("030 1234567", "DE", "+49301234567");
	phone_ok("01 23 45 67 89", "FR", "+33123456789");
	phone_ok("03-1234-5678", "JP", "+81312345678");
	phone_ok("2345 6789", "HK", "+85223456789");
	phone_ok("6123 4567", "SG", "+6561234567");
	/* no trunk prefix in Italy: the 0 is part of the number */
	phone_ok("06 1234 5678", "IT", "+390612345678");
	/* 15 digits with the country code is the most there can be */
	phone_ok("1380013800012", "CN", "+861380013800012");
}

static void test_refusals(void **state)
{
	(void)state;
	REFUSED("138 0013 8000", NULL, CR_ERR_ID_PHONE_NO_COUNTRY);
	REFUSED("(650) 253-1234", NULL, CR_ERR_ID_PHONE_NO_COUNTRY);
	/* characters other than digits and separators */
	REFUSED("+86 138 0013 8000 ext 5", NULL, CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("tel:+8613800138000", NULL, CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("86+13800138000", "CN", CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("++8613800138000", NULL, CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("138\t0013\t8000", "CN", CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("138/0013/8000", "CN", CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98", "CN", CR_ERR_ID_PHONE_MALFORMED); /* full-width digits */
	phone_refused("138\0" "0013", 8, "CN", CR_ERR_ID_PHONE_MALFORMED);
	/* prefixes */
	REFUSED("+0 123 456 789", NULL, CR_ERR_ID_PHONE_PREFIX);
	REFUSED("0086 138 0013 8000", "CN", CR_ERR_ID_PHONE_PREFIX);
	REFUSED("00 44 20 7946 0958", "GB", CR_ERR_ID_PHONE_PREFIX);
	/* length after '+' */
	REFUSED("+", NULL, CR_ERR_ID_PHONE_LENGTH);
	REFUSED("+ ( )", NULL, CR_ERR_ID_PHONE_LENGTH);
	REFUSED("+1234567", NULL, CR_ERR_ID_PHONE_LENGTH);
	REFUSED("+1234567890123456", NULL, CR_ERR_ID_PHONE_LENGTH);
	REFUSED("1234", "HK", CR_ERR_ID_PHONE_LENGTH);       /* +8521234: 7 digits */
	REFUSED("0", "CN", CR_ERR_ID_PHONE_LENGTH);          /* nothing after the trunk 0 */
	REFUSED("1", "US", CR_ERR_ID_PHONE_LENGTH);
	REFUSED("1380013800012345", "CN", CR_ERR_ID_PHONE_LENGTH);
	REFUSED("13800138000123", "CN", CR_ERR_ID_PHONE_LENGTH); /* 2 + 14 = 16 digits */
	REFUSED("0012 3456", "HK", CR_ERR_ID_PHONE_PREFIX);
	/* separators only */
	REFUSED("()", "CN", CR_ERR_ID_EMPTY);
	REFUSED("- . -", NULL, CR_ERR_ID_EMPTY);
}

static void test_size_bounds(void **state)
{
	(void)state;
	char raw[CRYPTO_ID_RAW_MAX + 1];

	memset(raw, '5', sizeof(raw));
	raw[0] = '+';
	phone_refused(raw, CRYPTO_ID_RAW_MAX, NULL, CR_ERR_ID_PHONE_LENGTH);
	phone_refused(raw, CRYPTO_ID_RAW_MAX + 1, NULL, CR_ERR_TOO_LARGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_with_plus),
		cmocka_unit_test(test_default_countries),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_size_bounds),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
