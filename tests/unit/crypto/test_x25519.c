/* Unit tests for crypto/x25519.c: the portable Curve25519 x-only arithmetic
 * of suite x25519-ell2-sha512 (docs/spec/psi-protocol.md section 2b, issue
 * 22). The ladder reproduces RFC 7748 section 5.2's vectors (with the RFC's
 * clamping applied here, as the ladder takes the integer as it is) and
 * libsodium's X25519 on random inputs; the field inverts; decoding refuses
 * non-canonical encodings and twist points; and the checked multiplication
 * refuses every small-order point, multiplies an element of order l by s
 * itself (kappa(s) = s mod l) and commutes. */
#include "x25519_fixture.h"

#include <sodium.h>

#include "crypto/crypto.h"
#include "crypto/crypto_internal.h"

static void base_point(uint8_t p[32])
{
	memset(p, 0, 32);
	p[0] = 9;
}

static void random_u(uint8_t u[32])
{
	randombytes_buf(u, 32);
	u[31] &= 0x7f;
}

static void random_fe(crypto_fe *f)
{
	uint8_t b[32];

	random_u(b);
	crypto_fe_frombytes(f, b);
}

/* ------------------------------------------------------ RFC 7748 5.2 */

static void test_rfc7748_vectors(void **state)
{
	(void)state;
	uint8_t k[32], u[32], want[32], got[32], lib[32];

	for (size_t i = 0; i < sizeof(rfc7748_vectors) / sizeof(rfc7748_vectors[0]); i++) {
		from_hex(rfc7748_vectors[i].k, k, 32);
		from_hex(rfc7748_vectors[i].u, u, 32);
		from_hex(rfc7748_vectors[i].out, want, 32);
		/* libsodium clamps itself: the vector as published */
		assert_int_equal(crypto_scalarmult_curve25519(lib, k, u), 0);
		assert_bytes_equal(lib, want, 32);
		clamp(k);
		assert_int_equal(crypto_x25519_ladder(k, u, got), CR_OK);
		assert_bytes_equal(got, want, 32);
	}
}

static void test_rfc7748_iterated(void **state)
{
	(void)state;
	uint8_t k[32], u[32], kc[32], r[32], want[32];

	base_point(k);
	base_point(u);
	for (int i = 1; i <= 1000; i++) {
		memcpy(kc, k, 32);
		clamp(kc);
		assert_int_equal(crypto_x25519_ladder(kc, u, r), CR_OK);
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1) {
			from_hex("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
				 want, 32);
			assert_bytes_equal(k, want, 32);
		}
	}
	from_hex("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51", want, 32);
	assert_bytes_equal(k, want, 32);
}

static void test_ladder_matches_libsodium(void **state)
{
	(void)state;
	uint8_t k[32], u[32], lib[32], got[32];
	int compared = 0;

	for (int i = 0; i < 1000; i++) {
		randombytes_buf(k, 32);
		clamp(k);
		random_u(u);
		/* libsodium refuses an all-zero (small-order) result: skip it */
		if (crypto_scalarmult_curve25519(lib, k, u) != 0)
			continue;
		assert_int_equal(crypto_x25519_ladder(k, u, got), CR_OK);
		assert_bytes_equal(got, lib, 32);
		compared++;
	}
	assert_true(compared > 990);
}

/* The ladder runs on all 256 bits: an unclamped k with bit 255 and low bits
 * set gives k * P, which equals (k mod l) * P for the base point. */
static void test_ladder_unclamped(void **state)
{
	(void)state;
	uint8_t k[32], r[64] = {0}, kr[32], p[32], a[32], b[32];

	base_point(p);
	for (int i = 0; i < 32; i++) {
		randombytes_buf(k, 32);
		k[31] |= 0x80;
		k[0] |= 7;
		memcpy(r, k, 32);
		crypto_core_ed25519_scalar_reduce(kr, r);
		assert_int_equal(crypto_x25519_ladder(k, p, a), CR_OK);
		assert_int_equal(crypto_x25519_ladder(kr, p, b), CR_OK);
		assert_bytes_equal(a, b, 32);
	}
}

/* ------------------------------------------------------------ the field */

