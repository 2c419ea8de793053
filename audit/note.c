/*
 * note.c: C2SP signed notes (c2sp.org/signed-note) with Ed25519, the
 * verifier key text "<name>+<hex key id>+<base64(0x01 || key)>", key ids,
 * and the signer interface with its seed-backed implementation.
 *
 * A note is its text (ending in '\n'), an empty line, then one line per
 * signature: U+2014 EM DASH, space, key name, space, base64(key id || sig).
 * Verification follows the spec: signatures from unknown keys are ignored, a
 * known key's bad signature rejects the whole note, and at least one known
 * key must have signed. Everything is read through the bounds-checked cursor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit_int.h"

#define ALG_ED25519 0x01
static const char em_dash_space[] = "\xe2\x80\x94 "; /* "— " */
#define EM_DASH_SPACE_LEN 4
#define SIG_BLOB_MAX 8192 /* key id + the largest signature we read */

/* -------------------------------------------------------------- names */

/* Reads one UTF-8 code point of a string already known to be valid. */
static uint32_t utf8_next(const uint8_t *s, size_t len, size_t *i)
{
	uint8_t b = s[*i];
	size_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : 4;
	uint32_t cp = n == 1 ? b : n == 2 ? (b & 0x1Fu) : n == 3 ? (b & 0x0Fu) : (b & 0x07u);
	for (size_t k = 1; k < n && *i + k < len; k++)
		cp = cp << 6 | (s[*i + k] & 0x3Fu);
	*i += n;
	return cp;
}

/* Unicode White_Space, as Go's unicode.IsSpace sees it. */
static bool is_unicode_space(uint32_t cp)
{
	switch (cp) {
	case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20:
	case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202F: case 0x205F: case 0x3000:
		return true;
	default:
		return cp >= 0x2000 && cp <= 0x200A;
	}
}

cr_err audit_key_name_check(const char *name, size_t len)
{
	const uint8_t *s = (const uint8_t *)name;
	if (name == NULL || len == 0 || len > AUDIT_KEY_NAME_MAX)
		return CR_ERR_AUDIT_KEY_NAME;
	if (!audit_text_ok(s, len, false) || memchr(s, '+', len) != NULL)
		return CR_ERR_AUDIT_KEY_NAME;
	for (size_t i = 0; i < len;)
		if (is_unicode_space(utf8_next(s, len, &i)))
			return CR_ERR_AUDIT_KEY_NAME;
	return CR_OK;
}

uint32_t audit_key_id(const char *name, size_t name_len, const uint8_t public_key[static 32])
{
	return audit_key_id_alg(name, name_len, ALG_ED25519, public_key);
}

uint32_t audit_key_id_alg(const char *name, size_t name_len, uint8_t alg, const uint8_t public_key[static 32])
{
	const uint8_t sep[2] = { '\n', alg };
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, name_len);
	crypto_hash_sha256_update(&st, sep, sizeof(sep));
	crypto_hash_sha256_update(&st, public_key, 32);
	crypto_hash_sha256_final(&st, h);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

/* ------------------------------------------------------------- signer */

/* A signer over a secret key it owns; `pub` comes first so the pointer
 * handed out is the pointer freed. */
struct seed_signer {
	struct audit_signer pub;
	char name[AUDIT_KEY_NAME_MAX + 1];
	unsigned char *sk; /* sodium_malloc'd, crypto_sign_SECRETKEYBYTES */
};

static cr_err seed_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static 64])
{
	const struct seed_signer *s = ctx;
	return crypto_sign_detached(sig, NULL, msg, len, s->sk) == 0 ? CR_OK : CR_ERR_AUDIT_SIGN;
}

cr_err audit_signer_from_seed(const char *name, const uint8_t seed[static 32],
			      struct audit_signer **out)
{
	struct seed_signer *s = NULL;
	size_t len = name ? strlen(name) : 0;
	cr_err rc = audit_key_name_check(name, len);

	if (rc != CR_OK)
		goto out;
	if (sodium_init() < 0) {
		rc = CR_ERR_AUDIT_SIGN;
		goto out;
	}
	s = cr_xcalloc(1, sizeof(*s));
	s->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (s->sk == NULL)
		cr_die("out of secure memory");
	memcpy(s->name, name, len);
	if (crypto_sign_seed_keypair(s->pub.public_key, s->sk, seed) != 0) {
		rc = CR_ERR_AUDIT_SIGN;
		goto out;
	}
	s->pub.name = s->name;
	s->pub.sign = seed_sign;
	s->pub.ctx = s;
	*out = &s->pub;
	s = NULL;
out:
	if (s != NULL) {
		sodium_free(s->sk);
		free(s);
	}
	return rc;
}

void audit_signer_free(struct audit_signer *pub)
{
	if (pub == NULL)
		return;
	struct seed_signer *s = (struct seed_signer *)pub;
	if (pub->ctx != s || pub->sign != seed_sign)
		cr_die("audit_signer_free: signer was not made by audit_signer_from_seed");
	sodium_free(s->sk); /* wipes before freeing */
	free(s);
}

