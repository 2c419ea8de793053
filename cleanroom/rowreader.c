/*
 * rowreader.c: streaming CSV (libcsv) and NDJSON (jansson) reader with
 * bounded memory. Input is read in physical lines through a fixed buffer, so
 * a hostile file can never make us hold more than one line (1 MiB) plus one
 * record; each line is checked for UTF-8 and NUL bytes before parsing.
 *
 * libcsv runs in strict mode with space trimming disabled: a field's bytes
 * reach the caller exactly as written (identifier normalization trims later,
 * under its own rules).
 */
#include <stdarg.h>
#include <string.h>

#include <csv.h>
#include <jansson.h>

#include "cleanroom/rowreader.h"

#define READ_CHUNK 65536

struct record {
	char **fields;
	size_t n;
	uint64_t line;
};

struct rowreader {
	FILE *f;                 /* borrowed */
	enum rowreader_format fmt;
	/* line buffer */
	char *buf;
	size_t start, end, cap;
	bool input_done;
	uint64_t line;           /* physical lines consumed */
	uint64_t bytes;
	/* header */
	char **cols;
	size_t ncols;
	/* records parsed but not yet handed out (CSV may finish two per line) */
	struct record *queue;
	size_t qhead, qlen, qcap;
	struct record cur;       /* the one handed out last */
	struct record building;  /* CSV: fields so far */
	uint64_t record_start;   /* CSV: line where `building` began */
	struct csv_parser csv;
	bool csv_ready;
	cr_err cb_err;
	char err[200];
};

static void set_err(struct rowreader *r, uint64_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(struct rowreader *r, uint64_t line, const char *fmt, ...)
{
	char what[150];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(r->err, sizeof(r->err), "line %llu: %s", (unsigned long long)line, what);
	else
		snprintf(r->err, sizeof(r->err), "%s", what);
}

static void record_clear(struct record *rec)
{
	for (size_t i = 0; i < rec->n; i++) {
		/* Field values are personal data: wipe before freeing. */
		memset(rec->fields[i], 0, strlen(rec->fields[i]));
		free(rec->fields[i]);
	}
	free(rec->fields);
	rec->fields = NULL;
	rec->n = 0;
}

static void record_add(struct record *rec, const char *s, size_t len)
{
	char *v = cr_xmalloc(len + 1);
	if (len)
		memcpy(v, s, len);
	v[len] = '\0';
	rec->fields = cr_xrealloc(rec->fields, (rec->n + 1) * sizeof(char *));
	rec->fields[rec->n++] = v;
}

static void queue_push(struct rowreader *r, struct record *rec)
{
	if (r->qhead + r->qlen == r->qcap) {
		if (r->qhead > 0) {
			memmove(r->queue, r->queue + r->qhead, r->qlen * sizeof(*r->queue));
			r->qhead = 0;
		} else {
			r->qcap = r->qcap ? r->qcap * 2 : 4;
			r->queue = cr_xrealloc(r->queue, r->qcap * sizeof(*r->queue));
		}
	}
	r->queue[r->qhead + r->qlen++] = *rec;
	memset(rec, 0, sizeof(*rec));
}

/* ------------------------------------------------------------ line input */

/*
 * Points *line at the next physical line (without its '\n'; a trailing '\r'
 * is kept for libcsv to treat as a terminator). *eof when no line remains.
 */
static cr_err next_line(struct rowreader *r, const char **line, size_t *len, bool *eof)
{
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (nl || (r->input_done && r->end > r->start)) {
			size_t n = nl ? (size_t)(nl - (r->buf + r->start)) : r->end - r->start;
			*line = r->buf + r->start;
			*len = n;
			r->start += n + (nl ? 1 : 0);
			r->line++;
			*eof = false;
			return CR_OK;
		}
		if (r->input_done) {
			*eof = true;
			return CR_OK;
		}
		if (r->end - r->start >= ROWREADER_MAX_LINE) {
			set_err(r, r->line + 1, "line longer than %s bytes", "1048576");
			return CR_ERR_FILE_FIELD_TOO_LONG;
		}
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		size_t got = fread(r->buf + r->end, 1, r->cap - r->end, r->f);
		if (got == 0) {
			if (ferror(r->f)) {
				set_err(r, 0, "read error");
				return CR_ERR_IO;
			}
			r->input_done = true;
		}
		r->end += got;
		r->bytes += got;
	}
}

