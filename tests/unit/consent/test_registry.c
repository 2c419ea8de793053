/* Unit tests for consent/registry.c: storing events (R24, R08, R09), the
 * checks against the notice catalog, dedupe, and withdrawal (I3, R17,
 * R18, R19, R33): suppression, the purge callback and its failure. */
#include "consent_fixture.h"

#define AM "ads_measurement"
#define AI "audience_insights"
#define P1 "partner-1"

static const char *t0s = "2026-03-01T09:00:00+08:00";


/* ------------------------------------------------------------------ R24 */

static void test_r24_event_carries_every_field(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(1, 1);
	cr_time_ms t = T(t0s);
	struct consent_event g = ev_grant(p, AI, P1, 1, t + 1000);
	struct consent_change ch;
	uint8_t hash[32];
	sqlite3_stmt *st;
	int64_t served = fx_rec(f, ev_served(p, 1, t));

	g.received = t + 5000;
	g.expires = t + 86400000;
	g.actor = CONSENT_ACTOR_GUARDIAN;
	snprintf(g.guardian_ref, sizeof(g.guardian_ref), "gl-42");
	fx_link(f, p, "gl-42");
	snprintf(g.jurisdiction, sizeof(g.jurisdiction), "CN");
	g.birth_year = 2014;
	snprintf(g.evidence, sizeof(g.evidence), "form-7/submission-99");
	snprintf(g.channel, sizeof(g.channel), "app");
	assert_int_equal(consent_record(f->ctx, f->brand, &g, &ch, NULL, 0), CR_OK);
	assert_false(ch.duplicate);
	assert_int_equal(ch.served_ref, served);
	assert_int_equal(ch.notice_version, 1);
	assert_int_equal(ch.effective, t + 1000);
	assert_int_equal(consent_notice_get(f->ctx, f->brand, 1, NULL, hash), CR_OK);
	assert_bytes_equal(ch.notice_hash, hash, 32);

	assert_int_equal(sqlite3_prepare_v2(f->db,
			 "SELECT type, pseudonym, key_version, purpose, recipient, notice_version,"
			 " notice_hash, served_ref, actor, guardian_ref, channel, method, time_ms,"
			 " received_ms, effective_ms, expires_ms, jurisdiction, birth_year, evidence"
			 " FROM consent_events WHERE id = ?1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, ch.event_id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(st, 0), "grant");
	assert_bytes_equal(sqlite3_column_blob(st, 1), p.bytes, 32);
	assert_int_equal(sqlite3_column_int(st, 2), 1);
	assert_string_equal(sqlite3_column_text(st, 3), AI);
	assert_string_equal(sqlite3_column_text(st, 4), P1);
	assert_int_equal(sqlite3_column_int(st, 5), 1);
	assert_bytes_equal(sqlite3_column_blob(st, 6), hash, 32);
	assert_int_equal(sqlite3_column_int64(st, 7), served);
	assert_string_equal(sqlite3_column_text(st, 8), "guardian");
	assert_string_equal(sqlite3_column_text(st, 9), "gl-42");
	assert_string_equal(sqlite3_column_text(st, 10), "app");
	assert_string_equal(sqlite3_column_text(st, 11), "checkbox");
	assert_int_equal(sqlite3_column_int64(st, 12), t + 1000);
	assert_int_equal(sqlite3_column_int64(st, 13), t + 5000);
	assert_int_equal(sqlite3_column_int64(st, 14), t + 1000);
	assert_int_equal(sqlite3_column_int64(st, 15), t + 86400000);
	assert_string_equal(sqlite3_column_text(st, 16), "CN");
	assert_int_equal(sqlite3_column_int(st, 17), 2014);
	assert_string_equal(sqlite3_column_text(st, 18), "form-7/submission-99");
	sqlite3_finalize(st);
	/* the subject is indexed by pseudonym only */
	assert_int_equal(fx_count(f, "SELECT count(*) FROM consent_subjects WHERE birth_year = 2014"
				  " AND jurisdiction = 'CN'"), 1);
}

/* R24: an event is stored only with its actor, channel and method; the
 * arrival path fills what the event does not state. */
static void test_r24_event_without_its_source_is_not_stored(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(24, 1);
	struct consent_event w, o, g = ev_grant(p, AM, NULL, 1, T(t0s) + 1000);
	char why[CONSENT_WHY_MAX] = "";

	fx_rec(f, ev_served(p, 1, T(t0s)));
	consent_event_init(&w, CONSENT_EV_WITHDRAW);
	w.subject = p;
	w.time = w.received = T(t0s) + 2000;
	assert_int_equal(fx_try(f, w, why, sizeof(why)), CR_ERR_INVALID_ARG);
	assert_non_null(strstr(why, "R24"));
	w.actor = CONSENT_ACTOR_SUBJECT;
	snprintf(w.channel, sizeof(w.channel), "app");
	assert_int_equal(fx_try(f, w, why, sizeof(why)), CR_ERR_INVALID_ARG); /* no method */
	assert_int_equal(fx_count(f, "SELECT count(*) FROM consent_events WHERE type = 'withdraw'"), 0);
	/* what the event states is kept; the rest is the arrival path's */
	consent_event_source(&w, "api", "api");
	assert_int_equal(w.actor, CONSENT_ACTOR_SUBJECT);
	assert_string_equal(w.channel, "app");
	assert_string_equal(w.method, "api");
	fx_rec(f, w);
	/* an objection nobody is named for was relayed by the brand */
	consent_event_init(&o, CONSENT_EV_OBJECT);
	o.subject = p;
	o.time = o.received = T(t0s) + 3000;
	consent_event_source(&o, "email", "letter");
	assert_int_equal(o.actor, CONSENT_ACTOR_BRAND);
	fx_rec(f, o);
	/* a grant's actor is never assumed: its check asks for it */
	g.actor = CONSENT_ACTOR_NONE;
	consent_event_source(&g, "web", "checkbox");
	assert_int_equal(g.actor, CONSENT_ACTOR_NONE);
	assert_int_equal(fx_try(f, g, why, sizeof(why)), CR_ERR_CONSENT_EVENT_FIELD);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM consent_events WHERE actor IS NULL OR "
				     "channel IS NULL OR method IS NULL"), 0);
}

