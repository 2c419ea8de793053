/*
 * registry.h: the orchestrator's side of the consent registry (internal to
 * cleanroom/). Every function here runs one state change of consent/ and
 * its audit leaf in one transaction (I5, docs/spec/invariants.md), and for withdrawals also
 * the purge of the subject's records (I3), which consent/ triggers through
 * the callback this file registers.
 */
#ifndef CR_CLEANROOM_REGISTRY_H
#define CR_CLEANROOM_REGISTRY_H

#include "consent/consent.h"
#include "cleanroom/app.h"
#include "cleanroom/ingest.h"

/* Who is acting, for the audit leaf ("brand"/"cli", "subject"/"web", ...). */
struct registry_actor {
	const char *role;
	const char *id;
};

/* Resolves a brand name; CR_ERR_CONSENT_BRAND_NOT_FOUND if there is none. */
cr_err registry_brand(struct app *a, const char *name, int64_t *id) CR_MUST_CHECK;

/* Creates a brand (audited: "brand.create"). */
cr_err registry_brand_create(struct app *a, const struct registry_actor *who,
			     const char *name, int64_t *id_out) CR_MUST_CHECK;

/*
 * Sets the brand's child age for `jurisdiction` ("EU" or a member state,
 * 13 to 16; R15, GDPR 8), audited: "brand.child_age". It applies to every
 * decision from then on. CR_ERR_CONSENT_CHILD_AGE for anything else.
 */
cr_err registry_brand_child_age(struct app *a, const struct registry_actor *who, int64_t brand,
				const char *jurisdiction, int age) CR_MUST_CHECK;

/*
 * Records a verified guardian link (R16) for the child's pseudonym (never
 * the plain identifier), audited in the same transaction: "guardian.link"
 * with the subject's commitment and nothing of the guardian. The same link
 * again writes nothing and sets *duplicate (may be NULL). A refusal's
 * reason goes to `why`.
 */
cr_err registry_guardian_link(struct app *a, const struct registry_actor *who, int64_t brand,
			      const struct consent_guardian_link *l, bool *duplicate, char *why,
			      size_t why_cap) CR_MUST_CHECK;
/* The "guardian.link" leaf alone, inside the caller's transaction (imports). */
cr_err registry_audit_guardian_link(struct app *a, const struct registry_actor *who, int64_t brand,
				    const struct crypto_pseudonym *child) CR_MUST_CHECK;

/*
 * Publishes a notice (audited: "notice.publish" with version and hash),
 * effective at `published_at` (now, or earlier when back-filling a history).
 * `why` receives consent/'s reason on a refusal (fields named).
 */
cr_err registry_notice_publish(struct app *a, const struct registry_actor *who,
			       int64_t brand, const char *json, size_t len, cr_time_ms published_at,
			       struct consent_notice_published *out, char *why,
			       size_t why_cap) CR_MUST_CHECK;

/*
 * Stores one consent event (grant, refuse, served, object, withdraw) with
 * its audit leaf; a withdrawal also purges (I3). For grants and withdrawals
 * *receipt_out (may be NULL; handed over, free()) gets the signed receipt
 * (R27) carrying the leaf's audit index. A refusal's reason (naming the
 * field, never the subject) goes to `why`.
 */
cr_err registry_event(struct app *a, const struct registry_actor *who, int64_t brand,
		      const struct consent_event *ev, struct consent_change *change,
		      char **receipt_out, char *why, size_t why_cap) CR_MUST_CHECK;

/*
 * A withdrawal naming several scopes (consent_event_scopes) is recorded as
 * that many withdrawals, each with its leaf, in one transaction; the change,
 * the index and the receipt are those of the first.
 *
 * registry_event in its two steps, for a caller whose commit completes
 * later (a member of a commit group, group.h): registry_record stores the
 * event and its leaf (*index_out: the leaf's index; unchanged for a
 * duplicate); once that is committed, registry_receipt makes the receipt
 * with its inclusion proof (`flags` as consent_receipt_create's: 0, or
 * CONSENT_RECEIPT_WITHHOLD_SUBJECT for a reply that must not name the
 * pseudonym) (*receipt_out NULL when the change gets none:
 * duplicates and events other than grants and withdrawals).
 */
cr_err registry_record(struct app *a, const struct registry_actor *who, int64_t brand,
		       const struct consent_event *ev, struct consent_change *change,
		       uint64_t *index_out, char *why, size_t why_cap) CR_MUST_CHECK;
cr_err registry_receipt(struct app *a, int64_t brand, const struct consent_change *c,
			uint64_t index, unsigned flags, char **receipt_out) CR_MUST_CHECK;
/* registry_record inside a transaction the caller opened (app_begin) and ends. */
cr_err registry_record_in_txn(struct app *a, const struct registry_actor *who, int64_t brand,
			      const struct consent_event *ev, struct consent_change *change,
			      uint64_t *index_out, char *why, size_t why_cap) CR_MUST_CHECK;

