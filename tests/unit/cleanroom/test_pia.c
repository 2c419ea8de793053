/*
 * Unit tests for cleanroom/pia.c: impact assessments and transfer
 * mechanisms, and the gates on dataset creation (R12, R28) and on
 * collaboration creation with a partner abroad (R13). Through the real
 * data directory (registry_fixture.h): datasets by ops_dataset_create,
 * collaborations by collab_create, as the CLI and the service run them.
 */
#include "registry_fixture.h"
#include "cleanroom/collab.h"
#include "cleanroom/pia.h"

/*
 * Version 2 of acme's notice: a sensitive purpose (health_insights), a
 * purpose that shares nothing and is not marketing (fraud_checks), and a
 * recipient in Germany (partner-de) next to the two in China.
 */
static const char notice_v2[] =
	"{\"version\":2,\"language\":\"en\",\"material\":true,"
	"\"controller\":{\"name\":\"Example Brand Ltd.\",\"contact\":\"privacy@brand.example\"},"
	"\"purposes\":[{\"code\":\"ads_measurement\",\"description\":\"measure ads\",\"sensitive\":false},"
	"{\"code\":\"audience_insights\",\"description\":\"audience insights\",\"sensitive\":false},"
	"{\"code\":\"health_insights\",\"description\":\"health interests\",\"sensitive\":true,"
	"\"necessity\":\"tailoring offers needs the stated interest\","
	"\"shares_data\":false,\"marketing\":false},"
	"{\"code\":\"fraud_checks\",\"description\":\"fraud checks\",\"sensitive\":false,"
	"\"shares_data\":false,\"marketing\":false}],"
	"\"recipients\":[{\"id\":\"partner-1\",\"name\":\"Partner Media Co.\",\"contact\":\"dpo@partner.example\","
	"\"country\":\"CN\",\"purpose\":\"audience_insights\",\"categories\":[\"email_digest\",\"segment\"]},"
	"{\"id\":\"partner-2\",\"name\":\"Other Media Co.\",\"contact\":\"dpo@other.example\","
	"\"country\":\"CN\",\"purpose\":\"audience_insights\",\"categories\":[\"email_digest\",\"segment\"]},"
	"{\"id\":\"partner-de\",\"name\":\"Media GmbH\",\"contact\":\"dpo@media.example\","
	"\"country\":\"DE\",\"purpose\":\"audience_insights\",\"categories\":[\"email_digest\",\"segment\"]}],"
	"\"methods\":[\"keyed hashing\",\"private set intersection\",\"aggregate statistics\"],"
	"\"categories\":[\"email\",\"segment\"],\"retention\":\"24 months\","
	"\"rights\":\"write to privacy@brand.example\",\"jurisdictions\":[\"CN\"],"
	"\"text\":\"the full notice as shown to people\"}";

static int setup(void **state)
{
	struct rfx *f = rfx_new();
	char why[256] = "";
	if (registry_notice_publish(f->a, &rfx_actor, f->acme, notice_v2, strlen(notice_v2), cr_time_now() - 1000, NULL,
				    why, sizeof(why)) != CR_OK)
		fail_msg("notice v2 refused: %s", why);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	rfx_free(*state);
	return 0;
}

/* A dataset of acme named `name` for `purposes` and `recipients`, not yet created. */
static void dataset_of(struct rfx *f, const char *name, const char *purposes, const char *recipients,
		       struct dataset *d)
{
	memset(d, 0, sizeof(*d));
	d->brand_id = f->acme;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->id_type = CRYPTO_ID_EMAIL;
	d->suite = CRYPTO_PSI_SUITE_DEFAULT;
	snprintf(d->profile, sizeof(d->profile), "default");
	assert_int_equal(dataset_codes_parse(purposes, false, d->purposes, &d->npurposes), CR_OK);
	assert_int_equal(dataset_codes_parse(recipients, true, d->recipients, &d->nrecipients), CR_OK);
	assert_int_equal(columns_parse(RFX_COLUMNS, &d->columns, NULL, 0), CR_OK);
}

static cr_err create(struct rfx *f, struct dataset *d, char *why, size_t cap)
{
	why[0] = '\0';
	return ops_dataset_create(f->a, &rfx_actor, "acme", d, why, cap);
}

