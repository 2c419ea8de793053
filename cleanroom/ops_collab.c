/*
 * ops_collab.c: collaborations as the CLI (`cleanroom collab`) and the API
 * (/v1/.../collaborations) both create, show and raise the budget of them:
 * the same lookups, the same checks and the same JSON, so the two front
 * ends cannot drift.
 */
#include <stdio.h>

#include "cleanroom/app.h"
#include "cleanroom/ops.h"

cr_err ops_collab_create(struct app *a, const struct registry_actor *who, const char *brand,
			 int64_t brand_id, const char *dataset, const char *dims, const char *metrics,
			 struct collab *c, char *why, size_t why_cap)
{
	struct dataset d;
	cr_err rc = dataset_get(a->store, brand_id, dataset, &d);
	if (rc != CR_OK)
		return rc;
	rc = collab_rule_parse(c, &d, dims, metrics, why, why_cap);
	if (rc == CR_OK)
		rc = collab_create(a, who, brand, &d, c, why, why_cap);
	return rc;
}

json_t *ops_collab_json(struct app *a, const struct collab *c)
{
	struct dataset d;
	struct collab_budget b;
	char brand[CONSENT_BRAND_NAME_MAX + 1] = "", left_s[COLLAB_MILLI_STRLEN];
	json_t *o = collab_json(c, dataset_get_by_id(a->store, c->dataset_id, &d) == CR_OK ? d.name : "");
	if (consent_brand_name(a->consent, c->brand_id, brand) != CR_OK)
		brand[0] = '\0';
	collab_milli_format(collab_budget_get(a->store, c->id, &b) == CR_OK ? b.left_milli : 0, left_s);
	json_object_set_new(o, "brand", json_string(brand));
	json_object_set_new(o, "budget_left", json_string(left_s));
	return o;
}

static void ledger_one(void *ctx, const struct collab_debit *d)
{
	char when[CR_TIME_STRLEN] = "", eps[COLLAB_MILLI_STRLEN];
	if (cr_time_format(d->time, when) != CR_OK)
		when[0] = '\0';
	collab_milli_format(d->epsilon_milli, eps);
	json_array_append_new(ctx, json_pack("{s:I, s:s, s:I, s:s, s:s, s:I, s:s}", "debit", (json_int_t)d->id,
					     "time", when, "collaboration", (json_int_t)d->collab_id, "query",
					     d->query, "epsilon", eps, "release", (json_int_t)d->release_id,
					     "outcome", d->outcome));
}

/* A raise as both sides see it: when, through which collaboration, from, to, and by which role. */
static void raise_one(void *ctx, const struct collab_raise *r)
{
	char when[CR_TIME_STRLEN] = "", from[COLLAB_MILLI_STRLEN], to[COLLAB_MILLI_STRLEN];
	if (cr_time_format(r->time, when) != CR_OK)
		when[0] = '\0';
	collab_milli_format(r->from_milli, from);
	collab_milli_format(r->to_milli, to);
	json_array_append_new(ctx, json_pack("{s:I, s:s, s:I, s:s, s:s, s:s}", "raise", (json_int_t)r->id,
					     "time", when, "collaboration", (json_int_t)r->collab_id, "from",
					     from, "to", to, "by", r->actor_role));
}

static void pair_one(void *ctx, int64_t collab_id)
{
	json_array_append_new(ctx, json_integer((json_int_t)collab_id));
}

cr_err ops_collab_ledger_json(struct app *a, const struct collab *c, json_t **out)
{
	char spent_s[COLLAB_MILLI_STRLEN], left_s[COLLAB_MILLI_STRLEN], budget_s[COLLAB_MILLI_STRLEN];
	char initial_s[COLLAB_MILLI_STRLEN];
	struct collab_budget b;
	struct dataset d;
	json_t *debits = json_array(), *raises = json_array(), *collabs = json_array();
	cr_err rc = collab_budget_get(a->store, c->id, &b);
	if (rc == CR_OK)
		rc = collab_ledger_each(a->store, c->id, ledger_one, debits);
	if (rc == CR_OK)
		rc = collab_raise_each(a->store, c->id, raise_one, raises);
	if (rc == CR_OK)
		rc = collab_pair_each(a->store, c->id, pair_one, collabs);
	if (rc == CR_OK)
		rc = dataset_get_by_id(a->store, c->dataset_id, &d);
	if (rc != CR_OK) {
		json_decref(debits);
		json_decref(raises);
		json_decref(collabs);
		return rc;
	}
	collab_milli_format(b.spent_milli, spent_s);
	collab_milli_format(b.left_milli, left_s);
	collab_milli_format(b.budget_milli, budget_s);
	collab_milli_format(b.initial_milli, initial_s);
	*out = json_pack("{s:I, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:o, s:o}", "collaboration", (json_int_t)c->id,
			 "dataset", d.name, "partner", c->partner, "collaborations", collabs, "budget", budget_s,
			 "initial_budget", initial_s, "spent", spent_s, "left", left_s, "debits", debits,
			 "raises", raises);
	return *out ? CR_OK : CR_ERR_NOMEM;
}

cr_err ops_collab_raise(struct app *a, const struct registry_actor *who, const struct collab *c,
			uint64_t to_milli, char *why, size_t why_cap)
{
	char brand[CONSENT_BRAND_NAME_MAX + 1];
	struct dataset d;
	cr_err rc = dataset_get_by_id(a->store, c->dataset_id, &d);
	if (rc == CR_OK)
		rc = consent_brand_name(a->consent, c->brand_id, brand);
	if (rc == CR_OK)
		rc = collab_budget_raise(a, who, brand, &d, c, to_milli, why, why_cap);
	return rc;
}
