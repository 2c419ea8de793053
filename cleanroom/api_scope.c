/*
 * api_scope.c: tenancy for the brand routes. A brand token acts only on the
 * brand its tenant names and an officer reads only that brand; the check
 * comes before the brand is looked up, so a refused caller learns nothing,
 * not even whether the brand exists, and nothing has been touched.
 */
#include <stdio.h>
#include <string.h>

#include "cleanroom/http.h"
#include "cleanroom/registry.h"

cr_err api_brand_scope(const struct http_request *req, int64_t *id)
{
	const char *brand = http_param(req, "brand");
	if (brand == NULL)
		return CR_ERR_NOT_FOUND;
	if (req->who->role != AUTH_ROLE_ADMIN && strcmp(req->who->tenant, brand) != 0)
		return CR_ERR_AUTH_TENANT;
	return registry_brand(req->app, brand, id);
}

void api_actor(const struct http_request *req, char *buf, size_t cap, const char **role,
	       const char **id)
{
	snprintf(buf, cap, "token:%lld", (long long)req->who->id);
	*role = auth_role_name(req->who->role);
	*id = buf;
}
