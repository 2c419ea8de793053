/*
 * http.h: the HTTP service (internal to cleanroom/).
 *
 * The server (http.c) runs libmicrohttpd with a thread pool, TLS and limits,
 * accumulates each request body up to its route's maximum, checks the bearer
 * token against the route's roles, and calls the route's handler. Routes are
 * one table (http_routes.c): method, path pattern with {param} segments,
 * roles, maximum body and one handler, each in its own
 * cleanroom/api_<endpoint>.c. A handler is thin: parse the request, call the
 * core, fill the reply. It returns a cr_err; anything but CR_OK becomes the
 * JSON error {"error":{"code":...,"message":...}} with the code's HTTP status,
 * so handlers never write error bodies themselves and never echo input.
 *
 * To add a route: write cleanroom/api_<endpoint>.c with its handler, declare
 * the handler below, add one line to http_routes[] and document the route in
 * docs/api.yaml (a unit test fails until table and document agree).
 */
#ifndef CR_CLEANROOM_HTTP_H
#define CR_CLEANROOM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>

#include <jansson.h>

#include "common/common.h"
#include "cleanroom/app.h"
#include "cleanroom/auth.h"
#include "cleanroom/registry.h"

/* ================================================================ routes */

#define HTTP_PUBLIC 0u          /* roles mask of a route without a bearer check */
#define HTTP_PARAMS_MAX 4       /* {param} segments in one pattern */
#define HTTP_PARAM_MAX 64       /* longest accepted value of one {param} */
#define HTTP_PARAM_NAME_MAX 31

/* The {param} values a path matched, in pattern order. */
struct http_params {
	size_t n;
	struct {
		char name[HTTP_PARAM_NAME_MAX + 1];
		char value[HTTP_PARAM_MAX + 1];
	} p[HTTP_PARAMS_MAX];
};

struct http_server;
struct psi_sessions;
struct http_route;

/* A request as a handler sees it; everything is borrowed for the call. */
struct http_request {
	struct app *app;
	struct http_server *server;
	const struct http_route *route;
	const char *content_type;         /* NULL if the request had none */
	const uint8_t *body;              /* exactly body_len bytes (may be NULL if 0) */
	size_t body_len;
	const struct auth_token_info *who; /* the caller's token; NULL on public routes */
	const struct http_params *params;
	FILE *upload;                     /* spool routes: the body, seekable, at offset 0 */
	void *conn;                       /* the libmicrohttpd connection (http_query) */
	/* Without a connection (in-process callers: tests, fuzz targets), the
	 * decoded query arguments http_query reads: name, value, ..., NULL. */
	const char *const *args;
};

/* What a handler answers on success. `body` is owned (malloc) by the reply. */
struct http_reply {
	unsigned status;
	char *body;
	size_t len;
	const char *content_type;         /* static string */
	/*
	 * A step to run once the request's changes are durable (a commit
	 * group's member is answered only after the group commits): called
	 * under the store lock with the commit's outcome `rc`; fills the reply
	 * when rc is CR_OK, always frees `ctx`, and returns the result. NULL:
	 * the reply is complete as it is.
	 */
	cr_err (*finish)(struct app *a, cr_err rc, void *ctx, struct http_reply *rep);
	void *finish_ctx;
};

/* Fills `rep` and returns CR_OK, or returns the error to answer with. */
typedef cr_err (*http_handler_fn)(const struct http_request *req, struct http_reply *rep);

/* How a route's handler uses the store. */
enum http_store {
	HTTP_STORE_NONE = 0,    /* not at all, or it takes the store lock itself around its calls */
	HTTP_STORE_WRITE,       /* on the writer connection, holding the store lock */
	HTTP_STORE_READ,        /* on a read connection (app_readers), without the lock: it never writes */
};

struct http_route {
	const char *method;     /* "GET", "POST", ... */
	const char *pattern;    /* "/v1/tokens/{id}/revoke": literal or {name} segments */
	unsigned roles;         /* AUTH_ROLE_* bits admitted; HTTP_PUBLIC: no bearer check */
	enum http_store store;  /* where the handler runs (req->app is that connection's app) */
	size_t max_body;        /* bytes; a larger body is refused with 413 */
	http_handler_fn handler;
	bool spool;             /* the body goes to an unnamed 0600 file (req->upload), not memory */
	bool group;             /* its commits may join a commit group (group.h) */
	bool slow;              /* runs on the job threads (http_jobs), its connection suspended */
};

