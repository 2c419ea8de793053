/*
 * harness.js: what every browser test needs: a fresh data directory with
 * synthetic data (`cleanroom synth`, made at test time: no identifier is
 * committed), tokens, a running `cleanroom serve` on a free port, a small
 * HTTPS client for the API, and headless Debian chromium through
 * playwright-core. Screenshots go to build/browser-artifacts/.
 */
"use strict";
const { spawn, execFileSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const https = require("node:https");
const os = require("node:os");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "../..");
const CR = process.env.CLEANROOM || path.join(ROOT, "build/release/cleanroom");
const VECTORS = process.env.VECTORS_DIR || path.join(ROOT, "tests/vectors");
const ARTIFACTS = process.env.BROWSER_ARTIFACTS || path.join(ROOT, "build/browser-artifacts");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

function cr(args) {
	return execFileSync(CR, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/* The phone metadata the build generated from libphonenumber (served as
 * /static/phonemeta.js), and the service's own normalization as a filter. */
const PHONE_META = process.env.PHONE_META || path.join(ROOT, "build/release/gen/phonemeta.js");
const PHONE_EXAMPLES = process.env.PHONE_EXAMPLES || path.join(ROOT, "build/release/gen/phone-examples.tsv");
const IDENT_NORMALIZE = process.env.IDENT_NORMALIZE || path.join(ROOT, "build/release/tests/tools/ident_normalize");
globalThis.crPhoneMeta = require(PHONE_META);

/* The digest of an identifier as docs/spec/identifiers.md defines it, computed with the page's own code. */
const ident = require(path.join(ROOT, "web/ident.js"));
function digestOf(idType, raw, country) {
	return crypto.createHash("sha256").update(ident.normalize(idType, raw, country)).digest("hex");
}

/* A made-up email on a reserved domain: nobody's address. */
function strangerEmail() {
	return "p" + crypto.randomBytes(8).toString("hex") + "@test.invalid";
}

class Service {
	async start() {
		this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "cr-browser-"));
		this.data = path.join(this.dir, "data");
		this.synth = path.join(this.dir, "synth");
		cr(["init", "--data", this.data]);
		cr(["synth", "--customers", "200", "--overlap", "0.5", "--seed", "11", "--out", this.synth]);
		const issue = (role, tenant, name) => cr(["token", "issue", "--data", this.data, "--role", role, "--tenant", tenant, "--name", name]);
		this.admin = issue("admin", "ops", "root");
		this.brand = issue("brand", "acme", "acme-web");
		this.officer = issue("officer", "acme", "acme-dpo");
		this.ca = null;
		this.logPath = path.join(this.dir, "serve.log");
		const log = fs.openSync(this.logPath, "w");
		this.proc = spawn(CR, ["serve", "--data", this.data, "--listen", "127.0.0.1:0", "--threads", "2"],
			{ stdio: ["ignore", "ignore", log] });
		for (let i = 0; i < 100 && !this.url; i++) {
			await new Promise((r) => setTimeout(r, 100));
			const m = /"url":"(https:\/\/127\.0\.0\.1:\d+)"/.exec(fs.readFileSync(this.logPath, "utf8"));
			if (m)
				this.url = m[1];
		}
		if (!this.url)
			throw new Error("the service did not start: " + fs.readFileSync(this.logPath, "utf8"));
		this.ca = fs.readFileSync(path.join(this.data, "tls/cert.pem"));
		return this;
	}

	/* One API call: {status, text, json, headers}. */
	call(method, p, { token, json, body, type } = {}) {
		const payload = json !== undefined ? JSON.stringify(json) : body;
		const headers = {};
		if (token)
			headers.Authorization = "Bearer " + token;
		if (payload !== undefined) {
			headers["Content-Type"] = json !== undefined ? "application/json" : type;
			headers["Content-Length"] = Buffer.byteLength(payload);
		}
		return new Promise((resolve, reject) => {
			const req = https.request(this.url + p, { method, headers, ca: this.ca }, (res) => {
				const chunks = [];
				res.on("data", (c) => chunks.push(c));
				res.on("end", () => {
					const text = Buffer.concat(chunks).toString("utf8");
					let parsed = null;
					try { parsed = JSON.parse(text); } catch (e) { /* not JSON */ }
					resolve({ status: res.statusCode, text, json: parsed, headers: res.headers });
				});
			});
			req.on("error", reject);
			if (payload !== undefined)
				req.write(payload);
			req.end();
		});
	}

	async expect(status, method, p, opts) {
		const r = await this.call(method, p, opts);
		if (r.status !== status)
			throw new Error(`${method} ${p} -> ${r.status}, want ${status}: ${r.text}`);
		return r;
	}

	/* Brand, notice, consent events, a dataset and its upload, all from the synthetic files. */
	async seed() {
		const f = (n) => fs.readFileSync(path.join(this.synth, n), "utf8");
		await this.expect(201, "POST", "/v1/brands", { token: this.admin, json: { name: "acme" } });
		await this.expect(201, "POST", "/v1/brands/acme/notices?published_at=2026-01-01T00:00:00%2B08:00", { token: this.brand, body: f("notice.json"), type: "application/json" });
		await this.expect(200, "POST", "/v1/brands/acme/consents/batch", { token: this.brand, body: f("consent.ndjson"), type: "application/x-ndjson" });
		await this.expect(201, "POST", "/v1/brands/acme/impact-assessments", { token: this.brand, json: {
			ref: "PIA-1", covers: ["ads_measurement", "audience_insights"] } });
		await this.expect(201, "POST", "/v1/brands/acme/datasets", { token: this.brand, json: {
			name: "crm", purposes: ["ads_measurement", "audience_insights"], id_type: "email",
			columns: "segment:enum(a|b|c),region:enum(north|south|east|west|central),age_band:enum(18-24|25-34|35-44|45-54|55+),spend:int(0..10000)"
		} });
		await this.expect(200, "POST", "/v1/brands/acme/datasets/crm/ingest", { token: this.brand, body: f("customers.csv"), type: "text/csv" });
		this.customers = f("customers.csv").split("\n").slice(1).filter(Boolean).map((l) => l.split(",")[0]);
	}

	async status(digest) {
		const r = await this.expect(200, "GET", `/v1/brands/acme/subjects/${digest}/status?id_type=email`, { token: this.brand });
		return r.json.decisions;
	}

	async records() {
		return (await this.expect(200, "GET", "/v1/brands/acme/datasets/crm", { token: this.brand })).json.records;
	}

	/* The n-th customer whose every purpose and recipient is consented. */
	async consentedCustomer(skip = 0) {
		for (const email of this.customers.slice(0, 120)) {
			if (/gmail|googlemail/i.test(email))
				continue;
			const d = digestOf("email", email);
			const s = await this.status(d);
			if (s.length && s.every((x) => x.allowed) && skip-- === 0)
				return { email, digest: d };
		}
		throw new Error("no fully consented customer in the synthetic data");
	}

	accessLog() {
		return fs.readFileSync(this.logPath, "utf8");
	}

	stop() {
		if (this.proc)
			this.proc.kill("SIGKILL");
		fs.rmSync(this.dir, { recursive: true, force: true });
	}
}

