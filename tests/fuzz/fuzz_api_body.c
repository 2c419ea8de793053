/*
 * fuzz_api_body.c: libFuzzer target for every request body of the API: the
 * JSON bodies (tokens, brands, child ages, notices, consent events,
 * datasets, collaborations, budget raises, audit search, receipt checks,
 * consent links and the consent center's forms), the NDJSON consent
 * batches and the CSV/NDJSON ingest uploads, each parsed and validated by
 * its real handler (cleanroom/api_*.c through http_json_body and the ops_
 * and registry_ code behind it) against a fresh copy of a synthetic clean
 * room (fuzz_fixture.h).
 *
 * The first byte picks the route (every route with a body but the match
 * rounds, which fuzz_psi_session and fuzz_psi_msg cover), the second the
 * caller's role among those the route admits and the Content-Type; the
 * rest is the body. Beyond surviving any input: no body makes the service
 * fail with a 5xx (a client's mistake is a 4xx); a success is a 2xx whose
 * JSON reply parses; no handler returns with its transaction open.
 */
#include <stdint.h>

#include "tests/fuzz/fuzz_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what, const char *route)
{
	if (!ok) {
		fprintf(stderr, "fuzz_api_body: invariant broken on %s: %s\n", route, what);
		abort();
	}
}

/* Routes with a body that run without a server object. */
static size_t body_routes(const struct http_route **out)
{
	size_t n = 0;
	for (size_t i = 0; i < http_route_count; i++) {
		const struct http_route *r = &http_routes[i];
		if (r->max_body == 0 || strstr(r->pattern, "/sessions") != NULL)
			continue;
		out[n++] = r;
	}
	return n;
}

static const char *subject_digest; /* a customer of the fixture's */

/* The route's pattern with every {param} filled by a value of the fixture. */
static void fill(const char *pattern, char *out, size_t cap)
{
	static const struct { const char *name, *value; } values[] = {
		{ "{brand}", "acme" }, { "{id}", "1" }, { "{name}", "crm" }, { "{version}", "1" },
		{ "{release}", "1" }, { "{file}", "consent.js" },
		{ "{digest}", NULL /* the fixture's */ },
	};
	size_t used = 0;
	while (*pattern && used + 1 < cap) {
		size_t k, vlen;
		for (k = 0; k < sizeof(values) / sizeof(values[0]); k++)
			if (strncmp(pattern, values[k].name, strlen(values[k].name)) == 0)
				break;
		if (k == sizeof(values) / sizeof(values[0])) {
			out[used++] = *pattern++;
			continue;
		}
		const char *val = values[k].value ? values[k].value : subject_digest;
		vlen = strlen(val);
		if (used + vlen >= cap)
			break;
		memcpy(out + used, val, vlen);
		used += vlen;
		pattern += strlen(values[k].name);
	}
	out[used] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { "application/json", "application/json; charset=utf-8",
					     "application/x-ndjson", "text/csv", NULL, "text/plain" };
	static const enum auth_role roles[] = { AUTH_ROLE_BRAND, AUTH_ROLE_ADMIN, AUTH_ROLE_PARTNER,
						AUTH_ROLE_OFFICER };
	const struct http_route *routes[64], *r, *found = NULL;
	struct auth_token_info who = { .id = 1 };
	struct http_reply rep;
	struct ffx *f = ffx_get();
	char path[256];
	size_t n = body_routes(routes);
	cr_err rc;

	if (size < 2)
		return 0;
	subject_digest = f->digest;
	r = routes[data[0] % n];
	who.role = roles[data[1] & 3];
	for (int i = 0; i < 4 && !(r->roles & (unsigned)who.role); i++)
		who.role = roles[i];
	snprintf(who.tenant, sizeof(who.tenant), "%s", who.role == AUTH_ROLE_PARTNER ? "partner-1" : "acme");
	fill(r->pattern, path, sizeof(path));
	ffx_fresh(f);
	rc = ffx_call(f, r->method, path, &who, types[(data[1] >> 2) % 6], data + 2, size - 2, NULL, &found, &rep);
	check(found == r, "the filled path matches another route", r->pattern);
	if (rc == CR_OK) {
		check(rep.status >= 200 && rep.status < 300, "success without a 2xx", r->pattern);
		if (rep.content_type && strcmp(rep.content_type, "application/json") == 0) {
			json_t *j = json_loadb(rep.body, rep.len, 0, NULL);
			check(j != NULL, "a JSON reply that does not parse", r->pattern);
			json_decref(j);
		}
	} else {
		int status = cr_err_http_status(rc);
		if (status >= 500)
			fprintf(stderr, "fuzz_api_body: %s answered %s\n", r->pattern, cr_errname(rc));
		check(status >= 400 && status < 500, "a body made the service fail (5xx)", r->pattern);
	}
	http_secure_free(rep.body);
	return 0;
}
