/*
 * leaf.c: the canonical, versioned encoding of an audit leaf (the layout is
 * in audit.h). Encoder and decoder enforce the same field rules, so any
 * bytes the decoder accepts re-encode to exactly the same bytes: a leaf
 * means one thing and is written one way. The decoder reads only through
 * the bounds-checked cursor and trusts no length it reads.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

#define IDENT_MAX 64

enum text_rule {
	RULE_IDENT, /* 1..64 of [a-z0-9._-] */
	RULE_TEXT,  /* 0..255 UTF-8, no control character */
};

/* The eight short strings, in encoding order. */
struct str_field {
	size_t offset; /* of the const char * in struct audit_leaf */
	enum text_rule rule;
};

static const struct str_field str_fields[] = {
	{ offsetof(struct audit_leaf, event_type), RULE_IDENT },
	{ offsetof(struct audit_leaf, actor_role), RULE_IDENT },
	{ offsetof(struct audit_leaf, actor_id), RULE_TEXT },
	{ offsetof(struct audit_leaf, tenant), RULE_TEXT },
	{ offsetof(struct audit_leaf, dataset), RULE_TEXT },
	{ offsetof(struct audit_leaf, collaboration), RULE_TEXT },
	{ offsetof(struct audit_leaf, session), RULE_TEXT },
	{ offsetof(struct audit_leaf, notice), RULE_TEXT },
};
#define STR_FIELDS (sizeof(str_fields) / sizeof(str_fields[0]))

static const char **field_at(struct audit_leaf *leaf, size_t i)
{
	return (const char **)((char *)leaf + str_fields[i].offset);
}

static const char *field_get(const struct audit_leaf *leaf, size_t i)
{
	const char *s = *(const char *const *)((const char *)leaf + str_fields[i].offset);
	return s ? s : "";
}

/* ------------------------------------------------------------- rules */

