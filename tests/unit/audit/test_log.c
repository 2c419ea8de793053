/* Unit tests for audit/log.c: appends inside the caller's transaction
 * (I5, docs/spec/invariants.md), rollback, a refused append leaving nothing, salts and
 * commitments, erasure keeping every proof valid, proofs from stored hashes
 * against an in-memory tree, tlog-proof export checked offline, the
 * checkpoint guard (I6), the start-up check, and the crash test: a child
 * appending in batches is killed with SIGKILL at random moments, and after
 * each restart the log verifies, every acknowledged entry is present with
 * the content derived from its index, and no published checkpoint is
 * contradicted. AUDIT_CRASH_ITERS sets the number of kills (default 50). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit_fixture.h"

/* ----------------------------------------------------- a reference tree */

/* The subtree hashes of a log's leaves, recomputed from its leaf bytes. */
struct ref_tree {
	uint64_t n;
	uint8_t (*level[20])[32];
};

static cr_err ref_reader(void *ctx, unsigned level, uint64_t index, uint8_t out[static 32])
{
	struct ref_tree *t = ctx;
	memcpy(out, t->level[level][index], 32);
	return CR_OK;
}

static cr_err ref_emit(void *ctx, unsigned level, uint64_t index, const uint8_t h[static 32])
{
	struct ref_tree *t = ctx;
	memcpy(t->level[level][index], h, 32);
	return CR_OK;
}

static void ref_build(struct audit_log *log, uint64_t n, struct ref_tree *t)
{
	t->n = n;
	for (unsigned l = 0; l < 20; l++)
		t->level[l] = calloc((n >> l) + 1, 32);
	for (uint64_t i = 0; i < n; i++) {
		uint8_t *b = NULL, h[32];
		size_t len = 0;
		assert_int_equal(audit_log_leaf(log, i, &b, &len), CR_OK);
		audit_hash_leaf(b, len, h);
		assert_int_equal(merkle_append(ref_reader, t, i, h, ref_emit, t), CR_OK);
		free(b);
	}
}

static void ref_free(struct ref_tree *t)
{
	for (unsigned l = 0; l < 20; l++)
		free(t->level[l]);
}

/* ------------------------------------------------------------- basics */

static void test_append_needs_transaction_and_signer(void **state)
{
	(void)state;
	sqlite3 *db = fx_db_open(NULL);
	struct audit_signer *s = fx_signer();
	struct audit_log *log = fx_log_open(db, s), *ro = NULL;
	struct fx_entry f;
	uint64_t idx = 99, size = 9;
	char *note = NULL;

	fx_entry_make(0, &f);
	assert_int_equal(audit_log_append(log, &f.e, &idx), CR_ERR_AUDIT_NO_TXN);
	assert_int_equal(audit_log_checkpoint(log, &note), CR_ERR_AUDIT_NO_TXN);
	assert_int_equal(idx, 99);
	assert_int_equal(audit_log_open(db, FX_ORIGIN, NULL, &ro, NULL, 0), CR_OK);
	fx_exec(db, "BEGIN");
	assert_int_equal(audit_log_append(ro, &f.e, &idx), CR_ERR_AUDIT_READ_ONLY);
	assert_int_equal(audit_log_checkpoint(ro, &note), CR_ERR_AUDIT_READ_ONLY);
	fx_exec(db, "COMMIT");
	assert_int_equal(audit_log_size(log, &size), CR_OK);
	assert_int_equal(size, 0);
	assert_int_equal(audit_log_latest_checkpoint(log, &note), CR_ERR_AUDIT_NO_CHECKPOINT);
	/* bad arguments to open */
	struct audit_log *x = NULL;
	assert_int_equal(audit_log_open(db, "", s, &x, NULL, 0), CR_ERR_INVALID_ARG);
	assert_int_equal(audit_log_open(db, "a\nb", s, &x, NULL, 0), CR_ERR_INVALID_ARG);
	assert_null(x);
	audit_log_free(ro);
	audit_log_free(log);
	audit_log_free(NULL);
	audit_signer_free(s);
	sqlite3_close(db);
}

