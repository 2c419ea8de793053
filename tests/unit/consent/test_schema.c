/* Unit tests for consent/schema.c: the DDL applies, brands, and the
 * append-only guarantees the triggers give (R24, R04 immutability, R33). */
#include "consent_fixture.h"
#include "consent/consent_internal.h"

static void test_schema_applies_twice_in_fresh_databases(void **state)
{
	sqlite3 *db;
	(void)state;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, consent_schema_v1, NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, consent_schema_v2, NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, consent_schema_v3, NULL, NULL, NULL), SQLITE_OK);
		/* every table is STRICT and present */
		assert_int_equal(sqlite3_exec(db, "SELECT count(*) FROM consent_guardian_links;"
					      "SELECT count(*) FROM consent_impact_assessments;"
					      "SELECT count(*) FROM consent_subjects",
					      NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
	}
}

static void test_brand_create_find_and_refusals(void **state)
{
	struct fx *f = *state;
	char name[CONSENT_BRAND_NAME_MAX + 1];
	int64_t id = 0, found = 0;
	uint32_t kv = 0;

	assert_int_equal(consent_brand_create(f->ctx, "other-brand", 1, &id), CR_OK);
	assert_true(id > f->brand);
	assert_int_equal(consent_brand_find(f->ctx, "other-brand", &found), CR_OK);
	assert_int_equal(found, id);
	assert_int_equal(consent_brand_name(f->ctx, id, name), CR_OK);
	assert_string_equal(name, "other-brand");
	assert_int_equal(consent_brand_key_version(f->ctx, id, &kv), CR_OK);
	assert_int_equal(kv, 1);
	assert_int_equal(consent_brand_create(f->ctx, "other-brand", 1, &id),
			 CR_ERR_CONSENT_BRAND_EXISTS);
	assert_int_equal(consent_brand_create(f->ctx, "", 1, &id), CR_ERR_CONSENT_BRAND_NAME);
	assert_int_equal(consent_brand_create(f->ctx, "Has Space", 1, &id),
			 CR_ERR_CONSENT_BRAND_NAME);
	assert_int_equal(consent_brand_create(f->ctx, NULL, 1, &id), CR_ERR_CONSENT_BRAND_NAME);
	assert_int_equal(consent_brand_find(f->ctx, "nobody", &found),
			 CR_ERR_CONSENT_BRAND_NOT_FOUND);
	assert_int_equal(consent_brand_key_version(f->ctx, 4242, &kv),
			 CR_ERR_CONSENT_BRAND_NOT_FOUND);
}

static int exec_rc(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static void test_r24_events_are_append_only(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(1, 1);
	cr_time_ms t = T("2026-03-01T00:00:00Z");

	fx_full_consent(f, p, t);
	fx_rec(f, ev_withdraw(p, NULL, NULL, t + 100000));
	assert_int_equal(exec_rc(f->db, "UPDATE consent_events SET type = 'grant'"),
			 SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_extended_errcode(f->db), SQLITE_CONSTRAINT_TRIGGER);
	assert_int_equal(exec_rc(f->db, "DELETE FROM consent_events"), SQLITE_CONSTRAINT);
	/* refused by the append-only trigger itself, not only by a reference to the rows (R26) */
	assert_int_equal(sqlite3_extended_errcode(f->db), SQLITE_CONSTRAINT_TRIGGER);
	assert_string_equal(sqlite3_errmsg(f->db), "consent: append-only");
	assert_int_equal(exec_rc(f->db, "DELETE FROM consent_suppression"), SQLITE_CONSTRAINT);
	assert_int_equal(exec_rc(f->db, "UPDATE consent_suppression SET since_ms = 0"),
			 SQLITE_CONSTRAINT);
	/* the mapping callers see */
	assert_int_equal(consent_sqlite_err(f->db, SQLITE_CONSTRAINT), CR_ERR_CONSENT_APPEND_ONLY);
}

static void test_r04_published_notices_are_immutable_in_the_store(void **state)
{
	struct fx *f = *state;

	assert_int_equal(exec_rc(f->db, "UPDATE consent_notices SET canonical = '{}'"),
			 SQLITE_CONSTRAINT);
	assert_int_equal(exec_rc(f->db, "DELETE FROM consent_notices"), SQLITE_CONSTRAINT);
}

/* R24: what a published version declared (its purposes, recipients and the
 * additions of a material change) cannot be rewritten either: every table
 * the rules read is append-only. */
static void test_r24_rule_tables_are_append_only(void **state)
{
	struct fx *f = *state;
	static const char *const sql[] = {
		"UPDATE consent_purposes SET marketing = 0",
		"DELETE FROM consent_purposes",
		"UPDATE consent_recipients SET purpose = 'ads_measurement'",
		"DELETE FROM consent_recipients",
		"UPDATE consent_notice_changes SET code = 'x'",
		"DELETE FROM consent_notice_changes",
	};
	assert_true(fx_count(f, "SELECT count(*) FROM consent_purposes") > 0);
	assert_true(fx_count(f, "SELECT count(*) FROM consent_recipients") > 0);
	assert_int_equal(exec_rc(f->db, "INSERT INTO consent_notice_changes VALUES (1, 1, 'all', '')"),
			 SQLITE_OK);
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		if (exec_rc(f->db, sql[i]) != SQLITE_CONSTRAINT)
			fail_msg("not refused: %s", sql[i]);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_applies_twice_in_fresh_databases),
		TEST(test_brand_create_find_and_refusals),
		TEST(test_r24_events_are_append_only),
		TEST(test_r04_published_notices_are_immutable_in_the_store),
		TEST(test_r24_rule_tables_are_append_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
