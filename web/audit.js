/*
 * audit.js: the audit console (audit.html) for compliance officers.
 *
 * The officer's token is typed into the page, kept in sessionStorage (this
 * tab only) and sent as "Authorization: Bearer", never in a URL. The page
 * searches the log (POST /v1/audit/search: a subject is hashed here and
 * only its digest is sent, in the body), opens an entry with its inclusion
 * proof and verifies that proof in the browser (tlog.js: SHA-256 Merkle
 * hashing, Ed25519 checkpoint signature, the log's verifier key), and walks
 * the checkpoint history checking each signature and each consistency
 * proof to the next checkpoint. The server's own verdict is never used.
 */
(function () {
	"use strict";

	var TOKEN_KEY = "cr.audit.token";
	var token = null, vkeyText = null, nextBefore = null, lastQuery = null;

	var $ = window.crDom.$, el = window.crDom.el, showError = window.crDom.showError;

	/* A call with the officer's token; resolves with the Response, rejects with the error code. */
	function api(path, opts) {
		opts = opts || {};
		opts.headers = Object.assign({ Authorization: "Bearer " + token }, opts.headers || {});
		opts.credentials = "omit";
		opts.cache = "no-store";
		return fetch(path, opts).then(function (r) {
			if (r.ok)
				return r;
			return r.json().catch(function () { return {}; }).then(function (j) {
				throw new Error((j.error && j.error.code) || ("http_" + r.status));
			});
		});
	}
	function apiJson(path, opts) { return api(path, opts).then(function (r) { return r.json(); }); }
	function apiText(path) { return api(path).then(function (r) { return r.text(); }); }

	/* ------------------------------------------------------------ sign in */

	function signedIn(who) {
		$("who").textContent = who.role + " of " + who.tenant;
		$("signin").hidden = true;
		$("console").hidden = false;
		return apiText("/v1/audit/key").then(function (k) {
			vkeyText = k.trim();
			$("vkey").textContent = "Verifier key: " + vkeyText;
		});
	}

	function signIn(t) {
		token = t;
		return apiJson("/v1/whoami").then(function (who) {
			sessionStorage.setItem(TOKEN_KEY, t);
			return signedIn(who);
		}).catch(function (e) {
			token = null;
			sessionStorage.removeItem(TOKEN_KEY);
			showError("Sign-in refused: " + e.message);
		});
	}

	function signOut() {
		sessionStorage.removeItem(TOKEN_KEY);
		token = null;
		$("console").hidden = true;
		$("signin").hidden = false;
		$("who").textContent = "";
		$("token").value = "";
		$("token").focus();
	}

	/* ------------------------------------------------------------- search */

	function localTime(v) { return v ? new Date(v).toISOString() : undefined; }

	/* The subject field as a digest: a 64-hex value as is, else normalized and hashed here. */
	function subjectDigest(idType, value) {
		value = value.trim();
		if (!value)
			return Promise.resolve(null);
		if (/^[0-9a-fA-F]{64}$/.test(value))
			return Promise.resolve(value.toLowerCase());
		return window.crIdent.digest(window.crIdent.normalize(idType, value, null));
	}

	function renderEntries(page, append) {
		var tb = $("results").querySelector("tbody");
		if (!append)
			tb.textContent = "";
		page.entries.forEach(function (e) {
			var tr = el("tr"), td = el("td"), b = el("button", { type: "button", "class": "secondary",
				"aria-label": "Open entry " + e.index }, "Open");
			b.addEventListener("click", function () { openEntry(e); });
			tr.appendChild(el("td", {}, String(e.index)));
			tr.appendChild(el("td", {}, e.time));
			tr.appendChild(el("td", {}, e.type));
			tr.appendChild(el("td", {}, e.actor_role + " " + e.actor_id));
			tr.appendChild(el("td", { "class": "mono" }, e.detail));
			td.appendChild(b);
			tr.appendChild(td);
			tb.appendChild(tr);
		});
		$("results").hidden = tb.children.length === 0;
		$("results-status").textContent = tb.children.length + " entr" + (tb.children.length === 1 ? "y" : "ies") + " shown";
		nextBefore = page.more ? page.next_before : null;
		$("more").hidden = nextBefore === null;
	}

	function runSearch(q, append) {
		showError("");
		return apiJson("/v1/audit/search", {
			method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(q)
		}).then(function (page) { renderEntries(page, append); }).catch(function (e) { showError("Search refused: " + e.message); });
	}

	function search(ev) {
		var f = ev.target;
		ev.preventDefault();
		$("results-status").textContent = "Searching…";
		subjectDigest(f.id_type.value, f.subject.value).then(function (digest) {
			var q = { limit: 50 };
			if (f.type.value.trim())
				q.type = f.type.value.trim();
			if (f.since.value)
				q.since = localTime(f.since.value);
			if (f.until.value)
				q.until = localTime(f.until.value);
			if (digest) {
				q.subject = digest;
				q.id_type = f.id_type.value;
			}
			lastQuery = q;
			return runSearch(q, false);
		}).catch(function (e) {
			$("results-status").textContent = "";
			showError("The subject is not a valid " + f.id_type.value + ": " + (e.code || e.message));
		});
	}

	function more() {
		if (lastQuery === null || nextBefore === null)
			return;
		runSearch(Object.assign({}, lastQuery, { before: nextBefore }), true);
	}

	/* -------------------------------------------------------------- entry */

	function openEntry(e) {
		showError("");
		$("entry-heading").textContent = "Entry " + e.index;
		$("entry-json").textContent = JSON.stringify(e, null, 2);
		$("verdict").textContent = "";
		$("verdict").className = "";
		$("proof").value = "";
		$("entry").hidden = false;
		$("entry-heading").focus();
		return apiText("/v1/audit/proof/inclusion?index=" + encodeURIComponent(e.index)).then(function (p) {
			$("proof").value = p;
		}).catch(function (err) { showError("No proof: " + err.message); });
	}

	function verdict(ok, text) {
		$("verdict").className = ok ? "verdict-ok" : "verdict-bad";
		$("verdict").textContent = text;
	}

	function verifyProof() {
		verdict(true, "Verifying…");
		return window.crTlog.verifyTlogProof(vkeyText, $("proof").value).then(function (r) {
			verdict(true, "Verified: entry " + r.index + " is in the log of " + r.size +
				" entries whose root " + r.root + " is signed by " + r.origin + ".");
		}).catch(function (e) {
			verdict(false, "Rejected: " + e.message);
		});
	}

	/* -------------------------------------------------------- checkpoints */

	async function checkpointRow(tb, cp, vkey) {
		var tr = el("tr"), sig = el("td"), cons = el("td", {}, "—"), parsed = null;
		tr.appendChild(el("td", {}, String(cp.size)));
		tr.appendChild(el("td", {}, cp.time));
		try {
			parsed = window.crTlog.parseCheckpoint(await window.crTlog.verifyNote(vkey, cp.note));
			if (parsed.size !== BigInt(cp.size))
				throw new Error("the note is for size " + parsed.size);
			tr.appendChild(el("td", { "class": "mono" }, window.crTlog.b64encode(parsed.root)));
			sig.textContent = "valid";
			sig.className = "status-ok";
		} catch (e) {
			tr.appendChild(el("td", {}, ""));
			sig.textContent = "INVALID: " + e.message;
			sig.className = "status-no";
		}
		tr.appendChild(sig);
		tr.appendChild(cons);
		tb.appendChild(tr);
		return { parsed: parsed, cell: cons };
	}

	async function checkConsistency(older, newer) {
		if (!older.parsed || !newer.parsed) {
			older.cell.textContent = "not checked (bad signature)";
			older.cell.className = "status-no";
			return false;
		}
		try {
			var p = await apiJson("/v1/audit/proof/consistency?from=" + older.parsed.size + "&to=" + newer.parsed.size);
			await window.crTlog.verifyConsistency(older.parsed.size, newer.parsed.size,
				p.hashes.map(window.crTlog.b64decode), older.parsed.root, newer.parsed.root);
			older.cell.textContent = "consistent with " + newer.parsed.size;
			older.cell.className = "status-ok";
			return true;
		} catch (e) {
			older.cell.textContent = "INCONSISTENT: " + e.message;
			older.cell.className = "status-no";
			return false;
		}
	}

	async function checkpoints() {
		var tb = $("cp-table").querySelector("tbody"), rows = [], bad = 0, vkey;
		showError("");
		tb.textContent = "";
		$("cp-status").textContent = "Checking…";
		try {
			vkey = await window.crTlog.parseVerifierKey(vkeyText);
			var page = await apiJson("/v1/audit/checkpoints?limit=20");
			for (var i = 0; i < page.checkpoints.length; i++)
				rows.push(await checkpointRow(tb, page.checkpoints[i], vkey));
			$("cp-table").hidden = false;
			rows.forEach(function (r) { if (!r.parsed) bad++; });
			/* newest first: row i+1 is older than row i */
			for (var k = 0; k + 1 < rows.length; k++)
				if (!(await checkConsistency(rows[k + 1], rows[k])))
					bad++;
			$("cp-status").textContent = rows.length + " checkpoints checked: " +
				(bad ? bad + " problem(s) found" : "every signature valid, each consistent with the next");
		} catch (e) {
			$("cp-status").textContent = "";
			showError("Checkpoint check failed: " + e.message);
		}
	}

	/* -------------------------------------------------------------- start */

	function start() {
		$("signin-form").addEventListener("submit", function (ev) {
			ev.preventDefault();
			showError("");
			signIn($("token").value.trim());
		});
		$("signout").addEventListener("click", signOut);
		$("search-form").addEventListener("submit", search);
		$("more").addEventListener("click", more);
		$("verify").addEventListener("click", verifyProof);
		$("checkpoints").addEventListener("click", checkpoints);
		var saved = sessionStorage.getItem(TOKEN_KEY);
		if (saved)
			signIn(saved);
	}

	document.addEventListener("DOMContentLoaded", start);
})();