static void test_append_checkpoint_and_proofs(void **state)
{
	(void)state;
	sqlite3 *db = fx_db_open(NULL);
	struct audit_signer *s = fx_signer();
	struct audit_log *log = fx_log_open(db, s);
	struct audit_verifier v;
	struct audit_checkpoint cp;
	struct ref_tree t;
	char *note = NULL;
	uint64_t size = 0, first = 0;
	static const size_t batches[] = { 1, 1, 2, 5, 64, 7, 100, 33, 87 };

	assert_int_equal(audit_verifier_from_signer(s, &v), CR_OK);
	for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
		fx_batch(db, log, first, batches[b]);
		first += batches[b];
	}
	assert_int_equal(audit_log_size(log, &size), CR_OK);
	assert_int_equal(size, 300);
	assert_int_equal(fx_count(db, "SELECT count(*) FROM audit_hashes"), audit_hash_count(300));
	assert_int_equal(fx_count(db, "SELECT count(*) FROM audit_checkpoints"), 9);
	assert_int_equal(audit_log_latest_checkpoint(log, &note), CR_OK);
	assert_int_equal(audit_checkpoint_open(&v, note, strlen(note), FX_ORIGIN, &cp), CR_OK);
	assert_int_equal(cp.size, 300);
	free(note);

	/* the signed root and every proof equal those of a tree rebuilt from
	 * the leaf bytes, and verify */
	ref_build(log, 300, &t);
	uint8_t root[32];
	assert_int_equal(merkle_root(ref_reader, &t, 300, root), CR_OK);
	assert_bytes_equal(cp.root, root, 32);
	for (uint64_t n = 1; n <= 300; n += (n < 40 ? 1 : 13)) {
		uint8_t rn[32], rs[32];
		assert_int_equal(merkle_root(ref_reader, &t, n, rn), CR_OK);
		assert_int_equal(audit_log_root(log, n, rs), CR_OK);
		assert_bytes_equal(rs, rn, 32);
		for (uint64_t m = 0; m < n; m++) {
			struct audit_proof a, b;
			assert_int_equal(audit_log_prove_inclusion(log, m, n, &a), CR_OK);
			assert_int_equal(merkle_inclusion(ref_reader, &t, m, n, &b), CR_OK);
			assert_int_equal(a.n, b.n);
			assert_memory_equal(a.hash, b.hash, a.n * 32);
			assert_int_equal(audit_verify_inclusion(m, n, t.level[0][m], &a, rn), CR_OK);
			uint8_t rm[32];
			assert_int_equal(merkle_root(ref_reader, &t, m + 1, rm), CR_OK);
			assert_int_equal(audit_log_prove_consistency(log, m + 1, n, &a), CR_OK);
			assert_int_equal(audit_verify_consistency(m + 1, n, &a, rm, rn), CR_OK);
		}
	}
	struct audit_proof p;
	assert_int_equal(audit_log_prove_inclusion(log, 300, 300, &p), CR_ERR_AUDIT_PROOF_RANGE);
	assert_int_equal(audit_log_prove_inclusion(log, 0, 301, &p), CR_ERR_AUDIT_PROOF_RANGE);
	assert_int_equal(audit_log_prove_consistency(log, 0, 10, &p), CR_ERR_AUDIT_PROOF_RANGE);
	assert_int_equal(audit_log_root(log, 301, root), CR_ERR_AUDIT_PROOF_RANGE);
	uint8_t *b = NULL;
	size_t len = 0;
	assert_int_equal(audit_log_leaf(log, 300, &b, &len), CR_ERR_AUDIT_NOT_FOUND);
	assert_int_equal(audit_log_leaf(log, UINT64_MAX, &b, &len), CR_ERR_AUDIT_NOT_FOUND);
	/* the content of every leaf is what the entry said */
	for (uint64_t i = 0; i < 300; i++) {
		uint8_t *want = NULL;
		size_t want_len = 0;
		fx_expected_leaf(db, i, &want, &want_len);
		assert_int_equal(audit_log_leaf(log, i, &b, &len), CR_OK);
		assert_int_equal(len, want_len);
		assert_bytes_equal(b, want, len);
		free(b);
		free(want);
	}
	ref_free(&t);
	audit_log_free(log);
	audit_signer_free(s);
	sqlite3_close(db);
}

static void test_tlog_proof_export_verifies_offline(void **state)
{
	(void)state;
	sqlite3 *db = fx_db_open(NULL);
	struct audit_signer *s = fx_signer();
	struct audit_log *log = fx_log_open(db, s);
	struct audit_verifier v;
	struct audit_proof_check out;
	char *vkey = NULL, *proof = NULL, why[AUDIT_MSG_MAX];
	size_t len = 0;

	assert_int_equal(audit_log_tlog_proof(log, 0, &proof, &len), CR_ERR_AUDIT_NO_CHECKPOINT);
	assert_int_equal(audit_verifier_from_signer(s, &v), CR_OK);
	assert_int_equal(audit_verifier_format(&v, &vkey), CR_OK);
	fx_batch(db, log, 0, 21);
	/* appended after the latest checkpoint: not provable yet */
	fx_exec(db, "BEGIN");
	struct fx_entry f;
	fx_entry_make(21, &f);
	assert_int_equal(audit_log_append(log, &f.e, NULL), CR_OK);
	fx_exec(db, "COMMIT");
	assert_int_equal(audit_log_tlog_proof(log, 21, &proof, &len), CR_ERR_AUDIT_NO_CHECKPOINT);
	for (uint64_t i = 0; i < 21; i++) {
		assert_int_equal(audit_log_tlog_proof(log, i, &proof, &len), CR_OK);
		assert_int_equal(len, strlen(proof));
		cr_err rc = audit_tlog_proof_verify(vkey, strlen(vkey), proof, len, NULL, 0, FX_ORIGIN,
						    &out, why, sizeof(why));
		if (rc != CR_OK)
			fail_msg("entry %llu: %s", (unsigned long long)i, why);
		assert_int_equal(out.index, i);
		assert_int_equal(out.checkpoint.size, 21);
		free(proof);
	}
	free(vkey);
	audit_log_free(log);
	audit_signer_free(s);
	sqlite3_close(db);
}

