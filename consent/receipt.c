/*
 * receipt.c: signed consent receipts (R27) and their offline verification.
 *
 * A receipt is built from the stored event (never from what a caller
 * claims), signed over a domain-separated canonical form of its payload
 * (consent.h gives the exact bytes), and carries only the pseudonym. The
 * signer is a callback shaped like audit/'s, so consent/ needs neither
 * audit/ nor the key itself; verifying needs only the public key.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "consent/consent_internal.h"

#define RECEIPT_FORMAT "cr-consent-receipt-v1"
#define RECEIPT_DOMAIN "cleanroom consent receipt v1\n"
#define RECEIPT_ALG "ed25519"

/* ----------------------------------------------------------------- signer */

static cr_err keyring_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static 64])
{
	return crypto_keyring_use_sign(ctx, CRYPTO_SIGN_RECEIPTS, msg, len, sig);
}

/* Receipts are signed with the receipt key, never the log's (key separation). */
void consent_signer_from_keyring(const struct crypto_keyring *kr, struct consent_signer *out)
{
	out->name = crypto_keyring_use_key_name(kr, CRYPTO_SIGN_RECEIPTS);
	memcpy(out->public_key, crypto_keyring_use_public_key(kr, CRYPTO_SIGN_RECEIPTS), 32);
	out->sign = keyring_sign;
	out->ctx = (void *)kr;
}

/* DOMAIN || canonical(payload); handed over (free()). */
static uint8_t *signed_bytes(const json_t *payload, size_t *len)
{
	char *canon = consent_json_canonical(payload);
	size_t dl = sizeof(RECEIPT_DOMAIN) - 1, cl;
	uint8_t *msg;

	if (canon == NULL)
		return NULL;
	cl = strlen(canon);
	msg = cr_xmalloc(dl + cl);
	memcpy(msg, RECEIPT_DOMAIN, dl);
	memcpy(msg + dl, canon, cl);
	free(canon);
	*len = dl + cl;
	return msg;
}

/* ----------------------------------------------------------------- create */

/* Column indexes of CONSENT_EVENT_COLUMNS. */
enum { C_ID, C_TYPE, C_PSEUDO, C_KV, C_PURPOSE, C_RECIPIENT, C_NV, C_NHASH, C_SERVED,
       C_ACTOR, C_GUARDIAN, C_CHANNEL, C_METHOD, C_SIGNAL, C_TIME, C_RECEIVED, C_EFFECTIVE,
       C_EXPIRES, C_JUR, C_BIRTH, C_EVIDENCE };

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s != NULL ? json_string((const char *)s) : json_null();
}

static json_t *time_or_null(sqlite3_stmt *st, int col)
{
	json_t *t = NULL;

	if (sqlite3_column_type(st, col) != SQLITE_NULL)
		t = consent_json_time(sqlite3_column_int64(st, col));
	return t != NULL ? t : json_null();
}

static json_t *hex_blob(sqlite3_stmt *st, int col)
{
	const void *b = sqlite3_column_blob(st, col);
	char hex[65];

	if (b == NULL || sqlite3_column_bytes(st, col) != 32)
		return json_null();
	consent_hex32(b, hex);
	return json_string(hex);
}

static json_t *time_value(cr_time_ms t)
{
	json_t *v = consent_json_time(t);

	return v != NULL ? v : json_null();
}

/* The "event" member from an ST_EVENT_GET row. */
static json_t *event_member(sqlite3_stmt *st)
{
	json_t *e = json_object();

	json_object_set_new(e, "id", json_integer(sqlite3_column_int64(st, C_ID)));
	json_object_set_new(e, "type", text_or_null(st, C_TYPE));
	json_object_set_new(e, "time", time_or_null(st, C_TIME));
	json_object_set_new(e, "received", time_or_null(st, C_RECEIVED));
	json_object_set_new(e, "expires", time_or_null(st, C_EXPIRES));
	json_object_set_new(e, "actor", text_or_null(st, C_ACTOR));
	json_object_set_new(e, "channel", text_or_null(st, C_CHANNEL));
	json_object_set_new(e, "method", text_or_null(st, C_METHOD));
	json_object_set_new(e, "signal", text_or_null(st, C_SIGNAL));
	json_object_set_new(e, "jurisdiction", text_or_null(st, C_JUR));
	return e;
}

