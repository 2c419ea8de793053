/*
 * notice.c: privacy notices (R04, R06, R07). A notice file is parsed
 * strictly (duplicate keys, unknown fields and non-integer numbers are
 * refused), checked for everything R04 requires (every gap is named, not
 * just the first), hashed in its canonical form (consent.h), compared with
 * the latest published version to find what a material change adds, and
 * stored immutably.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "consent/consent_internal.h"

#define NOTICE_PURPOSES_MAX 64
#define NOTICE_RECIPIENTS_MAX 256
#define NOTICE_LIST_MAX 64        /* methods, categories, a recipient's categories */
#define NOTICE_STRING_MAX 4096    /* any string but "text" */
#define NOTICE_PROBLEMS_MAX 512

struct notice_purpose {
	const char *code;             /* borrowed from the JSON tree */
	bool sensitive, shares_data, marketing;
	bool shares_given;            /* "shares_data" was written */
};

struct notice_recipient {
	const char *id, *name, *contact, *country, *purpose;
	json_t *categories;           /* borrowed */
};

/* A parsed and checked notice; strings borrowed from `root`. */
struct notice {
	json_t *root;                 /* owned */
	uint32_t version;
	bool material;
	const char *language;
	json_t *methods, *categories; /* borrowed */
	size_t npurposes, nrecipients, njur;
	struct notice_purpose purposes[NOTICE_PURPOSES_MAX];
	struct notice_recipient recipients[NOTICE_RECIPIENTS_MAX];
	char jur[CAT_JUR_MAX][3];
};

/* Everything wrong with a notice, to name in one message. */
struct problems {
	char missing[NOTICE_PROBLEMS_MAX];
	char invalid[NOTICE_PROBLEMS_MAX];
	size_t nmissing, ninvalid;
};

static void append(char *buf, size_t cap, size_t *count, const char *text)
{
	size_t used = strlen(buf);

	if (used + 8 >= cap)
		return;
	snprintf(buf + used, cap - used, "%s%s", *count > 0 ? ", " : "", text);
	(*count)++;
}

static void missing(struct problems *pb, const char *path)
{
	append(pb->missing, sizeof(pb->missing), &pb->nmissing, path);
}

static void invalid(struct problems *pb, const char *path, const char *reason)
{
	char text[192];

	snprintf(text, sizeof(text), "%s (%s)", path, reason);
	append(pb->invalid, sizeof(pb->invalid), &pb->ninvalid, text);
}

/* A key we echo in a message: only if it looks like a field name. */
static const char *safe_key(const char *key)
{
	return consent_code_valid(key, 32) ? key : "(name not shown)";
}

/* ------------------------------------------------------------- field checks */

/* True if s has a character other than ASCII whitespace. */
static bool has_content(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return true;
	return false;
}

/* A required non-blank string of at most max bytes at obj[key]; NULL if not. */
static const char *need_string(struct problems *pb, json_t *obj, const char *key,
			       const char *path, size_t max)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		missing(pb, path);
		return NULL;
	}
	if (!json_is_string(v) || !has_content(json_string_value(v))) {
		invalid(pb, path, "must be a non-empty string");
		return NULL;
	}
	if (json_string_length(v) > max) {
		invalid(pb, path, "too long");
		return NULL;
	}
	return json_string_value(v);
}

/* An optional boolean; writes *out when present and valid. */
static void opt_bool(struct problems *pb, json_t *obj, const char *key, const char *path,
		     bool *out, bool *given)
{
	json_t *v = json_object_get(obj, key);

	if (given != NULL)
		*given = v != NULL;
	if (v == NULL)
		return;
	if (!json_is_boolean(v))
		invalid(pb, path, "must be true or false");
	else
		*out = json_is_true(v);
}

/* A required non-empty array of distinct non-blank strings. */
static json_t *need_string_list(struct problems *pb, json_t *obj, const char *key,
				const char *path)
{
	json_t *v = json_object_get(obj, key), *item;
	size_t i, j;

	if (v == NULL) {
		missing(pb, path);
		return NULL;
	}
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > NOTICE_LIST_MAX) {
		invalid(pb, path, "must be a list of 1-64 strings");
		return NULL;
	}
	json_array_foreach(v, i, item) {
		if (!json_is_string(item) || !has_content(json_string_value(item)) ||
		    json_string_length(item) > NOTICE_STRING_MAX) {
			invalid(pb, path, "every entry must be a non-empty string");
			return NULL;
		}
		for (j = 0; j < i; j++) {
			if (json_equal(item, json_array_get(v, j))) {
				invalid(pb, path, "has a duplicate entry");
				return NULL;
			}
		}
	}
	return v;
}

