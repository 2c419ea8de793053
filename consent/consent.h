/*
 * consent.h: the consent registry (docs/spec/consent-rules.md, docs/spec/formats.md).
 *
 * Brands publish immutable, content-hashed privacy notices; consent events
 * (served, grant, refuse, withdraw, object, expire) are appended, never
 * updated; consent_valid_at() answers "may this subject's data be processed
 * for this purpose (and shared with this recipient) at time t" from that
 * append-only history (R18). Withdrawal puts the subject on a suppression
 * list and calls the orchestrator's purge callback (I3). Grants and
 * withdrawals get signed receipts (R27); a subject's history and the whole
 * registry can be exported (R29).
 *
 * Layers, bottom up:
 *   schema.c    the DDL (consent_schema_v1) and brands
 *   notice.c    notice parsing, R04 checks, canonical form and hash, publish
 *   catalog.c   the per-brand notice catalog cached in the context
 *   registry.c  the context, storing events, suppression, withdrawal
 *   rules.c     consent_valid_at
 *   event.c     one NDJSON consent-event line -> struct consent_event
 *   import.c    importers (keys) and the batch/stream import
 *   receipt.c   signed receipts and their verification
 *   export.c    subject history and whole-registry export
 * Only event.c and import.c need the keyring: everything below them takes
 * 32-byte pseudonyms.
 *
 * Transactions: every function that writes runs inside the caller's
 * transaction and never BEGINs or COMMITs. Each call is atomic on its own:
 * an event is one INSERT (a trigger fills its index row in the same
 * statement); a withdrawal or notice, which take several statements, runs
 * in a SAVEPOINT. So a failure leaves nothing of that call behind while the
 * caller's transaction stays open (the caller then rolls back or goes on).
 * The caller appends the audit leaf from the struct the function fills
 * (struct consent_change, struct consent_notice_published) in the same
 * transaction (I5, docs/spec/invariants.md). Nothing here includes audit/ or cleanroom/.
 *
 * Speed: run decisions and imports inside a transaction. Outside one, each
 * call also re-reads the brand's catalog generation (another connection may
 * have committed) and every statement takes and drops SQLite's read lock.
 *
 * Personal data: only keyed pseudonyms are stored or returned (I1, R30).
 * Refusal messages name the field and never echo a subject.
 *
 * Threads: a context is bound to one connection and used by one thread at a
 * time, like the connection itself.
 */
#ifndef CR_CONSENT_H
#define CR_CONSENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>

#include <sqlite3.h>

#include "common/common.h"
#include "crypto/crypto.h"

/* ================================================================ limits */

#define CONSENT_CODE_MAX 64          /* purpose codes, recipient ids: [a-z0-9_.-] */
#define CONSENT_BRAND_NAME_MAX 64    /* brand names: [a-z0-9_.-] */
#define CONSENT_FIELD_MAX 64         /* channel, method, signal: printable ASCII */
#define CONSENT_REF_MAX 256          /* guardian_ref: printable ASCII */
#define CONSENT_EVIDENCE_MAX 512     /* evidence: UTF-8, no control characters */
#define CONSENT_LINE_MAX 16384       /* one NDJSON event line, without its newline */
#define CONSENT_NOTICE_MAX (1u << 20) /* one notice file */
#define CONSENT_KEY_VERSIONS_MAX 16  /* pseudonym key versions per brand */
#define CONSENT_WHY_MAX 192          /* refusal messages */
#define CONSENT_HASH_BYTES 32

/* "No time": an absent expiry. */
#define CONSENT_TIME_NONE INT64_MIN

/* ================================================================ schema */

/*
 * The registry's DDL, run by the orchestrator's store migrations (one
 * migration; later changes get a consent_schema_v2 and a new migration).
 * Tables (all STRICT):
 *   brands                    id, name, key_version, catalog_gen, created_ms
 *   consent_child_ages        per brand: EU / member-state age thresholds (R15)
 *   consent_notices           (brand, version): hash, canonical JSON, material,
 *                             language, jurisdictions, published_ms; immutable
 *   consent_purposes          (brand, version, code): sensitive, shares_data,
 *                             marketing
 *   consent_recipients        (brand, version, id): name, contact, country,
 *                             purpose, categories
 *   consent_notice_changes    what a material version added (R06)
 *   consent_events            append-only, insertion order; every R24 field
 *   consent_event_keys        the events as the rules read them, clustered by
 *                             subject; its key refuses duplicates; filled
 *                             by a trigger on consent_events
 *   consent_suppression       append-only suppression list (R33)
 *   consent_guardian_links    R16: verified guardian links (consent_guardian_link_add)
 *   consent_impact_assessments R12/R13/R28: enforced by cleanroom/pia.c
 * and the view consent_subjects (brand, pseudonym, key_version, latest
 * birth_year and jurisdiction stated, first/last seen, event count).
 * Triggers make notices, events and the suppression list append-only: an
 * UPDATE or DELETE aborts.
 */
extern const char consent_schema_v1[];
/* Migration 2: the tables the rules read (purposes, recipients, notice
 * changes) become append-only by trigger as well (R24). */
extern const char consent_schema_v2[];
/* Migration 15: guardian links get verified_by, a key per (brand, child,
 * key version, guardian_ref) and append-only triggers (R16). */
extern const char consent_schema_v3[];
/* Migration 18: consent_event_keys holds the rules' columns of an event as
 * one text (schema.c says why), rebuilt from consent_events. */
extern const char consent_schema_v4[];

/* ============================================================== context */

/*
 * A registry handle on one connection: caches prepared statements, the
 * notice catalogs of recently used brands and the last subject's history,
 * all revalidated against the database's data version, so a change made
 * through another connection or context is seen at once.
 */
struct consent_ctx;

/*
 * Binds a context to `db` (borrowed: it must outlive the context, and the
 * schema must already be applied). *out is handed over; release it with
 * consent_ctx_free before closing the connection.
 */
