/*
 * api_audit.c: the audit log over HTTP, for officers, admins and anyone
 * checking a receipt: the verifier key, the latest signed checkpoint,
 * inclusion proofs (c2sp.org/tlog-proof, as `cleanroom audit prove`
 * prints and `audit verify-proof` checks), consistency proofs between two
 * tree sizes, and the log search of `cleanroom audit log --json`.
 *
 * Tenancy: an officer searches only its tenant's entries; only an admin
 * sees every tenant. A non-admin proves only entries of its own tenant,
 * since a tlog-proof carries the entry itself.
 */
#include <stdlib.h>
#include <string.h>

#include "cleanroom/http.h"
#include "cleanroom/witness.h"
#include "cleanroom/ops.h"

/* An optional unsigned query parameter in [min, max]; CR_ERR_HTTP_QUERY if malformed. */
static cr_err query_u64(const struct http_request *req, const char *name, uint64_t min,
			uint64_t max, bool *present, uint64_t *out)
{
	const char *s = http_query(req, name);
	*present = s != NULL;
	if (s == NULL)
		return CR_OK;
	return cr_parse_u64(s, min, max, out) == CR_OK ? CR_OK : CR_ERR_HTTP_QUERY;
}

/* An optional RFC 3339 query parameter; CR_ERR_HTTP_QUERY if malformed. */
static cr_err query_time(const struct http_request *req, const char *name, cr_time_ms *out)
{
	const char *s = http_query(req, name);
	if (s == NULL)
		return CR_OK;
	return cr_time_parse(s, strlen(s), out) == CR_OK ? CR_OK : CR_ERR_HTTP_QUERY;
}

/* The filters of a search, scoped to the caller's tenant unless it is admin. */
static cr_err log_query(const struct http_request *req, struct audit_query *q)
{
	const char *brand = http_query(req, "brand");
	bool has_limit = false;
	uint64_t limit = 50;
	cr_err rc = query_time(req, "since", &q->since);
	if (rc == CR_OK)
		rc = query_time(req, "until", &q->until);
	if (rc == CR_OK)
		rc = query_u64(req, "limit", 1, 1000, &has_limit, &limit);
	if (rc == CR_OK)
		rc = query_u64(req, "before", 0, UINT64_MAX, &q->has_before, &q->before);
	if (rc != CR_OK)
		return rc;
	q->limit = (size_t)limit;
	q->event_type = http_query(req, "type");
	q->tenant = brand;
	if (req->who->role != AUTH_ROLE_ADMIN) {
		if (brand != NULL && strcmp(brand, req->who->tenant) != 0)
			return CR_ERR_AUTH_TENANT;
		q->tenant = req->who->tenant;
	}
	return CR_OK;
}

/* GET /v1/audit/log (officer, admin): {"entries":[...],"more","next_before"?} newest first. */
cr_err api_audit_log(const struct http_request *req, struct http_reply *rep)
{
	struct audit_query q = { .limit = 50 };
	cr_err rc = log_query(req, &q);
	return rc == CR_OK ? api_audit_page_reply(req, &q, rep) : rc;
}

cr_err api_audit_page_reply(const struct http_request *req, const struct audit_query *q,
			    struct http_reply *rep)
{
	struct audit_page page = { 0 };
	json_t *arr, *o;
	cr_err rc = audit_log_query(req->app->log, q, &page);
	if (rc != CR_OK)
		return rc == CR_ERR_AUDIT_QUERY ? CR_ERR_HTTP_QUERY : rc;
	arr = json_array();
	for (size_t i = 0; i < page.n; i++)
		json_array_append_new(arr, ops_audit_record_json(&page.records[i]));
	o = json_pack("{s:o,s:b}", "entries", arr, "more", page.more);
	if (page.more)
		json_object_set_new(o, "next_before", json_integer((json_int_t)page.next_before));
	audit_page_release(&page);
	return http_reply_json(rep, 200, o);
}

/* GET /v1/audit/checkpoint (every role): the latest signed checkpoint note with the witnesses'
 * cosignature lines stored for it (still a valid note for the log's key alone), text/plain. */