/* Refuses keys of obj not in allowed[] (NULL-terminated). */
static void only_keys(struct problems *pb, json_t *obj, const char *const *allowed,
		      const char *path)
{
	const char *key;
	json_t *v;
	char where[96];

	json_object_foreach(obj, key, v) {
		size_t i;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			snprintf(where, sizeof(where), "%s%s%s", path, *path ? "." : "",
				 safe_key(key));
			invalid(pb, where, "unknown field");
		}
	}
}

/* ------------------------------------------------------------ the sections */

static const char *const top_keys[] = {
	"version", "language", "material", "controller", "purposes", "recipients", "methods",
	"categories", "retention", "rights", "jurisdictions", "text", NULL,
};
static const char *const controller_keys[] = { "name", "contact", NULL };
static const char *const purpose_keys[] = { "code", "description", "sensitive", "necessity",
					    "shares_data", "marketing", "condition_of_service", NULL };
static const char *const recipient_keys[] = { "id", "name", "contact", "country",
					      "purpose", "categories", NULL };

static void check_version(struct problems *pb, struct notice *n)
{
	json_t *v = json_object_get(n->root, "version");

	if (v == NULL)
		missing(pb, "version");
	else if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		 json_integer_value(v) > INT32_MAX)
		invalid(pb, "version", "must be an integer from 1");
	else
		n->version = (uint32_t)json_integer_value(v);
}

static void check_header(struct problems *pb, struct notice *n)
{
	json_t *ctl = json_object_get(n->root, "controller"), *m;

	check_version(pb, n);
	n->language = need_string(pb, n->root, "language", "language", 35);
	m = json_object_get(n->root, "material");
	if (m == NULL)
		missing(pb, "material");
	else if (!json_is_boolean(m))
		invalid(pb, "material", "must be true or false");
	else
		n->material = json_is_true(m);
	if (ctl == NULL) {
		missing(pb, "controller.name");
		missing(pb, "controller.contact");
	} else if (!json_is_object(ctl)) {
		invalid(pb, "controller", "must be an object with name and contact");
	} else {
		only_keys(pb, ctl, controller_keys, "controller");
		need_string(pb, ctl, "name", "controller.name", NOTICE_STRING_MAX);
		need_string(pb, ctl, "contact", "controller.contact", NOTICE_STRING_MAX);
	}
	n->methods = need_string_list(pb, n->root, "methods", "methods");
	n->categories = need_string_list(pb, n->root, "categories", "categories");
	need_string(pb, n->root, "retention", "retention", NOTICE_STRING_MAX);
	need_string(pb, n->root, "rights", "rights", NOTICE_STRING_MAX);
	need_string(pb, n->root, "text", "text", CONSENT_NOTICE_MAX);
}

