/* Unit tests for consent/receipt.c (R27): receipts for grants and
 * withdrawals, signed over the documented bytes, verified with only the
 * public key; tampered, re-keyed, malformed and truncated receipts refused
 * with the exact error. */
#include <sodium.h>

#include "consent_fixture.h"

struct rfx {
	struct fx *f;
	struct consent_signer signer;
	int64_t grant, withdraw, served;
	struct crypto_pseudonym p;
};

static int setup(void **state)
{
	struct rfx *r = calloc(1, sizeof(*r));
	cr_time_ms t = T("2026-03-01T09:00:00+08:00");
	struct consent_event g;

	r->f = fx_new();
	fx_keys(r->f);
	consent_signer_from_keyring(r->f->kr, &r->signer);
	r->p = P(7, 1);
	r->served = fx_rec(r->f, ev_served(r->p, 1, t));
	g = ev_grant(r->p, "audience_insights", "partner-1", 1, t + 1000);
	g.expires = T("2027-03-01T00:00:00Z");
	snprintf(g.jurisdiction, sizeof(g.jurisdiction), "CN");
	r->grant = fx_rec(r->f, g);
	r->withdraw = fx_rec(r->f, ev_withdraw(r->p, NULL, NULL, T("2026-06-01T12:00:00Z")));
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct rfx *r = *state;
	fx_free(r->f);
	free(r);
	return 0;
}

static char *make_flags(struct rfx *r, int64_t event, uint64_t index, unsigned flags)
{
	char *json = NULL;
	assert_int_equal(consent_receipt_create(r->f->ctx, r->f->brand, event, index,
						T("2026-06-01T12:00:01Z"), flags, &r->signer, &json),
			 CR_OK);
	return json;
}

static char *make(struct rfx *r, int64_t event, uint64_t index)
{
	return make_flags(r, event, index, 0);
}

static cr_err verify(struct rfx *r, const char *json, struct consent_receipt_info *info)
{
	return consent_receipt_verify(json, strlen(json), r->signer.public_key, info);
}

static void test_r27_grant_receipt_verifies_with_the_public_key(void **state)
{
	struct rfx *r = *state;
	struct consent_receipt_info info;
	char *json = make(r, r->grant, 17);
	char hex[65];

	assert_int_equal(verify(r, json, &info), CR_OK);
	assert_int_equal(info.brand, r->f->brand);
	assert_int_equal(info.event_id, r->grant);
	assert_int_equal(info.type, CONSENT_EV_GRANT);
	assert_int_equal(info.audit_index, 17);
	assert_bytes_equal(info.pseudonym, r->p.bytes, 32);
	assert_int_equal(info.key_version, 1);
	assert_string_equal(info.purpose, "audience_insights");
	assert_string_equal(info.recipient, "partner-1");
	assert_int_equal(info.notice_version, 1);
	assert_int_equal(info.time, T("2026-03-01T01:00:01Z"));
	assert_int_equal(info.issued, T("2026-06-01T12:00:01Z"));
	/* only the pseudonym identifies the subject */
	assert_int_equal(cr_hex_encode(r->p.bytes, 32, hex, sizeof(hex)), CR_OK);
	assert_non_null(strstr(json, hex));
	assert_non_null(strstr(json, "\"audit_index\": 17"));
	assert_non_null(strstr(json, "\"expires\": \"2027-03-01T00:00:00.000Z\""));
	free(json);
}

static void test_r27_withdrawal_receipt_covers_all_purposes(void **state)
{
	struct rfx *r = *state;
	struct consent_receipt_info info;
	char *json = make(r, r->withdraw, 18);

	assert_int_equal(verify(r, json, &info), CR_OK);
	assert_int_equal(info.type, CONSENT_EV_WITHDRAW);
	assert_string_equal(info.purpose, "*");
	assert_string_equal(info.recipient, "");
	assert_int_equal(info.notice_version, 1); /* current when received */
	assert_int_equal(info.received, T("2026-06-01T12:00:00Z"));
	free(json);
}

