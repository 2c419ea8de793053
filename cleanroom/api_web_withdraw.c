/*
 * api_web_withdraw.c: POST /web/v1/withdraw, the consent center's form for
 * a person without a link. The page normalizes and hashes the email or
 * phone in the browser (docs/spec/identifiers.md, WebCrypto SHA-256) and sends
 * only {"brand","id_type","digest"}; the service withdraws everything for
 * that subject (R17: an email was all the grant needed, so it is all the
 * withdrawal needs).
 *
 * The answer must not tell who is a customer, or the form becomes a
 * membership oracle. So the service does the same work whether or not the
 * brand knows the person: it always records the withdrawal (for a stranger
 * it purges nothing and leaves only a keyed pseudonym on the suppression
 * list, which also keeps a later upload of that person out, R33), always
 * answers 202 with the same body shape, and pads every answer to the same
 * minimum time outside the store lock, so neither status, body nor timing
 * differ. The receipt in the answer names no pseudonym, and the audit leaf
 * its proof quotes carries no purge count (that goes to a separate
 * consent.purge leaf only the brand's tokens read). Only an unknown brand is said so (404): brand names are public,
 * people are not. Rate-limited per client address (http_client_rate_take).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanroom/http.h"
#include "cleanroom/ops.h"

/* Every answer takes at least this long, whoever the subject is. */
#define WEB_WITHDRAW_FLOOR_MS 250

static const struct registry_actor web_actor = { "subject", "web:form" };

/* Sleeps until `start_ms` (monotonic) + the floor, whoever the subject was. */
static void api_withdraw_pad(int64_t start_ms)
{
	int64_t left = start_ms + WEB_WITHDRAW_FLOOR_MS - cr_monotonic_ms();
	struct timespec ts;
	if (left <= 0)
		return;
	ts.tv_sec = left / 1000;
	ts.tv_nsec = (long)(left % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
}

cr_err api_withdraw_everything(struct app *a, const struct registry_actor *who, int64_t brand,
			       const char *digest, const char *id_type, const char *channel,
			       const char *method, char **receipt)
{
	char why[CONSENT_WHY_MAX] = "";
	struct consent_event ev;
	struct consent_change ch;
	uint64_t index = 0;
	cr_err rc;
	consent_event_init(&ev, CONSENT_EV_WITHDRAW);
	rc = registry_subject(a, brand, digest, id_type, &ev.subject, ev.aliases, &ev.n_aliases);
	if (rc != CR_OK)
		return rc;
	ev.actor = CONSENT_ACTOR_SUBJECT;
	ev.time = cr_time_now();
	ev.received = ev.time;
	consent_event_source(&ev, channel, method); /* R24 */
	rc = registry_record(a, who, brand, &ev, &ch, &index, why, sizeof(why));
	a->purged_records = 0;
	/* The reply goes to whoever typed the address: its receipt names no
	 * pseudonym, and its proof quotes a leaf without the purge count (I9). */
	if (rc == CR_OK)
		rc = registry_receipt(a, brand, &ch, index, CONSENT_RECEIPT_WITHHOLD_SUBJECT, receipt);
	return rc;
}

cr_err api_withdraw_form(const struct http_request *req, bool with_brand, json_t **out)
{
	static const struct http_field fields[] = {
		{ "brand", HTTP_JSON_STRING, true },
		{ "id_type", HTTP_JSON_STRING, true },
		{ "digest", HTTP_JSON_STRING, true },
		{ NULL, 0, false },
	};
	const char *digest, *id_type;
	json_t *b = NULL;
	cr_err rc = http_json_body(req, with_brand ? fields : fields + 1, &b);
	if (rc != CR_OK)
		return rc;
	digest = json_string_value(json_object_get(b, "digest"));
	id_type = json_string_value(json_object_get(b, "id_type"));
	if (strlen(digest) != 64 || strspn(digest, "0123456789abcdef") != 64)
		rc = CR_ERR_JSON_TYPE;
	else if (strcmp(id_type, "email") != 0 && strcmp(id_type, "phone") != 0)
		rc = CR_ERR_ID_TYPE;
	if (rc == CR_OK)
		*out = b;
	else
		json_decref(b);
	return rc;
}

cr_err api_withdraw_reply(struct http_reply *rep, cr_err rc, char *receipt, int64_t start_ms)
{
	json_t *rj = NULL;
	if (rc == CR_OK && receipt != NULL) {
		rj = json_loads(receipt, 0, NULL);
		rc = rj ? CR_OK : CR_ERR_INTERNAL;
	}
	free(receipt);
	api_withdraw_pad(start_ms);
	if (rc != CR_OK)
		return rc;
	return http_reply_json(rep, 202, json_pack("{s:s,s:o}", "status", "received", "receipt",
						   rj ? rj : json_null()));
}

/* POST /web/v1/withdraw (public): 202 {"status":"received","receipt"} for any subject. */
cr_err api_web_withdraw(const struct http_request *req, struct http_reply *rep)
{
	int64_t start = cr_monotonic_ms(), brand = 0;
	char *receipt = NULL;
	json_t *body = NULL;
	cr_err rc = http_client_rate_take(req);
	if (rc == CR_OK)
		rc = api_withdraw_form(req, true, &body);
	if (rc != CR_OK)
		return rc;
	app_store_lock(req->app);
	rc = registry_brand(req->app, json_string_value(json_object_get(body, "brand")), &brand);
	if (rc == CR_OK)
		rc = api_withdraw_everything(req->app, &web_actor, brand,
					     json_string_value(json_object_get(body, "digest")),
					     json_string_value(json_object_get(body, "id_type")), "web",
					     "web_form", &receipt);
	app_store_unlock(req->app);
	json_decref(body);
	return api_withdraw_reply(rep, rc, receipt, start);
}
