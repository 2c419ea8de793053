/*
 * store.c: opening, migrating and transacting on the SQLite database.
 *
 * Migrations are an ordered list; migration N brings user_version from N-1
 * to N inside one transaction, so a crash mid-migration leaves the old
 * version intact. Folders that own tables export their DDL (audit/,
 * consent/) and the list below runs it; no folder opens the database itself.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "consent/consent.h"
#include "cleanroom/dataset.h"
#include "cleanroom/store.h"
#include "cleanroom/auth.h"
#include "cleanroom/collab.h"
#include "cleanroom/pia.h"
#include "cleanroom/psi_session.h"
#include "cleanroom/registry.h"
#include "cleanroom/requests.h"
#include "cleanroom/witness.h"

/* Tables owned by cleanroom/ itself. */
static const char schema_core_v1[] =
	"CREATE TABLE settings ("
	"  key   TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	") STRICT;";

struct migration {
	const char *name;
	const char *const *sql; /* NULL-terminated list of scripts */
};

static const char *const migration_1[] = { schema_core_v1, NULL };
static const char *const migration_api_tokens[] = { auth_schema_v1, NULL };

static const char *const migration_audit[] = { audit_schema_v1, NULL };
static const char *const migration_consent[] = { consent_schema_v1, NULL };
static const char *const migration_datasets[] = { dataset_schema_v1, NULL };
static const char *const migration_collab[] = { collab_schema_v1, NULL };
static const char *const migration_consent_v2[] = { consent_schema_v2, NULL };
static const char *const migration_datasets_v2[] = { dataset_schema_v2, NULL };
static const char *const migration_match_open[] = { psi_schema_open, NULL };
static const char *const migration_collab_v2[] = { collab_schema_v2, NULL };
static const char *const migration_collab_pad[] = { collab_schema_v3, NULL };
static const char *const migration_event_leaves[] = { registry_schema_v1, NULL };
static const char *const migration_cosignatures[] = { witness_schema_v1, NULL };
static const char *const migration_requests[] = { requests_schema_v1, NULL };
static const char *const migration_guardian_links[] = { consent_schema_v3, NULL };
static const char *const migration_pia[] = { pia_schema_v1, NULL };
static const char *const migration_dataset_suite[] = { dataset_schema_v3, NULL };
static const char *const migration_event_rules[] = { consent_schema_v4, NULL };

static const struct migration migrations[] = {
	{ "core settings", migration_1 },
	{ "api tokens", migration_api_tokens },
	{ "audit log", migration_audit },
	{ "consent registry", migration_consent },
	{ "datasets", migration_datasets },
	{ "collaborations", migration_collab },
	{ "consent rule tables append-only", migration_consent_v2 },
	{ "child-directed datasets", migration_datasets_v2 },
	{ "match sessions open", migration_match_open },
	{ "budgets per dataset and partner", migration_collab_v2 },
	{ "collaboration padding", migration_collab_pad },
	{ "consent event leaves", migration_event_leaves },
	{ "witness cosignatures", migration_cosignatures },
	{ "rights requests", migration_requests },
	{ "guardian links", migration_guardian_links },
	{ "impact assessments and transfer mechanisms", migration_pia },
	{ "dataset PSI suites", migration_dataset_suite },
	{ "consent event rules as one text", migration_event_rules },
};

#define MIGRATION_COUNT ((int)(sizeof(migrations) / sizeof(migrations[0])))

int store_schema_version(void)
{
	return MIGRATION_COUNT;
}

cr_err store_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return CR_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return CR_ERR_STORE_BUSY;
	case SQLITE_CONSTRAINT:
		return CR_ERR_EXISTS;
	case SQLITE_NOMEM:
		return CR_ERR_NOMEM;
	case SQLITE_CANTOPEN:
		return CR_ERR_DATA_DIR;
	default:
		return CR_ERR_STORE;
	}
}

cr_err store_exec(struct store *s, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	sqlite3_free(msg);
	return store_err(rc);
}

static cr_err read_user_version(struct store *s, int *out)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	*out = sqlite3_column_int(st, 0);
	rc = CR_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