/* Headless chromium with a context that accepts the service's self-signed certificate. */
async function browser() {
	const { chromium } = require("playwright-core");
	const b = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
	const ctx = await b.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
	const page = await ctx.newPage();
	const problems = [];
	page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
	page.on("pageerror", (e) => problems.push(String(e)));
	return { browser: b, page, problems };
}

async function screenshot(page, name) {
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	await page.screenshot({ path: path.join(ARTIFACTS, name + ".png"), fullPage: true });
}

/* Every form control has an accessible name (a label or aria-label). */
async function unlabelled(page) {
	return page.evaluate(() => Array.from(document.querySelectorAll("input, select, textarea"))
		.filter((e) => e.offsetParent !== null && e.type !== "hidden")
		.filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label"))
		.map((e) => e.id || e.name));
}

/*
 * Registers node:test hooks that start a seeded service and a browser
 * before a file's tests (then `prepare(svc)`, if given) and stop both after.
 * The returned object gets .svc and .b once the hook has run.
 */
function useService(test, prepare) {
	const ctx = {};
	test.before(async () => {
		ctx.svc = await new Service().start();
		await ctx.svc.seed();
		if (prepare)
			await prepare(ctx.svc, ctx);
		ctx.b = await browser();
	});
	test.after(async () => {
		if (ctx.b)
			await ctx.b.browser.close();
		if (ctx.svc)
			ctx.svc.stop();
	});
	return ctx;
}

/*
 * The service's normalization (crypto_id_normalize, through the filter
 * tests/tools/ident_normalize.c) of each [type, raw, country or null]:
 * {ok: normalized} or {refused: code}, in order.
 */
function serviceNormalize(cases) {
	const input = cases.map(([type, raw, country]) =>
		`${type}\t${country || "-"}\t${Buffer.from(raw, "utf8").toString("hex")}\n`).join("");
	const out = execFileSync(IDENT_NORMALIZE, { input, maxBuffer: 1 << 28, encoding: "utf8" });
	const lines = out.split("\n").filter(Boolean);
	if (lines.length !== cases.length)
		throw new Error(`ident_normalize answered ${lines.length} lines for ${cases.length} inputs`);
	return lines.map((l) => {
		const [what, value] = l.split("\t");
		return what === "ok" ? { ok: value } : { refused: value };
	});
}

/* The page's normalization of the same cases, in the same shape. */
function pageNormalize(cases) {
	return cases.map(([type, raw, country]) => {
		try {
			return { ok: ident.normalize(type, raw, country) };
		} catch (e) {
			if (!e.code)
				throw e;
			return { refused: e.code };
		}
	});
}

module.exports = { useService, Service, browser, screenshot, unlabelled, digestOf, strangerEmail, cr, CR, VECTORS, ARTIFACTS,
		   ident, serviceNormalize, pageNormalize, PHONE_EXAMPLES };
