/*
 * x25519_h2c_ifma.c: the field-level half of suite x25519-ell2-sha512's
 * hash to the group (docs/spec/psi-protocol.md section 2b, issue 22) on
 * eight lanes at once with AVX-512 IFMA: both Elligator 2 maps, the
 * addition of the two points, the cofactor clearing by three doublings and
 * the affine coordinates. It is crypto/x25519_h2c.c's field part, step for
 * step, with crypto_fe replaced by the eight-lane fe8 of
 * crypto/x25519_fe8.h and each 0/1 flag by a lane mask, so its bytes equal
 * crypto_x25519_hash_from_field's in every lane;
 * tests/unit/crypto/test_x25519_h2c_ifma.c compares the two.
 * expand_message_xmd (SHA-512) stays scalar, one element at a time
 * (crypto_x25519_hash_to_group_field); crypto/x25519_batch.c feeds its
 * field elements here eight at a time, after CPUID said the CPU has IFMA.
 *
 * Constant time as the portable code: no branch or index on the data, the
 * choices are mask blends; the identity mask (whose lanes are then
 * refused) is the only output derived from the values besides the bytes.
 */
#include <immintrin.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto_internal.h"
#include "crypto/x25519_fe8.h"

/* A point of v^2 = u^3 + J u^2 + u on each lane, projective (u = X / Z,
 * v = Y / Z; Z = 0 the identity). */
struct h2c8_point {
	fe8 X, Y, Z;
};

/* J = 486662, the curve's A */
#define H2C8_J 486662
/* c3 = sqrt(-1) = 2^((p - 1) / 4), radix 2^52 */
static const uint64_t h2c8_sqrtm1[5] = {
	UINT64_C(0xe1b274a0ea0b0), UINT64_C(0x6ad2fe478c4e), UINT64_C(0xdfbd7a72f4318),
	UINT64_C(0xdf0b2b4d00993), UINT64_C(0x2b8324804fc1),
};
/* c2 = 2^((p + 3) / 8) = 1 + sqrt(-1), radix 2^52 */
static const uint64_t h2c8_c2[5] = {
	UINT64_C(0xe1b274a0ea0b1), UINT64_C(0x6ad2fe478c4e), UINT64_C(0xdfbd7a72f4318),
	UINT64_C(0xdf0b2b4d00993), UINT64_C(0x2b8324804fc1),
};

/* ========================================================== Elligator 2 */

struct map8_tmp {
	fe8 one, j, sqrtm1, c2;
	fe8 tv1, tv2, tv3, xd, x1n, x2n, xn, gxd, gx1, gx2;
	fe8 y11, y12, y1, y21, y22, y2, y, ny;
};

/* h2c_map of crypto/x25519_h2c.c on every lane (RFC 9380 appendix G.2.1),
 * up to the input of the exponentiation: t->tv2 = gx1 gxd^7. */
static IFMA void h2c8_map_head(struct map8_tmp *t, const fe8 *u)
{
	fe8_set_small(&t->one, 1);
	fe8_set_small(&t->j, H2C8_J);
	fe8_set1(&t->sqrtm1, h2c8_sqrtm1);
	fe8_set1(&t->c2, h2c8_c2);
	fe8_sq(&t->tv1, u);
	fe8_add(&t->tv1, &t->tv1, &t->tv1);        /* 2 u^2 */
	fe8_add(&t->xd, &t->tv1, &t->one);         /* non-zero: -1/2 is no square */
	fe8_neg(&t->x1n, &t->j);                   /* x1 = x1n / xd */
	fe8_sq(&t->tv2, &t->xd);
	fe8_mul(&t->gxd, &t->tv2, &t->xd);         /* xd^3 */
	fe8_mul(&t->gx1, &t->j, &t->tv1);          /* x1n + J xd */
	fe8_mul(&t->gx1, &t->gx1, &t->x1n);
	fe8_add(&t->gx1, &t->gx1, &t->tv2);
	fe8_mul(&t->gx1, &t->gx1, &t->x1n);        /* g(x1) = gx1 / gxd */
	fe8_sq(&t->tv3, &t->gxd);
	fe8_sq(&t->tv2, &t->tv3);                  /* gxd^4 */
	fe8_mul(&t->tv3, &t->tv3, &t->gxd);        /* gxd^3 */
	fe8_mul(&t->tv3, &t->tv3, &t->gx1);        /* gx1 gxd^3 */
	fe8_mul(&t->tv2, &t->tv2, &t->tv3);        /* gx1 gxd^7 */
}

