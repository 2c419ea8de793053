/*
 * ops_consent.c: consent operations shared by `cleanroom consent|receipt|audit`
 * and the service: the batched NDJSON import with one audit leaf per stored
 * event (I5), the per-scope status of a subject, receipt verification
 * (R27) and the JSON form of an audit log entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cleanroom/ops.h"

/* Lines per committed batch. Each commit signs an audit checkpoint and
 * fsyncs: at 5,000 the import of 784,334 lines took 24.6 s against 26.5 s
 * at 1,000. A service import still gives way within a batch
 * (import_cut), and an interrupted one loses at most one batch. */
#define IMPORT_BATCH 5000

struct import_ctx {
	struct app *a;
	int64_t brand;
	int64_t chunk_start_ms;  /* when the open chunk's transaction began */
	const struct registry_actor *who;
	ops_refused_fn refused;
	ops_lines_fn lines;
	void *ctx;
	const struct consent_import_summary *sum;  /* the import's, updated as it goes */
};

/* Refused lines go to the caller; stored ones get their audit leaf. */
static cr_err import_on_line(void *user, const struct consent_line_result *r)
{
	struct import_ctx *c = user;
	cr_err rc = CR_OK;
	if (r->rc != CR_OK) {
		if (c->refused)
			c->refused(c->ctx, r->line, r->rc, r->why);
		return CR_OK;
	}
	if (r->is_link) /* a verified guardian link (R16): its own leaf, new ones only */
		return r->link_duplicate ? CR_OK : registry_audit_guardian_link(c->a, c->who, c->brand, &r->link_child);
	if (!r->change.duplicate)
		rc = registry_audit_change(c->a, c->who, &r->change, NULL);
	/* A line of several scopes was recorded before its leaves: the first
	 * scope's purge leaf counts what they purged together. */
	c->a->purged_records = 0;
	for (size_t i = 0; i < r->n_more && rc == CR_OK; i++)
		if (!r->more[i].duplicate)
			rc = registry_audit_change(c->a, c->who, &r->more[i], NULL);
	c->a->purged_records = 0;
	return rc;
}

/* What an erasure keeps, and why (R26, R18/R33): said in every answer. */
static const char *const erasure_kept[] = {
	"consent events under the brand's pseudonym, the evidence that past processing was lawful (R26)",
	"the suppression entry, which keeps a later upload of this person out (R33)",
	"every audit leaf, whose subject commitments no longer link to anyone once the salts are gone",
};

cr_err ops_subject_erase(struct app *a, const struct registry_actor *who, int64_t brand,
			 const struct crypto_pseudonym *p, size_t n, json_t **out)
{
	struct registry_erasure e;
	json_t *kept, *receipt;
	cr_err rc = registry_erase(a, who, brand, &p[0], p + 1, n - 1, &e);
	if (rc != CR_OK)
		return rc;
	receipt = json_loads(e.withdrawal_receipt, 0, NULL);
	kept = json_array();
	for (size_t i = 0; i < sizeof(erasure_kept) / sizeof(erasure_kept[0]); i++)
		json_array_append_new(kept, json_string(erasure_kept[i]));
	*out = json_pack("{s:s,s:{s:I,s:I,s:I,s:I},s:o,s:o,s:{s:I,s:s}}", "status", "erased", "erased",
			 "purged_records", (json_int_t)e.purged_records, "event_links", (json_int_t)e.event_links,
			 "audit_index_rows", (json_int_t)e.index_rows, "audit_salts", (json_int_t)e.salts,
			 "kept", kept, "receipt", receipt ? receipt : json_null(), "erasure", "audit_index",
			 (json_int_t)e.erase_index, "audit_proof", e.erase_proof);
	registry_erasure_release(&e);
	return *out ? CR_OK : CR_ERR_NOMEM;
}

