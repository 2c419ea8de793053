/* Unit tests for cleanroom/columns.c: column specs, canonical round trip,
 * value checks, and each refusal with its reason. */
#include "test_util.h"
#include "cleanroom/columns.h"

static void test_parse_and_format(void **state)
{
	(void)state;
	struct column_set cs;
	char err[160] = "", buf[512];
	const char *spec = "segment:enum(a|b|c),region:enum(north|south|east|west|central),"
			   "age_band:enum(18-24|25-34|35-44|45-54|55+),spend:int(0..10000)";
	assert_int_equal(columns_parse(spec, &cs, err, sizeof(err)), CR_OK);
	assert_int_equal(cs.n, 4);
	assert_int_equal(cs.cols[0].kind, COLUMN_ENUM);
	assert_int_equal(cs.cols[2].nvalues, 5);
	assert_string_equal(cs.cols[2].values[4], "55+");
	assert_int_equal(cs.cols[3].kind, COLUMN_INT);
	assert_int_equal(cs.cols[3].hi, 10000);
	assert_int_equal(columns_find(&cs, "spend"), 3);
	assert_int_equal(columns_find(&cs, "nope"), -1);
	assert_int_equal(columns_format(&cs, buf, sizeof(buf)), CR_OK);
	assert_string_equal(buf, spec);
	assert_int_equal(columns_format(&cs, buf, 10), CR_ERR_TOO_LARGE);
}

static void test_values(void **state)
{
	(void)state;
	struct column_set cs;
	int64_t v = 99;
	char text[40];
	assert_int_equal(columns_parse("seg:enum(a|b),t:int(-5..5)", &cs, NULL, 0), CR_OK);
	assert_int_equal(column_value(&cs.cols[0], "b", &v), CR_OK);
	assert_int_equal(v, 1);
	column_value_text(&cs.cols[0], v, text, sizeof(text));
	assert_string_equal(text, "b");
	assert_int_equal(column_value(&cs.cols[1], "-5", &v), CR_OK);
	assert_int_equal(v, -5);
	v = 99;
	assert_int_equal(column_value(&cs.cols[0], "B", &v), CR_ERR_ATTR_INVALID);
	assert_int_equal(column_value(&cs.cols[0], "", &v), CR_ERR_ATTR_INVALID);
	assert_int_equal(column_value(&cs.cols[1], "6", &v), CR_ERR_ATTR_INVALID);
	assert_int_equal(column_value(&cs.cols[1], "1.5", &v), CR_ERR_ATTR_INVALID);
	assert_int_equal(column_value(&cs.cols[1], " 1", &v), CR_ERR_ATTR_INVALID);
	assert_int_equal(column_value(&cs.cols[1], "", &v), CR_ERR_ATTR_INVALID);
	assert_int_equal(column_value(&cs.cols[1], "99999999999999999999", &v), CR_ERR_ATTR_INVALID);
	assert_int_equal(v, 99);
}

static void test_refusals(void **state)
{
	(void)state;
	struct {
		const char *spec, *msg;
	} bad[] = {
		{ "", "no columns" },
		{ "seg", "expected name:type" },
		{ "Seg:enum(a)", "expected name:type" },
		{ "seg:enum()", "enum values are" },
		{ "seg:enum(a|a)", "value 'a' appears twice" },
		{ "seg:enum(a,b)", "expected '|' or ')'" },
		{ "seg:enum(a)x", "unexpected text after its type" },
		{ "seg:enum(a", "expected '|' or ')'" },
		{ "seg:text", "type must be enum" },
		{ "n:int(5..1)", "lo is greater than hi" },
		{ "n:int(0..10000000000000)", "expected int(lo..hi)" },
		{ "n:int(0-5)", "expected int(lo..hi)" },
		{ "email:enum(a)", "reserved for identifiers" },
		{ "a:enum(x),a:int(0..1)", "column 'a' appears twice" },
		{ "a:enum(x),", "expected name:type" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct column_set cs;
		char err[160] = "";
		assert_int_equal(columns_parse(bad[i].spec, &cs, err, sizeof(err)), CR_ERR_COLUMN_SPEC);
		if (strstr(err, bad[i].msg) == NULL)
			print_error("spec '%s' gave '%s'\n", bad[i].spec, err);
		assert_non_null(strstr(err, bad[i].msg));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_format),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
