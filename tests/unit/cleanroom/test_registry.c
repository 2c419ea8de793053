/* Unit tests for cleanroom/registry.c through the real code: the ingest
 * gate's per-recipient sharing consent (PIPL 23, R09, I2) and the purge a
 * withdrawal runs (registry_purge, R19, I3, R33). Consent events go through
 * registry_event, datasets through ops_dataset_create and lists through
 * ops_ingest, as the CLI and the service run them (registry_fixture.h); no
 * stand-in gate or purge callback. Subjects are made-up example.com
 * addresses. */
#include <time.h>

#include "registry_fixture.h"

/* ================================================================ the gate */

static const char *const gate_people[] = {
	"purpose-only@example.com",  /* line 2: (a) purpose grants only */
	"other-partner@example.com", /* line 3: (b) + sharing with partner-2 */
	"shared@example.com",        /* line 4: (c) + sharing with partner-1 */
	"no-ads@example.com",        /* line 5: (d) sharing with partner-1, no ads_measurement */
	"no-insights@example.com",   /* line 6: (d) sharing with partner-1, no audience_insights */
	"unshared@example.com",      /* line 7: (e) withdrew only the partner-1 sharing */
};

static int gate_setup(void **state)
{
	struct rfx *f = rfx_new();
	cr_time_ms t = f->t0 - 2 * RFX_HOUR, g = t + 1000;
	for (size_t i = 0; i < 6; i++)
		rfx_served(f, f->acme, gate_people[i], t);
	rfx_grant(f, f->acme, gate_people[0], "ads_measurement", NULL, g, 0);
	rfx_grant(f, f->acme, gate_people[0], "audience_insights", NULL, g, 0);
	rfx_grant(f, f->acme, gate_people[1], "ads_measurement", NULL, g, 0);
	rfx_grant(f, f->acme, gate_people[1], "audience_insights", NULL, g, 0);
	rfx_grant(f, f->acme, gate_people[1], "audience_insights", "partner-2", g, 0);
	rfx_grant(f, f->acme, gate_people[2], "ads_measurement", NULL, g, 0);
	rfx_grant(f, f->acme, gate_people[2], "audience_insights", NULL, g, 0);
	rfx_grant(f, f->acme, gate_people[2], "audience_insights", "partner-1", g, 0);
	rfx_grant(f, f->acme, gate_people[3], "audience_insights", NULL, g, 0);
	rfx_grant(f, f->acme, gate_people[3], "audience_insights", "partner-1", g, 0);
	rfx_grant(f, f->acme, gate_people[4], "ads_measurement", NULL, g, 0);
	rfx_grant(f, f->acme, gate_people[4], "audience_insights", "partner-1", g, 0);
	rfx_grant(f, f->acme, gate_people[5], "ads_measurement", NULL, g, 0);
	rfx_grant(f, f->acme, gate_people[5], "audience_insights", NULL, g, 0);
	rfx_grant(f, f->acme, gate_people[5], "audience_insights", "partner-1", g, 0);
	rfx_withdraw(f, f->acme, gate_people[5], "audience_insights", "partner-1", NULL);
	*state = f;
	return 0;
}

static int rfx_teardown(void **state)
{
	rfx_free(*state);
	return 0;
}

static const char gate_csv[] =
	"email,segment\n"
	"purpose-only@example.com,a\n"
	"other-partner@example.com,a\n"
	"shared@example.com,a\n"
	"no-ads@example.com,a\n"
	"no-insights@example.com,a\n"
	"unshared@example.com,a\n";

static uint64_t reason_count(const struct ingest_report *rep, const char *name)
{
	for (size_t i = 0; i < rep->nreasons; i++)
		if (strcmp(rep->reasons[i].name, name) == 0)
			return rep->reasons[i].count;
	return 0;
}

/*
 * PIPL 23, R09, I2: a dataset shared with partner-1 admits only a subject
 * with every purpose granted AND the separate sharing consent naming
 * partner-1; a sharing grant for partner-2, a missing purpose, or a
 * withdrawn partner-1 sharing each keep the record out, with its reason.
 */
