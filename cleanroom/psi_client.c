/*
 * psi_client.c: the match routes over HTTPS with libcurl (psi_client.h).
 *
 * One easy handle per client, reused across the rounds so they share one
 * TLS connection. Request bodies are sent from the caller's buffers;
 * response bodies grow into a buffer capped at what the round can
 * legitimately carry (|A| elements for round 4, a few MiB of JSON
 * otherwise), so a misbehaving server cannot make the partner allocate
 * without bound. The Authorization header is built in a buffer that is
 * wiped after every request.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "cleanroom/psi_client.h"

#define JSON_REPLY_MAX ((size_t)16 << 20)
#define URL_MAX 1024

struct psi_client {
	CURL *curl;
	char base[URL_MAX];
	char *auth;                  /* "Authorization: Bearer T" (sodium_malloc'd) */
	size_t auth_len;
	struct psi_session_offer offer;  /* of the open session ("" session: none) */
	int64_t collab;
	uint64_t sent, received;
	char detail[CURL_ERROR_SIZE + 160];
	char curl_err[CURL_ERROR_SIZE];
};

/* A response body, capped. */
struct reply_buf {
	uint8_t *bytes;
	size_t len, cap, max;
	bool overflow;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct reply_buf *b = ctx;
	size_t add = size * n;
	if (add > b->max - b->len) {
		b->overflow = true;
		return 0;  /* curl aborts the transfer */
	}
	if (b->len + add + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + add + 1)
			cap *= 2;
		b->bytes = cr_xrealloc(b->bytes, cap);
		b->cap = cap;
	}
	memcpy(b->bytes + b->len, data, add);
	b->len += add;
	b->bytes[b->len] = '\0';
	return add;
}

cr_err psi_client_new(const struct psi_client_opts *o, struct psi_client **out)
{
	struct psi_client *c;
	size_t n;
	bool https, http;

	*out = NULL;
	if (o == NULL || o->url == NULL || o->token == NULL || o->token[0] == '\0')
		return CR_ERR_USAGE;
	https = strncmp(o->url, "https://", 8) == 0;
	http = strncmp(o->url, "http://", 7) == 0;
	n = strlen(o->url);
	while (n > 0 && o->url[n - 1] == '/')
		n--;
	if (!(https || (http && o->allow_http)) || n >= URL_MAX || n <= 8)
		return CR_ERR_USAGE;
	for (const char *p = o->token; *p; p++)
		if (!isgraph((unsigned char)*p))
			return CR_ERR_USAGE;  /* would break the header */
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK || sodium_init() < 0)
		return CR_ERR_REMOTE;
	c = cr_xcalloc(1, sizeof(*c));
	memcpy(c->base, o->url, n);
	c->auth_len = strlen("Authorization: Bearer ") + strlen(o->token) + 1;
	c->auth = sodium_malloc(c->auth_len);
	c->curl = curl_easy_init();
	if (c->auth == NULL || c->curl == NULL) {
		psi_client_free(c);
		return CR_ERR_NOMEM;
	}
	snprintf(c->auth, c->auth_len, "Authorization: Bearer %s", o->token);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err);
	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, o->allow_http ? "https,http" : "https");
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s > 0 ? o->connect_timeout_s : 10L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 15L * 60);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "cleanroom-partner");
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	if (o->cacert != NULL)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, o->cacert);
	*out = c;
	return CR_OK;
}

void psi_client_free(struct psi_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	sodium_free(c->auth);  /* zeroes before freeing; accepts NULL */
	free(c);
}

const char *psi_client_detail(const struct psi_client *c)
{
	return c->detail;
}

void psi_client_traffic(const struct psi_client *c, uint64_t *sent, uint64_t *received)
{
	*sent = c->sent;
	*received = c->received;
}

/* The project's code for the service's error code string; CR_ERR_REMOTE if unknown. */
static cr_err code_of(const char *name)
{
	cr_err e;
	return cr_errcode_parse(name, &e) ? e : CR_ERR_REMOTE;
}

