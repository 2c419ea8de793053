/*
 * requests.c: the register of rights requests and their deadlines (R22);
 * requests.h gives the contract.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/requests.h"

const char requests_schema_v1[] =
	"CREATE TABLE rights_requests ("
	"  id               INTEGER PRIMARY KEY,"
	"  brand_id         INTEGER NOT NULL REFERENCES brands(id),"
	"  kind             TEXT NOT NULL CHECK (kind IN ('access', 'portability', 'objection', 'erasure',"
	"                     'withdrawal', 'rectification')),"
	"  channel          TEXT NOT NULL,"
	"  ref              TEXT,"
	"  received_ms      INTEGER NOT NULL,"
	"  due_ms           INTEGER NOT NULL,"
	"  extended_due_ms  INTEGER,"
	"  extension_reason TEXT,"
	"  completed_ms     INTEGER"
	") STRICT;"
	"CREATE INDEX rights_requests_brand ON rights_requests(brand_id, received_ms);";

static const char *const kinds[] = { "access", "portability", "objection", "erasure", "withdrawal",
				     "rectification", NULL };

bool request_kind_valid(const char *kind)
{
	for (const char *const *k = kinds; kind && *k; k++)
		if (strcmp(*k, kind) == 0)
			return true;
	return false;
}

/* A short printable word, or a reference/reason of printable ASCII. */
static bool text_ok(const char *s, size_t max, bool word)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || (word && !(c == '-' || c == '_' || c == '.' ||
						       (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))))
			return false;
	}
	return true;
}

static cr_err audit_request(struct app *a, const struct registry_actor *who, int64_t brand, const char *type,
			    int64_t id, const char *more)
{
	char name[CONSENT_BRAND_NAME_MAX + 1], detail[160];
	struct audit_entry e = { .event_type = type, .actor_role = who->role, .actor_id = who->id,
				 .tenant = name, .time_ms = cr_time_now(), .detail = detail };
	cr_err rc = consent_brand_name(a->consent, brand, name);
	if (rc != CR_OK)
		return rc;
	snprintf(detail, sizeof(detail), "request=%lld %s", (long long)id, more);
	return app_audit(a, &e, NULL);
}

