/*
 * web_assets.h: the static pages of web/ (consent center, audit console),
 * embedded into the binary at build time by scripts/embed-web.sh (internal
 * to cleanroom/). Every file is served by name under /static/ or as a page
 * route (api_web.c); nothing is read from disk at run time.
 */
#ifndef CR_CLEANROOM_WEB_ASSETS_H
#define CR_CLEANROOM_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *name;          /* the file's name in web/, e.g. "consent.js" */
	const char *content_type;  /* static string */
	const unsigned char *data; /* len bytes (plus a NUL not counted) */
	size_t len;
};

/* The generated table (build/.../gen/web_assets.c). */
extern const struct web_asset web_assets[];
extern const size_t web_asset_count;

#endif
