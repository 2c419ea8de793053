/*
 * ctx.c: the registry context: one connection's prepared statements (all
 * SQL of the folder's hot paths is in the table below), savepoints, the
 * change stamp that tells a cache whether the database moved, and the
 * cached history of the last subject asked about.
 *
 * Caches are keyed by (SQLITE_FCNTL_DATA_VERSION, sqlite3_total_changes64):
 * the first moves when this connection starts a read that sees another
 * connection's commit (or commits itself), the second on any write by this
 * connection, including inside the open transaction. Every decision first
 * checks its brand's catalog, which, when no read transaction is open,
 * reads the catalog generation and so brings the data version up to date
 * before the history cache is compared. So a decision never reads a stale
 * cache, and the three or so decisions an ingested row needs (one per
 * purpose and recipient) read the subject's events once.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "consent/consent_internal.h"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_SAVEPOINT] = "SAVEPOINT consent_call",
	[ST_RELEASE] = "RELEASE consent_call",
	[ST_ROLLBACK_TO] = "ROLLBACK TO consent_call",
	[ST_BRAND_INSERT] = "INSERT INTO brands(name, created_ms) VALUES (?1, ?2)",
	[ST_BRAND_FIND] = "SELECT id FROM brands WHERE name = ?1",
	[ST_BRAND_GET] = "SELECT name, key_version, catalog_gen FROM brands WHERE id = ?1",
	[ST_BRAND_GEN] = "SELECT catalog_gen, key_version FROM brands WHERE id = ?1",
	[ST_BRAND_BUMP] = "UPDATE brands SET catalog_gen = catalog_gen + 1 WHERE id = ?1",
	[ST_CHILD_AGE_SET] = "INSERT INTO consent_child_ages(brand_id, jurisdiction, age)"
			     " VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET age = excluded.age",
	[ST_CAT_NOTICES] = "SELECT version, published_ms, material, hash, jurisdictions"
			   " FROM consent_notices WHERE brand_id = ?1 ORDER BY version",
	[ST_CAT_PURPOSES] = "SELECT version, code, sensitive, shares_data, marketing"
			    " FROM consent_purposes WHERE brand_id = ?1 ORDER BY version, code",
	[ST_CAT_RECIPIENTS] = "SELECT version, id, purpose FROM consent_recipients"
			      " WHERE brand_id = ?1 ORDER BY version, id",
	[ST_CAT_CHANGES] = "SELECT version, kind, code FROM consent_notice_changes"
			   " WHERE brand_id = ?1 ORDER BY version, kind, code",
	[ST_CAT_AGES] = "SELECT jurisdiction, age FROM consent_child_ages WHERE brand_id = ?1"
			" ORDER BY jurisdiction",
	[ST_NOTICE_INSERT] = "INSERT INTO consent_notices(brand_id, version, hash, canonical,"
			     " material, language, jurisdictions, published_ms)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_PURPOSE_INSERT] = "INSERT INTO consent_purposes(brand_id, version, code, sensitive,"
			      " shares_data, marketing) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_RECIPIENT_INSERT] = "INSERT INTO consent_recipients(brand_id, version, id, name,"
				" contact, country, purpose, categories)"
				" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_CHANGE_INSERT] = "INSERT INTO consent_notice_changes(brand_id, version, kind, code)"
			     " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	[ST_NOTICE_GET] = "SELECT canonical, hash FROM consent_notices"
			  " WHERE brand_id = ?1 AND version = ?2",
	[ST_EVENT_INSERT] = "INSERT INTO consent_events(id, brand_id, type, pseudonym, key_version,"
			    " purpose, recipient, notice_version, notice_hash, served_ref, actor,"
			    " guardian_ref, channel, method, signal, time_ms, received_ms,"
			    " effective_ms, expires_ms, jurisdiction, birth_year, evidence, dedupe, skey)"
			    " VALUES (NULL,"
			    " ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
			    " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
	[ST_EVENT_BY_DEDUPE] = "SELECT k.id, e.served_ref FROM consent_event_keys k"
			       " JOIN consent_events e ON e.id = k.id WHERE k.skey = ?5 AND k.brand_id = ?1"
			       " AND k.pseudonym = ?2 AND k.key_version = ?3 AND k.dedupe = ?4",
	[ST_SUPP_INSERT] = "INSERT INTO consent_suppression(brand_id, pseudonym, key_version,"
			   " purpose, recipient, since_ms, event_id)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
	[ST_SUPP_BY_SUBJECT] = "SELECT purpose, recipient, since_ms FROM consent_suppression"
			       " WHERE brand_id = ?1 AND pseudonym = ?2 AND key_version = ?3",
	[ST_HISTORY] = "SELECT id, rules FROM consent_event_keys"
		       " WHERE skey = ?4 AND brand_id = ?1 AND pseudonym = ?2 AND key_version = ?3",
	[ST_EVENT_GET] = "SELECT " CONSENT_EVENT_COLUMNS " FROM consent_events"
			 " WHERE brand_id = ?1 AND id = ?2",
	[ST_GUARDIAN_INSERT] = "INSERT INTO consent_guardian_links(brand_id, child_pseudonym,"
			       " child_key_version, guardian_ref, verified_ms, verified_by, created_ms)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
	/* no verified_by here: a database before migration 15 still answers */
	[ST_GUARDIAN_FIND] = "SELECT id FROM consent_guardian_links WHERE brand_id = ?1"
			     " AND child_pseudonym = ?2 AND child_key_version = ?3"
			     " AND guardian_ref = ?4 AND verified_ms IS NOT NULL LIMIT 1",
};

