/*
 * x25519_h2c.c: the hash to the group of suite x25519-ell2-sha512
 * (docs/spec/psi-protocol.md section 2b, issue 22): RFC 9380's
 * curve25519_XMD:SHA-512_ELL2_RO_ (expand_message_xmd with SHA-512, two
 * field elements, Elligator 2 with Z = 2, the two points added on the
 * Montgomery curve, the sum multiplied by the cofactor 8), and the suite's
 * H(t, d) on top of it.
 *
 * The field part (the map, the addition, the doublings) is straight-line
 * code over crypto_fe operations: additions, multiplications, one
 * exponentiation per map for the square root and the square test together
 * (appendix G.2.1), conditional moves by masks, no branch or index on the
 * data, so that an 8-lane vector version is a mechanical port (it is
 * crypto/x25519_h2c_ifma.c, which crypto_x25519_hash_many runs after
 * crypto_x25519_hash_to_group_field below). Points are
 * projective (X : Y : Z) with u = X / Z and v = Y / Z; Z = 0 is the
 * identity, which only the final test looks at (it is public: the result is
 * then refused).
 */
#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto_internal.h"

#define H2C_LABEL "cleanroom/psi/v2"
#define H2C_DST "CLEANROOM-V02-CS01-with-curve25519_XMD:SHA-512_ELL2_RO_"

#define XMD_B_BYTES 64  /* SHA-512's output */
#define XMD_S_BYTES 128 /* SHA-512's input block: the length of Z_pad */
#define H2C_L 48        /* ceil((ceil(log2(p)) + k) / 8), k = 128 */

/* A point of the Montgomery curve v^2 = u^3 + J u^2 + u, projective. */
struct h2c_point {
	crypto_fe X, Y, Z;
};

static const crypto_fe fe_one = {{1, 0, 0, 0, 0}};
static const crypto_fe fe_19 = {{19, 0, 0, 0, 0}};
/* J = 486662, the curve's A */
static const crypto_fe fe_j = {{486662, 0, 0, 0, 0}};
/* c3 = sqrt(-1) = 2^((p - 1) / 4) */
static const crypto_fe fe_sqrtm1 = {{
	UINT64_C(0x61b274a0ea0b0), UINT64_C(0xd5a5fc8f189d), UINT64_C(0x7ef5e9cbd0c60),
	UINT64_C(0x78595a6804c9e), UINT64_C(0x2b8324804fc1d),
}};
/* c2 = 2^((p + 3) / 8), which is 1 + sqrt(-1) (its square is 2 sqrt(-1)) */
static const crypto_fe fe_c2 = {{
	UINT64_C(0x61b274a0ea0b1), UINT64_C(0xd5a5fc8f189d), UINT64_C(0x7ef5e9cbd0c60),
	UINT64_C(0x78595a6804c9e), UINT64_C(0x2b8324804fc1d),
}};

/* ==================================================== expand_message_xmd */

/* SHA-512's state after Z_pad, which is one whole input block of zeros:
 * the same for every message, so it is hashed once per process and b_0
 * starts from a copy (one compression of about seven saved per hash). */
static crypto_hash_sha512_state zpad_state;
static pthread_once_t zpad_once = PTHREAD_ONCE_INIT;

static void zpad_init(void)
{
	static const uint8_t z_pad[XMD_S_BYTES];

	crypto_hash_sha512_init(&zpad_state);
	crypto_hash_sha512_update(&zpad_state, z_pad, sizeof(z_pad));
}

