/*
 * cli_dataset.c: `cleanroom dataset create|list|describe`. A dataset fixes
 * the purposes its records need consent for (each must be declared by the
 * brand's current notice), the recipients it may be shared with, the
 * identifier type and profile, and typed attribute columns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanroom/cli.h"
#include "cleanroom/dataset.h"
#include "cleanroom/ops.h"
#include "cleanroom/registry.h"

static const struct registry_actor cli_brand_actor = { "brand", "cli" };

/* Fills *d from the options; prints the usage error. */
static int dataset_from_opts(struct dataset *d, const char *name, const char *purposes,
			     const char *recipients, const char *id_type, const char *columns,
			     const char *profile, const char *suite)
{
	char err[200] = "";
	memset(d, 0, sizeof(*d));
	if (name == NULL || purposes == NULL || id_type == NULL || columns == NULL)
		return cli_usage_error("dataset create", "--name, --purposes, --id-type and --columns are required");
	if (!dataset_name_valid(name))
		return cli_usage_error("dataset create", "%s", cr_strerror(CR_ERR_DATASET_NAME));
	snprintf(d->name, sizeof(d->name), "%s", name);
	if (dataset_codes_parse(purposes, false, d->purposes, &d->npurposes) != CR_OK)
		return cli_usage_error("dataset create", "--purposes must be 1-8 distinct codes of a-z, 0-9, '.', '_', '-'");
	if (dataset_codes_parse(recipients, true, d->recipients, &d->nrecipients) != CR_OK)
		return cli_usage_error("dataset create", "--recipients must be up to 8 distinct recipient ids");
	if (crypto_id_type_parse(id_type, &d->id_type) != CR_OK)
		return cli_usage_error("dataset create", "--id-type must be email or phone");
	if (profile && strcmp(profile, "default") != 0)
		return cli_usage_error("dataset create", "--profile: only 'default' exists (docs/spec/identifiers.md)");
	snprintf(d->profile, sizeof(d->profile), "default");
	d->suite = CRYPTO_PSI_SUITE_DEFAULT;
	if (suite != NULL && crypto_psi_suite_parse(suite, &d->suite) != CR_OK)
		return cli_usage_error("dataset create", "--suite must be %s or %s",
				       crypto_psi_suite_name(CRYPTO_PSI_X25519), crypto_psi_suite_name(CRYPTO_PSI_R255));
	if (columns_parse(columns, &d->columns, err, sizeof(err)) != CR_OK)
		return cli_usage_error("dataset create", "--columns: %s", err);
	return CLI_OK;
}

static int dataset_create(int argc, char **argv)
{
	const char *brand = NULL, *name = NULL, *purposes = NULL, *recipients = NULL;
	const char *id_type = NULL, *columns = NULL, *profile = NULL, *suite = NULL;
	bool child_directed = false;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the owning brand" },
		{ "name", &name, NULL, "dataset name (a-z, 0-9, '_', '-')" },
		{ "purposes", &purposes, NULL, "purposes every record needs consent for: P1[,P2]" },
		{ "recipients", &recipients, NULL, "recipients the data may be shared with (separate consent each)" },
		{ "id-type", &id_type, NULL, "email or phone" },
		{ "columns", &columns, NULL, "attribute columns: seg:enum(a|b),spend:int(0..10000)" },
		{ "profile", &profile, NULL, "normalization profile (default)" },
		{ "suite", &suite, NULL,
		  "PSI suite of its elements: x25519-ell2-sha512 (the default) or r255-sha512" },
		{ "child-directed", NULL, &child_directed,
		  "aimed at children: a subject whose age is unknown is refused (R15)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct app *a = NULL;
	struct dataset d;
	char why[OPS_WHY_MAX] = "";
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom dataset create --brand B --name N --purposes P1[,P2]\n"
			    "         --id-type email|phone --columns SPEC [--recipients R1[,R2]] [--profile default]\n"
			    "         [--child-directed] [--suite x25519-ell2-sha512|r255-sha512]\n\n"
			    "SPEC is e.g. segment:enum(a|b|c),region:enum(north|south),spend:int(0..10000)");
	rc = dataset_from_opts(&d, name, purposes, recipients, id_type, columns, profile, suite);
	d.child_directed = child_directed;
	if (rc == CLI_OK)
		rc = cli_open_app("dataset create", &args, &a);
	if (rc == CLI_OK)
		rc = cli_brand("dataset create", a, brand, &d.brand_id);
	if (rc == CLI_OK) {
		err = ops_dataset_create(a, &cli_brand_actor, brand, &d, why, sizeof(why));
		if (why[0])
			rc = cli_fail("dataset create", "%s", why);
		else if (err == CR_ERR_DATASET_EXISTS)
			rc = cli_fail("dataset create", "brand '%s' already has a dataset '%s'", brand, name);
		else if (err != CR_OK)
			rc = cli_fail_rc("dataset create", err);
		else if (args.json)
			cli_print_json(json_pack("{s:I, s:s, s:s}", "id", (json_int_t)d.id, "brand", brand, "name", name));
		else
			printf("created dataset '%s' of brand '%s'\n", name, brand);
	}
	free(args.pos);
	app_close(a);
	return rc;
}

