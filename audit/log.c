/*
 * log.c: the log stored in SQLite: its schema, the handle, appends (leaf,
 * subject salt and index, new subtree hashes), signed checkpoints, the
 * start-up check, erasure, and proofs read from the stored hashes.
 *
 * The handle keeps no tree state: the size is max(idx) + 1 and an append
 * reads the one or few left siblings it needs, so a transaction the caller
 * rolls back leaves nothing stale behind (every read is O(log n) at most).
 * Subtree hashes are keyed by their position in the dense stored-hash order
 * (audit_hash_id), which a writer produces in increasing order, so
 * audit_hashes only ever grows at its end.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit_int.h"

const char audit_schema_v1[] =
	"CREATE TABLE audit_leaves ("
	"  idx     INTEGER PRIMARY KEY,"   /* the leaf index, 0.. */
	"  time_ms INTEGER NOT NULL,"      /* copies of leaf fields, for search */
	"  type    TEXT NOT NULL,"
	"  tenant  TEXT NOT NULL,"
	"  actor   TEXT NOT NULL,"
	"  data    BLOB NOT NULL"          /* the canonical leaf bytes */
	") STRICT;"
	"CREATE INDEX audit_leaves_tenant ON audit_leaves(tenant);"
	"CREATE INDEX audit_leaves_type ON audit_leaves(type);"
	"CREATE INDEX audit_leaves_actor ON audit_leaves(actor);"
	"CREATE INDEX audit_leaves_time ON audit_leaves(time_ms);"
	"CREATE TABLE audit_hashes ("
	"  id   INTEGER PRIMARY KEY,"      /* audit_hash_id(level, index) */
	"  hash BLOB NOT NULL"
	") STRICT;"
	"CREATE TABLE audit_checkpoints ("
	"  size    INTEGER PRIMARY KEY,"
	"  time_ms INTEGER NOT NULL,"
	"  note    TEXT NOT NULL"          /* the signed note, verbatim */
	") STRICT;"
	/* Subjects: the salt is the only way to link a pseudonym to its
	 * commitments; erasure deletes it. New subjects append (id order), so
	 * only the pseudonym index takes a random insert. */
	"CREATE TABLE audit_salts ("
	"  id        INTEGER PRIMARY KEY,"
	"  pseudonym BLOB NOT NULL UNIQUE,"
	"  salt      BLOB NOT NULL"
	") STRICT;"
	"CREATE TABLE audit_subjects ("
	"  subject INTEGER NOT NULL,"      /* audit_salts.id */
	"  idx     INTEGER NOT NULL,"      /* a leaf about that subject */
	"  PRIMARY KEY (subject, idx)"
	") STRICT, WITHOUT ROWID;";

static const char *const stmt_sql[ST_COUNT] = {
	[ST_SIZE] = "SELECT max(idx) FROM audit_leaves",
	[ST_LEAF_INSERT] = "INSERT INTO audit_leaves(idx, time_ms, type, tenant, actor, data)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_LEAF_GET] = "SELECT data FROM audit_leaves WHERE idx = ?1",
	[ST_HASH_INSERT] = "INSERT INTO audit_hashes(id, hash) VALUES (?1, ?2)",
	[ST_HASH_GET] = "SELECT hash FROM audit_hashes WHERE id = ?1",
	[ST_SALT_GET] = "SELECT id, salt FROM audit_salts WHERE pseudonym = ?1",
	[ST_SALT_INSERT] = "INSERT INTO audit_salts(pseudonym, salt) VALUES (?1, ?2)",
	[ST_SUBJECT_INSERT] = "INSERT INTO audit_subjects(subject, idx) VALUES (?1, ?2)",
	[ST_CP_LATEST] = "SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1",
	[ST_CP_INSERT] = "INSERT INTO audit_checkpoints(size, time_ms, note) VALUES (?1, ?2, ?3)",
	[ST_SALT_DELETE] = "DELETE FROM audit_salts WHERE id = ?1",
	[ST_SUBJECT_DELETE] = "DELETE FROM audit_subjects WHERE subject = ?1",
};

