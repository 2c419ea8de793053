/*
 * cli.h: the git-style command line (internal to cleanroom/).
 *
 * Every verb is one entry in the table in cleanroom/main.c with one handler
 * `int cmd_<verb>(int argc, char **argv)`; argv[0] is the verb. Handlers
 * parse their options with cli_parse(), which also accepts the options every
 * verb shares (--data DIR, --json, --help). Exit codes (docs/architecture.md):
 * 0 success, 1 refused or failed (one line on stderr), 2 usage error.
 */
#ifndef CR_CLEANROOM_CLI_H
#define CR_CLEANROOM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common/common.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* One option a verb accepts. Exactly one of value/flag is set. */
struct cli_opt {
	const char *name;     /* long name without "--" */
	const char **value;   /* borrowed from argv; for options taking a value */
	bool *flag;           /* for options without a value */
	const char *help;     /* one line for --help */
};

/* What cli_parse() found besides the verb's own options. */
struct cli_args {
	const char *data;     /* --data DIR, or NULL */
	bool json;            /* --json */
	int npos;             /* positional arguments, borrowed from argv */
	char **pos;
};

/*
 * Parses argv[1..argc) against `opts` (terminated by a NULL name) plus the
 * shared options. Accepts "--name value" and "--name=value"; "--" ends the
 * options. On --help prints `usage` and the option list to stdout.
 * Returns CLI_OK to go on, CLI_USAGE after printing an error, or -1 when help
 * was printed (the caller then exits 0).
 */
int cli_parse(int argc, char **argv, const struct cli_opt *opts,
	      const char *usage, struct cli_args *out);

/*
 * cli_parse, then requires exactly `npos` positional arguments (usage error
 * otherwise). On anything but CLI_OK, args->pos is already freed.
 */
int cli_parse_n(int argc, char **argv, const struct cli_opt *opts, const char *usage,
		struct cli_args *out, int npos);

/* Returns from the calling verb when cli_parse_n did not return CLI_OK
 * (help printed: exit 0; usage error: exit 2). */
#define CLI_PARSE_OR_RETURN(argc, argv, opts, args, npos, usage)                  \
	do {                                                                      \
		int prc_ = cli_parse_n(argc, argv, opts, usage, args, npos);      \
		if (prc_ != CLI_OK)                                               \
			return prc_ < 0 ? CLI_OK : prc_;                          \
	} while (0)

/*
 * The data directory: --data, then $CLEANROOM_DATA, then ./cleanroom-data.
 * Returns a borrowed string.
 */
const char *cli_data_dir(const struct cli_args *a);

/* Prints "cleanroom: <verb>: <message>" (printf-style) to stderr; returns CLI_FAIL. */
int cli_fail(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "cleanroom: <verb>: <cr_strerror(rc)>" and returns CLI_FAIL. */
int cli_fail_rc(const char *verb, cr_err rc);
/* Prints a usage error and the hint to run --help; returns CLI_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A verb with sub-verbs ("audit verify") dispatches through a table of these. */
struct cli_subverb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/*
 * Runs the sub-verb argv[1] of `group` from `table`; with no sub-verb,
 * --help or an unknown one prints the list (exit 0 for help, 2 otherwise).
 */
int cli_dispatch(const char *group, const struct cli_subverb *table, size_t n,
		 int argc, char **argv);

struct app;

/*
 * Opens the data directory of `args` for `verb`; on failure prints what to
 * do ("run 'cleanroom init' first") and returns CLI_FAIL.
 */
int cli_open_app(const char *verb, const struct cli_args *args, struct app **a);

/*
 * Adds what a long command's --json ends with: "elapsed_ms" since t0 (the
 * command's own work, cr_monotonic_ms) and `rate_key`: n per second.
 * Returns `doc` (NULL passes through).
 */
struct json_t *cli_with_elapsed(struct json_t *doc, int64_t t0, const char *rate_key, uint64_t n);

/*
 * For a long write (consent import, ingest): WAL checkpoints on a thread of
 * their own (store_checkpointer_start), off the command's commits; the
 * command alone uses the store, as the service's writers do under its own
 * checkpointer. NULL if it could not start (the writer then checkpoints
 * itself, as before). Stop with store_checkpointer_stop (accepts NULL).
 */
struct store_checkpointer *cli_wal_checkpoints(struct app *a);

/*
 * Resolves --brand NAME for `verb`: CLI_USAGE if it is missing, CLI_FAIL
 * (with the hint to create it) if there is no such brand.
 */
int cli_brand(const char *verb, struct app *a, const char *name, int64_t *id);

/* Reads a whole file of at most `max` bytes ("-" is stdin); handed over. */
cr_err cli_read_file(const char *path, size_t max, char **out, size_t *len) CR_MUST_CHECK;

/* Prints a JSON value (indented) on stdout and releases it. */
struct json_t;
void cli_print_json(struct json_t *v);

/* Parses "a.b.c.d:port", "[v6]:port" or "localhost:port" (cli_serve.c);
 * CR_ERR_PARSE otherwise. */
cr_err cli_listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len) CR_MUST_CHECK;

/*
 * Takes every "--NAME VALUE" / "--NAME=VALUE" out of argv (before "--"),
 * for an option that may be given several times, before cli_parse sees the
 * rest: the values (borrowed) go to vals[0..max). Returns how many, or -1
 * for a missing value or more than max.
 */
int cli_take_repeated(int *argc, char **argv, const char *name, const char **vals, int max);

/* Verb handlers (one per cleanroom/cli_<verb>.c). */
int cmd_init(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_brand(int argc, char **argv);
int cmd_notice(int argc, char **argv);
int cmd_consent(int argc, char **argv);
int cmd_requests(int argc, char **argv);
int cmd_report(int argc, char **argv);
/* `cleanroom pia` and `cleanroom transfer` (cli_pia.c). */
int cmd_pia(int argc, char **argv);
int cmd_transfer(int argc, char **argv);
/* `cleanroom audit export|verify|verify-proof` (cli_audit_verify.c). */
int cli_audit_export(int argc, char **argv);
int cli_audit_verify(int argc, char **argv);
int cli_audit_verify_proof(int argc, char **argv);
/* `cleanroom consent erase` (cli_erase.c). */
int cli_consent_erase(int argc, char **argv);
/* `cleanroom consent guardian-link` (cli_guardian.c, R16). */
int cli_consent_guardian_link(int argc, char **argv);
/* Writes a receipt (JSON text) to stdout, or to a new file at `path` (refusing an existing one). */
int cli_write_receipt(const char *verb, const char *path, const char *json);
int cmd_receipt(int argc, char **argv);
int cmd_dataset(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_collab(int argc, char **argv);
int cmd_match(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_witness(int argc, char **argv);

#endif
