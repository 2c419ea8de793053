/* Unit tests for cleanroom/api_web_withdraw.c, the consent center's form for
 * a person without a link, against a membership probe (I9): whoever holds
 * every reply for 20 customers and 20 strangers cannot tell the two groups
 * apart (status, body with its variable fields masked, the receipt, the
 * audit leaf its proof quotes, timing), while the customers' records are
 * purged and the purge is counted where only the brand reads it. Subjects
 * are made-up example.com addresses (registry_fixture.h). */
#include <regex.h>

#include "registry_fixture.h"
#include "cleanroom/http.h"

#define GROUP 20

static int setup(void **state)
{
	*state = rfx_new();
	return 0;
}

static int teardown(void **state)
{
	rfx_free(*state);
	return 0;
}

/* POST /web/v1/withdraw for `email`, as the page sends it (the digest only). */
static cr_err form_post(struct rfx *f, const char *email, unsigned *status, char **body, int64_t *ms)
{
	char digest_hex[65], req_body[192];
	uint8_t digest[32];
	struct http_request req = { .app = f->a, .content_type = "application/json" };
	struct http_reply rep = { 0 };
	int64_t t0;
	cr_err rc;
	assert_int_equal(crypto_id_digest(CRYPTO_ID_EMAIL, email, strlen(email), NULL, digest), CR_OK);
	sodium_bin2hex(digest_hex, sizeof(digest_hex), digest, sizeof(digest));
	snprintf(req_body, sizeof(req_body), "{\"brand\":\"acme\",\"id_type\":\"email\",\"digest\":\"%s\"}",
		 digest_hex);
	req.body = (const uint8_t *)req_body;
	req.body_len = strlen(req_body);
	t0 = cr_monotonic_ms();
	rc = api_web_withdraw(&req, &rep);
	*ms = cr_monotonic_ms() - t0;
	*body = NULL;
	if (rc == CR_OK) {
		*status = rep.status;
		*body = strndup((const char *)rep.body, rep.len);
		assert_non_null(*body);
	}
	http_secure_free(rep.body);
	return rc;
}

/* Replaces every match of `pattern` in *s by `token` (s reallocated). */
static void mask(char **s, const char *pattern, const char *token)
{
	regex_t re;
	regmatch_t m;
	size_t cap = strlen(*s) + 1, used = 0;
	char *out = malloc(cap), *p = *s;
	assert_non_null(out);
	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED), 0);
	while (regexec(&re, p, 1, &m, 0) == 0 && m.rm_eo > m.rm_so) {
		size_t need = used + (size_t)m.rm_so + strlen(token) + 1;
		if (need > cap) {
			cap = need + strlen(p);
			out = realloc(out, cap);
			assert_non_null(out);
		}
		memcpy(out + used, p, (size_t)m.rm_so);
		used += (size_t)m.rm_so;
		memcpy(out + used, token, strlen(token));
		used += strlen(token);
		p += m.rm_eo;
	}
	if (used + strlen(p) + 1 > cap) {
		out = realloc(out, used + strlen(p) + 1);
		assert_non_null(out);
	}
	memcpy(out + used, p, strlen(p) + 1);
	regfree(&re);
	free(*s);
	*s = out;
}

/*
 * What differs between any two replies whoever the person is: signatures,
 * hashes and the quoted leaf (base64 runs), the proof's hash lines (their
 * number follows the log's size), and every number (ids, indexes, times).
 */
static void mask_variable(char **body)
{
	mask(body, "([A-Za-z0-9+/]{43}=\\\\n)+", "H\\n");
	mask(body, "[A-Za-z0-9+/=]{40,}", "B");
	mask(body, "[0-9]+", "0");
}

/*
 * The audit leaf the reply's receipt quotes (its proof's extra line): the
 * withdrawal's own, with the subject only as a salted commitment and a
 * detail of one fixed form that says nothing of what the brand held.
 */
static void assert_quoted_leaf_says_nothing(const char *body)
{
	json_t *doc = json_loads(body, 0, NULL);
	json_t *proof = json_object_get(json_object_get(doc, "receipt"), "audit_proof");
	struct audit_tlog_proof *p = NULL;
	struct audit_leaf *leaf = NULL;
	regex_t re;
	assert_true(json_is_string(proof));
	assert_int_equal(audit_tlog_proof_parse(json_string_value(proof), json_string_length(proof), &p), CR_OK);
	assert_non_null(p->extra);
	assert_int_equal(audit_leaf_decode(p->extra, p->extra_len, &leaf), CR_OK);
	assert_string_equal(leaf->event_type, "consent.withdraw");
	assert_true(leaf->has_subject);
	assert_int_equal(regcomp(&re, "^suppressed=1$", REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&re, leaf->detail, 0, NULL, 0) != 0)
		fail_msg("the quoted leaf says \"%s\"", leaf->detail);
	regfree(&re);
	audit_leaf_free(leaf);
	audit_tlog_proof_free(p);
	json_decref(doc);
}

