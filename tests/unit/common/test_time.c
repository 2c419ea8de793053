/* Unit tests for common/time.c: RFC 3339 with offsets to UTC milliseconds
 * (docs/spec/consent-rules.md edge case 5), formatting, and refusals. */
#include "test_util.h"
#include "common/common.h"

static cr_time_ms parse_ok(const char *s)
{
	cr_time_ms t = -1;
	assert_int_equal(cr_time_parse(s, strlen(s), &t), CR_OK);
	return t;
}

static void test_parse_utc_and_offsets(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(parse_ok("2026-03-01T01:00:05Z"), 1772326805000LL);
	/* the same instant written in Beijing time */
	assert_int_equal(parse_ok("2026-03-01T09:00:05+08:00"), 1772326805000LL);
	assert_int_equal(parse_ok("2026-02-28T20:00:05-05:00"), 1772326805000LL);
	assert_int_equal(parse_ok("2026-03-01T01:00:05.123Z"), 1772326805123LL);
	assert_int_equal(parse_ok("2026-03-01T01:00:05.1Z"), 1772326805100LL);
	assert_int_equal(parse_ok("2026-03-01T01:00:05.123999z"), 1772326805123LL);
	assert_int_equal(parse_ok("2024-02-29T00:00:00Z"), 1709164800000LL);
}

static void test_parse_refusals(void **state)
{
	(void)state;
	static const char *bad[] = {
		"", "2026-03-01", "2026-03-01T01:00:05", "2026-03-01 01:00:05Z",
		"2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-03-01T24:00:00Z",
		"2026-03-01T01:00:60Z", "2026-03-01T01:00:05+8:00", "2026-03-01T01:00:05.Z",
		"2026-03-01T01:00:05Zjunk", "1969-12-31T23:59:59Z", "2026-03-01T01:00:05+24:00",
		"+2026-03-01T01:00:05Z", "2026-3-01T01:00:05Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_time_ms t = 77;
		assert_int_equal(cr_time_parse(bad[i], strlen(bad[i]), &t), CR_ERR_TIME_FORMAT);
		assert_int_equal(t, 77);
	}
}

static void test_format_roundtrip(void **state)
{
	(void)state;
	char buf[CR_TIME_STRLEN];
	assert_int_equal(cr_time_format(1772326805123LL, buf), CR_OK);
	assert_string_equal(buf, "2026-03-01T01:00:05.123Z");
	assert_int_equal(parse_ok(buf), 1772326805123LL);
	assert_int_equal(cr_time_format(0, buf), CR_OK);
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	assert_int_equal(cr_time_format(-1, buf), CR_ERR_OVERFLOW);
	/* every day of four years survives a round trip */
	for (cr_time_ms t = 1704067200000LL; t < 1830297600000LL; t += 86400000LL + 1234) {
		assert_int_equal(cr_time_format(t, buf), CR_OK);
		assert_int_equal(parse_ok(buf), t);
	}
}

/* cr_time_from_civil agrees with the parser on midnights around leap days and eras. */
static void test_from_civil(void **state)
{
	static const struct { int64_t y; int m, d; const char *text; } cases[] = {
		{ 1970, 1, 1, "1970-01-01T00:00:00Z" }, { 2000, 2, 29, "2000-02-29T00:00:00Z" },
		{ 2000, 3, 1, "2000-03-01T00:00:00Z" },  { 2027, 1, 1, "2027-01-01T00:00:00Z" },
		{ 2100, 3, 1, "2100-03-01T00:00:00Z" },  { 9999, 12, 31, "9999-12-31T00:00:00Z" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_time_ms t = 0;
		assert_int_equal(cr_time_parse(cases[i].text, strlen(cases[i].text), &t), CR_OK);
		assert_int_equal(cr_time_from_civil(cases[i].y, cases[i].m, cases[i].d), t);
	}
}

static void test_now_is_sane(void **state)
{
	(void)state;
	assert_true(cr_time_now() > 1700000000000LL);
	assert_true(cr_monotonic_ms() >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_utc_and_offsets),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_from_civil),
		cmocka_unit_test(test_now_is_sane),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
