/*
 * api_ingest.c: POST /v1/brands/{brand}/datasets/{name}/ingest, a streaming
 * upload of a customer list (text/csv or application/x-ndjson). The server
 * spools the body to an unnamed 0600 file in the data directory as it
 * arrives (bounded by the route's maximum, never held in memory), then runs
 * the same ingestion as `cleanroom ingest` (ops_ingest: consent gate, one
 * audit leaf per batch) and answers with the same report as its --json.
 * A structurally bad file stores nothing.
 */
#include <stdio.h>
#include <string.h>

#include "cleanroom/http.h"
#include "cleanroom/ops.h"

/* The file-name hint that tells the row reader the format, from the media type. */
static const char *format_hint(const char *ct)
{
	if (http_media_is(ct, "text/csv"))
		return "upload.csv";
	if (http_media_is(ct, "application/x-ndjson"))
		return "upload.ndjson";
	return NULL;
}

/* POST .../datasets/{name}/ingest?default_country=CC (brand): 200 the ingest report. */
cr_err api_ingest_post(const struct http_request *req, struct http_reply *rep)
{
	struct crypto_id_opts id_opts = { NULL, NULL };
	struct ingest_report report;
	struct registry_actor who;
	struct dataset d;
	char actor[32], err[256] = "";
	const char *hint = format_hint(req->content_type);
	const char *country = http_query(req, "default_country");
	int64_t brand = 0;
	cr_err rc = api_brand_scope(req, &brand);
	if (rc != CR_OK)
		return rc;
	if (hint == NULL)
		return CR_ERR_HTTP_MEDIA_TYPE;
	if (country != NULL && (strlen(country) != 2 || strspn(country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 2))
		return CR_ERR_HTTP_QUERY;
	rc = dataset_get(req->app->store, brand, http_param(req, "name"), &d);
	if (rc != CR_OK)
		return rc;
	if (req->upload == NULL)
		return CR_ERR_INTERNAL;
	id_opts.default_country = country;
	api_actor(req, actor, sizeof(actor), &who.role, &who.id);
	rc = ops_ingest(req->app, &who, http_param(req, "brand"), &d, req->upload, hint, &id_opts, 0,
			NULL, NULL, &report, err, sizeof(err));
	if (rc != CR_OK)
		return rc;
	return http_reply_json(rep, 200, ops_ingest_report_json(&report, http_param(req, "brand"), d.name));
}
