/* Unit tests for consent/event.c and the importer's subject handling:
 * NDJSON consent events (docs/spec/formats.md) with their refusals (unknown fields,
 * garbage, oversized lines, pre-ticked methods, bundles, bad times), UTC
 * times (edge case 5), and keyed pseudonyms (R30, R32, R33, edge case 11). */
#include "consent_fixture.h"

struct efx {
	struct fx *f;
	struct consent_importer *imp;
};

static int setup(void **state)
{
	struct efx *e = calloc(1, sizeof(*e));
	e->f = fx_new();
	fx_keys(e->f);
	assert_int_equal(consent_importer_new(e->f->ctx, e->f->kr, e->f->brand, NULL, &e->imp), CR_OK);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct efx *e = *state;
	consent_importer_free(e->imp);
	fx_free(e->f);
	free(e);
	return 0;
}

static const cr_time_ms NOW = 1790000000000LL; /* 2026-09-21 */

static cr_err parse(struct efx *e, const char *line, struct consent_event *ev, char *why)
{
	return consent_event_parse(e->imp, line, strlen(line), NOW, ev, why, CONSENT_WHY_MAX);
}

static void parse_ok(struct efx *e, const char *line, struct consent_event *ev)
{
	char why[CONSENT_WHY_MAX] = "";
	cr_err rc = parse(e, line, ev, why);
	if (rc != CR_OK)
		print_error("%s: %s\n", cr_errname(rc), why);
	assert_int_equal(rc, CR_OK);
}

/* The refusal code and exact message of a line. */
static void refused(struct efx *e, const char *line, cr_err want, const char *want_why)
{
	struct consent_event ev;
	char why[CONSENT_WHY_MAX] = "";
	cr_err rc = parse(e, line, &ev, why);
	if (rc != want || (want_why && strcmp(why, want_why) != 0))
		print_error("line %s\n  got %s \"%s\"\n want %s \"%s\"\n", line, cr_errname(rc), why,
			    cr_errname(want), want_why ? want_why : "");
	assert_int_equal(rc, want);
	if (want_why)
		assert_string_equal(why, want_why);
}

/* ------------------------------------------------------------ docs/spec/formats.md */