cr_err ops_subject_export(struct app *a, int64_t brand, const struct crypto_pseudonym *p, size_t n,
			  json_t **out)
{
	char *buf = NULL;
	size_t len = 0, i;
	json_t *doc = NULL, *receipts = json_array(), *ev;
	FILE *m = open_memstream(&buf, &len);
	cr_err rc = m ? consent_export_subject(a->consent, brand, p, n, cr_time_now(), consent_write_file, m)
		      : CR_ERR_NOMEM;
	if (m != NULL && fclose(m) != 0 && rc == CR_OK)
		rc = CR_ERR_NOMEM;
	if (rc == CR_OK && (doc = json_loadb(buf, len, 0, NULL)) == NULL)
		rc = CR_ERR_INTERNAL;
	json_array_foreach(rc == CR_OK ? json_object_get(doc, "events") : NULL, i, ev) {
		const char *type = json_string_value(json_object_get(ev, "type"));
		char *receipt = NULL;
		cr_err r;
		if (type == NULL || strcmp(type, "served") == 0 || strcmp(type, "expire") == 0)
			continue;
		r = registry_event_receipt(a, brand, json_integer_value(json_object_get(ev, "id")), &receipt);
		if (r == CR_OK)
			json_array_append_new(receipts, json_loads(receipt, 0, NULL));
		else if (r != CR_ERR_AUDIT_NOT_FOUND)
			rc = r;
		free(receipt);
		if (rc != CR_OK)
			break;
	}
	if (rc == CR_OK) {
		json_object_set_new(doc, "receipts", receipts);
		receipts = NULL;
		*out = doc;
		doc = NULL;
	}
	json_decref(receipts);
	json_decref(doc);
	if (buf != NULL)
		sodium_memzero(buf, len);
	free(buf);
	return rc;
}

/*
 * Ends a batch: commit events and leaves together (signing a checkpoint),
 * let a waiting writer have the store (the service), start the next.
 */
static cr_err import_on_batch(void *user, uint64_t lines)
{
	struct import_ctx *c = user;
	cr_err rc = app_commit(c->a);
	if (rc == CR_OK) {
		app_store_yield(c->a);
		rc = app_begin(c->a);
		c->chunk_start_ms = cr_monotonic_ms();
	}
	if (c->lines)
		c->lines(c->ctx, lines, c->sum->bytes);
	return rc;
}

/* Ends the chunk early when another request waits for the store (the service). */
static bool import_cut(void *user)
{
	struct import_ctx *c = user;
	return app_store_wanted(c->a, c->chunk_start_ms);
}

cr_err ops_consent_import(struct app *a, const struct registry_actor *who, int64_t brand,
			  const char *channel,
			  FILE *in, ops_refused_fn refused, ops_lines_fn lines, void *ctx,
			  struct consent_import_summary *sum)
{
	struct import_ctx c = { a, brand, cr_monotonic_ms(), who, refused, lines, ctx, sum };
	struct consent_importer *imp = NULL;
	struct consent_import_hooks hooks = { import_on_line, import_on_batch, IMPORT_BATCH, &c, import_cut };
	cr_err rc = consent_importer_new(a->consent, a->keys, brand, NULL, &imp);
	memset(sum, 0, sizeof(*sum));
	if (rc == CR_OK)
		consent_importer_source(imp, channel, "import");
	if (rc == CR_OK)
		rc = app_begin(a);
	if (rc == CR_OK) {
		rc = consent_import_stream(imp, in, cr_time_now(), &hooks, sum);
		if (rc == CR_OK)
			rc = app_commit(a);
		if (rc != CR_OK)
			app_rollback(a);
	}
	consent_importer_free(imp);
	return rc;
}

json_t *ops_import_summary_json(const struct consent_import_summary *s)
{
	json_t *types = json_object(), *reasons = json_object();
	for (int t = 1; t < CONSENT_EV_COUNT; t++)
		json_object_set_new(types, consent_event_type_name((enum consent_event_type)t),
				    json_integer((json_int_t)s->stored_by_type[t]));
	for (size_t i = 0; i < s->nreasons; i++)
		json_object_set_new(reasons, cr_errname(s->reasons[i].code),
				    json_integer((json_int_t)s->reasons[i].count));
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "lines", (json_int_t)s->lines,
			 "blank", (json_int_t)s->blank, "stored", (json_int_t)s->stored,
			 "guardian_links", (json_int_t)s->guardian_links,
			 "duplicates", (json_int_t)s->duplicates, "refused", (json_int_t)s->refused,
			 "stored_by_type", types, "refused_by_reason", reasons);
}

/* Decides one scope and adds it to the list. */
static cr_err status_one(struct app *a, int64_t brand, const struct crypto_pseudonym *p,
			 const char *purpose, const char *recipient, cr_time_ms at, json_t *list)
{
	struct consent_decision d;
	cr_err rc = consent_valid_at(a->consent, brand, p, purpose, recipient, at, 0, &d);
	if (rc == CR_OK)
		json_array_append_new(list, json_pack("{s:s, s:s?, s:b, s:s}", "purpose", purpose,
						      "recipient", recipient, "allowed", d.allowed,
						      "reason", consent_reason_name(d.reason)));
	return rc;
}

