/* Unit tests for crypto/ident.c: every known answer and refusal of
 * docs/spec/identifiers.md (tests/vectors/identifiers) (byte for byte, inputs with their spaces), identifier
 * types, option checks, size bounds, and digests given as 64 hex. */
#include "test_util.h"

#include <jansson.h>
#include <sodium.h>

#include "crypto/crypto.h"

static const struct crypto_id_opts us = { .profile = NULL, .default_country = "US" };

/* The known answers of docs/spec/identifiers.md, profile default, read from
 * tests/vectors/identifiers/known-answers.json (the same file the browser
 * test reads), so the C code and the consent center are held to one table. */
static json_t *load_vectors(void)
{
	char path[512];
	json_error_t err;
	json_t *doc;

	snprintf(path, sizeof(path), "%s/identifiers/known-answers.json", test_vectors_dir());
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (doc == NULL)
		print_error("%s: %s (line %d)\n", path, err.text, err.line);
	assert_non_null(doc);
	return doc;
}

static enum crypto_id_type vector_type(const json_t *entry)
{
	enum crypto_id_type t = CRYPTO_ID_EMAIL;
	assert_int_equal(crypto_id_type_parse(json_string_value(json_object_get(entry, "type")), &t),
			 CR_OK);
	return t;
}

static void test_known_answers(void **state)
{
	(void)state;
	json_t *doc = load_vectors();
	json_t *answers = json_object_get(doc, "answers");
	size_t i;
	json_t *k;

	assert_true(json_array_size(answers) >= 15);
	json_array_foreach(answers, i, k) {
		const char *input = json_string_value(json_object_get(k, "input"));
		const char *country = json_string_value(json_object_get(k, "default_country"));
		const char *normalized = json_string_value(json_object_get(k, "normalized"));
		const char *hex = json_string_value(json_object_get(k, "sha256"));
		const struct crypto_id_opts opts = { .profile = NULL, .default_country = country };
		enum crypto_id_type type = vector_type(k);
		char norm[CRYPTO_NORMALIZED_MAX + 1];
		uint8_t want[32], got[32];

		assert_non_null(input);
		assert_non_null(normalized);
		assert_non_null(hex);
		assert_int_equal(cr_hex_decode_exact(hex, 64, want, 32), CR_OK);
		assert_int_equal(crypto_id_normalize(type, input, strlen(input), &opts, norm), CR_OK);
		assert_string_equal(norm, normalized);
		assert_int_equal(crypto_id_digest(type, input, strlen(input), &opts, got), CR_OK);
		assert_bytes_equal(got, want, 32);
		memset(got, 0, sizeof(got));
		assert_int_equal(crypto_subject_digest(type, input, strlen(input), &opts, got), CR_OK);
		assert_bytes_equal(got, want, 32);
	}
	json_decref(doc);
}

/* Every refusal of the vector file is refused, with its exact error, and
 * never hashed. */
static void test_vector_refusals(void **state)
{
	(void)state;
	json_t *doc = load_vectors();
	json_t *refused = json_object_get(doc, "refused");
	const uint8_t zero[32] = { 0 };
	size_t i;
	json_t *k;

	assert_true(json_array_size(refused) >= 12);
	json_array_foreach(refused, i, k) {
		const char *input = json_string_value(json_object_get(k, "input"));
		const char *refusal = json_string_value(json_object_get(k, "refusal"));
		const struct crypto_id_opts opts = {
			.profile = NULL,
			.default_country = json_string_value(json_object_get(k, "default_country")),
		};
		char norm[CRYPTO_NORMALIZED_MAX + 1] = "untouched";
		uint8_t digest[32] = { 0 };
		cr_err want;

		assert_non_null(input);
		assert_non_null(refusal);
		assert_true(cr_errcode_parse(refusal, &want));
		if (crypto_id_normalize(vector_type(k), input, strlen(input), &opts, norm) != want)
			print_error("refused[%zu] \"%s\": not refused as %s\n", i, input, refusal);
		assert_int_equal(crypto_id_normalize(vector_type(k), input, strlen(input), &opts, norm),
				 want);
		assert_string_equal(norm, "untouched");
		assert_int_equal(crypto_id_digest(vector_type(k), input, strlen(input), &opts, digest),
				 want);
		assert_bytes_equal(digest, zero, 32);
	}
	json_decref(doc);
}