cr_err consent_ctx_new(sqlite3 *db, struct consent_ctx **out)
{
	struct consent_ctx *ctx;

	if (db == NULL || out == NULL)
		return CR_ERR_INVALID_ARG;
	ctx = cr_xcalloc(1, sizeof(*ctx));
	ctx->db = db;
	ctx->skew_ms = CONSENT_SKEW_DEFAULT_MS;
	*out = ctx;
	return CR_OK;
}

void consent_ctx_free(struct consent_ctx *ctx)
{
	if (ctx == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(ctx->st[i]);
	consent_catalog_clear(ctx);
	free(ctx->hist.ev);
	free(ctx->supp.rows);
	free(ctx);
}

sqlite3 *consent_ctx_db(const struct consent_ctx *ctx)
{
	return ctx->db;
}

void consent_set_purge_callback(struct consent_ctx *ctx, consent_purge_fn fn, void *user)
{
	ctx->purge = fn;
	ctx->purge_user = user;
}

cr_time_ms consent_now(const struct consent_ctx *ctx)
{
	return ctx->now ? ctx->now(ctx->now_user) : cr_time_now();
}

void consent_set_clock(struct consent_ctx *ctx, cr_time_ms (*now)(void *user), void *user,
		       cr_time_ms skew_ms)
{
	if (skew_ms < 0 || skew_ms > CONSENT_SKEW_MAX_MS)
		cr_die("consent_set_clock: skew out of range");
	ctx->now = now;
	ctx->now_user = user;
	ctx->skew_ms = skew_ms;
}

sqlite3_stmt *consent_stmt(struct consent_ctx *ctx, enum consent_stmt which)
{
	sqlite3_stmt **slot;

	if ((unsigned)which >= ST_COUNT)
		cr_die("consent: statement index out of range");
	slot = &ctx->st[which];
	if (*slot == NULL) {
		if (sqlite3_prepare_v3(ctx->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
				       slot, NULL) != SQLITE_OK) {
			sqlite3_finalize(*slot);
			*slot = NULL;
			return NULL;
		}
		return *slot;
	}
	sqlite3_reset(*slot);
	sqlite3_clear_bindings(*slot);
	return *slot;
}

cr_err consent_sqlite_err(sqlite3 *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return CR_OK;
	case SQLITE_CONSTRAINT:
		/* RAISE(ABORT) in our triggers: history is append-only. */
		if (db != NULL && sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_TRIGGER)
			return CR_ERR_CONSENT_APPEND_ONLY;
		return CR_ERR_EXISTS;
	case SQLITE_NOMEM:
		return CR_ERR_NOMEM;
	default:
		return CR_ERR_CONSENT;
	}
}

cr_err consent_step_done(sqlite3_stmt *st)
{
	int s = sqlite3_step(st);
	cr_err rc = (s == SQLITE_DONE) ? CR_OK : consent_sqlite_err(sqlite3_db_handle(st), s);

	if (rc == CR_OK && s == SQLITE_ROW)
		rc = CR_ERR_CONSENT; /* a statement meant to return nothing did */
	sqlite3_reset(st);
	return rc;
}

/* Runs one of the savepoint statements. */
static cr_err run_plain(struct consent_ctx *ctx, enum consent_stmt which)
{
	sqlite3_stmt *st = consent_stmt(ctx, which);

	return st == NULL ? CR_ERR_CONSENT : consent_step_done(st);
}

cr_err consent_savepoint(struct consent_ctx *ctx)
{
	return run_plain(ctx, ST_SAVEPOINT);
}

cr_err consent_savepoint_end(struct consent_ctx *ctx, cr_err rc)
{
	if (rc == CR_OK)
		return run_plain(ctx, ST_RELEASE);
	/* Undo this call's writes; the caller's transaction stays open. If even
	 * that fails the caller's rollback of the whole transaction cleans up. */
	if (run_plain(ctx, ST_ROLLBACK_TO) == CR_OK)
		(void)run_plain(ctx, ST_RELEASE);
	return rc;
}

