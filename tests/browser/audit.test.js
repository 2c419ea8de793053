/*
 * audit.test.js: the audit console in a real browser. An officer signs in
 * with a token typed into the page (kept in sessionStorage, never in a
 * URL), searches the log by event type and by subject (hashed in the
 * page), opens an entry and has the browser verify its inclusion proof and
 * checkpoint signature; a tampered proof is rejected; the checkpoint
 * history checks out, each consistent with the next. The Reports section
 * shows the brand's record of processing and its compliance figures.
 *
 * The pin (issue 19): the key in the page's URL fragment is pinned on the
 * first visit and the pinned checkpoint advances over a consistency proof;
 * a server at the same address that answers with another key for the same
 * log origin is warned about and not verified with; a server whose log
 * is an older copy of the pinned one, or forked from it (a copy of the
 * data directory that went on differently), is warned about, at the same
 * size and at a larger one, and a proof from the forked log is rejected
 * though its signature verifies. Both stand-ins are real `cleanroom serve` processes on real data
 * directories, the second started at the first one's address, so the
 * browser's localStorage (per address) holds the pin across them.
 */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { useService, screenshot, unlabelled, cr, CR } = require("./harness");

let svc, b, who;
const ctx = useService(test, async (service) => {
	who = await service.consentedCustomer(0);
	/* a withdrawal to find in the log */
	const link = await service.expect(201, "POST", `/v1/brands/acme/subjects/${who.digest}/link?id_type=email`, { token: service.brand });
	await service.expect(201, "POST", "/web/v1/link/withdraw", { json: { token: link.json.url.split("#")[1] } });
});
test.beforeEach(() => { svc = ctx.svc; b = ctx.b; });

/* This browser's pins (localStorage), by log origin. */
function pins(page) {
	return page.evaluate(() => JSON.parse(localStorage.getItem("cr.audit.pins") || "{}"));
}

/* The console's address with the officer's key in its fragment. */
function withKey(url, key) {
	return url + "/audit#key=" + encodeURIComponent(key);
}

/* Signs in and waits until the pin check is over (its status or a warning shows). */
async function signInAndCheck(page, token) {
	await page.fill("#token", token);
	await page.press("#token", "Enter");
	await page.waitForSelector("#console:not([hidden])");
	await page.waitForFunction(() => /Pinned for|verifies with the key you gave/.test(document.getElementById("pin-status").textContent) ||
		document.getElementById("pin-warnings").children.length > 0);
	/* a warning can come before the checkpoint check: wait until that is over too */
	await page.waitForFunction(() => !/^Checking/.test(document.getElementById("pin-status").textContent));
}

async function warnings(page) {
	return page.$$eval("#pin-warnings > div", (ds) => ds.map((d) => d.textContent));
}

/* Clicks "Verify" and waits for the page's verdict. */
async function verify(page) {
	await page.click("#verify");
	await page.waitForFunction(() => /^(Verified|Rejected)/.test(document.getElementById("verdict").textContent));
}

