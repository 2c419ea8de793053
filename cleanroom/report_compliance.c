/*
 * report_compliance.c: the compliance report "cr-report-compliance-v1"
 * (report.h gives the contract, docs/spec/formats.md the format).
 *
 * Every figure is a count (and for some a sum of one detail field) of the
 * brand's audit leaves in [since, until), read through audit/'s query with
 * the index bounded by the checkpoint's size: leaves below a signed size
 * never change, so the figures, their indices and the checkpoint agree
 * without holding a transaction. The same function recounts a report when
 * it is verified, on the data directory's log or on an `audit export`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cleanroom/collab.h"
#include "cleanroom/report.h"

/* ------------------------------------------------------------ figures */

struct figure_def {
	const char *name;
	const char *types[2];
	const char *sum;        /* detail field summed into "total", or NULL */
	bool nonzero;           /* cite only entries whose field is above 0 */
};

static const struct figure_def figures[] = {
	{ "consents", { "consent.grant", NULL }, NULL, false },
	{ "withdrawals", { "consent.withdraw", NULL }, NULL, false },
	{ "objections", { "consent.object", NULL }, NULL, false },
	{ "erasures", { "subject.erase", NULL }, NULL, false },
	/* every withdrawal and objection, the erasure's too, appends its purge leaf
	 * (subject.erase repeats the erasure's count: not counted twice) */
	{ "purged_records", { "consent.purge", NULL }, "purged_records", true },
	{ "swept_records", { "dataset.sweep", NULL }, "removed", true },
	{ "ingests", { "dataset.ingest", NULL }, "accepted", false },
	{ "match_sessions", { "match.session", NULL }, NULL, false },
	{ "releases", { "match.release", NULL }, NULL, false },
	{ "refusals", { "match.refuse", NULL }, NULL, false },
};
#define NFIGURES (sizeof(figures) / sizeof(figures[0]))

/* The budget spent per collaboration: releases and refusals that charged. */
static const char *const budget_types[] = { "match.release", "match.refuse", NULL };
/* Requests answered late: the answer's leaf (or an add recorded answered). */
static const char *const late_types[] = { "request.complete", "request.add", NULL };

struct list {
	uint64_t *v;
	size_t n, cap;
};

static void list_push(struct list *l, uint64_t x)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = cr_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = x;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct spend {
	char collab[24];
	uint64_t milli;
	struct list idx;
};

/* A request's due date as its leaves fix it (request.add, then request.extend). */
struct request_due {
	int64_t id;
	cr_time_ms due;
	uint64_t add_index, extend_index;
	bool extended;
};

struct scan {
	const char *brand;
	struct list idx[NFIGURES];
	uint64_t total[NFIGURES];
	struct spend *spends;
	size_t nspends;
	struct list completes;        /* request.complete leaves in the window (and adds recorded answered) */
	struct list late, evidence;
	struct request_due *dues;
	size_t ndues;
};

/* The value of `key=` in a leaf's detail (words separated by spaces), copied into buf. */
static bool detail_word(const char *detail, const char *key, char *buf, size_t cap)
{
	size_t klen = strlen(key);
	for (const char *p = detail; p && *p; p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL) {
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t n = strcspn(p + klen + 1, " ");
			if (n >= cap)
				return false;
			memcpy(buf, p + klen + 1, n);
			buf[n] = '\0';
			return true;
		}
	}
	return false;
}

static bool detail_u64(const char *detail, const char *key, uint64_t *out)
{
	char w[24];
	return detail_word(detail, key, w, sizeof(w)) && cr_parse_u64(w, 0, UINT64_MAX / 2, out) == CR_OK;
}

/* The epsilon a release or refusal charged, in thousandths (0.000 is 0). */
static uint64_t detail_epsilon(const char *detail)
{
	char w[COLLAB_MILLI_STRLEN + 8];
	uint64_t m = 0;
	if (!detail_word(detail, "epsilon", w, sizeof(w)) || strspn(w, "0.") == strlen(w))
		return 0;
	return collab_milli_parse(w, &m) == CR_OK ? m : 0;
}

