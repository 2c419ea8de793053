/*
 * bench_audit.c: the audit log's performance goals (docs/architecture.md), measured
 * on a real database file with the store's pragmas (cleanroom/store.c:
 * journal_mode=WAL, synchronous=FULL, a 32 MiB page cache and
 * wal_autocheckpoint=10000, so a batch's COMMIT is one fsync of the WAL but
 * for a checkpoint every few batches; restated here, since a bench of audit/
 * links only audit/ and below, never cleanroom/):
 *
 *  - appends per second with group commit at batch sizes 1, 64, 256 and
 *    1000 (one transaction = the batch's appends + one signed checkpoint);
 *    goal >= 150,000/s at batch 1000;
 *  - inclusion-proof generation at 1M entries (from stored hashes);
 *  - full verification rate (every leaf, every stored hash, every
 *    checkpoint) over the 1M-entry log.
 *
 * Where a batched append's time goes (perf, issue 23): SQLite writing the
 * schema's rows: the leaf and its four search indexes (about a third), the
 * salt and its pseudonym index (a random insert for a new subject) and the
 * subject row (about a fifth), 1 + (trailing ones) hash rows, SHA-256 (about
 * a tenth). Those row writes alone, with no audit code, set the floor
 * printed under the batch-1000 figure.
 *
 * `make bench-audit`. BENCH_AUDIT_DIR picks the directory (default /tmp);
 * BENCH_AUDIT_ENTRIES the size of the big log (default 1000000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "audit/audit.h"

#define ORIGIN "bench.example/audit"

/* CPU seconds this process used (all threads): with other jobs on the
 * machine, wall time alone would not say whether we were slow or waiting. */
static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static _Noreturn void die(const char *what, cr_err rc)
{
	fprintf(stderr, "bench_audit: %s: %s\n", what, cr_strerror(rc));
	exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "bench_audit: %s: %s\n", sql, err ? err : "?");
		exit(1);
	}
}

static sqlite3 *db_create(const char *path)
{
	sqlite3 *db = NULL;
	char wal[600], shm[600];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	unlink(path);
	unlink(wal);
	unlink(shm);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("open", CR_ERR_IO);
	exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;"
		 " PRAGMA cache_size=-32768; PRAGMA wal_autocheckpoint=10000;");
	exec(db, audit_schema_v1);
	return db;
}

static void db_remove(sqlite3 *db, const char *path)
{
	char wal[600], shm[600];
	sqlite3_close(db);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	unlink(path);
	unlink(wal);
	unlink(shm);
}

/* A realistic entry: a consent event with a subject on every other one. */
static void entry_make(uint64_t i, struct audit_entry *e, char *detail, size_t cap,
		       uint8_t pseudonym[static 32])
{
	static const char *const types[] = { "consent.grant", "consent.withdraw",
					     "dataset.ingest", "match.release" };
	static const char *const tenants[] = { "brand-a", "brand-b", "brand-c" };
	static const char *const purposes[] = { "ads", "analytics" };
	memset(e, 0, sizeof(*e));
	snprintf(detail, cap, "rows=%llu", (unsigned long long)(i * 7 % 1000));
	e->event_type = types[i % 4];
	e->actor_role = "brand";
	e->actor_id = "token-17";
	e->tenant = tenants[i % 3];
	e->notice = "notice-1@3";
	e->purposes = purposes;
	e->n_purposes = 2;
	e->detail = detail;
	if (i % 2 == 0) {
		memset(pseudonym, 0, 32);
		memcpy(pseudonym, &i, sizeof(i));
		e->subject = pseudonym;
	}
}

/* Appends `total` entries in batches of `batch`, each batch one transaction
 * closed by a checkpoint; returns the seconds taken. */
static double run_batches(sqlite3 *db, struct audit_log *log, uint64_t first, uint64_t total,
			  uint64_t batch)
{
	int64_t t0 = cr_monotonic_ms();
	for (uint64_t done = 0; done < total;) {
		exec(db, "BEGIN IMMEDIATE");
		for (uint64_t k = 0; k < batch && done < total; k++, done++) {
			struct audit_entry e;
			char detail[32];
			uint8_t p[32];
			entry_make(first + done, &e, detail, sizeof(detail), p);
			cr_err rc = audit_log_append(log, &e, NULL);
			if (rc != CR_OK)
				die("append", rc);
		}
		cr_err rc = audit_log_checkpoint(log, NULL);
		if (rc != CR_OK)
			die("checkpoint", rc);
		exec(db, "COMMIT");
	}
	return (double)(cr_monotonic_ms() - t0) / 1000.0;
}

