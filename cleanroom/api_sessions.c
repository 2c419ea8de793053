/*
 * api_sessions.c: the match protocol's rounds over HTTP
 * (docs/spec/psi-protocol.md), the service role of psi_session.h behind a
 * partner token.
 *
 *   POST   /v1/collaborations/{id}/sessions           round 1: JSON query -> offer
 *   POST   /v1/sessions/{session}/blinded?elements=N  round 2 -> 4: B -> A (binary)
 *   POST   /v1/sessions/{session}/answer?elements=N   round 5 -> 6: A' -> release (JSON)
 *   GET    /v1/sessions/{session}                     state and expiry
 *   DELETE /v1/sessions/{session}                     the partner gives up (audited)
 *
 * Element lists travel as application/octet-stream, 32 bytes an element;
 * the announced count is checked against the body's length by the session
 * itself, before any group operation. Bodies are spooled to an unnamed
 * file and mapped, so a large round does not sit in the heap twice.
 *
 * A session belongs to the token that opened it: any other caller, the
 * same partner's other tokens included, is told it does not exist. These
 * routes run without the server's store lock (uses_store false): the
 * session takes it only around its store calls (app_store_lock), so a long
 * round's group operations do not stall the rest of the service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cleanroom/http.h"
#include "cleanroom/psi_session.h"

/* Live sessions a server holds at once, per collaboration and per partner
 * (a quarter of the server's: a partner cannot starve the others). */
static const struct psi_session_caps session_caps = { 16, 2, 4 };

static const struct http_field open_fields[] = {
	{ "group_by", HTTP_JSON_STRING, false },
	{ "metrics", HTTP_JSON_STRING, false },
	{ NULL, 0, false },
};

static void token_actor(const struct http_request *req, char *buf, size_t cap)
{
	psi_session_token_actor(req->who->id, buf, cap);
}

/* An optional string field into dst[PSI_QUERY_ARG_MAX] ("" when absent). */
static cr_err arg_field(const json_t *in, const char *name, char *dst)
{
	const char *v = json_string_value(json_object_get(in, name));
	if (v == NULL)
		v = "";
	if (strlen(v) >= PSI_QUERY_ARG_MAX)
		return CR_ERR_PSI_MESSAGE;
	memcpy(dst, v, strlen(v) + 1);
	return CR_OK;
}

/* POST /v1/collaborations/{id}/sessions (partner): 201 the session offer. */
cr_err api_sessions_post(const struct http_request *req, struct http_reply *rep)
{
	struct psi_sessions *t = http_server_sessions(req->server);
	struct psi_session_opts opts = { .actor_role = "partner" };
	struct psi_open_request open;
	struct psi_session_offer offer;
	struct psi_session *s = NULL;
	struct psi_slot slot;
	struct collab c;
	char actor[32], why[256];
	json_t *in = NULL;
	cr_err rc;

	if (t == NULL || http_server_pool(req->server) == NULL)
		return CR_ERR_HTTP_UNAVAILABLE;
	app_store_lock(req->app);
	rc = api_collab_scope(req, &c);
	app_store_unlock(req->app);
	if (rc == CR_OK)
		rc = http_json_body(req, open_fields, &in);
	memset(&open, 0, sizeof(open));
	open.collab_id = c.id;
	if (rc == CR_OK)
		rc = arg_field(in, "group_by", open.group_by);
	if (rc == CR_OK)
		rc = arg_field(in, "metrics", open.metrics);
	json_decref(in);
	if (rc != CR_OK)
		return rc;
	/* Each live session holds the dataset's eligible records: bounded, and
	 * the slot is held before the (slow) open, so racing opens cannot all fit. */
	rc = psi_sessions_hold(t, &session_caps, c.id, c.partner, &slot);
	if (rc != CR_OK)
		return rc;
	token_actor(req, actor, sizeof(actor));
	opts.actor_id = actor;
	rc = psi_session_open(req->app, http_server_pool(req->server), &open, &opts, &s, &offer, why,
			      sizeof(why));
	if (rc != CR_OK) {
		psi_sessions_unhold(t, &slot);
		return rc;  /* refused and audited by the session */
	}
	psi_sessions_add_held(t, &slot, s);
	return http_reply_json(rep, 201, psi_offer_to_json(&offer));
}

/* The caller's session {session}, acquired; CR_ERR_PSI_SESSION_NOT_FOUND otherwise. */
static cr_err session_take(const struct http_request *req, struct psi_session **out)
{
	struct psi_sessions *t = http_server_sessions(req->server);
	const char *id = http_param(req, "session");
	char actor[32];
	struct psi_session *s;
	if (t == NULL)
		return CR_ERR_HTTP_UNAVAILABLE;
	s = id ? psi_sessions_acquire(t, id) : NULL;
	if (s == NULL)
		return CR_ERR_PSI_SESSION_NOT_FOUND;
	token_actor(req, actor, sizeof(actor));
	if (strcmp(psi_session_actor(s), actor) != 0) {
		psi_sessions_release(t, s);
		return CR_ERR_PSI_SESSION_NOT_FOUND;
	}
	*out = s;
	return CR_OK;
}