static void test_formats_md_examples_parse(void **state)
{
	struct efx *e = *state;
	struct consent_event ev;

	parse_ok(e, "{\"type\":\"served\",\"subject\":\"Alice@Example.com\",\"notice_version\":2,"
		    "\"time\":\"2026-03-01T09:00:00+08:00\",\"channel\":\"web\"}", &ev);
	assert_int_equal(ev.type, CONSENT_EV_SERVED);
	assert_int_equal(ev.notice_version, 2);
	assert_int_equal(ev.time, T("2026-03-01T01:00:00Z"));
	assert_int_equal(ev.received, NOW);
	assert_string_equal(ev.channel, "web");
	assert_int_equal(ev.subject.key_version, 1);

	parse_ok(e, "{\"type\":\"grant\",\"subject\":\"Alice@Example.com\",\"purpose\":"
		    "\"audience_insights\",\"notice_version\":2,\"time\":\"2026-03-01T09:00:05+08:00\","
		    "\"method\":\"checkbox\",\"channel\":\"web\",\"actor\":\"subject\","
		    "\"jurisdiction\":\"CN\",\"birth_year\":1990}", &ev);
	assert_int_equal(ev.type, CONSENT_EV_GRANT);
	assert_string_equal(ev.purpose, "audience_insights");
	assert_string_equal(ev.recipient, "");
	assert_int_equal(ev.actor, CONSENT_ACTOR_SUBJECT);
	assert_string_equal(ev.jurisdiction, "CN");
	assert_int_equal(ev.birth_year, 1990);
	assert_int_equal(ev.expires, CONSENT_TIME_NONE);

	parse_ok(e, "{\"type\":\"grant\",\"subject\":\"Alice@Example.com\",\"purpose\":"
		    "\"audience_insights\",\"recipient\":\"partner-1\",\"notice_version\":2,"
		    "\"time\":\"2026-03-01T09:00:06+08:00\",\"method\":\"checkbox\",\"channel\":"
		    "\"web\",\"actor\":\"subject\"}", &ev);
	assert_string_equal(ev.recipient, "partner-1");

	parse_ok(e, "{\"type\":\"withdraw\",\"subject\":\"Alice@Example.com\",\"purpose\":"
		    "\"audience_insights\",\"recipient\":\"partner-1\",\"time\":"
		    "\"2026-06-01T12:00:00Z\",\"channel\":\"web\"}", &ev);
	assert_int_equal(ev.type, CONSENT_EV_WITHDRAW);
	assert_int_equal(ev.n_aliases, 0);

	parse_ok(e, "{\"type\":\"object\",\"subject\":\"Alice@Example.com\",\"time\":"
		    "\"2026-06-02T12:00:00Z\",\"signal\":\"gpc\"}", &ev);
	assert_int_equal(ev.type, CONSENT_EV_OBJECT);
	assert_string_equal(ev.signal, "gpc");

	/* optional on every event: received and evidence */
	parse_ok(e, "{\"type\":\"object\",\"subject\":\"+86 138 0013 8000\",\"time\":"
		    "\"2026-06-02T12:00:00Z\",\"received\":\"2026-06-02T20:30:00+08:00\","
		    "\"evidence\":\"ticket 17\"}", &ev);
	assert_int_equal(ev.received, T("2026-06-02T12:30:00Z"));
	assert_string_equal(ev.evidence, "ticket 17");
	/* guardian grants with guardian_ref and an expiry */
	parse_ok(e, "{\"type\":\"grant\",\"subject\":\"kid@example.com\",\"purpose\":\"p\","
		    "\"notice_version\":1,\"time\":\"2026-03-01T00:00:00Z\",\"expires\":"
		    "\"2027-03-01T00:00:00Z\",\"method\":\"signature\",\"channel\":\"paper\","
		    "\"actor\":\"guardian\",\"guardian_ref\":\"parent-3\",\"birth_year\":2015}", &ev);
	assert_int_equal(ev.actor, CONSENT_ACTOR_GUARDIAN);
	assert_int_equal(ev.expires, T("2027-03-01T00:00:00Z"));
}

static void test_edge5_times_with_offsets_become_utc_integers(void **state)
{
	struct efx *e = *state;
	struct consent_event a, b;

	parse_ok(e, "{\"type\":\"served\",\"subject\":\"a@b.cn\",\"notice_version\":1,"
		    "\"time\":\"2026-03-01T09:00:05.250+08:00\",\"channel\":\"web\"}", &a);
	parse_ok(e, "{\"type\":\"served\",\"subject\":\"a@b.cn\",\"notice_version\":1,"
		    "\"time\":\"2026-02-28T20:00:05.25-05:00\",\"channel\":\"web\"}", &b);
	assert_int_equal(a.time, 1772326805250LL);
	assert_int_equal(b.time, a.time);
}

/* ------------------------------------------------------------- refusals */

static void test_unknown_fields_refused(void **state)
{
	struct efx *e = *state;

	refused(e, "{\"type\":\"served\",\"subject\":\"a@b.cn\",\"notice_version\":1,\"time\":"
		   "\"2026-03-01T00:00:00Z\",\"channel\":\"web\",\"colour\":\"red\"}",
		CR_ERR_CONSENT_EVENT_UNKNOWN_FIELD, "unknown field \"colour\"");
	refused(e, "{\"type\":\"served\",\"subject\":\"a@b.cn\",\"notice_version\":1,\"time\":"
		   "\"2026-03-01T00:00:00Z\",\"channel\":\"web\",\"purpose\":\"p\"}",
		CR_ERR_CONSENT_EVENT_UNKNOWN_FIELD, "purpose: not accepted for served");
	/* a key that might be personal data is never echoed */
	refused(e, "{\"type\":\"served\",\"subject\":\"a@b.cn\",\"notice_version\":1,\"time\":"
		   "\"2026-03-01T00:00:00Z\",\"channel\":\"web\",\"bob@example.com\":1}",
		CR_ERR_CONSENT_EVENT_UNKNOWN_FIELD, "unknown field \"(name not shown)\"");
	refused(e, "{\"type\":\"object\",\"subject\":\"a@b.cn\",\"time\":\"2026-03-01T00:00:00Z\","
		   "\"purpose\":\"p\"}",
		CR_ERR_CONSENT_EVENT_UNKNOWN_FIELD, "purpose: not accepted for object");
}

