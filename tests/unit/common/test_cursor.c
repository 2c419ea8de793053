/* Unit tests for common/cursor.c and common/util.c: bounds checks that leave
 * the cursor unmoved on failure, strict integers and UTF-8 validation. */
#include "test_util.h"
#include "common/common.h"

static void test_cursor_reads(void **state)
{
	(void)state;
	const uint8_t buf[] = { 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 'a', 'b', '\n', 'c' };
	struct cr_cursor c;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *v;
	size_t n;
	cr_cursor_init(&c, buf, sizeof(buf));
	assert_int_equal(cr_cursor_u8(&c, &u8), CR_OK);
	assert_int_equal(u8, 1);
	assert_int_equal(cr_cursor_u16be(&c, &u16), CR_OK);
	assert_int_equal(u16, 2);
	assert_int_equal(cr_cursor_u32be(&c, &u32), CR_OK);
	assert_int_equal(u32, 3);
	assert_int_equal(cr_cursor_u64be(&c, &u64), CR_OK);
	assert_int_equal(u64, 4);
	assert_int_equal(cr_cursor_until(&c, '\n', &v, &n), CR_OK);
	assert_int_equal(n, 2);
	assert_memory_equal(v, "ab", 2);
	assert_int_equal(cr_cursor_expect_end(&c), CR_ERR_TRAILING);
	assert_int_equal(cr_cursor_until(&c, '\n', &v, &n), CR_ERR_TRUNCATED);
	assert_int_equal(cr_cursor_remaining(&c), 1);
}

static void test_cursor_truncated_does_not_move(void **state)
{
	(void)state;
	const uint8_t buf[3] = { 9, 9, 9 };
	struct cr_cursor c;
	uint32_t u32 = 5;
	uint8_t out[4];
	cr_cursor_init(&c, buf, sizeof(buf));
	assert_int_equal(cr_cursor_u32be(&c, &u32), CR_ERR_TRUNCATED);
	assert_int_equal(u32, 5);
	assert_int_equal(cr_cursor_bytes(&c, out, 4), CR_ERR_TRUNCATED);
	assert_int_equal(cr_cursor_remaining(&c), 3);
	assert_int_equal(cr_cursor_bytes(&c, out, 3), CR_OK);
	assert_int_equal(cr_cursor_expect_end(&c), CR_OK);
	/* a huge length from input is refused, not wrapped */
	assert_int_equal(cr_cursor_bytes(&c, out, SIZE_MAX), CR_ERR_TRUNCATED);
}

static void test_parse_u64(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_int_equal(cr_parse_u64("42", 0, 100, &v), CR_OK);
	assert_int_equal(v, 42);
	assert_int_equal(cr_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), CR_OK);
	assert_int_equal(cr_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), CR_ERR_OVERFLOW);
	assert_int_equal(cr_parse_u64("101", 0, 100, &v), CR_ERR_OVERFLOW);
	assert_int_equal(cr_parse_u64("", 0, 100, &v), CR_ERR_PARSE);
	assert_int_equal(cr_parse_u64("-1", 0, 100, &v), CR_ERR_PARSE);
	assert_int_equal(cr_parse_u64(" 1", 0, 100, &v), CR_ERR_PARSE);
	assert_int_equal(cr_parse_u64("1x", 0, 100, &v), CR_ERR_PARSE);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(cr_utf8_valid((const uint8_t *)"plain", 5));
	assert_true(cr_utf8_valid((const uint8_t *)"\xe5\xbc\xa0\xe4\xbc\x9f", 6));
	assert_true(cr_utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));
	assert_false(cr_utf8_valid((const uint8_t *)"\xff", 1));
	assert_false(cr_utf8_valid((const uint8_t *)"\xc0\xaf", 2));      /* overlong */
	assert_false(cr_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));  /* surrogate */
	assert_false(cr_utf8_valid((const uint8_t *)"\xe5\xbc", 2));      /* truncated */
	assert_false(cr_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cursor_reads),
		cmocka_unit_test(test_cursor_truncated_does_not_move),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
