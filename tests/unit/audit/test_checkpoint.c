/* Unit tests for audit/checkpoint.c: the c2sp.org/tlog-checkpoint body
 * (format, strict parse, the spec's example), and opening a signed
 * checkpoint: signature, then body, then origin, each refusal exact. */
#include <sodium.h>

#include "test_util.h"
#include "audit/audit_int.h"

static void test_format_parse_roundtrip(void **state)
{
	(void)state;
	struct audit_checkpoint cp = { .origin = "cleanroom.example/audit/1", .size = 20852163 };
	struct audit_checkpoint back;
	char *body = NULL;
	size_t len = 0;
	for (size_t i = 0; i < sizeof(cp.root); i++)
		cp.root[i] = (uint8_t)i;
	assert_int_equal(audit_checkpoint_format(&cp, &body, &len), CR_OK);
	assert_string_equal(body, "cleanroom.example/audit/1\n20852163\n"
				  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
	assert_int_equal(len, strlen(body));
	assert_int_equal(audit_checkpoint_parse(body, len, &back), CR_OK);
	assert_string_equal(back.origin, cp.origin);
	assert_int_equal(back.size, cp.size);
	assert_bytes_equal(back.root, cp.root, 32);
	free(body);

	cp.size = 0; /* an empty tree is "0", not "" */
	assert_int_equal(audit_checkpoint_format(&cp, &body, &len), CR_OK);
	assert_non_null(strstr(body, "\n0\n"));
	free(body);

	struct audit_checkpoint bad = { .origin = "", .size = 1 };
	assert_int_equal(audit_checkpoint_format(&bad, &body, &len), CR_ERR_AUDIT_CHECKPOINT_MALFORMED);
	snprintf(bad.origin, sizeof(bad.origin), "two\nlines");
	assert_int_equal(audit_checkpoint_format(&bad, &body, &len), CR_ERR_AUDIT_CHECKPOINT_MALFORMED);
}

/* The example body of the tlog-checkpoint spec. */
static void test_spec_example(void **state)
{
	(void)state;
	const char body[] = "example.com/behind-the-sofa\n20852163\n"
			    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
	struct audit_checkpoint cp;
	assert_int_equal(audit_checkpoint_parse(body, strlen(body), &cp), CR_OK);
	assert_string_equal(cp.origin, "example.com/behind-the-sofa");
	assert_int_equal(cp.size, 20852163);
	assert_int_equal(cp.root[0], 0x0a);
	/* extension lines are opaque but allowed */
	const char ext[] = "example.com/behind-the-sofa\n20852163\n"
			   "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nextension one\nx\n";
	assert_int_equal(audit_checkpoint_parse(ext, strlen(ext), &cp), CR_OK);
}

static void test_parse_refusals(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"origin\n",
		"origin\n5\n",
		"origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",     /* no final newline */
		"\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",         /* empty origin */
		"origin\n05\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  /* leading zero */
		"origin\n-5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"origin\n+5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"origin\n 5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"origin\n\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"origin\n9223372036854775808\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n",      /* 31 bytes */
		"origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",      /* unpadded */
		"origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=AAAA\n",
		"origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",   /* empty extension */
		"ori\tgin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		/* bytes >= 0x80 that libsodium's decoder reads as '/' (fuzz_checkpoint) */
		"origin\n13\ndMp5Wpn6wh8dnEZAsGlgKye\xb3\xb5\xca\x87xo0jrPqde5obC0Yk=\n",
	};
	struct audit_checkpoint cp;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (audit_checkpoint_parse(bad[i], strlen(bad[i]), &cp) != CR_ERR_AUDIT_CHECKPOINT_MALFORMED)
			fail_msg("case %zu was accepted", i);
	assert_int_equal(audit_checkpoint_parse(NULL, 0, &cp), CR_ERR_AUDIT_CHECKPOINT_MALFORMED);
	const char max[] = "o\n9223372036854775807\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
	assert_int_equal(audit_checkpoint_parse(max, strlen(max), &cp), CR_OK);
	assert_int_equal(cp.size, INT64_MAX);
}

static void test_open(void **state)
{
	(void)state;
	uint8_t seed[32] = { 1 }, seed2[32] = { 2 };
	struct audit_signer *s = NULL, *other = NULL;
	struct audit_verifier v;
	struct audit_checkpoint cp = { .origin = "log.example/a", .size = 3 }, got;
	char *body = NULL, *note = NULL, *foreign = NULL;
	size_t blen = 0, nlen = 0, flen = 0;

	assert_int_equal(audit_signer_from_seed("log.example/a", seed, &s), CR_OK);
	assert_int_equal(audit_signer_from_seed("log.example/a", seed2, &other), CR_OK);
	assert_int_equal(audit_verifier_from_signer(s, &v), CR_OK);
	memset(cp.root, 0xab, sizeof(cp.root));
	assert_int_equal(audit_checkpoint_format(&cp, &body, &blen), CR_OK);
	assert_int_equal(audit_note_sign(s, body, blen, &note, &nlen), CR_OK);

	assert_int_equal(audit_checkpoint_open(&v, note, nlen, "log.example/a", &got), CR_OK);
	assert_int_equal(got.size, 3);
	assert_bytes_equal(got.root, cp.root, 32);
	assert_int_equal(audit_checkpoint_open(&v, note, nlen, NULL, &got), CR_OK);
	assert_int_equal(audit_checkpoint_open(&v, note, nlen, "log.example/b", &got), CR_ERR_AUDIT_ORIGIN);

	/* same name, another key: its signature is not from a known key */
	assert_int_equal(audit_note_sign(other, body, blen, &foreign, &flen), CR_OK);
	assert_int_equal(audit_checkpoint_open(&v, foreign, flen, NULL, &got), CR_ERR_AUDIT_NOTE_UNVERIFIED);

	/* the size changed after signing */
	note[strlen("log.example/a\n")] = '4';
	assert_int_equal(audit_checkpoint_open(&v, note, nlen, NULL, &got), CR_ERR_AUDIT_NOTE_BAD_SIG);

	/* a validly signed note whose text is not a checkpoint */
	free(note);
	assert_int_equal(audit_note_sign(s, "hello\n", 6, &note, &nlen), CR_OK);
	assert_int_equal(audit_checkpoint_open(&v, note, nlen, NULL, &got), CR_ERR_AUDIT_CHECKPOINT_MALFORMED);

	free(body);
	free(note);
	free(foreign);
	audit_signer_free(s);
	audit_signer_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse_roundtrip),
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_open),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
