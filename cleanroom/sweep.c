/*
 * sweep.c: see sweep.h. Records are read in pseudonym order in one pass and
 * the denied ones collected, then deleted with the dataset's audit leaf in
 * one transaction, so a sweep never leaves a deletion unaudited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/registry.h"
#include "cleanroom/sweep.h"

struct denied {
	size_t n, cap;
	struct crypto_pseudonym *p;
};

static cr_err collect_denied(struct app *a, const struct dataset *d, cr_time_ms at,
			     struct denied *out, uint64_t *checked)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (sqlite3_prepare_v2(a->store->db, "SELECT pseudonym, key_version FROM records WHERE dataset_id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, d->id);
	rc = CR_OK;
	while (rc == CR_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		struct crypto_pseudonym p;
		enum ingest_verdict v = INGEST_ALLOW;
		char reason[40];
		if (sqlite3_column_bytes(st, 0) != CRYPTO_PSEUDONYM_BYTES) {
			rc = CR_ERR_STORE;
			break;
		}
		memcpy(p.bytes, sqlite3_column_blob(st, 0), CRYPTO_PSEUDONYM_BYTES);
		p.key_version = (uint32_t)sqlite3_column_int64(st, 1);
		(*checked)++;
		rc = registry_record_allowed(a, d, &p, at, &v, reason);
		if (rc == CR_OK && v != INGEST_ALLOW) {
			if (out->n == out->cap) {
				out->cap = out->cap ? out->cap * 2 : 64;
				out->p = cr_xrealloc(out->p, out->cap * sizeof(*out->p));
			}
			out->p[out->n++] = p;
		}
	}
	if (rc == CR_OK && step != SQLITE_DONE)
		rc = store_err(step);
out:
	sqlite3_finalize(st);
	return rc;
}

static cr_err delete_denied(struct app *a, const struct dataset *d, const struct denied *list,
			    const char *brand_name)
{
	char detail[64];
	struct audit_entry e = { .event_type = "dataset.sweep", .actor_role = "system", .actor_id = "sweep",
				 .tenant = brand_name, .dataset = d->name, .detail = detail };
	sqlite3_stmt *st = NULL;
	cr_err rc = app_begin(a);
	if (rc != CR_OK)
		return rc;
	if (sqlite3_prepare_v2(a->store->db,
			       "DELETE FROM records WHERE dataset_id = ?1 AND pseudonym = ?2 AND key_version = ?3",
			       -1, &st, NULL) != SQLITE_OK)
		rc = CR_ERR_STORE;
	for (size_t i = 0; i < list->n && rc == CR_OK; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, d->id);
		sqlite3_bind_blob(st, 2, list->p[i].bytes, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, list->p[i].key_version);
		rc = store_err(sqlite3_step(st));
	}
	sqlite3_finalize(st);
	snprintf(detail, sizeof(detail), "removed=%zu reason=consent_no_longer_valid", list->n);
	if (rc == CR_OK)
		rc = app_audit(a, &e, NULL);
	return app_end(a, rc);
}

struct dataset_list {
	size_t n, cap;
	struct dataset *d;
};

static void add_dataset(void *ctx, const struct dataset *d)
{
	struct dataset_list *l = ctx;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->d = cr_xrealloc(l->d, l->cap * sizeof(*l->d));
	}
	l->d[l->n++] = *d;
}

static cr_err brand_ids(struct app *a, int64_t brand, int64_t **ids, size_t *n)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_OK;
	int step;
	*n = 0;
	*ids = NULL;
	if (brand > 0) {
		*ids = cr_xmalloc(sizeof(int64_t));
		(*ids)[(*n)++] = brand;
		return CR_OK;
	}
	if (sqlite3_prepare_v2(a->store->db, "SELECT DISTINCT brand_id FROM datasets ORDER BY brand_id",
			       -1, &st, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		*ids = cr_xrealloc(*ids, (*n + 1) * sizeof(int64_t));
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	/* A failed step is an error, not the end of the list: otherwise a
	 * store failure would pass for a clean sweep that removed nothing. */
	if (step != SQLITE_DONE) {
		rc = store_err(step);
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

cr_err sweep_run(struct app *a, int64_t brand, cr_time_ms at, struct sweep_report *out)
{
	struct sweep_report rep = { 0 };
	int64_t *ids = NULL;
	size_t nids = 0;
	cr_err rc = brand_ids(a, brand, &ids, &nids);

	for (size_t b = 0; b < nids && rc == CR_OK; b++) {
		struct dataset_list l = { 0 };
		char name[CONSENT_BRAND_NAME_MAX + 1];
		rc = consent_brand_name(a->consent, ids[b], name);
		if (rc == CR_OK)
			rc = dataset_each(a->store, ids[b], add_dataset, &l);
		for (size_t i = 0; i < l.n && rc == CR_OK; i++) {
			struct denied list = { 0 };
			rc = collect_denied(a, &l.d[i], at, &list, &rep.checked);
			if (rc == CR_OK && list.n > 0)
				rc = delete_denied(a, &l.d[i], &list, name);
			rep.removed += list.n;
			rep.datasets++;
			free(list.p);
		}
		free(l.d);
	}
	free(ids);
	if (rc == CR_OK)
		*out = rep;
	return rc;
}