cr_err requests_add_in_txn(struct app *a, const struct registry_actor *who, int64_t brand, const char *kind,
			   const char *channel, const char *ref, cr_time_ms received, bool completed,
			   int64_t *id_out)
{
	char more[96], due_s[CR_TIME_STRLEN];
	sqlite3_stmt *st = NULL;
	cr_time_ms now = cr_time_now();
	int64_t id;
	int step;
	if (!request_kind_valid(kind) || !text_ok(channel, 32, true) ||
	    (ref != NULL && !text_ok(ref, REQUEST_REF_MAX, false)) || received <= 0 || received > now)
		return CR_ERR_INVALID_ARG;
	if (sqlite3_get_autocommit(a->store->db))
		return CR_ERR_AUDIT_NO_TXN;
	if (sqlite3_prepare_v2(a->store->db,
			       "INSERT INTO rights_requests(brand_id, kind, channel, ref, received_ms, due_ms, completed_ms)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &st, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, channel, -1, SQLITE_STATIC);
	if (ref)
		sqlite3_bind_text(st, 4, ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, received);
	sqlite3_bind_int64(st, 6, received + REQUEST_DUE_MS);
	if (completed)
		sqlite3_bind_int64(st, 7, now);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return store_err(step);
	id = sqlite3_last_insert_rowid(a->store->db);
	if (cr_time_format(received + REQUEST_DUE_MS, due_s) != CR_OK)
		due_s[0] = '\0';
	snprintf(more, sizeof(more), "kind=%s channel=%s due=%s%s", kind, channel, due_s,
		 completed ? " completed" : "");
	if (id_out)
		*id_out = id;
	return audit_request(a, who, brand, "request.add", id, more);
}

cr_err requests_add(struct app *a, const struct registry_actor *who, int64_t brand, const char *kind,
		    const char *channel, const char *ref, cr_time_ms received, bool completed, int64_t *id_out)
{
	cr_err rc = app_begin(a);
	if (rc != CR_OK)
		return rc;
	rc = requests_add_in_txn(a, who, brand, kind, channel, ref, received, completed, id_out);
	return app_end(a, rc);
}

/* The request's times; CR_ERR_NOT_FOUND if `brand` has no request `id`. */
static cr_err request_get(struct app *a, int64_t brand, int64_t id, cr_time_ms *received, bool *extended,
			  bool *completed)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_NOT_FOUND;
	int step;
	if (sqlite3_prepare_v2(a->store->db, "SELECT received_ms, extended_due_ms IS NOT NULL, completed_ms IS NOT NULL"
			       " FROM rights_requests WHERE id = ?1 AND brand_id = ?2", -1, &st, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, brand);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*received = sqlite3_column_int64(st, 0);
		*extended = sqlite3_column_int(st, 1) != 0;
		*completed = sqlite3_column_int(st, 2) != 0;
		rc = CR_OK;
	} else if (step != SQLITE_DONE) {
		rc = store_err(step);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Runs `sql` with ?1 = a value, ?2 = id (or a text ?3) inside the open transaction. */
static cr_err update(struct app *a, const char *sql, int64_t v, int64_t id, const char *text)
{
	sqlite3_stmt *st = NULL;
	int step;
	if (sqlite3_prepare_v2(a->store->db, sql, -1, &st, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	sqlite3_bind_int64(st, 1, v);
	sqlite3_bind_int64(st, 2, id);
	if (text)
		sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? CR_OK : store_err(step);
}

cr_err requests_complete(struct app *a, const struct registry_actor *who, int64_t brand, int64_t id)
{
	cr_time_ms received = 0, now = cr_time_now();
	bool extended = false, completed = false;
	cr_err rc = app_begin(a);
	if (rc == CR_OK)
		rc = request_get(a, brand, id, &received, &extended, &completed);
	if (rc == CR_OK && completed)
		rc = CR_ERR_REQUEST_STATE;
	if (rc == CR_OK)
		rc = update(a, "UPDATE rights_requests SET completed_ms = ?1 WHERE id = ?2", now, id, NULL);
	if (rc == CR_OK)
		rc = audit_request(a, who, brand, "request.complete", id, "");
	return app_end(a, rc);
}

cr_err requests_extend(struct app *a, const struct registry_actor *who, int64_t brand, int64_t id,
		       cr_time_ms extra_ms, const char *reason)
{
	char more[64], due_s[CR_TIME_STRLEN];
	cr_time_ms received = 0, now = cr_time_now();
	bool extended = false, completed = false;
	cr_err rc;
	if (extra_ms <= 0 || extra_ms > REQUEST_EXTENSION_MAX_MS || !text_ok(reason, REQUEST_REASON_MAX, false))
		return CR_ERR_INVALID_ARG;
	rc = app_begin(a);
	if (rc == CR_OK)
		rc = request_get(a, brand, id, &received, &extended, &completed);
	/* only within the first month, once, and while unanswered (R22) */
	if (rc == CR_OK && (completed || extended || now > received + REQUEST_DUE_MS))
		rc = CR_ERR_REQUEST_STATE;
	if (rc == CR_OK)
		rc = update(a, "UPDATE rights_requests SET extended_due_ms = ?1, extension_reason = ?3 WHERE id = ?2",
			    received + REQUEST_DUE_MS + extra_ms, id, reason);
	if (rc == CR_OK && cr_time_format(received + REQUEST_DUE_MS + extra_ms, due_s) != CR_OK)
		due_s[0] = '\0';
	snprintf(more, sizeof(more), "due=%s", due_s);
	if (rc == CR_OK)
		rc = audit_request(a, who, brand, "request.extend", id, more);
	return app_end(a, rc);
}

static json_t *time_or_null(sqlite3_stmt *st, int col)
{
	char s[CR_TIME_STRLEN];
	if (sqlite3_column_type(st, col) == SQLITE_NULL || cr_time_format(sqlite3_column_int64(st, col), s) != CR_OK)
		return json_null();
	return json_string(s);
}

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? json_null()
							    : json_string((const char *)sqlite3_column_text(st, col));
}

cr_err requests_list(struct app *a, int64_t brand, bool overdue, cr_time_ms now, json_t *list)
{
	/* Overdue: unanswered past its (extended) due date, or answered after it. */
	static const char sql[] =
		"SELECT id, kind, channel, ref, received_ms, due_ms, extended_due_ms, extension_reason, completed_ms,"
		" coalesce(completed_ms, ?2) > coalesce(extended_due_ms, due_ms)"
		" FROM rights_requests WHERE brand_id = ?1 ORDER BY received_ms DESC, id DESC";
	sqlite3_stmt *st = NULL;
	int step;
	if (sqlite3_prepare_v2(a->store->db, sql, -1, &st, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_int64(st, 2, now);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		bool late = sqlite3_column_int(st, 9) != 0;
		if (overdue && !late)
			continue;
		json_array_append_new(list, json_pack(
			"{s:I,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:b}", "id", (json_int_t)sqlite3_column_int64(st, 0),
			"kind", (const char *)sqlite3_column_text(st, 1), "channel",
			(const char *)sqlite3_column_text(st, 2), "ref", text_or_null(st, 3), "received",
			time_or_null(st, 4), "due", time_or_null(st, 5), "extended_due", time_or_null(st, 6),
			"extension_reason", text_or_null(st, 7), "completed", time_or_null(st, 8), "late", late));
	}
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? CR_OK : store_err(step);
}