void consent_db_stamp(const struct consent_ctx *ctx, unsigned *dv, int64_t *tc)
{
	unsigned v = 0;

	if (ctx->snapshot) {
		*dv = 0;
		*tc = -ctx->snapshots;
		return;
	}
	if (sqlite3_file_control(ctx->db, "main", SQLITE_FCNTL_DATA_VERSION, &v) != SQLITE_OK)
		v = 0;
	*dv = v;
	*tc = sqlite3_total_changes64(ctx->db);
}

void consent_ctx_snapshot(struct consent_ctx *ctx, bool on)
{
	if (on)
		ctx->snapshots++;
	ctx->snapshot = on;
}

/* ---------------------------------------------------------------- history */

void consent_text_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	consent_copy(dst, cap, s != NULL ? (const char *)s : "");
}

/* Orders events by (effective, id): rows come in primary-key order, and a
 * subject has few, so an insertion sort is the cheapest. */
void consent_hist_sort(struct hist_event *ev, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct hist_event x = ev[i];
		size_t j = i;
		while (j > 0 && (ev[j - 1].effective > x.effective ||
				 (ev[j - 1].effective == x.effective && ev[j - 1].id > x.id))) {
			ev[j] = ev[j - 1];
			j--;
		}
		ev[j] = x;
	}
}

#define RULES_FIELDS 10

/* Splits an event's rules text (consent_schema_v4's RULES_TEXT) at its
 * nine '|': false unless there are exactly ten fields. */
static bool rules_split(const char *s, size_t n, const char *f[RULES_FIELDS], size_t len[RULES_FIELDS])
{
	const char *end = s + n;
	for (int i = 0; i < RULES_FIELDS; i++) {
		const char *bar = memchr(s, '|', (size_t)(end - s));
		if ((bar == NULL) != (i == RULES_FIELDS - 1))
			return false;
		f[i] = s;
		len[i] = (size_t)((bar ? bar : end) - s);
		s = bar ? bar + 1 : end;
	}
	return true;
}

/* A field as an integer: false unless it is empty (*null) or a decimal
 * integer of 1 to 19 digits, with an optional '-'. */
