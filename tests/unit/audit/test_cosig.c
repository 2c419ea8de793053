/* Unit tests for audit/cosig.c: c2sp.org/tlog-cosignature v1 (Ed25519).
 * The key id and signed message computed here from the spec's definitions
 * (independently of cosig.c), the spec example's timestamp, sign->verify,
 * and each refusal: wrong key, altered body, altered timestamp, key id
 * mismatch; and a cosigned checkpoint still verifies as a plain note. */
#include <sodium.h>

#include "test_util.h"
#include "audit/audit_int.h"

static const char body[] = "log.example/a\n5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";

struct fixture {
	struct audit_signer *log, *wit, *other;
	char *note; /* the log-signed checkpoint */
	size_t note_len;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t s1[32], s2[32], s3[32];
	memset(s1, 1, 32);
	memset(s2, 2, 32);
	memset(s3, 3, 32);
	assert_int_equal(audit_signer_from_seed("log.example/a", s1, &f->log), CR_OK);
	assert_int_equal(audit_signer_from_seed("witness.example/w1", s2, &f->wit), CR_OK);
	assert_int_equal(audit_signer_from_seed("witness.example/w1", s3, &f->other), CR_OK);
	assert_int_equal(audit_note_sign(f->log, body, strlen(body), &f->note, &f->note_len), CR_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	audit_signer_free(f->log);
	audit_signer_free(f->wit);
	audit_signer_free(f->other);
	free(f->note);
	free(f);
	return 0;
}

/* note || line, NUL-terminated (handed over). */
static char *append(const char *note, const char *line)
{
	size_t n = strlen(note), m = strlen(line);
	char *s = malloc(n + m + 1);
	memcpy(s, note, n);
	memcpy(s + n, line, m + 1);
	return s;
}

/* The key id and the signed message as the spec defines them, computed
 * here with libsodium alone, must be what cosig.c signs. */
static void test_known_answer_definition(void **state)
{
	struct fixture *f = *state;
	uint8_t h[32], blob[76];
	char msg[256], *line = NULL, *vkey = NULL;
	size_t blob_len = 0;
	int n;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)"witness.example/w1\n\x04", 20);
	crypto_hash_sha256_update(&st, f->wit->public_key, 32);
	crypto_hash_sha256_final(&st, h);
	uint32_t id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	assert_int_equal(audit_cosig_key_id("witness.example/w1", 18, f->wit->public_key), id);

	assert_int_equal(audit_cosig_sign(f->wit, 1679315147, body, strlen(body), &line), CR_OK);
	assert_memory_equal(line, "\xe2\x80\x94 witness.example/w1 ", 4 + 19);
	assert_int_equal(line[strlen(line) - 1], '\n');
	assert_int_equal(cr_base64_decode(line + 23, strlen(line) - 24, blob, sizeof(blob), &blob_len), CR_OK);
	assert_int_equal(blob_len, 76);
	assert_memory_equal(blob, h, 4);
	/* timestamp, big endian */
	assert_memory_equal(blob + 4, "\x00\x00\x00\x00\x64\x18\x50\xcb", 8);
	n = snprintf(msg, sizeof(msg), "cosignature/v1\ntime 1679315147\n%s", body);
	assert_int_equal(crypto_sign_verify_detached(blob + 12, (const uint8_t *)msg, (size_t)n,
						     f->wit->public_key), 0);
	/* Ed25519 is deterministic: signing again gives the same line */
	char *again = NULL;
	assert_int_equal(audit_cosig_sign(f->wit, 1679315147, body, strlen(body), &again), CR_OK);
	assert_string_equal(line, again);

	/* the verifier key text: name+id+base64(0x04 || key), and it parses back */
	struct audit_verifier v, back;
	assert_int_equal(audit_cosig_verifier_from_signer(f->wit, &v), CR_OK);
	assert_int_equal(v.key_id, id);
	assert_int_equal(audit_cosig_verifier_format(&v, &vkey), CR_OK);
	char want[64];
	snprintf(want, sizeof(want), "witness.example/w1+%08x+B", (unsigned)id);
	assert_memory_equal(vkey, want, strlen(want)); /* base64 of 0x04 ... starts "B" */
	assert_int_equal(audit_cosig_verifier_parse(vkey, strlen(vkey), &back), CR_OK);
	assert_memory_equal(back.public_key, f->wit->public_key, 32);
	/* a log (0x01) key text is not a witness key, nor the reverse */
	char *log_vkey = NULL;
	struct audit_verifier lv;
	assert_int_equal(audit_verifier_from_signer(f->log, &lv), CR_OK);
	assert_int_equal(audit_verifier_format(&lv, &log_vkey), CR_OK);
	assert_int_equal(audit_cosig_verifier_parse(log_vkey, strlen(log_vkey), &back), CR_ERR_AUDIT_KEY_MALFORMED);
	assert_int_not_equal(audit_verifier_parse(vkey, strlen(vkey), &back), CR_OK);
	free(log_vkey);
	free(vkey);
	free(again);
	free(line);
}

/* The example cosignature line of the spec: key id 8d66cf3f, and the
 * timestamp of its example signed message, 1679315147. */
static void test_spec_example_timestamp(void **state)
{
	(void)state;
	const char b64[] = "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
	uint8_t blob[80];
	size_t n = 0;
	assert_int_equal(audit_base64_decode(b64, strlen(b64), blob, sizeof(blob), &n), CR_OK);
	assert_int_equal(n, 76);
	uint64_t t = 0;
	for (int i = 4; i < 12; i++)
		t = t << 8 | blob[i];
	assert_int_equal(t, 1679315147);
}

