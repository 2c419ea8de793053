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
 *     the recomputed root must equal the signed one (leaf hashing and
 *     decoding run on a worker thread, one batch behind the reader);
 *  3. consecutive checkpoints must be consistent (proofs from the stored
 *     hashes, now known good);
 *  4. a checkpoint the officer saved must verify and be consistent with the
 *     current log.
 *
 * It stops at the first failure and names it in the report.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit_int.h"

struct cp_row {
	uint64_t size;
	uint8_t root[AUDIT_HASH_BYTES];
	bool has_previous;        /* the note names the checkpoint before it */
	uint64_t previous;
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

/* The "previous <size>" extension line of a note's body, if it has one. */
static bool note_previous(const char *note, size_t len, uint64_t *out)
{
	static const char key[] = AUDIT_PREVIOUS_EXT " ";
	const char *end = memmem(note, len, "\n\n", 2), *p = note;
	for (unsigned line = 0; end != NULL && p < end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p) + 1);
		if (nl == NULL)
			break;
		if (line >= 3 && (size_t)(nl - p) > sizeof(key) - 1 && memcmp(p, key, sizeof(key) - 1) == 0)
			return audit_parse_decimal(p + sizeof(key) - 1, (size_t)(nl - p) - (sizeof(key) - 1),
						   AUDIT_SIZE_MAX, out) == CR_OK;
		p = nl + 1;
	}
	return false;
}

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
	row->has_previous = note_previous(note, len, &row->previous);
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
		/* A checkpoint names the one signed before it: a row between them is gone. */
		if (rc == CR_OK && s->cps[s->n_cps].has_previous &&
		    (s->n_cps == 0 || s->cps[s->n_cps - 1].size != s->cps[s->n_cps].previous)) {
			PROBLEM(s, "checkpoint rows are missing: the checkpoint of size %llu follows one of size %llu, "
				   "but the stored checkpoint before it is of size %llu",
				(unsigned long long)s->cps[s->n_cps].size, (unsigned long long)s->cps[s->n_cps].previous,
				(unsigned long long)(s->n_cps ? s->cps[s->n_cps - 1].size : 0));
			rc = CR_ERR_AUDIT_VERIFY;
		}
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

/*
 * The leaves are read in batches that a worker thread hashes and decodes
 * while the main thread reads the next batch from SQLite (the only thread
 * that touches the connection) and then walks the finished batch in index
 * order: tree, stored hashes, content verdict, checkpoint roots. So the
 * first problem is still the first in index order, and the SHA-256 work of
 * the leaves runs on the second core.
 */
#define BATCH 4096
#define NO_TEXT SIZE_MAX

struct vleaf {
	sqlite3_int64 idx;
	sqlite3_int64 time_ms;
	bool is_blob;
	size_t data, len;                 /* offsets into the batch arena */
	size_t type, tenant, actor;       /* NUL-terminated, or NO_TEXT */
	/* the worker's results */
	uint8_t hash[AUDIT_HASH_BYTES];
	cr_err decoded;
	uint64_t sequence;
	bool columns_match;
};

struct vbatch {
	size_t n;
	struct vleaf leaf[BATCH];
	uint8_t *arena;                   /* owned */
	size_t used, cap;
	pthread_t worker;
	bool running;
};

static size_t arena_put(struct vbatch *b, const void *p, size_t len, bool nul)
{
	size_t off = b->used, need = len + (nul ? 1 : 0);
	if (b->cap - b->used < need) {
		b->cap = (b->cap + need) * 2;
		b->arena = cr_xrealloc(b->arena, b->cap);
	}
	if (len > 0)
		memcpy(b->arena + off, p, len);
	if (nul)
		b->arena[off + len] = '\0';
	b->used += need;
	return off;
}

static size_t arena_text(struct vbatch *b, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? arena_put(b, t, (size_t)sqlite3_column_bytes(st, col), true) : NO_TEXT;
}

/* Copies up to BATCH rows; *more is false once the statement is done. */
static cr_err batch_fill(sqlite3_stmt *st, struct vbatch *b, bool *more)
{
	int step = SQLITE_DONE;
	b->n = 0;
	b->used = 0;
	while (b->n < BATCH && (step = sqlite3_step(st)) == SQLITE_ROW) {
		struct vleaf *l = &b->leaf[b->n++];
		l->idx = sqlite3_column_int64(st, 0);
		l->time_ms = sqlite3_column_int64(st, 1);
		l->type = arena_text(b, st, 2);
		l->tenant = arena_text(b, st, 3);
		l->actor = arena_text(b, st, 4);
		l->is_blob = sqlite3_column_type(st, 5) == SQLITE_BLOB;
		l->len = (size_t)sqlite3_column_bytes(st, 5);
		l->data = arena_put(b, sqlite3_column_blob(st, 5), l->len, false);
	}
	*more = step == SQLITE_ROW;
	return step == SQLITE_ROW || step == SQLITE_DONE ? CR_OK : log_sqlite_err(step);
}

static bool text_is(const struct vbatch *b, size_t off, const char *want)
{
	return off != NO_TEXT && strcmp((const char *)b->arena + off, want) == 0;
}

