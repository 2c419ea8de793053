/* Unit tests for crypto/keys.c: key files are created once with safe modes
 * and never overwritten (I8), loading refuses unsafe, missing and corrupt
 * files with the exact code, subkeys are separated per brand, use and
 * version (R32, R33) by the documented derivation, and sign.key reproduces
 * the Go signed-note known answers (tests/vectors/signed-note). */
#include "test_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/crypto.h"

/* -------------------------------------------------------------- helpers */

struct fixture {
	char root[64]; /* a fresh temporary folder */
	char keys[96]; /* root/keys, not created */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/cr-test-keys-XXXXXX");
	if (mkdtemp(f->root) == NULL)
		return -1;
	snprintf(f->keys, sizeof(f->keys), "%s/keys", f->root);
	*state = f;
	return 0;
}

static void remove_in(const char *dir, const char *name)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	chmod(f->keys, 0700);
	remove_in(f->keys, "master.key");
	remove_in(f->keys, "sign.key");
	remove_in(f->keys, "x");
	rmdir(f->keys);
	remove_in(f->root, "keys");  /* when keys is a symbolic link */
	remove_in(f->root, "other");
	rmdir(f->root);
	free(f);
	return 0;
}

static void path_in(char *buf, size_t cap, const char *dir, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
}

/* Replaces a file's bytes (the file is recreated 0600). */
static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char p[160];
	path_in(p, sizeof(p), dir, name);
	unlink(p);
	int fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static char *read_in(const char *dir, const char *name, size_t *len)
{
	char p[160];
	path_in(p, sizeof(p), dir, name);
	return test_read_file(p, len);
}

static mode_t mode_of(const char *dir, const char *name)
{
	char p[160];
	struct stat st;
	path_in(p, sizeof(p), dir, name);
	assert_int_equal(lstat(p, &st), 0);
	return st.st_mode & 07777;
}

static void create_ok(struct fixture *f)
{
	assert_int_equal(crypto_keys_create(f->keys, "cleanroom.test/audit"), CR_OK);
}

static void assert_open_fails(struct fixture *f, cr_err want)
{
	struct crypto_keyring *kr = NULL;
	assert_int_equal(crypto_keyring_open(f->keys, &kr), want);
	assert_null(kr);
}

/* ------------------------------------------------------------ creation */