/* ------------------------------------------------- transactions (I5) */

static void test_rollback_leaves_nothing_stale(void **state)
{
	(void)state;
	sqlite3 *db = fx_db_open(NULL);
	struct audit_signer *s = fx_signer();
	struct audit_log *log = fx_log_open(db, s);
	struct audit_verifier v;
	struct audit_verify_report rep;
	uint64_t size = 0, idx = 0;

	fx_batch(db, log, 0, 10);
	/* the caller's transaction rolls back: the handle needs no reload */
	fx_exec(db, "BEGIN IMMEDIATE");
	for (uint64_t i = 10; i < 15; i++) {
		struct fx_entry f;
		fx_entry_make(i + 1000, &f);
		assert_int_equal(audit_log_append(log, &f.e, &idx), CR_OK);
		assert_int_equal(idx, i);
	}
	assert_int_equal(audit_log_checkpoint(log, NULL), CR_OK);
	fx_exec(db, "ROLLBACK");
	assert_int_equal(audit_log_size(log, &size), CR_OK);
	assert_int_equal(size, 10);
	assert_int_equal(fx_count(db, "SELECT max(size) FROM audit_checkpoints"), 10);
	fx_batch(db, log, 10, 6);
	assert_int_equal(audit_verifier_from_signer(s, &v), CR_OK);
	assert_int_equal(audit_log_verify(db, FX_ORIGIN, &v, NULL, 0, &rep), CR_OK);
	assert_int_equal(rep.size, 16);
	audit_log_free(log);
	audit_signer_free(s);
	sqlite3_close(db);
}

static void test_failed_append_leaves_nothing(void **state)
{
	(void)state;
	sqlite3 *db = fx_db_open(NULL);
	struct audit_signer *s = fx_signer();
	struct audit_log *log = fx_log_open(db, s);
	struct audit_verifier v;
	struct audit_verify_report rep;
	struct fx_entry f;
	uint8_t fresh[32], salt[32];
	uint64_t idx = 0, size = 0;

	fx_exec(db, "BEGIN IMMEDIATE");
	fx_entry_make(0, &f);
	assert_int_equal(audit_log_append(log, &f.e, &idx), CR_OK);
	/* a new subject, but an invalid field: no salt, no row, no hash stays */
	fx_entry_make(1, &f);
	fx_pseudonym(200, fresh);
	f.e.subject = fresh;
	f.e.event_type = "Not Valid";
	assert_int_equal(audit_log_append(log, &f.e, &idx), CR_ERR_AUDIT_FIELD);
	assert_false(fx_salt(db, fresh, salt));
	f.e.event_type = NULL;
	assert_int_equal(audit_log_append(log, &f.e, &idx), CR_ERR_AUDIT_FIELD);
	/* the caller's transaction is still usable */
	fx_entry_make(1, &f);
	assert_int_equal(audit_log_append(log, &f.e, &idx), CR_OK);
	assert_int_equal(idx, 1);
	assert_int_equal(audit_log_checkpoint(log, NULL), CR_OK);
	fx_exec(db, "COMMIT");
	assert_int_equal(audit_log_size(log, &size), CR_OK);
	assert_int_equal(size, 2);
	assert_int_equal(fx_count(db, "SELECT count(*) FROM audit_hashes"), 3);
	assert_int_equal(audit_verifier_from_signer(s, &v), CR_OK);
	assert_int_equal(audit_log_verify(db, FX_ORIGIN, &v, NULL, 0, &rep), CR_OK);
	audit_log_free(log);
	audit_signer_free(s);
	sqlite3_close(db);
}

/* ------------------------------------------- subjects and erasure */

static void commit_of(sqlite3 *db, struct audit_log *log, uint64_t i, uint8_t out[static 32])
{
	uint8_t *b = NULL;
	size_t len = 0;
	struct audit_leaf *l = NULL;
	(void)db;
	assert_int_equal(audit_log_leaf(log, i, &b, &len), CR_OK);
	assert_int_equal(audit_leaf_decode(b, len, &l), CR_OK);
	assert_true(l->has_subject);
	memcpy(out, l->subject_commit, 32);
	audit_leaf_free(l);
	free(b);
}

