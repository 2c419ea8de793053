/*
 * ops_ingest.c: consent-gated ingestion with its audit leaves, shared by
 * `cleanroom ingest` and POST /v1/brands/{brand}/datasets/{name}/ingest:
 * the registry's gate, one "dataset.ingest" leaf per committed batch
 * (counts and a commitment, no personal data), and the report as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/ops.h"

struct ingest_ctx {
	struct app *a;
	int64_t chunk_start_ms;  /* about when the open batch began (the last one's end) */
	const struct registry_actor *who;
	const char *brand;
	ops_progress_fn progress;
	void *progress_ctx;
};

/*
 * The batch's salted commitment: the RFC 6962 root over the sorted
 * SHA-256(salt || pseudonym) of its stored rows, each under its subject's
 * erasable audit salt. Whoever holds the log but not the salts cannot test
 * a pseudonym against it, and once a subject is erased nobody can; the
 * root, and so every proof of the leaf, stays as it was.
 */
static int commit_cmp(const void *x, const void *y)
{
	return memcmp(x, y, AUDIT_HASH_BYTES);
}

static cr_err batch_root(struct app *a, const struct ingest_batch *b, uint8_t root[static AUDIT_HASH_BYTES])
{
	size_t n = (size_t)b->accepted;
	uint8_t *c = cr_xcalloc(n ? n : 1, AUDIT_HASH_BYTES);
	cr_err rc = CR_OK;
	for (size_t i = 0; i < n && rc == CR_OK; i++)
		rc = audit_subject_commitment(a->log, b->pseudonyms + i * 32, c + i * AUDIT_HASH_BYTES);
	if (rc == CR_OK) {
		qsort(c, n, AUDIT_HASH_BYTES, commit_cmp);
		audit_list_root(c, n, AUDIT_HASH_BYTES, root);
	}
	free(c);
	return rc;
}

/* One audit leaf per committed batch: counts and the salted commitment, no personal data. */
static cr_err on_batch(void *ctx, const struct ingest_batch *b)
{
	struct ingest_ctx *c = ctx;
	char hex[65], detail[256];
	uint8_t root[AUDIT_HASH_BYTES];
	struct audit_entry e = { .event_type = "dataset.ingest", .actor_role = c->who->role,
				 .actor_id = c->who->id, .tenant = c->brand, .dataset = b->dataset->name };
	cr_err rc = batch_root(c->a, b, root);
	if (rc != CR_OK)
		return rc;
	if (cr_hex_encode(root, sizeof(root), hex, sizeof(hex)) != CR_OK)
		return CR_ERR_INTERNAL;
	snprintf(detail, sizeof(detail),
		 "rows=%llu accepted=%llu replaced=%llu rejected=%llu lines=%llu-%llu records_root=%s",
		 (unsigned long long)b->rows, (unsigned long long)b->accepted,
		 (unsigned long long)b->replaced, (unsigned long long)b->rejected,
		 (unsigned long long)b->first_line, (unsigned long long)b->last_line, hex);
	e.detail = detail;
	return app_audit(c->a, &e, NULL);
}

/* Between two batches, none open: a waiting writer may have the store (the service). */
static void on_progress(void *ctx, uint64_t rows, uint64_t bytes)
{
	struct ingest_ctx *c = ctx;
	app_store_yield(c->a);
	c->chunk_start_ms = cr_monotonic_ms();
	if (c->progress)
		c->progress(c->progress_ctx, rows, bytes);
}

/* Ends the batch early when another request waits for the store (the service). */
static bool ingest_cut(void *ctx)
{
	struct ingest_ctx *c = ctx;
	return app_store_wanted(c->a, c->chunk_start_ms);
}

cr_err ops_ingest(struct app *a, const struct registry_actor *who, const char *brand,
		  const struct dataset *d, FILE *f, const char *name_hint,
		  const struct crypto_id_opts *id_opts, unsigned threads,
		  ops_progress_fn progress, void *progress_ctx, struct ingest_report *rep,
		  char *err, size_t errcap)
{
	struct ingest_ctx c = { a, cr_monotonic_ms(), who, brand, progress, progress_ctx };
	struct crypto_pool *pool = NULL;
	struct registry_gate gstate;
	struct ingest_gate gate;
	struct ingest_hooks hooks = { on_batch, &c, on_progress, ingest_cut };
	struct ingest_opts opts = { .id_opts = id_opts }; /* each batch judged when it begins */
	cr_err rc = crypto_pool_create(threads, &pool);
	if (rc != CR_OK)
		return rc;
	registry_ingest_gate(&gstate, a, &gate);
	rc = ingest_run(a->store, a->keys, pool, d, f, name_hint, &opts, &gate, &hooks, rep, err, errcap);
	crypto_pool_free(pool);
	return rc;
}

json_t *ops_ingest_report_json(const struct ingest_report *r, const char *brand, const char *dataset)
{
	json_t *rej = json_object(), *reasons = json_object();
	for (size_t i = 0; i < r->nreasons; i++)
		json_object_set_new(reasons, r->reasons[i].name, json_integer((json_int_t)r->reasons[i].count));
	for (int o = 0; o < INGEST_OUTCOME_COUNT; o++) {
		const struct ingest_rejections *x = &r->rejected[o];
		json_t *lines = json_array();
		for (size_t i = 0; i < x->nlines; i++)
			json_array_append_new(lines, json_integer((json_int_t)x->lines[i]));
		json_t *one = json_pack("{s:I, s:o}", "count", (json_int_t)x->count, "first_lines", lines);
		if (o == INGEST_NO_CONSENT)
			json_object_set(one, "by_reason", reasons);
		json_object_set_new(rej, ingest_outcome_name((enum ingest_outcome)o), one);
	}
	json_decref(reasons);
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:I}", "brand", brand, "dataset", dataset,
			 "read", (json_int_t)r->read, "accepted", (json_int_t)r->accepted,
			 "replaced", (json_int_t)r->replaced, "rejected", rej, "batches", (json_int_t)r->batches);
}
