/*
 * keys.c: the service's key files and everything derived from them.
 *
 * DATA/keys/ (0700) holds two files, both 0600 and created once with O_EXCL:
 * master.key, 32 random bytes from which every per-brand subkey is derived
 * (subkeys are never stored), and sign.key, the Ed25519 signing key of the
 * audit log and receipts in the signer-key format of the Go signed-note tools.
 * Loading checks ownership and permissions through the opened descriptors
 * (fstat, openat relative to the opened folder, O_NOFOLLOW everywhere), so a
 * file swapped in between the check and the read is never used. The loaded
 * keys live in one sodium_malloc'd block that is read-only after loading and
 * wiped when freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/crypto_internal.h"

#define MASTER_FILE "master.key"
#define SIGN_FILE "sign.key"
#define SIGN_PREFIX "PRIVATE+KEY+"
#define SIGN_ALG_ED25519 0x01
#define SIGN_SEED_B64_LEN 44 /* base64 of 0x01 || 32-byte seed */
/* "PRIVATE+KEY+" name "+" 8 hex "+" 44 base64 "\n", with room to spare */
#define SIGN_FILE_MAX 512

struct crypto_keyring {
	uint8_t master[CRYPTO_KEY_BYTES];
	uint8_t sign_sk[CRYPTO_SIGN_SK_BYTES];
	uint8_t sign_pk[CRYPTO_SIGN_PK_BYTES];
	char key_name[CRYPTO_KEY_NAME_MAX + 1];
	/* One Ed25519 key per use (crypto_sign_use: receipts, reports), each
	 * derived from master, not from sign.key, so the log's key can make
	 * neither a receipt nor a report, nor each one the other. */
	struct {
		uint8_t sk[CRYPTO_SIGN_SK_BYTES];
		uint8_t pk[CRYPTO_SIGN_PK_BYTES];
		char name[CRYPTO_KEY_NAME_MAX + 1];
	} use[CRYPTO_SIGN_USES];
};

/* Each use's KDF context (part of the derivation, never changed) and name suffix. */
static const struct {
	char ctx[crypto_kdf_CONTEXTBYTES];
	const char *suffix;
} key_uses[CRYPTO_SIGN_USES] = {
	[CRYPTO_SIGN_RECEIPTS] = { "crrcpt01", "receipts" },
	[CRYPTO_SIGN_REPORTS] = { "crreport", "reports" },
};

/*
 * The use keys: seed = crypto_kdf_derive_from_key(32, id = 1, ctx, master),
 * an Ed25519 key pair from it, named "<sign.key's name>/<suffix>" (or
 * "cleanroom/<suffix>" when that would be too long). Independent of
 * sign.key and of each other: holding the log's key gives no receipt or
 * report key, and the other way round.
 */
static cr_err purpose_keys_derive(struct crypto_keyring *kr)
{
	uint8_t seed[32];
	cr_err rc = CR_OK;
	for (int u = 0; u < CRYPTO_SIGN_USES && rc == CR_OK; u++) {
		char *name = kr->use[u].name;
		if (crypto_kdf_derive_from_key(seed, sizeof(seed), 1, key_uses[u].ctx, kr->master) != 0 ||
		    crypto_sign_seed_keypair(kr->use[u].pk, kr->use[u].sk, seed) != 0)
			rc = CR_ERR_CRYPTO;
		if ((size_t)snprintf(name, CRYPTO_KEY_NAME_MAX + 1, "%s/%s", kr->key_name, key_uses[u].suffix) >=
		    CRYPTO_KEY_NAME_MAX + 1)
			snprintf(name, CRYPTO_KEY_NAME_MAX + 1, "cleanroom/%s", key_uses[u].suffix);
	}
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

/* ------------------------------------------------------------ key names */

/* Signed-note key names must not contain spaces or '+'; we also keep them to
 * printable ASCII so they read the same in every terminal and log. */
static bool key_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > CRYPTO_KEY_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= 0x20 || c >= 0x7f || c == '+')
			return false;
	}
	return true;
}

