/*
 * cli_backup.c: `cleanroom backup --out FILE` and `cleanroom restore FILE`
 * (backup.h). Both say what the file holds: its size, schema, audit log
 * size and latest signed checkpoint, and its consent events, records and
 * releases; restore also says what it would lose, and refuses to lose
 * audit entries without --accept-loss.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cleanroom/app.h"
#include "cleanroom/backup.h"
#include "cleanroom/cli.h"

static json_t *info_json(const struct backup_info *i)
{
	return json_pack("{s:I, s:i, s:I, s:I, s:s, s:s, s:I, s:I, s:I}", "bytes", (json_int_t)i->bytes,
			 "schema", i->schema, "log_size", (json_int_t)i->log_size,
			 "checkpoint_size", (json_int_t)i->checkpoint_size, "checkpoint", i->checkpoint,
			 "origin", i->origin, "consent_events", (json_int_t)i->consent_events,
			 "records", (json_int_t)i->records, "releases", (json_int_t)i->releases);
}

static void info_print(const char *verb, const char *file, const struct backup_info *i)
{
	printf("%s: %s: %llu bytes, schema %d, audit log %llu entries, "
	       "%llu consent events, %llu records, %llu releases\n",
	       verb, file, (unsigned long long)i->bytes, i->schema, (unsigned long long)i->log_size,
	       (unsigned long long)i->consent_events, (unsigned long long)i->records,
	       (unsigned long long)i->releases);
	printf("%s: latest signed checkpoint (size %llu):\n%s", verb,
	       (unsigned long long)i->checkpoint_size, i->checkpoint);
}

static const char backup_usage[] =
	"usage: cleanroom backup --out FILE [--with-keys] [--json]\n\n"
	"Copies the database of the data directory into the new FILE (0600) with\n"
	"SQLite's online backup API: a consistent copy even while 'serve' writes,\n"
	"with the latest signed checkpoint. Prints what the copy holds. Keys are\n"
	"not in it; --with-keys copies them to FILE.keys/ (keep that apart).";

int cmd_backup(int argc, char **argv)
{
	const char *out = NULL;
	bool with_keys = false;
	const struct cli_opt opts[] = {
		{ "out", &out, NULL, "FILE: the backup to write (never overwritten)" },
		{ "with-keys", NULL, &with_keys, "also copy keys/ to FILE.keys/ (secret: store it encrypted, apart)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct backup_info info = { 0 };
	char *db, *keys = NULL, *kout = NULL;
	int ret = CLI_OK;
	cr_err rc;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0, backup_usage);
	if (out == NULL) {
		free(args.pos);
		return cli_usage_error("backup", "--out FILE is required");
	}
	db = app_path(cli_data_dir(&args), APP_DB_FILE);
	rc = backup_copy(db, out);
	if (rc == CR_OK)
		rc = backup_describe(out, &info);
	if (rc != CR_OK) {
		ret = cli_fail("backup", "'%s' to '%s': %s", cli_data_dir(&args), out, cr_strerror(rc));
		goto out;
	}
	if (with_keys) {
		keys = app_path(cli_data_dir(&args), "keys");
		kout = cr_xmalloc(strlen(out) + sizeof(".keys"));
		snprintf(kout, strlen(out) + sizeof(".keys"), "%s.keys", out);
		rc = backup_keys_copy(keys, kout);
		if (rc != CR_OK) {
			ret = cli_fail("backup", "keys to '%s': %s", kout, cr_strerror(rc));
			goto out;
		}
		fprintf(stderr, "cleanroom: backup: warning: '%s' holds the master key and the signing key "
				"in the clear: whoever has it can link pseudonyms and sign audit checkpoints; "
				"encrypt it and keep it apart from the backup\n", kout);
	}
	if (args.json)
		cli_print_json(info_json(&info));
	else
		info_print("backup", out, &info);
out:
	backup_info_release(&info);
	free(db);
	free(keys);
	free(kout);
	free(args.pos);
	return ret;
}