static void test_subject_salt_and_commitment(void **state)
{
	(void)state;
	sqlite3 *db = fx_db_open(NULL);
	struct audit_signer *s = fx_signer();
	struct audit_log *log = fx_log_open(db, s);
	uint8_t c0[32], c14[32], c2[32], salt[32], buf[64], want[32], p0[32];

	fx_batch(db, log, 0, 15);
	/* entries 0 and 14 share subject 0: one salt, one commitment */
	commit_of(db, log, 0, c0);
	commit_of(db, log, 14, c14);
	commit_of(db, log, 2, c2);
	assert_memory_equal(c0, c14, 32);
	assert_memory_not_equal(c0, c2, 32);
	fx_pseudonym(0, p0);
	assert_true(fx_salt(db, p0, salt));
	memcpy(buf, salt, 32);
	memcpy(buf + 32, p0, 32);
	crypto_hash_sha256(want, buf, sizeof(buf));
	assert_memory_equal(c0, want, 32);
	/* no pseudonym is in the leaf itself */
	uint8_t *b = NULL;
	size_t len = 0;
	assert_int_equal(audit_log_leaf(log, 0, &b, &len), CR_OK);
	assert_null(memmem(b, len, p0, 32));
	free(b);
	assert_int_equal(fx_count(db, "SELECT count(*) FROM audit_subjects"), 8);
	assert_int_equal(fx_count(db, "SELECT count(*) FROM audit_salts"), 7);
	audit_log_free(log);
	audit_signer_free(s);
	sqlite3_close(db);
}

static void test_erasure_keeps_every_proof_valid(void **state)
{
	(void)state;
	sqlite3 *db = fx_db_open(NULL);
	struct audit_signer *s = fx_signer();
	struct audit_log *log = fx_log_open(db, s);
	struct audit_verifier v;
	struct audit_verify_report rep;
	struct audit_proof_check out;
	struct audit_page page;
	struct audit_query q = { .limit = 100 };
	char *vkey = NULL, *proofs[30], *note_before = NULL, *note_after = NULL;
	size_t len = 0;
	uint8_t p3[32], salt[32], before[32], after[32];
	uint64_t rows = 0;

	assert_int_equal(audit_verifier_from_signer(s, &v), CR_OK);
	assert_int_equal(audit_verifier_format(&v, &vkey), CR_OK);
	fx_batch(db, log, 0, 30);
	for (uint64_t i = 0; i < 30; i++)
		assert_int_equal(audit_log_tlog_proof(log, i, &proofs[i], &len), CR_OK);
	assert_int_equal(audit_log_latest_checkpoint(log, &note_before), CR_OK);
	fx_pseudonym(3, p3); /* subject of entries 10 and 24 */
	commit_of(db, log, 10, before);
	q.subject = p3;
	assert_int_equal(audit_log_query(log, &q, &page), CR_OK);
	assert_int_equal(page.n, 2);
	audit_page_release(&page);

	fx_exec(db, "BEGIN IMMEDIATE");
	assert_int_equal(audit_subject_erase(log, p3, &rows), CR_OK);
	fx_exec(db, "COMMIT");
	assert_int_equal(rows, 2);
	assert_false(fx_salt(db, p3, salt));
	assert_int_equal(fx_count(db, "SELECT count(*) FROM audit_subjects WHERE idx IN (10, 24)"), 0);
	/* the subject can no longer be found */
	assert_int_equal(audit_log_query(log, &q, &page), CR_OK);
	assert_int_equal(page.n, 0);
	audit_page_release(&page);
	/* the leaves, the checkpoint and every earlier proof are unchanged and valid */
	commit_of(db, log, 10, after);
	assert_memory_equal(before, after, 32);
	assert_int_equal(audit_log_latest_checkpoint(log, &note_after), CR_OK);
	assert_string_equal(note_before, note_after);
	for (uint64_t i = 0; i < 30; i++) {
		char *now = NULL;
		assert_int_equal(audit_tlog_proof_verify(vkey, strlen(vkey), proofs[i], strlen(proofs[i]),
							 NULL, 0, FX_ORIGIN, &out, NULL, 0), CR_OK);
		assert_int_equal(audit_log_tlog_proof(log, i, &now, &len), CR_OK);
		assert_string_equal(now, proofs[i]);
		free(now);
		free(proofs[i]);
	}
	assert_int_equal(audit_log_verify(db, FX_ORIGIN, &v, note_before, strlen(note_before), &rep), CR_OK);
	/* the subject returns: a new salt, so the new entries are unlinkable */
	struct fx_entry f;
	fx_exec(db, "BEGIN IMMEDIATE");
	fx_entry_make(30, &f);
	f.e.subject = p3;
	assert_int_equal(audit_log_append(log, &f.e, NULL), CR_OK);
	assert_int_equal(audit_log_checkpoint(log, NULL), CR_OK);
	fx_exec(db, "COMMIT");
	commit_of(db, log, 30, after);
	assert_memory_not_equal(before, after, 32);
	/* erasing an unknown subject is not an error; outside a transaction it is */
	fx_exec(db, "BEGIN");
	assert_int_equal(audit_subject_erase(log, salt, &rows), CR_OK);
	assert_int_equal(rows, 0);
	fx_exec(db, "COMMIT");
	assert_int_equal(audit_subject_erase(log, p3, &rows), CR_ERR_AUDIT_NO_TXN);
	free(note_before);
	free(note_after);
	free(vkey);
	audit_log_free(log);
	audit_signer_free(s);
	sqlite3_close(db);
}

