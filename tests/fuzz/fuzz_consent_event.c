/*
 * fuzz_consent_event.c: libFuzzer target for the consent-event NDJSON
 * parser (consent/event.c) and what follows it: recording the event
 * (consent/registry.c) and the stream reader of consent_import_stream
 * (consent/import.c), against an in-memory registry with one brand, one
 * notice and a real keyring in a temporary folder.
 *
 * Invariants: a refused line stores nothing; a refusal message never
 * contains the line's subject; an accepted line's event passes the same
 * checks again when recorded, or is refused with a 4xx code (unknown
 * notice, purpose or recipient), never a 5xx.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address -I. tests/fuzz/fuzz_consent_event.c \
 *        consent/\*.c crypto/\*.c common/\*.c -lsodium -lsqlite3 -ljansson
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "consent/consent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char notice[] =
	"{\"version\":1,\"language\":\"zh-CN\",\"material\":true,"
	"\"controller\":{\"name\":\"Example Brand Ltd.\",\"contact\":\"privacy@brand.example\"},"
	"\"purposes\":[{\"code\":\"ads_measurement\",\"description\":\"m\",\"sensitive\":false},"
	"{\"code\":\"audience_insights\",\"description\":\"a\",\"sensitive\":false}],"
	"\"recipients\":[{\"id\":\"partner-1\",\"name\":\"Partner\",\"contact\":\"dpo@p.example\","
	"\"country\":\"CN\",\"purpose\":\"audience_insights\",\"categories\":[\"segment\"]}],"
	"\"methods\":[\"keyed hashing\"],\"categories\":[\"email\"],\"retention\":\"24 months\","
	"\"rights\":\"ask\",\"jurisdictions\":[\"CN\"],\"text\":\"notice\"}";

static struct {
	sqlite3 *db;
	struct consent_ctx *ctx;
	struct crypto_keyring *kr;
	struct consent_importer *imp;
	int64_t brand;
	char dir[64];
} w;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_consent_event: invariant broken: %s\n", what);
		abort();
	}
}

static cr_err no_purge(void *user, int64_t brand, const struct crypto_pseudonym *p,
		       const char *purpose, const char *recipient)
{
	(void)user;
	(void)brand;
	(void)p;
	(void)purpose;
	(void)recipient;
	return CR_OK;
}

static void cleanup(void)
{
	char path[128];

	consent_importer_free(w.imp);
	consent_ctx_free(w.ctx);
	sqlite3_close(w.db);
	crypto_keyring_free(w.kr);
	snprintf(path, sizeof(path), "%s/keys/master.key", w.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/keys/sign.key", w.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/keys", w.dir);
	rmdir(path);
	rmdir(w.dir);
}

static void setup(void)
{
	char keys[128];

	snprintf(w.dir, sizeof(w.dir), "/tmp/fuzz-consent-XXXXXX");
	check(mkdtemp(w.dir) != NULL, "mkdtemp");
	snprintf(keys, sizeof(keys), "%s/keys", w.dir);
	check(crypto_keys_create(keys, "fuzz") == CR_OK, "keys");
	check(crypto_keyring_open(keys, &w.kr) == CR_OK, "keyring");
	check(sqlite3_open(":memory:", &w.db) == SQLITE_OK, "open");
	check(sqlite3_exec(w.db, consent_schema_v1, NULL, NULL, NULL) == SQLITE_OK, "schema");
	check(sqlite3_exec(w.db, consent_schema_v2, NULL, NULL, NULL) == SQLITE_OK, "schema");
	check(sqlite3_exec(w.db, consent_schema_v4, NULL, NULL, NULL) == SQLITE_OK, "schema");
	check(consent_ctx_new(w.db, &w.ctx) == CR_OK, "ctx");
	consent_set_purge_callback(w.ctx, no_purge, NULL);
	check(consent_brand_create(w.ctx, "fuzz", 0, &w.brand) == CR_OK, "brand");
	check(consent_notice_publish(w.ctx, w.brand, notice, strlen(notice), 0, NULL, NULL, 0) ==
		      CR_OK,
	      "notice");
	check(consent_importer_new(w.ctx, w.kr, w.brand, NULL, &w.imp) == CR_OK, "importer");
	atexit(cleanup);
}

static int events(void)
{
	sqlite3_stmt *st;
	int n = -1;

	check(sqlite3_prepare_v2(w.db, "SELECT count(*) FROM consent_events", -1, &st, NULL) ==
		      SQLITE_OK,
	      "count");
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* One line: parse, then record inside a transaction that is rolled back. */
static void one_line(const uint8_t *data, size_t size)
{
	struct consent_event ev;
	struct consent_change ch;
	char why[CONSENT_WHY_MAX];
	cr_err rc = consent_event_parse(w.imp, (const char *)data, size, 1790000000000LL, &ev, why,
					sizeof(why));

	if (rc != CR_OK) {
		check(cr_err_http_status(rc) >= 400 && cr_err_http_status(rc) < 500,
		      "parse refusals are 4xx");
		check(strstr(why, "@example.") == NULL, "refusal echoes a subject");
		return;
	}
	check(sqlite3_exec(w.db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK, "begin");
	rc = consent_record(w.ctx, w.brand, &ev, &ch, why, sizeof(why));
	check(rc == CR_OK || cr_err_http_status(rc) < 500, "a parsed event records or is refused");
	check(rc == CR_OK || events() == 0, "a refused event stores nothing");
	check(sqlite3_exec(w.db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK, "rollback");
}

/* The same bytes as a stream of lines (the bounded reader). */
static void stream(const uint8_t *data, size_t size)
{
	struct consent_import_summary sum;
	FILE *in;

	if (size == 0)
		return;
	in = fmemopen((void *)data, size, "r");
	check(in != NULL, "fmemopen");
	check(sqlite3_exec(w.db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK, "begin");
	check(consent_import_stream(w.imp, in, 1790000000000LL, NULL, &sum) == CR_OK,
	      "a stream of bad lines is not a failure");
	/* every line is blank, refused, or accepted; an accepted line stores one
	 * change, or up to CONSENT_SPLIT_MAX when a withdrawal names several scopes */
	check(sum.lines >= sum.blank + sum.refused, "summary adds up");
	uint64_t accepted = sum.lines - sum.blank - sum.refused;
	check(sum.stored + sum.duplicates >= accepted &&
	      sum.stored + sum.duplicates <= accepted * CONSENT_SPLIT_MAX, "summary adds up");
	check(sqlite3_exec(w.db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK, "rollback");
	fclose(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (w.db == NULL)
		setup();
	one_line(data, size);
	stream(data, size);
	return 0;
}
