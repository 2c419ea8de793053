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

static void result_reset(struct consent_line_result *res)
{
	memset(&res->change, 0, sizeof(res->change));
	res->n_more = 0;
	res->why[0] = '\0';
	res->is_link = false;
}

/* Ends a line's result: its code and reason; CR_OK unless the import must stop. */
static cr_err result_end(struct consent_line_result *res, cr_err rc)
{
	res->rc = rc;
	if (rc == CR_OK) {
		res->why[0] = '\0';
		return CR_OK;
	}
	if (res->why[0] == '\0')
		consent_copy(res->why, sizeof(res->why), cr_strerror(rc));
	return is_refusal(rc) ? CR_OK : rc;
}

/* A guardian link line's result, or false when the line is an event's. */
static bool link_line(struct consent_importer *imp, const char *line, size_t len,
		      struct consent_line_result *res, cr_err *rc)
{
	if (!consent_guardian_line_is_link(line, len))
		return false;
	*rc = import_link(imp, line, len, res);
	return *rc != CR_ERR_CONSENT_EVENT_TYPE;
}

cr_err consent_import_line(struct consent_importer *imp, const char *line, size_t len,
			   cr_time_ms now, struct consent_line_result *res)
{
	struct consent_event ev;
	char why[CONSENT_WHY_MAX] = "";
	bool was_link = false;
	cr_err rc;

	if (imp == NULL || line == NULL || res == NULL)
		return CR_ERR_INVALID_ARG;
	rc = consent_import_link_line(imp, line, len, res, &was_link);
	if (was_link)
		return rc;
	rc = consent_event_parse(imp, line, len, now, &ev, why, sizeof(why));
	return consent_import_parsed(imp, &ev, rc, why, res);
}

cr_err consent_import_parsed(struct consent_importer *imp, struct consent_event *ev, cr_err parse_rc,
			     const char *parse_why, struct consent_line_result *res)
{
	cr_err rc = parse_rc;
	result_reset(res);
	if (rc != CR_OK) {
		consent_copy(res->why, sizeof(res->why), parse_why);
		return result_end(res, rc);
	}
	consent_event_source(ev, imp->channel, imp->method);
	return result_end(res, record_scopes(imp, ev, res));
}

cr_err consent_import_link_line(struct consent_importer *imp, const char *line, size_t len,
				struct consent_line_result *res, bool *was_link)
{
	cr_err rc = CR_OK;
	result_reset(res);
	*was_link = link_line(imp, line, len, res, &rc);
	return *was_link ? result_end(res, rc) : CR_OK;
}
