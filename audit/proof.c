/*
 * proof.c: the c2sp.org/tlog-proof@v1 text (format and strict parse) and
 * the offline verifier built on it: everything an officer needs to check
 * one entry with the log's verifier key and nothing else.
 *
 * The leaf travels in the spec's optional "extra" line (see audit.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

static const char header[] = "c2sp.org/tlog-proof@v1";
static const char extra_prefix[] = "extra ";
static const char index_prefix[] = "index ";
#define HASH_B64_LEN 44

/* ------------------------------------------------------------- format */

/* Appends a base64 line "<prefix><b64(bin)>\n" at s + *n (room reserved). */
static cr_err put_b64_line(char *s, size_t cap, size_t *n, const char *prefix,
			   const uint8_t *bin, size_t len)
{
	size_t plen = strlen(prefix);
	size_t need = plen + cr_base64_encoded_len(len) + 1;
	if (*n + need > cap)
		return CR_ERR_INTERNAL;
	memcpy(s + *n, prefix, plen);
	cr_err rc = cr_base64_encode(bin, len, s + *n + plen, cap - *n - plen);
	if (rc != CR_OK)
		return rc;
	*n += strlen(s + *n);
	s[(*n)++] = '\n';
	return CR_OK;
}

cr_err audit_tlog_proof_format(const struct audit_tlog_proof *p, char **out, size_t *out_len)
{
	size_t cap, n = 0;
	char *s = NULL;
	cr_err rc = CR_ERR_AUDIT_TLOG_PROOF_MALFORMED;

	if (p->proof.n > AUDIT_PROOF_MAX || p->checkpoint == NULL || p->checkpoint_len == 0 ||
	    (p->extra != NULL && (p->extra_len == 0 || p->extra_len > AUDIT_LEAF_MAX)))
		return rc;
	cap = sizeof(header) + 1 + 32 + p->proof.n * (HASH_B64_LEN + 2) + 2 + p->checkpoint_len + 1 +
	      (p->extra ? sizeof(extra_prefix) + cr_base64_encoded_len(p->extra_len) + 1 : 0);
	s = cr_xmalloc(cap);
	n = (size_t)snprintf(s, cap, "%s\n", header);
	rc = p->extra ? put_b64_line(s, cap, &n, extra_prefix, p->extra, p->extra_len) : CR_OK;
	if (rc != CR_OK)
		goto out;
	n += (size_t)snprintf(s + n, cap - n, "%s%llu\n", index_prefix, (unsigned long long)p->index);
	for (size_t i = 0; rc == CR_OK && i < p->proof.n; i++)
		rc = put_b64_line(s, cap, &n, "", p->proof.hash[i], AUDIT_HASH_BYTES);
	if (rc != CR_OK)
		goto out;
	s[n++] = '\n';
	memcpy(s + n, p->checkpoint, p->checkpoint_len);
	n += p->checkpoint_len;
	s[n] = '\0';
	*out = s;
	if (out_len)
		*out_len = n;
	s = NULL;
out:
	free(s);
	return rc;
}

/* -------------------------------------------------------------- parse */

static bool has_prefix(const uint8_t *line, size_t len, const char *prefix)
{
	size_t plen = strlen(prefix);
	return len >= plen && memcmp(line, prefix, plen) == 0;
}

static cr_err parse_extra(struct audit_tlog_proof *p, const uint8_t *b64, size_t len)
{
	size_t got = 0;
	if (len == 0 || len > cr_base64_encoded_len(AUDIT_LEAF_MAX))
		return CR_ERR_AUDIT_TLOG_PROOF_MALFORMED;
	p->extra = cr_xmalloc(len / 4 * 3 + 1);
	if (audit_base64_decode((const char *)b64, len, p->extra, len / 4 * 3 + 1, &got) != CR_OK ||
	    got == 0 || got > AUDIT_LEAF_MAX)
		return CR_ERR_AUDIT_TLOG_PROOF_MALFORMED;
	p->extra_len = got;
	return CR_OK;
}

