/*
 * util.c: small helpers with no better home: strict decimal parsing, UTF-8
 * validation, and allocation that fails fast (a clean room that runs out of
 * memory mid-transaction must stop, not limp on).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

cr_err cr_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return CR_ERR_PARSE;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return CR_ERR_PARSE;
		unsigned digit = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - digit) / 10)
			return CR_ERR_OVERFLOW;
		v = v * 10 + digit;
	}
	if (v < min || v > max)
		return CR_ERR_OVERFLOW;
	*out = v;
	return CR_OK;
}

bool cr_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t b = s[i];
		size_t n;
		uint32_t cp;
		if (b < 0x80) {
			i++;
			continue;
		} else if ((b & 0xE0) == 0xC0) {
			n = 2;
			cp = b & 0x1F;
		} else if ((b & 0xF0) == 0xE0) {
			n = 3;
			cp = b & 0x0F;
		} else if ((b & 0xF8) == 0xF0) {
			n = 4;
			cp = b & 0x07;
		} else {
			return false;
		}
		if (i + n > len)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n;
	}
	return true;
}

_Noreturn void cr_die(const char *what)
{
	fprintf(stderr, "cleanroom: fatal: %s\n", what);
	abort();
}

void *cr_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		cr_die("out of memory");
	return p;
}

void *cr_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		cr_die("out of memory");
	return p;
}

void *cr_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		cr_die("out of memory");
	return q;
}

char *cr_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = cr_xmalloc(n);
	memcpy(p, s, n);
	return p;
}
