/* Unit tests for consent/rules.c: consent_valid_at against the core rules
 * (R01, R02, R05, R06, R09, R14, R15, R18, R21, R33) and the edge cases of
 * docs/spec/consent-rules.md, each asserting the exact decision and reason. */
#include "consent_fixture.h"

#define AM "ads_measurement"
#define AI "audience_insights"
#define P1 "partner-1"

static const char *t0s = "2026-03-01T09:00:00+08:00";

/* Publishes version 2 of the base notice, edited by fn, at `at`. */
static void publish_v2(struct fx *f, bool material, void (*fn)(json_t *), cr_time_ms at)
{
	char why[CONSENT_WHY_MAX] = "";
	json_t *n = notice_base(2, material);
	cr_err rc;
	if (fn)
		fn(n);
	rc = fx_publish_json(f, n, at, why, sizeof(why));
	if (rc != CR_OK)
		print_error("publish v2: %s: %s\n", cr_errname(rc), why);
	assert_int_equal(rc, CR_OK);
}

/* ------------------------------------------------------------------ R01 */

static void test_r01_no_consent_event_denies_not_given(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(1, 1);
	cr_time_ms t = T(t0s);

	EXPECT(f, p, AM, NULL, t, CONSENT_NOT_GIVEN);
	fx_rec(f, ev_served(p, 1, t));
	/* served but never answered ("requested") still denies */
	EXPECT(f, p, AM, NULL, t + 60000, CONSENT_NOT_GIVEN);
}

static void test_r01_refused_denies(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(2, 1);
	cr_time_ms t = T(t0s);

	fx_rec(f, ev_served(p, 1, t));
	fx_rec(f, ev_answer(CONSENT_EV_REFUSE, p, AM, NULL, 1, t + 1000));
	EXPECT(f, p, AM, NULL, t + 2000, CONSENT_REFUSED);
	/* a later grant is a new answer */
	fx_rec(f, ev_grant(p, AM, NULL, 1, t + 5000));
	EXPECT(f, p, AM, NULL, t + 6000, CONSENT_OK);
	EXPECT(f, p, AM, NULL, t + 4000, CONSENT_REFUSED);
	/* and a refusal after it ends it */
	fx_rec(f, ev_answer(CONSENT_EV_REFUSE, p, AM, NULL, 1, t + 7000));
	EXPECT(f, p, AM, NULL, t + 8000, CONSENT_REFUSED);
}

static void test_r01_decision_is_per_subject_purpose_recipient_and_time(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(3, 1), q = P(4, 1);
	cr_time_ms t = T(t0s);

	fx_rec(f, ev_served(p, 1, t));
	fx_rec(f, ev_grant(p, AM, NULL, 1, t + 1000));
	EXPECT(f, p, AM, NULL, t + 999, CONSENT_NOT_GIVEN);
	EXPECT(f, p, AM, NULL, t + 1000, CONSENT_OK);
	EXPECT(f, p, AI, NULL, t + 1000, CONSENT_NOT_GIVEN);
	EXPECT(f, p, AI, P1, t + 1000, CONSENT_NOT_GIVEN);
	EXPECT(f, q, AM, NULL, t + 1000, CONSENT_NOT_GIVEN);
}

static void test_r01_unknown_purpose_and_recipient(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(5, 1);
	struct consent_decision d;
	cr_time_ms t = T(t0s);

	fx_full_consent(f, p, t);
	EXPECT(f, p, "lookalike", NULL, t + 10000, CONSENT_UNKNOWN_PURPOSE);
	EXPECT(f, p, AI, "partner-9", t + 10000, CONSENT_UNKNOWN_RECIPIENT);
	/* partner-1 is declared for audience_insights only */
	EXPECT(f, p, AM, P1, t + 10000, CONSENT_UNKNOWN_RECIPIENT);
	/* malformed codes are a caller error, not a decision */
	assert_int_equal(consent_valid_at(f->ctx, f->brand, &p, "Bad Code", NULL, t, 0, &d),
			 CR_ERR_INVALID_ARG);
	assert_int_equal(consent_valid_at(f->ctx, f->brand, &p, NULL, NULL, t, 0, &d),
			 CR_ERR_INVALID_ARG);
	assert_int_equal(consent_valid_at(f->ctx, 999, &p, AM, NULL, t, 0, &d),
			 CR_ERR_CONSENT_BRAND_NOT_FOUND);
}

/* ------------------------------------------------------------------ R02 */

static void test_r02_keyed_pseudonym_gets_every_rule(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(6, 1);
	struct consent_decision d;
	cr_time_ms t = T(t0s);

	/* There is no anonymous path: a pseudonym with no history is denied,
	 * and a subject is required. */
	EXPECT(f, p, AM, NULL, t, CONSENT_NOT_GIVEN);
	EXPECT(f, p, AI, P1, t, CONSENT_NOT_GIVEN);
	assert_int_equal(consent_valid_at(f->ctx, f->brand, NULL, AM, NULL, t, 0, &d),
			 CR_ERR_INVALID_ARG);
	/* and withdrawal applies to it like to anyone */
	fx_full_consent(f, p, t);
	fx_rec(f, ev_withdraw(p, NULL, NULL, t + 60000));
	EXPECT(f, p, AM, NULL, t + 60000, CONSENT_WITHDRAWN);
}

/* ------------------------------------------------------------------ R05 */

static void test_r05_grant_before_notice_served_is_invalid(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(10, 1);
	cr_time_ms t = T(t0s);

	fx_rec(f, ev_served(p, 1, t));
	fx_rec(f, ev_grant(p, AM, NULL, 1, t - 1));
	EXPECT(f, p, AM, NULL, t + 1000, CONSENT_NO_NOTICE_SERVED);
}

/* R05: a version is current only from its publish time: served before it, a grant does not count. */
static void test_r05_version_is_current_only_from_its_publication(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(11, 1), q = P(12, 1);
	cr_time_ms pub = T("2026-01-01T00:00:00Z"); /* the fixture's v1 */

	fx_rec(f, ev_served(p, 1, pub - 1));
	fx_rec(f, ev_grant(p, AM, NULL, 1, pub + 1000));
	EXPECT(f, p, AM, NULL, pub + 2000, CONSENT_NOTICE_NOT_CURRENT);
	fx_rec(f, ev_served(q, 1, pub));
	fx_rec(f, ev_grant(q, AM, NULL, 1, pub + 1000));
	EXPECT(f, q, AM, NULL, pub + 2000, CONSENT_OK);
}

