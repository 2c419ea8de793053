/* Unit tests for cleanroom/app.c's importer cache (app_importer): a brand's
 * importer is reused, a key-version change is seen at once, more brands
 * than slots evict without mixing keys up, and every cached importer gives
 * the same pseudonyms as a freshly built one. And for group commit
 * (cleanroom/group.c): a member's event and its audit leaf are invisible to
 * other connections until the group commits, then durable together under
 * one checkpoint (I5); a failed member leaves nothing and does not harm the
 * others; a member that leaves its savepoint open is flagged and undone; a full group commits at once; a member is woken exactly once.
 * And I5 for every verb: each appends exactly its leaf, a refusal none.
 * Subjects are made up. */
#include <stdatomic.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "test_util.h"
#include "cleanroom/app.h"
#include "cleanroom/auth.h"
#include "cleanroom/collab.h"
#include "cleanroom/ops.h"
#include "cleanroom/pia.h"
#include "cleanroom/registry.h"
#include "cleanroom/synth.h"

#define BRANDS (APP_IMPORTERS + 3)

struct fx {
	char dir[64];
	struct app *a;
	int64_t brand[BRANDS];
	char subject[65]; /* a made-up SHA-256 digest in hex */
	pthread_mutex_t lock;
};

static int fx_setup(void **state)
{
	static const struct registry_actor admin = { "admin", "test" };
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t d[32];
	char data[96], name[24];
	assert_non_null(f);
	assert_true(sodium_init() >= 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/cr-app-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(data, sizeof(data), "%s/data", f->dir);
	assert_int_equal(app_init_dir(data, "test.example/audit", &f->a), CR_OK);
	for (int i = 0; i < BRANDS; i++) {
		snprintf(name, sizeof(name), "brand%d", i);
		assert_int_equal(registry_brand_create(f->a, &admin, name, &f->brand[i]), CR_OK);
	}
	randombytes_buf(d, sizeof(d));
	sodium_bin2hex(f->subject, sizeof(f->subject), d, sizeof(d));
	*state = f;
	return 0;
}

static int fx_teardown(void **state);

/* As the server runs: a recursive store lock, the first brand's notice published. */
static int fx_group_setup(void **state)
{
	static const struct registry_actor who = { "brand", "test" };
	pthread_mutexattr_t at;
	struct fx *f;
	char *buf = NULL, why[256] = "";
	size_t len = 0;
	FILE *m;
	fx_setup(state);
	f = *state;
	pthread_mutexattr_init(&at);
	pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&f->lock, &at);
	pthread_mutexattr_destroy(&at);
	f->a->store_mutex = &f->lock;
	m = open_memstream(&buf, &len);
	assert_non_null(m);
	assert_int_equal(synth_notice_write(m), CR_OK);
	fclose(m);
	assert_int_equal(registry_notice_publish(f->a, &who, f->brand[0], buf, len,
						 cr_time_now() - 3600 * 1000, NULL, why, sizeof(why)), CR_OK);
	free(buf);
	return 0;
}

static int fx_group_teardown(void **state)
{
	struct fx *f = *state;
	app_group_stop(f->a);
	f->a->store_mutex = NULL;
	pthread_mutex_destroy(&f->lock);
	return fx_teardown(state);
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	app_close(f->a);
	test_rm_rf(f->dir);
	free(f);
	return 0;
}

/* The subject's pseudonym under a brand's importer freshly built, as the reference. */
static void fresh_pseudonym(struct fx *f, int64_t brand, struct crypto_pseudonym *out, size_t *n_alias)
{
	struct consent_importer *imp = NULL;
	struct crypto_pseudonym al[CONSENT_KEY_VERSIONS_MAX];
	assert_int_equal(consent_importer_new(f->a->consent, f->a->keys, brand, NULL, &imp), CR_OK);
	assert_int_equal(consent_importer_subject(imp, f->subject, 64, "email", out, al, n_alias), CR_OK);
	consent_importer_free(imp);
}

