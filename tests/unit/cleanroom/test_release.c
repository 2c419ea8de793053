/* Unit tests for cleanroom/release.c, the release procedure of
 * docs/spec/privacy.md: query checks against the rule, exact aggregation with
 * clamped sums, the sampler's parameters (rounded only towards more noise),
 * threshold suppression with its summary, the refusal under k (charged),
 * budget exhaustion (refused before the rows are even produced, charged
 * nothing), and that the release row, the debit and the audit leaf are
 * stored together or not at all (I5). */
#include "match_fixture.h"

static int setup(void **state)
{
	struct mfx *f = calloc(1, sizeof(*f));
	mfx_setup(f, 300, 200, 100, 7);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	mfx_teardown(*state);
	free(*state);
	return 0;
}

/* --------------------------------------------------------------- query */

static void test_query_parse(void **state)
{
	struct mfx *f = *state;
	struct release_query q;
	char why[128];
	static const struct {
		const char *group_by, *metrics;
		cr_err want;
	} cases[] = {
		{ NULL, NULL, CR_OK },
		{ "segment,region", "count,sum:spend", CR_OK },
		{ "region", "sum:spend", CR_OK },                   /* count is implied */
		{ "segment,region,age_band", NULL, CR_ERR_QUERY_TOO_MANY_DIMS },
		{ "spend", NULL, CR_ERR_QUERY_DIMENSION },          /* not a rule dimension */
		{ "nosuch", NULL, CR_ERR_QUERY_DIMENSION },
		{ "segment,segment", NULL, CR_ERR_QUERY_DIMENSION },
		{ "segment,", NULL, CR_ERR_QUERY_DIMENSION },
		{ "segment", "count,count", CR_ERR_QUERY_METRIC },
		{ "segment", "sum:spend,sum:spend", CR_ERR_QUERY_METRIC },
		{ "segment", "sum:age_band", CR_ERR_QUERY_METRIC },
		{ "segment", "avg:spend", CR_ERR_QUERY_METRIC },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_err rc = release_query_parse(&f->c, &f->d, cases[i].group_by, cases[i].metrics, &q, why,
						sizeof(why));
		if (rc != cases[i].want)
			fail_msg("case %zu: got %s, want %s", i, cr_errname(rc), cr_errname(cases[i].want));
	}
	assert_int_equal(release_query_parse(&f->c, &f->d, "region,segment", "sum:spend", &q, why, sizeof(why)),
			 CR_OK);
	assert_string_equal(q.text, "group_by=region,segment;metrics=count,sum:spend");
	assert_int_equal(q.ncells, 15);
	assert_int_equal(release_query_ncols(&q), 3);
}

/* --------------------------------------------------------------- noise */

static void test_noise_params(void **state)
{
	uint64_t num = 0, den = 0;
	(void)state;
	assert_int_equal(release_noise_params(1, 500, 1, &num, &den), CR_OK);
	assert_true(num == 1 && den == 2);          /* epsilon 0.5: scale 2 */
	assert_int_equal(release_noise_params(1, 500, 2, &num, &den), CR_OK);
	assert_true(num == 1 && den == 4);          /* split over two metrics */
	assert_int_equal(release_noise_params(10000, 500, 2, &num, &den), CR_OK);
	assert_true(num == 1 && den == 40000);
	assert_int_equal(release_noise_params(1, 3, 1, &num, &den), CR_OK);
	assert_true(num == 3 && den == 1000);       /* exact rational, reduced */
	/* too large for the sampler: the scale is rounded UP, never down */
	assert_int_equal(release_noise_params(4294969, 3, 1, &num, &den), CR_OK);
	assert_true(num == 1 && den == 1431656334); /* 4294969000 / 3 = 1431656333.3 */
	assert_int_equal(release_noise_params(1000000000000LL, 1, 2, &num, &den), CR_ERR_COLLAB_NOISE_RANGE);
	assert_int_equal(release_noise_params(1, 0, 1, &num, &den), CR_ERR_COLLAB_NOISE_RANGE);
}

/* ----------------------------------------------------------- aggregate */

