/* Unit tests for the web pages' server side (cleanroom/link.c, api_links.c,
 * api_web_withdraw.c, api_web.c): consent-link tokens sealed and opened,
 * refused when tampered, truncated, extended, under another key or expired,
 * carrying no personal data; the link page's view and one-click withdrawal
 * (R17, I3, R27); the anonymous form's neutral answer, the same for a
 * known and an unknown person; and, over a live server (live_fixture.h),
 * the per-address rate limit of the public routes. Subjects are made up at
 * run time. */
#include <time.h>

#include <sodium.h>

#include "live_fixture.h"
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

/* Found by fuzz_link: a byte from 0x80 to 0xff in place of a token's '_'
 * (or anywhere) opened the token, libsodium 1.0.18 reading it as '_'. A
 * token has one spelling. */
static void test_link_token_has_one_spelling(void **state)
{
	(void)state;
	uint8_t key[LINK_KEY_BYTES];
	char tok[LINK_TOKEN_MAX + 1];
	struct link_claims c, got;
	size_t n, tried = 0;
	randombytes_buf(key, sizeof(key));
	claims_make(&c, 2000000000000);
	for (int round = 0; round < 64 && tried == 0; round++) {
		assert_int_equal(link_token_seal(key, &c, tok), CR_OK);
		n = strlen(tok);
		for (size_t i = 5; i < n; i++) {
			char keep = tok[i];
			if (keep != '_')
				continue;
			for (int b = 0x80; b <= 0xff; b++) {
				tok[i] = (char)b;
				assert_int_equal(link_token_open(key, tok, n, 1000, &got), CR_ERR_LINK_INVALID);
			}
			tok[i] = keep;
			tried++;
		}
	}
	assert_true(tried > 0);
	assert_int_equal(link_token_open(key, tok, n, 1000, &got), CR_OK);
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
	assert_int_equal(ops_consent_import(f->a, &who, f->brand, "import", m, NULL, NULL, NULL, &sum), CR_OK);
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
	char tok[LINK_TOKEN_MAX + 1], body[LINK_TOKEN_MAX + 96], why[256] = "", *vkey = NULL, *rkey = NULL, *rtext;
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
	assert_int_equal(app_receipt_key(f->a, &rkey), CR_OK);
	assert_int_equal(ops_receipt_verify(rkey, vkey, rtext, strlen(rtext), &info, &proven, why, sizeof(why)), CR_OK);
	assert_true(proven);
	assert_int_equal(info.type, CONSENT_EV_WITHDRAW);
	assert_string_equal(info.purpose, "ads_measurement");
	free(vkey);
	free(rkey);
	free(rtext);

	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", tok);
	assert_int_equal(post(f, api_link_view, body, &status, &view), CR_OK);
	assert_false(allowed_in(view, "ads_measurement", NULL));    /* in effect at once */
	assert_true(allowed_in(view, "audience_insights", NULL));   /* the rest untouched (R19) */
	json_decref(view);

	/* R17: never refused for its form; what it names that the brand never
	 * declared withdraws nothing of what it did */
	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"purpose\":\"Not A Code\"}", tok);
	assert_int_equal(post(f, api_link_withdraw, body, &status, &w), CR_OK);
	assert_int_equal(status, 201);
	json_decref(w);
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", tok);
	assert_int_equal(post(f, api_link_view, body, &status, &view), CR_OK);
	assert_true(allowed_in(view, "audience_insights", NULL));
	json_decref(view);
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

/* ------------------------- the public routes' limit, over a live server */

/*
 * The public web routes carry no token, so http_client_rate_take limits
 * them per client address: one bucket per (keyed, hashed) address shared
 * by every route that takes it (the anonymous form and both link routes),
 * with the configuration's web_rate_burst and web_rate_per_s (the server
 * defaults here: 30, and 1 a second). Past it: 429 rate_limited with
 * Retry-After. Handlers called directly (above) have no connection, so
 * only a live server shows the limit. Two clients are two loopback
 * addresses.
 */
#define CLIENT_A "127.0.0.1"
#define CLIENT_B "127.0.0.2"