static void assert_same_as_fresh(struct fx *f, int64_t brand)
{
	struct crypto_pseudonym got, want, al[CONSENT_KEY_VERSIONS_MAX];
	size_t n_got = 0, n_want = 0;
	assert_int_equal(registry_subject(f->a, brand, f->subject, "email", &got, al, &n_got), CR_OK);
	fresh_pseudonym(f, brand, &want, &n_want);
	assert_bytes_equal(got.bytes, want.bytes, CRYPTO_PSEUDONYM_BYTES);
	assert_int_equal(got.key_version, want.key_version);
	assert_int_equal(n_got, n_want);
}

static void test_importer_reused_per_brand(void **state)
{
	struct fx *f = *state;
	struct consent_importer *a1 = NULL, *a2 = NULL, *b = NULL;
	assert_int_equal(app_importer(f->a, f->brand[0], &a1), CR_OK);
	assert_int_equal(app_importer(f->a, f->brand[1], &b), CR_OK);
	assert_int_equal(app_importer(f->a, f->brand[0], &a2), CR_OK);
	assert_ptr_equal(a1, a2);
	assert_ptr_not_equal(a1, b);
	assert_same_as_fresh(f, f->brand[0]);
	assert_same_as_fresh(f, f->brand[1]);
	/* an unknown brand is refused, not cached */
	assert_int_not_equal(app_importer(f->a, 999999, &b), CR_OK);
}

/* A key-version change (a rotation, here by plain SQL) is seen on the next call. */
static void test_importer_follows_key_version(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym before, after, al[CONSENT_KEY_VERSIONS_MAX];
	size_t n = 0;
	char sql[96];
	assert_int_equal(registry_subject(f->a, f->brand[2], f->subject, "email", &before, al, &n), CR_OK);
	assert_int_equal(before.key_version, 1);
	assert_int_equal(n, 0);
	snprintf(sql, sizeof(sql), "UPDATE brands SET key_version = 2 WHERE id = %lld", (long long)f->brand[2]);
	assert_int_equal(store_exec(f->a->store, sql), CR_OK);
	assert_int_equal(registry_subject(f->a, f->brand[2], f->subject, "email", &after, al, &n), CR_OK);
	assert_int_equal(after.key_version, 2);
	assert_int_equal(n, 1);
	assert_memory_not_equal(after.bytes, before.bytes, CRYPTO_PSEUDONYM_BYTES);
	assert_bytes_equal(al[0].bytes, before.bytes, CRYPTO_PSEUDONYM_BYTES);
	assert_same_as_fresh(f, f->brand[2]);
}

/* More brands than slots, twice round: each answer still matches its own brand's keys. */
static void test_importer_eviction_keeps_brands_apart(void **state)
{
	struct fx *f = *state;
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < BRANDS; i++)
			assert_same_as_fresh(f, f->brand[i]);
}

/* ------------------------------------------------------------ group commit */

/* A served-notice event for a fresh made-up subject, under notice `version`. */
static void served_event(struct fx *f, unsigned version, struct consent_event *ev)
{
	struct consent_importer *imp = NULL;
	char line[512], when[CR_TIME_STRLEN], hex[65], why[CONSENT_WHY_MAX];
	uint8_t d[32];
	randombytes_buf(d, sizeof(d));
	sodium_bin2hex(hex, sizeof(hex), d, sizeof(d));
	assert_int_equal(cr_time_format(cr_time_now() - 60 * 1000, when), CR_OK);
	snprintf(line, sizeof(line),
		 "{\"type\":\"served\",\"subject\":\"%s\",\"id_type\":\"email\",\"notice_version\":%u,"
		 "\"time\":\"%s\",\"channel\":\"web\"}", hex, version, when);
	assert_int_equal(app_importer(f->a, f->brand[0], &imp), CR_OK);
	assert_int_equal(consent_event_parse(imp, line, strlen(line), cr_time_now(), ev, why, sizeof(why)), CR_OK);
	consent_event_source(ev, "api", "api"); /* as the API's single-event route */
}