test("audit console: sign in, search, verify a proof, reject a tampered one", async () => {
	const page = b.page;
	const urls = [];
	page.on("request", (r) => urls.push(r.url()));
	const key = cr(["audit", "key", "--data", svc.data]);
	const origin = key.split("+")[0];
	await page.goto(withKey(svc.url, key));
	assert.deepEqual(await unlabelled(page), []);
	assert.deepEqual(await pins(page), {});
	await signInAndCheck(page, svc.officer);
	assert.equal(await page.evaluate(() => sessionStorage.getItem("cr.audit.token")), svc.officer);

	/* first visit: the key from the fragment is pinned with the checkpoint it verified */
	assert.deepEqual(await warnings(page), []);
	const pin = (await pins(page))[origin];
	assert.equal(pin.key, key);
	assert.match(pin.size, /^[1-9][0-9]*$/);
	const latest = cr(["audit", "checkpoint", "--data", svc.data]).split("\n");
	assert.equal(pin.size, latest[1]);
	assert.equal(pin.root, latest[2]);
	assert.match(await page.textContent("#pin-log"), /key given in the page address: pinned /);
	assert.match(await page.textContent("#vkey"), /Verifying with the key you gave: /);
	await screenshot(page, "audit-pinned");

	await page.fill("#s-type", "consent.withdraw");
	await page.click('#search-form button[type="submit"]');
	await page.waitForSelector("#results tbody tr");
	await screenshot(page, "audit-search");
	await page.click("#results tbody tr:first-child button");
	await page.waitForFunction(() => document.getElementById("proof").value.startsWith("c2sp.org/tlog-proof@v1"));
	await verify(page);
	assert.equal(await page.getAttribute("#verdict", "class"), "verdict-ok", await page.textContent("#verdict") + " key=" + await page.textContent("#vkey"));
	assert.match(await page.textContent("#verdict"), /^Verified: entry \d+ is in the log/);
	assert.match(await page.textContent("#verdict"), /Its checkpoint is consistent with the checkpoint pinned in this browser \(size \d+\)\.$/);
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

	/* the log grows: the pin advances over a verified consistency proof, no warning */
	const origin = cr(["audit", "key", "--data", svc.data]).split("+")[0];
	const before = (await pins(page))[origin];
	await svc.expect(201, "POST", `/v1/brands/acme/subjects/${who.digest}/link?id_type=email`, { token: svc.brand });
	const grown = cr(["audit", "checkpoint", "--data", svc.data]).split("\n");
	assert.ok(BigInt(grown[1]) > BigInt(before.size));
	await page.click("#pin-check");
	await page.waitForFunction((size) => document.getElementById("pin-status").textContent.includes("checkpoint size " + size), grown[1]);
	assert.deepEqual(await warnings(page), []);
	const after = (await pins(page))[origin];
	assert.equal(after.size, grown[1]);
	assert.equal(after.root, grown[2]);
	assert.match(await page.textContent("#pin-log"), new RegExp("advanced the pinned checkpoint from size " + before.size + " to " + grown[1]));

	await page.click("#checkpoints");
	await page.waitForFunction(() => /checkpoints checked/.test(document.getElementById("cp-status").textContent) ||
		!document.getElementById("failure").hidden, null, { timeout: 60000 });
	assert.equal(await page.textContent("#failure"), "");
	assert.match(await page.textContent("#cp-status"), /every signature valid, each consistent with the next/);
	assert.ok(await page.$$eval("#cp-table tbody tr", (r) => r.length) >= 2);
	await screenshot(page, "audit-checkpoints");
	assert.deepEqual(b.problems, []);
});

