/*
 * dataset.c: the dataset catalog and the records table. Codes lists
 * (purposes, recipients) are stored as comma-joined text: they are short,
 * validated to a safe alphabet on the way in, and only ever compared whole.
 */
#include <stdio.h>
#include <string.h>

#include "cleanroom/dataset.h"

const char dataset_schema_v1[] =
	"CREATE TABLE datasets ("
	"  id          INTEGER PRIMARY KEY,"
	"  brand_id    INTEGER NOT NULL,"
	"  name        TEXT NOT NULL,"
	"  id_type     TEXT NOT NULL CHECK (id_type IN ('email', 'phone')),"
	"  profile     TEXT NOT NULL,"
	"  purposes    TEXT NOT NULL,"
	"  recipients  TEXT NOT NULL,"
	"  columns     TEXT NOT NULL,"
	"  key_version INTEGER NOT NULL,"
	"  created_ms  INTEGER NOT NULL,"
	"  UNIQUE (brand_id, name)"
	") STRICT;"
	"CREATE TABLE records ("
	"  dataset_id  INTEGER NOT NULL REFERENCES datasets(id),"
	"  pseudonym   BLOB NOT NULL CHECK (length(pseudonym) = 32),"
	"  key_version INTEGER NOT NULL,"
	"  psi         BLOB NOT NULL CHECK (length(psi) = 32),"
	"  attrs       BLOB NOT NULL,"
	"  ingested_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (dataset_id, pseudonym)"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX records_by_pseudonym ON records(pseudonym);";

/* Migration: a dataset may be aimed at children (R15: unknown age denies). */
const char dataset_schema_v2[] =
	"ALTER TABLE datasets ADD COLUMN child_directed INTEGER NOT NULL DEFAULT 0"
	" CHECK (child_directed IN (0, 1));";

/* Migration: the PSI suite of a dataset's elements (docs/spec/psi-protocol.md
 * section 2b). The rows that exist hold ristretto255 elements. */
const char dataset_schema_v3[] =
	"ALTER TABLE datasets ADD COLUMN suite TEXT NOT NULL DEFAULT 'r255-sha512'"
	" CHECK (suite IN ('r255-sha512', 'x25519-ell2-sha512'));";

static bool code_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

bool dataset_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > DATASET_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!code_char(name[i]) || name[i] == '.')
			return false;
	return true;
}

cr_err dataset_codes_parse(const char *list, bool allow_empty,
			   char out[][DATASET_CODE_MAX + 1], size_t *n)
{
	size_t count = 0;
	const char *p = list;
	if (list == NULL || *list == '\0') {
		if (!allow_empty)
			return CR_ERR_INVALID_ARG;
		*n = 0;
		return CR_OK;
	}
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0 || len > DATASET_CODE_MAX || count == DATASET_PURPOSES_MAX)
			return CR_ERR_INVALID_ARG;
		for (size_t i = 0; i < len; i++)
			if (!code_char(p[i]))
				return CR_ERR_INVALID_ARG;
		memcpy(out[count], p, len);
		out[count][len] = '\0';
		for (size_t k = 0; k < count; k++)
			if (strcmp(out[k], out[count]) == 0)
				return CR_ERR_INVALID_ARG;
		count++;
		if (!end)
			break;
		p = end + 1;
	}
	*n = count;
	return CR_OK;
}

static void join_codes(char codes[][DATASET_CODE_MAX + 1], size_t n, char *buf, size_t cap)
{
	size_t pos = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && pos < cap; i++) {
		int w = snprintf(buf + pos, cap - pos, "%s%s", i ? "," : "", codes[i]);
		if (w < 0)
			break;
		pos += (size_t)w;
	}
}

