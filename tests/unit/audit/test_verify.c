/* Unit tests for audit/verify.c: a log of 40 entries with checkpoints at 10,
 * 20, 30 and 40 is tampered with through plain SQL on the database file
 * (another connection, as an attacker with file access would): a leaf
 * byte, a stored hash, a checkpoint signature, a deleted row, two swapped
 * rows, a search column, a truncated log, a forked checkpoint. Each time
 * verification fails and names the first problem exactly. */
#include <fcntl.h>
#include <unistd.h>

#include "audit_fixture.h"

static char dir[64], template_path[128], path[128];
static struct audit_signer *signer;
static struct audit_verifier verifier;

static void copy_file(const char *from, const char *to)
{
	size_t len = 0;
	char *data = test_read_file(from, &len);
	FILE *f = fopen(to, "wb");
	assert_non_null(data);
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(data);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cr-audit-verify-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(template_path, sizeof(template_path), "%s/template.db", dir);
	snprintf(path, sizeof(path), "%s/log.db", dir);
	signer = fx_signer();
	if (audit_verifier_from_signer(signer, &verifier) != CR_OK)
		return -1;
	sqlite3 *db = fx_db_open(template_path);
	struct audit_log *log = fx_log_open(db, signer);
	for (uint64_t first = 0; first < 40; first += 10)
		fx_batch(db, log, first, 10);
	audit_log_free(log);
	/* back to a single file, so a byte copy is the whole database */
	fx_exec(db, "PRAGMA journal_mode=DELETE");
	sqlite3_close(db);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	audit_signer_free(signer);
	unlink(template_path);
	rmdir(dir);
	return 0;
}

/* A fresh copy of the log (at a new path, so nothing of an earlier test's
 * WAL can leak in), tampered with by `sql` on its own connection. */
static sqlite3 *tampered(const char *sql)
{
	static unsigned copies;
	sqlite3 *attacker = NULL;
	snprintf(path, sizeof(path), "%s/log-%u.db", dir, copies++);
	copy_file(template_path, path);
	assert_int_equal(sqlite3_open(path, &attacker), SQLITE_OK);
	if (sql)
		fx_exec(attacker, sql);
	sqlite3_close(attacker);
	return fx_db_open(path);
}

/* Verifies and expects the exact first problem (NULL: all holds). */
static void expect(sqlite3 *db, const char *saved, const char *problem)
{
	struct audit_verify_report rep;
	cr_err rc = audit_log_verify(db, FX_ORIGIN, &verifier, saved, saved ? strlen(saved) : 0, &rep);
	if (problem == NULL) {
		if (rc != CR_OK)
			fail_msg("unexpected failure: %s", rep.problem);
		assert_string_equal(rep.problem, "");
	} else {
		assert_int_equal(rc, CR_ERR_AUDIT_VERIFY);
		assert_string_equal(rep.problem, problem);
	}
	sqlite3_close(db);
	unlink(path);
}

static char *latest_note(void)
{
	sqlite3 *db = fx_db_open(template_path);
	struct audit_log *log = fx_log_open(db, signer);
	char *note = NULL;
	assert_int_equal(audit_log_latest_checkpoint(log, &note), CR_OK);
	audit_log_free(log);
	sqlite3_close(db);
	return note;
}

static void test_intact_log_verifies(void **state)
{
	(void)state;
	struct audit_verify_report rep;
	char *saved = latest_note();
	sqlite3 *db = tampered(NULL);
	assert_int_equal(audit_log_verify(db, FX_ORIGIN, &verifier, saved, strlen(saved), &rep), CR_OK);
	assert_int_equal(rep.size, 40);
	assert_int_equal(rep.hashes, audit_hash_count(40));
	assert_int_equal(rep.checkpoints, 4);
	assert_int_equal(rep.latest_checkpoint, 40);
	assert_true(rep.saved_checked);
	/* the origin may also be taken from the checkpoints */
	assert_int_equal(audit_log_verify(db, NULL, &verifier, NULL, 0, &rep), CR_OK);
	sqlite3_close(db);
	unlink(path);
	free(saved);
}

static void test_changed_leaf_byte(void **state)
{
	(void)state;
	/* the last byte of the detail text of entry 17 */
	expect(tampered("UPDATE audit_leaves SET data = CAST(substr(data, 1, length(data) - 1) || x'39'"
			" AS BLOB) WHERE idx = 17"),
	       NULL, "leaf 17: stored hash does not match its content");
}