/* The payload of consent.h's receipt from an ST_EVENT_GET row. */
static json_t *payload_from_row(sqlite3_stmt *st, int64_t brand, const char *brand_name,
				uint64_t audit_index, cr_time_ms issued, unsigned flags)
{
	const unsigned char *purpose = sqlite3_column_text(st, C_PURPOSE);
	json_t *p = json_object(), *b = json_object(), *subj = json_object();
	json_t *notice = json_null();

	if (sqlite3_column_type(st, C_NV) != SQLITE_NULL) {
		notice = json_object();
		json_object_set_new(notice, "version", json_integer(sqlite3_column_int64(st, C_NV)));
		json_object_set_new(notice, "hash", hex_blob(st, C_NHASH));
	}
	json_object_set_new(b, "id", json_integer(brand));
	json_object_set_new(b, "name", json_string(brand_name));
	json_object_set_new(subj, "pseudonym", (flags & CONSENT_RECEIPT_WITHHOLD_SUBJECT) ? json_null()
										  : hex_blob(st, C_PSEUDO));
	json_object_set_new(subj, "key_version", json_integer(sqlite3_column_int64(st, C_KV)));
	json_object_set_new(p, "receipt", json_string(RECEIPT_FORMAT));
	json_object_set_new(p, "brand", b);
	json_object_set_new(p, "event", event_member(st));
	json_object_set_new(p, "subject", subj);
	json_object_set_new(p, "purposes",
			    json_pack("[s]", purpose != NULL ? (const char *)purpose : "*"));
	json_object_set_new(p, "recipient", text_or_null(st, C_RECIPIENT));
	json_object_set_new(p, "notice", notice);
	json_object_set_new(p, "audit_index", json_integer((json_int_t)audit_index));
	json_object_set_new(p, "issued", time_value(issued));
	return p;
}

/* Loads the event row; the statement is left on the row (reset by the caller). */
static cr_err load_event(struct consent_ctx *ctx, int64_t brand, int64_t id, sqlite3_stmt **out)
{
	sqlite3_stmt *st = consent_stmt(ctx, ST_EVENT_GET);
	int s;

	if (st == NULL)
		return CR_ERR_CONSENT;
	sqlite3_bind_int64(st, 1, brand);
	sqlite3_bind_int64(st, 2, id);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		*out = st;
		return CR_OK;
	}
	sqlite3_reset(st);
	return s == SQLITE_DONE ? CR_ERR_CONSENT_EVENT_NOT_FOUND : consent_sqlite_err(ctx->db, s);
}

cr_err consent_event_subject(struct consent_ctx *ctx, int64_t brand, int64_t event_id,
			     struct crypto_pseudonym *subject, enum consent_event_type *type)
{
	sqlite3_stmt *st = NULL;
	enum consent_event_type t;
	cr_err rc;

	if (ctx == NULL || subject == NULL || type == NULL)
		return CR_ERR_INVALID_ARG;
	rc = load_event(ctx, brand, event_id, &st);
	if (rc != CR_OK)
		return rc;
	if (sqlite3_column_bytes(st, C_PSEUDO) != CRYPTO_PSEUDONYM_BYTES ||
	    !consent_event_type_parse((const char *)sqlite3_column_text(st, C_TYPE), &t)) {
		rc = CR_ERR_CONSENT;
	} else {
		memcpy(subject->bytes, sqlite3_column_blob(st, C_PSEUDO), CRYPTO_PSEUDONYM_BYTES);
		subject->key_version = (uint32_t)sqlite3_column_int64(st, C_KV);
		*type = t;
	}
	sqlite3_reset(st);
	return rc;
}

static bool receipt_type(const unsigned char *type)
{
	enum consent_event_type t;

	return type != NULL && consent_event_type_parse((const char *)type, &t) &&
	       (t == CONSENT_EV_GRANT || t == CONSENT_EV_REFUSE || t == CONSENT_EV_WITHDRAW ||
		t == CONSENT_EV_OBJECT);
}

/* {"alg", "key_name", "public_key", "value"} for sig by signer. */
static json_t *signature_member(const struct consent_signer *signer, const uint8_t sig[64])
{
	char pk[64], value[128];
	json_t *o;

	if (cr_base64_encode(signer->public_key, 32, pk, sizeof(pk)) != CR_OK ||
	    cr_base64_encode(sig, 64, value, sizeof(value)) != CR_OK)
		return NULL;
	o = json_object();
	json_object_set_new(o, "alg", json_string(RECEIPT_ALG));
	json_object_set_new(o, "key_name", json_string(signer->name ? signer->name : ""));
	json_object_set_new(o, "public_key", json_string(pk));
	json_object_set_new(o, "value", json_string(value));
	return o;
}

