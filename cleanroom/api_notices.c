/*
 * api_notices.c: a brand's privacy notices. POST publishes a version (the
 * body is the notice JSON, docs/spec/formats.md; R04 checked by the registry;
 * ?published_at= back-dates it, never ahead of now, R05),
 * GET returns one published version in its canonical, hashed form.
 */
#include <stdlib.h>
#include <string.h>

#include "cleanroom/http.h"
#include "cleanroom/registry.h"

/* POST /v1/brands/{brand}/notices (brand): 201 {"version","sha256","material","already_published"}. */
cr_err api_notices_post(const struct http_request *req, struct http_reply *rep)
{
	struct consent_notice_published pub;
	struct registry_actor who;
	char actor[32], why[CONSENT_WHY_MAX] = "", hash[65];
	const char *at_s = http_query(req, "published_at");
	cr_time_ms at = cr_time_now();
	int64_t id = 0;
	cr_err rc = api_brand_scope(req, &id);
	if (rc != CR_OK)
		return rc;
	/* ?published_at=T back-fills a history, as `notice publish --published-at` */
	if (at_s != NULL && cr_time_parse(at_s, strlen(at_s), &at) != CR_OK)
		return CR_ERR_HTTP_QUERY;
	if (!http_media_is(req->content_type, "application/json"))
		return CR_ERR_HTTP_MEDIA_TYPE;
	if (req->body_len == 0)
		return CR_ERR_JSON_MALFORMED;
	api_actor(req, actor, sizeof(actor), &who.role, &who.id);
	rc = registry_notice_publish(req->app, &who, id, (const char *)req->body, req->body_len, at,
				     &pub, why, sizeof(why));
	if (rc != CR_OK)
		return rc;
	if (cr_hex_encode(pub.hash, sizeof(pub.hash), hash, sizeof(hash)) != CR_OK)
		return CR_ERR_INTERNAL;
	return http_reply_json(rep, pub.already ? 200 : 201,
			       json_pack("{s:i,s:s,s:b,s:b}", "version", (int)pub.version, "sha256", hash,
					 "material", pub.material, "already_published", pub.already));
}

/* GET /v1/brands/{brand}/notices/{version} (brand, officer): the canonical notice. */
cr_err api_notices_get(const struct http_request *req, struct http_reply *rep)
{
	char *json = NULL;
	int64_t id = 0, version = 0;
	cr_err rc = api_brand_scope(req, &id);
	if (rc == CR_OK)
		rc = http_param_id(req, "version", &version);
	if (rc == CR_OK && version > UINT32_MAX)
		rc = CR_ERR_NOT_FOUND;
	if (rc == CR_OK)
		rc = consent_notice_get(req->app->consent, id, (uint32_t)version, &json, NULL);
	if (rc != CR_OK)
		return rc;
	http_reply_text(rep, 200, "application/json", json, strlen(json));
	return CR_OK;
}
