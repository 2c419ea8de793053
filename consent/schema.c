/*
 * schema.c: the registry's tables (consent_schema_v1) and brands.
 *
 * The DDL is exported for the orchestrator's migrations; nothing here opens
 * a database. Append-only tables (R24, R33) and immutable notices (R04) are
 * enforced by triggers, so even SQL typed by hand cannot rewrite history.
 * Tables for extended rules: guardian links (R16) are written by
 * consent/guardian.c and read when a guardian's grant is recorded
 * (consent_schema_v3 adds what they need); impact assessments (R12, R13,
 * R28) are written and consulted by cleanroom/pia.c.
 */
#include <string.h>

#include "consent/consent_internal.h"

const char consent_schema_v1[] =
	/* Brands. key_version: the pseudonym key version new events use (R33).
	 * catalog_gen: bumped by every notice publish or setting change, so a
	 * context's cached catalog is revalidated with one indexed read. */
	"CREATE TABLE brands ("
	"  id          INTEGER PRIMARY KEY,"
	"  name        TEXT NOT NULL UNIQUE,"
	"  key_version INTEGER NOT NULL DEFAULT 1 CHECK (key_version BETWEEN 1 AND 16),"
	"  catalog_gen INTEGER NOT NULL DEFAULT 0,"
	"  created_ms  INTEGER NOT NULL"
	") STRICT;"
	/* R15: the age under which a child needs a guardian, per EU member state
	 * or "EU" as a whole (GDPR 8: 16 by default, never below 13). */
	"CREATE TABLE consent_child_ages ("
	"  brand_id     INTEGER NOT NULL REFERENCES brands(id),"
	"  jurisdiction TEXT NOT NULL CHECK (length(jurisdiction) = 2),"
	"  age          INTEGER NOT NULL CHECK (age BETWEEN 13 AND 16),"
	"  PRIMARY KEY (brand_id, jurisdiction)"
	") STRICT, WITHOUT ROWID;"
	/* Notices (R04): immutable versions. canonical is the hashed text
	 * (consent.h defines the canonical form); jurisdictions is the
	 * comma-joined list, '' when the notice does not state one. */
	"CREATE TABLE consent_notices ("
	"  brand_id      INTEGER NOT NULL REFERENCES brands(id),"
	"  version       INTEGER NOT NULL CHECK (version >= 1),"
	"  hash          BLOB NOT NULL CHECK (length(hash) = 32),"
	"  canonical     TEXT NOT NULL,"
	"  material      INTEGER NOT NULL CHECK (material IN (0, 1)),"
	"  language      TEXT NOT NULL,"
	"  jurisdictions TEXT NOT NULL,"
	"  published_ms  INTEGER NOT NULL,"
	"  PRIMARY KEY (brand_id, version)"
	") STRICT;"
	"CREATE TABLE consent_purposes ("
	"  brand_id    INTEGER NOT NULL,"
	"  version     INTEGER NOT NULL,"
	"  code        TEXT NOT NULL,"
	"  sensitive   INTEGER NOT NULL CHECK (sensitive IN (0, 1)),"
	"  shares_data INTEGER NOT NULL CHECK (shares_data IN (0, 1)),"
	"  marketing   INTEGER NOT NULL CHECK (marketing IN (0, 1)),"
	"  PRIMARY KEY (brand_id, version, code),"
	"  FOREIGN KEY (brand_id, version) REFERENCES consent_notices(brand_id, version)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE consent_recipients ("
	"  brand_id   INTEGER NOT NULL,"
	"  version    INTEGER NOT NULL,"
	"  id         TEXT NOT NULL,"
	"  name       TEXT NOT NULL,"
	"  contact    TEXT NOT NULL,"
	"  country    TEXT NOT NULL,"
	"  purpose    TEXT NOT NULL,"
	"  categories TEXT NOT NULL,"
	"  PRIMARY KEY (brand_id, version, id),"
	"  FOREIGN KEY (brand_id, version) REFERENCES consent_notices(brand_id, version)"
	") STRICT, WITHOUT ROWID;"
	/* R06: what a material version added over the one before it. kind
	 * 'all' (new method or data category, or material with nothing we can
	 * scope), 'purpose' or 'recipient' with its code. */
	"CREATE TABLE consent_notice_changes ("
	"  brand_id INTEGER NOT NULL,"
	"  version  INTEGER NOT NULL,"
	"  kind     TEXT NOT NULL CHECK (kind IN ('all', 'purpose', 'recipient')),"
	"  code     TEXT NOT NULL,"
	"  PRIMARY KEY (brand_id, version, kind, code),"
	"  FOREIGN KEY (brand_id, version) REFERENCES consent_notices(brand_id, version)"
	") STRICT, WITHOUT ROWID;"
	/* Consent events (R24), append-only, in insertion order (id = rowid:
	 * receipts, exports and served_ref use it). effective_ms is time_ms
	 * for served/grant/refuse and received_ms for withdraw/object/expire
	 * (R18). dedupe: SHA-256 over every field but received, so an
	 * identical event is stored once (see consent_event_keys). served_ref:
	 * for grants, the served event found when the grant was stored
	 * (evidence; the rules look again). */
	"CREATE TABLE consent_events ("
	"  id             INTEGER PRIMARY KEY,"
	"  brand_id       INTEGER NOT NULL REFERENCES brands(id),"
	"  type           TEXT NOT NULL CHECK (type IN"
	"                   ('served', 'grant', 'refuse', 'withdraw', 'object', 'expire')),"
	"  pseudonym      BLOB NOT NULL CHECK (length(pseudonym) = 32),"
	"  key_version    INTEGER NOT NULL,"
	"  purpose        TEXT,"
	"  recipient      TEXT,"
	"  notice_version INTEGER,"
	"  notice_hash    BLOB CHECK (notice_hash IS NULL OR length(notice_hash) = 32),"
	"  served_ref     INTEGER REFERENCES consent_events(id),"
	"  actor          TEXT CHECK (actor IS NULL OR actor IN"
	"                   ('subject', 'guardian', 'brand', 'authority')),"
	"  guardian_ref   TEXT,"
	"  channel        TEXT,"
	"  method         TEXT,"
	"  signal         TEXT,"
	"  time_ms        INTEGER NOT NULL,"
	"  received_ms    INTEGER NOT NULL,"
	"  effective_ms   INTEGER NOT NULL,"
	"  expires_ms     INTEGER,"
	"  jurisdiction   TEXT,"
	"  birth_year     INTEGER,"
	"  evidence       TEXT,"
	"  dedupe         BLOB NOT NULL CHECK (length(dedupe) = 32),"
	"  skey           INTEGER NOT NULL"
	") STRICT;"
	/* The events as the rules read them, clustered by subject: one
	 * subject's events are adjacent rows of one b-tree, so a decision is a
	 * single range read with no lookups into consent_events, and an import
	 * touches one page per subject. Its primary key refuses a duplicate
	 * (same subject, same dedupe). Written only by the trigger below, in
	 * the same statement as the event, so the two never disagree. skey is
	 * the pseudonym's first 8 bytes as a signed integer, leading the key so
	 * a b-tree search compares integers, not 32-byte blobs (the pseudonym
	 * still follows: equal prefixes are told apart).
	 * (Measured: a plain index on consent_events needs a table lookup per
	 * event and decides ~25% slower; clustering consent_events itself by
	 * subject writes ~4x the pages per imported event.) */
	"CREATE TABLE consent_event_keys ("
	"  skey           INTEGER NOT NULL,"
	"  brand_id       INTEGER NOT NULL,"
	"  pseudonym      BLOB NOT NULL,"
	"  key_version    INTEGER NOT NULL,"
	"  dedupe         BLOB NOT NULL,"
	"  id             INTEGER NOT NULL,"
	"  type           TEXT NOT NULL,"
	"  actor          TEXT,"
	"  purpose        TEXT,"
	"  recipient      TEXT,"
	"  notice_version INTEGER,"
	"  time_ms        INTEGER NOT NULL,"
	"  effective_ms   INTEGER NOT NULL,"
	"  expires_ms     INTEGER,"
	"  birth_year     INTEGER,"
	"  jurisdiction   TEXT,"
	"  PRIMARY KEY (skey, brand_id, pseudonym, key_version, dedupe)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TRIGGER consent_events_keys AFTER INSERT ON consent_events BEGIN"
	"  INSERT INTO consent_event_keys VALUES (NEW.skey, NEW.brand_id, NEW.pseudonym,"
	"    NEW.key_version,"
	"    NEW.dedupe, NEW.id, NEW.type, NEW.actor, NEW.purpose, NEW.recipient,"
	"    NEW.notice_version, NEW.time_ms, NEW.effective_ms, NEW.expires_ms, NEW.birth_year,"
	"    NEW.jurisdiction);"
	" END;"
	/* Subjects, by keyed pseudonym only (I1, R30), as a view over their
	 * events: the latest birth year and jurisdiction stated, first and last
	 * event time. A view, not a table: it costs the import nothing and can
	 * never disagree with the events. No input carries an age band, so
	 * there is none here (R15 reads birth years from the events). */
	"CREATE VIEW consent_subjects AS"
	"  SELECT e.brand_id AS brand_id, e.pseudonym AS pseudonym, e.key_version AS key_version,"
	"    (SELECT b.birth_year FROM consent_event_keys b WHERE b.skey = e.skey"
	"      AND b.brand_id = e.brand_id"
	"      AND b.pseudonym = e.pseudonym AND b.key_version = e.key_version"
	"      AND b.birth_year IS NOT NULL ORDER BY b.effective_ms DESC, b.id DESC LIMIT 1)"
	"      AS birth_year,"
	"    (SELECT j.jurisdiction FROM consent_event_keys j WHERE j.skey = e.skey"
	"      AND j.brand_id = e.brand_id"
	"      AND j.pseudonym = e.pseudonym AND j.key_version = e.key_version"
	"      AND j.jurisdiction IS NOT NULL ORDER BY j.effective_ms DESC, j.id DESC LIMIT 1)"
	"      AS jurisdiction,"
	"    min(e.time_ms) AS first_seen_ms, max(e.time_ms) AS last_seen_ms,"
	"    count(*) AS events"
	"  FROM consent_event_keys e GROUP BY e.skey, e.brand_id, e.pseudonym, e.key_version;"
	/* The suppression list (R33): one row per pseudonym (every key version
	 * known) and withdrawal scope. '' means all purposes / recipients.
	 * A row suppresses from since_ms until a later grant for its scope. */
	"CREATE TABLE consent_suppression ("
	"  brand_id    INTEGER NOT NULL REFERENCES brands(id),"
	"  pseudonym   BLOB NOT NULL CHECK (length(pseudonym) = 32),"
	"  key_version INTEGER NOT NULL,"
	"  purpose     TEXT NOT NULL,"
	"  recipient   TEXT NOT NULL,"
	"  since_ms    INTEGER NOT NULL,"
	"  event_id    INTEGER NOT NULL REFERENCES consent_events(id),"
	"  PRIMARY KEY (brand_id, pseudonym, key_version, purpose, recipient, since_ms)"
	") STRICT, WITHOUT ROWID;"
	/* R16: verified guardian links, keyed by the child's pseudonym (never
	 * the plain identifier); a guardian's grant is refused unless its
	 * guardian_ref has one (consent/guardian.c). consent_schema_v3 adds
	 * verified_by, the key and the append-only triggers. */
	"CREATE TABLE consent_guardian_links ("
	"  id                INTEGER PRIMARY KEY,"
	"  brand_id          INTEGER NOT NULL REFERENCES brands(id),"
	"  child_pseudonym   BLOB NOT NULL CHECK (length(child_pseudonym) = 32),"
	"  child_key_version INTEGER NOT NULL,"
	"  guardian_ref      TEXT NOT NULL,"
	"  verified_ms       INTEGER,"
	"  evidence          TEXT,"
	"  created_ms        INTEGER NOT NULL"
	") STRICT;"
	/* R12, R13, R28 (extended): impact assessments (PIPIA / DPIA), one
	 * row per purpose covered. cleanroom/pia.c writes them (its migration
	 * adds assessed_ms, cross_border and append-only triggers) and refuses
	 * a dataset or a cross-border collaboration that lacks one. */
	"CREATE TABLE consent_impact_assessments ("
	"  id         INTEGER PRIMARY KEY,"
	"  brand_id   INTEGER NOT NULL REFERENCES brands(id),"
	"  purpose    TEXT NOT NULL,"
	"  kind       TEXT NOT NULL CHECK (kind IN ('pipia', 'dpia')),"
	"  ref        TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL"
	") STRICT;"
	/* Append-only and immutable, whatever SQL is run. */
	"CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TRIGGER consent_notices_no_update BEFORE UPDATE ON consent_notices"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TRIGGER consent_notices_no_delete BEFORE DELETE ON consent_notices"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TRIGGER consent_event_keys_no_update BEFORE UPDATE ON consent_event_keys"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TRIGGER consent_event_keys_no_delete BEFORE DELETE ON consent_event_keys"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TRIGGER consent_suppression_no_update BEFORE UPDATE ON consent_suppression"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TRIGGER consent_suppression_no_delete BEFORE DELETE ON consent_suppression"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;";