/* The service's routes (http_routes.c). Every /v1 route has roles != HTTP_PUBLIC. */
extern const struct http_route http_routes[];
extern const size_t http_route_count;

/*
 * True if `path` matches `pattern` segment by segment; a {name} segment
 * matches one non-empty segment of [A-Za-z0-9._~-], at most HTTP_PARAM_MAX
 * bytes, whose value goes to *params (may be NULL). No trailing slash, no
 * empty segments.
 */
bool http_pattern_match(const char *pattern, const char *path, struct http_params *params);

/*
 * Finds the route for (method, path) in `routes`. CR_ERR_HTTP_NO_ROUTE if no
 * pattern matches the path, CR_ERR_HTTP_METHOD if one does but not with this
 * method. Writes *route_out and *params only on success.
 */
cr_err http_route_find(const struct http_route *routes, size_t n, const char *method,
		       const char *path, const struct http_route **route_out,
		       struct http_params *params) CR_MUST_CHECK;

/*
 * What the server decides on a request's headers, before its body and its
 * handler: whether `who` (NULL: no token shown) may call `route` at all
 * (CR_ERR_AUTH_MISSING on a route with roles and no token,
 * CR_ERR_AUTH_FORBIDDEN for a role it does not admit), and then whether
 * the path's {brand} is one `who` may act on (CR_ERR_AUTH_TENANT) and its
 * {session} one `who` opened, when `sessions` is given
 * (CR_ERR_PSI_SESSION_NOT_FOUND). The handler decides again with the store.
 */
cr_err http_request_admit(const struct http_route *route, const struct auth_token_info *who,
			  const struct http_params *params, struct psi_sessions *sessions) CR_MUST_CHECK;

/* The methods admitted on `path`, comma-separated, for a 405's Allow header. */
void http_route_allow(const struct http_route *routes, size_t n, const char *path,
		      char *buf, size_t cap);

/* The value of {name} in `params` (may be NULL), or NULL (borrowed). */
const char *http_params_get(const struct http_params *params, const char *name);
/* The value of {name}, or NULL (borrowed from req). */
const char *http_param(const struct http_request *req, const char *name);
/* {name} as a decimal id in [1, INT64_MAX]; CR_ERR_NOT_FOUND if it is not one. */
cr_err http_param_id(const struct http_request *req, const char *name,
		     int64_t *out) CR_MUST_CHECK;

/*
 * The value of query parameter `name` (borrowed from the request), or NULL.
 * Handlers parse it themselves and answer CR_ERR_HTTP_QUERY when it is bad.
 * Without a connection it is looked up in req->args.
 */
const char *http_query(const struct http_request *req, const char *name);

/* ================================================================== JSON */

enum http_json_type {
	HTTP_JSON_STRING = 1,
	HTTP_JSON_INTEGER,
	HTTP_JSON_BOOL,
	HTTP_JSON_OBJECT,
	HTTP_JSON_ARRAY,
};

/* One field a JSON body may carry; lists end with a NULL name. */
struct http_field {
	const char *name;
	enum http_json_type type;
	bool required;
};

/*
 * Parses the request body strictly: Content-Type application/json
 * (CR_ERR_HTTP_MEDIA_TYPE), one well-formed UTF-8 JSON object without
 * duplicate keys (CR_ERR_JSON_MALFORMED), only the listed fields
 * (CR_ERR_JSON_UNKNOWN_FIELD), each of its type, null never accepted
 * (CR_ERR_JSON_TYPE), and every required one (CR_ERR_JSON_MISSING_FIELD).
 * *out (a new reference, handed over) is written only on success.
 */
cr_err http_json_body(const struct http_request *req, const struct http_field *fields,
		      json_t **out) CR_MUST_CHECK;

/*
 * Joins a JSON array of strings as "a,b,c" into buf[cap] (the form the
 * CLI's list options take): CR_ERR_JSON_TYPE if an element is not a
 * string, CR_ERR_PARSE if one holds a comma or the list does not fit.
 */
cr_err http_json_join(const json_t *arr, char *buf, size_t cap) CR_MUST_CHECK;

/* True if Content-Type `ct` (may be NULL) is `want`, optionally with parameters (charset). */
bool http_media_is(const char *ct, const char *want);