cr_err dataset_insert(struct store *s, struct dataset *d)
{
	char purposes[DATASET_PURPOSES_MAX * (DATASET_CODE_MAX + 1) + 1];
	char recipients[sizeof(purposes)];
	char columns[4096];
	sqlite3_stmt *st = NULL;
	cr_err rc = columns_format(&d->columns, columns, sizeof(columns));
	int step;

	if (rc != CR_OK)
		return rc;
	if (crypto_psi_suite_name(d->suite) == NULL)
		return CR_ERR_PSI_SUITE;
	join_codes(d->purposes, d->npurposes, purposes, sizeof(purposes));
	join_codes(d->recipients, d->nrecipients, recipients, sizeof(recipients));
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO datasets(brand_id, name, id_type, profile, purposes,"
			       " recipients, columns, key_version, created_ms, child_directed, suite)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = CR_ERR_STORE;
		goto out;
	}
	sqlite3_bind_int64(st, 1, d->brand_id);
	sqlite3_bind_text(st, 2, d->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, crypto_id_type_name(d->id_type), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, d->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, purposes, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, recipients, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, columns, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, d->key_version);
	sqlite3_bind_int64(st, 9, d->created);
	sqlite3_bind_int(st, 10, d->child_directed ? 1 : 0);
	sqlite3_bind_text(st, 11, crypto_psi_suite_name(d->suite), -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if ((step & 0xff) == SQLITE_CONSTRAINT) {
		rc = CR_ERR_DATASET_EXISTS;
		goto out;
	}
	rc = store_err(step);
	if (rc == CR_OK)
		d->id = sqlite3_last_insert_rowid(s->db);
out:
	sqlite3_finalize(st);
	return rc;
}

#define DATASET_COLUMNS "id, brand_id, name, id_type, profile, purposes, recipients," \
			" columns, key_version, created_ms, child_directed, suite"

static cr_err row_to_dataset(sqlite3_stmt *st, struct dataset *d)
{
	const char *text;
	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(st, 0);
	d->brand_id = sqlite3_column_int64(st, 1);
	snprintf(d->name, sizeof(d->name), "%s", (const char *)sqlite3_column_text(st, 2));
	text = (const char *)sqlite3_column_text(st, 3);
	if (crypto_id_type_parse(text, &d->id_type) != CR_OK)
		return CR_ERR_STORE;
	snprintf(d->profile, sizeof(d->profile), "%s", (const char *)sqlite3_column_text(st, 4));
	if (dataset_codes_parse((const char *)sqlite3_column_text(st, 5), false, d->purposes, &d->npurposes) != CR_OK ||
	    dataset_codes_parse((const char *)sqlite3_column_text(st, 6), true, d->recipients, &d->nrecipients) != CR_OK ||
	    columns_parse((const char *)sqlite3_column_text(st, 7), &d->columns, NULL, 0) != CR_OK)
		return CR_ERR_STORE;
	d->key_version = (uint32_t)sqlite3_column_int64(st, 8);
	d->created = sqlite3_column_int64(st, 9);
	d->child_directed = sqlite3_column_int(st, 10) != 0;
	if (crypto_psi_suite_parse((const char *)sqlite3_column_text(st, 11), &d->suite) != CR_OK)
		return CR_ERR_STORE;
	return CR_OK;
}

static cr_err get_one(struct store *s, const char *sql, int64_t a, const char *b, struct dataset *out)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, a);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = CR_ERR_DATASET_NOT_FOUND;
		goto out;
	}
	rc = step == SQLITE_ROW ? row_to_dataset(st, out) : store_err(step);
out:
	sqlite3_finalize(st);
	return rc;
}

cr_err dataset_get(struct store *s, int64_t brand_id, const char *name, struct dataset *out)
{
	return get_one(s, "SELECT " DATASET_COLUMNS " FROM datasets WHERE brand_id = ?1 AND name = ?2",
		       brand_id, name, out);
}

cr_err dataset_get_by_id(struct store *s, int64_t id, struct dataset *out)
{
	return get_one(s, "SELECT " DATASET_COLUMNS " FROM datasets WHERE id = ?1", id, NULL, out);
}

cr_err dataset_each(struct store *s, int64_t brand_id,
		    void (*fn)(void *ctx, const struct dataset *d), void *ctx)
{
	sqlite3_stmt *st = NULL;
	struct dataset d;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (sqlite3_prepare_v2(s->db, "SELECT " DATASET_COLUMNS " FROM datasets WHERE brand_id = ?1 ORDER BY name",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, brand_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = row_to_dataset(st, &d);
		if (rc != CR_OK)
			goto out;
		fn(ctx, &d);
	}
	rc = store_err(step);
out:
	sqlite3_finalize(st);
	return rc;
}

cr_err dataset_record_count(struct store *s, int64_t dataset_id, uint64_t *out)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM records WHERE dataset_id = ?1", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, dataset_id);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	*out = (uint64_t)sqlite3_column_int64(st, 0);
	rc = CR_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

bool dataset_has_purpose(const struct dataset *d, const char *purpose)
{
	for (size_t i = 0; i < d->npurposes; i++)
		if (strcmp(d->purposes[i], purpose) == 0)
			return true;
	return false;
}

bool dataset_has_recipient(const struct dataset *d, const char *recipient)
{
	for (size_t i = 0; i < d->nrecipients; i++)
		if (strcmp(d->recipients[i], recipient) == 0)
			return true;
	return false;
}
