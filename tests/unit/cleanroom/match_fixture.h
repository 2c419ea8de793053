/*
 * match_fixture.h: a whole clean room for the match tests (test_collab.c,
 * test_psi.c, test_release.c): a data directory with a brand, the synth
 * notice, N synthetic customers' consent events imported, a dataset
 * ingested through the real consent gate, a collaboration with partner-1,
 * and a synthetic partner list with a known overlap. The budget is the
 * (dataset, partner) pair's, so mfx_collab gives each later collaboration
 * a dataset of its own (a copy of the records); mfx_collab_on shares one. Also the plain join
 * the tests compare the PSI against, a seeded noise source, and helpers to
 * read the audit log and the ledger.
 */
#ifndef CR_TEST_MATCH_FIXTURE_H
#define CR_TEST_MATCH_FIXTURE_H

#include <math.h>
#include <unistd.h>

#include <sodium.h>

#include "test_util.h"
#include "cleanroom/app.h"
#include "cleanroom/collab.h"
#include "cleanroom/ingest.h"
#include "cleanroom/registry.h"
#include "cleanroom/release.h"
#include "cleanroom/synth.h"

#define MFX_COLUMNS "segment:enum(a|b|c),region:enum(north|south|east|west|central)," \
		    "age_band:enum(18-24|25-34|35-44|45-54|55+),spend:int(0..10000)"

struct mfx {
	char dir[64];
	char data[96];
	char customers[128], consent[128], partner[128], notice[128];
	struct app *a;
	int64_t brand;
	struct dataset d;
	struct collab c;
	struct crypto_pool *pool;
	uint32_t n, m, overlap;
	uint64_t ingested;
	int ndatasets;         /* datasets made by mfx_fresh_dataset */
};

static const struct registry_actor mfx_actor = { "brand", "test" };

static inline void mfx_path(struct mfx *f, char *out, size_t cap, const char *leaf)
{
	snprintf(out, cap, "%s/%s", f->dir, leaf);
}

/* Writes the synth files for n customers and m partner rows (overlap of them customers). */
static inline void mfx_synth(struct mfx *f, uint64_t seed)
{
	struct synth_gen g;
	struct synth_counts counts;
	uint32_t *rows = calloc(f->m, sizeof(uint32_t));
	FILE *nf, *cf, *ef, *pf;
	memset(&counts, 0, sizeof(counts));
	synth_gen_init(&g, seed);
	nf = fopen(f->notice, "w");
	cf = fopen(f->customers, "w");
	ef = fopen(f->consent, "w");
	pf = fopen(f->partner, "w");
	assert_true(nf && cf && ef && pf);
	assert_int_equal(synth_notice_write(nf), CR_OK);
	assert_int_equal(synth_customers_write(&g, f->n, cf, ef, &counts, NULL, NULL), CR_OK);
	assert_int_equal(synth_partner_rows(&g, f->n, f->m, f->overlap, rows), CR_OK);
	assert_int_equal(synth_partner_write(&g, f->n, rows, f->m, pf, &counts, NULL, NULL), CR_OK);
	fclose(nf);
	fclose(cf);
	fclose(ef);
	fclose(pf);
	free(rows);
}

static inline void mfx_notice_and_consent(struct mfx *f)
{
	struct consent_importer *imp = NULL;
	struct consent_import_summary sum;
	size_t len = 0;
	char *notice = test_read_file(f->notice, &len), why[256] = "";
	FILE *in;
	cr_time_ms published = 0;
	assert_non_null(notice);
	assert_int_equal(cr_time_parse("2026-01-01T00:00:00+08:00", 25, &published), CR_OK);
	assert_int_equal(registry_brand_create(f->a, &mfx_actor, "acme", &f->brand), CR_OK);
	assert_int_equal(registry_notice_publish(f->a, &mfx_actor, f->brand, notice, len, published, NULL,
						 why, sizeof(why)), CR_OK);
	free(notice);
	in = fopen(f->consent, "r");
	assert_non_null(in);
	assert_int_equal(consent_importer_new(f->a->consent, f->a->keys, f->brand, NULL, &imp), CR_OK);
	assert_int_equal(app_begin(f->a), CR_OK);
	assert_int_equal(consent_import_stream(imp, in, cr_time_now(), NULL, &sum), CR_OK);
	assert_int_equal(app_commit(f->a), CR_OK);
	assert_int_equal(sum.refused, 0);
	consent_importer_free(imp);
	fclose(in);
}