static cr_err parse_hashes(struct cr_cursor *c, struct audit_tlog_proof *p)
{
	const uint8_t *line;
	size_t len, got;
	for (;;) {
		if (cr_cursor_until(c, '\n', &line, &len) != CR_OK)
			return CR_ERR_AUDIT_TLOG_PROOF_MALFORMED;
		if (len == 0)
			return CR_OK; /* the empty line before the checkpoint */
		if (p->proof.n >= AUDIT_PROOF_MAX || len != HASH_B64_LEN ||
		    audit_base64_decode((const char *)line, len, p->proof.hash[p->proof.n],
				     AUDIT_HASH_BYTES, &got) != CR_OK ||
		    got != AUDIT_HASH_BYTES)
			return CR_ERR_AUDIT_TLOG_PROOF_MALFORMED;
		p->proof.n++;
	}
}

static cr_err parse_body(struct cr_cursor *c, struct audit_tlog_proof *p)
{
	const uint8_t *line;
	size_t len;
	size_t hlen = strlen(header), ilen = strlen(index_prefix), elen = strlen(extra_prefix);

	if (cr_cursor_until(c, '\n', &line, &len) != CR_OK || len != hlen ||
	    memcmp(line, header, hlen) != 0)
		return CR_ERR_AUDIT_TLOG_PROOF_MALFORMED;
	if (cr_cursor_until(c, '\n', &line, &len) != CR_OK)
		return CR_ERR_AUDIT_TLOG_PROOF_MALFORMED;
	if (has_prefix(line, len, extra_prefix)) {
		cr_err rc = parse_extra(p, line + elen, len - elen);
		if (rc != CR_OK)
			return rc;
		if (cr_cursor_until(c, '\n', &line, &len) != CR_OK)
			return CR_ERR_AUDIT_TLOG_PROOF_MALFORMED;
	}
	if (!has_prefix(line, len, index_prefix) ||
	    audit_parse_decimal((const char *)line + ilen, len - ilen, INT64_MAX, &p->index) != CR_OK)
		return CR_ERR_AUDIT_TLOG_PROOF_MALFORMED;
	return parse_hashes(c, p);
}

cr_err audit_tlog_proof_parse(const char *text, size_t len, struct audit_tlog_proof **out)
{
	struct audit_tlog_proof *p = NULL;
	struct cr_cursor c;
	size_t rest;
	cr_err rc = CR_ERR_AUDIT_TLOG_PROOF_MALFORMED;

	if (text == NULL || len > AUDIT_TLOG_PROOF_MAX)
		goto out;
	p = cr_xcalloc(1, sizeof(*p));
	cr_cursor_init(&c, (const uint8_t *)text, len);
	rc = parse_body(&c, p);
	if (rc != CR_OK)
		goto out;
	rest = cr_cursor_remaining(&c);
	if (rest == 0 || rest > AUDIT_NOTE_MAX) {
		rc = CR_ERR_AUDIT_TLOG_PROOF_MALFORMED;
		goto out;
	}
	p->checkpoint = cr_xmalloc(rest + 1);
	memcpy(p->checkpoint, c.p + c.pos, rest);
	p->checkpoint[rest] = '\0';
	p->checkpoint_len = rest;
	*out = p;
	p = NULL;
out:
	audit_tlog_proof_free(p);
	return rc;
}

void audit_tlog_proof_free(struct audit_tlog_proof *p)
{
	if (p == NULL)
		return;
	free(p->extra);
	free(p->checkpoint);
	free(p);
}

/* ------------------------------------------------------------- verify */