/*
 * Erasure (GDPR 17, PIPL 47) of the subject `p` (the brand's current
 * pseudonym) and its `n_aliases` older-key pseudonyms, in one transaction:
 * a withdrawal of every consent (which purges every record, I3, and keeps
 * the subject on the suppression list, R33); the links from the subject's
 * consent events to their leaves deleted; the subject's audit salts and
 * index rows deleted (audit_subject_erase), so that no leaf can be tied to
 * the person again, and the subject search finds nothing; and one
 * "subject.erase" leaf with the counts and no subject. Kept: the
 * pseudonymous consent events (R26, evidence of past lawfulness), the
 * suppression entry, and every leaf (every proof stays valid).
 * After the commit, *out gets the counts, the withdrawal's receipt (naming
 * no pseudonym) and the erasure leaf's inclusion proof, handed over.
 */
struct registry_erasure {
	uint64_t purged_records;       /* records the withdrawal purged */
	uint64_t event_links;          /* consent_event_leaves rows deleted */
	uint64_t index_rows;           /* audit_subjects rows deleted */
	uint64_t salts;                /* audit_salts rows deleted (pseudonyms that had one) */
	uint64_t erase_index;          /* the subject.erase leaf */
	char *withdrawal_receipt;      /* handed over (free()) */
	char *erase_proof;             /* tlog-proof of the subject.erase leaf; handed over */
};
cr_err registry_erase(struct app *a, const struct registry_actor *who, int64_t brand,
		      const struct crypto_pseudonym *p, const struct crypto_pseudonym *aliases,
		      size_t n_aliases, struct registry_erasure *out) CR_MUST_CHECK;
void registry_erasure_release(struct registry_erasure *e);

/*
 * The receipt of a stored grant, refusal, withdrawal or objection however it
 * arrived (R27: an import's events too), made again from the event and its
 * audit leaf, with the leaf's inclusion proof; *receipt_out handed over
 * (free()). CR_ERR_CONSENT_EVENT_NOT_FOUND for an event not the brand's,
 * CR_ERR_CONSENT_RECEIPT_EVENT for a served or expire event,
 * CR_ERR_AUDIT_NOT_FOUND when its leaf is no longer findable (erased).
 */
cr_err registry_event_receipt(struct app *a, int64_t brand, int64_t event_id,
			      char **receipt_out) CR_MUST_CHECK;

/* The audit entry of a stored consent change (for batch imports). */
cr_err registry_audit_change(struct app *a, const struct registry_actor *who,
			     const struct consent_change *c, uint64_t *index_out) CR_MUST_CHECK;

#define REGISTRY_SCOPES_MAX (DATASET_PURPOSES_MAX * (DATASET_PURPOSES_MAX + 1))

/* Which (purpose, recipient) scopes a dataset's records need (I2). */
struct registry_scopes {
	size_t n;
	const char *purpose[REGISTRY_SCOPES_MAX];
	const char *recipient[REGISTRY_SCOPES_MAX]; /* NULL: the purpose alone */
};

/* The gate's state: the scopes of the dataset it last saw. */
struct registry_gate {
	struct app *a;
	int64_t dataset_id;
	struct registry_scopes s;
};

/*
 * The ingest gate over the registry: a record of dataset `d` is admitted
 * at `at` only if, for every purpose, consent_valid_at allows it, and for
 * every (purpose, recipient) the dataset shares with, the separate sharing
 * consent does too (I2); a subject on the suppression list with no new
 * grant is "suppressed" (R33). `g` is borrowed by `out`.
 */
void registry_ingest_gate(struct registry_gate *g, struct app *a, struct ingest_gate *out);

/*
 * Whether a stored record of `d` may still be used at `at` (the same test
 * as the gate), for the purge and for matching.
 */
cr_err registry_record_allowed(struct app *a, const struct dataset *d,
			       const struct crypto_pseudonym *p, cr_time_ms at,
			       enum ingest_verdict *verdict, char reason[40]) CR_MUST_CHECK;

/* The subject (raw identifier or digest) as the brand's pseudonym. */
cr_err registry_subject(struct app *a, int64_t brand, const char *subject,
			const char *id_type, struct crypto_pseudonym *out,
			struct crypto_pseudonym aliases[CONSENT_KEY_VERSIONS_MAX],
			size_t *n_aliases) CR_MUST_CHECK;

/* The purge callback consent/ calls on withdrawal (registered by app_open). */
cr_err registry_purge(void *user, int64_t brand, const struct crypto_pseudonym *subject,
		      const char *purpose, const char *recipient);

/* The DDL of the registry's own table (store.c's migration 12): consent_event_leaves. */
extern const char registry_schema_v1[];

#endif