/* The signed-note key id: the first 4 bytes, big-endian, of
 * SHA-256(name || 0x0A || 0x01 || public key). */
static uint32_t key_id(const char *name, size_t name_len,
		       const uint8_t pk[static CRYPTO_SIGN_PK_BYTES])
{
	crypto_hash_sha256_state st;
	uint8_t h[crypto_hash_sha256_BYTES];
	const uint8_t sep[2] = { 0x0A, SIGN_ALG_ED25519 };
	uint32_t id;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, name_len);
	crypto_hash_sha256_update(&st, sep, sizeof(sep));
	crypto_hash_sha256_update(&st, pk, CRYPTO_SIGN_PK_BYTES);
	crypto_hash_sha256_final(&st, h);
	id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	return id;
}

/* ------------------------------------------------------ folder and files */

/* The folder must be ours and closed to group and others. */
static cr_err check_owner_and_mode(const struct stat *st)
{
	if (st->st_uid != geteuid() || (st->st_mode & 077) != 0)
		return CR_ERR_KEY_PERMS;
	return CR_OK;
}

/*
 * Opens `dir` as a folder without following a final symbolic link, creating
 * it (0700) first when `create` is set, and checks its owner and mode.
 */
static cr_err keys_dir_open(const char *dir, bool create, int *fd_out)
{
	struct stat st;
	bool created = false;
	int fd = -1;
	cr_err rc;

	if (create) {
		if (mkdir(dir, 0700) == 0)
			created = true;
		else if (errno != EEXIST) {
			rc = CR_ERR_IO;
			goto out;
		}
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? CR_ERR_KEY_MISSING
		     : (errno == ELOOP || errno == ENOTDIR) ? CR_ERR_KEY_PERMS : CR_ERR_IO;
		goto out;
	}
	/* A umask such as 0277 would leave our own new folder unwritable. */
	if (created && fchmod(fd, 0700) != 0) {
		rc = CR_ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		rc = CR_ERR_IO;
		goto out;
	}
	rc = check_owner_and_mode(&st);
	if (rc != CR_OK)
		goto out;
	*fd_out = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static cr_err write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CR_ERR_IO;
		p += n;
		len -= (size_t)n;
	}
	return CR_OK;
}

/*
 * Creates `name` in the folder with O_EXCL (never overwriting), writes
 * (data, len) and fsyncs it. A file we created but could not fill is
 * removed again.
 */
static cr_err key_file_create(int dfd, const char *name, const uint8_t *data, size_t len)
{
	int fd = openat(dfd, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600);
	cr_err rc;

	if (fd < 0)
		return errno == EEXIST ? CR_ERR_KEY_EXISTS : CR_ERR_IO;
	rc = write_all(fd, data, len);
	if (rc == CR_OK && fsync(fd) != 0)
		rc = CR_ERR_IO;
	if (close(fd) != 0 && rc == CR_OK)
		rc = CR_ERR_IO;
	if (rc != CR_OK)
		unlinkat(dfd, name, 0);
	return rc;
}

/* CR_ERR_KEY_EXISTS if anything (even a dangling link) is at `name`. */
static cr_err refuse_existing(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return CR_ERR_KEY_EXISTS;
	return errno == ENOENT ? CR_OK : CR_ERR_IO;
}

/*
 * Reads the whole key file `name` into (buf, cap) after checking, on the
 * opened descriptor, that it is a regular file of ours with mode 0600 or
 * stricter. A file longer than `cap` is CR_ERR_KEY_CORRUPT.
 */
