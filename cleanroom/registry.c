/*
 * registry.c: consent/ state changes with their audit leaves, the
 * withdrawal purge and the ingest gate (see registry.h).
 *
 * The purge re-applies the gate instead of reasoning about scopes: after a
 * withdrawal, a record stays exactly when the consents its dataset needs
 * are all still valid. That is R19's "delete what no other valid purpose
 * needs" (edge case 4) and I2 at once, for any withdrawal scope.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanroom/registry.h"


/* ------------------------------------------------------------- helpers */

cr_err registry_brand(struct app *a, const char *name, int64_t *id)
{
	return consent_brand_find(a->consent, name, id);
}

static void audit_entry_init(struct audit_entry *e, const struct registry_actor *who,
			     const char *type, const char *tenant)
{
	memset(e, 0, sizeof(*e));
	e->event_type = type;
	e->actor_role = who->role;
	e->actor_id = who->id;
	e->tenant = tenant;
	e->time_ms = cr_time_now();
}

/* -------------------------------------------------------------- brands */

cr_err registry_brand_create(struct app *a, const struct registry_actor *who,
			     const char *name, int64_t *id_out)
{
	struct audit_entry e;
	int64_t id = 0;
	cr_err rc = app_begin(a);
	if (rc != CR_OK)
		return rc;
	rc = consent_brand_create(a->consent, name, cr_time_now(), &id);
	audit_entry_init(&e, who, "brand.create", name);
	if (rc == CR_OK)
		rc = app_audit(a, &e, NULL);
	rc = app_end(a, rc);
	if (rc == CR_OK)
		*id_out = id;
	return rc;
}

cr_err registry_brand_child_age(struct app *a, const struct registry_actor *who, int64_t brand,
				const char *jurisdiction, int age)
{
	char name[CONSENT_BRAND_NAME_MAX + 1], detail[64];
	struct audit_entry e;
	cr_err rc = consent_brand_name(a->consent, brand, name);
	if (rc != CR_OK)
		return rc;
	rc = app_begin(a);
	if (rc != CR_OK)
		return rc;
	rc = consent_brand_set_child_age(a->consent, brand, jurisdiction, age);
	audit_entry_init(&e, who, "brand.child_age", name);
	snprintf(detail, sizeof(detail), "jurisdiction=%s age=%d", rc == CR_OK ? jurisdiction : "", age);
	e.detail = detail;
	if (rc == CR_OK)
		rc = app_audit(a, &e, NULL);
	return app_end(a, rc);
}

/* ------------------------------------------------------ guardian links */

cr_err registry_audit_guardian_link(struct app *a, const struct registry_actor *who, int64_t brand,
				    const struct crypto_pseudonym *child)
{
	char name[CONSENT_BRAND_NAME_MAX + 1];
	struct audit_entry e;
	cr_err rc = consent_brand_name(a->consent, brand, name);
	if (rc != CR_OK)
		return rc;
	/* The subject as the log commits to it; neither the guardian's
	 * reference nor how it was verified (free text) goes in the leaf. */
	audit_entry_init(&e, who, "guardian.link", name);
	e.subject = child->bytes;
	return app_audit(a, &e, NULL);
}

cr_err registry_guardian_link(struct app *a, const struct registry_actor *who, int64_t brand,
			      const struct consent_guardian_link *l, bool *duplicate, char *why,
			      size_t why_cap)
{
	bool dup = false;
	cr_err rc = app_begin(a);
	if (rc != CR_OK)
		return rc;
	rc = consent_guardian_link_add(a->consent, brand, l, NULL, &dup, why, why_cap);
	if (rc == CR_OK && !dup)
		rc = registry_audit_guardian_link(a, who, brand, &l->child);
	rc = app_end(a, rc);
	if (rc == CR_OK && duplicate != NULL)
		*duplicate = dup;
	return rc;
}

/* ------------------------------------------------------------- notices */