/* The documented 429: {"error":{"code":"rate_limited","message"}} and Retry-After in seconds. */
static void assert_rate_limited(const struct resp *r)
{
	json_t *j = json_loadb(r->body, r->len, 0, NULL), *e;
	assert_int_equal(r->status, 429);
	if (j == NULL)
		fail_msg("429 without a JSON body: %s", r->body);
	e = json_object_get(j, "error");
	assert_int_equal(json_object_size(j), 1);
	assert_int_equal(json_object_size(e), 2);
	assert_string_equal(json_string_value(json_object_get(e, "code")), "rate_limited");
	assert_string_equal(json_string_value(json_object_get(e, "message")), cr_strerror(CR_ERR_RATE_LIMITED));
	json_decref(j);
	/* at 1 a second the next token is at most a second away */
	assert_non_null(strcasestr(r->headers, "\r\nRetry-After: 1\r\n"));
}

/*
 * Posts `body` to `path` from `src` until the first 429, every earlier
 * answer `want`, and checks the 429. `used` requests had already been
 * taken from src's bucket since `t0` (cr_monotonic_ms, the server's clock).
 * The bucket starts full and refills one a second, so the requests
 * answered must number at least the burst and at most the burst plus one
 * per whole second elapsed (exactly the burst when the flood is quick).
 */
static void web_flood(struct live *l, const char *src, const char *path, const char *body, long want,
		      size_t used, int64_t t0)
{
	struct http_config cfg;
	struct resp r;
	size_t n = used;
	int64_t secs;
	http_config_defaults(&cfg);
	for (;;) {
		long st = call_from(l, src, "POST", path, NULL, "application/json", body, strlen(body), &r);
		if (st == 429)
			break;
		if (st != want)
			fail_msg("POST %s #%zu: %ld, want %ld: %s", path, n + 1, st, want, r.body);
		if (++n > cfg.web_rate_burst + 10)
			fail_msg("POST %s: %zu requests from one address and no 429", path, n);
	}
	assert_rate_limited(&r);
	secs = (cr_monotonic_ms() - t0 + 1) / 1000; /* + 1: both ends are rounded down to the ms */
	if (n < cfg.web_rate_burst || n > cfg.web_rate_burst + (size_t)secs)
		fail_msg("POST %s: %zu answered before the 429 in %llds, burst %u", path, n, (long long)secs,
			 cfg.web_rate_burst);
}

/* After `src` was limited on one route: every limited public route refuses it too,
 * the rest of the service still answers it. */
static void assert_group_limited(struct live *l, const char *src, const char *link_body)
{
	static const char form[] = "{\"brand\":\"acme\",\"id_type\":\"email\",\"digest\":\"00\"}";
	struct resp r;
	call_from(l, src, "POST", "/web/v1/withdraw", NULL, "application/json", form, strlen(form), &r);
	assert_rate_limited(&r);
	call_from(l, src, "POST", "/web/v1/link", NULL, "application/json", link_body, strlen(link_body), &r);
	assert_rate_limited(&r);
	call_from(l, src, "POST", "/web/v1/link/withdraw", NULL, "application/json", link_body,
		  strlen(link_body), &r);
	assert_rate_limited(&r);
	assert_int_equal(call_from(l, src, "GET", "/healthz", NULL, NULL, NULL, 0, &r), 200);
	assert_int_equal(call_from(l, src, "GET", "/consent", NULL, NULL, NULL, 0, &r), 200);
	/* a token's own bucket, not the address's */
	assert_int_equal(call_from(l, src, "GET", "/v1/whoami", l->brand, NULL, NULL, 0, &r), 200);
}

/* Brand acme over the API, and a consent link for a made-up subject: {"token":"..."} in body. */
static void live_link(struct live *l, char body[static LINK_TOKEN_MAX + 16])
{
	char digest[65], path[160];
	struct resp r;
	json_t *j;
	const char *p;
	assert_int_equal(call(l, "POST", "/v1/brands", l->admin, "application/json", "{\"name\":\"acme\"}", 15,
			      &r), 201);
	made_up_digest(digest);
	snprintf(path, sizeof(path), "/v1/brands/acme/subjects/%s/link?id_type=email", digest);
	assert_int_equal(call(l, "POST", path, l->brand, NULL, NULL, 0, &r), 201);
	j = json_loadb(r.body, r.len, 0, NULL);
	assert_non_null(j);
	p = strchr(json_string_value(json_object_get(j, "path")), '#');
	assert_non_null(p);
	snprintf(body, LINK_TOKEN_MAX + 16, "{\"token\":\"%s\"}", p + 1);
	json_decref(j);
}

