/* Unit tests for audit/query.c: search by tenant, event type, actor,
 * subject (through the subject index) and time, newest first, paged with
 * the index cursor; each filter against a brute-force scan of the entries. */
#include "audit_fixture.h"

#define N 200

static sqlite3 *db;
static struct audit_signer *signer;
static struct audit_log *log_;

static int setup(void **state)
{
	(void)state;
	db = fx_db_open(NULL);
	signer = fx_signer();
	log_ = fx_log_open(db, signer);
	for (uint64_t first = 0; first < N; first += 50)
		fx_batch(db, log_, first, 50);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	audit_log_free(log_);
	audit_signer_free(signer);
	sqlite3_close(db);
	return 0;
}

/* Whether entry i matches q, computed from the fixture's definition. */
static bool matches(uint64_t i, const struct audit_query *q)
{
	struct fx_entry f;
	fx_entry_make(i, &f);
	if (q->tenant && strcmp(q->tenant, f.e.tenant) != 0)
		return false;
	if (q->event_type && strcmp(q->event_type, f.e.event_type) != 0)
		return false;
	if (q->actor_id && strcmp(q->actor_id, f.e.actor_id) != 0)
		return false;
	if (q->subject && (f.e.subject == NULL || memcmp(q->subject, f.e.subject, 32) != 0))
		return false;
	if (q->since > 0 && f.e.time_ms < q->since)
		return false;
	if (q->until > 0 && f.e.time_ms >= q->until)
		return false;
	return true;
}

/* Pages through q with `limit` per page; checks the result is exactly the
 * matching entries, newest first, each decoded. Returns how many. */
static size_t run_paged(struct audit_query q, size_t limit)
{
	uint64_t expect = N;
	size_t total = 0;
	q.limit = limit;
	q.has_before = false;
	for (;;) {
		struct audit_page page;
		assert_int_equal(audit_log_query(log_, &q, &page), CR_OK);
		assert_true(page.n <= limit);
		for (size_t k = 0; k < page.n; k++) {
			do
				expect--;
			while (!matches(expect, &q));
			assert_int_equal(page.records[k].index, expect);
			assert_int_equal(page.records[k].leaf->sequence, expect);
			assert_non_null(page.records[k].bytes);
			total++;
		}
		bool more = page.more;
		if (page.n > 0)
			q.before = page.next_before;
		audit_page_release(&page);
		if (!more)
			break;
		q.has_before = true;
	}
	/* nothing older matched */
	while (expect > 0)
		assert_false(matches(--expect, &q));
	return total;
}

static void test_filters_match_a_scan(void **state)
{
	(void)state;
	uint8_t p2[32], nobody[32];
	fx_pseudonym(2, p2);
	fx_pseudonym(99, nobody);
	struct audit_query qs[] = {
		{ .tenant = NULL },
		{ .tenant = "brand-1" },
		{ .event_type = "consent.withdraw" },
		{ .actor_id = "tok-3" },
		{ .subject = p2 },
		{ .subject = nobody },
		{ .since = FX_TIME0 + 50 * 1000, .until = FX_TIME0 + 120 * 1000 },
		{ .since = FX_TIME0 + 190 * 1000 },
		{ .until = FX_TIME0 + 10 * 1000 },
		{ .tenant = "brand-2", .event_type = "consent.grant", .subject = p2 },
		{ .tenant = "nobody" },
	};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		size_t a = run_paged(qs[i], 7), b = run_paged(qs[i], 1000), c = run_paged(qs[i], 1);
		assert_int_equal(a, b);
		assert_int_equal(a, c);
	}
	assert_int_equal(run_paged(qs[0], 1000), N);
	assert_int_equal(run_paged(qs[5], 10), 0);
}

static void test_page_cursor_and_limits(void **state)
{
	(void)state;
	struct audit_page page;
	struct audit_query q = { .limit = 10, .has_before = true, .before = 5 };
	assert_int_equal(audit_log_query(log_, &q, &page), CR_OK);
	assert_int_equal(page.n, 5);
	assert_false(page.more);
	assert_int_equal(page.records[0].index, 4);
	assert_int_equal(page.next_before, 0);
	audit_page_release(&page);
	q.before = 0;
	assert_int_equal(audit_log_query(log_, &q, &page), CR_OK);
	assert_int_equal(page.n, 0);
	audit_page_release(&page);
	q.before = UINT64_MAX;
	assert_int_equal(audit_log_query(log_, &q, &page), CR_OK);
	assert_int_equal(page.n, 10);
	assert_true(page.more);
	assert_int_equal(page.records[0].index, N - 1);
	assert_int_equal(page.next_before, N - 10);
	audit_page_release(&page);
	audit_page_release(NULL);
	q.limit = 0;
	assert_int_equal(audit_log_query(log_, &q, &page), CR_ERR_AUDIT_QUERY);
	q.limit = 1001;
	assert_int_equal(audit_log_query(log_, &q, &page), CR_ERR_AUDIT_QUERY);
}

/* A leaf that no longer decodes is reported, not returned half-read. */
static void test_undecodable_leaf(void **state)
{
	(void)state;
	struct audit_page page;
	struct audit_query q = { .limit = 3 };
	fx_exec(db, "SAVEPOINT t; UPDATE audit_leaves SET data = x'02' WHERE idx = 198");
	assert_int_equal(audit_log_query(log_, &q, &page), CR_ERR_AUDIT_VERIFY);
	fx_exec(db, "ROLLBACK TO t; RELEASE t");
	assert_int_equal(audit_log_query(log_, &q, &page), CR_OK);
	audit_page_release(&page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filters_match_a_scan),
		cmocka_unit_test(test_page_cursor_and_limits),
		cmocka_unit_test(test_undecodable_leaf),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
