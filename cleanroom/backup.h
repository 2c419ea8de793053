/*
 * backup.h: consistent copies of a data directory's database, and putting
 * one back (internal to cleanroom/).
 *
 * A backup is one SQLite file made with SQLite's online backup API from a
 * read transaction, so it is a committed state even while a server writes:
 * every audit leaf in it is covered by the signed checkpoint committed with
 * it (I5). Keys are never in it; `backup --with-keys` copies them to a
 * separate FILE.keys/ directory. A restore that would roll the data
 * directory's log back says what it loses, needs the caller's consent, and
 * audits itself inside the restored database before it is put in place.
 */
#ifndef CR_CLEANROOM_BACKUP_H
#define CR_CLEANROOM_BACKUP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"

/* What a backup file (or a data directory's database) holds. */
struct backup_info {
	int schema;                /* PRAGMA user_version */
	uint64_t bytes;            /* the file's size */
	uint64_t log_size;         /* audit entries */
	uint64_t checkpoint_size;  /* the tree size of the latest signed checkpoint */
	char *checkpoint;          /* owned: that checkpoint, the signed note verbatim */
	char *origin;              /* owned: the audit log's origin */
	uint64_t consent_events, records, releases;
};

/* Frees what `i` owns; accepts NULL. */
void backup_info_release(struct backup_info *i);

/*
 * Reads what the SQLite file at `path` holds. CR_ERR_BACKUP_INVALID when it
 * is not a cleanroom database with a signed checkpoint. *out is written
 * only on success; release it with backup_info_release.
 */
cr_err backup_describe(const char *path, struct backup_info *out) CR_MUST_CHECK;

/*
 * Copies the database `src` into the new file `dst` (0600, created with
 * O_EXCL: CR_ERR_BACKUP_EXISTS if it exists) with the online backup API in
 * one step, as a single file in rollback-journal mode, fsynced. A
 * partial copy never appears under `dst`: it is written beside it and
 * linked into place when complete.
 */
cr_err backup_copy(const char *src, const char *dst) CR_MUST_CHECK;

/*
 * Copies the key files (master.key, sign.key) from the directory `from`
 * into the new directory `to` (0700, files 0600 created with O_EXCL).
 * CR_ERR_BACKUP_EXISTS if `to` exists; nothing is left behind on failure.
 */
cr_err backup_keys_copy(const char *from, const char *to) CR_MUST_CHECK;

/* What restoring a backup over a data directory would change. */
struct restore_plan {
	struct backup_info backup;   /* owned */
	bool has_current;            /* the directory holds a database */
	uint64_t current_size;       /* its audit log's size */
	uint64_t current_checkpoint; /* its latest signed checkpoint's size */
	char current_root[48];       /* and root (base64), "" if unknown */
	uint64_t lost_entries;       /* its audit entries the backup lacks */
	uint64_t lost_events;        /* its consent events the backup lacks */
	uint64_t lost_withdrawals;   /* of which withdrawals and objections */
	uint64_t lost_records;       /* its records the backup lacks */
	uint64_t revived_records;    /* the backup's records it has since removed */
	uint64_t lost_releases;      /* its match releases and refusals the backup lacks */
	bool keys_from_backup;       /* it has no keys/; FILE.keys/ will be copied in */
};

/* True if restoring loses audit entries: --accept-loss is then required. */
bool restore_plan_loses(const struct restore_plan *p);

/*
 * Works out what restoring the backup `file` into `data_dir` would change,
 * reading both and writing nothing. Refuses a backup of another clean room
 * (CR_ERR_RESTORE_ORIGIN), one with a schema newer than this program
 * (CR_ERR_STORE_VERSION), and a directory with no keys when FILE.keys/
 * does not exist either (CR_ERR_RESTORE_KEYS). Release with
 * restore_plan_release.
 */
cr_err restore_plan(const char *data_dir, const char *file, struct restore_plan *out) CR_MUST_CHECK;
void restore_plan_release(struct restore_plan *p);

/*
 * Puts the backup in place as `plan` (from restore_plan, just now, under
 * the directory's lock) describes. Refuses a restore that loses entries
 * unless `accept_loss` (CR_ERR_RESTORE_LOSS). The backup is copied beside
 * the live database, migrated, checked against the directory's keys
 * (CR_ERR_RESTORE_KEYS if they did not sign it), and given one audit leaf,
 * `service.rollback` when it loses entries and `service.restore`
 * otherwise, with the counts of the plan, committed with its checkpoint;
 * only then does it replace the live database (rename). *index_out is
 * that leaf's index.
 */
cr_err restore_apply(const char *data_dir, const char *file, const struct restore_plan *plan,
		     bool accept_loss, uint64_t *index_out) CR_MUST_CHECK;

#endif
