/*
 * import.c: importers and the batch import of consent-event NDJSON.
 *
 * An importer holds one brand's pseudonym keys, one per key version,
 * derived once in sodium_malloc'd memory and wiped when it is freed, so the
 * per-line cost is normalization, SHA-256 and one HMAC per key version
 * needed. The stream reader keeps memory bounded whatever the input: a line
 * longer than CONSENT_LINE_MAX is skipped to its newline and refused.
 * Transactions stay with the caller: the batch hook is where it commits.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "consent/consent_internal.h"

struct consent_importer {
	struct consent_ctx *ctx;                  /* borrowed */
	int64_t brand;
	const struct crypto_id_opts *id_opts;     /* borrowed, may be NULL */
	uint32_t key_version;                     /* current; keys for 1..key_version */
	uint8_t *keys;                            /* sodium_malloc: key_version x 32 bytes */
	char channel[CONSENT_FIELD_MAX + 1];      /* R24: what a line does not state */
	char method[CONSENT_FIELD_MAX + 1];
};

cr_err consent_importer_new(struct consent_ctx *ctx, const struct crypto_keyring *kr,
			    int64_t brand, const struct crypto_id_opts *id_opts,
			    struct consent_importer **out)
{
	struct consent_importer *imp = NULL;
	uint32_t kv = 0;
	cr_err rc;

	if (ctx == NULL || kr == NULL || out == NULL)
		return CR_ERR_INVALID_ARG;
	if (sodium_init() < 0)
		cr_die("consent: libsodium cannot initialize");
	rc = consent_brand_key_version(ctx, brand, &kv);
	if (rc != CR_OK)
		goto out;
	imp = cr_xcalloc(1, sizeof(*imp));
	imp->ctx = ctx;
	imp->brand = brand;
	imp->id_opts = id_opts;
	imp->key_version = kv;
	consent_importer_source(imp, "import", "import");
	imp->keys = sodium_malloc((size_t)kv * CRYPTO_KEY_BYTES);
	if (imp->keys == NULL)
		cr_die("consent: out of secure memory");
	for (uint32_t v = 1; v <= kv && rc == CR_OK; v++)
		rc = crypto_subkey_derive(kr, (uint64_t)brand, CRYPTO_USE_PSEUDONYM, v,
					  imp->keys + (size_t)(v - 1) * CRYPTO_KEY_BYTES);
out:
	if (rc != CR_OK) {
		consent_importer_free(imp);
		imp = NULL;
	}
	if (rc == CR_OK)
		*out = imp;
	return rc;
}

void consent_importer_source(struct consent_importer *imp, const char *channel, const char *method)
{
	consent_copy(imp->channel, sizeof(imp->channel), channel);
	consent_copy(imp->method, sizeof(imp->method), method);
}

void consent_importer_free(struct consent_importer *imp)
{
	if (imp == NULL)
		return;
	sodium_free(imp->keys); /* wipes */
	free(imp);
}

cr_err consent_importer_subject(const struct consent_importer *imp, const char *subject,
				size_t len, const char *id_type, struct crypto_pseudonym *out,
				struct crypto_pseudonym aliases[CONSENT_KEY_VERSIONS_MAX],
				size_t *n_aliases)
{
	uint8_t digest[CRYPTO_DIGEST_BYTES];
	enum crypto_id_type t;
	size_t n = 0;
	cr_err rc = CR_OK;

	if (imp == NULL || subject == NULL || out == NULL)
		return CR_ERR_INVALID_ARG;
	if (id_type != NULL)
		rc = crypto_id_type_parse(id_type, &t);
	else if (consent_is_hex64(subject, len))
		rc = CR_ERR_ID_TYPE; /* docs/spec/formats.md: a digest needs its id_type */
	else
		t = crypto_id_type_guess(subject, len);
	if (rc == CR_OK)
		rc = crypto_subject_digest(t, subject, len, imp->id_opts, digest);
	if (rc != CR_OK)
		goto out;
	crypto_pseudonym_with_key(imp->keys + (size_t)(imp->key_version - 1) * CRYPTO_KEY_BYTES,
				  imp->key_version, t, digest, out);
	for (uint32_t v = 1; v < imp->key_version && aliases != NULL; v++)
		crypto_pseudonym_with_key(imp->keys + (size_t)(v - 1) * CRYPTO_KEY_BYTES, v, t,
					  digest, &aliases[n++]);
	if (n_aliases != NULL)
		*n_aliases = n;
out:
	sodium_memzero(digest, sizeof(digest));
	return rc;
}

