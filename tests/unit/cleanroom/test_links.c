/* Unit tests for the web pages' server side (cleanroom/link.c, api_links.c,
 * api_web_withdraw.c, api_web.c): consent-link tokens sealed and opened,
 * refused when tampered, truncated, extended, under another key or expired,
 * carrying no personal data; the link page's view and one-click withdrawal
 * (R17, I3, R27); and the anonymous form's neutral answer, the same for a
 * known and an unknown person. Subjects are made up at run time. */
#include <time.h>

#include <sodium.h>

#include "test_util.h"
#include "cleanroom/http.h"
#include "cleanroom/link.h"
#include "cleanroom/ops.h"
#include "cleanroom/synth.h"
#include "cleanroom/web_assets.h"

/* ---------------------------------------------------------------- tokens */

static void claims_make(struct link_claims *c, cr_time_ms expires)
{
	memset(c, 0, sizeof(*c));
	randombytes_buf(c->link_id, sizeof(c->link_id));
	randombytes_buf(c->subject.bytes, sizeof(c->subject.bytes));
	c->brand = 7;
	c->subject.key_version = 3;
	c->expires = expires;
}

static void test_link_round_trip(void **state)
{
	(void)state;
	uint8_t key[LINK_KEY_BYTES];
	struct link_claims c, got;
	char tok[LINK_TOKEN_MAX + 1], tok2[LINK_TOKEN_MAX + 1];
	randombytes_buf(key, sizeof(key));
	claims_make(&c, 2000000000000);
	assert_int_equal(link_token_seal(key, &c, tok), CR_OK);
	assert_true(strncmp(tok, LINK_TOKEN_PREFIX, strlen(LINK_TOKEN_PREFIX)) == 0);
	assert_true(strlen(tok) <= LINK_TOKEN_MAX);
	/* URL-safe: fits a fragment and a JSON string without escaping */
	assert_int_equal(strspn(tok, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."), strlen(tok));
	assert_int_equal(link_token_open(key, tok, strlen(tok), 1000, &got), CR_OK);
	assert_bytes_equal(got.link_id, c.link_id, LINK_ID_BYTES);
	assert_bytes_equal(got.subject.bytes, c.subject.bytes, CRYPTO_PSEUDONYM_BYTES);
	assert_int_equal(got.brand, 7);
	assert_int_equal(got.subject.key_version, 3);
	assert_int_equal(got.expires, 2000000000000);
	/* a fresh nonce each time: two links to one person do not look alike */
	assert_int_equal(link_token_seal(key, &c, tok2), CR_OK);
	assert_string_not_equal(tok, tok2);
	c.brand = 0;
	assert_int_equal(link_token_seal(key, &c, tok), CR_ERR_INVALID_ARG);
}

/* The token reveals neither the pseudonym nor the brand to anyone without the key. */
static void test_link_carries_no_personal_data(void **state)
{
	(void)state;
	uint8_t key[LINK_KEY_BYTES], raw[160];
	char tok[LINK_TOKEN_MAX + 1], hex[65];
	struct link_claims c;
	size_t raw_len = 0;
	randombytes_buf(key, sizeof(key));
	claims_make(&c, 2000000000000);
	assert_int_equal(link_token_seal(key, &c, tok), CR_OK);
	sodium_bin2hex(hex, sizeof(hex), c.subject.bytes, 32);
	assert_null(strstr(tok, hex));
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), tok + 5, strlen(tok) - 5, NULL, &raw_len, NULL,
					   sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	for (size_t i = 0; i + 8 <= raw_len; i++)
		assert_false(memcmp(raw + i, c.subject.bytes, 8) == 0);
}

/* Every changed bit of the sealed bytes is refused with the one code. */
static void test_link_tampered_every_bit(void **state)
{
	(void)state;
	uint8_t key[LINK_KEY_BYTES], raw[160];
	char tok[LINK_TOKEN_MAX + 1], bad[LINK_TOKEN_MAX + 1];
	struct link_claims c, got;
	size_t raw_len = 0;
	randombytes_buf(key, sizeof(key));
	claims_make(&c, 2000000000000);
	assert_int_equal(link_token_seal(key, &c, tok), CR_OK);
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), tok + 5, strlen(tok) - 5, NULL, &raw_len, NULL,
					   sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	for (size_t i = 0; i < raw_len * 8; i++) {
		raw[i / 8] ^= (uint8_t)(1u << (i % 8));
		memcpy(bad, LINK_TOKEN_PREFIX, 5);
		sodium_bin2base64(bad + 5, sizeof(bad) - 5, raw, raw_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		assert_int_equal(link_token_open(key, bad, strlen(bad), 1000, &got), CR_ERR_LINK_INVALID);
		raw[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
}

static void test_link_truncated_extended_foreign(void **state)
{
	(void)state;
	uint8_t key[LINK_KEY_BYTES], other[LINK_KEY_BYTES];
	char tok[LINK_TOKEN_MAX + 1], bad[LINK_TOKEN_MAX + 8];
	struct link_claims c, got;
	size_t n;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(other, sizeof(other));
	claims_make(&c, 2000000000000);
	assert_int_equal(link_token_seal(key, &c, tok), CR_OK);
	n = strlen(tok);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(link_token_open(key, tok, k, 1000, &got), CR_ERR_LINK_INVALID);
	snprintf(bad, sizeof(bad), "%sA", tok);
	assert_int_equal(link_token_open(key, bad, strlen(bad), 1000, &got), CR_ERR_LINK_INVALID);
	snprintf(bad, sizeof(bad), "crl2.%s", tok + 5);
	assert_int_equal(link_token_open(key, bad, strlen(bad), 1000, &got), CR_ERR_LINK_INVALID);
	snprintf(bad, sizeof(bad), "%s", tok);
	bad[10] = '!';
	assert_int_equal(link_token_open(key, bad, strlen(bad), 1000, &got), CR_ERR_LINK_INVALID);
	assert_int_equal(link_token_open(other, tok, n, 1000, &got), CR_ERR_LINK_INVALID);
	assert_int_equal(link_token_open(key, NULL, 0, 1000, &got), CR_ERR_LINK_INVALID);
}

/* Expiry is exclusive: valid up to the millisecond before, expired at it (edge case 5). */
static void test_link_expiry_boundary(void **state)
{
	(void)state;
	uint8_t key[LINK_KEY_BYTES];
	char tok[LINK_TOKEN_MAX + 1];
	struct link_claims c, got;
	randombytes_buf(key, sizeof(key));
	claims_make(&c, 1700000000000);
	assert_int_equal(link_token_seal(key, &c, tok), CR_OK);
	assert_int_equal(link_token_open(key, tok, strlen(tok), 1699999999999, &got), CR_OK);
	memset(&got, 0, sizeof(got));
	assert_int_equal(link_token_open(key, tok, strlen(tok), 1700000000000, &got), CR_ERR_LINK_EXPIRED);
	assert_int_equal(got.brand, 0); /* nothing written on a refusal */
	assert_int_equal(link_token_open(key, tok, strlen(tok), 1800000000000, &got), CR_ERR_LINK_EXPIRED);
}

/* ----------------------------------------------------- a brand's registry */

struct fx {
	char dir[64];
	struct app *a;
	int64_t brand;
	char known[65];     /* digest of a customer with consent */
	char stranger[65];  /* digest of a person the brand never saw */
};

/* SHA-256 hex of a made-up, normalized email (a reserved .invalid domain). */
static void made_up_digest(char hex[static 65])
{
	char id[64], rnd[17];
	uint8_t r[8], h[32];
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(rnd, sizeof(rnd), r, sizeof(r));
	snprintf(id, sizeof(id), "p%s@test.invalid", rnd);
	crypto_hash_sha256(h, (const uint8_t *)id, strlen(id));
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

static void publish_notice(struct fx *f, cr_time_ms at)
{
	static const struct registry_actor who = { "brand", "test" };
	char *buf = NULL, why[256] = "";
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	assert_non_null(m);
	assert_int_equal(synth_notice_write(m), CR_OK);
	fclose(m);
	assert_int_equal(registry_notice_publish(f->a, &who, f->brand, buf, len, at, NULL, why, sizeof(why)), CR_OK);
	free(buf);
}

/* Served, then each purpose and the sharing grant, an hour ago. */
static void grant_known(struct fx *f, cr_time_ms t)
{
	static const struct registry_actor who = { "brand", "test" };
	static const char *const scopes[][2] = {
		{ "ads_measurement", NULL }, { "audience_insights", NULL }, { "audience_insights", "partner-1" },
	};
	struct consent_import_summary sum;
	char when[CR_TIME_STRLEN], *nd = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&nd, &len);
	assert_int_equal(cr_time_format(t, when), CR_OK);
	fprintf(m, "{\"type\":\"served\",\"subject\":\"%s\",\"id_type\":\"email\",\"notice_version\":1,"
		   "\"time\":\"%s\",\"channel\":\"web\"}\n", f->known, when);
	assert_int_equal(cr_time_format(t + 1000, when), CR_OK);
	for (size_t i = 0; i < 3; i++) {
		fprintf(m, "{\"type\":\"grant\",\"subject\":\"%s\",\"id_type\":\"email\",\"purpose\":\"%s\",", f->known,
			scopes[i][0]);
		if (scopes[i][1])
			fprintf(m, "\"recipient\":\"%s\",", scopes[i][1]);
		fprintf(m, "\"notice_version\":1,\"time\":\"%s\",\"method\":\"checkbox\",\"channel\":\"web\","
			   "\"actor\":\"subject\"}\n", when);
	}
	fclose(m);
	m = fmemopen(nd, len, "r");
	assert_int_equal(ops_consent_import(f->a, &who, f->brand, m, NULL, NULL, NULL, &sum), CR_OK);
	assert_int_equal(sum.stored, 4);
	fclose(m);
	free(nd);
}

static int fx_setup(void **state)
{
	static const struct registry_actor admin = { "admin", "test" };
	struct fx *f = calloc(1, sizeof(*f));
	char data[96];
	cr_time_ms now = cr_time_now();
	assert_non_null(f);
	assert_true(sodium_init() >= 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/cr-links-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(data, sizeof(data), "%s/data", f->dir);
	assert_int_equal(app_init_dir(data, "test.example/audit", &f->a), CR_OK);
	assert_int_equal(registry_brand_create(f->a, &admin, "acme", &f->brand), CR_OK);
	publish_notice(f, now - 3600 * 1000);
	made_up_digest(f->known);
	made_up_digest(f->stranger);
	grant_known(f, now - 1800 * 1000);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	app_close(f->a);
	test_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Calls a public handler with a JSON body; the reply's JSON (new reference) or NULL on error. */
static cr_err post(struct fx *f, http_handler_fn fn, const char *body, unsigned *status, json_t **out)
{
	struct http_request req = { .app = f->a, .content_type = "application/json",
				    .body = (const uint8_t *)body, .body_len = strlen(body) };
	struct http_reply rep = { 0 };
	cr_err rc = fn(&req, &rep);
	*out = NULL;
	if (rc == CR_OK) {
		*status = rep.status;
		*out = json_loadb(rep.body, rep.len, 0, NULL);
		assert_non_null(*out);
	}
	http_secure_free(rep.body);
	return rc;
}

/* A link for the known subject, sealed as api_link_issue does. */
static void issue(struct fx *f, cr_time_ms expires, char tok[static LINK_TOKEN_MAX + 1])
{
	uint8_t key[LINK_KEY_BYTES];
	struct link_claims c = { .brand = f->brand, .expires = expires };
	randombytes_buf(c.link_id, sizeof(c.link_id));
	assert_int_equal(registry_subject(f->a, f->brand, f->known, "email", &c.subject, NULL, NULL), CR_OK);
	assert_int_equal(link_key(f->a->keys, key), CR_OK);
	assert_int_equal(link_token_seal(key, &c, tok), CR_OK);
	sodium_memzero(key, sizeof(key));
}

/* The status entry of (purpose, recipient) in a view. */
static bool allowed_in(json_t *view, const char *purpose, const char *recipient)
{
	json_t *s;
	size_t i;
	json_array_foreach(json_object_get(view, "status"), i, s) {
		json_t *r = json_object_get(s, "recipient");
		if (strcmp(json_string_value(json_object_get(s, "purpose")), purpose) == 0 &&
		    (recipient ? json_is_string(r) && strcmp(json_string_value(r), recipient) == 0 : json_is_null(r)))
			return json_is_true(json_object_get(s, "allowed"));
	}
	fail_msg("no status for %s/%s", purpose, recipient ? recipient : "-");
	return false;
}

/* R17, I3, R27: the page shows the notice seen and the status; one request withdraws one purpose. */
static void test_link_view_then_withdraw_one_purpose(void **state)
{
	struct fx *f = *state;
	char tok[LINK_TOKEN_MAX + 1], body[LINK_TOKEN_MAX + 96], why[256] = "", *vkey = NULL, *rtext;
	struct consent_receipt_info info;
	unsigned status = 0;
	bool proven = false;
	json_t *view, *w;
	issue(f, cr_time_now() + 3600 * 1000, tok);
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", tok);
	assert_int_equal(post(f, api_link_view, body, &status, &view), CR_OK);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(view, "brand")), "acme");
	assert_int_equal(json_array_size(json_object_get(view, "notices_seen")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
				    json_array_get(json_object_get(view, "notices_seen"), 0), "notice"), "language")),
			    "zh-CN");
	assert_true(allowed_in(view, "ads_measurement", NULL));
	assert_true(allowed_in(view, "audience_insights", "partner-1"));
	json_decref(view);

	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"purpose\":\"ads_measurement\"}", tok);
	assert_int_equal(post(f, api_link_withdraw, body, &status, &w), CR_OK);
	assert_int_equal(status, 201);
	rtext = json_dumps(json_object_get(w, "receipt"), JSON_COMPACT);
	json_decref(w);
	assert_int_equal(app_verifier_key(f->a, &vkey), CR_OK);
	assert_int_equal(ops_receipt_verify(vkey, rtext, strlen(rtext), &info, &proven, why, sizeof(why)), CR_OK);
	assert_true(proven);
	assert_int_equal(info.type, CONSENT_EV_WITHDRAW);
	assert_string_equal(info.purpose, "ads_measurement");
	free(vkey);
	free(rtext);

	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", tok);
	assert_int_equal(post(f, api_link_view, body, &status, &view), CR_OK);
	assert_false(allowed_in(view, "ads_measurement", NULL));    /* in effect at once */
	assert_true(allowed_in(view, "audience_insights", NULL));   /* the rest untouched (R19) */
	json_decref(view);

	/* a purpose the brand never declared is refused with the registry's code */
	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"purpose\":\"Not A Code\"}", tok);
	assert_int_not_equal(post(f, api_link_withdraw, body, &status, &w), CR_OK);
}

