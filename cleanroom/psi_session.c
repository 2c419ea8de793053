/*
 * psi_session.c: the service's side of a match (see psi_session.h).
 *
 * Layout, bottom up: the session's buffers and how they are wiped (the
 * prefix set C is prefix_set.c); audit leaves; loading the eligible
 * records; then one function per round. Buffers that hold anything derived from the brand's records or
 * the session secrets are wiped with sodium_memzero before they are freed,
 * on every path, and as soon as the round that needed them is over.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cleanroom/app.h"
#include "cleanroom/prefix_set.h"
#include "cleanroom/psi_session.h"
#include "cleanroom/readers.h"
#include "cleanroom/registry.h"

#define C_CHUNK 65536   /* B elements multiplied per pool run while building C */

/* ------------------------------------------------------------- session */

struct psi_session {
	char id[PSI_SESSION_ID_HEX + 1];
	enum psi_state state;
	cr_time_ms created, expires;
	struct collab c;
	struct dataset d;
	struct release_query q;
	char brand[CONSENT_BRAND_NAME_MAX + 1];
	char actor_role[32];
	char actor_id[DATASET_CODE_MAX + 1];
	const struct crypto_rng *noise_rng; /* the caller's (tests), or &rng.rng */
	struct crypto_stream_rng rng;       /* π and the noise, one system draw */

	/* secrets and per-record state: wiped when the session ends */
	uint8_t *a;           /* sodium_malloc'd scalar */
	uint8_t pad_key[32];  /* each padding position's scalar and stand-in record (pad_draw) */
	int64_t *noise;       /* drawn at open: release_noise_count(&q) values */
	size_t n;             /* eligible records (0 once wiped) */
	size_t cap;           /* records the arrays below were sized for */
	uint64_t eligible;    /* the eligible count at open (kept) */
	uint8_t *pseudonyms;  /* n x 32 */
	uint8_t *elems;       /* n x 32: E_x, then a·E_x until A is built */
	int64_t *vals;        /* n x ncols: the query's columns of each record */
	size_t padded;        /* |A| */
	uint32_t *perm;       /* padded: A position -> record index (>= n: padding) */
	uint32_t *src;        /* padded: the record a position works on (its own, or padding's
				 stand-in), drawn once in round 4 and read again in round 6 */
	uint64_t nb;          /* |B| */
	struct prefix_set cset;

	/* what the re-check may rely on (section 9): the consent state before the
	 * load, and the first instant a loaded record's verdict could change */
	struct consent_mark mark;
	cr_time_ms stable_until;

	struct psi_work work;
	struct release_result result;
	bool busy;            /* acquired from a struct psi_sessions */
};

static bool live(const struct psi_session *s)
{
	return s->state >= PSI_OPEN && s->state <= PSI_A_PRIME_RECEIVED;
}

static void wipe_free(void *p, size_t len)
{
	if (p) {
		sodium_memzero(p, len);
		free(p);
	}
}

static void wipe_scalar(uint8_t **s)
{
	if (*s) {
		sodium_memzero(*s, CRYPTO_PSI_SCALAR_BYTES);
		sodium_free(*s);
		*s = NULL;
	}
}

/* Wipes and frees every secret and per-record buffer (the result stays). */
static void session_wipe(struct psi_session *s)
{
	size_t ncols = release_query_ncols(&s->q);
	wipe_scalar(&s->a);
	wipe_free(s->pseudonyms, s->cap * CRYPTO_PSEUDONYM_BYTES);
	wipe_free(s->elems, s->cap * CRYPTO_PSI_ELEMENT_BYTES);
	wipe_free(s->vals, s->cap * ncols * sizeof(int64_t));
	wipe_free(s->perm, s->padded * sizeof(uint32_t));
	wipe_free(s->src, s->padded * sizeof(uint32_t));
	wipe_free(s->noise, release_noise_count(&s->q) * sizeof(int64_t));
	s->pseudonyms = s->elems = NULL;
	s->vals = NULL;
	s->perm = NULL;
	s->src = NULL;
	s->noise = NULL;
	pset_wipe(&s->cset);
	sodium_memzero(s->pad_key, sizeof(s->pad_key));
	crypto_stream_rng_wipe(&s->rng);
	s->n = s->cap = 0;
}

