/* Unit tests for consent/notice.c: R04 (completeness, canonical form and
 * content hash, immutability), R06 (the material flag must match what a
 * version adds), R07 (every version stays retrievable), and refusals of
 * malformed, truncated, oversized and unknown input. */
#include <sodium.h>

#include "consent_fixture.h"

/* A small notice whose canonical form and SHA-256 were computed
 * independently (Python: json.dumps(sort_keys=True, separators=(',', ':'),
 * ensure_ascii=False)). */
static const char kat_notice[] =
	"{ \"version\": 1, \"material\": true, \"language\": \"zh-CN\",\n"
	"  \"controller\": {\"name\": \"\xe7\xa4\xba\xe4\xbe\x8b\xe5\x93\x81\xe7\x89\x8c\","
	" \"contact\": \"privacy@brand.example\"},\n"
	"  \"purposes\": [{\"code\": \"ads_measurement\", \"description\":"
	" \"\xe8\xa1\xa1\xe9\x87\x8f \\\"\xe5\xb9\xbf\xe5\x91\x8a\\\"\", \"sensitive\": false}],\n"
	"  \"methods\": [\"keyed hashing\"], \"categories\": [\"email\"],\n"
	"  \"retention\": \"24 months\", \"rights\": \"email us\", \"text\": \"line one\\nline two\" }";
static const char kat_canonical[] =
	"{\"categories\":[\"email\"],\"controller\":{\"contact\":\"privacy@brand.example\","
	"\"name\":\"\xe7\xa4\xba\xe4\xbe\x8b\xe5\x93\x81\xe7\x89\x8c\"},\"language\":\"zh-CN\","
	"\"material\":true,\"methods\":[\"keyed hashing\"],\"purposes\":[{\"code\":"
	"\"ads_measurement\",\"description\":\"\xe8\xa1\xa1\xe9\x87\x8f \\\"\xe5\xb9\xbf\xe5\x91\x8a"
	"\\\"\",\"sensitive\":false}],\"retention\":\"24 months\",\"rights\":\"email us\","
	"\"text\":\"line one\\nline two\",\"version\":1}";
static const char kat_hash[] = "aabfebe69046633aad7af4eea67ab10b811b3f4293e7c9aa2ca580822a1bc884";

static cr_err check_json(json_t *n, char *why, size_t cap)
{
	char *text = json_dumps(n, 0);
	uint32_t v;
	uint8_t h[32];
	cr_err rc = consent_notice_check(text, strlen(text), &v, h, why, cap);
	free(text);
	json_decref(n);
	return rc;
}

/* ------------------------------------------------------------------ R04 */

static void test_r04_canonical_form_and_content_hash_known_answer(void **state)
{
	struct fx *f = *state;
	struct consent_notice_published out;
	uint8_t want[32], h[32];
	char *canon = NULL;
	uint32_t v = 0;
	int64_t other;

	assert_int_equal(cr_hex_decode_exact(kat_hash, 64, want, 32), CR_OK);
	assert_int_equal(consent_notice_check(kat_notice, strlen(kat_notice), &v, h, NULL, 0), CR_OK);
	assert_int_equal(v, 1);
	assert_bytes_equal(h, want, 32);
	assert_int_equal(consent_brand_create(f->ctx, "kat", 0, &other), CR_OK);
	f->brand = other;
	assert_int_equal(consent_notice_publish(f->ctx, other, kat_notice, strlen(kat_notice),
						T("2026-01-01T00:00:00Z"), &out, NULL, 0),
			 CR_OK);
	assert_bytes_equal(out.hash, want, 32);
	assert_false(out.already);
	assert_true(out.material);
	assert_int_equal(consent_notice_get(f->ctx, other, 1, &canon, h), CR_OK);
	assert_string_equal(canon, kat_canonical);
	assert_bytes_equal(h, want, 32);
	crypto_hash_sha256(h, (const uint8_t *)canon, strlen(canon));
	assert_bytes_equal(h, want, 32);
	free(canon);
}