static void test_changed_stored_hash(void **state)
{
	(void)state;
	char sql[128];
	snprintf(sql, sizeof(sql), "UPDATE audit_hashes SET hash = zeroblob(32) WHERE id = %llu",
		 (unsigned long long)audit_hash_id(0, 17));
	expect(tampered(sql), NULL, "leaf 17: stored hash does not match its content");
	snprintf(sql, sizeof(sql), "UPDATE audit_hashes SET hash = zeroblob(32) WHERE id = %llu",
		 (unsigned long long)audit_hash_id(2, 1));
	expect(tampered(sql), NULL,
	       "stored hash of subtree (level 2, index 1) does not match the leaves beneath it");
	snprintf(sql, sizeof(sql), "UPDATE audit_hashes SET hash = x'00' WHERE id = %llu",
		 (unsigned long long)audit_hash_id(5, 0));
	expect(tampered(sql), NULL,
	       "stored hash of subtree (level 5, index 0) does not match the leaves beneath it");
}

static void test_corrupt_checkpoint_signature(void **state)
{
	(void)state;
	/* one base64 character of the signature of the checkpoint at 20 */
	expect(tampered("UPDATE audit_checkpoints SET note = substr(note, 1, length(note) - 10) ||"
			" (CASE substr(note, length(note) - 9, 1) WHEN 'A' THEN 'B' ELSE 'A' END) ||"
			" substr(note, length(note) - 8) WHERE size = 20"),
	       NULL, "checkpoint at size 20: signed note has a signature from a known key that does "
		     "not verify");
	/* signed by someone else */
	expect(tampered("UPDATE audit_checkpoints SET note = replace(note, 'cleanroom.test/audit ',"
			" 'cleanroom.test/other ') WHERE size = 30"),
	       NULL, "checkpoint at size 30: signed note has no signature from a known key");
	/* the row says another size than the note */
	expect(tampered("UPDATE audit_checkpoints SET size = 25 WHERE size = 20"),
	       NULL, "checkpoint row at size 25 holds a checkpoint of size 20");
}

static void test_deleted_rows(void **state)
{
	(void)state;
	char sql[128];
	expect(tampered("DELETE FROM audit_leaves WHERE idx = 17"), NULL, "leaf 17 is missing");
	snprintf(sql, sizeof(sql), "DELETE FROM audit_hashes WHERE id = %llu",
		 (unsigned long long)audit_hash_id(0, 17));
	expect(tampered(sql), NULL, "leaf 17: its stored hash is missing");
	snprintf(sql, sizeof(sql), "DELETE FROM audit_hashes WHERE id = %llu",
		 (unsigned long long)audit_hash_id(1, 8));
	expect(tampered(sql), NULL, "leaf 17: stored hash of subtree (level 1, index 8) is missing");
	/* the newest leaf: the checkpoint at 40 still says 40 */
	expect(tampered("DELETE FROM audit_leaves WHERE idx = 39"), NULL,
	       "checkpoint at size 40 covers more leaves than the log holds (39)");
	/* a hash row beyond the tree */
	expect(tampered("INSERT INTO audit_hashes(id, hash) VALUES (1000, zeroblob(32))"), NULL,
	       "stored hash row 1000 has no leaf beneath it");
	/* issue 19: a checkpoint row in the middle (each checkpoint names the one before it) */
	expect(tampered("DELETE FROM audit_checkpoints WHERE size = 20"), NULL,
	       "checkpoint rows are missing: the checkpoint of size 30 follows one of size 20, but the stored "
	       "checkpoint before it is of size 10");
	/* and the first ones */
	expect(tampered("DELETE FROM audit_checkpoints WHERE size <= 10"), NULL,
	       "checkpoint rows are missing: the checkpoint of size 20 follows one of size 10, but the stored "
	       "checkpoint before it is of size 0");
}

static void test_swapped_rows(void **state)
{
	(void)state;
	/* the contents of leaves 3 and 4 */
	expect(tampered("UPDATE audit_leaves SET data = CASE idx WHEN 3 THEN"
			" (SELECT data FROM audit_leaves WHERE idx = 4) ELSE"
			" (SELECT data FROM audit_leaves WHERE idx = 3) END WHERE idx IN (3, 4)"),
	       NULL, "leaf 3: stored hash does not match its content");
	/* contents and leaf hashes together: the parent no longer matches */
	char sql[512];
	unsigned long long h3 = (unsigned long long)audit_hash_id(0, 3);
	unsigned long long h4 = (unsigned long long)audit_hash_id(0, 4);
	snprintf(sql, sizeof(sql),
		 "UPDATE audit_leaves SET data = CASE idx WHEN 3 THEN"
		 " (SELECT data FROM audit_leaves WHERE idx = 4) ELSE"
		 " (SELECT data FROM audit_leaves WHERE idx = 3) END WHERE idx IN (3, 4);"
		 "UPDATE audit_hashes SET hash = CASE id WHEN %llu THEN"
		 " (SELECT hash FROM audit_hashes WHERE id = %llu) ELSE"
		 " (SELECT hash FROM audit_hashes WHERE id = %llu) END WHERE id IN (%llu, %llu)",
		 h3, h4, h3, h3, h4);
	expect(tampered(sql), NULL,
	       "stored hash of subtree (level 1, index 1) does not match the leaves beneath it");
}

