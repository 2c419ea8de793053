/*
 * report.c: the record of processing activities "cr-report-processing-v1"
 * (GDPR art. 30, PIPL art. 54; report.h gives the contract) and the
 * Markdown renderings of both reports.
 *
 * The record is read from what describes processing: the current notice
 * (its canonical JSON: controller, purposes, categories, recipients with
 * their countries, retention), the brand's datasets and collaborations
 * and its impact assessments. It reads no consent event, record or
 * pseudonym, so it holds no data about any person.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/collab.h"
#include "cleanroom/dataset.h"
#include "cleanroom/pia.h"
#include "cleanroom/report.h"

/* EU member states: a recipient there is no transfer for a notice whose jurisdiction is "EU". */
static const char eu_states[] = "AT BE BG HR CY CZ DK EE FI FR DE GR IE IT LV LT LU MT NL PL PT RO SK SI ES SE";

static bool in_jurisdictions(const json_t *jurisdictions, const char *country)
{
	size_t i;
	json_t *j;
	json_array_foreach(jurisdictions, i, j) {
		const char *s = json_string_value(j);
		if (s && (strcmp(s, country) == 0 ||
			  (strcmp(s, "EU") == 0 && strlen(country) == 2 && strstr(eu_states, country) != NULL)))
			return true;
	}
	return false;
}

/* Recipients whose country is not one of the notice's jurisdictions (GDPR 30(1)(e), PIPL 38-39). */
static json_t *transfers_json(const json_t *notice)
{
	const json_t *jur = json_object_get(notice, "jurisdictions"), *r;
	json_t *out = json_array();
	size_t i;
	json_array_foreach(json_object_get(notice, "recipients"), i, r) {
		const char *country = json_string_value(json_object_get(r, "country"));
		if (country && json_array_size(jur) > 0 && !in_jurisdictions(jur, country))
			json_array_append_new(out, json_pack("{s:O,s:O,s:s,s:O,s:O}", "recipient",
							     json_object_get(r, "id"), "name", json_object_get(r, "name"),
							     "country", country, "purpose", json_object_get(r, "purpose"),
							     "categories", json_object_get(r, "categories")));
	}
	return out;
}

/* A new reference to v, or null (for json_pack's "o"). */
static json_t *or_null(json_t *v)
{
	return v ? json_incref(v) : json_null();
}

/* The current notice's canonical JSON parsed, with its version and publication time. */
static cr_err notice_json(struct app *a, int64_t brand, json_t **out)
{
	uint32_t version = 0;
	char *text = NULL, when[CR_TIME_STRLEN] = "";
	uint8_t hash[CONSENT_HASH_BYTES];
	char hex[2 * CONSENT_HASH_BYTES + 1] = "";
	sqlite3_stmt *st = NULL;
	json_t *n = NULL;
	cr_err rc = consent_notice_current(a->consent, brand, &version);
	if (rc == CR_OK)
		rc = consent_notice_get(a->consent, brand, version, &text, hash);
	if (rc == CR_OK && (n = json_loads(text, 0, NULL)) == NULL)
		rc = CR_ERR_CONSENT_NOTICE_MALFORMED;
	if (rc == CR_OK && cr_hex_encode(hash, sizeof(hash), hex, sizeof(hex)) != CR_OK)
		rc = CR_ERR_INTERNAL;
	if (rc == CR_OK && sqlite3_prepare_v2(a->store->db, "SELECT published_ms FROM consent_notices"
				" WHERE brand_id = ?1 AND version = ?2", -1, &st, NULL) != SQLITE_OK)
		rc = CR_ERR_STORE;
	if (rc == CR_OK) {
		sqlite3_bind_int64(st, 1, brand);
		sqlite3_bind_int64(st, 2, version);
		if (sqlite3_step(st) == SQLITE_ROW && cr_time_format(sqlite3_column_int64(st, 0), when) != CR_OK)
			when[0] = '\0';
		json_object_set_new(n, "published", json_string(when));
		json_object_set_new(n, "sha256", json_string(hex));
	}
	sqlite3_finalize(st);
	free(text);
	if (rc == CR_OK)
		*out = n;
	else
		json_decref(n);
	return rc;
}

struct each_ctx {
	struct app *a;
	json_t *list;
	const char *retention;
	cr_err rc;
};

static json_t *codes_json(const char (*codes)[DATASET_CODE_MAX + 1], size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(codes[i]));
	return a;
}