/* One request's turn as a member: records `ev`; returns whether it waits for the group. */
static bool member_turn(struct fx *f, struct app_member *m, const struct consent_event *ev, cr_err *rc)
{
	static const struct registry_actor who = { "brand", "test" };
	struct consent_change ch;
	uint64_t index = 0;
	char why[CONSENT_WHY_MAX];
	bool waits;
	assert_true(app_group_join(f->a, m));
	*rc = registry_record(f->a, &who, f->brand[0], ev, &ch, &index, why, sizeof(why));
	waits = app_group_leave(f->a);
	app_store_unlock(f->a);
	return waits;
}

/* A count seen through a second connection to the database (committed rows only). */
static long long other_count(struct fx *f, const char *table)
{
	char path[128], sql[96];
	snprintf(path, sizeof(path), "%s/data/cleanroom.db", f->dir);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return test_db_count(path, sql);
}

static void count_wake(void *ctx)
{
	(*(int *)ctx)++;
}

static void test_group_members_wait_for_one_commit(void **state)
{
	struct fx *f = *state;
	struct app_member m1 = { 0 }, m2 = { 0 };
	struct consent_event e1, e2;
	long long ev0 = other_count(f, "consent_events"), lv0 = other_count(f, "audit_leaves"),
		  cp0 = other_count(f, "audit_checkpoints");
	int woken = 0;
	cr_err rc;
	assert_int_equal(app_group_start(f->a, 0, APP_GROUP_MAX), CR_OK);
	served_event(f, 1, &e1);
	served_event(f, 1, &e2);
	assert_true(member_turn(f, &m1, &e1, &rc));
	assert_int_equal(rc, CR_OK);
	m1.wake = count_wake;
	m1.wake_ctx = &woken;
	assert_true(member_turn(f, &m2, &e2, &rc));
	assert_int_equal(rc, CR_OK);
	assert_false(m1.done);
	assert_false(m2.done);
	/* not acknowledged, and not visible: nothing committed yet */
	assert_int_equal(other_count(f, "consent_events"), ev0);
	assert_int_equal(other_count(f, "audit_leaves"), lv0);
	/* anyone else taking the lock commits the group first */
	app_store_lock(f->a);
	app_store_unlock(f->a);
	assert_true(m1.done);
	assert_true(m2.done);
	assert_int_equal(m1.rc, CR_OK);
	assert_int_equal(m2.rc, CR_OK);
	assert_int_equal(woken, 1);
	assert_int_equal(other_count(f, "consent_events"), ev0 + 2);
	assert_int_equal(other_count(f, "audit_leaves"), lv0 + 2);
	assert_int_equal(other_count(f, "audit_checkpoints"), cp0 + 1); /* one checkpoint for both */
	assert_int_equal(atomic_load(&f->a->commit_groups), 1);
	assert_int_equal(atomic_load(&f->a->commit_members), 2);
	/* a second commit has nothing to do */
	app_store_lock(f->a);
	app_store_unlock(f->a);
	assert_int_equal(woken, 1);
	assert_int_equal(other_count(f, "audit_checkpoints"), cp0 + 1);
}

