/* Unit tests for crypto/phone.c and crypto/phonenumber.cc: E.164
 * normalization by libphonenumber (docs/spec/identifiers.md, "Phone"), the
 * two wrong answers of issue 21 put right, the library's rules for national
 * and international prefixes, validation per country, every refusal with
 * its exact code, the default-country table against the library, and
 * nothing written to stdout or stderr. Numbers are fictional or reserved
 * (UK 020 7946 0xxx, US 555-01xx) or libphonenumber's example numbers. */
#include "test_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/phonenumber.h"

static void phone_ok(const char *raw, const char *country, const char *want)
{
	const struct crypto_id_opts opts = { .profile = NULL, .default_country = country };
	char out[CRYPTO_NORMALIZED_MAX + 1];
	cr_err rc = crypto_id_normalize(CRYPTO_ID_PHONE, raw, strlen(raw), &opts, out);
	if (rc != CR_OK)
		print_error("input \"%s\" (%s): %s\n", raw, country ? country : "-", cr_errname(rc));
	assert_int_equal(rc, CR_OK);
	if (strcmp(out, want) != 0)
		print_error("input \"%s\" (%s): %s, want %s\n", raw, country ? country : "-", out, want);
	assert_string_equal(out, want);
}

static void phone_refused(const char *raw, size_t len, const char *country, cr_err want)
{
	const struct crypto_id_opts opts = { .profile = NULL, .default_country = country };
	char out[CRYPTO_NORMALIZED_MAX + 1] = "untouched";
	cr_err rc = crypto_id_normalize(CRYPTO_ID_PHONE, raw, len, &opts, out);
	if (rc != want)
		print_error("input \"%s\" (%s): got %s, want %s\n", raw, country ? country : "-",
			    cr_errname(rc), cr_errname(want));
	assert_int_equal(rc, want);
	assert_string_equal(out, "untouched");
}

#define REFUSED(raw, country, want) phone_refused((raw), strlen(raw), (country), (want))

/* Issue 21: the hand-written normalizer gave +4402079460958 and
 * +868613800138000, numbers of the right length that nobody has. */
static void test_issue_21_wrong_answers_put_right(void **state)
{
	(void)state;
	phone_ok("+44 (0) 20 7946 0958", NULL, "+442079460958");
	phone_ok("+44(0)2079460958", "GB", "+442079460958");
	phone_ok("8613800138000", "CN", "+8613800138000");
	phone_ok("86 138 0013 8000", "CN", "+8613800138000");
	/* without a country the digits say nothing about one */
	REFUSED("8613800138000", NULL, CR_ERR_ID_PHONE_NO_COUNTRY);
}

static void test_with_plus(void **state)
{
	(void)state;
	phone_ok("+86 138 0013 8000", NULL, "+8613800138000");
	phone_ok("+44 20 7946 0958", NULL, "+442079460958");
	phone_ok("+1 (201) 555-0123", NULL, "+12015550123");
	phone_ok("+1.201.555.0123", NULL, "+12015550123");
	phone_ok(" +852-2345-6789\n", NULL, "+85223456789");
	phone_ok("(+44) 20 7946 0958", NULL, "+442079460958");
	/* with '+', the default country does not change the number */
	phone_ok("+44 20 7946 0958", "CN", "+442079460958");
	phone_ok("+86 138 0013 8000", "US", "+8613800138000");
	/* a non-geographic calling code (libphonenumber's example) */
	phone_ok("+800 1234 5678", NULL, "+80012345678");
	/* what the library also reads: full-width digits and plus, RFC 3966,
	 * letters on the keypad */
	phone_ok("+86 \xef\xbc\x91\xef\xbc\x93\xef\xbc\x98 0013 8000", NULL, "+8613800138000");
	phone_ok("\xef\xbc\x8b" "86 138 0013 8000", NULL, "+8613800138000");
	phone_ok("tel:+86-138-0013-8000", NULL, "+8613800138000");
	phone_ok("+1 800 FLOWERS", NULL, "+18003569377");
}

