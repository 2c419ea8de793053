/* Unit tests for cleanroom/app.c's importer cache (app_importer): a brand's
 * importer is reused, a key-version change is seen at once, more brands
 * than slots evict without mixing keys up, and every cached importer gives
 * the same pseudonyms as a freshly built one. Subjects are made up. */
#include <sodium.h>

#include "test_util.h"
#include "cleanroom/app.h"
#include "cleanroom/registry.h"

#define BRANDS (APP_IMPORTERS + 3)

struct fx {
	char dir[64];
	struct app *a;
	int64_t brand[BRANDS];
	char subject[65]; /* a made-up SHA-256 digest in hex */
};

static int fx_setup(void **state)
{
	static const struct registry_actor admin = { "admin", "test" };
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t d[32];
	char data[96], name[16];
	assert_non_null(f);
	assert_true(sodium_init() >= 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/cr-app-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(data, sizeof(data), "%s/data", f->dir);
	assert_int_equal(app_init_dir(data, "test.example/audit", &f->a), CR_OK);
	for (int i = 0; i < BRANDS; i++) {
		snprintf(name, sizeof(name), "brand%d", i);
		assert_int_equal(registry_brand_create(f->a, &admin, name, &f->brand[i]), CR_OK);
	}
	randombytes_buf(d, sizeof(d));
	sodium_bin2hex(f->subject, sizeof(f->subject), d, sizeof(d));
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	app_close(f->a);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The subject's pseudonym under a brand's importer freshly built, as the reference. */
static void fresh_pseudonym(struct fx *f, int64_t brand, struct crypto_pseudonym *out, size_t *n_alias)
{
	struct consent_importer *imp = NULL;
	struct crypto_pseudonym al[CONSENT_KEY_VERSIONS_MAX];
	assert_int_equal(consent_importer_new(f->a->consent, f->a->keys, brand, NULL, &imp), CR_OK);
	assert_int_equal(consent_importer_subject(imp, f->subject, 64, "email", out, al, n_alias), CR_OK);
	consent_importer_free(imp);
}

static void assert_same_as_fresh(struct fx *f, int64_t brand)
{
	struct crypto_pseudonym got, want, al[CONSENT_KEY_VERSIONS_MAX];
	size_t n_got = 0, n_want = 0;
	assert_int_equal(registry_subject(f->a, brand, f->subject, "email", &got, al, &n_got), CR_OK);
	fresh_pseudonym(f, brand, &want, &n_want);
	assert_bytes_equal(got.bytes, want.bytes, CRYPTO_PSEUDONYM_BYTES);
	assert_int_equal(got.key_version, want.key_version);
	assert_int_equal(n_got, n_want);
}

static void test_importer_reused_per_brand(void **state)
{
	struct fx *f = *state;
	struct consent_importer *a1 = NULL, *a2 = NULL, *b = NULL;
	assert_int_equal(app_importer(f->a, f->brand[0], &a1), CR_OK);
	assert_int_equal(app_importer(f->a, f->brand[1], &b), CR_OK);
	assert_int_equal(app_importer(f->a, f->brand[0], &a2), CR_OK);
	assert_ptr_equal(a1, a2);
	assert_ptr_not_equal(a1, b);
	assert_same_as_fresh(f, f->brand[0]);
	assert_same_as_fresh(f, f->brand[1]);
	/* an unknown brand is refused, not cached */
	assert_int_not_equal(app_importer(f->a, 999999, &b), CR_OK);
}

/* A key-version change (a rotation, here by plain SQL) is seen on the next call. */
static void test_importer_follows_key_version(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym before, after, al[CONSENT_KEY_VERSIONS_MAX];
	size_t n = 0;
	char sql[96];
	assert_int_equal(registry_subject(f->a, f->brand[2], f->subject, "email", &before, al, &n), CR_OK);
	assert_int_equal(before.key_version, 1);
	assert_int_equal(n, 0);
	snprintf(sql, sizeof(sql), "UPDATE brands SET key_version = 2 WHERE id = %lld", (long long)f->brand[2]);
	assert_int_equal(store_exec(f->a->store, sql), CR_OK);
	assert_int_equal(registry_subject(f->a, f->brand[2], f->subject, "email", &after, al, &n), CR_OK);
	assert_int_equal(after.key_version, 2);
	assert_int_equal(n, 1);
	assert_memory_not_equal(after.bytes, before.bytes, CRYPTO_PSEUDONYM_BYTES);
	assert_bytes_equal(al[0].bytes, before.bytes, CRYPTO_PSEUDONYM_BYTES);
	assert_same_as_fresh(f, f->brand[2]);
}

/* More brands than slots, twice round: each answer still matches its own brand's keys. */
static void test_importer_eviction_keeps_brands_apart(void **state)
{
	struct fx *f = *state;
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < BRANDS; i++)
			assert_same_as_fresh(f, f->brand[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_importer_reused_per_brand, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_importer_follows_key_version, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_importer_eviction_keeps_brands_apart, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
