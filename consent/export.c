/*
 * export.c: R29 exports. A subject's whole history (events, notice versions
 * seen with their text, suppression entries and the current decision per
 * purpose and recipient) as one JSON document, and the brand's whole
 * registry as NDJSON for an audit. Both are written row by row through the
 * caller's writer, so memory stays bounded by one row (one subject, for the
 * subject export) whatever the registry's size.
 */
#include <stdlib.h>
#include <string.h>

#include "consent/consent_internal.h"

#define SUBJECT_FORMAT "cr-consent-subject-v1"
#define REGISTRY_FORMAT "cr-consent-registry-v1"

cr_err consent_write_file(void *user, const char *buf, size_t len)
{
	return fwrite(buf, 1, len, (FILE *)user) == len ? CR_OK : CR_ERR_IO;
}

/* The writer and the first error it returned. */
struct out {
	consent_write_fn write;
	void *user;
	cr_err rc;
};

static void put(struct out *o, const char *s, size_t len)
{
	if (o->rc == CR_OK && len > 0)
		o->rc = o->write(o->user, s, len);
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static int dump_cb(const char *buf, size_t size, void *data)
{
	struct out *o = data;

	put(o, buf, size);
	return o->rc == CR_OK ? 0 : -1;
}

/* Writes v (stolen) in canonical form. */
static void put_json(struct out *o, json_t *v)
{
	if (v == NULL) {
		if (o->rc == CR_OK)
			o->rc = CR_ERR_NOMEM;
		return;
	}
	if (o->rc == CR_OK && json_dump_callback(v, dump_cb, o, JSON_COMPACT | JSON_SORT_KEYS) != 0 &&
	    o->rc == CR_OK)
		o->rc = CR_ERR_NOMEM;
	json_decref(v);
}

static cr_err prepare(struct consent_ctx *ctx, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(ctx->db, sql, -1, st, NULL) != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
		return CR_ERR_CONSENT;
	}
	return CR_OK;
}

static json_t *brand_json(const struct consent_catalog *c)
{
	return json_pack("{s:I, s:s, s:I}", "id", (json_int_t)c->brand, "name", c->name,
			 "key_version", (json_int_t)c->key_version);
}

static json_t *pseudonym_json(const struct crypto_pseudonym *p)
{
	char hex[65];

	consent_hex32(p->bytes, hex);
	return json_pack("{s:s, s:I}", "pseudonym", hex, "key_version", (json_int_t)p->key_version);
}

/* A stored notice's canonical text parsed back (it is ours and valid). */
static json_t *notice_json(const char *canonical)
{
	return json_loads(canonical, JSON_REJECT_DUPLICATES, NULL);
}

/* ------------------------------------------------------------- a subject */

static void bind_subject(sqlite3_stmt *st, int64_t brand, const struct crypto_pseudonym *p)
{
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_blob(st, 2, p->bytes, CRYPTO_PSEUDONYM_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, p->key_version);
	if (sqlite3_bind_parameter_count(st) >= 4)
		sqlite3_bind_int64(st, 4, consent_skey(p->bytes));
}

/* Writes the rows of st as a comma-separated run of JSON values made by fn. */
static cr_err put_rows(struct out *o, sqlite3 *db, sqlite3_stmt *st, json_t *(*fn)(sqlite3_stmt *),
		       bool *first)
{
	int s = SQLITE_DONE;

	while (o->rc == CR_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
		if (!*first)
			puts_(o, ",");
		*first = false;
		put_json(o, fn(st));
	}
	if (o->rc == CR_OK && s != SQLITE_DONE)
		o->rc = consent_sqlite_err(db, s);
	return o->rc;
}

static void subject_events(struct consent_ctx *ctx, int64_t brand,
			   const struct crypto_pseudonym *subjects, size_t n, struct out *o)
{
	sqlite3_stmt *st = NULL;
	bool first = true;

	puts_(o, ",\"events\":[");
	if (o->rc == CR_OK)
		o->rc = prepare(ctx, "SELECT " CONSENT_EVENT_COLUMNS " FROM consent_events"
				" WHERE id IN (SELECT id FROM consent_event_keys WHERE skey = ?4"
				" AND brand_id = ?1 AND pseudonym = ?2 AND key_version = ?3)"
				" ORDER BY id", &st);
	for (size_t i = 0; i < n && o->rc == CR_OK; i++) {
		bind_subject(st, brand, &subjects[i]);
		(void)put_rows(o, ctx->db, st, consent_json_event_row, &first);
	}
	sqlite3_finalize(st);
	puts_(o, "]");
}