cr_err consent_ctx_new(sqlite3 *db, struct consent_ctx **out) CR_MUST_CHECK;
/* Finalizes the statements and frees the caches; accepts NULL. */
void consent_ctx_free(struct consent_ctx *ctx);
/* The connection (borrowed). */
sqlite3 *consent_ctx_db(const struct consent_ctx *ctx);
/*
 * on: the caller holds one read transaction on a query-only connection
 * until it calls this again with false, so nothing ctx reads can change
 * meanwhile. Caches filled during it (a subject's history and
 * suppressions, a brand's catalog) are then reused without asking SQLite
 * whether the database moved, which a decision otherwise does several
 * times. Caches filled before, or in an earlier snapshot, are not trusted.
 */
void consent_ctx_snapshot(struct consent_ctx *ctx, bool on);

/*
 * A scan: the consent state of the subjects whose pseudonym's first byte
 * is in [lo, hi) (hi at most 256) for one brand, read in one pass over the
 * events and suppression tables (consent/scan.c) instead of one look-up
 * per subject. Ask for subjects in increasing memcmp order of pseudonym:
 * consent_scan_load(s, p) moves the scan to p and leaves p's events and
 * suppression entries in the context's caches, so that the decisions on p
 * that follow (consent_valid_at, consent_suppressed_at, and the gate
 * built on them) decide exactly as without a scan, without reading the
 * tables. A p out of the range or before the previous one is
 * CR_ERR_INVALID_ARG. The scan reads in the connection's current
 * transaction; close it before the context. For gates over many records
 * of one brand (a match's load and re-check).
 */
struct consent_scan;
cr_err consent_scan_open(struct consent_ctx *ctx, int64_t brand, unsigned lo, unsigned hi,
			 struct consent_scan **out) CR_MUST_CHECK;
cr_err consent_scan_load(struct consent_scan *s, const struct crypto_pseudonym *p) CR_MUST_CHECK;
void consent_scan_close(struct consent_scan *s); /* accepts NULL */

/*
 * Whether decisions made earlier still hold (consent/stable.c), so that a
 * gate run twice over the same records (a match's load and its re-check)
 * can tell when the second run would decide exactly as the first.
 *
 * A mark of everything a decision about a brand's subject reads: the
 * largest consent event id and guardian link id (both tables insert-only,
 * R18), the brand's suppression entry count (insert-only) and its catalog
 * generation and key version (brands.catalog_gen is bumped by every notice
 * and setting change). Equal marks: nothing a decision reads was written
 * between them. Any brand's event moves the mark (conservative).
 */
struct consent_mark {
	int64_t events, guardians, suppressions, catalog_gen, key_version;
};
cr_err consent_mark_get(struct consent_ctx *ctx, int64_t brand, struct consent_mark *out) CR_MUST_CHECK;
bool consent_mark_equal(const struct consent_mark *a, const struct consent_mark *b);

/*
 * The earliest instant after `at` at which a decision about subject p, as
 * the context's caches hold it (p must be the subject last loaded, by a
 * decision or by consent_scan_load, with the database unchanged since:
 * otherwise CR_ERR_INVALID_ARG), could
 * come out otherwise with nothing written: the next effective time, expiry
 * or suppression start in p's history after `at`, the brand's next notice
 * publication after `at`, or the next new year in UTC (ages are known by
 * year only). Every comparison of the rules with the decision's time is
 * against one of these. INT64_MAX never occurs: the new year bounds it.
 */
cr_err consent_stable_until(struct consent_ctx *ctx, int64_t brand, const struct crypto_pseudonym *p,
			    cr_time_ms at, cr_time_ms *out) CR_MUST_CHECK;

/*
 * Deletes what depended on a withdrawn consent (R19, I3) or what a
 * marketing objection now forbids (R21, with NULL scope): called by
 * consent_withdraw, and by consent_record for an objection, once per
 * pseudonym of the subject (its current and older
 * key versions), inside the caller's transaction, after the withdrawal
 * event and the suppression entries are written, so the callback may call
 * consent_valid_at on the same context to see the state after withdrawal.
 * `purpose` and `recipient` give the scope (NULL: all purposes / recipients).
 * The callback must delete only what no other valid consent still covers
 * (partial withdrawal, edge case 4). A non-OK return aborts the withdrawal
 * (nothing of it stays) and is returned to the caller, who rolls back.
 * All pointers are borrowed for the call.
 */
typedef cr_err (*consent_purge_fn)(void *user, int64_t brand,
				   const struct crypto_pseudonym *subject,
				   const char *purpose, const char *recipient);
/* Registers the purge callback (fn NULL unregisters). `user` is borrowed. */
void consent_set_purge_callback(struct consent_ctx *ctx, consent_purge_fn fn, void *user);

#define CONSENT_SKEW_DEFAULT_MS (5 * 60 * 1000)  /* 5 minutes */
#define CONSENT_SKEW_MAX_MS (24 * 3600 * 1000)   /* a day */

/*
 * The clock events are checked against (R18): an event whose `time` or
 * `received` lies more than skew_ms past now(user) is refused, so nothing
 * can be dated ahead of its arrival and take effect (or be deferred) later
 * than it says. `now` NULL means cr_time_now (the default, with
 * CONSENT_SKEW_DEFAULT_MS); tests pass a fixed clock. skew_ms above
 * CONSENT_SKEW_MAX_MS or negative is misuse and aborts.
 */
void consent_set_clock(struct consent_ctx *ctx, cr_time_ms (*now)(void *user), void *user,
		       cr_time_ms skew_ms);

/* ================================================================ brands */

/*
 * Creates brand `name` (1-64 of [a-z0-9_.-], else CR_ERR_CONSENT_BRAND_NAME;
 * CR_ERR_CONSENT_BRAND_EXISTS if taken) with pseudonym key version 1.
 * Writes *id_out on success.
 */
