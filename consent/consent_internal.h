/*
 * consent_internal.h: declarations shared by the files of consent/ and by no
 * one else (docs/style.md: private declarations stay inside the folder).
 *
 * It holds the context's layout (prepared statements, cached notice
 * catalogs, the last subject's history), the catalog types, savepoints,
 * and the small validators and JSON helpers every file uses.
 */
#ifndef CR_CONSENT_INTERNAL_H
#define CR_CONSENT_INTERNAL_H

#include <jansson.h>

#include "consent/consent.h"

/* ------------------------------------------------------------ statements */

/* Every statement the folder runs more than once; SQL in registry.c. */
enum consent_stmt {
	ST_SAVEPOINT = 0,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_BRAND_INSERT,
	ST_BRAND_FIND,
	ST_BRAND_GET,
	ST_BRAND_GEN,
	ST_BRAND_BUMP,
	ST_CHILD_AGE_SET,
	ST_CAT_NOTICES,
	ST_CAT_PURPOSES,
	ST_CAT_RECIPIENTS,
	ST_CAT_CHANGES,
	ST_CAT_AGES,
	ST_NOTICE_INSERT,
	ST_PURPOSE_INSERT,
	ST_RECIPIENT_INSERT,
	ST_CHANGE_INSERT,
	ST_NOTICE_GET,
	ST_EVENT_INSERT,
	ST_EVENT_BY_DEDUPE,
	ST_SUPP_INSERT,
	ST_SUPP_BY_SUBJECT,
	ST_HISTORY,
	ST_EVENT_GET,
	ST_GUARDIAN_INSERT,
	ST_GUARDIAN_FIND,
	ST_COUNT
};

/* ---------------------------------------------------------------- catalog */

#define CAT_JUR_MAX 32     /* jurisdictions one notice may list */
#define CAT_AGES_MAX 32    /* child-age settings per brand */
#define CAT_CACHE 4        /* brands whose catalogs a context keeps */

struct cat_purpose {
	char code[CONSENT_CODE_MAX + 1];
	bool sensitive, shares_data, marketing;
};

struct cat_recipient {
	char id[CONSENT_CODE_MAX + 1];
	char purpose[CONSENT_CODE_MAX + 1];
};

/* What a material version added (consent_notice_changes.kind). */
enum cat_change_kind { CAT_CHANGE_ALL = 1, CAT_CHANGE_PURPOSE, CAT_CHANGE_RECIPIENT };

struct cat_change {
	enum cat_change_kind kind;
	char code[CONSENT_CODE_MAX + 1];   /* "" for ALL */
};

struct cat_version {
	uint32_t version;
	cr_time_ms published;
	bool material;
	uint8_t hash[CONSENT_HASH_BYTES];
	size_t njur;
	char jur[CAT_JUR_MAX][3];
	size_t npurposes, nrecipients, nchanges;
	struct cat_purpose *purposes;      /* owned */
	struct cat_recipient *recipients;  /* owned */
	struct cat_change *changes;        /* owned */
};

struct cat_child_age {
	char jur[3];
	int age;
};

/* One brand's notices and settings, as the rules need them. */
struct consent_catalog {
	int64_t brand;                     /* 0: slot unused */
	int64_t gen;                       /* brands.catalog_gen when loaded */
	uint32_t key_version;
	char name[CONSENT_BRAND_NAME_MAX + 1];
	size_t nversions;
	struct cat_version *versions;      /* owned, ascending by version */
	size_t nages;
	struct cat_child_age ages[CAT_AGES_MAX];
	unsigned stamp_dv;                 /* data version last checked */
	int64_t stamp_tc;                  /* total changes last checked */
	uint64_t used;                     /* for eviction */
};

/* --------------------------------------------------------------- history */

/* One stored event as the rules read it. */
struct hist_event {
	int64_t id;
	enum consent_event_type type;
	enum consent_actor actor;
	char purpose[CONSENT_CODE_MAX + 1];
	char recipient[CONSENT_CODE_MAX + 1];
	uint32_t notice_version;
	cr_time_ms time, effective, expires;
	int birth_year;
	char jur[3];
};

/*
 * Which subject a per-subject cache holds, and the database's change stamp
 * (consent_db_stamp) when it was read: it is current only for that subject
 * and while the stamp is unchanged.
 */
