/*
 * auth.c: issuing, listing, revoking and checking API tokens.
 *
 * Why a plain hash and not a keyed one: a token is 256 bits from the system
 * RNG, so SHA-256 of it is already preimage-resistant beyond any offline
 * search; a pepper (crypto's CRYPTO_USE_TOKEN subkey) would add no strength
 * but would make every request depend on the master key and lock every
 * operator out if that key were ever lost or rotated. The hash is
 * domain-separated ("cleanroom/api-token/v1") so it can never collide with
 * another use of SHA-256 in the project.
 *
 * A token is found by an index on its hash. A timing difference in that
 * look-up can at most reveal bytes of a hash, which says nothing about any
 * token; the row's hash is compared again with sodium_memcmp anyway.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "cleanroom/auth.h"

const char auth_schema_v1[] =
	"CREATE TABLE api_tokens ("
	"  id         INTEGER PRIMARY KEY,"
	"  hash       BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),"
	"  name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),"
	"  role       TEXT NOT NULL CHECK (role IN ('admin', 'brand', 'partner', 'officer')),"
	"  tenant     TEXT NOT NULL CHECK (length(tenant) BETWEEN 1 AND 64),"
	"  created_ms INTEGER NOT NULL,"
	"  revoked_ms INTEGER"
	") STRICT;";

#define TOKEN_HASH_DOMAIN "cleanroom/api-token/v1"
#define TOKEN_B64_LEN (AUTH_TOKEN_LEN - (sizeof(AUTH_TOKEN_PREFIX) - 1))

struct role_entry {
	enum auth_role role;
	const char *name;
};

static const struct role_entry roles[] = {
	{ AUTH_ROLE_ADMIN, "admin" },
	{ AUTH_ROLE_BRAND, "brand" },
	{ AUTH_ROLE_PARTNER, "partner" },
	{ AUTH_ROLE_OFFICER, "officer" },
};

#define ROLE_COUNT (sizeof(roles) / sizeof(roles[0]))

cr_err auth_role_parse(const char *s, enum auth_role *out)
{
	for (size_t i = 0; s != NULL && i < ROLE_COUNT; i++) {
		if (strcmp(s, roles[i].name) == 0) {
			*out = roles[i].role;
			return CR_OK;
		}
	}
	return CR_ERR_ROLE;
}

const char *auth_role_name(enum auth_role r)
{
	for (size_t i = 0; i < ROLE_COUNT; i++)
		if (roles[i].role == r)
			return roles[i].name;
	return "unknown";
}

bool auth_may_act_on(const struct auth_token_info *who, const char *brand)
{
	return who->role == AUTH_ROLE_ADMIN || strcmp(who->tenant, brand) == 0;
}

cr_err auth_tenant_check(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > AUTH_TENANT_MAX)
		return CR_ERR_TENANT;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return CR_ERR_TENANT;
	}
	return CR_OK;
}

cr_err auth_name_check(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > AUTH_NAME_MAX || !cr_utf8_valid((const uint8_t *)s, n))
		return CR_ERR_TOKEN_NAME;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return CR_ERR_TOKEN_NAME;
	}
	return CR_OK;
}

/* hash = SHA-256(TOKEN_HASH_DOMAIN 0x00 raw). */
static void token_hash(const uint8_t raw[static AUTH_TOKEN_RAW_BYTES],
		       uint8_t hash[static crypto_hash_sha256_BYTES])
{
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)TOKEN_HASH_DOMAIN,
				  sizeof(TOKEN_HASH_DOMAIN)); /* with its NUL */
	crypto_hash_sha256_update(&st, raw, AUTH_TOKEN_RAW_BYTES);
	crypto_hash_sha256_final(&st, hash);
	sodium_memzero(&st, sizeof(st));
}