static void test_r09_i2_gate_needs_sharing_consent_for_the_datasets_recipient(void **state)
{
	struct rfx *f = *state;
	struct dataset d;
	struct ingest_report rep;
	char reason[40];
	rfx_dataset(f, f->acme, "acme", "shared", "ads_measurement,audience_insights", "partner-1", &d);
	rfx_ingest(f, "acme", &d, gate_csv, &rep);
	assert_int_equal(rep.read, 6);
	assert_int_equal(rep.accepted, 1);
	assert_int_equal(rep.replaced, 0);
	assert_int_equal(rfx_count(f, &d), 1);
	assert_true(rfx_has(f, &d, "shared@example.com"));
	/* (a), (b), (d), (d): no consent, each for a scope never granted */
	assert_int_equal(rep.rejected[INGEST_NO_CONSENT].count, 4);
	assert_int_equal(rep.rejected[INGEST_NO_CONSENT].nlines, 4);
	assert_int_equal(rep.rejected[INGEST_NO_CONSENT].lines[0], 2);
	assert_int_equal(rep.rejected[INGEST_NO_CONSENT].lines[1], 3);
	assert_int_equal(rep.rejected[INGEST_NO_CONSENT].lines[2], 5);
	assert_int_equal(rep.rejected[INGEST_NO_CONSENT].lines[3], 6);
	assert_int_equal(rep.nreasons, 1);
	assert_int_equal(reason_count(&rep, "NOT_GIVEN"), 4);
	/* (e): the withdrawn sharing put it on the suppression list (R33) */
	assert_int_equal(rep.rejected[INGEST_SUPPRESSED].count, 1);
	assert_int_equal(rep.rejected[INGEST_SUPPRESSED].lines[0], 7);
	assert_int_equal(rep.rejected[INGEST_INVALID_IDENTIFIER].count, 0);
	assert_int_equal(rep.rejected[INGEST_INVALID_ATTRIBUTE].count, 0);

	/* the same answers from the gate itself, subject by subject */
	assert_int_equal(rfx_gate(f, &d, gate_people[0], reason), INGEST_DENY);
	assert_string_equal(reason, "NOT_GIVEN");
	assert_int_equal(rfx_gate(f, &d, gate_people[1], reason), INGEST_DENY);
	assert_string_equal(reason, "NOT_GIVEN");
	assert_int_equal(rfx_gate(f, &d, gate_people[2], reason), INGEST_ALLOW);
	assert_int_equal(rfx_gate(f, &d, gate_people[3], reason), INGEST_DENY);
	assert_string_equal(reason, "NOT_GIVEN");
	assert_int_equal(rfx_gate(f, &d, gate_people[4], reason), INGEST_DENY);
	assert_string_equal(reason, "NOT_GIVEN");
	assert_int_equal(rfx_gate(f, &d, gate_people[5], reason), INGEST_DENY_SUPPRESSED);
	assert_string_equal(reason, "SUPPRESSED");
}

/*
 * The sharing requirement comes from the dataset's recipients: the same
 * list into a dataset with the same purposes and no recipient admits every
 * subject whose purposes are granted, (e) included (its withdrawal named
 * only the sharing), and still refuses the two with a purpose missing.
 */
static void test_r09_i2_dataset_without_recipient_needs_only_the_purposes(void **state)
{
	struct rfx *f = *state;
	struct dataset d;
	struct ingest_report rep;
	rfx_dataset(f, f->acme, "acme", "inhouse", "ads_measurement,audience_insights", NULL, &d);
	rfx_ingest(f, "acme", &d, gate_csv, &rep);
	assert_int_equal(rep.accepted, 4);
	assert_int_equal(rfx_count(f, &d), 4);
	assert_true(rfx_has(f, &d, "unshared@example.com"));
	assert_int_equal(rep.rejected[INGEST_NO_CONSENT].count, 2);
	assert_int_equal(rep.rejected[INGEST_NO_CONSENT].lines[0], 5);
	assert_int_equal(rep.rejected[INGEST_NO_CONSENT].lines[1], 6);
	assert_int_equal(reason_count(&rep, "NOT_GIVEN"), 2);
	assert_int_equal(rep.rejected[INGEST_SUPPRESSED].count, 0);
}

/* ================================================================ the purge */

static const char *const people[] = {
	"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com",
};
#define NPEOPLE 4

/* Every acme dataset shape a withdrawal can touch, and two of brand "other". */
struct pfx {
	struct rfx *f;
	struct dataset ads;      /* ads_measurement */
	struct dataset insights; /* audience_insights */
	struct dataset both;     /* ads_measurement, audience_insights */
	struct dataset p1;       /* audience_insights, shared with partner-1 */
	struct dataset p2;       /* audience_insights, shared with partner-2 */
	struct dataset o_ads, o_p1;
};

static const char people_csv[] =
	"email,segment\n"
	"alice@example.com,a\n"
	"bob@example.com,b\n"
	"carol@example.com,a\n"
	"dave@example.com,b\n";

static void ingest_people(struct rfx *f, const char *brand, const struct dataset *d)
{
	struct ingest_report rep;
	rfx_ingest(f, brand, d, people_csv, &rep);
	assert_int_equal(rep.accepted, NPEOPLE);
	assert_int_equal(rfx_count(f, d), NPEOPLE);
}

/* Everyone granted everything two hours ago, in both brands; every dataset holds all four. */
static int purge_setup(void **state)
{
	struct pfx *p = calloc(1, sizeof(*p));
	struct rfx *f = rfx_new();
	assert_non_null(p);
	p->f = f;
	for (size_t i = 0; i < NPEOPLE; i++) {
		rfx_grant_all(f, f->acme, people[i], f->t0 - 2 * RFX_HOUR, 0);
		rfx_grant_all(f, f->other, people[i], f->t0 - 2 * RFX_HOUR, 0);
	}
	rfx_dataset(f, f->acme, "acme", "ads", "ads_measurement", NULL, &p->ads);
	rfx_dataset(f, f->acme, "acme", "insights", "audience_insights", NULL, &p->insights);
	rfx_dataset(f, f->acme, "acme", "both", "ads_measurement,audience_insights", NULL, &p->both);
	rfx_dataset(f, f->acme, "acme", "p1", "audience_insights", "partner-1", &p->p1);
	rfx_dataset(f, f->acme, "acme", "p2", "audience_insights", "partner-2", &p->p2);
	rfx_dataset(f, f->other, "other", "ads", "ads_measurement", NULL, &p->o_ads);
	rfx_dataset(f, f->other, "other", "p1", "audience_insights", "partner-1", &p->o_p1);
	ingest_people(f, "acme", &p->ads);
	ingest_people(f, "acme", &p->insights);
	ingest_people(f, "acme", &p->both);
	ingest_people(f, "acme", &p->p1);
	ingest_people(f, "acme", &p->p2);
	ingest_people(f, "other", &p->o_ads);
	ingest_people(f, "other", &p->o_p1);
	*state = p;
	return 0;
}