static void test_r05_grant_at_or_after_served_time_is_valid(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(11, 1), q = P(12, 1);
	cr_time_ms t = T(t0s);

	/* edge case 1: equal */
	fx_rec(f, ev_served(p, 1, t));
	fx_rec(f, ev_grant(p, AM, NULL, 1, t));
	EXPECT(f, p, AM, NULL, t, CONSENT_OK);
	/* after */
	fx_rec(f, ev_served(q, 1, t));
	fx_rec(f, ev_grant(q, AM, NULL, 1, t + 1));
	EXPECT(f, q, AM, NULL, t + 1, CONSENT_OK);
}

static void test_r05_grant_without_served_event_is_invalid(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(13, 1);
	cr_time_ms t = T(t0s);

	fx_rec(f, ev_grant(p, AM, NULL, 1, t));
	EXPECT(f, p, AM, NULL, t + 1000, CONSENT_NO_NOTICE_SERVED);
	/* out of order (edge case 3): the served event arrives later but
	 * happened before the grant; the history now says the grant was valid */
	fx_rec(f, ev_served(p, 1, t - 5000));
	EXPECT(f, p, AM, NULL, t + 1000, CONSENT_OK);
}

static void test_r05_served_event_of_another_version_does_not_count(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(14, 1);
	cr_time_ms t = T(t0s);

	publish_v2(f, false, NULL, T("2026-02-01T00:00:00Z"));
	fx_rec(f, ev_served(p, 2, t));
	fx_rec(f, ev_grant(p, AM, NULL, 1, t + 1000));
	EXPECT(f, p, AM, NULL, t + 2000, CONSENT_NO_NOTICE_SERVED);
}

static void test_r05_served_version_must_be_current_when_served(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(15, 1);
	cr_time_ms t = T(t0s);

	/* v2 was published before v1 was shown: showing v1 then was stale */
	publish_v2(f, false, NULL, t - 86400000);
	fx_rec(f, ev_served(p, 1, t));
	fx_rec(f, ev_grant(p, AM, NULL, 1, t + 1000));
	EXPECT(f, p, AM, NULL, t + 2000, CONSENT_NOTICE_NOT_CURRENT);
	/* served the current version and granted on it: valid */
	fx_rec(f, ev_served(p, 2, t + 3000));
	fx_rec(f, ev_grant(p, AM, NULL, 2, t + 4000));
	EXPECT(f, p, AM, NULL, t + 5000, CONSENT_OK);
}

static void test_r05_new_version_published_between_serve_and_grant(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(16, 1);
	cr_time_ms t = T(t0s);

	/* edge case 1: v1 served (current then), v2 published, grant on v1 */
	fx_rec(f, ev_served(p, 1, t));
	publish_v2(f, false, NULL, t + 1000);
	fx_rec(f, ev_grant(p, AM, NULL, 1, t + 2000));
	EXPECT(f, p, AM, NULL, t + 3000, CONSENT_OK);
}

/* ------------------------------------------------------------------ R06 */

static void reword(json_t *n)
{
	json_object_set_new(n, "text", json_string("the same notice, clearer words"));
	json_object_set_new(json_array_get(json_object_get(n, "purposes"), 0), "description",
			    json_string("measuring how ads perform"));
}

static void add_category(json_t *n)
{
	json_array_append_new(json_object_get(n, "categories"), json_string("spend"));
}

static void widen_partner(json_t *n)
{
	json_t *r = json_array_get(json_object_get(n, "recipients"), 0);
	json_array_append_new(json_object_get(r, "categories"), json_string("spend"));
}

static void add_purpose_and_partner(json_t *n)
{
	json_array_append_new(json_object_get(n, "purposes"),
			      json_pack("{s:s, s:s, s:b}", "code", "lookalike", "description",
					"lookalike audiences", "sensitive", 0));
	json_array_append_new(json_object_get(n, "recipients"),
			      json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s]}", "id", "partner-2",
					"name", "Other Media", "contact", "dpo@other.example",
					"country", "CN", "purpose", AI, "categories", "segment"));
}

static void test_r06_wording_only_change_keeps_grants(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(20, 1);
	cr_time_ms t = T(t0s);

	fx_full_consent(f, p, t);
	publish_v2(f, false, reword, t + 86400000);
	EXPECT(f, p, AM, NULL, t + 2 * 86400000LL, CONSENT_OK);
	EXPECT(f, p, AI, P1, t + 2 * 86400000LL, CONSENT_OK);
}

static void test_r06_material_change_of_recipient_needs_new_grant(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(21, 1);
	cr_time_ms t = T(t0s), v2 = t + 86400000;

	fx_full_consent(f, p, t);
	publish_v2(f, true, widen_partner, v2);
	/* before v2 existed the sharing was covered (R18: no retroactivity) */
	EXPECT(f, p, AI, P1, v2 - 1, CONSENT_OK);
	/* what the change added (a data category for partner-1) is denied */
	EXPECT(f, p, AI, P1, v2, CONSENT_MATERIAL_CHANGE);
	/* what it did not touch keeps its grants */
	EXPECT(f, p, AI, NULL, v2, CONSENT_OK);
	EXPECT(f, p, AM, NULL, v2, CONSENT_OK);
	/* consenting again on v2 covers it */
	fx_rec(f, ev_served(p, 2, v2 + 1000));
	fx_rec(f, ev_grant(p, AI, P1, 2, v2 + 2000));
	EXPECT(f, p, AI, P1, v2 + 2000, CONSENT_OK);
}

static void test_r06_material_new_category_covers_every_purpose(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(22, 1);
	cr_time_ms t = T(t0s), v2 = t + 86400000;

	fx_full_consent(f, p, t);
	publish_v2(f, true, add_category, v2);
	EXPECT(f, p, AM, NULL, v2 - 1, CONSENT_OK);
	EXPECT(f, p, AM, NULL, v2, CONSENT_MATERIAL_CHANGE);
	EXPECT(f, p, AI, NULL, v2, CONSENT_MATERIAL_CHANGE);
	fx_rec(f, ev_served(p, 2, v2 + 10));
	fx_rec(f, ev_grant(p, AM, NULL, 2, v2 + 20));
	EXPECT(f, p, AM, NULL, v2 + 20, CONSENT_OK);
	EXPECT(f, p, AI, NULL, v2 + 20, CONSENT_MATERIAL_CHANGE);
}

