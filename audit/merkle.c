/*
 * merkle.c: the RFC 6962 / RFC 9162 Merkle tree: leaf and node hashing,
 * proof generation over a store of complete-subtree hashes, and the proof
 * verifiers of RFC 9162 §2.1.3.2 and §2.1.4.2, implemented step by step as
 * the RFC writes them.
 *
 * Generation follows the RFC's recursive definitions (PATH, SUBPROOF). Every
 * range the recursion meets is [lo, hi) with lo a multiple of the smallest
 * power of two >= hi - lo, so the left half of a split is always a complete
 * subtree that the store holds, and only ranges ending at the tree's right
 * edge are composed on the fly: a proof costs O(log n) reads.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit_int.h"

/* ------------------------------------------------------------ hashing */

void audit_hash_leaf(const uint8_t *leaf, size_t len, uint8_t out[static AUDIT_HASH_BYTES])
{
	static const uint8_t prefix = 0x00;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	if (len > 0)
		crypto_hash_sha256_update(&st, leaf, len);
	crypto_hash_sha256_final(&st, out);
}

void audit_hash_children(const uint8_t left[static AUDIT_HASH_BYTES],
			 const uint8_t right[static AUDIT_HASH_BYTES],
			 uint8_t out[static AUDIT_HASH_BYTES])
{
	uint8_t buf[1 + 2 * AUDIT_HASH_BYTES];
	buf[0] = 0x01;
	memcpy(buf + 1, left, AUDIT_HASH_BYTES);
	memcpy(buf + 1 + AUDIT_HASH_BYTES, right, AUDIT_HASH_BYTES);
	crypto_hash_sha256(out, buf, sizeof(buf));
}

void audit_hash_empty(uint8_t out[static AUDIT_HASH_BYTES])
{
	crypto_hash_sha256(out, NULL, 0);
}

/* ------------------------------------------------------ bit helpers */