/* ------------------------------------------------ checkpoints (I6) */

static void test_checkpoint_guard(void **state)
{
	(void)state;
	sqlite3 *db = fx_db_open(NULL);
	struct audit_signer *s = fx_signer();
	struct audit_log *log = fx_log_open(db, s);
	char *a = NULL, *b = NULL, *c = NULL;

	fx_batch(db, log, 0, 12);
	/* nothing new: the same note again, nothing stored */
	fx_exec(db, "BEGIN");
	assert_int_equal(audit_log_checkpoint(log, &a), CR_OK);
	assert_int_equal(audit_log_checkpoint(log, &b), CR_OK);
	fx_exec(db, "COMMIT");
	assert_string_equal(a, b);
	assert_int_equal(fx_count(db, "SELECT count(*) FROM audit_checkpoints"), 1);

	/* A stored hash inside the subtree of leaves 0-3 changed: the root of
	 * 12 leaves is built from (level 3, 0) and (level 2, 2) only, so the
	 * signed tree is unaffected and signing goes on (full verification is
	 * what finds such a change, see test_verify.c). */
	struct fx_entry f;
	fx_exec(db, "UPDATE audit_hashes SET hash = zeroblob(32) WHERE id = 2");
	fx_exec(db, "BEGIN");
	assert_int_equal(audit_log_checkpoint(log, NULL), CR_OK);
	fx_exec(db, "ROLLBACK");
	/* A new tree head that does not extend the signed one: the stored hash
	 * of leaves 0-15 (written by the append of leaf 15) is not the hash of
	 * its children, while every hash under the signed root of 12 is intact.
	 * Only the consistency proof tells; never sign a fork. */
	char sql[128];
	fx_exec(db, "BEGIN");
	for (uint64_t i = 12; i < 16; i++) {
		fx_entry_make(i, &f);
		assert_int_equal(audit_log_append(log, &f.e, NULL), CR_OK);
	}
	snprintf(sql, sizeof(sql), "UPDATE audit_hashes SET hash = zeroblob(32) WHERE id = %llu",
		 (unsigned long long)audit_hash_id(4, 0));
	fx_exec(db, sql);
	assert_int_equal(audit_log_checkpoint(log, &c), CR_ERR_AUDIT_INCONSISTENT);
	assert_null(c);
	fx_exec(db, "ROLLBACK");
	/* (level 3, index 0), under the signed root, changed: never sign over it */
	snprintf(sql, sizeof(sql), "UPDATE audit_hashes SET hash = zeroblob(32) WHERE id = %llu",
		 (unsigned long long)audit_hash_id(3, 0));
	fx_exec(db, sql);
	/* nothing appended since: still refused, not answered with the old note */
	fx_exec(db, "BEGIN");
	assert_int_equal(audit_log_checkpoint(log, &c), CR_ERR_AUDIT_INCONSISTENT);
	assert_null(c);
	fx_exec(db, "ROLLBACK");
	fx_exec(db, "BEGIN");
	fx_entry_make(12, &f);
	assert_int_equal(audit_log_append(log, &f.e, NULL), CR_OK);
	assert_int_equal(audit_log_checkpoint(log, &c), CR_ERR_AUDIT_INCONSISTENT);
	assert_null(c);
	fx_exec(db, "ROLLBACK");
	assert_int_equal(fx_count(db, "SELECT count(*) FROM audit_checkpoints"), 1);
	free(a);
	free(b);
	audit_log_free(log);
	audit_signer_free(s);
	sqlite3_close(db);

	/* the latest checkpoint is not ours (corrupted signature) */
	db = fx_db_open(NULL);
	s = fx_signer();
	log = fx_log_open(db, s);
	fx_batch(db, log, 0, 5);
	fx_exec(db, "UPDATE audit_checkpoints SET note = replace(note, '\xe2\x80\x94 ', '\xe2\x80\x94 x')");
	fx_exec(db, "BEGIN");
	fx_entry_make(5, &f);
	assert_int_equal(audit_log_append(log, &f.e, NULL), CR_OK);
	assert_int_equal(audit_log_checkpoint(log, &c), CR_ERR_AUDIT_INCONSISTENT);
	fx_exec(db, "ROLLBACK");
	fx_exec(db, "UPDATE audit_checkpoints SET note = replace(note, '\xe2\x80\x94 x', '\xe2\x80\x94 ')");
	fx_exec(db, "BEGIN");
	assert_int_equal(audit_log_checkpoint(log, &c), CR_OK); /* restored: fine again */
	fx_exec(db, "ROLLBACK");
	free(c);
	c = NULL;
	/* leaves removed under a signed checkpoint: the tree shrank */
	fx_exec(db, "DELETE FROM audit_leaves WHERE idx = 4");
	fx_exec(db, "BEGIN");
	assert_int_equal(audit_log_checkpoint(log, &c), CR_ERR_AUDIT_INCONSISTENT);
	fx_exec(db, "ROLLBACK");
	audit_log_free(log);
	audit_signer_free(s);
	sqlite3_close(db);
}

