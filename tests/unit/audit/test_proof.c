/* Unit tests for audit/proof.c: the c2sp.org/tlog-proof@v1 text (the spec's
 * example parses; format and parse round trip; strict refusals) and the
 * offline verifier, with no database: one success and each failure with
 * its exact error. */
#include <sodium.h>

#include "test_util.h"
#include "audit/audit_int.h"

#define NLEAVES 7

/* A small log built in memory: leaves, their hashes, a signed checkpoint. */
static struct fixture {
	struct audit_signer *signer;
	char *vkey;
	uint8_t *leaf[NLEAVES];
	size_t leaf_len[NLEAVES];
	uint8_t hashes[4][NLEAVES][32];
	char *note;
	size_t note_len;
} fx;

static cr_err fx_reader(void *ctx, unsigned level, uint64_t index, uint8_t out[static 32])
{
	(void)ctx;
	memcpy(out, fx.hashes[level][index], 32);
	return CR_OK;
}

static cr_err fx_emit(void *ctx, unsigned level, uint64_t index, const uint8_t h[static 32])
{
	(void)ctx;
	memcpy(fx.hashes[level][index], h, 32);
	return CR_OK;
}

/* Leaf i carries sequence seq[i] (normally i); the checkpoint is for `origin`
 * (NULL: the key's name, log.example/proofs). */
static void fx_build_for(const uint64_t *seq, const char *origin)
{
	uint8_t seed[32] = { 42 }, root[32];
	struct audit_verifier v;
	struct audit_checkpoint cp = { .origin = "log.example/proofs", .size = NLEAVES };
	char *body = NULL;
	size_t blen = 0;

	memset(&fx, 0, sizeof(fx));
	assert_int_equal(audit_signer_from_seed("log.example/proofs", seed, &fx.signer), CR_OK);
	assert_int_equal(audit_verifier_from_signer(fx.signer, &v), CR_OK);
	assert_int_equal(audit_verifier_format(&v, &fx.vkey), CR_OK);
	for (uint64_t i = 0; i < NLEAVES; i++) {
		struct audit_leaf l = { .sequence = seq ? seq[i] : i, .time_ms = 1000 + (int64_t)i,
					.event_type = "test.event", .actor_role = "system" };
		uint8_t h[32];
		assert_int_equal(audit_leaf_encode(&l, &fx.leaf[i], &fx.leaf_len[i]), CR_OK);
		audit_hash_leaf(fx.leaf[i], fx.leaf_len[i], h);
		assert_int_equal(merkle_append(fx_reader, NULL, i, h, fx_emit, NULL), CR_OK);
	}
	assert_int_equal(merkle_root(fx_reader, NULL, NLEAVES, root), CR_OK);
	memcpy(cp.root, root, 32);
	if (origin)
		snprintf(cp.origin, sizeof(cp.origin), "%s", origin);
	assert_int_equal(audit_checkpoint_format(&cp, &body, &blen), CR_OK);
	assert_int_equal(audit_note_sign(fx.signer, body, blen, &fx.note, &fx.note_len), CR_OK);
	free(body);
}

static void fx_build(const uint64_t *seq)
{
	fx_build_for(seq, NULL);
}

static void fx_free(void)
{
	for (size_t i = 0; i < NLEAVES; i++)
		free(fx.leaf[i]);
	free(fx.vkey);
	free(fx.note);
	audit_signer_free(fx.signer);
}

/* The tlog-proof of entry `index`, with the leaf in the extra line or not. */
static char *fx_proof(uint64_t index, bool with_extra, size_t *len)
{
	struct audit_tlog_proof p = { .index = index, .checkpoint = fx.note,
				      .checkpoint_len = fx.note_len };
	char *out = NULL;
	if (with_extra) {
		p.extra = fx.leaf[index];
		p.extra_len = fx.leaf_len[index];
	}
	assert_int_equal(merkle_inclusion(fx_reader, NULL, index, NLEAVES, &p.proof), CR_OK);
	assert_int_equal(audit_tlog_proof_format(&p, &out, len), CR_OK);
	return out;
}

static void test_spec_example_parses(void **state)
{
	(void)state;
	const char text[] =
		"c2sp.org/tlog-proof@v1\n"
		"extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\n"
		"index 73894\n"
		"gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
		"B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
		"EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n"
		"RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n"
		"AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n"
		"\n"
		"example.com/fancylog\n"
		"109482\n"
		"sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n"
		"\n"
		"\xe2\x80\x94 example.com/fancylog hI2DJw1roloI=\n";
	struct audit_tlog_proof *p = NULL;
	assert_int_equal(audit_tlog_proof_parse(text, strlen(text), &p), CR_OK);
	assert_int_equal(p->index, 73894);
	assert_int_equal(p->proof.n, 5);
	assert_int_equal(p->extra_len, 39);
	assert_memory_equal(p->extra, "age-v1.2.1-darwin-arm64.tar.gz", 30);
	assert_true(strncmp(p->checkpoint, "example.com/fancylog\n109482\n", 28) == 0);
	/* and formats back to the same text */
	char *again = NULL;
	size_t len = 0;
	assert_int_equal(audit_tlog_proof_format(p, &again, &len), CR_OK);
	assert_int_equal(len, strlen(text));
	assert_string_equal(again, text);
	free(again);
	audit_tlog_proof_free(p);
	audit_tlog_proof_free(NULL);
}

