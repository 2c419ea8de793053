/*
 * report_verify.c: the offline check of a compliance report
 * (report_compliance_verify; report.h gives the contract). What it trusts:
 * the two verifier keys the officer holds, and, when given, a copy of the
 * log, whose leaves count only through inclusion proofs against the
 * report's signed checkpoint. What a figure counts is this file's own
 * table of types, never the report's "types" member.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/report.h"

struct expect {
	const char *name;
	const char *types[3];
};

/* The types each figure may cite (report_compliance.c counts them). */
static const struct expect expected[] = {
	{ "consents", { "consent.grant" } },
	{ "withdrawals", { "consent.withdraw" } },
	{ "objections", { "consent.object" } },
	{ "erasures", { "subject.erase" } },
	{ "purged_records", { "consent.purge" } },
	{ "swept_records", { "dataset.sweep" } },
	{ "ingests", { "dataset.ingest" } },
	{ "match_sessions", { "match.session" } },
	{ "releases", { "match.release" } },
	{ "refusals", { "match.refuse" } },
	{ "late_requests", { "request.complete", "request.add" } },
};

static const char *const budget_types[3] = { "match.release", "match.refuse", NULL };
static const char *const evidence_types[3] = { "request.add", "request.extend", NULL };

struct vctx {
	const char *brand;
	cr_time_ms since, until;
	struct audit_checkpoint cp;
	struct audit_log *log;
	uint64_t checked;
	char *why;
	size_t why_cap;
};