void crypto_h2c_expand_xmd_sha512(const uint8_t *msg, size_t msg_len,
				  const uint8_t *dst, size_t dst_len,
				  uint8_t *out, size_t len)
{
	crypto_hash_sha512_state st;
	uint8_t b0[XMD_B_BYTES], bi[XMD_B_BYTES];
	/* I2OSP(len_in_bytes, 2) || I2OSP(0, 1) */
	uint8_t lib[3];
	uint8_t dst_tail, idx;
	size_t ell;

	if (dst_len == 0 || dst_len > 255)
		cr_die("expand_message_xmd: the DST must have 1 to 255 bytes");
	if (len == 0 || len > 255 * XMD_B_BYTES)
		cr_die("expand_message_xmd: len_in_bytes outside 1 .. 255 * 64");
	ell = (len + XMD_B_BYTES - 1) / XMD_B_BYTES;
	lib[0] = (uint8_t)(len >> 8);
	lib[1] = (uint8_t)len;
	lib[2] = 0;
	dst_tail = (uint8_t)dst_len; /* DST_prime = DST || I2OSP(len(DST), 1) */

	/* b_0 = H(Z_pad || msg || l_i_b_str || I2OSP(0, 1) || DST_prime) */
	if (pthread_once(&zpad_once, zpad_init) != 0)
		cr_die("expand_message_xmd: pthread_once failed");
	st = zpad_state;
	if (msg_len > 0)
		crypto_hash_sha512_update(&st, msg, msg_len);
	crypto_hash_sha512_update(&st, lib, sizeof(lib));
	crypto_hash_sha512_update(&st, dst, dst_len);
	crypto_hash_sha512_update(&st, &dst_tail, 1);
	crypto_hash_sha512_final(&st, b0);

	/* b_1 = H(b_0 || 1 || DST_prime), b_i = H((b_0 xor b_(i-1)) || i || DST_prime) */
	memcpy(bi, b0, sizeof(bi));
	for (size_t i = 1; i <= ell; i++) {
		size_t off = (i - 1) * XMD_B_BYTES;
		size_t n = len - off < XMD_B_BYTES ? len - off : XMD_B_BYTES;

		if (i > 1) {
			for (size_t j = 0; j < XMD_B_BYTES; j++)
				bi[j] ^= b0[j];
		}
		idx = (uint8_t)i;
		crypto_hash_sha512_init(&st);
		crypto_hash_sha512_update(&st, bi, sizeof(bi));
		crypto_hash_sha512_update(&st, &idx, 1);
		crypto_hash_sha512_update(&st, dst, dst_len);
		crypto_hash_sha512_update(&st, &dst_tail, 1);
		crypto_hash_sha512_final(&st, bi);
		memcpy(out + off, bi, n);
	}
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(b0, sizeof(b0));
	sodium_memzero(bi, sizeof(bi));
}

/* ========================================================= hash_to_field */

/* h = OS2IP(b) mod p for 48 big-endian bytes: with n = lo + 2^255 hi
 * (lo the low 255 bits, hi the high 129), n = lo + 19 hi (mod p). */
static void fe_from48_be(crypto_fe *h, const uint8_t b[static H2C_L])
{
	uint8_t le[H2C_L + 1], lo[32], hi[32];
	crypto_fe f;

	for (int i = 0; i < H2C_L; i++)
		le[i] = b[H2C_L - 1 - i];
	le[H2C_L] = 0;
	memcpy(lo, le, 32);
	lo[31] &= 0x7f;
	memset(hi, 0, sizeof(hi));
	for (int i = 0; i < 17; i++)
		hi[i] = (uint8_t)((le[31 + i] >> 7) | (le[32 + i] << 1));
	crypto_fe_frombytes(h, lo);
	crypto_fe_frombytes(&f, hi);
	crypto_fe_mul(&f, &f, &fe_19);
	crypto_fe_add(h, h, &f);
	sodium_memzero(le, sizeof(le));
	sodium_memzero(lo, sizeof(lo));
	sodium_memzero(hi, sizeof(hi));
	sodium_memzero(&f, sizeof(f));
}

void crypto_x25519_hash_to_field(const uint8_t *msg, size_t msg_len,
				 const uint8_t *dst, size_t dst_len,
				 crypto_fe *u, size_t count)
{
	uint8_t uniform[2 * H2C_L];

	if (count < 1 || count > 2)
		cr_die("hash_to_field: count must be 1 or 2");
	crypto_h2c_expand_xmd_sha512(msg, msg_len, dst, dst_len, uniform, count * H2C_L);
	for (size_t i = 0; i < count; i++)
		fe_from48_be(&u[i], uniform + i * H2C_L);
	sodium_memzero(uniform, sizeof(uniform));
}

/* ================================================== field-level helpers */

