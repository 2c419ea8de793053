/* Unit tests for audit/note.c: the signed-note known answers of
 * tests/vectors/signed-note/known-answers.md reproduced byte for byte, verifier
 * key text and key ids, the signer made from a seed, and every refusal of
 * the note and key formats with its exact error. */
#include <sodium.h>

#include "test_util.h"
#include "audit/audit_int.h"

static const char peter_signer_b64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char peter_vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char peter_text[] =
	"If you think cryptography is the answer to your problem,\n"
	"then you don't know what your problem is.\n";
static const char peter_note[] =
	"If you think cryptography is the answer to your problem,\n"
	"then you don't know what your problem is.\n"
	"\n"
	"\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

static const char c2sp_vkey[] = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
static const char c2sp_note[] =
	"This is an example message.\n"
	"\n"
	"\xe2\x80\x94 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

/* The literals above are the vector file's, character for character: each
 * key text and signature line appears in tests/vectors/signed-note. */
static void test_literals_are_the_vector_files(void **state)
{
	(void)state;
	char path[512];
	char *md;
	const char *sig_lines[2];

	snprintf(path, sizeof(path), "%s/signed-note/known-answers.md", test_vectors_dir());
	md = test_read_file(path, NULL);
	assert_non_null(md);
	sig_lines[0] = strstr(peter_note, "\xe2\x80\x94");
	sig_lines[1] = strstr(c2sp_note, "\xe2\x80\x94");
	assert_non_null(strstr(md, peter_signer_b64));
	assert_non_null(strstr(md, peter_vkey));
	assert_non_null(strstr(md, "If you think cryptography is the answer to your problem,\n"));
	assert_non_null(strstr(md, "then you don't know what your problem is.\n"));
	assert_non_null(strstr(md, c2sp_vkey));
	assert_non_null(strstr(md, "This is an example message.\n"));
	for (size_t i = 0; i < 2; i++) {
		assert_non_null(sig_lines[i]);
		assert_non_null(strstr(md, sig_lines[i]));
	}
	free(md);
}

static struct audit_signer *peter_signer(void)
{
	uint8_t raw[33];
	size_t n = 0;
	struct audit_signer *s = NULL;
	assert_int_equal(cr_base64_decode(peter_signer_b64, strlen(peter_signer_b64), raw,
					  sizeof(raw), &n), CR_OK);
	assert_int_equal(n, 33);
	assert_int_equal(raw[0], 0x01); /* algorithm: Ed25519 */
	assert_int_equal(audit_signer_from_seed("PeterNeumann", raw + 1, &s), CR_OK);
	sodium_memzero(raw, sizeof(raw));
	return s;
}

static void test_known_answer_sign(void **state)
{
	(void)state;
	struct audit_signer *s = peter_signer();
	struct audit_verifier v;
	char *vkey = NULL, *note = NULL;
	size_t note_len = 0;

	assert_int_equal(audit_verifier_from_signer(s, &v), CR_OK);
	assert_int_equal(v.key_id, 0xc74f20a3);
	assert_int_equal(audit_verifier_format(&v, &vkey), CR_OK);
	assert_string_equal(vkey, peter_vkey);
	assert_int_equal(audit_note_sign(s, peter_text, strlen(peter_text), &note, &note_len), CR_OK);
	assert_int_equal(note_len, strlen(peter_note));
	assert_bytes_equal(note, peter_note, note_len);
	free(vkey);
	free(note);
	audit_signer_free(s);
}