/* ------------------------------------------------------------ helpers */

cr_err log_sqlite_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return CR_OK;
	case SQLITE_NOMEM:
		return CR_ERR_NOMEM;
	default:
		return CR_ERR_AUDIT;
	}
}

cr_err log_stmt(struct audit_log *log, enum log_stmt which, sqlite3_stmt **out)
{
	sqlite3_stmt **st = &log->st[which];
	if (*st == NULL) {
		int rc = sqlite3_prepare_v3(log->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
					    st, NULL);
		if (rc != SQLITE_OK)
			return log_sqlite_err(rc);
	} else {
		sqlite3_reset(*st);
		sqlite3_clear_bindings(*st);
	}
	*out = *st;
	return CR_OK;
}

/* Steps a statement that returns no row. */
static cr_err step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return CR_OK;
	return rc == SQLITE_ROW ? CR_ERR_AUDIT : log_sqlite_err(rc);
}

cr_err log_read_begin(sqlite3 *db, bool *began)
{
	*began = false;
	if (!sqlite3_get_autocommit(db))
		return CR_OK;
	int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return log_sqlite_err(rc);
	*began = true;
	return CR_OK;
}

void log_read_end(sqlite3 *db, bool began)
{
	/* A read transaction has nothing to keep: COMMIT and ROLLBACK are alike. */
	if (began)
		(void)sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
}

cr_err log_hash_reader(void *ctx, unsigned level, uint64_t index,
		       uint8_t out[static AUDIT_HASH_BYTES])
{
	struct audit_log *log = ctx;
	sqlite3_stmt *st = NULL;
	cr_err rc = log_stmt(log, ST_HASH_GET, &st);
	int step;
	if (rc != CR_OK)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)audit_hash_id(level, index));
	step = sqlite3_step(st);
	if (step == SQLITE_ROW && sqlite3_column_bytes(st, 0) == AUDIT_HASH_BYTES)
		memcpy(out, sqlite3_column_blob(st, 0), AUDIT_HASH_BYTES);
	else
		rc = step == SQLITE_ROW || step == SQLITE_DONE ? CR_ERR_AUDIT_VERIFY
							       : log_sqlite_err(step);
	sqlite3_reset(st);
	return rc;
}

static cr_err hash_writer(void *ctx, unsigned level, uint64_t index,
			  const uint8_t hash[static AUDIT_HASH_BYTES])
{
	struct audit_log *log = ctx;
	sqlite3_stmt *st = NULL;
	cr_err rc = log_stmt(log, ST_HASH_INSERT, &st);
	if (rc != CR_OK)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)audit_hash_id(level, index));
	sqlite3_bind_blob(st, 2, hash, AUDIT_HASH_BYTES, SQLITE_STATIC);
	return step_done(st);
}

cr_err audit_log_size(struct audit_log *log, uint64_t *size)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = log_stmt(log, ST_SIZE, &st);
	int step;
	if (rc != CR_OK)
		return rc;
	step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		rc = log_sqlite_err(step);
		rc = rc == CR_OK ? CR_ERR_AUDIT : rc;
	} else if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
		*size = 0;
	} else {
		sqlite3_int64 max = sqlite3_column_int64(st, 0);
		if (max < 0)
			rc = CR_ERR_AUDIT_VERIFY;
		else
			*size = (uint64_t)max + 1;
	}
	sqlite3_reset(st);
	return rc;
}

cr_err log_latest_checkpoint(struct audit_log *log, char **note, size_t *note_len,
			     uint64_t *size)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = log_stmt(log, ST_CP_LATEST, &st);
	int step;
	if (rc != CR_OK)
		return rc;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		sqlite3_int64 sz = sqlite3_column_int64(st, 0);
		const unsigned char *text = sqlite3_column_text(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		*note = cr_xmalloc(len + 1);
		if (len > 0)
			memcpy(*note, text, len);
		(*note)[len] = '\0';
		*note_len = len;
		*size = sz < 0 ? 0 : (uint64_t)sz;
	} else if (step == SQLITE_DONE) {
		*note = NULL;
		*note_len = 0;
		*size = 0;
	} else {
		rc = log_sqlite_err(step);
	}
	sqlite3_reset(st);
	return rc;
}