static void test_r24_identical_event_is_stored_once(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(2, 1);
	cr_time_ms t = T(t0s);
	struct consent_event s = ev_served(p, 1, t);
	struct consent_change a, b;

	assert_int_equal(consent_record(f->ctx, f->brand, &s, &a, NULL, 0), CR_OK);
	s.received = t + 999; /* re-sent later: still the same event */
	assert_int_equal(consent_record(f->ctx, f->brand, &s, &b, NULL, 0), CR_OK);
	assert_false(a.duplicate);
	assert_true(b.duplicate);
	assert_int_equal(a.event_id, b.event_id);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM consent_events WHERE type = 'served'"), 1);
	/* a different time is a different event */
	s.time = t + 1;
	assert_int_equal(consent_record(f->ctx, f->brand, &s, &b, NULL, 0), CR_OK);
	assert_false(b.duplicate);
}

/* ------------------------------------------------------------- R08, R09 */

static void test_r08_pre_ticked_and_other_non_affirmative_methods_refused(void **state)
{
	struct fx *f = *state;
	/* R08 is an allow-list: the known non-acts and any unknown word are refused */
	static const char *refused[] = { "preticked", "Pre-Ticked", "pre_ticked", "default",
					 "inactivity", "scroll", "scrolling", "silence",
					 "opt-out", "implied consent", "assumed", "tacit", "maybe" };
	static const char *accepted[] = { "checkbox", "button", "signature", "verbal-recorded",
					  "Verbal recorded", "electronic_signature", "double-opt-in",
					  "written", "toggle", "CHECKBOX" };
	struct crypto_pseudonym p = P(3, 1);
	cr_time_ms t = T(t0s);
	char why[CONSENT_WHY_MAX];

	fx_rec(f, ev_served(p, 1, t));
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct consent_event g = ev_grant(p, AM, NULL, 1, t + 1000);
		snprintf(g.method, sizeof(g.method), "%s", refused[i]);
		assert_int_equal(fx_try(f, g, why, sizeof(why)), CR_ERR_CONSENT_METHOD);
		assert_non_null(strstr(why, "accepted: checkbox, button"));
		assert_null(strstr(why, refused[i]));
	}
	assert_int_equal(fx_count(f, "SELECT count(*) FROM consent_events WHERE type = 'grant'"), 0);
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		struct consent_event g = ev_grant(p, AM, NULL, 1, t + 1000 + (cr_time_ms)i);
		snprintf(g.method, sizeof(g.method), "%s", accepted[i]);
		assert_int_equal(fx_try(f, g, why, sizeof(why)), CR_OK);
	}
}

