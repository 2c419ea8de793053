/*
 * cli_collab.c: `cleanroom collab create|list|budget`. A collaboration
 * fixes what a partner may learn from a brand dataset (docs/spec/privacy.md):
 * the dimensions and metrics a query may use, the threshold k, epsilon per
 * query, and the partner set's size limits. The total budget belongs to
 * the (dataset, partner) pair: the pair's first collaboration sets it, and
 * `collab budget C --raise B --brand NAME` raises it (audited). The pair's
 * ledger, raises included, is readable by both sides.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanroom/cli.h"
#include "cleanroom/collab.h"
#include "cleanroom/ops.h"
#include "cleanroom/registry.h"

static const struct registry_actor cli_brand_actor = { "brand", "cli" };

/* ---------------------------------------------------------------- create */

struct create_opts {
	const char *brand, *dataset, *partner, *dims, *metrics;
	const char *k, *epsilon, *budget, *min_set, *max_set, *max_dims, *pad_to;
};

/* A number option in [min, max], or `def` when absent. */
static int number_opt(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t def,
		      uint64_t *out)
{
	if (s == NULL) {
		*out = def;
		return CLI_OK;
	}
	if (cr_parse_u64(s, min, max, out) != CR_OK)
		return cli_usage_error("collab create", "--%s must be a whole number from %llu to %llu", name,
				       (unsigned long long)min, (unsigned long long)max);
	return CLI_OK;
}

static int milli_opt(const char *name, const char *s, uint64_t def, uint64_t *out)
{
	if (s == NULL) {
		*out = def;
		return CLI_OK;
	}
	if (collab_milli_parse(s, out) != CR_OK)
		return cli_usage_error("collab create", "--%s must be a decimal from 0.001 to 1000 with at most "
				       "3 decimals (e.g. 0.5)", name);
	return CLI_OK;
}

/* The numbers of the rule from the options (usage errors printed). */
static int rule_numbers(const struct create_opts *o, struct collab *c)
{
	uint64_t k = 0, max_dims = 0;
	int rc = number_opt("k", o->k, 1, 1000000000, COLLAB_K_DEFAULT, &k);
	if (rc == CLI_OK)
		rc = number_opt("max-dims", o->max_dims, 1, 4, COLLAB_MAX_DIMS_DEFAULT, &max_dims);
	if (rc == CLI_OK)
		rc = number_opt("min-partner-set", o->min_set, 1, COLLAB_SET_LIMIT, COLLAB_MIN_SET_DEFAULT,
				&c->min_partner_set);
	if (rc == CLI_OK)
		rc = number_opt("max-partner-set", o->max_set, 1, COLLAB_SET_LIMIT, COLLAB_MAX_SET_DEFAULT,
				&c->max_partner_set);
	if (rc == CLI_OK)
		rc = number_opt("pad-to", o->pad_to, COLLAB_PAD_MIN, COLLAB_PAD_MAX, 0, &c->pad_to);
	if (rc == CLI_OK)
		rc = milli_opt("epsilon", o->epsilon, COLLAB_EPSILON_DEFAULT, &c->epsilon_milli);
	if (rc == CLI_OK)
		rc = milli_opt("budget", o->budget, 0, &c->budget_milli);   /* 0: the pair's, or the default */
	c->k = (uint32_t)k;
	c->max_dims = (uint32_t)max_dims;
	return rc;
}

/* The refusal of collab_create as one clear line. */
static int create_failed(cr_err err, const struct create_opts *o, const char *why)
{
	switch (err) {
	case CR_ERR_DATASET_NOT_FOUND:
		return cli_fail("collab create", "brand '%s' has no dataset '%s'", o->brand, o->dataset);
	case CR_ERR_COLLAB_PARTNER:
		return cli_fail("collab create", "partner '%s' is not a recipient that dataset '%s' shares with "
				"and the brand's current notice declares; add it to a notice version and a "
				"dataset first", o->partner, o->dataset);
	case CR_ERR_COLLAB_K:
		return cli_fail("collab create", "--k %s is below the minimum of %d (docs/spec/privacy.md)", o->k,
				COLLAB_K_MIN);
	case CR_ERR_CONSENT_NOTICE_NOT_FOUND:
		return cli_fail("collab create", "the brand has no published notice; publish one first");
	case CR_ERR_COLLAB_BUDGET_SHARED:
		return cli_fail("collab create", "%s (leave out --budget to share it)", why);
	default:
		return cli_fail("collab create", "%s%s%s", cr_strerror(err), why[0] ? ": " : "", why);
	}
}

