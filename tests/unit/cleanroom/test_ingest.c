/* Unit tests for cleanroom/dataset.c and cleanroom/ingest.c: the dataset
 * catalog, and ingestion with a scripted consent gate: every rejection
 * reason (I2), replacement of a known subject, the batch hook, structural
 * refusals that store nothing (I7), and that no raw identifier or unkeyed
 * digest reaches the database or its WAL (I1). */
#include <ctype.h>
#include <unistd.h>

#include <sodium.h>

#include "test_util.h"
#include "cleanroom/dataset.h"
#include "cleanroom/ingest.h"

struct fixture {
	char dir[64];
	struct store *s;
	struct crypto_keyring *keys;
	struct dataset d;
};

/* The gate denies exactly the scripted pseudonyms. */
struct gate_script {
	uint8_t deny[32];
	bool has_deny;
	uint8_t suppress[32];
	bool has_suppress;
	uint64_t calls;
};

static cr_err scripted_decide(void *ctx, const struct dataset *d, const struct crypto_pseudonym *p,
			      cr_time_ms at, enum ingest_verdict *verdict, char reason[40])
{
	struct gate_script *g = ctx;
	(void)d;
	(void)at;
	g->calls++;
	*verdict = INGEST_ALLOW;
	if (g->has_suppress && memcmp(p->bytes, g->suppress, 32) == 0) {
		*verdict = INGEST_DENY_SUPPRESSED;
	} else if (g->has_deny && memcmp(p->bytes, g->deny, 32) == 0) {
		*verdict = INGEST_DENY;
		snprintf(reason, 40, "WITHDRAWN");
	}
	return CR_OK;
}

struct batch_log {
	uint64_t batches, accepted;
	cr_err fail_with;
};

static cr_err on_batch(void *ctx, const struct ingest_batch *b)
{
	struct batch_log *l = ctx;
	l->batches++;
	l->accepted += b->accepted;
	return l->fail_with;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char keys[96], db[96];
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/cr-ingest-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(keys, sizeof(keys), "%s/keys", fx->dir);
	snprintf(db, sizeof(db), "%s/cleanroom.db", fx->dir);
	assert_int_equal(crypto_keys_create(keys, "test.example/audit"), CR_OK);
	assert_int_equal(crypto_keyring_open(keys, &fx->keys), CR_OK);
	assert_int_equal(store_open(db, true, &fx->s), CR_OK); /* migrations create the tables */

	fx->d.brand_id = 1;
	snprintf(fx->d.name, sizeof(fx->d.name), "customers");
	fx->d.id_type = CRYPTO_ID_EMAIL;
	fx->d.suite = CRYPTO_PSI_SUITE_DEFAULT;
	snprintf(fx->d.profile, sizeof(fx->d.profile), "default");
	assert_int_equal(dataset_codes_parse("ads_measurement,audience_insights", false,
					     fx->d.purposes, &fx->d.npurposes), CR_OK);
	assert_int_equal(columns_parse("segment:enum(a|b|c),spend:int(0..10000)", &fx->d.columns, NULL, 0), CR_OK);
	fx->d.key_version = 1;
	fx->d.created = 1000;
	assert_int_equal(dataset_insert(fx->s, &fx->d), CR_OK);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];
	store_close(fx->s);
	crypto_keyring_free(fx->keys);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static cr_err ingest_text(struct fixture *fx, const char *text, const char *hint,
			  struct gate_script *g, struct batch_log *bl, size_t batch,
			  struct ingest_report *rep, char *err, size_t errcap)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct ingest_gate gate = { scripted_decide, g };
	struct ingest_hooks hooks = { on_batch, bl, NULL, NULL };
	struct ingest_opts opts = { .batch_rows = batch, .at = 5000 };
	cr_err rc = ingest_run(fx->s, fx->keys, NULL, &fx->d, f, hint, &opts, &gate, &hooks,
			       rep, err, errcap);
	fclose(f);
	return rc;
}

static uint64_t records(struct fixture *fx)
{
	uint64_t n = 0;
	assert_int_equal(dataset_record_count(fx->s, fx->d.id, &n), CR_OK);
	return n;
}