static void check_purpose(struct problems *pb, struct notice *n, json_t *p, size_t i)
{
	char path[64];
	struct notice_purpose *np = &n->purposes[n->npurposes];
	json_t *s;

	snprintf(path, sizeof(path), "purposes[%zu]", i);
	if (!json_is_object(p)) {
		invalid(pb, path, "must be an object");
		return;
	}
	only_keys(pb, p, purpose_keys, path);
	memset(np, 0, sizeof(*np));
	np->marketing = true; /* consent.h: a purpose is marketing unless it says not */
	snprintf(path, sizeof(path), "purposes[%zu].code", i);
	np->code = need_string(pb, p, "code", path, CONSENT_CODE_MAX);
	if (np->code != NULL && !consent_code_valid(np->code, CONSENT_CODE_MAX)) {
		invalid(pb, path, "must be 1-64 of a-z, 0-9, '_', '-', '.'");
		np->code = NULL;
	}
	snprintf(path, sizeof(path), "purposes[%zu].description", i);
	need_string(pb, p, "description", path, NOTICE_STRING_MAX);
	snprintf(path, sizeof(path), "purposes[%zu].sensitive", i);
	s = json_object_get(p, "sensitive");
	if (s == NULL)
		missing(pb, path);
	else if (!json_is_boolean(s))
		invalid(pb, path, "must be true or false");
	else
		np->sensitive = json_is_true(s);
	/* R12: processing sensitive data needs a stated necessity (PIPL 28, 30; GDPR 9). */
	snprintf(path, sizeof(path), "purposes[%zu].necessity", i);
	if (np->sensitive && json_object_get(p, "necessity") == NULL)
		invalid(pb, path, "missing: a sensitive purpose must say why the sensitive data is necessary (R12)");
	else if (json_object_get(p, "necessity") != NULL)
		need_string(pb, p, "necessity", path, NOTICE_STRING_MAX);
	snprintf(path, sizeof(path), "purposes[%zu].shares_data", i);
	opt_bool(pb, p, "shares_data", path, &np->shares_data, &np->shares_given);
	snprintf(path, sizeof(path), "purposes[%zu].marketing", i);
	opt_bool(pb, p, "marketing", path, &np->marketing, NULL);
	/* R11: every purpose here rests on consent, and consent to a purpose
	 * the service does not need may not be a condition of the service. */
	snprintf(path, sizeof(path), "purposes[%zu].condition_of_service", i);
	s = json_object_get(p, "condition_of_service");
	if (s != NULL && !json_is_boolean(s))
		invalid(pb, path, "must be true or false");
	else if (json_is_true(s))
		invalid(pb, path, "must be false: a consent-based purpose cannot be a condition of the service (R11)");
	if (np->code == NULL)
		return;
	for (size_t j = 0; j < n->npurposes; j++) {
		if (strcmp(n->purposes[j].code, np->code) == 0) {
			invalid(pb, path, "duplicate purpose code");
			return;
		}
	}
	n->npurposes++;
}

static void check_purposes(struct problems *pb, struct notice *n)
{
	json_t *arr = json_object_get(n->root, "purposes"), *p;
	size_t i;

	if (arr == NULL) {
		missing(pb, "purposes");
		return;
	}
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > NOTICE_PURPOSES_MAX) {
		invalid(pb, "purposes", "must be a list of 1-64 purposes");
		return;
	}
	json_array_foreach(arr, i, p)
		check_purpose(pb, n, p, i);
}

static struct notice_purpose *find_purpose(struct notice *n, const char *code)
{
	for (size_t i = 0; i < n->npurposes; i++)
		if (strcmp(n->purposes[i].code, code) == 0)
			return &n->purposes[i];
	return NULL;
}

static void check_recipient(struct problems *pb, struct notice *n, json_t *r, size_t i)
{
	struct notice_recipient *nr = &n->recipients[n->nrecipients];
	struct notice_purpose *np;
	char path[64];

	snprintf(path, sizeof(path), "recipients[%zu]", i);
	if (!json_is_object(r)) {
		invalid(pb, path, "must be an object");
		return;
	}
	only_keys(pb, r, recipient_keys, path);
	memset(nr, 0, sizeof(*nr));
	snprintf(path, sizeof(path), "recipients[%zu].id", i);
	nr->id = need_string(pb, r, "id", path, CONSENT_CODE_MAX);
	if (nr->id != NULL && !consent_code_valid(nr->id, CONSENT_CODE_MAX)) {
		invalid(pb, path, "must be 1-64 of a-z, 0-9, '_', '-', '.'");
		nr->id = NULL;
	}
	for (size_t j = 0; nr->id != NULL && j < n->nrecipients; j++) {
		if (strcmp(n->recipients[j].id, nr->id) == 0) {
			invalid(pb, path, "duplicate recipient id");
			nr->id = NULL;
		}
	}
	snprintf(path, sizeof(path), "recipients[%zu].name", i);
	nr->name = need_string(pb, r, "name", path, NOTICE_STRING_MAX);
	snprintf(path, sizeof(path), "recipients[%zu].contact", i);
	nr->contact = need_string(pb, r, "contact", path, NOTICE_STRING_MAX);
	snprintf(path, sizeof(path), "recipients[%zu].country", i);
	nr->country = need_string(pb, r, "country", path, 2);
	if (nr->country != NULL && !consent_jur_valid(nr->country)) {
		invalid(pb, path, "must be an ISO 3166 alpha-2 code such as \"CN\"");
		nr->country = NULL;
	}
	snprintf(path, sizeof(path), "recipients[%zu].purpose", i);
	nr->purpose = need_string(pb, r, "purpose", path, CONSENT_CODE_MAX);
	np = nr->purpose != NULL ? find_purpose(n, nr->purpose) : NULL;
	if (nr->purpose != NULL && np == NULL)
		invalid(pb, path, "names no purpose of this notice");
	else if (np != NULL && np->shares_given && !np->shares_data)
		invalid(pb, path, "names a purpose marked \"shares_data\": false");
	snprintf(path, sizeof(path), "recipients[%zu].categories", i);
	nr->categories = need_string_list(pb, r, "categories", path);
	if (nr->id != NULL && nr->name && nr->contact && nr->country && np && nr->categories) {
		np->shares_data = true;
		n->nrecipients++;
	}
}

