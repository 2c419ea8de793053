/*
 * cli_synth.c: `cleanroom synth`, which writes deterministic synthetic test
 * data (a notice, customers, their consent events and a partner list) for
 * the demo, the tests and the benchmarks. The generator is cleanroom/synth.c;
 * this file parses the options, prepares the output directory and publishes
 * the four files.
 *
 * Files are written under temporary names in DIR and moved into place only
 * when all four are complete, so a failed run leaves no partial file behind.
 * Without --force an existing file is refused up front (and the final move
 * is link(), which cannot replace a file created meanwhile). DIR and the
 * files are private (0700/0600): they hold realistic personal data.
 *
 * Nothing personal is printed: the summary has counts only.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cleanroom/cli.h"
#include "cleanroom/progress.h"
#include "cleanroom/synth.h"

static const char *const VERB = "synth";

enum { F_NOTICE, F_CUSTOMERS, F_CONSENT, F_PARTNER, F_COUNT };
static const char *const file_names[F_COUNT] = { "notice.json", "customers.csv",
						 "consent.ndjson", "partner.csv" };

struct synth_opts {
	uint32_t customers, partner_rows, overlap_rows;
	double overlap;
	uint64_t seed;
	const char *out;
	bool force, json;
};

struct output {
	char *tmp[F_COUNT];   /* owned paths */
	char *final[F_COUNT]; /* owned paths */
	FILE *f[F_COUNT];
};

/* ------------------------------------------------------------- options */

static const char *usage_text(void)
{
	static char text[2048];
	size_t len;
	len = (size_t)snprintf(text, sizeof(text),
		"usage: cleanroom synth --customers N --out DIR [--overlap F] [--seed S]\n"
		"                       [--partner-rows M] [--force] [--json]\n\n"
		"Writes deterministic synthetic test data into DIR (created 0700, files 0600):\n"
		"  notice.json     a privacy notice (version 1, zh-CN, partner-1 as recipient)\n"
		"  customers.csv   email,phone,segment,region,age_band,spend with messy raw\n"
		"                  identifiers (case, spaces, gmail dots, +86 layouts)\n"
		"  consent.ndjson  the customers' consent events (docs/spec/formats.md)\n"
		"  partner.csv     email; round(F*M) rows are customers written differently,\n"
		"                  the rest new people, in shuffled order\n"
		"The same seed gives byte-identical files. Consent mix per 10,000 customers:");
	for (int k = 0; k < SYNTH_KIND_COUNT && len < sizeof(text); k++) {
		const struct synth_kind_info *ki = synth_kind_info((enum synth_kind)k);
		len += (size_t)snprintf(text + len, sizeof(text) - len, "\n  %5u %-12s %s",
					(unsigned)ki->per_10k, ki->name, ki->what);
	}
	return text;
}

/* Parses F in [0, 1] as a plain decimal ("0.5", "1", ".25"). */
static bool parse_fraction(const char *s, double *out)
{
	char *end = NULL;
	double v;
	if (s == NULL || !((*s >= '0' && *s <= '9') || *s == '.'))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0.0 && v <= 1.0))
		return false;
	*out = v;
	return true;
}

/* Checks and converts the option strings into *o; prints the usage error. */
static int opts_check(const char *customers, const char *overlap, const char *seed,
		      const char *partner_rows, struct synth_opts *o)
{
	uint64_t v;
	if (o->out == NULL || *o->out == '\0')
		return cli_usage_error(VERB, "'--out DIR' is required");
	if (customers == NULL)
		return cli_usage_error(VERB, "'--customers N' is required");
	if (cr_parse_u64(customers, 1, SYNTH_ROWS_MAX, &v) != CR_OK)
		return cli_usage_error(VERB, "'--customers' must be a whole number from 1 to %u, not '%s'",
				       SYNTH_ROWS_MAX, customers);
	o->customers = (uint32_t)v;
	o->partner_rows = o->customers;
	if (partner_rows) {
		if (cr_parse_u64(partner_rows, 0, SYNTH_ROWS_MAX, &v) != CR_OK)
			return cli_usage_error(VERB, "'--partner-rows' must be a whole number from 0 to %u, not '%s'",
					       SYNTH_ROWS_MAX, partner_rows);
		o->partner_rows = (uint32_t)v;
	}
	o->overlap = 0.5;
	if (overlap && !parse_fraction(overlap, &o->overlap))
		return cli_usage_error(VERB, "'--overlap' must be a number from 0 to 1, not '%s'", overlap);
	o->seed = 1;
	if (seed && cr_parse_u64(seed, 0, UINT64_MAX, &o->seed) != CR_OK)
		return cli_usage_error(VERB, "'--seed' must be a whole number, not '%s'", seed);
	o->overlap_rows = (uint32_t)floor(o->overlap * o->partner_rows + 0.5);
	if (o->overlap_rows > o->customers)
		return cli_usage_error(VERB, "'--overlap %s' of %u partner rows needs %u customers, not %u",
				       overlap, (unsigned)o->partner_rows, (unsigned)o->overlap_rows,
				       (unsigned)o->customers);
	return CLI_OK;
}

