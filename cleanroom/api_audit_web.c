/*
 * api_audit_web.c: what the audit console needs beyond api_audit.c.
 *   POST /v1/audit/search  the log search of GET /v1/audit/log, with the
 *        filters in a JSON body so a subject can be named: by the SHA-256
 *        digest of its normalized identifier (never a raw email or phone),
 *        which the brand's keys turn into the pseudonym the subject index
 *        holds. A body, not a query string, so no URL carries the digest.
 *   GET  /v1/audit/checkpoints  the signed checkpoint history, newest
 *        first, so the console can check each note's signature and that
 *        each tree is consistent with the next (RFC 9162 consistency
 *        proofs from GET /v1/audit/proof/consistency).
 * Tenancy as in api_audit.c: an officer searches only its own tenant.
 */
#include <string.h>

#include <sodium.h>

#include "cleanroom/http.h"
#include "cleanroom/ops.h"

/* The tenant the caller searches: its own, unless it is admin. */
static cr_err search_tenant(const struct http_request *req, const char *brand, const char **out)
{
	if (req->who->role == AUTH_ROLE_ADMIN) {
		*out = brand;
		return CR_OK;
	}
	if (brand != NULL && strcmp(brand, req->who->tenant) != 0)
		return CR_ERR_AUTH_TENANT;
	*out = req->who->tenant;
	return CR_OK;
}

/* An optional RFC 3339 field of the body into *out. */
static cr_err body_time(const json_t *body, const char *name, cr_time_ms *out)
{
	const char *s = json_string_value(json_object_get(body, name));
	if (s == NULL || s[0] == '\0')
		return CR_OK;
	return cr_time_parse(s, strlen(s), out) == CR_OK ? CR_OK : CR_ERR_JSON_TYPE;
}

/* The subject's pseudonym when the body names one (needs a tenant: pseudonyms are per brand). */
static cr_err body_subject(struct app *a, const json_t *body, const char *tenant,
			   struct crypto_pseudonym *p, bool *has)
{
	const char *digest = json_string_value(json_object_get(body, "subject"));
	const char *id_type = json_string_value(json_object_get(body, "id_type"));
	int64_t brand = 0;
	cr_err rc;
	*has = false;
	if (digest == NULL || digest[0] == '\0')
		return CR_OK;
	if (tenant == NULL || strlen(digest) != 64 || strspn(digest, "0123456789abcdef") != 64)
		return CR_ERR_JSON_TYPE;
	if (id_type == NULL || (strcmp(id_type, "email") != 0 && strcmp(id_type, "phone") != 0))
		return CR_ERR_ID_TYPE;
	rc = registry_brand(a, tenant, &brand);
	if (rc == CR_OK)
		rc = registry_subject(a, brand, digest, id_type, p, NULL, NULL);
	*has = rc == CR_OK;
	return rc;
}

/* Limit and page cursor of the body. */
static cr_err body_page(const json_t *body, struct audit_query *q)
{
	json_t *limit = json_object_get(body, "limit"), *before = json_object_get(body, "before");
	if (limit != NULL) {
		if (json_integer_value(limit) < 1 || json_integer_value(limit) > 1000)
			return CR_ERR_JSON_TYPE;
		q->limit = (size_t)json_integer_value(limit);
	}
	if (before != NULL) {
		if (json_integer_value(before) < 0)
			return CR_ERR_JSON_TYPE;
		q->has_before = true;
		q->before = (uint64_t)json_integer_value(before);
	}
	return CR_OK;
}

/* POST /v1/audit/search (officer, admin): body filters -> the page of GET /v1/audit/log. */
cr_err api_audit_search(const struct http_request *req, struct http_reply *rep)
{
	static const struct http_field fields[] = {
		{ "brand", HTTP_JSON_STRING, false },
		{ "subject", HTTP_JSON_STRING, false },
		{ "id_type", HTTP_JSON_STRING, false },
		{ "type", HTTP_JSON_STRING, false },
		{ "since", HTTP_JSON_STRING, false },
		{ "until", HTTP_JSON_STRING, false },
		{ "before", HTTP_JSON_INTEGER, false },
		{ "limit", HTTP_JSON_INTEGER, false },
		{ NULL, 0, false },
	};
	struct audit_query q = { .limit = 50 };
	struct crypto_pseudonym p;
	bool has_subject = false;
	const char *type;
	json_t *body = NULL;
	cr_err rc = http_json_body(req, fields, &body);
	if (rc == CR_OK)
		rc = search_tenant(req, json_string_value(json_object_get(body, "brand")), &q.tenant);
	if (rc == CR_OK)
		rc = body_subject(req->app, body, q.tenant, &p, &has_subject);
	if (rc == CR_OK)
		rc = body_time(body, "since", &q.since);
	if (rc == CR_OK)
		rc = body_time(body, "until", &q.until);
	if (rc == CR_OK)
		rc = body_page(body, &q);
	type = json_string_value(json_object_get(body, "type"));
	q.event_type = type && type[0] ? type : NULL;
	q.subject = has_subject ? p.bytes : NULL;
	if (rc == CR_OK)
		rc = api_audit_page_reply(req, &q, rep);
	sodium_memzero(&p, sizeof(p));
	json_decref(body);
	return rc;
}

/* Adds one checkpoint to the list. */
static void checkpoint_add(void *ctx, uint64_t size, cr_time_ms time_ms, const char *note, size_t len)
{
	json_array_append_new(ctx, json_pack("{s:I,s:o,s:s%}", "size", (json_int_t)size, "time",
					     http_json_time(time_ms), "note", note, len));
}

/* GET /v1/audit/checkpoints?limit=&before= (officer, admin): {"checkpoints":[...],"more","next_before"?}. */
cr_err api_audit_checkpoints(const struct http_request *req, struct http_reply *rep)
{
	const char *ls = http_query(req, "limit"), *bs = http_query(req, "before");
	uint64_t limit = 20, before = 0;
	bool more = false;
	json_t *list, *o;
	cr_err rc;
	if ((ls && cr_parse_u64(ls, 1, 1000, &limit) != CR_OK) ||
	    (bs && cr_parse_u64(bs, 1, INT64_MAX, &before) != CR_OK))
		return CR_ERR_HTTP_QUERY;
	list = json_array();
	rc = audit_log_checkpoints(req->app->log, before, (size_t)limit, checkpoint_add, list, &more);
	if (rc != CR_OK) {
		json_decref(list);
		return rc;
	}
	o = json_pack("{s:o,s:b}", "checkpoints", list, "more", more);
	if (more && json_array_size(list) > 0)
		json_object_set_new(o, "next_before",
				    json_integer(json_integer_value(json_object_get(
					    json_array_get(list, json_array_size(list) - 1), "size"))));
	return http_reply_json(rep, 200, o);
}
