/*
 * cli_restore.c: `cleanroom restore FILE [--accept-loss]` (backup.h): puts
 * a backup in place in the data directory, under the directory's lock (so
 * never under a running server), after saying what the directory would
 * lose. Losing audit entries needs --accept-loss and leaves a
 * `service.rollback` leaf in the restored log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cleanroom/app.h"
#include "cleanroom/backup.h"
#include "cleanroom/cli.h"

#define VERB "restore"

static const char usage[] =
	"usage: cleanroom restore FILE [--accept-loss] [--json]\n\n"
	"Puts the backup FILE (from 'cleanroom backup') in place as the data\n"
	"directory's database; the directory is created if missing. Its keys/ stay;\n"
	"a directory without keys takes FILE.keys/ ('backup --with-keys'). When the\n"
	"directory's log has entries the backup lacks, it lists what would be lost\n"
	"and refuses unless --accept-loss; the rollback is then audited. Refused\n"
	"while a server holds the directory.";

static json_t *plan_json(const struct restore_plan *p)
{
	return json_pack("{s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b}",
			 "backup_log_size", (json_int_t)p->backup.log_size,
			 "backup_checkpoint_size", (json_int_t)p->backup.checkpoint_size,
			 "has_current", p->has_current, "current_log_size", (json_int_t)p->current_size,
			 "lost_entries", (json_int_t)p->lost_entries,
			 "lost_consent_events", (json_int_t)p->lost_events,
			 "lost_withdrawals", (json_int_t)p->lost_withdrawals,
			 "lost_records", (json_int_t)p->lost_records,
			 "revived_records", (json_int_t)p->revived_records,
			 "lost_releases", (json_int_t)p->lost_releases,
			 "loses", restore_plan_loses(p), "keys_from_backup", p->keys_from_backup);
}

/* What the restore would change, on stdout (or stderr when it is refused). */
static void plan_print(FILE *f, const char *file, const char *dir, const struct restore_plan *p)
{
	fprintf(f, "restore: backup '%s': schema %d, audit log %llu entries (checkpoint %llu), "
		   "%llu consent events, %llu records, %llu releases\n",
		file, p->backup.schema, (unsigned long long)p->backup.log_size,
		(unsigned long long)p->backup.checkpoint_size, (unsigned long long)p->backup.consent_events,
		(unsigned long long)p->backup.records, (unsigned long long)p->backup.releases);
	if (!p->has_current) {
		fprintf(f, "restore: '%s' holds no database: nothing is replaced\n", dir);
		return;
	}
	fprintf(f, "restore: '%s' holds a log of %llu entries; restoring loses %llu audit entries, "
		   "%llu consent events (%llu of them withdrawals or objections), %llu records, "
		   "%llu releases; %llu records removed since come back\n",
		dir, (unsigned long long)p->current_size, (unsigned long long)p->lost_entries,
		(unsigned long long)p->lost_events, (unsigned long long)p->lost_withdrawals,
		(unsigned long long)p->lost_records, (unsigned long long)p->lost_releases,
		(unsigned long long)p->revived_records);
	if (p->lost_withdrawals > 0)
		fprintf(f, "restore: the lost withdrawals must be taken again (the people's receipts "
			   "name them): re-import them after the restore\n");
}

/* Creates DATA (0700) if it does not exist. */
static cr_err ensure_dir(const char *dir)
{
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return CR_OK;
	return CR_ERR_DATA_DIR;
}

int cmd_restore(int argc, char **argv)
{
	bool accept = false;
	const struct cli_opt opts[] = {
		{ "accept-loss", NULL, &accept, "restore even if the directory's log has entries the backup lacks" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct restore_plan plan;
	bool planned = false;
	const char *dir, *file;
	uint64_t index = 0;
	int lock = -1, ret = CLI_OK;
	cr_err rc;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 1, usage);
	dir = cli_data_dir(&args);
	file = args.pos[0];
	rc = ensure_dir(dir);
	if (rc == CR_OK)
		rc = app_dir_lock(dir, &lock);
	if (rc == CR_OK)
		rc = restore_plan(dir, file, &plan);
	if (rc != CR_OK) {
		ret = cli_fail(VERB, "'%s' into '%s': %s", file, dir, cr_strerror(rc));
		goto out;
	}
	planned = true;
	if (restore_plan_loses(&plan) && !accept) {
		plan_print(stderr, file, dir, &plan);
		ret = cli_fail(VERB, "%s", cr_strerror(CR_ERR_RESTORE_LOSS));
		goto out;
	}
	rc = restore_apply(dir, file, &plan, accept, &index);
	if (rc != CR_OK) {
		ret = cli_fail(VERB, "'%s' into '%s': %s", file, dir, cr_strerror(rc));
		goto out;
	}
	if (args.json) {
		json_t *j = plan_json(&plan);
		json_object_set_new(j, "audit_index", json_integer((json_int_t)index));
		cli_print_json(j);
	} else {
		plan_print(stdout, file, dir, &plan);
		printf("restore: done; audit entry %llu (%s) records it\n", (unsigned long long)index,
		       restore_plan_loses(&plan) ? "service.rollback" : "service.restore");
	}
out:
	if (planned)
		restore_plan_release(&plan);
	app_dir_unlock(lock);
	free(args.pos);
	return ret;
}
