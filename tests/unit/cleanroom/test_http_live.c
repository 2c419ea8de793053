/* Unit tests for the HTTP service (cleanroom/http*.c, api_*.c) over a real
 * socket: a live plain-HTTP server on 127.0.0.1 driven with libcurl
 * (live_fixture.h): public routes and metrics, 401/403/404/405/413/415/400,
 * token issue and revoke over the API, the role and tenancy matrix, a
 * brand's whole day through the routes, and an access log that never holds
 * a token. The in-process checks are test_http.c. */
#include <poll.h>

#include "live_fixture.h"
#include "cleanroom/synth.h"

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
	assert_int_equal(call(l, "GET", "/metrics", NULL, NULL, NULL, 0, &r), 401); /* any role's token */
	assert_error(&r, "auth_missing");
	for (int i = 0; i < 100; i++) {
		assert_int_equal(call(l, "GET", "/metrics", l->brand, NULL, NULL, 0, &r), 200);
		if (strstr(r.body, "cleanroom_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n") &&
		    strstr(r.body, "cleanroom_http_requests_total{route=\"/healthz\",status=\"200\"} 1\n"))
			break;
		usleep(20000);
	}
	assert_non_null(strstr(r.body, "cleanroom_http_requests_total{route=\"/healthz\",status=\"200\"} 1\n"));
	assert_non_null(strstr(r.body, "cleanroom_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"));
}

/* A plain TCP connection to the live server. */
static int raw_connect(struct live *l)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(l->port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static void raw_send(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		assert_true(k > 0);
		p += k;
		n -= (size_t)k;
	}
}

/* Whether the server sent anything within `ms`. */
static bool answered_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, ms) == 1;
}

/*
 * A request refused on its headers (no token: 401) that announces a small
 * body without "Expect: 100-continue" is answered after its body is read
 * and dropped: answered at once, libmicrohttpd closes without reading it
 * and a client still sending sees the connection reset before the answer.
 * A large announced body is refused at once (a client sending that much
 * waits for 100-continue), and nothing of either is stored.
 */
