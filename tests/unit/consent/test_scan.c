/* Unit tests for consent/scan.c: a scan over a range of pseudonyms gives
 * every subject exactly the decisions a look-up per subject gives (grants,
 * refusals, withdrawals with their suppression entries, two key versions,
 * events of another brand interleaved, ranges inside and across the 0x80
 * boundary where the events' key order wraps), and refuses a subject out
 * of its range or out of order. */
#include "consent_fixture.h"
#include "consent/consent_internal.h"

#include <sodium.h>

#define AM "ads_measurement"
#define AI "audience_insights"
#define P1 "partner-1"
#define SUBJECTS 240

struct subj {
	struct crypto_pseudonym p;
};

static int subj_cmp(const void *a, const void *b)
{
	const struct subj *x = a, *y = b;
	int c = memcmp(x->p.bytes, y->p.bytes, CRYPTO_PSEUDONYM_BYTES);
	if (c != 0)
		return c;
	return x->p.key_version < y->p.key_version ? -1 : x->p.key_version > y->p.key_version;
}

/* A random history for p of brand `brand`, all before 2027. */
static void random_history(struct fx *f, int64_t brand, const struct crypto_pseudonym *p, uint32_t r)
{
	int64_t saved = f->brand;
	cr_time_ms t = T("2026-03-01T00:00:00Z") + (cr_time_ms)(r % 1000) * 60000;
	f->brand = brand;
	if (r % 7 == 0) { /* never served: no events at all */
		f->brand = saved;
		return;
	}
	fx_rec(f, ev_served(*p, 1, t));
	if (r % 5 == 1) {
		fx_rec(f, ev_answer(CONSENT_EV_REFUSE, *p, AM, NULL, 1, t + 1000));
	} else {
		fx_rec(f, ev_grant(*p, AM, NULL, 1, t + 1000));
		if (r % 3 != 0)
			fx_rec(f, ev_grant(*p, AI, NULL, 1, t + 2000));
		if (r % 3 == 1)
			fx_rec(f, ev_grant(*p, AI, P1, 1, t + 3000));
	}
	if (r % 4 == 2) /* a withdrawal: an event and suppression entries */
		fx_rec(f, ev_withdraw(*p, r % 8 == 2 ? AI : NULL, NULL, t + 86400000));
	if (r % 16 == 6) /* granted again after the withdrawal: lifts it for AM */
		fx_rec(f, ev_grant(*p, AM, NULL, 1, t + 2 * 86400000));
	f->brand = saved;
}

struct world {
	struct fx *f;
	int64_t other;              /* a second brand with its own histories */
	struct subj s[SUBJECTS];
	struct consent_ctx *plain;  /* a second context: one look-up per subject */
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	char why[CONSENT_WHY_MAX] = "";
	int64_t saved;
	if (w == NULL || sodium_init() < 0)
		return -1;
	w->f = fx_new();
	assert_int_equal(consent_brand_create(w->f->ctx, "beta", T("2026-01-01T00:00:00Z"), &w->other), CR_OK);
	saved = w->f->brand;
	w->f->brand = w->other;
	assert_int_equal(fx_publish_json(w->f, notice_base(1, true), T("2026-01-01T00:00:00Z"), why, sizeof(why)),
			 CR_OK);
	w->f->brand = saved;
	for (size_t i = 0; i < SUBJECTS; i++) {
		struct crypto_pseudonym *p = &w->s[i].p;
		uint32_t r = randombytes_uniform(1u << 30);
		if (i % 10 == 9) { /* the same person under a second key version */
			*p = w->s[i - 1].p;
			p->key_version = 2;
		} else {
			randombytes_buf(p->bytes, sizeof(p->bytes));
			p->bytes[0] = (uint8_t)(i * 256 / SUBJECTS); /* every part of the key space */
			p->key_version = 1;
		}
		random_history(w->f, w->f->brand, p, r);
		if (i % 3 == 0)
			random_history(w->f, w->other, p, r / 3 + 1);
	}
	qsort(w->s, SUBJECTS, sizeof(w->s[0]), subj_cmp);
	assert_int_equal(consent_ctx_new(w->f->db, &w->plain), CR_OK);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	consent_ctx_free(w->plain);
	fx_free(w->f);
	free(w);
	return 0;
}

static const struct {
	const char *purpose, *recipient;
} scopes[] = { { AM, NULL }, { AI, NULL }, { AI, P1 }, { AM, P1 } };

/* Every scope's decision and suppression for p on ctx at `at`. */
static void decide_all(struct consent_ctx *ctx, int64_t brand, const struct crypto_pseudonym *p, cr_time_ms at,
		       struct consent_decision d[4], bool sup[4])
{
	for (size_t k = 0; k < 4; k++) {
		assert_int_equal(consent_valid_at(ctx, brand, p, scopes[k].purpose, scopes[k].recipient, at, 0, &d[k]),
				 CR_OK);
		assert_int_equal(consent_suppressed_at(ctx, brand, p, scopes[k].purpose, scopes[k].recipient, at,
						       &sup[k]),
				 CR_OK);
	}
}

