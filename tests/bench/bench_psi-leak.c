/*
 * bench_psi-leak.c: `make bench-psi-leak`. Does the time of the rounds that
 * follow a partner's message tell it how many records matched, or how many
 * of A's positions are real? (issue 21, item 2; docs/spec/psi-protocol.md,
 * sections 6 and 11.)
 *
 * One dataset "crm" of BENCH_CUSTOMERS synthetic customers (default 50,000)
 * and one "half" of the first half of them, each with a collaboration of the
 * same pad_to (so the same |A|). Two partner lists of BENCH_PARTNER rows
 * (default a fifth of the customers) from the same seed: one with no
 * customer in it (0 % overlap) and one of customers only (100 %). Three
 * matches, each BENCH_RUNS times (default 5) in turn, through the real
 * binary in local mode (`cleanroom match --json`, which reports each
 * round's time as the partner sees it):
 *
 *   none   crm  x the 0 % list
 *   all    crm  x the 100 % list
 *   half   half x the 100 % list: half of A is padding
 *
 * It prints the median of round 6 (`release`: from sending A' to the
 * release) and of rounds 3-4 (`service_b`: from sending B to receiving A),
 * the ratios all/none and half/all of each (goal <= 1.05: the time must not
 * move with the overlap or with the share of padding), and each match's
 * whole-process wall time, peak RSS and CPU time (user and system: the
 * session's randomness is one ChaCha20 stream, not a system call a draw).
 *
 * With an older binary that has no --pad-to, the two collaborations fall
 * back to their default padding and the half/all ratio compares different
 * |A| (said in the output).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "bench_child.h"

#define ARGV BENCH_ARGV

static const char *binary;
static char work[256], data[300];

static void die(const char *what)
{
	fprintf(stderr, "bench-psi-leak: %s failed (work dir %s)\n", what, work);
	exit(1);
}

static void path(char *buf, size_t cap, const char *leaf)
{
	snprintf(buf, cap, "%s/%s", work, leaf);
}

static void must(char *const argv[], const char *what)
{
	if (bench_child_run(binary, argv, NULL, NULL) != 0)
		die(what);
}

/* Copies the header and the first `rows` rows of a CSV. */
static void head_csv(const char *from, const char *to, unsigned long rows)
{
	FILE *in = fopen(from, "r"), *out = fopen(to, "w");
	char line[4096];
	unsigned long n = 0;
	if (in == NULL || out == NULL)
		die("copying the customers");
	while (fgets(line, sizeof(line), in) && n <= rows) {
		fputs(line, out);
		n++;
	}
	fclose(in);
	if (fclose(out) != 0)
		die("writing the half list");
}

