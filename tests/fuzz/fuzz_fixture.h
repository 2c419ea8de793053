/*
 * fuzz_fixture.h: a small synthetic clean room for the stateful fuzz
 * targets (fuzz_api_body, fuzz_api_seq, fuzz_audit_query,
 * fuzz_psi_session), built once through the code the CLI runs: a data
 * directory (app_init_dir), brands "acme" and "other" with synth's notice,
 * FFX_CUSTOMERS synthetic customers' consent imported and ingested into
 * dataset "crm" of acme (ops_ingest: the real gate and audit leaves), and
 * collaboration 1 on it with partner-1 (k 10, |A| padded to 64, a partner
 * set of 10 or more). Every input starts from a fresh copy of that
 * database (ffx_fresh), so a run is reproducible. Subjects are synth's
 * made-up people; nothing here is personal data.
 *
 * ffx_call runs one request as the server does, minus the socket: the
 * route matcher on the path, http_request_admit on the caller's role and
 * tenant, the handler on the writer (under the store lock) or on a read
 * connection as its route says, then the reply's finish step; a handler
 * that leaves a transaction open is a bug (abort).
 */
#ifndef CR_FUZZ_FIXTURE_H
#define CR_FUZZ_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "cleanroom/app.h"
#include "cleanroom/collab.h"
#include "cleanroom/http.h"
#include "cleanroom/ops.h"
#include "cleanroom/pia.h"
#include "cleanroom/registry.h"
#include "cleanroom/synth.h"

#define FFX_CUSTOMERS 60
#define FFX_PARTNER_ROWS 40
#define FFX_OVERLAP 30

struct ffx {
	char tpl[64];       /* the template's folder (data/ and the synth files) */
	char work[64];      /* where each input's copy lives */
	char data[96];
	struct app *a;
	struct app_readers *readers;
	struct crypto_pool *pool;
	char partner_csv[128];
	char digest[65];    /* hex SHA-256 of the first synthetic customer's email */
};

static void ffx_die(const char *what, cr_err rc, const char *why)
{
	fprintf(stderr, "fuzz fixture: %s: %s %s\n", what, cr_errname(rc), why ? why : "");
	abort();
}

static void ffx_ok(cr_err rc, const char *what, const char *why)
{
	if (rc != CR_OK)
		ffx_die(what, rc, why);
}

static void ffx_copy(const char *from, const char *to)
{
	char buf[1 << 16];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;
	if (in == NULL || out == NULL)
		ffx_die("copy", CR_ERR_IO, from);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			ffx_die("copy", CR_ERR_IO, to);
	fclose(in);
	if (fclose(out) != 0)
		ffx_die("copy", CR_ERR_IO, to);
}

