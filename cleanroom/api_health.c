/*
 * api_health.c: GET /healthz and GET /metrics, the two routes an operator's
 * probes and scrapers call without a token. Neither touches the store, so a
 * busy database never makes the service look dead.
 */
#include "cleanroom/http.h"

/* GET /healthz: 200 {"status":"ok"} while the server accepts requests. */
cr_err api_healthz_get(const struct http_request *req, struct http_reply *rep)
{
	(void)req;
	return http_reply_json(rep, 200, json_pack("{s:s}", "status", "ok"));
}

/* GET /metrics: request counters and latencies in Prometheus text format. */
cr_err api_metrics_get(const struct http_request *req, struct http_reply *rep)
{
	size_t len = 0;
	char *text = http_server_metrics_render(req->server, &len);
	http_reply_text(rep, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	return CR_OK;
}