cr_err registry_notice_publish(struct app *a, const struct registry_actor *who,
			       int64_t brand, const char *json, size_t len, cr_time_ms published_at,
			       struct consent_notice_published *out, char *why,
			       size_t why_cap)
{
	char name[CONSENT_BRAND_NAME_MAX + 1], notice[16], hash[65], detail[128];
	struct consent_notice_published pub;
	struct audit_entry e;
	cr_err rc = consent_brand_name(a->consent, brand, name);
	if (rc != CR_OK)
		return rc;
	rc = app_begin(a);
	if (rc != CR_OK)
		return rc;
	rc = consent_notice_publish(a->consent, brand, json, len, published_at, &pub, why, why_cap);
	if (rc == CR_OK && !pub.already) {
		audit_entry_init(&e, who, "notice.publish", name);
		snprintf(notice, sizeof(notice), "v%u", pub.version);
		if (cr_hex_encode(pub.hash, sizeof(pub.hash), hash, sizeof(hash)) != CR_OK)
			hash[0] = '\0';
		snprintf(detail, sizeof(detail), "sha256=%s material=%s", hash, pub.material ? "true" : "false");
		e.notice = notice;
		e.detail = detail;
		rc = app_audit(a, &e, NULL);
	}
	rc = app_end(a, rc);
	if (rc == CR_OK && out)
		*out = pub;
	return rc;
}

/* ------------------------------------------------------- consent events */

/*
 * The purge a withdrawal or objection made, in a leaf of its own after the
 * event's: "consent.purge" with the count, and no subject. The event's leaf
 * (and so any receipt's inclusion proof, which quotes it) says nothing of
 * what the brand held, and every withdrawal appends both leaves, so a
 * customer's and a stranger's withdrawals leave logs of the same shape
 * (I9). Only the brand's tenant (brand and officer tokens) reads it.
 */
static cr_err audit_purge(struct app *a, const struct registry_actor *who,
			  const struct consent_change *c, const char *brand_name)
{
	char detail[96];
	struct audit_entry e;
	(void)c;
	audit_entry_init(&e, who, "consent.purge", brand_name);
	snprintf(detail, sizeof(detail), "purged_records=%llu", (unsigned long long)a->purged_records);
	e.detail = detail;
	return app_audit(a, &e, NULL);
}

const char registry_schema_v1[] =
	/* Which leaf records which consent event: receipts quote it. A table
	 * of its own (consent_events is append-only and never updated), whose
	 * rows an erasure deletes, so that no leaf names an event row. */
	"CREATE TABLE consent_event_leaves ("
	"  event_id  INTEGER PRIMARY KEY REFERENCES consent_events(id),"
	"  audit_idx INTEGER NOT NULL"
	") STRICT;";