void psi_session_free(struct psi_session *s)
{
	if (s == NULL)
		return;
	session_wipe(s);
	release_result_release(&s->result);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

size_t psi_session_held_bytes(const struct psi_session *s)
{
	size_t ncols = release_query_ncols(&s->q), total = 0;
	if (s->a)
		total += CRYPTO_PSI_SCALAR_BYTES;
	if (s->pseudonyms)
		total += s->cap * CRYPTO_PSEUDONYM_BYTES;
	if (s->elems)
		total += s->cap * CRYPTO_PSI_ELEMENT_BYTES;
	if (s->vals)
		total += s->cap * ncols * sizeof(int64_t);
	if (s->perm)
		total += s->padded * sizeof(uint32_t);
	if (s->src)
		total += s->padded * sizeof(uint32_t);
	if (s->noise)
		total += release_noise_count(&s->q) * sizeof(int64_t);
	if (s->cset.slots)
		total += s->cset.cap * PREFIX_BYTES;
	return total;
}

enum psi_state psi_session_state(const struct psi_session *s)
{
	return s->state;
}

const char *psi_session_id(const struct psi_session *s)
{
	return s->id;
}

int64_t psi_session_collab(const struct psi_session *s)
{
	return s->c.id;
}

const char *psi_session_partner(const struct psi_session *s)
{
	return s->c.partner;
}

const char *psi_session_actor(const struct psi_session *s)
{
	return s->actor_id;
}

cr_time_ms psi_session_expires(const struct psi_session *s)
{
	return s->expires;
}

const struct release_result *psi_session_result(const struct psi_session *s)
{
	return s->result.json ? &s->result : NULL;
}

const struct psi_work *psi_session_work(const struct psi_session *s)
{
	return &s->work;
}

uint64_t psi_session_eligible(const struct psi_session *s)
{
	return s->eligible;
}

static const char *const state_names[] = {
	[PSI_OPEN] = "open", [PSI_B_RECEIVED] = "b_received", [PSI_C_SET] = "c_set",
	[PSI_A_SENT] = "a_sent", [PSI_A_PRIME_RECEIVED] = "a_prime_received",
	[PSI_RELEASED] = "released", [PSI_REFUSED] = "refused", [PSI_EXPIRED] = "expired",
};

const char *psi_state_name(enum psi_state st)
{
	if ((size_t)st >= sizeof(state_names) / sizeof(state_names[0]) || state_names[st] == NULL)
		return "unknown";
	return state_names[st];
}

/* --------------------------------------------------------------- audit */

/* One leaf for this session, in its own transaction. */
static cr_err session_audit(struct psi_session *s, struct app *a, const char *type, const char *detail)
{
	char id[24];
	const char *recipients[1] = { s->c.partner };
	struct audit_entry e = { .event_type = type, .actor_role = s->actor_role,
				 .actor_id = s->actor_id, .tenant = s->brand, .dataset = s->d.name,
				 .collaboration = id, .session = s->id, .recipients = recipients,
				 .n_recipients = 1, .detail = detail };
	cr_err rc;
	struct psi_open_row row = { s->id, s->brand, s->d.name, s->c.partner, s->actor_role, s->actor_id, s->c.id };
	snprintf(id, sizeof(id), "%lld", (long long)s->c.id);
	app_store_lock(a);
	rc = app_begin(a);
	if (rc == CR_OK)
		rc = app_audit(a, &e, NULL);
	/* The session is open from its first leaf to its last (psi_recover.c). */
	if (rc == CR_OK)
		rc = strcmp(type, "match.session") == 0 ? psi_open_row_add(a->store, &row)
							: psi_open_row_end(a->store, s->id);
	rc = app_end(a, rc);
	app_store_unlock(a);
	return rc;
}

/* Ends a live session as refused: the leaf names the reason; then wipes. */
static cr_err refuse(struct psi_session *s, struct app *a, cr_err reason, const char *extra)
{
	char detail[RELEASE_QUERY_MAX + 256];
	cr_err rc;
	snprintf(detail, sizeof(detail), "reason=%s state=%s query=%s%s%s", cr_errname(reason),
		 psi_state_name(s->state), s->q.text, extra ? " " : "", extra ? extra : "");
	s->state = PSI_REFUSED;
	session_wipe(s);
	rc = session_audit(s, a, "match.refuse", detail);
	return rc == CR_OK ? reason : rc;
}

bool psi_session_expire(struct psi_session *s, struct app *a, cr_time_ms now)
{
	char detail[96];
	if (!live(s) || now < s->expires)
		return false;
	snprintf(detail, sizeof(detail), "state=%s", psi_state_name(s->state));
	s->state = PSI_EXPIRED;
	session_wipe(s);
	/* The session is gone either way; a failed leaf is the log's problem
	 * to report, not a reason to keep secrets alive. */
	(void)session_audit(s, a, "match.expire", detail);
	return true;
}

/* The common entry check of rounds 2-6. */
static cr_err enter(struct psi_session *s, struct app *a, cr_time_ms now, enum psi_state want)
{
	if (s->state == PSI_EXPIRED || psi_session_expire(s, a, now))
		return CR_ERR_PSI_SESSION_EXPIRED;
	return s->state == want ? CR_OK : CR_ERR_PSI_SESSION_STATE;
}

cr_err psi_session_abort(struct psi_session *s, struct app *a, cr_err reason)
{
	if (!live(s))
		return CR_OK;
	return refuse(s, a, reason, "by=partner") == reason ? CR_OK : CR_ERR_STORE;
}

/* -------------------------------------------------------- eligibility */

/*
 * Whether pseudonym p of s's dataset may be used at `at` (the gate, I2/I3).
 * `scan` reads the consent state of a range of subjects in one pass: the
 * caller asks for them in increasing order, and the gate then decides from
 * what the scan left in the reader's consent caches.
 */
static cr_err reader_allows(struct reader *r, struct consent_scan *scan, const struct psi_session *s,
			    const uint8_t *pseudonym, cr_time_ms at, bool *ok)
{
	struct crypto_pseudonym p;
	enum ingest_verdict v = INGEST_DENY;
	char reason[40];
	cr_err rc;
	memcpy(p.bytes, pseudonym, CRYPTO_PSEUDONYM_BYTES);
	p.key_version = s->d.key_version;
	rc = consent_scan_load(scan, &p);
	if (rc == CR_OK)
		rc = r->gate.decide(r->gate.ctx, &s->d, &p, at, &v, reason);
	r->checks++;
	sodium_memzero(&p, sizeof(p));
	*ok = rc == CR_OK && v == INGEST_ALLOW;
	return rc;
}

/* Lowers *until to the first instant the verdict just made on pseudonym p
 * could change with nothing written (consent_stable_until). */
static cr_err record_stable_until(struct reader *r, const struct psi_session *s, const uint8_t *pseudonym,
				  cr_time_ms at, cr_time_ms *until)
{
	struct crypto_pseudonym p;
	cr_time_ms t = 0;
	cr_err rc;
	memcpy(p.bytes, pseudonym, CRYPTO_PSEUDONYM_BYTES);
	p.key_version = s->d.key_version;
	rc = consent_stable_until(r->consent, s->d.brand_id, &p, at, &t);
	sodium_memzero(&p, sizeof(p));
	if (rc == CR_OK && t < *until)
		*until = t;
	return rc;
}

/* Reads column `col` of a record's attrs (big-endian int64 per column). */
static int64_t attr_at(const uint8_t *attrs, int col)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | attrs[(size_t)col * 8 + (size_t)i];
	return (int64_t)v;
}

#define SHARDS_MAX READERS_MAX

/*
 * The load's shards: records whose pseudonym's first byte is in [lo, hi).
 * Shard i is sized, read and gated on reader i (one connection, one
 * snapshot) by one worker, into its own part of the session's arrays, so
 * no stage of the load runs on one thread only.
 */
struct load_shard {
	size_t cap;               /* its record count (an upper bound of what it keeps) */
	size_t kept;
	uint8_t *pseudonyms;      /* cap x 32, in the session's array (borrowed) */
	uint8_t *elems;           /* cap x 32, likewise */
	int64_t *vals;            /* cap x ncols, likewise */
	cr_time_ms until;         /* the earliest stable_until of a kept record */
};

struct load_job {
	struct psi_session *s;
	struct readers *rs;
	cr_time_ms at;
	size_t nshards;
	struct load_shard sh[SHARDS_MAX];
};

static void shard_bounds(size_t i, size_t n, uint8_t *lo, uint8_t *hi, bool *last)
{
	*lo = (uint8_t)(i * 256 / n);
	*hi = (uint8_t)((i + 1) * 256 / n);
	*last = i + 1 == n;
}

