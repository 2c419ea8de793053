/*
 * catalog.c: a brand's notices as the rules read them, cached in the
 * context. Notice versions are immutable, so a catalog only goes stale when
 * a version is published or a setting changes; both bump the brand's
 * catalog_gen, and a cached catalog is revalidated with one indexed read of
 * that counter, and only when the database has changed at all since the
 * last check. Also here: which jurisdiction needs a guardian below which
 * age (R15).
 */
#include <stdlib.h>
#include <string.h>

#include "consent/consent_internal.h"

/* ----------------------------------------------------------- jurisdictions */

/* The 27 member states (ISO 3166 alpha-2, and "EL", the EU's code for Greece). */
static const char eu_states[][3] = {
	"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "EL", "HU",
	"IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
};

bool consent_jur_is_eu(const char *jur)
{
	if (strcmp(jur, "EU") == 0)
		return true;
	for (size_t i = 0; i < sizeof(eu_states) / sizeof(eu_states[0]); i++)
		if (strcmp(jur, eu_states[i]) == 0)
			return true;
	return false;
}

#define CN_CHILD_AGE 14      /* PIPL 28, 31: under 14 */
#define EU_CHILD_AGE 16      /* GDPR 8(1): 16 unless a member state lowers it */
#define STRICTEST_CHILD_AGE 16 /* the highest threshold any supported regime uses */

static int age_setting(const struct consent_catalog *c, const char *jur)
{
	for (size_t i = 0; i < c->nages; i++)
		if (strcmp(c->ages[i].jur, jur) == 0)
			return c->ages[i].age;
	return 0;
}

int catalog_child_age(const struct consent_catalog *c, const char *jur)
{
	int age;

	if (strcmp(jur, "CN") == 0)
		return CN_CHILD_AGE;
	if (!consent_jur_is_eu(jur))
		return STRICTEST_CHILD_AGE; /* unknown regime: the stricter rule (R15) */
	age = age_setting(c, jur);
	if (age == 0)
		age = age_setting(c, "EU");
	return age != 0 ? age : EU_CHILD_AGE;
}

/* ----------------------------------------------------------------- lookups */

const struct cat_version *catalog_version(const struct consent_catalog *c, uint32_t version)
{
	size_t lo = 0, hi = c->nversions;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->versions[mid].version == version)
			return &c->versions[mid];
		if (c->versions[mid].version < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct cat_version *catalog_latest(const struct consent_catalog *c)
{
	return c->nversions ? &c->versions[c->nversions - 1] : NULL;
}

const struct cat_version *catalog_current_at(const struct consent_catalog *c, cr_time_ms t)
{
	for (size_t i = c->nversions; i > 0; i--)
		if (c->versions[i - 1].published <= t)
			return &c->versions[i - 1];
	return NULL;
}

const struct cat_purpose *catalog_purpose(const struct cat_version *v, const char *code)
{
	for (size_t i = 0; i < v->npurposes; i++)
		if (strcmp(v->purposes[i].code, code) == 0)
			return &v->purposes[i];
	return NULL;
}

const struct cat_recipient *catalog_recipient(const struct cat_version *v, const char *id,
					      const char *purpose)
{
	for (size_t i = 0; i < v->nrecipients; i++)
		if (strcmp(v->recipients[i].id, id) == 0 &&
		    (purpose == NULL || strcmp(v->recipients[i].purpose, purpose) == 0))
			return &v->recipients[i];
	return NULL;
}

/* ------------------------------------------------------------------ loading */

static void slot_release(struct consent_catalog *c)
{
	for (size_t i = 0; i < c->nversions; i++) {
		free(c->versions[i].purposes);
		free(c->versions[i].recipients);
		free(c->versions[i].changes);
	}
	free(c->versions);
	memset(c, 0, sizeof(*c));
}

void consent_catalog_restamp(struct consent_ctx *ctx, int64_t brand)
{
	/* Outside a transaction another connection could commit between the
	 * check and our write; inside one, our snapshot is the one checked. */
	if (sqlite3_get_autocommit(ctx->db))
		return;
	for (size_t i = 0; i < CAT_CACHE; i++)
		if (ctx->cat[i].brand == brand && brand != 0)
			consent_db_stamp(ctx, &ctx->cat[i].stamp_dv, &ctx->cat[i].stamp_tc);
}

void consent_catalog_clear(struct consent_ctx *ctx)
{
	for (size_t i = 0; i < CAT_CACHE; i++)
		slot_release(&ctx->cat[i]);
}

static void col_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	consent_copy(dst, cap, s != NULL ? (const char *)s : "");
}