static void test_aggregate_exact_and_clamped(void **state)
{
	struct mfx *f = *state;
	struct release_query q;
	struct release_result r = { 0 };
	char why[128];
	/* segment (a=0,b=1,c=2), region (north=0..central=4), spend */
	const int64_t rows[] = { 0, 0, 10, 0, 0, 20, 2, 4, 20000 /* clamped to 10000 */, 2, 4, -5 /* to 0 */ };
	const int64_t bad[] = { 3, 0, 1 };
	assert_int_equal(release_query_parse(&f->c, &f->d, "segment,region", "sum:spend", &q, why, sizeof(why)), CR_OK);
	assert_int_equal(release_aggregate(&q, &f->d, rows, 4, &r), CR_OK);
	assert_int_equal(r.ncells, 15);
	assert_int_equal(r.cells[0].count, 2);
	assert_int_equal(r.cells[0].sum[0], 30);
	assert_int_equal(r.cells[14].count, 2);       /* c x central: 2 * 5 + 4 */
	assert_int_equal(r.cells[14].sum[0], 10000);
	assert_int_equal(r.cells[1].count, 0);
	assert_int_equal(release_aggregate(&q, &f->d, bad, 1, &r), CR_ERR_INVALID_ARG);
	assert_null(r.cells);
	release_result_release(&r);
}

/* A masked-out row counts nowhere; the masked-in ones as if alone (issue 21, item 2). */
static void test_aggregate_masked_counts_only_the_mask(void **state)
{
	struct mfx *f = *state;
	struct release_query q;
	struct release_result all = { 0 }, some = { 0 };
	char why[128];
	const int64_t rows[] = { 0, 0, 10, 1, 2, 20, 2, 4, 30, 0, 0, 40 };
	const int64_t kept[] = { 1, 2, 20, 0, 0, 40 };
	const uint8_t mask[] = { 0, 1, 0, 1 };
	assert_int_equal(release_query_parse(&f->c, &f->d, "segment,region", "sum:spend", &q, why, sizeof(why)), CR_OK);
	assert_int_equal(release_aggregate_masked(&q, &f->d, rows, mask, 4, &some), CR_OK);
	assert_int_equal(release_aggregate(&q, &f->d, kept, 2, &all), CR_OK);
	for (size_t i = 0; i < q.ncells; i++) {
		assert_int_equal(some.cells[i].count, all.cells[i].count);
		assert_int_equal(some.cells[i].sum[0], all.cells[i].sum[0]);
	}
	assert_int_equal(some.cells[0].count, 1);
	assert_int_equal(some.cells[0].sum[0], 40);
	release_result_release(&some);
	release_result_release(&all);
}

/* Noise drawn ahead and applied later is the noise release_noise draws. */
static void test_noise_drawn_ahead_is_the_same_noise(void **state)
{
	struct mfx *f = *state;
	struct mfx_rng s1 = { .seed = { 7 } }, s2 = { .seed = { 7 } };
	struct crypto_rng r1 = { mfx_rng_fill, &s1 }, r2 = { mfx_rng_fill, &s2 };
	struct release_query q;
	struct release_result a = { 0 }, b = { 0 };
	const int64_t rows[] = { 0, 0, 10, 1, 2, 20 };
	int64_t *z;
	char why[128];
	assert_int_equal(release_query_parse(&f->c, &f->d, "segment,region", "sum:spend", &q, why, sizeof(why)), CR_OK);
	z = calloc(release_noise_count(&q), sizeof(int64_t));
	assert_int_equal(release_noise_count(&q), 30);
	assert_int_equal(release_noise_draw(&q, &f->c, &f->d, &r1, z), CR_OK);
	assert_int_equal(release_aggregate(&q, &f->d, rows, 2, &a), CR_OK);
	assert_int_equal(release_aggregate(&q, &f->d, rows, 2, &b), CR_OK);
	assert_int_equal(release_noise_apply(&q, &f->c, z, &a), CR_OK);
	assert_int_equal(release_noise(&q, &f->c, &f->d, &r2, &b), CR_OK);
	for (size_t i = 0; i < q.ncells; i++) {
		assert_int_equal(a.cells[i].noisy_count, b.cells[i].noisy_count);
		assert_int_equal(a.cells[i].noisy_sum[0], b.cells[i].noisy_sum[0]);
		assert_int_equal(a.cells[i].noisy_count - (int64_t)a.cells[i].count, z[i * 2]);
	}
	assert_int_equal(a.noisy_total, b.noisy_total);
	free(z);
	release_result_release(&a);
	release_result_release(&b);
}