/* Opens with the signer and expects the start-up check to refuse. */
static void expect_startup_refusal(sqlite3 *db, const char *origin, const struct audit_signer *s,
				   const char *why_part)
{
	struct audit_log *log = NULL;
	char why[AUDIT_MSG_MAX];
	assert_int_equal(audit_log_open(db, origin, s, &log, why, sizeof(why)), CR_ERR_AUDIT_STARTUP);
	assert_null(log);
	if (strstr(why, why_part) == NULL)
		fail_msg("reason \"%s\" does not mention \"%s\"", why, why_part);
}

static void test_startup_check(void **state)
{
	(void)state;
	char dir[] = "/tmp/cr-audit-start-XXXXXX", path[128];
	struct audit_signer *s = fx_signer(), *other = fx_signer_n(1);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/log.db", dir);
	sqlite3 *db = fx_db_open(path);
	struct audit_log *log = fx_log_open(db, s);
	fx_batch(db, log, 0, 20);
	audit_log_free(log);

	/* a clean reopen; a read-only open */
	log = fx_log_open(db, s);
	audit_log_free(log);
	assert_int_equal(audit_log_open(db, FX_ORIGIN, NULL, &log, NULL, 0), CR_OK);
	audit_log_free(log);
	/* another key, another origin */
	expect_startup_refusal(db, FX_ORIGIN, other, "does not verify");
	expect_startup_refusal(db, "cleanroom.test/audit/2", s, "origin differs");
	expect_startup_refusal(db, "cleanroom.test/audit/2", NULL, "origin differs");
	/* a stored hash the root of 20 leaves is built from, (level 4, 0), changed */
	char sql[128];
	snprintf(sql, sizeof(sql), "UPDATE audit_hashes SET hash = zeroblob(32) WHERE id = %llu",
		 (unsigned long long)audit_hash_id(4, 0));
	fx_exec(db, sql);
	expect_startup_refusal(db, FX_ORIGIN, s, "does not match the latest signed checkpoint");
	snprintf(sql, sizeof(sql), "UPDATE audit_hashes SET hash = x'00' WHERE id = %llu",
		 (unsigned long long)audit_hash_id(4, 0));
	fx_exec(db, sql);
	expect_startup_refusal(db, FX_ORIGIN, s, "does not match the latest signed checkpoint");
	/* a fresh log of 20 leaves for the row counts */
	sqlite3_close(db);
	unlink(path);
	db = fx_db_open(path);
	log = fx_log_open(db, s);
	fx_batch(db, log, 0, 20);
	audit_log_free(log);
	/* a hash row injected where a later append will write: every append
	 * would fail on it; the start-up check counts the rows and refuses */
	snprintf(sql, sizeof(sql), "INSERT INTO audit_hashes(id, hash) VALUES (%llu, zeroblob(32))",
		 (unsigned long long)audit_hash_id(0, 20));
	fx_exec(db, sql);
	expect_startup_refusal(db, FX_ORIGIN, s, "log of 20 leaves holds 39 stored hashes, not 38");
	snprintf(sql, sizeof(sql), "DELETE FROM audit_hashes WHERE id = %llu", (unsigned long long)audit_hash_id(0, 20));
	fx_exec(db, sql);
	log = fx_log_open(db, s); /* as many rows as 20 leaves need: opens again */
	audit_log_free(log);
	/* a leaf row injected past the last index is the size; one in a gap below is not */
	fx_exec(db, "INSERT INTO audit_leaves(idx, time_ms, type, tenant, actor, data) "
		    "SELECT 25, time_ms, type, tenant, actor, data FROM audit_leaves WHERE idx = 19");
	fx_exec(db, "DELETE FROM audit_leaves WHERE idx = 3");
	expect_startup_refusal(db, FX_ORIGIN, s, "log holds 20 leaf rows for indexes 0 to 25");
	fx_exec(db, "DELETE FROM audit_leaves WHERE idx = 25");
	/* leaves lost after the checkpoint was published */
	fx_exec(db, "DELETE FROM audit_leaves WHERE idx >= 15");
	expect_startup_refusal(db, FX_ORIGIN, s, "log holds 15 leaves but its latest signed checkpoint covers 20");
	sqlite3_close(db);
	unlink(path);
	audit_signer_free(s);
	audit_signer_free(other);
}

/* ------------------------------------------------------- the crash test */

struct ack {
	uint64_t end;      /* entries [0, end) are acknowledged */
	uint32_t note_len; /* then the published checkpoint note */
};

/* The child: append batches forever; after each COMMIT, acknowledge the
 * entries and publish the checkpoint by writing one record to the pipe
 * (a write under PIPE_BUF bytes is atomic). Exit codes name a failure. */