static void test_r04_whitespace_and_key_order_do_not_change_the_hash(void **state)
{
	json_t *n = notice_base(1, true);
	char *a = json_dumps(n, JSON_INDENT(4)), *b = json_dumps(n, JSON_COMPACT | JSON_SORT_KEYS);
	uint8_t ha[32], hb[32];
	uint32_t v;
	(void)state;

	assert_int_equal(consent_notice_check(a, strlen(a), &v, ha, NULL, 0), CR_OK);
	assert_int_equal(consent_notice_check(b, strlen(b), &v, hb, NULL, 0), CR_OK);
	assert_bytes_equal(ha, hb, 32);
	/* but any content change does */
	json_object_set_new(n, "retention", json_string("25 months"));
	free(b);
	b = json_dumps(n, 0);
	assert_int_equal(consent_notice_check(b, strlen(b), &v, hb, NULL, 0), CR_OK);
	assert_true(memcmp(ha, hb, 32) != 0);
	free(a);
	free(b);
	json_decref(n);
}

static void test_r04_every_missing_field_is_named(void **state)
{
	static const char *required[] = { "version", "language", "material", "controller",
					  "purposes", "methods", "categories", "retention",
					  "rights", "text" };
	char why[CONSENT_WHY_MAX];
	(void)state;

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		json_t *n = notice_base(1, true);
		json_object_del(n, required[i]);
		assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
		assert_non_null(strstr(why, "missing: "));
		assert_non_null(strstr(why, required[i]));
	}
	/* several at once: all named in one message */
	{
		json_t *n = notice_base(1, true);
		json_object_del(json_object_get(n, "controller"), "contact");
		json_object_del(n, "retention");
		json_object_del(n, "rights");
		assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
		assert_string_equal(why, "missing: controller.contact, retention, rights");
	}
}

/* R11: a notice that makes a consent-based purpose a condition of the service is refused. */
static void test_r11_consent_purpose_cannot_be_a_condition_of_service(void **state)
{
	char why[CONSENT_WHY_MAX];
	json_t *n = notice_base(1, true);
	(void)state;
	json_object_set_new(json_array_get(json_object_get(n, "purposes"), 0), "condition_of_service", json_true());
	assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
	assert_non_null(strstr(why, "purposes[0].condition_of_service"));
	assert_non_null(strstr(why, "R11"));
	n = notice_base(1, true);
	json_object_set_new(json_array_get(json_object_get(n, "purposes"), 0), "condition_of_service", json_false());
	assert_int_equal(check_json(n, why, sizeof(why)), CR_OK);
}

static void test_r04_sharing_needs_each_recipients_details(void **state)
{
	static const char *fields[] = { "name", "contact", "country", "purpose", "categories" };
	char why[CONSENT_WHY_MAX], want[64];
	json_t *n;
	(void)state;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		n = notice_base(1, true);
		json_object_del(json_array_get(json_object_get(n, "recipients"), 0), fields[i]);
		assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
		snprintf(want, sizeof(want), "recipients[0].%s", fields[i]);
		assert_non_null(strstr(why, want));
	}
	/* a purpose that says it shares data needs a recipient */
	n = notice_base(1, true);
	json_object_del(n, "recipients");
	json_object_set_new(json_array_get(json_object_get(n, "purposes"), 1), "shares_data",
			    json_true());
	assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
	assert_string_equal(why, "missing: recipients for purpose audience_insights");
	/* a recipient must name a declared purpose, in a known country code */
	n = notice_base(1, true);
	json_object_set_new(json_array_get(json_object_get(n, "recipients"), 0), "purpose",
			    json_string("nope"));
	assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
	assert_non_null(strstr(why, "recipients[0].purpose (names no purpose of this notice)"));
	n = notice_base(1, true);
	json_object_set_new(json_array_get(json_object_get(n, "recipients"), 0), "country",
			    json_string("China"));
	assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
	/* no recipients at all is fine when nothing is shared */
	n = notice_base(1, true);
	json_object_del(n, "recipients");
	assert_int_equal(check_json(n, why, sizeof(why)), CR_OK);
}