static void test_create_makes_private_files(void **state)
{
	struct fixture *f = *state;
	size_t len = 0;
	char *text;
	struct stat st;

	create_ok(f);
	assert_int_equal(stat(f->keys, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(mode_of(f->keys, "master.key"), 0600);
	assert_int_equal(mode_of(f->keys, "sign.key"), 0600);
	free(read_in(f->keys, "master.key", &len));
	assert_int_equal(len, 32);
	text = read_in(f->keys, "sign.key", &len);
	assert_non_null(text);
	assert_true(strncmp(text, "PRIVATE+KEY+cleanroom.test/audit+", 33) == 0);
	assert_int_equal(text[len - 1], '\n');
	free(text);
}

static void test_create_twice_refuses_and_keeps_files(void **state)
{
	struct fixture *f = *state;
	size_t m_len, s_len, m2_len, s2_len;

	create_ok(f);
	char *m = read_in(f->keys, "master.key", &m_len);
	char *s = read_in(f->keys, "sign.key", &s_len);
	assert_int_equal(crypto_keys_create(f->keys, "cleanroom.test/audit"), CR_ERR_KEY_EXISTS);
	char *m2 = read_in(f->keys, "master.key", &m2_len);
	char *s2 = read_in(f->keys, "sign.key", &s2_len);
	assert_int_equal(m_len, m2_len);
	assert_bytes_equal(m2, m, m_len);
	assert_int_equal(s_len, s2_len);
	assert_bytes_equal(s2, s, s_len);
	free(m);
	free(s);
	free(m2);
	free(s2);
}

/* Only sign.key is there: refused before master.key is written. */
static void test_create_refuses_when_one_file_exists(void **state)
{
	struct fixture *f = *state;
	char p[160];

	assert_int_equal(mkdir(f->keys, 0700), 0);
	write_file(f->keys, "sign.key", "x", 1);
	assert_int_equal(crypto_keys_create(f->keys, "n"), CR_ERR_KEY_EXISTS);
	path_in(p, sizeof(p), f->keys, "master.key");
	assert_int_equal(access(p, F_OK), -1);
	/* and a dangling symbolic link counts as existing too */
	remove_in(f->keys, "sign.key");
	path_in(p, sizeof(p), f->keys, "sign.key");
	assert_int_equal(symlink("/nonexistent/target", p), 0);
	assert_int_equal(crypto_keys_create(f->keys, "n"), CR_ERR_KEY_EXISTS);
}

static void test_create_in_existing_private_dir(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(mkdir(f->keys, 0700), 0);
	create_ok(f);
}

static void test_create_refuses_open_dir(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(mkdir(f->keys, 0700), 0);
	assert_int_equal(chmod(f->keys, 0750), 0);
	assert_int_equal(crypto_keys_create(f->keys, "n"), CR_ERR_KEY_PERMS);
}

static void test_create_refuses_bad_names_and_paths(void **state)
{
	struct fixture *f = *state;
	char long_name[CRYPTO_KEY_NAME_MAX + 2];
	char p[160];

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(crypto_keys_create(f->keys, ""), CR_ERR_INVALID_ARG);
	assert_int_equal(crypto_keys_create(f->keys, "has space"), CR_ERR_INVALID_ARG);
	assert_int_equal(crypto_keys_create(f->keys, "a+b"), CR_ERR_INVALID_ARG);
	assert_int_equal(crypto_keys_create(f->keys, "tab\there"), CR_ERR_INVALID_ARG);
	assert_int_equal(crypto_keys_create(f->keys, "caf\xc3\xa9"), CR_ERR_INVALID_ARG);
	assert_int_equal(crypto_keys_create(f->keys, long_name), CR_ERR_INVALID_ARG);
	assert_int_equal(crypto_keys_create(f->keys, NULL), CR_ERR_INVALID_ARG);
	/* nothing was created for a refused name */
	assert_int_equal(access(f->keys, F_OK), -1);
	long_name[CRYPTO_KEY_NAME_MAX] = '\0';
	assert_int_equal(crypto_keys_create(f->keys, long_name), CR_OK);
	/* a parent that does not exist */
	path_in(p, sizeof(p), f->root, "missing/keys");
	assert_int_equal(crypto_keys_create(p, "n"), CR_ERR_IO);
}

/* -------------------------------------------------------------- loading */

static void test_open_roundtrip_and_sign(void **state)
{
	struct fixture *f = *state;
	struct crypto_keyring *kr = NULL;
	const uint8_t msg[] = "checkpoint body\n";
	uint8_t sig[CRYPTO_SIG_BYTES];

	create_ok(f);
	assert_int_equal(crypto_keyring_open(f->keys, &kr), CR_OK);
	assert_string_equal(crypto_keyring_key_name(kr), "cleanroom.test/audit");
	assert_int_equal(crypto_keyring_sign(kr, msg, sizeof(msg) - 1, sig), CR_OK);
	assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof(msg) - 1,
						     crypto_keyring_public_key(kr)), 0);
	crypto_keyring_free(kr);
	crypto_keyring_free(NULL);
}

static void test_open_missing(void **state)
{
	struct fixture *f = *state;

	assert_open_fails(f, CR_ERR_KEY_MISSING); /* no folder */
	create_ok(f);
	remove_in(f->keys, "sign.key");
	assert_open_fails(f, CR_ERR_KEY_MISSING);
	remove_in(f->keys, "master.key");
	assert_open_fails(f, CR_ERR_KEY_MISSING);
}

static void test_open_refuses_unsafe_modes(void **state)
{
	struct fixture *f = *state;
	char p[160];

	create_ok(f);
	path_in(p, sizeof(p), f->keys, "master.key");
	assert_int_equal(chmod(p, 0644), 0);
	assert_open_fails(f, CR_ERR_KEY_PERMS);
	assert_int_equal(chmod(p, 0400), 0); /* stricter is fine */
	struct crypto_keyring *kr = NULL;
	assert_int_equal(crypto_keyring_open(f->keys, &kr), CR_OK);
	crypto_keyring_free(kr);
	assert_int_equal(chmod(p, 0600), 0);

	path_in(p, sizeof(p), f->keys, "sign.key");
	assert_int_equal(chmod(p, 0640), 0);
	assert_open_fails(f, CR_ERR_KEY_PERMS);
	assert_int_equal(chmod(p, 0600), 0);

	assert_int_equal(chmod(f->keys, 0755), 0);
	assert_open_fails(f, CR_ERR_KEY_PERMS);
	assert_int_equal(chmod(f->keys, 0700), 0);
}

