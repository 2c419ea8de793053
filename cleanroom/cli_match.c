/*
 * cli_match.c: `cleanroom match --collab C --ids FILE [--server URL]`: the
 * partner's side of docs/spec/psi-protocol.md, driving the service through a
 * match_link (match_link.h): in local mode the service role runs in this
 * process on the data directory; with --server it is a remote clean room
 * reached over HTTPS. The partner role (psi_partner.c) reads only the --ids
 * file and the messages it receives, and what is printed comes from the
 * release the partner received, so both modes print the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanroom/app.h"
#include "cleanroom/cli.h"
#include "cleanroom/match_link.h"
#include "cleanroom/psi_partner.h"

static const char *const VERB = "match";

/* Everything one match holds, on the partner's side of the link. */
struct match_run {
	struct match_link *link;        /* the service: local or remote */
	struct crypto_pool *pool;
	struct psi_partner *partner;    /* partner role */
	struct psi_elements b, a, a_prime;
	char *release_text;             /* round 6, as it arrived */
	struct psi_partner_report list;
	uint64_t min_set, max_set;      /* the offer's partner-set limits */
	uint64_t elements;              /* the offer's |A| */
	char suite[PSI_SUITE_MAX];      /* the offer's PSI suite */
	json_t *release;                /* as the partner parsed it */
	int64_t ms[6];                  /* phase timings */
	char why[512];
};

enum { T_OPEN, T_LOAD, T_BLIND, T_SERVICE_B, T_ANSWER, T_RELEASE };
static const char *const phase_names[] = { "open", "load_list", "blind", "service_b", "answer", "release" };

static void run_release(struct match_run *m)
{
	json_decref(m->release);
	psi_elements_release(&m->b);
	psi_elements_release(&m->a);
	psi_elements_release(&m->a_prime);
	free(m->release_text);
	psi_partner_free(m->partner);
	match_link_free(m->link);
	crypto_pool_free(m->pool);
}