static void test_field(void **state)
{
	(void)state;
	crypto_fe a, b, c, d;
	uint8_t x[32], y[32];

	for (int i = 0; i < 200; i++) {
		random_fe(&a);
		random_fe(&b);
		crypto_fe_mul(&c, &a, &b);
		crypto_fe_invert(&d, &b);
		crypto_fe_mul(&c, &c, &d);
		crypto_fe_tobytes(x, &c);
		crypto_fe_tobytes(y, &a);
		assert_bytes_equal(x, y, 32);
		/* (a + b) - b = a, a^2 = a * a, a^2 is a square */
		crypto_fe_add(&c, &a, &b);
		crypto_fe_sub(&c, &c, &b);
		crypto_fe_tobytes(x, &c);
		assert_bytes_equal(x, y, 32);
		crypto_fe_sq(&c, &a);
		crypto_fe_mul(&d, &a, &a);
		crypto_fe_tobytes(x, &c);
		crypto_fe_tobytes(y, &d);
		assert_bytes_equal(x, y, 32);
		assert_int_equal(crypto_fe_is_square(&c), 1);
		/* 2 is not a square mod p (p = 5 mod 8), so 2 a^2 is not either */
		crypto_fe_add(&d, &c, &c);
		assert_int_equal(crypto_fe_is_square(&d), 0);
		/* a * 121665 = a * (fe)121665 */
		memset(x, 0, 32);
		x[0] = 0x41;
		x[1] = 0xdb;
		x[2] = 0x01; /* 121665 = 0x01db41 */
		crypto_fe_frombytes(&b, x);
		crypto_fe_mul(&c, &a, &b);
		crypto_fe_mul_a24(&d, &a);
		crypto_fe_tobytes(x, &c);
		crypto_fe_tobytes(y, &d);
		assert_bytes_equal(x, y, 32);
	}
	/* 0 is a square, its "inverse" is 0; p and p + 1 reduce to 0 and 1 */
	memset(x, 0, 32);
	crypto_fe_frombytes(&a, x);
	assert_int_equal(crypto_fe_is_square(&a), 1);
	crypto_fe_invert(&b, &a);
	crypto_fe_tobytes(y, &b);
	assert_true(sodium_is_zero(y, 32));
	from_hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", x, 32);
	crypto_fe_frombytes(&a, x);
	crypto_fe_tobytes(y, &a);
	assert_true(sodium_is_zero(y, 32));
	from_hex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", x, 32);
	crypto_fe_frombytes(&a, x);
	crypto_fe_tobytes(y, &a);
	assert_int_equal(y[0], 1);
	assert_true(sodium_is_zero(y + 1, 31));
	/* 2^255 - 1 = p + 18 */
	from_hex("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", x, 32);
	crypto_fe_frombytes(&a, x);
	crypto_fe_tobytes(y, &a);
	assert_int_equal(y[0], 18);
	assert_true(sodium_is_zero(y + 1, 31));
}

/* ------------------------------------------------------------- decoding */

static const char *non_canonical[] = {
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p */
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p + 1 */
	"f6ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p + 9 */
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* 2^255 - 1 */
	"0900000000000000000000000000000000000000000000000000000000000080", /* 9, bit 255 */
	"0000000000000000000000000000000000000000000000000000000000000080", /* 0, bit 255 */
};

static void test_decode_non_canonical_refused(void **state)
{
	(void)state;
	uint8_t in[32], s[32], out[32];
	crypto_fe u;

	base_point(in);
	assert_int_equal(crypto_x25519_decode(in, &u), CR_OK);
	crypto_core_ed25519_scalar_random(s);
	for (size_t i = 0; i < sizeof(non_canonical) / sizeof(non_canonical[0]); i++) {
		from_hex(non_canonical[i], in, 32);
		assert_int_equal(crypto_x25519_decode(in, &u), CR_ERR_PSI_ENCODING);
		assert_int_equal(crypto_x25519_mul(s, in, out), CR_ERR_PSI_ENCODING);
	}
}