static void dataset_row(void *ctx, const struct dataset *d)
{
	struct each_ctx *c = ctx;
	char cols[4096];
	if (columns_format(&d->columns, cols, sizeof(cols)) != CR_OK)
		cols[0] = '\0';
	json_array_append_new(c->list, json_pack("{s:s,s:s,s:o,s:o,s:s,s:s,s:b}", "name", d->name, "id_type",
						 d->id_type == CRYPTO_ID_PHONE ? "phone" : "email", "purposes",
						 codes_json(d->purposes, d->npurposes),
						 "recipients",
						 codes_json(d->recipients, d->nrecipients),
						 "columns", cols, "retention", c->retention ? c->retention : "",
						 "child_directed", d->child_directed));
}

static void collab_row(void *ctx, const struct collab *cb)
{
	struct each_ctx *c = ctx;
	struct dataset d;
	struct collab_budget b;
	char eps[COLLAB_MILLI_STRLEN], budget[COLLAB_MILLI_STRLEN], spent[COLLAB_MILLI_STRLEN];
	json_t *dims = json_array(), *metrics = json_array();
	if (c->rc == CR_OK)
		c->rc = dataset_get_by_id(c->a->store, cb->dataset_id, &d);
	if (c->rc == CR_OK)
		c->rc = collab_budget_get(c->a->store, cb->id, &b);
	if (c->rc != CR_OK) {
		json_decref(dims);
		json_decref(metrics);
		return;
	}
	for (size_t i = 0; i < cb->ndims; i++)
		json_array_append_new(dims, json_string(cb->dims[i]));
	json_array_append_new(metrics, json_string("count"));
	for (size_t i = 0; i < cb->nsums; i++)
		json_array_append_new(metrics, json_sprintf("sum:%s", cb->sums[i]));
	collab_milli_format(cb->epsilon_milli, eps);
	collab_milli_format(b.budget_milli, budget);
	collab_milli_format(b.spent_milli, spent);
	json_array_append_new(c->list, json_pack("{s:I,s:s,s:s,s:o,s:o,s:i,s:s,s:s,s:s}", "id", (json_int_t)cb->id,
						 "dataset", d.name, "partner", cb->partner, "dimensions", dims,
						 "metrics", metrics, "k", (int)cb->k, "epsilon_per_query", eps, "budget",
						 budget, "budget_spent", spent));
}

cr_err report_processing(struct app *a, int64_t brand, const char *name, cr_time_ms now, json_t **out)
{
	char when[CR_TIME_STRLEN];
	json_t *n = NULL, *r = NULL, *datasets = json_array(), *collabs = json_array(), *pias = json_array(),
	       *mechanisms = json_array();
	struct each_ctx c = { a, datasets, NULL, CR_OK };
	cr_err rc = notice_json(a, brand, &n);
	if (rc == CR_OK && cr_time_format(now, when) != CR_OK)
		rc = CR_ERR_INVALID_ARG;
	if (rc == CR_OK) {
		c.retention = json_string_value(json_object_get(n, "retention"));
		rc = dataset_each(a->store, brand, dataset_row, &c);
	}
	c.list = collabs;
	if (rc == CR_OK)
		rc = collab_each(a->store, brand, collab_row, &c);
	if (rc == CR_OK)
		rc = c.rc;
	if (rc == CR_OK)
		rc = pia_list(a, brand, pias);
	if (rc == CR_OK)
		rc = transfer_list(a, brand, mechanisms);
	if (rc == CR_OK) {
		r = json_pack("{s:s,s:s,s:s,s:O,s:{s:O,s:s,s:s,s:O,s:o},s:O,s:O,s:O,s:o,s:O,s:O,s:o,s:o,s:o,s:o,s:O}",
			      "format", REPORT_PROCESSING_FORMAT, "brand", name, "generated", when,
			      "controller", json_object_get(n, "controller"), "notice", "version",
			      json_object_get(n, "version"), "published", json_string_value(json_object_get(n, "published")),
			      "sha256", json_string_value(json_object_get(n, "sha256")), "language",
			      json_object_get(n, "language"), "jurisdictions", or_null(json_object_get(n, "jurisdictions")),
			      "purposes", json_object_get(n, "purposes"), "categories", json_object_get(n, "categories"),
			      "methods", json_object_get(n, "methods"), "recipients",
			      or_null(json_object_get(n, "recipients")), "retention", json_object_get(n, "retention"),
			      "rights", json_object_get(n, "rights"), "transfers", transfers_json(n), "datasets",
			      json_incref(datasets), "collaborations", json_incref(collabs), "impact_assessments",
			      json_incref(pias), "transfer_mechanisms", mechanisms);
		if (r == NULL)
			rc = CR_ERR_NOMEM;
	}
	json_decref(n);
	json_decref(datasets);
	json_decref(collabs);
	json_decref(pias);
	json_decref(mechanisms);
	if (rc == CR_OK)
		*out = r;
	return rc;
}

