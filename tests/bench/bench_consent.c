/*
 * bench_consent.c: the consent registry's two budgets (issue 4), on one
 * core, on a file database with the store's settings (WAL,
 * synchronous=FULL, foreign keys):
 *   - event import: NDJSON lines parsed, normalized, keyed and stored, a
 *     transaction per 1000 and per 5000 lines; goal >= 50,000 events/s;
 *   - decisions: consent_valid_at; goal >= 200,000 decisions/s. Measured
 *     cold (every decision a different subject, in random order, so the
 *     subject's history is read from SQLite each time) and as ingestion
 *     asks (three decisions per subject: two purposes and one recipient).
 * Usage: bench_consent [subjects] (default 50,000; 4-5 events each);
 * BENCH_TUNED=1 adds the two settings the report suggests to the store's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "consent/consent.h"


static const char notice[] =
	"{\"version\":1,\"language\":\"zh-CN\",\"material\":true,"
	"\"controller\":{\"name\":\"Example Brand Ltd.\",\"contact\":\"privacy@brand.example\"},"
	"\"purposes\":[{\"code\":\"ads_measurement\",\"description\":\"m\",\"sensitive\":false},"
	"{\"code\":\"audience_insights\",\"description\":\"a\",\"sensitive\":false}],"
	"\"recipients\":[{\"id\":\"partner-1\",\"name\":\"Partner\",\"contact\":\"dpo@p.example\","
	"\"country\":\"CN\",\"purpose\":\"audience_insights\",\"categories\":[\"segment\"]}],"
	"\"methods\":[\"keyed hashing\"],\"categories\":[\"email\"],\"retention\":\"24 months\","
	"\"rights\":\"ask\",\"jurisdictions\":[\"CN\"],\"text\":\"notice\"}";

static void die(const char *what, cr_err rc)
{
	fprintf(stderr, "bench_consent: %s: %s\n", what, cr_strerror(rc));
	exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "bench_consent: %s: %s\n", sql, msg ? msg : "?");
		exit(1);
	}
}

static double seconds(int64_t a, int64_t b)
{
	return (double)(b - a) / 1000.0;
}

/* CPU time of this process in ms: on a shared machine the wall clock also
 * counts other people's work, so both are reported. */
static int64_t cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "N in W s wall (R/s), C s CPU (R/s)" */
static void report(const char *what, uint64_t n, int64_t w0, int64_t w1, int64_t c0, int64_t c1,
		   const char *tail)
{
	printf("%s: %llu in %.2f s wall (%.0f/s), %.2f s CPU (%.0f/s)%s\n", what,
	       (unsigned long long)n, seconds(w0, w1), (double)n / seconds(w0, w1),
	       seconds(c0, c1), (double)n / seconds(c0, c1), tail);
}

/* Appends subject i's story: served, two purpose grants, the sharing
 * grant; every tenth withdraws the sharing two months later. */
static size_t story(char *out, size_t cap, unsigned i)
{
	unsigned day = 1 + i % 28, sec = i % 60;
	int n = snprintf(out, cap,
		"{\"type\":\"served\",\"subject\":\"User%u@Example.com\",\"notice_version\":1,"
		"\"time\":\"2026-03-%02uT09:00:%02u+08:00\",\"channel\":\"web\"}\n"
		"{\"type\":\"grant\",\"subject\":\"user%u@example.com\",\"purpose\":\"ads_measurement\","
		"\"notice_version\":1,\"time\":\"2026-03-%02uT09:01:%02u+08:00\",\"method\":\"checkbox\","
		"\"channel\":\"web\",\"actor\":\"subject\",\"jurisdiction\":\"CN\",\"birth_year\":1990}\n"
		"{\"type\":\"grant\",\"subject\":\"user%u@example.com\",\"purpose\":\"audience_insights\","
		"\"notice_version\":1,\"time\":\"2026-03-%02uT09:02:%02u+08:00\",\"method\":\"checkbox\","
		"\"channel\":\"web\",\"actor\":\"subject\"}\n"
		"{\"type\":\"grant\",\"subject\":\"user%u@example.com\",\"purpose\":\"audience_insights\","
		"\"recipient\":\"partner-1\",\"notice_version\":1,\"time\":\"2026-03-%02uT09:03:%02u+08:00\","
		"\"method\":\"checkbox\",\"channel\":\"web\",\"actor\":\"subject\"}\n",
		i, day, sec, i, day, sec, i, day, sec, i, day, sec);
	if (i % 10 == 0 && n > 0 && (size_t)n < cap)
		n += snprintf(out + n, cap - (size_t)n,
			      "{\"type\":\"withdraw\",\"subject\":\"user%u@example.com\",\"purpose\":"
			      "\"audience_insights\",\"recipient\":\"partner-1\",\"time\":"
			      "\"2026-05-%02uT12:00:00Z\",\"received\":\"2026-05-%02uT12:00:00Z\"}\n",
			      i, day, day);
	return n > 0 ? (size_t)n : 0;
}

