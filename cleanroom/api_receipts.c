/*
 * api_receipts.c: POST /v1/receipts/verify checks a consent receipt (R27)
 * with the service's own keys (the receipts' and the log's), exactly as `cleanroom receipt
 * verify` does (ops_receipt_verify): the signature, and the attached audit
 * inclusion proof when there is one.
 */
#include <stdlib.h>

#include "cleanroom/http.h"
#include "cleanroom/ops.h"

/* POST /v1/receipts/verify (every role): body = receipt JSON -> 200 what it proves; 400 if not. */
cr_err api_receipts_verify(const struct http_request *req, struct http_reply *rep)
{
	struct consent_receipt_info info;
	char *vkey = NULL, *rkey = NULL, why[AUDIT_MSG_MAX] = "";
	bool proven = false;
	cr_err rc;
	if (!http_media_is(req->content_type, "application/json"))
		return CR_ERR_HTTP_MEDIA_TYPE;
	if (req->body_len == 0)
		return CR_ERR_JSON_MALFORMED;
	rc = app_verifier_key(req->app, &vkey);
	if (rc == CR_OK)
		rc = app_receipt_key(req->app, &rkey);
	if (rc == CR_OK)
		rc = ops_receipt_verify(rkey, vkey, (const char *)req->body, req->body_len, &info, &proven, why,
					sizeof(why));
	free(vkey);
	free(rkey);
	if (rc == CR_ERR_AUDIT_VERIFY || rc == CR_ERR_INTERNAL || rc == CR_ERR_STORE)
		return rc;
	if (rc != CR_OK)
		return cr_err_http_status(rc) >= 500 ? CR_ERR_CONSENT_RECEIPT_MALFORMED : rc;
	return http_reply_json(rep, 200,
			       json_pack("{s:b,s:s,s:I,s:I,s:I,s:b,s:o}", "valid", 1, "type",
					 consent_event_type_name(info.type), "event_id", (json_int_t)info.event_id,
					 "brand_id", (json_int_t)info.brand, "audit_index",
					 (json_int_t)info.audit_index, "audit_proof_verified", proven,
					 "issued", http_json_time(info.issued)));
}
