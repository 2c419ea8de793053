/*
 * phone.c: normalization of phone numbers to E.164, profile "default"
 * (docs/spec/identifiers.md, "Phone"). The rules are libphonenumber's
 * (Debian's libphonenumber-dev, called through phonenumber.cc): it parses the
 * number as written, with the default country if one is given, decides
 * whether it is a valid number of its country, and formats it as E.164. This
 * file only guards the library's input and turns its answer into a cr_err:
 *
 *  - the value arrives trimmed of ASCII whitespace; one with a control byte
 *    (NUL, tab, DEL, ...) or that is not UTF-8 is CR_ERR_ID_PHONE_MALFORMED
 *    before the library sees it;
 *  - text the library cannot read as a number: CR_ERR_ID_PHONE_MALFORMED;
 *    no '+' (nor international prefix) and no default country:
 *    CR_ERR_ID_PHONE_NO_COUNTRY; no known country code after '+' or an
 *    international prefix: CR_ERR_ID_PHONE_PREFIX; too few or too many
 *    digits, or a length no number of the country has:
 *    CR_ERR_ID_PHONE_LENGTH; a possible length that matches no number type
 *    of the country (IsValidNumber is false): CR_ERR_ID_PHONE_INVALID;
 *    an extension: CR_ERR_ID_PHONE_EXTENSION (two people behind one
 *    switchboard must not become one).
 *
 * It also holds the table of default countries: the region codes the
 * library knows, copied here so that checking a default country never calls
 * the library (an email is normalized without it); test_phone checks the
 * table against the library, both ways.
 */
#include <string.h>

#include <sodium.h>

#include "crypto/crypto_internal.h"
#include "crypto/phonenumber.h"

/* libphonenumber 8.12.57's supported regions (GetSupportedRegions), sorted. */
static const char regions[] =
	"AC AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ "
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS "
	"BT BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO "
	"CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG "
	"EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG "
	"GH GI GL GM GN GP GQ GR GT GU GW GY HK HN HR HT "
	"HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE "
	"KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR "
	"LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN "
	"MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF "
	"NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL "
	"PM PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD "
	"SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY "
	"SZ TA TC TD TG TH TJ TK TL TM TN TO TR TT TV TW "
	"TZ UA UG US UY UZ VA VC VE VG VI VN VU WF WS XK "
	"YE YT ZA ZM ZW";

static char ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

cr_err crypto_country_find(const char *iso2, char out[static 3])
{
	char up[2];

	if (strlen(iso2) != 2)
		return CR_ERR_ID_COUNTRY;
	up[0] = ascii_upper(iso2[0]);
	up[1] = ascii_upper(iso2[1]);
	for (size_t i = 0; i + 2 <= sizeof(regions) - 1; i += 3) {
		if (regions[i] == up[0] && regions[i + 1] == up[1]) {
			out[0] = up[0];
			out[1] = up[1];
			out[2] = '\0';
			return CR_OK;
		}
	}
	return CR_ERR_ID_COUNTRY;
}

/* Control bytes are never part of a number as written; the library would
 * skip some of them, so they are refused before it sees the value. */
static bool phone_has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return true;
	}
	return false;
}

static cr_err phone_reason(enum crypto_phonenumber_why why)
{
	switch (why) {
	case CRYPTO_PHONENUMBER_OK:
		return CR_OK;
	case CRYPTO_PHONENUMBER_REGION:
		return CR_ERR_ID_COUNTRY;
	case CRYPTO_PHONENUMBER_NO_COUNTRY:
		return CR_ERR_ID_PHONE_NO_COUNTRY;
	case CRYPTO_PHONENUMBER_COUNTRY_CODE:
		return CR_ERR_ID_PHONE_PREFIX;
	case CRYPTO_PHONENUMBER_TOO_SHORT:
	case CRYPTO_PHONENUMBER_TOO_LONG:
	case CRYPTO_PHONENUMBER_LENGTH:
		return CR_ERR_ID_PHONE_LENGTH;
	case CRYPTO_PHONENUMBER_INVALID:
		return CR_ERR_ID_PHONE_INVALID;
	case CRYPTO_PHONENUMBER_EXTENSION:
		return CR_ERR_ID_PHONE_EXTENSION;
	case CRYPTO_PHONENUMBER_NOT_A_NUMBER:
	default:
		return CR_ERR_ID_PHONE_MALFORMED;
	}
}

cr_err crypto_phone_normalize(const char *s, size_t len, const char *region,
			      char out[static CRYPTO_NORMALIZED_MAX + 1])
{
	char e164[CRYPTO_PHONENUMBER_E164_CAP];
	cr_err rc;

	if (phone_has_control(s, len) || !cr_utf8_valid((const uint8_t *)s, len))
		return CR_ERR_ID_PHONE_MALFORMED;
	rc = phone_reason(crypto_phonenumber_parse(s, len, region, e164));
	if (rc == CR_OK)
		memcpy(out, e164, strlen(e164) + 1);
	sodium_memzero(e164, sizeof(e164));
	return rc;
}