/* Decodes a presented token into its 32 raw bytes; CR_ERR_AUTH_INVALID if malformed. */
static cr_err token_decode(const char *token, size_t len,
			   uint8_t raw[static AUTH_TOKEN_RAW_BYTES])
{
	const size_t plen = sizeof(AUTH_TOKEN_PREFIX) - 1;
	const char *end = NULL;
	size_t got = 0;
	if (token == NULL || len != AUTH_TOKEN_LEN || memcmp(token, AUTH_TOKEN_PREFIX, plen) != 0 ||
	    !cr_base64_alphabet_ok(token + plen, TOKEN_B64_LEN, true))
		return CR_ERR_AUTH_INVALID;
	if (sodium_base642bin(raw, AUTH_TOKEN_RAW_BYTES, token + plen, TOKEN_B64_LEN,
			      NULL, &got, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    got != AUTH_TOKEN_RAW_BYTES || end != token + len) {
		sodium_memzero(raw, AUTH_TOKEN_RAW_BYTES);
		return CR_ERR_AUTH_INVALID;
	}
	return CR_OK;
}

/* Fills *out from a row of (id, role, tenant, name, created_ms, revoked_ms). */
static cr_err token_row_read(sqlite3_stmt *st, struct auth_token_info *out)
{
	struct auth_token_info t = { 0 };
	const char *role = (const char *)sqlite3_column_text(st, 1);
	const char *tenant = (const char *)sqlite3_column_text(st, 2);
	const char *name = (const char *)sqlite3_column_text(st, 3);

	if (auth_role_parse(role, &t.role) != CR_OK || tenant == NULL || name == NULL ||
	    strlen(tenant) > AUTH_TENANT_MAX || strlen(name) > AUTH_NAME_MAX)
		return CR_ERR_STORE;
	t.id = sqlite3_column_int64(st, 0);
	memcpy(t.tenant, tenant, strlen(tenant) + 1);
	memcpy(t.name, name, strlen(name) + 1);
	t.created = sqlite3_column_int64(st, 4);
	t.revoked = sqlite3_column_type(st, 5) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 5);
	*out = t;
	return CR_OK;
}

#define TOKEN_COLUMNS "id, role, tenant, name, created_ms, revoked_ms"

/* Reads token `id` (inside or outside a transaction). CR_ERR_NOT_FOUND if absent. */
static cr_err token_get(struct store *s, int64_t id, struct auth_token_info *out)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (sqlite3_prepare_v2(s->db, "SELECT " TOKEN_COLUMNS " FROM api_tokens WHERE id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		rc = token_row_read(st, out);
	else
		rc = step == SQLITE_DONE ? CR_ERR_NOT_FOUND : store_err(step);
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * The audit leaf of a token issue or revoke (I5, docs/spec/invariants.md), appended inside the
 * transaction that changes api_tokens so the leaf and the change commit
 * together or not at all. It carries the token's id, role and tenant, never
 * the token or its hash.
 */
static cr_err auth_audit_hook(struct app *a, const char *event,
			      const struct auth_token_info *t)
{
	char detail[128];
	struct audit_entry e = { .event_type = event, .actor_role = "admin", .actor_id = "cli",
				 .tenant = t->tenant, .detail = detail };
	snprintf(detail, sizeof(detail), "token=%lld role=%s", (long long)t->id, auth_role_name(t->role));
	return app_audit(a, &e, NULL);
}

/* Inserts the record with its hash; sets t->id. Inside the caller's transaction. */
static cr_err token_insert(struct store *s, const uint8_t hash[static 32],
			   struct auth_token_info *t)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO api_tokens(hash, name, role, tenant, created_ms)"
			       " VALUES (?1, ?2, ?3, ?4, ?5)", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, auth_role_name(t->role), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, t->created);
	rc = store_err(sqlite3_step(st));
	if (rc == CR_OK)
		t->id = sqlite3_last_insert_rowid(s->db);
out:
	sqlite3_finalize(st);
	return rc;
}

/* Validates the inputs of an issue and fills the record to be stored. */
static cr_err token_info_init(enum auth_role role, const char *tenant, const char *name,
			      struct auth_token_info *t)
{
	cr_err rc;
	if (strcmp(auth_role_name(role), "unknown") == 0)
		return CR_ERR_ROLE;
	rc = auth_tenant_check(tenant);
	if (rc == CR_OK)
		rc = auth_name_check(name);
	if (rc != CR_OK)
		return rc;
	memset(t, 0, sizeof(*t));
	t->role = role;
	memcpy(t->tenant, tenant, strlen(tenant) + 1);
	memcpy(t->name, name, strlen(name) + 1);
	t->created = cr_time_now();
	return CR_OK;
}

cr_err auth_token_issue(struct app *a, enum auth_role role, const char *tenant,
			const char *name, char token_out[static AUTH_TOKEN_STRLEN],
			struct auth_token_info *info_out)
{
	uint8_t raw[AUTH_TOKEN_RAW_BYTES], hash[crypto_hash_sha256_BYTES];
	char token[AUTH_TOKEN_STRLEN];
	const size_t plen = sizeof(AUTH_TOKEN_PREFIX) - 1;
	struct auth_token_info t;
	cr_err rc = token_info_init(role, tenant, name, &t);

