/*
 * x25519_ifma.c: the second suite's checked multiplication (suite
 * x25519-ell2-sha512, docs/spec/psi-protocol.md section 2b, issue 22) on
 * eight lanes at once with AVX-512 IFMA. Its output bytes and errors equal
 * crypto_x25519_mul's (crypto/x25519.c) for every input;
 * tests/unit/crypto/test_x25519_ifma.c compares the two.
 *
 * The field operations (fe8, radix 2^52, limb bounds, the product and the
 * canonical form) are in crypto/x25519_fe8.h, shared with the eight-lane
 * hash to the group (crypto/x25519_h2c_ifma.c); the functions here carry
 * the same target attribute, and only crypto/x25519_batch.c calls them,
 * after CPUID said the CPU has IFMA.
 *
 * Constant time: the ladder runs all 256 bits for every lane, the per-lane
 * swaps are mask blends, the bits of the scalars are read by a public
 * index (the bit position), and the inversion and the square test run a
 * fixed chain. Only public facts branch: the received bytes (bit 255, the
 * value against p), whether an element is on the twist, and whether a
 * result is the identity (the lane is then refused).
 */
#include <immintrin.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto_internal.h"
#include "crypto/x25519_fe8.h"

/* ================================================ the ladder's field extras */

/* h = g + f * 121665 (the ladder's a24): limb 4's high half (f4 < 2^48, so
 * below 2^13) has weight 2^260 and comes round times 608. */
IFMA_INLINE void fe8_mul_a24_add(fe8 *h, const fe8 *f, const fe8 *g)
{
	const __m512i a24 = _mm512_set1_epi64(121665);
	__m512i c[5], top;

	#pragma GCC unroll 10
	for (int k = 0; k < 5; k++)
		c[k] = _mm512_madd52lo_epu64(g->v[k], f->v[k], a24);
	#pragma GCC unroll 10
	for (int k = 0; k < 4; k++)
		c[k + 1] = _mm512_madd52hi_epu64(c[k + 1], f->v[k], a24);
	top = _mm512_madd52hi_epu64(_mm512_setzero_si512(), f->v[4], a24);
	c[0] = _mm512_madd52lo_epu64(c[0], top, _mm512_set1_epi64(608));
	#pragma GCC unroll 10
	for (int k = 0; k < 5; k++)
		h->v[k] = c[k];
	fe8_carry(h);
}


/* Lanes where z is not a square mod p: Euler's criterion, z^((p - 1) / 2)
 * = z^(2^254 - 10) is p - 1 exactly for a non-square. */
static IFMA __mmask8 fe8_non_square(const fe8 *z)
{
	static const uint64_t minus_one[5] = {M52 - 19, M52, M52, M52, M47};
	fe8 z250, z11, z2, t;
	__mmask8 eq = 0xff;

	fe8_pow_2_250_1(&z250, &z11, &z2, z);
	fe8_sqn(&z250, &z250, 4);      /* 2^254 - 16 */
	fe8_sq(&t, &z2);               /* 4 */
	fe8_mul(&t, &t, &z2);          /* 6 */
	fe8_mul(&z250, &z250, &t);     /* 2^254 - 10 */
	fe8_canon(&z250);
	#pragma GCC unroll 10
	for (int k = 0; k < 5; k++)
		eq &= _mm512_cmpeq_epi64_mask(z250.v[k],
					      _mm512_set1_epi64((long long)minus_one[k]));
	sodium_memzero(&z250, sizeof(z250));
	sodium_memzero(&z11, sizeof(z11));
	sodium_memzero(&z2, sizeof(z2));
	sodium_memzero(&t, sizeof(t));
	return eq;
}

/* ============================================================ the ladder */

/* One step of RFC 7748's ladder on all lanes (x1 the input point). */
IFMA_INLINE void ladder_step(fe8 *x2, fe8 *z2, fe8 *x3, fe8 *z3, const fe8 *x1)
{
	fe8 a, aa, b, bb, e, c, d, da, cb;

	fe8_add(&a, x2, z2);
	fe8_sub(&b, x2, z2);
	fe8_add(&c, x3, z3);
	fe8_sub(&d, x3, z3);
	fe8_sq(&aa, &a);
	fe8_sq(&bb, &b);
	fe8_mul(&da, &d, &a);
	fe8_mul(&cb, &c, &b);
	fe8_sub(&e, &aa, &bb);
	fe8_add(x3, &da, &cb);
	fe8_sq(x3, x3);
	fe8_sub(z3, &da, &cb);
	fe8_sq(z3, z3);
	fe8_mul(z3, z3, x1);
	fe8_mul(x2, &aa, &bb);
	fe8_mul_a24_add(z2, &e, &aa);
	fe8_mul(z2, z2, &e);
}

IFMA_INLINE void fe8_cswap(fe8 *f, fe8 *g, __mmask8 m)
{
	#pragma GCC unroll 10
	for (int k = 0; k < 5; k++) {
		__m512i x = f->v[k];

		f->v[k] = _mm512_mask_blend_epi64(m, f->v[k], g->v[k]);
		g->v[k] = _mm512_mask_blend_epi64(m, g->v[k], x);
	}
}

/* x2 / z2 = k_i * u_i (projective) for every lane, over all 256 bits of
 * each k_i. The bits are read as (word t / 64 of every lane) & (1 << t % 64):
 * the address depends on t only. */
