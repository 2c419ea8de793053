/*
 * psi_recover.c: match sessions that a stop left open (issue 21 item 7).
 *
 * Sessions live in memory. A row in match_open is written in the same
 * transaction as a session's "match.session" leaf and deleted in the same
 * transaction as its last leaf (release, refusal, expiry). A row that is
 * still there at start-up belongs to a session the previous process never
 * ended; psi_sessions_recover gives each a "match.abort" leaf, so the log
 * shows how every session ended. Nothing was released or charged for them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/app.h"
#include "cleanroom/psi_session.h"

const char psi_schema_open[] =
	"CREATE TABLE match_open ("
	"  session    TEXT PRIMARY KEY,"
	"  collab_id  INTEGER NOT NULL,"
	"  tenant     TEXT NOT NULL,"
	"  dataset    TEXT NOT NULL,"
	"  partner    TEXT NOT NULL,"
	"  actor_role TEXT NOT NULL,"
	"  actor_id   TEXT NOT NULL"
	") STRICT;";

cr_err psi_open_row_add(struct store *s, const struct psi_open_row *r)
{
	sqlite3_stmt *st = NULL;
	int rc;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO match_open(session, collab_id, tenant, dataset, partner,"
			       " actor_role, actor_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			       -1, &st, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	sqlite3_bind_text(st, 1, r->session, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r->collab_id);
	sqlite3_bind_text(st, 3, r->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->dataset, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->actor_role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->actor_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CR_OK : store_err(rc);
}

cr_err psi_open_row_end(struct store *s, const char *session)
{
	sqlite3_stmt *st = NULL;
	int rc;
	if (session == NULL || session[0] == '\0')
		return CR_OK;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM match_open WHERE session = ?1", -1, &st, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	sqlite3_bind_text(st, 1, session, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CR_OK : store_err(rc);
}

/* Room for one text column of a row (session id, names, actor). */
#define ROW_TEXT_MAX (DATASET_CODE_MAX + 66)

/* The oldest row left, or CR_ERR_NOT_FOUND. Its text columns are copied into buf. */
static cr_err first_row(struct store *s, struct psi_open_row *r, char buf[6][ROW_TEXT_MAX])
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT session, collab_id, tenant, dataset, partner, actor_role, actor_id"
			       " FROM match_open ORDER BY rowid LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = CR_ERR_NOT_FOUND;
	} else if (step == SQLITE_ROW) {
		const char **dst[6] = { &r->session, &r->tenant, &r->dataset, &r->partner, &r->actor_role,
					&r->actor_id };
		const int col[6] = { 0, 2, 3, 4, 5, 6 };
		for (int i = 0; i < 6; i++) {
			const char *v = (const char *)sqlite3_column_text(st, col[i]);
			snprintf(buf[i], ROW_TEXT_MAX, "%s", v ? v : "");
			*dst[i] = buf[i];
		}
		r->collab_id = sqlite3_column_int64(st, 1);
		rc = CR_OK;
	} else {
		rc = store_err(step);
	}
	sqlite3_finalize(st);
	return rc;
}

cr_err psi_sessions_recover(struct app *a, size_t *aborted)
{
	char buf[6][ROW_TEXT_MAX], collab[24];
	struct psi_open_row r;
	size_t n = 0;
	cr_err rc;
	for (;;) {
		rc = app_begin(a);
		if (rc == CR_OK)
			rc = first_row(a->store, &r, buf);
		if (rc == CR_OK) {
			const char *recipients[1] = { r.partner };
			struct audit_entry e = { .event_type = "match.abort", .actor_role = r.actor_role,
						 .actor_id = r.actor_id, .tenant = r.tenant, .dataset = r.dataset,
						 .collaboration = collab, .session = r.session,
						 .recipients = recipients, .n_recipients = 1,
						 .detail = "reason=restart (the service stopped while the session was open;"
							   " nothing was released or charged)" };
			snprintf(collab, sizeof(collab), "%lld", (long long)r.collab_id);
			rc = app_audit(a, &e, NULL);
			if (rc == CR_OK)
				rc = psi_open_row_end(a->store, r.session);
		}
		if (rc == CR_ERR_NOT_FOUND) {
			app_rollback(a);
			rc = CR_OK;
			break;
		}
		rc = app_end(a, rc);
		if (rc != CR_OK)
			break;
		n++;
	}
	if (aborted)
		*aborted = n;
	return rc;
}
