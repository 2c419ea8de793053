/*
 * verify.c: full verification of a stored log, what `cleanroom audit
 * verify` runs. It trusts nothing stored but the verifier key it is given:
 *
 *  1. every checkpoint's signature, origin and size column;
 *  2. one pass over the leaves in index order, rebuilding the tree with an
 *     O(log n) frontier: each leaf must exist, its hash and every subtree
 *     hash it completes must equal the stored row (read in lockstep, since
 *     stored-hash ids come in creation order), it must decode with its index
 *     as sequence and match its search columns, and at each checkpoint size
 *     the recomputed root must equal the signed one;
 *  3. consecutive checkpoints must be consistent (proofs from the stored
 *     hashes, now known good);
 *  4. a checkpoint the officer saved must verify and be consistent with the
 *     current log.
 *
 * It stops at the first failure and names it in the report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit_int.h"

struct cp_row {
	uint64_t size;
	uint8_t root[AUDIT_HASH_BYTES];
};

struct verifier_state {
	sqlite3 *db;
	struct audit_verify_report *rep;
	const struct audit_verifier *v;
	char origin[AUDIT_ORIGIN_MAX + 1];
	struct cp_row *cps;       /* owned */
	size_t n_cps;
	sqlite3_stmt *hashes;     /* owned: SELECT id, hash ORDER BY id */
	uint8_t frontier[64][AUDIT_HASH_BYTES];
	uint64_t leaf;            /* the leaf being checked, for messages */
};

#define PROBLEM(s, ...) snprintf((s)->rep->problem, sizeof((s)->rep->problem), __VA_ARGS__)

/* --------------------------------------------------------- checkpoints */

static cr_err cp_check_one(struct verifier_state *s, sqlite3_int64 size, const char *note,
			   size_t len, struct cp_row *row)
{
	struct audit_checkpoint cp;
	cr_err rc = audit_checkpoint_open(s->v, note, len, s->origin[0] ? s->origin : NULL, &cp);
	if (rc != CR_OK) {
		PROBLEM(s, "checkpoint at size %lld: %s", (long long)size, cr_strerror(rc));
		return CR_ERR_AUDIT_VERIFY;
	}
	if (size < 0 || cp.size != (uint64_t)size) {
		PROBLEM(s, "checkpoint row at size %lld holds a checkpoint of size %llu",
			(long long)size, (unsigned long long)cp.size);
		return CR_ERR_AUDIT_VERIFY;
	}
	if (!s->origin[0])
		memcpy(s->origin, cp.origin, sizeof(s->origin));
	row->size = cp.size;
	memcpy(row->root, cp.root, sizeof(row->root));
	return CR_OK;
}

static cr_err cp_load(struct verifier_state *s)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int step;
	cr_err rc = CR_OK;

	if (sqlite3_prepare_v2(s->db, "SELECT size, note FROM audit_checkpoints ORDER BY size",
			       -1, &st, NULL) != SQLITE_OK)
		return CR_ERR_AUDIT;
	while (rc == CR_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (s->n_cps == cap) {
			cap = cap ? cap * 2 : 64;
			s->cps = cr_xrealloc(s->cps, cap * sizeof(*s->cps));
		}
		rc = cp_check_one(s, sqlite3_column_int64(st, 0),
				  (const char *)sqlite3_column_text(st, 1),
				  (size_t)sqlite3_column_bytes(st, 1), &s->cps[s->n_cps]);
		if (rc == CR_OK)
			s->n_cps++;
	}
	if (rc == CR_OK && step != SQLITE_DONE)
		rc = log_sqlite_err(step);
	sqlite3_finalize(st);
	s->rep->checkpoints = s->n_cps;
	s->rep->latest_checkpoint = s->n_cps ? s->cps[s->n_cps - 1].size : 0;
	return rc;
}

/* --------------------------------------------------- leaves and hashes */

/* The left siblings an append needs are the frontier nodes. */
static cr_err frontier_reader(void *ctx, unsigned level, uint64_t index,
			      uint8_t out[static AUDIT_HASH_BYTES])
{
	struct verifier_state *s = ctx;
	(void)index;
	memcpy(out, s->frontier[level], AUDIT_HASH_BYTES);
	return CR_OK;
}