static void test_r27_signed_bytes_are_the_domain_and_canonical_payload(void **state)
{
	struct rfx *r = *state;
	char *json = make(r, r->grant, 3), *canon, *compact;
	json_t *doc = json_loads(json, 0, NULL);
	uint8_t sig[64];
	size_t siglen = 0, dl = strlen("cleanroom consent receipt v1\n");
	const char *b64 = json_string_value(json_object_get(json_object_get(doc, "signature"),
							   "value"));
	uint8_t *msg;

	assert_int_equal(cr_base64_decode(b64, strlen(b64), sig, sizeof(sig), &siglen), CR_OK);
	canon = json_dumps(json_object_get(doc, "payload"), JSON_COMPACT | JSON_SORT_KEYS);
	msg = malloc(dl + strlen(canon));
	memcpy(msg, "cleanroom consent receipt v1\n", dl);
	memcpy(msg + dl, canon, strlen(canon));
	assert_int_equal(crypto_sign_verify_detached(sig, msg, dl + strlen(canon),
						     r->signer.public_key),
			 0);
	/* re-formatting the file does not matter, the content does */
	compact = json_dumps(doc, JSON_COMPACT);
	assert_int_equal(verify(r, compact, NULL), CR_OK);
	/* an inclusion proof may be attached afterwards, unsigned */
	json_object_set_new(doc, "audit_proof", json_string("c2lnbmVkIG5vdGUK"));
	free(compact);
	compact = json_dumps(doc, 0);
	assert_int_equal(verify(r, compact, NULL), CR_OK);
	free(compact);
	free(msg);
	free(canon);
	free(json);
	json_decref(doc);
}

/* Edits the parsed receipt with fn and returns the verification result. */
static cr_err verify_edited(struct rfx *r, void (*fn)(json_t *))
{
	char *json = make(r, r->grant, 17), *edited;
	json_t *doc = json_loads(json, 0, NULL);
	cr_err rc;

	fn(doc);
	edited = json_dumps(doc, JSON_INDENT(2));
	rc = verify(r, edited, NULL);
	free(edited);
	free(json);
	json_decref(doc);
	return rc;
}

static void edit_purpose(json_t *d)
{
	json_object_set_new(json_object_get(d, "payload"), "purposes", json_pack("[s]", "ads_measurement"));
}
static void edit_index(json_t *d)
{
	json_object_set_new(json_object_get(d, "payload"), "audit_index", json_integer(18));
}
static void edit_time(json_t *d)
{
	json_object_set_new(json_object_get(json_object_get(d, "payload"), "event"), "time",
			    json_string("2026-03-01T01:00:02.000Z"));
}
static void edit_drop_recipient(json_t *d)
{
	json_object_del(json_object_get(d, "payload"), "recipient");
}
static void edit_sig(json_t *d)
{
	json_t *s = json_object_get(d, "signature");
	char b[128];
	snprintf(b, sizeof(b), "%s", json_string_value(json_object_get(s, "value")));
	b[5] = b[5] == 'A' ? 'B' : 'A';
	json_object_set_new(s, "value", json_string(b));
}
static void edit_extra_member(json_t *d)
{
	json_object_set_new(d, "note", json_string("hi"));
}
static void edit_real(json_t *d)
{
	json_object_set_new(json_object_get(d, "payload"), "audit_index", json_real(17.0));
}
static void edit_alg(json_t *d)
{
	json_object_set_new(json_object_get(d, "signature"), "alg", json_string("rsa"));
}
static void edit_no_sig(json_t *d)
{
	json_object_del(d, "signature");
}

/*
 * I9, R27: a receipt for someone who has not shown they are the person (the
 * anonymous form) names no pseudonym; it still verifies, says so, and
 * cannot be made to name one without breaking the signature.
 */
static void test_r27_receipt_with_the_subject_withheld(void **state)
{
	struct rfx *r = *state;
	struct consent_receipt_info info;
	char *json = make_flags(r, r->grant, 17, CONSENT_RECEIPT_WITHHOLD_SUBJECT);
	char hex[65], *forged;
	const uint8_t zero[32] = { 0 };
	const char *at;

	assert_int_equal(cr_hex_encode(r->p.bytes, 32, hex, sizeof(hex)), CR_OK);
	assert_null(strstr(json, hex));
	assert_non_null(strstr(json, "\"pseudonym\": null"));
	assert_int_equal(verify(r, json, &info), CR_OK);
	assert_true(info.subject_withheld);
	assert_bytes_equal(info.pseudonym, zero, 32);
	assert_int_equal(info.event_id, r->grant);
	assert_int_equal(info.audit_index, 17);
	/* naming the pseudonym afterwards breaks the signature */
	at = strstr(json, "\"pseudonym\": null");
	forged = malloc(strlen(json) + 80);
	assert_non_null(forged);
	snprintf(forged, strlen(json) + 80, "%.*s\"pseudonym\": \"%s\"%s", (int)(at - json), json, hex,
		 at + strlen("\"pseudonym\": null"));
	assert_int_equal(verify(r, forged, NULL), CR_ERR_CONSENT_RECEIPT_SIGNATURE);
	free(forged);
	free(json);
	/* the default names it */
	json = make(r, r->grant, 17);
	assert_int_equal(verify(r, json, &info), CR_OK);
	assert_false(info.subject_withheld);
	free(json);
}