static int64_t median(int64_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			int64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/*
 * I9: an observer who holds the replies to 20 customers' and 20 strangers'
 * withdrawals, sent in turn, cannot tell who is a customer: every reply is
 * 202 with one masked body, names no pseudonym and no purge count, and both
 * groups take the same (padded) time. The customers' records are gone all
 * the same, and the brand's consent.purge leaves count them.
 */
/* R24: the form's withdrawal records its actor, channel and method. */
static void test_r24_form_withdrawal_records_its_source(void **state)
{
	struct rfx *f = *state;
	char db[96], *body = NULL;
	unsigned status = 0;
	int64_t ms;
	rfx_grant_all(f, f->acme, "r24.form@example.org", f->t0 - 2 * RFX_HOUR, 0);
	assert_int_equal(form_post(f, "r24.form@example.org", &status, &body, &ms), CR_OK);
	assert_int_equal(status, 202);
	free(body);
	snprintf(db, sizeof(db), "%s/data/cleanroom.db", f->dir);
	assert_int_equal(test_db_count(db, "SELECT count(*) FROM consent_events WHERE type = 'withdraw' AND "
					   "actor = 'subject' AND channel = 'web' AND method = 'web_form'"), 1);
	assert_int_equal(test_db_count(db, "SELECT count(*) FROM consent_events WHERE actor IS NULL OR "
					   "channel IS NULL OR method IS NULL"), 0);
}

static void test_i9_form_replies_do_not_tell_customers_from_strangers(void **state)
{
	struct rfx *f = *state;
	struct dataset d;
	struct ingest_report rep;
	struct audit_page page;
	char email[64], *csv, *first = NULL, *body;
	int64_t ms[2][GROUP];
	size_t len = 0;
	unsigned purged = 0;
	FILE *m = open_memstream(&csv, &len);

	assert_non_null(m);
	fprintf(m, "email,segment\n");
	for (int i = 0; i < GROUP; i++) {
		snprintf(email, sizeof(email), "customer%02d@example.com", i);
		rfx_grant_all(f, f->acme, email, f->t0 - 2 * RFX_HOUR, 0);
		fprintf(m, "%s,a\n", email);
	}
	fclose(m);
	rfx_dataset(f, f->acme, "acme", "crm", "ads_measurement,audience_insights", "partner-1", &d);
	rfx_ingest(f, "acme", &d, csv, &rep);
	free(csv);
	assert_int_equal(rfx_count(f, &d), GROUP);

	for (int i = 0; i < 2 * GROUP; i++) {
		int customer = i % 2 == 0;
		unsigned status = 0;
		snprintf(email, sizeof(email), customer ? "customer%02d@example.com" : "stranger%02d@example.com",
			 i / 2);
		assert_int_equal(form_post(f, email, &status, &body, &ms[customer][i / 2]), CR_OK);
		assert_int_equal(status, 202);
		assert_null(strstr(body, "purged"));
		assert_non_null(strstr(body, "\"pseudonym\":null"));
		assert_quoted_leaf_says_nothing(body);
		mask_variable(&body);
		if (first == NULL)
			first = body;
		else if (strcmp(first, body) != 0)
			fail_msg("reply %d (%s) differs from the first:\n%s\n%s", i,
				 customer ? "customer" : "stranger", first, body);
		if (body != first)
			free(body);
	}
	free(first);
	/* the same padded time: at least the floor, and no gap between the groups */
	for (int g = 0; g < 2; g++)
		for (int i = 0; i < GROUP; i++)
			assert_true(ms[g][i] >= 250);
	if (llabs(median(ms[0], GROUP) - median(ms[1], GROUP)) > 50)
		fail_msg("median reply time: customers %lld ms, strangers %lld ms",
			 (long long)median(ms[1], GROUP), (long long)median(ms[0], GROUP));
	/* the withdrawals took effect, and only the brand's purge leaves say how much */
	assert_int_equal(rfx_count(f, &d), 0);
	rfx_leaves(f, "acme", "consent.purge", &page);
	assert_int_equal(page.n, 2 * GROUP);
	for (size_t i = 0; i < page.n; i++) {
		const char *at = strstr(page.records[i].leaf->detail, "purged_records=");
		assert_non_null(at);
		purged += (unsigned)strtoul(at + strlen("purged_records="), NULL, 10);
	}
	audit_page_release(&page);
	assert_int_equal(purged, GROUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_r24_form_withdrawal_records_its_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_i9_form_replies_do_not_tell_customers_from_strangers, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