cr_err consent_brand_create(struct consent_ctx *ctx, const char *name, cr_time_ms now,
			    int64_t *id_out) CR_MUST_CHECK;
/* Finds a brand by name; CR_ERR_CONSENT_BRAND_NOT_FOUND if none. */
cr_err consent_brand_find(struct consent_ctx *ctx, const char *name, int64_t *id_out) CR_MUST_CHECK;
/* The brand's name into name[CONSENT_BRAND_NAME_MAX + 1]. */
cr_err consent_brand_name(struct consent_ctx *ctx, int64_t brand,
			  char name[static CONSENT_BRAND_NAME_MAX + 1]) CR_MUST_CHECK;
/* The brand's current pseudonym key version (R33); new events use it. */
cr_err consent_brand_key_version(struct consent_ctx *ctx, int64_t brand,
				 uint32_t *out) CR_MUST_CHECK;
/*
 * Sets the age under which a child needs a guardian's grant (R15, GDPR 8)
 * for `jurisdiction`: "EU" (all member states without their own setting) or
 * an EU member state's ISO code ("DE", "FR", ...). `age` must be 13..16.
 * CN's 14 is fixed by PIPL 28 and not configurable. CR_ERR_CONSENT_CHILD_AGE
 * otherwise.
 */
cr_err consent_brand_set_child_age(struct consent_ctx *ctx, int64_t brand,
				   const char *jurisdiction, int age) CR_MUST_CHECK;

/* True for "EU" and the 27 member states' codes (and "EL" for Greece). */
bool consent_jur_is_eu(const char *jur);

/* =============================================================== notices */

/*
 * Notice JSON is docs/spec/formats.md's, plus these optional per-purpose fields
 * (compatible extensions):
 *   "shares_data": bool  the purpose hands data to recipients (default: true
 *                        if a recipient names the purpose); a purpose that
 *                        shares data needs at least one recipient (R04)
 *   "marketing":   bool  matching/profiling for advertising, so a marketing
 *                        objection blocks it (R21); default TRUE, because
 *                        every purpose of an advertising clean room is one
 *                        unless the brand says otherwise
 * Unknown fields are refused (at every level), as are duplicate keys,
 * duplicate purpose codes or recipient ids, and non-integer numbers.
 *
 * Canonical form (the hashed "canonical text" of R04): the parsed document
 * re-serialized by jansson with JSON_COMPACT | JSON_SORT_KEYS: no
 * whitespace, object keys sorted by their UTF-8 bytes, strings as UTF-8 with
 * only '"', '\\' and control characters escaped, integers in decimal. The
 * content hash is SHA-256 of those bytes. Fields are kept as given (defaults
 * are not written in), so the hash depends only on what the brand wrote.
 */

/* What publishing did, for the audit leaf. */
struct consent_notice_published {
	int64_t brand;
	uint32_t version;
	uint8_t hash[CONSENT_HASH_BYTES];
	bool material;
	bool already;          /* the same version and content was already published: nothing written */
	cr_time_ms published;
};

/*
 * Parses and checks a notice without storing it: R04 (handler name and
 * contact, purposes, methods, categories, retention, rights, text; for
 * sharing, each recipient's name, contact, country, purpose and categories),
 * types, limits and codes. On failure returns CR_ERR_CONSENT_NOTICE_MALFORMED
 * (not JSON, or not an object), CR_ERR_CONSENT_NOTICE_TOO_LARGE or
 * CR_ERR_CONSENT_NOTICE_INCOMPLETE, with `why` (may be NULL) naming every
 * missing or invalid field ("missing: controller.contact, retention").
 * On success writes the version and content hash.
 */
cr_err consent_notice_check(const char *json, size_t len, uint32_t *version,
			    uint8_t hash[static CONSENT_HASH_BYTES], char *why,
			    size_t why_cap) CR_MUST_CHECK;

/*
 * Publishes a notice version for `brand` at time `published_at` (normally
 * now; a back-filled history may give an earlier time). Checks as
 * consent_notice_check, then:
 *   - the same version with the same hash again: CR_OK, out->already set;
 *   - the same version with other content: CR_ERR_CONSENT_NOTICE_IMMUTABLE;
 *   - a version not above the latest, or published_at earlier than the
 *     latest's: CR_ERR_CONSENT_NOTICE_VERSION;
 *   - a version that adds a purpose, method, data category or recipient (or
 *     widens a recipient's terms, or makes a purpose sensitive, sharing or
 *     marketing) compared with the latest, but says "material": false:
 *     CR_ERR_CONSENT_NOTICE_NOT_MATERIAL, the addition named in `why` (R06).
 * A material version records what it added (consent_notice_changes); one
 * flagged material with nothing we can scope counts as changing everything.
 * Runs in the caller's transaction. `out` may be NULL.
 */
cr_err consent_notice_publish(struct consent_ctx *ctx, int64_t brand, const char *json,
			      size_t len, cr_time_ms published_at,
			      struct consent_notice_published *out, char *why,
			      size_t why_cap) CR_MUST_CHECK;

/* The latest published version (the "current" one); CR_ERR_CONSENT_NOTICE_NOT_FOUND if none. */
cr_err consent_notice_current(struct consent_ctx *ctx, int64_t brand,
			      uint32_t *version) CR_MUST_CHECK;
/*
 * A published version's canonical JSON (R07: every version stays
 * retrievable) and hash. version 0 means the current one. *json_out
 * (NUL-terminated) is handed over (free()); either out may be NULL.
 */
cr_err consent_notice_get(struct consent_ctx *ctx, int64_t brand, uint32_t version,
			  char **json_out, uint8_t hash[CONSENT_HASH_BYTES]) CR_MUST_CHECK;
/*
 * Whether notice `version` (0: current) declares `purpose`, and, when
 * `recipient` is not NULL, that recipient for that purpose. For the
 * orchestrator's dataset checks.
 */
