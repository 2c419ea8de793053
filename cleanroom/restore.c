/*
 * restore.c: putting a backup in place (backup.h).
 *
 * The plan compares the backup with the database the directory holds, row
 * by row through ATTACH, and counts what the directory has that the backup
 * lacks: audit entries, consent events (withdrawals among them, whose loss
 * brings back records the person had removed), records and releases. A
 * restore that loses audit entries rolls the log back: the officer's saved
 * checkpoints and the receipts already handed out name entries that will
 * be gone. It is done only when asked for, and recorded as a
 * `service.rollback` leaf in the restored log, carrying the size and root
 * of the head it replaced, so an officer comparing checkpoints sees why the
 * log forked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cleanroom/app.h"
#include "cleanroom/backup.h"


/* Rows of `table` in the live database ("main") that the backup ("bk")
 * lacks, rows being equal when the columns of `same` are. */
static cr_err count_missing(sqlite3 *db, const char *from, const char *other, const char *table,
			    const char *same, const char *where, uint64_t *out)
{
	char sql[512];
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	if ((size_t)snprintf(sql, sizeof(sql),
			     "SELECT count(*) FROM %s.%s m WHERE %s AND NOT EXISTS "
			     "(SELECT 1 FROM %s.%s b WHERE %s)",
			     from, table, where, other, table, same) >= sizeof(sql))
		return CR_ERR_INTERNAL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		*out = (uint64_t)sqlite3_column_int64(st, 0);
		rc = CR_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* What the live database `db` (with the backup attached as "bk") loses. */
static cr_err plan_losses(sqlite3 *db, struct restore_plan *p)
{
	static const char leaf_same[] = "b.idx = m.idx AND b.data = m.data";
	static const char event_same[] = "b.id = m.id";
	static const char record_same[] = "b.dataset_id = m.dataset_id AND b.pseudonym = m.pseudonym";
	cr_err rc = count_missing(db, "main", "bk", "audit_leaves", leaf_same, "1", &p->lost_entries);
	if (rc == CR_OK)
		rc = count_missing(db, "main", "bk", "consent_events", event_same, "1", &p->lost_events);
	if (rc == CR_OK)
		rc = count_missing(db, "main", "bk", "consent_events", event_same,
				   "m.type IN ('withdraw', 'object')", &p->lost_withdrawals);
	if (rc == CR_OK)
		rc = count_missing(db, "main", "bk", "records", record_same, "1", &p->lost_records);
	if (rc == CR_OK)
		rc = count_missing(db, "bk", "main", "records", record_same, "1", &p->revived_records);
	if (rc == CR_OK)
		rc = count_missing(db, "main", "bk", "collab_releases", event_same, "1", &p->lost_releases);
	return rc;
}

/* The root line (base64) of a signed checkpoint note: its third line. */
static void note_root(const char *note, char root[static 48])
{
	const char *l = note;
	root[0] = '\0';
	for (int i = 0; i < 2 && l != NULL; i++) {
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
	if (l == NULL)
		return;
	size_t n = strcspn(l, "\n");
	if (n < 48) {
		memcpy(root, l, n);
		root[n] = '\0';
	}
}

/* Compares the directory's database `db_path` with the backup `file`. */
static cr_err plan_against(const char *db_path, const char *file, struct restore_plan *p)
{
	struct backup_info cur = { 0 };
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	cr_err rc = backup_describe(db_path, &cur);

	if (rc != CR_OK)
		return rc == CR_ERR_BACKUP_INVALID ? CR_ERR_DATA_DIR : rc;
	p->current_size = cur.log_size;
	p->current_checkpoint = cur.checkpoint_size;
	note_root(cur.checkpoint, p->current_root);
	if (strcmp(cur.origin, p->backup.origin) != 0) {
		rc = CR_ERR_RESTORE_ORIGIN;
		goto out;
	}
	rc = CR_ERR_STORE;
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 10000) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA query_only=ON", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS bk", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, file, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	rc = plan_losses(db, p);
out:
	sqlite3_finalize(st);
	sqlite3_close_v2(db);
	backup_info_release(&cur);
	return rc;
}

bool restore_plan_loses(const struct restore_plan *p)
{
	return p->lost_entries > 0;
}

void restore_plan_release(struct restore_plan *p)
{
	if (p != NULL)
		backup_info_release(&p->backup);
}

/* FILE.keys: where `backup --with-keys` put the keys (handed over). */
static char *keys_beside(const char *file)
{
	size_t n = strlen(file) + sizeof(".keys");
	char *k = cr_xmalloc(n);
	snprintf(k, n, "%s.keys", file);
	return k;
}

cr_err restore_plan(const char *data_dir, const char *file, struct restore_plan *out)
{
	struct restore_plan p = { 0 };
	char *db = app_path(data_dir, APP_DB_FILE);
	char *keys = app_path(data_dir, "keys");
	char *bkeys = keys_beside(file);
	struct stat st;
	cr_err rc = backup_describe(file, &p.backup);

	if (rc != CR_OK)
		goto out;
	if (p.backup.schema > store_schema_version()) {
		rc = CR_ERR_STORE_VERSION;
		goto out;
	}
	if (lstat(keys, &st) != 0) {
		if (lstat(bkeys, &st) != 0 || !S_ISDIR(st.st_mode)) {
			rc = CR_ERR_RESTORE_KEYS;
			goto out;
		}
		p.keys_from_backup = true;
	}
	if (lstat(db, &st) == 0) {
		p.has_current = true;
		rc = plan_against(db, file, &p);
	}
out:
	free(db);
	free(keys);
	free(bkeys);
	if (rc != CR_OK) {
		restore_plan_release(&p);
		return rc;
	}
	*out = p;
	return CR_OK;
}
