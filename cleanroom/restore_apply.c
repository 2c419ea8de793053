/*
 * restore_apply.c: the writing half of a restore (backup.h): the backup is
 * copied beside the live database, migrated, opened with the directory's
 * keys (so its start-up check proves they signed it), audited, and only
 * then renamed over the live database. A crash before the rename leaves
 * the directory as it was; after it, the restored database already holds
 * its restore leaf.
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

#define RESTORE_TMP APP_DB_FILE ".restore"

/* Removes `base` and its -wal, -journal and -shm files (leftovers of a crash). */
static void remove_db_files(const char *base)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[4096];
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if ((size_t)snprintf(p, sizeof(p), "%s%s", base, sfx[i]) < sizeof(p))
			unlink(p);
}

/*
 * Takes the database at `path` out of WAL mode: every committed page is
 * then in the file itself, and no -wal is left that SQLite would replay
 * over whatever file next has this name. Fails (CR_ERR_DATA_DIR_BUSY)
 * while any other connection has it open.
 */
static cr_err leave_wal(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_DATA_DIR_BUSY;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		rc = CR_ERR_STORE;
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=DELETE", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(st, 0), "delete") == 0)
		rc = CR_OK;
out:
	sqlite3_finalize(st);
	sqlite3_close_v2(db);
	return rc;
}

/* The restore's leaf and its checkpoint, in the restored database. */
static cr_err audit_restore(struct app *a, const struct restore_plan *p, uint64_t *index)
{
	char detail[512];
	struct audit_entry e = { .event_type = restore_plan_loses(p) ? "service.rollback" : "service.restore",
				 .actor_role = "admin", .actor_id = "cli", .detail = detail };
	cr_err rc;
	snprintf(detail, sizeof(detail),
		 "backup_size=%llu backup_checkpoint=%llu replaced_size=%llu replaced_checkpoint=%llu "
		 "replaced_root=%s lost_entries=%llu lost_consent_events=%llu lost_withdrawals=%llu "
		 "lost_records=%llu revived_records=%llu lost_releases=%llu",
		 (unsigned long long)p->backup.log_size, (unsigned long long)p->backup.checkpoint_size,
		 (unsigned long long)p->current_size, (unsigned long long)p->current_checkpoint,
		 p->current_root[0] ? p->current_root : "-", (unsigned long long)p->lost_entries,
		 (unsigned long long)p->lost_events, (unsigned long long)p->lost_withdrawals,
		 (unsigned long long)p->lost_records, (unsigned long long)p->revived_records,
		 (unsigned long long)p->lost_releases);
	struct app_tip tip;
	struct audit_verifier v;
	uint64_t past = p->current_size, gap = 0;
	/* Never sign a size the directory signed before with another root:
	 * pad past the live log and past its tip (app_tip.c). */
	rc = audit_verifier_from_signer(&a->signer, &v);
	if (rc == CR_OK)
		rc = app_tip_load(a->data_dir, &v, a->origin, &tip);
	if (rc != CR_OK)
		return rc;
	if (tip.found && tip.cp.size > past)
		past = tip.cp.size;
	rc = app_begin(a);
	if (rc == CR_OK)
		rc = app_audit(a, &e, index);
	if (rc == CR_OK && p->has_current)
		rc = app_tip_pad_past(a, past, &gap);
	return app_end(a, rc);
}

/* Copies, migrates, checks and audits the backup at DATA/RESTORE_TMP. */
static cr_err prepare(const char *data_dir, const char *file, const char *tmp,
		      const struct restore_plan *p, uint64_t *index)
{
	struct app *a = NULL;
	cr_err rc;

	remove_db_files(tmp);
	rc = backup_copy(file, tmp);
	if (rc != CR_OK)
		return rc;
	rc = app_open_file(data_dir, RESTORE_TMP, &a);
	if (rc == CR_ERR_AUDIT_STARTUP || rc == CR_ERR_KEY_MISSING)
		rc = CR_ERR_RESTORE_KEYS;
	if (rc == CR_OK)
		rc = audit_restore(a, p, index);
	app_close(a);
	if (rc == CR_OK)
		rc = leave_wal(tmp);
	return rc;
}

/* Copies FILE.keys/ into DATA/keys when the plan says the directory has none. */
static cr_err place_keys(const char *data_dir, const char *file)
{
	size_t n = strlen(file) + sizeof(".keys");
	char *from = cr_xmalloc(n);
	char *to = app_path(data_dir, "keys");
	cr_err rc;
	snprintf(from, n, "%s.keys", file);
	rc = backup_keys_copy(from, to);
	free(from);
	free(to);
	return rc == CR_ERR_BACKUP_EXISTS ? CR_ERR_RESTORE_KEYS : rc;
}

cr_err restore_apply(const char *data_dir, const char *file, const struct restore_plan *p,
		     bool accept_loss, uint64_t *index_out)
{
	char *db = app_path(data_dir, APP_DB_FILE);
	char *tmp = app_path(data_dir, RESTORE_TMP);
	char *shm = app_path(data_dir, APP_DB_FILE "-shm");
	uint64_t index = 0;
	cr_err rc = CR_OK;
	int dfd;

	if (restore_plan_loses(p) && !accept_loss) {
		rc = CR_ERR_RESTORE_LOSS;
		goto out;
	}
	if (p->keys_from_backup)
		rc = place_keys(data_dir, file);
	if (rc == CR_OK)
		rc = prepare(data_dir, file, tmp, p, &index);
	if (rc == CR_OK && p->has_current)
		rc = leave_wal(db);
	if (rc == CR_OK) {
		unlink(shm);
		if (rename(tmp, db) != 0)
			rc = CR_ERR_IO;
	}
	dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (rc == CR_OK && fsync(dfd) != 0)
			rc = CR_ERR_IO;
		close(dfd);
	}
	/* The restored database is the directory's now: so is its checkpoint. */
	if (rc == CR_OK)
		rc = app_tip_reset(data_dir);
out:
	if (rc != CR_OK)
		remove_db_files(tmp);
	else
		*index_out = index;
	free(db);
	free(tmp);
	free(shm);
	return rc;
}