static inline cr_err mfx_no_leaf(void *ctx, const struct ingest_batch *b)
{
	(void)ctx;
	(void)b;
	return CR_OK;
}

/* The PSI suite of the datasets the fixture makes: a test file that runs
 * its group once per suite sets it before each run. */
static enum crypto_psi_suite mfx_suite = CRYPTO_PSI_SUITE_DEFAULT;

static inline void mfx_dataset(struct mfx *f)
{
	struct registry_gate gs;
	struct ingest_gate gate;
	struct ingest_hooks hooks = { mfx_no_leaf, NULL, NULL, NULL };
	struct ingest_opts opts = { .at = cr_time_now() };
	struct ingest_report rep;
	char err[200] = "";
	FILE *in;
	memset(&f->d, 0, sizeof(f->d));
	f->d.brand_id = f->brand;
	snprintf(f->d.name, sizeof(f->d.name), "crm");
	f->d.id_type = CRYPTO_ID_EMAIL;
	f->d.suite = mfx_suite;
	snprintf(f->d.profile, sizeof(f->d.profile), "default");
	assert_int_equal(dataset_codes_parse("ads_measurement,audience_insights", false, f->d.purposes,
					     &f->d.npurposes), CR_OK);
	assert_int_equal(dataset_codes_parse("partner-1", true, f->d.recipients, &f->d.nrecipients), CR_OK);
	assert_int_equal(columns_parse(MFX_COLUMNS, &f->d.columns, NULL, 0), CR_OK);
	assert_int_equal(consent_brand_key_version(f->a->consent, f->brand, &f->d.key_version), CR_OK);
	f->d.created = cr_time_now();
	assert_int_equal(app_begin(f->a), CR_OK);
	assert_int_equal(dataset_insert(f->a->store, &f->d), CR_OK);
	assert_int_equal(app_commit(f->a), CR_OK);
	registry_ingest_gate(&gs, f->a, &gate);
	in = fopen(f->customers, "r");
	assert_non_null(in);
	assert_int_equal(ingest_run(f->a->store, f->a->keys, f->pool, &f->d, in, "customers.csv", &opts,
				    &gate, &hooks, &rep, err, sizeof(err)), CR_OK);
	fclose(in);
	f->ingested = rep.accepted;
	assert_true(rep.accepted > f->n / 2);
}

/*
 * A new dataset "crm-N" holding a copy of the current dataset's records,
 * which becomes f->d: the budget is kept per (dataset, partner), so a test
 * that needs a budget of its own needs a pair of its own.
 */