static bool is_pow2(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

/* Number of significant bits of x (0 for 0). */
static unsigned bit_len(uint64_t x)
{
	return x == 0 ? 0 : 64u - (unsigned)__builtin_clzll(x);
}

/* The largest power of two strictly below n (n >= 2): the RFC's k. */
static uint64_t split_point(uint64_t n)
{
	return UINT64_C(1) << (bit_len(n - 1) - 1);
}

uint64_t audit_hash_id(unsigned level, uint64_t index)
{
	uint64_t m = ((index + 1) << level) - 1;
	return 2 * m - (uint64_t)__builtin_popcountll(m) + level;
}

uint64_t audit_hash_count(uint64_t size)
{
	return 2 * size - (uint64_t)__builtin_popcountll(size);
}

/*
 * An inclusion path of `index` in `size` leaves has one hash per level
 * where the paths of index and size-1 differ ("inner" nodes), plus one per
 * set bit of index above them (left siblings along the right border).
 */
size_t audit_inclusion_proof_len(uint64_t index, uint64_t size)
{
	if (index >= size)
		return 0;
	unsigned inner = bit_len(index ^ (size - 1));
	unsigned border = (unsigned)__builtin_popcountll(inner >= 64 ? 0 : index >> inner);
	return inner + border;
}

/*
 * A consistency proof is the inclusion path of the node that holds the
 * last leaf of the old tree at the level of the old tree's trailing zero
 * bits, plus that node itself unless the old size is a power of two (then
 * the verifier already knows it: it is the old root).
 */
size_t audit_consistency_proof_len(uint64_t size1, uint64_t size2)
{
	if (size1 == 0 || size1 >= size2)
		return 0;
	unsigned level = (unsigned)__builtin_ctzll(size1);
	uint64_t fn = (size1 - 1) >> level;
	uint64_t sn = (size2 - 1) >> level;
	return audit_inclusion_proof_len(fn, sn + 1) + (is_pow2(size1) ? 0 : 1);
}

/* ------------------------------------------------------- verification */

/* Constant-time comparison of two hashes (they may be secrets' commitments). */
static bool hash_equal(const uint8_t a[static AUDIT_HASH_BYTES],
		       const uint8_t b[static AUDIT_HASH_BYTES])
{
	return sodium_memcmp(a, b, AUDIT_HASH_BYTES) == 0;
}

cr_err audit_verify_inclusion(uint64_t index, uint64_t size,
			      const uint8_t leaf_hash[static AUDIT_HASH_BYTES],
			      const struct audit_proof *proof,
			      const uint8_t root[static AUDIT_HASH_BYTES])
{
	uint8_t r[AUDIT_HASH_BYTES];
	uint64_t fn, sn;

	/* 1. leaf_index must be below tree_size. */
	if (index >= size)
		return CR_ERR_AUDIT_PROOF_RANGE;
	if (proof->n > AUDIT_PROOF_MAX || proof->n != audit_inclusion_proof_len(index, size))
		return CR_ERR_AUDIT_PROOF_LENGTH;
	/* 2.-3. */
	fn = index;
	sn = size - 1;
	memcpy(r, leaf_hash, sizeof(r));
	/* 4. */
	for (size_t i = 0; i < proof->n; i++) {
		const uint8_t *p = proof->hash[i];
		if (sn == 0)
			return CR_ERR_AUDIT_PROOF_LENGTH;
		if ((fn & 1) || fn == sn) {
			audit_hash_children(p, r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			audit_hash_children(r, p, r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* 5. */
	if (sn != 0)
		return CR_ERR_AUDIT_PROOF_LENGTH;
	return hash_equal(r, root) ? CR_OK : CR_ERR_AUDIT_PROOF_ROOT;
}

cr_err audit_verify_consistency(uint64_t size1, uint64_t size2,
				const struct audit_proof *proof,
				const uint8_t root1[static AUDIT_HASH_BYTES],
				const uint8_t root2[static AUDIT_HASH_BYTES])
{
	uint8_t fr[AUDIT_HASH_BYTES], sr[AUDIT_HASH_BYTES];
	uint64_t fn, sn;
	size_t i = 0;

	if (size1 == 0 || size1 > size2)
		return CR_ERR_AUDIT_PROOF_RANGE;
	if (size1 == size2) {
		if (proof->n != 0)
			return CR_ERR_AUDIT_PROOF_LENGTH;
		return hash_equal(root1, root2) ? CR_OK : CR_ERR_AUDIT_PROOF_ROOT;
	}
	/* 1. An empty path fails; so does any length other than the expected. */
	if (proof->n == 0 || proof->n > AUDIT_PROOF_MAX ||
	    proof->n != audit_consistency_proof_len(size1, size2))
		return CR_ERR_AUDIT_PROOF_LENGTH;
	/* 3. */
	fn = size1 - 1;
	sn = size2 - 1;
	/* 4. */
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	/* 2. and 5.: with size1 a power of two the path starts with root1. */
	if (is_pow2(size1)) {
		memcpy(fr, root1, sizeof(fr));
	} else {
		memcpy(fr, proof->hash[0], sizeof(fr));
		i = 1;
	}
	memcpy(sr, fr, sizeof(sr));
	/* 6. */
	for (; i < proof->n; i++) {
		const uint8_t *c = proof->hash[i];
		if (sn == 0)
			return CR_ERR_AUDIT_PROOF_LENGTH;
		if ((fn & 1) || fn == sn) {
			audit_hash_children(c, fr, fr);
			audit_hash_children(c, sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			audit_hash_children(sr, c, sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* 7. */
	if (sn != 0)
		return CR_ERR_AUDIT_PROOF_LENGTH;
	if (!hash_equal(fr, root1) || !hash_equal(sr, root2))
		return CR_ERR_AUDIT_PROOF_ROOT;
	return CR_OK;
}

/* --------------------------------------------------------- generation */

cr_err merkle_range_hash(merkle_reader rd, void *ctx, uint64_t lo, uint64_t hi,
			 uint8_t out[static AUDIT_HASH_BYTES])
{
	uint8_t left[AUDIT_HASH_BYTES], right[AUDIT_HASH_BYTES];
	uint64_t n = hi - lo, k;
	cr_err rc;

	if (hi <= lo)
		return CR_ERR_INTERNAL;
	if (is_pow2(n) && lo % n == 0) {
		unsigned level = bit_len(n) - 1;
		return rd(ctx, level, lo >> level, out);
	}
	k = split_point(n);
	rc = merkle_range_hash(rd, ctx, lo, lo + k, left);
	if (rc == CR_OK)
		rc = merkle_range_hash(rd, ctx, lo + k, hi, right);
	if (rc == CR_OK)
		audit_hash_children(left, right, out);
	return rc;
}

cr_err merkle_root(merkle_reader rd, void *ctx, uint64_t size,
		   uint8_t out[static AUDIT_HASH_BYTES])
{
	if (size == 0) {
		audit_hash_empty(out);
		return CR_OK;
	}
	return merkle_range_hash(rd, ctx, 0, size, out);
}

static cr_err proof_push(struct audit_proof *p, merkle_reader rd, void *ctx,
			 uint64_t lo, uint64_t hi)
{
	if (p->n >= AUDIT_PROOF_MAX)
		return CR_ERR_INTERNAL;
	cr_err rc = merkle_range_hash(rd, ctx, lo, hi, p->hash[p->n]);
	if (rc == CR_OK)
		p->n++;
	return rc;
}

/* PATH(m, D[lo:hi]): the sibling hashes from leaf m up, appended to p. */
static cr_err path(struct audit_proof *p, merkle_reader rd, void *ctx,
		   uint64_t m, uint64_t lo, uint64_t hi)
{
	cr_err rc;
	if (hi - lo <= 1)
		return CR_OK;
	uint64_t k = split_point(hi - lo);
	if (m < lo + k) {
		rc = path(p, rd, ctx, m, lo, lo + k);
		if (rc == CR_OK)
			rc = proof_push(p, rd, ctx, lo + k, hi);
	} else {
		rc = path(p, rd, ctx, m, lo + k, hi);
		if (rc == CR_OK)
			rc = proof_push(p, rd, ctx, lo, lo + k);
	}
	return rc;
}

cr_err merkle_inclusion(merkle_reader rd, void *ctx, uint64_t index, uint64_t size,
			struct audit_proof *out)
{
	struct audit_proof p = { .n = 0 };
	cr_err rc;
	if (index >= size)
		return CR_ERR_AUDIT_PROOF_RANGE;
	rc = path(&p, rd, ctx, index, 0, size);
	if (rc == CR_OK)
		*out = p;
	return rc;
}

/* SUBPROOF(m, D[lo:hi], b), with m the absolute old size. */
static cr_err subproof(struct audit_proof *p, merkle_reader rd, void *ctx,
		       uint64_t m, uint64_t lo, uint64_t hi, bool b)
{
	cr_err rc;
	if (m == hi)
		return b ? CR_OK : proof_push(p, rd, ctx, lo, hi);
	uint64_t k = split_point(hi - lo);
	if (m - lo <= k) {
		rc = subproof(p, rd, ctx, m, lo, lo + k, b);
		if (rc == CR_OK)
			rc = proof_push(p, rd, ctx, lo + k, hi);
	} else {
		rc = subproof(p, rd, ctx, m, lo + k, hi, false);
		if (rc == CR_OK)
			rc = proof_push(p, rd, ctx, lo, lo + k);
	}
	return rc;
}

cr_err merkle_consistency(merkle_reader rd, void *ctx, uint64_t size1, uint64_t size2,
			  struct audit_proof *out)
{
	struct audit_proof p = { .n = 0 };
	cr_err rc = CR_OK;
	if (size1 == 0 || size1 > size2)
		return CR_ERR_AUDIT_PROOF_RANGE;
	if (size1 < size2)
		rc = subproof(&p, rd, ctx, size1, 0, size2, true);
	if (rc == CR_OK)
		*out = p;
	return rc;
}

cr_err merkle_append(merkle_reader rd, void *rctx, uint64_t size,
		     const uint8_t leaf_hash[static AUDIT_HASH_BYTES],
		     merkle_emitter emit, void *ectx)
{
	uint8_t h[AUDIT_HASH_BYTES], left[AUDIT_HASH_BYTES];
	unsigned level = 0;
	cr_err rc = CR_OK;
	memcpy(h, leaf_hash, sizeof(h));
	/* Each sibling is read before the node beside it is emitted, so a
	 * reader over a frontier the emitter updates stays correct. */
	for (; rc == CR_OK && ((size >> level) & 1); level++) {
		rc = rd(rctx, level, (size >> level) - 1, left);
		if (rc == CR_OK)
			rc = emit(ectx, level, size >> level, h);
		if (rc == CR_OK)
			audit_hash_children(left, h, h);
	}
	return rc == CR_OK ? emit(ectx, level, size >> level, h) : rc;
}

void audit_list_root(const uint8_t *items, size_t n, size_t item_len,
		     uint8_t root[static AUDIT_HASH_BYTES])
{
	uint8_t (*level)[AUDIT_HASH_BYTES];
	if (n == 0) {
		audit_hash_empty(root);
		return;
	}
	level = cr_xcalloc(n, AUDIT_HASH_BYTES);
	for (size_t i = 0; i < n; i++)
		audit_hash_leaf(items + i * item_len, item_len, level[i]);
	/* Pairing left to right and promoting an odd last node unchanged
	 * builds RFC 6962's tree (split at the largest power of two below n). */
	while (n > 1) {
		size_t m = 0;
		for (size_t i = 0; i + 1 < n; i += 2)
			audit_hash_children(level[i], level[i + 1], level[m++]);
		if (n % 2)
			memcpy(level[m++], level[n - 1], AUDIT_HASH_BYTES);
		n = m;
	}
	memcpy(root, level[0], AUDIT_HASH_BYTES);
	free(level);
}
