/*
 * cli_audit.c: `cleanroom audit <key|checkpoint|log|prove|export|verify|verify-proof>`,
 * what a compliance officer runs. Each sub-verb is a table entry with one
 * handler; export, verify and verify-proof, the officer's own checks, live
 * in cli_audit_verify.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanroom/app.h"
#include "cleanroom/cli.h"
#include "cleanroom/witness.h"
#include "cleanroom/ops.h"
#include "cleanroom/registry.h"

#define AUDIT_FILE_MAX (AUDIT_TLOG_PROOF_MAX + 1)

/* ------------------------------------------------------------------ key */

static int audit_key(int argc, char **argv)
{
	bool receipts = false, reports = false;
	const struct cli_opt opts[] = {
		{ "receipts", NULL, &receipts, "print the receipts' verifier key instead (a key of its own)" },
		{ "reports", NULL, &reports, "print the compliance reports' verifier key instead (a key of its own)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct app *a = NULL;
	char *vkey = NULL, *rkey = NULL, *pkey = NULL;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom audit key [--receipts | --reports] [--data DIR] [--json]\n\n"
			    "Prints the audit log's verifier key (checkpoints are signed with it), or\n"
			    "with --receipts the receipts' verifier key, or with --reports the compliance\n"
			    "reports' (report compliance): each is signed with a key of its own. --json\n"
			    "prints all three.");
	rc = cli_open_app("audit key", &args, &a);
	if (rc == CLI_OK) {
		err = app_verifier_key(a, &vkey);
		if (err == CR_OK)
			err = app_receipt_key(a, &rkey);
		if (err == CR_OK)
			err = app_report_key(a, &pkey);
		rc = err == CR_OK ? CLI_OK : cli_fail_rc("audit key", err);
		if (err == CR_OK && args.json)
			cli_print_json(json_pack("{s:s,s:s,s:s}", "log", vkey, "receipts", rkey, "reports", pkey));
		else if (err == CR_OK)
			printf("%s\n", receipts ? rkey : reports ? pkey : vkey);
	}
	free(vkey);
	free(rkey);
	free(pkey);
	free(args.pos);
	app_close(a);
	return rc;
}

/* ----------------------------------------------------------- checkpoint */

static int audit_checkpoint(int argc, char **argv)
{
	static const struct cli_opt opts[] = { { NULL, NULL, NULL, NULL } };
	struct cli_args args;
	struct app *a = NULL;
	char *note = NULL;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0, "usage: cleanroom audit checkpoint [--data DIR]\n\n"
			      "Prints the latest signed checkpoint (save it to check later that\n"
			      "the log was never rewritten: audit verify --checkpoint FILE), with\n"
			      "the witnesses' cosignatures stored for it (serve --witness).");
	rc = cli_open_app("audit checkpoint", &args, &a);
	if (rc == CLI_OK) {
		/* with the cosignatures stored for it (serve --witness): still a
		 * valid signed note, whose extra lines old verifiers ignore */
		err = witness_cosigned_checkpoint(a, &note);
		rc = err == CR_OK ? CLI_OK : cli_fail_rc("audit checkpoint", err);
		if (err == CR_OK)
			fputs(note, stdout);
	}
	free(note);
	free(args.pos);
	app_close(a);
	return rc;
}

/* ------------------------------------------------------------------ log */

static void print_leaf_text(const struct audit_record *r)
{
	const struct audit_leaf *l = r->leaf;
	char when[CR_TIME_STRLEN] = "?";
	if (cr_time_format(l->time_ms, when) != CR_OK)
		snprintf(when, sizeof(when), "?");
	printf("%-8llu %s  %-22s %s:%s", (unsigned long long)r->index, when, l->event_type,
	       l->actor_role, l->actor_id);
	if (l->tenant[0])
		printf("  tenant=%s", l->tenant);
	if (l->dataset[0])
		printf("  dataset=%s", l->dataset);
	if (l->collaboration[0])
		printf("  collab=%s", l->collaboration);
	if (l->session[0])
		printf("  session=%s", l->session);
	if (l->notice[0])
		printf("  notice=%s", l->notice);
	for (size_t i = 0; i < l->n_purposes; i++)
		printf("%s%s", i ? "," : "  purposes=", l->purposes[i]);
	for (size_t i = 0; i < l->n_recipients; i++)
		printf("%s%s", i ? "," : "  recipients=", l->recipients[i]);
	if (l->has_subject)
		printf("  subject=committed");
	if (l->detail[0])
		printf("  %s", l->detail);
	putchar('\n');
}

static int parse_time_opt(const char *verb, const char *name, const char *s, cr_time_ms *out)
{
	if (s == NULL)
		return CLI_OK;
	if (cr_time_parse(s, strlen(s), out) != CR_OK)
		return cli_usage_error(verb, "--%s must be an RFC 3339 time with offset, e.g. 2026-03-01T09:00:00+08:00", name);
	return CLI_OK;
}

