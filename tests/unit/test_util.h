/*
 * test_util.h: shared helpers for the cmocka unit tests: where the published
 * test vectors live (tests/vectors/), reading a file whole, counting what a
 * second connection sees committed, and a hex diff for byte arrays so
 * a failing known-answer test shows exactly which bytes differ.
 */
#ifndef CR_TEST_UTIL_H
#define CR_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>

/* The repository's tests/vectors folder: $VECTORS_DIR (the Makefile sets it),
 * else tests/vectors relative to the working directory (the repository root). */
static inline const char *test_vectors_dir(void)
{
	const char *d = getenv("VECTORS_DIR");
	return d && *d ? d : "tests/vectors";
}

/* Reads a whole file into a NUL-terminated heap buffer; NULL if unreadable. */
static inline char *test_read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;
	if (f == NULL)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			if (buf == NULL) {
				fclose(f);
				return NULL;
			}
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}

/*
 * The single integer `sql` answers on a second, read-only connection to the
 * database at db_path: only what is committed is seen. -1 if no row.
 */
static inline long long test_db_count(const char *db_path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;
	assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Removes a test's temporary directory tree (made with mkdtemp: no quotes in it). */
#define test_rm_rf(dir) test_rm_rf_at((dir), __FILE__, __LINE__)

static inline void test_rm_rf_at(const char *dir, const char *file, int line)
{
	char cmd[320];
	if (strchr(dir, '\'') != NULL || (size_t)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir) >= sizeof(cmd) ||
	    system(cmd) != 0)
		_fail(file, line);
}

/* Fails the test with a hex dump of both buffers if they differ. */
#define assert_bytes_equal(got, want, n) \
	test_assert_bytes_equal((const uint8_t *)(got), (const uint8_t *)(want), (n), __FILE__, __LINE__)

static inline void test_assert_bytes_equal(const uint8_t *got, const uint8_t *want,
					   size_t n, const char *file, int line)
{
	if (memcmp(got, want, n) == 0)
		return;
	print_error("%s:%d: bytes differ\n   got: ", file, line);
	for (size_t i = 0; i < n; i++)
		print_error("%02x", got[i]);
	print_error("\n  want: ");
	for (size_t i = 0; i < n; i++)
		print_error("%02x", want[i]);
	print_error("\n  diff: ");
	for (size_t i = 0; i < n; i++)
		print_error("%s", got[i] == want[i] ? "  " : "^^");
	print_error("\n");
	fail();
}

#endif