static void test_changed_search_column(void **state)
{
	(void)state;
	expect(tampered("UPDATE audit_leaves SET tenant = 'brand-9' WHERE idx = 5"), NULL,
	       "leaf 5: its search columns (time, type, tenant, actor) do not match its content");
}

/* A leaf rewritten with valid hashes all the way up: the signed roots catch it. */
static void test_rewritten_history(void **state)
{
	(void)state;
	sqlite3 *db = tampered(NULL);
	/* rebuild the whole tree over a changed leaf 2, as a thorough attacker
	 * would, keeping the (now false) checkpoints */
	struct audit_log *log = fx_log_open(db, signer);
	fx_exec(db, "CREATE TEMP TABLE keep AS SELECT * FROM audit_checkpoints;"
		    "DELETE FROM audit_checkpoints; DELETE FROM audit_hashes; DELETE FROM audit_subjects;"
		    "CREATE TEMP TABLE old AS SELECT * FROM audit_leaves; DELETE FROM audit_leaves;");
	fx_exec(db, "BEGIN");
	for (uint64_t i = 0; i < 40; i++) {
		struct fx_entry f;
		fx_entry_make(i, &f);
		if (i == 2)
			f.e.detail = "rewritten";
		assert_int_equal(audit_log_append(log, &f.e, NULL), CR_OK);
	}
	fx_exec(db, "COMMIT; INSERT INTO audit_checkpoints SELECT * FROM keep;");
	audit_log_free(log);
	expect(db, NULL, "checkpoint at size 10: its signed root does not match the root "
			 "recomputed from the leaves");
}

static void test_saved_checkpoint(void **state)
{
	(void)state;
	char *saved = latest_note();
	/* the log was cut back to 30 entries, consistently: only the officer's
	 * saved checkpoint shows that acknowledged entries are gone */
	char sql[256];
	snprintf(sql, sizeof(sql), "DELETE FROM audit_leaves WHERE idx >= 30;"
		 "DELETE FROM audit_hashes WHERE id >= %llu; DELETE FROM audit_checkpoints WHERE size > 30",
		 (unsigned long long)audit_hash_count(30));
	expect(tampered(sql), NULL, NULL);
	expect(tampered(sql), saved, "saved checkpoint (size 40) is ahead of the log (30 leaves): "
				     "acknowledged entries are missing");

	/* a fork: a checkpoint of another history, signed with the log's key */
	sqlite3 *fork = fx_db_open(NULL);
	struct audit_log *log = fx_log_open(fork, signer);
	char *forked = NULL;
	fx_exec(fork, "BEGIN");
	for (uint64_t i = 0; i < 25; i++) {
		struct fx_entry f;
		fx_entry_make(i, &f);
		assert_int_equal(audit_log_append(log, &f.e, NULL), CR_OK); /* other salts */
	}
	assert_int_equal(audit_log_checkpoint(log, &forked), CR_OK);
	fx_exec(fork, "COMMIT");
	audit_log_free(log);
	sqlite3_close(fork);
	expect(tampered(NULL), forked, "saved checkpoint (size 25) is not consistent with the current "
				       "log: proof does not lead to the expected root hash");
	expect(tampered(NULL), "garbage\n", "saved checkpoint: signed note is malformed");
	free(forked);
	free(saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intact_log_verifies),
		cmocka_unit_test(test_changed_leaf_byte),
		cmocka_unit_test(test_changed_stored_hash),
		cmocka_unit_test(test_corrupt_checkpoint_signature),
		cmocka_unit_test(test_deleted_rows),
		cmocka_unit_test(test_swapped_rows),
		cmocka_unit_test(test_changed_search_column),
		cmocka_unit_test(test_rewritten_history),
		cmocka_unit_test(test_saved_checkpoint),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