struct subject_key {
	bool valid;
	int64_t brand;
	uint8_t pseudonym[CRYPTO_PSEUDONYM_BYTES];
	uint32_t key_version;
	unsigned stamp_dv;
	int64_t stamp_tc;
};
bool consent_key_current(const struct subject_key *k, int64_t brand, const struct crypto_pseudonym *p,
			 unsigned dv, int64_t tc);
void consent_key_set(struct subject_key *k, int64_t brand, const struct crypto_pseudonym *p, unsigned dv,
		     int64_t tc);

/* The last subject's events, ordered by (effective, id). */
struct subject_history {
	struct subject_key key;
	size_t n, cap;
	struct hist_event *ev;             /* owned */
};

/* One suppression-list entry of a subject (an empty code covers every one). */
struct supp_entry {
	char purpose[CONSENT_CODE_MAX + 1];
	char recipient[CONSENT_CODE_MAX + 1];
	cr_time_ms since;
};

/*
 * A subject's suppression entries, cached like its history: one query for
 * every scope a gate decides (a dataset's purposes and recipients), valid
 * only while the database is exactly as it was read (its own stamp, which
 * consent_history_append does not move, so any write reloads it).
 */
struct subject_supp {
	struct subject_key key;
	size_t n, cap;
	struct supp_entry *rows;           /* owned */
};

struct consent_ctx {
	sqlite3 *db;                       /* borrowed */
	sqlite3_stmt *st[ST_COUNT];        /* owned, prepared on first use */
	consent_purge_fn purge;
	void *purge_user;                  /* borrowed */
	cr_time_ms (*now)(void *user);     /* NULL: cr_time_now (consent_set_clock) */
	void *now_user;                    /* borrowed */
	cr_time_ms skew_ms;                /* how far past now an event may be dated */
	bool snapshot;                     /* consent_ctx_snapshot: in one read snapshot */
	int64_t snapshots;                 /* snapshots begun, to stamp each apart */
	uint64_t tick;
	struct consent_catalog cat[CAT_CACHE];
	struct subject_history hist;
	struct subject_supp supp;
};

/* The statement `which`, prepared on first use and reset/unbound; NULL if
 * preparing failed. */
sqlite3_stmt *consent_stmt(struct consent_ctx *ctx, enum consent_stmt which);
/* Steps a statement with no result rows and resets it; maps the result. */
cr_err consent_step_done(sqlite3_stmt *st) CR_MUST_CHECK;
/* Maps a SQLite result code to a cr_err (constraint -> CR_ERR_EXISTS,
 * our append-only triggers -> CR_ERR_CONSENT_APPEND_ONLY). */
cr_err consent_sqlite_err(sqlite3 *db, int rc);

/* The registry's clock (consent_set_clock): cr_time_now unless a test set one. */
cr_time_ms consent_now(const struct consent_ctx *ctx);

/* SAVEPOINT / RELEASE / ROLLBACK TO + RELEASE, for one call's writes. */
cr_err consent_savepoint(struct consent_ctx *ctx) CR_MUST_CHECK;
/* Releases on rc == CR_OK, else rolls back to the savepoint; returns rc
 * (or the release's error). */
cr_err consent_savepoint_end(struct consent_ctx *ctx, cr_err rc) CR_MUST_CHECK;

/* The connection's current (data version, total changes) stamp; in a
 * snapshot (consent_ctx_snapshot), the snapshot's own stamp: total
 * changes negative and different for each snapshot, so never equal to a
 * stamp taken outside it. */
void consent_db_stamp(const struct consent_ctx *ctx, unsigned *dv, int64_t *tc);

/*
 * The brand's catalog, loaded or revalidated (borrowed from the context;
 * valid until the next call that may reload it).
 * CR_ERR_CONSENT_BRAND_NOT_FOUND for an unknown brand.
 */
cr_err consent_catalog_get(struct consent_ctx *ctx, int64_t brand,
			   const struct consent_catalog **out) CR_MUST_CHECK;
/* Bumps brands.catalog_gen so every context reloads the brand's catalog. */
cr_err consent_brand_bump(struct consent_ctx *ctx, int64_t brand) CR_MUST_CHECK;
/* Marks the brand's cached catalog, just checked by consent_catalog_get,
 * as current again after a write of ours that cannot change a catalog (an
 * event), so the next call skips the generation check. Only inside a
 * transaction, where no other connection can commit in between. */