static void check_recipients(struct problems *pb, struct notice *n)
{
	json_t *arr = json_object_get(n->root, "recipients"), *r;
	char path[96];
	size_t i;

	if (arr != NULL) {
		if (!json_is_array(arr) || json_array_size(arr) > NOTICE_RECIPIENTS_MAX) {
			invalid(pb, "recipients", "must be a list of at most 256 recipients");
			return;
		}
		json_array_foreach(arr, i, r)
			check_recipient(pb, n, r, i);
	}
	/* R04: a purpose that shares data names each recipient. */
	for (i = 0; i < n->npurposes; i++) {
		bool named = false;
		if (!n->purposes[i].shares_data)
			continue;
		for (size_t j = 0; j < n->nrecipients; j++)
			if (strcmp(n->recipients[j].purpose, n->purposes[i].code) == 0)
				named = true;
		if (!named && n->purposes[i].shares_given) {
			snprintf(path, sizeof(path), "recipients for purpose %s", n->purposes[i].code);
			missing(pb, path);
		}
	}
}

static void check_jurisdictions(struct problems *pb, struct notice *n)
{
	json_t *arr = json_object_get(n->root, "jurisdictions"), *j;
	size_t i;

	if (arr == NULL)
		return; /* docs/spec/formats.md: default, the brand's */
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > CAT_JUR_MAX) {
		invalid(pb, "jurisdictions", "must be a list of 1-32 codes");
		return;
	}
	json_array_foreach(arr, i, j) {
		const char *s = json_is_string(j) ? json_string_value(j) : "";
		bool dup = false;
		if (!consent_jur_valid(s)) {
			invalid(pb, "jurisdictions", "entries must be codes such as \"CN\" or \"EU\"");
			return;
		}
		for (size_t k = 0; k < n->njur; k++)
			dup = dup || strcmp(n->jur[k], s) == 0;
		if (!dup)
			memcpy(n->jur[n->njur++], s, 3);
	}
}

/* Writes the collected problems as one message. */
static void problems_message(const struct problems *pb, char *why, size_t cap)
{
	consent_why(why, cap, "%s%s%s%s%s", pb->nmissing ? "missing: " : "", pb->missing,
		    pb->nmissing && pb->ninvalid ? "; " : "", pb->ninvalid ? "invalid: " : "",
		    pb->invalid);
}

/*
 * Parses and checks (json, len) into *n. On success n->root is owned by n
 * (release with notice_release).
 */
static cr_err notice_parse(const char *json, size_t len, struct notice *n, char *why,
			   size_t cap)
{
	struct problems pb = { .nmissing = 0 };
	json_error_t err;

	memset(n, 0, sizeof(*n));
	if (len > CONSENT_NOTICE_MAX) {
		consent_why(why, cap, "notice is larger than %u bytes", CONSENT_NOTICE_MAX);
		return CR_ERR_CONSENT_NOTICE_TOO_LARGE;
	}
	n->root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (n->root == NULL) {
		consent_why(why, cap, "notice is not valid JSON (line %d, column %d)", err.line,
			    err.column);
		return CR_ERR_CONSENT_NOTICE_MALFORMED;
	}
	if (!json_is_object(n->root)) {
		consent_why(why, cap, "notice is not a JSON object");
		json_decref(n->root);
		n->root = NULL;
		return CR_ERR_CONSENT_NOTICE_MALFORMED;
	}
	only_keys(&pb, n->root, top_keys, "");
	if (consent_json_has_real(n->root))
		invalid(&pb, "numbers", "must be integers");
	check_header(&pb, n);
	check_purposes(&pb, n);
	check_recipients(&pb, n);
	check_jurisdictions(&pb, n);
	if (pb.nmissing == 0 && pb.ninvalid == 0)
		return CR_OK;
	problems_message(&pb, why, cap);
	json_decref(n->root);
	n->root = NULL;
	return CR_ERR_CONSENT_NOTICE_INCOMPLETE;
}

