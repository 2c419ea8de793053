/* audit.js: the audit console (not built yet). */