static void test_roundtrip_and_old_verifiers(void **state)
{
	struct fixture *f = *state;
	struct audit_verifier w, lv;
	char *line = NULL, *cosigned;
	size_t tlen = 0;
	uint64_t t = 0;
	assert_int_equal(audit_cosig_verifier_from_signer(f->wit, &w), CR_OK);
	assert_int_equal(audit_verifier_from_signer(f->log, &lv), CR_OK);
	assert_int_equal(audit_cosig_sign(f->wit, 1700000000, f->note, strlen(body), &line), CR_OK);
	cosigned = append(f->note, line);
	assert_int_equal(audit_cosig_verify(&w, cosigned, strlen(cosigned), &t), CR_OK);
	assert_int_equal(t, 1700000000);
	/* the plain note verifier ignores the cosignature line */
	assert_int_equal(audit_note_verify(&lv, 1, cosigned, strlen(cosigned), &tlen), CR_OK);
	assert_int_equal(tlen, strlen(body));
	struct audit_checkpoint cp;
	assert_int_equal(audit_checkpoint_open(&lv, cosigned, strlen(cosigned), "log.example/a", &cp), CR_OK);
	assert_int_equal(cp.size, 5);
	/* and the witness key alone does not make it a valid log note */
	assert_int_not_equal(audit_note_verify(&w, 1, cosigned, strlen(cosigned), &tlen), CR_OK);
	/* no cosignature at all */
	assert_int_equal(audit_cosig_verify(&w, f->note, f->note_len, &t), CR_ERR_AUDIT_COSIG_MISSING);
	free(cosigned);
	free(line);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	struct audit_verifier w, wrong;
	char *line = NULL, *cosigned, *p;
	assert_int_equal(audit_cosig_verifier_from_signer(f->wit, &w), CR_OK);
	assert_int_equal(audit_cosig_verifier_from_signer(f->other, &wrong), CR_OK);
	assert_int_equal(audit_cosig_sign(f->wit, 1700000000, body, strlen(body), &line), CR_OK);

	/* wrong key: same name, another key (so another key id): not found */
	cosigned = append(f->note, line);
	assert_int_equal(audit_cosig_verify(&wrong, cosigned, strlen(cosigned), NULL), CR_ERR_AUDIT_COSIG_MISSING);
	/* wrong key with a forged matching key id: found, does not verify */
	wrong.key_id = w.key_id;
	assert_int_equal(audit_cosig_verify(&wrong, cosigned, strlen(cosigned), NULL), CR_ERR_AUDIT_COSIG_BAD);

	/* altered body: a different root (first base64 char of the root) */
	p = strstr(cosigned, "\nAAEC");
	p[1] = 'B';
	assert_int_equal(audit_cosig_verify(&w, cosigned, strlen(cosigned), NULL), CR_ERR_AUDIT_COSIG_BAD);
	free(cosigned);

	/* altered timestamp: re-encode the blob with time + 1 */
	uint8_t blob[76];
	size_t n = 0;
	char b64[128], forged[256];
	const char *sp = strrchr(line, ' ');
	assert_int_equal(cr_base64_decode(sp + 1, strlen(sp + 1) - 1, blob, sizeof(blob), &n), CR_OK);
	blob[11] ^= 1;
	assert_int_equal(cr_base64_encode(blob, 76, b64, sizeof(b64)), CR_OK);
	snprintf(forged, sizeof(forged), "\xe2\x80\x94 witness.example/w1 %s\n", b64);
	cosigned = append(f->note, forged);
	assert_int_equal(audit_cosig_verify(&w, cosigned, strlen(cosigned), NULL), CR_ERR_AUDIT_COSIG_BAD);
	free(cosigned);

	/* key id mismatch: the line's id changed, so it is not this witness's */
	blob[11] ^= 1;
	blob[0] ^= 0x80;
	assert_int_equal(cr_base64_encode(blob, 76, b64, sizeof(b64)), CR_OK);
	snprintf(forged, sizeof(forged), "\xe2\x80\x94 witness.example/w1 %s\n", b64);
	cosigned = append(f->note, forged);
	assert_int_equal(audit_cosig_verify(&w, cosigned, strlen(cosigned), NULL), CR_ERR_AUDIT_COSIG_MISSING);
	free(cosigned);

	/* a truncated blob with the right id is refused, not skipped */
	blob[0] ^= 0x80;
	assert_int_equal(cr_base64_encode(blob, 70, b64, sizeof(b64)), CR_OK);
	snprintf(forged, sizeof(forged), "\xe2\x80\x94 witness.example/w1 %s\n", b64);
	cosigned = append(f->note, forged);
	assert_int_equal(audit_cosig_verify(&w, cosigned, strlen(cosigned), NULL), CR_ERR_AUDIT_COSIG_BAD);
	free(cosigned);

	/* signing refuses a time past 2^63 - 1 and a text without its newline */
	char *bad = NULL;
	assert_int_equal(audit_cosig_sign(f->wit, UINT64_C(1) << 63, body, strlen(body), &bad), CR_ERR_AUDIT_SIGN);
	assert_int_equal(audit_cosig_sign(f->wit, 1, body, strlen(body) - 1, &bad), CR_ERR_AUDIT_NOTE_MALFORMED);
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_known_answer_definition, setup, teardown),
		cmocka_unit_test(test_spec_example_timestamp),
		cmocka_unit_test_setup_teardown(test_roundtrip_and_old_verifiers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
