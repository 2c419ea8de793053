/*
 * api_consents.c: consent events of a brand. POST .../consents takes one
 * event (the NDJSON line format of docs/spec/formats.md, as one JSON body),
 * parsed by the same parser as the import and stored by the same
 * orchestrator call as `cleanroom consent grant|withdraw|...`, and answers
 * with the change and, for grants and withdrawals, the signed receipt.
 * POST .../consents/batch imports NDJSON exactly like `cleanroom consent
 * import`, spooled to disk as it arrives, and answers with the same summary
 * plus the refused lines (number and reason; never a subject). GET
 * .../consents/{id}/receipt gives any stored act's receipt, an import's too.
 */
#include <stdlib.h>
#include <string.h>

#include "cleanroom/http.h"
#include "cleanroom/ops.h"

#define BATCH_REFUSED_LISTED 100

/* Parses the body as one event with the brand's importer (pseudonymizes the subject). */
static cr_err event_parse(const struct http_request *req, int64_t brand, struct consent_event *ev)
{
	struct consent_importer *imp = NULL;
	char why[CONSENT_WHY_MAX];
	cr_err rc;
	if (!http_media_is(req->content_type, "application/json"))
		return CR_ERR_HTTP_MEDIA_TYPE;
	if (req->body_len == 0)
		return CR_ERR_JSON_MALFORMED;
	rc = app_importer(req->app, brand, &imp);
	if (rc == CR_OK)
		rc = consent_event_parse(imp, (const char *)req->body, req->body_len, cr_time_now(), ev,
					 why, sizeof(why));
	if (rc == CR_OK) {
		/* A live channel: the service stamps the receipt time itself (a
		 * history with its own receipt times goes through the batch route). */
		ev->received = cr_time_now();
		ev->received_given = false;
		consent_event_source(ev, "api", "api"); /* R24 */
	}
	return rc;
}

/* What api_consents_post needs once its event is committed. */
struct post_done {
	int64_t brand;
	struct consent_change change;
	uint64_t index;
	uint64_t purged;
};

/* After the commit: the receipt (with its inclusion proof) and the reply. */
static cr_err consents_post_finish(struct app *a, cr_err rc, void *ctx, struct http_reply *rep)
{
	struct post_done *d = ctx;
	char *receipt = NULL;
	json_t *out, *rj = NULL;
	if (rc == CR_OK)
		rc = registry_receipt(a, d->brand, &d->change, d->index, 0, &receipt);
	if (rc == CR_OK && receipt != NULL) {
		rj = json_loads(receipt, 0, NULL);
		free(receipt);
		if (rj == NULL)
			rc = CR_ERR_INTERNAL;
	}
	if (rc == CR_OK) {
		out = json_pack("{s:I,s:s,s:b,s:I,s:o}", "event_id", (json_int_t)d->change.event_id,
				"type", consent_event_type_name(d->change.type), "duplicate",
				d->change.duplicate, "purged_records", (json_int_t)d->purged,
				"receipt", rj ? rj : json_null());
		rc = http_reply_json(rep, d->change.duplicate ? 200 : 201, out);
	}
	free(d);
	return rc;
}

/*
 * POST /v1/brands/{brand}/consents (brand): 201 {"event_id","type","duplicate","purged_records","receipt"}.
 * The event may join a commit group; the reply is made once it is durable.
 */
cr_err api_consents_post(const struct http_request *req, struct http_reply *rep)
{
	struct registry_actor who;
	struct consent_event ev;
	struct post_done *d;
	char actor[32], why[CONSENT_WHY_MAX] = "";
	int64_t id = 0;
	cr_err rc = api_brand_scope(req, &id);
	if (rc == CR_OK)
		rc = event_parse(req, id, &ev);
	if (rc != CR_OK)
		return rc;
	api_actor(req, actor, sizeof(actor), &who.role, &who.id);
	d = cr_xcalloc(1, sizeof(*d));
	d->brand = id;
	rc = registry_record(req->app, &who, id, &ev, &d->change, &d->index, why, sizeof(why));
	d->purged = req->app->purged_records;
	req->app->purged_records = 0;
	if (rc != CR_OK) {
		free(d);
		return rc;
	}
	rep->finish = consents_post_finish;
	rep->finish_ctx = d;
	return CR_OK;
}

/* Lists the first refused lines: number, error code and reason (names a field). */
static void batch_refused(void *ctx, uint64_t line, cr_err code, const char *why)
{
	json_t *list = ctx;
	char name[64];
	if (json_array_size(list) >= BATCH_REFUSED_LISTED)
		return;
	json_array_append_new(list, json_pack("{s:I,s:s,s:s}", "line", (json_int_t)line, "code",
					      cr_errcode(code, name, sizeof(name)), "reason",
					      why[0] ? why : cr_strerror(code)));
}

/* POST /v1/brands/{brand}/consents/batch (brand): NDJSON -> 200 the import summary. */
cr_err api_consents_batch(const struct http_request *req, struct http_reply *rep)
{
	struct consent_import_summary sum;
	struct registry_actor who;
	char actor[32];
	json_t *refused, *out;
	int64_t id = 0;
	cr_err rc = api_brand_scope(req, &id);
	if (rc != CR_OK)
		return rc;
	if (!http_media_is(req->content_type, "application/x-ndjson"))
		return CR_ERR_HTTP_MEDIA_TYPE;
	if (req->upload == NULL)
		return CR_ERR_INTERNAL;
	api_actor(req, actor, sizeof(actor), &who.role, &who.id);
	refused = json_array();
	rc = ops_consent_import(req->app, &who, id, "api", req->upload, batch_refused, NULL, refused, &sum);
	if (rc != CR_OK) {
		json_decref(refused);
		return rc;
	}
	out = ops_import_summary_json(&sum);
	json_object_set_new(out, "refused_lines", refused);
	json_object_set_new(out, "refused_lines_truncated", json_boolean(sum.refused > BATCH_REFUSED_LISTED));
	return http_reply_json(rep, 200, out);
}

/* GET /v1/brands/{brand}/consents/{id}/receipt (brand, officer): the stored act's signed receipt (R27). */
cr_err api_consent_receipt(const struct http_request *req, struct http_reply *rep)
{
	char *receipt = NULL;
	json_t *doc;
	int64_t brand = 0, id = 0;
	cr_err rc = api_brand_scope(req, &brand);
	if (rc == CR_OK)
		rc = http_param_id(req, "id", &id);
	if (rc == CR_OK)
		rc = registry_event_receipt(req->app, brand, id, &receipt);
	if (rc != CR_OK)
		return rc;
	doc = json_loads(receipt, 0, NULL);
	free(receipt);
	return doc ? http_reply_json(rep, 200, doc) : CR_ERR_INTERNAL;
}