static void test_link_refused_tampered_expired(void **state)
{
	struct fx *f = *state;
	char tok[LINK_TOKEN_MAX + 1], body[LINK_TOKEN_MAX + 64];
	unsigned status = 0;
	json_t *j = NULL;
	int before = sqlite3_total_changes(f->a->store->db);
	issue(f, cr_time_now() - 1, tok);
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", tok);
	assert_int_equal(post(f, api_link_view, body, &status, &j), CR_ERR_LINK_EXPIRED);
	assert_int_equal(post(f, api_link_withdraw, body, &status, &j), CR_ERR_LINK_EXPIRED);
	issue(f, cr_time_now() + 60000, tok);
	tok[20] = tok[20] == 'A' ? 'B' : 'A';
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", tok);
	assert_int_equal(post(f, api_link_withdraw, body, &status, &j), CR_ERR_LINK_INVALID);
	assert_int_equal(post(f, api_link_view, "{\"token\":\"x\",\"email\":\"a\"}", &status, &j),
			 CR_ERR_JSON_UNKNOWN_FIELD);
	assert_null(j);
	assert_int_equal(sqlite3_total_changes(f->a->store->db), before); /* nothing stored (I7) */
	assert_int_equal(cr_err_http_status(CR_ERR_LINK_INVALID), 403);
	assert_int_equal(cr_err_http_status(CR_ERR_LINK_EXPIRED), 410);
}

