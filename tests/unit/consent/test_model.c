/*
 * test_model.c: consent_valid_at against a small, independent evaluator of
 * the rules as docs/spec/consent-rules.md states them (§4), on random
 * histories. The evaluator below shares no code with consent/: it keeps its
 * own copy of every event it stored and decides from that, so a rule the
 * registry gets wrong in some corner shows up as a disagreement, printed
 * with the history, the question and the seed that replays it.
 *
 * Histories mix every kind of event (served, grant, refuse, withdraw,
 * object, expire) with equal timestamps, received times after the event,
 * notice versions material or not (a new recipient, a new category, a
 * material flag alone, a wording change), expiry, jurisdictions stated and
 * the notice's, birth years, guardians (verified or not, R16) and
 * child-directed questions.
 * MODEL_HISTORIES sets how many (default 100,000; `make soak` runs ten
 * times as many), MODEL_SEED replays a run. Subjects are made-up
 * pseudonyms.
 */
#include <inttypes.h>
#include <time.h>

#include "consent_fixture.h"

#define SLOT 1000                   /* ms between the grid's instants */
#define MAX_EVENTS 12
#define QUERIES 4
#define BASE "2026-03-01T00:00:00Z"  /* v1 takes effect here; v2 five slots later */

/* ------------------------------------------------------------ the model */

enum change { CH_NONE, CH_ALL, CH_RECIPIENT_P2 };

struct brand_cfg {
	int64_t id;
	int jur;                /* v1 and v2 jurisdictions: 0 none, 1 CN, 2 EU, 3 CN+EU */
	bool am_marketing;      /* ads_measurement is marketing (audience_insights always is) */
	int eu_age;             /* the brand's "EU" setting, 0 none */
	int v2;                 /* 0 none, 1 wording, 2 adds partner-2, 3 adds a category, 4 material alone */
	cr_time_ms v1_at, v2_at;
};

struct mev {
	enum consent_event_type type;
	char purpose[24], recipient[24], jur[3];
	uint32_t version;
	bool guardian;
	int birth;
	cr_time_ms time, received, effective, expires; /* expires 0: none */
};

struct history {
	const struct brand_cfg *b;
	size_t n;
	struct mev ev[MAX_EVENTS]; /* in the order stored */
};

static bool has_v2(const struct brand_cfg *b)
{
	return b->v2 != 0;
}

static bool v2_material(const struct brand_cfg *b)
{
	return b->v2 >= 2;
}

static cr_time_ms published(const struct brand_cfg *b, uint32_t v)
{
	return v == 1 ? b->v1_at : b->v2_at;
}

static bool version_exists(const struct brand_cfg *b, uint32_t v)
{
	return v == 1 || (v == 2 && has_v2(b));
}

/* Current at t: published by then, and no later version published by then (R05). */
static bool current_at(const struct brand_cfg *b, uint32_t v, cr_time_ms t)
{
	if (!version_exists(b, v) || published(b, v) > t)
		return false;
	return !(v == 1 && has_v2(b) && b->v2_at <= t);
}

static bool declared_recipient(const struct brand_cfg *b, const char *purpose, const char *r)
{
	if (strcmp(purpose, "audience_insights") != 0)
		return false;
	return strcmp(r, "partner-1") == 0 || (strcmp(r, "partner-2") == 0 && b->v2 == 2);
}

static int age_of(const struct brand_cfg *b, const char *jur)
{
	if (strcmp(jur, "CN") == 0)
		return 14;
	if (strcmp(jur, "EU") == 0 || strcmp(jur, "DE") == 0)
		return b->eu_age ? b->eu_age : 16;
	return 16; /* no rule for it: the strictest */
}

