/*
 * tls.c: making a self-signed localhost certificate with OpenSSL, and
 * reading and checking the PEM files `cleanroom serve` hands to
 * libmicrohttpd.
 *
 * The key is written with O_EXCL|O_NOFOLLOW and mode 0600 in a 0700
 * directory, like the keys in DATA/keys (I8); its PEM passes through
 * OpenSSL's secure-memory BIO so no copy of it lingers after writing.
 * Existing files are never overwritten: replacing a certificate is an
 * operator's deliberate act (delete both files, run again).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "cleanroom/app.h"
#include "cleanroom/tls.h"

#define CERT_DAYS 365

struct cert_ext {
	int nid;
	const char *value;
};

/* What a browser and curl need to accept the certificate for localhost. */
static const struct cert_ext cert_exts[] = {
	{ NID_basic_constraints, "critical,CA:FALSE" },
	{ NID_key_usage, "critical,digitalSignature" },
	{ NID_ext_key_usage, "serverAuth" },
	{ NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1" },
	{ NID_subject_key_identifier, "hash" },
};

/* Adds cert_exts to a certificate that is its own issuer. */
static bool cert_add_exts(X509 *x)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	for (size_t i = 0; i < sizeof(cert_exts) / sizeof(cert_exts[0]); i++) {
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, cert_exts[i].nid,
							  cert_exts[i].value);
		bool ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;
		X509_EXTENSION_free(ext);
		if (!ok)
			return false;
	}
	return true;
}

/* A random positive 128-bit serial number (RFC 5280 §4.1.2.2). */
static bool cert_set_serial(X509 *x)
{
	uint8_t raw[16];
	BIGNUM *bn = NULL;
	bool ok = false;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		goto out;
	raw[0] = (uint8_t)((raw[0] & 0x7f) | 0x40);
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
out:
	BN_free(bn);
	return ok;
}

/* A self-signed certificate for `key`; NULL on failure. */
static X509 *cert_make(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name;
	bool ok = x != NULL && X509_set_version(x, 2) == 1 && cert_set_serial(x) &&
		  X509_gmtime_adj(X509_getm_notBefore(x), -60) != NULL &&
		  X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_DAYS * 24 * 3600) != NULL &&
		  X509_set_pubkey(x, key) == 1;
	if (ok) {
		name = X509_get_subject_name(x);
		ok = X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
						(const unsigned char *)"cleanroom", -1, -1, 0) == 1 &&
		     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
						(const unsigned char *)"localhost", -1, -1, 0) == 1 &&
		     X509_set_issuer_name(x, name) == 1 && cert_add_exts(x) &&
		     X509_sign(x, key, EVP_sha256()) > 0;
	}
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Writes all of (p, n) to a new file created with O_EXCL|O_NOFOLLOW and `mode`. */
static cr_err file_create(const char *path, mode_t mode, const char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	cr_err rc = CR_OK;
	if (fd < 0)
		return errno == EEXIST ? CR_ERR_EXISTS : CR_ERR_IO;
	while (n > 0 && rc == CR_OK) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = CR_ERR_IO;
		else {
			p += w;
			n -= (size_t)w;
		}
	}
	if (rc == CR_OK && (fchmod(fd, mode) != 0 || fsync(fd) != 0))
		rc = CR_ERR_IO;
	if (close(fd) != 0 && rc == CR_OK)
		rc = CR_ERR_IO;
	if (rc != CR_OK)
		unlink(path);
	return rc;
}

/* Writes `key` (if not NULL) or else `cert` as PEM to a new file, through secure memory. */
static cr_err pem_file_write(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *p = NULL;
	long n;
	cr_err rc = CR_ERR_TLS;
	if (b == NULL)
		goto out;
	if (key ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1
		: PEM_write_bio_X509(b, cert) != 1)
		goto out;
	n = BIO_get_mem_data(b, &p);
	if (n <= 0)
		goto out;
	rc = file_create(path, mode, p, (size_t)n);
out:
	BIO_free(b);
	return rc;
}

/* Makes DATA/tls (0700), or accepts an existing directory of ours. */
static cr_err tls_dir_make(const char *dir)
{
	struct stat st;
	if (mkdir(dir, 0700) == 0)
		return CR_OK;
	if (errno != EEXIST || lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid())
		return CR_ERR_IO;
	return CR_OK;
}

cr_err tls_selfsigned_create(const char *data_dir)
{
	char *dir = app_path(data_dir, TLS_DIR);
	char *key_path = app_path(dir, TLS_KEY_FILE);
	char *cert_path = app_path(dir, TLS_CERT_FILE);
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	struct stat st;
	cr_err rc;

	if (lstat(key_path, &st) == 0 || lstat(cert_path, &st) == 0) {
		rc = CR_ERR_EXISTS;
		goto out;
	}
	rc = tls_dir_make(dir);
	if (rc != CR_OK)
		goto out;
	key = EVP_EC_gen("P-256");
	cert = key ? cert_make(key) : NULL;
	if (cert == NULL) {
		rc = CR_ERR_TLS;
		goto out;
	}
	rc = pem_file_write(key_path, 0600, key, NULL);
	if (rc != CR_OK)
		goto out;
	rc = pem_file_write(cert_path, 0644, NULL, cert);
	if (rc != CR_OK)
		unlink(key_path);
out:
	EVP_PKEY_free(key);
	X509_free(cert);
	free(dir);
	free(key_path);
	free(cert_path);
	return rc;
}

cr_err tls_pem_read(const char *path, bool is_key, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	cr_err rc = CR_ERR_TLS;

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > TLS_PEM_MAX || (is_key && (st.st_mode & 077) != 0))
		goto out;
	buf = cr_xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		got += (size_t)r;
	}
	buf[got] = '\0';
	rc = CR_OK;
out:
	if (fd >= 0)
		close(fd);
	if (rc != CR_OK) {
		if (buf)
			sodium_memzero(buf, (size_t)st.st_size + 1);
		free(buf);
		return rc;
	}
	*out = buf;
	*len = got;
	return CR_OK;
}

cr_err tls_pair_check(const char *cert_pem, const char *key_pem)
{
	BIO *cb = BIO_new_mem_buf(cert_pem, -1);
	BIO *kb = BIO_new_mem_buf(key_pem, -1);
	X509 *cert = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
	cr_err rc = CR_ERR_TLS;

	if (cert == NULL || key == NULL || X509_check_private_key(cert, key) != 1)
		goto out;
	/* An expired certificate would only make every client fail later. */
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
		goto out;
	rc = CR_OK;
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	BIO_free(cb);
	BIO_free(kb);
	return rc;
}
