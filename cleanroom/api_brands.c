/*
 * api_brands.c: POST /v1/brands, the admin registering a brand (the data
 * owner whose notices, consents and datasets the brand routes act on).
 * Same core call as `cleanroom brand create`, audited there.
 */
#include "cleanroom/http.h"
#include "cleanroom/registry.h"

static const struct http_field brand_fields[] = {
	{ "name", HTTP_JSON_STRING, true },
	{ NULL, 0, false },
};

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
