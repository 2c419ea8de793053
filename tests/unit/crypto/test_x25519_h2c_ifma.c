/* Unit tests for crypto/x25519_h2c_ifma.c and crypto_x25519_hash_many
 * (crypto/x25519_batch.c): the hash to the group of suite
 * x25519-ell2-sha512 (docs/spec/psi-protocol.md section 2b, issue 22) with
 * its field part on eight AVX-512 IFMA lanes gives
 * crypto_x25519_hash_to_group's bytes for random digests of both types and
 * every n from 0 to 17 (each remainder after the groups of eight) and a
 * large n; the eight-lane field part reproduces RFC 9380 appendix J.4.1
 * from the vectors' u0 and u1 in every lane position, and the addition's
 * corner cases (r1 = r0, r1 = -r0, and r1 = 1/(2 r0), whose two points are
 * opposite: the identity) in every lane position; CLEANROOM_CRYPTO=portable
 * selects the portable code. Where the CPU lacks IFMA the IFMA tests are
 * skipped, saying so. */
#include "x25519_fixture.h"

#include <sodium.h>

#include "crypto/crypto.h"
#include "crypto/crypto_internal.h"

static void random_fe_bytes(uint8_t b[32])
{
	crypto_fe f;

	randombytes_buf(b, 32);
	b[31] &= 0x7f;
	crypto_fe_frombytes(&f, b);
	crypto_fe_tobytes(b, &f);
}

/* ------------------------------------------------ the batch against one */

/* hash_many on the IFMA backend against crypto_x25519_hash_to_group one
 * element at a time, over n random digests; out is pre-filled with a
 * pattern that must survive past n. */
static void check_many(enum crypto_id_type t, size_t n)
{
	uint8_t *d = malloc(CRYPTO_DIGEST_BYTES * n + 1);
	uint8_t *got = malloc(32 * (n + 1)), *want = malloc(32 * (n + 1));

	assert_non_null(d);
	assert_non_null(got);
	assert_non_null(want);
	randombytes_buf(d, CRYPTO_DIGEST_BYTES * n + 1);
	memset(got, 0xa5, 32 * (n + 1));
	memset(want, 0xa5, 32 * (n + 1));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(crypto_x25519_hash_to_group(t, d + CRYPTO_DIGEST_BYTES * i, want + 32 * i),
				 CR_OK);
	assert_int_equal(crypto_x25519_hash_many_impl(CRYPTO_X25519_IFMA, t, d, got, n), CR_OK);
	for (size_t i = 0; i <= n; i++) {
		if (memcmp(got + 32 * i, want + 32 * i, 32) != 0) {
			print_error("hash_many: element %zu of %zu differs (type %d)\n", i, n, (int)t);
			assert_bytes_equal(got + 32 * i, want + 32 * i, 32);
		}
	}
	memset(got, 0xa5, 32 * (n + 1));
	assert_int_equal(crypto_x25519_hash_many_impl(CRYPTO_X25519_PORTABLE, t, d, got, n), CR_OK);
	assert_memory_equal(got, want, 32 * (n + 1));
	free(d);
	free(got);
	free(want);
}

static void test_i22_hash_many_every_remainder(void **state)
{
	(void)state;
	if (!have_ifma())
		return;
	for (size_t n = 0; n <= 17; n++) {
		check_many(CRYPTO_ID_EMAIL, n);
		check_many(CRYPTO_ID_PHONE, n);
	}
}

/* 10^4 random digests of each type, a remainder of 3 and of 7. */
static void test_i22_hash_many_random(void **state)
{
	(void)state;
	if (!have_ifma())
		return;
	check_many(CRYPTO_ID_EMAIL, 10003);
	check_many(CRYPTO_ID_PHONE, 10007);
}

/* The type is part of M: one digest list hashed as email and as phone
 * gives different elements on the lanes too. */
static void test_i22_hash_many_type_separated(void **state)
{
	(void)state;
	uint8_t d[16 * CRYPTO_DIGEST_BYTES], e[16 * 32], p[16 * 32];

	if (!have_ifma())
		return;
	randombytes_buf(d, sizeof(d));
	assert_int_equal(crypto_x25519_hash_many_impl(CRYPTO_X25519_IFMA, CRYPTO_ID_EMAIL, d, e, 16),
			 CR_OK);
	assert_int_equal(crypto_x25519_hash_many_impl(CRYPTO_X25519_IFMA, CRYPTO_ID_PHONE, d, p, 16),
			 CR_OK);
	for (int i = 0; i < 16; i++)
		assert_memory_not_equal(e + 32 * i, p + 32 * i, 32);
}

/* ------------------------------------------- RFC 9380 appendix J.4.1 */