/* The worker: each leaf's hash, and whether it decodes and matches its
 * search columns. */
static void *batch_work(void *arg)
{
	struct vbatch *b = arg;
	for (size_t i = 0; i < b->n; i++) {
		struct vleaf *l = &b->leaf[i];
		struct audit_leaf *leaf = NULL;
		const uint8_t *data = b->arena + l->data;
		audit_hash_leaf(data, l->len, l->hash);
		l->decoded = audit_leaf_decode(data, l->len, &leaf);
		if (l->decoded != CR_OK)
			continue;
		l->sequence = leaf->sequence;
		l->columns_match = l->time_ms == leaf->time_ms && text_is(b, l->type, leaf->event_type) &&
				   text_is(b, l->tenant, leaf->tenant) && text_is(b, l->actor, leaf->actor_id);
		audit_leaf_free(leaf);
	}
	return NULL;
}

static void batch_start(struct vbatch *b)
{
	/* Without a thread the work is done here: slower, never wrong. */
	b->running = pthread_create(&b->worker, NULL, batch_work, b) == 0;
	if (!b->running)
		batch_work(b);
}

static void batch_wait(struct vbatch *b)
{
	if (b->running)
		pthread_join(b->worker, NULL);
	b->running = false;
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

/* The content verdict of one leaf, in words. */
static cr_err leaf_content_check(struct verifier_state *s, const struct vleaf *l)
{
	unsigned long long i = (unsigned long long)s->leaf;
	if (l->decoded != CR_OK)
		PROBLEM(s, "leaf %llu: does not decode: %s", i, cr_strerror(l->decoded));
	else if (l->sequence != s->leaf)
		PROBLEM(s, "leaf %llu: its sequence field says %llu", i, (unsigned long long)l->sequence);
	else if (!l->columns_match)
		PROBLEM(s, "leaf %llu: its search columns (time, type, tenant, actor) do not match "
			"its content", i);
	else
		return CR_OK;
	return CR_ERR_AUDIT_VERIFY;
}

static cr_err leaf_check(struct verifier_state *s, const struct vleaf *l)
{
	cr_err rc;
	if (l->idx < 0 || (uint64_t)l->idx != s->leaf) {
		PROBLEM(s, "leaf %llu is missing", (unsigned long long)s->leaf);
		return CR_ERR_AUDIT_VERIFY;
	}
	if (!l->is_blob) {
		PROBLEM(s, "leaf %llu: its content is not a blob", (unsigned long long)s->leaf);
		return CR_ERR_AUDIT_VERIFY;
	}
	rc = merkle_append(frontier_reader, s, s->leaf, l->hash, hash_check, s);
	return rc == CR_OK ? leaf_content_check(s, l) : rc;
}

/* Walks a finished batch in index order. */
static cr_err batch_check(struct verifier_state *s, const struct vbatch *b, size_t *next_cp)
{
	cr_err rc = CR_OK;
	for (size_t i = 0; rc == CR_OK && i < b->n; i++) {
		rc = leaf_check(s, &b->leaf[i]);
		if (rc == CR_OK) {
			s->leaf++;
			rc = cp_root_check(s, next_cp, s->leaf);
		}
	}
	return rc;
}

/* Reads batch after batch, the worker one step behind the reader. */
static cr_err leaves_pass(struct verifier_state *s, sqlite3_stmt *st, size_t *next_cp)
{
	struct vbatch *b[2] = { cr_xcalloc(1, sizeof(struct vbatch)),
				cr_xcalloc(1, sizeof(struct vbatch)) };
	bool more = true;
	cr_err rc = batch_fill(st, b[0], &more);
	if (rc == CR_OK)
		batch_start(b[0]);
	for (int cur = 0; rc == CR_OK && b[cur]->n > 0; cur ^= 1) {
		struct vbatch *next = b[cur ^ 1];
		next->n = 0;
		if (more)
			rc = batch_fill(st, next, &more);
		batch_wait(b[cur]);
		if (rc == CR_OK && next->n > 0)
			batch_start(next);
		if (rc == CR_OK)
			rc = batch_check(s, b[cur], next_cp);
	}
	for (int i = 0; i < 2; i++) {
		batch_wait(b[i]);
		free(b[i]->arena);
		free(b[i]);
	}
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
	if (rc == CR_OK)
		rc = leaves_pass(s, st, &next_cp);
	if (rc != CR_OK)
		goto out;
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
	bool began = false;
	cr_err rc = CR_ERR_INVALID_ARG;

	memset(out, 0, sizeof(*out));
	log->db = db;
	if (olen > AUDIT_ORIGIN_MAX)
		goto out;
	if (olen > 0)
		memcpy(s.origin, origin, olen);
	/* One snapshot for the whole check, even while a writer appends. */
	rc = log_read_begin(db, &began);
	if (rc == CR_OK)
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
	s.hashes = NULL;
	audit_log_free(log); /* finalizes its statements before the read ends */
	log_read_end(db, began);
	free(s.cps);
	return rc;
}
