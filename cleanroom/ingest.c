/*
 * ingest.c: the two-pass ingestion pipeline described in ingest.h.
 *
 * Memory stays bounded by the batch: per batch we hold at most batch_rows
 * pending records (pseudonym, digest, attributes), never the file. Digests
 * are personal data (an unkeyed hash of an email is reversible by guessing),
 * so each batch's digest array is wiped as soon as its PSI elements exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cleanroom/ingest.h"
#include "cleanroom/rowreader.h"

#define DEFAULT_BATCH 4096

struct pending {
	struct crypto_pseudonym p;
	int64_t attrs[COLUMNS_MAX];
	uint64_t line;
};

/* Where each needed value sits in the file's columns. */
struct layout {
	int id_col;
	bool id_is_digest;
	int attr_col[COLUMNS_MAX];
};

struct ingest_run {
	struct store *s;
	const struct dataset *d;
	const struct ingest_opts *opts;
	const struct ingest_gate *gate;
	const struct ingest_hooks *hooks;
	struct crypto_pool *pool;
	struct ingest_report *rep;
	cr_time_ms at;      /* the current batch's decision time (see begin_batch) */
	uint8_t pseudo_key[CRYPTO_KEY_BYTES];
	uint8_t psi_k[CRYPTO_PSI_SCALAR_BYTES];
	size_t cap, n;
	struct pending *rows;
	uint8_t *digests;   /* n x 32, wiped after use */
	uint8_t *elements;  /* n x 32 */
	sqlite3_stmt *exists, *upsert;
};

const char *ingest_outcome_name(enum ingest_outcome o)
{
	static const char *const names[INGEST_OUTCOME_COUNT] = {
		"invalid_identifier", "invalid_attribute", "no_consent", "suppressed",
	};
	return (unsigned)o < INGEST_OUTCOME_COUNT ? names[o] : "unknown";
}

/* ------------------------------------------------------------- the header */

static bool is_identifier_column(const char *name)
{
	return strcmp(name, "email") == 0 || strcmp(name, "phone") == 0 ||
	       strcmp(name, "email_sha256") == 0 || strcmp(name, "phone_sha256") == 0;
}

/* A header name is echoed only if it could be a column name ([a-z][a-z0-9_]*,
 * at most COLUMN_NAME_MAX): anything else may be personal data, such as the
 * identifier in the first row of a file that has no header. */
static const char *shown_column(const char *name)
{
	size_t n = strlen(name);
	bool ok = n > 0 && n <= COLUMN_NAME_MAX && name[0] >= 'a' && name[0] <= 'z';
	for (size_t i = 1; ok && i < n; i++)
		ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_';
	return ok ? name : "(name not shown)";
}

/*
 * Maps the header to the dataset. The identifier column of the dataset's
 * type must be there (raw or digest, not both); the other identifier type's
 * column may be present and is ignored; every attribute column must be
 * there; anything else is refused so a typo cannot silently drop a column.
 */
static cr_err map_header(const struct rowreader *r, const struct dataset *d,
			 struct layout *lay, char *err, size_t cap)
{
	const char *t = crypto_id_type_name(d->id_type);
	char digest_name[32];
	int raw, dig;

	snprintf(digest_name, sizeof(digest_name), "%s_sha256", t);
	raw = rowreader_find(r, t);
	dig = rowreader_find(r, digest_name);
	if ((raw < 0) == (dig < 0)) {
		snprintf(err, cap, "the header needs exactly one of the columns '%s' or '%s'", t, digest_name);
		return CR_ERR_INGEST_NO_ID_COLUMN;
	}
	lay->id_col = raw >= 0 ? raw : dig;
	lay->id_is_digest = raw < 0;
	for (size_t k = 0; k < d->columns.n; k++) {
		lay->attr_col[k] = rowreader_find(r, d->columns.cols[k].name);
		if (lay->attr_col[k] < 0) {
			snprintf(err, cap, "the header lacks the column '%s'", d->columns.cols[k].name);
			return CR_ERR_INGEST_MISSING_COLUMN;
		}
	}
	for (size_t i = 0; i < rowreader_ncols(r); i++) {
		const char *name = rowreader_colname(r, i);
		if (!is_identifier_column(name) && columns_find(&d->columns, name) < 0) {
			snprintf(err, cap, "the header has the column '%s', which the dataset does not declare",
				 shown_column(name));
			return CR_ERR_INGEST_EXTRA_COLUMN;
		}
	}
	return CR_OK;
}

