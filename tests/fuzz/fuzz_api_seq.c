/*
 * fuzz_api_seq.c: stateful libFuzzer target for the API: a sequence of
 * calls over the real route table (cleanroom/http_routes.c) against a
 * fresh copy of a synthetic clean room (fuzz_fixture.h), each call run as
 * the server runs it (route matcher, http_request_admit, the handler on
 * the writer or a read connection).
 *
 * The input is a list of calls, four bytes and a body each: the route, the
 * caller (no token, or a role with a tenant: acme, other, partner-1,
 * partner-2), the {param} values, Content-Type and query arguments, and
 * the body's length.
 * After every call: the authorization matrix holds (a role the route does
 * not admit is refused before its handler; a brand or officer token never
 * succeeds on another tenant's brand, nor a partner on a collaboration not
 * its own; an officer and every GET change nothing); every change of state
 * came with a new audit leaf (I5: a digest over every non-audit table
 * changed only if the log grew). After the sequence, the full audit
 * verification (`cleanroom audit verify`) passes.
 */
#include <stdint.h>

#include "tests/fuzz/fuzz_fixture.h"
#include "audit/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what, const char *route)
{
	if (!ok) {
		fprintf(stderr, "fuzz_api_seq: invariant broken on %s: %s\n", route, what);
		abort();
	}
}

/* A digest of every row of every table but the audit log's. */
static void state_digest(struct app *a, uint8_t out[32])
{
	crypto_generichash_state h;
	sqlite3_stmt *tables = NULL, *st;
	char sql[160];
	crypto_generichash_init(&h, NULL, 0, 32);
	if (sqlite3_prepare_v2(a->store->db, "SELECT name FROM sqlite_master WHERE type = 'table'"
			       " AND name NOT LIKE 'audit\\_%' ESCAPE '\\' ORDER BY name", -1, &tables, NULL) != SQLITE_OK)
		abort();
	while (sqlite3_step(tables) == SQLITE_ROW) {
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", (const char *)sqlite3_column_text(tables, 0));
		if (sqlite3_prepare_v2(a->store->db, sql, -1, &st, NULL) != SQLITE_OK)
			abort();
		crypto_generichash_update(&h, (const uint8_t *)sql, strlen(sql));
		while (sqlite3_step(st) == SQLITE_ROW)
			for (int i = 0; i < sqlite3_column_count(st); i++) {
				const void *b = sqlite3_column_blob(st, i);
				int n = sqlite3_column_bytes(st, i);
				crypto_generichash_update(&h, (const uint8_t *)&n, sizeof(n));
				if (b)
					crypto_generichash_update(&h, b, (size_t)n);
			}
		sqlite3_finalize(st);
	}
	sqlite3_finalize(tables);
	crypto_generichash_final(&h, out, 32);
}