/* Compact-encodes `body` (reference stolen) as the reply; CR_ERR_INTERNAL if it cannot be. */
cr_err http_reply_json(struct http_reply *rep, unsigned status, json_t *body) CR_MUST_CHECK;
/* Takes `body` (malloc'd, handed over) as a reply with a static content type. */
void http_reply_text(struct http_reply *rep, unsigned status, const char *content_type,
		     char *body, size_t len);
/* Fills `rep` with the JSON error for `e` (status from cr_err_http_status). */
void http_reply_error(struct http_reply *rep, cr_err e);

/* A JSON string of a time in ms ("2025-01-01T00:00:00.000Z"); new reference. */
json_t *http_json_time(cr_time_ms t);

/*
 * free() for buffers that may have held secrets (issued tokens): wipes the
 * whole allocation first. Installed as jansson's free and used for reply
 * bodies, so a token in a reply does not linger in freed memory.
 */
void http_secure_free(void *p);

/* ================================================================= jobs */

/*
 * Threads for the long requests (http_jobs.c): a job starts only while its
 * tenant runs fewer than `per_tenant` jobs (jobs of one tenant start in
 * order). http_jobs_free runs what is queued, then joins the threads.
 */
struct http_jobs;
struct http_jobs *http_jobs_new(unsigned threads, unsigned per_tenant);
void http_jobs_submit(struct http_jobs *j, const char *tenant, void (*fn)(void *ctx), void *ctx);
void http_jobs_free(struct http_jobs *j); /* accepts NULL */

/* =============================================================== metrics */

/*
 * Request counters by route and status, and a latency histogram per route;
 * lock-free (atomic) so the worker threads never contend on them.
 */
struct http_metrics;

/* Counters for n routes plus one slot for requests that matched none. */
struct http_metrics *http_metrics_new(size_t n_routes);
void http_metrics_free(struct http_metrics *m);  /* accepts NULL */
/* Records one request; route_index == n_routes for an unmatched request. */
void http_metrics_record(struct http_metrics *m, size_t route_index, unsigned status,
			 uint64_t duration_us);
/*
 * Renders Prometheus text format 0.0.4; routes are labelled by pattern.
 * Returns a malloc'd string handed to the caller, its length in *len.
 */
char *http_metrics_render(const struct http_metrics *m, const struct http_route *routes,
			  size_t n_routes, size_t *len);

/* ================================================================ server */

struct http_config {
	const struct sockaddr *addr; /* borrowed; IPv4 or IPv6 */
	socklen_t addr_len;
	unsigned threads;            /* worker threads, >= 1 */
	const char *tls_cert_pem;    /* borrowed, NUL-terminated; NULL for plain HTTP */
	const char *tls_key_pem;     /* borrowed; must outlive the server; NULL for plain */
	unsigned connection_limit;   /* in total; an eighth is kept for clients with a token */
	unsigned per_ip_limit;
	unsigned timeout_s;          /* idle connection timeout */
	size_t memory_limit;         /* per connection, for headers and buffers */
	FILE *log;                   /* access log (JSON lines); borrowed */
	unsigned rate_per_s;         /* per-token requests per second; 0: no limit */
	unsigned rate_burst;         /* per-token bucket size (>= 1 when rate_per_s) */
	struct psi_sessions *sessions; /* match sessions (borrowed); NULL: match routes answer 503 */
	struct crypto_pool *pool;    /* workers for the match rounds (borrowed) */
	unsigned web_rate_per_s;     /* public web routes: requests a second per client address */
	unsigned web_rate_burst;     /* and the bucket size */
	unsigned commit_window_us;   /* group commit: at most this long a group stays open; 0: off */
	bool public_metrics;         /* GET /metrics without a token (default: any role's token) */
	unsigned per_range_limit;    /* connections per IPv4 /24 or IPv6 /64 (0: no cap) */
	unsigned header_timeout_s;   /* a request's headers must arrive within this (0: no deadline) */
	size_t spool_max;            /* upload bytes on disk at once, all requests (0: no cap): 507 beyond */
	uint64_t disk_floor;         /* free bytes a spooled upload must leave on the data disk (0: none) */
};

/*
 * Writes one of libmicrohttpd's messages to `log` (may be NULL) as a JSON
 * line: its format with every conversion shown as "<arg>", cut at a line
 * break. The arguments, which may hold a raw path or a header, are never
 * printed.
 */
void http_log_library(FILE *log, const char *fmt, va_list ap);

/* Sane limits for everything but addr, TLS and threads. */
void http_config_defaults(struct http_config *cfg);