/* ----------------------------------------------------------- verifiers */

cr_err audit_verifier_from_signer(const struct audit_signer *s, struct audit_verifier *out)
{
	size_t len = s && s->name ? strlen(s->name) : 0;
	if (audit_key_name_check(s ? s->name : NULL, len) != CR_OK)
		return CR_ERR_AUDIT_KEY_NAME;
	memset(out, 0, sizeof(*out));
	memcpy(out->name, s->name, len);
	memcpy(out->public_key, s->public_key, 32);
	out->key_id = audit_key_id(out->name, len, out->public_key);
	return CR_OK;
}

cr_err audit_verifier_parse(const char *text, size_t len, struct audit_verifier *out)
{
	struct audit_verifier v = { .key_id = 0 };
	struct cr_cursor c;
	const uint8_t *name, *hex;
	size_t name_len, hex_len;
	uint8_t id[4], key[33];
	size_t key_len = 0;
	cr_err rc = CR_ERR_AUDIT_KEY_MALFORMED;

	if (text == NULL || len > 1024)
		goto out;
	cr_cursor_init(&c, (const uint8_t *)text, len);
	if (cr_cursor_until(&c, '+', &name, &name_len) != CR_OK ||
	    cr_cursor_until(&c, '+', &hex, &hex_len) != CR_OK)
		goto out;
	if (audit_key_name_check((const char *)name, name_len) != CR_OK) {
		rc = CR_ERR_AUDIT_KEY_NAME;
		goto out;
	}
	if (cr_hex_decode_exact((const char *)hex, hex_len, id, sizeof(id)) != CR_OK)
		goto out;
	if (audit_base64_decode((const char *)c.p + c.pos, cr_cursor_remaining(&c), key,
			     sizeof(key), &key_len) != CR_OK ||
	    key_len != sizeof(key) || key[0] != ALG_ED25519)
		goto out;
	memcpy(v.name, name, name_len);
	memcpy(v.public_key, key + 1, 32);
	v.key_id = audit_key_id(v.name, name_len, v.public_key);
	if (v.key_id != ((uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3]))
		goto out;
	*out = v;
	rc = CR_OK;
out:
	return rc;
}

cr_err audit_verifier_format(const struct audit_verifier *v, char **out)
{
	uint8_t key[33];
	char b64[64];
	size_t name_len = strnlen(v->name, sizeof(v->name));
	size_t cap = name_len + 1 + 8 + 1 + sizeof(b64);
	char *s;
	cr_err rc = audit_key_name_check(v->name, name_len);

	if (rc != CR_OK)
		return rc;
	key[0] = ALG_ED25519;
	memcpy(key + 1, v->public_key, 32);
	rc = cr_base64_encode(key, sizeof(key), b64, sizeof(b64));
	if (rc != CR_OK)
		return rc;
	s = cr_xmalloc(cap);
	snprintf(s, cap, "%s+%08x+%s", v->name, (unsigned)v->key_id, b64);
	*out = s;
	return CR_OK;
}

/* -------------------------------------------------------------- notes */

/* The note text rules: non-empty, ends in '\n', UTF-8, no other control. */
static bool note_text_ok(const char *text, size_t len)
{
	return len > 0 && text[len - 1] == '\n' &&
	       audit_text_ok((const uint8_t *)text, len, true);
}

cr_err audit_note_sign(const struct audit_signer *s, const char *text, size_t len,
		       char **note_out, size_t *note_len)
{
	struct audit_verifier v;
	uint8_t blob[4 + crypto_sign_BYTES];
	char b64[128];
	char *note = NULL;
	size_t name_len, cap, n;
	cr_err rc;

	if (text == NULL || len > AUDIT_NOTE_MAX / 2 || !note_text_ok(text, len))
		return CR_ERR_AUDIT_NOTE_MALFORMED;
	rc = audit_verifier_from_signer(s, &v);
	if (rc != CR_OK)
		return rc;
	blob[0] = (uint8_t)(v.key_id >> 24);
	blob[1] = (uint8_t)(v.key_id >> 16);
	blob[2] = (uint8_t)(v.key_id >> 8);
	blob[3] = (uint8_t)v.key_id;
	if (s->sign == NULL || s->sign(s->ctx, (const uint8_t *)text, len, blob + 4) != CR_OK)
		return CR_ERR_AUDIT_SIGN;
	/* A callback wired to the wrong key would publish unverifiable notes. */
	if (crypto_sign_verify_detached(blob + 4, (const uint8_t *)text, len, s->public_key) != 0)
		return CR_ERR_AUDIT_SIGN;
	rc = cr_base64_encode(blob, sizeof(blob), b64, sizeof(b64));
	if (rc != CR_OK)
		return rc;
	name_len = strlen(v.name);
	cap = len + 1 + EM_DASH_SPACE_LEN + name_len + 1 + strlen(b64) + 2;
	note = cr_xmalloc(cap);
	memcpy(note, text, len);
	n = len;
	n += (size_t)snprintf(note + n, cap - n, "\n%s%s %s\n", em_dash_space, v.name, b64);
	*note_out = note;
	if (note_len)
		*note_len = n;
	return CR_OK;
}