/* Pass 1: the whole file must be well-formed before anything is stored. */
static cr_err check_structure(FILE *f, const char *hint, const struct dataset *d,
			      uint64_t *rows, char *err, size_t cap)
{
	struct rowreader *r = NULL;
	struct layout lay;
	const char *const *fields;
	uint64_t line, n = 0;
	bool eof = false;
	cr_err rc = rowreader_open(f, ROWREADER_AUTO, hint, &r);

	if (rc == CR_OK)
		rc = map_header(r, d, &lay, err, cap);
	else
		snprintf(err, cap, "%s", rowreader_error(r));
	while (rc == CR_OK && !eof) {
		rc = rowreader_next(r, &fields, &line, &eof);
		if (rc != CR_OK)
			snprintf(err, cap, "%s", rowreader_error(r));
		else if (!eof)
			n++;
	}
	rowreader_free(r);
	if (rc == CR_OK)
		*rows = n;
	return rc;
}

/* ------------------------------------------------------------ the rows */

static void reject(struct ingest_report *rep, enum ingest_outcome o, uint64_t line)
{
	struct ingest_rejections *x = &rep->rejected[o];
	x->count++;
	if (x->nlines < INGEST_FIRST_LINES)
		x->lines[x->nlines++] = line;
}

static void count_reason(struct ingest_report *rep, const char *reason)
{
	for (size_t i = 0; i < rep->nreasons; i++)
		if (strcmp(rep->reasons[i].name, reason) == 0) {
			rep->reasons[i].count++;
			return;
		}
	if (rep->nreasons < INGEST_REASONS_MAX) {
		snprintf(rep->reasons[rep->nreasons].name, sizeof(rep->reasons[0].name), "%s", reason);
		rep->reasons[rep->nreasons++].count = 1;
	}
}

static cr_err row_digest(const struct ingest_run *run, const struct layout *lay,
			 const char *value, uint8_t digest[static 32])
{
	if (lay->id_is_digest)
		return crypto_digest_parse_hex(value, strlen(value), digest);
	return crypto_id_digest(run->d->id_type, value, strlen(value), run->opts->id_opts, digest);
}

/*
 * Validates one row and, if the gate admits it, queues it. Rejections are
 * counted in the report; only store errors are returned.
 */
static cr_err take_row(struct ingest_run *run, const struct layout *lay,
		       const char *const *fields, uint64_t line)
{
	struct pending *pr = &run->rows[run->n];
	uint8_t *digest = run->digests + run->n * 32;
	enum ingest_verdict verdict = INGEST_DENY;
	char reason[40] = "";
	cr_err rc;

	if (row_digest(run, lay, fields[lay->id_col], digest) != CR_OK) {
		reject(run->rep, INGEST_INVALID_IDENTIFIER, line);
		return CR_OK;
	}
	for (size_t k = 0; k < run->d->columns.n; k++) {
		if (column_value(&run->d->columns.cols[k], fields[lay->attr_col[k]], &pr->attrs[k]) != CR_OK) {
			reject(run->rep, INGEST_INVALID_ATTRIBUTE, line);
			sodium_memzero(digest, 32);
			return CR_OK;
		}
	}
	crypto_pseudonym_with_key(run->pseudo_key, run->d->key_version, run->d->id_type, digest, &pr->p);
	rc = run->gate->decide(run->gate->ctx, run->d, &pr->p, run->at, &verdict, reason);
	if (rc != CR_OK)
		return rc;
	if (verdict != INGEST_ALLOW) {
		sodium_memzero(digest, 32);
		if (verdict == INGEST_DENY_SUPPRESSED) {
			reject(run->rep, INGEST_SUPPRESSED, line);
		} else {
			reject(run->rep, INGEST_NO_CONSENT, line);
			count_reason(run->rep, reason[0] ? reason : "DENIED");
		}
		return CR_OK;
	}
	pr->line = line;
	run->n++;
	return CR_OK;
}

/* ------------------------------------------------------------ the batch */

static void pack_attrs(const struct ingest_run *run, const struct pending *pr, uint8_t *out)
{
	for (size_t k = 0; k < run->d->columns.n; k++) {
		uint64_t v = (uint64_t)pr->attrs[k];
		for (int b = 0; b < 8; b++)
			out[k * 8 + (size_t)b] = (uint8_t)(v >> (56 - 8 * b));
	}
}

