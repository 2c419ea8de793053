/*
 * registry.c: storing consent events (R24) and withdrawal (I3, R17-R19,
 * R33).
 *
 * Every event, however it arrived (an NDJSON line, a CLI flag, the consent
 * page), passes the same checks here: the per-type field table, value
 * syntax, the R08 method list, and the notice catalog (the referenced
 * version exists and declares the purpose and recipient). Events are only
 * ever inserted; an identical event (every field but the receipt time) is
 * recognized by its dedupe hash and not stored twice. A withdrawal also
 * writes the suppression list for every key version of the subject and
 * calls the orchestrator's purge callback, all in one savepoint inside the
 * caller's transaction: if anything fails, nothing of it remains. A
 * marketing objection also calls the purge callback (R21): what it forbids
 * is deleted in its transaction, not left to the next sweep.
 */
#include <string.h>

#include <sodium.h>

#include "consent/consent_internal.h"

#define TIME_MAX_MS 253402300799999LL /* 9999-12-31T23:59:59.999Z, cr_time_parse's bound */
#define BIRTH_YEAR_MIN 1900

/* ------------------------------------------------------------ type rules */

#define GRANT_REQUIRED (CF_PURPOSE | CF_NOTICE | CF_METHOD | CF_CHANNEL | CF_ACTOR)
#define GRANT_ALLOWED \
	(GRANT_REQUIRED | CF_RECIPIENT | CF_EXPIRES | CF_JUR | CF_BIRTH | CF_GUARDIAN)

static const struct consent_type_rule type_rules[CONSENT_EV_COUNT] = {
	[CONSENT_EV_SERVED] = { CF_NOTICE | CF_CHANNEL, CF_NOTICE | CF_CHANNEL | CF_ACTOR | CF_METHOD,
				false, true },
	[CONSENT_EV_GRANT] = { GRANT_REQUIRED, GRANT_ALLOWED, false, true },
	[CONSENT_EV_REFUSE] = { GRANT_REQUIRED, GRANT_ALLOWED, false, true },
	/* R17: a withdrawal needs nothing a grant did not: subject and time. */
	[CONSENT_EV_WITHDRAW] = { 0, CF_PURPOSE | CF_RECIPIENT | CF_CHANNEL | CF_ACTOR |
					     CF_GUARDIAN | CF_METHOD,
				  true, true },
	[CONSENT_EV_OBJECT] = { 0, CF_SIGNAL | CF_CHANNEL | CF_ACTOR | CF_METHOD, true, true },
	[CONSENT_EV_EXPIRE] = { 0, CF_PURPOSE | CF_RECIPIENT | CF_ACTOR | CF_CHANNEL | CF_METHOD,
				true, false },
};

const struct consent_type_rule *consent_type_rule(enum consent_event_type t)
{
	if (t < CONSENT_EV_SERVED || t >= CONSENT_EV_COUNT)
		return NULL;
	return &type_rules[t];
}

cr_time_ms consent_effective_time(const struct consent_event *ev)
{
	const struct consent_type_rule *r = consent_type_rule(ev->type);

	return r != NULL && r->at_receipt ? ev->received : ev->time;
}

void consent_event_init(struct consent_event *ev, enum consent_event_type type)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->expires = CONSENT_TIME_NONE;
}

void consent_event_source(struct consent_event *ev, const char *channel, const char *method)
{
	if (ev->channel[0] == '\0' && channel != NULL)
		consent_copy(ev->channel, sizeof(ev->channel), channel);
	if (ev->method[0] == '\0' && method != NULL)
		consent_copy(ev->method, sizeof(ev->method), method);
	if (ev->actor == CONSENT_ACTOR_NONE && ev->type != CONSENT_EV_GRANT &&
	    ev->type != CONSENT_EV_REFUSE)
		ev->actor = CONSENT_ACTOR_BRAND;
}

/* Field bits -> the names NDJSON uses, for messages. */
static const struct {
	unsigned bit;
	const char *name;
} field_names[] = {
	{ CF_PURPOSE, "purpose" },   { CF_RECIPIENT, "recipient" },
	{ CF_NOTICE, "notice_version" }, { CF_ACTOR, "actor" },
	{ CF_CHANNEL, "channel" },   { CF_METHOD, "method" },
	{ CF_SIGNAL, "signal" },     { CF_GUARDIAN, "guardian_ref" },
	{ CF_JUR, "jurisdiction" },  { CF_BIRTH, "birth_year" },
	{ CF_EXPIRES, "expires" },
};

