/* Unit tests for cleanroom/rowreader.c: CSV and NDJSON records, and every
 * malformed-file case issue #5 lists (unterminated quote, wrong column count,
 * oversized field, invalid UTF-8, BOM, empty file), each with its exact error
 * and a message naming the line but never a value. */
#include "test_util.h"
#include "cleanroom/rowreader.h"

struct opened {
	FILE *f;
	struct rowreader *r;
	cr_err rc;
};

static struct opened open_str(const char *data, size_t len, const char *hint)
{
	struct opened o;
	o.f = fmemopen((void *)data, len, "r");
	assert_non_null(o.f);
	o.rc = rowreader_open(o.f, ROWREADER_AUTO, hint, &o.r);
	return o;
}

static void close_o(struct opened *o)
{
	rowreader_free(o->r);
	fclose(o->f);
}

static void test_csv_records_quoting_and_crlf(void **state)
{
	(void)state;
	static const char data[] =
		"email,segment,note\r\n"
		"a@example.com,a,plain\r\n"
		"\" b@example.com \",b,\"has, comma\"\r\n"
		"c@example.com,c,\"two\nlines\"\r\n"
		"d@example.com,a,\"say \"\"hi\"\"\"\n";
	struct opened o = open_str(data, sizeof(data) - 1, "list.csv");
	const char *const *f;
	uint64_t line;
	bool eof;
	assert_int_equal(o.rc, CR_OK);
	assert_int_equal(rowreader_format_of(o.r), ROWREADER_CSV);
	assert_int_equal(rowreader_ncols(o.r), 3);
	assert_string_equal(rowreader_colname(o.r, 1), "segment");
	assert_int_equal(rowreader_find(o.r, "note"), 2);
	assert_int_equal(rowreader_find(o.r, "phone"), -1);

	assert_int_equal(rowreader_next(o.r, &f, &line, &eof), CR_OK);
	assert_false(eof);
	assert_int_equal(line, 2);
	assert_string_equal(f[0], "a@example.com");
	assert_int_equal(rowreader_next(o.r, &f, &line, &eof), CR_OK);
	assert_string_equal(f[0], " b@example.com "); /* bytes kept as written */
	assert_string_equal(f[2], "has, comma");
	assert_int_equal(rowreader_next(o.r, &f, &line, &eof), CR_OK);
	assert_int_equal(line, 4);
	assert_string_equal(f[2], "two\nlines");
	assert_int_equal(rowreader_next(o.r, &f, &line, &eof), CR_OK);
	assert_int_equal(line, 6);
	assert_string_equal(f[2], "say \"hi\"");
	assert_int_equal(rowreader_next(o.r, &f, &line, &eof), CR_OK);
	assert_true(eof);
	close_o(&o);
}

static void test_csv_bom_and_no_final_newline(void **state)
{
	(void)state;
	static const char data[] = "\xEF\xBB\xBF" "email_sha256,spend\nabc,10";
	struct opened o = open_str(data, sizeof(data) - 1, NULL);
	const char *const *f;
	uint64_t line;
	bool eof;
	assert_int_equal(o.rc, CR_OK);
	assert_string_equal(rowreader_colname(o.r, 0), "email_sha256");
	assert_int_equal(rowreader_next(o.r, &f, &line, &eof), CR_OK);
	assert_false(eof);
	assert_string_equal(f[1], "10");
	assert_int_equal(rowreader_next(o.r, &f, &line, &eof), CR_OK);
	assert_true(eof);
	close_o(&o);
}

/* Reads records until an error; returns it and checks the message. */
static cr_err read_until_error(const char *data, size_t len, const char *want_msg)
{
	struct opened o = open_str(data, len, "x.csv");
	const char *const *f;
	uint64_t line;
	bool eof = false;
	cr_err rc = o.rc;
	while (rc == CR_OK && !eof)
		rc = rowreader_next(o.r, &f, &line, &eof);
	if (want_msg) {
		if (strstr(rowreader_error(o.r), want_msg) == NULL)
			print_error("message was: %s\n", rowreader_error(o.r));
		assert_non_null(strstr(rowreader_error(o.r), want_msg));
	}
	/* never a value in the message */
	assert_null(strstr(rowreader_error(o.r), "secret"));
	close_o(&o);
	return rc;
}

