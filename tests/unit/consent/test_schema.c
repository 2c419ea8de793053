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
		assert_int_equal(sqlite3_exec(db, consent_schema_v4, NULL, NULL, NULL), SQLITE_OK);
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

/* Every (id, rules) row of consent_event_keys, in key order, as one text. */
static char *rules_rows(struct fx *f)
{
	sqlite3_stmt *st;
	size_t cap = 1 << 16, len = 0;
	char *out = calloc(1, cap);
	assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT id, rules FROM consent_event_keys", -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int n = snprintf(out + len, cap - len, "%lld %s\n", (long long)sqlite3_column_int64(st, 0),
				 (const char *)sqlite3_column_text(st, 1));
		assert_true(n > 0 && (size_t)n < cap - len);
		len += (size_t)n;
	}
	sqlite3_finalize(st);
	return out;
}

/* Events with every kind of rules column: NULL and set actor, purpose,
 * recipient, expiry, birth year and jurisdiction. */
static void varied_events(struct fx *f, struct crypto_pseudonym p, struct crypto_pseudonym q, cr_time_ms t)
{
	struct consent_event g;
	fx_full_consent(f, p, t);
	fx_rec(f, ev_withdraw(p, "ads_measurement", NULL, t + 5000));
	fx_rec(f, ev_served(q, 1, t));
	g = ev_grant(q, "audience_insights", NULL, 1, t + 1000);
	g.expires = t + 86400000;
	g.birth_year = 1990;
	snprintf(g.jurisdiction, sizeof(g.jurisdiction), "CN");
	fx_rec(f, g);
	fx_rec(f, ev_grant(q, "audience_insights", "partner-1", 1, t + 2000));
}

/*
 * Migration 18 rebuilds consent_event_keys from consent_events: its rules
 * texts must be exactly those the trigger writes, or every decision after
 * an upgrade would read other events than before. Applied again to a store
 * the trigger filled, it gives the same rows, and the same decisions.
 */
static void test_v4_rebuild_gives_the_triggers_rules(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(1, 1), q = P(2, 1);
	cr_time_ms t = T("2026-03-01T00:00:00Z");
	char *before, *after;
	varied_events(f, p, q, t);
	before = rules_rows(f);
	assert_non_null(strstr(before, "grant|subject|audience_insights||1|"));
	{ /* effective as its difference from time */
		char served[96];
		snprintf(served, sizeof(served), "served|brand|||1|%lld|0|||\n", (long long)t);
		assert_non_null(strstr(before, served));
	}
	assert_non_null(strstr(before, "|1990|CN\n"));
	assert_non_null(strstr(before, "withdraw|brand|ads_measurement||1|"));
	EXPECT(f, p, "ads_measurement", NULL, t + 10000, CONSENT_WITHDRAWN);
	EXPECT(f, q, "audience_insights", "partner-1", t + 10000, CONSENT_OK);
	EXPECT(f, q, "audience_insights", NULL, t + 2 * 86400000, CONSENT_EXPIRED);
	assert_int_equal(exec_rc(f->db, consent_schema_v4), SQLITE_OK);
	after = rules_rows(f);
	assert_string_equal(after, before);
	EXPECT(f, p, "ads_measurement", NULL, t + 10000, CONSENT_WITHDRAWN);
	EXPECT(f, q, "audience_insights", "partner-1", t + 10000, CONSENT_OK);
	EXPECT(f, q, "audience_insights", NULL, t + 2 * 86400000, CONSENT_EXPIRED);
	free(before);
	free(after);
}

/*
 * A rules text the trigger cannot have written (hand-edited SQL, a damaged
 * file) fails the decision with CR_ERR_STORE: it is never read as an
 * unknown event that the rules would skip, which would let a withdrawal
 * be ignored.
 */
static void test_rules_text_not_the_triggers_fails_closed(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(1, 1);
	cr_time_ms t = T("2026-03-01T00:00:00Z");
	struct consent_decision d;
	static const char *const bad[] = {
		"withdrew|brand|||1|T|0|||",                    /* unknown type */
		"withdraw|brand|||1|T|0||",                     /* nine fields */
		"withdraw|brand|||1|T|0||||",                   /* eleven fields */
		"withdraw|guest|||1|T|0|||",                    /* unknown actor */
		"withdraw|brand|||1|T||||",                     /* no effective time */
		"withdraw|brand|||1|T|9223372036854775807|||",  /* effective past the integers */
		"withdraw|brand|||1|T|0|soon||",                /* expiry not a number */
		"withdraw|brand|||x|T|0|||",                    /* notice version not a number */
		"withdraw|brand|||1|T|0||99999999999|",         /* birth year out of range */
		"withdraw|brand|||1|T|0|-||",                   /* a sign alone */
	};
	char sql[256], ts[32];
	fx_full_consent(f, p, t);
	fx_rec(f, ev_withdraw(p, NULL, NULL, t + 5000));
	EXPECT(f, p, "ads_measurement", NULL, t + 10000, CONSENT_WITHDRAWN);
	assert_int_equal(exec_rc(f->db, "DROP TRIGGER consent_event_keys_no_update"), SQLITE_OK);
	assert_int_equal(exec_rc(f->db, "CREATE TEMP TABLE orig AS SELECT id, rules FROM consent_event_keys"
				    " WHERE rules LIKE 'withdraw|%'"),
			 SQLITE_OK);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM orig"), 1);
	snprintf(ts, sizeof(ts), "%lld", (long long)(t + 5000));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128], *w = text;
		for (const char *r = bad[i]; *r && w < text + sizeof(text) - 20; r++) {
			if (*r == 'T')
				w += snprintf(w, 20, "%s", ts);
			else
				*w++ = *r;
		}
		*w = '\0';
		snprintf(sql, sizeof(sql), "UPDATE consent_event_keys SET rules = '%s' WHERE id = (SELECT id FROM orig)",
			 text);
		assert_int_equal(exec_rc(f->db, sql), SQLITE_OK);
		if (consent_valid_at(f->ctx, f->brand, &p, "ads_measurement", NULL, t + 10000, 0, &d) != CR_ERR_STORE)
			fail_msg("read as an event: %s", text);
		/* the trigger's text back: read again */
		assert_int_equal(exec_rc(f->db, "UPDATE consent_event_keys SET rules = (SELECT rules FROM orig)"
					    " WHERE id = (SELECT id FROM orig)"),
				 SQLITE_OK);
		EXPECT(f, p, "ads_measurement", NULL, t + 10000, CONSENT_WITHDRAWN);
	}
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
		TEST(test_v4_rebuild_gives_the_triggers_rules),
		TEST(test_rules_text_not_the_triggers_fails_closed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