static cr_err commit_batch(void *user, uint64_t lines)
{
	sqlite3 *db = user;
	(void)lines;
	exec(db, "COMMIT");
	exec(db, "BEGIN IMMEDIATE");
	return CR_OK;
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

/* xorshift64*: a fixed shuffle so runs compare. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

struct world {
	char dir[64];
	sqlite3 *db;
	struct crypto_keyring *kr;
	struct consent_ctx *ctx;
	struct consent_importer *imp;
	int64_t brand;
};

static void setup(struct world *w)
{
	char path[128];
	cr_err rc;

	snprintf(w->dir, sizeof(w->dir), "/tmp/bench-consent-XXXXXX");
	if (mkdtemp(w->dir) == NULL)
		die("mkdtemp", CR_ERR_IO);
	snprintf(path, sizeof(path), "%s/keys", w->dir);
	if ((rc = crypto_keys_create(path, "bench")) != CR_OK ||
	    (rc = crypto_keyring_open(path, &w->kr)) != CR_OK)
		die("keys", rc);
	snprintf(path, sizeof(path), "%s/cleanroom.db", w->dir);
	if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		die("open", CR_ERR_IO);
	/* cleanroom/store.c's settings */
	exec(w->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
		    " PRAGMA secure_delete=ON; PRAGMA trusted_schema=OFF; PRAGMA cache_size=-32768;");
	/* BENCH_TUNED=1: what the report suggests adding (reads without a
	 * syscall per page; checkpoints every ~40 MB of WAL, not every 4 MB) */
	if (getenv("BENCH_TUNED") != NULL) {
		exec(w->db, "PRAGMA mmap_size=1073741824; PRAGMA wal_autocheckpoint=10000;");
		printf("tuned: mmap_size=1 GiB, wal_autocheckpoint=10000\n");
	}
	exec(w->db, consent_schema_v1);
	exec(w->db, consent_schema_v2);
	exec(w->db, consent_schema_v4);
	if ((rc = consent_ctx_new(w->db, &w->ctx)) != CR_OK)
		die("ctx", rc);
	consent_set_purge_callback(w->ctx, no_purge, NULL);
	if ((rc = consent_brand_create(w->ctx, "bench", 0, &w->brand)) != CR_OK ||
	    (rc = consent_notice_publish(w->ctx, w->brand, notice, strlen(notice), 0, NULL, NULL,
					 0)) != CR_OK ||
	    (rc = consent_importer_new(w->ctx, w->kr, w->brand, NULL, &w->imp)) != CR_OK)
		die("setup", rc);
}