static void ffx_template(struct ffx *f)
{
	static const struct registry_actor actor = { "brand", "fuzz" };
	char path[4][160], why[256] = "";
	FILE *nf, *cf, *ef, *pf, *in;
	struct synth_gen g;
	struct synth_counts counts = { 0 };
	uint32_t rows[FFX_PARTNER_ROWS];
	struct consent_import_summary sum;
	struct consent_importer *imp = NULL;
	struct ingest_report rep;
	struct dataset d = { 0 };
	struct collab c = { 0 };
	int64_t acme, other;
	cr_time_ms published = 0;
	size_t len;
	char *notice;

	for (int i = 0; i < 4; i++)
		snprintf(path[i], sizeof(path[i]), "%s/%s", f->tpl,
			 (const char *[]){ "notice.json", "customers.csv", "consent.ndjson", "partner.csv" }[i]);
	snprintf(f->partner_csv, sizeof(f->partner_csv), "%s", path[3]);
	synth_gen_init(&g, 26);
	nf = fopen(path[0], "w+");
	cf = fopen(path[1], "w");
	ef = fopen(path[2], "w");
	pf = fopen(path[3], "w");
	if (!nf || !cf || !ef || !pf)
		ffx_die("synth files", CR_ERR_IO, f->tpl);
	ffx_ok(synth_notice_write(nf), "synth notice", NULL);
	ffx_ok(synth_customers_write(&g, FFX_CUSTOMERS, cf, ef, &counts, NULL, NULL), "synth customers", NULL);
	ffx_ok(synth_partner_rows(&g, FFX_CUSTOMERS, FFX_PARTNER_ROWS, FFX_OVERLAP, rows), "synth rows", NULL);
	ffx_ok(synth_partner_write(&g, FFX_CUSTOMERS, rows, FFX_PARTNER_ROWS, pf, &counts, NULL, NULL),
	       "synth partner", NULL);
	fclose(cf);
	fclose(ef);
	fclose(pf);
	{
		char line[512];
		uint8_t dg[CRYPTO_DIGEST_BYTES];
		cf = fopen(path[1], "r");
		if (cf == NULL || !fgets(line, sizeof(line), cf) || !fgets(line, sizeof(line), cf))
			ffx_die("customers", CR_ERR_IO, NULL);
		fclose(cf);
		ffx_ok(crypto_id_digest(CRYPTO_ID_EMAIL, line, strcspn(line, ","), NULL, dg), "digest", NULL);
		sodium_bin2hex(f->digest, sizeof(f->digest), dg, sizeof(dg));
	}
	len = (size_t)ftell(nf);
	notice = calloc(1, len + 1);
	rewind(nf);
	if (notice == NULL || fread(notice, 1, len, nf) != len)
		ffx_die("notice", CR_ERR_IO, NULL);
	fclose(nf);

	ffx_ok(app_init_dir(f->data, "fuzz.example/audit", &f->a), "init", NULL);
	ffx_ok(cr_time_parse("2026-01-01T00:00:00+08:00", 25, &published), "time", NULL);
	ffx_ok(registry_brand_create(f->a, &actor, "acme", &acme), "brand acme", NULL);
	ffx_ok(registry_brand_create(f->a, &actor, "other", &other), "brand other", NULL);
	ffx_ok(registry_notice_publish(f->a, &actor, acme, notice, len, published, NULL, why, sizeof(why)),
	       "notice acme", why);
	ffx_ok(registry_notice_publish(f->a, &actor, other, notice, len, published, NULL, why, sizeof(why)),
	       "notice other", why);
	free(notice);
	in = fopen(path[2], "r");
	ffx_ok(consent_importer_new(f->a->consent, f->a->keys, acme, NULL, &imp), "importer", NULL);
	ffx_ok(app_begin(f->a), "begin", NULL);
	ffx_ok(consent_import_stream(imp, in, cr_time_now(), NULL, &sum), "consent import", NULL);
	ffx_ok(app_commit(f->a), "commit", NULL);
	consent_importer_free(imp);
	fclose(in);

	d.brand_id = acme;
	snprintf(d.name, sizeof(d.name), "crm");
	d.id_type = CRYPTO_ID_EMAIL;
	d.suite = CRYPTO_PSI_SUITE_DEFAULT;
	snprintf(d.profile, sizeof(d.profile), "default");
	ffx_ok(dataset_codes_parse("ads_measurement,audience_insights", false, d.purposes, &d.npurposes),
	       "purposes", NULL);
	ffx_ok(dataset_codes_parse("partner-1", true, d.recipients, &d.nrecipients), "recipients", NULL);
	ffx_ok(columns_parse("segment:enum(a|b|c),region:enum(north|south|east|west|central),"
			     "age_band:enum(18-24|25-34|35-44|45-54|55+),spend:int(0..10000)",
			     &d.columns, why, sizeof(why)), "columns", why);
	ffx_ok(pia_add(f->a, &actor, acme, "acme", "pia-1", "pipia", "ads_measurement,audience_insights", false,
		       cr_time_now(), why, sizeof(why)), "impact assessment", why);
	ffx_ok(ops_dataset_create(f->a, &actor, "acme", &d, why, sizeof(why)), "dataset", why);
	in = fopen(path[1], "r");
	ffx_ok(ops_ingest(f->a, &actor, "acme", &d, in, "customers.csv", NULL, 1, NULL, NULL, &rep, why,
			  sizeof(why)), "ingest", why);
	fclose(in);

	snprintf(c.partner, sizeof(c.partner), "partner-1");
	c.k = COLLAB_K_MIN;
	c.max_dims = COLLAB_MAX_DIMS_DEFAULT;
	c.epsilon_milli = COLLAB_EPSILON_DEFAULT;
	c.min_partner_set = 10;
	c.max_partner_set = 1000;
	c.pad_to = COLLAB_PAD_MIN;
	ffx_ok(ops_collab_create(f->a, &actor, "acme", acme, "crm", "segment,region", "count,sum:spend", &c, why,
				 sizeof(why)), "collab", why);
	app_close(f->a);
	f->a = NULL;
}

static struct ffx ffx_the;

/* Removes the two folders when the fuzzer exits normally. */
static void ffx_cleanup(void)
{
	char cmd[192];
	if (ffx_the.readers)
		app_readers_close(ffx_the.readers);
	if (ffx_the.a)
		app_close(ffx_the.a);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", ffx_the.tpl, ffx_the.work);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz fixture: could not remove %s\n", ffx_the.tpl);
}

