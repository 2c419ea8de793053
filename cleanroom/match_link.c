/*
 * match_link.c: the local and remote links of match_link.h.
 *
 * The local link is the in-process service role: it serializes each
 * message as a transport would (the round-1 request and offer as JSON
 * text, elements as 32-byte encodings, the release as JSON text) and
 * counts the bytes, so local and remote report the same traffic. The
 * remote link is a thin adapter over psi_client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanroom/app.h"
#include "cleanroom/collab.h"
#include "cleanroom/match_link.h"
#include "cleanroom/psi_session.h"

/* ------------------------------------------------------------- local */

struct local_link {
	struct match_link base;
	struct app *app;
	struct crypto_pool *pool;
	struct psi_session *session;
};

static char *json_text(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

/* Parses JSON text `s` into a value (new reference) or NULL. */
static json_t *json_of(const char *s)
{
	return s ? json_loads(s, 0, NULL) : NULL;
}

static cr_err local_open(struct match_link *l, const struct psi_open_request *req,
			 struct psi_session_offer *offer, char *why, size_t cap)
{
	struct local_link *k = (struct local_link *)l;
	struct psi_open_request got;
	struct psi_session_offer made;
	char *text = json_text(psi_open_request_to_json(req)), *back = NULL;
	json_t *j = json_of(text);
	cr_err rc = j ? psi_open_request_from_json(j, &got) : CR_ERR_PSI_MESSAGE;
	json_decref(j);
	if (text)
		l->to_service += strlen(text);
	free(text);
	if (rc == CR_OK)
		rc = psi_session_open(k->app, k->pool, &got, NULL, &k->session, &made, why, cap);
	if (rc == CR_OK) {
		back = json_text(psi_offer_to_json(&made));
		j = json_of(back);
		rc = j ? psi_offer_from_json(j, offer) : CR_ERR_NOMEM;
		json_decref(j);
		if (back)
			l->from_service += strlen(back);
		free(back);
	}
	return rc;
}

static cr_err local_blinded(struct match_link *l, const struct psi_elements *b, struct psi_elements *a)
{
	struct local_link *k = (struct local_link *)l;
	cr_err rc;
	l->to_service += (uint64_t)b->count * CRYPTO_PSI_ELEMENT_BYTES;
	rc = psi_session_blinded(k->session, k->app, k->pool, b->bytes, b->count * CRYPTO_PSI_ELEMENT_BYTES,
				 b->count, cr_time_now(), a);
	if (rc == CR_OK)
		l->from_service += (uint64_t)a->count * CRYPTO_PSI_ELEMENT_BYTES;
	return rc;
}

static cr_err local_answer(struct match_link *l, const struct psi_elements *a_prime, char **release)
{
	struct local_link *k = (struct local_link *)l;
	cr_err rc;
	l->to_service += (uint64_t)a_prime->count * CRYPTO_PSI_ELEMENT_BYTES;
	rc = psi_session_answer(k->session, k->app, k->pool, a_prime->bytes,
				a_prime->count * CRYPTO_PSI_ELEMENT_BYTES, a_prime->count, cr_time_now(), release);
	if (*release)
		l->from_service += strlen(*release);
	return rc;
}

static cr_err local_abort(struct match_link *l, cr_err reason)
{
	struct local_link *k = (struct local_link *)l;
	return k->session ? psi_session_abort(k->session, k->app, reason) : CR_OK;
}

static void local_budget_note(struct match_link *l, int64_t collab, char *buf, size_t cap)
{
	struct local_link *k = (struct local_link *)l;
	char left_s[COLLAB_MILLI_STRLEN], budget_s[COLLAB_MILLI_STRLEN];
	struct collab_budget b;
	buf[0] = '\0';
	if (collab_budget_get(k->app->store, collab, &b) != CR_OK)
		return;
	collab_milli_format(b.left_milli, left_s);
	collab_milli_format(b.budget_milli, budget_s);
	snprintf(buf, cap, "budget left %s of %s", left_s, budget_s);
}

static const char *local_detail(const struct match_link *l)
{
	(void)l;
	return "";
}

static void local_free(struct match_link *l)
{
	struct local_link *k = (struct local_link *)l;
	psi_session_free(k->session);
	free(k);
}

static const struct match_link_ops local_ops = {
	local_open, local_blinded, local_answer, local_abort, local_budget_note, local_detail, local_free,
};

struct match_link *match_link_local(struct app *a, struct crypto_pool *pool)
{
	struct local_link *k = cr_xcalloc(1, sizeof(*k));
	k->base.ops = &local_ops;
	k->app = a;
	k->pool = pool;
	return &k->base;
}

/* ------------------------------------------------------------ remote */

struct remote_link {
	struct match_link base;
	struct psi_client *client;
};

static void remote_count(struct match_link *l)
{
	psi_client_traffic(((struct remote_link *)l)->client, &l->to_service, &l->from_service);
}

static cr_err remote_open(struct match_link *l, const struct psi_open_request *req,
			  struct psi_session_offer *offer, char *why, size_t cap)
{
	cr_err rc = psi_client_open(((struct remote_link *)l)->client, req, offer);
	(void)why;
	(void)cap;
	remote_count(l);
	return rc;
}

static cr_err remote_blinded(struct match_link *l, const struct psi_elements *b, struct psi_elements *a)
{
	cr_err rc = psi_client_blinded(((struct remote_link *)l)->client, b, a);
	remote_count(l);
	return rc;
}

static cr_err remote_answer(struct match_link *l, const struct psi_elements *a_prime, char **release)
{
	cr_err rc = psi_client_answer(((struct remote_link *)l)->client, a_prime, release);
	remote_count(l);
	return rc;
}

static cr_err remote_abort(struct match_link *l, cr_err reason)
{
	(void)reason;  /* the service records the partner's DELETE as abandoned */
	return psi_client_abort(((struct remote_link *)l)->client);
}

static void remote_budget_note(struct match_link *l, int64_t collab, char *buf, size_t cap)
{
	json_t *j = NULL;
	buf[0] = '\0';
	if (psi_client_budget(((struct remote_link *)l)->client, collab, &j) == CR_OK)
		snprintf(buf, cap, "budget left %s of %s", json_string_value(json_object_get(j, "left")) ?: "?",
			 json_string_value(json_object_get(j, "budget")) ?: "?");
	json_decref(j);
}

static const char *remote_detail(const struct match_link *l)
{
	return psi_client_detail(((const struct remote_link *)l)->client);
}

static void remote_free(struct match_link *l)
{
	psi_client_free(((struct remote_link *)l)->client);
	free(l);
}

static const struct match_link_ops remote_ops = {
	remote_open, remote_blinded, remote_answer, remote_abort, remote_budget_note, remote_detail, remote_free,
};

struct match_link *match_link_remote(struct psi_client *client)
{
	struct remote_link *r = cr_xcalloc(1, sizeof(*r));
	r->base.ops = &remote_ops;
	r->client = client;
	return &r->base;
}

void match_link_free(struct match_link *l)
{
	if (l == NULL)
		return;
	/* best effort: a session left open expires on the service */
	(void)l->ops->abort(l, CR_ERR_PSI_ABORTED);
	l->ops->free(l);
}