static cr_err shard_stmt(struct store *st, const struct load_job *job, size_t i, bool count,
			 sqlite3_stmt **out)
{
	uint8_t lo, hi;
	bool last;
	/* in pseudonym order, as the shard's consent scan reads */
	const char *sql = count ? "SELECT count(*) FROM records WHERE dataset_id = ?1 AND pseudonym >= ?2"
				  " AND (?3 IS NULL OR pseudonym < ?3)"
				: "SELECT pseudonym, key_version, psi, attrs FROM records WHERE dataset_id = ?1"
				  " AND pseudonym >= ?2 AND (?3 IS NULL OR pseudonym < ?3)"
				  " ORDER BY dataset_id, pseudonym";
	if (sqlite3_prepare_v2(st->db, sql, -1, out, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	shard_bounds(i, job->nshards, &lo, &hi, &last);
	sqlite3_bind_int64(*out, 1, job->s->d.id);
	sqlite3_bind_blob(*out, 2, &lo, 1, SQLITE_TRANSIENT);
	if (last)
		sqlite3_bind_null(*out, 3);
	else
		sqlite3_bind_blob(*out, 3, &hi, 1, SQLITE_TRANSIENT);
	return CR_OK;
}

/* One stored record: kept by its shard if well-formed, of the dataset's key version, and allowed. */
static cr_err consider(struct load_job *job, struct reader *r, struct consent_scan *scan, sqlite3_stmt *st,
		       struct load_shard *sh)
{
	struct psi_session *s = job->s;
	size_t ncols = release_query_ncols(&s->q), i;
	const uint8_t *pb = sqlite3_column_blob(st, 0), *psi = sqlite3_column_blob(st, 2);
	const uint8_t *attrs = sqlite3_column_blob(st, 3);
	bool ok = false;
	cr_err rc;
	if (sqlite3_column_bytes(st, 0) != CRYPTO_PSEUDONYM_BYTES || sqlite3_column_bytes(st, 2) != 32 ||
	    sqlite3_column_bytes(st, 3) != (int)(s->d.columns.n * 8))
		return CR_ERR_STORE;
	if (sh->kept == sh->cap)
		return CR_ERR_STORE; /* more rows than the count in the same snapshot */
	if ((uint32_t)sqlite3_column_int64(st, 1) != s->d.key_version)
		return CR_OK; /* another key version's k: not this session's records */
	rc = reader_allows(r, scan, s, pb, job->at, &ok);
	if (rc != CR_OK || !ok)
		return rc;
	rc = record_stable_until(r, s, pb, job->at, &sh->until);
	if (rc != CR_OK)
		return rc;
	i = sh->kept++;
	memcpy(sh->pseudonyms + i * CRYPTO_PSEUDONYM_BYTES, pb, CRYPTO_PSEUDONYM_BYTES);
	memcpy(sh->elems + i * CRYPTO_PSI_ELEMENT_BYTES, psi, CRYPTO_PSI_ELEMENT_BYTES);
	for (size_t k = 0; k < s->q.ndims; k++)
		sh->vals[i * ncols + k] = attr_at(attrs, s->q.dims[k]);
	for (size_t k = 0; k < s->q.nsums; k++)
		sh->vals[i * ncols + s->q.ndims + k] = attr_at(attrs, s->q.sums[k]);
	return CR_OK;
}

/* Sizes shard i on its reader's connection: the snapshot it is then read in. */
static cr_err size_shards(void *ctx, size_t begin, size_t end)
{
	struct load_job *job = ctx;
	cr_err rc = CR_OK;
	for (size_t i = begin; i < end && rc == CR_OK; i++) {
		struct load_shard *sh = &job->sh[i];
		sqlite3_stmt *st = NULL;
		rc = shard_stmt(job->rs->r[i].store, job, i, true, &st);
		if (rc == CR_OK && sqlite3_step(st) != SQLITE_ROW)
			rc = CR_ERR_STORE;
		if (rc == CR_OK)
			sh->cap = (size_t)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (rc == CR_OK && sh->cap > UINT32_MAX / 2)
			rc = CR_ERR_TOO_LARGE;
	}
	return rc;
}

/* A pool worker: shards [begin, end), shard i on reader i, into its part of the session's arrays. */
static cr_err load_shards(void *ctx, size_t begin, size_t end)
{
	struct load_job *job = ctx;
	cr_err rc = CR_OK;
	for (size_t i = begin; i < end && rc == CR_OK; i++) {
		struct reader *r = &job->rs->r[i];
		sqlite3_stmt *st = NULL;
		struct consent_scan *scan = NULL;
		int step = SQLITE_DONE;
		uint8_t lo, hi;
		bool last;
		shard_bounds(i, job->nshards, &lo, &hi, &last);
		rc = consent_scan_open(r->consent, job->s->d.brand_id, lo, last ? 256 : hi, &scan);
		if (rc == CR_OK)
			rc = shard_stmt(r->store, job, i, false, &st);
		while (rc == CR_OK && (step = sqlite3_step(st)) == SQLITE_ROW)
			rc = consider(job, r, scan, st, &job->sh[i]);
		if (rc == CR_OK)
			rc = store_err(step);
		sqlite3_finalize(st);
		consent_scan_close(scan);
	}
	return rc;
}

/*
 * The session's arrays, sized for every shard's count, each shard given
 * its part in order. Allocated once, here, and filled by the workers:
 * gathering shards' own arrays into new ones after took about 0.15 s on
 * one thread at a million records, mostly first touches of the new pages.
 */
static void shards_place(struct psi_session *s, struct load_job *job)
{
	size_t ncols = release_query_ncols(&s->q), total = 0, at = 0;
	for (size_t i = 0; i < job->nshards; i++)
		total += job->sh[i].cap;
	s->cap = total;
	s->n = 0;
	s->pseudonyms = cr_xmalloc(total ? total * CRYPTO_PSEUDONYM_BYTES : 1);
	s->elems = cr_xmalloc(total ? total * CRYPTO_PSI_ELEMENT_BYTES : 1);
	s->vals = cr_xmalloc(total && ncols ? total * ncols * sizeof(int64_t) : 1);
	for (size_t i = 0; i < job->nshards; i++) {
		struct load_shard *sh = &job->sh[i];
		sh->pseudonyms = s->pseudonyms + at * CRYPTO_PSEUDONYM_BYTES;
		sh->elems = s->elems + at * CRYPTO_PSI_ELEMENT_BYTES;
		sh->vals = s->vals + at * ncols;
		at += sh->cap;
	}
}

/* Moves each shard's kept records down to follow the previous shard's, and wipes what is left past them. */
static void shards_compact(struct psi_session *s, struct load_job *job)
{
	size_t ncols = release_query_ncols(&s->q), w = 0;
	for (size_t i = 0; i < job->nshards; i++) {
		const struct load_shard *sh = &job->sh[i];
		memmove(s->pseudonyms + w * CRYPTO_PSEUDONYM_BYTES, sh->pseudonyms, sh->kept * CRYPTO_PSEUDONYM_BYTES);
		memmove(s->elems + w * CRYPTO_PSI_ELEMENT_BYTES, sh->elems, sh->kept * CRYPTO_PSI_ELEMENT_BYTES);
		memmove(s->vals + w * ncols, sh->vals, sh->kept * ncols * sizeof(int64_t));
		w += sh->kept;
	}
	sodium_memzero(s->pseudonyms + w * CRYPTO_PSEUDONYM_BYTES, (s->cap - w) * CRYPTO_PSEUDONYM_BYTES);
	sodium_memzero(s->elems + w * CRYPTO_PSI_ELEMENT_BYTES, (s->cap - w) * CRYPTO_PSI_ELEMENT_BYTES);
	sodium_memzero(s->vals + w * ncols, (s->cap - w) * ncols * sizeof(int64_t));
	s->n = w;
}

/* Loads the records whose consent is valid at `at`, sharded over the pool. */
static cr_err load_eligible(struct psi_session *s, struct app *a, struct crypto_pool *pool, cr_time_ms at)
{
	struct readers rs;
	struct load_job job = { .s = s, .rs = &rs, .at = at };
	cr_err rc;
	/* before the readers' snapshots: a write after it moves the mark */
	app_store_lock(a);
	rc = consent_mark_get(a->consent, s->d.brand_id, &s->mark);
	app_store_unlock(a);
	if (rc != CR_OK)
		return rc;
	rc = readers_open(&rs, a, pool);
	job.nshards = rs.n;
	for (size_t i = 0; i < SHARDS_MAX; i++)
		job.sh[i].until = INT64_MAX;
	if (rc == CR_OK)
		rc = crypto_pool_run(pool, job.nshards, size_shards, &job);
	if (rc == CR_OK) {
		shards_place(s, &job);
		rc = crypto_pool_run(pool, job.nshards, load_shards, &job);
	}
	if (rc == CR_OK) {
		shards_compact(s, &job);
		s->stable_until = INT64_MAX;
		for (size_t i = 0; i < job.nshards; i++)
			if (job.sh[i].until < s->stable_until)
				s->stable_until = job.sh[i].until;
	}
	readers_close(&rs);
	return rc;
}

/* ---------------------------------------------------------------- open */

/*
 * |A|: the collaboration's pad_to P while n <= P, else P doubled until it
 * holds n, so the partner learns from |A| only whether n outgrew P, and
 * by how many doublings; never n itself (docs/spec/psi-protocol.md,
 * section 7).
 */
static size_t padded_size(size_t n, uint64_t pad_to)
{
	size_t p = pad_to < COLLAB_PAD_MIN ? COLLAB_PAD_MIN : (size_t)pad_to;
	while (p < n)
		p *= 2;
	return p;
}

/* π: a uniformly random permutation (Fisher-Yates with unbiased draws). */
static void draw_permutation(struct psi_session *s)
{
	s->perm = cr_xmalloc(s->padded * sizeof(uint32_t));
	for (size_t i = 0; i < s->padded; i++)
		s->perm[i] = (uint32_t)i;
	for (size_t i = s->padded; i > 1; i--) {
		size_t j = (size_t)crypto_random_uniform(&s->rng.rng, i);
		uint32_t t = s->perm[i - 1];
		s->perm[i - 1] = s->perm[j];
		s->perm[j] = t;
	}
}

static cr_err session_init(struct psi_session *s, struct app *a, const struct psi_open_request *req,
			   const struct psi_session_opts *o)
{
	uint8_t raw[PSI_SESSION_ID_BYTES];
	cr_err rc;
	randombytes_buf(raw, sizeof(raw));
	if (cr_hex_encode(raw, sizeof(raw), s->id, sizeof(s->id)) != CR_OK)
		return CR_ERR_INTERNAL;
	s->created = o && o->now ? o->now : cr_time_now();
	s->expires = s->created + (o && o->ttl_ms > 0 ? o->ttl_ms : PSI_SESSION_TTL_MS);
	crypto_stream_rng_init(&s->rng);
	s->noise_rng = o && o->noise_rng ? o->noise_rng : &s->rng.rng;
	app_store_lock(a);
	rc = collab_get(a->store, req->collab_id, &s->c);
	if (rc == CR_OK)
		rc = dataset_get_by_id(a->store, s->c.dataset_id, &s->d);
	if (rc == CR_OK)
		rc = consent_brand_name(a->consent, s->c.brand_id, s->brand);
	app_store_unlock(a);
	snprintf(s->actor_role, sizeof(s->actor_role), "%s", o && o->actor_role ? o->actor_role : "partner");
	snprintf(s->actor_id, sizeof(s->actor_id), "%s", o && o->actor_id ? o->actor_id : s->c.partner);
	return rc;
}

/* Refusals before anything is read from the brand's records. */
static cr_err admission(struct psi_session *s, struct app *a, const struct psi_open_request *req,
			char *why, size_t why_cap)
{
	char left_s[COLLAB_MILLI_STRLEN], eps_s[COLLAB_MILLI_STRLEN], budget_s[COLLAB_MILLI_STRLEN], extra[96];
	struct collab_budget b;
	uint64_t left = 0;
	cr_err rc = release_query_parse(&s->c, &s->d, req->group_by, req->metrics[0] ? req->metrics : NULL,
					&s->q, why, why_cap);
	if (rc != CR_OK)
		return refuse(s, a, rc, NULL);
	if (!dataset_has_recipient(&s->d, s->c.partner))
		return refuse(s, a, CR_ERR_COLLAB_PARTNER, NULL);
	app_store_lock(a);
	rc = collab_budget_get(a->store, s->c.id, &b);
	app_store_unlock(a);
	if (rc != CR_OK)
		return rc;
	left = b.left_milli;
	if (s->c.epsilon_milli > left) {
		collab_milli_format(left, left_s);
		collab_milli_format(s->c.epsilon_milli, eps_s);
		collab_milli_format(b.budget_milli, budget_s);
		if (why && why_cap)
			snprintf(why, why_cap, "budget left %s of %s, the query needs %s", left_s, budget_s, eps_s);
		snprintf(extra, sizeof(extra), "charged=0 budget_left=%s", left_s);
		return refuse(s, a, CR_ERR_BUDGET_EXHAUSTED, extra);
	}
	return CR_OK;
}

static void fill_offer(const struct psi_session *s, struct psi_session_offer *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->session, sizeof(o->session), "%s", s->id);
	snprintf(o->suite, sizeof(o->suite), "%s", crypto_psi_suite_name(s->d.suite));
	o->id_type = s->d.id_type;
	o->elements = s->padded;
	o->min_set = s->c.min_partner_set;
	o->max_set = s->c.max_partner_set;
	o->expires = s->expires;
}

cr_err psi_session_open(struct app *a, struct crypto_pool *pool, const struct psi_open_request *req,
			const struct psi_session_opts *opts, struct psi_session **out,
			struct psi_session_offer *offer, char *why, size_t why_cap)
{
	struct psi_session *s = cr_xcalloc(1, sizeof(*s));
	char detail[RELEASE_QUERY_MAX + 128];
	cr_err rc;
	s->state = PSI_OPEN;
	rc = session_init(s, a, req, opts);
	if (rc == CR_OK)
		rc = admission(s, a, req, why, why_cap);
	if (rc == CR_OK)
		rc = load_eligible(s, a, pool, s->created);
	if (rc != CR_OK)
		goto out;
	s->eligible = s->n;
	s->padded = padded_size(s->n, s->c.pad_to);
	draw_permutation(s);
	s->a = sodium_malloc(CRYPTO_PSI_SCALAR_BYTES);
	if (s->a == NULL)
		cr_die("sodium_malloc");
	crypto_psi_scalar_random(s->a);
	randombytes_buf(s->pad_key, sizeof(s->pad_key));
	/* Every cell's noise now, so that sampling (whose time grows with the
	 * noise drawn) is not part of the answer's time. */
	s->noise = cr_xmalloc(release_noise_count(&s->q) * sizeof(int64_t) + 1);
	rc = release_noise_draw(&s->q, &s->c, &s->d, s->noise_rng, s->noise);
	if (rc != CR_OK)
		goto out;
	snprintf(detail, sizeof(detail), "query=%s elements=%zu", s->q.text, s->padded);
	rc = session_audit(s, a, "match.session", detail);
out:
	if (rc != CR_OK) {
		psi_session_free(s);
		return rc;
	}
	fill_offer(s, offer);
	*out = s;
	return CR_OK;
}

/* ------------------------------------------------------------ rounds 2-4 */

/* C = (a·k)·B as prefixes, chunk by chunk; refuses bad and duplicate elements. */
static cr_err build_c(struct psi_session *s, struct app *a, struct crypto_pool *pool,
		      const uint8_t *b, char *extra, size_t extra_cap)
{
	uint8_t k[CRYPTO_PSI_SCALAR_BYTES];
	uint8_t *ak = sodium_malloc(CRYPTO_PSI_SCALAR_BYTES);
	uint8_t *chunk = cr_xmalloc((s->nb < C_CHUNK ? s->nb : C_CHUNK) * CRYPTO_PSI_ELEMENT_BYTES + 1);
	size_t bad = 0;
	cr_err rc;
	if (ak == NULL)
		cr_die("sodium_malloc");
	rc = crypto_psi_brand_scalar(a->keys, s->c.brand_id, s->d.key_version, k);
	if (rc == CR_OK)
		crypto_psi_scalar_mul(s->a, k, ak);
	sodium_memzero(k, sizeof(k));
	pset_init(&s->cset, s->nb);
	for (size_t off = 0; off < s->nb && rc == CR_OK; off += C_CHUNK) {
		size_t m = s->nb - off < C_CHUNK ? s->nb - off : C_CHUNK;
		rc = crypto_psi_mul_batch(pool, s->d.suite, ak, b + off * 32, chunk, m, &bad);
		if (rc != CR_OK) {
			snprintf(extra, extra_cap, "element=%zu", off + bad);
			break;
		}
		size_t dup = pset_add_many(&s->cset, chunk, 32, m);
		if (dup < m) {
			rc = CR_ERR_PSI_DUPLICATE;
			snprintf(extra, extra_cap, "element=%zu", off + dup);
		}
	}
	sodium_memzero(chunk, (s->nb < C_CHUNK ? s->nb : C_CHUNK) * CRYPTO_PSI_ELEMENT_BYTES);
	free(chunk);
	sodium_memzero(ak, CRYPTO_PSI_SCALAR_BYTES);
	sodium_free(ak);
	return rc;
}

/*
 * What padding position i stands in for: a scalar t and a record j < n
 * whose work it repeats, read from ChaCha20's keystream under the
 * session's secret padding key (a pseudorandom function of i): block 2i,
 * reduced mod L, is t (never zero), and the first eight bytes of block
 * 2i + 1, mod n, are j. Every position of A computes both, so a padding
 * position costs what a real one does, in round 4 (one multiplication)
 * and in round 6 (one gate check, one aggregated row).
 */
static void pad_draw(const struct psi_session *s, size_t i, uint8_t t[static 32], size_t *j)
{
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = { 0 };
	uint8_t ks[128];
	uint64_t v = 0;
	_Static_assert(sizeof(s->pad_key) == crypto_stream_chacha20_KEYBYTES, "the padding key is ChaCha20's");
	memset(ks, 0, sizeof(ks));
	crypto_stream_chacha20_xor_ic(ks, ks, sizeof(ks), nonce, 2 * (uint64_t)i, s->pad_key);
	crypto_core_ristretto255_scalar_reduce(t, ks);
	if (sodium_is_zero(t, 32))
		t[0] = 1; /* probability 2^-252 */
	for (int b = 0; b < 8; b++)
		v |= (uint64_t)ks[64 + b] << (8 * b);
	*j = s->n ? (size_t)(v % s->n) : 0;
	sodium_memzero(ks, sizeof(ks));
}

/* The record position i works on: its own, or padding's stand-in. */
static size_t position_record(const struct psi_session *s, size_t i, uint8_t t[static 32], bool *real)
{
	size_t j;
	pad_draw(s, i, t, &j);
	*real = s->perm[i] < s->n;
	return *real ? s->perm[i] : j;
}

struct a_job {
	struct psi_session *s;
	uint8_t *out;
	uint8_t base[CRYPTO_PSI_ELEMENT_BYTES];  /* the generator: padding's base when n = 0 */
};

/* Positions of A multiplied in one call: the x25519 suite's lanes. */
#define A_GROUP 8

/*
 * A_i = a·E_x for a real position, (a·t)·E_j for padding: a uniformly
 * random element (t is secret and uniform), for one multiplication, the
 * same cost as a real one. Positions go A_GROUP at a time, each with its
 * own scalar and element, so that real and padding positions share the
 * same (eight-lane) multiplication.
 */
static cr_err a_range(void *ctx, size_t begin, size_t end)
{
	struct a_job *job = ctx;
	struct psi_session *s = job->s;
	uint8_t t[32], one[32] = { 1 };
	uint8_t sc[A_GROUP * CRYPTO_PSI_SCALAR_BYTES], in[A_GROUP * CRYPTO_PSI_ELEMENT_BYTES];
	uint64_t done = 0;
	cr_err rc = CR_OK;
	for (size_t i = begin; i < end && rc == CR_OK; i += A_GROUP) {
		size_t m = end - i < A_GROUP ? end - i : A_GROUP;
		for (size_t l = 0; l < m; l++) {
			bool real;
			size_t j = position_record(s, i + l, t, &real);
			s->src[i + l] = (uint32_t)j;
			crypto_psi_scalar_mul(s->a, real ? one : t, sc + l * CRYPTO_PSI_SCALAR_BYTES);
			memcpy(in + l * CRYPTO_PSI_ELEMENT_BYTES,
			       s->n ? s->elems + j * CRYPTO_PSI_ELEMENT_BYTES : job->base,
			       CRYPTO_PSI_ELEMENT_BYTES);
		}
		rc = crypto_psi_mul_pairs(s->d.suite, sc, in, job->out + i * CRYPTO_PSI_ELEMENT_BYTES, m, NULL);
		done += m;
	}
	__atomic_fetch_add(&s->work.a_mults, done, __ATOMIC_RELAXED);
	sodium_memzero(t, sizeof(t));
	sodium_memzero(sc, sizeof(sc));
	sodium_memzero(in, sizeof(in));
	return rc;
}

/* A: a·E_x placed by π, random elements of the same cost in the padding; a is wiped after. */
static cr_err build_a(struct psi_session *s, struct crypto_pool *pool, struct psi_elements *out)
{
	struct a_job job = { .s = s, .out = cr_xmalloc(s->padded * CRYPTO_PSI_ELEMENT_BYTES) };
	cr_err rc;
	s->src = cr_xcalloc(s->padded ? s->padded : 1, sizeof(uint32_t));
	crypto_psi_generator(s->d.suite, job.base);
	rc = crypto_pool_run(pool, s->padded, a_range, &job);
	wipe_scalar(&s->a);
	wipe_free(s->elems, s->cap * CRYPTO_PSI_ELEMENT_BYTES);
	s->elems = NULL;
	if (rc != CR_OK) {
		free(job.out);
		return CR_ERR_INTERNAL; /* a stored element that does not decode */
	}
	out->bytes = job.out;
	out->count = s->padded;
	return CR_OK;
}

cr_err psi_session_blinded(struct psi_session *s, struct app *a, struct crypto_pool *pool,
			   const uint8_t *b, size_t len, uint64_t announced, cr_time_ms now,
			   struct psi_elements *a_out)
{
	char extra[64] = "";
	cr_err rc = enter(s, a, now, PSI_OPEN);
	if (rc != CR_OK)
		return rc;
	s->state = PSI_B_RECEIVED;
	if (announced > SIZE_MAX / CRYPTO_PSI_ELEMENT_BYTES || len != announced * CRYPTO_PSI_ELEMENT_BYTES)
		return refuse(s, a, CR_ERR_PSI_COUNT, NULL);
	snprintf(extra, sizeof(extra), "partner_set=%llu", (unsigned long long)announced);
	if (announced < s->c.min_partner_set)
		return refuse(s, a, CR_ERR_PSI_SET_TOO_SMALL, extra);
	if (announced > s->c.max_partner_set)
		return refuse(s, a, CR_ERR_PSI_SET_TOO_LARGE, extra);
	s->nb = announced;
	rc = build_c(s, a, pool, b, extra, sizeof(extra));
	if (rc != CR_OK)
		return refuse(s, a, rc, extra);
	s->state = PSI_C_SET;
	rc = build_a(s, pool, a_out);
	if (rc != CR_OK)
		return refuse(s, a, rc, NULL);
	s->state = PSI_A_SENT;
	return CR_OK;
}

/* ------------------------------------------------------------ rounds 5-6 */

/*
 * Refuses an A' with a repeated element (CR_ERR_PSI_DUPLICATE, position in
 * extra). An honest A' = b·A holds distinct elements; a forged one that
 * repeats an element could count one partner item against many records.
 * The check looks at A' alone, so its outcome says nothing about the
 * brand's data; with A' distinct, each element of C matches at most one
 * record and the count never exceeds |B|.
 */
static cr_err distinct_answer(const struct psi_session *s, const uint8_t *a_prime, char *extra,
			      size_t extra_cap)
{
	struct prefix_set seen;
	cr_err rc = CR_OK;
	size_t dup;
	pset_init(&seen, s->padded);
	dup = pset_add_many(&seen, a_prime, CRYPTO_PSI_ELEMENT_BYTES, s->padded);
	if (dup < s->padded) {
		snprintf(extra, extra_cap, "element=%zu", dup);
		rc = CR_ERR_PSI_DUPLICATE;
	}
	pset_wipe(&seen);
	return rc;
}

/*
 * Round 6's per-position state. Every position of A does the same work,
 * real or padding, matched or not: one look-up in C, one gate check (on
 * its record, or padding's stand-in), one row in the aggregation. So the
 * answer's time depends on |A| only, never on how many records matched
 * nor on n.
 */
struct answer {
	uint8_t *hit;   /* |A|: 1 if a real position's A'_i is in C */
	uint8_t *in;    /* |A|: 1 if it also passed the gate (and is still stored) */
	uint32_t *src;  /* |A|: the record the position works on */
	size_t count;   /* matched real positions, before the re-check */
};

/* Looks every position of A' up in C; wipes C afterwards. */
static void match(struct psi_session *s, const uint8_t *a_prime, struct answer *x)
{
	size_t count = 0;
	pset_has_many(&s->cset, a_prime, CRYPTO_PSI_ELEMENT_BYTES, s->padded, x->hit);
	for (size_t i = 0; i < s->padded; i++) {
		uint8_t real = s->perm[i] < s->n;
		x->hit[i] &= real;
		count += x->hit[i];
	}
	s->work.lookups = s->cset.lookups;
	pset_wipe(&s->cset);
	x->count = count;
}

/*
 * A mark of the database's state as the caller's connection sees it: PRAGMA
 * data_version changes when another connection commits, the total change
 * count when this one writes. Equal marks mean nothing was written between.
 */
struct write_mark {
	int64_t data_version, total_changes;
};

static cr_err write_mark(struct store *st, struct write_mark *out)
{
	sqlite3_stmt *q = NULL;
	cr_err rc = CR_ERR_STORE;
	if (sqlite3_prepare_v2(st->db, "PRAGMA data_version", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW) {
		out->data_version = sqlite3_column_int64(q, 0);
		out->total_changes = (int64_t)sqlite3_total_changes64(st->db);
		rc = CR_OK;
	}
	sqlite3_finalize(q);
	return rc;
}

struct recheck_job {
	struct psi_session *s;
	struct readers *rs;
	struct answer *x;
	cr_time_ms at;
	uint8_t *ok;    /* n: 1 if record j still passes the gate */
};

/*
 * A pool worker: records [begin, end), each one gate check on its own
 * connection, in pseudonym order (the load kept them so) under one consent
 * scan. Every loaded record is checked, matched or not.
 */
static cr_err recheck_records(void *ctx, size_t begin, size_t end)
{
	struct recheck_job *job = ctx;
	struct psi_session *s = job->s;
	struct reader *r = readers_take(job->rs);
	struct consent_scan *scan = NULL;
	const uint8_t *first = s->pseudonyms + begin * CRYPTO_PSEUDONYM_BYTES;
	const uint8_t *lastp = s->pseudonyms + (end - 1) * CRYPTO_PSEUDONYM_BYTES;
	cr_err rc = consent_scan_open(r->consent, s->d.brand_id, first[0], (unsigned)lastp[0] + 1, &scan);
	for (size_t j = begin; j < end && rc == CR_OK; j++) {
		bool ok = false;
		rc = reader_allows(r, scan, s, s->pseudonyms + j * CRYPTO_PSEUDONYM_BYTES, job->at, &ok);
		job->ok[j] = ok;
	}
	consent_scan_close(scan);
	readers_put(job->rs, r);
	return rc;
}

/* A pool worker: positions [begin, end) of A, each one look-up of its
 * record's verdict (the record round 4 drew for it). */
static cr_err recheck_positions(void *ctx, size_t begin, size_t end)
{
	struct recheck_job *job = ctx;
	struct psi_session *s = job->s;
	for (size_t i = begin; i < end; i++) {
		size_t j = s->src[i];
		job->x->src[i] = (uint32_t)j;
		job->x->in[i] = job->x->hit[i] & (s->n ? job->ok[j] : 0);
	}
	__atomic_fetch_add(&s->work.verdicts, (uint64_t)(end - begin), __ATOMIC_RELAXED);
	return CR_OK;
}

/*
 * The re-check (section 9): every loaded record through the gate again at
 * `at`, then every position of A takes its record's verdict, so the work
 * depends on n and |A| only, never on which positions matched.
 */
/* The gate on every loaded record again, on the pool, each range on its own reader. */
static cr_err recheck_all(struct psi_session *s, struct app *a, struct crypto_pool *pool,
			  struct recheck_job *job)
{
	struct readers rs;
	cr_err rc = readers_open(&rs, a, pool);
	job->rs = &rs;
	if (rc == CR_OK)
		rc = crypto_pool_run(pool, s->n, recheck_records, job);
	for (size_t i = 0; i < rs.n; i++)
		s->work.gate_checks += rs.r[i].checks;
	readers_close(&rs);
	job->rs = NULL;
	s->work.rechecked = s->n;
	return rc;
}

static cr_err recheck(struct psi_session *s, struct app *a, struct crypto_pool *pool, struct answer *x,
		      cr_time_ms at, struct write_mark *version)
{
	struct recheck_job job = { s, NULL, x, at, cr_xcalloc(s->n ? s->n : 1, 1) };
	struct consent_mark now_mark;
	cr_err rc;
	app_store_lock(a);
	rc = write_mark(a->store, version);
	if (rc == CR_OK)
		rc = consent_mark_get(a->consent, s->d.brand_id, &now_mark);
	app_store_unlock(a);
	/* Nothing a verdict reads was written since the load, and no verdict
	 * can have changed with time alone (the load was at s->created; a clock
	 * set back before it counts as a change): every loaded record still passes. */
	if (rc == CR_OK && consent_mark_equal(&now_mark, &s->mark) && at >= s->created && at < s->stable_until)
		memset(job.ok, 1, s->n);
	else if (rc == CR_OK)
		rc = recheck_all(s, a, pool, &job);
	if (rc == CR_OK)
		rc = crypto_pool_run(pool, s->padded, recheck_positions, &job);
	wipe_free(s->perm, s->padded * sizeof(uint32_t));
	s->perm = NULL;
	wipe_free(job.ok, s->n ? s->n : 1);
	return rc;
}

/* What release_run_rows asks for inside its transaction. */
struct rows_ctx {
	struct psi_session *s;
	struct answer *x;
	struct write_mark version;  /* before the re-check */
	int64_t *rows;              /* |A| rows: each position's record's values */
};

/* Whether the record with pseudonym p is still stored (a withdrawal purges it, I3). */
static cr_err still_stored(sqlite3_stmt *st, const struct psi_session *s, const uint8_t *p, bool *yes)
{
	int step;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, s->d.id);
	sqlite3_bind_blob(st, 2, p, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
	step = sqlite3_step(st);
	*yes = step == SQLITE_ROW;
	return step == SQLITE_ROW || step == SQLITE_DONE ? CR_OK : store_err(step);
}

/*
 * Inside the release's write transaction, where no withdrawal can commit:
 * if anything was written since the re-check began, every position looks
 * its record up again and a matched one whose row a withdrawal purged
 * meanwhile drops out; then every position's row is laid out, with the
 * mask saying which count.
 */
static cr_err rows_in_txn(void *ctx, struct app *a, const int64_t **rows, const uint8_t **mask, size_t *n)
{
	struct rows_ctx *x = ctx;
	struct psi_session *s = x->s;
	size_t ncols = release_query_ncols(&s->q);
	sqlite3_stmt *st = NULL;
	struct write_mark now_mark = { 0, 0 };
	uint8_t none[CRYPTO_PSEUDONYM_BYTES] = { 0 };
	cr_err rc = write_mark(a->store, &now_mark);
	bool check = now_mark.data_version != x->version.data_version ||
		     now_mark.total_changes != x->version.total_changes;
	if (rc == CR_OK && check &&
	    sqlite3_prepare_v2(a->store->db, "SELECT 1 FROM records WHERE dataset_id = ?1 AND pseudonym = ?2",
			       -1, &st, NULL) != SQLITE_OK)
		rc = CR_ERR_STORE;
	for (size_t i = 0; i < s->padded && rc == CR_OK; i++) {
		size_t j = x->x->src[i];
		bool stored = true;
		if (check)
			rc = still_stored(st, s, s->n ? s->pseudonyms + j * CRYPTO_PSEUDONYM_BYTES : none, &stored);
		x->x->in[i] &= (uint8_t)stored;
		if (s->n)
			memcpy(x->rows + i * ncols, s->vals + j * ncols, ncols * sizeof(int64_t));
	}
	sqlite3_finalize(st);
	*rows = x->rows;
	*mask = x->x->in;
	*n = s->padded;
	return rc;
}

static cr_err release(struct psi_session *s, struct app *a, struct answer *ans, struct write_mark version,
		      char **release_json)
{
	size_t ncols = release_query_ncols(&s->q), bytes = s->padded * ncols * sizeof(int64_t);
	struct rows_ctx x = { s, ans, version, cr_xcalloc(bytes ? bytes : 1, 1) };
	struct release_ctx rc_ctx = { s->brand, s->id, s->actor_role, s->actor_id, s->noise_rng, s->noise };
	cr_err rc;
	app_store_lock(a);
	rc = release_run_rows(a, &rc_ctx, &s->c, &s->d, &s->q, rows_in_txn, &x, &s->result);
	app_store_unlock(a);
	s->work.rows = s->result.rows_seen;
	wipe_free(x.rows, bytes ? bytes : 1);
	if (rc == CR_OK || rc == CR_ERR_BUDGET_EXHAUSTED) {
		s->state = rc == CR_OK && s->result.outcome == CR_OK ? PSI_RELEASED : PSI_REFUSED;
		*release_json = cr_xstrdup(s->result.json);
	}
	return rc;
}

static void answer_free(struct answer *x, size_t padded)
{
	wipe_free(x->hit, padded ? padded : 1);
	wipe_free(x->in, padded ? padded : 1);
	wipe_free(x->src, (padded ? padded : 1) * sizeof(uint32_t));
}

cr_err psi_session_answer(struct psi_session *s, struct app *a, struct crypto_pool *pool,
			  const uint8_t *a_prime, size_t len, uint64_t announced, cr_time_ms now,
			  char **release_json)
{
	struct answer x = { 0 };
	char extra[64] = "";
	size_t padded;
	struct write_mark version = { 0, 0 };
	cr_err rc = enter(s, a, now, PSI_A_SENT);
	*release_json = NULL;
	if (rc != CR_OK)
		return rc;
	s->state = PSI_A_PRIME_RECEIVED;
	if (announced != s->padded || len != s->padded * CRYPTO_PSI_ELEMENT_BYTES)
		return refuse(s, a, CR_ERR_PSI_ANSWER_LENGTH, NULL);
	rc = distinct_answer(s, a_prime, extra, sizeof(extra));
	if (rc != CR_OK)
		return refuse(s, a, rc, extra);
	padded = s->padded;
	x.hit = cr_xcalloc(padded ? padded : 1, 1);
	x.in = cr_xcalloc(padded ? padded : 1, 1);
	x.src = cr_xcalloc(padded ? padded : 1, sizeof(uint32_t));
	match(s, a_prime, &x);
	if (x.count > s->n || x.count > s->nb) {
		rc = refuse(s, a, CR_ERR_PSI_INTERSECTION, NULL);
		goto out;
	}
	rc = recheck(s, a, pool, &x, now, &version);
	if (rc == CR_OK)
		rc = release(s, a, &x, version, release_json);
	if (rc != CR_OK && rc != CR_ERR_BUDGET_EXHAUSTED && live(s))
		rc = refuse(s, a, rc, NULL);
	session_wipe(s);
out:
	answer_free(&x, padded);
	return rc;
}

/* -------------------------------------------------------- session table */

struct psi_sessions {
	pthread_mutex_t lock;
	size_t n, cap;
	struct psi_session **s;
	size_t n_held, cap_held;
	const struct psi_slot **held;    /* opens under way (their callers' slots) */
};

struct psi_sessions *psi_sessions_new(void)
{
	struct psi_sessions *t = cr_xcalloc(1, sizeof(*t));
	if (pthread_mutex_init(&t->lock, NULL) != 0)
		cr_die("pthread_mutex_init");
	return t;
}

void psi_sessions_free(struct psi_sessions *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		psi_session_free(t->s[i]);
	free(t->s);
	free(t->held);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Counts what `slot` would share a cap with: live sessions and other held slots. Lock held. */
static void count_locked(const struct psi_sessions *t, const struct psi_slot *slot, size_t *server,
			 size_t *collab, size_t *partner)
{
	*server = *collab = *partner = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct psi_session *s = t->s[i];
		if (!live(s))
			continue;
		(*server)++;
		*collab += s->c.id == slot->collab;
		*partner += strcmp(s->c.partner, slot->partner) == 0;
	}
	for (size_t i = 0; i < t->n_held; i++) {
		(*server)++;
		*collab += t->held[i]->collab == slot->collab;
		*partner += strcmp(t->held[i]->partner, slot->partner) == 0;
	}
}

cr_err psi_sessions_hold(struct psi_sessions *t, const struct psi_session_caps *caps, int64_t collab,
			 const char *partner, struct psi_slot *slot)
{
	size_t server, per_collab, per_partner;
	cr_err rc = CR_OK;
	memset(slot, 0, sizeof(*slot));
	slot->collab = collab;
	if (strlen(partner) >= sizeof(slot->partner))
		return CR_ERR_INVALID_ARG;
	memcpy(slot->partner, partner, strlen(partner) + 1);
	pthread_mutex_lock(&t->lock);
	count_locked(t, slot, &server, &per_collab, &per_partner);
	if (server >= caps->server || per_collab >= caps->per_collab || per_partner >= caps->per_partner) {
		rc = CR_ERR_PSI_SESSIONS_FULL;
	} else {
		if (t->n_held == t->cap_held) {
			t->cap_held = t->cap_held ? t->cap_held * 2 : 8;
			t->held = cr_xrealloc(t->held, t->cap_held * sizeof(*t->held));
		}
		t->held[t->n_held++] = slot;
		slot->held = true;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* Drops `slot` from the held list. Lock held. */
static void unhold_locked(struct psi_sessions *t, struct psi_slot *slot)
{
	for (size_t i = 0; i < t->n_held; i++)
		if (t->held[i] == slot) {
			t->held[i] = t->held[--t->n_held];
			break;
		}
	slot->held = false;
}

void psi_sessions_unhold(struct psi_sessions *t, struct psi_slot *slot)
{
	if (!slot->held)
		return;
	pthread_mutex_lock(&t->lock);
	unhold_locked(t, slot);
	pthread_mutex_unlock(&t->lock);
}

void psi_sessions_add_held(struct psi_sessions *t, struct psi_slot *slot, struct psi_session *s)
{
	pthread_mutex_lock(&t->lock);
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->s = cr_xrealloc(t->s, t->cap * sizeof(*t->s));
	}
	t->s[t->n++] = s; /* in the same critical section: the slot never counts twice or not at all */
	if (slot->held)
		unhold_locked(t, slot);
	pthread_mutex_unlock(&t->lock);
}

/* Index of session `id`, or t->n. Caller holds the lock. */
static size_t find_locked(const struct psi_sessions *t, const char *id)
{
	size_t i = 0;
	for (; i < t->n; i++)
		if (sodium_memcmp(t->s[i]->id, id, PSI_SESSION_ID_HEX) == 0)
			break;
	return i;
}

struct psi_session *psi_sessions_acquire(struct psi_sessions *t, const char *id)
{
	struct psi_session *s = NULL;
	size_t i;
	if (strlen(id) != PSI_SESSION_ID_HEX)
		return NULL;
	pthread_mutex_lock(&t->lock);
	i = find_locked(t, id);
	if (i < t->n && !t->s[i]->busy) {
		s = t->s[i];
		s->busy = true;
	}
	pthread_mutex_unlock(&t->lock);
	return s;
}

void psi_session_token_actor(int64_t token_id, char *buf, size_t cap)
{
	snprintf(buf, cap, "token:%lld", (long long)token_id);
}

bool psi_sessions_owned(struct psi_sessions *t, const char *id, const char *actor)
{
	bool owned = false;
	size_t i;
	if (strlen(id) != PSI_SESSION_ID_HEX)
		return false;
	pthread_mutex_lock(&t->lock);
	i = find_locked(t, id);
	owned = i < t->n && strcmp(psi_session_actor(t->s[i]), actor) == 0;
	pthread_mutex_unlock(&t->lock);
	return owned;
}

void psi_sessions_release(struct psi_sessions *t, struct psi_session *s)
{
	pthread_mutex_lock(&t->lock);
	s->busy = false;
	pthread_mutex_unlock(&t->lock);
}

void psi_sessions_remove(struct psi_sessions *t, const char *id)
{
	struct psi_session *s = NULL;
	size_t i;
	if (strlen(id) != PSI_SESSION_ID_HEX)
		return;
	pthread_mutex_lock(&t->lock);
	i = find_locked(t, id);
	if (i < t->n && !t->s[i]->busy) {
		s = t->s[i];
		t->s[i] = t->s[--t->n];
	}
	pthread_mutex_unlock(&t->lock);
	psi_session_free(s);
}

size_t psi_sessions_sweep(struct psi_sessions *t, struct app *a, cr_time_ms now)
{
	size_t freed = 0;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n;) {
		struct psi_session *s = t->s[i];
		if (s->busy) {
			i++;
			continue;
		}
		psi_session_expire(s, a, now);
		if (!live(s) && now >= s->expires) {
			t->s[i] = t->s[--t->n];
			psi_session_free(s);
			freed++;
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return freed;
}
