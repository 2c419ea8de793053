/*
 * rowreader.h: streaming reader for the list files users bring (internal to
 * cleanroom/): CSV with a header row (RFC 4180, via libcsv) or NDJSON with
 * the same keys on every line (via jansson). Memory stays bounded whatever
 * the file size: one record at a time, every field and line size-limited.
 *
 * Error details name the line and the column, never a field's value (the
 * values are personal data).
 */
#ifndef CR_CLEANROOM_ROWREADER_H
#define CR_CLEANROOM_ROWREADER_H

#include <stdio.h>

#include "common/common.h"

enum rowreader_format { ROWREADER_AUTO = 0, ROWREADER_CSV, ROWREADER_NDJSON };

#define ROWREADER_MAX_FIELD 4096      /* bytes in one field */
#define ROWREADER_MAX_LINE (1 << 20)  /* bytes in one physical line */
#define ROWREADER_MAX_COLUMNS 64

struct rowreader;

/*
 * Starts reading `f` (borrowed; the caller closes it). `name_hint` (a file
 * name, may be NULL) picks the format under ROWREADER_AUTO by extension
 * (.csv, .ndjson, .jsonl); otherwise the first byte decides ('{' is NDJSON).
 * Reads the header: for CSV the first row, for NDJSON the first object's
 * keys. A UTF-8 byte-order mark is skipped. Fails with CR_ERR_FILE_EMPTY,
 * CR_ERR_FILE_HEADER, CR_ERR_FILE_CSV, CR_ERR_FILE_JSON, CR_ERR_UTF8,
 * CR_ERR_FILE_FIELD_TOO_LONG or CR_ERR_IO; rowreader_error() then has the
 * detail. *out is handed to the caller even on failure (for the message);
 * free it with rowreader_free.
 */
cr_err rowreader_open(FILE *f, enum rowreader_format fmt, const char *name_hint,
		      struct rowreader **out) CR_MUST_CHECK;
void rowreader_free(struct rowreader *r);

enum rowreader_format rowreader_format_of(const struct rowreader *r);
size_t rowreader_ncols(const struct rowreader *r);
/* Column i's name (borrowed from the reader). */
const char *rowreader_colname(const struct rowreader *r, size_t i);
/* The index of column `name`, or -1. */
int rowreader_find(const struct rowreader *r, const char *name);

/*
 * Reads the next record. On CR_OK with *eof false, fields[i] (NUL-terminated,
 * borrowed until the next call) is column i's value and *line the record's
 * line number (the header is line 1). At the end, CR_OK with *eof true.
 * A malformed record is an error for the whole file (the caller stores
 * nothing of it); rowreader_error() says which line and why.
 */
cr_err rowreader_next(struct rowreader *r, const char *const **fields,
		      uint64_t *line, bool *eof) CR_MUST_CHECK;

/* The last error's detail ("line 7: unterminated quoted field"), or "". */
const char *rowreader_error(const struct rowreader *r);

/* Bytes consumed so far (for progress indicators). */
uint64_t rowreader_bytes_read(const struct rowreader *r);

#endif
