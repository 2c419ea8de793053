/* Unit tests for cleanroom/auth.c: token format, issue/verify/revoke/list,
 * hash-only storage (I8), roles and tenants, bearer header parsing, and the
 * exact error of every refusal. A token issue or revoke that fails stores
 * nothing (I7). */
#include <unistd.h>

#include <sodium.h>

#include "test_util.h"
#include "cleanroom/app.h"
#include "cleanroom/auth.h"

struct fixture {
	char dir[64];
	char data[96];
	struct store *store;   /* borrowed from ap */
	struct app *ap;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_true(sodium_init() >= 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/cr-auth-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
	assert_int_equal(app_init_dir(f->data, "test.example/audit", &f->ap), CR_OK);
	f->store = f->ap->store;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	app_close(f->ap);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int count_rows(struct store *s)
{
	sqlite3_stmt *st;
	int n;
	assert_int_equal(sqlite3_prepare_v2(s->db, "SELECT count(*) FROM api_tokens", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void test_role_names_roundtrip(void **state)
{
	(void)state;
	static const char *const names[] = { "admin", "brand", "partner", "officer" };
	enum auth_role r;
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(auth_role_parse(names[i], &r), CR_OK);
		assert_string_equal(auth_role_name(r), names[i]);
	}
	r = AUTH_ROLE_BRAND;
	assert_int_equal(auth_role_parse("Admin", &r), CR_ERR_ROLE);
	assert_int_equal(auth_role_parse("", &r), CR_ERR_ROLE);
	assert_int_equal(auth_role_parse(NULL, &r), CR_ERR_ROLE);
	assert_int_equal(r, AUTH_ROLE_BRAND); /* untouched on failure */
	assert_string_equal(auth_role_name(AUTH_ROLE_ADMIN | AUTH_ROLE_BRAND), "unknown");
}

static void test_tenant_and_name_rules(void **state)
{
	(void)state;
	char long65[66];
	memset(long65, 'a', 65);
	long65[65] = '\0';
	assert_int_equal(auth_tenant_check("acme"), CR_OK);
	assert_int_equal(auth_tenant_check("acme-cn.2_b"), CR_OK);
	assert_int_equal(auth_tenant_check(long65 + 1), CR_OK); /* 64 */
	assert_int_equal(auth_tenant_check(long65), CR_ERR_TENANT);
	assert_int_equal(auth_tenant_check(""), CR_ERR_TENANT);
	assert_int_equal(auth_tenant_check("-acme"), CR_ERR_TENANT);
	assert_int_equal(auth_tenant_check("Acme"), CR_ERR_TENANT);
	assert_int_equal(auth_tenant_check("ac me"), CR_ERR_TENANT);
	assert_int_equal(auth_tenant_check("acme/x"), CR_ERR_TENANT);
	assert_int_equal(auth_name_check("ci deploy key"), CR_OK);
	assert_int_equal(auth_name_check("品牌 token"), CR_OK);
	assert_int_equal(auth_name_check(""), CR_ERR_TOKEN_NAME);
	assert_int_equal(auth_name_check(long65), CR_ERR_TOKEN_NAME);
	assert_int_equal(auth_name_check("line\nbreak"), CR_ERR_TOKEN_NAME);
	assert_int_equal(auth_name_check("bad \xff utf8"), CR_ERR_TOKEN_NAME);
}

static void test_issue_then_verify(void **state)
{
	struct fixture *f = *state;
	char token[AUTH_TOKEN_STRLEN];
	struct auth_token_info t, who;
	assert_int_equal(auth_token_issue(f->ap, AUTH_ROLE_BRAND, "acme", "ci", token, &t), CR_OK);
	assert_int_equal(strlen(token), AUTH_TOKEN_LEN);
	assert_memory_equal(token, "crt_", 4);
	for (size_t i = 4; i < AUTH_TOKEN_LEN; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
				       token[i]));
	assert_true(t.id > 0);
	assert_int_equal(t.role, AUTH_ROLE_BRAND);
	assert_string_equal(t.tenant, "acme");
	assert_string_equal(t.name, "ci");
	assert_int_equal(t.revoked, 0);
	assert_true(t.created > 0);

	assert_int_equal(auth_token_verify(f->store, token, strlen(token), &who), CR_OK);
	assert_int_equal(who.id, t.id);
	assert_int_equal(who.role, AUTH_ROLE_BRAND);
	assert_string_equal(who.tenant, "acme");
}

/* I8: only a hash is stored; neither the token nor its raw bytes. */
static void test_only_the_hash_is_stored(void **state)
{
	struct fixture *f = *state;
	char token[AUTH_TOKEN_STRLEN];
	struct auth_token_info t;
	uint8_t raw[AUTH_TOKEN_RAW_BYTES], want[32];
	size_t raw_len = 0;
	sqlite3_stmt *st;
	crypto_hash_sha256_state h;
	static const char domain[] = "cleanroom/api-token/v1";

	assert_int_equal(auth_token_issue(f->ap, AUTH_ROLE_ADMIN, "ops", "root", token, &t), CR_OK);
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), token + 4, AUTH_TOKEN_LEN - 4, NULL,
					   &raw_len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	assert_int_equal(raw_len, 32);
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const uint8_t *)domain, sizeof(domain));
	crypto_hash_sha256_update(&h, raw, sizeof(raw));
	crypto_hash_sha256_final(&h, want);

