/*
 * witness_client.c: `cleanroom serve --witness URL,KEY` (witness.h): the
 * service sends its checkpoints to its witnesses and keeps their
 * cosignatures.
 *
 * At start-up each witness is asked for the size it cosigned (an
 * add-checkpoint with old 0, which a witness that already follows us
 * answers 409 with its size). Our log behind that size, or a witness that
 * refuses a consistency proof from it (a fork), stops the start; so does a
 * witness that cannot be reached or does not follow us (fail closed: a
 * witness that is configured must be heard). Then one thread, once a
 * second, sends the latest checkpoint to each witness whose cosigned size
 * is smaller, with a consistency proof from that size (batched: at most
 * one request per second per witness), and stores each verified
 * cosignature line in audit_cosignatures.
 *
 * Storing a cosignature appends no leaf (I5): it changes no state of the
 * clean room, it is evidence about a checkpoint already signed and stored,
 * verifiable by anyone from the row alone; and a leaf would need a new
 * checkpoint, which would need a new cosignature, without end.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanroom/app.h"
#include "cleanroom/witness.h"

#define WITNESS_MAX 16
#define REPLY_MAX 8192

const char witness_schema_v1[] =
	"CREATE TABLE audit_cosignatures ("
	"  size    INTEGER NOT NULL,"
	"  witness TEXT NOT NULL," /* the witness's key name */
	"  line    TEXT NOT NULL," /* the verified cosignature line, with its newline */
	"  time_s  INTEGER NOT NULL,"
	"  PRIMARY KEY (size, witness)"
	") STRICT;";

struct wclient {
	char url[512];
	struct audit_verifier v;
	uint64_t cosigned;
	CURL *curl;
};

struct witness_client {
	size_t n;
	struct wclient w[WITNESS_MAX];
	struct app *a;
	pthread_t thread;
	bool running, stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

cr_err witness_clients_parse(const char *const *specs, size_t n, struct witness_client **out)
{
	struct witness_client *c;
	if (n > WITNESS_MAX)
		return CR_ERR_USAGE;
	c = cr_xcalloc(1, sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		const char *comma = strchr(specs[i], ',');
		size_t ulen = comma ? (size_t)(comma - specs[i]) : 0;
		if (comma == NULL || ulen >= sizeof(c->w[i].url) || strncmp(specs[i], "http", 4) != 0 ||
		    audit_cosig_verifier_parse(comma + 1, strlen(comma + 1), &c->w[i].v) != CR_OK) {
			free(c);
			return CR_ERR_USAGE;
		}
		while (ulen > 0 && specs[i][ulen - 1] == '/')
			ulen--;
		snprintf(c->w[i].url, sizeof(c->w[i].url), "%.*s/add-checkpoint", (int)ulen, specs[i]);
	}
	c->n = n;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	*out = c;
	return CR_OK;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	char *buf = ctx;
	size_t have = strlen(buf), add = size * n;
	if (add >= REPLY_MAX - have)
		return 0;
	memcpy(buf + have, data, add);
	buf[have + add] = '\0';
	return add;
}

/* One add-checkpoint; *status 0 when the witness could not be reached. */
static void post(struct wclient *w, const char *req, size_t len, long *status, char reply[REPLY_MAX])
{
	reply[0] = '\0';
	*status = 0;
	if (w->curl == NULL) {
		w->curl = curl_easy_init();
		if (w->curl == NULL)
			return;
		curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(w->curl, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT, 5L);
		curl_easy_setopt(w->curl, CURLOPT_TIMEOUT, 15L);
		curl_easy_setopt(w->curl, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
		curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, on_body);
	}
	curl_easy_setopt(w->curl, CURLOPT_URL, w->url);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, reply);
	if (curl_easy_perform(w->curl) == CURLE_OK)
		curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, status);
}

