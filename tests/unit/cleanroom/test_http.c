/* Unit tests for the HTTP service (cleanroom/http*.c, api_*.c): path
 * patterns and route lookup, the route table's invariants and its agreement
 * with docs/api.yaml, strict JSON bodies, the error shape (I7), metrics, and
 * a live plain-HTTP server on 127.0.0.1 driven with libcurl: 401/403/404/
 * 405/413/415/400, token issue and revoke over the API, and an access log
 * that never holds a token. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "test_util.h"
#include "cleanroom/http.h"
#include "cleanroom/synth.h"

/* ------------------------------------------------------------ patterns */

static void test_pattern_literal_and_params(void **state)
{
	(void)state;
	struct http_params p;
	assert_true(http_pattern_match("/healthz", "/healthz", &p));
	assert_int_equal(p.n, 0);
	assert_true(http_pattern_match("/v1/tokens/{id}/revoke", "/v1/tokens/42/revoke", &p));
	assert_int_equal(p.n, 1);
	assert_string_equal(p.p[0].name, "id");
	assert_string_equal(p.p[0].value, "42");
	assert_true(http_pattern_match("/a/{x}/{y}", "/a/b-1/C.d~_", &p));
	assert_int_equal(p.n, 2);
	assert_string_equal(p.p[1].name, "y");
	assert_string_equal(p.p[1].value, "C.d~_");
}

static void test_pattern_refusals(void **state)
{
	(void)state;
	char long_seg[HTTP_PARAM_MAX + 16];
	snprintf(long_seg, sizeof(long_seg), "/t/%0*d", HTTP_PARAM_MAX + 1, 0);
	assert_false(http_pattern_match("/healthz", "/healthz/", NULL));
	assert_false(http_pattern_match("/healthz", "//healthz", NULL));
	assert_false(http_pattern_match("/healthz", "/health", NULL));
	assert_false(http_pattern_match("/healthz", "/healthzz", NULL));
	assert_false(http_pattern_match("/healthz", "healthz", NULL));
	assert_false(http_pattern_match("/t/{id}", "/t/", NULL));
	assert_false(http_pattern_match("/t/{id}", "/t", NULL));
	assert_false(http_pattern_match("/t/{id}", "/t/a/b", NULL));
	assert_false(http_pattern_match("/t/{id}", "/t/a b", NULL));
	assert_false(http_pattern_match("/t/{id}", "/t/a%2f", NULL));
	assert_false(http_pattern_match("/t/{id}", "/t/\xc3\xa9", NULL));
	assert_false(http_pattern_match("/t/{id}", long_seg, NULL));
	long_seg[strlen(long_seg) - 1] = '\0'; /* exactly HTTP_PARAM_MAX */
	assert_true(http_pattern_match("/t/{id}", long_seg, NULL));
}

static void test_route_find_404_405(void **state)
{
	(void)state;
	const struct http_route *r = NULL;
	struct http_params p;
	char allow[64];
	assert_int_equal(http_route_find(http_routes, http_route_count, "GET", "/v1/tokens", &r, &p),
			 CR_OK);
	assert_string_equal(r->pattern, "/v1/tokens");
	assert_string_equal(r->method, "GET");
	assert_int_equal(http_route_find(http_routes, http_route_count, "POST", "/v1/tokens", &r, &p),
			 CR_OK);
	assert_string_equal(r->method, "POST");
	r = NULL;
	assert_int_equal(http_route_find(http_routes, http_route_count, "DELETE", "/v1/tokens", &r, &p),
			 CR_ERR_HTTP_METHOD);
	assert_int_equal(http_route_find(http_routes, http_route_count, "GET", "/v1/nope", &r, &p),
			 CR_ERR_HTTP_NO_ROUTE);
	assert_null(r);
	http_route_allow(http_routes, http_route_count, "/v1/tokens", allow, sizeof(allow));
	assert_string_equal(allow, "POST, GET");
}

/* The table's invariants: /v1 routes need a token, no duplicates, known roles. */
static void test_route_table_invariants(void **state)
{
	(void)state;
	for (size_t i = 0; i < http_route_count; i++) {
		const struct http_route *r = &http_routes[i];
		if (strncmp(r->pattern, "/v1/", 4) == 0)
			assert_int_not_equal(r->roles, HTTP_PUBLIC);
		assert_int_equal(r->roles & ~(unsigned)AUTH_ROLES_ALL, 0);
		assert_non_null(r->handler);
		if (strcmp(r->method, "GET") == 0)
			assert_int_equal(r->max_body, 0);
		for (size_t j = i + 1; j < http_route_count; j++)
			assert_false(strcmp(r->method, http_routes[j].method) == 0 &&
				     strcmp(r->pattern, http_routes[j].pattern) == 0);
	}
}

/* -------------------------------------------------------- docs/api.yaml */

#define DOC_MAX 128

struct doc_op {
	char method[8];
	char path[96];
};