static bool ident_ok(const uint8_t *s, size_t len)
{
	if (len == 0 || len > IDENT_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static bool field_ok(enum text_rule rule, const uint8_t *s, size_t len)
{
	switch (rule) {
	case RULE_IDENT:
		return ident_ok(s, len);
	case RULE_TEXT:
		return len <= AUDIT_TEXT_MAX && audit_text_ok(s, len, false);
	default:
		return false;
	}
}

static bool code_ok(const uint8_t *s, size_t len)
{
	return len > 0 && len <= AUDIT_CODE_MAX && audit_text_ok(s, len, false);
}

/* Codes must be valid and strictly increasing (sorted, unique). */
static bool codes_ok(const char *const *codes, size_t n)
{
	if (n > AUDIT_LIST_MAX || (n > 0 && codes == NULL))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (codes[i] == NULL || !code_ok((const uint8_t *)codes[i], strlen(codes[i])))
			return false;
		if (i > 0 && strcmp(codes[i - 1], codes[i]) >= 0)
			return false;
	}
	return true;
}

cr_err audit_leaf_check(const struct audit_leaf *leaf, size_t *size)
{
	size_t n = 1 + 8 + 8;
	const char *detail = leaf->detail ? leaf->detail : "";
	size_t dlen = strlen(detail);

	if (leaf->time_ms < 0)
		return CR_ERR_AUDIT_FIELD;
	for (size_t i = 0; i < STR_FIELDS; i++) {
		const char *s = field_get(leaf, i);
		size_t len = strlen(s);
		if (!field_ok(str_fields[i].rule, (const uint8_t *)s, len))
			return CR_ERR_AUDIT_FIELD;
		n += 1 + len;
	}
	if (!codes_ok(leaf->purposes, leaf->n_purposes) ||
	    !codes_ok(leaf->recipients, leaf->n_recipients))
		return CR_ERR_AUDIT_FIELD;
	n += 2;
	for (size_t i = 0; i < leaf->n_purposes; i++)
		n += 1 + strlen(leaf->purposes[i]);
	for (size_t i = 0; i < leaf->n_recipients; i++)
		n += 1 + strlen(leaf->recipients[i]);
	n += 1 + (leaf->has_subject ? AUDIT_HASH_BYTES : 0);
	if (dlen > AUDIT_DETAIL_MAX || !audit_text_ok((const uint8_t *)detail, dlen, false))
		return CR_ERR_AUDIT_FIELD;
	n += 2 + dlen;
	if (n > AUDIT_LEAF_MAX)
		return CR_ERR_AUDIT_LEAF_TOO_LARGE;
	*size = n;
	return CR_OK;
}

/* ------------------------------------------------------------ encode */

struct writer {
	uint8_t *p;
	size_t pos;
};

static void put_be(struct writer *w, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		w->p[w->pos + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	w->pos += n;
}

static void put_bytes(struct writer *w, const void *b, size_t n)
{
	if (n > 0)
		memcpy(w->p + w->pos, b, n);
	w->pos += n;
}

static void put_str8(struct writer *w, const char *s)
{
	size_t len = strlen(s);
	put_be(w, len, 1);
	put_bytes(w, s, len);
}

cr_err audit_leaf_encode(const struct audit_leaf *leaf, uint8_t **out, size_t *out_len)
{
	struct writer w = { .p = NULL, .pos = 0 };
	const char *detail = leaf->detail ? leaf->detail : "";
	size_t size = 0;
	cr_err rc = audit_leaf_check(leaf, &size);

	if (rc != CR_OK)
		return rc;
	w.p = cr_xmalloc(size);
	put_be(&w, AUDIT_LEAF_VERSION, 1);
	put_be(&w, leaf->sequence, 8);
	put_be(&w, (uint64_t)leaf->time_ms, 8);
	for (size_t i = 0; i < STR_FIELDS; i++)
		put_str8(&w, field_get(leaf, i));
	put_be(&w, leaf->n_purposes, 1);
	for (size_t i = 0; i < leaf->n_purposes; i++)
		put_str8(&w, leaf->purposes[i]);
	put_be(&w, leaf->n_recipients, 1);
	for (size_t i = 0; i < leaf->n_recipients; i++)
		put_str8(&w, leaf->recipients[i]);
	put_be(&w, leaf->has_subject ? 1 : 0, 1);
	if (leaf->has_subject)
		put_bytes(&w, leaf->subject_commit, AUDIT_HASH_BYTES);
	put_be(&w, strlen(detail), 2);
	put_bytes(&w, detail, strlen(detail));
	if (w.pos != size)
		cr_die("audit_leaf_encode: size mismatch");
	*out = w.p;
	*out_len = size;
	return CR_OK;
}

/* ------------------------------------------------------------ decode */

/* One allocation: the leaf, its code arrays, then the string bytes. */
struct leaf_alloc {
	struct audit_leaf leaf; /* first: the pointer handed out is the one freed */
	const char *purposes[AUDIT_LIST_MAX];
	const char *recipients[AUDIT_LIST_MAX];
	size_t used;
	size_t cap;
	char strings[];
};

/* Copies (s, len) into the arena as a NUL-terminated string. */
static const char *arena_add(struct leaf_alloc *a, const uint8_t *s, size_t len)
{
	char *dst = a->strings + a->used;
	if (a->used + len + 1 > a->cap)
		cr_die("audit_leaf_decode: arena overflow");
	if (len > 0)
		memcpy(dst, s, len);
	dst[len] = '\0';
	a->used += len + 1;
	return dst;
}

/* Reads a u8-length string; the rule check is the caller's. */
static cr_err get_str8(struct cr_cursor *c, const uint8_t **s, size_t *len)
{
	uint8_t n;
	if (cr_cursor_u8(c, &n) != CR_OK || cr_cursor_view(c, n, s) != CR_OK)
		return CR_ERR_AUDIT_LEAF_MALFORMED;
	*len = n;
	return CR_OK;
}

static cr_err get_codes(struct cr_cursor *c, struct leaf_alloc *a, const char **codes,
			size_t *n_out)
{
	uint8_t n;
	if (cr_cursor_u8(c, &n) != CR_OK)
		return CR_ERR_AUDIT_LEAF_MALFORMED;
	if (n > AUDIT_LIST_MAX)
		return CR_ERR_AUDIT_FIELD;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *s;
		size_t len;
		cr_err rc = get_str8(c, &s, &len);
		if (rc != CR_OK)
			return rc;
		if (!code_ok(s, len))
			return CR_ERR_AUDIT_FIELD;
		codes[i] = arena_add(a, s, len);
		if (i > 0 && strcmp(codes[i - 1], codes[i]) >= 0)
			return CR_ERR_AUDIT_FIELD;
	}
	*n_out = n;
	return CR_OK;
}

static cr_err get_header(struct cr_cursor *c, struct audit_leaf *leaf)
{
	uint8_t version;
	uint64_t t;
	if (cr_cursor_u8(c, &version) != CR_OK)
		return CR_ERR_AUDIT_LEAF_MALFORMED;
	if (version != AUDIT_LEAF_VERSION)
		return CR_ERR_AUDIT_LEAF_VERSION;
	if (cr_cursor_u64be(c, &leaf->sequence) != CR_OK || cr_cursor_u64be(c, &t) != CR_OK)
		return CR_ERR_AUDIT_LEAF_MALFORMED;
	if (t > INT64_MAX)
		return CR_ERR_AUDIT_FIELD;
	leaf->time_ms = (cr_time_ms)t;
	return CR_OK;
}

static cr_err get_tail(struct cr_cursor *c, struct leaf_alloc *a)
{
	uint8_t flag;
	uint16_t dlen;
	const uint8_t *d;
	if (cr_cursor_u8(c, &flag) != CR_OK || flag > 1)
		return CR_ERR_AUDIT_LEAF_MALFORMED;
	a->leaf.has_subject = flag == 1;
	if (flag == 1 && cr_cursor_bytes(c, a->leaf.subject_commit, AUDIT_HASH_BYTES) != CR_OK)
		return CR_ERR_AUDIT_LEAF_MALFORMED;
	if (cr_cursor_u16be(c, &dlen) != CR_OK)
		return CR_ERR_AUDIT_LEAF_MALFORMED;
	if (dlen > AUDIT_DETAIL_MAX)
		return CR_ERR_AUDIT_FIELD;
	if (cr_cursor_view(c, dlen, &d) != CR_OK)
		return CR_ERR_AUDIT_LEAF_MALFORMED;
	if (!audit_text_ok(d, dlen, false))
		return CR_ERR_AUDIT_FIELD;
	a->leaf.detail = arena_add(a, d, dlen);
	return cr_cursor_expect_end(c) == CR_OK ? CR_OK : CR_ERR_AUDIT_LEAF_MALFORMED;
}

cr_err audit_leaf_decode(const uint8_t *bytes, size_t len, struct audit_leaf **out)
{
	struct leaf_alloc *a = NULL;
	struct cr_cursor c;
	cr_err rc = CR_ERR_AUDIT_LEAF_TOO_LARGE;

	if (len > AUDIT_LEAF_MAX)
		goto out;
	/* Every string's bytes come from the input; add one NUL per string. */
	a = cr_xcalloc(1, sizeof(*a) + len + STR_FIELDS + 2 * AUDIT_LIST_MAX + 1);
	a->cap = len + STR_FIELDS + 2 * AUDIT_LIST_MAX + 1;
	cr_cursor_init(&c, bytes, len);
	rc = get_header(&c, &a->leaf);
	for (size_t i = 0; rc == CR_OK && i < STR_FIELDS; i++) {
		const uint8_t *s;
		size_t slen;
		rc = get_str8(&c, &s, &slen);
		if (rc == CR_OK && !field_ok(str_fields[i].rule, s, slen))
			rc = CR_ERR_AUDIT_FIELD;
		if (rc == CR_OK)
			*field_at(&a->leaf, i) = arena_add(a, s, slen);
	}
	if (rc == CR_OK)
		rc = get_codes(&c, a, a->purposes, &a->leaf.n_purposes);
	if (rc == CR_OK)
		rc = get_codes(&c, a, a->recipients, &a->leaf.n_recipients);
	if (rc == CR_OK)
		rc = get_tail(&c, a);
	if (rc != CR_OK)
		goto out;
	a->leaf.purposes = a->purposes;
	a->leaf.recipients = a->recipients;
	*out = &a->leaf;
	a = NULL;
out:
	free(a);
	return rc;
}

void audit_leaf_free(struct audit_leaf *leaf)
{
	free(leaf); /* the leaf is the first member of its struct leaf_alloc */
}
