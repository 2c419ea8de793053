/*
 * consent_fixture.h: what the consent/ unit tests share: an in-memory
 * database with the registry's schema, a context and a brand with notice
 * version 1 (the synth notice's purposes and recipient), helpers to build
 * and record events in a line each, pseudonyms made from a number (the
 * rules need no crypto), and a real keyring in a temporary folder for the
 * tests of the parsing layer.
 */
#ifndef CR_CONSENT_FIXTURE_H
#define CR_CONSENT_FIXTURE_H

#include <unistd.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sqlite3.h>

#include "test_util.h"
#include "consent/consent.h"

struct fx {
	sqlite3 *db;
	struct consent_ctx *ctx;
	int64_t brand;
	/* purge callback log */
	int purges;
	char last_purpose[CONSENT_CODE_MAX + 1];
	char last_recipient[CONSENT_CODE_MAX + 1];
	uint32_t last_kv;
	cr_err purge_rc;
	/* the registry's clock (consent_set_clock): the histories here are set
	 * in 2026-2027, so "now" is fixed later than all of them */
	cr_time_ms now;
	/* keyring, when fx_keys() made one */
	char tmp[64];
	struct crypto_keyring *kr;
};

/* A time that must parse. */
static inline cr_time_ms T(const char *s)
{
	cr_time_ms t = 0;
	assert_int_equal(cr_time_parse(s, strlen(s), &t), CR_OK);
	return t;
}

/* A pseudonym made from n (key version kv). */
static inline struct crypto_pseudonym P(unsigned n, uint32_t kv)
{
	struct crypto_pseudonym p;
	memset(&p, 0, sizeof(p));
	memcpy(p.bytes, &n, sizeof(n));
	p.bytes[31] = 0xa5;
	p.key_version = kv;
	return p;
}

/* The base notice (version 1, docs/spec/formats.md / synth): a JSON object to edit. */
static inline json_t *notice_base(int version, bool material)
{
	json_t *n = json_pack(
		"{s:i, s:s, s:b, s:{s:s, s:s},"
		" s:[{s:s, s:s, s:b}, {s:s, s:s, s:b}],"
		" s:[{s:s, s:s, s:s, s:s, s:s, s:[s, s]}],"
		" s:[s, s, s], s:[s, s, s, s], s:s, s:s, s:[s], s:s}",
		"version", version, "language", "zh-CN", "material", material,
		"controller", "name", "Example Brand Ltd.", "contact", "privacy@brand.example",
		"purposes", "code", "ads_measurement", "description", "measure ads", "sensitive", 0,
		"code", "audience_insights", "description", "audience insights", "sensitive", 0,
		"recipients", "id", "partner-1", "name", "Partner Media Co.", "contact",
		"dpo@partner.example", "country", "CN", "purpose", "audience_insights",
		"categories", "email_digest", "segment",
		"methods", "keyed hashing", "private set intersection", "aggregate statistics",
		"categories", "email", "phone", "segment", "region",
		"retention", "24 months", "rights", "contact privacy@brand.example",
		"jurisdictions", "CN", "text", "the full notice as shown to people");
	assert_non_null(n);
	return n;
}

/* Publishes n (stolen) at time `at`; returns the result code. */
static inline cr_err fx_publish_json(struct fx *f, json_t *n, cr_time_ms at, char *why,
				     size_t cap)
{
	char *text = json_dumps(n, JSON_INDENT(2));
	cr_err rc;
	assert_non_null(text);
	rc = consent_notice_publish(f->ctx, f->brand, text, strlen(text), at, NULL, why, cap);
	free(text);
	json_decref(n);
	return rc;
}

static inline cr_err fx_purge(void *user, int64_t brand, const struct crypto_pseudonym *p,
			      const char *purpose, const char *recipient)
{
	struct fx *f = user;
	(void)brand;
	f->purges++;
	f->last_kv = p->key_version;
	snprintf(f->last_purpose, sizeof(f->last_purpose), "%s", purpose ? purpose : "*");
	snprintf(f->last_recipient, sizeof(f->last_recipient), "%s", recipient ? recipient : "*");
	return f->purge_rc;
}