static void test_offline_verify_every_entry(void **state)
{
	(void)state;
	struct audit_proof_check out;
	char why[AUDIT_MSG_MAX];
	fx_build(NULL);
	for (uint64_t i = 0; i < NLEAVES; i++) {
		size_t len = 0;
		char *proof = fx_proof(i, true, &len);
		assert_int_equal(audit_tlog_proof_verify(fx.vkey, strlen(fx.vkey), proof, len, NULL, 0,
							 "log.example/proofs", &out, why, sizeof(why)),
				 CR_OK);
		assert_string_equal(why, "");
		assert_int_equal(out.index, i);
		assert_int_equal(out.checkpoint.size, NLEAVES);
		/* the leaf may also come separately, identical */
		assert_int_equal(audit_tlog_proof_verify(fx.vkey, strlen(fx.vkey), proof, len, fx.leaf[i],
							 fx.leaf_len[i], NULL, &out, NULL, 0), CR_OK);
		free(proof);
		/* or only separately */
		proof = fx_proof(i, false, &len);
		assert_int_equal(audit_tlog_proof_verify(fx.vkey, strlen(fx.vkey), proof, len, fx.leaf[i],
							 fx.leaf_len[i], NULL, &out, NULL, 0), CR_OK);
		free(proof);
	}
	fx_free();
}

/* Verifies `proof` and checks the exact error and that why is non-empty. */
static void expect(const char *vkey, const char *proof, const uint8_t *leaf, size_t leaf_len,
		   const char *origin, cr_err want)
{
	struct audit_proof_check out;
	char why[AUDIT_MSG_MAX];
	cr_err rc = audit_tlog_proof_verify(vkey, strlen(vkey), proof, strlen(proof), leaf, leaf_len,
					    origin, &out, why, sizeof(why));
	if (rc != want)
		fail_msg("got %s (%s), want %s", cr_errname(rc), why, cr_errname(want));
	assert_true(strlen(why) > 0);
}

static void test_offline_verify_failures(void **state)
{
	(void)state;
	size_t len = 0;
	char *proof, *bad;
	fx_build(NULL);
	proof = fx_proof(3, true, &len);

	/* the key: malformed, or someone else's */
	expect("not a key", proof, NULL, 0, NULL, CR_ERR_AUDIT_KEY_MALFORMED);
	expect("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", proof, NULL, 0,
	       NULL, CR_ERR_AUDIT_NOTE_UNVERIFIED);
	/* the wrong log */
	expect(fx.vkey, proof, NULL, 0, "log.example/other", CR_ERR_AUDIT_ORIGIN);
	/* a changed proof hash */
	bad = strdup(proof);
	char *hash_line = strstr(bad, "index 3\n") + strlen("index 3\n");
	hash_line[0] = hash_line[0] == 'A' ? 'B' : 'A';
	expect(fx.vkey, bad, NULL, 0, NULL, CR_ERR_AUDIT_PROOF_ROOT);
	free(bad);
	/* another index for the same hashes */
	bad = strdup(proof);
	strstr(bad, "index 3\n")[6] = '2';
	expect(fx.vkey, bad, NULL, 0, NULL, CR_ERR_AUDIT_PROOF_ROOT);
	strstr(bad, "index 2\n")[6] = '7';
	expect(fx.vkey, bad, NULL, 0, NULL, CR_ERR_AUDIT_PROOF_RANGE);
	free(bad);
	/* a hash line removed */
	bad = strdup(proof);
	hash_line = strstr(bad, "index 3\n") + strlen("index 3\n");
	memmove(hash_line, hash_line + 45, strlen(hash_line + 45) + 1);
	expect(fx.vkey, bad, NULL, 0, NULL, CR_ERR_AUDIT_PROOF_LENGTH);
	free(bad);
	/* a changed checkpoint */
	bad = strdup(proof);
	strstr(bad, "log.example/proofs\n7\n")[19] = '6';
	expect(fx.vkey, bad, NULL, 0, NULL, CR_ERR_AUDIT_NOTE_BAD_SIG);
	free(bad);
	/* the leaf: another one given, or none at all */
	expect(fx.vkey, proof, fx.leaf[2], fx.leaf_len[2], NULL, CR_ERR_AUDIT_LEAF_MISMATCH);
	free(proof);
	proof = fx_proof(3, false, &len);
	expect(fx.vkey, proof, NULL, 0, NULL, CR_ERR_AUDIT_LEAF_MISSING);
	expect(fx.vkey, proof, fx.leaf[2], fx.leaf_len[2], NULL, CR_ERR_AUDIT_PROOF_ROOT);
	free(proof);
	fx_free();

	/* a logged leaf whose sequence field is not its index */
	const uint64_t seq[NLEAVES] = { 0, 1, 2, 4, 4, 5, 6 };
	fx_build(seq);
	proof = fx_proof(3, true, &len);
	expect(fx.vkey, proof, NULL, 0, NULL, CR_ERR_AUDIT_LEAF_SEQUENCE);
	free(proof);
	fx_free();
}

