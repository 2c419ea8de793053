/*
 * rules.c: consent_valid_at, the registry's answer to "may this subject's
 * data be processed for this purpose (and shared with this recipient) at
 * time t", computed from the append-only history alone (R18). consent.h
 * states the rules in the order they are applied; this file follows it.
 *
 * A decision reads the brand's cached catalog and the subject's events
 * (one indexed query, cached while the database is unchanged), then works
 * in memory: no allocation, no SQL per rule.
 */
#include <string.h>

#include "consent/consent_internal.h"

static const char *const reason_names[CONSENT_REASON_COUNT] = {
	[CONSENT_OK] = "OK",
	[CONSENT_NOT_GIVEN] = "NOT_GIVEN",
	[CONSENT_NO_NOTICE_SERVED] = "NO_NOTICE_SERVED",
	[CONSENT_NOTICE_NOT_CURRENT] = "NOTICE_NOT_CURRENT",
	[CONSENT_REFUSED] = "REFUSED",
	[CONSENT_WITHDRAWN] = "WITHDRAWN",
	[CONSENT_EXPIRED] = "EXPIRED",
	[CONSENT_MATERIAL_CHANGE] = "MATERIAL_CHANGE",
	[CONSENT_GUARDIAN_REQUIRED] = "GUARDIAN_REQUIRED",
	[CONSENT_AGE_UNKNOWN] = "AGE_UNKNOWN",
	[CONSENT_OBJECTED] = "OBJECTED",
	[CONSENT_SUPPRESSED] = "SUPPRESSED",
	[CONSENT_UNKNOWN_PURPOSE] = "UNKNOWN_PURPOSE",
	[CONSENT_UNKNOWN_RECIPIENT] = "UNKNOWN_RECIPIENT",
	[CONSENT_CONFIRMATION_REQUIRED] = "CONFIRMATION_REQUIRED",
};

const char *consent_reason_name(enum consent_reason r)
{
	return (unsigned)r < CONSENT_REASON_COUNT ? reason_names[r] : "UNKNOWN";
}

#define EVAL_JUR_MAX 8

/* What one decision works from. */
struct eval {
	const struct consent_catalog *c;
	const struct subject_history *h;
	size_t n;                   /* events with effective <= at: h->ev[0..n) */
	cr_time_ms at;
	unsigned flags;
	int birth_year;             /* the youngest stated (the latest year); 0 unknown */
	size_t njur;
	const char *jur[EVAL_JUR_MAX];
	bool many_jur;              /* more than EVAL_JUR_MAX: treat as several */
};

/* The scope being decided: a purpose, and a recipient or "" for none. */
struct scope {
	const char *purpose;
	const char *recipient;
};

static void eval_init(struct eval *e, const struct consent_catalog *c,
		      const struct subject_history *h, cr_time_ms at, unsigned flags)
{
	memset(e, 0, sizeof(*e));
	e->c = c;
	e->h = h;
	e->at = at;
	e->flags = flags;
	while (e->n < h->n && h->ev[e->n].effective <= at)
		e->n++;
	for (size_t i = 0; i < e->n; i++) {
		const struct hist_event *x = &h->ev[i];
		bool seen = false;
		if (x->birth_year > e->birth_year)
			e->birth_year = x->birth_year; /* conflicting years: the youngest */
		if (x->jur[0] == '\0')
			continue;
		for (size_t j = 0; j < e->njur; j++)
			seen = seen || strcmp(e->jur[j], x->jur) == 0;
		if (!seen && e->njur < EVAL_JUR_MAX)
			e->jur[e->njur++] = x->jur;
		else if (!seen)
			e->many_jur = true;
	}
}

/* ------------------------------------------------------------------ R05 */

/* Was `version` the current one at time t: published by then, and no later
 * version published by then? */
static bool version_current_at(const struct consent_catalog *c, uint32_t version, cr_time_ms t)
{
	const struct cat_version *v = catalog_version(c, version);

	if (v == NULL || v->published > t)
		return false;
	for (size_t i = 0; i < c->nversions; i++)
		if (c->versions[i].version > version && c->versions[i].published <= t)
			return false;
	return true;
}

static enum consent_reason check_served(const struct eval *e, const struct hist_event *g)
{
	bool served = false;

	for (size_t i = 0; i < e->n; i++) {
		const struct hist_event *s = &e->h->ev[i];
		if (s->type != CONSENT_EV_SERVED || s->notice_version != g->notice_version ||
		    s->time > g->time)
			continue;
		served = true;
		if (version_current_at(e->c, s->notice_version, s->time))
			return CONSENT_OK;
	}
	return served ? CONSENT_NOTICE_NOT_CURRENT : CONSENT_NO_NOTICE_SERVED;
}