static void test_r06_material_change_new_purpose_and_recipient(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(23, 1);
	cr_time_ms t = T(t0s), v2 = t + 86400000;

	fx_full_consent(f, p, t);
	publish_v2(f, true, add_purpose_and_partner, v2);
	/* untouched purposes and recipients keep their v1 grants */
	EXPECT(f, p, AM, NULL, v2, CONSENT_OK);
	EXPECT(f, p, AI, P1, v2, CONSENT_OK);
	/* what v2 added is not covered until granted */
	EXPECT(f, p, "lookalike", NULL, v2, CONSENT_NOT_GIVEN);
	EXPECT(f, p, AI, "partner-2", v2, CONSENT_NOT_GIVEN);
	fx_rec(f, ev_served(p, 2, v2 + 10));
	fx_rec(f, ev_grant(p, "lookalike", NULL, 2, v2 + 20));
	fx_rec(f, ev_grant(p, AI, "partner-2", 2, v2 + 30));
	EXPECT(f, p, "lookalike", NULL, v2 + 30, CONSENT_OK);
	EXPECT(f, p, AI, "partner-2", v2 + 30, CONSENT_OK);
}

/* ------------------------------------------------------------------ R09 */

static void test_r09_sharing_needs_its_own_grant_naming_the_recipient(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(30, 1), q = P(31, 1);
	cr_time_ms t = T(t0s);

	fx_rec(f, ev_served(p, 1, t));
	fx_rec(f, ev_grant(p, AI, NULL, 1, t + 1000));
	EXPECT(f, p, AI, NULL, t + 2000, CONSENT_OK);
	EXPECT(f, p, AI, P1, t + 2000, CONSENT_NOT_GIVEN);
	/* a sharing grant alone does not give the purpose */
	fx_rec(f, ev_served(q, 1, t));
	fx_rec(f, ev_grant(q, AI, P1, 1, t + 1000));
	EXPECT(f, q, AI, P1, t + 2000, CONSENT_NOT_GIVEN);
	EXPECT(f, q, AI, NULL, t + 2000, CONSENT_NOT_GIVEN);
}

static void test_r09_withdrawing_sharing_keeps_the_purpose(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(32, 1);
	cr_time_ms t = T(t0s), tw = t + 86400000;

	fx_full_consent(f, p, t);
	fx_rec(f, ev_withdraw(p, AI, P1, tw));
	EXPECT(f, p, AI, P1, tw, CONSENT_WITHDRAWN);
	EXPECT(f, p, AI, NULL, tw, CONSENT_OK);
	EXPECT(f, p, AM, NULL, tw, CONSENT_OK);
}

/* ------------------------------------------------------------------ R14 */

static void test_r14_expiry_exactly_at_the_boundary(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(40, 1);
	cr_time_ms t = T(t0s), e = T("2026-09-01T00:00:00+08:00");
	struct consent_event g = ev_grant(p, AM, NULL, 1, t + 1000);

	g.expires = e;
	fx_rec(f, ev_served(p, 1, t));
	fx_rec(f, g);
	/* edge case 5 */
	EXPECT(f, p, AM, NULL, e - 1, CONSENT_OK);
	EXPECT(f, p, AM, NULL, e, CONSENT_EXPIRED);
	EXPECT(f, p, AM, NULL, e + 1, CONSENT_EXPIRED);
	/* a fresh grant renews */
	fx_rec(f, ev_grant(p, AM, NULL, 1, e + 1000));
	EXPECT(f, p, AM, NULL, e + 1000, CONSENT_OK);
}

static void test_r14_expire_event_ends_the_grant(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(41, 1);
	cr_time_ms t = T(t0s);
	struct consent_event x;

	fx_full_consent(f, p, t);
	consent_event_init(&x, CONSENT_EV_EXPIRE);
	x.subject = p;
	snprintf(x.purpose, sizeof(x.purpose), AM);
	x.actor = CONSENT_ACTOR_BRAND;
	x.time = x.received = t + 60000;
	consent_event_source(&x, "test", "test");
	fx_rec(f, x);
	EXPECT(f, p, AM, NULL, t + 59999, CONSENT_OK);
	EXPECT(f, p, AM, NULL, t + 60000, CONSENT_EXPIRED);
	EXPECT(f, p, AI, NULL, t + 60000, CONSENT_OK);
}

/* ------------------------------------------------------------------ R15 */

/* Served v1 and a grant of AM at t by `actor`, with birth year and jurisdiction. */
static void grant_aged(struct fx *f, struct crypto_pseudonym p, cr_time_ms t, int birth,
		       const char *jur, enum consent_actor actor)
{
	struct consent_event g = ev_grant(p, AM, NULL, 1, t);

	g.birth_year = birth;
	if (jur)
		snprintf(g.jurisdiction, sizeof(g.jurisdiction), "%s", jur);
	g.actor = actor;
	if (actor == CONSENT_ACTOR_GUARDIAN) {
		snprintf(g.guardian_ref, sizeof(g.guardian_ref), "guardian-7");
		fx_link(f, p, "guardian-7"); /* R16 */
	}
	fx_rec(f, ev_served(p, 1, t - 1000));
	fx_rec(f, g);
}

static void test_r15_cn_under_14_needs_a_guardian(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym child = P(50, 1), guarded = P(51, 1);
	cr_time_ms t = T(t0s);

	grant_aged(f, child, t, 2013, "CN", CONSENT_ACTOR_SUBJECT);
	EXPECT(f, child, AM, NULL, t, CONSENT_GUARDIAN_REQUIRED);
	grant_aged(f, guarded, t, 2013, "CN", CONSENT_ACTOR_GUARDIAN);
	EXPECT(f, guarded, AM, NULL, t, CONSENT_OK);
}

