/*
 * api_web.c: the static pages (web/, embedded at build time): the landing
 * page, the consent center and the audit console as page routes, and their
 * scripts and style sheet under /static/{file}. Public: a page holds no
 * data; everything it shows it fetches from the API, with a link token or
 * an officer token the person brings. Every reply carries the
 * Content-Security-Policy of http.c (default-src 'self', no inline script).
 */
#include <stdlib.h>
#include <string.h>

#include "cleanroom/http.h"
#include "cleanroom/web_assets.h"

/* The page behind each page route. */
static const struct {
	const char *pattern;
	const char *file;
} pages[] = {
	{ "/", "index.html" },
	{ "/consent", "consent.html" },
	{ "/audit", "audit.html" },
};

/* Replies with a copy of the embedded file `name`; CR_ERR_WEB_ASSET if there is none. */
static cr_err asset_reply(const char *name, struct http_reply *rep)
{
	for (size_t i = 0; i < web_asset_count; i++) {
		const struct web_asset *w = &web_assets[i];
		char *body;
		if (strcmp(w->name, name) != 0)
			continue;
		body = cr_xmalloc(w->len + 1);
		memcpy(body, w->data, w->len);
		body[w->len] = '\0';
		http_reply_text(rep, 200, w->content_type, body, w->len);
		return CR_OK;
	}
	return CR_ERR_WEB_ASSET;
}

/* GET /, /consent, /audit (public): the page's HTML. */
cr_err api_web_page(const struct http_request *req, struct http_reply *rep)
{
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (strcmp(req->route->pattern, pages[i].pattern) == 0)
			return asset_reply(pages[i].file, rep);
	return CR_ERR_WEB_ASSET;
}

/* GET /static/{file} (public): a script, style sheet or image; never an HTML page. */
cr_err api_web_static(const struct http_request *req, struct http_reply *rep)
{
	const char *name = http_param(req, "file");
	size_t n = name ? strlen(name) : 0;
	if (n < 5 || strcmp(name + n - 5, ".html") == 0)
		return CR_ERR_WEB_ASSET;
	return asset_reply(name, rep);
}