void consent_catalog_restamp(struct consent_ctx *ctx, int64_t brand);
/* Frees every catalog slot. */
void consent_catalog_clear(struct consent_ctx *ctx);
/* The version entry, or NULL. */
const struct cat_version *catalog_version(const struct consent_catalog *c, uint32_t version);
/* The latest version published at or before t, or NULL. */
const struct cat_version *catalog_current_at(const struct consent_catalog *c, cr_time_ms t);
/* The latest version published (the "current" one), or NULL if none. */
const struct cat_version *catalog_latest(const struct consent_catalog *c);
const struct cat_purpose *catalog_purpose(const struct cat_version *v, const char *code);
/* Recipient `id` declared for `purpose` in v (purpose NULL: any). */
const struct cat_recipient *catalog_recipient(const struct cat_version *v, const char *id,
					      const char *purpose);
/* The child-age threshold for one jurisdiction code (R15): CN 14, EU and
 * member states from the settings (default 16), unknown codes 16. */
int catalog_child_age(const struct consent_catalog *c, const char *jur);

/* True if ctx->hist holds p's history as the database is now. */
bool consent_history_is_current(struct consent_ctx *ctx, int64_t brand,
				const struct crypto_pseudonym *p);
/* After inserting e for the cached subject (checked current just before the
 * insert): adds it to the cache and re-stamps, inside a transaction only
 * (outside one, drops the cache). */
void consent_history_append(struct consent_ctx *ctx, const struct hist_event *e);
/* Loads the subject's history into ctx->hist (cached while the database
 * does not change). */
/* Column `col` of the current row as text ("" for NULL), cut to cap. */
void consent_text_col(char *dst, size_t cap, sqlite3_stmt *st, int col);
/* Reads a row whose first two columns are ST_HISTORY's (id, rules) into e;
 * CR_ERR_STORE for a rules text the trigger cannot have written. */
cr_err consent_hist_row(sqlite3_stmt *st, struct hist_event *e) CR_MUST_CHECK;
/* Orders a subject's events by (effective, id). */
void consent_hist_sort(struct hist_event *ev, size_t n);
cr_err consent_history_load(struct consent_ctx *ctx, int64_t brand,
			    const struct crypto_pseudonym *p) CR_MUST_CHECK;
/* Makes ctx->supp hold p's suppression entries (every one, whatever its
 * time) as of the database's current state. */
cr_err consent_supp_load(struct consent_ctx *ctx, int64_t brand,
			 const struct crypto_pseudonym *p) CR_MUST_CHECK;

/* ------------------------------------------------------- guardian links */

/* *id_out: the verified link of (child, guardian_ref), 0 if there is none. */
cr_err consent_guardian_linked(struct consent_ctx *ctx, int64_t brand,
			       const struct crypto_pseudonym *child, const char *guardian_ref,
			       int64_t *id_out) CR_MUST_CHECK;
/* R16: a guardian's grant needs a verified link for its subject and
 * guardian_ref (CR_ERR_CONSENT_GUARDIAN_UNLINKED); other events pass. */
cr_err consent_guardian_grant_check(struct consent_ctx *ctx, int64_t brand,
				    const struct consent_event *ev, char *why, size_t cap) CR_MUST_CHECK;

/* Whether an NDJSON line may be a guardian link (names "guardian_link"). */
bool consent_guardian_line_is_link(const char *line, size_t len);

/*
 * consent_import_line in its two halves, for the stream's reader thread
 * (import_stream.c): a guardian link line is recorded whole on the
 * writer's thread (*was_link; otherwise nothing is done), and an event
 * line's parse (consent_event_parse, which reads no table) is recorded
 * with consent_import_parsed, its refusal and reason as the parse gave them.
 */
cr_err consent_import_link_line(struct consent_importer *imp, const char *line, size_t len,
				struct consent_line_result *res, bool *was_link);
cr_err consent_import_parsed(struct consent_importer *imp, struct consent_event *ev, cr_err parse_rc,
			     const char *parse_why, struct consent_line_result *res);
/* A {"type":"guardian_link", subject, id_type?, guardian_ref, verified_by,
 * time} line -> *out (docs/spec/formats.md). */
cr_err consent_guardian_line_parse(const struct consent_importer *imp, const char *line, size_t len,
				   struct consent_guardian_link *out, char *why, size_t cap) CR_MUST_CHECK;

/* ------------------------------------------------------------ type rules */