static void test_live_refusal_drains_a_small_body_first(void **state)
{
	struct live *l = *state;
	static char body[200000];
	char head[256], reply[512];
	ssize_t got;
	int fd = raw_connect(l);

	memset(body, ' ', sizeof(body));
	snprintf(head, sizeof(head), "POST /v1/brands/acme/consents/batch HTTP/1.1\r\nHost: t\r\n"
		 "Content-Type: application/x-ndjson\r\nContent-Length: %zu\r\n\r\n", sizeof(body));
	raw_send(fd, head, strlen(head));
	assert_false(answered_within(fd, 300));
	raw_send(fd, body, sizeof(body));
	assert_true(answered_within(fd, 5000));
	got = read(fd, reply, sizeof(reply) - 1);
	assert_true(got > 12);
	reply[got] = '\0';
	assert_memory_equal(reply, "HTTP/1.1 401", 12);
	close(fd);

	fd = raw_connect(l);
	snprintf(head, sizeof(head), "POST /v1/brands/acme/consents/batch HTTP/1.1\r\nHost: t\r\n"
		 "Content-Type: application/x-ndjson\r\nContent-Length: %u\r\n\r\n", 4u << 20);
	raw_send(fd, head, strlen(head));
	assert_true(answered_within(fd, 5000));
	got = read(fd, reply, sizeof(reply) - 1);
	assert_true(got > 12);
	assert_memory_equal(reply, "HTTP/1.1 401", 12);
	close(fd);
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
static void path_fill(const char *pattern, const char *brand, const char *value, char *out, size_t cap);

/*
 * Issue 20 item 1: token checks and read routes run on read connections,
 * so while the writer is held (its lock taken and a write transaction
 * open, as a long consent batch holds them) every read route still
 * answers, with the committed state. Before, each of these calls waited
 * for the lock (here: forever, and curl's 10 s timeout fails the test).
 */
static void test_live_reads_never_wait_for_the_writer(void **state)
{
	struct live *l = *state;
	struct resp r;
	char path[256];
	long got[64] = { 0 }, want[64] = { 0 };
	size_t n = 0;
	bool tokens_listed;
	assert_int_equal(call(l, "POST", "/v1/brands", l->admin, "application/json", "{\"name\":\"acme\"}", 15, &r), 201);
	app_store_lock(l->ap);
	assert_int_equal(app_begin(l->ap), CR_OK);
	assert_int_equal(store_setting_set(l->ap->store, "held", "1"), CR_OK);

	/* Statuses are collected and checked once the writer is let go, so a
	 * failure does not leave the server's threads waiting for it. */
	want[n] = 200;
	got[n++] = call_try(l, NULL, "GET", "/v1/whoami", l->brand, NULL, NULL, 0, &r);
	want[n] = 200;
	got[n++] = call_try(l, NULL, "GET", "/v1/tokens", l->admin, NULL, NULL, 0, &r);
	tokens_listed = strstr(r.body, "\"name\":\"b\"") != NULL;
	want[n] = 200;
	got[n++] = call_try(l, NULL, "GET", "/v1/brands/acme/datasets", l->brand, NULL, NULL, 0, &r);
	want[n] = 200;
	got[n++] = call_try(l, NULL, "GET", "/v1/audit/checkpoint", l->brand, NULL, NULL, 0, &r);
	for (size_t i = 0; i < http_route_count && n < 64 && got[n - 1] != 0; i++) {
		const struct http_route *rt = &http_routes[i];
		const char *tok = (rt->roles & AUTH_ROLE_ADMIN) ? l->admin
				: (rt->roles & AUTH_ROLE_BRAND) ? l->brand : NULL;
		bool post = strcmp(rt->method, "POST") == 0;
		if (rt->store != HTTP_STORE_READ)
			continue;
		path_fill(rt->pattern, "acme", "1", path, sizeof(path));
		/* Whatever the handler says of the empty request, it answers. */
		want[n] = -1;
		got[n++] = call_try(l, NULL, rt->method, path, tok, post ? "application/json" : NULL,
				    post ? "{}" : NULL, 2, &r);
	}
	app_rollback(l->ap);
	app_store_unlock(l->ap);
	for (size_t i = 0; i < n; i++) {
		if (want[i] > 0)
			assert_int_equal(got[i], want[i]);
		else
			assert_true(got[i] >= 200 && got[i] < 500);
	}
	assert_true(tokens_listed);
}

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
	/* the officer reads the impact assessments and transfer mechanisms, never records them */
	assert_int_equal(call(l, "GET", "/v1/brands/acme/impact-assessments", officer, NULL, NULL, 0, &r), 200);
	assert_string_equal(r.body, "{\"impact_assessments\":[]}");
	assert_int_equal(call(l, "GET", "/v1/brands/acme/transfers", officer, NULL, NULL, 0, &r), 200);
	const char *pia = "{\"ref\":\"PIA-1\",\"covers\":[\"ads_measurement\"]}";
	assert_int_equal(call(l, "POST", "/v1/brands/acme/impact-assessments", officer, "application/json", pia,
			      strlen(pia), &r), 403);
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
/* One integer from the server's store (the test shares its connection). */
static long long count_of(struct live *l, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;
	assert_int_equal(sqlite3_prepare_v2(l->store->db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void test_live_brand_flow(void **state)
{
	struct live *l = *state;
	struct resp r;
	size_t nlen = 0;
	char *notice = notice_text(&nlen), *bad;
	int before;
	json_t *j;
	assert_int_equal(POST_JSON(l, "/v1/brands", l->admin, "{\"name\":\"acme\"}"), 201);
	/* R05: a version is current only from its publish time, which may be
	 * back-filled (the events below are from March) but never set ahead */
	assert_int_equal(call(l, "POST", "/v1/brands/acme/notices?published_at=2099-01-01T00:00:00Z", l->brand,
			      "application/json", notice, nlen, &r), 400);
	assert_error(&r, "consent_notice_future");
	assert_int_equal(call(l, "POST", "/v1/brands/acme/notices?published_at=2026-01-01T00:00:00%2B08:00",
			      l->brand, "application/json", notice, nlen, &r), 201);
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
	/* R18, a live channel: the service stamps the receipt time itself, so a
	 * withdrawal sent with a receipt time in the past is not retroactive */
	cr_time_ms sent = cr_time_now();
	assert_int_equal(POST_JSON(l, "/v1/brands/acme/consents", l->brand,
				   "{\"type\":\"withdraw\",\"subject\":\"dee@example.org\",\"purpose\":\"ads_measurement\","
				   "\"time\":\"2026-03-01T09:30:00+08:00\",\"received\":\"2026-03-01T09:30:00+08:00\"}"), 201);
	assert_true(count_of(l, "SELECT max(received_ms) FROM consent_events WHERE type = 'withdraw'") >= sent);
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
	/* R28: not before an impact assessment covers the purpose */
	assert_int_equal(POST_JSON(l, "/v1/brands/acme/datasets", l->brand,
				   "{\"name\":\"crm\",\"purposes\":[\"ads_measurement\"],\"id_type\":\"email\","
				   "\"columns\":\"segment:enum(a|b)\"}"), 409);
	assert_error(&r, "pia_missing");
	assert_int_equal(POST_JSON(l, "/v1/brands/acme/impact-assessments", l->brand,
				   "{\"ref\":\"PIA-1\",\"covers\":[\"ads_measurement\"],\"kind\":\"dpia\"}"), 201);
	assert_non_null(strstr(r.body, "\"covers\":[\"ads_measurement\"]"));
	assert_int_equal(call(l, "GET", "/v1/brands/acme/impact-assessments", l->brand, NULL, NULL, 0, &r), 200);
	assert_non_null(strstr(r.body, "\"ref\":\"PIA-1\""));
	assert_int_equal(POST_JSON(l, "/v1/brands/acme/transfers", l->brand,
				   "{\"recipient\":\"partner-1\",\"mechanism\":\"standard-contract\",\"ref\":\"SC-1\"}"),
			 201);
	assert_int_equal(call(l, "GET", "/v1/brands/acme/transfers", l->brand, NULL, NULL, 0, &r), 200);
	assert_non_null(strstr(r.body, "\"mechanism\":\"standard-contract\""));
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

/* A field of the JSON body r holds, as a string ("" if absent). */
static const char *body_str(json_t **keep, const struct resp *r, const char *key)
{
	const char *v;
	json_decref(*keep);
	*keep = json_loadb(r->body, r->len, 0, NULL);
	assert_non_null(*keep);
	v = json_string_value(json_object_get(*keep, key));
	return v ? v : "";
}

/*
 * Issue 21 item 3: only the brand that owns a collaboration raises the
 * budget of its (dataset, partner) pair: its partner, its officer and
 * another brand are refused and nothing is stored; a raise must go up, to
 * at most 1000; the raise is audited, and the partner sees it in its ledger.
 */
static void test_live_budget_raise_only_by_its_brand(void **state)
{
	struct live *l = *state;
	char partner[AUTH_TOKEN_STRLEN], officer[AUTH_TOKEN_STRLEN], other[AUTH_TOKEN_STRLEN];
	static const char *const bad[] = { "{\"budget\":\"1\"}", "{\"budget\":\"0.5\"}",
					   "{\"budget\":\"1000.001\"}", "{\"budget\":\"2.0001\"}",
					   "{\"budget\":\"-3\"}", "{\"budget\":2}", "{}",
					   "{\"budget\":\"2\",\"by\":\"x\"}" };
	static const char *const bad_code[] = { "collab_budget_raise", "collab_budget_raise", "collab_epsilon",
						"collab_epsilon", "collab_epsilon", "json_type",
						"json_missing_field", "json_unknown_field" };
	struct auth_token_info t;
	struct resp r;
	size_t nlen = 0;
	char *notice = notice_text(&nlen), path[96];
	json_t *j = NULL, *raise;
	int before;
	assert_int_equal(auth_token_issue(l->ap, AUTH_ROLE_PARTNER, "partner-1", "p", partner, &t), CR_OK);
	assert_int_equal(auth_token_issue(l->ap, AUTH_ROLE_OFFICER, "acme", "o", officer, &t), CR_OK);
	assert_int_equal(auth_token_issue(l->ap, AUTH_ROLE_BRAND, "other", "b2", other, &t), CR_OK);
	assert_int_equal(POST_JSON(l, "/v1/brands", l->admin, "{\"name\":\"acme\"}"), 201);
	assert_int_equal(POST_JSON(l, "/v1/brands", l->admin, "{\"name\":\"other\"}"), 201);
	assert_int_equal(call(l, "POST", "/v1/brands/acme/notices?published_at=2026-01-01T00:00:00%2B08:00",
			      l->brand, "application/json", notice, nlen, &r), 201);
	free(notice);
	assert_int_equal(POST_JSON(l, "/v1/brands/acme/impact-assessments", l->brand,
				   "{\"ref\":\"PIA-1\",\"covers\":[\"audience_insights\"]}"), 201);
	assert_int_equal(POST_JSON(l, "/v1/brands/acme/datasets", l->brand,
				   "{\"name\":\"crm\",\"purposes\":[\"audience_insights\"],\"recipients\":[\"partner-1\"],"
				   "\"id_type\":\"email\",\"columns\":\"segment:enum(a|b)\"}"), 201);
	assert_int_equal(POST_JSON(l, "/v1/brands/acme/collaborations", l->brand,
				   "{\"dataset\":\"crm\",\"partner\":\"partner-1\",\"dimensions\":[\"segment\"],"
				   "\"budget\":\"1\"}"), 201);
	j = json_loadb(r.body, r.len, 0, NULL);
	assert_non_null(j);
	snprintf(path, sizeof(path), "/v1/collaborations/%lld/budget",
		 (long long)json_integer_value(json_object_get(j, "id")));

	/* refused callers: the partner and the officer by role, another brand as if it did not exist */
	before = sqlite3_total_changes(l->store->db);
	assert_int_equal(POST_JSON(l, path, partner, "{\"budget\":\"2.5\"}"), 403);
	assert_error(&r, "auth_forbidden");
	assert_int_equal(POST_JSON(l, path, officer, "{\"budget\":\"2.5\"}"), 403);
	assert_error(&r, "auth_forbidden");
	assert_int_equal(POST_JSON(l, path, other, "{\"budget\":\"2.5\"}"), 404);
	assert_error(&r, "collab_not_found");
	/* bad raises: a clear error each, nothing stored */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (POST_JSON(l, path, l->brand, bad[i]) != 400)
			fail_msg("%s: %ld %s", bad[i], r.status, r.body);
		assert_error(&r, bad_code[i]);
	}
	assert_int_equal(sqlite3_total_changes(l->store->db), before);
	assert_int_equal(call(l, "GET", path, partner, NULL, NULL, 0, &r), 200);
	assert_string_equal(body_str(&j, &r, "budget"), "1.000");

	/* the brand raises; the partner sees the raise in its ledger; it is audited */
	assert_int_equal(POST_JSON(l, path, l->brand, "{\"budget\":\"2.5\"}"), 200);
	assert_string_equal(body_str(&j, &r, "budget"), "2.500");
	assert_int_equal(call(l, "GET", path, partner, NULL, NULL, 0, &r), 200);
	assert_string_equal(body_str(&j, &r, "budget"), "2.500");
	assert_string_equal(body_str(&j, &r, "left"), "2.500");
	assert_int_equal(json_array_size(json_object_get(j, "raises")), 1);
	raise = json_array_get(json_object_get(j, "raises"), 0);
	assert_string_equal(json_string_value(json_object_get(raise, "from")), "1.000");
	assert_string_equal(json_string_value(json_object_get(raise, "to")), "2.500");
	assert_string_equal(json_string_value(json_object_get(raise, "by")), "brand");
	json_decref(j);
	assert_int_equal(call(l, "GET", "/v1/audit/log?type=collab.budget_raise", officer, NULL, NULL, 0, &r), 200);
	assert_non_null(strstr(r.body, "from=1.000 to=2.500"));
	/* and only upward from there */
	assert_int_equal(POST_JSON(l, path, l->brand, "{\"budget\":\"2.5\"}"), 400);
	assert_error(&r, "collab_budget_raise");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_live_public_routes, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_auth, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_refusal_drains_a_small_body_first, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_bad_bodies, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_issue_use_revoke, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_reads_never_wait_for_the_writer, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_role_matrix, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_tenancy, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_brand_flow, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_live_budget_raise_only_by_its_brand, live_setup, live_teardown),
	};
	int rc;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