/* The pseudonym ingest would compute for an email (to script the gate). */
static void pseudonym_of(struct fixture *fx, const char *email, uint8_t out[32])
{
	uint8_t digest[32];
	struct crypto_pseudonym p;
	assert_int_equal(crypto_id_digest(CRYPTO_ID_EMAIL, email, strlen(email), NULL, digest), CR_OK);
	assert_int_equal(crypto_pseudonym(fx->keys, 1, 1, CRYPTO_ID_EMAIL, digest, &p), CR_OK);
	memcpy(out, p.bytes, 32);
}

static void test_dataset_catalog(void **state)
{
	struct fixture *fx = *state;
	struct dataset got, dup = fx->d;
	assert_int_equal(dataset_get(fx->s, 1, "customers", &got), CR_OK);
	assert_int_equal(got.id, fx->d.id);
	assert_int_equal(got.npurposes, 2);
	assert_string_equal(got.purposes[1], "audience_insights");
	assert_int_equal(got.columns.n, 2);
	assert_true(dataset_has_purpose(&got, "ads_measurement"));
	assert_false(dataset_has_purpose(&got, "marketing"));
	assert_int_equal(dataset_insert(fx->s, &dup), CR_ERR_DATASET_EXISTS);
	assert_int_equal(dataset_get(fx->s, 2, "customers", &got), CR_ERR_DATASET_NOT_FOUND);
	assert_true(dataset_name_valid("crm-2026_q1"));
	assert_false(dataset_name_valid("Bad Name"));
	assert_false(dataset_name_valid(""));
}

/* I2: every rejection reason, with its first line numbers. */
static void test_i2_every_rejection_reason(void **state)
{
	struct fixture *fx = *state;
	struct gate_script g = { .has_deny = true, .has_suppress = true };
	struct batch_log bl = { 0 };
	struct ingest_report rep;
	char err[200];
	const char *csv =
		"email,segment,spend\n"
		"ok1@example.com,a,10\n"           /* 2 accepted */
		"not-an-email,a,10\n"              /* 3 invalid identifier */
		"ok2@example.com,z,10\n"           /* 4 invalid attribute */
		"ok3@example.com,b,10001\n"        /* 5 invalid attribute */
		"denied@example.com,b,1\n"         /* 6 no consent */
		"suppressed@example.com,c,5\n"     /* 7 suppressed */
		" OK1@Example.com ,c,20\n";        /* 8 replaces line 2 */
	pseudonym_of(fx, "denied@example.com", g.deny);
	pseudonym_of(fx, "suppressed@example.com", g.suppress);
	assert_int_equal(ingest_text(fx, csv, "x.csv", &g, &bl, 3, &rep, err, sizeof(err)), CR_OK);
	assert_int_equal(rep.read, 7);
	assert_int_equal(rep.accepted, 2);
	assert_int_equal(rep.replaced, 1);
	assert_int_equal(rep.rejected[INGEST_INVALID_IDENTIFIER].count, 1);
	assert_int_equal(rep.rejected[INGEST_INVALID_IDENTIFIER].lines[0], 3);
	assert_int_equal(rep.rejected[INGEST_INVALID_ATTRIBUTE].count, 2);
	assert_int_equal(rep.rejected[INGEST_INVALID_ATTRIBUTE].lines[1], 5);
	assert_int_equal(rep.rejected[INGEST_NO_CONSENT].count, 1);
	assert_int_equal(rep.rejected[INGEST_NO_CONSENT].lines[0], 6);
	assert_int_equal(rep.nreasons, 1);
	assert_string_equal(rep.reasons[0].name, "WITHDRAWN");
	assert_int_equal(rep.rejected[INGEST_SUPPRESSED].count, 1);
	assert_int_equal(rep.rejected[INGEST_SUPPRESSED].lines[0], 7);
	assert_int_equal(records(fx), 1);            /* ok1 twice: one record */
	assert_int_equal(bl.batches, 3);             /* 7 rows in batches of 3 */
	assert_int_equal(rep.batches, 3);
	assert_int_equal(bl.accepted, 2);
	/* the gate ran only for rows with a valid identifier and attributes */
	assert_int_equal(g.calls, 4);
}