cr_err consent_notice_declares(struct consent_ctx *ctx, int64_t brand, uint32_t version,
			       const char *purpose, const char *recipient,
			       bool *out) CR_MUST_CHECK;

/* ================================================================ events */

/* Never renumbered: the values are stored nowhere, but tables index them. */
enum consent_event_type {
	CONSENT_EV_SERVED = 1,   /* the notice version was shown to the subject */
	CONSENT_EV_GRANT,        /* consent given for one purpose (and recipient) */
	CONSENT_EV_REFUSE,       /* consent refused */
	CONSENT_EV_WITHDRAW,     /* consent withdrawn (scope: purpose/recipient/all) */
	CONSENT_EV_OBJECT,       /* marketing objection or GPC signal (R21) */
	CONSENT_EV_EXPIRE,       /* an expiry the brand records after the fact */
	CONSENT_EV_COUNT
};
/* "served", "grant", ...; NULL outside the enum. */
const char *consent_event_type_name(enum consent_event_type t);

enum consent_actor {
	CONSENT_ACTOR_NONE = 0,  /* not stated */
	CONSENT_ACTOR_SUBJECT,
	CONSENT_ACTOR_GUARDIAN,
	CONSENT_ACTOR_BRAND,
	CONSENT_ACTOR_AUTHORITY,
	CONSENT_ACTOR_COUNT
};
/* "subject", ...; NULL for NONE or outside the enum. */
const char *consent_actor_name(enum consent_actor a);

/*
 * One consent event (R24). Strings are NUL-terminated in fixed buffers;
 * "" means absent. Which fields a type requires or accepts is the table in
 * event.c (docs/spec/formats.md); consent_record checks them again, so events built
 * by hand (CLI single events, the consent page) get the same checks.
 *
 * Times: `time` is when the act happened; `received` when the service got
 * it. Grants, refusals and served events take effect at `time`;
 * withdrawals, objections and expiries at `received` (R18: "withdrawal
 * takes effect at its receipt time").
 */
#define CONSENT_SPLIT_MAX 8 /* scopes one withdrawal request may name */

/* One (purpose, recipient) scope; "" for either: all. */
struct consent_scope {
	char purpose[CONSENT_CODE_MAX + 1];
	char recipient[CONSENT_CODE_MAX + 1];
};

/*
 * The scopes the current notice declares, from the cached catalog (no
 * JSON parsed): every purpose (recipient ""), then every recipient with
 * its purpose, each group in code order. *out (*n entries) is handed
 * over (free()); CR_ERR_CONSENT_NOTICE_NOT_FOUND if the brand has no
 * notice.
 */
cr_err consent_notice_scopes(struct consent_ctx *ctx, int64_t brand, struct consent_scope **out,
			     size_t *n) CR_MUST_CHECK;

struct consent_event {
	enum consent_event_type type;
	struct crypto_pseudonym subject;   /* under the brand's current key version */
	/*
	 * The same subject under the brand's older key versions, when known
	 * (the importer fills them from the digest). A withdrawal suppresses
	 * and purges every one (R33, edge case 10). Ignored for other types.
	 */
	size_t n_aliases;
	struct crypto_pseudonym aliases[CONSENT_KEY_VERSIONS_MAX];
	char purpose[CONSENT_CODE_MAX + 1];
	char recipient[CONSENT_CODE_MAX + 1];
	uint32_t notice_version;           /* 0: none */
	enum consent_actor actor;
	char channel[CONSENT_FIELD_MAX + 1];
	char method[CONSENT_FIELD_MAX + 1];
	char signal[CONSENT_FIELD_MAX + 1];
	char guardian_ref[CONSENT_REF_MAX + 1];
	char jurisdiction[3];              /* ISO 3166 alpha-2 or "EU"; "" unknown */
	int birth_year;                    /* 0: not given */
	char evidence[CONSENT_EVIDENCE_MAX + 1];
	cr_time_ms time;
	cr_time_ms received;
	bool received_given;               /* `received` came with the event (history
					    * imports); false when stamped on arrival */
	cr_time_ms expires;                /* CONSENT_TIME_NONE: no expiry (grants only) */
	/*
	 * A withdrawal naming several scopes (consent_withdraw_scope_set) is
	 * as many withdrawals: n_split > 1 scopes in split[], the first also in
	 * purpose/recipient. 0 for every other event.
	 */
	size_t n_split;
	struct consent_scope split[CONSENT_SPLIT_MAX];
};

/* Zeroes *ev and sets expires to CONSENT_TIME_NONE. */
void consent_event_init(struct consent_event *ev, enum consent_event_type type);

/*
 * Sets a withdrawal's scope from its purpose and recipient texts as written
 * (np and nr texts, each one code or several separated by , ; | + & or
 * blanks; none: all). A withdrawal is never refused for its form (R17):
 * codes are trimmed and lowercased; several codes make several scopes,
 * every purpose with every recipient (at most CONSENT_SPLIT_MAX, recorded
 * as as many withdrawals); a text that is still not a code widens the
 * withdrawal (a recipient to its whole purpose, a purpose to everything),
 * and so do too many scopes. Bundling (R09) is a rule for grants only.
 */
void consent_withdraw_scope_set(struct consent_event *ev, const char *const *purposes, size_t np,
				const char *const *recipients, size_t nr);
/*
 * R24: how the event arrived, for what it does not state. `channel` and
 * `method` fill empty fields; an event with no actor that the subject need
 * not answer (served, withdraw, object, expire) takes "brand", the party
 * that relayed it. Grants and refusals keep theirs (their check asks for
 * "subject" or "guardian"). Every arrival path calls this before
 * consent_record, which refuses an event without actor, channel and method
 * as a caller's error (CR_ERR_INVALID_ARG).
 */