/* A non-2xx reply: the service's error, or CR_ERR_REMOTE when it is not one. */
static cr_err reply_error(struct psi_client *c, long status, const struct reply_buf *b)
{
	json_t *j = b->len ? json_loadb((const char *)b->bytes, b->len, 0, NULL) : NULL;
	json_t *err = json_object_get(j, "error");
	const char *code = json_string_value(json_object_get(err, "code"));
	const char *msg = json_string_value(json_object_get(err, "message"));
	cr_err rc = code_of(code);
	bool same = msg != NULL && rc != CR_ERR_REMOTE && strcmp(msg, cr_strerror(rc)) == 0;
	snprintf(c->detail, sizeof(c->detail), "the service answered HTTP %ld%s%.120s", status,
		 msg && !same ? ": " : "", msg && !same ? msg : "");
	json_decref(j);
	return rc;
}

/* The failure of curl_easy_perform, in the project's terms. */
static cr_err transport_error(struct psi_client *c, CURLcode cc, const struct reply_buf *b)
{
	if (b->overflow) {
		snprintf(c->detail, sizeof(c->detail), "the service's reply exceeds %zu bytes", b->max);
		return CR_ERR_REMOTE;
	}
	snprintf(c->detail, sizeof(c->detail), "%.160s: %.200s", c->base,
		 c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc));
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
		return CR_ERR_REMOTE_TLS;
	default:
		return CR_ERR_REMOTE;
	}
}

/*
 * One request: `method` on base + path, with the body (type, bytes, len)
 * if any; the reply lands in *b (capped at max) and must have status 200
 * or 201. The Authorization header is built for this request and wiped.
 */
static cr_err request(struct psi_client *c, const char *method, const char *path, const char *type,
		      const void *body, size_t len, size_t max, struct reply_buf *b)
{
	char url[URL_MAX + 256], ctype[96];
	struct curl_slist *h = NULL;
	long status = 0;
	CURLcode cc;
	cr_err rc;

	memset(b, 0, sizeof(*b));
	b->max = max;
	c->detail[0] = c->curl_err[0] = '\0';
	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->base, path) >= sizeof(url))
		return CR_ERR_USAGE;
	h = curl_slist_append(h, c->auth);
	h = curl_slist_append(h, "Accept: application/json, application/octet-stream");
	if (type != NULL) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", type);
		h = curl_slist_append(h, ctype);
	}
	if (h == NULL)
		cr_die("psi_client: out of memory");
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, NULL);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	}
	cc = curl_easy_perform(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	/* curl_slist_free_all does not wipe: clear the copy of the token first */
	sodium_memzero(h->data, strlen(h->data));
	curl_slist_free_all(h);
	if (cc != CURLE_OK)
		return transport_error(c, cc, b);
	c->sent += len;
	c->received += b->len;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200 || status == 201)
		return CR_OK;
	rc = reply_error(c, status, b);
	free(b->bytes);
	memset(b, 0, sizeof(*b));
	return rc;
}

/* A JSON reply's object (new reference), or CR_ERR_REMOTE. */
static cr_err reply_json(struct psi_client *c, struct reply_buf *b, json_t **out)
{
	*out = json_loadb((const char *)b->bytes, b->len, 0, NULL);
	free(b->bytes);
	memset(b, 0, sizeof(*b));
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		snprintf(c->detail, sizeof(c->detail), "the service's reply is not a JSON object");
		return CR_ERR_REMOTE;
	}
	return CR_OK;
}

cr_err psi_client_open(struct psi_client *c, const struct psi_open_request *req,
		       struct psi_session_offer *offer)
{
	char path[64], *text = NULL;
	struct reply_buf b;
	json_t *in, *j = NULL;
	cr_err rc;