	if (rc != CR_OK)
		goto out;
	randombytes_buf(raw, sizeof(raw));
	token_hash(raw, hash);
	memcpy(token, AUTH_TOKEN_PREFIX, plen);
	sodium_bin2base64(token + plen, sizeof(token) - plen, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	rc = app_begin(a);
	if (rc != CR_OK)
		goto out;
	rc = token_insert(a->store, hash, &t);
	if (rc == CR_OK)
		rc = auth_audit_hook(a, "token.issue", &t);
	rc = app_end(a, rc);
out:
	if (rc == CR_OK) {
		memcpy(token_out, token, AUTH_TOKEN_STRLEN);
		*info_out = t;
	}
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(token, sizeof(token));
	return rc;
}

/* Sets revoked_ms (now) on t->id and in *t. Inside the caller's transaction. */
static cr_err token_mark_revoked(struct store *s, struct auth_token_info *t)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	if (sqlite3_prepare_v2(s->db, "UPDATE api_tokens SET revoked_ms = ?2 WHERE id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	t->revoked = cr_time_now();
	sqlite3_bind_int64(st, 1, t->id);
	sqlite3_bind_int64(st, 2, t->revoked);
	rc = store_err(sqlite3_step(st));
	if (rc == CR_OK && sqlite3_changes(s->db) != 1)
		rc = CR_ERR_NOT_FOUND;
out:
	sqlite3_finalize(st);
	return rc;
}

cr_err auth_token_revoke(struct app *a, int64_t id, struct auth_token_info *info_out)
{
	struct auth_token_info t;
	cr_err rc = app_begin(a);
	if (rc != CR_OK)
		return rc;
	rc = token_get(a->store, id, &t);
	if (rc == CR_OK && t.revoked != 0)
		rc = CR_ERR_TOKEN_REVOKED;
	if (rc == CR_OK)
		rc = token_mark_revoked(a->store, &t);
	if (rc == CR_OK)
		rc = auth_audit_hook(a, "token.revoke", &t);
	rc = app_end(a, rc);
	if (rc != CR_OK)
		return rc;
	if (info_out)
		*info_out = t;
	return CR_OK;
}

cr_err auth_token_list(struct store *s, struct auth_token_info **out, size_t *n_out)
{
	sqlite3_stmt *st = NULL;
	struct auth_token_info *v = NULL;
	size_t n = 0, cap = 0;
	cr_err rc = CR_ERR_STORE;
	int step;

	if (sqlite3_prepare_v2(s->db, "SELECT " TOKEN_COLUMNS " FROM api_tokens ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	rc = CR_OK;
	while (rc == CR_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = cr_xrealloc(v, cap * sizeof(*v));
		}
		rc = token_row_read(st, &v[n]);
		n += rc == CR_OK;
	}
	if (rc == CR_OK && step != SQLITE_DONE)
		rc = store_err(step);
out:
	sqlite3_finalize(st);
	if (rc != CR_OK) {
		free(v);
		return rc;
	}
	*out = v;
	*n_out = n;
	return CR_OK;
}

/* Looks the hash up; CR_ERR_AUTH_INVALID if no active token has it. */
static cr_err token_find_by_hash(struct store *s, const uint8_t hash[static 32],
				 struct auth_token_info *out)
{
	/* every request checks its token: kept prepared */
	sqlite3_stmt *st = store_cached(s, "SELECT " TOKEN_COLUMNS ", hash FROM api_tokens WHERE hash = ?1");
	struct auth_token_info t;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (st == NULL)
		goto out;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? CR_ERR_AUTH_INVALID : store_err(step);
		goto out;
	}
	rc = token_row_read(st, &t);
	if (rc != CR_OK)
		goto out;
	if (sqlite3_column_bytes(st, 6) != 32 ||
	    sodium_memcmp(sqlite3_column_blob(st, 6), hash, 32) != 0 || t.revoked != 0) {
		rc = CR_ERR_AUTH_INVALID;
		goto out;
	}
	*out = t;
out:
	store_cached_done(st);
	return rc;
}

cr_err auth_token_verify(struct store *s, const char *token, size_t token_len,
			 struct auth_token_info *out)
{
	uint8_t raw[AUTH_TOKEN_RAW_BYTES], hash[crypto_hash_sha256_BYTES];
	cr_err rc = token_decode(token, token_len, raw);
	if (rc != CR_OK)
		goto out;
	token_hash(raw, hash);
	rc = token_find_by_hash(s, hash, out);
out:
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

cr_err auth_bearer_parse(const char *header, const char **token, size_t *len)
{
	static const char scheme[] = "bearer ";
	const size_t slen = sizeof(scheme) - 1;
	size_t n;
	if (header == NULL)
		return CR_ERR_AUTH_MISSING;
	n = strlen(header);
	if (n <= slen || strncasecmp(header, scheme, slen) != 0 || header[slen] == ' ')
		return CR_ERR_AUTH_INVALID;
	/* RFC 6750's b64token: no space or control byte anywhere in it */
	for (size_t i = slen; i < n; i++)
		if ((unsigned char)header[i] <= 0x20 || header[i] == 0x7f)
			return CR_ERR_AUTH_INVALID;
	*token = header + slen;
	*len = n - slen;
	return CR_OK;
}