/* ------------------------------------------------------- output files */

/* mkdir -p with mode 0700 for what it creates; refuses a non-directory. */
static int dir_prepare(const char *dir)
{
	char *path = cr_xstrdup(dir);
	struct stat st;
	int rc = CLI_FAIL;

	for (char *p = path + 1; ; p++) {
		char c = *p;
		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			cli_fail(VERB, "cannot create '%s': %s", path, strerror(errno));
			goto out;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		cli_fail(VERB, "'%s' is not a directory", dir);
		goto out;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		cli_fail(VERB, "cannot write in '%s': %s", dir, strerror(errno));
		goto out;
	}
	rc = CLI_OK;
out:
	free(path);
	return rc;
}

static char *path_join(const char *dir, const char *prefix, const char *name, const char *suffix)
{
	size_t n = strlen(dir) + strlen(prefix) + strlen(name) + strlen(suffix) + 2;
	char *p = cr_xmalloc(n);
	snprintf(p, n, "%s/%s%s%s", dir, prefix, name, suffix);
	return p;
}

static void output_release(struct output *o, bool remove_tmp)
{
	for (int i = 0; i < F_COUNT; i++) {
		if (o->f[i])
			fclose(o->f[i]);
		if (remove_tmp && o->tmp[i])
			unlink(o->tmp[i]);
		free(o->tmp[i]);
		free(o->final[i]);
	}
	memset(o, 0, sizeof(*o));
}