static cr_err key_file_read(int dfd, const char *name, uint8_t *buf, size_t cap, size_t *len_out)
{
	struct stat st;
	size_t len = 0;
	/* O_NONBLOCK: a FIFO planted here must not hang the open; fstat then
	 * refuses it. It changes nothing for a regular file. */
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	cr_err rc = CR_OK;

	if (fd < 0)
		return errno == ENOENT ? CR_ERR_KEY_MISSING
		       : errno == ELOOP ? CR_ERR_KEY_PERMS : CR_ERR_IO;
	if (fstat(fd, &st) != 0) {
		rc = CR_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = CR_ERR_KEY_PERMS;
		goto out;
	}
	rc = check_owner_and_mode(&st);
	if (rc != CR_OK)
		goto out;
	for (;;) {
		uint8_t extra;
		uint8_t *dst = len < cap ? buf + len : &extra;
		ssize_t n = read(fd, dst, len < cap ? cap - len : 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = CR_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		if (len >= cap) {
			rc = CR_ERR_KEY_CORRUPT;
			goto out;
		}
		len += (size_t)n;
	}
	*len_out = len;
out:
	close(fd);
	return rc;
}

/* ---------------------------------------------------------------- create */

/* Formats sign.key: "PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>\n". */
static cr_err sign_file_format(const char *name, const uint8_t seed[static 32],
			       const uint8_t pk[static CRYPTO_SIGN_PK_BYTES],
			       char text[static SIGN_FILE_MAX], size_t *len_out)
{
	uint8_t blob[1 + 32];
	char b64[SIGN_SEED_B64_LEN + 1];
	cr_err rc;
	int n;

	blob[0] = SIGN_ALG_ED25519;
	memcpy(blob + 1, seed, 32);
	rc = cr_base64_encode(blob, sizeof(blob), b64, sizeof(b64));
	if (rc != CR_OK)
		goto out;
	n = snprintf(text, SIGN_FILE_MAX, SIGN_PREFIX "%s+%08x+%s\n", name,
		     (unsigned)key_id(name, strlen(name), pk), b64);
	if (n < 0 || n >= SIGN_FILE_MAX) {
		rc = CR_ERR_TOO_LARGE;
		goto out;
	}
	*len_out = (size_t)n;
out:
	sodium_memzero(blob, sizeof(blob));
	sodium_memzero(b64, sizeof(b64));
	return rc;
}

cr_err crypto_keys_create(const char *keys_dir, const char *key_name)
{
	uint8_t master[CRYPTO_KEY_BYTES];
	uint8_t seed[32], pk[CRYPTO_SIGN_PK_BYTES], sk[CRYPTO_SIGN_SK_BYTES];
	char text[SIGN_FILE_MAX];
	size_t text_len = 0;
	bool master_made = false;
	int dfd = -1;
	cr_err rc;

	crypto_sodium_ready();
	if (key_name == NULL || !key_name_valid(key_name, strlen(key_name))) {
		rc = CR_ERR_INVALID_ARG;
		goto out;
	}
	rc = keys_dir_open(keys_dir, true, &dfd);
	if (rc != CR_OK)
		goto out;
	/* Refuse before writing anything, so an existing pair stays whole. */
	rc = refuse_existing(dfd, MASTER_FILE);
	if (rc == CR_OK)
		rc = refuse_existing(dfd, SIGN_FILE);
	if (rc != CR_OK)
		goto out;

	randombytes_buf(master, sizeof(master));
	rc = key_file_create(dfd, MASTER_FILE, master, sizeof(master));
	if (rc != CR_OK)
		goto out;
	master_made = true;

	randombytes_buf(seed, sizeof(seed));
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0) {
		rc = CR_ERR_CRYPTO;
		goto out;
	}
	rc = sign_file_format(key_name, seed, pk, text, &text_len);
	if (rc == CR_OK)
		rc = key_file_create(dfd, SIGN_FILE, (const uint8_t *)text, text_len);
	if (rc == CR_OK && fsync(dfd) != 0)
		rc = CR_ERR_IO;
out:
	if (rc != CR_OK && master_made)
		unlinkat(dfd, MASTER_FILE, 0);
	if (dfd >= 0)
		close(dfd);
	sodium_memzero(master, sizeof(master));
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(text, sizeof(text));
	return rc;
}

/* ------------------------------------------------------------------ open */

