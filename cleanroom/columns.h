/*
 * columns.h: typed attribute columns of a dataset (internal to cleanroom/).
 *
 * A dataset declares its attribute columns when it is created, e.g.
 *     segment:enum(a|b|c),region:enum(north|south),spend:int(0..10000)
 * Enums have a declared value set (so every group-by cell is known in
 * advance and nothing free-form can leak through a dimension); integers have
 * a closed range (so a clamped sum has a known sensitivity, docs/spec/privacy.md).
 * Values are stored as one int64 each: an enum's value index, or the integer.
 */
#ifndef CR_CLEANROOM_COLUMNS_H
#define CR_CLEANROOM_COLUMNS_H

#include "common/common.h"

#define COLUMNS_MAX 16
#define COLUMN_NAME_MAX 32
#define COLUMN_ENUM_MAX 64
#define COLUMN_VALUE_MAX 32
#define COLUMN_INT_LIMIT 1000000000000LL /* |lo|, |hi| <= 10^12 */

enum column_kind { COLUMN_ENUM = 1, COLUMN_INT = 2 };

struct column {
	char name[COLUMN_NAME_MAX + 1];
	enum column_kind kind;
	size_t nvalues;                                   /* enum */
	char values[COLUMN_ENUM_MAX][COLUMN_VALUE_MAX + 1];
	int64_t lo, hi;                                   /* int */
};

struct column_set {
	size_t n;
	struct column cols[COLUMNS_MAX];
};

/*
 * Parses a column spec into *out. On failure returns CR_ERR_COLUMN_SPEC and
 * writes a one-line reason into err (naming the column and what is wrong).
 * Names are [a-z][a-z0-9_]*, unique, and may not be an identifier column name
 * (email, phone, email_sha256, phone_sha256).
 */
cr_err columns_parse(const char *spec, struct column_set *out, char *err,
		     size_t errcap) CR_MUST_CHECK;

/* Writes the canonical spec text (what columns_parse reads) into buf. */
cr_err columns_format(const struct column_set *cs, char *buf, size_t cap) CR_MUST_CHECK;

/* The index of column `name`, or -1. */
int columns_find(const struct column_set *cs, const char *name);

/*
 * Checks `value` against column c and writes its stored form to *out (enum:
 * the value's index; int: the integer). CR_ERR_ATTR_INVALID otherwise.
 */
cr_err column_value(const struct column *c, const char *value, int64_t *out) CR_MUST_CHECK;

/* The text of stored value v of column c into buf (enum name or integer). */
void column_value_text(const struct column *c, int64_t v, char *buf, size_t cap);

#endif
