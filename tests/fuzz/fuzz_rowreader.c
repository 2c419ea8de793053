/*
 * fuzz_rowreader.c: libFuzzer target for the customer-list reader
 * (cleanroom/rowreader.c: CSV through libcsv, NDJSON through jansson), the
 * parser every file a brand ingests (`cleanroom ingest`, POST .../ingest)
 * and every partner list goes through.
 *
 * The first byte picks the format (auto by name or first byte, CSV,
 * NDJSON) and the rest is the file. Besides surviving any input under
 * ASan/UBSan: every record has exactly the header's column count; every
 * field is NUL-terminated within ROWREADER_MAX_FIELD bytes and valid UTF-8;
 * line numbers never go back (a bare CR ends a CSV record
 * within a physical line, so two records may share one); every column name is found by rowreader_find at
 * its first position; a refusal is one of the documented codes and comes
 * with a detail; the bytes read never exceed the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/rowreader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_rowreader: invariant broken: %s\n", what);
		abort();
	}
}

static int documented(cr_err rc)
{
	switch (rc) {
	case CR_ERR_FILE_EMPTY:
	case CR_ERR_FILE_HEADER:
	case CR_ERR_FILE_CSV:
	case CR_ERR_FILE_JSON:
	case CR_ERR_UTF8:
	case CR_ERR_FILE_FIELD_TOO_LONG:
	case CR_ERR_FILE_COLUMNS:
	case CR_ERR_IO:
	case CR_ERR_TOO_LARGE:
		return 1;
	default:
		return 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hints[] = { NULL, "list.csv", "list.ndjson", "list.jsonl" };
	enum rowreader_format fmt;
	const char *hint;
	struct rowreader *r = NULL;
	const char *const *fields;
	uint64_t line, last = 1;
	bool eof = false;
	FILE *f;
	cr_err rc;

	if (size < 2)
		return 0;
	fmt = (enum rowreader_format)(data[0] % 3);
	hint = hints[(data[0] >> 2) % 4];
	f = fmemopen((void *)(data + 1), size - 1, "r");
	if (f == NULL)
		return 0;
	rc = rowreader_open(f, fmt, hint, &r);
	if (rc != CR_OK) {
		check(documented(rc), "undocumented refusal at open");
		check(r == NULL || rowreader_error(r)[0] != '\0', "refusal without a detail");
		goto out;
	}
	size_t n = rowreader_ncols(r);
	check(n >= 1 && n <= ROWREADER_MAX_COLUMNS, "column count out of bounds");
	for (size_t i = 0; i < n; i++) {
		const char *name = rowreader_colname(r, i);
		int at = rowreader_find(r, name);
		check(name != NULL && at >= 0 && (size_t)at <= i, "column not found by its name");
	}
	for (int k = 0; k < 100000; k++) {
		rc = rowreader_next(r, &fields, &line, &eof);
		if (rc != CR_OK) {
			check(documented(rc), "undocumented refusal of a record");
			check(rowreader_error(r)[0] != '\0', "record refusal without a detail");
			break;
		}
		if (eof)
			break;
		check(line >= last && line >= 1, "line numbers go back");
		last = line;
		for (size_t i = 0; i < n; i++) {
			size_t len = strnlen(fields[i], ROWREADER_MAX_FIELD + 1);
			check(len <= ROWREADER_MAX_FIELD, "field longer than the limit");
			check(cr_utf8_valid((const uint8_t *)fields[i], len), "field not UTF-8");
		}
	}
	check(rowreader_bytes_read(r) <= size - 1, "read more bytes than the file holds");
out:
	rowreader_free(r);
	fclose(f);
	return 0;
}