static void test_twist_point_refused(void **state)
{
	(void)state;
	uint8_t in[32], k[32], lib[32], s[32], out[32];
	crypto_fe u;
	int found = 0;

	for (int v = 2; v < 256 && !found; v++) {
		memset(in, 0, 32);
		in[0] = (uint8_t)v;
		if (crypto_x25519_decode(in, &u) == CR_ERR_PSI_ENCODING)
			found = v;
	}
	assert_true(found != 0);
	/* X25519 still computes on it: it is a point of the twist, not junk */
	randombytes_buf(k, 32);
	clamp(k);
	assert_int_equal(crypto_scalarmult_curve25519(lib, k, in), 0);
	crypto_core_ed25519_scalar_random(s);
	assert_int_equal(crypto_x25519_mul(s, in, out), CR_ERR_PSI_ENCODING);
	/* u = -1 is the twist's point of order 4 */
	from_hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", in, 32);
	assert_int_equal(crypto_x25519_decode(in, &u), CR_ERR_PSI_ENCODING);
}

/* ---------------------------------------------- the checked multiplication */

static const char *small_order[] = {
	"0000000000000000000000000000000000000000000000000000000000000000", /* order 2 */
	"0100000000000000000000000000000000000000000000000000000000000000", /* order 4 */
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", /* order 8 */
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", /* order 8 */
};

static void test_small_order_refused(void **state)
{
	(void)state;
	uint8_t p[32], s[32], out[32];
	crypto_fe u;

	for (size_t i = 0; i < sizeof(small_order) / sizeof(small_order[0]); i++) {
		from_hex(small_order[i], p, 32);
		/* on the curve: decoding accepts it, the multiplication refuses */
		assert_int_equal(crypto_x25519_decode(p, &u), CR_OK);
		for (int j = 0; j < 16; j++) {
			crypto_core_ed25519_scalar_random(s);
			memset(out, 0xaa, 32);
			assert_int_equal(crypto_x25519_mul(s, p, out), CR_ERR_PSI_IDENTITY);
			/* out is untouched */
			for (int b = 0; b < 32; b++)
				assert_int_equal(out[b], 0xaa);
		}
	}
}

static void test_kappa(void **state)
{
	(void)state;
	uint8_t eight[32] = {8}, inv8[32], one[32] = {1}, kappa[32], s[32], wide[64] = {0}, r[32];
	uint8_t p[32], a[32], b[32];

	/* kappa(1) = 8 * (8^-1 mod l), checked against libsodium's inverse */
	assert_int_equal(crypto_core_ed25519_scalar_invert(inv8, eight), 0);
	crypto_x25519_kappa(one, kappa);
	memcpy(wide, inv8, 32);
	for (int i = 31; i > 0; i--)
		wide[i] = (uint8_t)((wide[i] << 3) | (wide[i - 1] >> 5));
	wide[0] = (uint8_t)(wide[0] << 3);
	assert_bytes_equal(kappa, wide, 32);
	base_point(p);
	for (int i = 0; i < 64; i++) {
		crypto_core_ed25519_scalar_random(s);
		crypto_x25519_kappa(s, kappa);
		/* kappa = 0 mod 8 and kappa = s mod l */
		assert_int_equal(kappa[0] & 7, 0);
		memset(wide, 0, sizeof(wide));
		memcpy(wide, kappa, 32);
		crypto_core_ed25519_scalar_reduce(r, wide);
		assert_bytes_equal(r, s, 32);
		/* the base point has order l: mul(s, P) = s * P */
		assert_int_equal(crypto_x25519_mul(s, p, a), CR_OK);
		assert_int_equal(crypto_x25519_ladder(s, p, b), CR_OK);
		assert_bytes_equal(a, b, 32);
	}
}

static void test_commutativity(void **state)
{
	(void)state;
	uint8_t a[32], b[32], ab[32], p[32], ap[32], bp[32], abp[32], bap[32], x[32];

	base_point(p);
	for (int i = 0; i < 16; i++) {
		crypto_core_ed25519_scalar_random(a);
		crypto_core_ed25519_scalar_random(b);
		crypto_core_ed25519_scalar_mul(ab, a, b);
		assert_int_equal(crypto_x25519_mul(a, p, ap), CR_OK);
		assert_int_equal(crypto_x25519_mul(b, p, bp), CR_OK);
		assert_int_equal(crypto_x25519_mul(b, ap, abp), CR_OK);
		assert_int_equal(crypto_x25519_mul(a, bp, bap), CR_OK);
		assert_int_equal(crypto_x25519_mul(ab, p, x), CR_OK);
		assert_bytes_equal(abp, bap, 32);
		assert_bytes_equal(abp, x, 32);
		/* out may alias p */
		memcpy(x, p, 32);
		assert_int_equal(crypto_x25519_mul(a, x, x), CR_OK);
		assert_bytes_equal(x, ap, 32);
	}
}