static json_t *suppression_row(sqlite3_stmt *st)
{
	char hex[65];
	json_t *since = consent_json_time(sqlite3_column_int64(st, 5));

	consent_hex32(sqlite3_column_blob(st, 0), hex);
	return json_pack("{s:s, s:I, s:s, s:s, s:o, s:I}", "pseudonym", hex, "key_version",
			 (json_int_t)sqlite3_column_int64(st, 1), "purpose",
			 (const char *)sqlite3_column_text(st, 2), "recipient",
			 (const char *)sqlite3_column_text(st, 3), "since",
			 since != NULL ? since : json_null(), "event_id",
			 (json_int_t)sqlite3_column_int64(st, 4));
}

#define SUPPRESSION_COLUMNS "pseudonym, key_version, purpose, recipient, event_id, since_ms"

static void subject_suppression(struct consent_ctx *ctx, int64_t brand,
				const struct crypto_pseudonym *subjects, size_t n, struct out *o)
{
	sqlite3_stmt *st = NULL;
	bool first = true;

	puts_(o, ",\"suppression\":[");
	if (o->rc == CR_OK)
		o->rc = prepare(ctx, "SELECT " SUPPRESSION_COLUMNS " FROM consent_suppression"
				" WHERE brand_id = ?1 AND pseudonym = ?2 AND key_version = ?3"
				" ORDER BY since_ms", &st);
	for (size_t i = 0; i < n && o->rc == CR_OK; i++) {
		bind_subject(st, brand, &subjects[i]);
		(void)put_rows(o, ctx->db, st, suppression_row, &first);
	}
	sqlite3_finalize(st);
	puts_(o, "]");
}

/* Adds a served time (or just the version) to the notices_seen map. */
static void seen_add(json_t *seen, struct consent_ctx *ctx, int64_t brand, int64_t version,
		     const char *type, cr_time_ms t)
{
	char key[24];
	json_t *entry;

	snprintf(key, sizeof(key), "%lld", (long long)version);
	entry = json_object_get(seen, key);
	if (entry == NULL) {
		char *text = NULL;
		uint8_t hash[32];
		char hex[65];
		if (consent_notice_get(ctx, brand, (uint32_t)version, &text, hash) != CR_OK)
			return;
		consent_hex32(hash, hex);
		entry = json_pack("{s:I, s:s, s:[], s:o}", "version", (json_int_t)version, "hash",
				  hex, "served", "notice", notice_json(text));
		free(text);
		if (entry == NULL)
			return;
		json_object_set_new(seen, key, entry);
	}
	if (strcmp(type, "served") == 0) {
		json_t *ts = consent_json_time(t);
		if (ts != NULL)
			json_array_append_new(json_object_get(entry, "served"), ts);
	}
}

/* R29 "notice versions seen": every version the subject's events name,
 * with the times it was served and its text (R07). */
static void subject_notices(struct consent_ctx *ctx, int64_t brand,
			    const struct crypto_pseudonym *subjects, size_t n, struct out *o)
{
	sqlite3_stmt *st = NULL;
	json_t *seen = json_object(), *list = json_array(), *v;
	const char *key;
	int s = SQLITE_DONE;

	if (o->rc == CR_OK)
		o->rc = prepare(ctx, "SELECT e.notice_version, e.type, e.time_ms FROM consent_event_keys k"
				" JOIN consent_events e ON e.id = k.id WHERE k.skey = ?4 AND k.brand_id = ?1"
				" AND k.pseudonym = ?2 AND k.key_version = ?3"
				" AND e.type IN ('served', 'grant', 'refuse') ORDER BY e.time_ms, e.id",
				&st);
	for (size_t i = 0; i < n && o->rc == CR_OK; i++) {
		bind_subject(st, brand, &subjects[i]);
		while ((s = sqlite3_step(st)) == SQLITE_ROW)
			seen_add(seen, ctx, brand, sqlite3_column_int64(st, 0),
				 (const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2));
		if (s != SQLITE_DONE)
			o->rc = consent_sqlite_err(ctx->db, s);
	}
	sqlite3_finalize(st);
	json_object_foreach(seen, key, v)
		json_array_append(list, v);
	json_decref(seen);
	puts_(o, ",\"notices_seen\":");
	put_json(o, list);
}

static bool list_contains(json_t *list, json_t *item)
{
	json_t *x;
	size_t i;

	json_array_foreach(list, i, x)
		if (json_equal(x, item))
			return true;
	return false;
}

