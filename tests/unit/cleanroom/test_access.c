/*
 * Unit tests for cleanroom/ops_access.c, a person's access and portability
 * copy (GDPR 15 and 20, PIPL 45): what the brand holds about them, dataset
 * by dataset, with the values as stored, and nothing of anyone else.
 * Through the real registry and ingest (registry_fixture.h); subjects are
 * made-up example.com addresses.
 */
#include <sodium.h>

#include "registry_fixture.h"

static int setup(void **state)
{
	struct rfx *f = rfx_new();
	struct ingest_report rep;
	struct dataset d;
	cr_time_ms t = f->t0 - 2 * RFX_HOUR;
	rfx_grant_all(f, f->acme, "first@example.com", t, 0);
	rfx_grant_all(f, f->acme, "last@example.com", t, 0);
	rfx_grant_all(f, f->other, "first@example.com", t, 0);
	rfx_dataset(f, f->acme, "acme", "crm", "ads_measurement", NULL, &d);
	rfx_ingest(f, "acme", &d, "email,segment\nfirst@example.com,a\nlast@example.com,b\n", &rep);
	rfx_dataset(f, f->acme, "acme", "loyalty", "audience_insights", "partner-1", &d);
	rfx_ingest(f, "acme", &d, "email,segment\nlast@example.com,a\n", &rep);
	rfx_dataset(f, f->other, "other", "crm", "ads_measurement", NULL, &d);
	rfx_ingest(f, "other", &d, "email,segment\nfirst@example.com,b\n", &rep);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	rfx_free(*state);
	return 0;
}

static json_t *access_copy(struct rfx *f, int64_t brand, const char *email)
{
	struct crypto_pseudonym p = rfx_pseudonym(f, brand, email);
	json_t *doc = NULL;
	assert_int_equal(ops_subject_access(f->a, brand, &p, 1, &doc), CR_OK);
	return doc;
}

/* GDPR 15/20: the person's record, in the dataset that holds it, with its value; nothing else. */
static void test_access_copy_holds_what_the_brand_holds(void **state)
{
	struct rfx *f = *state;
	json_t *doc = access_copy(f, f->acme, "first@example.com"), *held = json_object_get(doc, "held"), *h;
	assert_string_equal(json_string_value(json_object_get(doc, "format")), "cr-subject-access-v1");
	assert_int_equal(json_array_size(held), 1); /* crm only: loyalty holds the other person */
	h = json_array_get(held, 0);
	assert_string_equal(json_string_value(json_object_get(h, "dataset")), "crm");
	assert_string_equal(json_string_value(json_array_get(json_object_get(h, "purposes"), 0)), "ads_measurement");
	assert_string_equal(json_string_value(json_object_get(json_object_get(h, "attributes"), "segment")), "a");
	assert_true(json_array_size(json_object_get(doc, "events")) >= 5);
	assert_true(json_array_size(json_object_get(doc, "receipts")) >= 4);
	json_decref(doc);

	doc = access_copy(f, f->acme, "last@example.com");
	held = json_object_get(doc, "held");
	assert_int_equal(json_array_size(held), 2);
	json_decref(doc);
}

/* Nothing of another person, nor of the same person at another brand, appears. */
static void test_access_copy_shows_no_one_else(void **state)
{
	struct rfx *f = *state;
	struct crypto_pseudonym last = rfx_pseudonym(f, f->acme, "last@example.com");
	struct crypto_pseudonym other = rfx_pseudonym(f, f->other, "first@example.com");
	json_t *doc = access_copy(f, f->acme, "first@example.com");
	char *text = json_dumps(doc, 0), hex[65];
	sodium_bin2hex(hex, sizeof(hex), last.bytes, 32);
	assert_null(strstr(text, hex));
	sodium_bin2hex(hex, sizeof(hex), other.bytes, 32);
	assert_null(strstr(text, hex));
	assert_null(strstr(text, "loyalty"));
	assert_null(strstr(text, "\"b\"")); /* last's segment in crm, and first's at the other brand */
	free(text);
	json_decref(doc);
}

/* After an erasure the brand holds nothing: the copy says so. */
static void test_access_copy_after_erasure_holds_nothing(void **state)
{
	static const struct registry_actor who = { "brand", "test" };
	struct rfx *f = *state;
	struct crypto_pseudonym p = rfx_pseudonym(f, f->acme, "first@example.com");
	json_t *doc = NULL;
	assert_int_equal(ops_subject_erase(f->a, &who, f->acme, &p, 1, &doc), CR_OK);
	json_decref(doc);
	doc = access_copy(f, f->acme, "first@example.com");
	assert_int_equal(json_array_size(json_object_get(doc, "held")), 0);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_access_copy_holds_what_the_brand_holds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_copy_shows_no_one_else, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_copy_after_erasure_holds_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
