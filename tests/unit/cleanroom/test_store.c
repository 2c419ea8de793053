/* Unit tests for cleanroom/store.c: the pragmas docs/architecture.md requires,
 * migrations by user_version, refusal of a newer schema, transactions and
 * settings; and cleanroom/store_wal.c: the service's checkpoint thread
 * copies committed WAL pages into the database file while the writer does
 * not checkpoint itself; and the migration that moves budgets from
 * collaborations to their (dataset, partner) pairs; and that a database at
 * every older schema level migrates to the current one (upgrades). */
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "cleanroom/collab.h"
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

/* store_cached keeps one prepared statement per SQL text, hands it back
 * reset with its bindings cleared, refuses more texts than it holds, and
 * leaves none behind at close (the connection closes cleanly). */
static void test_cached_statements_are_kept_per_text(void **state)
{
	(void)state;
	struct store *s = NULL;
	char sql[64];
	sqlite3_stmt *a, *b;
	assert_int_equal(store_open(dbpath, true, &s), CR_OK);
	a = store_cached(s, "SELECT ?1");
	assert_non_null(a);
	assert_int_equal(sqlite3_bind_int(a, 1, 7), SQLITE_OK);
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(a, 0), 7);
	store_cached_done(a);
	assert_false(sqlite3_stmt_busy(a));
	snprintf(sql, sizeof(sql), "SELECT ?1"); /* the same text at another address */
	b = store_cached(s, sql);
	assert_ptr_equal(a, b);
	assert_int_equal(sqlite3_step(b), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(b, 0), SQLITE_NULL); /* no binding left */
	store_cached_done(b);
	assert_null(store_cached(s, "SELECT FROM")); /* does not prepare */
	for (int i = 1; i < STORE_CACHED_MAX; i++) {
		snprintf(sql, sizeof(sql), "SELECT %d", i);
		assert_non_null(store_cached(s, sql));
	}
	assert_null(store_cached(s, "SELECT 'one too many'"));
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

/* A collaboration row as the schema before budgets per pair stored it, with its debits. */
static void old_collab(struct store *s, int64_t id, int64_t dataset, const char *partner, int budget,
		       const int *debits, size_t n)
{
	char sql[512];
	snprintf(sql, sizeof(sql), "INSERT INTO collaborations(id, brand_id, dataset_id, partner, dimensions, sums,"
		 " k, max_dims, epsilon_milli, budget_milli, min_partner_set, max_partner_set, created_ms)"
		 " VALUES (%lld, 1, %lld, '%s', 'segment', '', 10, 1, 500, %d, 1, 10, %lld)", (long long)id,
		 (long long)dataset, partner, budget, 1000 + (long long)id);
	assert_int_equal(store_exec(s, sql), CR_OK);
	for (size_t i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO collab_releases(collab_id, session, time_ms, query, outcome,"
			 " result) VALUES (%lld, 's', 1, 'q', 'released', '{}');"
			 "INSERT INTO collab_ledger(collab_id, time_ms, query, epsilon_milli, release_id)"
			 " VALUES (%lld, 1, 'q', %d, last_insert_rowid())", (long long)id, (long long)id, debits[i]);
		assert_int_equal(store_exec(s, sql), CR_OK);
	}
}

static void assert_pair(struct store *s, int64_t collab, uint64_t budget, uint64_t spent, uint64_t left)
{
	struct collab_budget b;
	struct collab c;
	assert_int_equal(collab_budget_get(s, collab, &b), CR_OK);
	if (b.budget_milli != budget || b.initial_milli != budget || b.spent_milli != spent || b.left_milli != left)
		fail_msg("collaboration %lld: budget %llu (initial %llu), spent %llu, left %llu; want %llu, %llu, %llu",
			 (long long)collab, (unsigned long long)b.budget_milli, (unsigned long long)b.initial_milli,
			 (unsigned long long)b.spent_milli, (unsigned long long)b.left_milli,
			 (unsigned long long)budget, (unsigned long long)spent, (unsigned long long)left);
	assert_int_equal(collab_get(s, collab, &c), CR_OK);
	assert_int_equal(c.budget_milli, budget);
}

/*
 * Issue 21 item 3, an existing database: each (dataset, partner) pair gets
 * the largest budget of its collaborations, and has spent the sum of their
 * debits (docs/operations.md). Four collaborations that had four budgets
 * now have one; a pair whose collaborations spent more than that budget
 * has nothing left.
 */
