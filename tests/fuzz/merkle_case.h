/*
 * merkle_case.h: one Merkle proof verification case decoded from bytes, the
 * format shared by the fuzz target fuzz_merkle.c and the cross-check tool
 * tests/tools/merkle_case.c (whose output tests/browser/merkle-xcheck.test.js
 * runs through web/tlog.js), so the C verifier and the page's verifier
 * judge the same cases: the fuzzer's corpus.
 *
 * Byte 0: bit 0 consistency (else inclusion), bit 1 an honest case (else
 * raw). Honest: byte 1 gives n = 1..64 leaves (leaf i hashes its index and
 * byte 5), byte 2 the index (or size1), byte 3 a mutation (0 none, 1 a bit
 * of a proof hash, 2 a bit of a root or the leaf hash, 3 one hash fewer,
 * 4 one hash more, 5 size + 1, 6 index or size1 + 1, 7 two hashes swapped),
 * byte 4 where. The proof is made by the definitions of RFC 9162 (PATH and
 * SUBPROOF), independently of audit/merkle.c. Raw: index (or size1) and
 * size as 8-byte big-endian numbers, a hash count, then the hashes, the
 * leaf hash (or root1) and the root(s), short input read as zeros.
 */
#ifndef CR_FUZZ_MERKLE_CASE_H
#define CR_FUZZ_MERKLE_CASE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "audit/audit.h"

#define MC_HASHES_MAX 72

struct merkle_case {
	bool consistency, honest, mutated, mutated_bits; /* mutated_bits: a hash or root changed */
	uint64_t index, size;        /* inclusion: index, size; consistency: size1, size2 */
	uint8_t leaf[AUDIT_HASH_BYTES];   /* inclusion: the leaf hash; consistency: root1 */
	uint8_t root[AUDIT_HASH_BYTES];   /* the (second) root */
	uint8_t hash[MC_HASHES_MAX][AUDIT_HASH_BYTES];
	size_t n;
};

static uint8_t mc_byte(const uint8_t *d, size_t size, size_t i)
{
	return i < size ? d[i] : 0;
}

static void mc_leaf(uint64_t i, uint8_t salt, uint8_t out[AUDIT_HASH_BYTES])
{
	uint8_t b[9];
	for (int k = 0; k < 8; k++)
		b[k] = (uint8_t)(i >> (56 - 8 * k));
	b[8] = salt;
	audit_hash_leaf(b, sizeof(b), out);
}

/* MTH(D[lo, hi)) of RFC 9162 §2.1.1. */
static void mc_mth(uint64_t lo, uint64_t hi, uint8_t salt, uint8_t out[AUDIT_HASH_BYTES])
{
	uint8_t l[AUDIT_HASH_BYTES], r[AUDIT_HASH_BYTES];
	uint64_t k = 1;
	if (hi - lo == 1) {
		mc_leaf(lo, salt, out);
		return;
	}
	while (k * 2 < hi - lo)
		k *= 2;
	mc_mth(lo, lo + k, salt, l);
	mc_mth(lo + k, hi, salt, r);
	audit_hash_children(l, r, out);
}

/* PATH(m, D[lo, hi)) of §2.1.3.1, appended to c. */
static void mc_path(struct merkle_case *c, uint64_t m, uint64_t lo, uint64_t hi, uint8_t salt)
{
	uint64_t k = 1;
	if (hi - lo <= 1)
		return;
	while (k * 2 < hi - lo)
		k *= 2;
	if (m < k) {
		mc_path(c, m, lo, lo + k, salt);
		mc_mth(lo + k, hi, salt, c->hash[c->n++]);
	} else {
		mc_path(c, m - k, lo + k, hi, salt);
		mc_mth(lo, lo + k, salt, c->hash[c->n++]);
	}
}