/* Splits "CN,EU" into v->jur (at most CAT_JUR_MAX, as stored by notice.c). */
static void parse_jurisdictions(struct cat_version *v, const char *list)
{
	v->njur = 0;
	for (const char *p = list; *p != '\0' && v->njur < CAT_JUR_MAX;) {
		if (p[0] != '\0' && p[1] != '\0') {
			v->jur[v->njur][0] = p[0];
			v->jur[v->njur][1] = p[1];
			v->jur[v->njur][2] = '\0';
			v->njur++;
		}
		p += strnlen(p, 2);
		if (*p == ',')
			p++;
	}
}

static cr_err load_brand(struct consent_ctx *ctx, struct consent_catalog *c, int64_t brand)
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_BRAND_GET);
	cr_err rc = CR_ERR_CONSENT_BRAND_NOT_FOUND;
	int s;

	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, brand);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		col_text(c->name, sizeof(c->name), st, 0);
		c->key_version = (uint32_t)sqlite3_column_int64(st, 1);
		c->gen = sqlite3_column_int64(st, 2);
		rc = CR_OK;
	} else if (s != SQLITE_DONE) {
		rc = consent_sqlite_err(ctx->db, s);
	}
	sqlite3_reset(st);
	return rc;
}

static cr_err load_versions(struct consent_ctx *ctx, struct consent_catalog *c)
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_CAT_NOTICES);
	size_t cap = 0;
	int s;

	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, c->brand);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct cat_version *v;
		const void *hash = sqlite3_column_blob(st, 3);
		char jur[CAT_JUR_MAX * 3 + 1];

		if (c->nversions == cap) {
			cap = cap ? 2 * cap : 4;
			c->versions = cr_xrealloc(c->versions, cap * sizeof(*c->versions));
		}
		v = &c->versions[c->nversions++];
		memset(v, 0, sizeof(*v));
		v->version = (uint32_t)sqlite3_column_int64(st, 0);
		v->published = sqlite3_column_int64(st, 1);
		v->material = sqlite3_column_int(st, 2) != 0;
		if (hash != NULL && sqlite3_column_bytes(st, 3) == CONSENT_HASH_BYTES)
			memcpy(v->hash, hash, CONSENT_HASH_BYTES);
		col_text(jur, sizeof(jur), st, 4);
		parse_jurisdictions(v, jur);
	}
	sqlite3_reset(st);
	return s == SQLITE_DONE ? CR_OK : consent_sqlite_err(ctx->db, s);
}

/* Appends one zeroed element to a version's array (grown one at a time:
 * notices hold a handful of purposes and recipients). */
static void *grow(void *arr, size_t *n, size_t size)
{
	char *p = cr_xrealloc(arr, (*n + 1) * size);

	memset(p + *n * size, 0, size);
	(*n)++;
	return p;
}

static cr_err load_purposes(struct consent_ctx *ctx, struct consent_catalog *c)
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_CAT_PURPOSES);
	int s;

	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, c->brand);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct cat_version *v =
			(struct cat_version *)catalog_version(c, (uint32_t)sqlite3_column_int64(st, 0));
		struct cat_purpose *p;

		if (v == NULL)
			continue;
		v->purposes = grow(v->purposes, &v->npurposes, sizeof(*p));
		p = &v->purposes[v->npurposes - 1];
		col_text(p->code, sizeof(p->code), st, 1);
		p->sensitive = sqlite3_column_int(st, 2) != 0;
		p->shares_data = sqlite3_column_int(st, 3) != 0;
		p->marketing = sqlite3_column_int(st, 4) != 0;
	}
	sqlite3_reset(st);
	return s == SQLITE_DONE ? CR_OK : consent_sqlite_err(ctx->db, s);
}

static cr_err load_recipients(struct consent_ctx *ctx, struct consent_catalog *c)
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_CAT_RECIPIENTS);
	int s;

	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, c->brand);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct cat_version *v =
			(struct cat_version *)catalog_version(c, (uint32_t)sqlite3_column_int64(st, 0));
		struct cat_recipient *r;

		if (v == NULL)
			continue;
		v->recipients = grow(v->recipients, &v->nrecipients, sizeof(*r));
		r = &v->recipients[v->nrecipients - 1];
		col_text(r->id, sizeof(r->id), st, 1);
		col_text(r->purpose, sizeof(r->purpose), st, 2);
	}
	sqlite3_reset(st);
	return s == SQLITE_DONE ? CR_OK : consent_sqlite_err(ctx->db, s);
}

static const struct {
	const char *name;
	enum cat_change_kind kind;
} change_kinds[] = {
	{ "all", CAT_CHANGE_ALL },
	{ "purpose", CAT_CHANGE_PURPOSE },
	{ "recipient", CAT_CHANGE_RECIPIENT },
};

static bool change_kind_parse(const char *s, enum cat_change_kind *out)
{
	for (size_t i = 0; i < sizeof(change_kinds) / sizeof(change_kinds[0]); i++) {
		if (strcmp(s, change_kinds[i].name) == 0) {
			*out = change_kinds[i].kind;
			return true;
		}
	}
	return false;
}