static void notice_release(struct notice *n)
{
	json_decref(n->root);
	n->root = NULL;
}

/* The canonical bytes and their SHA-256; *canon handed over. */
static cr_err notice_hash(const struct notice *n, char **canon, uint8_t hash[static 32])
{
	*canon = consent_json_canonical(n->root);
	if (*canon == NULL)
		return CR_ERR_NOMEM;
	crypto_hash_sha256(hash, (const unsigned char *)*canon, strlen(*canon));
	return CR_OK;
}

cr_err consent_notice_check(const char *json, size_t len, uint32_t *version,
			    uint8_t hash[static CONSENT_HASH_BYTES], char *why, size_t why_cap)
{
	struct notice n;
	char *canon = NULL;
	uint8_t h[CONSENT_HASH_BYTES];
	cr_err rc;

	if (json == NULL)
		return CR_ERR_INVALID_ARG;
	rc = notice_parse(json, len, &n, why, why_cap);
	if (rc != CR_OK)
		return rc;
	rc = notice_hash(&n, &canon, h);
	if (rc == CR_OK) {
		*version = n.version;
		memcpy(hash, h, sizeof(h));
	}
	free(canon);
	notice_release(&n);
	return rc;
}

/* ------------------------------------------------------- material changes */

#define ADDITIONS_MAX (NOTICE_PURPOSES_MAX + NOTICE_RECIPIENTS_MAX + 1)

/* What a version adds over the one before it (R06). */
struct additions {
	bool all;
	char all_what[96];            /* the first method or category added */
	size_t n;
	struct cat_change list[ADDITIONS_MAX];
};

static bool list_has(json_t *list, json_t *item)
{
	json_t *x;
	size_t i;

	json_array_foreach(list, i, x)
		if (json_equal(x, item))
			return true;
	return false;
}

/* The first entry of `now` that `before` lacks, or NULL. */
static const char *list_added(json_t *before, json_t *now)
{
	json_t *x;
	size_t i;

	json_array_foreach(now, i, x)
		if (!list_has(before, x))
			return json_string_value(x);
	return NULL;
}

static void add_change(struct additions *a, enum cat_change_kind kind, const char *code)
{
	if (a->n == ADDITIONS_MAX)
		return;
	a->list[a->n].kind = kind;
	consent_copy(a->list[a->n].code, sizeof(a->list[a->n].code), code);
	a->n++;
}

static bool recipient_widened(const struct notice_recipient *old,
			      const struct notice_recipient *now)
{
	return strcmp(old->name, now->name) != 0 || strcmp(old->country, now->country) != 0 ||
	       strcmp(old->purpose, now->purpose) != 0 ||
	       list_added(old->categories, now->categories) != NULL;
}

static void diff_notices(const struct notice *old, const struct notice *now, struct additions *a)
{
	const char *what;

	memset(a, 0, sizeof(*a));
	if ((what = list_added(old->methods, now->methods)) != NULL) {
		a->all = true;
		snprintf(a->all_what, sizeof(a->all_what), "method \"%.64s\"", what);
	} else if ((what = list_added(old->categories, now->categories)) != NULL) {
		a->all = true;
		snprintf(a->all_what, sizeof(a->all_what), "data category \"%.64s\"", what);
	}
	for (size_t i = 0; i < now->npurposes; i++) {
		const struct notice_purpose *p = &now->purposes[i], *q = NULL;
		for (size_t j = 0; j < old->npurposes; j++)
			if (strcmp(old->purposes[j].code, p->code) == 0)
				q = &old->purposes[j];
		if (q == NULL || (p->sensitive && !q->sensitive) ||
		    (p->shares_data && !q->shares_data) || (p->marketing && !q->marketing))
			add_change(a, CAT_CHANGE_PURPOSE, p->code);
	}
	for (size_t i = 0; i < now->nrecipients; i++) {
		const struct notice_recipient *r = &now->recipients[i], *q = NULL;
		for (size_t j = 0; j < old->nrecipients; j++)
			if (strcmp(old->recipients[j].id, r->id) == 0)
				q = &old->recipients[j];
		if (q == NULL || recipient_widened(q, r))
			add_change(a, CAT_CHANGE_RECIPIENT, r->id);
	}
}

