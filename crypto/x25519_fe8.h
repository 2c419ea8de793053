/*
 * x25519_fe8.h: the field mod p = 2^255 - 19 on eight lanes of AVX-512
 * IFMA, shared by the eight-lane code of suite x25519-ell2-sha512
 * (docs/spec/psi-protocol.md section 2b, issue 22): the checked
 * multiplication (crypto/x25519_ifma.c) and the hash to the group
 * (crypto/x25519_h2c_ifma.c). Private to crypto/.
 *
 * Every function here is static inline and compiled for
 * avx512f/avx512ifma/avx512vl by a function attribute, not by a flag for
 * the whole build: only code that runs after CPUID said the CPU has IFMA
 * (crypto/x25519_batch.c decides) may call them, so the program still runs
 * on a CPU without AVX-512.
 *
 * Field elements mod p eight at a time: five __m512i, limb k of lane i in
 * 64-bit lane i of v[k], value sum v[k] * 2^(52 k). Limbs 0..3 are kept
 * below 2^52 and limb 4 below 2^48 between operations, as the IFMA
 * instructions multiply only the low 52 bits of their inputs. A product is
 * 25 madd52lo + 25 madd52hi into ten 64-bit columns (each below 2^56), the
 * upper five folded down with 2^260 = 608 (mod p), then one carry chain
 * that cuts limb 4 at bit 47 (2^255 = 19) so that limb 4 stays small. Sums
 * and differences are carried at once (a sum of two limbs could exceed 52
 * bits). Every operation's output is carried, so any operation may take
 * any other's output.
 *
 * Constant time: no branch or address depends on a lane's value; the
 * per-lane choices (fe8_cmov) are mask blends, and the exponentiations run
 * fixed chains. Only what a caller declares public (a mask from fe8_is_zero
 * on a result that is then refused) may reach a branch.
 */
#ifndef CR_CRYPTO_X25519_FE8_H
#define CR_CRYPTO_X25519_FE8_H

#include <immintrin.h>
#include <stdint.h>

#include <sodium.h>

#define IFMA __attribute__((target("avx512f,avx512ifma,avx512vl")))
/* The field operations inline into the ladder step, so that its state
 * stays in the 32 vector registers instead of going through memory. */
#define IFMA_INLINE static inline __attribute__((always_inline)) IFMA

#define M52 ((UINT64_C(1) << 52) - 1)
#define M47 ((UINT64_C(1) << 47) - 1)

typedef struct fe8 {
	__m512i v[5];
} fe8;

/* ========================================================= the field */

/* One carry chain over limbs below 2^62: limb 4 is cut at bit 47 and its
 * carry folded into limb 0 as 19 c, then limbs 0..3 are cut at bit 52.
 * Afterwards limbs 0..3 are below 2^52 and limb 4 below 2^47 + 2^11. */
IFMA_INLINE void fe8_carry(fe8 *h)
{
	const __m512i m52 = _mm512_set1_epi64((long long)M52);
	const __m512i m47 = _mm512_set1_epi64((long long)M47);
	__m512i c;

	c = _mm512_srli_epi64(h->v[4], 47);
	h->v[4] = _mm512_and_si512(h->v[4], m47);
	h->v[0] = _mm512_madd52lo_epu64(h->v[0], c, _mm512_set1_epi64(19));
	#pragma GCC unroll 10
	for (int k = 0; k < 4; k++) {
		c = _mm512_srli_epi64(h->v[k], 52);
		h->v[k] = _mm512_and_si512(h->v[k], m52);
		h->v[k + 1] = _mm512_add_epi64(h->v[k + 1], c);
	}
}

IFMA_INLINE void fe8_add(fe8 *h, const fe8 *f, const fe8 *g)
{
	#pragma GCC unroll 10
	for (int k = 0; k < 5; k++)
		h->v[k] = _mm512_add_epi64(f->v[k], g->v[k]);
	fe8_carry(h);
}

/* f + 2p - g: 2p's limbs (2^53 - 38, 2^53 - 2 three times, 2^48 - 2) are at
 * least g's, so nothing wraps. */
