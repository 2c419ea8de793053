/* Unit tests for crypto/x25519_ifma.c and crypto/x25519_batch.c: the
 * eight-lane AVX-512 IFMA checked multiplication of suite x25519-ell2-sha512
 * (docs/spec/psi-protocol.md section 2b, issue 22) gives the portable
 * code's bytes and errors on random pairs (X25519_CROSS_CHECKS of them,
 * 10^5 by default, refused inputs mixed in), on every edge input in every
 * lane, and libsodium's Ed25519 products through the birational map; its
 * raw ladder reproduces RFC 7748 section 5.2; the batch keeps its contract
 * (lowest refused index, refused outputs untouched, out == in) and the
 * dispatch obeys CLEANROOM_CRYPTO=portable. Where the CPU lacks IFMA the
 * IFMA tests are skipped, saying so. */
#include "x25519_fixture.h"

#include <sodium.h>

#include "crypto/crypto.h"
#include "crypto/crypto_internal.h"

static uint32_t rnd(uint32_t n)
{
	return randombytes_uniform(n);
}

/* A point of order l: u(q * B) for a random q. */
static void random_point(uint8_t u[32])
{
	static const uint8_t nine[32] = {9};
	uint8_t q[32];

	crypto_core_ed25519_scalar_random(q);
	assert_int_equal(crypto_x25519_ladder(q, nine, u), CR_OK);
}

/* Points of order l for the random tests, renewed from the accepted
 * results (which are such points), so that drawing one costs no ladder. */
static uint8_t pool[256][32];
static int pool_ready;

static void pool_point(uint8_t u[32])
{
	if (!pool_ready) {
		for (int i = 0; i < 256; i++)
			random_point(pool[i]);
		pool_ready = 1;
	}
	memcpy(u, pool[rnd(256)], 32);
}

/* Every lane of crypto_x25519_ifma_mul8 against crypto_x25519_mul. */
static void check_mul8(uint8_t s[8][32], uint8_t p[8][32])
{
	uint8_t got[8][32], want[32];
	cr_err rc[8];

	memset(got, 0x5a, sizeof(got));
	crypto_x25519_ifma_mul8(s, p, got, rc);
	for (int i = 0; i < 8; i++) {
		memset(want, 0x5a, 32);
		cr_err w = crypto_x25519_mul(s[i], p[i], want);

		if (rc[i] != w || memcmp(got[i], want, 32) != 0) {
			print_error("lane %d: ifma %d, portable %d\n", i, (int)rc[i], (int)w);
			fail();
		}
		if (w == CR_OK && pool_ready)
			memcpy(pool[rnd(256)], want, 32);
	}
}

/* ------------------------------------------------------ random inputs */

static const char *small_order[] = {
	"0000000000000000000000000000000000000000000000000000000000000000", /* order 2 */
	"0100000000000000000000000000000000000000000000000000000000000000", /* order 4 */
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", /* order 8 */
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", /* order 8 */
};

static const char *edge_u[] = {
	"0000000000000000000000000000000000000000000000000000000000000000", /* 0 */
	"0100000000000000000000000000000000000000000000000000000000000000", /* 1 */
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p - 1 */
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p */
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p + 1 */
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* 2^255 - 1 */
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", /* 2^256 - 1 */
	"0900000000000000000000000000000000000000000000000000000000000080", /* 9, bit 255 */
	"0000000000000000000000000000000000000000000000000000000000000080", /* 0, bit 255 */
	"0200000000000000000000000000000000000000000000000000000000000000", /* 2 (twist) */
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", /* order 8 */
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", /* order 8 */
	"0000000000000000000000000000000000000000000000000000000000000040", /* 2^254 */
	"0900000000000000000000000000000000000000000000000000000000000000", /* 9 */
};

static const char *edge_s[] = {
	"0000000000000000000000000000000000000000000000000000000000000000", /* 0 */
	"0100000000000000000000000000000000000000000000000000000000000000", /* 1 */
	"edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", /* l */
	"ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", /* l - 1 */
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", /* top bits */
	"00000000000000000000000000000000000000000000000000000000000000f0", /* top bits */
	"0800000000000000000000000000000000000000000000000000000000000000", /* 8 */
};

/* One lane's input drawn from a mix: mostly random bytes (half on the
 * twist) and points of order l, then the edges, small-order points,
 * non-canonical encodings of accepted ones. */
