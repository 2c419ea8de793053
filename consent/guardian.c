/*
 * guardian.c: verified guardian links (R16). A brand records a link once it
 * has verified that a guardian holds parental responsibility for a child;
 * a guardian's grant is stored only when its guardian_ref has a link for
 * that very pseudonym and key version. Links are keyed by the child's
 * pseudonym, never a plain identifier, and are append-only (migration 15).
 * When the child comes of age the grant stops counting: that part is a
 * decision, in rules.c (check_guardian_grant).
 */
#include <string.h>

#include "consent/consent_internal.h"

static cr_err link_check(const struct consent_ctx *ctx, const struct consent_guardian_link *l,
			 char *why, size_t cap)
{
	uint32_t kv = l->child.key_version;

	if (kv < 1 || kv > CONSENT_KEY_VERSIONS_MAX) {
		consent_why(why, cap, "subject: key version out of range");
		return CR_ERR_CONSENT_GUARDIAN_LINK;
	}
	if (l->guardian_ref[0] == '\0' || !consent_printable_valid(l->guardian_ref, CONSENT_REF_MAX)) {
		consent_why(why, cap, "guardian_ref: missing or not printable text of at most %d bytes",
			    CONSENT_REF_MAX);
		return CR_ERR_CONSENT_GUARDIAN_LINK;
	}
	if (l->verified_by[0] == '\0' || !consent_printable_valid(l->verified_by, CONSENT_FIELD_MAX)) {
		consent_why(why, cap, "verified_by: missing or not printable text of at most %d bytes",
			    CONSENT_FIELD_MAX);
		return CR_ERR_CONSENT_GUARDIAN_LINK;
	}
	if (l->verified > consent_now(ctx) + ctx->skew_ms) {
		consent_why(why, cap, "time: lies in the future (more than %lld s past now)",
			    (long long)(ctx->skew_ms / 1000));
		return CR_ERR_CONSENT_TIME_FUTURE;
	}
	return CR_OK;
}

cr_err consent_guardian_link_add(struct consent_ctx *ctx, int64_t brand,
				 const struct consent_guardian_link *l, int64_t *id_out,
				 bool *duplicate, char *why, size_t why_cap)
{
	const struct consent_catalog *c;
	sqlite3_stmt *st;
	cr_err rc;

	if (ctx == NULL || l == NULL)
		return CR_ERR_INVALID_ARG;
	rc = link_check(ctx, l, why, why_cap);
	if (rc == CR_OK)
		rc = consent_catalog_get(ctx, brand, &c); /* the brand exists */
	if (rc != CR_OK)
		return rc;
	st = consent_stmt(ctx, ST_GUARDIAN_INSERT);
	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_blob(st, 2, l->child.bytes, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, l->child.key_version);
	sqlite3_bind_text(st, 4, l->guardian_ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, l->verified);
	sqlite3_bind_text(st, 6, l->verified_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, consent_now(ctx));
	rc = consent_step_done(st);
	if (rc != CR_OK)
		return rc;
	if (duplicate != NULL)
		*duplicate = sqlite3_changes(ctx->db) == 0;
	if (sqlite3_changes(ctx->db) == 0)
		return consent_guardian_linked(ctx, brand, &l->child, l->guardian_ref, id_out);
	if (id_out != NULL)
		*id_out = sqlite3_last_insert_rowid(ctx->db);
	return CR_OK;
}

cr_err consent_guardian_linked(struct consent_ctx *ctx, int64_t brand,
			       const struct crypto_pseudonym *child, const char *guardian_ref,
			       int64_t *id_out)
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_GUARDIAN_FIND);
	int64_t id = 0;
	int s;

	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_blob(st, 2, child->bytes, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, child->key_version);
	sqlite3_bind_text(st, 4, guardian_ref, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		return consent_sqlite_err(ctx->db, s);
	if (id_out != NULL)
		*id_out = id;
	return CR_OK;
}

