/*
 * registry_fixture.h: a real clean room for the tests of the consent gate,
 * the withdrawal purge, ingestion's audit leaves and the sweep
 * (test_registry.c, test_ops_ingest.c, test_sweep.c). Everything goes
 * through the code the CLI and the service run: a data directory made by
 * app_init_dir, brands and a notice published through the registry, consent
 * events parsed by the brand's importer and stored by registry_event (whose
 * withdrawals run the real purge), datasets made by ops_dataset_create and
 * lists ingested by ops_ingest (the real gate and the real audit leaves).
 * Subjects are made-up addresses at example.com.
 */
#ifndef CR_TEST_REGISTRY_FIXTURE_H
#define CR_TEST_REGISTRY_FIXTURE_H

#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "test_util.h"
#include "cleanroom/app.h"
#include "cleanroom/ops.h"
#include "cleanroom/pia.h"
#include "cleanroom/registry.h"
#include "cleanroom/sweep.h"

#define RFX_HOUR (3600 * 1000LL)
#define RFX_COLUMNS "segment:enum(a|b)"

/*
 * Two purposes; partner-1 and partner-2 are both declared for
 * audience_insights, so a sharing grant for one can be told apart from a
 * sharing grant for the other (R09).
 */
static const char rfx_notice[] =
	"{\"version\":1,\"language\":\"en\",\"material\":true,"
	"\"controller\":{\"name\":\"Example Brand Ltd.\",\"contact\":\"privacy@brand.example\"},"
	"\"purposes\":[{\"code\":\"ads_measurement\",\"description\":\"measure ads\",\"sensitive\":false},"
	"{\"code\":\"audience_insights\",\"description\":\"audience insights\",\"sensitive\":false}],"
	"\"recipients\":[{\"id\":\"partner-1\",\"name\":\"Partner Media Co.\",\"contact\":\"dpo@partner.example\","
	"\"country\":\"CN\",\"purpose\":\"audience_insights\",\"categories\":[\"email_digest\",\"segment\"]},"
	"{\"id\":\"partner-2\",\"name\":\"Other Media Co.\",\"contact\":\"dpo@other.example\","
	"\"country\":\"CN\",\"purpose\":\"audience_insights\",\"categories\":[\"email_digest\",\"segment\"]}],"
	"\"methods\":[\"keyed hashing\",\"private set intersection\",\"aggregate statistics\"],"
	"\"categories\":[\"email\",\"segment\"],\"retention\":\"24 months\","
	"\"rights\":\"write to privacy@brand.example\",\"jurisdictions\":[\"CN\"],"
	"\"text\":\"the full notice as shown to people\"}";

struct rfx {
	char dir[64];
	struct app *a;
	int64_t acme, other;
	cr_time_ms t0; /* when the fixture was made */
};

static const struct registry_actor rfx_actor = { "brand", "test" };