/* Reads "  /path:" and "    get:" lines under "paths:" (2-space YAML indent). */
static size_t doc_ops_read(const char *yaml, struct doc_op *ops)
{
	char path[96] = "";
	bool in_paths = false;
	size_t n = 0;
	for (const char *line = yaml; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		size_t len = strcspn(line, "\n");
		if (len >= 6 && strncmp(line, "paths:", 6) == 0) {
			in_paths = true;
			continue;
		}
		if (in_paths && len > 0 && line[0] != ' ' && line[0] != '#')
			in_paths = false;
		if (!in_paths)
			continue;
		if (len > 3 && strncmp(line, "  /", 3) == 0 && line[len - 1] == ':') {
			assert_true(len - 3 < sizeof(path));
			memcpy(path, line + 2, len - 3);
			path[len - 3] = '\0';
			continue;
		}
		static const char *const methods[] = { "get", "post", "put", "patch", "delete" };
		for (size_t m = 0; m < 5; m++) {
			size_t ml = strlen(methods[m]);
			if (len == 4 + ml + 1 && strncmp(line, "    ", 4) == 0 &&
			    strncmp(line + 4, methods[m], ml) == 0 && line[4 + ml] == ':') {
				assert_true(n < DOC_MAX);
				for (size_t k = 0; k <= ml; k++)
					ops[n].method[k] = (char)(methods[m][k] >= 'a' ? methods[m][k] - 32 : methods[m][k]);
				memcpy(ops[n].path, path, sizeof(path));
				n++;
			}
		}
	}
	return n;
}

static void test_every_route_is_documented_and_vice_versa(void **state)
{
	(void)state;
	struct doc_op ops[DOC_MAX];
	char *yaml = test_read_file("docs/api.yaml", NULL);
	size_t n;
	if (yaml == NULL)
		fail_msg("docs/api.yaml not found (run from the repository root)");
	n = doc_ops_read(yaml, ops);
	free(yaml);
	for (size_t i = 0; i < http_route_count; i++) {
		bool found = false;
		for (size_t k = 0; k < n && !found; k++)
			found = strcmp(ops[k].method, http_routes[i].method) == 0 &&
				strcmp(ops[k].path, http_routes[i].pattern) == 0;
		if (!found)
			fail_msg("route %s %s is not in docs/api.yaml", http_routes[i].method,
				 http_routes[i].pattern);
	}
	for (size_t k = 0; k < n; k++) {
		bool found = false;
		for (size_t i = 0; i < http_route_count && !found; i++)
			found = strcmp(ops[k].method, http_routes[i].method) == 0 &&
				strcmp(ops[k].path, http_routes[i].pattern) == 0;
		if (!found)
			fail_msg("docs/api.yaml documents %s %s, which the server lacks", ops[k].method,
				 ops[k].path);
	}
	assert_int_equal(n, http_route_count);
}

/* ------------------------------------------------------- JSON and errors */

static void test_error_code_and_body(void **state)
{
	(void)state;
	char code[64];
	struct http_reply rep = { 0 };
	json_t *j;
	assert_string_equal(cr_errcode(CR_ERR_AUTH_MISSING, code, sizeof(code)), "auth_missing");
	assert_string_equal(cr_errcode(CR_ERR_TOO_LARGE, code, sizeof(code)), "too_large");
	assert_string_equal(cr_errcode(CR_ERR_JSON_UNKNOWN_FIELD, code, 5), "json");
	http_reply_error(&rep, CR_ERR_AUTH_FORBIDDEN);
	assert_int_equal(rep.status, 403);
	assert_string_equal(rep.content_type, "application/json");
	j = json_loadb(rep.body, rep.len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
			    "auth_forbidden");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
			    cr_strerror(CR_ERR_AUTH_FORBIDDEN));
	assert_int_equal(json_object_size(j), 1);
	assert_int_equal(json_object_size(json_object_get(j, "error")), 2);
	json_decref(j);
	http_secure_free(rep.body);
}

static const struct http_field test_fields[] = {
	{ "role", HTTP_JSON_STRING, true },
	{ "n", HTTP_JSON_INTEGER, false },
	{ "flag", HTTP_JSON_BOOL, false },
	{ NULL, 0, false },
};

static cr_err parse(const char *ct, const char *body, json_t **out)
{
	struct http_request req = { .content_type = ct, .body = (const uint8_t *)body,
				    .body_len = body ? strlen(body) : 0 };
	return http_json_body(&req, test_fields, out);
}