static void test_known_answer_verify(void **state)
{
	(void)state;
	struct audit_verifier v[2];
	size_t text_len = 0;
	assert_int_equal(audit_verifier_parse(peter_vkey, strlen(peter_vkey), &v[0]), CR_OK);
	assert_string_equal(v[0].name, "PeterNeumann");
	assert_int_equal(v[0].key_id, 0xc74f20a3);
	assert_int_equal(audit_note_verify(v, 1, peter_note, strlen(peter_note), &text_len), CR_OK);
	assert_int_equal(text_len, strlen(peter_text));

	assert_int_equal(audit_verifier_parse(c2sp_vkey, strlen(c2sp_vkey), &v[1]), CR_OK);
	assert_int_equal(v[1].key_id, 0x530d903a);
	assert_int_equal(audit_note_verify(&v[1], 1, c2sp_note, strlen(c2sp_note), &text_len), CR_OK);
	assert_int_equal(text_len, strlen("This is an example message.\n"));
	/* with both keys known, each note verifies; with the other only, not */
	assert_int_equal(audit_note_verify(v, 2, c2sp_note, strlen(c2sp_note), &text_len), CR_OK);
	assert_int_equal(audit_note_verify(v, 1, c2sp_note, strlen(c2sp_note), &text_len),
			 CR_ERR_AUDIT_NOTE_UNVERIFIED);
}

static void test_key_id_definition(void **state)
{
	(void)state;
	struct audit_verifier v;
	uint8_t buf[64], h[32];
	assert_int_equal(audit_verifier_parse(c2sp_vkey, strlen(c2sp_vkey), &v), CR_OK);
	/* SHA-256(name || 0x0A || 0x01 || pk)[:4], spelled out */
	size_t n = strlen(v.name);
	memcpy(buf, v.name, n);
	buf[n] = 0x0a;
	buf[n + 1] = 0x01;
	memcpy(buf + n + 2, v.public_key, 32);
	crypto_hash_sha256(h, buf, n + 34);
	assert_int_equal(audit_key_id(v.name, n, v.public_key),
			 (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3]);
}

/* Builds a note with the given signature lines appended to peter_text. */
static char *note_with(const char *sig_lines)
{
	size_t n = strlen(peter_text) + 1 + strlen(sig_lines) + 1;
	char *s = malloc(n);
	snprintf(s, n, "%s\n%s", peter_text, sig_lines);
	return s;
}

static void test_verify_refusals(void **state)
{
	(void)state;
	struct audit_verifier v;
	size_t tl = 0;
	const char *sig = strstr(peter_note, "\xe2\x80\x94");
	char line[640], *note;
	assert_int_equal(audit_verifier_parse(peter_vkey, strlen(peter_vkey), &v), CR_OK);

	/* the text changed: the known key's signature fails */
	note = strdup(peter_note);
	note[3] ^= 0x01;
	assert_int_equal(audit_note_verify(&v, 1, note, strlen(note), &tl), CR_ERR_AUDIT_NOTE_BAD_SIG);
	free(note);

	/* an unknown key's line is ignored; a good one beside it still counts */
	snprintf(line, sizeof(line), "\xe2\x80\x94 other.example AAAAAAAAAAAAAAAA\n%s", sig);
	note = note_with(line);
	assert_int_equal(audit_note_verify(&v, 1, note, strlen(note), &tl), CR_OK);
	free(note);

	/* same name, other key id: unknown, so nothing verified */
	snprintf(line, sizeof(line), "\xe2\x80\x94 PeterNeumann AAAAAAAAAAAAAAAA\n");
	note = note_with(line);
	assert_int_equal(audit_note_verify(&v, 1, note, strlen(note), &tl), CR_ERR_AUDIT_NOTE_UNVERIFIED);
	free(note);

	/* known name and key id with a short signature: a bad signature */
	snprintf(line, sizeof(line), "\xe2\x80\x94 PeterNeumann x08gowAAAAAAAAAA\n");
	note = note_with(line);
	assert_int_equal(audit_note_verify(&v, 1, note, strlen(note), &tl), CR_ERR_AUDIT_NOTE_BAD_SIG);
	free(note);

	/* a bad known signature rejects the note even beside a good one */
	char bad[256];
	snprintf(bad, sizeof(bad), "%s", sig);
	bad[40] = bad[40] == 'A' ? 'B' : 'A'; /* inside the signature, past the key id */
	snprintf(line, sizeof(line), "%s%s", sig, bad);
	note = note_with(line);
	assert_int_equal(audit_note_verify(&v, 1, note, strlen(note), &tl), CR_ERR_AUDIT_NOTE_BAD_SIG);
	free(note);
}

