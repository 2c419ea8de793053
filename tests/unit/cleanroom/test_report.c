/*
 * Unit tests for cleanroom/report.c, report_compliance.c and
 * report_verify.c, the compliance officer's reports (issue 24), through the
 * real data directory (registry_fixture.h): a brand with a known history
 * (grants, withdrawals, an objection, an erasure, an ingest, a release and
 * a refusal, a request answered late) between entries before and after the
 * window and another brand's entries. Each figure must equal what happened,
 * and each cited index, proven by inclusion against the report's
 * checkpoint with audit/'s own proof code, must be an entry of the type
 * the figure counts, of the brand, in the window (GDPR 5(2), 30; PIPL 54).
 */
#include <time.h>

#include "registry_fixture.h"
#include "cleanroom/collab.h"
#include "cleanroom/release.h"
#include "cleanroom/report.h"
#include "cleanroom/requests.h"

#define DAY (24 * RFX_HOUR)

static const char history_csv[] =
	"email,segment\n"
	"alice@example.com,a\n"
	"bob@example.com,b\n"
	"dave@example.com,a\n"
	"stranger@example.com,b\n";

struct tfx {
	struct rfx *f;
	struct dataset d;
	struct collab c;
	cr_time_ms since, until;
	json_t *doc;              /* the compliance report over [since, until) */
};

static void pause_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	nanosleep(&ts, NULL);
}

/* A release (400 rows, k 10) and a refusal (no row: under k), 0.5 each, through release_run. */
static void release_and_refusal(struct tfx *t)
{
	struct release_ctx x = { "acme", "00112233445566778899aabbccddeeff", "partner", "partner-1", NULL, NULL };
	struct release_query q;
	struct release_result r;
	int64_t rows[400], *zero_noise;
	char why[COLLAB_WHY_MAX] = "";
	for (size_t i = 0; i < 400; i++)
		rows[i] = (int64_t)(i % 2);
	memset(&t->c, 0, sizeof(t->c));
	snprintf(t->c.partner, sizeof(t->c.partner), "partner-1");
	assert_int_equal(collab_rule_parse(&t->c, &t->d, "segment", "count", why, sizeof(why)), CR_OK);
	t->c.k = 10;
	t->c.max_dims = COLLAB_MAX_DIMS_DEFAULT;
	t->c.epsilon_milli = 500;
	t->c.budget_milli = 2000;
	t->c.min_partner_set = 10;
	t->c.max_partner_set = COLLAB_MAX_SET_DEFAULT;
	if (collab_create(t->f->a, &rfx_actor, "acme", &t->d, &t->c, why, sizeof(why)) != CR_OK)
		fail_msg("collab refused: %s", why);
	assert_int_equal(release_query_parse(&t->c, &t->d, "segment", NULL, &q, why, sizeof(why)), CR_OK);
	/* zero noise, drawn ahead: the outcomes below must not depend on a draw
	 * (with random noise, an empty release reached k about once in 150 runs) */
	zero_noise = calloc(release_noise_count(&q), sizeof(int64_t));
	assert_non_null(zero_noise);
	x.noise = zero_noise;
	assert_int_equal(release_run(t->f->a, &x, &t->c, &t->d, &q, rows, 400, &r), CR_OK);
	assert_int_equal(r.outcome, CR_OK);
	release_result_release(&r);
	assert_int_equal(release_run(t->f->a, &x, &t->c, &t->d, &q, rows, 0, &r), CR_OK);
	assert_int_equal(r.outcome, CR_ERR_RELEASE_BELOW_K);
	release_result_release(&r);
	free(zero_noise);
}

static void erase_dave(struct tfx *t)
{
	struct crypto_pseudonym p = rfx_pseudonym(t->f, t->f->acme, "dave@example.com");
	json_t *doc = NULL;
	assert_int_equal(ops_subject_erase(t->f->a, &rfx_actor, t->f->acme, &p, 1, &doc), CR_OK);
	json_decref(doc);
}

