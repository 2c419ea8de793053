/*
 * ops_collab.c: collaborations as the CLI (`cleanroom collab`) and the API
 * (/v1/.../collaborations) both create and show them: the same lookups,
 * the same checks and the same JSON, so the two front ends cannot drift.
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
	char brand[CONSENT_BRAND_NAME_MAX + 1] = "", left_s[COLLAB_MILLI_STRLEN];
	uint64_t left = 0;
	json_t *o = collab_json(c, dataset_get_by_id(a->store, c->dataset_id, &d) == CR_OK ? d.name : "");
	if (consent_brand_name(a->consent, c->brand_id, brand) != CR_OK)
		brand[0] = '\0';
	if (collab_budget_left(a->store, c, &left) != CR_OK)
		left = 0;
	collab_milli_format(left, left_s);
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
	json_array_append_new(ctx, json_pack("{s:I, s:s, s:s, s:s, s:I, s:s}", "debit", (json_int_t)d->id,
					     "time", when, "query", d->query, "epsilon", eps, "release",
					     (json_int_t)d->release_id, "outcome", d->outcome));
}

cr_err ops_collab_ledger_json(struct app *a, const struct collab *c, json_t **out)
{
	char spent_s[COLLAB_MILLI_STRLEN], left_s[COLLAB_MILLI_STRLEN], budget_s[COLLAB_MILLI_STRLEN];
	uint64_t spent = 0;
	json_t *debits = json_array();
	cr_err rc = collab_ledger_each(a->store, c->id, ledger_one, debits);
	if (rc == CR_OK)
		rc = collab_budget_spent(a->store, c->id, &spent);
	if (rc != CR_OK) {
		json_decref(debits);
		return rc;
	}
	collab_milli_format(spent, spent_s);
	collab_milli_format(spent >= c->budget_milli ? 0 : c->budget_milli - spent, left_s);
	collab_milli_format(c->budget_milli, budget_s);
	*out = json_pack("{s:I, s:s, s:s, s:s, s:o}", "collaboration", (json_int_t)c->id, "budget", budget_s,
			 "spent", spent_s, "left", left_s, "debits", debits);
	return *out ? CR_OK : CR_ERR_NOMEM;
}