/* Refuses existing files (unless force), then opens the temporary files. */
static int output_open(struct output *o, const char *dir, bool force)
{
	struct stat st;
	for (int i = 0; i < F_COUNT; i++) {
		o->final[i] = path_join(dir, "", file_names[i], "");
		o->tmp[i] = path_join(dir, ".", file_names[i], ".synth-tmp");
		if (!force && lstat(o->final[i], &st) == 0)
			return cli_fail(VERB, "'%s' exists; use --force to overwrite", o->final[i]);
	}
	for (int i = 0; i < F_COUNT; i++) {
		int fd;
		if (unlink(o->tmp[i]) != 0 && errno != ENOENT)
			return cli_fail(VERB, "cannot remove '%s': %s", o->tmp[i], strerror(errno));
		fd = open(o->tmp[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return cli_fail(VERB, "cannot create '%s': %s", o->tmp[i], strerror(errno));
		o->f[i] = fdopen(fd, "w");
		if (o->f[i] == NULL) {
			close(fd);
			return cli_fail(VERB, "cannot open '%s': %s", o->tmp[i], strerror(errno));
		}
		setvbuf(o->f[i], NULL, _IOFBF, 1 << 18);
	}
	return CLI_OK;
}

/* Closes every file (reporting write errors), then moves them into place. */
static int output_publish(struct output *o, bool force)
{
	for (int i = 0; i < F_COUNT; i++) {
		FILE *f = o->f[i];
		o->f[i] = NULL;
		if (fclose(f) != 0)
			return cli_fail(VERB, "cannot write '%s': %s", o->tmp[i], strerror(errno));
	}
	for (int i = 0; i < F_COUNT; i++) {
		if (force ? rename(o->tmp[i], o->final[i]) != 0 : link(o->tmp[i], o->final[i]) != 0)
			return cli_fail(VERB, "cannot create '%s': %s", o->final[i], strerror(errno));
		if (!force)
			unlink(o->tmp[i]);
	}
	return CLI_OK;
}

/* ------------------------------------------------------------ progress */

/* Adapts the generator's progress calls to the CLI's one progress line. */
static void progress_show(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	if (done == 0) { /* a new phase: a new line, a new rate */
		progress_finish(p);
		progress_init(p, p->on, phase, "rows");
		return;
	}
	if (done == total)
		p->last_ms = 0; /* always draw the final count */
	progress_update(p, done, total, 0, 0);
}

/* ------------------------------------------------------------- summary */

static void summary_json(const struct synth_opts *o, const struct synth_counts *c,
			 const struct output *out, int64_t ms)
{
	json_t *files = json_object(), *kinds = json_object(), *events = json_object();
	for (int i = 0; i < F_COUNT; i++)
		json_object_set_new(files, file_names[i], json_string(out->final[i]));
	for (int k = 0; k < SYNTH_KIND_COUNT; k++)
		json_object_set_new(kinds, synth_kind_info((enum synth_kind)k)->name,
				    json_integer((json_int_t)c->by_kind[k]));
	for (int e = 0; e < SYNTH_EV_COUNT; e++)
		json_object_set_new(events, synth_event_name((enum synth_event)e),
				    json_integer((json_int_t)c->by_event[e]));
	json_t *j = json_pack("{s:s, s:I, s:o, s:I, s:I, s:I, s:f, s:I, s:o, s:o, s:I}",
			      "out", o->out, "seed", (json_int_t)o->seed, "files", files,
			      "customers", (json_int_t)c->customers,
			      "partner_rows", (json_int_t)c->partner_rows,
			      "partner_overlap", (json_int_t)c->partner_overlap,
			      "overlap", o->overlap, "consent_events", (json_int_t)c->events,
			      "customers_by_consent", kinds, "events_by_type", events,
			      "elapsed_ms", (json_int_t)ms);
	if (j == NULL)
		cr_die("synth: building the summary");
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	json_decref(j);
}

static void summary_text(const struct synth_opts *o, const struct synth_counts *c, int64_t ms)
{
	printf("synth: wrote %s/{notice.json,customers.csv,consent.ndjson,partner.csv} "
	       "(seed %llu, %.1f s)\n", o->out, (unsigned long long)o->seed, (double)ms / 1000.0);
	printf("  customers.csv   %llu customers\n", (unsigned long long)c->customers);
	printf("  consent.ndjson  %llu events:", (unsigned long long)c->events);
	for (int k = 0; k < SYNTH_KIND_COUNT; k++)
		printf("%s %s %llu", k ? "," : "", synth_kind_info((enum synth_kind)k)->name,
		       (unsigned long long)c->by_kind[k]);
	printf("\n  partner.csv     %llu rows, %llu of them customers (overlap %g)\n",
	       (unsigned long long)c->partner_rows, (unsigned long long)c->partner_overlap,
	       o->overlap);
}

/* ---------------------------------------------------------------- verb */

/* Writes the four files; CLI_OK or CLI_FAIL after printing why. */
static int synth_run(const struct synth_opts *o, struct output *out, struct synth_counts *c)
{
	struct synth_gen g;
	struct progress p;
	uint32_t *rows = cr_xmalloc((size_t)o->partner_rows * sizeof(uint32_t));
	int rc = CLI_FAIL;

	progress_init(&p, progress_wanted(o->json), "synth", "rows");
	synth_gen_init(&g, o->seed);
	if (synth_notice_write(out->f[F_NOTICE]) != CR_OK ||
	    synth_customers_write(&g, o->customers, out->f[F_CUSTOMERS], out->f[F_CONSENT], c,
				  progress_show, &p) != CR_OK) {
		cli_fail(VERB, "cannot write in '%s': %s", o->out, strerror(errno));
		goto out;
	}
	if (synth_partner_rows(&g, o->customers, o->partner_rows, o->overlap_rows, rows) != CR_OK) {
		cli_fail(VERB, "cannot pick %u partner rows from %u customers",
			 (unsigned)o->overlap_rows, (unsigned)o->customers);
		goto out;
	}
	if (synth_partner_write(&g, o->customers, rows, o->partner_rows, out->f[F_PARTNER], c,
				progress_show, &p) != CR_OK) {
		cli_fail(VERB, "cannot write in '%s': %s", o->out, strerror(errno));
		goto out;
	}
	rc = CLI_OK;
out:
	progress_finish(&p);
	free(rows);
	return rc;
}

int cmd_synth(int argc, char **argv)
{
	const char *customers = NULL, *overlap = NULL, *seed = NULL, *partner_rows = NULL;
	struct synth_opts o = { 0 };
	struct synth_counts c = { 0 };
	struct output out = { 0 };
	struct cli_args args = { 0 };
	int64_t start = cr_monotonic_ms();
	int rc;
	const struct cli_opt opts[] = {
		{ "customers", &customers, NULL, "N: how many customers (1..20000000)" },
		{ "overlap", &overlap, NULL, "F: fraction of partner rows that are customers (default 0.5)" },
		{ "seed", &seed, NULL, "S: a whole number; the same seed gives the same files (default 1)" },
		{ "out", &o.out, NULL, "DIR: where to write (created 0700 if missing)" },
		{ "partner-rows", &partner_rows, NULL, "M: rows in partner.csv (default N)" },
		{ "force", NULL, &o.force, "overwrite existing files" },
		{ NULL, NULL, NULL, NULL },
	};

	rc = cli_parse(argc, argv, opts, usage_text(), &args);
	if (rc != CLI_OK) {
		rc = rc < 0 ? CLI_OK : rc;
		goto out;
	}
	o.json = args.json;
	if (args.npos > 0) {
		rc = cli_usage_error(VERB, "unexpected argument (not echoed: it may be personal data)");
		goto out;
	}
	if ((rc = opts_check(customers, overlap, seed, partner_rows, &o)) != CLI_OK)
		goto out;
	if ((rc = dir_prepare(o.out)) != CLI_OK || (rc = output_open(&out, o.out, o.force)) != CLI_OK)
		goto out;
	if ((rc = synth_run(&o, &out, &c)) != CLI_OK || (rc = output_publish(&out, o.force)) != CLI_OK)
		goto out;
	if (o.json)
		summary_json(&o, &c, &out, cr_monotonic_ms() - start);
	else
		summary_text(&o, &c, cr_monotonic_ms() - start);
out:
	output_release(&out, true);
	free(args.pos);
	return rc;
}
