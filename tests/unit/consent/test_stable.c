/* Unit tests for consent/stable.c: the mark moves with every write a
 * decision reads and with nothing else, and consent_stable_until bounds
 * an interval on which every decision about the subject stays as it was
 * (random histories with expiries, later events, withdrawals and their
 * suppression entries, a later material notice, stated birth years, read
 * at random instants), and is the exact next instant where it can. */
#include "consent_fixture.h"
#include "consent/consent_internal.h"

#include <sodium.h>

#define AM "ads_measurement"
#define AI "audience_insights"
#define P1 "partner-1"
#define SUBJECTS 200
#define DAY 86400000LL

/* Every decision about p at t: each scope with and without the
 * child-directed flag, and the suppression list's, packed in a string. */
static void decisions(struct fx *f, const struct crypto_pseudonym *p, cr_time_ms t, char out[64])
{
	static const char *const purposes[] = { AM, AI, AI };
	static const char *const recipients[] = { NULL, NULL, P1 };
	size_t k = 0;
	for (size_t i = 0; i < 3; i++) {
		bool supp = false;
		for (unsigned flags = 0; flags <= CONSENT_CHILD_DIRECTED; flags += CONSENT_CHILD_DIRECTED) {
			struct consent_decision d;
			assert_int_equal(consent_valid_at(f->ctx, f->brand, p, purposes[i], recipients[i], t,
							  flags, &d),
					 CR_OK);
			out[k++] = (char)('A' + d.reason);
		}
		assert_int_equal(consent_suppressed_at(f->ctx, f->brand, p, purposes[i], recipients[i], t, &supp),
				 CR_OK);
		out[k++] = supp ? 's' : '-';
	}
	out[k] = '\0';
}

/* consent_stable_until for p at t, after a decision loaded p's caches. */
static cr_time_ms until_of(struct fx *f, const struct crypto_pseudonym *p, cr_time_ms t)
{
	char d[64];
	cr_time_ms u = 0;
	decisions(f, p, t, d); /* loads the history and the suppression entries */
	assert_int_equal(consent_stable_until(f->ctx, f->brand, p, t, &u), CR_OK);
	assert_true(u > t);
	return u;
}

/* A random history in 2026-2029: grants that may expire, a later grant,
 * a withdrawal (with its suppression entries), birth years near the
 * child threshold. */
static void random_history(struct fx *f, const struct crypto_pseudonym *p, uint32_t r)
{
	cr_time_ms t = T("2026-02-01T00:00:00Z") + (cr_time_ms)(r % 700) * DAY;
	struct consent_event g;
	fx_rec(f, ev_served(*p, 1, t));
	g = ev_grant(*p, AM, NULL, 1, t + 1000);
	if (r % 3 == 0)
		g.birth_year = 2010 + (int)(r % 7); /* 13 to 19 in 2029 */
	if (r % 4 == 1)
		g.expires = t + (cr_time_ms)(30 + r % 200) * DAY;
	fx_rec(f, g);
	if (r % 5 != 0) {
		g = ev_grant(*p, AI, NULL, 1, t + (cr_time_ms)(1 + r % 90) * DAY);
		if (r % 6 == 2)
			g.expires = g.time + 60 * DAY;
		fx_rec(f, g);
		fx_rec(f, ev_grant(*p, AI, P1, 1, g.time + 1000));
	}
	if (r % 7 == 3)
		fx_rec(f, ev_withdraw(*p, r % 2 ? AI : NULL, NULL, t + (cr_time_ms)(100 + r % 300) * DAY));
}

/*
 * The property: for random subjects and instants `at`, every decision at
 * any t in [at, until) is the decision at `at`; and the bound is tight
 * often enough to matter (some decision differs at `until` itself for
 * some subjects), and not always the new year.
 */
static void test_stable_until_bounds_an_interval_of_equal_decisions(void **state)
{
	struct fx *f = *state;
	char why[CONSENT_WHY_MAX] = "";
	struct crypto_pseudonym p[SUBJECTS];
	size_t flips = 0, before_new_year = 0;
	/* a material change of the notice, published in the middle of the histories */
	assert_int_equal(fx_publish_json(f, notice_base(2, true), T("2027-06-01T00:00:00Z"), why, sizeof(why)),
			 CR_OK);
	for (unsigned i = 0; i < SUBJECTS; i++) {
		p[i] = P(1000 + i, 1);
		random_history(f, &p[i], randombytes_uniform(1u << 30));
	}
	for (unsigned i = 0; i < SUBJECTS; i++) {
		for (int k = 0; k < 6; k++) {
			cr_time_ms at = T("2026-01-15T00:00:00Z") + (cr_time_ms)randombytes_uniform(1400) * DAY +
					(cr_time_ms)randombytes_uniform(86400) * 1000;
			cr_time_ms u = until_of(f, &p[i], at), probe[4];
			char d0[64], d[64];
			decisions(f, &p[i], at, d0);
			probe[0] = at + 1;
			probe[1] = at + (u - at) / 2;
			probe[2] = u - 1;
			probe[3] = at + (cr_time_ms)randombytes_uniform((uint32_t)((u - at) / 1000 > 1 ? (u - at) / 1000 : 1)) * 1000;
			for (size_t j = 0; j < 4; j++) {
				if (probe[j] < at || probe[j] >= u)
					continue;
				decisions(f, &p[i], probe[j], d);
				if (strcmp(d, d0) != 0)
					print_error("subject %u: at %lld until %lld: %s at %lld, %s at at\n", i,
						    (long long)at, (long long)u, d, (long long)probe[j], d0);
				assert_string_equal(d, d0);
			}
			decisions(f, &p[i], u, d);
			flips += strcmp(d, d0) != 0;
			before_new_year += consent_year_of(u) == consent_year_of(at);
		}
	}
	assert_true(flips > 20);
	assert_true(before_new_year > 20);
}