/* National forms with a default country: the country's national prefix
 * goes, its calling code comes in front. */
static void test_national_forms(void **state)
{
	(void)state;
	phone_ok("(201) 555-0123", "US", "+12015550123");
	phone_ok("1 (201) 555-0123", "US", "+12015550123");
	phone_ok("(604) 555-0123", "CA", "+16045550123");
	phone_ok("138 0013 8000", "CN", "+8613800138000");
	phone_ok("138-0013-8000", "cn", "+8613800138000");
	phone_ok("010 1234 5678", "CN", "+861012345678");
	phone_ok("020 7946 0958", "GB", "+442079460958");
	phone_ok("20 7946 0958", "GB", "+442079460958");
	phone_ok("030 1234567", "DE", "+49301234567");
	phone_ok("01 23 45 67 89", "FR", "+33123456789");
	phone_ok("03-1234-5678", "JP", "+81312345678");
	phone_ok("2345 6789", "HK", "+85223456789");
	phone_ok("6123 4567", "SG", "+6561234567");
	/* Italy keeps its leading 0: it is part of the number, not a prefix */
	phone_ok("02 1234 5678", "IT", "+390212345678");
	/* a national prefix in a number that already has '+' is dropped too */
	phone_ok("+86 (0) 138 0013 8000", NULL, "+8613800138000");
}

/* The international call prefix of the default country stands for '+'. */
static void test_international_prefix(void **state)
{
	(void)state;
	phone_ok("00 44 20 7946 0958", "CN", "+442079460958");
	phone_ok("00 44 20 7946 0958", "GB", "+442079460958");
	phone_ok("0086 138 0013 8000", "CN", "+8613800138000");
	phone_ok("011 86 138 0013 8000", "US", "+8613800138000");
	/* the library reads "+00" with CN as 00, the international prefix */
	phone_ok("+0086 138 0013 8000", "CN", "+8613800138000");
	/* 00 is not the US international prefix: a national number, too long */
	REFUSED("0044 20 7946 0958", "US", CR_ERR_ID_PHONE_LENGTH);
	/* a prefix and too little after it */
	REFUSED("00 1", "CN", CR_ERR_ID_PHONE_LENGTH);
}

/* Validation per country: the right length is not enough. */
static void test_validity_per_country(void **state)
{
	(void)state;
	REFUSED("+1 123 456 7890", NULL, CR_ERR_ID_PHONE_INVALID);  /* no area code starts with 1 */
	REFUSED("+86 100 0013 8000", NULL, CR_ERR_ID_PHONE_INVALID);
	REFUSED("+44 20 7946 095", NULL, CR_ERR_ID_PHONE_INVALID);
	REFUSED("+1 555 0100", NULL, CR_ERR_ID_PHONE_LENGTH);       /* a local number: no area code */
	REFUSED("555-0100", "US", CR_ERR_ID_PHONE_LENGTH);
	REFUSED("+1 201 555 01234", NULL, CR_ERR_ID_PHONE_LENGTH);
	REFUSED("13800138000123", "CN", CR_ERR_ID_PHONE_LENGTH);
	REFUSED("1380013800012", "CN", CR_ERR_ID_PHONE_LENGTH);
	REFUSED("+86 1", NULL, CR_ERR_ID_PHONE_LENGTH);
}

