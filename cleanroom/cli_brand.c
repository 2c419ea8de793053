/*
 * cli_brand.c: `cleanroom brand create NAME`: registers a brand, the data
 * owner whose notices, consents and datasets the other verbs act on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanroom/cli.h"
#include "cleanroom/registry.h"

static const struct registry_actor cli_admin = { "admin", "cli" };

static int brand_create(int argc, char **argv)
{
	static const struct cli_opt opts[] = { { NULL, NULL, NULL, NULL } };
	struct cli_args args;
	struct app *a = NULL;
	int64_t id = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 1,
			    "usage: cleanroom brand create NAME [--data DIR] [--json]\n\n"
			    "Registers a brand. NAME is 1-64 of a-z, 0-9, '.', '_' or '-'.");
	rc = cli_open_app("brand create", &args, &a);
	if (rc == CLI_OK) {
		err = registry_brand_create(a, &cli_admin, args.pos[0], &id);
		if (err == CR_ERR_CONSENT_BRAND_EXISTS)
			rc = cli_fail("brand create", "brand '%s' already exists", args.pos[0]);
		else if (err != CR_OK)
			rc = cli_fail("brand create", "'%s': %s", args.pos[0], cr_strerror(err));
		else if (args.json)
			cli_print_json(json_pack("{s:I, s:s}", "id", (json_int_t)id, "name", args.pos[0]));
		else
			printf("created brand '%s' (id %lld)\n", args.pos[0], (long long)id);
	}
	free(args.pos);
	app_close(a);
	return rc;
}

static int brand_child_age(int argc, char **argv)
{
	const char *brand = NULL, *jur = NULL, *age_s = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand" },
		{ "jurisdiction", &jur, NULL, "EU, or an EU member state's code (DE, FR, ...)" },
		{ "age", &age_s, NULL, "13 to 16: under it a child needs a guardian's grant" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct app *a = NULL;
	int64_t id = 0;
	uint64_t age = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom brand child-age --brand B --jurisdiction EU|DE|... --age 13..16\n\n"
			    "Sets the age under which a child needs a guardian's grant (R15, GDPR 8).\n"
			    "CN's 14 is fixed by PIPL and cannot be set.");
	if (brand == NULL || jur == NULL || age_s == NULL)
		rc = cli_usage_error("brand child-age", "--brand, --jurisdiction and --age are required");
	else if (cr_parse_u64(age_s, 0, 99, &age) != CR_OK)
		rc = cli_usage_error("brand child-age", "--age must be a whole number");
	else
		rc = cli_open_app("brand child-age", &args, &a);
	if (rc == CLI_OK)
		rc = cli_brand("brand child-age", a, brand, &id);
	if (rc == CLI_OK) {
		err = registry_brand_child_age(a, &cli_admin, id, jur, (int)age);
		if (err != CR_OK)
			rc = cli_fail_rc("brand child-age", err);
		else if (args.json)
			cli_print_json(json_pack("{s:s, s:s, s:i}", "brand", brand, "jurisdiction", jur, "age", (int)age));
		else
			printf("brand '%s': under %d in %s needs a guardian's grant\n", brand, (int)age, jur);
	}
	free(args.pos);
	app_close(a);
	return rc;
}

static const struct cli_subverb subverbs[] = {
	{ "create", brand_create, "register a brand" },
	{ "child-age", brand_child_age, "set the age under which a child needs a guardian (EU, R15)" },
};

int cmd_brand(int argc, char **argv)
{
	return cli_dispatch("brand", subverbs, sizeof(subverbs) / sizeof(subverbs[0]), argc, argv);
}