/* Compares a recomputed subtree hash with the next stored row. */
static cr_err hash_check(void *ctx, unsigned level, uint64_t index,
			 const uint8_t hash[static AUDIT_HASH_BYTES])
{
	struct verifier_state *s = ctx;
	uint64_t id = audit_hash_id(level, index);
	int step = sqlite3_step(s->hashes);
	sqlite3_int64 got;

	memcpy(s->frontier[level], hash, AUDIT_HASH_BYTES);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return log_sqlite_err(step);
	got = step == SQLITE_ROW ? sqlite3_column_int64(s->hashes, 0) : -1;
	if (step == SQLITE_DONE || (uint64_t)got > id) {
		if (level == 0)
			PROBLEM(s, "leaf %llu: its stored hash is missing", (unsigned long long)s->leaf);
		else
			PROBLEM(s, "leaf %llu: stored hash of subtree (level %u, index %llu) is missing",
				(unsigned long long)s->leaf, level, (unsigned long long)index);
		return CR_ERR_AUDIT_VERIFY;
	}
	if (got < 0 || (uint64_t)got < id) {
		PROBLEM(s, "stored hash row %lld does not belong to the tree", (long long)got);
		return CR_ERR_AUDIT_VERIFY;
	}
	s->rep->hashes++;
	if (sqlite3_column_bytes(s->hashes, 1) == AUDIT_HASH_BYTES &&
	    memcmp(sqlite3_column_blob(s->hashes, 1), hash, AUDIT_HASH_BYTES) == 0)
		return CR_OK;
	if (level == 0)
		PROBLEM(s, "leaf %llu: stored hash does not match its content",
			(unsigned long long)s->leaf);
	else
		PROBLEM(s, "stored hash of subtree (level %u, index %llu) does not match the leaves "
			"beneath it", level, (unsigned long long)index);
	return CR_ERR_AUDIT_VERIFY;
}

static bool column_is(sqlite3_stmt *st, int col, const char *want)
{
	const unsigned char *got = sqlite3_column_text(st, col);
	return got != NULL && strcmp((const char *)got, want) == 0;
}

/* The leaf decodes, carries its index, and its search columns agree. */
static cr_err leaf_content_check(struct verifier_state *s, sqlite3_stmt *st,
				 const uint8_t *data, size_t len)
{
	struct audit_leaf *leaf = NULL;
	unsigned long long i = (unsigned long long)s->leaf;
	cr_err rc = audit_leaf_decode(data, len, &leaf);

	if (rc != CR_OK) {
		PROBLEM(s, "leaf %llu: does not decode: %s", i, cr_strerror(rc));
		return CR_ERR_AUDIT_VERIFY;
	}
	if (leaf->sequence != s->leaf) {
		PROBLEM(s, "leaf %llu: its sequence field says %llu", i,
			(unsigned long long)leaf->sequence);
		rc = CR_ERR_AUDIT_VERIFY;
	} else if (sqlite3_column_int64(st, 1) != leaf->time_ms ||
		   !column_is(st, 2, leaf->event_type) || !column_is(st, 3, leaf->tenant) ||
		   !column_is(st, 4, leaf->actor_id)) {
		PROBLEM(s, "leaf %llu: its search columns (time, type, tenant, actor) do not match "
			"its content", i);
		rc = CR_ERR_AUDIT_VERIFY;
	}
	audit_leaf_free(leaf);
	return rc;
}

/* At a checkpoint's size, the root from the leaves must be the signed one. */
static cr_err cp_root_check(struct verifier_state *s, size_t *next_cp, uint64_t size)
{
	uint8_t root[AUDIT_HASH_BYTES];
	while (*next_cp < s->n_cps && s->cps[*next_cp].size == size) {
		cr_err rc = merkle_root(frontier_reader, s, size, root);
		if (rc != CR_OK)
			return rc;
		if (memcmp(root, s->cps[*next_cp].root, sizeof(root)) != 0) {
			PROBLEM(s, "checkpoint at size %llu: its signed root does not match the root "
				"recomputed from the leaves", (unsigned long long)size);
			return CR_ERR_AUDIT_VERIFY;
		}
		(*next_cp)++;
	}
	return CR_OK;
}

static cr_err leaf_check(struct verifier_state *s, sqlite3_stmt *st)
{
	uint8_t h[AUDIT_HASH_BYTES];
	sqlite3_int64 idx = sqlite3_column_int64(st, 0);
	const uint8_t *data = sqlite3_column_blob(st, 5);
	size_t len = (size_t)sqlite3_column_bytes(st, 5);
	cr_err rc;

	if (idx < 0 || (uint64_t)idx != s->leaf) {
		PROBLEM(s, "leaf %llu is missing", (unsigned long long)s->leaf);
		return CR_ERR_AUDIT_VERIFY;
	}
	if (sqlite3_column_type(st, 5) != SQLITE_BLOB) {
		PROBLEM(s, "leaf %llu: its content is not a blob", (unsigned long long)s->leaf);
		return CR_ERR_AUDIT_VERIFY;
	}
	audit_hash_leaf(data, len, h);
	rc = merkle_append(frontier_reader, s, s->leaf, h, hash_check, s);
	if (rc == CR_OK)
		rc = leaf_content_check(s, st, data, len);
	return rc;
}