/* 1 when f = 0 (mod p), else 0, without a branch. */
static uint64_t fe_iszero(const crypto_fe *f)
{
	uint8_t b[32];
	unsigned d = 0;

	crypto_fe_tobytes(b, f);
	for (int i = 0; i < 32; i++)
		d |= b[i];
	sodium_memzero(b, sizeof(b));
	return (uint64_t)(((d - 1u) >> 8) & 1u);
}

/* 1 when f = g (mod p), else 0. */
static uint64_t fe_eq(const crypto_fe *f, const crypto_fe *g)
{
	crypto_fe t;
	uint64_t r;

	crypto_fe_sub(&t, f, g);
	r = fe_iszero(&t);
	sodium_memzero(&t, sizeof(t));
	return r;
}

/* sgn0 (RFC 9380 section 4.1, m = 1): the parity of the reduced value. */
static uint64_t fe_sgn0(const crypto_fe *f)
{
	uint8_t b[32];
	uint64_t s;

	crypto_fe_tobytes(b, f);
	s = b[0] & 1;
	sodium_memzero(b, sizeof(b));
	return s;
}

/* ========================================================== Elligator 2 */

struct map_tmp {
	crypto_fe tv1, tv2, tv3, xd, x1n, x2n, xn, gxd, gx1, gx2;
	crypto_fe y11, y12, y1, y21, y22, y2, y, ny;
};

/*
 * map_to_curve_elligator2_curve25519 (RFC 9380 appendix G.2.1), step by
 * step: x1 = -J / (1 + 2 u^2) and x2 = 2 u^2 x1; one exponentiation by
 * (p - 5) / 8 gives the candidate square roots of g(x1) and g(x2); x1 is
 * taken when g(x1) is a square; v's sign makes sgn0(v) = 1 exactly for x1.
 * The result is (xn : v xd : xd).
 */
static void h2c_map(struct h2c_point *q, const crypto_fe *u)
{
	struct map_tmp t;
	uint64_t e1, e2, e3, e4;

	crypto_fe_sq(&t.tv1, u);
	crypto_fe_add(&t.tv1, &t.tv1, &t.tv1);     /* 2 u^2 */
	crypto_fe_add(&t.xd, &t.tv1, &fe_one);     /* non-zero: -1/2 is no square */
	crypto_fe_neg(&t.x1n, &fe_j);              /* x1 = x1n / xd */
	crypto_fe_sq(&t.tv2, &t.xd);
	crypto_fe_mul(&t.gxd, &t.tv2, &t.xd);      /* xd^3 */
	crypto_fe_mul(&t.gx1, &fe_j, &t.tv1);      /* x1n + J xd */
	crypto_fe_mul(&t.gx1, &t.gx1, &t.x1n);
	crypto_fe_add(&t.gx1, &t.gx1, &t.tv2);
	crypto_fe_mul(&t.gx1, &t.gx1, &t.x1n);     /* g(x1) = gx1 / gxd */
	crypto_fe_sq(&t.tv3, &t.gxd);
	crypto_fe_sq(&t.tv2, &t.tv3);              /* gxd^4 */
	crypto_fe_mul(&t.tv3, &t.tv3, &t.gxd);     /* gxd^3 */
	crypto_fe_mul(&t.tv3, &t.tv3, &t.gx1);     /* gx1 gxd^3 */
	crypto_fe_mul(&t.tv2, &t.tv2, &t.tv3);     /* gx1 gxd^7 */
	crypto_fe_pow22523(&t.y11, &t.tv2);
	crypto_fe_mul(&t.y11, &t.y11, &t.tv3);     /* (gx1 / gxd)^((p + 3) / 8) */
	crypto_fe_mul(&t.y12, &t.y11, &fe_sqrtm1);
	crypto_fe_sq(&t.tv2, &t.y11);
	crypto_fe_mul(&t.tv2, &t.tv2, &t.gxd);
	e1 = fe_eq(&t.tv2, &t.gx1);
	t.y1 = t.y12;
	crypto_fe_cmov(&t.y1, &t.y11, e1);         /* sqrt(g(x1)) if it is a square */
	crypto_fe_mul(&t.x2n, &t.x1n, &t.tv1);     /* x2 = x2n / xd */
	crypto_fe_mul(&t.y21, &t.y11, u);
	crypto_fe_mul(&t.y21, &t.y21, &fe_c2);
	crypto_fe_mul(&t.y22, &t.y21, &fe_sqrtm1);
	crypto_fe_mul(&t.gx2, &t.gx1, &t.tv1);     /* g(x2) = 2 u^2 g(x1) */
	crypto_fe_sq(&t.tv2, &t.y21);
	crypto_fe_mul(&t.tv2, &t.tv2, &t.gxd);
	e2 = fe_eq(&t.tv2, &t.gx2);
	t.y2 = t.y22;
	crypto_fe_cmov(&t.y2, &t.y21, e2);         /* sqrt(g(x2)) if it is a square */
	crypto_fe_sq(&t.tv2, &t.y1);
	crypto_fe_mul(&t.tv2, &t.tv2, &t.gxd);
	e3 = fe_eq(&t.tv2, &t.gx1);                /* g(x1) is a square */
	t.xn = t.x2n;
	crypto_fe_cmov(&t.xn, &t.x1n, e3);
	t.y = t.y2;
	crypto_fe_cmov(&t.y, &t.y1, e3);
	e4 = fe_sgn0(&t.y);
	crypto_fe_neg(&t.ny, &t.y);
	crypto_fe_cmov(&t.y, &t.ny, e3 ^ e4);      /* sgn0(v) = 1 exactly for x1 */
	q->X = t.xn;
	crypto_fe_mul(&q->Y, &t.y, &t.xd);
	q->Z = t.xd;
	sodium_memzero(&t, sizeof(t));
	sodium_memzero(&e1, sizeof(e1));
	sodium_memzero(&e2, sizeof(e2));
	sodium_memzero(&e3, sizeof(e3));
	sodium_memzero(&e4, sizeof(e4));
}

