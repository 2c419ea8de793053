/*
 * phone-xcheck.test.js: the browser copy of phone normalization (web/ident.js
 * with the generated libphonenumber metadata) against the service's own
 * (crypto/phone.c, libphonenumber, through tests/tools/ident_normalize.c),
 * on a corpus of some 100,000 inputs: the library's example number of every
 * type of every region in its four written forms, each one respelled the ways
 * people write numbers (national prefix, "(0)" after the country code, an
 * international prefix instead of '+', the country code without '+', a digit
 * too few or too many, stray separators), under several default countries,
 * and random strings of digits and separators.
 *
 * The promise of docs/spec/identifiers.md ("The browser copy"): for every
 * input the page either gives exactly the service's E.164 string or refuses.
 * So the test fails on any input the two accept with different results, and
 * on any input the page accepts and the service refuses. Where both refuse,
 * they must give the same reason, unless the page refused the input's form
 * ("phone_form"). And the page must not buy agreement by refusing: every
 * example number written in E.164 or international form, or in national
 * form with its own country, must be accepted. No browser is needed: the
 * page's script runs under node.
 */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { ident, serviceNormalize, pageNormalize, PHONE_EXAMPLES, VECTORS } = require("./harness");

const META = globalThis.crPhoneMeta;

/* A small deterministic generator (mulberry32), so a failure can be replayed. */
function rng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function examples() {
	return fs.readFileSync(PHONE_EXAMPLES, "utf8").split("\n").filter(Boolean).map((l) => {
		const [region, type, form, text] = l.split("\t");
		return { region, type, form, text };
	});
}

/* "+CCNSN" -> [cc, nsn], by the calling codes the metadata knows. */
function splitE164(e164) {
	const d = e164.slice(1);
	for (let i = 1; i <= 3; i++)
		if (META.codes[d.slice(0, i)])
			return [d.slice(0, i), d.slice(i)];
	throw new Error("no calling code in " + e164);
}

function corpus() {
	const rand = rng(20260101), pick = (a) => a[Math.floor(rand() * a.length)];
	const regions = Object.keys(META.regions).sort(), cases = [];
	const add = (raw, countries) => countries.forEach((c) => cases.push(["phone", raw, c]));
	const ex = examples();
	for (const e of ex) {
		const own = e.region === "001" ? null : e.region;
		const some = [null, own, "CN", "US", "GB", pick(regions)];
		add(e.text, some);
		if (e.form !== "e164")
			continue;
		const [cc, nsn] = splitE164(e.text), main = META.codes[cc][0];
		const m = main === "001" ? META.nongeo[cc] : META.regions[main];
		const drop = Math.floor(rand() * nsn.length), digit = String(Math.floor(rand() * 10));
		add(`+${cc} (0) ${nsn}`, [null, own]);
		add(`+${cc}0${nsn}`, [null, own]);
		add(`+${cc} ${nsn.slice(0, drop)}${nsn.slice(drop + 1)}`, [null]);
		add(`+${cc} ${nsn}${digit}`, [null]);
		add(`+${cc}${digit}${nsn}`, [null]);
		add(`${cc}${nsn}`, [own, main === "001" ? "US" : main, "CN", pick(regions)]);
		add(`${cc} ${nsn}`, [own, pick(regions)]);
		add(nsn, [own, main === "001" ? null : main, pick(regions)]);
		for (const np of ["0", "1", "8", "06", "0 ", "(0)", "15"])
			add(np + nsn, [own]);
		for (const idd of ["00", "011", "010", "0011", "00 ", "810", "001", "0"])
			add(`${idd}${cc} ${nsn}`, [own, "CN", "US", "GB", "JP", "AU", "RU", pick(regions)]);
		add(`++${cc} ${nsn}`, [null, own]);
		add(`+0${cc}${nsn}`, [null, own, "US"]);
		add(`+00${cc}${nsn}`, [null, "CN", "GB"]);
		add(`+011${cc}${nsn}`, [null, "US", "CA"]);
		add(`(+${cc}) ${nsn}`, [null]);
		add(`- +${cc}-${nsn}.`, [null]);
		add(`+${cc}/${nsn}`, [null]);
		add(`${nsn.slice(0, 3)}+${cc}${nsn.slice(3)}`, [own]);
		if (m.npt !== "")
			add(`${nsn.slice(-7)}`, [own]);
	}
	/* Random digits after each calling code: mostly invalid numbers, of
	 * every length the library can see. */
	for (const cc of Object.keys(META.codes)) {
		for (let k = 0; k < 12; k++) {
			let d = "";
			const n = 1 + Math.floor(rand() * 18);
			for (let i = 0; i < n; i++)
				d += String(Math.floor(rand() * 10));
			const main = META.codes[cc][0];
			add(`+${cc}${d}`, [null]);
			add(d, [main === "001" ? "US" : main]);
		}
	}
	/* Random strings of the characters the page reads, and a few it does not. */
	const alphabet = "0123456789012345678901234567890123456789 +-()./";
	for (let k = 0; k < 20000; k++) {
		let s = "";
		const n = 1 + Math.floor(rand() * 24);
		for (let i = 0; i < n; i++)
			s += alphabet[Math.floor(rand() * alphabet.length)];
		add(s, [rand() < 0.3 ? null : pick(regions)]);
	}
	add("+44 20 7946 0958 ext. 123", [null]);
	add("+86 138 0013 8000 x5", [null]);
	add("tel:+86-138-0013-8000", [null]);
	add("+86 １３８ ００１３ ８０００", [null]);
	add("1-800-FLOWERS", ["US"]);
	return { cases, examples: ex };
}