/* Sorted keys of an object, joined: its shape. */
static void shape(json_t *o, char *buf, size_t cap)
{
	const char *k;
	json_t *v;
	buf[0] = '\0';
	json_object_foreach(o, k, v) {
		strncat(buf, k, cap - strlen(buf) - 2);
		strncat(buf, json_is_object(v) ? "{" : ",", cap - strlen(buf) - 1);
		if (json_is_object(v))
			shape(v, buf + strlen(buf), cap - strlen(buf));
	}
}

static cr_err anon(struct fx *f, const char *brand, const char *digest, unsigned *status, json_t **out,
		   int64_t *ms)
{
	char body[192];
	int64_t t0 = cr_monotonic_ms();
	cr_err rc;
	snprintf(body, sizeof(body), "{\"brand\":\"%s\",\"id_type\":\"email\",\"digest\":\"%s\"}", brand, digest);
	rc = post(f, api_web_withdraw, body, status, out);
	*ms = cr_monotonic_ms() - t0;
	return rc;
}

/* R17 without a link: a known and an unknown person get the same status,
 * body shape and (padded) time; the known one's consent is withdrawn. */
static void test_anonymous_withdraw_is_neutral(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p;
	struct consent_decision d;
	char s1[1024], s2[1024];
	unsigned st1 = 0, st2 = 0;
	int64_t ms1 = 0, ms2 = 0;
	json_t *a = NULL, *b = NULL;
	assert_int_equal(anon(f, "acme", f->known, &st1, &a, &ms1), CR_OK);
	assert_int_equal(anon(f, "acme", f->stranger, &st2, &b, &ms2), CR_OK);
	assert_int_equal(st1, 202);
	assert_int_equal(st2, 202);
	shape(a, s1, sizeof(s1));
	shape(b, s2, sizeof(s2));
	assert_string_equal(s1, s2);
	assert_string_equal(json_string_value(json_object_get(a, "status")), "received");
	assert_true(ms1 >= 250 && ms2 >= 250);
	json_decref(a);
	json_decref(b);
	assert_int_equal(registry_subject(f->a, f->brand, f->known, "email", &p, NULL, NULL), CR_OK);
	assert_int_equal(consent_valid_at(f->a->consent, f->brand, &p, "audience_insights", NULL, cr_time_now(), 0, &d),
			 CR_OK);
	assert_false(d.allowed);
	assert_int_equal(d.reason, CONSENT_WITHDRAWN);
	/* refusals name the field, never the subject */
	assert_int_equal(anon(f, "nobody", f->known, &st1, &a, &ms1), CR_ERR_CONSENT_BRAND_NOT_FOUND);
	assert_int_equal(anon(f, "acme", "ABC", &st1, &a, &ms1), CR_ERR_JSON_TYPE);
}