/* The refusal row of the table with its exact errors: "", "   ", "no-at-sign", "a@b". */
static void test_known_refusals(void **state)
{
	(void)state;
	char norm[CRYPTO_NORMALIZED_MAX + 1] = "untouched";
	uint8_t digest[32] = { 0 };
	const uint8_t zero[32] = { 0 };

	assert_int_equal(crypto_id_normalize(CRYPTO_ID_EMAIL, "", 0, NULL, norm), CR_ERR_ID_EMPTY);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_EMAIL, "   ", 3, NULL, norm), CR_ERR_ID_EMPTY);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_EMAIL, "no-at-sign", 10, NULL, norm),
			 CR_ERR_ID_EMAIL_MALFORMED);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_EMAIL, "a@b", 3, NULL, norm),
			 CR_ERR_ID_EMAIL_MALFORMED);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_PHONE, "", 0, &us, norm), CR_ERR_ID_EMPTY);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_PHONE, "   ", 3, &us, norm), CR_ERR_ID_EMPTY);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_EMAIL, " \t\r\n\v\f", 6, NULL, norm),
			 CR_ERR_ID_EMPTY);
	assert_string_equal(norm, "untouched");
	/* never hashed: the digest stays as it was */
	assert_int_equal(crypto_id_digest(CRYPTO_ID_EMAIL, "", 0, NULL, digest), CR_ERR_ID_EMPTY);
	assert_int_equal(crypto_id_digest(CRYPTO_ID_EMAIL, "a@b", 3, NULL, digest),
			 CR_ERR_ID_EMAIL_MALFORMED);
	assert_int_equal(crypto_subject_digest(CRYPTO_ID_EMAIL, "   ", 3, NULL, digest),
			 CR_ERR_ID_EMPTY);
	assert_bytes_equal(digest, zero, 32);
}

static void test_type_parse_name_guess(void **state)
{
	(void)state;
	enum crypto_id_type t = CRYPTO_ID_PHONE;

	assert_int_equal(crypto_id_type_parse("email", &t), CR_OK);
	assert_int_equal(t, CRYPTO_ID_EMAIL);
	assert_int_equal(crypto_id_type_parse("phone", &t), CR_OK);
	assert_int_equal(t, CRYPTO_ID_PHONE);
	assert_int_equal(crypto_id_type_parse("Email", &t), CR_ERR_ID_TYPE);
	assert_int_equal(crypto_id_type_parse("", &t), CR_ERR_ID_TYPE);
	assert_int_equal(crypto_id_type_parse("emails", &t), CR_ERR_ID_TYPE);
	assert_int_equal(crypto_id_type_parse(NULL, &t), CR_ERR_ID_TYPE);
	assert_int_equal(t, CRYPTO_ID_PHONE);
	assert_string_equal(crypto_id_type_name(CRYPTO_ID_EMAIL), "email");
	assert_string_equal(crypto_id_type_name(CRYPTO_ID_PHONE), "phone");
	assert_null(crypto_id_type_name((enum crypto_id_type)0));
	assert_null(crypto_id_type_name((enum crypto_id_type)3));
	assert_int_equal(crypto_id_type_guess("a@b.com", 7), CRYPTO_ID_EMAIL);
	assert_int_equal(crypto_id_type_guess("+86 138", 7), CRYPTO_ID_PHONE);
	assert_int_equal(crypto_id_type_guess("", 0), CRYPTO_ID_PHONE);
	/* only the given length is looked at */
	assert_int_equal(crypto_id_type_guess("ab@", 2), CRYPTO_ID_PHONE);

	char norm[CRYPTO_NORMALIZED_MAX + 1];
	uint8_t d[32];
	assert_int_equal(crypto_id_normalize((enum crypto_id_type)9, "a@b.com", 7, NULL, norm),
			 CR_ERR_ID_TYPE);
	assert_int_equal(crypto_id_digest((enum crypto_id_type)9, "a@b.com", 7, NULL, d),
			 CR_ERR_ID_TYPE);
}

/* Options are checked first, whatever the value. */
static void test_options(void **state)
{
	(void)state;
	char norm[CRYPTO_NORMALIZED_MAX + 1];
	const struct crypto_id_opts deflt = { .profile = "default", .default_country = NULL };
	const struct crypto_id_opts uid2 = { .profile = "uid2", .default_country = NULL };
	const struct crypto_id_opts xx = { .profile = NULL, .default_country = "XX" };
	const struct crypto_id_opts chn = { .profile = NULL, .default_country = "CHN" };
	const struct crypto_id_opts lower = { .profile = NULL, .default_country = "cn" };
	const struct crypto_id_opts empty = { .profile = NULL, .default_country = "" };

	assert_int_equal(crypto_id_normalize(CRYPTO_ID_EMAIL, "A@B.CO", 6, &deflt, norm), CR_OK);
	assert_string_equal(norm, "a@b.co");
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_EMAIL, "a@b.co", 6, &uid2, norm),
			 CR_ERR_ID_PROFILE);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_EMAIL, "", 0, &uid2, norm), CR_ERR_ID_PROFILE);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_PHONE, "1", 1, &xx, norm), CR_ERR_ID_COUNTRY);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_EMAIL, "a@b.co", 6, &xx, norm),
			 CR_ERR_ID_COUNTRY);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_PHONE, "1", 1, &chn, norm), CR_ERR_ID_COUNTRY);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_PHONE, "1", 1, &empty, norm),
			 CR_ERR_ID_COUNTRY);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_PHONE, "138 0013 8000", 13, &lower, norm),
			 CR_OK);
	assert_string_equal(norm, "+8613800138000");
}