static int setup(void **state)
{
	struct tfx *t = calloc(1, sizeof(*t));
	struct ingest_report rep;
	int64_t late = 0, timely = 0;
	cr_time_ms t0;
	assert_non_null(t);
	t->f = rfx_new();
	t0 = t->f->t0 - 2 * RFX_HOUR;
	/* before the window: a grant of acme's */
	rfx_grant(t->f, t->f->acme, "erin@example.com", "ads_measurement", NULL, t0, 0);
	pause_ms(5);
	t->since = cr_time_now();
	/* in the window */
	rfx_grant_all(t->f, t->f->acme, "alice@example.com", t0, 0);                  /* 4 grants */
	rfx_grant_all(t->f, t->f->acme, "bob@example.com", t0, 0);                    /* 4 grants */
	rfx_grant_all(t->f, t->f->acme, "dave@example.com", t0, 0);                   /* 4 grants */
	rfx_grant_all(t->f, t->f->other, "zed@example.com", t0, 0);                   /* another brand's */
	rfx_dataset(t->f, t->f->acme, "acme", "crm", "ads_measurement,audience_insights", "partner-1", &t->d);
	rfx_ingest(t->f, "acme", &t->d, history_csv, &rep);                          /* 3 accepted */
	assert_int_equal(rep.accepted, 3);
	assert_int_equal(rfx_withdraw(t->f, t->f->acme, "alice@example.com", NULL, NULL, NULL), 1);
	assert_int_equal(rfx_withdraw(t->f, t->f->acme, "bob@example.com", "audience_insights", "partner-2", NULL), 0);
	rfx_object(t->f, t->f->acme, "bob@example.com");                              /* purges bob's record */
	release_and_refusal(t);
	erase_dave(t);                                                                 /* purges dave's record */
	assert_int_equal(requests_add(t->f->a, &rfx_actor, t->f->acme, "access", "email", NULL,
				      cr_time_now() - 31 * DAY, false, &late), CR_OK);
	assert_int_equal(requests_add(t->f->a, &rfx_actor, t->f->acme, "access", "email", NULL, cr_time_now(), false,
				      &timely), CR_OK);
	assert_int_equal(requests_complete(t->f->a, &rfx_actor, t->f->acme, late), CR_OK);
	assert_int_equal(requests_complete(t->f->a, &rfx_actor, t->f->acme, timely), CR_OK);
	pause_ms(5);
	t->until = cr_time_now();
	pause_ms(5);
	/* after the window */
	rfx_withdraw(t->f, t->f->acme, "erin@example.com", NULL, NULL, NULL);
	assert_int_equal(report_compliance(t->f->a, "acme", t->since, t->until, &t->doc), CR_OK);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tfx *t = *state;
	json_decref(t->doc);
	rfx_free(t->f);
	free(t);
	return 0;
}

static const json_t *figure(const json_t *doc, const char *name)
{
	const json_t *f = json_object_get(json_object_get(json_object_get(doc, "report"), "figures"), name);
	assert_non_null(f);
	return f;
}

static json_int_t count_of(const json_t *doc, const char *name)
{
	return json_integer_value(json_object_get(figure(doc, name), "count"));
}

static json_int_t total_of(const json_t *doc, const char *name)
{
	return json_integer_value(json_object_get(figure(doc, name), "total"));
}

/* (a) Every figure is what happened in the window. */
static void test_report_figures_equal_the_history(void **state)
{
	struct tfx *t = *state;
	const json_t *budget = json_object_get(json_object_get(t->doc, "report"), "budget_spent");
	assert_int_equal(count_of(t->doc, "consents"), 12);
	/* two withdrawals, and the one the erasure makes for dave */
	assert_int_equal(count_of(t->doc, "withdrawals"), 3);
	assert_int_equal(count_of(t->doc, "objections"), 1);
	assert_int_equal(count_of(t->doc, "erasures"), 1);
	/* alice's (withdrawal), bob's (objection), dave's (erasure) */
	assert_int_equal(total_of(t->doc, "purged_records"), 3);
	assert_int_equal(count_of(t->doc, "purged_records"), 3);    /* entries with a record purged */
	assert_int_equal(count_of(t->doc, "swept_records"), 0);
	assert_int_equal(count_of(t->doc, "ingests"), 1);
	assert_int_equal(total_of(t->doc, "ingests"), 3);
	assert_int_equal(count_of(t->doc, "match_sessions"), 0);
	assert_int_equal(count_of(t->doc, "releases"), 1);
	assert_int_equal(count_of(t->doc, "refusals"), 1);
	assert_int_equal(count_of(t->doc, "late_requests"), 1);
	assert_int_equal(json_array_size(json_object_get(figure(t->doc, "late_requests"), "evidence")), 1);
	assert_int_equal(json_array_size(budget), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(budget, 0), "total_milli")), 1000);
	assert_string_equal(json_string_value(json_object_get(json_array_get(budget, 0), "epsilon")), "1.000");
}