cr_err ops_consent_status(struct app *a, int64_t brand, const struct crypto_pseudonym *p,
			  cr_time_ms at, json_t *list)
{
	struct consent_scope *scopes = NULL;
	size_t n = 0;
	cr_err rc = consent_notice_scopes(a->consent, brand, &scopes, &n);
	for (size_t i = 0; i < n && rc == CR_OK; i++)
		rc = status_one(a, brand, p, scopes[i].purpose, scopes[i].recipient[0] ? scopes[i].recipient : NULL,
				at, list);
	free(scopes);
	return rc;
}

/* Checks the attached audit proof: it must prove the payload's audit index. */
static cr_err check_audit_proof(const char *vkey, json_t *doc, const struct consent_receipt_info *info,
				bool *had_proof, char *why, size_t why_cap)
{
	json_t *proof = json_object_get(doc, "audit_proof");
	struct audit_proof_check chk;
	cr_err rc;
	*had_proof = proof != NULL;
	if (proof == NULL)
		return CR_OK;
	if (!json_is_string(proof)) {
		snprintf(why, why_cap, "audit_proof is not a tlog-proof text");
		return CR_ERR_CONSENT_RECEIPT_MALFORMED;
	}
	rc = audit_tlog_proof_verify(vkey, strlen(vkey), json_string_value(proof), json_string_length(proof),
				     NULL, 0, NULL, &chk, why, why_cap);
	if (rc != CR_OK)
		return rc;
	if (chk.index != info->audit_index) {
		snprintf(why, why_cap, "the audit proof is for entry %llu, the receipt names %llu",
			 (unsigned long long)chk.index, (unsigned long long)info->audit_index);
		return CR_ERR_AUDIT_PROOF_RANGE;
	}
	return CR_OK;
}

cr_err ops_receipt_verify(const char *rkey, const char *vkey, const char *json, size_t len,
			  struct consent_receipt_info *info, bool *had_proof, char *why,
			  size_t why_cap)
{
	struct consent_receipt_info got;
	struct audit_verifier r, v;
	json_t *doc;
	cr_err rc;
	if (audit_verifier_parse(rkey, strlen(rkey), &r) != CR_OK || audit_verifier_parse(vkey, strlen(vkey), &v) != CR_OK) {
		snprintf(why, why_cap, "not a verifier key (name+keyid+base64)");
		return CR_ERR_PARSE;
	}
	rc = consent_receipt_verify(json, len, r.public_key, &got);
	if (rc != CR_OK)
		return rc;
	doc = json_loadb(json, len, 0, NULL);
	rc = check_audit_proof(vkey, doc, &got, had_proof, why, why_cap);
	json_decref(doc);
	if (rc == CR_OK)
		*info = got;
	return rc;
}

json_t *ops_audit_record_json(const struct audit_record *r)
{
	const struct audit_leaf *l = r->leaf;
	char when[CR_TIME_STRLEN] = "";
	char commit[65] = "";
	json_t *o, *p = json_array(), *rc = json_array();
	if (cr_time_format(l->time_ms, when) != CR_OK)
		when[0] = '\0';
	for (size_t i = 0; i < l->n_purposes; i++)
		json_array_append_new(p, json_string(l->purposes[i]));
	for (size_t i = 0; i < l->n_recipients; i++)
		json_array_append_new(rc, json_string(l->recipients[i]));
	if (l->has_subject && cr_hex_encode(l->subject_commit, 32, commit, sizeof(commit)) != CR_OK)
		commit[0] = '\0';
	o = json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s}",
		      "index", (json_int_t)r->index, "time", when, "time_ms", (json_int_t)l->time_ms,
		      "type", l->event_type, "actor_role", l->actor_role, "actor_id", l->actor_id,
		      "tenant", l->tenant, "dataset", l->dataset, "collaboration", l->collaboration,
		      "session", l->session, "notice", l->notice, "purposes", p, "recipients", rc,
		      "detail", l->detail);
	if (l->has_subject)
		json_object_set_new(o, "subject_commit", json_string(commit));
	return o;
}
