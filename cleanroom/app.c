/*
 * app.c: creating and opening a data directory. Creation is careful about
 * permissions (0700 directories, 0600 key files created with O_EXCL by
 * crypto/) and refuses to touch a directory that already has keys, so a
 * second `init` can never destroy the keys that make pseudonyms linkable to
 * their brands' data.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cleanroom/app.h"
#include "cleanroom/registry.h"

char *app_path(const char *data_dir, const char *leaf)
{
	size_t n = strlen(data_dir) + 1 + strlen(leaf) + 1;
	char *p = cr_xmalloc(n);
	snprintf(p, n, "%s/%s", data_dir, leaf);
	return p;
}

static bool path_exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

/* Makes DATA with mode 0700, or accepts an existing empty-of-ours directory. */
static cr_err make_data_dir(const char *dir)
{
	struct stat st;
	if (mkdir(dir, 0700) == 0)
		return CR_OK;
	if (errno != EEXIST || lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return CR_ERR_DATA_DIR;
	if (st.st_uid != geteuid())
		return CR_ERR_DATA_DIR;
	/* An existing directory is tightened to 0700: it will hold keys. */
	if ((st.st_mode & 077) != 0 && chmod(dir, 0700) != 0)
		return CR_ERR_DATA_DIR;
	return CR_OK;
}

static char *default_origin(void)
{
	uint8_t id[8];
	char hex[17];
	char *o = cr_xmalloc(64);
	randombytes_buf(id, sizeof(id));
	sodium_bin2hex(hex, sizeof(hex), id, sizeof(id));
	snprintf(o, 64, "cleanroom.local/audit/%s", hex);
	return o;
}

/*
 * How far past now a consent event may be dated (R18): $CLEANROOM_CLOCK_SKEW
 * seconds, 0 to 86400, else the registry's default of 300. A bad value is
 * refused at start-up rather than silently replaced.
 */
cr_err app_clock_skew(struct consent_ctx *consent)
{
	const char *env = getenv("CLEANROOM_CLOCK_SKEW");
	uint64_t secs = CONSENT_SKEW_DEFAULT_MS / 1000;
	if (env != NULL && cr_parse_u64(env, 0, CONSENT_SKEW_MAX_MS / 1000, &secs) != CR_OK) {
		fprintf(stderr, "cleanroom: CLEANROOM_CLOCK_SKEW must be whole seconds from 0 to %d\n",
			CONSENT_SKEW_MAX_MS / 1000);
		return CR_ERR_INVALID_ARG;
	}
	consent_set_clock(consent, NULL, NULL, (cr_time_ms)secs * 1000);
	return CR_OK;
}

/* How an open treats DATA/audit-tip (app_tip.c). */
enum tip_mode {
	TIP_CHECK,   /* compare the database with it, then keep it up to date */
	TIP_KEEP,    /* no comparison (accept-rollback records the loss), keep it up to date */
	TIP_NONE,    /* neither: a database that is not (yet) the directory's own (restore) */
};

static cr_err app_open_inner(const char *data_dir, const char *db_leaf, bool check, enum tip_mode tip,
			     struct app **out);

/* The audit signer callback: signs with the keyring's Ed25519 key. */
static cr_err app_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static 64])
{
	return crypto_keyring_sign(ctx, msg, len, sig);
}

void app_signer_wire(struct app *a)
{
	a->signer.name = crypto_keyring_key_name(a->keys);
	memcpy(a->signer.public_key, crypto_keyring_public_key(a->keys), 32);
	a->signer.sign = app_sign;
	a->signer.ctx = a->keys;
}

/* The first leaf and the first signed checkpoint of a new log. */
static cr_err app_genesis(struct app *a)
{
	struct audit_entry e = { .event_type = "service.init", .actor_role = "admin",
				 .actor_id = "cli", .detail = a->origin };
	cr_err rc = app_begin(a);
	if (rc == CR_OK)
		rc = app_audit(a, &e, NULL);
	return app_end(a, rc);
}