/* Keeps the line of `reply` that is w's verified cosignature on `note`. */
static cr_err keep_cosig(struct app *a, struct wclient *w, const char *note, uint64_t size, const char *reply)
{
	size_t nl = strlen(note), rl = strlen(reply);
	char *both = cr_xmalloc(nl + rl + 1);
	char prefix[AUDIT_KEY_NAME_MAX + 8];
	const char *line;
	sqlite3_stmt *st = NULL;
	cr_err rc;

	memcpy(both, note, nl);
	memcpy(both + nl, reply, rl + 1);
	rc = audit_cosig_verify(&w->v, both, nl + rl, NULL);
	free(both);
	if (rc != CR_OK)
		return rc;
	snprintf(prefix, sizeof(prefix), "\xe2\x80\x94 %s ", w->v.name);
	line = strstr(reply, prefix);
	if (line == NULL)
		return CR_ERR_AUDIT_COSIG_MISSING;
	app_store_lock(a);
	if (sqlite3_prepare_v2(a->store->db,
			       "INSERT OR REPLACE INTO audit_cosignatures(size, witness, line, time_s) VALUES (?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = CR_ERR_STORE;
	} else {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
		sqlite3_bind_text(st, 2, w->v.name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, line, (int)(strcspn(line, "\n") + 1), SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
		rc = sqlite3_step(st) == SQLITE_DONE ? CR_OK : CR_ERR_STORE;
	}
	sqlite3_finalize(st);
	app_store_unlock(a);
	return rc;
}

/* The latest note and its size, and a proof from `from` to it (under the lock). */
static cr_err latest(struct app *a, uint64_t from, char **note, uint64_t *size, struct audit_proof *p)
{
	struct audit_checkpoint cp;
	struct audit_verifier v;
	cr_err rc;
	p->n = 0;
	app_store_lock(a);
	rc = audit_log_latest_checkpoint(a->log, note);
	if (rc == CR_OK)
		rc = audit_verifier_from_signer(&a->signer, &v);
	if (rc == CR_OK)
		rc = audit_checkpoint_open(&v, *note, strlen(*note), a->origin, &cp);
	if (rc == CR_OK && from > 0 && from < cp.size)
		rc = audit_log_prove_consistency(a->log, from, cp.size, p);
	app_store_unlock(a);
	if (rc == CR_OK)
		*size = cp.size;
	return rc;
}

/* Sends our latest checkpoint to w from `old`: the status, and on 200 stores it. */
static long send_latest(struct app *a, struct wclient *w, uint64_t old, char reply[REPLY_MAX], uint64_t *size)
{
	struct audit_proof p;
	char *note = NULL, *req;
	size_t len;
	long status = 0;
	if (latest(a, old, &note, size, &p) != CR_OK) {
		free(note);
		return 0;
	}
	if (old > *size) { /* we are behind what it cosigned */
		free(note);
		return -1;
	}
	req = witness_request_format(old, &p, note, &len);
	post(w, req, len, &status, reply);
	if (status == 200 && keep_cosig(a, w, note, *size, reply) == CR_OK)
		w->cosigned = *size;
	else if (status == 200)
		status = 502; /* an answer that is not its cosignature */
	free(req);
	free(note);
	return status;
}

static cr_err parse_size(const char *s, uint64_t *out)
{
	char buf[24];
	size_t n = strcspn(s, "\n");
	if (n == 0 || n >= sizeof(buf))
		return CR_ERR_PARSE;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return cr_parse_u64(buf, 0, INT64_MAX, out);
}

static cr_err startup_one(struct app *a, struct wclient *w, char *why, size_t cap)
{
	char reply[REPLY_MAX];
	uint64_t size = 0, theirs = 0;
	long st = send_latest(a, w, 0, reply, &size);
	if (st == 200)
		return CR_OK; /* it had cosigned nothing of ours: it has now */
	if (st == 409 && parse_size(reply, &theirs) == CR_OK) {
		if (theirs > size) {
			snprintf(why, cap, "witness %s has cosigned %" PRIu64 " entries but this log holds a "
				 "checkpoint of %" PRIu64 ": the log was rolled back", w->v.name, theirs, size);
			return CR_ERR_WITNESS_REFUSED;
		}
		w->cosigned = theirs;
		st = send_latest(a, w, theirs, reply, &size);
		if (st == 200)
			return CR_OK;
		snprintf(why, cap, "witness %s refused this log's checkpoint of %" PRIu64 " from its size %" PRIu64
			 " (HTTP %ld): the log is not an extension of what it cosigned (a fork or a rollback)",
			 w->v.name, size, theirs, st);
		return CR_ERR_WITNESS_REFUSED;
	}
	snprintf(why, cap, "witness %s (%s) %s (HTTP %ld)", w->v.name, w->url,
		 st == 0 ? "cannot be reached" : st == 404 ? "does not follow this log (witness add-log)"
		 : st == 403 ? "does not accept this log's key" : "refused the checkpoint", st);
	return CR_ERR_WITNESS_REFUSED;
}

static void *run(void *arg)
{
	struct witness_client *c = arg;
	char reply[REPLY_MAX];
	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += 1; /* at most one request a second per witness */
		pthread_cond_timedwait(&c->cv, &c->mu, &t);
		if (c->stop)
			break;
		pthread_mutex_unlock(&c->mu);
		for (size_t i = 0; i < c->n; i++) {
			struct wclient *w = &c->w[i];
			uint64_t size = 0, theirs;
			char *note = NULL;
			struct audit_proof p;
			if (latest(c->a, 0, &note, &size, &p) != CR_OK || size <= w->cosigned) {
				free(note);
				continue;
			}
			free(note);
			long st = send_latest(c->a, w, w->cosigned, reply, &size);
			if (st == 409 && parse_size(reply, &theirs) == CR_OK)
				w->cosigned = theirs; /* next second, from its size */
			else if (st != 200)
				fprintf(stderr, "{\"level\":\"warning\",\"message\":\"witness did not cosign\","
						"\"witness\":\"%s\",\"status\":%ld}\n", w->v.name, st);
		}
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

cr_err witness_clients_start(struct witness_client *c, struct app *a, char *why, size_t cap)
{
	c->a = a;
	if (c->n == 0)
		return CR_OK;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (size_t i = 0; i < c->n; i++) {
		cr_err rc = startup_one(a, &c->w[i], why, cap);
		if (rc != CR_OK)
			return rc;
	}
	return CR_OK;
}

cr_err witness_clients_run(struct witness_client *c)
{
	if (c == NULL || c->n == 0 || c->running)
		return CR_OK;
	if (pthread_create(&c->thread, NULL, run, c) != 0)
		return CR_ERR_INTERNAL;
	c->running = true;
	return CR_OK;
}

void witness_clients_halt(struct witness_client *c)
{
	if (c == NULL || !c->running)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	c->running = false;
}

void witness_clients_stop(struct witness_client *c)
{
	if (c == NULL)
		return;
	witness_clients_halt(c);
	for (size_t i = 0; i < c->n; i++)
		if (c->w[i].curl)
			curl_easy_cleanup(c->w[i].curl);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}

cr_err witness_cosigned_checkpoint(struct app *a, char **out)
{
	struct audit_checkpoint cp;
	struct audit_verifier v;
	sqlite3_stmt *st = NULL;
	char *note = NULL;
	cr_err rc = audit_log_latest_checkpoint(a->log, &note);
	if (rc == CR_OK)
		rc = audit_verifier_from_signer(&a->signer, &v);
	if (rc == CR_OK)
		rc = audit_checkpoint_open(&v, note, strlen(note), a->origin, &cp);
	if (rc == CR_OK &&
	    sqlite3_prepare_v2(a->store->db, "SELECT line FROM audit_cosignatures WHERE size = ? ORDER BY witness",
			       -1, &st, NULL) != SQLITE_OK)
		rc = CR_ERR_STORE;
	if (rc == CR_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)cp.size);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *line = (const char *)sqlite3_column_text(st, 0);
			size_t n = strlen(note), m = strlen(line);
			note = cr_xrealloc(note, n + m + 1);
			memcpy(note + n, line, m + 1);
		}
	}
	sqlite3_finalize(st);
	if (rc != CR_OK) {
		free(note);
		return rc;
	}
	*out = note;
	return CR_OK;
}