test("audit console: the brand's reports (record of processing, compliance figures)", async () => {
	const page = b.page;
	assert.equal(await page.inputValue("#r-brand"), "acme");
	await page.click("#r-processing");
	await page.waitForFunction(() => /^Record of processing of acme/.test(document.getElementById("r-status").textContent) ||
		!document.getElementById("failure").hidden);
	assert.equal(await page.textContent("#failure"), "");
	assert.match(await page.textContent("#r-out"), /partner-1 \(/);
	assert.ok(!(await page.textContent("#r-out")).includes(who.email));
	await page.click('#reports-form button[type="submit"]');
	await page.waitForFunction(() => /^Compliance report of acme/.test(document.getElementById("r-status").textContent) ||
		!document.getElementById("failure").hidden);
	assert.equal(await page.textContent("#failure"), "");
	const rows = await page.$$eval("#r-out table tbody tr", (trs) =>
		Object.fromEntries(trs.map((tr) => [tr.cells[0].textContent, Number(tr.cells[2].textContent)])));
	assert.ok(rows.withdrawals >= 1 && rows.consents >= 1, JSON.stringify(rows));
	assert.match(await page.getAttribute("#r-out a[download]", "download"), /^compliance-acme\.json$/);
	await screenshot(page, "audit-reports");
	assert.deepEqual(b.problems, []);
});

/* ------------------------------------------------ the pin across servers */

/* `cleanroom serve` on `data` at `listen`; resolves with {url, port, stop()}. */
async function serve(data, listen) {
	const logPath = data + ".serve.log";
	const log = fs.openSync(logPath, "w");
	const proc = spawn(CR, ["serve", "--data", data, "--listen", listen, "--threads", "2"], { stdio: ["ignore", "ignore", log] });
	const exited = new Promise((r) => proc.on("exit", r));
	let url = null;
	for (let i = 0; i < 100 && !url; i++) {
		await new Promise((r) => setTimeout(r, 100));
		const m = /"url":"(https:\/\/127\.0\.0\.1:(\d+))"/.exec(fs.readFileSync(logPath, "utf8"));
		if (m)
			url = m[1];
	}
	if (!url) {
		proc.kill("SIGKILL");
		throw new Error("the service did not start: " + fs.readFileSync(logPath, "utf8"));
	}
	return { url, port: url.split(":")[2], stop: async () => { proc.kill("SIGTERM"); await exited; } };
}

/* A browser context of its own (its own localStorage), its page errors collected. */
async function freshContext() {
	const context = await b.browser.newContext({ ignoreHTTPSErrors: true });
	const problems = [];
	const newPage = async () => {
		const page = await context.newPage();
		page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
		page.on("pageerror", (e) => problems.push(String(e)));
		return page;
	};
	return { context, problems, newPage };
}

function initDir(data, origin) {
	cr(["init", "--data", data, "--origin", origin]);
	return cr(["token", "issue", "--data", data, "--role", "officer", "--tenant", "acme", "--name", "dpo"]);
}

test("audit console: a witness the officer names must have cosigned the server's checkpoint", async () => {
	const page = b.page;
	const key = cr(["audit", "key", "--data", svc.data]);
	const wdir = fs.mkdtempSync(path.join(os.tmpdir(), "cr-witness-"));
	const wkey = cr(["witness", "init", "--dir", path.join(wdir, "w"), "--name", "witness.test/never-asked"]);
	await page.goto("about:blank");
	await page.goto(withKey(svc.url, key) + "&witness=" + encodeURIComponent(wkey));
	await page.waitForSelector("#console:not([hidden])");
	await page.waitForFunction(() => document.getElementById("pin-warnings").children.length > 0 &&
		!/^Checking/.test(document.getElementById("pin-status").textContent));
	const ws = await warnings(page);
	assert.ok(ws.some((w) => /has not cosigned/.test(w) && /witness\.test\/never-asked/.test(w)), ws.join(" | "));
	fs.rmSync(wdir, { recursive: true, force: true });
	/* without the witness the same page has nothing to warn about */
	await page.goto("about:blank");
	await page.goto(withKey(svc.url, key));
	await page.waitForSelector("#console:not([hidden])");
	await page.waitForFunction(() => /Pinned for/.test(document.getElementById("pin-status").textContent));
	assert.deepEqual(await warnings(page), []);
});

test("audit console: a key swap at the same address is warned about and not verified with", async () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cr-keyswap-"));
	const origin = "browser.test/keyswap";
	const x = path.join(dir, "x"), y = path.join(dir, "y");
	const tokX = initDir(x, origin), tokY = initDir(y, origin);
	const keyX = cr(["audit", "key", "--data", x]), keyY = cr(["audit", "key", "--data", y]);
	assert.notEqual(keyX, keyY);
	const c = await freshContext();
	let s = null;
	try {
		s = await serve(x, "127.0.0.1:0");
		/* no key given and none pinned: the server's key is offered, not used */
		const bare = await c.newPage();
		await bare.goto(s.url + "/audit");
		await signInAndCheck(bare, tokX);
		assert.match((await warnings(bare)).join("\n"), /no key is pinned in this browser for the log browser\.test\/keyswap and you gave none/);
		assert.equal(await bare.textContent("#vkey"), "No verifier key: give the log's key below.");
		await bare.click("#checkpoints");
		await bare.waitForFunction(() => !document.getElementById("failure").hidden);
		assert.match(await bare.textContent("#failure"), /no verifier key to verify with/);
		assert.deepEqual(await pins(bare), {});
		await bare.close();

		const first = await c.newPage();
		await first.goto(withKey(s.url, keyX));
		await signInAndCheck(first, tokX);
		assert.deepEqual(await warnings(first), []);
		assert.equal((await pins(first))[origin].key, keyX);
		await first.close();
		await s.stop();

		/* the same address, the same log origin, another key; the officer gives no key this time */
		s = await serve(y, "127.0.0.1:" + s.port);
		const page = await c.newPage();
		await page.goto(s.url + "/audit");
		await signInAndCheck(page, tokY);
		const w = (await warnings(page)).join("\n");
		assert.ok(w.includes("the server offers the key " + keyY + ", which is not the key in use (" + keyX + ")"), w);
		assert.match(w, /the server's latest checkpoint does not verify with the key in use/);
		assert.equal(await page.textContent("#vkey"), "Verifying with the key pinned in this browser: " + keyX);
		assert.equal((await pins(page))[origin].key, keyX);
		/* nothing the new key signed checks out here */
		await page.click("#checkpoints");
		await page.waitForFunction(() => /checkpoints checked/.test(document.getElementById("cp-status").textContent));
		const sigs = await page.$$eval("#cp-table tbody tr td:nth-child(4)", (tds) => tds.map((t) => t.textContent));
		assert.ok(sigs.length >= 1 && sigs.every((t) => t.startsWith("INVALID")), sigs.join(","));
		await screenshot(page, "audit-key-swap");

		/* taking the new key is the officer's click, and it is logged on the page */
		await page.click("text=Accept the server's key and re-pin");
		await page.waitForFunction(() => /Pinned for/.test(document.getElementById("pin-status").textContent) &&
			document.getElementById("pin-warnings").children.length === 0);
		assert.equal((await pins(page))[origin].key, keyY);
		assert.match(await page.textContent("#pin-log"), new RegExp("officer accepted a new key from the server: now pinned " +
			keyY.replace(/[+/]/g, "\\$&") + " in place of "));
		assert.deepEqual(c.problems, []);
	} finally {
		if (s)
			await s.stop();
		await c.context.close();
		fs.rmSync(dir, { recursive: true, force: true });
	}
});

test("audit console: a rolled-back or forked log is warned about, and the pin stays", async () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cr-fork-"));
	const origin = "browser.test/fork";
	const x = path.join(dir, "x"), z = path.join(dir, "z");
	const tok = initDir(x, origin);
	const key = cr(["audit", "key", "--data", x]);
	/* the same log, keys and history copied; from here on each goes its own way */
	fs.cpSync(x, z, { recursive: true });
	const issue = (data, name) => cr(["token", "issue", "--data", data, "--role", "brand", "--tenant", "acme", "--name", name]);
	issue(x, "only-in-x");
	const cpX = cr(["audit", "checkpoint", "--data", x]).split("\n");
	const c = await freshContext();
	let s = null;
	try {
		s = await serve(x, "127.0.0.1:0");
		const port = s.port;
		const first = await c.newPage();
		await first.goto(withKey(s.url, key));
		await signInAndCheck(first, tok);
		assert.deepEqual(await warnings(first), []);
		const pinned = (await pins(first))[origin];
		assert.deepEqual([pinned.key, pinned.size, pinned.root], [key, cpX[1], cpX[2]]);
		await first.close();
		await s.stop();

		/* an older copy of the log: smaller than the pinned checkpoint */
		s = await serve(z, "127.0.0.1:" + port);
		let page = await c.newPage();
		await page.goto(s.url + "/audit");
		await signInAndCheck(page, tok);
		let w = (await warnings(page)).join("\n");
		assert.match(w, new RegExp("the server's log \\(size " + (BigInt(cpX[1]) - 1n) + "\\) is smaller than the checkpoint pinned in this browser \\(size " +
			cpX[1] + ", .*rolled back or replaced"));
		await page.close();
		await s.stop();

		/* the same size, another root */
		issue(z, "only-in-z");
		const cpZ = cr(["audit", "checkpoint", "--data", z]).split("\n");
		assert.equal(cpX[1], cpZ[1]);
		assert.notEqual(cpX[2], cpZ[2]);
		s = await serve(z, "127.0.0.1:" + port);
		page = await c.newPage();
		await page.goto(s.url + "/audit");
		await signInAndCheck(page, tok);
		w = (await warnings(page)).join("\n");
		assert.ok(w.includes("the server's checkpoint of size " + cpZ[1] + " has root " + cpZ[2] + ", not the root of the checkpoint pinned"), w);
		assert.match(w, /the log forked/);
		assert.ok(!/offers the key/.test(w), w);
		/* a proof from the forked log verifies with the key but not against the pin */
		await page.fill("#s-type", "token.issue");
		await page.click('#search-form button[type="submit"]');
		await page.waitForSelector("#results tbody tr");
		assert.match(await page.textContent("#results tbody tr:first-child td:nth-child(5)"), /role=brand$/);
		await page.click("#results tbody tr:first-child button");
		await page.waitForFunction(() => document.getElementById("proof").value.startsWith("c2sp.org/tlog-proof@v1"));
		await verify(page);
		assert.match(await page.textContent("#verdict"), /^Rejected: the proof's checkpoint has another root than the checkpoint pinned in this browser \(size \d+\) of the same size: the log forked$/);
		await page.close();
		await s.stop();

		/* the fork grows past the pinned size: its consistency proof does not reproduce the pinned root */
		issue(z, "later-in-z");
		const grown = cr(["audit", "checkpoint", "--data", z]).split("\n");
		s = await serve(z, "127.0.0.1:" + port);
		page = await c.newPage();
		await page.goto(s.url + "/audit");
		await signInAndCheck(page, tok);
		w = (await warnings(page)).join("\n");
		assert.ok(w.includes("the server's checkpoint (size " + grown[1] + ", root " + grown[2] + ") is not consistent with the checkpoint pinned in this browser (size " +
			cpX[1] + ", root " + cpX[2] + ")"), w);
		const pin = (await pins(page))[origin];
		assert.equal(pin.key, key);
		assert.equal(pin.size, cpX[1]);
		assert.equal(pin.root, cpX[2]);
		await screenshot(page, "audit-fork");

		await page.click("text=Re-pin to the server's checkpoint");
		await page.waitForFunction(() => document.getElementById("pin-warnings").children.length === 0 &&
			/Pinned for/.test(document.getElementById("pin-status").textContent));
		assert.equal((await pins(page))[origin].size, grown[1]);
		assert.match(await page.textContent("#pin-log"), new RegExp("officer re-pinned to checkpoint size " + grown[1]));
		assert.deepEqual(c.problems, []);
	} finally {
		if (s)
			await s.stop();
		await c.context.close();
		fs.rmSync(dir, { recursive: true, force: true });
	}
});