static void test_json_body_strict(void **state)
{
	(void)state;
	json_t *j = NULL;
	assert_int_equal(parse("application/json", "{\"role\":\"a\",\"n\":3,\"flag\":true}", &j), CR_OK);
	assert_int_equal(json_integer_value(json_object_get(j, "n")), 3);
	json_decref(j);
	assert_int_equal(parse("application/json; charset=utf-8", "{\"role\":\"a\"}", &j), CR_OK);
	json_decref(j);
	j = NULL;
	assert_int_equal(parse(NULL, "{\"role\":\"a\"}", &j), CR_ERR_HTTP_MEDIA_TYPE);
	assert_int_equal(parse("text/plain", "{\"role\":\"a\"}", &j), CR_ERR_HTTP_MEDIA_TYPE);
	assert_int_equal(parse("application/jsonx", "{\"role\":\"a\"}", &j), CR_ERR_HTTP_MEDIA_TYPE);
	assert_int_equal(parse("application/json", NULL, &j), CR_ERR_JSON_MALFORMED);
	assert_int_equal(parse("application/json", "{\"role\":", &j), CR_ERR_JSON_MALFORMED);
	assert_int_equal(parse("application/json", "[1,2]", &j), CR_ERR_JSON_MALFORMED);
	assert_int_equal(parse("application/json", "{\"role\":\"a\"} x", &j), CR_ERR_JSON_MALFORMED);
	assert_int_equal(parse("application/json", "{\"role\":\"a\",\"role\":\"b\"}", &j),
			 CR_ERR_JSON_MALFORMED);
	assert_int_equal(parse("application/json", "{\"role\":\"\xff\"}", &j), CR_ERR_JSON_MALFORMED);
	assert_int_equal(parse("application/json", "{\"role\":\"a\",\"x\":1}", &j),
			 CR_ERR_JSON_UNKNOWN_FIELD);
	assert_int_equal(parse("application/json", "{\"role\":1}", &j), CR_ERR_JSON_TYPE);
	assert_int_equal(parse("application/json", "{\"role\":null}", &j), CR_ERR_JSON_TYPE);
	assert_int_equal(parse("application/json", "{\"role\":\"a\",\"n\":1.5}", &j), CR_ERR_JSON_TYPE);
	assert_int_equal(parse("application/json", "{\"n\":1}", &j), CR_ERR_JSON_MISSING_FIELD);
	assert_null(j);
}

static void test_metrics_render(void **state)
{
	(void)state;
	struct http_metrics *m = http_metrics_new(http_route_count);
	size_t len = 0;
	char *text;
	http_metrics_record(m, 0, 200, 1500);
	http_metrics_record(m, 0, 200, 2500);
	http_metrics_record(m, 0, 418, 10);
	http_metrics_record(m, http_route_count, 404, 10);
	text = http_metrics_render(m, http_routes, http_route_count, &len);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "# TYPE cleanroom_http_requests_total counter\n"));
	assert_non_null(strstr(text, "cleanroom_http_requests_total{route=\"/healthz\",status=\"200\"} 2\n"));
	assert_non_null(strstr(text, "cleanroom_http_requests_total{route=\"/healthz\",status=\"other\"} 1\n"));
	assert_non_null(strstr(text, "cleanroom_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"));
	assert_non_null(strstr(text, "cleanroom_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.001\"} 1\n"));
	assert_non_null(strstr(text, "cleanroom_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.005\"} 3\n"));
	assert_non_null(strstr(text, "cleanroom_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(text, "cleanroom_http_request_duration_seconds_count{route=\"/healthz\"} 3\n"));
	assert_non_null(strstr(text, "cleanroom_http_request_duration_seconds_sum{route=\"/healthz\"} 0.004010\n"));
	free(text);
	http_metrics_free(m);
	http_metrics_free(NULL);
}

/* ------------------------------------------------------------ live server */

struct live {
	char dir[64];
	struct store *store;   /* borrowed from ap */
	struct app *ap;
	struct http_server *srv;
	FILE *log;
	char log_path[96];
	uint16_t port;
	char admin[AUTH_TOKEN_STRLEN];
	char brand[AUTH_TOKEN_STRLEN];
};

struct resp {
	long status;
	char body[8192];
	size_t len;
	char headers[4096];
	size_t hlen;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t k = size * n;
	if (k > sizeof(r->body) - 1 - r->len)
		k = sizeof(r->body) - 1 - r->len;
	memcpy(r->body + r->len, p, k);
	r->len += k;
	r->body[r->len] = '\0';
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t k = size * n;
	if (k > sizeof(r->headers) - 1 - r->hlen)
		k = sizeof(r->headers) - 1 - r->hlen;
	memcpy(r->headers + r->hlen, p, k);
	r->hlen += k;
	r->headers[r->hlen] = '\0';
	return size * n;
}

/* One request; `token` and `body` may be NULL. Returns the status. */
static long call(struct live *l, const char *method, const char *path, const char *token,
		 const char *ct, const char *body, size_t body_len, struct resp *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[256], auth[128], cth[128];
	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", l->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	if (ct) {
		snprintf(cth, sizeof(cth), "Content-Type: %s", ct);
		h = curl_slist_append(h, cth);
	}
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r->status;
}