/* Loads a published version's canonical JSON and hash. */
static cr_err notice_load(struct consent_ctx *ctx, int64_t brand, uint32_t version,
			  char **json_out, uint8_t hash[CONSENT_HASH_BYTES])
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_NOTICE_GET);
	cr_err rc = CR_ERR_CONSENT_NOTICE_NOT_FOUND;
	int s;

	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_int64(st, 2, version);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		const unsigned char *text = sqlite3_column_text(st, 0);
		const void *h = sqlite3_column_blob(st, 1);
		if (text == NULL || h == NULL || sqlite3_column_bytes(st, 1) != CONSENT_HASH_BYTES) {
			rc = CR_ERR_CONSENT;
		} else {
			if (json_out != NULL)
				*json_out = cr_xstrdup((const char *)text);
			if (hash != NULL)
				memcpy(hash, h, CONSENT_HASH_BYTES);
			rc = CR_OK;
		}
	} else if (s != SQLITE_DONE) {
		rc = consent_sqlite_err(ctx->db, s);
	}
	sqlite3_reset(st);
	return rc;
}

/*
 * Computes what `now` adds over the latest published version and applies
 * R06: additions need "material": true; a material version with nothing
 * scoped counts as changing everything.
 */
static cr_err material_check(struct consent_ctx *ctx, int64_t brand, uint32_t latest,
			     const struct notice *now, struct additions *a, char *why,
			     size_t cap)
{
	struct notice old;
	char *text = NULL;
	cr_err rc;

	memset(a, 0, sizeof(*a));
	if (latest == 0)
		return CR_OK;
	rc = notice_load(ctx, brand, latest, &text, NULL);
	if (rc == CR_OK)
		rc = notice_parse(text, strlen(text), &old, NULL, 0) == CR_OK ? CR_OK : CR_ERR_CONSENT;
	free(text);
	if (rc != CR_OK)
		return rc;
	diff_notices(&old, now, a);
	notice_release(&old);
	if (!now->material && (a->all || a->n > 0)) {
		if (a->all)
			consent_why(why, cap, "material: false, but the notice adds %s", a->all_what);
		else
			consent_why(why, cap, "material: false, but the notice adds %s \"%s\"",
				    a->list[0].kind == CAT_CHANGE_PURPOSE ? "purpose" : "recipient",
				    a->list[0].code);
		return CR_ERR_CONSENT_NOTICE_NOT_MATERIAL;
	}
	if (now->material && !a->all && a->n == 0)
		a->all = true;
	if (!now->material)
		a->n = 0;
	return CR_OK;
}

/* ----------------------------------------------------------------- storing */

static void join_jurisdictions(const struct notice *n, char *out, size_t cap)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n->njur && used + 4 <= cap; i++) {
		if (i > 0)
			out[used++] = ',';
		memcpy(out + used, n->jur[i], 3);
		used += 2;
	}
}

static cr_err store_notice_row(struct consent_ctx *ctx, int64_t brand, const struct notice *n,
			       const char *canon, const uint8_t hash[32], cr_time_ms at)
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_NOTICE_INSERT);
	char jur[CAT_JUR_MAX * 3 + 1];

	if (st == NULL)
		return CR_ERR_CONSENT;
	join_jurisdictions(n, jur, sizeof(jur));
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_int64(st, 2, n->version);
	sqlite3_bind_blob(st, 3, hash, CONSENT_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, canon, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, n->material);
	sqlite3_bind_text(st, 6, n->language, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, jur, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 8, at);
	return consent_step_done(st);
}

static cr_err store_purposes(struct consent_ctx *ctx, int64_t brand, const struct notice *n)
{
	cr_err rc = CR_OK;

	for (size_t i = 0; i < n->npurposes && rc == CR_OK; i++) {
		sqlite3_stmt *st = consent_stmt(ctx, ST_PURPOSE_INSERT);
		if (st == NULL)
			return CR_ERR_CONSENT;
		sqlite3_bind_int64(st, 1, brand);
		sqlite3_bind_int64(st, 2, n->version);
		sqlite3_bind_text(st, 3, n->purposes[i].code, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, n->purposes[i].sensitive);
		sqlite3_bind_int(st, 5, n->purposes[i].shares_data);
		sqlite3_bind_int(st, 6, n->purposes[i].marketing);
		rc = consent_step_done(st);
	}
	return rc;
}

