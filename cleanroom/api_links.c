/*
 * api_links.c: personal consent links (link.h) and what their holder may
 * do with them.
 *   POST /v1/brands/{brand}/subjects/{digest}/link?id_type=  (brand) issues
 *        a link for one subject, audited as "link.issue";
 *   POST /web/v1/link           (public, the token in the body) what the
 *        consent page shows: the brand, the notice versions the person was
 *        shown and the status of every purpose and recipient;
 *   POST /web/v1/link/withdraw  (public) withdraws one purpose, one
 *        recipient or everything, through the same registry_event as the
 *        API and the CLI: the purge runs in the same transaction (I3) and
 *        the signed receipt comes back (R27). One request, as a grant was
 *        one act (R17).
 * The token travels in the URL fragment and in request bodies, never in a
 * path or query, so no access log or proxy sees it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cleanroom/http.h"
#include "cleanroom/link.h"
#include "cleanroom/ops.h"
#include "cleanroom/requests.h"

#define HOST_MAX 255

/* "link:<16 hex>", the actor and evidence of what a link holder does. */
static void link_label(const struct link_claims *c, char buf[static 32])
{
	char hex[2 * LINK_ID_BYTES + 1];
	sodium_bin2hex(hex, sizeof(hex), c->link_id, LINK_ID_BYTES);
	snprintf(buf, 32, "link:%s", hex);
}

