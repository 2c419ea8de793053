/* Unit tests for consent/import.c and import_stream.c: importing NDJSON
 * streams with per-line results and a summary, batch hooks (the caller's
 * transactions), bounded reading (oversized lines), BOM and CRLF, re-import
 * as duplicates, a fatal error stopping the import, and the read-ahead
 * thread giving the results of a serial read. */
#include "consent_fixture.h"

struct ifx {
	struct fx *f;
	struct consent_importer *imp;
	/* hook logs */
	int lines_seen, batches;
	uint64_t refused_lines[16];
	char first_why[CONSENT_WHY_MAX];
	int nrefused;
	cr_err batch_rc;
};

static int setup(void **state)
{
	struct ifx *x = calloc(1, sizeof(*x));
	x->f = fx_new();
	fx_keys(x->f);
	assert_int_equal(consent_importer_new(x->f->ctx, x->f->kr, x->f->brand, NULL, &x->imp),
			 CR_OK);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct ifx *x = *state;
	consent_importer_free(x->imp);
	fx_free(x->f);
	free(x);
	return 0;
}

static const cr_time_ms NOW = 1790000000000LL;

static cr_err on_line(void *user, const struct consent_line_result *r)
{
	struct ifx *x = user;
	x->lines_seen++;
	if (r->rc != CR_OK && x->nrefused < 16) {
		if (x->nrefused == 0)
			snprintf(x->first_why, sizeof(x->first_why), "%s", r->why);
		x->refused_lines[x->nrefused++] = r->line;
	}
	return CR_OK;
}

static cr_err on_batch(void *user, uint64_t lines)
{
	struct ifx *x = user;
	(void)lines;
	x->batches++;
	return x->batch_rc;
}

static cr_err run(struct ifx *x, const char *text, size_t batch, struct consent_import_summary *s)
{
	struct consent_import_hooks h = { on_line, on_batch, batch, x, NULL };
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	cr_err rc;
	assert_non_null(in);
	rc = consent_import_stream(x->imp, in, NOW, &h, s);
	fclose(in);
	return rc;
}

#define ALICE "\"subject\":\"Alice@Example.com\""

static const char story[] =
	"{\"type\":\"served\"," ALICE ",\"notice_version\":1,\"time\":\"2026-03-01T09:00:00+08:00\",\"channel\":\"web\"}\n"
	"{\"type\":\"grant\"," ALICE ",\"purpose\":\"audience_insights\",\"notice_version\":1,\"time\":\"2026-03-01T09:00:05+08:00\",\"method\":\"checkbox\",\"channel\":\"web\",\"actor\":\"subject\",\"jurisdiction\":\"CN\",\"birth_year\":1990}\n"
	"\n"
	"{\"type\":\"grant\"," ALICE ",\"purpose\":\"audience_insights\",\"recipient\":\"partner-1\",\"notice_version\":1,\"time\":\"2026-03-01T09:00:06+08:00\",\"method\":\"checkbox\",\"channel\":\"web\",\"actor\":\"subject\"}\n"
	"{\"type\":\"grant\"," ALICE ",\"purpose\":\"ads_measurement\",\"notice_version\":1,\"time\":\"2026-03-01T09:00:07+08:00\",\"method\":\"preticked\",\"channel\":\"web\",\"actor\":\"subject\"}\n"
	"not json at all\n"
	"{\"type\":\"grant\"," ALICE ",\"purpose\":\"lookalike\",\"notice_version\":1,\"time\":\"2026-03-01T09:00:08+08:00\",\"method\":\"checkbox\",\"channel\":\"web\",\"actor\":\"subject\"}\n"
	"{\"type\":\"served\"," ALICE ",\"notice_version\":1,\"time\":\"2026-03-01T09:00:00+08:00\",\"channel\":\"web\"}\n"
	"{\"type\":\"withdraw\"," ALICE ",\"purpose\":\"audience_insights\",\"recipient\":\"partner-1\",\"time\":\"2026-06-01T12:00:00Z\",\"received\":\"2026-06-01T12:00:00Z\",\"channel\":\"web\"}\n"
	"{\"type\":\"object\"," ALICE ",\"time\":\"2026-06-02T12:00:00Z\",\"received\":\"2026-06-02T12:00:00Z\",\"signal\":\"gpc\"}";