static inline void mfx_fresh_dataset(struct mfx *f)
{
	struct dataset d = f->d;
	sqlite3_stmt *st = NULL;
	snprintf(d.name, sizeof(d.name), "crm-%d", ++f->ndatasets);
	d.created = cr_time_now();
	assert_int_equal(app_begin(f->a), CR_OK);
	assert_int_equal(dataset_insert(f->a->store, &d), CR_OK);
	assert_int_equal(sqlite3_prepare_v2(f->a->store->db,
					    "INSERT INTO records(dataset_id, pseudonym, key_version, psi, attrs, ingested_ms)"
					    " SELECT ?1, pseudonym, key_version, psi, attrs, ingested_ms FROM records"
					    " WHERE dataset_id = ?2", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, d.id);
	sqlite3_bind_int64(st, 2, f->d.id);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(app_commit(f->a), CR_OK);
	f->d = d;
}

/*
 * A collaboration on the fixture's current dataset, with partner-1 (rule
 * given; numbers defaulted if 0, a budget of 0 being the pair's).
 */
static inline void mfx_collab_on(struct mfx *f, struct collab *c, const char *dims, const char *metrics,
				 uint32_t k, uint64_t eps, uint64_t budget, uint64_t min_set)
{
	char why[COLLAB_WHY_MAX] = "";
	memset(c, 0, sizeof(*c));
	snprintf(c->partner, sizeof(c->partner), "partner-1");
	assert_int_equal(collab_rule_parse(c, &f->d, dims, metrics, why, sizeof(why)), CR_OK);
	c->k = k ? k : COLLAB_K_DEFAULT;
	c->max_dims = COLLAB_MAX_DIMS_DEFAULT;
	c->epsilon_milli = eps ? eps : COLLAB_EPSILON_DEFAULT;
	c->budget_milli = budget;
	c->min_partner_set = min_set ? min_set : 10;
	c->max_partner_set = COLLAB_MAX_SET_DEFAULT;
	assert_int_equal(collab_create(f->a, &mfx_actor, "acme", &f->d, c, why, sizeof(why)), CR_OK);
}

/*
 * A collaboration with a budget of its own: after the fixture's first, on
 * a fresh dataset (mfx_fresh_dataset), which f->d then is.
 */
static inline void mfx_collab(struct mfx *f, struct collab *c, const char *dims, const char *metrics,
			      uint32_t k, uint64_t eps, uint64_t budget, uint64_t min_set)
{
	if (f->c.id != 0)
		mfx_fresh_dataset(f);
	mfx_collab_on(f, c, dims, metrics, k, eps, budget, min_set);
}

static inline void mfx_setup(struct mfx *f, uint32_t n, uint32_t m, uint32_t overlap, uint64_t seed)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/cr-match-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	mfx_path(f, f->data, sizeof(f->data), "data");
	mfx_path(f, f->customers, sizeof(f->customers), "customers.csv");
	mfx_path(f, f->consent, sizeof(f->consent), "consent.ndjson");
	mfx_path(f, f->partner, sizeof(f->partner), "partner.csv");
	mfx_path(f, f->notice, sizeof(f->notice), "notice.json");
	f->n = n;
	f->m = m;
	f->overlap = overlap;
	mfx_synth(f, seed);
	assert_int_equal(app_init_dir(f->data, "test.example/audit", &f->a), CR_OK);
	assert_int_equal(crypto_pool_create(2, &f->pool), CR_OK);
	mfx_notice_and_consent(f);
	mfx_dataset(f);
	mfx_collab(f, &f->c, "segment,region,age_band", "count,sum:spend", 0, 0, 0, 0);
}

static inline void mfx_teardown(struct mfx *f)
{
	char cmd[128];
	crypto_pool_free(f->pool);
	app_close(f->a);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
}

/* ------------------------------------------------------ the plain join */

