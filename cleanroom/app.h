/*
 * app.h: one opened data directory (internal to cleanroom/).
 *
 * A data directory holds keys/ (master.key, sign.key; 0700/0600) and
 * cleanroom.db. struct app bundles what every verb and the service need
 * from it: the store, the keyring, and later the audit log and consent
 * registry handles. app_open() runs the start-up checks.
 */
#ifndef CR_CLEANROOM_APP_H
#define CR_CLEANROOM_APP_H

#include "common/common.h"
#include "crypto/crypto.h"
#include "cleanroom/store.h"

struct app {
	char *data_dir;               /* owned */
	struct store *store;          /* owned */
	struct crypto_keyring *keys;  /* owned */
	char *origin;                 /* owned: the audit log's origin line */
};

/* Paths inside a data directory; the caller frees the result. */
char *app_path(const char *data_dir, const char *leaf);

/*
 * Creates a new data directory: DATA (0700), its keys and its database.
 * `origin` names the audit log (NULL: "cleanroom.local/audit/<random id>").
 * Refuses a directory that already holds keys or a database
 * (CR_ERR_DATA_DIR_EXISTS) and touches nothing in it. On success hands the
 * opened app to *out.
 */
cr_err app_init_dir(const char *data_dir, const char *origin, struct app **out) CR_MUST_CHECK;

/*
 * Opens an initialized data directory. CR_ERR_DATA_DIR if it is not one
 * (with no partial state created).
 */
cr_err app_open(const char *data_dir, struct app **out) CR_MUST_CHECK;

/* Closes everything and wipes the keys; accepts NULL. */
void app_close(struct app *a);

#endif