static int audit_log_print(struct app *a, const struct audit_query *q, bool json)
{
	struct audit_page page = { 0 };
	cr_err err = audit_log_query(a->log, q, &page);
	json_t *arr;
	if (err != CR_OK)
		return cli_fail_rc("audit log", err);
	if (json) {
		arr = json_array();
		for (size_t i = 0; i < page.n; i++)
			json_array_append_new(arr, ops_audit_record_json(&page.records[i]));
		json_t *o = json_pack("{s:o, s:b}", "entries", arr, "more", page.more);
		if (page.more)
			json_object_set_new(o, "next_before", json_integer((json_int_t)page.next_before));
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		for (size_t i = 0; i < page.n; i++)
			print_leaf_text(&page.records[i]);
		if (page.more)
			printf("(more: --before %llu)\n", (unsigned long long)page.next_before);
	}
	audit_page_release(&page);
	return CLI_OK;
}

static int audit_log_cmd(int argc, char **argv)
{
	const char *brand = NULL, *subject = NULL, *type = NULL, *since = NULL, *until = NULL;
	const char *limit = NULL, *before = NULL, *id_type = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "only this brand's entries (tenant)" },
		{ "subject", &subject, NULL, "only this subject's entries (email, phone or 64-hex digest; needs --brand)" },
		{ "id-type", &id_type, NULL, "email or phone, for a digest --subject (default: guessed)" },
		{ "type", &type, NULL, "only this event type (e.g. consent.withdraw)" },
		{ "since", &since, NULL, "entries at or after this RFC 3339 time" },
		{ "until", &until, NULL, "entries before this RFC 3339 time" },
		{ "limit", &limit, NULL, "page size, 1-1000 (default 50)" },
		{ "before", &before, NULL, "page cursor: entries with index below this" },
		{ NULL, NULL, NULL, NULL },
	};
	struct audit_query q = { .limit = 50 };
	struct cli_args args;
	struct app *a = NULL;
	struct crypto_pseudonym pseudonym;
	uint64_t v;
	int rc;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0, "usage: cleanroom audit log [--brand B] [--subject ID] [--type T]\n"
			      "                         [--since T] [--until T] [--limit N] [--before I] [--json]\n\n"
			      "Lists audit log entries, newest first, one page at a time.");
	rc = parse_time_opt("audit log", "since", since, &q.since);
	if (rc == CLI_OK)
		rc = parse_time_opt("audit log", "until", until, &q.until);
	if (rc == CLI_OK && limit) {
		if (cr_parse_u64(limit, 1, 1000, &v) != CR_OK)
			rc = cli_usage_error("audit log", "--limit must be 1 to 1000");
		q.limit = (size_t)v;
	}
	if (rc == CLI_OK && before) {
		if (cr_parse_u64(before, 0, UINT64_MAX, &q.before) != CR_OK)
			rc = cli_usage_error("audit log", "--before must be an entry index");
		q.has_before = true;
	}
	if (rc == CLI_OK && subject && !brand)
		rc = cli_usage_error("audit log", "--subject needs --brand (pseudonyms are per brand)");
	if (rc == CLI_OK)
		rc = cli_open_app("audit log", &args, &a);
	if (rc == CLI_OK && subject) {
		int64_t brand_id = 0;
		cr_err err = registry_brand(a, brand, &brand_id);
		if (err == CR_OK)
			err = registry_subject(a, brand_id, subject, id_type, &pseudonym, NULL, NULL);
		if (err != CR_OK)
			rc = cli_fail("audit log", "--subject: %s", cr_strerror(err));
		q.subject = pseudonym.bytes;
	}
	q.tenant = brand;
	q.event_type = type;
	if (rc == CLI_OK)
		rc = audit_log_print(a, &q, args.json);
	free(args.pos);
	app_close(a);
	return rc;
}

/* ---------------------------------------------------------------- prove */

/*
 * The proof's checkpoint with the witnesses' cosignature lines the log
 * stores for it (when its latest checkpoint is the cosigned one), so that
 * `verify-proof --witness` can check them offline.
 */
static cr_err prove_with_cosignatures(struct app *a, char **proof, size_t *len)
{
	struct audit_tlog_proof *p = NULL;
	char *cosigned = NULL, *out = NULL;
	size_t out_len = 0;
	cr_err rc = witness_cosigned_checkpoint(a, &cosigned);
	if (rc == CR_OK)
		rc = audit_tlog_proof_parse(*proof, *len, &p);
	if (rc == CR_OK && strlen(cosigned) > p->checkpoint_len &&
	    strncmp(cosigned, p->checkpoint, p->checkpoint_len) == 0) {
		free(p->checkpoint);
		p->checkpoint = cosigned;
		p->checkpoint_len = strlen(cosigned);
		cosigned = NULL;
		rc = audit_tlog_proof_format(p, &out, &out_len);
		if (rc == CR_OK) {
			free(*proof);
			*proof = out;
			*len = out_len;
		}
	}
	audit_tlog_proof_free(p);
	free(cosigned);
	return rc;
}

