/*
 * audit.test.js: the audit console in a real browser. An officer signs in
 * with a token typed into the page (kept in sessionStorage, never in a
 * URL), searches the log by event type and by subject (hashed in the
 * page), opens an entry and has the browser verify its inclusion proof and
 * checkpoint signature; a tampered proof is rejected; the checkpoint
 * history checks out, each consistent with the next.
 */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { useService, screenshot, unlabelled } = require("./harness");

let svc, b, who;
const ctx = useService(test, async (service) => {
	who = await service.consentedCustomer(0);
	/* a withdrawal to find in the log */
	const link = await service.expect(201, "POST", `/v1/brands/acme/subjects/${who.digest}/link?id_type=email`, { token: service.brand });
	await service.expect(201, "POST", "/web/v1/link/withdraw", { json: { token: link.json.url.split("#")[1] } });
});
test.beforeEach(() => { svc = ctx.svc; b = ctx.b; });

/* Clicks "Verify" and waits for the page's verdict. */
async function verify(page) {
	await page.click("#verify");
	await page.waitForFunction(() => /^(Verified|Rejected)/.test(document.getElementById("verdict").textContent));
}

test("audit console: sign in, search, verify a proof, reject a tampered one", async () => {
	const page = b.page;
	const urls = [];
	page.on("request", (r) => urls.push(r.url()));
	await page.goto(svc.url + "/audit");
	assert.deepEqual(await unlabelled(page), []);
	await page.fill("#token", svc.officer);
	await page.press("#token", "Enter");
	await page.waitForSelector("#console:not([hidden])");
	assert.equal(await page.evaluate(() => sessionStorage.getItem("cr.audit.token")), svc.officer);

	await page.fill("#s-type", "consent.withdraw");
	await page.click('#search-form button[type="submit"]');
	await page.waitForSelector("#results tbody tr");
	await screenshot(page, "audit-search");
	await page.click("#results tbody tr:first-child button");
	await page.waitForFunction(() => document.getElementById("proof").value.startsWith("c2sp.org/tlog-proof@v1"));
	await verify(page);
	assert.equal(await page.getAttribute("#verdict", "class"), "verdict-ok", await page.textContent("#verdict") + " key=" + await page.textContent("#vkey"));
	assert.match(await page.textContent("#verdict"), /^Verified: entry \d+ is in the log/);
	await screenshot(page, "audit-proof-verified");

	/* change one proof hash: the recomputed root no longer matches the signed one */
	await page.evaluate(() => {
		const t = document.getElementById("proof"), lines = t.value.split("\n");
		const i = lines.findIndex((l) => l.startsWith("index ")) + 1;
		lines[i] = (lines[i][0] === "A" ? "B" : "A") + lines[i].slice(1);
		t.value = lines.join("\n");
	});
	await verify(page);
	assert.equal(await page.getAttribute("#verdict", "class"), "verdict-bad");
	assert.match(await page.textContent("#verdict"), /^Rejected: /);
	await screenshot(page, "audit-proof-tampered");

	/* and a forged checkpoint signature */
	await page.click("#results tbody tr:first-child button");
	await page.waitForFunction(() => document.getElementById("proof").value.startsWith("c2sp.org/tlog-proof@v1"));
	await page.evaluate(() => {
		const t = document.getElementById("proof");
		/* a byte of the signature itself, past the 4-byte key id */
		t.value = t.value.replace(/(\u2014 \S+ \S{20})(\S)/, (m, a, c) => a + (c === "A" ? "B" : "A"));
	});
	await verify(page);
	assert.match(await page.textContent("#verdict"), /^Rejected: the checkpoint signature does not verify/);

	/* the token never went into a URL */
	assert.ok(urls.every((u) => !u.includes(svc.officer.slice(4))));
	assert.deepEqual(b.problems, []);
});

test("audit console: search by subject (hashed in the page), checkpoint history consistent", async () => {
	const page = b.page;
	const sent = [];
	page.on("request", (r) => { if (r.url().endsWith("/v1/audit/search")) sent.push(r.postDataJSON()); });
	await page.fill("#s-type", "");
	await page.fill("#s-subject", who.email);
	await page.click('#search-form button[type="submit"]');
	await page.waitForFunction(() => /entr/.test(document.getElementById("results-status").textContent));
	const last = sent[sent.length - 1];
	assert.equal(last.subject, who.digest);
	assert.ok(!JSON.stringify(last).includes("@"));
	const types = await page.$$eval("#results tbody tr td:nth-child(3)", (tds) => tds.map((t) => t.textContent));
	assert.ok(types.includes("consent.withdraw") && types.includes("consent.grant"), types.join(","));

	await page.click("#checkpoints");
	await page.waitForFunction(() => /checkpoints checked/.test(document.getElementById("cp-status").textContent) ||
		!document.getElementById("failure").hidden, null, { timeout: 60000 });
	assert.equal(await page.textContent("#failure"), "");
	assert.match(await page.textContent("#cp-status"), /every signature valid, each consistent with the next/);
	assert.ok(await page.$$eval("#cp-table tbody tr", (r) => r.length) >= 2);
	await screenshot(page, "audit-checkpoints");
	assert.deepEqual(b.problems, []);
});
