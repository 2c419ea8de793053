/*
 * audit_fixture.h: helpers the audit/ unit tests share: a database with
 * the audit schema (in memory, or a WAL file with synchronous=FULL as the
 * store opens it), a signer, and entries derived deterministically from
 * their index, so a test (or the crash test's parent) can recompute what
 * any leaf must contain.
 */
#ifndef CR_AUDIT_FIXTURE_H
#define CR_AUDIT_FIXTURE_H

#include <sodium.h>
#include <sqlite3.h>

#include "test_util.h"
#include "audit/audit_int.h"

#define FX_ORIGIN "cleanroom.test/audit/1"
#define FX_KEY_NAME "cleanroom.test/audit"
#define FX_TIME0 INT64_C(1700000000000)

/* Opens `path` (NULL: a private in-memory database) and creates the schema
 * unless it exists. Files get the store's pragmas (docs/architecture.md, Store). */
static inline sqlite3 *fx_db_open(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool have = false;
	assert_int_equal(sqlite3_open(path ? path : ":memory:", &db), SQLITE_OK);
	if (path)
		assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
					      "PRAGMA secure_delete=ON;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE name = 'audit_leaves'",
					    -1, &st, NULL), SQLITE_OK);
	have = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!have)
		assert_int_equal(sqlite3_exec(db, audit_schema_v1, NULL, NULL, NULL), SQLITE_OK);
	return db;
}

static inline void fx_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : "?");
}

/* A signer from a fixed seed; `which` picks another key. */
static inline struct audit_signer *fx_signer_n(uint8_t which)
{
	uint8_t seed[32];
	struct audit_signer *s = NULL;
	memset(seed, 0x5a ^ which, sizeof(seed));
	assert_int_equal(audit_signer_from_seed(FX_KEY_NAME, seed, &s), CR_OK);
	return s;
}

static inline struct audit_signer *fx_signer(void)
{
	return fx_signer_n(0);
}

static inline struct audit_log *fx_log_open(sqlite3 *db, const struct audit_signer *s)
{
	struct audit_log *log = NULL;
	char why[AUDIT_MSG_MAX];
	cr_err rc = audit_log_open(db, FX_ORIGIN, s, &log, why, sizeof(why));
	if (rc != CR_OK)
		fail_msg("audit_log_open: %s: %s", cr_errname(rc), why);
	return log;
}

/* The fields of entry i; pseudonym gets subject i % 7 on even entries. */
struct fx_entry {
	struct audit_entry e;
	char actor[16], tenant[16], detail[32];
	uint8_t pseudonym[32];
};

static const char *const fx_types[] = { "consent.grant", "consent.withdraw", "dataset.ingest",
					"match.release" };
static const char *const fx_purposes[] = { "ads", "analytics", "measurement" };

static inline void fx_pseudonym(uint64_t subject, uint8_t out[static 32])
{
	memset(out, 0, 32);
	out[0] = 0x70;
	out[31] = (uint8_t)subject;
}

static inline void fx_entry_make(uint64_t i, struct fx_entry *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->actor, sizeof(f->actor), "tok-%u", (unsigned)(i % 5));
	snprintf(f->tenant, sizeof(f->tenant), "brand-%u", (unsigned)(i % 3));
	snprintf(f->detail, sizeof(f->detail), "entry %llu", (unsigned long long)i);
	f->e.time_ms = FX_TIME0 + (cr_time_ms)i * 1000;
	f->e.event_type = fx_types[i % 4];
	f->e.actor_role = i % 2 ? "brand" : "system";
	f->e.actor_id = f->actor;
	f->e.tenant = f->tenant;
	f->e.dataset = i % 3 == 0 ? "ds-1" : NULL;
	f->e.purposes = fx_purposes;
	f->e.n_purposes = (size_t)(i % 4);
	if (f->e.n_purposes > 3)
		f->e.n_purposes = 3;
	f->e.detail = f->detail;
	if (i % 2 == 0) {
		fx_pseudonym(i % 7, f->pseudonym);
		f->e.subject = f->pseudonym;
	}
}

/* Appends entries [first, first + n) in one transaction, then a checkpoint. */
static inline void fx_batch(sqlite3 *db, struct audit_log *log, uint64_t first, size_t n)
{
	fx_exec(db, "BEGIN IMMEDIATE");
	for (size_t k = 0; k < n; k++) {
		struct fx_entry f;
		uint64_t idx = 0;
		fx_entry_make(first + k, &f);
		assert_int_equal(audit_log_append(log, &f.e, &idx), CR_OK);
		assert_int_equal(idx, first + k);
	}
	assert_int_equal(audit_log_checkpoint(log, NULL), CR_OK);
	fx_exec(db, "COMMIT");
}

/* The salt stored for a pseudonym; false if there is none. */
static inline bool fx_salt(sqlite3 *db, const uint8_t pseudonym[static 32], uint8_t salt[static 32])
{
	sqlite3_stmt *st = NULL;
	bool found = false;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT salt FROM audit_salts WHERE pseudonym = ?1",
					    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, pseudonym, 32, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
		memcpy(salt, sqlite3_column_blob(st, 0), 32);
		found = true;
	}
	sqlite3_finalize(st);
	return found;
}

/* The leaf bytes entry i must have, given the stored salt of its subject. */
static inline void fx_expected_leaf(sqlite3 *db, uint64_t i, uint8_t **bytes, size_t *len)
{
	struct fx_entry f;
	struct audit_leaf l;
	fx_entry_make(i, &f);
	l = (struct audit_leaf){
		.sequence = i, .time_ms = f.e.time_ms, .event_type = f.e.event_type,
		.actor_role = f.e.actor_role, .actor_id = f.e.actor_id, .tenant = f.e.tenant,
		.dataset = f.e.dataset, .purposes = f.e.purposes, .n_purposes = f.e.n_purposes,
		.has_subject = f.e.subject != NULL, .detail = f.e.detail,
	};
	if (f.e.subject) {
		uint8_t salt[32], buf[64];
		assert_true(fx_salt(db, f.pseudonym, salt));
		memcpy(buf, salt, 32);
		memcpy(buf + 32, f.pseudonym, 32);
		crypto_hash_sha256(l.subject_commit, buf, sizeof(buf));
	}
	assert_int_equal(audit_leaf_encode(&l, bytes, len), CR_OK);
}

static inline int64_t fx_count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

#endif
