/*
 * cosig.c: witness cosignatures on checkpoints (c2sp.org/tlog-cosignature
 * v1, the Ed25519 type), written from the spec text.
 *
 * A cosignature is one more signature line on the checkpoint note. Its blob
 * is key id (4 bytes) || timestamp (u64, big endian) || Ed25519 signature
 * (64 bytes) = 76 bytes, and the signature covers
 *
 *     "cosignature/v1\n" "time <timestamp>\n" <the note's text>
 *
 * The key id is that of a signed-note key with algorithm byte 0x04, so a
 * cosignature can never be mistaken for the log's own signature (0x01) and
 * the plain note verifier ignores it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit_int.h"

#define BLOB_LEN (4 + 8 + crypto_sign_BYTES)
static const char dash[] = "\xe2\x80\x94 "; /* "— " */
#define DASH_LEN 4
#define HEADER_MAX 64 /* "cosignature/v1\ntime " + 19 digits + "\n" */

uint32_t audit_cosig_key_id(const char *name, size_t name_len, const uint8_t public_key[static 32])
{
	return audit_key_id_alg(name, name_len, AUDIT_COSIG_ALG, public_key);
}

cr_err audit_cosig_verifier_parse(const char *text, size_t len, struct audit_verifier *out)
{
	struct audit_verifier v = { .key_id = 0 };
	const char *p1, *p2;
	size_t name_len, key_len = 0;
	uint8_t id[4], key[33];

	if (text == NULL || len > 1024)
		return CR_ERR_AUDIT_KEY_MALFORMED;
	p1 = memchr(text, '+', len);
	if (p1 == NULL)
		return CR_ERR_AUDIT_KEY_MALFORMED;
	p2 = memchr(p1 + 1, '+', len - (size_t)(p1 + 1 - text));
	if (p2 == NULL)
		return CR_ERR_AUDIT_KEY_MALFORMED;
	name_len = (size_t)(p1 - text);
	if (audit_key_name_check(text, name_len) != CR_OK)
		return CR_ERR_AUDIT_KEY_NAME;
	if (cr_hex_decode_exact(p1 + 1, (size_t)(p2 - p1 - 1), id, sizeof(id)) != CR_OK)
		return CR_ERR_AUDIT_KEY_MALFORMED;
	if (audit_base64_decode(p2 + 1, len - (size_t)(p2 + 1 - text), key, sizeof(key),
				&key_len) != CR_OK ||
	    key_len != sizeof(key) || key[0] != AUDIT_COSIG_ALG)
		return CR_ERR_AUDIT_KEY_MALFORMED;
	memcpy(v.name, text, name_len);
	memcpy(v.public_key, key + 1, 32);
	v.key_id = audit_cosig_key_id(v.name, name_len, v.public_key);
	if (v.key_id != ((uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3]))
		return CR_ERR_AUDIT_KEY_MALFORMED;
	*out = v;
	return CR_OK;
}

cr_err audit_cosig_verifier_from_signer(const struct audit_signer *s, struct audit_verifier *out)
{
	cr_err rc = audit_verifier_from_signer(s, out);
	if (rc == CR_OK)
		out->key_id = audit_cosig_key_id(out->name, strlen(out->name), out->public_key);
	return rc;
}

cr_err audit_cosig_verifier_format(const struct audit_verifier *v, char **out)
{
	uint8_t key[33];
	char b64[64];
	size_t name_len = strnlen(v->name, sizeof(v->name));
	size_t cap = name_len + 1 + 8 + 1 + sizeof(b64);
	cr_err rc = audit_key_name_check(v->name, name_len);

	if (rc != CR_OK)
		return rc;
	key[0] = AUDIT_COSIG_ALG;
	memcpy(key + 1, v->public_key, 32);
	rc = cr_base64_encode(key, sizeof(key), b64, sizeof(b64));
	if (rc != CR_OK)
		return rc;
	*out = cr_xmalloc(cap);
	snprintf(*out, cap, "%s+%08" PRIx32 "+%s", v->name, v->key_id, b64);
	return CR_OK;
}