static uint64_t audit_size(struct app *a)
{
	sqlite3_stmt *st = NULL;
	uint64_t n = 0;
	if (sqlite3_prepare_v2(a->store->db, "SELECT count(*) FROM audit_leaves", -1, &st, NULL) != SQLITE_OK)
		abort();
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static const char *const tenants[] = { "acme", "other", "partner-1", "partner-2" };
static const enum auth_role roles[] = { AUTH_ROLE_ADMIN, AUTH_ROLE_BRAND, AUTH_ROLE_PARTNER, AUTH_ROLE_OFFICER };

static const char *subject_digest; /* a customer of the fixture's */

/* {param} values: two choices each, from the selector's bits. */
static const char *param_value(const char *name, unsigned sel)
{
	static const struct { const char *name, *v[2]; } values[] = {
		{ "brand", { "acme", "other" } }, { "id", { "1", "2" } }, { "name", { "crm", "crm2" } },
		{ "version", { "1", "2" } }, { "release", { "1", "2" } }, { "file", { "consent.js", "nope" } },
		{ "session", { "0123456789abcdef0123456789abcdef", "x" } },
		{ "digest", { NULL /* the fixture's */, "00" } },
	};
	for (size_t k = 0; k < sizeof(values) / sizeof(values[0]); k++)
		if (strcmp(values[k].name, name) == 0)
			return values[k].v[sel & 1] ? values[k].v[sel & 1] : subject_digest;
	return "1";
}

static void fill(const char *pattern, unsigned sel, char *out, size_t cap)
{
	size_t used = 0;
	while (*pattern && used + 1 < cap) {
		if (*pattern != '{') {
			out[used++] = *pattern++;
			continue;
		}
		char name[32];
		size_t k = strcspn(pattern + 1, "}");
		snprintf(name, sizeof(name), "%.*s", (int)k, pattern + 1);
		used += (size_t)snprintf(out + used, cap - used, "%s", param_value(name, sel));
		sel >>= 1;
		pattern += k + 2;
	}
	out[used < cap ? used : cap - 1] = '\0';
}

static const char *const types[] = { "application/json", "application/x-ndjson", "text/csv", NULL };

static const char *const queries[][7] = {
	{ NULL }, { "id_type", "email", NULL }, { "limit", "2", "before", "3", NULL },
	{ "brand", "other", "type", "consent.withdraw", NULL }, { "published_at", "2026-01-01T00:00:00Z", NULL },
	{ "default_country", "CN", NULL }, { "index", "1", "size", "3", NULL }, { "from", "1", "to", "4", NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ffx *f = ffx_get();
	uint8_t before[32], after[32];
	struct audit_verifier v;
	struct audit_verify_report vr;
	int calls = 0;

	subject_digest = f->digest;
	ffx_fresh(f);
	while (size >= 4 && calls++ < 16) {
		const struct http_route *r = &http_routes[data[0] % http_route_count], *found = NULL;
		struct auth_token_info who = { 0 };
		struct http_reply rep;
		size_t len = data[3] < size - 4 ? data[3] : size - 4;
		char path[256];
		uint64_t leaves;
		bool anon = (data[1] & 0x10) != 0;
		cr_err rc;

		who.role = roles[data[1] & 3];
		who.id = 1000 + (data[1] & 0x0f);
		snprintf(who.tenant, sizeof(who.tenant), "%s", tenants[(data[1] >> 2) & 3]);
		snprintf(who.name, sizeof(who.name), "fuzz");
		fill(r->pattern, data[2], path, sizeof(path));
		if (strstr(r->pattern, "/sessions") || strcmp(r->pattern, "/metrics") == 0)
			goto next; /* need a server object; the match rounds are fuzz_psi_session's */
		state_digest(f->a, before);
		leaves = audit_size(f->a);
		rc = ffx_call(f, r->method, path, anon ? NULL : &who, types[(data[2] >> 3) & 3], data + 4, len,
			      queries[data[2] >> 5], &found, &rep);
		http_secure_free(rep.body);
		state_digest(f->a, after);
		if (found != NULL && found->roles != HTTP_PUBLIC) {
			const char *brand = strstr(path, "/brands/") ? path + 11 : NULL;
			if (anon || !(found->roles & (unsigned)who.role))
				check(rc == CR_ERR_AUTH_MISSING || rc == CR_ERR_AUTH_FORBIDDEN,
				      "a caller the route does not admit reached its handler", found->pattern);
			if (rc == CR_OK && brand && (who.role == AUTH_ROLE_BRAND || who.role == AUTH_ROLE_OFFICER))
				check(strncmp(brand, who.tenant, strlen(who.tenant)) == 0 &&
				      brand[strlen(who.tenant)] == '/', "a token acted on another tenant's brand",
				      found->pattern);
			if (rc == CR_OK && strncmp(path, "/v1/collaborations/1", 20) == 0 && path[20] != '0')
				check(who.role == AUTH_ROLE_ADMIN ||
				      strcmp(who.tenant, who.role == AUTH_ROLE_PARTNER ? "partner-1" : "acme") == 0,
				      "a collaboration seen by a stranger", found->pattern);
			if (who.role == AUTH_ROLE_OFFICER && !anon)
				check(memcmp(before, after, 32) == 0, "an officer changed the state", found->pattern);
		}
		if (strcmp(r->method, "GET") == 0)
			check(memcmp(before, after, 32) == 0, "a GET changed the state", r->pattern);
		if (memcmp(before, after, 32) != 0)
			check(audit_size(f->a) > leaves, "a change of state without an audit leaf (I5)", r->pattern);
	next:
		data += 4 + len;
		size -= 4 + len;
	}
	if (audit_verifier_from_signer(&f->a->signer, &v) != CR_OK ||
	    audit_log_verify(f->a->store->db, f->a->origin, &v, NULL, 0, &vr) != CR_OK) {
		fprintf(stderr, "fuzz_api_seq: audit verify: %s\n", vr.problem);
		abort();
	}
	return 0;
}