/* Scans [lo, hi) of brand at `at`: every subject of the range decides as a look-up does. */
static size_t check_range(struct world *w, int64_t brand, unsigned lo, unsigned hi, cr_time_ms at)
{
	struct consent_scan *sc = NULL;
	size_t checked = 0, allowed = 0, suppressed = 0;
	assert_int_equal(consent_scan_open(w->f->ctx, brand, lo, hi, &sc), CR_OK);
	for (size_t i = 0; i < SUBJECTS; i++) {
		const struct crypto_pseudonym *p = &w->s[i].p;
		struct consent_decision a[4], b[4];
		bool sa[4], sb[4];
		if (p->bytes[0] < lo || p->bytes[0] >= hi)
			continue;
		assert_int_equal(consent_scan_load(sc, p), CR_OK);
		assert_true(consent_history_is_current(w->f->ctx, brand, p));
		decide_all(w->f->ctx, brand, p, at, a, sa);
		decide_all(w->plain, brand, p, at, b, sb);
		for (size_t k = 0; k < 4; k++) {
			assert_int_equal(a[k].reason, b[k].reason);
			assert_int_equal(a[k].allowed, b[k].allowed);
			assert_int_equal(sa[k], sb[k]);
			allowed += a[k].allowed;
			suppressed += sa[k];
		}
		checked++;
	}
	consent_scan_close(sc);
	/* the histories are varied enough to tell a scan that loses rows */
	if (checked > 40) {
		assert_true(allowed > 0);
		assert_true(suppressed > 0 || at < T("2026-03-02T00:00:00Z"));
	}
	return checked;
}

static void test_scan_decides_as_lookups(void **state)
{
	struct world *w = *state;
	const cr_time_ms times[] = { T("2026-03-01T12:00:00Z"), T("2026-06-01T00:00:00Z") };
	for (size_t t = 0; t < 2; t++) {
		assert_int_equal(check_range(w, w->f->brand, 0, 256, times[t]), SUBJECTS);
		assert_true(check_range(w, w->f->brand, 0x40, 0xc0, times[t]) > 0);  /* across 0x80 */
		assert_true(check_range(w, w->f->brand, 0, 0x80, times[t]) > 0);
		assert_true(check_range(w, w->f->brand, 0x80, 256, times[t]) > 0);
		assert_true(check_range(w, w->f->brand, 0x7f, 0x81, times[t]) > 0);
		assert_int_equal(check_range(w, w->other, 0, 256, times[t]), SUBJECTS);
	}
}

/* Asked for only some subjects (the others skipped over), still exact. */
static void test_scan_skips_subjects(void **state)
{
	struct world *w = *state;
	struct consent_scan *sc = NULL;
	cr_time_ms at = T("2026-06-01T00:00:00Z");
	assert_int_equal(consent_scan_open(w->f->ctx, w->f->brand, 0, 256, &sc), CR_OK);
	for (size_t i = 0; i < SUBJECTS; i += 3) {
		struct consent_decision a[4], b[4];
		bool sa[4], sb[4];
		assert_int_equal(consent_scan_load(sc, &w->s[i].p), CR_OK);
		decide_all(w->f->ctx, w->f->brand, &w->s[i].p, at, a, sa);
		decide_all(w->plain, w->f->brand, &w->s[i].p, at, b, sb);
		for (size_t k = 0; k < 4; k++) {
			assert_int_equal(a[k].reason, b[k].reason);
			assert_int_equal(sa[k], sb[k]);
		}
	}
	consent_scan_close(sc);
}

static void test_scan_refuses_misuse(void **state)
{
	struct world *w = *state;
	struct consent_scan *sc = NULL;
	struct crypto_pseudonym lo = w->s[10].p, hi = w->s[200].p;
	assert_int_equal(consent_scan_open(w->f->ctx, w->f->brand, 5, 5, &sc), CR_ERR_INVALID_ARG);
	assert_int_equal(consent_scan_open(w->f->ctx, w->f->brand, 0, 257, &sc), CR_ERR_INVALID_ARG);
	assert_int_equal(consent_scan_open(w->f->ctx, w->f->brand, 0, 256, &sc), CR_OK);
	assert_int_equal(consent_scan_load(sc, &hi), CR_OK);
	assert_int_equal(consent_scan_load(sc, &lo), CR_ERR_INVALID_ARG); /* out of order */
	consent_scan_close(sc);
	assert_int_equal(consent_scan_open(w->f->ctx, w->f->brand, 0x80, 256, &sc), CR_OK);
	lo.bytes[0] = 0x10;
	assert_int_equal(consent_scan_load(sc, &lo), CR_ERR_INVALID_ARG); /* out of range */
	consent_scan_close(sc);
	consent_scan_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_decides_as_lookups),
		cmocka_unit_test(test_scan_skips_subjects),
		cmocka_unit_test(test_scan_refuses_misuse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