static void bench_appends(const char *dir, const struct audit_signer *s)
{
	static const struct {
		uint64_t batch, total;
	} runs[] = { { 1, 2000 }, { 64, 64 * 400 }, { 256, 256 * 300 }, { 1000, 1000 * 200 } };
	char path[512];
	snprintf(path, sizeof(path), "%s/bench-append.db", dir);
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		sqlite3 *db = db_create(path);
		struct audit_log *log = NULL;
		cr_err rc = audit_log_open(db, ORIGIN, s, &log, NULL, 0);
		if (rc != CR_OK)
			die("audit_log_open", rc);
		/* start from a log that already holds entries, as in service */
		run_batches(db, log, 0, 10000, 1000);
		double cpu0 = cpu_seconds();
		double secs = run_batches(db, log, 10000, runs[i].total, runs[i].batch);
		printf("append  batch %3llu: %8.0f appends/s  (%llu appends, %llu commits, %.2f s wall, "
		       "%.2f s cpu; WAL, synchronous=FULL)%s\n",
		       (unsigned long long)runs[i].batch, (double)runs[i].total / secs,
		       (unsigned long long)runs[i].total,
		       (unsigned long long)((runs[i].total + runs[i].batch - 1) / runs[i].batch), secs,
		       cpu_seconds() - cpu0, runs[i].batch == 1000 ? "  goal >= 150000/s" : "");
		audit_log_free(log);
		db_remove(db, path);
	}
}

/* One prepared statement of the floor run; dies on an error. */
static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench_audit: %s: %s\n", sql, sqlite3_errmsg(db));
		exit(1);
	}
	return st;
}

static void step_once(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		die("floor step", CR_ERR_STORE);
}

/* The rows of entry i written with plain SQL: the salt lookup, salt and
 * subject rows, the leaf, and 1 + (trailing ones of i) hash rows. */
static void floor_entry(sqlite3_stmt *const st[5], uint64_t i)
{
	static const uint8_t zero[AUDIT_HASH_BYTES];
	struct audit_entry e;
	struct audit_leaf leaf;
	char detail[32];
	uint8_t p[32], *bytes = NULL;
	size_t len = 0;
	entry_make(i, &e, detail, sizeof(detail), p);
	leaf = (struct audit_leaf){ .sequence = i, .time_ms = cr_time_now(),
		.event_type = e.event_type, .actor_role = e.actor_role, .actor_id = e.actor_id,
		.tenant = e.tenant, .notice = e.notice, .purposes = e.purposes,
		.n_purposes = e.n_purposes, .has_subject = e.subject != NULL, .detail = e.detail };
	if (audit_leaf_encode(&leaf, &bytes, &len) != CR_OK)
		die("floor encode", CR_ERR_INTERNAL);
	if (e.subject) {
		sqlite3_bind_blob(st[0], 1, p, 32, SQLITE_STATIC);
		step_once(st[0]);
		sqlite3_bind_blob(st[1], 1, p, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st[1], 2, zero, 32, SQLITE_STATIC);
		step_once(st[1]);
		sqlite3_bind_int64(st[2], 1, sqlite3_last_insert_rowid(sqlite3_db_handle(st[1])));
		sqlite3_bind_int64(st[2], 2, (sqlite3_int64)i);
		step_once(st[2]);
	}
	sqlite3_bind_int64(st[3], 1, (sqlite3_int64)i);
	sqlite3_bind_int64(st[3], 2, leaf.time_ms);
	sqlite3_bind_text(st[3], 3, e.event_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st[3], 4, e.tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st[3], 5, e.actor_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st[3], 6, bytes, (int)len, SQLITE_STATIC);
	step_once(st[3]);
	free(bytes);
	for (unsigned level = 0; level == 0 || ((i >> (level - 1)) & 1); level++) {
		sqlite3_bind_int64(st[4], 1, (sqlite3_int64)(2 * i - (uint64_t)__builtin_popcountll(i) + level));
		sqlite3_bind_blob(st[4], 2, zero, 32, SQLITE_STATIC);
		step_once(st[4]);
	}
}

/*
 * The floor under the batch-1000 figure: the same rows in the same
 * transactions with the same pragmas, written with plain prepared SQL and
 * nothing else (no size read, no hashing, no checkpoint): what SQLite
 * takes for the schema's writes on this machine.
 */
