/*
 * phonenumber.cc: the only code that calls libphonenumber (Debian's
 * libphonenumber-dev, C++), behind the C interface of phonenumber.h. It
 * parses a phone number as written, with an optional default region, asks
 * the library whether it is a valid number of its country, and formats it as
 * E.164 (docs/spec/identifiers.md, "Phone"). Every decision about phone
 * numbers is the library's; this file only turns its answers into one
 * reason code, and never lets a C++ exception reach C.
 *
 * The text is personal data. The copies made here are wiped before they are
 * freed; the library's own temporaries (regular-expression inputs, protobuf
 * fields) are freed by it without being wiped, which is the limit of what a
 * caller can do. Nothing is logged: PhoneNumberUtil logs through a NullLogger
 * unless told otherwise, and nothing here tells it otherwise.
 */
#include "crypto/phonenumber.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include <phonenumbers/phonenumberutil.h>
#include <sodium.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

/* Wipes a string's bytes, then empties it. */
void wipe(std::string *s)
{
	if (!s->empty())
		sodium_memzero(&(*s)[0], s->size());
	s->clear();
}

/*
 * With no default region the library gives INVALID_COUNTRY_CODE_ERROR both
 * for a number without '+' (it cannot know the country) and for one whose
 * '+' is followed by no known country code. It reads the number from its
 * first '+' or digit on, so the number "starts with '+'" when no digit, in
 * any script, comes before the first '+' (ASCII or full-width).
 */
bool starts_with_plus(const PhoneNumberUtil *u, const std::string &raw)
{
	size_t ascii = raw.find('+'), wide = raw.find("\xef\xbc\x8b"); /* U+FF0B */
	size_t plus = ascii < wide ? ascii : wide;
	if (plus == std::string::npos)
		return false;
	std::string before = raw.substr(0, plus);
	u->NormalizeDigitsOnly(&before);
	bool none = before.empty();
	wipe(&before);
	return none;
}

enum crypto_phonenumber_why parse_error(const PhoneNumberUtil *u, PhoneNumberUtil::ErrorType e,
					const std::string &raw, bool have_region)
{
	switch (e) {
	case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
		return have_region || starts_with_plus(u, raw) ? CRYPTO_PHONENUMBER_COUNTRY_CODE
							       : CRYPTO_PHONENUMBER_NO_COUNTRY;
	case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
	case PhoneNumberUtil::TOO_SHORT_NSN:
		return CRYPTO_PHONENUMBER_TOO_SHORT;
	case PhoneNumberUtil::TOO_LONG_NSN:
		return CRYPTO_PHONENUMBER_TOO_LONG;
	case PhoneNumberUtil::NOT_A_NUMBER:
	default:
		return CRYPTO_PHONENUMBER_NOT_A_NUMBER;
	}
}

/* Why a parsed number is not valid: its length first, then its pattern. */
enum crypto_phonenumber_why invalid_reason(const PhoneNumberUtil *u, const PhoneNumber &n)
{
	switch (u->IsPossibleNumberWithReason(n)) {
	case PhoneNumberUtil::IS_POSSIBLE:
		return CRYPTO_PHONENUMBER_INVALID;
	case PhoneNumberUtil::INVALID_COUNTRY_CODE:
		return CRYPTO_PHONENUMBER_COUNTRY_CODE;
	case PhoneNumberUtil::TOO_SHORT:
	case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY: /* a local number: the area code is missing */
		return CRYPTO_PHONENUMBER_TOO_SHORT;
	case PhoneNumberUtil::TOO_LONG:
		return CRYPTO_PHONENUMBER_TOO_LONG;
	case PhoneNumberUtil::INVALID_LENGTH:
	default:
		return CRYPTO_PHONENUMBER_LENGTH;
	}
}

enum crypto_phonenumber_why parse(const char *raw, size_t len, const char *region,
				  char e164[CRYPTO_PHONENUMBER_E164_CAP])
{
	const PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
	std::string text(raw, len), out;
	const std::string reg = region != NULL ? region : "ZZ"; /* ZZ: the library's "unknown" */
	enum crypto_phonenumber_why why = CRYPTO_PHONENUMBER_OK;
	PhoneNumber n;

	if (region != NULL && u->GetCountryCodeForRegion(reg) == 0) {
		why = CRYPTO_PHONENUMBER_REGION;
		goto out;
	}
	{
		PhoneNumberUtil::ErrorType e = u->Parse(text, reg, &n);
		if (e != PhoneNumberUtil::NO_PARSING_ERROR) {
			why = parse_error(u, e, text, region != NULL);
			goto out;
		}
	}
	if (n.has_extension()) {
		why = CRYPTO_PHONENUMBER_EXTENSION;
		goto out;
	}
	if (!u->IsValidNumber(n)) {
		why = invalid_reason(u, n);
		goto out;
	}
	u->Format(n, PhoneNumberUtil::E164, &out);
	if (out.size() >= CRYPTO_PHONENUMBER_E164_CAP)
		abort(); /* the library bounds it: 3 + 17 digits and '+' */
	memcpy(e164, out.c_str(), out.size() + 1);
out:
	wipe(&text);
	wipe(&out);
	n.Clear();
	return why;
}

} // namespace

extern "C" enum crypto_phonenumber_why crypto_phonenumber_parse(const char *raw, size_t len,
								const char *region,
								char e164[CRYPTO_PHONENUMBER_E164_CAP])
{
	try {
		return parse(raw, len, region, e164);
	} catch (...) {
		/* std::bad_alloc, or anything else the library throws: the house
		 * rule for allocation failure is to abort (docs/style.md). */
		abort();
	}
}
