/* Unit tests for cleanroom/ops_ingest.c, the ingestion `cleanroom ingest`
 * and POST .../ingest run: every committed batch appends exactly one
 * "dataset.ingest" leaf in its own transaction (I5), with the counts, the
 * line range and the commitment to the batch's pseudonyms; a file refused
 * for its structure appends none (I7). Goes through the real gate and the
 * real batch hook (registry_fixture.h). And I3 under a running ingest: a
 * withdrawal committed between two batches is honoured by the later one. Subjects are made-up example.com
 * addresses. */
#include <sodium.h>

#include "registry_fixture.h"

#define BATCH 4096 /* ingest.c's batch when the caller sets none, as ops_ingest does */

static int setup(void **state)
{
	struct rfx *f = rfx_new();
	cr_time_ms t = f->t0 - 2 * RFX_HOUR;
	rfx_served(f, f->acme, "first@example.com", t);
	rfx_grant(f, f->acme, "first@example.com", "ads_measurement", NULL, t + 1000, 0);
	rfx_served(f, f->acme, "last@example.com", t);
	rfx_grant(f, f->acme, "last@example.com", "ads_measurement", NULL, t + 1000, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	rfx_free(*state);
	return 0;
}

/* rows lines of made-up, never-consented subjects, but `first` on line 2 and `last` on line last_line. */
static char *list_csv(size_t rows, uint64_t last_line)
{
	size_t cap = 32 + rows * 32, len = 0;
	char *csv = malloc(cap);
	assert_non_null(csv);
	len += (size_t)snprintf(csv + len, cap - len, "email,segment\n");
	for (size_t i = 0; i < rows; i++) {
		uint64_t line = i + 2;
		if (line == 2)
			len += (size_t)snprintf(csv + len, cap - len, "first@example.com,a\n");
		else if (line == last_line)
			len += (size_t)snprintf(csv + len, cap - len, "last@example.com,b\n");
		else
			len += (size_t)snprintf(csv + len, cap - len, "u%06zu@example.com,a\n", i);
	}
	return csv;
}

/* Counts seen through a second connection: only what is committed. */
struct committed {
	struct rfx *f;
	size_t calls;
	long long leaves[4], records[4];
};

static long long committed_count(struct rfx *f, const char *sql)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/data/cleanroom.db", f->dir);
	return test_db_count(path, sql);
}

/* The progress hook runs between batches, after each batch's COMMIT. */
static void after_batch(void *ctx, uint64_t rows, uint64_t bytes)
{
	struct committed *c = ctx;
	(void)rows;
	(void)bytes;
	assert_true(c->calls < 4);
	c->leaves[c->calls] = committed_count(c->f, "SELECT count(*) FROM audit_leaves");
	c->records[c->calls] = committed_count(c->f, "SELECT count(*) FROM records");
	c->calls++;
}

/*
 * The detail the leaf of a batch must carry: the RFC 6962 root of the one
 * stored row's salted commitment, SHA-256(0x00 || SHA-256(salt || pseudonym))
 * with the subject's audit salt, so nobody without the salt can test a
 * pseudonym against it.
 */
static void want_detail(struct rfx *f, const char *email, const char *counts, char *out, size_t cap)
{
	struct crypto_pseudonym p = rfx_pseudonym(f, f->acme, email);
	uint8_t salt[32], c[32], root[33] = { 0 };
	crypto_hash_sha256_state h;
	char hex[65];
	assert_true(rfx_salt(f, &p, salt));
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, salt, 32);
	crypto_hash_sha256_update(&h, p.bytes, CRYPTO_PSEUDONYM_BYTES);
	crypto_hash_sha256_final(&h, c);
	memcpy(root + 1, c, 32); /* 0x00 || c */
	crypto_hash_sha256(c, root, sizeof(root));
	sodium_bin2hex(hex, sizeof(hex), c, sizeof(c));
	snprintf(out, cap, "%s records_root=%s", counts, hex);
}