cr_err app_init_dir(const char *data_dir, const char *origin, struct app **out)
{
	char *keys = app_path(data_dir, "keys");
	char *db = app_path(data_dir, "cleanroom.db");
	char *org = origin ? cr_xstrdup(origin) : default_origin();
	struct app *a = NULL;
	struct store *s = NULL;
	cr_err rc;

	if (path_exists(keys) || path_exists(db)) {
		rc = CR_ERR_DATA_DIR_EXISTS;
		goto out;
	}
	rc = make_data_dir(data_dir);
	if (rc != CR_OK)
		goto out;
	rc = crypto_keys_create(keys, org);
	if (rc != CR_OK)
		goto out;
	rc = store_open(db, true, &s);
	if (rc != CR_OK)
		goto out;
	rc = store_begin(s);
	if (rc == CR_OK)
		rc = store_setting_set(s, "origin", org);
	if (rc == CR_OK)
		rc = store_commit(s);
	store_close(s);
	if (rc != CR_OK)
		goto out;
	rc = app_open_inner(data_dir, APP_DB_FILE, false, TIP_KEEP, &a);
	if (rc == CR_OK)
		rc = app_genesis(a);
	if (rc != CR_OK) {
		app_close(a);
		a = NULL;
	}
out:
	free(keys);
	free(db);
	free(org);
	if (rc == CR_OK)
		*out = a;
	return rc;
}

/*
 * Opens the directory; with `check` the audit log's start-up check must
 * pass (a brand-new directory has no checkpoint yet, so init skips it).
 */
static cr_err app_open_inner(const char *data_dir, const char *db_leaf, bool check, enum tip_mode tip,
			     struct app **out)
{
	char why[AUDIT_MSG_MAX] = "";
	struct app *a = cr_xcalloc(1, sizeof(*a));
	char *keys = app_path(data_dir, "keys");
	char *db = app_path(data_dir, db_leaf);
	cr_err rc;

	a->data_dir = cr_xstrdup(data_dir);
	if (!path_exists(db)) {
		rc = CR_ERR_DATA_DIR;
		goto out;
	}
	rc = crypto_keyring_open(keys, &a->keys);
	if (rc != CR_OK)
		goto out;
	rc = store_open(db, false, &a->store);
	if (rc != CR_OK)
		goto out;
	rc = store_setting_get(a->store, "origin", &a->origin);
	if (rc != CR_OK)
		goto out;
	app_signer_wire(a);
	rc = audit_log_open(a->store->db, a->origin, &a->signer, &a->log, why, sizeof(why));
	if (rc != CR_OK) {
		fprintf(stderr, "cleanroom: audit log start-up check failed: %s\n", why);
		goto out;
	}
	/* An initialized log always has its genesis checkpoint; a log with
	 * none was emptied behind our back, and opening it would let the
	 * service sign a fresh history. */
	if (check) {
		char *note = NULL;
		rc = audit_log_latest_checkpoint(a->log, &note);
		free(note);
		if (rc == CR_ERR_AUDIT_NO_CHECKPOINT)
			fprintf(stderr, "cleanroom: audit log start-up check failed: "
					"the log has no signed checkpoint\n");
		if (rc != CR_OK)
			goto out;
	}
	rc = tip == TIP_NONE ? CR_OK : app_tip_open(a, tip == TIP_CHECK, why, sizeof(why));
	if (rc == CR_ERR_AUDIT_ROLLBACK)
		fprintf(stderr, "cleanroom: audit log start-up check failed: %s\n"
				"cleanroom: if the loss is known and accepted, record it with "
				"'cleanroom audit accept-rollback --yes'\n", why);
	if (rc != CR_OK)
		goto out;
	a->has_tip = tip != TIP_NONE;
	rc = consent_ctx_new(a->store->db, &a->consent);
	if (rc == CR_OK) {
		consent_set_purge_callback(a->consent, registry_purge, a);
		rc = app_clock_skew(a->consent);
	}
out:
	free(keys);
	free(db);
	if (rc != CR_OK) {
		app_close(a);
		return rc;
	}
	*out = a;
	return CR_OK;
}