static void test_r04_unknown_fields_and_wrong_types_refused(void **state)
{
	char why[CONSENT_WHY_MAX];
	json_t *n;
	(void)state;

	n = notice_base(1, true);
	json_object_set_new(n, "retension", json_string("typo"));
	assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
	assert_string_equal(why, "invalid: retension (unknown field)");
	n = notice_base(1, true);
	json_object_set_new(json_array_get(json_object_get(n, "purposes"), 0), "colour",
			    json_string("red"));
	assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
	assert_non_null(strstr(why, "purposes[0].colour (unknown field)"));
	n = notice_base(1, true);
	json_object_set_new(n, "version", json_string("2"));
	assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
	n = notice_base(1, true);
	json_object_set_new(n, "version", json_real(1.5));
	assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
	n = notice_base(1, true);
	json_object_set_new(n, "material", json_string("yes"));
	assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
	n = notice_base(1, true);
	json_object_set_new(n, "methods", json_array());
	assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
	n = notice_base(1, true);
	json_object_set_new(n, "retention", json_string("   "));
	assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
	n = notice_base(1, true);
	json_object_set_new(json_array_get(json_object_get(n, "purposes"), 1), "code",
			    json_string("ads_measurement"));
	assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
	assert_non_null(strstr(why, "duplicate purpose code"));
	n = notice_base(1, true);
	json_object_set_new(n, "jurisdictions", json_pack("[s]", "China"));
	assert_int_equal(check_json(n, why, sizeof(why)), CR_ERR_CONSENT_NOTICE_INCOMPLETE);
}

static void test_r04_malformed_truncated_and_oversized_refused(void **state)
{
	static const char *bad[] = {
		"", "not json", "{\"version\": 1", "[1, 2]", "\"text\"", "{\"version\":1}}",
		"{\"version\": 1, \"version\": 2}", "{\"a\": \"\\u0000\"}",
	};
	char why[CONSENT_WHY_MAX];
	uint8_t h[32];
	uint32_t v = 99;
	char *big;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(consent_notice_check(bad[i], strlen(bad[i]), &v, h, why, sizeof(why)),
				 CR_ERR_CONSENT_NOTICE_MALFORMED);
		assert_int_equal(v, 99);
	}
	/* invalid UTF-8 */
	assert_int_equal(consent_notice_check("{\"text\": \"\xff\"}", 13, &v, h, why, sizeof(why)),
			 CR_ERR_CONSENT_NOTICE_MALFORMED);
	big = malloc(CONSENT_NOTICE_MAX + 2);
	memset(big, ' ', CONSENT_NOTICE_MAX + 1);
	big[CONSENT_NOTICE_MAX + 1] = '\0';
	assert_int_equal(consent_notice_check(big, CONSENT_NOTICE_MAX + 1, &v, h, why, sizeof(why)),
			 CR_ERR_CONSENT_NOTICE_TOO_LARGE);
	free(big);
}

static void test_r04_a_version_is_immutable(void **state)
{
	struct fx *f = *state;
	char why[CONSENT_WHY_MAX];
	struct consent_notice_published out;
	json_t *n = notice_base(1, true);
	char *text = json_dumps(n, JSON_COMPACT);

	/* the same content again: nothing written, reported as already there */
	assert_int_equal(consent_notice_publish(f->ctx, f->brand, text, strlen(text),
						T("2026-05-01T00:00:00Z"), &out, why, sizeof(why)),
			 CR_OK);
	assert_true(out.already);
	free(text);
	json_object_set_new(n, "retention", json_string("forever"));
	assert_int_equal(fx_publish_json(f, n, T("2026-05-01T00:00:00Z"), why, sizeof(why)),
			 CR_ERR_CONSENT_NOTICE_IMMUTABLE);
	assert_string_equal(why, "version 1 is already published with other content");
}