/* ------------------------------------------------------- open, check */

/* Parses the body of a stored note without its signature (read-only use). */
static cr_err checkpoint_unverified(const char *note, size_t len, struct audit_checkpoint *cp)
{
	size_t text_len = 0;
	cr_err rc = audit_note_text(note, len, &text_len);
	return rc == CR_OK ? audit_checkpoint_parse(note, text_len, cp) : rc;
}

/* The single integer `sql` answers (a count). */
static cr_err count_rows(sqlite3 *db, const char *sql, uint64_t *n)
{
	sqlite3_stmt *st = NULL;
	int step;
	cr_err rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK ? CR_OK : CR_ERR_AUDIT;
	if (rc == CR_OK) {
		step = sqlite3_step(st);
		if (step == SQLITE_ROW && sqlite3_column_int64(st, 0) >= 0)
			*n = (uint64_t)sqlite3_column_int64(st, 0);
		else
			rc = step == SQLITE_ROW ? CR_ERR_AUDIT : log_sqlite_err(step);
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * The rows a log of `size` leaves has: one per leaf index 0..size-1, and
 * one stored hash per complete subtree, 2n - popcount(n). A row injected
 * (or lost) past the checkpoint would make a later append collide with
 * it, and every write after that fail: refused here instead.
 */
static cr_err check_counts(struct audit_log *log, uint64_t size, char *why, size_t cap)
{
	uint64_t leaves = 0, hashes = 0, want = 2 * size - (uint64_t)__builtin_popcountll(size);
	cr_err rc = count_rows(log->db, "SELECT count(*) FROM audit_leaves", &leaves);
	if (rc == CR_OK)
		rc = count_rows(log->db, "SELECT count(*) FROM audit_hashes", &hashes);
	if (rc != CR_OK)
		return rc;
	if (leaves != size) {
		audit_why(why, cap, "log holds %llu leaf rows for indexes 0 to %llu",
			  (unsigned long long)leaves, (unsigned long long)(size ? size - 1 : 0));
		return CR_ERR_AUDIT_STARTUP;
	}
	if (hashes != want) {
		audit_why(why, cap, "log of %llu leaves holds %llu stored hashes, not %llu",
			  (unsigned long long)size, (unsigned long long)hashes, (unsigned long long)want);
		return CR_ERR_AUDIT_STARTUP;
	}
	return CR_OK;
}

/*
 * The start-up check: the latest signed checkpoint must be ours, signed,
 * covered by the stored leaves, and reproduced by the stored hashes; and
 * the leaf and hash rows are exactly as many as the leaves need.
 */
static cr_err startup_check(struct audit_log *log, char *why, size_t cap)
{
	struct audit_checkpoint cp;
	uint8_t root[AUDIT_HASH_BYTES];
	char *note = NULL;
	size_t note_len = 0;
	uint64_t cp_size = 0, size = 0;
	cr_err rc = log_latest_checkpoint(log, &note, &note_len, &cp_size);

	if (rc != CR_OK || note == NULL)
		goto out;
	rc = log->signer ? audit_checkpoint_open(&log->verifier, note, note_len, log->origin, &cp)
			 : checkpoint_unverified(note, note_len, &cp);
	if (rc == CR_OK && strcmp(cp.origin, log->origin) != 0)
		rc = CR_ERR_AUDIT_ORIGIN;
	if (rc == CR_OK && cp.size != cp_size)
		rc = CR_ERR_AUDIT_CHECKPOINT_MALFORMED;
	if (rc != CR_OK) {
		audit_why(why, cap, "latest checkpoint (size %llu) does not verify: %s",
			  (unsigned long long)cp_size, cr_strerror(rc));
		goto fail;
	}
	rc = audit_log_size(log, &size);
	if (rc != CR_OK)
		goto out;
	if (size < cp.size) {
		audit_why(why, cap, "log holds %llu leaves but its latest signed checkpoint covers %llu",
			  (unsigned long long)size, (unsigned long long)cp.size);
		goto fail;
	}
	rc = merkle_root(log_hash_reader, log, cp.size, root);
	if (rc == CR_OK && sodium_memcmp(root, cp.root, sizeof(root)) != 0)
		rc = CR_ERR_AUDIT_PROOF_ROOT;
	if (rc != CR_OK) {
		audit_why(why, cap, "root recomputed from the stored hashes at size %llu does not match "
			  "the latest signed checkpoint: %s", (unsigned long long)cp.size,
			  rc == CR_ERR_AUDIT_PROOF_ROOT ? "roots differ" : cr_strerror(rc));
		goto fail;
	}
	rc = check_counts(log, size, why, cap);
	goto out;
fail:
	rc = CR_ERR_AUDIT_STARTUP;
out:
	free(note);
	return rc;
}

cr_err audit_log_open(sqlite3 *db, const char *origin, const struct audit_signer *signer,
		      struct audit_log **out, char *why, size_t why_cap)
{
	struct audit_log *log = NULL;
	size_t olen = origin ? strlen(origin) : 0;
	cr_err rc = CR_ERR_INVALID_ARG;

	audit_why(why, why_cap, "%s", "");
	if (db == NULL || olen == 0 || olen > AUDIT_ORIGIN_MAX ||
	    !audit_text_ok((const uint8_t *)origin, olen, false))
		goto out;
	if (sodium_init() < 0) {
		rc = CR_ERR_AUDIT;
		goto out;
	}
	log = cr_xcalloc(1, sizeof(*log));
	log->db = db;
	memcpy(log->origin, origin, olen);
	if (signer != NULL) {
		rc = audit_verifier_from_signer(signer, &log->verifier);
		if (rc != CR_OK)
			goto out;
		log->signer = signer;
	}
	bool began = false;
	rc = log_read_begin(db, &began);
	if (rc == CR_OK)
		rc = startup_check(log, why, why_cap);
	log_read_end(db, began);
	if (rc != CR_OK)
		goto out;
	*out = log;
	log = NULL;
out:
	audit_log_free(log);
	return rc;
}

void audit_log_free(struct audit_log *log)
{
	if (log == NULL)
		return;
	for (size_t i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(log->st[i]);
	sodium_memzero(log->salt_pool, sizeof(log->salt_pool));
	free(log);
}

/* ------------------------------------------------------------- append */

/* The subject's number and salt in this log; *found false if it has none. */
static cr_err salt_get(struct audit_log *log, const uint8_t pseudonym[static 32],
		       sqlite3_int64 *id, uint8_t salt[static 32], bool *found)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = log_stmt(log, ST_SALT_GET, &st);
	int step;
	if (rc != CR_OK)
		return rc;
	sqlite3_bind_blob(st, 1, pseudonym, 32, SQLITE_STATIC);
	step = sqlite3_step(st);
	*found = step == SQLITE_ROW;
	if (step == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) == 32)
			memcpy(salt, sqlite3_column_blob(st, 1), 32);
		else
			rc = CR_ERR_AUDIT_VERIFY;
	} else if (step != SQLITE_DONE) {
		rc = log_sqlite_err(step);
	}
	sqlite3_reset(st);
	return rc;
}