void consent_event_source(struct consent_event *ev, const char *channel, const char *method);
/* How many withdrawals `ev` is (1 unless split). */
size_t consent_event_scopes(const struct consent_event *ev);
/* The i-th of them, as an event of one scope (the event itself when not split). */
void consent_event_scope(const struct consent_event *ev, size_t i, struct consent_event *out);

/*
 * What a stored event changed: everything the orchestrator needs for the
 * audit leaf and the receipt, and no personal data (only the pseudonym).
 */
struct consent_change {
	int64_t brand;
	int64_t event_id;          /* the new event, or the identical one already stored */
	enum consent_event_type type;
	struct crypto_pseudonym subject;
	char purpose[CONSENT_CODE_MAX + 1];     /* "" none (withdraw: all purposes) */
	char recipient[CONSENT_CODE_MAX + 1];   /* "" none */
	uint32_t notice_version;   /* referenced (grant, refuse, served) or current at receipt (others); 0 none */
	uint8_t notice_hash[CONSENT_HASH_BYTES];
	int64_t served_ref;        /* grants: the served event found, 0 if none yet */
	cr_time_ms time, received, effective;
	bool duplicate;            /* identical event already stored: nothing written, no leaf needed */
	unsigned suppressed;       /* suppression entries written (withdrawals) */
	unsigned purged;           /* purge callback calls (withdrawals, objections) */
};

/*
 * Stores one event after checking it: fields per type, codes and lengths;
 * for served/grant/refuse a published `notice_version`; for grant/refuse a
 * `purpose` that version declares (CR_ERR_CONSENT_UNKNOWN_PURPOSE) and a
 * `recipient` it declares for that purpose (CR_ERR_CONSENT_UNKNOWN_RECIPIENT);
 * grants by an affirmative method (CR_ERR_CONSENT_METHOD, R08), by the
 * subject or a guardian (with guardian_ref), expiring after `time`.
 * An event identical to a stored one (every field but `received`) is not
 * stored again: CR_OK with out->duplicate set (re-importing a file is
 * harmless). A withdrawal goes through consent_withdraw's steps; an
 * objection calls the purge callback for every pseudonym of the subject
 * with NULL scope (R21: what it forbids goes at once), so it too needs one
 * (CR_ERR_CONSENT_NO_PURGE).
 * Runs in the caller's transaction (atomic, see above). `out` may be NULL; `why`
 * (may be NULL) gets "<field>: <problem>" on a refusal.
 * A grant without a served event is stored (the served event may come later
 * in the same file); consent_valid_at denies it until one exists (R05).
 */
cr_err consent_record(struct consent_ctx *ctx, int64_t brand, const struct consent_event *ev,
		      struct consent_change *out, char *why, size_t why_cap) CR_MUST_CHECK;

/*
 * Withdrawal (I3, R17-R19, R33): stores the event, puts every pseudonym of
 * the subject (ev->subject and ev->aliases) on the suppression list for the
 * scope (purpose/recipient, "" = all), then calls the purge callback for
 * each. CR_ERR_CONSENT_NO_PURGE if no callback is registered; a callback
 * error undoes the withdrawal and is returned. Idempotent: the identical
 * withdrawal again is a duplicate; another withdrawal of an already
 * withdrawn scope is stored and purges again (finding nothing). Needs only
 * the subject and a time: no more than a grant needs (R17).
 * Suppression and re-grant: an entry suppresses the scope for its pseudonym
 * from the withdrawal's receipt time until a later grant for that scope;
 * data re-uploaded with no new grant stays refused (consent_suppressed_at).
 * ev->type must be CONSENT_EV_WITHDRAW (CR_ERR_INVALID_ARG).
 */
cr_err consent_withdraw(struct consent_ctx *ctx, int64_t brand, const struct consent_event *ev,
			struct consent_change *out, char *why, size_t why_cap) CR_MUST_CHECK;

/* ======================================================== guardian links */

/*
 * R16: a guardian's grant refers to a verified guardian link. The brand
 * records the link once it has verified that the guardian holds parental
 * responsibility for the child (`verified_by` says how: "id_document",
 * "video_call", ...); consent_record refuses a guardian's grant whose
 * guardian_ref has no link for that very pseudonym and key version
 * (CR_ERR_CONSENT_GUARDIAN_UNLINKED). A link of another subject, or of
 * the same subject under another guardian_ref, does not count. Refusals
 * and withdrawals by a guardian need no link: they only ever protect.
 */
struct consent_guardian_link {
	struct crypto_pseudonym child;           /* under the brand's current key version */
	char guardian_ref[CONSENT_REF_MAX + 1];  /* as the guardian's grants will name it */
	char verified_by[CONSENT_FIELD_MAX + 1]; /* how the link was verified */
	cr_time_ms verified;                     /* when */
};

/*
 * Stores a verified link (append-only). *id_out (may be NULL) gets its row
 * id; *duplicate (may be NULL) is set when the same (child, guardian_ref)
 * was already linked, in which case nothing is written (the caller appends
 * no audit leaf). CR_ERR_CONSENT_GUARDIAN_LINK for a missing or invalid
 * guardian_ref or verified_by, CR_ERR_CONSENT_TIME_FUTURE for a
 * verification dated past now plus the skew, with `why` naming the field
 * and never the subject. Runs in the caller's transaction.
 */
cr_err consent_guardian_link_add(struct consent_ctx *ctx, int64_t brand,
				 const struct consent_guardian_link *l, int64_t *id_out,
				 bool *duplicate, char *why, size_t why_cap) CR_MUST_CHECK;

/* ============================================================= decisions */

/*
 * Why a decision denies (or CONSENT_OK). Values and names are stable: the
 * names appear in reports, the HTTP API and ingest summaries.
 */
