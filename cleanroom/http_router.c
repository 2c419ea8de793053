/*
 * http_router.c: matching a request path against the route table's patterns
 * and reading the {param} values a handler needs.
 *
 * A pattern is a '/'-separated list of literal segments and {name} segments.
 * Paths arrive percent-decoded from libmicrohttpd, so a {param} admits only
 * unreserved characters: whatever the client encoded, no '/', no NUL and no
 * control byte can reach a handler through a parameter.
 */
#include <stdio.h>
#include <string.h>

#include "cleanroom/http.h"

/* RFC 3986 unreserved characters: all a {param} value may hold. */
static bool param_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '~' || c == '-';
}

/* Length of the segment starting at s (up to '/' or the end). */
static size_t segment_len(const char *s)
{
	const char *slash = strchr(s, '/');
	return slash ? (size_t)(slash - s) : strlen(s);
}

/* Matches one path segment against a {name} pattern segment; records it. */
static bool param_match(const char *pat, size_t plen, const char *seg, size_t slen,
			struct http_params *params)
{
	if (slen == 0 || slen > HTTP_PARAM_MAX || plen - 2 > HTTP_PARAM_NAME_MAX)
		return false;
	for (size_t i = 0; i < slen; i++)
		if (!param_char_ok(seg[i]))
			return false;
	if (params == NULL)
		return true;
	if (params->n >= HTTP_PARAMS_MAX)
		cr_die("http: a route pattern has too many {params}");
	memcpy(params->p[params->n].name, pat + 1, plen - 2);
	params->p[params->n].name[plen - 2] = '\0';
	memcpy(params->p[params->n].value, seg, slen);
	params->p[params->n].value[slen] = '\0';
	params->n++;
	return true;
}

bool http_pattern_match(const char *pattern, const char *path, struct http_params *params)
{
	struct http_params found = { 0 };
	const char *p = pattern, *s = path;

	if (*p != '/' || *s != '/')
		return false;
	while (*p == '/' && *s == '/') {
		size_t plen = segment_len(++p), slen = segment_len(++s);
		bool is_param = plen >= 2 && p[0] == '{' && p[plen - 1] == '}';
		if (is_param ? !param_match(p, plen, s, slen, &found)
			     : (plen != slen || memcmp(p, s, plen) != 0))
			return false;
		p += plen;
		s += slen;
	}
	if (*p != '\0' || *s != '\0')
		return false;
	if (params)
		*params = found;
	return true;
}

cr_err http_route_find(const struct http_route *routes, size_t n, const char *method,
		       const char *path, const struct http_route **route_out,
		       struct http_params *params)
{
	struct http_params found;
	bool path_known = false;
	for (size_t i = 0; i < n; i++) {
		if (!http_pattern_match(routes[i].pattern, path, &found))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, method) != 0)
			continue;
		*route_out = &routes[i];
		*params = found;
		return CR_OK;
	}
	return path_known ? CR_ERR_HTTP_METHOD : CR_ERR_HTTP_NO_ROUTE;
}

void http_route_allow(const struct http_route *routes, size_t n, const char *path,
		      char *buf, size_t cap)
{
	size_t used = 0;
	if (cap == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!http_pattern_match(routes[i].pattern, path, NULL))
			continue;
		int w = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", routes[i].method);
		if (w < 0 || (size_t)w >= cap - used)
			break;
		used += (size_t)w;
	}
}

const char *http_params_get(const struct http_params *params, const char *name)
{
	for (size_t i = 0; params && i < params->n; i++)
		if (strcmp(params->p[i].name, name) == 0)
			return params->p[i].value;
	return NULL;
}

const char *http_param(const struct http_request *req, const char *name)
{
	return http_params_get(req->params, name);
}

cr_err http_param_id(const struct http_request *req, const char *name, int64_t *out)
{
	const char *v = http_param(req, name);
	uint64_t id;
	if (v == NULL || cr_parse_u64(v, 1, INT64_MAX, &id) != CR_OK)
		return CR_ERR_NOT_FOUND;
	*out = (int64_t)id;
	return CR_OK;
}
