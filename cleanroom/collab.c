/*
 * collab.c: collaborations and their analysis rules (see collab.h); the
 * budget of their (dataset, partner) pairs is collab_budget.c's. Lists of
 * dimensions and sums are stored as comma-joined text: they are short,
 * checked against the dataset's columns on the way in and only ever
 * compared whole. Epsilon and budget are integers (thousandths).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/app.h"
#include "cleanroom/collab.h"
#include "cleanroom/pia.h"
#include "cleanroom/registry.h"
#include "cleanroom/release.h"

/* Collaborations created before pad_to existed get the floor (so their |A|
 * is 1024 · 2^j, docs/operations.md). */
const char collab_schema_v3[] =
	"ALTER TABLE collaborations ADD COLUMN pad_to INTEGER NOT NULL DEFAULT 1024"
	" CHECK (pad_to >= 64 AND pad_to <= 2147483648);";

const char collab_schema_v1[] =
	"CREATE TABLE collaborations ("
	"  id              INTEGER PRIMARY KEY,"
	"  brand_id        INTEGER NOT NULL,"
	"  dataset_id      INTEGER NOT NULL REFERENCES datasets(id),"
	"  partner         TEXT NOT NULL,"
	"  dimensions      TEXT NOT NULL,"
	"  sums            TEXT NOT NULL,"
	"  k               INTEGER NOT NULL CHECK (k >= 10),"
	"  max_dims        INTEGER NOT NULL CHECK (max_dims >= 1),"
	"  epsilon_milli   INTEGER NOT NULL CHECK (epsilon_milli >= 1),"
	"  budget_milli    INTEGER NOT NULL CHECK (budget_milli >= epsilon_milli),"
	"  min_partner_set INTEGER NOT NULL CHECK (min_partner_set >= 1),"
	"  max_partner_set INTEGER NOT NULL CHECK (max_partner_set >= min_partner_set),"
	"  created_ms      INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX collaborations_by_brand ON collaborations(brand_id);"
	"CREATE TABLE collab_releases ("
	"  id         INTEGER PRIMARY KEY,"
	"  collab_id  INTEGER NOT NULL REFERENCES collaborations(id),"
	"  session    TEXT NOT NULL,"
	"  time_ms    INTEGER NOT NULL,"
	"  query      TEXT NOT NULL,"
	"  outcome    TEXT NOT NULL CHECK (outcome IN ('released', 'refused')),"
	"  result     TEXT NOT NULL"
	") STRICT;"
	"CREATE TABLE collab_ledger ("
	"  id            INTEGER PRIMARY KEY,"
	"  collab_id     INTEGER NOT NULL REFERENCES collaborations(id),"
	"  time_ms       INTEGER NOT NULL,"
	"  query         TEXT NOT NULL,"
	"  epsilon_milli INTEGER NOT NULL CHECK (epsilon_milli >= 1),"
	"  release_id    INTEGER NOT NULL REFERENCES collab_releases(id)"
	") STRICT;"
	"CREATE INDEX collab_ledger_by_collab ON collab_ledger(collab_id);"
	"CREATE TRIGGER collaborations_immutable BEFORE UPDATE ON collaborations"
	" BEGIN SELECT RAISE(ABORT, 'collaborations are immutable'); END;"
	"CREATE TRIGGER collab_releases_no_update BEFORE UPDATE ON collab_releases"
	" BEGIN SELECT RAISE(ABORT, 'releases are append-only'); END;"
	"CREATE TRIGGER collab_releases_no_delete BEFORE DELETE ON collab_releases"
	" BEGIN SELECT RAISE(ABORT, 'releases are append-only'); END;"
	"CREATE TRIGGER collab_ledger_no_update BEFORE UPDATE ON collab_ledger"
	" BEGIN SELECT RAISE(ABORT, 'the budget ledger is append-only'); END;"
	"CREATE TRIGGER collab_ledger_no_delete BEFORE DELETE ON collab_ledger"
	" BEGIN SELECT RAISE(ABORT, 'the budget ledger is append-only'); END;";

/* ------------------------------------------------------------- numbers */