static void test_open_refuses_links_and_special_files(void **state)
{
	struct fixture *f = *state;
	char p[160], q[160];

	create_ok(f);
	/* master.key as a symbolic link to a perfectly good key file */
	path_in(p, sizeof(p), f->keys, "master.key");
	path_in(q, sizeof(q), f->keys, "x");
	assert_int_equal(rename(p, q), 0);
	assert_int_equal(symlink(q, p), 0);
	assert_open_fails(f, CR_ERR_KEY_PERMS);
	unlink(p);
	/* a FIFO must not block the open, and is refused */
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_open_fails(f, CR_ERR_KEY_PERMS);
	unlink(p);
	/* a folder where the file should be */
	assert_int_equal(mkdir(p, 0700), 0);
	assert_open_fails(f, CR_ERR_KEY_PERMS);
	rmdir(p);
	assert_int_equal(rename(q, p), 0);

	/* the keys folder itself as a symbolic link */
	path_in(p, sizeof(p), f->root, "other");
	assert_int_equal(rename(f->keys, p), 0);
	assert_int_equal(symlink(p, f->keys), 0);
	assert_open_fails(f, CR_ERR_KEY_PERMS);
	assert_int_equal(crypto_keys_create(f->keys, "n"), CR_ERR_KEY_PERMS);
	unlink(f->keys);
	assert_int_equal(rename(p, f->keys), 0);
	struct crypto_keyring *kr = NULL;
	assert_int_equal(crypto_keyring_open(f->keys, &kr), CR_OK);
	crypto_keyring_free(kr);
}

static void test_open_refuses_corrupt_master(void **state)
{
	struct fixture *f = *state;
	uint8_t bytes[33] = { 0 };

	create_ok(f);
	write_file(f->keys, "master.key", bytes, 31);
	assert_open_fails(f, CR_ERR_KEY_CORRUPT);
	write_file(f->keys, "master.key", bytes, 33);
	assert_open_fails(f, CR_ERR_KEY_CORRUPT);
	write_file(f->keys, "master.key", bytes, 0);
	assert_open_fails(f, CR_ERR_KEY_CORRUPT);
	write_file(f->keys, "master.key", bytes, 32);
	struct crypto_keyring *kr = NULL;
	assert_int_equal(crypto_keyring_open(f->keys, &kr), CR_OK);
	crypto_keyring_free(kr);
}

/* The Go reference signer key from tests/vectors/signed-note/known-answers.md. */
#define GO_SIGNER "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
#define GO_VERIFIER_B64 "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define GO_TEXT "If you think cryptography is the answer to your problem,\n" \
		"then you don't know what your problem is.\n"
#define GO_SIG_B64 "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="

static void test_open_go_signer_key_known_answer(void **state)
{
	struct fixture *f = *state;
	struct crypto_keyring *kr = NULL;
	uint8_t verifier[33], blob[68], sig[CRYPTO_SIG_BYTES];
	size_t n = 0;

	create_ok(f);
	write_file(f->keys, "sign.key", GO_SIGNER, strlen(GO_SIGNER)); /* no newline */
	assert_int_equal(crypto_keyring_open(f->keys, &kr), CR_OK);
	assert_string_equal(crypto_keyring_key_name(kr), "PeterNeumann");
	assert_int_equal(cr_base64_decode(GO_VERIFIER_B64, strlen(GO_VERIFIER_B64), verifier,
					  sizeof(verifier), &n), CR_OK);
	assert_int_equal(n, 33);
	assert_bytes_equal(crypto_keyring_public_key(kr), verifier + 1, 32);
	assert_int_equal(crypto_keyring_sign(kr, (const uint8_t *)GO_TEXT, strlen(GO_TEXT), sig),
			 CR_OK);
	assert_int_equal(cr_base64_decode(GO_SIG_B64, strlen(GO_SIG_B64), blob, sizeof(blob), &n),
			 CR_OK);
	assert_int_equal(n, 68);
	assert_bytes_equal(blob, "\xc7\x4f\x20\xa3", 4); /* key id */
	assert_bytes_equal(sig, blob + 4, 64);
	crypto_keyring_free(kr);
}

static void test_open_refuses_corrupt_sign_key(void **state)
{
	struct fixture *f = *state;
	static const char *bad[] = {
		"",
		"PRIVATE+KEY+PeterNeumann+c74f20a3",                 /* no key */
		"PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
		"PRIVATE+KEY+PeterNeumanm+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
		"PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF",
		"PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
		"PRIVATE+KEY+PeterNeumann+c74f20+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
		"PUBLIC+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
		"PRIVATE+KEY++c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
		GO_SIGNER "\n\n",
		GO_SIGNER " ",
		"PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFzAAAA",
	};

	create_ok(f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(f->keys, "sign.key", bad[i], strlen(bad[i]));
		assert_open_fails(f, CR_ERR_KEY_CORRUPT);
	}
	/* longer than any valid file */
	char big[600];
	memset(big, 'A', sizeof(big));
	write_file(f->keys, "sign.key", big, sizeof(big));
	assert_open_fails(f, CR_ERR_KEY_CORRUPT);
	/* and the good one with its newline still loads */
	write_file(f->keys, "sign.key", GO_SIGNER "\n", strlen(GO_SIGNER) + 1);
	struct crypto_keyring *kr = NULL;
	assert_int_equal(crypto_keyring_open(f->keys, &kr), CR_OK);
	crypto_keyring_free(kr);
}