static bool rules_int(const char *f, size_t len, bool *null, int64_t *v)
{
	bool neg = len > 0 && f[0] == '-';
	uint64_t x = 0;
	size_t i = neg;
	*null = len == 0;
	*v = 0;
	if (*null)
		return true;
	if (len - i == 0 || len - i > 19)
		return false;
	for (; i < len; i++) {
		if (f[i] < '0' || f[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(f[i] - '0');
	}
	if (x > (uint64_t)INT64_MAX)
		return false;
	*v = neg ? -(int64_t)x : (int64_t)x;
	return true;
}

/* A field as text in dst (cap bytes), cut to fit as consent_copy does. */
static void rules_text(char *dst, size_t cap, const char *f, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;
	memcpy(dst, f, n);
	dst[n] = '\0';
}

/* Reads one ST_HISTORY row (id, rules) into e: CR_ERR_STORE for a rules
 * text the trigger cannot have written. */
cr_err consent_hist_row(sqlite3_stmt *st, struct hist_event *e)
{
	const char *s = (const char *)sqlite3_column_text(st, 1);
	const char *f[RULES_FIELDS];
	size_t len[RULES_FIELDS];
	char word[16];
	int64_t nv, t, eff, exp, by;
	bool none[5];

	e->id = sqlite3_column_int64(st, 0);
	if (s == NULL || !rules_split(s, (size_t)sqlite3_column_bytes(st, 1), f, len) || len[0] >= sizeof(word) ||
	    len[1] >= sizeof(word) || !rules_int(f[4], len[4], &none[0], &nv) ||
	    !rules_int(f[5], len[5], &none[1], &t) || !rules_int(f[6], len[6], &none[2], &eff) ||
	    !rules_int(f[7], len[7], &none[3], &exp) || !rules_int(f[8], len[8], &none[4], &by) || none[1] ||
	    none[2] || nv < 0 || nv > UINT32_MAX || by < INT_MIN || by > INT_MAX)
		return CR_ERR_STORE;
	rules_text(word, sizeof(word), f[0], len[0]);
	if (!consent_event_type_parse(word, &e->type))
		return CR_ERR_STORE;
	rules_text(word, sizeof(word), f[1], len[1]);
	if (len[1] == 0)
		e->actor = CONSENT_ACTOR_NONE;
	else if (!consent_actor_parse(word, &e->actor))
		return CR_ERR_STORE;
	rules_text(e->purpose, sizeof(e->purpose), f[2], len[2]);
	rules_text(e->recipient, sizeof(e->recipient), f[3], len[3]);
	e->notice_version = (uint32_t)nv;
	if ((eff > 0 && t > INT64_MAX - eff) || (eff < 0 && t < INT64_MIN - eff))
		return CR_ERR_STORE;
	e->time = t;
	e->effective = t + eff; /* stored as the difference */
	e->expires = none[3] ? CONSENT_TIME_NONE : exp;
	e->birth_year = (int)by;
	rules_text(e->jur, sizeof(e->jur), f[9], len[9]);
	return CR_OK;
}

bool consent_key_current(const struct subject_key *k, int64_t brand, const struct crypto_pseudonym *p,
			 unsigned dv, int64_t tc)
{
	return k->valid && k->brand == brand && k->key_version == p->key_version && k->stamp_dv == dv &&
	       k->stamp_tc == tc && memcmp(k->pseudonym, p->bytes, CRYPTO_PSEUDONYM_BYTES) == 0;
}

void consent_key_set(struct subject_key *k, int64_t brand, const struct crypto_pseudonym *p, unsigned dv,
		     int64_t tc)
{
	k->brand = brand;
	k->key_version = p->key_version;
	memcpy(k->pseudonym, p->bytes, CRYPTO_PSEUDONYM_BYTES);
	k->stamp_dv = dv;
	k->stamp_tc = tc;
	k->valid = true;
}

bool consent_history_is_current(struct consent_ctx *ctx, int64_t brand,
				const struct crypto_pseudonym *p)
{
	unsigned dv;
	int64_t tc;

	consent_db_stamp(ctx, &dv, &tc);
	return consent_key_current(&ctx->hist.key, brand, p, dv, tc);
}

void consent_history_append(struct consent_ctx *ctx, const struct hist_event *e)
{
	struct subject_history *h = &ctx->hist;

	/* Outside a transaction another connection could have written too. */
	if (sqlite3_get_autocommit(ctx->db)) {
		h->key.valid = false;
		return;
	}
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 16;
		h->ev = cr_xrealloc(h->ev, h->cap * sizeof(*h->ev));
	}
	h->ev[h->n++] = *e;
	consent_hist_sort(h->ev, h->n);
	consent_db_stamp(ctx, &h->key.stamp_dv, &h->key.stamp_tc);
}

cr_err consent_history_load(struct consent_ctx *ctx, int64_t brand,
			    const struct crypto_pseudonym *p)
{
	struct subject_history *h = &ctx->hist;
	sqlite3_stmt *st;
	unsigned dv;
	int64_t tc;
	int s;

	consent_db_stamp(ctx, &dv, &tc);
	if (consent_key_current(&h->key, brand, p, dv, tc))
		return CR_OK;
	h->key.valid = false;
	st = consent_stmt(ctx, ST_HISTORY);
	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_blob(st, 2, p->bytes, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, p->key_version);
	sqlite3_bind_int64(st, 4, consent_skey(p->bytes));
	h->n = 0;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (h->n == h->cap) {
			h->cap = h->cap ? 2 * h->cap : 16;
			h->ev = cr_xrealloc(h->ev, h->cap * sizeof(*h->ev));
		}
		if (consent_hist_row(st, &h->ev[h->n++]) != CR_OK) {
			sqlite3_reset(st);
			return CR_ERR_STORE;
		}
	}
	sqlite3_reset(st);
	if (s != SQLITE_DONE)
		return consent_sqlite_err(ctx->db, s);
	consent_hist_sort(h->ev, h->n);
	consent_key_set(&h->key, brand, p, dv, tc);
	return CR_OK;
}

cr_err consent_supp_load(struct consent_ctx *ctx, int64_t brand, const struct crypto_pseudonym *p)
{
	struct subject_supp *c = &ctx->supp;
	sqlite3_stmt *st;
	unsigned dv;
	int64_t tc;
	int s;

	consent_db_stamp(ctx, &dv, &tc);
	if (consent_key_current(&c->key, brand, p, dv, tc))
		return CR_OK;
	c->key.valid = false;
	st = consent_stmt(ctx, ST_SUPP_BY_SUBJECT);
	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_blob(st, 2, p->bytes, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, p->key_version);
	c->n = 0;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct supp_entry *e;
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 8;
			c->rows = cr_xrealloc(c->rows, c->cap * sizeof(*c->rows));
		}
		e = &c->rows[c->n++];
		consent_text_col(e->purpose, sizeof(e->purpose), st, 0);
		consent_text_col(e->recipient, sizeof(e->recipient), st, 1);
		e->since = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (s != SQLITE_DONE)
		return consent_sqlite_err(ctx->db, s);
	consent_key_set(&c->key, brand, p, dv, tc);
	return CR_OK;
}