/* A fresh random salt from the pool, refilled when empty. */
static void salt_draw(struct audit_log *log, uint8_t salt[static 32])
{
	if (log->salt_left == 0) {
		randombytes_buf(log->salt_pool, sizeof(log->salt_pool));
		log->salt_left = sizeof(log->salt_pool) / sizeof(log->salt_pool[0]);
	}
	log->salt_left--;
	memcpy(salt, log->salt_pool[log->salt_left], 32);
	sodium_memzero(log->salt_pool[log->salt_left], 32);
}

/* The pseudonym's salt and subject number, created (random) on first use. */
static cr_err salt_get_or_create(struct audit_log *log, const uint8_t pseudonym[static 32],
				 sqlite3_int64 *id, uint8_t salt[static 32])
{
	sqlite3_stmt *st = NULL;
	bool found = false;
	cr_err rc = salt_get(log, pseudonym, id, salt, &found);
	if (rc != CR_OK || found)
		return rc;
	salt_draw(log, salt);
	rc = log_stmt(log, ST_SALT_INSERT, &st);
	if (rc != CR_OK)
		return rc;
	sqlite3_bind_blob(st, 1, pseudonym, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, salt, 32, SQLITE_STATIC);
	rc = step_done(st);
	if (rc == CR_OK)
		*id = sqlite3_last_insert_rowid(log->db);
	return rc;
}