static int audit_prove(int argc, char **argv)
{
	const char *index = NULL;
	const struct cli_opt opts[] = {
		{ "index", &index, NULL, "the entry to prove" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct app *a = NULL;
	char *proof = NULL;
	size_t len = 0;
	uint64_t idx = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0, "usage: cleanroom audit prove --index N [--data DIR]\n\n"
			      "Prints a c2sp.org/tlog-proof@v1 for entry N against the latest signed\n"
			      "checkpoint, with the entry itself, to check offline with verify-proof.");
	if (index == NULL || cr_parse_u64(index, 0, UINT64_MAX, &idx) != CR_OK) {
		free(args.pos);
		return cli_usage_error("audit prove", "--index N is required (an entry index)");
	}
	rc = cli_open_app("audit prove", &args, &a);
	if (rc == CLI_OK) {
		err = audit_log_tlog_proof(a->log, idx, &proof, &len);
		if (err == CR_OK)
			err = prove_with_cosignatures(a, &proof, &len);
		if (err == CR_ERR_AUDIT_NOT_FOUND || err == CR_ERR_AUDIT_PROOF_RANGE)
			rc = cli_fail("audit prove", "entry %llu is not in the log", (unsigned long long)idx);
		else if (err != CR_OK)
			rc = cli_fail_rc("audit prove", err);
		else
			fwrite(proof, 1, len, stdout);
	}
	free(proof);
	free(args.pos);
	app_close(a);
	return rc;
}

/* ------------------------------------------------------ accept-rollback */

static int audit_accept_rollback(int argc, char **argv)
{
	bool yes = false;
	const struct cli_opt opts[] = {
		{ "yes", NULL, &yes, "confirm: the lost entries are gone for good, and the log will say so" },
		{ NULL, NULL, NULL, NULL },
	};
	static const char verb[] = "audit accept-rollback";
	struct app_rollback r;
	struct cli_args args;
	struct app *a = NULL;
	int rc = CLI_OK;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom audit accept-rollback --yes [--data DIR] [--json]\n\n"
			    "When the database is behind the signed checkpoint kept outside it\n"
			    "(DATA/audit-tip: the database was rolled back, or an older copy restored),\n"
			    "every command refuses to open it. This records the loss instead: an\n"
			    "audit.rollback entry naming what was signed and what the database holds,\n"
			    "then filler entries past the signed size, so that no size is ever signed\n"
			    "twice with different roots. Officers and witnesses see the rollback.");
	if (!yes)
		rc = cli_usage_error(verb, "the lost entries cannot be recovered; add --yes to record the rollback");
	if (rc == CLI_OK && (err = app_open_accepting_rollback(cli_data_dir(&args), &a)) != CR_OK)
		rc = cli_fail_rc(verb, err);
	if (rc == CLI_OK && (err = app_tip_accept(a, &r)) != CR_OK)
		rc = cli_fail_rc(verb, err);
	if (rc == CLI_OK && args.json)
		printf("{\"rollback\": %s, \"entries\": %llu, \"signed_size\": %llu, \"gap\": %llu, \"index\": %llu}\n",
		       r.needed ? "true" : "false", (unsigned long long)r.entries, (unsigned long long)r.signed_size,
		       (unsigned long long)r.gap, (unsigned long long)r.index);
	else if (rc == CLI_OK && !r.needed)
		printf("nothing to accept: the database holds every entry of the signed checkpoint kept outside it\n");
	else if (rc == CLI_OK)
		printf("recorded the rollback as entry %llu (audit.rollback): %s.\n"
		       "%llu entries signed before are lost with what they recorded; %llu filler entries follow.\n",
		       (unsigned long long)r.index, r.why,
		       (unsigned long long)(r.signed_size > r.entries ? r.signed_size - r.entries : 0),
		       (unsigned long long)r.gap);
	free(args.pos);
	app_close(a);
	return rc;
}

/* ---------------------------------------------------------------- table */

static const struct cli_subverb subverbs[] = {
	{ "key", audit_key, "print the log's verifier key" },
	{ "checkpoint", audit_checkpoint, "print the latest signed checkpoint" },
	{ "log", audit_log_cmd, "list entries, newest first (filters: brand, subject, type, time)" },
	{ "prove", audit_prove, "print an inclusion proof (tlog-proof) for one entry" },
	{ "export", cli_audit_export, "write the log as an officer takes it away (no keys, no salts)" },
	{ "verify", cli_audit_verify, "verify the whole log, or an exported one, with the officer's key" },
	{ "verify-proof", cli_audit_verify_proof, "verify a tlog-proof offline, with no database" },
	{ "accept-rollback", audit_accept_rollback, "record a known rollback of the database so it opens again" },
};

int cmd_audit(int argc, char **argv)
{
	return cli_dispatch("audit", subverbs, sizeof(subverbs) / sizeof(subverbs[0]), argc, argv);
}