static void test_import_stores_valid_lines_and_reports_each_refusal(void **state)
{
	struct ifx *x = *state;
	struct consent_import_summary s;
	struct crypto_pseudonym alice;

	assert_int_equal(run(x, story, 0, &s), CR_OK);
	assert_int_equal(s.lines, 10);
	assert_int_equal(s.blank, 1);
	assert_int_equal(s.stored, 5);
	assert_int_equal(s.duplicates, 1);
	assert_int_equal(s.refused, 3);
	assert_int_equal(s.stored_by_type[CONSENT_EV_SERVED], 1);
	assert_int_equal(s.stored_by_type[CONSENT_EV_GRANT], 2);
	assert_int_equal(s.stored_by_type[CONSENT_EV_WITHDRAW], 1);
	assert_int_equal(s.stored_by_type[CONSENT_EV_OBJECT], 1);
	assert_int_equal(s.nreasons, 3);
	assert_int_equal(s.reasons[0].code, CR_ERR_CONSENT_METHOD);
	assert_int_equal(s.reasons[1].code, CR_ERR_CONSENT_EVENT_MALFORMED);
	assert_int_equal(s.reasons[2].code, CR_ERR_CONSENT_UNKNOWN_PURPOSE);
	/* line numbers count blank lines; the reason names the field */
	assert_int_equal(x->nrefused, 3);
	assert_int_equal(x->refused_lines[0], 5);
	assert_int_equal(x->refused_lines[1], 6);
	assert_int_equal(x->refused_lines[2], 7);
	assert_string_equal(x->first_why, "method: not an affirmative act (R08); accepted: checkbox, button, toggle, signature, electronic-signature, verbal-recorded, written, double-opt-in");
	assert_int_equal(x->lines_seen, 9);
	/* what was stored decides */
	assert_int_equal(consent_importer_subject(x->imp, "alice@example.com", 17, NULL, &alice,
						  NULL, NULL),
			 CR_OK);
	EXPECT(x->f, alice, "audience_insights", NULL, T("2026-04-01T00:00:00Z"), CONSENT_OK);
	EXPECT(x->f, alice, "audience_insights", "partner-1", T("2026-04-01T00:00:00Z"),
	       CONSENT_OK);
	EXPECT(x->f, alice, "audience_insights", "partner-1", T("2026-06-01T12:00:00Z"),
	       CONSENT_WITHDRAWN);
	EXPECT(x->f, alice, "audience_insights", NULL, T("2026-06-02T12:00:00Z"),
	       CONSENT_OBJECTED);
	EXPECT(x->f, alice, "ads_measurement", NULL, T("2026-04-01T00:00:00Z"),
	       CONSENT_NOT_GIVEN);
	/* the withdrawal and the objection (R21) each purge once */
	assert_int_equal(x->f->purges, 2);
}

static void test_import_again_is_all_duplicates(void **state)
{
	struct ifx *x = *state;
	struct consent_import_summary s;

	assert_int_equal(run(x, story, 0, &s), CR_OK);
	assert_int_equal(run(x, story, 0, &s), CR_OK);
	assert_int_equal(s.stored, 0);
	assert_int_equal(s.duplicates, 6);
	assert_int_equal(s.refused, 3);
	assert_int_equal(x->f->purges, 2); /* duplicates purge nothing again */
}

