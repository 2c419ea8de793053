/* Unit tests for crypto/email.c: the email rules of docs/spec/identifiers.md and
 * the choices email.c documents where the spec is silent (domain labels,
 * control characters, non-ASCII, length). */
#include "test_util.h"

#include <sodium.h>

#include "crypto/crypto.h"

static void norm_ok(const char *raw, size_t len, const char *want)
{
	char out[CRYPTO_NORMALIZED_MAX + 1];
	cr_err rc = crypto_id_normalize(CRYPTO_ID_EMAIL, raw, len, NULL, out);
	if (rc != CR_OK)
		print_error("input \"%s\": %s\n", raw, cr_errname(rc));
	assert_int_equal(rc, CR_OK);
	assert_string_equal(out, want);
}

#define NORM_OK(raw, want) norm_ok((raw), sizeof(raw) - 1, (want))

static void norm_refused(const char *raw, size_t len, cr_err want)
{
	char out[CRYPTO_NORMALIZED_MAX + 1] = "untouched";
	cr_err rc = crypto_id_normalize(CRYPTO_ID_EMAIL, raw, len, NULL, out);
	if (rc != want)
		print_error("input \"%s\": got %s\n", raw, cr_errname(rc));
	assert_int_equal(rc, want);
	assert_string_equal(out, "untouched");
}

#define REFUSED(raw) norm_refused((raw), sizeof(raw) - 1, CR_ERR_ID_EMAIL_MALFORMED)

static void test_trim_and_lowercase(void **state)
{
	(void)state;
	NORM_OK("ALICE.SMITH@EXAMPLE.COM", "alice.smith@example.com");
	NORM_OK("\tAlice.Smith@example.com\r\n", "alice.smith@example.com");
	NORM_OK(" \v\fa@b.co\f ", "a@b.co");
	/* +tags and other punctuation are kept in the default profile */
	NORM_OK("Li.Lei+News@163.com", "li.lei+news@163.com");
	NORM_OK("o'brien_x-y@sub.example.co.uk", "o'brien_x-y@sub.example.co.uk");
}

static void test_gmail_dots(void **state)
{
	(void)state;
	NORM_OK("J.o.h.n.D.o.e@Gmail.Com", "johndoe@gmail.com");
	NORM_OK("john.doe+ads@gmail.com", "johndoe+ads@gmail.com");
	NORM_OK("john.doe@GOOGLEMAIL.COM", "johndoe@googlemail.com");
	/* only those two domains, exactly */
	NORM_OK("john.doe@gmail.com.cn", "john.doe@gmail.com.cn");
	NORM_OK("john.doe@mail.gmail.com", "john.doe@mail.gmail.com");
	NORM_OK("john.doe@gmail.co", "john.doe@gmail.co");
	NORM_OK("john.doe@xgmail.com", "john.doe@xgmail.com");
	/* a local part of dots only leaves nothing */
	REFUSED("...@gmail.com");
	NORM_OK("...@example.com", "...@example.com");
}

/* "a@b" is the spec's own refusal; the others are email.c's documented
 * reading of "a domain containing a dot". */
static void test_structure_refusals(void **state)
{
	(void)state;
	REFUSED("no-at-sign");
	REFUSED("a@b");
	REFUSED("a@b.");
	REFUSED("a@.b");
	REFUSED("a@b..c");
	REFUSED("a@.");
	REFUSED("a@");
	REFUSED("@b.com");
	REFUSED("@");
	REFUSED("a@@b.com");
	REFUSED("a@b@c.com");
	NORM_OK("a@b.c", "a@b.c");
}

static void test_character_refusals(void **state)
{
	(void)state;
	REFUSED("a b@c.com");
	REFUSED("a@c .com");
	REFUSED("a\tb@c.com");
	REFUSED("a\x01" "b@c.com");
	REFUSED("ab@c.com\x7f");
	REFUSED("ab@c.com\0x"); /* an embedded NUL inside the given length */
	REFUSED("\xc3\xbc@b.com"); /* non-ASCII (u-umlaut) */
	REFUSED("a@b.com\xe3\x80\x80"); /* trailing ideographic space U+3000 */
	REFUSED("\xe5\xbc\xa0@qq.com");
	REFUSED("a@b.com\xff");
}

static void test_length(void **state)
{
	(void)state;
	char raw[CRYPTO_ID_RAW_MAX + 1];
	char out[CRYPTO_NORMALIZED_MAX + 1];
	const char *domain = "@example.com"; /* 12 bytes */

	/* exactly CRYPTO_NORMALIZED_MAX is fine, one more is too large */
	memset(raw, 'x', sizeof(raw));
	memcpy(raw + CRYPTO_NORMALIZED_MAX - 12, domain, 12);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_EMAIL, raw, CRYPTO_NORMALIZED_MAX, NULL, out),
			 CR_OK);
	assert_int_equal(strlen(out), CRYPTO_NORMALIZED_MAX);
	memset(raw, 'x', sizeof(raw));
	memcpy(raw + CRYPTO_NORMALIZED_MAX + 1 - 12, domain, 12);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_EMAIL, raw, CRYPTO_NORMALIZED_MAX + 1, NULL,
					     out), CR_ERR_TOO_LARGE);

	/* a long gmail address whose dots bring it under the limit */
	for (size_t i = 0; i < 600; i++)
		raw[i] = i % 2 ? '.' : 'A';
	memcpy(raw + 600, "@gmail.com", 10);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_EMAIL, raw, 610, NULL, out), CR_OK);
	assert_int_equal(strlen(out), 300 + 10); /* 300 letters + "@gmail.com" */
	assert_int_equal(out[0], 'a');
	/* 13 more letters: 323 bytes after stripping, over the limit */
	memcpy(raw + 600, "AAbbbbbbbbbbb@gmail.com", 23);
	assert_int_equal(crypto_id_normalize(CRYPTO_ID_EMAIL, raw, 623, NULL, out),
			 CR_ERR_TOO_LARGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trim_and_lowercase),
		cmocka_unit_test(test_gmail_dots),
		cmocka_unit_test(test_structure_refusals),
		cmocka_unit_test(test_character_refusals),
		cmocka_unit_test(test_length),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
