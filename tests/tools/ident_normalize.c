/*
 * ident_normalize.c: the service's identifier normalization
 * (crypto_id_normalize, docs/spec/identifiers.md) as a filter, for tests that
 * compare it with another implementation: the cross-check of the browser
 * copy web/ident.js (tests/browser/phone-xcheck.test.js). A test tool only:
 * it prints normalized identifiers, which no part of the program ever does.
 *
 * Each input line is "TYPE TAB COUNTRY TAB HEX": the type (email or phone),
 * the default country or "-" for none, and the raw value in hex (so any
 * bytes, tabs and newlines included, can be given). Each output line is
 * "ok TAB NORMALIZED" or "refused TAB CODE" (the error's API code, such as
 * id_phone_invalid). Exit 0 at the end of input, 2 on a malformed line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

#define LINE_MAX_BYTES (2 * CRYPTO_ID_RAW_MAX + 64)

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes hex into raw[cap]; the byte count, or -1 if it is not hex. */
static long unhex(const char *hex, char *raw, size_t cap)
{
	size_t n = strlen(hex);
	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		raw[i / 2] = (char)(hi * 16 + lo);
	}
	return (long)(n / 2);
}

static int one_line(char *line)
{
	char raw[CRYPTO_ID_RAW_MAX + 2], out[CRYPTO_NORMALIZED_MAX + 1], code[64];
	char *country, *hex, *nl = strchr(line, '\n');
	struct crypto_id_opts opts = { 0 };
	enum crypto_id_type t;
	long n;
	cr_err rc;

	if (nl != NULL)
		*nl = '\0';
	country = strchr(line, '\t');
	hex = country != NULL ? strchr(country + 1, '\t') : NULL;
	if (hex == NULL)
		return -1;
	*country++ = '\0';
	*hex++ = '\0';
	if (crypto_id_type_parse(line, &t) != CR_OK || (n = unhex(hex, raw, sizeof(raw))) < 0)
		return -1;
	opts.default_country = strcmp(country, "-") == 0 ? NULL : country;
	rc = crypto_id_normalize(t, raw, (size_t)n, &opts, out);
	if (rc == CR_OK)
		printf("ok\t%s\n", out);
	else
		printf("refused\t%s\n", cr_errcode(rc, code, sizeof(code)));
	return 0;
}

int main(void)
{
	static char line[LINE_MAX_BYTES];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (one_line(line) != 0) {
			fprintf(stderr, "ident_normalize: malformed input line\n");
			return 2;
		}
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
