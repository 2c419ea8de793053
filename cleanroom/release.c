/*
 * release.c: the release procedure of docs/spec/privacy.md (see release.h).
 *
 * Everything that reaches the partner is computed from noisy values only:
 * suppressed totals and the overall total are sums of noisy cell values
 * (post-processing, no extra epsilon), never of exact counts. The exact
 * cells stay in the result, on the service side, and are wiped with it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cleanroom/app.h"
#include "cleanroom/psi_session.h"
#include "cleanroom/release.h"

/* ---------------------------------------------------------------- query */

__attribute__((format(printf, 3, 4)))
static void why_set(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (why == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

/* Next comma-separated item of *p into item[cap]; false at the end or on an empty/long item. */
static bool next_item(const char **p, char *item, size_t cap, bool *bad)
{
	const char *s = *p, *end;
	size_t len;
	if (s == NULL || *s == '\0')
		return false;
	end = strchr(s, ',');
	len = end ? (size_t)(end - s) : strlen(s);
	if (len == 0 || len >= cap) {
		*bad = true;
		return false;
	}
	memcpy(item, s, len);
	item[len] = '\0';
	*p = end ? end + 1 : s + len;
	if (end && end[1] == '\0')
		*bad = true; /* a trailing comma */
	return true;
}

static bool rule_has(const char names[][COLUMN_NAME_MAX + 1], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static cr_err query_dims(const struct collab *c, const struct dataset *d, const char *group_by,
			 struct release_query *q, char *why, size_t cap)
{
	char item[COLUMN_NAME_MAX + 2];
	const char *p = group_by;
	bool bad = false;
	while (next_item(&p, item, sizeof(item), &bad)) {
		int col = columns_find(&d->columns, item);
		if (!rule_has(c->dims, c->ndims, item) || col < 0) {
			why_set(why, cap, "'%s' is not a dimension of the analysis rule", item);
			return CR_ERR_QUERY_DIMENSION;
		}
		for (size_t i = 0; i < q->ndims; i++)
			if (q->dims[i] == col) {
				why_set(why, cap, "'%s' is listed twice", item);
				return CR_ERR_QUERY_DIMENSION;
			}
		if (q->ndims == c->max_dims || q->ndims == RELEASE_DIMS_MAX) {
			if (why && cap)
				snprintf(why, cap, "at most %u per query",
					 (unsigned)(c->max_dims < RELEASE_DIMS_MAX ? c->max_dims : RELEASE_DIMS_MAX));
			return CR_ERR_QUERY_TOO_MANY_DIMS;
		}
		q->dims[q->ndims++] = col;
	}
	if (bad) {
		why_set(why, cap, "%s", "--group-by must be COLUMN[,COLUMN]");
		return CR_ERR_QUERY_DIMENSION;
	}
	return CR_OK;
}

static cr_err query_metrics(const struct collab *c, const struct dataset *d, const char *metrics,
			    struct release_query *q, char *why, size_t cap)
{
	char item[COLUMN_NAME_MAX + 8];
	const char *p = metrics;
	bool bad = false, count = false;
	while (next_item(&p, item, sizeof(item), &bad)) {
		int col = strncmp(item, "sum:", 4) == 0 ? columns_find(&d->columns, item + 4) : -1;
		bool dup = strcmp(item, "count") == 0 && count;
		if (strcmp(item, "count") == 0 && !dup) {
			count = true;
			continue;
		}
		for (size_t i = 0; i < q->nsums && col >= 0; i++)
			dup = dup || q->sums[i] == col;
		if (dup) {
			why_set(why, cap, "metric '%s' is listed twice", item);
			return CR_ERR_QUERY_METRIC;
		}
		if (col < 0 || !rule_has(c->sums, c->nsums, item + 4)) {
			why_set(why, cap, "metric '%s' is not allowed by the analysis rule", item);
			return CR_ERR_QUERY_METRIC;
		}
		q->sums[q->nsums++] = col;
	}
	if (bad) {
		why_set(why, cap, "%s", "--metrics must be count[,sum:COLUMN]");
		return CR_ERR_QUERY_METRIC;
	}
	return CR_OK;
}

/* The canonical text: dimension and metric names in the query's order. */
static void query_text(struct release_query *q, const struct dataset *d)
{
	size_t pos = 0, cap = sizeof(q->text);
	char *t = q->text;
	pos += (size_t)snprintf(t, cap, "group_by=");
	for (size_t i = 0; i < q->ndims && pos < cap; i++)
		pos += (size_t)snprintf(t + pos, cap - pos, "%s%s", i ? "," : "",
					d->columns.cols[q->dims[i]].name);
	if (pos < cap)
		pos += (size_t)snprintf(t + pos, cap - pos, ";metrics=count");
	for (size_t i = 0; i < q->nsums && pos < cap; i++)
		pos += (size_t)snprintf(t + pos, cap - pos, ",sum:%s", d->columns.cols[q->sums[i]].name);
}

cr_err release_query_parse(const struct collab *c, const struct dataset *d, const char *group_by,
			   const char *metrics, struct release_query *out, char *why, size_t why_cap)
{
	struct release_query q;
	cr_err rc;
	memset(&q, 0, sizeof(q));
	rc = query_dims(c, d, group_by, &q, why, why_cap);
	if (rc == CR_OK)
		rc = query_metrics(c, d, metrics, &q, why, why_cap);
	if (rc != CR_OK)
		return rc;
	q.ncells = 1;
	for (size_t i = 0; i < q.ndims; i++) {
		q.ncells *= d->columns.cols[q.dims[i]].nvalues;
		if (q.ncells > RELEASE_CELLS_MAX) {
			why_set(why, why_cap, "%s", "the dimensions have more than 65536 cells together");
			return CR_ERR_TOO_LARGE;
		}
	}
	query_text(&q, d);
	*out = q;
	return CR_OK;
}

/* ---------------------------------------------------------------- noise */

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

cr_err release_noise_params(uint64_t sensitivity, uint64_t epsilon_milli, unsigned nmetrics,
			    uint64_t *num, uint64_t *den)
{
	uint64_t n = epsilon_milli, d, g;
	if (sensitivity == 0 || epsilon_milli == 0 || nmetrics == 0 ||
	    __builtin_mul_overflow(sensitivity, (uint64_t)nmetrics * 1000u, &d))
		return CR_ERR_COLLAB_NOISE_RANGE;
	g = gcd_u64(n, d);
	n /= g;
	d /= g;
	if (n > RELEASE_NOISE_MAX || d > RELEASE_NOISE_MAX) {
		/* round the scale d/n up to an integer: more noise, never less */
		d = d / n + (d % n != 0);
		n = 1;
		if (d > RELEASE_NOISE_MAX)
			return CR_ERR_COLLAB_NOISE_RANGE;
	}
	*num = n;
	*den = d;
	return CR_OK;
}

uint64_t release_sum_sensitivity(const struct dataset *d, int col)
{
	const struct column *c = &d->columns.cols[col];
	uint64_t lo = c->lo < 0 ? (uint64_t)(-c->lo) : (uint64_t)c->lo;
	uint64_t hi = c->hi < 0 ? (uint64_t)(-c->hi) : (uint64_t)c->hi;
	uint64_t s = lo > hi ? lo : hi;
	return s ? s : 1;
}

/* ------------------------------------------------------------ aggregate */

void release_result_release(struct release_result *r)
{
	if (r == NULL)
		return;
	if (r->cells) {
		sodium_memzero(r->cells, r->ncells * sizeof(*r->cells));
		free(r->cells);
	}
	free(r->json);
	memset(r, 0, sizeof(*r));
}

/* The cell of one record: mixed radix over the dimensions, first dimension most significant. */
static cr_err cell_index(const struct release_query *q, const struct dataset *d, const int64_t *row,
			 size_t *out)
{
	size_t idx = 0;
	for (size_t i = 0; i < q->ndims; i++) {
		size_t nv = d->columns.cols[q->dims[i]].nvalues;
		if (row[i] < 0 || (uint64_t)row[i] >= nv)
			return CR_ERR_INVALID_ARG;
		idx = idx * nv + (size_t)row[i];
	}
	*out = idx;
	return CR_OK;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

cr_err release_aggregate_masked(const struct release_query *q, const struct dataset *d, const int64_t *rows,
				const uint8_t *mask, size_t n, struct release_result *r)
{
	size_t ncols = release_query_ncols(q);
	cr_err rc = CR_OK;
	release_result_release(r);
	r->ncells = q->ncells;
	r->cells = cr_xcalloc(q->ncells, sizeof(*r->cells));
	/* The same work for every row, in or out: the mask multiplies, it never branches. */
	for (size_t i = 0; i < n && rc == CR_OK; i++) {
		const int64_t *row = rows + i * ncols;
		int64_t in = mask ? (int64_t)(mask[i] & 1) : 1;
		size_t idx = 0;
		rc = cell_index(q, d, row, &idx);
		if (rc != CR_OK)
			break;
		r->cells[idx].count += (uint64_t)in;
		for (size_t s = 0; s < q->nsums; s++) {
			const struct column *col = &d->columns.cols[q->sums[s]];
			int64_t v = clamp(row[q->ndims + s], col->lo, col->hi) * in;
			if (__builtin_add_overflow(r->cells[idx].sum[s], v, &r->cells[idx].sum[s]))
				rc = CR_ERR_OVERFLOW;
		}
		r->rows_seen++;
	}
	if (rc != CR_OK)
		release_result_release(r);
	return rc;
}

cr_err release_aggregate(const struct release_query *q, const struct dataset *d, const int64_t *rows,
			 size_t n, struct release_result *r)
{
	return release_aggregate_masked(q, d, rows, NULL, n, r);
}

/* Saturating addition for totals of noisy values (they are only reported). */
static int64_t add_sat(int64_t a, int64_t b)
{
	int64_t s;
	if (!__builtin_add_overflow(a, b, &s))
		return s;
	return b > 0 ? INT64_MAX : INT64_MIN;
}

/* The sampler's parameters of the count and of every sum of q. */
static cr_err noise_params(const struct release_query *q, const struct collab *c, const struct dataset *d,
			   uint64_t num[static 1 + COLLAB_SUMS_MAX], uint64_t den[static 1 + COLLAB_SUMS_MAX])
{
	unsigned nm = (unsigned)(1 + q->nsums);
	cr_err rc = release_noise_params(1, c->epsilon_milli, nm, &num[0], &den[0]);
	for (size_t s = 0; s < q->nsums && rc == CR_OK; s++)
		rc = release_noise_params(release_sum_sensitivity(d, q->sums[s]), c->epsilon_milli, nm,
					  &num[1 + s], &den[1 + s]);
	return rc;
}

cr_err release_noise_draw(const struct release_query *q, const struct collab *c, const struct dataset *d,
			  const struct crypto_rng *rng, int64_t *z)
{
	uint64_t num[1 + COLLAB_SUMS_MAX], den[1 + COLLAB_SUMS_MAX];
	size_t per = 1 + q->nsums;
	cr_err rc = noise_params(q, c, d, num, den);
	for (size_t i = 0; i < q->ncells * per && rc == CR_OK; i++)
		rc = crypto_noise_discrete_laplace(rng, num[i % per], den[i % per], &z[i]);
	return rc;
}

cr_err release_noise_apply(const struct release_query *q, const struct collab *c, const int64_t *z,
			   struct release_result *r)
{
	size_t per = 1 + q->nsums;
	r->nsuppressed = 0;
	r->suppressed_count = r->noisy_total = 0;
	memset(r->suppressed_sum, 0, sizeof(r->suppressed_sum));
	for (size_t i = 0; i < r->ncells; i++) {
		struct release_cell *cell = &r->cells[i];
		const int64_t *zi = z + i * per;
		if (__builtin_add_overflow((int64_t)cell->count, zi[0], &cell->noisy_count))
			return CR_ERR_OVERFLOW;
		for (size_t s = 0; s < q->nsums; s++)
			if (__builtin_add_overflow(cell->sum[s], zi[1 + s], &cell->noisy_sum[s]))
				return CR_ERR_OVERFLOW;
		cell->suppressed = cell->noisy_count < (int64_t)c->k;
		r->noisy_total = add_sat(r->noisy_total, cell->noisy_count);
		if (!cell->suppressed)
			continue;
		r->nsuppressed++;
		r->suppressed_count = add_sat(r->suppressed_count, cell->noisy_count);
		for (size_t s = 0; s < q->nsums; s++)
			r->suppressed_sum[s] = add_sat(r->suppressed_sum[s], cell->noisy_sum[s]);
	}
	/* a negative total says nothing a zero would not (post-processing) */
	if (r->suppressed_count < 0)
		r->suppressed_count = 0;
	r->outcome = r->noisy_total < (int64_t)c->k ? CR_ERR_RELEASE_BELOW_K : CR_OK;
	r->epsilon_milli = c->epsilon_milli;
	return CR_OK;
}

cr_err release_noise(const struct release_query *q, const struct collab *c, const struct dataset *d,
		     const struct crypto_rng *rng, struct release_result *r)
{
	size_t nz = release_noise_count(q);
	int64_t *z = cr_xmalloc(nz ? nz * sizeof(int64_t) : 1);
	cr_err rc = release_noise_draw(q, c, d, rng, z);
	if (rc == CR_OK)
		rc = release_noise_apply(q, c, z, r);
	sodium_memzero(z, nz ? nz * sizeof(int64_t) : 1);
	free(z);
	return rc;
}

/* ----------------------------------------------------------------- JSON */

static json_t *query_json(const struct release_query *q, const struct dataset *d)
{
	json_t *g = json_array(), *m = json_array();
	for (size_t i = 0; i < q->ndims; i++)
		json_array_append_new(g, json_string(d->columns.cols[q->dims[i]].name));
	json_array_append_new(m, json_string("count"));
	for (size_t i = 0; i < q->nsums; i++) {
		char name[COLUMN_NAME_MAX + 8];
		snprintf(name, sizeof(name), "sum:%s", d->columns.cols[q->sums[i]].name);
		json_array_append_new(m, json_string(name));
	}
	return json_pack("{s:o, s:o}", "group_by", g, "metrics", m);
}

static json_t *sums_json(const struct release_query *q, const struct dataset *d, const int64_t *v)
{
	json_t *o = json_object();
	for (size_t i = 0; i < q->nsums; i++)
		json_object_set_new(o, d->columns.cols[q->sums[i]].name, json_integer((json_int_t)v[i]));
	return o;
}

/* The released cells: dimension values by name, noisy count and sums. */
static json_t *cells_json(const struct release_query *q, const struct dataset *d,
			  const struct release_result *r)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < r->ncells; i++) {
		const struct release_cell *cell = &r->cells[i];
		json_t *o, *dims;
		size_t rest = i;
		if (cell->suppressed)
			continue;
		dims = json_object();
		for (size_t k = q->ndims; k-- > 0;) {
			const struct column *col = &d->columns.cols[q->dims[k]];
			json_object_set_new(dims, col->name, json_string(col->values[rest % col->nvalues]));
			rest /= col->nvalues;
		}
		o = json_pack("{s:o, s:I}", "dimensions", dims, "count", (json_int_t)cell->noisy_count);
		if (q->nsums)
			json_object_set_new(o, "sum", sums_json(q, d, cell->noisy_sum));
		json_array_append_new(arr, o);
	}
	return arr;
}

static const char *refusal_reason(cr_err outcome)
{
	return outcome == CR_ERR_BUDGET_EXHAUSTED ? "budget_exhausted" : "below_k";
}

cr_err release_json_build(const struct release_query *q, const struct collab *c,
			  const struct dataset *d, const char *session, struct release_result *r)
{
	char eps[COLLAB_MILLI_STRLEN], budget[COLLAB_MILLI_STRLEN], left[COLLAB_MILLI_STRLEN];
	json_t *o;
	collab_milli_format(r->epsilon_milli, eps);
	collab_milli_format(r->budget_milli, budget);
	collab_milli_format(r->budget_left_milli, left);
	o = json_pack("{s:s, s:I, s:s, s:I, s:o, s:s, s:i, s:s, s:s, s:s, s:b}",
		      "release", "cr-release-v1", "collaboration", (json_int_t)c->id, "session", session,
		      "id", (json_int_t)r->release_id, "query", query_json(q, d),
		      "outcome", r->outcome == CR_OK ? "released" : "refused", "k", (int)c->k,
		      "epsilon_charged", eps, "budget", budget, "budget_left", left,
		      "charged", r->epsilon_milli > 0);
	if (o == NULL)
		return CR_ERR_NOMEM;
	if (r->outcome != CR_OK) {
		json_object_set_new(o, "reason", json_string(refusal_reason(r->outcome)));
		json_object_set_new(o, "message", json_string(cr_strerror(r->outcome)));
	} else {
		json_t *sup = json_pack("{s:I, s:I}", "cells", (json_int_t)r->nsuppressed,
					"count", (json_int_t)r->suppressed_count);
		if (q->nsums)
			json_object_set_new(sup, "sum", sums_json(q, d, r->suppressed_sum));
		json_object_set_new(o, "cells", cells_json(q, d, r));
		json_object_set_new(o, "suppressed", sup);
		json_object_set_new(o, "noisy_total", json_integer((json_int_t)r->noisy_total));
	}
	free(r->json);
	r->json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return r->json ? CR_OK : CR_ERR_NOMEM;
}

/* ----------------------------------------------------------- the whole */

static cr_err audit_release(struct app *a, const struct release_ctx *x, const struct collab *c,
			    const struct dataset *d, const struct release_query *q,
			    const struct release_result *r)
{
	char id[24], detail[RELEASE_QUERY_MAX + 256], eps[COLLAB_MILLI_STRLEN], left[COLLAB_MILLI_STRLEN];
	const char *recipients[1] = { c->partner };
	cr_err rc;
	struct audit_entry e = { .event_type = r->outcome == CR_OK ? "match.release" : "match.refuse",
				 .actor_role = x->actor_role, .actor_id = x->actor_id, .tenant = x->brand,
				 .dataset = d->name, .collaboration = id, .session = x->session,
				 .recipients = recipients, .n_recipients = 1, .detail = detail };
	snprintf(id, sizeof(id), "%lld", (long long)c->id);
	collab_milli_format(r->epsilon_milli, eps);
	collab_milli_format(r->budget_left_milli, left);
	if (r->outcome == CR_OK)
		snprintf(detail, sizeof(detail),
			 "release=%lld query=%s epsilon=%s budget_left=%s cells=%zu suppressed=%zu noisy_total=%lld",
			 (long long)r->release_id, q->text, eps, left, r->ncells, r->nsuppressed,
			 (long long)r->noisy_total);
	else
		snprintf(detail, sizeof(detail), "reason=%s release=%lld query=%s epsilon=%s budget_left=%s",
			 refusal_reason(r->outcome), (long long)r->release_id, q->text, eps, left);
	rc = app_audit(a, &e, NULL);
	/* The session's last leaf: it is no longer open (psi_recover.c). */
	return rc == CR_OK ? psi_open_row_end(a->store, x->session) : rc;
}

/* Aggregate and noise, inside the transaction, after the budget was found sufficient. */
static cr_err compute(const struct release_ctx *x, const struct collab *c, const struct dataset *d,
		      const struct release_query *q, release_rows_fn fn, void *ctx, struct app *a,
		      struct release_result *r)
{
	uint64_t budget = r->budget_milli, left = r->budget_left_milli;
	const int64_t *rows = NULL;
	const uint8_t *mask = NULL;
	size_t n = 0;
	cr_err rc = fn(ctx, a, &rows, &mask, &n);
	if (rc == CR_OK)
		rc = release_aggregate_masked(q, d, rows, mask, n, r);
	if (rc == CR_OK)
		rc = x->noise ? release_noise_apply(q, c, x->noise, r) : release_noise(q, c, d, x->rng, r);
	r->budget_milli = budget;
	r->budget_left_milli = left - c->epsilon_milli;
	return rc;
}

static cr_err store_release(struct app *a, const struct release_ctx *x, const struct collab *c,
			    const struct dataset *d, const struct release_query *q,
			    struct release_result *r)
{
	cr_time_ms now = cr_time_now();
	cr_err rc = collab_release_next_id(a->store, &r->release_id);
	if (rc == CR_OK)
		rc = release_json_build(q, c, d, x->session, r);
	if (rc == CR_OK)
		rc = collab_release_insert(a->store, r->release_id, c->id, x->session, now, q->text,
					   r->outcome == CR_OK, r->json);
	if (rc == CR_OK && r->epsilon_milli > 0)
		rc = collab_ledger_debit(a->store, c->id, now, q->text, r->epsilon_milli, r->release_id);
	if (rc == CR_OK)
		rc = audit_release(a, x, c, d, q, r);
	return rc;
}

cr_err release_run_rows(struct app *a, const struct release_ctx *x, const struct collab *c,
			const struct dataset *d, const struct release_query *q, release_rows_fn fn,
			void *ctx, struct release_result *r)
{
	struct collab_budget b;
	uint64_t left = 0;
	cr_err rc;
	memset(r, 0, sizeof(*r));
	rc = app_begin(a);
	if (rc != CR_OK)
		return rc;
	/* Step 2: the budget first, under the write lock, so two sessions (of
	 * any collaborations on the pair) cannot both spend the last of it, and
	 * a raise committed a moment ago counts. */
	rc = collab_budget_get(a->store, c->id, &b);
	if (rc != CR_OK)
		goto out;
	left = b.left_milli;
	r->budget_milli = b.budget_milli;
	r->budget_left_milli = left;
	if (c->epsilon_milli > left) {
		r->outcome = CR_ERR_BUDGET_EXHAUSTED;
		r->epsilon_milli = 0;
	} else {
		rc = compute(x, c, d, q, fn, ctx, a, r);
	}
	if (rc == CR_OK)
		rc = store_release(a, x, c, d, q, r);
out:
	rc = app_end(a, rc);
	if (rc != CR_OK) {
		release_result_release(r);
		return rc;
	}
	return r->outcome == CR_ERR_BUDGET_EXHAUSTED ? CR_ERR_BUDGET_EXHAUSTED : CR_OK;
}

struct fixed_rows {
	const int64_t *rows;
	size_t n;
};

static cr_err fixed_rows_fn(void *ctx, struct app *a, const int64_t **rows, const uint8_t **mask, size_t *n)
{
	const struct fixed_rows *f = ctx;
	(void)a;
	*rows = f->rows;
	*mask = NULL;
	*n = f->n;
	return CR_OK;
}

cr_err release_run(struct app *a, const struct release_ctx *x, const struct collab *c,
		   const struct dataset *d, const struct release_query *q, const int64_t *rows,
		   size_t n, struct release_result *r)
{
	struct fixed_rows f = { rows, n };
	return release_run_rows(a, x, c, d, q, fixed_rows_fn, &f, r);
}