static cr_err apply_migration(struct store *s, int number)
{
	char pragma[64];
	cr_err rc = store_begin(s);
	if (rc != CR_OK)
		return rc;
	for (const char *const *sql = migrations[number - 1].sql; *sql; sql++) {
		rc = store_exec(s, *sql);
		if (rc != CR_OK)
			goto out;
	}
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", number);
	rc = store_exec(s, pragma);
	if (rc != CR_OK)
		goto out;
	rc = store_commit(s);
out:
	if (rc != CR_OK)
		store_rollback(s);
	return rc;
}

static cr_err migrate(struct store *s, int upto)
{
	int have = 0;
	cr_err rc = read_user_version(s, &have);
	if (rc != CR_OK)
		return rc;
	if (have > MIGRATION_COUNT)
		return CR_ERR_STORE_VERSION;
	for (int v = have + 1; v <= upto && rc == CR_OK; v++) {
		/* An existing store's upgrade can take a while (migration 18
		 * rebuilds a table of every consent event: 21 s for 3.9M): say
		 * so, on standard error, before and after. A new store's
		 * migrations are its creation and pass silently. */
		int64_t t0 = cr_monotonic_ms();
		if (have > 0)
			fprintf(stderr, "cleanroom: upgrading the database to schema %d (%s)...\n", v,
				migrations[v - 1].name);
		rc = apply_migration(s, v);
		if (have > 0)
			fprintf(stderr, "cleanroom: schema %d %s in %.1f s\n", v, rc == CR_OK ? "done" : "failed",
				(double)(cr_monotonic_ms() - t0) / 1000.0);
	}
	return rc;
}

static cr_err set_pragmas(struct store *s)
{
	/* WAL with synchronous=FULL: a commit acknowledged to anyone survives
	 * a power cut, so the log never re-signs a rolled-back checkpoint (I6). */
	static const char pragmas[] =
		"PRAGMA journal_mode=WAL;"
		"PRAGMA synchronous=FULL;"
		"PRAGMA foreign_keys=ON;"
		"PRAGMA secure_delete=ON;"
		"PRAGMA trusted_schema=OFF;"
		/* 32 MiB of page cache: ingest and consent checks read the same
		 * index pages over and over; the default 2 MiB made them re-read
		 * from the file (measured with perf, bench-ingest). */
		"PRAGMA cache_size=-32768;"
		/* Fewer, larger WAL checkpoints (durability is unchanged: every
		 * COMMIT is still fsynced). No mmap: mapped database pages count
		 * in the process's RSS, and ingest must stay under 256 MiB. */
		"PRAGMA wal_autocheckpoint=10000;";
	cr_err rc = store_exec(s, pragmas);
	if (rc == CR_OK && sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK)
		rc = CR_ERR_STORE;
	return rc;
}

/*
 * The database and, as SQLite gives them its mode, its WAL and shm files are
 * the owner's only (0600): created so, and an older install's corrected.
 */
static cr_err private_file(const char *path, bool create)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char p[4096];
	struct stat st;
	int fd;
	if (create) {
		fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return CR_ERR_STORE;
		close(fd);
	}
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", path, sfx[i]) >= sizeof(p))
			return CR_ERR_STORE;
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0 &&
		    chmod(p, 0600) != 0)
			return CR_ERR_STORE;
	}
	return CR_OK;
}

static cr_err open_migrated(const char *path, bool create, int upto, struct store **out)
{
	struct store *s = cr_xcalloc(1, sizeof(*s));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
	cr_err rc;

	if (create)
		flags |= SQLITE_OPEN_CREATE;
	s->path = cr_xstrdup(path);
	rc = private_file(path, create);
	if (rc != CR_OK)
		goto out;
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		rc = create ? CR_ERR_STORE : CR_ERR_DATA_DIR;
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	rc = set_pragmas(s);
	if (rc != CR_OK)
		goto out;
	rc = migrate(s, upto);
out:
	if (rc != CR_OK) {
		store_close(s);
		return rc;
	}
	*out = s;
	return CR_OK;
}

cr_err store_open(const char *path, bool create, struct store **out)
{
	return open_migrated(path, create, MIGRATION_COUNT, out);
}

cr_err store_open_at_version(const char *path, int version, struct store **out)
{
	if (version < 1 || version > MIGRATION_COUNT)
		return CR_ERR_INVALID_ARG;
	return open_migrated(path, true, version, out);
}