static void test_truncated_and_garbage_json_refused(void **state)
{
	struct efx *e = *state;
	static const char *bad[] = {
		"", "{", "garbage", "[]", "null", "\"served\"",
		"{\"type\":\"served\",\"subject\":\"a@b.cn\"",
		"{\"type\":\"served\"} {\"type\":\"served\"}",
		"{\"type\":\"served\",\"type\":\"grant\"}",
		"{\"type\":\"served\",\"subject\":\"\xff\xfe\"}",
	};
	struct consent_event ev;
	char why[CONSENT_WHY_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(e, bad[i], &ev, why), CR_ERR_CONSENT_EVENT_MALFORMED);
		/* the message gives a position, never the input */
		assert_null(strstr(why, "a@b.cn"));
		assert_null(strstr(why, "garbage"));
	}
}

static void test_oversized_line_refused(void **state)
{
	struct efx *e = *state;
	size_t n = CONSENT_LINE_MAX + 1;
	char *line = malloc(n + 1);
	struct consent_event ev;
	char why[CONSENT_WHY_MAX];

	memset(line, ' ', n);
	line[0] = '{';
	line[n - 1] = '}';
	line[n] = '\0';
	assert_int_equal(consent_event_parse(e->imp, line, n, NOW, &ev, why, sizeof(why)),
			 CR_ERR_CONSENT_LINE_TOO_LARGE);
	free(line);
}

static void test_r08_pre_ticked_method_refused(void **state)
{
	struct efx *e = *state;

	refused(e, "{\"type\":\"grant\",\"subject\":\"a@b.cn\",\"purpose\":\"p\",\"notice_version\":1,"
		   "\"time\":\"2026-03-01T00:00:00Z\",\"method\":\"preticked\",\"channel\":\"web\","
		   "\"actor\":\"subject\"}",
		CR_ERR_CONSENT_METHOD, "method: not an affirmative act (R08); accepted: checkbox, button, toggle, signature, electronic-signature, verbal-recorded, written, double-opt-in");
	refused(e, "{\"type\":\"grant\",\"subject\":\"a@b.cn\",\"purpose\":\"p\",\"notice_version\":1,"
		   "\"time\":\"2026-03-01T00:00:00Z\",\"method\":\"scroll\",\"channel\":\"web\","
		   "\"actor\":\"subject\"}",
		CR_ERR_CONSENT_METHOD, NULL);
}

static void test_r09_bundled_request_refused(void **state)
{
	struct efx *e = *state;

	/* edge case 8: marketing + sharing in one request */
	refused(e, "{\"type\":\"grant\",\"subject\":\"a@b.cn\",\"purpose\":[\"ads_measurement\","
		   "\"audience_insights\"],\"notice_version\":1,\"time\":\"2026-03-01T00:00:00Z\","
		   "\"method\":\"checkbox\",\"channel\":\"web\",\"actor\":\"subject\"}",
		CR_ERR_CONSENT_BUNDLED, "purpose: names several; each needs its own grant (R09)");
	refused(e, "{\"type\":\"grant\",\"subject\":\"a@b.cn\",\"purpose\":\"audience_insights\","
		   "\"recipient\":[\"partner-1\",\"partner-2\"],\"notice_version\":1,\"time\":"
		   "\"2026-03-01T00:00:00Z\",\"method\":\"checkbox\",\"channel\":\"web\","
		   "\"actor\":\"subject\"}",
		CR_ERR_CONSENT_BUNDLED, NULL);
	refused(e, "{\"type\":\"grant\",\"subject\":\"a@b.cn\",\"purpose\":\"ads_measurement,"
		   "audience_insights\",\"notice_version\":1,\"time\":\"2026-03-01T00:00:00Z\","
		   "\"method\":\"checkbox\",\"channel\":\"web\",\"actor\":\"subject\"}",
		CR_ERR_CONSENT_BUNDLED, NULL);
	refused(e, "{\"type\":\"grant\",\"subject\":\"a@b.cn\",\"purpose\":[\"ads_measurement\"],"
		   "\"notice_version\":1,\"time\":\"2026-03-01T00:00:00Z\",\"method\":\"checkbox\","
		   "\"channel\":\"web\",\"actor\":\"subject\"}",
		CR_ERR_CONSENT_EVENT_FIELD, "purpose: must be a string, not a list");
}