static void test_r04_versions_only_move_forward(void **state)
{
	struct fx *f = *state;
	char why[CONSENT_WHY_MAX];
	uint32_t cur = 0;

	assert_int_equal(fx_publish_json(f, notice_base(3, false), T("2026-05-01T00:00:00Z"), why,
					 sizeof(why)),
			 CR_OK);
	assert_int_equal(fx_publish_json(f, notice_base(2, false), T("2026-06-01T00:00:00Z"), why,
					 sizeof(why)),
			 CR_ERR_CONSENT_NOTICE_VERSION);
	assert_int_equal(fx_publish_json(f, notice_base(4, false), T("2026-04-01T00:00:00Z"), why,
					 sizeof(why)),
			 CR_ERR_CONSENT_NOTICE_VERSION);
	assert_int_equal(consent_notice_current(f->ctx, f->brand, &cur), CR_OK);
	assert_int_equal(cur, 3);
	/* a history is back-filled, never dated ahead of now (plus the skew) */
	assert_int_equal(fx_publish_json(f, notice_base(4, false), f->now + CONSENT_SKEW_DEFAULT_MS + 1, why,
					 sizeof(why)),
			 CR_ERR_CONSENT_NOTICE_FUTURE);
	assert_int_equal(fx_publish_json(f, notice_base(4, false), f->now + CONSENT_SKEW_DEFAULT_MS, why,
					 sizeof(why)),
			 CR_OK);
}

/* ------------------------------------------------------------------ R06 */

static void test_r06_additions_must_be_flagged_material(void **state)
{
	struct fx *f = *state;
	char why[CONSENT_WHY_MAX];
	json_t *n;

	n = notice_base(2, false);
	json_array_append_new(json_object_get(n, "purposes"),
			      json_pack("{s:s, s:s, s:b}", "code", "lookalike", "description", "x",
					"sensitive", 0));
	assert_int_equal(fx_publish_json(f, n, T("2026-05-01T00:00:00Z"), why, sizeof(why)),
			 CR_ERR_CONSENT_NOTICE_NOT_MATERIAL);
	assert_string_equal(why, "material: false, but the notice adds purpose \"lookalike\"");
	n = notice_base(2, false);
	json_array_append_new(json_object_get(n, "methods"), json_string("lookalike modelling"));
	assert_int_equal(fx_publish_json(f, n, T("2026-05-01T00:00:00Z"), why, sizeof(why)),
			 CR_ERR_CONSENT_NOTICE_NOT_MATERIAL);
	assert_string_equal(why, "material: false, but the notice adds method \"lookalike modelling\"");
	n = notice_base(2, false);
	json_object_set_new(json_array_get(json_object_get(n, "purposes"), 0), "sensitive",
			    json_true());
	json_object_set_new(json_array_get(json_object_get(n, "purposes"), 0), "necessity",
			    json_string("the measurement needs it"));
	assert_int_equal(fx_publish_json(f, n, T("2026-05-01T00:00:00Z"), why, sizeof(why)),
			 CR_ERR_CONSENT_NOTICE_NOT_MATERIAL);
	n = notice_base(2, false);
	json_object_set_new(json_array_get(json_object_get(n, "recipients"), 0), "country",
			    json_string("US"));
	assert_int_equal(fx_publish_json(f, n, T("2026-05-01T00:00:00Z"), why, sizeof(why)),
			 CR_ERR_CONSENT_NOTICE_NOT_MATERIAL);
	assert_string_equal(why, "material: false, but the notice adds recipient \"partner-1\"");
	/* removing something is not material */
	n = notice_base(2, false);
	json_array_remove(json_object_get(n, "categories"), 3);
	assert_int_equal(fx_publish_json(f, n, T("2026-05-01T00:00:00Z"), why, sizeof(why)), CR_OK);
}

/* R12: a sensitive purpose must state why the sensitive data is necessary;
 * a purpose that is not sensitive may, and an empty statement is refused. */
