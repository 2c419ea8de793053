/* Unit tests for cleanroom/collab_budget.c: the budget ledger (append-only;
 * left = budget - debits), which is the (dataset, partner) pair's: shared by
 * every collaboration on the pair, set by its first, and raised only
 * upward by the brand, each raise with its collab.budget_raise leaf (I5)
 * (issue 21 item 3; docs/spec/privacy.md section 9). */
#include "match_fixture.h"

static int setup(void **state)
{
	struct mfx *f = calloc(1, sizeof(*f));
	mfx_setup(f, 100, 60, 20, 3);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	mfx_teardown(*state);
	free(*state);
	return 0;
}

struct ledger_seen {
	size_t n;
	uint64_t eps;
};

static void ledger_one(void *ctx, const struct collab_debit *d)
{
	struct ledger_seen *s = ctx;
	s->n++;
	s->eps += d->epsilon_milli;
	assert_string_equal(d->query, "group_by=segment;metrics=count");
}

static void test_ledger(void **state)
{
	struct mfx *f = *state;
	struct collab c;
	struct ledger_seen seen = { 0, 0 };
	int64_t id = 0;
	mfx_collab(f, &c, "segment", "count", 0, 500, 1200, 0);
	assert_int_equal(mfx_left(f, &c), 1200);
	assert_int_equal(app_begin(f->a), CR_OK);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(collab_release_next_id(f->a->store, &id), CR_OK);
		assert_int_equal(collab_release_insert(f->a->store, id, c.id, "s", 1, "group_by=segment;metrics=count",
						       true, "{}"), CR_OK);
		assert_int_equal(collab_ledger_debit(f->a->store, c.id, 1, "group_by=segment;metrics=count", 500, id),
				 CR_OK);
	}
	assert_int_equal(app_commit(f->a), CR_OK);
	assert_int_equal(mfx_left(f, &c), 200);
	assert_int_equal(collab_ledger_each(f->a->store, c.id, ledger_one, &seen), CR_OK);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.eps, 1000);
	/* no silent refresh: debits, releases and rules cannot be changed */
	assert_int_not_equal(store_exec(f->a->store, "DELETE FROM collab_ledger"), CR_OK);
	assert_int_not_equal(store_exec(f->a->store, "UPDATE collab_ledger SET epsilon_milli = 1"), CR_OK);
	assert_int_not_equal(store_exec(f->a->store, "UPDATE collab_releases SET result = 'x'"), CR_OK);
	assert_int_not_equal(store_exec(f->a->store, "UPDATE collaborations SET budget_milli = 999999"), CR_OK);
	assert_int_not_equal(store_exec(f->a->store, "UPDATE collab_budgets SET budget_milli = 999999"), CR_OK);
	assert_int_not_equal(store_exec(f->a->store, "DELETE FROM collab_budgets"), CR_OK);
	assert_int_equal(mfx_left(f, &c), 200);
}

/* Segment values for n rows: enough matched records that a release passes k. */
static void segment_rows(int64_t *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rows[i] = (int64_t)(i % 3);
}

static void release_on(struct mfx *f, const struct collab *c, cr_err want, struct release_result *r)
{
	struct release_ctx x = { "acme", "00112233445566778899aabbccddeeff", "partner", "partner-1", NULL, NULL };
	struct release_query q;
	int64_t rows[600];
	char why[128];
	segment_rows(rows, 600);
	assert_int_equal(release_query_parse(c, &f->d, "segment", NULL, &q, why, sizeof(why)), CR_OK);
	assert_int_equal(release_run(f->a, &x, c, &f->d, &q, rows, 600, r), want);
}

struct pair_seen {
	size_t n;
	int64_t collabs[4];
};

static void pair_debit(void *ctx, const struct collab_debit *d)
{
	struct pair_seen *s = ctx;
	if (s->n < 4)
		s->collabs[s->n] = d->collab_id;
	s->n++;
}

/*
 * Issue 21 item 3: every collaboration on one (dataset, partner) pair draws
 * on one budget. A second collaboration on a pair whose budget is spent
 * has nothing left: it is refused before any row is read, and its ledger
 * is the pair's, with the first collaboration's debits.
 */
static void test_budget_is_shared_by_every_collaboration_on_a_pair(void **state)
{
	struct mfx *f = *state;
	struct collab first, second;
	struct release_result r;
	struct pair_seen seen = { 0, { 0 } };
	mfx_collab(f, &first, "segment", "count", 10, 500, 1000, 0);
	for (int i = 0; i < 2; i++) {
		release_on(f, &first, CR_OK, &r);
		release_result_release(&r);
	}
	/* the same dataset, the same partner, another rule: the same budget */
	mfx_collab_on(f, &second, "segment,region", "count", 10, 500, 1000, 0);
	assert_int_equal(mfx_left(f, &second), 0);
	assert_int_equal(mfx_spent(f, &second), 1000);
	release_on(f, &second, CR_ERR_BUDGET_EXHAUSTED, &r);
	assert_int_equal(r.epsilon_milli, 0);
	release_result_release(&r);
	assert_int_equal(collab_ledger_each(f->a->store, second.id, pair_debit, &seen), CR_OK);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.collabs[0], first.id);
	assert_int_equal(seen.collabs[1], first.id);
}

