/*
 * app.h: one opened data directory (internal to cleanroom/).
 *
 * A data directory holds keys/ (master.key, sign.key; 0700/0600) and
 * cleanroom.db. struct app bundles what every verb and the service need
 * from it: the store, the keyring and the audit log. app_open() runs the
 * audit log's start-up check (the stored tree must reproduce the latest
 * signed checkpoint) and refuses to go on when it fails.
 */
#ifndef CR_CLEANROOM_APP_H
#define CR_CLEANROOM_APP_H

#include <pthread.h>
#include <stdatomic.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "audit/audit.h"
#include "consent/consent.h"
#include "cleanroom/store.h"
#include "cleanroom/group.h"

/* Brands whose importers app_importer keeps (a service's busy brands). */
#define APP_IMPORTERS 8

struct app {
	char *data_dir;               /* owned */
	struct store *store;          /* owned */
	struct crypto_keyring *keys;  /* owned */
	char *origin;                 /* owned: the audit log's origin line */
	struct audit_signer signer;   /* signs with keys' Ed25519 key */
	struct audit_log *log;        /* owned */
	struct consent_ctx *consent;  /* owned; its purge callback is registry_purge */
	uint64_t purged_records;      /* records the current withdrawal purged */
	pthread_mutex_t *store_mutex; /* borrowed; NULL: one thread only (the CLI) */
	struct app_importer_slot {    /* app_importer's cache; owned */
		int64_t brand;
		uint32_t key_version;
		struct consent_importer *imp;
	} importers[APP_IMPORTERS];
	unsigned importer_next;       /* the slot a miss fills next */
	struct app_group *group;      /* owned; NULL: every commit on its own (group.h) */
	_Atomic uint64_t commit_groups;  /* group commits made, and the members they held */
	_Atomic uint64_t commit_members;
	bool reader;                  /* a read connection's view (app_readers): keys borrowed */
	/* The store lock's hand-over (app_store_yield): threads waiting for
	 * it (short writes and reads of the writer; long writes), times it
	 * was taken, and how deep its holder holds it. */
	_Atomic unsigned lock_waiters;
	_Atomic unsigned long_waiters;
	_Atomic uint64_t lock_taken;
	unsigned lock_depth;
	sqlite3_stmt *event_leaf_st;  /* owned: registry.c's link of an event to its leaf */
	/* DATA/audit-tip, the latest signed checkpoint kept outside the
	 * database (app_tip.c); has_tip false for read connections. */
	bool has_tip;
	int tip_fd;
	unsigned tip_slot;            /* the slot holding the newest note */
	uint64_t tip_size;            /* its size */
};

/* What DATA/audit-tip holds (app_tip.c). */
struct app_tip {
	bool exists;                  /* the file is there */
	bool found;                   /* a slot holds a checkpoint of this log, signed by its key */
	unsigned slot;
	struct audit_checkpoint cp;   /* the newest such */
	char note[4097];
};

/* Reads DATA/audit-tip; a missing file is exists = false, not an error. */
cr_err app_tip_load(const char *data_dir, const struct audit_verifier *v, const char *origin,
		    struct app_tip *out) CR_MUST_CHECK;
/*
 * CR_ERR_AUDIT_ROLLBACK (with the reason in `why`) unless the log holds at
 * least the tip's entries and its root at the tip's size is the tip's:
 * a missing or unreadable file counts as a rollback too.
 */
cr_err app_tip_compare(struct audit_log *log, const struct app_tip *tip, char *why, size_t cap) CR_MUST_CHECK;
/* At open: compares (with `check`) and keeps the file open for writing. */
cr_err app_tip_open(struct app *a, bool check, char *why, size_t cap) CR_MUST_CHECK;
/* Writes a newly signed checkpoint note into the file's other slot and fdatasyncs it. */
cr_err app_tip_save(struct app *a, const char *note) CR_MUST_CHECK;
/* After a COMMIT that signed `note` (handed over, may be NULL): saves it, warning on failure. */
void app_tip_after_commit(struct app *a, char *note);

/*
 * The store's connection is used by one thread at a time. A server that
 * runs handlers on several threads sets store_mutex to a RECURSIVE mutex
 * it holds around every handler that uses the store; code that does long
 * work without the store (a match's group operations) runs unlocked and
 * takes the lock only around its store calls, with these two. Both do
 * nothing when store_mutex is NULL.
 */