/*
 * Starts serving `routes` on cfg->addr with the store and keys of `a`
 * (borrowed; must outlive the server). Checks the table first: a /v1 route
 * without roles aborts (misuse). CR_ERR_TLS if TLS was asked for and is
 * unsupported or the PEMs are refused; CR_ERR_HTTP_LISTEN if the address
 * cannot be bound. *out is handed to the caller.
 */
cr_err http_server_start(struct app *a, const struct http_config *cfg,
			 const struct http_route *routes, size_t n_routes,
			 struct http_server **out) CR_MUST_CHECK;

/* The port actually bound (useful when cfg->addr asked for port 0). */
uint16_t http_server_port(const struct http_server *srv);

/* What cfg gave the server for the match routes (borrowed; may be NULL). */
struct psi_sessions *http_server_sessions(const struct http_server *srv);
struct crypto_pool *http_server_pool(const struct http_server *srv);

/* The server's metrics as Prometheus text (for the /metrics handler); see http_metrics_render. */
char *http_server_metrics_render(const struct http_server *srv, size_t *len);

/*
 * Stops gracefully: stops accepting, lets requests in flight finish for up to
 * `grace_ms`, then closes every connection and frees. Accepts NULL. The app
 * (and its database) is the caller's to close afterwards.
 */
void http_server_stop(struct http_server *srv, unsigned grace_ms);

/* ============================================================ rate limit */

/*
 * A token bucket per token id: `per_s` tokens a second up to `burst`. Each
 * request takes one; none left is CR_ERR_RATE_LIMITED with the seconds to
 * wait in *retry_after_s. A fixed-size table, so memory stays bounded
 * however many tokens call (the least recently used slot is reused).
 */
/* ================================================ connection guard */

/*
 * Connections against exhaustion (http_guard.c): a cap per address range
 * (IPv4 /24, IPv6 /64; 0: none) and a deadline for each request's headers
 * (0: none), counted from the accept; on a kept-alive connection the next
 * request's headers have `keepalive_s` (at least the deadline) from the end
 * of the previous one. Past it the socket is shut down by a watchdog thread.
 * Connections that have not shown a valid token are held to `anon_max`
 * (0: no cap): past it, a new one takes the place of the oldest of them
 * waiting for a request.
 */
struct http_guard;
struct http_guard_conn;
struct http_guard *http_guard_new(unsigned per_range, unsigned header_timeout_s, unsigned keepalive_s,
				  unsigned anon_max);
void http_guard_free(struct http_guard *g); /* accepts NULL; stops the watchdog */
/* True if a connection from `addr` fits under its range's cap. */
bool http_guard_admit(struct http_guard *g, const struct sockaddr *addr);
/* A connection accepted on `fd`: counted and timed until http_guard_close. */
struct http_guard_conn *http_guard_open(struct http_guard *g, const struct sockaddr *addr, int fd);
void http_guard_close(struct http_guard *g, struct http_guard_conn *c); /* accepts NULL c */
/* A request on it showed a valid token: it is never evicted for a newcomer. */
void http_guard_authenticated(struct http_guard_conn *c);
/* The request's headers have arrived: no deadline until the request is done. */
void http_guard_headers_done(struct http_guard_conn *c);
/* The request is done: the next one's headers have keepalive_s from now. */
void http_guard_request_done(struct http_guard *g, struct http_guard_conn *c);

struct http_ratelimit;
struct http_ratelimit *http_ratelimit_new(unsigned per_s, unsigned burst);
void http_ratelimit_free(struct http_ratelimit *rl);  /* accepts NULL */
cr_err http_ratelimit_take(struct http_ratelimit *rl, int64_t token_id, uint64_t now_us,
			   unsigned *retry_after_s) CR_MUST_CHECK;

/* ====================================================== tenancy (api_scope.c) */

/*
 * The brand named by {brand}, as the caller may act on it: a brand or
 * officer token only on the brand its tenant names (CR_ERR_AUTH_TENANT
 * otherwise, checked before the brand is looked up, so a caller cannot
 * probe which brands exist); admin on any. *id is the brand's id.
 */
cr_err api_brand_scope(const struct http_request *req, int64_t *id) CR_MUST_CHECK;

/*
 * Collaboration {id}, if the caller may see it: a partner token whose
 * tenant is its partner, a brand or officer token whose tenant is its
 * brand. Anything else, and an unknown id, is CR_ERR_COLLAB_NOT_FOUND.
 */
