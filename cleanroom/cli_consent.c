/*
 * cli_consent.c: `cleanroom consent import|grant|refuse|served|withdraw|object|status|export`
 * (guardian-link is in cli_guardian.c, erase in cli_erase.c).
 *
 * Subjects are given as users write them (an email, a phone, or a 64-hex
 * digest with --id-type); the CLI turns them into the brand's keyed
 * pseudonym before anything is stored, and never prints them back.
 * Every stored event appends its audit leaf in the same transaction; a
 * withdrawal also purges the subject's records (I3) and prints its receipt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cleanroom/cli.h"
#include "cleanroom/progress.h"
#include "cleanroom/ops.h"
#include "cleanroom/registry.h"

#define IMPORT_SHOW_REFUSED 20

static const struct registry_actor cli_brand_actor = { "brand", "cli" };

/* ---------------------------------------------------------------- import */

struct import_cli {
	struct app *a;
	struct progress prog;
	uint64_t shown;
	bool json;
	uint64_t file_size;  /* 0: unknown (stdin), then no ETA */
};

/* The first refused lines go to stderr: number and reason, never the subject. */
static void import_refused(void *ctx, uint64_t line, cr_err code, const char *why)
{
	struct import_cli *c = ctx;
	if (!c->json && c->shown++ < IMPORT_SHOW_REFUSED)
		fprintf(stderr, "line %llu: refused: %s%s%s\n", (unsigned long long)line,
			cr_strerror(code), why[0] ? ": " : "", why);
}

static void import_lines(void *ctx, uint64_t lines, uint64_t bytes)
{
	struct import_cli *c = ctx;
	progress_update(&c->prog, lines, 0, c->file_size ? bytes : 0, c->file_size);
}

static void summary_text(const struct consent_import_summary *s, uint64_t shown)
{
	printf("consent import: %llu lines, %llu events stored, %llu duplicates skipped, %llu refused\n",
	       (unsigned long long)s->lines, (unsigned long long)s->stored,
	       (unsigned long long)s->duplicates, (unsigned long long)s->refused);
	for (int t = 1; t < CONSENT_EV_COUNT; t++)
		if (s->stored_by_type[t])
			printf("  %-9s %llu\n", consent_event_type_name((enum consent_event_type)t),
			       (unsigned long long)s->stored_by_type[t]);
	for (size_t i = 0; i < s->nreasons; i++)
		printf("  refused: %-40s %llu\n", cr_strerror(s->reasons[i].code),
		       (unsigned long long)s->reasons[i].count);
	if (shown > IMPORT_SHOW_REFUSED)
		printf("  (the first %d refused lines are listed above)\n", IMPORT_SHOW_REFUSED);
}

static int import_run(struct import_cli *c, int64_t brand, FILE *in)
{
	struct consent_import_summary sum;
	struct store_checkpointer *wal;
	struct stat st;
	int64_t t0 = cr_monotonic_ms();
	cr_err rc;

	c->file_size = in != stdin && fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	progress_init(&c->prog, progress_wanted(c->json), "consent import", "lines");
	wal = cli_wal_checkpoints(c->a);
	rc = ops_consent_import(c->a, &cli_brand_actor, brand, "import", in, import_refused, import_lines, c, &sum);
	store_checkpointer_stop(wal);
	progress_finish(&c->prog);
	if (rc != CR_OK)
		return cli_fail("consent import", "stopped after line %llu: %s (earlier batches are stored)",
				(unsigned long long)sum.lines, cr_strerror(rc));
	if (c->json)
		cli_print_json(cli_with_elapsed(ops_import_summary_json(&sum), t0, "lines_per_second", sum.lines));
	else
		summary_text(&sum, c->shown);
	return sum.refused ? CLI_FAIL : CLI_OK;
}

