/* Unit tests for cleanroom/api_partner_withdraw.c (R23): a partner passes on
 * a withdrawal it received for the brand it collaborates with, by digest,
 * through its own token. It is honoured like any other (purge, suppression,
 * audit, its source recorded), only the collaboration's partner may send it,
 * and the answer does not tell the partner who is the brand's customer.
 * Subjects are synthetic (match_fixture.h: cleanroom synth). */
#include "match_fixture.h"
#include "cleanroom/http.h"

static int setup(void **state)
{
	struct mfx *f = calloc(1, sizeof(*f));
	mfx_setup(f, 100, 60, 20, 23);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	mfx_teardown(*state);
	free(*state);
	return 0;
}

static void email_digest_hex(const char *email, char hex[65])
{
	uint8_t digest[32];
	assert_int_equal(crypto_id_digest(CRYPTO_ID_EMAIL, email, strlen(email), NULL, digest), CR_OK);
	sodium_bin2hex(hex, 65, digest, sizeof(digest));
}

static struct crypto_pseudonym email_pseudonym(struct mfx *f, const char *email)
{
	uint8_t digest[32];
	struct crypto_pseudonym p;
	assert_int_equal(crypto_id_digest(CRYPTO_ID_EMAIL, email, strlen(email), NULL, digest), CR_OK);
	assert_int_equal(crypto_pseudonym(f->a->keys, f->brand, f->d.key_version, CRYPTO_ID_EMAIL, digest, &p),
			 CR_OK);
	return p;
}