static const char *field_name(unsigned bits)
{
	for (size_t i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
		if (bits & field_names[i].bit)
			return field_names[i].name;
	return "?";
}

static unsigned fields_present(const struct consent_event *ev)
{
	unsigned f = 0;

	f |= ev->purpose[0] ? CF_PURPOSE : 0;
	f |= ev->recipient[0] ? CF_RECIPIENT : 0;
	f |= ev->notice_version ? CF_NOTICE : 0;
	f |= ev->actor != CONSENT_ACTOR_NONE ? CF_ACTOR : 0;
	f |= ev->channel[0] ? CF_CHANNEL : 0;
	f |= ev->method[0] ? CF_METHOD : 0;
	f |= ev->signal[0] ? CF_SIGNAL : 0;
	f |= ev->guardian_ref[0] ? CF_GUARDIAN : 0;
	f |= ev->jurisdiction[0] ? CF_JUR : 0;
	f |= ev->birth_year ? CF_BIRTH : 0;
	f |= ev->expires != CONSENT_TIME_NONE ? CF_EXPIRES : 0;
	return f;
}

/* ------------------------------------------------------------ validation */

/* A code, with R09's bundling test first: a list in one field is two acts. */
static cr_err check_code(const char *field, const char *s, char *why, size_t cap)
{
	if (strpbrk(s, ",; |+&") != NULL) {
		consent_why(why, cap, "%s: names several; each needs its own grant (R09)", field);
		return CR_ERR_CONSENT_BUNDLED;
	}
	if (!consent_code_valid(s, CONSENT_CODE_MAX)) {
		consent_why(why, cap, "%s: must be 1-64 of a-z, 0-9, '_', '-', '.'", field);
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	return CR_OK;
}


static cr_err check_times(const struct consent_event *ev, char *why, size_t cap)
{
	if (ev->time < 0 || ev->time > TIME_MAX_MS) {
		consent_why(why, cap, "time: out of range");
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	if (ev->received < 0 || ev->received > TIME_MAX_MS) {
		consent_why(why, cap, "received: out of range");
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	if (ev->expires != CONSENT_TIME_NONE &&
	    (ev->expires <= ev->time || ev->expires > TIME_MAX_MS)) {
		consent_why(why, cap, "expires: must be after time");
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	if (ev->birth_year != 0 &&
	    (ev->birth_year < BIRTH_YEAR_MIN || ev->birth_year > consent_year_of(ev->time))) {
		consent_why(why, cap, "birth_year: must be from 1900 to the event's year");
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	return CR_OK;
}

static cr_err check_texts(const struct consent_event *ev, char *why, size_t cap)
{
	static const struct {
		size_t off;
		size_t max;
		const char *name;
	} texts[] = {
		{ offsetof(struct consent_event, channel), CONSENT_FIELD_MAX, "channel" },
		{ offsetof(struct consent_event, method), CONSENT_FIELD_MAX, "method" },
		{ offsetof(struct consent_event, signal), CONSENT_FIELD_MAX, "signal" },
		{ offsetof(struct consent_event, guardian_ref), CONSENT_REF_MAX, "guardian_ref" },
	};
	cr_err rc = CR_OK;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *s = (const char *)ev + texts[i].off;
		if (s[0] != '\0' && !consent_printable_valid(s, texts[i].max)) {
			consent_why(why, cap, "%s: must be 1-%zu printable ASCII characters",
				    texts[i].name, texts[i].max);
			return CR_ERR_CONSENT_EVENT_FIELD;
		}
	}
	if (ev->purpose[0] && (rc = check_code("purpose", ev->purpose, why, cap)) != CR_OK)
		return rc;
	if (ev->recipient[0] && (rc = check_code("recipient", ev->recipient, why, cap)) != CR_OK)
		return rc;
	if (ev->jurisdiction[0] && !consent_jur_valid(ev->jurisdiction)) {
		consent_why(why, cap, "jurisdiction: must be a code such as \"CN\" or \"EU\"");
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	if (ev->evidence[0] && !consent_evidence_valid(ev->evidence)) {
		consent_why(why, cap, "evidence: must be at most %d bytes of UTF-8 text",
			    CONSENT_EVIDENCE_MAX);
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	return CR_OK;
}

/* Who may do what: grants and refusals come from the subject or a guardian
 * (R15), who names the link; R08 refuses non-affirmative grants. */
static cr_err check_actor_method(const struct consent_event *ev, char *why, size_t cap)
{
	bool answer = ev->type == CONSENT_EV_GRANT || ev->type == CONSENT_EV_REFUSE;

	if (answer && ev->actor != CONSENT_ACTOR_SUBJECT && ev->actor != CONSENT_ACTOR_GUARDIAN) {
		consent_why(why, cap, "actor: must be \"subject\" or \"guardian\"");
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	if (ev->actor == CONSENT_ACTOR_GUARDIAN && answer && ev->guardian_ref[0] == '\0') {
		consent_why(why, cap, "guardian_ref: missing (required when actor is guardian)");
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	if (ev->guardian_ref[0] != '\0' && ev->actor != CONSENT_ACTOR_GUARDIAN) {
		consent_why(why, cap, "guardian_ref: only with actor \"guardian\"");
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	if (ev->type == CONSENT_EV_GRANT && !consent_method_affirmative(ev->method)) {
		/* The value is not echoed: a brand's free text may hold anything. */
		consent_why(why, cap, "method: not an affirmative act (R08); accepted: %s",
			    consent_affirmative_methods_text);
		return CR_ERR_CONSENT_METHOD;
	}
	return CR_OK;
}

static cr_err check_subject(const struct consent_event *ev, char *why, size_t cap)
{
	uint32_t kv = ev->subject.key_version;

	if (kv < 1 || kv > CONSENT_KEY_VERSIONS_MAX || ev->n_aliases > CONSENT_KEY_VERSIONS_MAX) {
		consent_why(why, cap, "subject: key version out of range");
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	for (size_t i = 0; i < ev->n_aliases; i++) {
		uint32_t a = ev->aliases[i].key_version;
		if (a < 1 || a > CONSENT_KEY_VERSIONS_MAX || a == kv) {
			consent_why(why, cap, "subject: alias key version out of range");
			return CR_ERR_CONSENT_EVENT_FIELD;
		}
	}
	return CR_OK;
}

cr_err consent_event_check(const struct consent_event *ev, char *why, size_t cap)
{
	const struct consent_type_rule *rule = consent_type_rule(ev->type);
	const char *type = consent_event_type_name(ev->type);
	unsigned present, lacking, extra;
	cr_err rc;

	if (rule == NULL) {
		consent_why(why, cap, "type: unknown");
		return CR_ERR_CONSENT_EVENT_TYPE;
	}
	present = fields_present(ev);
	lacking = rule->required & ~present;
	extra = present & ~rule->allowed;
	if (lacking) {
		consent_why(why, cap, "%s: missing (required for %s)", field_name(lacking), type);
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	if (extra) {
		consent_why(why, cap, "%s: not accepted for %s", field_name(extra), type);
		return CR_ERR_CONSENT_EVENT_UNKNOWN_FIELD;
	}
	if ((rc = check_subject(ev, why, cap)) != CR_OK || (rc = check_times(ev, why, cap)) != CR_OK ||
	    (rc = check_texts(ev, why, cap)) != CR_OK)
		return rc;
	return check_actor_method(ev, why, cap);
}

/*
 * Against the brand's notices: a served/grant/refuse event names a
 * published version; a grant/refuse names a purpose it declares and a
 * recipient it declares for that purpose. Fills the change's notice.
 */
static cr_err check_catalog(const struct consent_catalog *c, const struct consent_event *ev,
			    struct consent_change *ch, char *why, size_t cap)
{
	const struct cat_version *v;

	if (ev->notice_version == 0) {
		/* Withdrawals and objections record the notice current when received. */
		v = catalog_current_at(c, ch->effective);
		if (v != NULL) {
			ch->notice_version = v->version;
			memcpy(ch->notice_hash, v->hash, CONSENT_HASH_BYTES);
		}
		return CR_OK;
	}
	v = catalog_version(c, ev->notice_version);
	if (v == NULL) {
		consent_why(why, cap, "notice_version: no published version %u", ev->notice_version);
		return CR_ERR_CONSENT_NOTICE_NOT_FOUND;
	}
	ch->notice_version = v->version;
	memcpy(ch->notice_hash, v->hash, CONSENT_HASH_BYTES);
	if (ev->type == CONSENT_EV_SERVED)
		return CR_OK;
	if (catalog_purpose(v, ev->purpose) == NULL) {
		consent_why(why, cap, "purpose: \"%s\" is not declared by notice version %u",
			    ev->purpose, v->version);
		return CR_ERR_CONSENT_UNKNOWN_PURPOSE;
	}
	if (ev->recipient[0] && catalog_recipient(v, ev->recipient, ev->purpose) == NULL) {
		consent_why(why, cap,
			    "recipient: \"%s\" is not declared for purpose \"%s\" by notice version %u",
			    ev->recipient, ev->purpose, v->version);
		return CR_ERR_CONSENT_UNKNOWN_RECIPIENT;
	}
	return CR_OK;
}

/* ---------------------------------------------------------------- storing */

static void hash_str(crypto_hash_sha256_state *h, const char *s)
{
	uint8_t len[4];
	size_t n = strlen(s);

	len[0] = (uint8_t)(n >> 24);
	len[1] = (uint8_t)(n >> 16);
	len[2] = (uint8_t)(n >> 8);
	len[3] = (uint8_t)n;
	crypto_hash_sha256_update(h, len, 4);
	crypto_hash_sha256_update(h, (const uint8_t *)s, n);
}

static void hash_i64(crypto_hash_sha256_state *h, int64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
	crypto_hash_sha256_update(h, b, 8);
}

/* SHA-256 over every field, each length-prefixed, so two different events
 * never share it and a re-sent one always does. `received` counts only when
 * it came with the event: a receipt time stamped on arrival is not part of
 * what was sent (re-importing a file finds its duplicates), while a
 * corrected receipt time is a different event. */
static void event_dedupe(const struct consent_event *ev, uint8_t out[static 32])
{
	crypto_hash_sha256_state h;

	crypto_hash_sha256_init(&h);
	hash_str(&h, "cr-consent-event-v1");
	hash_str(&h, consent_event_type_name(ev->type));
	crypto_hash_sha256_update(&h, ev->subject.bytes, CRYPTO_PSEUDONYM_BYTES);
	hash_i64(&h, ev->subject.key_version);
	hash_str(&h, ev->purpose);
	hash_str(&h, ev->recipient);
	hash_i64(&h, ev->notice_version);
	hash_i64(&h, ev->actor);
	hash_str(&h, ev->channel);
	hash_str(&h, ev->method);
	hash_str(&h, ev->signal);
	hash_str(&h, ev->guardian_ref);
	hash_str(&h, ev->jurisdiction);
	hash_i64(&h, ev->birth_year);
	hash_str(&h, ev->evidence);
	hash_i64(&h, ev->time);
	hash_i64(&h, ev->expires);
	if (ev->received_given)
		hash_i64(&h, ev->received);
	crypto_hash_sha256_final(&h, out);
}

static void bind_text_or_null(sqlite3_stmt *st, int col, const char *s)
{
	if (s != NULL && s[0] != '\0')
		sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, col);
}

/* For a grant: the latest served event of its notice version at or before
 * it (R24's served-event reference; 0 if none yet), from the subject's
 * history (cached across the lines of one subject in an import). */
static cr_err find_served(struct consent_ctx *ctx, int64_t brand, const struct consent_event *ev,
			  int64_t *out)
{
	const struct hist_event *best = NULL;
	cr_err rc = consent_history_load(ctx, brand, &ev->subject);

	*out = 0;
	if (rc != CR_OK)
		return rc;
	for (size_t i = 0; i < ctx->hist.n; i++) {
		const struct hist_event *x = &ctx->hist.ev[i];
		if (x->type == CONSENT_EV_SERVED && x->notice_version == ev->notice_version &&
		    x->time <= ev->time &&
		    (best == NULL || x->time > best->time ||
		     (x->time == best->time && x->id > best->id)))
			best = x;
	}
	if (best != NULL)
		*out = best->id;
	return CR_OK;
}

/* The stored event as the rules read it (notice_version as stored). */
static void hist_from_event(const struct consent_event *ev, const struct consent_change *ch,
			    struct hist_event *e)
{
	memset(e, 0, sizeof(*e));
	e->id = ch->event_id;
	e->type = ev->type;
	e->actor = ev->actor;
	consent_copy(e->purpose, sizeof(e->purpose), ev->purpose);
	consent_copy(e->recipient, sizeof(e->recipient), ev->recipient);
	e->notice_version = ch->notice_version;
	e->time = ev->time;
	e->effective = ch->effective;
	e->expires = ev->expires;
	e->birth_year = ev->birth_year;
	consent_copy(e->jur, sizeof(e->jur), ev->jurisdiction);
}

static void bind_event(sqlite3_stmt *st, int64_t brand, const struct consent_event *ev,
		       const struct consent_change *ch, const uint8_t dedupe[32])
{
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_text(st, 2, consent_event_type_name(ev->type), -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, ev->subject.bytes, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, ev->subject.key_version);
	bind_text_or_null(st, 5, ev->purpose);
	bind_text_or_null(st, 6, ev->recipient);
	if (ch->notice_version != 0) {
		sqlite3_bind_int64(st, 7, ch->notice_version);
		sqlite3_bind_blob(st, 8, ch->notice_hash, CONSENT_HASH_BYTES, SQLITE_STATIC);
	}
	if (ch->served_ref != 0)
		sqlite3_bind_int64(st, 9, ch->served_ref);
	bind_text_or_null(st, 10, consent_actor_name(ev->actor));
	bind_text_or_null(st, 11, ev->guardian_ref);
	bind_text_or_null(st, 12, ev->channel);
	bind_text_or_null(st, 13, ev->method);
	bind_text_or_null(st, 14, ev->signal);
	sqlite3_bind_int64(st, 15, ev->time);
	sqlite3_bind_int64(st, 16, ev->received);
	sqlite3_bind_int64(st, 17, ch->effective);
	if (ev->expires != CONSENT_TIME_NONE)
		sqlite3_bind_int64(st, 18, ev->expires);
	bind_text_or_null(st, 19, ev->jurisdiction);
	if (ev->birth_year != 0)
		sqlite3_bind_int(st, 20, ev->birth_year);
	bind_text_or_null(st, 21, ev->evidence);
	sqlite3_bind_blob(st, 22, dedupe, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 23, consent_skey(ev->subject.bytes));
}

/* The stored copy of an identical event: its id and served_ref. */
static cr_err find_duplicate(struct consent_ctx *ctx, int64_t brand,
			     const struct consent_event *ev, const uint8_t dedupe[32],
			     struct consent_change *ch)
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_EVENT_BY_DEDUPE);
	int s;

	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_blob(st, 2, ev->subject.bytes, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ev->subject.key_version);
	sqlite3_bind_blob(st, 4, dedupe, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, consent_skey(ev->subject.bytes));
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		ch->event_id = sqlite3_column_int64(st, 0);
		ch->served_ref = sqlite3_column_int64(st, 1);
		ch->duplicate = true;
	}
	sqlite3_reset(st);
	return s == SQLITE_ROW ? CR_OK : s == SQLITE_DONE ? CR_ERR_CONSENT : consent_sqlite_err(ctx->db, s);
}

/*
 * Inserts the event (the trigger adds its consent_event_keys row in the
 * same statement). An identical event already stored makes the key's
 * primary key refuse the whole statement: then ch->duplicate and the
 * stored id.
 */
static cr_err insert_event(struct consent_ctx *ctx, int64_t brand, const struct consent_event *ev,
			   struct consent_change *ch)
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_EVENT_INSERT);
	uint8_t dedupe[32];
	int s, ext;

	if (st == NULL)
		return CR_ERR_CONSENT;
	event_dedupe(ev, dedupe);
	bind_event(st, brand, ev, ch, dedupe);
	s = sqlite3_step(st);
	ext = s == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(ctx->db);
	sqlite3_reset(st);
	if (s == SQLITE_DONE) {
		/* the events row's: the trigger's insert does not change it */
		ch->event_id = sqlite3_last_insert_rowid(ctx->db);
		return CR_OK;
	}
	if (ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		return find_duplicate(ctx, brand, ev, dedupe, ch);
	return ext == SQLITE_CONSTRAINT_TRIGGER ? CR_ERR_CONSENT_APPEND_ONLY
						: consent_sqlite_err(NULL, s);
}

/* One pseudonym onto the suppression list for the withdrawal's scope. */
static cr_err suppress_one(struct consent_ctx *ctx, int64_t brand, const struct consent_event *ev,
			   const struct crypto_pseudonym *p, struct consent_change *ch)
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_SUPP_INSERT);
	cr_err rc;

	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_blob(st, 2, p->bytes, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, p->key_version);
	sqlite3_bind_text(st, 4, ev->purpose, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, ev->recipient, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, ch->effective);
	sqlite3_bind_int64(st, 7, ch->event_id);
	rc = consent_step_done(st);
	if (rc == CR_OK)
		ch->suppressed += (unsigned)sqlite3_changes(ctx->db);
	return rc;
}

/* Calls the purge callback for the subject's every pseudonym (all key versions). */
static cr_err purge_subject(struct consent_ctx *ctx, int64_t brand, const struct consent_event *ev,
			    const char *purpose, const char *recipient, struct consent_change *ch)
{
	cr_err rc = ctx->purge(ctx->purge_user, brand, &ev->subject, purpose, recipient);

	ch->purged += rc == CR_OK;
	for (size_t i = 0; i < ev->n_aliases && rc == CR_OK; i++) {
		rc = ctx->purge(ctx->purge_user, brand, &ev->aliases[i], purpose, recipient);
		ch->purged += rc == CR_OK;
	}
	return rc;
}

/*
 * I3: suppress every pseudonym of the subject, then purge each. The purge
 * runs last so the callback sees the withdrawal in consent_valid_at.
 */
static cr_err withdraw_effects(struct consent_ctx *ctx, int64_t brand,
			       const struct consent_event *ev, struct consent_change *ch)
{
	const char *purpose = ev->purpose[0] ? ev->purpose : NULL;
	const char *recipient = ev->recipient[0] ? ev->recipient : NULL;
	cr_err rc = suppress_one(ctx, brand, ev, &ev->subject, ch);

	for (size_t i = 0; i < ev->n_aliases && rc == CR_OK; i++)
		rc = suppress_one(ctx, brand, ev, &ev->aliases[i], ch);
	if (rc == CR_OK)
		rc = purge_subject(ctx, brand, ev, purpose, recipient, ch);
	return rc;
}

/* Whether storing `type` runs the purge callback: withdrawals (I3, R19) and
 * marketing objections (R21), which delete at once what they forbid. */
static bool purges(enum consent_event_type type)
{
	return type == CONSENT_EV_WITHDRAW || type == CONSENT_EV_OBJECT;
}

static void change_init(struct consent_change *ch, int64_t brand, const struct consent_event *ev)
{
	memset(ch, 0, sizeof(*ch));
	ch->brand = brand;
	ch->type = ev->type;
	ch->subject = ev->subject;
	consent_copy(ch->purpose, sizeof(ch->purpose), ev->purpose);
	consent_copy(ch->recipient, sizeof(ch->recipient), ev->recipient);
	ch->time = ev->time;
	ch->received = ev->received;
	ch->effective = consent_effective_time(ev);
}

/*
 * The writes of one event. Any event but a withdrawal is one INSERT, atomic
 * by itself; a withdrawal's several writes and the purge callback run in a
 * savepoint so that a failure leaves none of them. (A savepoint per event
 * would cost a statement journal write per page touched.)
 */
static cr_err store_event(struct consent_ctx *ctx, int64_t brand, const struct consent_event *ev,
			  struct consent_change *ch)
{
	cr_err rc = CR_OK;

	if (ev->type == CONSENT_EV_GRANT)
		rc = find_served(ctx, brand, ev, &ch->served_ref);
	if (rc != CR_OK)
		return rc;
	if (!purges(ev->type)) {
		bool cached = consent_history_is_current(ctx, brand, &ev->subject);
		struct hist_event e;
		rc = insert_event(ctx, brand, ev, ch);
		if (rc == CR_OK && cached && !ch->duplicate) {
			hist_from_event(ev, ch, &e);
			consent_history_append(ctx, &e);
		}
		return rc;
	}
	rc = consent_savepoint(ctx);
	if (rc != CR_OK)
		return rc;
	rc = insert_event(ctx, brand, ev, ch);
	if (rc == CR_OK && !ch->duplicate && ev->type == CONSENT_EV_WITHDRAW)
		rc = withdraw_effects(ctx, brand, ev, ch);
	else if (rc == CR_OK && !ch->duplicate)
		rc = purge_subject(ctx, brand, ev, NULL, NULL, ch); /* the gate decides what stays */
	return consent_savepoint_end(ctx, rc);
}

/*
 * R18: nothing is dated ahead of its arrival. An event whose time or
 * receipt time lies beyond now plus the allowed skew is refused (a future
 * withdrawal would otherwise purge nothing now and wait silently), and so
 * is one received before its own time (a retroactive withdrawal).
 */
static cr_err check_clock(const struct consent_ctx *ctx, const struct consent_event *ev, char *why,
			  size_t cap)
{
	cr_time_ms latest = consent_now(ctx) + ctx->skew_ms;

	if (ev->time > latest) {
		consent_why(why, cap, "time: lies in the future (more than %lld s past now)",
			    (long long)(ctx->skew_ms / 1000));
		return CR_ERR_CONSENT_TIME_FUTURE;
	}
	if (ev->received > latest) {
		consent_why(why, cap, "received: lies in the future (more than %lld s past now)",
			    (long long)(ctx->skew_ms / 1000));
		return CR_ERR_CONSENT_RECEIVED_FUTURE;
	}
	if (ev->received < ev->time) {
		consent_why(why, cap, "received: is earlier than time");
		return CR_ERR_CONSENT_RECEIVED_EARLY;
	}
	return CR_OK;
}

static cr_err record_event(struct consent_ctx *ctx, int64_t brand, const struct consent_event *ev,
			   struct consent_change *out, char *why, size_t cap)
{
	const struct consent_catalog *c;
	struct consent_change ch;
	cr_err rc;

	if (ev == NULL || ev->n_split > 1)
		return CR_ERR_INVALID_ARG; /* one scope per call: consent_event_scope */
	rc = consent_event_check(ev, why, cap);
	if (rc == CR_OK &&
	    (ev->actor == CONSENT_ACTOR_NONE || ev->channel[0] == '\0' || ev->method[0] == '\0')) {
		/* R24: the caller names how it arrived (consent_event_source). */
		consent_why(why, cap, "actor, channel and method: not recorded (R24)");
		rc = CR_ERR_INVALID_ARG;
	}
	if (rc == CR_OK)
		rc = check_clock(ctx, ev, why, cap);
	if (rc != CR_OK)
		return rc;
	change_init(&ch, brand, ev);
	rc = consent_catalog_get(ctx, brand, &c);
	if (rc == CR_OK)
		rc = check_catalog(c, ev, &ch, why, cap);
	if (rc == CR_OK)
		rc = consent_guardian_grant_check(ctx, brand, ev, why, cap);
	if (rc != CR_OK)
		return rc;
	/* `c` may be reloaded by the purge callback: not used past here. */
	rc = store_event(ctx, brand, ev, &ch);
	if (rc == CR_OK && !purges(ev->type))
		consent_catalog_restamp(ctx, brand); /* an event changes no catalog */
	if (rc == CR_OK && out != NULL)
		*out = ch;
	return rc;
}

cr_err consent_record(struct consent_ctx *ctx, int64_t brand, const struct consent_event *ev,
		      struct consent_change *out, char *why, size_t why_cap)
{
	if (ev != NULL && ev->type == CONSENT_EV_WITHDRAW)
		return consent_withdraw(ctx, brand, ev, out, why, why_cap);
	if (ev != NULL && purges(ev->type) && ctx != NULL && ctx->purge == NULL) {
		consent_why(why, why_cap, "no purge callback is registered");
		return CR_ERR_CONSENT_NO_PURGE;
	}
	return record_event(ctx, brand, ev, out, why, why_cap);
}

cr_err consent_withdraw(struct consent_ctx *ctx, int64_t brand, const struct consent_event *ev,
			struct consent_change *out, char *why, size_t why_cap)
{
	if (ev == NULL || ev->type != CONSENT_EV_WITHDRAW)
		return CR_ERR_INVALID_ARG;
	if (ctx->purge == NULL) {
		consent_why(why, why_cap, "no purge callback is registered");
		return CR_ERR_CONSENT_NO_PURGE;
	}
	return record_event(ctx, brand, ev, out, why, why_cap);
}
