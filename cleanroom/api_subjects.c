/*
 * api_subjects.c: one subject's consent, for the brand and its officer.
 * The subject travels only as the 64-hex SHA-256 digest of its normalized
 * identifier in the path (never a raw email or phone in a URL, where logs
 * and proxies would keep it), with ?id_type=email|phone; the registry turns
 * it into the brand's pseudonym exactly as `cleanroom consent status|export`
 * does.
 */
#include <stdlib.h>
#include <string.h>

#include "cleanroom/http.h"
#include "cleanroom/ops.h"
#include "cleanroom/requests.h"


cr_err api_subject_scope(const struct http_request *req, int64_t *brand,
			 struct crypto_pseudonym p[1 + CONSENT_KEY_VERSIONS_MAX], size_t *n)
{
	const char *digest = http_param(req, "digest");
	const char *id_type = http_query(req, "id_type");
	size_t n_alias = 0;
	cr_err rc = api_brand_scope(req, brand);
	if (rc != CR_OK)
		return rc;
	if (digest == NULL || strlen(digest) != 64 || strspn(digest, "0123456789abcdef") != 64)
		return CR_ERR_NOT_FOUND;
	if (id_type == NULL || (strcmp(id_type, "email") != 0 && strcmp(id_type, "phone") != 0))
		return CR_ERR_HTTP_QUERY;
	rc = registry_subject(req->app, *brand, digest, id_type, &p[0], p + 1, &n_alias);
	if (rc == CR_OK)
		*n = 1 + n_alias;
	return rc;
}

/* GET .../subjects/{digest}/status?id_type= (brand, officer): {"at","decisions":[...]}. */
cr_err api_subject_status(const struct http_request *req, struct http_reply *rep)
{
	struct crypto_pseudonym p[1 + CONSENT_KEY_VERSIONS_MAX];
	cr_time_ms at = cr_time_now();
	json_t *list;
	int64_t brand = 0;
	size_t n = 0;
	cr_err rc = api_subject_scope(req, &brand, p, &n);
	if (rc != CR_OK)
		return rc;
	list = json_array();
	rc = ops_consent_status(req->app, brand, &p[0], at, list);
	if (rc != CR_OK) {
		json_decref(list);
		return rc;
	}
	return http_reply_json(rep, 200, json_pack("{s:o,s:o}", "at", http_json_time(at), "decisions", list));
}

/* GET .../subjects/{digest}/export?id_type= (brand, officer): the subject's history (R29) with its
 * receipts (R27) and what the brand holds about them (ops_subject_access, GDPR 15 and 20). */
cr_err api_subject_export(const struct http_request *req, struct http_reply *rep)
{
	struct crypto_pseudonym p[1 + CONSENT_KEY_VERSIONS_MAX];
	json_t *doc = NULL;
	int64_t brand = 0;
	size_t n = 0;
	cr_err rc = api_subject_scope(req, &brand, p, &n);
	if (rc == CR_OK)
		rc = ops_subject_access(req->app, brand, p, n, &doc);
	if (rc != CR_OK)
		return rc;
	return http_reply_json(rep, 200, doc);
}

/*
 * POST .../subjects/{digest}/erase?id_type= (brand): the person's erasure
 * (ops_subject_erase), 200 with what was erased and kept, the withdrawal's
 * receipt and the erasure entry's inclusion proof.
 */
cr_err api_subject_erase(const struct http_request *req, struct http_reply *rep)
{
	struct crypto_pseudonym p[1 + CONSENT_KEY_VERSIONS_MAX];
	struct registry_actor who;
	char actor[32];
	json_t *doc = NULL;
	int64_t brand = 0;
	size_t n = 0;
	cr_err rc = api_subject_scope(req, &brand, p, &n);
	if (rc != CR_OK)
		return rc;
	api_actor(req, actor, sizeof(actor), &who.role, &who.id);
	rc = ops_subject_erase(req->app, &who, brand, p, n, &doc);
	if (rc != CR_OK)
		return rc;
	return http_reply_json(rep, 200, doc);
}

static const struct http_field guardian_link_fields[] = {
	{ "guardian_ref", HTTP_JSON_STRING, true },
	{ "verified_by", HTTP_JSON_STRING, true },
	{ "time", HTTP_JSON_STRING, false },
	{ NULL, 0, false },
};

/* The body's link fields into *l (the registry checks them again). */
static cr_err guardian_link_read(const json_t *in, struct consent_guardian_link *l)
{
	const char *ref = json_string_value(json_object_get(in, "guardian_ref"));
	const char *by = json_string_value(json_object_get(in, "verified_by"));
	const json_t *t = json_object_get(in, "time");

	l->verified = cr_time_now();
	if (strlen(ref) >= sizeof(l->guardian_ref) || strlen(by) >= sizeof(l->verified_by))
		return CR_ERR_CONSENT_GUARDIAN_LINK;
	memcpy(l->guardian_ref, ref, strlen(ref) + 1);
	memcpy(l->verified_by, by, strlen(by) + 1);
	if (t != NULL && cr_time_parse(json_string_value(t), json_string_length(t), &l->verified) != CR_OK)
		return CR_ERR_JSON_TYPE;
	return CR_OK;
}

/*
 * POST .../subjects/{digest}/guardian-links?id_type= (brand):
 * {"guardian_ref","verified_by","time"?} -> 201 {"status":"linked"}, or 200
 * {"status":"already_linked"}; audited ("guardian.link"). R16.
 */
cr_err api_guardian_link(const struct http_request *req, struct http_reply *rep)
{
	struct crypto_pseudonym p[1 + CONSENT_KEY_VERSIONS_MAX];
	struct consent_guardian_link l = { 0 };
	struct registry_actor who;
	char actor[32], why[CONSENT_WHY_MAX] = "";
	json_t *in = NULL;
	int64_t brand = 0;
	bool dup = false;
	size_t n = 0;
	cr_err rc = api_subject_scope(req, &brand, p, &n);
	if (rc == CR_OK)
		rc = http_json_body(req, guardian_link_fields, &in);
	if (rc == CR_OK)
		rc = guardian_link_read(in, &l);
	json_decref(in);
	if (rc != CR_OK)
		return rc;
	l.child = p[0];
	api_actor(req, actor, sizeof(actor), &who.role, &who.id);
	rc = registry_guardian_link(req->app, &who, brand, &l, &dup, why, sizeof(why));
	if (rc != CR_OK)
		return rc; /* the error code names what is missing, as the consents route does */
	return http_reply_json(rep, dup ? 200 : 201,
			       json_pack("{s:s}", "status", dup ? "already_linked" : "linked"));
}

/* GET /v1/brands/{brand}/requests[?overdue=1] (brand, officer): the rights requests and their due dates (R22). */
cr_err api_requests_get(const struct http_request *req, struct http_reply *rep)
{
	const char *overdue = http_query(req, "overdue");
	json_t *list;
	int64_t brand = 0;
	cr_err rc = api_brand_scope(req, &brand);
	if (rc != CR_OK)
		return rc;
	if (overdue != NULL && strcmp(overdue, "1") != 0 && strcmp(overdue, "0") != 0)
		return CR_ERR_HTTP_QUERY;
	list = json_array();
	rc = requests_list(req->app, brand, overdue && strcmp(overdue, "1") == 0, cr_time_now(), list);
	if (rc != CR_OK) {
		json_decref(list);
		return rc;
	}
	return http_reply_json(rep, 200, json_pack("{s:o}", "requests", list));
}