static void bench_floor(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/bench-floor.db", dir);
	sqlite3 *db = db_create(path);
	sqlite3_stmt *st[5] = {
		prep(db, "SELECT id, salt FROM audit_salts WHERE pseudonym = ?1"),
		prep(db, "INSERT INTO audit_salts(pseudonym, salt) VALUES (?1, ?2)"),
		prep(db, "INSERT INTO audit_subjects(subject, idx) VALUES (?1, ?2)"),
		prep(db, "INSERT INTO audit_leaves(idx, time_ms, type, tenant, actor, data)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
		prep(db, "INSERT INTO audit_hashes(id, hash) VALUES (?1, ?2)"),
	};
	const uint64_t warm = 10000, total = 200000, batch = 1000;
	int64_t t0 = 0;
	double cpu0 = 0;
	for (uint64_t i = 0; i < warm + total; i++) {
		if (i % batch == 0) {
			if (i > 0)
				exec(db, "COMMIT");
			if (i == warm) {
				t0 = cr_monotonic_ms();
				cpu0 = cpu_seconds();
			}
			exec(db, "BEGIN IMMEDIATE");
		}
		floor_entry(st, i);
	}
	exec(db, "COMMIT");
	double secs = (double)(cr_monotonic_ms() - t0) / 1000.0;
	printf("floor   batch 1000: %8.0f appends/s  (the same rows with plain SQL, no audit code: "
	       "%.2f s wall, %.2f s cpu)\n", (double)total / secs, secs, cpu_seconds() - cpu0);
	for (size_t i = 0; i < 5; i++)
		sqlite3_finalize(st[i]);
	db_remove(db, path);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void bench_proofs(struct audit_log *log, uint64_t n)
{
	enum { PROOFS = 20000 };
	static double us[PROOFS];
	uint8_t root[AUDIT_HASH_BYTES];
	cr_err rc = audit_log_root(log, n, root);
	if (rc != CR_OK)
		die("root", rc);
	for (int i = 0; i < PROOFS; i++) {
		struct audit_proof p;
		uint64_t idx = randombytes_uniform((uint32_t)n);
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		rc = audit_log_prove_inclusion(log, idx, n, &p);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (rc != CR_OK)
			die("prove", rc);
		us[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	}
	qsort(us, PROOFS, sizeof(us[0]), cmp_double);
	double sum = 0;
	for (int i = 0; i < PROOFS; i++)
		sum += us[i];
	printf("prove   inclusion at %llu entries: mean %.1f us, p50 %.1f us, p99 %.1f us, "
	       "max %.1f us  (%d proofs; goal <= 1000 us)\n", (unsigned long long)n,
	       sum / PROOFS, us[PROOFS / 2], us[PROOFS * 99 / 100], us[PROOFS - 1], PROOFS);

	/* the whole tlog-proof text, with the leaf and the signed checkpoint */
	int64_t t0 = cr_monotonic_ms();
	for (int i = 0; i < 2000; i++) {
		char *text = NULL;
		size_t len = 0;
		rc = audit_log_tlog_proof(log, randombytes_uniform((uint32_t)n), &text, &len);
		if (rc != CR_OK)
			die("tlog proof", rc);
		free(text);
	}
	printf("prove   tlog-proof text at %llu entries: %.1f us each\n", (unsigned long long)n,
	       (double)(cr_monotonic_ms() - t0) * 1000.0 / 2000);
}

static void bench_verify(sqlite3 *db, const struct audit_signer *s, uint64_t n)
{
	struct audit_verifier v;
	struct audit_verify_report rep;
	cr_err rc = audit_verifier_from_signer(s, &v);
	if (rc != CR_OK)
		die("verifier", rc);
	int64_t t0 = cr_monotonic_ms();
	double cpu0 = cpu_seconds();
	rc = audit_log_verify(db, ORIGIN, &v, NULL, 0, &rep);
	double secs = (double)(cr_monotonic_ms() - t0) / 1000.0, cpu = cpu_seconds() - cpu0;
	if (rc != CR_OK) {
		fprintf(stderr, "bench_audit: verify: %s\n", rep.problem);
		exit(1);
	}
	printf("verify  %llu leaves, %llu hashes, %llu checkpoints: %.2f s wall (%.2f s cpu, 2 "
	       "threads) = %.0f leaves/s  (goal >= 500000/s)\n", (unsigned long long)rep.size,
	       (unsigned long long)rep.hashes, (unsigned long long)rep.checkpoints, secs, cpu,
	       (double)n / secs);
}

int main(void)
{
	const char *dir = getenv("BENCH_AUDIT_DIR");
	const char *entries = getenv("BENCH_AUDIT_ENTRIES");
	uint64_t n = 1000000;
	uint8_t seed[32] = { 1 };
	struct audit_signer *s = NULL;
	struct audit_log *log = NULL;
	char path[512];
	cr_err rc;

	if (sodium_init() < 0)
		die("sodium_init", CR_ERR_INTERNAL);
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if (entries && *entries && cr_parse_u64(entries, 1000, 100000000, &n) != CR_OK)
		die("BENCH_AUDIT_ENTRIES", CR_ERR_USAGE);
	rc = audit_signer_from_seed("bench.example/audit", seed, &s);
	if (rc != CR_OK)
		die("signer", rc);
	printf("bench-audit: SQLite %s, database files in %s, %ld cores\n", sqlite3_libversion(), dir,
	       sysconf(_SC_NPROCESSORS_ONLN));

	bench_appends(dir, s);
	bench_floor(dir);

	snprintf(path, sizeof(path), "%s/bench-1m.db", dir);
	sqlite3 *db = db_create(path);
	rc = audit_log_open(db, ORIGIN, s, &log, NULL, 0);
	if (rc != CR_OK)
		die("audit_log_open", rc);
	double secs = run_batches(db, log, 0, n, 4096);
	printf("build   %llu entries in batches of 4096: %.1f s = %.0f appends/s\n",
	       (unsigned long long)n, secs, (double)n / secs);
	bench_proofs(log, n);
	bench_verify(db, s, n);
	audit_log_free(log);
	db_remove(db, path);
	audit_signer_free(s);
	return 0;
}