cr_err collab_milli_parse(const char *s, uint64_t *out)
{
	uint64_t whole = 0, frac = 0;
	size_t i = 0, places = 0;
	if (s == NULL || s[0] < '0' || s[0] > '9')
		return CR_ERR_COLLAB_EPSILON;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		whole = whole * 10 + (uint64_t)(s[i] - '0');
		if (whole > COLLAB_MILLI_MAX / 1000)
			return CR_ERR_COLLAB_EPSILON;
	}
	if (s[i] == '.') {
		for (i++; s[i] >= '0' && s[i] <= '9'; i++) {
			if (++places > 3)
				return CR_ERR_COLLAB_EPSILON;
			frac = frac * 10 + (uint64_t)(s[i] - '0');
		}
		if (places == 0)
			return CR_ERR_COLLAB_EPSILON;
	}
	if (s[i] != '\0')
		return CR_ERR_COLLAB_EPSILON;
	for (; places < 3; places++)
		frac *= 10;
	whole = whole * 1000 + frac;
	if (whole == 0 || whole > COLLAB_MILLI_MAX)
		return CR_ERR_COLLAB_EPSILON;
	*out = whole;
	return CR_OK;
}

void collab_milli_format(uint64_t milli, char buf[static COLLAB_MILLI_STRLEN])
{
	snprintf(buf, COLLAB_MILLI_STRLEN, "%llu.%03llu", (unsigned long long)(milli / 1000),
		 (unsigned long long)(milli % 1000));
}

/* ---------------------------------------------------------------- rules */

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

/*
 * Splits "a,b" into at most `max` items of `width` bytes each (NUL
 * included) at out + i * width; false on an empty, long or extra item.
 */
static bool split_list(const char *list, char *out, size_t width, size_t max, size_t *n)
{
	const char *p = list;
	*n = 0;
	if (list == NULL || *list == '\0')
		return true;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0 || len >= width || *n == max)
			return false;
		memcpy(out + *n * width, p, len);
		out[*n * width + len] = '\0';
		(*n)++;
		if (!end)
			return true;
		p = end + 1;
	}
}

static bool split_names(const char *list, char out[][COLUMN_NAME_MAX + 1], size_t max, size_t *n)
{
	return split_list(list, &out[0][0], COLUMN_NAME_MAX + 1, max, n);
}