/* Cells far under and far over k, with a seeded sampler of scale 1. */
static void test_suppression_and_summary(void **state)
{
	struct mfx *f = *state;
	struct mfx_rng seed = { .seed = { 1 } };
	struct crypto_rng rng = { mfx_rng_fill, &seed };
	struct collab c = f->c;
	struct release_query q;
	struct release_result r = { 0 };
	int64_t *rows = calloc(3000, 2 * sizeof(int64_t));
	int64_t sum_noisy = 0, sum_sup = 0;
	size_t n = 0, nsup = 0;
	char why[128];
	json_t *j, *cell;
	size_t i;
	c.k = 50;
	c.epsilon_milli = 1000;   /* count only: scale 1 */
	assert_int_equal(release_query_parse(&c, &f->d, "segment,region", NULL, &q, why, sizeof(why)), CR_OK);
	/* segment a: 200 in every region; segment b: 3 in north; segment c: nobody */
	for (int64_t reg = 0; reg < 5; reg++)
		for (int k = 0; k < 200; k++) {
			rows[2 * n] = 0;
			rows[2 * n++ + 1] = reg;
		}
	for (int k = 0; k < 3; k++) {
		rows[2 * n] = 1;
		rows[2 * n++ + 1] = 0;
	}
	assert_int_equal(release_aggregate(&q, &f->d, rows, n, &r), CR_OK);
	assert_int_equal(release_noise(&q, &c, &f->d, &rng, &r), CR_OK);
	assert_int_equal(r.outcome, CR_OK);
	for (i = 0; i < r.ncells; i++) {
		sum_noisy += r.cells[i].noisy_count;
		if (r.cells[i].suppressed) {
			nsup++;
			sum_sup += r.cells[i].noisy_count;
			assert_true(r.cells[i].noisy_count < 50);
		} else {
			assert_true(r.cells[i].noisy_count >= 50);
		}
	}
	assert_int_equal(nsup, 10);                 /* all of b and c */
	assert_int_equal(r.nsuppressed, 10);
	assert_int_equal(r.suppressed_count, sum_sup < 0 ? 0 : sum_sup);
	assert_int_equal(r.noisy_total, sum_noisy);
	r.release_id = 1;
	assert_int_equal(release_json_build(&q, &c, &f->d, "00112233445566778899aabbccddeeff", &r), CR_OK);
	j = json_loads(r.json, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "cells")), 5);
	/* I4: what the partner receives is each released cell's noisy count,
	 * in cell order, never the exact one (the seeded noise moved at least
	 * one of them, so the two cannot be confused here) */
	{
		size_t next = 0, moved = 0;
		json_array_foreach(json_object_get(j, "cells"), i, cell) {
			assert_string_equal(json_string_value(json_object_get(json_object_get(cell, "dimensions"), "segment")), "a");
			assert_true(json_integer_value(json_object_get(cell, "count")) >= 50);
			while (next < r.ncells && r.cells[next].suppressed)
				next++;
			assert_true(next < r.ncells);
			assert_int_equal(json_integer_value(json_object_get(cell, "count")), r.cells[next].noisy_count);
			moved += r.cells[next].noisy_count != (int64_t)r.cells[next].count;
			next++;
		}
		assert_true(moved > 0);
	}
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "suppressed"), "cells")), 10);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "suppressed"), "count")),
			 r.suppressed_count);
	json_decref(j);
	release_result_release(&r);
	free(rows);
}

/* -------------------------------------------- I4: the threshold at k */

/*
 * The largest epsilon a rule allows (COLLAB_MILLI_MAX, 1000): the count's
 * noise then has scale 1/1000, and P(noise != 0) = 2q/(1 + q) with
 * q = e^-1000, so the noisy counts are the exact ones and k is met exactly.
 * The tests assert that the noise was zero rather than assume it.
 */
#define EPS_EXACT COLLAB_MILLI_MAX

/* One segment value per record: `na` records in a, `nb` in b, `nc` in c. */
static size_t segment_rows(int64_t *rows, size_t na, size_t nb, size_t nc)
{
	size_t n = 0;
	for (size_t i = 0; i < na; i++)
		rows[n++] = 0;
	for (size_t i = 0; i < nb; i++)
		rows[n++] = 1;
	for (size_t i = 0; i < nc; i++)
		rows[n++] = 2;
	return n;
}

