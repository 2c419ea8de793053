/* Unit tests for cleanroom/store.c: the pragmas docs/architecture.md requires,
 * migrations by user_version, refusal of a newer schema, transactions and
 * settings; and cleanroom/store_wal.c: the service's checkpoint thread
 * copies committed WAL pages into the database file while the writer does
 * not checkpoint itself. */
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "cleanroom/store.h"

static char dbpath[256];

static int setup(void **state)
{
	(void)state;
	char dir[] = "/tmp/cr-store-XXXXXX";
	assert_non_null(mkdtemp(dir));
	snprintf(dbpath, sizeof(dbpath), "%s/cleanroom.db", dir);
	return 0;
}

static int pragma_int(struct store *s, const char *pragma)
{
	sqlite3_stmt *st;
	int v = -1;
	assert_int_equal(sqlite3_prepare_v2(s->db, pragma, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_open_sets_durability_pragmas(void **state)
{
	(void)state;
	struct store *s = NULL;
	sqlite3_stmt *st;
	assert_int_equal(store_open(dbpath, true, &s), CR_OK);
	assert_int_equal(pragma_int(s, "PRAGMA synchronous"), 2); /* FULL (I6) */
	assert_int_equal(pragma_int(s, "PRAGMA foreign_keys"), 1);
	assert_int_equal(pragma_int(s, "PRAGMA secure_delete"), 1);
	assert_int_equal(pragma_int(s, "PRAGMA user_version"), store_schema_version());
	assert_int_equal(sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	store_close(s);
}

static void test_open_missing_without_create_fails(void **state)
{
	(void)state;
	struct store *s = (struct store *)0x1;
	assert_int_equal(store_open("/tmp/cr-no-such-dir/x/cleanroom.db", false, &s), CR_ERR_DATA_DIR);
	assert_ptr_equal(s, (struct store *)0x1);
}

static void test_newer_schema_is_refused(void **state)
{
	(void)state;
	struct store *s = NULL;
	char sql[64];
	assert_int_equal(store_open(dbpath, true, &s), CR_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", store_schema_version() + 1);
	assert_int_equal(store_exec(s, sql), CR_OK);
	store_close(s);
	s = NULL;
	assert_int_equal(store_open(dbpath, false, &s), CR_ERR_STORE_VERSION);
	assert_null(s);
}

static void test_rollback_discards_and_settings_roundtrip(void **state)
{
	(void)state;
	struct store *s = NULL;
	char *v = NULL;
	unlink(dbpath);
	assert_int_equal(store_open(dbpath, true, &s), CR_OK);
	assert_int_equal(store_setting_get(s, "origin", &v), CR_ERR_NOT_FOUND);
	assert_int_equal(store_begin(s), CR_OK);
	assert_int_equal(store_begin(s), CR_ERR_INTERNAL); /* no nesting */
	assert_int_equal(store_setting_set(s, "origin", "a"), CR_OK);
	store_rollback(s);
	assert_int_equal(store_setting_get(s, "origin", &v), CR_ERR_NOT_FOUND);
	assert_int_equal(store_begin(s), CR_OK);
	assert_int_equal(store_setting_set(s, "origin", "b"), CR_OK);
	assert_int_equal(store_setting_set(s, "origin", "c"), CR_OK);
	assert_int_equal(store_commit(s), CR_OK);
	assert_int_equal(store_commit(s), CR_ERR_INTERNAL);
	store_close(s);
	assert_int_equal(store_open(dbpath, false, &s), CR_OK);
	assert_int_equal(store_setting_get(s, "origin", &v), CR_OK);
	assert_string_equal(v, "c");
	free(v);
	store_close(s);
	store_close(NULL);
}

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void test_checkpointer_moves_wal_into_database(void **state)
{
	(void)state;
	struct store *s = NULL;
	struct store_checkpointer *c = NULL;
	char key[32], value[2048];
	off_t before;
	uint64_t runs;
	memset(value, 'x', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	assert_int_equal(store_open(dbpath, true, &s), CR_OK);
	assert_int_equal(store_checkpointer_start(s, 20, &c), CR_OK);
	assert_int_equal(pragma_int(s, "PRAGMA wal_autocheckpoint"), 100000); /* the writer no longer does it */
	before = file_size(dbpath);
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "ckpt-test-%d", i);
		assert_int_equal(store_begin(s), CR_OK);
		assert_int_equal(store_setting_set(s, key, value), CR_OK);
		assert_int_equal(store_commit(s), CR_OK);
	}
	runs = store_checkpointer_runs(c);
	for (int i = 0; i < 500 && store_checkpointer_runs(c) < runs + 2; i++)
		usleep(10 * 1000);
	assert_true(store_checkpointer_runs(c) >= runs + 2);
	assert_true(file_size(dbpath) > before + 200 * 2048);
	store_checkpointer_stop(c);
	assert_int_equal(pragma_int(s, "PRAGMA wal_autocheckpoint"), 10000);
	store_checkpointer_stop(NULL);
	store_close(s);
}

static int settings_count(struct store *s)
{
	return pragma_int(s, "SELECT count(*) FROM settings");
}

/*
 * A reader (issue 20 item 1) refuses to write, reads only what is
 * committed while the writer holds its transaction open, and once given
 * back (store_reader_reset) sees the newest commit even if a statement of
 * its last use was left stepped: a forgotten reset would pin it to an old
 * snapshot.
 */
static void test_reader_reads_committed_state_and_never_writes(void **state)
{
	(void)state;
	struct store *w = NULL, *r = NULL;
	sqlite3_stmt *left;
	int n0;
	assert_int_equal(store_open(dbpath, true, &w), CR_OK);
	assert_int_equal(store_open_reader(dbpath, &r), CR_OK);
	n0 = settings_count(r);
	assert_int_not_equal(store_begin(r), CR_OK);
	assert_int_not_equal(store_exec(r, "INSERT INTO settings(key, value) VALUES ('reader', 'v')"), CR_OK);
	assert_int_equal(settings_count(r), n0);

	/* The writer's open transaction neither blocks the reader nor shows to it. */
	assert_int_equal(store_begin(w), CR_OK);
	assert_int_equal(store_setting_set(w, "reader-a", "1"), CR_OK);
	assert_int_equal(settings_count(r), n0);
	assert_int_equal(store_commit(w), CR_OK);

	/* A statement stepped and never reset holds a read transaction open. */
	assert_int_equal(sqlite3_prepare_v2(r->db, "SELECT key FROM settings", -1, &left, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(left), SQLITE_ROW);
	assert_int_equal(store_setting_set(w, "reader-b", "2"), CR_OK); /* autocommit */
	store_reader_reset(r);
	assert_int_equal(settings_count(r), n0 + 2);
	sqlite3_finalize(left);
	store_close(r);
	store_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_sets_durability_pragmas),
		cmocka_unit_test(test_open_missing_without_create_fails),
		cmocka_unit_test(test_newer_schema_is_refused),
		cmocka_unit_test(test_rollback_discards_and_settings_roundtrip),
		cmocka_unit_test(test_checkpointer_moves_wal_into_database),
		cmocka_unit_test(test_reader_reads_committed_state_and_never_writes),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