static void teardown(struct world *w)
{
	char cmd[160];

	consent_importer_free(w->imp);
	consent_ctx_free(w->ctx);
	sqlite3_close(w->db);
	crypto_keyring_free(w->kr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_consent: could not remove %s\n", w->dir);
}

static void bench_import(struct world *w, unsigned subjects, size_t batch)
{
	size_t cap = (size_t)subjects * 1400 + 1, len = 0;
	char *text = malloc(cap);
	struct consent_import_hooks hooks = { NULL, commit_batch, batch, w->db, NULL };
	struct consent_import_summary sum;
	FILE *in;
	int64_t t0, t1, c0, c1;
	cr_err rc;

	for (unsigned i = 0; i < subjects; i++)
		len += story(text + len, cap - len, i);
	in = fmemopen(text, len, "r");
	c0 = cpu_ms();
	t0 = cr_monotonic_ms();
	exec(w->db, "BEGIN IMMEDIATE");
	rc = consent_import_stream(w->imp, in, cr_time_now(), &hooks, &sum);
	exec(w->db, "COMMIT");
	t1 = cr_monotonic_ms();
	c1 = cpu_ms();
	fclose(in);
	free(text);
	if (rc != CR_OK || sum.refused != 0)
		die("import", rc != CR_OK ? rc : sum.reasons[0].code);
	printf("import: %llu bytes of NDJSON, a transaction per %zu lines, COMMIT with"
	       " synchronous=FULL\n", (unsigned long long)len, batch);
	report("import, events stored", sum.stored, t0, t1, c0, c1, " (goal >= 50,000/s)");
}

static void bench_decisions(struct world *w, unsigned subjects)
{
	struct crypto_pseudonym *ps = malloc(subjects * sizeof(*ps));
	unsigned *order = malloc(subjects * sizeof(*order));
	cr_time_ms at = 1780000000000LL; /* 2026-05-28, after some withdrawals */
	uint64_t seed = 0x9e3779b97f4a7c15ULL, allowed = 0, n = 0;
	int64_t t0, t1, c0, c1;
	char tail[96];
	char email[64];

	for (unsigned i = 0; i < subjects; i++) {
		int len = snprintf(email, sizeof(email), "user%u@example.com", i);
		if (consent_importer_subject(w->imp, email, (size_t)len, NULL, &ps[i], NULL, NULL))
			die("subject", CR_ERR_INTERNAL);
		order[i] = i;
	}
	for (unsigned i = subjects; i > 1; i--) {
		unsigned j = (unsigned)(rnd(&seed) % i), x = order[i - 1];
		order[i - 1] = order[j];
		order[j] = x;
	}
	/* Ingestion decides inside its batch transaction: so does the bench
	 * (outside one, every statement takes and drops the WAL read lock). */
	exec(w->db, "BEGIN");
	/* cold: a different subject every time, random order, 4 passes */
	c0 = cpu_ms();
	t0 = cr_monotonic_ms();
	for (int pass = 0; pass < 4; pass++) {
		for (unsigned k = 0; k < subjects; k++) {
			struct consent_decision d;
			const char *purpose = (k & 1) ? "ads_measurement" : "audience_insights";
			if (consent_valid_at(w->ctx, w->brand, &ps[order[k]], purpose,
					     (k & 2) ? "partner-1" : NULL, at, 0, &d) != CR_OK)
				die("valid_at", CR_ERR_INTERNAL);
			allowed += d.allowed;
			n++;
		}
	}
	t1 = cr_monotonic_ms();
	c1 = cpu_ms();
	snprintf(tail, sizeof(tail), ", %.1f%% allowed (goal >= 200,000/s)",
		 100.0 * (double)allowed / (double)n);
	report("decisions, cold (each a different subject, random order)", n, t0, t1, c0, c1, tail);
	/* as ingestion asks: every purpose and the recipient for each row */
	n = allowed = 0;
	c0 = cpu_ms();
	t0 = cr_monotonic_ms();
	for (int pass = 0; pass < 4; pass++) {
		for (unsigned k = 0; k < subjects; k++) {
			static const char *const scope[3][2] = { { "ads_measurement", NULL },
								 { "audience_insights", NULL },
								 { "audience_insights", "partner-1" } };
			for (int s = 0; s < 3; s++) {
				struct consent_decision d;
				if (consent_valid_at(w->ctx, w->brand, &ps[order[k]], scope[s][0],
						     scope[s][1], at, 0, &d) != CR_OK)
					die("valid_at", CR_ERR_INTERNAL);
				allowed += d.allowed;
				n++;
			}
		}
	}
	t1 = cr_monotonic_ms();
	c1 = cpu_ms();
	snprintf(tail, sizeof(tail), ", %.1f%% allowed", 100.0 * (double)allowed / (double)n);
	report("decisions, per ingested row (2 purposes + 1 recipient)", n, t0, t1, c0, c1, tail);
	exec(w->db, "COMMIT");
	free(ps);
	free(order);
}

int main(int argc, char **argv)
{
	struct world w = { 0 };
	uint64_t subjects = 50000;

	if (argc > 1 && cr_parse_u64(argv[1], 1, 10000000, &subjects) != CR_OK) {
		fprintf(stderr, "usage: bench_consent [subjects]\n");
		return 2;
	}
	printf("consent bench: %llu subjects, one core, SQLite %s, the store's settings"
	       " (WAL, synchronous=FULL, 32 MiB cache)\n",
	       (unsigned long long)subjects, sqlite3_libversion());
	/* the import with two transaction sizes, each into a fresh store */
	setup(&w);
	bench_import(&w, (unsigned)subjects, 1000);
	teardown(&w);
	memset(&w, 0, sizeof(w));
	setup(&w);
	bench_import(&w, (unsigned)subjects, 5000);
	bench_decisions(&w, (unsigned)subjects);
	teardown(&w);
	return 0;
}