static bool name_listed(char names[][COLUMN_NAME_MAX + 1], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* One dimension: an enum column of d, not listed before. */
static cr_err rule_dim(struct collab *c, const struct dataset *d, const char *name, char *why,
		       size_t cap)
{
	int col = columns_find(&d->columns, name);
	if (col < 0 || d->columns.cols[col].kind != COLUMN_ENUM) {
		why_set(why, cap, "dimension '%s' is not an enum column of the dataset", name);
		return CR_ERR_COLLAB_RULE;
	}
	if (name_listed(c->dims, c->ndims, name)) {
		why_set(why, cap, "dimension '%s' is listed twice", name);
		return CR_ERR_COLLAB_RULE;
	}
	memcpy(c->dims[c->ndims++], name, strlen(name) + 1); /* found: fits */
	return CR_OK;
}

/* One metric: "count", or "sum:<int column>" not listed before. */
static cr_err rule_metric(struct collab *c, const struct dataset *d, const char *m, bool *count,
			  char *why, size_t cap)
{
	const char *col_name = m + 4;
	int col;
	if (strcmp(m, "count") == 0) {
		*count = true;
		return CR_OK;
	}
	if (strncmp(m, "sum:", 4) != 0) {
		why_set(why, cap, "metric '%s' is neither count nor sum:COLUMN", m);
		return CR_ERR_COLLAB_RULE;
	}
	col = columns_find(&d->columns, col_name);
	if (col < 0 || d->columns.cols[col].kind != COLUMN_INT) {
		why_set(why, cap, "sum column '%s' is not an int column of the dataset", col_name);
		return CR_ERR_COLLAB_RULE;
	}
	if (name_listed(c->sums, c->nsums, col_name) || c->nsums == COLLAB_SUMS_MAX) {
		why_set(why, cap, "sum '%s' is listed twice or past the limit of 4 sums", col_name);
		return CR_ERR_COLLAB_RULE;
	}
	memcpy(c->sums[c->nsums++], col_name, strlen(col_name) + 1); /* found: fits */
	return CR_OK;
}

cr_err collab_rule_parse(struct collab *c, const struct dataset *d, const char *dims,
			 const char *metrics, char *why, size_t why_cap)
{
	char names[COLLAB_DIMS_MAX + COLLAB_SUMS_MAX + 1][COLUMN_NAME_MAX + 1];
	char mets[COLLAB_SUMS_MAX + 2][COLUMN_NAME_MAX + 5];
	size_t n = 0, nm = 0;
	bool count = false;
	cr_err rc = CR_OK;

	c->ndims = c->nsums = 0;
	if (!split_names(dims, names, COLLAB_DIMS_MAX, &n) || n == 0) {
		why_set(why, why_cap, "%s", "--dimensions must list 1-16 column names");
		return CR_ERR_COLLAB_RULE;
	}
	for (size_t i = 0; i < n && rc == CR_OK; i++)
		rc = rule_dim(c, d, names[i], why, why_cap);
	if (rc != CR_OK)
		return rc;
	if (!split_list(metrics ? metrics : "count", &mets[0][0], sizeof(mets[0]), COLLAB_SUMS_MAX + 2, &nm)) {
		why_set(why, why_cap, "%s", "--metrics must be count[,sum:COLUMN...] (at most 4 sums)");
		return CR_ERR_COLLAB_RULE;
	}
	for (size_t i = 0; i < nm && rc == CR_OK; i++)
		rc = rule_metric(c, d, mets[i], &count, why, why_cap);
	if (rc == CR_OK && !count) {
		why_set(why, why_cap, "%s", "--metrics must include count (it is always released)");
		rc = CR_ERR_COLLAB_RULE;
	}
	return rc;
}

/* Every metric of the widest query the rule allows must get drawable noise. */
static cr_err rule_noise_check(const struct collab *c, const struct dataset *d, char *why, size_t cap)
{
	unsigned nm = (unsigned)(1 + c->nsums);
	uint64_t num, den;
	cr_err rc = release_noise_params(1, c->epsilon_milli, nm, &num, &den);
	for (size_t i = 0; i < c->nsums && rc == CR_OK; i++) {
		int col = columns_find(&d->columns, c->sums[i]);
		rc = release_noise_params(release_sum_sensitivity(d, col), c->epsilon_milli, nm, &num, &den);
		if (rc != CR_OK)
			why_set(why, cap, "sum:%s has too wide a range for this epsilon", c->sums[i]);
	}
	return rc;
}

cr_err collab_rule_check(const struct collab *c, const struct dataset *d, char *why, size_t why_cap)
{
	if (c->k < COLLAB_K_MIN)
		return CR_ERR_COLLAB_K;
	if (c->epsilon_milli < 1 || c->epsilon_milli > COLLAB_MILLI_MAX ||
	    c->budget_milli > COLLAB_MILLI_MAX || c->epsilon_milli > c->budget_milli)
		return CR_ERR_COLLAB_EPSILON;
	if (c->max_dims < 1 || c->max_dims > RELEASE_DIMS_MAX) {
		why_set(why, why_cap, "%s", "--max-dims must be 1 to 4");
		return CR_ERR_COLLAB_RULE;
	}
	if (c->min_partner_set < 1 || c->min_partner_set > c->max_partner_set ||
	    c->max_partner_set > COLLAB_SET_LIMIT) {
		why_set(why, why_cap, "%s", "partner set limits must satisfy 1 <= min <= max <= 100000000");
		return CR_ERR_COLLAB_RULE;
	}
	if (c->pad_to != 0 && (c->pad_to < COLLAB_PAD_MIN || c->pad_to > COLLAB_PAD_MAX)) {
		why_set(why, why_cap, "%s", "--pad-to must be 64 to 2147483648");
		return CR_ERR_COLLAB_RULE;
	}
	return rule_noise_check(c, d, why, why_cap);
}

uint64_t collab_pad_default(uint64_t records)
{
	uint64_t want = records, step = 64, p;
	unsigned bits = 0;
	for (uint64_t v = want; v; v >>= 1)
		bits++;
	if (bits > 13)
		step = (uint64_t)1 << (bits - 7);
	p = (want + step - 1) / step * step;
	p = p < COLLAB_PAD_FLOOR ? COLLAB_PAD_FLOOR : p;
	return p > COLLAB_PAD_MAX ? COLLAB_PAD_MAX : p;
}

/* ------------------------------------------------------------- storing */

static void join_names(char names[][COLUMN_NAME_MAX + 1], size_t n, char *buf, size_t cap)
{
	size_t pos = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && pos < cap; i++) {
		int w = snprintf(buf + pos, cap - pos, "%s%s", i ? "," : "", names[i]);
		if (w < 0)
			break;
		pos += (size_t)w;
	}
}