IFMA_INLINE void fe8_sub(fe8 *h, const fe8 *f, const fe8 *g)
{
	static const uint64_t two_p[5] = {
		(UINT64_C(1) << 53) - 38, (UINT64_C(1) << 53) - 2, (UINT64_C(1) << 53) - 2,
		(UINT64_C(1) << 53) - 2, (UINT64_C(1) << 48) - 2,
	};

	#pragma GCC unroll 10
	for (int k = 0; k < 5; k++)
		h->v[k] = _mm512_sub_epi64(_mm512_add_epi64(f->v[k],
							    _mm512_set1_epi64((long long)two_p[k])),
					   g->v[k]);
	fe8_carry(h);
}

/* Folds the ten product columns c[0..9] (each below 2^56) into five limbs
 * and carries them. Column k >= 5 is L + H 2^52 (L its low 52 bits, which
 * is all madd52 reads): 608 L lands in limbs k - 5 (low half) and k - 4
 * (high half), 608 H in limb k - 4. Nothing lands in limb 5: column 9 is
 * the high half of f4 g4 alone, and with f4, g4 < 2^47 + 2^11 (fe8_carry)
 * it is below 2^42.01, so 608 times it is below 2^52 (no high half) and
 * its H is 0. */
IFMA_INLINE void fe8_fold(fe8 *h, __m512i c[10])
{
	const __m512i k608 = _mm512_set1_epi64(608);

	#pragma GCC unroll 10
	for (int k = 0; k < 5; k++)
		c[k] = _mm512_madd52lo_epu64(c[k], c[k + 5], k608);
	#pragma GCC unroll 10
	for (int k = 0; k < 4; k++) {
		c[k + 1] = _mm512_madd52hi_epu64(c[k + 1], c[k + 5], k608);
		c[k + 1] = _mm512_madd52lo_epu64(c[k + 1], _mm512_srli_epi64(c[k + 5], 52), k608);
	}
	#pragma GCC unroll 10
	for (int k = 0; k < 5; k++)
		h->v[k] = c[k];
	fe8_carry(h);
}

/* The low and the high halves of the products go to separate columns
 * (lo, hi), added at the end: each chain of dependent madd52 is then at
 * most five long instead of ten, which is what bounds the ladder (its
 * steps are sequential and IFMA's latency is several cycles). */
IFMA_INLINE void fe8_mul(fe8 *h, const fe8 *f, const fe8 *g)
{
	__m512i lo[10], hi[10];

	#pragma GCC unroll 10
	for (int k = 0; k < 10; k++) {
		lo[k] = _mm512_setzero_si512();
		hi[k] = _mm512_setzero_si512();
	}
	#pragma GCC unroll 10
	for (int i = 0; i < 5; i++) {
		#pragma GCC unroll 10
		for (int j = 0; j < 5; j++) {
			lo[i + j] = _mm512_madd52lo_epu64(lo[i + j], f->v[i], g->v[j]);
			hi[i + j + 1] = _mm512_madd52hi_epu64(hi[i + j + 1], f->v[i], g->v[j]);
		}
	}
	#pragma GCC unroll 10
	for (int k = 0; k < 10; k++)
		lo[k] = _mm512_add_epi64(lo[k], hi[k]);
	fe8_fold(h, lo);
}

/* The ten cross products once, doubled by an addition, then the five
 * squares: 30 multiplications instead of 50 (halves apart as in fe8_mul). */
IFMA_INLINE void fe8_sq(fe8 *h, const fe8 *f)
{
	__m512i lo[10], hi[10];

	#pragma GCC unroll 10
	for (int k = 0; k < 10; k++) {
		lo[k] = _mm512_setzero_si512();
		hi[k] = _mm512_setzero_si512();
	}
	#pragma GCC unroll 10
	for (int i = 0; i < 5; i++) {
		#pragma GCC unroll 10
		for (int j = i + 1; j < 5; j++) {
			lo[i + j] = _mm512_madd52lo_epu64(lo[i + j], f->v[i], f->v[j]);
			hi[i + j + 1] = _mm512_madd52hi_epu64(hi[i + j + 1], f->v[i], f->v[j]);
		}
	}
	#pragma GCC unroll 10
	for (int k = 0; k < 10; k++) {
		lo[k] = _mm512_add_epi64(lo[k], lo[k]);
		hi[k] = _mm512_add_epi64(hi[k], hi[k]);
	}
	#pragma GCC unroll 10
	for (int i = 0; i < 5; i++) {
		lo[2 * i] = _mm512_madd52lo_epu64(lo[2 * i], f->v[i], f->v[i]);
		hi[2 * i + 1] = _mm512_madd52hi_epu64(hi[2 * i + 1], f->v[i], f->v[i]);
	}
	#pragma GCC unroll 10
	for (int k = 0; k < 10; k++)
		lo[k] = _mm512_add_epi64(lo[k], hi[k]);
	fe8_fold(h, lo);
}