static void test_r27_tampered_receipt_refused(void **state)
{
	struct rfx *r = *state;

	assert_int_equal(verify_edited(r, edit_purpose), CR_ERR_CONSENT_RECEIPT_SIGNATURE);
	assert_int_equal(verify_edited(r, edit_index), CR_ERR_CONSENT_RECEIPT_SIGNATURE);
	assert_int_equal(verify_edited(r, edit_time), CR_ERR_CONSENT_RECEIPT_SIGNATURE);
	assert_int_equal(verify_edited(r, edit_drop_recipient), CR_ERR_CONSENT_RECEIPT_SIGNATURE);
	assert_int_equal(verify_edited(r, edit_sig), CR_ERR_CONSENT_RECEIPT_SIGNATURE);
}

static void test_r27_receipt_of_another_key_refused(void **state)
{
	struct rfx *r = *state;
	char *json = make(r, r->grant, 17);
	uint8_t other[32], sk[64];

	crypto_sign_keypair(other, sk);
	assert_int_equal(consent_receipt_verify(json, strlen(json), other, NULL),
			 CR_ERR_CONSENT_RECEIPT_KEY);
	free(json);
}

static void test_r27_malformed_and_truncated_receipts_refused(void **state)
{
	struct rfx *r = *state;
	char *json = make(r, r->grant, 17);
	struct consent_receipt_info info;

	info.event_id = 99;
	assert_int_equal(consent_receipt_verify(json, strlen(json) / 2, r->signer.public_key, &info),
			 CR_ERR_CONSENT_RECEIPT_MALFORMED);
	assert_int_equal(info.event_id, 99);
	assert_int_equal(verify(r, "garbage", NULL), CR_ERR_CONSENT_RECEIPT_MALFORMED);
	assert_int_equal(verify(r, "[]", NULL), CR_ERR_CONSENT_RECEIPT_MALFORMED);
	assert_int_equal(verify(r, "{}", NULL), CR_ERR_CONSENT_RECEIPT_MALFORMED);
	assert_int_equal(verify_edited(r, edit_extra_member), CR_ERR_CONSENT_RECEIPT_MALFORMED);
	assert_int_equal(verify_edited(r, edit_real), CR_ERR_CONSENT_RECEIPT_MALFORMED);
	assert_int_equal(verify_edited(r, edit_alg), CR_ERR_CONSENT_RECEIPT_MALFORMED);
	assert_int_equal(verify_edited(r, edit_no_sig), CR_ERR_CONSENT_RECEIPT_MALFORMED);
	free(json);
}

static void test_r27_only_consent_acts_get_receipts(void **state)
{
	struct rfx *r = *state;
	char *json = NULL;
	int64_t other;

	assert_int_equal(consent_receipt_create(r->f->ctx, r->f->brand, r->served, 1, 0, 0, &r->signer,
						&json),
			 CR_ERR_CONSENT_RECEIPT_EVENT);
	assert_int_equal(consent_receipt_create(r->f->ctx, r->f->brand, 9999, 1, 0, 0, &r->signer,
						&json),
			 CR_ERR_CONSENT_EVENT_NOT_FOUND);
	/* another brand's event is not found */
	assert_int_equal(consent_brand_create(r->f->ctx, "other", 0, &other), CR_OK);
	assert_int_equal(consent_receipt_create(r->f->ctx, other, r->grant, 1, 0, 0, &r->signer, &json),
			 CR_ERR_CONSENT_EVENT_NOT_FOUND);
	assert_null(json);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_r27_grant_receipt_verifies_with_the_public_key),
		TEST(test_r27_withdrawal_receipt_covers_all_purposes),
		TEST(test_r27_signed_bytes_are_the_domain_and_canonical_payload),
		TEST(test_r27_receipt_with_the_subject_withheld),
		TEST(test_r27_tampered_receipt_refused),
		TEST(test_r27_receipt_of_another_key_refused),
		TEST(test_r27_malformed_and_truncated_receipts_refused),
		TEST(test_r27_only_consent_acts_get_receipts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
