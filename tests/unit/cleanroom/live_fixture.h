/*
 * live_fixture.h: a live plain-HTTP server on 127.0.0.1 (an ephemeral port,
 * the default configuration, two worker threads, the real route table)
 * over a fresh data directory with an admin and an "acme" brand token,
 * driven with libcurl: one request per connection, its status, headers and
 * body captured. Shared by the tests that need the service over a real
 * socket (test_http_live.c, and test_links.c for what depends on the
 * client's address). Their main() calls curl_global_init.
 */
#ifndef CR_TEST_LIVE_FIXTURE_H
#define CR_TEST_LIVE_FIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "test_util.h"
#include "cleanroom/http.h"

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

static inline size_t on_body(char *p, size_t size, size_t n, void *ud)
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

static inline size_t on_header(char *p, size_t size, size_t n, void *ud)
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

/*
 * One request from local address `src` (NULL: the system's choice,
 * 127.0.0.1; any 127.0.0.0/8 address is a distinct client on loopback);
 * `token` and `body` may be NULL. Returns the status, or 0 if no answer
 * came within 10 s (or the transfer failed).
 */
static inline long call_try(struct live *l, const char *src, const char *method, const char *path,
			    const char *token, const char *ct, const char *body, size_t body_len,
			    struct resp *r)
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
	if (src) {
		char iface[64];
		snprintf(iface, sizeof(iface), "host!%s", src);
		curl_easy_setopt(c, CURLOPT_INTERFACE, iface);
	}
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
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	else
		r->status = 0;
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r->status;
}

/* As call_try, and the request must be answered. */
static inline long call_from(struct live *l, const char *src, const char *method, const char *path,
			     const char *token, const char *ct, const char *body, size_t body_len,
			     struct resp *r)
{
	assert_int_not_equal(call_try(l, src, method, path, token, ct, body, body_len, r), 0);
	return r->status;
}

/* One request from the default address (see call_from). */
static inline long call(struct live *l, const char *method, const char *path, const char *token,
			const char *ct, const char *body, size_t body_len, struct resp *r)
{
	return call_from(l, NULL, method, path, token, ct, body, body_len, r);
}

/* Asserts the body is exactly {"error":{"code":code,...}}. */
static inline void assert_error(const struct resp *r, const char *code)
{
	json_t *j = json_loadb(r->body, r->len, 0, NULL);
	if (j == NULL)
		fail_msg("not JSON: %s", r->body);
	assert_int_equal(json_object_size(j), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")), code);
	json_decref(j);
}

static inline int live_setup(void **state)
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

static inline int live_teardown(void **state)
{
	struct live *l = *state;
	http_server_stop(l->srv, 1000);
	app_close(l->ap);
	fclose(l->log);
	test_rm_rf(l->dir);
	free(l);
	return 0;
}

#endif
