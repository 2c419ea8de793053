/*
 * bench_onboard.c: `make bench-onboard` (and `make bench-ingest`, the same
 * run): a brand's first day with the real binary, from `cleanroom synth
 * --customers BENCH_CUSTOMERS` (default 1,000,000): the consent history's
 * import, then the customer list's ingest through the consent gate. For
 * each, whole-process wall time, rate and peak RSS; then the total, and
 * the same figures extrapolated linearly to 10M customers (a measurement
 * only at the size run; run BENCH_CUSTOMERS=2000000 for the base).
 *
 * In the same run, the crypto floor of the ingest: per admitted row one
 * HMAC pseudonym, one hash-to-group and one scalar multiplication, the
 * last two on the worker pool with the same thread count. Goals (issue
 * 23): import >= 100,000 events/s, ingest <= 1.3x its floor, each peak RSS
 * <= 256 MiB, the whole onboarding of 1M customers <= 60 s on 2 cores.
 * BENCH_ROWS is an older name for BENCH_CUSTOMERS.
 *
 * BENCH_SUITE names the dataset's PSI suite (default x25519-ell2-sha512, the
 * default of `dataset create`); the floor is costed in that suite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "bench_child.h"

static const char *binary;
static char work[128];
static const char *suite_name = "x25519-ell2-sha512";
static enum crypto_psi_suite suite = CRYPTO_PSI_X25519;

static void die(const char *what)
{
	fprintf(stderr, "bench-onboard: %s failed\n", what);
	exit(1);
}

static void path(char *buf, size_t cap, const char *leaf)
{
	snprintf(buf, cap, "%s/%s", work, leaf);
}

/* The integer after "key": in a --json report (the last one), or 0. */
static uint64_t from_report(const char *report, const char *key)
{
	char *text = NULL, *p;
	size_t cap = 0;
	FILE *f = fopen(report, "r");
	char pat[64];
	uint64_t n = 0;
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	if (f == NULL)
		return 0;
	while (getline(&text, &cap, f) > 0)
		if ((p = strstr(text, pat)) != NULL)
			n = strtoull(p + strlen(pat), NULL, 10);
	free(text);
	fclose(f);
	return n;
}

/* The crypto floor for n rows on `threads` threads, in ms. */
static double crypto_floor_ms(uint64_t n, unsigned threads)
{
	struct crypto_pool *pool = NULL;
	uint8_t key[32], k[32], *digests = malloc(n * 32), *elems = malloc(n * 32);
	struct crypto_pseudonym p;
	int64_t t0, t1, t2;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(digests, n * 32);
	crypto_psi_scalar_random(k);
	if (crypto_pool_create(threads, &pool) != CR_OK)
		die("pool");
	t0 = cr_monotonic_ms();
	for (uint64_t i = 0; i < n; i++)
		crypto_pseudonym_with_key(key, 1, CRYPTO_ID_EMAIL, digests + i * 32, &p);
	t1 = cr_monotonic_ms();
	if (crypto_psi_hash_batch(pool, suite, CRYPTO_ID_EMAIL, digests, elems, n) != CR_OK ||
	    crypto_psi_mul_batch(pool, suite, k, elems, elems, n, NULL) != CR_OK)
		die("floor batch");
	t2 = cr_monotonic_ms();
	printf("crypto floor for %llu rows in %s: HMAC %.2f s (1 thread) + hash-to-group and scalar mult "
	       "%.2f s (%u threads)\n", (unsigned long long)n, suite_name, (t1 - t0) / 1000.0,
	       (t2 - t1) / 1000.0, crypto_pool_threads(pool));
	crypto_pool_free(pool);
	free(digests);
	free(elems);
	return (double)(t2 - t0);
}

static void report_line(const char *what, int64_t ms, uint64_t n, const char *unit, long rss_kib)
{
	printf("%s: whole process %.2f s wall, %.0f %s/s, peak RSS %ld KiB (%.0f MiB; goal <= 256)\n", what,
	       ms / 1000.0, (double)n / (ms / 1000.0), unit, rss_kib, rss_kib / 1024.0);
}