static int consent_import(int argc, char **argv)
{
	const char *brand = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand the events belong to" },
		{ NULL, NULL, NULL, NULL },
	};
	struct import_cli c = { 0 };
	struct cli_args args;
	FILE *in = NULL;
	int64_t id = 0;
	int rc;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 1,
			    "usage: cleanroom consent import --brand B FILE.ndjson [--json]\n\n"
			    "Imports consent events, one JSON object per line (docs/spec/formats.md; '-' reads\n"
			    "stdin). Refused lines are reported with their line number and reason and not\n"
			    "stored; valid lines are stored. Exit 1 if any line was refused.");
	c.json = args.json;
	in = strcmp(args.pos[0], "-") == 0 ? stdin : fopen(args.pos[0], "rb");
	if (in == NULL) {
		rc = cli_fail("consent import", "cannot read '%s'", args.pos[0]);
		goto out;
	}
	rc = cli_open_app("consent import", &args, &c.a);
	if (rc == CLI_OK)
		rc = cli_brand("consent import", c.a, brand, &id);
	if (rc == CLI_OK)
		rc = import_run(&c, id, in);
out:
	if (in && in != stdin)
		fclose(in);
	free(args.pos);
	app_close(c.a);
	return rc;
}

/* --------------------------------------------------------- single events */

struct event_opts {
	const char *brand, *subject, *id_type, *purpose, *recipient, *notice, *method, *channel;
	const char *actor, *guardian_ref, *birth_year, *jurisdiction, *expires, *time, *signal;
	const char *evidence, *receipt;
};

static int parse_time_arg(const char *verb, const char *name, const char *s, cr_time_ms *out)
{
	if (s && cr_time_parse(s, strlen(s), out) != CR_OK)
		return cli_usage_error(verb, "--%s must be an RFC 3339 time with offset", name);
	return CLI_OK;
}

static int copy_field(const char *verb, const char *name, const char *v, char *dst, size_t cap)
{
	if (v == NULL)
		return CLI_OK;
	if (strlen(v) >= cap)
		return cli_usage_error(verb, "--%s is too long", name);
	memcpy(dst, v, strlen(v) + 1);
	return CLI_OK;
}

/* Fills the event from the options (consent_record checks it again). */
static int event_from_opts(const char *verb, const struct event_opts *o, struct consent_event *ev)
{
	uint64_t n;
	int rc = CLI_OK;
	ev->time = cr_time_now();
	ev->received = ev->time;
	rc = parse_time_arg(verb, "time", o->time, &ev->time);
	if (rc == CLI_OK && o->expires)
		rc = parse_time_arg(verb, "expires", o->expires, &ev->expires);
	if (rc == CLI_OK && o->notice) {
		if (cr_parse_u64(o->notice, 1, UINT32_MAX, &n) != CR_OK)
			return cli_usage_error(verb, "--notice-version must be a positive integer");
		ev->notice_version = (uint32_t)n;
	}
	if (rc == CLI_OK && o->birth_year) {
		if (cr_parse_u64(o->birth_year, 1900, 2100, &n) != CR_OK)
			return cli_usage_error(verb, "--birth-year must be a year");
		ev->birth_year = (int)n;
	}
	if (rc == CLI_OK && o->actor) {
		if (strcmp(o->actor, "subject") == 0)
			ev->actor = CONSENT_ACTOR_SUBJECT;
		else if (strcmp(o->actor, "guardian") == 0)
			ev->actor = CONSENT_ACTOR_GUARDIAN;
		else
			return cli_usage_error(verb, "--actor must be subject or guardian");
	} else if (ev->type == CONSENT_EV_GRANT || ev->type == CONSENT_EV_REFUSE) {
		ev->actor = CONSENT_ACTOR_SUBJECT;
	}
	if (rc == CLI_OK && ev->type == CONSENT_EV_WITHDRAW) {
		/* never refused for its form: codes normalized, several made several (R17) */
		consent_withdraw_scope_set(ev, &o->purpose, o->purpose != NULL, &o->recipient,
					   o->recipient != NULL);
	} else {
		if (rc == CLI_OK)
			rc = copy_field(verb, "purpose", o->purpose, ev->purpose, sizeof(ev->purpose));
		if (rc == CLI_OK)
			rc = copy_field(verb, "recipient", o->recipient, ev->recipient, sizeof(ev->recipient));
	}
	if (rc == CLI_OK)
		rc = copy_field(verb, "method", o->method, ev->method, sizeof(ev->method));
	if (rc == CLI_OK)
		rc = copy_field(verb, "channel", o->channel, ev->channel, sizeof(ev->channel));
	if (rc == CLI_OK)
		rc = copy_field(verb, "guardian-ref", o->guardian_ref, ev->guardian_ref, sizeof(ev->guardian_ref));
	if (rc == CLI_OK)
		rc = copy_field(verb, "jurisdiction", o->jurisdiction, ev->jurisdiction, sizeof(ev->jurisdiction));
	if (rc == CLI_OK)
		rc = copy_field(verb, "signal", o->signal, ev->signal, sizeof(ev->signal));
	if (rc == CLI_OK)
		rc = copy_field(verb, "evidence", o->evidence, ev->evidence, sizeof(ev->evidence));
	consent_event_source(ev, "cli", "operator"); /* R24: an operator typed it */
	return rc;
}