void app_store_lock(struct app *a);
void app_store_unlock(struct app *a);
/* The lock alone, without committing an open group (group.c joins with it). */
void app_store_acquire(struct app *a);
/* app_store_lock for a long write (a batch, an ingest): it waits its turn
 * behind short writes and alternates chunk by chunk with other long ones. */
void app_store_lock_long(struct app *a);

/*
 * Between two chunks of a long write (a consent batch's 1000 lines, an
 * ingest's 4096 rows), with no transaction open: if short writes wait for
 * the store lock, lets them have it until none waits (at most
 * APP_YIELD_MAX_MS, so a steady stream of them cannot starve the long
 * write); else, if another long write waits, lets it have one chunk. Then
 * takes the lock back (app_store_lock_long). Another tenant's write thus
 * waits at most about one chunk. Does nothing when nobody waits, without a
 * lock, or when the caller holds it more than once (it could not give it
 * up).
 */
#define APP_YIELD_MAX_MS 20
void app_store_yield(struct app *a);

/*
 * True if a long write that began its chunk at `chunk_start_ms`
 * (cr_monotonic_ms) should end it now: a short write waits for the store
 * lock, this one could give it up, and the chunk has run APP_CHUNK_MIN_MS.
 * So a short write waits about that long, not a whole chunk.
 */
#define APP_CHUNK_MIN_MS 5
bool app_store_wanted(struct app *a, int64_t chunk_start_ms);

/*
 * The brand's consent importer (default profile), borrowed from a cache in
 * `a` so that a request does not derive the brand's keys again into fresh
 * secure memory. Each call checks the brand's key version and rebuilds a
 * stale entry, so a rotation (or its rollback) is seen at once. The
 * importer stays valid until the next app_importer call or app_close; use
 * it under the store lock and do not keep it across calls.
 */
cr_err app_importer(struct app *a, int64_t brand, struct consent_importer **out) CR_MUST_CHECK;

/* Paths inside a data directory; the caller frees the result. */
char *app_path(const char *data_dir, const char *leaf);

/*
 * Creates a new data directory: DATA (0700), its keys and its database.
 * `origin` names the audit log (NULL: "cleanroom.local/audit/<random id>").
 * Refuses a directory that already holds keys or a database
 * (CR_ERR_DATA_DIR_EXISTS) and touches nothing in it. On success hands the
 * opened app to *out.
 */
cr_err app_init_dir(const char *data_dir, const char *origin, struct app **out) CR_MUST_CHECK;

/*
 * Opens an initialized data directory. CR_ERR_DATA_DIR if it is not one
 * (with no partial state created).
 */
cr_err app_open(const char *data_dir, struct app **out) CR_MUST_CHECK;

/* app_open without comparing the database to DATA/audit-tip: only for
 * `audit accept-rollback`, which records the loss (app_tip_accept). */
cr_err app_open_accepting_rollback(const char *data_dir, struct app **out) CR_MUST_CHECK;

/*
 * Accepts a rollback (issue 19): when the database is behind DATA/audit-tip,
 * or the file is missing or unreadable, appends an "audit.rollback" leaf
 * saying what was signed and what the database holds, then, when the tip
 * was larger, "audit.rollback_gap" leaves until the log is one entry past
 * it, so that no size is ever signed twice with different roots, and
 * signs (which rewrites the tip). Nothing when the database is not behind
 * (out->needed false).
 */
struct app_rollback {
	bool needed;
	bool tip_found;
	uint64_t entries;             /* what the database held */
	uint64_t signed_size;         /* the tip's size (0: no readable tip) */
	uint64_t gap;                 /* filler leaves appended */
	uint64_t index;               /* the audit.rollback leaf */
	char why[AUDIT_MSG_MAX];
};
cr_err app_tip_accept(struct app *a, struct app_rollback *out) CR_MUST_CHECK;
/* Inside a transaction: "audit.rollback_gap" leaves until the log holds
 * more than `signed_size` entries (*gap: how many). */
cr_err app_tip_pad_past(struct app *a, uint64_t signed_size, uint64_t *gap) CR_MUST_CHECK;
/* Writes the directory's database's latest checkpoint into DATA/audit-tip,
 * after a restore put that database in place. */
