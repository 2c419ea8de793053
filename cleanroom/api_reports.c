/*
 * api_reports.c: the compliance officer's reports over HTTP (report.h):
 *   GET /v1/brands/{brand}/reports/processing[?format=md]
 *   GET /v1/brands/{brand}/reports/compliance?since=T&until=T[&format=md]
 * for the brand's own and officer tokens (api_brand_scope: another tenant
 * is refused as on every brand route). The JSON form is the verifiable one.
 */
#include <string.h>

#include "cleanroom/http.h"
#include "cleanroom/report.h"

/* ?format= json (default) or md; CR_ERR_HTTP_QUERY otherwise. */
static cr_err want_md(const struct http_request *req, bool *md)
{
	const char *f = http_query(req, "format");
	*md = f != NULL && strcmp(f, "md") == 0;
	return f == NULL || *md || strcmp(f, "json") == 0 ? CR_OK : CR_ERR_HTTP_QUERY;
}

static cr_err reply(struct http_reply *rep, json_t *doc, bool md, char *(*render)(const json_t *))
{
	char *text;
	if (!md)
		return http_reply_json(rep, 200, doc);
	text = render(doc);
	json_decref(doc);
	if (text == NULL)
		return CR_ERR_NOMEM;
	http_reply_text(rep, 200, "text/markdown; charset=utf-8", text, strlen(text));
	return CR_OK;
}

/* GET /v1/brands/{brand}/reports/processing (brand, officer): the record of processing activities. */
cr_err api_report_processing(const struct http_request *req, struct http_reply *rep)
{
	json_t *r = NULL;
	int64_t brand = 0;
	bool md = false;
	cr_err rc = api_brand_scope(req, &brand);
	if (rc == CR_OK)
		rc = want_md(req, &md);
	if (rc == CR_OK)
		rc = report_processing(req->app, brand, http_param(req, "brand"), cr_time_now(), &r);
	return rc == CR_OK ? reply(rep, r, md, report_processing_markdown) : rc;
}

/* GET /v1/brands/{brand}/reports/compliance?since=&until= (brand, officer): the signed figures. */
cr_err api_report_compliance(const struct http_request *req, struct http_reply *rep)
{
	const char *since_s = http_query(req, "since"), *until_s = http_query(req, "until");
	cr_time_ms since = 0, until = 0;
	json_t *doc = NULL;
	int64_t brand = 0;
	bool md = false;
	cr_err rc = api_brand_scope(req, &brand);
	if (rc == CR_OK)
		rc = want_md(req, &md);
	if (rc == CR_OK && (since_s == NULL || until_s == NULL || cr_time_parse(since_s, strlen(since_s), &since) != CR_OK ||
			    cr_time_parse(until_s, strlen(until_s), &until) != CR_OK))
		rc = CR_ERR_HTTP_QUERY;
	if (rc == CR_OK)
		rc = report_compliance(req->app, http_param(req, "brand"), since, until, &doc);
	return rc == CR_OK ? reply(rep, doc, md, report_compliance_markdown) : rc;
}