static void test_zero_scalar_refused(void **state)
{
	(void)state;
	uint8_t s[32] = {0}, p[32], out[32];

	base_point(p);
	assert_int_equal(crypto_x25519_mul(s, p, out), CR_ERR_PSI_IDENTITY);
	assert_int_equal(crypto_x25519_ladder(s, p, out), CR_ERR_PSI_IDENTITY);
}

/* Montgomery u back to Edwards y = (u - 1) / (u + 1) (the birational map
 * RFC 7748 section 4.1 gives, the sign of x 0; ed_to_u is the fixture's). */
static void u_to_ed(const uint8_t u[32], uint8_t ed[32])
{
	uint8_t one_b[32] = {1};
	crypto_fe x, one, n, d;

	crypto_fe_frombytes(&x, u);
	crypto_fe_frombytes(&one, one_b);
	crypto_fe_sub(&n, &x, &one);
	crypto_fe_add(&d, &x, &one);
	crypto_fe_invert(&d, &d);
	crypto_fe_mul(&n, &n, &d);
	crypto_fe_tobytes(ed, &n);
}

/* P + T with P of order l and T of order 1..8 (added on the Edwards form,
 * where libsodium can add): kappa clears T, so mul(s, P + T) = mul(s, P),
 * while the ladder on s itself does not for T of order 8. */
static void test_torsion_cleared(void **state)
{
	(void)state;
	uint8_t t8_u[32], t8[32], tk[32], q_scalar[32], q[32], qu[32], base[32], r[32], ru[32];
	uint8_t s[32], want[32], got[32], plain_r[32], plain_q[32];
	int differs = 0;

	from_hex(small_order[2], t8_u, 32);
	u_to_ed(t8_u, t8);
	base_point(base);
	for (int i = 0; i < 8; i++) {
		crypto_core_ed25519_scalar_random(q_scalar);
		assert_int_equal(crypto_scalarmult_ed25519_base_noclamp(q, q_scalar), 0);
		ed_to_u(q, qu);
		/* the map agrees with the ladder: u(q * B) = q * u(B), u(B) = 9 */
		assert_int_equal(crypto_x25519_ladder(q_scalar, base, want), CR_OK);
		assert_bytes_equal(qu, want, 32);
		crypto_core_ed25519_scalar_random(s);
		assert_int_equal(crypto_x25519_mul(s, qu, want), CR_OK);
		memcpy(tk, t8, 32);
		for (int k = 1; k <= 7; k++) {
			assert_int_equal(crypto_core_ed25519_add(r, q, tk), 0);
			ed_to_u(r, ru);
			assert_memory_not_equal(ru, qu, 32);
			assert_int_equal(crypto_x25519_mul(s, ru, got), CR_OK);
			assert_bytes_equal(got, want, 32);
			/* without kappa the torsion part shows for odd k and odd s */
			assert_int_equal(crypto_x25519_ladder(s, ru, plain_r), CR_OK);
			assert_int_equal(crypto_x25519_ladder(s, qu, plain_q), CR_OK);
			if (memcmp(plain_r, plain_q, 32) != 0)
				differs++;
			assert_int_equal(crypto_core_ed25519_add(tk, tk, t8), 0);
		}
		/* 8 T is the identity: tk is back to the Edwards neutral (y = 1) */
		assert_int_equal(tk[0], 1);
		assert_true(sodium_is_zero(tk + 1, 31));
	}
	assert_true(differs > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7748_vectors),
		cmocka_unit_test(test_rfc7748_iterated),
		cmocka_unit_test(test_ladder_matches_libsodium),
		cmocka_unit_test(test_ladder_unclamped),
		cmocka_unit_test(test_field),
		cmocka_unit_test(test_decode_non_canonical_refused),
		cmocka_unit_test(test_twist_point_refused),
		cmocka_unit_test(test_small_order_refused),
		cmocka_unit_test(test_kappa),
		cmocka_unit_test(test_commutativity),
		cmocka_unit_test(test_zero_scalar_refused),
		cmocka_unit_test(test_torsion_cleared),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