static cr_err load_changes(struct consent_ctx *ctx, struct consent_catalog *c)
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_CAT_CHANGES);
	int s;

	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, c->brand);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct cat_version *v =
			(struct cat_version *)catalog_version(c, (uint32_t)sqlite3_column_int64(st, 0));
		const unsigned char *kind = sqlite3_column_text(st, 1);
		enum cat_change_kind k;
		struct cat_change *ch;

		if (v == NULL || kind == NULL || !change_kind_parse((const char *)kind, &k))
			continue;
		v->changes = grow(v->changes, &v->nchanges, sizeof(*ch));
		ch = &v->changes[v->nchanges - 1];
		ch->kind = k;
		col_text(ch->code, sizeof(ch->code), st, 2);
	}
	sqlite3_reset(st);
	return s == SQLITE_DONE ? CR_OK : consent_sqlite_err(ctx->db, s);
}

static cr_err load_ages(struct consent_ctx *ctx, struct consent_catalog *c)
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_CAT_AGES);
	int s;

	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, c->brand);
	while ((s = sqlite3_step(st)) == SQLITE_ROW && c->nages < CAT_AGES_MAX) {
		col_text(c->ages[c->nages].jur, sizeof(c->ages[c->nages].jur), st, 0);
		c->ages[c->nages].age = sqlite3_column_int(st, 1);
		c->nages++;
	}
	sqlite3_reset(st);
	return (s == SQLITE_DONE || s == SQLITE_ROW) ? CR_OK : consent_sqlite_err(ctx->db, s);
}

/* (Re)loads slot c with brand's catalog; on failure the slot is left empty. */
static cr_err catalog_load(struct consent_ctx *ctx, struct consent_catalog *c, int64_t brand)
{
	cr_err rc;

	slot_release(c);
	c->brand = brand;
	rc = load_brand(ctx, c, brand);
	if (rc == CR_OK)
		rc = load_versions(ctx, c);
	if (rc == CR_OK)
		rc = load_purposes(ctx, c);
	if (rc == CR_OK)
		rc = load_recipients(ctx, c);
	if (rc == CR_OK)
		rc = load_changes(ctx, c);
	if (rc == CR_OK)
		rc = load_ages(ctx, c);
	if (rc != CR_OK) {
		slot_release(c);
		return rc;
	}
	consent_db_stamp(ctx, &c->stamp_dv, &c->stamp_tc);
	return CR_OK;
}

/* True if the cached slot still matches the database (reads catalog_gen
 * only when the database changed since the last check). */
static cr_err catalog_fresh(struct consent_ctx *ctx, struct consent_catalog *c, bool *fresh)
{
	sqlite3_stmt *st;
	unsigned dv;
	int64_t tc;
	int s;

	/* The data version moves only when this connection starts a read: with
	 * none open, another connection may have committed unseen, so read. In
	 * a read snapshot (consent_ctx_snapshot) one is open by definition, and
	 * equal stamps mean the catalog was read in this very snapshot. */
	consent_db_stamp(ctx, &dv, &tc);
	if (dv == c->stamp_dv && tc == c->stamp_tc &&
	    (ctx->snapshot || sqlite3_txn_state(ctx->db, "main") != SQLITE_TXN_NONE)) {
		*fresh = true;
		return CR_OK;
	}
	st = consent_stmt(ctx, ST_BRAND_GEN);
	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, c->brand);
	s = sqlite3_step(st);
	/* key_version too: a key rotation need not go through this folder */
	*fresh = s == SQLITE_ROW && sqlite3_column_int64(st, 0) == c->gen &&
		 sqlite3_column_int64(st, 1) == c->key_version;
	sqlite3_reset(st);
	consent_db_stamp(ctx, &dv, &tc); /* as of the read just made */
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		return consent_sqlite_err(ctx->db, s);
	if (*fresh) {
		c->stamp_dv = dv;
		c->stamp_tc = tc;
	}
	return CR_OK;
}

cr_err consent_catalog_get(struct consent_ctx *ctx, int64_t brand,
			   const struct consent_catalog **out)
{
	struct consent_catalog *slot = NULL, *victim = &ctx->cat[0];
	bool fresh = false;
	cr_err rc;

	for (size_t i = 0; i < CAT_CACHE; i++) {
		if (ctx->cat[i].brand == brand && brand != 0)
			slot = &ctx->cat[i];
		if (ctx->cat[i].used < victim->used)
			victim = &ctx->cat[i];
	}
	if (slot != NULL) {
		rc = catalog_fresh(ctx, slot, &fresh);
		if (rc != CR_OK)
			return rc;
	} else {
		slot = victim;
	}
	if (!fresh) {
		rc = catalog_load(ctx, slot, brand);
		if (rc != CR_OK)
			return rc;
	}
	slot->used = ++ctx->tick;
	*out = slot;
	return CR_OK;
}
