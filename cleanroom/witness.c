/*
 * witness.c: the witness's state machine (witness.h), with no HTTP in it.
 *
 * add-checkpoint follows c2sp.org/tlog-witness: 404 for a log it does not
 * follow, 403 when the note does not verify with the log's key, 400 when
 * old > the checkpoint's size or the request is malformed, 409 with the
 * cosigned size (text/x.tlog.size) when old is not that size, 409 when the
 * sizes are equal but the roots differ (a fork), 422 when the consistency
 * proof from (old, stored root) to the new checkpoint does not verify
 * (a fork), and 200 with a cosignature line otherwise. A rollback (a
 * smaller checkpoint than the one cosigned) therefore never gets a
 * cosignature: with old = the stored size it is a 400, with any other old
 * a 409. The check and the update of the log's row run in one IMMEDIATE
 * transaction under one lock, and the answer is built only after COMMIT.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "cleanroom/witness.h"

struct witness {
	sqlite3 *db;
	struct audit_signer *signer; /* owned */
	pthread_mutex_t mu;
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS logs ("
	"  origin TEXT PRIMARY KEY,"
	"  vkey   TEXT NOT NULL,"
	"  size   INTEGER NOT NULL DEFAULT 0,"
	"  root   BLOB,"
	"  note   TEXT,"
	"  time_s INTEGER NOT NULL DEFAULT 0"
	") STRICT;";

static char *path_in(const char *dir, const char *leaf)
{
	size_t n = strlen(dir) + strlen(leaf) + 2;
	char *p = cr_xmalloc(n);
	snprintf(p, n, "%s/%s", dir, leaf);
	return p;
}

static cr_err db_open(const char *dir, bool create, sqlite3 **out)
{
	char *p = path_in(dir, WITNESS_DB_FILE);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(p, &db, flags, NULL);
	free(p);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, schema, NULL, NULL, NULL);
	/* a cosignature answered is on disk: FULL, as the log's own store */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_close(db);
		return create ? CR_ERR_IO : CR_ERR_NOT_FOUND;
	}
	*out = db;
	return CR_OK;
}

cr_err witness_init(const char *dir, const char *name, char **vkey_out)
{
	uint8_t seed[32], blob[33];
	char b64[64], line[AUDIT_KEY_NAME_MAX + 128];
	char *kp = path_in(dir, WITNESS_KEY_FILE), *dp = path_in(dir, WITNESS_DB_FILE);
	struct audit_signer *s = NULL;
	struct audit_verifier v;
	sqlite3 *db = NULL;
	int fd = -1;
	cr_err rc = CR_ERR_IO;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		goto out;
	if (access(kp, F_OK) == 0 || access(dp, F_OK) == 0) {
		rc = CR_ERR_DATA_DIR_EXISTS;
		goto out;
	}
	randombytes_buf(seed, sizeof(seed));
	rc = audit_signer_from_seed(name, seed, &s);
	if (rc == CR_OK)
		rc = audit_cosig_verifier_from_signer(s, &v);
	if (rc != CR_OK)
		goto out;
	blob[0] = AUDIT_COSIG_ALG;
	memcpy(blob + 1, seed, 32);
	rc = cr_base64_encode(blob, sizeof(blob), b64, sizeof(b64));
	if (rc != CR_OK)
		goto out;
	int n = snprintf(line, sizeof(line), "PRIVATE+KEY+%s+%08" PRIx32 "+%s\n", name, v.key_id, b64);
	fd = open(kp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	rc = CR_ERR_IO;
	if (fd < 0 || write(fd, line, (size_t)n) != n || fsync(fd) != 0)
		goto out;
	rc = db_open(dir, true, &db);
	if (rc == CR_OK)
		rc = audit_cosig_verifier_format(&v, vkey_out);
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(blob, sizeof(blob));
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(line, sizeof(line));
	if (fd >= 0)
		close(fd);
	sqlite3_close(db);
	audit_signer_free(s);
	free(kp);
	free(dp);
	return rc;
}

/* Reads WDIR/witness.key into a signer. */
static cr_err key_load(const char *dir, struct audit_signer **out)
{
	char *kp = path_in(dir, WITNESS_KEY_FILE);
	char buf[AUDIT_KEY_NAME_MAX + 128], name[AUDIT_KEY_NAME_MAX + 1];
	uint8_t blob[40];
	size_t blob_len = 0;
	ssize_t n = -1;
	struct stat st;
	int fd = open(kp, O_RDONLY | O_CLOEXEC);
	cr_err rc = CR_ERR_NOT_FOUND;

	free(kp);
	if (fd < 0)
		return rc;
	rc = CR_ERR_PERMISSION; /* a key others can read is not secret */
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) == 0)
		n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		goto out;
	buf[n] = '\0';
	rc = CR_ERR_PARSE;
	char *p = strchr(buf, '\n');
	if (p)
		*p = '\0';
	/* PRIVATE+KEY+<name>+<id>+<base64>: the base64 may itself hold '+' */
	char *f[5];
	int k = 1;
	f[0] = buf;
	for (char *q = buf; k < 5 && (q = strchr(q, '+')) != NULL; k++) {
		*q++ = '\0';
		f[k] = q;
	}
	if (k != 5 || strcmp(f[0], "PRIVATE") || strcmp(f[1], "KEY") ||
	    strlen(f[2]) >= sizeof(name) ||
	    cr_base64_decode(f[4], strlen(f[4]), blob, sizeof(blob), &blob_len) != CR_OK ||
	    blob_len != 33 || blob[0] != AUDIT_COSIG_ALG)
		goto out;
	snprintf(name, sizeof(name), "%s", f[2]);
	rc = audit_signer_from_seed(name, blob + 1, out);