static cr_err assess(struct rfx *f, int64_t brand, const char *brand_name, const char *ref, const char *covers,
		     bool cross_border)
{
	char why[256] = "";
	return pia_add(f->a, &rfx_actor, brand, brand_name, ref, "pipia", covers, cross_border, cr_time_now(), why,
		       sizeof(why));
}

static bool stored(struct rfx *f, const char *name)
{
	struct dataset got;
	return dataset_get(f->a->store, f->acme, name, &got) == CR_OK;
}

/* R28: no dataset without an assessment covering its purposes; refused, nothing is stored or audited. */
static void test_r28_dataset_refused_without_assessment(void **state)
{
	struct rfx *f = *state;
	struct dataset d;
	char why[OPS_WHY_MAX];
	size_t created = rfx_leaf_count(f, "acme", "dataset.create");
	json_t *l = json_array();
	dataset_of(f, "crm", "ads_measurement,audience_insights", "partner-1", &d);
	assert_int_equal(create(f, &d, why, sizeof(why)), CR_ERR_PIA_MISSING);
	assert_non_null(strstr(why, "'ads_measurement'"));
	assert_false(stored(f, "crm"));
	assert_int_equal(rfx_leaf_count(f, "acme", "dataset.create"), created);

	/* half covered: still refused, naming the purpose left */
	assert_int_equal(assess(f, f->acme, "acme", "PIA-2026-001", "ads_measurement", false), CR_OK);
	dataset_of(f, "crm", "ads_measurement,audience_insights", "partner-1", &d);
	assert_int_equal(create(f, &d, why, sizeof(why)), CR_ERR_PIA_MISSING);
	assert_non_null(strstr(why, "'audience_insights'"));
	assert_non_null(strstr(why, "another country (R13")); /* partner-de */
	assert_false(stored(f, "crm"));

	/* covered: created and audited; the assessments are listed and were audited */
	assert_int_equal(assess(f, f->acme, "acme", "PIA-2026-002", "audience_insights", false), CR_OK);
	assert_int_equal(rfx_leaf_count(f, "acme", "pia.add"), 2);
	dataset_of(f, "crm", "ads_measurement,audience_insights", "partner-1", &d);
	assert_int_equal(create(f, &d, why, sizeof(why)), CR_OK);
	assert_true(stored(f, "crm"));
	assert_int_equal(rfx_leaf_count(f, "acme", "dataset.create"), created + 1);
	assert_int_equal(pia_list(f->a, f->acme, l), CR_OK);
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 1), "ref")), "PIA-2026-002");
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(l, 1), "covers"), 0)),
			    "audience_insights");
	json_decref(l);
}

/* R28: even a purpose that shares nothing and is not marketing is matched here, so it needs one too. */
static void test_r28_matching_alone_needs_assessment(void **state)
{
	struct rfx *f = *state;
	struct dataset d;
	char why[OPS_WHY_MAX];
	dataset_of(f, "fraud", "fraud_checks", NULL, &d);
	assert_int_equal(create(f, &d, why, sizeof(why)), CR_ERR_PIA_MISSING);
	assert_non_null(strstr(why, "matched"));
	assert_int_equal(assess(f, f->acme, "acme", "PIA-F", "fraud_checks", false), CR_OK);
	assert_int_equal(create(f, &d, why, sizeof(why)), CR_OK);
}

/* R12: a sensitive purpose is refused without an assessment, and the refusal says it is sensitive. */
static void test_r12_sensitive_purpose_needs_assessment(void **state)
{
	struct rfx *f = *state;
	struct dataset d;
	char why[OPS_WHY_MAX];
	assert_int_equal(assess(f, f->acme, "acme", "PIA-ADS", "ads_measurement", false), CR_OK);
	dataset_of(f, "health", "ads_measurement,health_insights", NULL, &d);
	assert_int_equal(create(f, &d, why, sizeof(why)), CR_ERR_PIA_MISSING);
	assert_non_null(strstr(why, "'health_insights'"));
	assert_non_null(strstr(why, "sensitive data (R12)"));
	assert_false(stored(f, "health"));
	assert_int_equal(assess(f, f->acme, "acme", "DPIA-H", "health_insights", false), CR_OK);
	assert_int_equal(create(f, &d, why, sizeof(why)), CR_OK);
}

