/*
 * x25519.c: the second suite's group arithmetic (suite x25519-ell2-sha512,
 * docs/spec/psi-protocol.md section 2b); wired into the suite by issue 22's
 * later steps. crypto/x25519_batch.c calls it for lists (and for what the
 * eight-lane IFMA code of crypto/x25519_ifma.c leaves over, or everything on
 * a CPU without IFMA); the IFMA code must give its bytes and errors.
 *
 * The portable 64-bit implementation: field elements mod p = 2^255 - 19 in
 * radix 2^51 with 128-bit products, RFC 7748 section 5's Montgomery ladder
 * over all 256 bits of an unclamped integer, the strict decoding of a
 * received u-coordinate (one encoding per element, no twist points) and the
 * checked multiplication by kappa(s) = 8 * ((s * 8^-1) mod l), which clears
 * any small-order part of the element.
 *
 * Constant time: nothing that depends on a scalar or a secret element
 * selects a branch or a memory index; the ladder's swaps are masks. Decoding
 * and the identity test branch only on public facts (the received bytes,
 * and whether the result is the identity, which is then refused).
 */
#include <string.h>

#include <sodium.h>

#include "crypto/crypto_internal.h"

__extension__ typedef unsigned __int128 u128;

#define FE_MASK51 ((UINT64_C(1) << 51) - 1)

/* 8^-1 mod l, little-endian: (3l + 1) / 8, as l = 5 (mod 8). test_x25519
 * checks it against crypto_core_ed25519_scalar_invert. */
static const uint8_t inv8_mod_l[32] = {
	0x79, 0x2f, 0xdc, 0xe2, 0x29, 0xe5, 0x06, 0x61, 0xd0, 0xda, 0x1c, 0x7d, 0xb3, 0x9d, 0xd3, 0x07,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06,
};

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

/* ============================================================ the field */

void crypto_fe_frombytes(crypto_fe *h, const uint8_t s[static 32])
{
	h->v[0] = load64_le(s) & FE_MASK51;
	h->v[1] = (load64_le(s + 6) >> 3) & FE_MASK51;
	h->v[2] = (load64_le(s + 12) >> 6) & FE_MASK51;
	h->v[3] = (load64_le(s + 19) >> 1) & FE_MASK51;
	h->v[4] = (load64_le(s + 24) >> 12) & FE_MASK51; /* bit 255 is dropped */
}

/* One carry pass, the top carry folded back as 19 * c (2^255 = 19 mod p).
 * Afterwards limbs 1..4 are below 2^51 and limb 0 below 2^51 + 19 * 2^13. */
static void fe_carry(crypto_fe *h)
{
	uint64_t c;

	c = h->v[0] >> 51; h->v[0] &= FE_MASK51; h->v[1] += c;
	c = h->v[1] >> 51; h->v[1] &= FE_MASK51; h->v[2] += c;
	c = h->v[2] >> 51; h->v[2] &= FE_MASK51; h->v[3] += c;
	c = h->v[3] >> 51; h->v[3] &= FE_MASK51; h->v[4] += c;
	c = h->v[4] >> 51; h->v[4] &= FE_MASK51; h->v[0] += 19 * c;
}

void crypto_fe_tobytes(uint8_t s[static 32], const crypto_fe *f)
{
	crypto_fe h = *f, t;
	uint64_t c, m;

	/* Three passes leave every limb below 2^51, so h < 2^255 < 2p: after
	 * the second, a limb 0 at or above 2^51 means the others are zero. */
	fe_carry(&h);
	fe_carry(&h);
	fe_carry(&h);
	/* h >= p exactly when h + 19 >= 2^255; then h - p = h + 19 - 2^255. */
	t = h;
	t.v[0] += 19;
	c = t.v[0] >> 51; t.v[0] &= FE_MASK51; t.v[1] += c;
	c = t.v[1] >> 51; t.v[1] &= FE_MASK51; t.v[2] += c;
	c = t.v[2] >> 51; t.v[2] &= FE_MASK51; t.v[3] += c;
	c = t.v[3] >> 51; t.v[3] &= FE_MASK51; t.v[4] += c;
	c = t.v[4] >> 51; t.v[4] &= FE_MASK51;
	m = (uint64_t)0 - c;
	for (int i = 0; i < 5; i++)
		h.v[i] = (t.v[i] & m) | (h.v[i] & ~m);
	store64_le(s, h.v[0] | (h.v[1] << 51));
	store64_le(s + 8, (h.v[1] >> 13) | (h.v[2] << 38));
	store64_le(s + 16, (h.v[2] >> 26) | (h.v[3] << 25));
	store64_le(s + 24, (h.v[3] >> 39) | (h.v[4] << 12));
	sodium_memzero(&h, sizeof(h));
	sodium_memzero(&t, sizeof(t));
}

