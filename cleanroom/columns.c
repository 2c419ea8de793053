/*
 * columns.c: parsing dataset column specs and checking attribute values
 * against them. The grammar is small and parsed by hand with bounds checks:
 *     spec   := column ("," column)*
 *     column := name ":" ( "enum(" value ("|" value)* ")" | "int(" int ".." int ")" )
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/columns.h"

static const char *const reserved_names[] = { "email", "phone", "email_sha256", "phone_sha256" };

static cr_err spec_err(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static cr_err spec_err(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (err && cap) {
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return CR_ERR_COLUMN_SPEC;
}

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (!first && ((c >= '0' && c <= '9') || c == '_'));
}

static bool value_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '+' || c == '.';
}

/* Parses a signed decimal in [-LIMIT, LIMIT] at s[*i]. */
static bool parse_int(const char *s, size_t *i, int64_t *out)
{
	bool neg = false;
	int64_t v = 0;
	size_t digits = 0;
	if (s[*i] == '-') {
		neg = true;
		(*i)++;
	}
	while (s[*i] >= '0' && s[*i] <= '9') {
		v = v * 10 + (s[*i] - '0');
		if (v > COLUMN_INT_LIMIT)
			return false;
		(*i)++;
		digits++;
	}
	if (digits == 0)
		return false;
	*out = neg ? -v : v;
	return true;
}

static cr_err parse_enum(const char *s, size_t *i, struct column *c, char *err, size_t cap)
{
	for (;;) {
		size_t start = *i, len;
		while (value_char(s[*i]))
			(*i)++;
		len = *i - start;
		if (len == 0 || len > COLUMN_VALUE_MAX)
			return spec_err(err, cap, "column '%s': enum values are 1 to %d of [A-Za-z0-9_+.-]",
					c->name, COLUMN_VALUE_MAX);
		if (c->nvalues == COLUMN_ENUM_MAX)
			return spec_err(err, cap, "column '%s': more than %d enum values", c->name, COLUMN_ENUM_MAX);
		memcpy(c->values[c->nvalues], s + start, len);
		c->values[c->nvalues][len] = '\0';
		for (size_t k = 0; k < c->nvalues; k++)
			if (strcmp(c->values[k], c->values[c->nvalues]) == 0)
				return spec_err(err, cap, "column '%s': value '%s' appears twice",
						c->name, c->values[k]);
		c->nvalues++;
		if (s[*i] == ')') {
			(*i)++;
			return CR_OK;
		}
		if (s[*i] != '|')
			return spec_err(err, cap, "column '%s': expected '|' or ')' in enum(...)", c->name);
		(*i)++;
	}
}

static cr_err parse_range(const char *s, size_t *i, struct column *c, char *err, size_t cap)
{
	if (!parse_int(s, i, &c->lo) || strncmp(s + *i, "..", 2) != 0)
		return spec_err(err, cap, "column '%s': expected int(lo..hi) with |lo|, |hi| <= 10^12", c->name);
	*i += 2;
	if (!parse_int(s, i, &c->hi) || s[*i] != ')')
		return spec_err(err, cap, "column '%s': expected int(lo..hi) with |lo|, |hi| <= 10^12", c->name);
	(*i)++;
	if (c->lo > c->hi)
		return spec_err(err, cap, "column '%s': lo is greater than hi", c->name);
	return CR_OK;
}

static cr_err parse_column(const char *s, size_t *i, struct column_set *cs, char *err, size_t cap)
{
	struct column *c = &cs->cols[cs->n];
	size_t start = *i, len;
	memset(c, 0, sizeof(*c));
	while (name_char(s[*i], *i == start))
		(*i)++;
	len = *i - start;
	if (len == 0 || len > COLUMN_NAME_MAX || s[*i] != ':')
		return spec_err(err, cap, "column %zu: expected name:type with a name of [a-z][a-z0-9_]* (at most %d)",
				cs->n + 1, COLUMN_NAME_MAX);
	memcpy(c->name, s + start, len);
	(*i)++;
	for (size_t k = 0; k < sizeof(reserved_names) / sizeof(reserved_names[0]); k++)
		if (strcmp(c->name, reserved_names[k]) == 0)
			return spec_err(err, cap, "column '%s': the name is reserved for identifiers", c->name);
	if (columns_find(cs, c->name) >= 0)
		return spec_err(err, cap, "column '%s' appears twice", c->name);
	if (strncmp(s + *i, "enum(", 5) == 0) {
		*i += 5;
		c->kind = COLUMN_ENUM;
		return parse_enum(s, i, c, err, cap);
	}
	if (strncmp(s + *i, "int(", 4) == 0) {
		*i += 4;
		c->kind = COLUMN_INT;
		return parse_range(s, i, c, err, cap);
	}
	return spec_err(err, cap, "column '%s': type must be enum(a|b|...) or int(lo..hi)", c->name);
}