static int purge_teardown(void **state)
{
	struct pfx *p = *state;
	rfx_free(p->f);
	free(p);
	return 0;
}

/* Exact record counts of the five acme datasets; the other brand's stay whole. */
static void assert_counts(struct pfx *p, uint64_t ads, uint64_t insights, uint64_t both, uint64_t p1, uint64_t p2)
{
	assert_int_equal(rfx_count(p->f, &p->ads), ads);
	assert_int_equal(rfx_count(p->f, &p->insights), insights);
	assert_int_equal(rfx_count(p->f, &p->both), both);
	assert_int_equal(rfx_count(p->f, &p->p1), p1);
	assert_int_equal(rfx_count(p->f, &p->p2), p2);
	assert_int_equal(rfx_count(p->f, &p->o_ads), NPEOPLE);
	assert_int_equal(rfx_count(p->f, &p->o_p1), NPEOPLE);
	for (size_t i = 0; i < NPEOPLE; i++) {
		assert_true(rfx_has(p->f, &p->o_ads, people[i]));
		assert_true(rfx_has(p->f, &p->o_p1, people[i]));
	}
}

/* Only the withdrawing subject's records may go: everyone else is in every acme dataset. */
static void assert_others_kept(struct pfx *p, const char *who)
{
	const struct dataset *all[] = { &p->ads, &p->insights, &p->both, &p->p1, &p->p2 };
	for (size_t k = 0; k < 5; k++)
		for (size_t i = 0; i < NPEOPLE; i++)
			if (strcmp(people[i], who) != 0 && !rfx_has(p->f, all[k], people[i]))
				fail_msg("%s lost %s's record", all[k]->name, people[i]);
}

/*
 * I5: the withdrawal's leaf (the newest consent.withdraw of acme) and, right
 * after it, its consent.purge leaf, which alone reports what the purge did
 * (I9: the withdrawal's own leaf, quoted by receipts, says nothing of it).
 */
static void assert_withdraw_leaf(struct pfx *p, const struct consent_change *c, uint64_t purged)
{
	struct audit_page page, purge;
	char want[128];
	rfx_leaves(p->f, "acme", "consent.withdraw", &page);
	rfx_leaves(p->f, "acme", "consent.purge", &purge);
	assert_true(page.n >= 1);
	assert_true(purge.n >= 1);
	snprintf(want, sizeof(want), "suppressed=%u", c->suppressed);
	assert_string_equal(page.records[0].leaf->detail, want);
	assert_true(page.records[0].leaf->has_subject);
	snprintf(want, sizeof(want), "purged_records=%llu", (unsigned long long)purged);
	assert_string_equal(purge.records[0].leaf->detail, want);
	assert_false(purge.records[0].leaf->has_subject);
	assert_int_equal(purge.records[0].index, page.records[0].index + 1);
	audit_page_release(&page);
	audit_page_release(&purge);
}

/* A re-upload of `who` (written differently) and of bob: who is refused as suppressed (R33), bob replaced. */
static void assert_reupload_suppressed(struct pfx *p, const struct dataset *d, const char *upper)
{
	struct ingest_report rep;
	char csv[160];
	uint64_t before = rfx_count(p->f, d);
	snprintf(csv, sizeof(csv), "email,segment\n %s ,b\nbob@example.com,b\n", upper);
	rfx_ingest(p->f, "acme", d, csv, &rep);
	assert_int_equal(rep.read, 2);
	assert_int_equal(rep.accepted, 1);
	assert_int_equal(rep.replaced, 1);
	assert_int_equal(rep.rejected[INGEST_SUPPRESSED].count, 1);
	assert_int_equal(rep.rejected[INGEST_SUPPRESSED].lines[0], 2);
	assert_int_equal(rep.rejected[INGEST_NO_CONSENT].count, 0);
	assert_int_equal(rfx_count(p->f, d), before);
}

/*
 * R19, I3: a withdrawal of everything deletes the subject's record in
 * every dataset of the brand, and only that subject's; the other brand is
 * untouched; the leaf reports 5 purged records; from then on the gate
 * denies and a re-upload is refused as suppressed (R33).
 */
static void test_r19_i3_full_withdrawal_purges_every_dataset_of_the_brand(void **state)
{
	struct pfx *p = *state;
	const struct dataset *all[] = { &p->ads, &p->insights, &p->both, &p->p1, &p->p2 };
	struct consent_change c;
	char reason[40];
	uint64_t purged = rfx_withdraw(p->f, p->f->acme, "alice@example.com", NULL, NULL, &c);
	assert_false(c.duplicate);
	assert_int_equal(c.suppressed, 1);
	assert_int_equal(purged, 5);
	assert_counts(p, 3, 3, 3, 3, 3);
	assert_others_kept(p, "alice@example.com");
	assert_withdraw_leaf(p, &c, 5);
	for (size_t k = 0; k < 5; k++) {
		assert_false(rfx_has(p->f, all[k], "alice@example.com"));
		assert_int_equal(rfx_gate(p->f, all[k], "alice@example.com", reason), INGEST_DENY_SUPPRESSED);
		assert_string_equal(reason, "SUPPRESSED");
	}
	/* another brand's consent is its own (R32): alice stays admitted there */
	assert_int_equal(rfx_gate(p->f, &p->o_p1, "alice@example.com", reason), INGEST_ALLOW);
	assert_reupload_suppressed(p, &p->ads, "ALICE@Example.com");
	assert_reupload_suppressed(p, &p->p1, "Alice@EXAMPLE.com");
	/* another withdrawal of the same scope is stored and purges again, finding nothing (§5.2) */
	{
		struct consent_change again;
		assert_int_equal(rfx_withdraw(p->f, p->f->acme, "alice@example.com", NULL, NULL, &again), 0);
		assert_false(again.duplicate);
		assert_withdraw_leaf(p, &again, 0);
		assert_counts(p, 3, 3, 3, 3, 3);
	}
}