static void test_import_calls_the_batch_hook_where_the_caller_commits(void **state)
{
	struct ifx *x = *state;
	struct consent_import_summary s;

	assert_int_equal(sqlite3_exec(x->f->db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(run(x, story, 3, &s), CR_OK);
	assert_int_equal(x->batches, 3); /* after lines 3, 6 and 9 */
	/* nothing was committed by the import itself */
	assert_int_equal(sqlite3_get_autocommit(x->f->db), 0);
	assert_int_equal(sqlite3_exec(x->f->db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	/* a hook error stops the import and is returned */
	x->batches = 0;
	x->batch_rc = CR_ERR_IO;
	assert_int_equal(run(x, story, 2, &s), CR_ERR_IO);
	assert_int_equal(s.lines, 2);
}

static void test_import_oversized_line_is_refused_and_skipped(void **state)
{
	struct ifx *x = *state;
	struct consent_import_summary s;
	size_t big = CONSENT_LINE_MAX + 100;
	const char *good = "{\"type\":\"served\",\"subject\":\"a@b.cn\",\"notice_version\":1,"
			   "\"time\":\"2026-03-01T00:00:00Z\",\"channel\":\"web\"}\n";
	char *text = malloc(big + strlen(good) + 2);

	memset(text, 'x', big);
	text[big] = '\n';
	memcpy(text + big + 1, good, strlen(good) + 1);
	assert_int_equal(run(x, text, 0, &s), CR_OK);
	assert_int_equal(s.lines, 2);
	assert_int_equal(s.refused, 1);
	assert_int_equal(s.reasons[0].code, CR_ERR_CONSENT_LINE_TOO_LARGE);
	assert_int_equal(s.stored, 1);
	assert_int_equal(x->refused_lines[0], 1);
	free(text);
}

static void test_import_bom_crlf_and_no_final_newline(void **state)
{
	struct ifx *x = *state;
	struct consent_import_summary s;
	const char *text =
		"\xEF\xBB\xBF{\"type\":\"served\",\"subject\":\"a@b.cn\",\"notice_version\":1,"
		"\"time\":\"2026-03-01T00:00:00Z\",\"channel\":\"web\"}\r\n"
		"  \t\r\n"
		"{\"type\":\"served\",\"subject\":\"c@d.cn\",\"notice_version\":1,"
		"\"time\":\"2026-03-01T00:00:00Z\",\"channel\":\"web\"}";

	assert_int_equal(run(x, text, 0, &s), CR_OK);
	assert_int_equal(s.lines, 3);
	assert_int_equal(s.blank, 1);
	assert_int_equal(s.stored, 2);
	assert_int_equal(s.refused, 0);
}

static void test_import_stops_on_a_fatal_error(void **state)
{
	struct ifx *x = *state;
	struct consent_import_summary s;

	/* the purge callback failing is the orchestrator's failure, not the line's */
	x->f->purge_rc = CR_ERR_IO;
	assert_int_equal(run(x, story, 0, &s), CR_ERR_IO);
	assert_int_equal(s.lines, 9);
	assert_int_equal(s.stored, 3);
}

static void test_import_line_reports_refusals_without_storing(void **state)
{
	struct ifx *x = *state;
	struct consent_line_result r;
	const char *line = "{\"type\":\"served\",\"subject\":\"a@b.cn\",\"notice_version\":5,"
			   "\"time\":\"2026-03-01T00:00:00Z\",\"channel\":\"web\"}";

	assert_int_equal(consent_import_line(x->imp, line, strlen(line), NOW, &r), CR_OK);
	assert_int_equal(r.rc, CR_ERR_CONSENT_NOTICE_NOT_FOUND);
	assert_string_equal(r.why, "notice_version: no published version 5");
	assert_int_equal(consent_import_line(x->imp, line, 0, NOW, &r), CR_OK);
	assert_int_equal(r.rc, CR_ERR_CONSENT_EVENT_MALFORMED);
	assert_int_equal(consent_import_stream(x->imp, NULL, NOW, NULL, NULL), CR_ERR_INVALID_ARG);
}

/* n generated lines: two events per subject, every 97th line not JSON,
 * every 101st blank, line 700 longer than CONSENT_LINE_MAX. */
static char *generated(size_t n)
{
	size_t cap = n * 256 + CONSENT_LINE_MAX + 64;
	char *text = malloc(cap), *w = text, *end = text + cap;
	assert_non_null(text);
	for (size_t i = 1; i <= n; i++) {
		size_t subject = i / 2;
		if (i % 97 == 0) {
			w += snprintf(w, (size_t)(end - w), "not json %zu\n", i);
		} else if (i % 101 == 0) {
			w += snprintf(w, (size_t)(end - w), "  \n");
		} else if (i == 700) {
			memset(w, 'x', CONSENT_LINE_MAX + 10);
			w += CONSENT_LINE_MAX + 10;
			*w++ = '\n';
		} else if (i % 2 == 0) {
			w += snprintf(w, (size_t)(end - w),
				      "{\"type\":\"served\",\"subject\":\"person%zu@example.invalid\","
				      "\"notice_version\":1,\"time\":\"2026-03-01T09:00:00Z\",\"channel\":\"web\"}\n",
				      subject);
		} else {
			w += snprintf(w, (size_t)(end - w),
				      "{\"type\":\"grant\",\"subject\":\"person%zu@example.invalid\","
				      "\"purpose\":\"audience_insights\",\"notice_version\":1,"
				      "\"time\":\"2026-03-01T09:00:05Z\",\"method\":\"checkbox\",\"channel\":\"web\","
				      "\"actor\":\"subject\"}\n",
				      subject);
		}
	}
	*w = '\0';
	return text;
}

/*
 * The stream reads and parses lines ahead on a thread of its own, a chunk
 * at a time; the results must be those of recording each line in order.
 * 1,500 generated lines (several chunks, refusals and blanks among them):
 * the stream's counts, refused lines and batch calls equal those of
 * consent_import_line line by line on a second registry. Then a batch
 * hook failing at the first batch, while the reader is chunks ahead,
 * stops the import at that line with the hook's error.
 */
static void test_import_read_ahead_gives_the_serial_results(void **state)
{
	enum { LINES = 1500 };
	struct ifx *x = *state;
	struct consent_import_summary s;
	struct consent_importer *imp = NULL;
	struct consent_line_result r;
	struct fx *ref = fx_new();
	char *text = generated(LINES), *line = text;
	uint64_t stored = 0, refused = 0, blank = 0, lines = 0, refused_lines[16];

	assert_int_equal(run(x, text, 100, &s), CR_OK);
	fx_keys(ref);
	assert_int_equal(consent_importer_new(ref->ctx, ref->kr, ref->brand, NULL, &imp), CR_OK);
	while (*line) {
		char *end = strchr(line, '\n');
		size_t len = (size_t)(end - line);
		lines++;
		bool refuse = len > CONSENT_LINE_MAX;
		if (len == 2 && line[0] == ' ') {
			blank++;
		} else if (!refuse) {
			assert_int_equal(consent_import_line(imp, line, len, NOW, &r), CR_OK);
			refuse = r.rc != CR_OK;
			stored += !refuse && !r.change.duplicate;
		}
		if (refuse) {
			refused_lines[refused < 16 ? refused : 15] = lines;
			refused++;
		}
		line = end + 1;
	}
	assert_int_equal(s.lines, LINES);
	assert_int_equal(s.lines, lines);
	assert_int_equal(s.blank, blank);
	assert_int_equal(s.stored, stored);
	assert_int_equal(s.refused, refused);
	assert_true(stored > 1300);
	assert_int_equal(x->batches, LINES / 100);
	assert_int_equal(x->nrefused, 16);
	for (int i = 0; i < 15; i++)
		assert_int_equal(x->refused_lines[i], refused_lines[i]);

	x->batches = 0;
	x->batch_rc = CR_ERR_IO;
	assert_int_equal(run(x, text, 100, &s), CR_ERR_IO);
	assert_int_equal(s.lines, 100);
	assert_int_equal(x->batches, 1);
	consent_importer_free(imp);
	fx_free(ref);
	free(text);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_import_stores_valid_lines_and_reports_each_refusal),
		TEST(test_import_again_is_all_duplicates),
		TEST(test_import_calls_the_batch_hook_where_the_caller_commits),
		TEST(test_import_oversized_line_is_refused_and_skipped),
		TEST(test_import_bom_crlf_and_no_final_newline),
		TEST(test_import_stops_on_a_fatal_error),
		TEST(test_import_line_reports_refusals_without_storing),
		TEST(test_import_read_ahead_gives_the_serial_results),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