static void test_r12_sensitive_purpose_needs_a_necessity_statement(void **state)
{
	struct fx *f = *state;
	char why[CONSENT_WHY_MAX];
	json_t *n = notice_base(2, true), *p;

	p = json_array_get(json_object_get(n, "purposes"), 0);
	json_object_set_new(p, "sensitive", json_true());
	assert_int_equal(fx_publish_json(f, n, T("2026-05-01T00:00:00Z"), why, sizeof(why)),
			 CR_ERR_CONSENT_NOTICE_INCOMPLETE);
	assert_non_null(strstr(why, "purposes[0].necessity"));
	n = notice_base(2, true);
	p = json_array_get(json_object_get(n, "purposes"), 0);
	json_object_set_new(p, "sensitive", json_true());
	json_object_set_new(p, "necessity", json_string(" "));
	assert_int_equal(fx_publish_json(f, n, T("2026-05-01T00:00:00Z"), why, sizeof(why)),
			 CR_ERR_CONSENT_NOTICE_INCOMPLETE);
	n = notice_base(2, true);
	json_object_set_new(json_array_get(json_object_get(n, "purposes"), 1), "necessity",
			    json_string("not sensitive, said anyway"));
	p = json_array_get(json_object_get(n, "purposes"), 0);
	json_object_set_new(p, "sensitive", json_true());
	json_object_set_new(p, "necessity", json_string("the measurement cannot be done without it"));
	assert_int_equal(fx_publish_json(f, n, T("2026-05-01T00:00:00Z"), why, sizeof(why)), CR_OK);
}

static void test_r06_material_flag_with_nothing_scoped_renews_everything(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(1, 1);
	cr_time_ms t = T("2026-03-01T00:00:00Z"), v2 = T("2026-05-01T00:00:00Z");
	char why[CONSENT_WHY_MAX];
	json_t *n = notice_base(2, true);

	fx_full_consent(f, p, t);
	json_object_set_new(n, "retention", json_string("36 months"));
	assert_int_equal(fx_publish_json(f, n, v2, why, sizeof(why)), CR_OK);
	EXPECT(f, p, "ads_measurement", NULL, v2 - 1, CONSENT_OK);
	EXPECT(f, p, "ads_measurement", NULL, v2, CONSENT_MATERIAL_CHANGE);
}

/* ------------------------------------------------------------------ R07 */

static void test_r07_every_version_stays_retrievable(void **state)
{
	struct fx *f = *state;
	char why[CONSENT_WHY_MAX], *one = NULL, *two = NULL, *cur = NULL;
	uint8_t h1[32], h2[32];
	bool yes = false;

	assert_int_equal(fx_publish_json(f, notice_base(2, false), T("2026-05-01T00:00:00Z"), why,
					 sizeof(why)),
			 CR_OK);
	assert_int_equal(consent_notice_get(f->ctx, f->brand, 1, &one, h1), CR_OK);
	assert_int_equal(consent_notice_get(f->ctx, f->brand, 2, &two, h2), CR_OK);
	assert_int_equal(consent_notice_get(f->ctx, f->brand, 0, &cur, NULL), CR_OK);
	assert_non_null(strstr(one, "\"version\":1"));
	assert_string_equal(two, cur);
	assert_true(memcmp(h1, h2, 32) != 0);
	assert_int_equal(consent_notice_get(f->ctx, f->brand, 3, NULL, NULL),
			 CR_ERR_CONSENT_NOTICE_NOT_FOUND);
	assert_int_equal(consent_notice_declares(f->ctx, f->brand, 0, "audience_insights",
						 "partner-1", &yes),
			 CR_OK);
	assert_true(yes);
	assert_int_equal(consent_notice_declares(f->ctx, f->brand, 1, "ads_measurement",
						 "partner-1", &yes),
			 CR_OK);
	assert_false(yes);
	assert_int_equal(consent_notice_declares(f->ctx, f->brand, 7, "ads_measurement", NULL,
						 &yes),
			 CR_ERR_CONSENT_NOTICE_NOT_FOUND);
	free(one);
	free(two);
	free(cur);
}

/* The current notice's scopes, as the status route lists them (purposes,
 * then recipients), as a sorted "purpose/recipient" list. */