static int single_event(int argc, char **argv, enum consent_event_type type)
{
	struct event_opts o = { 0 };
	const struct cli_opt opts[] = {
		{ "brand", &o.brand, NULL, "the brand" },
		{ "subject", &o.subject, NULL, "email, phone or 64-hex digest of the person" },
		{ "id-type", &o.id_type, NULL, "email or phone (required for a digest)" },
		{ "purpose", &o.purpose, NULL, "purpose code (withdraw: omit for all purposes)" },
		{ "recipient", &o.recipient, NULL, "recipient id for a separate sharing consent" },
		{ "notice-version", &o.notice, NULL, "the notice version shown (served, grant, refuse)" },
		{ "method", &o.method, NULL, "how consent was given: checkbox, button, signature, ..." },
		{ "channel", &o.channel, NULL, "web, app, store, ... (default cli)" },
		{ "actor", &o.actor, NULL, "subject or guardian" },
		{ "guardian-ref", &o.guardian_ref, NULL, "reference of the guardian's verification" },
		{ "birth-year", &o.birth_year, NULL, "the subject's birth year" },
		{ "jurisdiction", &o.jurisdiction, NULL, "CN, EU or an EU member state code" },
		{ "expires", &o.expires, NULL, "grant expiry (RFC 3339)" },
		{ "time", &o.time, NULL, "when it happened (RFC 3339; default now)" },
		{ "signal", &o.signal, NULL, "objection signal: gpc, email, ..." },
		{ "evidence", &o.evidence, NULL, "an opaque evidence reference" },
		{ "receipt", &o.receipt, NULL, "write the signed receipt to this new file" },
		{ NULL, NULL, NULL, NULL },
	};
	char usage[256], why[CONSENT_WHY_MAX] = "", *receipt = NULL;
	struct consent_event ev;
	struct consent_change ch;
	struct cli_args args;
	struct app *a = NULL;
	int64_t id = 0;
	int rc;
	cr_err err;

	snprintf(usage, sizeof(usage),
		 "usage: cleanroom consent %s --brand B --subject ID [--purpose P] [--recipient R] ...",
		 argv[0]);
	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0, usage);
	consent_event_init(&ev, type);
	rc = o.subject ? event_from_opts(argv[0], &o, &ev)
		       : cli_usage_error(argv[0], "--subject ID is required");
	if (rc == CLI_OK)
		rc = cli_open_app(argv[0], &args, &a);
	if (rc == CLI_OK)
		rc = cli_brand(argv[0], a, o.brand, &id);
	if (rc != CLI_OK)
		goto out;
	err = registry_subject(a, id, o.subject, o.id_type, &ev.subject, ev.aliases, &ev.n_aliases);
	if (err != CR_OK) {
		rc = cli_fail(argv[0], "--subject: %s", cr_strerror(err));
		goto out;
	}
	err = registry_event(a, &cli_brand_actor, id, &ev, &ch, &receipt, why, sizeof(why));
	if (err != CR_OK) {
		rc = cli_fail(argv[0], "refused: %s%s%s", cr_strerror(err), why[0] ? ": " : "", why);
		goto out;
	}
	if (ch.duplicate)
		fprintf(stderr, "an identical event was already recorded; nothing changed\n");
	else if (type == CONSENT_EV_WITHDRAW)
		fprintf(stderr, "withdrawn: effective now; %llu record(s) purged; the subject is suppressed\n",
			(unsigned long long)a->purged_records);
	if (receipt)
		rc = cli_write_receipt(argv[0], o.receipt, receipt);
	else if (!ch.duplicate)
		fprintf(stderr, "recorded %s event %lld\n", consent_event_type_name(type), (long long)ch.event_id);
