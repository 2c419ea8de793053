/*
 * pia.h: impact assessments (PIPIA, PIPL 55-56; DPIA, GDPR 35) and
 * cross-border transfer mechanisms (PIPL 38; GDPR chapter V), and the two
 * gates that consult them (R12, R13, R28). Internal to cleanroom/.
 *
 * An assessment is the brand's record that it assessed some purposes: its
 * own reference (the document's id), its kind, its date, the purposes it
 * covers and whether it covers their cross-border transfers. It is stored
 * one row per covered purpose in consent_impact_assessments. A transfer
 * mechanism records, for one recipient of the brand's notice, the legal
 * basis of sending it data abroad:
 *   cac-assessment     PIPL 38(1), the CAC's security assessment (art. 40)
 *   certification      PIPL 38(2), personal information protection certification
 *   standard-contract  PIPL 38(3), the CAC's standard contract
 *   adequacy           GDPR 45, an adequacy decision for the recipient's country
 *   scc                GDPR 46(2)(c), standard contractual clauses
 *   bcr                GDPR 47, binding corporate rules
 * (GDPR 49's derogations are for occasional transfers, not a matching
 * service, so they are not offered.) The clean room does not check that the
 * mechanism fits the regime: the brand answers for its choice.
 * Both registers are append-only (triggers) and every addition appends its
 * audit leaf in the same transaction (I5): "pia.add", "transfer.add".
 *
 * The gates:
 *  - dataset creation (pia_dataset_check, R12, R28): every purpose of the
 *    dataset needs an assessment of the brand covering it. R28 asks for one
 *    when a purpose involves sensitive data, shares data, profiles for
 *    marketing, crosses borders or matches datasets; every dataset of a
 *    clean room is matched, so every purpose a dataset uses needs one. The
 *    refusal names the purpose and the first of those properties it has,
 *    read from the brand's current notice: "sensitive": true (R12); a
 *    recipient of the purpose in a country outside the notice's
 *    jurisdictions (R13); "shares_data" (default: a recipient names the
 *    purpose); "marketing" (default true); else matching.
 *  - collaboration creation (pia_transfer_check, R13): a partner whose
 *    country (its recipients[] entry) is outside the jurisdictions of the
 *    brand's current notice (an EU member state counts as inside when the
 *    notice names "EU" or a member state; a notice that names none cannot
 *    show any recipient is domestic, so every one counts as abroad) needs a
 *    transfer mechanism recorded for (brand, partner) and an assessment
 *    recorded with cross_border covering the purpose the notice declares
 *    the partner for.
 */
#ifndef CR_CLEANROOM_PIA_H
#define CR_CLEANROOM_PIA_H

#include <jansson.h>

#include "cleanroom/app.h"
#include "cleanroom/dataset.h"
#include "cleanroom/registry.h"

#define PIA_REF_MAX 64

/* Migration: assessment date and cross-border flag, transfer mechanisms, append-only. */
extern const char pia_schema_v1[];

/* "pipia" or "dpia". */
bool pia_kind_valid(const char *kind);
/* One of the mechanisms listed above. */
bool transfer_mechanism_valid(const char *mechanism);
/* A reference: 1 to PIA_REF_MAX of A-Z a-z 0-9 . _ - / (no personal data). */
bool pia_ref_valid(const char *ref);

/*
 * Records assessment `ref` of `brand` (`brand_name` for the leaf), of
 * `kind`, dated `assessed` (<= now), covering the comma-joined purposes
 * `covers` (each declared by the brand's current notice, else
 * CR_ERR_PIA_UNDECLARED with the purpose in `why`), and their
 * cross-border transfers when `cross_border`. CR_ERR_PIA_EXISTS if the
 * brand has an assessment with this reference; CR_ERR_INVALID_ARG for a bad
 * reference, kind, list or date. Audited "pia.add" in the same transaction.
 */
cr_err pia_add(struct app *a, const struct registry_actor *who, int64_t brand, const char *brand_name,
	       const char *ref, const char *kind, const char *covers, bool cross_border, cr_time_ms assessed,
	       char *why, size_t why_cap) CR_MUST_CHECK;
/* The brand's assessments, oldest first, as JSON objects appended to `list`. */
cr_err pia_list(struct app *a, int64_t brand, json_t *list) CR_MUST_CHECK;

/*
 * Records transfer mechanism `mechanism` with the brand's reference `ref`
 * for `recipient`, which the brand's current notice must declare
 * (CR_ERR_PIA_UNDECLARED); its country is recorded with it. Audited
 * "transfer.add" in the same transaction. CR_ERR_PIA_EXISTS on a reference
 * the brand used for a mechanism already.
 */
cr_err transfer_add(struct app *a, const struct registry_actor *who, int64_t brand, const char *brand_name,
		    const char *recipient, const char *mechanism, const char *ref, char *why,
		    size_t why_cap) CR_MUST_CHECK;
/* The brand's transfer mechanisms, oldest first, as JSON objects appended to `list`. */
cr_err transfer_list(struct app *a, int64_t brand, json_t *list) CR_MUST_CHECK;

/* The dataset gate (R12, R28): CR_ERR_PIA_MISSING with the purpose and why in `why`. */
cr_err pia_dataset_check(struct app *a, const struct dataset *d, char *why, size_t why_cap) CR_MUST_CHECK;
/* The collaboration gate (R13): CR_ERR_TRANSFER_MISSING with what is missing in `why`. */
cr_err pia_transfer_check(struct app *a, const struct dataset *d, const char *partner, char *why,
			  size_t why_cap) CR_MUST_CHECK;

#endif