static cr_err store_row(struct ingest_run *run, const struct pending *pr, const uint8_t *elem,
			bool *replaced)
{
	uint8_t attrs[COLUMNS_MAX * 8];
	int step;

	sqlite3_reset(run->exists);
	sqlite3_bind_int64(run->exists, 1, run->d->id);
	sqlite3_bind_blob(run->exists, 2, pr->p.bytes, 32, SQLITE_STATIC);
	step = sqlite3_step(run->exists);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return store_err(step);
	*replaced = step == SQLITE_ROW;

	pack_attrs(run, pr, attrs);
	sqlite3_reset(run->upsert);
	sqlite3_bind_int64(run->upsert, 1, run->d->id);
	sqlite3_bind_blob(run->upsert, 2, pr->p.bytes, 32, SQLITE_STATIC);
	sqlite3_bind_int64(run->upsert, 3, pr->p.key_version);
	sqlite3_bind_blob(run->upsert, 4, elem, 32, SQLITE_STATIC);
	sqlite3_bind_blob(run->upsert, 5, attrs, (int)(run->d->columns.n * 8), SQLITE_STATIC);
	sqlite3_bind_int64(run->upsert, 6, run->at);
	step = sqlite3_step(run->upsert);
	return step == SQLITE_DONE ? CR_OK : store_err(step);
}

/* PSI elements for the queued rows: E = k · H(t, d) in the dataset's suite, on the pool. */
static cr_err compute_elements(struct ingest_run *run)
{
	cr_err rc = crypto_psi_hash_batch(run->pool, run->d->suite, run->d->id_type, run->digests,
					  run->elements, run->n);
	sodium_memzero(run->digests, run->n * 32);
	if (rc == CR_OK)
		rc = crypto_psi_mul_batch(run->pool, run->d->suite, run->psi_k, run->elements,
					  run->elements, run->n, NULL);
	return rc;
}

/*
 * Stores the queued rows and the batch's audit leaf, then commits the
 * batch's transaction (opened by begin_batch before its first row was
 * gated, so the gate's reads and the writes see one snapshot and take the
 * database lock once per batch rather than once per statement; the gate
 * judges the batch at the time begin_batch read).
 */
static cr_err flush_batch(struct ingest_run *run, uint64_t rows_in_batch, uint64_t rejected,
			  uint64_t first_line, uint64_t last_line)
{
	struct ingest_batch b = { .dataset = run->d, .rows = rows_in_batch, .rejected = rejected,
				  .first_line = first_line, .last_line = last_line };
	uint8_t *pseudonyms = cr_xcalloc(run->n ? run->n : 1, 32);
	cr_err rc = CR_OK;

	if (run->n > 0)
		rc = compute_elements(run);
	for (size_t i = 0; i < run->n && rc == CR_OK; i++) {
		bool replaced = false;
		rc = store_row(run, &run->rows[i], run->elements + i * 32, &replaced);
		memcpy(pseudonyms + b.accepted * 32, run->rows[i].p.bytes, 32);
		b.accepted++;
		b.replaced += replaced;
	}
	b.pseudonyms = pseudonyms;
	if (rc == CR_OK && run->hooks && run->hooks->on_batch)
		rc = run->hooks->on_batch(run->hooks->ctx, &b);
	sodium_memzero(pseudonyms, (run->n ? run->n : 1) * 32);
	free(pseudonyms);
	if (rc == CR_OK)
		rc = store_commit(run->s);
	if (rc != CR_OK) {
		store_rollback(run->s);
		return rc;
	}
	run->rep->accepted += b.accepted;
	run->rep->replaced += b.replaced;
	run->rep->batches++;
	run->n = 0;
	return CR_OK;
}

/*
 * Opens a batch's write transaction and fixes the time its rows are judged
 * at: now, read once the transaction holds the write lock, so a withdrawal
 * (or objection) committed before the batch began is seen by the gate and
 * its subject is refused as suppressed (I3, R18), even when the ingest
 * started earlier. A fixed opts->at (tests, back-fills) is used as given.
 */
static cr_err begin_batch(struct ingest_run *run)
{
	cr_err rc = store_begin(run->s);
	if (rc == CR_OK)
		run->at = run->opts->at ? run->opts->at : cr_time_now();
	return rc;
}

static uint64_t rejected_total(const struct ingest_report *rep)
{
	uint64_t t = 0;
	for (int o = 0; o < INGEST_OUTCOME_COUNT; o++)
		t += rep->rejected[o].count;
	return t;
}