static void assert_leaf(const struct audit_record *r, const char *detail)
{
	assert_string_equal(r->leaf->event_type, "dataset.ingest");
	assert_string_equal(r->leaf->tenant, "acme");
	assert_string_equal(r->leaf->dataset, "crm");
	assert_string_equal(r->leaf->actor_role, "brand");
	assert_string_equal(r->leaf->actor_id, "test");
	assert_false(r->leaf->has_subject);
	assert_string_equal(r->leaf->detail, detail);
}

/*
 * I5: BATCH + 4 rows are two batches, so exactly ceil(N / BATCH) = 2
 * "dataset.ingest" leaves, each with its batch's counts, lines and
 * commitment, and each committed together with its batch's records (the
 * second connection sees leaf and records appear together, batch by batch).
 */
static void test_i5_one_ingest_leaf_per_committed_batch(void **state)
{
	struct rfx *f = *state;
	struct committed c = { .f = f };
	struct ingest_report rep;
	struct audit_page page;
	struct dataset d;
	char want[256];
	size_t rows = BATCH + 4;
	char *csv = list_csv(rows, BATCH + 3);
	long long leaves0, records0;
	uint64_t size0;
	rfx_dataset(f, f->acme, "acme", "crm", "ads_measurement", NULL, &d);
	leaves0 = committed_count(f, "SELECT count(*) FROM audit_leaves");
	records0 = committed_count(f, "SELECT count(*) FROM records");
	size0 = rfx_log_size(f);
	assert_int_equal(rfx_ingest_progress(f, "acme", &d, csv, after_batch, &c, &rep), CR_OK);
	free(csv);
	assert_int_equal(rep.read, rows);
	assert_int_equal(rep.accepted, 2);
	assert_int_equal(rep.rejected[INGEST_NO_CONSENT].count, rows - 2);
	assert_int_equal(rep.batches, 2);
	assert_int_equal(rfx_count(f, &d), 2);

	/* exactly the two leaves, nothing else appended */
	assert_int_equal(rfx_log_size(f), size0 + 2);
	rfx_leaves(f, "acme", "dataset.ingest", &page);
	assert_int_equal(page.n, 2);
	want_detail(f, "last@example.com", "rows=4 accepted=1 replaced=0 rejected=3 lines=4098-4101", want,
		    sizeof(want));
	assert_leaf(&page.records[0], want);
	want_detail(f, "first@example.com", "rows=4096 accepted=1 replaced=0 rejected=4095 lines=2-4097", want,
		    sizeof(want));
	assert_leaf(&page.records[1], want);
	assert_int_equal(page.records[1].index, size0);
	assert_int_equal(page.records[0].index, size0 + 1);
	audit_page_release(&page);

	/* each batch's leaf was committed with its records, not before, not after */
	assert_int_equal(c.calls, 2);
	assert_int_equal(c.leaves[0], leaves0 + 1);
	assert_int_equal(c.records[0], records0 + 1);
	assert_int_equal(c.leaves[1], leaves0 + 2);
	assert_int_equal(c.records[1], records0 + 2);
}

/*
 * A batch is audited whatever the gate said: a list no row of which is
 * admitted still appends its one leaf (accepted=0, I5: refusals are
 * audited), and a second upload of the same subjects counts replacements.
 */
