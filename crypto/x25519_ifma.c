/*
 * x25519_ifma.c: the second suite's checked multiplication (suite
 * x25519-ell2-sha512, docs/spec/psi-protocol.md section 2b, issue 22) on
 * eight lanes at once with AVX-512 IFMA. Its output bytes and errors equal
 * crypto_x25519_mul's (crypto/x25519.c) for every input;
 * tests/unit/crypto/test_x25519_ifma.c compares the two.
 *
 * Every function here is compiled for avx512f/avx512ifma/avx512vl by a
 * function attribute, not by a flag for the whole build: only
 * crypto/x25519_batch.c calls them, and only after CPUID said the CPU has
 * IFMA, so the program still runs on a CPU without AVX-512.
 *
 * Field elements mod p = 2^255 - 19, eight at a time: five __m512i, limb k
 * of lane i in 64-bit lane i of v[k], value sum v[k] * 2^(52 k). Limbs 0..3
 * are kept below 2^52 and limb 4 below 2^48 between operations, as the
 * IFMA instructions multiply only the low 52 bits of their inputs. A
 * product is 25 madd52lo + 25 madd52hi into ten 64-bit columns (each below
 * 2^56), the upper five folded down with 2^260 = 608 (mod p), then one
 * carry chain that cuts limb 4 at bit 47 (2^255 = 19) so that limb 4 stays
 * small. Sums and differences are carried at once (a sum of two limbs
 * could exceed 52 bits).
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

static __attribute__((noinline)) IFMA void fe8_sqn(fe8 *h, const fe8 *f, int n)
{
	fe8_sq(h, f);
	for (int i = 1; i < n; i++)
		fe8_sq(h, h);
}

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

/* z^(2^250 - 1), z^11 and z^2 (the addition chain of crypto/x25519.c). */
static IFMA void fe8_pow_2_250_1(fe8 *z250, fe8 *z11, fe8 *z2, const fe8 *z)
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
static IFMA void fe8_invert(fe8 *h, const fe8 *z)
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
static IFMA void fe8_canon(fe8 *h)
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
static IFMA __mmask8 fe8_is_zero(const fe8 *f)
{
	fe8 h = *f;
	__m512i o;

	fe8_canon(&h);
	o = _mm512_or_si512(_mm512_or_si512(h.v[0], h.v[1]),
			    _mm512_or_si512(_mm512_or_si512(h.v[2], h.v[3]), h.v[4]));
	sodium_memzero(&h, sizeof(h));
	return _mm512_cmpeq_epi64_mask(o, _mm512_setzero_si512());
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

/* ============================================= bytes in and out (scalar) */

static uint64_t load64_le(const uint8_t *s)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | s[i];
	return v;
}

static void store64_le(uint8_t *d, uint64_t v)
{
		for (int i = 0; i < 8; i++) {
		d[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Eight 32-byte little-endian values (bit 255 dropped) into limbs. */
static IFMA void fe8_frombytes(fe8 *h, const uint8_t in[8][32])
{
	_Alignas(64) uint64_t l[5][8];

		for (int i = 0; i < 8; i++) {
		uint64_t w0 = load64_le(in[i]), w1 = load64_le(in[i] + 8);
		uint64_t w2 = load64_le(in[i] + 16), w3 = load64_le(in[i] + 24);

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
static IFMA void fe8_tobytes(uint8_t out[8][32], const fe8 *f)
{
	_Alignas(64) uint64_t l[5][8];
	fe8 h = *f;

	fe8_canon(&h);
		for (int k = 0; k < 5; k++)
		_mm512_store_si512(l[k], h.v[k]);
		for (int i = 0; i < 8; i++) {
		store64_le(out[i], l[0][i] | (l[1][i] << 52));
		store64_le(out[i] + 8, (l[1][i] >> 12) | (l[2][i] << 40));
		store64_le(out[i] + 16, (l[2][i] >> 24) | (l[3][i] << 28));
		store64_le(out[i] + 24, (l[3][i] >> 36) | (l[4][i] << 16));
	}
	sodium_memzero(l, sizeof(l));
	sodium_memzero(&h, sizeof(h));
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
			kw[w][i] = load64_le(k[i] + 8 * w);
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
