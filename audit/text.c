/*
 * text.c: the small text rules several audit formats share: which bytes a
 * note, a leaf field or an origin may hold, strict decimals (no leading
 * zeros, as checkpoints and tlog-proofs require), canonical base64, and
 * the one-line "why" messages that name what failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

bool audit_text_ok(const uint8_t *s, size_t len, bool newline_ok)
{
	if (len > 0 && !cr_utf8_valid(s, len))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && newline_ok)
			continue;
		if (s[i] < 0x20 || s[i] == 0x7f)
			return false;
	}
	return true;
}

void audit_why(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (why == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

cr_err audit_parse_decimal(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	char buf[21];
	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return CR_ERR_PARSE;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return CR_ERR_PARSE;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return cr_parse_u64(buf, 0, max, out);
}

/*
 * cr_base64_decode (libsodium 1.0.18 underneath) accepts text that is not
 * base64 at all: bytes >= 0x80 are read as if they were '/' (found by
 * fuzz_checkpoint). A format read from outside must mean one thing, so the
 * decoded bytes are encoded again and must give back exactly the input.
 */
cr_err audit_base64_decode(const char *b64, size_t len, uint8_t *bin, size_t cap, size_t *out_len)
{
	size_t got = 0;
	char stack[128], *again = stack;
	cr_err rc = cr_base64_decode(b64, len, bin, cap, &got);

	if (rc != CR_OK)
		return rc;
	if (cr_base64_encoded_len(got) > sizeof(stack))
		again = cr_xmalloc(cr_base64_encoded_len(got));
	rc = cr_base64_encode(bin, got, again, cr_base64_encoded_len(got));
	if (rc == CR_OK && (strlen(again) != len || memcmp(again, b64, len) != 0))
		rc = CR_ERR_ENCODING;
	if (again != stack)
		free(again);
	if (rc == CR_OK)
		*out_len = got;
	return rc;
}