static void test_r15_child_turns_14_in_cn(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym a = P(52, 1), b = P(53, 1);

	/* edge case 6: born 2012; in 2026 the child may still be 13 (only the
	 * year is known, so the stricter reading); from 2027 surely 14 */
	grant_aged(f, a, T("2026-12-31T12:00:00Z"), 2012, "CN", CONSENT_ACTOR_SUBJECT);
	EXPECT(f, a, AM, NULL, T("2027-06-01T00:00:00Z"), CONSENT_GUARDIAN_REQUIRED);
	grant_aged(f, b, T("2027-01-01T00:00:00Z"), 2012, "CN", CONSENT_ACTOR_SUBJECT);
	EXPECT(f, b, AM, NULL, T("2027-01-01T00:00:00Z"), CONSENT_OK);
}

static void test_r15_eu_threshold_defaults_to_16_and_is_configurable(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym a = P(54, 1), b = P(55, 1), c = P(56, 1);
	cr_time_ms t = T(t0s);

	/* born 2011: at least 14 in 2026: fine in CN, a child in the EU (16) */
	grant_aged(f, a, t, 2011, "EU", CONSENT_ACTOR_SUBJECT);
	EXPECT(f, a, AM, NULL, t, CONSENT_GUARDIAN_REQUIRED);
	grant_aged(f, b, t, 2011, "CN", CONSENT_ACTOR_SUBJECT);
	EXPECT(f, b, AM, NULL, t, CONSENT_OK);
	/* a member state lowering the age to 13 (edge case 6: crossing 13) */
	assert_int_equal(consent_brand_set_child_age(f->ctx, f->brand, "EU", 13), CR_OK);
	EXPECT(f, a, AM, NULL, t, CONSENT_OK);
	/* never below 13, and only for the EU or a member state */
	assert_int_equal(consent_brand_set_child_age(f->ctx, f->brand, "EU", 12),
			 CR_ERR_CONSENT_CHILD_AGE);
	assert_int_equal(consent_brand_set_child_age(f->ctx, f->brand, "EU", 17),
			 CR_ERR_CONSENT_CHILD_AGE);
	assert_int_equal(consent_brand_set_child_age(f->ctx, f->brand, "CN", 13),
			 CR_ERR_CONSENT_CHILD_AGE);
	/* a member state's own setting wins over "EU" */
	assert_int_equal(consent_brand_set_child_age(f->ctx, f->brand, "DE", 16), CR_OK);
	grant_aged(f, c, t, 2011, "DE", CONSENT_ACTOR_SUBJECT);
	EXPECT(f, c, AM, NULL, t, CONSENT_GUARDIAN_REQUIRED);
}

static void test_r15_unknown_or_dual_jurisdiction_takes_the_stricter_rule(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym a = P(57, 1), b = P(58, 1), c = P(59, 1);
	cr_time_ms t = T(t0s);
	struct consent_event o;

	/* edge case 7: a jurisdiction we have no rule for: the strictest (16) */
	grant_aged(f, a, t, 2011, "US", CONSENT_ACTOR_SUBJECT);
	EXPECT(f, a, AM, NULL, t, CONSENT_GUARDIAN_REQUIRED);
	/* no jurisdiction stated: the notice's (CN here) */
	grant_aged(f, b, t, 2011, NULL, CONSENT_ACTOR_SUBJECT);
	EXPECT(f, b, AM, NULL, t, CONSENT_OK);
	/* CN and EU both stated: the stricter (16) */
	grant_aged(f, c, t, 2011, "CN", CONSENT_ACTOR_SUBJECT);
	EXPECT(f, c, AM, NULL, t, CONSENT_OK);
	o = ev_answer(CONSENT_EV_REFUSE, c, AI, NULL, 1, t + 10);
	snprintf(o.jurisdiction, sizeof(o.jurisdiction), "EU");
	fx_rec(f, o);
	EXPECT(f, c, AM, NULL, t + 20, CONSENT_GUARDIAN_REQUIRED);
}

static void cn_and_eu(json_t *n)
{
	json_object_set_new(n, "jurisdictions", json_pack("[s, s]", "CN", "EU"));
}

/*
 * R15: every jurisdiction that applies counts, not only the first the
 * notice lists: a notice for CN and the EU holds a 14-year-old (only the
 * birth year known) to the EU's 16, whatever the order; and the subject's
 * stated jurisdiction adds to the notice's rather than replacing them.
 */
static void test_r15_strictest_of_every_jurisdiction_that_applies(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym a = P(62, 1), b = P(63, 1);
	cr_time_ms t = T(t0s), v2 = t + 1000;
	struct consent_event g;

	publish_v2(f, true, cn_and_eu, v2);
	fx_rec(f, ev_served(a, 2, v2 + 1000));
	g = ev_grant(a, AM, NULL, 2, v2 + 2000);
	g.birth_year = 2011;
	fx_rec(f, g);
	EXPECT(f, a, AM, NULL, v2 + 3000, CONSENT_GUARDIAN_REQUIRED);
	/* stating CN does not lift the notice's EU rule */
	fx_rec(f, ev_served(b, 2, v2 + 1000));
	g = ev_grant(b, AM, NULL, 2, v2 + 2000);
	g.birth_year = 2011;
	snprintf(g.jurisdiction, sizeof(g.jurisdiction), "CN");
	fx_rec(f, g);
	EXPECT(f, b, AM, NULL, v2 + 3000, CONSENT_GUARDIAN_REQUIRED);
}

/* R15: conflicting stated birth years: the youngest wins, whatever came last. */
static void test_r15_youngest_stated_birth_year_wins(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym a = P(64, 1);
	cr_time_ms t = T(t0s);
	struct consent_event o;

	grant_aged(f, a, t, 2013, "CN", CONSENT_ACTOR_SUBJECT);
	o = ev_answer(CONSENT_EV_REFUSE, a, AI, NULL, 1, t + 10);
	o.birth_year = 1990;
	fx_rec(f, o);
	EXPECT(f, a, AM, NULL, t + 20, CONSENT_GUARDIAN_REQUIRED);
}

static void test_r15_unknown_age_denies_in_child_directed_dataset(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym a = P(60, 1), b = P(61, 1);
	cr_time_ms t = T(t0s);

	grant_aged(f, a, t, 0, "CN", CONSENT_ACTOR_SUBJECT);
	EXPECT(f, a, AM, NULL, t, CONSENT_OK);
	EXPECT_FLAGS(f, a, AM, NULL, t, CONSENT_CHILD_DIRECTED, CONSENT_AGE_UNKNOWN);
	/* a guardian's grant covers the unknown age */
	grant_aged(f, b, t, 0, "CN", CONSENT_ACTOR_GUARDIAN);
	EXPECT_FLAGS(f, b, AM, NULL, t, CONSENT_CHILD_DIRECTED, CONSENT_OK);
	/* a known adult is fine either way */
	grant_aged(f, a, t + 5000, 1990, "CN", CONSENT_ACTOR_SUBJECT);
	EXPECT_FLAGS(f, a, AM, NULL, t + 5000, CONSENT_CHILD_DIRECTED, CONSENT_OK);
}

