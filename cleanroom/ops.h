/*
 * ops.h: the operations the CLI verbs and the HTTP handlers share
 * (internal to cleanroom/). Each runs one change through the core
 * (registry, dataset, ingest) with its audit leaves, exactly as both front
 * ends need it, so the CLI and the service cannot drift apart: the front
 * ends only parse their input and print or send the result.
 */
#ifndef CR_CLEANROOM_OPS_H
#define CR_CLEANROOM_OPS_H

#include <stdio.h>

#include <jansson.h>

#include "cleanroom/collab.h"
#include "cleanroom/dataset.h"
#include "cleanroom/ingest.h"
#include "cleanroom/registry.h"

#define OPS_WHY_MAX 256

/* ------------------------------------------------------------- datasets */

/*
 * Creates dataset `d` (filled but for id, key version and creation time)
 * of brand `brand` (its name, for the audit leaf): every purpose must be
 * declared by the brand's current notice, every recipient for one of the
 * purposes (CR_ERR_DATASET_PURPOSES, or CR_ERR_CONSENT_NOTICE_NOT_FOUND
 * without a notice, with the reason in `why`), every purpose must be
 * covered by an impact assessment of the brand (CR_ERR_PIA_MISSING, the
 * purpose and why it needs one in `why`; R12, R28, pia.h), then the dataset and its
 * "dataset.create" leaf are stored together. CR_ERR_DATASET_EXISTS on a
 * name clash.
 */
cr_err ops_dataset_create(struct app *a, const struct registry_actor *who, const char *brand,
			  struct dataset *d, char *why, size_t why_cap) CR_MUST_CHECK;

/* A dataset's description (name, purposes, columns, records, ...); new reference. */
json_t *ops_dataset_json(struct app *a, const struct dataset *d);

/* --------------------------------------------------------------- ingest */

/* Where ingestion progress goes between batches (may be NULL). */
typedef void (*ops_progress_fn)(void *ctx, uint64_t rows, uint64_t bytes);

/*
 * Ingests `f` (seekable, borrowed) into `d` of brand `brand` through the
 * registry's consent gate, one "dataset.ingest" leaf per committed batch,
 * with `threads` workers (0: one per core). A structural failure returns
 * its error with the reason in err[errcap] and stores nothing.
 */
cr_err ops_ingest(struct app *a, const struct registry_actor *who, const char *brand,
		  const struct dataset *d, FILE *f, const char *name_hint,
		  const struct crypto_id_opts *id_opts, unsigned threads,
		  ops_progress_fn progress, void *progress_ctx, struct ingest_report *rep,
		  char *err, size_t errcap) CR_MUST_CHECK;

/* The ingest report as JSON (the CLI's --json and the API's reply); new reference. */
json_t *ops_ingest_report_json(const struct ingest_report *r, const char *brand,
			       const char *dataset);

/* ------------------------------------------------------- consent import */

/* Sees each refused line (number, code, reason naming a field, never a subject). */
typedef void (*ops_refused_fn)(void *ctx, uint64_t line, cr_err code, const char *why);
/* Sees progress after each committed batch (may be NULL). */
typedef void (*ops_lines_fn)(void *ctx, uint64_t lines, uint64_t bytes);

/*
 * Imports NDJSON consent events of `brand` from `in` (borrowed), in batches
 * of 1000 lines: each batch's events and their audit leaves are committed
 * together. On a fatal error the open batch is rolled back (earlier batches
 * stay stored) and *sum counts the lines before it. `channel` is recorded
 * on every line that states none ("import" from the CLI, "api" from the
 * batch route; method "import"), R24.
 */
cr_err ops_consent_import(struct app *a, const struct registry_actor *who, int64_t brand,
			  const char *channel,
			  FILE *in, ops_refused_fn refused, ops_lines_fn lines, void *ctx,
			  struct consent_import_summary *sum) CR_MUST_CHECK;

/* The import summary as JSON; new reference. */
json_t *ops_import_summary_json(const struct consent_import_summary *s);

/* -------------------------------------------------------------- consent */

/*
 * A subject's whole history (consent_export_subject over pseudonyms p[0..n))
 * with the receipt of every grant, refusal, withdrawal and objection in it
 * under "receipts" (R27, R29: however the event arrived). *out is a new
 * reference.
 */
cr_err ops_subject_export(struct app *a, int64_t brand, const struct crypto_pseudonym *p, size_t n,
			  json_t **out) CR_MUST_CHECK;