/* R24: every table the rules read is append-only too, so a decision cannot
 * be changed by rewriting what a published version declared. */
const char consent_schema_v2[] =
	"CREATE TRIGGER consent_purposes_no_update BEFORE UPDATE ON consent_purposes"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TRIGGER consent_purposes_no_delete BEFORE DELETE ON consent_purposes"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TRIGGER consent_recipients_no_update BEFORE UPDATE ON consent_recipients"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TRIGGER consent_recipients_no_delete BEFORE DELETE ON consent_recipients"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TRIGGER consent_notice_changes_no_update BEFORE UPDATE ON consent_notice_changes"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TRIGGER consent_notice_changes_no_delete BEFORE DELETE ON consent_notice_changes"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;";

/* R16 (migration 15): a guardian link says how it was verified, is stored
 * once per (brand, child pseudonym, key version, guardian_ref), and, being
 * the evidence a guardian's grant relies on, is append-only like the events. */
const char consent_schema_v3[] =
	"ALTER TABLE consent_guardian_links ADD COLUMN verified_by TEXT;"
	"CREATE UNIQUE INDEX consent_guardian_links_key ON consent_guardian_links"
	"  (brand_id, child_pseudonym, child_key_version, guardian_ref);"
	"CREATE TRIGGER consent_guardian_links_no_update BEFORE UPDATE ON consent_guardian_links"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TRIGGER consent_guardian_links_no_delete BEFORE DELETE ON consent_guardian_links"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;";