/* SHA-256(salt || pseudonym) under the pseudonym's salt (created on first use); *id its subject number. */
static cr_err commitment(struct audit_log *log, const uint8_t pseudonym[static 32],
			 sqlite3_int64 *id, uint8_t commit[static AUDIT_HASH_BYTES])
{
	uint8_t salt[32];
	crypto_hash_sha256_state h;
	cr_err rc = salt_get_or_create(log, pseudonym, id, salt);
	if (rc == CR_OK) {
		crypto_hash_sha256_init(&h);
		crypto_hash_sha256_update(&h, salt, sizeof(salt));
		crypto_hash_sha256_update(&h, pseudonym, 32);
		crypto_hash_sha256_final(&h, commit);
		sodium_memzero(&h, sizeof(h));
	}
	sodium_memzero(salt, sizeof(salt));
	return rc;
}

cr_err audit_subject_commitment(struct audit_log *log, const uint8_t pseudonym[static 32],
				uint8_t commit[static AUDIT_HASH_BYTES])
{
	sqlite3_int64 id = 0;
	if (sqlite3_get_autocommit(log->db))
		return CR_ERR_AUDIT_NO_TXN;
	if (log->signer == NULL)
		return CR_ERR_AUDIT_READ_ONLY;
	return commitment(log, pseudonym, &id, commit);
}

/* subject_commit = SHA-256(salt || pseudonym), and the subject index row. */
static cr_err subject_commit(struct audit_log *log, const uint8_t pseudonym[static 32],
			     uint64_t index, uint8_t commit[static AUDIT_HASH_BYTES])
{
	sqlite3_int64 id = 0;
	sqlite3_stmt *st = NULL;
	cr_err rc = commitment(log, pseudonym, &id, commit);
	if (rc != CR_OK)
		return rc;
	rc = log_stmt(log, ST_SUBJECT_INSERT, &st);
	if (rc != CR_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)index);
	return step_done(st);
}

static cr_err leaf_insert(struct audit_log *log, const struct audit_leaf *leaf,
			  const uint8_t *bytes, size_t len)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = log_stmt(log, ST_LEAF_INSERT, &st);
	if (rc != CR_OK)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)leaf->sequence);
	sqlite3_bind_int64(st, 2, leaf->time_ms);
	sqlite3_bind_text(st, 3, leaf->event_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, leaf->tenant ? leaf->tenant : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, leaf->actor_id ? leaf->actor_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, bytes, (int)len, SQLITE_STATIC);
	return step_done(st);
}

/*
 * Writes an already validated leaf: salt and subject row, the leaf, and
 * its new subtree hashes. Only storage errors can happen here.
 */
static cr_err append_write(struct audit_log *log, struct audit_leaf *leaf,
			   const uint8_t *subject)
{
	uint8_t h[AUDIT_HASH_BYTES];
	uint8_t *bytes = NULL;
	size_t len = 0;
	cr_err rc = CR_OK;

	if (subject != NULL)
		rc = subject_commit(log, subject, leaf->sequence, leaf->subject_commit);
	if (rc == CR_OK)
		rc = audit_leaf_encode(leaf, &bytes, &len);
	if (rc == CR_OK)
		rc = leaf_insert(log, leaf, bytes, len);
	if (rc == CR_OK) {
		audit_hash_leaf(bytes, len, h);
		rc = merkle_append(log_hash_reader, log, leaf->sequence, h, hash_writer, log);
	}
	free(bytes);
	return rc;
}