static cr_err check_line_bytes(struct rowreader *r, const char *s, size_t len)
{
	if (memchr(s, '\0', len)) {
		set_err(r, r->line, "contains a NUL byte");
		return r->fmt == ROWREADER_CSV ? CR_ERR_FILE_CSV : CR_ERR_FILE_JSON;
	}
	if (!cr_utf8_valid((const uint8_t *)s, len)) {
		set_err(r, r->line, "invalid UTF-8");
		return CR_ERR_UTF8;
	}
	return CR_OK;
}

/* ------------------------------------------------------------------- CSV */

static int csv_no_space(unsigned char c)
{
	(void)c;
	return 0;
}

static void csv_on_field(void *s, size_t len, void *data)
{
	struct rowreader *r = data;
	if (r->cb_err != CR_OK)
		return;
	/* A bare CR ends a record inside a physical line: the next one starts on that line. */
	if (r->record_start == 0)
		r->record_start = r->line;
	if (r->building.n >= ROWREADER_MAX_COLUMNS) {
		set_err(r, r->record_start, "more than %s columns", "64");
		r->cb_err = CR_ERR_FILE_COLUMNS;
		return;
	}
	if (len > ROWREADER_MAX_FIELD) {
		set_err(r, r->record_start, "a field is longer than %s bytes", "4096");
		r->cb_err = CR_ERR_FILE_FIELD_TOO_LONG;
		return;
	}
	record_add(&r->building, s ? s : "", s ? len : 0);
}

static void csv_on_row(int term, void *data)
{
	struct rowreader *r = data;
	(void)term;
	if (r->cb_err != CR_OK)
		return;
	r->building.line = r->record_start;
	queue_push(r, &r->building);
	r->record_start = 0;
}

static cr_err csv_feed_line(struct rowreader *r, const char *s, size_t len)
{
	static const char nl = '\n';
	if (r->record_start == 0 && len > 0)
		r->record_start = r->line;
	if (csv_parse(&r->csv, s, len, csv_on_field, csv_on_row, r) != len ||
	    csv_parse(&r->csv, &nl, 1, csv_on_field, csv_on_row, r) != 1) {
		if (r->cb_err != CR_OK)
			return r->cb_err;
		set_err(r, r->line, "malformed quoting (%s)", csv_strerror(csv_error(&r->csv)));
		return CR_ERR_FILE_CSV;
	}
	if (r->cb_err != CR_OK)
		return r->cb_err;
	/* A quoted field may span lines, but not past the field size limit. */
	if (r->csv.entry_pos > ROWREADER_MAX_FIELD) {
		set_err(r, r->record_start, "a field is longer than %s bytes", "4096");
		return CR_ERR_FILE_FIELD_TOO_LONG;
	}
	return CR_OK;
}

static cr_err csv_finish(struct rowreader *r)
{
	if (csv_fini(&r->csv, csv_on_field, csv_on_row, r) != 0) {
		set_err(r, r->record_start ? r->record_start : r->line,
			"unterminated quoted field");
		return CR_ERR_FILE_CSV;
	}
	return r->cb_err;
}

/* ---------------------------------------------------------------- NDJSON */

static cr_err json_value_text(struct rowreader *r, json_t *v, const char *key, struct record *rec)
{
	char num[32];
	if (json_is_string(v)) {
		if (json_string_length(v) > ROWREADER_MAX_FIELD) {
			set_err(r, r->line, "value of '%s' is too long", key);
			return CR_ERR_FILE_FIELD_TOO_LONG;
		}
		record_add(rec, json_string_value(v), json_string_length(v));
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		record_add(rec, num, strlen(num));
	} else if (json_is_null(v)) {
		record_add(rec, "", 0);
	} else {
		set_err(r, r->line, "value of '%s' must be a string or an integer", key);
		return CR_ERR_FILE_JSON;
	}
	return CR_OK;
}

static cr_err json_parse_line(struct rowreader *r, const char *s, size_t len, json_t **out)
{
	json_error_t je;
	json_t *obj = json_loadb(s, len, JSON_REJECT_DUPLICATES, &je);
	if (obj == NULL || !json_is_object(obj)) {
		json_decref(obj);
		set_err(r, r->line, "not a JSON object");
		return CR_ERR_FILE_JSON;
	}
	*out = obj;
	return CR_OK;
}