/* Records that leaf `index` is event `event_id`'s (a statement kept on `a` for imports). */
static cr_err event_leaf_link(struct app *a, int64_t event_id, uint64_t index)
{
	if (a->event_leaf_st == NULL &&
	    sqlite3_prepare_v3(a->store->db, "INSERT INTO consent_event_leaves(event_id, audit_idx) VALUES (?1, ?2)",
			       -1, SQLITE_PREPARE_PERSISTENT, &a->event_leaf_st, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	sqlite3_reset(a->event_leaf_st);
	sqlite3_bind_int64(a->event_leaf_st, 1, event_id);
	sqlite3_bind_int64(a->event_leaf_st, 2, (sqlite3_int64)index);
	int step = sqlite3_step(a->event_leaf_st);
	sqlite3_reset(a->event_leaf_st);
	return step == SQLITE_DONE ? CR_OK : store_err(step);
}

cr_err registry_audit_change(struct app *a, const struct registry_actor *who,
			     const struct consent_change *c, uint64_t *index_out)
{
	char name[CONSENT_BRAND_NAME_MAX + 1], type[32], notice[16], detail[96];
	const char *purposes[1] = { c->purpose }, *recipients[1] = { c->recipient };
	struct audit_entry e;
	uint64_t index = 0;
	cr_err rc = consent_brand_name(a->consent, c->brand, name);
	if (rc != CR_OK)
		return rc;
	snprintf(type, sizeof(type), "consent.%s", consent_event_type_name(c->type));
	audit_entry_init(&e, who, type, name);
	if (c->notice_version) {
		snprintf(notice, sizeof(notice), "v%u", c->notice_version);
		e.notice = notice;
	}
	e.purposes = purposes;
	e.n_purposes = c->purpose[0] ? 1 : 0;
	e.recipients = recipients;
	e.n_recipients = c->recipient[0] ? 1 : 0;
	e.subject = c->subject.bytes;
	/* No event row id: the events table keeps the pseudonym, so an id in
	 * the leaf would tie it to the person past an erasure. The link from
	 * event to leaf lives in consent_event_leaves, which erasure deletes. */
	if (c->type == CONSENT_EV_WITHDRAW) {
		snprintf(detail, sizeof(detail), "suppressed=%u", c->suppressed);
		e.detail = detail;
	}
	rc = app_audit(a, &e, &index);
	if (rc == CR_OK)
		rc = event_leaf_link(a, c->event_id, index);
	if (rc == CR_OK && index_out)
		*index_out = index;
	if (rc == CR_OK && (c->type == CONSENT_EV_WITHDRAW || c->type == CONSENT_EV_OBJECT))
		rc = audit_purge(a, who, c, name);
	return rc;
}

/*
 * Attaches the audit entry's inclusion proof (a tlog-proof against the
 * checkpoint the commit just signed) to a receipt, so the subject can show
 * both the signed receipt and that its entry is in the log.
 */
static cr_err attach_audit_proof(struct app *a, uint64_t index, char **receipt)
{
	char *proof = NULL, *out = NULL;
	size_t plen = 0;
	json_t *doc = json_loads(*receipt, 0, NULL);
	cr_err rc = doc ? audit_log_tlog_proof(a->log, index, &proof, &plen) : CR_ERR_INTERNAL;
	if (rc == CR_OK) {
		json_object_set_new(doc, "audit_proof", json_stringn(proof, plen));
		out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		rc = out ? CR_OK : CR_ERR_NOMEM;
	}
	if (rc == CR_OK) {
		free(*receipt);
		*receipt = out;
	}
	free(proof);
	json_decref(doc);
	return rc;
}

cr_err registry_record(struct app *a, const struct registry_actor *who, int64_t brand,
		       const struct consent_event *ev, struct consent_change *change,
		       uint64_t *index_out, char *why, size_t why_cap)
{
	cr_err rc = app_begin(a);
	if (rc != CR_OK)
		return rc;
	rc = registry_record_in_txn(a, who, brand, ev, change, index_out, why, why_cap);
	return app_end(a, rc);
}

cr_err registry_record_in_txn(struct app *a, const struct registry_actor *who, int64_t brand,
			      const struct consent_event *ev, struct consent_change *change,
			      uint64_t *index_out, char *why, size_t why_cap)
{
	cr_err rc = CR_OK;
	a->purged_records = 0;
	/* A withdrawal naming several scopes is as many withdrawals, each with
	 * its leaf, in this one transaction; *change and *index_out are the
	 * first's. */
	uint64_t purged = 0; /* the scopes' purges, each leaf counting its own */
	for (size_t i = 0; i < consent_event_scopes(ev) && rc == CR_OK; i++) {
		struct consent_event one;
		struct consent_change ch;
		uint64_t index = 0;
		purged += a->purged_records;
		a->purged_records = 0;
		consent_event_scope(ev, i, &one);
		if (one.type == CONSENT_EV_WITHDRAW)
			rc = consent_withdraw(a->consent, brand, &one, &ch, why, why_cap);
		else
			rc = consent_record(a->consent, brand, &one, &ch, why, why_cap);
		if (rc == CR_OK && !ch.duplicate)
			rc = registry_audit_change(a, who, &ch, &index);
		if (rc == CR_OK && i == 0) {
			*change = ch;
			if (index_out != NULL && !ch.duplicate)
				*index_out = index;
		}
	}
	a->purged_records += purged;
	return rc;
}

cr_err registry_receipt(struct app *a, int64_t brand, const struct consent_change *c,
			uint64_t index, unsigned flags, char **receipt_out)
{
	struct consent_signer signer;
	cr_err rc;
	*receipt_out = NULL;
	if (c->duplicate || (c->type != CONSENT_EV_GRANT && c->type != CONSENT_EV_WITHDRAW &&
			     c->type != CONSENT_EV_OBJECT))
		return CR_OK;
	consent_signer_from_keyring(a->keys, &signer);
	rc = consent_receipt_create(a->consent, brand, c->event_id, index, cr_time_now(), flags, &signer,
				    receipt_out);
	if (rc == CR_OK)
		rc = attach_audit_proof(a, index, receipt_out);
	if (rc != CR_OK) {
		free(*receipt_out);
		*receipt_out = NULL;
	}
	return rc;
}

/* The leaf linked to event `id` in consent_event_leaves; CR_ERR_AUDIT_NOT_FOUND if none. */
static cr_err event_leaf_linked(struct app *a, int64_t id, uint64_t *index)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_AUDIT_NOT_FOUND;
	int step;
	if (sqlite3_prepare_v2(a->store->db, "SELECT audit_idx FROM consent_event_leaves WHERE event_id = ?1", -1,
			       &st, NULL) != SQLITE_OK)
		return CR_ERR_STORE;
	sqlite3_bind_int64(st, 1, id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*index = (uint64_t)sqlite3_column_int64(st, 0);
		rc = CR_OK;
	} else if (step != SQLITE_DONE) {
		rc = store_err(step);
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * The index of the leaf of event `id`: linked, or for an event recorded
 * before the link table existed (migration 12), found among the subject's
 * leaves of `type` by the "event=<id>" those leaves carried.
 */
static cr_err event_leaf(struct app *a, const char *brand_name, const struct crypto_pseudonym *p,
			 enum consent_event_type type, int64_t id, uint64_t *index)
{
	char t[32], want[32];
	cr_err linked = event_leaf_linked(a, id, index);
	if (linked != CR_ERR_AUDIT_NOT_FOUND)
		return linked;
	struct audit_query q = { .tenant = brand_name, .event_type = t, .subject = p->bytes, .limit = 1000 };
	struct audit_page page;
	size_t wl;
	cr_err rc = CR_ERR_AUDIT_NOT_FOUND;
	snprintf(t, sizeof(t), "consent.%s", consent_event_type_name(type));
	snprintf(want, sizeof(want), "event=%lld", (long long)id);
	wl = strlen(want);
	do {
		cr_err qrc = audit_log_query(a->log, &q, &page);
		if (qrc != CR_OK)
			return qrc;
		for (size_t i = 0; i < page.n && rc != CR_OK; i++) {
			const char *d = page.records[i].leaf->detail ? page.records[i].leaf->detail : "";
			if (strncmp(d, want, wl) == 0 && (d[wl] == '\0' || d[wl] == ' ')) {
				*index = page.records[i].index;
				rc = CR_OK;
			}
		}
		q.has_before = page.n > 0;
		q.before = page.n > 0 ? page.records[page.n - 1].index : 0;
		audit_page_release(&page);
	} while (rc != CR_OK && q.has_before);
	return rc;
}

cr_err registry_event_receipt(struct app *a, int64_t brand, int64_t event_id, char **receipt_out)
{
	char name[CONSENT_BRAND_NAME_MAX + 1];
	struct consent_change c = { .brand = brand, .event_id = event_id };
	struct crypto_pseudonym p;
	enum consent_event_type type;
	uint64_t index = 0;
	cr_err rc = consent_brand_name(a->consent, brand, name);
	*receipt_out = NULL;
	if (rc == CR_OK)
		rc = consent_event_subject(a->consent, brand, event_id, &p, &type);
	if (rc == CR_OK && type != CONSENT_EV_GRANT && type != CONSENT_EV_WITHDRAW &&
	    type != CONSENT_EV_REFUSE && type != CONSENT_EV_OBJECT)
		rc = CR_ERR_CONSENT_RECEIPT_EVENT;
	if (rc == CR_OK)
		rc = event_leaf(a, name, &p, type, event_id, &index);
	c.type = CONSENT_EV_GRANT; /* registry_receipt makes one for any such event */
	if (rc == CR_OK)
		rc = registry_receipt(a, brand, &c, index, 0, receipt_out);
	return rc;
}

cr_err registry_event(struct app *a, const struct registry_actor *who, int64_t brand,
		      const struct consent_event *ev, struct consent_change *change,
		      char **receipt_out, char *why, size_t why_cap)
{
	struct consent_change c;
	uint64_t index = 0;
	cr_err rc = registry_record(a, who, brand, ev, &c, &index, why, why_cap);
	if (rc != CR_OK)
		return rc;
	if (change)
		*change = c;
	return receipt_out ? registry_receipt(a, brand, &c, index, 0, receipt_out) : CR_OK;
}

cr_err registry_subject(struct app *a, int64_t brand, const char *subject,
			const char *id_type, struct crypto_pseudonym *out,
			struct crypto_pseudonym aliases[CONSENT_KEY_VERSIONS_MAX],
			size_t *n_aliases)
{
	struct consent_importer *imp = NULL;
	cr_err rc = app_importer(a, brand, &imp);
	if (rc == CR_OK)
		rc = consent_importer_subject(imp, subject, strlen(subject), id_type, out, aliases, n_aliases);
	return rc;
}

/* ------------------------------------------------------ the gate itself */

/*
 * Every purpose alone, and for every recipient each purpose the current
 * notice declares it for. A recipient no purpose declares gets a scope
 * with the first purpose, which the registry then denies
 * (UNKNOWN_RECIPIENT) rather than letting it pass unchecked.
 */
static cr_err dataset_scopes(struct app *a, const struct dataset *d, struct registry_scopes *s)
{
	s->n = 0;
	for (size_t i = 0; i < d->npurposes; i++) {
		s->purpose[s->n] = d->purposes[i];
		s->recipient[s->n++] = NULL;
	}
	for (size_t r = 0; r < d->nrecipients; r++) {
		bool any = false;
		for (size_t i = 0; i < d->npurposes; i++) {
			bool declared = false;
			cr_err rc = consent_notice_declares(a->consent, d->brand_id, 0, d->purposes[i],
							    d->recipients[r], &declared);
			if (rc != CR_OK && rc != CR_ERR_CONSENT_NOTICE_NOT_FOUND)
				return rc;
			if (declared) {
				s->purpose[s->n] = d->purposes[i];
				s->recipient[s->n++] = d->recipients[r];
				any = true;
			}
		}
		if (!any) {
			s->purpose[s->n] = d->purposes[0];
			s->recipient[s->n++] = d->recipients[r];
		}
	}
	return CR_OK;
}

static cr_err decide_scopes(struct app *a, const struct dataset *d, const struct registry_scopes *s,
			    const struct crypto_pseudonym *p, cr_time_ms at,
			    enum ingest_verdict *verdict, char reason[40])
{
	for (size_t i = 0; i < s->n; i++) {
		struct consent_decision dec;
		bool suppressed = false;
		cr_err rc = consent_suppressed_at(a->consent, d->brand_id, p, s->purpose[i],
						  s->recipient[i], at, &suppressed);
		if (rc != CR_OK)
			return rc;
		if (suppressed) {
			*verdict = INGEST_DENY_SUPPRESSED;
			snprintf(reason, 40, "SUPPRESSED");
			return CR_OK;
		}
		rc = consent_valid_at(a->consent, d->brand_id, p, s->purpose[i], s->recipient[i], at,
				      d->child_directed ? CONSENT_CHILD_DIRECTED : 0, &dec);
		if (rc != CR_OK)
			return rc;
		if (!dec.allowed) {
			*verdict = dec.reason == CONSENT_SUPPRESSED ? INGEST_DENY_SUPPRESSED : INGEST_DENY;
			snprintf(reason, 40, "%s", consent_reason_name(dec.reason));
			return CR_OK;
		}
	}
	*verdict = INGEST_ALLOW;
	return CR_OK;
}

cr_err registry_record_allowed(struct app *a, const struct dataset *d,
			       const struct crypto_pseudonym *p, cr_time_ms at,
			       enum ingest_verdict *verdict, char reason[40])
{
	struct registry_scopes s;
	cr_err rc = dataset_scopes(a, d, &s);
	return rc == CR_OK ? decide_scopes(a, d, &s, p, at, verdict, reason) : rc;
}

static cr_err gate_decide(void *ctx, const struct dataset *d, const struct crypto_pseudonym *p,
			  cr_time_ms at, enum ingest_verdict *verdict, char reason[40])
{
	struct registry_gate *g = ctx;
	if (g->dataset_id != d->id) {
		cr_err rc = dataset_scopes(g->a, d, &g->s);
		if (rc != CR_OK)
			return rc;
		g->dataset_id = d->id;
	}
	return decide_scopes(g->a, d, &g->s, p, at, verdict, reason);
}

void registry_ingest_gate(struct registry_gate *g, struct app *a, struct ingest_gate *out)
{
	g->a = a;
	g->dataset_id = 0;
	out->decide = gate_decide;
	out->ctx = g;
}

/* ------------------------------------------------------------ the purge */

struct purge_list {
	size_t n, cap;
	struct dataset *d;
};

static void collect_dataset(void *ctx, const struct dataset *d)
{
	struct purge_list *l = ctx;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->d = cr_xrealloc(l->d, l->cap * sizeof(*l->d));
	}
	l->d[l->n++] = *d;
}

static bool dataset_affected(const struct dataset *d, const char *purpose, const char *recipient)
{
	if (purpose == NULL && recipient == NULL)
		return true;
	if (purpose && dataset_has_purpose(d, purpose))
		return true;
	return recipient && dataset_has_recipient(d, recipient);
}

static cr_err delete_record(struct app *a, int64_t dataset_id, const struct crypto_pseudonym *p)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	if (sqlite3_prepare_v2(a->store->db,
			       "DELETE FROM records WHERE dataset_id = ?1 AND pseudonym = ?2 AND key_version = ?3",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, dataset_id);
	sqlite3_bind_blob(st, 2, p->bytes, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, p->key_version);
	rc = store_err(sqlite3_step(st));
	if (rc == CR_OK)
		a->purged_records += (uint64_t)sqlite3_changes(a->store->db);
out:
	sqlite3_finalize(st);
	return rc;
}

cr_err registry_purge(void *user, int64_t brand, const struct crypto_pseudonym *subject,
		      const char *purpose, const char *recipient)
{
	struct app *a = user;
	struct purge_list l = { 0 };
	cr_time_ms now = cr_time_now();
	cr_err rc = dataset_each(a->store, brand, collect_dataset, &l);

	for (size_t i = 0; i < l.n && rc == CR_OK; i++) {
		enum ingest_verdict v = INGEST_ALLOW;
		char reason[40];
		if (!dataset_affected(&l.d[i], purpose, recipient) || l.d[i].key_version != subject->key_version)
			continue;
		rc = registry_record_allowed(a, &l.d[i], subject, now, &v, reason);
		if (rc == CR_OK && v != INGEST_ALLOW)
			rc = delete_record(a, l.d[i].id, subject);
	}
	/* Match sessions in memory drop withdrawn records when they finish (I3). */
	free(l.d);
	return rc;
}