static void test_group_failed_member_leaves_nothing(void **state)
{
	struct fx *f = *state;
	struct app_member ok = { 0 }, bad = { 0 }, alone = { 0 };
	struct consent_event good, wrong;
	long long ev0 = other_count(f, "consent_events"), lv0 = other_count(f, "audit_leaves");
	uint64_t size0 = 0, size1 = 0;
	cr_err rc;
	assert_int_equal(app_group_start(f->a, 0, APP_GROUP_MAX), CR_OK);
	assert_int_equal(audit_log_size(f->a->log, &size0), CR_OK);
	/* a refused event first, alone: the group ends with nothing in it */
	served_event(f, 99, &wrong);
	assert_false(member_turn(f, &alone, &wrong, &rc));
	assert_int_not_equal(rc, CR_OK);
	assert_false(alone.registered);
	assert_false(app_group_open(f->a));
	/* then a good one and a refused one in the same group */
	served_event(f, 1, &good);
	assert_true(member_turn(f, &ok, &good, &rc));
	assert_int_equal(rc, CR_OK);
	assert_false(member_turn(f, &bad, &wrong, &rc));
	assert_int_not_equal(rc, CR_OK);
	assert_false(bad.registered);
	app_store_lock(f->a);
	app_store_unlock(f->a);
	assert_true(ok.done);
	assert_int_equal(ok.rc, CR_OK);
	assert_int_equal(audit_log_size(f->a->log, &size1), CR_OK);
	assert_int_equal(size1, size0 + 1);
	assert_int_equal(other_count(f, "consent_events"), ev0 + 1);
	assert_int_equal(other_count(f, "audit_leaves"), lv0 + 1);
}

/* A member that returns with its savepoint open is flagged, and what it wrote is undone. */
static void test_group_savepoint_left_open_is_undone(void **state)
{
	struct fx *f = *state;
	struct app_member m = { 0 };
	char *v = NULL;
	assert_int_equal(app_group_start(f->a, 0, APP_GROUP_MAX), CR_OK);
	assert_true(app_group_join(f->a, &m));
	assert_int_equal(app_begin(f->a), CR_OK);
	assert_int_equal(store_setting_set(f->a->store, "left-open", "x"), CR_OK);
	assert_false(app_group_leave(f->a)); /* nothing registered: nothing to wait for */
	app_store_unlock(f->a);
	assert_true(m.left_open);
	assert_false(m.registered);
	assert_false(app_group_open(f->a));
	assert_int_equal(store_setting_get(f->a->store, "left-open", &v), CR_ERR_NOT_FOUND);
}

static void test_group_full_commits_at_once(void **state)
{
	struct fx *f = *state;
	struct app_member m1 = { 0 }, m2 = { 0 };
	struct consent_event e1, e2;
	long long ev0 = other_count(f, "consent_events");
	cr_err rc;
	assert_int_equal(app_group_start(f->a, 0, 2), CR_OK);
	served_event(f, 1, &e1);
	served_event(f, 1, &e2);
	assert_true(member_turn(f, &m1, &e1, &rc));
	/* the second member fills the group: it commits before that member leaves */
	assert_false(member_turn(f, &m2, &e2, &rc));
	assert_true(m1.done && m2.done);
	assert_int_equal(m1.rc, CR_OK);
	assert_int_equal(m2.rc, CR_OK);
	assert_int_equal(other_count(f, "consent_events"), ev0 + 2);
}

/* The committer thread commits an open group by itself within its window. */
static void test_group_committer_thread(void **state)
{
	struct fx *f = *state;
	struct app_member m = { 0 };
	struct consent_event e;
	bool done = false;
	cr_err rc;
	assert_int_equal(app_group_start(f->a, 2000, APP_GROUP_MAX), CR_OK);
	served_event(f, 1, &e);
	(void)member_turn(f, &m, &e, &rc);
	assert_int_equal(rc, CR_OK);
	for (int i = 0; i < 500 && !done; i++) { /* up to 5 s on a loaded machine */
		app_group_join(f->a, &(struct app_member){ 0 }); /* looks without committing */
		done = m.done;
		(void)app_group_leave(f->a);
		app_store_unlock(f->a);
		if (!done)
			usleep(10 * 1000);
	}
	assert_true(done);
	assert_int_equal(m.rc, CR_OK);
}

/* ------------------------------------------------------------------ I5 */