static void test_r15_guardian_and_child_disagree_protective_answer_wins(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym a = P(62, 1), b = P(63, 1);
	cr_time_ms t = T(t0s);
	struct consent_event r;

	/* guardian grants, the child refuses: refused */
	grant_aged(f, a, t, 2014, "CN", CONSENT_ACTOR_GUARDIAN);
	fx_rec(f, ev_answer(CONSENT_EV_REFUSE, a, AM, NULL, 1, t + 1000));
	EXPECT(f, a, AM, NULL, t + 2000, CONSENT_REFUSED);
	/* guardian refuses, the child grants: the child's grant needs a guardian */
	fx_rec(f, ev_served(b, 1, t - 1000));
	r = ev_answer(CONSENT_EV_REFUSE, b, AM, NULL, 1, t);
	r.actor = CONSENT_ACTOR_GUARDIAN;
	snprintf(r.guardian_ref, sizeof(r.guardian_ref), "guardian-8");
	r.birth_year = 2014;
	fx_rec(f, r);
	fx_rec(f, ev_grant(b, AM, NULL, 1, t + 1000));
	EXPECT(f, b, AM, NULL, t + 2000, CONSENT_GUARDIAN_REQUIRED);
}

/* ------------------------------------------------------------------ R16 */

/*
 * R16: born 2012, CN (14). Only the year is known, so, as for R15, the
 * subject is surely 14 from 2027-01-01T00:00:00Z, the instant their own
 * grant starts to count: the guardian's grant counts up to the millisecond
 * before and stops at it, until the subject confirms.
 */
static void test_r16_guardian_grant_stops_counting_at_the_threshold(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym a = P(70, 1);
	cr_time_ms birthday = T("2027-01-01T00:00:00Z");

	grant_aged(f, a, T(t0s), 2012, "CN", CONSENT_ACTOR_GUARDIAN);
	EXPECT(f, a, AM, NULL, T(t0s), CONSENT_OK);
	EXPECT(f, a, AM, NULL, birthday - 1, CONSENT_OK);
	EXPECT(f, a, AM, NULL, birthday, CONSENT_CONFIRMATION_REQUIRED);
	EXPECT(f, a, AM, NULL, T("2029-06-01T00:00:00Z"), CONSENT_CONFIRMATION_REQUIRED);
	/* the question about the past keeps its answer (R18) */
	EXPECT(f, a, AM, NULL, birthday - 1, CONSENT_OK);
	/* the EU's 16 holds the grant two years longer */
	{
		struct crypto_pseudonym b = P(71, 1);
		grant_aged(f, b, T(t0s), 2012, "EU", CONSENT_ACTOR_GUARDIAN);
		EXPECT(f, b, AM, NULL, T("2028-12-31T23:59:59.999Z"), CONSENT_OK);
		EXPECT(f, b, AM, NULL, T("2029-01-01T00:00:00Z"), CONSENT_CONFIRMATION_REQUIRED);
	}
	/* unknown age: the guardian's grant keeps counting */
	{
		struct crypto_pseudonym c = P(72, 1);
		grant_aged(f, c, T(t0s), 0, "CN", CONSENT_ACTOR_GUARDIAN);
		EXPECT(f, c, AM, NULL, T("2029-06-01T00:00:00Z"), CONSENT_OK);
	}
}

/* R16: the subject's own grant after coming of age restores the scope it
 * names, and only that one; a guardian's new grant does not. */
static void test_r16_subjects_own_confirmation_restores(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym a = P(73, 1);
	cr_time_ms later = T("2027-02-01T00:00:00Z");
	struct consent_event g = ev_grant(a, AI, NULL, 1, T(t0s) + 1000);

	grant_aged(f, a, T(t0s), 2012, "CN", CONSENT_ACTOR_GUARDIAN);
	g.actor = CONSENT_ACTOR_GUARDIAN;
	snprintf(g.guardian_ref, sizeof(g.guardian_ref), "guardian-7");
	fx_rec(f, g);
	EXPECT(f, a, AI, NULL, later, CONSENT_CONFIRMATION_REQUIRED);
	/* the guardian granting again after the birthday does not help */
	g.time = g.received = later;
	fx_rec(f, g);
	EXPECT(f, a, AI, NULL, later + 1, CONSENT_CONFIRMATION_REQUIRED);
	/* the subject confirms ads_measurement themselves */
	fx_rec(f, ev_served(a, 1, later));
	fx_rec(f, ev_grant(a, AM, NULL, 1, later + 1000));
	EXPECT(f, a, AM, NULL, later + 999, CONSENT_CONFIRMATION_REQUIRED);
	EXPECT(f, a, AM, NULL, later + 1000, CONSENT_OK);
	EXPECT(f, a, AI, NULL, later + 1000, CONSENT_CONFIRMATION_REQUIRED);
}

/* R16: a guardian may withdraw (and refuse) with no link at all: both only
 * ever protect. */
static void test_r16_guardian_may_withdraw(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym a = P(74, 1), b = P(75, 1);
	cr_time_ms t = T(t0s);
	struct consent_event w = ev_withdraw(a, AM, NULL, t + 5000), r;

	grant_aged(f, a, t, 2014, "CN", CONSENT_ACTOR_GUARDIAN);
	EXPECT(f, a, AM, NULL, t + 4999, CONSENT_OK);
	w.actor = CONSENT_ACTOR_GUARDIAN;
	snprintf(w.guardian_ref, sizeof(w.guardian_ref), "guardian-unlinked");
	fx_rec(f, w);
	EXPECT(f, a, AM, NULL, t + 5000, CONSENT_WITHDRAWN);
	fx_rec(f, ev_served(b, 1, t - 1000));
	r = ev_answer(CONSENT_EV_REFUSE, b, AM, NULL, 1, t);
	r.actor = CONSENT_ACTOR_GUARDIAN;
	snprintf(r.guardian_ref, sizeof(r.guardian_ref), "guardian-unlinked");
	r.birth_year = 2014;
	fx_rec(f, r);
	EXPECT(f, b, AM, NULL, t + 1, CONSENT_REFUSED);
}