static const struct {
	const char *px, *py, *u0, *u1;
} j41[] = {
	{"2de3780abb67e861289f5749d16d3e217ffa722192d16bbd9d1bfb9d112b98c0",
	 "3b5dc2a498941a1033d176567d457845637554a2fe7a3507d21abd1c1bd6e878",
	 "005fe8a7b8fef0a16c105e6cadf5a6740b3365e18692a9c05bfbb4d97f645a6a",
	 "1347edbec6a2b5d8c02e058819819bee177077c9d10a4ce165aab0fd0252261a"},
	{"2b4419f1f2d48f5872de692b0aca72cc7b0a60915dd70bde432e826b6abc526d",
	 "1b8235f255a268f0a6fa8763e97eb3d22d149343d495da1160eff9703f2d07dd",
	 "49bed021c7a3748f09fa8cdfcac044089f7829d3531066ac9e74e0994e05bc7d",
	 "5c36525b663e63389d886105cee7ed712325d5a97e60e140aba7e2ce5ae851b6"},
	{"68ca1ea5a6acf4e9956daa101709b1eee6c1bb0df1de3b90d4602382a104c036",
	 "2a375b656207123d10766e68b938b1812a4a6625ff83cb8d5e86f58a4be08353",
	 "6412b7485ba26d3d1b6c290a8e1435b2959f03721874939b21782df17323d160",
	 "24c7b46c1c6d9a21d32f5707be1380ab82db1054fde82865d5c9e3d968f287b2"},
	{"096e9c8bae6c06b554c1ee69383bb0e82267e064236b3a30608d4ed20b73ac5a",
	 "1eb5a62612cafb32b16c3329794645b5b948d9f8ffe501d4e26b073fef6de355",
	 "5e123990f11bbb5586613ffabdb58d47f64bb5f2fa115f8ea8df0188e0c9e1b5",
	 "5e8553eb00438a0bb1e7faa59dec6d8087f9c8011e5fb8ed9df31cb6c0d4ac19"},
	{"1bc61845a138e912f047b5e70ba9606ba2a447a4dade024c8ef3dd42b7bbc5fe",
	 "623d05e47b70e25f7f1d51dda6d7c23c9a18ce015fe3548df596ea9e38c69bf1",
	 "20f481e85da7a3bf60ac0fb11ed1d0558fc6f941b3ac5469aa8b56ec883d6d7d",
	 "017d57fd257e9a78913999a23b52ca988157a81b09c5442501d07fed20869465"},
};

/* Vector (l + shift) % 5 in lane l, for every shift: each vector passes
 * through every lane position. */
static void test_i22_h2c8_rfc9380_j41(void **state)
{
	(void)state;
	uint8_t r0[8][32], r1[8][32], u[8][32], v[8][32], want[32];

	if (!have_ifma())
		return;
	for (int shift = 0; shift < 8; shift++) {
		for (int l = 0; l < 8; l++) {
			from_hex_be(j41[(l + shift) % 5].u0, r0[l]);
			from_hex_be(j41[(l + shift) % 5].u1, r1[l]);
		}
		assert_int_equal(crypto_x25519_ifma_hash_from_field8((const uint8_t(*)[32])r0,
								     (const uint8_t(*)[32])r1, u, v),
				 0);
		for (int l = 0; l < 8; l++) {
			from_hex_be(j41[(l + shift) % 5].px, want);
			assert_bytes_equal(u[l], want, 32);
			from_hex_be(j41[(l + shift) % 5].py, want);
			assert_bytes_equal(v[l], want, 32);
		}
	}
}

/* ------------------------------------------------ the addition's corners */

/* r0 random in every lane; lane `eq` gets r1 = r0 (the tangent), lane
 * `ng` r1 = -r0 (the same point: the tangent again), lane `op` r1 =
 * 1/(2 r0) (map(1/(2 r)) = -map(r): the sum is the identity), the other
 * lanes a random r1. Every lane equals crypto_x25519_hash_from_field, and
 * the identity mask is exactly lane `op`. */