/* Asserts the body is exactly {"error":{"code":code,...}}. */
static void assert_error(const struct resp *r, const char *code)
{
	json_t *j = json_loadb(r->body, r->len, 0, NULL);
	if (j == NULL)
		fail_msg("not JSON: %s", r->body);
	assert_int_equal(json_object_size(j), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")), code);
	json_decref(j);
}

static int live_setup(void **state)
{
	struct live *l = calloc(1, sizeof(*l));
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
	struct http_config cfg;
	struct auth_token_info t;
	char data[128];
	assert_non_null(l);
	assert_true(sodium_init() >= 0);
	snprintf(l->dir, sizeof(l->dir), "/tmp/cr-http-XXXXXX");
	assert_non_null(mkdtemp(l->dir));
	snprintf(data, sizeof(data), "%s/data", l->dir);
	assert_int_equal(app_init_dir(data, "test.example/audit", &l->ap), CR_OK);
	l->store = l->ap->store;
	assert_int_equal(auth_token_issue(l->ap, AUTH_ROLE_ADMIN, "ops", "root", l->admin, &t), CR_OK);
	assert_int_equal(auth_token_issue(l->ap, AUTH_ROLE_BRAND, "acme", "b", l->brand, &t), CR_OK);
	snprintf(l->log_path, sizeof(l->log_path), "%s/access.log", l->dir);
	l->log = fopen(l->log_path, "w+");
	assert_non_null(l->log);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	http_config_defaults(&cfg);
	cfg.addr = (const struct sockaddr *)&sin;
	cfg.addr_len = sizeof(sin);
	cfg.threads = 2;
	cfg.log = l->log;
	assert_int_equal(http_server_start(l->ap, &cfg, http_routes, http_route_count, &l->srv), CR_OK);
	l->port = http_server_port(l->srv);
	assert_int_not_equal(l->port, 0);
	*state = l;
	return 0;
}

static int live_teardown(void **state)
{
	struct live *l = *state;
	http_server_stop(l->srv, 1000);
	app_close(l->ap);
	fclose(l->log);
	test_rm_rf(l->dir);
	free(l);
	return 0;
}

static void test_live_public_routes(void **state)
{
	struct live *l = *state;
	struct resp r;
	assert_int_equal(call(l, "GET", "/healthz", NULL, NULL, NULL, 0, &r), 200);
	assert_string_equal(r.body, "{\"status\":\"ok\"}");
	assert_non_null(strcasestr(r.headers, "Cache-Control: no-store"));
	assert_int_equal(call(l, "GET", "/nowhere", NULL, NULL, NULL, 0, &r), 404);
	assert_error(&r, "http_no_route");
	assert_int_equal(call(l, "DELETE", "/healthz", NULL, NULL, NULL, 0, &r), 405);
	assert_error(&r, "http_method");
	assert_non_null(strcasestr(r.headers, "Allow: GET"));
	/* A request is counted when libmicrohttpd reports it completed, which
	 * can be just after the client has its answer: poll briefly. */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(call(l, "GET", "/metrics", NULL, NULL, NULL, 0, &r), 200);
		if (strstr(r.body, "cleanroom_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n") &&
		    strstr(r.body, "cleanroom_http_requests_total{route=\"/healthz\",status=\"200\"} 1\n"))
			break;
		usleep(20000);
	}
	assert_non_null(strstr(r.body, "cleanroom_http_requests_total{route=\"/healthz\",status=\"200\"} 1\n"));
	assert_non_null(strstr(r.body, "cleanroom_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"));
}

static void test_live_auth(void **state)
{
	struct live *l = *state;
	struct resp r;
	char bad[AUTH_TOKEN_STRLEN];
	assert_int_equal(call(l, "GET", "/v1/whoami", NULL, NULL, NULL, 0, &r), 401);
	assert_error(&r, "auth_missing");
	assert_non_null(strcasestr(r.headers, "WWW-Authenticate: Bearer"));
	memcpy(bad, l->brand, sizeof(bad));
	bad[20] = bad[20] == 'x' ? 'y' : 'x';
	assert_int_equal(call(l, "GET", "/v1/whoami", bad, NULL, NULL, 0, &r), 401);
	assert_error(&r, "auth_invalid");
	assert_null(strstr(r.body, bad)); /* never echoed */
	assert_int_equal(call(l, "GET", "/v1/whoami", "crt_short", NULL, NULL, 0, &r), 401);
	assert_error(&r, "auth_invalid");
	assert_int_equal(call(l, "GET", "/v1/whoami", l->brand, NULL, NULL, 0, &r), 200);
	assert_non_null(strstr(r.body, "\"role\":\"brand\""));
	assert_non_null(strstr(r.body, "\"tenant\":\"acme\""));
	/* A brand may not manage tokens: 403, and the body was never read. */
	assert_int_equal(call(l, "GET", "/v1/tokens", l->brand, NULL, NULL, 0, &r), 403);
	assert_error(&r, "auth_forbidden");
	assert_int_equal(call(l, "POST", "/v1/tokens", l->brand, "application/json",
			      "{\"role\":\"admin\",\"tenant\":\"x\",\"name\":\"y\"}", 41, &r), 403);
	assert_int_equal(call(l, "GET", "/v1/tokens", l->admin, NULL, NULL, 0, &r), 200);
	assert_null(strstr(r.body, "\"hash\""));
	assert_null(strstr(r.body, "crt_"));
	assert_non_null(strstr(r.body, "\"name\":\"b\""));
	/* the forbidden POST stored nothing */
	assert_null(strstr(r.body, "\"tenant\":\"x\""));
}

