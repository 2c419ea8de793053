/*
 * tls.h: the service's TLS certificate and key (internal to cleanroom/).
 *
 * `cleanroom serve` speaks HTTPS by default with DATA/tls/cert.pem and
 * DATA/tls/key.pem. For a machine without a certificate of its own,
 * tls_selfsigned_create() makes a self-signed one for localhost with
 * OpenSSL; clients trust it by passing the certificate as their CA
 * (curl --cacert DATA/tls/cert.pem). libmicrohttpd itself serves TLS through
 * GnuTLS; OpenSSL is used here only to make and check PEM files.
 */
#ifndef CR_CLEANROOM_TLS_H
#define CR_CLEANROOM_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/common.h"

#define TLS_DIR "tls"
#define TLS_CERT_FILE "cert.pem"
#define TLS_KEY_FILE "key.pem"
#define TLS_PEM_MAX (64 * 1024) /* larger PEM files are refused */

/*
 * Creates DIR/tls/ (mode 0700) holding key.pem (an EC P-256 key, PKCS#8,
 * mode 0600) and cert.pem (self-signed X.509 v3, CN and SAN DNS:localhost
 * and IP:127.0.0.1, serverAuth, valid for one year from now, mode 0644).
 * `data_dir` is the data directory. Never overwrites: CR_ERR_EXISTS if
 * either file is already there (nothing is changed then). On any other
 * failure, the files it created are removed (CR_ERR_TLS or CR_ERR_IO).
 */
cr_err tls_selfsigned_create(const char *data_dir) CR_MUST_CHECK;

/*
 * Reads a PEM file of at most TLS_PEM_MAX bytes into a NUL-terminated heap
 * buffer handed to the caller, which wipes and frees it (it may be a key).
 * CR_ERR_TLS if it is missing, unreadable or too large; a key file readable
 * by group or others is refused as well (`is_key`).
 */
cr_err tls_pem_read(const char *path, bool is_key, char **out, size_t *len) CR_MUST_CHECK;

/*
 * Checks that (cert_pem, key_pem) parse and that the key belongs to the
 * certificate, so serve fails with a clear message before it listens.
 * CR_ERR_TLS otherwise.
 */
cr_err tls_pair_check(const char *cert_pem, const char *key_pem) CR_MUST_CHECK;

#endif