cr_err consent_guardian_grant_check(struct consent_ctx *ctx, int64_t brand,
				    const struct consent_event *ev, char *why, size_t cap)
{
	int64_t link = 0;
	cr_err rc;

	if (ev->type != CONSENT_EV_GRANT || ev->actor != CONSENT_ACTOR_GUARDIAN)
		return CR_OK;
	rc = consent_guardian_linked(ctx, brand, &ev->subject, ev->guardian_ref, &link);
	if (rc == CR_OK && link == 0) {
		/* The reference is the brand's, not the subject: naming it helps. */
		consent_why(why, cap, "guardian_ref: no verified guardian link for this subject");
		rc = CR_ERR_CONSENT_GUARDIAN_UNLINKED;
	}
	return rc;
}

/* ------------------------------------------------------------ NDJSON line */

static cr_err link_text(json_t *root, const char *key, char *dst, size_t cap, char *why, size_t wcap)
{
	json_t *v = json_object_get(root, key);

	if (!json_is_string(v) || json_string_length(v) >= cap) {
		consent_why(why, wcap, "%s: missing, not a string or too long", key);
		return CR_ERR_CONSENT_GUARDIAN_LINK;
	}
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return CR_OK;
}

/* The fields of a guardian_link line; anything else is refused. */
static cr_err link_fields(json_t *root, char *why, size_t cap)
{
	static const char *const known[] = { "type", "subject", "id_type", "guardian_ref",
					     "verified_by", "time" };
	const char *key;
	json_t *v;

	json_object_foreach(root, key, v) {
		bool ok = false;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			ok = ok || strcmp(key, known[i]) == 0;
		if (!ok) {
			consent_why(why, cap, "unknown field \"%s\"",
				    consent_code_valid(key, 32) ? key : "(name not shown)");
			return CR_ERR_CONSENT_EVENT_UNKNOWN_FIELD;
		}
	}
	return CR_OK;
}

static cr_err link_subject(const struct consent_importer *imp, json_t *root,
			   struct consent_guardian_link *l, char *why, size_t cap)
{
	json_t *s = json_object_get(root, "subject"), *t = json_object_get(root, "id_type");
	cr_err rc;

	if (!json_is_string(s) || (t != NULL && !json_is_string(t))) {
		consent_why(why, cap, "subject: missing");
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	rc = consent_importer_subject(imp, json_string_value(s), json_string_length(s),
				      t ? json_string_value(t) : NULL, &l->child, NULL, NULL);
	if (rc != CR_OK)
		consent_why(why, cap, "subject: %s", cr_strerror(rc));
	return rc;
}

bool consent_guardian_line_is_link(const char *line, size_t len)
{
	static const char tag[] = "\"guardian_link\"";

	for (size_t i = 0; i + sizeof(tag) - 1 <= len; i++)
		if (memcmp(line + i, tag, sizeof(tag) - 1) == 0)
			return true;
	return false;
}

cr_err consent_guardian_line_parse(const struct consent_importer *imp, const char *line, size_t len,
				   struct consent_guardian_link *out, char *why, size_t cap)
{
	struct consent_guardian_link l = { 0 };
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL), *t;
	cr_err rc = CR_OK;

	if (root == NULL || !json_is_object(root)) {
		consent_why(why, cap, "not a JSON object");
		json_decref(root);
		return CR_ERR_CONSENT_EVENT_MALFORMED;
	}
	t = json_object_get(root, "time");
	rc = link_fields(root, why, cap);
	if (rc == CR_OK)
		rc = link_text(root, "guardian_ref", l.guardian_ref, sizeof(l.guardian_ref), why, cap);
	if (rc == CR_OK)
		rc = link_text(root, "verified_by", l.verified_by, sizeof(l.verified_by), why, cap);
	if (rc == CR_OK && (!json_is_string(t) ||
			    cr_time_parse(json_string_value(t), json_string_length(t), &l.verified) != CR_OK)) {
		consent_why(why, cap, "time: missing or not an RFC 3339 time with offset");
		rc = CR_ERR_CONSENT_EVENT_FIELD;
	}
	if (rc == CR_OK)
		rc = link_subject(imp, root, &l, why, cap);
	json_decref(root);
	if (rc == CR_OK)
		*out = l;
	return rc;
}