static IFMA void ladder8(fe8 *x2, fe8 *z2, const uint8_t k[8][32], const fe8 *x1)
{
	_Alignas(64) uint64_t kw[4][8];
	__m512i kv[4];
	fe8 x3, z3;
	__mmask8 swap = 0;

	for (int i = 0; i < 8; i++)
		for (int w = 0; w < 4; w++)
			kw[w][i] = fe8_load64_le(k[i] + 8 * w);
	for (int w = 0; w < 4; w++)
		kv[w] = _mm512_load_si512(kw[w]);
	memset(x2, 0, sizeof(*x2));
	x2->v[0] = _mm512_set1_epi64(1);
	memset(z2, 0, sizeof(*z2));
	x3 = *x1;
	z3 = *x2;
	for (int t = 255; t >= 0; t--) {
		__mmask8 kt = _mm512_test_epi64_mask(
			kv[t >> 6], _mm512_set1_epi64((long long)(UINT64_C(1) << (t & 63))));

		swap ^= kt;
		fe8_cswap(x2, &x3, swap);
		fe8_cswap(z2, &z3, swap);
		swap = kt;
		ladder_step(x2, z2, &x3, &z3, x1);
	}
	fe8_cswap(x2, &x3, swap);
	fe8_cswap(z2, &z3, swap);
	sodium_memzero(kw, sizeof(kw));
	sodium_memzero(kv, sizeof(kv));
	sodium_memzero(&x3, sizeof(x3));
	sodium_memzero(&z3, sizeof(z3));
	sodium_memzero(&swap, sizeof(swap));
}

/* The ladder's affine result: out and rc per lane, out only where OK. */
static IFMA void ladder8_finish(uint8_t out[8][32], cr_err rc[8], fe8 *x2, fe8 *z2,
				__mmask8 refused)
{
	uint8_t r[8][32];
	__mmask8 ident;

	ident = fe8_is_zero(z2);
	fe8_invert(z2, z2);
	fe8_mul(x2, x2, z2);
	fe8_tobytes(r, x2);
	for (int i = 0; i < 8; i++) {
		if ((refused >> i) & 1)
			continue;
		if ((ident >> i) & 1) {
			rc[i] = CR_ERR_PSI_IDENTITY;
			continue;
		}
		rc[i] = CR_OK;
		memcpy(out[i], r[i], 32);
	}
	sodium_memzero(r, sizeof(r));
}

void IFMA crypto_x25519_ifma_ladder8(const uint8_t k[8][32], const uint8_t u[8][32],
				     uint8_t out[8][32], cr_err rc[8])
{
	fe8 x1, x2, z2;

	fe8_frombytes(&x1, u);
	ladder8(&x2, &z2, k, &x1);
	ladder8_finish(out, rc, &x2, &z2, 0);
	sodium_memzero(&x1, sizeof(x1));
	sodium_memzero(&x2, sizeof(x2));
	sodium_memzero(&z2, sizeof(z2));
}

/* ================================================== decoding and the mul */

/* The byte-level half of crypto_x25519_decode: bit 255 clear and the value
 * below p = 7f ff .. ff ed (little-endian ed ff .. ff 7f). */
static int bytes_canonical(const uint8_t in[32])
{
	if (in[31] & 0x80)
		return 0;
	if (in[31] != 0x7f)
		return 1;
	for (int i = 30; i > 0; i--)
		if (in[i] != 0xff)
			return 1;
	return in[0] < 0xed;
}

/* Lanes refused as crypto_x25519_decode refuses; the elements go to u, a
 * refused lane's replaced by the base point (9) so that every lane has
 * something on the curve to compute on. */
static IFMA __mmask8 decode8(fe8 *u, const uint8_t p[8][32])
{
	uint8_t in[8][32];
	__mmask8 refused = 0;
	fe8 t, one;

	for (int i = 0; i < 8; i++) {
		if (bytes_canonical(p[i])) {
			memcpy(in[i], p[i], 32);
		} else {
			memset(in[i], 0, 32);
			in[i][0] = 9;
			refused |= (__mmask8)(1u << i);
		}
	}
	fe8_frombytes(u, in);
	/* u^3 + 486662 u^2 + u = u ((u + 486662) u + 1) */
	memset(&one, 0, sizeof(one));
	one.v[0] = _mm512_set1_epi64(486662);
	fe8_add(&t, u, &one);
	fe8_mul(&t, &t, u);
	one.v[0] = _mm512_set1_epi64(1);
	fe8_add(&t, &t, &one);
	fe8_mul(&t, &t, u);
	refused |= fe8_non_square(&t);
	return refused;
}

void IFMA crypto_x25519_ifma_mul8_kappa(const uint8_t kappa[8][32], const uint8_t p[8][32],
					uint8_t out[8][32], cr_err rc[8])
{
	fe8 x1, x2, z2;
	__mmask8 refused;

	refused = decode8(&x1, p);
	for (int i = 0; i < 8; i++)
		if ((refused >> i) & 1)
			rc[i] = CR_ERR_PSI_ENCODING;
	ladder8(&x2, &z2, kappa, &x1);
	ladder8_finish(out, rc, &x2, &z2, refused);
	sodium_memzero(&x1, sizeof(x1));
	sodium_memzero(&x2, sizeof(x2));
	sodium_memzero(&z2, sizeof(z2));
}

void IFMA crypto_x25519_ifma_mul8(const uint8_t s[8][32], const uint8_t p[8][32],
				  uint8_t out[8][32], cr_err rc[8])
{
	uint8_t kappa[8][32];

	for (int i = 0; i < 8; i++)
		crypto_x25519_kappa(s[i], kappa[i]);
	crypto_x25519_ifma_mul8_kappa(kappa, p, out, rc);
	sodium_memzero(kappa, sizeof(kappa));
}