static long long db_count(struct mfx *f, const char *sql, const struct crypto_pseudonym *p)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;
	assert_int_equal(sqlite3_prepare_v2(f->a->store->db, sql, -1, &st, NULL), SQLITE_OK);
	if (p != NULL)
		sqlite3_bind_blob(st, 1, p->bytes, 32, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The partner list's emails split into the brand's customers with stored records and the rest. */
static void split_partner_list(struct mfx *f, char ***list, size_t *n, size_t *customer, size_t *stranger)
{
	*list = mfx_partner_emails(f, n);
	*customer = *stranger = SIZE_MAX;
	for (size_t i = 0; i < *n; i++) {
		struct crypto_pseudonym p = email_pseudonym(f, (*list)[i]);
		long long held = db_count(f, "SELECT count(*) FROM records WHERE pseudonym = ?1", &p);
		if (held > 0 && *customer == SIZE_MAX)
			*customer = i;
		if (held == 0 && *stranger == SIZE_MAX)
			*stranger = i;
	}
	assert_true(*customer != SIZE_MAX && *stranger != SIZE_MAX);
}

/* POST /v1/collaborations/{id}/withdrawals as `partner` for `email`. */
static cr_err relay(struct mfx *f, const char *partner, int64_t collab, const char *email, unsigned *status,
		    char **body, int64_t *ms)
{
	struct auth_token_info who = { .id = 7, .role = AUTH_ROLE_PARTNER };
	struct http_params params = { .n = 1 };
	struct http_request req = { .app = f->a, .content_type = "application/json", .who = &who,
				    .params = &params };
	struct http_reply rep = { 0 };
	char hex[65], text[160];
	int64_t t0;
	cr_err rc;
	snprintf(who.tenant, sizeof(who.tenant), "%s", partner);
	snprintf(params.p[0].name, sizeof(params.p[0].name), "id");
	snprintf(params.p[0].value, sizeof(params.p[0].value), "%lld", (long long)collab);
	email_digest_hex(email, hex);
	snprintf(text, sizeof(text), "{\"id_type\":\"email\",\"digest\":\"%s\"}", hex);
	req.body = (const uint8_t *)text;
	req.body_len = strlen(text);
	t0 = cr_monotonic_ms();
	rc = api_partner_withdraw(&req, &rep);
	*ms = cr_monotonic_ms() - t0;
	*body = NULL;
	*status = 0;
	if (rc == CR_OK) {
		*status = rep.status;
		*body = strndup((const char *)rep.body, rep.len);
	}
	http_secure_free(rep.body);
	return rc;
}

/* R23: the collaboration's partner passes on a withdrawal: every purpose is
 * withdrawn, the records purged at once, the pseudonym suppressed, the
 * event names the partner as its channel and the withdrawal is audited. */
static void test_r23_partner_relay_is_honoured_like_any_withdrawal(void **state)
{
	struct mfx *f = *state;
	char **list = NULL, *body = NULL;
	size_t n = 0, customer = 0, stranger = 0;
	unsigned status = 0;
	int64_t ms = 0;
	struct crypto_pseudonym p;
	long long leaves0 = db_count(f, "SELECT count(*) FROM audit_leaves WHERE type = 'consent.withdraw'", NULL);

	split_partner_list(f, &list, &n, &customer, &stranger);
	p = email_pseudonym(f, list[customer]);
	assert_int_equal(relay(f, "partner-1", f->c.id, list[customer], &status, &body, &ms), CR_OK);
	assert_int_equal(status, 202);
	assert_non_null(strstr(body, "\"status\":\"received\""));
	free(body);
	/* purged at once, suppressed, recorded with its source */
	assert_int_equal(db_count(f, "SELECT count(*) FROM records WHERE pseudonym = ?1", &p), 0);
	assert_int_equal(db_count(f, "SELECT count(*) FROM consent_events WHERE pseudonym = ?1 AND type = 'withdraw'"
				     " AND purpose IS NULL AND channel = 'partner:partner-1'"
				     " AND method = 'partner_relay'", &p), 1);
	assert_true(db_count(f, "SELECT count(*) FROM consent_suppression WHERE pseudonym = ?1", &p) >= 1);
	assert_int_equal(db_count(f, "SELECT count(*) FROM audit_leaves WHERE type = 'consent.withdraw'", NULL),
			 leaves0 + 1);
	mfx_free_list(list, n);
}

/* R23: only the collaboration's partner may pass one on; any other is told
 * the collaboration does not exist, and nothing is recorded. */
static void test_r23_other_partner_refused_and_nothing_recorded(void **state)
{
	struct mfx *f = *state;
	char **list = NULL, *body = NULL;
	size_t n = 0, customer = 0, stranger = 0;
	unsigned status = 0;
	int64_t ms = 0;
	long long events0 = db_count(f, "SELECT count(*) FROM consent_events", NULL);
	long long records0 = db_count(f, "SELECT count(*) FROM records", NULL);
	long long leaves0 = db_count(f, "SELECT count(*) FROM audit_leaves", NULL);

	split_partner_list(f, &list, &n, &customer, &stranger);
	assert_int_equal(relay(f, "partner-2", f->c.id, list[customer], &status, &body, &ms),
			 CR_ERR_COLLAB_NOT_FOUND);
	assert_int_equal(relay(f, "partner-1", f->c.id + 1000, list[customer], &status, &body, &ms),
			 CR_ERR_COLLAB_NOT_FOUND);
	assert_null(body);
	assert_int_equal(db_count(f, "SELECT count(*) FROM consent_events", NULL), events0);
	assert_int_equal(db_count(f, "SELECT count(*) FROM records", NULL), records0);
	assert_int_equal(db_count(f, "SELECT count(*) FROM audit_leaves", NULL), leaves0);
	mfx_free_list(list, n);
}

/* Masks every string and number (they differ from one withdrawal to the
 * next: times, ids, indices, signatures), keeping the shape, nulls and
 * booleans. */
static void mask_values(json_t *v)
{
	const char *key;
	json_t *x;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach(v, key, x) {
			if (json_is_string(x) || json_is_number(x))
				json_object_set_new(v, key, json_string("*"));
			else
				mask_values(x);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			if (json_is_string(x) || json_is_number(x))
				json_array_set_new(v, i, json_string("*"));
			else
				mask_values(x);
		}
	}
}

/* I9 for partners: the answer for a customer and for a stranger has the same
 * status and shape, names no pseudonym and no purge count, and takes the
 * same padded time, although only the customer had records to purge. */
static void test_r23_answer_does_not_tell_customers_from_strangers(void **state)
{
	struct mfx *f = *state;
	char **list = NULL, *body[2] = { NULL, NULL }, *dump[2];
	size_t n = 0, who[2];
	unsigned status[2] = { 0, 0 };
	int64_t ms[2];

	split_partner_list(f, &list, &n, &who[0], &who[1]);
	for (int i = 0; i < 2; i++) {
		json_t *doc;
		assert_int_equal(relay(f, "partner-1", f->c.id, list[who[i]], &status[i], &body[i], &ms[i]), CR_OK);
		assert_int_equal(status[i], 202);
		assert_null(strstr(body[i], "purged"));
		assert_non_null(strstr(body[i], "\"pseudonym\":null"));
		assert_true(ms[i] >= 250);
		doc = json_loads(body[i], 0, NULL);
		assert_non_null(doc);
		mask_values(doc);
		dump[i] = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);
		json_decref(doc);
		free(body[i]);
	}
	assert_string_equal(dump[0], dump[1]);
	free(dump[0]);
	free(dump[1]);
	mfx_free_list(list, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_r23_partner_relay_is_honoured_like_any_withdrawal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_r23_other_partner_refused_and_nothing_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_r23_answer_does_not_tell_customers_from_strangers, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