/*
 * The same key signing a checkpoint of another log (origin
 * log.example/other): a proof in that log is refused when no origin is
 * given, since the key's name says which log it vouches for (issue 19).
 */
static void test_a_checkpoint_of_another_log_is_refused(void **state)
{
	char *proof;
	size_t len;
	struct audit_proof_check out;
	(void)state;
	fx_build_for(NULL, "log.example/other");
	proof = fx_proof(2, true, &len);
	expect(fx.vkey, proof, NULL, 0, NULL, CR_ERR_AUDIT_ORIGIN);
	/* naming that log explicitly is the officer's own choice */
	assert_int_equal(audit_tlog_proof_verify(fx.vkey, strlen(fx.vkey), proof, len, NULL, 0, "log.example/other",
						 &out, NULL, 0), CR_OK);
	free(proof);
	fx_free();
}

static void test_parse_refusals(void **state)
{
	(void)state;
	const char *hash = "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=";
	const char *cp = "o\n1\ngSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n\n\xe2\x80\x94 o AAAAAAAA\n";
	char text[1024];
	struct audit_tlog_proof *p = NULL;
	static const char *const bad_heads[] = {
		"c2sp.org/tlog-proof@v2\nindex 1\n",
		"c2sp.org/tlog-proof@v1\nindex 01\n",
		"c2sp.org/tlog-proof@v1\nindex -1\n",
		"c2sp.org/tlog-proof@v1\nindex  1\n",
		"c2sp.org/tlog-proof@v1\nIndex 1\n",
		"c2sp.org/tlog-proof@v1\nextra \nindex 1\n",
		"c2sp.org/tlog-proof@v1\nextra !!!!\nindex 1\n",
		"c2sp.org/tlog-proof@v1\nindex 1\nextra AAAA\n",
		"c2sp.org/tlog-proof@v1\nindex 1\ngSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPl==\n",
		"c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n",
		"c2sp.org/tlog-proof@v1\n\nindex 1\n",
	};
	for (size_t i = 0; i < sizeof(bad_heads) / sizeof(bad_heads[0]); i++) {
		snprintf(text, sizeof(text), "%s\n%s", bad_heads[i], cp);
		if (audit_tlog_proof_parse(text, strlen(text), &p) != CR_ERR_AUDIT_TLOG_PROOF_MALFORMED)
			fail_msg("case %zu was accepted", i);
	}
	/* no empty line, no checkpoint */
	snprintf(text, sizeof(text), "c2sp.org/tlog-proof@v1\nindex 1\n%s\n", hash);
	assert_int_equal(audit_tlog_proof_parse(text, strlen(text), &p), CR_ERR_AUDIT_TLOG_PROOF_MALFORMED);
	snprintf(text, sizeof(text), "c2sp.org/tlog-proof@v1\nindex 1\n%s\n\n", hash);
	assert_int_equal(audit_tlog_proof_parse(text, strlen(text), &p), CR_ERR_AUDIT_TLOG_PROOF_MALFORMED);
	assert_int_equal(audit_tlog_proof_parse(NULL, 0, &p), CR_ERR_AUDIT_TLOG_PROOF_MALFORMED);
	/* more hashes than any tree needs */
	size_t cap = 64 + 45 * (AUDIT_PROOF_MAX + 1) + strlen(cp) + 2;
	char *big = malloc(cap);
	size_t n = (size_t)snprintf(big, cap, "c2sp.org/tlog-proof@v1\nindex 1\n");
	for (int i = 0; i <= AUDIT_PROOF_MAX; i++)
		n += (size_t)snprintf(big + n, cap - n, "%s\n", hash);
	n += (size_t)snprintf(big + n, cap - n, "\n%s", cp);
	assert_int_equal(audit_tlog_proof_parse(big, n, &p), CR_ERR_AUDIT_TLOG_PROOF_MALFORMED);
	free(big);
	/* a good one, no hashes (a one-entry tree) */
	snprintf(text, sizeof(text), "c2sp.org/tlog-proof@v1\nindex 0\n\n%s", cp);
	assert_int_equal(audit_tlog_proof_parse(text, strlen(text), &p), CR_OK);
	assert_int_equal(p->proof.n, 0);
	assert_null(p->extra);
	audit_tlog_proof_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example_parses),
		cmocka_unit_test(test_offline_verify_every_entry),
		cmocka_unit_test(test_offline_verify_failures),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_a_checkpoint_of_another_log_is_refused),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