/* ------------------------------------------------------------ Markdown */

struct md {
	char *buf;
	size_t len;
	FILE *f;
};

static const char *s_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* A table cell: '|' escaped and line breaks made spaces, at most cap - 1 bytes. */
static const char *cell(const char *s, char *buf, size_t cap)
{
	size_t n = 0;
	for (; *s && n + 2 < cap; s++) {
		if (*s == '|')
			buf[n++] = '\\';
		buf[n++] = *s == '\n' || *s == '\r' ? ' ' : *s;
	}
	buf[n] = '\0';
	return buf;
}

/* A JSON array of strings joined with ", " (into a static-size buffer). */
static const char *joined(const json_t *a, char *buf, size_t cap)
{
	size_t i, pos = 0;
	json_t *x;
	buf[0] = '\0';
	json_array_foreach(a, i, x)
		if (pos < cap)
			pos += (size_t)snprintf(buf + pos, cap - pos, "%s%s", i ? ", " : "",
						json_is_string(x) ? json_string_value(x) : "");
	return buf;
}

char *report_processing_markdown(const json_t *r)
{
	struct md m = { NULL, 0, NULL };
	char b1[1024], b2[1024], b3[4200];
	size_t i;
	json_t *x;
	const json_t *ctl = json_object_get(r, "controller"), *nt = json_object_get(r, "notice");
	m.f = open_memstream(&m.buf, &m.len);
	if (m.f == NULL)
		return NULL;
	fprintf(m.f, "# Record of processing activities: %s\n\nGDPR art. 30, PIPL art. 54. Generated %s.\n\n",
		s_of(r, "brand"), s_of(r, "generated"));
	fprintf(m.f, "Controller (handler): %s, contact %s.\n\nNotice version %lld, published %s, sha256 %s.\n\n",
		s_of(ctl, "name"), s_of(ctl, "contact"), (long long)json_integer_value(json_object_get(nt, "version")),
		s_of(nt, "published"), s_of(nt, "sha256"));
	fprintf(m.f, "## Purposes\n\n| code | description | sensitive |\n|---|---|---|\n");
	json_array_foreach(json_object_get(r, "purposes"), i, x)
		fprintf(m.f, "| %s | %s | %s |\n", s_of(x, "code"), cell(s_of(x, "description"), b1, sizeof(b1)),
			json_is_true(json_object_get(x, "sensitive")) ? "yes" : "no");
	fprintf(m.f, "\nData categories: %s.\n\nMethods: %s.\n\nRetention: %s.\n\n",
		joined(json_object_get(r, "categories"), b1, sizeof(b1)), joined(json_object_get(r, "methods"), b2, sizeof(b2)),
		s_of(r, "retention"));
	fprintf(m.f, "## Recipients\n\n| id | name | country | purpose | categories |\n|---|---|---|---|---|\n");
	json_array_foreach(json_object_get(r, "recipients"), i, x)
		fprintf(m.f, "| %s | %s | %s | %s | %s |\n", s_of(x, "id"), s_of(x, "name"), s_of(x, "country"),
			s_of(x, "purpose"), joined(json_object_get(x, "categories"), b1, sizeof(b1)));
	fprintf(m.f, "\n## Transfers abroad\n\n");
	json_array_foreach(json_object_get(r, "transfers"), i, x)
		fprintf(m.f, "- %s (%s) in %s, for %s\n", s_of(x, "recipient"), s_of(x, "name"), s_of(x, "country"),
			s_of(x, "purpose"));
	if (json_array_size(json_object_get(r, "transfers")) == 0)
		fprintf(m.f, "None.\n");
	fprintf(m.f, "\n## Datasets\n\n| name | purposes | recipients | columns |\n|---|---|---|---|\n");
	json_array_foreach(json_object_get(r, "datasets"), i, x)
		fprintf(m.f, "| %s | %s | %s | %s |\n", s_of(x, "name"), joined(json_object_get(x, "purposes"), b1, sizeof(b1)),
			joined(json_object_get(x, "recipients"), b2, sizeof(b2)), cell(s_of(x, "columns"), b3, sizeof(b3)));
	fprintf(m.f, "\n## Collaborations\n\n| id | dataset | partner | dimensions | k | budget | spent |\n"
		"|---|---|---|---|---|---|---|\n");
	json_array_foreach(json_object_get(r, "collaborations"), i, x)
		fprintf(m.f, "| %lld | %s | %s | %s | %lld | %s | %s |\n", (long long)json_integer_value(json_object_get(x, "id")),
			s_of(x, "dataset"), s_of(x, "partner"), joined(json_object_get(x, "dimensions"), b1, sizeof(b1)),
			(long long)json_integer_value(json_object_get(x, "k")), s_of(x, "budget"), s_of(x, "budget_spent"));
	fprintf(m.f, "\n## Impact assessments\n\n");
	json_array_foreach(json_object_get(r, "impact_assessments"), i, x)
		fprintf(m.f, "- %s %s of %s, %s%s\n", s_of(x, "kind"), s_of(x, "ref"),
			joined(json_object_get(x, "covers"), b1, sizeof(b1)), s_of(x, "assessed"),
			json_is_true(json_object_get(x, "cross_border")) ? ", with their transfers abroad" : "");
	if (json_array_size(json_object_get(r, "impact_assessments")) == 0)
		fprintf(m.f, "None recorded.\n");
	fprintf(m.f, "\n## Transfer mechanisms\n\n");
	json_array_foreach(json_object_get(r, "transfer_mechanisms"), i, x)
		fprintf(m.f, "- %s (%s): %s, %s\n", s_of(x, "recipient"), s_of(x, "country"), s_of(x, "mechanism"),
			s_of(x, "ref"));
	if (json_array_size(json_object_get(r, "transfer_mechanisms")) == 0)
		fprintf(m.f, "None recorded.\n");
	fclose(m.f);
	return m.buf;
}