/* Raw values are bounded before anything else is done with them. */
static void test_size_bounds(void **state)
{
	(void)state;
	char raw[CRYPTO_ID_RAW_MAX + 1];
	char norm[CRYPTO_NORMALIZED_MAX + 1];

	memset(raw, ' ', sizeof(raw));
	memcpy(raw + 500, "Bob@Example.org", 15);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_EMAIL, raw, CRYPTO_ID_RAW_MAX, NULL, norm),
			 CR_OK);
	assert_string_equal(norm, "bob@example.org");
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_EMAIL, raw, CRYPTO_ID_RAW_MAX + 1, NULL, norm),
			 CR_ERR_TOO_LARGE);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_PHONE, raw, CRYPTO_ID_RAW_MAX + 1, &us, norm),
			 CR_ERR_TOO_LARGE);
}

static void test_digest_parse_hex(void **state)
{
	(void)state;
	const char *lower = "7dcd3a39ad3a8d2145645ec612ed4f6fa3f297b47bdcf7e0aeb76040f5e24e89";
	const char *upper = "7DCD3A39AD3A8D2145645EC612ED4F6FA3F297B47BDCF7E0AEB76040F5E24E89";
	uint8_t a[32], b[32], untouched[32];
	char bad[65];

	assert_int_equal(crypto_digest_parse_hex(lower, 64, a), CR_OK);
	assert_int_equal(crypto_digest_parse_hex(upper, 64, b), CR_OK);
	assert_bytes_equal(a, b, 32);
	memset(untouched, 0x5a, sizeof(untouched));
	memcpy(b, untouched, 32);
	assert_int_equal(crypto_digest_parse_hex(lower, 63, b), CR_ERR_ID_DIGEST);
	assert_int_equal(crypto_digest_parse_hex(lower, 0, b), CR_ERR_ID_DIGEST);
	memcpy(bad, lower, 64);
	bad[64] = '0';
	assert_int_equal(crypto_digest_parse_hex(bad, 65, b), CR_ERR_ID_DIGEST);
	bad[10] = 'g';
	assert_int_equal(crypto_digest_parse_hex(bad, 64, b), CR_ERR_ID_DIGEST);
	bad[10] = ' ';
	assert_int_equal(crypto_digest_parse_hex(bad, 64, b), CR_ERR_ID_DIGEST);
	assert_bytes_equal(b, untouched, 32);
}

/* 64 hex is a digest already (docs/spec/identifiers.md, "Digest"); anything else is a
 * raw identifier. */
static void test_subject_digest(void **state)
{
	(void)state;
	const char *upper = "7DCD3A39AD3A8D2145645EC612ED4F6FA3F297B47BDCF7E0AEB76040F5E24E89";
	const struct crypto_id_opts uid2 = { .profile = "uid2", .default_country = NULL };
	uint8_t want[32], got[32];

	assert_int_equal(crypto_id_digest(CRYPTO_ID_EMAIL, "alice.smith@example.com", 23, NULL,
					  want), CR_OK);
	assert_int_equal(crypto_subject_digest(CRYPTO_ID_EMAIL, upper, 64, NULL, got), CR_OK);
	assert_bytes_equal(got, want, 32);
	assert_int_equal(crypto_subject_digest(CRYPTO_ID_PHONE, upper, 64, NULL, got), CR_OK);
	assert_bytes_equal(got, want, 32);
	/* 63 hex characters are not a digest, and not an email either */
	assert_int_equal(crypto_subject_digest(CRYPTO_ID_EMAIL, upper, 63, NULL, got),
			 CR_ERR_ID_EMAIL_MALFORMED);
	assert_int_equal(crypto_subject_digest(CRYPTO_ID_EMAIL, upper, 64, &uid2, got),
			 CR_ERR_ID_PROFILE);
	assert_int_equal(crypto_subject_digest((enum crypto_id_type)0, upper, 64, NULL, got),
			 CR_ERR_ID_TYPE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_known_refusals),
		cmocka_unit_test(test_vector_refusals),
		cmocka_unit_test(test_type_parse_name_guess),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_size_bounds),
		cmocka_unit_test(test_digest_parse_hex),
		cmocka_unit_test(test_subject_digest),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
