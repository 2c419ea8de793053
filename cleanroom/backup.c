/*
 * backup.c: consistent copies of the database with SQLite's online backup
 * API, what a backup holds, and the key files' separate copy.
 *
 * The copy is made in one sqlite3_backup_step(-1): SQLite reads the source
 * in one read transaction, so the copy is one committed state even while a
 * server commits beside it (in WAL mode the reader never blocks the
 * writer). A plain file copy would not be: it could tear a page half-way
 * through a checkpoint, and would miss what is still in the WAL.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "cleanroom/backup.h"

#define BUSY_MS 10000

void backup_info_release(struct backup_info *i)
{
	if (i == NULL)
		return;
	free(i->checkpoint);
	free(i->origin);
	memset(i, 0, sizeof(*i));
}

/* One integer from `sql` (a single row and column); -1 if the table is missing. */
static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* One text from `sql`, handed over; NULL if none. */
static char *query_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	char *v = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0) != NULL)
		v = cr_xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

/* A count that is 0 when the table is not there yet (an older schema). */
static uint64_t count_or_zero(sqlite3 *db, const char *sql)
{
	int64_t n = query_int(db, sql);
	return n < 0 ? 0 : (uint64_t)n;
}

cr_err backup_describe(const char *path, struct backup_info *out)
{
	struct backup_info i = { 0 };
	sqlite3 *db = NULL;
	struct stat st;
	int64_t n;
	cr_err rc = CR_ERR_BACKUP_INVALID;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return CR_ERR_IO;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, BUSY_MS);
	i.bytes = (uint64_t)st.st_size;
	i.schema = (int)query_int(db, "PRAGMA user_version");
	i.origin = query_text(db, "SELECT value FROM settings WHERE key = 'origin'");
	n = query_int(db, "SELECT count(*) FROM audit_leaves");
	i.checkpoint = query_text(db, "SELECT note FROM audit_checkpoints ORDER BY size DESC LIMIT 1");
	if (i.schema < 1 || i.origin == NULL || n < 1 || i.checkpoint == NULL)
		goto out;
	i.log_size = (uint64_t)n;
	i.checkpoint_size = count_or_zero(db, "SELECT max(size) FROM audit_checkpoints");
	i.consent_events = count_or_zero(db, "SELECT count(*) FROM consent_events");
	i.records = count_or_zero(db, "SELECT count(*) FROM records");
	i.releases = count_or_zero(db, "SELECT count(*) FROM collab_releases");
	rc = CR_OK;
out:
	sqlite3_close_v2(db);
	if (rc != CR_OK) {
		backup_info_release(&i);
		return rc;
	}
	*out = i;
	return CR_OK;
}

/* fsyncs a file or directory by path. */
static cr_err sync_path(const char *path, bool dir)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW);
	cr_err rc = CR_OK;
	if (fd < 0)
		return CR_ERR_IO;
	if (fsync(fd) != 0)
		rc = CR_ERR_IO;
	close(fd);
	return rc;
}

/* The directory part of `path` ("." if none), handed over. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return cr_xstrdup(".");
	if (slash == path)
		return cr_xstrdup("/");
	char *d = cr_xstrdup(path);
	d[slash - path] = '\0';
	return d;
}

/* The online backup of `src` into the (empty) file `dst`, then rollback-journal mode. */
static cr_err online_copy(const char *src, const char *dst)
{
	sqlite3 *from = NULL, *to = NULL;
	sqlite3_backup *bk = NULL;
	cr_err rc = CR_ERR_STORE;
	int step = SQLITE_BUSY;

	/* Read-write but query_only: a WAL database's reader may need to
	 * create the -shm file, which a read-only open cannot. */
	if (sqlite3_open_v2(src, &from, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		rc = CR_ERR_DATA_DIR;
		goto out;
	}
	sqlite3_busy_timeout(from, BUSY_MS);
	if (sqlite3_exec(from, "PRAGMA query_only=ON", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_open_v2(dst, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK)
		goto out;
	bk = sqlite3_backup_init(to, "main", from, "main");
	if (bk == NULL)
		goto out;
	/* -1: every page in one step, from one read transaction. */
	for (int tries = 0; tries < 100 && (step == SQLITE_BUSY || step == SQLITE_LOCKED); tries++) {
		step = sqlite3_backup_step(bk, -1);
		if (step == SQLITE_BUSY || step == SQLITE_LOCKED)
			sqlite3_sleep(100);
	}
	if (sqlite3_backup_finish(bk) != SQLITE_OK || step != SQLITE_DONE)
		goto out;
	/* One self-contained file: no -wal beside it to lose in a copy. */
	rc = sqlite3_exec(to, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) == SQLITE_OK ? CR_OK : CR_ERR_STORE;
out:
	sqlite3_close_v2(to);
	sqlite3_close_v2(from);
	return rc;
}

cr_err backup_copy(const char *src, const char *dst)
{
	size_t n = strlen(dst) + sizeof(".partial");
	char *tmp = cr_xmalloc(n);
	char *dir = dir_of(dst);
	struct stat st;
	cr_err rc = CR_OK;
	int fd;

	snprintf(tmp, n, "%s.partial", dst);
	if (lstat(dst, &st) == 0) {
		rc = CR_ERR_BACKUP_EXISTS;
		goto out;
	}
	unlink(tmp);  /* a crashed earlier attempt's */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = CR_ERR_IO;
		goto out;
	}
	close(fd);
	rc = online_copy(src, tmp);
	if (rc == CR_OK)
		rc = sync_path(tmp, false);
	/* link() refuses an existing name, so a backup is never overwritten. */
	if (rc == CR_OK && link(tmp, dst) != 0)
		rc = errno == EEXIST ? CR_ERR_BACKUP_EXISTS : CR_ERR_IO;
	unlink(tmp);
	if (rc == CR_OK)
		rc = sync_path(dir, true);
out:
	free(tmp);
	free(dir);
	return rc;
}

/* Copies one key file `name` from `from` to `to` (0600, O_EXCL). */
static cr_err key_file_copy(const char *from, const char *to, const char *name)
{
	char src[4096], dst[4096], buf[4096];
	int in = -1, out = -1;
	ssize_t got;
	cr_err rc = CR_ERR_IO;

	if ((size_t)snprintf(src, sizeof(src), "%s/%s", from, name) >= sizeof(src) ||
	    (size_t)snprintf(dst, sizeof(dst), "%s/%s", to, name) >= sizeof(dst))
		return CR_ERR_IO;
	in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (in < 0 || out < 0)
		goto out;
	while ((got = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)got) != got)
			goto out;
	if (got == 0 && fsync(out) == 0)
		rc = CR_OK;
out:
	sodium_memzero(buf, sizeof(buf));  /* key bytes passed through it */
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}

cr_err backup_keys_copy(const char *from, const char *to)
{
	static const char *const files[] = { "master.key", "sign.key" };
	cr_err rc = CR_OK;
	if (mkdir(to, 0700) != 0)
		return errno == EEXIST ? CR_ERR_BACKUP_EXISTS : CR_ERR_IO;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]) && rc == CR_OK; i++)
		rc = key_file_copy(from, to, files[i]);
	if (rc != CR_OK) {
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			char p[4096];
			if ((size_t)snprintf(p, sizeof(p), "%s/%s", to, files[i]) < sizeof(p))
				unlink(p);
		}
		rmdir(to);
	}
	return rc == CR_OK ? sync_path(to, true) : rc;
}