static void test_r09_bundled_request_refused(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(4, 1);
	cr_time_ms t = T(t0s);
	char why[CONSENT_WHY_MAX];
	struct consent_event g = ev_grant(p, "ads_measurement,audience_insights", NULL, 1, t);

	/* edge case 8: marketing + sharing in one act */
	assert_int_equal(fx_try(f, g, why, sizeof(why)), CR_ERR_CONSENT_BUNDLED);
	g = ev_grant(p, AI, "partner-1 partner-2", 1, t);
	assert_int_equal(fx_try(f, g, why, sizeof(why)), CR_ERR_CONSENT_BUNDLED);
	assert_non_null(strstr(why, "recipient"));
	assert_int_equal(fx_count(f, "SELECT count(*) FROM consent_events"), 0);
}

/* -------------------------------------------------------- field checks */

static void test_record_checks_fields_per_type(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(5, 1);
	cr_time_ms t = T(t0s);
	char why[CONSENT_WHY_MAX];
	struct consent_event e;

	e = ev_grant(p, AM, NULL, 1, t);
	e.method[0] = '\0';
	assert_int_equal(fx_try(f, e, why, sizeof(why)), CR_ERR_CONSENT_EVENT_FIELD);
	assert_string_equal(why, "method: missing (required for grant)");
	e = ev_served(p, 1, t);
	snprintf(e.purpose, sizeof(e.purpose), AM);
	assert_int_equal(fx_try(f, e, why, sizeof(why)), CR_ERR_CONSENT_EVENT_UNKNOWN_FIELD);
	assert_string_equal(why, "purpose: not accepted for served");
	e = ev_grant(p, AM, NULL, 1, t);
	e.actor = CONSENT_ACTOR_BRAND;
	assert_int_equal(fx_try(f, e, why, sizeof(why)), CR_ERR_CONSENT_EVENT_FIELD);
	e = ev_grant(p, AM, NULL, 1, t);
	e.actor = CONSENT_ACTOR_GUARDIAN;
	assert_int_equal(fx_try(f, e, why, sizeof(why)), CR_ERR_CONSENT_EVENT_FIELD);
	assert_non_null(strstr(why, "guardian_ref"));
	e = ev_grant(p, AM, NULL, 1, t);
	snprintf(e.guardian_ref, sizeof(e.guardian_ref), "g");
	assert_int_equal(fx_try(f, e, why, sizeof(why)), CR_ERR_CONSENT_EVENT_FIELD);
	e = ev_grant(p, AM, NULL, 1, t);
	e.expires = t;
	assert_int_equal(fx_try(f, e, why, sizeof(why)), CR_ERR_CONSENT_EVENT_FIELD);
	assert_string_equal(why, "expires: must be after time");
	e = ev_grant(p, AM, NULL, 1, t);
	e.birth_year = 2027;
	assert_int_equal(fx_try(f, e, why, sizeof(why)), CR_ERR_CONSENT_EVENT_FIELD);
	e = ev_grant(p, AM, NULL, 1, t);
	snprintf(e.jurisdiction, sizeof(e.jurisdiction), "cn");
	assert_int_equal(fx_try(f, e, why, sizeof(why)), CR_ERR_CONSENT_EVENT_FIELD);
	e = ev_grant(p, AM, NULL, 1, t);
	snprintf(e.channel, sizeof(e.channel), "we\tb");
	assert_int_equal(fx_try(f, e, why, sizeof(why)), CR_ERR_CONSENT_EVENT_FIELD);
	e = ev_grant(p, AM, NULL, 1, t);
	memcpy(e.evidence, "\xff\xfe", 3);
	assert_int_equal(fx_try(f, e, why, sizeof(why)), CR_ERR_CONSENT_EVENT_FIELD);
	e = ev_grant(p, "Upper", NULL, 1, t);
	assert_int_equal(fx_try(f, e, why, sizeof(why)), CR_ERR_CONSENT_EVENT_FIELD);
	e = ev_grant(p, AM, NULL, 1, t);
	e.subject.key_version = 0;
	assert_int_equal(fx_try(f, e, why, sizeof(why)), CR_ERR_CONSENT_EVENT_FIELD);
	e = ev_grant(p, AM, NULL, 1, t);
	e.time = -5;
	assert_int_equal(fx_try(f, e, why, sizeof(why)), CR_ERR_CONSENT_EVENT_FIELD);
	e = ev_grant(p, AM, NULL, 1, t);
	e.type = (enum consent_event_type)77;
	assert_int_equal(fx_try(f, e, why, sizeof(why)), CR_ERR_CONSENT_EVENT_TYPE);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM consent_events"), 0);
}