enum consent_reason {
	CONSENT_OK = 0,
	CONSENT_NOT_GIVEN,          /* no grant for the scope (R01) */
	CONSENT_NO_NOTICE_SERVED,   /* grant without a served event at or before it (R05) */
	CONSENT_NOTICE_NOT_CURRENT, /* the served version was not the current one when served (R05) */
	CONSENT_REFUSED,            /* the latest answer for the scope is a refusal */
	CONSENT_WITHDRAWN,          /* withdrawn at or before t (R18) */
	CONSENT_EXPIRED,            /* t >= the grant's expiry, or an expire event (R14) */
	CONSENT_MATERIAL_CHANGE,    /* a later material notice added what is asked (R06) */
	CONSENT_GUARDIAN_REQUIRED,  /* a child's own grant (R15) */
	CONSENT_AGE_UNKNOWN,        /* unknown age in a child-directed dataset (R15) */
	CONSENT_OBJECTED,           /* marketing objection / GPC (R21) */
	CONSENT_SUPPRESSED,         /* on the suppression list, no grant since (R33) */
	CONSENT_UNKNOWN_PURPOSE,    /* no notice of the brand declares the purpose */
	CONSENT_UNKNOWN_RECIPIENT,  /* no notice declares the recipient for the purpose */
	CONSENT_CONFIRMATION_REQUIRED, /* a guardian's grant once the subject is no longer a child (R16) */
	CONSENT_REASON_COUNT
};
/* "OK", "NOT_GIVEN", ...; "UNKNOWN" outside the enum. */
const char *consent_reason_name(enum consent_reason r);

/* Flags of consent_valid_at. */
#define CONSENT_CHILD_DIRECTED 0x1u  /* the dataset is directed at children: unknown age denies */

struct consent_decision {
	bool allowed;
	enum consent_reason reason;
	int64_t event_id;          /* the grant relied on, or the event that denied; 0 if none */
	uint32_t notice_version;   /* that grant's notice version; 0 if none */
};

/*
 * May `subject`'s data be processed for `purpose` (and, when `recipient` is
 * not NULL, shared with that recipient) at time `at`? Answers from the
 * append-only history (R18), evaluating (subject, purpose, recipient, at)
 * (R01); a pseudonym is personal data and gets every rule (R02).
 *
 * Scope: (purpose, recipient) needs both the purpose grant and the separate
 * sharing grant naming the recipient (R09, I2); the first denial is
 * returned. Within one scope, only events with effective time <= at count:
 * the latest refusal, withdrawal or expiry ends every grant before it and
 * every grant at the same instant (ties are protective); a
 * withdrawal without purpose covers all purposes, one without recipient
 * covers the purpose's sharing too. Of the grants after that, the latest
 * valid one allows. A grant is valid when, in this order:
 *   R05  a served event for its notice version exists at or before the
 *        grant, and no later version had been published when it was served;
 *   R14  at < its expiry;
 *   R06  no material version published at or before `at`, newer than the
 *        grant's, added the purpose, the recipient, or (methods, data
 *        categories, unscoped) everything;
 *   R15  the subject was not a child at grant time, or a guardian granted.
 *        A child is under 14 in CN, under the brand's EU threshold (default
 *        16) in the EU; the highest threshold of every jurisdiction that
 *        applies (the subject's stated ones and the notice's together) is
 *        used, 16 when none is known. Of conflicting stated birth years the
 *        youngest counts. With only a birth year
 *        the birthday is assumed not yet reached. Unknown age denies only
 *        with CONSENT_CHILD_DIRECTED (unless a guardian granted).
 *   R16  a guardian's grant counts only while the subject is a child at
 *        `at` (the same threshold, the same age arithmetic, taken at `at`
 *        instead of the grant's time): from the instant the subject's own
 *        grant would pass R15, the guardian's is CONFIRMATION_REQUIRED
 *        until the subject grants the scope themselves. With no birth year
 *        it keeps counting.
 * Then R21: an objection received at or after the grant relied on and at
 * or before `at` denies every purpose marked "marketing". A grant given after
 * an objection is a new affirmative act and is not blocked by it.
 * With no events at all for the scope, a suppression entry gives
 * SUPPRESSED instead of NOT_GIVEN (a re-upload under another key version).
 *
 * Refusals and withdrawals count whoever made them (subject or guardian:
 * when they disagree the protective answer wins, edge case 6).
 * Returns an error only for a failure to answer (store errors); every
 * answer, including UNKNOWN_PURPOSE, is CR_OK with *out filled.
 */
cr_err consent_valid_at(struct consent_ctx *ctx, int64_t brand,
			const struct crypto_pseudonym *subject, const char *purpose,
			const char *recipient, cr_time_ms at, unsigned flags,
			struct consent_decision *out) CR_MUST_CHECK;

/*
 * Whether `subject` is on the suppression list for (purpose, recipient) at
 * `at` with no grant for that scope since (R33): for the ingest gate's
 * "suppressed" outcome. `recipient` may be NULL.
 */
cr_err consent_suppressed_at(struct consent_ctx *ctx, int64_t brand,
			     const struct crypto_pseudonym *subject, const char *purpose,
			     const char *recipient, cr_time_ms at, bool *out) CR_MUST_CHECK;

/* ================================================================ import */

/*
 * An importer turns NDJSON lines (docs/spec/formats.md) into events for one brand:
 * it holds the brand's pseudonym keys for every key version (derived once,
 * wiped by consent_importer_free).
 */
struct consent_importer;

/*
 * `ctx` and `id_opts` (may be NULL: default profile, no default country) are
 * borrowed and must outlive the importer; `kr` is used only here.
 * *out is handed over.
 */
cr_err consent_importer_new(struct consent_ctx *ctx, const struct crypto_keyring *kr,
			    int64_t brand, const struct crypto_id_opts *id_opts,
			    struct consent_importer **out) CR_MUST_CHECK;
/* Wipes the keys and frees; accepts NULL. */
void consent_importer_free(struct consent_importer *imp);
/*
 * R24: the channel and method recorded for a line that states none
 * (consent_event_source); "import" and "import" until set.
 */
void consent_importer_source(struct consent_importer *imp, const char *channel, const char *method);