cr_err app_open(const char *data_dir, struct app **out)
{
	return app_open_inner(data_dir, APP_DB_FILE, true, TIP_CHECK, out);
}

cr_err app_open_accepting_rollback(const char *data_dir, struct app **out)
{
	return app_open_inner(data_dir, APP_DB_FILE, true, TIP_KEEP, out);
}

cr_err app_open_file(const char *data_dir, const char *db_leaf, struct app **out)
{
	return app_open_inner(data_dir, db_leaf, true, TIP_NONE, out);
}

cr_err app_importer(struct app *a, int64_t brand, struct consent_importer **out)
{
	struct app_importer_slot *slot;
	uint32_t kv = 0;
	cr_err rc = consent_brand_key_version(a->consent, brand, &kv);

	if (rc != CR_OK)
		return rc;
	for (size_t i = 0; i < APP_IMPORTERS; i++) {
		slot = &a->importers[i];
		if (slot->imp != NULL && slot->brand == brand && slot->key_version == kv) {
			*out = slot->imp;
			return CR_OK;
		}
	}
	slot = &a->importers[a->importer_next++ % APP_IMPORTERS];
	consent_importer_free(slot->imp);
	slot->imp = NULL;
	rc = consent_importer_new(a->consent, a->keys, brand, NULL, &slot->imp);
	if (rc != CR_OK)
		return rc;
	slot->brand = brand;
	slot->key_version = kv;
	*out = slot->imp;
	return CR_OK;
}

void app_close(struct app *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < APP_IMPORTERS; i++)
		consent_importer_free(a->importers[i].imp);
	consent_ctx_free(a->consent);
	audit_log_free(a->log);
	sqlite3_finalize(a->event_leaf_st);
	if (a->has_tip && a->tip_fd >= 0)
		close(a->tip_fd);
	store_close(a->store);
	if (!a->reader)
		crypto_keyring_free(a->keys);
	free(a->origin);
	free(a->data_dir);
	free(a);
}

cr_err app_begin(struct app *a)
{
	cr_err rc;
	if (app_group_begin(a, &rc))
		return rc;
	return store_begin(a->store);
}

cr_err app_audit(struct app *a, const struct audit_entry *e, uint64_t *index_out)
{
	return audit_log_append(a->log, e, index_out);
}

cr_err app_commit(struct app *a)
{
	cr_err rc;
	if (app_group_commit(a, &rc))
		return rc;
	char *note = NULL;
	rc = audit_log_checkpoint(a->log, a->has_tip ? &note : NULL);
	if (rc == CR_OK)
		rc = store_commit(a->store);
	if (rc == CR_OK)
		app_tip_after_commit(a, note);
	else
		free(note);
	return rc;
}

/* Takes the mutex, counted among the short or the long waiters meanwhile. */
static void store_mutex_take(struct app *a, _Atomic unsigned *waiters)
{
	atomic_fetch_add(waiters, 1);
	if (pthread_mutex_lock(a->store_mutex) != 0)
		cr_die("app: store lock");
	atomic_fetch_sub(waiters, 1);
	atomic_fetch_add(&a->lock_taken, 1);
	a->lock_depth++;
}

void app_store_acquire(struct app *a)
{
	if (a->store_mutex != NULL)
		store_mutex_take(a, &a->lock_waiters);
}

void app_store_lock(struct app *a)
{
	app_store_acquire(a);
	app_group_flush_foreign(a);
}

void app_store_lock_long(struct app *a)
{
	const struct timespec nap = { 0, 200 * 1000 };
	int64_t until = cr_monotonic_ms() + APP_YIELD_MAX_MS;
	if (a->store_mutex != NULL) {
		/* Not in the mutex's queue beside short writes (it would hand the
		 * lock to either): wait until none waits, for a bounded time. */
		atomic_fetch_add(&a->long_waiters, 1);
		while (atomic_load(&a->lock_waiters) > 0 && cr_monotonic_ms() < until)
			nanosleep(&nap, NULL);
		atomic_fetch_sub(&a->long_waiters, 1);
		store_mutex_take(a, &a->long_waiters);
	}
	app_group_flush_foreign(a);
}

