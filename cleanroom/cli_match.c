/*
 * cli_match.c: `cleanroom match --collab C --ids FILE` in local mode: both
 * roles of spec/psi-protocol.md in one process, through the same code and
 * checks a remote match uses. The two roles meet only through struct
 * match_wire, the messages a transport carries: the round-1 request and
 * offer travel as JSON text, the element lists as byte buffers, the release
 * as JSON text. The partner role (psi_partner.c) reads only the --ids file
 * and those messages, and what is printed comes from the release the
 * partner received, so a remote client (issue 7) prints the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanroom/app.h"
#include "cleanroom/cli.h"
#include "cleanroom/collab.h"
#include "cleanroom/psi_partner.h"
#include "cleanroom/psi_session.h"

static const char *const VERB = "match";

/* The messages of one match, exactly as a transport carries them. */
struct match_wire {
	char *open_json;            /* round 1 request (JSON text) */
	char *offer_json;           /* round 1 reply (JSON text) */
	struct psi_elements b;      /* round 2 */
	struct psi_elements a;      /* round 4 */
	struct psi_elements a_prime;/* round 5 */
	char *release;              /* round 6 (JSON text) */
	uint64_t to_service, from_service;  /* bytes carried each way */
};

static void wire_release(struct match_wire *w)
{
	free(w->open_json);
	free(w->offer_json);
	psi_elements_release(&w->b);
	psi_elements_release(&w->a);
	psi_elements_release(&w->a_prime);
	free(w->release);
	memset(w, 0, sizeof(*w));
}

/* Everything one local match holds. */
struct match_run {
	struct app *app;
	struct crypto_pool *pool;
	struct psi_session *session;    /* service role */
	struct psi_partner *partner;    /* partner role */
	struct match_wire wire;
	struct psi_partner_report list;
	uint64_t min_set, max_set;      /* the offer's partner-set limits */
	json_t *release;                /* as the partner parsed it */
	int64_t ms[6];                  /* phase timings */
	char why[512];
};

enum { T_OPEN, T_LOAD, T_BLIND, T_SERVICE_B, T_ANSWER, T_RELEASE };
static const char *const phase_names[] = { "open", "load_list", "blind", "service_b", "answer", "release" };

/* ------------------------------------------------------- the two roles */