static void test_live_bad_bodies(void **state)
{
	struct live *l = *state;
	struct resp r;
	size_t big = 8 * 1024;
	char *body = malloc(big + 1);
	assert_non_null(body);
	memset(body, ' ', big);
	body[big] = '\0';
	assert_int_equal(call(l, "POST", "/v1/tokens", l->admin, "application/json", body, big, &r), 413);
	assert_error(&r, "too_large");
	free(body);
	assert_int_equal(call(l, "POST", "/v1/tokens", l->admin, "application/json", "{\"role\":", 8, &r), 400);
	assert_error(&r, "json_malformed");
	assert_int_equal(call(l, "POST", "/v1/tokens", l->admin, "text/plain", "{}", 2, &r), 415);
	assert_error(&r, "http_media_type");
	assert_int_equal(call(l, "POST", "/v1/tokens", l->admin, "application/json",
			      "{\"role\":\"brand\",\"tenant\":\"acme\",\"name\":\"n\",\"extra\":1}", 53, &r), 400);
	assert_error(&r, "json_unknown_field");
	assert_int_equal(call(l, "POST", "/v1/tokens", l->admin, "application/json",
			      "{\"role\":\"root\",\"tenant\":\"acme\",\"name\":\"n\"}", 42, &r), 400);
	assert_error(&r, "role");
	assert_int_equal(call(l, "POST", "/v1/tokens", l->admin, "application/json",
			      "{\"role\":\"brand\",\"tenant\":\"ACME\",\"name\":\"n\"}", 43, &r), 400);
	assert_error(&r, "tenant");
	assert_int_equal(call(l, "POST", "/v1/tokens/abc/revoke", l->admin, NULL, NULL, 0, &r), 404);
	assert_error(&r, "not_found");
	assert_int_equal(call(l, "POST", "/v1/tokens/999/revoke", l->admin, NULL, NULL, 0, &r), 404);
	assert_int_equal(call(l, "GET", "/v1/tokens", l->admin, NULL, NULL, 0, &r), 200);
	assert_null(strstr(r.body, "\"name\":\"n\"")); /* nothing partial stored (I7) */
}

static void test_live_issue_use_revoke(void **state)
{
	struct live *l = *state;
	struct resp r;
	char path[64], token[AUTH_TOKEN_STRLEN];
	json_t *j;
	json_int_t id;
	assert_int_equal(call(l, "POST", "/v1/tokens", l->admin, "application/json",
			      "{\"role\":\"partner\",\"tenant\":\"adco\",\"name\":\"p1\"}", 46, &r), 201);
	j = json_loadb(r.body, r.len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "role")), "partner");
	assert_true(json_is_null(json_object_get(j, "revoked")));
	snprintf(token, sizeof(token), "%s", json_string_value(json_object_get(j, "token")));
	id = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	assert_int_equal(strlen(token), AUTH_TOKEN_LEN);
	assert_int_equal(call(l, "GET", "/v1/whoami", token, NULL, NULL, 0, &r), 200);
	assert_non_null(strstr(r.body, "\"tenant\":\"adco\""));
	snprintf(path, sizeof(path), "/v1/tokens/%lld/revoke", (long long)id);
	assert_int_equal(call(l, "POST", path, l->admin, NULL, NULL, 0, &r), 200);
	assert_null(strstr(r.body, "\"revoked\":null"));
	assert_int_equal(call(l, "POST", path, l->admin, NULL, NULL, 0, &r), 409);
	assert_error(&r, "token_revoked");
	assert_int_equal(call(l, "GET", "/v1/whoami", token, NULL, NULL, 0, &r), 401);

	/* The access log has the route pattern, role and tenant; never a token. */
	size_t len = 0;
	fflush(l->log);
	char *log = test_read_file(l->log_path, &len);
	assert_non_null(log);
	assert_null(strstr(log, "crt_"));
	assert_null(strstr(log, token + 4));
	assert_null(strstr(log, l->admin + 4));
	assert_non_null(strstr(log, "\"route\":\"/v1/tokens/{id}/revoke\""));
	assert_non_null(strstr(log, "\"role\":\"admin\""));
	assert_non_null(strstr(log, "\"tenant\":\"adco\""));
	free(log);
}

/* The pattern with {brand} replaced by `brand` and every other {param} by `value`. */
static void path_fill(const char *pattern, const char *brand, const char *value, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = pattern; *p && n + 1 < cap; p++) {
		if (*p != '{') {
			out[n++] = *p;
			continue;
		}
		n += (size_t)snprintf(out + n, cap - n, "%s",
				      strncmp(p, "{brand}", 7) == 0 ? brand : value);
		p = strchr(p, '}');
	}
	out[n < cap ? n : cap - 1] = '\0';
}

/* Every (role x authenticated route) pair, on the tokens' own brand: a role
 * the route does not admit gets 403 auth_forbidden and changes nothing; one
 * it admits gets past the gate (whatever the handler then says about the
 * empty request). Then every brand route on another tenant's brand: 403
 * (auth_forbidden or auth_tenant) for every role, and nothing changed. */