static void assert_noise_was_zero(const struct release_result *r)
{
	for (size_t i = 0; i < r->ncells; i++)
		if (r->cells[i].noisy_count != (int64_t)r->cells[i].count)
			fail_msg("cell %zu: noisy %lld, exact %llu: the boundary is not exact", i,
				 (long long)r->cells[i].noisy_count, (unsigned long long)r->cells[i].count);
}

/* Aggregates and noises counts (na, nb, nc) of "segment" under k with the exact epsilon. */
static void noise_segments(struct mfx *f, uint32_t k, size_t na, size_t nb, size_t nc,
			   struct release_result *r)
{
	struct mfx_rng seed = { .seed = { 3 } };
	struct crypto_rng rng = { mfx_rng_fill, &seed };
	struct collab c = f->c;
	struct release_query q;
	int64_t *rows = calloc(na + nb + nc + 1, sizeof(int64_t));
	char why[128];
	size_t n = segment_rows(rows, na, nb, nc);
	c.k = k;
	c.epsilon_milli = EPS_EXACT;
	assert_int_equal(release_query_parse(&c, &f->d, "segment", NULL, &q, why, sizeof(why)), CR_OK);
	assert_int_equal(release_aggregate(&q, &f->d, rows, n, r), CR_OK);
	assert_int_equal(release_noise(&q, &c, &f->d, &rng, r), CR_OK);
	assert_noise_was_zero(r);
	free(rows);
}

/* I4, step 4: a cell with noisy count k - 1 is suppressed; k and k + 1 are released. */
static void test_i4_cell_suppressed_below_k_released_at_k(void **state)
{
	static const uint32_t ks[] = { COLLAB_K_MIN, COLLAB_K_DEFAULT, 1000 };
	struct mfx *f = *state;
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		struct release_result r = { 0 };
		uint32_t k = ks[i];
		noise_segments(f, k, k - 1, k, k + 1, &r);
		assert_true(r.cells[0].suppressed);         /* k - 1 */
		assert_false(r.cells[1].suppressed);        /* exactly k */
		assert_false(r.cells[2].suppressed);        /* k + 1 */
		assert_int_equal(r.nsuppressed, 1);
		assert_int_equal(r.suppressed_count, k - 1);
		assert_int_equal(r.noisy_total, 3 * (int64_t)k);
		assert_int_equal(r.outcome, CR_OK);
		release_result_release(&r);
	}
}

/* I4, step 5: the whole release is refused when the noisy total is k - 1,
 * released when it is exactly k, even with every cell under k. */
static void test_i4_release_refused_below_k_total(void **state)
{
	struct mfx *f = *state;
	struct release_result r = { 0 };
	uint32_t k = COLLAB_K_DEFAULT;
	noise_segments(f, k, k - 1, 0, 0, &r);          /* one cell, total k - 1 */
	assert_int_equal(r.noisy_total, k - 1);
	assert_int_equal(r.outcome, CR_ERR_RELEASE_BELOW_K);
	noise_segments(f, k, k, 0, 0, &r);              /* one cell, total k */
	assert_int_equal(r.noisy_total, k);
	assert_int_equal(r.outcome, CR_OK);
	assert_false(r.cells[0].suppressed);
	noise_segments(f, k, k - 2, 1, 0, &r);          /* all suppressed, total k - 1 */
	assert_int_equal(r.nsuppressed, 3);
	assert_int_equal(r.outcome, CR_ERR_RELEASE_BELOW_K);
	noise_segments(f, k, k - 1, 1, 0, &r);          /* all suppressed, total exactly k */
	assert_int_equal(r.nsuppressed, 3);
	assert_int_equal(r.noisy_total, k);
	assert_int_equal(r.outcome, CR_OK);
	release_result_release(&r);
}

/* The released JSON's cells: their segment names and counts, as "a=50,b=51". */
static void released_cells(const char *json, char *out, size_t cap)
{
	json_t *j = json_loads(json, 0, NULL), *cell;
	size_t i, pos = 0;
	assert_non_null(j);
	out[0] = '\0';
	json_array_foreach(json_object_get(j, "cells"), i, cell)
		pos += (size_t)snprintf(out + pos, pos < cap ? cap - pos : 0, "%s%s=%lld", i ? "," : "",
					json_string_value(json_object_get(json_object_get(cell, "dimensions"), "segment")),
					(long long)json_integer_value(json_object_get(cell, "count")));
	json_decref(j);
}