/* The rest of the map, with t->y11 = t->tv2^((p - 5) / 8): the result is
 * (xn : v xd : xd). */
static IFMA void h2c8_map_tail(struct h2c8_point *q, struct map8_tmp *t, const fe8 *u)
{
	__mmask8 e1, e2, e3, e4;

	fe8_mul(&t->y11, &t->y11, &t->tv3);        /* (gx1 / gxd)^((p + 3) / 8) */
	fe8_mul(&t->y12, &t->y11, &t->sqrtm1);
	fe8_sq(&t->tv2, &t->y11);
	fe8_mul(&t->tv2, &t->tv2, &t->gxd);
	e1 = fe8_eq(&t->tv2, &t->gx1);
	t->y1 = t->y12;
	fe8_cmov(&t->y1, &t->y11, e1);             /* sqrt(g(x1)) if it is a square */
	fe8_mul(&t->x2n, &t->x1n, &t->tv1);        /* x2 = x2n / xd */
	fe8_mul(&t->y21, &t->y11, u);
	fe8_mul(&t->y21, &t->y21, &t->c2);
	fe8_mul(&t->y22, &t->y21, &t->sqrtm1);
	fe8_mul(&t->gx2, &t->gx1, &t->tv1);        /* g(x2) = 2 u^2 g(x1) */
	fe8_sq(&t->tv2, &t->y21);
	fe8_mul(&t->tv2, &t->tv2, &t->gxd);
	e2 = fe8_eq(&t->tv2, &t->gx2);
	t->y2 = t->y22;
	fe8_cmov(&t->y2, &t->y21, e2);             /* sqrt(g(x2)) if it is a square */
	fe8_sq(&t->tv2, &t->y1);
	fe8_mul(&t->tv2, &t->tv2, &t->gxd);
	e3 = fe8_eq(&t->tv2, &t->gx1);             /* g(x1) is a square */
	t->xn = t->x2n;
	fe8_cmov(&t->xn, &t->x1n, e3);
	t->y = t->y2;
	fe8_cmov(&t->y, &t->y1, e3);
	e4 = fe8_sgn0(&t->y);
	fe8_neg(&t->ny, &t->y);
	fe8_cmov(&t->y, &t->ny, (__mmask8)(e3 ^ e4)); /* sgn0(v) = 1 exactly for x1 */
	q->X = t->xn;
	fe8_mul(&q->Y, &t->y, &t->xd);
	q->Z = t->xd;
	sodium_memzero(&e1, sizeof(e1));
	sodium_memzero(&e2, sizeof(e2));
	sodium_memzero(&e3, sizeof(e3));
	sodium_memzero(&e4, sizeof(e4));
}

/* Both maps, q[k] = map(u[k]), with their exponentiations side by side. */
static IFMA void h2c8_map2(struct h2c8_point q[2], const fe8 u[2])
{
	struct map8_tmp t[2];
	fe8 z[2];

	h2c8_map_head(&t[0], &u[0]);
	h2c8_map_head(&t[1], &u[1]);
	z[0] = t[0].tv2;
	z[1] = t[1].tv2;
	fe8_pow22523_x2(z, z);
	t[0].y11 = z[0];
	t[1].y11 = z[1];
	h2c8_map_tail(&q[0], &t[0], &u[0]);
	h2c8_map_tail(&q[1], &t[1], &u[1]);
	sodium_memzero(t, sizeof(t));
	sodium_memzero(z, sizeof(z));
}

/* ======================================================= the group law */

struct law8_tmp {
	fe8 zp, x1, y1, x2, xs, n, d, nd, dd, t, d2, d3, s;
};

/* h2c_law_tail: X3 = T d, Y3 = n (x1 d^2 - T) - y1 d^3, Z3 = d^3 zp with
 * T = n^2 zp - (J zp + xs) d^2; d = 0 gives Z3 = 0, the identity. */
static IFMA void h2c8_law_tail(struct h2c8_point *r, struct law8_tmp *t)
{
	fe8 j;

	fe8_set_small(&j, H2C8_J);
	fe8_sq(&t->d2, &t->d);
	fe8_mul(&t->d3, &t->d2, &t->d);
	fe8_mul(&t->s, &j, &t->zp);
	fe8_add(&t->s, &t->s, &t->xs);
	fe8_mul(&t->s, &t->s, &t->d2);
	fe8_sq(&t->t, &t->n);
	fe8_mul(&t->t, &t->t, &t->zp);
	fe8_sub(&t->t, &t->t, &t->s);              /* T */
	fe8_mul(&r->X, &t->t, &t->d);
	fe8_mul(&t->s, &t->x1, &t->d2);
	fe8_sub(&t->s, &t->s, &t->t);
	fe8_mul(&t->s, &t->s, &t->n);
	fe8_mul(&t->t, &t->y1, &t->d3);
	fe8_sub(&r->Y, &t->s, &t->t);
	fe8_mul(&r->Z, &t->d3, &t->zp);
}