/*
 * R19 edge case 4: withdrawing ads_measurement deletes the record from
 * every dataset that needs it ("both" too, though its other purpose is
 * still granted) and keeps it in the datasets that need only
 * audience_insights, which stays valid.
 */
static void test_r19_partial_withdrawal_keeps_datasets_of_other_purposes(void **state)
{
	struct pfx *p = *state;
	struct consent_change c;
	char reason[40];
	uint64_t purged = rfx_withdraw(p->f, p->f->acme, "alice@example.com", "ads_measurement", NULL, &c);
	assert_int_equal(purged, 2);
	assert_counts(p, 3, 4, 3, 4, 4);
	assert_false(rfx_has(p->f, &p->ads, "alice@example.com"));
	assert_false(rfx_has(p->f, &p->both, "alice@example.com"));
	assert_true(rfx_has(p->f, &p->insights, "alice@example.com"));
	assert_true(rfx_has(p->f, &p->p1, "alice@example.com"));
	assert_true(rfx_has(p->f, &p->p2, "alice@example.com"));
	assert_others_kept(p, "alice@example.com");
	assert_withdraw_leaf(p, &c, 2);
	assert_int_equal(rfx_gate(p->f, &p->ads, "alice@example.com", reason), INGEST_DENY_SUPPRESSED);
	assert_int_equal(rfx_gate(p->f, &p->both, "alice@example.com", reason), INGEST_DENY_SUPPRESSED);
	assert_int_equal(rfx_gate(p->f, &p->insights, "alice@example.com", reason), INGEST_ALLOW);
	assert_reupload_suppressed(p, &p->ads, "ALICE@example.com");
}

/*
 * R19, R09: withdrawing only the sharing of audience_insights with
 * partner-2 deletes the record from the dataset shared with partner-2 and
 * keeps it everywhere else, including the datasets that need
 * audience_insights, which the withdrawal also reaches (the purge re-checks
 * them and finds them still covered).
 */
static void test_r19_r09_withdrawing_one_sharing_keeps_the_purpose(void **state)
{
	struct pfx *p = *state;
	struct consent_change c;
	char reason[40];
	uint64_t purged = rfx_withdraw(p->f, p->f->acme, "alice@example.com", "audience_insights", "partner-2", &c);
	assert_int_equal(purged, 1);
	assert_counts(p, 4, 4, 4, 4, 3);
	assert_false(rfx_has(p->f, &p->p2, "alice@example.com"));
	assert_true(rfx_has(p->f, &p->p1, "alice@example.com"));
	assert_true(rfx_has(p->f, &p->insights, "alice@example.com"));
	assert_true(rfx_has(p->f, &p->both, "alice@example.com"));
	assert_others_kept(p, "alice@example.com");
	assert_withdraw_leaf(p, &c, 1);
	assert_int_equal(rfx_gate(p->f, &p->p2, "alice@example.com", reason), INGEST_DENY_SUPPRESSED);
	assert_int_equal(rfx_gate(p->f, &p->p1, "alice@example.com", reason), INGEST_ALLOW);
	assert_reupload_suppressed(p, &p->p2, "ALICE@example.com");
}

/*
 * R19 (§5.1): a withdrawal naming only a recipient ends the sharing with
 * partner-1 under every purpose: the dataset shared with partner-1 loses
 * the record; the one shared with partner-2 and the unshared ones keep it;
 * the other brand's partner-1 dataset is untouched.
 */
static void test_r19_recipient_only_withdrawal_purges_datasets_shared_with_it(void **state)
{
	struct pfx *p = *state;
	struct consent_change c;
	char reason[40];
	uint64_t purged = rfx_withdraw(p->f, p->f->acme, "alice@example.com", NULL, "partner-1", &c);
	assert_int_equal(purged, 1);
	assert_counts(p, 4, 4, 4, 3, 4);
	assert_false(rfx_has(p->f, &p->p1, "alice@example.com"));
	assert_true(rfx_has(p->f, &p->p2, "alice@example.com"));
	assert_others_kept(p, "alice@example.com");
	assert_withdraw_leaf(p, &c, 1);
	assert_int_equal(rfx_gate(p->f, &p->p1, "alice@example.com", reason), INGEST_DENY_SUPPRESSED);
	assert_int_equal(rfx_gate(p->f, &p->p2, "alice@example.com", reason), INGEST_ALLOW);
	assert_reupload_suppressed(p, &p->p1, "ALICE@example.com");
}