static inline cr_time_ms fx_clock(void *user)
{
	return ((struct fx *)user)->now;
}

/* Database, schema, context (its clock at 2030-01-01), brand "acme", notice v1 published 2026-01-01. */
static inline struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	char why[CONSENT_WHY_MAX];
	assert_non_null(f);
	assert_int_equal(sqlite3_open(":memory:", &f->db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(f->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(f->db, consent_schema_v1, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(f->db, consent_schema_v2, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(f->db, consent_schema_v3, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(f->db, consent_schema_v4, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(consent_ctx_new(f->db, &f->ctx), CR_OK);
	consent_set_purge_callback(f->ctx, fx_purge, f);
	f->now = T("2030-01-01T00:00:00Z");
	consent_set_clock(f->ctx, fx_clock, f, CONSENT_SKEW_DEFAULT_MS);
	assert_int_equal(consent_brand_create(f->ctx, "acme", T("2026-01-01T00:00:00Z"), &f->brand),
			 CR_OK);
	assert_int_equal(fx_publish_json(f, notice_base(1, true), T("2026-01-01T00:00:00Z"), why,
					 sizeof(why)),
			 CR_OK);
	return f;
}

static inline void fx_free(struct fx *f)
{
	char path[128];
	if (f == NULL)
		return;
	consent_ctx_free(f->ctx);
	sqlite3_close(f->db);
	crypto_keyring_free(f->kr);
	if (f->tmp[0]) {
		snprintf(path, sizeof(path), "%s/keys/master.key", f->tmp);
		unlink(path);
		snprintf(path, sizeof(path), "%s/keys/sign.key", f->tmp);
		unlink(path);
		snprintf(path, sizeof(path), "%s/keys", f->tmp);
		rmdir(path);
		rmdir(f->tmp);
	}
	free(f);
}

/* A real keyring in a fresh temporary folder. */
static inline void fx_keys(struct fx *f)
{
	char keys[128];
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/consent-test-XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	snprintf(keys, sizeof(keys), "%s/keys", f->tmp);
	assert_int_equal(crypto_keys_create(keys, "consent-test"), CR_OK);
	assert_int_equal(crypto_keyring_open(keys, &f->kr), CR_OK);
}

/* ---------------------------------------------------------------- events */

static inline struct consent_event ev_served(struct crypto_pseudonym p, uint32_t version,
					     cr_time_ms t)
{
	struct consent_event e;
	consent_event_init(&e, CONSENT_EV_SERVED);
	e.subject = p;
	e.notice_version = version;
	e.time = e.received = t;
	consent_event_source(&e, "web", "banner");
	return e;
}

static inline struct consent_event ev_answer(enum consent_event_type type,
					     struct crypto_pseudonym p, const char *purpose,
					     const char *recipient, uint32_t version, cr_time_ms t)
{
	struct consent_event e;
	consent_event_init(&e, type);
	e.subject = p;
	snprintf(e.purpose, sizeof(e.purpose), "%s", purpose);
	if (recipient)
		snprintf(e.recipient, sizeof(e.recipient), "%s", recipient);
	e.notice_version = version;
	e.time = e.received = t;
	e.actor = CONSENT_ACTOR_SUBJECT;
	snprintf(e.channel, sizeof(e.channel), "web");
	snprintf(e.method, sizeof(e.method), "checkbox");
	return e;
}

static inline struct consent_event ev_grant(struct crypto_pseudonym p, const char *purpose,
					    const char *recipient, uint32_t version, cr_time_ms t)
{
	return ev_answer(CONSENT_EV_GRANT, p, purpose, recipient, version, t);
}

static inline struct consent_event ev_withdraw(struct crypto_pseudonym p, const char *purpose,
					       const char *recipient, cr_time_ms received)
{
	struct consent_event e;
	consent_event_init(&e, CONSENT_EV_WITHDRAW);
	e.subject = p;
	if (purpose)
		snprintf(e.purpose, sizeof(e.purpose), "%s", purpose);
	if (recipient)
		snprintf(e.recipient, sizeof(e.recipient), "%s", recipient);
	e.time = e.received = received;
	consent_event_source(&e, "web", "button");
	return e;
}

/* The single integer `sql` answers on the fixture's database (-1 if no row). */
static inline int64_t fx_count(struct fx *f, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;
	assert_int_equal(sqlite3_prepare_v2(f->db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Records e and asserts success; returns the stored event id. */
static inline int64_t fx_rec(struct fx *f, struct consent_event e)
{
	struct consent_change ch;
	char why[CONSENT_WHY_MAX] = "";
	cr_err rc = consent_record(f->ctx, f->brand, &e, &ch, why, sizeof(why));
	if (rc != CR_OK)
		print_error("consent_record: %s: %s\n", cr_errname(rc), why);
	assert_int_equal(rc, CR_OK);
	return ch.event_id;
}

/* R16: records a verified link of guardian `ref` for child p (verified 2026-01-01). */
static inline void fx_link(struct fx *f, struct crypto_pseudonym p, const char *ref)
{
	struct consent_guardian_link l = { .child = p, .verified = T("2026-01-01T00:00:00Z") };
	char why[CONSENT_WHY_MAX] = "";
	snprintf(l.guardian_ref, sizeof(l.guardian_ref), "%s", ref);
	snprintf(l.verified_by, sizeof(l.verified_by), "id_document");
	assert_int_equal(consent_guardian_link_add(f->ctx, f->brand, &l, NULL, NULL, why, sizeof(why)), CR_OK);
}

/* Records and returns the code (for refusals). */
static inline cr_err fx_try(struct fx *f, struct consent_event e, char *why, size_t cap)
{
	return consent_record(f->ctx, f->brand, &e, NULL, why, cap);
}

/* served v1 at t, then a grant per purpose and the partner-1 sharing grant. */
static inline void fx_full_consent(struct fx *f, struct crypto_pseudonym p, cr_time_ms t)
{
	fx_rec(f, ev_served(p, 1, t));
	fx_rec(f, ev_grant(p, "ads_measurement", NULL, 1, t + 1000));
	fx_rec(f, ev_grant(p, "audience_insights", NULL, 1, t + 2000));
	fx_rec(f, ev_grant(p, "audience_insights", "partner-1", 1, t + 3000));
}

/* The decision, with its reason checked. */
static inline void expect(struct fx *f, struct crypto_pseudonym p, const char *purpose,
			  const char *recipient, cr_time_ms at, unsigned flags,
			  enum consent_reason want, const char *file, int line)
{
	struct consent_decision d;
	assert_int_equal(consent_valid_at(f->ctx, f->brand, &p, purpose, recipient, at, flags, &d),
			 CR_OK);
	if (d.reason != want)
		print_error("%s:%d: decision %s, want %s\n", file, line,
			    consent_reason_name(d.reason), consent_reason_name(want));
	assert_int_equal(d.reason, want);
	assert_int_equal(d.allowed, want == CONSENT_OK);
}

#define EXPECT(f, p, purpose, recipient, at, want) \
	expect((f), (p), (purpose), (recipient), (at), 0, (want), __FILE__, __LINE__)
#define EXPECT_FLAGS(f, p, purpose, recipient, at, flags, want) \
	expect((f), (p), (purpose), (recipient), (at), (flags), (want), __FILE__, __LINE__)

static inline int fx_setup(void **state)
{
	*state = fx_new();
	return 0;
}

static inline int fx_teardown(void **state)
{
	fx_free(*state);
	return 0;
}

#endif