/* ------------------------------------------------------------------ R06 */

static bool change_covers(const struct cat_change *ch, const struct scope *sc)
{
	switch (ch->kind) {
	case CAT_CHANGE_ALL:
		return true;
	case CAT_CHANGE_PURPOSE:
		return strcmp(ch->code, sc->purpose) == 0;
	case CAT_CHANGE_RECIPIENT:
		return sc->recipient[0] != '\0' && strcmp(ch->code, sc->recipient) == 0;
	default:
		return true; /* an unknown kind: the stricter reading */
	}
}

static enum consent_reason check_material(const struct eval *e, const struct hist_event *g,
					  const struct scope *sc)
{
	for (size_t i = 0; i < e->c->nversions; i++) {
		const struct cat_version *v = &e->c->versions[i];
		if (v->version <= g->notice_version || !v->material || v->published > e->at)
			continue;
		for (size_t j = 0; j < v->nchanges; j++)
			if (change_covers(&v->changes[j], sc))
				return CONSENT_MATERIAL_CHANGE;
	}
	return CONSENT_OK;
}

/* ------------------------------------------------------------------ R15 */

/* The guardian threshold: the highest of every jurisdiction that applies,
 * the subject's stated ones and the grant's notice's together; with none,
 * the strictest. */
static int child_threshold(const struct eval *e, const struct hist_event *g)
{
	const struct cat_version *v = catalog_version(e->c, g->notice_version);
	int age = 0;

	if (e->many_jur)
		return catalog_child_age(e->c, "");
	for (size_t i = 0; i < e->njur; i++) {
		int a = catalog_child_age(e->c, e->jur[i]);
		age = a > age ? a : age;
	}
	for (size_t i = 0; v != NULL && i < v->njur; i++) {
		int a = catalog_child_age(e->c, v->jur[i]);
		age = a > age ? a : age;
	}
	return age != 0 ? age : catalog_child_age(e->c, "");
}

/* The subject's age at t as far as it is known: only the year is, so the
 * birthday is assumed not yet reached (R15 and R16 count alike, so the
 * instant a child's own grant starts to count is the instant a guardian's
 * stops). */
static int age_floor_at(const struct eval *e, cr_time_ms t)
{
	return consent_year_of(t) - e->birth_year - 1;
}

/* R16: a guardian's grant counts while the subject is a child at `at`; once
 * they are not, it waits for the subject's own grant. Unknown age: it counts. */
static enum consent_reason check_guardian_grant(const struct eval *e, const struct hist_event *g)
{
	if (e->birth_year == 0)
		return CONSENT_OK;
	return age_floor_at(e, e->at) >= child_threshold(e, g) ? CONSENT_CONFIRMATION_REQUIRED
								 : CONSENT_OK;
}

static enum consent_reason check_age(const struct eval *e, const struct hist_event *g)
{
	if (g->actor == CONSENT_ACTOR_GUARDIAN)
		return check_guardian_grant(e, g);
	if (e->birth_year == 0)
		return (e->flags & CONSENT_CHILD_DIRECTED) ? CONSENT_AGE_UNKNOWN : CONSENT_OK;
	return age_floor_at(e, g->time) < child_threshold(e, g) ? CONSENT_GUARDIAN_REQUIRED : CONSENT_OK;
}

/* ----------------------------------------------------------------- grants */

static enum consent_reason grant_validity(const struct eval *e, const struct hist_event *g,
					  const struct scope *sc)
{
	enum consent_reason r = check_served(e, g);

	if (r != CONSENT_OK)
		return r;
	if (g->expires != CONSENT_TIME_NONE && e->at >= g->expires)
		return CONSENT_EXPIRED;
	r = check_material(e, g, sc);
	if (r != CONSENT_OK)
		return r;
	return check_age(e, g);
}

/* A grant or refusal for exactly this scope. */
static bool is_answer(const struct hist_event *x, const struct scope *sc)
{
	return (x->type == CONSENT_EV_GRANT || x->type == CONSENT_EV_REFUSE) &&
	       strcmp(x->purpose, sc->purpose) == 0 && strcmp(x->recipient, sc->recipient) == 0;
}

/* A withdrawal or expiry whose scope covers this one: no purpose means
 * every purpose; no recipient covers the purpose's sharing too. */
static bool ends_scope(const struct hist_event *x, const struct scope *sc)
{
	if (x->type == CONSENT_EV_REFUSE)
		return is_answer(x, sc);
	if (x->type != CONSENT_EV_WITHDRAW && x->type != CONSENT_EV_EXPIRE)
		return false;
	if (x->purpose[0] != '\0' && strcmp(x->purpose, sc->purpose) != 0)
		return false;
	return x->recipient[0] == '\0' || strcmp(x->recipient, sc->recipient) == 0;
}

