/*
 * email.c: normalization of email addresses, profile "default"
 * (docs/spec/identifiers.md, after Google Customer Match's upload rules).
 *
 * The value arrives trimmed of ASCII whitespace. Then:
 *  - every byte must be printable ASCII other than space (0x21..0x7e);
 *    control characters, inner spaces and non-ASCII bytes are refused.
 *    Internationalized addresses are refused on purpose: the spec does not
 *    say how to case-fold or NFC-normalize them, so two parties would hash
 *    the same person differently, and a refusal is better than a silent miss;
 *  - exactly one '@', a non-empty local part, and a domain of at least two
 *    non-empty dot-separated labels ("a@b", "a@b.", "a@.b", "a@b..c" are
 *    refused);
 *  - ASCII letters are lowercased;
 *  - for gmail.com and googlemail.com only, every '.' is removed from the
 *    local part ("+tags" are kept in this profile); a local part of dots
 *    only is refused;
 *  - the result must fit CRYPTO_NORMALIZED_MAX bytes (CR_ERR_TOO_LARGE).
 */
#include <string.h>

#include <sodium.h>

#include "crypto/crypto_internal.h"

static bool email_byte_allowed(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* A domain of two or more labels, none empty. */
static bool email_domain_valid(const char *d, size_t len)
{
	size_t labels = 0, label_len = 0;

	for (size_t i = 0; i < len; i++) {
		if (d[i] != '.') {
			label_len++;
			continue;
		}
		if (label_len == 0)
			return false;
		labels++;
		label_len = 0;
	}
	if (label_len == 0)
		return false;
	return labels + 1 >= 2;
}

static bool email_domain_is_gmail(const char *d, size_t len)
{
	return (len == 9 && memcmp(d, "gmail.com", 9) == 0) ||
	       (len == 14 && memcmp(d, "googlemail.com", 14) == 0);
}

cr_err crypto_email_normalize(const char *s, size_t len,
			      char out[static CRYPTO_NORMALIZED_MAX + 1])
{
	char buf[CRYPTO_ID_RAW_MAX];
	const char *at = NULL;
	size_t local_len, domain_len, n = 0;
	cr_err rc = CR_ERR_ID_EMAIL_MALFORMED;

	if (len > sizeof(buf)) {
		rc = CR_ERR_TOO_LARGE;
		goto out;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!email_byte_allowed(c))
			goto out;
		if (c == '@') {
			if (at != NULL)
				goto out;
			at = s + i;
		}
		buf[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	if (at == NULL)
		goto out;
	local_len = (size_t)(at - s);
	domain_len = len - local_len - 1;
	if (local_len == 0 || !email_domain_valid(buf + local_len + 1, domain_len))
		goto out;

	if (email_domain_is_gmail(buf + local_len + 1, domain_len)) {
		for (size_t i = 0; i < local_len; i++)
			if (buf[i] != '.')
				buf[n++] = buf[i];
		if (n == 0)
			goto out;
		memmove(buf + n, buf + local_len, domain_len + 1);
		n += domain_len + 1;
	} else {
		n = len;
	}
	if (n > CRYPTO_NORMALIZED_MAX) {
		rc = CR_ERR_TOO_LARGE;
		goto out;
	}
	memcpy(out, buf, n);
	out[n] = '\0';
	rc = CR_OK;
out:
	sodium_memzero(buf, sizeof(buf));
	return rc;
}