static void random_pair(uint8_t s[32], uint8_t p[32])
{
	uint32_t k = rnd(16);

	if (k < 6) {
		randombytes_buf(p, 32);
		p[31] &= 0x7f;
	} else if (k < 12) {
		pool_point(p);
	} else if (k == 12) {
		from_hex(edge_u[rnd(sizeof(edge_u) / sizeof(edge_u[0]))], p, 32);
	} else if (k == 13) {
		from_hex(small_order[rnd(4)], p, 32);
	} else if (k == 14) {
		pool_point(p);
		p[31] |= 0x80;
	} else {
		/* u + p for a small accepted u: non-canonical */
		pool_point(p);
		memset(p + 1, 0xff, 30);
		p[0] = (uint8_t)(0xed + rnd(0x13));
		p[31] = 0x7f;
	}
	k = rnd(32);
	if (k == 0)
		from_hex(edge_s[rnd(sizeof(edge_s) / sizeof(edge_s[0]))], s, 32);
	else if (k == 1)
		randombytes_buf(s, 32);
	else
		crypto_core_ed25519_scalar_random(s);
}

static void test_cross_random(void **state)
{
	(void)state;
	uint8_t s[8][32], p[8][32];
	const char *env = getenv("X25519_CROSS_CHECKS");
	long n = 100000;

	if (!have_ifma())
		skip();
	if (env != NULL && *env)
		n = strtol(env, NULL, 10);
	for (long done = 0; done < n; done += 8) {
		for (int i = 0; i < 8; i++)
			random_pair(s[i], p[i]);
		check_mul8(s, p);
	}
	print_message("x25519 ifma: %ld random pairs equal the portable code\n", n);
}

/* Every edge element and every edge scalar in every lane position, the
 * other lanes random points and scalars. */
static void test_edges_every_lane(void **state)
{
	(void)state;
	uint8_t s[8][32], p[8][32];

	if (!have_ifma())
		skip();
	for (size_t e = 0; e < sizeof(edge_u) / sizeof(edge_u[0]); e++) {
		for (int lane = 0; lane < 8; lane++) {
			for (int i = 0; i < 8; i++) {
				pool_point(p[i]);
				crypto_core_ed25519_scalar_random(s[i]);
			}
			from_hex(edge_u[e], p[lane], 32);
			check_mul8(s, p);
		}
	}
	for (size_t e = 0; e < sizeof(edge_s) / sizeof(edge_s[0]); e++) {
		for (int lane = 0; lane < 8; lane++) {
			for (int i = 0; i < 8; i++) {
				pool_point(p[i]);
				crypto_core_ed25519_scalar_random(s[i]);
			}
			from_hex(edge_s[e], s[lane], 32);
			check_mul8(s, p);
		}
	}
	/* all eight lanes refused at once, and all eight the identity */
	for (int i = 0; i < 8; i++) {
		from_hex(edge_u[3], p[i], 32);
		crypto_core_ed25519_scalar_random(s[i]);
	}
	check_mul8(s, p);
	for (int i = 0; i < 8; i++)
		from_hex(small_order[i % 4], p[i], 32);
	check_mul8(s, p);
}

/* The edges give the errors the spec names, not only the portable ones. */
static void test_edges_errors(void **state)
{
	(void)state;
	uint8_t s[8][32], p[8][32], out[8][32];
	cr_err rc[8];

	if (!have_ifma())
		skip();
	for (int i = 0; i < 8; i++)
		crypto_core_ed25519_scalar_random(s[i]);
	from_hex(edge_u[0], p[0], 32);  /* order 2 */
	from_hex(edge_u[3], p[1], 32);  /* p */
	from_hex(edge_u[5], p[2], 32);  /* 2^255 - 1 */
	from_hex(edge_u[7], p[3], 32);  /* bit 255 */
	from_hex(edge_u[9], p[4], 32);  /* twist */
	from_hex(edge_u[10], p[5], 32); /* order 8 */
	random_point(p[6]);
	random_point(p[7]);
	memset(s[7], 0, 32);            /* zero scalar */
	memset(out, 0xa5, sizeof(out));
	crypto_x25519_ifma_mul8(s, p, out, rc);
	assert_int_equal(rc[0], CR_ERR_PSI_IDENTITY);
	assert_int_equal(rc[1], CR_ERR_PSI_ENCODING);
	assert_int_equal(rc[2], CR_ERR_PSI_ENCODING);
	assert_int_equal(rc[3], CR_ERR_PSI_ENCODING);
	assert_int_equal(rc[4], CR_ERR_PSI_ENCODING);
	assert_int_equal(rc[5], CR_ERR_PSI_IDENTITY);
	assert_int_equal(rc[6], CR_OK);
	assert_int_equal(rc[7], CR_ERR_PSI_IDENTITY);
	for (int i = 0; i < 8; i++)
		for (int b = 0; b < 32; b++)
			if (i != 6)
				assert_int_equal(out[i][b], 0xa5);
}

/* ------------------------------------------------- libsodium's Ed25519 */

/* s * P on Edwards (libsodium, no clamping) mapped to u equals both
 * backends' s * u(P), for P = q * B of prime order. */