static void test_record_checks_against_the_notice(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(6, 1);
	cr_time_ms t = T(t0s);
	char why[CONSENT_WHY_MAX];

	assert_int_equal(fx_try(f, ev_served(p, 9, t), why, sizeof(why)),
			 CR_ERR_CONSENT_NOTICE_NOT_FOUND);
	assert_string_equal(why, "notice_version: no published version 9");
	assert_int_equal(fx_try(f, ev_grant(p, "lookalike", NULL, 1, t), why, sizeof(why)),
			 CR_ERR_CONSENT_UNKNOWN_PURPOSE);
	assert_int_equal(fx_try(f, ev_grant(p, AM, P1, 1, t), why, sizeof(why)),
			 CR_ERR_CONSENT_UNKNOWN_RECIPIENT);
	assert_int_equal(fx_try(f, ev_grant(p, AI, "partner-9", 1, t), why, sizeof(why)),
			 CR_ERR_CONSENT_UNKNOWN_RECIPIENT);
	assert_int_equal(consent_record(f->ctx, 777, &(struct consent_event){ 0 }, NULL, NULL, 0),
			 CR_ERR_CONSENT_EVENT_TYPE);
	{
		struct consent_event s = ev_served(p, 1, t);
		assert_int_equal(consent_record(f->ctx, 777, &s, NULL, NULL, 0),
				 CR_ERR_CONSENT_BRAND_NOT_FOUND);
	}
	assert_int_equal(fx_count(f, "SELECT count(*) FROM consent_events"), 0);
}

/* ------------------------------------------------------------ withdrawal */