static void scopes_of_json(const char *text, char *out, size_t cap)
{
	json_t *doc = json_loads(text, 0, NULL), *v;
	char items[32][140];
	size_t i, n = 0, used = 0;
	assert_non_null(doc);
	json_array_foreach(json_object_get(doc, "purposes"), i, v)
		snprintf(items[n++], sizeof(items[0]), "%s/", json_string_value(json_object_get(v, "code")));
	json_array_foreach(json_object_get(doc, "recipients"), i, v)
		snprintf(items[n++], sizeof(items[0]), "%s/%s", json_string_value(json_object_get(v, "purpose")),
			 json_string_value(json_object_get(v, "id")));
	qsort(items, n, sizeof(items[0]), (int (*)(const void *, const void *))strcmp);
	out[0] = '\0';
	for (i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s;", items[i]);
	json_decref(doc);
}

static void scopes_of_catalog(struct fx *f, char *out, size_t cap)
{
	struct consent_scope *sc = NULL;
	char items[32][140];
	size_t n = 0, used = 0, purposes = 0;
	assert_int_equal(consent_notice_scopes(f->ctx, f->brand, &sc, &n), CR_OK);
	assert_true(n <= 32);
	for (size_t i = 0; i < n; i++) {
		/* every purpose comes before every recipient */
		if (sc[i].recipient[0] == '\0')
			assert_int_equal(purposes++, i);
		snprintf(items[i], sizeof(items[0]), "%s/%s", sc[i].purpose, sc[i].recipient);
	}
	qsort(items, n, sizeof(items[0]), (int (*)(const void *, const void *))strcmp);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s;", items[i]);
	free(sc);
}

/* consent_notice_scopes lists what the current notice's text declares, and
 * follows a new version at once. */
static void test_current_scopes_are_the_current_notices(void **state)
{
	struct fx *f = *state;
	char why[CONSENT_WHY_MAX], *cur = NULL, want[4096], got[4096];
	struct consent_scope *sc = NULL;
	size_t n = 0;
	int64_t bare = 0;

	for (int round = 0; round < 2; round++) {
		if (round == 1) { /* a material version adding a purpose */
			json_t *v2 = notice_base(2, true);
			json_array_append_new(json_object_get(v2, "purposes"),
					      json_pack("{s:s, s:s, s:b}", "code", "lookalike", "description", "x",
							"sensitive", 0));
			assert_int_equal(fx_publish_json(f, v2, T("2026-05-01T00:00:00Z"), why, sizeof(why)),
					 CR_OK);
		}
		assert_int_equal(consent_notice_get(f->ctx, f->brand, 0, &cur, NULL), CR_OK);
		scopes_of_json(cur, want, sizeof(want));
		free(cur);
		scopes_of_catalog(f, got, sizeof(got));
		assert_string_equal(got, want);
		assert_non_null(strstr(got, "audience_insights/partner-1;"));
		assert_true((strstr(got, "lookalike/;") != NULL) == (round == 1));
	}
	assert_int_equal(consent_brand_create(f->ctx, "bare", 0, &bare), CR_OK);
	assert_int_equal(consent_notice_scopes(f->ctx, bare, &sc, &n), CR_ERR_CONSENT_NOTICE_NOT_FOUND);
	assert_int_equal(consent_notice_scopes(f->ctx, 999, &sc, &n), CR_ERR_CONSENT_BRAND_NOT_FOUND);
}

static void test_publish_to_unknown_brand_refused(void **state)
{
	struct fx *f = *state;
	json_t *n = notice_base(1, true);
	char *text = json_dumps(n, 0);

	assert_int_equal(consent_notice_publish(f->ctx, 999, text, strlen(text), 0, NULL, NULL, 0),
			 CR_ERR_CONSENT_BRAND_NOT_FOUND);
	free(text);
	json_decref(n);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_r04_canonical_form_and_content_hash_known_answer),
		TEST(test_r04_whitespace_and_key_order_do_not_change_the_hash),
		TEST(test_r04_every_missing_field_is_named),
		TEST(test_r04_sharing_needs_each_recipients_details),
		TEST(test_r11_consent_purpose_cannot_be_a_condition_of_service),
		TEST(test_r04_unknown_fields_and_wrong_types_refused),
		TEST(test_r04_malformed_truncated_and_oversized_refused),
		TEST(test_r04_a_version_is_immutable),
		TEST(test_r04_versions_only_move_forward),
		TEST(test_r06_additions_must_be_flagged_material),
		TEST(test_r06_material_flag_with_nothing_scoped_renews_everything),
		TEST(test_r07_every_version_stays_retrievable),
		TEST(test_r12_sensitive_purpose_needs_a_necessity_statement),
		TEST(test_publish_to_unknown_brand_refused),
		TEST(test_current_scopes_are_the_current_notices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