static bool type_in(const char *type, const char *const *types, size_t n)
{
	for (size_t i = 0; i < n && types[i]; i++)
		if (strcmp(type, types[i]) == 0)
			return true;
	return false;
}

/* The field a figure sums, or 1 for a plain count. */
static uint64_t figure_value(const struct figure_def *f, const struct audit_leaf *l)
{
	uint64_t v = 0;
	if (f->sum == NULL)
		return 1;
	return detail_u64(l->detail, f->sum, &v) ? v : 0;
}

static void spend_add(struct scan *s, const struct audit_record *r, uint64_t milli)
{
	struct spend *sp = NULL;
	for (size_t i = 0; i < s->nspends; i++)
		if (strcmp(s->spends[i].collab, r->leaf->collaboration) == 0)
			sp = &s->spends[i];
	if (sp == NULL) {
		s->spends = cr_xrealloc(s->spends, (s->nspends + 1) * sizeof(*s->spends));
		sp = &s->spends[s->nspends++];
		memset(sp, 0, sizeof(*sp));
		snprintf(sp->collab, sizeof(sp->collab), "%s", r->leaf->collaboration);
	}
	sp->milli += milli;
	list_push(&sp->idx, r->index);
}

/* One leaf of the brand in the window. */
static cr_err scan_leaf(void *ctx, const struct audit_record *r)
{
	struct scan *s = ctx;
	const struct audit_leaf *l = r->leaf;
	uint64_t eps;
	for (size_t i = 0; i < NFIGURES; i++) {
		uint64_t v;
		if (!type_in(l->event_type, figures[i].types, 2))
			continue;
		v = figure_value(&figures[i], l);
		if (figures[i].nonzero && v == 0)
			continue;
		list_push(&s->idx[i], r->index);
		s->total[i] += figures[i].sum ? v : 0;
	}
	if (type_in(l->event_type, budget_types, 2) && (eps = detail_epsilon(l->detail)) > 0)
		spend_add(s, r, eps);
	if (strcmp(l->event_type, "request.complete") == 0 ||
	    (strcmp(l->event_type, "request.add") == 0 && strstr(l->detail, " completed") != NULL))
		list_push(&s->completes, r->index);
	return CR_OK;
}

/* request.add and request.extend leaves of the brand (any time): the due dates. */
static cr_err due_leaf(void *ctx, const struct audit_record *r)
{
	struct scan *s = ctx;
	const struct audit_leaf *l = r->leaf;
	char due_s[CR_TIME_STRLEN + 8];
	uint64_t id = 0;
	cr_time_ms due = 0;
	bool extend = strcmp(l->event_type, "request.extend") == 0;
	struct request_due *d = NULL;
	if (strcmp(l->tenant, s->brand) != 0 || !detail_u64(l->detail, "request", &id) ||
	    !detail_word(l->detail, "due", due_s, sizeof(due_s)) || cr_time_parse(due_s, strlen(due_s), &due) != CR_OK)
		return CR_OK;
	for (size_t i = 0; i < s->ndues; i++)
		if (s->dues[i].id == (int64_t)id)
			d = &s->dues[i];
	if (d == NULL) {
		s->dues = cr_xrealloc(s->dues, (s->ndues + 1) * sizeof(*s->dues));
		d = &s->dues[s->ndues++];
		memset(d, 0, sizeof(*d));
		d->id = (int64_t)id;
	}
	if (extend) {             /* an extension moves the date (one per request, R22) */
		d->due = due;
		d->extended = true;
		d->extend_index = r->index;
	} else {
		if (!d->extended)
			d->due = due;
		d->add_index = r->index;
	}
	return CR_OK;
}

typedef cr_err (*leaf_fn)(void *ctx, const struct audit_record *r);

