/*
 * api_brands.c: POST /v1/brands, the admin registering a brand (the data
 * owner whose notices, consents and datasets the brand routes act on), and
 * POST /v1/brands/{brand}/child-ages, the brand's EU child age (R15).
 * Same core calls as `cleanroom brand create|child-age`, audited there.
 */
#include "cleanroom/http.h"
#include "cleanroom/registry.h"

static const struct http_field brand_fields[] = {
	{ "name", HTTP_JSON_STRING, true },
	{ NULL, 0, false },
};

static const struct http_field child_age_fields[] = {
	{ "jurisdiction", HTTP_JSON_STRING, true },
	{ "age", HTTP_JSON_INTEGER, true },
	{ NULL, 0, false },
};

/* POST /v1/brands/{brand}/child-ages (brand): {"jurisdiction","age"} -> 200 the same; audited. */
cr_err api_brand_child_age(const struct http_request *req, struct http_reply *rep)
{
	struct registry_actor who;
	char actor[32];
	json_t *in = NULL;
	json_int_t age;
	int64_t id = 0;
	cr_err rc = api_brand_scope(req, &id);
	if (rc == CR_OK)
		rc = http_json_body(req, child_age_fields, &in);
	if (rc != CR_OK)
		return rc;
	age = json_integer_value(json_object_get(in, "age"));
	api_actor(req, actor, sizeof(actor), &who.role, &who.id);
	rc = age < 0 || age > 99 ? CR_ERR_CONSENT_CHILD_AGE
				 : registry_brand_child_age(req->app, &who, id,
							    json_string_value(json_object_get(in, "jurisdiction")),
							    (int)age);
	if (rc == CR_OK)
		rc = http_reply_json(rep, 200, json_pack("{s:O,s:I}", "jurisdiction",
							 json_object_get(in, "jurisdiction"), "age", age));
	json_decref(in);
	return rc;
}

/* POST /v1/brands (admin): {"name"} -> 201 {"id","name"}; 409 if it exists. */
cr_err api_brands_post(const struct http_request *req, struct http_reply *rep)
{
	struct registry_actor who;
	char actor[32];
	json_t *in = NULL;
	int64_t id = 0;
	cr_err rc = http_json_body(req, brand_fields, &in);
	if (rc != CR_OK)
		return rc;
	api_actor(req, actor, sizeof(actor), &who.role, &who.id);
	rc = registry_brand_create(req->app, &who, json_string_value(json_object_get(in, "name")), &id);
	if (rc == CR_OK)
		rc = http_reply_json(rep, 201, json_pack("{s:I,s:O}", "id", (json_int_t)id, "name",
							 json_object_get(in, "name")));
	json_decref(in);
	return rc;
}