static cr_err json_feed_line(struct rowreader *r, const char *s, size_t len)
{
	json_t *obj = NULL;
	struct record rec = { 0 };
	cr_err rc = json_parse_line(r, s, len, &obj);
	if (rc != CR_OK)
		return rc;
	if (json_object_size(obj) != r->ncols) {
		set_err(r, r->line, "keys differ from the first line's");
		rc = CR_ERR_FILE_COLUMNS;
		goto out;
	}
	for (size_t i = 0; i < r->ncols && rc == CR_OK; i++) {
		json_t *v = json_object_get(obj, r->cols[i]);
		if (v == NULL) {
			set_err(r, r->line, "key '%s' is missing", r->cols[i]);
			rc = CR_ERR_FILE_COLUMNS;
		} else {
			rc = json_value_text(r, v, r->cols[i], &rec);
		}
	}
	if (rc == CR_OK) {
		rec.line = r->line;
		queue_push(r, &rec);
	}
out:
	record_clear(&rec);
	json_decref(obj);
	return rc;
}

/* Takes the header from the first object's keys (in the order written). */
static cr_err json_header(struct rowreader *r, const char *s, size_t len)
{
	json_t *obj = NULL;
	const char *key;
	json_t *v;
	cr_err rc = json_parse_line(r, s, len, &obj);
	if (rc != CR_OK)
		return rc;
	r->cols = cr_xcalloc(json_object_size(obj) + 1, sizeof(char *));
	json_object_foreach(obj, key, v) {
		(void)v;
		r->cols[r->ncols++] = cr_xstrdup(key);
	}
	json_decref(obj);
	return CR_OK;
}

/* ------------------------------------------------------------ the reader */

static cr_err feed_line(struct rowreader *r, const char *s, size_t len)
{
	cr_err rc = check_line_bytes(r, s, len);
	if (rc != CR_OK)
		return rc;
	if (r->fmt == ROWREADER_CSV)
		return csv_feed_line(r, s, len);
	/* NDJSON: blank lines are allowed and skipped. */
	while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len ? json_feed_line(r, s, len) : CR_OK;
}

/* Fills the queue with at least one record, or reaches the end. */
static cr_err fill(struct rowreader *r, bool *eof)
{
	const char *s;
	size_t len;
	cr_err rc;
	while (r->qlen == 0) {
		rc = next_line(r, &s, &len, eof);
		if (rc != CR_OK)
			return rc;
		if (*eof) {
			if (r->fmt == ROWREADER_CSV && r->csv_ready) {
				rc = csv_finish(r);
				r->csv_ready = false;
				if (rc != CR_OK)
					return rc;
				continue;
			}
			return CR_OK;
		}
		rc = feed_line(r, s, len);
		if (rc != CR_OK)
			return rc;
	}
	*eof = false;
	return CR_OK;
}

static enum rowreader_format sniff(struct rowreader *r, const char *hint)
{
	const char *dot = hint ? strrchr(hint, '.') : NULL;
	if (dot && strcmp(dot, ".csv") == 0)
		return ROWREADER_CSV;
	if (dot && (strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".jsonl") == 0))
		return ROWREADER_NDJSON;
	for (size_t i = r->start; i < r->end; i++)
		if (r->buf[i] != ' ' && r->buf[i] != '\t' && r->buf[i] != '\r' && r->buf[i] != '\n')
			return r->buf[i] == '{' ? ROWREADER_NDJSON : ROWREADER_CSV;
	return ROWREADER_CSV;
}

/* Reads the first chunk, drops a UTF-8 BOM, and settles the format. */
static cr_err prime(struct rowreader *r, enum rowreader_format fmt, const char *hint)
{
	size_t got = fread(r->buf, 1, READ_CHUNK, r->f);
	if (got == 0 && ferror(r->f)) {
		set_err(r, 0, "read error");
		return CR_ERR_IO;
	}
	r->end = got;
	r->bytes = got;
	if (got == 0)
		r->input_done = true;
	if (got >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0)
		r->start = 3;
	r->fmt = fmt != ROWREADER_AUTO ? fmt : sniff(r, hint);
	return CR_OK;
}

static cr_err check_header(struct rowreader *r)
{
	if (r->ncols == 0) {
		set_err(r, 1, "header has no columns");
		return CR_ERR_FILE_HEADER;
	}
	for (size_t i = 0; i < r->ncols; i++) {
		if (r->cols[i][0] == '\0') {
			set_err(r, 1, "header has an empty column name");
			return CR_ERR_FILE_HEADER;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(r->cols[i], r->cols[j]) == 0) {
				set_err(r, 1, "column '%s' appears twice in the header", r->cols[i]);
				return CR_ERR_FILE_HEADER;
			}
	}
	return CR_OK;
}