cr_err app_tip_reset(const char *data_dir) CR_MUST_CHECK;

/*
 * As app_open, but on the database file DATA/`db_leaf` instead of
 * DATA/cleanroom.db, with DATA's keys, and neither compared with nor
 * writing DATA/audit-tip (the file is not the directory's database yet):
 * restore (restore.c) prepares the restored database beside the live one,
 * audits the restore in it, renames it into place and then writes the tip.
 */
cr_err app_open_file(const char *data_dir, const char *db_leaf, struct app **out) CR_MUST_CHECK;

/* The database's file name inside a data directory. */
#define APP_DB_FILE "cleanroom.db"

/*
 * The data directory's lock (app_lock.c): an exclusive flock(2) on
 * DATA/serve.lock (created 0600). `serve` holds it for as long as it runs;
 * restore takes it so that it never replaces a database a server holds,
 * and no server starts while it does. CR_ERR_DATA_DIR_BUSY when another
 * process holds it; *fd_out is the lock's descriptor (app_dir_unlock).
 */
cr_err app_dir_lock(const char *data_dir, int *fd_out) CR_MUST_CHECK;
/* Releases the lock; accepts -1. */
void app_dir_unlock(int fd);

/* Closes everything and wipes the keys; accepts NULL. */
void app_close(struct app *a);

/*
 * Orchestration of a state change (I5, docs/spec/invariants.md). app_begin() opens the write
 * transaction; the caller makes its change and records it with one or more
 * app_audit() calls; app_commit() signs a checkpoint covering the new
 * leaves and commits both together. Any failure before app_commit()
 * returns must be followed by app_rollback(), which discards the change
 * and its leaves. An index written by app_audit() is acknowledged only once
 * app_commit() has returned CR_OK, or, for a member of a commit group
 * (group.h), once the group has committed.
 */
cr_err app_begin(struct app *a) CR_MUST_CHECK;
cr_err app_audit(struct app *a, const struct audit_entry *e, uint64_t *index_out) CR_MUST_CHECK;
cr_err app_commit(struct app *a) CR_MUST_CHECK;
void app_rollback(struct app *a);
/* Ends the change begun by app_begin: commits when rc is CR_OK, otherwise
 * (or if the commit fails) rolls back. Returns the final result. */
cr_err app_end(struct app *a, cr_err rc) CR_MUST_CHECK;

/*
 * Read connections for the service (app_readers.c). Each reader is a
 * struct app of its own over a query_only connection (store_open_reader),
 * with its own read-only audit log handle, consent context and importer
 * cache, and the writer's keys borrowed: a read route's handler and a
 * token check run on one without the store lock, so they never wait for a
 * writer (WAL gives them the last committed state). A reader cannot
 * write: app_begin fails on it, and so does any statement that would.
 * `a` must outlive the pool.
 */
struct app_readers;
/* Shared by app.c and app_readers.c: the clock skew from the environment
 * (R18), and the audit signer over a->keys. */
cr_err app_clock_skew(struct consent_ctx *consent) CR_MUST_CHECK;
void app_signer_wire(struct app *a);
cr_err app_readers_open(struct app *a, unsigned n, struct app_readers **out) CR_MUST_CHECK;
/* A free reader, waiting for one if all n are in use. */
struct app *app_reader_take(struct app_readers *r);
/* Gives a reader back, its statements reset and any read transaction ended. */
void app_reader_give(struct app_readers *r, struct app *reader);
/* Closes every reader; all must have been given back. Accepts NULL. */
void app_readers_close(struct app_readers *r);

/* The audit verifier key text of this data directory (handed over, free()). */
cr_err app_verifier_key(const struct app *a, char **out) CR_MUST_CHECK;
/* The receipts' verifier key text (their own key, not the log's), handed over. */
cr_err app_receipt_key(const struct app *a, char **out) CR_MUST_CHECK;
/* The compliance reports' verifier key text (their own key, "crreport"), handed over. */
cr_err app_report_key(const struct app *a, char **out) CR_MUST_CHECK;
/* A signer (audit/'s interface) for the reports' key; `a` must outlive it. */
void app_report_signer(const struct app *a, struct audit_signer *out);

#endif