/* The optional fields of struct consent_event, as bits. */
enum consent_field {
	CF_PURPOSE = 1u << 0,
	CF_RECIPIENT = 1u << 1,
	CF_NOTICE = 1u << 2,
	CF_ACTOR = 1u << 3,
	CF_CHANNEL = 1u << 4,
	CF_METHOD = 1u << 5,
	CF_SIGNAL = 1u << 6,
	CF_GUARDIAN = 1u << 7,
	CF_JUR = 1u << 8,
	CF_BIRTH = 1u << 9,
	CF_EXPIRES = 1u << 10,
};

/*
 * What each event type requires and accepts beyond type, subject, time,
 * received and evidence (docs/spec/formats.md), and whether it takes effect at its
 * receipt time (R18) rather than its event time. One table serves the
 * NDJSON parser and consent_record.
 */
struct consent_type_rule {
	unsigned required;
	unsigned allowed;      /* includes required */
	bool at_receipt;
	bool importable;       /* accepted in NDJSON (docs/spec/formats.md lists five types) */
};
/* NULL outside the enum. */
const struct consent_type_rule *consent_type_rule(enum consent_event_type t);
/*
 * Every check of an event that needs no database: the type table (missing
 * and not-accepted fields), subject key versions, times, value syntax, R09
 * bundling in a code, actor and guardian_ref, R08 methods.
 */
cr_err consent_event_check(const struct consent_event *ev, char *why, size_t cap) CR_MUST_CHECK;
/* The event's effective time under its type's rule. */
cr_time_ms consent_effective_time(const struct consent_event *ev);

/* ------------------------------------------------------------ validators */

/* 1..max of [a-z0-9_.-] (purpose codes, recipient ids, brand names). */
bool consent_code_valid(const char *s, size_t max);
/* 1..max printable ASCII (0x20..0x7e). */
bool consent_printable_valid(const char *s, size_t max);
/* Exactly 64 hex digits (either case): a digest, not a raw identifier. */
bool consent_is_hex64(const char *s, size_t len);
/* The pseudonym's first 8 bytes as a big-endian signed integer: the
 * leading column of consent_event_keys (schema.c says why). */
static inline int64_t consent_skey(const uint8_t p[static 32])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}
/* Two uppercase letters (ISO 3166 alpha-2, or "EU"). */
bool consent_jur_valid(const char *s);
/* The UTC calendar year of t. */
int consent_year_of(cr_time_ms t);

/* Name <-> enum tables. */
bool consent_event_type_parse(const char *s, enum consent_event_type *out);
bool consent_actor_parse(const char *s, enum consent_actor *out);
/* True if `method` is one of the affirmative acts a grant may be made by
 * (R08), compared ignoring case, '-', '_' and spaces; the accepted list as
 * text, for messages. */
bool consent_method_affirmative(const char *method);
extern const char consent_affirmative_methods_text[];

/* Bounded copy with truncation, always NUL-terminated (cap >= 1). */
void consent_copy(char *dst, size_t cap, const char *src);
/* An evidence reference: at most CONSENT_EVIDENCE_MAX bytes of UTF-8 without control characters. */
bool consent_evidence_valid(const char *s);
/* snprintf into why (if not NULL). */
void consent_why(char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------ json */

/* The canonical bytes (JSON_COMPACT | JSON_SORT_KEYS); NULL on failure.
 * Handed over (free()). */
char *consent_json_canonical(const json_t *v);
/* True if v contains a real number anywhere (canonical forms refuse them). */
bool consent_json_has_real(const json_t *v);
/* Lowercase hex of 32 bytes into out[65]. */
void consent_hex32(const uint8_t in[static 32], char out[static 65]);
/* A JSON string of a time (RFC 3339 UTC with ms); NULL for CONSENT_TIME_NONE. */
json_t *consent_json_time(cr_time_ms t);
/* The JSON object of a stored event row (ST_EVENT_GET / export column order). */
json_t *consent_json_event_row(sqlite3_stmt *st);

/* Columns of ST_EVENT_GET and the export's event query, in this order. */
#define CONSENT_EVENT_COLUMNS \
	"id, type, pseudonym, key_version, purpose, recipient, notice_version, notice_hash," \
	" served_ref, actor, guardian_ref, channel, method, signal, time_ms, received_ms," \
	" effective_ms, expires_ms, jurisdiction, birth_year, evidence"

#endif /* CR_CONSENT_INTERNAL_H */
