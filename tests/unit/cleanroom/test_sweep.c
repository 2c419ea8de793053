/* Unit tests for cleanroom/sweep.c: sweep_run deletes exactly the records
 * whose consent no longer holds at the time it is given (a grant's expiry,
 * R14, a sharing consent's expiry, a marketing objection, R21) and keeps
 * the rest; each dataset's deletions are audited with one "dataset.sweep"
 * leaf in their transaction (I5); a sweep that finds nothing appends
 * nothing; a store error is returned, not taken for "nothing to sweep".
 * Records are ingested through the real gate at a past time when their
 * consent was valid (ingest_run's opts.at). Subjects are made-up
 * example.com addresses. */
#include "registry_fixture.h"

struct sfx {
	struct rfx *f;
	struct crypto_pool *pool;
	struct dataset crm;  /* ads_measurement, audience_insights; shared with partner-1 */
	struct dataset ads;  /* ads_measurement */
	struct dataset o_ads; /* brand "other": ads_measurement */
	cr_time_ms ingested; /* when the lists were ingested */
};

static cr_err no_leaf(void *ctx, const struct ingest_batch *b)
{
	(void)ctx;
	(void)b;
	return CR_OK;
}

/* Ingests csv into d through the registry's gate as of s->ingested; every row must get in. */
static void ingest_then(struct sfx *s, const struct dataset *d, const char *csv, uint64_t want)
{
	struct registry_gate gs;
	struct ingest_gate gate;
	struct ingest_hooks hooks = { no_leaf, NULL, NULL, NULL };
	struct ingest_opts opts = { .at = s->ingested };
	struct ingest_report rep;
	char err[200] = "";
	FILE *in = fmemopen((void *)csv, strlen(csv), "r");
	assert_non_null(in);
	registry_ingest_gate(&gs, s->f->a, &gate);
	assert_int_equal(ingest_run(s->f->a->store, s->f->a->keys, s->pool, d, in, "list.csv", &opts, &gate, &hooks,
				    &rep, err, sizeof(err)), CR_OK);
	fclose(in);
	assert_int_equal(rep.accepted, want);
	assert_int_equal(rfx_count(s->f, d), want);
}

/*
 * Granted three hours ago; "exp" grants expired an hour ago; "part" only
 * its partner-1 sharing; "obj" objects after the ingest (test_r14_sweep_...). The lists were
 * ingested two hours ago, when every grant was valid.
 */
static int setup(void **state)
{
	struct sfx *s = calloc(1, sizeof(*s));
	struct rfx *f;
	cr_time_ms t, expired;
	assert_non_null(s);
	s->f = f = rfx_new();
	t = f->t0 - 3 * RFX_HOUR;
	expired = f->t0 - RFX_HOUR;
	s->ingested = f->t0 - 2 * RFX_HOUR;
	assert_int_equal(crypto_pool_create(1, &s->pool), CR_OK);
	rfx_grant_all(f, f->acme, "exp1@example.com", t, expired);
	rfx_grant_all(f, f->acme, "exp2@example.com", t, expired);
	rfx_grant_all(f, f->acme, "live1@example.com", t, 0);
	rfx_grant_all(f, f->acme, "live2@example.com", t, 0);
	rfx_served(f, f->acme, "part@example.com", t);
	rfx_grant(f, f->acme, "part@example.com", "ads_measurement", NULL, t + 1000, 0);
	rfx_grant(f, f->acme, "part@example.com", "audience_insights", NULL, t + 1000, 0);
	rfx_grant(f, f->acme, "part@example.com", "audience_insights", "partner-1", t + 1000, expired);
	rfx_grant_all(f, f->acme, "obj@example.com", t, 0);
	rfx_grant_all(f, f->other, "exp1@example.com", t, expired);
	rfx_grant_all(f, f->other, "live1@example.com", t, 0);
	rfx_dataset(f, f->acme, "acme", "crm", "ads_measurement,audience_insights", "partner-1", &s->crm);
	rfx_dataset(f, f->acme, "acme", "ads", "ads_measurement", NULL, &s->ads);
	rfx_dataset(f, f->other, "other", "ads", "ads_measurement", NULL, &s->o_ads);
	ingest_then(s, &s->crm,
		    "email,segment\nexp1@example.com,a\nexp2@example.com,a\nlive1@example.com,a\n"
		    "live2@example.com,b\npart@example.com,b\nobj@example.com,b\n", 6);
	ingest_then(s, &s->ads,
		    "email,segment\nexp1@example.com,a\nlive1@example.com,a\npart@example.com,b\nobj@example.com,b\n", 4);
	ingest_then(s, &s->o_ads, "email,segment\nexp1@example.com,a\nlive1@example.com,a\n", 2);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct sfx *s = *state;
	crypto_pool_free(s->pool);
	rfx_free(s->f);
	free(s);
	return 0;
}

static void assert_report(const struct sweep_report *r, uint64_t datasets, uint64_t checked, uint64_t removed)
{
	assert_int_equal(r->datasets, datasets);
	assert_int_equal(r->checked, checked);
	assert_int_equal(r->removed, removed);
}

static void assert_sweep_leaf(const struct audit_record *r, const char *dataset, const char *detail)
{
	assert_string_equal(r->leaf->event_type, "dataset.sweep");
	assert_string_equal(r->leaf->actor_role, "system");
	assert_string_equal(r->leaf->actor_id, "sweep");
	assert_string_equal(r->leaf->dataset, dataset);
	assert_string_equal(r->leaf->detail, detail);
	assert_false(r->leaf->has_subject);
}