cr_err store_open_reader(const char *path, struct store **out)
{
	/* 8 MiB of page cache each: readers see the same hot index pages.
	 * 1 GiB mapped each. Mapping up to SQLite's build limit (2 GiB less
	 * 64 KiB on Debian) took a 1M x 1M match's load from 1.59 to about
	 * 1.44 s (a page past the mapping is read by pread and copied), but
	 * its peak RSS from 1.9 to 3.7 GB of mapped pages, and every reader of
	 * the service maps as much: not kept. */
	static const char pragmas[] =
		"PRAGMA query_only=ON;"
		"PRAGMA trusted_schema=OFF;"
		"PRAGMA cache_size=-8192;"
		"PRAGMA mmap_size=1073741824;";
	struct store *s = cr_xcalloc(1, sizeof(*s));
	int version = 0;
	cr_err rc = CR_ERR_DATA_DIR;

	s->path = cr_xstrdup(path);
	s->reader = true;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
			    SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK)
		goto out;
	sqlite3_extended_result_codes(s->db, 1);
	rc = store_exec(s, pragmas);
	if (rc == CR_OK && sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK)
		rc = CR_ERR_STORE;
	if (rc == CR_OK)
		rc = read_user_version(s, &version);
	if (rc == CR_OK && version != MIGRATION_COUNT)
		rc = CR_ERR_STORE_VERSION;
out:
	if (rc != CR_OK) {
		store_close(s);
		return rc;
	}
	*out = s;
	return CR_OK;
}

void store_reader_reset(struct store *s)
{
	for (sqlite3_stmt *st = sqlite3_next_stmt(s->db, NULL); st != NULL; st = sqlite3_next_stmt(s->db, st))
		if (sqlite3_stmt_busy(st))
			sqlite3_reset(st);
	if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_stmt *end = store_cached(s, "ROLLBACK"); /* once per request: kept prepared */
		if (end == NULL || sqlite3_step(end) != SQLITE_DONE)
			(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		store_cached_done(end);
	}
}

sqlite3_stmt *store_cached(struct store *s, const char *sql)
{
	for (size_t i = 0; i < STORE_CACHED_MAX; i++) {
		if (s->cached[i].sql != NULL && strcmp(s->cached[i].sql, sql) == 0)
			return s->cached[i].st;
		if (s->cached[i].sql == NULL) {
			if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->cached[i].st, NULL) !=
			    SQLITE_OK) {
				sqlite3_finalize(s->cached[i].st);
				s->cached[i].st = NULL;
				return NULL;
			}
			s->cached[i].sql = cr_xstrdup(sql);
			return s->cached[i].st;
		}
	}
	return NULL;
}

void store_cached_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	store_rollback(s);
	for (size_t i = 0; i < STORE_CACHED_MAX; i++) {
		sqlite3_finalize(s->cached[i].st);
		free(s->cached[i].sql);
	}
	sqlite3_close_v2(s->db);
	free(s->path);
	free(s);
}

cr_err store_begin(struct store *s)
{
	if (s->in_txn || s->reader)
		return CR_ERR_INTERNAL;
	cr_err rc = store_exec(s, "BEGIN IMMEDIATE");
	if (rc == CR_OK)
		s->in_txn = 1;
	return rc;
}

cr_err store_commit(struct store *s)
{
	if (!s->in_txn)
		return CR_ERR_INTERNAL;
	cr_err rc = store_exec(s, "COMMIT");
	if (rc == CR_OK)
		s->in_txn = 0;
	return rc;
}

void store_rollback(struct store *s)
{
	if (s == NULL || !s->in_txn)
		return;
	(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_txn = 0;
}

cr_err store_setting_get(struct store *s, const char *key, char **value_out)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (sqlite3_prepare_v2(s->db, "SELECT value FROM settings WHERE key = ?1", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = CR_ERR_NOT_FOUND;
		goto out;
	}
	if (step != SQLITE_ROW) {
		rc = store_err(step);
		goto out;
	}
	*value_out = cr_xstrdup((const char *)sqlite3_column_text(st, 0));
	rc = CR_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

cr_err store_setting_set(struct store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO settings(key, value) VALUES (?1, ?2) "
			       "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = store_err(sqlite3_step(st));
out:
	sqlite3_finalize(st);
	return rc;
}