/* ------------------------------------------------------------------ R18 */

static void test_r18_withdrawal_racing_an_ingest(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(70, 1);
	cr_time_ms t = T(t0s), tw = T("2026-06-01T12:00:00Z");

	fx_full_consent(f, p, t);
	fx_rec(f, ev_withdraw(p, NULL, NULL, tw));
	/* edge case 3: admitted at t_w - 1, denied at t_w */
	EXPECT(f, p, AM, NULL, tw - 1, CONSENT_OK);
	EXPECT(f, p, AM, NULL, tw, CONSENT_WITHDRAWN);
	EXPECT(f, p, AI, P1, tw - 1, CONSENT_OK);
	EXPECT(f, p, AI, P1, tw, CONSENT_WITHDRAWN);
}

static void test_r18_withdrawal_takes_effect_at_receipt_time(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(71, 1);
	cr_time_ms t = T(t0s), made = T("2026-06-01T12:00:00Z"), got = T("2026-06-02T08:00:00Z");
	struct consent_event w = ev_withdraw(p, AM, NULL, got);

	fx_full_consent(f, p, t);
	w.time = made; /* out of order: made before it was received */
	fx_rec(f, w);
	EXPECT(f, p, AM, NULL, made, CONSENT_OK);
	EXPECT(f, p, AM, NULL, got - 1, CONSENT_OK);
	EXPECT(f, p, AM, NULL, got, CONSENT_WITHDRAWN);
}

static void test_r18_withdraw_then_grant_again(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(72, 1);
	cr_time_ms t = T(t0s), tw = t + 86400000, tg = tw + 86400000;

	fx_full_consent(f, p, t);
	fx_rec(f, ev_withdraw(p, NULL, NULL, tw));
	fx_rec(f, ev_grant(p, AM, NULL, 1, tg));
	EXPECT(f, p, AM, NULL, tg - 1, CONSENT_WITHDRAWN);
	EXPECT(f, p, AM, NULL, tg, CONSENT_OK);
	/* only what was granted again */
	EXPECT(f, p, AI, NULL, tg, CONSENT_WITHDRAWN);
	/* the history still answers for the past (R18) */
	EXPECT(f, p, AI, NULL, tw - 1, CONSENT_OK);
}

static void test_r18_duplicate_withdrawals_are_idempotent(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(73, 1);
	cr_time_ms t = T(t0s), tw = t + 86400000;

	fx_full_consent(f, p, t);
	fx_rec(f, ev_withdraw(p, AM, NULL, tw));
	fx_rec(f, ev_withdraw(p, AM, NULL, tw + 5000));
	EXPECT(f, p, AM, NULL, tw, CONSENT_WITHDRAWN);
	EXPECT(f, p, AM, NULL, tw + 10000, CONSENT_WITHDRAWN);
	EXPECT(f, p, AI, NULL, tw + 10000, CONSENT_OK);
}

/* ------------------------------------------------------------------ R21 */

static void add_fraud_purpose(json_t *n)
{
	json_array_append_new(json_object_get(n, "purposes"),
			      json_pack("{s:s, s:s, s:b, s:b}", "code", "fraud_prevention",
					"description", "stop fraud", "sensitive", 0, "marketing",
					0));
}

static void test_r21_objection_blocks_marketing_whatever_consent_says(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(80, 1);
	cr_time_ms t = T(t0s), v2 = t + 1000000, to = t + 86400000;
	struct consent_event o;

	fx_full_consent(f, p, t);
	publish_v2(f, true, add_fraud_purpose, v2);
	fx_rec(f, ev_served(p, 2, v2 + 1));
	fx_rec(f, ev_grant(p, "fraud_prevention", NULL, 2, v2 + 2));
	consent_event_init(&o, CONSENT_EV_OBJECT);
	o.subject = p;
	o.time = o.received = to;
	snprintf(o.signal, sizeof(o.signal), "gpc");
	consent_event_source(&o, "web", "gpc");
	fx_rec(f, o);
	/* edge case 9: consent still given, matching denied */
	EXPECT(f, p, AM, NULL, to - 1, CONSENT_OK);
	EXPECT(f, p, AM, NULL, to, CONSENT_OBJECTED);
	EXPECT(f, p, AI, P1, to, CONSENT_OBJECTED);
	/* a purpose the notice marks "marketing": false is not blocked */
	EXPECT(f, p, "fraud_prevention", NULL, to, CONSENT_OK);
	/* a new affirmative grant after the objection counts */
	fx_rec(f, ev_served(p, 2, to + 1000));
	fx_rec(f, ev_grant(p, AM, NULL, 2, to + 2000));
	EXPECT(f, p, AM, NULL, to + 2000, CONSENT_OK);
}

/*
 * R18, edge case 3: a grant and a withdrawal (or a refusal) taking effect
 * at the same millisecond: the denial wins, whichever was stored first.
 */
static void test_r18_tie_with_a_grant_is_protective_whatever_the_order(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(90, 1), q = P(91, 1), r = P(92, 1);
	cr_time_ms t = T(t0s), tie = t + 60000;

	/* the withdrawal stored first, then a grant dated the same instant */
	fx_rec(f, ev_served(p, 1, t));
	fx_rec(f, ev_withdraw(p, NULL, NULL, tie));
	fx_rec(f, ev_grant(p, AM, NULL, 1, tie));
	EXPECT(f, p, AM, NULL, tie, CONSENT_WITHDRAWN);
	EXPECT(f, p, AM, NULL, tie + 1000, CONSENT_WITHDRAWN);
	/* the grant stored first */
	fx_rec(f, ev_served(q, 1, t));
	fx_rec(f, ev_grant(q, AM, NULL, 1, tie));
	fx_rec(f, ev_withdraw(q, NULL, NULL, tie));
	EXPECT(f, q, AM, NULL, tie, CONSENT_WITHDRAWN);
	/* a refusal at the grant's instant, stored after it */
	fx_rec(f, ev_served(r, 1, t));
	fx_rec(f, ev_grant(r, AM, NULL, 1, tie));
	fx_rec(f, ev_answer(CONSENT_EV_REFUSE, r, AM, NULL, 1, tie));
	EXPECT(f, r, AM, NULL, tie, CONSENT_REFUSED);
	/* a grant one millisecond later is a new act and counts */
	fx_rec(f, ev_grant(p, AM, NULL, 1, tie + 1));
	EXPECT(f, p, AM, NULL, tie + 1, CONSENT_OK);
}