static cr_err read_header(struct rowreader *r)
{
	const char *s;
	size_t len;
	bool eof = false;
	cr_err rc;

	if (r->fmt == ROWREADER_NDJSON) {
		do {
			rc = next_line(r, &s, &len, &eof);
			while (rc == CR_OK && !eof && len > 0 &&
			       (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
				len--;
		} while (rc == CR_OK && !eof && len == 0);
		if (rc == CR_OK && eof) {
			set_err(r, 0, "file is empty: no records");
			return CR_ERR_FILE_EMPTY;
		}
		if (rc == CR_OK)
			rc = check_line_bytes(r, s, len);
		if (rc == CR_OK)
			rc = json_header(r, s, len);
		if (rc == CR_OK)
			rc = check_header(r);
		/* The first line is the first record as well as the header. */
		if (rc == CR_OK)
			rc = json_feed_line(r, s, len);
		return rc;
	}
	rc = fill(r, &eof);
	if (rc != CR_OK)
		return rc;
	if (eof) {
		set_err(r, 0, "file is empty: no header row");
		return CR_ERR_FILE_EMPTY;
	}
	struct record h = r->queue[r->qhead++];
	r->qlen--;
	r->cols = h.fields;
	r->ncols = h.n;
	return check_header(r);
}

cr_err rowreader_open(FILE *f, enum rowreader_format fmt, const char *name_hint,
		      struct rowreader **out)
{
	struct rowreader *r = cr_xcalloc(1, sizeof(*r));
	cr_err rc;

	*out = r;
	r->f = f;
	r->cap = ROWREADER_MAX_LINE + READ_CHUNK;
	r->buf = cr_xmalloc(r->cap);
	rc = prime(r, fmt, name_hint);
	if (rc != CR_OK)
		return rc;
	if (r->fmt == ROWREADER_CSV) {
		if (csv_init(&r->csv, CSV_STRICT | CSV_STRICT_FINI) != 0)
			cr_die("libcsv: out of memory");
		csv_set_space_func(&r->csv, csv_no_space);
		r->csv_ready = true;
	}
	return read_header(r);
}

void rowreader_free(struct rowreader *r)
{
	if (r == NULL)
		return;
	record_clear(&r->cur);
	record_clear(&r->building);
	for (size_t i = 0; i < r->qlen; i++)
		record_clear(&r->queue[r->qhead + i]);
	free(r->queue);
	for (size_t i = 0; i < r->ncols; i++)
		free(r->cols[i]);
	free(r->cols);
	if (r->fmt == ROWREADER_CSV)
		csv_free(&r->csv);
	if (r->buf) {
		memset(r->buf, 0, r->cap);
		free(r->buf);
	}
	free(r);
}

cr_err rowreader_next(struct rowreader *r, const char *const **fields, uint64_t *line, bool *eof)
{
	cr_err rc;
	record_clear(&r->cur);
	rc = fill(r, eof);
	if (rc != CR_OK || *eof)
		return rc;
	r->cur = r->queue[r->qhead++];
	r->qlen--;
	if (r->qlen == 0)
		r->qhead = 0;
	if (r->cur.n != r->ncols) {
		char n[48];
		snprintf(n, sizeof(n), "%zu columns, the header has %zu", r->cur.n, r->ncols);
		set_err(r, r->cur.line, "%s", n);
		return CR_ERR_FILE_COLUMNS;
	}
	*fields = (const char *const *)r->cur.fields;
	*line = r->cur.line;
	return CR_OK;
}

enum rowreader_format rowreader_format_of(const struct rowreader *r)
{
	return r->fmt;
}

size_t rowreader_ncols(const struct rowreader *r)
{
	return r->ncols;
}

const char *rowreader_colname(const struct rowreader *r, size_t i)
{
	return i < r->ncols ? r->cols[i] : NULL;
}

int rowreader_find(const struct rowreader *r, const char *name)
{
	for (size_t i = 0; i < r->ncols; i++)
		if (strcmp(r->cols[i], name) == 0)
			return (int)i;
	return -1;
}

const char *rowreader_error(const struct rowreader *r)
{
	return r ? r->err : "";
}

uint64_t rowreader_bytes_read(const struct rowreader *r)
{
	return r->bytes;
}
