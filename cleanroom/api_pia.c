/*
 * api_pia.c: the brand's impact assessments (R12, R28) and transfer
 * mechanisms (R13): POST and GET /v1/brands/{brand}/impact-assessments and
 * /v1/brands/{brand}/transfers. Same core calls as `cleanroom pia` and
 * `cleanroom transfer` (pia.c), audited there.
 */
#include <string.h>

#include "cleanroom/http.h"
#include "cleanroom/pia.h"

static const struct http_field pia_fields[] = {
	{ "ref", HTTP_JSON_STRING, true },
	{ "covers", HTTP_JSON_ARRAY, true },
	{ "kind", HTTP_JSON_STRING, false },
	{ "date", HTTP_JSON_STRING, false },
	{ "cross_border", HTTP_JSON_BOOL, false },
	{ NULL, 0, false },
};

static const struct http_field transfer_fields[] = {
	{ "recipient", HTTP_JSON_STRING, true },
	{ "mechanism", HTTP_JSON_STRING, true },
	{ "ref", HTTP_JSON_STRING, true },
	{ NULL, 0, false },
};

/* POST /v1/brands/{brand}/impact-assessments (brand): 201 the assessment as `pia list` shows it. */
cr_err api_pia_post(const struct http_request *req, struct http_reply *rep)
{
	char actor[32], why[256] = "", covers[DATASET_PURPOSES_MAX * (DATASET_CODE_MAX + 1) + 1];
	const char *kind, *date, *ref;
	struct registry_actor who;
	cr_time_ms at = cr_time_now();
	json_t *in = NULL, *list;
	int64_t brand = 0;
	cr_err rc = api_brand_scope(req, &brand);
	if (rc == CR_OK)
		rc = http_json_body(req, pia_fields, &in);
	if (rc != CR_OK)
		return rc;
	kind = json_string_value(json_object_get(in, "kind"));
	date = json_string_value(json_object_get(in, "date"));
	ref = json_string_value(json_object_get(in, "ref"));
	if (http_json_join(json_object_get(in, "covers"), covers, sizeof(covers)) != CR_OK ||
	    (date != NULL && cr_time_parse(date, strlen(date), &at) != CR_OK))
		rc = CR_ERR_INVALID_ARG;
	api_actor(req, actor, sizeof(actor), &who.role, &who.id);
	if (rc == CR_OK)
		rc = pia_add(req->app, &who, brand, http_param(req, "brand"), ref, kind ? kind : "pipia", covers,
			     json_is_true(json_object_get(in, "cross_border")), at, why, sizeof(why));
	list = json_array();
	if (rc == CR_OK)
		rc = pia_list(req->app, brand, list);
	if (rc == CR_OK) {
		size_t i;
		json_t *p, *found = NULL;
		json_array_foreach(list, i, p)
			if (strcmp(json_string_value(json_object_get(p, "ref")), ref) == 0)
				found = p;
		rc = http_reply_json(rep, 201, json_incref(found ? found : json_object()));
	}
	json_decref(list);
	json_decref(in);
	return rc;
}

/* {"<key>":[...]}: the brand's register as `list` fills it. */
static cr_err list_reply(const struct http_request *req, struct http_reply *rep,
			 cr_err (*list)(struct app *a, int64_t brand, json_t *out), const char *key)
{
	json_t *l;
	int64_t brand = 0;
	cr_err rc = api_brand_scope(req, &brand);
	if (rc != CR_OK)
		return rc;
	l = json_array();
	rc = list(req->app, brand, l);
	if (rc != CR_OK) {
		json_decref(l);
		return rc;
	}
	return http_reply_json(rep, 200, json_pack("{s:o}", key, l));
}

/* GET /v1/brands/{brand}/impact-assessments (brand, officer): {"impact_assessments":[...]}, oldest first. */
cr_err api_pia_get(const struct http_request *req, struct http_reply *rep)
{
	return list_reply(req, rep, pia_list, "impact_assessments");
}

/* POST /v1/brands/{brand}/transfers (brand): 201 {"recipient","mechanism","ref"}. */
cr_err api_transfers_post(const struct http_request *req, struct http_reply *rep)
{
	char actor[32], why[256] = "";
	struct registry_actor who;
	json_t *in = NULL;
	int64_t brand = 0;
	cr_err rc = api_brand_scope(req, &brand);
	if (rc == CR_OK)
		rc = http_json_body(req, transfer_fields, &in);
	if (rc != CR_OK)
		return rc;
	api_actor(req, actor, sizeof(actor), &who.role, &who.id);
	rc = transfer_add(req->app, &who, brand, http_param(req, "brand"),
			  json_string_value(json_object_get(in, "recipient")),
			  json_string_value(json_object_get(in, "mechanism")), json_string_value(json_object_get(in, "ref")),
			  why, sizeof(why));
	if (rc == CR_OK)
		rc = http_reply_json(rep, 201, json_pack("{s:O,s:O,s:O}", "recipient", json_object_get(in, "recipient"),
							 "mechanism", json_object_get(in, "mechanism"), "ref",
							 json_object_get(in, "ref")));
	json_decref(in);
	return rc;
}

/* GET /v1/brands/{brand}/transfers (brand, officer): {"transfers":[...]}, oldest first. */
cr_err api_transfers_get(const struct http_request *req, struct http_reply *rep)
{
	return list_reply(req, rep, transfer_list, "transfers");
}