/* R17, I9: the anonymous form is limited per address: past the burst a
 * flood is refused, the address is refused on every limited route, and
 * another address is still served. */
static void test_r17_web_withdraw_rate_limited_per_address(void **state)
{
	static const char bad[] = "{\"brand\":\"acme\",\"id_type\":\"email\",\"digest\":\"not-a-digest\"}";
	struct live *l = *state;
	char form[160], digest[65], link[LINK_TOKEN_MAX + 16];
	int64_t t0;
	struct resp r;
	live_link(l, link);
	made_up_digest(digest);
	snprintf(form, sizeof(form), "{\"brand\":\"acme\",\"id_type\":\"email\",\"digest\":\"%s\"}", digest);
	t0 = cr_monotonic_ms();
	/* a real withdrawal, then malformed forms (answered at once, not padded) */
	assert_int_equal(call_from(l, CLIENT_A, "POST", "/web/v1/withdraw", NULL, "application/json", form,
				   strlen(form), &r), 202);
	assert_non_null(strstr(r.body, "\"status\":\"received\""));
	web_flood(l, CLIENT_A, "/web/v1/withdraw", bad, 400, 1, t0);
	assert_group_limited(l, CLIENT_A, link);
	/* another address has its own bucket */
	assert_int_equal(call_from(l, CLIENT_B, "POST", "/web/v1/withdraw", NULL, "application/json", form,
				   strlen(form), &r), 202);
	assert_int_equal(call_from(l, CLIENT_B, "POST", "/web/v1/link", NULL, "application/json", link,
				   strlen(link), &r), 200);
}

/* R17, I9: the link page's view is limited per address. */
static void test_r17_web_link_view_rate_limited_per_address(void **state)
{
	struct live *l = *state;
	char link[LINK_TOKEN_MAX + 16];
	struct resp r;
	live_link(l, link);
	web_flood(l, CLIENT_A, "/web/v1/link", link, 200, 0, cr_monotonic_ms());
	assert_group_limited(l, CLIENT_A, link);
	assert_int_equal(call_from(l, CLIENT_B, "POST", "/web/v1/link", NULL, "application/json", link,
				   strlen(link), &r), 200);
	assert_non_null(strstr(r.body, "\"brand\":\"acme\""));
}

/* R17, I9: the link's one-click withdrawal is limited per address. */
static void test_r17_web_link_withdraw_rate_limited_per_address(void **state)
{
	struct live *l = *state;
	char link[LINK_TOKEN_MAX + 16];
	struct resp r;
	int64_t t0;
	live_link(l, link);
	t0 = cr_monotonic_ms();
	assert_int_equal(call_from(l, CLIENT_A, "POST", "/web/v1/link/withdraw", NULL, "application/json", link,
				   strlen(link), &r), 201);
	web_flood(l, CLIENT_A, "/web/v1/link/withdraw", link, 201, 1, t0); /* each a new event, stored */
	assert_group_limited(l, CLIENT_A, link);
	assert_int_equal(call_from(l, CLIENT_B, "POST", "/web/v1/link/withdraw", NULL, "application/json", link,
				   strlen(link), &r), 201);
	assert_non_null(strstr(r.body, "\"receipt\":{"));
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
		cmocka_unit_test(test_link_token_has_one_spelling),
		cmocka_unit_test(test_link_expiry_boundary),
		cmocka_unit_test_setup_teardown(test_link_view_then_withdraw_one_purpose, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_link_refused_tampered_expired, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_anonymous_withdraw_is_neutral, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_r17_web_withdraw_rate_limited_per_address, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_r17_web_link_view_rate_limited_per_address, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_r17_web_link_withdraw_rate_limited_per_address, live_setup,
						live_teardown),
		cmocka_unit_test(test_web_assets_embedded),
	};
	int rc;
	assert_true(sodium_init() >= 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