/* The whole procedure on a fresh collaboration at the exact epsilon (one release spends its budget). */
static void run_segments(struct mfx *f, uint32_t k, size_t na, size_t nb, size_t nc, struct release_result *r)
{
	struct mfx_rng seed = { .seed = { 4 } };
	struct crypto_rng rng = { mfx_rng_fill, &seed };
	struct release_ctx x = { "acme", "00112233445566778899aabbccddeeff", "partner", "partner-1", &rng, NULL };
	struct collab c;
	struct release_query q;
	int64_t *rows = calloc(na + nb + nc + 1, sizeof(int64_t));
	char why[128];
	size_t n = segment_rows(rows, na, nb, nc);
	mfx_collab(f, &c, "segment", "count", k, EPS_EXACT, EPS_EXACT, 0);
	assert_int_equal(release_query_parse(&c, &f->d, "segment", NULL, &q, why, sizeof(why)), CR_OK);
	assert_int_equal(release_run(f->a, &x, &c, &f->d, &q, rows, n, r), CR_OK);
	assert_noise_was_zero(r);
	assert_int_equal(r->epsilon_milli, EPS_EXACT);  /* charged either way */
	free(rows);
}

/* I4 through release_run: what the partner receives at the boundaries. */
static void test_i4_run_release_at_the_boundary(void **state)
{
	struct mfx *f = *state;
	struct release_result r;
	uint32_t k = COLLAB_K_MIN;
	char cells[128];
	run_segments(f, k, k - 1, k, k + 1, &r);
	assert_int_equal(r.outcome, CR_OK);
	released_cells(r.json, cells, sizeof(cells));
	assert_string_equal(cells, "b=10,c=11");        /* a (k - 1) suppressed */
	assert_non_null(strstr(r.json, "\"suppressed\":{\"cells\":1,\"count\":9}"));
	release_result_release(&r);

	run_segments(f, k, k - 1, 0, 0, &r);            /* noisy total k - 1 */
	assert_int_equal(r.outcome, CR_ERR_RELEASE_BELOW_K);
	assert_non_null(strstr(r.json, "\"reason\":\"below_k\""));
	assert_null(strstr(r.json, "\"cells\""));
	release_result_release(&r);

	run_segments(f, k, k, 0, 0, &r);                /* noisy total exactly k */
	assert_int_equal(r.outcome, CR_OK);
	assert_non_null(strstr(r.json, "\"outcome\":\"released\""));
	released_cells(r.json, cells, sizeof(cells));
	assert_string_equal(cells, "a=10");
	assert_non_null(strstr(r.json, "\"noisy_total\":10"));
	release_result_release(&r);
}

/* ----------------------------------------- epsilon split over metrics */

/* Var of the discrete Laplace of scale t: 2p/(1 - p)^2 with p = e^(-1/t) (docs/spec/privacy.md, 7). */
static double dlap_var(double t)
{
	double p = exp(-1.0 / t), one_minus_p = -expm1(-1.0 / t);
	return 2.0 * p / (one_minus_p * one_minus_p);
}

/*
 * Section 6: a query of count and sum:spend at epsilon 0.5 has m = 2
 * metrics, so the count's noise has scale 1 * 2 / 0.5 = 4 and the sum's
 * (spend in 0..10000, sensitivity 10000) 10000 * 2 / 0.5 = 40000. Over
 * 30,000 seeded draws of each, the empirical variance of noisy - exact must
 * be that law's: within [0.8, 1.25] of it, where the sample's own spread is
 * about 1.3 % (kurtosis 6: sqrt(5 / 30000)). Not splitting (scale 2 and
 * 20000) gives a quarter of the variance; no noise gives none.
 */
