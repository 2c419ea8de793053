/*
 * ident-xcheck.test.js: the page's identifier normalization (web/ident.js)
 * against the service's (crypto/ident.c through tests/tools/ident_normalize.c),
 * on the corpus the fuzz target tests/fuzz/fuzz_ident.c grew: emails and
 * phone numbers, with the default countries that target uses. It reuses
 * the phone cross-check's filters (harness.js serviceNormalize and
 * pageNormalize) and holds the same promise (docs/spec/identifiers.md, "The
 * browser copy"): on every input the page accepts, the service accepts it
 * and gives the same normalized form. Inputs the page never sees are left
 * out: bytes that are not UTF-8 (a form field is text), the "uid2"
 * profile (the page has none) and default countries outside the page's
 * metadata ("XX", lowercase "it"), which its country list never offers.
 */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { serviceNormalize, pageNormalize } = require("./harness");

const CORPUS = path.resolve(__dirname, "../fuzz/corpus/ident");
/* fuzz_ident.c's table, indexed by the first byte's bits 1-7 modulo its length */
const COUNTRIES = [null, "CN", "US", "GB", "HK", "it", "XX", "AR", "RU", "xk"];

function cases() {
	const utf8 = new TextDecoder("utf-8", { fatal: true }), out = [];
	for (const f of fs.readdirSync(CORPUS).sort()) {
		const b = fs.readFileSync(path.join(CORPUS, f));
		if (b.length < 1 || ((b[0] & 0x80) && (b[0] & 0x40)))
			continue;
		let raw;
		try { raw = utf8.decode(b.subarray(1)); } catch (e) { continue; }
		const country = COUNTRIES[(b[0] >> 1) % COUNTRIES.length];
		if (country !== null && !(country in globalThis.crPhoneMeta.regions))
			continue;
		out.push([(b[0] & 1) ? "phone" : "email", raw, country, f]);
	}
	return out;
}

test("page and service agree on the identifier fuzz corpus", (t) => {
	const cs = cases(), svc = serviceNormalize(cs), page = pageNormalize(cs);
	const differ = [], pageOnly = [], counts = { both: 0, service_only: 0, both_refuse: 0 };
	cs.forEach((c, i) => {
		const s = svc[i], p = page[i], shown = `${c[3]} (${c[0]} ${JSON.stringify(c[1])} with ${c[2] || "no country"})`;
		if ("ok" in s && "ok" in p) {
			counts.both++;
			if (s.ok !== p.ok)
				differ.push(`${shown}: service ${s.ok}, page ${p.ok}`);
		} else if ("ok" in p) {
			pageOnly.push(`${shown}: service refuses (${s.refused}), page gives ${p.ok}`);
		} else {
			counts["ok" in s ? "service_only" : "both_refuse"]++;
		}
	});
	t.diagnostic(`${cs.length} inputs: ${JSON.stringify(counts)}`);
	assert.deepEqual(differ.slice(0, 20), [], `${differ.length} inputs normalized differently`);
	assert.deepEqual(pageOnly.slice(0, 20), [], `${pageOnly.length} inputs the page accepts and the service refuses`);
	assert.ok(cs.length > 100 && counts.both > 10 && counts.both_refuse > 10, JSON.stringify(counts));
});
