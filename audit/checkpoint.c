/*
 * checkpoint.c: the c2sp.org/tlog-checkpoint note body, "<origin>\n<tree
 * size>\n<base64 root hash>\n", formatted and parsed strictly, and opening a
 * signed checkpoint (signature, then body, then origin).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

#define ROOT_B64_LEN 44 /* base64 of 32 bytes, padded */

static bool origin_ok(const char *origin, size_t len)
{
	return len > 0 && len <= AUDIT_ORIGIN_MAX &&
	       audit_text_ok((const uint8_t *)origin, len, false);
}

cr_err audit_checkpoint_format(const struct audit_checkpoint *c, char **out, size_t *out_len)
{
	char b64[ROOT_B64_LEN + 1];
	size_t olen = strnlen(c->origin, sizeof(c->origin));
	size_t cap = olen + 1 + 20 + 1 + sizeof(b64) + 1;
	char *s;
	int n;

	if (!origin_ok(c->origin, olen))
		return CR_ERR_AUDIT_CHECKPOINT_MALFORMED;
	if (cr_base64_encode(c->root, sizeof(c->root), b64, sizeof(b64)) != CR_OK)
		return CR_ERR_INTERNAL;
	s = cr_xmalloc(cap);
	n = snprintf(s, cap, "%s\n%llu\n%s\n", c->origin, (unsigned long long)c->size, b64);
	if (n < 0 || (size_t)n >= cap) {
		free(s);
		return CR_ERR_INTERNAL;
	}
	*out = s;
	if (out_len)
		*out_len = (size_t)n;
	return CR_OK;
}

cr_err audit_checkpoint_parse(const char *text, size_t len, struct audit_checkpoint *out)
{
	struct audit_checkpoint cp = { .size = 0 };
	struct cr_cursor c;
	const uint8_t *origin, *size, *root, *ext;
	size_t origin_len, size_len, root_len, ext_len, got = 0;
	cr_err rc = CR_ERR_AUDIT_CHECKPOINT_MALFORMED;

	if (text == NULL || len > AUDIT_NOTE_MAX)
		goto out;
	cr_cursor_init(&c, (const uint8_t *)text, len);
	if (cr_cursor_until(&c, '\n', &origin, &origin_len) != CR_OK ||
	    cr_cursor_until(&c, '\n', &size, &size_len) != CR_OK ||
	    cr_cursor_until(&c, '\n', &root, &root_len) != CR_OK)
		goto out;
	if (!origin_ok((const char *)origin, origin_len))
		goto out;
	if (audit_parse_decimal((const char *)size, size_len, INT64_MAX, &cp.size) != CR_OK)
		goto out;
	if (root_len != ROOT_B64_LEN ||
	    audit_base64_decode((const char *)root, root_len, cp.root, sizeof(cp.root), &got) != CR_OK ||
	    got != sizeof(cp.root))
		goto out;
	/* Extension lines: opaque, but each must be non-empty text. */
	while (cr_cursor_remaining(&c) > 0) {
		if (cr_cursor_until(&c, '\n', &ext, &ext_len) != CR_OK || ext_len == 0 ||
		    !audit_text_ok(ext, ext_len, false))
			goto out;
	}
	memcpy(cp.origin, origin, origin_len);
	*out = cp;
	rc = CR_OK;
out:
	return rc;
}

cr_err audit_checkpoint_open(const struct audit_verifier *v, const char *note, size_t len,
			     const char *origin, struct audit_checkpoint *out)
{
	struct audit_checkpoint cp;
	size_t text_len = 0;
	cr_err rc = audit_note_verify(v, 1, note, len, &text_len);
	if (rc != CR_OK)
		return rc;
	rc = audit_checkpoint_parse(note, text_len, &cp);
	if (rc != CR_OK)
		return rc;
	if (origin != NULL && strcmp(origin, cp.origin) != 0)
		return CR_ERR_AUDIT_ORIGIN;
	*out = cp;
	return CR_OK;
}
