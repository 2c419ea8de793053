/* Unit tests for the HTTP service (cleanroom/http*.c, api_*.c), in process:
 * path patterns and route lookup, the route table's invariants and its
 * agreement with docs/api.yaml, strict JSON bodies, the error shape (I7),
 * metrics and the token buckets. The same service over a real socket is
 * test_http_live.c. */
#include <sodium.h>

#include "test_util.h"
#include "cleanroom/http.h"

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
static void library_log(FILE *log, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	http_log_library(log, fmt, ap);
	va_end(ap);
}

/* libmicrohttpd's messages reach the log without their arguments: a raw
 * path with a subject's digest, a header, an address never does. */
static void test_library_messages_never_log_their_arguments(void **state)
{
	const char *path = "/v1/brands/acme/subjects/"
			   "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08/status";
	char buf[2048] = "";
	FILE *log = tmpfile();
	size_t n;
	(void)state;
	assert_non_null(log);
	/* messages of the installed libmicrohttpd that name the request */
	library_log(log, "Failed to send the response body for the request for `%s'. Error: %s", path, "EPIPE");
	library_log(log, "Failed to send data in request for %s.", path);
	library_log(log, "Error processing request (HTTP response code is %u ('%s')). Closing connection.", 400u,
		    path);
	library_log(log, "%-20.*s and 100%% %lu%s\nsecond line %s", 5, path, 7ul, path, path);
	rewind(log);
	n = fread(buf, 1, sizeof(buf) - 1, log);
	fclose(log);
	buf[n] = '\0';
	assert_null(strstr(buf, "9f86d081"));
	assert_null(strstr(buf, "EPIPE"));
	assert_null(strstr(buf, "second line"));
	assert_non_null(strstr(buf, "\"message\":\"Failed to send the response body for the request for `<arg>'. Error: <arg>\""));
	assert_non_null(strstr(buf, "(HTTP response code is <arg> ('<arg>'))"));
	assert_non_null(strstr(buf, "\"message\":\"<arg> and 100% <arg><arg>\""));
	assert_non_null(strstr(buf, "\"source\":\"libmicrohttpd\""));
}

/* I11: the handlers' own tenant check, behind the one http.c makes on the
 * headers: a brand or officer token of another tenant is refused before
 * the brand is looked up (no store is needed to refuse). */
static void test_i11_brand_scope_refuses_another_tenant(void **state)
{
	struct auth_token_info who = { .id = 7, .role = AUTH_ROLE_BRAND, .tenant = "other" };
	struct http_params params = { .n = 1 };
	struct http_request req = { .who = &who, .params = &params };
	int64_t id = 0;
	(void)state;
	snprintf(params.p[0].name, sizeof(params.p[0].name), "brand");
	snprintf(params.p[0].value, sizeof(params.p[0].value), "acme");
	assert_int_equal(api_brand_scope(&req, &id), CR_ERR_AUTH_TENANT);
	who.role = AUTH_ROLE_OFFICER;
	assert_int_equal(api_brand_scope(&req, &id), CR_ERR_AUTH_TENANT);
	assert_int_equal(id, 0);
}

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
		/* A spooled upload is a long write (issue 20 item 1: never on a
		 * libmicrohttpd thread); a read route never joins a group (it
		 * cannot write). */
		if (r->spool)
			assert_true(r->slow);
		if (r->store == HTTP_STORE_READ)
			assert_false(r->group || r->spool);
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
		cmocka_unit_test(test_i11_brand_scope_refuses_another_tenant),
		cmocka_unit_test(test_library_messages_never_log_their_arguments),
		cmocka_unit_test(test_route_table_invariants),
		cmocka_unit_test(test_every_route_is_documented_and_vice_versa),
		cmocka_unit_test(test_error_code_and_body),
		cmocka_unit_test(test_json_body_strict),
		cmocka_unit_test(test_metrics_render),
		cmocka_unit_test(test_ratelimit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