/* Where the text ends: just after the '\n' of the last "\n\n". */
static bool note_split(const char *note, size_t len, size_t *text_len)
{
	for (size_t i = len; i >= 2; i--) {
		if (note[i - 2] == '\n' && note[i - 1] == '\n') {
			*text_len = i - 1;
			return true;
		}
	}
	return false;
}

cr_err audit_note_text(const char *note, size_t len, size_t *text_len)
{
	if (note == NULL || len > AUDIT_NOTE_MAX || !note_split(note, len, text_len))
		return CR_ERR_AUDIT_NOTE_MALFORMED;
	return CR_OK;
}

/* One parsed signature line. */
struct sig_line {
	const char *name;
	size_t name_len;
	uint32_t key_id;
	uint8_t sig[SIG_BLOB_MAX];
	size_t sig_len;
};

/* Parses "— <name> <base64>" (without its newline). */
static cr_err sig_line_parse(const uint8_t *line, size_t len, struct sig_line *out)
{
	struct cr_cursor c;
	const uint8_t *dash, *name;
	uint8_t blob[SIG_BLOB_MAX + 4];
	size_t name_len, blob_len = 0;

	cr_cursor_init(&c, line, len);
	if (cr_cursor_view(&c, EM_DASH_SPACE_LEN, &dash) != CR_OK ||
	    memcmp(dash, em_dash_space, EM_DASH_SPACE_LEN) != 0)
		return CR_ERR_AUDIT_NOTE_MALFORMED;
	if (cr_cursor_until(&c, ' ', &name, &name_len) != CR_OK ||
	    audit_key_name_check((const char *)name, name_len) != CR_OK)
		return CR_ERR_AUDIT_NOTE_MALFORMED;
	if (audit_base64_decode((const char *)c.p + c.pos, cr_cursor_remaining(&c), blob,
			     sizeof(blob), &blob_len) != CR_OK || blob_len < 5)
		return CR_ERR_AUDIT_NOTE_MALFORMED;
	out->name = (const char *)name;
	out->name_len = name_len;
	out->key_id = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 |
		      (uint32_t)blob[2] << 8 | blob[3];
	out->sig_len = blob_len - 4;
	memcpy(out->sig, blob + 4, out->sig_len);
	return CR_OK;
}

static const struct audit_verifier *key_find(const struct audit_verifier *keys, size_t n,
					     const struct sig_line *sl)
{
	for (size_t i = 0; i < n; i++)
		if (keys[i].key_id == sl->key_id && strlen(keys[i].name) == sl->name_len &&
		    memcmp(keys[i].name, sl->name, sl->name_len) == 0)
			return &keys[i];
	return NULL;
}

cr_err audit_note_verify(const struct audit_verifier *keys, size_t n_keys,
			 const char *note, size_t len, size_t *text_len)
{
	struct sig_line *sl = NULL;
	struct cr_cursor c;
	size_t tlen = 0, lines = 0, verified = 0;
	cr_err rc = CR_ERR_AUDIT_NOTE_MALFORMED;

	if (note == NULL || len > AUDIT_NOTE_MAX ||
	    !audit_text_ok((const uint8_t *)note, len, true) || !note_split(note, len, &tlen))
		goto out;
	sl = cr_xmalloc(sizeof(*sl));
	cr_cursor_init(&c, (const uint8_t *)note + tlen + 1, len - tlen - 1);
	if (cr_cursor_remaining(&c) == 0 || note[len - 1] != '\n')
		goto out;
	while (cr_cursor_remaining(&c) > 0) {
		const uint8_t *line;
		size_t line_len;
		const struct audit_verifier *k;
		if (++lines > AUDIT_NOTE_SIGS_MAX ||
		    cr_cursor_until(&c, '\n', &line, &line_len) != CR_OK ||
		    sig_line_parse(line, line_len, sl) != CR_OK) {
			rc = CR_ERR_AUDIT_NOTE_MALFORMED;
			goto out;
		}
		k = key_find(keys, n_keys, sl);
		if (k == NULL)
			continue; /* unknown key: ignored, as the spec requires */
		if (sl->sig_len != crypto_sign_BYTES ||
		    crypto_sign_verify_detached(sl->sig, (const uint8_t *)note, tlen,
						k->public_key) != 0) {
			rc = CR_ERR_AUDIT_NOTE_BAD_SIG;
			goto out;
		}
		verified++;
	}
	if (verified == 0) {
		rc = CR_ERR_AUDIT_NOTE_UNVERIFIED;
		goto out;
	}
	*text_len = tlen;
	rc = CR_OK;
out:
	free(sl);
	return rc;
}
