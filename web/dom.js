/*
 * dom.js: the two DOM helpers both pages use. Text goes in through
 * textContent only, never innerHTML, so nothing a server or a person typed
 * can become markup.
 */
(function (root) {
	"use strict";
	root.crDom = {
		/* The element with this id. */
		$: function (id) { return document.getElementById(id); },
		/* A new element with attributes and, optionally, text. */
		el: function (tag, attrs, text) {
			var e = document.createElement(tag);
			Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
			if (text !== undefined && text !== null)
				e.textContent = text;
			return e;
		},
		/* Shows `text` in the page's alert box (#failure), or hides it when empty. */
		showError: function (text) {
			var f = document.getElementById("failure");
			f.textContent = text || "";
			f.hidden = !text;
		}
	};
})(window);