static void test_i4_epsilon_split_over_metrics(void **state)
{
	struct mfx *f = *state;
	struct mfx_rng seed = { .seed = { 5 } };
	struct crypto_rng rng = { mfx_rng_fill, &seed };
	struct collab c = f->c;
	struct release_query q;
	struct release_result r = { 0 };
	const size_t reps = 400;
	int64_t rows[300 * 4];
	double n = 0, cs = 0, cs2 = 0, ss = 0, ss2 = 0, want_c = dlap_var(4.0), want_s = dlap_var(40000.0);
	char why[128];
	c.max_dims = 3;          /* 75 cells per draw */
	c.epsilon_milli = 500;
	assert_int_equal(release_query_parse(&c, &f->d, "segment,region,age_band", "count,sum:spend", &q, why,
					     sizeof(why)), CR_OK);
	for (size_t i = 0; i < 300; i++) {   /* some records, so that exact values are not all zero */
		rows[4 * i] = (int64_t)(i % 3);
		rows[4 * i + 1] = (int64_t)(i % 5);
		rows[4 * i + 2] = (int64_t)(i % 7 % 5);
		rows[4 * i + 3] = (int64_t)(i * 37 % 10001);
	}
	assert_int_equal(release_aggregate(&q, &f->d, rows, 300, &r), CR_OK);
	for (size_t k = 0; k < reps; k++) {
		assert_int_equal(release_noise(&q, &c, &f->d, &rng, &r), CR_OK);
		for (size_t i = 0; i < r.ncells; i++) {
			double dc = (double)(r.cells[i].noisy_count - (int64_t)r.cells[i].count);
			double ds = (double)(r.cells[i].noisy_sum[0] - r.cells[i].sum[0]);
			cs += dc;
			cs2 += dc * dc;
			ss += ds;
			ss2 += ds * ds;
			n++;
		}
	}
	release_result_release(&r);
	/* centred: the mean within 6 standard errors of 0 */
	if (fabs(cs / n) > 6 * sqrt(want_c / n) || fabs(ss / n) > 6 * sqrt(want_s / n))
		fail_msg("noise not centred: count mean %g, sum mean %g", cs / n, ss / n);
	if (cs2 / n < 0.8 * want_c || cs2 / n > 1.25 * want_c)
		fail_msg("count noise variance %g, want %g (scale 4: epsilon split over 2 metrics)", cs2 / n,
			 want_c);
	if (ss2 / n < 0.8 * want_s || ss2 / n > 1.25 * want_s)
		fail_msg("sum noise variance %g, want %g (scale 40000: epsilon split over 2 metrics)", ss2 / n,
			 want_s);
}

/* ------------------------------------------------- the whole, on an app */

static cr_err rows_must_not_run(void *ctx, struct app *a, const int64_t **rows, const uint8_t **mask, size_t *n)
{
	(void)ctx;
	(void)a;
	(void)rows;
	(void)mask;
	(void)n;
	fail_msg("rows were produced for a query the budget could not pay for");
	return CR_ERR_INTERNAL;
}

static cr_err rows_fail(void *ctx, struct app *a, const int64_t **rows, const uint8_t **mask, size_t *n)
{
	(void)ctx;
	(void)a;
	(void)rows;
	(void)mask;
	(void)n;
	return CR_ERR_STORE;
}