/* h2c_tangent: nd = 3 x1^2 + 2 J x1 zp + zp^2, dd = 2 y1 zp. */
static IFMA void h2c8_tangent(struct law8_tmp *t)
{
	fe8 j;

	fe8_set_small(&j, H2C8_J);
	fe8_sq(&t->nd, &t->x1);
	fe8_add(&t->s, &t->nd, &t->nd);
	fe8_add(&t->nd, &t->nd, &t->s);            /* 3 x1^2 */
	fe8_mul(&t->s, &j, &t->x1);
	fe8_add(&t->s, &t->s, &t->s);
	fe8_mul(&t->s, &t->s, &t->zp);
	fe8_add(&t->nd, &t->nd, &t->s);            /* + 2 J x1 zp */
	fe8_sq(&t->s, &t->zp);
	fe8_add(&t->nd, &t->nd, &t->s);            /* + zp^2 */
	fe8_mul(&t->dd, &t->y1, &t->zp);
	fe8_add(&t->dd, &t->dd, &t->dd);
}

/* r = p + q (Z != 0 in both, every lane): the chord, or the tangent in the
 * lanes where p = q (the chord's slope is 0/0 exactly there); r may alias
 * either. */
static IFMA void h2c8_add(struct h2c8_point *r, const struct h2c8_point *p,
			  const struct h2c8_point *q)
{
	struct law8_tmp t;
	__mmask8 same;

	fe8_mul(&t.zp, &p->Z, &q->Z);
	fe8_mul(&t.x1, &p->X, &q->Z);
	fe8_mul(&t.y1, &p->Y, &q->Z);
	fe8_mul(&t.x2, &q->X, &p->Z);
	fe8_add(&t.xs, &t.x1, &t.x2);
	fe8_sub(&t.d, &t.x2, &t.x1);
	fe8_mul(&t.n, &q->Y, &p->Z);
	fe8_sub(&t.n, &t.n, &t.y1);
	same = (__mmask8)(fe8_is_zero(&t.d) & fe8_is_zero(&t.n));
	h2c8_tangent(&t);
	fe8_cmov(&t.n, &t.nd, same);
	fe8_cmov(&t.d, &t.dd, same);
	h2c8_law_tail(r, &t);
	sodium_memzero(&t, sizeof(t));
	sodium_memzero(&same, sizeof(same));
}

/* r = 2 p; r may alias p. */
static IFMA void h2c8_double(struct h2c8_point *r, const struct h2c8_point *p)
{
	struct law8_tmp t;

	t.zp = p->Z;
	t.x1 = p->X;
	t.y1 = p->Y;
	fe8_add(&t.xs, &t.x1, &t.x1);
	h2c8_tangent(&t);
	t.n = t.nd;
	t.d = t.dd;
	h2c8_law_tail(r, &t);
	sodium_memzero(&t, sizeof(t));
}

/* ============================================================ the suite */

unsigned IFMA crypto_x25519_ifma_hash_from_field8(const uint8_t r0[8][32],
						  const uint8_t r1[8][32],
						  uint8_t u[8][32], uint8_t v[8][32])
{
	struct h2c8_point q[2], *p = &q[0];
	fe8 r[2], f, zi;
	__mmask8 identity;

	fe8_frombytes(&r[0], r0);
	fe8_frombytes(&r[1], r1);
	h2c8_map2(q, r);
	h2c8_add(p, &q[0], &q[1]);
	/* clear_cofactor with h_eff = 8 = 2^3: three doublings */
	for (int i = 0; i < 3; i++)
		h2c8_double(p, p);
	identity = fe8_is_zero(&p->Z);
	fe8_invert(&zi, &p->Z);                    /* 0 for the identity */
	fe8_mul(&f, &p->X, &zi);
	fe8_tobytes(u, &f);
	fe8_mul(&f, &p->Y, &zi);
	fe8_tobytes(v, &f);
	sodium_memzero(q, sizeof(q));
	sodium_memzero(r, sizeof(r));
	sodium_memzero(&f, sizeof(f));
	sodium_memzero(&zi, sizeof(zi));
	return identity;
}