static void test_i3_withdrawal_suppresses_and_purges_in_one_call(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(10, 2), old = P(11, 1);
	cr_time_ms t = T(t0s), tw = t + 86400000;
	struct consent_event w = ev_withdraw(p, AI, NULL, tw);
	struct consent_change ch;

	fx_full_consent(f, p, t);
	w.n_aliases = 1;
	w.aliases[0] = old;
	assert_int_equal(consent_withdraw(f->ctx, f->brand, &w, &ch, NULL, 0), CR_OK);
	/* R33: every key version on the list; R19: purge told the scope */
	assert_int_equal(ch.suppressed, 2);
	assert_int_equal(ch.purged, 2);
	assert_int_equal(f->purges, 2);
	assert_string_equal(f->last_purpose, AI);
	assert_string_equal(f->last_recipient, "*");
	assert_int_equal(ch.type, CONSENT_EV_WITHDRAW);
	assert_int_equal(ch.effective, tw);
	assert_int_equal(ch.notice_version, 1); /* the notice current when received */
	assert_int_equal(fx_count(f, "SELECT count(*) FROM consent_suppression"
				  " WHERE purpose = 'audience_insights' AND recipient = ''"), 2);
	/* the gate is closed when the call returns */
	EXPECT(f, p, AI, NULL, tw, CONSENT_WITHDRAWN);
}

