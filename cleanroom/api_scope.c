/*
 * api_scope.c: tenancy for the brand routes. A brand token acts only on the
 * brand its tenant names and an officer reads only that brand; the check
 * comes before the brand is looked up, so a refused caller learns nothing,
 * not even whether the brand exists, and nothing has been touched. A
 * collaboration is seen by its brand's tokens (brand, officer) and its
 * partner's; to anyone else it does not exist (404, never 403, so ids
 * cannot be probed).
 */
#include <stdio.h>
#include <string.h>

#include "cleanroom/collab.h"
#include "cleanroom/http.h"
#include "cleanroom/registry.h"

cr_err api_brand_scope(const struct http_request *req, int64_t *id)
{
	const char *brand = http_param(req, "brand");
	if (brand == NULL)
		return CR_ERR_NOT_FOUND;
	if (!auth_may_act_on(req->who, brand))
		return CR_ERR_AUTH_TENANT;
	return registry_brand(req->app, brand, id);
}

cr_err api_collab_scope(const struct http_request *req, struct collab *out)
{
	char brand[CONSENT_BRAND_NAME_MAX + 1];
	const char *owner = NULL;
	int64_t id = 0;
	cr_err rc = http_param_id(req, "id", &id);
	if (rc == CR_OK)
		rc = collab_get(req->app->store, id, out);
	if (rc != CR_OK)
		return CR_ERR_COLLAB_NOT_FOUND;
	if (req->who->role == AUTH_ROLE_PARTNER) {
		owner = out->partner;
	} else if (req->who->role == AUTH_ROLE_BRAND || req->who->role == AUTH_ROLE_OFFICER) {
		if (consent_brand_name(req->app->consent, out->brand_id, brand) != CR_OK)
			return CR_ERR_COLLAB_NOT_FOUND;
		owner = brand;
	}
	if (owner == NULL || strcmp(req->who->tenant, owner) != 0)
		return CR_ERR_COLLAB_NOT_FOUND;
	return CR_OK;
}

void api_actor(const struct http_request *req, char *buf, size_t cap, const char **role,
	       const char **id)
{
	snprintf(buf, cap, "token:%lld", (long long)req->who->id);
	*role = auth_role_name(req->who->role);
	*id = buf;
}