static cr_err store_recipients(struct consent_ctx *ctx, int64_t brand, const struct notice *n)
{
	cr_err rc = CR_OK;

	for (size_t i = 0; i < n->nrecipients && rc == CR_OK; i++) {
		const struct notice_recipient *r = &n->recipients[i];
		sqlite3_stmt *st = consent_stmt(ctx, ST_RECIPIENT_INSERT);
		char *cats;
		if (st == NULL)
			return CR_ERR_CONSENT;
		cats = consent_json_canonical(r->categories);
		if (cats == NULL)
			return CR_ERR_NOMEM;
		sqlite3_bind_int64(st, 1, brand);
		sqlite3_bind_int64(st, 2, n->version);
		sqlite3_bind_text(st, 3, r->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, r->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, r->contact, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, r->country, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, r->purpose, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, cats, -1, SQLITE_TRANSIENT);
		rc = consent_step_done(st);
		free(cats);
	}
	return rc;
}

static cr_err store_change(struct consent_ctx *ctx, int64_t brand, uint32_t version,
			   const char *kind, const char *code)
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_CHANGE_INSERT);

	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_int64(st, 2, version);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, code, -1, SQLITE_STATIC);
	return consent_step_done(st);
}

static cr_err store_changes(struct consent_ctx *ctx, int64_t brand, uint32_t version,
			    const struct additions *a)
{
	cr_err rc = CR_OK;

	if (a->all)
		rc = store_change(ctx, brand, version, "all", "");
	for (size_t i = 0; i < a->n && rc == CR_OK; i++)
		rc = store_change(ctx, brand, version,
				  a->list[i].kind == CAT_CHANGE_PURPOSE ? "purpose" : "recipient",
				  a->list[i].code);
	return rc;
}

static cr_err store_all(struct consent_ctx *ctx, int64_t brand, const struct notice *n,
			const char *canon, const uint8_t hash[32], cr_time_ms at,
			const struct additions *a)
{
	cr_err rc = consent_savepoint(ctx);

	if (rc != CR_OK)
		return rc;
	rc = store_notice_row(ctx, brand, n, canon, hash, at);
	if (rc == CR_OK)
		rc = store_purposes(ctx, brand, n);
	if (rc == CR_OK)
		rc = store_recipients(ctx, brand, n);
	if (rc == CR_OK)
		rc = store_changes(ctx, brand, n->version, a);
	if (rc == CR_OK)
		rc = consent_brand_bump(ctx, brand);
	return consent_savepoint_end(ctx, rc);
}

/* Version order, immutability and the publish-time order (consent.h). */
static cr_err check_sequence(const struct consent_ctx *ctx, const struct consent_catalog *c,
			     const struct notice *n, const uint8_t hash[32], cr_time_ms at,
			     bool *already, char *why, size_t cap)
{
	const struct cat_version *same = catalog_version(c, n->version);
	const struct cat_version *latest = catalog_latest(c);

	*already = false;
	if (same != NULL) {
		if (sodium_memcmp(same->hash, hash, CONSENT_HASH_BYTES) == 0) {
			*already = true;
			return CR_OK;
		}
		consent_why(why, cap, "version %u is already published with other content",
			    n->version);
		return CR_ERR_CONSENT_NOTICE_IMMUTABLE;
	}
	if (latest != NULL && n->version < latest->version) {
		consent_why(why, cap, "version %u is below the latest published, %u", n->version,
			    latest->version);
		return CR_ERR_CONSENT_NOTICE_VERSION;
	}
	if (latest != NULL && at < latest->published) {
		consent_why(why, cap, "publish time is before version %u's", latest->version);
		return CR_ERR_CONSENT_NOTICE_VERSION;
	}
	/* A history may be back-filled, never dated ahead (R05: a version is
	 * current only from its publication). */
	if (at > consent_now(ctx) + ctx->skew_ms) {
		consent_why(why, cap, "publish time lies in the future");
		return CR_ERR_CONSENT_NOTICE_FUTURE;
	}
	return CR_OK;
}

