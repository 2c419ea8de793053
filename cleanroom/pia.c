/*
 * pia.c: impact assessments and transfer mechanisms, and the dataset and
 * collaboration gates that consult them (R12, R13, R28); pia.h gives the
 * contract.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/pia.h"

const char pia_schema_v1[] =
	"ALTER TABLE consent_impact_assessments ADD COLUMN assessed_ms INTEGER;"
	"ALTER TABLE consent_impact_assessments ADD COLUMN cross_border INTEGER NOT NULL DEFAULT 0"
	" CHECK (cross_border IN (0, 1));"
	"CREATE UNIQUE INDEX consent_impact_assessments_ref"
	" ON consent_impact_assessments(brand_id, ref, purpose);"
	"CREATE INDEX consent_impact_assessments_purpose"
	" ON consent_impact_assessments(brand_id, purpose);"
	"CREATE TRIGGER consent_impact_assessments_no_update BEFORE UPDATE ON consent_impact_assessments"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TRIGGER consent_impact_assessments_no_delete BEFORE DELETE ON consent_impact_assessments"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TABLE transfer_mechanisms ("
	"  id         INTEGER PRIMARY KEY,"
	"  brand_id   INTEGER NOT NULL REFERENCES brands(id),"
	"  recipient  TEXT NOT NULL,"
	"  country    TEXT NOT NULL,"
	"  mechanism  TEXT NOT NULL CHECK (mechanism IN ('cac-assessment', 'certification',"
	"               'standard-contract', 'adequacy', 'scc', 'bcr')),"
	"  ref        TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  UNIQUE (brand_id, ref)"
	") STRICT;"
	"CREATE INDEX transfer_mechanisms_recipient ON transfer_mechanisms(brand_id, recipient);"
	"CREATE TRIGGER transfer_mechanisms_no_update BEFORE UPDATE ON transfer_mechanisms"
	"  BEGIN SELECT RAISE(ABORT, 'transfer mechanisms: append-only'); END;"
	"CREATE TRIGGER transfer_mechanisms_no_delete BEFORE DELETE ON transfer_mechanisms"
	"  BEGIN SELECT RAISE(ABORT, 'transfer mechanisms: append-only'); END;";

static const char *const kinds[] = { "pipia", "dpia", NULL };
static const char *const mechanisms[] = { "cac-assessment", "certification", "standard-contract",
					  "adequacy", "scc", "bcr", NULL };

static bool listed(const char *const *list, const char *s)
{
	for (; s && *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

bool pia_kind_valid(const char *kind) { return listed(kinds, kind); }
bool transfer_mechanism_valid(const char *mechanism) { return listed(mechanisms, mechanism); }

bool pia_ref_valid(const char *ref)
{
	size_t n = ref ? strlen(ref) : 0;
	if (n == 0 || n > PIA_REF_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = ref[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-' || c == '/'))
			return false;
	}
	return true;
}

/* ------------------------------------------------------------ the notice */

/* The brand's current notice, parsed; *out handed over. */
static cr_err notice_load(struct app *a, int64_t brand, json_t **out)
{
	char *text = NULL;
	cr_err rc = consent_notice_get(a->consent, brand, 0, &text, NULL);
	if (rc != CR_OK)
		return rc;
	*out = json_loads(text, 0, NULL);
	free(text);
	return *out ? CR_OK : CR_ERR_INTERNAL;
}