static void test_live_role_matrix(void **state)
{
	struct live *l = *state;
	static const enum auth_role roles[] = { AUTH_ROLE_ADMIN, AUTH_ROLE_BRAND, AUTH_ROLE_PARTNER,
						AUTH_ROLE_OFFICER };
	char tokens[4][AUTH_TOKEN_STRLEN], path[256];
	struct auth_token_info t;
	struct resp r;
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(auth_token_issue(l->ap, roles[i], "acme", "m", tokens[i], &t), CR_OK);
	for (size_t k = 0; k < http_route_count; k++) {
		const struct http_route *route = &http_routes[k];
		bool has_body = strcmp(route->method, "GET") != 0 && route->max_body > 0;
		if (route->roles == HTTP_PUBLIC)
			continue;
		path_fill(route->pattern, "acme", "999999", path, sizeof(path));
		for (size_t i = 0; i < 4; i++) {
			int before = sqlite3_total_changes(l->store->db);
			long st = call(l, route->method, path, tokens[i], has_body ? "application/json" : NULL,
				       has_body ? "{}" : NULL, 2, &r);
			if (route->roles & (unsigned)roles[i]) {
				if (st == 401 || st == 403)
					fail_msg("%s %s as %s: %ld", route->method, route->pattern,
						 auth_role_name(roles[i]), st);
				continue;
			}
			if (st != 403)
				fail_msg("%s %s as %s: %ld, want 403", route->method, route->pattern,
					 auth_role_name(roles[i]), st);
			assert_error(&r, "auth_forbidden");
			assert_int_equal(sqlite3_total_changes(l->store->db), before);
		}
		if (strstr(route->pattern, "{brand}") == NULL)
			continue;
		path_fill(route->pattern, "other", "999999", path, sizeof(path));
		for (size_t i = 0; i < 4; i++) {
			int before = sqlite3_total_changes(l->store->db);
			long st = call(l, route->method, path, tokens[i], has_body ? "application/json" : NULL,
				       has_body ? "{}" : NULL, 2, &r);
			if (st != 403)
				fail_msg("%s %s on another brand as %s: %ld, want 403", route->method,
					 route->pattern, auth_role_name(roles[i]), st);
			assert_error(&r, (route->roles & (unsigned)roles[i]) ? "auth_tenant" : "auth_forbidden");
			assert_int_equal(sqlite3_total_changes(l->store->db), before);
		}
	}
}

/* Tenancy on real data: brands exist, a brand token is held to its own. */
static void test_live_tenancy(void **state)
{
	struct live *l = *state;
	char officer[AUTH_TOKEN_STRLEN];
	struct auth_token_info t;
	struct resp r;
	int before;
	assert_int_equal(auth_token_issue(l->ap, AUTH_ROLE_OFFICER, "acme", "o", officer, &t), CR_OK);
	assert_int_equal(call(l, "POST", "/v1/brands", l->admin, "application/json",
			      "{\"name\":\"acme\"}", 15, &r), 201);
	assert_int_equal(call(l, "POST", "/v1/brands", l->admin, "application/json",
			      "{\"name\":\"other\"}", 16, &r), 201);
	assert_int_equal(call(l, "POST", "/v1/brands", l->admin, "application/json",
			      "{\"name\":\"other\"}", 16, &r), 409);
	assert_int_equal(call(l, "POST", "/v1/brands", l->brand, "application/json",
			      "{\"name\":\"mine\"}", 15, &r), 403);
	assert_int_equal(call(l, "GET", "/v1/brands/acme/datasets", l->brand, NULL, NULL, 0, &r), 200);
	assert_string_equal(r.body, "{\"datasets\":[]}");
	assert_int_equal(call(l, "GET", "/v1/brands/acme/datasets", officer, NULL, NULL, 0, &r), 200);
	before = sqlite3_total_changes(l->store->db);
	assert_int_equal(call(l, "POST", "/v1/brands/other/datasets", l->brand, "application/json",
			      "{\"name\":\"d\",\"purposes\":[\"ads\"],\"id_type\":\"email\",\"columns\":\"a:int(0..1)\"}",
			      72, &r), 403);
	assert_error(&r, "auth_tenant");
	assert_int_equal(call(l, "GET", "/v1/brands/other/datasets", officer, NULL, NULL, 0, &r), 403);
	assert_error(&r, "auth_tenant");
	assert_int_equal(call(l, "GET", "/v1/audit/log?brand=other", officer, NULL, NULL, 0, &r), 403);
	assert_int_equal(sqlite3_total_changes(l->store->db), before);
	/* the officer's own log: only acme entries */
	assert_int_equal(call(l, "GET", "/v1/audit/log", officer, NULL, NULL, 0, &r), 200);
	assert_non_null(strstr(r.body, "\"tenant\":\"acme\""));
	assert_null(strstr(r.body, "\"tenant\":\"other\""));
	assert_int_equal(call(l, "GET", "/v1/audit/log?limit=0", officer, NULL, NULL, 0, &r), 400);
	assert_error(&r, "http_query");
	/* a subject travels only as a digest */
	assert_int_equal(call(l, "GET", "/v1/brands/acme/subjects/someone/status?id_type=email", l->brand,
			      NULL, NULL, 0, &r), 404);
	assert_int_equal(call(l, "GET", "/v1/audit/key", officer, NULL, NULL, 0, &r), 200);
	assert_int_equal(call(l, "GET", "/v1/audit/checkpoint", l->brand, NULL, NULL, 0, &r), 200);
	assert_int_equal(call(l, "POST", "/v1/receipts/verify", l->brand, "application/json", "{}", 2, &r), 400);
	assert_error(&r, "consent_receipt_malformed");
}