cr_err consent_notice_publish(struct consent_ctx *ctx, int64_t brand, const char *json,
			      size_t len, cr_time_ms published_at,
			      struct consent_notice_published *out, char *why, size_t why_cap)
{
	const struct consent_catalog *c;
	struct additions *a = NULL;
	struct notice *n = cr_xcalloc(1, sizeof(*n));
	uint8_t hash[CONSENT_HASH_BYTES];
	char *canon = NULL;
	bool already = false;
	cr_err rc;

	if (json == NULL) {
		rc = CR_ERR_INVALID_ARG;
		goto out;
	}
	rc = notice_parse(json, len, n, why, why_cap);
	if (rc != CR_OK)
		goto out;
	rc = notice_hash(n, &canon, hash);
	if (rc == CR_OK)
		rc = consent_catalog_get(ctx, brand, &c);
	if (rc == CR_OK)
		rc = check_sequence(ctx, c, n, hash, published_at, &already, why, why_cap);
	if (rc != CR_OK || already)
		goto out;
	a = cr_xmalloc(sizeof(*a));
	rc = material_check(ctx, brand, catalog_latest(c) ? catalog_latest(c)->version : 0, n, a, why, why_cap);
	if (rc == CR_OK)
		rc = store_all(ctx, brand, n, canon, hash, published_at, a);
out:
	if (rc == CR_OK && out != NULL) {
		out->brand = brand;
		out->version = n->version;
		memcpy(out->hash, hash, sizeof(hash));
		out->material = n->material;
		out->already = already;
		out->published = published_at;
	}
	free(canon);
	free(a);
	notice_release(n);
	free(n);
	return rc;
}

/* --------------------------------------------------------------- reading */

cr_err consent_notice_current(struct consent_ctx *ctx, int64_t brand, uint32_t *version)
{
	const struct consent_catalog *c;
	cr_err rc = consent_catalog_get(ctx, brand, &c);

	if (rc != CR_OK)
		return rc;
	if (catalog_latest(c) == NULL)
		return CR_ERR_CONSENT_NOTICE_NOT_FOUND;
	*version = catalog_latest(c)->version;
	return CR_OK;
}

cr_err consent_notice_get(struct consent_ctx *ctx, int64_t brand, uint32_t version,
			  char **json_out, uint8_t hash[CONSENT_HASH_BYTES])
{
	cr_err rc = CR_OK;

	if (version == 0)
		rc = consent_notice_current(ctx, brand, &version);
	if (rc != CR_OK)
		return rc;
	return notice_load(ctx, brand, version, json_out, hash);
}

cr_err consent_notice_declares(struct consent_ctx *ctx, int64_t brand, uint32_t version,
			       const char *purpose, const char *recipient, bool *out)
{
	const struct consent_catalog *c;
	const struct cat_version *v;
	cr_err rc = consent_catalog_get(ctx, brand, &c);

	if (rc != CR_OK)
		return rc;
	if (purpose == NULL)
		return CR_ERR_INVALID_ARG;
	v = version == 0 ? catalog_latest(c) : catalog_version(c, version);
	if (v == NULL)
		return CR_ERR_CONSENT_NOTICE_NOT_FOUND;
	*out = catalog_purpose(v, purpose) != NULL &&
	       (recipient == NULL || catalog_recipient(v, recipient, purpose) != NULL);
	return CR_OK;
}

cr_err consent_notice_scopes(struct consent_ctx *ctx, int64_t brand, struct consent_scope **out,
			     size_t *n)
{
	const struct consent_catalog *c;
	const struct cat_version *v;
	struct consent_scope *list;
	cr_err rc = consent_catalog_get(ctx, brand, &c);

	if (rc != CR_OK)
		return rc;
	v = catalog_latest(c);
	if (v == NULL)
		return CR_ERR_CONSENT_NOTICE_NOT_FOUND;
	/* copied out: a later catalog reload frees the catalog's arrays */
	list = cr_xcalloc(v->npurposes + v->nrecipients + 1, sizeof(*list));
	for (size_t i = 0; i < v->npurposes; i++)
		consent_copy(list[i].purpose, sizeof(list[i].purpose), v->purposes[i].code);
	for (size_t i = 0; i < v->nrecipients; i++) {
		struct consent_scope *sc = &list[v->npurposes + i];
		consent_copy(sc->purpose, sizeof(sc->purpose), v->recipients[i].purpose);
		consent_copy(sc->recipient, sizeof(sc->recipient), v->recipients[i].id);
	}
	*out = list;
	*n = v->npurposes + v->nrecipients;
	return CR_OK;
}