/* Calls fn for every entry matching `base` with index < size, newest first. */
static cr_err each_leaf(struct audit_log *log, const struct audit_query *base, uint64_t size, leaf_fn fn,
			void *ctx)
{
	struct audit_query q = *base;
	q.has_before = true;
	q.before = size;
	q.limit = 1000;
	for (;;) {
		struct audit_page p;
		bool more;
		cr_err rc = audit_log_query(log, &q, &p);
		if (rc != CR_OK)
			return rc;
		for (size_t i = 0; i < p.n && rc == CR_OK; i++)
			rc = fn(ctx, &p.records[i]);
		more = p.more;
		q.before = p.next_before;
		audit_page_release(&p);
		if (rc != CR_OK || !more)
			return rc;
	}
}

/* Which answers came after their due date (R22), with the leaves that fixed it. */
static cr_err late_requests(struct audit_log *log, struct scan *s, uint64_t size)
{
	struct audit_query q = { .tenant = s->brand };
	cr_err rc = CR_OK;
	if (s->completes.n == 0)
		return CR_OK;
	q.event_type = "request.add";
	rc = each_leaf(log, &q, size, due_leaf, s);
	q.event_type = "request.extend";
	if (rc == CR_OK)
		rc = each_leaf(log, &q, size, due_leaf, s);
	for (size_t i = 0; i < s->completes.n && rc == CR_OK; i++) {
		uint8_t *bytes = NULL;
		size_t len = 0;
		struct audit_leaf *l = NULL;
		uint64_t id = 0;
		rc = audit_log_leaf(log, s->completes.v[i], &bytes, &len);
		if (rc == CR_OK)
			rc = audit_leaf_decode(bytes, len, &l);
		for (size_t j = 0; rc == CR_OK && j < s->ndues; j++) {
			const struct request_due *d = &s->dues[j];
			if (!detail_u64(l->detail, "request", &id) || d->id != (int64_t)id || l->time_ms <= d->due)
				continue;
			list_push(&s->late, s->completes.v[i]);
			if (d->add_index != s->completes.v[i])
				list_push(&s->evidence, d->add_index);
			if (d->extended)
				list_push(&s->evidence, d->extend_index);
		}
		audit_leaf_free(l);
		free(bytes);
	}
	return rc;
}

/* {"types", "count", "indices"} (or the range and the root of the index list past REPORT_INDICES_MAX). */
static json_t *cited_json(const char *const *types, struct list *l)
{
	json_t *t = json_array(), *o;
	for (size_t i = 0; types[i]; i++)
		json_array_append_new(t, json_string(types[i]));
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), u64_cmp);
	o = json_pack("{s:o,s:I}", "types", t, "count", (json_int_t)l->n);
	if (l->n <= REPORT_INDICES_MAX) {
		json_t *a = json_array();
		for (size_t i = 0; i < l->n; i++)
			json_array_append_new(a, json_integer((json_int_t)l->v[i]));
		json_object_set_new(o, "indices", a);
	} else {
		uint8_t *items = cr_xmalloc(l->n * 8), root[AUDIT_HASH_BYTES];
		char hex[2 * AUDIT_HASH_BYTES + 1] = "";
		for (size_t i = 0; i < l->n; i++)
			for (int b = 0; b < 8; b++)
				items[i * 8 + (size_t)b] = (uint8_t)(l->v[i] >> (56 - 8 * b));
		audit_list_root(items, l->n, 8, root);
		if (cr_hex_encode(root, sizeof(root), hex, sizeof(hex)) != CR_OK)
			hex[0] = '\0';
		free(items);
		json_object_set_new(o, "indices", json_null());
		json_object_set_new(o, "range", json_pack("[I,I]", (json_int_t)l->v[0], (json_int_t)l->v[l->n - 1]));
		json_object_set_new(o, "indices_root", json_string(hex));
	}
	return o;
}

