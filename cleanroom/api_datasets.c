/*
 * api_datasets.c: a brand's datasets. POST creates one (the same checks and
 * audited store as `cleanroom dataset create`, through ops_dataset_create),
 * GET lists them or describes one, as `dataset list|describe --json` print.
 */
#include <stdio.h>
#include <string.h>

#include "cleanroom/http.h"
#include "cleanroom/ops.h"

static const struct http_field dataset_fields[] = {
	{ "name", HTTP_JSON_STRING, true },
	{ "purposes", HTTP_JSON_ARRAY, true },
	{ "recipients", HTTP_JSON_ARRAY, false },
	{ "id_type", HTTP_JSON_STRING, true },
	{ "columns", HTTP_JSON_STRING, true },
	{ "profile", HTTP_JSON_STRING, false },
	{ "child_directed", HTTP_JSON_BOOL, false },
	{ "suite", HTTP_JSON_STRING, false },
	{ NULL, 0, false },
};

/* A JSON array of codes as the comma-separated list dataset_codes_parse reads. */
static cr_err codes_join(json_t *arr, char *buf, size_t cap)
{
	cr_err rc = http_json_join(arr, buf, cap);
	return rc == CR_ERR_PARSE ? CR_ERR_DATASET_PURPOSES : rc;
}

/* Fills *d from the body: the same rules as the CLI's options. */
static cr_err dataset_from_json(json_t *in, struct dataset *d)
{
	char list[DATASET_PURPOSES_MAX * (DATASET_CODE_MAX + 1) + 1];
	char err[200];
	const char *name = json_string_value(json_object_get(in, "name"));
	const char *profile = json_string_value(json_object_get(in, "profile"));
	const char *suite = json_string_value(json_object_get(in, "suite"));
	json_t *recipients = json_object_get(in, "recipients");
	cr_err rc;
	memset(d, 0, sizeof(*d));
	if (!dataset_name_valid(name))
		return CR_ERR_DATASET_NAME;
	snprintf(d->name, sizeof(d->name), "%s", name);
	rc = codes_join(json_object_get(in, "purposes"), list, sizeof(list));
	if (rc == CR_OK && dataset_codes_parse(list, false, d->purposes, &d->npurposes) != CR_OK)
		rc = CR_ERR_DATASET_PURPOSES;
	if (rc == CR_OK && recipients != NULL) {
		rc = codes_join(recipients, list, sizeof(list));
		if (rc == CR_OK && dataset_codes_parse(list, true, d->recipients, &d->nrecipients) != CR_OK)
			rc = CR_ERR_DATASET_PURPOSES;
	}
	if (rc == CR_OK)
		rc = crypto_id_type_parse(json_string_value(json_object_get(in, "id_type")), &d->id_type);
	if (rc == CR_OK && profile != NULL && strcmp(profile, "default") != 0)
		rc = CR_ERR_JSON_TYPE;
	snprintf(d->profile, sizeof(d->profile), "default");
	d->child_directed = json_is_true(json_object_get(in, "child_directed"));
	d->suite = CRYPTO_PSI_SUITE_DEFAULT;
	if (rc == CR_OK && suite != NULL)
		rc = crypto_psi_suite_parse(suite, &d->suite);
	if (rc == CR_OK)
		rc = columns_parse(json_string_value(json_object_get(in, "columns")), &d->columns, err, sizeof(err));
	return rc;
}

/* POST /v1/brands/{brand}/datasets (brand): 201 the dataset's description. */
cr_err api_datasets_post(const struct http_request *req, struct http_reply *rep)
{
	struct registry_actor who;
	struct dataset d;
	char actor[32], why[OPS_WHY_MAX] = "";
	json_t *in = NULL;
	int64_t brand = 0;
	cr_err rc = api_brand_scope(req, &brand);
	if (rc == CR_OK)
		rc = http_json_body(req, dataset_fields, &in);
	if (rc == CR_OK)
		rc = dataset_from_json(in, &d);
	json_decref(in);
	if (rc != CR_OK)
		return rc;
	d.brand_id = brand;
	api_actor(req, actor, sizeof(actor), &who.role, &who.id);
	rc = ops_dataset_create(req->app, &who, http_param(req, "brand"), &d, why, sizeof(why));
	if (rc != CR_OK)
		return rc;
	return http_reply_json(rep, 201, ops_dataset_json(req->app, &d));
}

struct list_ctx {
	struct app *a;
	json_t *arr;
};

static void list_one(void *ctx, const struct dataset *d)
{
	struct list_ctx *l = ctx;
	json_array_append_new(l->arr, ops_dataset_json(l->a, d));
}

/* GET /v1/brands/{brand}/datasets (brand, officer): {"datasets":[...]} in name order. */
cr_err api_datasets_get(const struct http_request *req, struct http_reply *rep)
{
	struct list_ctx l = { req->app, NULL };
	int64_t brand = 0;
	cr_err rc = api_brand_scope(req, &brand);
	if (rc != CR_OK)
		return rc;
	l.arr = json_array();
	rc = dataset_each(req->app->store, brand, list_one, &l);
	if (rc != CR_OK) {
		json_decref(l.arr);
		return rc;
	}
	return http_reply_json(rep, 200, json_pack("{s:o}", "datasets", l.arr));
}

/* GET /v1/brands/{brand}/datasets/{name} (brand, officer): one description. */
cr_err api_dataset_get(const struct http_request *req, struct http_reply *rep)
{
	struct dataset d;
	int64_t brand = 0;
	cr_err rc = api_brand_scope(req, &brand);
	if (rc == CR_OK)
		rc = dataset_get(req->app->store, brand, http_param(req, "name"), &d);
	if (rc != CR_OK)
		return rc;
	return http_reply_json(rep, 200, ops_dataset_json(req->app, &d));
}