/* SUBPROOF(m, D[lo, hi), b) of §2.1.4.1, appended to c. */
static void mc_subproof(struct merkle_case *c, uint64_t m, uint64_t lo, uint64_t hi, bool b, uint8_t salt)
{
	uint64_t k = 1;
	if (m == hi - lo) {
		if (!b)
			mc_mth(lo, hi, salt, c->hash[c->n++]);
		return;
	}
	while (k * 2 < hi - lo)
		k *= 2;
	if (m <= k) {
		mc_subproof(c, m, lo, lo + k, b, salt);
		mc_mth(lo + k, hi, salt, c->hash[c->n++]);
	} else {
		mc_subproof(c, m - k, lo + k, hi, false, salt);
		mc_mth(lo, lo + k, salt, c->hash[c->n++]);
	}
}

static void merkle_case_decode(const uint8_t *d, size_t size, struct merkle_case *c)
{
	memset(c, 0, sizeof(*c));
	c->consistency = mc_byte(d, size, 0) & 1;
	c->honest = (mc_byte(d, size, 0) & 2) != 0;
	if (c->honest) {
		uint64_t n = 1 + mc_byte(d, size, 1) % 64;
		uint8_t salt = mc_byte(d, size, 5), mut = mc_byte(d, size, 3) & 7, at = mc_byte(d, size, 4);
		c->size = n;
		mc_mth(0, n, salt, c->root);
		if (c->consistency) {
			c->index = 1 + mc_byte(d, size, 2) % n;
			mc_mth(0, c->index, salt, c->leaf);
			if (c->index < n)
				mc_subproof(c, c->index, 0, n, true, salt);
		} else {
			c->index = mc_byte(d, size, 2) % n;
			mc_leaf(c->index, salt, c->leaf);
			mc_path(c, c->index, 0, n, salt);
		}
		c->mutated = mut != 0;
		c->mutated_bits = (mut == 1 && c->n > 0) || mut == 2;
		if (mut == 1 && c->n > 0)
			c->hash[at % c->n][(at >> 3) % AUDIT_HASH_BYTES] ^= (uint8_t)(1u << (at & 7));
		else if (mut == 2)
			((at & 1) ? c->root : c->leaf)[(at >> 1) % AUDIT_HASH_BYTES] ^= 0x80;
		else if (mut == 3 && c->n > 0)
			c->n--;
		else if (mut == 4 && c->n < MC_HASHES_MAX)
			mc_leaf(99, salt, c->hash[c->n++]);
		else if (mut == 5)
			c->size++;
		else if (mut == 6)
			c->index++;
		else if (mut == 7 && c->n > 1) {
			uint8_t t[AUDIT_HASH_BYTES];
			size_t i = at % c->n, j = (i + 1) % c->n;
			memcpy(t, c->hash[i], sizeof(t));
			memcpy(c->hash[i], c->hash[j], sizeof(t));
			memcpy(c->hash[j], t, sizeof(t));
		}
		return;
	}
	size_t p = 1;
	for (int k = 0; k < 8; k++)
		c->index = c->index << 8 | mc_byte(d, size, p++);
	for (int k = 0; k < 8; k++)
		c->size = c->size << 8 | mc_byte(d, size, p++);
	c->n = mc_byte(d, size, p++) % (MC_HASHES_MAX + 1);
	for (size_t i = 0; i < c->n; i++)
		for (size_t k = 0; k < AUDIT_HASH_BYTES; k++)
			c->hash[i][k] = mc_byte(d, size, p++);
	for (size_t k = 0; k < AUDIT_HASH_BYTES; k++)
		c->leaf[k] = mc_byte(d, size, p++);
	for (size_t k = 0; k < AUDIT_HASH_BYTES; k++)
		c->root[k] = mc_byte(d, size, p++);
}

/* The C verifier's verdict on c. */
static cr_err merkle_case_verify(const struct merkle_case *c)
{
	struct audit_proof proof;
	memset(&proof, 0, sizeof(proof));
	if (c->n > sizeof(proof.hash) / sizeof(proof.hash[0]))
		return CR_ERR_AUDIT_PROOF_LENGTH;
	proof.n = c->n;
	memcpy(proof.hash, c->hash, c->n * AUDIT_HASH_BYTES);
	return c->consistency ? audit_verify_consistency(c->index, c->size, &proof, c->leaf, c->root)
			      : audit_verify_inclusion(c->index, c->size, c->leaf, &proof, c->root);
}

#endif