/*
 * The rules' columns of an event as one text, '|' between them and NULL as
 * empty, in this order: type, actor, purpose, recipient, notice_version,
 * time_ms, effective_ms - time_ms (mostly 0: thirteen digits fewer per
 * row), expires_ms, birth_year, jurisdiction. P is the row's prefix
 * ("NEW." in the trigger). No column can hold a '|': type and actor are
 * CHECKed words, codes are [a-z0-9_.-], the rest are integers and a
 * two-letter code. consent_hist_row (ctx.c) parses it.
 */
#define RULES_TEXT(P)                                                                                 \
	"printf('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', " P "type, " P "actor, " P "purpose, " P "recipient, " \
	P "notice_version, " P "time_ms, " P "effective_ms - " P "time_ms, " P "expires_ms, "         \
	P "birth_year, " P "jurisdiction)"

/*
 * Migration 18: consent_event_keys keeps the key, the event id and the
 * rules' ten columns as one text (RULES_TEXT), instead of ten columns. A
 * gate reads every event of the subjects it decides: at a million subjects
 * (3.9M events) SQLite's decoding of ten columns per row was most of a
 * match's consent gate, and reading one text and splitting it in C halved
 * the scan (1.0 to 0.47 s per 1.95M rows on one core). The table is
 * rebuilt from consent_events, the record it was always a copy of; the
 * trigger and the append-only triggers come back as they were, and the
 * view consent_subjects reads the events' columns through their id.
 */