/* Signs payload (borrowed) into the receipt document; *json_out handed over. */
static cr_err sign_payload(json_t *payload, const struct consent_signer *signer, char **json_out)
{
	uint8_t sig[64], *msg;
	json_t *doc = NULL, *sigm;
	size_t len = 0;
	cr_err rc;

	msg = signed_bytes(payload, &len);
	if (msg == NULL)
		return CR_ERR_NOMEM;
	rc = signer->sign(signer->ctx, msg, len, sig);
	free(msg);
	if (rc != CR_OK)
		return rc;
	sigm = signature_member(signer, sig);
	if (sigm == NULL)
		return CR_ERR_INTERNAL;
	doc = json_object();
	json_object_set(doc, "payload", payload);
	json_object_set_new(doc, "signature", sigm);
	*json_out = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(doc);
	return *json_out != NULL ? CR_OK : CR_ERR_NOMEM;
}

cr_err consent_receipt_create(struct consent_ctx *ctx, int64_t brand, int64_t event_id,
			      uint64_t audit_index, cr_time_ms issued, unsigned flags,
			      const struct consent_signer *signer, char **json_out)
{
	char name[CONSENT_BRAND_NAME_MAX + 1];
	sqlite3_stmt *st = NULL;
	json_t *payload = NULL;
	cr_err rc;

	if (ctx == NULL || signer == NULL || signer->sign == NULL || json_out == NULL ||
	    audit_index > (uint64_t)INT64_MAX)
		return CR_ERR_INVALID_ARG;
	rc = consent_brand_name(ctx, brand, name);
	if (rc == CR_OK)
		rc = load_event(ctx, brand, event_id, &st);
	if (rc != CR_OK)
		return rc;
	if (!receipt_type(sqlite3_column_text(st, C_TYPE)))
		rc = CR_ERR_CONSENT_RECEIPT_EVENT;
	else
		payload = payload_from_row(st, brand, name, audit_index, issued, flags);
	sqlite3_reset(st);
	if (rc == CR_OK)
		rc = sign_payload(payload, signer, json_out);
	json_decref(payload);
	return rc;
}

/* ----------------------------------------------------------------- verify */

/* Decodes standard base64 of exactly n bytes. */
static bool b64_exact(json_t *v, uint8_t *out, size_t n)
{
	uint8_t buf[96];
	size_t got = 0;

	if (!json_is_string(v) || n > sizeof(buf) ||
	    cr_base64_decode(json_string_value(v), json_string_length(v), buf, sizeof(buf),
			     &got) != CR_OK ||
	    got != n)
		return false;
	memcpy(out, buf, n);
	return true;
}

/* True if every key of obj is in allowed[] (NULL-terminated). */
static bool keys_only(json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t i;
		for (i = 0; allowed[i] != NULL && strcmp(allowed[i], key) != 0; i++)
			;
		if (allowed[i] == NULL)
			return false;
	}
	return true;
}

/* Checks the document's outer shape and the signature member; writes the
 * signature and the payload (borrowed from doc). */
static cr_err outer_shape(json_t *doc, const uint8_t public_key[32], uint8_t sig[64],
			  json_t **payload)
{
	static const char *const top[] = { "payload", "signature", "audit_proof", NULL };
	static const char *const sigkeys[] = { "alg", "key_name", "public_key", "value", NULL };
	json_t *s = json_object_get(doc, "signature"), *alg;
	uint8_t pk[32];

	*payload = json_object_get(doc, "payload");
	if (!json_is_object(doc) || !keys_only(doc, top) || !json_is_object(*payload) ||
	    !json_is_object(s) || !keys_only(s, sigkeys) || consent_json_has_real(*payload))
		return CR_ERR_CONSENT_RECEIPT_MALFORMED;
	alg = json_object_get(s, "alg");
	if (!json_is_string(alg) || strcmp(json_string_value(alg), RECEIPT_ALG) != 0 ||
	    !json_is_string(json_object_get(s, "key_name")) ||
	    !b64_exact(json_object_get(s, "public_key"), pk, 32) ||
	    !b64_exact(json_object_get(s, "value"), sig, 64))
		return CR_ERR_CONSENT_RECEIPT_MALFORMED;
	if (sodium_memcmp(pk, public_key, 32) != 0)
		return CR_ERR_CONSENT_RECEIPT_KEY;
	return CR_OK;
}

static bool get_time(json_t *v, cr_time_ms *out)
{
	if (json_is_null(v)) {
		*out = CONSENT_TIME_NONE;
		return true;
	}
	return json_is_string(v) &&
	       cr_time_parse(json_string_value(v), json_string_length(v), out) == CR_OK;
}