	memset(offer, 0, sizeof(*offer));
	memset(&c->offer, 0, sizeof(c->offer));
	in = json_object();
	if (req->group_by[0])
		json_object_set_new(in, "group_by", json_string(req->group_by));
	if (req->metrics[0])
		json_object_set_new(in, "metrics", json_string(req->metrics));
	text = json_dumps(in, JSON_COMPACT);
	json_decref(in);
	if (text == NULL)
		return CR_ERR_NOMEM;
	snprintf(path, sizeof(path), "/v1/collaborations/%lld/sessions", (long long)req->collab_id);
	rc = request(c, "POST", path, "application/json", text, strlen(text), JSON_REPLY_MAX, &b);
	free(text);
	if (rc == CR_OK)
		rc = reply_json(c, &b, &j);
	if (rc == CR_OK && psi_offer_from_json(j, offer) != CR_OK) {
		snprintf(c->detail, sizeof(c->detail), "the service's session offer is malformed");
		rc = CR_ERR_PSI_MESSAGE;
	}
	json_decref(j);
	if (rc == CR_OK) {
		c->offer = *offer;
		c->collab = req->collab_id;
	}
	return rc;
}

cr_err psi_client_blinded(struct psi_client *c, const struct psi_elements *b_in,
			  struct psi_elements *a_out)
{
	char path[128];
	struct reply_buf b;
	cr_err rc;

	memset(a_out, 0, sizeof(*a_out));
	if (c->offer.session[0] == '\0')
		return CR_ERR_PSI_SESSION_STATE;
	snprintf(path, sizeof(path), "/v1/sessions/%s/blinded?elements=%zu", c->offer.session, b_in->count);
	/* round 4 carries exactly |A| elements; a little more lets a wrong length reach the check */
	rc = request(c, "POST", path, "application/octet-stream", b_in->bytes,
		     b_in->count * CRYPTO_PSI_ELEMENT_BYTES,
		     (size_t)c->offer.elements * CRYPTO_PSI_ELEMENT_BYTES + CRYPTO_PSI_ELEMENT_BYTES, &b);
	if (rc != CR_OK) {
		/* a refusal ended the session there; a lost one expires there */
		c->offer.session[0] = '\0';
		return rc;
	}
	if (b.len % CRYPTO_PSI_ELEMENT_BYTES != 0) {
		free(b.bytes);
		snprintf(c->detail, sizeof(c->detail), "the service's round 4 is not whole elements");
		return CR_ERR_PSI_COUNT;
	}
	a_out->bytes = b.bytes;  /* handed over */
	a_out->count = b.len / CRYPTO_PSI_ELEMENT_BYTES;
	return CR_OK;
}

cr_err psi_client_answer(struct psi_client *c, const struct psi_elements *a_prime, char **release_json)
{
	char path[128];
	struct reply_buf b;
	cr_err rc;

	*release_json = NULL;
	if (c->offer.session[0] == '\0')
		return CR_ERR_PSI_SESSION_STATE;
	snprintf(path, sizeof(path), "/v1/sessions/%s/answer?elements=%zu", c->offer.session, a_prime->count);
	rc = request(c, "POST", path, "application/octet-stream", a_prime->bytes,
		     a_prime->count * CRYPTO_PSI_ELEMENT_BYTES, JSON_REPLY_MAX, &b);
	c->offer.session[0] = '\0';  /* answered, refused or lost: the session is over */
	if (rc != CR_OK)
		return rc;
	if (b.bytes == NULL)
		b.bytes = (uint8_t *)cr_xstrdup("");
	*release_json = (char *)b.bytes;  /* NUL-terminated by on_body */
	return CR_OK;
}

cr_err psi_client_abort(struct psi_client *c)
{
	char path[96];
	struct reply_buf b;
	cr_err rc;
	if (c->offer.session[0] == '\0')
		return CR_OK;
	snprintf(path, sizeof(path), "/v1/sessions/%s", c->offer.session);
	rc = request(c, "DELETE", path, NULL, NULL, 0, JSON_REPLY_MAX, &b);
	free(b.bytes);
	c->offer.session[0] = '\0';
	return rc;
}

cr_err psi_client_budget(struct psi_client *c, int64_t collab, json_t **ledger)
{
	char path[96];
	struct reply_buf b;
	cr_err rc;
	*ledger = NULL;
	snprintf(path, sizeof(path), "/v1/collaborations/%lld/budget", (long long)collab);
	rc = request(c, "GET", path, NULL, NULL, 0, JSON_REPLY_MAX, &b);
	return rc == CR_OK ? reply_json(c, &b, ledger) : rc;
}