void app_store_unlock(struct app *a)
{
	if (a->store_mutex == NULL)
		return;
	a->lock_depth--;
	if (pthread_mutex_unlock(a->store_mutex) != 0)
		cr_die("app: store unlock");
}

bool app_store_wanted(struct app *a, int64_t chunk_start_ms)
{
	return a->store_mutex != NULL && a->lock_depth == 1 && atomic_load(&a->lock_waiters) > 0 &&
	       cr_monotonic_ms() - chunk_start_ms >= APP_CHUNK_MIN_MS;
}

void app_store_yield(struct app *a)
{
	const struct timespec nap = { 0, 50 * 1000 };
	int64_t until;
	uint64_t taken;
	if (a->store_mutex == NULL || a->lock_depth != 1 || a->store->in_txn)
		return;
	if (atomic_load(&a->lock_waiters) > 0) {
		/* Short writes go first while any wait, for a bounded time so
		 * that a steady stream of them cannot starve the long one. */
		until = cr_monotonic_ms() + APP_YIELD_MAX_MS;
		app_store_unlock(a);
		while (atomic_load(&a->lock_waiters) > 0 && cr_monotonic_ms() < until)
			nanosleep(&nap, NULL);
	} else if (atomic_load(&a->long_waiters) > 0) {
		/* Another long write takes its turn for one chunk. (A mutex is
		 * not fair: taken back at once, it would come back here.) */
		taken = atomic_load(&a->lock_taken);
		until = cr_monotonic_ms() + APP_YIELD_MAX_MS;
		app_store_unlock(a);
		while (atomic_load(&a->lock_taken) == taken && atomic_load(&a->long_waiters) > 0 &&
		       cr_monotonic_ms() < until)
			nanosleep(&nap, NULL);
	} else {
		return;
	}
	app_store_lock_long(a);
}

void app_rollback(struct app *a)
{
	if (app_group_rollback(a))
		return;
	store_rollback(a->store);
}

cr_err app_end(struct app *a, cr_err rc)
{
	if (rc == CR_OK)
		rc = app_commit(a);
	if (rc != CR_OK)
		app_rollback(a);
	return rc;
}

/* The verifier key text of use key `u`. */
static cr_err use_key_text(const struct app *a, enum crypto_sign_use u, char **out)
{
	struct audit_verifier v;
	snprintf(v.name, sizeof(v.name), "%s", crypto_keyring_use_key_name(a->keys, u));
	memcpy(v.public_key, crypto_keyring_use_public_key(a->keys, u), 32);
	v.key_id = audit_key_id(v.name, strlen(v.name), v.public_key);
	return audit_verifier_format(&v, out);
}

cr_err app_receipt_key(const struct app *a, char **out)
{
	return use_key_text(a, CRYPTO_SIGN_RECEIPTS, out);
}

static cr_err report_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static 64])
{
	return crypto_keyring_use_sign(ctx, CRYPTO_SIGN_REPORTS, msg, len, sig);
}

void app_report_signer(const struct app *a, struct audit_signer *out)
{
	out->name = crypto_keyring_use_key_name(a->keys, CRYPTO_SIGN_REPORTS);
	memcpy(out->public_key, crypto_keyring_use_public_key(a->keys, CRYPTO_SIGN_REPORTS), 32);
	out->sign = report_sign;
	out->ctx = a->keys;
}

cr_err app_report_key(const struct app *a, char **out)
{
	return use_key_text(a, CRYPTO_SIGN_REPORTS, out);
}

cr_err app_verifier_key(const struct app *a, char **out)
{
	struct audit_verifier v;
	cr_err rc = audit_verifier_from_signer(&a->signer, &v);
	return rc == CR_OK ? audit_verifier_format(&v, out) : rc;
}