/* I7: a structurally bad file stores nothing, whatever its good rows. */
static void test_i7_malformed_files_store_nothing(void **state)
{
	struct fixture *fx = *state;
	struct {
		const char *text;
		cr_err want;
		const char *msg;
	} cases[] = {
		{ "email,segment,spend\na@example.com,a,1\nb@example.com,\"a,1\n", CR_ERR_FILE_CSV, "unterminated" },
		{ "email,segment,spend\na@example.com,a,1\nb@example.com,a\n", CR_ERR_FILE_COLUMNS, "line 3" },
		{ "email,segment,spend\na@example.com,a,1\nb@example.com,\xff,1\n", CR_ERR_UTF8, "line 3" },
		{ "", CR_ERR_FILE_EMPTY, "empty" },
		{ "segment,spend\na,1\n", CR_ERR_INGEST_NO_ID_COLUMN, "'email' or 'email_sha256'" },
		{ "email,email_sha256,segment,spend\n", CR_ERR_INGEST_NO_ID_COLUMN, "exactly one" },
		{ "email,spend\na@example.com,1\n", CR_ERR_INGEST_MISSING_COLUMN, "'segment'" },
		{ "email,segment,spend,age\na@example.com,a,1,3\n", CR_ERR_INGEST_EXTRA_COLUMN, "'age'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gate_script g = { 0 };
		struct batch_log bl = { 0 };
		struct ingest_report rep;
		char err[200] = "";
		assert_int_equal(ingest_text(fx, cases[i].text, "x.csv", &g, &bl, 1, &rep, err, sizeof(err)),
				 cases[i].want);
		if (strstr(err, cases[i].msg) == NULL)
			print_error("case %zu: '%s'\n", i, err);
		assert_non_null(strstr(err, cases[i].msg));
		assert_null(strstr(err, "example.com"));
		assert_int_equal(bl.batches, 0);
		assert_int_equal(records(fx), 0);
	}
}

/* A failing batch hook (the audit append) rolls its batch back. */
static void test_i5_batch_hook_failure_rolls_back(void **state)
{
	struct fixture *fx = *state;
	struct gate_script g = { 0 };
	struct batch_log bl = { .fail_with = CR_ERR_AUDIT };
	struct ingest_report rep;
	char err[200];
	const char *csv = "email,segment,spend\na@example.com,a,1\n";
	assert_int_equal(ingest_text(fx, csv, "x.csv", &g, &bl, 10, &rep, err, sizeof(err)), CR_ERR_AUDIT);
	assert_int_equal(records(fx), 0);
}

/* What SQLite holds on disk for the fixture's store: the database file and
 * its WAL, read while the store stays open, so every assertion runs with a
 * valid store (closing it here made a failing assertion crash the teardown).
 * `lower` is the same bytes with ASCII letters lowercased, for text needles. */
struct on_disk {
	char *bytes, *lower;
	size_t len;
};

static void on_disk_read(const struct fixture *fx, struct on_disk *o)
{
	static const char *const suffix[] = { "", "-wal" };
	char path[128];
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < 2; i++) {
		size_t n = 0;
		char *b;
		snprintf(path, sizeof(path), "%s/cleanroom.db%s", fx->dir, suffix[i]);
		if ((b = test_read_file(path, &n)) == NULL)
			continue; /* no WAL: all is in the file */
		o->bytes = realloc(o->bytes, o->len + n + 1);
		assert_non_null(o->bytes);
		memcpy(o->bytes + o->len, b, n);
		o->len += n;
		free(b);
	}
	assert_non_null(o->bytes);
	o->lower = malloc(o->len + 1);
	assert_non_null(o->lower);
	for (size_t i = 0; i < o->len; i++)
		o->lower[i] = (char)tolower((unsigned char)o->bytes[i]);
}

static void on_disk_free(struct on_disk *o)
{
	free(o->bytes);
	free(o->lower);
}

/* True (and says so) if the disk holds `needle`; text needles ignore case. */
static bool stored(const struct on_disk *o, const void *needle, size_t n, bool text, const char *what)
{
	char low[128];
	const char *hay = text ? o->lower : o->bytes, *at;
	if (text) {
		if (n >= sizeof(low)) {
			print_error("I1: needle '%s' is too long\n", what);
			return true;
		}
		for (size_t k = 0; k < n; k++)
			low[k] = (char)tolower(((const unsigned char *)needle)[k]);
		needle = low;
	}
	at = memmem(hay, o->len, needle, n);
	if (at != NULL)
		print_error("I1: the store holds %s at byte %zu\n", what, (size_t)(at - hay));
	return at != NULL;
}

