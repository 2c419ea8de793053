/*
 * cli_erase.c: `cleanroom consent erase`, a person's erasure (GDPR 17,
 * PIPL 47) from the command line: the same operation and the same JSON as
 * POST /v1/brands/{brand}/subjects/{digest}/erase (ops_subject_erase).
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cleanroom/cli.h"
#include "cleanroom/ops.h"
#include "cleanroom/registry.h"

static const struct registry_actor erase_actor = { "brand", "cli" };

/* The text form: what was erased, what is kept, where the proof is. */
static void print_erasure(const json_t *doc)
{
	const json_t *e = json_object_get(doc, "erased"), *kept = json_object_get(doc, "kept"), *k;
	size_t i;
	printf("erased: %lld records purged, %lld consent events unlinked from their audit leaves,\n"
	       "        %lld audit index rows and %lld audit salts deleted\n",
	       (long long)json_integer_value(json_object_get(e, "purged_records")),
	       (long long)json_integer_value(json_object_get(e, "event_links")),
	       (long long)json_integer_value(json_object_get(e, "audit_index_rows")),
	       (long long)json_integer_value(json_object_get(e, "audit_salts")));
	json_array_foreach(kept, i, k)
		printf("kept:   %s\n", json_string_value(k));
	printf("audit:  subject.erase is entry %lld\n",
	       (long long)json_integer_value(json_object_get(json_object_get(doc, "erasure"), "audit_index")));
}

int cli_consent_erase(int argc, char **argv)
{
	const char *brand = NULL, *subject = NULL, *id_type = NULL, *out = NULL;
	bool yes = false;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand" },
		{ "subject", &subject, NULL, "email, phone or 64-hex digest of the person" },
		{ "id-type", &id_type, NULL, "email or phone (required for a digest)" },
		{ "out", &out, NULL, "write the erasure's receipt (JSON) to this new file" },
		{ "yes", NULL, &yes, "confirm: an erasure cannot be undone" },
		{ NULL, NULL, NULL, NULL },
	};
	struct crypto_pseudonym p[1 + CONSENT_KEY_VERSIONS_MAX];
	struct cli_args args;
	struct app *a = NULL;
	json_t *doc = NULL;
	size_t n_alias = 0;
	int64_t id = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom consent erase --brand B --subject ID [--id-type T] --yes [--out FILE] [--json]\n\n"
			    "Erases a person (GDPR 17, PIPL 47) in one transaction: withdraws every consent\n"
			    "and purges every record, deletes the person's audit salts and index rows so\n"
			    "that no audit entry can be tied to them again, and appends a subject.erase\n"
			    "entry. Kept: the pseudonymous consent events (evidence of lawfulness, R26) and\n"
			    "the suppression entry (R33). Every audit proof stays valid.");
	if (subject == NULL)
		rc = cli_usage_error("consent erase", "--subject ID is required");
	else if (!yes)
		rc = cli_usage_error("consent erase", "an erasure cannot be undone; add --yes to confirm");
	else
		rc = cli_open_app("consent erase", &args, &a);
	if (rc == CLI_OK)
		rc = cli_brand("consent erase", a, brand, &id);
	if (rc != CLI_OK)
		goto done;
	err = registry_subject(a, id, subject, id_type, &p[0], p + 1, &n_alias);
	if (err == CR_OK)
		err = ops_subject_erase(a, &erase_actor, id, p, 1 + n_alias, &doc);
	if (err != CR_OK) {
		rc = cli_fail_rc("consent erase", err);
		goto done;
	}
	if (out != NULL) {
		char *text = json_dumps(doc, JSON_INDENT(2));
		rc = text ? cli_write_receipt("consent erase", out, text) : cli_fail_rc("consent erase", CR_ERR_NOMEM);
		free(text);
	}
	if (rc == CLI_OK && args.json)
		cli_print_json(json_incref(doc));
	else if (rc == CLI_OK)
		print_erasure(doc);
done:
	json_decref(doc);
	free(args.pos);
	app_close(a);
	return rc;
}
