/*
 * tlog.test.js: the audit console's verifier (web/tlog.js) against the
 * published vectors, before any browser is involved: every inclusion and
 * consistency case of tests/vectors/merkle (each wantErr case must be
 * rejected) and the signed-note known answer of tests/vectors/signed-note.
 */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const os = require("node:os");
const { spawn } = require("node:child_process");
const { VECTORS, cr, CR } = require("./harness");
const t = require("../../web/tlog.js");

function cases(kind) {
	const walk = (d) => fs.readdirSync(d, { withFileTypes: true })
		.flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
	return walk(path.join(VECTORS, "merkle", kind)).filter((f) => f.endsWith(".json"));
}

async function outcome(fn) {
	try { await fn(); return "accepted"; } catch (e) { return "rejected"; }
}

test("RFC 9162 inclusion proofs: tests/vectors/merkle/inclusion", async () => {
	const files = cases("inclusion");
	assert.ok(files.length > 20);
	for (const f of files) {
		const c = JSON.parse(fs.readFileSync(f, "utf8"));
		const got = await outcome(() => t.verifyInclusion(c.leafIdx, c.treeSize, t.b64decode(c.leafHash),
			(c.proof || []).map(t.b64decode), t.b64decode(c.root)));
		assert.equal(got, c.wantErr ? "rejected" : "accepted", f);
	}
});

test("RFC 9162 consistency proofs: tests/vectors/merkle/consistency", async () => {
	const files = cases("consistency");
	assert.ok(files.length > 20);
	for (const f of files) {
		const c = JSON.parse(fs.readFileSync(f, "utf8"));
		const got = await outcome(() => t.verifyConsistency(c.size1, c.size2, (c.proof || []).map(t.b64decode),
			t.b64decode(c.root1), t.b64decode(c.root2)));
		assert.equal(got, c.wantErr ? "rejected" : "accepted", f);
	}
});

test("C2SP signed note: the Go reference known answer verifies, a changed byte does not", async () => {
	const readme = fs.readFileSync(path.join(VECTORS, "signed-note/known-answers.md"), "utf8");
	const vkey = /verifier: (PeterNeumann\+\S+)/.exec(readme)[1];
	const sig = /(\u2014 PeterNeumann \S+)/.exec(readme)[1];
	const text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
	const k = await t.parseVerifierKey(vkey);
	assert.equal(await t.verifyNote(k, text + "\n" + sig + "\n"), text);
	assert.equal(await outcome(() => t.verifyNote(k, text.replace("answer", "Answer") + "\n" + sig + "\n")), "rejected");
	assert.equal(await outcome(() => t.parseVerifierKey(vkey.replace("c74f20a3", "c74f20a4"))), "rejected");
});

/*
 * A key that also signs another log's checkpoints: a proof in that other log
 * verifies its signature but is refused, since the key's name is the origin
 * of the log it vouches for (issue 19); naming that origin explicitly is the
 * officer's own choice.
 */
test("verifyTlogProof: a checkpoint of another log than the key's is refused", async () => {
	const crypto = require("node:crypto");
	const name = "log.example/ours";
	const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
	const pk = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
	const keyId = crypto.createHash("sha256").update(Buffer.concat([Buffer.from(name + "\n"), Buffer.from([1]), pk]))
		.digest().subarray(0, 4);
	const vkey = name + "+" + keyId.toString("hex") + "+" + Buffer.concat([Buffer.from([1]), pk]).toString("base64");
	const leaf = new Uint8Array(9);
	leaf[0] = 1; /* a version 1 entry, sequence 0 */
	const root = Buffer.from(await t.hashLeaf(leaf)).toString("base64");
	const proofIn = (origin) => {
		const body = origin + "\n1\n" + root + "\n";
		const sig = crypto.sign(null, Buffer.from(body), privateKey);
		const note = body + "\n\u2014 " + name + " " + Buffer.concat([keyId, sig]).toString("base64") + "\n";
		return "c2sp.org/tlog-proof@v1\nextra " + Buffer.from(leaf).toString("base64") + "\nindex 0\n\n" + note;
	};
	assert.equal((await t.verifyTlogProof(vkey, proofIn(name))).origin, name);
	await assert.rejects(() => t.verifyTlogProof(vkey, proofIn("log.example/other")), /another log|not 'log.example\/ours'/);
	assert.equal((await t.verifyTlogProof(vkey, proofIn("log.example/other"), "log.example/other")).origin,
		"log.example/other");
});