const char consent_schema_v4[] =
	"DROP VIEW consent_subjects;"
	"DROP TRIGGER consent_events_keys;"
	"DROP TRIGGER consent_event_keys_no_update;"
	"DROP TRIGGER consent_event_keys_no_delete;"
	"DROP TABLE consent_event_keys;"
	"CREATE TABLE consent_event_keys ("
	"  skey           INTEGER NOT NULL,"
	"  brand_id       INTEGER NOT NULL,"
	"  pseudonym      BLOB NOT NULL,"
	"  key_version    INTEGER NOT NULL,"
	"  dedupe         BLOB NOT NULL,"
	"  id             INTEGER NOT NULL,"
	"  rules          TEXT NOT NULL,"
	"  PRIMARY KEY (skey, brand_id, pseudonym, key_version, dedupe)"
	") STRICT, WITHOUT ROWID;"
	"INSERT INTO consent_event_keys SELECT skey, brand_id, pseudonym, key_version, dedupe, id, "
	RULES_TEXT("") " FROM consent_events ORDER BY skey, brand_id, pseudonym, key_version, dedupe;"
	"CREATE TRIGGER consent_events_keys AFTER INSERT ON consent_events BEGIN"
	"  INSERT INTO consent_event_keys VALUES (NEW.skey, NEW.brand_id, NEW.pseudonym,"
	"    NEW.key_version, NEW.dedupe, NEW.id, " RULES_TEXT("NEW.") ");"
	" END;"
	"CREATE TRIGGER consent_event_keys_no_update BEFORE UPDATE ON consent_event_keys"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE TRIGGER consent_event_keys_no_delete BEFORE DELETE ON consent_event_keys"
	"  BEGIN SELECT RAISE(ABORT, 'consent: append-only'); END;"
	"CREATE VIEW consent_subjects AS"
	"  SELECT k.brand_id AS brand_id, k.pseudonym AS pseudonym, k.key_version AS key_version,"
	"    (SELECT b.birth_year FROM consent_event_keys bk JOIN consent_events b ON b.id = bk.id"
	"      WHERE bk.skey = k.skey AND bk.brand_id = k.brand_id AND bk.pseudonym = k.pseudonym"
	"      AND bk.key_version = k.key_version AND b.birth_year IS NOT NULL"
	"      ORDER BY b.effective_ms DESC, b.id DESC LIMIT 1) AS birth_year,"
	"    (SELECT j.jurisdiction FROM consent_event_keys jk JOIN consent_events j ON j.id = jk.id"
	"      WHERE jk.skey = k.skey AND jk.brand_id = k.brand_id AND jk.pseudonym = k.pseudonym"
	"      AND jk.key_version = k.key_version AND j.jurisdiction IS NOT NULL"
	"      ORDER BY j.effective_ms DESC, j.id DESC LIMIT 1) AS jurisdiction,"
	"    min(e.time_ms) AS first_seen_ms, max(e.time_ms) AS last_seen_ms,"
	"    count(*) AS events"
	"  FROM consent_event_keys k JOIN consent_events e ON e.id = k.id"
	"  GROUP BY k.skey, k.brand_id, k.pseudonym, k.key_version;";