out:
	free(receipt);
	free(args.pos);
	app_close(a);
	return rc;
}

static int consent_grant(int argc, char **argv)
{
	return single_event(argc, argv, CONSENT_EV_GRANT);
}

static int consent_refuse(int argc, char **argv)
{
	return single_event(argc, argv, CONSENT_EV_REFUSE);
}

static int consent_served(int argc, char **argv)
{
	return single_event(argc, argv, CONSENT_EV_SERVED);
}

static int consent_withdraw_cmd(int argc, char **argv)
{
	return single_event(argc, argv, CONSENT_EV_WITHDRAW);
}

static int consent_object(int argc, char **argv)
{
	return single_event(argc, argv, CONSENT_EV_OBJECT);
}

/* ------------------------------------------------------- status, export */

static int consent_status(int argc, char **argv)
{
	const char *brand = NULL, *subject = NULL, *id_type = NULL, *at_s = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand" },
		{ "subject", &subject, NULL, "email, phone or 64-hex digest" },
		{ "id-type", &id_type, NULL, "email or phone (required for a digest)" },
		{ "at", &at_s, NULL, "decide at this RFC 3339 time (default now)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct crypto_pseudonym p;
	struct cli_args args;
	struct app *a = NULL;
	json_t *list = NULL, *v;
	cr_time_ms at = cr_time_now();
	int64_t id = 0;
	size_t i;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom consent status --brand B --subject ID [--at TIME] [--json]\n\n"
			    "For each purpose and recipient of the current notice: the decision and reason.");
	rc = subject ? parse_time_arg("status", "at", at_s, &at) : cli_usage_error("status", "--subject ID is required");
	if (rc == CLI_OK)
		rc = cli_open_app("status", &args, &a);
	if (rc == CLI_OK)
		rc = cli_brand("status", a, brand, &id);
	if (rc != CLI_OK)
		goto out;
	err = registry_subject(a, id, subject, id_type, &p, NULL, NULL);
	list = json_array();
	if (err == CR_OK)
		err = ops_consent_status(a, id, &p, at, list);
	if (err != CR_OK) {
		rc = cli_fail("status", "%s", cr_strerror(err));
		goto out;
	}
	if (args.json) {
		cli_print_json(json_incref(list));
	} else {
		json_array_foreach(list, i, v)
			printf("%-20s %-14s %-7s %s\n", json_string_value(json_object_get(v, "purpose")),
			       json_is_string(json_object_get(v, "recipient"))
				       ? json_string_value(json_object_get(v, "recipient")) : "-",
			       json_is_true(json_object_get(v, "allowed")) ? "allowed" : "denied",
			       json_string_value(json_object_get(v, "reason")));
	}
out:
	json_decref(list);
	free(args.pos);
	app_close(a);
	return rc;
}

