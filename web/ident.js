/*
 * ident.js: identifier normalization and hashing in the browser, exactly
 * as docs/spec/identifiers.md and crypto/email.c, crypto/phone.c do it on the
 * server (profile "default"), so a person can withdraw by email or phone
 * without the raw value ever leaving the page: only SHA-256 of the
 * normalized string is sent. Plain script (no build step); the browser
 * tests check it against tests/vectors/identifiers
 * (tests/browser/consent.test.js).
 */
(function (root) {
	"use strict";

	/* Default countries: calling code and trunk prefix (crypto/phone.c's table). */
	var COUNTRIES = {
		AU: ["61", "0"], CA: ["1", "1"], CN: ["86", "0"], DE: ["49", "0"], ES: ["34", ""],
		FR: ["33", "0"], GB: ["44", "0"], HK: ["852", ""], IN: ["91", "0"], IT: ["39", ""],
		JP: ["81", "0"], KR: ["82", "0"], MO: ["853", ""], NL: ["31", "0"], SG: ["65", ""],
		TW: ["886", "0"], US: ["1", "1"]
	};
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

	function normalizePhone(raw, country) {
		var s = trim(raw), plus, digits = "", cc, national;
		if (s.length > RAW_MAX)
			refuse("too_large");
		if (s.length === 0)
			refuse("id_empty");
		plus = s.charAt(0) === "+";
		for (var i = plus ? 1 : 0; i < s.length; i++) {
			var c = s.charAt(i);
			if (c >= "0" && c <= "9")
				digits += c;
			else if (" -().".indexOf(c) < 0)
				refuse("id_phone_malformed");
		}
		if (digits.length === 0)
			refuse(plus ? "id_phone_length" : "id_empty");
		if (digits.length > 15)
			refuse("id_phone_length");
		if (plus) {
			if (digits.charAt(0) === "0")
				refuse("id_phone_prefix");
			cc = "";
			national = digits;
		} else {
			var ct = country ? COUNTRIES[String(country).toUpperCase()] : null;
			if (!country)
				refuse("id_phone_no_country");
			if (!ct)
				refuse("id_country");
			if (digits.slice(0, 2) === "00")
				refuse("id_phone_prefix");
			cc = ct[0];
			national = ct[1] && digits.indexOf(ct[1]) === 0 ? digits.slice(ct[1].length) : digits;
		}
		if (national.length === 0 || cc.length + national.length < 8 || cc.length + national.length > 15)
			refuse("id_phone_length");
		return "+" + cc + national;
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
		    digest: digest, countries: Object.keys(COUNTRIES) };
	root.crIdent = api;
	if (typeof module !== "undefined" && module.exports)
		module.exports = api;
})(typeof window !== "undefined" ? window : globalThis);