/* Every (purpose, recipient-or-null) pair the brand's notices declare. */
static json_t *declared_pairs(const struct consent_catalog *c)
{
	json_t *pairs = json_array();

	for (size_t i = 0; i < c->nversions; i++) {
		const struct cat_version *v = &c->versions[i];
		for (size_t j = 0; j < v->npurposes; j++) {
			json_t *p = json_pack("[s, n]", v->purposes[j].code);
			if (!list_contains(pairs, p))
				json_array_append(pairs, p);
			json_decref(p);
		}
		for (size_t j = 0; j < v->nrecipients; j++) {
			json_t *p = json_pack("[s, s]", v->recipients[j].purpose, v->recipients[j].id);
			if (!list_contains(pairs, p))
				json_array_append(pairs, p);
			json_decref(p);
		}
	}
	return pairs;
}

/* The decision now for every declared pair (copied first: valid_at may
 * reload the catalog). */
static void subject_status(struct consent_ctx *ctx, int64_t brand,
			   const struct crypto_pseudonym *subject, json_t *pairs, cr_time_ms now,
			   struct out *o)
{
	json_t *pair;
	size_t i;
	bool first = true;

	puts_(o, ",\"status\":[");
	json_array_foreach(pairs, i, pair) {
		const char *purpose = json_string_value(json_array_get(pair, 0));
		const char *recipient = json_string_value(json_array_get(pair, 1));
		struct consent_decision d;
		if (o->rc != CR_OK)
			break;
		o->rc = consent_valid_at(ctx, brand, subject, purpose, recipient, now, 0, &d);
		if (o->rc != CR_OK)
			break;
		if (!first)
			puts_(o, ",");
		first = false;
		put_json(o, json_pack("{s:s, s:o, s:b, s:s}", "purpose", purpose, "recipient",
				      recipient ? json_string(recipient) : json_null(), "allowed",
				      d.allowed, "reason", consent_reason_name(d.reason)));
	}
	puts_(o, "]");
}

static json_t *subject_header(const struct consent_catalog *c,
			      const struct crypto_pseudonym *subjects, size_t n, cr_time_ms now)
{
	json_t *list = json_array();
	json_t *t = consent_json_time(now);

	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, pseudonym_json(&subjects[i]));
	return json_pack("{s:s, s:o, s:o, s:o}", "export", SUBJECT_FORMAT, "brand", brand_json(c),
			 "exported", t != NULL ? t : json_null(), "subject", list);
}

/* Writes the header object without its closing brace, so the streamed
 * members follow it. */
static void put_open_object(struct out *o, json_t *v)
{
	char *text;
	size_t len;

	if (v == NULL) {
		o->rc = o->rc == CR_OK ? CR_ERR_NOMEM : o->rc;
		return;
	}
	text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(v);
	if (text == NULL) {
		o->rc = o->rc == CR_OK ? CR_ERR_NOMEM : o->rc;
		return;
	}
	len = strlen(text);
	put(o, text, len - 1); /* without the final '}' */
	free(text);
}

cr_err consent_export_subject(struct consent_ctx *ctx, int64_t brand,
			      const struct crypto_pseudonym *subjects, size_t n, cr_time_ms now,
			      consent_write_fn write, void *user)
{
	struct out o = { write, user, CR_OK };
	const struct consent_catalog *c;
	json_t *pairs;

	if (ctx == NULL || subjects == NULL || n == 0 || write == NULL)
		return CR_ERR_INVALID_ARG;
	o.rc = consent_catalog_get(ctx, brand, &c);
	if (o.rc != CR_OK)
		return o.rc;
	pairs = declared_pairs(c);
	put_open_object(&o, subject_header(c, subjects, n, now));
	subject_events(ctx, brand, subjects, n, &o);
	subject_notices(ctx, brand, subjects, n, &o);
	subject_suppression(ctx, brand, subjects, n, &o);
	subject_status(ctx, brand, &subjects[0], pairs, now, &o);
	puts_(&o, "}\n");
	json_decref(pairs);
	return o.rc;
}

/* ------------------------------------------------------------ the registry */

static json_t *registry_event_row(sqlite3_stmt *st)
{
	json_t *o = consent_json_event_row(st);

	if (o != NULL)
		json_object_set_new(o, "kind", json_string("event"));
	return o;
}

static json_t *registry_suppression_row(sqlite3_stmt *st)
{
	json_t *o = suppression_row(st);

	if (o != NULL)
		json_object_set_new(o, "kind", json_string("suppression"));
	return o;
}

