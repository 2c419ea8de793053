/*
 * cli_report.c: `cleanroom report processing|compliance|verify`, the
 * compliance officer's reports (issue 24; report.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanroom/cli.h"
#include "cleanroom/report.h"

#define REPORT_FILE_MAX (256u * 1024 * 1024)

/* --format json|md; false (after a usage error) for anything else. */
static bool format_md(const char *verb, const char *format, bool *md)
{
	*md = format != NULL && strcmp(format, "md") == 0;
	if (format != NULL && !*md && strcmp(format, "json") != 0) {
		(void)cli_usage_error(verb, "--format is json or md");
		return false;
	}
	return true;
}

/* Prints the report (JSON, or Markdown from `render`) to stdout or `out`. */
static int emit(const char *verb, json_t *doc, bool md, char *(*render)(const json_t *), const char *out)
{
	char *text = md ? render(doc) : json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	FILE *f = out ? fopen(out, "wx") : stdout;
	int rc = CLI_OK;
	if (text == NULL || f == NULL)
		rc = out && f == NULL ? cli_fail(verb, "cannot create '%s' (it must not exist)", out)
				      : cli_fail_rc(verb, CR_ERR_NOMEM);
	else if (fprintf(f, "%s\n", text) < 0)
		rc = cli_fail(verb, "cannot write the report");
	if (f && f != stdout && fclose(f) != 0)
		rc = cli_fail(verb, "cannot write '%s'", out);
	free(text);
	return rc;
}

static int report_processing_cmd(int argc, char **argv)
{
	const char *brand = NULL, *format = NULL, *out = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand" },
		{ "format", &format, NULL, "json (default) or md" },
		{ "out", &out, NULL, "write to this new file instead of stdout" },
		{ NULL, NULL, NULL, NULL },
	};
	static const char verb[] = "report processing";
	struct cli_args args;
	struct app *a = NULL;
	json_t *r = NULL;
	int64_t id = 0;
	bool md = false;
	cr_err err;
	int rc;
	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom report processing --brand B [--format json|md] [--out FILE]\n\n"
			    "The brand's record of processing activities (GDPR art. 30, PIPL art. 54): its\n"
			    "current notice's controller, purposes, categories, recipients and retention,\n"
			    "transfers abroad, datasets, collaborations and impact assessments. It holds no\n"
			    "data about any person. Format cr-report-processing-v1 (docs/spec/formats.md).");
	rc = format_md(verb, format, &md) ? CLI_OK : CLI_USAGE;
	if (rc == CLI_OK)
		rc = brand ? cli_open_app(verb, &args, &a) : cli_usage_error(verb, "--brand B is required");
	if (rc == CLI_OK)
		rc = cli_brand(verb, a, brand, &id);
	if (rc == CLI_OK && (err = report_processing(a, id, brand, cr_time_now(), &r)) != CR_OK)
		rc = cli_fail_rc(verb, err);
	if (rc == CLI_OK)
		rc = emit(verb, r, md, report_processing_markdown, out);
	json_decref(r);
	free(args.pos);
	app_close(a);
	return rc;
}

static int report_compliance_cmd(int argc, char **argv)
{
	const char *brand = NULL, *format = NULL, *out = NULL, *since_s = NULL, *until_s = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand" },
		{ "since", &since_s, NULL, "the window's start, RFC 3339 (included)" },
		{ "until", &until_s, NULL, "the window's end, RFC 3339 (excluded)" },
		{ "format", &format, NULL, "json (default; the signed, verifiable form) or md" },
		{ "out", &out, NULL, "write to this new file instead of stdout" },
		{ NULL, NULL, NULL, NULL },
	};
	static const char verb[] = "report compliance";
	struct cli_args args;
	struct app *a = NULL;
	json_t *doc = NULL;
	cr_time_ms since = 0, until = 0;
	int64_t id = 0;
	bool md = false;
	cr_err err;
	int rc;
	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom report compliance --brand B --since T --until T [--format json|md]\n"
			    "                                   [--out FILE]\n\n"
			    "Counts the brand's audit log entries in [since, until): consents, withdrawals,\n"
			    "objections, erasures, purged records, ingests, match sessions, releases,\n"
			    "refusals, budget spent per collaboration and rights requests answered late.\n"
			    "Each figure cites the audit indices that prove it; the report names a signed\n"
			    "checkpoint covering them and is signed with the reports' key ('audit key\n"
			    "--reports'). Check it with 'cleanroom report verify'. Format\n"
			    "cr-report-compliance-v1 (docs/spec/formats.md).");
	rc = format_md(verb, format, &md) ? CLI_OK : CLI_USAGE;
	if (rc == CLI_OK && (since_s == NULL || until_s == NULL ||
			     cr_time_parse(since_s, strlen(since_s), &since) != CR_OK ||
			     cr_time_parse(until_s, strlen(until_s), &until) != CR_OK || since >= until))
		rc = cli_usage_error(verb, "--since and --until are RFC 3339 times, since before until");
	if (rc == CLI_OK)
		rc = brand ? cli_open_app(verb, &args, &a) : cli_usage_error(verb, "--brand B is required");
	if (rc == CLI_OK)
		rc = cli_brand(verb, a, brand, &id);
	if (rc == CLI_OK && (err = report_compliance(a, brand, since, until, &doc)) != CR_OK)
		rc = cli_fail_rc(verb, err);
	if (rc == CLI_OK)
		rc = emit(verb, doc, md, report_compliance_markdown, out);
	json_decref(doc);
	free(args.pos);
	app_close(a);
	return rc;
}

