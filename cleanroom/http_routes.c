/*
 * http_routes.c: every route the service answers, in one table. A line says
 * the method, the path pattern, which roles may call it (HTTP_PUBLIC: no
 * token), where its handler uses the store (none or its own locking, the
 * writer under the store lock, a read connection), the largest body it accepts
 * and its handler (cleanroom/api_<endpoint>.c). docs/api.yaml documents
 * exactly these routes; tests/unit/cleanroom/test_http.c checks both ways.
 */
#include "cleanroom/http.h"

#define KiB 1024u
#define MiB (1024u * KiB)
#define GiB ((size_t)1024u * MiB)

/* Where a handler runs: no store (or it locks itself), the writer under the lock, a reader. */
#define NONE HTTP_STORE_NONE
#define WRITE HTTP_STORE_WRITE
#define READ HTTP_STORE_READ

#define BRAND AUTH_ROLE_BRAND
#define BRAND_READERS (AUTH_ROLE_BRAND | AUTH_ROLE_OFFICER)
#define AUDIT_READERS (AUTH_ROLE_OFFICER | AUTH_ROLE_ADMIN)
#define PARTNER AUTH_ROLE_PARTNER
#define COLLAB_READERS (AUTH_ROLE_BRAND | AUTH_ROLE_OFFICER | AUTH_ROLE_PARTNER)
/* A round's element list: up to 2^25 elements of 32 bytes (1 GiB), spooled. */
#define ROUND_MAX ((size_t)32u << 25)

