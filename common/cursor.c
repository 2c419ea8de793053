/*
 * cursor.c: the bounds-checked byte cursor every parser reads through.
 * A failed read leaves the cursor where it was.
 */
#include <string.h>

#include "common/common.h"

void cr_cursor_init(struct cr_cursor *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->len = p ? len : 0;
	c->pos = 0;
}

size_t cr_cursor_remaining(const struct cr_cursor *c)
{
	return c->len - c->pos;
}

cr_err cr_cursor_view(struct cr_cursor *c, size_t n, const uint8_t **out)
{
	if (n > cr_cursor_remaining(c))
		return CR_ERR_TRUNCATED;
	*out = c->p + c->pos;
	c->pos += n;
	return CR_OK;
}

cr_err cr_cursor_bytes(struct cr_cursor *c, uint8_t *out, size_t n)
{
	const uint8_t *v;
	cr_err rc = cr_cursor_view(c, n, &v);
	if (rc == CR_OK && n > 0)
		memcpy(out, v, n);
	return rc;
}

static cr_err read_be(struct cr_cursor *c, size_t n, uint64_t *out)
{
	const uint8_t *v;
	uint64_t x = 0;
	cr_err rc = cr_cursor_view(c, n, &v);
	if (rc != CR_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		x = x << 8 | v[i];
	*out = x;
	return CR_OK;
}

cr_err cr_cursor_u8(struct cr_cursor *c, uint8_t *out)
{
	uint64_t x;
	cr_err rc = read_be(c, 1, &x);
	if (rc == CR_OK)
		*out = (uint8_t)x;
	return rc;
}

cr_err cr_cursor_u16be(struct cr_cursor *c, uint16_t *out)
{
	uint64_t x;
	cr_err rc = read_be(c, 2, &x);
	if (rc == CR_OK)
		*out = (uint16_t)x;
	return rc;
}

cr_err cr_cursor_u32be(struct cr_cursor *c, uint32_t *out)
{
	uint64_t x;
	cr_err rc = read_be(c, 4, &x);
	if (rc == CR_OK)
		*out = (uint32_t)x;
	return rc;
}

cr_err cr_cursor_u64be(struct cr_cursor *c, uint64_t *out)
{
	return read_be(c, 8, out);
}

cr_err cr_cursor_until(struct cr_cursor *c, uint8_t delim, const uint8_t **out, size_t *out_len)
{
	const uint8_t *start = c->p + c->pos;
	const uint8_t *hit = memchr(start, delim, cr_cursor_remaining(c));
	if (hit == NULL)
		return CR_ERR_TRUNCATED;
	*out = start;
	*out_len = (size_t)(hit - start);
	c->pos += *out_len + 1;
	return CR_OK;
}

cr_err cr_cursor_expect_end(const struct cr_cursor *c)
{
	return cr_cursor_remaining(c) == 0 ? CR_OK : CR_ERR_TRAILING;
}