/* The types each figure counts, as the issue defines them (independent of report_compliance.c's table). */
static const struct {
	const char *name, *type1, *type2;
} counted[] = {
	{ "consents", "consent.grant", NULL },      { "withdrawals", "consent.withdraw", NULL },
	{ "objections", "consent.object", NULL },   { "erasures", "subject.erase", NULL },
	{ "purged_records", "consent.purge", NULL }, { "swept_records", "dataset.sweep", NULL },
	{ "ingests", "dataset.ingest", NULL },
	{ "match_sessions", "match.session", NULL }, { "releases", "match.release", NULL },
	{ "refusals", "match.refuse", NULL },       { "late_requests", "request.complete", "request.add" },
};

/* Leaf `index`, proven against the report's checkpoint with audit/'s inclusion proof code. */
static struct audit_leaf *proven(struct tfx *t, const struct audit_checkpoint *cp, uint64_t index)
{
	uint8_t *bytes = NULL, hash[AUDIT_HASH_BYTES];
	size_t len = 0;
	struct audit_proof proof;
	struct audit_leaf *l = NULL;
	assert_true(index < cp->size);
	assert_int_equal(audit_log_leaf(t->f->a->log, index, &bytes, &len), CR_OK);
	audit_hash_leaf(bytes, len, hash);
	assert_int_equal(audit_log_prove_inclusion(t->f->a->log, index, cp->size, &proof), CR_OK);
	assert_int_equal(audit_verify_inclusion(index, cp->size, hash, &proof, cp->root), CR_OK);
	assert_int_equal(audit_leaf_decode(bytes, len, &l), CR_OK);
	free(bytes);
	return l;
}

static void report_checkpoint(struct tfx *t, struct audit_checkpoint *cp)
{
	struct audit_verifier v;
	const char *note = json_string_value(json_object_get(json_object_get(t->doc, "report"), "checkpoint"));
	assert_non_null(note);
	assert_int_equal(audit_verifier_from_signer(&t->f->a->signer, &v), CR_OK);
	assert_int_equal(audit_checkpoint_open(&v, note, strlen(note), NULL, cp), CR_OK);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(t->doc, "report"), "tree_size")),
			 (json_int_t)cp->size);
}

/* (b), (d), (e) Each cited entry is proven in the checkpoint, of the counted type, the brand's, in the window. */
static void test_report_cited_entries_prove_each_figure(void **state)
{
	struct tfx *t = *state;
	struct audit_checkpoint cp;
	report_checkpoint(t, &cp);
	for (size_t i = 0; i < sizeof(counted) / sizeof(counted[0]); i++) {
		const json_t *f = figure(t->doc, counted[i].name), *x;
		const json_t *list = json_object_get(f, "indices");
		uint64_t sum = 0, v = 0;
		size_t k;
		assert_true(json_is_array(list));
		assert_int_equal(json_array_size(list), json_integer_value(json_object_get(f, "count")));
		json_array_foreach(list, k, x) {
			struct audit_leaf *l = proven(t, &cp, (uint64_t)json_integer_value(x));
			if (!(strcmp(l->event_type, counted[i].type1) == 0 ||
			      (counted[i].type2 && strcmp(l->event_type, counted[i].type2) == 0)))
				fail_msg("%s cites a '%s' entry", counted[i].name, l->event_type);
			assert_string_equal(l->tenant, "acme");
			assert_true(l->time_ms >= t->since && l->time_ms < t->until);
			if (json_object_get(f, "field")) {
				char key[48];
				const char *d;
				unsigned long long n = 0;
				snprintf(key, sizeof(key), "%s=", json_string_value(json_object_get(f, "field")));
				d = strstr(l->detail, key);
				assert_non_null(d);
				assert_int_equal(sscanf(d + strlen(key), "%llu", &n), 1);
				v = n;
				sum += v;
			}
			audit_leaf_free(l);
		}
		if (json_object_get(f, "field"))
			assert_int_equal(sum, json_integer_value(json_object_get(f, "total")));
	}
}

/* (d) The grant before the window and the withdrawal after it are not counted; a window before counts the grant. */
static void test_report_window_excludes_outside_entries(void **state)
{
	struct tfx *t = *state;
	json_t *before = NULL;
	assert_int_equal(rfx_leaf_count(t->f, "acme", "consent.grant"), 13);
	assert_int_equal(rfx_leaf_count(t->f, "acme", "consent.withdraw"), 4);
	assert_int_equal(report_compliance(t->f->a, "acme", 0, t->since, &before), CR_OK);
	assert_int_equal(count_of(before, "consents"), 1);
	assert_int_equal(count_of(before, "withdrawals"), 0);
	json_decref(before);
	assert_int_equal(report_compliance(t->f->a, "acme", t->until, t->since, &before), CR_ERR_REPORT_WINDOW);
}