/*
 * Access and portability (GDPR 15, 20; PIPL 45; ops_access.c): the
 * subject export (history, notices seen, receipts) plus "held", what the
 * brand holds under p[0..n) today: per dataset its name, purposes,
 * recipients, when stored and the attribute values, and "format"
 * "cr-subject-access-v1". ops_subject_holdings gives "held" alone.
 */
cr_err ops_subject_access(struct app *a, int64_t brand, const struct crypto_pseudonym *p, size_t n,
			  json_t **out) CR_MUST_CHECK;
cr_err ops_subject_holdings(struct app *a, int64_t brand, const struct crypto_pseudonym *p, size_t n,
			    json_t **out) CR_MUST_CHECK;

/*
 * Erases subject p[0] (current key) and its older-key pseudonyms p[1..n)
 * (registry_erase) and describes it as JSON (*out, new reference):
 * {"status":"erased","erased":{counts},"kept":[reasons],"receipt":
 * the withdrawal's receipt (no pseudonym),"erasure":{"audit_index",
 * "audit_proof"}}, the same for `cleanroom consent erase` and the route.
 */
cr_err ops_subject_erase(struct app *a, const struct registry_actor *who, int64_t brand,
			 const struct crypto_pseudonym *p, size_t n, json_t **out) CR_MUST_CHECK;

/*
 * The decisions for subject `p` of `brand` at `at`: every purpose and every
 * (purpose, recipient) of the current notice, appended to `list` as
 * {"purpose","recipient","allowed","reason"}.
 */
cr_err ops_consent_status(struct app *a, int64_t brand, const struct crypto_pseudonym *p,
			  cr_time_ms at, json_t *list) CR_MUST_CHECK;

/* -------------------------------------------------------------- receipts */

/*
 * Verifies a receipt: the signature with the receipts' verifier key text
 * `rkey` (consent_receipt_verify's codes; receipts have their own key, not
 * the log's) and, when attached, the audit inclusion proof with the log's
 * `vkey`, which must prove the receipt's own audit index
 * (CR_ERR_AUDIT_VERIFY-class codes). `why` gets a reason on refusal;
 * *had_proof whether a proof was checked. *info written on success.
 */
cr_err ops_receipt_verify(const char *rkey, const char *vkey, const char *json, size_t len,
			  struct consent_receipt_info *info, bool *had_proof, char *why,
			  size_t why_cap) CR_MUST_CHECK;

/* -------------------------------------------------------- collaborations */

/*
 * Creates a collaboration on dataset `dataset` of brand `brand` (name) /
 * `brand_id`: `c` carries the partner and the rule's numbers; `dims` and
 * `metrics` (NULL: "count") are parsed against the dataset. The dataset is
 * looked up first (CR_ERR_DATASET_NOT_FOUND), then collab_rule_parse and
 * collab_create run, with the reason of a refusal in `why`.
 */
cr_err ops_collab_create(struct app *a, const struct registry_actor *who, const char *brand,
			 int64_t brand_id, const char *dataset, const char *dims, const char *metrics,
			 struct collab *c, char *why, size_t why_cap) CR_MUST_CHECK;

/* The rule with its brand, dataset and budget left; new reference. */
json_t *ops_collab_json(struct app *a, const struct collab *c);

/*
 * The budget ledger of c's (dataset, partner) pair, as both sides see it:
 * the dataset, the partner, the pair's collaborations, its budget (and the
 * one it started with), spent and left, every debit of every collaboration
 * on the pair and every raise; *out a new reference.
 */
cr_err ops_collab_ledger_json(struct app *a, const struct collab *c, json_t **out) CR_MUST_CHECK;

/*
 * Raises the budget of c's pair to `to_milli` (collab_budget_raise, which
 * refuses anything but a raise): c's dataset and brand name are looked up
 * for the leaf. The caller has checked that `who` is the brand that owns
 * c (api_collab_scope on a brand-only route; the CLI's --brand).
 */
cr_err ops_collab_raise(struct app *a, const struct registry_actor *who, const struct collab *c,
			uint64_t to_milli, char *why, size_t why_cap) CR_MUST_CHECK;

/* ----------------------------------------------------------------- audit */

/* One audit log entry as JSON (CLI --json and the API); new reference. */
json_t *ops_audit_record_json(const struct audit_record *r);

#endif