	assert_int_equal(sqlite3_prepare_v2(f->store->db,
					    "SELECT hash, name, role, tenant FROM api_tokens WHERE id = ?1",
					    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, t.id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_bytes(st, 0), 32);
	assert_bytes_equal(sqlite3_column_blob(st, 0), want, 32);
	sqlite3_finalize(st);

	/* Nothing in the database or its WAL holds the token or its raw bytes. */
	for (const char *sfx = ""; sfx; sfx = *sfx ? NULL : "-wal") {
		char path[160];
		size_t len = 0;
		snprintf(path, sizeof(path), "%s/cleanroom.db%s", f->data, sfx);
		char *file = test_read_file(path, &len);
		assert_non_null(file);
		assert_null(memmem(file, len, token, AUTH_TOKEN_LEN));
		assert_null(memmem(file, len, raw, sizeof(raw)));
		free(file);
	}
}

static void test_two_tokens_differ(void **state)
{
	struct fixture *f = *state;
	char a[AUTH_TOKEN_STRLEN], b[AUTH_TOKEN_STRLEN];
	struct auth_token_info ta, tb;
	assert_int_equal(auth_token_issue(f->ap, AUTH_ROLE_PARTNER, "adco", "x", a, &ta), CR_OK);
	assert_int_equal(auth_token_issue(f->ap, AUTH_ROLE_PARTNER, "adco", "x", b, &tb), CR_OK);
	assert_string_not_equal(a, b);
	assert_int_not_equal(ta.id, tb.id);
}

static void test_bad_input_is_refused_and_nothing_stored(void **state)
{
	struct fixture *f = *state;
	char token[AUTH_TOKEN_STRLEN] = "untouched";
	struct auth_token_info t = { .id = 77 };
	assert_int_equal(auth_token_issue(f->ap, (enum auth_role)0, "acme", "n", token, &t),
			 CR_ERR_ROLE);
	assert_int_equal(auth_token_issue(f->ap, AUTH_ROLE_BRAND, "ACME", "n", token, &t),
			 CR_ERR_TENANT);
	assert_int_equal(auth_token_issue(f->ap, AUTH_ROLE_BRAND, "acme", "", token, &t),
			 CR_ERR_TOKEN_NAME);
	assert_string_equal(token, "untouched");
	assert_int_equal(t.id, 77);
	assert_int_equal(count_rows(f->store), 0);
}

/* Found by fuzz_link (the same decoder): a token with a byte from 0x80 to
 * 0xff in place of a '_' decoded to the same 32 bytes (libsodium 1.0.18
 * reads those bytes as '_'), so it verified. A token has one spelling. */
static void test_token_has_one_spelling(void **state)
{
	struct fixture *f = *state;
	char token[AUTH_TOKEN_STRLEN], bad[AUTH_TOKEN_STRLEN];
	struct auth_token_info t, who;
	char *u = NULL;
	for (int i = 0; i < 64 && u == NULL; i++) {
		assert_int_equal(auth_token_issue(f->ap, AUTH_ROLE_OFFICER, "acme", "o", token, &t), CR_OK);
		u = strchr(token + 4, '_');
	}
	assert_non_null(u);
	assert_int_equal(auth_token_verify(f->store, token, strlen(token), &who), CR_OK);
	for (int b = 0x80; b <= 0xff; b++) {
		memcpy(bad, token, sizeof(token));
		bad[u - token] = (char)b;
		assert_int_equal(auth_token_verify(f->store, bad, strlen(bad), &who), CR_ERR_AUTH_INVALID);
	}
}

static void test_malformed_tokens_are_invalid(void **state)
{
	struct fixture *f = *state;
	char token[AUTH_TOKEN_STRLEN], bad[AUTH_TOKEN_STRLEN + 2];
	struct auth_token_info t, who = { .id = 5 };
	assert_int_equal(auth_token_issue(f->ap, AUTH_ROLE_OFFICER, "acme", "o", token, &t), CR_OK);

	/* wrong prefix */
	memcpy(bad, token, sizeof(token));
	bad[0] = 'x';
	assert_int_equal(auth_token_verify(f->store, bad, strlen(bad), &who), CR_ERR_AUTH_INVALID);
	/* truncated */
	assert_int_equal(auth_token_verify(f->store, token, AUTH_TOKEN_LEN - 1, &who), CR_ERR_AUTH_INVALID);
	/* one character changed (a valid-looking but unknown token) */
	memcpy(bad, token, sizeof(token));
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	assert_int_equal(auth_token_verify(f->store, bad, strlen(bad), &who), CR_ERR_AUTH_INVALID);
	/* not base64url */
	memcpy(bad, token, sizeof(token));
	bad[10] = '+';
	assert_int_equal(auth_token_verify(f->store, bad, strlen(bad), &who), CR_ERR_AUTH_INVALID);
	/* trailing garbage */
	memcpy(bad, token, sizeof(token));
	bad[AUTH_TOKEN_LEN] = 'A';
	bad[AUTH_TOKEN_LEN + 1] = '\0';
	assert_int_equal(auth_token_verify(f->store, bad, strlen(bad), &who), CR_ERR_AUTH_INVALID);
	/* A non-canonical last character (unused low bits set) decodes to the
	 * same bytes in lax decoders; it is refused, so one token has one spelling. */
	static const char b64url[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	memcpy(bad, token, sizeof(token));
	bad[AUTH_TOKEN_LEN - 1] = b64url[(strchr(b64url, token[AUTH_TOKEN_LEN - 1]) - b64url) ^ 1];
	assert_int_equal(auth_token_verify(f->store, bad, strlen(bad), &who), CR_ERR_AUTH_INVALID);
	assert_int_equal(auth_token_verify(f->store, "", 0, &who), CR_ERR_AUTH_INVALID);
	assert_int_equal(auth_token_verify(f->store, NULL, 0, &who), CR_ERR_AUTH_INVALID);
	assert_int_equal(who.id, 5); /* untouched on failure */
}

static void test_revoke(void **state)
{
	struct fixture *f = *state;
	char token[AUTH_TOKEN_STRLEN];
	struct auth_token_info t, r, who;
	assert_int_equal(auth_token_issue(f->ap, AUTH_ROLE_BRAND, "acme", "ci", token, &t), CR_OK);
	assert_int_equal(auth_token_revoke(f->ap, t.id, &r), CR_OK);
	assert_int_equal(r.id, t.id);
	assert_true(r.revoked >= t.created);
	/* Revocation takes effect at once, with the same answer as a made-up token. */
	assert_int_equal(auth_token_verify(f->store, token, strlen(token), &who), CR_ERR_AUTH_INVALID);
	assert_int_equal(auth_token_revoke(f->ap, t.id, &r), CR_ERR_TOKEN_REVOKED);
	assert_int_equal(auth_token_revoke(f->ap, t.id + 100, NULL), CR_ERR_NOT_FOUND);
	assert_int_equal(f->store->in_txn, 0);
}

static void test_list_shows_records_in_order(void **state)
{
	struct fixture *f = *state;
	char token[AUTH_TOKEN_STRLEN];
	struct auth_token_info t1, t2, *v = NULL;
	size_t n = 99;
	assert_int_equal(auth_token_list(f->store, &v, &n), CR_OK);
	assert_int_equal(n, 0);
	free(v);
	v = NULL;
	assert_int_equal(auth_token_issue(f->ap, AUTH_ROLE_ADMIN, "ops", "first", token, &t1), CR_OK);
	assert_int_equal(auth_token_issue(f->ap, AUTH_ROLE_PARTNER, "adco", "second", token, &t2), CR_OK);
	assert_int_equal(auth_token_revoke(f->ap, t1.id, NULL), CR_OK);
	assert_int_equal(auth_token_list(f->store, &v, &n), CR_OK);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].id, t1.id);
	assert_string_equal(v[0].name, "first");
	assert_true(v[0].revoked > 0);
	assert_int_equal(v[1].role, AUTH_ROLE_PARTNER);
	assert_string_equal(v[1].tenant, "adco");
	assert_int_equal(v[1].revoked, 0);
	free(v);
}

