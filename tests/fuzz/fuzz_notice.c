/*
 * fuzz_notice.c: libFuzzer target for the privacy-notice parser and
 * publisher (consent/notice.c): parsing, the R04 checks, the canonical form
 * and hash, and publishing over a stored version 1 (so the R06 comparison
 * of what a version adds runs too), in a transaction rolled back each time.
 *
 * Invariants: a notice that checks has a hash that publishing reports as
 * well (or publishing refuses it with a 4xx: version order, immutability,
 * the material flag); a published notice reads back as its canonical form,
 * whose hash is the reported one and which checks again to the same hash;
 * a refused notice stores nothing.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address -I. tests/fuzz/fuzz_notice.c \
 *        consent/\*.c crypto/\*.c common/\*.c -lsodium -lsqlite3 -ljansson
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "consent/consent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char v1[] =
	"{\"version\":1,\"language\":\"zh-CN\",\"material\":true,"
	"\"controller\":{\"name\":\"Example Brand Ltd.\",\"contact\":\"privacy@brand.example\"},"
	"\"purposes\":[{\"code\":\"ads_measurement\",\"description\":\"m\",\"sensitive\":false},"
	"{\"code\":\"audience_insights\",\"description\":\"a\",\"sensitive\":false}],"
	"\"recipients\":[{\"id\":\"partner-1\",\"name\":\"Partner\",\"contact\":\"dpo@p.example\","
	"\"country\":\"CN\",\"purpose\":\"audience_insights\",\"categories\":[\"segment\"]}],"
	"\"methods\":[\"keyed hashing\"],\"categories\":[\"email\"],\"retention\":\"24 months\","
	"\"rights\":\"ask\",\"jurisdictions\":[\"CN\"],\"text\":\"notice\"}";

static sqlite3 *db;
static struct consent_ctx *ctx;
static int64_t brand;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_notice: invariant broken: %s\n", what);
		abort();
	}
}

static void cleanup(void)
{
	consent_ctx_free(ctx);
	sqlite3_close(db);
}

static void setup(void)
{
	check(sodium_init() >= 0, "sodium_init");
	check(sqlite3_open(":memory:", &db) == SQLITE_OK, "open");
	check(sqlite3_exec(db, consent_schema_v1, NULL, NULL, NULL) == SQLITE_OK, "schema");
	check(sqlite3_exec(db, consent_schema_v2, NULL, NULL, NULL) == SQLITE_OK, "schema");
	check(sqlite3_exec(db, consent_schema_v4, NULL, NULL, NULL) == SQLITE_OK, "schema");
	check(consent_ctx_new(db, &ctx) == CR_OK, "ctx");
	check(consent_brand_create(ctx, "fuzz", 0, &brand) == CR_OK, "brand");
	check(consent_notice_publish(ctx, brand, v1, strlen(v1), 0, NULL, NULL, 0) == CR_OK, "v1");
	atexit(cleanup);
}

static int notices(void)
{
	sqlite3_stmt *st;
	int n = -1;

	check(sqlite3_prepare_v2(db, "SELECT count(*) FROM consent_notices", -1, &st, NULL) ==
		      SQLITE_OK,
	      "count");
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A published version reads back canonical, and checks to its hash. */
static void read_back(const struct consent_notice_published *pub)
{
	char *text = NULL;
	uint8_t stored[32], again[32];
	uint32_t version = 0;

	check(consent_notice_get(ctx, brand, pub->version, &text, stored) == CR_OK, "read back");
	check(memcmp(stored, pub->hash, 32) == 0, "stored hash");
	crypto_hash_sha256(again, (const uint8_t *)text, strlen(text));
	check(memcmp(again, pub->hash, 32) == 0, "hash is SHA-256 of the canonical text");
	check(consent_notice_check(text, strlen(text), &version, again, NULL, 0) == CR_OK,
	      "canonical text checks");
	check(version == pub->version && memcmp(again, pub->hash, 32) == 0, "canonical is a fixpoint");
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct consent_notice_published pub;
	char why[CONSENT_WHY_MAX];
	uint8_t hash[32];
	uint32_t version = 0;
	cr_err checked, rc;

	if (db == NULL)
		setup();
	checked = consent_notice_check((const char *)data, size, &version, hash, why, sizeof(why));
	check(checked == CR_OK || cr_err_http_status(checked) / 100 == 4, "check refusals are 4xx");
	check(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK, "begin");
	rc = consent_notice_publish(ctx, brand, (const char *)data, size, 1, &pub, why, sizeof(why));
	check(rc == CR_OK || cr_err_http_status(rc) / 100 == 4, "publish refusals are 4xx");
	check(checked == CR_OK || rc != CR_OK, "publish accepts only what checks");
	if (rc == CR_OK) {
		check(memcmp(pub.hash, hash, 32) == 0 && pub.version == version, "same hash");
		read_back(&pub);
	} else {
		check(notices() == 1, "a refused notice stores nothing");
	}
	check(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK, "rollback");
	return 0;
}