/*
 * I1 for one stored subject: its keyed pseudonym is on disk (so the search
 * reads the bytes the ingest wrote), and neither its digest (32 bytes, 64 hex
 * in lower or upper case) nor any of `texts` (raw spellings, searched
 * ignoring case; NULL-terminated) is.
 */
static void assert_only_keyed_forms(const struct fixture *fx, const uint8_t pseudonym[32],
				    const uint8_t digest[32], const char *const *texts)
{
	struct on_disk o;
	char hex[65], upper[65];
	bool keyed, leaked = false;
	assert_int_equal(cr_hex_encode(digest, 32, hex, sizeof(hex)), CR_OK);
	for (size_t i = 0; i < sizeof(upper); i++)
		upper[i] = (char)toupper((unsigned char)hex[i]);
	on_disk_read(fx, &o);
	keyed = memmem(o.bytes, o.len, pseudonym, 32) != NULL;
	leaked |= stored(&o, digest, 32, false, "the digest's bytes");
	leaked |= stored(&o, hex, 64, false, "the digest in lowercase hex");
	leaked |= stored(&o, upper, 64, false, "the digest in uppercase hex");
	for (size_t i = 0; texts && texts[i]; i++)
		leaked |= stored(&o, texts[i], strlen(texts[i]), true, texts[i]);
	on_disk_free(&o);
	assert_false(leaked);
	if (!keyed)
		fail_msg("the record's pseudonym is not on disk: the search would prove nothing");
}

/* Digest columns and NDJSON; I1: only the keyed forms reach the disk. */
static void test_i1_digests_and_ndjson_keep_only_keyed_forms(void **state)
{
	struct fixture *fx = *state;
	struct gate_script g = { 0 };
	struct batch_log bl = { 0 };
	struct ingest_report rep;
	char err[200], hex[65], line[256];
	uint8_t digest[32], keyed[32];
	assert_int_equal(crypto_id_digest(CRYPTO_ID_EMAIL, "zhang.wei@qq.com", 16, NULL, digest), CR_OK);
	assert_int_equal(cr_hex_encode(digest, 32, hex, sizeof(hex)), CR_OK);
	snprintf(line, sizeof(line),
		 "{\"email_sha256\":\"%s\",\"segment\":\"b\",\"spend\":7}\n"
		 "{\"email_sha256\":\"XYZ\",\"segment\":\"b\",\"spend\":7}\n", hex);
	assert_int_equal(ingest_text(fx, line, "list.ndjson", &g, &bl, 10, &rep, err, sizeof(err)), CR_OK);
	assert_int_equal(rep.accepted, 1);
	assert_int_equal(rep.rejected[INGEST_INVALID_IDENTIFIER].count, 1);
	pseudonym_of(fx, "zhang.wei@qq.com", keyed);
	assert_only_keyed_forms(fx, keyed, digest, NULL);
}

/* I1 for a raw column: neither the spelling given, nor its normalized form,
 * nor the digest reaches the disk. */
static void test_i1_raw_identifiers_keep_only_keyed_forms(void **state)
{
	struct fixture *fx = *state;
	struct gate_script g = { 0 };
	struct batch_log bl = { 0 };
	struct ingest_report rep;
	char err[200];
	uint8_t digest[32], keyed[32];
	const char *const texts[] = { "Zhang.Wei@GMail.com", "zhang.wei@gmail.com", "zhangwei@gmail.com", NULL };
	assert_int_equal(ingest_text(fx, "email,segment,spend\n Zhang.Wei@GMail.com ,b,7\n", "x.csv", &g, &bl,
				     10, &rep, err, sizeof(err)), CR_OK);
	assert_int_equal(rep.accepted, 1);
	assert_int_equal(crypto_id_digest(CRYPTO_ID_EMAIL, "zhangwei@gmail.com", 18, NULL, digest), CR_OK);
	pseudonym_of(fx, "zhangwei@gmail.com", keyed);
	assert_only_keyed_forms(fx, keyed, digest, texts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dataset_catalog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_i2_every_rejection_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_i7_malformed_files_store_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_i5_batch_hook_failure_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_i1_digests_and_ndjson_keep_only_keyed_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_i1_raw_identifiers_keep_only_keyed_forms, setup, teardown),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