static int collab_create_cmd(int argc, char **argv)
{
	struct create_opts o = { 0 };
	const struct cli_opt opts[] = {
		{ "brand", &o.brand, NULL, "the brand that owns the dataset" },
		{ "dataset", &o.dataset, NULL, "the dataset the partner matches against" },
		{ "partner", &o.partner, NULL, "the partner: a recipient the dataset shares with" },
		{ "dimensions", &o.dims, NULL, "enum columns a query may group by: D1[,D2...]" },
		{ "metrics", &o.metrics, NULL, "count[,sum:COLUMN...] (count is always released)" },
		{ "k", &o.k, NULL, "minimum noisy count of a released cell (default 50, at least 10)" },
		{ "epsilon", &o.epsilon, NULL, "epsilon per query (default 0.5)" },
		{ "budget", &o.budget, NULL, "total epsilon budget of the (dataset, partner) pair, set by its first "
					     "collaboration (default 1)" },
		{ "max-dims", &o.max_dims, NULL, "dimensions per query (default 2, at most 4)" },
		{ "min-partner-set", &o.min_set, NULL, "smallest partner list accepted (default 1000)" },
		{ "max-partner-set", &o.max_set, NULL, "largest partner list accepted (default 50000000)" },
		{ "pad-to", &o.pad_to, NULL, "the list size every match offers (default: the dataset's records "
					       "now, rounded up, at least 1024)" },
		{ NULL, NULL, NULL, NULL },
	};
	char why[COLLAB_WHY_MAX] = "";
	struct cli_args args;
	struct app *a = NULL;
	struct collab c;
	int64_t brand = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom collab create --brand B --dataset N --partner P\n"
			    "         --dimensions D1[,D2] --metrics count[,sum:COLUMN] [--k 50] [--epsilon 0.5]\n"
			    "         [--budget 1] [--max-dims 2] [--min-partner-set 1000] [--max-partner-set N]\n"
			    "         [--pad-to N]\n\n"
			    "The budget is the (dataset, partner) pair's, shared by every collaboration on it:\n"
			    "the first sets it, a later one takes it (see 'collab budget --raise').");
	memset(&c, 0, sizeof(c));
	if (o.dataset == NULL || o.partner == NULL || o.dims == NULL) {
		free(args.pos);
		return cli_usage_error("collab create", "--dataset, --partner and --dimensions are required");
	}
	rc = rule_numbers(&o, &c);
	if (rc == CLI_OK && (strlen(o.partner) > DATASET_CODE_MAX || o.partner[0] == '\0'))
		rc = cli_usage_error("collab create", "--partner must be a recipient id (1-64 characters)");
	if (rc == CLI_OK)
		rc = cli_open_app("collab create", &args, &a);
	if (rc == CLI_OK)
		rc = cli_brand("collab create", a, o.brand, &brand);
	if (rc != CLI_OK)
		goto out;
	snprintf(c.partner, sizeof(c.partner), "%s", o.partner);
	err = ops_collab_create(a, &cli_brand_actor, o.brand, brand, o.dataset, o.dims, o.metrics, &c, why,
				sizeof(why));
	if (err != CR_OK)
		rc = create_failed(err, &o, why);
	else if (args.json)
		cli_print_json(ops_collab_json(a, &c));
	else
		printf("created collaboration %lld: %s/%s with partner '%s'\n", (long long)c.id, o.brand,
		       o.dataset, c.partner);
out:
	free(args.pos);
	app_close(a);
	return rc;
}

/* ------------------------------------------------------------------ list */

struct list_ctx {
	struct app *a;
	json_t *arr;
};

static void list_one(void *ctx, const struct collab *c)
{
	struct list_ctx *l = ctx;
	json_array_append_new(l->arr, ops_collab_json(l->a, c));
}