static void test_i3_purge_failure_undoes_the_withdrawal(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(12, 1);
	cr_time_ms t = T(t0s), tw = t + 86400000;
	struct consent_event w = ev_withdraw(p, NULL, NULL, tw);
	int64_t before;

	fx_full_consent(f, p, t);
	before = fx_count(f, "SELECT count(*) FROM consent_events");
	assert_int_equal(sqlite3_exec(f->db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	f->purge_rc = CR_ERR_IO;
	assert_int_equal(consent_withdraw(f->ctx, f->brand, &w, NULL, NULL, 0), CR_ERR_IO);
	/* the caller's transaction is still open, and nothing of the call is in it */
	assert_int_equal(sqlite3_get_autocommit(f->db), 0);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM consent_events"), before);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM consent_suppression"), 0);
	assert_int_equal(sqlite3_exec(f->db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	EXPECT(f, p, AM, NULL, tw, CONSENT_OK);
	f->purge_rc = CR_OK;
	assert_int_equal(consent_withdraw(f->ctx, f->brand, &w, NULL, NULL, 0), CR_OK);
	EXPECT(f, p, AM, NULL, tw, CONSENT_WITHDRAWN);
}

static void test_i3_withdrawal_needs_a_purge_callback(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(13, 1);
	struct consent_event w = ev_withdraw(p, NULL, NULL, T(t0s));
	struct consent_event g = ev_grant(p, AM, NULL, 1, T(t0s));
	char why[CONSENT_WHY_MAX];

	consent_set_purge_callback(f->ctx, NULL, NULL);
	assert_int_equal(consent_withdraw(f->ctx, f->brand, &w, NULL, why, sizeof(why)),
			 CR_ERR_CONSENT_NO_PURGE);
	assert_int_equal(consent_record(f->ctx, f->brand, &w, NULL, why, sizeof(why)),
			 CR_ERR_CONSENT_NO_PURGE);
	assert_int_equal(consent_withdraw(f->ctx, f->brand, &g, NULL, why, sizeof(why)),
			 CR_ERR_INVALID_ARG);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM consent_events"), 0);
}

static void test_r18_identical_withdrawal_is_a_duplicate(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(14, 1);
	cr_time_ms t = T(t0s), tw = t + 86400000;
	struct consent_event w = ev_withdraw(p, NULL, NULL, tw);
	struct consent_change a, b;

	fx_full_consent(f, p, t);
	assert_int_equal(consent_withdraw(f->ctx, f->brand, &w, &a, NULL, 0), CR_OK);
	assert_int_equal(consent_withdraw(f->ctx, f->brand, &w, &b, NULL, 0), CR_OK);
	assert_true(b.duplicate);
	assert_int_equal(a.event_id, b.event_id);
	assert_int_equal(f->purges, 1);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM consent_suppression"), 1);
}

/*
 * R18: nothing is dated ahead of its arrival. An event whose time or
 * receipt time lies beyond now plus the allowed skew is refused with its
 * own error, as is one received before its own time; exactly now plus the
 * skew is accepted. A refused withdrawal stores and purges nothing.
 */
static void test_r18_events_dated_in_the_future_are_refused(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(16, 1);
	cr_time_ms edge = f->now + CONSENT_SKEW_DEFAULT_MS;
	struct consent_event w;
	char why[CONSENT_WHY_MAX];
	long long events;

	fx_full_consent(f, p, T(t0s));
	events = fx_count(f, "SELECT count(*) FROM consent_events");
	w = ev_withdraw(p, NULL, NULL, edge + 1);
	assert_int_equal(fx_try(f, w, why, sizeof(why)), CR_ERR_CONSENT_TIME_FUTURE);
	assert_string_equal(why, "time: lies in the future (more than 300 s past now)");
	w = ev_withdraw(p, NULL, NULL, f->now);
	w.received = edge + 1;
	w.received_given = true;
	assert_int_equal(fx_try(f, w, why, sizeof(why)), CR_ERR_CONSENT_RECEIVED_FUTURE);
	w.received = f->now - 1;
	assert_int_equal(fx_try(f, w, why, sizeof(why)), CR_ERR_CONSENT_RECEIVED_EARLY);
	assert_string_equal(why, "received: is earlier than time");
	assert_int_equal(fx_try(f, ev_grant(p, "ads_measurement", NULL, 1, edge + 1), why, sizeof(why)),
			 CR_ERR_CONSENT_TIME_FUTURE);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM consent_events"), events);
	assert_int_equal(f->purges, 0);
	/* at the edge of the skew: accepted, and effective at once */
	w = ev_withdraw(p, NULL, NULL, edge);
	assert_int_equal(fx_try(f, w, why, sizeof(why)), CR_OK);
	assert_int_equal(f->purges, 1);
}

/*
 * R24: duplicates compare the whole event. A withdrawal re-sent with a
 * corrected receipt time is a new event; the same one again is not stored
 * twice; a receipt time stamped on arrival (not sent) is not compared.
 */
static void test_r24_corrected_receipt_time_is_a_new_event(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(17, 1);
	cr_time_ms t = T(t0s), tw = t + 86400000;
	struct consent_event w = ev_withdraw(p, "ads_measurement", NULL, tw);
	struct consent_change a, b, c;

	fx_full_consent(f, p, t);
	w.received = tw + 60000;
	w.received_given = true;
	assert_int_equal(consent_withdraw(f->ctx, f->brand, &w, &a, NULL, 0), CR_OK);
	w.received = tw + 1000;                /* corrected */
	assert_int_equal(consent_withdraw(f->ctx, f->brand, &w, &b, NULL, 0), CR_OK);
	assert_false(b.duplicate);
	assert_int_not_equal(a.event_id, b.event_id);
	assert_int_equal(consent_withdraw(f->ctx, f->brand, &w, &c, NULL, 0), CR_OK);
	assert_true(c.duplicate);
	/* stamped on arrival: two arrivals of one line are one event */
	w = ev_withdraw(p, "audience_insights", NULL, tw);
	w.received = tw + 5000;
	assert_int_equal(consent_withdraw(f->ctx, f->brand, &w, &a, NULL, 0), CR_OK);
	w.received = tw + 9000;
	assert_int_equal(consent_withdraw(f->ctx, f->brand, &w, &b, NULL, 0), CR_OK);
	assert_true(b.duplicate);
}

/* R16: a guardian's grant is stored only with a verified link of its
 * guardian_ref for that very subject: none, another subject's, or another
 * reference's does not count. */
static void test_r16_guardian_grant_needs_a_verified_link(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym child = P(80, 1), other = P(81, 1);
	cr_time_ms t = T("2026-03-01T00:00:00Z");
	struct consent_event g = ev_grant(child, "ads_measurement", NULL, 1, t + 1000);
	char why[CONSENT_WHY_MAX] = "";
	int64_t link = 0;

	fx_rec(f, ev_served(child, 1, t));
	g.actor = CONSENT_ACTOR_GUARDIAN;
	g.birth_year = 2015;
	snprintf(g.guardian_ref, sizeof(g.guardian_ref), "parent-1");
	assert_int_equal(fx_try(f, g, why, sizeof(why)), CR_ERR_CONSENT_GUARDIAN_UNLINKED);
	assert_non_null(strstr(why, "no verified guardian link"));
	assert_int_equal(fx_count(f, "SELECT count(*) FROM consent_events WHERE type = 'grant'"), 0);
	/* a link of another reference for this child does not count */
	fx_link(f, child, "parent-2");
	assert_int_equal(fx_try(f, g, why, sizeof(why)), CR_ERR_CONSENT_GUARDIAN_UNLINKED);
	/* the subject's own grant needs no link */
	{
		struct consent_event own = ev_grant(child, "ads_measurement", NULL, 1, t + 2000);
		assert_int_equal(fx_try(f, own, why, sizeof(why)), CR_OK);
	}
	/* with the link, stored */
	fx_link(f, child, "parent-1");
	link = fx_count(f, "SELECT id FROM consent_guardian_links WHERE guardian_ref = 'parent-1'");
	assert_true(link > 0);
	assert_int_equal(fx_try(f, g, why, sizeof(why)), CR_OK);
	/* the same link again is a duplicate: nothing written */
	{
		struct consent_guardian_link l = { .child = child, .verified = t };
		bool dup = false;
		int64_t id = 0;
		snprintf(l.guardian_ref, sizeof(l.guardian_ref), "parent-1");
		snprintf(l.verified_by, sizeof(l.verified_by), "video_call");
		assert_int_equal(consent_guardian_link_add(f->ctx, f->brand, &l, &id, &dup, why, sizeof(why)), CR_OK);
		assert_true(dup);
		assert_int_equal(id, link);
		/* links are append-only */
		assert_int_not_equal(sqlite3_exec(f->db, "UPDATE consent_guardian_links SET guardian_ref = 'x'",
						  NULL, NULL, NULL), SQLITE_OK);
		assert_int_not_equal(sqlite3_exec(f->db, "DELETE FROM consent_guardian_links", NULL, NULL, NULL),
				     SQLITE_OK);
		/* a link needs how it was verified */
		l.verified_by[0] = '\0';
		assert_int_equal(consent_guardian_link_add(f->ctx, f->brand, &l, NULL, NULL, why, sizeof(why)),
				 CR_ERR_CONSENT_GUARDIAN_LINK);
		assert_non_null(strstr(why, "verified_by"));
	}
	/* the link of `child` does not carry over to another subject */
	{
		struct consent_event g2 = g;
		g2.subject = other;
		fx_rec(f, ev_served(other, 1, t));
		assert_int_equal(fx_try(f, g2, why, sizeof(why)), CR_ERR_CONSENT_GUARDIAN_UNLINKED);
	}
}

static void test_r17_withdrawal_needs_no_more_than_a_grant(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(15, 1);
	cr_time_ms t = T(t0s);
	struct consent_event w = ev_withdraw(p, NULL, NULL, t + 86400000);
	struct consent_event g = ev_grant(p, AM, NULL, 1, t + 1000);

	/* granted through the app with every field... */
	snprintf(g.channel, sizeof(g.channel), "app");
	fx_rec(f, ev_served(p, 1, t));
	fx_rec(f, g);
	/* ...withdrawn with only the subject and a time: no channel, actor,
	 * method or proof required, and any channel accepted */
	assert_int_equal(consent_withdraw(f->ctx, f->brand, &w, NULL, NULL, 0), CR_OK);
	w.time = w.received = t + 2 * 86400000LL;
	snprintf(w.channel, sizeof(w.channel), "hotline");
	assert_int_equal(consent_withdraw(f->ctx, f->brand, &w, NULL, NULL, 0), CR_OK);
	EXPECT(f, p, AM, NULL, t + 86400000, CONSENT_WITHDRAWN);
}

/* R19 / edge case 4: a purge callback like the orchestrator's, over two
 * "datasets" that need {AM} and {AM, AI}: it deletes a record only when a
 * purpose of its dataset is no longer valid. */
struct purge_world {
	struct fx *f;
	cr_time_ms now;
};

static cr_err purge_datasets(void *user, int64_t brand, const struct crypto_pseudonym *p,
			     const char *purpose, const char *recipient)
{
	struct purge_world *w = user;
	static const struct {
		const char *name;
		const char *purposes[2];
	} datasets[] = { { "d_am", { AM, NULL } }, { "d_am_ai", { AM, AI } } };
	(void)purpose;
	(void)recipient;
	for (size_t i = 0; i < 2; i++) {
		bool keep = true;
		for (size_t j = 0; j < 2 && datasets[i].purposes[j]; j++) {
			struct consent_decision d;
			cr_err rc = consent_valid_at(w->f->ctx, brand, p, datasets[i].purposes[j],
						     NULL, w->now, 0, &d);
			if (rc != CR_OK)
				return rc;
			keep = keep && d.allowed;
		}
		if (!keep) {
			char sql[128];
			snprintf(sql, sizeof(sql), "DELETE FROM records WHERE dataset = '%s'",
				 datasets[i].name);
			if (sqlite3_exec(w->f->db, sql, NULL, NULL, NULL) != SQLITE_OK)
				return CR_ERR_IO;
		}
	}
	return CR_OK;
}

static void test_r19_partial_withdrawal_purges_only_what_depended_on_it(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(16, 1);
	cr_time_ms t = T(t0s), tw = t + 86400000;
	struct purge_world w = { f, tw };

	fx_full_consent(f, p, t);
	assert_int_equal(sqlite3_exec(f->db, "CREATE TABLE records(dataset TEXT);"
				      "INSERT INTO records VALUES ('d_am'), ('d_am_ai');",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	consent_set_purge_callback(f->ctx, purge_datasets, &w);
	fx_rec(f, ev_withdraw(p, AI, NULL, tw));
	assert_int_equal(fx_count(f, "SELECT count(*) FROM records WHERE dataset = 'd_am'"), 1);
	assert_int_equal(fx_count(f, "SELECT count(*) FROM records WHERE dataset = 'd_am_ai'"), 0);
	w.now = tw + 1000;
	fx_rec(f, ev_withdraw(p, NULL, NULL, tw + 1000));
	assert_int_equal(fx_count(f, "SELECT count(*) FROM records"), 0);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_r24_event_carries_every_field),
		TEST(test_r24_event_without_its_source_is_not_stored),
		TEST(test_r24_identical_event_is_stored_once),
		TEST(test_r08_pre_ticked_and_other_non_affirmative_methods_refused),
		TEST(test_r09_bundled_request_refused),
		TEST(test_record_checks_fields_per_type),
		TEST(test_record_checks_against_the_notice),
		TEST(test_i3_withdrawal_suppresses_and_purges_in_one_call),
		TEST(test_i3_purge_failure_undoes_the_withdrawal),
		TEST(test_i3_withdrawal_needs_a_purge_callback),
		TEST(test_r18_identical_withdrawal_is_a_duplicate),
		TEST(test_r18_events_dated_in_the_future_are_refused),
		TEST(test_r24_corrected_receipt_time_is_a_new_event),
		TEST(test_r17_withdrawal_needs_no_more_than_a_grant),
		TEST(test_r16_guardian_grant_needs_a_verified_link),
		TEST(test_r19_partial_withdrawal_purges_only_what_depended_on_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