static void test_bad_times_refused(void **state)
{
	struct efx *e = *state;
	static const char *times[] = { "\"2026-03-01T09:00:00\"", "\"2026-03-01 09:00:00Z\"",
				       "\"2026-13-01T00:00:00Z\"", "1772326805000", "\"\"",
				       "\"2026-03-01T09:00:00+8:00\"", "null" };
	char line[256];

	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		snprintf(line, sizeof(line), "{\"type\":\"served\",\"subject\":\"a@b.cn\","
			 "\"notice_version\":1,\"time\":%s,\"channel\":\"web\"}", times[i]);
		refused(e, line, CR_ERR_CONSENT_EVENT_FIELD,
			"time: must be an RFC 3339 time with an offset");
	}
	refused(e, "{\"type\":\"served\",\"subject\":\"a@b.cn\",\"notice_version\":1,\"channel\":"
		   "\"web\"}", CR_ERR_CONSENT_EVENT_FIELD, "time: missing");
	refused(e, "{\"type\":\"grant\",\"subject\":\"a@b.cn\",\"purpose\":\"p\",\"notice_version\":1,"
		   "\"time\":\"2026-03-01T00:00:00Z\",\"expires\":\"2026-02-01T00:00:00Z\","
		   "\"method\":\"checkbox\",\"channel\":\"web\",\"actor\":\"subject\"}",
		CR_ERR_CONSENT_EVENT_FIELD, "expires: must be after time");
	refused(e, "{\"type\":\"object\",\"subject\":\"a@b.cn\",\"time\":\"2026-03-01T00:00:00Z\","
		   "\"received\":\"yesterday\"}",
		CR_ERR_CONSENT_EVENT_FIELD, "received: must be an RFC 3339 time with an offset");
}