/* Pass 2: read, gate and store in batches. */
static cr_err ingest_rows(struct ingest_run *run, FILE *f, const char *hint, char *err, size_t cap)
{
	struct rowreader *r = NULL;
	struct layout lay;
	const char *const *fields;
	uint64_t line = 0, first = 0, batch_rows = 0, rej_before = 0;
	bool eof = false;
	cr_err rc = rowreader_open(f, ROWREADER_AUTO, hint, &r);

	if (rc == CR_OK)
		rc = map_header(r, run->d, &lay, err, cap);
	while (rc == CR_OK) {
		rc = rowreader_next(r, &fields, &line, &eof);
		if (rc != CR_OK) {
			snprintf(err, cap, "%s", rowreader_error(r));
			break;
		}
		if (!eof) {
			run->rep->read++;
			if (batch_rows++ == 0) {
				first = line;
				rc = begin_batch(run);
			}
			if (rc == CR_OK)
				rc = take_row(run, &lay, fields, line);
		}
		if (rc == CR_OK && batch_rows > 0 &&
		    (eof || batch_rows == run->cap || (run->hooks && run->hooks->cut && run->hooks->cut(run->hooks->ctx)))) {
			uint64_t rej = rejected_total(run->rep);
			rc = flush_batch(run, batch_rows, rej - rej_before, first, line);
			rej_before = rej;
			batch_rows = 0;
			if (run->hooks && run->hooks->on_progress)
				run->hooks->on_progress(run->hooks->ctx, run->rep->read, rowreader_bytes_read(r));
		}
		if (eof)
			break;
	}
	if (rc != CR_OK)
		store_rollback(run->s); /* a batch left open by an error */
	rowreader_free(r);
	return rc;
}

static cr_err run_prepare(struct ingest_run *run, const struct crypto_keyring *keys)
{
	cr_err rc = crypto_subkey_derive(keys, (uint64_t)run->d->brand_id, CRYPTO_USE_PSEUDONYM,
					 run->d->key_version, run->pseudo_key);
	if (rc == CR_OK)
		rc = crypto_psi_brand_scalar(keys, (uint64_t)run->d->brand_id, run->d->key_version, run->psi_k);
	if (rc != CR_OK)
		return rc;
	run->rows = cr_xcalloc(run->cap, sizeof(*run->rows));
	run->digests = sodium_malloc(run->cap * 32);
	run->elements = cr_xmalloc(run->cap * 32);
	if (run->digests == NULL)
		cr_die("out of memory");
	if (sqlite3_prepare_v2(run->s->db, "SELECT 1 FROM records WHERE dataset_id = ?1 AND pseudonym = ?2",
			       -1, &run->exists, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(run->s->db,
			       "INSERT INTO records(dataset_id, pseudonym, key_version, psi, attrs, ingested_ms)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
			       " ON CONFLICT(dataset_id, pseudonym) DO UPDATE SET key_version = excluded.key_version,"
			       " psi = excluded.psi, attrs = excluded.attrs, ingested_ms = excluded.ingested_ms",
			       -1, &run->upsert, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	return CR_OK;
}

static void run_release(struct ingest_run *run)
{
	sodium_memzero(run->pseudo_key, sizeof(run->pseudo_key));
	sodium_memzero(run->psi_k, sizeof(run->psi_k));
	sqlite3_finalize(run->exists);
	sqlite3_finalize(run->upsert);
	sodium_free(run->digests); /* sodium_free wipes */
	if (run->rows)
		sodium_memzero(run->rows, run->cap * sizeof(*run->rows));
	free(run->rows);
	free(run->elements);
}

cr_err ingest_run(struct store *s, const struct crypto_keyring *keys,
		  struct crypto_pool *pool, const struct dataset *d, FILE *f,
		  const char *name_hint, const struct ingest_opts *opts,
		  const struct ingest_gate *gate, const struct ingest_hooks *hooks,
		  struct ingest_report *report, char *err, size_t errcap)
{
	struct ingest_report rep;
	struct ingest_run run = { .s = s, .d = d, .opts = opts, .gate = gate, .hooks = hooks,
				  .pool = pool, .rep = &rep };
	uint64_t rows = 0;
	cr_err rc;

	memset(&rep, 0, sizeof(rep));
	err[0] = '\0';
	run.cap = opts->batch_rows ? opts->batch_rows : DEFAULT_BATCH;
	rc = check_structure(f, name_hint, d, &rows, err, errcap);
	if (rc != CR_OK)
		return rc;
	if (fseek(f, 0, SEEK_SET) != 0) {
		snprintf(err, errcap, "the file cannot be read twice (not seekable)");
		return CR_ERR_IO;
	}
	rc = run_prepare(&run, keys);
	if (rc == CR_OK)
		rc = ingest_rows(&run, f, name_hint, err, errcap);
	run_release(&run);
	if (rc == CR_OK)
		*report = rep;
	return rc;
}
