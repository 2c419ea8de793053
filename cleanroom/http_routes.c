/*
 * http_routes.c: every route the service answers, in one table. A line says
 * the method, the path pattern, which roles may call it (HTTP_PUBLIC: no
 * token), whether its handler uses the store, the largest body it accepts
 * and its handler (cleanroom/api_<endpoint>.c). docs/api.yaml documents
 * exactly these routes; tests/unit/cleanroom/test_http.c checks both ways.
 */
#include "cleanroom/http.h"

#define KiB 1024u

const struct http_route http_routes[] = {
	/* method  pattern                   roles            store  max body  handler */
	{ "GET",  "/healthz",                HTTP_PUBLIC,     false, 0,        api_healthz_get },
	{ "GET",  "/metrics",                HTTP_PUBLIC,     false, 0,        api_metrics_get },
	{ "GET",  "/v1/whoami",              AUTH_ROLES_ALL,  false, 0,        api_whoami_get },
	{ "POST", "/v1/tokens",              AUTH_ROLE_ADMIN, true,  4 * KiB,  api_tokens_post },
	{ "GET",  "/v1/tokens",              AUTH_ROLE_ADMIN, true,  0,        api_tokens_get },
	{ "POST", "/v1/tokens/{id}/revoke",  AUTH_ROLE_ADMIN, true,  0,        api_tokens_revoke },
};

const size_t http_route_count = sizeof(http_routes) / sizeof(http_routes[0]);