static _Noreturn void crash_child(const char *path, int wfd, uint64_t seed)
{
	sqlite3 *db = NULL;
	struct audit_signer *s = fx_signer();
	struct audit_log *log = NULL;
	char rec[4096];
	uint64_t rng = seed | 1;

	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL) != SQLITE_OK)
		_exit(10);
	sqlite3_busy_timeout(db, 5000);
	if (audit_log_open(db, FX_ORIGIN, s, &log, NULL, 0) != CR_OK)
		_exit(11);
	for (;;) {
		uint64_t first = 0;
		char *note = NULL;
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		size_t batch = 1 + (size_t)(rng % 48);
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
		    audit_log_size(log, &first) != CR_OK)
			_exit(12);
		for (size_t k = 0; k < batch; k++) {
			struct fx_entry f;
			fx_entry_make(first + k, &f);
			if (audit_log_append(log, &f.e, NULL) != CR_OK)
				_exit(13);
		}
		if (audit_log_checkpoint(log, &note) != CR_OK)
			_exit(14);
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			_exit(15);
		struct ack a = { .end = first + batch, .note_len = (uint32_t)strlen(note) };
		if (sizeof(a) + a.note_len > sizeof(rec))
			_exit(16);
		memcpy(rec, &a, sizeof(a));
		memcpy(rec + sizeof(a), note, a.note_len);
		if (write(wfd, rec, sizeof(a) + a.note_len) != (ssize_t)(sizeof(a) + a.note_len))
			_exit(17);
		free(note);
	}
}

struct crash_state {
	uint64_t acked;        /* every index below is acknowledged */
	uint64_t checked;      /* content checked below this index */
	char **published;      /* every checkpoint the children published */
	struct audit_checkpoint *heads; /* and each one's body, parsed once */
	size_t n_published, cap_published;
};

/* Takes the complete records out of buf[0..*len). */
static void take_records(struct crash_state *cs, char *buf, size_t *len)
{
	size_t off = 0;
	while (*len - off >= sizeof(struct ack)) {
		struct ack a;
		memcpy(&a, buf + off, sizeof(a));
		if (*len - off < sizeof(a) + a.note_len)
			break;
		assert_true(a.end > cs->acked);
		cs->acked = a.end;
		if (cs->n_published == cs->cap_published) {
			cs->cap_published = cs->cap_published ? 2 * cs->cap_published : 64;
			cs->published = realloc(cs->published, cs->cap_published * sizeof(char *));
			cs->heads = realloc(cs->heads, cs->cap_published * sizeof(*cs->heads));
		}
		char *note = malloc(a.note_len + 1);
		memcpy(note, buf + off + sizeof(a), a.note_len);
		note[a.note_len] = '\0';
		const char *end = strstr(note, "\n\n");
		assert_non_null(end);
		assert_int_equal(audit_checkpoint_parse(note, (size_t)(end - note) + 1, &cs->heads[cs->n_published]),
				 CR_OK);
		cs->published[cs->n_published++] = note;
		off += sizeof(a) + a.note_len;
	}
	memmove(buf, buf + off, *len - off);
	*len -= off;
}

