/*
 * fuzz_route.c: libFuzzer target for the request line as the service reads
 * it (cleanroom/http_router.c): the path after libmicrohttpd's
 * percent-decoding (MHD_http_unescape, the library's own decoder, run here
 * as on_access receives it), matched against the real route table with its
 * {param} segments; and the Authorization header's bearer parser
 * (auth_bearer_parse, cleanroom/auth.c).
 *
 * The first byte picks the method; the rest is the raw path (and, after a
 * NUL, an Authorization header). Beyond surviving any input: a route found
 * is the method asked for and its pattern matches the path; every {param}
 * value it yields is 1..HTTP_PARAM_MAX unreserved characters (so no '/',
 * NUL, '%' or control byte reaches a handler, whatever the client
 * encoded); 405 happens exactly when another method's route matches, and
 * its Allow list is non-empty; a bearer token accepted is a non-empty run
 * inside the header with no space or control byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "cleanroom/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_route: invariant broken: %s\n", what);
		abort();
	}
}

static int unreserved(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '~' || c == '-';
}

static void route(const char *method, char *path)
{
	const struct http_route *r = NULL;
	struct http_params p;
	char allow[128];
	cr_err rc;

	MHD_http_unescape(path); /* what libmicrohttpd hands on_access */
	rc = http_route_find(http_routes, http_route_count, method, path, &r, &p);
	http_route_allow(http_routes, http_route_count, path, allow, sizeof(allow));
	if (rc == CR_OK) {
		check(strcmp(r->method, method) == 0, "route of another method");
		check(http_pattern_match(r->pattern, path, NULL), "route whose pattern does not match");
		check(p.n <= HTTP_PARAMS_MAX, "too many params");
		for (size_t i = 0; i < p.n; i++) {
			size_t len = strlen(p.p[i].value);
			check(len >= 1 && len <= HTTP_PARAM_MAX, "param length");
			for (size_t k = 0; k < len; k++)
				check(unreserved(p.p[i].value[k]), "param holds a reserved byte");
			check(strstr(r->pattern, p.p[i].name) != NULL, "param not named by the pattern");
		}
		check(allow[0] != '\0', "a matched path without Allow");
	} else if (rc == CR_ERR_HTTP_METHOD) {
		check(allow[0] != '\0', "405 without an Allow list");
	} else {
		check(rc == CR_ERR_HTTP_NO_ROUTE, "undocumented refusal");
		check(allow[0] == '\0', "404 with an Allow list");
	}
}

static void bearer(const char *hdr, size_t cap)
{
	const char *tok = NULL;
	size_t len = 0;
	if (auth_bearer_parse(hdr, &tok, &len) != CR_OK)
		return;
	check(tok != NULL && len > 0 && tok >= hdr && tok + len <= hdr + cap, "token outside the header");
	for (size_t i = 0; i < len; i++)
		check((unsigned char)tok[i] > 0x20 && tok[i] != 0x7f, "token holds a space or control byte");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "POST", "DELETE", "PUT", "HEAD", "get" };
	char *buf;
	size_t plen;

	if (size < 1)
		return 0;
	buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	plen = strlen(buf);
	if (plen + 1 < size)
		bearer(buf + plen + 1, strlen(buf + plen + 1));
	route(methods[data[0] % 6], buf);
	free(buf);
	return 0;
}