/* The partner gives up on the open session after `rc`; the service records it. */
static cr_err give_up(struct match_run *m, cr_err rc)
{
	return m->link->ops->abort(m->link, rc) == CR_OK ? rc : CR_ERR_STORE;
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
	rc = psi_partner_load(m->partner, m->pool, f, path, id_opts, &m->list, err, sizeof(err));
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

/* Rounds 2 to 6, the partner's steps alternating with the service's over the link. */
static cr_err exchange(struct match_run *m, int64_t t)
{
	const struct match_link_ops *ops = m->link->ops;
	cr_err rc = psi_partner_blind(m->partner, m->pool, &m->b);
	t = tick(m, T_BLIND, t);
	if (rc != CR_OK) {
		snprintf(m->why, sizeof(m->why), "%llu distinct identifiers, the rule accepts %llu to %llu",
			 (unsigned long long)m->list.distinct, (unsigned long long)m->min_set,
			 (unsigned long long)m->max_set);
		return give_up(m, rc);  /* nothing was sent */
	}
	rc = ops->blinded(m->link, &m->b, &m->a);
	psi_elements_release(&m->b);
	t = tick(m, T_SERVICE_B, t);
	if (rc != CR_OK)
		return rc;
	rc = psi_partner_answer(m->partner, m->pool, m->a.bytes, m->a.count * CRYPTO_PSI_ELEMENT_BYTES,
				&m->a_prime);
	psi_elements_release(&m->a);
	t = tick(m, T_ANSWER, t);
	if (rc != CR_OK)
		return give_up(m, rc);
	rc = ops->answer(m->link, &m->a_prime, &m->release_text);
	psi_elements_release(&m->a_prime);
	if (m->release_text) {
		cr_err prc = psi_partner_release(m->partner, m->release_text, strlen(m->release_text),
						 &m->release);
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
	struct psi_session_offer offer;
	int64_t t = cr_monotonic_ms();
	cr_err rc;
	memset(&req, 0, sizeof(req));
	req.collab_id = collab;
	snprintf(req.group_by, sizeof(req.group_by), "%s", group_by ? group_by : "");
	snprintf(req.metrics, sizeof(req.metrics), "%s", metrics ? metrics : "");
	rc = m->link->ops->open(m->link, &req, &offer, m->why, sizeof(m->why));
	if (rc == CR_OK) {
		m->min_set = offer.min_set;
		m->max_set = offer.max_set;
		m->elements = offer.elements;
		snprintf(m->suite, sizeof(m->suite), "%s", offer.suite);
		rc = psi_partner_new(&offer, &m->partner);
		if (rc != CR_OK)
			rc = give_up(m, rc);
	}
	t = tick(m, T_OPEN, t);
	if (rc != CR_OK)
		return rc;
	rc = partner_load(m, ids, id_opts);
	t = tick(m, T_LOAD, t);
	if (rc != CR_OK)
		return give_up(m, rc);
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
	printf("match: collaboration %lld, session %s, suite %s\n",
	       (long long)json_integer_value(json_object_get(rel, "collaboration")), str_of(rel, "session"), m->suite);
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
	return json_pack("{s:{s:I, s:I, s:I, s:I}, s:I, s:s, s:{s:I, s:I}, s:o, s:O}",
			 "partner_list", "rows", (json_int_t)m->list.rows, "distinct", (json_int_t)m->list.distinct,
			 "duplicates", (json_int_t)m->list.duplicates, "invalid", (json_int_t)m->list.invalid,
			 "elements", (json_int_t)m->elements, "suite", m->suite, "traffic", "to_service", (json_int_t)m->link->to_service,
			 "from_service", (json_int_t)m->link->from_service, "timings_ms", t, "release", m->release);
}

/* A failure that is not a decision of the service: the transport or the token. */
static bool is_transport_failure(cr_err rc)
{
	switch (rc) {
	case CR_ERR_REMOTE:
	case CR_ERR_REMOTE_TLS:
	case CR_ERR_AUTH_MISSING:
	case CR_ERR_AUTH_INVALID:
	case CR_ERR_AUTH_FORBIDDEN:
	case CR_ERR_RATE_LIMITED:
	case CR_ERR_HTTP_UNAVAILABLE:
	case CR_ERR_PSI_SESSIONS_FULL:
		return true;
	default:
		return false;
	}
}

/* A refusal or failure as one line (and the release as JSON if one came back). */
static int report_failure(struct match_run *m, cr_err rc, int64_t collab, bool json)
{
	const char *detail = m->link ? m->link->ops->detail(m->link) : "";
	char budget[96] = "";
	if (m->release) {
		if (json)
			cli_print_json(run_json(m));
		return cli_fail(VERB, "refused: %s (%s); charged %s, budget left %s of %s",
				str_of(m->release, "message"), str_of(m->release, "reason"),
				json_is_true(json_object_get(m->release, "charged")) ? str_of(m->release, "epsilon_charged") : "nothing",
				str_of(m->release, "budget_left"), str_of(m->release, "budget"));
	}
	if (m->link == NULL)
		return cli_fail(VERB, "%s", cr_strerror(rc));
	if (is_transport_failure(rc))
		return detail[0] ? cli_fail(VERB, "%s (%s)", cr_strerror(rc), detail)
				 : cli_fail(VERB, "%s", cr_strerror(rc));
	if (rc == CR_ERR_COLLAB_NOT_FOUND)
		return cli_fail(VERB, "no collaboration %lld for you (see 'cleanroom collab list', "
				"or GET /v1/collaborations with a partner token)", (long long)collab);
	m->link->ops->budget_note(m->link, collab, budget, sizeof(budget));
	if (rc == CR_ERR_BUDGET_EXHAUSTED)
		return cli_fail(VERB, "refused: %s: %s; nothing computed, nothing charged", cr_strerror(rc),
				m->why[0] ? m->why : budget);
	return cli_fail(VERB, "refused: %s%s%s; nothing released, nothing charged%s%s", cr_strerror(rc),
			m->why[0] ? ": " : "", m->why, budget[0] ? "; " : "", budget);
}

/* ------------------------------------------------------------------ verb */

/* The link to the service: the data directory's store, or --server over HTTPS. */
struct link_args {
	const char *server, *token, *cacert;
	bool insecure;
};

static int open_link(const struct cli_args *args, const struct link_args *la, struct app **app,
		     struct match_run *m)
{
	struct psi_client_opts o = { la->server, la->token, la->cacert, la->insecure, 0, 0 };
	struct psi_client *client = NULL;
	int rc;
	if (la->server == NULL) {
		rc = cli_open_app(VERB, args, app);
		if (rc == CLI_OK)
			m->link = match_link_local(*app, m->pool);
		return rc;
	}
	if (la->insecure)
		fprintf(stderr, "cleanroom: match: warning: --insecure-http: the token and the blinded "
				"lists travel unencrypted\n");
	if (psi_client_new(&o, &client) != CR_OK)
		return cli_usage_error(VERB, "--server must be an https:// URL (http:// only with "
				       "--insecure-http) and the token must be printable");
	m->link = match_link_remote(client);
	return CLI_OK;
}

/* Checks --server, --token / $CLEANROOM_TOKEN, --cacert against each other and --data. */
static int check_link_args(const struct cli_args *args, struct link_args *la)
{
	if (la->server == NULL) {
		if (la->token || la->cacert || la->insecure)
			return cli_usage_error(VERB, "--token, --cacert and --insecure-http need --server URL");
		return CLI_OK;
	}
	if (la->token == NULL)
		la->token = getenv("CLEANROOM_TOKEN");
	if (args->data != NULL)
		return cli_usage_error(VERB, "--server matches against a remote service: --data does not apply");
	if (la->token == NULL || la->token[0] == '\0')
		return cli_usage_error(VERB, "--server needs a partner token: --token T or $CLEANROOM_TOKEN");
	return CLI_OK;
}

int cmd_match(int argc, char **argv)
{
	const char *collab_s = NULL, *ids = NULL, *group_by = NULL, *metrics = NULL;
	const char *country = NULL, *threads_s = NULL;
	struct link_args la = { NULL, NULL, NULL, false };
	const struct cli_opt opts[] = {
		{ "collab", &collab_s, NULL, "the collaboration to match against" },
		{ "ids", &ids, NULL, "the partner's identifier list (CSV or NDJSON)" },
		{ "group-by", &group_by, NULL, "dimensions: D1[,D2] (allowed by the analysis rule)" },
		{ "metrics", &metrics, NULL, "count[,sum:COLUMN] (count is always released)" },
		{ "default-country", &country, NULL, "country for phones without '+' (CN, US, ...)" },
		{ "threads", &threads_s, NULL, "worker threads for the group operations (default: cores)" },
		{ "server", &la.server, NULL, "match against the service at URL (https://host:port)" },
		{ "token", &la.token, NULL, "the partner token for --server (or $CLEANROOM_TOKEN)" },
		{ "cacert", &la.cacert, NULL, "PEM file of the CA to trust for --server (self-signed)" },
		{ "insecure-http", NULL, &la.insecure, "allow an http:// --server (token in clear)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct crypto_id_opts id_opts = { NULL, NULL };
	struct app *app = NULL;
	struct match_run m;
	struct cli_args args;
	uint64_t collab = 0, threads = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom match --collab C --ids FILE [--group-by D1[,D2]]\n"
			    "         [--metrics count[,sum:COLUMN]] [--default-country CC] [--json]\n"
			    "         [--server URL [--token T] [--cacert FILE] [--insecure-http]]\n\n"
			    "Runs a private set intersection of FILE (email/phone or email_sha256/phone_sha256\n"
			    "column) against collaboration C and prints the released aggregates: noisy counts\n"
			    "per cell, suppressed cells summarized, the epsilon spent and the budget left.\n"
			    "Without --server both roles run in this process on the data directory (local\n"
			    "mode); with --server this process is the partner only and talks to the service\n"
			    "over HTTPS, verifying its certificate (--cacert for a self-signed one). Prefer\n"
			    "$CLEANROOM_TOKEN to --token: a command line is visible to other users.");
	memset(&m, 0, sizeof(m));
	if (collab_s == NULL || ids == NULL || cr_parse_u64(collab_s, 1, INT64_MAX, &collab) != CR_OK) {
		free(args.pos);
		return cli_usage_error(VERB, "--collab C (a collaboration id) and --ids FILE are required");
	}
	if (threads_s && cr_parse_u64(threads_s, 1, CRYPTO_POOL_MAX_THREADS, &threads) != CR_OK) {
		free(args.pos);
		return cli_usage_error(VERB, "--threads must be 1 to 256");
	}
	rc = check_link_args(&args, &la);
	if (rc != CLI_OK) {
		free(args.pos);
		return rc;
	}
	id_opts.default_country = country;
	err = crypto_pool_create((unsigned)threads, &m.pool);
	if (err != CR_OK) {
		rc = cli_fail_rc(VERB, err);
		goto out;
	}
	rc = open_link(&args, &la, &app, &m);
	if (rc != CLI_OK)
		goto out;
	err = run_match(&m, (int64_t)collab, group_by, metrics, ids, &id_opts);
	if (err != CR_OK || m.release == NULL ||
	    strcmp(str_of(m.release, "outcome"), "released") != 0)
		rc = report_failure(&m, err == CR_OK ? CR_ERR_INTERNAL : err, (int64_t)collab, args.json);
	else if (args.json)
		cli_print_json(run_json(&m));
	else
		print_text(&m);
out:
	run_release(&m);
	free(args.pos);
	app_close(app);
	return rc;
}