/* Picks the leaf bytes: given, carried, both (then identical) or neither. */
static cr_err pick_leaf(const struct audit_tlog_proof *p, const uint8_t *leaf, size_t leaf_len,
			const uint8_t **bytes, size_t *len)
{
	if (leaf == NULL && p->extra == NULL)
		return CR_ERR_AUDIT_LEAF_MISSING;
	if (leaf != NULL && p->extra != NULL &&
	    (leaf_len != p->extra_len || memcmp(leaf, p->extra, leaf_len) != 0))
		return CR_ERR_AUDIT_LEAF_MISMATCH;
	*bytes = leaf != NULL ? leaf : p->extra;
	*len = leaf != NULL ? leaf_len : p->extra_len;
	return CR_OK;
}

/* Inclusion of the leaf bytes at the proof's index, then its content. */
static cr_err check_entry(const struct audit_tlog_proof *p, const struct audit_checkpoint *cp,
			  const uint8_t *bytes, size_t len, char *why, size_t cap)
{
	uint8_t h[AUDIT_HASH_BYTES];
	struct audit_leaf *leaf = NULL;
	cr_err rc;

	audit_hash_leaf(bytes, len, h);
	rc = audit_verify_inclusion(p->index, cp->size, h, &p->proof, cp->root);
	if (rc != CR_OK) {
		audit_why(why, cap, "entry %llu is not proven in the checkpoint of size %llu: %s",
			  (unsigned long long)p->index, (unsigned long long)cp->size, cr_strerror(rc));
		return rc;
	}
	rc = audit_leaf_decode(bytes, len, &leaf);
	if (rc != CR_OK) {
		audit_why(why, cap, "entry %llu is in the log but does not decode: %s",
			  (unsigned long long)p->index, cr_strerror(rc));
		return rc;
	}
	if (leaf->sequence != p->index) {
		audit_why(why, cap, "entry %llu carries sequence number %llu",
			  (unsigned long long)p->index, (unsigned long long)leaf->sequence);
		rc = CR_ERR_AUDIT_LEAF_SEQUENCE;
	}
	audit_leaf_free(leaf);
	return rc;
}

cr_err audit_tlog_proof_verify(const char *vkey, size_t vkey_len, const char *proof,
			       size_t proof_len, const uint8_t *leaf, size_t leaf_len,
			       const char *origin, struct audit_proof_check *out,
			       char *why, size_t why_cap)
{
	struct audit_verifier v;
	struct audit_tlog_proof *p = NULL;
	struct audit_checkpoint cp;
	const uint8_t *bytes = NULL;
	size_t len = 0;
	cr_err rc;

	audit_why(why, why_cap, "%s", "");
	rc = audit_verifier_parse(vkey, vkey_len, &v);
	if (rc != CR_OK) {
		audit_why(why, why_cap, "verifier key: %s", cr_strerror(rc));
		goto out;
	}
	rc = audit_tlog_proof_parse(proof, proof_len, &p);
	if (rc != CR_OK) {
		audit_why(why, why_cap, "proof: %s", cr_strerror(rc));
		goto out;
	}
	/* No origin given: the key's name, which names the log it signs for
	 * (c2sp.org/tlog-checkpoint), so a key that also signs another log's
	 * checkpoints cannot vouch for that log's entries here. */
	rc = audit_checkpoint_open(&v, p->checkpoint, p->checkpoint_len, origin ? origin : v.name, &cp);
	if (rc == CR_ERR_AUDIT_ORIGIN) {
		audit_why(why, why_cap, "checkpoint: it is for another log than '%s'", origin ? origin : v.name);
		goto out;
	}
	if (rc != CR_OK) {
		audit_why(why, why_cap, "checkpoint: %s", cr_strerror(rc));
		goto out;
	}
	rc = pick_leaf(p, leaf, leaf_len, &bytes, &len);
	if (rc != CR_OK) {
		audit_why(why, why_cap, "leaf: %s", cr_strerror(rc));
		goto out;
	}
	rc = check_entry(p, &cp, bytes, len, why, why_cap);
	if (rc != CR_OK)
		goto out;
	out->index = p->index;
	out->checkpoint = cp;
out:
	audit_tlog_proof_free(p);
	return rc;
}