/* The log's size and its newest leaf's event type. */
static uint64_t newest_leaf(struct fx *f, char *type, size_t cap)
{
	struct audit_query q = { .limit = 1 };
	struct audit_page page;
	uint64_t size = 0;
	assert_int_equal(audit_log_size(f->a->log, &size), CR_OK);
	assert_int_equal(audit_log_query(f->a->log, &q, &page), CR_OK);
	assert_int_equal(page.n, 1);
	assert_int_equal(page.records[0].index, size - 1);
	snprintf(type, cap, "%s", page.records[0].leaf->event_type);
	audit_page_release(&page);
	return size;
}

/* Asserts that the last call appended exactly one leaf, of type `want`. */
#define EXPECT_LEAF(f, size, want)                                     \
	do {                                                           \
		char got_[64];                                         \
		uint64_t n_ = newest_leaf((f), got_, sizeof(got_));    \
		assert_int_equal(n_, (size) + 1);                      \
		assert_string_equal(got_, (want));                     \
		(size) = n_;                                           \
	} while (0)

static void consent_act(struct fx *f, int64_t brand, enum consent_event_type type, const char *purpose)
{
	static const struct registry_actor who = { "brand", "test" };
	struct consent_event ev;
	char why[256] = "";
	consent_event_init(&ev, type);
	assert_int_equal(registry_subject(f->a, brand, f->subject, "email", &ev.subject, ev.aliases,
					  &ev.n_aliases), CR_OK);
	ev.time = cr_time_now() - 1000;
	ev.received = ev.time;
	consent_event_source(&ev, "web", type == CONSENT_EV_GRANT ? "checkbox" : "banner");
	if (type != CONSENT_EV_WITHDRAW)
		ev.notice_version = 1;
	if (type == CONSENT_EV_GRANT) {
		ev.actor = CONSENT_ACTOR_SUBJECT;
		snprintf(ev.purpose, sizeof(ev.purpose), "%s", purpose);
	}
	assert_int_equal(registry_event(f->a, &who, brand, &ev, NULL, NULL, why, sizeof(why)), CR_OK);
}

/* I5: every state-changing verb appends exactly its leaf, through the real
 * code each command and route calls; a refused verb appends nothing. */