/* The synthetic brand's notice (version 1) as a NUL-terminated heap string. */
static char *notice_text(size_t *len)
{
	FILE *f = tmpfile();
	char *buf;
	long n;
	assert_non_null(f);
	assert_int_equal(synth_notice_write(f), CR_OK);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

#define POST_JSON(l, path, tok, body) call(l, "POST", path, tok, "application/json", body, strlen(body), &r)

/* A brand's whole day through the routes: notice (R04), single events with
 * receipts (R27), a batch, a dataset, an upload, status by digest; every
 * refusal a JSON error that changes nothing (I7). */
static void test_live_brand_flow(void **state)
{
	struct live *l = *state;
	struct resp r;
	size_t nlen = 0;
	char *notice = notice_text(&nlen), *bad;
	int before;
	json_t *j;
	assert_int_equal(POST_JSON(l, "/v1/brands", l->admin, "{\"name\":\"acme\"}"), 201);
	assert_int_equal(call(l, "POST", "/v1/brands/acme/notices", l->brand, "application/json", notice,
			      nlen, &r), 201);
	assert_non_null(strstr(r.body, "\"version\":1"));
	assert_int_equal(call(l, "POST", "/v1/brands/acme/notices", l->brand, "application/json", notice,
			      nlen, &r), 200);
	assert_non_null(strstr(r.body, "\"already_published\":true"));
	assert_int_equal(call(l, "GET", "/v1/brands/acme/notices/1", l->brand, NULL, NULL, 0, &r), 200);
	assert_int_equal(call(l, "GET", "/v1/brands/acme/notices/9", l->brand, NULL, NULL, 0, &r), 404);
	/* R04: a notice without its retention is refused, nothing stored */
	bad = strstr(notice, "\"retention\"");
	assert_non_null(bad);
	memcpy(bad, "\"retentiox\"", 11);
	before = sqlite3_total_changes(l->store->db);
	assert_int_equal(call(l, "POST", "/v1/brands/acme/notices", l->brand, "application/json", notice,
			      nlen, &r), 400);
	assert_int_equal(sqlite3_total_changes(l->store->db), before);
	free(notice);

	/* notice served, then one grant: stored with its receipt, which the service then verifies */
	assert_int_equal(POST_JSON(l, "/v1/brands/acme/consents", l->brand,
				   "{\"type\":\"served\",\"subject\":\"ann@example.org\",\"notice_version\":1,"
				   "\"time\":\"2026-03-01T08:59:00+08:00\",\"channel\":\"web\"}"), 201);
	assert_non_null(strstr(r.body, "\"receipt\":null"));
	assert_int_equal(POST_JSON(l, "/v1/brands/acme/consents", l->brand,
				   "{\"type\":\"grant\",\"subject\":\"ann@example.org\",\"purpose\":\"ads_measurement\","
				   "\"notice_version\":1,\"time\":\"2026-03-01T09:00:00+08:00\",\"method\":\"checkbox\","
				   "\"channel\":\"web\",\"actor\":\"subject\"}"), 201);
	assert_null(strstr(r.body, "ann@example.org"));
	j = json_loadb(r.body, r.len, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_object(json_object_get(j, "receipt")));
	char *receipt = json_dumps(json_object_get(j, "receipt"), JSON_COMPACT);
	json_decref(j);
	assert_non_null(receipt);
	assert_int_equal(POST_JSON(l, "/v1/receipts/verify", l->brand, receipt), 200);
	assert_non_null(strstr(r.body, "\"audit_proof_verified\":true"));
	free(receipt);
	/* bad events: refused with the exact code, nothing stored */
	before = sqlite3_total_changes(l->store->db);
	assert_int_equal(POST_JSON(l, "/v1/brands/acme/consents", l->brand, "{\"type\":\"grant\","), 400);
	assert_error(&r, "consent_event_malformed");
	assert_int_equal(POST_JSON(l, "/v1/brands/acme/consents", l->brand,
				   "{\"type\":\"grant\",\"subject\":\"ann@example.org\",\"purpose\":\"ads_measurement\","
				   "\"notice_version\":1,\"time\":\"2026-03-01T09:00:00+08:00\",\"method\":\"checkbox\","
				   "\"channel\":\"web\",\"actor\":\"subject\",\"colour\":\"red\"}"), 400);
	assert_error(&r, "consent_event_unknown_field");
	assert_null(strstr(r.body, "ann@"));
	assert_int_equal(call(l, "POST", "/v1/brands/acme/consents/batch", l->brand, "application/json",
			      "{}", 2, &r), 415);
	assert_int_equal(sqlite3_total_changes(l->store->db), before);
	/* a batch: the good line stored, the bad one listed by number */
	const char *nd = "{\"type\":\"served\",\"subject\":\"bob@example.org\",\"notice_version\":1,"
			 "\"time\":\"2026-03-01T08:59:00+08:00\",\"channel\":\"web\"}\n"
			 "{\"type\":\"grant\",\"subject\":\"bob@example.org\",\"purpose\":\"ads_measurement\","
			 "\"notice_version\":1,\"time\":\"2026-03-01T09:00:00+08:00\",\"method\":\"checkbox\","
			 "\"channel\":\"web\",\"actor\":\"subject\"}\n{\"type\":\"nope\"}\n";
	assert_int_equal(call(l, "POST", "/v1/brands/acme/consents/batch", l->brand, "application/x-ndjson",
			      nd, strlen(nd), &r), 200);
	assert_non_null(strstr(r.body, "\"stored\":2"));
	assert_non_null(strstr(r.body, "\"line\":3"));
	assert_null(strstr(r.body, "bob@"));

	/* datasets: an undeclared purpose is refused; then a real one and an upload */
	assert_int_equal(POST_JSON(l, "/v1/brands/acme/datasets", l->brand,
				   "{\"name\":\"crm\",\"purposes\":[\"payroll\"],\"id_type\":\"email\","
				   "\"columns\":\"segment:enum(a|b)\"}"), 400);
	assert_error(&r, "dataset_purposes");
	assert_int_equal(POST_JSON(l, "/v1/brands/acme/datasets", l->brand,
				   "{\"name\":\"crm\",\"purposes\":[\"ads_measurement\"],\"id_type\":\"email\","
				   "\"columns\":\"segment:enum(a|b)\"}"), 201);
	const char *csv = "email,segment\nann@example.org,a\nbob@example.org,b\ncat@example.org,a\n";
	assert_int_equal(call(l, "POST", "/v1/brands/acme/datasets/crm/ingest", l->brand, "text/csv", csv,
			      strlen(csv), &r), 200);
	j = json_loadb(r.body, r.len, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "read")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "accepted")), 2);
	json_decref(j);
	assert_int_equal(call(l, "POST", "/v1/brands/acme/datasets/nope/ingest", l->brand, "text/csv", csv,
			      strlen(csv), &r), 404);
	assert_error(&r, "dataset_not_found");

	/* status by the digest of the normalized email: sha256("ann@example.org") */
	uint8_t h[32];
	char hex[65], path[200];
	crypto_hash_sha256(h, (const uint8_t *)"ann@example.org", 15);
	assert_int_equal(cr_hex_encode(h, 32, hex, sizeof(hex)), CR_OK);
	snprintf(path, sizeof(path), "/v1/brands/acme/subjects/%s/status?id_type=email", hex);
	assert_int_equal(call(l, "GET", path, l->brand, NULL, NULL, 0, &r), 200);
	j = json_loadb(r.body, r.len, 0, NULL);
	assert_non_null(j);
	json_t *first = json_array_get(json_object_get(j, "decisions"), 0);
	assert_string_equal(json_string_value(json_object_get(first, "purpose")), "ads_measurement");
	assert_true(json_is_true(json_object_get(first, "allowed")));
	json_decref(j);
	assert_null(strstr(r.body, hex));
}