/* With nothing else bounding it, the next new year in UTC, exactly. */
static void test_stable_until_is_the_next_new_year_for_a_settled_history(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(7, 1);
	fx_full_consent(f, p, T("2026-03-01T00:00:00Z"));
	assert_int_equal(until_of(f, &p, T("2026-12-07T15:00:00Z")), T("2027-01-01T00:00:00Z"));
	assert_int_equal(until_of(f, &p, T("2027-12-31T23:59:59Z")), T("2028-01-01T00:00:00Z"));
	assert_int_equal(until_of(f, &p, T("2028-02-29T12:00:00Z")), T("2029-01-01T00:00:00Z"));
}

/* A grant's expiry, and a later event, bound it; a caller asking about a
 * subject the caches do not hold is refused. */
static void test_stable_until_stops_at_expiry_and_later_events(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(8, 1), q = P(9, 1);
	struct consent_event g = ev_grant(p, AM, NULL, 1, T("2026-03-01T00:00:01Z"));
	cr_time_ms u = 0;
	fx_rec(f, ev_served(p, 1, T("2026-03-01T00:00:00Z")));
	g.expires = T("2026-09-01T00:00:00Z");
	fx_rec(f, g);
	fx_rec(f, ev_withdraw(p, AI, NULL, T("2026-05-01T00:00:00Z")));
	assert_int_equal(until_of(f, &p, T("2026-04-01T00:00:00Z")), T("2026-05-01T00:00:00Z"));
	assert_int_equal(until_of(f, &p, T("2026-05-01T00:00:00Z")), T("2026-09-01T00:00:00Z"));
	assert_int_equal(consent_stable_until(f->ctx, f->brand, &q, T("2026-05-01T00:00:00Z"), &u),
			 CR_ERR_INVALID_ARG);
}

/* The mark moves with an event (any brand's), a suppression entry, a
 * notice, a guardian link; and not with a read. */
static void test_mark_moves_with_every_write_a_decision_reads(void **state)
{
	struct fx *f = *state;
	struct consent_mark a, b;
	struct crypto_pseudonym p = P(10, 1);
	char why[CONSENT_WHY_MAX] = "", d[64];
	assert_int_equal(consent_mark_get(f->ctx, f->brand, &a), CR_OK);
	decisions(f, &p, T("2026-06-01T00:00:00Z"), d);
	assert_int_equal(consent_mark_get(f->ctx, f->brand, &b), CR_OK);
	assert_true(consent_mark_equal(&a, &b));

	fx_rec(f, ev_served(p, 1, T("2026-03-01T00:00:00Z")));
	assert_int_equal(consent_mark_get(f->ctx, f->brand, &b), CR_OK);
	assert_false(consent_mark_equal(&a, &b));
	assert_true(b.events > a.events);

	a = b;
	fx_rec(f, ev_grant(p, AM, NULL, 1, T("2026-03-01T00:00:01Z")));
	fx_rec(f, ev_withdraw(p, AM, NULL, T("2026-04-01T00:00:00Z")));
	assert_int_equal(consent_mark_get(f->ctx, f->brand, &b), CR_OK);
	assert_true(b.suppressions > a.suppressions);

	a = b;
	assert_int_equal(fx_publish_json(f, notice_base(2, false), T("2026-05-01T00:00:00Z"), why, sizeof(why)),
			 CR_OK);
	assert_int_equal(consent_mark_get(f->ctx, f->brand, &b), CR_OK);
	assert_false(consent_mark_equal(&a, &b));
	assert_true(b.catalog_gen != a.catalog_gen);

	a = b;
	fx_link(f, P(11, 1), "guardian-1");
	assert_int_equal(consent_mark_get(f->ctx, f->brand, &b), CR_OK);
	assert_false(consent_mark_equal(&a, &b));
	assert_true(b.guardians > a.guardians);

	/* each field alone tells two marks apart */
	for (int k = 0; k < 5; k++) {
		int64_t *field[5] = { &b.events, &b.guardians, &b.suppressions, &b.catalog_gen, &b.key_version };
		a = b;
		(*field[k])++;
		assert_false(consent_mark_equal(&a, &b));
		(*field[k])--;
		assert_true(consent_mark_equal(&a, &b));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stable_until_bounds_an_interval_of_equal_decisions, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_stable_until_is_the_next_new_year_for_a_settled_history,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_stable_until_stops_at_expiry_and_later_events, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_mark_moves_with_every_write_a_decision_reads, fx_setup,
						fx_teardown),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