static int64_t count_rows(struct mfx *f, const char *table)
{
	sqlite3_stmt *st = NULL;
	char sql[96];
	int64_t n;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	assert_int_equal(sqlite3_prepare_v2(f->a->store->db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void test_run_release_budget_and_refusals(void **state)
{
	struct mfx *f = *state;
	struct mfx_rng seed = { .seed = { 2 } };
	struct crypto_rng rng = { mfx_rng_fill, &seed };
	struct release_ctx x = { "acme", "00112233445566778899aabbccddeeff", "partner", "partner-1", &rng, NULL };
	struct collab c;
	struct release_query q;
	struct release_result r;
	int64_t rows[400];
	char why[128], *stored = NULL;
	size_t releases = mfx_leaves(f, "match.release"), refusals = mfx_leaves(f, "match.refuse");
	int64_t nrel = count_rows(f, "collab_releases"), ndeb = count_rows(f, "collab_ledger");
	for (size_t i = 0; i < 400; i++)
		rows[i] = (int64_t)(i % 3);
	mfx_collab(f, &c, "segment", "count", 10, 500, 1000, 0);
	assert_int_equal(release_query_parse(&c, &f->d, "segment", NULL, &q, why, sizeof(why)), CR_OK);

	/* released: row, debit and leaf together, the stored JSON is the answer */
	assert_int_equal(release_run(f->a, &x, &c, &f->d, &q, rows, 400, &r), CR_OK);
	assert_int_equal(r.outcome, CR_OK);
	assert_int_equal(r.budget_left_milli, 500);
	assert_int_equal(mfx_spent(f, &c), 500);
	assert_int_equal(count_rows(f, "collab_releases"), nrel + 1);
	assert_int_equal(count_rows(f, "collab_ledger"), ndeb + 1);
	assert_int_equal(mfx_leaves(f, "match.release"), releases + 1);
	assert_int_equal(collab_release_get(f->a->store, r.release_id, &stored), CR_OK);
	assert_string_equal(stored, r.json);
	free(stored);
	release_result_release(&r);

	/* under k (nobody matched): refused, charged, only the refusal stored */
	assert_int_equal(release_run(f->a, &x, &c, &f->d, &q, rows, 0, &r), CR_OK);
	assert_int_equal(r.outcome, CR_ERR_RELEASE_BELOW_K);
	assert_int_equal(r.epsilon_milli, 500);
	assert_null(strstr(r.json, "\"cells\""));
	assert_non_null(strstr(r.json, "\"reason\":\"below_k\""));
	assert_int_equal(mfx_spent(f, &c), 1000);
	assert_int_equal(mfx_leaves(f, "match.refuse"), refusals + 1);
	release_result_release(&r);

	/* budget gone: refused before the rows are produced, nothing charged */
	assert_int_equal(release_run_rows(f->a, &x, &c, &f->d, &q, rows_must_not_run, NULL, &r),
			 CR_ERR_BUDGET_EXHAUSTED);
	assert_int_equal(r.epsilon_milli, 0);
	assert_non_null(strstr(r.json, "\"charged\":false"));
	assert_non_null(strstr(r.json, "\"budget_left\":\"0.000\""));
	assert_int_equal(mfx_spent(f, &c), 1000);
	assert_int_equal(count_rows(f, "collab_ledger"), ndeb + 2);
	assert_int_equal(mfx_leaves(f, "match.refuse"), refusals + 2);
	release_result_release(&r);
}

/* I5: a failure inside the transaction leaves no row, no debit and no leaf. */
static void test_run_release_is_atomic(void **state)
{
	struct mfx *f = *state;
	struct release_ctx x = { "acme", "00112233445566778899aabbccddeeff", "partner", "partner-1", NULL, NULL };
	struct collab c;
	struct release_query q;
	struct release_result r;
	char why[128];
	int64_t nrel = count_rows(f, "collab_releases"), ndeb = count_rows(f, "collab_ledger");
	size_t leaves = mfx_leaves(f, "match.release") + mfx_leaves(f, "match.refuse");
	mfx_collab(f, &c, "segment", "count", 10, 0, 0, 0);
	assert_int_equal(release_query_parse(&c, &f->d, "segment", NULL, &q, why, sizeof(why)), CR_OK);
	assert_int_equal(release_run_rows(f->a, &x, &c, &f->d, &q, rows_fail, NULL, &r), CR_ERR_STORE);
	assert_null(r.json);
	assert_int_equal(count_rows(f, "collab_releases"), nrel);
	assert_int_equal(count_rows(f, "collab_ledger"), ndeb);
	assert_int_equal(mfx_leaves(f, "match.release") + mfx_leaves(f, "match.refuse"), leaves);
	assert_int_equal(mfx_spent(f, &c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_parse),
		cmocka_unit_test(test_noise_params),
		cmocka_unit_test(test_aggregate_exact_and_clamped),
		cmocka_unit_test(test_aggregate_masked_counts_only_the_mask),
		cmocka_unit_test(test_noise_drawn_ahead_is_the_same_noise),
		cmocka_unit_test(test_suppression_and_summary),
		cmocka_unit_test(test_i4_cell_suppressed_below_k_released_at_k),
		cmocka_unit_test(test_i4_release_refused_below_k_total),
		cmocka_unit_test(test_i4_run_release_at_the_boundary),
		cmocka_unit_test(test_i4_epsilon_split_over_metrics),
		cmocka_unit_test(test_run_release_budget_and_refusals),
		cmocka_unit_test(test_run_release_is_atomic),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