const struct http_route http_routes[] = {
	/* method  pattern                   roles            store  max body  handler  spool  group  slow */
	{ "GET",  "/healthz",                HTTP_PUBLIC,     NONE, 0,        api_healthz_get, false, false, false },
	{ "GET",  "/metrics",                AUTH_ROLES_ALL,  NONE, 0,        api_metrics_get, false, false, false },
	{ "GET",  "/v1/whoami",              AUTH_ROLES_ALL,  NONE, 0,        api_whoami_get, false, false, false },
	{ "POST", "/v1/tokens",              AUTH_ROLE_ADMIN, WRITE,  4 * KiB,  api_tokens_post, false, false, false },
	{ "GET",  "/v1/tokens",              AUTH_ROLE_ADMIN, READ,   0,        api_tokens_get, false, false, false },
	{ "POST", "/v1/tokens/{id}/revoke",  AUTH_ROLE_ADMIN, WRITE,  0,        api_tokens_revoke, false, false, false },
	{ "POST", "/v1/brands",              AUTH_ROLE_ADMIN, WRITE,  4 * KiB,  api_brands_post, false, false, false },
	{ "POST", "/v1/brands/{brand}/child-ages", BRAND,     WRITE,  1 * KiB,  api_brand_child_age, false, false, false },
	{ "POST", "/v1/brands/{brand}/notices", BRAND,        WRITE,  1 * MiB,  api_notices_post, false, false, false },
	{ "GET",  "/v1/brands/{brand}/notices/{version}", BRAND_READERS, READ,  0, api_notices_get, false, false, false },
	{ "POST", "/v1/brands/{brand}/consents", BRAND,       WRITE,  16 * KiB, api_consents_post, false, true, false },
	{ "POST", "/v1/brands/{brand}/consents/batch", BRAND, WRITE,  256 * MiB, api_consents_batch, true, false, true },
	{ "GET",  "/v1/brands/{brand}/consents/{id}/receipt", BRAND_READERS, READ,  0, api_consent_receipt, false, false, false },
	{ "GET",  "/v1/brands/{brand}/subjects/{digest}/status", BRAND_READERS, READ,  0, api_subject_status, false, false, false },
	{ "GET",  "/v1/brands/{brand}/subjects/{digest}/export", BRAND_READERS, READ,  0, api_subject_export, false, false, false },
	{ "POST", "/v1/brands/{brand}/subjects/{digest}/erase", BRAND, WRITE, 0, api_subject_erase, false, false, false },
	{ "POST", "/v1/brands/{brand}/subjects/{digest}/guardian-links", BRAND, WRITE, 1 * KiB, api_guardian_link, false, false, false },
	{ "GET",  "/v1/brands/{brand}/requests", BRAND_READERS, READ,  0, api_requests_get, false, false, false },
	/* The officer's reports (report.h): the compliance report scans the window's leaves. */
	{ "GET",  "/v1/brands/{brand}/reports/processing", BRAND_READERS, READ, 0, api_report_processing, false, false, false },
	{ "GET",  "/v1/brands/{brand}/reports/compliance", BRAND_READERS, READ, 0, api_report_compliance, false, false, true },
	{ "POST", "/v1/brands/{brand}/impact-assessments", BRAND, WRITE, 4 * KiB, api_pia_post, false, false, false },
	{ "GET",  "/v1/brands/{brand}/impact-assessments", BRAND_READERS, READ, 0, api_pia_get, false, false, false },
	{ "POST", "/v1/brands/{brand}/transfers", BRAND,     WRITE,  1 * KiB,  api_transfers_post, false, false, false },
	{ "GET",  "/v1/brands/{brand}/transfers", BRAND_READERS, READ, 0,      api_transfers_get, false, false, false },
	{ "POST", "/v1/brands/{brand}/datasets", BRAND,       WRITE,  16 * KiB, api_datasets_post, false, false, false },
	{ "GET",  "/v1/brands/{brand}/datasets", BRAND_READERS, READ,  0,       api_datasets_get, false, false, false },
	{ "GET",  "/v1/brands/{brand}/datasets/{name}", BRAND_READERS, READ,  0, api_dataset_get, false, false, false },
	{ "POST", "/v1/brands/{brand}/datasets/{name}/ingest", BRAND, WRITE, 1 * GiB, api_ingest_post, true, false, true },
	{ "POST", "/v1/brands/{brand}/collaborations", BRAND,  WRITE,  16 * KiB, api_collabs_post, false, false, false },
	{ "GET",  "/v1/brands/{brand}/collaborations", BRAND_READERS, READ,  0, api_collabs_get, false, false, false },
	{ "GET",  "/v1/collaborations",      PARTNER,         READ,   0,        api_partner_collabs_get, false, false, false },
	{ "GET",  "/v1/collaborations/{id}", COLLAB_READERS,  READ,   0,        api_collab_get, false, false, false },
	{ "GET",  "/v1/collaborations/{id}/budget", COLLAB_READERS, READ,  0,   api_collab_budget, false, false, false },
	/* Only the brand raises its pairs' budgets: not its officer, not the partner. */
	{ "POST", "/v1/collaborations/{id}/budget", BRAND,    WRITE,  1 * KiB,  api_collab_budget_raise, false, false, false },
	{ "GET",  "/v1/collaborations/{id}/releases/{release}", COLLAB_READERS, READ,  0, api_collab_release, false, false, false },
	/* A withdrawal the partner received, passed on (R23): locks the store itself, then pads its answer. */
	{ "POST", "/v1/collaborations/{id}/withdrawals", PARTNER, NONE, 1 * KiB, api_partner_withdraw, false, false, true },
	/* Match rounds take the store lock only around their store calls (api_sessions.c).
	 * Slow routes, and every WRITE route, run on the job threads: they never hold a
	 * libmicrohttpd thread, long or waiting for the store lock. */
	{ "POST", "/v1/collaborations/{id}/sessions", PARTNER, NONE, 4 * KiB, api_sessions_post, false, false, true },
	{ "GET",  "/v1/sessions/{session}",  PARTNER,         NONE, 0,        api_session_get, false, false, false },
	{ "DELETE", "/v1/sessions/{session}", PARTNER,        NONE, 0,        api_session_delete, false, false, true },
	{ "POST", "/v1/sessions/{session}/blinded", PARTNER,  NONE, ROUND_MAX, api_session_blinded, true, false, true },
	{ "POST", "/v1/sessions/{session}/answer", PARTNER,   NONE, ROUND_MAX, api_session_answer, true, false, true },
	{ "GET",  "/v1/audit/log",           AUDIT_READERS,   READ,   0,        api_audit_log, false, false, false },
	{ "GET",  "/v1/audit/checkpoint",    AUTH_ROLES_ALL,  READ,   0,        api_audit_checkpoint, false, false, false },
	{ "GET",  "/v1/audit/proof/inclusion", AUTH_ROLES_ALL, READ,  0,        api_audit_inclusion, false, false, false },
	{ "GET",  "/v1/audit/proof/consistency", AUTH_ROLES_ALL, READ,  0,      api_audit_consistency, false, false, false },
	{ "GET",  "/v1/audit/key",           AUTH_ROLES_ALL,  READ,   0,        api_audit_key, false, false, false },
	{ "POST", "/v1/receipts/verify",     AUTH_ROLES_ALL,  READ,   128 * KiB, api_receipts_verify, false, false, false },
	/* Web pages (web/, embedded) and the consent center's public calls (api_web*.c, api_links.c). */
	{ "GET",  "/",                       HTTP_PUBLIC,     NONE, 0,        api_web_page, false, false, false },
	{ "GET",  "/consent",                HTTP_PUBLIC,     NONE, 0,        api_web_page, false, false, false },
	{ "GET",  "/audit",                  HTTP_PUBLIC,     NONE, 0,        api_web_page, false, false, false },
	{ "GET",  "/static/{file}",          HTTP_PUBLIC,     NONE, 0,        api_web_static, false, false, false },
	{ "POST", "/v1/brands/{brand}/subjects/{digest}/link", BRAND, WRITE, 1 * KiB, api_link_issue, false, false, false },
	{ "POST", "/web/v1/link",            HTTP_PUBLIC,     READ,   1 * KiB,  api_link_view, false, false, false },
	{ "POST", "/web/v1/link/withdraw",   HTTP_PUBLIC,     WRITE,  1 * KiB,  api_link_withdraw, false, false, false },
	{ "POST", "/web/v1/link/erase",      HTTP_PUBLIC,     WRITE,  1 * KiB,  api_link_erase, false, false, false },
	{ "POST", "/web/v1/link/object",     HTTP_PUBLIC,     WRITE,  1 * KiB,  api_link_object, false, false, false },
	{ "POST", "/web/v1/link/access",     HTTP_PUBLIC,     WRITE,  1 * KiB,  api_link_access, false, false, false },
	/* Takes the store lock itself, then pads its answer outside it (api_web_withdraw.c): slow. */
	{ "POST", "/web/v1/withdraw",        HTTP_PUBLIC,     NONE, 1 * KiB,  api_web_withdraw, false, false, true },
	{ "POST", "/v1/audit/search",        AUDIT_READERS,   READ,   4 * KiB,  api_audit_search, false, false, false },
	{ "GET",  "/v1/audit/checkpoints",   AUDIT_READERS,   READ,   0,        api_audit_checkpoints, false, false, false },
};

const size_t http_route_count = sizeof(http_routes) / sizeof(http_routes[0]);