static void test_csv_malformed(void **state)
{
	(void)state;
	static const char unterminated[] = "email,seg\nsecret@x.com,\"a\nsecret2@x.com,b\n";
	static const char columns[] = "email,seg\nsecret@x.com,a\nsecret@y.com,a,extra\n";
	static const char badquote[] = "email,seg\nsecret@x.com,a\"b\n";
	static const char utf8[] = "email,seg\nsecret@x.com,\xff\xfe\n";
	static const char nul[] = "email,seg\nsecret@x.com,a\0b\n";
	static const char dup[] = "email,email\nsecret@x.com,a\n";
	static const char emptyname[] = "email,,seg\n";
	assert_int_equal(read_until_error(unterminated, sizeof(unterminated) - 1,
					  "line 2: unterminated quoted field"), CR_ERR_FILE_CSV);
	assert_int_equal(read_until_error(columns, sizeof(columns) - 1,
					  "line 3: 3 columns, the header has 2"), CR_ERR_FILE_COLUMNS);
	assert_int_equal(read_until_error(badquote, sizeof(badquote) - 1, "line 2: malformed quoting"),
			 CR_ERR_FILE_CSV);
	assert_int_equal(read_until_error(utf8, sizeof(utf8) - 1, "line 2: invalid UTF-8"), CR_ERR_UTF8);
	assert_int_equal(read_until_error(nul, sizeof(nul) - 1, "line 2: contains a NUL byte"),
			 CR_ERR_FILE_CSV);
	assert_int_equal(read_until_error(dup, sizeof(dup) - 1, "column 'email' appears twice"),
			 CR_ERR_FILE_HEADER);
	assert_int_equal(read_until_error(emptyname, sizeof(emptyname) - 1, "empty column name"),
			 CR_ERR_FILE_HEADER);
	assert_int_equal(read_until_error("", 0, "empty"), CR_ERR_FILE_EMPTY);
	assert_int_equal(read_until_error("\xEF\xBB\xBF", 3, "empty"), CR_ERR_FILE_EMPTY);
}

static void test_csv_oversized(void **state)
{
	(void)state;
	size_t big = ROWREADER_MAX_FIELD + 10;
	char *data = malloc(big + 64);
	int n = snprintf(data, 64, "email,seg\nx@y.com,");
	memset(data + n, 'a', big);
	memcpy(data + n + big, "\n", 2);
	assert_int_equal(read_until_error(data, (size_t)n + big + 1, "line 2: a field is longer"),
			 CR_ERR_FILE_FIELD_TOO_LONG);
	/* the same inside quotes spanning lines */
	n = snprintf(data, 64, "email,seg\nx@y.com,\"");
	for (size_t i = 0; i < big; i++)
		data[(size_t)n + i] = i % 100 == 99 ? '\n' : 'a';
	memcpy(data + n + big, "\"\n", 3);
	assert_int_equal(read_until_error(data, (size_t)n + big + 2, "a field is longer"),
			 CR_ERR_FILE_FIELD_TOO_LONG);
	free(data);

	/* one line longer than the line limit */
	size_t huge = ROWREADER_MAX_LINE + 100;
	data = malloc(huge + 16);
	memcpy(data, "email\n", 6);
	memset(data + 6, 'b', huge);
	assert_int_equal(read_until_error(data, huge + 6, "line 2: line longer"),
			 CR_ERR_FILE_FIELD_TOO_LONG);
	free(data);
}

static void test_ndjson_records(void **state)
{
	(void)state;
	static const char data[] =
		"{\"email\":\"a@example.com\",\"segment\":\"a\",\"spend\":120}\n"
		"\n"
		"{\"segment\":\"b\",\"email\":\"b@example.com\",\"spend\":null}\r\n";
	struct opened o = open_str(data, sizeof(data) - 1, "list.ndjson");
	const char *const *f;
	uint64_t line;
	bool eof;
	assert_int_equal(o.rc, CR_OK);
	assert_int_equal(rowreader_format_of(o.r), ROWREADER_NDJSON);
	assert_int_equal(rowreader_ncols(o.r), 3);
	int e = rowreader_find(o.r, "email"), s = rowreader_find(o.r, "spend");
	assert_true(e >= 0 && s >= 0);
	assert_int_equal(rowreader_next(o.r, &f, &line, &eof), CR_OK);
	assert_int_equal(line, 1);
	assert_string_equal(f[e], "a@example.com");
	assert_string_equal(f[s], "120");
	assert_int_equal(rowreader_next(o.r, &f, &line, &eof), CR_OK);
	assert_int_equal(line, 3);
	assert_string_equal(f[e], "b@example.com");
	assert_string_equal(f[s], "");
	assert_int_equal(rowreader_next(o.r, &f, &line, &eof), CR_OK);
	assert_true(eof);
	close_o(&o);
}