cr_err audit_log_append(struct audit_log *log, const struct audit_entry *e, uint64_t *index_out)
{
	struct audit_leaf leaf = {
		.time_ms = e->time_ms > 0 ? e->time_ms : cr_time_now(),
		.event_type = e->event_type, .actor_role = e->actor_role,
		.actor_id = e->actor_id, .tenant = e->tenant, .dataset = e->dataset,
		.collaboration = e->collaboration, .session = e->session,
		.notice = e->notice, .purposes = e->purposes, .n_purposes = e->n_purposes,
		.recipients = e->recipients, .n_recipients = e->n_recipients,
		.has_subject = e->subject != NULL, .detail = e->detail,
	};
	size_t size = 0;
	cr_err rc;

	if (log->signer == NULL)
		return CR_ERR_AUDIT_READ_ONLY;
	if (sqlite3_get_autocommit(log->db))
		return CR_ERR_AUDIT_NO_TXN;
	/* Every field is checked before anything is written, so a refused
	 * entry leaves the transaction as it was. */
	rc = audit_leaf_check(&leaf, &size);
	if (rc == CR_OK)
		rc = audit_log_size(log, &leaf.sequence);
	if (rc == CR_OK && leaf.sequence >= AUDIT_SIZE_MAX)
		rc = CR_ERR_AUDIT_FULL;
	if (rc == CR_OK)
		rc = append_write(log, &leaf, e->subject);
	if (rc == CR_OK && index_out)
		*index_out = leaf.sequence;
	return rc;
}

/* --------------------------------------------------------- checkpoint */

/*
 * I6: the tree about to be signed must extend the latest signed one. The
 * stored hashes must reproduce its root, and the consistency proof from it
 * to the new root must verify. *same is set when the size is unchanged.
 */
static cr_err check_extends(struct audit_log *log, const char *note, size_t note_len,
			    uint64_t size, const uint8_t root[static AUDIT_HASH_BYTES], bool *same)
{
	struct audit_checkpoint prev;
	struct audit_proof proof;
	uint8_t stored[AUDIT_HASH_BYTES];
	cr_err rc = audit_checkpoint_open(&log->verifier, note, note_len, log->origin, &prev);

	*same = false;
	if (rc != CR_OK || prev.size > size)
		return CR_ERR_AUDIT_INCONSISTENT;
	rc = merkle_root(log_hash_reader, log, prev.size, stored);
	if (rc != CR_OK)
		return rc == CR_ERR_AUDIT_VERIFY ? CR_ERR_AUDIT_INCONSISTENT : rc;
	if (sodium_memcmp(stored, prev.root, sizeof(stored)) != 0)
		return CR_ERR_AUDIT_INCONSISTENT;
	if (prev.size == size) {
		*same = true;
		return CR_OK;
	}
	if (prev.size == 0)
		return CR_OK; /* the empty tree is a prefix of every tree */
	rc = merkle_consistency(log_hash_reader, log, prev.size, size, &proof);
	if (rc == CR_OK && audit_verify_consistency(prev.size, size, &proof, prev.root, root) != CR_OK)
		rc = CR_ERR_AUDIT_INCONSISTENT;
	return rc == CR_ERR_AUDIT_VERIFY ? CR_ERR_AUDIT_INCONSISTENT : rc;
}

static cr_err checkpoint_store(struct audit_log *log, uint64_t size, const char *note,
			       size_t len)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = log_stmt(log, ST_CP_INSERT, &st);
	if (rc != CR_OK)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
	sqlite3_bind_int64(st, 2, cr_time_now());
	sqlite3_bind_text(st, 3, note, (int)len, SQLITE_STATIC);
	return step_done(st);
}

