/*
 * ops_access.c: a person's access and portability copy (GDPR 15 and 20,
 * PIPL 45), shared by the consent center (POST /web/v1/link/access) and the
 * brand's subject export: their consent history with every receipt
 * (ops_subject_export) and what the brand holds under their pseudonyms
 * today, dataset by dataset, with the attribute values as stored.
 * Format "cr-subject-access-v1" (docs/spec/formats.md). Only rows stored
 * under the person's own pseudonyms are read, so nothing of another person
 * can appear.
 */
#include <string.h>

#include "cleanroom/ops.h"

struct holdings {
	struct app *a;
	const struct crypto_pseudonym *p;
	size_t n;
	json_t *list;
	cr_err rc;
};

/* The stored attributes (8 bytes, big endian, per column) as text by column name. */
static json_t *attributes_json(const struct dataset *d, const uint8_t *attrs, size_t len)
{
	json_t *o = json_object();
	for (size_t k = 0; k < d->columns.n && (k + 1) * 8 <= len; k++) {
		uint64_t v = 0;
		char text[COLUMN_VALUE_MAX + 32];
		for (int b = 0; b < 8; b++)
			v = v << 8 | attrs[k * 8 + (size_t)b];
		column_value_text(&d->columns.cols[k], (int64_t)v, text, sizeof(text));
		json_object_set_new(o, d->columns.cols[k].name, json_string(text));
	}
	return o;
}

static json_t *codes_json(const char codes[][DATASET_CODE_MAX + 1], size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(codes[i]));
	return a;
}

/* One dataset: the person's record there, if it holds one under any of their pseudonyms. */
static void dataset_holding(void *ctx, const struct dataset *d)
{
	struct holdings *h = ctx;
	sqlite3_stmt *st = NULL;
	if (h->rc != CR_OK)
		return;
	if (sqlite3_prepare_v2(h->a->store->db,
			       "SELECT attrs, ingested_ms, key_version FROM records WHERE dataset_id = ?1 AND pseudonym = ?2",
			       -1, &st, NULL) != SQLITE_OK) {
		h->rc = CR_ERR_STORE;
		return;
	}
	for (size_t i = 0; i < h->n && h->rc == CR_OK; i++) {
		int step;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, d->id);
		sqlite3_bind_blob(st, 2, h->p[i].bytes, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
		step = sqlite3_step(st);
		if (step == SQLITE_ROW) {
			char when[CR_TIME_STRLEN] = "";
			if (cr_time_format(sqlite3_column_int64(st, 1), when) != CR_OK)
				when[0] = '\0';
			json_array_append_new(h->list, json_pack(
				"{s:s,s:o,s:o,s:s,s:I,s:o}", "dataset", d->name,
				"purposes", codes_json(d->purposes, d->npurposes),
				"recipients", codes_json(d->recipients, d->nrecipients), "stored", when,
				"key_version", (json_int_t)sqlite3_column_int64(st, 2),
				"attributes", attributes_json(d, sqlite3_column_blob(st, 0),
							      (size_t)sqlite3_column_bytes(st, 0))));
		} else if (step != SQLITE_DONE) {
			h->rc = store_err(step);
		}
	}
	sqlite3_finalize(st);
}

cr_err ops_subject_holdings(struct app *a, int64_t brand, const struct crypto_pseudonym *p, size_t n,
			    json_t **out)
{
	struct holdings h = { a, p, n, json_array(), CR_OK };
	cr_err rc = dataset_each(a->store, brand, dataset_holding, &h);
	if (rc == CR_OK)
		rc = h.rc;
	if (rc != CR_OK) {
		json_decref(h.list);
		return rc;
	}
	*out = h.list;
	return CR_OK;
}

cr_err ops_subject_access(struct app *a, int64_t brand, const struct crypto_pseudonym *p, size_t n,
			  json_t **out)
{
	char when[CR_TIME_STRLEN] = "";
	json_t *doc = NULL, *held = NULL;
	cr_err rc = ops_subject_export(a, brand, p, n, &doc);
	if (rc == CR_OK)
		rc = ops_subject_holdings(a, brand, p, n, &held);
	if (rc != CR_OK) {
		json_decref(doc);
		return rc;
	}
	if (cr_time_format(cr_time_now(), when) != CR_OK)
		when[0] = '\0';
	json_object_set_new(doc, "format", json_string("cr-subject-access-v1"));
	json_object_set_new(doc, "generated", json_string(when));
	json_object_set_new(doc, "held", held);
	*out = doc;
	return CR_OK;
}