static void print_collab_text(const json_t *o)
{
	const json_t *v;
	size_t i;
	printf("%lld  %s with partner %s  (k %lld, epsilon %s per query, budget %s left of %s)\n  dimensions: ",
	       (long long)json_integer_value(json_object_get(o, "id")),
	       json_string_value(json_object_get(o, "dataset")), json_string_value(json_object_get(o, "partner")),
	       (long long)json_integer_value(json_object_get(o, "k")),
	       json_string_value(json_object_get(o, "epsilon")),
	       json_string_value(json_object_get(o, "budget_left")),
	       json_string_value(json_object_get(o, "budget")));
	json_array_foreach(json_object_get(o, "dimensions"), i, v)
		printf("%s%s", i ? ", " : "", json_string_value(v));
	printf(" (at most %lld per query)\n  metrics:    ", (long long)json_integer_value(json_object_get(o, "max_dims")));
	json_array_foreach(json_object_get(o, "metrics"), i, v)
		printf("%s%s", i ? ", " : "", json_string_value(v));
	printf("\n  partner set: %lld to %lld identifiers\n",
	       (long long)json_integer_value(json_object_get(o, "min_partner_set")),
	       (long long)json_integer_value(json_object_get(o, "max_partner_set")));
	printf("  padding:    every match offers %lld elements while the eligible records fit\n",
	       (long long)json_integer_value(json_object_get(o, "pad_to")));
}

static int collab_list_cmd(int argc, char **argv)
{
	const char *brand = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand whose collaborations to list" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct list_ctx l = { NULL, NULL };
	int64_t id = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0, "usage: cleanroom collab list --brand B [--json]");
	rc = cli_open_app("collab list", &args, &l.a);
	if (rc == CLI_OK)
		rc = cli_brand("collab list", l.a, brand, &id);
	if (rc != CLI_OK)
		goto out;
	l.arr = json_array();
	err = collab_each(l.a->store, id, list_one, &l);
	if (err != CR_OK) {
		rc = cli_fail_rc("collab list", err);
	} else if (args.json) {
		cli_print_json(json_incref(l.arr));
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(l.arr, i, v)
			print_collab_text(v);
		if (json_array_size(l.arr) == 0)
			printf("brand '%s' has no collaborations\n", brand);
	}
out:
	json_decref(l.arr);
	free(args.pos);
	app_close(l.a);
	return rc;
}

/* ---------------------------------------------------------------- budget */

static void print_ledger_text(const json_t *o)
{
	const json_t *v;
	size_t i;
	printf("collaboration %lld: dataset %s with partner %s (collaborations",
	       (long long)json_integer_value(json_object_get(o, "collaboration")),
	       json_string_value(json_object_get(o, "dataset")), json_string_value(json_object_get(o, "partner")));
	json_array_foreach(json_object_get(o, "collaborations"), i, v)
		printf("%s%lld", i ? ", " : " ", (long long)json_integer_value(v));
	printf("): budget %s, spent %s, left %s\n", json_string_value(json_object_get(o, "budget")),
	       json_string_value(json_object_get(o, "spent")), json_string_value(json_object_get(o, "left")));
	printf("  budget %s set by the pair's first collaboration\n",
	       json_string_value(json_object_get(o, "initial_budget")));
	json_array_foreach(json_object_get(o, "raises"), i, v)
		printf("  %s  raised from %s to %s by %s (collaboration %lld)\n",
		       json_string_value(json_object_get(v, "time")), json_string_value(json_object_get(v, "from")),
		       json_string_value(json_object_get(v, "to")), json_string_value(json_object_get(v, "by")),
		       (long long)json_integer_value(json_object_get(v, "collaboration")));
	json_array_foreach(json_object_get(o, "debits"), i, v)
		printf("  %s  collaboration %lld  %s  epsilon %s  release %lld (%s)\n",
		       json_string_value(json_object_get(v, "time")),
		       (long long)json_integer_value(json_object_get(v, "collaboration")),
		       json_string_value(json_object_get(v, "query")), json_string_value(json_object_get(v, "epsilon")),
		       (long long)json_integer_value(json_object_get(v, "release")),
		       json_string_value(json_object_get(v, "outcome")));
	if (json_array_size(json_object_get(o, "debits")) == 0)
		printf("  no debits yet\n");
}