static void test_verify_malformed(void **state)
{
	(void)state;
	struct audit_verifier v;
	size_t tl = 0;
	assert_int_equal(audit_verifier_parse(peter_vkey, strlen(peter_vkey), &v), CR_OK);
	const char *sig = strstr(peter_note, "\xe2\x80\x94");
	static const char *const bad[] = {
		"no blank line\n\xe2\x80\x94 PeterNeumann x08go/ZJ\n",
		"text\n\n",                                          /* no signature */
		"text\n\nnot a signature line\n",
		"text\n\n- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQ==\n", /* ASCII dash */
		"text\n\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQ==",  /* no final newline */
		"text\n\n\xe2\x80\x94 PeterNeumann !!!!\n",           /* bad base64 */
		"text\n\n\xe2\x80\x94 PeterNeumann AAAA\n",           /* under 5 bytes */
		"text\n\n\xe2\x80\x94 PeterNeumannx08go/ZJkuBS9UG/SffcvIAQ==\n", /* no space */
		"text\n\n\xe2\x80\x94  x08go/ZJkuBS9UG/SffcvIAQ==\n",  /* empty name */
		"te\txt\n\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQ==\n", /* control */
		"te\xff xt\n\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQ==\n", /* not UTF-8 */
		"",
		"\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (audit_note_verify(&v, 1, bad[i], strlen(bad[i]), &tl) != CR_ERR_AUDIT_NOTE_MALFORMED)
			fail_msg("case %zu was not refused as malformed", i);
	assert_int_equal(audit_note_verify(&v, 1, NULL, 0, &tl), CR_ERR_AUDIT_NOTE_MALFORMED);

	/* more than AUDIT_NOTE_SIGS_MAX signature lines */
	size_t one = strlen(sig), n = strlen(peter_text) + 1 + one * (AUDIT_NOTE_SIGS_MAX + 1) + 1;
	char *many = malloc(n), *p = many;
	p += snprintf(p, n, "%s\n", peter_text);
	for (int i = 0; i <= AUDIT_NOTE_SIGS_MAX; i++)
		p += snprintf(p, n - (size_t)(p - many), "%s", sig);
	assert_int_equal(audit_note_verify(&v, 1, many, strlen(many), &tl), CR_ERR_AUDIT_NOTE_MALFORMED);
	/* exactly the maximum is accepted */
	many[strlen(peter_text) + 1 + one * AUDIT_NOTE_SIGS_MAX] = '\0';
	assert_int_equal(audit_note_verify(&v, 1, many, strlen(many), &tl), CR_OK);
	free(many);

	/* over AUDIT_NOTE_MAX */
	char *huge = calloc(1, AUDIT_NOTE_MAX + 2);
	memset(huge, 'a', AUDIT_NOTE_MAX + 1);
	assert_int_equal(audit_note_verify(&v, 1, huge, AUDIT_NOTE_MAX + 1, &tl),
			 CR_ERR_AUDIT_NOTE_MALFORMED);
	free(huge);
}

static void test_verifier_parse_refusals(void **state)
{
	(void)state;
	struct audit_verifier v;
	static const struct {
		const char *text;
		cr_err want;
	} cases[] = {
		{ "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", CR_ERR_AUDIT_KEY_MALFORMED }, /* key id */
		{ "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", CR_ERR_AUDIT_KEY_MALFORMED }, /* algorithm 2 */
		{ "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", CR_ERR_AUDIT_KEY_MALFORMED },  /* short */
		{ "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n", CR_ERR_AUDIT_KEY_MALFORMED },
		{ "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", CR_ERR_AUDIT_KEY_MALFORMED },
		{ "PeterNeumann+c74f20g3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", CR_ERR_AUDIT_KEY_MALFORMED },
		{ "PeterNeumann+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", CR_ERR_AUDIT_KEY_MALFORMED },
		{ "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", CR_ERR_AUDIT_KEY_NAME },
		{ "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", CR_ERR_AUDIT_KEY_NAME },
		{ "Peter\xc2\xa0Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", CR_ERR_AUDIT_KEY_NAME },
		{ "", CR_ERR_AUDIT_KEY_MALFORMED },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_err rc = audit_verifier_parse(cases[i].text, strlen(cases[i].text), &v);
		if (rc != cases[i].want)
			fail_msg("case %zu: got %s, want %s", i, cr_errname(rc), cr_errname(cases[i].want));
	}
	/* upper-case hex is accepted, like Go's parser */
	assert_int_equal(audit_verifier_parse("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
					      66, &v), CR_OK);
}

static void test_key_names(void **state)
{
	(void)state;
	static const char *const ok[] = { "a", "example.com/log42", "\xe6\x97\xa5\xe5\xbf\x97" };
	static const char *const bad[] = { "", "a b", "a+b", "a\tb", "a\nb", "\x7f",
					   "a\xe3\x80\x80" "b", "a\xe2\x80\xa8", "\xff" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(audit_key_name_check(ok[i], strlen(ok[i])), CR_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (audit_key_name_check(bad[i], strlen(bad[i])) != CR_ERR_AUDIT_KEY_NAME)
			fail_msg("name %zu was accepted", i);
	char long_name[AUDIT_KEY_NAME_MAX + 2];
	memset(long_name, 'n', sizeof(long_name));
	assert_int_equal(audit_key_name_check(long_name, AUDIT_KEY_NAME_MAX), CR_OK);
	assert_int_equal(audit_key_name_check(long_name, AUDIT_KEY_NAME_MAX + 1), CR_ERR_AUDIT_KEY_NAME);
	uint8_t seed[32] = { 0 };
	struct audit_signer *s = (struct audit_signer *)0x1;
	assert_int_equal(audit_signer_from_seed("bad name", seed, &s), CR_ERR_AUDIT_KEY_NAME);
	assert_ptr_equal(s, (struct audit_signer *)0x1);
	assert_int_equal(audit_signer_from_seed(NULL, seed, &s), CR_ERR_AUDIT_KEY_NAME);
}

static cr_err failing_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static 64])
{
	(void)ctx;
	(void)msg;
	(void)len;
	memset(sig, 0, 64);
	return CR_ERR_CRYPTO;
}

static void test_sign_refusals(void **state)
{
	(void)state;
	struct audit_signer *s = peter_signer();
	char *note = NULL;
	size_t len = 0;
	static const char *const bad[] = { "", "no newline", "tab\there\n", "bell\a\n", "\xc3\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(audit_note_sign(s, bad[i], strlen(bad[i]), &note, &len),
				 CR_ERR_AUDIT_NOTE_MALFORMED);
	assert_null(note);

	/* a callback that fails, or signs with a key other than public_key */
	struct audit_signer broken = *s;
	broken.sign = failing_sign;
	assert_int_equal(audit_note_sign(&broken, "x\n", 2, &note, &len), CR_ERR_AUDIT_SIGN);
	struct audit_signer *other = NULL;
	uint8_t seed[32] = { 7 };
	assert_int_equal(audit_signer_from_seed("PeterNeumann", seed, &other), CR_OK);
	struct audit_signer mismatched = *other;
	memcpy(mismatched.public_key, s->public_key, 32);
	assert_int_equal(audit_note_sign(&mismatched, "x\n", 2, &note, &len), CR_ERR_AUDIT_SIGN);
	assert_null(note);

	/* texts with empty lines are fine: the last empty line separates */
	const char text[] = "a\n\nb\n";
	struct audit_verifier v;
	size_t tl = 0;
	assert_int_equal(audit_note_sign(s, text, strlen(text), &note, &len), CR_OK);
	assert_int_equal(audit_verifier_from_signer(s, &v), CR_OK);
	assert_int_equal(audit_note_verify(&v, 1, note, len, &tl), CR_OK);
	assert_int_equal(tl, strlen(text));
	free(note);
	audit_signer_free(other);
	audit_signer_free(s);
	audit_signer_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals_are_the_vector_files),
		cmocka_unit_test(test_known_answer_sign),
		cmocka_unit_test(test_known_answer_verify),
		cmocka_unit_test(test_key_id_definition),
		cmocka_unit_test(test_verify_refusals),
		cmocka_unit_test(test_verify_malformed),
		cmocka_unit_test(test_verifier_parse_refusals),
		cmocka_unit_test(test_key_names),
		cmocka_unit_test(test_sign_refusals),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