/* The kinds of change a material version recorded (R06), for the audit. */
static json_t *notice_adds(const struct consent_catalog *c, uint32_t version)
{
	static const char *const kinds[] = { [CAT_CHANGE_ALL] = "all",
					     [CAT_CHANGE_PURPOSE] = "purpose",
					     [CAT_CHANGE_RECIPIENT] = "recipient" };
	const struct cat_version *v = catalog_version(c, version);
	json_t *list = json_array();

	for (size_t i = 0; v != NULL && i < v->nchanges; i++)
		json_array_append_new(list, json_pack("{s:s, s:s}", "kind",
						      kinds[v->changes[i].kind], "code",
						      v->changes[i].code));
	return list;
}

static json_t *registry_notice_row(sqlite3_stmt *st, const struct consent_catalog *c)
{
	char hex[65];
	json_t *published = consent_json_time(sqlite3_column_int64(st, 3));

	consent_hex32(sqlite3_column_blob(st, 1), hex);
	return json_pack("{s:s, s:I, s:s, s:b, s:o, s:o, s:o}", "kind", "notice", "version",
			 (json_int_t)sqlite3_column_int64(st, 0), "hash", hex, "material",
			 sqlite3_column_int(st, 2), "published",
			 published != NULL ? published : json_null(), "adds",
			 notice_adds(c, (uint32_t)sqlite3_column_int64(st, 0)), "notice",
			 notice_json((const char *)sqlite3_column_text(st, 4)));
}

/* One NDJSON line per row of sql (bound to the brand); counts them. */
static uint64_t registry_section(struct consent_ctx *ctx, int64_t brand, const char *sql,
				 json_t *(*fn)(sqlite3_stmt *), const struct consent_catalog *c,
				 struct out *o)
{
	sqlite3_stmt *st = NULL;
	uint64_t count = 0;
	int s = SQLITE_DONE;

	if (o->rc == CR_OK)
		o->rc = prepare(ctx, sql, &st);
	if (o->rc == CR_OK)
		sqlite3_bind_int64(st, 1, brand);
	while (o->rc == CR_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
		put_json(o, fn != NULL ? fn(st) : registry_notice_row(st, c));
		puts_(o, "\n");
		count++;
	}
	if (o->rc == CR_OK && s != SQLITE_DONE)
		o->rc = consent_sqlite_err(ctx->db, s);
	sqlite3_finalize(st);
	return count;
}

static json_t *registry_header(const struct consent_catalog *c, cr_time_ms now)
{
	json_t *t = consent_json_time(now), *ages = json_object();

	for (size_t i = 0; i < c->nages; i++)
		json_object_set_new(ages, c->ages[i].jur, json_integer(c->ages[i].age));
	return json_pack("{s:s, s:s, s:o, s:o, s:o}", "kind", "header", "format", REGISTRY_FORMAT,
			 "brand", brand_json(c), "exported", t != NULL ? t : json_null(),
			 "child_ages", ages);
}

cr_err consent_export_registry(struct consent_ctx *ctx, int64_t brand, cr_time_ms now,
			       consent_write_fn write, void *user)
{
	struct out o = { write, user, CR_OK };
	const struct consent_catalog *c;
	uint64_t notices, events, supp;

	if (ctx == NULL || write == NULL)
		return CR_ERR_INVALID_ARG;
	o.rc = consent_catalog_get(ctx, brand, &c);
	if (o.rc != CR_OK)
		return o.rc;
	put_json(&o, registry_header(c, now));
	puts_(&o, "\n");
	notices = registry_section(ctx, brand,
				   "SELECT version, hash, material, published_ms, canonical"
				   " FROM consent_notices WHERE brand_id = ?1 ORDER BY version",
				   NULL, c, &o);
	events = registry_section(ctx, brand,
				  "SELECT " CONSENT_EVENT_COLUMNS " FROM consent_events"
				  " WHERE brand_id = ?1 ORDER BY id",
				  registry_event_row, c, &o);
	supp = registry_section(ctx, brand,
				"SELECT " SUPPRESSION_COLUMNS " FROM consent_suppression"
				" WHERE brand_id = ?1 ORDER BY since_ms, pseudonym",
				registry_suppression_row, c, &o);
	put_json(&o, json_pack("{s:s, s:I, s:I, s:I}", "kind", "end", "notices",
			       (json_int_t)notices, "events", (json_int_t)events, "suppression",
			       (json_int_t)supp));
	puts_(&o, "\n");
	return o.rc;
}