static void test_types_and_values_refused(void **state)
{
	struct efx *e = *state;

	refused(e, "{\"subject\":\"a@b.cn\",\"time\":\"2026-03-01T00:00:00Z\"}",
		CR_ERR_CONSENT_EVENT_FIELD, "type: missing");
	refused(e, "{\"type\":\"expire\",\"subject\":\"a@b.cn\",\"time\":\"2026-03-01T00:00:00Z\"}",
		CR_ERR_CONSENT_EVENT_TYPE, NULL);
	refused(e, "{\"type\":7,\"subject\":\"a@b.cn\",\"time\":\"2026-03-01T00:00:00Z\"}",
		CR_ERR_CONSENT_EVENT_TYPE, NULL);
	refused(e, "{\"type\":\"served\",\"subject\":\"a@b.cn\",\"notice_version\":\"2\",\"time\":"
		   "\"2026-03-01T00:00:00Z\",\"channel\":\"web\"}",
		CR_ERR_CONSENT_EVENT_FIELD, "notice_version: must be an integer from 1 to 2147483647");
	refused(e, "{\"type\":\"served\",\"subject\":\"a@b.cn\",\"notice_version\":0,\"time\":"
		   "\"2026-03-01T00:00:00Z\",\"channel\":\"web\"}",
		CR_ERR_CONSENT_EVENT_FIELD, NULL);
	refused(e, "{\"type\":\"served\",\"subject\":\"a@b.cn\",\"notice_version\":1.0,\"time\":"
		   "\"2026-03-01T00:00:00Z\",\"channel\":\"web\"}",
		CR_ERR_CONSENT_EVENT_FIELD, NULL);
	refused(e, "{\"type\":\"served\",\"subject\":\"a@b.cn\",\"notice_version\":1,\"time\":"
		   "\"2026-03-01T00:00:00Z\"}",
		CR_ERR_CONSENT_EVENT_FIELD, "channel: missing (required for served)");
	refused(e, "{\"type\":\"grant\",\"subject\":\"a@b.cn\",\"purpose\":\"p\",\"notice_version\":1,"
		   "\"time\":\"2026-03-01T00:00:00Z\",\"method\":\"checkbox\",\"channel\":\"web\","
		   "\"actor\":\"robot\"}",
		CR_ERR_CONSENT_EVENT_FIELD, "actor: must be subject, guardian, brand or authority");
	refused(e, "{\"type\":\"grant\",\"subject\":\"a@b.cn\",\"purpose\":\"p\",\"notice_version\":1,"
		   "\"time\":\"2026-03-01T00:00:00Z\",\"method\":\"checkbox\",\"channel\":\"web\","
		   "\"actor\":\"subject\",\"birth_year\":1899}",
		CR_ERR_CONSENT_EVENT_FIELD, NULL);
	refused(e, "{\"type\":\"grant\",\"subject\":\"a@b.cn\",\"purpose\":\"p\",\"notice_version\":1,"
		   "\"time\":\"2026-03-01T00:00:00Z\",\"method\":\"checkbox\",\"channel\":\"web\","
		   "\"actor\":\"guardian\"}",
		CR_ERR_CONSENT_EVENT_FIELD, "guardian_ref: missing (required when actor is guardian)");
	refused(e, "{\"type\":\"served\",\"subject\":\"a@b.cn\",\"notice_version\":1,\"time\":"
		   "\"2026-03-01T00:00:00Z\",\"channel\":\"\"}",
		CR_ERR_CONSENT_EVENT_FIELD, "channel: must be 1-64 bytes");
}

/* ------------------------------------------------------------- subjects */

static void test_subject_refusals_never_echo_the_value(void **state)
{
	struct efx *e = *state;
	struct consent_event ev;
	char why[CONSENT_WHY_MAX];

	assert_int_equal(parse(e, "{\"type\":\"object\",\"subject\":\"bob@@example.com\",\"time\":"
				  "\"2026-03-01T00:00:00Z\"}", &ev, why),
			 CR_ERR_ID_EMAIL_MALFORMED);
	assert_string_equal(why, "subject: email is malformed");
	assert_int_equal(parse(e, "{\"type\":\"object\",\"subject\":\"   \",\"time\":"
				  "\"2026-03-01T00:00:00Z\"}", &ev, why),
			 CR_ERR_ID_EMPTY);
	assert_int_equal(parse(e, "{\"type\":\"object\",\"subject\":\"138 0013 8000\",\"time\":"
				  "\"2026-03-01T00:00:00Z\"}", &ev, why),
			 CR_ERR_ID_PHONE_NO_COUNTRY);
	assert_null(strstr(why, "138"));
	refused(e, "{\"type\":\"object\",\"time\":\"2026-03-01T00:00:00Z\"}",
		CR_ERR_CONSENT_EVENT_FIELD, "subject: missing");
	/* docs/spec/formats.md: a digest needs id_type */
	refused(e, "{\"type\":\"object\",\"subject\":\"7dcd3a39ad3a8d2145645ec612ed4f6fa3f297b47bdcf7"
		   "e0aeb76040f5e24e89\",\"time\":\"2026-03-01T00:00:00Z\"}",
		CR_ERR_CONSENT_EVENT_FIELD, "id_type: missing (required when subject is a digest)");
	refused(e, "{\"type\":\"object\",\"subject\":\"a@b.cn\",\"id_type\":\"fax\",\"time\":"
		   "\"2026-03-01T00:00:00Z\"}",
		CR_ERR_CONSENT_EVENT_FIELD, "id_type: must be \"email\" or \"phone\"");
}