/* --raise B for the brand --brand names: the collaboration must be that brand's. */
static int budget_raise(struct app *a, const char *brand, const struct collab *c, uint64_t to)
{
	static const struct registry_actor who = { "brand", "cli" };
	char why[COLLAB_WHY_MAX] = "", to_s[COLLAB_MILLI_STRLEN];
	int64_t brand_id = 0;
	int rc = cli_brand("collab budget", a, brand, &brand_id);
	cr_err err;
	if (rc != CLI_OK)
		return rc;
	if (c->brand_id != brand_id)
		return cli_fail("collab budget", "no collaboration %lld for brand '%s'", (long long)c->id, brand);
	err = ops_collab_raise(a, &who, c, to, why, sizeof(why));
	if (err == CR_ERR_COLLAB_BUDGET_RAISE) {
		collab_milli_format(to, to_s);
		return cli_fail("collab budget", "--raise %s is not above %s", to_s, why);
	}
	return err == CR_OK ? CLI_OK : cli_fail_rc("collab budget", err);
}

static int collab_budget_cmd(int argc, char **argv)
{
	const char *raise = NULL, *brand = NULL;
	const struct cli_opt opts[] = {
		{ "raise", &raise, NULL, "raise the pair's budget to this new total (audited; the brand only)" },
		{ "brand", &brand, NULL, "the brand that owns the collaboration (with --raise)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct app *a = NULL;
	struct collab c;
	uint64_t id = 0, to = 0;
	json_t *o = NULL;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 1,
			    "usage: cleanroom collab budget C [--raise B --brand NAME] [--json]\n\n"
			    "Shows the budget ledger of collaboration C's (dataset, partner) pair, which every\n"
			    "collaboration on the pair draws on: every debit with its time, collaboration, query,\n"
			    "epsilon and release id, and every raise (visible to the brand and the partner alike).\n"
			    "--raise B raises the pair's budget to the new total B, above the current one and at\n"
			    "most 1000; it is audited (collab.budget_raise) and shown in the ledger.");
	if (cr_parse_u64(args.pos[0], 1, INT64_MAX, &id) != CR_OK) {
		free(args.pos);
		return cli_usage_error("collab budget", "C must be a collaboration id (see 'cleanroom collab list')");
	}
	if (raise != NULL && brand == NULL) {
		free(args.pos);
		return cli_usage_error("collab budget", "--raise needs --brand (the brand that owns collaboration C)");
	}
	if (raise != NULL && collab_milli_parse(raise, &to) != CR_OK) {
		free(args.pos);
		return cli_usage_error("collab budget", "--raise must be a decimal from 0.001 to 1000 with at most 3 "
				       "decimals (the new total, e.g. 2.5)");
	}
	rc = cli_open_app("collab budget", &args, &a);
	if (rc != CLI_OK)
		goto out;
	err = collab_get(a->store, (int64_t)id, &c);
	if (err == CR_ERR_COLLAB_NOT_FOUND) {
		rc = cli_fail("collab budget", "no collaboration %llu", (unsigned long long)id);
		goto out;
	}
	if (err == CR_OK && raise != NULL) {
		rc = budget_raise(a, brand, &c, to);
		if (rc != CLI_OK)
			goto out;
	}
	if (err == CR_OK)
		err = ops_collab_ledger_json(a, &c, &o);
	if (err != CR_OK) {
		rc = cli_fail_rc("collab budget", err);
		goto out;
	}
	if (args.json) {
		cli_print_json(o);
	} else {
		print_ledger_text(o);
		json_decref(o);
	}
out:
	free(args.pos);
	app_close(a);
	return rc;
}

static const struct cli_subverb subverbs[] = {
	{ "create", collab_create_cmd, "create a collaboration: dataset, partner and analysis rule" },
	{ "list", collab_list_cmd, "list a brand's collaborations" },
	{ "budget", collab_budget_cmd, "show (or, as the brand, raise) the budget of a collaboration's pair" },
};

int cmd_collab(int argc, char **argv)
{
	return cli_dispatch("collab", subverbs, sizeof(subverbs) / sizeof(subverbs[0]), argc, argv);
}
