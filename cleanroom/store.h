/*
 * store.h: the embedded SQLite store (internal to cleanroom/).
 *
 * Opens DATA/cleanroom.db with the settings docs/architecture.md requires (WAL,
 * synchronous=FULL, foreign keys, secure_delete), applies the versioned
 * migrations (PRAGMA user_version) that carry the schemas of audit/, consent/
 * and cleanroom/, and wraps transactions. Every state change the service
 * makes runs inside store_begin()/store_commit() together with its audit leaf
 * (I5, docs/spec/invariants.md); a failure anywhere rolls both back.
 */
#ifndef CR_CLEANROOM_STORE_H
#define CR_CLEANROOM_STORE_H

#include <stdbool.h>

#include <sqlite3.h>

#include "common/common.h"

#define STORE_CACHED_MAX 8

struct store {
	sqlite3 *db;     /* owned */
	char *path;      /* owned */
	int in_txn;
	bool reader;     /* store_open_reader: query_only, no transactions */
	struct {         /* store_cached: statements kept prepared */
		char *sql;        /* owned */
		sqlite3_stmt *st; /* owned */
	} cached[STORE_CACHED_MAX];
};

/* The schema version this program writes (the last migration's number). */
int store_schema_version(void);

/*
 * Opens (and with `create` set, creates) the database at `path`, sets the
 * pragmas and migrates it to store_schema_version(). Refuses a database with
 * a newer schema (CR_ERR_STORE_VERSION). *out is handed to the caller.
 */
cr_err store_open(const char *path, bool create, struct store **out) CR_MUST_CHECK;
/*
 * As store_open with `create`, but migrates only up to schema `version`
 * (1..store_schema_version(), else CR_ERR_INVALID_ARG): for the tests that
 * show a migration carries an existing database's rows over.
 */
cr_err store_open_at_version(const char *path, int version, struct store **out) CR_MUST_CHECK;
/*
 * A read connection to the database the writer at `path` keeps (already
 * migrated; CR_ERR_STORE_VERSION if its schema is not this program's):
 * PRAGMA query_only, so any write through it fails, and store_begin
 * refuses. In WAL mode it reads the last committed state and never waits
 * for the writer (the service's read routes and token checks).
 */
cr_err store_open_reader(const char *path, struct store **out) CR_MUST_CHECK;
/*
 * Ends whatever a reader left open (statements stepped but not reset, a
 * read transaction), so its next use starts from the newest commit.
 */
void store_reader_reset(struct store *s);

/*
 * The statement of `sql`, prepared on this connection's first call with that
 * text and kept until store_close, for the statements a request runs every
 * time (the token check's parse alone was about 5% of the server's CPU
 * under single consent events). The caller binds, steps
 * and ends with store_cached_done. NULL if it does not prepare, or if
 * STORE_CACHED_MAX other texts are cached already (then prepare it yourself).
 */
sqlite3_stmt *store_cached(struct store *s, const char *sql);
/* Resets a store_cached statement and clears its bindings (no pointer to the caller's memory stays). */
void store_cached_done(sqlite3_stmt *st);
/* Closes the connection; accepts NULL. Rolls back an open transaction. */
void store_close(struct store *s);

/* BEGIN IMMEDIATE (takes the write lock now, so a batch never deadlocks). */
cr_err store_begin(struct store *s) CR_MUST_CHECK;
cr_err store_commit(struct store *s) CR_MUST_CHECK;
/* Rolls back if a transaction is open; safe to call on any path. */
void store_rollback(struct store *s);

/*
 * A thread with its own connection that runs a PASSIVE WAL checkpoint
 * every `interval_ms`, so the writer's COMMITs never stop to copy the WAL
 * into the database (store_wal.c). Start and stop it while no other thread
 * uses `s` (they set the writer's own checkpoint threshold). For the
 * service; the CLI checkpoints as it writes.
 */
struct store_checkpointer;
cr_err store_checkpointer_start(struct store *s, unsigned interval_ms,
				struct store_checkpointer **out) CR_MUST_CHECK;
/* Checkpoints it has run (for tests). */
uint64_t store_checkpointer_runs(struct store_checkpointer *c);
/* Stops the thread and closes its connection; accepts NULL. */
void store_checkpointer_stop(struct store_checkpointer *c);

/* Runs SQL with no result rows. */
cr_err store_exec(struct store *s, const char *sql) CR_MUST_CHECK;

/* Key/value settings (origin, key name, ...) kept in the database. */
cr_err store_setting_get(struct store *s, const char *key, char **value_out) CR_MUST_CHECK;
cr_err store_setting_set(struct store *s, const char *key, const char *value) CR_MUST_CHECK;

/* Maps a SQLite result code to the project error (busy, constraint, ...). */
cr_err store_err(int sqlite_rc);

#endif