static void test_libsodium(void **state)
{
	(void)state;
	uint8_t q[32], ed[8][32], s[8][32], pu[8][32], r[32], want[8][32];
	uint8_t port[32], got[8][32];
	cr_err rc[8];
	int ifma = have_ifma();

	for (int round = 0; round < 64; round++) {
		for (int i = 0; i < 8; i++) {
			crypto_core_ed25519_scalar_random(q);
			assert_int_equal(crypto_scalarmult_ed25519_base_noclamp(ed[i], q), 0);
			ed_to_u(ed[i], pu[i]);
			crypto_core_ed25519_scalar_random(s[i]);
			assert_int_equal(crypto_scalarmult_ed25519_noclamp(r, s[i], ed[i]), 0);
			ed_to_u(r, want[i]);
			assert_int_equal(crypto_x25519_mul(s[i], pu[i], port), CR_OK);
			assert_memory_equal(port, want[i], 32);
		}
		if (!ifma)
			continue;
		crypto_x25519_ifma_mul8(s, pu, got, rc);
		for (int i = 0; i < 8; i++) {
			assert_int_equal(rc[i], CR_OK);
			assert_memory_equal(got[i], want[i], 32);
		}
	}
}

/* ------------------------------------------------------ RFC 7748 5.2 */

static void test_rfc7748_ladder8(void **state)
{
	(void)state;
	uint8_t k[8][32], u[8][32], out[8][32], want[32], w[32];
	cr_err rc[8];

	if (!have_ifma())
		skip();
	for (size_t j = 0; j < 2; j++) {
		for (int lane = 0; lane < 8; lane++) {
			for (int i = 0; i < 8; i++) {
				randombytes_buf(k[i], 32);
				randombytes_buf(u[i], 32);
			}
			from_hex(rfc7748_vectors[j].k, k[lane], 32);
			clamp(k[lane]);
			from_hex(rfc7748_vectors[j].u, u[lane], 32);
			from_hex(rfc7748_vectors[j].out, want, 32);
			crypto_x25519_ifma_ladder8(k, u, out, rc);
			assert_int_equal(rc[lane], CR_OK);
			assert_memory_equal(out[lane], want, 32);
			/* the other lanes: unclamped, bit 255 and u >= p as they come */
			for (int i = 0; i < 8; i++) {
				if (i == lane)
					continue;
				memset(w, 0x33, 32);
				cr_err r = crypto_x25519_ladder(k[i], u[i], w);

				assert_int_equal(rc[i], r);
				if (r == CR_OK)
					assert_memory_equal(out[i], w, 32);
			}
		}
	}
	/* the iterated vector: 1000 rounds in lane 3, 1 in lane 5 */
	memset(k, 0, sizeof(k));
	memset(u, 0, sizeof(u));
	for (int i = 0; i < 8; i++) {
		k[i][0] = 9;
		u[i][0] = 9;
	}
	for (int it = 1; it <= 1000; it++) {
		uint8_t kc[8][32];

		memcpy(kc, k, sizeof(kc));
		for (int i = 0; i < 8; i++)
			clamp(kc[i]);
		crypto_x25519_ifma_ladder8(kc, u, out, rc);
		assert_int_equal(rc[3], CR_OK);
		memcpy(u[3], k[3], 32);
		memcpy(k[3], out[3], 32);
		if (it == 1) {
			from_hex("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
				 want, 32);
			assert_memory_equal(k[3], want, 32);
			assert_memory_equal(out[5], want, 32);
		}
	}
	from_hex("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51", want, 32);
	assert_memory_equal(k[3], want, 32);
}

/* ------------------------------------------------------------ the batch */

