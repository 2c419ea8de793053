/*
 * encode.c: hex and base64, as thin strict wrappers over libsodium's
 * constant-time codecs (safe to use on secrets). Decoders refuse anything
 * that is not exactly the expected encoding.
 */
#include <string.h>

#include <sodium.h>

#include "common/common.h"

cr_err cr_hex_encode(const uint8_t *bin, size_t bin_len, char *hex, size_t hex_cap)
{
	if (bin_len > (SIZE_MAX - 1) / 2 || hex_cap < bin_len * 2 + 1)
		return CR_ERR_TOO_LARGE;
	sodium_bin2hex(hex, hex_cap, bin, bin_len);
	return CR_OK;
}

cr_err cr_hex_decode_exact(const char *hex, size_t hex_len, uint8_t *bin, size_t bin_len)
{
	uint8_t tmp[256];
	size_t got = 0;
	const char *end = NULL;
	cr_err rc = CR_ERR_ENCODING;

	if (bin_len > sizeof(tmp) || hex_len != bin_len * 2)
		goto out;
	if (sodium_hex2bin(tmp, sizeof(tmp), hex, hex_len, NULL, &got, &end) != 0)
		goto out;
	if (got != bin_len || end != hex + hex_len)
		goto out;
	memcpy(bin, tmp, bin_len);
	rc = CR_OK;
out:
	sodium_memzero(tmp, sizeof(tmp));
	return rc;
}

size_t cr_base64_encoded_len(size_t bin_len)
{
	return sodium_base64_ENCODED_LEN(bin_len, sodium_base64_VARIANT_ORIGINAL);
}

cr_err cr_base64_encode(const uint8_t *bin, size_t bin_len, char *out, size_t out_cap)
{
	if (out_cap < cr_base64_encoded_len(bin_len))
		return CR_ERR_TOO_LARGE;
	sodium_bin2base64(out, out_cap, bin, bin_len, sodium_base64_VARIANT_ORIGINAL);
	return CR_OK;
}

/* 0xff when a <= c <= b (all below 0x200), else 0, without a branch:
 * c - a or b - c wraps, setting bit 8, exactly when c is outside. */
static unsigned in_range(unsigned c, unsigned a, unsigned b)
{
	return ((((c - a) | (b - c)) >> 8 & 1u) - 1u) & 0xffu;
}

bool cr_base64_alphabet_ok(const char *s, size_t len, bool urlsafe)
{
	unsigned bad = 0;
	unsigned p62 = urlsafe ? '-' : '+', p63 = urlsafe ? '_' : '/', pad = urlsafe ? 0x100u : '=';
	for (size_t i = 0; i < len; i++) {
		unsigned c = (unsigned char)s[i];
		unsigned ok = in_range(c, 'A', 'Z') | in_range(c, 'a', 'z') | in_range(c, '0', '9') |
			      in_range(c, p62, p62) | in_range(c, p63, p63) | in_range(c, pad, pad);
		bad |= ~ok & 0xffu;
	}
	return bad == 0;
}

cr_err cr_base64_decode(const char *b64, size_t b64_len, uint8_t *bin,
			size_t bin_cap, size_t *bin_len)
{
	size_t got = 0;
	const char *end = NULL;

	/* Padded base64 is always a multiple of 4; the exact-length check below
	 * also refuses trailing garbage that libsodium would stop at. */
	if (b64_len % 4 != 0)
		return CR_ERR_ENCODING;
	if (b64_len / 4 * 3 > bin_cap + 2)
		return CR_ERR_TOO_LARGE;
	if (!cr_base64_alphabet_ok(b64, b64_len, false))
		return CR_ERR_ENCODING;
	if (sodium_base642bin(bin, bin_cap, b64, b64_len, NULL, &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return b64_len / 4 * 3 > bin_cap ? CR_ERR_TOO_LARGE : CR_ERR_ENCODING;
	if (end != b64 + b64_len)
		return CR_ERR_ENCODING;
	*bin_len = got;
	return CR_OK;
}