struct collab;
cr_err api_collab_scope(const struct http_request *req, struct collab *out) CR_MUST_CHECK;

/* The audit actor of the caller: role and "token:<id>" (written into buf). */
void api_actor(const struct http_request *req, char *buf, size_t cap,
	       const char **role, const char **id);

/* ============================================= handlers (api_<endpoint>.c) */

cr_err api_healthz_get(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_collabs_post(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_collabs_get(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_partner_collabs_get(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_collab_get(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_collab_budget(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_collab_budget_raise(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_collab_release(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_sessions_post(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_session_get(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_session_delete(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_session_blinded(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_session_answer(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_metrics_get(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_whoami_get(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_tokens_post(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_tokens_get(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_tokens_revoke(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_brands_post(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_brand_child_age(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_consent_receipt(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_notices_post(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_notices_get(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_consents_post(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_consents_batch(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_subject_status(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_subject_export(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_subject_erase(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_guardian_link(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_requests_get(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_report_processing(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_report_compliance(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
/* Impact assessments and transfer mechanisms (api_pia.c; R12, R13, R28). */
cr_err api_pia_post(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_pia_get(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_transfers_post(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_transfers_get(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_datasets_post(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_datasets_get(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_dataset_get(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_ingest_post(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_audit_log(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_audit_checkpoint(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_audit_inclusion(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_audit_consistency(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_audit_key(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_receipts_verify(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;

/* ================================================= web pages (api_web*.c) */

/* Request header `name` (borrowed from the request), or NULL. */
const char *http_header(const struct http_request *req, const char *name);
/* True if the request came over TLS. */
bool http_request_is_tls(const struct http_request *req);

/*
 * Takes one request from the client address's bucket of the public web
 * routes (cfg web_rate_*): CR_ERR_RATE_LIMITED when it is empty. Public
 * routes carry no token to limit by; the address is keyed and hashed, never
 * kept or logged in clear.
 */
cr_err http_client_rate_take(const struct http_request *req) CR_MUST_CHECK;

/*
 * The brand {brand} (scoped as api_brand_scope) and the pseudonyms of
 * subject {digest} with ?id_type=email|phone: current key version first,
 * then older ones; *n counts them (api_subjects.c).
 */
cr_err api_subject_scope(const struct http_request *req, int64_t *brand,
			 struct crypto_pseudonym p[1 + CONSENT_KEY_VERSIONS_MAX],
			 size_t *n) CR_MUST_CHECK;

/* Answers an audit search page as GET /v1/audit/log does (api_audit.c). */
struct audit_query;
cr_err api_audit_page_reply(const struct http_request *req, const struct audit_query *q,
			    struct http_reply *rep) CR_MUST_CHECK;

cr_err api_web_page(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_web_static(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_link_issue(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_link_view(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_link_withdraw(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_link_erase(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_link_object(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_link_access(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_web_withdraw(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
/*
 * The full withdrawal (every purpose, R17) of the subject `digest` names at
 * `brand`, received now through `channel`/`method` from `who`, recorded like
 * any other (purge, suppression, audit); *receipt (handed over) names no
 * pseudonym. A stranger's is recorded all the same, so the work and the
 * answer do not tell who is a customer. Shared by the consent center's form
 * and a partner's relay (R23); called under the store lock.
 */
cr_err api_withdraw_everything(struct app *a, const struct registry_actor *who, int64_t brand,
			       const char *digest, const char *id_type, const char *channel,
			       const char *method, char **receipt) CR_MUST_CHECK;
/* The body {"brand"?, "id_type", "digest"} of a withdrawal by digest, checked for shape. */
cr_err api_withdraw_form(const struct http_request *req, bool with_brand, json_t **out) CR_MUST_CHECK;
/* The answer to a withdrawal by digest, after the floor: 202 {"status":"received","receipt"}
 * or the error `rc`. Takes `receipt` (freed). */
cr_err api_withdraw_reply(struct http_reply *rep, cr_err rc, char *receipt, int64_t start_ms) CR_MUST_CHECK;
/* POST /v1/collaborations/{id}/withdrawals (partner): a withdrawal the partner received, passed on (R23). */
cr_err api_partner_withdraw(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_audit_search(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;
cr_err api_audit_checkpoints(const struct http_request *req, struct http_reply *rep) CR_MUST_CHECK;

#endif