static void session_give(const struct http_request *req, struct psi_session *s)
{
	psi_sessions_release(http_server_sessions(req->server), s);
}

/* The element list a round carries: the spooled body, mapped read-only. */
struct round_body {
	const uint8_t *bytes;
	size_t len;
	uint64_t announced;
	void *map;
};

static cr_err round_body_map(const struct http_request *req, struct round_body *b)
{
	const char *n = http_query(req, "elements");
	memset(b, 0, sizeof(*b));
	if (!http_media_is(req->content_type, "application/octet-stream"))
		return CR_ERR_HTTP_MEDIA_TYPE;
	if (n == NULL || cr_parse_u64(n, 0, UINT32_MAX, &b->announced) != CR_OK)
		return CR_ERR_HTTP_QUERY;
	b->len = req->body_len;
	if (b->len == 0 || req->upload == NULL)
		return CR_OK;  /* the session refuses the count */
	b->map = mmap(NULL, b->len, PROT_READ, MAP_PRIVATE, fileno(req->upload), 0);
	if (b->map == MAP_FAILED) {
		b->map = NULL;
		return CR_ERR_IO;
	}
	b->bytes = b->map;
	return CR_OK;
}

static void round_body_unmap(struct round_body *b)
{
	if (b->map != NULL)
		munmap(b->map, b->len);
	memset(b, 0, sizeof(*b));
}

/* POST /v1/sessions/{session}/blinded?elements=N (partner): B in, A out. */
cr_err api_session_blinded(const struct http_request *req, struct http_reply *rep)
{
	struct psi_elements a = { NULL, 0 };
	struct psi_session *s = NULL;
	struct round_body b;
	cr_err rc = session_take(req, &s);
	if (rc != CR_OK)
		return rc;
	rc = round_body_map(req, &b);
	if (rc == CR_OK)
		rc = psi_session_blinded(s, req->app, http_server_pool(req->server), b.bytes, b.len, b.announced,
					 cr_time_now(), &a);
	round_body_unmap(&b);
	session_give(req, s);
	if (rc != CR_OK)
		return rc;
	http_reply_text(rep, 200, "application/octet-stream", (char *)a.bytes, a.count * CRYPTO_PSI_ELEMENT_BYTES);
	return CR_OK;
}

/*
 * POST /v1/sessions/{session}/answer?elements=N (partner): A' in, the
 * release out (200 whether it released cells or refused under k or for the
 * budget: the stored answer says which, and what it charged).
 */
cr_err api_session_answer(const struct http_request *req, struct http_reply *rep)
{
	struct psi_session *s = NULL;
	struct round_body b;
	char *json = NULL;
	cr_err rc = session_take(req, &s);
	if (rc != CR_OK)
		return rc;
	rc = round_body_map(req, &b);
	if (rc == CR_OK)
		rc = psi_session_answer(s, req->app, http_server_pool(req->server), b.bytes, b.len, b.announced,
					cr_time_now(), &json);
	round_body_unmap(&b);
	session_give(req, s);
	if (json == NULL)
		return rc == CR_OK ? CR_ERR_INTERNAL : rc;
	http_reply_text(rep, 200, "application/json", json, strlen(json));
	return CR_OK;
}

static json_t *session_json(const struct psi_session *s)
{
	const struct release_result *r = psi_session_result(s);
	json_t *o = json_pack("{s:s, s:I, s:s, s:o}", "session", psi_session_id(s), "collaboration",
			      (json_int_t)psi_session_collab(s), "state", psi_state_name(psi_session_state(s)),
			      "expires", http_json_time(psi_session_expires(s)));
	if (o != NULL && r != NULL && r->release_id > 0)
		json_object_set_new(o, "release", json_integer(r->release_id));
	return o;
}

/* GET /v1/sessions/{session} (partner). */
cr_err api_session_get(const struct http_request *req, struct http_reply *rep)
{
	struct psi_session *s = NULL;
	json_t *o;
	cr_err rc = session_take(req, &s);
	if (rc != CR_OK)
		return rc;
	o = session_json(s);
	session_give(req, s);
	return http_reply_json(rep, 200, o);
}

/* DELETE /v1/sessions/{session} (partner): ends a live session, audited; an ended one stays as it is. */
cr_err api_session_delete(const struct http_request *req, struct http_reply *rep)
{
	struct psi_session *s = NULL;
	json_t *o = NULL;
	cr_err rc = session_take(req, &s);
	if (rc != CR_OK)
		return rc;
	rc = psi_session_abort(s, req->app, CR_ERR_PSI_ABORTED);
	if (rc == CR_OK)
		o = session_json(s);
	session_give(req, s);
	return rc == CR_OK ? http_reply_json(rep, 200, o) : rc;
}