/* ------------------------------------------------------- list, describe */

struct list_ctx {
	struct app *a;
	json_t *arr;
};

static void list_one(void *ctx, const struct dataset *d)
{
	struct list_ctx *l = ctx;
	json_array_append_new(l->arr, ops_dataset_json(l->a, d));
}

static void print_dataset_text(json_t *o)
{
	json_t *v;
	size_t i;
	printf("%s  (%s, %lld records)\n  purposes:   ", json_string_value(json_object_get(o, "name")),
	       json_string_value(json_object_get(o, "id_type")),
	       (long long)json_integer_value(json_object_get(o, "records")));
	json_array_foreach(json_object_get(o, "purposes"), i, v)
		printf("%s%s", i ? ", " : "", json_string_value(v));
	printf("\n  recipients: ");
	json_array_foreach(json_object_get(o, "recipients"), i, v)
		printf("%s%s", i ? ", " : "", json_string_value(v));
	printf("%s\n  columns:    %s\n  PSI suite:  %s\n",
	       json_array_size(json_object_get(o, "recipients")) ? "" : "(none)",
	       json_string_value(json_object_get(o, "columns")),
	       json_string_value(json_object_get(o, "suite")));
}

static int dataset_show(int argc, char **argv, bool one)
{
	const char *brand = NULL, *name = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the owning brand" },
		{ "name", &name, NULL, "the dataset (describe)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct app *a = NULL;
	struct list_ctx l = { NULL, NULL };
	struct dataset d;
	int64_t id = 0;
	int rc;
	cr_err err = CR_OK;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    one ? "usage: cleanroom dataset describe --brand B --name N [--json]"
				: "usage: cleanroom dataset list --brand B [--json]");
	if (one && name == NULL) {
		free(args.pos);
		return cli_usage_error("dataset describe", "--name N is required");
	}
	rc = cli_open_app(argv[0], &args, &a);
	if (rc == CLI_OK)
		rc = cli_brand(argv[0], a, brand, &id);
	if (rc != CLI_OK)
		goto out;
	l.a = a;
	l.arr = json_array();
	if (one) {
		err = dataset_get(a->store, id, name, &d);
		if (err == CR_OK)
			list_one(&l, &d);
	} else {
		err = dataset_each(a->store, id, list_one, &l);
	}
	if (err == CR_ERR_DATASET_NOT_FOUND) {
		rc = cli_fail(argv[0], "brand '%s' has no dataset '%s'", brand, name);
	} else if (err != CR_OK) {
		rc = cli_fail_rc(argv[0], err);
	} else if (args.json) {
		cli_print_json(one ? json_incref(json_array_get(l.arr, 0)) : json_incref(l.arr));
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(l.arr, i, v)
			print_dataset_text(v);
		if (json_array_size(l.arr) == 0)
			printf("brand '%s' has no datasets\n", brand);
	}
out:
	json_decref(l.arr);
	free(args.pos);
	app_close(a);
	return rc;
}

static int dataset_list(int argc, char **argv)
{
	return dataset_show(argc, argv, false);
}

static int dataset_describe(int argc, char **argv)
{
	return dataset_show(argc, argv, true);
}

static const struct cli_subverb subverbs[] = {
	{ "create", dataset_create, "create a dataset: purposes, identifier type, typed columns" },
	{ "list", dataset_list, "list a brand's datasets" },
	{ "describe", dataset_describe, "describe one dataset" },
};

int cmd_dataset(int argc, char **argv)
{
	return cli_dispatch("dataset", subverbs, sizeof(subverbs) / sizeof(subverbs[0]), argc, argv);
}
