/*
 * main.c: the `cleanroom` program. Dispatches the git-style verb to its
 * handler through one table; each verb lives in cleanroom/cli_<verb>.c.
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cleanroom/cli.h"
#include "cleanroom/store.h"

#define CLEANROOM_VERSION "0.1.0"

/* The program's version and the database schema it writes (store.c's
 * migrations): a database with a higher schema is refused. */
static void print_version(void)
{
	printf("cleanroom %s (database schema %d)\n", CLEANROOM_VERSION, store_schema_version());
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	print_version();
	return CLI_OK;
}

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct cli_command commands[] = {
	{ "version", cmd_version, "print the program's version" },
	{ "init", cmd_init, "create a data directory: keys, database, audit log" },
	{ "brand", cmd_brand, "register a brand" },
	{ "notice", cmd_notice, "publish and show privacy notices" },
	{ "consent", cmd_consent, "consent events: import, grant, withdraw, status, export" },
	{ "receipt", cmd_receipt, "verify a consent receipt offline" },
	{ "dataset", cmd_dataset, "create, list and describe datasets" },
	{ "ingest", cmd_ingest, "ingest a customer list through the consent gate" },
	{ "sweep", cmd_sweep, "remove records whose consent expired" },
	{ "audit", cmd_audit, "the audit log: key, checkpoint, log, prove, verify, verify-proof" },
	{ "serve", cmd_serve, "serve the HTTP API (HTTPS by default)" },
	{ "token", cmd_token, "issue, list and revoke API tokens" },
	{ "synth", cmd_synth, "write deterministic synthetic test data" },
	{ "collab", cmd_collab, "collaborations: create, list, budget ledger" },
	{ "match", cmd_match, "match a partner list against a collaboration (local mode)" },
	{ "backup", cmd_backup, "a consistent copy of the database, even while serving" },
	{ "restore", cmd_restore, "put a backup in place, saying what it loses" },
	{ "witness", cmd_witness, "a transparency-log witness: init, add-log, serve" },
	{ "requests", cmd_requests, "rights requests and their deadlines: list, add, complete, extend" },
	{ "report", cmd_report, "the officer's reports: processing record, signed compliance figures, verify" },
	{ "pia", cmd_pia, "impact assessments (PIPIA, DPIA) of the brand's purposes: add, list" },
	{ "transfer", cmd_transfer, "cross-border transfer mechanisms of the brand's recipients: add, list" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: cleanroom <command> [options]   (cleanroom <command> --help)\n\n"
		   "A privacy-preserving data clean room.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		print_version();
		return CLI_OK;
	}
	/* SQLite frees a savepoint's page bitmap (sized by the database) on
	 * every release; with glibc's default 128 KiB trim threshold each free
	 * shrank the heap with brk and each savepoint grew it again, which perf
	 * showed as most of the system time of a consent import. Keep freed
	 * memory for reuse instead. */
	mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
	if (sodium_init() < 0) {
		fprintf(stderr, "cleanroom: libsodium failed to initialize\n");
		return CLI_FAIL;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "cleanroom: '%s' is not a command; see 'cleanroom --help'\n", argv[1]);
	return CLI_USAGE;
}