static cr_err scan(struct verifier_state *s)
{
	sqlite3_stmt *st = NULL;
	size_t next_cp = 0;
	int step;
	cr_err rc = CR_ERR_AUDIT;

	if (sqlite3_prepare_v2(s->db, "SELECT idx, time_ms, type, tenant, actor, data"
			       " FROM audit_leaves ORDER BY idx", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "SELECT id, hash FROM audit_hashes ORDER BY id", -1,
			       &s->hashes, NULL) != SQLITE_OK)
		goto out;
	rc = cp_root_check(s, &next_cp, 0);
	while (rc == CR_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		rc = leaf_check(s, st);
		if (rc == CR_OK) {
			s->leaf++;
			rc = cp_root_check(s, &next_cp, s->leaf);
		}
	}
	if (rc != CR_OK)
		goto out;
	if (step != SQLITE_DONE) {
		rc = log_sqlite_err(step);
		goto out;
	}
	rc = CR_ERR_AUDIT_VERIFY;
	if (next_cp < s->n_cps) {
		PROBLEM(s, "checkpoint at size %llu covers more leaves than the log holds (%llu)",
			(unsigned long long)s->cps[next_cp].size, (unsigned long long)s->leaf);
		goto out;
	}
	if ((step = sqlite3_step(s->hashes)) == SQLITE_ROW) {
		PROBLEM(s, "stored hash row %lld has no leaf beneath it",
			(long long)sqlite3_column_int64(s->hashes, 0));
		goto out;
	}
	rc = step == SQLITE_DONE ? CR_OK : log_sqlite_err(step);
	s->rep->size = s->leaf;
	if (rc == CR_OK)
		rc = merkle_root(frontier_reader, s, s->leaf, s->rep->root);
out:
	sqlite3_finalize(st);
	return rc;
}

/* ------------------------------------------------------- consistency */

/* size1 with root1 is a prefix of size2 with root2, by stored-hash proof. */
static cr_err prefix_check(struct audit_log *log, uint64_t size1, const uint8_t *root1,
			   uint64_t size2, const uint8_t *root2)
{
	struct audit_proof proof;
	uint8_t empty[AUDIT_HASH_BYTES];
	cr_err rc;
	if (size1 == 0) {
		audit_hash_empty(empty);
		return memcmp(empty, root1, sizeof(empty)) == 0 ? CR_OK : CR_ERR_AUDIT_PROOF_ROOT;
	}
	rc = merkle_consistency(log_hash_reader, log, size1, size2, &proof);
	return rc == CR_OK ? audit_verify_consistency(size1, size2, &proof, root1, root2) : rc;
}

static cr_err chain_check(struct verifier_state *s, struct audit_log *log)
{
	for (size_t i = 0; i + 1 < s->n_cps; i++) {
		const struct cp_row *a = &s->cps[i], *b = &s->cps[i + 1];
		cr_err rc = prefix_check(log, a->size, a->root, b->size, b->root);
		if (rc != CR_OK) {
			PROBLEM(s, "checkpoints at sizes %llu and %llu are not consistent: %s",
				(unsigned long long)a->size, (unsigned long long)b->size,
				cr_strerror(rc));
			return CR_ERR_AUDIT_VERIFY;
		}
	}
	return CR_OK;
}

static cr_err saved_check(struct verifier_state *s, struct audit_log *log, const char *saved,
			  size_t len)
{
	struct audit_checkpoint cp;
	cr_err rc = audit_checkpoint_open(s->v, saved, len, s->origin[0] ? s->origin : NULL, &cp);
	if (rc != CR_OK) {
		PROBLEM(s, "saved checkpoint: %s", cr_strerror(rc));
		return CR_ERR_AUDIT_VERIFY;
	}
	if (cp.size > s->rep->size) {
		PROBLEM(s, "saved checkpoint (size %llu) is ahead of the log (%llu leaves): "
			"acknowledged entries are missing", (unsigned long long)cp.size,
			(unsigned long long)s->rep->size);
		return CR_ERR_AUDIT_VERIFY;
	}
	rc = prefix_check(log, cp.size, cp.root, s->rep->size, s->rep->root);
	if (rc != CR_OK) {
		PROBLEM(s, "saved checkpoint (size %llu) is not consistent with the current log: %s",
			(unsigned long long)cp.size, cr_strerror(rc));
		return CR_ERR_AUDIT_VERIFY;
	}
	s->rep->saved_checked = true;
	return CR_OK;
}

cr_err audit_log_verify(sqlite3 *db, const char *origin, const struct audit_verifier *v,
			const char *saved, size_t saved_len, struct audit_verify_report *out)
{
	struct verifier_state s = { .db = db, .rep = out, .v = v };
	struct audit_log *log = cr_xcalloc(1, sizeof(*log)); /* read-only stored-hash reader */
	size_t olen = origin ? strlen(origin) : 0;
	cr_err rc = CR_ERR_INVALID_ARG;

	memset(out, 0, sizeof(*out));
	log->db = db;
	if (olen > AUDIT_ORIGIN_MAX)
		goto out;
	if (olen > 0)
		memcpy(s.origin, origin, olen);
	rc = cp_load(&s);
	if (rc == CR_OK)
		rc = scan(&s);
	if (rc == CR_OK)
		rc = chain_check(&s, log);
	if (rc == CR_OK && saved != NULL)
		rc = saved_check(&s, log, saved, saved_len);
	if (rc != CR_OK && rc != CR_ERR_AUDIT_VERIFY && !out->problem[0])
		PROBLEM(&s, "could not read the log: %s (%s)", cr_strerror(rc), sqlite3_errmsg(db));
out:
	sqlite3_finalize(s.hashes);
	free(s.cps);
	audit_log_free(log);
	return rc;
}
