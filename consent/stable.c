/*
 * stable.c: whether decisions made earlier still hold (consent_mark_get,
 * consent_stable_until in consent.h).
 *
 * A decision is a function of what it reads (the subject's events and
 * suppression entries, the brand's catalog, guardian links) and of its time
 * `at`. The mark covers the first: every table but the catalog's is
 * insert-only (R18: the history is never rewritten; an erasure removes
 * links to the log, not events), so a largest id or a row count moves with
 * every write, and the catalog has its own generation. The second is
 * covered by the instants at which the rules' comparisons with `at` can
 * flip (rules.c): an event counts once effective <= at, a grant lapses
 * once at >= expires, a suppression entry holds once since <= at, a
 * material notice change counts once published <= at, and an age is the
 * year of `at` less the birth year.
 */
#include <stdint.h>

#include "consent/consent_internal.h"

static cr_err int_query(sqlite3 *db, const char *sql, int64_t brand, int64_t *a, int64_t *b)
{
	sqlite3_stmt *st = NULL;
	int step;
	cr_err rc = CR_OK;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return consent_sqlite_err(db, sqlite3_errcode(db));
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, brand);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*a = sqlite3_column_int64(st, 0); /* NULL (an empty table) reads 0 */
		if (b)
			*b = sqlite3_column_int64(st, 1);
	} else if (step == SQLITE_DONE && b != NULL) {
		rc = CR_ERR_CONSENT_BRAND_NOT_FOUND;
	} else if (step != SQLITE_DONE) {
		rc = consent_sqlite_err(db, step);
	}
	sqlite3_finalize(st);
	return rc;
}

cr_err consent_mark_get(struct consent_ctx *ctx, int64_t brand, struct consent_mark *out)
{
	struct consent_mark m = { 0 };
	cr_err rc;

	if (ctx == NULL || out == NULL)
		return CR_ERR_INVALID_ARG;
	rc = int_query(ctx->db, "SELECT max(id) FROM consent_events", brand, &m.events, NULL);
	if (rc == CR_OK)
		rc = int_query(ctx->db, "SELECT max(id) FROM consent_guardian_links", brand, &m.guardians, NULL);
	if (rc == CR_OK)
		rc = int_query(ctx->db, "SELECT count(*) FROM consent_suppression WHERE brand_id = ?1", brand,
			       &m.suppressions, NULL);
	if (rc == CR_OK)
		rc = int_query(ctx->db, "SELECT catalog_gen, key_version FROM brands WHERE id = ?1", brand,
			       &m.catalog_gen, &m.key_version);
	if (rc == CR_OK)
		*out = m;
	return rc;
}

bool consent_mark_equal(const struct consent_mark *a, const struct consent_mark *b)
{
	return a->events == b->events && a->guardians == b->guardians && a->suppressions == b->suppressions &&
	       a->catalog_gen == b->catalog_gen && a->key_version == b->key_version;
}

/* The first instant of the UTC year after the one holding t. */
static cr_time_ms next_new_year(cr_time_ms t)
{
	return cr_time_from_civil((int64_t)consent_year_of(t) + 1, 1, 1);
}

static void earliest(cr_time_ms *until, cr_time_ms t, cr_time_ms at)
{
	if (t != CONSENT_TIME_NONE && t > at && t < *until)
		*until = t;
}

cr_err consent_stable_until(struct consent_ctx *ctx, int64_t brand, const struct crypto_pseudonym *p,
			    cr_time_ms at, cr_time_ms *out)
{
	const struct consent_catalog *c = NULL;
	const struct subject_history *h;
	const struct subject_supp *sp;
	cr_time_ms until;
	unsigned dv;
	int64_t tc;
	cr_err rc;

	if (ctx == NULL || p == NULL || out == NULL)
		return CR_ERR_INVALID_ARG;
	h = &ctx->hist;
	sp = &ctx->supp;
	consent_db_stamp(ctx, &dv, &tc);
	if (!consent_key_current(&h->key, brand, p, dv, tc) || !consent_key_current(&sp->key, brand, p, dv, tc))
		return CR_ERR_INVALID_ARG; /* not the subject the caches hold, or not as the database is */
	rc = consent_catalog_get(ctx, brand, &c);
	if (rc != CR_OK)
		return rc;
	until = next_new_year(at);
	for (size_t i = 0; i < h->n; i++) {
		earliest(&until, h->ev[i].effective, at);
		earliest(&until, h->ev[i].expires, at);
	}
	for (size_t i = 0; i < sp->n; i++)
		earliest(&until, sp->rows[i].since, at);
	for (size_t i = 0; i < c->nversions; i++)
		earliest(&until, c->versions[i].published, at);
	*out = until;
	return CR_OK;
}
