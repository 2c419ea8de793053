/*
 * api_partner_withdraw.c: POST /v1/collaborations/{id}/withdrawals, a
 * withdrawal a partner received from a person and passes on to the brand
 * it collaborates with (R23). The partner sends what the brand's own routes
 * take, the subject as the SHA-256 digest of the normalized identifier
 * ({"id_type","digest"}), through its own token; the collaboration names
 * the brand. It is honoured like any other withdrawal: every purpose (R17),
 * the purge at once (R19, I3), the suppression list (R33) and the audit
 * leaf, with the event's channel "partner:<partner>" and method
 * "partner_relay" (R24), so the brand sees where it came from.
 *
 * The partner must learn nothing of the brand's customers from it: the
 * work is the consent center form's (api_withdraw_everything: a stranger's
 * withdrawal is recorded all the same), the answer is 202 with the same
 * shape and a receipt naming no pseudonym, and every answer is padded to
 * the same floor. A partner that is not the collaboration's gets 404, as
 * for every collaboration route (api_collab_scope), before anything is
 * read or written.
 */
#include <stdio.h>

#include "cleanroom/collab.h"
#include "cleanroom/http.h"

cr_err api_partner_withdraw(const struct http_request *req, struct http_reply *rep)
{
	int64_t start = cr_monotonic_ms();
	struct registry_actor who;
	struct collab c;
	char actor[32], channel[CONSENT_FIELD_MAX + 1], *receipt = NULL;
	json_t *body = NULL;
	cr_err rc = api_withdraw_form(req, false, &body);

	if (rc != CR_OK)
		return rc;
	api_actor(req, actor, sizeof(actor), &who.role, &who.id);
	snprintf(channel, sizeof(channel), "partner:%.56s", req->who->tenant);
	app_store_lock(req->app);
	rc = api_collab_scope(req, &c);
	if (rc == CR_OK)
		rc = api_withdraw_everything(req->app, &who, c.brand_id,
					     json_string_value(json_object_get(body, "digest")),
					     json_string_value(json_object_get(body, "id_type")), channel,
					     "partner_relay", &receipt);
	app_store_unlock(req->app);
	json_decref(body);
	return api_withdraw_reply(rep, rc, receipt, start);
}