static void test_ndjson_malformed(void **state)
{
	(void)state;
	struct {
		const char *data;
		cr_err want;
		const char *msg;
	} cases[] = {
		{ "{\"email\":\"secret@x\"}\n{\"email\":\"secret@y\",\"x\":1}\n", CR_ERR_FILE_COLUMNS, "line 2: keys differ" },
		{ "{\"email\":\"secret@x\"}\n{\"mail\":\"secret@y\"}\n", CR_ERR_FILE_COLUMNS, "line 2: key 'email' is missing" },
		{ "{\"email\":\"secret@x\"}\n[1]\n", CR_ERR_FILE_JSON, "line 2: not a JSON object" },
		{ "{\"email\":\"secret@x\"}\n{\"email\":\"secret@y\"} junk\n", CR_ERR_FILE_JSON, "line 2: not a JSON object" },
		{ "{\"email\":\"secret@x\",\"email\":\"secret@y\"}\n", CR_ERR_FILE_JSON, "line 1: not a JSON object" },
		{ "{\"email\":[\"secret@x\"]}\n", CR_ERR_FILE_JSON, "line 1: value of 'email' must be a string" },
		{ "\n\n", CR_ERR_FILE_EMPTY, "empty" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *fp = fmemopen((void *)cases[i].data, strlen(cases[i].data), "r");
		struct rowreader *r = NULL;
		const char *const *f;
		uint64_t line;
		bool eof = false;
		cr_err rc = rowreader_open(fp, ROWREADER_NDJSON, NULL, &r);
		while (rc == CR_OK && !eof)
			rc = rowreader_next(r, &f, &line, &eof);
		assert_int_equal(rc, cases[i].want);
		if (strstr(rowreader_error(r), cases[i].msg) == NULL)
			print_error("case %zu message: %s\n", i, rowreader_error(r));
		assert_non_null(strstr(rowreader_error(r), cases[i].msg));
		assert_null(strstr(rowreader_error(r), "secret"));
		rowreader_free(r);
		fclose(fp);
	}
}

/* Found by fuzz_rowreader: a bare CR ends a CSV record inside a physical
 * line; the record after it was numbered line 0, and its errors named no
 * line. It starts on the physical line that holds it. */
static void test_csv_record_after_bare_cr_keeps_its_line(void **state)
{
	(void)state;
	static const char data[] = "email,segment\na@example.com,a\rb@example.com,b\nc@example.com\n";
	struct opened o = open_str(data, sizeof(data) - 1, "list.csv");
	const char *const *f;
	uint64_t line = 99;
	bool eof;
	assert_int_equal(o.rc, CR_OK);
	assert_int_equal(rowreader_next(o.r, &f, &line, &eof), CR_OK);
	assert_int_equal(line, 2);
	assert_int_equal(rowreader_next(o.r, &f, &line, &eof), CR_OK);
	assert_string_equal(f[0], "b@example.com");
	assert_int_equal(line, 2);
	assert_int_equal(rowreader_next(o.r, &f, &line, &eof), CR_ERR_FILE_COLUMNS);
	assert_non_null(strstr(rowreader_error(o.r), "line 3"));
	close_o(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_records_quoting_and_crlf),
		cmocka_unit_test(test_csv_bom_and_no_final_newline),
		cmocka_unit_test(test_csv_malformed),
		cmocka_unit_test(test_csv_oversized),
		cmocka_unit_test(test_ndjson_records),
		cmocka_unit_test(test_ndjson_malformed),
		cmocka_unit_test(test_csv_record_after_bare_cr_keeps_its_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
