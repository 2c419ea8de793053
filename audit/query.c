/*
 * query.c: searching the log the way an officer does: by tenant, event
 * type, actor, subject (through the deletable subject index) and time,
 * newest first, a page at a time with an index cursor.
 *
 * The SQL is assembled from fixed clauses only (never from input); values
 * are bound to fixed parameter numbers, so each filter maps to one clause.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

#define QUERY_LIMIT_MAX 1000

enum qparam { QP_SUBJECT = 1, QP_TENANT, QP_TYPE, QP_ACTOR, QP_SINCE, QP_UNTIL, QP_BEFORE, QP_LIMIT };

/* One optional filter: whether the query uses it, and its SQL. */
struct qclause {
	bool on;
	const char *sql;
};

static void sql_add(char *buf, size_t cap, size_t *n, const char *s)
{
	int w = snprintf(buf + *n, cap - *n, "%s", s);
	if (w < 0 || (size_t)w >= cap - *n)
		cr_die("audit query: SQL buffer too small");
	*n += (size_t)w;
}

static cr_err query_prepare(sqlite3 *db, const struct audit_query *q, sqlite3_stmt **out)
{
	const struct qclause where[] = {
		{ q->tenant != NULL, " AND l.tenant = ?2" },
		{ q->event_type != NULL, " AND l.type = ?3" },
		{ q->actor_id != NULL, " AND l.actor = ?4" },
		{ q->since > 0, " AND l.time_ms >= ?5" },
		{ q->until > 0, " AND l.time_ms < ?6" },
		{ q->has_before, " AND l.idx < ?7" },
	};
	char sql[512];
	size_t n = 0;
	int rc;

	sql_add(sql, sizeof(sql), &n, "SELECT l.idx, l.data FROM audit_leaves l");
	if (q->subject != NULL)
		sql_add(sql, sizeof(sql), &n,
			" JOIN audit_subjects s ON s.idx = l.idx AND s.subject ="
			" (SELECT id FROM audit_salts WHERE pseudonym = ?1)");
	sql_add(sql, sizeof(sql), &n, " WHERE 1");
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (where[i].on)
			sql_add(sql, sizeof(sql), &n, where[i].sql);
	sql_add(sql, sizeof(sql), &n, " ORDER BY l.idx DESC LIMIT ?8");
	rc = sqlite3_prepare_v2(db, sql, -1, out, NULL);
	return rc == SQLITE_OK ? CR_OK : log_sqlite_err(rc);
}

static void query_bind(sqlite3_stmt *st, const struct audit_query *q)
{
	if (q->subject != NULL)
		sqlite3_bind_blob(st, QP_SUBJECT, q->subject, 32, SQLITE_STATIC);
	if (q->tenant != NULL)
		sqlite3_bind_text(st, QP_TENANT, q->tenant, -1, SQLITE_STATIC);
	if (q->event_type != NULL)
		sqlite3_bind_text(st, QP_TYPE, q->event_type, -1, SQLITE_STATIC);
	if (q->actor_id != NULL)
		sqlite3_bind_text(st, QP_ACTOR, q->actor_id, -1, SQLITE_STATIC);
	if (q->since > 0)
		sqlite3_bind_int64(st, QP_SINCE, q->since);
	if (q->until > 0)
		sqlite3_bind_int64(st, QP_UNTIL, q->until);
	if (q->has_before)
		sqlite3_bind_int64(st, QP_BEFORE,
				   q->before > INT64_MAX ? INT64_MAX : (sqlite3_int64)q->before);
	/* One row more than asked tells whether another page exists. */
	sqlite3_bind_int64(st, QP_LIMIT, (sqlite3_int64)q->limit + 1);
}

/* Copies the current row into rec (leaf bytes and decoded leaf). */
static cr_err record_read(sqlite3_stmt *st, struct audit_record *rec)
{
	size_t len = (size_t)sqlite3_column_bytes(st, 1);
	rec->index = (uint64_t)sqlite3_column_int64(st, 0);
	rec->bytes = cr_xmalloc(len);
	rec->len = len;
	if (len > 0)
		memcpy(rec->bytes, sqlite3_column_blob(st, 1), len);
	return audit_leaf_decode(rec->bytes, len, &rec->leaf) == CR_OK ? CR_OK : CR_ERR_AUDIT_VERIFY;
}

cr_err audit_log_query(struct audit_log *log, const struct audit_query *q, struct audit_page *out)
{
	struct audit_page page = { .records = NULL };
	sqlite3_stmt *st = NULL;
	int step;
	cr_err rc = CR_ERR_AUDIT_QUERY;

	if (q->limit == 0 || q->limit > QUERY_LIMIT_MAX)
		goto out;
	rc = query_prepare(log->db, q, &st);
	if (rc != CR_OK)
		goto out;
	query_bind(st, q);
	page.records = cr_xcalloc(q->limit, sizeof(*page.records));
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (page.n == q->limit) {
			page.more = true;
			break;
		}
		rc = record_read(st, &page.records[page.n]);
		page.n++;
		if (rc != CR_OK)
			goto out;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		rc = log_sqlite_err(step);
		goto out;
	}
	if (page.n > 0)
		page.next_before = page.records[page.n - 1].index;
	*out = page;
	page.records = NULL;
	page.n = 0;
	rc = CR_OK;
out:
	sqlite3_finalize(st);
	audit_page_release(&page);
	return rc;
}

void audit_page_release(struct audit_page *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->records[i].bytes);
		audit_leaf_free(p->records[i].leaf);
	}
	free(p->records);
	p->records = NULL;
	p->n = 0;
}

/* ------------------------------------------------- checkpoint history */

cr_err audit_log_checkpoints(struct audit_log *log, uint64_t before, size_t limit,
			     audit_checkpoint_fn fn, void *ctx, bool *more)
{
	sqlite3_stmt *st = NULL;
	bool began = false;
	size_t n = 0;
	int step;
	cr_err rc;
	if (limit < 1 || limit > QUERY_LIMIT_MAX || before > INT64_MAX)
		return CR_ERR_AUDIT_QUERY;
	rc = log_read_begin(log->db, &began);
	if (rc != CR_OK)
		return rc;
	/* One row more than asked says whether another page exists. */
	step = sqlite3_prepare_v2(log->db,
				  "SELECT size, time_ms, note FROM audit_checkpoints"
				  " WHERE ?1 = 0 OR size < ?1 ORDER BY size DESC LIMIT ?2",
				  -1, &st, NULL);
	if (step != SQLITE_OK) {
		rc = log_sqlite_err(step);
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)before);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit + 1);
	while ((step = sqlite3_step(st)) == SQLITE_ROW && n < limit) {
		const char *note = (const char *)sqlite3_column_text(st, 2);
		if (note == NULL) {
			rc = CR_ERR_AUDIT;
			goto out;
		}
		fn(ctx, (uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), note,
		   (size_t)sqlite3_column_bytes(st, 2));
		n++;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = log_sqlite_err(step);
	else
		*more = step == SQLITE_ROW;
out:
	sqlite3_finalize(st);
	log_read_end(log->db, began);
	return rc;
}
