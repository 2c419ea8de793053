/*
 * consent.js: the consent center (consent.html).
 *
 * With a personal link the token arrives in the URL fragment (/consent#crl1...),
 * which browsers never send to a server. The page moves it to sessionStorage
 * and drops it from the address bar, then asks POST /web/v1/link what to
 * show: the brand, the notice versions the person was shown (in the
 * notice's language, zh-CN or en) and each purpose and recipient with its
 * status. One button withdraws one purpose or recipient, one withdraws
 * everything: one click each, as the grant was one act (R17). The answer
 * carries the signed receipt, shown and offered as a download.
 *
 * Without a link the page offers the anonymous form: the email or phone is
 * normalized and hashed here (ident.js) and only the digest is sent; the
 * service answers the same whoever the person is.
 */
(function () {
	"use strict";

	var T = {
		en: {
			title: "Consent center", skip: "Skip to content", lang_other: "中文",
			notices: "Privacy notices you were shown", choices: "Your choices",
			choices_caption: "Each purpose, and each recipient your data may be shared with",
			col_scope: "Purpose or recipient", col_status: "Status", col_action: "Action",
			withdraw_all: "Withdraw all consent", withdraw: "Withdraw",
			receipt_heading: "Your withdrawal receipt", download: "Download the receipt",
			receipt_show: "Show the signed receipt",
			access_heading: "Your data", access: "Download my data",
			access_intro: "Download everything the brand records about you: your consent history with its signed receipts, and what it holds in each dataset today.",
			access_done: "Downloaded: {e} consent event(s), {r} receipt(s), and {h} record(s) the brand holds about you.",
			object_heading: "Object to marketing", object: "Object to marketing",
			object_intro: "Stops every use of your data for marketing, at once, and deletes what only marketing needed.",
			objected: "Objection recorded. It took effect at once; {n} stored record(s) about you were deleted.",
			objected_dup: "Your objection was already on record.",
			erase_heading: "Erase my data", erase: "Erase my data",
			erase_intro: "Withdraws every consent, deletes every record the brand holds about you and removes you from the audit log's index, so that no entry of it can be tied to you again. Kept: the record of your past consent choices under a keyed pseudonym (evidence that past processing was lawful), and a note that keeps a later upload of you out.",
			erase_sure: "This cannot be undone. Erase your data now?", erase_yes: "Yes, erase", erase_no: "Cancel",
			erased: "Erased. {n} stored record(s) about you were deleted and the audit log can no longer be tied to you. Kept: your past consent choices under a keyed pseudonym, and a note that keeps a later upload of you out.",
			erase_receipt_heading: "Your erasure receipt",
			anon_heading: "Withdraw without a link",
			anon_intro: "Type the email or phone number the brand knows you by. It is normalized and hashed on this page; only the hash is sent.",
			brand: "Brand", id_type: "I am known by my", email: "email", phone: "phone number",
			identifier: "Email or phone number",
			identifier_help: "Write a phone number with + and its country code, such as +86 138 0013 8000, or choose its country below.",
			country: "Country for a phone number without +", none: "none", anon_submit: "Withdraw all consent",
			given: "Consent given", not_given: "No consent", recipient: "Sharing with",
			version: "Version", served: "shown on", language: "language", controller: "from",
			expires: "This link is valid until", loading: "Loading…",
			withdrawn: "Withdrawn. It took effect at once; {n} stored record(s) about you were deleted.",
			withdrawn_dup: "This was already withdrawn.",
			anon_done: "Received. If {brand} holds data about you, your consent is withdrawn and that data deleted, effective now.",
			bad_input: "Please check what you typed: ", sending: "Sending…",
			err_link_invalid: "This link is not valid. Ask the brand for a new one.",
			err_link_expired: "This link has expired. Ask the brand for a new one.",
			err_rate: "Too many attempts. Please wait a moment and try again.",
			err_brand: "There is no such brand on this service.",
			err_other: "Something went wrong: ",
			reason_NOT_GIVEN: "No consent", reason_WITHDRAWN: "Withdrawn", reason_REFUSED: "Refused",
			reason_EXPIRED: "Expired", reason_OBJECTED: "Objected", reason_SUPPRESSED: "Withdrawn",
			reason_MATERIAL_CHANGE: "Needs your consent again (the notice changed)",
			reason_NO_NOTICE_SERVED: "No consent", reason_NOTICE_NOT_CURRENT: "Needs your consent again",
			reason_GUARDIAN_REQUIRED: "Needs a guardian's consent", reason_CONFIRMATION_REQUIRED: "Given by a guardian: needs your own confirmation", reason_OK: "Consent given",
			id_empty: "it is empty", id_email_malformed: "this is not an email address",
			id_phone_malformed: "this is not a phone number",
			id_phone_length: "the number has too few or too many digits for its country",
			id_phone_no_country: "choose the country or start with + and the country code",
			id_phone_prefix: "no country has this code; start with + and the country code",
			id_phone_invalid: "no such number exists in its country; check the digits and the country",
			id_phone_extension: "write the number without its extension",
			phone_form: "this page reads digits, spaces, dashes, dots, slashes and brackets only: write the number as + and the country code, then the number, such as +86 138 0013 8000",
			phone_unavailable: "this page could not load its phone rules; reload it and try again",
			id_country: "unknown country", too_large: "it is too long"
		},
		"zh-CN": {
			title: "同意中心", skip: "跳到正文", lang_other: "English",
			notices: "您看过的隐私政策", choices: "您的选择",
			choices_caption: "每个处理目的，以及可能向其提供您信息的每个接收方",
			col_scope: "目的或接收方", col_status: "状态", col_action: "操作",
			withdraw_all: "撤回全部同意", withdraw: "撤回",
			receipt_heading: "您的撤回回执", download: "下载回执", receipt_show: "查看签名回执",
			access_heading: "您的信息", access: "下载我的信息",
			access_intro: "下载品牌方记录的关于您的全部信息：您的同意记录及其签名回执，以及目前各数据集中保存的信息。",
			access_done: "已下载：{e} 条同意记录、{r} 份回执，以及品牌方持有的关于您的 {h} 条记录。",
			object_heading: "反对营销", object: "反对营销",
			object_intro: "立即停止将您的信息用于任何营销目的，并删除仅为营销而保存的信息。",
			objected: "已记录您的反对，立即生效；已删除关于您的 {n} 条存储记录。",
			objected_dup: "您的反对此前已记录。",
			erase_heading: "删除我的信息", erase: "删除我的信息",
			erase_intro: "撤回全部同意，删除品牌方持有的关于您的全部记录，并将您从审计日志的索引中移除，此后日志中的任何条目都无法再与您关联。保留：以密钥化假名记录的您过去的同意选择（证明过去的处理合法），以及防止日后再次上传您信息的记录。",
			erase_sure: "此操作无法撤销。现在删除您的信息吗？", erase_yes: "确认删除", erase_no: "取消",
			erased: "已删除。已删除关于您的 {n} 条存储记录，审计日志已无法再与您关联。保留：以密钥化假名记录的您过去的同意选择，以及防止日后再次上传您信息的记录。",
			erase_receipt_heading: "您的删除回执",
			anon_heading: "没有链接时撤回",
			anon_intro: "请输入品牌方掌握的您的电子邮箱或手机号码。它会在本页面内规范化并计算哈希，只发送哈希值。",
			brand: "品牌", id_type: "品牌方通过以下信息识别我", email: "电子邮箱", phone: "手机号码",
			identifier: "电子邮箱或手机号码",
			identifier_help: "手机号码请以 + 和国家代码开头，例如 +86 138 0013 8000，或在下方选择所属国家或地区。",
			country: "不带 + 的手机号码所属国家或地区", none: "无", anon_submit: "撤回全部同意",
			given: "已同意", not_given: "未同意", recipient: "提供给",
			version: "版本", served: "展示于", language: "语言", controller: "处理者",
			expires: "此链接有效期至", loading: "正在加载…",
			withdrawn: "已撤回，立即生效；已删除关于您的 {n} 条存储记录。",
			withdrawn_dup: "此项此前已撤回。",
			anon_done: "已收到。如果 {brand} 持有您的信息，您的同意已撤回、相关信息已删除，立即生效。",
			bad_input: "请检查输入：", sending: "正在发送…",
			err_link_invalid: "此链接无效，请向品牌方索取新链接。",
			err_link_expired: "此链接已过期，请向品牌方索取新链接。",
			err_rate: "尝试次数过多，请稍后再试。",
			err_brand: "本服务上没有这个品牌。",
			err_other: "出现错误：",
			reason_NOT_GIVEN: "未同意", reason_WITHDRAWN: "已撤回", reason_REFUSED: "已拒绝",
			reason_EXPIRED: "已过期", reason_OBJECTED: "已反对", reason_SUPPRESSED: "已撤回",
			reason_MATERIAL_CHANGE: "政策已变更，需要您重新同意",
			reason_NO_NOTICE_SERVED: "未同意", reason_NOTICE_NOT_CURRENT: "需要您重新同意",
			reason_GUARDIAN_REQUIRED: "需要监护人同意", reason_CONFIRMATION_REQUIRED: "由监护人同意：需要您本人确认", reason_OK: "已同意",
			id_empty: "内容为空", id_email_malformed: "这不是有效的电子邮箱",
			id_phone_malformed: "这不是手机号码",
			id_phone_length: "号码位数与所属国家或地区不符",
			id_phone_no_country: "请选择国家或地区，或以 + 和国家代码开头",
			id_phone_prefix: "没有国家或地区使用这个代码，请以 + 和国家代码开头",
			id_phone_invalid: "所属国家或地区没有这个号码，请检查数字和国家或地区",
			id_phone_extension: "请去掉分机号后再输入",
			phone_form: "本页面只识别数字、空格、短横线、点、斜线和括号：请以 + 和国家代码开头输入号码，例如 +86 138 0013 8000",
			phone_unavailable: "本页面未能加载号码规则，请刷新后重试",
			id_country: "未知的国家或地区", too_large: "内容太长"
		}
	};
	var TOKEN_KEY = "cr.consent.link";
	var lang = "en", view = null, token = null, receiptUrl = null;

	var $ = window.crDom.$, el = window.crDom.el, showError = window.crDom.showError;
	function t(key) { return (T[lang] && T[lang][key]) || T.en[key] || key; }

	function setLang(l) {
		lang = T[l] ? l : "en";
		document.documentElement.lang = lang;
		document.title = t("title");
		Array.prototype.forEach.call(document.querySelectorAll("[data-t]"), function (e) {
			e.textContent = t(e.getAttribute("data-t"));
		});
		$("lang").textContent = t("lang_other");
		$("lang").setAttribute("aria-label", lang === "en" ? "切换到中文" : "Switch to English");
		if (view)
			renderView();
	}


	function errorText(code) {
		if (code === "link_invalid") return t("err_link_invalid");
		if (code === "link_expired") return t("err_link_expired");
		if (code === "rate_limited") return t("err_rate");
		if (code === "consent_brand_not_found") return t("err_brand");
		return t("err_other") + code;
	}

	/* POST JSON; resolves with the parsed answer or rejects with its error code. */
	function post(path, body) {
		return fetch(path, {
			method: "POST", headers: { "Content-Type": "application/json" },
			body: JSON.stringify(body), credentials: "omit", cache: "no-store"
		}).then(function (r) {
			return r.json().catch(function () { return {}; }).then(function (j) {
				if (!r.ok)
					throw new Error((j.error && j.error.code) || ("http_" + r.status));
				return { status: r.status, body: j };
			});
		});
	}

	/* --------------------------------------------------------- link view */

	function latestNotice() {
		var seen = (view && view.notices_seen) || [];
		return seen.length ? seen[seen.length - 1].notice : view && view.current_notice;
	}

	function describe(s) {
		var notice = view.current_notice || latestNotice() || {}, purposes = notice.purposes || [];
		var name = s.purpose, r;
		purposes.forEach(function (p) { if (p.code === s.purpose && p.description) name = p.description; });
		if (s.recipient === null)
			return name;
		r = (notice.recipients || []).filter(function (x) { return x.id === s.recipient; })[0];
		return t("recipient") + " " + (r ? r.name + " (" + r.country + ")" : s.recipient) + ": " + name;
	}

	function renderNotices() {
		var ul = $("notices");
		ul.textContent = "";
		(view.notices_seen || []).forEach(function (n) {
			var li = el("li"), d = el("details"), served = (n.served || []).map(function (x) {
				return new Date(x).toLocaleString(lang);
			}).join(", ");
			li.appendChild(el("span", {}, t("version") + " " + n.version + " — " + t("controller") + " " +
				(n.notice.controller ? n.notice.controller.name : "") + " — " + t("language") + " " +
				n.notice.language + (served ? " — " + t("served") + " " + served : "")));
			d.appendChild(el("summary", {}, "SHA-256 " + n.hash));
			d.appendChild(el("p", { lang: n.notice.language, "class": "pre-line" }, n.notice.text));
			li.appendChild(d);
			ul.appendChild(li);
		});
	}

	function renderScopes() {
		var tb = $("scopes");
		tb.textContent = "";
		(view.status || []).forEach(function (s) {
			var tr = el("tr"), label = describe(s), td = el("td"), b;
			tr.setAttribute("data-purpose", s.purpose);
			tr.setAttribute("data-recipient", s.recipient || "");
			tr.appendChild(el("th", { scope: "row" }, label));
			tr.appendChild(el("td", { "class": s.allowed ? "status-ok" : "status-no", "data-role": "status" },
				s.allowed ? t("given") : t("reason_" + s.reason)));
			if (s.allowed) {
				b = el("button", { type: "button", "class": "secondary", "aria-label": t("withdraw") + ": " + label },
					t("withdraw"));
				b.addEventListener("click", function () { withdraw(s.purpose, s.recipient); });
				td.appendChild(b);
			}
			tr.appendChild(td);
			tb.appendChild(tr);
		});
		$("withdraw-all").disabled = !(view.status || []).some(function (s) { return s.allowed; });
		["erase", "erase-yes", "erase-no", "object", "access"].forEach(function (id) { $(id).disabled = false; });
	}

	function renderView() {
		$("brand-heading").textContent = view.brand;
		$("link-expiry").textContent = t("expires") + " " + new Date(view.link_expires).toLocaleString(lang);
		renderNotices();
		renderScopes();
		$("link-view").hidden = false;
	}

	function loadView(first) {
		return post("/web/v1/link", { token: token }).then(function (r) {
			view = r.body;
			if (first) {
				var n = latestNotice();
				setLang(n && n.language === "zh-CN" ? "zh-CN" : "en");
			}
			renderView();
		});
	}

	/* Shows the signed receipt and offers it as a file. */
	function showReceipt(receipt, summary) {
		var text = JSON.stringify(receipt, null, 2) + "\n", a = $("receipt-download");
		if (receiptUrl)
			URL.revokeObjectURL(receiptUrl);
		receiptUrl = URL.createObjectURL(new Blob([text], { type: "application/json" }));
		a.href = receiptUrl;
		a.download = "consent-receipt-" + (receipt.payload && receipt.payload.event ? receipt.payload.event.id : "0") + ".json";
		$("receipt-json").textContent = text;
		$("receipt-summary").textContent = summary;
		$("receipt-view").hidden = false;
		$("receipt-heading").focus();
	}

	function withdraw(purpose, recipient) {
		var body = { token: token };
		if (purpose)
			body.purpose = purpose;
		if (recipient)
			body.recipient = recipient;
		showError("");
		Array.prototype.forEach.call(document.querySelectorAll("#link-view button"), function (b) { b.disabled = true; });
		return post("/web/v1/link/withdraw", body).then(function (r) {
			var summary = r.body.duplicate ? t("withdrawn_dup") : t("withdrawn").replace("{n}", r.body.purged_records);
			$("message").textContent = summary;
			return loadView(false).then(function () {
				if (r.body.receipt)
					showReceipt(r.body.receipt, summary);
			});
		}).catch(function (e) {
			showError(errorText(e.message));
			if (view)
				renderScopes();
		});
	}

	/* Access and portability (GDPR 15 and 20, PIPL 45): the person's copy as a JSON file. */
	var accessUrl = null;
	function access() {
		showError("");
		$("access").disabled = true;
		return post("/web/v1/link/access", { token: token }).then(function (r) {
			var a = $("access-download"), d = r.body;
			if (accessUrl)
				URL.revokeObjectURL(accessUrl);
			accessUrl = URL.createObjectURL(new Blob([JSON.stringify(d, null, 2) + "\n"], { type: "application/json" }));
			a.href = accessUrl;
			$("access-summary").textContent = t("access_done").replace("{e}", (d.events || []).length)
				.replace("{r}", (d.receipts || []).length).replace("{h}", (d.held || []).length);
			a.click();
		}).catch(function (e) {
			showError(errorText(e.message));
		}).then(function () {
			$("access").disabled = false;
		});
	}

	/* Objection to marketing (R21, PIPL 44, GDPR 21): one button, with its receipt. */
	function object() {
		showError("");
		Array.prototype.forEach.call(document.querySelectorAll("#link-view button"), function (b) { b.disabled = true; });
		return post("/web/v1/link/object", { token: token }).then(function (r) {
			var summary = r.body.duplicate ? t("objected_dup") : t("objected").replace("{n}", r.body.purged_records);
			$("message").textContent = summary;
			return loadView(false).then(function () {
				if (r.body.receipt)
					showReceipt(r.body.receipt, summary);
			});
		}).catch(function (e) {
			showError(errorText(e.message));
			if (view)
				renderScopes();
		});
	}

	/*
	 * Erasure (GDPR 17, PIPL 47): one button, then a confirmation. The
	 * answer (the withdrawal's signed receipt and the erasure entry's
	 * inclusion proof) is offered as the receipt file.
	 */
	function askErase(on) {
		$("erase-confirm").hidden = !on;
		$("erase").hidden = on;
		if (on)
			$("erase-yes").focus();
	}

	function erase() {
		showError("");
		askErase(false);
		Array.prototype.forEach.call(document.querySelectorAll("#link-view button"), function (b) { b.disabled = true; });
		return post("/web/v1/link/erase", { token: token }).then(function (r) {
			var summary = t("erased").replace("{n}", r.body.erased.purged_records);
			$("message").textContent = summary;
			return loadView(false).then(function () {
				showReceipt(r.body, summary);
				$("receipt-download").download = "erasure-receipt.json";
				$("receipt-heading").textContent = t("erase_receipt_heading");
				$("erase").disabled = true;
			});
		}).catch(function (e) {
			showError(errorText(e.message));
			if (view)
				renderScopes();
		});
	}

	/* ---------------------------------------------------- anonymous form */

	function anonSubmit(ev) {
		var f = ev.target, brand = f.brand.value.trim(), idType = f.id_type.value, normalized;
		ev.preventDefault();
		showError("");
		$("anon-result").textContent = "";
		try {
			normalized = window.crIdent.normalize(idType, f.identifier.value, f.country.value || null);
		} catch (e) {
			showError(t("bad_input") + t(e.code || "id_empty"));
			f.identifier.focus();
			return;
		}
		if (!brand) {
			showError(t("bad_input") + t("brand"));
			f.brand.focus();
			return;
		}
		$("anon-submit").disabled = true;
		$("anon-result").textContent = t("sending");
		window.crIdent.digest(normalized).then(function (digest) {
			normalized = null;
			return post("/web/v1/withdraw", { brand: brand, id_type: idType, digest: digest });
		}).then(function (r) {
			var text = t("anon_done").replace("{brand}", brand);
			$("anon-result").textContent = text;
			f.identifier.value = "";
			if (r.body.receipt)
				showReceipt(r.body.receipt, text);
		}).catch(function (e) {
			$("anon-result").textContent = "";
			showError(errorText(e.message));
		}).then(function () {
			$("anon-submit").disabled = false;
		});
	}

	function initAnon() {
		var sel = $("anon-country"), params = new URLSearchParams(location.search);
		window.crIdent.countries().forEach(function (c) {
			sel.appendChild(el("option", { value: c }, c + " +" + window.crIdent.callingCode(c)));
		});
		if (params.get("brand"))
			$("anon-brand").value = params.get("brand");
		$("anon-form").addEventListener("submit", anonSubmit);
		$("anon-view").hidden = false;
	}

	/* ------------------------------------------------------------- start */

	function start() {
		var frag = location.hash.replace(/^#/, "");
		$("lang").addEventListener("click", function () { setLang(lang === "en" ? "zh-CN" : "en"); });
		$("withdraw-all").addEventListener("click", function () { withdraw(null, null); });
		$("object").addEventListener("click", object);
		$("access").addEventListener("click", access);
		$("erase").addEventListener("click", function () { askErase(true); });
		$("erase-no").addEventListener("click", function () { askErase(false); $("erase").focus(); });
		$("erase-yes").addEventListener("click", erase);
		setLang((navigator.language || "").indexOf("zh") === 0 ? "zh-CN" : "en");
		if (frag.indexOf("crl1.") === 0) {
			sessionStorage.setItem(TOKEN_KEY, frag);
			/* The token leaves the address bar (and so any copied URL or screenshot). */
			history.replaceState(null, "", location.pathname);
		}
		token = sessionStorage.getItem(TOKEN_KEY);
		if (!token) {
			initAnon();
			return;
		}
		$("message").textContent = t("loading");
		loadView(true).then(function () {
			$("message").textContent = "";
		}).catch(function (e) {
			$("message").textContent = "";
			showError(errorText(e.message));
			sessionStorage.removeItem(TOKEN_KEY);
			initAnon();
		});
	}

	document.addEventListener("DOMContentLoaded", start);
})();