/*
 * R21: a marketing objection purges at once, in its transaction, every
 * record it forbids (every purpose of the notice is marketing by default),
 * and its leaf counts them; nothing is left for the sweep.
 */
static void test_r21_objection_purges_at_once(void **state)
{
	struct pfx *p = *state;
	struct sweep_report rep;
	struct audit_page page;
	char want[64];
	rfx_object(p->f, p->f->acme, "dave@example.com");
	assert_counts(p, 3, 3, 3, 3, 3);
	assert_others_kept(p, "dave@example.com");
	rfx_leaves(p->f, "acme", "consent.purge", &page);
	assert_true(page.n >= 1);
	snprintf(want, sizeof(want), "purged_records=%d", 5);
	assert_non_null(strstr(page.records[0].leaf->detail, want));
	audit_page_release(&page);
	assert_int_equal(sweep_run(p->f->a, p->f->acme, cr_time_now(), &rep), CR_OK);
	assert_int_equal(rep.removed, 0);
}

/* An expire event for one of the subject's purposes, received now (it purges nothing). */
static void expire_purpose(struct rfx *f, const char *email, const char *purpose)
{
	struct consent_event ev;
	char why[CONSENT_WHY_MAX] = "";
	consent_event_init(&ev, CONSENT_EV_EXPIRE);
	assert_int_equal(registry_subject(f->a, f->acme, email, "email", &ev.subject, ev.aliases, &ev.n_aliases),
			 CR_OK);
	snprintf(ev.purpose, sizeof(ev.purpose), "%s", purpose);
	ev.time = ev.received = cr_time_now();
	consent_event_source(&ev, "test", "test");
	if (registry_event(f->a, &rfx_actor, f->acme, &ev, NULL, NULL, why, sizeof(why)) != CR_OK)
		fail_msg("expire refused: %s", why);
}

/*
 * §5.3: the purge takes only the datasets the withdrawal can affect. dave's
 * ads_measurement grant expired (the gate denies him in "ads" and "both",
 * and an expiry purges nothing); his later withdrawal of the partner-1
 * sharing purges the partner-1 dataset only and its leaf counts only that;
 * the records the expiry made unusable are the sweep's, which removes them.
 */
static void test_r19_partial_withdrawal_leaves_other_datasets_to_the_sweep(void **state)
{
	struct pfx *p = *state;
	struct consent_change c;
	struct sweep_report rep;
	char reason[40];
	uint64_t purged;
	expire_purpose(p->f, "dave@example.com", "ads_measurement");
	assert_counts(p, 4, 4, 4, 4, 4);
	assert_int_equal(rfx_gate(p->f, &p->ads, "dave@example.com", reason), INGEST_DENY);
	assert_string_equal(reason, "EXPIRED");
	purged = rfx_withdraw(p->f, p->f->acme, "dave@example.com", NULL, "partner-1", &c);
	assert_int_equal(purged, 1);
	assert_counts(p, 4, 4, 4, 3, 4);
	assert_withdraw_leaf(p, &c, 1);
	assert_int_equal(sweep_run(p->f->a, p->f->acme, cr_time_now(), &rep), CR_OK);
	assert_int_equal(rep.removed, 2);
	assert_counts(p, 3, 4, 3, 3, 4);
	assert_others_kept(p, "dave@example.com");
}

/*
 * R16 through the orchestrator: a link is keyed by the child's pseudonym,
 * audited once ("guardian.link", no guardian in the leaf), the same link
 * again writes nothing, and an import's guardian_link line lets the
 * guardian's grant on the next line in, with its own leaf.
 */