/* Events in effect at `at`, ordered by effective time, then as stored. */
static size_t window(const struct history *h, cr_time_ms at, const struct mev *out[MAX_EVENTS])
{
	size_t n = 0;
	for (size_t i = 0; i < h->n; i++)
		if (h->ev[i].effective <= at)
			out[n++] = &h->ev[i];
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j - 1]->effective > out[j]->effective; j--) {
			const struct mev *t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static bool same_scope(const struct mev *x, const char *purpose, const char *recipient)
{
	return strcmp(x->purpose, purpose) == 0 && strcmp(x->recipient, recipient) == 0;
}

/* A refusal of exactly the scope, or a withdrawal or expiry covering it. */
static bool ends(const struct mev *x, const char *purpose, const char *recipient)
{
	if (x->type == CONSENT_EV_REFUSE)
		return same_scope(x, purpose, recipient);
	if (x->type != CONSENT_EV_WITHDRAW && x->type != CONSENT_EV_EXPIRE)
		return false;
	return (x->purpose[0] == '\0' || strcmp(x->purpose, purpose) == 0) &&
	       (x->recipient[0] == '\0' || strcmp(x->recipient, recipient) == 0);
}

/* The UTC year of a time (the model's own arithmetic). */
static int utc_year(cr_time_ms t)
{
	time_t s = (time_t)(t / 1000);
	struct tm tm;
	assert_non_null(gmtime_r(&s, &tm));
	return tm.tm_year + 1900;
}

static enum consent_reason grant_reason(const struct history *h, const struct mev *const *w, size_t n,
					const struct mev *g, const char *recipient, cr_time_ms at,
					bool child_directed)
{
	const struct brand_cfg *b = h->b;
	bool served = false, current = false;
	int birth = 0, threshold = 0;
	for (size_t i = 0; i < n; i++)
		if (w[i]->type == CONSENT_EV_SERVED && w[i]->version == g->version && w[i]->time <= g->time) {
			served = true;
			current = current || current_at(b, w[i]->version, w[i]->time);
		}
	if (!served)
		return CONSENT_NO_NOTICE_SERVED;
	if (!current)
		return CONSENT_NOTICE_NOT_CURRENT;
	if (g->expires != 0 && at >= g->expires)
		return CONSENT_EXPIRED;
	/* R06: a newer material version in effect that added to this scope */
	if (g->version == 1 && v2_material(b) && b->v2_at <= at &&
	    (b->v2 != 2 || (recipient[0] != '\0' && strcmp(recipient, "partner-2") == 0)))
		return CONSENT_MATERIAL_CHANGE;
	for (size_t i = 0; i < n; i++) {
		if (w[i]->birth > birth)
			birth = w[i]->birth;
		if (w[i]->jur[0] != '\0' && age_of(b, w[i]->jur) > threshold)
			threshold = age_of(b, w[i]->jur);
	}
	if ((b->jur & 1) && 14 > threshold)
		threshold = 14;
	if ((b->jur & 2) && age_of(b, "EU") > threshold)
		threshold = age_of(b, "EU");
	if (threshold == 0)
		threshold = 16;
	/* R16: a guardian's grant counts while the subject is still a child at
	 * `at`; from the year they are surely of age, only their own grant does */
	if (g->guardian)
		return birth != 0 && utc_year(at) - birth - 1 >= threshold ? CONSENT_CONFIRMATION_REQUIRED
									   : CONSENT_OK;
	if (birth == 0)
		return child_directed ? CONSENT_AGE_UNKNOWN : CONSENT_OK;
	return utc_year(g->time) - birth - 1 < threshold ? CONSENT_GUARDIAN_REQUIRED : CONSENT_OK;
}

static enum consent_reason end_reason(const struct mev *x)
{
	return x->type == CONSENT_EV_REFUSE ? CONSENT_REFUSED
	       : x->type == CONSENT_EV_EXPIRE ? CONSENT_EXPIRED
					      : CONSENT_WITHDRAWN;
}

/* One scope, as consent-rules.md §4.3 steps 3 to 7 say. */
static enum consent_reason model_scope(const struct history *h, const char *purpose, const char *recipient,
				       cr_time_ms at, bool child_directed)
{
	const struct mev *w[MAX_EVENTS], *end = NULL, *latest = NULL, *valid = NULL;
	enum consent_reason latest_reason = CONSENT_NOT_GIVEN;
	size_t n = window(h, at, w), from = 0;
	bool marketing;
	for (size_t i = 0; i < n; i++)
		if (ends(w[i], purpose, recipient)) {
			end = w[i];
			from = i + 1;
		}
	while (end != NULL && from < n && w[from]->effective == end->effective)
		from++; /* ties are protective */
	for (size_t i = n; i > from && valid == NULL; i--) {
		const struct mev *g = w[i - 1];
		enum consent_reason r;
		if (g->type != CONSENT_EV_GRANT || !same_scope(g, purpose, recipient))
			continue;
		r = grant_reason(h, w, n, g, recipient, at, child_directed);
		if (latest == NULL) {
			latest = g;
			latest_reason = r;
		}
		if (r == CONSENT_OK)
			valid = g;
	}
	if (valid == NULL)
		return latest ? latest_reason : end ? end_reason(end) : CONSENT_NOT_GIVEN;
	marketing = strcmp(purpose, "ads_measurement") != 0 || h->b->am_marketing;
	for (size_t i = 0; marketing && i < n; i++)
		if (w[i]->type == CONSENT_EV_OBJECT && w[i]->effective >= valid->effective)
			return CONSENT_OBJECTED;
	return CONSENT_OK;
}

static enum consent_reason model_decide(const struct history *h, const char *purpose, const char *recipient,
					cr_time_ms at, bool child_directed)
{
	enum consent_reason r;
	if (strcmp(purpose, "ads_measurement") != 0 && strcmp(purpose, "audience_insights") != 0)
		return CONSENT_UNKNOWN_PURPOSE;
	if (recipient != NULL && !declared_recipient(h->b, purpose, recipient))
		return CONSENT_UNKNOWN_RECIPIENT;
	r = model_scope(h, purpose, "", at, child_directed);
	if (r != CONSENT_OK || recipient == NULL)
		return r;
	return model_scope(h, purpose, recipient, at, child_directed);
}

/* ------------------------------------------------------ random histories */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static const char *pick(const char *const *v, unsigned n)
{
	return v[below(n)];
}

static void make_brands(struct fx *f, struct brand_cfg *b, size_t *nb)
{
	static const char *const jurs[4][2] = { { NULL, NULL }, { "CN", NULL }, { "EU", NULL }, { "CN", "EU" } };
	cr_time_ms base = T(BASE);
	char name[32], why[CONSENT_WHY_MAX];
	*nb = 0;
	for (int jur = 0; jur < 4; jur++)
		for (int mk = 0; mk < 2; mk++)
			for (int eu = 0; eu < 2; eu++)
				for (int v2 = 0; v2 < 5; v2++) {
					struct brand_cfg *c = &b[(*nb)++];
					json_t *n, *j;
					*c = (struct brand_cfg){ .jur = jur, .am_marketing = mk, .eu_age = eu ? 13 : 0,
								 .v2 = v2, .v1_at = base, .v2_at = base + 5 * SLOT };
					snprintf(name, sizeof(name), "m%zu", *nb);
					assert_int_equal(consent_brand_create(f->ctx, name, base - SLOT, &c->id), CR_OK);
					if (c->eu_age)
						assert_int_equal(consent_brand_set_child_age(f->ctx, c->id, "EU", 13), CR_OK);
					for (int v = 1; v <= (v2 ? 2 : 1); v++) {
						n = notice_base(v, v == 1 || v2 >= 2);
						j = json_array();
						for (int k = 0; k < 2; k++)
							if (jurs[jur][k])
								json_array_append_new(j, json_string(jurs[jur][k]));
						if (json_array_size(j) == 0)
							json_object_del(n, "jurisdictions");
						else
							json_object_set(n, "jurisdictions", j);
						json_decref(j);
						json_object_set_new(json_array_get(json_object_get(n, "purposes"), 0),
								    "marketing", json_boolean(mk));
						if (v == 2 && v2 == 1)
							json_object_set_new(n, "text", json_string("the same, clearer"));
						if (v == 2 && v2 == 2)
							json_array_append_new(json_object_get(n, "recipients"),
									      json_pack("{s:s,s:s,s:s,s:s,s:s,s:[s]}", "id",
											"partner-2", "name", "Other Media",
											"contact", "dpo@other.example",
											"country", "CN", "purpose",
											"audience_insights", "categories",
											"segment"));
						if (v == 2 && v2 == 3)
							json_array_append_new(json_object_get(n, "categories"),
									      json_string("age_band"));
						{
							char *text = json_dumps(n, 0);
							cr_err rc = consent_notice_publish(f->ctx, c->id, text, strlen(text),
											   v == 1 ? c->v1_at : c->v2_at,
											   NULL, why, sizeof(why));
							if (rc != CR_OK)
								fail_msg("brand %s v%d: %s", name, v, why);
							free(text);
						}
						json_decref(n);
					}
				}
}

static cr_time_ms slot_time(int slot)
{
	return T(BASE) + (cr_time_ms)slot * SLOT;
}

/* What a story's opening event is to be (a served notice, then its grants); 0: random. */
struct opening {
	enum consent_event_type type;
	uint32_t version;
	int slot;
	const char *purpose, *recipient;
};

/* A random event of the history (or the opening `o` asks for); false if
 * consent_record refused it (not stored, not modelled). */
static bool add_event(struct fx *f, struct history *h, struct crypto_pseudonym p, unsigned serial,
		      const struct opening *o)
{
	static const char *const purposes[] = { "ads_measurement", "audience_insights" };
	static const char *const recipients[] = { "", "", "", "partner-1", "partner-2" };
	static const char *const jurs[] = { "", "", "", "CN", "EU", "DE", "US" };
	static const int births[] = { 0, 0, 0, 2008, 2010, 2011, 2012, 2013, 1990 };
	static const enum consent_event_type types[] = {
		CONSENT_EV_SERVED, CONSENT_EV_SERVED, CONSENT_EV_GRANT, CONSENT_EV_GRANT, CONSENT_EV_GRANT,
		CONSENT_EV_REFUSE, CONSENT_EV_WITHDRAW, CONSENT_EV_WITHDRAW, CONSENT_EV_OBJECT, CONSENT_EV_EXPIRE,
	};
	struct mev *m = &h->ev[h->n];
	struct consent_event e;
	char why[CONSENT_WHY_MAX];
	memset(m, 0, sizeof(*m));
	m->type = o ? o->type : types[below(sizeof(types) / sizeof(types[0]))];
	m->time = slot_time(o ? o->slot : (int)below(12) - 1);
	m->received = m->time;
	consent_event_init(&e, m->type);
	e.subject = p;
	snprintf(e.evidence, sizeof(e.evidence), "e%u", serial); /* no two events alike */
	switch (m->type) {
	case CONSENT_EV_SERVED:
		m->version = o ? o->version : has_v2(h->b) && below(2) ? 2 : 1;
		snprintf(e.channel, sizeof(e.channel), "web");
		break;
	case CONSENT_EV_GRANT:
	case CONSENT_EV_REFUSE:
		m->version = o ? o->version : has_v2(h->b) && below(2) ? 2 : 1;
		snprintf(m->purpose, sizeof(m->purpose), "%s", o ? o->purpose : pick(purposes, 2));
		snprintf(m->recipient, sizeof(m->recipient), "%s", o ? o->recipient : pick(recipients, 5));
		m->guardian = below(5) == 0;
		m->birth = births[below(sizeof(births) / sizeof(births[0]))];
		snprintf(m->jur, sizeof(m->jur), "%s", pick(jurs, 7));
		if (below(4) == 0)
			m->expires = m->time + (cr_time_ms)(1 + below(6)) * SLOT;
		e.actor = m->guardian ? CONSENT_ACTOR_GUARDIAN : CONSENT_ACTOR_SUBJECT;
		if (m->guardian)
			snprintf(e.guardian_ref, sizeof(e.guardian_ref), "g1");
		snprintf(e.method, sizeof(e.method), "checkbox");
		snprintf(e.channel, sizeof(e.channel), "web");
		e.birth_year = m->birth;
		memcpy(e.jurisdiction, m->jur, sizeof(e.jurisdiction));
		e.expires = m->expires ? m->expires : CONSENT_TIME_NONE;
		break;
	case CONSENT_EV_WITHDRAW:
	case CONSENT_EV_EXPIRE:
		if (below(3) != 0)
			snprintf(m->purpose, sizeof(m->purpose), "%s", pick(purposes, 2));
		snprintf(m->recipient, sizeof(m->recipient), "%s", pick(recipients, 5));
		m->received = m->time + (cr_time_ms)below(3) * SLOT;
		break;
	default: /* an objection: received at or after its time */
		m->received = m->time + (cr_time_ms)below(3) * SLOT;
		break;
	}
	m->effective = (m->type == CONSENT_EV_WITHDRAW || m->type == CONSENT_EV_OBJECT ||
			m->type == CONSENT_EV_EXPIRE) ? m->received : m->time;
	e.notice_version = m->version;
	memcpy(e.purpose, m->purpose, sizeof(m->purpose));
	memcpy(e.recipient, m->recipient, sizeof(m->recipient));
	e.time = m->time;
	e.received = m->received;
	e.received_given = true;
	consent_event_source(&e, "web", "banner");
	f->brand = h->b->id;
	if (consent_record(f->ctx, h->b->id, &e, NULL, why, sizeof(why)) != CR_OK)
		return false;
	h->n++;
	return true;
}

static const char *type_name(enum consent_event_type t)
{
	return consent_event_type_name(t);
}

static void print_history(const struct history *h, uint64_t seed, unsigned k)
{
	print_error("model: seed %" PRIu64 ", history %u; brand jur=%d am_marketing=%d eu_age=%d v2=%d\n", seed, k,
		    h->b->jur, h->b->am_marketing, h->b->eu_age, h->b->v2);
	for (size_t i = 0; i < h->n; i++) {
		const struct mev *m = &h->ev[i];
		print_error("  %zu %-8s v%u %-17s %-9s t=%+lld r=%+lld exp=%+lld %s birth=%d jur=%s\n", i,
			    type_name(m->type), m->version, m->purpose, m->recipient,
			    (long long)((m->time - T(BASE)) / SLOT), (long long)((m->received - T(BASE)) / SLOT),
			    m->expires ? (long long)((m->expires - T(BASE)) / SLOT) : -99,
			    m->guardian ? "guardian" : "subject", m->birth, m->jur);
	}
}

/*
 * R01-R21 (§4): the registry and the model agree on the decision and its
 * reason for every question asked of every random history.
 */
static void test_model_agrees_on_random_histories(void **state)
{
	/* mostly questions the history can answer yes to; the refusals too */
	static const char *const qp[] = { "ads_measurement", "ads_measurement", "ads_measurement", "ads_measurement",
					  "audience_insights", "audience_insights", "audience_insights",
					  "audience_insights", "audience_insights", "zz_none" };
	static const char *const qr[] = { NULL, NULL, NULL, NULL, NULL, NULL, "partner-1", "partner-1", "partner-1",
					  "partner-2", "nobody" };
	struct fx *f = *state;
	struct brand_cfg brands[80];
	size_t nb = 0;
	const char *env = getenv("MODEL_HISTORIES"), *senv = getenv("MODEL_SEED");
	unsigned histories = env ? (unsigned)strtoul(env, NULL, 10) : 100000;
	uint64_t seed = senv ? strtoull(senv, NULL, 10) : (uint64_t)cr_time_now();
	uint64_t questions = 0, allowed = 0, reasons[CONSENT_REASON_COUNT] = { 0 };

	print_message("model: seed %" PRIu64 ", %u histories (MODEL_SEED and MODEL_HISTORIES replay)\n", seed,
		      histories);
	rng_state = seed;
	make_brands(f, brands, &nb);
	assert_int_equal(sqlite3_exec(f->db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	for (unsigned k = 0; k < histories; k++) {
		struct history h = { .b = &brands[below((unsigned)nb)] };
		struct crypto_pseudonym p = P(1000 + k, 1);
		unsigned want = below(5), serial = k * 2 * MAX_EVENTS;
		/* R16: most guardians are verified; the others' grants are refused */
		f->brand = h.b->id;
		if (below(4) != 0)
			fx_link(f, p, "g1");
		/* most histories open like a real one: a notice served, then grants on it */
		if (below(5) != 0) {
			uint32_t v = has_v2(h.b) && below(2) ? 2 : 1;
			int s0 = (int)below(5) - 1;
			struct opening served = { CONSENT_EV_SERVED, v, s0, NULL, NULL };
			static const char *const scopes[3][2] = { { "ads_measurement", "" },
								   { "audience_insights", "" },
								   { "audience_insights", "partner-1" } };
			(void)add_event(f, &h, p, serial++, &served);
			for (int i = 0; i < 3; i++)
				if (below(5) != 0) {
					struct opening g = { CONSENT_EV_GRANT, v, s0 + (int)below(3), scopes[i][0],
							     scopes[i][1] };
					(void)add_event(f, &h, p, serial++, &g);
				}
		}
		for (unsigned i = 0; i < want && h.n < MAX_EVENTS; i++)
			(void)add_event(f, &h, p, serial++, NULL);
		for (int q = 0; q < QUERIES; q++) {
			const char *purpose = qp[below(10)], *recipient = qr[below(11)];
			cr_time_ms at = slot_time((int)below(16) - 1);
			bool cd = below(5) == 0;
			struct consent_decision d;
			enum consent_reason want_r = model_decide(&h, purpose, recipient, at, cd);
			assert_int_equal(consent_valid_at(f->ctx, h.b->id, &p, purpose, recipient, at,
							  cd ? CONSENT_CHILD_DIRECTED : 0, &d), CR_OK);
			questions++;
			allowed += d.allowed;
			reasons[d.reason < CONSENT_REASON_COUNT ? d.reason : 0]++;
			if (d.reason != want_r || d.allowed != (want_r == CONSENT_OK)) {
				print_history(&h, seed, k);
				fail_msg("at %+lld, %s/%s%s: registry %s, model %s",
					 (long long)((at - T(BASE)) / SLOT), purpose, recipient ? recipient : "-",
					 cd ? " (child-directed)" : "", consent_reason_name(d.reason),
					 consent_reason_name(want_r));
			}
		}
		if (k % 5000 == 4999) { /* keep the transaction's journal small */
			assert_int_equal(sqlite3_exec(f->db, "COMMIT; BEGIN", NULL, NULL, NULL), SQLITE_OK);
		}
	}
	assert_int_equal(sqlite3_exec(f->db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	print_message("model: %" PRIu64 " questions, %" PRIu64 " allowed, all agreed; by reason:", questions, allowed);
	for (int r = 0; r < CONSENT_REASON_COUNT; r++)
		print_message(" %s %" PRIu64, consent_reason_name((enum consent_reason)r), reasons[r]);
	print_message("\n");
	/* the generator reaches both answers, or the comparison would say little */
	assert_true(allowed > questions / 100);
	assert_true(allowed < questions);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_model_agrees_on_random_histories, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