static void test_i5_refused_rows_and_replacements_are_audited(void **state)
{
	struct rfx *f = *state;
	struct ingest_report rep;
	struct audit_page page;
	struct dataset d;
	char want[256];
	uint64_t size0;
	rfx_dataset(f, f->acme, "acme", "crm", "ads_measurement", NULL, &d);
	size0 = rfx_log_size(f);
	rfx_ingest(f, "acme", &d, "email,segment\nnobody@example.com,a\nnot-an-email,a\n", &rep);
	assert_int_equal(rep.accepted, 0);
	assert_int_equal(rfx_log_size(f), size0 + 1);
	rfx_leaves(f, "acme", "dataset.ingest", &page);
	assert_int_equal(page.n, 1);
	assert_string_equal(page.records[0].leaf->detail,
			    "rows=2 accepted=0 replaced=0 rejected=2 lines=2-3 records_root="
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"); /* RFC 6962's empty root, SHA-256 of nothing */
	audit_page_release(&page);

	rfx_ingest(f, "acme", &d, "email,segment\nfirst@example.com,a\n", &rep);
	rfx_ingest(f, "acme", &d, "email,segment\nFirst@Example.com,b\n", &rep);
	assert_int_equal(rep.replaced, 1);
	assert_int_equal(rfx_log_size(f), size0 + 3);
	rfx_leaves(f, "acme", "dataset.ingest", &page);
	assert_int_equal(page.n, 3);
	want_detail(f, "first@example.com", "rows=1 accepted=1 replaced=1 rejected=0 lines=2-2", want, sizeof(want));
	assert_leaf(&page.records[0], want);
	audit_page_release(&page);
}

/* I5, I7: a file refused for its structure stores nothing and appends no leaf. */
static void test_i5_refused_file_appends_no_leaf(void **state)
{
	struct rfx *f = *state;
	struct ingest_report rep;
	struct dataset d;
	uint64_t size0;
	rfx_dataset(f, f->acme, "acme", "crm", "ads_measurement", NULL, &d);
	size0 = rfx_log_size(f);
	assert_int_equal(rfx_ingest_progress(f, "acme", &d, "email,segment\nfirst@example.com,a\nlast@example.com\n",
					     NULL, NULL, &rep), CR_ERR_FILE_COLUMNS);
	assert_int_equal(rfx_ingest_progress(f, "acme", &d, "email,region\nfirst@example.com,a\n", NULL, NULL, &rep),
			 CR_ERR_INGEST_MISSING_COLUMN);
	assert_int_equal(rfx_log_size(f), size0);
	assert_int_equal(rfx_leaf_count(f, "acme", "dataset.ingest"), 0);
	assert_int_equal(rfx_count(f, &d), 0);
}

/* A withdrawal that commits while the ingest runs, between its two batches. */
struct withdraw_between {
	struct rfx *f;
	const char *email;
	size_t calls;
	uint64_t purged;
};

static void withdraw_after_first_batch(void *ctx, uint64_t rows, uint64_t bytes)
{
	struct withdraw_between *w = ctx;
	(void)rows;
	(void)bytes;
	if (w->calls++ == 0)
		w->purged = rfx_withdraw(w->f, w->f->acme, w->email, NULL, NULL, NULL);
}

/*
 * I3, R18, R33: a withdrawal that commits between two batches of a running
 * ingest is honoured by the later batch: the person's row there is refused
 * as suppressed and the record is absent, instead of being stored again
 * under a decision time fixed when the ingest began.
 */
static void test_i3_withdrawal_between_batches_is_honoured(void **state)
{
	struct rfx *f = *state;
	struct withdraw_between w = { .f = f, .email = "last@example.com" };
	struct crypto_pseudonym p;
	struct consent_decision dec;
	struct ingest_report rep;
	struct dataset d;
	char *csv = list_csv(BATCH + 4, BATCH + 3);
	rfx_dataset(f, f->acme, "acme", "crm", "ads_measurement", NULL, &d);
	assert_int_equal(rfx_ingest_progress(f, "acme", &d, csv, withdraw_after_first_batch, &w, &rep), CR_OK);
	free(csv);
	assert_int_equal(w.calls, 2);
	assert_int_equal(w.purged, 0);               /* nothing of theirs stored yet */
	assert_int_equal(rep.batches, 2);
	assert_int_equal(rep.accepted, 1);           /* first@ only */
	assert_int_equal(rep.rejected[INGEST_SUPPRESSED].count, 1);
	assert_int_equal(rep.rejected[INGEST_SUPPRESSED].lines[0], BATCH + 3);
	assert_int_equal(rfx_count(f, &d), 1);
	p = rfx_pseudonym(f, f->acme, "last@example.com");
	assert_int_equal(consent_valid_at(f->a->consent, f->acme, &p, "ads_measurement", NULL, cr_time_now(), 0,
					  &dec), CR_OK);
	assert_false(dec.allowed);
	assert_int_equal(dec.reason, CONSENT_WITHDRAWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_i5_one_ingest_leaf_per_committed_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_i5_refused_rows_and_replacements_are_audited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_i5_refused_file_appends_no_leaf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_i3_withdrawal_between_batches_is_honoured, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