static size_t count_rows(struct mfx *f, const char *table)
{
	sqlite3_stmt *st = NULL;
	char sql[96];
	size_t n;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	assert_int_equal(sqlite3_prepare_v2(f->a->store->db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = (size_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A rule on the fixture's current dataset with partner-1 and the given budget (0: the pair's). */
static cr_err create_with_budget(struct mfx *f, struct collab *c, uint64_t eps, uint64_t budget, char *why,
				 size_t cap)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->partner, sizeof(c->partner), "partner-1");
	assert_int_equal(collab_rule_parse(c, &f->d, "segment", NULL, why, cap), CR_OK);
	c->k = 10;
	c->max_dims = 1;
	c->epsilon_milli = eps;
	c->budget_milli = budget;
	c->min_partner_set = 1;
	c->max_partner_set = 10;
	return collab_create(f->a, &mfx_actor, "acme", &f->d, c, why, cap);
}

/*
 * Issue 21 item 3: the pair's first collaboration sets its budget; a later
 * one takes it (any budget of its own but the same is refused, storing
 * nothing), and its epsilon must fit the pair's budget. The leaves say
 * which collaboration set the budget and which shares it.
 */
static void test_a_later_collaboration_takes_the_pair_budget(void **state)
{
	struct mfx *f = *state;
	struct collab first, c, got;
	char why[COLLAB_WHY_MAX] = "", detail[1024];
	size_t leaves, rows;
	mfx_collab(f, &first, "segment", "count", 10, 500, 2000, 0);
	mfx_last_detail(f, "collab.create", detail, sizeof(detail));
	assert_non_null(strstr(detail, "budget=2.000 budget_pair=new"));
	leaves = mfx_leaves(f, "collab.create");
	rows = count_rows(f, "collaborations");
	assert_int_equal(create_with_budget(f, &c, 500, 5000, why, sizeof(why)), CR_ERR_COLLAB_BUDGET_SHARED);
	assert_non_null(strstr(why, "already has a budget of 2.000 for partner 'partner-1'"));
	assert_int_equal(create_with_budget(f, &c, 500, 1000, why, sizeof(why)), CR_ERR_COLLAB_BUDGET_SHARED);
	assert_int_equal(create_with_budget(f, &c, 3000, 0, why, sizeof(why)), CR_ERR_COLLAB_EPSILON);
	assert_int_equal(mfx_leaves(f, "collab.create"), leaves);
	assert_int_equal(count_rows(f, "collaborations"), rows);
	/* the same budget, or none: the pair's */
	assert_int_equal(create_with_budget(f, &c, 500, 2000, why, sizeof(why)), CR_OK);
	assert_int_equal(create_with_budget(f, &c, 250, 0, why, sizeof(why)), CR_OK);
	assert_int_equal(c.budget_milli, 2000);
	mfx_last_detail(f, "collab.create", detail, sizeof(detail));
	assert_non_null(strstr(detail, "budget=2.000 budget_pair=shared"));
	assert_int_equal(collab_get(f->a->store, c.id, &got), CR_OK);
	assert_int_equal(got.budget_milli, 2000);
	/* a new pair without a budget gets the default */
	mfx_collab(f, &c, "segment", "count", 10, 500, 0, 0);
	assert_int_equal(c.budget_milli, COLLAB_BUDGET_DEFAULT);
	assert_int_equal(mfx_left(f, &c), COLLAB_BUDGET_DEFAULT);
}

struct raise_seen {
	size_t n;
	struct collab_raise last;
	char role[16];
};

static void raise_one(void *ctx, const struct collab_raise *r)
{
	struct raise_seen *s = ctx;
	s->n++;
	s->last = *r;
	snprintf(s->role, sizeof(s->role), "%s", r->actor_role);
	s->last.actor_role = s->last.actor_id = NULL;
}

/*
 * Issue 21 item 3: the brand raises a pair's budget, strictly upward; the
 * raise row and its collab.budget_raise leaf are stored together (I5); every
 * collaboration on the pair, and the next release, sees the new budget.
 */
static void test_budget_raise_is_audited_and_seen_by_every_collaboration(void **state)
{
	struct mfx *f = *state;
	struct collab first, second, got;
	struct collab_budget b;
	struct raise_seen seen = { 0 };
	struct release_result r;
	char why[COLLAB_WHY_MAX] = "", detail[512];
	size_t leaves = mfx_leaves(f, "collab.budget_raise");
	mfx_collab(f, &first, "segment", "count", 10, 500, 1000, 0);
	mfx_collab_on(f, &second, "segment,region", "count", 10, 500, 0, 0);
	release_on(f, &first, CR_OK, &r);
	release_result_release(&r);
	assert_int_equal(collab_budget_raise(f->a, &mfx_actor, "acme", &f->d, &second, 2500, why, sizeof(why)),
			 CR_OK);
	assert_int_equal(mfx_leaves(f, "collab.budget_raise"), leaves + 1);
	mfx_last_detail(f, "collab.budget_raise", detail, sizeof(detail));
	assert_string_equal(detail, "from=1.000 to=2.500 spent=0.500");
	assert_int_equal(collab_budget_get(f->a->store, first.id, &b), CR_OK);
	assert_int_equal(b.initial_milli, 1000);
	assert_int_equal(b.budget_milli, 2500);
	assert_int_equal(b.spent_milli, 500);
	assert_int_equal(b.left_milli, 2000);
	assert_int_equal(collab_get(f->a->store, first.id, &got), CR_OK);
	assert_int_equal(got.budget_milli, 2500);
	assert_int_equal(collab_raise_each(f->a->store, first.id, raise_one, &seen), CR_OK);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.last.collab_id, second.id);
	assert_int_equal(seen.last.from_milli, 1000);
	assert_int_equal(seen.last.to_milli, 2500);
	assert_string_equal(seen.role, "brand");
	release_on(f, &second, CR_OK, &r);
	assert_int_equal(r.budget_milli, 2500);
	assert_int_equal(r.budget_left_milli, 1500);
	release_result_release(&r);
	/* and again from there */
	assert_int_equal(collab_budget_raise(f->a, &mfx_actor, "acme", &f->d, &first, 3000, why, sizeof(why)),
			 CR_OK);
	assert_int_equal(mfx_left(f, &second), 2000);
}

