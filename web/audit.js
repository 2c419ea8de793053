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
 *
 * Nor is the server's key: the console verifies with a key the officer
 * gives (pasted into the page, or in its URL fragment, /audit#key=<the
 * verifier key, URL-encoded>, which never reaches a server) or one it
 * pinned earlier. The pin is kept in localStorage per log origin (the
 * key's name): the key and the latest checkpoint verified with it. At
 * sign-in, and on "Check the log against the pin", the console compares the
 * server's key with the key in use and checks the server's latest
 * checkpoint against the pinned one (same root at the same size, or an
 * RFC 9162 consistency proof to a larger one); only then does the pin
 * advance; an entry's proof is held to the pinned checkpoint the same way.
 * A different key, a smaller log or an inconsistent checkpoint is
 * a warning on the page, never a silent switch: taking the new key or
 * checkpoint is the officer's explicit click, recorded in the pin log shown
 * on the page. Witness cosignatures (c2sp.org/tlog-cosignature) are not
 * checked: the service has no witnesses yet (docs/spec/audit-log.md 11), so
 * there is nothing real to check them against.
 */
(function () {
	"use strict";

	var TOKEN_KEY = "cr.audit.token", PINS_KEY = "cr.audit.pins", LOG_MAX = 100;
	/* vkeyText: the key verifications use (given or pinned), null when there is none. */
	var token = null, vkeyText = null, nextBefore = null, lastQuery = null;
	/* givenKey: the key the officer gave, with where from ("the page address", "the key field"). */
	var givenKey = null, givenFrom = null;
	/* Settles once the key in the page address, if any, is read. */
	var ready = Promise.resolve();

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
		if (!$("r-brand").value)
			$("r-brand").value = who.tenant || "";
		$("signin").hidden = true;
		$("console").hidden = false;
		return ready.then(checkPin);
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

	/* ------------------------------------------------- the pinned key */

	/* Every pin of this browser: { "<log origin>": {key, size, root, time, log: [{time, text}]} }. */
	function loadPins() {
		try {
			var p = JSON.parse(localStorage.getItem(PINS_KEY) || "{}");
			return p && typeof p === "object" ? p : {};
		} catch (e) {
			return {};
		}
	}
	function savePins(pins) { localStorage.setItem(PINS_KEY, JSON.stringify(pins)); }

	/* Appends a line to the pin log of `origin` (kept with the pin, shown on the page). */
	function logPin(pin, text) {
		pin.log = (pin.log || []).concat([{ time: new Date().toISOString(), text: text }]).slice(-LOG_MAX);
	}

	function renderPinLog(pin) {
		var ol = $("pin-log");
		ol.textContent = "";
		((pin && pin.log) || []).forEach(function (l) { ol.appendChild(el("li", {}, l.time + ": " + l.text)); });
	}

	/* The key's name (the log origin) if the text is a verifier key, else null. */
	async function keyName(text) {
		try {
			return (await window.crTlog.parseVerifierKey(text)).name;
		} catch (e) {
			return null;
		}
	}

	/* A warning with, when the officer may take what it is about, a button that does so. */
	function warn(text, accept) {
		var box = el("div", { "class": "error", role: "alert" });
		box.appendChild(el("p", {}, "Warning: " + text));
		if (accept) {
			var b = el("button", { type: "button", "class": "danger" }, accept.label);
			b.addEventListener("click", function () {
				b.disabled = true;
				accept.run();
				checkPin();
			});
			box.appendChild(el("p")).appendChild(b);
		}
		$("pin-warnings").appendChild(box);
	}

	/* Pins `key` for its log afresh (the officer's explicit choice, or a first key they gave). */
	function pinKey(origin, key, why) {
		var pins = loadPins(), pin = pins[origin] || { log: [] };
		if (pin.key)
			logPin(pin, why + ": now pinned " + key + " in place of " + pin.key +
			       (pin.size ? " (whose pinned checkpoint was size " + pin.size + ", root " + pin.root + ")" : ""));
		else
			logPin(pin, why + ": pinned " + key);
		pin.key = key;
		pin.time = new Date().toISOString();
		delete pin.size;
		delete pin.root;
		pins[origin] = pin;
		savePins(pins);
	}

	/* Makes `cp` (parsed, verified) the pinned checkpoint of `origin`, with a line in the pin log. */
	function pinCheckpoint(origin, cp, text) {
		var pins = loadPins(), pin = pins[origin];
		pin.size = String(cp.size);
		pin.root = window.crTlog.b64encode(cp.root);
		logPin(pin, text);
		savePins(pins);
	}

	/*
	 * The server's latest checkpoint against the pin of `origin`: the same
	 * root at the same size, or a consistency proof from the pinned size.
	 * Returns null when it holds (the pin then advances), else the warning.
	 */
	async function comparePinned(origin, cp) {
		var pin = loadPins()[origin], root = window.crTlog.b64encode(cp.root);
		if (!pin.size) {
			pinCheckpoint(origin, cp, "pinned checkpoint size " + cp.size + ", root " + root);
			return null;
		}
		var size = BigInt(pin.size), was = "the checkpoint pinned in this browser (size " + pin.size + ", root " + pin.root + ")";
		if (cp.size < size)
			return "the server's log (size " + cp.size + ") is smaller than " + was +
				": it was rolled back or replaced. The pin is kept.";
		if (cp.size === size) {
			if (root !== pin.root)
				return "the server's checkpoint of size " + cp.size + " has root " + root + ", not the root of " + was +
					": the log forked. The pin is kept.";
			return null;
		}
		try {
			var p = await apiJson("/v1/audit/proof/consistency?from=" + size + "&to=" + cp.size);
			await window.crTlog.verifyConsistency(size, cp.size, p.hashes.map(window.crTlog.b64decode),
				window.crTlog.b64decode(pin.root), cp.root);
		} catch (e) {
			return "the server's checkpoint (size " + cp.size + ", root " + root + ") is not consistent with " + was +
				" (" + e.message + "): the log forked or was rewritten. The pin is kept.";
		}
		pinCheckpoint(origin, cp, "advanced the pinned checkpoint from size " + pin.size + " to " + cp.size +
			" (consistency proof verified), root " + root);
		return null;
	}

	/*
	 * Settles the key to verify with and checks the server's latest
	 * checkpoint against the pin; every disagreement is a warning.
	 */
	async function checkPin() {
		var warnings = $("pin-warnings"), status = $("pin-status");
		var serverKey = null, origin, pins, pin, problems = 0;
		warnings.textContent = "";
		status.textContent = "Checking the key and the pinned checkpoint…";
		try {
			serverKey = (await apiText("/v1/audit/key")).trim();
		} catch (e) {
			serverKey = null;
		}
		var serverName = serverKey === null ? null : await keyName(serverKey);
		origin = givenKey ? await keyName(givenKey) : serverName;
		pins = loadPins();
		pin = origin !== null ? pins[origin] : undefined;

		if (givenKey && !pin) {
			pinKey(origin, givenKey, "key given in " + givenFrom);
			pin = loadPins()[origin];
		}
		vkeyText = givenKey || (pin && pin.key) || null;
		$("vkey").textContent = vkeyText ? "Verifying with the key " + (givenKey ? "you gave" : "pinned in this browser") +
			": " + vkeyText : "No verifier key: give the log's key below.";
		$("server-key").textContent = "The server offers the key: " + (serverKey === null ? "(none)" : serverKey);
		renderPinLog(pin);

		if (givenKey && pin && pin.key !== givenKey) {
			problems++;
			warn("the key you gave is not the key pinned for " + origin + " in this browser (" + pin.key +
			     "). The console verifies with the key you gave; the pin stays as it was until you accept.",
			     { label: "Pin the key I gave", run: function () { pinKey(origin, givenKey, "officer accepted the key given in " + givenFrom); } });
		}
		if (!vkeyText) {
			var others = Object.keys(pins).filter(function (o) { return o !== serverName; });
			problems++;
			warn("no key is pinned in this browser for the log " + (serverName || "(unknown)") + " and you gave none" +
			     (others.length ? "; this browser has pinned keys for " + others.join(", ") + " instead" : "") +
			     ". The server's key is not used until you check it against the key you hold and accept it, or give that key.",
			     serverName && { label: "Trust and pin the server's key", run: function () { pinKey(serverName, serverKey, "officer accepted the server's key"); } });
		} else if (serverKey !== vkeyText) {
			problems++;
			warn("the server offers the key " + (serverKey === null ? "(none)" : serverKey) + ", which is not the key in use (" +
			     vkeyText + "). The log may have been replaced; every check here uses the key in use, not the server's.",
			     serverName && { label: "Accept the server's key and re-pin", run: function () {
				     givenKey = null;
				     $("given-key").value = "";
				     pinKey(serverName, serverKey, "officer accepted a new key from the server");
			     } });
		}
		if (!vkeyText) {
			status.textContent = "";
			return;
		}

		var cp, note;
		try {
			var vkey = await window.crTlog.parseVerifierKey(vkeyText);
			note = await apiText("/v1/audit/checkpoint");
			cp = window.crTlog.parseCheckpoint(await window.crTlog.verifyNote(vkey, note));
			if (cp.origin !== vkey.name)
				throw new Error("the checkpoint is for the log '" + cp.origin + "', not '" + vkey.name + "'");
		} catch (e) {
			warn("the server's latest checkpoint does not verify with the key in use: " + e.message);
			status.textContent = "";
			return;
		}
		problems += await checkWitnesses(note);
		pin = loadPins()[origin];
		if (!pin || pin.key !== vkeyText) {
			status.textContent = "The server's latest checkpoint (size " + cp.size + ") verifies with the key you gave; " +
				"the pin does not move until that key is pinned.";
			return;
		}
		var why = await comparePinned(origin, cp), old = pin;
		if (why) {
			problems++;
			warn(why, { label: "Re-pin to the server's checkpoint", run: function () {
				pinCheckpoint(origin, cp, "officer re-pinned to checkpoint size " + cp.size + ", root " +
					window.crTlog.b64encode(cp.root) + " in place of size " + old.size + ", root " + old.root);
			} });
		}
		pin = loadPins()[origin];
		renderPinLog(pin);
		status.textContent = (problems ? problems + " warning(s) above. " : "The server's key and latest checkpoint agree with the pin. ") +
			"Pinned for " + origin + ": checkpoint size " + pin.size + ", root " + pin.root + ".";
	}

	/*
	 * The witnesses the officer named (#witness=<key>, repeatable): each
	 * must have cosigned the server's latest checkpoint (c2sp.org/
	 * tlog-cosignature, checked here with tlog.js). Returns the warnings.
	 */
	async function checkWitnesses(note) {
		var keys = fragmentValues("witness"), ul = $("witness-status"), problems = 0;
		ul.textContent = "";
		for (var i = 0; i < keys.length; i++) {
			try {
				var w = await window.crTlog.parseVerifierKey(keys[i], 4);
				var t = await window.crTlog.verifyCosignature(w, note);
				ul.appendChild(el("li", {}, "Witness " + w.name + " cosigned this checkpoint at " +
					new Date(Number(t) * 1000).toISOString() + "."));
			} catch (e) {
				problems++;
				warn("a witness you named has not cosigned the server's latest checkpoint: " + e.message +
				     ". Either it has not seen it yet, or the log shows you a history that witness refused.");
			}
		}
		return problems;
	}

	/* Every value of `name` in the page address's fragment, URL-decoded ('+' kept as is). */
	function fragmentValues(name) {
		var parts = location.hash.replace(/^#/, "").split("&"), out = [];
		for (var i = 0; i < parts.length; i++)
			if (parts[i].indexOf(name + "=") === 0) {
				try {
					var v = decodeURIComponent(parts[i].slice(name.length + 1)).trim();
					if (v)
						out.push(v);
				} catch (e) { /* a malformed value is ignored */ }
			}
		return out;
	}

	/* The key in the page address: #key=<URL-encoded verifier key> ('+' kept as is, not read as a space). */
	function fragmentKey() {
		var parts = location.hash.replace(/^#/, "").split("&");
		for (var i = 0; i < parts.length; i++)
			if (parts[i].indexOf("key=") === 0) {
				try {
					return decodeURIComponent(parts[i].slice(4)).trim() || null;
				} catch (e) {
					return null;
				}
			}
		return null;
	}

	async function giveKey(text, from) {
		if (await keyName(text) === null) {
			showError("The key " + from + " is not a verifier key (name+keyid+base64); it is not used.");
			return false;
		}
		givenKey = text;
		givenFrom = from;
		return true;
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
		if (!vkeyText) {
			verdict(false, "Rejected: no verifier key to verify with; give the log's key above.");
			return Promise.resolve();
		}
		verdict(true, "Verifying…");
		return window.crTlog.verifyTlogProof(vkeyText, $("proof").value).then(async function (r) {
			var pinned = await proofAgainstPin(r);
			verdict(true, "Verified: entry " + r.index + " is in the log of " + r.size +
				" entries whose root " + r.root + " is signed by " + r.origin + "." + pinned);
		}).catch(function (e) {
			verdict(false, "Rejected: " + e.message);
		});
	}

	/*
	 * A verified proof's checkpoint against the pin of its log, when the key
	 * in use is the pinned one: the same root at the pinned size, else a
	 * consistency proof between the two (either way round). Throws when they
	 * disagree; says what was checked otherwise.
	 */
	async function proofAgainstPin(r) {
		var pin = loadPins()[r.origin], t = window.crTlog;
		if (!pin || pin.key !== vkeyText || !pin.size)
			return " It is not compared with a pinned checkpoint (none is pinned for this key).";
		var size = BigInt(pin.size), was = "the checkpoint pinned in this browser (size " + pin.size + ")";
		if (r.size === size) {
			if (r.root !== pin.root)
				throw new Error("the proof's checkpoint has another root than " + was + " of the same size: the log forked");
		} else {
			var lo = r.size < size ? r : { size: size, root: pin.root }, hi = r.size < size ? { size: size, root: pin.root } : r;
			try {
				var p = await apiJson("/v1/audit/proof/consistency?from=" + lo.size + "&to=" + hi.size);
				await t.verifyConsistency(lo.size, hi.size, p.hashes.map(t.b64decode), t.b64decode(lo.root), t.b64decode(hi.root));
			} catch (e) {
				throw new Error("the proof's checkpoint (size " + r.size + ") is not consistent with " + was + ": " + e.message);
			}
		}
		return " Its checkpoint is consistent with " + was + ".";
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
			if (!vkeyText)
				throw new Error("no verifier key to verify with; give the log's key above");
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

	/* ------------------------------------------------------------ reports */

	/* A heading and a list of lines into the reports' output. */
	function reportList(out, title, lines) {
		out.appendChild(el("h3", {}, title));
		var ul = el("ul");
		(lines.length ? lines : ["none"]).forEach(function (l) { ul.appendChild(el("li", {}, l)); });
		out.appendChild(ul);
	}

	/* A link that saves `doc` as a JSON file (the form `cleanroom report verify` checks). */
	function reportDownload(out, doc, name) {
		var a = el("a", { download: name, href: URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)],
			{ type: "application/json" })) }, "Download " + name);
		out.appendChild(el("p")).appendChild(a);
	}

	function reportPath(kind) {
		return "/v1/brands/" + encodeURIComponent($("r-brand").value.trim()) + "/reports/" + kind;
	}

	function processingReport() {
		var out = $("r-out");
		showError("");
		out.textContent = "";
		$("r-status").textContent = "Loading the record of processing…";
		return apiJson(reportPath("processing")).then(function (r) {
			$("r-status").textContent = "Record of processing of " + r.brand + ", notice version " + r.notice.version +
				" (" + r.controller.name + ", " + r.controller.contact + ")";
			reportList(out, "Purposes", r.purposes.map(function (p) { return p.code + ": " + p.description; }));
			reportList(out, "Recipients", (r.recipients || []).map(function (x) {
				return x.id + " (" + x.name + ", " + x.country + ") for " + x.purpose + ": " + x.categories.join(", ");
			}));
			reportList(out, "Transfers abroad", r.transfers.map(function (x) { return x.recipient + " in " + x.country; }));
			reportList(out, "Datasets", r.datasets.map(function (d) { return d.name + ": " + d.purposes.join(", "); }));
			reportList(out, "Collaborations", r.collaborations.map(function (c) {
				return c.id + ": " + c.dataset + " with " + c.partner + ", k " + c.k + ", budget " + c.budget +
					" (spent " + c.budget_spent + ")";
			}));
			reportList(out, "Impact assessments", r.impact_assessments.map(function (x) {
				return x.kind + " " + x.ref + " of " + x.covers.join(", ") + ", " + x.assessed +
					(x.cross_border ? ", with their transfers abroad" : "");
			}));
			reportList(out, "Transfer mechanisms", (r.transfer_mechanisms || []).map(function (x) {
				return x.recipient + " (" + x.country + "): " + x.mechanism + ", " + x.ref;
			}));
			reportList(out, "Retention", [r.retention]);
			reportDownload(out, r, "processing-" + r.brand + ".json");
		}).catch(function (e) {
			$("r-status").textContent = "";
			showError("Record of processing refused: " + e.message);
		});
	}

	function complianceReport(ev) {
		var f = $("reports-form"), out = $("r-out");
		ev.preventDefault();
		showError("");
		out.textContent = "";
		var since = localTime(f.since.value) || "1970-01-01T00:00:00Z", until = localTime(f.until.value) ||
			new Date(Date.now() + 60000).toISOString();
		$("r-status").textContent = "Counting the log's entries…";
		return apiJson(reportPath("compliance") + "?" + new URLSearchParams({ since: since, until: until })).then(function (doc) {
			var r = doc.report, tb = el("tbody"), table = el("table");
			$("r-status").textContent = "Compliance report of " + r.brand + " over [" + r.since + ", " + r.until +
				"), under the checkpoint of " + r.tree_size + " entries";
			table.appendChild(el("thead")).appendChild(el("tr"));
			["Figure", "Value", "Entries", "Audit indices"].forEach(function (h) {
				table.firstChild.firstChild.appendChild(el("th", { scope: "col" }, h));
			});
			Object.keys(r.figures).forEach(function (k) {
				var fig = r.figures[k], tr = el("tr"), idx = fig.indices ? fig.indices.slice(0, 20).join(" ") +
					(fig.indices.length > 20 ? " …" : "") : "range " + fig.range.join("–");
				tr.appendChild(el("td", {}, k));
				tr.appendChild(el("td", {}, String(fig.total !== undefined ? fig.total : fig.count)));
				tr.appendChild(el("td", {}, String(fig.count)));
				tr.appendChild(el("td", { "class": "mono" }, idx));
				tb.appendChild(tr);
			});
			table.appendChild(tb);
			out.appendChild(table);
			reportList(out, "Budget spent per collaboration", r.budget_spent.map(function (b) {
				return "collaboration " + b.collaboration + ": epsilon " + b.epsilon + " (" + b.count + " entries)";
			}));
			reportDownload(out, doc, "compliance-" + r.brand + ".json");
		}).catch(function (e) {
			$("r-status").textContent = "";
			showError("Compliance report refused: " + e.message);
		});
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
		$("reports-form").addEventListener("submit", complianceReport);
		$("r-processing").addEventListener("click", processingReport);
		$("pin-check").addEventListener("click", function () { showError(""); checkPin(); });
		$("key-form").addEventListener("submit", function (ev) {
			ev.preventDefault();
			showError("");
			giveKey($("given-key").value.trim(), "the key field").then(function (ok) {
				if (ok && token)
					checkPin();
			});
		});
		var fromUrl = fragmentKey();
		if (fromUrl) {
			$("given-key").value = fromUrl;
			ready = giveKey(fromUrl, "the page address");
		}
		var saved = sessionStorage.getItem(TOKEN_KEY);
		if (saved)
			signIn(saved);
	}

	document.addEventListener("DOMContentLoaded", start);
})();
