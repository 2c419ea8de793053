/*
 * export.c: the log as an officer takes it away (audit.h,
 * audit_log_export): a new SQLite file holding only the leaves, the stored
 * hashes and the signed checkpoints, copied row by row from one read
 * snapshot of the source. The salts and the subject index stay behind:
 * they are what links a commitment to a pseudonym, and an erasure deletes
 * them. audit_log_verify runs on the copy as on the original.
 */
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

struct copy {
	const char *select, *insert;
	int columns;
	uint64_t *count;
};

/* Copies one table's rows, column by column as stored (integers, text, blobs). */
static cr_err copy_rows(sqlite3 *src, sqlite3 *dst, const struct copy *c)
{
	sqlite3_stmt *sel = NULL, *ins = NULL;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (sqlite3_prepare_v2(src, c->select, -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(dst, c->insert, -1, &ins, NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
		for (int i = 0; i < c->columns; i++)
			sqlite3_bind_value(ins, i + 1, sqlite3_column_value(sel, i));
		if (sqlite3_step(ins) != SQLITE_DONE)
			goto out;
		sqlite3_reset(ins);
		(*c->count)++;
	}
	if (step == SQLITE_DONE)
		rc = CR_OK;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	return rc;
}

cr_err audit_log_export(sqlite3 *src, const char *dest_path, struct audit_export_report *out)
{
	const struct copy tables[] = {
		{ "SELECT idx, time_ms, type, tenant, actor, data FROM audit_leaves ORDER BY idx",
		  "INSERT INTO audit_leaves(idx, time_ms, type, tenant, actor, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		  6, &out->leaves },
		{ "SELECT id, hash FROM audit_hashes ORDER BY id", "INSERT INTO audit_hashes(id, hash) VALUES (?1, ?2)",
		  2, &out->hashes },
		{ "SELECT size, time_ms, note FROM audit_checkpoints ORDER BY size",
		  "INSERT INTO audit_checkpoints(size, time_ms, note) VALUES (?1, ?2, ?3)", 3, &out->checkpoints },
	};
	sqlite3 *dst = NULL;
	bool own_read = sqlite3_get_autocommit(src) != 0;
	cr_err rc = CR_ERR_STORE;

	memset(out, 0, sizeof(*out));
	if (sqlite3_open_v2(dest_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXCLUSIVE |
			    SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL; BEGIN", NULL, NULL, NULL) !=
		    SQLITE_OK ||
	    sqlite3_exec(dst, audit_schema_v1, NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	/* One snapshot: leaves, hashes and checkpoints of the same moment. */
	if (own_read && sqlite3_exec(src, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	rc = CR_OK;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]) && rc == CR_OK; i++)
		rc = copy_rows(src, dst, &tables[i]);
	if (own_read)
		sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	if (rc == CR_OK && sqlite3_exec(dst, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = CR_ERR_STORE;
out:
	sqlite3_close(dst);
	return rc;
}