/* Waits for `re` in a child's stderr; resolves with the match. */
function waitFor(child, re, ms) {
	return new Promise((resolve, reject) => {
		let buf = "";
		const t = setTimeout(() => reject(new Error("timed out waiting for " + re + ": " + buf)), ms);
		child.stderr.on("data", (d) => {
			buf += d;
			const m = re.exec(buf);
			if (m) { clearTimeout(t); resolve(m); }
		});
	});
}

/*
 * c2sp.org/tlog-cosignature across implementations: a witness (C,
 * `cleanroom witness serve`) cosigns a checkpoint `serve --witness` sends
 * it; the console's verifier (tlog.js) accepts that cosignature with the
 * witness's key, and refuses it with another witness's key, on a changed
 * byte, and a log key as a cosigner key.
 */
test("C2SP tlog-cosignature: a C witness's cosignature verifies in tlog.js, and only it", async () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cr-cosig-"));
	const d = path.join(dir, "d"), w = path.join(dir, "w"), w2 = path.join(dir, "w2");
	const kids = [];
	try {
		cr(["init", "--data", d]);
		const key = cr(["audit", "key", "--data", d]);
		const wkey = cr(["witness", "init", "--dir", w, "--name", "witness.test/w1"]);
		const other = cr(["witness", "init", "--dir", w2, "--name", "witness.test/w1"]);
		cr(["witness", "add-log", "--dir", w, "--key", key]);
		const wit = spawn(CR, ["witness", "serve", "--dir", w, "--listen", "127.0.0.1:0"]);
		kids.push(wit);
		const url = (await waitFor(wit, /"url":"(http:[^"]+)"/, 10000))[1];
		const srv = spawn(CR, ["serve", "--data", d, "--insecure-http", "--listen", "127.0.0.1:0", "--witness", url + "," + wkey]);
		kids.push(srv);
		await waitFor(srv, /"message":"listening"/, 10000);
		cr(["brand", "create", "acme", "--data", d]);
		let note = "";
		for (let i = 0; i < 50 && !/^\u2014 witness\.test\/w1 /m.test(note); i++) {
			await new Promise((r) => setTimeout(r, 200));
			note = cr(["audit", "checkpoint", "--data", d]) + "\n";
		}
		assert.match(note, /^\u2014 witness\.test\/w1 /m, "the checkpoint was cosigned");
		const wk = await t.parseVerifierKey(wkey, 4);
		const when = await t.verifyCosignature(wk, note);
		assert.ok(when > 1700000000n && when < 4000000000n, "a plausible time: " + when);
		/* the log's own signature still verifies, cosignature lines and all */
		await t.verifyNote(await t.parseVerifierKey(key), note);
		assert.equal(await outcome(async () => t.verifyCosignature(await t.parseVerifierKey(other, 4), note)), "rejected");
		assert.equal(await outcome(() => t.verifyCosignature(wk, note.replace("\n2\n", "\n3\n"))), "rejected");
		assert.equal(await outcome(() => t.parseVerifierKey(key, 4)), "rejected");
		assert.equal(await outcome(() => t.parseVerifierKey(wkey)), "rejected");
	} finally {
		for (const k of kids)
			k.kill("SIGTERM");
		fs.rmSync(dir, { recursive: true, force: true });
	}
});
