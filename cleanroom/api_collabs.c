/*
 * api_collabs.c: collaborations over the API. A brand creates them on its
 * datasets (the same checks and audited store as `cleanroom collab
 * create`, through ops_collab_create) and lists them; its officer reads
 * them; a partner lists its own, across brands. One collaboration, its
 * pair's budget ledger and its stored releases are read by the brand, its
 * officer and its partner (api_collab_scope), as `collab list|budget --json`
 * print; only the brand raises the budget (`collab budget --raise`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/http.h"
#include "cleanroom/ops.h"

static const struct http_field collab_fields[] = {
	{ "dataset", HTTP_JSON_STRING, true },
	{ "partner", HTTP_JSON_STRING, true },
	{ "dimensions", HTTP_JSON_ARRAY, true },
	{ "metrics", HTTP_JSON_ARRAY, false },
	{ "k", HTTP_JSON_INTEGER, false },
	{ "epsilon", HTTP_JSON_STRING, false },
	{ "budget", HTTP_JSON_STRING, false },
	{ "max_dims", HTTP_JSON_INTEGER, false },
	{ "min_partner_set", HTTP_JSON_INTEGER, false },
	{ "max_partner_set", HTTP_JSON_INTEGER, false },
	{ "pad_to", HTTP_JSON_INTEGER, false },
	{ NULL, 0, false },
};

/* An optional integer field in [min, max] (`def` when absent); CR_ERR_COLLAB_RULE outside. */
static cr_err int_field(const json_t *in, const char *name, json_int_t min, json_int_t max,
			uint64_t def, uint64_t *out)
{
	const json_t *v = json_object_get(in, name);
	json_int_t n;
	if (v == NULL) {
		*out = def;
		return CR_OK;
	}
	n = json_integer_value(v);
	if (n < min || n > max)
		return CR_ERR_COLLAB_RULE;
	*out = (uint64_t)n;
	return CR_OK;
}

/* An optional decimal string ("0.5") in thousandths, `def` when absent. */
static cr_err milli_field(const json_t *in, const char *name, uint64_t def, uint64_t *out)
{
	const char *s = json_string_value(json_object_get(in, name));
	if (s == NULL) {
		*out = def;
		return CR_OK;
	}
	return collab_milli_parse(s, out);
}

/* The rule's partner and numbers from the body, with the CLI's defaults and limits. */
static cr_err rule_from_json(const json_t *in, struct collab *c)
{
	const char *partner = json_string_value(json_object_get(in, "partner"));
	uint64_t k = 0, max_dims = 0;
	cr_err rc = int_field(in, "k", 1, 1000000000, COLLAB_K_DEFAULT, &k);
	if (rc == CR_OK)
		rc = int_field(in, "max_dims", 1, 4, COLLAB_MAX_DIMS_DEFAULT, &max_dims);
	if (rc == CR_OK)
		rc = int_field(in, "min_partner_set", 1, COLLAB_SET_LIMIT, COLLAB_MIN_SET_DEFAULT,
			       &c->min_partner_set);
	if (rc == CR_OK)
		rc = int_field(in, "max_partner_set", 1, COLLAB_SET_LIMIT, COLLAB_MAX_SET_DEFAULT,
			       &c->max_partner_set);
	if (rc == CR_OK)
		rc = int_field(in, "pad_to", COLLAB_PAD_MIN, (json_int_t)COLLAB_PAD_MAX, 0, &c->pad_to);
	if (rc == CR_OK)
		rc = milli_field(in, "epsilon", COLLAB_EPSILON_DEFAULT, &c->epsilon_milli);
	if (rc == CR_OK)
		rc = milli_field(in, "budget", 0, &c->budget_milli);   /* 0: the pair's, or the default */
	if (rc == CR_OK && (partner[0] == '\0' || strlen(partner) > DATASET_CODE_MAX))
		rc = CR_ERR_COLLAB_PARTNER;
	if (rc != CR_OK)
		return rc;
	c->k = (uint32_t)k;
	c->max_dims = (uint32_t)max_dims;
	snprintf(c->partner, sizeof(c->partner), "%s", partner);
	return CR_OK;
}

/* POST /v1/brands/{brand}/collaborations (brand): 201 the collaboration. */
cr_err api_collabs_post(const struct http_request *req, struct http_reply *rep)
{
	char dims[COLLAB_DIMS_MAX * (COLUMN_NAME_MAX + 1) + 1];
	char metrics[(COLLAB_SUMS_MAX + 1) * (COLUMN_NAME_MAX + 5) + 1] = "count";
	char actor[32], why[COLLAB_WHY_MAX] = "";
	struct registry_actor who;
	struct collab c;
	json_t *in = NULL;
	int64_t brand = 0;
	cr_err rc = api_brand_scope(req, &brand);
	memset(&c, 0, sizeof(c));
	if (rc == CR_OK)
		rc = http_json_body(req, collab_fields, &in);
	if (rc == CR_OK)
		rc = rule_from_json(in, &c);
	if (rc == CR_OK && http_json_join(json_object_get(in, "dimensions"), dims, sizeof(dims)) != CR_OK)
		rc = CR_ERR_COLLAB_RULE;
	if (rc == CR_OK && json_object_get(in, "metrics") != NULL &&
	    http_json_join(json_object_get(in, "metrics"), metrics, sizeof(metrics)) != CR_OK)
		rc = CR_ERR_COLLAB_RULE;
	api_actor(req, actor, sizeof(actor), &who.role, &who.id);
	if (rc == CR_OK)
		rc = ops_collab_create(req->app, &who, http_param(req, "brand"), brand,
				       json_string_value(json_object_get(in, "dataset")), dims, metrics, &c, why,
				       sizeof(why));
	json_decref(in);
	if (rc != CR_OK)
		return rc;
	return http_reply_json(rep, 201, ops_collab_json(req->app, &c));
}