/*
 * The subject as users write it (a raw email or phone, or a 64-hex digest
 * with `id_type` "email"/"phone"; id_type NULL guesses raw values: '@' means
 * email) -> its pseudonym under the brand's current key version, and the
 * older versions' in aliases[] (n_aliases of them; aliases may be NULL).
 * Refusals carry crypto's reason (CR_ERR_ID_*). The digest is wiped.
 */
cr_err consent_importer_subject(const struct consent_importer *imp, const char *subject,
				size_t len, const char *id_type, struct crypto_pseudonym *out,
				struct crypto_pseudonym aliases[CONSENT_KEY_VERSIONS_MAX],
				size_t *n_aliases) CR_MUST_CHECK;

/*
 * Parses one NDJSON line (without its newline) into *out. `now` is the
 * receipt time when the line has no "received". Refusals:
 * CR_ERR_CONSENT_LINE_TOO_LARGE, CR_ERR_CONSENT_EVENT_MALFORMED (not one
 * JSON object), CR_ERR_CONSENT_EVENT_TYPE, CR_ERR_CONSENT_EVENT_UNKNOWN_FIELD,
 * CR_ERR_CONSENT_EVENT_FIELD (missing, wrong type, bad value or time),
 * CR_ERR_CONSENT_METHOD (R08), CR_ERR_CONSENT_BUNDLED (R09: a list of
 * purposes or recipients), crypto's CR_ERR_ID_* for the subject. `why`
 * (may be NULL) gets "<field>: <problem>", never a subject's value.
 * *out is written only on success.
 */
cr_err consent_event_parse(const struct consent_importer *imp, const char *line, size_t len,
			   cr_time_ms now, struct consent_event *out, char *why,
			   size_t why_cap) CR_MUST_CHECK;

/* The outcome of one line. */
struct consent_line_result {
	uint64_t line;                  /* 1-based line number */
	cr_err rc;                      /* CR_OK: stored (or duplicate); else why it was refused */
	char why[CONSENT_WHY_MAX];      /* "" when stored */
	struct consent_change change;   /* valid when rc == CR_OK */
	size_t n_more;                  /* a withdrawal of several scopes: the others' changes */
	struct consent_change more[CONSENT_SPLIT_MAX - 1];
	/* A "guardian_link" line (R16): no event; the link's child and whether
	 * it was already recorded. `change` is zero. */
	bool is_link;
	bool link_duplicate;
	struct crypto_pseudonym link_child;
};

/*
 * Parses and records one line. A refused line (a 4xx error: bad input,
 * unknown notice or purpose) stores nothing and is reported in *res with
 * CR_OK returned; a failure to store (5xx: store error, purge callback
 * failure) is returned and the caller rolls back.
 */
cr_err consent_import_line(struct consent_importer *imp, const char *line, size_t len,
			   cr_time_ms now, struct consent_line_result *res) CR_MUST_CHECK;

/* Counts over a stream. */
#define CONSENT_IMPORT_REASONS_MAX 24
struct consent_import_summary {
	uint64_t lines;                 /* lines read, blank ones included */
	uint64_t blank;                 /* empty or whitespace-only lines, skipped */
	uint64_t stored;                /* new events stored */
	uint64_t duplicates;            /* identical events already stored */
	uint64_t refused;
	uint64_t stored_by_type[CONSENT_EV_COUNT];
	uint64_t guardian_links;        /* new verified guardian links (R16 lines) */
	uint64_t bytes;                 /* of the input recorded so far, when it can tell
					 * (a seekable file), else 0: for progress */
	size_t nreasons;                /* refusals by error code, in order of first occurrence */
	struct {
		cr_err code;
		uint64_t count;
	} reasons[CONSENT_IMPORT_REASONS_MAX];
};

/*
 * The batch helper's hooks (any may be NULL). on_batch runs after every
 * `batch_lines` lines (0: 1000) and is where the caller ends its
 * transaction (append the batch's audit leaves, COMMIT, BEGIN); its error
 * stops the import and is returned. on_line sees every non-blank line's
 * result (stored or refused), e.g. to print "line 7: purpose: missing" or
 * to append the event's audit leaf.
 */
struct consent_import_hooks {
	cr_err (*on_line)(void *user, const struct consent_line_result *r);
	cr_err (*on_batch)(void *user, uint64_t lines_done);
	size_t batch_lines;
	void *user;
	/* Asked after each line (may be NULL): true ends the batch there,
	 * before batch_lines (someone waits for the store). */
	bool (*cut)(void *user);
};

/*
 * Imports every line of `in` (borrowed) with consent_import_line, reading
 * lines of at most CONSENT_LINE_MAX bytes (a longer one is refused and
 * skipped; memory stays bounded whatever the file size), "\r\n" or "\n"
 * endings, a leading UTF-8 BOM ignored. It never BEGINs or COMMITs: the
 * caller opens a transaction before calling and commits in on_batch and
 * after the return. Fills *sum (may be NULL); returns the first fatal
 * error (read error CR_ERR_IO, store, hooks), with *sum counting the lines
 * before it.
 */
cr_err consent_import_stream(struct consent_importer *imp, FILE *in, cr_time_ms now,
			     const struct consent_import_hooks *hooks,
			     struct consent_import_summary *sum) CR_MUST_CHECK;

/* =============================================================== receipts */

/* A signer (the service's Ed25519 key), shaped like audit/'s; all borrowed. */
struct consent_signer {
	const char *name;                   /* the key's name */
	uint8_t public_key[32];
	cr_err (*sign)(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static 64]);
	void *ctx;
};
/* A signer over crypto_keyring_sign; `kr` is borrowed by *out. */
void consent_signer_from_keyring(const struct crypto_keyring *kr, struct consent_signer *out);