/* An assessment covering other purposes does not count; nor does another brand's. */
static void test_r28_assessment_of_other_purpose_or_brand_does_not_count(void **state)
{
	struct rfx *f = *state;
	struct dataset d;
	char why[OPS_WHY_MAX];
	assert_int_equal(assess(f, f->acme, "acme", "PIA-OTHER", "ads_measurement,fraud_checks", false), CR_OK);
	assert_int_equal(assess(f, f->other, "other", "PIA-OTHER", "audience_insights", false), CR_OK);
	dataset_of(f, "crm", "audience_insights", "partner-1", &d);
	assert_int_equal(create(f, &d, why, sizeof(why)), CR_ERR_PIA_MISSING);
	assert_non_null(strstr(why, "'audience_insights'"));
	assert_false(stored(f, "crm"));
}

/* Adding: references are the brand's own and used once; purposes must be the notice's; nothing half-stored. */
static void test_pia_add_refusals(void **state)
{
	struct rfx *f = *state;
	char why[256] = "";
	json_t *l = json_array();
	size_t leaves = rfx_leaf_count(f, "acme", "pia.add");
	assert_int_equal(assess(f, f->acme, "acme", "PIA-1", "ads_measurement", false), CR_OK);
	assert_int_equal(assess(f, f->acme, "acme", "PIA-1", "audience_insights", false), CR_ERR_PIA_EXISTS);
	assert_int_equal(pia_add(f->a, &rfx_actor, f->acme, "acme", "PIA-2", "pipia", "ads_measurement,payroll", false,
				 cr_time_now(), why, sizeof(why)), CR_ERR_PIA_UNDECLARED);
	assert_non_null(strstr(why, "'payroll'"));
	assert_int_equal(pia_add(f->a, &rfx_actor, f->acme, "acme", "PIA-3", "audit", "ads_measurement", false,
				 cr_time_now(), why, sizeof(why)), CR_ERR_INVALID_ARG);
	assert_int_equal(pia_add(f->a, &rfx_actor, f->acme, "acme", "bad ref", "dpia", "ads_measurement", false,
				 cr_time_now(), why, sizeof(why)), CR_ERR_INVALID_ARG);
	assert_int_equal(pia_add(f->a, &rfx_actor, f->acme, "acme", "PIA-4", "dpia", "ads_measurement", false,
				 cr_time_now() + 3600 * 1000, why, sizeof(why)), CR_ERR_INVALID_ARG);
	assert_int_equal(rfx_leaf_count(f, "acme", "pia.add"), leaves + 1);
	assert_int_equal(pia_list(f->a, f->acme, l), CR_OK);
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);
	/* append-only, whatever SQL is run */
	assert_int_not_equal(sqlite3_exec(f->a->store->db, "DELETE FROM consent_impact_assessments", NULL, NULL, NULL),
			     SQLITE_OK);
}

/* A collaboration of acme's dataset `d` with `partner`. */
static cr_err collab_with(struct rfx *f, struct dataset *d, const char *partner, char *why, size_t cap)
{
	struct collab c;
	memset(&c, 0, sizeof(c));
	snprintf(c.partner, sizeof(c.partner), "%s", partner);
	assert_int_equal(collab_rule_parse(&c, d, "segment", "count", why, cap), CR_OK);
	c.k = COLLAB_K_DEFAULT;
	c.max_dims = COLLAB_MAX_DIMS_DEFAULT;
	c.epsilon_milli = COLLAB_EPSILON_DEFAULT;
	c.min_partner_set = 10;
	c.max_partner_set = COLLAB_MAX_SET_DEFAULT;
	why[0] = '\0';
	return collab_create(f->a, &rfx_actor, "acme", d, &c, why, cap);
}

/*
 * R13: a partner in another country (DE, for a notice of CN) needs a
 * transfer mechanism and an assessment of the transfer; a partner in the
 * brand's own country needs neither.
 */
