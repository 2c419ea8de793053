/* Unit tests for common/error.c: every code has a message, a name and a
 * valid HTTP status; values are unique and sit in their module's block. */
#include "test_util.h"
#include "common/common.h"

static void test_every_code_has_message_name_and_status(void **state)
{
	(void)state;
	cr_err e;
	size_t n = 0;
	for (size_t i = 0; cr_err_at(i, &e); i++, n++) {
		const char *msg = cr_strerror(e);
		assert_non_null(msg);
		assert_true(strlen(msg) > 0);
		assert_string_not_equal(msg, "unknown error");
		/* house style: messages are lowercase */
		assert_false(msg[0] >= 'A' && msg[0] <= 'Z');
		assert_string_not_equal(cr_errname(e), "CR_ERR_UNKNOWN");
		int st = cr_err_http_status(e);
		if (e == CR_OK)
			assert_int_equal(st, 200);
		else
			assert_true(st >= 400 && st <= 599);
	}
	assert_true(n > 20);
}

static void test_codes_are_unique(void **state)
{
	(void)state;
	cr_err a, b;
	for (size_t i = 0; cr_err_at(i, &a); i++)
		for (size_t j = i + 1; cr_err_at(j, &b); j++)
			assert_int_not_equal(a, b);
}

static void test_codes_stay_at_their_values(void **state)
{
	(void)state;
	/* Never renumbered: these values are part of the API. */
	assert_int_equal(CR_OK, 0);
	assert_int_equal(CR_ERR_NOMEM, 1);
	assert_int_equal(CR_ERR_PARSE, 4);
	assert_int_equal(CR_ERR_CRYPTO, 100);
	assert_int_equal(CR_ERR_AUDIT, 200);
	assert_int_equal(CR_ERR_CONSENT, 300);
	assert_int_equal(CR_ERR_STORE, 400);
}

static void test_unknown_code(void **state)
{
	(void)state;
	assert_string_equal(cr_strerror((cr_err)99999), "unknown error");
	assert_string_equal(cr_errname((cr_err)99999), "CR_ERR_UNKNOWN");
	assert_int_equal(cr_err_http_status((cr_err)99999), 500);
	assert_int_equal(cr_err_http_status(CR_ERR_NOT_FOUND), 404);
}

/* The code strings an API answer carries map back to the same error (the remote client relies on it). */
static void test_code_strings_round_trip(void **state)
{
	(void)state;
	char buf[64];
	cr_err e, back;
	for (size_t i = 1; cr_err_at(i, &e); i++) {
		assert_true(cr_errcode_parse(cr_errcode(e, buf, sizeof(buf)), &back));
		assert_int_equal(back, e);
	}
	assert_string_equal(cr_errcode(CR_ERR_BUDGET_EXHAUSTED, buf, sizeof(buf)), "budget_exhausted");
	assert_false(cr_errcode_parse("ok", &back));
	assert_false(cr_errcode_parse("no_such_code", &back));
	assert_false(cr_errcode_parse(NULL, &back));
	assert_false(cr_errcode_parse("BUDGET_EXHAUSTED", &back));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_has_message_name_and_status),
		cmocka_unit_test(test_codes_are_unique),
		cmocka_unit_test(test_codes_stay_at_their_values),
		cmocka_unit_test(test_unknown_code),
		cmocka_unit_test(test_code_strings_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