static struct crypto_pseudonym subject_of(struct efx *e, const char *line)
{
	struct consent_event ev;
	parse_ok(e, line, &ev);
	return ev.subject;
}

static void test_edge11_variants_of_one_identifier_give_one_pseudonym(void **state)
{
	struct efx *e = *state;
	static const char *emails[] = {
		"{\"type\":\"object\",\"subject\":\"  Alice.Smith@Example.COM \",\"time\":\"2026-03-01T00:00:00Z\"}",
		"{\"type\":\"object\",\"subject\":\"alice.smith@example.com\",\"time\":\"2026-03-01T00:00:00Z\"}",
		"{\"type\":\"object\",\"subject\":\"alice.smith@example.com\",\"id_type\":\"email\",\"time\":\"2026-03-01T00:00:00Z\"}",
		"{\"type\":\"object\",\"subject\":\"7DCD3A39AD3A8D2145645EC612ED4F6FA3F297B47BDCF7E0AEB76040F5E24E89\",\"id_type\":\"email\",\"time\":\"2026-03-01T00:00:00Z\"}",
	};
	static const char *phones[] = {
		"{\"type\":\"object\",\"subject\":\"+86 138 0013 8000\",\"time\":\"2026-03-01T00:00:00Z\"}",
		"{\"type\":\"object\",\"subject\":\"+86-138-0013-8000\",\"time\":\"2026-03-01T00:00:00Z\"}",
		"{\"type\":\"object\",\"subject\":\"+8613800138000\",\"id_type\":\"phone\",\"time\":\"2026-03-01T00:00:00Z\"}",
		"{\"type\":\"object\",\"subject\":\"ec61f3c620a98bdead8c1f1f0ae747abd1b62a0c2dba4fd4bc22cf0d1d8653e5\",\"id_type\":\"phone\",\"time\":\"2026-03-01T00:00:00Z\"}",
	};
	struct crypto_pseudonym a = subject_of(e, emails[0]), b = subject_of(e, phones[0]);

	for (size_t i = 1; i < 4; i++) {
		struct crypto_pseudonym x = subject_of(e, emails[i]), y = subject_of(e, phones[i]);
		assert_bytes_equal(x.bytes, a.bytes, 32);
		assert_bytes_equal(y.bytes, b.bytes, 32);
	}
	assert_true(memcmp(a.bytes, b.bytes, 32) != 0);
}

static void test_r30_pseudonym_is_a_keyed_hmac_never_a_plain_digest(void **state)
{
	struct efx *e = *state;
	struct crypto_pseudonym p = subject_of(e, "{\"type\":\"object\",\"subject\":"
						  "\"alice.smith@example.com\",\"time\":"
						  "\"2026-03-01T00:00:00Z\"}");
	struct crypto_pseudonym want;
	uint8_t digest[32];

	assert_int_equal(cr_hex_decode_exact("7dcd3a39ad3a8d2145645ec612ed4f6fa3f297b47bdcf7e0aeb760"
					     "40f5e24e89", 64, digest, 32),
			 CR_OK);
	assert_true(memcmp(p.bytes, digest, 32) != 0);
	assert_int_equal(crypto_pseudonym(e->f->kr, (uint64_t)e->f->brand, 1, CRYPTO_ID_EMAIL,
					  digest, &want),
			 CR_OK);
	assert_bytes_equal(p.bytes, want.bytes, 32);
	assert_int_equal(p.key_version, 1);
}

