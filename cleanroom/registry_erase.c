/*
 * registry_erase.c: a person's erasure (GDPR 17, PIPL 47), end to end, in
 * one transaction (registry.h gives the contract). What it rests on:
 *
 * - no leaf names the person: consent leaves carry the subject only as the
 *   salted commitment SHA-256(salt || pseudonym) and no event row id (the
 *   event's leaf is found through consent_event_leaves); an ingest batch's
 *   leaf carries the root over its rows' salted commitments;
 * - so deleting the salts (audit_subject_erase) leaves nothing in the log
 *   that anyone, the master key's holder included, can test the person's
 *   pseudonym against, while every leaf, hash and proof stays as it was.
 */
#include <stdlib.h>
#include <string.h>

#include "cleanroom/registry.h"

/* Deletes the links from `p`'s consent events of `brand` to their leaves. */
static cr_err unlink_events(struct app *a, int64_t brand, const struct crypto_pseudonym *p, uint64_t *rows)
{
	sqlite3_stmt *st = NULL;
	int step;
	if (sqlite3_prepare_v2(a->store->db,
			       "DELETE FROM consent_event_leaves WHERE event_id IN (SELECT id FROM consent_events"
			       " WHERE brand_id = ?1 AND pseudonym = ?2)", -1, &st, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_blob(st, 2, p->bytes, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return store_err(step);
	*rows += (uint64_t)sqlite3_changes64(a->store->db);
	return CR_OK;
}

/* Whether `p` has an audit salt (before its erasure, to count what was erased). */
static cr_err has_salt(struct app *a, const struct crypto_pseudonym *p, bool *found)
{
	sqlite3_stmt *st = NULL;
	int step;
	if (sqlite3_prepare_v2(a->store->db, "SELECT 1 FROM audit_salts WHERE pseudonym = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return CR_ERR_STORE;
	sqlite3_bind_blob(st, 1, p->bytes, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return store_err(step);
	*found = step == SQLITE_ROW;
	return CR_OK;
}

/* One pseudonym's links, index rows and salt. */
static cr_err erase_one(struct app *a, int64_t brand, const struct crypto_pseudonym *p,
			struct registry_erasure *out)
{
	uint64_t rows = 0;
	bool salted = false;
	cr_err rc = unlink_events(a, brand, p, &out->event_links);
	if (rc == CR_OK)
		rc = has_salt(a, p, &salted);
	if (rc == CR_OK)
		rc = audit_subject_erase(a->log, p->bytes, &rows);
	out->index_rows += rows;
	out->salts += salted;
	return rc;
}

/* The "subject.erase" leaf: counts only, no subject (there is nobody left to commit to). */
static cr_err erase_leaf(struct app *a, const struct registry_actor *who, const char *brand_name,
			 struct registry_erasure *out)
{
	char detail[160];
	struct audit_entry e = { .event_type = "subject.erase", .actor_role = who->role, .actor_id = who->id,
				 .tenant = brand_name, .time_ms = cr_time_now(), .detail = detail };
	snprintf(detail, sizeof(detail), "purged_records=%llu event_links=%llu index_rows=%llu salts=%llu",
		 (unsigned long long)out->purged_records, (unsigned long long)out->event_links,
		 (unsigned long long)out->index_rows, (unsigned long long)out->salts);
	return app_audit(a, &e, &out->erase_index);
}

cr_err registry_erase(struct app *a, const struct registry_actor *who, int64_t brand,
		      const struct crypto_pseudonym *p, const struct crypto_pseudonym *aliases,
		      size_t n_aliases, struct registry_erasure *out)
{
	char name[CONSENT_BRAND_NAME_MAX + 1], why[CONSENT_WHY_MAX] = "";
	struct consent_event ev;
	struct consent_change ch;
	uint64_t index = 0;
	size_t proof_len = 0;
	cr_err rc;

	memset(out, 0, sizeof(*out));
	if (n_aliases > CONSENT_KEY_VERSIONS_MAX)
		return CR_ERR_INTERNAL;
	rc = consent_brand_name(a->consent, brand, name);
	if (rc != CR_OK)
		return rc;
	consent_event_init(&ev, CONSENT_EV_WITHDRAW);
	ev.subject = *p;
	ev.n_aliases = n_aliases;
	for (size_t i = 0; i < n_aliases; i++)
		ev.aliases[i] = aliases[i];
	ev.actor = CONSENT_ACTOR_SUBJECT;
	ev.time = cr_time_now();
	ev.received = ev.time;
	consent_event_source(&ev, who->role, "erasure_request"); /* R24 */

	rc = app_begin(a);
	if (rc != CR_OK)
		return rc;
	rc = registry_record_in_txn(a, who, brand, &ev, &ch, &index, why, sizeof(why));
	out->purged_records = a->purged_records;
	a->purged_records = 0;
	if (rc == CR_OK)
		rc = erase_one(a, brand, p, out);
	for (size_t i = 0; i < n_aliases && rc == CR_OK; i++)
		rc = erase_one(a, brand, &aliases[i], out);
	if (rc == CR_OK)
		rc = erase_leaf(a, who, name, out);
	rc = app_end(a, rc);

	/* After the commit: the withdrawal's receipt (it names no pseudonym,
	 * and its proof quotes a leaf whose salt is gone) and the erasure
	 * leaf's proof against the checkpoint just signed. */
	if (rc == CR_OK)
		rc = registry_receipt(a, brand, &ch, index, CONSENT_RECEIPT_WITHHOLD_SUBJECT,
				      &out->withdrawal_receipt);
	if (rc == CR_OK)
		rc = audit_log_tlog_proof(a->log, out->erase_index, &out->erase_proof, &proof_len);
	if (rc != CR_OK)
		registry_erasure_release(out);
	return rc;
}

void registry_erasure_release(struct registry_erasure *e)
{
	free(e->withdrawal_receipt);
	free(e->erase_proof);
	e->withdrawal_receipt = NULL;
	e->erase_proof = NULL;
}
