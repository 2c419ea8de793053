/*
 * Unit tests for cleanroom/app_tip.c: the latest signed checkpoint kept
 * outside the database (DATA/audit-tip, issue 19). Each rollback an
 * operator or an attacker with the files can make (the tail's rows
 * deleted, an older copy of the database put back, the file deleted or
 * forged) is refused at open; accepting one is explicit and audited, and
 * never signs a size twice.
 */
#include <fcntl.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "test_util.h"
#include "cleanroom/app.h"
#include "cleanroom/registry.h"

static const struct registry_actor actor = { "admin", "test" };

struct tfx {
	char dir[64], data[96], db[128], tip[128];
};

static int setup(void **state)
{
	struct tfx *f = calloc(1, sizeof(*f));
	struct app *a = NULL;
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/cr-tip-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
	snprintf(f->db, sizeof(f->db), "%s/cleanroom.db", f->data);
	snprintf(f->tip, sizeof(f->tip), "%s/audit-tip", f->data);
	assert_int_equal(app_init_dir(f->data, "test.example/audit", &a), CR_OK);
	app_close(a);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct tfx *f = *state;
	test_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Opens, creates brand `name` (one signed commit), closes. */
static void brand(struct tfx *f, const char *name)
{
	struct app *a = NULL;
	int64_t id = 0;
	assert_int_equal(app_open(f->data, &a), CR_OK);
	assert_int_equal(registry_brand_create(a, &actor, name, &id), CR_OK);
	app_close(a);
}

static void sql(struct tfx *f, const char *text)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, text, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void copy_file(const char *from, const char *to)
{
	size_t len = 0;
	char *bytes = test_read_file(from, &len);
	FILE *o = fopen(to, "wb");
	assert_non_null(bytes);
	assert_non_null(o);
	assert_int_equal(fwrite(bytes, 1, len, o), len);
	assert_int_equal(fclose(o), 0);
	free(bytes);
}

static cr_err try_open(struct tfx *f)
{
	struct app *a = NULL;
	cr_err rc = app_open(f->data, &a);
	app_close(a);
	return rc;
}

/* The sizes of the signed checkpoints stored in the database, in order. */
static size_t checkpoint_sizes(struct tfx *f, uint64_t *sizes, size_t cap)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT size FROM audit_checkpoints ORDER BY size", -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && n < cap)
		sizes[n++] = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/*
 * Issue 19: deleting the last leaf with its hash rows and its checkpoint
 * row leaves a consistent shorter log, which the start-up check alone
 * accepts; the tip refuses it.
 */
static void test_deleted_tail_is_refused(void **state)
{
	struct tfx *f = *state;
	brand(f, "acme");
	brand(f, "beta");
	assert_int_equal(try_open(f), CR_OK);
	/* 3 leaves (init, acme, beta); back to 2: hashes of a 2-leaf tree are ids 0..2 */
	sql(f, "DELETE FROM audit_leaves WHERE idx = 2; DELETE FROM audit_hashes WHERE id > 2;"
	       "DELETE FROM audit_checkpoints WHERE size > 2; DELETE FROM brands WHERE name = 'beta';");
	assert_int_equal(try_open(f), CR_ERR_AUDIT_ROLLBACK);
}

/* Issue 19: an older copy of the database put back (a restored backup, a cut WAL) is refused. */
static void test_older_copy_is_refused(void **state)
{
	struct tfx *f = *state;
	char old[160];
	snprintf(old, sizeof(old), "%s/old.db", f->dir);
	brand(f, "acme");
	copy_file(f->db, old); /* closed: the WAL was checkpointed into the file */
	brand(f, "beta");
	copy_file(old, f->db);
	assert_int_equal(try_open(f), CR_ERR_AUDIT_ROLLBACK);
}

/*
 * Issue 19: the WAL deleted after a commit. The commit lives only in the
 * WAL (no checkpoint into the file yet); the file as it was, with no WAL,
 * is the database before that commit: refused.
 */
static void test_wal_deleted_after_a_commit_is_refused(void **state)
{
	struct tfx *f = *state;
	char before[160];
	struct app *a = NULL;
	int64_t id = 0;
	snprintf(before, sizeof(before), "%s/before.db", f->dir);
	brand(f, "acme");
	assert_int_equal(app_open(f->data, &a), CR_OK);
	assert_int_equal(sqlite3_exec(a->store->db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL), SQLITE_OK);
	copy_file(f->db, before); /* the file holds everything before the next commit */
	assert_int_equal(registry_brand_create(a, &actor, "beta", &id), CR_OK); /* in the WAL only */
	app_close(a);
	copy_file(before, f->db); /* the file without the commit the WAL held, and no WAL */
	assert_int_equal(try_open(f), CR_ERR_AUDIT_ROLLBACK);
}

/* A missing tip, or one signed by another key (a forged one), counts as a rollback. */
static void test_missing_or_forged_tip_is_refused(void **state)
{
	struct tfx *f = *state;
	char other[128], forged[160];
	struct app *b = NULL;
	brand(f, "acme");
	snprintf(other, sizeof(other), "%s/other", f->dir);
	assert_int_equal(app_init_dir(other, "test.example/audit", &b), CR_OK); /* same origin, other key */
	app_close(b);
	snprintf(forged, sizeof(forged), "%s/audit-tip", other);
	copy_file(forged, f->tip);
	assert_int_equal(try_open(f), CR_ERR_AUDIT_ROLLBACK);
	assert_int_equal(unlink(f->tip), 0);
	assert_int_equal(try_open(f), CR_ERR_AUDIT_ROLLBACK);
}

/*
 * An attacker without the log's key rolls the database back and writes a
 * tip that matches it, signed with a key of their own under the log's
 * name: refused, since only the log's key makes a tip.
 */
static void test_tip_signed_by_another_key_is_refused(void **state)
{
	struct tfx *f = *state;
	char old[160], *bytes, *text = NULL, *note = NULL, slots[8192];
	size_t len = 0, tlen = 0, nlen = 0;
	struct audit_checkpoint cp;
	struct audit_signer *forger = NULL;
	uint8_t seed[32];
	snprintf(old, sizeof(old), "%s/old.db", f->dir);
	brand(f, "acme");
	copy_file(f->db, old);
	brand(f, "beta");
	bytes = test_read_file(f->tip, &len);
	for (int s = 0; s < 2; s++) { /* the genuine size-2 checkpoint's body */
		const char *body = bytes + s * 4096, *end = strstr(body, "\n\n");
		if (end && audit_checkpoint_parse(body, (size_t)(end - body) + 1, &cp) == CR_OK && cp.size == 2)
			break;
	}
	assert_int_equal(cp.size, 2);
	randombytes_buf(seed, sizeof(seed));
	assert_int_equal(audit_signer_from_seed("test.example/audit", seed, &forger), CR_OK);
	assert_int_equal(audit_checkpoint_format(&cp, &text, &tlen), CR_OK);
	assert_int_equal(audit_note_sign(forger, text, tlen, &note, &nlen), CR_OK);
	memset(slots, 0, sizeof(slots));
	memcpy(slots, note, nlen);
	{
		FILE *o = fopen(f->tip, "wb");
		assert_non_null(o);
		assert_int_equal(fwrite(slots, 1, sizeof(slots), o), sizeof(slots));
		assert_int_equal(fclose(o), 0);
	}
	copy_file(old, f->db);
	assert_int_equal(try_open(f), CR_ERR_AUDIT_ROLLBACK);
	audit_signer_free(forger);
	free(text);
	free(note);
	free(bytes);
}

/*
 * A crash while the tip is written tears one slot: the other must hold the
 * checkpoint signed before, so the file never lacks one the database has
 * passed. After two commits, the slots hold the last two sizes.
 */
static void test_a_torn_write_keeps_the_previous_checkpoint(void **state)
{
	struct tfx *f = *state;
	char *bytes;
	size_t len = 0;
	uint64_t sizes[2] = { 0, 0 };
	brand(f, "acme");
	brand(f, "beta");
	bytes = test_read_file(f->tip, &len);
	assert_int_equal(len, 8192);
	for (int s = 0; s < 2; s++) {
		const char *body = strchr(bytes + s * 4096, '\n');
		assert_non_null(body);
		sizes[s] = strtoull(body + 1, NULL, 10);
	}
	assert_true((sizes[0] == 2 && sizes[1] == 3) || (sizes[0] == 3 && sizes[1] == 2));
	/* tear the newest slot: the database (3 entries) is ahead of the other, so it opens */
	{
		int fd = open(f->tip, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "torn", 4, sizes[0] == 3 ? 0 : 4096), 4);
		close(fd);
	}
	assert_int_equal(try_open(f), CR_OK);
	free(bytes);
}

