/*
 * scan.c: the consent state of many subjects read in one pass (see
 * consent_scan_open in consent.h).
 *
 * A decision needs a subject's events and suppression entries. Read one
 * subject at a time, that is two B-tree descents per subject into tables
 * of millions of rows, at random places: a match's or an ingest's gate
 * spends most of its time there. A scan instead walks both tables once, in
 * key order, over a range of pseudonyms, while the caller asks for the
 * subjects of that range in increasing order; each request moves the two
 * cursors forward to the subject and fills the context's caches
 * (ctx->hist, ctx->supp) with what it finds, stamped as current, so the
 * decision functions that follow read them instead of the tables.
 *
 * Orders. consent_event_keys is keyed by skey, the first eight bytes of
 * the pseudonym read as a signed big-endian integer, then the pseudonym:
 * within pseudonyms whose first byte is below 0x80 (or at or above it)
 * skey order is memcmp order of that prefix, but the pseudonyms from 0x80
 * up come first. The scan therefore reads each half of a range that
 * crosses 0x80 on its own, the lower half first, as memcmp order has it,
 * and asks SQLite for skey order only (which its primary key gives without
 * a sort); the rows of one skey (one subject's key versions) are read as a
 * group and picked from. consent_suppression is keyed by (brand,
 * pseudonym, ...): memcmp order throughout, also without a sort.
 */
#include <stdlib.h>
#include <string.h>

#include "consent/consent_internal.h"

/* An event row of the current skey group, with the subject it belongs to. */
struct group_row {
	uint8_t pseudonym[CRYPTO_PSEUDONYM_BYTES];
	uint32_t key_version;
	struct hist_event ev;
};

struct consent_scan {
	struct consent_ctx *ctx;            /* borrowed */
	int64_t brand;
	unsigned lo, hi;                    /* first bytes [lo, hi), hi <= 256 */
	sqlite3_stmt *ev, *supp;            /* owned */
	int ev_half;                        /* 0: below 0x80, 1: from 0x80; -1 none yet */
	int ev_step, supp_step;             /* the last sqlite3_step result */
	uint8_t last[CRYPTO_PSEUDONYM_BYTES];
	bool any;                           /* a subject was asked for */
	/* the events whose skey is gkey (one subject but for a 2^-64 chance,
	 * each of its key versions), in whatever order SQLite gave them */
	bool have_group;
	int64_t gkey;
	size_t gn, gcap;
	struct group_row *group;            /* owned */
};

/* (pseudonym a, version va) against (b, vb), in the scan's order. */
static int key_cmp(const uint8_t *a, uint32_t va, const uint8_t *b, uint32_t vb)
{
	int c = memcmp(a, b, CRYPTO_PSEUDONYM_BYTES);

	if (c != 0)
		return c;
	return va < vb ? -1 : va > vb;
}

/* The current row's pseudonym (column col) and key version (col + 1); NULL
 * for a row whose pseudonym is not 32 bytes (the CHECK constraints). */
static const uint8_t *row_key(sqlite3_stmt *st, int col, uint32_t *version)
{
	if (sqlite3_column_bytes(st, col) != CRYPTO_PSEUDONYM_BYTES)
		return NULL;
	*version = (uint32_t)sqlite3_column_int64(st, col + 1);
	return sqlite3_column_blob(st, col);
}

/* Points the event cursor at half h (0 or 1) of the range, or at nothing
 * when the range has no first byte in that half. */
static cr_err ev_half_open(struct consent_scan *s, int h)
{
	unsigned a = h == 0 ? s->lo : (s->lo > 0x80 ? s->lo : 0x80);
	unsigned b = h == 0 ? (s->hi < 0x80 ? s->hi : 0x80) : s->hi;

	sqlite3_reset(s->ev);
	s->ev_half = h;
	if (a >= b) {
		s->ev_step = SQLITE_DONE;
		return CR_OK;
	}
	/* skey of the first byte a, and the last skey whose first byte is below b */
	sqlite3_bind_int64(s->ev, 1, (int64_t)((uint64_t)a << 56));
	sqlite3_bind_int64(s->ev, 2, (int64_t)(((uint64_t)b << 56) - 1));
	sqlite3_bind_int64(s->ev, 3, s->brand);
	s->ev_step = sqlite3_step(s->ev);
	return s->ev_step == SQLITE_ROW || s->ev_step == SQLITE_DONE ? CR_OK
								      : consent_sqlite_err(s->ctx->db, s->ev_step);
}

