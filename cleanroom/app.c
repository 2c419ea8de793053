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
#include <unistd.h>

#include <sodium.h>

#include "cleanroom/app.h"

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
	rc = app_open(data_dir, &a);
out:
	free(keys);
	free(db);
	free(org);
	if (rc == CR_OK)
		*out = a;
	return rc;
}

cr_err app_open(const char *data_dir, struct app **out)
{
	struct app *a = cr_xcalloc(1, sizeof(*a));
	char *keys = app_path(data_dir, "keys");
	char *db = app_path(data_dir, "cleanroom.db");
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

void app_close(struct app *a)
{
	if (a == NULL)
		return;
	store_close(a->store);
	crypto_keyring_free(a->keys);
	free(a->origin);
	free(a->data_dir);
	free(a);
}