/*
 * R14, I5: at the time it is given, the sweep deletes exactly the records
 * the gate now denies (expired grants, an expired sharing consent) and
 * keeps the others, one leaf per dataset it changed. An objection (R21)
 * leaves it nothing: it purged its records itself, at once.
 */
static void test_r14_sweep_deletes_exactly_what_expired(void **state)
{
	struct sfx *s = *state;
	struct rfx *f = s->f;
	struct sweep_report rep;
	struct audit_page page;
	uint64_t size0;

	/* an objection purges what it forbids at once (R21), not at the next sweep */
	rfx_object(f, f->acme, "obj@example.com");
	assert_int_equal(rfx_count(f, &s->crm), 5);
	assert_int_equal(rfx_count(f, &s->ads), 3);
	assert_false(rfx_has(f, &s->crm, "obj@example.com"));
	assert_false(rfx_has(f, &s->ads, "obj@example.com"));
	size0 = rfx_log_size(f);

	/* as of the ingest everything was valid: nothing to delete, nothing appended */
	assert_int_equal(sweep_run(f->a, 0, s->ingested + 60 * 1000, &rep), CR_OK);
	assert_report(&rep, 3, 10, 0);
	assert_int_equal(rfx_log_size(f), size0);

	/* now, for acme only */
	assert_int_equal(sweep_run(f->a, f->acme, cr_time_now(), &rep), CR_OK);
	assert_report(&rep, 2, 8, 4);
	assert_int_equal(rfx_count(f, &s->crm), 2);
	assert_true(rfx_has(f, &s->crm, "live1@example.com"));
	assert_true(rfx_has(f, &s->crm, "live2@example.com"));
	assert_int_equal(rfx_count(f, &s->ads), 2);
	assert_true(rfx_has(f, &s->ads, "live1@example.com"));
	assert_true(rfx_has(f, &s->ads, "part@example.com")); /* its purpose still granted */
	assert_int_equal(rfx_count(f, &s->o_ads), 2);         /* another brand, not asked */
	assert_int_equal(rfx_log_size(f), size0 + 2);
	rfx_leaves(f, "acme", "dataset.sweep", &page);
	assert_int_equal(page.n, 2); /* datasets in name order: ads, then crm */
	assert_sweep_leaf(&page.records[0], "crm", "removed=3 reason=consent_no_longer_valid");
	assert_sweep_leaf(&page.records[1], "ads", "removed=1 reason=consent_no_longer_valid");
	audit_page_release(&page);

	/* a second sweep finds nothing and appends no leaf claiming otherwise */
	assert_int_equal(sweep_run(f->a, f->acme, cr_time_now(), &rep), CR_OK);
	assert_report(&rep, 2, 4, 0);
	assert_int_equal(rfx_log_size(f), size0 + 2);

	/* every brand: only the other brand's expired record is left to go */
	assert_int_equal(sweep_run(f->a, 0, cr_time_now(), &rep), CR_OK);
	assert_report(&rep, 3, 6, 1);
	assert_int_equal(rfx_count(f, &s->o_ads), 1);
	assert_true(rfx_has(f, &s->o_ads, "live1@example.com"));
	assert_int_equal(rfx_log_size(f), size0 + 3);
	rfx_leaves(f, "other", "dataset.sweep", &page);
	assert_int_equal(page.n, 1);
	assert_sweep_leaf(&page.records[0], "ads", "removed=1 reason=consent_no_longer_valid");
	audit_page_release(&page);
	assert_int_equal(rfx_leaf_count(f, "acme", "dataset.sweep"), 2);
}

/* R14: what the sweep removed stays out: a re-upload now is refused as expired. */
static void test_r14_swept_subject_reupload_refused_as_expired(void **state)
{
	struct sfx *s = *state;
	struct sweep_report rep;
	struct ingest_report ing;
	assert_int_equal(sweep_run(s->f->a, s->f->acme, cr_time_now(), &rep), CR_OK);
	assert_false(rfx_has(s->f, &s->crm, "exp1@example.com"));
	rfx_ingest(s->f, "acme", &s->crm, "email,segment\nexp1@example.com,a\n", &ing);
	assert_int_equal(ing.accepted, 0);
	assert_int_equal(ing.rejected[INGEST_NO_CONSENT].count, 1);
	assert_int_equal(ing.nreasons, 1);
	assert_string_equal(ing.reasons[0].name, "EXPIRED");
	assert_false(rfx_has(s->f, &s->crm, "exp1@example.com"));
}

static int interrupt_every_step(void *ctx)
{
	(void)ctx;
	return 1;
}

/*
 * A store error while listing the brands to sweep is returned, not taken
 * for "no brand has a dataset" (which would report a clean sweep that
 * removed nothing).
 */
static void test_sweep_store_error_is_returned(void **state)
{
	struct sfx *s = *state;
	struct sweep_report rep = { 0 };
	cr_err rc;
	sqlite3_progress_handler(s->f->a->store->db, 1, interrupt_every_step, NULL);
	rc = sweep_run(s->f->a, 0, cr_time_now(), &rep);
	sqlite3_progress_handler(s->f->a->store->db, 0, NULL, NULL);
	assert_int_equal(rc, CR_ERR_STORE);
	assert_int_equal(rfx_count(s->f, &s->crm), 6);
	assert_int_equal(sweep_run(s->f->a, 0, cr_time_now(), &rep), CR_OK);
	assert_int_equal(rep.removed, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_r14_sweep_deletes_exactly_what_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_r14_swept_subject_reupload_refused_as_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep_store_error_is_returned, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