static char *json_text(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

/* Round 1 on the service side: the request arrives as JSON text. */
static cr_err service_open(struct match_run *m)
{
	struct psi_open_request req;
	struct psi_session_offer offer;
	json_t *j = json_loads(m->wire.open_json, 0, NULL);
	cr_err rc = j ? psi_open_request_from_json(j, &req) : CR_ERR_PSI_MESSAGE;
	json_decref(j);
	m->wire.to_service += strlen(m->wire.open_json);
	if (rc == CR_OK)
		rc = psi_session_open(m->app, m->pool, &req, NULL, &m->session, &offer, m->why, sizeof(m->why));
	if (rc == CR_OK) {
		m->wire.offer_json = json_text(psi_offer_to_json(&offer));
		rc = m->wire.offer_json ? CR_OK : CR_ERR_NOMEM;
	}
	if (rc == CR_OK)
		m->wire.from_service += strlen(m->wire.offer_json);
	return rc;
}

/* Round 1 on the partner side: the offer arrives as JSON text. */
static cr_err partner_start(struct match_run *m)
{
	struct psi_session_offer offer;
	json_t *j = json_loads(m->wire.offer_json, 0, NULL);
	cr_err rc = j ? psi_offer_from_json(j, &offer) : CR_ERR_PSI_MESSAGE;
	json_decref(j);
	m->min_set = offer.min_set;
	m->max_set = offer.max_set;
	return rc == CR_OK ? psi_partner_new(&offer, &m->partner) : rc;
}

static cr_err partner_load(struct match_run *m, const char *path, const struct crypto_id_opts *id_opts)
{
	char err[256] = "";
	FILE *f = fopen(path, "rb");
	cr_err rc;
	if (f == NULL) {
		snprintf(m->why, sizeof(m->why), "cannot read '%.400s'", path);
		return CR_ERR_IO;
	}
	rc = psi_partner_load(m->partner, f, path, id_opts, &m->list, err, sizeof(err));
	fclose(f);
	if (rc != CR_OK)
		snprintf(m->why, sizeof(m->why), "%.200s%s%.250s", path, err[0] ? ": " : "", err);
	return rc;
}

static int64_t tick(struct match_run *m, int phase, int64_t t0)
{
	int64_t now = cr_monotonic_ms();
	m->ms[phase] = now - t0;
	return now;
}

/* Rounds 2 to 6, alternating roles over the wire. */
static cr_err exchange(struct match_run *m, int64_t t)
{
	struct match_wire *w = &m->wire;
	cr_err rc = psi_partner_blind(m->partner, m->pool, &w->b);
	t = tick(m, T_BLIND, t);
	if (rc != CR_OK) {
		snprintf(m->why, sizeof(m->why), "%llu distinct identifiers, the rule accepts %llu to %llu",
			 (unsigned long long)m->list.distinct, (unsigned long long)m->min_set,
			 (unsigned long long)m->max_set);
		/* the partner gives up before sending: the service ends the session */
		return psi_session_abort(m->session, m->app, rc) == CR_OK ? rc : CR_ERR_STORE;
	}
	w->to_service += (uint64_t)w->b.count * CRYPTO_PSI_ELEMENT_BYTES;
	rc = psi_session_blinded(m->session, m->app, m->pool, w->b.bytes,
				 w->b.count * CRYPTO_PSI_ELEMENT_BYTES, w->b.count, cr_time_now(), &w->a);
	psi_elements_release(&w->b);
	t = tick(m, T_SERVICE_B, t);
	if (rc != CR_OK)
		return rc;
	w->from_service += (uint64_t)w->a.count * CRYPTO_PSI_ELEMENT_BYTES;
	rc = psi_partner_answer(m->partner, m->pool, w->a.bytes, w->a.count * CRYPTO_PSI_ELEMENT_BYTES,
				&w->a_prime);
	psi_elements_release(&w->a);
	t = tick(m, T_ANSWER, t);
	if (rc != CR_OK)
		return psi_session_abort(m->session, m->app, rc) == CR_OK ? rc : CR_ERR_STORE;
	w->to_service += (uint64_t)w->a_prime.count * CRYPTO_PSI_ELEMENT_BYTES;
	rc = psi_session_answer(m->session, m->app, m->pool, w->a_prime.bytes,
				w->a_prime.count * CRYPTO_PSI_ELEMENT_BYTES, w->a_prime.count, cr_time_now(),
				&w->release);
	psi_elements_release(&w->a_prime);
	if (w->release) {
		cr_err prc;
		w->from_service += strlen(w->release);
		prc = psi_partner_release(m->partner, w->release, strlen(w->release), &m->release);
		if (prc != CR_OK)
			rc = prc;
	}
	tick(m, T_RELEASE, t);
	return rc;
}

static cr_err run_match(struct match_run *m, int64_t collab, const char *group_by, const char *metrics,
			const char *ids, const struct crypto_id_opts *id_opts)
{
	struct psi_open_request req;
	int64_t t = cr_monotonic_ms();
	cr_err rc;
	memset(&req, 0, sizeof(req));
	req.collab_id = collab;
	snprintf(req.group_by, sizeof(req.group_by), "%s", group_by ? group_by : "");
	snprintf(req.metrics, sizeof(req.metrics), "%s", metrics ? metrics : "");
	m->wire.open_json = json_text(psi_open_request_to_json(&req));
	rc = m->wire.open_json ? service_open(m) : CR_ERR_NOMEM;
	if (rc == CR_OK)
		rc = partner_start(m);
	t = tick(m, T_OPEN, t);
	if (rc != CR_OK)
		return rc;
	rc = partner_load(m, ids, id_opts);
	t = tick(m, T_LOAD, t);
	if (rc != CR_OK)
		return psi_session_abort(m->session, m->app, rc) == CR_OK ? rc : CR_ERR_STORE;
	return exchange(m, t);
}

/* ------------------------------------------------------------- output */

static const char *str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static void print_cells(const json_t *rel)
{
	const json_t *q = json_object_get(rel, "query"), *cells = json_object_get(rel, "cells"), *c, *v;
	const json_t *dims = json_object_get(q, "group_by"), *sup = json_object_get(rel, "suppressed");
	size_t i, k;
	json_array_foreach(dims, k, v)
		printf("%-14s", json_string_value(v));
	printf("%12s", "count");
	json_array_foreach(json_object_get(q, "metrics"), k, v)
		if (k > 0)
			printf("%16s", json_string_value(v));
	printf("\n");
	json_array_foreach(cells, i, c) {
		json_array_foreach(dims, k, v)
			printf("%-14s", str_of(json_object_get(c, "dimensions"), json_string_value(v)));
		printf("%12lld", (long long)json_integer_value(json_object_get(c, "count")));
		json_array_foreach(json_object_get(q, "metrics"), k, v)
			if (k > 0)
				printf("%16lld", (long long)json_integer_value(
					json_object_get(json_object_get(c, "sum"), json_string_value(v) + 4)));
		printf("\n");
	}
	if (json_integer_value(json_object_get(sup, "cells")) > 0)
		printf("suppressed (noisy count under k = %lld): %lld cells, noisy count %lld in total\n",
		       (long long)json_integer_value(json_object_get(rel, "k")),
		       (long long)json_integer_value(json_object_get(sup, "cells")),
		       (long long)json_integer_value(json_object_get(sup, "count")));
	else
		printf("suppressed: none (every cell reached k = %lld)\n",
		       (long long)json_integer_value(json_object_get(rel, "k")));
	printf("noisy total: %lld\n", (long long)json_integer_value(json_object_get(rel, "noisy_total")));
}

static void print_text(const struct match_run *m)
{
	const json_t *rel = m->release;
	printf("match: collaboration %lld, session %s\n", (long long)json_integer_value(json_object_get(rel, "collaboration")),
	       str_of(rel, "session"));
	printf("partner list: %llu rows, %llu distinct identifiers (%llu duplicates, %llu invalid skipped)\n",
	       (unsigned long long)m->list.rows, (unsigned long long)m->list.distinct,
	       (unsigned long long)m->list.duplicates, (unsigned long long)m->list.invalid);
	print_cells(rel);
	printf("epsilon spent %s; budget left %s of %s (release %lld)\n", str_of(rel, "epsilon_charged"),
	       str_of(rel, "budget_left"), str_of(rel, "budget"), (long long)json_integer_value(json_object_get(rel, "id")));
}

static json_t *run_json(const struct match_run *m)
{
	json_t *t = json_object();
	for (size_t i = 0; i < sizeof(phase_names) / sizeof(phase_names[0]); i++)
		json_object_set_new(t, phase_names[i], json_integer(m->ms[i]));
	return json_pack("{s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I}, s:o, s:O}",
			 "partner_list", "rows", (json_int_t)m->list.rows, "distinct", (json_int_t)m->list.distinct,
			 "duplicates", (json_int_t)m->list.duplicates, "invalid", (json_int_t)m->list.invalid,
			 "traffic", "to_service", (json_int_t)m->wire.to_service,
			 "from_service", (json_int_t)m->wire.from_service, "timings_ms", t, "release", m->release);
}

/* The budget line of a refusal: what is left (the service's ledger). */
static void budget_note(struct match_run *m, int64_t collab, char *buf, size_t cap)
{
	struct collab c;
	uint64_t left = 0;
	char left_s[COLLAB_MILLI_STRLEN], budget_s[COLLAB_MILLI_STRLEN];
	buf[0] = '\0';
	if (collab_get(m->app->store, collab, &c) != CR_OK || collab_budget_left(m->app->store, &c, &left) != CR_OK)
		return;
	collab_milli_format(left, left_s);
	collab_milli_format(c.budget_milli, budget_s);
	snprintf(buf, cap, "budget left %s of %s", left_s, budget_s);
}

/* A refusal or failure as one line (and the release as JSON if one came back). */
static int report_failure(struct match_run *m, cr_err rc, int64_t collab, bool json)
{
	char budget[96];
	if (m->release) {
		if (json)
			cli_print_json(run_json(m));
		return cli_fail(VERB, "refused: %s (%s); charged %s, budget left %s of %s",
				str_of(m->release, "message"), str_of(m->release, "reason"),
				json_is_true(json_object_get(m->release, "charged")) ? str_of(m->release, "epsilon_charged") : "nothing",
				str_of(m->release, "budget_left"), str_of(m->release, "budget"));
	}
	if (rc == CR_ERR_COLLAB_NOT_FOUND)
		return cli_fail(VERB, "no collaboration %lld (see 'cleanroom collab list')", (long long)collab);
	if (rc == CR_ERR_BUDGET_EXHAUSTED)
		return cli_fail(VERB, "refused: %s: %s; nothing computed, nothing charged", cr_strerror(rc), m->why);
	budget_note(m, collab, budget, sizeof(budget));
	return cli_fail(VERB, "refused: %s%s%s; nothing released, nothing charged%s%s", cr_strerror(rc),
			m->why[0] ? ": " : "", m->why, budget[0] ? "; " : "", budget);
}

/* ------------------------------------------------------------------ verb */

int cmd_match(int argc, char **argv)
{
	const char *collab_s = NULL, *ids = NULL, *group_by = NULL, *metrics = NULL;
	const char *country = NULL, *threads_s = NULL;
	const struct cli_opt opts[] = {
		{ "collab", &collab_s, NULL, "the collaboration to match against" },
		{ "ids", &ids, NULL, "the partner's identifier list (CSV or NDJSON)" },
		{ "group-by", &group_by, NULL, "dimensions: D1[,D2] (allowed by the analysis rule)" },
		{ "metrics", &metrics, NULL, "count[,sum:COLUMN] (count is always released)" },
		{ "default-country", &country, NULL, "country for phones without '+' (CN, US, ...)" },
		{ "threads", &threads_s, NULL, "worker threads for the group operations (default: cores)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct crypto_id_opts id_opts = { NULL, NULL };
	struct match_run m;
	struct cli_args args;
	uint64_t collab = 0, threads = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom match --collab C --ids FILE [--group-by D1[,D2]]\n"
			    "         [--metrics count[,sum:COLUMN]] [--default-country CC] [--json]\n\n"
			    "Runs a private set intersection of FILE (email/phone or email_sha256/phone_sha256\n"
			    "column) against collaboration C in local mode (both roles in this process) and\n"
			    "prints the released aggregates: noisy counts per cell, suppressed cells summarized,\n"
			    "the epsilon spent and the budget left.");
	memset(&m, 0, sizeof(m));
	if (collab_s == NULL || ids == NULL || cr_parse_u64(collab_s, 1, INT64_MAX, &collab) != CR_OK) {
		free(args.pos);
		return cli_usage_error(VERB, "--collab C (a collaboration id) and --ids FILE are required");
	}
	if (threads_s && cr_parse_u64(threads_s, 1, CRYPTO_POOL_MAX_THREADS, &threads) != CR_OK) {
		free(args.pos);
		return cli_usage_error(VERB, "--threads must be 1 to 256");
	}
	id_opts.default_country = country;
	rc = cli_open_app(VERB, &args, &m.app);
	if (rc != CLI_OK)
		goto out;
	err = crypto_pool_create((unsigned)threads, &m.pool);
	if (err == CR_OK)
		err = run_match(&m, (int64_t)collab, group_by, metrics, ids, &id_opts);
	if (err != CR_OK || m.release == NULL ||
	    strcmp(str_of(m.release, "outcome"), "released") != 0)
		rc = report_failure(&m, err == CR_OK ? CR_ERR_INTERNAL : err, (int64_t)collab, args.json);
	else if (args.json)
		cli_print_json(run_json(&m));
	else
		print_text(&m);
out:
	json_decref(m.release);
	wire_release(&m.wire);
	psi_partner_free(m.partner);
	psi_session_free(m.session);
	crypto_pool_free(m.pool);
	free(args.pos);
	app_close(m.app);
	return rc;
}