static bool get_code(json_t *v, char *dst, size_t cap, bool nullable)
{
	if (nullable && json_is_null(v)) {
		dst[0] = '\0';
		return true;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap)
		return false;
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static bool get_int(json_t *v, json_int_t lo, json_int_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo)
		return false;
	*out = json_integer_value(v);
	return true;
}

/* The notice member: null or {"version", "hash"}. */
static bool get_notice(json_t *n, uint32_t *version)
{
	json_int_t v = 0;
	uint8_t h[32];
	json_t *hash = json_object_get(n, "hash");

	*version = 0;
	if (json_is_null(n))
		return true;
	if (!json_is_object(n) || !get_int(json_object_get(n, "version"), 1, &v) || v > INT32_MAX ||
	    !json_is_string(hash) ||
	    cr_hex_decode_exact(json_string_value(hash), json_string_length(hash), h, 32) != CR_OK)
		return false;
	*version = (uint32_t)v;
	return true;
}

/* Reads a verified payload into *info; false if it is not the documented shape. */
static bool payload_info(json_t *p, struct consent_receipt_info *info)
{
	json_t *ev = json_object_get(p, "event"), *subj = json_object_get(p, "subject");
	json_t *purposes = json_object_get(p, "purposes"), *fmt = json_object_get(p, "receipt");
	json_t *pseudo = json_object_get(subj, "pseudonym"), *type = json_object_get(ev, "type");
	json_int_t brand = 0, id = 0, kv = 0, idx = 0;

	memset(info, 0, sizeof(*info));
	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), RECEIPT_FORMAT) != 0 ||
	    !json_is_object(ev) || !json_is_object(subj) || !json_is_array(purposes) ||
	    json_array_size(purposes) != 1 || !json_is_string(type) ||
	    !consent_event_type_parse(json_string_value(type), &info->type) ||
	    !get_int(json_object_get(json_object_get(p, "brand"), "id"), 1, &brand) ||
	    !get_int(json_object_get(ev, "id"), 1, &id) ||
	    !get_int(json_object_get(subj, "key_version"), 1, &kv) || kv > UINT32_MAX ||
	    !get_int(json_object_get(p, "audit_index"), 0, &idx) ||
	    (!json_is_null(pseudo) &&
	     (!json_is_string(pseudo) ||
	      cr_hex_decode_exact(json_string_value(pseudo), json_string_length(pseudo),
				  info->pseudonym, sizeof(info->pseudonym)) != CR_OK)) ||
	    !get_code(json_array_get(purposes, 0), info->purpose, sizeof(info->purpose), false) ||
	    !get_code(json_object_get(p, "recipient"), info->recipient, sizeof(info->recipient),
		      true) ||
	    !get_notice(json_object_get(p, "notice"), &info->notice_version) ||
	    !get_time(json_object_get(ev, "time"), &info->time) ||
	    !get_time(json_object_get(ev, "received"), &info->received) ||
	    !get_time(json_object_get(p, "issued"), &info->issued))
		return false;
	info->subject_withheld = json_is_null(pseudo);
	info->brand = brand;
	info->event_id = id;
	info->key_version = (uint32_t)kv;
	info->audit_index = (uint64_t)idx;
	return true;
}

cr_err consent_receipt_verify(const char *json, size_t len, const uint8_t public_key[static 32],
			      struct consent_receipt_info *info)
{
	struct consent_receipt_info got;
	uint8_t sig[64], *msg = NULL;
	json_t *doc, *payload = NULL;
	json_error_t err;
	size_t mlen = 0;
	cr_err rc;

	if (json == NULL)
		return CR_ERR_INVALID_ARG;
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (doc == NULL)
		return CR_ERR_CONSENT_RECEIPT_MALFORMED;
	rc = outer_shape(doc, public_key, sig, &payload);
	if (rc == CR_OK) {
		msg = signed_bytes(payload, &mlen);
		rc = msg == NULL ? CR_ERR_NOMEM : CR_OK;
	}
	if (rc == CR_OK && crypto_sign_verify_detached(sig, msg, mlen, public_key) != 0)
		rc = CR_ERR_CONSENT_RECEIPT_SIGNATURE;
	if (rc == CR_OK && !payload_info(payload, &got))
		rc = CR_ERR_CONSENT_RECEIPT_MALFORMED;
	if (rc == CR_OK && info != NULL)
		*info = got;
	free(msg);
	json_decref(doc);
	return rc;
}