/* ------------------------------------------------------------- subkeys */

static void derive(const struct crypto_keyring *kr, uint64_t brand, enum crypto_key_use use,
		   uint32_t version, uint8_t out[32])
{
	assert_int_equal(crypto_subkey_derive(kr, brand, use, version, out), CR_OK);
}

static void test_subkeys_are_separated(void **state)
{
	struct fixture *f = *state;
	struct crypto_keyring *kr = NULL;
	uint8_t a[32], b[32], c[32], d[32], e[32], again[32];

	create_ok(f);
	assert_int_equal(crypto_keyring_open(f->keys, &kr), CR_OK);
	derive(kr, 1, CRYPTO_USE_PSEUDONYM, 1, a);
	derive(kr, 2, CRYPTO_USE_PSEUDONYM, 1, b); /* R32: another brand */
	derive(kr, 1, CRYPTO_USE_PSEUDONYM, 2, c); /* R33: another version */
	derive(kr, 1, CRYPTO_USE_PSI, 1, d);       /* another use */
	/* (use, version) packing must not collide: use 1 version 2^32-1 vs use 2 version 0 */
	derive(kr, 1, CRYPTO_USE_PSEUDONYM, UINT32_MAX, e);
	assert_memory_not_equal(a, b, 32);
	assert_memory_not_equal(a, c, 32);
	assert_memory_not_equal(a, d, 32);
	assert_memory_not_equal(b, c, 32);
	assert_memory_not_equal(c, d, 32);
	derive(kr, 1, CRYPTO_USE_PSI, 0, again);
	assert_memory_not_equal(e, again, 32);
	assert_int_equal(crypto_subkey_derive(kr, 1, (enum crypto_key_use)0, 1, again),
			 CR_ERR_INVALID_ARG);
	assert_int_equal(crypto_subkey_derive(kr, 1, (enum crypto_key_use)6, 1, again),
			 CR_ERR_INVALID_ARG);
	crypto_keyring_free(kr);

	/* reopening gives the same keys */
	assert_int_equal(crypto_keyring_open(f->keys, &kr), CR_OK);
	derive(kr, 1, CRYPTO_USE_PSEUDONYM, 1, again);
	assert_bytes_equal(again, a, 32);
	derive(kr, 2, CRYPTO_USE_PSEUDONYM, 1, again);
	assert_bytes_equal(again, b, 32);
	crypto_keyring_free(kr);
}

/* The derivation documented in keys.c, recomputed here from master.key with
 * libsodium's KDF directly: a change to it would orphan stored pseudonyms. */
static void test_subkey_derivation_is_as_documented(void **state)
{
	struct fixture *f = *state;
	struct crypto_keyring *kr = NULL;
	uint8_t master[32], brand_key[32], want[32], got[32];
	const uint64_t brand = 0x0102030405060708ULL;

	for (size_t i = 0; i < 32; i++)
		master[i] = (uint8_t)(0xa0 + i);
	create_ok(f);
	write_file(f->keys, "master.key", master, sizeof(master));
	assert_int_equal(crypto_keyring_open(f->keys, &kr), CR_OK);
	derive(kr, brand, CRYPTO_USE_LINK, 7, got);
	assert_int_equal(crypto_kdf_derive_from_key(brand_key, 32, brand, "crbrand1", master), 0);
	assert_int_equal(crypto_kdf_derive_from_key(want, 32, (uint64_t)CRYPTO_USE_LINK << 32 | 7,
						    "crusekv1", brand_key), 0);
	assert_bytes_equal(got, want, 32);
	crypto_keyring_free(kr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_makes_private_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_twice_refuses_and_keeps_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_refuses_when_one_file_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_in_existing_private_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_refuses_open_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_refuses_bad_names_and_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_roundtrip_and_sign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_unsafe_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_links_and_special_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_corrupt_master, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_go_signer_key_known_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_corrupt_sign_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subkeys_are_separated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subkey_derivation_is_as_documented, setup, teardown),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