/* Runs one child for `ms` milliseconds, then SIGKILLs it. */
static void crash_once(const char *path, struct crash_state *cs, int ms, uint64_t seed)
{
	int fds[2], status = 0;
	char buf[65536];
	size_t len = 0;
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		crash_child(path, fds[1], seed);
	}
	close(fds[1]);
	int64_t deadline = cr_monotonic_ms() + ms;
	bool killed = false;
	for (;;) {
		int64_t left = deadline - cr_monotonic_ms();
		if (left <= 0 && !killed) {
			kill(pid, SIGKILL);
			killed = true;
		}
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		if (poll(&pfd, 1, killed ? 1000 : (int)left) <= 0)
			continue;
		ssize_t n = read(fds[0], buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EOF: the child is gone and everything it wrote is read */
		len += (size_t)n;
		take_records(cs, buf, &len);
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
		fail_msg("child ended by itself (status %d): exit code %d", status,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	assert_int_equal(len, 0); /* no half record: writes are atomic */
}

/*
 * No two checkpoints of one size differ (a fork signed by the log's own
 * key): every checkpoint published since the last check against every one
 * published before it, and every checkpoint stored in the database against
 * every published one.
 */
static void assert_no_two_roots_per_size(sqlite3 *db, struct crash_state *cs, size_t published_before)
{
	sqlite3_stmt *st = NULL;
	struct audit_checkpoint a;
	for (size_t i = published_before; i < cs->n_published; i++)
		for (size_t j = 0; j < i; j++)
			if (cs->heads[i].size == cs->heads[j].size && memcmp(cs->heads[i].root, cs->heads[j].root, 32) != 0)
				fail_msg("two published checkpoints of size %llu differ",
					 (unsigned long long)cs->heads[i].size);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT note FROM audit_checkpoints", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *note = (const char *)sqlite3_column_text(st, 0), *end = strstr(note, "\n\n");
		assert_non_null(end);
		assert_int_equal(audit_checkpoint_parse(note, (size_t)(end - note) + 1, &a), CR_OK);
		for (size_t j = 0; j < cs->n_published; j++)
			if (a.size == cs->heads[j].size && memcmp(a.root, cs->heads[j].root, 32) != 0)
				fail_msg("the stored checkpoint of size %llu differs from the one published",
					 (unsigned long long)a.size);
	}
	sqlite3_finalize(st);
}

/* After a crash: the log opens, verifies, holds every acknowledged entry
 * with its content, agrees with every published checkpoint, and no size
 * has two signed roots. */
static void crash_check(const char *path, struct crash_state *cs, size_t published_before)
{
	sqlite3 *db = fx_db_open(path);
	struct audit_signer *s = fx_signer();
	struct audit_log *log = fx_log_open(db, s); /* the start-up check */
	struct audit_verifier v;
	struct audit_verify_report rep;
	uint64_t size = 0;
	uint8_t root[32];

	assert_int_equal(audit_verifier_from_signer(s, &v), CR_OK);
	assert_int_equal(audit_log_size(log, &size), CR_OK);
	assert_true(size >= cs->acked);
	const char *latest = cs->n_published ? cs->published[cs->n_published - 1] : NULL;
	cr_err rc = audit_log_verify(db, FX_ORIGIN, &v, latest, latest ? strlen(latest) : 0, &rep);
	if (rc != CR_OK)
		fail_msg("verify after crash: %s", rep.problem);
	assert_true(rep.latest_checkpoint >= cs->acked);
	/* newly acknowledged entries hold exactly what their index says */
	for (uint64_t i = cs->checked; i < cs->acked; i++) {
		uint8_t *want = NULL, *got = NULL;
		size_t want_len = 0, got_len = 0;
		fx_expected_leaf(db, i, &want, &want_len);
		assert_int_equal(audit_log_leaf(log, i, &got, &got_len), CR_OK);
		assert_int_equal(got_len, want_len);
		assert_bytes_equal(got, want, got_len);
		free(want);
		free(got);
	}
	cs->checked = cs->acked;
	/* every checkpoint published since the last check is a prefix of the
	 * log (the latest one was also checked by verify, with the leaves) */
	assert_int_equal(audit_log_root(log, size, root), CR_OK);
	for (size_t i = published_before; i < cs->n_published; i++) {
		struct audit_checkpoint cp;
		struct audit_proof p;
		const char *note = cs->published[i];
		assert_int_equal(audit_checkpoint_open(&v, note, strlen(note), FX_ORIGIN, &cp), CR_OK);
		assert_int_equal(audit_log_prove_consistency(log, cp.size, size, &p), CR_OK);
		assert_int_equal(audit_verify_consistency(cp.size, size, &p, cp.root, root), CR_OK);
	}
	assert_no_two_roots_per_size(db, cs, published_before);
	audit_log_free(log);
	audit_signer_free(s);
	sqlite3_close(db);
}

static void test_crash_sigkill(void **state)
{
	(void)state;
	const char *env = getenv("AUDIT_CRASH_ITERS");
	uint64_t iters = 50, rng = (uint64_t)cr_monotonic_ms() * 2654435761u | 1;
	char dir[] = "/tmp/cr-audit-crash-XXXXXX", path[160];
	struct crash_state cs = { 0 };
	int64_t t0 = cr_monotonic_ms();

	if (env && *env)
		assert_int_equal(cr_parse_u64(env, 1, 1000000, &iters), CR_OK);
	assert_non_null(mkdtemp(dir));
	for (uint64_t it = 0; it < iters; it++) {
		/* a fresh database every 100 kills keeps each check short in a soak */
		if (it % 100 == 0) {
			snprintf(path, sizeof(path), "%s/log-%llu.db", dir, (unsigned long long)it);
			sqlite3_close(fx_db_open(path));
			for (size_t i = 0; i < cs.n_published; i++)
				free(cs.published[i]);
			cs.n_published = 0;
			cs.acked = cs.checked = 0;
		}
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		size_t before = cs.n_published;
		crash_once(path, &cs, 5 + (int)(rng % 120), rng);
		crash_check(path, &cs, before);
	}
	print_message("crash: %llu kills, %llu entries acknowledged in the last database, %zu "
		      "checkpoints published, %lld ms\n", (unsigned long long)iters,
		      (unsigned long long)cs.acked, cs.n_published, (long long)(cr_monotonic_ms() - t0));
	for (size_t i = 0; i < cs.n_published; i++)
		free(cs.published[i]);
	free(cs.published);
	free(cs.heads);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_needs_transaction_and_signer),
		cmocka_unit_test(test_append_checkpoint_and_proofs),
		cmocka_unit_test(test_tlog_proof_export_verifies_offline),
		cmocka_unit_test(test_rollback_leaves_nothing_stale),
		cmocka_unit_test(test_failed_append_leaves_nothing),
		cmocka_unit_test(test_subject_salt_and_commitment),
		cmocka_unit_test(test_erasure_keeps_every_proof_valid),
		cmocka_unit_test(test_checkpoint_guard),
		cmocka_unit_test(test_startup_check),
		cmocka_unit_test(test_crash_sigkill),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