/* (e) None of another brand's entries is cited anywhere. */
static void test_report_other_brand_never_counted(void **state)
{
	struct tfx *t = *state;
	struct audit_page page;
	const char *key;
	json_t *f, *x;
	size_t k;
	struct audit_query q = { .tenant = "other", .limit = 1000 };
	assert_int_equal(audit_log_query(t->f->a->log, &q, &page), CR_OK);
	assert_true(page.n >= 4);
	json_object_foreach(json_object_get(json_object_get(t->doc, "report"), "figures"), key, f)
		json_array_foreach(json_object_get(f, "indices"), k, x)
			for (size_t i = 0; i < page.n; i++)
				assert_int_not_equal(page.records[i].index, (uint64_t)json_integer_value(x));
	audit_page_release(&page);
}

static char *keys(struct tfx *t, char **log_key)
{
	char *rk = NULL;
	assert_int_equal(app_report_key(t->f->a, &rk), CR_OK);
	assert_int_equal(app_verifier_key(t->f->a, log_key), CR_OK);
	return rk;
}

/* (c) The signature verifies (and the log recounts the same); a changed byte fails, with the exact error. */
static void test_report_signature_verifies_and_a_changed_byte_fails(void **state)
{
	struct tfx *t = *state;
	char *lk = NULL, *rk = keys(t, &lk), why[REPORT_WHY_MAX] = "", *sig;
	uint64_t checked = 0;
	json_t *bad;
	assert_int_equal(report_compliance_verify(t->doc, rk, lk, t->f->a->log, &checked, why, sizeof(why)), CR_OK);
	assert_true(checked >= 24);
	assert_int_equal(report_compliance_verify(t->doc, rk, lk, NULL, NULL, why, sizeof(why)), CR_OK);
	/* one figure changed: the signature no longer covers it */
	bad = json_deep_copy(t->doc);
	json_object_set_new((json_t *)figure(bad, "consents"), "count", json_integer(11));
	assert_int_equal(report_compliance_verify(bad, rk, lk, NULL, NULL, why, sizeof(why)), CR_ERR_REPORT_SIGNATURE);
	assert_int_equal(report_compliance_verify(bad, rk, lk, t->f->a->log, NULL, why, sizeof(why)),
			 CR_ERR_REPORT_SIGNATURE);
	json_decref(bad);
	/* one byte of the brand's name */
	bad = json_deep_copy(t->doc);
	json_object_set_new(json_object_get(bad, "report"), "brand", json_string("acmf"));
	assert_int_equal(report_compliance_verify(bad, rk, lk, NULL, NULL, why, sizeof(why)), CR_ERR_REPORT_SIGNATURE);
	json_decref(bad);
	/* one byte of the signature */
	bad = json_deep_copy(t->doc);
	sig = strdup(json_string_value(json_object_get(bad, "signature")));
	sig[strlen(sig) - 5] = sig[strlen(sig) - 5] == 'A' ? 'B' : 'A';
	json_object_set_new(bad, "signature", json_string(sig));
	assert_int_equal(report_compliance_verify(bad, rk, lk, NULL, NULL, why, sizeof(why)), CR_ERR_REPORT_SIGNATURE);
	free(sig);
	json_decref(bad);
	/* the log's key is not the reports' key */
	assert_int_equal(report_compliance_verify(t->doc, lk, lk, NULL, NULL, why, sizeof(why)), CR_ERR_REPORT_SIGNATURE);
	free(rk);
	free(lk);
}