cr_err columns_parse(const char *spec, struct column_set *out, char *err, size_t errcap)
{
	struct column_set *cs = cr_xcalloc(1, sizeof(*cs));
	size_t i = 0;
	cr_err rc = CR_OK;

	if (spec == NULL || *spec == '\0') {
		rc = spec_err(err, errcap, "no columns given");
		goto out;
	}
	for (;;) {
		if (cs->n == COLUMNS_MAX) {
			rc = spec_err(err, errcap, "more than %d columns", COLUMNS_MAX);
			goto out;
		}
		rc = parse_column(spec, &i, cs, err, errcap);
		if (rc != CR_OK)
			goto out;
		cs->n++;
		if (spec[i] == '\0')
			break;
		if (spec[i] != ',') {
			rc = spec_err(err, errcap, "column '%s': unexpected text after its type",
				      cs->cols[cs->n - 1].name);
			goto out;
		}
		i++;
	}
	*out = *cs;
out:
	free(cs);
	return rc;
}

cr_err columns_format(const struct column_set *cs, char *buf, size_t cap)
{
	size_t pos = 0;
	int n;
	for (size_t k = 0; k < cs->n; k++) {
		const struct column *c = &cs->cols[k];
		n = snprintf(buf + pos, cap - pos, "%s%s:%s", k ? "," : "", c->name,
			     c->kind == COLUMN_ENUM ? "enum(" : "int(");
		if (n < 0 || (size_t)n >= cap - pos)
			return CR_ERR_TOO_LARGE;
		pos += (size_t)n;
		if (c->kind == COLUMN_INT) {
			n = snprintf(buf + pos, cap - pos, "%lld..%lld)", (long long)c->lo, (long long)c->hi);
		} else {
			for (size_t v = 0; v < c->nvalues; v++) {
				n = snprintf(buf + pos, cap - pos, "%s%s", v ? "|" : "", c->values[v]);
				if (n < 0 || (size_t)n >= cap - pos)
					return CR_ERR_TOO_LARGE;
				pos += (size_t)n;
			}
			n = snprintf(buf + pos, cap - pos, ")");
		}
		if (n < 0 || (size_t)n >= cap - pos)
			return CR_ERR_TOO_LARGE;
		pos += (size_t)n;
	}
	return CR_OK;
}

int columns_find(const struct column_set *cs, const char *name)
{
	for (size_t k = 0; k < cs->n; k++)
		if (strcmp(cs->cols[k].name, name) == 0)
			return (int)k;
	return -1;
}

cr_err column_value(const struct column *c, const char *value, int64_t *out)
{
	size_t i = 0;
	int64_t v;
	if (c->kind == COLUMN_ENUM) {
		for (size_t k = 0; k < c->nvalues; k++)
			if (strcmp(c->values[k], value) == 0) {
				*out = (int64_t)k;
				return CR_OK;
			}
		return CR_ERR_ATTR_INVALID;
	}
	if (!parse_int(value, &i, &v) || value[i] != '\0' || v < c->lo || v > c->hi)
		return CR_ERR_ATTR_INVALID;
	*out = v;
	return CR_OK;
}

void column_value_text(const struct column *c, int64_t v, char *buf, size_t cap)
{
	if (c->kind == COLUMN_ENUM && v >= 0 && (size_t)v < c->nvalues)
		snprintf(buf, cap, "%s", c->values[v]);
	else
		snprintf(buf, cap, "%lld", (long long)v);
}
