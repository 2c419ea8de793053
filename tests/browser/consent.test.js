/*
 * consent.test.js: the consent center in a real browser (headless Debian
 * chromium). A brand issues a personal link; the person opens it, sees the
 * notice they were shown (zh-CN) and their choices, withdraws one purpose
 * with the keyboard (R17: one act); the API then shows the purpose withdrawn
 * and the record purged (I3), and the downloaded receipt verifies (R27)
 * both over the API and with the CLI. Then the anonymous form: the page
 * hashes in the browser and sends only the digest, and a known and an
 * unknown person get the same answer. Data is synthetic, made at test time.
 */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { useService, screenshot, unlabelled, digestOf, strangerEmail, cr, VECTORS, ARTIFACTS } = require("./harness");

const ctx = useService(test);
let svc, b;
test.beforeEach(() => { svc = ctx.svc; b = ctx.b; });

test("consent link: view, withdraw one purpose, receipt verifies (R17, I3, R27)", async () => {
	const page = b.page, who = await svc.consentedCustomer(0);
	const link = await svc.expect(201, "POST", `/v1/brands/acme/subjects/${who.digest}/link?id_type=email`, { token: svc.brand, json: { ttl_hours: 2 } });
	assert.match(link.json.url, /^https:\/\/127\.0\.0\.1:\d+\/consent#crl1\.[A-Za-z0-9_-]+$/);
	const token = link.json.url.split("#")[1];
	assert.ok(!token.includes(who.digest), "the token carries no digest");
	const before = await svc.records();

	await page.goto(link.json.url);
	await page.waitForSelector("#scopes tr");
	assert.equal(await page.evaluate(() => location.hash), "", "the token leaves the address bar");
	assert.equal(await page.evaluate(() => document.documentElement.lang), "zh-CN", "the page speaks the notice's language");
	assert.equal(await page.textContent("#brand-heading"), "acme");
	assert.match(await page.textContent("#notices"), /1/);
	assert.deepEqual(await unlabelled(page), []);
	await screenshot(page, "consent-link-view");

	/* one purpose, by keyboard: focus its button and press Enter */
	const row = page.locator('#scopes tr[data-purpose="ads_measurement"][data-recipient=""]');
	await row.locator("button").focus();
	await page.keyboard.press("Enter");
	await page.waitForSelector("#receipt-view:not([hidden])");
	assert.equal(await row.locator('[data-role="status"]').getAttribute("class"), "status-no");
	await screenshot(page, "consent-link-withdrawn");

	/* through the API: withdrawn now, the rest untouched, the record purged */
	const st = await svc.status(who.digest);
	const ads = st.find((x) => x.purpose === "ads_measurement" && !x.recipient);
	assert.equal(ads.allowed, false);
	assert.equal(ads.reason, "WITHDRAWN");
	assert.ok(st.some((x) => x.purpose === "audience_insights" && x.allowed));
	assert.equal(await svc.records(), before - 1);

	/* the receipt as a download, verified by the service and offline by the CLI */
	const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#receipt-download")]);
	const file = path.join(ARTIFACTS, "consent-receipt.json");
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	await dl.saveAs(file);
	const v = await svc.expect(200, "POST", "/v1/receipts/verify", { token: svc.brand, body: fs.readFileSync(file, "utf8"), type: "application/json" });
	assert.equal(v.json.valid, true);
	assert.equal(v.json.type, "withdraw");
	assert.equal(v.json.audit_proof_verified, true);
	const vkey = (await svc.expect(200, "GET", "/v1/audit/key", { token: svc.officer })).text.trim();
	/* receipts are signed with a key of their own (issue 19, key separation) */
	const rkey = cr(["audit", "key", "--receipts", "--data", svc.data]).trim();
	assert.notEqual(rkey, vkey);
	assert.match(cr(["receipt", "verify", file, "--receipt-key", rkey, "--key", vkey]), /proven in the signed log/);

	/* the token reached no log line */
	assert.ok(!svc.accessLog().includes(token.slice(5, 40)));
	assert.deepEqual(b.problems, [], "no script or CSP errors");
});

test("consent link: the person downloads everything the brand holds about them (GDPR 15, 20; PIPL 45)", async () => {
	const page = b.page, who = await svc.consentedCustomer(4);
	const link = await svc.expect(201, "POST", `/v1/brands/acme/subjects/${who.digest}/link?id_type=email`, { token: svc.brand });
	await page.evaluate(() => sessionStorage.clear());
	await page.goto("about:blank");
	await page.goto(link.json.url);
	await page.waitForSelector("#scopes tr");
	const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#access")]);
	const file = path.join(ARTIFACTS, "my-data.json");
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	await dl.saveAs(file);
	const doc = JSON.parse(fs.readFileSync(file, "utf8"));
	assert.equal(doc.format, "cr-subject-access-v1");
	assert.ok(doc.events.length > 0 && doc.receipts.length > 0);
	assert.equal(doc.held.length, 1, "the one dataset that holds this customer");
	assert.equal(doc.held[0].dataset, "crm");
	assert.ok(Object.keys(doc.held[0].attributes).length > 0);
	/* the brand's export of the same person says the same (the same code path) */
	const api = await svc.expect(200, "GET", `/v1/brands/acme/subjects/${who.digest}/export?id_type=email`, { token: svc.brand });
	assert.deepEqual(api.json.held, doc.held);
	assert.match(await page.textContent("#access-summary"), /1/);
	assert.deepEqual(b.problems, [], "no script or CSP errors");
});

test("consent link: an objection to marketing with one button, with its receipt (R21, PIPL 44)", async () => {
	const page = b.page, who = await svc.consentedCustomer(3);
	const link = await svc.expect(201, "POST", `/v1/brands/acme/subjects/${who.digest}/link?id_type=email`, { token: svc.brand });
	await page.evaluate(() => sessionStorage.clear());
	await page.goto("about:blank");
	await page.goto(link.json.url);
	await page.waitForSelector("#scopes tr");
	await page.click("#object");
	await page.waitForSelector("#receipt-view:not([hidden])");
	const st = await svc.status(who.digest);
	assert.ok(st.some((x) => x.reason === "OBJECTED"), "the objection blocks marketing: " + JSON.stringify(st));
	const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#receipt-download")]);
	const file = path.join(ARTIFACTS, "objection-receipt.json");
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	await dl.saveAs(file);
	const v = await svc.expect(200, "POST", "/v1/receipts/verify", { token: svc.brand, body: fs.readFileSync(file, "utf8"), type: "application/json" });
	assert.equal(v.json.type, "object");
	assert.equal(v.json.audit_proof_verified, true);
	assert.deepEqual(b.problems, [], "no script or CSP errors");
});

test("consent link: erasure with one button and a confirmation; the log no longer finds the person (GDPR 17, issue 19)", async () => {
	const page = b.page, who = await svc.consentedCustomer(2);
	const link = await svc.expect(201, "POST", `/v1/brands/acme/subjects/${who.digest}/link?id_type=email`, { token: svc.brand });
	const search = { brand: "acme", subject: who.digest, id_type: "email" };
	const found = await svc.expect(200, "POST", "/v1/audit/search", { token: svc.officer, json: search });
	assert.ok(found.json.entries.length > 0, "the person is in the subject index before");
	const before = await svc.records();
	await page.evaluate(() => sessionStorage.clear());
	await page.goto("about:blank");
	await page.goto(link.json.url);
	await page.waitForSelector("#scopes tr");

	/* the button asks first; cancelling changes nothing */
	await page.click("#erase");
	assert.ok(await page.isVisible("#erase-confirm"));
	await page.click("#erase-no");
	assert.ok(await page.isHidden("#erase-confirm"));
	assert.equal(await svc.records(), before);
	await screenshot(page, "consent-erase-ask");

	await page.click("#erase");
	await page.click("#erase-yes");
	await page.waitForSelector("#receipt-view:not([hidden])");
	assert.ok(await svc.records() < before, "the person's records are purged");
	assert.ok((await svc.status(who.digest)).every((x) => !x.allowed));
	const gone = await svc.expect(200, "POST", "/v1/audit/search", { token: svc.officer, json: search });
	assert.deepEqual(gone.json.entries, [], "no entry is tied to the person any more");
	/* R22: the request is in the brand's register, answered at once */
	const reg = await svc.expect(200, "GET", "/v1/brands/acme/requests", { token: svc.officer });
	assert.ok(reg.json.requests.some((r) => r.kind === "erasure" && r.channel === "consent-center" && r.completed && !r.late));
	await screenshot(page, "consent-erased");

	/* the file offered holds the receipt and the erasure entry's proof, which checks offline */
	const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#receipt-download")]);
	const file = path.join(ARTIFACTS, "erasure-receipt.json");
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	await dl.saveAs(file);
	const doc = JSON.parse(fs.readFileSync(file, "utf8"));
	assert.equal(doc.status, "erased");
	assert.equal(doc.receipt.payload.subject.pseudonym, null, "the receipt names no pseudonym");
	const proof = path.join(ARTIFACTS, "erasure-proof.txt");
	fs.writeFileSync(proof, doc.erasure.audit_proof);
	const vkey = (await svc.expect(200, "GET", "/v1/audit/key", { token: svc.officer })).text.trim();
	assert.match(cr(["audit", "verify-proof", "--key", vkey, proof]), /proof OK/);
	assert.deepEqual(b.problems, [], "no script or CSP errors");
});

test("consent link: a tampered link is refused, the page falls back to the form", async () => {
	const page = b.page, who = await svc.consentedCustomer(1);
	const link = await svc.expect(201, "POST", `/v1/brands/acme/subjects/${who.digest}/link?id_type=email`, { token: svc.brand });
	const at = link.json.url.indexOf("#crl1.") + 20;
	const bad = link.json.url.slice(0, at) + (link.json.url[at] === "A" ? "B" : "A") + link.json.url.slice(at + 1);
	await page.evaluate(() => sessionStorage.clear());
	await page.goto("about:blank");
	await page.goto(bad);
	await page.waitForSelector("#failure:not([hidden])");
	assert.match(await page.textContent("#failure"), /无效|not valid/);
	assert.ok(await page.isVisible("#anon-form"));
	b.problems.length = 0; /* the refused call logs a 403 in the console, as it should */
});

/* The known answers of docs/spec/identifiers.md (tests/vectors/identifiers). */
function identifierVectors() {
	const v = JSON.parse(fs.readFileSync(path.join(VECTORS, "identifiers/known-answers.json"), "utf8"));
	return {
		answers: v.answers.map((a) => ({ type: a.type, raw: a.input, country: a.default_country || null,
						 normalized: a.normalized, digest: a.sha256 })),
		refused: v.refused.map((r) => ({ type: r.type, raw: r.input, country: r.default_country || null,
						 refusal: r.refusal })),
	};
}

test("anonymous form: normalization and hashing in the browser match docs/spec/identifiers.md", async () => {
	const page = b.page, { answers: vectors, refused: refusedInputs } = identifierVectors();
	assert.ok(vectors.length >= 15 && refusedInputs.length >= 12, "the vector file was read");
	await page.evaluate(() => sessionStorage.clear());
	await page.goto(svc.url + "/consent");
	await page.waitForSelector("#anon-form");
	const got = await page.evaluate(async (vs) => Promise.all(vs.map(async (v) => {
		const n = window.crIdent.normalize(v.type, v.raw, v.country);
		return { normalized: n, digest: await window.crIdent.digest(n) };
	})), vectors);
	vectors.forEach((v, i) => assert.deepEqual(got[i], { normalized: v.normalized, digest: v.digest }, v.raw));
	const refused = await page.evaluate((rs) => rs.map((r) => {
		try { window.crIdent.normalize(r.type, r.raw, r.country); return "accepted"; } catch (e) { return e.code; }
	}), refusedInputs);
	/* the same reasons as the service, except that the page asks for the
	 * plain form of a number written with other characters ("ext.") */
	assert.deepEqual(refused, refusedInputs.map((r) =>
		(r.type === "phone" && /[^-0-9+ ().\/]/.test(r.raw) ? "phone_form" : r.refusal)));
	/* the page's country list is libphonenumber's */
	assert.ok((await page.$$eval("#anon-country option", (os) => os.map((o) => o.value))).includes("XK"));
});

test("anonymous form: a phone number is hashed as the service would, or refused with a way to write it", async () => {
	const page = b.page;
	await page.evaluate(() => sessionStorage.clear());
	await page.goto(svc.url + "/consent?brand=acme");
	await page.waitForSelector("#anon-form");
	await page.check("#type-phone");
	/* a form the page does not read: refused on the page, nothing sent */
	const sent = [];
	page.on("request", (r) => { if (r.url().endsWith("/web/v1/withdraw")) sent.push(r); });
	await page.fill("#anon-id", "+44 20 7946 0958 ext. 12");
	await page.click("#anon-submit");
	await page.waitForSelector("#failure:not([hidden])");
	assert.match(await page.textContent("#failure"), /\+ and the country code|\+ 和国家代码/);
	assert.equal(sent.length, 0);
	/* "(0)" after the country code, issue 21: the digest of +442079460958, and no digit of it sent */
	await page.fill("#anon-id", "+44 (0) 20 7946 0958");
	const [req] = await Promise.all([
		page.waitForRequest((r) => r.url().endsWith("/web/v1/withdraw")),
		page.click("#anon-submit"),
	]);
	await page.waitForFunction(() => /acme/.test(document.getElementById("anon-result").textContent));
	assert.deepEqual(req.postDataJSON(), { brand: "acme", id_type: "phone", digest: digestOf("phone", "+442079460958", null) });
	assert.ok(!/7946|0958/.test(req.url() + req.postData()));
	/* a national number with its country chosen */
	await page.fill("#anon-id", "8613800138000");
	await page.selectOption("#anon-country", "CN");
	const [req2] = await Promise.all([
		page.waitForRequest((r) => r.url().endsWith("/web/v1/withdraw")),
		page.click("#anon-submit"),
	]);
	assert.equal(req2.postDataJSON().digest, digestOf("phone", "+8613800138000", null));
	await page.waitForFunction(() => /acme/.test(document.getElementById("anon-result").textContent));
	await screenshot(page, "consent-form-phone");
	assert.deepEqual(b.problems, []);
});

/* Submits the form for `email`; returns what was sent and what came back. */
async function submitForm(page, email) {
	await page.goto(svc.url + "/consent?brand=acme");
	await page.waitForSelector("#anon-form");
	await page.fill("#anon-id", email);
	const [req] = await Promise.all([
		page.waitForRequest((r) => r.url().endsWith("/web/v1/withdraw")),
		page.click("#anon-submit"),
	]);
	const res = await req.response();
	await page.waitForFunction(() => /acme/.test(document.getElementById("anon-result").textContent));
	const timing = req.timing();
	return { sent: req.postDataJSON(), url: req.url(), status: res.status(), body: await res.json(),
		 message: await page.textContent("#anon-result"), ms: timing.responseEnd };
}

function shape(o) {
	return Object.keys(o).sort().map((k) => (o[k] && typeof o[k] === "object" && !Array.isArray(o[k]) ? k + "{" + shape(o[k]) + "}" : k)).join(",");
}

test("anonymous form: the same answer for a known and an unknown person (R17)", async () => {
	const page = b.page, who = await svc.consentedCustomer(2);
	await page.evaluate(() => sessionStorage.clear());
	/* a case and whitespace variant of the known address: one person, one digest (edge case 11) */
	const variant = "  " + who.email.trim().toUpperCase() + " ";
	const known = await submitForm(page, variant);
	await screenshot(page, "consent-form-known");
	const stranger = await submitForm(page, strangerEmail());
	await screenshot(page, "consent-form-unknown");

	/* only the digest left the page */
	assert.deepEqual(Object.keys(known.sent).sort(), ["brand", "digest", "id_type"]);
	assert.equal(known.sent.digest, who.digest);
	assert.ok(!JSON.stringify(known.sent).includes("@") && !known.url.includes("@"));
	/* same status, same body shape, same words */
	assert.equal(known.status, 202);
	assert.equal(stranger.status, 202);
	assert.equal(shape(known.body), shape(stranger.body));
	assert.equal(known.message, stranger.message);
	assert.ok(known.ms >= 250 && stranger.ms >= 250, `both padded: ${known.ms} ms, ${stranger.ms} ms`);
	/* and it did withdraw the known person */
	assert.ok((await svc.status(who.digest)).every((x) => !x.allowed));
	fs.writeFileSync(path.join(ARTIFACTS, "consent-form-timing.json"), JSON.stringify({ known_ms: known.ms, unknown_ms: stranger.ms }) + "\n");
	assert.deepEqual(b.problems, []);
});
