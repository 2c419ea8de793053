/*
 * release.h: what a partner may learn from a match, and nothing more
 * (internal to cleanroom/; docs/spec/privacy.md, I4).
 *
 * The release procedure, per query, after the PSI:
 *   1. cells: every combination of the requested dimensions' declared
 *      values (empty cells included: which cells exist never depends on
 *      the data), each matched subject in exactly one;
 *   2. the budget is charged first: a query whose epsilon exceeds what is
 *      left is refused before anything is aggregated, and charged nothing;
 *   3. discrete Laplace noise on every cell and metric, drawn exactly
 *      (crypto_noise_discrete_laplace), with scale sensitivity / epsilon_m,
 *      where epsilon_m is the query's epsilon split evenly over its metrics
 *      (count, then each sum; sensitivity 1 for the count and max(|lo|,|hi|)
 *      for a sum clamped to its column's declared range);
 *   4. cells whose noisy count is under k are suppressed; the release says
 *      how many and gives their noisy totals (the sum of their noisy values:
 *      post-processing, no extra epsilon), so totals reconcile;
 *   5. when the noisy total over all cells (again a sum of noisy counts) is
 *      under k, only the refusal is released, and it is charged;
 *   6. the release row (the JSON the partner sees), the debit and the audit
 *      leaf are stored in one transaction before the answer is returned.
 *
 * The pure steps (release_query_parse, release_aggregate, release_noise)
 * need no store, so tests drive them directly; release_run is the whole
 * procedure on an app.
 */
#ifndef CR_CLEANROOM_RELEASE_H
#define CR_CLEANROOM_RELEASE_H

#include "common/common.h"
#include "crypto/crypto.h"
#include "cleanroom/collab.h"
#include "cleanroom/dataset.h"

struct app;

#define RELEASE_DIMS_MAX 4          /* a rule may allow more than 2, never more than this */
#define RELEASE_CELLS_MAX 65536     /* cells of one query (product of value counts) */
#define RELEASE_QUERY_MAX 512       /* canonical query text */
#define RELEASE_COLS_MAX (RELEASE_DIMS_MAX + COLLAB_SUMS_MAX)
#define RELEASE_NOISE_MAX ((uint64_t)1 << 32) /* the sampler's parameter limit */

/*
 * A parsed query: the dataset column indexes of its dimensions and sums, in
 * the order given, and its canonical text ("group_by=segment,region;
 * metrics=count,sum:spend"), which the ledger and the audit log record.
 * A matched record enters the release as ncols() values: its dimension
 * values (enum indexes), then its sum columns.
 */
struct release_query {
	size_t ndims;
	int dims[RELEASE_DIMS_MAX];
	size_t nsums;
	int sums[COLLAB_SUMS_MAX];
	size_t ncells;
	char text[RELEASE_QUERY_MAX];
};

static inline size_t release_query_ncols(const struct release_query *q)
{
	return q->ndims + q->nsums;
}

/*
 * Parses --group-by ("segment,region", NULL or "" for none) and --metrics
 * ("count,sum:spend", NULL for count alone; count is always included)
 * against collaboration c's rule on dataset d. Refusals:
 * CR_ERR_QUERY_DIMENSION (not allowed, or twice), CR_ERR_QUERY_TOO_MANY_DIMS
 * (more than c->max_dims or RELEASE_DIMS_MAX), CR_ERR_QUERY_METRIC (not
 * allowed, malformed, or twice), CR_ERR_TOO_LARGE (more than
 * RELEASE_CELLS_MAX cells); `why` names the item.
 */
cr_err release_query_parse(const struct collab *c, const struct dataset *d, const char *group_by,
			   const char *metrics, struct release_query *out, char *why,
			   size_t why_cap) CR_MUST_CHECK;

/*
 * The sampler's parameters for one metric: scale = sensitivity * nmetrics /
 * epsilon, as num/den with scale den/num (crypto_noise_discrete_laplace),
 * reduced. When they exceed RELEASE_NOISE_MAX the scale is rounded UP to an
 * integer (more noise, never less); CR_ERR_COLLAB_NOISE_RANGE when even
 * that does not fit.
 */
cr_err release_noise_params(uint64_t sensitivity, uint64_t epsilon_milli, unsigned nmetrics,
			    uint64_t *num, uint64_t *den) CR_MUST_CHECK;

/* The sensitivity of a sum of column `col` of d: max(|lo|, |hi|). */
uint64_t release_sum_sensitivity(const struct dataset *d, int col);

struct release_cell {
	/* exact, service side only; wiped with the result */
	uint64_t count;
	int64_t sum[COLLAB_SUMS_MAX];
	/* what may be released */
	int64_t noisy_count;
	int64_t noisy_sum[COLLAB_SUMS_MAX];
	bool suppressed;
};

/* The outcome of a release step, and what the partner sees. */
struct release_result {
	cr_err outcome;        /* CR_OK, CR_ERR_RELEASE_BELOW_K or CR_ERR_BUDGET_EXHAUSTED */
	size_t ncells;
	struct release_cell *cells;  /* owned; cell i's dimension values are the mixed-radix digits of i */
	size_t nsuppressed;
	int64_t suppressed_count;    /* sum of the suppressed cells' noisy counts (>= 0) */
	int64_t suppressed_sum[COLLAB_SUMS_MAX];
	int64_t noisy_total;         /* sum of every cell's noisy count */
	uint64_t epsilon_milli;      /* charged by this release (0 if refused for budget) */
	uint64_t budget_milli, budget_left_milli;
	int64_t release_id;          /* the stored row (0 before release_run stores it) */
	size_t rows_seen;            /* rows the aggregation went through, counted or not */
	char *json;                  /* owned: the release the partner receives */
};

