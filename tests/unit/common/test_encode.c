/* Unit tests for common/encode.c: hex and base64 round trips, RFC 4648
 * test vectors, and refusal of every malformed input. */
#include "test_util.h"
#include "common/common.h"

static void test_hex_roundtrip(void **state)
{
	(void)state;
	const uint8_t bin[4] = { 0x00, 0xab, 0x10, 0xff };
	char hex[9];
	uint8_t back[4];
	assert_int_equal(cr_hex_encode(bin, 4, hex, sizeof(hex)), CR_OK);
	assert_string_equal(hex, "00ab10ff");
	assert_int_equal(cr_hex_decode_exact("00AB10ff", 8, back, 4), CR_OK);
	assert_bytes_equal(back, bin, 4);
}

static void test_hex_refusals(void **state)
{
	(void)state;
	uint8_t out[2] = { 7, 7 };
	char small[4];
	const uint8_t bin[2] = { 1, 2 };
	assert_int_equal(cr_hex_encode(bin, 2, small, sizeof(small)), CR_ERR_TOO_LARGE);
	assert_int_equal(cr_hex_decode_exact("abc", 3, out, 2), CR_ERR_ENCODING);
	assert_int_equal(cr_hex_decode_exact("abcg", 4, out, 2), CR_ERR_ENCODING);
	assert_int_equal(cr_hex_decode_exact("abcdef", 6, out, 2), CR_ERR_ENCODING);
	assert_int_equal(cr_hex_decode_exact("ab d", 4, out, 2), CR_ERR_ENCODING);
	/* out-parameters untouched on failure */
	assert_int_equal(out[0], 7);
	assert_int_equal(out[1], 7);
}

/* RFC 4648 §10 test vectors. */
static void test_base64_rfc4648(void **state)
{
	(void)state;
	static const char *in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *want[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	for (size_t i = 0; i < 7; i++) {
		char b64[16];
		uint8_t back[8];
		size_t n = 99;
		assert_int_equal(cr_base64_encode((const uint8_t *)in[i], strlen(in[i]), b64, sizeof(b64)), CR_OK);
		assert_string_equal(b64, want[i]);
		assert_int_equal(cr_base64_decode(b64, strlen(b64), back, sizeof(back), &n), CR_OK);
		assert_int_equal(n, strlen(in[i]));
		assert_memory_equal(back, in[i], n);
	}
}

static void test_base64_refusals(void **state)
{
	(void)state;
	uint8_t out[16];
	size_t n = 42;
	assert_int_equal(cr_base64_decode("Zm9", 3, out, sizeof(out), &n), CR_ERR_ENCODING);
	assert_int_equal(cr_base64_decode("Zm9v\n", 5, out, sizeof(out), &n), CR_ERR_ENCODING);
	assert_int_equal(cr_base64_decode("Zm=v", 4, out, sizeof(out), &n), CR_ERR_ENCODING);
	assert_int_equal(cr_base64_decode("Zm9*", 4, out, sizeof(out), &n), CR_ERR_ENCODING);
	assert_int_equal(cr_base64_decode("Zm9vYmFy", 8, out, 2, &n), CR_ERR_TOO_LARGE);
	assert_int_equal(n, 42);
}

/* Found by fuzz_link: libsodium 1.0.18 decodes every byte from 0x80 to
 * 0xff as '/' (standard) or '_' (URL-safe), so one text had 129 spellings.
 * The decoder refuses any byte outside the alphabet. */
static void test_base64_refuses_bytes_outside_the_alphabet(void **state)
{
	(void)state;
	uint8_t out[16];
	size_t n = 42;
	char b64[] = "Zm9v/w==";
	assert_int_equal(cr_base64_decode(b64, 8, out, sizeof(out), &n), CR_OK);
	for (int c = 0x80; c <= 0xff; c++) {
		b64[4] = (char)c;
		assert_int_equal(cr_base64_decode(b64, 8, out, sizeof(out), &n), CR_ERR_ENCODING);
	}
	assert_true(cr_base64_alphabet_ok("AZaz09+/=", 9, false));
	assert_false(cr_base64_alphabet_ok("-", 1, false));
	assert_true(cr_base64_alphabet_ok("AZaz09-_", 8, true));
	assert_false(cr_base64_alphabet_ok("=", 1, true));
	assert_false(cr_base64_alphabet_ok("\x80", 1, true));
	assert_false(cr_base64_alphabet_ok("/", 1, true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_roundtrip),
		cmocka_unit_test(test_hex_refusals),
		cmocka_unit_test(test_base64_rfc4648),
		cmocka_unit_test(test_base64_refuses_bytes_outside_the_alphabet),
		cmocka_unit_test(test_base64_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
