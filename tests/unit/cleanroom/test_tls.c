/* Unit tests for cleanroom/tls.c: the self-signed localhost certificate
 * (P-256 key, SAN localhost and 127.0.0.1, one year, verifiable as its own
 * trust anchor the way `curl --cacert` uses it), file modes and O_EXCL
 * creation (I8), and refusals of bad, mismatched and exposed PEM files. */
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "test_util.h"
#include "cleanroom/tls.h"

struct fixture {
	char dir[64];
	char cert[128];
	char key[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/cr-tls-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->cert, sizeof(f->cert), "%s/tls/cert.pem", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/tls/key.pem", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	test_rm_rf(f->dir);
	free(f);
	return 0;
}

static unsigned mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 0777;
}

static X509 *cert_load(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;
	assert_non_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

static void test_create_modes_and_no_overwrite(void **state)
{
	struct fixture *f = *state;
	char tls_dir[96];
	size_t len1 = 0, len2 = 0;
	char *before, *after;
	assert_int_equal(tls_selfsigned_create(f->dir), CR_OK);
	snprintf(tls_dir, sizeof(tls_dir), "%s/tls", f->dir);
	assert_int_equal(mode_of(tls_dir), 0700);
	assert_int_equal(mode_of(f->key), 0600);
	assert_int_equal(mode_of(f->cert), 0644);
	before = test_read_file(f->key, &len1);
	assert_non_null(before);
	assert_non_null(strstr(before, "-----BEGIN PRIVATE KEY-----"));
	/* A second run changes nothing (I8: keys are never overwritten). */
	assert_int_equal(tls_selfsigned_create(f->dir), CR_ERR_EXISTS);
	after = test_read_file(f->key, &len2);
	assert_int_equal(len1, len2);
	assert_memory_equal(before, after, len1);
	free(before);
	free(after);
	/* Nor does a run with only the certificate left. */
	assert_int_equal(unlink(f->key), 0);
	assert_int_equal(tls_selfsigned_create(f->dir), CR_ERR_EXISTS);
	assert_int_equal(access(f->key, F_OK), -1);
}

/* The certificate verifies as its own trust anchor for localhost and 127.0.0.1. */
static void test_certificate_content(void **state)
{
	struct fixture *f = *state;
	X509 *x;
	X509_STORE *store;
	X509_STORE_CTX *ctx;
	X509_VERIFY_PARAM *param;
	EVP_PKEY *pub;
	int days = 0, secs = 0;
	assert_int_equal(tls_selfsigned_create(f->dir), CR_OK);
	x = cert_load(f->cert);
	pub = X509_get0_pubkey(x);
	assert_int_equal(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
	assert_int_equal(EVP_PKEY_get_bits(pub), 256);
	assert_int_equal(X509_get_version(x), 2);
	assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	assert_int_not_equal(X509_check_host(x, "example.com", 0, 0, NULL), 1);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
	assert_int_equal(days, 365);

	store = X509_STORE_new();
	assert_int_equal(X509_STORE_add_cert(store, x), 1);
	ctx = X509_STORE_CTX_new();
	assert_int_equal(X509_STORE_CTX_init(ctx, store, x, NULL), 1);
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set1_host(param, "localhost", 0);
	X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
	if (X509_verify_cert(ctx) != 1)
		fail_msg("verify: %s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(x);
}

static void test_read_and_pair_check(void **state)
{
	struct fixture *f = *state;
	char *cert = NULL, *key = NULL, *other_key = NULL;
	char other_dir[96], other[128];
	size_t cl = 0, kl = 0, ol = 0;
	assert_int_equal(tls_selfsigned_create(f->dir), CR_OK);
	assert_int_equal(tls_pem_read(f->cert, false, &cert, &cl), CR_OK);
	assert_int_equal(tls_pem_read(f->key, true, &key, &kl), CR_OK);
	assert_int_equal(strlen(cert), cl);
	assert_int_equal(tls_pair_check(cert, key), CR_OK);

	/* Someone else's key does not belong to this certificate. */
	snprintf(other_dir, sizeof(other_dir), "%s/other", f->dir);
	assert_int_equal(mkdir(other_dir, 0700), 0);
	assert_int_equal(tls_selfsigned_create(other_dir), CR_OK);
	snprintf(other, sizeof(other), "%s/tls/key.pem", other_dir);
	assert_int_equal(tls_pem_read(other, true, &other_key, &ol), CR_OK);
	assert_int_equal(tls_pair_check(cert, other_key), CR_ERR_TLS);
	assert_int_equal(tls_pair_check(cert, "not a pem"), CR_ERR_TLS);
	assert_int_equal(tls_pair_check("not a pem", key), CR_ERR_TLS);
	assert_int_equal(tls_pair_check(key, cert), CR_ERR_TLS);
	free(cert);
	free(key);
	free(other_key);
}

static void test_read_refusals(void **state)
{
	struct fixture *f = *state;
	char *buf = (char *)0x1, big[128];
	size_t len = 7;
	FILE *fp;
	assert_int_equal(tls_pem_read("/nonexistent/cert.pem", false, &buf, &len), CR_ERR_TLS);
	assert_int_equal(tls_selfsigned_create(f->dir), CR_OK);
	/* A key others can read is refused (I8); a certificate may be world-readable. */
	assert_int_equal(chmod(f->key, 0644), 0);
	assert_int_equal(tls_pem_read(f->key, true, &buf, &len), CR_ERR_TLS);
	assert_int_equal(tls_pem_read(f->key, false, &buf, &len), CR_OK);
	free(buf);
	buf = (char *)0x1;
	len = 7;
	/* Empty and oversized files, and directories. */
	snprintf(big, sizeof(big), "%s/big.pem", f->dir);
	fp = fopen(big, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(tls_pem_read(big, false, &buf, &len), CR_ERR_TLS);
	fp = fopen(big, "w");
	for (int i = 0; i < TLS_PEM_MAX + 1; i++)
		fputc('A', fp);
	fclose(fp);
	assert_int_equal(tls_pem_read(big, false, &buf, &len), CR_ERR_TLS);
	assert_int_equal(tls_pem_read(f->dir, false, &buf, &len), CR_ERR_TLS);
	assert_ptr_equal(buf, (char *)0x1);
	assert_int_equal(len, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_modes_and_no_overwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_certificate_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_and_pair_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_refusals, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