static bool purpose_is_marketing(const struct consent_catalog *c, uint32_t version,
				 const char *purpose)
{
	const struct cat_version *v = catalog_version(c, version);
	const struct cat_purpose *p = v != NULL ? catalog_purpose(v, purpose) : NULL;

	return p == NULL || p->marketing; /* unknown: the stricter reading */
}

/* R21: an objection received at or after the grant's instant (a tie is
 * protective), at or before `at`. */
static const struct hist_event *objection_after(const struct eval *e, const struct hist_event *g)
{
	for (size_t i = e->n; i > 0; i--) {
		const struct hist_event *x = &e->h->ev[i - 1];
		if (x->type == CONSENT_EV_OBJECT && x->effective >= g->effective)
			return x;
	}
	return NULL;
}

static void deny(struct consent_decision *d, enum consent_reason r, const struct hist_event *x)
{
	d->allowed = false;
	d->reason = r;
	d->event_id = x != NULL ? x->id : 0;
	d->notice_version = x != NULL ? x->notice_version : 0;
}

static enum consent_reason end_reason(enum consent_event_type t)
{
	return t == CONSENT_EV_REFUSE ? CONSENT_REFUSED
	       : t == CONSENT_EV_EXPIRE ? CONSENT_EXPIRED
					: CONSENT_WITHDRAWN;
}

/* Decides one scope (consent.h: the latest end, then the latest valid grant). */
static void decide_scope(const struct eval *e, const struct scope *sc, struct consent_decision *d)
{
	const struct hist_event *end = NULL, *latest = NULL, *valid = NULL, *obj;
	enum consent_reason latest_reason = CONSENT_NOT_GIVEN;
	size_t from = 0;

	for (size_t i = 0; i < e->n; i++) {
		if (ends_scope(&e->h->ev[i], sc)) {
			end = &e->h->ev[i];
			from = i + 1;
		}
	}
	/* Ties are protective: a grant taking effect at the very instant of
	 * the last end does not outlive it, whichever was stored first. */
	while (end != NULL && from < e->n && e->h->ev[from].effective == end->effective)
		from++;
	for (size_t i = e->n; i > from && valid == NULL; i--) {
		const struct hist_event *g = &e->h->ev[i - 1];
		enum consent_reason r;
		if (g->type != CONSENT_EV_GRANT || !is_answer(g, sc))
			continue;
		r = grant_validity(e, g, sc);
		if (latest == NULL) {
			latest = g;
			latest_reason = r;
		}
		if (r == CONSENT_OK)
			valid = g;
	}
	if (valid == NULL) {
		if (latest != NULL)
			deny(d, latest_reason, latest);
		else if (end != NULL)
			deny(d, end_reason(end->type), end);
		else
			deny(d, CONSENT_NOT_GIVEN, NULL);
		return;
	}
	obj = purpose_is_marketing(e->c, valid->notice_version, sc->purpose)
		      ? objection_after(e, valid)
		      : NULL;
	if (obj != NULL) {
		deny(d, CONSENT_OBJECTED, obj);
		return;
	}
	d->allowed = true;
	d->reason = CONSENT_OK;
	d->event_id = valid->id;
	d->notice_version = valid->notice_version;
}

/* ------------------------------------------------------------ suppression */

static bool supp_covers(const struct supp_entry *r, const struct scope *sc)
{
	if (r->purpose[0] != '\0' && strcmp(r->purpose, sc->purpose) != 0)
		return false;
	return r->recipient[0] == '\0' || strcmp(r->recipient, sc->recipient) == 0;
}

/* A grant for exactly the scope after `since` lifts the entry (consent.h). */
static bool supp_lifted(const struct eval *e, const struct supp_entry *r, const struct scope *sc)
{
	for (size_t i = 0; i < e->n; i++) {
		const struct hist_event *x = &e->h->ev[i];
		if (x->type == CONSENT_EV_GRANT && is_answer(x, sc) && x->effective > r->since)
			return true;
	}
	return false;
}

static cr_err scope_suppressed(struct consent_ctx *ctx, int64_t brand, const struct eval *e,
			       const struct crypto_pseudonym *p, const struct scope *sc,
			       bool *out)
{
	cr_err rc = consent_supp_load(ctx, brand, p);

	*out = false;
	if (rc != CR_OK)
		return rc;
	for (size_t i = 0; i < ctx->supp.n && !*out; i++) {
		const struct supp_entry *r = &ctx->supp.rows[i];
		*out = r->since <= e->at && supp_covers(r, sc) && !supp_lifted(e, r, sc);
	}
	return CR_OK;
}