static void test_i5_every_verb_appends_its_leaf(void **state)
{
	static const struct registry_actor who = { "brand", "test" };
	struct fx *f = *state;
	struct dataset d;
	struct collab c;
	struct auth_token_info tok;
	char type[64], why[COLLAB_WHY_MAX] = "", token[AUTH_TOKEN_STRLEN];
	int64_t brand = 0, dup = 0;
	uint64_t size = newest_leaf(f, type, sizeof(type));
	char *notice = NULL;
	size_t len = 0;
	FILE *m;

	assert_int_equal(registry_brand_create(f->a, &who, "i5brand", &brand), CR_OK);
	EXPECT_LEAF(f, size, "brand.create");
	assert_int_not_equal(registry_brand_create(f->a, &who, "i5brand", &dup), CR_OK);
	assert_int_equal(newest_leaf(f, type, sizeof(type)), size);

	m = open_memstream(&notice, &len);
	assert_non_null(m);
	assert_int_equal(synth_notice_write(m), CR_OK);
	fclose(m);
	assert_int_equal(registry_notice_publish(f->a, &who, brand, notice, len, cr_time_now() - 3600 * 1000,
						 NULL, why, sizeof(why)), CR_OK);
	free(notice);
	EXPECT_LEAF(f, size, "notice.publish");

	consent_act(f, brand, CONSENT_EV_SERVED, NULL);
	EXPECT_LEAF(f, size, "consent.served");
	consent_act(f, brand, CONSENT_EV_GRANT, "audience_insights");
	EXPECT_LEAF(f, size, "consent.grant");

	/* R28: the impact assessment the dataset needs, then a transfer mechanism (R13) */
	assert_int_equal(pia_add(f->a, &who, brand, "i5brand", "pia-1", "pipia", "audience_insights,ads_measurement",
				 false, cr_time_now(), why, sizeof(why)), CR_OK);
	EXPECT_LEAF(f, size, "pia.add");
	assert_int_equal(transfer_add(f->a, &who, brand, "i5brand", "partner-1", "standard-contract", "sc-1", why,
				      sizeof(why)), CR_OK);
	EXPECT_LEAF(f, size, "transfer.add");

	/* purposes given out of order: the leaf lists them sorted */
	memset(&d, 0, sizeof(d));
	d.brand_id = brand;
	snprintf(d.name, sizeof(d.name), "crm");
	d.id_type = CRYPTO_ID_EMAIL;
	d.suite = CRYPTO_PSI_SUITE_DEFAULT;
	snprintf(d.profile, sizeof(d.profile), "default");
	assert_int_equal(dataset_codes_parse("audience_insights,ads_measurement", false, d.purposes,
					     &d.npurposes), CR_OK);
	assert_int_equal(dataset_codes_parse("partner-1", true, d.recipients, &d.nrecipients), CR_OK);
	assert_int_equal(columns_parse("segment:enum(a|b|c)", &d.columns, NULL, 0), CR_OK);
	assert_int_equal(ops_dataset_create(f->a, &who, "i5brand", &d, why, sizeof(why)), CR_OK);
	EXPECT_LEAF(f, size, "dataset.create");

	memset(&c, 0, sizeof(c));
	snprintf(c.partner, sizeof(c.partner), "partner-1");
	assert_int_equal(collab_rule_parse(&c, &d, "segment", "count", why, sizeof(why)), CR_OK);
	c.k = COLLAB_K_DEFAULT;
	c.max_dims = COLLAB_MAX_DIMS_DEFAULT;
	c.epsilon_milli = COLLAB_EPSILON_DEFAULT;
	c.budget_milli = COLLAB_BUDGET_DEFAULT;
	c.min_partner_set = 10;
	c.max_partner_set = COLLAB_MAX_SET_DEFAULT;
	assert_int_equal(collab_create(f->a, &who, "i5brand", &d, &c, why, sizeof(why)), CR_OK);
	EXPECT_LEAF(f, size, "collab.create");
	assert_int_equal(collab_budget_raise(f->a, &who, "i5brand", &d, &c, c.budget_milli + 1, why, sizeof(why)),
			 CR_OK);
	EXPECT_LEAF(f, size, "collab.budget_raise");
	assert_int_not_equal(collab_budget_raise(f->a, &who, "i5brand", &d, &c, c.budget_milli, why, sizeof(why)),
			     CR_OK);
	assert_int_equal(newest_leaf(f, type, sizeof(type)), size);

	assert_int_equal(auth_token_issue(f->a, AUTH_ROLE_PARTNER, "partner-1", "i5", token, &tok), CR_OK);
	EXPECT_LEAF(f, size, "token.issue");
	assert_int_equal(auth_token_revoke(f->a, tok.id, &tok), CR_OK);
	EXPECT_LEAF(f, size, "token.revoke");
	assert_int_not_equal(auth_token_revoke(f->a, tok.id, &tok), CR_OK);
	assert_int_equal(newest_leaf(f, type, sizeof(type)), size);

	/* a withdrawal: its own leaf, then the purge's (I9) */
	consent_act(f, brand, CONSENT_EV_WITHDRAW, NULL);
	size++;
	EXPECT_LEAF(f, size, "consent.purge");
	{
		struct audit_query q = { .event_type = "consent.withdraw", .limit = 1 };
		struct audit_page page;
		assert_int_equal(audit_log_query(f->a->log, &q, &page), CR_OK);
		assert_int_equal(page.n, 1);
		assert_int_equal(page.records[0].index, size - 2);
		audit_page_release(&page);
	}
}

