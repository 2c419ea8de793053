/*
 * crypto_internal.h: declarations shared by the files of crypto/ and by no
 * one else (docs/style.md: private declarations stay inside the folder). Nothing
 * outside crypto/ includes this header.
 */
#ifndef CR_CRYPTO_INTERNAL_H
#define CR_CRYPTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

/*
 * Makes sure sodium_init() has run once in this process (thread-safe, cheap
 * after the first call). Entry points that draw randomness or allocate
 * secure memory call it; a libsodium that cannot initialize aborts.
 */
void crypto_sodium_ready(void);

/* Fills (buf, len) from `rng`, or from randombytes_buf when rng is NULL. */
void crypto_rng_fill(const struct crypto_rng *rng, uint8_t *buf, size_t len);

/* crypto_id_type_name, but a value outside the enum aborts (misuse). */
const char *crypto_id_type_name_checked(enum crypto_id_type t);

/*
 * The per-type normalizers behind crypto_id_normalize. They get the value
 * with ASCII whitespace trimmed from both ends, non-empty, at most
 * CRYPTO_ID_RAW_MAX bytes, and write `out` only on success.
 */
cr_err crypto_email_normalize(const char *s, size_t len,
			      char out[static CRYPTO_NORMALIZED_MAX + 1]) CR_MUST_CHECK;
/* `region` is the checked default country (two uppercase letters, from
 * crypto_country_find), or NULL for none. Calls libphonenumber. */
cr_err crypto_phone_normalize(const char *s, size_t len, const char *region,
			      char out[static CRYPTO_NORMALIZED_MAX + 1]) CR_MUST_CHECK;
/*
 * Looks up a default country by its region code (ISO 3166 alpha-2 and the
 * few others libphonenumber knows, such as AC and XK), in either case, and
 * writes it in uppercase to out. CR_ERR_ID_COUNTRY if libphonenumber does
 * not know it. A table lookup: it never calls the library.
 */
cr_err crypto_country_find(const char *iso2, char out[static 3]) CR_MUST_CHECK;

/* True for the bytes C's isspace() accepts in the "C" locale. */
static inline int crypto_ascii_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

#endif /* CR_CRYPTO_INTERNAL_H */
