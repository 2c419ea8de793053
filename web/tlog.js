/*
 * tlog.js: the audit log's proofs checked in the browser, so an officer
 * need not trust the server's word: RFC 6962 / RFC 9162 Merkle hashing with
 * WebCrypto SHA-256, inclusion and consistency proof verification (the
 * algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2, in the shape of
 * transparency-dev/merkle's verifier), C2SP signed-note verification with
 * WebCrypto Ed25519, C2SP tlog-checkpoint parsing, and the
 * c2sp.org/tlog-proof@v1 text the service exports (docs/spec/audit-log.md).
 * Sizes and indices are BigInt, so bit arithmetic is exact past 2^32.
 * Every check throws an Error whose message says what failed. Plain
 * script; also loads under node for the known-answer tests.
 */
(function (root) {
	"use strict";

	var subtle = root.crypto.subtle;
	var enc = new TextEncoder();

	function fail(why) { throw new Error(why); }

	function b64decode(s) {
		if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0)
			fail("not base64: " + s.slice(0, 16));
		var bin = atob(s), out = new Uint8Array(bin.length);
		for (var i = 0; i < bin.length; i++)
			out[i] = bin.charCodeAt(i);
		return out;
	}
	function b64encode(bytes) {
		var s = "";
		for (var i = 0; i < bytes.length; i++)
			s += String.fromCharCode(bytes[i]);
		return btoa(s);
	}
	function hex(bytes) {
		return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
	}
	function equal(a, b) {
		if (a.length !== b.length)
			return false;
		var d = 0;
		for (var i = 0; i < a.length; i++)
			d |= a[i] ^ b[i];
		return d === 0;
	}
	function concat(parts) {
		var n = 0, off = 0, out;
		parts.forEach(function (p) { n += p.length; });
		out = new Uint8Array(n);
		parts.forEach(function (p) { out.set(p, off); off += p.length; });
		return out;
	}
	function sha256(bytes) {
		return subtle.digest("SHA-256", bytes).then(function (b) { return new Uint8Array(b); });
	}

	/* RFC 6962 §2.1: leaf = H(0x00 || leaf), node = H(0x01 || left || right). */
	function hashLeaf(leaf) { return sha256(concat([new Uint8Array([0]), leaf])); }
	function hashChildren(l, r) { return sha256(concat([new Uint8Array([1]), l, r])); }

	function bitLen(n) { var k = 0; while (n > 0n) { k++; n >>= 1n; } return k; }
	function onesCount(n) { var k = 0; while (n > 0n) { k += Number(n & 1n); n >>= 1n; } return k; }
	function trailingZeros(n) { var k = 0; while (n > 0n && (n & 1n) === 0n) { k++; n >>= 1n; } return k; }

	/* How many proof hashes are inside the subtree of `index` and how many on the border. */
	function decomp(index, size) {
		var inner = bitLen(index ^ (size - 1n));
		return { inner: inner, border: onesCount(index >> BigInt(inner)) };
	}
	async function chainInner(seed, proof, index) {
		for (var i = 0; i < proof.length; i++)
			seed = ((index >> BigInt(i)) & 1n) === 0n ? await hashChildren(seed, proof[i]) : await hashChildren(proof[i], seed);
		return seed;
	}
	async function chainInnerRight(seed, proof, index) {
		for (var i = 0; i < proof.length; i++)
			if (((index >> BigInt(i)) & 1n) === 1n)
				seed = await hashChildren(proof[i], seed);
		return seed;
	}
	async function chainBorderRight(seed, proof) {
		for (var i = 0; i < proof.length; i++)
			seed = await hashChildren(proof[i], seed);
		return seed;
	}

	/* Every hash a proof check takes is 32 bytes. */
	function hashes(list) {
		list.forEach(function (h) {
			if (!(h instanceof Uint8Array) || h.length !== 32)
				fail("a hash is not 32 bytes");
		});
	}

	/* RFC 9162 §2.1.3.2. */
	async function verifyInclusion(index, size, leafHash, proof, rootHash) {
		index = BigInt(index);
		size = BigInt(size);
		hashes([leafHash, rootHash].concat(proof));
		if (index >= size)
			fail("index " + index + " is outside a tree of size " + size);
		var d = decomp(index, size);
		if (proof.length !== d.inner + d.border)
			fail("the proof has " + proof.length + " hashes; a proof of entry " + index + " in a tree of " + size + " has " + (d.inner + d.border));
		var r = await chainInner(leafHash, proof.slice(0, d.inner), index);
		r = await chainBorderRight(r, proof.slice(d.inner));
		if (!equal(r, rootHash))
			fail("the recomputed root " + b64encode(r) + " is not the signed root " + b64encode(rootHash));
	}

	/* RFC 9162 §2.1.4.2. */
	async function verifyConsistency(size1, size2, proof, root1, root2) {
		size1 = BigInt(size1);
		size2 = BigInt(size2);
		hashes(proof);
		if (size1 === 0n)
			fail("a consistency proof starts from a tree of at least one entry");
		if (size2 < size1)
			fail("size " + size2 + " is smaller than " + size1);
		if (size1 === size2) {
			if (proof.length > 0)
				fail("a proof between equal sizes must be empty");
			if (!equal(root1, root2))
				fail("two different roots for one tree size: the log forked");
			return;
		}
		if (proof.length === 0)
			fail("the consistency proof is empty");
		var d = decomp(size1 - 1n, size2), shift = trailingZeros(size1), inner = d.inner - shift;
		var seed = proof[0], start = 1;
		if (size1 === 1n << BigInt(shift)) {
			seed = root1;
			start = 0;
		}
		if (proof.length !== start + inner + d.border)
			fail("the proof has " + proof.length + " hashes, " + (start + inner + d.border) + " expected");
		var rest = proof.slice(start), mask = (size1 - 1n) >> BigInt(shift);
		var h1 = await chainBorderRight(await chainInnerRight(seed, rest.slice(0, inner), mask), rest.slice(inner));
		if (!equal(h1, root1))
			fail("the proof does not reproduce the root of size " + size1);
		var h2 = await chainBorderRight(await chainInner(seed, rest.slice(0, inner), mask), rest.slice(inner));
		if (!equal(h2, root2))
			fail("the proof does not reproduce the root of size " + size2);
	}

	/*
	 * "<name>+<hex key id>+<base64(alg || public key)>", key id checked: a
	 * log's note key (alg 0x01) or, with alg 4, a witness's cosigner key
	 * (c2sp.org/tlog-cosignature).
	 */
	async function parseVerifierKey(text, alg) {
		alg = alg || 1;
		/* The name holds no '+'; the base64 may. */
		var t = text.trim(), i = t.indexOf("+"), j = t.indexOf("+", i + 1);
		var parts = i > 0 && j > i ? [t.slice(0, i), t.slice(i + 1, j), t.slice(j + 1)] : [];
		if (parts.length !== 3 || !/^[0-9a-f]{8}$/.test(parts[1]))
			fail("not a verifier key (name+keyid+base64)");
		var raw = b64decode(parts[2]);
		if (raw.length !== 33 || raw[0] !== alg)
			fail(alg === 1 ? "the verifier key is not an Ed25519 key" : "not a witness (cosigner) key");
		var id = (await sha256(concat([enc.encode(parts[0]), new Uint8Array([0x0a]), raw]))).slice(0, 4);
		if (hex(id) !== parts[1])
			fail("the verifier key's id does not match its key");
		return { name: parts[0], keyId: id, publicKey: raw.slice(1) };
	}

	/* Ed25519 through WebCrypto (Chromium 113+ behind a flag, on by default since 137). */
	async function ed25519Verify(publicKey, sig, msg) {
		var key;
		try {
			key = await subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
		} catch (e) {
			fail("this browser's WebCrypto has no Ed25519; the signature cannot be checked here");
		}
		return subtle.verify({ name: "Ed25519" }, key, sig, msg);
	}

	/* A C2SP signed note: returns its text once a signature line by `vkey` verifies. */
	/* A signed note's text (ending in its newline) and its signature lines. */
	function splitNote(note) {
		var cut = note.indexOf("\n\n");
		if (cut < 0 || note.slice(-1) !== "\n")
			fail("not a signed note");
		return { text: note.slice(0, cut + 1), lines: note.slice(cut + 2).split("\n").slice(0, -1) };
	}

	async function verifyNote(vkey, note) {
		var parts = splitNote(note), text = parts.text, lines = parts.lines;
		for (var i = 0; i < lines.length; i++) {
			var m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(lines[i]);
			if (!m)
				fail("malformed signature line " + (i + 1));
			if (m[1] !== vkey.name)
				continue;
			var blob = b64decode(m[2]);
			if (blob.length !== 68 || !equal(blob.slice(0, 4), vkey.keyId))
				continue;
			if (await ed25519Verify(vkey.publicKey, blob.slice(4), enc.encode(text)))
				return text;
			fail("the checkpoint signature does not verify");
		}
		fail("no signature by " + vkey.name + " on the note");
	}

	/*
	 * A witness's cosignature on a signed checkpoint note
	 * (c2sp.org/tlog-cosignature v1): a signature line by `wkey` (its name and
	 * key id) whose blob is key id || 8-byte big-endian time || Ed25519
	 * signature over "cosignature/v1\ntime <time>\n" and the note's text.
	 * Returns the time (POSIX seconds, a BigInt).
	 */
	async function verifyCosignature(wkey, note) {
		var parts = splitNote(note), text = parts.text, lines = parts.lines;
		for (var i = 0; i < lines.length; i++) {
			var m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(lines[i]);
			if (!m || m[1] !== wkey.name)
				continue;
			var blob = b64decode(m[2]);
			if (blob.length !== 76 || !equal(blob.slice(0, 4), wkey.keyId))
				continue;
			var t = 0n;
			for (var j = 4; j < 12; j++)
				t = (t << 8n) | BigInt(blob[j]);
			var msg = enc.encode("cosignature/v1\ntime " + t.toString() + "\n" + text);
			if (await ed25519Verify(wkey.publicKey, blob.slice(12), msg))
				return t;
			fail("the cosignature by " + wkey.name + " does not verify");
		}
		fail("no cosignature by " + wkey.name + " on the checkpoint");
	}

	/* "<origin>\n<size>\n<base64 root>\n" (extension lines allowed after). */
	function parseCheckpoint(text) {
		var l = text.split("\n");
		if (l.length < 4 || !/^(0|[1-9][0-9]*)$/.test(l[1]))
			fail("malformed checkpoint");
		var rootHash = b64decode(l[2]);
		if (rootHash.length !== 32)
			fail("the checkpoint root is not 32 bytes");
		return { origin: l[0], size: BigInt(l[1]), root: rootHash };
	}

	/* c2sp.org/tlog-proof@v1 with the leaf in its extra line. */
	function parseTlogProof(text) {
		var cut = text.indexOf("\n\n");
		if (cut < 0)
			fail("malformed tlog-proof: no empty line before the checkpoint");
		var l = text.slice(0, cut).split("\n"), i = 1, out = { extra: null, proof: [] };
		if (l[0] !== "c2sp.org/tlog-proof@v1")
			fail("not a c2sp.org/tlog-proof@v1 text");
		if (l[i] && l[i].indexOf("extra ") === 0)
			out.extra = b64decode(l[i++].slice(6));
		var m = /^index (0|[1-9][0-9]*)$/.exec(l[i++] || "");
		if (!m)
			fail("malformed tlog-proof: no index line");
		out.index = BigInt(m[1]);
		for (; i < l.length; i++) {
			var h = b64decode(l[i]);
			if (h.length !== 32)
				fail("proof hash " + (out.proof.length + 1) + " is not 32 bytes");
			out.proof.push(h);
		}
		out.note = text.slice(cut + 2);
		return out;
	}

	/*
	 * The whole offline check of a tlog-proof, as `cleanroom audit verify-proof`
	 * does it. The checkpoint's origin must be `origin`, or by default the
	 * verifier key's name (the log's origin, c2sp.org/tlog-checkpoint): a key
	 * that also signs another log's checkpoints must not vouch for them here.
	 */
	async function verifyTlogProof(vkeyText, proofText, origin) {
		var vkey = await parseVerifierKey(vkeyText), p = parseTlogProof(proofText);
		var cp = parseCheckpoint(await verifyNote(vkey, p.note));
		var want = origin === undefined || origin === null || origin === "" ? vkey.name : origin;
		if (cp.origin !== want)
			fail("the checkpoint is for the log '" + cp.origin + "', not '" + want + "'");
		if (!p.extra)
			fail("the proof carries no leaf");
		if (p.extra.length < 9 || p.extra[0] !== 1)
			fail("the leaf is not a version 1 entry");
		var seq = 0n;
		for (var i = 1; i < 9; i++)
			seq = (seq << 8n) | BigInt(p.extra[i]);
		if (seq !== p.index)
			fail("the leaf says entry " + seq + ", the proof says " + p.index);
		await verifyInclusion(p.index, cp.size, await hashLeaf(p.extra), p.proof, cp.root);
		return { index: p.index, size: cp.size, origin: cp.origin, root: b64encode(cp.root) };
	}

	var api = {
		b64decode: b64decode, b64encode: b64encode, hashLeaf: hashLeaf, hashChildren: hashChildren,
		verifyInclusion: verifyInclusion, verifyConsistency: verifyConsistency,
		parseVerifierKey: parseVerifierKey, verifyNote: verifyNote, verifyCosignature: verifyCosignature,
		parseCheckpoint: parseCheckpoint,
		parseTlogProof: parseTlogProof, verifyTlogProof: verifyTlogProof
	};
	root.crTlog = api;
	if (typeof module !== "undefined" && module.exports)
		module.exports = api;
})(typeof window !== "undefined" ? window : globalThis);