/* Seals the claims with the service's link key (wiped before returning). */
static cr_err link_seal(struct app *a, const struct link_claims *c, char tok[static LINK_TOKEN_MAX + 1])
{
	uint8_t key[LINK_KEY_BYTES];
	cr_err rc = link_key(a->keys, key);
	if (rc == CR_OK)
		rc = link_token_seal(key, c, tok);
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* The "link.issue" leaf, with the subject (committed, never in clear) and the expiry. */
static cr_err link_audit(const struct http_request *req, const struct link_claims *c)
{
	char actor[32], label[32], when[CR_TIME_STRLEN], detail[96];
	struct audit_entry e = { 0 };
	cr_err rc;
	api_actor(req, actor, sizeof(actor), &e.actor_role, &e.actor_id);
	link_label(c, label);
	if (cr_time_format(c->expires, when) != CR_OK)
		when[0] = '\0';
	snprintf(detail, sizeof(detail), "%s expires=%s", label, when);
	e.event_type = "link.issue";
	e.tenant = http_param(req, "brand");
	e.time_ms = cr_time_now();
	e.subject = c->subject.bytes;
	e.detail = detail;
	rc = app_begin(req->app);
	if (rc == CR_OK)
		rc = app_audit(req->app, &e, NULL);
	return app_end(req->app, rc);
}

/* The lifetime asked for in an optional {"ttl_hours": n} body. */
static cr_err link_ttl(const struct http_request *req, int64_t *hours)
{
	static const struct http_field fields[] = {
		{ "ttl_hours", HTTP_JSON_INTEGER, false },
		{ NULL, 0, false },
	};
	json_t *body = NULL, *v;
	cr_err rc;
	*hours = LINK_TTL_DEFAULT_H;
	if (req->body_len == 0)
		return CR_OK;
	rc = http_json_body(req, fields, &body);
	if (rc != CR_OK)
		return rc;
	v = json_object_get(body, "ttl_hours");
	if (v != NULL)
		*hours = json_integer_value(v);
	json_decref(body);
	return *hours >= 1 && *hours <= LINK_TTL_MAX_H ? CR_OK : CR_ERR_LINK_TTL;
}

/* The absolute URL of the page, when the Host header is a plain host[:port]. */
static json_t *link_url(const struct http_request *req, const char *path)
{
	const char *host = http_header(req, "Host");
	char url[HOST_MAX + LINK_TOKEN_MAX + 32];
	if (host == NULL || strlen(host) > HOST_MAX ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") != strlen(host))
		return json_null();
	snprintf(url, sizeof(url), "%s://%s%s", http_request_is_tls(req) ? "https" : "http", host, path);
	return json_string(url);
}

/* POST /v1/brands/{brand}/subjects/{digest}/link?id_type= (brand): 201 {"url","path","link_id","expires"}. */
cr_err api_link_issue(const struct http_request *req, struct http_reply *rep)
{
	struct crypto_pseudonym p[1 + CONSENT_KEY_VERSIONS_MAX];
	struct link_claims c = { 0 };
	char tok[LINK_TOKEN_MAX + 1], path[LINK_TOKEN_MAX + 16], label[32];
	int64_t hours = 0;
	size_t n = 0;
	cr_err rc = api_subject_scope(req, &c.brand, p, &n);
	if (rc == CR_OK)
		rc = link_ttl(req, &hours);
	if (rc != CR_OK)
		return rc;
	randombytes_buf(c.link_id, sizeof(c.link_id));
	c.subject = p[0];
	c.expires = cr_time_now() + hours * 3600 * 1000;
	rc = link_seal(req->app, &c, tok);
	if (rc == CR_OK)
		rc = link_audit(req, &c);
	if (rc != CR_OK)
		return rc;
	snprintf(path, sizeof(path), "/consent#%s", tok);
	link_label(&c, label);
	rc = http_reply_json(rep, 201, json_pack("{s:o,s:s,s:s,s:o}", "url", link_url(req, path), "path", path,
						 "link_id", label + 5, "expires", http_json_time(c.expires)));
	sodium_memzero(tok, sizeof(tok));
	sodium_memzero(path, sizeof(path));
	return rc;
}

/*
 * Reads {"token", and for a withdrawal "purpose"?, "recipient"?} and opens
 * the token. *body (handed over) keeps the other fields.
 */
static cr_err link_body(const struct http_request *req, const struct http_field *fields,
			json_t **body, struct link_claims *c)
{
	uint8_t key[LINK_KEY_BYTES];
	json_t *b = NULL;
	const char *tok;
	cr_err rc = http_client_rate_take(req);
	if (rc == CR_OK)
		rc = http_json_body(req, fields, &b);
	if (rc == CR_OK)
		rc = link_key(req->app->keys, key);
	if (rc == CR_OK) {
		tok = json_string_value(json_object_get(b, "token"));
		rc = link_token_open(key, tok, strlen(tok), cr_time_now(), c);
	}
	sodium_memzero(key, sizeof(key));
	if (rc == CR_OK)
		*body = b;
	else
		json_decref(b);
	return rc;
}

/* The subject's export (R29) as a JSON document; *out a new reference. */
static cr_err subject_doc(struct app *a, const struct link_claims *c, json_t **out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_err rc;
	if (f == NULL)
		return CR_ERR_NOMEM;
	rc = consent_export_subject(a->consent, c->brand, &c->subject, 1, cr_time_now(),
				    consent_write_file, f);
	if (fclose(f) != 0 && rc == CR_OK)
		rc = CR_ERR_IO;
	if (rc == CR_OK) {
		*out = json_loadb(buf, len, 0, NULL);
		rc = *out ? CR_OK : CR_ERR_INTERNAL;
	}
	if (buf)
		sodium_memzero(buf, len);
	free(buf);
	return rc;
}

/* POST /web/v1/link (public): what the consent page shows for the link's subject. */
cr_err api_link_view(const struct http_request *req, struct http_reply *rep)
{
	static const struct http_field fields[] = {
		{ "token", HTTP_JSON_STRING, true },
		{ NULL, 0, false },
	};
	char name[CONSENT_BRAND_NAME_MAX + 1], *notice = NULL;
	struct link_claims c;
	json_t *body = NULL, *doc = NULL, *cur, *out;
	cr_err rc = link_body(req, fields, &body, &c);
	json_decref(body);
	if (rc == CR_OK)
		rc = consent_brand_name(req->app->consent, c.brand, name);
	if (rc == CR_OK)
		rc = subject_doc(req->app, &c, &doc);
	if (rc == CR_OK && consent_notice_get(req->app->consent, c.brand, 0, &notice, NULL) != CR_OK)
		notice = NULL;
	if (rc != CR_OK)
		return rc;
	cur = notice ? json_loads(notice, 0, NULL) : NULL;
	free(notice);
	out = json_pack("{s:s,s:o,s:O?,s:O?,s:o}", "brand", name, "link_expires",
			http_json_time(c.expires), "notices_seen", json_object_get(doc, "notices_seen"),
			"status", json_object_get(doc, "status"), "current_notice", cur ? cur : json_null());
	json_decref(doc);
	return http_reply_json(rep, 200, out);
}

/*
 * The event a link holder makes (a withdrawal, or an objection): the
 * subject's own act over the web channel, effective when received (R18),
 * with the link as evidence.
 */
static void link_event(const json_t *body, const struct link_claims *c, enum consent_event_type type,
		       struct consent_event *ev)
{
	char label[32];
	const char *p = json_string_value(json_object_get(body, "purpose"));
	const char *r = json_string_value(json_object_get(body, "recipient"));
	consent_event_init(ev, type);
	ev->subject = c->subject;
	ev->actor = CONSENT_ACTOR_SUBJECT;
	ev->time = cr_time_now();
	ev->received = ev->time;
	consent_event_source(ev, "web", "link"); /* R24 */
	link_label(c, label);
	snprintf(ev->evidence, sizeof(ev->evidence), "%s", label);
	if (type == CONSENT_EV_WITHDRAW)
		consent_withdraw_scope_set(ev, &p, p != NULL, &r, r != NULL); /* never refused for its form */
}

/*
 * A link holder's act (`type`), stored with its leaf and receipt, and for
 * a rights request (`request_kind`, may be NULL) its entry in the register
 * (R22), answered at once: 201 {"purged_records","duplicate","receipt"}.
 */
static cr_err link_act(const struct http_request *req, struct http_reply *rep, const struct http_field *fields,
		       enum consent_event_type type, const char *request_kind)
{
	struct registry_actor who = { "subject", NULL };
	char label[32], why[CONSENT_WHY_MAX] = "", *receipt = NULL;
	struct consent_event ev;
	struct consent_change ch;
	struct link_claims c;
	json_t *body = NULL, *rj = NULL;
	cr_err rc = link_body(req, fields, &body, &c);
	if (rc == CR_OK)
		link_event(body, &c, type, &ev);
	json_decref(body);
	if (rc != CR_OK)
		return rc;
	link_label(&c, label);
	who.id = label;
	rc = registry_event(req->app, &who, c.brand, &ev, &ch, &receipt, why, sizeof(why));
	if (rc == CR_OK && request_kind != NULL && !ch.duplicate)
		rc = requests_add(req->app, &who, c.brand, request_kind, "consent-center", label, cr_time_now(), true,
				  NULL);
	if (rc == CR_OK && receipt != NULL) {
		rj = json_loads(receipt, 0, NULL);
		rc = rj ? CR_OK : CR_ERR_INTERNAL;
	}
	free(receipt);
	if (rc != CR_OK)
		return rc;
	rc = http_reply_json(rep, ch.duplicate ? 200 : 201,
			     json_pack("{s:I,s:b,s:o}", "purged_records", (json_int_t)req->app->purged_records,
				       "duplicate", ch.duplicate, "receipt", rj ? rj : json_null()));
	req->app->purged_records = 0;
	return rc;
}

/* POST /web/v1/link/withdraw (public): 201 {"purged_records","duplicate","receipt"}. */
cr_err api_link_withdraw(const struct http_request *req, struct http_reply *rep)
{
	static const struct http_field fields[] = {
		{ "token", HTTP_JSON_STRING, true },
		{ "purpose", HTTP_JSON_STRING, false },
		{ "recipient", HTTP_JSON_STRING, false },
		{ NULL, 0, false },
	};
	return link_act(req, rep, fields, CONSENT_EV_WITHDRAW, NULL);
}

/*
 * A request whose body is only {"token"}: the link opened, its label
 * (`label`, 32 bytes) and the subject as the actor (`who`, borrowing it).
 */
static cr_err link_holder(const struct http_request *req, struct link_claims *c, char label[static 32],
			  struct registry_actor *who)
{
	static const struct http_field fields[] = {
		{ "token", HTTP_JSON_STRING, true },
		{ NULL, 0, false },
	};
	json_t *body = NULL;
	cr_err rc = link_body(req, fields, &body, c);
	json_decref(body);
	if (rc != CR_OK)
		return rc;
	link_label(c, label);
	who->id = label;
	return CR_OK;
}

/*
 * POST /web/v1/link/erase (public): the link holder's erasure (GDPR 17,
 * PIPL 47; ops_subject_erase), 200 with what was erased and kept, the
 * withdrawal's receipt and the erasure entry's proof. The link names the
 * subject under the brand's current key only, so pseudonyms under older
 * keys are left to the brand's erasure by digest.
 */
cr_err api_link_erase(const struct http_request *req, struct http_reply *rep)
{
	struct registry_actor who = { "subject", NULL };
	struct link_claims c;
	char label[32];
	json_t *doc = NULL;
	cr_err rc = link_holder(req, &c, label, &who);
	if (rc != CR_OK)
		return rc;
	rc = ops_subject_erase(req->app, &who, c.brand, &c.subject, 1, &doc);
	/* R22: the request, answered at once, in the brand's register */
	if (rc == CR_OK)
		rc = requests_add(req->app, &who, c.brand, "erasure", "consent-center", label, cr_time_now(), true, NULL);
	if (rc != CR_OK) {
		json_decref(doc);
		return rc;
	}
	return http_reply_json(rep, 200, doc);
}

/*
 * POST /web/v1/link/object (public): the link holder's objection to
 * marketing (R21, PIPL 44, GDPR 21): an objection event, the subject's
 * own act over the web, which purges what it forbids in the same
 * transaction; 201 {"purged_records","duplicate","receipt"} as a withdrawal.
 */
cr_err api_link_object(const struct http_request *req, struct http_reply *rep)
{
	static const struct http_field fields[] = {
		{ "token", HTTP_JSON_STRING, true },
		{ NULL, 0, false },
	};
	return link_act(req, rep, fields, CONSENT_EV_OBJECT, "objection");
}

/*
 * POST /web/v1/link/access (public): the link holder's access and
 * portability copy (GDPR 15 and 20, PIPL 45; ops_subject_access): their
 * history with receipts and what the brand holds under their pseudonym,
 * as a JSON document ("cr-subject-access-v1") the page offers as a file.
 */
cr_err api_link_access(const struct http_request *req, struct http_reply *rep)
{
	struct registry_actor who = { "subject", NULL };
	struct link_claims c;
	char label[32];
	json_t *doc = NULL;
	cr_err rc = link_holder(req, &c, label, &who);
	if (rc != CR_OK)
		return rc;
	/* R22: the request in the brand's register, answered by this reply */
	rc = requests_add(req->app, &who, c.brand, "access", "consent-center", label, cr_time_now(), true, NULL);
	if (rc == CR_OK)
		rc = ops_subject_access(req->app, c.brand, &c.subject, 1, &doc);
	if (rc != CR_OK)
		return rc;
	return http_reply_json(rep, 200, doc);
}