static cr_err fail(struct vctx *v, cr_err rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static cr_err fail(struct vctx *v, cr_err rc, const char *fmt, ...)
{
	va_list ap;
	if (v->why && v->why_cap) {
		va_start(ap, fmt);
		vsnprintf(v->why, v->why_cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Leaf `index`, proven in the checkpoint's tree, decoded (*out handed over). */
static cr_err proven_leaf(struct vctx *v, uint64_t index, struct audit_leaf **out)
{
	uint8_t *bytes = NULL, hash[AUDIT_HASH_BYTES];
	size_t len = 0;
	struct audit_proof proof;
	cr_err rc = audit_log_leaf(v->log, index, &bytes, &len);
	if (rc == CR_OK) {
		audit_hash_leaf(bytes, len, hash);
		rc = audit_log_prove_inclusion(v->log, index, v->cp.size, &proof);
	}
	if (rc == CR_OK)
		rc = audit_verify_inclusion(index, v->cp.size, hash, &proof, v->cp.root);
	if (rc == CR_OK)
		rc = audit_leaf_decode(bytes, len, out);
	free(bytes);
	if (rc != CR_OK)
		return fail(v, CR_ERR_REPORT_MISMATCH, "entry %llu is not proven in the report's checkpoint (%s)",
			    (unsigned long long)index, cr_strerror(rc));
	v->checked++;
	return CR_OK;
}

static bool type_in(const char *type, const char *const *types)
{
	for (size_t i = 0; types[i]; i++)
		if (strcmp(type, types[i]) == 0)
			return true;
	return false;
}

/* One cited index: proven, of an allowed type, of the brand, in the window unless `any_time`. */
static cr_err check_leaf(struct vctx *v, const char *what, uint64_t index, const char *const *types,
			 bool any_time)
{
	struct audit_leaf *l = NULL;
	cr_err rc = proven_leaf(v, index, &l);
	if (rc != CR_OK)
		return rc;
	if (!type_in(l->event_type, types))
		rc = fail(v, CR_ERR_REPORT_MISMATCH, "%s cites entry %llu, a '%s' entry", what,
			  (unsigned long long)index, l->event_type);
	else if (strcmp(l->tenant, v->brand) != 0)
		rc = fail(v, CR_ERR_REPORT_MISMATCH, "%s cites entry %llu of another brand", what,
			  (unsigned long long)index);
	else if (!any_time && (l->time_ms < v->since || l->time_ms >= v->until))
		rc = fail(v, CR_ERR_REPORT_MISMATCH, "%s cites entry %llu, outside the window", what,
			  (unsigned long long)index);
	audit_leaf_free(l);
	return rc;
}

/* An index list: strictly increasing, below the checkpoint's size, as long as `count`; each leaf checked with a log. */
static cr_err check_list(struct vctx *v, const char *what, const json_t *list, json_int_t count,
			 const char *const *types, bool any_time)
{
	size_t i;
	json_t *x;
	json_int_t prev = -1;
	if (json_is_null(list) && v->log != NULL)
		return CR_OK;     /* a range: the recount below covers it */
	if (!json_is_array(list) || (count >= 0 && (json_int_t)json_array_size(list) != count))
		return fail(v, CR_ERR_REPORT_MISMATCH, "%s: the number of cited entries is not its count", what);
	json_array_foreach(list, i, x) {
		json_int_t n = json_is_integer(x) ? json_integer_value(x) : -1;
		cr_err rc;
		if (n <= prev)
			return fail(v, CR_ERR_REPORT_MISMATCH, "%s: cited entries are not strictly increasing", what);
		if ((uint64_t)n >= v->cp.size)
			return fail(v, CR_ERR_REPORT_CHECKPOINT, "%s cites entry %lld, past the checkpoint's %llu", what,
				    (long long)n, (unsigned long long)v->cp.size);
		prev = n;
		if (v->log != NULL && (rc = check_leaf(v, what, (uint64_t)n, types, any_time)) != CR_OK)
			return rc;
	}
	return CR_OK;
}

static cr_err check_figures(struct vctx *v, const json_t *report)
{
	const json_t *figs = json_object_get(report, "figures"), *budget = json_object_get(report, "budget_spent"), *b;
	size_t i;
	cr_err rc = CR_OK;
	if (!json_is_object(figs) || !json_is_array(budget))
		return fail(v, CR_ERR_REPORT_MALFORMED, "the report has no figures");
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]) && rc == CR_OK; i++) {
		const json_t *f = json_object_get(figs, expected[i].name);
		const json_t *count = json_object_get(f, "count");
		if (!json_is_integer(count))
			return fail(v, CR_ERR_REPORT_MALFORMED, "figure '%s' is missing", expected[i].name);
		rc = check_list(v, expected[i].name, json_object_get(f, "indices"), json_integer_value(count),
				expected[i].types, false);
		if (rc == CR_OK && json_object_get(f, "evidence"))
			rc = check_list(v, "late_requests evidence", json_object_get(f, "evidence"), -1, evidence_types,
					true);
	}
	json_array_foreach(budget, i, b) {
		if (rc == CR_OK)
			rc = check_list(v, "budget_spent", json_object_get(b, "indices"),
					json_integer_value(json_object_get(b, "count")), budget_types, false);
	}
	return rc;
}

/* With the log: the figures recounted up to the checkpoint's size are the report's. */
static cr_err recount(struct vctx *v, const json_t *report)
{
	json_t *again = json_object();
	cr_err rc = report_figures(v->log, v->brand, v->since, v->until, v->cp.size, again);
	if (rc == CR_OK && !json_equal(json_object_get(again, "figures"), json_object_get(report, "figures")))
		rc = fail(v, CR_ERR_REPORT_MISMATCH, "the log's entries give other figures than the report's");
	else if (rc == CR_OK &&
		 !json_equal(json_object_get(again, "budget_spent"), json_object_get(report, "budget_spent")))
		rc = fail(v, CR_ERR_REPORT_MISMATCH, "the log's entries give another budget spent than the report's");
	else if (rc != CR_OK)
		rc = fail(v, rc, "the log could not be recounted: %s", cr_strerror(rc));
	json_decref(again);
	return rc;
}

/* The signature over the report's canonical digest, with the reports' key. */
static cr_err check_signature(struct vctx *v, const json_t *report, const char *sig, const char *report_key)
{
	struct audit_verifier rk;
	char *text = NULL, *note = NULL;
	size_t text_len = 0, cap;
	cr_err rc;
	if (audit_verifier_parse(report_key, strlen(report_key), &rk) != CR_OK)
		return fail(v, CR_ERR_REPORT_SIGNATURE, "the reports' key is not a verifier key");
	if ((text = report_signed_text(report)) == NULL)
		return CR_ERR_NOMEM;
	cap = strlen(text) + strlen(sig) + 2;
	note = cr_xmalloc(cap);
	snprintf(note, cap, "%s\n%s", text, sig);
	rc = audit_note_verify(&rk, 1, note, strlen(note), &text_len);
	if (rc == CR_OK && text_len != strlen(text))
		rc = CR_ERR_AUDIT_NOTE_MALFORMED;
	if (rc != CR_OK)
		rc = fail(v, CR_ERR_REPORT_SIGNATURE, "the signature does not verify with %s (%s)", rk.name,
			  cr_strerror(rc));
	free(text);
	free(note);
	return rc;
}

/* The checkpoint: signed by the log's key, and the one the report names. */
static cr_err check_checkpoint(struct vctx *v, const json_t *report, const char *log_key)
{
	struct audit_verifier lk;
	const char *note = json_string_value(json_object_get(report, "checkpoint"));
	const char *root = json_string_value(json_object_get(report, "root"));
	char b64[48];
	if (audit_verifier_parse(log_key, strlen(log_key), &lk) != CR_OK)
		return fail(v, CR_ERR_REPORT_CHECKPOINT, "the log's key is not a verifier key");
	if (note == NULL || audit_checkpoint_open(&lk, note, strlen(note), NULL, &v->cp) != CR_OK)
		return fail(v, CR_ERR_REPORT_CHECKPOINT, "the checkpoint does not verify with %s", lk.name);
	if (cr_base64_encode(v->cp.root, sizeof(v->cp.root), b64, sizeof(b64)) != CR_OK || root == NULL ||
	    strcmp(root, b64) != 0 || json_integer_value(json_object_get(report, "tree_size")) != (json_int_t)v->cp.size)
		return fail(v, CR_ERR_REPORT_CHECKPOINT, "the report's tree size or root is not its checkpoint's");
	return CR_OK;
}

cr_err report_compliance_verify(const json_t *doc, const char *report_key, const char *log_key,
				struct audit_log *log, uint64_t *checked, char *why, size_t why_cap)
{
	struct vctx v = { .log = log, .why = why, .why_cap = why_cap };
	const json_t *report = json_object_get(doc, "report");
	const char *sig = json_string_value(json_object_get(doc, "signature"));
	const char *format = json_string_value(json_object_get(doc, "format"));
	cr_err rc;
	if (format == NULL || strcmp(format, REPORT_COMPLIANCE_FORMAT) != 0 || !json_is_object(report) || sig == NULL ||
	    (v.brand = json_string_value(json_object_get(report, "brand"))) == NULL ||
	    !json_is_integer(json_object_get(report, "since_ms")) || !json_is_integer(json_object_get(report, "until_ms")))
		return fail(&v, CR_ERR_REPORT_MALFORMED, "not a %s document", REPORT_COMPLIANCE_FORMAT);
	v.since = json_integer_value(json_object_get(report, "since_ms"));
	v.until = json_integer_value(json_object_get(report, "until_ms"));
	rc = check_signature(&v, report, sig, report_key);
	if (rc == CR_OK)
		rc = check_checkpoint(&v, report, log_key);
	if (rc == CR_OK)
		rc = check_figures(&v, report);
	if (rc == CR_OK && log != NULL)
		rc = recount(&v, report);
	if (rc == CR_OK && checked)
		*checked = v.checked;
	return rc;
}