void crypto_fe_add(crypto_fe *h, const crypto_fe *f, const crypto_fe *g)
{
	for (int i = 0; i < 5; i++)
		h->v[i] = f->v[i] + g->v[i];
	fe_carry(h);
}

/* f + 2p - g: every limb of 2p is at least 2^52 - 38, above any carried
 * limb of g, so nothing underflows. */
void crypto_fe_sub(crypto_fe *h, const crypto_fe *f, const crypto_fe *g)
{
	h->v[0] = (f->v[0] + UINT64_C(0xfffffffffffda)) - g->v[0];
	for (int i = 1; i < 5; i++)
		h->v[i] = (f->v[i] + UINT64_C(0xffffffffffffe)) - g->v[i];
	fe_carry(h);
}

/* The five 128-bit column sums, carried down to limbs below 2^51 (limb 1 a
 * little above). Inputs are carried limbs (below 2^52), so every sum stays
 * below 2^115. */
static void fe_reduce128(crypto_fe *h, u128 r0, u128 r1, u128 r2, u128 r3, u128 r4)
{
	uint64_t c;

	r1 += (uint64_t)(r0 >> 51);
	r2 += (uint64_t)(r1 >> 51);
	r3 += (uint64_t)(r2 >> 51);
	r4 += (uint64_t)(r3 >> 51);
	c = (uint64_t)(r4 >> 51);
	h->v[0] = ((uint64_t)r0 & FE_MASK51) + 19 * c;
	h->v[1] = (uint64_t)r1 & FE_MASK51;
	h->v[2] = (uint64_t)r2 & FE_MASK51;
	h->v[3] = (uint64_t)r3 & FE_MASK51;
	h->v[4] = (uint64_t)r4 & FE_MASK51;
	c = h->v[0] >> 51;
	h->v[0] &= FE_MASK51;
	h->v[1] += c;
}