cr_err consent_scan_open(struct consent_ctx *ctx, int64_t brand, unsigned lo, unsigned hi,
			 struct consent_scan **out)
{
	struct consent_scan *s;
	uint8_t lo_b = (uint8_t)lo, hi_b = (uint8_t)hi;

	if (ctx == NULL || out == NULL || lo >= hi || hi > 256)
		return CR_ERR_INVALID_ARG;
	s = cr_xcalloc(1, sizeof(*s));
	s->ctx = ctx;
	s->brand = brand;
	s->lo = lo;
	s->hi = hi;
	s->ev_half = -1;
	/* Both in primary-key order: no sort, one pass over each range. */
	if (sqlite3_prepare_v2(ctx->db,
			       "SELECT id, rules, pseudonym, key_version, skey FROM consent_event_keys"
			       " WHERE skey BETWEEN ?1 AND ?2 AND brand_id = ?3"
			       " ORDER BY skey",
			       -1, &s->ev, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(ctx->db,
			       "SELECT purpose, recipient, since_ms, pseudonym, key_version"
			       " FROM consent_suppression WHERE brand_id = ?1 AND pseudonym >= ?2"
			       " AND (?3 IS NULL OR pseudonym < ?3)"
			       " ORDER BY brand_id, pseudonym, key_version, purpose, recipient, since_ms",
			       -1, &s->supp, NULL) != SQLITE_OK) {
		consent_scan_close(s);
		return CR_ERR_CONSENT;
	}
	sqlite3_bind_int64(s->supp, 1, brand);
	sqlite3_bind_blob(s->supp, 2, &lo_b, 1, SQLITE_TRANSIENT);
	if (hi == 256)
		sqlite3_bind_null(s->supp, 3);
	else
		sqlite3_bind_blob(s->supp, 3, &hi_b, 1, SQLITE_TRANSIENT);
	s->supp_step = sqlite3_step(s->supp);
	if (s->supp_step != SQLITE_ROW && s->supp_step != SQLITE_DONE) {
		cr_err rc = consent_sqlite_err(ctx->db, s->supp_step);
		consent_scan_close(s);
		return rc;
	}
	*out = s;
	return CR_OK;
}

void consent_scan_close(struct consent_scan *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(s->ev);
	sqlite3_finalize(s->supp);
	free(s->group);
	free(s);
}

/* Steps the event cursor; CR_OK at a row or at the end. */
static cr_err ev_next(struct consent_scan *s)
{
	s->ev_step = sqlite3_step(s->ev);
	return s->ev_step == SQLITE_ROW || s->ev_step == SQLITE_DONE ? CR_OK
								      : consent_sqlite_err(s->ctx->db, s->ev_step);
}

/* Moves the event cursor to skey `key` and reads its rows into the group. */
static cr_err read_group(struct consent_scan *s, int64_t key)
{
	cr_err rc = CR_OK;

	while (rc == CR_OK && s->ev_step == SQLITE_ROW && sqlite3_column_int64(s->ev, 4) < key)
		rc = ev_next(s);
	s->gn = 0;
	while (rc == CR_OK && s->ev_step == SQLITE_ROW && sqlite3_column_int64(s->ev, 4) == key) {
		uint32_t v = 0;
		const uint8_t *k = row_key(s->ev, 2, &v);
		if (k != NULL) {
			struct group_row *g;
			if (s->gn == s->gcap) {
				s->gcap = s->gcap ? 2 * s->gcap : 16;
				s->group = cr_xrealloc(s->group, s->gcap * sizeof(*s->group));
			}
			g = &s->group[s->gn++];
			memcpy(g->pseudonym, k, CRYPTO_PSEUDONYM_BYTES);
			g->key_version = v;
			rc = consent_hist_row(s->ev, &g->ev);
		}
		if (rc == CR_OK)
			rc = ev_next(s);
	}
	s->have_group = rc == CR_OK;
	s->gkey = key;
	return rc;
}

/* Collects p's events into ctx->hist, moving the event cursor past them. */
static cr_err scan_events(struct consent_scan *s, const struct crypto_pseudonym *p)
{
	struct subject_history *h = &s->ctx->hist;
	int half = p->bytes[0] < 0x80 ? 0 : 1;
	int64_t key = consent_skey(p->bytes);
	cr_err rc = CR_OK;

	if (s->ev_half != half) {
		rc = ev_half_open(s, half);
		s->have_group = false;
	}
	if (rc == CR_OK && !(s->have_group && s->gkey == key))
		rc = read_group(s, key);
	h->key.valid = false;
	h->n = 0;
	for (size_t i = 0; rc == CR_OK && i < s->gn; i++) {
		const struct group_row *g = &s->group[i];
		if (key_cmp(g->pseudonym, g->key_version, p->bytes, p->key_version) != 0)
			continue;
		if (h->n == h->cap) {
			h->cap = h->cap ? 2 * h->cap : 16;
			h->ev = cr_xrealloc(h->ev, h->cap * sizeof(*h->ev));
		}
		h->ev[h->n++] = g->ev;
	}
	if (rc == CR_OK)
		consent_hist_sort(h->ev, h->n);
	return rc;
}

/* Collects p's suppression entries into ctx->supp. */
static cr_err scan_supp(struct consent_scan *s, const struct crypto_pseudonym *p)
{
	struct subject_supp *c = &s->ctx->supp;

	c->key.valid = false;
	c->n = 0;
	while (s->supp_step == SQLITE_ROW) {
		uint32_t v = 0;
		const uint8_t *k = row_key(s->supp, 3, &v);
		int cmp = k ? key_cmp(k, v, p->bytes, p->key_version) : -1;

		if (cmp > 0)
			break;
		if (cmp == 0) {
			struct supp_entry *e;
			if (c->n == c->cap) {
				c->cap = c->cap ? 2 * c->cap : 8;
				c->rows = cr_xrealloc(c->rows, c->cap * sizeof(*c->rows));
			}
			e = &c->rows[c->n++];
			consent_text_col(e->purpose, sizeof(e->purpose), s->supp, 0);
			consent_text_col(e->recipient, sizeof(e->recipient), s->supp, 1);
			e->since = sqlite3_column_int64(s->supp, 2);
		}
		s->supp_step = sqlite3_step(s->supp);
	}
	return s->supp_step == SQLITE_ROW || s->supp_step == SQLITE_DONE
		       ? CR_OK
		       : consent_sqlite_err(s->ctx->db, s->supp_step);
}

cr_err consent_scan_load(struct consent_scan *s, const struct crypto_pseudonym *p)
{
	struct consent_ctx *ctx;
	unsigned dv;
	int64_t tc;
	cr_err rc;

	if (s == NULL || p == NULL || p->bytes[0] < s->lo || p->bytes[0] >= s->hi ||
	    (s->any && memcmp(p->bytes, s->last, CRYPTO_PSEUDONYM_BYTES) < 0))
		return CR_ERR_INVALID_ARG; /* outside the range, or out of order */
	ctx = s->ctx;
	rc = scan_events(s, p);
	if (rc == CR_OK)
		rc = scan_supp(s, p);
	if (rc != CR_OK)
		return rc;
	memcpy(s->last, p->bytes, CRYPTO_PSEUDONYM_BYTES);
	s->any = true;
	/* Both caches now hold p as the database is: stamp them current. */
	consent_db_stamp(ctx, &dv, &tc);
	consent_key_set(&ctx->hist.key, s->brand, p, dv, tc);
	consent_key_set(&ctx->supp.key, s->brand, p, dv, tc);
	return CR_OK;
}