/* ======================================================= the group law */

struct law_tmp {
	crypto_fe zp, x1, y1, x2, xs, n, d, nd, dd, t, d2, d3, s;
};

/*
 * The chord-and-tangent law's common tail. With x1 = t->x1 / zp, y1 =
 * t->y1 / zp, x1 + x2 = t->xs / zp and the slope n / d:
 *   T = n^2 zp - (J zp + xs) d^2            (x3 = T / (d^2 zp))
 *   X3 = T d,  Y3 = n (x1 d^2 - T) - y1 d^3,  Z3 = d^3 zp.
 * d = 0 (P + (-P), or twice a point of order 2) gives Z3 = 0, the identity.
 */
static void h2c_law_tail(struct h2c_point *r, struct law_tmp *t)
{
	crypto_fe_sq(&t->d2, &t->d);
	crypto_fe_mul(&t->d3, &t->d2, &t->d);
	crypto_fe_mul(&t->s, &fe_j, &t->zp);
	crypto_fe_add(&t->s, &t->s, &t->xs);
	crypto_fe_mul(&t->s, &t->s, &t->d2);
	crypto_fe_sq(&t->t, &t->n);
	crypto_fe_mul(&t->t, &t->t, &t->zp);
	crypto_fe_sub(&t->t, &t->t, &t->s);        /* T */
	crypto_fe_mul(&r->X, &t->t, &t->d);
	crypto_fe_mul(&t->s, &t->x1, &t->d2);
	crypto_fe_sub(&t->s, &t->s, &t->t);
	crypto_fe_mul(&t->s, &t->s, &t->n);
	crypto_fe_mul(&t->t, &t->y1, &t->d3);
	crypto_fe_sub(&r->Y, &t->s, &t->t);
	crypto_fe_mul(&r->Z, &t->d3, &t->zp);
}

/* The tangent's slope at (x1, y1) = (t->x1 / zp, t->y1 / zp), scaled by
 * zp^2: nd = 3 x1^2 + 2 J x1 zp + zp^2, dd = 2 y1 zp. */