/* Out of line (one copy per file; unused in some): its squarings are a
 * loop, and inlining every call would only grow the code. */
static __attribute__((noinline, unused)) IFMA void fe8_sqn(fe8 *h, const fe8 *f, int n)
{
	fe8_sq(h, f);
	for (int i = 1; i < n; i++)
		fe8_sq(h, h);
}


/* z^(2^250 - 1), z^11 and z^2 (the addition chain of crypto/x25519.c). */
static inline IFMA void fe8_pow_2_250_1(fe8 *z250, fe8 *z11, fe8 *z2, const fe8 *z)
{
	fe8 t, z9, z5, z10, z20, z50, z100;

	fe8_sq(z2, z);                 /* 2 */
	fe8_sqn(&t, z2, 2);            /* 8 */
	fe8_mul(&z9, &t, z);           /* 9 */
	fe8_mul(z11, &z9, z2);         /* 11 */
	fe8_sq(&t, z11);               /* 22 */
	fe8_mul(&z5, &t, &z9);         /* 2^5 - 1 */
	fe8_sqn(&t, &z5, 5);
	fe8_mul(&z10, &t, &z5);        /* 2^10 - 1 */
	fe8_sqn(&t, &z10, 10);
	fe8_mul(&z20, &t, &z10);       /* 2^20 - 1 */
	fe8_sqn(&t, &z20, 20);
	fe8_mul(&t, &t, &z20);         /* 2^40 - 1 */
	fe8_sqn(&t, &t, 10);
	fe8_mul(&z50, &t, &z10);       /* 2^50 - 1 */
	fe8_sqn(&t, &z50, 50);
	fe8_mul(&z100, &t, &z50);      /* 2^100 - 1 */
	fe8_sqn(&t, &z100, 100);
	fe8_mul(&t, &t, &z100);        /* 2^200 - 1 */
	fe8_sqn(&t, &t, 50);
	fe8_mul(z250, &t, &z50);       /* 2^250 - 1 */
	sodium_memzero(&t, sizeof(t));
	sodium_memzero(&z9, sizeof(z9));
	sodium_memzero(&z5, sizeof(z5));
	sodium_memzero(&z10, sizeof(z10));
	sodium_memzero(&z20, sizeof(z20));
	sodium_memzero(&z50, sizeof(z50));
	sodium_memzero(&z100, sizeof(z100));
}

/* h = z^(p - 2): 1/z, and 0 for 0. */
static inline IFMA void fe8_invert(fe8 *h, const fe8 *z)
{
	fe8 z250, z11, z2;

	fe8_pow_2_250_1(&z250, &z11, &z2, z);
	fe8_sqn(&z250, &z250, 5);      /* 2^255 - 32 */
	fe8_mul(h, &z250, &z11);       /* 2^255 - 21 */
	sodium_memzero(&z250, sizeof(z250));
	sodium_memzero(&z11, sizeof(z11));
	sodium_memzero(&z2, sizeof(z2));
}

/* The unique representative below p, limbs 0..3 below 2^52 and limb 4
 * below 2^47. Three carry chains leave the value below 2^255 (after the
 * second limb 4 is at most 2^47, and if it is 2^47 the third clears it);
 * then h >= p exactly when h + 19 carries out of bit 255, and h - p is
 * h + 19 without that bit. */
static inline IFMA void fe8_canon(fe8 *h)
{
	const __m512i m52 = _mm512_set1_epi64((long long)M52);
	const __m512i m47 = _mm512_set1_epi64((long long)M47);
	fe8 t;
	__m512i c;
	__mmask8 ge;

	fe8_carry(h);
	fe8_carry(h);
	fe8_carry(h);
	t = *h;
	t.v[0] = _mm512_add_epi64(t.v[0], _mm512_set1_epi64(19));
	#pragma GCC unroll 10
	for (int k = 0; k < 4; k++) {
		c = _mm512_srli_epi64(t.v[k], 52);
		t.v[k] = _mm512_and_si512(t.v[k], m52);
		t.v[k + 1] = _mm512_add_epi64(t.v[k + 1], c);
	}
	ge = _mm512_test_epi64_mask(t.v[4], _mm512_set1_epi64((long long)(UINT64_C(1) << 47)));
	t.v[4] = _mm512_and_si512(t.v[4], m47);
	#pragma GCC unroll 10
	for (int k = 0; k < 5; k++)
		h->v[k] = _mm512_mask_blend_epi64(ge, h->v[k], t.v[k]);
	sodium_memzero(&t, sizeof(t));
}

