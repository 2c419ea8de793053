/*
 * ident.js: identifier normalization and hashing in the browser, as
 * docs/spec/identifiers.md, crypto/email.c and crypto/phone.c do it on the
 * server (profile "default"), so a person can withdraw by email or phone
 * without the raw value ever leaving the page: only SHA-256 of the
 * normalized string is sent. Plain script (no build step).
 *
 * Phone numbers: the server asks libphonenumber. This page reads the same
 * library's metadata (/static/phonemeta.js, generated at build time from the
 * library the server links, root.crPhoneMeta) and follows the library's
 * parsing, validation and E.164 formatting step by step, for numbers
 * written with ASCII digits, spaces, '-', '.', '/', brackets and a leading
 * '+'. Anything else (letters, other scripts' digits, "tel:" ...) the server
 * may well read, but this page refuses it ("phone_form") and asks for the
 * plain form: it never guesses. So for every input it either gives exactly
 * the server's E.164 string or refuses. tests/browser/phone-xcheck.test.js
 * checks that on a corpus against the server's code; the browser tests
 * check the known answers of tests/vectors/identifiers.
 */
(function (root) {
	"use strict";

	var NORMALIZED_MAX = 320, RAW_MAX = 1024;

	function refuse(code) {
		var e = new Error(code);
		e.code = code;
		throw e;
	}

	/* ASCII whitespace only, as the C side trims. */
	function trim(s) {
		return s.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, "");
	}

	function domainValid(d) {
		var labels = d.split(".");
		if (labels.length < 2)
			return false;
		for (var i = 0; i < labels.length; i++)
			if (labels[i].length === 0)
				return false;
		return true;
	}

	function normalizeEmail(raw) {
		var s = trim(raw), at, local, domain;
		if (s.length > RAW_MAX)
			refuse("too_large");
		if (s.length === 0)
			refuse("id_empty");
		for (var i = 0; i < s.length; i++) {
			var c = s.charCodeAt(i);
			if (c <= 0x20 || c >= 0x7f)
				refuse("id_email_malformed");
		}
		at = s.indexOf("@");
		if (at < 0 || s.indexOf("@", at + 1) >= 0)
			refuse("id_email_malformed");
		s = s.replace(/[A-Z]/g, function (ch) { return ch.toLowerCase(); });
		local = s.slice(0, at);
		domain = s.slice(at + 1);
		if (local.length === 0 || !domainValid(domain))
			refuse("id_email_malformed");
		if (domain === "gmail.com" || domain === "googlemail.com") {
			local = local.replace(/\./g, "");
			if (local.length === 0)
				refuse("id_email_malformed");
		}
		s = local + "@" + domain;
		if (s.length > NORMALIZED_MAX)
			refuse("too_large");
		return s;
	}

	/* ------------------------------------------------------------- phone */

	/* libphonenumber's bounds: national significant numbers of 2 to 17
	 * digits, country calling codes of 1 to 3. */
	var NSN_MIN = 2, NSN_MAX = 17, CC_MAX = 3;
	/* The library's ValidationResult, as far as it is used here. */
	var POSSIBLE = 0, LOCAL_ONLY = 1, TOO_SHORT = 2, INVALID_LENGTH = 3, TOO_LONG = 4;
	/* What this page reads: ASCII digits, these separators, and '+'. */
	var PHONE_FORM = /^[-0-9+ ().\/]*$/;
	/* The library's IsViablePhoneNumber, for text of that form. */
	var VIABLE = /^(?:[0-9]{2}|\+*(?:[-\/ ().]*[0-9]){3,}[-\/ ().0-9]*)$/;

	function phoneMeta() {
		var m = root.crPhoneMeta;
		if (!m || !m.regions)
			refuse("phone_unavailable");
		return m;
	}

	/* A metadata pattern compiled once, matched from the start of the text
	 * (the library's Consume) or as the whole text (FullMatch). */
	var compiled = {};
	function pattern(p, whole) {
		var key = (whole ? "=" : "^") + p;
		if (!compiled[key])
			compiled[key] = new RegExp("^(?:" + p + ")" + (whole ? "$" : ""));
		return compiled[key];
	}

	/* The number of capturing groups of a pattern. */
	function groupCount(p) {
		return new RegExp(p + "|").exec("").length - 1;
	}

	/* The library's matcher: the whole text; an empty pattern matches nothing. */
	function matches(p, s) {
		return p !== "" && pattern(p, true).test(s);
	}

	/* IsNumberMatchingDesc; desc is [pattern, lengths, local-only lengths]. */
	function matchesDesc(desc, s) {
		if (desc[1].length > 0 && desc[1].indexOf(s.length) < 0)
			return false;
		return matches(desc[0], s);
	}

	/* GetNumberTypeHelper(...) != UNKNOWN. types: premium rate, toll free,
	 * shared cost, VoIP, personal, pager, UAN, voicemail, fixed line, mobile. */
	function hasType(m, nsn) {
		if (!matchesDesc(m.general, nsn))
			return false;
		for (var i = 0; i < 9; i++)
			if (matchesDesc(m.types[i], nsn))
				return true;
		return !m.same && matchesDesc(m.types[9], nsn);
	}

	/* TestNumberLength, for any type. */
	function testLength(m, s) {
		var lengths = m.general[1], n = s.length;
		if (lengths[0] === -1)
			return INVALID_LENGTH;
		if (m.general[2].indexOf(n) >= 0)
			return LOCAL_ONLY;
		if (lengths[0] === n)
			return POSSIBLE;
		if (lengths[0] > n)
			return TOO_SHORT;
		if (lengths[lengths.length - 1] < n)
			return TOO_LONG;
		return lengths.indexOf(n, 1) >= 0 ? POSSIBLE : INVALID_LENGTH;
	}

	/* MaybeStripNationalPrefixAndCarrierCode: the digits s without their
	 * national prefix (and carrier code), transformed where the region says,
	 * unless that turns a number that fits the region into one that does not. */
	function stripNationalPrefix(m, s) {
		var p = m.npp, match, groups, captured, rest;
		if (s === "" || p === "")
			return s;
		match = pattern(p, false).exec(s);
		if (!match)
			return s;
		groups = groupCount(p);
		captured = groups >= 2 ? match[2] : groups === 1 ? match[1] : "";
		if (m.npt !== "" && captured)
			rest = s.replace(new RegExp(p), m.npt);
		else
			rest = s.slice(match[0].length);
		if (matches(m.general[0], s) && !matches(m.general[0], rest))
			return s;
		return rest;
	}

	/* ExtractCountryCode: the 1 to 3 leading digits that are a calling code. */
	function extractCountryCode(M, digits) {
		if (digits === "" || digits.charAt(0) === "0")
			return null;
		for (var i = 1; i <= CC_MAX && i <= digits.length; i++)
			if (M.codes[digits.slice(0, i)])
				return { cc: digits.slice(0, i), nsn: digits.slice(i) };
		return null;
	}

	/* MaybeExtractCountryCode: {cc, nsn}, cc "" when the text has none, or the
	 * library's error name. m is the default region's metadata or null. */
	function extractCountry(M, m, s) {
		var digits = s.replace(/[^0-9]/g, ""), intl = s.charAt(0) === "+", idd, cc, nsn;
		if (!intl && m) {
			idd = pattern(m.idd, false).exec(digits);
			if (idd && digits.charAt(idd[0].length) !== "0") {
				digits = digits.slice(idd[0].length);
				intl = true;
			}
		}
		if (intl) {
			if (digits.length <= NSN_MIN)
				return "TOO_SHORT_AFTER_IDD";
			return extractCountryCode(M, digits) || "INVALID_COUNTRY_CODE";
		}
		if (m) {
			cc = String(m.cc);
			if (digits.indexOf(cc) === 0) {
				nsn = stripNationalPrefix(m, digits.slice(cc.length));
				if ((!matches(m.general[0], digits) && matches(m.general[0], nsn)) ||
				    testLength(m, digits) === TOO_LONG)
					return { cc: cc, nsn: nsn };
			}
		}
		return { cc: "", nsn: digits };
	}

	function metaFor(M, cc, region) {
		return region === "001" ? M.nongeo[cc] : M.regions[region];
	}

	/* ParseHelper, after the checks normalizePhone makes: {cc, nsn} or the
	 * library's error name. */
	function parsePhone(M, s, region) {
		var m = region ? M.regions[region] : null, r = extractCountry(M, m, s), main, pot, v;
		if (r === "INVALID_COUNTRY_CODE" && s.charAt(0) === "+") {
			/* the library tries once more without the '+' */
			r = extractCountry(M, m, s.replace(/^\++/, ""));
			if (typeof r === "string" || r.cc === "")
				return "INVALID_COUNTRY_CODE";
		}
		if (typeof r === "string")
			return r;
		if (r.cc !== "") {
			main = M.codes[r.cc][0];
			if (main !== region)
				m = metaFor(M, r.cc, main);
		} else {
			r.cc = String(m.cc);
		}
		if (r.nsn.length < NSN_MIN)
			return "TOO_SHORT_NSN";
		pot = stripNationalPrefix(m, r.nsn);
		v = testLength(m, pot);
		if (v !== TOO_SHORT && v !== LOCAL_ONLY && v !== INVALID_LENGTH)
			r.nsn = pot;
		if (r.nsn.length < NSN_MIN)
			return "TOO_SHORT_NSN";
		if (r.nsn.length > NSN_MAX)
			return "TOO_LONG_NSN";
		return r;
	}

	/* IsValidNumber: the region of the number (GetRegionCodeForNumber), then
	 * a number type of that region that matches. */
	function validPhone(M, cc, nsn) {
		var list = M.codes[cc], region = list.length === 1 ? list[0] : null;
		for (var i = 0; region === null && i < list.length; i++) {
			var m = M.regions[list[i]];
			if (m.ld !== null ? pattern(m.ld, false).test(nsn) : hasType(m, nsn))
				region = list[i];
		}
		return region !== null && hasType(metaFor(M, cc, region), nsn);
	}

	var PARSE_ERRORS = {
		INVALID_COUNTRY_CODE: "id_phone_prefix", TOO_SHORT_AFTER_IDD: "id_phone_length",
		TOO_SHORT_NSN: "id_phone_length", TOO_LONG_NSN: "id_phone_length"
	};

	/* The E.164 form of a phone number, as crypto/phone.c gives it, or a
	 * refusal. country: a region code (either case) or empty for none. */
	function normalizePhone(raw, country) {
		var s = trim(raw), M = phoneMeta(), region = null, start, r;
		if (country) {
			region = String(country).toUpperCase();
			if (!Object.prototype.hasOwnProperty.call(M.regions, region))
				refuse("id_country");
		}
		if (s.length > RAW_MAX)
			refuse("too_large");
		if (s.length === 0)
			refuse("id_empty");
		if (!PHONE_FORM.test(s))
			refuse("phone_form");
		/* ExtractPossibleNumber and TrimUnwantedEndChars: from the first '+'
		 * or digit to the last digit */
		start = s.search(/[+0-9]/);
		s = start < 0 ? "" : s.slice(start).replace(/[^0-9]+$/, "");
		if (s.length < NSN_MIN || !VIABLE.test(s))
			refuse("id_phone_malformed");
		if (region === null && s.charAt(0) !== "+")
			refuse("id_phone_no_country");
		r = parsePhone(M, s, region);
		if (typeof r === "string")
			refuse(PARSE_ERRORS[r] || "id_phone_malformed");
		if (!validPhone(M, r.cc, r.nsn))
			refuse(testLength(metaFor(M, r.cc, M.codes[r.cc][0]), r.nsn) === POSSIBLE ?
			       "id_phone_invalid" : "id_phone_length");
		return "+" + r.cc + r.nsn;
	}

	/* The default countries a phone number may be given with. */
	function countries() {
		var m = root.crPhoneMeta;
		return m && m.regions ? Object.keys(m.regions).sort() : [];
	}

	/* A default country's calling code ("86" for CN), for the selector. */
	function callingCode(region) {
		return String(phoneMeta().regions[region].cc);
	}

	function normalize(idType, raw, country) {
		if (idType === "email")
			return normalizeEmail(raw);
		if (idType === "phone")
			return normalizePhone(raw, country);
		refuse("id_type");
	}

	/* SHA-256 hex of the normalized value (WebCrypto; the value is ASCII). */
	function digest(normalized) {
		var bytes = new TextEncoder().encode(normalized);
		return root.crypto.subtle.digest("SHA-256", bytes).then(function (buf) {
			return Array.prototype.map.call(new Uint8Array(buf), function (b) {
				return (b < 16 ? "0" : "") + b.toString(16);
			}).join("");
		});
	}

	var api = { normalize: normalize, normalizeEmail: normalizeEmail, normalizePhone: normalizePhone,
		    digest: digest, countries: countries, callingCode: callingCode };
	root.crIdent = api;
	if (typeof module !== "undefined" && module.exports)
		module.exports = api;
})(typeof window !== "undefined" ? window : globalThis);