out:
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(blob, sizeof(blob));
	return rc;
}

cr_err witness_open(const char *dir, struct witness **out)
{
	struct witness *w = cr_xcalloc(1, sizeof(*w));
	cr_err rc = key_load(dir, &w->signer);
	if (rc == CR_OK)
		rc = db_open(dir, false, &w->db);
	if (rc != CR_OK) {
		witness_close(w);
		return rc;
	}
	pthread_mutex_init(&w->mu, NULL);
	*out = w;
	return CR_OK;
}

void witness_close(struct witness *w)
{
	if (w == NULL)
		return;
	if (w->db)
		pthread_mutex_destroy(&w->mu);
	sqlite3_close(w->db);
	audit_signer_free(w->signer);
	free(w);
}

cr_err witness_vkey(const struct witness *w, char **out)
{
	struct audit_verifier v;
	cr_err rc = audit_cosig_verifier_from_signer(w->signer, &v);
	return rc == CR_OK ? audit_cosig_verifier_format(&v, out) : rc;
}

cr_err witness_add_log(struct witness *w, const char *log_vkey)
{
	struct audit_verifier v;
	sqlite3_stmt *st = NULL;
	cr_err rc = audit_verifier_parse(log_vkey, strlen(log_vkey), &v);
	if (rc != CR_OK)
		return rc;
	if (sqlite3_prepare_v2(w->db, "INSERT INTO logs(origin, vkey) VALUES (?, ?)", -1, &st, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	sqlite3_bind_text(st, 1, v.name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, log_vkey, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	sqlite3_finalize(st);
	return s == SQLITE_DONE ? CR_OK : s == SQLITE_CONSTRAINT ? CR_ERR_EXISTS : CR_ERR_STORE;
}

cr_err witness_request_parse(const char *text, size_t len, struct witness_request *out)
{
	struct witness_request r = { .old_size = 0 };
	const char *p = text, *end = text + len, *nl;

	if (text == NULL || len > WITNESS_REQUEST_MAX || len < 6 || memcmp(text, "old ", 4) != 0)
		return CR_ERR_WITNESS_REQUEST;
	nl = memchr(p, '\n', len);
	if (nl == NULL || audit_parse_decimal(p + 4, (size_t)(nl - p - 4), INT64_MAX, &r.old_size) != CR_OK)
		return CR_ERR_WITNESS_REQUEST;
	for (p = nl + 1; p < end && *p != '\n'; p = nl + 1) {
		size_t got = 0;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || r.proof.n >= WITNESS_PROOF_MAX ||
		    cr_base64_decode(p, (size_t)(nl - p), r.proof.hash[r.proof.n], AUDIT_HASH_BYTES + 1,
				     &got) != CR_OK || got != AUDIT_HASH_BYTES)
			return CR_ERR_WITNESS_REQUEST;
		r.proof.n++;
	}
	if (p >= end)
		return CR_ERR_WITNESS_REQUEST; /* no empty line, no note */
	r.note = p + 1;
	r.note_len = (size_t)(end - p - 1);
	if (r.note_len == 0 || (r.old_size == 0 && r.proof.n != 0))
		return CR_ERR_WITNESS_REQUEST;
	*out = r;
	return CR_OK;
}

char *witness_request_format(uint64_t old_size, const struct audit_proof *proof,
			     const char *note, size_t *len_out)
{
	size_t n_hashes = proof ? proof->n : 0;
	size_t cap = 32 + n_hashes * 46 + strlen(note) + 2, n;
	char *s = cr_xmalloc(cap);
	n = (size_t)snprintf(s, cap, "old %" PRIu64 "\n", old_size);
	for (size_t i = 0; i < n_hashes; i++) {
		if (cr_base64_encode(proof->hash[i], AUDIT_HASH_BYTES, s + n, cap - n) != CR_OK)
			cr_die("witness_request_format: base64");
		n += strlen(s + n);
		s[n++] = '\n';
	}
	n += (size_t)snprintf(s + n, cap - n, "\n%s", note);
	if (len_out)
		*len_out = n;
	return s;
}

static void answer(struct witness_answer *a, unsigned status, const char *why)
{
	a->status = status;
	a->content_type = "text/plain; charset=utf-8";
	snprintf(a->body, sizeof(a->body), "%s\n", why);
}

/* The note's text: up to the '\n' before its last empty line. */
static bool note_text_len(const char *note, size_t len, size_t *tlen)
{
	for (size_t i = len; i >= 2; i--)
		if (note[i - 2] == '\n' && note[i - 1] == '\n') {
			*tlen = i - 1;
			return true;
		}
	return false;
}

static void answer_size(struct witness_answer *a, unsigned status, uint64_t size)
{
	a->status = status;
	a->content_type = "text/x.tlog.size";
	a->size = size;
	snprintf(a->body, sizeof(a->body), "%" PRIu64 "\n", size);
}

/* The decision, inside the transaction: 0 to cosign, else the status. */
static unsigned decide(const struct witness_request *r, const struct audit_checkpoint *cp,
		       uint64_t size, const uint8_t *root, struct witness_answer *a)
{
	if (r->old_size > cp->size) {
		answer(a, 400, "old size is larger than the checkpoint's size");
		return 400;
	}
	if (r->old_size != size) {
		answer_size(a, 409, size);
		return 409;
	}
	if (size == 0)
		return 0; /* first checkpoint of this log: nothing to be consistent with */
	if (cp->size == size) {
		if (r->proof.n != 0 || root == NULL || sodium_memcmp(root, cp->root, AUDIT_HASH_BYTES) != 0) {
			answer_size(a, 409, size); /* same size, another root: a fork */
			return 409;
		}
		return 0;
	}
	if (root == NULL || audit_verify_consistency(size, cp->size, &r->proof, root, cp->root) != CR_OK) {
		answer(a, 422, "consistency proof from the size cosigned does not verify");
		return 422;
	}
	return 0;
}

cr_err witness_add_checkpoint(struct witness *w, const char *req, size_t len,
			      uint64_t now_s, struct witness_answer *out)
{
	struct witness_request r;
	struct audit_checkpoint cp;
	struct audit_verifier lv;
	sqlite3_stmt *st = NULL;
	char *line = NULL;
	size_t tlen = 0;
	uint64_t size = 0;
	const uint8_t *root = NULL;
	cr_err rc = CR_OK;

	memset(out, 0, sizeof(*out));
	if (witness_request_parse(req, len, &r) != CR_OK ||
	    !note_text_len(r.note, r.note_len, &tlen) ||
	    audit_checkpoint_parse(r.note, tlen, &cp) != CR_OK) {
		answer(out, 400, "malformed add-checkpoint request");
		return CR_OK;
	}
	pthread_mutex_lock(&w->mu);
	if (sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(w->db, "SELECT vkey, size, root FROM logs WHERE origin = ?", -1, &st, NULL) != SQLITE_OK) {
		rc = CR_ERR_STORE;
		goto out;
	}
	sqlite3_bind_text(st, 1, cp.origin, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		answer(out, 404, "unknown log");
		goto out;
	}
	const char *vk = (const char *)sqlite3_column_text(st, 0);
	if (vk == NULL || audit_verifier_parse(vk, strlen(vk), &lv) != CR_OK ||
	    audit_checkpoint_open(&lv, r.note, r.note_len, cp.origin, &cp) != CR_OK) {
		answer(out, 403, "the checkpoint is not signed by the log's key");
		goto out;
	}
	size = (uint64_t)sqlite3_column_int64(st, 1);
	if (sqlite3_column_bytes(st, 2) == AUDIT_HASH_BYTES)
		root = sqlite3_column_blob(st, 2);
	out->size = size;
	if (decide(&r, &cp, size, root, out) != 0)
		goto out;
	rc = audit_cosig_sign(w->signer, now_s, r.note, tlen, &line);
	if (rc != CR_OK)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(w->db, "UPDATE logs SET size = ?, root = ?, note = ?, time_s = ? WHERE origin = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = CR_ERR_STORE;
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)cp.size);
	sqlite3_bind_blob(st, 2, cp.root, AUDIT_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r.note, (int)r.note_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)now_s);
	sqlite3_bind_text(st, 5, cp.origin, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(w->db) != 1) {
		rc = CR_ERR_STORE;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	/* stored before the answer: only a committed state is ever cosigned */
	if (sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = CR_ERR_STORE;
		goto out;
	}
	out->status = 200;
	out->size = cp.size;
	out->content_type = "text/plain; charset=utf-8";
	snprintf(out->body, sizeof(out->body), "%s", line);
out:
	sqlite3_finalize(st);
	if (!sqlite3_get_autocommit(w->db))
		sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&w->mu);
	free(line);
	if (rc != CR_OK)
		answer(out, 500, cr_strerror(rc));
	return rc;
}