cr_err api_audit_checkpoint(const struct http_request *req, struct http_reply *rep)
{
	char *note = NULL;
	cr_err rc = witness_cosigned_checkpoint(req->app, &note);
	if (rc != CR_OK)
		return rc;
	http_reply_text(rep, 200, "text/plain; charset=utf-8", note, strlen(note));
	return CR_OK;
}

/* CR_OK if the caller may see entry `index` (admin, or an entry of its tenant). */
static cr_err entry_visible(const struct http_request *req, uint64_t index)
{
	struct audit_leaf *leaf = NULL;
	uint8_t *bytes = NULL;
	size_t len = 0;
	cr_err rc;
	if (req->who->role == AUTH_ROLE_ADMIN)
		return CR_OK;
	rc = audit_log_leaf(req->app->log, index, &bytes, &len);
	if (rc == CR_OK)
		rc = audit_leaf_decode(bytes, len, &leaf);
	free(bytes);
	if (rc != CR_OK)
		return rc;
	/* Not the caller's: answered as if absent, so no other tenant's entry is confirmed. */
	if (strcmp(leaf->tenant, req->who->tenant) != 0)
		rc = CR_ERR_AUDIT_NOT_FOUND;
	audit_leaf_free(leaf);
	return rc;
}

/* GET /v1/audit/proof/inclusion?index=N: the tlog-proof of entry N, text/plain. */
cr_err api_audit_inclusion(const struct http_request *req, struct http_reply *rep)
{
	char *proof = NULL;
	size_t len = 0;
	uint64_t index = 0;
	bool present = false;
	cr_err rc = query_u64(req, "index", 0, UINT64_MAX, &present, &index);
	if (rc == CR_OK && !present)
		rc = CR_ERR_HTTP_QUERY;
	if (rc == CR_OK)
		rc = entry_visible(req, index);
	if (rc == CR_OK)
		rc = audit_log_tlog_proof(req->app->log, index, &proof, &len);
	if (rc == CR_ERR_AUDIT_PROOF_RANGE)
		rc = CR_ERR_AUDIT_NOT_FOUND;
	if (rc != CR_OK)
		return rc;
	http_reply_text(rep, 200, "text/plain; charset=utf-8", proof, len);
	return CR_OK;
}

/* GET /v1/audit/proof/consistency?from=&to=: {"from","to","hashes":[base64]} (RFC 9162). */
cr_err api_audit_consistency(const struct http_request *req, struct http_reply *rep)
{
	struct audit_proof proof;
	uint64_t from = 0, to = 0, size = 0;
	bool has_from = false, has_to = false;
	char b64[64];
	json_t *hashes;
	cr_err rc = query_u64(req, "from", 1, UINT64_MAX, &has_from, &from);
	if (rc == CR_OK)
		rc = query_u64(req, "to", 1, UINT64_MAX, &has_to, &to);
	if (rc == CR_OK && (!has_from || !has_to || from > to))
		rc = CR_ERR_HTTP_QUERY;
	if (rc == CR_OK)
		rc = audit_log_size(req->app->log, &size);
	if (rc == CR_OK && to > size)
		rc = CR_ERR_AUDIT_PROOF_RANGE;
	if (rc == CR_OK)
		rc = audit_log_prove_consistency(req->app->log, from, to, &proof);
	if (rc != CR_OK)
		return rc;
	hashes = json_array();
	for (size_t i = 0; i < proof.n; i++) {
		if (cr_base64_encode(proof.hash[i], AUDIT_HASH_BYTES, b64, sizeof(b64)) != CR_OK) {
			json_decref(hashes);
			return CR_ERR_INTERNAL;
		}
		json_array_append_new(hashes, json_string(b64));
	}
	return http_reply_json(rep, 200, json_pack("{s:I,s:I,s:o}", "from", (json_int_t)from, "to",
						   (json_int_t)to, "hashes", hashes));
}

/* GET /v1/audit/key (every role): the log's verifier key text, text/plain. */
cr_err api_audit_key(const struct http_request *req, struct http_reply *rep)
{
	char *vkey = NULL;
	cr_err rc = app_verifier_key(req->app, &vkey);
	if (rc != CR_OK)
		return rc;
	http_reply_text(rep, 200, "text/plain; charset=utf-8", vkey, strlen(vkey));
	return CR_OK;
}
