/*
 * Unit tests for cleanroom/registry_erase.c, a person's erasure end to end
 * (issue 19; GDPR 17, PIPL 47; I10: after erasure the exported log links no
 * entry to the person). Through the real registry, ingest and audit log
 * (registry_fixture.h). Subjects are made-up example.com addresses.
 *
 * The attacker here holds the whole log (every leaf's bytes) and, worst
 * case, the person's pseudonym, digest and event row ids: nothing they can
 * derive from those may appear in any leaf once the person is erased, and
 * every proof issued before must still verify.
 */
#include <sodium.h>

#include "registry_fixture.h"

struct efx {
	struct rfx *f;
	struct dataset d;
	struct crypto_pseudonym p;        /* first@example.com's */
	char *receipt;                    /* first's grant receipt, made before the erasure */
	int64_t events[16];               /* first's consent event ids */
	size_t n_events;
};

static const char first[] = "first@example.com";

/* first's consent event ids, from the events table (which keeps them, R26). */
static void load_events(struct efx *e)
{
	sqlite3_stmt *st = NULL;
	e->n_events = 0;
	assert_int_equal(sqlite3_prepare_v2(e->f->a->store->db,
					    "SELECT id FROM consent_events WHERE pseudonym = ?1 ORDER BY id", -1, &st,
					    NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, e->p.bytes, 32, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW && e->n_events < 16)
		e->events[e->n_events++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
}

static int setup(void **state)
{
	struct efx *e = calloc(1, sizeof(*e));
	struct ingest_report rep;
	cr_time_ms t;
	assert_non_null(e);
	e->f = rfx_new();
	t = e->f->t0 - 2 * RFX_HOUR;
	rfx_grant_all(e->f, e->f->acme, first, t, 0);
	rfx_grant_all(e->f, e->f->acme, "last@example.com", t, 0);
	rfx_dataset(e->f, e->f->acme, "acme", "crm", "ads_measurement", NULL, &e->d);
	rfx_ingest(e->f, "acme", &e->d, "email,segment\nfirst@example.com,a\nlast@example.com,b\n", &rep);
	assert_int_equal(rep.accepted, 2);
	e->p = rfx_pseudonym(e->f, e->f->acme, first);
	load_events(e);
	assert_true(e->n_events >= 5);
	assert_int_equal(registry_event_receipt(e->f->a, e->f->acme, e->events[1], &e->receipt), CR_OK);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct efx *e = *state;
	free(e->receipt);
	rfx_free(e->f);
	free(e);
	return 0;
}

static void erase(struct efx *e, json_t **doc)
{
	static const struct registry_actor who = { "brand", "test" };
	assert_int_equal(ops_subject_erase(e->f->a, &who, e->f->acme, &e->p, 1, doc), CR_OK);
}

static bool contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; m <= n && i <= n - m; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return true;
	return false;
}

/* What the attacker can derive: raw and hex forms of the pseudonym, its SHA-256, the digest, the old batch digest. */
struct probes {
	size_t n;
	uint8_t v[16][64];
	size_t len[16];
	const char *what[16];
};

static void probe_add(struct probes *pr, const char *what, const uint8_t *bytes, size_t len)
{
	char hex[65];
	assert_true(pr->n + 2 <= 16 && len == 32);
	memcpy(pr->v[pr->n], bytes, len);
	pr->len[pr->n] = len;
	pr->what[pr->n++] = what;
	sodium_bin2hex(hex, sizeof(hex), bytes, len);
	memcpy(pr->v[pr->n], hex, 64);
	pr->len[pr->n] = 64;
	pr->what[pr->n++] = what;
}

static void probes_of(struct efx *e, struct probes *pr)
{
	struct crypto_pseudonym last = rfx_pseudonym(e->f, e->f->acme, "last@example.com");
	uint8_t h[32], both[64], digest[32];
	memset(pr, 0, sizeof(*pr));
	probe_add(pr, "the pseudonym", e->p.bytes, 32);
	crypto_hash_sha256(h, e->p.bytes, 32);
	probe_add(pr, "SHA-256 of the pseudonym", h, 32);
	memcpy(both, e->p.bytes, 32);
	memcpy(both + 32, last.bytes, 32);
	crypto_hash_sha256(h, both, sizeof(both));
	probe_add(pr, "SHA-256 over the batch's pseudonyms", h, 32);
	assert_int_equal(crypto_id_digest(CRYPTO_ID_EMAIL, first, strlen(first), NULL, digest), CR_OK);
	probe_add(pr, "the identifier's digest", digest, 32);
}

/*
 * I10, issue 19: after erasure no leaf holds anything derivable from the
 * person's pseudonym, digest or event row ids, and the subject search
 * finds nothing.
 */
static void test_i10_erased_person_is_in_no_leaf(void **state)
{
	struct efx *e = *state;
	struct audit_query q = { .subject = e->p.bytes, .limit = 100 };
	struct audit_page page;
	struct probes pr;
	json_t *doc = NULL;
	uint64_t size;
	uint8_t salt[32];

	assert_true(rfx_salt(e->f, &e->p, salt));
	assert_int_equal(audit_log_query(e->f->a->log, &q, &page), CR_OK);
	assert_true(page.n >= 5); /* findable before */
	audit_page_release(&page);
	erase(e, &doc);
	json_decref(doc);

	assert_false(rfx_salt(e->f, &e->p, salt));
	assert_int_equal(audit_log_query(e->f->a->log, &q, &page), CR_OK);
	assert_int_equal(page.n, 0);
	audit_page_release(&page);

	probes_of(e, &pr);
	size = rfx_log_size(e->f);
	for (uint64_t i = 0; i < size; i++) {
		uint8_t *bytes = NULL;
		size_t len = 0;
		struct audit_leaf *leaf = NULL;
		assert_int_equal(audit_log_leaf(e->f->a->log, i, &bytes, &len), CR_OK);
		for (size_t k = 0; k < pr.n; k++)
			if (contains(bytes, len, pr.v[k], pr.len[k]))
				fail_msg("leaf %llu holds %s", (unsigned long long)i, pr.what[k]);
		assert_int_equal(audit_leaf_decode(bytes, len, &leaf), CR_OK);
		for (size_t k = 0; k < e->n_events; k++) {
			char ref[32];
			snprintf(ref, sizeof(ref), "event=%lld", (long long)e->events[k]);
			if (leaf->detail && strstr(leaf->detail, ref))
				fail_msg("leaf %llu names event row %lld", (unsigned long long)i,
					 (long long)e->events[k]);
		}
		audit_leaf_free(leaf);
		free(bytes);
	}
}

/* Issue 19: a proof issued before the erasure still verifies after it, and the whole log verifies. */
static void test_i10_proofs_before_erasure_still_verify(void **state)
{
	struct efx *e = *state;
	json_t *r = json_loads(e->receipt, 0, NULL), *doc = NULL;
	const char *proof = json_string_value(json_object_get(r, "audit_proof"));
	char *vkey = NULL, why[256] = "";
	struct audit_verifier v;
	struct audit_verify_report rep;
	struct audit_proof_check chk;

	assert_non_null(proof);
	erase(e, &doc);
	assert_int_equal(app_verifier_key(e->f->a, &vkey), CR_OK);
	if (audit_tlog_proof_verify(vkey, strlen(vkey), proof, strlen(proof), NULL, 0, NULL, &chk, why,
				    sizeof(why)) != CR_OK)
		fail_msg("the grant's proof no longer verifies: %s", why);
	/* the erasure's own proof: a subject.erase leaf with no subject */
	proof = json_string_value(json_object_get(json_object_get(doc, "erasure"), "audit_proof"));
	assert_non_null(proof);
	assert_int_equal(audit_tlog_proof_verify(vkey, strlen(vkey), proof, strlen(proof), NULL, 0, NULL, &chk,
						 why, sizeof(why)), CR_OK);
	assert_int_equal(audit_verifier_parse(vkey, strlen(vkey), &v), CR_OK);
	assert_int_equal(audit_log_verify(e->f->a->store->db, NULL, &v, NULL, 0, &rep), CR_OK);
	free(vkey);
	json_decref(r);
	json_decref(doc);
}

/*
 * GDPR 17 / R26 / R33: records purged, the pseudonymous consent trail and
 * the suppression kept (a re-upload stays out), the event no longer
 * findable in the log; the answer says so and its receipt names no
 * pseudonym.
 */
static void test_erasure_purges_keeps_the_trail_and_suppresses(void **state)
{
	struct efx *e = *state;
	struct ingest_report rep;
	json_t *doc = NULL, *erased;
	char *receipt = NULL, hex[65];
	size_t before = e->n_events;

	erase(e, &doc);
	erased = json_object_get(doc, "erased");
	assert_string_equal(json_string_value(json_object_get(doc, "status")), "erased");
	assert_int_equal(json_integer_value(json_object_get(erased, "purged_records")), 1);
	assert_int_equal(json_integer_value(json_object_get(erased, "audit_salts")), 1);
	assert_true(json_integer_value(json_object_get(erased, "audit_index_rows")) >= (json_int_t)before);
	assert_true(json_integer_value(json_object_get(erased, "event_links")) >= 5);
	assert_true(json_is_null(json_object_get(json_object_get(json_object_get(doc, "receipt"), "payload"),
						 "subject")) ||
		    json_is_null(json_object_get(json_object_get(json_object_get(json_object_get(doc, "receipt"),
										  "payload"), "subject"), "pseudonym")));
	sodium_bin2hex(hex, sizeof(hex), e->p.bytes, 32);
	char *text = json_dumps(doc, 0);
	assert_null(strstr(text, hex));
	free(text);
	json_decref(doc);

	assert_false(rfx_has(e->f, &e->d, first));
	assert_true(rfx_has(e->f, &e->d, "last@example.com"));
	load_events(e);
	assert_true(e->n_events > before); /* the trail is kept, with the withdrawal added */
	assert_int_equal(registry_event_receipt(e->f->a, e->f->acme, e->events[1], &receipt),
			 CR_ERR_AUDIT_NOT_FOUND);
	rfx_ingest(e->f, "acme", &e->d, "email,segment\nfirst@example.com,a\n", &rep);
	assert_int_equal(rep.accepted, 0);
	assert_false(rfx_has(e->f, &e->d, first));
}

/* After erasure the same person's new entries get a new salt: they cannot be linked to the old ones. */
static void test_erased_person_returns_unlinkable(void **state)
{
	struct efx *e = *state;
	struct audit_query q = { .subject = e->p.bytes, .limit = 100 };
	struct audit_page old, now;
	json_t *doc = NULL;
	assert_int_equal(audit_log_query(e->f->a->log, &q, &old), CR_OK);
	erase(e, &doc);
	json_decref(doc);
	rfx_grant(e->f, e->f->acme, first, "ads_measurement", NULL, cr_time_now(), 0);
	assert_int_equal(audit_log_query(e->f->a->log, &q, &now), CR_OK);
	assert_int_equal(now.n, 1);
	assert_true(old.records[0].leaf->has_subject && now.records[0].leaf->has_subject);
	assert_memory_not_equal(old.records[0].leaf->subject_commit, now.records[0].leaf->subject_commit, 32);
	audit_page_release(&old);
	audit_page_release(&now);
}

/* All or nothing: an erasure refused part-way (here: no such brand) stores nothing and appends nothing. */
static void test_erasure_refused_stores_nothing(void **state)
{
	static const struct registry_actor who = { "brand", "test" };
	struct efx *e = *state;
	json_t *doc = NULL;
	uint64_t size = rfx_log_size(e->f);
	uint8_t salt[32];
	assert_int_not_equal(ops_subject_erase(e->f->a, &who, 999, &e->p, 1, &doc), CR_OK);
	assert_null(doc);
	assert_int_equal(rfx_log_size(e->f), size);
	assert_true(rfx_salt(e->f, &e->p, salt));
	assert_true(rfx_has(e->f, &e->d, first));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_i10_erased_person_is_in_no_leaf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_i10_proofs_before_erasure_still_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_erasure_purges_keeps_the_trail_and_suppresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_erased_person_returns_unlinkable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_erasure_refused_stores_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