int main(void)
{
	char data[160], synth[160], customers[192], notice[192], consent[192], report[160], imported[160];
	char n_s[32];
	const char *n_env = getenv("BENCH_CUSTOMERS"), *su = getenv("BENCH_SUITE");
	uint64_t rows;
	int64_t ms_synth = 0, ms_import = 0, ms_dataset = 0, ms_ingest = 0;
	long rss_import = 0, rss_ingest = 0;

	if (n_env == NULL)
		n_env = getenv("BENCH_ROWS");
	rows = n_env ? strtoull(n_env, NULL, 10) : 1000000;
	binary = getenv("CLEANROOM");
	if (binary == NULL || sodium_init() < 0 || rows == 0)
		die("CLEANROOM=path/to/cleanroom, BENCH_CUSTOMERS > 0 and libsodium");
	if (su != NULL) {
		if (crypto_psi_suite_parse(su, &suite) != CR_OK)
			die("BENCH_SUITE=x25519-ell2-sha512|r255-sha512");
		suite_name = su;
	}
	snprintf(work, sizeof(work), "/tmp/cr-bench-onboard-XXXXXX");
	if (mkdtemp(work) == NULL)
		die("mkdtemp");
	path(data, sizeof(data), "data");
	path(synth, sizeof(synth), "synth");
	snprintf(customers, sizeof(customers), "%s/customers.csv", synth);
	snprintf(notice, sizeof(notice), "%s/notice.json", synth);
	snprintf(consent, sizeof(consent), "%s/consent.ndjson", synth);
	path(report, sizeof(report), "ingest.json");
	path(imported, sizeof(imported), "import.json");
	snprintf(n_s, sizeof(n_s), "%llu", (unsigned long long)rows);
	printf("bench-onboard: %llu customers, %ld online cores\n", (unsigned long long)rows,
	       sysconf(_SC_NPROCESSORS_ONLN));

	if (bench_run(binary, BENCH_ARGV("synth", "--customers", n_s, "--seed", "5", "--out", synth), &ms_synth,
		      NULL, NULL) != 0)
		die("synth");
	printf("setup: synth %.1f s (not part of the onboarding)\n", ms_synth / 1000.0);
	if (bench_brand(binary, data, notice) != 0)
		die("init/brand/notice/pia");

	if (bench_run(binary, BENCH_ARGV("consent", "import", "--brand", "acme", consent, "--json", "--data", data),
		      &ms_import, &rss_import, imported) != 0)
		die("consent import");
	uint64_t lines = from_report(imported, "lines"), stored = from_report(imported, "stored");
	printf("consent import: %llu lines, %llu events stored (one audit leaf each)\n",
	       (unsigned long long)lines, (unsigned long long)stored);
	report_line("consent import", ms_import, stored, "events", rss_import);

	if (bench_dataset(binary, data, "crm", suite_name, &ms_dataset) != 0)
		die("dataset create");

	if (bench_run(binary,
		      BENCH_ARGV("ingest", "--brand", "acme", "--dataset", "crm", customers, "--json", "--data", data),
		      &ms_ingest, &rss_ingest, report) != 0)
		die("ingest");
	uint64_t accepted = from_report(report, "accepted");
	printf("ingest: %llu rows read, %llu accepted\n", (unsigned long long)rows, (unsigned long long)accepted);
	report_line("ingest", ms_ingest, rows, "rows", rss_ingest);
	double floor = crypto_floor_ms(accepted, 0);
	printf("ratio of ingest time to its crypto floor (same run): %.2f (goal <= 1.3)\n",
	       (double)ms_ingest / floor);

	int64_t total = ms_import + ms_dataset + ms_ingest;
	double scale = 10e6 / (double)rows;
	printf("onboarding of %llu customers (import + dataset + ingest): %.1f s (goal for 1M: <= 60 s)\n",
	       (unsigned long long)rows, total / 1000.0);
	printf("extrapolated linearly to 10M customers from this run (not measured): import %.0f s, "
	       "ingest %.0f s, total %.0f s\n", ms_import * scale / 1000.0, ms_ingest * scale / 1000.0,
	       total * scale / 1000.0);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
	if (system(cmd) != 0)
		fprintf(stderr, "bench-onboard: could not remove %s\n", work);
	return 0;
}