/*
 * A raise that is not one (not above the current budget, or above 1000)
 * is refused with a clear reason and stores nothing: no raise row, no leaf.
 * The tables refuse a downward raise, one that does not start from the
 * current budget, any change to a pair's budget row, and a collaboration
 * without its pair's budget, whatever the code does.
 */
static void test_budget_raise_refuses_anything_but_a_raise(void **state)
{
	struct mfx *f = *state;
	struct collab c;
	struct collab_budget b;
	char why[COLLAB_WHY_MAX] = "", sql[256];
	static const uint64_t bad[] = { 1000, 999, 1, COLLAB_MILLI_MAX + 1 };
	size_t leaves = mfx_leaves(f, "collab.budget_raise"), raises = count_rows(f, "collab_budget_raises");
	mfx_collab(f, &c, "segment", "count", 10, 500, 1000, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(collab_budget_raise(f->a, &mfx_actor, "acme", &f->d, &c, bad[i], why, sizeof(why)),
				 CR_ERR_COLLAB_BUDGET_RAISE);
		assert_non_null(strstr(why, "the budget 1.000 of dataset"));
	}
	assert_int_equal(mfx_leaves(f, "collab.budget_raise"), leaves);
	assert_int_equal(count_rows(f, "collab_budget_raises"), raises);
	assert_int_equal(collab_budget_get(f->a->store, c.id, &b), CR_OK);
	assert_int_equal(b.budget_milli, 1000);
	/* the schema's own guard */
	snprintf(sql, sizeof(sql), "INSERT INTO collab_budget_raises(budget_id, collab_id, time_ms, from_milli,"
		 " to_milli, actor_role, actor_id) VALUES (%lld, %lld, 1, 1000, 500, 'brand', 'x')",
		 (long long)b.id, (long long)c.id);
	assert_int_not_equal(store_exec(f->a->store, sql), CR_OK);
	snprintf(sql, sizeof(sql), "INSERT INTO collab_budget_raises(budget_id, collab_id, time_ms, from_milli,"
		 " to_milli, actor_role, actor_id) VALUES (%lld, %lld, 1, 100, 5000, 'brand', 'x')",
		 (long long)b.id, (long long)c.id);
	assert_int_not_equal(store_exec(f->a->store, sql), CR_OK);
	assert_int_not_equal(store_exec(f->a->store, "UPDATE collab_budgets SET budget_milli = budget_milli + 1"),
			     CR_OK);
	snprintf(sql, sizeof(sql), "INSERT INTO collaborations(brand_id, dataset_id, partner, dimensions, sums, k,"
		 " max_dims, epsilon_milli, budget_milli, min_partner_set, max_partner_set, created_ms)"
		 " VALUES (%lld, %lld, 'partner-9', 'segment', '', 10, 1, 500, 1000, 1, 10, 1)",
		 (long long)f->brand, (long long)f->d.id);
	assert_int_not_equal(store_exec(f->a->store, sql), CR_OK);
	assert_int_equal(count_rows(f, "collab_budget_raises"), raises);
	assert_int_equal(mfx_left(f, &c), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ledger),
		cmocka_unit_test(test_budget_is_shared_by_every_collaboration_on_a_pair),
		cmocka_unit_test(test_a_later_collaboration_takes_the_pair_budget),
		cmocka_unit_test(test_budget_raise_is_audited_and_seen_by_every_collaboration),
		cmocka_unit_test(test_budget_raise_refuses_anything_but_a_raise),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