char *report_compliance_markdown(const json_t *doc)
{
	struct md m = { NULL, 0, NULL };
	const json_t *r = json_object_get(doc, "report"), *figs = json_object_get(r, "figures"), *x;
	const char *key;
	json_t *f;
	size_t i;
	m.f = open_memstream(&m.buf, &m.len);
	if (m.f == NULL)
		return NULL;
	fprintf(m.f, "# Compliance report: %s\n\nWindow [%s, %s), generated %s; checkpoint of %lld entries, root %s.\n\n"
		"| figure | value | entries | audit indices |\n|---|---|---|---|\n",
		s_of(r, "brand"), s_of(r, "since"), s_of(r, "until"), s_of(r, "generated"),
		(long long)json_integer_value(json_object_get(r, "tree_size")), s_of(r, "root"));
	json_object_foreach((json_t *)figs, key, f) {
		char idx[256] = "";
		size_t pos = 0, k;
		json_t *n;
		json_array_foreach(json_object_get(f, "indices"), k, n)
			if (pos < sizeof(idx) - 8)
				pos += (size_t)snprintf(idx + pos, sizeof(idx) - pos, "%s%lld", k ? " " : "",
							(long long)json_integer_value(n));
		if (pos >= sizeof(idx) - 8)
			snprintf(idx + sizeof(idx) - 8, 8, " ...");
		fprintf(m.f, "| %s | %lld | %lld | %s |\n", key,
			(long long)json_integer_value(json_object_get(f, json_object_get(f, "total") ? "total" : "count")),
			(long long)json_integer_value(json_object_get(f, "count")), idx);
	}
	fprintf(m.f, "\n## Budget spent per collaboration\n\n");
	json_array_foreach(json_object_get(r, "budget_spent"), i, x)
		fprintf(m.f, "- collaboration %s: epsilon %s over %lld releases and refusals\n", s_of(x, "collaboration"),
			s_of(x, "epsilon"), (long long)json_integer_value(json_object_get(x, "count")));
	if (json_array_size(json_object_get(r, "budget_spent")) == 0)
		fprintf(m.f, "None.\n");
	fprintf(m.f, "\nSigned by %s. Check it with `cleanroom report verify` on the JSON form.\n",
		s_of(r, "report_key"));
	fclose(m.f);
	return m.buf;
}
