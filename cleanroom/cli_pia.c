/*
 * cli_pia.c: `cleanroom pia add|list` (impact assessments, R12, R28) and
 * `cleanroom transfer add|list` (cross-border transfer mechanisms, R13);
 * pia.h gives what they record and what they unlock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanroom/cli.h"
#include "cleanroom/pia.h"

static const struct registry_actor cli_actor = { "brand", "cli" };

/* Opens the data directory and finds the brand; 0 on success. */
static int open_brand(const char *verb, const struct cli_args *args, const char *brand, struct app **a, int64_t *id)
{
	int rc = brand ? cli_open_app(verb, args, a) : cli_usage_error(verb, "--brand B is required");
	if (rc == CLI_OK)
		rc = cli_brand(verb, *a, brand, id);
	return rc;
}

/* The message for a refused add: `why` when there is one. */
static int add_failed(const char *verb, cr_err err, const char *why, const char *invalid)
{
	if (why[0])
		return cli_fail(verb, "%s", why);
	if (err == CR_ERR_INVALID_ARG)
		return cli_fail(verb, "%s", invalid);
	return cli_fail_rc(verb, err);
}

/* One line of a register's text listing. */
typedef void (*print_fn)(const json_t *r);

/* `<verb> --brand B [--json]`: the register `list` fills, as JSON or a line per entry. */
static int list_cmd(int argc, char **argv, const char *verb, const char *usage,
		    cr_err (*list)(struct app *a, int64_t brand, json_t *out), print_fn print, const char *none)
{
	const char *brand = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct app *a = NULL;
	json_t *l = json_array(), *r;
	int64_t id = 0;
	size_t i;
	int rc;
	cr_err err;
	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0, usage);
	rc = open_brand(verb, &args, brand, &a, &id);
	if (rc == CLI_OK && (err = list(a, id, l)) != CR_OK)
		rc = cli_fail_rc(verb, err);
	if (rc == CLI_OK && args.json) {
		cli_print_json(json_incref(l));
	} else if (rc == CLI_OK) {
		json_array_foreach(l, i, r)
			print(r);
		if (json_array_size(l) == 0)
			printf("%s\n", none);
	}
	json_decref(l);
	free(args.pos);
	app_close(a);
	return rc;
}

static int pia_add_cmd(int argc, char **argv)
{
	const char *brand = NULL, *ref = NULL, *covers = NULL, *kind = "pipia", *date = NULL;
	bool cross_border = false;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand" },
		{ "ref", &ref, NULL, "the assessment's own reference (A-Z a-z 0-9 . _ - /, at most 64)" },
		{ "covers", &covers, NULL, "the purposes it assessed, comma-separated (declared by the current notice)" },
		{ "kind", &kind, NULL, "pipia (PIPL 55, the default) or dpia (GDPR 35)" },
		{ "date", &date, NULL, "when it was carried out, RFC 3339 (default now)" },
		{ "cross-border", NULL, &cross_border, "it also assessed these purposes' transfers abroad (R13)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct app *a = NULL;
	char why[256] = "";
	cr_time_ms at = cr_time_now();
	int64_t id = 0;
	int rc;
	cr_err err;
	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom pia add --brand B --ref ID --covers P1[,P2] [--kind pipia|dpia]\n"
			    "         [--date T] [--cross-border]\n\n"
			    "Records an impact assessment (PIPIA or DPIA) of the brand's purposes. A dataset\n"
			    "can be created only when every one of its purposes is covered (R12, R28); a\n"
			    "partner abroad also needs one recorded with --cross-border (R13). Audited as\n"
			    "pia.add; assessments are never changed or removed.");
	if (date && cr_time_parse(date, strlen(date), &at) != CR_OK) {
		free(args.pos);
		return cli_usage_error("pia add", "--date must be an RFC 3339 time");
	}
	if (ref == NULL || covers == NULL || !pia_kind_valid(kind)) {
		free(args.pos);
		return cli_usage_error("pia add", "--ref, --covers and --kind pipia|dpia are required");
	}
	rc = open_brand("pia add", &args, brand, &a, &id);
	if (rc == CLI_OK &&
	    (err = pia_add(a, &cli_actor, id, brand, ref, kind, covers, cross_border, at, why, sizeof(why))) != CR_OK)
		rc = add_failed("pia add", err, why,
				"refused: the reference must be 1 to 64 of A-Z a-z 0-9 . _ - /, the purposes a list"
				" of codes, and the date not in the future");
	if (rc == CLI_OK && args.json)
		cli_print_json(json_pack("{s:s, s:s, s:s}", "brand", brand, "ref", ref, "kind", kind));
	else if (rc == CLI_OK)
		printf("recorded impact assessment '%s' of brand '%s'\n", ref, brand);
	free(args.pos);
	app_close(a);
	return rc;
}