static void test_migration_makes_budgets_per_dataset_and_partner(void **state)
{
	(void)state;
	static const int d1[] = { 1000, 500 }, d2[] = { 2500 }, d3[] = { 500 }, d5[] = { 1000 }, d6[] = { 1000 };
	struct store *s = NULL;
	unlink(dbpath);
	/* 9: "match sessions open", the last migration before budgets per pair (10) */
	assert_int_equal(store_open_at_version(dbpath, 9, &s), CR_OK);
	assert_int_equal(pragma_int(s, "PRAGMA user_version"), 9);
	assert_int_equal(store_exec(s, "INSERT INTO datasets(id, brand_id, name, id_type, profile, purposes,"
				    " recipients, columns, key_version, created_ms) VALUES"
				    " (1, 1, 'crm', 'email', 'default', 'ads', 'p1,p2', 'segment:enum(a|b)', 1, 1),"
				    " (2, 1, 'web', 'email', 'default', 'ads', 'p1', 'segment:enum(a|b)', 1, 1)"), CR_OK);
	old_collab(s, 1, 1, "p1", 2000, d1, 2);
	old_collab(s, 2, 1, "p1", 5000, d2, 1);
	old_collab(s, 3, 1, "p1", 3000, d3, 1);
	old_collab(s, 4, 1, "p2", 1000, NULL, 0);
	old_collab(s, 5, 2, "p1", 1000, d5, 1);
	old_collab(s, 6, 2, "p1", 1000, d6, 1);
	store_close(s);
	s = NULL;
	assert_int_equal(store_open(dbpath, false, &s), CR_OK);
	assert_int_equal(pragma_int(s, "PRAGMA user_version"), store_schema_version());
	for (int64_t c = 1; c <= 3; c++)
		assert_pair(s, c, 5000, 4500, 500);   /* crm with p1: the largest budget, every debit */
	assert_pair(s, 4, 1000, 0, 1000);           /* crm with p2: a pair of its own */
	assert_pair(s, 5, 1000, 2000, 0);           /* web with p1: spent twice its budget, none left */
	assert_pair(s, 6, 1000, 2000, 0);
	{
		struct collab c;
		assert_int_equal(collab_get(s, 1, &c), CR_OK);
		assert_int_equal(c.pad_to, 1024); /* 11, "collaboration padding": the floor for older ones */
	}
	assert_int_equal(store_open_at_version(dbpath, 0, &s), CR_ERR_INVALID_ARG);
	store_close(s);
}

/*
 * Upgrades (issue 25): a database left at every older schema level, as an
 * earlier release made it, opens with this program, which migrates it to
 * the current version; every table the current schema has is then there
 * with the same columns as in a database created fresh. So every path
 * 1..N-1 -> N is checked, not only the ones a data migration test covers.
 */
static char *schema_of(struct store *s)
{
	sqlite3_stmt *st;
	size_t cap = 1 << 16, len = 0;
	char *out = calloc(1, cap);
	assert_non_null(out);
	/* Tables and their columns in order; indexes by name. */
	assert_int_equal(sqlite3_prepare_v2(s->db,
		"SELECT m.name || '(' || group_concat(p.name || ' ' || p.type || ' ' || p.\"notnull\", ',') || ')' "
		"FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' "
		"GROUP BY m.name UNION ALL SELECT 'index ' || name FROM sqlite_master WHERE type = 'index' "
		"ORDER BY 1", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *row = (const char *)sqlite3_column_text(st, 0);
		size_t n = strlen(row);
		assert_true(len + n + 2 < cap);
		memcpy(out + len, row, n);
		len += n;
		out[len++] = '\n';
	}
	sqlite3_finalize(st);
	return out;
}

static void test_every_older_schema_migrates_to_current(void **state)
{
	(void)state;
	struct store *s = NULL;
	char *fresh, *migrated;
	unlink(dbpath);
	assert_int_equal(store_open(dbpath, true, &s), CR_OK);
	fresh = schema_of(s);
	store_close(s);
	for (int v = 1; v < store_schema_version(); v++) {
		s = NULL;
		unlink(dbpath);
		assert_int_equal(store_open_at_version(dbpath, v, &s), CR_OK);
		assert_int_equal(pragma_int(s, "PRAGMA user_version"), v);
		store_close(s);
		s = NULL;
		assert_int_equal(store_open(dbpath, false, &s), CR_OK);
		assert_int_equal(pragma_int(s, "PRAGMA user_version"), store_schema_version());
		migrated = schema_of(s);
		if (strcmp(fresh, migrated) != 0)
			fail_msg("from schema %d the migrated schema differs:\n%s\nfresh:\n%s", v, migrated, fresh);
		free(migrated);
		store_close(s);
	}
	free(fresh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_sets_durability_pragmas),
		cmocka_unit_test(test_open_missing_without_create_fails),
		cmocka_unit_test(test_cached_statements_are_kept_per_text),
		cmocka_unit_test(test_newer_schema_is_refused),
		cmocka_unit_test(test_rollback_discards_and_settings_roundtrip),
		cmocka_unit_test(test_checkpointer_moves_wal_into_database),
		cmocka_unit_test(test_reader_reads_committed_state_and_never_writes),
		cmocka_unit_test(test_migration_makes_budgets_per_dataset_and_partner),
		cmocka_unit_test(test_every_older_schema_migrates_to_current),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