static json_t *figures_json(struct scan *s)
{
	json_t *figs = json_object(), *late;
	for (size_t i = 0; i < NFIGURES; i++) {
		const char *types[3] = { figures[i].types[0], figures[i].types[1], NULL };
		json_t *o = cited_json(types, &s->idx[i]);
		if (figures[i].sum) {
			json_object_set_new(o, "field", json_string(figures[i].sum));
			json_object_set_new(o, "total", json_integer((json_int_t)s->total[i]));
		}
		json_object_set_new(figs, figures[i].name, o);
	}
	late = cited_json(late_types, &s->late);
	if (s->evidence.n > 1)
		qsort(s->evidence.v, s->evidence.n, sizeof(uint64_t), u64_cmp);
	json_object_set_new(late, "evidence", json_array());
	for (size_t i = 0; i < s->evidence.n; i++)
		json_array_append_new(json_object_get(late, "evidence"), json_integer((json_int_t)s->evidence.v[i]));
	json_object_set_new(figs, "late_requests", late);
	return figs;
}

static int spend_cmp(const void *a, const void *b)
{
	const struct spend *x = a, *y = b;
	size_t lx = strlen(x->collab), ly = strlen(y->collab);
	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->collab, y->collab);
}

static json_t *budget_json(struct scan *s)
{
	json_t *a = json_array();
	if (s->nspends > 1)
		qsort(s->spends, s->nspends, sizeof(*s->spends), spend_cmp);
	for (size_t i = 0; i < s->nspends; i++) {
		char eps[COLLAB_MILLI_STRLEN];
		json_t *o = cited_json(budget_types, &s->spends[i].idx);
		collab_milli_format(s->spends[i].milli, eps);
		json_object_set_new(o, "collaboration", json_string(s->spends[i].collab));
		json_object_set_new(o, "field", json_string("epsilon"));
		json_object_set_new(o, "total_milli", json_integer((json_int_t)s->spends[i].milli));
		json_object_set_new(o, "epsilon", json_string(eps));
		json_array_append_new(a, o);
	}
	return a;
}

static void scan_release(struct scan *s)
{
	for (size_t i = 0; i < NFIGURES; i++)
		free(s->idx[i].v);
	for (size_t i = 0; i < s->nspends; i++)
		free(s->spends[i].idx.v);
	free(s->spends);
	free(s->completes.v);
	free(s->late.v);
	free(s->evidence.v);
	free(s->dues);
}

cr_err report_figures(struct audit_log *log, const char *brand, cr_time_ms since, cr_time_ms until,
		      uint64_t size, json_t *into)
{
	struct scan s;
	struct audit_query q = { .tenant = brand, .since = since, .until = until };
	cr_err rc;
	if (since < 0 || since >= until)
		return CR_ERR_REPORT_WINDOW;
	memset(&s, 0, sizeof(s));
	s.brand = brand;
	/* The query selects the brand and the window: its time bounds apply when
	 * positive, and until > since >= 0 while a leaf's time is >= 0, so
	 * [since, until) is exact. report_verify.c checks each cited leaf again. */
	rc = each_leaf(log, &q, size, scan_leaf, &s);
	if (rc == CR_OK)
		rc = late_requests(log, &s, size);
	if (rc == CR_OK) {
		json_object_set_new(into, "figures", figures_json(&s));
		json_object_set_new(into, "budget_spent", budget_json(&s));
	}
	scan_release(&s);
	return rc;
}

/* ------------------------------------------------------------ signing */