static void test_issue_in_open_transaction_is_refused(void **state)
{
	struct fixture *f = *state;
	char token[AUTH_TOKEN_STRLEN];
	struct auth_token_info t;
	assert_int_equal(store_begin(f->store), CR_OK);
	assert_int_equal(auth_token_issue(f->ap, AUTH_ROLE_ADMIN, "ops", "x", token, &t),
			 CR_ERR_INTERNAL);
	store_rollback(f->store);
	assert_int_equal(count_rows(f->store), 0);
}

static uint64_t leaves_of_type(struct fixture *f, const char *type)
{
	sqlite3_stmt *st;
	uint64_t n;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT count(*) FROM audit_leaves WHERE type = ?1",
					    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* I5: issue and revoke each append a leaf in their own transaction; a
 * refused issue appends none. */
static void test_i5_issue_and_revoke_are_audited(void **state)
{
	struct fixture *f = *state;
	char token[AUTH_TOKEN_STRLEN];
	struct auth_token_info t;
	assert_int_equal(auth_token_issue(f->ap, AUTH_ROLE_BRAND, "ACME", "n", token, &t), CR_ERR_TENANT);
	assert_int_equal(leaves_of_type(f, "token.issue"), 0);
	assert_int_equal(auth_token_issue(f->ap, AUTH_ROLE_BRAND, "acme", "ci", token, &t), CR_OK);
	assert_int_equal(leaves_of_type(f, "token.issue"), 1);
	assert_int_equal(auth_token_revoke(f->ap, t.id, NULL), CR_OK);
	assert_int_equal(leaves_of_type(f, "token.revoke"), 1);
	assert_int_equal(auth_token_revoke(f->ap, t.id, NULL), CR_ERR_TOKEN_REVOKED);
	assert_int_equal(leaves_of_type(f, "token.revoke"), 1);
}

static void test_bearer_header(void **state)
{
	(void)state;
	const char *tok = NULL;
	size_t len = 0;
	assert_int_equal(auth_bearer_parse(NULL, &tok, &len), CR_ERR_AUTH_MISSING);
	assert_int_equal(auth_bearer_parse("Bearer crt_abc", &tok, &len), CR_OK);
	assert_string_equal(tok, "crt_abc");
	assert_int_equal(len, 7);
	assert_int_equal(auth_bearer_parse("bearer crt_abc", &tok, &len), CR_OK);
	assert_int_equal(auth_bearer_parse("Bearer ", &tok, &len), CR_ERR_AUTH_INVALID);
	assert_int_equal(auth_bearer_parse("Bearer  crt_abc", &tok, &len), CR_ERR_AUTH_INVALID);
	assert_int_equal(auth_bearer_parse("Basic dXNlcjpwdw==", &tok, &len), CR_ERR_AUTH_INVALID);
	assert_int_equal(auth_bearer_parse("", &tok, &len), CR_ERR_AUTH_INVALID);
	assert_int_equal(auth_bearer_parse("crt_abc", &tok, &len), CR_ERR_AUTH_INVALID);
	/* found by fuzz_route: a space or control byte inside the token was
	 * handed on as part of it; it is another shape, refused here */
	assert_int_equal(auth_bearer_parse("Bearer crt_a Bearer b", &tok, &len), CR_ERR_AUTH_INVALID);
	assert_int_equal(auth_bearer_parse("Bearer crt_abc\t", &tok, &len), CR_ERR_AUTH_INVALID);
	assert_int_equal(auth_bearer_parse("Bearer crt_a\x7f", &tok, &len), CR_ERR_AUTH_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_role_names_roundtrip),
		cmocka_unit_test(test_tenant_and_name_rules),
		cmocka_unit_test_setup_teardown(test_issue_then_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_the_hash_is_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_tokens_differ, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_is_refused_and_nothing_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_tokens_are_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_has_one_spelling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_shows_records_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_in_open_transaction_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_i5_issue_and_revoke_are_audited, setup, teardown),
		cmocka_unit_test(test_bearer_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