/* R21: an objection received at the grant's exact millisecond blocks it. */
static void test_r21_objection_at_the_grant_instant_blocks(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(93, 1);
	cr_time_ms t = T(t0s), tie = t + 60000;
	struct consent_event o;

	fx_rec(f, ev_served(p, 1, t));
	consent_event_init(&o, CONSENT_EV_OBJECT);
	o.subject = p;
	o.time = o.received = tie;
	snprintf(o.signal, sizeof(o.signal), "gpc");
	consent_event_source(&o, "web", "gpc");
	fx_rec(f, o);
	fx_rec(f, ev_grant(p, AM, NULL, 1, tie));
	EXPECT(f, p, AM, NULL, tie, CONSENT_OBJECTED);
	/* a grant after the objection is a new affirmative act */
	fx_rec(f, ev_grant(p, AM, NULL, 1, tie + 1));
	EXPECT(f, p, AM, NULL, tie + 1, CONSENT_OK);
}

/* ------------------------------------------------------------------ R33 */

static void test_r33_reupload_under_older_key_is_suppressed(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym cur = P(90, 2), old = P(91, 1);
	cr_time_ms t = T(t0s), tw = t + 86400000;
	struct consent_event w = ev_withdraw(cur, NULL, NULL, tw);
	bool s = false;

	fx_full_consent(f, cur, t);
	w.n_aliases = 1;
	w.aliases[0] = old;
	fx_rec(f, w);
	/* edge case 10: the same subject under key version 1 */
	EXPECT(f, old, AM, NULL, tw, CONSENT_SUPPRESSED);
	EXPECT(f, old, AM, NULL, tw - 1, CONSENT_NOT_GIVEN);
	assert_int_equal(consent_suppressed_at(f->ctx, f->brand, &old, AM, NULL, tw, &s), CR_OK);
	assert_true(s);
	assert_int_equal(consent_suppressed_at(f->ctx, f->brand, &cur, AI, P1, tw, &s), CR_OK);
	assert_true(s);
	/* under the same key: withdrawn, and suppressed */
	EXPECT(f, cur, AM, NULL, tw, CONSENT_WITHDRAWN);
	/* a fresh grant lifts the suppression for its scope only */
	fx_rec(f, ev_grant(cur, AM, NULL, 1, tw + 1000));
	EXPECT(f, cur, AM, NULL, tw + 1000, CONSENT_OK);
	assert_int_equal(consent_suppressed_at(f->ctx, f->brand, &cur, AM, NULL, tw + 1000, &s),
			 CR_OK);
	assert_false(s);
	assert_int_equal(consent_suppressed_at(f->ctx, f->brand, &cur, AI, NULL, tw + 1000, &s),
			 CR_OK);
	assert_true(s);
	/* stale data under the old key has no new grant: still refused */
	EXPECT(f, old, AM, NULL, tw + 1000, CONSENT_SUPPRESSED);
}

/* ----------------------------------------------------------------- caches */

static void test_decisions_see_changes_made_through_another_context(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(100, 1);
	struct consent_ctx *other;
	struct consent_event w = ev_withdraw(p, NULL, NULL, T(t0s) + 5000);
	cr_time_ms t = T(t0s);

	fx_full_consent(f, p, t);
	EXPECT(f, p, AM, NULL, t + 10000, CONSENT_OK);
	assert_int_equal(consent_ctx_new(f->db, &other), CR_OK);
	consent_set_purge_callback(other, fx_purge, f);
	assert_int_equal(consent_withdraw(other, f->brand, &w, NULL, NULL, 0), CR_OK);
	consent_ctx_free(other);
	EXPECT(f, p, AM, NULL, t + 10000, CONSENT_WITHDRAWN);
}

/* Two connections a and b to a fresh WAL database file at `path` (a
 * mkstemp template), brand acme with a notice, and subject p's full
 * consent from t, recorded through a. */