/*
 * Accepting a rollback is explicit and audited: an audit.rollback leaf,
 * filler past the size signed before, so no size is signed twice with
 * different roots; then the directory opens again.
 */
static void test_accepted_rollback_is_audited_and_signs_no_size_twice(void **state)
{
	struct tfx *f = *state;
	char old[160];
	struct app *a = NULL;
	struct app_rollback r;
	uint64_t before[16], after[16];
	size_t nb, na;
	snprintf(old, sizeof(old), "%s/old.db", f->dir);
	brand(f, "acme");
	copy_file(f->db, old);
	brand(f, "beta");
	brand(f, "gamma");
	nb = checkpoint_sizes(f, before, 16); /* 1, 2, 3, 4 */
	copy_file(old, f->db);
	assert_int_equal(try_open(f), CR_ERR_AUDIT_ROLLBACK);

	assert_int_equal(app_open_accepting_rollback(f->data, &a), CR_OK);
	assert_int_equal(app_tip_accept(a, &r), CR_OK);
	assert_true(r.needed && r.tip_found);
	assert_int_equal(r.entries, 2);
	assert_int_equal(r.signed_size, 4);
	assert_int_equal(r.index, 2);
	assert_int_equal(r.gap, 2); /* leaves 3 and 4: the log is now 5 > 4 */
	app_close(a);

	na = checkpoint_sizes(f, after, 16);
	for (size_t i = 0; i < na; i++)
		if (after[i] > 2)
			for (size_t j = 0; j < nb; j++)
				assert_int_not_equal(after[i], before[j]);
	assert_int_equal(try_open(f), CR_OK);
	/* and there is nothing more to accept */
	assert_int_equal(app_open_accepting_rollback(f->data, &a), CR_OK);
	assert_int_equal(app_tip_accept(a, &r), CR_OK);
	assert_false(r.needed);
	app_close(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deleted_tail_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_older_copy_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_deleted_after_a_commit_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_or_forged_tip_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tip_signed_by_another_key_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_torn_write_keeps_the_previous_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accepted_rollback_is_audited_and_signs_no_size_twice, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
