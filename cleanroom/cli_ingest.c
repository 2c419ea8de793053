/*
 * cli_ingest.c: `cleanroom ingest --brand B --dataset N FILE`: uploads a
 * customer list into a dataset through the consent gate (see ingest.h) and
 * reports what was accepted, replaced and rejected, by reason. Standard
 * input ("-") is first spooled to an unnamed 0600 file inside the data
 * directory, because ingestion reads the file twice (structure first).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cleanroom/cli.h"
#include "cleanroom/ingest.h"
#include "cleanroom/progress.h"
#include "cleanroom/ops.h"
#include "cleanroom/registry.h"
#include "cleanroom/spool.h"

struct ingest_cli {
	struct app *a;
	const char *brand;
	struct progress prog;
	uint64_t file_size;
};

static void on_progress(void *ctx, uint64_t rows, uint64_t bytes)
{
	struct ingest_cli *c = ctx;
	progress_update(&c->prog, rows, 0, bytes, c->file_size);
}

/* Copies stdin into an unnamed 0600 file in the data directory. */
static FILE *spool_stdin(const char *data_dir)
{
	char buf[65536];
	size_t n;
	FILE *f = spool_open(data_dir);
	if (f == NULL)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		if (fwrite(buf, 1, n, f) != n)
			break;
	sodium_memzero(buf, sizeof(buf));
	if (ferror(stdin) || spool_rewind(f) != 0) {
		fclose(f);
		return NULL;
	}
	return f;
}

static void print_report_text(const struct ingest_report *r, const char *brand, const char *dataset)
{
	printf("ingested into %s/%s: %llu rows read, %llu accepted (%llu replaced an earlier record)\n",
	       brand, dataset, (unsigned long long)r->read, (unsigned long long)r->accepted,
	       (unsigned long long)r->replaced);
	for (int o = 0; o < INGEST_OUTCOME_COUNT; o++) {
		const struct ingest_rejections *x = &r->rejected[o];
		if (x->count == 0)
			continue;
		printf("  rejected %-19s %llu  (lines", ingest_outcome_name((enum ingest_outcome)o),
		       (unsigned long long)x->count);
		for (size_t i = 0; i < x->nlines; i++)
			printf(" %llu", (unsigned long long)x->lines[i]);
		printf("%s)\n", x->count > x->nlines ? " ..." : "");
		if (o == INGEST_NO_CONSENT)
			for (size_t i = 0; i < r->nreasons; i++)
				printf("      %-24s %llu\n", r->reasons[i].name, (unsigned long long)r->reasons[i].count);
	}
}

static const struct registry_actor cli_brand_actor = { "brand", "cli" };

static int run_ingest(struct ingest_cli *c, const struct dataset *d, FILE *f, const char *path,
		      const struct crypto_id_opts *id_opts, unsigned threads, bool json)
{
	struct ingest_report rep;
	char err[256] = "";
	struct store_checkpointer *wal;
	int64_t t0 = cr_monotonic_ms();
	cr_err rc;

	progress_init(&c->prog, progress_wanted(json), "ingest", "rows");
	wal = cli_wal_checkpoints(c->a);
	rc = ops_ingest(c->a, &cli_brand_actor, c->brand, d, f, path, id_opts, threads, on_progress, c,
			&rep, err, sizeof(err));
	store_checkpointer_stop(wal);
	progress_finish(&c->prog);
	if (rc != CR_OK)
		return cli_fail("ingest", "%s: nothing stored: %s%s%s", path, cr_strerror(rc), err[0] ? ": " : "", err);
	if (json)
		cli_print_json(cli_with_elapsed(ops_ingest_report_json(&rep, c->brand, d->name), t0, "rows_per_second",
						rep.read));
	else
		print_report_text(&rep, c->brand, d->name);
	return CLI_OK;
}

int cmd_ingest(int argc, char **argv)
{
	const char *brand = NULL, *dataset = NULL, *country = NULL, *threads_s = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the owning brand" },
		{ "dataset", &dataset, NULL, "the dataset to ingest into" },
		{ "default-country", &country, NULL, "country for phones without '+' (CN, US, ...)" },
		{ "threads", &threads_s, NULL, "worker threads for the keyed hashing (default: cores)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct crypto_id_opts id_opts = { NULL, NULL };
	struct ingest_cli c = { 0 };
	struct cli_args args;
	struct dataset d;
	struct stat st;
	uint64_t threads = 0;
	FILE *f = NULL;
	int64_t id = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 1,
			    "usage: cleanroom ingest --brand B --dataset N FILE [--default-country CC] [--json]\n\n"
			    "Ingests a customer list (CSV with a header row, or NDJSON; '-' reads stdin).\n"
			    "The identifier column is email/phone (raw: normalized and hashed on read)\n"
			    "or email_sha256/phone_sha256 (64 hex). Only consented rows are stored, and\n"
			    "only in keyed form. A malformed file is refused whole: nothing is stored.");
	if (threads_s && cr_parse_u64(threads_s, 1, 256, &threads) != CR_OK) {
		free(args.pos);
		return cli_usage_error("ingest", "--threads must be 1 to 256");
	}
	if (dataset == NULL) {
		free(args.pos);
		return cli_usage_error("ingest", "--dataset N is required");
	}
	id_opts.default_country = country;
	rc = cli_open_app("ingest", &args, &c.a);
	if (rc == CLI_OK)
		rc = cli_brand("ingest", c.a, brand, &id);
	if (rc != CLI_OK)
		goto out;
	c.brand = brand;
	err = dataset_get(c.a->store, id, dataset, &d);
	if (err != CR_OK) {
		rc = cli_fail("ingest", "brand '%s' has no dataset '%s'", brand, dataset);
		goto out;
	}
	f = strcmp(args.pos[0], "-") == 0 ? spool_stdin(c.a->data_dir) : fopen(args.pos[0], "rb");
	if (f == NULL) {
		rc = cli_fail("ingest", "cannot read '%s'", args.pos[0]);
		goto out;
	}
	c.file_size = fstat(fileno(f), &st) == 0 ? (uint64_t)st.st_size : 0;
	rc = run_ingest(&c, &d, f, args.pos[0], &id_opts, (unsigned)threads, args.json);
out:
	if (f)
		fclose(f);
	free(args.pos);
	app_close(c.a);
	return rc;
}
