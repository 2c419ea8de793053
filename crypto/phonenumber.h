/*
 * phonenumber.h: the C interface of crypto/phonenumber.cc, the one file that
 * calls libphonenumber (C++). Internal to crypto/ (only phone.c and the
 * tests of crypto/ include it). It is a header of its own, apart from
 * crypto_internal.h, because a C++ compiler must read it: plain C types, no
 * `[static N]` parameters.
 */
#ifndef CR_CRYPTO_PHONENUMBER_H
#define CR_CRYPTO_PHONENUMBER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* '+', at most 3 digits of country code and 17 of national number, NUL. */
#define CRYPTO_PHONENUMBER_E164_CAP 22

/* What crypto_phonenumber_parse found; phone.c maps each to a cr_err. */
enum crypto_phonenumber_why {
	CRYPTO_PHONENUMBER_OK = 0,
	CRYPTO_PHONENUMBER_REGION,         /* the default region is not one the library knows */
	CRYPTO_PHONENUMBER_NOT_A_NUMBER,   /* the library finds no phone number in the text */
	CRYPTO_PHONENUMBER_NO_COUNTRY,     /* no '+' and no default region */
	CRYPTO_PHONENUMBER_COUNTRY_CODE,   /* after '+' or an international prefix: no known country code */
	CRYPTO_PHONENUMBER_TOO_SHORT,      /* too few digits (for the country, or at all) */
	CRYPTO_PHONENUMBER_TOO_LONG,       /* too many digits */
	CRYPTO_PHONENUMBER_LENGTH,         /* a length no number of the country has */
	CRYPTO_PHONENUMBER_INVALID,        /* a possible length, but no number type of its region matches */
	CRYPTO_PHONENUMBER_EXTENSION,      /* the text carries an extension ("ext. 12", "x12", ";ext=12") */
};

/*
 * Parses (raw, len) with libphonenumber's PhoneNumberUtil::Parse, the
 * default region `region` (two uppercase letters, or NULL for none), and
 * accepts it only if the library says IsValidNumber and there is no
 * extension; then writes its E.164 form (PhoneNumberUtil::Format, E164) to
 * `e164`, NUL-terminated. (raw, len) need not be NUL-terminated; nothing is
 * kept. `e164` is written only on success. Thread-safe. Allocation failure
 * inside the library aborts.
 */
enum crypto_phonenumber_why crypto_phonenumber_parse(const char *raw, size_t len, const char *region,
						     char e164[CRYPTO_PHONENUMBER_E164_CAP]);

#ifdef __cplusplus
}
#endif

#endif /* CR_CRYPTO_PHONENUMBER_H */