cr_err audit_log_checkpoint(struct audit_log *log, char **note_out)
{
	struct audit_checkpoint cp = { .size = 0 };
	char *prev = NULL, *body = NULL, *note = NULL;
	size_t prev_len = 0, body_len = 0, note_len = 0;
	uint64_t prev_size = 0;
	bool same = false;
	cr_err rc = CR_ERR_AUDIT_READ_ONLY;

	if (log->signer == NULL)
		goto out;
	rc = CR_ERR_AUDIT_NO_TXN;
	if (sqlite3_get_autocommit(log->db))
		goto out;
	rc = audit_log_size(log, &cp.size);
	if (rc == CR_OK)
		rc = merkle_root(log_hash_reader, log, cp.size, cp.root);
	if (rc == CR_OK)
		rc = log_latest_checkpoint(log, &prev, &prev_len, &prev_size);
	if (rc == CR_OK && prev != NULL)
		rc = check_extends(log, prev, prev_len, cp.size, cp.root, &same);
	if (rc != CR_OK)
		goto out;
	if (same) {
		note = prev;
		prev = NULL;
		goto done;
	}
	memcpy(cp.origin, log->origin, sizeof(cp.origin));
	rc = audit_checkpoint_format(&cp, &body, &body_len);
	/* Chains it to the one before (an extension line, which verifiers of
	 * the plain format ignore): a deleted checkpoint row shows (8.2). */
	if (rc == CR_OK && prev != NULL) {
		char ext[48];
		int n = snprintf(ext, sizeof(ext), AUDIT_PREVIOUS_EXT " %llu\n", (unsigned long long)prev_size);
		body = cr_xrealloc(body, body_len + (size_t)n + 1);
		memcpy(body + body_len, ext, (size_t)n + 1);
		body_len += (size_t)n;
	}
	if (rc == CR_OK)
		rc = audit_note_sign(log->signer, body, body_len, &note, &note_len);
	if (rc == CR_OK)
		rc = checkpoint_store(log, cp.size, note, note_len);
	if (rc != CR_OK)
		goto out;
done:
	if (note_out) {
		*note_out = note;
		note = NULL;
	}
out:
	free(prev);
	free(body);
	free(note);
	return rc;
}

cr_err audit_log_latest_checkpoint(struct audit_log *log, char **note_out)
{
	char *note = NULL;
	size_t len = 0;
	uint64_t size = 0;
	cr_err rc = log_latest_checkpoint(log, &note, &len, &size);
	if (rc == CR_OK && note == NULL)
		rc = CR_ERR_AUDIT_NO_CHECKPOINT;
	if (rc == CR_OK)
		*note_out = note;
	return rc;
}

/* ------------------------------------------------------------ erasure */