static void two_connections(char *path, struct fx *a, struct fx *b, struct crypto_pseudonym p, cr_time_ms t)
{
	char why[CONSENT_WHY_MAX];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sqlite3_open(path, &a->db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(a->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(a->db, consent_schema_v1, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(a->db, consent_schema_v2, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(a->db, consent_schema_v4, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(consent_ctx_new(a->db, &a->ctx), CR_OK);
	assert_int_equal(consent_brand_create(a->ctx, "acme", 0, &a->brand), CR_OK);
	assert_int_equal(fx_publish_json(a, notice_base(1, true), 0, why, sizeof(why)), CR_OK);
	fx_full_consent(a, p, t);
	assert_int_equal(sqlite3_open(path, &b->db), SQLITE_OK);
	assert_int_equal(consent_ctx_new(b->db, &b->ctx), CR_OK);
	consent_set_purge_callback(b->ctx, fx_purge, b);
	b->brand = a->brand;
}

static void two_connections_close(const char *path, struct fx *a, struct fx *b)
{
	consent_ctx_free(b->ctx);
	sqlite3_close(b->db);
	consent_ctx_free(a->ctx);
	sqlite3_close(a->db);
	unlink(path);
	for (size_t i = 0; i < 2; i++) {
		char side[64];
		snprintf(side, sizeof(side), "%s%s", path, i ? "-shm" : "-wal");
		unlink(side);
	}
}

/* In a snapshot (consent_ctx_snapshot) the caches are reused without
 * asking SQLite; a commit made between two snapshots is still seen in the
 * second: a cache filled in one snapshot is never trusted in the next, nor
 * one filled outside any. */
static void test_snapshot_caches_do_not_outlive_their_snapshot(void **state)
{
	char path[] = "/tmp/consent-snap-XXXXXX";
	struct fx a = { 0 }, b = { 0 };
	struct crypto_pseudonym p = P(102, 1);
	cr_time_ms t = T(t0s), tw = t + 5000;
	(void)state;

	two_connections(path, &a, &b, p, t);

	/* filled outside a snapshot, then the other connection withdraws */
	EXPECT(&a, p, AM, NULL, tw, CONSENT_OK);
	fx_rec(&b, ev_withdraw(p, NULL, NULL, tw));
	assert_int_equal(sqlite3_exec(a.db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	consent_ctx_snapshot(a.ctx, true);
	EXPECT(&a, p, AM, NULL, tw, CONSENT_WITHDRAWN);
	EXPECT(&a, p, AM, NULL, tw, CONSENT_WITHDRAWN); /* from the caches */
	consent_ctx_snapshot(a.ctx, false);
	assert_int_equal(sqlite3_exec(a.db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	/* between two snapshots the other connection grants again */
	fx_rec(&b, ev_grant(p, AM, NULL, 1, tw + 1000));
	assert_int_equal(sqlite3_exec(a.db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	consent_ctx_snapshot(a.ctx, true);
	EXPECT(&a, p, AM, NULL, tw + 1000, CONSENT_OK);
	consent_ctx_snapshot(a.ctx, false);
	assert_int_equal(sqlite3_exec(a.db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	/* and after it, outside any snapshot */
	fx_rec(&b, ev_withdraw(p, NULL, NULL, tw + 2000));
	EXPECT(&a, p, AM, NULL, tw + 2000, CONSENT_WITHDRAWN);

	two_connections_close(path, &a, &b);
}

/* Another connection's commit is seen at once, with or without an open
 * transaction on ours (the caches are checked against a fresh read). */
static void test_decisions_see_commits_of_another_connection(void **state)
{
	char path[] = "/tmp/consent-conn-XXXXXX";
	struct fx a = { 0 }, b = { 0 };
	struct crypto_pseudonym p = P(101, 1);
	cr_time_ms t = T(t0s), tw = t + 5000;
	(void)state;

	two_connections(path, &a, &b, p, t);
	EXPECT(&a, p, AM, NULL, tw, CONSENT_OK);
	fx_rec(&b, ev_withdraw(p, NULL, NULL, tw));
	EXPECT(&a, p, AM, NULL, tw, CONSENT_WITHDRAWN);
	/* a deferred transaction on ours, begun before the other's commit */
	assert_int_equal(sqlite3_exec(a.db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	fx_rec(&b, ev_grant(p, AM, NULL, 1, tw + 1000));
	EXPECT(&a, p, AM, NULL, tw + 1000, CONSENT_OK);
	assert_int_equal(sqlite3_exec(a.db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);

	two_connections_close(path, &a, &b);
}

static void test_reason_names_are_stable(void **state)
{
	(void)state;
	assert_string_equal(consent_reason_name(CONSENT_OK), "OK");
	assert_string_equal(consent_reason_name(CONSENT_NO_NOTICE_SERVED), "NO_NOTICE_SERVED");
	assert_string_equal(consent_reason_name(CONSENT_WITHDRAWN), "WITHDRAWN");
	assert_string_equal(consent_reason_name(CONSENT_GUARDIAN_REQUIRED), "GUARDIAN_REQUIRED");
	assert_string_equal(consent_reason_name(CONSENT_UNKNOWN_RECIPIENT), "UNKNOWN_RECIPIENT");
	assert_string_equal(consent_reason_name(CONSENT_REASON_COUNT), "UNKNOWN");
	for (int r = 0; r < CONSENT_REASON_COUNT; r++)
		assert_non_null(consent_reason_name((enum consent_reason)r));
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_r01_no_consent_event_denies_not_given),
		TEST(test_r01_refused_denies),
		TEST(test_r01_decision_is_per_subject_purpose_recipient_and_time),
		TEST(test_r01_unknown_purpose_and_recipient),
		TEST(test_r02_keyed_pseudonym_gets_every_rule),
		TEST(test_r05_grant_before_notice_served_is_invalid),
		TEST(test_r05_version_is_current_only_from_its_publication),
		TEST(test_r05_grant_at_or_after_served_time_is_valid),
		TEST(test_r05_grant_without_served_event_is_invalid),
		TEST(test_r05_served_event_of_another_version_does_not_count),
		TEST(test_r05_served_version_must_be_current_when_served),
		TEST(test_r05_new_version_published_between_serve_and_grant),
		TEST(test_r06_wording_only_change_keeps_grants),
		TEST(test_r06_material_change_of_recipient_needs_new_grant),
		TEST(test_r06_material_new_category_covers_every_purpose),
		TEST(test_r06_material_change_new_purpose_and_recipient),
		TEST(test_r09_sharing_needs_its_own_grant_naming_the_recipient),
		TEST(test_r09_withdrawing_sharing_keeps_the_purpose),
		TEST(test_r14_expiry_exactly_at_the_boundary),
		TEST(test_r14_expire_event_ends_the_grant),
		TEST(test_r15_cn_under_14_needs_a_guardian),
		TEST(test_r15_child_turns_14_in_cn),
		TEST(test_r15_eu_threshold_defaults_to_16_and_is_configurable),
		TEST(test_r15_unknown_or_dual_jurisdiction_takes_the_stricter_rule),
		TEST(test_r15_unknown_age_denies_in_child_directed_dataset),
		TEST(test_r15_strictest_of_every_jurisdiction_that_applies),
		TEST(test_r15_youngest_stated_birth_year_wins),
		TEST(test_r15_guardian_and_child_disagree_protective_answer_wins),
		TEST(test_r16_guardian_grant_stops_counting_at_the_threshold),
		TEST(test_r16_subjects_own_confirmation_restores),
		TEST(test_r16_guardian_may_withdraw),
		TEST(test_r18_withdrawal_racing_an_ingest),
		TEST(test_r18_withdrawal_takes_effect_at_receipt_time),
		TEST(test_r18_withdraw_then_grant_again),
		TEST(test_r18_duplicate_withdrawals_are_idempotent),
		TEST(test_r21_objection_blocks_marketing_whatever_consent_says),
		TEST(test_r18_tie_with_a_grant_is_protective_whatever_the_order),
		TEST(test_r21_objection_at_the_grant_instant_blocks),
		TEST(test_r33_reupload_under_older_key_is_suppressed),
		TEST(test_decisions_see_changes_made_through_another_context),
		cmocka_unit_test(test_decisions_see_commits_of_another_connection),
		cmocka_unit_test(test_snapshot_caches_do_not_outlive_their_snapshot),
		TEST(test_reason_names_are_stable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