static const char *str_of(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The entry of `list` (purposes or recipients) whose `key` is `value`, or NULL. */
static const json_t *entry(const json_t *notice, const char *list, const char *key, const char *value)
{
	size_t i;
	const json_t *e;
	json_array_foreach(json_object_get(notice, list), i, e)
		if (str_of(e, key) && strcmp(str_of(e, key), value) == 0)
			return e;
	return NULL;
}

/*
 * Whether sending data to `country` leaves the notice's jurisdictions. An
 * EU member state is inside when the notice names "EU" or any member state
 * (no transfer under GDPR chapter V); a notice that names no jurisdiction
 * cannot show any country is inside.
 */
static bool abroad(const json_t *notice, const char *country)
{
	size_t i;
	const json_t *j;
	if (country == NULL)
		return true;
	json_array_foreach(json_object_get(notice, "jurisdictions"), i, j) {
		const char *s = json_string_value(j);
		if (s && (strcmp(s, country) == 0 || (consent_jur_is_eu(s) && consent_jur_is_eu(country))))
			return false;
	}
	return true;
}

/* Why `purpose` needs an assessment (pia.h): the first property it has. */
static const char *pia_reason(const json_t *notice, const char *purpose)
{
	const json_t *p = entry(notice, "purposes", "code", purpose), *r, *shares, *marketing;
	bool named = false;
	size_t i;
	if (json_is_true(json_object_get(p, "sensitive")))
		return "it involves sensitive data (R12)";
	json_array_foreach(json_object_get(notice, "recipients"), i, r) {
		if (!str_of(r, "purpose") || strcmp(str_of(r, "purpose"), purpose) != 0)
			continue;
		named = true;
		if (abroad(notice, str_of(r, "country")))
			return "a recipient of it is in another country (R13, R28)";
	}
	shares = json_object_get(p, "shares_data");
	if (json_is_boolean(shares) ? json_is_true(shares) : named)
		return "it shares data with recipients (R28)";
	marketing = json_object_get(p, "marketing");
	if (!json_is_boolean(marketing) || json_is_true(marketing))
		return "it profiles for marketing (R28)";
	return "its data is matched (R28)";
}

/* ---------------------------------------------------------------- lookups */

/* Whether `sql` (?1 brand, ?2 text) finds a row. */
static cr_err exists(struct app *a, const char *sql, int64_t brand, const char *text, bool *out)
{
	sqlite3_stmt *st = NULL;
	int step;
	if (sqlite3_prepare_v2(a->store->db, sql, -1, &st, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	*out = step == SQLITE_ROW;
	return step == SQLITE_ROW || step == SQLITE_DONE ? CR_OK : store_err(step);
}

static cr_err covered(struct app *a, int64_t brand, const char *purpose, bool cross_border, bool *out)
{
	return exists(a, cross_border ? "SELECT 1 FROM consent_impact_assessments WHERE brand_id = ?1"
					" AND purpose = ?2 AND cross_border = 1"
				      : "SELECT 1 FROM consent_impact_assessments WHERE brand_id = ?1 AND purpose = ?2",
		      brand, purpose, out);
}

/* ------------------------------------------------------------------ gates */

cr_err pia_dataset_check(struct app *a, const struct dataset *d, char *why, size_t why_cap)
{
	json_t *notice = NULL;
	cr_err rc = notice_load(a, d->brand_id, &notice);
	for (size_t i = 0; i < d->npurposes && rc == CR_OK; i++) {
		bool yes = false;
		rc = covered(a, d->brand_id, d->purposes[i], false, &yes);
		if (rc == CR_OK && !yes) {
			snprintf(why, why_cap,
				 "purpose '%s' has no impact assessment recorded (%s): record one with"
				 " cleanroom pia add --covers %s", d->purposes[i], pia_reason(notice, d->purposes[i]),
				 d->purposes[i]);
			rc = CR_ERR_PIA_MISSING;
		}
	}
	json_decref(notice);
	return rc;
}

cr_err pia_transfer_check(struct app *a, const struct dataset *d, const char *partner, char *why, size_t why_cap)
{
	json_t *notice = NULL;
	const json_t *r;
	const char *country, *purpose;
	bool mechanism = false, assessed = false;
	cr_err rc = notice_load(a, d->brand_id, &notice);
	if (rc != CR_OK)
		return rc;
	r = entry(notice, "recipients", "id", partner);
	country = str_of(r, "country");
	purpose = str_of(r, "purpose");
	if (r == NULL || purpose == NULL || !abroad(notice, country))
		goto out;
	rc = exists(a, "SELECT 1 FROM transfer_mechanisms WHERE brand_id = ?1 AND recipient = ?2", d->brand_id,
		    partner, &mechanism);
	if (rc == CR_OK && !mechanism) {
		snprintf(why, why_cap, "partner '%s' is in %s, outside the notice's jurisdictions: record a transfer"
			 " mechanism with cleanroom transfer add --recipient %s", partner, country ? country : "?",
			 partner);
		rc = CR_ERR_TRANSFER_MISSING;
	}
	if (rc == CR_OK)
		rc = covered(a, d->brand_id, purpose, true, &assessed);
	if (rc == CR_OK && !assessed) {
		snprintf(why, why_cap, "partner '%s' is in %s, outside the notice's jurisdictions: record an impact"
			 " assessment of the transfer with cleanroom pia add --covers %s --cross-border", partner,
			 country ? country : "?", purpose);
		rc = CR_ERR_TRANSFER_MISSING;
	}
out:
	json_decref(notice);
	return rc;
}

/* ---------------------------------------------------------------- writing */

static int code_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static cr_err pia_insert(struct app *a, int64_t brand, const char *purpose, const char *kind, const char *ref,
			 cr_time_ms assessed, bool cross_border, cr_time_ms now)
{
	sqlite3_stmt *st = NULL;
	int step;
	if (sqlite3_prepare_v2(a->store->db,
			       "INSERT INTO consent_impact_assessments(brand_id, purpose, kind, ref, created_ms,"
			       " assessed_ms, cross_border) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &st,
			       NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_text(st, 2, purpose, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, assessed);
	sqlite3_bind_int(st, 7, cross_border ? 1 : 0);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? CR_OK : store_err(step);
}

cr_err pia_add(struct app *a, const struct registry_actor *who, int64_t brand, const char *brand_name,
	       const char *ref, const char *kind, const char *covers, bool cross_border, cr_time_ms assessed,
	       char *why, size_t why_cap)
{
	char codes[DATASET_PURPOSES_MAX][DATASET_CODE_MAX + 1], detail[200], when[CR_TIME_STRLEN];
	const char *sorted[DATASET_PURPOSES_MAX];
	struct audit_entry e = { .event_type = "pia.add", .actor_role = who->role, .actor_id = who->id,
				 .tenant = brand_name, .purposes = sorted, .detail = detail };
	cr_time_ms now = cr_time_now();
	size_t n = 0;
	bool dup = false;
	cr_err rc;
	if (!pia_ref_valid(ref) || !pia_kind_valid(kind) || assessed <= 0 || assessed > now ||
	    dataset_codes_parse(covers, false, codes, &n) != CR_OK || cr_time_format(assessed, when) != CR_OK)
		return CR_ERR_INVALID_ARG;
	for (size_t i = 0; i < n; i++) {
		bool yes = false;
		rc = consent_notice_declares(a->consent, brand, 0, codes[i], NULL, &yes);
		if (rc != CR_OK)
			return rc;
		if (!yes) {
			snprintf(why, why_cap, "purpose '%s' is not declared by the brand's current notice", codes[i]);
			return CR_ERR_PIA_UNDECLARED;
		}
		sorted[i] = codes[i];
	}
	qsort(sorted, n, sizeof(sorted[0]), code_cmp);
	e.n_purposes = n;
	snprintf(detail, sizeof(detail), "ref=%s kind=%s assessed=%s cross_border=%d", ref, kind, when,
		 cross_border ? 1 : 0);
	rc = app_begin(a);
	if (rc != CR_OK)
		return rc;
	rc = exists(a, "SELECT 1 FROM consent_impact_assessments WHERE brand_id = ?1 AND ref = ?2", brand, ref, &dup);
	if (rc == CR_OK && dup)
		rc = CR_ERR_PIA_EXISTS;
	for (size_t i = 0; i < n && rc == CR_OK; i++)
		rc = pia_insert(a, brand, sorted[i], kind, ref, assessed, cross_border, now);
	if (rc == CR_OK)
		rc = app_audit(a, &e, NULL);
	return app_end(a, rc);
}

cr_err transfer_add(struct app *a, const struct registry_actor *who, int64_t brand, const char *brand_name,
		    const char *recipient, const char *mechanism, const char *ref, char *why, size_t why_cap)
{
	const char *recipients[1] = { recipient };
	char detail[160];
	struct audit_entry e = { .event_type = "transfer.add", .actor_role = who->role, .actor_id = who->id,
				 .tenant = brand_name, .recipients = recipients, .n_recipients = 1, .detail = detail };
	sqlite3_stmt *st = NULL;
	json_t *notice = NULL;
	const char *country;
	int step;
	cr_err rc;
	if (!pia_ref_valid(ref) || !transfer_mechanism_valid(mechanism) || recipient == NULL)
		return CR_ERR_INVALID_ARG;
	rc = notice_load(a, brand, &notice);
	if (rc != CR_OK)
		return rc;
	country = str_of(entry(notice, "recipients", "id", recipient), "country");
	if (country == NULL) {
		snprintf(why, why_cap, "recipient '%s' is not declared by the brand's current notice", recipient);
		json_decref(notice);
		return CR_ERR_PIA_UNDECLARED;
	}
	snprintf(detail, sizeof(detail), "ref=%s mechanism=%s country=%s", ref, mechanism, country);
	rc = app_begin(a);
	if (rc == CR_OK && sqlite3_prepare_v2(a->store->db,
					      "INSERT INTO transfer_mechanisms(brand_id, recipient, country, mechanism,"
					      " ref, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &st,
					      NULL) != SQLITE_OK)
		rc = CR_ERR_STORE;
	if (rc == CR_OK) {
		sqlite3_bind_int64(st, 1, brand);
		sqlite3_bind_text(st, 2, recipient, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, country, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, mechanism, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, ref, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, cr_time_now());
		step = sqlite3_step(st);
		rc = (step & 0xff) == SQLITE_CONSTRAINT ? CR_ERR_PIA_EXISTS
							 : step == SQLITE_DONE ? CR_OK : store_err(step);
	}
	sqlite3_finalize(st);
	if (rc == CR_OK)
		rc = app_audit(a, &e, NULL);
	json_decref(notice);
	return app_end(a, rc);
}

/* ---------------------------------------------------------------- reading */

static json_t *time_json(cr_time_ms t)
{
	char s[CR_TIME_STRLEN];
	return cr_time_format(t, s) == CR_OK ? json_string(s) : json_null();
}

/* Appends one object per row of `sql` (?1 brand) to `list`, built by `row`. */
static cr_err each_row(struct app *a, const char *sql, int64_t brand, json_t *(*row)(sqlite3_stmt *st),
		       json_t *list)
{
	sqlite3_stmt *st = NULL;
	int step;
	if (sqlite3_prepare_v2(a->store->db, sql, -1, &st, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	sqlite3_bind_int64(st, 1, brand);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(list, row(st));
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? CR_OK : store_err(step);
}

static json_t *pia_row(sqlite3_stmt *st)
{
	json_t *covers = json_array();
	char *list = strdup((const char *)sqlite3_column_text(st, 5)), *save = NULL;
	for (char *p = list ? strtok_r(list, ",", &save) : NULL; p; p = strtok_r(NULL, ",", &save))
		json_array_append_new(covers, json_string(p));
	free(list);
	return json_pack("{s:s, s:s, s:o, s:o, s:b, s:o}", "ref", (const char *)sqlite3_column_text(st, 0), "kind",
			 (const char *)sqlite3_column_text(st, 1), "assessed", time_json(sqlite3_column_int64(st, 2)),
			 "recorded", time_json(sqlite3_column_int64(st, 4)), "cross_border",
			 sqlite3_column_int(st, 3) != 0, "covers", covers);
}

cr_err pia_list(struct app *a, int64_t brand, json_t *list)
{
	return each_row(a,
			"SELECT ref, kind, coalesce(assessed_ms, created_ms), cross_border, min(created_ms),"
			" group_concat(purpose, ',') FROM (SELECT * FROM consent_impact_assessments"
			" WHERE brand_id = ?1 ORDER BY id) GROUP BY ref ORDER BY min(id)", brand, pia_row, list);
}

static json_t *transfer_row(sqlite3_stmt *st)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "recipient", (const char *)sqlite3_column_text(st, 0),
			 "country", (const char *)sqlite3_column_text(st, 1), "mechanism",
			 (const char *)sqlite3_column_text(st, 2), "ref", (const char *)sqlite3_column_text(st, 3),
			 "recorded", time_json(sqlite3_column_int64(st, 4)));
}

cr_err transfer_list(struct app *a, int64_t brand, json_t *list)
{
	return each_row(a, "SELECT recipient, country, mechanism, ref, created_ms FROM transfer_mechanisms"
			   " WHERE brand_id = ?1 ORDER BY id", brand, transfer_row, list);
}