char *report_signed_text(const json_t *report)
{
	char *canon = json_dumps(report, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII), *out;
	uint8_t h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof(h) + 1];
	size_t cap;
	if (canon == NULL)
		return NULL;
	/* The digest of the canonical JSON, not the JSON itself: a signed note
	 * is at most 256 KiB and a report's index lists may be longer. */
	crypto_hash_sha256(h, (const uint8_t *)canon, strlen(canon));
	free(canon);
	if (cr_hex_encode(h, sizeof(h), hex, sizeof(hex)) != CR_OK)
		return NULL;
	cap = strlen(REPORT_DOMAIN) + strlen(REPORT_COMPLIANCE_FORMAT) + sizeof(hex) + 16;
	out = cr_xmalloc(cap);
	snprintf(out, cap, "%s%s\nsha256 %s\n", REPORT_DOMAIN, REPORT_COMPLIANCE_FORMAT, hex);
	return out;
}

/* The report's header: brand, window, log, checkpoint. */
static cr_err report_head(struct app *a, const char *brand, cr_time_ms since, cr_time_ms until,
			  const char *note, const struct audit_checkpoint *cp, json_t **out)
{
	char s_since[CR_TIME_STRLEN], s_until[CR_TIME_STRLEN], s_now[CR_TIME_STRLEN], root[48];
	char *vkey = NULL, *rkey = NULL;
	cr_err rc = app_verifier_key(a, &vkey);
	if (rc == CR_OK)
		rc = app_report_key(a, &rkey);
	if (rc == CR_OK && (cr_time_format(since, s_since) != CR_OK || cr_time_format(until, s_until) != CR_OK ||
			    cr_time_format(cr_time_now(), s_now) != CR_OK))
		rc = CR_ERR_REPORT_WINDOW;
	if (rc == CR_OK)
		rc = cr_base64_encode(cp->root, sizeof(cp->root), root, sizeof(root));
	if (rc == CR_OK)
		*out = json_pack("{s:s,s:s,s:I,s:s,s:I,s:s,s:{s:s,s:s},s:s,s:s,s:I,s:s}", "brand", brand, "since",
				 s_since, "since_ms", (json_int_t)since, "until", s_until, "until_ms", (json_int_t)until,
				 "generated", s_now, "log", "origin", cp->origin, "key", vkey, "report_key", rkey,
				 "checkpoint", note, "tree_size", (json_int_t)cp->size, "root", root);
	if (rc == CR_OK && *out == NULL)
		rc = CR_ERR_NOMEM;
	free(vkey);
	free(rkey);
	return rc;
}

cr_err report_compliance(struct app *a, const char *brand, cr_time_ms since, cr_time_ms until, json_t **out)
{
	struct audit_verifier v;
	struct audit_checkpoint cp;
	struct audit_signer rs;
	char *note = NULL, *text = NULL, *signed_note = NULL;
	size_t signed_len = 0;
	json_t *report = NULL;
	cr_err rc;
	if (since >= until)
		return CR_ERR_REPORT_WINDOW;
	rc = audit_verifier_from_signer(&a->signer, &v);
	if (rc == CR_OK)
		rc = audit_log_latest_checkpoint(a->log, &note);
	if (rc == CR_OK)
		rc = audit_checkpoint_open(&v, note, strlen(note), a->origin, &cp);
	if (rc == CR_OK)
		rc = report_head(a, brand, since, until, note, &cp, &report);
	/* every index counted is below the signed size, so the checkpoint covers it */
	if (rc == CR_OK)
		rc = report_figures(a->log, brand, since, until, cp.size, report);
	if (rc == CR_OK && (text = report_signed_text(report)) == NULL)
		rc = CR_ERR_NOMEM;
	app_report_signer(a, &rs);
	if (rc == CR_OK)
		rc = audit_note_sign(&rs, text, strlen(text), &signed_note, &signed_len);
	if (rc == CR_OK) {
		/* the signature lines follow the text and its blank line */
		*out = json_pack("{s:s,s:O,s:s}", "format", REPORT_COMPLIANCE_FORMAT, "report", report, "signature",
				 signed_note + strlen(text) + 1);
		if (*out == NULL)
			rc = CR_ERR_NOMEM;
	}
	json_decref(report);
	free(note);
	free(text);
	free(signed_note);
	return rc;
}
