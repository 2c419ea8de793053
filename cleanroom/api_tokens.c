/*
 * api_tokens.c: the admin's token routes. POST /v1/tokens issues a token
 * (shown in this one reply, then only its hash exists), GET /v1/tokens lists
 * them, POST /v1/tokens/{id}/revoke revokes one. Each handler parses, calls
 * cleanroom/auth.c and replies; issue and revoke are audited there.
 */
#include <stdlib.h>

#include <sodium.h>

#include "cleanroom/http.h"

/* A token's public record as JSON (no token, no hash); new reference. */
static json_t *token_json(const struct auth_token_info *t)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:o,s:o}", "id", (json_int_t)t->id, "name", t->name,
			 "role", auth_role_name(t->role), "tenant", t->tenant,
			 "created", http_json_time(t->created),
			 "revoked", t->revoked ? http_json_time(t->revoked) : json_null());
}

static const struct http_field issue_fields[] = {
	{ "role", HTTP_JSON_STRING, true },
	{ "tenant", HTTP_JSON_STRING, true },
	{ "name", HTTP_JSON_STRING, true },
	{ NULL, 0, false },
};

/* POST /v1/tokens (admin): {"role","tenant","name"} -> 201 the record and "token". */
cr_err api_tokens_post(const struct http_request *req, struct http_reply *rep)
{
	json_t *in = NULL, *out = NULL;
	char token[AUTH_TOKEN_STRLEN];
	struct auth_token_info t;
	enum auth_role role;
	cr_err rc = http_json_body(req, issue_fields, &in);
	if (rc != CR_OK)
		goto out;
	rc = auth_role_parse(json_string_value(json_object_get(in, "role")), &role);
	if (rc != CR_OK)
		goto out;
	rc = auth_token_issue(req->app, role, json_string_value(json_object_get(in, "tenant")),
			      json_string_value(json_object_get(in, "name")), token, &t);
	if (rc != CR_OK)
		goto out;
	out = token_json(&t);
	json_object_set_new(out, "token", json_string(token));
	rc = http_reply_json(rep, 201, out);
out:
	sodium_memzero(token, sizeof(token));
	json_decref(in);
	return rc;
}

/* GET /v1/tokens (admin): {"tokens":[record, ...]} oldest first. */
cr_err api_tokens_get(const struct http_request *req, struct http_reply *rep)
{
	struct auth_token_info *v = NULL;
	size_t n = 0;
	json_t *list;
	cr_err rc = auth_token_list(req->app->store, &v, &n);
	if (rc != CR_OK)
		return rc;
	list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, token_json(&v[i]));
	free(v);
	return http_reply_json(rep, 200, json_pack("{s:o}", "tokens", list));
}

/* POST /v1/tokens/{id}/revoke (admin): 200 the revoked record; 404, 409. */
cr_err api_tokens_revoke(const struct http_request *req, struct http_reply *rep)
{
	struct auth_token_info t;
	int64_t id;
	cr_err rc = http_param_id(req, "id", &id);
	if (rc == CR_OK)
		rc = auth_token_revoke(req->app, id, &t);
	if (rc != CR_OK)
		return rc;
	return http_reply_json(rep, 200, token_json(&t));
}