/* "cosignature/v1\ntime <t>\n" || text, in a new buffer (handed over). */
static uint8_t *signed_message(uint64_t timestamp, const char *text, size_t len, size_t *out_len)
{
	char header[HEADER_MAX];
	int h = snprintf(header, sizeof(header), "cosignature/v1\ntime %" PRIu64 "\n", timestamp);
	uint8_t *m = cr_xmalloc((size_t)h + len);
	memcpy(m, header, (size_t)h);
	memcpy(m + h, text, len);
	*out_len = (size_t)h + len;
	return m;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

cr_err audit_cosig_sign(const struct audit_signer *s, uint64_t timestamp,
			const char *text, size_t len, char **line_out)
{
	struct audit_verifier v;
	uint8_t blob[BLOB_LEN];
	char b64[128];
	uint8_t *msg;
	size_t msg_len, cap;
	cr_err rc;

	if (text == NULL || len == 0 || len > AUDIT_NOTE_MAX / 2 || text[len - 1] != '\n' ||
	    !audit_text_ok((const uint8_t *)text, len, true))
		return CR_ERR_AUDIT_NOTE_MALFORMED;
	if (timestamp > AUDIT_COSIG_TIME_MAX)
		return CR_ERR_AUDIT_SIGN;
	rc = audit_cosig_verifier_from_signer(s, &v);
	if (rc != CR_OK)
		return rc;
	put_be32(blob, v.key_id);
	put_be64(blob + 4, timestamp);
	msg = signed_message(timestamp, text, len, &msg_len);
	if (s->sign == NULL || s->sign(s->ctx, msg, msg_len, blob + 12) != CR_OK ||
	    crypto_sign_verify_detached(blob + 12, msg, msg_len, s->public_key) != 0)
		rc = CR_ERR_AUDIT_SIGN;
	free(msg);
	if (rc == CR_OK)
		rc = cr_base64_encode(blob, sizeof(blob), b64, sizeof(b64));
	if (rc != CR_OK)
		return rc;
	cap = DASH_LEN + strlen(v.name) + 1 + strlen(b64) + 2;
	*line_out = cr_xmalloc(cap);
	snprintf(*line_out, cap, "%s%s %s\n", dash, v.name, b64);
	return CR_OK;
}

/* Does `line` (without its newline) name witness `w`? Fills blob if so. */
static bool line_matches(const struct audit_verifier *w, const char *line, size_t len,
			 uint8_t blob[static BLOB_LEN + 1], size_t *blob_len)
{
	size_t name_len = strlen(w->name);
	const char *b64;
	if (len < DASH_LEN + name_len + 1 || memcmp(line, dash, DASH_LEN) != 0 ||
	    memcmp(line + DASH_LEN, w->name, name_len) != 0 || line[DASH_LEN + name_len] != ' ')
		return false;
	b64 = line + DASH_LEN + name_len + 1;
	if (audit_base64_decode(b64, len - (size_t)(b64 - line), blob, BLOB_LEN + 1, blob_len) != CR_OK ||
	    *blob_len < 4)
		return false;
	return ((uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 | blob[3]) ==
	       w->key_id;
}

cr_err audit_cosig_verify(const struct audit_verifier *w, const char *note, size_t len,
			  uint64_t *timestamp)
{
	size_t tlen = 0, pos;
	bool seen = false;

	if (audit_note_text(note, len, &tlen) != CR_OK)
		return CR_ERR_AUDIT_NOTE_MALFORMED;
	for (pos = tlen + 1; pos < len;) {
		const char *line = note + pos, *nl = memchr(line, '\n', len - pos);
		size_t line_len = nl ? (size_t)(nl - line) : len - pos;
		uint8_t blob[BLOB_LEN + 1];
		size_t blob_len = 0;
		pos += line_len + 1;
		if (!line_matches(w, line, line_len, blob, &blob_len))
			continue;
		seen = true;
		uint64_t t = blob_len == BLOB_LEN ? get_be64(blob + 4) : 0;
		uint8_t *msg;
		size_t msg_len;
		int bad;
		if (blob_len != BLOB_LEN || t > AUDIT_COSIG_TIME_MAX)
			return CR_ERR_AUDIT_COSIG_BAD;
		msg = signed_message(t, note, tlen, &msg_len);
		bad = crypto_sign_verify_detached(blob + 12, msg, msg_len, w->public_key);
		free(msg);
		if (bad != 0)
			return CR_ERR_AUDIT_COSIG_BAD;
		if (timestamp)
			*timestamp = t;
		return CR_OK;
	}
	return seen ? CR_ERR_AUDIT_COSIG_BAD : CR_ERR_AUDIT_COSIG_MISSING;
}
