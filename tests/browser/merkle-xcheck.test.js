/*
 * merkle-xcheck.test.js: the audit console's Merkle verifier (web/tlog.js)
 * against the service's (audit/merkle.c), on the corpus of the fuzz target
 * tests/fuzz/fuzz_merkle.c: honest inclusion and consistency proofs made
 * from real trees, the same with a bit, a hash, a size or an index
 * changed, and raw cases the fuzzer grew. The C verdicts come from
 * tests/tools/merkle_case.c, which decodes each corpus file as the fuzz
 * target does and prints the case and its verdict; this test runs every
 * case through the page's verifier. Both must accept the same cases. No
 * browser is needed.
 */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const t = require("../../web/tlog.js");

const ROOT = path.resolve(__dirname, "../..");
const TOOL = process.env.MERKLE_CASE || path.join(ROOT, "build/release/tests/tools/merkle_case");
const CORPUS = path.join(ROOT, "tests/fuzz/corpus/merkle");

async function page(c) {
	const h = t.b64decode, proof = c.proof.map(h);
	try {
		if (c.kind === "inclusion")
			await t.verifyInclusion(BigInt(c.index), BigInt(c.size), h(c.leaf), proof, h(c.root));
		else
			await t.verifyConsistency(BigInt(c.index), BigInt(c.size), proof, h(c.leaf), h(c.root));
		return "accepted";
	} catch (e) {
		return "rejected";
	}
}

test("page and service accept exactly the same Merkle proofs of the fuzz corpus", async (t2) => {
	const files = fs.readdirSync(CORPUS).map((f) => path.join(CORPUS, f));
	const out = execFileSync(TOOL, files, { encoding: "utf8", maxBuffer: 64 << 20 });
	const cases = out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
	const differ = [], counts = { accepted: 0, rejected: 0 };
	for (const c of cases) {
		const svc = c.verdict === "accepted" ? "accepted" : "rejected", p = await page(c);
		counts[svc]++;
		if (svc !== p)
			differ.push(`${path.basename(c.file)} (${c.kind} ${c.index}/${c.size}): service ${c.verdict}, page ${p}`);
	}
	t2.diagnostic(`${cases.length} cases: ${JSON.stringify(counts)}`);
	assert.deepEqual(differ.slice(0, 20), [], `${differ.length} cases judged differently`);
	assert.ok(cases.length === files.length && counts.accepted > 20 && counts.rejected > 20,
		  "the corpus exercises both verdicts: " + JSON.stringify(counts));
});