/* A data directory with brands "acme" and "other", each with the notice published a day ago. */
static inline struct rfx *rfx_new(void)
{
	struct rfx *f = calloc(1, sizeof(*f));
	char data[96], why[256] = "";
	assert_non_null(f);
	assert_true(sodium_init() >= 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/cr-registry-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(data, sizeof(data), "%s/data", f->dir);
	assert_int_equal(app_init_dir(data, "test.example/audit", &f->a), CR_OK);
	f->t0 = cr_time_now();
	assert_int_equal(registry_brand_create(f->a, &rfx_actor, "acme", &f->acme), CR_OK);
	assert_int_equal(registry_brand_create(f->a, &rfx_actor, "other", &f->other), CR_OK);
	assert_int_equal(registry_notice_publish(f->a, &rfx_actor, f->acme, rfx_notice, strlen(rfx_notice),
						 f->t0 - 24 * RFX_HOUR, NULL, why, sizeof(why)), CR_OK);
	assert_int_equal(registry_notice_publish(f->a, &rfx_actor, f->other, rfx_notice, strlen(rfx_notice),
						 f->t0 - 24 * RFX_HOUR, NULL, why, sizeof(why)), CR_OK);
	return f;
}

static inline void rfx_free(struct rfx *f)
{
	app_close(f->a);
	test_rm_rf(f->dir);
	free(f);
}

/* ------------------------------------------------------------ consent */

/*
 * One NDJSON event line of `brand`, parsed by the brand's importer and
 * stored by registry_event, as POST .../consents does; must succeed.
 * *change (may be NULL) gets what it changed.
 */
static inline void rfx_event(struct rfx *f, int64_t brand, const char *line, struct consent_change *change)
{
	struct consent_importer *imp = NULL;
	struct consent_event ev;
	struct consent_change ch;
	char why[CONSENT_WHY_MAX] = "";
	assert_int_equal(app_importer(f->a, brand, &imp), CR_OK);
	if (consent_event_parse(imp, line, strlen(line), cr_time_now(), &ev, why, sizeof(why)) != CR_OK)
		fail_msg("event refused: %s", why);
	consent_event_source(&ev, "api", "api"); /* as the API's single-event route */
	if (registry_event(f->a, &rfx_actor, brand, &ev, &ch, NULL, why, sizeof(why)) != CR_OK)
		fail_msg("event not stored: %s", why);
	if (change)
		*change = ch;
}

static inline void rfx_served(struct rfx *f, int64_t brand, const char *email, cr_time_ms t)
{
	char line[512], when[CR_TIME_STRLEN];
	assert_int_equal(cr_time_format(t, when), CR_OK);
	snprintf(line, sizeof(line),
		 "{\"type\":\"served\",\"subject\":\"%s\",\"id_type\":\"email\",\"notice_version\":1,"
		 "\"time\":\"%s\",\"channel\":\"web\"}", email, when);
	rfx_event(f, brand, line, NULL);
}

/* A grant of `purpose` (shared with `recipient` when not NULL) at t, expiring at `expires` (0: never). */
static inline void rfx_grant(struct rfx *f, int64_t brand, const char *email, const char *purpose,
			     const char *recipient, cr_time_ms t, cr_time_ms expires)
{
	char line[768], when[CR_TIME_STRLEN], until[CR_TIME_STRLEN], rec[96] = "", exp[64] = "";
	assert_int_equal(cr_time_format(t, when), CR_OK);
	if (recipient)
		snprintf(rec, sizeof(rec), "\"recipient\":\"%s\",", recipient);
	if (expires) {
		assert_int_equal(cr_time_format(expires, until), CR_OK);
		snprintf(exp, sizeof(exp), "\"expires\":\"%s\",", until);
	}
	snprintf(line, sizeof(line),
		 "{\"type\":\"grant\",\"subject\":\"%s\",\"id_type\":\"email\",\"purpose\":\"%s\",%s%s"
		 "\"notice_version\":1,\"time\":\"%s\",\"method\":\"checkbox\",\"channel\":\"web\","
		 "\"actor\":\"subject\"}", email, purpose, rec, exp, when);
	rfx_event(f, brand, line, NULL);
}

/* Served at t, then every scope of the notice granted a second later (expiring at `expires`, 0: never). */
static inline void rfx_grant_all(struct rfx *f, int64_t brand, const char *email, cr_time_ms t,
				 cr_time_ms expires)
{
	rfx_served(f, brand, email, t);
	rfx_grant(f, brand, email, "ads_measurement", NULL, t + 1000, expires);
	rfx_grant(f, brand, email, "audience_insights", NULL, t + 1000, expires);
	rfx_grant(f, brand, email, "audience_insights", "partner-1", t + 1000, expires);
	rfx_grant(f, brand, email, "audience_insights", "partner-2", t + 1000, expires);
}

/*
 * A withdrawal received now, of `purpose` and/or `recipient` (NULL: not
 * named); returns the records it purged (I3), and *change what it stored.
 */
static inline uint64_t rfx_withdraw(struct rfx *f, int64_t brand, const char *email, const char *purpose,
				    const char *recipient, struct consent_change *change)
{
	char line[512], when[CR_TIME_STRLEN], pur[96] = "", rec[96] = "";
	assert_int_equal(cr_time_format(cr_time_now(), when), CR_OK);
	if (purpose)
		snprintf(pur, sizeof(pur), "\"purpose\":\"%s\",", purpose);
	if (recipient)
		snprintf(rec, sizeof(rec), "\"recipient\":\"%s\",", recipient);
	snprintf(line, sizeof(line),
		 "{\"type\":\"withdraw\",\"subject\":\"%s\",\"id_type\":\"email\",%s%s\"time\":\"%s\","
		 "\"channel\":\"web\"}", email, pur, rec, when);
	rfx_event(f, brand, line, change);
	return f->a->purged_records;
}

/* A marketing objection (GPC) received now (R21). */
static inline void rfx_object(struct rfx *f, int64_t brand, const char *email)
{
	char line[512], when[CR_TIME_STRLEN];
	assert_int_equal(cr_time_format(cr_time_now(), when), CR_OK);
	snprintf(line, sizeof(line),
		 "{\"type\":\"object\",\"subject\":\"%s\",\"id_type\":\"email\",\"time\":\"%s\",\"signal\":\"gpc\"}",
		 email, when);
	rfx_event(f, brand, line, NULL);
}

/* The subject's pseudonym under the brand's current key. */
static inline struct crypto_pseudonym rfx_pseudonym(struct rfx *f, int64_t brand, const char *email)
{
	struct crypto_pseudonym p;
	assert_int_equal(registry_subject(f->a, brand, email, "email", &p, NULL, NULL), CR_OK);
	return p;
}

/* The pseudonym's erasable audit salt; false when it has none (never had one, or erased). */
static inline bool rfx_salt(struct rfx *f, const struct crypto_pseudonym *p, uint8_t salt[static 32])
{
	sqlite3_stmt *st = NULL;
	bool found = false;
	assert_int_equal(sqlite3_prepare_v2(f->a->store->db, "SELECT salt FROM audit_salts WHERE pseudonym = ?1",
					    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, p->bytes, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		assert_int_equal(sqlite3_column_bytes(st, 0), 32);
		memcpy(salt, sqlite3_column_blob(st, 0), 32);
		found = true;
	}
	sqlite3_finalize(st);
	return found;
}

/* -------------------------------------------------------------- datasets */

/* Records impact assessment `ref` of the brand covering `purposes` (R12, R28), as `cleanroom pia add` does. */
static inline void rfx_assess(struct rfx *f, int64_t brand, const char *brand_name, const char *ref,
			      const char *purposes)
{
	char why[256] = "";
	if (pia_add(f->a, &rfx_actor, brand, brand_name, ref, "pipia", purposes, false, cr_time_now(), why,
		    sizeof(why)) != CR_OK)
		fail_msg("assessment '%s' refused: %s", ref, why);
}

/* Dataset `name` of brand `brand_name` needing `purposes` and sharing with `recipients` (may be NULL),
 * after an impact assessment "pia-<name>" covering its purposes. */
static inline void rfx_dataset(struct rfx *f, int64_t brand, const char *brand_name, const char *name,
			       const char *purposes, const char *recipients, struct dataset *d)
{
	char why[OPS_WHY_MAX] = "";
	memset(d, 0, sizeof(*d));
	d->brand_id = brand;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->id_type = CRYPTO_ID_EMAIL;
	d->suite = CRYPTO_PSI_SUITE_DEFAULT;
	snprintf(d->profile, sizeof(d->profile), "default");
	assert_int_equal(dataset_codes_parse(purposes, false, d->purposes, &d->npurposes), CR_OK);
	assert_int_equal(dataset_codes_parse(recipients, true, d->recipients, &d->nrecipients), CR_OK);
	assert_int_equal(columns_parse(RFX_COLUMNS, &d->columns, NULL, 0), CR_OK);
	snprintf(why, sizeof(why), "pia-%s", name);
	rfx_assess(f, brand, brand_name, why, purposes);
	why[0] = '\0';
	if (ops_dataset_create(f->a, &rfx_actor, brand_name, d, why, sizeof(why)) != CR_OK)
		fail_msg("dataset '%s' refused: %s", name, why);
}

/* Ingests `csv` into d as `cleanroom ingest` does; returns its result. */
static inline cr_err rfx_ingest_progress(struct rfx *f, const char *brand_name, const struct dataset *d,
					 const char *csv, ops_progress_fn progress, void *ctx,
					 struct ingest_report *rep)
{
	FILE *in = fmemopen((void *)csv, strlen(csv), "r");
	char err[256] = "";
	cr_err rc;
	assert_non_null(in);
	rc = ops_ingest(f->a, &rfx_actor, brand_name, d, in, "list.csv", NULL, 1, progress, ctx, rep, err,
			sizeof(err));
	fclose(in);
	return rc;
}

static inline void rfx_ingest(struct rfx *f, const char *brand_name, const struct dataset *d, const char *csv,
			      struct ingest_report *rep)
{
	assert_int_equal(rfx_ingest_progress(f, brand_name, d, csv, NULL, NULL, rep), CR_OK);
}

static inline uint64_t rfx_count(struct rfx *f, const struct dataset *d)
{
	uint64_t n = 0;
	assert_int_equal(dataset_record_count(f->a->store, d->id, &n), CR_OK);
	return n;
}

/* Whether d holds the subject's record. */
static inline bool rfx_has(struct rfx *f, const struct dataset *d, const char *email)
{
	struct crypto_pseudonym p = rfx_pseudonym(f, d->brand_id, email);
	sqlite3_stmt *st = NULL;
	bool found;
	assert_int_equal(sqlite3_prepare_v2(f->a->store->db,
					    "SELECT 1 FROM records WHERE dataset_id = ?1 AND pseudonym = ?2",
					    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, d->id);
	sqlite3_bind_blob(st, 2, p.bytes, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* What the gate decides now for the subject's record in d (I2, I3). */
static inline enum ingest_verdict rfx_gate(struct rfx *f, const struct dataset *d, const char *email,
					   char reason[40])
{
	struct crypto_pseudonym p = rfx_pseudonym(f, d->brand_id, email);
	enum ingest_verdict v = INGEST_ALLOW;
	reason[0] = '\0';
	assert_int_equal(registry_record_allowed(f->a, d, &p, cr_time_now(), &v, reason), CR_OK);
	return v;
}

/* ----------------------------------------------------------------- audit */

static inline uint64_t rfx_log_size(struct rfx *f)
{
	uint64_t n = 0;
	assert_int_equal(audit_log_size(f->a->log, &n), CR_OK);
	return n;
}

/* The leaves of `type` for `tenant`, newest first (release with audit_page_release). */
static inline void rfx_leaves(struct rfx *f, const char *tenant, const char *type, struct audit_page *page)
{
	struct audit_query q = { .tenant = tenant, .event_type = type, .limit = 1000 };
	assert_int_equal(audit_log_query(f->a->log, &q, page), CR_OK);
}

static inline size_t rfx_leaf_count(struct rfx *f, const char *tenant, const char *type)
{
	struct audit_page page;
	size_t n;
	rfx_leaves(f, tenant, type, &page);
	n = page.n;
	audit_page_release(&page);
	return n;
}

#endif