static int consent_export(int argc, char **argv)
{
	const char *brand = NULL, *subject = NULL, *id_type = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand" },
		{ "subject", &subject, NULL, "one subject (email, phone or digest); omit for the whole registry" },
		{ "id-type", &id_type, NULL, "email or phone (required for a digest)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct crypto_pseudonym p[1 + CONSENT_KEY_VERSIONS_MAX];
	struct cli_args args;
	struct app *a = NULL;
	size_t n_alias = 0;
	int64_t id = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom consent export --brand B [--subject ID]\n\n"
			    "With --subject: the subject's access copy as JSON (cr-subject-access-v1:\n"
			    "their whole history (R29) with the receipt of each consent act (R27),\n"
			    "and what the brand holds about them, per dataset; GDPR 15 and 20).\n"
			    "Without: the brand's whole registry as NDJSON, for an audit.");
	rc = cli_open_app("export", &args, &a);
	if (rc == CLI_OK)
		rc = cli_brand("export", a, brand, &id);
	if (rc != CLI_OK)
		goto out;
	if (subject) {
		json_t *doc = NULL;
		err = registry_subject(a, id, subject, id_type, &p[0], p + 1, &n_alias);
		if (err == CR_OK)
			err = ops_subject_access(a, id, p, 1 + n_alias, &doc);
		if (err == CR_OK && json_dumpf(doc, stdout, JSON_INDENT(2)) != 0)
			err = CR_ERR_IO;
		json_decref(doc);
	} else {
		err = consent_export_registry(a->consent, id, cr_time_now(), consent_write_file, stdout);
	}
	if (err != CR_OK)
		rc = cli_fail("export", "%s", cr_strerror(err));
	else
		fputc('\n', stdout);
out:
	free(args.pos);
	app_close(a);
	return rc;
}

static int consent_receipt_cmd(int argc, char **argv)
{
	const char *brand = NULL, *event = NULL, *out = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand" },
		{ "event", &event, NULL, "the event's id (as import, status or export show it)" },
		{ "out", &out, NULL, "write the receipt to this new file (default: stdout)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct app *a = NULL;
	char *receipt = NULL;
	uint64_t ev = 0;
	int64_t id = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom consent receipt --brand B --event ID [--out FILE]\n\n"
			    "The signed receipt (R27) of a grant, refusal, withdrawal or objection,\n"
			    "however it arrived (an import's too), with its audit inclusion proof.");
	if (brand == NULL || event == NULL || cr_parse_u64(event, 1, INT64_MAX, &ev) != CR_OK)
		rc = cli_usage_error("receipt", "--brand and --event (a positive id) are required");
	else
		rc = cli_open_app("receipt", &args, &a);
	if (rc == CLI_OK)
		rc = cli_brand("receipt", a, brand, &id);
	if (rc == CLI_OK) {
		err = registry_event_receipt(a, id, (int64_t)ev, &receipt);
		rc = err == CR_OK ? cli_write_receipt("receipt", out, receipt) : cli_fail_rc("receipt", err);
	}
	free(receipt);
	free(args.pos);
	app_close(a);
	return rc;
}

static const struct cli_subverb subverbs[] = {
	{ "import", consent_import, "import consent events from NDJSON (batched)" },
	{ "served", consent_served, "record that a notice version was shown" },
	{ "grant", consent_grant, "record a grant for one purpose (or a recipient)" },
	{ "refuse", consent_refuse, "record a refusal" },
	{ "withdraw", consent_withdraw_cmd, "withdraw (all, one purpose or one recipient): purges at once" },
	{ "object", consent_object, "record a marketing objection (R21)" },
	{ "status", consent_status, "decisions per purpose and recipient for one subject" },
	{ "export", consent_export, "export a subject's history or the whole registry" },
	{ "receipt", consent_receipt_cmd, "the signed receipt of a stored consent act (R27)" },
	{ "guardian-link", cli_consent_guardian_link, "record a verified guardian link for a child (R16)" },
	{ "erase", cli_consent_erase, "erase a person: withdraw all, purge, unlink from the audit log" },
};

int cmd_consent(int argc, char **argv)
{
	return cli_dispatch("consent", subverbs, sizeof(subverbs) / sizeof(subverbs[0]), argc, argv);
}