/* ------------------------------------------------------------------ lines */

/* A refusal is the input's fault (4xx); anything else stops the import. */
static bool is_refusal(cr_err rc)
{
	int status = cr_err_http_status(rc);

	return status >= 400 && status < 500;
}

/* Records every scope of `ev` (a withdrawal of several is as many
 * withdrawals, all or none, in one savepoint). */
static cr_err record_scopes(struct consent_importer *imp, const struct consent_event *ev,
			    struct consent_line_result *res)
{
	size_t n = consent_event_scopes(ev);
	cr_err rc = n > 1 ? consent_savepoint(imp->ctx) : CR_OK;
	bool opened = n > 1 && rc == CR_OK;

	for (size_t i = 0; rc == CR_OK && i < n; i++) {
		struct consent_event one;
		consent_event_scope(ev, i, &one);
		rc = consent_record(imp->ctx, imp->brand, &one, i == 0 ? &res->change : &res->more[i - 1],
				    res->why, sizeof(res->why));
	}
	if (opened)
		rc = consent_savepoint_end(imp->ctx, rc);
	res->n_more = rc == CR_OK ? n - 1 : 0;
	return rc;
}

/* A guardian_link line (R16), or CR_ERR_CONSENT_EVENT_TYPE when the line
 * only mentions the word (an event's evidence, say). */
static cr_err import_link(struct consent_importer *imp, const char *line, size_t len,
			  struct consent_line_result *res)
{
	struct consent_guardian_link l;
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	const char *type = json_string_value(json_object_get(root, "type"));
	bool link = type != NULL && strcmp(type, "guardian_link") == 0;
	cr_err rc;

	json_decref(root);
	if (!link)
		return CR_ERR_CONSENT_EVENT_TYPE;
	res->is_link = true;
	rc = consent_guardian_line_parse(imp, line, len, &l, res->why, sizeof(res->why));
	if (rc == CR_OK)
		rc = consent_guardian_link_add(imp->ctx, imp->brand, &l, NULL, &res->link_duplicate,
					       res->why, sizeof(res->why));
	if (rc == CR_OK)
		res->link_child = l.child;
	return rc;
}

cr_err consent_import_line(struct consent_importer *imp, const char *line, size_t len,
			   cr_time_ms now, struct consent_line_result *res)
{
	struct consent_event ev;
	cr_err rc;

	if (imp == NULL || line == NULL || res == NULL)
		return CR_ERR_INVALID_ARG;
	memset(&res->change, 0, sizeof(res->change));
	res->n_more = 0;
	res->why[0] = '\0';
	res->is_link = false;
	if (consent_guardian_line_is_link(line, len) && (rc = import_link(imp, line, len, res)) != CR_ERR_CONSENT_EVENT_TYPE)
		goto done;
	rc = consent_event_parse(imp, line, len, now, &ev, res->why, sizeof(res->why));
	if (rc == CR_OK) {
		consent_event_source(&ev, imp->channel, imp->method);
		rc = record_scopes(imp, &ev, res);
	}
done:
	res->rc = rc;
	if (rc == CR_OK) {
		res->why[0] = '\0';
		return CR_OK;
	}
	if (res->why[0] == '\0')
		consent_copy(res->why, sizeof(res->why), cr_strerror(rc));
	return is_refusal(rc) ? CR_OK : rc;
}

/* ----------------------------------------------------------------- stream */

/* Reads one line (without "\n" or "\r\n") into buf[CONSENT_LINE_MAX + 1];
 * a longer line is consumed whole and flagged. false at end of input. */
