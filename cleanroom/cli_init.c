/*
 * cli_init.c: `cleanroom init`: creates a data directory (keys, database,
 * the audit log's first signed checkpoint) and prints the log's verifier
 * key, which officers keep to check the log offline.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cleanroom/app.h"
#include "cleanroom/cli.h"
#include "cleanroom/tls.h"

static const char usage[] =
	"usage: cleanroom init [--data DIR] [--origin NAME] [--json]\n\n"
	"Creates DIR (mode 0700) with keys/master.key and keys/sign.key (0600,\n"
	"never overwritten), cleanroom.db and a self-signed TLS certificate for\n"
	"localhost (tls/cert.pem, tls/key.pem), signs the audit log's first\n"
	"checkpoint, and prints the audit verifier key. NAME is the log's origin\n"
	"line and signing key name (default cleanroom.local/audit/<random id>).\n"
	"Refuses a directory that is already initialized.";

int cmd_init(int argc, char **argv)
{
	const char *origin = NULL;
	struct cli_opt opts[] = {
		{ "origin", &origin, NULL, "the audit log's origin and key name" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct app *a = NULL;
	char *vkey = NULL;
	const char *dir;
	int prc = cli_parse(argc, argv, opts, usage, &args), rc = CLI_FAIL;
	cr_err err;

	if (prc != CLI_OK)
		return prc < 0 ? CLI_OK : prc;
	if (args.npos > 0) {
		rc = cli_usage_error("init", "unexpected argument (not echoed: it may be personal data)");
		free(args.pos);
		return rc;
	}
	dir = cli_data_dir(&args);
	err = app_init_dir(dir, origin, &a);
	if (err == CR_ERR_DATA_DIR_EXISTS) {
		rc = cli_fail("init", "data directory '%s' is already initialized; refusing to touch its keys", dir);
		goto out;
	}
	if (err != CR_OK) {
		rc = cli_fail("init", "cannot initialize '%s': %s", dir, cr_strerror(err));
		goto out;
	}
	/* HTTPS works out of the box: a self-signed certificate for localhost. */
	err = tls_selfsigned_create(dir);
	if (err != CR_OK) {
		rc = cli_fail("init", "cannot create the TLS certificate in '%s/tls': %s", dir, cr_strerror(err));
		goto out;
	}
	err = app_verifier_key(a, &vkey);
	if (err != CR_OK) {
		rc = cli_fail_rc("init", err);
		goto out;
	}
	if (args.json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "data", dir, "origin", a->origin, "verifier_key", vkey);
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	} else {
		fprintf(stderr, "initialized %s; the audit log's verifier key (keep it to verify the log offline):\n", dir);
		printf("%s\n", vkey);
	}
	rc = CLI_OK;
out:
	free(vkey);
	free(args.pos);
	app_close(a);
	return rc;
}