/* ------------------------------------------------------------- decisions */

/* UNKNOWN_PURPOSE / UNKNOWN_RECIPIENT unless some version declares them. */
static enum consent_reason check_declared(const struct consent_catalog *c, const char *purpose,
					  const char *recipient)
{
	bool purpose_seen = false;

	for (size_t i = 0; i < c->nversions; i++) {
		if (catalog_purpose(&c->versions[i], purpose) == NULL)
			continue;
		purpose_seen = true;
		if (recipient == NULL || catalog_recipient(&c->versions[i], recipient, purpose))
			return CONSENT_OK;
	}
	return purpose_seen ? CONSENT_UNKNOWN_RECIPIENT : CONSENT_UNKNOWN_PURPOSE;
}

/* Loads what a decision needs into *e. */
static cr_err eval_load(struct consent_ctx *ctx, int64_t brand, const struct crypto_pseudonym *p,
			cr_time_ms at, unsigned flags, struct eval *e)
{
	const struct consent_catalog *c;
	cr_err rc = consent_catalog_get(ctx, brand, &c);

	if (rc == CR_OK)
		rc = consent_history_load(ctx, brand, p);
	if (rc == CR_OK)
		eval_init(e, c, &ctx->hist, at, flags);
	return rc;
}

static bool args_valid(const struct crypto_pseudonym *p, const char *purpose,
		       const char *recipient)
{
	return p != NULL && purpose != NULL && consent_code_valid(purpose, CONSENT_CODE_MAX) &&
	       (recipient == NULL || consent_code_valid(recipient, CONSENT_CODE_MAX));
}

/* Decides one scope and, for NOT_GIVEN, looks at the suppression list. */
static cr_err decide_with_suppression(struct consent_ctx *ctx, int64_t brand,
				      const struct eval *e, const struct crypto_pseudonym *p,
				      const struct scope *sc, struct consent_decision *d)
{
	bool suppressed = false;
	cr_err rc = CR_OK;

	decide_scope(e, sc, d);
	if (d->reason == CONSENT_NOT_GIVEN)
		rc = scope_suppressed(ctx, brand, e, p, sc, &suppressed);
	if (suppressed)
		d->reason = CONSENT_SUPPRESSED;
	return rc;
}

cr_err consent_valid_at(struct consent_ctx *ctx, int64_t brand,
			const struct crypto_pseudonym *subject, const char *purpose,
			const char *recipient, cr_time_ms at, unsigned flags,
			struct consent_decision *out)
{
	struct consent_decision d = { .allowed = false, .reason = CONSENT_NOT_GIVEN };
	struct scope sc = { purpose, "" };
	struct eval e;
	enum consent_reason declared;
	cr_err rc;

	if (ctx == NULL || out == NULL || !args_valid(subject, purpose, recipient))
		return CR_ERR_INVALID_ARG;
	rc = eval_load(ctx, brand, subject, at, flags, &e);
	if (rc != CR_OK)
		return rc;
	declared = check_declared(e.c, purpose, recipient);
	if (declared != CONSENT_OK) {
		d.reason = declared;
		goto done;
	}
	/* The purpose itself, then the separate sharing consent (R09, I2). */
	rc = decide_with_suppression(ctx, brand, &e, subject, &sc, &d);
	if (rc != CR_OK || !d.allowed || recipient == NULL)
		goto done;
	sc.recipient = recipient;
	rc = decide_with_suppression(ctx, brand, &e, subject, &sc, &d);
done:
	if (rc == CR_OK)
		*out = d;
	return rc;
}

cr_err consent_suppressed_at(struct consent_ctx *ctx, int64_t brand,
			     const struct crypto_pseudonym *subject, const char *purpose,
			     const char *recipient, cr_time_ms at, bool *out)
{
	struct scope sc = { purpose, "" };
	struct eval e;
	bool s = false;
	cr_err rc;

	if (ctx == NULL || out == NULL || !args_valid(subject, purpose, recipient))
		return CR_ERR_INVALID_ARG;
	rc = eval_load(ctx, brand, subject, at, 0, &e);
	if (rc == CR_OK)
		rc = scope_suppressed(ctx, brand, &e, subject, &sc, &s);
	if (rc == CR_OK && !s && recipient != NULL) {
		sc.recipient = recipient;
		rc = scope_suppressed(ctx, brand, &e, subject, &sc, &s);
	}
	if (rc == CR_OK)
		*out = s;
	return rc;
}