/*
 * Parses sign.key into the keyring (the layout golang.org/x/mod/sumdb/note
 * uses: five '+'-separated fields, the last one base64 that may itself hold
 * '+'). One trailing newline is allowed. The key id in the file must match
 * the key, which catches a file edited by hand or damaged on disk.
 */
static cr_err sign_file_parse(const uint8_t *text, size_t len, struct crypto_keyring *kr)
{
	struct cr_cursor c;
	const uint8_t *f[4], *b64;
	size_t f_len[4], b64_len;
	uint8_t id_be[4], blob[1 + 32 + 2];
	size_t blob_len = 0;
	cr_err rc = CR_ERR_KEY_CORRUPT;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	cr_cursor_init(&c, text, len);
	for (size_t i = 0; i < 4; i++)
		if (cr_cursor_until(&c, '+', &f[i], &f_len[i]) != CR_OK)
			goto out;
	if (f_len[0] != 7 || memcmp(f[0], "PRIVATE", 7) != 0 ||
	    f_len[1] != 3 || memcmp(f[1], "KEY", 3) != 0)
		goto out;
	if (!key_name_valid((const char *)f[2], f_len[2]))
		goto out;
	if (cr_hex_decode_exact((const char *)f[3], f_len[3], id_be, sizeof(id_be)) != CR_OK)
		goto out;
	b64_len = cr_cursor_remaining(&c);
	if (cr_cursor_view(&c, b64_len, &b64) != CR_OK)
		goto out;
	if (cr_base64_decode((const char *)b64, b64_len, blob, sizeof(blob), &blob_len) != CR_OK ||
	    blob_len != 33 || blob[0] != SIGN_ALG_ED25519)
		goto out;
	if (crypto_sign_seed_keypair(kr->sign_pk, kr->sign_sk, blob + 1) != 0)
		goto out;
	if (key_id((const char *)f[2], f_len[2], kr->sign_pk) !=
	    ((uint32_t)id_be[0] << 24 | (uint32_t)id_be[1] << 16 | (uint32_t)id_be[2] << 8 | id_be[3]))
		goto out;
	memcpy(kr->key_name, f[2], f_len[2]);
	kr->key_name[f_len[2]] = '\0';
	rc = CR_OK;
out:
	sodium_memzero(blob, sizeof(blob));
	return rc;
}

cr_err crypto_keyring_open(const char *keys_dir, struct crypto_keyring **out)
{
	struct crypto_keyring *kr;
	uint8_t text[SIGN_FILE_MAX];
	size_t len = 0;
	int dfd = -1;
	cr_err rc;

	crypto_sodium_ready();
	kr = sodium_malloc(sizeof(*kr));
	if (kr == NULL)
		cr_die("out of secure memory");
	sodium_memzero(kr, sizeof(*kr));

	rc = keys_dir_open(keys_dir, false, &dfd);
	if (rc != CR_OK)
		goto out;
	rc = key_file_read(dfd, MASTER_FILE, kr->master, sizeof(kr->master), &len);
	if (rc == CR_OK && len != sizeof(kr->master))
		rc = CR_ERR_KEY_CORRUPT;
	if (rc != CR_OK)
		goto out;
	rc = key_file_read(dfd, SIGN_FILE, text, sizeof(text), &len);
	if (rc != CR_OK)
		goto out;
	rc = sign_file_parse(text, len, kr);
	if (rc == CR_OK)
		rc = purpose_keys_derive(kr);
	if (rc != CR_OK)
		goto out;
	if (sodium_mprotect_readonly(kr) != 0) {
		rc = CR_ERR_CRYPTO;
		goto out;
	}
	*out = kr;
	kr = NULL;
out:
	if (dfd >= 0)
		close(dfd);
	sodium_memzero(text, sizeof(text));
	sodium_free(kr); /* wipes; NULL on success */
	return rc;
}

void crypto_keyring_free(struct crypto_keyring *kr)
{
	/* sodium_free makes the block writable again, wipes it and unmaps it. */
	sodium_free(kr);
}

/* ------------------------------------------------------------- accessors */

