/*
 * api_whoami.c: GET /v1/whoami tells a caller which token it presented:
 * its id, name, role and tenant (never the token). Clients use it to check
 * a token before doing real work.
 */
#include "cleanroom/http.h"

/* GET /v1/whoami (every role): {"token_id","name","role","tenant"}. */
cr_err api_whoami_get(const struct http_request *req, struct http_reply *rep)
{
	const struct auth_token_info *t = req->who;
	return http_reply_json(rep, 200,
			       json_pack("{s:I,s:s,s:s,s:s}", "token_id", (json_int_t)t->id,
					 "name", t->name, "role", auth_role_name(t->role),
					 "tenant", t->tenant));
}