static bool read_line(FILE *in, char *buf, size_t *len, bool *too_long)
{
	size_t n = 0;
	int c;

	*too_long = false;
	while ((c = getc_unlocked(in)) != EOF && c != '\n') {
		if (n < CONSENT_LINE_MAX + 1)
			buf[n++] = (char)c;
		else
			*too_long = true;
	}
	if (c == EOF && n == 0 && !*too_long)
		return false;
	if (n > CONSENT_LINE_MAX)
		*too_long = true;
	if (!*too_long && n > 0 && buf[n - 1] == '\r')
		n--;
	buf[*too_long ? 0 : n] = '\0';
	*len = *too_long ? 0 : n;
	return true;
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

static void count_refusal(struct consent_import_summary *sum, cr_err code)
{
	sum->refused++;
	for (size_t i = 0; i < sum->nreasons; i++) {
		if (sum->reasons[i].code == code) {
			sum->reasons[i].count++;
			return;
		}
	}
	if (sum->nreasons < CONSENT_IMPORT_REASONS_MAX) {
		sum->reasons[sum->nreasons].code = code;
		sum->reasons[sum->nreasons].count = 1;
		sum->nreasons++;
	}
}

static void count_change(struct consent_import_summary *sum, const struct consent_change *c)
{
	if (c->duplicate) {
		sum->duplicates++;
	} else {
		sum->stored++;
		if ((unsigned)c->type < CONSENT_EV_COUNT)
			sum->stored_by_type[c->type]++;
	}
}

static void count_result(struct consent_import_summary *sum, const struct consent_line_result *r)
{
	if (r->rc != CR_OK) {
		count_refusal(sum, r->rc);
		return;
	}
	if (r->is_link) {
		sum->guardian_links += !r->link_duplicate;
		sum->duplicates += r->link_duplicate;
		return;
	}
	count_change(sum, &r->change);
	for (size_t i = 0; i < r->n_more; i++)
		count_change(sum, &r->more[i]);
}

/* One line of the stream: refuse it if too long, skip it if blank. */
static cr_err stream_line(struct consent_importer *imp, char *buf, size_t len, bool too_long,
			  cr_time_ms now, struct consent_line_result *res)
{
	if (too_long) {
		memset(&res->change, 0, sizeof(res->change));
		res->rc = CR_ERR_CONSENT_LINE_TOO_LARGE;
		consent_why(res->why, sizeof(res->why), "line is longer than %d bytes",
			    CONSENT_LINE_MAX);
		return CR_OK;
	}
	/* A UTF-8 byte order mark before the first line is not part of it. */
	if (res->line == 1 && len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		return consent_import_line(imp, buf + 3, len - 3, now, res);
	return consent_import_line(imp, buf, len, now, res);
}

cr_err consent_import_stream(struct consent_importer *imp, FILE *in, cr_time_ms now,
			     const struct consent_import_hooks *hooks,
			     struct consent_import_summary *sum)
{
	struct consent_import_summary local;
	struct consent_line_result *res = cr_xmalloc(sizeof(*res));
	char *buf = cr_xmalloc(CONSENT_LINE_MAX + 2);
	size_t batch = hooks != NULL && hooks->batch_lines ? hooks->batch_lines : 1000;
	size_t len, in_batch = 0;
	bool too_long;
	cr_err rc = CR_OK;

	if (sum == NULL)
		sum = &local;
	memset(sum, 0, sizeof(*sum));
	if (imp == NULL || in == NULL) {
		rc = CR_ERR_INVALID_ARG;
		goto out;
	}
	while (rc == CR_OK && read_line(in, buf, &len, &too_long)) {
		sum->lines++;
		if (!too_long && blank(buf, len)) {
			sum->blank++;
		} else {
			res->line = sum->lines;
			rc = stream_line(imp, buf, len, too_long, now, res);
			if (rc != CR_OK)
				break;
			count_result(sum, res);
			if (hooks != NULL && hooks->on_line != NULL)
				rc = hooks->on_line(hooks->user, res);
		}
		in_batch++;
		if (rc == CR_OK && hooks != NULL && hooks->on_batch &&
		    (in_batch == batch || (hooks->cut != NULL && hooks->cut(hooks->user)))) {
			rc = hooks->on_batch(hooks->user, sum->lines);
			in_batch = 0;
		}
	}
	if (rc == CR_OK && ferror(in))
		rc = CR_ERR_IO;
out:
	free(buf);
	free(res);
	return rc;
}
