/* Unit tests for cleanroom/collab.c: exact epsilon decimals, the analysis
 * rule's checks (docs/spec/privacy.md: k >= 10, epsilon <= budget, enum dimensions,
 * int sums, drawable noise), creation with its audit leaf (I5), the partner
 * check and listing. The budget ledger is test_collab_budget.c's. */
#include "match_fixture.h"

static int setup(void **state)
{
	struct mfx *f = calloc(1, sizeof(*f));
	mfx_setup(f, 100, 60, 20, 3);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	mfx_teardown(*state);
	free(*state);
	return 0;
}

static void test_milli_parse_and_format(void **state)
{
	static const struct {
		const char *in;
		cr_err rc;
		uint64_t want;
	} cases[] = {
		{ "0.5", CR_OK, 500 },     { "5", CR_OK, 5000 },        { "0.125", CR_OK, 125 },
		{ "1000", CR_OK, 1000000 }, { "0.001", CR_OK, 1 },       { "2.50", CR_OK, 2500 },
		{ "0", CR_ERR_COLLAB_EPSILON, 0 },     { "0.0001", CR_ERR_COLLAB_EPSILON, 0 },
		{ "1000.001", CR_ERR_COLLAB_EPSILON, 0 }, { "-1", CR_ERR_COLLAB_EPSILON, 0 },
		{ "1e3", CR_ERR_COLLAB_EPSILON, 0 },   { ".5", CR_ERR_COLLAB_EPSILON, 0 },
		{ "5.", CR_ERR_COLLAB_EPSILON, 0 },    { " 1", CR_ERR_COLLAB_EPSILON, 0 },
		{ "", CR_ERR_COLLAB_EPSILON, 0 },      { "99999999999999999999", CR_ERR_COLLAB_EPSILON, 0 },
	};
	char buf[COLLAB_MILLI_STRLEN];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t got = 0;
		cr_err rc = collab_milli_parse(cases[i].in, &got);
		if (rc != cases[i].rc || (rc == CR_OK && got != cases[i].want))
			fail_msg("'%s': got %s %llu", cases[i].in, cr_errname(rc), (unsigned long long)got);
	}
	collab_milli_format(500, buf);
	assert_string_equal(buf, "0.500");
	collab_milli_format(1000000, buf);
	assert_string_equal(buf, "1000.000");
}