static bool same_file(const char *a, const char *b)
{
	FILE *fa = fopen(a, "r"), *fb = fopen(b, "r");
	int ca, cb;
	bool same = fa && fb;
	while (same) {
		ca = fgetc(fa);
		cb = fgetc(fb);
		same = ca == cb;
		if (ca == EOF || cb == EOF)
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

static bool has_pad_to = true;

static void collab(const char *dataset, const char *pad_to)
{
	if (bench_child_run(binary, ARGV("collab", "create", "--brand", "acme", "--dataset", (char *)dataset,
					 "--partner", "partner-1", "--dimensions", "segment", "--metrics",
					 "count,sum:spend", "--epsilon", "0.5", "--budget", "1000", "--pad-to",
					 (char *)pad_to, "--data", data), NULL, NULL) == 0)
		return;
	has_pad_to = false; /* an older binary */
	must(ARGV("collab", "create", "--brand", "acme", "--dataset", (char *)dataset, "--partner", "partner-1",
		  "--dimensions", "segment", "--metrics", "count,sum:spend", "--epsilon", "0.5", "--budget", "1000",
		  "--data", data), "collab create");
}

static void setup(unsigned long customers, unsigned long partner)
{
	char s0[300], s1[300], c0[320], c1[320], half[320], notice[320], consent[320], n[24], m[24], pad[24];
	path(s0, sizeof(s0), "synth0");
	path(s1, sizeof(s1), "synth1");
	snprintf(n, sizeof(n), "%lu", customers);
	snprintf(m, sizeof(m), "%lu", partner);
	/* a pad_to that holds every stored record: all of A real for crm, half of it for half */
	snprintf(pad, sizeof(pad), "%lu", customers < 64 ? 64 : customers);
	must(ARGV("synth", "--customers", n, "--partner-rows", m, "--overlap", "0", "--seed", "9", "--out", s0),
	     "synth (0 % overlap)");
	must(ARGV("synth", "--customers", n, "--partner-rows", m, "--overlap", "1", "--seed", "9", "--out", s1),
	     "synth (100 % overlap)");
	snprintf(c0, sizeof(c0), "%s/customers.csv", s0);
	snprintf(c1, sizeof(c1), "%s/customers.csv", s1);
	if (!same_file(c0, c1))
		die("the two synth runs giving the same customers");
	snprintf(half, sizeof(half), "%s/half.csv", work);
	head_csv(c0, half, customers / 2);
	snprintf(notice, sizeof(notice), "%s/notice.json", s0);
	snprintf(consent, sizeof(consent), "%s/consent.ndjson", s0);
	if (bench_brand(binary, data, notice) != 0)
		die("init/brand/notice/pia");
	must(ARGV("consent", "import", "--brand", "acme", consent, "--data", data), "consent import");
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "half" : "crm";
		if (bench_dataset(binary, data, name, "x25519-ell2-sha512", NULL) != 0)
			die("dataset create");
		must(ARGV("ingest", "--brand", "acme", "--dataset", (char *)name, i ? half : c0, "--data", data),
		     "ingest");
		collab(name, pad);
	}
}

enum { NONE, ALL, HALF, CASES };
static const char *const case_names[CASES] = { "none", "all", "half" };

struct sample {
	double release_ms, service_b_ms;
	struct bench_child child;
	uint64_t elements;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void match(int which, const char *threads, struct sample *out)
{
	char list[320], json_path[320];
	const char *collab_id = which == HALF ? "2" : "1";
	json_t *j, *t;
	snprintf(list, sizeof(list), "%s/%s/partner.csv", work, which == NONE ? "synth0" : "synth1");
	path(json_path, sizeof(json_path), "match.json");
	/* A refusal under k (the 0 % list) exits non-zero but still prints its timings. */
	(void)bench_child_run(binary, ARGV("match", "--collab", (char *)collab_id, "--ids", list, "--group-by",
					   "segment", "--metrics", "count,sum:spend", "--threads", (char *)threads,
					   "--json", "--data", data), json_path, &out->child);
	j = json_load_file(json_path, 0, NULL);
	t = json_object_get(j, "timings_ms");
	if (t == NULL)
		die("reading the match's timings");
	out->release_ms = (double)json_integer_value(json_object_get(t, "release"));
	out->service_b_ms = (double)json_integer_value(json_object_get(t, "service_b"));
	out->elements = (uint64_t)json_integer_value(json_object_get(j, "elements"));
	json_decref(j);
}

int main(void)
{
	const char *cn = getenv("BENCH_CUSTOMERS"), *pn = getenv("BENCH_PARTNER"), *rn = getenv("BENCH_RUNS");
	const char *th = getenv("BENCH_THREADS"), *dir = getenv("BENCH_DIR");
	unsigned long customers = cn ? strtoul(cn, NULL, 10) : 50000, partner = pn ? strtoul(pn, NULL, 10) : 0;
	unsigned runs = rn ? (unsigned)strtoul(rn, NULL, 10) : 5;
	char threads[16], db[320];
	double rel[CASES][64], sb[CASES][64], med_rel[CASES], med_sb[CASES];
	struct sample last[CASES];
	struct stat st;

	binary = getenv("CLEANROOM");
	if (binary == NULL)
		die("CLEANROOM=path/to/cleanroom");
	if (partner == 0)
		partner = customers / 5 < 1000 ? 1000 : customers / 5;
	if (runs < 1 || runs > 64 || customers < 2000)
		die("BENCH_RUNS in 1..64 and BENCH_CUSTOMERS >= 2000");
	snprintf(threads, sizeof(threads), "%s", th ? th : "0");
	if (!th)
		snprintf(threads, sizeof(threads), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	if (dir) {
		snprintf(work, sizeof(work), "%s", dir);
		mkdir(work, 0700);
	} else {
		snprintf(work, sizeof(work), "/tmp/cr-bench-leak-XXXXXX");
		if (mkdtemp(work) == NULL)
			die("mkdtemp");
	}
	path(data, sizeof(data), "data");
	snprintf(db, sizeof(db), "%s/cleanroom.db", data);
	printf("bench-psi-leak: %lu customers (and a dataset of the first half), %lu partner rows, %u runs, "
	       "%ld online cores, %s threads\n", customers, partner, runs, sysconf(_SC_NPROCESSORS_ONLN), threads);
	if (stat(db, &st) != 0)
		setup(customers, partner);
	else
		printf("setup: reusing %s\n", work);

	for (unsigned r = 0; r < runs; r++)
		for (int c = 0; c < CASES; c++) {
			int which = (int)((r + (unsigned)c) % CASES); /* rotate the order from run to run */
			match(which, threads, &last[which]);
			rel[which][r] = last[which].release_ms;
			sb[which][r] = last[which].service_b_ms;
		}
	for (int c = 0; c < CASES; c++) {
		med_rel[c] = median(rel[c], runs);
		med_sb[c] = median(sb[c], runs);
		printf("%-5s |A| = %llu: round 6 median %.0f ms, rounds 3-4 median %.0f ms; last run whole process "
		       "%.2f s wall, peak RSS %ld KiB, CPU %.2f s user + %.2f s system\n", case_names[c],
		       (unsigned long long)last[c].elements, med_rel[c], med_sb[c], last[c].child.wall_ms / 1000.0,
		       last[c].child.rss_kib, last[c].child.user_s, last[c].child.sys_s);
	}
	printf("overlap 100 %% / 0 %%: round 6 %.3f, rounds 3-4 %.3f (goal <= 1.05 each)\n",
	       med_rel[ALL] / med_rel[NONE], med_sb[ALL] / med_sb[NONE]);
	printf("half padding / all real%s: round 6 %.3f, rounds 3-4 %.3f (goal: within 1.05 of 1)\n",
	       has_pad_to && last[HALF].elements == last[ALL].elements ? " (same |A|)" : " (NOT the same |A|: no --pad-to)",
	       med_rel[HALF] / med_rel[ALL], med_sb[HALF] / med_sb[ALL]);
	if (dir == NULL) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
		if (system(cmd) != 0)
			fprintf(stderr, "bench-psi-leak: could not remove %s\n", work);
	}
	return 0;
}