static void test_r13_cross_border_collab_needs_transfer_mechanism(void **state)
{
	struct rfx *f = *state;
	struct dataset d;
	char why[COLLAB_WHY_MAX], w[256] = "";
	size_t made = rfx_leaf_count(f, "acme", "collab.create");
	json_t *l = json_array();
	assert_int_equal(assess(f, f->acme, "acme", "PIA-AI", "audience_insights", false), CR_OK);
	dataset_of(f, "crm", "audience_insights", "partner-1,partner-de", &d);
	assert_int_equal(create(f, &d, why, sizeof(why)), CR_OK);

	/* same country: nothing more needed */
	assert_int_equal(collab_with(f, &d, "partner-1", why, sizeof(why)), CR_OK);
	assert_int_equal(rfx_leaf_count(f, "acme", "collab.create"), made + 1);

	/* abroad, without a mechanism: refused, nothing stored */
	assert_int_equal(collab_with(f, &d, "partner-de", why, sizeof(why)), CR_ERR_TRANSFER_MISSING);
	assert_non_null(strstr(why, "transfer mechanism"));
	assert_int_equal(rfx_leaf_count(f, "acme", "collab.create"), made + 1);

	/* another brand's mechanism does not count */
	assert_int_equal(transfer_add(f->a, &rfx_actor, f->other, "other", "partner-de", "scc", "SCC-X", w, sizeof(w)),
			 CR_ERR_PIA_UNDECLARED);
	/* with a mechanism but an assessment that did not cover the transfer: still refused */
	assert_int_equal(transfer_add(f->a, &rfx_actor, f->acme, "acme", "partner-de", "standard-contract", "SC-2026-1",
				      w, sizeof(w)), CR_OK);
	assert_int_equal(rfx_leaf_count(f, "acme", "transfer.add"), 1);
	assert_int_equal(collab_with(f, &d, "partner-de", why, sizeof(why)), CR_ERR_TRANSFER_MISSING);
	assert_non_null(strstr(why, "--cross-border"));
	assert_int_equal(rfx_leaf_count(f, "acme", "collab.create"), made + 1);

	/* with both: accepted and audited */
	assert_int_equal(assess(f, f->acme, "acme", "PIA-AI-XB", "audience_insights", true), CR_OK);
	assert_int_equal(collab_with(f, &d, "partner-de", why, sizeof(why)), CR_OK);
	assert_int_equal(rfx_leaf_count(f, "acme", "collab.create"), made + 2);
	assert_int_equal(transfer_list(f->a, f->acme, l), CR_OK);
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "country")), "DE");
	json_decref(l);
}

/* R13: the mechanism must be recorded for that partner, and by this brand. */
static void test_r13_mechanism_for_another_recipient_does_not_count(void **state)
{
	struct rfx *f = *state;
	struct dataset d;
	char why[COLLAB_WHY_MAX], w[256] = "";
	assert_int_equal(assess(f, f->acme, "acme", "PIA-AI", "audience_insights", true), CR_OK);
	dataset_of(f, "crm", "audience_insights", "partner-de", &d);
	assert_int_equal(create(f, &d, why, sizeof(why)), CR_OK);
	assert_int_equal(transfer_add(f->a, &rfx_actor, f->acme, "acme", "partner-2", "scc", "SCC-1", w, sizeof(w)),
			 CR_OK);
	assert_int_equal(transfer_add(f->a, &rfx_actor, f->acme, "acme", "partner-9", "scc", "SCC-9", w, sizeof(w)),
			 CR_ERR_PIA_UNDECLARED);
	assert_int_equal(transfer_add(f->a, &rfx_actor, f->acme, "acme", "partner-de", "binding", "X-1", w, sizeof(w)),
			 CR_ERR_INVALID_ARG);
	assert_int_equal(collab_with(f, &d, "partner-de", why, sizeof(why)), CR_ERR_TRANSFER_MISSING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_r28_dataset_refused_without_assessment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_r28_matching_alone_needs_assessment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_r12_sensitive_purpose_needs_assessment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_r28_assessment_of_other_purpose_or_brand_does_not_count, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pia_add_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_r13_cross_border_collab_needs_transfer_mechanism, setup, teardown),
		cmocka_unit_test_setup_teardown(test_r13_mechanism_for_another_recipient_does_not_count, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