static void test_rule_parse(void **state)
{
	struct mfx *f = *state;
	struct collab c;
	char why[COLLAB_WHY_MAX];
	static const struct {
		const char *dims, *metrics;
		cr_err rc;
		const char *why;
	} cases[] = {
		{ "segment,region", "count,sum:spend", CR_OK, NULL },
		{ "segment", NULL, CR_OK, NULL },
		{ "spend", "count", CR_ERR_COLLAB_RULE, "not an enum column" },
		{ "nosuch", "count", CR_ERR_COLLAB_RULE, "not an enum column" },
		{ "segment,segment", "count", CR_ERR_COLLAB_RULE, "twice" },
		{ "", "count", CR_ERR_COLLAB_RULE, "--dimensions" },
		{ "segment", "sum:spend", CR_ERR_COLLAB_RULE, "must include count" },
		{ "segment", "count,sum:region", CR_ERR_COLLAB_RULE, "not an int column" },
		{ "segment", "count,avg:spend", CR_ERR_COLLAB_RULE, "neither count" },
		{ "segment", "count,sum:spend,sum:spend", CR_ERR_COLLAB_RULE, "twice" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_err rc;
		memset(&c, 0, sizeof(c));
		why[0] = '\0';
		rc = collab_rule_parse(&c, &f->d, cases[i].dims, cases[i].metrics, why, sizeof(why));
		if (rc != cases[i].rc || (cases[i].why && strstr(why, cases[i].why) == NULL))
			fail_msg("case %zu: got %s '%s'", i, cr_errname(rc), why);
	}
	assert_int_equal(collab_rule_parse(&c, &f->d, "segment,region", "count,sum:spend", why, sizeof(why)), CR_OK);
	assert_int_equal(c.ndims, 2);
	assert_string_equal(c.dims[1], "region");
	assert_int_equal(c.nsums, 1);
	assert_string_equal(c.sums[0], "spend");
}

static void test_rule_check(void **state)
{
	struct mfx *f = *state;
	struct collab base = f->c, c;
	struct dataset wide = f->d;
	char why[COLLAB_WHY_MAX];
	assert_int_equal(collab_rule_check(&base, &f->d, why, sizeof(why)), CR_OK);
	c = base;
	c.k = 9;
	assert_int_equal(collab_rule_check(&c, &f->d, why, sizeof(why)), CR_ERR_COLLAB_K);
	c = base;
	c.epsilon_milli = 6000;
	assert_int_equal(collab_rule_check(&c, &f->d, why, sizeof(why)), CR_ERR_COLLAB_EPSILON);
	c = base;
	c.min_partner_set = c.max_partner_set + 1;
	assert_int_equal(collab_rule_check(&c, &f->d, why, sizeof(why)), CR_ERR_COLLAB_RULE);
	c = base;
	c.max_dims = 5;
	assert_int_equal(collab_rule_check(&c, &f->d, why, sizeof(why)), CR_ERR_COLLAB_RULE);
	/* a sum over a huge range at a tiny epsilon: the sampler cannot draw it */
	assert_int_equal(columns_parse("segment:enum(a|b),big:int(0..1000000000000)", &wide.columns, NULL, 0), CR_OK);
	memset(&c, 0, sizeof(c));
	assert_int_equal(collab_rule_parse(&c, &wide, "segment", "count,sum:big", why, sizeof(why)), CR_OK);
	c.k = 50;
	c.max_dims = 2;
	c.epsilon_milli = 1;
	c.budget_milli = 10;
	c.min_partner_set = 1;
	c.max_partner_set = 10;
	assert_int_equal(collab_rule_check(&c, &wide, why, sizeof(why)), CR_ERR_COLLAB_NOISE_RANGE);
	assert_non_null(strstr(why, "sum:big"));
}

static void count_one(void *ctx, const struct collab *c)
{
	(void)c;
	(*(size_t *)ctx)++;
}

static void test_create_get_list(void **state)
{
	struct mfx *f = *state;
	struct collab c, got;
	char why[COLLAB_WHY_MAX] = "", detail[1024];
	size_t n = 0, leaves = mfx_leaves(f, "collab.create");
	json_t *j;
	mfx_collab(f, &c, "segment,region", "count,sum:spend", 60, 250, 2000, 500);
	assert_true(c.id > 0);
	assert_int_equal(mfx_leaves(f, "collab.create"), leaves + 1);
	mfx_last_detail(f, "collab.create", detail, sizeof(detail));
	assert_non_null(strstr(detail, "dimensions=segment,region sums=spend k=60 max_dims=2 epsilon=0.250 budget=2.000"));
	assert_int_equal(collab_get(f->a->store, c.id, &got), CR_OK);
	assert_int_equal(got.k, 60);
	assert_int_equal(got.epsilon_milli, 250);
	assert_int_equal(got.budget_milli, 2000);
	assert_int_equal(got.min_partner_set, 500);
	assert_string_equal(got.partner, "partner-1");
	assert_string_equal(got.dims[1], "region");
	assert_int_equal(collab_get(f->a->store, 999999, &got), CR_ERR_COLLAB_NOT_FOUND);
	assert_int_equal(collab_each(f->a->store, f->brand, count_one, &n), CR_OK);
	assert_true(n >= 2);
	j = collab_json(&got, "crm");
	assert_string_equal(json_string_value(json_object_get(j, "epsilon")), "0.250");
	assert_int_equal(json_array_size(json_object_get(j, "metrics")), 2);
	json_decref(j);

	/* the partner must be a recipient the dataset shares with */
	memset(&c, 0, sizeof(c));
	snprintf(c.partner, sizeof(c.partner), "partner-2");
	assert_int_equal(collab_rule_parse(&c, &f->d, "segment", NULL, why, sizeof(why)), CR_OK);
	c.k = 50;
	c.max_dims = 2;
	c.epsilon_milli = 500;
	c.budget_milli = 5000;
	c.min_partner_set = 1;
	c.max_partner_set = 10;
	assert_int_equal(collab_create(f->a, &mfx_actor, "acme", &f->d, &c, why, sizeof(why)), CR_ERR_COLLAB_PARTNER);
	c.k = 9;
	c.budget_milli = 0;   /* the pair's */
	snprintf(c.partner, sizeof(c.partner), "partner-1");
	assert_int_equal(collab_create(f->a, &mfx_actor, "acme", &f->d, &c, why, sizeof(why)), CR_ERR_COLLAB_K);
	assert_int_equal(mfx_leaves(f, "collab.create"), leaves + 1);
}

/*
 * R10: a partner processes only the categories the brand's current notice
 * declares for it. A notice version that narrows partner-1 to "segment":
 * a collaboration grouping by "region" or summing "spend" is refused,
 * naming the category, and stores nothing; one on "segment" is made.
 */
static void test_r10_collaboration_within_the_partners_categories(void **state)
{
	struct mfx *f = *state;
	struct collab c;
	char why[COLLAB_WHY_MAX] = "", pwhy[256] = "", *text = NULL;
	size_t len = 0, i, leaves;
	json_t *notice, *r;
	text = test_read_file(f->notice, &len);
	notice = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(notice);
	json_object_set_new(notice, "version", json_integer(2));
	json_array_foreach(json_object_get(notice, "recipients"), i, r)
		if (strcmp(json_string_value(json_object_get(r, "id")), "partner-1") == 0)
			json_object_set_new(r, "categories", json_pack("[s,s]", "email_digest", "segment"));
	text = json_dumps(notice, JSON_COMPACT);
	json_decref(notice);
	if (registry_notice_publish(f->a, &mfx_actor, f->brand, text, strlen(text), cr_time_now() - 1000, NULL, pwhy,
				    sizeof(pwhy)) != CR_OK)
		fail_msg("notice v2 refused: %s", pwhy);
	free(text);
	leaves = mfx_leaves(f, "collab.create");

	memset(&c, 0, sizeof(c));
	snprintf(c.partner, sizeof(c.partner), "partner-1");
	c.k = 50;
	c.max_dims = 2;
	c.epsilon_milli = 500;
	c.min_partner_set = 1;
	c.max_partner_set = 10;
	assert_int_equal(collab_rule_parse(&c, &f->d, "segment,region", "count", why, sizeof(why)), CR_OK);
	assert_int_equal(collab_create(f->a, &mfx_actor, "acme", &f->d, &c, why, sizeof(why)), CR_ERR_COLLAB_CATEGORY);
	assert_non_null(strstr(why, "'region'"));
	memset(&c.dims, 0, sizeof(c.dims));
	why[0] = '\0';
	assert_int_equal(collab_rule_parse(&c, &f->d, "segment", "count,sum:spend", why, sizeof(why)), CR_OK);
	assert_int_equal(collab_create(f->a, &mfx_actor, "acme", &f->d, &c, why, sizeof(why)), CR_ERR_COLLAB_CATEGORY);
	assert_non_null(strstr(why, "'spend'"));
	assert_int_equal(mfx_leaves(f, "collab.create"), leaves);
	assert_int_equal(collab_rule_parse(&c, &f->d, "segment", "count", why, sizeof(why)), CR_OK);
	assert_int_equal(collab_create(f->a, &mfx_actor, "acme", &f->d, &c, why, sizeof(why)), CR_OK);
	assert_int_equal(mfx_leaves(f, "collab.create"), leaves + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_milli_parse_and_format),
		cmocka_unit_test(test_rule_parse),
		cmocka_unit_test(test_rule_check),
		cmocka_unit_test(test_create_get_list),
		cmocka_unit_test(test_r10_collaboration_within_the_partners_categories),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