const char *crypto_keyring_key_name(const struct crypto_keyring *kr)
{
	return kr->key_name;
}

const uint8_t *crypto_keyring_public_key(const struct crypto_keyring *kr)
{
	return kr->sign_pk;
}

cr_err crypto_keyring_sign(const struct crypto_keyring *kr, const uint8_t *msg, size_t len,
			   uint8_t sig[static CRYPTO_SIG_BYTES])
{
	if (crypto_sign_detached(sig, NULL, msg, len, kr->sign_sk) != 0)
		return CR_ERR_CRYPTO;
	return CR_OK;
}

const char *crypto_keyring_use_key_name(const struct crypto_keyring *kr, enum crypto_sign_use u)
{
	return kr->use[u].name;
}

const uint8_t *crypto_keyring_use_public_key(const struct crypto_keyring *kr, enum crypto_sign_use u)
{
	return kr->use[u].pk;
}

cr_err crypto_keyring_use_sign(const struct crypto_keyring *kr, enum crypto_sign_use u, const uint8_t *msg,
			       size_t len, uint8_t sig[static CRYPTO_SIG_BYTES])
{
	if (crypto_sign_detached(sig, NULL, msg, len, kr->use[u].sk) != 0)
		return CR_ERR_CRYPTO;
	return CR_OK;
}

/* --------------------------------------------------------------- subkeys */

/* KDF contexts: 8 bytes each, part of the derivation, never changed. */
static const char kdf_ctx_brand[crypto_kdf_CONTEXTBYTES] = "crbrand1";
static const char kdf_ctx_use[crypto_kdf_CONTEXTBYTES] = "crusekv1";

static bool key_use_known(enum crypto_key_use use)
{
	switch (use) {
	case CRYPTO_USE_PSEUDONYM:
	case CRYPTO_USE_PSI:
	case CRYPTO_USE_AUDIT_SALT:
	case CRYPTO_USE_LINK:
	case CRYPTO_USE_TOKEN:
		return true;
	default:
		return false;
	}
}

/*
 * The derivation, in two steps of libsodium's crypto_kdf (BLAKE2b keyed with
 * the parent key, the 64-bit subkey id as salt, the 8-byte context as
 * personalization):
 *
 *   K_brand = crypto_kdf_derive_from_key(32, id = brand_id,
 *                                        ctx = "crbrand1", master)
 *   K       = crypto_kdf_derive_from_key(32, id = use << 32 | version,
 *                                        ctx = "crusekv1", K_brand)
 *
 * Why it is injective: brand_id is the whole subkey id of the first step,
 * so two brands get independent K_brand; `use` is below 2^32 and `version`
 * fills the low 32 bits, so (use, version) -> id is one-to-one and each
 * (use, version) of a brand gets an independent K. The two contexts differ,
 * so a K_brand is never also a K. K_brand is wiped at once.
 *
 * Stored pseudonyms and PSI elements depend on these bytes: never change
 * them; add a new context instead.
 */
cr_err crypto_subkey_derive(const struct crypto_keyring *kr, uint64_t brand_id,
			    enum crypto_key_use use, uint32_t version,
			    uint8_t out[static CRYPTO_KEY_BYTES])
{
	uint8_t brand_key[CRYPTO_KEY_BYTES];
	uint8_t key[CRYPTO_KEY_BYTES];
	cr_err rc = CR_ERR_CRYPTO;

	if (!key_use_known(use)) {
		rc = CR_ERR_INVALID_ARG;
		goto out;
	}
	if (crypto_kdf_derive_from_key(brand_key, sizeof(brand_key), brand_id,
				       kdf_ctx_brand, kr->master) != 0)
		goto out;
	if (crypto_kdf_derive_from_key(key, sizeof(key), (uint64_t)use << 32 | version,
				       kdf_ctx_use, brand_key) != 0)
		goto out;
	memcpy(out, key, sizeof(key));
	rc = CR_OK;
out:
	sodium_memzero(brand_key, sizeof(brand_key));
	sodium_memzero(key, sizeof(key));
	return rc;
}