static void check_corners(int eq, int ng, int op)
{
	static const crypto_fe two = {{2, 0, 0, 0, 0}};
	uint8_t r0[8][32], r1[8][32], u[8][32], v[8][32], wu[32], wv[32], zero[32] = {0};
	crypto_fe f[2];
	unsigned ident;

	for (int l = 0; l < 8; l++) {
		random_fe_bytes(r0[l]);
		random_fe_bytes(r1[l]);
	}
	crypto_fe_frombytes(&f[0], r0[eq]);
	crypto_fe_tobytes(r1[eq], &f[0]);
	crypto_fe_frombytes(&f[0], r0[ng]);
	crypto_fe_neg(&f[1], &f[0]);
	crypto_fe_tobytes(r1[ng], &f[1]);
	crypto_fe_frombytes(&f[0], r0[op]);
	crypto_fe_mul(&f[1], &f[0], &two);
	crypto_fe_invert(&f[1], &f[1]);
	crypto_fe_tobytes(r1[op], &f[1]);
	ident = crypto_x25519_ifma_hash_from_field8((const uint8_t(*)[32])r0,
						    (const uint8_t(*)[32])r1, u, v);
	assert_int_equal(ident, 1u << op);
	for (int l = 0; l < 8; l++) {
		crypto_fe_frombytes(&f[0], r0[l]);
		crypto_fe_frombytes(&f[1], r1[l]);
		crypto_x25519_hash_from_field(f, wu, wv);
		if (memcmp(u[l], wu, 32) != 0 || memcmp(v[l], wv, 32) != 0)
			print_error("hash_from_field8: lane %d differs (eq %d, neg %d, opposite %d)\n", l,
				    eq, ng, op);
		assert_bytes_equal(u[l], wu, 32);
		assert_bytes_equal(v[l], wv, 32);
	}
	assert_bytes_equal(u[op], zero, 32);
	assert_bytes_equal(v[op], zero, 32);
}

static void test_i22_h2c8_law_corners_every_lane(void **state)
{
	(void)state;
	if (!have_ifma())
		return;
	for (int l = 0; l < 8; l++) {
		check_corners(l, (l + 1) % 8, (l + 2) % 8);
		check_corners(l, (l + 3) % 8, (l + 5) % 8);
	}
}

/* Random field elements in all lanes (no corner): the lanes equal the
 * portable field part, whichever branch (x1 or x2) each map takes. */
static void test_i22_h2c8_random_fields(void **state)
{
	(void)state;
	uint8_t r0[8][32], r1[8][32], u[8][32], v[8][32], wu[32], wv[32];
	crypto_fe f[2];

	if (!have_ifma())
		return;
	for (int k = 0; k < 64; k++) {
		for (int l = 0; l < 8; l++) {
			random_fe_bytes(r0[l]);
			random_fe_bytes(r1[l]);
		}
		assert_int_equal(crypto_x25519_ifma_hash_from_field8((const uint8_t(*)[32])r0,
								     (const uint8_t(*)[32])r1, u, v),
				 0);
		for (int l = 0; l < 8; l++) {
			crypto_fe_frombytes(&f[0], r0[l]);
			crypto_fe_frombytes(&f[1], r1[l]);
			crypto_x25519_hash_from_field(f, wu, wv);
			assert_bytes_equal(u[l], wu, 32);
			assert_bytes_equal(v[l], wv, 32);
		}
	}
}

/* ------------------------------------------------------------ dispatch */

/* CLEANROOM_CRYPTO=portable: the process's backend is the portable code,
 * and hash_many (which follows it) still gives the single hash's bytes. */
static void test_i22_hash_many_env_portable(void **state)
{
	(void)state;
	const char *old = getenv("CLEANROOM_CRYPTO");
	char *saved = old ? strdup(old) : NULL;
	uint8_t d[11 * CRYPTO_DIGEST_BYTES], got[11 * 32], want[11 * 32];

	randombytes_buf(d, sizeof(d));
	for (int i = 0; i < 11; i++)
		assert_int_equal(crypto_x25519_hash_to_group(CRYPTO_ID_EMAIL, d + CRYPTO_DIGEST_BYTES * i,
							     want + 32 * i),
				 CR_OK);
	assert_int_equal(setenv("CLEANROOM_CRYPTO", "portable", 1), 0);
	crypto_x25519_backend_reset();
	assert_string_equal(crypto_x25519_backend(), "portable");
	assert_int_equal(crypto_x25519_hash_many(CRYPTO_ID_EMAIL, d, got, 11), CR_OK);
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(unsetenv("CLEANROOM_CRYPTO"), 0);
	crypto_x25519_backend_reset();
	assert_string_equal(crypto_x25519_backend(),
			    crypto_x25519_ifma_available() ? "ifma" : "portable");
	memset(got, 0, sizeof(got));
	assert_int_equal(crypto_x25519_hash_many(CRYPTO_ID_EMAIL, d, got, 11), CR_OK);
	assert_memory_equal(got, want, sizeof(want));
	if (saved != NULL) {
		assert_int_equal(setenv("CLEANROOM_CRYPTO", saved, 1), 0);
		free(saved);
	}
	crypto_x25519_backend_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_i22_h2c8_rfc9380_j41),
		cmocka_unit_test(test_i22_h2c8_law_corners_every_lane),
		cmocka_unit_test(test_i22_h2c8_random_fields),
		cmocka_unit_test(test_i22_hash_many_every_remainder),
		cmocka_unit_test(test_i22_hash_many_type_separated),
		cmocka_unit_test(test_i22_hash_many_env_portable),
		cmocka_unit_test(test_i22_hash_many_random),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