/* The pages are embedded, and /static/ never serves an HTML page. */
static void test_web_assets_embedded(void **state)
{
	(void)state;
	static const char *const want[] = { "index.html", "consent.html", "audit.html", "consent.js",
					    "audit.js", "app.css", "ident.js", "tlog.js", "dom.js" };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		bool found = false;
		for (size_t k = 0; k < web_asset_count; k++)
			found = found || strcmp(web_assets[k].name, want[i]) == 0;
		if (!found)
			fail_msg("web/%s is not embedded", want[i]);
	}
	for (size_t k = 0; k < web_asset_count; k++) {
		const char *html = (const char *)web_assets[k].data;
		/* CSP forbids inline script: pages load theirs by src only */
		if (strstr(web_assets[k].name, ".html"))
			assert_null(strstr(html, "<script>"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_round_trip),
		cmocka_unit_test(test_link_carries_no_personal_data),
		cmocka_unit_test(test_link_tampered_every_bit),
		cmocka_unit_test(test_link_truncated_extended_foreign),
		cmocka_unit_test(test_link_expiry_boundary),
		cmocka_unit_test_setup_teardown(test_link_view_then_withdraw_one_purpose, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_link_refused_tampered_expired, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_anonymous_withdraw_is_neutral, fx_setup, fx_teardown),
		cmocka_unit_test(test_web_assets_embedded),
	};
	assert_true(sodium_init() >= 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