static void pia_print(const json_t *r)
{
	size_t k;
	const json_t *p;
	printf("%-24s %-6s assessed %s%s  covers ", json_string_value(json_object_get(r, "ref")),
	       json_string_value(json_object_get(r, "kind")), json_string_value(json_object_get(r, "assessed")),
	       json_is_true(json_object_get(r, "cross_border")) ? "  cross-border" : "");
	json_array_foreach(json_object_get(r, "covers"), k, p)
		printf("%s%s", k ? "," : "", json_string_value(p));
	printf("\n");
}

static int pia_list_cmd(int argc, char **argv)
{
	return list_cmd(argc, argv, "pia list",
			"usage: cleanroom pia list --brand B [--json]\n\n"
			"The brand's impact assessments, oldest first, with the purposes each covers.",
			pia_list, pia_print, "no impact assessments");
}

static const struct cli_subverb pia_subverbs[] = {
	{ "add", pia_add_cmd, "record an impact assessment covering some purposes" },
	{ "list", pia_list_cmd, "the brand's impact assessments" },
};

int cmd_pia(int argc, char **argv)
{
	return cli_dispatch("pia", pia_subverbs, sizeof(pia_subverbs) / sizeof(pia_subverbs[0]), argc, argv);
}

static int transfer_add_cmd(int argc, char **argv)
{
	const char *brand = NULL, *recipient = NULL, *mechanism = NULL, *ref = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand" },
		{ "recipient", &recipient, NULL, "the recipient (partner) of the brand's notice" },
		{ "mechanism", &mechanism, NULL, "cac-assessment, certification, standard-contract (PIPL 38),"
						 " adequacy, scc or bcr (GDPR 45-47)" },
		{ "ref", &ref, NULL, "the brand's reference of the document (A-Z a-z 0-9 . _ - /)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct app *a = NULL;
	char why[256] = "";
	int64_t id = 0;
	int rc;
	cr_err err;
	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom transfer add --brand B --recipient R --mechanism M --ref ID\n\n"
			    "Records the mechanism under which the brand sends a recipient abroad data:\n"
			    "cac-assessment, certification, standard-contract (PIPL 38(1)-(3)), adequacy\n"
			    "(GDPR 45), scc (GDPR 46(2)(c)) or bcr (GDPR 47). A collaboration with a partner\n"
			    "outside the notice's jurisdictions needs one (R13). Audited as transfer.add.");
	if (recipient == NULL || ref == NULL || !transfer_mechanism_valid(mechanism)) {
		free(args.pos);
		return cli_usage_error("transfer add", "--recipient, --ref and --mechanism (cac-assessment, "
				       "certification, standard-contract, adequacy, scc, bcr) are required");
	}
	rc = open_brand("transfer add", &args, brand, &a, &id);
	if (rc == CLI_OK &&
	    (err = transfer_add(a, &cli_actor, id, brand, recipient, mechanism, ref, why, sizeof(why))) != CR_OK)
		rc = add_failed("transfer add", err, why,
				"refused: the reference must be 1 to 64 of A-Z a-z 0-9 . _ - /");
	if (rc == CLI_OK && args.json)
		cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "brand", brand, "recipient", recipient, "mechanism",
					 mechanism, "ref", ref));
	else if (rc == CLI_OK)
		printf("recorded transfer mechanism %s for recipient '%s' of brand '%s'\n", mechanism, recipient, brand);
	free(args.pos);
	app_close(a);
	return rc;
}

static void transfer_print(const json_t *r)
{
	printf("%-20s %-3s %-18s %s\n", json_string_value(json_object_get(r, "recipient")),
	       json_string_value(json_object_get(r, "country")), json_string_value(json_object_get(r, "mechanism")),
	       json_string_value(json_object_get(r, "ref")));
}

static int transfer_list_cmd(int argc, char **argv)
{
	return list_cmd(argc, argv, "transfer list",
			"usage: cleanroom transfer list --brand B [--json]\n\n"
			"The brand's recorded transfer mechanisms, oldest first.",
			transfer_list, transfer_print, "no transfer mechanisms");
}

static const struct cli_subverb transfer_subverbs[] = {
	{ "add", transfer_add_cmd, "record a cross-border transfer mechanism for a recipient" },
	{ "list", transfer_list_cmd, "the brand's transfer mechanisms" },
};

int cmd_transfer(int argc, char **argv)
{
	return cli_dispatch("transfer", transfer_subverbs, sizeof(transfer_subverbs) / sizeof(transfer_subverbs[0]),
			    argc, argv);
}