/* Token buckets: a burst, then refusals with a wait, then refill. */
static void test_ratelimit(void **state)
{
	(void)state;
	struct http_ratelimit *rl = http_ratelimit_new(10, 3);
	unsigned wait = 0;
	for (int i = 0; i < 3; i++)
		assert_int_equal(http_ratelimit_take(rl, 7, 1000000, &wait), CR_OK);
	assert_int_equal(http_ratelimit_take(rl, 7, 1000000, &wait), CR_ERR_RATE_LIMITED);
	assert_int_equal(wait, 1);
	assert_int_equal(http_ratelimit_take(rl, 8, 1000000, &wait), CR_OK); /* per token */
	assert_int_equal(http_ratelimit_take(rl, 7, 1100000, &wait), CR_OK);  /* 100 ms = 1 token */
	assert_int_equal(http_ratelimit_take(rl, 7, 1100000, &wait), CR_ERR_RATE_LIMITED);
	http_ratelimit_free(rl);
	http_ratelimit_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_literal_and_params),
		cmocka_unit_test(test_pattern_refusals),
		cmocka_unit_test(test_route_find_404_405),
		cmocka_unit_test(test_route_table_invariants),
		cmocka_unit_test(test_every_route_is_documented_and_vice_versa),
		cmocka_unit_test(test_error_code_and_body),
		cmocka_unit_test(test_json_body_strict),
		cmocka_unit_test(test_metrics_render),
		cmocka_unit_test_setup_teardown(test_live_public_routes, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_auth, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_bad_bodies, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_issue_use_revoke, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_role_matrix, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_tenancy, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_brand_flow, live_setup, live_teardown),
		cmocka_unit_test(test_ratelimit),
	};
	int rc;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