static void test_r32_two_brands_pseudonyms_cannot_be_linked(void **state)
{
	struct efx *e = *state;
	struct consent_importer *other = NULL;
	struct crypto_pseudonym a, b;
	int64_t brand2;

	assert_int_equal(consent_brand_create(e->f->ctx, "brand-two", 0, &brand2), CR_OK);
	assert_int_equal(consent_importer_new(e->f->ctx, e->f->kr, brand2, NULL, &other), CR_OK);
	assert_int_equal(consent_importer_subject(e->imp, "alice@example.com", 17, NULL, &a, NULL,
						  NULL),
			 CR_OK);
	assert_int_equal(consent_importer_subject(other, "alice@example.com", 17, NULL, &b, NULL,
						  NULL),
			 CR_OK);
	assert_true(memcmp(a.bytes, b.bytes, 32) != 0);
	consent_importer_free(other);
	assert_int_equal(consent_importer_new(e->f->ctx, e->f->kr, 4242, NULL, &other),
			 CR_ERR_CONSENT_BRAND_NOT_FOUND);
}

static void test_r33_pseudonyms_carry_their_key_version(void **state)
{
	struct efx *e = *state;
	struct consent_importer *imp3 = NULL;
	struct consent_event ev;
	uint8_t digest[32];
	char why[CONSENT_WHY_MAX];

	assert_int_equal(sqlite3_exec(e->f->db, "UPDATE brands SET key_version = 3", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	assert_int_equal(consent_importer_new(e->f->ctx, e->f->kr, e->f->brand, NULL, &imp3), CR_OK);
	const char *line = "{\"type\":\"withdraw\",\"subject\":\"zhang.wei@qq.com\",\"time\":"
			   "\"2026-03-01T00:00:00Z\"}";
	assert_int_equal(consent_event_parse(imp3, line, strlen(line), NOW, &ev, why, sizeof(why)),
			 CR_OK);
	assert_int_equal(ev.subject.key_version, 3);
	assert_int_equal(ev.n_aliases, 2);
	assert_int_equal(cr_hex_decode_exact("7bbb3a9611203b8228558f02fe00a3f6c608e05b6988e3f3b51b30"
					     "dcda4d8e6d", 64, digest, 32),
			 CR_OK);
	for (uint32_t v = 1; v <= 3; v++) {
		struct crypto_pseudonym want;
		const struct crypto_pseudonym *got = v == 3 ? &ev.subject : &ev.aliases[v - 1];
		assert_int_equal(crypto_pseudonym(e->f->kr, (uint64_t)e->f->brand, v, CRYPTO_ID_EMAIL,
						  digest, &want),
				 CR_OK);
		assert_int_equal(got->key_version, v);
		assert_bytes_equal(got->bytes, want.bytes, 32);
	}
	consent_importer_free(imp3);
}

/* R17: a withdrawal is never refused for its form, only for naming no subject. */
static void test_r17_withdrawal_never_refused_for_its_form(void **state)
{
	struct efx *e = *state;
	struct consent_event ev, one;

	/* fields a withdrawal does not take, unknown ones and bad values: ignored */
	parse_ok(e, "{\"type\":\"withdraw\",\"subject\":\"a@example.com\",\"notice_version\":3,"
		    "\"jurisdiction\":\"CN\",\"birth_year\":1990,\"expires\":\"2027-01-01T00:00:00Z\","
		    "\"colour\":\"red\",\"actor\":\"nobody\",\"channel\":\"\\u0001\",\"guardian_ref\":\"g\","
		    "\"time\":\"2026-06-01T12:00:00Z\"}", &ev);
	assert_int_equal(ev.type, CONSENT_EV_WITHDRAW);
	assert_int_equal(ev.notice_version, 0);
	assert_string_equal(ev.jurisdiction, "");
	assert_int_equal(ev.birth_year, 0);
	assert_int_equal(ev.expires, CONSENT_TIME_NONE);
	assert_string_equal(ev.channel, "");
	assert_string_equal(ev.guardian_ref, "");
	assert_string_equal(ev.purpose, "");
	assert_int_equal(consent_event_scopes(&ev), 1);
	/* no time: its receipt time */
	parse_ok(e, "{\"type\":\"withdraw\",\"subject\":\"a@example.com\",\"time\":\"yesterday\"}", &ev);
	assert_int_equal(ev.time, NOW);
	parse_ok(e, "{\"type\":\"withdraw\",\"subject\":\"a@example.com\"}", &ev);
	assert_int_equal(ev.time, NOW);
	/* a code in any case, with blanks */
	parse_ok(e, "{\"type\":\"withdraw\",\"subject\":\"a@example.com\",\"purpose\":\" Ads_Measurement \"}", &ev);
	assert_string_equal(ev.purpose, "ads_measurement");
	assert_int_equal(consent_event_scopes(&ev), 1);
	/* several purposes (a list or a string): several withdrawals, never "bundled" */
	parse_ok(e, "{\"type\":\"withdraw\",\"subject\":\"a@example.com\","
		    "\"purpose\":[\"ads_measurement\",\"AUDIENCE_INSIGHTS\"]}", &ev);
	assert_int_equal(consent_event_scopes(&ev), 2);
	consent_event_scope(&ev, 1, &one);
	assert_string_equal(one.purpose, "audience_insights");
	assert_int_equal(consent_event_scopes(&one), 1);
	parse_ok(e, "{\"type\":\"withdraw\",\"subject\":\"a@example.com\",\"purpose\":\"audience_insights\","
		    "\"recipient\":\"partner-1; partner-2\"}", &ev);
	assert_int_equal(consent_event_scopes(&ev), 2);
	consent_event_scope(&ev, 1, &one);
	assert_string_equal(one.purpose, "audience_insights");
	assert_string_equal(one.recipient, "partner-2");
	/* what cannot be read widens, never narrows: a recipient to its purpose, a purpose to everything */
	parse_ok(e, "{\"type\":\"withdraw\",\"subject\":\"a@example.com\",\"purpose\":\"audience_insights\","
		    "\"recipient\":\"partner/1\"}", &ev);
	assert_string_equal(ev.purpose, "audience_insights");
	assert_string_equal(ev.recipient, "");
	parse_ok(e, "{\"type\":\"withdraw\",\"subject\":\"a@example.com\",\"purpose\":\"ads/measurement\","
		    "\"recipient\":\"partner-1\"}", &ev);
	assert_string_equal(ev.purpose, "");
	assert_string_equal(ev.recipient, "");
	parse_ok(e, "{\"type\":\"withdraw\",\"subject\":\"a@example.com\",\"purpose\":\"p1 p2 p3 p4 p5 p6 p7 p8 p9\"}",
		 &ev);
	assert_string_equal(ev.purpose, "");
	assert_int_equal(consent_event_scopes(&ev), 1);
	/* the one thing it needs */
	refused(e, "{\"type\":\"withdraw\",\"purpose\":\"ads_measurement\"}", CR_ERR_CONSENT_EVENT_FIELD,
		"subject: missing");
	/* grants stay strict (R09) */
	refused(e, "{\"type\":\"grant\",\"subject\":\"a@example.com\",\"purpose\":\"a,b\",\"notice_version\":1,"
		   "\"time\":\"2026-06-01T12:00:00Z\",\"method\":\"checkbox\",\"channel\":\"web\",\"actor\":\"subject\"}",
		CR_ERR_CONSENT_BUNDLED, NULL);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_formats_md_examples_parse),
		TEST(test_edge5_times_with_offsets_become_utc_integers),
		TEST(test_unknown_fields_refused),
		TEST(test_truncated_and_garbage_json_refused),
		TEST(test_oversized_line_refused),
		TEST(test_r08_pre_ticked_method_refused),
		TEST(test_r09_bundled_request_refused),
		TEST(test_r17_withdrawal_never_refused_for_its_form),
		TEST(test_bad_times_refused),
		TEST(test_types_and_values_refused),
		TEST(test_subject_refusals_never_echo_the_value),
		TEST(test_edge11_variants_of_one_identifier_give_one_pseudonym),
		TEST(test_r30_pseudonym_is_a_keyed_hmac_never_a_plain_digest),
		TEST(test_r32_two_brands_pseudonyms_cannot_be_linked),
		TEST(test_r33_pseudonyms_carry_their_key_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