/* An exported log (audit export): DIR/log.db, read-only, as `audit verify --log` reads it. */
static int open_export(const char *verb, const char *dir, const char *origin, sqlite3 **db, struct audit_log **log)
{
	char *path = app_path(dir, "log.db"), why[AUDIT_MSG_MAX] = "";
	int rc = CLI_OK;
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK ||
	    sqlite3_exec(*db, "PRAGMA query_only=ON", NULL, NULL, NULL) != SQLITE_OK ||
	    audit_log_open(*db, origin, NULL, log, why, sizeof(why)) != CR_OK)
		rc = cli_fail(verb, "cannot read an audit log in '%s'%s%s", dir, why[0] ? ": " : "", why);
	free(path);
	return rc;
}

static int report_verify_cmd(int argc, char **argv)
{
	const char *file = NULL, *key = NULL, *log_key = NULL, *log_dir = NULL;
	bool no_log = false;
	const struct cli_opt opts[] = {
		{ "report", &file, NULL, "the report (JSON, as 'report compliance' wrote it)" },
		{ "key", &key, NULL, "the reports' verifier key the officer holds ('audit key --reports')" },
		{ "log-key", &log_key, NULL, "the log's verifier key the officer holds ('audit key')" },
		{ "log", &log_dir, NULL, "an exported log (audit export) to prove and recount every entry in" },
		{ "no-log", NULL, &no_log, "check the signature, checkpoint and index lists only" },
		{ NULL, NULL, NULL, NULL },
	};
	static const char verb[] = "report verify";
	struct cli_args args;
	struct app *a = NULL;
	struct audit_log *log = NULL, *export_log = NULL;
	sqlite3 *db = NULL;
	char *text = NULL, *own_key = NULL, *own_log_key = NULL, why[REPORT_WHY_MAX] = "";
	size_t len = 0;
	json_t *doc = NULL;
	uint64_t checked = 0;
	cr_err err;
	int rc = CLI_OK;
	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom report verify --report FILE [--key RKEY] [--log-key VKEY]\n"
			    "                               [--log DIR | --no-log] [--data DIR]\n\n"
			    "Checks a compliance report: its signature by RKEY, its checkpoint by VKEY, and\n"
			    "with a log (an export, --log DIR, or else the data directory's) every cited\n"
			    "entry by an inclusion proof against that checkpoint (its type, brand and time)\n"
			    "and that the log's entries give the same figures. Without --key/--log-key the\n"
			    "data directory's own keys are used, which an operator could have swapped: an\n"
			    "officer passes the keys they hold. Exit 0 when all holds, 1 naming the failure.");
	if (file == NULL)
		rc = cli_usage_error(verb, "--report FILE is required");
	if (rc == CLI_OK && log_dir && (key == NULL || log_key == NULL))
		rc = cli_usage_error(verb, "an exported log is checked with the keys you hold: add --key and --log-key");
	if (rc == CLI_OK && cli_read_file(file, REPORT_FILE_MAX, &text, &len) != CR_OK)
		rc = cli_fail(verb, "cannot read '%s'", file);
	if (rc == CLI_OK && (doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		rc = cli_fail_rc(verb, CR_ERR_REPORT_MALFORMED);
	if (rc == CLI_OK && (key == NULL || log_key == NULL || (log_dir == NULL && !no_log))) {
		rc = cli_open_app(verb, &args, &a);
		if (rc == CLI_OK && ((key == NULL && app_report_key(a, &own_key) != CR_OK) ||
				     (log_key == NULL && app_verifier_key(a, &own_log_key) != CR_OK)))
			rc = cli_fail(verb, "cannot read the data directory's keys");
		if (rc == CLI_OK && (own_key || own_log_key))
			fprintf(stderr, "note: checked against this data directory's own keys; an officer "
					"checks with the keys they hold (--key, --log-key)\n");
		if (rc == CLI_OK && !log_dir && !no_log)
			log = a->log;
	}
	if (rc == CLI_OK && log_dir)
		rc = open_export(verb, log_dir,
				 json_string_value(json_object_get(json_object_get(json_object_get(doc, "report"), "log"),
								   "origin")), &db, &export_log);
	if (export_log)
		log = export_log;
	if (rc == CLI_OK) {
		err = report_compliance_verify(doc, key ? key : own_key, log_key ? log_key : own_log_key, log, &checked,
					       why, sizeof(why));
		if (err != CR_OK)
			rc = cli_fail(verb, "FAILED: %s", why[0] ? why : cr_strerror(err));
		else if (log)
			printf("report OK: signature, checkpoint, %llu cited entries proven in it, and the log's entries "
			       "give the same figures\n", (unsigned long long)checked);
		else
			printf("report OK: signature, checkpoint and index lists (no log given: entries not proven)\n");
	}
	audit_log_free(export_log);
	sqlite3_close(db);
	json_decref(doc);
	free(text);
	free(own_key);
	free(own_log_key);
	free(args.pos);
	app_close(a);
	return rc;
}

static const struct cli_subverb subverbs[] = {
	{ "processing", report_processing_cmd, "the record of processing activities (GDPR 30, PIPL 54)" },
	{ "compliance", report_compliance_cmd, "signed figures over a window, each proven by audit entries" },
	{ "verify", report_verify_cmd, "check a compliance report offline: signature, checkpoint, entries" },
};

int cmd_report(int argc, char **argv)
{
	return cli_dispatch("report", subverbs, sizeof(subverbs) / sizeof(subverbs[0]), argc, argv);
}