const shown = (c) => JSON.stringify(c[1]) + " with " + (c[2] || "no country");

test("the metadata is the libphonenumber docs/spec/identifiers.md names (Debian 8.12.57)", () => {
	assert.match(META.version, /^8\.12\.57(\+|$)/, "rewrite the Phone section of the spec for " + META.version);
	assert.ok(Object.keys(META.regions).length >= 240 && Object.keys(META.codes).length >= 200);
});

test("page and service agree on every phone input both accept, and the page accepts nothing the service refuses", (t) => {
	const { cases, examples: ex } = corpus();
	const svc = serviceNormalize(cases), page = pageNormalize(cases);
	const differ = [], pageOnly = [], reasons = [], counts = { both: 0, service_only: 0, both_refuse: 0 };
	cases.forEach((c, i) => {
		const s = svc[i], p = page[i];
		if ("ok" in s && "ok" in p) {
			counts.both++;
			if (s.ok !== p.ok)
				differ.push(`${shown(c)}: service ${s.ok}, page ${p.ok}`);
		} else if ("ok" in p) {
			pageOnly.push(`${shown(c)}: service refuses (${s.refused}), page gives ${p.ok}`);
		} else if ("ok" in s) {
			counts.service_only++;
		} else {
			counts.both_refuse++;
			if (p.refused !== "phone_form" && p.refused !== s.refused)
				reasons.push(`${shown(c)}: service ${s.refused}, page ${p.refused}`);
		}
	});
	t.diagnostic(`${cases.length} inputs: ${JSON.stringify(counts)}, page-only ${pageOnly.length}`);
	assert.deepEqual(differ.slice(0, 20), [], `${differ.length} inputs normalized differently`);
	assert.deepEqual(pageOnly.slice(0, 20), [], `${pageOnly.length} inputs the page accepts and the service refuses`);
	assert.deepEqual(reasons.slice(0, 20), [], `${reasons.length} inputs refused for different reasons`);
	assert.ok(cases.length > 80000 && counts.both > 20000 && counts.both_refuse > 20000,
		  "the corpus exercises both sides: " + JSON.stringify(counts) + " of " + cases.length);
	assert.ok(ex.length > 4000, "the example numbers were read");
});

test("the page reads every example number in the forms it asks people to use", () => {
	const plain = examples().filter((e) => e.form === "e164" || e.form === "international" ||
		(e.form === "national" && e.region !== "001" && /^[-0-9 ().\/]+$/.test(e.text)));
	const cases = plain.map((e) => ["phone", e.text, e.form === "national" ? e.region : null]);
	const svc = serviceNormalize(cases), page = pageNormalize(cases);
	const refused = [];
	cases.forEach((c, i) => {
		if ("ok" in svc[i] && !("ok" in page[i]))
			refused.push(`${shown(c)}: page refuses (${page[i].refused}), service gives ${svc[i].ok}`);
	});
	assert.deepEqual(refused.slice(0, 20), [], `${refused.length} plain example numbers refused by the page`);
	assert.ok(cases.length > 3000);
});

test("the phone known answers of tests/vectors/identifiers hold in both", () => {
	const v = JSON.parse(fs.readFileSync(path.join(VECTORS, "identifiers/known-answers.json"), "utf8"));
	const answers = v.answers.filter((a) => a.type === "phone");
	const refused = v.refused.filter((r) => r.type === "phone");
	const cases = answers.map((a) => ["phone", a.input, a.default_country || null])
		.concat(refused.map((r) => ["phone", r.input, r.default_country || null]));
	const want = answers.map((a) => ({ ok: a.normalized })).concat(refused.map((r) => ({ refused: r.refusal })));
	assert.ok(answers.length >= 10 && refused.length >= 6, "the vector file was read");
	assert.deepEqual(serviceNormalize(cases), want);
	/* the page gives the same answers and reasons, except that it asks for
	 * the plain form where the input has other characters ("ext.") */
	const page = pageNormalize(cases).map((p, i) =>
		p.refused === "phone_form" && /[^-0-9+ ().\/\t\n\v\f\r]/.test(cases[i][1]) ? want[i] : p);
	assert.deepEqual(page, want);
	assert.throws(() => ident.normalizePhone("+44 20 7946 0958 ext. 123", null), { code: "phone_form" });
});
