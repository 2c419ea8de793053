/*
 * fuzz_audit_query.c: libFuzzer target for the query strings of the audit
 * routes (cleanroom/api_audit.c, api_audit_web.c): GET /v1/audit/log
 * (since, until, limit, before, brand, type, scoped to the caller's
 * tenant, then audit/query.c), /v1/audit/checkpoints (limit, before),
 * /v1/audit/proof/inclusion (index) and /v1/audit/proof/consistency
 * (from, to), run by their handlers on a read connection of a synthetic
 * clean room (fuzz_fixture.h).
 *
 * The first byte picks the route and the caller (an officer of acme or of
 * other, or an admin); the rest is the raw query string, split at '&' and
 * '=' and each part percent-decoded by libmicrohttpd's own decoder
 * (MHD_http_unescape), as the server hands it to http_query. Beyond
 * surviving any input: no query makes a 5xx; an officer's search returns
 * only its tenant's entries, never more than the limit asked for, newest
 * first and below `before`; an inclusion proof served verifies offline
 * with the log's key (audit_tlog_proof_verify), for its own tenant's entry.
 */
#include <stdint.h>

#include <microhttpd.h>

#include "tests/fuzz/fuzz_fixture.h"
#include "audit/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_audit_query: invariant broken: %s\n", what);
		abort();
	}
}

#define ARGS_MAX 16

/* Splits `q` (modified) into name, value pairs as libmicrohttpd does. */
static size_t split(char *q, const char **args)
{
	size_t n = 0;
	char *p = q;
	while (p && *p && n + 2 < 2 * ARGS_MAX) {
		char *amp = strchr(p, '&'), *eq;
		if (amp)
			*amp = '\0';
		eq = strchr(p, '=');
		if (eq)
			*eq = '\0';
		MHD_http_unescape(p);
		args[n++] = p;
		if (eq) {
			MHD_http_unescape(eq + 1);
			args[n++] = eq + 1;
		} else {
			args[n++] = "";
		}
		p = amp ? amp + 1 : NULL;
	}
	args[n] = NULL;
	return n;
}

static void check_log(const struct http_reply *rep, const struct auth_token_info *who, const char *const *args)
{
	json_t *j = json_loadb(rep->body, rep->len, 0, NULL), *e;
	uint64_t limit = 50, before = UINT64_MAX, last = UINT64_MAX;
	size_t i;
	check(j != NULL, "a search reply that does not parse");
	bool seen_limit = false, seen_before = false;
	/* a repeated argument: http_query reads its first value, as libmicrohttpd does */
	for (const char *const *a = args; a[0] && a[1]; a += 2) {
		if (strcmp(a[0], "limit") == 0 && !seen_limit) {
			seen_limit = true;
			if (cr_parse_u64(a[1], 1, 1000, &limit) != CR_OK)
				limit = 0;
		}
		if (strcmp(a[0], "before") == 0 && !seen_before) {
			seen_before = true;
			if (cr_parse_u64(a[1], 0, UINT64_MAX, &before) != CR_OK)
				before = 0;
		}
	}
	check(json_array_size(json_object_get(j, "entries")) <= limit, "more entries than the limit");
	json_array_foreach(json_object_get(j, "entries"), i, e) {
		uint64_t idx = (uint64_t)json_integer_value(json_object_get(e, "index"));
		if (who->role != AUTH_ROLE_ADMIN)
			check(strcmp(json_string_value(json_object_get(e, "tenant")), who->tenant) == 0,
			      "an officer saw another tenant's entry");
		check(idx < before && idx < last, "entries not newest first below `before`");
		last = idx;
	}
	json_decref(j);
}

static void check_inclusion(struct ffx *f, const struct http_reply *rep)
{
	struct audit_verifier v;
	struct audit_proof_check out;
	char why[AUDIT_MSG_MAX], *vkey = NULL;
	check(audit_verifier_from_signer(&f->a->signer, &v) == CR_OK && app_verifier_key(f->a, &vkey) == CR_OK,
	      "the log's verifier key");
	check(audit_tlog_proof_verify(vkey, strlen(vkey), rep->body, rep->len, NULL, 0, NULL, &out, why,
				      sizeof(why)) == CR_OK, "a served inclusion proof does not verify");
	free(vkey);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "/v1/audit/log", "/v1/audit/checkpoints", "/v1/audit/proof/inclusion",
					     "/v1/audit/proof/consistency" };
	static int opened;
	const char *args[2 * ARGS_MAX + 1];
	struct auth_token_info who = { .id = 7 };
	const struct http_route *r = NULL;
	struct http_reply rep;
	struct ffx *f = ffx_get();
	char *q;
	cr_err rc;

	if (size < 1)
		return 0;
	if (!opened) { /* read-only routes: one copy serves every input */
		ffx_fresh(f);
		opened = 1;
	}
	who.role = (data[0] & 0x0c) == 0x0c ? AUTH_ROLE_ADMIN : AUTH_ROLE_OFFICER;
	snprintf(who.tenant, sizeof(who.tenant), "%s", (data[0] & 4) ? "other" : "acme");
	q = malloc(size);
	memcpy(q, data + 1, size - 1);
	q[size - 1] = '\0';
	split(q, args);
	rc = ffx_call(f, "GET", paths[data[0] & 3], &who, NULL, NULL, 0, args, &r, &rep);
	if (rc == CR_OK) {
		if ((data[0] & 3) == 0)
			check_log(&rep, &who, args);
		else if ((data[0] & 3) == 2)
			check_inclusion(f, &rep);
		else if ((data[0] & 3) == 3) {
			json_t *j = json_loadb(rep.body, rep.len, 0, NULL);
			check(j != NULL, "a consistency proof that does not parse");
			json_decref(j);
		}
	} else {
		if (cr_err_http_status(rc) >= 500)
			fprintf(stderr, "fuzz_audit_query: %s answered %s\n", paths[data[0] & 3], cr_errname(rc));
		check(cr_err_http_status(rc) < 500, "a query made the service fail (5xx)");
	}
	http_secure_free(rep.body);
	free(q);
	return 0;
}