/* Values of one record's query columns, by pseudonym; false if not stored. */
static inline bool mfx_record_values(struct mfx *f, const struct crypto_pseudonym *p,
				     const struct release_query *q, int64_t *vals)
{
	sqlite3_stmt *st = NULL;
	bool found = false;
	assert_int_equal(sqlite3_prepare_v2(f->a->store->db, "SELECT attrs FROM records WHERE dataset_id = ?1"
					    " AND pseudonym = ?2", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, f->d.id);
	sqlite3_bind_blob(st, 2, p->bytes, 32, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const uint8_t *attrs = sqlite3_column_blob(st, 0);
		size_t ncols = release_query_ncols(q);
		for (size_t i = 0; i < ncols; i++) {
			int col = i < q->ndims ? q->dims[i] : q->sums[i - q->ndims];
			uint64_t v = 0;
			for (int b = 0; b < 8; b++)
				v = (v << 8) | attrs[col * 8 + b];
			vals[i] = (int64_t)v;
		}
		found = true;
	}
	sqlite3_finalize(st);
	return found;
}

/* The partner list's emails, in file order (handed over; free each and the array). */
static inline char **mfx_partner_emails(struct mfx *f, size_t *n)
{
	FILE *in = fopen(f->partner, "r");
	char line[256], **out = calloc(f->m + 1, sizeof(char *));
	size_t k = 0;
	assert_non_null(in);
	assert_non_null(fgets(line, sizeof(line), in)); /* header */
	while (fgets(line, sizeof(line), in) && k < f->m) {
		line[strcspn(line, "\r\n")] = '\0';
		/* synth quotes nothing in the email column but may add spaces */
		out[k++] = strdup(line);
	}
	fclose(in);
	*n = k;
	return out;
}

static inline void mfx_free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/*
 * The plain join: every partner email -> digest -> the brand's pseudonym
 * -> the stored record -> the consent gate at `at`, aggregated into exact
 * cells by q. Returns the number of matched records.
 */
static inline size_t mfx_plain_join(struct mfx *f, const struct release_query *q, cr_time_ms at,
				    struct release_result *out)
{
	size_t n = 0, rows = 0, ncols = release_query_ncols(q);
	char **emails = mfx_partner_emails(f, &n);
	int64_t *vals = calloc((n + 1) * (ncols + 1), sizeof(int64_t));
	for (size_t i = 0; i < n; i++) {
		uint8_t digest[32];
		struct crypto_pseudonym p;
		enum ingest_verdict v = INGEST_DENY;
		char reason[40];
		if (crypto_id_digest(CRYPTO_ID_EMAIL, emails[i], strlen(emails[i]), NULL, digest) != CR_OK)
			continue;
		assert_int_equal(crypto_pseudonym(f->a->keys, f->brand, f->d.key_version, CRYPTO_ID_EMAIL, digest, &p),
				 CR_OK);
		if (!mfx_record_values(f, &p, q, vals + rows * ncols))
			continue;
		assert_int_equal(registry_record_allowed(f->a, &f->d, &p, at, &v, reason), CR_OK);
		if (v == INGEST_ALLOW)
			rows++;
	}
	memset(out, 0, sizeof(*out));
	assert_int_equal(release_aggregate(q, &f->d, vals, rows, out), CR_OK);
	free(vals);
	mfx_free_list(emails, n);
	return rows;
}

/* ----------------------------------------------------- seeded noise */

struct mfx_rng {
	uint8_t seed[randombytes_SEEDBYTES];
	uint64_t counter;
};

/* Each call's bytes come from the seed with the call's number in its last 8
 * bytes (tests set the first ones, so different seeds give different streams). */
static inline void mfx_rng_fill(void *ctx, uint8_t *buf, size_t len)
{
	struct mfx_rng *r = ctx;
	uint8_t s[randombytes_SEEDBYTES];
	memcpy(s, r->seed, sizeof(s));
	memcpy(s + sizeof(s) - sizeof(r->counter), &r->counter, sizeof(r->counter));
	r->counter++;
	randombytes_buf_deterministic(buf, len, s);
}

/* ------------------------------------------------- audit and ledger */

/* How many leaves of `type` the log holds for the brand. */
static inline size_t mfx_leaves(struct mfx *f, const char *type)
{
	struct audit_query q = { .tenant = "acme", .event_type = type, .limit = 1000 };
	struct audit_page page;
	size_t n;
	assert_int_equal(audit_log_query(f->a->log, &q, &page), CR_OK);
	n = page.n;
	audit_page_release(&page);
	return n;
}

/* The detail of the newest leaf of `type` (copied into buf). */
static inline void mfx_last_detail(struct mfx *f, const char *type, char *buf, size_t cap)
{
	struct audit_query q = { .tenant = "acme", .event_type = type, .limit = 1 };
	struct audit_page page;
	assert_int_equal(audit_log_query(f->a->log, &q, &page), CR_OK);
	assert_true(page.n == 1);
	snprintf(buf, cap, "%s", page.records[0].leaf->detail ? page.records[0].leaf->detail : "");
	audit_page_release(&page);
}

/* What c's (dataset, partner) pair has spent, every collaboration on it together. */
static inline uint64_t mfx_spent(struct mfx *f, const struct collab *c)
{
	struct collab_budget b;
	assert_int_equal(collab_budget_get(f->a->store, c->id, &b), CR_OK);
	return b.spent_milli;
}

/* What c's pair has left. */
static inline uint64_t mfx_left(struct mfx *f, const struct collab *c)
{
	struct collab_budget b;
	assert_int_equal(collab_budget_get(f->a->store, c->id, &b), CR_OK);
	return b.left_milli;
}

/*
 * The bound one noisy value stays within, so that a check over `checks`
 * values fails by chance with probability below 1e-9: for discrete Laplace
 * with scale t = den/num, P(|X| >= m) = 2 p^m / (1 + p) <= 2 e^(-m/t); so
 * m = ceil(t * ln(2 * checks * 1e9)).
 */
static inline int64_t mfx_noise_bound(uint64_t num, uint64_t den, size_t checks)
{
	double t = (double)den / (double)num, m = t * log(2.0 * (double)checks * 1e9);
	return (int64_t)m + 1;
}

#endif
