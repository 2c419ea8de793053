/*
 * report.h: the compliance officer's two reports (issue 24; internal to
 * cleanroom/). docs/spec/formats.md defines both JSON formats.
 *
 *  - The record of processing activities (GDPR art. 30, PIPL art. 54),
 *    "cr-report-processing-v1", built from the brand's current notice, its
 *    datasets, collaborations and impact assessments (report.c). It
 *    describes processing, never a person: no pseudonym, no subject row.
 *  - The compliance report, "cr-report-compliance-v1", over a window
 *    [since, until) (report_compliance.c): every figure is counted from the
 *    audit log's leaves of the brand (never from mutable tables), carries
 *    the leaf indices that prove it, names a signed checkpoint covering
 *    every index, and is signed with the reports' own key (KDF context
 *    "crreport", app_report_key). report_compliance_verify checks it
 *    offline: the signature, the checkpoint, and, given the log (the data
 *    directory's or an `audit export`), every cited leaf by an inclusion
 *    proof against the checkpoint, its type, brand and time, and that the
 *    log holds no entry the report left out.
 */
#ifndef CR_CLEANROOM_REPORT_H
#define CR_CLEANROOM_REPORT_H

#include <jansson.h>

#include "cleanroom/app.h"

#define REPORT_PROCESSING_FORMAT "cr-report-processing-v1"
#define REPORT_COMPLIANCE_FORMAT "cr-report-compliance-v1"
/* The first line of the signed text: keeps a report's signature apart from
 * any other note (checkpoints, receipts). */
#define REPORT_DOMAIN "cleanroom compliance report v1\n"
/* Above this many entries a figure cites its range and the Merkle root of
 * its index list instead of the list (the verifier recounts from the log). */
#define REPORT_INDICES_MAX 100000
#define REPORT_WHY_MAX 200

/*
 * The record of processing activities of brand `brand` (its id, name
 * `name`) at `now`: a new JSON object (handed over) or a store error.
 * CR_ERR_CONSENT_NOTICE_NOT_FOUND when the brand has published no notice.
 */
cr_err report_processing(struct app *a, int64_t brand, const char *name, cr_time_ms now,
			 json_t **out) CR_MUST_CHECK;

/*
 * The figures of brand `brand` over entries with index < `size` and time
 * in [since, until) of `log` (read-only handles work: an export's): the
 * "figures" and "budget_spent" members, set on `into`. Used both to build
 * a report and to recount one. The caller holds a read transaction when
 * the log can change meanwhile.
 */
cr_err report_figures(struct audit_log *log, const char *brand, cr_time_ms since, cr_time_ms until,
		      uint64_t size, json_t *into) CR_MUST_CHECK;

/*
 * Builds and signs brand `brand`'s compliance report over [since, until)
 * against the latest signed checkpoint (read in one read transaction with
 * the figures, so the checkpoint covers every index cited).
 * CR_ERR_REPORT_WINDOW unless since < until. *out (handed over) is the
 * whole document: {"format", "report", "signature"}.
 */
cr_err report_compliance(struct app *a, const char *brand, cr_time_ms since, cr_time_ms until,
			 json_t **out) CR_MUST_CHECK;

/* The bytes a report's signature covers: REPORT_DOMAIN, the canonical JSON
 * of `report` (sorted keys, compact, ASCII) and a newline; handed over. */
char *report_signed_text(const json_t *report) CR_MUST_CHECK;

/*
 * Verifies a compliance report document `doc` (borrowed):
 *  - its signature with the reports' verifier key text `report_key`
 *    (CR_ERR_REPORT_SIGNATURE; CR_ERR_REPORT_MALFORMED for a document that
 *    is not one);
 *  - its checkpoint with the log's verifier key text `log_key`, whose size
 *    and root the report must repeat, and which must cover every cited
 *    index, each list strictly increasing and as long as its count
 *    (CR_ERR_REPORT_CHECKPOINT, CR_ERR_REPORT_MISMATCH);
 *  - with `log` non-NULL (borrowed; a read-only handle will do): each
 *    cited leaf, proven by inclusion against the checkpoint's root, must
 *    have one of its figure's types, the report's brand and a time in the
 *    window, and the figures recounted from the log up to the checkpoint's
 *    size must equal the report's (CR_ERR_REPORT_MISMATCH).
 * The first failure is described in `why`. *checked (may be NULL) is the
 * number of leaves proven.
 */
cr_err report_compliance_verify(const json_t *doc, const char *report_key, const char *log_key,
				struct audit_log *log, uint64_t *checked, char *why, size_t why_cap) CR_MUST_CHECK;

/* Markdown renderings for people (not verifiable: verify the JSON). */
char *report_processing_markdown(const json_t *r) CR_MUST_CHECK;
char *report_compliance_markdown(const json_t *doc) CR_MUST_CHECK;

#endif