/* Lanes whose value is 0 mod p. */
static inline IFMA __mmask8 fe8_is_zero(const fe8 *f)
{
	fe8 h = *f;
	__m512i o;

	fe8_canon(&h);
	o = _mm512_or_si512(_mm512_or_si512(h.v[0], h.v[1]),
			    _mm512_or_si512(_mm512_or_si512(h.v[2], h.v[3]), h.v[4]));
	sodium_memzero(&h, sizeof(h));
	return _mm512_cmpeq_epi64_mask(o, _mm512_setzero_si512());
}

/* ============================================= bytes in and out (scalar) */

static inline uint64_t fe8_load64_le(const uint8_t *s)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | s[i];
	return v;
}

static inline void fe8_store64_le(uint8_t *d, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		d[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Eight 32-byte little-endian values (bit 255 dropped) into limbs. */
static inline IFMA void fe8_frombytes(fe8 *h, const uint8_t in[8][32])
{
	_Alignas(64) uint64_t l[5][8];

	for (int i = 0; i < 8; i++) {
		uint64_t w0 = fe8_load64_le(in[i]), w1 = fe8_load64_le(in[i] + 8);
		uint64_t w2 = fe8_load64_le(in[i] + 16), w3 = fe8_load64_le(in[i] + 24);

		l[0][i] = w0 & M52;
		l[1][i] = ((w0 >> 52) | (w1 << 12)) & M52;
		l[2][i] = ((w1 >> 40) | (w2 << 24)) & M52;
		l[3][i] = ((w2 >> 28) | (w3 << 36)) & M52;
		l[4][i] = (w3 >> 16) & M47;
	}
	for (int k = 0; k < 5; k++)
		h->v[k] = _mm512_load_si512(l[k]);
	sodium_memzero(l, sizeof(l));
}

/* The reduced value of every lane, 32 bytes little-endian. */
static inline IFMA void fe8_tobytes(uint8_t out[8][32], const fe8 *f)
{
	_Alignas(64) uint64_t l[5][8];
	fe8 h = *f;

	fe8_canon(&h);
	for (int k = 0; k < 5; k++)
		_mm512_store_si512(l[k], h.v[k]);
	for (int i = 0; i < 8; i++) {
		fe8_store64_le(out[i], l[0][i] | (l[1][i] << 52));
		fe8_store64_le(out[i] + 8, (l[1][i] >> 12) | (l[2][i] << 40));
		fe8_store64_le(out[i] + 16, (l[2][i] >> 24) | (l[3][i] << 28));
		fe8_store64_le(out[i] + 24, (l[3][i] >> 36) | (l[4][i] << 16));
	}
	sodium_memzero(l, sizeof(l));
	sodium_memzero(&h, sizeof(h));
}

/* ============================================ helpers of the hash to curve */

/* Every lane set to the constant whose limbs (radix 2^52, carried) are c. */
static inline IFMA void fe8_set1(fe8 *h, const uint64_t c[5])
{
	for (int k = 0; k < 5; k++)
		h->v[k] = _mm512_set1_epi64((long long)c[k]);
}

/* Every lane set to the small constant c (below 2^52). */
static inline IFMA void fe8_set_small(fe8 *h, uint64_t c)
{
	h->v[0] = _mm512_set1_epi64((long long)c);
	for (int k = 1; k < 5; k++)
		h->v[k] = _mm512_setzero_si512();
}

/* f = g in the lanes of m, unchanged in the others: a blend, no branch. */
IFMA_INLINE void fe8_cmov(fe8 *f, const fe8 *g, __mmask8 m)
{
	#pragma GCC unroll 10
	for (int k = 0; k < 5; k++)
		f->v[k] = _mm512_mask_blend_epi64(m, f->v[k], g->v[k]);
}

/* h = -f = 0 - f, carried; h may alias f. */
IFMA_INLINE void fe8_neg(fe8 *h, const fe8 *f)
{
	fe8 zero;

	fe8_set_small(&zero, 0);
	fe8_sub(h, &zero, f);
}

/* Two independent chains at once, z[0] and z[1], for the hash's two maps:
 * an exponentiation is a chain of dependent squarings, each waiting for the
 * last, so two side by side keep the IFMA units busy where one leaves them
 * idle. h may alias z; no other aliasing. */
static __attribute__((noinline, unused)) IFMA void fe8_sqn_x2(fe8 h[2], const fe8 f[2], int n)
{
	fe8_sq(&h[0], &f[0]);
	fe8_sq(&h[1], &f[1]);
	for (int i = 1; i < n; i++) {
		fe8_sq(&h[0], &h[0]);
		fe8_sq(&h[1], &h[1]);
	}
}

IFMA_INLINE void fe8_mul_x2(fe8 h[2], const fe8 f[2], const fe8 g[2])
{
	fe8_mul(&h[0], &f[0], &g[0]);
	fe8_mul(&h[1], &f[1], &g[1]);
}

/* h[k] = z[k]^((p - 5) / 8) = z[k]^(2^252 - 3) for k = 0, 1: the exponent of
 * RFC 9380 appendix G.2.1's square root for p = 5 mod 8, by
 * crypto_fe_pow22523's chain (that of fe8_pow_2_250_1, then two squarings
 * and a multiplication), the two chains interleaved. h may alias z. */
static inline IFMA void fe8_pow22523_x2(fe8 h[2], const fe8 z[2])
{
	fe8 t[2], z2[2], z9[2], z11[2], z5[2], z10[2], z20[2], z50[2], z100[2];

	fe8_sqn_x2(z2, z, 1);          /* 2 */
	fe8_sqn_x2(t, z2, 2);          /* 8 */
	fe8_mul_x2(z9, t, z);          /* 9 */
	fe8_mul_x2(z11, z9, z2);       /* 11 */
	fe8_sqn_x2(t, z11, 1);         /* 22 */
	fe8_mul_x2(z5, t, z9);         /* 2^5 - 1 */
	fe8_sqn_x2(t, z5, 5);
	fe8_mul_x2(z10, t, z5);        /* 2^10 - 1 */
	fe8_sqn_x2(t, z10, 10);
	fe8_mul_x2(z20, t, z10);       /* 2^20 - 1 */
	fe8_sqn_x2(t, z20, 20);
	fe8_mul_x2(t, t, z20);         /* 2^40 - 1 */
	fe8_sqn_x2(t, t, 10);
	fe8_mul_x2(z50, t, z10);       /* 2^50 - 1 */
	fe8_sqn_x2(t, z50, 50);
	fe8_mul_x2(z100, t, z50);      /* 2^100 - 1 */
	fe8_sqn_x2(t, z100, 100);
	fe8_mul_x2(t, t, z100);        /* 2^200 - 1 */
	fe8_sqn_x2(t, t, 50);
	fe8_mul_x2(t, t, z50);         /* 2^250 - 1 */
	fe8_sqn_x2(t, t, 2);           /* 2^252 - 4 */
	fe8_mul_x2(h, t, z);           /* 2^252 - 3 */
	sodium_memzero(t, sizeof(t));
	sodium_memzero(z2, sizeof(z2));
	sodium_memzero(z9, sizeof(z9));
	sodium_memzero(z11, sizeof(z11));
	sodium_memzero(z5, sizeof(z5));
	sodium_memzero(z10, sizeof(z10));
	sodium_memzero(z20, sizeof(z20));
	sodium_memzero(z50, sizeof(z50));
	sodium_memzero(z100, sizeof(z100));
}

/* Lanes where f = g (mod p). */
static inline IFMA __mmask8 fe8_eq(const fe8 *f, const fe8 *g)
{
	fe8 t;
	__mmask8 m;

	fe8_sub(&t, f, g);
	m = fe8_is_zero(&t);
	sodium_memzero(&t, sizeof(t));
	return m;
}

/* sgn0 (RFC 9380 section 4.1, m = 1): lanes whose reduced value is odd. */
static inline IFMA __mmask8 fe8_sgn0(const fe8 *f)
{
	fe8 h = *f;
	__mmask8 m;

	fe8_canon(&h);
	m = _mm512_test_epi64_mask(h.v[0], _mm512_set1_epi64(1));
	sodium_memzero(&h, sizeof(h));
	return m;
}

#endif /* CR_CRYPTO_X25519_FE8_H */