/* A report signed with the right key but citing the wrong entries fails against the log. */
static void test_report_verifier_proves_cited_entries(void **state)
{
	struct tfx *t = *state;
	struct audit_signer rs;
	char *lk = NULL, *rk = keys(t, &lk), why[REPORT_WHY_MAX] = "", *text = NULL, *note = NULL;
	size_t note_len = 0;
	json_t *bad = json_deep_copy(t->doc), *report = json_object_get(bad, "report");
	json_t *w = json_object_get(json_object_get(json_object_get(report, "figures"), "withdrawals"), "indices");
	json_t *o = json_object_get(json_object_get(json_object_get(report, "figures"), "objections"), "indices");
	/* a withdrawal cited as an objection, re-signed with the reports' key */
	json_array_set(o, 0, json_array_get(w, 0));
	app_report_signer(t->f->a, &rs);
	text = report_signed_text(report);
	assert_int_equal(audit_note_sign(&rs, text, strlen(text), &note, &note_len), CR_OK);
	json_object_set_new(bad, "signature", json_string(note + strlen(text) + 1));
	assert_int_equal(report_compliance_verify(bad, rk, lk, NULL, NULL, why, sizeof(why)), CR_OK);
	assert_int_equal(report_compliance_verify(bad, rk, lk, t->f->a->log, NULL, why, sizeof(why)),
			 CR_ERR_REPORT_MISMATCH);
	assert_non_null(strstr(why, "objections"));
	json_decref(bad);
	free(text);
	free(note);
	free(rk);
	free(lk);
}

/* The record of processing lists the notice's purposes, recipients, datasets and collaborations, and no person. */
static void test_report_processing_record(void **state)
{
	struct tfx *t = *state;
	struct crypto_pseudonym p = rfx_pseudonym(t->f, t->f->acme, "bob@example.com");
	char hex[2 * CRYPTO_PSEUDONYM_BYTES + 1], *text;
	json_t *r = NULL;
	assert_int_equal(report_processing(t->f->a, t->f->acme, "acme", cr_time_now(), &r), CR_OK);
	assert_string_equal(json_string_value(json_object_get(r, "format")), REPORT_PROCESSING_FORMAT);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "purposes"), 0), "code")),
			    "ads_measurement");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "recipients"), 1), "id")),
			    "partner-2");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "datasets"), 0), "name")),
			    "crm");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "collaborations"), 0),
							      "partner")), "partner-1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "controller"), "contact")),
			    "privacy@brand.example");
	assert_int_equal(json_array_size(json_object_get(r, "transfers")), 0);  /* every recipient in CN */
	/* the fixture's dataset was created after its assessment (R28), which the record lists */
	assert_int_equal(json_array_size(json_object_get(r, "impact_assessments")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "impact_assessments"), 0),
							      "ref")), "pia-crm");
	assert_int_equal(json_array_size(json_object_get(json_array_get(json_object_get(r, "impact_assessments"), 0),
							 "covers")), 2);
	assert_int_equal(json_array_size(json_object_get(r, "transfer_mechanisms")), 0);
	text = json_dumps(r, 0);
	assert_int_equal(cr_hex_encode(p.bytes, sizeof(p.bytes), hex, sizeof(hex)), CR_OK);
	assert_null(strstr(text, hex));
	assert_null(strstr(text, "@example.com"));
	free(text);
	text = report_processing_markdown(r);
	assert_non_null(strstr(text, "| partner-1 | Partner Media Co. | CN |"));
	assert_null(strstr(text, "@example.com"));
	free(text);
	json_decref(r);
}

/* A recipient in a country outside the notice's jurisdictions is a transfer. */
static void test_report_processing_transfers(void **state)
{
	struct tfx *t = *state;
	char *v2 = strdup(rfx_notice), *at, why[256] = "";
	json_t *r = NULL, *tr;
	at = strstr(v2, "\"version\":1");
	at[10] = '2';
	at = strstr(v2, "\"country\":\"CN\",\"purpose\":\"audience_insights\",\"categories\":[\"email_digest\",\"segment\"]},"
			"{\"id\":\"partner-2\"");
	assert_non_null(at);
	at = strstr(at + 10, "\"country\":\"CN\"");
	memcpy(at + 11, "US", 2);
	assert_int_equal(registry_notice_publish(t->f->a, &rfx_actor, t->f->acme, v2, strlen(v2), cr_time_now(), NULL,
						 why, sizeof(why)), CR_OK);
	assert_int_equal(report_processing(t->f->a, t->f->acme, "acme", cr_time_now(), &r), CR_OK);
	tr = json_object_get(r, "transfers");
	assert_int_equal(json_array_size(tr), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(tr, 0), "recipient")), "partner-2");
	assert_string_equal(json_string_value(json_object_get(json_array_get(tr, 0), "country")), "US");
	json_decref(r);
	free(v2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_report_figures_equal_the_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_cited_entries_prove_each_figure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_window_excludes_outside_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_other_brand_never_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_signature_verifies_and_a_changed_byte_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_verifier_proves_cited_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_processing_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_processing_transfers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