/* ---------------------------------------------------------------- brands */

/* Writes *id_out only on success. */
cr_err consent_brand_create(struct consent_ctx *ctx, const char *name, cr_time_ms now,
			    int64_t *id_out)
{
	sqlite3_stmt *st;
	cr_err rc;

	if (name == NULL || !consent_code_valid(name, CONSENT_BRAND_NAME_MAX))
		return CR_ERR_CONSENT_BRAND_NAME;
	st = consent_stmt(ctx, ST_BRAND_INSERT);
	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	rc = consent_step_done(st);
	if (rc == CR_ERR_EXISTS)
		return CR_ERR_CONSENT_BRAND_EXISTS;
	if (rc == CR_OK && id_out != NULL)
		*id_out = sqlite3_last_insert_rowid(ctx->db);
	return rc;
}

cr_err consent_brand_find(struct consent_ctx *ctx, const char *name, int64_t *id_out)
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_BRAND_FIND);
	cr_err rc = CR_ERR_CONSENT_BRAND_NOT_FOUND;
	int s;

	if (st == NULL)
		return CR_ERR_CONSENT;
	if (name == NULL)
		return CR_ERR_CONSENT_BRAND_NOT_FOUND;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		*id_out = sqlite3_column_int64(st, 0);
		rc = CR_OK;
	} else if (s != SQLITE_DONE) {
		rc = consent_sqlite_err(ctx->db, s);
	}
	sqlite3_reset(st);
	return rc;
}

cr_err consent_brand_name(struct consent_ctx *ctx, int64_t brand,
			  char name[static CONSENT_BRAND_NAME_MAX + 1])
{
	const struct consent_catalog *c;
	cr_err rc = consent_catalog_get(ctx, brand, &c);

	if (rc == CR_OK)
		consent_copy(name, CONSENT_BRAND_NAME_MAX + 1, c->name);
	return rc;
}

cr_err consent_brand_key_version(struct consent_ctx *ctx, int64_t brand, uint32_t *out)
{
	const struct consent_catalog *c;
	cr_err rc = consent_catalog_get(ctx, brand, &c);

	if (rc == CR_OK)
		*out = c->key_version;
	return rc;
}

cr_err consent_brand_bump(struct consent_ctx *ctx, int64_t brand)
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_BRAND_BUMP);

	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, brand);
	return consent_step_done(st);
}

cr_err consent_brand_set_child_age(struct consent_ctx *ctx, int64_t brand,
				   const char *jurisdiction, int age)
{
	const struct consent_catalog *c;
	sqlite3_stmt *st;
	cr_err rc;

	if (jurisdiction == NULL || !consent_jur_is_eu(jurisdiction) || age < 13 || age > 16)
		return CR_ERR_CONSENT_CHILD_AGE;
	rc = consent_catalog_get(ctx, brand, &c);
	if (rc != CR_OK)
		return rc;
	rc = consent_savepoint(ctx);
	if (rc != CR_OK)
		return rc;
	st = consent_stmt(ctx, ST_CHILD_AGE_SET);
	if (st == NULL) {
		rc = CR_ERR_CONSENT;
		goto out;
	}
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_text(st, 2, jurisdiction, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, age);
	rc = consent_step_done(st);
	if (rc == CR_OK)
		rc = consent_brand_bump(ctx, brand);
out:
	return consent_savepoint_end(ctx, rc);
}