struct list_ctx {
	struct app *a;
	const char *partner;  /* only this partner's; NULL: all */
	json_t *arr;
};

static void list_one(void *ctx, const struct collab *c)
{
	struct list_ctx *l = ctx;
	if (l->partner == NULL || strcmp(l->partner, c->partner) == 0)
		json_array_append_new(l->arr, ops_collab_json(l->a, c));
}

static cr_err reply_list(struct http_reply *rep, struct list_ctx *l, int64_t brand)
{
	cr_err rc;
	l->arr = json_array();
	rc = collab_each(l->a->store, brand, list_one, l);
	if (rc != CR_OK) {
		json_decref(l->arr);
		return rc;
	}
	return http_reply_json(rep, 200, json_pack("{s:o}", "collaborations", l->arr));
}

/* GET /v1/brands/{brand}/collaborations (brand, officer): the brand's, by id. */
cr_err api_collabs_get(const struct http_request *req, struct http_reply *rep)
{
	struct list_ctx l = { req->app, NULL, NULL };
	int64_t brand = 0;
	cr_err rc = api_brand_scope(req, &brand);
	return rc == CR_OK ? reply_list(rep, &l, brand) : rc;
}

/* GET /v1/collaborations (partner): the caller's own, across brands, by id. */
cr_err api_partner_collabs_get(const struct http_request *req, struct http_reply *rep)
{
	struct list_ctx l = { req->app, req->who->tenant, NULL };
	return reply_list(rep, &l, 0);
}

/* GET /v1/collaborations/{id} (brand, officer, partner). */
cr_err api_collab_get(const struct http_request *req, struct http_reply *rep)
{
	struct collab c;
	cr_err rc = api_collab_scope(req, &c);
	return rc == CR_OK ? http_reply_json(rep, 200, ops_collab_json(req->app, &c)) : rc;
}

/* GET /v1/collaborations/{id}/budget (brand, officer, partner): the ledger. */
cr_err api_collab_budget(const struct http_request *req, struct http_reply *rep)
{
	struct collab c;
	json_t *o = NULL;
	cr_err rc = api_collab_scope(req, &c);
	if (rc == CR_OK)
		rc = ops_collab_ledger_json(req->app, &c, &o);
	return rc == CR_OK ? http_reply_json(rep, 200, o) : rc;
}

static const struct http_field raise_fields[] = {
	{ "budget", HTTP_JSON_STRING, true },
	{ NULL, 0, false },
};

/*
 * POST /v1/collaborations/{id}/budget (brand; the route refuses any other
 * role, the scope another brand): {"budget":"2.5"} raises the budget of
 * the collaboration's (dataset, partner) pair to 2.5; 200 the ledger.
 */
cr_err api_collab_budget_raise(const struct http_request *req, struct http_reply *rep)
{
	char actor[32], why[COLLAB_WHY_MAX] = "";
	struct registry_actor who;
	struct collab c;
	uint64_t to = 0;
	json_t *in = NULL, *o = NULL;
	cr_err rc = api_collab_scope(req, &c);
	if (rc == CR_OK)
		rc = http_json_body(req, raise_fields, &in);
	if (rc == CR_OK)
		rc = collab_milli_parse(json_string_value(json_object_get(in, "budget")), &to);
	json_decref(in);
	api_actor(req, actor, sizeof(actor), &who.role, &who.id);
	if (rc == CR_OK)
		rc = ops_collab_raise(req->app, &who, &c, to, why, sizeof(why));
	if (rc == CR_OK)
		rc = ops_collab_ledger_json(req->app, &c, &o);
	return rc == CR_OK ? http_reply_json(rep, 200, o) : rc;
}

/*
 * GET /v1/collaborations/{id}/releases/{release} (brand, officer, partner):
 * a stored answer exactly as the partner received it.
 */
cr_err api_collab_release(const struct http_request *req, struct http_reply *rep)
{
	struct collab c;
	char *text = NULL;
	json_t *o = NULL;
	int64_t id = 0;
	cr_err rc = api_collab_scope(req, &c);
	if (rc == CR_OK && http_param_id(req, "release", &id) != CR_OK)
		rc = CR_ERR_NOT_FOUND;
	if (rc == CR_OK)
		rc = collab_release_get(req->app->store, id, &text);
	if (rc == CR_OK) {
		o = json_loads(text, 0, NULL);
		free(text);
		if (o == NULL)
			rc = CR_ERR_INTERNAL;
	}
	/* a release of another collaboration does not exist here */
	if (rc == CR_OK && json_integer_value(json_object_get(o, "collaboration")) != c.id)
		rc = CR_ERR_NOT_FOUND;
	if (rc != CR_OK) {
		json_decref(o);
		return rc;
	}
	return http_reply_json(rep, 200, o);
}