static void h2c_tangent(struct law_tmp *t)
{
	crypto_fe_sq(&t->nd, &t->x1);
	crypto_fe_add(&t->s, &t->nd, &t->nd);
	crypto_fe_add(&t->nd, &t->nd, &t->s);      /* 3 x1^2 */
	crypto_fe_mul(&t->s, &fe_j, &t->x1);
	crypto_fe_add(&t->s, &t->s, &t->s);
	crypto_fe_mul(&t->s, &t->s, &t->zp);
	crypto_fe_add(&t->nd, &t->nd, &t->s);      /* + 2 J x1 zp */
	crypto_fe_sq(&t->s, &t->zp);
	crypto_fe_add(&t->nd, &t->nd, &t->s);      /* + zp^2 */
	crypto_fe_mul(&t->dd, &t->y1, &t->zp);
	crypto_fe_add(&t->dd, &t->dd, &t->dd);
}

/* r = p + q for any two points with Z != 0 (the map's outputs): the chord,
 * or the tangent by a mask when p = q; r may alias either. */
static void h2c_add(struct h2c_point *r, const struct h2c_point *p, const struct h2c_point *q)
{
	struct law_tmp t;
	uint64_t same;

	crypto_fe_mul(&t.zp, &p->Z, &q->Z);
	crypto_fe_mul(&t.x1, &p->X, &q->Z);
	crypto_fe_mul(&t.y1, &p->Y, &q->Z);
	crypto_fe_mul(&t.x2, &q->X, &p->Z);
	crypto_fe_add(&t.xs, &t.x1, &t.x2);
	crypto_fe_sub(&t.d, &t.x2, &t.x1);
	crypto_fe_mul(&t.n, &q->Y, &p->Z);
	crypto_fe_sub(&t.n, &t.n, &t.y1);
	/* the chord's slope is 0/0 exactly when p = q */
	same = fe_iszero(&t.d) & fe_iszero(&t.n);
	h2c_tangent(&t);
	crypto_fe_cmov(&t.n, &t.nd, same);
	crypto_fe_cmov(&t.d, &t.dd, same);
	h2c_law_tail(r, &t);
	sodium_memzero(&t, sizeof(t));
	sodium_memzero(&same, sizeof(same));
}

/* r = 2 p; r may alias p. */
static void h2c_double(struct h2c_point *r, const struct h2c_point *p)
{
	struct law_tmp t;

	t.zp = p->Z;
	t.x1 = p->X;
	t.y1 = p->Y;
	crypto_fe_add(&t.xs, &t.x1, &t.x1);
	h2c_tangent(&t);
	t.n = t.nd;
	t.d = t.dd;
	h2c_law_tail(r, &t);
	sodium_memzero(&t, sizeof(t));
}

/* clear_cofactor with h_eff = 8 = 2^3: three doublings. */
static void h2c_clear_cofactor(struct h2c_point *p)
{
	for (int i = 0; i < 3; i++)
		h2c_double(p, p);
}

/* The affine u and v (both 0 for the identity, as 1/0 is 0 here); returns
 * 1 for the identity (Z = 0), else 0. */
static uint64_t h2c_to_affine(uint8_t u[static 32], uint8_t v[static 32],
			      const struct h2c_point *p)
{
	crypto_fe zi, f;
	uint64_t identity = fe_iszero(&p->Z);

	crypto_fe_invert(&zi, &p->Z);
	crypto_fe_mul(&f, &p->X, &zi);
	crypto_fe_tobytes(u, &f);
	crypto_fe_mul(&f, &p->Y, &zi);
	crypto_fe_tobytes(v, &f);
	sodium_memzero(&zi, sizeof(zi));
	sodium_memzero(&f, sizeof(f));
	return identity;
}

/* ============================================================ the suite */

/* Map both field elements, add, clear the cofactor. */
static void h2c_field_point(struct h2c_point *p, const crypto_fe r[static 2])
{
	struct h2c_point q1;

	h2c_map(p, &r[0]);
	h2c_map(&q1, &r[1]);
	h2c_add(p, p, &q1);
	h2c_clear_cofactor(p);
	sodium_memzero(&q1, sizeof(q1));
}

/* hash_to_curve's point. */
static void h2c_hash_point(struct h2c_point *p, const uint8_t *msg, size_t msg_len,
			   const uint8_t *dst, size_t dst_len)
{
	crypto_fe r[2];

	crypto_x25519_hash_to_field(msg, msg_len, dst, dst_len, r, 2);
	h2c_field_point(p, r);
	sodium_memzero(r, sizeof(r));
}