/* Builds the template once (in /tmp); each input then calls ffx_fresh. */
static struct ffx *ffx_get(void)
{
	static int ready;
	struct ffx *f = &ffx_the;
	char cmd[256];
	if (ready)
		return f;
	if (sodium_init() < 0)
		abort();
	snprintf(f->tpl, sizeof(f->tpl), "/tmp/cr-fuzz-tpl-XXXXXX");
	snprintf(f->work, sizeof(f->work), "/tmp/cr-fuzz-work-XXXXXX");
	if (mkdtemp(f->tpl) == NULL || mkdtemp(f->work) == NULL)
		ffx_die("mkdtemp", CR_ERR_IO, NULL);
	snprintf(f->data, sizeof(f->data), "%s/data", f->tpl);
	ffx_template(f);
	/* the work copy: the whole folder once (keys, TLS), then the database per input */
	snprintf(cmd, sizeof(cmd), "cp -a %s/data %s/data", f->tpl, f->work);
	if (system(cmd) != 0)
		ffx_die("cp", CR_ERR_IO, cmd);
	ffx_ok(crypto_pool_create(1, &f->pool), "pool", NULL);
	atexit(ffx_cleanup);
	ready = 1;
	return f;
}

/* The template's state again, open as f->a with one read connection. */
static void ffx_fresh(struct ffx *f)
{
	char from[160], to[160], side[176];
	if (f->readers)
		app_readers_close(f->readers);
	if (f->a)
		app_close(f->a);
	f->readers = NULL;
	f->a = NULL;
	snprintf(from, sizeof(from), "%s/data/cleanroom.db", f->tpl);
	snprintf(to, sizeof(to), "%s/data/cleanroom.db", f->work);
	snprintf(side, sizeof(side), "%s-wal", to);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", to);
	unlink(side);
	ffx_copy(from, to);
	/* the template's signed checkpoint kept outside the database goes with it */
	snprintf(from, sizeof(from), "%s/data/audit-tip", f->tpl);
	snprintf(to, sizeof(to), "%s/data/audit-tip", f->work);
	ffx_copy(from, to);
	snprintf(to, sizeof(to), "%s/data", f->work);
	ffx_ok(app_open(to, &f->a), "open", NULL);
	ffx_ok(app_readers_open(f->a, 1, &f->readers), "readers", NULL);
}

/*
 * One request: `path` (already percent-decoded) is matched against the
 * route table, `who` (NULL: no token) admitted as http.c admits it, and
 * the handler run where its route says. `args` are the query arguments
 * (name, value, ..., NULL). Returns the handler's result (rep filled on
 * CR_OK; the caller frees rep->body with http_secure_free) and the route
 * in *route_out (NULL if none matched).
 */
static cr_err ffx_call(struct ffx *f, const char *method, const char *path, const struct auth_token_info *who,
		       const char *content_type, const uint8_t *body, size_t len, const char *const *args,
		       const struct http_route **route_out, struct http_reply *rep)
{
	const struct http_route *r = NULL;
	struct http_params params;
	struct http_request req = { 0 };
	FILE *upload = NULL;
	cr_err rc;

	memset(rep, 0, sizeof(*rep));
	*route_out = NULL;
	rc = http_route_find(http_routes, http_route_count, method, path, &r, &params);
	if (rc != CR_OK)
		return rc;
	*route_out = r;
	rc = http_request_admit(r, r->roles == HTTP_PUBLIC ? NULL : who, &params, NULL);
	if (rc != CR_OK)
		return rc;
	if (len > r->max_body)
		return CR_ERR_TOO_LARGE;
	req.app = f->a;
	req.route = r;
	req.content_type = content_type;
	req.who = r->roles == HTTP_PUBLIC ? NULL : who;
	req.params = &params;
	req.args = args;
	if (r->spool) {
		upload = tmpfile();
		if (upload == NULL || (len && fwrite(body, 1, len, upload) != len) || fseek(upload, 0, SEEK_SET) != 0)
			ffx_die("spool", CR_ERR_IO, NULL);
		req.upload = upload;
	} else {
		req.body = body;
		req.body_len = len;
	}
	if (r->store == HTTP_STORE_READ) {
		struct app *reader = app_reader_take(f->readers);
		req.app = reader;
		rc = r->handler(&req, rep);
		if (rep->finish)
			rc = rep->finish(reader, rc, rep->finish_ctx, rep);
		app_reader_give(f->readers, reader);
	} else {
		rc = r->handler(&req, rep);
		if (f->a->store->in_txn)
			ffx_die("a handler returned with its transaction open", rc, r->pattern);
		if (rep->finish)
			rc = rep->finish(f->a, rc, rep->finish_ctx, rep);
	}
	rep->finish = NULL;
	if (upload)
		fclose(upload);
	if (rc == CR_OK && rep->status == 0)
		ffx_die("a handler succeeded without a status", rc, r->pattern);
	return rc;
}

#endif