cr_err audit_subject_erase(struct audit_log *log, const uint8_t pseudonym[static 32],
			   uint64_t *rows_out)
{
	sqlite3_stmt *st = NULL;
	uint8_t salt[32];
	sqlite3_int64 id = 0;
	uint64_t rows = 0;
	bool found = false;
	cr_err rc = CR_ERR_AUDIT_NO_TXN;

	if (sqlite3_get_autocommit(log->db))
		goto out;
	rc = salt_get(log, pseudonym, &id, salt, &found);
	if (rc != CR_OK || !found)
		goto done;
	rc = log_stmt(log, ST_SUBJECT_DELETE, &st);
	if (rc != CR_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	rc = step_done(st);
	if (rc != CR_OK)
		goto out;
	rows = (uint64_t)sqlite3_changes64(log->db);
	rc = log_stmt(log, ST_SALT_DELETE, &st);
	if (rc != CR_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	rc = step_done(st);
done:
	if (rc == CR_OK && rows_out)
		*rows_out = rows;
out:
	sodium_memzero(salt, sizeof(salt));
	return rc;
}

/* ------------------------------------------------------------- proofs */

cr_err audit_log_leaf(struct audit_log *log, uint64_t index, uint8_t **bytes, size_t *len)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = log_stmt(log, ST_LEAF_GET, &st);
	int step;
	if (rc != CR_OK)
		return rc;
	if (index > INT64_MAX) {
		rc = CR_ERR_AUDIT_NOT_FOUND;
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		uint8_t *b = cr_xmalloc(n);
		if (n > 0)
			memcpy(b, sqlite3_column_blob(st, 0), n);
		*bytes = b;
		*len = n;
	} else {
		rc = step == SQLITE_DONE ? CR_ERR_AUDIT_NOT_FOUND : log_sqlite_err(step);
	}
out:
	sqlite3_reset(st);
	return rc;
}

/* CR_ERR_AUDIT_PROOF_RANGE unless size <= the stored size. */
static cr_err check_size(struct audit_log *log, uint64_t size)
{
	uint64_t have = 0;
	cr_err rc = audit_log_size(log, &have);
	if (rc == CR_OK && size > have)
		rc = CR_ERR_AUDIT_PROOF_RANGE;
	return rc;
}

cr_err audit_log_root(struct audit_log *log, uint64_t size, uint8_t root[static AUDIT_HASH_BYTES])
{
	bool began = false;
	cr_err rc = log_read_begin(log->db, &began);
	if (rc == CR_OK)
		rc = check_size(log, size);
	if (rc == CR_OK)
		rc = merkle_root(log_hash_reader, log, size, root);
	log_read_end(log->db, began);
	return rc;
}

cr_err audit_log_prove_inclusion(struct audit_log *log, uint64_t index, uint64_t size,
				 struct audit_proof *out)
{
	bool began = false;
	cr_err rc = log_read_begin(log->db, &began);
	if (rc == CR_OK)
		rc = check_size(log, size);
	if (rc == CR_OK)
		rc = merkle_inclusion(log_hash_reader, log, index, size, out);
	log_read_end(log->db, began);
	return rc;
}

cr_err audit_log_prove_consistency(struct audit_log *log, uint64_t size1, uint64_t size2,
				   struct audit_proof *out)
{
	bool began = false;
	cr_err rc = log_read_begin(log->db, &began);
	if (rc == CR_OK)
		rc = check_size(log, size2);
	if (rc == CR_OK)
		rc = merkle_consistency(log_hash_reader, log, size1, size2, out);
	log_read_end(log->db, began);
	return rc;
}

/* The tlog-proof of `index`, with every read in one snapshot. */
static cr_err tlog_proof_read(struct audit_log *log, uint64_t index, char **out, size_t *out_len)
{
	struct audit_tlog_proof p = { .index = index };
	struct audit_checkpoint cp;
	uint64_t cp_size = 0;
	cr_err rc = log_latest_checkpoint(log, &p.checkpoint, &p.checkpoint_len, &cp_size);

	if (rc == CR_OK && (p.checkpoint == NULL || index >= cp_size))
		rc = CR_ERR_AUDIT_NO_CHECKPOINT;
	if (rc == CR_OK)
		rc = checkpoint_unverified(p.checkpoint, p.checkpoint_len, &cp);
	if (rc == CR_OK && cp.size != cp_size)
		rc = CR_ERR_AUDIT_VERIFY;
	if (rc == CR_OK)
		rc = audit_log_leaf(log, index, &p.extra, &p.extra_len);
	if (rc == CR_OK)
		rc = merkle_inclusion(log_hash_reader, log, index, cp.size, &p.proof);
	if (rc == CR_OK)
		rc = audit_tlog_proof_format(&p, out, out_len);
	free(p.extra);
	free(p.checkpoint);
	return rc;
}

cr_err audit_log_tlog_proof(struct audit_log *log, uint64_t index, char **out, size_t *out_len)
{
	bool began = false;
	cr_err rc = log_read_begin(log->db, &began);
	if (rc == CR_OK)
		rc = tlog_proof_read(log, index, out, out_len);
	log_read_end(log->db, began);
	return rc;
}