static cr_err collab_insert(struct store *s, struct collab *c)
{
	char dims[COLLAB_DIMS_MAX * (COLUMN_NAME_MAX + 1) + 1], sums[COLLAB_SUMS_MAX * (COLUMN_NAME_MAX + 1) + 1];
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	join_names(c->dims, c->ndims, dims, sizeof(dims));
	join_names(c->sums, c->nsums, sums, sizeof(sums));
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO collaborations(brand_id, dataset_id, partner, dimensions, sums, k,"
			       " max_dims, epsilon_milli, budget_milli, min_partner_set, max_partner_set, created_ms,"
			       " pad_to) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, c->brand_id);
	sqlite3_bind_int64(st, 2, c->dataset_id);
	sqlite3_bind_text(st, 3, c->partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, dims, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, sums, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, c->k);
	sqlite3_bind_int64(st, 7, c->max_dims);
	sqlite3_bind_int64(st, 8, (int64_t)c->epsilon_milli);
	sqlite3_bind_int64(st, 9, (int64_t)c->budget_milli);
	sqlite3_bind_int64(st, 10, (int64_t)c->min_partner_set);
	sqlite3_bind_int64(st, 11, (int64_t)c->max_partner_set);
	sqlite3_bind_int64(st, 12, c->created);
	sqlite3_bind_int64(st, 13, (int64_t)c->pad_to);
	rc = store_err(sqlite3_step(st));
	if (rc == CR_OK)
		c->id = sqlite3_last_insert_rowid(s->db);
out:
	sqlite3_finalize(st);
	return rc;
}

/* The partner must be one of d's recipients, declared for one of d's purposes. */
static cr_err partner_check(struct app *a, const struct dataset *d, const char *partner)
{
	bool declared = false;
	if (!dataset_has_recipient(d, partner))
		return CR_ERR_COLLAB_PARTNER;
	for (size_t i = 0; i < d->npurposes && !declared; i++) {
		cr_err rc = consent_notice_declares(a->consent, d->brand_id, 0, d->purposes[i], partner,
						    &declared);
		if (rc != CR_OK)
			return rc;
	}
	return declared ? CR_OK : CR_ERR_COLLAB_PARTNER;
}

/* Whether the JSON list `cats` holds `name`. */
static bool category_listed(const json_t *cats, const char *name)
{
	size_t i;
	const json_t *v;
	json_array_foreach(cats, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			return true;
	return false;
}

/*
 * R10: the partner processes only the data categories the brand's current
 * notice declares for it (its recipients[] entry's "categories"): every
 * dimension and every summed column of the collaboration must be one.
 * `why` names the first that is not.
 */
static cr_err categories_check(struct app *a, const struct dataset *d, const struct collab *c, char *why,
			       size_t why_cap)
{
	char *text = NULL;
	const json_t *cats = NULL, *r;
	json_t *notice;
	size_t i;
	cr_err rc = consent_notice_get(a->consent, d->brand_id, 0, &text, NULL);
	if (rc != CR_OK)
		return rc;
	notice = json_loads(text, 0, NULL);
	free(text);
	if (notice == NULL)
		return CR_ERR_INTERNAL;
	json_array_foreach(json_object_get(notice, "recipients"), i, r)
		if (json_is_string(json_object_get(r, "id")) &&
		    strcmp(json_string_value(json_object_get(r, "id")), c->partner) == 0)
			cats = json_object_get(r, "categories");
	for (i = 0; i < c->ndims + c->nsums && rc == CR_OK; i++) {
		const char *name = i < c->ndims ? c->dims[i] : c->sums[i - c->ndims];
		if (!category_listed(cats, name)) {
			snprintf(why, why_cap, "the notice declares no category '%s' for recipient '%s'", name,
				 c->partner);
			rc = CR_ERR_COLLAB_CATEGORY;
		}
	}
	json_decref(notice);
	return rc;
}

static cr_err audit_create(struct app *a, const struct registry_actor *who, const char *brand,
			   const struct dataset *d, const struct collab *c, bool new_pair)
{
	char id[24], detail[1024], dims[COLLAB_DIMS_MAX * (COLUMN_NAME_MAX + 1) + 1];
	char sums[COLLAB_SUMS_MAX * (COLUMN_NAME_MAX + 1) + 1], eps[COLLAB_MILLI_STRLEN], budget[COLLAB_MILLI_STRLEN];
	const char *recipients[1] = { c->partner };
	struct audit_entry e = { .event_type = "collab.create", .actor_role = who->role,
				 .actor_id = who->id, .tenant = brand, .dataset = d->name,
				 .collaboration = id, .recipients = recipients, .n_recipients = 1 };
	snprintf(id, sizeof(id), "%lld", (long long)c->id);
	join_names((char (*)[COLUMN_NAME_MAX + 1])c->dims, c->ndims, dims, sizeof(dims));
	join_names((char (*)[COLUMN_NAME_MAX + 1])c->sums, c->nsums, sums, sizeof(sums));
	collab_milli_format(c->epsilon_milli, eps);
	collab_milli_format(c->budget_milli, budget);
	snprintf(detail, sizeof(detail),
		 "dimensions=%s sums=%s k=%u max_dims=%u epsilon=%s budget=%s budget_pair=%s min_partner_set=%llu"
		 " max_partner_set=%llu pad_to=%llu", dims, sums[0] ? sums : "-", c->k, c->max_dims, eps, budget,
		 new_pair ? "new" : "shared", (unsigned long long)c->min_partner_set,
		 (unsigned long long)c->max_partner_set, (unsigned long long)c->pad_to);
	e.detail = detail;
	return app_audit(a, &e, NULL);
}

cr_err collab_create(struct app *a, const struct registry_actor *who, const char *brand,
		     const struct dataset *d, struct collab *c, char *why, size_t why_cap)
{
	bool new_pair = false;
	cr_err rc = partner_check(a, d, c->partner);
	if (rc == CR_OK)
		rc = categories_check(a, d, c, why, why_cap);
	if (rc == CR_OK)
		rc = pia_transfer_check(a, d, c->partner, why, why_cap);
	if (rc != CR_OK)
		return rc;
	c->brand_id = d->brand_id;
	c->dataset_id = d->id;
	c->created = cr_time_now();
	rc = app_begin(a);
	if (rc != CR_OK)
		return rc;
	rc = collab_budget_take(a->store, d, c, &new_pair, why, why_cap);
	if (rc == CR_OK && c->pad_to == 0) {
		uint64_t records = 0;
		rc = dataset_record_count(a->store, d->id, &records);
		c->pad_to = collab_pad_default(records);
	}
	if (rc == CR_OK)
		rc = collab_rule_check(c, d, why, why_cap);
	if (rc == CR_OK)
		rc = collab_insert(a->store, c);
	if (rc == CR_OK)
		rc = audit_create(a, who, brand, d, c, new_pair);
	return app_end(a, rc);
}

/* ------------------------------------------------------------- reading */

/* A collaboration with its pair's budget now in place of the one it was created with. */
#define COLLAB_SELECT "SELECT c.id, c.brand_id, c.dataset_id, c.partner, c.dimensions, c.sums, c.k," \
		      " c.max_dims, c.epsilon_milli, " COLLAB_PAIR_BUDGET_SQL("b") ", c.min_partner_set," \
		      " c.max_partner_set, c.created_ms, c.pad_to FROM collaborations c JOIN collab_budgets b" \
		      " ON b.dataset_id = c.dataset_id AND b.partner = c.partner"

static cr_err row_to_collab(sqlite3_stmt *st, struct collab *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	c->brand_id = sqlite3_column_int64(st, 1);
	c->dataset_id = sqlite3_column_int64(st, 2);
	snprintf(c->partner, sizeof(c->partner), "%s", (const char *)sqlite3_column_text(st, 3));
	if (!split_names((const char *)sqlite3_column_text(st, 4), c->dims, COLLAB_DIMS_MAX, &c->ndims) ||
	    !split_names((const char *)sqlite3_column_text(st, 5), c->sums, COLLAB_SUMS_MAX, &c->nsums))
		return CR_ERR_STORE;
	c->k = (uint32_t)sqlite3_column_int64(st, 6);
	c->max_dims = (uint32_t)sqlite3_column_int64(st, 7);
	c->epsilon_milli = (uint64_t)sqlite3_column_int64(st, 8);
	c->budget_milli = (uint64_t)sqlite3_column_int64(st, 9);
	c->min_partner_set = (uint64_t)sqlite3_column_int64(st, 10);
	c->max_partner_set = (uint64_t)sqlite3_column_int64(st, 11);
	c->created = sqlite3_column_int64(st, 12);
	c->pad_to = (uint64_t)sqlite3_column_int64(st, 13);
	return CR_OK;
}

cr_err collab_get(struct store *s, int64_t id, struct collab *out)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (sqlite3_prepare_v2(s->db, COLLAB_SELECT " WHERE c.id = ?1", -1,
			       &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		rc = CR_ERR_COLLAB_NOT_FOUND;
	else
		rc = step == SQLITE_ROW ? row_to_collab(st, out) : store_err(step);
out:
	sqlite3_finalize(st);
	return rc;
}

cr_err collab_each(struct store *s, int64_t brand_id, void (*fn)(void *ctx, const struct collab *c),
		   void *ctx)
{
	sqlite3_stmt *st = NULL;
	struct collab c;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (sqlite3_prepare_v2(s->db, COLLAB_SELECT
			       " WHERE ?1 <= 0 OR c.brand_id = ?1 ORDER BY c.id", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, brand_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = row_to_collab(st, &c);
		if (rc != CR_OK)
			goto out;
		fn(ctx, &c);
	}
	rc = store_err(step);
out:
	sqlite3_finalize(st);
	return rc;
}

/* ------------------------------------------------ releases and debits */

cr_err collab_release_next_id(struct store *s, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(id), 0) + 1 FROM collab_releases", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	*out = sqlite3_column_int64(st, 0);
	rc = CR_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

cr_err collab_release_insert(struct store *s, int64_t id, int64_t collab_id, const char *session,
			     cr_time_ms t, const char *query, bool released, const char *json)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO collab_releases(id, collab_id, session, time_ms, query, outcome, result)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, collab_id);
	sqlite3_bind_text(st, 3, session, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, t);
	sqlite3_bind_text(st, 5, query, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, released ? "released" : "refused", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, json, -1, SQLITE_STATIC);
	rc = store_err(sqlite3_step(st));
out:
	sqlite3_finalize(st);
	return rc;
}

cr_err collab_release_get(struct store *s, int64_t id, char **json_out)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (sqlite3_prepare_v2(s->db, "SELECT result FROM collab_releases WHERE id = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*json_out = cr_xstrdup((const char *)sqlite3_column_text(st, 0));
		rc = CR_OK;
	} else {
		rc = step == SQLITE_DONE ? CR_ERR_NOT_FOUND : store_err(step);
	}
out:
	sqlite3_finalize(st);
	return rc;
}

/* ---------------------------------------------------------------- JSON */

json_t *collab_json(const struct collab *c, const char *dataset_name)
{
	char eps[COLLAB_MILLI_STRLEN], budget[COLLAB_MILLI_STRLEN], when[CR_TIME_STRLEN] = "";
	json_t *dims = json_array(), *metrics = json_array();
	for (size_t i = 0; i < c->ndims; i++)
		json_array_append_new(dims, json_string(c->dims[i]));
	json_array_append_new(metrics, json_string("count"));
	for (size_t i = 0; i < c->nsums; i++) {
		char m[COLUMN_NAME_MAX + 8];
		snprintf(m, sizeof(m), "sum:%s", c->sums[i]);
		json_array_append_new(metrics, json_string(m));
	}
	collab_milli_format(c->epsilon_milli, eps);
	collab_milli_format(c->budget_milli, budget);
	if (cr_time_format(c->created, when) != CR_OK)
		when[0] = '\0';
	return json_pack("{s:I, s:s, s:s, s:o, s:o, s:i, s:i, s:s, s:s, s:I, s:I, s:I, s:s}",
			 "id", (json_int_t)c->id, "dataset", dataset_name ? dataset_name : "",
			 "partner", c->partner, "dimensions", dims, "metrics", metrics,
			 "k", (int)c->k, "max_dims", (int)c->max_dims, "epsilon", eps, "budget", budget,
			 "min_partner_set", (json_int_t)c->min_partner_set,
			 "max_partner_set", (json_int_t)c->max_partner_set, "pad_to", (json_int_t)c->pad_to,
			 "created", when);
}