/*
 * Step 1: the exact cells of n matched records, each given as
 * release_query_ncols(q) values (dimension value indexes, then sums) at
 * rows + i * ncols. Sums are clamped to their column's range (they are
 * already in it after ingestion; clamping keeps the sensitivity true even
 * if not). CR_ERR_OVERFLOW if a sum leaves int64; CR_ERR_INVALID_ARG for a
 * dimension value outside its column. r is reset first.
 */
cr_err release_aggregate(const struct release_query *q, const struct dataset *d,
			 const int64_t *rows, size_t n, struct release_result *r) CR_MUST_CHECK;
/*
 * release_aggregate over every row, counting row i only if mask[i] is 1
 * (mask NULL: all). Each row costs the same whether it counts or not, so
 * the time says nothing of how many do.
 */
cr_err release_aggregate_masked(const struct release_query *q, const struct dataset *d,
				const int64_t *rows, const uint8_t *mask, size_t n,
				struct release_result *r) CR_MUST_CHECK;

/* The noise values a query needs: one per cell and metric. */
static inline size_t release_noise_count(const struct release_query *q)
{
	return q->ncells * (1 + q->nsums);
}

/*
 * Step 3's draws, made ahead of the data (a session draws them when it
 * opens, so their sampling time is not in the answer's): z receives
 * release_noise_count(q) values, cell by cell, the count's then each sum's,
 * each from crypto_noise_discrete_laplace with that metric's scale.
 */
cr_err release_noise_draw(const struct release_query *q, const struct collab *c, const struct dataset *d,
			  const struct crypto_rng *rng, int64_t *z) CR_MUST_CHECK;

/* Steps 3 to 5 with the draws z of release_noise_draw (see release_noise). */
cr_err release_noise_apply(const struct release_query *q, const struct collab *c, const int64_t *z,
			   struct release_result *r) CR_MUST_CHECK;

/*
 * Steps 3 to 5 on aggregated cells: noise for every cell and metric with
 * `rng` (NULL: randombytes), suppression under c->k, the suppressed
 * summary and the noisy total; sets r->outcome to CR_OK or
 * CR_ERR_RELEASE_BELOW_K and r->epsilon_milli to c->epsilon_milli.
 */
cr_err release_noise(const struct release_query *q, const struct collab *c, const struct dataset *d,
		     const struct crypto_rng *rng, struct release_result *r) CR_MUST_CHECK;

/*
 * Builds r->json, the release as the partner receives it: collaboration,
 * session, release id, query, outcome (and reason when refused), k,
 * epsilon charged, budget and budget left, and only when released the
 * cells that passed k (dimension values by name, noisy count and sums),
 * the suppressed summary and the noisy total. Never an exact count.
 */
cr_err release_json_build(const struct release_query *q, const struct collab *c,
			  const struct dataset *d, const char *session,
			  struct release_result *r) CR_MUST_CHECK;

/* Who ran the release, for the audit leaves. Strings are borrowed. */
struct release_ctx {
	const char *brand;        /* the brand's name (the leaf's tenant) */
	const char *session;      /* the session id (hex) */
	const char *actor_role;
	const char *actor_id;
	const struct crypto_rng *rng;  /* NULL: randombytes (tests pass a seeded one) */
	const int64_t *noise;          /* drawn ahead (release_noise_draw), or NULL: drawn with rng */
};

/*
 * The whole procedure (steps 1-6) in one write transaction: the budget is
 * checked first (refused: a "match.refuse" leaf and a release row with the
 * refusal, nothing charged, returns CR_ERR_BUDGET_EXHAUSTED); otherwise
 * aggregate, noise, and store the release row, the debit and a
 * "match.release" (or, under k, "match.refuse") leaf, then commit. Returns
 * CR_OK when the answer is stored (r->outcome says released or refused
 * under k); r->json is the stored answer. On any other error nothing is
 * stored. *r is reset first and must be released with
 * release_result_release.
 */
cr_err release_run(struct app *a, const struct release_ctx *rc, const struct collab *c,
		   const struct dataset *d, const struct release_query *q, const int64_t *rows,
		   size_t n, struct release_result *r) CR_MUST_CHECK;

/*
 * Produces the rows inside release_run_rows's write transaction, after the
 * budget check and only if it passed: *rows (borrowed until
 * release_run_rows returns) holds *n records of release_query_ncols values,
 * and *mask (borrowed, or NULL for all) says which of them count
 * (release_aggregate_masked).
 * Running under the write lock lets the caller drop records a withdrawal
 * removed a moment earlier (I3): no withdrawal can commit in between.
 */
typedef cr_err (*release_rows_fn)(void *ctx, struct app *a, const int64_t **rows, const uint8_t **mask,
				  size_t *n);

/* release_run with the rows produced by fn(ctx, ...) inside the transaction. */
cr_err release_run_rows(struct app *a, const struct release_ctx *rc, const struct collab *c,
			const struct dataset *d, const struct release_query *q, release_rows_fn fn,
			void *ctx, struct release_result *r) CR_MUST_CHECK;

/* Wipes the exact cells and frees; accepts a zeroed or released result. */
void release_result_release(struct release_result *r);

#endif