static void test_r16_guardian_link_is_audited_and_keyed_by_pseudonym(void **state)
{
	struct rfx *f = *state;
	struct crypto_pseudonym p = rfx_pseudonym(f, f->acme, "kid@example.com");
	struct consent_guardian_link l = { .child = p, .verified = f->t0 };
	struct consent_import_summary sum;
	char why[CONSENT_WHY_MAX] = "", when[CR_TIME_STRLEN], nd[1024];
	size_t leaves = rfx_leaf_count(f, "acme", "guardian.link");
	sqlite3_stmt *st;
	bool dup = true;
	FILE *in;

	snprintf(l.guardian_ref, sizeof(l.guardian_ref), "parent-9");
	snprintf(l.verified_by, sizeof(l.verified_by), "id_document");
	assert_int_equal(registry_guardian_link(f->a, &rfx_actor, f->acme, &l, &dup, why, sizeof(why)), CR_OK);
	assert_false(dup);
	assert_int_equal(rfx_leaf_count(f, "acme", "guardian.link"), leaves + 1);
	assert_int_equal(registry_guardian_link(f->a, &rfx_actor, f->acme, &l, &dup, why, sizeof(why)), CR_OK);
	assert_true(dup);
	assert_int_equal(rfx_leaf_count(f, "acme", "guardian.link"), leaves + 1);
	assert_int_equal(sqlite3_prepare_v2(f->a->store->db, "SELECT child_pseudonym, verified_by FROM"
					    " consent_guardian_links WHERE guardian_ref = 'parent-9'", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_memory_equal(sqlite3_column_blob(st, 0), p.bytes, CRYPTO_PSEUDONYM_BYTES);
	assert_string_equal((const char *)sqlite3_column_text(st, 1), "id_document");
	sqlite3_finalize(st);
	/* an import: the link line, then the guardian's grant */
	assert_int_equal(cr_time_format(f->t0 - RFX_HOUR, when), CR_OK);
	snprintf(nd, sizeof(nd),
		 "{\"type\":\"guardian_link\",\"subject\":\"kid2@example.com\",\"guardian_ref\":\"parent-8\","
		 "\"verified_by\":\"video_call\",\"time\":\"%s\"}\n"
		 "{\"type\":\"served\",\"subject\":\"kid2@example.com\",\"notice_version\":1,\"time\":\"%s\","
		 "\"channel\":\"web\"}\n"
		 "{\"type\":\"grant\",\"subject\":\"kid2@example.com\",\"purpose\":\"ads_measurement\","
		 "\"notice_version\":1,\"time\":\"%s\",\"method\":\"checkbox\",\"actor\":\"guardian\","
		 "\"guardian_ref\":\"parent-8\",\"birth_year\":2016,\"jurisdiction\":\"CN\",\"channel\":\"app\"}\n"
		 "{\"type\":\"grant\",\"subject\":\"kid3@example.com\",\"purpose\":\"ads_measurement\","
		 "\"notice_version\":1,\"time\":\"%s\",\"method\":\"checkbox\",\"actor\":\"guardian\","
		 "\"guardian_ref\":\"parent-8\",\"birth_year\":2016,\"jurisdiction\":\"CN\",\"channel\":\"app\"}\n",
		 when, when, when, when);
	in = fmemopen(nd, strlen(nd), "r");
	assert_non_null(in);
	assert_int_equal(ops_consent_import(f->a, &rfx_actor, f->acme, "import", in, NULL, NULL, NULL, &sum), CR_OK);
	fclose(in);
	assert_int_equal(sum.guardian_links, 1);
	assert_int_equal(sum.stored, 2);
	assert_int_equal(sum.refused, 1); /* kid3 has no link of parent-8 */
	assert_int_equal(sum.reasons[0].code, CR_ERR_CONSENT_GUARDIAN_UNLINKED);
	assert_int_equal(rfx_leaf_count(f, "acme", "guardian.link"), leaves + 2);
}

/*
 * R17, R09: a withdrawal naming two purposes, in a form the brand's system
 * wrote (a list, odd case), is two withdrawals: each stored with its leaf
 * in one transaction, both purposes withdrawn, every dataset needing either
 * purged; through the single-event path and through an NDJSON import.
 */
static void test_r17_withdrawal_of_several_purposes_is_several_withdrawals(void **state)
{
	struct pfx *p = *state;
	struct crypto_pseudonym who;
	struct consent_decision d;
	struct consent_import_summary sum;
	size_t leaves = rfx_leaf_count(p->f, "acme", "consent.withdraw");
	char when[CR_TIME_STRLEN], line[512];
	FILE *in;

	assert_int_equal(cr_time_format(cr_time_now(), when), CR_OK);
	snprintf(line, sizeof(line),
		 "{\"type\":\"withdraw\",\"subject\":\"dave@example.com\",\"id_type\":\"email\","
		 "\"purpose\":[\"Ads_Measurement\",\"audience_insights\"],\"notice_version\":1,\"time\":\"%s\"}",
		 when);
	rfx_event(p->f, p->f->acme, line, NULL);
	assert_int_equal(rfx_leaf_count(p->f, "acme", "consent.withdraw"), leaves + 2);
	who = rfx_pseudonym(p->f, p->f->acme, "dave@example.com");
	assert_int_equal(consent_valid_at(p->f->a->consent, p->f->acme, &who, "ads_measurement", NULL, cr_time_now(),
					  0, &d), CR_OK);
	assert_int_equal(d.reason, CONSENT_WITHDRAWN);
	assert_int_equal(consent_valid_at(p->f->a->consent, p->f->acme, &who, "audience_insights", NULL,
					  cr_time_now(), 0, &d), CR_OK);
	assert_int_equal(d.reason, CONSENT_WITHDRAWN);
	assert_counts(p, 3, 3, 3, 3, 3);
	assert_others_kept(p, "dave@example.com");
	/* the same through an import line: two events, two leaves */
	snprintf(line, sizeof(line),
		 "{\"type\":\"withdraw\",\"subject\":\"carol@example.com\",\"id_type\":\"email\","
		 "\"purpose\":\"ads_measurement, AUDIENCE_INSIGHTS\",\"time\":\"%s\"}\n", when);
	in = fmemopen(line, strlen(line), "r");
	assert_non_null(in);
	assert_int_equal(ops_consent_import(p->f->a, &rfx_actor, p->f->acme, "import", in, NULL, NULL, NULL, &sum), CR_OK);
	fclose(in);
	assert_int_equal(sum.stored, 2);
	assert_int_equal(sum.refused, 0);
	assert_int_equal(rfx_leaf_count(p->f, "acme", "consent.withdraw"), leaves + 4);
	assert_counts(p, 2, 2, 2, 2, 2);
}

static int utc_year(cr_time_ms t)
{
	time_t secs = (time_t)(t / 1000);
	struct tm tm;
	assert_non_null(gmtime_r(&secs, &tm));
	return tm.tm_year + 1900;
}

/* A grant of ads_measurement at t by `email`, stating a birth year and jurisdiction (0/NULL: none). */
static void grant_aged(struct rfx *f, const char *email, cr_time_ms t, int birth, const char *jur)
{
	char line[512], when[CR_TIME_STRLEN], extra[64] = "";
	assert_int_equal(cr_time_format(t, when), CR_OK);
	if (birth)
		snprintf(extra, sizeof(extra), "\"birth_year\":%d,\"jurisdiction\":\"%s\",", birth, jur);
	rfx_served(f, f->acme, email, t - 1000);
	snprintf(line, sizeof(line),
		 "{\"type\":\"grant\",\"subject\":\"%s\",\"id_type\":\"email\",\"purpose\":\"ads_measurement\",%s"
		 "\"notice_version\":1,\"time\":\"%s\",\"method\":\"checkbox\",\"channel\":\"web\","
		 "\"actor\":\"subject\"}", email, extra, when);
	rfx_event(f, f->acme, line, NULL);
}

/*
 * R15 through the orchestrator: a child-directed dataset admits nobody
 * whose age is unknown (another dataset does), and the brand's EU child
 * age, set by the CLI's and the API's call, decides a 14-year-old's own
 * grant; both are stored and audited, and CN's 14 cannot be set.
 */
static void test_r15_child_directed_datasets_and_the_brand_child_age(void **state)
{
	struct rfx *f = *state;
	static const struct registry_actor who = { "brand", "test" };
	struct dataset kids, all, got;
	char why[OPS_WHY_MAX] = "", reason[40];
	cr_time_ms t = f->t0 - 2 * RFX_HOUR;
	size_t leaves;

	grant_aged(f, "noage@example.com", t, 0, NULL);
	grant_aged(f, "teen@example.com", t, utc_year(t) - 15, "EU"); /* 14 at the grant, 13 at least */
	rfx_dataset(f, f->acme, "acme", "all", "ads_measurement", NULL, &all);
	memset(&kids, 0, sizeof(kids));
	kids.brand_id = f->acme;
	snprintf(kids.name, sizeof(kids.name), "kids");
	kids.id_type = CRYPTO_ID_EMAIL;
	kids.suite = CRYPTO_PSI_SUITE_DEFAULT;
	snprintf(kids.profile, sizeof(kids.profile), "default");
	assert_int_equal(dataset_codes_parse("ads_measurement", false, kids.purposes, &kids.npurposes), CR_OK);
	assert_int_equal(columns_parse(RFX_COLUMNS, &kids.columns, NULL, 0), CR_OK);
	kids.child_directed = true;
	assert_int_equal(ops_dataset_create(f->a, &who, "acme", &kids, why, sizeof(why)), CR_OK);
	assert_int_equal(dataset_get(f->a->store, f->acme, "kids", &got), CR_OK);
	assert_true(got.child_directed);
	assert_int_equal(rfx_gate(f, &all, "noage@example.com", reason), INGEST_ALLOW);
	assert_int_equal(rfx_gate(f, &got, "noage@example.com", reason), INGEST_DENY);
	assert_string_equal(reason, "AGE_UNKNOWN");
	/* the EU's 16 by default; the brand lowers it to 13 */
	assert_int_equal(rfx_gate(f, &all, "teen@example.com", reason), INGEST_DENY);
	assert_string_equal(reason, "GUARDIAN_REQUIRED");
	leaves = rfx_leaf_count(f, "acme", "brand.child_age");
	assert_int_equal(registry_brand_child_age(f->a, &who, f->acme, "CN", 13), CR_ERR_CONSENT_CHILD_AGE);
	assert_int_equal(registry_brand_child_age(f->a, &who, f->acme, "EU", 12), CR_ERR_CONSENT_CHILD_AGE);
	assert_int_equal(rfx_leaf_count(f, "acme", "brand.child_age"), leaves);
	assert_int_equal(registry_brand_child_age(f->a, &who, f->acme, "EU", 13), CR_OK);
	assert_int_equal(rfx_leaf_count(f, "acme", "brand.child_age"), leaves + 1);
	assert_int_equal(rfx_gate(f, &all, "teen@example.com", reason), INGEST_ALLOW);
}

/*
 * R27, R29: grants and withdrawals that arrive in an NDJSON import get
 * receipts too: the subject's export carries one per consent act, each
 * verifying with its inclusion proof, and any stored act's receipt can be
 * had again by its id; served events have none; another brand's are not
 * found. Receipts are signed with a key of their own (issue 19, key
 * separation): the log's key verifies no receipt, theirs no checkpoint.
 */
static void test_r27_imported_acts_have_receipts(void **state)
{
	struct rfx *f = *state;
	struct crypto_pseudonym p;
	struct consent_import_summary sum;
	struct consent_receipt_info info;
	char lines[2048], a[CR_TIME_STRLEN], b[CR_TIME_STRLEN], c[CR_TIME_STRLEN], why[256], *vkey = NULL, *rkey = NULL, *r = NULL;
	json_t *doc = NULL, *rc_json;
	size_t i, acts = 0;
	bool proven = false;
	int64_t served_id = 0;
	FILE *in;

	assert_int_equal(cr_time_format(f->t0 - 3000, a), CR_OK);
	assert_int_equal(cr_time_format(f->t0 - 2000, b), CR_OK);
	assert_int_equal(cr_time_format(f->t0 - 1000, c), CR_OK);
	snprintf(lines, sizeof(lines),
		 "{\"type\":\"served\",\"subject\":\"imp@example.com\",\"notice_version\":1,\"time\":\"%s\",\"channel\":\"web\"}\n"
		 "{\"type\":\"grant\",\"subject\":\"imp@example.com\",\"purpose\":\"ads_measurement\",\"notice_version\":1,"
		 "\"time\":\"%s\",\"method\":\"checkbox\",\"channel\":\"web\",\"actor\":\"subject\"}\n"
		 "{\"type\":\"withdraw\",\"subject\":\"imp@example.com\",\"time\":\"%s\"}\n", a, b, c);
	in = fmemopen(lines, strlen(lines), "r");
	assert_non_null(in);
	assert_int_equal(ops_consent_import(f->a, &rfx_actor, f->acme, "import", in, NULL, NULL, NULL, &sum), CR_OK);
	fclose(in);
	assert_int_equal(sum.stored, 3);
	p = rfx_pseudonym(f, f->acme, "imp@example.com");
	assert_int_equal(ops_subject_export(f->a, f->acme, &p, 1, &doc), CR_OK);
	assert_int_equal(app_verifier_key(f->a, &vkey), CR_OK);
	assert_int_equal(app_receipt_key(f->a, &rkey), CR_OK);
	json_array_foreach(json_object_get(doc, "receipts"), i, rc_json) {
		char *text = json_dumps(rc_json, JSON_COMPACT);
		assert_int_equal(ops_receipt_verify(rkey, vkey, text, strlen(text), &info, &proven, why, sizeof(why)), CR_OK);
		assert_true(proven);
		assert_true(info.type == CONSENT_EV_GRANT || info.type == CONSENT_EV_WITHDRAW);
		acts++;
		free(text);
	}
	assert_int_equal(acts, 2);
	json_array_foreach(json_object_get(doc, "events"), i, rc_json)
		if (strcmp(json_string_value(json_object_get(rc_json, "type")), "served") == 0)
			served_id = json_integer_value(json_object_get(rc_json, "id"));
	assert_true(served_id > 0);
	assert_int_equal(registry_event_receipt(f->a, f->acme, served_id, &r), CR_ERR_CONSENT_RECEIPT_EVENT);
	assert_null(r);
	assert_int_equal(registry_event_receipt(f->a, f->other, served_id + 1, &r), CR_ERR_CONSENT_EVENT_NOT_FOUND);
	assert_int_equal(registry_event_receipt(f->a, f->acme, 999999, &r), CR_ERR_CONSENT_EVENT_NOT_FOUND);
	assert_int_equal(registry_event_receipt(f->a, f->acme, served_id + 1, &r), CR_OK);
	assert_int_equal(ops_receipt_verify(rkey, vkey, r, strlen(r), &info, &proven, why, sizeof(why)), CR_OK);
	assert_int_equal(info.event_id, served_id + 1);
	/* Key separation: the log's key does not verify a receipt, and the
	 * receipts' key does not verify a checkpoint. */
	assert_int_equal(ops_receipt_verify(vkey, vkey, r, strlen(r), &info, &proven, why, sizeof(why)),
			 CR_ERR_CONSENT_RECEIPT_KEY);
	assert_string_not_equal(rkey, vkey);
	{
		struct audit_verifier rv;
		struct audit_checkpoint cp;
		char *note = NULL;
		assert_int_equal(audit_verifier_parse(rkey, strlen(rkey), &rv), CR_OK);
		assert_int_equal(audit_log_latest_checkpoint(f->a->log, &note), CR_OK);
		assert_int_not_equal(audit_checkpoint_open(&rv, note, strlen(note), NULL, &cp), CR_OK);
		free(note);
	}
	assert_int_equal(info.type, CONSENT_EV_GRANT);
	free(r);
	free(vkey);
	free(rkey);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_r09_i2_gate_needs_sharing_consent_for_the_datasets_recipient,
						gate_setup, rfx_teardown),
		cmocka_unit_test_setup_teardown(test_r09_i2_dataset_without_recipient_needs_only_the_purposes,
						gate_setup, rfx_teardown),
		cmocka_unit_test_setup_teardown(test_r15_child_directed_datasets_and_the_brand_child_age, gate_setup,
						rfx_teardown),
		cmocka_unit_test_setup_teardown(test_r27_imported_acts_have_receipts, gate_setup, rfx_teardown),
		cmocka_unit_test_setup_teardown(test_r19_i3_full_withdrawal_purges_every_dataset_of_the_brand,
						purge_setup, purge_teardown),
		cmocka_unit_test_setup_teardown(test_r19_partial_withdrawal_keeps_datasets_of_other_purposes,
						purge_setup, purge_teardown),
		cmocka_unit_test_setup_teardown(test_r19_r09_withdrawing_one_sharing_keeps_the_purpose,
						purge_setup, purge_teardown),
		cmocka_unit_test_setup_teardown(test_r19_recipient_only_withdrawal_purges_datasets_shared_with_it,
						purge_setup, purge_teardown),
		cmocka_unit_test_setup_teardown(test_r19_partial_withdrawal_leaves_other_datasets_to_the_sweep,
						purge_setup, purge_teardown),
		cmocka_unit_test_setup_teardown(test_r21_objection_purges_at_once, purge_setup, purge_teardown),
		cmocka_unit_test_setup_teardown(test_r17_withdrawal_of_several_purposes_is_several_withdrawals,
						purge_setup, purge_teardown),
		cmocka_unit_test_setup_teardown(test_r16_guardian_link_is_audited_and_keyed_by_pseudonym,
						gate_setup, rfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