/*
 * Receipt (R27, in the spirit of Kantara Consent Receipt / ISO/IEC TS 27560):
 *   {"payload": {...}, "signature": {"alg": "ed25519", "key_name": "...",
 *    "public_key": "<base64>", "value": "<base64 of 64 bytes>"}}
 * and optionally "audit_proof" at the top level: an inclusion proof the
 * orchestrator attaches afterwards; it is not signed (it is checked against
 * the audit log's signed checkpoint by audit/'s verifier) and is ignored
 * here. The payload:
 *   receipt      "cr-consent-receipt-v1"
 *   brand        {"id": n, "name": s}
 *   event        {"id", "type", "time", "received", "expires" (or null),
 *                 "actor", "channel", "method", "signal", "jurisdiction"
 *                 (null when absent)}
 *   subject      {"pseudonym": 64 hex or null, "key_version": n}  (never an
 *                identifier; null when withheld, see CONSENT_RECEIPT_WITHHOLD_SUBJECT)
 *   purposes     ["code"], or ["*"] for a withdrawal of every purpose
 *   recipient    "id" or null
 *   notice       {"version": n, "hash": 64 hex} or null
 *   audit_index  n
 *   issued       time
 * Times are RFC 3339 UTC with milliseconds ("2026-03-01T01:00:05.000Z").
 * Signed bytes: "cleanroom consent receipt v1\n" followed by the payload in
 * the canonical form of notices (JSON_COMPACT | JSON_SORT_KEYS). The
 * verifier re-canonicalizes the payload it parsed, so whitespace and key
 * order in the file do not matter, but every value does.
 */

/* The receipt names no pseudonym (subject.pseudonym is null): for a reply
 * to someone who has not shown they are the person (the anonymous
 * withdrawal form), so it carries nothing that links to them (I9). */
#define CONSENT_RECEIPT_WITHHOLD_SUBJECT 1u

/*
 * The pseudonym and type of stored event `event_id` of `brand`, to find its
 * audit leaf again (CR_ERR_CONSENT_EVENT_NOT_FOUND: none of that brand's).
 */
cr_err consent_event_subject(struct consent_ctx *ctx, int64_t brand, int64_t event_id,
			     struct crypto_pseudonym *subject, enum consent_event_type *type) CR_MUST_CHECK;

/*
 * Builds and signs the receipt of event `event_id` of `brand`, with the
 * audit index the orchestrator got when appending its leaf. `flags`: 0 or
 * CONSENT_RECEIPT_WITHHOLD_SUBJECT. Events of type served or expire:
 * CR_ERR_CONSENT_RECEIPT_EVENT. *json_out (NUL-terminated, indented) is
 * handed over (free()).
 */
cr_err consent_receipt_create(struct consent_ctx *ctx, int64_t brand, int64_t event_id,
			      uint64_t audit_index, cr_time_ms issued, unsigned flags,
			      const struct consent_signer *signer,
			      char **json_out) CR_MUST_CHECK;

/* What a verified receipt says. */
struct consent_receipt_info {
	int64_t brand;
	int64_t event_id;
	enum consent_event_type type;
	uint64_t audit_index;
	bool subject_withheld;                  /* the receipt names no pseudonym */
	uint8_t pseudonym[CRYPTO_PSEUDONYM_BYTES]; /* zero when withheld */
	uint32_t key_version;
	char purpose[CONSENT_CODE_MAX + 1];     /* "*" for all */
	char recipient[CONSENT_CODE_MAX + 1];
	uint32_t notice_version;
	cr_time_ms time, received, issued;
};

/*
 * Verifies a receipt offline with only the service's public key:
 * CR_ERR_CONSENT_RECEIPT_MALFORMED (not the shape above, unknown members,
 * non-integer numbers, bad base64/hex/times), CR_ERR_CONSENT_RECEIPT_KEY
 * (its public_key is not `public_key`), CR_ERR_CONSENT_RECEIPT_SIGNATURE
 * (tampered). `info` (may be NULL) is written only on success.
 */
cr_err consent_receipt_verify(const char *json, size_t len, const uint8_t public_key[static 32],
			      struct consent_receipt_info *info) CR_MUST_CHECK;

/* ================================================================ export */

/* Where exports go: called with consecutive chunks; an error stops the export. */
typedef cr_err (*consent_write_fn)(void *user, const char *buf, size_t len);
/* A consent_write_fn over a FILE* (`user`); CR_ERR_IO on a short write. */
cr_err consent_write_file(void *user, const char *buf, size_t len) CR_MUST_CHECK;

/*
 * A subject's whole history (R29) as one JSON document, streamed:
 *   {"export": "cr-consent-subject-v1", "brand": {...}, "exported": time,
 *    "subject": [{"pseudonym", "key_version"}...],
 *    "events": [every event of the given pseudonyms, grouped by pseudonym, by id],
 *    "notices_seen": [{"version", "hash", "served": [times], "notice": {canonical}}],
 *    "suppression": [...],
 *    "status": [{"purpose", "recipient", "allowed", "reason"} at `now`
 *               for every purpose and recipient the brand's notices declare]}
 * `subjects` are the subject's pseudonyms (current and older key versions;
 * borrowed), n >= 1.
 */
cr_err consent_export_subject(struct consent_ctx *ctx, int64_t brand,
			      const struct crypto_pseudonym *subjects, size_t n, cr_time_ms now,
			      consent_write_fn write, void *user) CR_MUST_CHECK;

/*
 * The brand's whole registry for an audit (R29), as NDJSON streamed row by
 * row (memory stays bounded): a {"kind":"header"} line, one "notice" line
 * per version (with its canonical JSON), one "event" line per event by id,
 * one "suppression" line per entry, and a closing {"kind":"end"} line with
 * the counts, so a truncated export is detectable.
 */
cr_err consent_export_registry(struct consent_ctx *ctx, int64_t brand, cr_time_ms now,
			       consent_write_fn write, void *user) CR_MUST_CHECK;

#endif /* CR_CONSENT_H */