void crypto_fe_mul(crypto_fe *h, const crypto_fe *f, const crypto_fe *g)
{
	const uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
	const uint64_t g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
	const uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
	u128 r0, r1, r2, r3, r4;

	r0 = (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 + (u128)f3 * g2_19 + (u128)f4 * g1_19;
	r1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 + (u128)f3 * g3_19 + (u128)f4 * g2_19;
	r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3 * g4_19 + (u128)f4 * g3_19;
	r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 + (u128)f4 * g4_19;
	r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 + (u128)f4 * g0;
	fe_reduce128(h, r0, r1, r2, r3, r4);
}

void crypto_fe_sq(crypto_fe *h, const crypto_fe *f)
{
	const uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
	const uint64_t f0_2 = 2 * f0, f1_2 = 2 * f1;
	const uint64_t f3_19 = 19 * f3, f4_19 = 19 * f4;
	u128 r0, r1, r2, r3, r4;

	r0 = (u128)f0 * f0 + (u128)(2 * f1) * f4_19 + (u128)(2 * f2) * f3_19;
	r1 = (u128)f0_2 * f1 + (u128)(2 * f2) * f4_19 + (u128)f3 * f3_19;
	r2 = (u128)f0_2 * f2 + (u128)f1 * f1 + (u128)(2 * f3) * f4_19;
	r3 = (u128)f0_2 * f3 + (u128)f1_2 * f2 + (u128)f4 * f4_19;
	r4 = (u128)f0_2 * f4 + (u128)f1_2 * f3 + (u128)f2 * f2;
	fe_reduce128(h, r0, r1, r2, r3, r4);
}

/* h = f * 121665, the ladder's a24 = (486662 - 2) / 4. */
void crypto_fe_mul_a24(crypto_fe *h, const crypto_fe *f)
{
	fe_reduce128(h, (u128)f->v[0] * 121665, (u128)f->v[1] * 121665, (u128)f->v[2] * 121665,
		     (u128)f->v[3] * 121665, (u128)f->v[4] * 121665);
}

static void fe_sqn(crypto_fe *h, const crypto_fe *f, int n)
{
	crypto_fe_sq(h, f);
	for (int i = 1; i < n; i++)
		crypto_fe_sq(h, h);
}

/* z^(2^250 - 1) into z250, and z^11 and z^2 for the callers' tails (the
 * addition chain of ref10's fe_invert). */
static void fe_pow_2_250_1(crypto_fe *z250, crypto_fe *z11, crypto_fe *z2, const crypto_fe *z)
{
	crypto_fe t, z9, z5, z10, z20, z50, z100;

	crypto_fe_sq(z2, z);                 /* 2 */
	fe_sqn(&t, z2, 2);                   /* 8 */
	crypto_fe_mul(&z9, &t, z);           /* 9 */
	crypto_fe_mul(z11, &z9, z2);         /* 11 */
	crypto_fe_sq(&t, z11);               /* 22 */
	crypto_fe_mul(&z5, &t, &z9);         /* 2^5 - 1 */
	fe_sqn(&t, &z5, 5);
	crypto_fe_mul(&z10, &t, &z5);        /* 2^10 - 1 */
	fe_sqn(&t, &z10, 10);
	crypto_fe_mul(&z20, &t, &z10);       /* 2^20 - 1 */
	fe_sqn(&t, &z20, 20);
	crypto_fe_mul(&t, &t, &z20);         /* 2^40 - 1 */
	fe_sqn(&t, &t, 10);
	crypto_fe_mul(&z50, &t, &z10);       /* 2^50 - 1 */
	fe_sqn(&t, &z50, 50);
	crypto_fe_mul(&z100, &t, &z50);      /* 2^100 - 1 */
	fe_sqn(&t, &z100, 100);
	crypto_fe_mul(&t, &t, &z100);        /* 2^200 - 1 */
	fe_sqn(&t, &t, 50);
	crypto_fe_mul(z250, &t, &z50);       /* 2^250 - 1 */
	sodium_memzero(&t, sizeof(t));
	sodium_memzero(&z9, sizeof(z9));
	sodium_memzero(&z5, sizeof(z5));
	sodium_memzero(&z10, sizeof(z10));
	sodium_memzero(&z20, sizeof(z20));
	sodium_memzero(&z50, sizeof(z50));
	sodium_memzero(&z100, sizeof(z100));
}

/* h = z^(p - 2) = z^(2^255 - 21), so 1/z for z != 0 and 0 for z = 0. */
void crypto_fe_invert(crypto_fe *h, const crypto_fe *z)
{
	crypto_fe z250, z11, z2;

	fe_pow_2_250_1(&z250, &z11, &z2, z);
	fe_sqn(&z250, &z250, 5);             /* 2^255 - 32 */
	crypto_fe_mul(h, &z250, &z11);       /* 2^255 - 21 */
	sodium_memzero(&z250, sizeof(z250));
	sodium_memzero(&z11, sizeof(z11));
	sodium_memzero(&z2, sizeof(z2));
}

/* Euler's criterion: z^((p - 1) / 2) = z^(2^254 - 10) is 1 for a non-zero
 * square, 0 for 0 and p - 1 for a non-square. 1 for the first two. */
int crypto_fe_is_square(const crypto_fe *z)
{
	static const uint8_t minus_one[32] = {
		0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	};
	crypto_fe z250, z11, z2, t;
	uint8_t b[32];
	uint8_t d = 0;

	fe_pow_2_250_1(&z250, &z11, &z2, z);
	fe_sqn(&z250, &z250, 4);             /* 2^254 - 16 */
	crypto_fe_sq(&t, &z2);               /* 4 */
	crypto_fe_mul(&t, &t, &z2);          /* 6 */
	crypto_fe_mul(&z250, &z250, &t);     /* 2^254 - 10 */
	crypto_fe_tobytes(b, &z250);
	for (int i = 0; i < 32; i++)
		d |= (uint8_t)(b[i] ^ minus_one[i]);
	sodium_memzero(&z250, sizeof(z250));
	sodium_memzero(&z11, sizeof(z11));
	sodium_memzero(&z2, sizeof(z2));
	sodium_memzero(&t, sizeof(t));
	sodium_memzero(b, sizeof(b));
	/* d != 0 exactly when the symbol is not p - 1, without a branch */
	return (int)(((unsigned)d + 0xffu) >> 8);
}

/* Swaps f and g when b is 1, leaves them when it is 0, by masks. */
static void fe_cswap(crypto_fe *f, crypto_fe *g, uint64_t b)
{
	const uint64_t m = (uint64_t)0 - b;

	for (int i = 0; i < 5; i++) {
		uint64_t x = m & (f->v[i] ^ g->v[i]);
		f->v[i] ^= x;
		g->v[i] ^= x;
	}
}

/* f = g when b is 1, f unchanged when b is 0, by masks (no branch). */
void crypto_fe_cmov(crypto_fe *f, const crypto_fe *g, uint64_t b)
{
	const uint64_t mask = ~(b - 1);

	for (int i = 0; i < 5; i++)
		f->v[i] ^= mask & (f->v[i] ^ g->v[i]);
}

/* h = -f = 0 - f, carried. */
void crypto_fe_neg(crypto_fe *h, const crypto_fe *f)
{
	static const crypto_fe zero = {{0, 0, 0, 0, 0}};

	crypto_fe_sub(h, &zero, f);
}

/* h = z^((p - 5) / 8) = z^(2^252 - 3): the exponent of the square root
 * (and square test) of RFC 9380's Elligator 2 for p = 5 mod 8. */
void crypto_fe_pow22523(crypto_fe *h, const crypto_fe *z)
{
	crypto_fe z250, z11, z2;

	fe_pow_2_250_1(&z250, &z11, &z2, z);
	fe_sqn(&z250, &z250, 2);             /* 2^252 - 4 */
	crypto_fe_mul(h, &z250, z);          /* 2^252 - 3 */
	sodium_memzero(&z250, sizeof(z250));
	sodium_memzero(&z11, sizeof(z11));
	sodium_memzero(&z2, sizeof(z2));
}

/* ============================================================ the curve */

cr_err crypto_x25519_decode(const uint8_t in[static 32], crypto_fe *u)
{
	crypto_fe x, t, y;
	uint8_t back[32];

	if (in[31] & 0x80)
		return CR_ERR_PSI_ENCODING;
	crypto_fe_frombytes(&x, in);
	/* to-bytes reduces; a value at or above p comes back different. */
	crypto_fe_tobytes(back, &x);
	if (memcmp(back, in, 32) != 0)
		return CR_ERR_PSI_ENCODING;
	/* u^3 + 486662 u^2 + u = u ((u + 486662) u + 1) must be a square. */
	memset(back, 0, sizeof(back));
	back[0] = 0x06;
	back[1] = 0x6d;
	back[2] = 0x07; /* 486662 = 0x076d06 */
	crypto_fe_frombytes(&t, back);
	crypto_fe_add(&t, &t, &x);
	crypto_fe_mul(&t, &t, &x);
	memset(back, 0, sizeof(back));
	back[0] = 1;
	crypto_fe_frombytes(&y, back);
	crypto_fe_add(&t, &t, &y);
	crypto_fe_mul(&t, &t, &x);
	if (!crypto_fe_is_square(&t))
		return CR_ERR_PSI_ENCODING;
	*u = x;
	return CR_OK;
}

cr_err crypto_x25519_ladder(const uint8_t k[static 32], const uint8_t u[static 32],
			    uint8_t out[static 32])
{
	crypto_fe x1, x2, z2, x3, z3, a, aa, b, bb, e, c, d, da, cb;
	uint8_t zb[32];
	uint64_t swap = 0;
	cr_err rc = CR_OK;
	int ident;

	crypto_fe_frombytes(&x1, u);
	memset(&x2, 0, sizeof(x2));
	x2.v[0] = 1;
	memset(&z2, 0, sizeof(z2));
	x3 = x1;
	z3 = x2;
	for (int t = 255; t >= 0; t--) {
		uint64_t kt = (uint64_t)(k[t >> 3] >> (t & 7)) & 1;

		swap ^= kt;
		fe_cswap(&x2, &x3, swap);
		fe_cswap(&z2, &z3, swap);
		swap = kt;
		crypto_fe_add(&a, &x2, &z2);
		crypto_fe_sq(&aa, &a);
		crypto_fe_sub(&b, &x2, &z2);
		crypto_fe_sq(&bb, &b);
		crypto_fe_sub(&e, &aa, &bb);
		crypto_fe_add(&c, &x3, &z3);
		crypto_fe_sub(&d, &x3, &z3);
		crypto_fe_mul(&da, &d, &a);
		crypto_fe_mul(&cb, &c, &b);
		crypto_fe_add(&x3, &da, &cb);
		crypto_fe_sq(&x3, &x3);
		crypto_fe_sub(&z3, &da, &cb);
		crypto_fe_sq(&z3, &z3);
		crypto_fe_mul(&z3, &z3, &x1);
		crypto_fe_mul(&x2, &aa, &bb);
		crypto_fe_mul_a24(&z2, &e);
		crypto_fe_add(&z2, &z2, &aa);
		crypto_fe_mul(&z2, &z2, &e);
	}
	fe_cswap(&x2, &x3, swap);
	fe_cswap(&z2, &z3, swap);
	/* Z = 0 is the identity: tested in constant time, and the flag it
	 * gives is public (the result is then refused, not sent). */
	crypto_fe_tobytes(zb, &z2);
	ident = sodium_is_zero(zb, sizeof(zb));
	CR_CT_PUBLIC(&ident, sizeof(ident));
	if (ident) {
		rc = CR_ERR_PSI_IDENTITY;
		goto out;
	}
	crypto_fe_invert(&z2, &z2);
	crypto_fe_mul(&x2, &x2, &z2);
	crypto_fe_tobytes(out, &x2);
out:
	sodium_memzero(&x1, sizeof(x1));
	sodium_memzero(&x2, sizeof(x2));
	sodium_memzero(&z2, sizeof(z2));
	sodium_memzero(&x3, sizeof(x3));
	sodium_memzero(&z3, sizeof(z3));
	sodium_memzero(&a, sizeof(a));
	sodium_memzero(&aa, sizeof(aa));
	sodium_memzero(&b, sizeof(b));
	sodium_memzero(&bb, sizeof(bb));
	sodium_memzero(&e, sizeof(e));
	sodium_memzero(&c, sizeof(c));
	sodium_memzero(&d, sizeof(d));
	sodium_memzero(&da, sizeof(da));
	sodium_memzero(&cb, sizeof(cb));
	sodium_memzero(zb, sizeof(zb));
	sodium_memzero(&swap, sizeof(swap));
	return rc;
}

void crypto_x25519_kappa(const uint8_t s[static 32], uint8_t kappa[static 32])
{
	uint8_t r[32];
	uint8_t carry = 0;

	/* r = s / 8 mod l, then kappa = 8 r as an integer: r < l < 2^253, so
	 * 8 r < 2^256 and the last carry is zero. */
	crypto_core_ed25519_scalar_mul(r, s, inv8_mod_l);
	for (int i = 0; i < 32; i++) {
		kappa[i] = (uint8_t)((r[i] << 3) | carry);
		carry = (uint8_t)(r[i] >> 5);
	}
	sodium_memzero(r, sizeof(r));
	sodium_memzero(&carry, sizeof(carry));
}

cr_err crypto_x25519_mul(const uint8_t s[static 32], const uint8_t p[static 32],
			 uint8_t out[static 32])
{
	crypto_fe u;
	uint8_t kappa[32], q[32];
	cr_err rc;

	rc = crypto_x25519_decode(p, &u);
	if (rc != CR_OK)
		return rc;
	crypto_x25519_kappa(s, kappa);
	rc = crypto_x25519_ladder(kappa, p, q);
	if (rc == CR_OK)
		memcpy(out, q, sizeof(q));
	sodium_memzero(kappa, sizeof(kappa));
	sodium_memzero(q, sizeof(q));
	sodium_memzero(&u, sizeof(u));
	return rc;
}