/* A short write: takes the store lock (counted as waiting meanwhile), notes that it ran. */
struct short_write {
	struct app *a;
	atomic_bool ran;
};

static void *short_write_main(void *arg)
{
	struct short_write *w = arg;
	app_store_lock(w->a);
	atomic_store(&w->ran, true);
	app_store_unlock(w->a);
	return NULL;
}

/*
 * Issue 20 item 1: a long write holding the store lock sees a short write
 * waiting for it (app_store_wanted, once its chunk has run the minimum),
 * and app_store_yield lets it in before taking the lock back. Without a
 * waiter, or within the minimum, the chunk goes on.
 */
static void test_long_write_yields_to_a_waiting_short_write(void **state)
{
	struct fx *f = *state;
	struct short_write w = { .a = f->a };
	pthread_t t;
	int64_t start = cr_monotonic_ms();
	atomic_init(&w.ran, false);
	app_store_lock_long(f->a);
	assert_false(app_store_wanted(f->a, start - APP_CHUNK_MIN_MS)); /* nobody waits */
	assert_int_equal(pthread_create(&t, NULL, short_write_main, &w), 0);
	while (atomic_load(&f->a->lock_waiters) == 0)
		usleep(1000);
	assert_false(app_store_wanted(f->a, cr_monotonic_ms() + 1000)); /* within the minimum */
	assert_true(app_store_wanted(f->a, start - APP_CHUNK_MIN_MS));
	app_store_yield(f->a);
	assert_true(atomic_load(&w.ran)); /* it ran between the two chunks */
	assert_int_equal(f->a->lock_depth, 1);
	app_store_unlock(f->a);
	pthread_join(t, NULL);
}

/* Brands the connection of `a` sees. */
static int64_t brands_seen(struct app *a)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;
	assert_int_equal(sqlite3_prepare_v2(a->store->db, "SELECT count(*) FROM brands", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A read connection taken from the pool reads one snapshot until it is
 * given back (a request's reads agree with each other, and WAL's read
 * lock is taken once per request): a commit in between is seen on the
 * next take, not halfway through this one. */
static void test_reader_reads_one_snapshot_per_take(void **state)
{
	static const struct registry_actor admin = { "admin", "test" };
	struct fx *f = *state;
	struct app_readers *rs = NULL;
	struct app *r;
	int64_t before, id = 0;
	assert_int_equal(app_readers_open(f->a, 1, &rs), CR_OK);
	r = app_reader_take(rs);
	before = brands_seen(r);
	assert_int_equal(before, BRANDS);
	assert_int_equal(registry_brand_create(f->a, &admin, "later", &id), CR_OK);
	assert_int_equal(brands_seen(r), before);
	app_reader_give(rs, r);
	r = app_reader_take(rs);
	assert_int_equal(brands_seen(r), before + 1);
	app_reader_give(rs, r);
	app_readers_close(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_importer_reused_per_brand, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_importer_follows_key_version, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_importer_eviction_keeps_brands_apart, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_group_members_wait_for_one_commit, fx_group_setup, fx_group_teardown),
		cmocka_unit_test_setup_teardown(test_group_failed_member_leaves_nothing, fx_group_setup, fx_group_teardown),
		cmocka_unit_test_setup_teardown(test_group_savepoint_left_open_is_undone, fx_group_setup, fx_group_teardown),
		cmocka_unit_test_setup_teardown(test_group_full_commits_at_once, fx_group_setup, fx_group_teardown),
		cmocka_unit_test_setup_teardown(test_group_committer_thread, fx_group_setup, fx_group_teardown),
		cmocka_unit_test_setup_teardown(test_long_write_yields_to_a_waiting_short_write, fx_group_setup,
						fx_group_teardown),
		cmocka_unit_test_setup_teardown(test_i5_every_verb_appends_its_leaf, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reader_reads_one_snapshot_per_take, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