static void test_refusals(void **state)
{
	(void)state;
	REFUSED("138 0013 8000", NULL, CR_ERR_ID_PHONE_NO_COUNTRY);
	REFUSED("(201) 555-0123", NULL, CR_ERR_ID_PHONE_NO_COUNTRY);
	/* no country code after '+' */
	REFUSED("+999 1234 5678", NULL, CR_ERR_ID_PHONE_PREFIX);
	REFUSED("+0 123 456 789", NULL, CR_ERR_ID_PHONE_PREFIX);
	REFUSED("+999 1234 5678", "GB", CR_ERR_ID_PHONE_PREFIX);
	/* extensions: a switchboard's people must not become one */
	REFUSED("+86 138 0013 8000 ext 5", NULL, CR_ERR_ID_PHONE_EXTENSION);
	REFUSED("+44 20 7946 0958 x12", NULL, CR_ERR_ID_PHONE_EXTENSION);
	REFUSED("+44 20 7946 0958;ext=12", NULL, CR_ERR_ID_PHONE_EXTENSION);
	/* not a number at all, or two */
	REFUSED("()", "CN", CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("- . -", NULL, CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("+", NULL, CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("n/a", "CN", CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("86+13800138000", "CN", CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("+86 138 0013 8000 / +86 138 0013 8001", NULL, CR_ERR_ID_PHONE_MALFORMED);
	/* control bytes and bytes that are not UTF-8 never reach the library
	 * (which reads an RFC 3966 number past anything before "tel:") */
	phone_ok("tel:13800138000;phone-context=+86", NULL, "+8613800138000");
	REFUSED("\x01tel:13800138000;phone-context=+86", NULL, CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("\xfftel:13800138000;phone-context=+86", NULL, CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("138\t0013\t8000", "CN", CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("\x01+8613800138000", NULL, CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("+8613800138000\x7f", NULL, CR_ERR_ID_PHONE_MALFORMED);
	REFUSED("+86 138 0013 8000 \xff", NULL, CR_ERR_ID_PHONE_MALFORMED);
	phone_refused("138\0" "0013 8000", 13, "CN", CR_ERR_ID_PHONE_MALFORMED);
	/* options are checked before the value */
	REFUSED("+44 20 7946 0958", "XX", CR_ERR_ID_COUNTRY);
	REFUSED("+44 20 7946 0958", "GBR", CR_ERR_ID_COUNTRY);
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

/* The default countries are exactly the regions libphonenumber knows: for
 * every pair of letters, the table (crypto_id_normalize's option check)
 * and the library (crypto_phonenumber_parse) say the same. */
static void test_country_table_is_the_librarys(void **state)
{
	(void)state;
	char code[3] = { 0 }, out[CRYPTO_NORMALIZED_MAX + 1], e164[CRYPTO_PHONENUMBER_E164_CAP];
	size_t known = 0;

	for (char a = 'A'; a <= 'Z'; a++) {
		for (char b = 'A'; b <= 'Z'; b++) {
			const struct crypto_id_opts opts = { .profile = NULL, .default_country = code };
			code[0] = a;
			code[1] = b;
			bool table = crypto_id_normalize(CRYPTO_ID_PHONE, "+1", 2, &opts, out) !=
				     CR_ERR_ID_COUNTRY;
			bool library = crypto_phonenumber_parse("+1", 2, code, e164) !=
				       CRYPTO_PHONENUMBER_REGION;
			if (table != library)
				print_error("region %s: table %d, libphonenumber %d\n", code, table, library);
			assert_int_equal(table, library);
			known += table;
		}
	}
	assert_int_equal(known, 245); /* libphonenumber 8.12.57 */
}

/* Reads what was written to fd since it was made (a temporary file). */
static off_t written(int fd)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	return st.st_size;
}

/* Nothing about a number, accepted or refused, is written to stdout or
 * stderr: the library logs through a null logger. */
static void test_nothing_logged(void **state)
{
	(void)state;
	static const char *const inputs[] = {
		"+44 20 7946 0958", "+999 1234 5678", "+1 123 456 7890", "call me", "+86 1",
		"+44 20 7946 0958 ext 12", "00 1",
	};
	char tmpl[] = "/tmp/cr-phone-log-XXXXXX", out[CRYPTO_NORMALIZED_MAX + 1];
	int fd = mkstemp(tmpl), saved_out = dup(1), saved_err = dup(2), accepted = 0;

	assert_true(fd >= 0 && saved_out >= 0 && saved_err >= 0);
	unlink(tmpl);
	fflush(stdout);
	fflush(stderr);
	assert_true(dup2(fd, 1) >= 0 && dup2(fd, 2) >= 0);
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		for (int c = 0; c < 3; c++) {
			static const char *const countries[] = { NULL, "CN", "ZZ" };
			const struct crypto_id_opts opts = { .default_country = countries[c] };
			accepted += crypto_id_normalize(CRYPTO_ID_PHONE, inputs[i], strlen(inputs[i]),
							&opts, out) == CR_OK;
		}
	}
	(void)crypto_phonenumber_parse("+44 20 7946 0958", 16, "ZZ", out);
	fflush(stdout);
	fflush(stderr);
	assert_true(dup2(saved_out, 1) >= 0 && dup2(saved_err, 2) >= 0);
	close(saved_out);
	close(saved_err);
	assert_int_equal(written(fd), 0);
	close(fd);
	assert_int_equal(accepted, 2); /* the first number, with no country and with CN */
}

/* The service normalizes on many threads at once (ingest, requests): the
 * library's answers do not depend on what other threads ask it. */
static const char *const mixed[][2] = {
	{ "+44 (0) 20 7946 0958", NULL }, { "8613800138000", "CN" }, { "00 44 20 7946 0958", "CN" },
	{ "1 (201) 555-0123", "US" }, { "+1 123 456 7890", NULL }, { "02 1234 5678", "IT" },
	{ "+44 20 7946 0958 ext 12", NULL }, { "+999 1234 5678", NULL }, { "(0)", "GB" },
};
#define MIXED_N (sizeof(mixed) / sizeof(mixed[0]))

struct phone_thread {
	char want[MIXED_N][CRYPTO_NORMALIZED_MAX + 1];
	cr_err want_rc[MIXED_N];
	int offset, mismatches;
};

static void *phone_worker(void *arg)
{
	struct phone_thread *t = arg;
	char out[CRYPTO_NORMALIZED_MAX + 1];
	for (int i = 0; i < 3000; i++) {
		size_t k = (size_t)(i + t->offset) % MIXED_N;
		const struct crypto_id_opts opts = { .default_country = mixed[k][1] };
		out[0] = '\0';
		cr_err rc = crypto_id_normalize(CRYPTO_ID_PHONE, mixed[k][0], strlen(mixed[k][0]), &opts, out);
		if (rc != t->want_rc[k] || (rc == CR_OK && strcmp(out, t->want[k]) != 0))
			t->mismatches++;
	}
	return NULL;
}

static void test_threads_get_the_same_answers(void **state)
{
	(void)state;
	struct phone_thread t[4];
	pthread_t tid[4];

	for (size_t k = 0; k < MIXED_N; k++) {
		const struct crypto_id_opts opts = { .default_country = mixed[k][1] };
		t[0].want[k][0] = '\0';
		t[0].want_rc[k] = crypto_id_normalize(CRYPTO_ID_PHONE, mixed[k][0], strlen(mixed[k][0]),
						      &opts, t[0].want[k]);
	}
	for (int i = 0; i < 4; i++) {
		if (i > 0)
			memcpy(&t[i], &t[0], sizeof(t[0]));
		t[i].offset = i * 7;
		t[i].mismatches = 0;
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&tid[i], NULL, phone_worker, &t[i]), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(t[i].mismatches, 0);
	}
	assert_int_equal(t[0].want_rc[0], CR_OK);
	assert_int_equal(t[0].want_rc[4], CR_ERR_ID_PHONE_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_21_wrong_answers_put_right),
		cmocka_unit_test(test_with_plus),
		cmocka_unit_test(test_national_forms),
		cmocka_unit_test(test_international_prefix),
		cmocka_unit_test(test_validity_per_country),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_size_bounds),
		cmocka_unit_test(test_country_table_is_the_librarys),
		cmocka_unit_test(test_nothing_logged),
		cmocka_unit_test(test_threads_get_the_same_answers),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