static void test_batch_contract(void **state)
{
	(void)state;
	enum { N = 37 };
	uint8_t s[32], in[N * 32], out_p[N * 32], out_i[N * 32], alias[N * 32];
	size_t bad_p = 999, bad_i = 999, bad_a = 999;
	cr_err rp, ri, ra;

	crypto_core_ed25519_scalar_random(s);
	for (int i = 0; i < N; i++)
		random_point(in + 32 * i);
	/* all accepted, n not a multiple of 8 */
	assert_int_equal(crypto_x25519_mul_many_impl(CRYPTO_X25519_PORTABLE, s, in, out_p, N, &bad_p), CR_OK);
	assert_int_equal(crypto_x25519_mul_many_impl(CRYPTO_X25519_IFMA, s, in, out_i, N, &bad_i), CR_OK);
	assert_int_equal(bad_p, 999);
	assert_memory_equal(out_p, out_i, sizeof(out_p));
	for (int i = 0; i < N; i++) {
		uint8_t one[32];

		assert_int_equal(crypto_x25519_mul(s, in + 32 * i, one), CR_OK);
		assert_memory_equal(one, out_p + 32 * i, 32);
	}
	/* refusals at 35 (the portable tail), 13 (identity) and 12 (twist):
	 * the lowest is reported, refused outputs stay as they were */
	from_hex(edge_u[9], in + 32 * 12, 32);
	from_hex(small_order[2], in + 32 * 13, 32);
	from_hex(edge_u[3], in + 32 * 35, 32);
	memset(out_p, 0x77, sizeof(out_p));
	memset(out_i, 0x77, sizeof(out_i));
	memcpy(alias, in, sizeof(alias));
	rp = crypto_x25519_mul_many_impl(CRYPTO_X25519_PORTABLE, s, in, out_p, N, &bad_p);
	ri = crypto_x25519_mul_many_impl(CRYPTO_X25519_IFMA, s, in, out_i, N, &bad_i);
	ra = crypto_x25519_mul_many(s, alias, alias, N, &bad_a);
	assert_int_equal(rp, CR_ERR_PSI_ENCODING);
	assert_int_equal(ri, CR_ERR_PSI_ENCODING);
	assert_int_equal(ra, CR_ERR_PSI_ENCODING);
	assert_int_equal(bad_p, 12);
	assert_int_equal(bad_i, 12);
	assert_int_equal(bad_a, 12);
	assert_memory_equal(out_p, out_i, sizeof(out_p));
	for (int i = 0; i < N; i++) {
		if (i == 12 || i == 13 || i == 35) {
			for (int b = 0; b < 32; b++)
				assert_int_equal(out_p[32 * i + b], 0x77);
			assert_memory_equal(alias + 32 * i, in + 32 * i, 32);
		} else {
			assert_memory_equal(alias + 32 * i, out_p + 32 * i, 32);
		}
	}
	/* the identity alone: its own error; bad_index may be NULL; n = 0 */
	from_hex(small_order[1], in + 32 * 12, 32);
	assert_int_equal(crypto_x25519_mul_many_impl(CRYPTO_X25519_IFMA, s, in, out_i, 35, NULL),
			 CR_ERR_PSI_IDENTITY);
	assert_int_equal(crypto_x25519_mul_many_impl(CRYPTO_X25519_IFMA, s, in, out_i, 0, &bad_i), CR_OK);
}

/* Mixed random lists with one scalar: the two backends agree. */
static void test_batch_cross(void **state)
{
	(void)state;
	enum { N = 203 };
	uint8_t s[32], junk[32], in[N * 32], out_p[N * 32], out_i[N * 32];
	size_t bad_p = 0, bad_i = 0;

	if (!have_ifma())
		skip();
	for (int round = 0; round < 10; round++) {
		random_pair(s, junk);
		for (int i = 0; i < N; i++) {
			uint8_t s2[32];

			if (rnd(4) == 0)
				random_pair(s2, in + 32 * i);
			else
				pool_point(in + 32 * i);
		}
		memset(out_p, 0x11, sizeof(out_p));
		memset(out_i, 0x11, sizeof(out_i));
		assert_int_equal(crypto_x25519_mul_many_impl(CRYPTO_X25519_PORTABLE, s, in, out_p, N, &bad_p),
				 crypto_x25519_mul_many_impl(CRYPTO_X25519_IFMA, s, in, out_i, N, &bad_i));
		assert_int_equal(bad_p, bad_i);
		assert_memory_equal(out_p, out_i, sizeof(out_p));
	}
}

static void test_dispatch(void **state)
{
	(void)state;
	const char *old = getenv("CLEANROOM_CRYPTO");
	char *saved = old ? strdup(old) : NULL;

	assert_int_equal(setenv("CLEANROOM_CRYPTO", "portable", 1), 0);
	crypto_x25519_backend_reset();
	assert_string_equal(crypto_x25519_backend(), "portable");
	/* decided once: a later change of the environment does not count */
	assert_int_equal(unsetenv("CLEANROOM_CRYPTO"), 0);
	assert_string_equal(crypto_x25519_backend(), "portable");
	crypto_x25519_backend_reset();
	assert_string_equal(crypto_x25519_backend(),
			    crypto_x25519_ifma_available() ? "ifma" : "portable");
	print_message("x25519 backend here: %s\n", crypto_x25519_backend());
	if (saved != NULL) {
		assert_int_equal(setenv("CLEANROOM_CRYPTO", saved, 1), 0);
		free(saved);
	}
	crypto_x25519_backend_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges_errors),
		cmocka_unit_test(test_edges_every_lane),
		cmocka_unit_test(test_rfc7748_ladder8),
		cmocka_unit_test(test_libsodium),
		cmocka_unit_test(test_batch_contract),
		cmocka_unit_test(test_batch_cross),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_cross_random),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