void crypto_x25519_hash_from_field(const crypto_fe r[static 2],
				   uint8_t u[static 32], uint8_t v[static 32])
{
	struct h2c_point p;

	h2c_field_point(&p, r);
	(void)h2c_to_affine(u, v, &p);
	sodium_memzero(&p, sizeof(p));
}

void crypto_x25519_elligator2(const crypto_fe *r, uint8_t u[static 32], uint8_t v[static 32])
{
	struct h2c_point q;

	h2c_map(&q, r);
	(void)h2c_to_affine(u, v, &q); /* the map never gives the identity */
	sodium_memzero(&q, sizeof(q));
}

void crypto_x25519_encode_to_curve(const uint8_t *msg, size_t msg_len,
				   const uint8_t *dst, size_t dst_len,
				   uint8_t u[static 32], uint8_t v[static 32])
{
	crypto_fe r;
	struct h2c_point q;

	crypto_x25519_hash_to_field(msg, msg_len, dst, dst_len, &r, 1);
	h2c_map(&q, &r);
	h2c_clear_cofactor(&q);
	(void)h2c_to_affine(u, v, &q);
	sodium_memzero(&r, sizeof(r));
	sodium_memzero(&q, sizeof(q));
}

void crypto_x25519_hash_to_curve(const uint8_t *msg, size_t msg_len,
				 const uint8_t *dst, size_t dst_len,
				 uint8_t u[static 32], uint8_t v[static 32])
{
	struct h2c_point p;

	h2c_hash_point(&p, msg, msg_len, dst, dst_len);
	(void)h2c_to_affine(u, v, &p); /* the identity comes out as (0, 0) */
	sodium_memzero(&p, sizeof(p));
}

void crypto_x25519_hash_to_group_field(enum crypto_id_type t,
				       const uint8_t digest[static CRYPTO_DIGEST_BYTES],
				       crypto_fe r[static 2])
{
	const char *type = crypto_id_type_name_checked(t);
	const size_t label_len = sizeof(H2C_LABEL) - 1, type_len = strlen(type);
	/* "cleanroom/psi/v2" 0x00 type 0x00 digest: NUL-separated fields that
	 * contain no NUL, so the encoding is unambiguous (section 2). */
	uint8_t m[sizeof(H2C_LABEL) - 1 + 1 + 5 + 1 + CRYPTO_DIGEST_BYTES];
	size_t n = 0;

	if (type_len > 5)
		cr_die("hash_to_group: a type name longer than 5 bytes");
	memcpy(m, H2C_LABEL, label_len);
	n += label_len;
	m[n++] = 0x00;
	memcpy(m + n, type, type_len);
	n += type_len;
	m[n++] = 0x00;
	memcpy(m + n, digest, CRYPTO_DIGEST_BYTES);
	n += CRYPTO_DIGEST_BYTES;
	/* hash_to_field wipes the uniform bytes; M is wiped here. */
	crypto_x25519_hash_to_field(m, n, (const uint8_t *)H2C_DST, sizeof(H2C_DST) - 1, r, 2);
	sodium_memzero(m, sizeof(m));
}

cr_err crypto_x25519_hash_to_group(enum crypto_id_type t,
				   const uint8_t digest[static CRYPTO_DIGEST_BYTES],
				   uint8_t out[static 32])
{
	crypto_fe r[2];
	uint8_t u[32], v[32];
	struct h2c_point p;
	uint64_t ident;
	cr_err rc = CR_OK;

	crypto_x25519_hash_to_group_field(t, digest, r);
	h2c_field_point(&p, r);
	/* Whether the result is the identity is public: it is then refused. */
	ident = h2c_to_affine(u, v, &p);
	CR_CT_PUBLIC(&ident, sizeof(ident));
	if (ident) {
		rc = CR_ERR_PSI_IDENTITY;
		goto out;
	}
	memcpy(out, u, sizeof(u));
out:
	/* The digest is personal data, and everything here a function of it. */
	sodium_memzero(r, sizeof(r));
	sodium_memzero(u, sizeof(u));
	sodium_memzero(v, sizeof(v));
	sodium_memzero(&p, sizeof(p));
	return rc;
}
